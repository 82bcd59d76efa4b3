//! Demand forecasting from SQL: demand series out of the `orders` table, forecasts of any
//! query's series, and the lake's `demand_forecast` table.
//!
//! ```sql
//! -- Weekly units per option value, gap-filled with zeros from each series' first sale.
//! SELECT * FROM demand_series('option', 'week');
//! -- The next 12 weeks of each, with fabrik's automatic model choice and 80/95% intervals.
//! SELECT * FROM forecast('SELECT * FROM demand_series(''option'', ''week'')', 'week', 12);
//! -- Any query of (series id, timestamp, quantity) rows will do; the model and the levels
//! -- can be given.
//! SELECT * FROM forecast('SELECT region, created_at, quantity FROM orders', 'month', 6,
//!                        'ets', '50,90');
//! ```
//!
//! - [`DEMAND_SERIES`] — `demand_series(level, frequency)`: `level` is `sku`, `family`,
//!   `region`, `channel`, `option` (every option of every family, ids like
//!   `washing_machine/color=graphite`) or one option (`capacity_kg`, `color`, `motor`,
//!   `panel`); `frequency` is `day`, `week` (ISO weeks from Monday) or `month`. Cancelled
//!   orders do not count. Columns: `series_id`, `ts` (the period's start, UTC), `y`.
//! - [`FORECAST`] — `forecast('<query>', frequency, horizon [, model [, levels]])`: the
//!   query's rows (id, timestamp, quantity; rows of one id and period summed, periods
//!   without rows counted as zero) as series of `frequency`, each forecast `horizon`
//!   periods ahead with `model` (default `auto`; see [`fabrik_forecast::catalog`]) and
//!   intervals at `levels` (default `'80,95'`). Columns: those of
//!   [`fabrik_forecast::batch::forecast_schema`]. A series that cannot be forecast (too
//!   short for the model) gets one row with `step` 0, `model` = `failed: <reason>` and a
//!   NaN `mean`, so that no series goes missing silently.
//!
//! Both read their input completely before answering (a forecast needs whole series).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{
    Session as CatalogSession, TableFunctionArgs, TableFunctionImpl, TableProvider,
};
use datafusion::error::Result as DFResult;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use fabrik_forecast::batch::{Forecasts, forecast_schema, forecast_set};
use fabrik_forecast::series::{Fill, Frequency, SeriesSet};
use fabrik_lake::Lake;
use fabrik_lake::table::WriteOutcome;

use crate::collect::{CollectExec, CollectJob};
use crate::error::{Error, Result};
use crate::lake::{external, integer};
use crate::session::Session;
use crate::timeseries::{Inner, string};

/// `demand_series(level, frequency)`: demand series from the orders (module docs).
pub const DEMAND_SERIES: &str = "demand_series";

/// `forecast('<query>', frequency, horizon [, model [, levels]])` (module docs).
pub const FORECAST: &str = "forecast";

/// The lake's table of demand forecasts ([`write_demand_forecast`]).
pub const DEMAND_FORECAST: &str = "demand_forecast";

const DEMAND_SERIES_USAGE: &str = "demand_series('sku' | 'family' | 'region' | 'channel' | 'option' | 'capacity_kg' | 'color' | 'motor' | 'panel', 'day' | 'week' | 'month' | 'quarter' | 'year')";
const FORECAST_USAGE: &str = "forecast('SELECT <series id>, <timestamp>, <quantity> FROM …', 'day' | 'week' | 'month' | 'quarter' | 'year', <horizon> [, 'auto' | 'ets' | 'theta' | … [, '80,95']])";

/// The options of an order, one column each in `orders`.
pub const OPTIONS: [&str; 4] = ["capacity_kg", "color", "motor", "panel"];

/// What a demand series counts: units per sku, family, region, channel, or per value of
/// one option within a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandLevel {
    /// Per configuration code.
    Sku,
    /// Per product family.
    Family,
    /// Per sales region.
    Region,
    /// Per sales channel.
    Channel,
    /// Per (family, value) of one option (one of [`OPTIONS`]); ids like
    /// `washing_machine/color=graphite`.
    Option(&'static str),
    /// Per (family, option, value) of every option.
    AllOptions,
}

impl DemandLevel {
    /// Parses `sku`, `family`, `region`, `channel`, `option` or an option's column name.
    pub fn parse(text: &str) -> Option<DemandLevel> {
        let t = text.trim().to_ascii_lowercase();
        Some(match t.as_str() {
            "sku" => DemandLevel::Sku,
            "family" | "product_family" => DemandLevel::Family,
            "region" => DemandLevel::Region,
            "channel" => DemandLevel::Channel,
            "option" | "options" => DemandLevel::AllOptions,
            other => DemandLevel::Option(OPTIONS.into_iter().find(|o| *o == other)?),
        })
    }

