//! The analyses as SQL table functions, registered in a [`Session`] by [`register`].
//!
//! | function | arguments | result |
//! |---|---|---|
//! | [`OEE`] | `entity, period [, from, to]` | [`Oee::schema`] |
//! | [`SIX_BIG_LOSSES`] | `entity, period [, from, to]` | [`SixLosses::schema`] |
//! | [`DOWNTIME_PARETO`] | `[by [, from, to]]` | [`Downtime::pareto_schema`] |
//! | [`MTBF_MTTR`] | `[by [, from, to]]` | [`Downtime::reliability_schema`] |
//! | [`SUPPLIER_SCORECARD`] | `[due, early_days, late_days, fill, quantity [, as_of]]` | [`SupplierScorecard::schema`] |
//! | [`SUPPLIER_TREND`] | same | [`SupplierScorecard::trend_schema`] |
//! | [`SPC_ANOMALIES`] | `'<query>' [, chart [, subgroup [, baseline [, confirm]]]]` | [`episode_schema`] |
//!
//! `entity` is `'machine'` or `'line'`; `by` is `'machine'`, `'line'` or `'all'`;
//! `period` is `'shift'` or `'day'`; `from`, `to` and `as_of` are TIMESTAMPs or RFC 3339
//! strings (`'2025-03-03T00:00:00Z'`); `due` is `'promised'` or `'contract'`; `fill` is
//! `'strict'`, `'proportional'` or a minimum fill rate in (0, 1]; `quantity` is
//! `'received'` or `'accepted'` (see [`crate::supplier`]).
//!
//! [`SPC_ANOMALIES`] charts the readings of a query with [`anomalies`](crate::anomaly::anomalies)
//! and returns its alarm episodes, one row each (sensor, start `ts`, `end_ts`, the `rule`
//! that fired, the first alarmed subgroup's `value`, the limits `center`, `lcl`, `ucl`,
//! `alarms`, `confirmed_ts`). The query's columns are `sensor_id`, `ts` (a TIMESTAMP),
//! `value` (numeric) and optionally `machine_id`: with it, only subgroups of a running
//! machine are charted (read from `machine_states`, [`RunningFilter::default`]); without
//! it, every subgroup. The options, each optional after the ones before it:
//!
//! - `chart`: `'we1'` (the default, [`DEFAULT_CHART`]), `'western_electric'`, `'nelson'`,
//!   `'all'`, rule ids such as `'N1,N5'`, `'ewma'` or `'cusum'` (see
//!   [`Chart::parse`]);
//! - `subgroup`: the subgroup's bucket, an INTERVAL or a string such as `'2 minutes'`
//!   (whole seconds; default 2 minutes);
//! - `baseline`: the subgroups each sensor's limits are learned from (default 240);
//! - `confirm`: the alarmed subgroups an episode needs to be reported (default 3).
//!
//! The other options are those of [`AnomalyOptions::default`]. A sensor with fewer
//! subgroups than the baseline is not charted and has no rows (the Rust API lists it in
//! [`Anomalies::skipped`](crate::anomaly::Anomalies::skipped)).
//!
//! ```sql
//! SELECT line_id, date, shift, round(oee, 3) AS oee FROM oee('line', 'shift') ORDER BY oee;
//! SELECT * FROM downtime_pareto('machine') WHERE cumulative_share <= 0.8;
//! SELECT * FROM supplier_scorecard('promised', 2, 1, 0.95, 'accepted');
//! SELECT sensor_id, ts, rule, value, lcl, ucl
//! FROM spc_anomalies('SELECT sensor_id, machine_id, ts, value FROM sensor_readings
//!                     WHERE quality = 0', 'nelson', INTERVAL '5 minutes', 96);
//! ```
//!
//! Each function computes its whole result when the query is executed (the tables it reads
//! are read at that moment, through the calling session), then serves it from memory
//! ([`fabrik_sql::collect::CollectExec`]).

use std::sync::Arc;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{
    Session as CatalogSession, TableFunctionArgs, TableFunctionImpl, TableProvider,
};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::TaskContext;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use fabrik_sql::Session;
use fabrik_sql::collect::{CollectExec, CollectJob};
use fabrik_sql::timeseries::{interval_nanos, plan_query};
use fabrik_sql::udf::spc::Chart;

use crate::anomaly::{self, AnomalyOptions, DEFAULT_CHART, RunningFilter, episode_schema};
use crate::downtime::{self, Downtime, DowntimeOptions, SixLosses};
use crate::error::{Error, Result, external};
use crate::oee::{self, Entity, Oee, OeeOptions, Period};
use crate::shift::PlantCalendars;
use crate::supplier::{
    self, DueDate, InFull, OtifRule, QuantityBasis, ScorecardOptions, SupplierScorecard,
};

