//! fabrik's production and supply analytics, with no query engine underneath (yet):
//! plain functions over slices and typed inputs, usable on their own.
//!
//! - [`sequence`](mod@sequence): order sequencing: the order in which a line builds a day's orders to
//!   spend fewer minutes on changeovers and miss fewer due times, against the input order
//!   (FIFO); exact for small days, a deterministic heuristic (constructive starts and
//!   local search) for large ones.
//!
//! Planned: OEE and downtime, SPC reports over the kernels of `fabrik-kernels`, supplier
//! scorecards, material planning.

pub mod error;
pub mod sequence;

pub use error::{Error, Result};
pub use sequence::{
    Late, Order, Schedule, SequenceOptions, SequenceReport, SetupMatrix, evaluate, sequence,
    sequence_exact, sequence_with,
};
