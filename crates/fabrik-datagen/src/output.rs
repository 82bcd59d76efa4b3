//! Writers: CSV, NDJSON and Parquet files of the domain tables, and the text of single cells.
//!
//! The text formats are written by arrow's own writers, whole runs of rows at a time:
//!
//! * **CSV** ([`arrow::csv::Writer`]): a header line of the column names, then one line per
//!   row; fields quoted (inner quotes doubled) only when they hold a comma, a quote or a line
//!   break; nulls are empty fields; timestamps RFC 3339 UTC with six decimals
//!   (`2025-03-03T06:00:00.000000Z`); integers in decimal; floats in their shortest
//!   round-trip form, always with a fraction or an exponent (`24.41`, `3.0`, `1e-7`), NaN as
//!   `NaN` and infinities as `inf` / `-inf`.
//! * **NDJSON** ([`arrow::json::Writer`] with [`LineDelimited`] and explicit nulls): one
//!   object per line, keys in schema order, `null` written out, timestamps as strings in the
//!   CSV form, integers and finite floats as JSON numbers (shortest round-trip form, `24.41`,
//!   `3.0`). JSON has no NaN and arrow-json would write a non-finite float as `null`, which
//!   would turn the `invalid` defect "value is NaN" into a different row; so a row holding
//!   one is written like a defect row (below) with that value as the string `"NaN"`, `"inf"`
//!   or `"-inf"`, which arrow's JSON reader reads back as the float.
//!
//! A row carrying [`Override`]s (a `malformed` defect) is written on its own by the same
//! writer, from a one-row batch in which the overridden column is replaced by a text column
//! holding the override's text (CSV: the text, quoted as above; NDJSON: a JSON string) or is
//! left out (CSV: one field fewer; NDJSON: no key); its other cells read exactly as in a
//! clean row. Every line ends with `\n`.
//!
//! Parquet: zstd (level 1), dictionary encoding for text and small-code columns, page-level
//! statistics (so the column and offset indexes are written), row groups of at most 2^20
//! rows, and the table's sort order declared as `sorting_columns` when the file's rows follow
//! it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef};
use arrow::json::writer::LineDelimited;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use fabrik_model::Table;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use crate::defects::Override;
use crate::error::{Result, io_at};
use crate::format::Format;

/// Rows per Parquet row group, at most.
pub const ROW_GROUP_ROWS: usize = 1 << 20;

/// The chrono format of timestamps in the text formats: RFC 3339, UTC, six decimals.
const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Rows handed to arrow's text writers per call, at most (bounds the text buffer).
const TEXT_PIECE_ROWS: usize = 1 << 16;

/// The text buffer is written to the file once it holds this many bytes.
const TEXT_FLUSH_BYTES: usize = 1 << 20;

/// The cell formatting of the text formats (the options arrow's CSV writer is built with).
fn format_options() -> FormatOptions<'static> {
    FormatOptions::new()
        .with_null("")
        .with_timestamp_tz_format(Some(TIMESTAMP_FORMAT))
}

/// The text of one cell as CSV writes it, unquoted (empty for null).
pub(crate) fn cell_text(a: &dyn Array, row: usize) -> String {
    match ArrayFormatter::try_new(a, &format_options()) {
        Ok(f) => f.value(row).to_string(),
        Err(e) => format!("<{e}>"),
    }
}

/// A UTC instant in microseconds as the text formats write it: `2025-03-03T06:00:00.000000Z`.
pub(crate) fn timestamp_text(us: i64) -> String {
    cell_text(
        &TimestampMicrosecondArray::from_value(us, 1).with_timezone("UTC"),
        0,
    )
}

fn csv_writer<W: Write>(out: W, header: bool) -> arrow::csv::Writer<W> {
    arrow::csv::WriterBuilder::new()
        .with_header(header)
        .with_null(String::new())
        .with_timestamp_tz_format(TIMESTAMP_FORMAT.to_string())
        .build(out)
}

/// Appends `batch` to `buf` as CSV lines (without header) or NDJSON lines.
fn encode(buf: &mut Vec<u8>, batch: &RecordBatch, json: bool) -> Result<()> {
    if json {
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .with_timestamp_tz_format(TIMESTAMP_FORMAT.to_string())
            .build::<_, LineDelimited>(buf);
        w.write(batch)?;
        w.finish()?;
    } else {
        csv_writer(buf, false).write(batch)?;
    }
    Ok(())
}

