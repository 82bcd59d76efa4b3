//! Sensor telemetry: one reading per sensor and sampling period, generated per sensor and
//! UTC day from its own stream (so days and sensors are independent and parallel).
//!
//! A reading is `idle + (level − idle) · activity + drift + daily cycle + noise`, where
//! `activity` follows the machine's state with the sensor's time constant (a welder cools
//! down over a quarter of an hour when it stops, vibration drops within seconds), `drift` is
//! a Brownian bridge between per-day anchors (continuous across midnight) and the daily
//! cycle follows plant time. On top: developing faults (the value heads past its operating
//! limit over hours, quadratically, until the breakdown), rare spikes (half of them flagged
//! bad), stuck episodes (the same value repeated), dropouts (gaps), single missing
//! readings, uncertain quality flags and sensor faults (null value, quality 3). Timestamps
//! jitter by a few hundredths of the period around a per-sensor phase and never leave their
//! day, so a day's file holds exactly that day's readings.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, StringBuilder, TimestampMicrosecondArray, UInt8Array};
use arrow::buffer::NullBuffer;
use arrow::record_batch::RecordBatch;
use fabrik_model::Table;
use fabrik_model::vocab::{QUALITY_BAD, QUALITY_GOOD, QUALITY_SENSOR_FAULT, QUALITY_UNCERTAIN};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::calendar::{US_PER_DAY, US_PER_HOUR, US_PER_MIN, US_PER_SEC};
use crate::config::PlantConfig;
use crate::error::Result;
use crate::operations::{FaultPlan, State, StateInterval};
use crate::streams::{Purpose, geometric, lognormal, normal, poisson, stream, uniform};
use crate::topology::{MachineType, Topology};

/// Rows per telemetry batch, about (whole sensors per batch).
pub(crate) const CHUNK_ROWS: usize = 1 << 20;

/// A ground-truth anomaly of a sensor's signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorAnomaly {
    /// Index of the sensor in [`crate::Topology::sensors`].
    pub sensor: usize,
    /// `stuck` (the value repeats), `dropout` (no readings) or `spike` (one reading off).
    pub kind: &'static str,
    /// First affected instant (µs since the epoch, UTC).
    pub start_us: i64,
    /// End of the episode, exclusive (µs); for a spike, its timestamp + 1.
    pub end_us: i64,
}

/// Static behaviour of one sensor.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    level: f64,
    idle: f64,
    daily_amp: f64,
    daily_phase: f64,
    drift_sd_min: f64,
    noise_sd: f64,
    scale: f64,
    tau_s: f64,
    spin: bool,
    non_negative: bool,
    spike_sign: f64,
    phase_us: i64,
    /// Drift at the start of each window day (and one past the end).
    anchors: Vec<f64>,
}

