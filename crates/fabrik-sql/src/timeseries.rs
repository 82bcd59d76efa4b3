//! Time-series table functions over a query: [`GAP_FILL`] and [`LTTB`], registered in every
//! [`Session`](crate::Session).
//!
//! ```sql
//! -- One row per sensor and minute of the range, missing minutes carried forward when the
//! -- last reading is at most 5 minutes old (else null).
//! SELECT * FROM gap_fill(
//!   'SELECT sensor_id, date_bin(INTERVAL ''1 minute'', ts) AS ts, avg(value) AS value
//!    FROM sensor_readings GROUP BY 1, 2',
//!   TIMESTAMP '2026-01-05T00:00:00Z', TIMESTAMP '2026-01-06T00:00:00Z',
//!   INTERVAL '1 minute', 'locf', INTERVAL '5 minutes');
//! -- At most 500 points per sensor that draw the same line.
//! SELECT * FROM lttb('SELECT sensor_id, ts, value FROM sensor_readings', 500);
//! ```
//!
//! # The inner query
//!
//! The first argument is a `SELECT` (a string; double the quotes inside it) whose columns
//! are the **series key columns** (any number, any types, possibly none), then the
//! **timestamp** (a `TIMESTAMP` of any unit) and last the **value** (numeric, read as
//! Float64). The output has the same columns, the value as a nullable Float64. Only
//! queries are accepted (no DDL, DML or `SET`).
//!
//! Why a table function over a query rather than InfluxDB 3's `date_bin_gapfill` in a
//! `GROUP BY`: that needs an optimizer rule rewriting the aggregate into a gap-filling
//! operator; a table function needs nothing of the planner, composes with any query
//! (including the bucketing the caller picks) and plans the inner query with the calling
//! session, so the inner query gets the session's tables, functions and optimizations.
//! The inner query is planned when the function is called, so its tables must already be
//! known to the session (any registered table or view is; a table of a catalog that
//! fetches tables remotely is refused with [`Error::TableFunctionQueryPending`]).
//!
//! # Execution
//!
//! The operator asks DataFusion for its input hash-partitioned by the key columns (a
//! single partition when there are none) and sorted by the keys and the timestamp, so each
//! partition holds whole series in time order and partitions run in parallel. A partition
//! is read completely before its series are processed (memory: the partition's input plus
//! one output batch); output batches hold whole series, about `batch_size` rows each.
//!
//! - [`GAP_FILL`] — `gap_fill('<query>', start, end, step, 'locf' | 'linear' [, max_gap])`:
//!   each series on the grid `start + k·step` of `[start, end)`, with the definitions of
//!   [`fabrik_kernels::gapfill`] (a grid point takes the value of the last point in its
//!   bucket; missing ones are filled when the gap is at most `max_gap`). `start` and `end`
//!   are TIMESTAMPs or strings such as `'2026-01-05T00:00:00Z'` (UTC without an offset);
//!   `step` and `max_gap` are fixed INTERVALs (days count 24 hours; months are refused)
//!   or strings such as `'1 minute'`. Every series of the inner query gets the whole grid,
//!   even one whose points are all outside the range (then all null).
//! - [`LTTB`] — `lttb('<query>', threshold)`: each series downsampled to `threshold` points
//!   by [`fabrik_kernels::lttb`] (first and last kept; a threshold below 3 or at least the
//!   series' length keeps every point). Rows with a null timestamp or value are dropped.
//!
//! The latest value of each series needs no table function:
//! `SELECT sensor_id, last_value(value ORDER BY ts) FROM sensor_readings GROUP BY sensor_id`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, UInt32Array,
};
use datafusion::arrow::compute::kernels::cast_utils::{
    parse_interval_month_day_nano, string_to_timestamp_nanos,
};
use datafusion::arrow::compute::{cast, concat_batches, partition, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::session_state::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, LogicalPlan, TableType};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{
    EquivalenceProperties, LexRequirement, OrderingRequirements, PhysicalSortRequirement,
};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, InputDistributionRequirements,
    Partitioning, PhysicalExpr, PlanProperties,
};
use datafusion::prelude::{SQLOptions, SessionContext};
use fabrik_kernels::bucket::ticks_per_second;
use fabrik_kernels::gapfill::GapFill;
use fabrik_kernels::lttb::lttb_indices;
use fabrik_kernels::series::{Interpolation, points_from_arrays};
use futures::{StreamExt, TryStreamExt};

use crate::error::Error;
use crate::lake::{external, integer, literal};

