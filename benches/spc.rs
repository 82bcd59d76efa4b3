//! Statistical process control over a month of a 1,000-sensor plant.
//!
//! ```text
//! cargo bench --bench spc
//! ```
//!
//! Input: `PlantConfig::month(42)` — 300 machines, 1,020 sensors, 30 days, one reading a
//! minute per sensor (44 million readings), sorted by `(sensor_id, ts)`, ids as
//! dictionaries. Throughput counts readings. Three ways in:
//!
//! - `kernels`: per sensor (rayon over sensors), limits from the first 480 readings (8
//!   hours) by moving range, then the Shewhart chart with all twelve Western Electric and
//!   Nelson rules, the EWMA chart and the tabular CUSUM over the month
//!   (`fabrik_kernels::spc`'s streaming states, fed chunks of 4,096 readings whose signals
//!   are counted and dropped); the readings are already in one `Vec<f64>` per sensor.
//! - `sql_window`: the Shewhart chart with all twelve rules as a SQL window function,
//!   `spc_rule(value, 'all', 480) OVER (PARTITION BY sensor_id ORDER BY ts)`, over a
//!   `MemTable` whose `(sensor_id, ts)` order is declared, counting the rows that fire
//!   (DataFusion repartitions by sensor and sorts, then fabrik charts each sensor).
//! - `anomalies`: `fabrik_ops::anomalies`, the whole detector — readings of good quality,
//!   10-minute subgroup means of running machines (a join with `machine_states`), limits
//!   from the first 48 subgroups, the default chart, alarms debounced into episodes.
//!
//! The raw minute readings include idle and set-up time, so the charts fire on most of
//! them (about ten signals a reading over the three charts of `kernels`, most rows in
//! `sql_window`): these benches measure the charts under a heavy load of signals.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fabrik::datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use fabrik::datafusion::arrow::compute::cast;
use fabrik::datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use fabrik::datafusion::datasource::MemTable;
use fabrik::datafusion::prelude::col;
use fabrik::datagen::{Plant, PlantConfig};
use fabrik::kernels::spc::{
    CusumParams, CusumState, EwmaParams, EwmaState, RuleSet, ShewhartState, SigmaEstimate, Summary,
};
use fabrik::ops::{AnomalyOptions, anomalies};
use fabrik::sql::Session;
use rayon::prelude::*;

/// Seeded: every run charts exactly the same month.
const SEED: u64 = 42;
/// Readings the kernels' and the SQL's limits are learned from (8 hours at one a minute).
const BASELINE: usize = 480;

const SQL: &str = "SELECT count(rule) AS rule_rows \
     FROM (SELECT spc_rule(value, 'all', 480) OVER w AS rule \
           FROM sensor_readings \
           WINDOW w AS (PARTITION BY sensor_id ORDER BY ts))";

struct Month {
    /// `sensor_id, machine_id` (dictionaries), `ts`, `value`, `quality`, sorted by
    /// `(sensor_id, ts)`.
    readings: Vec<RecordBatch>,
    /// One vector of readings per sensor, in time order (a null reading as NaN).
    series: Vec<Vec<f64>>,
    states: RecordBatch,
    rows: u64,
}

