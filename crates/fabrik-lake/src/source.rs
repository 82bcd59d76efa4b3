//! Reading input files as validated, typed batches plus rejects, in bounded memory.
//!
//! [`SourceReader::open`] reads one file of one [`Table`] chunk by chunk (at most
//! [`SourceOptions::batch_rows`] rows at a time, never the whole file) and yields a
//! [`SourceBatch`] per chunk: the accepted rows in exactly [`Table::schema`]'s types, the
//! 0-based source row of each, and a [`Reject`] for every problem of every rejected row.
//!
//! Formats ([`SourceFormat`]):
//! - **CSV** (rust-csv: quoting, doubled quotes, newlines inside quoted fields, CRLF; a
//!   UTF-8 BOM is stripped). The header names the columns (any order; extra columns are
//!   ignored; missing nullable columns are null; a missing required column is
//!   [`Error::Header`]). A record with the wrong number of fields is a reject with rule
//!   [`STRUCTURE_RULE`] (`expected 8 fields, found 7`); blank lines are skipped and are not
//!   rows.
//! - **NDJSON**: one JSON object per line; any JSON value is read as text (numbers, bools,
//!   strings; `null` and missing keys are null; arrays/objects as their JSON text), so the
//!   table's parse rules apply as for CSV. A line that is not a JSON object is a
//!   [`STRUCTURE_RULE`] reject; blank lines are skipped.
//! - **Arrow IPC** (file or stream format, told apart by the magic bytes) and **Parquet**:
//!   columns are found by name and cast losslessly to the table's types (any text type or
//!   text dictionary to `Utf8`, narrower integers widened, integers and `Float32` to
//!   `Float64`, timestamps of any unit and zone to µs UTC). Anything else is
//!   [`Error::SourceColumnType`] naming the file and column. A reject's raw text is the row
//!   rendered as JSON.
//! - `.csv.gz`, `.ndjson.gz`: gzip-compressed text, decompressed while streaming.
//!
//! Every text row is parsed and validated with fabrik-model
//! ([`fabrik_model::validate_text_batch`]), typed rows with
//! [`fabrik_model::validate()`], vectorized per chunk. Before that, timestamp text is
//! normalised per [`TimeOptions`]: RFC 3339 with an offset passes as is, bare integers are
//! epoch times, naive local times are read in the plant's zone.
//!
//! Nothing is lost: in every chunk `rows_read == batch.num_rows() + distinct rejected rows`.
//! A file that is not what it claims (binary, compressed, wrong header, bad magic) is an
//! [`Error`] naming the file; row problems never are.
//!
//! ```no_run
//! use fabrik_lake::source::{SourceOptions, SourceReader, resolve};
//! use fabrik_model::Table;
//! # fn main() -> fabrik_lake::Result<()> {
//! for path in resolve(&["data/orders-*.csv".to_string()])? {
//!     for chunk in SourceReader::open(Table::Orders, &path, &SourceOptions::default())? {
//!         let chunk = chunk?;
//!         println!("{} accepted, {} rejects", chunk.batch.num_rows(), chunk.rejects.len());
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{FixedOffset, LocalResult, NaiveDateTime, TimeZone};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions, StringArray,
    StringBuilder, UInt64Array, new_null_array,
};
use datafusion::arrow::compute::kernels::boolean;
use datafusion::arrow::compute::{cast, filter, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use fabrik_model::{
    FieldSpec, FieldType, PARSE_RULE, Table, ValidateOptions, is_text_type, relaxed_schema,
    text_schema, validate, validate_text_batch,
};

use crate::error::{Error, Result};

/// The rule id of a reject whose row could not be split into the table's fields: a CSV
/// record with the wrong number of fields, an NDJSON line that is not a JSON object, text
/// that is not UTF-8.
pub const STRUCTURE_RULE: &str = "structure";

/// How many bytes at the start of a file are sniffed for binary or compressed content.
const SNIFF_BYTES: usize = 1024;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    /// Comma- (or [`SourceOptions::delimiter`]-) separated values with a header line.
    Csv,
    /// Newline-delimited JSON, one object per line.
    Ndjson,
    /// Arrow IPC, file (`ARROW1` magic) or stream format.
    ArrowIpc,
    /// Apache Parquet.
    Parquet,
}