/// `gap_fill('<query>', start, end, step, 'locf' | 'linear' [, max_gap])`: every series of
/// the query on a regular time grid (see the [module docs](self)).
pub const GAP_FILL: &str = "gap_fill";

/// `lttb('<query>', threshold)`: every series of the query downsampled to `threshold`
/// points (see the [module docs](self)).
pub const LTTB: &str = "lttb";

const GAP_FILL_USAGE: &str = "gap_fill('SELECT <keys…>, ts, value FROM …', TIMESTAMP '<start>', TIMESTAMP '<end>', INTERVAL '1 minute', 'locf' or 'linear' [, INTERVAL '<max gap>'])";
const LTTB_USAGE: &str = "lttb('SELECT <keys…>, ts, value FROM …', <threshold, e.g. 500>)";

/// Registers [`GAP_FILL`] and [`LTTB`] in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udtf(GAP_FILL, Arc::new(GapFillFunction));
    ctx.register_udtf(LTTB, Arc::new(LttbFunction));
}

pub(crate) fn string(e: &Expr) -> Option<&str> {
    match literal(e)? {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}

/// Polls a future once: planning a query only awaits the session's table lookups, which
/// are ready at once for registered tables.
fn now<F: Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// The inner query of a call, planned, and the shape of its columns.
#[derive(Debug, Clone)]
pub(crate) struct Inner {
    pub(crate) plan: LogicalPlan,
    /// The number of series key columns (before ts and value).
    pub(crate) keys: usize,
    /// The timestamp column's type.
    ts_type: DataType,
    /// Its unit.
    unit: TimeUnit,
}

/// Plans the query a table function takes as its first argument (a string), with the
/// calling session, refusing DDL, DML and statements: the common first step of
/// [`GAP_FILL`], [`LTTB`], [`FORECAST`](crate::forecast::FORECAST) and the table functions
/// of other crates over a query. Errors name `function` and show `usage`:
/// [`Error::TableFunctionArgument`] when argument 1 is not a string,
/// [`Error::TableFunctionQuery`] when it cannot be planned, and
/// [`Error::TableFunctionQueryPending`] when it reads a table only known after
/// asynchronous work.
pub fn plan_query(
    function: &'static str,
    usage: &'static str,
    args: &TableFunctionArgs,
) -> DFResult<LogicalPlan> {
    let Some(sql) = args.exprs().first().and_then(string) else {
        return Err(external(Error::TableFunctionArgument {
            function,
            position: 1,
            expected: "a query as a string, e.g. 'SELECT sensor_id, ts, value FROM sensor_readings'",
            found: args
                .exprs()
                .first()
                .map_or_else(|| "nothing".to_owned(), |e| e.to_string()),
            usage,
        }));
    };
    let Some(state) = args.session().as_any().downcast_ref::<SessionState>() else {
        return Err(DataFusionError::Internal(format!(
            "{function}: the session is not a DataFusion SessionState"
        )));
    };
    let refuse = |source: DataFusionError| {
        external(Error::TableFunctionQuery {
            function,
            usage,
            source: Box::new(source),
        })
    };
    let plan = now(state.create_logical_plan(sql))
        .ok_or_else(|| external(Error::TableFunctionQueryPending { function }))?
        .map_err(refuse)?;
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(&plan)
        .map_err(refuse)?;
    Ok(plan)
}

impl Inner {
    pub(crate) fn plan(
        function: &'static str,
        usage: &'static str,
        args: &TableFunctionArgs,
    ) -> DFResult<Self> {
        let plan = plan_query(function, usage, args)?;
        let fields = plan.schema().fields();
        let columns = || {
            fields
                .iter()
                .map(|f| format!("{} {}", f.name(), f.data_type()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let shape_error = || {
            external(Error::TableFunctionArgument {
                function,
                position: 1,
                expected: "a query whose columns are the series keys, then a TIMESTAMP, then a numeric value",
                found: format!("columns ({})", columns()),
                usage,
            })
        };
        let n = fields.len();
        if n < 2 {
            return Err(shape_error());
        }
        let (ts, value) = (&fields[n - 2], &fields[n - 1]);
        let DataType::Timestamp(unit, _) = ts.data_type() else {
            return Err(shape_error());
        };
        if !value.data_type().is_numeric() && *value.data_type() != DataType::Null {
            return Err(shape_error());
        }
        Ok(Inner {
            keys: n - 2,
            ts_type: ts.data_type().clone(),
            unit: *unit,
            plan,
        })
    }

    /// The output schema: the keys as they are, the timestamp (not null for gap fill's
    /// grid) and the value as nullable Float64.
    fn output_schema(&self, ts_nullable: bool) -> SchemaRef {
        let fields = self.plan.schema().fields();
        let mut out: Vec<Field> = fields[..self.keys]
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        out.push(Field::new(
            fields[self.keys].name(),
            self.ts_type.clone(),
            ts_nullable,
        ));
        out.push(Field::new(
            fields[self.keys + 1].name(),
            DataType::Float64,
            true,
        ));
        Arc::new(Schema::new(out))
    }

    /// Nanoseconds to ticks of the timestamp unit (floor).
    fn ticks(&self, nanos: i64) -> i64 {
        nanos.div_euclid(1_000_000_000 / ticks_per_second(self.unit))
    }
}

/// The table function [`GAP_FILL`].
#[derive(Debug)]
struct GapFillFunction;

impl TableFunctionImpl for GapFillFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if !(5..=6).contains(&exprs.len()) {
            return Err(external(Error::TableFunctionArity {
                function: GAP_FILL,
                usage: GAP_FILL_USAGE,
                found: exprs.len(),
            }));
        }
        let inner = Inner::plan(GAP_FILL, GAP_FILL_USAGE, &args)?;
        let arg = |position: usize, expected: &'static str| {
            external(Error::TableFunctionArgument {
                function: GAP_FILL,
                position,
                expected,
                found: exprs[position - 1].to_string(),
                usage: GAP_FILL_USAGE,
            })
        };
        const MOMENT: &str = "a TIMESTAMP or a string such as '2026-01-05T00:00:00Z'";
        const FIXED: &str = "a fixed INTERVAL (seconds, minutes, hours, days; not months) such as INTERVAL '1 minute', of at least one tick of the timestamps";
        let start = timestamp_nanos(&exprs[1]).ok_or_else(|| arg(2, MOMENT))?;
        let end = timestamp_nanos(&exprs[2]).ok_or_else(|| arg(3, MOMENT))?;
        let step = interval_nanos(&exprs[3])
            .map(|n| inner.ticks(n))
            .filter(|&t| t > 0)
            .ok_or_else(|| arg(4, FIXED))?;
        let how = match string(&exprs[4]).map(str::to_ascii_lowercase).as_deref() {
            Some("locf") => Interpolation::Locf,
            Some("linear") => Interpolation::Linear,
            _ => return Err(arg(5, "'locf' or 'linear'")),
        };
        let max_gap = match exprs.get(5) {
            None => None,
            Some(e) => Some(
                interval_nanos(e)
                    .map(|n| inner.ticks(n))
                    .filter(|&t| t >= 0)
                    .ok_or_else(|| arg(6, FIXED))?,
            ),
        };
        let fill = GapFill::new(inner.ticks(start), inner.ticks(end), step, how, max_gap)
            .map_err(|e| external(Error::Kernel(e)))?;
        Ok(Arc::new(SeriesTable {
            schema: inner.output_schema(false),
            inner,
            op: Op::GapFill(fill),
        }))
    }
}

/// The table function [`LTTB`].
#[derive(Debug)]
struct LttbFunction;

impl TableFunctionImpl for LttbFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() != 2 {
            return Err(external(Error::TableFunctionArity {
                function: LTTB,
                usage: LTTB_USAGE,
                found: exprs.len(),
            }));
        }
        let inner = Inner::plan(LTTB, LTTB_USAGE, &args)?;
        let threshold = integer(&exprs[1])
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                external(Error::TableFunctionArgument {
                    function: LTTB,
                    position: 2,
                    expected: "a non-negative integer (the points to keep per series)",
                    found: exprs[1].to_string(),
                    usage: LTTB_USAGE,
                })
            })?;
        Ok(Arc::new(SeriesTable {
            schema: inner.output_schema(false),
            inner,
            op: Op::Lttb(threshold),
        }))
    }
}

