//! Ingest: files into a lake table, every row accounted for.
//!
//! For each input file: its content hash names the ingest (`fabrik-ingest:<table>:<sha256>`,
//! plus a part number for large files); a part whose id is already committed to the table
//! is skipped, so re-running an ingest is a no-op. The file is read in chunks
//! ([`crate::source`]), each chunk validated; rejects are appended to `<table>__rejects`,
//! accepted rows are written to the table with the table's dedup policy, each part in one
//! Delta commit that carries its id. Memory is bounded by the part size, not the file size.
//!
//! The counts reconcile: `rows_read == accepted + rejected + duplicates` for every file.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{
    RecordBatch, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use fabrik_model::Table;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::source::remote::{self, StoreOptions};
use crate::source::{Reject, SourceOptions, SourceReader};
use crate::table::{Lake, RejectsTable};

/// Rows of accepted data held in memory before they are committed as one part.
pub const DEFAULT_PART_ROWS: usize = 4 << 20;

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// How to read the files (format, delimiter, time zones, validation options).
    pub source: SourceOptions,
    /// Accepted rows per commit; bounds memory (default [`DEFAULT_PART_ROWS`]).
    pub part_rows: usize,
    /// Settings of the object stores of URL inputs, on top of the environment (default:
    /// the environment only; see [`crate::source::remote`]).
    pub store: StoreOptions,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            source: SourceOptions::default(),
            part_rows: DEFAULT_PART_ROWS,
            store: StoreOptions::default(),
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The file; for an object-store input, its URL (`s3://bucket/key`) as a path, not a
    /// local file (see `url`).
    pub path: PathBuf,
    /// The object-store URL the file was read from; `None` for a local file.
    pub url: Option<String>,
    /// SHA-256 of its content, hex.
    pub content_hash: String,
    /// Data rows read (0 when the file was skipped).
    pub rows_read: u64,
    /// Rows written to the table.
    pub accepted: u64,
    /// Rows sent to the rejects table.
    pub rejected: u64,
    /// Rows not written because a row with the same key was already there (or earlier in
    /// this ingest), per the table's dedup policy.
    pub duplicates: u64,
    /// The file's content had been ingested into this table before: nothing was done.
    pub already_ingested: bool,
}

/// What an ingest did.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestReport {
    /// The table ingested into.
    pub table: Table,
    /// One entry per input file, in input order.
    pub files: Vec<FileReport>,
    /// Rejected rows per rule id (`parse`, `structure`, or a fabrik-model rule).
    pub rejected_by_rule: BTreeMap<String, u64>,
    /// Parquet files added to the table.
    pub files_written: u64,
    /// Bytes of Parquet added to the table.
    pub bytes_written: u64,
    /// The table's version after the ingest.
    pub version: i64,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl IngestReport {
    /// Data rows read, all files.
    pub fn rows_read(&self) -> u64 {
        self.files.iter().map(|f| f.rows_read).sum()
    }
    /// Rows written, all files.
    pub fn accepted(&self) -> u64 {
        self.files.iter().map(|f| f.accepted).sum()
    }
    /// Rows rejected, all files.
    pub fn rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rejected).sum()
    }
    /// Duplicate rows skipped, all files.
    pub fn duplicates(&self) -> u64 {
        self.files.iter().map(|f| f.duplicates).sum()
    }
    /// Whether `rows_read == accepted + rejected + duplicates` (always true; checked by tests).
    pub fn reconciles(&self) -> bool {
        self.rows_read() == self.accepted() + self.rejected() + self.duplicates()
    }
}