impl SourceFormat {
    /// The format of `path` by its extension: `.csv`; `.ndjson`, `.jsonl`, `.json`;
    /// `.arrow`, `.ipc`, `.feather`; `.parquet` (case-insensitive). A trailing `.gz` is
    /// looked through (`orders.csv.gz` is CSV; see [`is_gzip_name`]).
    pub fn from_path(path: &Path) -> Result<SourceFormat> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        ext.parse().map_err(|_| Error::UnknownFormat {
            path: path.to_path_buf(),
            found: if ext.is_empty() {
                "(no extension)".to_string()
            } else {
                format!(".{ext}")
            },
        })
    }

    /// A short human name: `CSV`, `NDJSON`, `Arrow IPC`, `Parquet`.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Csv => "CSV",
            SourceFormat::Ndjson => "NDJSON",
            SourceFormat::ArrowIpc => "Arrow IPC",
            SourceFormat::Parquet => "Parquet",
        }
    }

    /// Whether the format is text (CSV, NDJSON): rejects carry line numbers and raw lines.
    pub fn is_text(self) -> bool {
        matches!(self, SourceFormat::Csv | SourceFormat::Ndjson)
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SourceFormat {
    type Err = Error;

    /// Parses a format name or extension, case-insensitive, with or without a dot: `csv`,
    /// `ndjson`/`jsonl`/`json`, `arrow`/`ipc`/`feather`/`arrow_ipc`, `parquet`.
    fn from_str(s: &str) -> Result<SourceFormat> {
        let lower = s.trim().trim_start_matches('.').to_ascii_lowercase();
        match lower.as_str() {
            "csv" => Ok(SourceFormat::Csv),
            "ndjson" | "jsonl" | "json" => Ok(SourceFormat::Ndjson),
            "arrow" | "ipc" | "feather" | "arrow_ipc" | "arrow-ipc" => Ok(SourceFormat::ArrowIpc),
            "parquet" => Ok(SourceFormat::Parquet),
            _ => Err(Error::UnknownFormat {
                path: PathBuf::from(s),
                found: s.to_string(),
            }),
        }
    }
}

/// Whether a file name ends in `.gz` (its text is read through a gzip decoder).
pub fn is_gzip_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("gz"))
}

/// The unit of epoch integers in timestamp columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpochUnit {
    /// Seconds since 1970-01-01T00:00:00Z.
    Seconds,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds (truncated to microseconds).
    Nanos,
}

impl EpochUnit {
    /// The unit inferred from an integer's magnitude `|v|`: below 10^11 seconds (until the
    /// year 5138), below 10^14 milliseconds, below 10^17 microseconds, else nanoseconds.
    pub fn infer(v: i64) -> EpochUnit {
        match v.unsigned_abs() {
            n if n < 100_000_000_000 => EpochUnit::Seconds,
            n if n < 100_000_000_000_000 => EpochUnit::Millis,
            n if n < 100_000_000_000_000_000 => EpochUnit::Micros,
            _ => EpochUnit::Nanos,
        }
    }

    /// `v` in this unit as microseconds; `None` on overflow.
    pub fn to_micros(self, v: i64) -> Option<i64> {
        match self {
            EpochUnit::Seconds => v.checked_mul(1_000_000),
            EpochUnit::Millis => v.checked_mul(1_000),
            EpochUnit::Micros => Some(v),
            EpochUnit::Nanos => Some(v.div_euclid(1_000)),
        }
    }
}

/// The time zone a plant's naive local timestamps are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantZone {
    /// An IANA zone with its daylight-saving rules (`Europe/Berlin`).
    Named(chrono_tz::Tz),
    /// A fixed offset from UTC (no daylight saving).
    Fixed(FixedOffset),
}

impl PlantZone {
    /// A named IANA zone (`"Europe/Berlin"`); `None` if unknown.
    pub fn named(name: &str) -> Option<PlantZone> {
        name.parse::<chrono_tz::Tz>().ok().map(PlantZone::Named)
    }

    /// A fixed offset of whole hours east of UTC; `None` outside ±23 h.
    pub fn fixed_hours(hours: i32) -> Option<PlantZone> {
        FixedOffset::east_opt(hours * 3600).map(PlantZone::Fixed)
    }

    fn local(&self, t: &NaiveDateTime) -> LocalResult<i64> {
        match self {
            PlantZone::Named(tz) => tz.from_local_datetime(t).map(|d| d.timestamp_micros()),
            PlantZone::Fixed(off) => off.from_local_datetime(t).map(|d| d.timestamp_micros()),
        }
    }
}

impl fmt::Display for PlantZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlantZone::Named(tz) => write!(f, "{}", tz.name()),
            PlantZone::Fixed(off) => write!(f, "UTC{off}"),
        }
    }
}

/// How timestamp text is read (CSV and NDJSON; typed formats carry their own types).
///
/// RFC 3339 with `Z` or `±HH:MM` is always accepted. Besides:
/// - a bare integer (optionally negative) is an epoch time in [`epoch_unit`](Self::epoch_unit)
///   when [`allow_epoch`](Self::allow_epoch) is set;
/// - naive `YYYY-MM-DD HH:MM:SS[.f]` / `YYYY-MM-DDTHH:MM:SS[.f]` is local time in
///   [`naive_tz`](Self::naive_tz); a local time skipped or repeated by a daylight-saving
///   change is a `parse` reject saying so. Without a zone, naive text is a `parse` reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOptions {
    /// The zone of timestamps without an offset; `None`: such text is rejected.
    pub naive_tz: Option<PlantZone>,
    /// The unit of bare integers; `None`: inferred per value by magnitude
    /// ([`EpochUnit::infer`]).
    pub epoch_unit: Option<EpochUnit>,
    /// Whether bare integers are read as epoch times at all (default `true`); `false`
    /// rejects them like any other text that is not RFC 3339.
    pub allow_epoch: bool,
}