/// `oee(entity, period [, from, to])`: OEE per machine or line and shift or day.
pub const OEE: &str = "oee";
/// `six_big_losses(entity, period [, from, to])`: the six big losses.
pub const SIX_BIG_LOSSES: &str = "six_big_losses";
/// `downtime_pareto([by [, from, to]])`: DOWN time by reason, Pareto-ordered.
pub const DOWNTIME_PARETO: &str = "downtime_pareto";
/// `mtbf_mttr([by [, from, to]])`: failures, MTBF and MTTR.
pub const MTBF_MTTR: &str = "mtbf_mttr";
/// `supplier_scorecard([due, early_days, late_days, fill, quantity [, as_of]])`.
pub const SUPPLIER_SCORECARD: &str = "supplier_scorecard";
/// `supplier_trend([due, early_days, late_days, fill, quantity [, as_of]])`.
pub const SUPPLIER_TREND: &str = "supplier_trend";
/// `spc_anomalies('<query>' [, chart [, subgroup [, baseline [, confirm]]]])`: the SPC
/// alarm episodes of the query's sensor readings.
pub const SPC_ANOMALIES: &str = "spc_anomalies";

const OEE_USAGE: &str =
    "oee('machine' | 'line', 'shift' | 'day' [, TIMESTAMP '<from>', TIMESTAMP '<to>'])";
const LOSSES_USAGE: &str =
    "six_big_losses('machine' | 'line', 'shift' | 'day' [, TIMESTAMP '<from>', TIMESTAMP '<to>'])";
const PARETO_USAGE: &str =
    "downtime_pareto(['machine' | 'line' | 'all' [, TIMESTAMP '<from>', TIMESTAMP '<to>']])";
const MTBF_USAGE: &str =
    "mtbf_mttr(['machine' | 'line' | 'all' [, TIMESTAMP '<from>', TIMESTAMP '<to>']])";
const SCORECARD_USAGE: &str = "supplier_scorecard(['promised' | 'contract', <early days>, <late days>, 'strict' | 'proportional' | <min fill rate>, 'received' | 'accepted' [, TIMESTAMP '<as of>']])";
const ANOMALIES_USAGE: &str = "spc_anomalies('SELECT sensor_id, [machine_id,] ts, value FROM …' [, 'we1' | 'western_electric' | 'nelson' | 'N1,N5' | 'ewma' | 'cusum' [, INTERVAL '2 minutes' [, <baseline subgroups, e.g. 240> [, <alarms to confirm, e.g. 3>]]]])";
const TREND_USAGE: &str = "supplier_trend(['promised' | 'contract', <early days>, <late days>, 'strict' | 'proportional' | <min fill rate>, 'received' | 'accepted' [, TIMESTAMP '<as of>']])";

/// Registers the table functions of this crate in `session` (those of the table in the
/// [module docs](self)); [`OEE`] and
/// [`SIX_BIG_LOSSES`] use `calendars` (registering again replaces them).
pub fn register(session: &Session, calendars: PlantCalendars) {
    let calendars = Arc::new(calendars);
    for name in [
        OEE,
        SIX_BIG_LOSSES,
        DOWNTIME_PARETO,
        MTBF_MTTR,
        SUPPLIER_SCORECARD,
        SUPPLIER_TREND,
        SPC_ANOMALIES,
    ] {
        session.context().register_udtf(
            name,
            Arc::new(OpsFunction {
                name,
                calendars: Arc::clone(&calendars),
            }),
        );
    }
}

/// The WHERE condition, the clipped start and end, and "starts before the range" of
/// intervals `[s0, s1)` (µs columns) against an optional range, as SQL.
pub(crate) fn range_sql(
    s0: &str,
    s1: &str,
    from: Option<i64>,
    to: Option<i64>,
) -> (String, String, String, String) {
    let mut cond = vec!["TRUE".to_string()];
    let (mut c0, mut c1, mut before) = (s0.to_string(), s1.to_string(), "FALSE".to_string());
    if let Some(f) = from {
        cond.push(format!("{s1} > {f}"));
        c0 = format!("greatest({s0}, {f})");
        before = format!("{s0} < {f}");
    }
    if let Some(t) = to {
        cond.push(format!("{s0} < {t}"));
        c1 = format!("least({s1}, {t})");
    }
    (cond.join(" AND "), c0, c1, before)
}

