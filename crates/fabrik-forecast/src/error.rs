//! The error type of `fabrik-forecast`.

/// Errors of `fabrik-forecast`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A series too short for the model asked for.
    #[error(
        "{model} needs at least {min} observations, the series has {len}: forecast it with a simpler model (seasonal naive, Croston) or collect more history"
    )]
    TooShort {
        /// The model (e.g. `"ETS(A,A,A)"`, `"AutoTheta"`).
        model: String,
        /// The observations the series has.
        len: usize,
        /// The observations the model needs.
        min: usize,
    },
    /// An observation that is NaN or infinite.
    #[error(
        "observation {position} is {value}: models take finite values only (fill gaps with 0 or drop them first)"
    )]
    NonFinite {
        /// Its position in the series (0-based).
        position: usize,
        /// The value.
        value: f64,
    },
    /// A negative observation given to a model that needs non-negative data
    /// (multiplicative ETS, intermittent demand models).
    #[error(
        "{model} needs non-negative observations (positive for multiplicative components); observation {position} is {value}"
    )]
    Negative {
        /// The model.
        model: String,
        /// Its position in the series (0-based).
        position: usize,
        /// The value.
        value: f64,
    },
    /// A prediction-interval level outside `(0, 100)`.
    #[error("interval level must be a percentage in (0, 100), e.g. 80 or 95; got {level}")]
    Level {
        /// The level given.
        level: f64,
    },
    /// A season length of zero.
    #[error("season length must be at least 1 (1 = no seasonality), got {season}")]
    Season {
        /// The value given.
        season: usize,
    },
    /// A horizon of zero.
    #[error("forecast horizon must be at least 1 period")]
    Horizon,
    /// A parameter outside its allowed range (a smoothing weight outside [0, 1], …).
    #[error("parameter {name} = {value} is out of range: {expected}")]
    Parameter {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// No candidate model could be fitted to the series.
    #[error("no model could be fitted: {reason}")]
    NoModel {
        /// Why each candidate failed (the last failure).
        reason: String,
    },
    /// A failure on one series of many: names the series.
    #[error("series {series:?}: {source}")]
    Series {
        /// The series id.
        series: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// A row of long-format input (`series_id, ts, y`) that cannot be used.
    #[error("{path}:{line}: column {column:?}: {problem}")]
    Input {
        /// The file (or `<batch>` for in-memory input).
        path: String,
        /// The line (1-based, header included) or row.
        line: u64,
        /// The column.
        column: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Hierarchy reconciliation inputs that do not fit together.
    #[error("reconciliation: {problem}")]
    Hierarchy {
        /// What does not fit.
        problem: String,
    },
    /// A model name fabrik does not know.
    #[error("unknown model {name:?}: use one of {known}")]
    UnknownModel {
        /// The name given.
        name: String,
        /// The names fabrik knows.
        known: String,
    },
    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Two inputs that must have one length each do not (actuals and forecasts, a
    /// forecast's bounds, the rows of a matrix).
    #[error("{what}: expected {expected} values, got {got}")]
    Length {
        /// What has the wrong length, e.g. `"actuals"`.
        what: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        got: usize,
    },
    /// A model specification that cannot be used (e.g. an ETS form like `"MAdM"`).
    #[error("model specification {spec:?}: {problem}")]
    Spec {
        /// The specification given.
        spec: String,
        /// What is wrong with it and what is expected.
        problem: &'static str,
    },
}

impl Error {
    /// Attaches the id of the series the error happened on.
    pub fn on_series(self, series: impl Into<String>) -> Error {
        match self {
            Error::Series { .. } => self,
            other => Error::Series {
                series: series.into(),
                source: Box::new(other),
            },
        }
    }
}

/// The result type of `fabrik-forecast`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
