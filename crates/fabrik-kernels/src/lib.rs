//! fabrik's hot kernels over Arrow arrays, with no query engine underneath.
//!
//! `fabrik-sql` plugs these into DataFusion (as UDFs, UDAFs and a streaming rollup operator
//! chosen by a physical optimizer rule); here they are plain functions over Arrow arrays
//! and slices, parallel with rayon, usable on their own.
//!
//! - [`bucket`]: the bucket start of each timestamp (fixed widths, calendar units in a
//!   time zone).
//! - [`rollup`]: aggregates per key and time bucket, streaming over runs of sorted input,
//!   dense group ids for unsorted input, mergeable partial states, parallel with rayon.
//! - [`sketch`]: quantiles: a mergeable quantile sketch with a relative error bound (exact
//!   for small groups) and the exact interpolated quantile of `percentile_cont`.
//! - [`series`]: interval-aware aggregates of one series with mergeable partial states
//!   (time-weighted average, counter increase and rate, time per state, latest value).
//! - [`gapfill`]: one series onto a regular time grid, missing points filled by LOCF or
//!   linear interpolation up to a maximum gap.
//! - [`lttb`]: largest-triangle-three-buckets downsampling.
//! - [`spc`]: statistical process control of one series: control limits from a baseline,
//!   the Shewhart individuals chart with the Western Electric and Nelson rules, EWMA and
//!   tabular CUSUM charts (streaming states), process capability (Cp, Cpk, Pp, Ppk).

pub mod bucket;
pub mod error;
pub mod gapfill;
pub mod lttb;
pub mod rollup;
pub mod series;
pub mod sketch;
pub mod spc;

pub use bucket::{Bucket, CalendarUnit};
pub use error::{Error, Result};
pub use gapfill::GapFill;
pub use series::Interpolation;
pub use sketch::{QuantileSketch, exact_quantile};