fn month() -> Month {
    let plant = Plant::new(&PlantConfig::month(SEED)).expect("plant");
    let batches = plant.telemetry_sorted().expect("telemetry");
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let schema = Arc::new(Schema::new(vec![
        Field::new("sensor_id", dict.clone(), false),
        Field::new("machine_id", dict.clone(), false),
        batches[0]
            .schema()
            .field_with_name("ts")
            .expect("ts")
            .clone(),
        Field::new("value", DataType::Float64, true),
        batches[0]
            .schema()
            .field_with_name("quality")
            .expect("quality")
            .clone(),
    ]));
    let column = |b: &RecordBatch, name: &str| -> ArrayRef {
        b.column_by_name(name)
            .expect("sensor_readings column")
            .clone()
    };
    let readings: Vec<RecordBatch> = batches
        .iter()
        .map(|b| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    cast(&column(b, "sensor_id"), &dict).expect("dictionary"),
                    cast(&column(b, "machine_id"), &dict).expect("dictionary"),
                    column(b, "ts"),
                    cast(&column(b, "value"), &DataType::Float64).expect("float"),
                    column(b, "quality"),
                ],
            )
            .expect("batch")
        })
        .collect();
    // One series per run of equal sensor ids (the batches are sorted by sensor, then ts).
    let mut series: Vec<Vec<f64>> = Vec::new();
    let mut current: Option<String> = None;
    for b in &batches {
        let ids = cast(&column(b, "sensor_id"), &DataType::Utf8).expect("ids");
        let ids = ids.as_string::<i32>();
        let values = cast(&column(b, "value"), &DataType::Float64).expect("float");
        let values = values.as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if current.as_deref() != Some(ids.value(i)) {
                current = Some(ids.value(i).to_owned());
                series.push(Vec::new());
            }
            let v = if values.is_null(i) {
                f64::NAN
            } else {
                values.value(i)
            };
            series.last_mut().expect("a series was started").push(v);
        }
    }
    let rows = readings.iter().map(|b| b.num_rows() as u64).sum();
    let states = plant.machine_states().expect("machine_states");
    eprintln!(
        "spc bench input: {} sensors, {rows} readings, {} state intervals over {} days",
        series.len(),
        states.num_rows(),
        plant.config().days
    );
    Month {
        readings,
        series,
        states,
        rows,
    }
}

/// Charts one sensor with every kernel, streaming: the readings go through each chart's
/// state in chunks, and each chunk's signals are counted and dropped (as a consumer that
/// writes alarms out would), so the bench measures the charts rather than growing one huge
/// vector of signals. Returns the number of signals (0 when the baseline gives no limits,
/// e.g. a constant sensor).
fn chart(values: &[f64]) -> usize {
    const CHUNK: usize = 4096;
    let mut baseline = Summary::new();
    baseline.update(&values[..BASELINE.min(values.len())]);
    let Ok(limits) = baseline.limits(SigmaEstimate::MovingRange) else {
        return 0;
    };
    let (Ok(mut ewma), Ok(mut cusum)) = (
        EwmaState::new(limits, EwmaParams::default()),
        CusumState::new(limits, CusumParams::default()),
    ) else {
        return 0;
    };
    let mut rules = ShewhartState::new(limits, RuleSet::ALL);
    let (mut violations, mut ewma_signals, mut cusum_signals) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut signals = 0;
    for chunk in values.chunks(CHUNK) {
        rules.update(chunk, &mut violations);
        ewma.update(chunk, &mut ewma_signals);
        cusum.update(chunk, &mut cusum_signals);
        signals += violations.len() + ewma_signals.len() + cusum_signals.len();
        violations.clear();
        ewma_signals.clear();
        cusum_signals.clear();
    }
    signals
}

fn session(month: &Month) -> Session {
    let session = Session::new().expect("session");
    let ctx = session.context();
    let order = vec![vec![
        col("sensor_id").sort(true, false),
        col("ts").sort(true, false),
    ]];
    let readings = MemTable::try_new(month.readings[0].schema(), vec![month.readings.clone()])
        .expect("memtable")
        .with_sort_order(order);
    ctx.register_table("sensor_readings", Arc::new(readings))
        .expect("register");
    let states = MemTable::try_new(month.states.schema(), vec![vec![month.states.clone()]])
        .expect("memtable");
    ctx.register_table("machine_states", Arc::new(states))
        .expect("register");
    session
}

fn spc(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let month = month();
    let session = session(&month);
    let mut group = c.benchmark_group("spc_month");
    group.sample_size(10);
    group.throughput(Throughput::Elements(month.rows));
    group.bench_function("kernels", |b| {
        b.iter(|| black_box(month.series.par_iter().map(|s| chart(s)).sum::<usize>()))
    });
    group.bench_function("sql_window", |b| {
        b.iter(|| {
            runtime.block_on(async {
                black_box(
                    session
                        .context()
                        .sql(SQL)
                        .await
                        .expect("plan")
                        .collect()
                        .await
                        .expect("run"),
                )
            })
        })
    });
    let options = AnomalyOptions {
        subgroup: Duration::from_secs(600),
        min_readings: 5,
        baseline: 48,
        ..AnomalyOptions::default()
    };
    group.bench_function("anomalies", |b| {
        b.iter(|| {
            black_box(
                runtime
                    .block_on(anomalies(&session, &options))
                    .expect("anomalies")
                    .charted,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, spc);
criterion_main!(benches);
