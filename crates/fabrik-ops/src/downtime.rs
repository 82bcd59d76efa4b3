//! Downtime: the Pareto of `DOWN` time by reason, MTBF and MTTR, and the six big losses.
//!
//! # Failures
//!
//! A **failure** is a `DOWN` interval of `machine_states`; consecutive `DOWN` rows of a
//! machine that touch (one ends where the next starts) with the same reason are one
//! failure, so a breakdown written as several rows (split at a file or day boundary) counts
//! once. With a time range, intervals are clipped to it and a failure counts when any part
//! of it falls inside.
//!
//! - [`Downtime::pareto`] — per reason: `minutes` of `DOWN` time, `failures`, `share` of
//!   the group's `DOWN` minutes and `cumulative_share` in Pareto order (most minutes first,
//!   ties by reason). A `DOWN` row without a reason is listed as `(no reason)`.
//! - [`Downtime::reliability`] — `run_min` (time in `RUNNING`), `down_min`, `failures`,
//!   `mtbf_min` = run time / failures and `mttr_min` = down time / failures (null without
//!   failures). These use all recorded time, not only scheduled shifts.
//!
//! # The six big losses
//!
//! [`SixLosses`] splits each period's planned busy time (see [`crate::oee`]; planned stops
//! are not losses) into what the data can tell apart:
//!
//! | Nakajima's loss | here | column |
//! |---|---|---|
//! | 1. breakdowns | time in `DOWN` | `breakdown_s` |
//! | 2. setup and adjustments | time in `SETUP` (changeovers) | `setup_s` |
//! | 3. idling and minor stops | time in `IDLE` | `idle_s` |
//! | 4. reduced speed | run time − Σ ideal cycle × units | `speed_loss_s` |
//! | 5. + 6. start-up and production rejects | Σ ideal cycle × scrap | `quality_loss_s` |
//!
//! and `productive_s` = Σ ideal cycle × good units (fully productive time), so that
//! `planned_busy_s = breakdown_s + setup_s + idle_s + speed_loss_s + quality_loss_s +
//! productive_s` exactly.
//!
//! What cannot be separated with these tables, and why:
//!
//! - **Idling vs minor stops**: both are `IDLE` without a reason (a station starved of work
//!   and a micro-stop look the same); and since `IDLE` is not run time, they are an
//!   availability loss here rather than the performance loss Nakajima files minor stops
//!   under.
//! - **Minor stops too short to be a state vs reduced speed**: a stop inside a `RUNNING`
//!   interval leaves no trace but fewer units, so it lands in `speed_loss_s`.
//! - **Start-up rejects vs production rejects**: `production_counts` carries no start-up
//!   flag and sums several minutes per row, so scrap right after a setup or a restart
//!   cannot be told from scrap in stable production; both are `quality_loss_s`.
//!
//! `speed_loss_s` can be negative for a period whose counts run faster than the ideal
//! cycle, or that received a count whose interval began in the period before (counts are
//! attributed to the period they end in).
//!
//! ```sql
//! SELECT * FROM downtime_pareto();             -- all machines together
//! SELECT * FROM downtime_pareto('line');       -- one Pareto per line
//! SELECT * FROM mtbf_mttr('machine');
//! SELECT * FROM six_big_losses('line', 'day');
//! ```

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::prelude::SessionContext;
use fabrik_sql::Session;

use crate::error::{Error, Result};
use crate::oee::{Entity, OeeOptions, Period, accounts, field, key_columns, key_fields};
use crate::shift::US_PER_SEC;
use crate::sql::{collect_as, range_sql};

/// What to compute downtime figures over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DowntimeOptions {
    /// One result per machine, per line, or (`None`) for all machines together.
    pub by: Option<Entity>,
    /// Only time from this instant on (intervals are clipped).
    pub from: Option<DateTime<Utc>>,
    /// Only time before this instant (intervals are clipped).
    pub to: Option<DateTime<Utc>>,
}

impl DowntimeOptions {
    /// Grouped `by` machine, line or (`None`) not at all, over all time.
    pub fn new(by: Option<Entity>) -> Self {
        DowntimeOptions {
            by,
            ..DowntimeOptions::default()
        }
    }

    /// The same options limited to `[from, to)`.
    pub fn with_range(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    fn range_us(&self) -> Result<(Option<i64>, Option<i64>)> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(Error::EmptyRange { from, to });
        }
        Ok((
            self.from.map(|t| t.timestamp_micros()),
            self.to.map(|t| t.timestamp_micros()),
        ))
    }
}

/// The Pareto of downtime and MTBF / MTTR (see the [module docs](self)).
#[derive(Debug, Clone, Copy)]
pub struct Downtime;