impl Profile {
    pub(crate) fn new(config: &PlantConfig, topo: &Topology, sensor: usize) -> Profile {
        let s = &topo.sensors[sensor];
        let kind = topo.machines[s.machine].kind;
        let mut rng = stream(config.seed, Purpose::SensorProfile, sensor as u64, 0);
        let u = |rng: &mut ChaCha8Rng, a: f64, b: f64| uniform(rng, a, b);
        // (level, idle, daily amplitude, drift sd per minute, noise sd, decimals, tau s)
        let (level, idle, amp, drift, noise, decimals, tau) = match s.metric {
            "temperature" => {
                let (lo, hi) = match kind {
                    MachineType::DrumWelder => (55.0, 70.0),
                    MachineType::Paint => (68.0, 77.0),
                    MachineType::MotorMount => (38.0, 50.0),
                    _ => (42.0, 55.0),
                };
                (
                    u(&mut rng, lo, hi),
                    u(&mut rng, 25.0, 29.0),
                    2.0,
                    0.03,
                    0.15,
                    2,
                    900.0,
                )
            }
            "vibration" => {
                let (lo, hi) = if kind == MachineType::FinalTest {
                    (2.5, 4.0)
                } else {
                    (1.5, 3.5)
                };
                (
                    u(&mut rng, lo, hi),
                    u(&mut rng, 0.1, 0.3),
                    0.1,
                    0.002,
                    0.2,
                    3,
                    3.0,
                )
            }
            "current" => {
                let (lo, hi) = match kind {
                    MachineType::DrumWelder => (14.0, 20.0),
                    MachineType::TubAssembly => (6.0, 10.0),
                    MachineType::MotorMount => (8.0, 14.0),
                    _ => (9.0, 15.0),
                };
                (
                    u(&mut rng, lo, hi),
                    u(&mut rng, 0.5, 1.2),
                    0.4,
                    0.01,
                    0.3,
                    2,
                    2.0,
                )
            }
            "pressure" => {
                let level = u(&mut rng, 5.5, 7.5);
                (level, level + 0.3, 0.05, 0.0015, 0.05, 3, 5.0)
            }
            _ => (
                [1200.0, 1400.0, 1600.0][rng.random_range(0..3)],
                0.0,
                0.0,
                0.05,
                5.0,
                1,
                2.0,
            ),
        };
        let sd_day = drift * (1440.0f64).sqrt();
        let mut anchors = Vec::with_capacity(config.days as usize + 1);
        let mut a = sd_day * normal(&mut rng);
        for _ in 0..=config.days {
            anchors.push(a);
            a = 0.8 * a + sd_day * normal(&mut rng);
        }
        let period_us = i64::from(config.sample_period_ms) * 1000;
        Profile {
            level,
            idle,
            daily_amp: amp,
            daily_phase: u(&mut rng, -0.5, 0.5),
            drift_sd_min: drift,
            noise_sd: noise,
            scale: 10f64.powi(decimals),
            tau_s: tau,
            spin: s.metric == "spin_rpm",
            non_negative: matches!(s.metric, "vibration" | "current" | "spin_rpm"),
            spike_sign: if s.metric == "pressure" { -1.0 } else { 1.0 },
            phase_us: rng.random_range(period_us / 4..=3 * period_us / 4),
            anchors,
        }
    }
}

fn target(state: State) -> f64 {
    match state {
        State::Running => 1.0,
        State::Setup => 0.35,
        State::Idle => 0.15,
        State::Down | State::PlannedStop => 0.0,
    }
}

/// The wash-and-spin programme of the final test rig, as a fraction of the spin speed,
/// over a 120-second cycle.
fn spin_shape(t_us: i64) -> f64 {
    let s = (t_us.rem_euclid(120 * US_PER_SEC)) as f64 / US_PER_SEC as f64;
    match s {
        s if s < 15.0 => 0.3 * s / 15.0,
        s if s < 60.0 => 0.3,
        s if s < 75.0 => 0.3 + 0.7 * (s - 60.0) / 15.0,
        s if s < 105.0 => 1.0,
        s => 1.0 - (s - 105.0) / 15.0,
    }
}

/// Machine activity at instant `t`, following `states` (sorted, contiguous) with time constant `tau_s`.
fn activity_at(states: &[StateInterval], t: i64, tau_s: f64) -> f64 {
    let idx = states
        .partition_point(|s| s.end <= t)
        .min(states.len().saturating_sub(1));
    let horizon = (10.0 * tau_s * US_PER_SEC as f64) as i64;
    let mut j = idx;
    while j > 0 && t - states[j].start < horizon {
        j -= 1;
    }
    let Some(first) = states.get(j) else {
        return 0.0;
    };
    let mut a = target(first.state);
    for s in &states[j..=idx] {
        let from = s.start;
        let to = s.end.min(t);
        if to > from {
            let tg = target(s.state);
            a = tg + (a - tg) * (-((to - from) as f64) / (tau_s * US_PER_SEC as f64)).exp();
        }
    }
    a
}

/// Readings of one sensor on one day: timestamps, values (NaN where null), quality.
pub(crate) struct SensorDay {
    pub ts: Vec<i64>,
    pub value: Vec<f64>,
    pub valid: Vec<bool>,
    pub quality: Vec<u8>,
    pub anomalies: Vec<SensorAnomaly>,
}

/// Inputs of [`sensor_day`] that do not change per call.
pub(crate) struct DayContext<'a> {
    pub config: &'a PlantConfig,
    pub topo: &'a Topology,
    pub profiles: &'a [Profile],
    /// Per machine, its sorted state intervals.
    pub states: Vec<&'a [StateInterval]>,
    pub faults: &'a [FaultPlan],
}

