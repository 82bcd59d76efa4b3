//! The 1-minute rollup (count, min, max, avg per sensor and minute) in memory: fabrik's
//! kernel against DataFusion's SQL over the very same RecordBatches in a `MemTable`
//! (default `SessionContext`, no sort order declared — DataFusion's generic plan).
//!
//! ```text
//! cargo bench --bench rollup
//! ```
//!
//! Input: seeded telemetry sorted by `(sensor_id, ts)`, 1,000 sensors, batches of 64 Ki
//! rows, at 1M and 10M rows, with `sensor_id` as plain strings (`utf8/…`) and as a
//! dictionary (`dict/…`, as fabrik's Parquet scan reads it); both engines get the very same
//! batches. `kernel_1thread` is the kernel on one core (the per-core rate);
//! `kernel_1thread_sorted` the same told that the input is sorted (runs found by search
//! rather than by reading every key and timestamp); `kernel` splits
//! the batches over rayon's pool and merges the partial rollups; `datafusion_sql` plans and
//! runs the SQL each iteration (default session: all cores).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fabrik::datafusion::arrow::array::RecordBatch;
use fabrik::datafusion::arrow::compute::cast;
use fabrik::datafusion::arrow::datatypes::{DataType, Field, Schema};
use fabrik::datafusion::datasource::MemTable;
use fabrik::datafusion::prelude::SessionContext;
use fabrik::datagen::synthetic;
use fabrik::kernels::Bucket;
use fabrik::kernels::rollup::{Agg, AggInput, Rollup, RollupSpec, rollup_batches};

/// Seeded: every run aggregates exactly the same rows.
const SEED: u64 = 42;
const SENSORS: usize = 1_000;
const BATCH_ROWS: usize = 64 * 1024;

const SQL: &str = "SELECT sensor_id, date_bin(INTERVAL '1 minute', ts) AS bucket, \
     count(*) AS n, min(value) AS vmin, max(value) AS vmax, avg(value) AS vavg \
     FROM telemetry GROUP BY sensor_id, bucket";

fn spec() -> RollupSpec {
    // Columns: sensor_id, machine_id, metric, ts, value.
    RollupSpec {
        keys: vec![0],
        bucket: Some((
            3,
            Bucket::Fixed {
                width: 60_000_000,
                origin: 0,
            },
        )),
        aggs: vec![
            AggInput::new(Agg::CountRows),
            AggInput::of(Agg::Min, 4),
            AggInput::of(Agg::Max, 4),
            AggInput::of(Agg::Mean, 4),
        ],
    }
}

fn types(batches: &[RecordBatch]) -> Vec<DataType> {
    batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect()
}

/// The batch with `sensor_id` (column 0) as `Dictionary(Int32, Utf8)`.
fn dictionary_sensor_ids(batch: &RecordBatch) -> RecordBatch {
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let mut cols = batch.columns().to_vec();
    cols[0] = cast(&cols[0], &dict).expect("dictionary");
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[0] = fields[0].clone().with_data_type(dict);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch")
}

fn rollup_1m(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut group = c.benchmark_group("rollup_1m");
    group.sample_size(10);
    for (layout, rows) in [
        ("utf8", 1_000_000usize),
        ("utf8", 10_000_000),
        ("dict", 1_000_000),
        ("dict", 10_000_000),
    ] {
        let mut batches = synthetic::telemetry(rows, SENSORS, BATCH_ROWS, SEED).expect("telemetry");
        if layout == "dict" {
            batches = batches.iter().map(dictionary_sensor_ids).collect();
        }
        let types = types(&batches);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(
            BenchmarkId::new(format!("{layout}/kernel_1thread"), rows),
            |b| {
                b.iter(|| {
                    let mut r = Rollup::new(spec(), &types).expect("rollup");
                    for batch in &batches {
                        r.update(batch.columns()).expect("update");
                    }
                    black_box(r.finish().expect("finish"))
                })
            },
        );
        // The same, told that the input is sorted by (sensor_id, ts), as the SQL operator
        // tells it when that order is declared (runs found by search, not by a scan), and
        // how many rows to expect, as the operator tells it from the scan's row count.
        group.bench_function(
            BenchmarkId::new(format!("{layout}/kernel_1thread_sorted"), rows),
            |b| {
                b.iter(|| {
                    let mut r = Rollup::new(spec(), &types)
                        .expect("rollup")
                        .with_sorted_input()
                        .with_expected_rows(rows as u64);
                    for batch in &batches {
                        r.update(batch.columns()).expect("update");
                    }
                    black_box(r.finish().expect("finish"))
                })
            },
        );
        group.bench_function(BenchmarkId::new(format!("{layout}/kernel"), rows), |b| {
            b.iter(|| black_box(rollup_batches(&spec(), &types, &batches).expect("rollup")))
        });
        let ctx = SessionContext::new();
        let table =
            MemTable::try_new(batches[0].schema(), vec![batches.clone()]).expect("memtable");
        ctx.register_table("telemetry", Arc::new(table))
            .expect("register");
        group.bench_function(
            BenchmarkId::new(format!("{layout}/datafusion_sql"), rows),
            |b| {
                b.iter(|| {
                    runtime.block_on(async {
                        black_box(
                            ctx.sql(SQL)
                                .await
                                .expect("plan")
                                .collect()
                                .await
                                .expect("run"),
                        )
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, rollup_1m);
criterion_main!(benches);