fn group_fields(by: Option<Entity>) -> Vec<datafusion::arrow::datatypes::Field> {
    match by {
        None => Vec::new(),
        Some(Entity::Line) => vec![
            field("plant_id", DataType::Utf8, false, "plant"),
            field("line_id", DataType::Utf8, false, "assembly line"),
        ],
        Some(Entity::Machine) => vec![
            field("plant_id", DataType::Utf8, false, "plant"),
            field("line_id", DataType::Utf8, false, "assembly line"),
            field("machine_id", DataType::Utf8, false, "machine"),
        ],
    }
}

fn group_columns(by: Option<Entity>) -> &'static [&'static str] {
    match by {
        None => &[],
        Some(Entity::Line) => &["plant_id", "line_id"],
        Some(Entity::Machine) => &["plant_id", "line_id", "machine_id"],
    }
}

/// The clipped state intervals with a `new_failure` flag (see the module docs), as SQL.
fn failures_sql(options: &DowntimeOptions) -> Result<String> {
    let (from, to) = options.range_us()?;
    let (where_, c0, c1, before) = range_sql("s0", "s1", from, to);
    let w = "OVER (PARTITION BY machine_id ORDER BY start_ts)";
    Ok(format!(
        "WITH s AS (
           SELECT plant_id, line_id, machine_id, state, reason,
                  CAST(start_ts AS BIGINT) AS s0, CAST(end_ts AS BIGINT) AS s1,
                  lag(state) {w} AS prev_state,
                  lag(reason) {w} AS prev_reason,
                  lag(CAST(end_ts AS BIGINT)) {w} AS prev_end
           FROM machine_states
         ),
         c AS (
           SELECT plant_id, line_id, machine_id, state, reason, {c0} AS c0, {c1} AS c1,
                  state = 'DOWN' AND ({before} OR NOT coalesce(prev_state = 'DOWN'
                      AND prev_end = s0 AND prev_reason IS NOT DISTINCT FROM reason, false))
                    AS new_failure
           FROM s WHERE {where_}
         )"
    ))
}

impl Downtime {
    /// The Pareto of `DOWN` time by reason, per group of `options.by`; sorted by group,
    /// then minutes (most first) and reason. The schema is [`Downtime::pareto_schema`].
    pub async fn pareto(session: &Session, options: &DowntimeOptions) -> Result<RecordBatch> {
        pareto(session.context(), options).await
    }

    /// The schema of [`Downtime::pareto`]'s result.
    pub fn pareto_schema(by: Option<Entity>) -> SchemaRef {
        let mut f = group_fields(by);
        f.extend([
            field("reason", DataType::Utf8, false, "why the machine was DOWN"),
            field("minutes", DataType::Float64, false, "DOWN time, min"),
            field(
                "failures",
                DataType::Int64,
                false,
                "failures with this reason",
            ),
            field(
                "share",
                DataType::Float64,
                false,
                "share of the group's DOWN minutes",
            ),
            field(
                "cumulative_share",
                DataType::Float64,
                false,
                "share of this and every reason before it",
            ),
        ]);
        Arc::new(Schema::new(f))
    }

    /// MTBF and MTTR per group of `options.by`, sorted by group. The schema is
    /// [`Downtime::reliability_schema`].
    pub async fn reliability(session: &Session, options: &DowntimeOptions) -> Result<RecordBatch> {
        reliability(session.context(), options).await
    }

    /// The schema of [`Downtime::reliability`]'s result.
    pub fn reliability_schema(by: Option<Entity>) -> SchemaRef {
        let mut f = group_fields(by);
        f.extend([
            field("run_min", DataType::Float64, false, "time in RUNNING, min"),
            field("down_min", DataType::Float64, false, "time in DOWN, min"),
            field("failures", DataType::Int64, false, "failures"),
            field(
                "mtbf_min",
                DataType::Float64,
                true,
                "mean time between failures: run_min / failures",
            ),
            field(
                "mttr_min",
                DataType::Float64,
                true,
                "mean time to repair: down_min / failures",
            ),
        ]);
        Arc::new(Schema::new(f))
    }
}