/// Rows of `batch` holding a non-finite float (NaN, ±inf), ascending.
fn non_finite_rows(batch: &RecordBatch) -> Vec<usize> {
    let mut rows = Vec::new();
    for col in batch.columns() {
        if let Some(a) = col.as_primitive_opt::<Float64Type>() {
            rows.extend(
                a.values()
                    .iter()
                    .enumerate()
                    .filter(|&(i, v)| !v.is_finite() && a.is_valid(i))
                    .map(|(i, _)| i),
            );
        }
    }
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// Row `row` of `batch` as a one-row batch with its `overrides` (those of this row) applied:
/// a replaced column
/// becomes a text column holding the override's text, a dropped one is left out. With
/// `json`, a non-finite float becomes a text column holding its CSV text (`NaN`, `inf`).
fn row_with_overrides(
    batch: &RecordBatch,
    row: usize,
    overrides: &[(usize, Override)],
    json: bool,
) -> Result<RecordBatch> {
    let one = batch.slice(row, 1);
    let schema = one.schema();
    let mut fields: Vec<Field> = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    let text = |name: &str, value: &str| {
        (
            Field::new(name, DataType::Utf8, true),
            Arc::new(StringArray::from(vec![value])) as ArrayRef,
        )
    };
    for (ci, (field, col)) in schema.fields().iter().zip(one.columns()).enumerate() {
        // the last override of a column wins
        let ov = overrides.iter().rev().map(|o| &o.1).find(|o| match o {
            Override::Replace { col, .. } | Override::Drop { col } => *col == ci,
        });
        let (f, c) = match ov {
            Some(Override::Drop { .. }) => continue,
            Some(Override::Replace { text: t, .. }) => text(field.name(), t),
            None if json
                && col
                    .as_primitive_opt::<Float64Type>()
                    .is_some_and(|a| a.is_valid(0) && !a.value(0).is_finite()) =>
            {
                text(field.name(), &cell_text(col.as_ref(), 0))
            }
            None => (field.as_ref().clone(), col.clone()),
        };
        fields.push(f);
        columns.push(c);
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Writes `batch` as CSV lines (without header) or NDJSON lines to `out`, through `buf`.
///
/// Runs of plain rows go through arrow's writer as slices of the batch; rows with overrides
/// (and, in NDJSON, rows holding a non-finite float) are written one by one from
/// [`row_with_overrides`].
fn write_text(
    out: &mut impl Write,
    path: &Path,
    buf: &mut Vec<u8>,
    batch: &RecordBatch,
    overrides: &[(usize, Override)],
    json: bool,
) -> Result<()> {
    let n = batch.num_rows();
    let mut special: Vec<usize> = overrides.iter().map(|o| o.0).collect();
    if json {
        special.extend(non_finite_rows(batch));
    }
    special.sort_unstable();
    special.dedup();
    let mut flush = |buf: &mut Vec<u8>, force: bool| -> Result<()> {
        if force || buf.len() >= TEXT_FLUSH_BYTES {
            out.write_all(buf).map_err(io_at(path))?;
            buf.clear();
        }
        Ok(())
    };
    buf.clear();
    let mut start = 0;
    for &stop in special.iter().chain(std::iter::once(&n)) {
        while start < stop {
            let len = (stop - start).min(TEXT_PIECE_ROWS);
            encode(buf, &batch.slice(start, len), json)?;
            flush(buf, false)?;
            start += len;
        }
        if stop < n {
            let lo = overrides.partition_point(|o| o.0 < stop);
            let hi = overrides.partition_point(|o| o.0 <= stop);
            let one = row_with_overrides(batch, stop, &overrides[lo..hi], json)?;
            encode(buf, &one, json)?;
            flush(buf, false)?;
            start = stop + 1;
        }
    }
    flush(buf, true)
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
                let mut buf = Vec::new();
                if format == Format::Csv {
                    // the header, by arrow's writer (it writes it before the first batch)
                    csv_writer(&mut buf, true).write(&RecordBatch::new_empty(schema))?;
                    out.write_all(&buf).map_err(io_at(&path))?;
                }
                Sink::Text {
                    out,
                    json: format == Format::Ndjson,
                    buf,
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
                write_text(out, &self.path, buf, batch, overrides, *json)?;
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

/// Writes a small CSV file (ground truth) from a header and rows of already-formatted
/// fields, with the `csv` crate: quoted only where needed, `\n` line ends.
pub(crate) fn write_csv_rows(
    path: &Path,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<u64> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    }
    let file = File::create(path).map_err(io_at(path))?;
    let csv_err = |e: csv::Error| io_at(path)(e.into());
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(BufWriter::new(file));
    w.write_record(header).map_err(csv_err)?;
    for row in rows {
        w.write_record(&row).map_err(csv_err)?;
    }
    w.flush().map_err(io_at(path))?;
    drop(w);
    Ok(std::fs::metadata(path).map_err(io_at(path))?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array};

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new(
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

    fn text(batch: &RecordBatch, overrides: &[(usize, Override)], json: bool) -> String {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        write_text(&mut out, Path::new("mem"), &mut buf, batch, overrides, json).expect("write");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn csv_quotes_and_nulls() {
        assert_eq!(
            text(&batch(), &[], false),
            "\"a,\"\"b\"\"\",-42,NaN,1970-01-01T00:00:00.000001Z\n,,45.37,\n"
        );
    }

    #[test]
    fn ndjson_strings_nulls_and_overrides() {
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
        assert_eq!(
            text(&batch(), &ov, true),
            "{\"s\":\"a,\\\"b\\\"\",\"i\":-42,\"f\":\"NaN\",\"t\":\"1970-01-01T00:00:00.000001Z\"}\n{\"i\":null,\"f\":\"#VALUE!\",\"t\":null}\n"
        );
        assert!(text(&batch(), &ov, false).ends_with("\n,#VALUE!,\n"));
    }

    #[test]
    fn non_finite_floats_read_back_from_both_text_formats() {
        let schema = Arc::new(Schema::new(vec![Field::new("f", DataType::Float64, true)]));
        let values = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.0, -0.5];
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Float64Array::from(values.to_vec()))],
        )
        .expect("batch");
        let ndjson = text(&b, &[], true);
        assert_eq!(
            ndjson,
            "{\"f\":\"NaN\"}\n{\"f\":\"inf\"}\n{\"f\":\"-inf\"}\n{\"f\":2.0}\n{\"f\":-0.5}\n"
        );
        let csv = text(&b, &[], false);
        assert_eq!(csv, "NaN\ninf\n-inf\n2.0\n-0.5\n");
        let from_json = arrow::json::ReaderBuilder::new(schema.clone())
            .build(ndjson.as_bytes())
            .expect("reader")
            .next()
            .expect("a batch")
            .expect("parses");
        let from_csv = arrow::csv::ReaderBuilder::new(schema)
            .build(csv.as_bytes())
            .expect("reader")
            .next()
            .expect("a batch")
            .expect("parses");
        for read in [from_json, from_csv] {
            let got = read.column(0).as_primitive::<Float64Type>();
            for (i, v) in values.iter().enumerate() {
                assert!(
                    got.value(i) == *v || (v.is_nan() && got.value(i).is_nan()),
                    "{i}"
                );
            }
        }
    }

    #[test]
    fn runs_between_defect_rows_read_as_one_arrow_write() {
        // more rows than one writer call takes, a float column and a few overridden rows
        let n = TEXT_PIECE_ROWS + 1_000;
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, false),
            Field::new("f", DataType::Float64, false),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
                Arc::new(Float64Array::from_iter_values(
                    (0..n).map(|i| i as f64 / 8.0),
                )),
            ],
        )
        .expect("batch");
        for json in [false, true] {
            let mut whole = Vec::new();
            encode(&mut whole, &b, json).expect("encode");
            let whole = String::from_utf8(whole).expect("utf-8");
            assert_eq!(text(&b, &[], json), whole);
            let bad = [5, TEXT_PIECE_ROWS, n - 1];
            let ov: Vec<(usize, Override)> = bad
                .iter()
                .map(|&r| {
                    (
                        r,
                        Override::Replace {
                            col: 1,
                            text: "x".into(),
                        },
                    )
                })
                .collect();
            let got = text(&b, &ov, json);
            let (got, whole): (Vec<&str>, Vec<&str>) =
                (got.lines().collect(), whole.lines().collect());
            assert_eq!(got.len(), n);
            for (r, (g, w)) in got.iter().zip(&whole).enumerate() {
                if bad.contains(&r) {
                    let expected = if json {
                        format!("{{\"i\":{r},\"f\":\"x\"}}")
                    } else {
                        format!("{r},x")
                    };
                    assert_eq!(*g, expected);
                } else {
                    assert_eq!(g, w, "row {r}");
                }
            }
        }
    }

    #[test]
    fn cells_numbers_and_timestamps() {
        let b = batch();
        assert_eq!(cell_text(b.column(0).as_ref(), 0), "a,\"b\"");
        assert_eq!(cell_text(b.column(1).as_ref(), 1), "");
        assert_eq!(cell_text(b.column(2).as_ref(), 0), "NaN");
        let ints = Int64Array::from(vec![i64::MIN, i64::MAX]);
        assert_eq!(cell_text(&ints, 0), i64::MIN.to_string());
        assert_eq!(cell_text(&ints, 1), i64::MAX.to_string());
        // floats: shortest text that reads back as the same value
        for v in [3.0, 45.37, 0.1 + 0.2, 1e-7, 1e21, -2.5e-300, f64::MAX] {
            let t = cell_text(&Float64Array::from(vec![v]), 0);
            assert_eq!(t.parse::<f64>().ok(), Some(v), "{t}");
        }
        assert_eq!(cell_text(&Float64Array::from(vec![3.0]), 0), "3.0");
        let us = 20_150 * 86_400_000_000 + 6 * 3_600_000_000 + 5_000_000 + 42;
        assert_eq!(timestamp_text(us), "2025-03-03T06:00:05.000042Z");
        assert_eq!(timestamp_text(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn csv_files_start_with_the_header() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("x/orders.csv");
        let w = FileWriter::create(Format::Csv, path.clone(), Table::Orders, true).expect("create");
        w.finish().expect("finish");
        let names: Vec<String> = Table::Orders
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            names.join(",") + "\n"
        );
    }

    #[test]
    fn ground_truth_rows_are_quoted_where_needed() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("gt/t.csv");
        let rows = vec![
            vec!["a".to_string(), "b,c".to_string()],
            vec!["say \"hi\"".to_string(), String::new()],
        ];
        let bytes = write_csv_rows(&path, &["k", "v"], rows.into_iter()).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, "k,v\na,\"b,c\"\n\"say \"\"hi\"\"\",\n");
        assert_eq!(bytes, text.len() as u64);
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
