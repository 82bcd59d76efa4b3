//! The error type of `fabrik-ops`.

/// Errors of `fabrik-ops`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setup-time matrix whose row is not as long as the matrix has rows.
    #[error(
        "the setup-time matrix must be square: row {row} has {len} entries, the matrix has {expected} rows"
    )]
    SetupNotSquare {
        /// The offending row (0-based: the configuration changed from).
        row: usize,
        /// Its length.
        len: usize,
        /// The number of rows.
        expected: usize,
    },
    /// A negative changeover time in the setup-time matrix.
    #[error(
        "the changeover from configuration {from} to {to} is {minutes} minutes: times must be zero or positive"
    )]
    NegativeSetup {
        /// The configuration changed from.
        from: usize,
        /// The configuration changed to.
        to: usize,
        /// The time given.
        minutes: i64,
    },
    /// A changeover time too large for the schedule's sums.
    #[error(
        "the changeover from configuration {from} to {to} is {minutes}, more than the limit of {limit}"
    )]
    SetupTooLarge {
        /// The configuration changed from.
        from: usize,
        /// The configuration changed to.
        to: usize,
        /// The time given.
        minutes: i64,
        /// The largest time taken.
        limit: i64,
    },
    /// An initial configuration that is not a row of the setup-time matrix.
    #[error(
        "the line's initial configuration {config} is not in the setup-time matrix ({configurations} configurations)"
    )]
    InitialConfiguration {
        /// The configuration given.
        config: usize,
        /// The number of configurations in the matrix.
        configurations: usize,
    },
    /// An order whose configuration is not a row of the setup-time matrix.
    #[error(
        "order {order:?} has configuration {config}, not in the setup-time matrix ({configurations} configurations)"
    )]
    UnknownConfiguration {
        /// The order's id.
        order: String,
        /// Its configuration.
        config: usize,
        /// The number of configurations in the matrix.
        configurations: usize,
    },
    /// An order with a negative processing time.
    #[error(
        "order {order:?} has a processing time of {minutes} minutes: it must be zero or positive"
    )]
    NegativeProcessing {
        /// The order's id.
        order: String,
        /// The time given.
        minutes: i64,
    },
    /// Two orders with the same id.
    #[error("order id {order:?} appears more than once")]
    DuplicateOrder {
        /// The repeated id.
        order: String,
    },
    /// Times so large that the schedule's sums would overflow 64-bit integers.
    #[error(
        "the times of these {orders} orders are too large to add up in 64-bit integers (order {order:?} has {minutes}): use minutes or seconds from the day's start"
    )]
    TimeOverflow {
        /// The number of orders.
        orders: usize,
        /// The order with the largest time in magnitude.
        order: String,
        /// That time.
        minutes: i64,
    },
    /// An instance too large for the exact solver.
    #[error(
        "the exact sequencer takes at most {limit} orders, got {orders}: use the heuristic (`sequence`)"
    )]
    TooManyForExact {
        /// The number of orders.
        orders: usize,
        /// The limit.
        limit: usize,
    },
    /// A sequence that is not a permutation of the orders.
    #[error(
        "a sequence must list each of the {orders} orders exactly once: position {position} has {index}, out of range or repeated"
    )]
    NotAPermutation {
        /// The position in the sequence (0-based).
        position: usize,
        /// The order index found there.
        index: usize,
        /// The number of orders.
        orders: usize,
    },
    /// A sequence that does not list as many orders as there are.
    #[error(
        "a sequence must list each of the {expected} orders exactly once, it has {found} entries"
    )]
    SequenceLength {
        /// The sequence's length.
        found: usize,
        /// The number of orders.
        expected: usize,
    },
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
    /// An option of the anomaly analysis out of its range.
    #[error("anomaly option {name} must be {expected}, got {value}")]
    AnomalyOption {
        /// The option.
        name: &'static str,
        /// The value given.
        value: String,
        /// Its range.
        expected: &'static str,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of this crate as a DataFusion error (for table functions).
pub(crate) fn external(e: Error) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(Box::new(e))
}
