//! The error type of `fabrik-lake`.

use std::path::PathBuf;

/// Errors of `fabrik-lake`.
///
/// File-level problems (a file that is not what it claims) name the file; row-level
/// problems never surface here: they become rows of the table's rejects table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The lake location is neither a directory path nor a URL object_store understands.
    #[error(
        "cannot open a lake at `{location}`: {why}; use a local directory or a URL such as memory:///, s3://bucket/prefix, gs://…, az://…"
    )]
    Location {
        /// What was given.
        location: String,
        /// Why it was refused.
        why: String,
    },
    /// Reading or writing a local file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A Delta Lake operation failed.
    #[error("delta table `{table}`: {source}")]
    Delta {
        /// The table.
        table: String,
        /// The deltalake error.
        source: Box<deltalake::DeltaTableError>,
    },
    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// A Parquet file could not be read or written.
    #[error(transparent)]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// DataFusion failed.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// The domain model refused something.
    #[error(transparent)]
    Model(#[from] fabrik_model::Error),
    // Further variants: add them below this line, each with fields that locate the problem.
    /// A commit kept conflicting with concurrent writers and was given up.
    #[error(
        "table `{table}`: the commit still conflicted with concurrent writers after {attempts} attempts; retry the ingest later"
    )]
    Conflict {
        /// The table.
        table: String,
        /// Attempts made (each with a fresh snapshot and backoff).
        attempts: u32,
    },
    /// Time travel to a moment before the table's first commit.
    #[error(
        "table `{table}` did not exist at {requested}: its first commit (version 0) is from {first_commit}"
    )]
    BeforeFirstCommit {
        /// The table.
        table: String,
        /// The moment asked for.
        requested: chrono::DateTime<chrono::Utc>,
        /// Time of the first commit.
        first_commit: chrono::DateTime<chrono::Utc>,
    },
    /// A batch handed to a lake table does not fit its schema.
    #[error("table `{table}`, column `{column}`: {why}")]
    BatchSchema {
        /// The table.
        table: String,
        /// The column (empty when the whole batch is at fault).
        column: String,
        /// What is wrong.
        why: String,
    },
    /// An input (path, directory or glob) names no file.
    #[error("input `{input}` not found: {why}")]
    InputNotFound {
        /// The input as given.
        input: String,
        /// What was looked for (no such file, the glob matched nothing, …).
        why: String,
    },
    /// An input is of a kind [`crate::source::resolve`] cannot read (an object-store URL:
    /// [`crate::source::remote::resolve`] reads those).
    #[error("input `{input}` is not supported: {why}")]
    Unsupported {
        /// The input as given.
        input: String,
        /// What is not supported and what to do instead.
        why: String,
    },
    /// A file's format could not be told from its name, or a format name is unknown.
    #[error(
        "{path}: unknown input format `{found}`; expected .csv, .ndjson/.jsonl/.json, .arrow/.ipc/.feather or .parquet (optionally .gz for the text formats)"
    )]
    UnknownFormat {
        /// The file (or the format name given).
        path: PathBuf,
        /// The extension or name found.
        found: String,
    },
    /// A file is not what its name or the declared format claims (binary, compressed,
    /// bad magic bytes).
    #[error("{path}: {why}")]
    NotFormat {
        /// The file.
        path: PathBuf,
        /// The format it was read as (CSV, NDJSON, Arrow IPC, Parquet).
        expected: &'static str,
        /// What it looks like instead, and what to do.
        why: String,
    },
    /// A text file's header lacks columns the table requires.
    #[error(
        "{path}: the header does not fit table `{table}`: missing column(s) {missing:?} (header: {found:?})"
    )]
    Header {
        /// The file.
        path: PathBuf,
        /// The table it was read as.
        table: &'static str,
        /// The required (non-nullable) columns not in the header.
        missing: Vec<String>,
        /// The header's column names.
        found: Vec<String>,
    },
    /// A typed file (Arrow IPC, Parquet) has a column of a type that cannot be cast to the
    /// table's.
    #[error(
        "{path}: column `{column}` has type {found}, expected {expected} (or a type that casts to it losslessly)"
    )]
    SourceColumnType {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its type in the file.
        found: String,
        /// The table's type.
        expected: String,
    },
    /// Reading a file failed part-way (I/O, a corrupt block, a decoder error).
    #[error("{path}{}: {why}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Read {
        /// The file.
        path: PathBuf,
        /// The 1-based line reached, for text formats.
        line: Option<u64>,
        /// What failed.
        why: String,
    },
    /// A part of an ingest did not reconcile: rows accepted != rows written + duplicates.
    /// A bug in fabrik, not in the input: please report it.
    #[error(
        "internal error (a bug in fabrik-lake, please report it): ingest part {app_id} into `{table}` accepted {accepted} rows but the write stored {written} and skipped {duplicates} as duplicates"
    )]
    Unreconciled {
        /// The table.
        table: &'static str,
        /// The part's app-transaction id.
        app_id: String,
        /// Rows that passed validation.
        accepted: u64,
        /// Rows stored.
        written: u64,
        /// Rows skipped as duplicates.
        duplicates: u64,
    },
    /// A Delta table uses a protocol feature that fabrik's sorted scan
    /// ([`crate::LakeTable::scan_provider`]) does not implement (fabrik never writes it).
    #[error(
        "table `{table}` uses the Delta feature `{feature}`, which fabrik's sorted scan cannot read correctly as plain Parquet; read it with `LakeTable::provider` (deltalake's reader), or rewrite the table without `{feature}`"
    )]
    UnsupportedFeature {
        /// The table.
        table: String,
        /// The Delta feature (`deletionVectors`, `columnMapping`).
        feature: String,
    },
    /// A data file listed in a Delta log cannot be scanned as it is described.
    #[error(
        "table `{table}`, data file `{file}`: {why}; the table was probably written by another tool: read it with `LakeTable::provider` (deltalake's reader)"
    )]
    DataFile {
        /// The table.
        table: String,
        /// The file's path as the log gives it.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// An input URL is malformed: not a URL, no bucket or container, an invalid glob.
    #[error("input `{url}` is not a valid object-store URL: {why}; expected {expected}")]
    BadUrl {
        /// The input as given.
        url: String,
        /// What is wrong with it.
        why: String,
        /// The shape of a URL of its scheme.
        expected: &'static str,
    },
    /// An input URL has a scheme no object store of fabrik-lake reads.
    #[error(
        "input `{url}`: no object store reads `{scheme}://` URLs; use a local path or glob, file:///path, s3://bucket/key, gs://bucket/key, az://container/key, abfss://container@account.dfs.core.windows.net/key or http(s)://host/path (globs allowed in the key)"
    )]
    UnknownScheme {
        /// The input as given.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// The object store refused access to an input URL (HTTP 401 or 403, or a file's
    /// permissions).
    #[error("input `{url}`: access denied ({source}); {fix}")]
    AccessDenied {
        /// The input URL (for a glob, the object's URL when one object was refused).
        url: String,
        /// How to give the store credentials (which environment variables to set).
        fix: &'static str,
        /// The object_store error.
        source: Box<object_store::Error>,
    },
    /// Reading an input URL failed otherwise: the store's configuration, the network, the
    /// server.
    #[error("input `{url}`: {source}; check the URL, the network and the store's settings: {fix}")]
    ObjectStore {
        /// The input URL (or the object's URL).
        url: String,
        /// How to configure the store (which environment variables to set).
        fix: &'static str,
        /// The object_store error.
        source: Box<object_store::Error>,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