/// Runs `sql` and returns its rows as one batch of `schema` (columns cast by position).
pub(crate) async fn collect_as(
    ctx: &SessionContext,
    sql: &str,
    schema: SchemaRef,
) -> Result<RecordBatch> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let Some(first) = batches.first() else {
        return Ok(RecordBatch::new_empty(schema));
    };
    let all = concat_batches(&first.schema(), &batches)?;
    let columns = all
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// One computation behind a table function call.
#[derive(Debug, Clone)]
enum Job {
    Oee(OeeOptions),
    SixLosses(OeeOptions),
    Pareto(DowntimeOptions),
    Reliability(DowntimeOptions),
    Scorecard(ScorecardOptions),
    Trend(ScorecardOptions),
    Anomalies(AnomalyOptions),
}

impl Job {
    fn schema(&self) -> SchemaRef {
        match self {
            Job::Oee(o) => Oee::schema(o.entity, o.period),
            Job::SixLosses(o) => SixLosses::schema(o.entity, o.period),
            Job::Pareto(o) => Downtime::pareto_schema(o.by),
            Job::Reliability(o) => Downtime::reliability_schema(o.by),
            Job::Scorecard(_) => SupplierScorecard::schema(),
            Job::Trend(_) => SupplierScorecard::trend_schema(),
            Job::Anomalies(_) => episode_schema(),
        }
    }

    async fn run(&self, ctx: &SessionContext) -> Result<RecordBatch> {
        match self {
            Job::Oee(o) => oee::compute(ctx, o).await,
            Job::SixLosses(o) => downtime::six_losses(ctx, o).await,
            Job::Pareto(o) => downtime::pareto(ctx, o).await,
            Job::Reliability(o) => downtime::reliability(ctx, o).await,
            Job::Scorecard(o) => supplier::scorecard(ctx, o).await,
            Job::Trend(o) => supplier::trend(ctx, o).await,
            Job::Anomalies(o) => Ok(anomaly::compute(ctx, o).await?.episodes),
        }
    }
}

/// The result of a table function call: computed when the query is executed.
#[derive(Debug)]
struct OpsTable {
    function: &'static str,
    job: Job,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for OpsTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn CatalogSession,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return Err(DataFusionError::Internal(
                "the session is not a DataFusion SessionState".into(),
            ));
        };
        let job = OpsJob {
            function: self.function,
            job: self.job.clone(),
            state: state.clone(),
        };
        Ok(Arc::new(CollectExec::try_new(
            None,
            Arc::new(job),
            projection.cloned(),
        )?))
    }
}

/// A call's computation with the session it reads its tables through.
struct OpsJob {
    function: &'static str,
    job: Job,
    state: SessionState,
}

impl fmt::Debug for OpsJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpsJob")
            .field("function", &self.function)
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CollectJob for OpsJob {
    fn schema(&self) -> SchemaRef {
        self.job.schema()
    }

    async fn run(
        &self,
        _input: Vec<RecordBatch>,
        _context: Arc<TaskContext>,
    ) -> DFResult<RecordBatch> {
        let ctx = SessionContext::new_with_state(self.state.clone());
        self.job.run(&ctx).await.map_err(external)
    }

    fn describe(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "OpsExec: function={}", self.function)
    }
}

/// One of the table functions.
#[derive(Debug)]
struct OpsFunction {
    name: &'static str,
    calendars: Arc<PlantCalendars>,
}

/// Reads the arguments of one call.
struct Args<'a> {
    function: &'static str,
    usage: &'static str,
    exprs: &'a [Expr],
}

