//! Writers: CSV, NDJSON and Parquet files of the domain tables, and the text of single cells.
//!
//! CSV: a header line, then one line per row; fields quoted only when they hold a comma, a
//! quote or a line break; nulls are empty fields; timestamps RFC 3339 UTC with six decimals
//! (`2025-03-03T06:00:00.000000Z`); floats in their shortest round-trip form, NaN as `NaN`.
//! NDJSON: one object per line, keys in schema order, `null` written out, timestamps as
//! strings, NaN as the string `"NaN"`. Parquet: zstd (level 1), dictionary encoding for text
//! and small-code columns, page-level statistics (so the column and offset indexes are
//! written), row groups of at most 2^20 rows, and the table's sort order declared as
//! `sorting_columns` when the file's rows follow it. Every line ends with `\n`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Float64Type, Int16Type, Int32Type, Int64Type, SchemaRef, TimestampMicrosecondType,
    UInt8Type,
};
use fabrik_model::Table;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use crate::calendar::{rfc3339, write_rfc3339};
use crate::defects::Override;
use crate::error::{Result, io_at};
use crate::format::Format;

/// Rows per Parquet row group, at most.
pub const ROW_GROUP_ROWS: usize = 1 << 20;

/// The text of one cell as CSV writes it, unquoted (empty for null).
pub(crate) fn cell_text(a: &dyn Array, row: usize) -> String {
    if a.is_null(row) {
        return String::new();
    }
    match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(row).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(row).to_string(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(row).to_string(),
        DataType::Float64 => {
            let mut b = Vec::new();
            push_f64(&mut b, a.as_primitive::<Float64Type>().value(row));
            String::from_utf8_lossy(&b).into_owned()
        }
        DataType::Timestamp(..) => rfc3339(a.as_primitive::<TimestampMicrosecondType>().value(row)),
        other => format!("<{other}>"),
    }
}

fn push_i64(buf: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut u = v.unsigned_abs();
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if v < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_f64(buf: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        buf.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        buf.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
    } else {
        let _ = write!(buf, "{v}");
    }
}

fn push_csv_str(buf: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
    }
}

fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    for c in s.chars() {
        match c {
            '"' => buf.extend_from_slice(b"\\\""),
            '\\' => buf.extend_from_slice(b"\\\\"),
            '\n' => buf.extend_from_slice(b"\\n"),
            '\r' => buf.extend_from_slice(b"\\r"),
            '\t' => buf.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
            c => {
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
    buf.push(b'"');
}

/// A column, downcast once per batch.
enum Col<'a> {
    Str(&'a arrow::array::StringArray),
    I64(&'a arrow::array::Int64Array),
    I32(&'a arrow::array::Int32Array),
    I16(&'a arrow::array::Int16Array),
    U8(&'a arrow::array::UInt8Array),
    F64(&'a arrow::array::Float64Array),
    Ts(&'a arrow::array::TimestampMicrosecondArray),
}

impl<'a> Col<'a> {
    fn new(a: &'a dyn Array) -> Col<'a> {
        match a.data_type() {
            DataType::Int64 => Col::I64(a.as_primitive()),
            DataType::Int32 => Col::I32(a.as_primitive()),
            DataType::Int16 => Col::I16(a.as_primitive()),
            DataType::UInt8 => Col::U8(a.as_primitive()),
            DataType::Float64 => Col::F64(a.as_primitive()),
            DataType::Timestamp(..) => Col::Ts(a.as_primitive()),
            _ => Col::Str(a.as_string()),
        }
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Col::Str(a) => a.is_null(row),
            Col::I64(a) => a.is_null(row),
            Col::I32(a) => a.is_null(row),
            Col::I16(a) => a.is_null(row),
            Col::U8(a) => a.is_null(row),
            Col::F64(a) => a.is_null(row),
            Col::Ts(a) => a.is_null(row),
        }
    }

    /// Writes a non-null value; `json` selects JSON strings for text, timestamps and NaN.
    fn push(&self, buf: &mut Vec<u8>, row: usize, json: bool) {
        match self {
            Col::Str(a) => {
                if json {
                    push_json_str(buf, a.value(row))
                } else {
                    push_csv_str(buf, a.value(row))
                }
            }
            Col::I64(a) => push_i64(buf, a.value(row)),
            Col::I32(a) => push_i64(buf, i64::from(a.value(row))),
            Col::I16(a) => push_i64(buf, i64::from(a.value(row))),
            Col::U8(a) => push_i64(buf, i64::from(a.value(row))),
            Col::F64(a) => {
                let v = a.value(row);
                if json && !v.is_finite() {
                    buf.push(b'"');
                    push_f64(buf, v);
                    buf.push(b'"');
                } else {
                    push_f64(buf, v);
                }
            }
            Col::Ts(a) => {
                if json {
                    buf.push(b'"');
                }
                write_rfc3339(buf, a.value(row));
                if json {
                    buf.push(b'"');
                }
            }
        }
    }
}

/// Encodes rows as CSV (without header) into `buf`.
fn encode_csv(buf: &mut Vec<u8>, batch: &RecordBatch, overrides: &[(usize, Override)]) {
    let cols: Vec<Col<'_>> = batch
        .columns()
        .iter()
        .map(|a| Col::new(a.as_ref()))
        .collect();
    let mut o = 0;
    for row in 0..batch.num_rows() {
        let mut first = true;
        for (ci, col) in cols.iter().enumerate() {
            let mut ov = None;
            let mut k = o;
            while k < overrides.len() && overrides[k].0 == row {
                match &overrides[k].1 {
                    Override::Replace { col, text } if *col == ci => ov = Some(Some(text.as_str())),
                    Override::Drop { col } if *col == ci => ov = Some(None),
                    _ => {}
                }
                k += 1;
            }
            if ov == Some(None) {
                continue;
            }
            if !first {
                buf.push(b',');
            }
            first = false;
            match ov {
                Some(Some(text)) => push_csv_str(buf, text),
                _ if col.is_null(row) => {}
                _ => col.push(buf, row, false),
            }
        }
        while o < overrides.len() && overrides[o].0 == row {
            o += 1;
        }
        buf.push(b'\n');
    }
}

/// Encodes rows as NDJSON into `buf`.
fn encode_ndjson(buf: &mut Vec<u8>, batch: &RecordBatch, overrides: &[(usize, Override)]) {
    let schema = batch.schema();
    let keys: Vec<Vec<u8>> = schema
        .fields()
        .iter()
        .map(|f| {
            let mut k = Vec::new();
            push_json_str(&mut k, f.name());
            k.push(b':');
            k
        })
        .collect();
    let cols: Vec<Col<'_>> = batch
        .columns()
        .iter()
        .map(|a| Col::new(a.as_ref()))
        .collect();
    let mut o = 0;
    for row in 0..batch.num_rows() {
        buf.push(b'{');
        let mut first = true;
        for (ci, col) in cols.iter().enumerate() {
            let mut ov = None;
            let mut k = o;
            while k < overrides.len() && overrides[k].0 == row {
                match &overrides[k].1 {
                    Override::Replace { col, text } if *col == ci => ov = Some(Some(text.as_str())),
                    Override::Drop { col } if *col == ci => ov = Some(None),
                    _ => {}
                }
                k += 1;
            }
            if ov == Some(None) {
                continue;
            }
            if !first {
                buf.push(b',');
            }
            first = false;
            buf.extend_from_slice(&keys[ci]);
            match ov {
                Some(Some(text)) => push_json_str(buf, text),
                _ if col.is_null(row) => buf.extend_from_slice(b"null"),
                _ => col.push(buf, row, true),
            }
        }
        while o < overrides.len() && overrides[o].0 == row {
            o += 1;
        }
        buf.extend_from_slice(b"}\n");
    }
}

/// Parquet writer properties for a table; `sorted` declares its sort order.
pub(crate) fn parquet_properties(table: Table, sorted: bool) -> Result<WriterProperties> {
    let schema = table.schema();
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_dictionary_enabled(true);
    for f in schema.fields() {
        let dict = matches!(
            f.data_type(),
            DataType::Utf8 | DataType::UInt8 | DataType::Int16
        );
        b = b.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), dict);
    }
    if sorted && !table.sort_order().is_empty() {
        let cols = table
            .sort_order()
            .iter()
            .filter_map(|c| schema.index_of(c).ok())
            .map(|i| SortingColumn {
                column_idx: i as i32,
                descending: false,
                nulls_first: false,
            })
            .collect();
        b = b.set_sorting_columns(Some(cols));
    }
    Ok(b.build())
}

enum Sink {
    Text {
        out: BufWriter<File>,
        json: bool,
        buf: Vec<u8>,
    },
    Parquet(Box<ArrowWriter<File>>),
}

/// One output file being written.
pub(crate) struct FileWriter {
    pub format: Format,
    pub path: PathBuf,
    pub rows: u64,
    sink: Sink,
}

impl FileWriter {
    /// Creates the file (and its directory) and writes the CSV header.
    pub fn create(format: Format, path: PathBuf, table: Table, sorted: bool) -> Result<FileWriter> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        }
        let file = File::create(&path).map_err(io_at(&path))?;
        let schema: SchemaRef = table.schema();
        let sink = match format {
            Format::Parquet => Sink::Parquet(Box::new(ArrowWriter::try_new(
                file,
                schema,
                Some(parquet_properties(table, sorted)?),
            )?)),
            Format::Csv | Format::Ndjson => {
                let mut out = BufWriter::with_capacity(1 << 20, file);
                if format == Format::Csv {
                    let header: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    out.write_all(header.join(",").as_bytes())
                        .map_err(io_at(&path))?;
                    out.write_all(b"\n").map_err(io_at(&path))?;
                }
                Sink::Text {
                    out,
                    json: format == Format::Ndjson,
                    buf: Vec::new(),
                }
            }
        };
        Ok(FileWriter {
            format,
            path,
            rows: 0,
            sink,
        })
    }

    /// Appends a batch; `overrides` (sorted by row) apply to the text formats.
    pub fn write(&mut self, batch: &RecordBatch, overrides: &[(usize, Override)]) -> Result<()> {
        match &mut self.sink {
            Sink::Parquet(w) => w.write(batch)?,
            Sink::Text { out, json, buf } => {
                buf.clear();
                if *json {
                    encode_ndjson(buf, batch, overrides);
                } else {
                    encode_csv(buf, batch, overrides);
                }
                out.write_all(buf).map_err(io_at(&self.path))?;
            }
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Closes the file; returns its size in bytes.
    pub fn finish(self) -> Result<u64> {
        match self.sink {
            Sink::Parquet(w) => {
                w.close()?;
            }
            Sink::Text { mut out, .. } => {
                out.flush().map_err(io_at(&self.path))?;
            }
        }
        Ok(std::fs::metadata(&self.path)
            .map_err(io_at(&self.path))?
            .len())
    }
}

/// One logical file written in several formats at once (in parallel).
pub(crate) struct MultiWriter {
    writers: Vec<FileWriter>,
}

impl MultiWriter {
    /// Opens `<out>/<format>/<table>/<stem>.<ext>` for every format.
    pub fn create(
        out: &Path,
        formats: &[Format],
        table: Table,
        stem: &str,
        sorted: bool,
    ) -> Result<MultiWriter> {
        let writers = formats
            .iter()
            .map(|&f| {
                let path = out
                    .join(f.dir_name())
                    .join(table.name())
                    .join(format!("{stem}.{}", f.extension()));
                FileWriter::create(f, path, table, sorted)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MultiWriter { writers })
    }

    /// Appends a batch to every format.
    pub fn write(&mut self, batch: &RecordBatch, overrides: &[(usize, Override)]) -> Result<()> {
        self.writers
            .par_iter_mut()
            .try_for_each(|w| w.write(batch, overrides))
    }

    /// Closes every file; returns `(format, path, bytes)` per format.
    pub fn finish(self) -> Result<Vec<(Format, PathBuf, u64)>> {
        self.writers
            .into_par_iter()
            .map(|w| {
                let (format, path) = (w.format, w.path.clone());
                w.finish().map(|bytes| (format, path, bytes))
            })
            .collect()
    }
}

/// Writes a small CSV file (ground truth) from a header and rows of already-formatted fields.
pub(crate) fn write_csv_rows(
    path: &Path,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<u64> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    }
    let mut buf = Vec::new();
    buf.extend_from_slice(header.join(",").as_bytes());
    buf.push(b'\n');
    for row in rows {
        for (i, f) in row.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            push_csv_str(&mut buf, f);
        }
        buf.push(b'\n');
    }
    std::fs::write(path, &buf).map_err(io_at(path))?;
    Ok(buf.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("s", DataType::Utf8, true),
            arrow::datatypes::Field::new("i", DataType::Int64, true),
            arrow::datatypes::Field::new("f", DataType::Float64, true),
            arrow::datatypes::Field::new(
                "t",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![Some("a,\"b\""), None])),
            Arc::new(Int64Array::from(vec![Some(-42), None])),
            Arc::new(Float64Array::from(vec![Some(f64::NAN), Some(45.37)])),
            Arc::new(TimestampMicrosecondArray::from(vec![Some(1), None]).with_timezone("UTC")),
        ];
        RecordBatch::try_new(schema, cols).expect("batch")
    }

    #[test]
    fn csv_quotes_and_nulls() {
        let mut buf = Vec::new();
        encode_csv(&mut buf, &batch(), &[]);
        assert_eq!(
            String::from_utf8_lossy(&buf),
            "\"a,\"\"b\"\"\",-42,NaN,1970-01-01T00:00:00.000001Z\n,,45.37,\n"
        );
    }

    #[test]
    fn ndjson_strings_nulls_and_overrides() {
        let mut buf = Vec::new();
        let ov = vec![
            (
                1,
                Override::Replace {
                    col: 2,
                    text: "#VALUE!".into(),
                },
            ),
            (1, Override::Drop { col: 0 }),
        ];
        encode_ndjson(&mut buf, &batch(), &ov);
        assert_eq!(
            String::from_utf8_lossy(&buf),
            "{\"s\":\"a,\\\"b\\\"\",\"i\":-42,\"f\":\"NaN\",\"t\":\"1970-01-01T00:00:00.000001Z\"}\n{\"i\":null,\"f\":\"#VALUE!\",\"t\":null}\n"
        );
        let mut csv = Vec::new();
        encode_csv(&mut csv, &batch(), &ov);
        assert!(String::from_utf8_lossy(&csv).ends_with("\n,#VALUE!,\n"));
    }

    #[test]
    fn cells_and_integers() {
        let b = batch();
        assert_eq!(cell_text(b.column(0).as_ref(), 0), "a,\"b\"");
        assert_eq!(cell_text(b.column(1).as_ref(), 1), "");
        let mut v = Vec::new();
        push_i64(&mut v, i64::MIN);
        assert_eq!(String::from_utf8_lossy(&v), i64::MIN.to_string());
    }

    #[test]
    fn parquet_properties_declare_the_sort() {
        let p = parquet_properties(Table::SensorReadings, true).expect("props");
        let cols = p.sorting_columns().expect("sorting columns");
        assert_eq!(
            cols.iter().map(|c| c.column_idx).collect::<Vec<_>>(),
            vec![3, 5]
        );
        assert!(
            parquet_properties(Table::SensorReadings, false)
                .expect("props")
                .sorting_columns()
                .is_none()
        );
    }
}