impl Default for TimeOptions {
    fn default() -> Self {
        TimeOptions {
            naive_tz: None,
            epoch_unit: None,
            allow_epoch: true,
        }
    }
}

impl TimeOptions {
    /// Only RFC 3339 with an offset: no epochs, no naive times (fabrik-model's own rule).
    pub fn rfc3339_only() -> TimeOptions {
        TimeOptions {
            naive_tz: None,
            epoch_unit: None,
            allow_epoch: false,
        }
    }
}

/// Settings of [`SourceReader::open`].
#[derive(Debug, Clone, PartialEq)]
pub struct SourceOptions {
    /// The file format; `None`: by extension ([`SourceFormat::from_path`]).
    pub format: Option<SourceFormat>,
    /// The CSV field delimiter (default `b','`).
    pub delimiter: u8,
    /// The most rows per chunk (default 65 536); a chunk's memory is bounded by it.
    pub batch_rows: usize,
    /// How timestamp text is read.
    pub time: TimeOptions,
    /// Validation settings (plausible time window, delivery tolerance).
    pub validate: ValidateOptions,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            format: None,
            delimiter: b',',
            batch_rows: 65_536,
            time: TimeOptions::default(),
            validate: ValidateOptions::default(),
        }
    }
}

/// One problem of one rejected source row: a row of the table's rejects table (the ingest
/// adds the ingest id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The file path (or URI) read.
    pub source: String,
    /// The 1-based line where the row starts (text formats; a CSV header is line 1).
    pub line: Option<u64>,
    /// The 0-based data row in the file (CSV: records after the header).
    pub row: u64,
    /// The column concerned; `None` for a row-level problem ([`STRUCTURE_RULE`]).
    pub column: Option<String>,
    /// The rule id (`fabrik_model::rules`), [`PARSE_RULE`] or [`STRUCTURE_RULE`].
    pub rule: String,
    /// What is wrong, with the offending value.
    pub reason: String,
    /// The raw line for text formats (without its line terminator); the row rendered as
    /// JSON for typed formats.
    pub raw: Option<String>,
}

/// One chunk of a file: accepted rows, their source rows, and the rejects.
#[derive(Debug, Clone)]
pub struct SourceBatch {
    /// The accepted rows, exactly [`Table::schema`] (types, nullability, metadata).
    pub batch: RecordBatch,
    /// The 0-based source row of each accepted row.
    pub rows: UInt64Array,
    /// One reject per (row, problem), sorted by row; a rejected row is never accepted.
    pub rejects: Vec<Reject>,
    /// Rows in this chunk: accepted + distinct rejected rows.
    pub rows_read: u64,
}

impl SourceBatch {
    /// The number of distinct rejected rows.
    pub fn rejected_rows(&self) -> u64 {
        self.rejects
            .iter()
            .map(|r| r.row)
            .collect::<BTreeSet<_>>()
            .len() as u64
    }
}

/// Expands inputs into files, in order, without duplicates: a file path is itself; a
/// directory gives its regular files (not recursive, hidden files skipped, sorted by name);
/// a pattern with `*`, `?` or `[` is a glob (the `glob` crate; its matching files, sorted).
/// `file://` URLs are read as local paths.
///
/// A missing path or a glob matching no file is [`Error::InputNotFound`]; other URLs
/// (`s3://…`) are [`Error::Unsupported`] for now.
pub fn resolve(inputs: &[String]) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |p: PathBuf, out: &mut Vec<PathBuf>| {
        if seen.insert(p.clone()) {
            out.push(p);
        }
    };
    for input in inputs {
        let local = match input.split_once("://") {
            Some(("file", rest)) => rest,
            Some((scheme, _)) if !scheme.is_empty() && !scheme.contains(['/', '\\']) => {
                return Err(Error::Unsupported {
                    input: input.clone(),
                    why: format!(
                        "{scheme}:// inputs (object_store URLs) are not read yet; copy the files to a local path"
                    ),
                });
            }
            _ => input.as_str(),
        };
        if local.contains(['*', '?', '[']) {
            let paths = glob::glob(local).map_err(|e| Error::InputNotFound {
                input: input.clone(),
                why: format!("invalid glob pattern: {e}"),
            })?;
            let mut found: Vec<PathBuf> = paths
                .filter_map(|p| p.ok())
                .filter(|p| p.is_file())
                .collect();
            if found.is_empty() {
                return Err(Error::InputNotFound {
                    input: input.clone(),
                    why: "the glob matches no file".to_string(),
                });
            }
            found.sort();
            for p in found {
                push(p, &mut out);
            }
            continue;
        }
        let path = PathBuf::from(local);
        if path.is_dir() {
            let entries = std::fs::read_dir(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                let p = entry.path();
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if p.is_file() && !hidden {
                    files.push(p);
                }
            }
            files.sort();
            for p in files {
                push(p, &mut out);
            }
        } else if path.is_file() {
            push(path, &mut out);
        } else {
            return Err(Error::InputNotFound {
                input: input.clone(),
                why: "no such file or directory".to_string(),
            });
        }
    }
    Ok(out)
}

