//! The error type of `fabrik-kernels`.

use arrow::datatypes::DataType;

/// Errors of `fabrik-kernels`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bucket width that is zero or negative.
    #[error("bucket width must be positive, got {width} (in the timestamps' unit)")]
    BucketWidth {
        /// The width given.
        width: i64,
    },
    /// A time zone name that is not in the IANA database.
    #[error("unknown time zone {name:?}: use an IANA name such as \"Europe/Berlin\" or \"UTC\"")]
    TimeZone {
        /// The name given.
        name: String,
    },
    /// An interval that fabrik cannot bucket by (e.g. a month plus some days).
    #[error("cannot bucket by {interval}: use a fixed width (days, hours, …) or whole months")]
    Interval {
        /// The interval, as written.
        interval: String,
    },
    /// A column whose type the kernel does not take.
    #[error("column {column:?} has type {found}, expected {expected}")]
    ColumnType {
        /// The column's name (or its position, as text, when it has none).
        column: String,
        /// The type found.
        found: DataType,
        /// What the kernel takes.
        expected: &'static str,
    },
    /// Columns of one input that differ in length.
    #[error("column {column:?} has {found} rows, expected {expected}")]
    Length {
        /// The offending column.
        column: String,
        /// Its length.
        found: usize,
        /// The length of the others.
        expected: usize,
    },
    /// A quantile outside `[0, 1]`.
    #[error("quantile must be in [0, 1], got {q}")]
    Quantile {
        /// The value given.
        q: f64,
    },
    /// A sketch accuracy outside `(0, 1)`.
    #[error("sketch relative accuracy must be in (0, 1), got {alpha}")]
    SketchAccuracy {
        /// The value given.
        alpha: f64,
    },
    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The result type of `fabrik-kernels`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
