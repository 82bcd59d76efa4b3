//! Fitting and forecasting many demand series: fabrik's models over seeded weekly series
//! of three years (156 weeks), in parallel on all cores as `forecast_set` runs them.
//!
//! ```text
//! cargo bench --bench forecast
//! ```
//!
//! Throughput is in series per second (fit plus a 12-week forecast with 80/95% intervals).
//! The series come from `fabrik_datagen::synthetic::demand_series` (seeded: level, trend,
//! a 52-week season, noise; one in five intermittent).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fabrik_datagen::synthetic::demand_series;
use fabrik_forecast::series::{Frequency, Label, Series, SeriesSet};
use fabrik_forecast::{catalog, forecast_set};

/// Seeded: every run fits exactly the same series.
const SEED: u64 = 42;
const WEEKS: usize = 156;
const SERIES: usize = 1_000;

fn set() -> SeriesSet {
    SeriesSet {
        frequency: Frequency::Week,
        label: Label::Offset(0),
        series: demand_series(SERIES, WEEKS, 52, SEED)
            .into_iter()
            .enumerate()
            .map(|(i, values)| Series {
                id: format!("s{i:05}"),
                start: 2_800,
                values,
            })
            .collect(),
    }
}

fn forecast(c: &mut Criterion) {
    let set = set();
    let mut group = c.benchmark_group("forecast");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SERIES as u64));
    for name in ["ets", "theta", "naive", "sba", "auto"] {
        let model = catalog::model(name, 52).expect("a known model");
        group.bench_function(BenchmarkId::new(name, format!("{SERIES}x{WEEKS}w")), |b| {
            b.iter(|| {
                let out = forecast_set(
                    black_box(&set),
                    model.as_ref(),
                    12,
                    &[80.0, 95.0],
                    &|_, _| {},
                )
                .expect("forecast");
                black_box(out.series.len())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, forecast);
criterion_main!(benches);
