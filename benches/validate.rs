//! Throughput of validation: `fabrik_model::validate` over generated telemetry and orders.
//!
//! ```text
//! cargo bench --bench validate
//! ```
//!
//! Every rule of the table runs vectorized over each batch; reasons are formatted only for
//! failing rows, so clean data measures the cost every ingest pays.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fabrik::datagen::{Plant, PlantConfig};
use fabrik::model::{Table, ValidateOptions, validate};

/// Seeded: every run validates exactly the same rows.
const SEED: u64 = 42;

fn validation(c: &mut Criterion) {
    let plant = Plant::new(&PlantConfig::at_scale(1.0, SEED)).expect("plant");
    let telemetry = plant.telemetry_rows(1_000_000).expect("telemetry");
    let orders = plant.orders().expect("orders");
    // Fixed "now" just after the plant's window, so plausibility checks do not depend on
    // the day the bench runs.
    let opts = ValidateOptions::at(plant_now(&plant));

    let mut group = c.benchmark_group("validate");
    let rows: usize = telemetry.iter().map(|b| b.num_rows()).sum();
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function(BenchmarkId::new("sensor_readings", rows), |b| {
        b.iter(|| {
            for batch in &telemetry {
                black_box(validate(Table::SensorReadings, batch, &opts).expect("validate"));
            }
        });
    });
    group.throughput(Throughput::Elements(orders.num_rows() as u64));
    group.bench_function(BenchmarkId::new("orders", orders.num_rows()), |b| {
        b.iter(|| black_box(validate(Table::Orders, &orders, &opts).expect("validate")));
    });
    group.finish();
}

fn plant_now(plant: &Plant) -> i64 {
    let config = plant.config();
    const DAY_US: i64 = 86_400_000_000;
    config.start.timestamp_micros() + (i64::from(config.days) + 1) * DAY_US
}

criterion_group!(benches, validation);
criterion_main!(benches);
