//! fabrik's SQL functions: scalar functions and aggregates registered in every
//! [`Session`](crate::Session).
//!
//! - [`series`]: interval-aware aggregates of time series (`time_weighted_avg`,
//!   `counter_rate`, `counter_increase`, `state_duration`).

use datafusion::prelude::SessionContext;

pub mod series;

/// Registers every fabrik SQL function in `ctx`.
pub fn register(ctx: &SessionContext) {
    series::register(ctx);
}
