//! The error type of `fabrik-sql`.

use std::path::PathBuf;

/// Errors of `fabrik-sql`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The directory to register tables from does not exist or is not a directory.
    #[error(
        "no table directory at {path}: generate a plant there first (e.g. `cargo run --release --example quickstart -- {path}`) or point to a directory holding <table>/*.parquet"
    )]
    NoSuchDirectory {
        /// The path that was given.
        path: PathBuf,
    },
    /// The directory holds none of the domain tables.
    #[error(
        "{path} holds none of the domain tables (expected sub-directories such as sensor_readings/ or orders/ with .parquet files)"
    )]
    NoTables {
        /// The directory searched.
        path: PathBuf,
    },
    /// The path cannot be turned into a table URL.
    #[error("cannot use {path} as a table location: {source}")]
    TableLocation {
        /// The path.
        path: PathBuf,
        /// Why.
        source: datafusion::error::DataFusionError,
    },
    /// Planning or running a query failed (bad SQL, a missing table, an execution error).
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// The lake failed (opening a table, reading its log).
    #[error(transparent)]
    Lake(#[from] fabrik_lake::Error),
    /// The lake holds none of the domain tables.
    #[error(
        "the lake at {location} holds no tables yet: ingest files first (e.g. `cargo run --release --example ingest`)"
    )]
    EmptyLake {
        /// The lake's location.
        location: String,
    },
    /// The domain model refused something.
    #[error(transparent)]
    Model(#[from] fabrik_model::Error),
    /// Reading a directory failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
