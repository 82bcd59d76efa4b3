//! Throughput of the quantile sketch (`fabrik_kernels::QuantileSketch`) against the exact
//! quantile (`fabrik_kernels::exact_quantile`, a partial sort) on the same values.
//!
//! ```text
//! cargo bench --bench sketch
//! ```
//!
//! Values are lognormal-like (a skewed, positive distribution, as sensor readings are),
//! from a seeded ChaCha stream so every run measures the same data.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fabrik_kernels::{QuantileSketch, exact_quantile};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded: every run sketches exactly the same values.
const SEED: u64 = 42;

fn values(n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    (0..n)
        .map(|_| {
            // exp of a sum of uniforms: roughly lognormal, cheap to generate.
            let z: f64 = (0..4).map(|_| rng.random::<f64>()).sum::<f64>() - 2.0;
            (3.0 + 1.5 * z).exp()
        })
        .collect()
}

fn sketch(c: &mut Criterion) {
    let mut group = c.benchmark_group("sketch");
    for n in [1_000_000, 10_000_000] {
        let data = values(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("insert", n), |b| {
            b.iter(|| {
                let mut s = QuantileSketch::default();
                s.insert_slice(black_box(&data));
                black_box(s.count())
            });
        });
        group.bench_function(BenchmarkId::new("exact_quantile", n), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |d| black_box(exact_quantile(d, 0.99)),
                criterion::BatchSize::LargeInput,
            );
        });
    }

    // Merging: 1,000 partial sketches of 10,000 values each (e.g. per-partition states).
    let data = values(10_000_000);
    let parts: Vec<QuantileSketch> = data
        .chunks(10_000)
        .map(|c| {
            let mut s = QuantileSketch::default();
            s.insert_slice(c);
            s
        })
        .collect();
    group.throughput(Throughput::Elements(parts.len() as u64));
    group.bench_function(BenchmarkId::new("merge", parts.len()), |b| {
        b.iter(|| {
            let mut all = QuantileSketch::default();
            for p in &parts {
                all.merge(p).expect("same accuracy");
            }
            black_box(all.count())
        });
    });
    let mut all = QuantileSketch::default();
    for p in &parts {
        all.merge(p).expect("same accuracy");
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("quantile", |b| {
        b.iter(|| black_box(all.quantile(black_box(0.99)).expect("valid q")));
    });
    group.finish();
}

criterion_group!(benches, sketch);
criterion_main!(benches);