/// A moment as nanoseconds since the epoch (UTC): a timestamp literal or a string.
fn timestamp_nanos(e: &Expr) -> Option<i64> {
    match literal(e)? {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(*v),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => string_to_timestamp_nanos(s.trim()).ok(),
        _ => None,
    }
}

/// A fixed interval argument as nanoseconds (a day is 24 hours): an `INTERVAL` or a
/// duration literal, or a string such as `'2 minutes'`; `None` for intervals with months
/// and anything else.
pub fn interval_nanos(e: &Expr) -> Option<i64> {
    const DAY: i64 = 86_400_000_000_000;
    match literal(e)? {
        ScalarValue::IntervalMonthDayNano(Some(v)) if v.months == 0 => i64::from(v.days)
            .checked_mul(DAY)?
            .checked_add(v.nanoseconds),
        ScalarValue::IntervalDayTime(Some(v)) => i64::from(v.days)
            .checked_mul(DAY)?
            .checked_add(i64::from(v.milliseconds).checked_mul(1_000_000)?),
        ScalarValue::DurationSecond(Some(v)) => v.checked_mul(1_000_000_000),
        ScalarValue::DurationMillisecond(Some(v)) => v.checked_mul(1_000_000),
        ScalarValue::DurationMicrosecond(Some(v)) => v.checked_mul(1_000),
        ScalarValue::DurationNanosecond(Some(v)) => Some(*v),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => {
            let v = parse_interval_month_day_nano(s).ok()?;
            if v.months != 0 {
                return None;
            }
            i64::from(v.days)
                .checked_mul(DAY)?
                .checked_add(v.nanoseconds)
        }
        _ => None,
    }
}