impl Args<'_> {
    fn wrong(&self, position: usize, expected: &'static str) -> DataFusionError {
        external(Error::TableFunctionArgument {
            function: self.function,
            position,
            expected,
            found: self
                .exprs
                .get(position - 1)
                .map_or_else(|| "nothing".into(), |e| e.to_string()),
            usage: self.usage,
        })
    }

    fn arity(&self, allowed: &[usize]) -> DFResult<()> {
        if allowed.contains(&self.exprs.len()) {
            Ok(())
        } else {
            Err(external(Error::TableFunctionArity {
                function: self.function,
                usage: self.usage,
                found: self.exprs.len(),
            }))
        }
    }

    fn literal(&self, position: usize) -> Option<&ScalarValue> {
        match self.exprs.get(position - 1)? {
            Expr::Literal(v, _) if !v.is_null() => Some(v),
            _ => None,
        }
    }

    fn text(&self, position: usize) -> Option<String> {
        match self.literal(position)? {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => Some(s.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn number(&self, position: usize) -> Option<f64> {
        let v = self.literal(position)?;
        if !v.data_type().is_numeric() {
            return None;
        }
        match v.cast_to(&DataType::Float64).ok()? {
            ScalarValue::Float64(Some(x)) => Some(x),
            _ => None,
        }
    }

    fn instant(&self, position: usize) -> DFResult<DateTime<Utc>> {
        const EXPECTED: &str = "a TIMESTAMP or an RFC 3339 string such as '2025-03-03T00:00:00Z'";
        let us = match self.literal(position) {
            Some(
                ScalarValue::Utf8(Some(s))
                | ScalarValue::Utf8View(Some(s))
                | ScalarValue::LargeUtf8(Some(s)),
            ) => s
                .parse::<DateTime<Utc>>()
                .ok()
                .map(|t| t.timestamp_micros()),
            Some(
                v @ (ScalarValue::TimestampSecond(..)
                | ScalarValue::TimestampMillisecond(..)
                | ScalarValue::TimestampMicrosecond(..)
                | ScalarValue::TimestampNanosecond(..)),
            ) => match v.cast_to(&DataType::Timestamp(
                datafusion::arrow::datatypes::TimeUnit::Microsecond,
                None,
            )) {
                Ok(ScalarValue::TimestampMicrosecond(Some(us), _)) => Some(us),
                _ => None,
            },
            _ => None,
        };
        us.and_then(DateTime::from_timestamp_micros)
            .ok_or_else(|| self.wrong(position, EXPECTED))
    }

    fn entity(&self, position: usize) -> DFResult<Entity> {
        self.text(position)
            .and_then(|s| Entity::parse(&s))
            .ok_or_else(|| self.wrong(position, "'machine' or 'line'"))
    }

    fn by(&self, position: usize) -> DFResult<Option<Entity>> {
        match self.text(position).as_deref() {
            Some("all") => Ok(None),
            Some(s) if Entity::parse(s).is_some() => Ok(Entity::parse(s)),
            _ => Err(self.wrong(position, "'machine', 'line' or 'all'")),
        }
    }

    fn period(&self, position: usize) -> DFResult<Period> {
        self.text(position)
            .and_then(|s| Period::parse(&s))
            .ok_or_else(|| self.wrong(position, "'shift' or 'day'"))
    }

    fn oee_options(&self, calendars: &PlantCalendars) -> DFResult<OeeOptions> {
        self.arity(&[2, 4])?;
        let mut o =
            OeeOptions::new(self.entity(1)?, self.period(2)?).with_calendars(calendars.clone());
        if self.exprs.len() == 4 {
            o = o.with_range(self.instant(3)?, self.instant(4)?);
        }
        Ok(o)
    }

    fn downtime_options(&self) -> DFResult<DowntimeOptions> {
        self.arity(&[0, 1, 3])?;
        let by = if self.exprs.is_empty() {
            None
        } else {
            self.by(1)?
        };
        let mut o = DowntimeOptions::new(by);
        if self.exprs.len() == 3 {
            o = o.with_range(self.instant(2)?, self.instant(3)?);
        }
        Ok(o)
    }

    fn scorecard_options(&self) -> DFResult<ScorecardOptions> {
        self.arity(&[0, 5, 6])?;
        if self.exprs.is_empty() {
            return Ok(ScorecardOptions::default());
        }
        let due = match self.text(1).as_deref() {
            Some("promised") => DueDate::Promised,
            Some("contract") => DueDate::ContractLeadTime,
            _ => return Err(self.wrong(1, "'promised' or 'contract'")),
        };
        let days = |p| {
            self.number(p)
                .filter(|d| d.is_finite() && (0.0..=3650.0).contains(d))
                .ok_or_else(|| self.wrong(p, "a number of days from 0 to 3650"))
        };
        let (early, late) = (days(2)?, days(3)?);
        let in_full = match (self.text(4).as_deref(), self.number(4)) {
            (Some("strict"), _) => InFull::Strict,
            (Some("proportional"), _) => InFull::Proportional,
            (None, Some(r)) if r > 0.0 && r <= 1.0 => InFull::MinFillRate(r),
            _ => {
                return Err(self.wrong(
                    4,
                    "'strict', 'proportional' or a minimum fill rate in (0, 1]",
                ));
            }
        };
        let quantity = match self.text(5).as_deref() {
            Some("received") => QuantityBasis::Received,
            Some("accepted") => QuantityBasis::Accepted,
            _ => return Err(self.wrong(5, "'received' or 'accepted'")),
        };
        let mut o = ScorecardOptions::new(OtifRule {
            due,
            early_tolerance_days: early,
            late_tolerance_days: late,
            in_full,
            quantity,
        });
        if self.exprs.len() == 6 {
            o = o.with_as_of(self.instant(6)?);
        }
        Ok(o)
    }

    /// The options of [`SPC_ANOMALIES`] (see the [module docs](self)).
    fn anomaly_options(&self, args: &TableFunctionArgs) -> DFResult<AnomalyOptions> {
        self.arity(&[1, 2, 3, 4, 5])?;
        let plan = plan_query(self.function, self.usage, args)?;
        let schema = plan.schema();
        let field = |name: &str| {
            schema
                .fields()
                .iter()
                .find(|f| f.name() == name)
                .map(|f| f.data_type().clone())
        };
        let shape_ok = field("sensor_id").is_some()
            && matches!(field("ts"), Some(DataType::Timestamp(..)))
            && field("value").is_some_and(|t| t.is_numeric() || t == DataType::Null);
        if !shape_ok {
            return Err(external(Error::TableFunctionArgument {
                function: self.function,
                position: 1,
                expected: "a query with the columns sensor_id, ts (a TIMESTAMP) and value (numeric), and machine_id to chart running machines only",
                found: format!(
                    "columns ({})",
                    schema
                        .fields()
                        .iter()
                        .map(|f| format!("{} {}", f.name(), f.data_type()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                usage: self.usage,
            }));
        }
        let mut o = AnomalyOptions {
            readings: self.text_as_given(1).unwrap_or_default(),
            running: field("machine_id").map(|_| RunningFilter::default()),
            ..AnomalyOptions::default()
        };
        if self.exprs.len() >= 2 {
            o.chart = match self.text(2).as_deref() {
                Some("we1") => DEFAULT_CHART,
                Some(name) => Chart::parse(name).ok_or_else(|| {
                    self.wrong(
                        2,
                        "a chart: 'we1', 'western_electric', 'nelson', 'all', rule ids such as 'N1,N5', 'ewma' or 'cusum'",
                    )
                })?,
                None => return Err(self.wrong(2, "a chart name as a string, e.g. 'nelson'")),
            };
        }
        if self.exprs.len() >= 3 {
            const SECOND: i64 = 1_000_000_000;
            o.subgroup = self
                .exprs
                .get(2)
                .and_then(interval_nanos)
                .filter(|n| *n >= SECOND && n % SECOND == 0 && *n <= 366 * 86_400 * SECOND)
                .map(|n| Duration::from_secs((n / SECOND) as u64))
                .ok_or_else(|| {
                    self.wrong(
                        3,
                        "an INTERVAL of whole seconds, from 1 second to a year, e.g. INTERVAL '2 minutes'",
                    )
                })?;
        }
        let count = |position: usize, low: f64, expected: &'static str| {
            self.number(position)
                .filter(|n| n.fract() == 0.0 && *n >= low && *n <= 1e6)
                .ok_or_else(|| self.wrong(position, expected))
        };
        if self.exprs.len() >= 4 {
            o.baseline = count(
                4,
                2.0,
                "a whole number of subgroups from 2 to 1000000 (the baseline)",
            )? as usize;
        }
        if self.exprs.len() >= 5 {
            o.confirm = count(
                5,
                1.0,
                "a whole number of alarms from 1 to 1000000 (to confirm an episode)",
            )? as u32;
        }
        Ok(o)
    }

    /// A string argument as given (not lower-cased).
    fn text_as_given(&self, position: usize) -> Option<String> {
        match self.literal(position)? {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
            _ => None,
        }
    }
}

impl TableFunctionImpl for OpsFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let usage = match self.name {
            OEE => OEE_USAGE,
            SIX_BIG_LOSSES => LOSSES_USAGE,
            DOWNTIME_PARETO => PARETO_USAGE,
            MTBF_MTTR => MTBF_USAGE,
            SUPPLIER_SCORECARD => SCORECARD_USAGE,
            SPC_ANOMALIES => ANOMALIES_USAGE,
            _ => TREND_USAGE,
        };
        let a = Args {
            function: self.name,
            usage,
            exprs: args.exprs(),
        };
        let job = match self.name {
            OEE => Job::Oee(a.oee_options(&self.calendars)?),
            SIX_BIG_LOSSES => Job::SixLosses(a.oee_options(&self.calendars)?),
            DOWNTIME_PARETO => Job::Pareto(a.downtime_options()?),
            MTBF_MTTR => Job::Reliability(a.downtime_options()?),
            SUPPLIER_SCORECARD => Job::Scorecard(a.scorecard_options()?),
            SPC_ANOMALIES => Job::Anomalies(a.anomaly_options(&args)?),
            _ => Job::Trend(a.scorecard_options()?),
        };
        Ok(Arc::new(OpsTable {
            function: self.name,
            schema: job.schema(),
            job,
        }))
    }
}
