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
    ///
    /// Errors of fabrik's own SQL functions and tables come back as their own variants
    /// (e.g. [`Error::NoSuchVersion`], [`Error::Lake`]), not wrapped in this one.
    #[error(transparent)]
    DataFusion(datafusion::error::DataFusionError),
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
    /// No Parquet file where one was expected.
    #[error("no .parquet file at {path}: give a Parquet file or a directory holding some")]
    NoParquetFiles {
        /// The path given.
        path: PathBuf,
    },
    /// A Parquet file's footer cannot be read or its schema cannot be read as Arrow.
    #[error("cannot read the Parquet footer of {path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// Why.
        source: datafusion::parquet::errors::ParquetError,
    },
    /// Decoding a Parquet file's rows failed.
    #[error("cannot decode rows of {path}: {source}")]
    ParquetRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: datafusion::arrow::error::ArrowError,
    },
    /// Files of one table with different schemas.
    #[error(
        "{path} has schema {found:?}, but the table's first file has {expected:?}: give files of one schema"
    )]
    SchemaMismatch {
        /// The file that differs.
        path: PathBuf,
        /// The schema of the first file.
        expected: datafusion::arrow::datatypes::SchemaRef,
        /// This file's schema.
        found: datafusion::arrow::datatypes::SchemaRef,
    },
    /// Reading a directory failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A lake table function names a table the registered lake does not have.
    #[error("{function}: the lake has no table `{name}`; its tables are: {}", available.join(", "))]
    UnknownLakeTable {
        /// The table function.
        function: &'static str,
        /// The name given.
        name: String,
        /// The lake's tables registered in the session.
        available: Vec<String>,
    },
    /// A table function was called with the wrong number of arguments.
    #[error("{function} was called with {found} argument(s); use {usage}")]
    TableFunctionArity {
        /// The table function.
        function: &'static str,
        /// How to call it.
        usage: &'static str,
        /// The number of arguments given.
        found: usize,
    },
    /// A table function argument is of the wrong kind.
    #[error("{function}: argument {position} must be {expected}, got {found}; use {usage}")]
    TableFunctionArgument {
        /// The table function.
        function: &'static str,
        /// The argument (1-based).
        position: usize,
        /// What it must be.
        expected: &'static str,
        /// What was given.
        found: String,
        /// How to call the function.
        usage: &'static str,
    },
    /// Time travel to a version the table does not have.
    #[error(
        "table `{table}` has no version {requested}: its versions run from 0 to {latest}; list them with SELECT * FROM lake_history('{table}')"
    )]
    NoSuchVersion {
        /// The table.
        table: String,
        /// The version asked for.
        requested: i64,
        /// The latest version.
        latest: i64,
    },
    /// Time travel to a version whose schema differs from the table's current one.
    #[error(
        "table `{table}` had another schema at version {version} than it has now; time travel reads versions with the current schema only: read that version from Rust with LakeTable::as_of_version and LakeTable::provider"
    )]
    TimeTravelSchema {
        /// The table.
        table: String,
        /// The version resolved.
        version: i64,
    },
    /// A forecast could not be made (an unknown model, bad series).
    #[error(transparent)]
    Forecast(#[from] fabrik_forecast::Error),
    /// A fabrik kernel refused its input (e.g. a gap-fill grid too large).
    #[error(transparent)]
    Kernel(#[from] fabrik_kernels::Error),
    /// One of fabrik's SQL functions was called with the wrong number of arguments.
    #[error("{function} was called with {found} argument(s); use {usage}")]
    FunctionArity {
        /// The function.
        function: &'static str,
        /// How to call it.
        usage: &'static str,
        /// The number of arguments given.
        found: usize,
    },
    /// An argument of one of fabrik's SQL functions is of the wrong kind.
    #[error("{function}: argument {position} must be {expected}, got {found}; use {usage}")]
    FunctionArgument {
        /// The function.
        function: &'static str,
        /// The argument (1-based).
        position: usize,
        /// What it must be.
        expected: &'static str,
        /// What was given.
        found: String,
        /// How to call the function.
        usage: &'static str,
    },
    /// The query given to a table function as its first argument cannot be planned.
    #[error("{function}: cannot plan the query of argument 1: {source}; use {usage}")]
    TableFunctionQuery {
        /// The table function.
        function: &'static str,
        /// How to call the function.
        usage: &'static str,
        /// Why the query was refused.
        source: Box<datafusion::error::DataFusionError>,
    },
    /// The query given to a table function reads a table whose provider is only known
    /// after asynchronous work (a catalog that fetches tables remotely).
    #[error(
        "{function}: the query of argument 1 reads a table that cannot be resolved while planning (a remote catalog); register the table in the session first, or create a view over it"
    )]
    TableFunctionQueryPending {
        /// The table function.
        function: &'static str,
    },
    /// A partition of an SPC window function (`spc_rule`, …) holds fewer readings than
    /// the baseline its limits are learned from.
    #[error(
        "{function}: the partition {partition} has {found} readings (nulls not counted), fewer than the baseline of {baseline}: filter out short series or give a smaller baseline"
    )]
    SpcShortSeries {
        /// The window function.
        function: &'static str,
        /// The partition, by its PARTITION BY values (`sensor_id=S-0007 (12 rows)`).
        partition: String,
        /// The readings of the partition.
        found: usize,
        /// The baseline's readings.
        baseline: usize,
    },
    /// The baseline of a partition of an SPC window function gives no usable control
    /// limits (e.g. constant readings: sigma 0).
    #[error(
        "{function}: the first {baseline} readings of the partition {partition} give no control limits: {source}"
    )]
    SpcBaseline {
        /// The window function.
        function: &'static str,
        /// The partition, by its PARTITION BY values.
        partition: String,
        /// The baseline's readings.
        baseline: usize,
        /// Why.
        source: Box<fabrik_kernels::Error>,
    },
    /// An aggregate that depends on the order of its readings (`spc_cpk`, …) was called
    /// without a usable `ORDER BY` inside the call.
    #[error(
        "{function} needs the order of its readings: ORDER BY one timestamp, date or integer expression inside the call, got {found}; use {usage}"
    )]
    AggregateOrderBy {
        /// The aggregate.
        function: &'static str,
        /// What the call has instead (`no ORDER BY`, `ORDER BY 2 keys`, …).
        found: String,
        /// How to call the aggregate.
        usage: &'static str,
    },
    /// The specification limits of a capability aggregate (`spc_cpk`, …) are unusable.
    #[error(
        "{function}: the specification limits lsl = {}, usl = {} are unusable: give finite limits with lsl < usl, or NULL for a missing one",
        limit(lsl),
        limit(usl)
    )]
    SpecLimits {
        /// The aggregate.
        function: &'static str,
        /// The lower limit given (`None`: NULL).
        lsl: Option<f64>,
        /// The upper limit given (`None`: NULL).
        usl: Option<f64>,
    },
    /// The specification limits of a capability aggregate differ between rows of one
    /// group.
    #[error(
        "{function}: the specification limits must be the same on every row of a group, found (lsl {}, usl {}) and (lsl {}, usl {}): group by what the limits depend on, or give them as constants",
        limit(&first.0), limit(&first.1), limit(&other.0), limit(&other.1)
    )]
    SpecLimitsVary {
        /// The aggregate.
        function: &'static str,
        /// The `(lsl, usl)` of the group's first row.
        first: (Option<f64>, Option<f64>),
        /// Those of a row that differs.
        other: (Option<f64>, Option<f64>),
    },
}

/// A specification limit as SQL shows it.
fn limit(v: &Option<f64>) -> String {
    v.map_or_else(|| "NULL".to_owned(), |v| v.to_string())
}

impl From<datafusion::error::DataFusionError> for Error {
    /// Unwraps the errors of fabrik's own functions and tables (raised inside DataFusion as
    /// external errors) back into their variants.
    fn from(e: datafusion::error::DataFusionError) -> Self {
        use datafusion::error::DataFusionError;
        match e {
            DataFusionError::External(inner) => match inner.downcast::<Error>() {
                Ok(own) => *own,
                Err(inner) => match inner.downcast::<fabrik_lake::Error>() {
                    Ok(lake) => Error::Lake(*lake),
                    Err(inner) => Error::DataFusion(DataFusionError::External(inner)),
                },
            },
            other => Error::DataFusion(other),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
