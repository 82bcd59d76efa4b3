//! fabrik's hot kernels over Arrow arrays, with no query engine underneath.
//!
//! `fabrik-sql` plugs these into DataFusion (as UDFs, UDAFs and a streaming rollup operator
//! chosen by a physical optimizer rule); here they are plain functions over Arrow arrays
//! and slices, parallel with rayon, usable on their own.
//!
//! - [`bucket`]: the bucket start of each timestamp (fixed widths, calendar units in a
//!   time zone).
//! - [`series`]: interval-aware aggregates of one series with mergeable partial states
//!   (time-weighted average, counter increase and rate, time per state, latest value).
//! - [`gapfill`]: one series onto a regular time grid, missing points filled by LOCF or
//!   linear interpolation up to a maximum gap.
//! - [`lttb`]: largest-triangle-three-buckets downsampling.

pub mod bucket;
pub mod error;
pub mod gapfill;
pub mod lttb;
pub mod series;

pub use bucket::{Bucket, CalendarUnit};
pub use error::{Error, Result};
pub use gapfill::GapFill;
pub use series::Interpolation;