/// Ingests files (paths, directories, globs or object-store URLs, see
/// [`crate::source::remote`]) into `table` of `lake`.
///
/// `progress` is called after every committed part with the file (a URL input's URL, as a
/// path) and the rows read so far.
pub async fn ingest(
    lake: &Lake,
    table: Table,
    inputs: &[String],
    opts: &IngestOptions,
    progress: &mut (dyn FnMut(&Path, u64) + Send),
) -> Result<IngestReport> {
    let started = Instant::now();
    // Local files and objects at URLs; an object is downloaded (spooled) when its turn comes.
    let paths = remote::resolve(inputs, &opts.store).await?;
    let target = lake.table(table).await?;
    let rejects_table = lake.rejects(table).await?;
    let mut report = IngestReport {
        table,
        files: Vec::with_capacity(paths.len()),
        rejected_by_rule: BTreeMap::new(),
        files_written: 0,
        bytes_written: 0,
        version: target.version().await?,
        elapsed: Duration::ZERO,
    };
    for input in paths {
        let fetched = input.fetch().await?;
        let (path, hash) = (fetched.path(), fetched.content_hash().to_string());
        let base_id = format!("fabrik-ingest:{table}:{hash}");
        let mut file = FileReport {
            path: fetched.report_path(),
            url: fetched.url().map(str::to_string),
            content_hash: hash,
            rows_read: 0,
            accepted: 0,
            rejected: 0,
            duplicates: 0,
            already_ingested: false,
        };
        // The last part's id marks the whole file as done.
        if target.has_transaction(&format!("{base_id}:done")).await? {
            file.already_ingested = true;
            report.files.push(file);
            continue;
        }
        let ingest_id = base_id.clone();
        let reader = fetched.relabel(SourceReader::open(table, path, &opts.source))?;
        let mut part = 0usize;
        let mut pending: Vec<RecordBatch> = Vec::new();
        let mut pending_rows = 0usize;
        let mut pending_rejects: Vec<Reject> = Vec::new();
        let mut pending_read = 0u64;
        let mut chunks = reader.peekable();
        while let Some(chunk) = chunks.next() {
            let chunk = chunk?;
            pending_read += chunk.rows_read;
            pending_rows += chunk.batch.num_rows();
            if chunk.batch.num_rows() > 0 {
                pending.push(chunk.batch);
            }
            pending_rejects.extend(chunk.rejects);
            let last = chunks.peek().is_none();
            if pending_rows >= opts.part_rows || last {
                let app_id = if last {
                    format!("{base_id}:done")
                } else {
                    format!("{base_id}:part{part}")
                };
                commit_part(
                    &target,
                    &rejects_table,
                    &ingest_id,
                    &app_id,
                    std::mem::take(&mut pending),
                    std::mem::take(&mut pending_rejects),
                    pending_read,
                    &mut file,
                    &mut report,
                )
                .await?;
                pending_rows = 0;
                pending_read = 0;
                part += 1;
                progress(&file.path, file.rows_read);
            }
        }
        if part == 0 {
            // An empty file (a header only): mark it done so a re-run skips it.
            commit_part(
                &target,
                &rejects_table,
                &ingest_id,
                &format!("{base_id}:done"),
                Vec::new(),
                Vec::new(),
                0,
                &mut file,
                &mut report,
            )
            .await?;
        }
        report.files.push(file);
    }
    report.version = target.version().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn commit_part(
    target: &crate::table::LakeTable,
    rejects_table: &RejectsTable,
    ingest_id: &str,
    app_id: &str,
    accepted: Vec<RecordBatch>,
    rejects: Vec<Reject>,
    rows_read: u64,
    file: &mut FileReport,
    report: &mut IngestReport,
) -> Result<()> {
    let rejected_rows = distinct_rows(&rejects);
    for r in &rejects {
        *report.rejected_by_rule.entry(r.rule.clone()).or_default() += 1;
    }
    // Rejects first: if the process dies between the two commits, the re-run finds the
    // rejects' id committed (append skips it) and writes only the data.
    if !rejects.is_empty() {
        rejects_table
            .append(rejects_batch(ingest_id, &rejects)?, app_id)
            .await?;
    }
    let accepted_rows: u64 = accepted.iter().map(|b| b.num_rows() as u64).sum();
    let outcome = target.write(accepted, app_id).await?;
    file.rows_read += rows_read;
    file.rejected += rejected_rows;
    if outcome.skipped_as_already_committed {
        // This part was committed by an earlier, interrupted run of the same ingest: its
        // rows are in the table already.
        file.duplicates += accepted_rows;
        return Ok(());
    }
    file.accepted += outcome.rows_written;
    file.duplicates += outcome.duplicates_skipped;
    report.files_written += outcome.files_added;
    report.bytes_written += outcome.bytes_added;
    if outcome.rows_written + outcome.duplicates_skipped != accepted_rows {
        return Err(Error::Unreconciled {
            table: target.table().name(),
            app_id: app_id.to_string(),
            accepted: accepted_rows,
            written: outcome.rows_written,
            duplicates: outcome.duplicates_skipped,
        });
    }
    Ok(())
}

fn distinct_rows(rejects: &[Reject]) -> u64 {
    let mut rows: Vec<u64> = rejects.iter().map(|r| r.row).collect();
    rows.sort_unstable();
    rows.dedup();
    rows.len() as u64
}

/// The rejects of one part as a batch of the rejects table's schema.
fn rejects_batch(ingest_id: &str, rejects: &[Reject]) -> Result<RecordBatch> {
    let now = chrono::Utc::now().timestamp_micros();
    let mut id = StringBuilder::new();
    let mut source = StringBuilder::new();
    let mut line = UInt64Builder::new();
    let mut row = UInt64Builder::new();
    let mut column = StringBuilder::new();
    let mut rule = StringBuilder::new();
    let mut reason = StringBuilder::new();
    let mut raw = StringBuilder::new();
    let mut at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for r in rejects {
        id.append_value(ingest_id);
        source.append_value(&r.source);
        line.append_option(r.line);
        row.append_value(r.row);
        column.append_option(r.column.as_deref());
        rule.append_value(&r.rule);
        reason.append_value(&r.reason);
        raw.append_option(r.raw.as_deref());
        at.append_value(now);
    }
    Ok(RecordBatch::try_new(
        RejectsTable::schema(),
        vec![
            std::sync::Arc::new(id.finish()),
            std::sync::Arc::new(source.finish()),
            std::sync::Arc::new(line.finish()),
            std::sync::Arc::new(row.finish()),
            std::sync::Arc::new(column.finish()),
            std::sync::Arc::new(rule.finish()),
            std::sync::Arc::new(reason.finish()),
            std::sync::Arc::new(raw.finish()),
            std::sync::Arc::new(at.finish()),
        ],
    )?)
}

/// SHA-256 of a file's content, hex, read in 1 MiB blocks.
pub fn content_hash(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
