//! fabrik's lake: the plant's tables as Delta Lake tables of Parquet files, and the ingest
//! that fills them, losing nothing.
//!
//! ```text
//!   files (CSV, NDJSON, Arrow IPC, Parquet): local, or objects at s3:// gs:// az:// http(s):// URLs
//!       │  source: stream batches, line/row numbers, structural problems
//!       ▼
//!   coerce + validate (fabrik-model rules) ──► <table>__rejects (row, column, rule, reason, raw)
//!       │
//!       ▼
//!   table: Delta table per domain table (partitioned, sorted, zstd), idempotent commits
//! ```

pub mod error;
pub mod ingest;
pub mod source;
pub mod table;

pub use error::{Error, Result};
pub use ingest::{FileReport, IngestOptions, IngestReport, ingest};
pub use table::{Lake, LakeTable, RejectsTable, ResultTable};
