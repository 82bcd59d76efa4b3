//! Throughput of the time-series kernels of `fabrik_kernels`: gap-fill, LTTB downsampling
//! and the time-weighted average.
//!
//! ```text
//! cargo bench --bench gapfill
//! ```
//!
//! - `gap_fill`: 1,000 series × 10,000 one-second points with random holes (about 10 %
//!   missing, some long outages), each filled by LOCF onto its 10,000-point grid with a
//!   one-minute maximum gap; rayon runs the series in parallel.
//! - `lttb`: one series of 1,000,000 points downsampled to 1,000.
//! - `time_weighted_avg`: 10,000,000 points, sequential and in parallel chunks merged
//!   through their partial states.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fabrik::datafusion::arrow::array::Array as _;
use fabrik_kernels::gapfill::GapFill;
use fabrik_kernels::lttb::lttb_indices;
use fabrik_kernels::series::{Interpolation, time_weighted_average, time_weighted_average_par};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Seeded: every run measures exactly the same series.
const SEED: u64 = 42;
const SECOND_US: i64 = 1_000_000;

/// A random walk of `n` points one second apart (µs), with holes: each point is dropped
/// with probability `drop`, and an outage of up to 5 minutes starts with probability
/// `outage`.
fn series(rng: &mut ChaCha8Rng, n: usize, drop: f64, outage: f64) -> (Vec<i64>, Vec<f64>) {
    let mut ts = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    let mut v = 20.0;
    let mut skip = 0usize;
    for i in 0..n {
        v += rng.random_range(-0.5..0.5);
        if skip > 0 {
            skip -= 1;
            continue;
        }
        if rng.random_bool(outage) {
            skip = rng.random_range(1..300);
            continue;
        }
        if rng.random_bool(drop) {
            continue;
        }
        ts.push(i as i64 * SECOND_US);
        values.push(v);
    }
    (ts, values)
}

fn kernels(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut group = c.benchmark_group("gapfill");

    const SERIES: usize = 1_000;
    const POINTS: usize = 10_000;
    let many: Vec<(Vec<i64>, Vec<f64>)> = (0..SERIES)
        .map(|_| series(&mut rng, POINTS, 0.1, 0.0005))
        .collect();
    let fill = GapFill::new(
        0,
        POINTS as i64 * SECOND_US,
        SECOND_US,
        Interpolation::Locf,
        Some(60 * SECOND_US),
    )
    .expect("gap fill");
    group.throughput(Throughput::Elements((SERIES * POINTS) as u64));
    group.bench_function(BenchmarkId::new("gap_fill", SERIES * POINTS), |b| {
        b.iter(|| {
            let filled: usize = many
                .par_iter()
                .map(|(t, v)| fill.fill(t, v).expect("fill").null_count())
                .sum();
            black_box(filled)
        });
    });

    const LTTB_IN: usize = 1_000_000;
    let (t, v) = series(&mut rng, LTTB_IN, 0.0, 0.0);
    group.throughput(Throughput::Elements(t.len() as u64));
    group.bench_function(BenchmarkId::new("lttb_to_1000", t.len()), |b| {
        b.iter(|| black_box(lttb_indices(&t, &v, 1_000).expect("lttb")));
    });

    const TWA_IN: usize = 10_000_000;
    let (t, v) = series(&mut rng, TWA_IN, 0.0, 0.0);
    group.throughput(Throughput::Elements(t.len() as u64));
    group.bench_function(BenchmarkId::new("time_weighted_avg", t.len()), |b| {
        b.iter(|| black_box(time_weighted_average(&t, &v, Interpolation::Linear).expect("twa")));
    });
    group.bench_function(BenchmarkId::new("time_weighted_avg_par", t.len()), |b| {
        b.iter(|| {
            black_box(
                time_weighted_average_par(&t, &v, Interpolation::Linear, 1 << 18).expect("twa"),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
