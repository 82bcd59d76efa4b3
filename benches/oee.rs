//! OEE and downtime over a month of a 1,000-sensor plant, through fabrik-ops' Rust API
//! (the same code the SQL table functions `oee(…)`, `six_big_losses(…)`,
//! `downtime_pareto(…)` and `mtbf_mttr(…)` run).
//!
//! ```text
//! cargo bench --bench oee
//! ```
//!
//! Input: `PlantConfig::month(42)` — 2 plants of 15 lines × 10 stations (300 machines,
//! 1,020 sensors) over 30 days — its `machine_states` and `production_counts` in
//! `MemTable`s of a fabrik `Session`. Every iteration plans and runs the whole analysis
//! (read the tables, cut the intervals at shift and local-day boundaries, aggregate).
//! Throughput counts the input rows (state intervals + count rows).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fabrik::datafusion::arrow::array::RecordBatch;
use fabrik::datafusion::datasource::MemTable;
use fabrik::datagen::{Plant, PlantConfig};
use fabrik::ops::{Downtime, DowntimeOptions, Entity, Oee, OeeOptions, Period, SixLosses};
use fabrik::sql::Session;

/// Seeded: every run analyses exactly the same month.
const SEED: u64 = 42;

/// The month's shop-floor tables in a session, and their row count.
fn month() -> (Session, u64) {
    let plant = Plant::new(&PlantConfig::month(SEED)).expect("plant");
    let states = plant.machine_states().expect("machine_states");
    let counts = plant.production_counts().expect("production_counts");
    let rows = (states.num_rows() + counts.num_rows()) as u64;
    eprintln!(
        "oee bench input: {} machines, {} state intervals, {} count rows over {} days",
        plant.topology().machines.len(),
        states.num_rows(),
        counts.num_rows(),
        plant.config().days
    );
    let session = Session::new().expect("session");
    for (name, batch) in [("machine_states", states), ("production_counts", counts)] {
        register(&session, name, batch);
    }
    (session, rows)
}

fn register(session: &Session, name: &str, batch: RecordBatch) {
    // Two partitions, as a two-core machine's scan would give.
    let half = batch.num_rows() / 2;
    let parts = vec![
        vec![batch.slice(0, half)],
        vec![batch.slice(half, batch.num_rows() - half)],
    ];
    let table = MemTable::try_new(batch.schema(), parts).expect("memtable");
    session
        .context()
        .register_table(name, Arc::new(table))
        .expect("register");
}

fn oee(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (session, rows) = month();
    let mut group = c.benchmark_group("oee_month");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    for (name, entity, period) in [
        ("machine_shift", Entity::Machine, Period::Shift),
        ("line_day", Entity::Line, Period::Day),
    ] {
        let options = OeeOptions::new(entity, period);
        group.bench_function(format!("oee/{name}"), |b| {
            b.iter(|| {
                black_box(
                    runtime
                        .block_on(Oee::compute(&session, &options))
                        .expect("oee"),
                )
            })
        });
    }
    let options = OeeOptions::new(Entity::Machine, Period::Shift);
    group.bench_function("six_big_losses/machine_shift", |b| {
        b.iter(|| {
            black_box(
                runtime
                    .block_on(SixLosses::compute(&session, &options))
                    .expect("six losses"),
            )
        })
    });
    let by_machine = DowntimeOptions::new(Some(Entity::Machine));
    group.bench_function("downtime_pareto/machine", |b| {
        b.iter(|| {
            black_box(
                runtime
                    .block_on(Downtime::pareto(&session, &by_machine))
                    .expect("pareto"),
            )
        })
    });
    group.bench_function("mtbf_mttr/machine", |b| {
        b.iter(|| {
            black_box(
                runtime
                    .block_on(Downtime::reliability(&session, &by_machine))
                    .expect("mtbf/mttr"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, oee);
criterion_main!(benches);
