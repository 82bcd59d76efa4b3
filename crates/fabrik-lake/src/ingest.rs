//! Ingest: files into a lake table, every row accounted for.
//!
//! For each input file: its content hash names the ingest (`fabrik-ingest:<table>:<blake3>`,
//! plus a part number for large files); a part whose id is already committed to the table
//! is skipped, so re-running an ingest is a no-op. The file is read in chunks
//! ([`crate::source`], typed and validated in parallel); rejects are appended to
//! `<table>__rejects`, accepted rows are written to the table with the table's dedup policy,
//! each part in one Delta commit that carries its id. Reading and writing overlap: while one
//! part is written and committed, the next one is read. Memory is bounded by two parts
//! ([`IngestOptions::part_rows`]) and the chunks in flight, not by the file size.
//!
//! A file under 64 MiB is hashed before it is read (a re-run skips it without reading it); a
//! larger one is hashed on a thread of its own while its reading starts.
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

use crate::error::{Error, Result};
use crate::source::remote::{self, StoreOptions};
use crate::source::{Reject, SourceBatch, SourceOptions, SourceReader};
use crate::table::{Lake, LakeTable, RejectsTable};

/// Rows of accepted data held in memory before they are committed as one part.
pub const DEFAULT_PART_ROWS: usize = 2 << 20;

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
    /// BLAKE3 hash of its content, hex (`b3sum` prints the same).
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
        // An object is downloaded (and hashed on the way) first; a local file is read in
        // place.
        let (report_path, url, local, fetched) = match &input {
            remote::Input::Local(p) => (p.clone(), None, p.clone(), None),
            remote::Input::Object(o) => {
                let f = o.fetch().await?;
                let local = f.path().to_path_buf();
                (f.report_path(), f.url().map(str::to_string), local, Some(f))
            }
        };
        let hash = match &fetched {
            Some(f) => Hash::Ready(f.content_hash().to_string()),
            None => {
                let size = std::fs::metadata(&local).map_or(0, |m| m.len());
                if size < HASH_FIRST_BYTES {
                    Hash::Ready(content_hash(&local)?)
                } else {
                    let p = local.clone();
                    let task = tokio::task::spawn_blocking(move || content_hash(&p));
                    Hash::Pending(local.clone(), task)
                }
            }
        };
        let mut file = FileReport {
            path: report_path,
            url,
            content_hash: String::new(),
            rows_read: 0,
            accepted: 0,
            rejected: 0,
            duplicates: 0,
            already_ingested: false,
        };
        // The last part's id marks the whole file as done.
        if let Hash::Ready(h) = &hash {
            file.content_hash.clone_from(h);
            if target.has_transaction(&done_id(table, h)).await? {
                file.already_ingested = true;
                report.files.push(file);
                continue;
            }
        }
        let opened = SourceReader::open(table, &local, &opts.source);
        let chunks: Chunks = match &fetched {
            Some(f) => Box::new(f.relabel(opened)?),
            None => Box::new(opened?),
        };
        let parts = Parts {
            target: &target,
            rejects: &rejects_table,
            table,
            opts,
        };
        parts
            .ingest_file(chunks, hash, &mut file, &mut report, progress)
            .await?;
        report.files.push(file);
        drop(fetched);
    }
    report.version = target.version().await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Files smaller than this are hashed before they are read, so that a re-run skips them
/// without reading them; larger ones are hashed on a thread of their own while their
/// reading starts (the hash is needed only at the first commit).
const HASH_FIRST_BYTES: u64 = 64 << 20;

/// The chunks of one input file.
type Chunks = Box<dyn Iterator<Item = Result<SourceBatch>> + Send>;

/// The content hash of an input: known, or being computed.
enum Hash {
    Ready(String),
    /// The file being hashed, and the task hashing it.
    Pending(PathBuf, tokio::task::JoinHandle<Result<String>>),
}

impl Hash {
    async fn get(&mut self) -> Result<String> {
        let h = match self {
            Hash::Ready(h) => return Ok(h.clone()),
            Hash::Pending(path, task) => task.await.map_err(|e| Error::Read {
                path: path.clone(),
                line: None,
                why: format!("internal error: hashing the file failed: {e}"),
            })??,
        };
        *self = Hash::Ready(h.clone());
        Ok(h)
    }
}

fn done_id(table: Table, hash: &str) -> String {
    format!("fabrik-ingest:{table}:{hash}:done")
}

/// What one ingest writes to: the table, its rejects table, the options.
struct Parts<'a> {
    target: &'a LakeTable,
    rejects: &'a RejectsTable,
    table: Table,
    opts: &'a IngestOptions,
}