pub(crate) async fn pareto(ctx: &SessionContext, options: &DowntimeOptions) -> Result<RecordBatch> {
    let g = group_columns(options.by);
    let keys: String = g.iter().map(|c| format!("{c}, ")).collect();
    let partition = if g.is_empty() {
        String::new()
    } else {
        format!("PARTITION BY {}", g.join(", "))
    };
    let sql = format!(
        "{frame},
         d AS (
           SELECT {keys}coalesce(reason, '(no reason)') AS reason,
                  sum(c1 - c0) / 6e7 AS minutes,
                  sum(CASE WHEN new_failure THEN 1 ELSE 0 END) AS failures
           FROM c WHERE state = 'DOWN'
           GROUP BY {keys}coalesce(reason, '(no reason)')
         )
         SELECT {keys}reason, minutes, failures,
                minutes / sum(minutes) OVER ({partition}) AS share,
                sum(minutes) OVER ({partition} ORDER BY minutes DESC, reason
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                  / sum(minutes) OVER ({partition}) AS cumulative_share
         FROM d
         ORDER BY {keys}minutes DESC, reason",
        frame = failures_sql(options)?,
    );
    collect_as(ctx, &sql, Downtime::pareto_schema(options.by)).await
}

pub(crate) async fn reliability(
    ctx: &SessionContext,
    options: &DowntimeOptions,
) -> Result<RecordBatch> {
    let g = group_columns(options.by);
    let keys: String = g.iter().map(|c| format!("{c}, ")).collect();
    let (group_by, order_by) = if g.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!("GROUP BY {}", g.join(", ")),
            format!("ORDER BY {}", g.join(", ")),
        )
    };
    let sql = format!(
        "{frame},
         r AS (
           SELECT {keys}
                  coalesce(sum(CASE WHEN state = 'RUNNING' THEN c1 - c0 ELSE 0 END), 0) / 6e7 AS run_min,
                  coalesce(sum(CASE WHEN state = 'DOWN' THEN c1 - c0 ELSE 0 END), 0) / 6e7 AS down_min,
                  coalesce(sum(CASE WHEN new_failure THEN 1 ELSE 0 END), 0) AS failures
           FROM c {group_by}
         )
         SELECT {keys}run_min, down_min, failures,
                run_min / nullif(failures, 0) AS mtbf_min,
                down_min / nullif(failures, 0) AS mttr_min
         FROM r {order_by}",
        frame = failures_sql(options)?,
    );
    collect_as(ctx, &sql, Downtime::reliability_schema(options.by)).await
}

/// The six big losses per machine or line and shift or day (see the [module docs](self)).
#[derive(Debug, Clone, Copy)]
pub struct SixLosses;

impl SixLosses {
    /// Computes the losses from `machine_states` and `production_counts`, one row per
    /// entity and period with scheduled time, in the order of [`crate::Oee::compute`].
    /// The schema is [`SixLosses::schema`].
    pub async fn compute(session: &Session, options: &OeeOptions) -> Result<RecordBatch> {
        six_losses(session.context(), options).await
    }

    /// The schema of [`SixLosses::compute`]'s result.
    pub fn schema(entity: Entity, period: Period) -> SchemaRef {
        let mut f = key_fields(entity, period);
        let secs = |name: &str, doc: &str| field(name, DataType::Float64, false, doc);
        f.extend([
            secs(
                "planned_busy_s",
                "scheduled time minus planned stops (PBT), s",
            ),
            secs("breakdown_s", "loss 1, breakdowns: time in DOWN, s"),
            secs("setup_s", "loss 2, setup and adjustments: time in SETUP, s"),
            secs("idle_s", "loss 3, idling and minor stops: time in IDLE, s"),
            secs(
                "speed_loss_s",
                "loss 4, reduced speed: run time minus ideal time of all units, s",
            ),
            secs(
                "quality_loss_s",
                "losses 5 and 6, start-up and production rejects: ideal time of scrap, s",
            ),
            secs("productive_s", "ideal time of good units, s"),
        ]);
        Arc::new(Schema::new(f))
    }
}

pub(crate) async fn six_losses(ctx: &SessionContext, options: &OeeOptions) -> Result<RecordBatch> {
    let accounts = accounts(ctx, options).await?;
    let mut columns = key_columns(&accounts, options.entity, options.period);
    let a: Vec<_> = accounts.values().collect();
    let s = |us: i64| us as f64 / US_PER_SEC as f64;
    let col = |f: &dyn Fn(&crate::oee::Account) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(a.iter().map(|x| f(x))))
    };
    columns.extend([
        col(&|x| s(x.planned_busy_us())),
        col(&|x| s(x.down_us)),
        col(&|x| s(x.setup_us)),
        col(&|x| s(x.idle_us)),
        col(&|x| s(x.run_us) - x.ideal_s()),
        col(&|x| x.ideal_scrap_s),
        col(&|x| x.ideal_good_s),
    ]);
    Ok(RecordBatch::try_new(
        SixLosses::schema(options.entity, options.period),
        columns,
    )?)
}
