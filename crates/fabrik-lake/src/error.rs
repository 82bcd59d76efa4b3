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
    #[error("cannot open a lake at `{location}`: {why}; use a local directory or a URL such as memory:///, s3://bucket/prefix, gs://…, az://…")]
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
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