/// What is done to each series.
#[derive(Debug, Clone, Copy)]
enum Op {
    GapFill(GapFill),
    Lttb(usize),
}

/// The table a call of [`GAP_FILL`] or [`LTTB`] returns.
#[derive(Debug)]
struct SeriesTable {
    inner: Inner,
    op: Op,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for SeriesTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let input = state.create_physical_plan(&self.inner.plan).await?;
        Ok(Arc::new(SeriesExec::try_new(
            input,
            self.inner.keys,
            self.op,
            Arc::clone(&self.schema),
            projection.cloned(),
        )?))
    }
}

/// The operator: fills or downsamples each series of its input (sorted by keys and time,
/// hash-partitioned by the keys).
#[derive(Debug)]
struct SeriesExec {
    input: Arc<dyn ExecutionPlan>,
    keys: usize,
    op: Op,
    /// The output schema before projection.
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    properties: Arc<PlanProperties>,
}

impl SeriesExec {
    fn try_new(
        input: Arc<dyn ExecutionPlan>,
        keys: usize,
        op: Op,
        schema: SchemaRef,
        projection: Option<Vec<usize>>,
    ) -> DFResult<Self> {
        let projected = match &projection {
            Some(p) => Arc::new(schema.project(p)?),
            None => Arc::clone(&schema),
        };
        let partitions = input.properties().output_partitioning().partition_count();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(projected),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Ok(SeriesExec {
            input,
            keys,
            op,
            schema,
            projection,
            properties: Arc::new(properties),
        })
    }

    fn key_exprs(&self) -> Vec<Arc<dyn PhysicalExpr>> {
        let input = self.input.schema();
        (0..self.keys)
            .map(|i| Arc::new(Column::new(input.field(i).name(), i)) as Arc<dyn PhysicalExpr>)
            .collect()
    }
}

impl DisplayAs for SeriesExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match self.op {
            Op::GapFill(g) => write!(f, "GapFillExec: keys={}, grid={}", self.keys, g.len()),
            Op::Lttb(n) => write!(f, "LttbExec: keys={}, threshold={n}", self.keys),
        }
    }
}

