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

pub mod bucket;
pub mod error;
pub mod rollup;
pub mod sketch;

pub use bucket::{Bucket, CalendarUnit};
pub use error::{Error, Result};
pub use sketch::{QuantileSketch, exact_quantile};