    /// The SQL giving this level's (series_id, ts, y) totals per period of `frequency`
    /// from `orders` (cancelled orders left out).
    pub fn sql(self, frequency: Frequency) -> String {
        let one = |id: &str, filter: &str| {
            format!(
                "SELECT {id} AS series_id, date_trunc('{f}', created_at) AS ts, \
                 CAST(sum(quantity) AS DOUBLE) AS y FROM orders \
                 WHERE status <> 'cancelled'{filter} GROUP BY 1, 2",
                f = frequency.name()
            )
        };
        let option = |o: &str| {
            one(
                &format!("product_family || '/{o}=' || CAST({o} AS VARCHAR)"),
                &format!(" AND {o} IS NOT NULL"),
            )
        };
        match self {
            DemandLevel::Sku => one("sku", ""),
            DemandLevel::Family => one("product_family", ""),
            DemandLevel::Region => one("region", ""),
            DemandLevel::Channel => one("channel", ""),
            DemandLevel::Option(o) => option(o),
            DemandLevel::AllOptions => OPTIONS
                .iter()
                .map(|o| option(o))
                .collect::<Vec<_>>()
                .join(" UNION ALL "),
        }
    }
}

impl fmt::Display for DemandLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemandLevel::Sku => f.write_str("sku"),
            DemandLevel::Family => f.write_str("family"),
            DemandLevel::Region => f.write_str("region"),
            DemandLevel::Channel => f.write_str("channel"),
            DemandLevel::Option(o) => f.write_str(o),
            DemandLevel::AllOptions => f.write_str("option"),
        }
    }
}

/// The schema of [`DEMAND_SERIES`]: `series_id`, `ts` (µs, UTC), `y`.
pub fn demand_series_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("series_id", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("y", DataType::Float64, false),
    ]))
}

/// A series set as one batch of [`demand_series_schema`].
pub fn series_batch(set: &SeriesSet) -> Result<RecordBatch> {
    use datafusion::arrow::array::{Float64Builder, StringBuilder, TimestampMicrosecondBuilder};
    let rows = set.series.iter().map(|s| s.values.len()).sum();
    let mut id = StringBuilder::with_capacity(rows, rows * 16);
    let mut ts = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC");
    let mut y = Float64Builder::with_capacity(rows);
    for s in &set.series {
        for (i, v) in s.values.iter().enumerate() {
            id.append_value(&s.id);
            ts.append_value(set.frequency.start_micros(s.start + i as i64));
            y.append_value(*v);
        }
    }
    Ok(RecordBatch::try_new(
        demand_series_schema(),
        vec![
            Arc::new(id.finish()),
            Arc::new(ts.finish()),
            Arc::new(y.finish()),
        ],
    )?)
}

impl Session {
    /// The demand series of `level` at `frequency` from the session's `orders` table,
    /// gap-filled with zeros ([`SeriesSet::from_totals`] with `fill`).
    pub async fn demand_series(
        &self,
        level: DemandLevel,
        frequency: Frequency,
        fill: Fill,
    ) -> Result<SeriesSet> {
        let batches = self.query(&level.sql(frequency)).await?;
        Ok(SeriesSet::from_totals(&batches, frequency, fill)?)
    }
}

/// Writes forecasts of `set` to the lake's [`DEMAND_FORECAST`] table, replacing its rows
/// (older versions stay readable with `lake_as_of`), in one commit identified by `app_id`.
/// Columns: `level` (what the series count, e.g. `option`), then
/// [`forecast_schema`]'s.
pub async fn write_demand_forecast(
    lake: &Lake,
    level: &str,
    set: &SeriesSet,
    forecasts: &Forecasts,
    app_id: &str,
) -> Result<WriteOutcome> {
    let batch = forecasts.to_batch(set)?;
    let batch = with_level(&batch, level)?;
    let table = lake
        .results(
            DEMAND_FORECAST,
            &batch.schema(),
            "demand forecasts per series and period, with prediction intervals",
        )
        .await?;
    Ok(table.replace(vec![batch], app_id).await?)
}

