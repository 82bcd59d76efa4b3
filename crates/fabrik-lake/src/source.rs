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
    Array, ArrayRef, AsArray, BooleanArray, PrimitiveArray, PrimitiveBuilder, RecordBatch,
    RecordBatchOptions, StringArray, StringBuilder, UInt64Array, new_null_array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::kernels::boolean;
use datafusion::arrow::compute::{cast, filter, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
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

/// An iterator of [`SourceBatch`]es over one file; see the module docs.
///
/// Text files (CSV, NDJSON) are read by a background thread that splits them into chunks
/// of records; the chunks are typed and validated in parallel (rayon) and come out in file
/// order. At most a few chunks are in flight, so memory stays bounded by the chunk size.
/// After an `Err` the iterator ends.
pub struct SourceReader {
    ctx: Arc<Ctx>,
    inner: Inner,
    done: bool,
}

/// Chunks being typed, in file order.
type InFlight = std::sync::mpsc::Receiver<std::sync::mpsc::Receiver<Result<SourceBatch>>>;

enum Inner {
    Text(InFlight),
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

/// A text reader that hands out chunks split into records, not yet typed.
enum TextState {
    Csv(Box<CsvState>),
    Ndjson(Box<NdjsonState>),
}

impl TextState {
    fn next_raw(&mut self, ctx: &Ctx) -> Result<Option<RawChunk>> {
        match self {
            TextState::Csv(s) => s.next_raw(ctx),
            TextState::Ndjson(s) => s.next_raw(ctx),
        }
    }
}

/// Splits a text file into chunks on a thread of its own and types each chunk on the
/// rayon pool; the receivers come out in file order. The thread stops at the end of the
/// file, at the first error, or when the reader is dropped.
fn spawn_text(ctx: &Arc<Ctx>, mut state: TextState) -> Result<InFlight> {
    let ahead = 2 * rayon::current_num_threads().max(1);
    let (tx, rx) = std::sync::mpsc::sync_channel(ahead);
    let ctx = Arc::clone(ctx);
    std::thread::Builder::new()
        .name("fabrik-source".to_string())
        .spawn(move || {
            loop {
                let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
                let next = state.next_raw(&ctx);
                let last = !matches!(next, Ok(Some(_)));
                match next {
                    Ok(Some(raw)) => {
                        let ctx = Arc::clone(&ctx);
                        rayon::spawn(move || {
                            let _ = done_tx.send(raw.finish(&ctx));
                        });
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = done_tx.send(Err(e));
                    }
                }
                if tx.send(done_rx).is_err() || last {
                    break;
                }
            }
        })
        .map_err(|e| Error::Io {
            path: PathBuf::from("<thread>"),
            source: e,
        })?;
    Ok(rx)
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
        let ctx = Arc::new(Ctx {
            table,
            path: path.to_path_buf(),
            source: path.display().to_string(),
            opts,
        });
        let inner = match format {
            SourceFormat::Csv => Inner::Text(spawn_text(
                &ctx,
                TextState::Csv(Box::new(CsvState::open(&ctx)?)),
            )?),
            SourceFormat::Ndjson => Inner::Text(spawn_text(
                &ctx,
                TextState::Ndjson(Box::new(NdjsonState::open(&ctx)?)),
            )?),
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
            Inner::Text(rx) => match rx.recv() {
                Err(_) => Ok(None),
                Ok(chunk) => match chunk.recv() {
                    Ok(r) => r.map(Some),
                    Err(_) => Err(Error::Read {
                        path: self.ctx.path.clone(),
                        line: None,
                        why: "internal error: a chunk was lost by its worker (a bug in fabrik-lake, please report it)".to_string(),
                    }),
                },
            },
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

/// Bytes read from a text file at a time.
const READ_BYTES: usize = 4 << 20;

/// The CSV records of one chunk, split into fields but not yet typed: the chunk's input
/// bytes (for the raw text of rejects), the unescaped fields one after the other, and per
/// record where its fields end.
struct CsvChunk {
    /// The input bytes of the chunk's records (and any blank lines between them).
    input: Vec<u8>,
    /// The fields of every record, unescaped, back to back.
    fields: Vec<u8>,
    /// Field end offsets, relative to the start of the record's fields.
    ends: Vec<usize>,
    /// Per record: its input span, the offset of its fields, the index of its first end,
    /// its field count, its line and its row.
    records: Vec<CsvRecord>,
    /// Rows of the chunk (records).
    rows_read: u64,
}

#[derive(Debug, Clone, Copy)]
struct CsvRecord {
    start: usize,
    end: usize,
    fields_at: usize,
    ends_at: usize,
    count: usize,
    line: u64,
    row: u64,
}

impl CsvChunk {
    /// The record's raw text (without line terminators, lossy UTF-8) and its 1-based line.
    fn raw(&self, r: &CsvRecord) -> (String, u64) {
        let bytes = &self.input[r.start..r.end];
        let lead = bytes
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .filter(|b| **b == b'\n')
            .count() as u64;
        (
            String::from_utf8_lossy(trim_terminators(bytes)).into_owned(),
            r.line + lead,
        )
    }

    /// Field `f` of record `r` (raw bytes).
    fn field(&self, r: &CsvRecord, f: usize) -> &[u8] {
        let lo = if f == 0 {
            0
        } else {
            self.ends[r.ends_at + f - 1]
        };
        let hi = self.ends[r.ends_at + f];
        &self.fields[r.fields_at + lo..r.fields_at + hi]
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

/// The CSV reader: splits the input into records with `csv_core` (RFC 4180 quoting,
/// CR/LF/CRLF terminators, blank lines skipped); the fields are typed later, in parallel.
struct CsvState {
    input: Box<dyn BufRead + Send>,
    parser: csv_core::Reader,
    /// Unparsed input; `buf[0]` is the first byte of the next chunk.
    buf: Vec<u8>,
    eof: bool,
    /// For each table field, its index in the header.
    mapping: Vec<Option<usize>>,
    fields: usize,
    next_row: u64,
    /// The parser reached the end of the input.
    done: bool,
}

impl CsvState {
    fn open(ctx: &Ctx) -> Result<CsvState> {
        let input = open_text(&ctx.path, SourceFormat::Csv)?;
        let parser = csv_core::ReaderBuilder::new()
            .delimiter(ctx.opts.delimiter)
            .build();
        let mut state = CsvState {
            input,
            parser,
            buf: Vec::new(),
            eof: false,
            mapping: Vec::new(),
            fields: 0,
            next_row: 0,
            done: false,
        };
        let header = state.split(ctx, 1)?;
        let Some(r) = header.records.first() else {
            return Err(Error::Read {
                path: ctx.path.clone(),
                line: Some(1),
                why: "the file is empty: a CSV file needs a header line naming its columns"
                    .to_string(),
            });
        };
        let names: Vec<String> = (0..r.count)
            .map(|f| {
                String::from_utf8_lossy(header.field(r, f))
                    .trim()
                    .to_string()
            })
            .collect();
        state.fields = names.len();
        state.mapping = map_columns(ctx, &names)?;
        state.next_row = 0;
        Ok(state)
    }

    /// Reads more input into `buf`; false at the end of the input.
    fn fill(&mut self, ctx: &Ctx) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        // `read_to_end` appends without zeroing the buffer first.
        let n = loop {
            match (&mut self.input)
                .take(READ_BYTES as u64)
                .read_to_end(&mut self.buf)
            {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::Read {
                        path: ctx.path.clone(),
                        line: Some(self.parser.line()),
                        why: e.to_string(),
                    });
                }
            }
        };
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// Splits up to `cap` records off the input.
    fn split(&mut self, ctx: &Ctx, cap: usize) -> Result<CsvChunk> {
        use csv_core::ReadRecordResult as R;
        let mut fields = vec![0u8; 1 << 16];
        let mut ends = vec![0usize; 1 << 12];
        let (mut nfields, mut nends) = (0usize, 0usize);
        let mut records = Vec::new();
        let mut pos = 0usize;
        let mut start = 0usize;
        // csv_core counts lines from 1: the line the next record starts on, before any
        // blank lines (`CsvChunk::raw` adds those).
        let mut line = self.parser.line();
        let (mut rec_fields, mut rec_ends) = (0usize, 0usize);
        while records.len() < cap && !self.done {
            if pos == self.buf.len() && !self.eof {
                self.fill(ctx)?;
                continue;
            }
            let (res, nin, nout, nend) = self.parser.read_record(
                &self.buf[pos..],
                &mut fields[nfields..],
                &mut ends[nends..],
            );
            pos += nin;
            nfields += nout;
            nends += nend;
            match res {
                R::InputEmpty => {
                    if self.eof && pos == self.buf.len() {
                        // csv_core reads an empty input as the end: loop to flush.
                        continue;
                    }
                }
                R::OutputFull => fields.resize(fields.len() * 2, 0),
                R::OutputEndsFull => ends.resize(ends.len() * 2, 0),
                R::Record => {
                    records.push(CsvRecord {
                        start,
                        end: pos,
                        fields_at: rec_fields,
                        ends_at: rec_ends,
                        count: nends - rec_ends,
                        line,
                        row: self.next_row,
                    });
                    self.next_row += 1;
                    start = pos;
                    line = self.parser.line();
                    rec_fields = nfields;
                    rec_ends = nends;
                }
                R::End => self.done = true,
            }
        }
        // The chunk keeps its input (for rejects' raw text); the rest starts the next one.
        let rest = self.buf.split_off(pos);
        let input = std::mem::replace(&mut self.buf, rest);
        fields.truncate(nfields);
        ends.truncate(nends);
        let rows_read = records.len() as u64;
        Ok(CsvChunk {
            input,
            fields,
            ends,
            records,
            rows_read,
        })
    }

    fn next_raw(&mut self, ctx: &Ctx) -> Result<Option<RawChunk>> {
        let chunk = self.split(ctx, ctx.opts.batch_rows)?;
        if chunk.records.is_empty() {
            return Ok(None);
        }
        Ok(Some(RawChunk::Csv {
            chunk,
            mapping: self.mapping.clone(),
            fields: self.fields,
        }))
    }
}

/// Types one CSV chunk: structure checks, text columns, then the common text path.
fn finish_csv(
    ctx: &Ctx,
    chunk: CsvChunk,
    mapping: &[Option<usize>],
    fields: usize,
) -> Result<SourceBatch> {
    let mut rejects = Vec::new();
    let structure = |r: &CsvRecord, column: Option<String>, reason: String| {
        let (raw, line) = chunk.raw(r);
        Reject {
            source: ctx.source.clone(),
            line: Some(line),
            row: r.row,
            column,
            rule: STRUCTURE_RULE.to_string(),
            reason,
            raw: Some(raw),
        }
    };
    let mut good: Vec<usize> = Vec::with_capacity(chunk.records.len());
    for (i, r) in chunk.records.iter().enumerate() {
        if r.count != fields {
            rejects.push(structure(
                r,
                None,
                format!("expected {fields} fields, found {}", r.count),
            ));
            continue;
        }
        good.push(i);
    }
    // Text that is not UTF-8 is rare: the columns are built (and validated by Arrow) at
    // once; only when that fails are the records checked one by one.
    let columns = match csv_columns(ctx, &chunk, &good, mapping) {
        Ok(columns) => columns,
        Err(_) => {
            good.retain(|&i| {
                let r = &chunk.records[i];
                let bad = ctx.table.fields().iter().zip(mapping).find(|(_, m)| {
                    m.is_some_and(|f| std::str::from_utf8(chunk.field(r, f)).is_err())
                });
                match bad {
                    Some((spec, _)) => {
                        rejects.push(structure(
                            r,
                            Some(spec.name.to_string()),
                            format!("{}: the text is not valid UTF-8", spec.name),
                        ));
                        false
                    }
                    None => true,
                }
            });
            csv_columns(ctx, &chunk, &good, mapping)?
        }
    };
    let origins = CsvOrigins {
        chunk: &chunk,
        good: &good,
    };
    finish_text_chunk(ctx, columns, &origins, rejects, chunk.rows_read)
}

/// The text columns of the records `good` of a CSV chunk (table field order).
fn csv_columns(
    ctx: &Ctx,
    chunk: &CsvChunk,
    good: &[usize],
    mapping: &[Option<usize>],
) -> Result<Vec<ArrayRef>> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(mapping.len());
    for (spec, m) in ctx.table.fields().iter().zip(mapping) {
        // Numbers and plain RFC 3339 times are parsed straight from the fields when every
        // value of the chunk parses; otherwise the column stays text and the general path
        // parses and reports each value.
        if let Some(f) = m
            && let Some(typed) = typed_fields(spec.ty, chunk, good, *f)
        {
            columns.push(typed);
            continue;
        }
        let column: ArrayRef = match m {
            None => new_null_array(&DataType::Utf8, good.len()),
            Some(f) => {
                let mut offsets: Vec<i32> = Vec::with_capacity(good.len() + 1);
                offsets.push(0);
                let total: usize = good
                    .iter()
                    .map(|&i| chunk.field(&chunk.records[i], *f).len())
                    .sum();
                let mut values: Vec<u8> = Vec::with_capacity(total);
                for &i in good {
                    values.extend_from_slice(chunk.field(&chunk.records[i], *f));
                    let end = i32::try_from(values.len()).map_err(|_| Error::Read {
                        path: ctx.path.clone(),
                        line: Some(chunk.records[i].line),
                        why: "a chunk's column holds more than 2 GiB of text; lower batch_rows"
                            .to_string(),
                    })?;
                    offsets.push(end);
                }
                Arc::new(StringArray::try_new(
                    OffsetBuffer::new(offsets.into()),
                    values.into(),
                    None,
                )?)
            }
        };
        columns.push(column);
    }
    Ok(columns)
}

/// Field `f` of the records `good` parsed as `ty`, when every value parses (an empty field
/// is null, as in fabrik-model's coercion); `None` for text or when a value does not parse.
/// Numbers go through Arrow's parsers, the very ones its `cast` uses.
fn typed_fields(ty: FieldType, chunk: &CsvChunk, good: &[usize], f: usize) -> Option<ArrayRef> {
    use datafusion::arrow::compute::kernels::cast_utils::Parser;
    use datafusion::arrow::datatypes::{
        ArrowPrimitiveType, Float64Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
        UInt8Type,
    };
    fn parse<T: ArrowPrimitiveType>(
        chunk: &CsvChunk,
        good: &[usize],
        f: usize,
        p: impl Fn(&str) -> Option<T::Native>,
    ) -> Option<PrimitiveArray<T>> {
        let mut b = PrimitiveBuilder::<T>::with_capacity(good.len());
        for &i in good {
            let bytes = chunk.field(&chunk.records[i], f);
            if bytes.is_empty() {
                b.append_null();
            } else {
                b.append_value(p(std::str::from_utf8(bytes).ok()?)?);
            }
        }
        Some(b.finish())
    }
    Some(match ty {
        FieldType::Text => return None,
        FieldType::Timestamp => Arc::new(
            parse::<TimestampMicrosecondType>(
                chunk,
                good,
                f,
                fabrik_model::time::parse_rfc3339_micros,
            )?
            .with_timezone(fabrik_model::schema::UTC),
        ),
        FieldType::Float64 => Arc::new(parse::<Float64Type>(chunk, good, f, Float64Type::parse)?),
        FieldType::UInt8 => Arc::new(parse::<UInt8Type>(chunk, good, f, UInt8Type::parse)?),
        FieldType::Int16 => Arc::new(parse::<Int16Type>(chunk, good, f, Int16Type::parse)?),
        FieldType::Int32 => Arc::new(parse::<Int32Type>(chunk, good, f, Int32Type::parse)?),
        FieldType::Int64 => Arc::new(parse::<Int64Type>(chunk, good, f, Int64Type::parse)?),
    })
}

/// Where the rows of a text chunk came from, asked only for rejected rows.
trait Origins {
    /// The 0-based source row of text row `i`.
    fn row(&self, i: usize) -> u64;
    /// The raw text and 1-based line of text row `i`.
    fn raw(&self, i: usize) -> (String, u64);
    /// The source rows of all text rows.
    fn rows(&self) -> UInt64Array;
}

struct CsvOrigins<'a> {
    chunk: &'a CsvChunk,
    good: &'a [usize],
}

impl Origins for CsvOrigins<'_> {
    fn row(&self, i: usize) -> u64 {
        self.chunk.records[self.good[i]].row
    }
    fn raw(&self, i: usize) -> (String, u64) {
        self.chunk.raw(&self.chunk.records[self.good[i]])
    }
    fn rows(&self) -> UInt64Array {
        UInt64Array::from_iter_values(self.good.iter().map(|&i| self.chunk.records[i].row))
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

/// Lines of an NDJSON file, not yet parsed: their bytes back to back, where each ends,
/// each line's number.
struct NdjsonChunk {
    bytes: Vec<u8>,
    /// Per data line: its span in `bytes`, its 1-based line, its row.
    lines: Vec<(usize, usize, u64, u64)>,
}

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

    fn next_raw(&mut self, ctx: &Ctx) -> Result<Option<RawChunk>> {
        let cap = ctx.opts.batch_rows;
        let mut chunk = NdjsonChunk {
            bytes: Vec::new(),
            lines: Vec::new(),
        };
        while chunk.lines.len() < cap {
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
            let start = chunk.bytes.len();
            chunk.bytes.extend_from_slice(bytes);
            chunk
                .lines
                .push((start, chunk.bytes.len(), self.line, self.next_row));
            self.next_row += 1;
        }
        Ok((!chunk.lines.is_empty()).then_some(RawChunk::Ndjson(chunk)))
    }
}

/// Parses the JSON lines of one chunk into text columns, then the common text path.
fn finish_ndjson(ctx: &Ctx, chunk: NdjsonChunk) -> Result<SourceBatch> {
    let fields = ctx.table.fields();
    let mut builders: Vec<StringBuilder> = fields.iter().map(|_| StringBuilder::new()).collect();
    let mut good = Vec::with_capacity(chunk.lines.len());
    let mut rejects = Vec::new();
    for (i, &(start, end, line, row)) in chunk.lines.iter().enumerate() {
        let bytes = &chunk.bytes[start..end];
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
                    raw: Some(String::from_utf8_lossy(bytes).into_owned()),
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
        good.push(i);
    }
    let columns = builders
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    let rows_read = chunk.lines.len() as u64;
    let origins = NdjsonOrigins {
        chunk: &chunk,
        good: &good,
    };
    finish_text_chunk(ctx, columns, &origins, rejects, rows_read)
}

struct NdjsonOrigins<'a> {
    chunk: &'a NdjsonChunk,
    good: &'a [usize],
}

impl Origins for NdjsonOrigins<'_> {
    fn row(&self, i: usize) -> u64 {
        self.chunk.lines[self.good[i]].3
    }
    fn raw(&self, i: usize) -> (String, u64) {
        let (start, end, line, _) = self.chunk.lines[self.good[i]];
        (
            String::from_utf8_lossy(&self.chunk.bytes[start..end]).into_owned(),
            line,
        )
    }
    fn rows(&self) -> UInt64Array {
        UInt64Array::from_iter_values(self.good.iter().map(|&i| self.chunk.lines[i].3))
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

/// A chunk of a text file split into records but not typed yet.
enum RawChunk {
    Csv {
        chunk: CsvChunk,
        mapping: Vec<Option<usize>>,
        fields: usize,
    },
    Ndjson(NdjsonChunk),
}

impl RawChunk {
    fn finish(self, ctx: &Ctx) -> Result<SourceBatch> {
        match self {
            RawChunk::Csv {
                chunk,
                mapping,
                fields,
            } => finish_csv(ctx, chunk, &mapping, fields),
            RawChunk::Ndjson(chunk) => finish_ndjson(ctx, chunk),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Text chunks: timestamps, parse, validate, split.

/// Parses, validates and splits one chunk of text rows (`columns`: the table's fields in
/// order, `Utf8`; `origins`: where each row came from; `rejects`: structural rejects
/// already found).
fn finish_text_chunk(
    ctx: &Ctx,
    mut columns: Vec<ArrayRef>,
    origins: &dyn Origins,
    mut rejects: Vec<Reject>,
    rows_read: u64,
) -> Result<SourceBatch> {
    let table = ctx.table;
    let n = columns.first().map_or(0, |c| c.len());
    let mut reasons: HashMap<(usize, &'static str), String> = HashMap::new();
    for (spec, column) in table.fields().iter().zip(columns.iter_mut()) {
        if spec.ty == FieldType::Timestamp && column.data_type() == &DataType::Utf8 {
            // Plain RFC 3339 with offsets (the common case) is typed here, in one pass.
            if let Some(typed) = fabrik_model::parse_rfc3339_column(column.as_string::<i32>()) {
                *column = typed;
                continue;
            }
            let (normalised, why) =
                normalise_timestamps(spec, column.as_string::<i32>(), &ctx.opts.time);
            *column = Arc::new(normalised);
            reasons.extend(why.into_iter().map(|(row, r)| ((row, spec.name), r)));
        }
    }
    // Text columns, but for the timestamp columns typed above.
    let schema = text_schema(table);
    let schema = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .zip(&columns)
            .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
            .collect::<Vec<_>>(),
    ));
    let options = RecordBatchOptions::new().with_row_count(Some(n));
    let text = RecordBatch::try_new_with_options(schema, columns, &options)?;
    let (typed, validation) = validate_text_batch(table, &text, &ctx.opts.validate)?;
    let mut raw_cache: HashMap<usize, (String, u64)> = HashMap::new();
    for v in &validation.violations {
        let (raw, line) = raw_cache
            .entry(v.row)
            .or_insert_with(|| origins.raw(v.row))
            .clone();
        let reason = match reasons.get(&(v.row, v.column)) {
            Some(r) if v.rule == PARSE_RULE => r.clone(),
            _ => v.reason.clone(),
        };
        rejects.push(Reject {
            source: ctx.source.clone(),
            line: Some(line),
            row: origins.row(v.row),
            column: Some(v.column.to_string()),
            rule: v.rule.to_string(),
            reason,
            raw: Some(raw),
        });
    }
    rejects.sort_by_key(|r| r.row);
    split(
        ctx,
        &typed,
        &origins.rows(),
        &validation.invalid,
        rejects,
        rows_read,
    )
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
    if invalid.true_count() == 0 {
        return Ok(SourceBatch {
            batch: strict(ctx.table.schema(), typed.clone())?,
            rows: rows.clone(),
            rejects,
            rows_read,
        });
    }
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
    // Most files send RFC 3339 with an offset: then nothing is rewritten or copied.
    let needs = |s: &str| {
        let s = s.trim();
        let digits = s.strip_prefix('-').unwrap_or(s);
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            || (s.len() >= 19 && !has_offset(s))
    };
    if !text.iter().flatten().any(needs) {
        return (text.clone(), Vec::new());
    }
    let mut why = Vec::new();
    let out: StringArray = text
        .iter()
        .enumerate()
        .map(|(row, v)| {
            let s = v?;
            match normalise_one(s.trim(), time) {
                Normal::Keep => Some(s.to_string()),
                Normal::Rfc3339(us) => Some(fabrik_model::time::format_micros(us)),
                Normal::Fail(reason) => {
                    why.push((row, format!("{}: '{s}' {reason}", spec.name)));
                    Some(s.to_string())
                }
            }
        })
        .collect();
    (out, why)
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
