//! fabrik's SQL functions, backed by `fabrik-kernels`.
//!
//! [`register`] adds them all to a DataFusion context ([`crate::Session`] does it for you):
//!
//! | function | kind | what |
//! |---|---|---|
//! | `time_bucket(interval, ts [, origin \| 'Time/Zone'])` | scalar | TimescaleDB's bucket start ([`time_bucket`]) |
//! | `first(value, ts)`, `last(value, ts)` | aggregate | the value at the smallest / largest `ts` ([`first_last`]) |
//! | `approx_quantile(value, q)` | aggregate | a quantile from a mergeable sketch, exact on small groups ([`percentile`]) |
//! | `spc_rule(value, 'nelson' \| 'western_electric' [, baseline])`, `spc_ewma(value [, λ, L, baseline])`, `spc_cusum(value [, k, h, baseline])`, `spc_limits(value [, baseline])` | window | control charts per partition, limits learned from its first readings ([`spc`]) |
//! | `spc_cp(value, lsl, usl ORDER BY ts)`, `spc_cpk(…)`, `spc_pp(value, lsl, usl)`, `spc_ppk(…)`, `spc_capability(value, lsl, usl ORDER BY ts)` | aggregate | process capability per group against specification limits ([`capability`]) |
//! | `time_weighted_avg(value, ts [, 'locf' \| 'linear'])`, `counter_rate(value, ts)`, `counter_increase(value, ts)`, `state_duration(state, ts [, 'STATE'])` | aggregate | interval-aware aggregates of a series ([`series`]) |
//!
//! ```sql
//! SELECT sensor_id, time_bucket(INTERVAL '15 minutes', ts) AS bucket,
//!        first(value, ts), last(value, ts), approx_quantile(value, 0.95)
//! FROM sensor_readings GROUP BY 1, 2;
//! ```

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

pub mod capability;
pub mod first_last;
pub mod percentile;
pub mod series;
pub mod spc;
pub mod time_bucket;

pub use first_last::{FirstLast, Which};
pub use percentile::ApproxQuantile;
pub use time_bucket::{TimeBucket, date_bin_spec, date_trunc_spec, time_bucket_spec};

/// Registers every fabrik SQL function in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(TimeBucket::new()));
    ctx.register_udaf(AggregateUDF::new_from_impl(FirstLast::new(Which::First)));
    ctx.register_udaf(AggregateUDF::new_from_impl(FirstLast::new(Which::Last)));
    ctx.register_udaf(AggregateUDF::new_from_impl(ApproxQuantile::new()));
    series::register(ctx);
    spc::register(ctx);
    capability::register(ctx);
}
