//! Seeded synthetic inputs for benchmarks and kernel tests: long-format telemetry shaped
//! like the peer benchmark's (`sensor_id, machine_id, metric, ts, value`, sorted by
//! `(sensor_id, ts)`, one reading per sensor per second), without a plant behind it.
//!
//! The same seed gives the same batches on every platform (ChaCha streams).

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;

/// The metrics of a machine's ten sensors (as the peer benchmark's generator assigns them).
const SLOT_METRIC: [&str; 10] = [
    "temperature",
    "temperature",
    "temperature",
    "vibration",
    "vibration",
    "vibration",
    "current",
    "current",
    "pressure",
    "spin_rpm",
];

/// 2026-01-05T00:00:00Z in microseconds.
pub const TELEMETRY_START_US: i64 = 1_767_571_200_000_000;

/// The schema of [`telemetry`]'s batches.
pub fn telemetry_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("sensor_id", DataType::Utf8, false),
        Field::new("machine_id", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("value", DataType::Float64, false),
    ]))
}

/// `rows` telemetry rows over `sensors` sensors (rows split evenly), sorted by
/// `(sensor_id, ts)`, in batches of at most `batch_rows` rows. Each sensor reads once a
/// second from [`TELEMETRY_START_US`] with up to ±0.2 s of jitter; values are a random walk
/// around a per-sensor level.
pub fn telemetry(
    rows: usize,
    sensors: usize,
    batch_rows: usize,
    seed: u64,
) -> Result<Vec<RecordBatch>> {
    let sensors = sensors.max(1);
    let batch_rows = batch_rows.max(1);
    let schema = telemetry_schema();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut batches = Vec::new();
    let (mut sid, mut mid, mut met, mut ts, mut val) = (
        Vec::with_capacity(batch_rows),
        Vec::with_capacity(batch_rows),
        Vec::with_capacity(batch_rows),
        Vec::with_capacity(batch_rows),
        Vec::with_capacity(batch_rows),
    );
    let flush = |sid: &mut Vec<String>,
                 mid: &mut Vec<String>,
                 met: &mut Vec<&'static str>,
                 ts: &mut Vec<i64>,
                 val: &mut Vec<f64>,
                 batches: &mut Vec<RecordBatch>|
     -> Result<()> {
        if sid.is_empty() {
            return Ok(());
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(std::mem::take(sid))),
            Arc::new(StringArray::from(std::mem::take(mid))),
            Arc::new(StringArray::from(std::mem::take(met))),
            Arc::new(TimestampMicrosecondArray::from(std::mem::take(ts)).with_timezone("UTC")),
            Arc::new(Float64Array::from(std::mem::take(val))),
        ];
        batches.push(RecordBatch::try_new(Arc::clone(&schema), cols)?);
        Ok(())
    };
    for s in 0..sensors {
        let n = rows / sensors + usize::from(s < rows % sensors);
        let name = format!("S{s:06}");
        let machine = format!("M{:04}", s / SLOT_METRIC.len());
        let metric = SLOT_METRIC[s % SLOT_METRIC.len()];
        let phase: i64 = rng.random_range(0..1_000_000);
        let mut level: f64 = rng.random_range(10.0..100.0);
        for k in 0..n {
            let jitter: i64 = rng.random_range(-200_000..200_000);
            level += rng.random_range(-0.05..0.05);
            sid.push(name.clone());
            mid.push(machine.clone());
            met.push(metric);
            ts.push(TELEMETRY_START_US + phase + k as i64 * 1_000_000 + jitter);
            val.push(level + rng.random_range(-0.5..0.5));
            if sid.len() == batch_rows {
                flush(
                    &mut sid,
                    &mut mid,
                    &mut met,
                    &mut ts,
                    &mut val,
                    &mut batches,
                )?;
            }
        }
    }
    flush(
        &mut sid,
        &mut mid,
        &mut met,
        &mut ts,
        &mut val,
        &mut batches,
    )?;
    Ok(batches)
}

/// `n` seeded values, lognormal-like (positive, skewed), for sketch and quantile benches.
pub fn skewed_values(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u: f64 = rng.random_range(-3.0..3.0);
            u.exp() * 10.0
        })
        .collect()
}

/// `n` seeded weekly demand series of `len` periods each, shaped like a plant's sku and
/// option demand: a level that differs by series (a long tail), a slow trend, a yearly
/// season of `season` periods and Poisson-like noise, so non-negative integers; every
/// fifth series is intermittent (a sale in about one period of three). For forecasting
/// benches and tests.
pub fn demand_series(n: usize, len: usize, season: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let level: f64 = 2.0 + 200.0 * rng.random::<f64>().powi(3);
            let trend: f64 = rng.random_range(-0.004..0.006);
            let amplitude: f64 = rng.random_range(0.0..0.4);
            let phase: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            let sparse = i % 5 == 4;
            (0..len)
                .map(|t| {
                    let season_factor = 1.0
                        + amplitude
                            * ((t % season.max(1)) as f64 / season.max(1) as f64
                                * std::f64::consts::TAU
                                + phase)
                                .sin();
                    let mean = (level * (1.0 + trend * t as f64) * season_factor).max(0.0);
                    if sparse {
                        if rng.random::<f64>() < 0.33 {
                            (1.0 + rng.random_range(0.0..3.0f64)).floor()
                        } else {
                            0.0
                        }
                    } else {
                        // Normal approximation of a Poisson draw, rounded, never negative.
                        let z: f64 = (0..6).map(|_| rng.random::<f64>()).sum::<f64>() - 3.0;
                        (mean + z * (2.0 * mean).sqrt()).round().max(0.0)
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demand_series_are_seeded_non_negative_and_some_sparse() {
        let a = demand_series(10, 156, 52, 3);
        assert_eq!(a, demand_series(10, 156, 52, 3));
        assert!(a.iter().all(|s| s.len() == 156));
        assert!(a.iter().flatten().all(|v| *v >= 0.0 && v.fract() == 0.0));
        let zeros = |s: &Vec<f64>| s.iter().filter(|v| **v == 0.0).count();
        assert!(zeros(&a[4]) > 80, "series 4 is intermittent");
        assert!(zeros(&a[0]) < 80, "series 0 is not");
    }

    #[test]
    fn telemetry_is_seeded_sorted_and_sized() -> Result<()> {
        let a = telemetry(2_500, 7, 1_000, 1)?;
        let b = telemetry(2_500, 7, 1_000, 1)?;
        assert_eq!(a, b);
        assert_eq!(a.iter().map(|b| b.num_rows()).sum::<usize>(), 2_500);
        assert_eq!(a.len(), 3);
        let all = arrow::compute::concat_batches(&telemetry_schema(), &a)?;
        let sorted = arrow::compute::lexsort_to_indices(
            &[
                arrow::compute::SortColumn {
                    values: Arc::clone(all.column(0)),
                    options: None,
                },
                arrow::compute::SortColumn {
                    values: Arc::clone(all.column(3)),
                    options: None,
                },
            ],
            None,
        )?;
        assert!(
            sorted
                .values()
                .iter()
                .enumerate()
                .all(|(i, &j)| i as u32 == j)
        );
        Ok(())
    }
}