impl Parts<'_> {
    /// Reads one file's chunks and commits them part by part. The chunks are read on
    /// threads of their own (see [`SourceReader`]) and forwarded here; while one part is
    /// being written and committed, the next one is read. Parts commit in order.
    async fn ingest_file(
        &self,
        chunks: Chunks,
        mut hash: Hash,
        file: &mut FileReport,
        report: &mut IngestReport,
        progress: &mut (dyn FnMut(&Path, u64) + Send),
    ) -> Result<()> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<SourceBatch>>(4);
        std::thread::Builder::new()
            .name("fabrik-ingest-read".to_string())
            .spawn(move || {
                for chunk in chunks {
                    let stop = chunk.is_err();
                    if tx.blocking_send(chunk).is_err() || stop {
                        break;
                    }
                }
            })
            .map_err(|source| Error::Io {
                path: file.path.clone(),
                source,
            })?;
        let mut inflight: Option<tokio::task::JoinHandle<Result<PartOutcome>>> = None;
        let result: Result<()> = async {
            let mut part = 0usize;
            let mut base: Option<String> = None;
            let mut pending: Vec<RecordBatch> = Vec::new();
            let mut pending_rows = 0usize;
            let mut pending_rejects: Vec<Reject> = Vec::new();
            let mut pending_read = 0u64;
            loop {
                let next = rx.recv().await;
                let last = next.is_none();
                if let Some(chunk) = next {
                    let chunk = chunk?;
                    pending_read += chunk.rows_read;
                    pending_rows += chunk.batch.num_rows();
                    if chunk.batch.num_rows() > 0 {
                        pending.push(chunk.batch);
                    }
                    pending_rejects.extend(chunk.rejects);
                }
                if pending_rows < self.opts.part_rows && !last {
                    continue;
                }
                let base_id = match &base {
                    Some(b) => b.clone(),
                    None => {
                        let h = hash.get().await?;
                        file.content_hash.clone_from(&h);
                        if self
                            .target
                            .has_transaction(&done_id(self.table, &h))
                            .await?
                        {
                            // Ingested before (found once the hash was known): stop reading.
                            file.already_ingested = true;
                            return Ok(());
                        }
                        let b = format!("fabrik-ingest:{}:{h}", self.table);
                        base = Some(b.clone());
                        b
                    }
                };
                if let Some(task) = inflight.take() {
                    joined(task, file).await?.apply(file, report);
                    progress(&file.path, file.rows_read);
                }
                let app_id = if last {
                    format!("{base_id}:done")
                } else {
                    format!("{base_id}:part{part}")
                };
                inflight = Some(tokio::spawn(commit_part(
                    self.target.clone(),
                    self.rejects.clone(),
                    base_id,
                    app_id,
                    std::mem::take(&mut pending),
                    std::mem::take(&mut pending_rejects),
                    pending_read,
                )));
                pending_rows = 0;
                pending_read = 0;
                part += 1;
                if last {
                    return Ok(());
                }
            }
        }
        .await;
        // The part being written is finished (or fails) before this returns, whatever
        // happened to the reading.
        let finished = match inflight.take() {
            Some(task) => Some(joined(task, file).await),
            None => None,
        };
        result?;
        if let Some(outcome) = finished {
            outcome?.apply(file, report);
            progress(&file.path, file.rows_read);
        }
        Ok(())
    }
}

async fn joined(
    task: tokio::task::JoinHandle<Result<PartOutcome>>,
    file: &FileReport,
) -> Result<PartOutcome> {
    task.await.map_err(|e| Error::Read {
        path: file.path.clone(),
        line: None,
        why: format!("internal error: a part's write task failed: {e}"),
    })?
}

/// What one committed part did.
struct PartOutcome {
    rows_read: u64,
    accepted: u64,
    rejected: u64,
    duplicates: u64,
    files_written: u64,
    bytes_written: u64,
    rejected_by_rule: BTreeMap<String, u64>,
}

impl PartOutcome {
    fn apply(self, file: &mut FileReport, report: &mut IngestReport) {
        file.rows_read += self.rows_read;
        file.accepted += self.accepted;
        file.rejected += self.rejected;
        file.duplicates += self.duplicates;
        report.files_written += self.files_written;
        report.bytes_written += self.bytes_written;
        for (rule, n) in self.rejected_by_rule {
            *report.rejected_by_rule.entry(rule).or_default() += n;
        }
    }
}

/// Commits one part: its rejects, then its rows (see [`LakeTable::write`]).
async fn commit_part(
    target: LakeTable,
    rejects_table: RejectsTable,
    ingest_id: String,
    app_id: String,
    accepted: Vec<RecordBatch>,
    rejects: Vec<Reject>,
    rows_read: u64,
) -> Result<PartOutcome> {
    let mut out = PartOutcome {
        rows_read,
        accepted: 0,
        rejected: distinct_rows(&rejects),
        duplicates: 0,
        files_written: 0,
        bytes_written: 0,
        rejected_by_rule: BTreeMap::new(),
    };
    for r in &rejects {
        *out.rejected_by_rule.entry(r.rule.clone()).or_default() += 1;
    }
    // Rejects first: if the process dies between the two commits, the re-run finds the
    // rejects' id committed (append skips it) and writes only the data.
    if !rejects.is_empty() {
        rejects_table
            .append(rejects_batch(&ingest_id, &rejects)?, &app_id)
            .await?;
    }
    let accepted_rows: u64 = accepted.iter().map(|b| b.num_rows() as u64).sum();
    let outcome = target.write(accepted, &app_id).await?;
    if outcome.skipped_as_already_committed {
        // This part was committed by an earlier, interrupted run of the same ingest: its
        // rows are in the table already.
        out.duplicates = accepted_rows;
        return Ok(out);
    }
    out.accepted = outcome.rows_written;
    out.duplicates = outcome.duplicates_skipped;
    out.files_written = outcome.files_added;
    out.bytes_written = outcome.bytes_added;
    if outcome.rows_written + outcome.duplicates_skipped != accepted_rows {
        return Err(Error::Unreconciled {
            table: target.table().name(),
            app_id,
            accepted: accepted_rows,
            written: outcome.rows_written,
            duplicates: outcome.duplicates_skipped,
        });
    }
    Ok(out)
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

/// BLAKE3 hash of a file's content, hex (as `b3sum` prints it), read in 1 MiB blocks.
pub fn content_hash(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}
