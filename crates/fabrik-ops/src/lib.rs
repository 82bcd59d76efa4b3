//! fabrik's production and supply analytics: plain functions over slices and typed
//! inputs, and analyses over a `fabrik_sql::Session`.
//!
//! - [`sequence`](mod@sequence): order sequencing: the order in which a line builds a day's orders to
//!   spend fewer minutes on changeovers and miss fewer due times, against the input order
//!   (FIFO); exact for small days, a deterministic heuristic (constructive starts and
//!   local search) for large ones.
//! - [`anomaly`]: sensor anomalies by SPC: rational subgroups of running readings charted
//!   against per-sensor baselines, alarms debounced into episodes, and their score against
//!   ground truth (through `fabrik-sql`'s session and its `spc_*` functions' kernels).
//!
//! Planned: OEE and downtime, supplier scorecards, material planning.

pub mod anomaly;
pub mod error;
pub mod sequence;

pub use anomaly::{Anomalies, AnomalyOptions, Episode, RunningFilter, anomalies};
pub use error::{Error, Result};
pub use sequence::{
    Late, Order, Schedule, SequenceOptions, SequenceReport, SetupMatrix, evaluate, sequence,
    sequence_exact, sequence_with,
};
