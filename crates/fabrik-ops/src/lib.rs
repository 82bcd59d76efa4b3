//! fabrik's production and supply analytics: OEE, downtime, supplier scorecards and SPC
//! anomalies over SQL, and order sequencing.
//!
//! Every analysis reads the session's domain tables (`machine_states`,
//! `production_counts`, `deliveries`, `suppliers`) and returns an Arrow [`RecordBatch`]
//! from a typed Rust API, and the same result from SQL through the table functions that
//! [`register`] adds to a [`fabrik_sql::Session`]:
//!
//! | analysis | Rust | SQL |
//! |---|---|---|
//! | OEE (ISO 22400) per machine or line, shift or day | [`Oee::compute`] | `oee('line', 'shift')` |
//! | the six big losses | [`SixLosses::compute`] | `six_big_losses('machine', 'day')` |
//! | Pareto of downtime by reason | [`Downtime::pareto`] | `downtime_pareto('line')` |
//! | MTBF and MTTR | [`Downtime::reliability`] | `mtbf_mttr('machine')` |
//! | supplier scorecard (OTIF, lead time, ppm, price) | [`SupplierScorecard::compute`] | `supplier_scorecard()` |
//! | its quarter-on-quarter trend | [`SupplierScorecard::trend`] | `supplier_trend()` |
//! | SPC alarm episodes per sensor | [`anomalies`] | `spc_anomalies('SELECT sensor_id, ts, value FROM …')` |
//!
//! Time is bucketed by the plants' shift calendars ([`shift`]): shifts in the plant's
//! time zone, cut at shift and local-day boundaries, daylight-saving safe. The definitions
//! (what counts as planned busy time, a failure, on time, in full) are written down in
//! each module: [`oee`], [`downtime`], [`supplier`].
//!
//! ```no_run
//! # async fn demo() -> fabrik_ops::Result<()> {
//! use fabrik_ops::{Entity, Oee, OeeOptions, Period, PlantCalendars};
//! let session = fabrik_sql::Session::new()?;
//! session.register_parquet_dir("fabrik-demo/parquet").await?;
//! let by_line = Oee::compute(&session, &OeeOptions::new(Entity::Line, Period::Shift)).await?;
//! fabrik_ops::register(&session, PlantCalendars::default());
//! let worst = session
//!     .query("SELECT line_id, date, shift, oee FROM oee('line', 'shift') ORDER BY oee LIMIT 5")
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Sensor anomalies ([`anomaly`]): rational subgroups of running readings charted against
//! per-sensor baselines with the SPC kernels of `fabrik-kernels` (also SQL window
//! functions: `spc_rule`, `spc_ewma`, `spc_cusum`), alarms debounced into episodes, and
//! their score against a plant's ground truth.
//!
//! Order sequencing ([`sequence`](mod@sequence)) needs no SQL: the order in which a line
//! builds a day's orders to spend fewer minutes on changeovers and miss fewer due times,
//! against the input order (FIFO); exact for small days, a deterministic heuristic
//! (constructive starts and local search) for large ones.
//!
//! [`RecordBatch`]: datafusion::arrow::array::RecordBatch

pub mod anomaly;
mod columns;
pub mod downtime;
pub mod error;
pub mod oee;
pub mod sequence;
pub mod shift;
pub mod sql;
pub mod supplier;

pub use anomaly::{Anomalies, AnomalyOptions, Episode, RunningFilter, anomalies};
pub use downtime::{Downtime, DowntimeOptions, SixLosses};
pub use error::{Error, Result};
pub use oee::{Entity, Oee, OeeOptions, Period};
pub use sequence::{
    Late, Order, Schedule, SequenceOptions, SequenceReport, SetupMatrix, evaluate, sequence,
    sequence_exact, sequence_with,
};
pub use shift::{Piece, PlantCalendars, Shift, ShiftCalendar, ShiftSlot, Timeline};
pub use sql::{
    DOWNTIME_PARETO, MTBF_MTTR, OEE, SIX_BIG_LOSSES, SPC_ANOMALIES, SUPPLIER_SCORECARD,
    SUPPLIER_TREND, register,
};
pub use supplier::{DueDate, InFull, OtifRule, QuantityBasis, ScorecardOptions, SupplierScorecard};
