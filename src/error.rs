//! The error type of the `fabrik` crate: any error of its layers.

/// Any error of fabrik's layers, for callers that use several of them.
///
/// Each layer keeps its own, more precise error type; this one wraps them so that an
/// application can use `?` across layers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From the domain model (schemas, validation).
    #[error(transparent)]
    Model(#[from] fabrik_model::Error),
    /// From the synthetic plant generator.
    #[error(transparent)]
    Datagen(#[from] fabrik_datagen::Error),
    /// From the lake (tables, ingest).
    #[error(transparent)]
    Lake(#[from] fabrik_lake::Error),
    /// From the SQL session.
    #[error(transparent)]
    Sql(#[from] fabrik_sql::Error),
    /// Forecasting failed.
    #[error(transparent)]
    Forecast(#[from] fabrik_forecast::Error),
    /// From the production and supply analytics.
    #[error(transparent)]
    Ops(#[from] fabrik_ops::Error),
    /// A lake without a table the work needs.
    #[error(
        "the lake at {lake} has no table `{table}`: run `cargo run --release --example quickstart` to make one, or point to your lake"
    )]
    MissingTable {
        /// The table missing.
        table: &'static str,
        /// The lake's location.
        lake: String,
    },
    /// From DataFusion directly.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// From an Arrow kernel.
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