/// What every reader of one file shares.
struct Ctx {
    table: Table,
    path: PathBuf,
    source: String,
    opts: SourceOptions,
}

/// Where a text row came from.
struct RowMeta {
    row: u64,
    line: u64,
    raw: String,
}

/// An iterator of [`SourceBatch`]es over one file; see the module docs.
///
/// After an `Err` the iterator ends.
pub struct SourceReader {
    ctx: Ctx,
    inner: Inner,
    done: bool,
}

enum Inner {
    Csv(Box<CsvState>),
    Ndjson(Box<NdjsonState>),
    Typed(Box<TypedState>),
}

impl fmt::Debug for SourceReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceReader")
            .field("table", &self.ctx.table)
            .field("path", &self.ctx.path)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl SourceReader {
    /// Opens `path` as rows of `table`. File-level problems are errors naming the file:
    /// unknown format, binary or compressed content where text is expected, a header
    /// lacking required columns, bad Parquet/IPC magic, a column of an incompatible type.
    pub fn open(table: Table, path: &Path, opts: &SourceOptions) -> Result<SourceReader> {
        let format = match opts.format {
            Some(f) => f,
            None => SourceFormat::from_path(path)?,
        };
        let mut opts = opts.clone();
        opts.batch_rows = opts.batch_rows.max(1);
        let ctx = Ctx {
            table,
            path: path.to_path_buf(),
            source: path.display().to_string(),
            opts,
        };
        let inner = match format {
            SourceFormat::Csv => Inner::Csv(Box::new(CsvState::open(&ctx)?)),
            SourceFormat::Ndjson => Inner::Ndjson(Box::new(NdjsonState::open(&ctx)?)),
            SourceFormat::ArrowIpc | SourceFormat::Parquet => {
                Inner::Typed(Box::new(TypedState::open(&ctx, format)?))
            }
        };
        Ok(SourceReader {
            ctx,
            inner,
            done: false,
        })
    }

    /// The table read.
    pub fn table(&self) -> Table {
        self.ctx.table
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.ctx.path
    }
}

impl Iterator for SourceReader {
    type Item = Result<SourceBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = match &mut self.inner {
            Inner::Csv(s) => s.next_chunk(&self.ctx),
            Inner::Ndjson(s) => s.next_chunk(&self.ctx),
            Inner::Typed(s) => s.next_chunk(&self.ctx),
        };
        match next {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Opening text files: sniffing, BOM, gzip.

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens a text file for streaming: sniffs its first bytes for binary or compressed
/// content, decompresses `.gz`, strips a UTF-8 BOM.
fn open_text(path: &Path, format: SourceFormat) -> Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).map_err(io_err(path))?;
    let raw: Box<dyn Read + Send> = if is_gzip_name(path) {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let mut reader = BufReader::with_capacity(64 * 1024, raw);
    let head = reader
        .fill_buf()
        .map_err(|e| Error::NotFormat {
            path: path.to_path_buf(),
            expected: format.name(),
            why: format!("cannot be read as {}: {e}", format.name()),
        })?
        .to_vec();
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if let Some(why) = sniff_binary(head, format) {
        return Err(Error::NotFormat {
            path: path.to_path_buf(),
            expected: format.name(),
            why,
        });
    }
    if head.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    Ok(Box::new(reader))
}

/// Why the first bytes of a would-be text file are not text, if they are not.
fn sniff_binary(head: &[u8], format: SourceFormat) -> Option<String> {
    let ext = match format {
        SourceFormat::Ndjson => "ndjson",
        _ => "csv",
    };
    let name = format.name();
    let known: [(&[u8], &str); 6] = [
        (b"\x1f\x8b", "gzip-compressed data"),
        (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
        (b"BZh", "bzip2-compressed data"),
        (b"PK\x03\x04", "a zip archive"),
        (b"PAR1", "a Parquet file"),
        (b"ARROW1", "an Arrow IPC file"),
    ];
    for (magic, what) in known {
        if head.starts_with(magic) {
            let fix = if magic == b"\x1f\x8b" {
                format!("decompress it or name it .{ext}.gz")
            } else {
                "convert or rename it".to_string()
            };
            return Some(format!("looks like {what}, not {name}; {fix}"));
        }
    }
    if head.contains(&0) {
        return Some(format!(
            "looks like binary data (NUL bytes in the first {SNIFF_BYTES} bytes), not {name}"
        ));
    }
    None
}

// ---------------------------------------------------------------------------------------
// CSV.

/// A reader that keeps the bytes passed through it since the last [`Tee::drain_to`], so the
/// raw text of a record can be cut out of it (bounded by the CSV reader's read-ahead and
/// one record).
struct Tee {
    inner: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    /// The stream offset of `buf[0]`.
    base: u64,
}

impl Read for Tee {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.buf.extend_from_slice(&out[..n]);
        Ok(n)
    }
}

impl Tee {
    /// The bytes from `start` to `end` (stream offsets), lossy UTF-8, without the line
    /// terminators around them, and the number of line feeds before the text (the CSV
    /// reader starts a record after a CRLF at the `\n` of the line before).
    fn text(&self, start: u64, end: u64) -> (String, u64) {
        let lo = start.saturating_sub(self.base) as usize;
        let hi = (end.saturating_sub(self.base) as usize).min(self.buf.len());
        let bytes = self.buf.get(lo.min(hi)..hi).unwrap_or_default();
        let lead = bytes
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .filter(|b| **b == b'\n')
            .count() as u64;
        let trimmed = trim_terminators(bytes);
        (String::from_utf8_lossy(trimmed).into_owned(), lead)
    }

