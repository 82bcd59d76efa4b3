//! Throughput of the synthetic plant generator (`fabrik-datagen`).
//!
//! ```text
//! cargo bench --bench datagen                       # all cores
//! RAYON_NUM_THREADS=1 cargo bench --bench datagen   # one core (the issue's target)
//! ```
//!
//! Groups: `datagen_telemetry` builds N telemetry rows as Arrow batches in memory;
//! `datagen_telemetry_parquet` also writes them to one Parquet file with fabrik's writer
//! settings (zstd, dictionaries, statistics, sorted). Both report rows per second.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fabrik::datagen::{Plant, PlantConfig, write_parquet};
use fabrik::model::Table;

/// Seeded: every run generates exactly the same rows.
const SEED: u64 = 42;
const SIZES: [usize; 2] = [1_000_000, 10_000_000];

fn telemetry(c: &mut Criterion) {
    // Scale 1: 84 sensors, about 7 million readings a day over 7 days. The plant (topology,
    // orders, states) is simulated once; the benches time the telemetry alone, which comes
    // out sorted by (sensor_id, ts).
    let plant = Plant::new(&PlantConfig::at_scale(1.0, SEED)).expect("plant");
    let mut group = c.benchmark_group("datagen_telemetry");
    group.sample_size(10);
    for rows in SIZES {
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &rows, |b, &rows| {
            b.iter(|| black_box(plant.telemetry_rows(rows).expect("generate")));
        });
    }
    group.finish();

    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("datagen_telemetry_parquet");
    group.sample_size(10);
    for rows in SIZES {
        let path = dir.path().join(format!("sensor_readings-{rows}.parquet"));
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &rows, |b, &rows| {
            b.iter(|| {
                let batches = plant.telemetry_rows(rows).expect("generate");
                black_box(
                    write_parquet(&path, Table::SensorReadings, &batches, true).expect("write"),
                )
            });
        });
    }
    group.finish();
}

criterion_group!(benches, telemetry);
criterion_main!(benches);