impl ExecutionPlan for SeriesExec {
    fn name(&self) -> &str {
        "SeriesExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        let d = if self.keys == 0 {
            Distribution::SinglePartition
        } else {
            Distribution::KeyPartitioned(self.key_exprs())
        };
        InputDistributionRequirements::new(vec![d])
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        let input = self.input.schema();
        let mut exprs = self.key_exprs();
        exprs.push(Arc::new(Column::new(
            input.field(self.keys).name(),
            self.keys,
        )));
        let req = LexRequirement::new(
            exprs
                .into_iter()
                .map(|e| PhysicalSortRequirement::new(e, Some(Default::default()))),
        );
        vec![req.map(OrderingRequirements::new)]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DFResult<TreeNodeRecursion>,
    ) -> DFResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let Some(input) = children.pop().filter(|_| children.is_empty()) else {
            return Err(DataFusionError::Internal(
                "SeriesExec takes exactly one child".to_owned(),
            ));
        };
        Ok(Arc::new(SeriesExec::try_new(
            input,
            self.keys,
            self.op,
            Arc::clone(&self.schema),
            self.projection.clone(),
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DFResult<SendableRecordBatchStream> {
        let batch_size = context.session_config().batch_size();
        let input = self.input.execute(partition, context)?;
        let input_schema = self.input.schema();
        let job = Job {
            keys: self.keys,
            op: self.op,
            schema: Arc::clone(&self.schema),
            projection: self.projection.clone(),
            batch_size,
        };
        let out_schema = Arc::clone(self.properties.equivalence_properties().schema());
        let stream = futures::stream::once(async move {
            let batches: Vec<RecordBatch> = input.try_collect().await?;
            let out = job.run(&input_schema, &batches)?;
            Ok::<_, DataFusionError>(futures::stream::iter(out.into_iter().map(Ok)))
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            out_schema,
            stream.boxed(),
        )))
    }
}

/// The work of one partition.
struct Job {
    keys: usize,
    op: Op,
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    batch_size: usize,
}

/// Output rows being gathered: the input row of each output row's keys, its timestamp
/// and value.
#[derive(Default)]
struct Pending {
    key_rows: Vec<u32>,
    ts: Vec<i64>,
    values: Vec<Option<f64>>,
}

impl Job {
    /// Processes a whole partition (sorted by keys and time).
    fn run(&self, input_schema: &SchemaRef, batches: &[RecordBatch]) -> DFResult<Vec<RecordBatch>> {
        let kernel = |e: fabrik_kernels::Error| external(Error::Kernel(e));
        let batch = concat_batches(input_schema, batches)?;
        let n = batch.num_rows();
        if n == 0 {
            return Ok(Vec::new());
        }
        if u32::try_from(n).is_err() {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{n} rows in one partition of a series table function: raise target_partitions"
            )));
        }
        let keys = &batch.columns()[..self.keys];
        let ts = batch.column(self.keys);
        let values = cast(batch.column(self.keys + 1), &DataType::Float64)?;
        let ranges = if self.keys == 0 {
            std::iter::once(0..n).collect()
        } else {
            partition(keys)?.ranges()
        };
        let mut out = Vec::new();
        let mut pending = Pending::default();
        for r in ranges {
            let len = r.end - r.start;
            let (t, v) = points_from_arrays(&ts.slice(r.start, len), &values.slice(r.start, len))
                .map_err(kernel)?;
            // The row's index fits in u32 (checked above).
            let key_row = r.start as u32;
            match self.op {
                Op::GapFill(fill) => {
                    let filled = fill.fill(&t, &v).map_err(kernel)?;
                    pending.ts.extend(fill.grid());
                    pending.values.extend(filled.iter());
                    pending
                        .key_rows
                        .extend(std::iter::repeat_n(key_row, fill.len()));
                }
                Op::Lttb(threshold) => {
                    let kept = lttb_indices(&t, &v, threshold).map_err(kernel)?;
                    pending.ts.extend(kept.iter().map(|&i| t[i]));
                    pending.values.extend(kept.iter().map(|&i| Some(v[i])));
                    pending
                        .key_rows
                        .extend(std::iter::repeat_n(key_row, kept.len()));
                }
            }
            if pending.ts.len() >= self.batch_size {
                out.push(self.flush(keys, std::mem::take(&mut pending))?);
            }
        }
        if !pending.ts.is_empty() {
            out.push(self.flush(keys, pending)?);
        }
        Ok(out)
    }

    fn flush(&self, keys: &[ArrayRef], pending: Pending) -> DFResult<RecordBatch> {
        let rows = UInt32Array::from(pending.key_rows);
        let mut columns = keys
            .iter()
            .map(|k| take(k.as_ref(), &rows, None))
            .collect::<Result<Vec<_>, _>>()?;
        let ts_type = self.schema.field(self.keys).data_type();
        columns.push(cast(&Int64Array::from(pending.ts), ts_type)?);
        columns.push(Arc::new(Float64Array::from(pending.values)));
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        Ok(match &self.projection {
            Some(p) => batch.project(p)?,
            None => batch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::lit;

    #[test]
    fn intervals_are_fixed_widths() {
        assert_eq!(interval_nanos(&lit("1 minute")), Some(60_000_000_000));
        assert_eq!(interval_nanos(&lit("1 day")), Some(86_400_000_000_000));
        assert_eq!(interval_nanos(&lit("1 month")), None);
        assert_eq!(interval_nanos(&lit(5)), None);
        assert_eq!(
            timestamp_nanos(&lit("1970-01-01T00:00:01Z")),
            Some(1_000_000_000)
        );
        assert_eq!(timestamp_nanos(&lit("soon")), None);
    }
}