    /// Forgets the bytes before stream offset `end`.
    fn drain_to(&mut self, end: u64) {
        let n = (end.saturating_sub(self.base) as usize).min(self.buf.len());
        self.buf.drain(..n);
        self.base += n as u64;
    }
}

fn trim_terminators(mut b: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b'\r' | b'\n'] = b {
        b = rest;
    }
    b
}

struct CsvState {
    reader: csv::Reader<Tee>,
    /// For each table field, its index in the header.
    mapping: Vec<Option<usize>>,
    fields: usize,
    next_row: u64,
    record: csv::ByteRecord,
}

impl CsvState {
    fn open(ctx: &Ctx) -> Result<CsvState> {
        let inner = open_text(&ctx.path, SourceFormat::Csv)?;
        let tee = Tee {
            inner,
            buf: Vec::new(),
            base: 0,
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(ctx.opts.delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(tee);
        let header = reader.byte_headers().map_err(|e| Error::Read {
            path: ctx.path.clone(),
            line: Some(1),
            why: format!("cannot read the CSV header: {e}"),
        })?;
        let names: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect();
        let fields = names.len();
        let mapping = map_columns(ctx, &names)?;
        let end = reader.position().byte();
        reader.get_mut().drain_to(end);
        Ok(CsvState {
            reader,
            mapping,
            fields,
            next_row: 0,
            record: csv::ByteRecord::new(),
        })
    }

    fn next_chunk(&mut self, ctx: &Ctx) -> Result<Option<SourceBatch>> {
        let cap = ctx.opts.batch_rows;
        let mut builders: Vec<StringBuilder> = (0..self.mapping.len())
            .map(|_| StringBuilder::new())
            .collect();
        let mut metas = Vec::new();
        let mut rejects = Vec::new();
        let mut rows_read = 0u64;
        while rows_read < cap as u64 {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| Error::Read {
                    path: ctx.path.clone(),
                    line: e.position().map(|p| p.line()),
                    why: e.to_string(),
                })?;
            if !more {
                break;
            }
            let (start, line) = self
                .record
                .position()
                .map(|p| (p.byte(), p.line()))
                .unwrap_or((0, 0));
            let end = self.reader.position().byte();
            let (raw, lead) = self.reader.get_ref().text(start, end);
            let line = line + lead;
            self.reader.get_mut().drain_to(end);
            let row = self.next_row;
            self.next_row += 1;
            rows_read += 1;
            let structure = |reason: String| Reject {
                source: ctx.source.clone(),
                line: Some(line),
                row,
                column: None,
                rule: STRUCTURE_RULE.to_string(),
                reason,
                raw: Some(raw.clone()),
            };
            if self.record.len() != self.fields {
                rejects.push(structure(format!(
                    "expected {} fields, found {}",
                    self.fields,
                    self.record.len()
                )));
                continue;
            }
            let mut cells = Vec::with_capacity(self.mapping.len());
            let mut bad_utf8 = None;
            for (spec, idx) in ctx.table.fields().iter().zip(&self.mapping) {
                let cell = match idx.and_then(|i| self.record.get(i)) {
                    Some(bytes) => match std::str::from_utf8(bytes) {
                        Ok(s) => Some(s),
                        Err(_) => {
                            bad_utf8 = Some(spec.name);
                            break;
                        }
                    },
                    None => None,
                };
                cells.push(cell);
            }
            if let Some(col) = bad_utf8 {
                rejects.push(Reject {
                    column: Some(col.to_string()),
                    ..structure(format!("{col}: the text is not valid UTF-8"))
                });
                continue;
            }
            for (b, cell) in builders.iter_mut().zip(cells) {
                b.append_option(cell);
            }
            metas.push(RowMeta { row, line, raw });
        }
        if rows_read == 0 {
            return Ok(None);
        }
        finish_text_chunk(ctx, builders, metas, rejects, rows_read).map(Some)
    }
}

/// Maps the table's fields to header positions; a missing required column is an error.
fn map_columns(ctx: &Ctx, names: &[String]) -> Result<Vec<Option<usize>>> {
    let mapping: Vec<Option<usize>> = ctx
        .table
        .fields()
        .iter()
        .map(|f| names.iter().position(|n| n == f.name))
        .collect();
    let missing: Vec<String> = ctx
        .table
        .fields()
        .iter()
        .zip(&mapping)
        .filter(|(f, m)| !f.nullable && m.is_none())
        .map(|(f, _)| f.name.to_string())
        .collect();
    if missing.is_empty() {
        Ok(mapping)
    } else {
        Err(Error::Header {
            path: ctx.path.clone(),
            table: ctx.table.name(),
            missing,
            found: names.iter().map(|n| n.chars().take(80).collect()).collect(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// NDJSON.

struct NdjsonState {
    reader: Box<dyn BufRead + Send>,
    line: u64,
    next_row: u64,
    buf: Vec<u8>,
}

impl NdjsonState {
    fn open(ctx: &Ctx) -> Result<NdjsonState> {
        Ok(NdjsonState {
            reader: open_text(&ctx.path, SourceFormat::Ndjson)?,
            line: 0,
            next_row: 0,
            buf: Vec::new(),
        })
    }

    fn next_chunk(&mut self, ctx: &Ctx) -> Result<Option<SourceBatch>> {
        let cap = ctx.opts.batch_rows as u64;
        let fields = ctx.table.fields();
        let mut builders: Vec<StringBuilder> =
            fields.iter().map(|_| StringBuilder::new()).collect();
        let mut metas = Vec::new();
        let mut rejects = Vec::new();
        let mut rows_read = 0u64;
        while rows_read < cap {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Error::Read {
                    path: ctx.path.clone(),
                    line: Some(self.line + 1),
                    why: e.to_string(),
                })?;
            if n == 0 {
                break;
            }
            self.line += 1;
            let bytes = trim_terminators(&self.buf);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = self.line;
            let row = self.next_row;
            self.next_row += 1;
            rows_read += 1;
            let raw = String::from_utf8_lossy(bytes).into_owned();
            let object = match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(serde_json::Value::Object(map)) => map,
                other => {
                    let reason = match other {
                        Ok(v) => format!("expected a JSON object, found {}", json_kind(&v)),
                        Err(e) => format!("not valid JSON: {e}"),
                    };
                    rejects.push(Reject {
                        source: ctx.source.clone(),
                        line: Some(line),
                        row,
                        column: None,
                        rule: STRUCTURE_RULE.to_string(),
                        reason,
                        raw: Some(raw),
                    });
                    continue;
                }
            };
            for (b, spec) in builders.iter_mut().zip(fields) {
                match object.get(spec.name) {
                    None | Some(serde_json::Value::Null) => b.append_null(),
                    Some(serde_json::Value::String(s)) => b.append_value(s),
                    Some(v) => b.append_value(v.to_string()),
                }
            }
            metas.push(RowMeta { row, line, raw });
        }
        if rows_read == 0 {
            return Ok(None);
        }
        finish_text_chunk(ctx, builders, metas, rejects, rows_read).map(Some)
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------
// Text chunks: timestamps, parse, validate, split.

/// Parses, validates and splits one chunk of text rows (`columns`: the table's fields in
/// order, `Utf8`; `metas`: one per row; `rejects`: structural rejects already found).
fn finish_text_chunk(
    ctx: &Ctx,
    builders: Vec<StringBuilder>,
    metas: Vec<RowMeta>,
    mut rejects: Vec<Reject>,
    rows_read: u64,
) -> Result<SourceBatch> {
    let table = ctx.table;
    let n = metas.len();
    let mut reasons: HashMap<(usize, &'static str), String> = HashMap::new();
    let mut columns: Vec<ArrayRef> = builders
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    for (spec, column) in table.fields().iter().zip(columns.iter_mut()) {
        if spec.ty == FieldType::Timestamp {
            let (normalised, why) =
                normalise_timestamps(spec, column.as_string::<i32>(), &ctx.opts.time);
            *column = Arc::new(normalised);
            reasons.extend(why.into_iter().map(|(row, r)| ((row, spec.name), r)));
        }
    }
    let options = RecordBatchOptions::new().with_row_count(Some(n));
    let text = RecordBatch::try_new_with_options(text_schema(table), columns, &options)?;
    let (typed, validation) = validate_text_batch(table, &text, &ctx.opts.validate)?;
    for v in &validation.violations {
        let meta = &metas[v.row];
        let reason = match reasons.get(&(v.row, v.column)) {
            Some(r) if v.rule == PARSE_RULE => r.clone(),
            _ => v.reason.clone(),
        };
        rejects.push(Reject {
            source: ctx.source.clone(),
            line: Some(meta.line),
            row: meta.row,
            column: Some(v.column.to_string()),
            rule: v.rule.to_string(),
            reason,
            raw: Some(meta.raw.clone()),
        });
    }
    rejects.sort_by_key(|r| r.row);
    let rows = UInt64Array::from_iter_values(metas.iter().map(|m| m.row));
    split(ctx, &typed, &rows, &validation.invalid, rejects, rows_read)
}

/// Keeps the valid rows of a validated relaxed-schema batch, as the table's schema.
fn split(
    ctx: &Ctx,
    typed: &RecordBatch,
    rows: &UInt64Array,
    invalid: &BooleanArray,
    rejects: Vec<Reject>,
    rows_read: u64,
) -> Result<SourceBatch> {
    let keep = boolean::not(invalid)?;
    let accepted = filter_record_batch(typed, &keep)?;
    let rows = filter(rows, &keep)?.as_primitive().clone();
    let batch = strict(ctx.table.schema(), accepted)?;
    Ok(SourceBatch {
        batch,
        rows,
        rejects,
        rows_read,
    })
}

/// The same columns under the table's schema (non-nullable fields hold no nulls once the
/// `not_null` rules passed).
fn strict(schema: SchemaRef, batch: RecordBatch) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        schema,
        batch.columns().to_vec(),
        &options,
    )?)
}

/// Rewrites epoch integers and naive local times of a timestamp column as RFC 3339 UTC
/// text; other text is kept for fabrik-model's parser. Returns the column and, per row
/// whose text must still fail, a better reason than the parser's (the DST cases).
fn normalise_timestamps(
    spec: &FieldSpec,
    text: &StringArray,
    time: &TimeOptions,
) -> (StringArray, Vec<(usize, String)>) {
    let mut why = Vec::new();
    let mut changed = false;
    let out: StringArray = text
        .iter()
        .enumerate()
        .map(|(row, v)| {
            let s = v?;
            match normalise_one(s.trim(), time) {
                Normal::Keep => Some(s.to_string()),
                Normal::Rfc3339(us) => {
                    changed = true;
                    Some(fabrik_model::time::format_micros(us))
                }
                Normal::Fail(reason) => {
                    why.push((row, format!("{}: '{s}' {reason}", spec.name)));
                    Some(s.to_string())
                }
            }
        })
        .collect();
    if changed || !why.is_empty() {
        (out, why)
    } else {
        (text.clone(), why)
    }
}

enum Normal {
    Keep,
    Rfc3339(i64),
    Fail(String),
}

fn normalise_one(s: &str, time: &TimeOptions) -> Normal {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if !time.allow_epoch {
            return Normal::Keep;
        }
        let Ok(v) = s.parse::<i64>() else {
            return Normal::Fail("is an integer out of range for an epoch time".to_string());
        };
        let unit = time.epoch_unit.unwrap_or_else(|| EpochUnit::infer(v));
        return match unit.to_micros(v) {
            Some(us) if chrono::DateTime::from_timestamp_micros(us).is_some() => {
                Normal::Rfc3339(us)
            }
            _ => Normal::Fail(format!("is out of range as an epoch time in {unit:?}")),
        };
    }
    if s.len() < 19 || has_offset(s) {
        return Normal::Keep;
    }
    let Some(zone) = &time.naive_tz else {
        return Normal::Keep;
    };
    let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok());
    let Some(naive) = naive else {
        return Normal::Keep;
    };
    match zone.local(&naive) {
        LocalResult::Single(us) => Normal::Rfc3339(us),
        LocalResult::None => Normal::Fail(format!(
            "does not exist in {zone} (skipped by a daylight-saving change); send it with a UTC offset"
        )),
        LocalResult::Ambiguous(_, _) => Normal::Fail(format!(
            "is ambiguous in {zone} (repeated by a daylight-saving change); send it with a UTC offset"
        )),
    }
}

/// Whether timestamp text carries a `Z` or `±` offset after its date.
fn has_offset(s: &str) -> bool {
    let time = s.get(10..).unwrap_or("");
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

// ---------------------------------------------------------------------------------------
// Typed formats: Arrow IPC and Parquet.

type BatchIter =
    Box<dyn Iterator<Item = Result<RecordBatch, datafusion::arrow::error::ArrowError>> + Send>;

struct TypedState {
    batches: BatchIter,
    /// For each table field, its column index in the file.
    mapping: Vec<Option<usize>>,
    pending: Option<RecordBatch>,
    next_row: u64,
}

impl TypedState {
    fn open(ctx: &Ctx, format: SourceFormat) -> Result<TypedState> {
        let path = &ctx.path;
        let mut file = File::open(path).map_err(io_err(path))?;
        let mut magic = [0u8; 8];
        let got = read_up_to(&mut file, &mut magic).map_err(io_err(path))?;
        let magic = &magic[..got];
        let file = File::open(path).map_err(io_err(path))?;
        let not = |why: String| Error::NotFormat {
            path: path.clone(),
            expected: format.name(),
            why,
        };
        let (schema, batches): (SchemaRef, BatchIter) = match format {
            SourceFormat::Parquet => {
                if !magic.starts_with(b"PAR1") {
                    return Err(not(format!(
                        "not a Parquet file (no PAR1 magic bytes){}",
                        describe_magic(magic)
                    )));
                }
                let builder =
                    datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                        .map_err(|e| not(format!("not a readable Parquet file: {e}")))?;
                let schema = Arc::clone(builder.schema());
                let reader = builder
                    .with_batch_size(ctx.opts.batch_rows)
                    .build()
                    .map_err(|e| not(format!("not a readable Parquet file: {e}")))?;
                (schema, Box::new(reader))
            }
            _ => {
                if magic.starts_with(b"ARROW1") {
                    let reader = datafusion::arrow::ipc::reader::FileReader::try_new(file, None)
                        .map_err(|e| not(format!("not a readable Arrow IPC file: {e}")))?;
                    (reader.schema(), Box::new(reader))
                } else {
                    let reader = datafusion::arrow::ipc::reader::StreamReader::try_new(
                        BufReader::new(file),
                        None,
                    )
                    .map_err(|e| {
                        not(format!(
                            "not an Arrow IPC file or stream{}: {e}",
                            describe_magic(magic)
                        ))
                    })?;
                    (reader.schema(), Box::new(reader))
                }
            }
        };
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mapping = map_columns(ctx, &names)?;
        for (spec, idx) in ctx.table.fields().iter().zip(&mapping) {
            if let Some(i) = idx {
                let dt = schema.field(*i).data_type();
                if !castable(spec.ty, dt) {
                    return Err(Error::SourceColumnType {
                        path: path.clone(),
                        column: spec.name.to_string(),
                        found: dt.to_string(),
                        expected: spec.ty.data_type().to_string(),
                    });
                }
            }
        }
        Ok(TypedState {
            batches,
            mapping,
            pending: None,
            next_row: 0,
        })
    }

    fn next_chunk(&mut self, ctx: &Ctx) -> Result<Option<SourceBatch>> {
        let cap = ctx.opts.batch_rows;
        let batch = loop {
            let batch = match self.pending.take() {
                Some(b) => b,
                None => match self.batches.next() {
                    None => return Ok(None),
                    Some(b) => b.map_err(|e| Error::Read {
                        path: ctx.path.clone(),
                        line: None,
                        why: e.to_string(),
                    })?,
                },
            };
            if batch.num_rows() == 0 {
                continue;
            }
            if batch.num_rows() > cap {
                self.pending = Some(batch.slice(cap, batch.num_rows() - cap));
                break batch.slice(0, cap);
            }
            break batch;
        };
        let n = batch.num_rows();
        let mut columns = Vec::with_capacity(self.mapping.len());
        for (spec, idx) in ctx.table.fields().iter().zip(&self.mapping) {
            let target = spec.ty.data_type();
            let column = match idx {
                None => new_null_array(&target, n),
                Some(i) => {
                    let c = batch.column(*i);
                    if c.data_type() == &target {
                        Arc::clone(c)
                    } else {
                        cast(c, &target)?
                    }
                }
            };
            columns.push(column);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(n));
        let typed =
            RecordBatch::try_new_with_options(relaxed_schema(ctx.table), columns, &options)?;
        let validation = validate(ctx.table, &typed, &ctx.opts.validate)?;
        let first = self.next_row;
        self.next_row += n as u64;
        let mut raw_cache: HashMap<usize, Option<String>> = HashMap::new();
        let rejects = validation
            .violations
            .iter()
            .map(|v| Reject {
                source: ctx.source.clone(),
                line: None,
                row: first + v.row as u64,
                column: Some(v.column.to_string()),
                rule: v.rule.to_string(),
                reason: v.reason.clone(),
                raw: raw_cache
                    .entry(v.row)
                    .or_insert_with(|| row_json(&batch, v.row))
                    .clone(),
            })
            .collect();
        let rows = UInt64Array::from_iter_values(first..first + n as u64);
        split(ctx, &typed, &rows, &validation.invalid, rejects, n as u64).map(Some)
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

fn describe_magic(magic: &[u8]) -> String {
    if magic.is_empty() {
        "; the file is empty".to_string()
    } else if magic.starts_with(b"\x1f\x8b") {
        "; it looks like gzip-compressed data".to_string()
    } else if magic.starts_with(b"PAR1") {
        "; it looks like a Parquet file".to_string()
    } else if magic
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        format!(
            "; it starts with text `{}`",
            String::from_utf8_lossy(magic).escape_debug()
        )
    } else {
        String::new()
    }
}

/// Whether a column of type `dt` casts losslessly to a field of type `ty`.
fn castable(ty: FieldType, dt: &DataType) -> bool {
    use DataType as D;
    if *dt == ty.data_type() || *dt == D::Null {
        return true;
    }
    match ty {
        FieldType::Text => is_text_type(dt),
        FieldType::Timestamp => matches!(dt, D::Timestamp(_, Some(_))),
        FieldType::Float64 => matches!(
            dt,
            D::Float16
                | D::Float32
                | D::Int8
                | D::Int16
                | D::Int32
                | D::UInt8
                | D::UInt16
                | D::UInt32
        ),
        FieldType::Int64 => matches!(
            dt,
            D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16 | D::UInt32
        ),
        FieldType::Int32 => matches!(dt, D::Int8 | D::Int16 | D::UInt8 | D::UInt16),
        FieldType::Int16 => matches!(dt, D::Int8 | D::UInt8),
        FieldType::UInt8 => false,
    }
}

/// One row of a batch as a JSON object (arrow's JSON writer); `None` if it cannot be
/// rendered.
fn row_json(batch: &RecordBatch, row: usize) -> Option<String> {
    let slice = batch.slice(row, 1);
    let mut writer = datafusion::arrow::json::LineDelimitedWriter::new(Vec::new());
    writer.write(&slice).ok()?;
    writer.finish().ok()?;
    let bytes = writer.into_inner();
    String::from_utf8(bytes)
        .ok()
        .map(|s| s.trim_end().to_string())
}

pub mod remote;

#[cfg(test)]
mod tests;