fn with_level(batch: &RecordBatch, level: &str) -> Result<RecordBatch> {
    use datafusion::arrow::array::{ArrayRef, StringArray};
    let mut fields = vec![Field::new("level", DataType::Utf8, false)];
    fields.extend(batch.schema().fields().iter().map(|f| f.as_ref().clone()));
    let mut columns: Vec<ArrayRef> =
        vec![Arc::new(StringArray::from(vec![level; batch.num_rows()]))];
    columns.extend(batch.columns().iter().cloned());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Registers [`DEMAND_SERIES`] and [`FORECAST`] in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udtf(DEMAND_SERIES, Arc::new(DemandSeriesFunction));
    ctx.register_udtf(FORECAST, Arc::new(ForecastFunction));
}

fn frequency_arg(
    function: &'static str,
    usage: &'static str,
    exprs: &[Expr],
    position: usize,
) -> DFResult<Frequency> {
    exprs
        .get(position - 1)
        .and_then(string)
        .and_then(Frequency::parse)
        .ok_or_else(|| {
            external(Error::TableFunctionArgument {
                function,
                position,
                expected: "'day', 'week', 'month', 'quarter' or 'year'",
                found: exprs
                    .get(position - 1)
                    .map_or_else(|| "nothing".into(), |e| e.to_string()),
                usage,
            })
        })
}

/// What a call computes from its input's rows.
#[derive(Debug, Clone)]
enum Job {
    /// Gap-filled series.
    Series(Frequency),
    /// Forecasts.
    Forecast {
        frequency: Frequency,
        horizon: usize,
        model: String,
        levels: Vec<f64>,
    },
}

impl Job {
    fn output_schema(&self) -> SchemaRef {
        match self {
            Job::Series(_) => demand_series_schema(),
            Job::Forecast { levels, .. } => forecast_schema(levels),
        }
    }

    fn compute(&self, input: &[RecordBatch]) -> Result<RecordBatch> {
        match self {
            Job::Series(frequency) => {
                series_batch(&SeriesSet::from_totals(input, *frequency, Fill::default())?)
            }
            Job::Forecast {
                frequency,
                horizon,
                model,
                levels,
            } => {
                let set = SeriesSet::from_totals(input, *frequency, Fill::default())?;
                let model =
                    fabrik_forecast::catalog::model_for(model, frequency.season(), *horizon)?;
                let forecasts = forecast_set(&set, model.as_ref(), *horizon, levels, &|_, _| {})?;
                let batch = forecasts.to_batch(&set)?;
                let failed = failure_rows(&set, &forecasts, &batch.schema())?;
                Ok(concat_batches(&batch.schema(), [&batch, &failed])?)
            }
        }
    }
}

/// One row per series that could not be forecast, so that none goes missing silently:
/// `step` 0, `ts` the first period that would have been forecast, `model` the reason
/// (`failed: …`), `mean` NaN, the bounds null.
fn failure_rows(set: &SeriesSet, forecasts: &Forecasts, schema: &SchemaRef) -> Result<RecordBatch> {
    use datafusion::arrow::array::{
        ArrayRef, Float64Array, Int32Array, StringArray, TimestampMicrosecondArray,
    };
    let ends: std::collections::HashMap<&str, i64> = set
        .series
        .iter()
        .map(|s| (s.id.as_str(), s.end()))
        .collect();
    let mut ids = Vec::new();
    let mut ts = Vec::new();
    let mut reasons = Vec::new();
    for e in &forecasts.failures {
        let (id, reason) = match e {
            fabrik_forecast::Error::Series { series, source } => {
                (series.clone(), source.to_string())
            }
            other => (String::new(), other.to_string()),
        };
        let end = ends.get(id.as_str()).copied().unwrap_or(0);
        ts.push(set.frequency.start_micros(end));
        ids.push(id);
        reasons.push(format!("failed: {reason}"));
    }
    let n = ids.len();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        Arc::new(Int32Array::from(vec![0; n])),
        Arc::new(StringArray::from(reasons)),
        Arc::new(Float64Array::from(vec![f64::NAN; n])),
    ];
    for _ in 0..2 * forecasts.levels.len() {
        columns.push(Arc::new(Float64Array::from(vec![None::<f64>; n])));
    }
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

#[derive(Debug)]
struct DemandSeriesFunction;