/// Ranges of ticks `[from, to)`.
fn episodes(
    rng: &mut ChaCha8Rng,
    n_ticks: i64,
    per_day: f64,
    median_s: f64,
    sigma: f64,
    cap_s: f64,
    period_s: f64,
) -> Vec<(i64, i64)> {
    let n = poisson(rng, per_day * n_ticks as f64 * period_s / 86_400.0);
    let mut v: Vec<(i64, i64)> = (0..n)
        .map(|_| {
            let from = rng.random_range(0..n_ticks);
            let len = (lognormal(rng, median_s, sigma).min(cap_s) / period_s)
                .ceil()
                .max(1.0) as i64;
            (from, (from + len).min(n_ticks))
        })
        .collect();
    v.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// Generates sensor `sensor` on window day `day`.
pub(crate) fn sensor_day(ctx: &DayContext<'_>, sensor: usize, day: u32) -> SensorDay {
    let config = ctx.config;
    let p = &ctx.profiles[sensor];
    let machine = ctx.topo.sensors[sensor].machine;
    let offset_us =
        i64::from(ctx.topo.plants[ctx.topo.machines[machine].plant].utc_offset_hours) * US_PER_HOUR;
    let states = ctx.states[machine];
    let mut rng = stream(
        config.seed,
        Purpose::SensorDay,
        sensor as u64,
        u64::from(day),
    );
    let period_us = i64::from(config.sample_period_ms) * 1000;
    let period_s = period_us as f64 / US_PER_SEC as f64;
    let n_ticks = US_PER_DAY / period_us;
    let day_start = config.start_us() + i64::from(day) * US_PER_DAY;

    // drift (Brownian bridge between the day's anchors) + daily cycle, at minute knots
    let (a0, a1) = (p.anchors[day as usize], p.anchors[day as usize + 1]);
    let mut walk = vec![0.0f64; 1441];
    for k in 1..=1440 {
        walk[k] = walk[k - 1] + p.drift_sd_min * normal(&mut rng);
    }
    let end_gap = walk[1440] - (a1 - a0);
    let knots: Vec<f64> = (0..=1440)
        .map(|k| {
            let local_min =
                ((day_start + offset_us) / US_PER_MIN + k as i64).rem_euclid(1440) as f64;
            // ambient peak mid-afternoon plant time
            let daily = p.daily_amp
                * (2.0 * std::f64::consts::PI * (local_min - 900.0) / 1440.0 + p.daily_phase).cos();
            a0 + walk[k] - end_gap * k as f64 / 1440.0 + daily
        })
        .collect();

    let mut anomalies = Vec::new();
    let dropouts = episodes(&mut rng, n_ticks, 1.5, 60.0, 1.3, 7200.0, period_s);
    let stuck = episodes(&mut rng, n_ticks, 0.1, 1200.0, 0.8, 4.0 * 3600.0, period_s);
    let tick_ts = |k: i64| day_start + p.phase_us + k * period_us;
    // episode bounds lie half a period before their ticks, beyond any jitter
    let bound = |k: i64| (tick_ts(k) - period_us / 2).clamp(day_start, day_start + US_PER_DAY);
    for &(a, b) in &dropouts {
        anomalies.push(SensorAnomaly {
            sensor,
            kind: "dropout",
            start_us: bound(a),
            end_us: bound(b),
        });
    }
    for &(a, b) in &stuck {
        anomalies.push(SensorAnomaly {
            sensor,
            kind: "stuck",
            start_us: bound(a),
            end_us: bound(b),
        });
    }
    let faults: Vec<&FaultPlan> = ctx
        .faults
        .iter()
        .filter(|f| {
            f.sensor == sensor && f.onset < day_start + US_PER_DAY && f.breakdown > day_start
        })
        .collect();

    let cap = n_ticks as usize;
    let mut out = SensorDay {
        ts: Vec::with_capacity(cap),
        value: Vec::with_capacity(cap),
        valid: Vec::with_capacity(cap),
        quality: Vec::with_capacity(cap),
        anomalies: Vec::new(),
    };
    let alpha = 1.0 - (-period_s / p.tau_s).exp();
    let mut a = activity_at(states, day_start, p.tau_s);
    let mut iv = states.partition_point(|s| s.end <= day_start);
    let mut drop_i = 0usize;
    let mut stuck_i = 0usize;
    let spike_p = 3e-4;
    let mut next_spike = geometric(&mut rng, spike_p) as i64;
    let mut next_missing = geometric(&mut rng, 1e-3) as i64;
    let mut next_uncertain = geometric(&mut rng, 3e-3) as i64;
    let mut next_fault = geometric(&mut rng, 1e-4) as i64;
    let jitter_sd = 0.02 * period_us as f64;
    let jitter_max = period_us / 5;
    let mut last_value = p.idle;
    let spike_mag = p.noise_sd.max(0.05 * p.level.abs());

    for k in 0..n_ticks {
        let t_nom = tick_ts(k);
        while iv + 1 < states.len() && states[iv].end <= t_nom {
            iv += 1;
        }
        let tg = states.get(iv).map_or(0.0, |s| target(s.state));
        a += (tg - a) * alpha;
        while drop_i < dropouts.len() && dropouts[drop_i].1 <= k {
            drop_i += 1;
        }
        if drop_i < dropouts.len() && dropouts[drop_i].0 <= k {
            continue;
        }
        if k >= next_missing {
            next_missing = k + 1 + geometric(&mut rng, 1e-3).min(i64::MAX as u64 / 4) as i64;
            continue;
        }
        let jitter = ((jitter_sd * normal(&mut rng)) as i64).clamp(-jitter_max, jitter_max);
        let ts = t_nom + jitter;
        let noise = normal(&mut rng);

        while stuck_i < stuck.len() && stuck[stuck_i].1 <= k {
            stuck_i += 1;
        }
        let is_stuck = stuck_i < stuck.len() && stuck[stuck_i].0 <= k;
        let mut quality = QUALITY_GOOD;
        let mut v;
        if is_stuck {
            v = last_value;
        } else {
            let pos = (k * period_us) as f64 / US_PER_MIN as f64;
            let ki = (pos as usize).min(1439);
            let frac = pos - ki as f64;
            let base = knots[ki] + (knots[ki + 1] - knots[ki]) * frac;
            let running_level = if p.spin {
                p.level * spin_shape(ts)
            } else {
                p.level
            };
            let mut level = running_level;
            for f in &faults {
                if f.onset <= t_nom && t_nom < f.breakdown {
                    let x = (t_nom - f.onset) as f64 / (f.breakdown - f.onset) as f64;
                    level += (f.peak - p.level) * x * x;
                }
            }
            v = p.idle + (level - p.idle) * a + base + p.noise_sd * (0.3 + 0.7 * a) * noise;
            if k == next_spike {
                v += p.spike_sign * uniform(&mut rng, 6.0, 12.0) * spike_mag;
                if rng.random::<bool>() {
                    quality = QUALITY_BAD;
                }
                out.anomalies.push(SensorAnomaly {
                    sensor,
                    kind: "spike",
                    start_us: ts,
                    end_us: ts + 1,
                });
            }
            if p.non_negative && v < 0.0 {
                v = 0.0;
            }
            v = (v * p.scale).round() / p.scale;
        }
        if k >= next_spike {
            next_spike = k + 1 + geometric(&mut rng, spike_p).min(i64::MAX as u64 / 4) as i64;
        }
        let mut valid = true;
        if k >= next_uncertain {
            quality = QUALITY_UNCERTAIN;
            next_uncertain = k + 1 + geometric(&mut rng, 3e-3).min(i64::MAX as u64 / 4) as i64;
        }
        if k >= next_fault {
            quality = QUALITY_SENSOR_FAULT;
            valid = false;
            next_fault = k + 1 + geometric(&mut rng, 1e-4).min(i64::MAX as u64 / 4) as i64;
        }
        last_value = v;
        out.ts.push(ts);
        out.value.push(if valid { v } else { 0.0 });
        out.valid.push(valid);
        out.quality.push(quality);
    }
    anomalies.append(&mut out.anomalies);
    out.anomalies = anomalies;
    out
}

/// Groups of consecutive sensors whose day fits in about [`CHUNK_ROWS`] rows.
pub(crate) fn sensor_chunks(config: &PlantConfig, n_sensors: usize) -> Vec<std::ops::Range<usize>> {
    let per_day = (86_400_000 / config.sample_period_ms.max(1)) as usize;
    let per_chunk = (CHUNK_ROWS / per_day.max(1)).max(1);
    (0..n_sensors)
        .step_by(per_chunk)
        .map(|s| s..(s + per_chunk).min(n_sensors))
        .collect()
}

/// One batch of `sensor_readings`: the readings of each `(sensor, day)` in turn, with their
/// anomalies. Sorted by (sensor_id, ts) when the pairs are.
pub(crate) fn chunk_batch(
    ctx: &DayContext<'_>,
    pairs: &[(usize, u32)],
) -> Result<(RecordBatch, Vec<SensorAnomaly>)> {
    let parts: Vec<SensorDay> = pairs
        .par_iter()
        .map(|&(s, day)| sensor_day(ctx, s, day))
        .collect();
    let n: usize = parts.iter().map(|p| p.ts.len()).sum();
    let topo = ctx.topo;
    let mut plant = StringBuilder::with_capacity(n, n * 3);
    let mut line = StringBuilder::with_capacity(n, n * 7);
    let mut machine = StringBuilder::with_capacity(n, n * 11);
    let mut sensor_id = StringBuilder::with_capacity(n, n * 7);
    let mut metric = StringBuilder::with_capacity(n, n * 11);
    let mut ts = Vec::with_capacity(n);
    let mut value = Vec::with_capacity(n);
    let mut valid = Vec::with_capacity(n);
    let mut quality = Vec::with_capacity(n);
    let mut anomalies = Vec::new();
    for (&(s, _), mut part) in pairs.iter().zip(parts) {
        let k = part.ts.len();
        let sensor = &topo.sensors[s];
        let m = &topo.machines[sensor.machine];
        plant.append_value_n(&topo.plants[m.plant].id, k);
        line.append_value_n(&topo.lines[m.line].id, k);
        machine.append_value_n(&m.id, k);
        sensor_id.append_value_n(&sensor.id, k);
        metric.append_value_n(sensor.metric, k);
        ts.append(&mut part.ts);
        value.append(&mut part.value);
        valid.append(&mut part.valid);
        quality.append(&mut part.quality);
        anomalies.append(&mut part.anomalies);
    }
    let nulls = NullBuffer::from(valid);
    let values = Float64Array::new(value.into(), (nulls.null_count() > 0).then_some(nulls));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(plant.finish()),
        Arc::new(line.finish()),
        Arc::new(machine.finish()),
        Arc::new(sensor_id.finish()),
        Arc::new(metric.finish()),
        Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        Arc::new(values),
        Arc::new(UInt8Array::from(quality)),
    ];
    Ok((
        RecordBatch::try_new(Table::SensorReadings.schema(), columns)?,
        anomalies,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_programme_is_bounded() {
        for s in 0..240 {
            let f = spin_shape(s * US_PER_SEC);
            assert!((0.0..=1.0).contains(&f), "{s}: {f}");
        }
        assert_eq!(spin_shape(90 * US_PER_SEC), 1.0);
    }

    #[test]
    fn activity_relaxes_towards_the_state() {
        let mk = |state, start, end| StateInterval {
            machine: 0,
            state,
            reason: None,
            start,
            end,
            order: None,
        };
        let h = US_PER_HOUR;
        let states = vec![
            mk(State::Running, 0, 10 * h),
            mk(State::Down, 10 * h, 20 * h),
        ];
        assert!((activity_at(&states, 9 * h, 900.0) - 1.0).abs() < 1e-9);
        let after_15min = activity_at(&states, 10 * h + 15 * US_PER_MIN, 900.0);
        assert!(
            (after_15min - (-1.0f64).exp()).abs() < 1e-6,
            "{after_15min}"
        );
        assert!(activity_at(&states, 19 * h, 3.0) < 1e-9);
    }

    #[test]
    fn episodes_are_sorted_and_disjoint() {
        let mut rng = stream(1, Purpose::SensorDay, 0, 0);
        let e = episodes(&mut rng, 86_400, 30.0, 60.0, 1.0, 3600.0, 1.0);
        assert!(!e.is_empty());
        assert!(e.windows(2).all(|w| w[0].1 < w[1].0));
        assert!(e.iter().all(|&(a, b)| a < b && b <= 86_400));
    }
}
