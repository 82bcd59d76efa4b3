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
    /// A sketch accuracy outside `[1e-9, 1)`.
    #[error("sketch relative accuracy must be in [1e-9, 1), got {alpha}")]
    SketchAccuracy {
        /// The value given.
        alpha: f64,
    },
    /// A `time_bucket` interval / origin / time zone combination fabrik does not support.
    #[error(
        "time_bucket({interval}{}{}) is not supported: {reason}. Supported: a fixed width (e.g. '15 minutes', '1 day') counted from 2000-01-03T00:00:00Z or from a given origin timestamp; '1 month', '3 months', '1 year' (calendar month, quarter, year in UTC); with a time zone and no origin: '1 day' (calendar day), '7 days' or '1 week' (ISO week), '1 month', '3 months', '1 year'",
        zone.as_deref().map(|z| format!(", zone {z:?}")).unwrap_or_default(),
        if *has_origin { ", origin" } else { "" }
    )]
    TimeBucket {
        /// The interval, as written.
        interval: String,
        /// The time zone given, if any.
        zone: Option<String>,
        /// Whether an origin was given.
        has_origin: bool,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Sketches of different accuracies cannot merge.
    #[error("cannot merge quantile sketches of relative accuracy {left} and {right}")]
    SketchMismatch {
        /// The accuracy of the sketch merged into.
        left: f64,
        /// The accuracy of the sketch merged.
        right: f64,
    },
    /// Bytes that are not an encoded quantile sketch.
    #[error("invalid quantile sketch encoding at byte {offset}: {problem}")]
    SketchEncoding {
        /// Where decoding stopped.
        offset: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// Timestamps that go backwards where a kernel needs them sorted.
    #[error(
        "timestamps must be sorted ascending: row {position} ({ts}) comes before the previous one ({previous}); sort the series by time first"
    )]
    Unsorted {
        /// The row (0-based) whose timestamp is smaller than the one before it.
        position: usize,
        /// Its timestamp.
        ts: i64,
        /// The timestamp before it.
        previous: i64,
    },
    /// Partial states merged out of time order (the later part starts before the earlier
    /// part ends).
    #[error(
        "cannot merge partial states out of time order: the later part starts at {later_first}, before the earlier part ends at {earlier_last}; merge parts in time order, or collect the points and sort them"
    )]
    MergeOrder {
        /// The last timestamp of the earlier part.
        earlier_last: i64,
        /// The first timestamp of the later part.
        later_first: i64,
    },
    /// A gap-fill or grid step that is zero or negative.
    #[error("gap-fill step must be positive, got {step} (in the timestamps' unit)")]
    Step {
        /// The step given.
        step: i64,
    },
    /// A time range whose end is not after its start.
    #[error("time range end ({end}) must be after its start ({start})")]
    Range {
        /// The start given.
        start: i64,
        /// The end given.
        end: i64,
    },
    /// A maximum gap that is negative.
    #[error("maximum gap must be zero or positive, got {max_gap} (in the timestamps' unit)")]
    MaxGap {
        /// The value given.
        max_gap: i64,
    },
    /// A gap-fill grid with more points than the kernel produces per series.
    #[error(
        "gap-fill grid would have {points} points per series, more than the limit of {limit}: use a larger step or a shorter range"
    )]
    GridTooLarge {
        /// The number of grid points asked for.
        points: u128,
        /// The limit.
        limit: usize,
    },
    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// Control limits with a centre line that is not finite or a sigma that is not finite
    /// and positive (a constant baseline has sigma 0).
    #[error(
        "control limits need a finite centre line and a finite, positive sigma, got centre {center} and sigma {sigma}"
    )]
    SpcLimits {
        /// The centre line.
        center: f64,
        /// The sigma.
        sigma: f64,
    },
    /// A baseline with too few (non-missing) readings to estimate sigma.
    #[error("a baseline needs at least {needed} readings that are not NaN or null, got {found}")]
    SpcTooFewPoints {
        /// The readings found.
        found: u64,
        /// The readings needed.
        needed: u64,
    },
    /// A control chart parameter out of its range.
    #[error("control chart parameter {name} must be {expected}, got {value}")]
    SpcParameter {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// Its range.
        expected: &'static str,
    },
    /// Specification limits with neither limit, a limit that is not finite, or a lower
    /// limit not below the upper.
    #[error(
        "specification limits need at least one finite limit and LSL < USL, got LSL {lsl:?} and USL {usl:?}"
    )]
    SpecLimits {
        /// The lower specification limit given.
        lsl: Option<f64>,
        /// The upper specification limit given.
        usl: Option<f64>,
    },
}

/// The result type of `fabrik-kernels`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