impl TableFunctionImpl for DemandSeriesFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() != 2 {
            return Err(external(Error::TableFunctionArity {
                function: DEMAND_SERIES,
                usage: DEMAND_SERIES_USAGE,
                found: exprs.len(),
            }));
        }
        let level = string(&exprs[0])
            .and_then(DemandLevel::parse)
            .ok_or_else(|| {
                external(Error::TableFunctionArgument {
                    function: DEMAND_SERIES,
                    position: 1,
                    expected: "'sku', 'family', 'region', 'channel', 'option' or an option column",
                    found: exprs[0].to_string(),
                    usage: DEMAND_SERIES_USAGE,
                })
            })?;
        let frequency = frequency_arg(DEMAND_SERIES, DEMAND_SERIES_USAGE, exprs, 2)?;
        // Plan the level's SQL as the inner query of a call with it as argument 1.
        let sql = Expr::Literal(
            datafusion::common::ScalarValue::Utf8(Some(level.sql(frequency))),
            None,
        );
        let inner_args = TableFunctionArgs::new(std::slice::from_ref(&sql), args.session());
        let inner = Inner::plan(DEMAND_SERIES, DEMAND_SERIES_USAGE, &inner_args)?;
        Ok(Arc::new(CollectTable {
            inner,
            job: Job::Series(frequency),
        }))
    }
}

#[derive(Debug)]
struct ForecastFunction;

impl TableFunctionImpl for ForecastFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if !(3..=5).contains(&exprs.len()) {
            return Err(external(Error::TableFunctionArity {
                function: FORECAST,
                usage: FORECAST_USAGE,
                found: exprs.len(),
            }));
        }
        let inner = Inner::plan(FORECAST, FORECAST_USAGE, &args)?;
        let arg = |position: usize, expected: &'static str| {
            external(Error::TableFunctionArgument {
                function: FORECAST,
                position,
                expected,
                found: exprs[position - 1].to_string(),
                usage: FORECAST_USAGE,
            })
        };
        if inner.keys != 1 {
            return Err(arg(
                1,
                "a query of exactly three columns: a series id, a TIMESTAMP and a quantity",
            ));
        }
        let frequency = frequency_arg(FORECAST, FORECAST_USAGE, exprs, 2)?;
        let horizon = integer(&exprs[2])
            .and_then(|h| usize::try_from(h).ok())
            .filter(|h| (1..=10_000).contains(h))
            .ok_or_else(|| arg(3, "a horizon in periods, from 1 to 10000"))?;
        let model = match exprs.get(3) {
            None => "auto".to_string(),
            Some(e) => {
                let name = string(e)
                    .ok_or_else(|| arg(4, "a model name as a string, e.g. 'auto' or 'ets'"))?;
                // Refuse an unknown model while planning, not at execution.
                fabrik_forecast::catalog::model_for(name, frequency.season(), horizon)
                    .map_err(|e| external(Error::Forecast(e)))?;
                name.to_string()
            }
        };
        let levels = match exprs.get(4) {
            None => vec![80.0, 95.0],
            Some(e) => string(e)
                .and_then(|s| {
                    s.split(',')
                        .filter(|p| !p.trim().is_empty())
                        .map(|p| {
                            p.trim()
                                .parse::<f64>()
                                .ok()
                                .filter(|l| *l > 0.0 && *l < 100.0)
                        })
                        .collect::<Option<Vec<f64>>>()
                })
                .ok_or_else(|| {
                    arg(
                        5,
                        "interval levels in percent as a string, e.g. '80,95' (or '' for none)",
                    )
                })?,
        };
        Ok(Arc::new(CollectTable {
            inner,
            job: Job::Forecast {
                frequency,
                horizon,
                model,
                levels,
            },
        }))
    }
}

/// The table a call returns: its inner query, collected, then the job.
#[derive(Debug)]
struct CollectTable {
    inner: Inner,
    job: Job,
}

#[async_trait]
impl TableProvider for CollectTable {
    fn schema(&self) -> SchemaRef {
        self.job.output_schema()
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
        let input = state.create_physical_plan(&self.inner.plan).await?;
        Ok(Arc::new(CollectExec::try_new(
            Some(input),
            Arc::new(self.job.clone()),
            projection.cloned(),
        )?))
    }
}

/// [`DEMAND_SERIES`] and [`FORECAST`] compute from their whole input.
#[async_trait]
impl CollectJob for Job {
    fn schema(&self) -> SchemaRef {
        self.output_schema()
    }

    async fn run(
        &self,
        input: Vec<RecordBatch>,
        _context: Arc<TaskContext>,
    ) -> DFResult<RecordBatch> {
        self.compute(&input).map_err(external)
    }

    fn describe(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Job::Series(freq) => write!(f, "DemandSeriesExec: frequency={freq}"),
            Job::Forecast {
                frequency,
                horizon,
                model,
                levels,
            } => write!(
                f,
                "ForecastExec: frequency={frequency}, horizon={horizon}, model={model}, levels={levels:?}"
            ),
        }
    }
}
