//! Throughput of ingest: telemetry files into a fresh lake table, validation on.
//!
//! ```text
//! cargo bench --bench ingest
//! ```
//!
//! The input is one day of a generated plant's telemetry (seeded), written once as CSV and
//! as Parquet; every iteration ingests it into a new, empty lake (read, parse, validate,
//! dedup, sort, write zstd Parquet, commit).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fabrik::datagen::{Format, PlantConfig, generate};
use fabrik::lake::{IngestOptions, Lake, ingest};
use fabrik::model::Table;

/// Seeded: every run ingests exactly the same rows.
const SEED: u64 = 42;

fn ingest_telemetry(c: &mut Criterion) {
    let data = tempfile::tempdir().expect("temp dir");
    // One day of a small plant's sensors at 1 Hz (the row count is in the bench id).
    let config = PlantConfig {
        days: 1,
        ..PlantConfig::at_scale(0.2, SEED)
    };
    let report = generate(
        &config,
        data.path(),
        &[Format::Csv, Format::Parquet],
        &mut |_| {},
    )
    .expect("generate");
    let rows = report.table(Table::SensorReadings).expect("telemetry").rows;
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");

    let mut group = c.benchmark_group("ingest_sensor_readings");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    for format in [Format::Csv, Format::Parquet] {
        let input = data
            .path()
            .join(format.dir_name())
            .join("sensor_readings")
            .to_string_lossy()
            .into_owned();
        group.bench_with_input(
            BenchmarkId::new(format.dir_name(), rows),
            &input,
            |b, input| {
                b.iter(|| {
                    let lake_dir = tempfile::tempdir().expect("lake dir");
                    runtime.block_on(async {
                        let lake = Lake::open(&lake_dir.path().to_string_lossy())
                            .await
                            .expect("lake");
                        let report = ingest(
                            &lake,
                            Table::SensorReadings,
                            std::slice::from_ref(input),
                            &IngestOptions::default(),
                            &mut |_, _| {},
                        )
                        .await
                        .expect("ingest");
                        assert_eq!(report.accepted(), rows);
                        black_box(report)
                    })
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, ingest_telemetry);
criterion_main!(benches);
