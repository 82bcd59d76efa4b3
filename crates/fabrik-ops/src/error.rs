//! The error type of `fabrik-ops`.

/// Errors of `fabrik-ops`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL layer failed (planning or running a query, a missing table).
    #[error(transparent)]
    Sql(#[from] fabrik_sql::Error),
    /// DataFusion failed outside the SQL layer's own calls.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// A shift calendar was described wrongly.
    #[error("shift calendar: {problem}; {fix}")]
    InvalidCalendar {
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: &'static str,
    },
    /// A time zone name that the tz database does not know.
    #[error("unknown time zone `{name}`: use an IANA name such as Europe/Berlin or Etc/GMT-1")]
    UnknownTimeZone {
        /// The name given.
        name: String,
    },
    /// A time range whose end is not after its start.
    #[error("empty time range: from {from} is not before to {to}")]
    EmptyRange {
        /// Start of the range.
        from: chrono::DateTime<chrono::Utc>,
        /// End of the range.
        to: chrono::DateTime<chrono::Utc>,
    },
    /// A `machine_states` row with a state outside the model's vocabulary.
    #[error(
        "machine {machine_id}: unknown state `{state}` (expected RUNNING, IDLE, SETUP, DOWN or PLANNED_STOP); validate the table first"
    )]
    UnknownState {
        /// The machine of the row.
        machine_id: String,
        /// The state found.
        state: String,
    },
    /// A column of an input table is missing or has a type the analysis cannot read.
    #[error("{table}.{column}: expected {expected}, found {found}")]
    Column {
        /// The table read.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What the analysis needs.
        expected: &'static str,
        /// What the table has.
        found: String,
    },
    /// A parameter of an analysis is out of range.
    #[error("{parameter} = {value}: {expected}")]
    InvalidParameter {
        /// The parameter.
        parameter: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// One of fabrik-ops' table functions was called with the wrong number of arguments.
    #[error("{function} was called with {found} argument(s); use {usage}")]
    TableFunctionArity {
        /// The table function.
        function: &'static str,
        /// How to call it.
        usage: &'static str,
        /// The number of arguments given.
        found: usize,
    },
    /// An argument of one of fabrik-ops' table functions is of the wrong kind.
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
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of this crate as a DataFusion error (for table functions).
pub(crate) fn external(e: Error) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(Box::new(e))
}
