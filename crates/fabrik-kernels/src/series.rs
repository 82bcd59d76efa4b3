//! Interval-aware aggregates of one time series: time-weighted average, counter
//! increase and rate with resets, time spent per state, and the latest value per series.
//!
//! # Input
//!
//! A series is two slices of equal length, `ts` (`i64` counts of some time unit, as in
//! Arrow's timestamp arrays) and its values, **sorted by `ts` ascending** (equal timestamps
//! are allowed and keep their input order; a timestamp smaller than the one before it is
//! [`Error::Unsorted`]). Values are `f64`; a `NaN` value marks a missing point and is
//! skipped as if the row were absent. [`points_from_arrays`] reads Arrow arrays (a null
//! timestamp or value is skipped the same way). Durations come out in the timestamps'
//! unit; rates take the ticks per second of that unit (see
//! [`ticks_per_second`](crate::bucket::ticks_per_second)).
//!
//! # Mergeable partial states
//!
//! Every aggregate has a partial state ([`TwaState`], [`CounterState`],
//! [`StateDurations`]) built from one time-contiguous part of a series (a row group, a
//! chunk given to a thread) and merged with the state of the part that follows it in time
//! ([`TwaState::merge`] …). A state keeps the first and the last point of its part, so the
//! interval *between* two parts (from the last point of one to the first point of the
//! next) is accounted when they merge, exactly as if the parts had been one slice. Parts
//! must be merged in time order: a later part that starts before the earlier part ends is
//! [`Error::MergeOrder`]. When parts overlap in time (DataFusion's hash partitions do),
//! collect the points, sort them and build one state instead (this is what `fabrik-sql`'s
//! aggregates do).
//!
//! # Definitions
//!
//! Write the (non-missing) points `(t₀, v₀) … (tₙ₋₁, vₙ₋₁)` with `t₀ ≤ … ≤ tₙ₋₁`.
//!
//! - **Time-weighted average** over `[t₀, tₙ₋₁]`: `∫ f(t) dt / (tₙ₋₁ − t₀)` where `f`, the
//!   value of the series at any time, is
//!   - [`Interpolation::Locf`] (step, "last observation carried forward"): each value
//!     holds from its point until the next point, `f(t) = vᵢ` on `[tᵢ, tᵢ₊₁)`, so
//!     `∫ = Σ vᵢ·(tᵢ₊₁ − tᵢ)`;
//!   - [`Interpolation::Linear`] (trapezoid): `f` goes linearly from `vᵢ` to `vᵢ₊₁`, so
//!     `∫ = Σ (vᵢ + vᵢ₊₁)/2·(tᵢ₊₁ − tᵢ)`.
//!
//!   One point, or all points at one instant, average to the last value; no point gives
//!   `None`. Over an explicit range `[start, end]` ([`time_weighted_average_in`]), `f` is
//!   clipped to the range: points before `start` give the value at `start` (LOCF: the last
//!   one at or before `start`; linear: interpolated between the points around `start`),
//!   after the last point the last value holds until `end` (no extrapolation), and before
//!   the first point the series has no value, so the average is over
//!   `[max(start, t₀), end]`.
//! - **Counter increase** (Prometheus `increase` without extrapolation): `Σ Δᵢ` with
//!   `Δᵢ = vᵢ − vᵢ₋₁` when `vᵢ ≥ vᵢ₋₁`, else `Δᵢ = vᵢ`: a decrease is a reset, the counter
//!   restarted from 0 and counted up to `vᵢ` since. **Counter rate** = increase /
//!   `(tₙ₋₁ − t₀)` in seconds; `None` with fewer than two distinct timestamps.
//! - **Time per state**: each point's state holds from its timestamp until the next
//!   point's timestamp; the last point holds until `end` when a range end is given (0 when
//!   `end` is before it), otherwise it contributes 0 (the series does not say how long it
//!   lasted). [`state_durations`] gives every state's total, [`state_duration`] one
//!   state's.
//! - **Latest value per series** ([`latest_per_series`]): the value at the largest
//!   timestamp of each series, the last row in input order winning ties; input in any
//!   order.

use std::collections::HashMap;
use std::hash::Hash;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// How the value of a series between two points is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Interpolation {
    /// Step: each value holds until the next point ("last observation carried forward").
    #[default]
    Locf,
    /// Linear between neighbouring points (trapezoid rule for integrals).
    Linear,
}

impl Interpolation {
    /// The integral of the series between two consecutive points.
    #[inline]
    fn segment(self, (t0, v0): (i64, f64), (t1, v1): (i64, f64)) -> f64 {
        let dt = t1.saturating_sub(t0) as f64;
        match self {
            Interpolation::Locf => v0 * dt,
            Interpolation::Linear => (v0 + v1) * 0.5 * dt,
        }
    }

    /// The value at `t` between the points `p0` and `p1` (`p0.0 ≤ t ≤ p1.0`).
    #[inline]
    fn value_at(self, (t0, v0): (i64, f64), (t1, v1): (i64, f64), t: i64) -> f64 {
        match self {
            Interpolation::Locf => {
                if t >= t1 {
                    v1
                } else {
                    v0
                }
            }
            Interpolation::Linear => {
                if t1 == t0 {
                    v1
                } else {
                    v0 + (v1 - v0) * ((t - t0) as f64 / (t1 - t0) as f64)
                }
            }
        }
    }
}

/// Checks that two slices have the same length.
pub(crate) fn same_length(ts: usize, values: usize) -> Result<()> {
    if ts != values {
        return Err(Error::Length {
            column: "values".to_owned(),
            found: values,
            expected: ts,
        });
    }
    Ok(())
}

/// Checks that the timestamps of non-missing points never go backwards.
fn check_sorted<T>(ts: &[i64], values: &[T], missing: impl Fn(&T) -> bool) -> Result<()> {
    let mut previous: Option<i64> = None;
    for (position, (&t, v)) in ts.iter().zip(values).enumerate() {
        if missing(v) {
            continue;
        }
        if let Some(p) = previous
            && t < p
        {
            return Err(Error::Unsorted {
                position,
                ts: t,
                previous: p,
            });
        }
        previous = Some(t);
    }
    Ok(())
}

/// The points of two Arrow arrays: `ts` of type Int64 or any Timestamp, `values` of type
/// Float64. Rows with a null timestamp, a null value or a `NaN` value are skipped. The
/// order is kept (nothing is sorted).
pub fn points_from_arrays(ts: &dyn Array, values: &dyn Array) -> Result<(Vec<i64>, Vec<f64>)> {
    same_length(ts.len(), values.len())?;
    let ts = match ts.data_type() {
        DataType::Int64 | DataType::Timestamp(_, _) => {
            // Timestamps share Int64's layout: reinterpret without copying.
            let data = ts.to_data();
            let data = data
                .into_builder()
                .data_type(DataType::Int64)
                .build()
                .map_err(Error::Arrow)?;
            arrow::array::Int64Array::from(data)
        }
        other => {
            return Err(Error::ColumnType {
                column: "ts".to_owned(),
                found: other.clone(),
                expected: "Int64 or a Timestamp",
            });
        }
    };
    let Some(values) = values.as_primitive_opt::<Float64Type>() else {
        return Err(Error::ColumnType {
            column: "values".to_owned(),
            found: values.data_type().clone(),
            expected: "Float64",
        });
    };
    let ts: &arrow::array::PrimitiveArray<Int64Type> = &ts;
    let mut out_ts = Vec::with_capacity(ts.len());
    let mut out_v = Vec::with_capacity(ts.len());
    for i in 0..ts.len() {
        if ts.is_null(i) || values.is_null(i) {
            continue;
        }
        let v = values.value(i);
        if v.is_nan() {
            continue;
        }
        out_ts.push(ts.value(i));
        out_v.push(v);
    }
    Ok((out_ts, out_v))
}

/// The partial state of a time-weighted average over one time-contiguous part of a
/// series (see the [module docs](self) for the definition).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwaState {
    /// The first point of the part.
    pub first: (i64, f64),
    /// The last point of the part.
    pub last: (i64, f64),
    /// `∫ f(t) dt` over `[first.0, last.0]`, in value × timestamp ticks.
    pub integral: f64,
}

impl TwaState {
    /// The state of one point.
    pub fn point(ts: i64, value: f64) -> Self {
        TwaState {
            first: (ts, value),
            last: (ts, value),
            integral: 0.0,
        }
    }

    /// The state of a part sorted by `ts`; `None` when it has no (non-`NaN`) point.
    pub fn from_sorted(ts: &[i64], values: &[f64], how: Interpolation) -> Result<Option<Self>> {
        same_length(ts.len(), values.len())?;
        check_sorted(ts, values, |v| v.is_nan())?;
        let mut state: Option<TwaState> = None;
        for (&t, &v) in ts.iter().zip(values) {
            if v.is_nan() {
                continue;
            }
            match &mut state {
                None => state = Some(TwaState::point(t, v)),
                Some(s) => {
                    s.integral += how.segment(s.last, (t, v));
                    s.last = (t, v);
                }
            }
        }
        Ok(state)
    }

    /// The state of `self`'s part followed by `later`'s, adding the interval between
    /// `self.last` and `later.first`.
    pub fn merge(&self, later: &TwaState, how: Interpolation) -> Result<Self> {
        if later.first.0 < self.last.0 {
            return Err(Error::MergeOrder {
                earlier_last: self.last.0,
                later_first: later.first.0,
            });
        }
        Ok(TwaState {
            first: self.first,
            last: later.last,
            integral: self.integral + how.segment(self.last, later.first) + later.integral,
        })
    }

    /// The time-weighted average over `[first, last]`; the last value when they are equal.
    pub fn average(&self) -> f64 {
        let span = self.last.0.saturating_sub(self.first.0);
        if span == 0 {
            self.last.1
        } else {
            self.integral / span as f64
        }
    }

    /// The time-weighted average over `[first, end]`, the last value holding from `last`
    /// until `end`; `end` before `last` is taken as `last`.
    pub fn average_until(&self, end: i64) -> f64 {
        let end = end.max(self.last.0);
        let span = end.saturating_sub(self.first.0);
        if span == 0 {
            self.last.1
        } else {
            (self.integral + self.last.1 * end.saturating_sub(self.last.0) as f64) / span as f64
        }
    }
}

/// The time-weighted average of a sorted series over `[first ts, last ts]`; `None` when it
/// has no point.
pub fn time_weighted_average(
    ts: &[i64],
    values: &[f64],
    how: Interpolation,
) -> Result<Option<f64>> {
    Ok(TwaState::from_sorted(ts, values, how)?.map(|s| s.average()))
}

/// [`time_weighted_average`] in parallel: rayon threads build the states of chunks of
/// `chunk` points (at least 1) and merge them in time order. Same result up to
/// floating-point rounding.
pub fn time_weighted_average_par(
    ts: &[i64],
    values: &[f64],
    how: Interpolation,
    chunk: usize,
) -> Result<Option<f64>> {
    same_length(ts.len(), values.len())?;
    let chunk = chunk.max(1);
    let states = ts
        .par_chunks(chunk)
        .zip(values.par_chunks(chunk))
        .map(|(t, v)| TwaState::from_sorted(t, v, how))
        .collect::<Result<Vec<_>>>()?;
    let mut merged: Option<TwaState> = None;
    for s in states.into_iter().flatten() {
        merged = Some(match merged {
            None => s,
            Some(m) => m.merge(&s, how)?,
        });
    }
    Ok(merged.map(|s| s.average()))
}

/// The time-weighted average of a sorted series over the explicit range `[start, end]`
/// (see the [module docs](self)): `None` when no point is at or before `end`, or when
/// `end < start`.
pub fn time_weighted_average_in(
    ts: &[i64],
    values: &[f64],
    how: Interpolation,
    start: i64,
    end: i64,
) -> Result<Option<f64>> {
    same_length(ts.len(), values.len())?;
    check_sorted(ts, values, |v| v.is_nan())?;
    if end < start {
        return Ok(None);
    }
    let points: Vec<(i64, f64)> = ts
        .iter()
        .zip(values)
        .filter(|(_, v)| !v.is_nan())
        .map(|(&t, &v)| (t, v))
        .collect();
    // The point in force at `start`: the last one at or before it (or the first after).
    let after = points.partition_point(|p| p.0 <= start);
    let (from, mut prev) = if after == 0 {
        match points.first() {
            Some(&p) if p.0 <= end => (p.0, p),
            _ => return Ok(None),
        }
    } else {
        let p = points[after - 1];
        let v = match points.get(after) {
            Some(&next) => how.value_at(p, next, start),
            None => p.1,
        };
        (start, (start, v))
    };
    let mut integral = 0.0;
    for &p in &points[after.max(1).min(points.len())..] {
        if p.0 <= prev.0 {
            // The first point itself when the range starts before the series.
            prev = p;
            continue;
        }
        if p.0 >= end {
            integral += how.segment(prev, (end, how.value_at(prev, p, end)));
            prev = (end, how.value_at(prev, p, end));
            break;
        }
        integral += how.segment(prev, p);
        prev = p;
    }
    if prev.0 < end {
        integral += prev.1 * (end - prev.0) as f64;
    }
    let span = end.saturating_sub(from);
    Ok(Some(if span == 0 {
        prev.1
    } else {
        integral / span as f64
    }))
}

/// The partial state of a counter's increase over one time-contiguous part of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterState {
    /// The first point of the part.
    pub first: (i64, f64),
    /// The last point of the part.
    pub last: (i64, f64),
    /// The increase inside the part, resets accounted.
    pub increase: f64,
    /// How many resets (decreases) the part has, between parts included once merged.
    pub resets: u64,
}

impl CounterState {
    /// The state of one point.
    pub fn point(ts: i64, value: f64) -> Self {
        CounterState {
            first: (ts, value),
            last: (ts, value),
            increase: 0.0,
            resets: 0,
        }
    }

    /// Adds the step from the last point to `value` (a decrease is a reset).
    #[inline]
    fn step(&mut self, ts: i64, value: f64) {
        if value < self.last.1 {
            self.increase += value;
            self.resets += 1;
        } else {
            self.increase += value - self.last.1;
        }
        self.last = (ts, value);
    }

    /// The state of a part sorted by `ts`; `None` when it has no (non-`NaN`) point.
    pub fn from_sorted(ts: &[i64], values: &[f64]) -> Result<Option<Self>> {
        same_length(ts.len(), values.len())?;
        check_sorted(ts, values, |v| v.is_nan())?;
        let mut state: Option<CounterState> = None;
        for (&t, &v) in ts.iter().zip(values) {
            if v.is_nan() {
                continue;
            }
            match &mut state {
                None => state = Some(CounterState::point(t, v)),
                Some(s) => {
                    s.step(t, v);
                }
            }
        }
        Ok(state)
    }

    /// The state of `self`'s part followed by `later`'s, adding the step between
    /// `self.last` and `later.first`.
    pub fn merge(&self, later: &CounterState) -> Result<Self> {
        if later.first.0 < self.last.0 {
            return Err(Error::MergeOrder {
                earlier_last: self.last.0,
                later_first: later.first.0,
            });
        }
        let mut s = *self;
        s.step(later.first.0, later.first.1);
        Ok(CounterState {
            first: self.first,
            last: later.last,
            increase: s.increase + later.increase,
            resets: s.resets + later.resets,
        })
    }

    /// The increase per second over `[first, last]`; `None` when they are the same instant.
    /// `ticks_per_second` is the number of timestamp ticks in a second (> 0).
    pub fn rate(&self, ticks_per_second: i64) -> Option<f64> {
        let span = self.last.0.saturating_sub(self.first.0);
        if span <= 0 || ticks_per_second <= 0 {
            return None;
        }
        Some(self.increase / (span as f64 / ticks_per_second as f64))
    }
}

/// The increase of a sorted counter series, resets accounted; `None` when it has no point.
pub fn counter_increase(ts: &[i64], values: &[f64]) -> Result<Option<f64>> {
    Ok(CounterState::from_sorted(ts, values)?.map(|s| s.increase))
}

/// The per-second rate of a sorted counter series; `None` with fewer than two distinct
/// timestamps.
pub fn counter_rate(ts: &[i64], values: &[f64], ticks_per_second: i64) -> Result<Option<f64>> {
    Ok(CounterState::from_sorted(ts, values)?.and_then(|s| s.rate(ticks_per_second)))
}

/// The partial state of the time spent per state over one time-contiguous part of a
/// series of states (e.g. machine states `RUNNING`, `IDLE`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct StateDurations<S: Eq + Hash> {
    /// The first point of the part.
    pub first: (i64, S),
    /// The last point of the part (its state's time is counted only once a later point or
    /// a range end is known).
    pub last: (i64, S),
    /// Time per state inside the part, in timestamp ticks.
    pub durations: HashMap<S, i64>,
}

impl<S: Eq + Hash + Clone> StateDurations<S> {
    /// The state of one point.
    pub fn point(ts: i64, state: S) -> Self {
        StateDurations {
            first: (ts, state.clone()),
            last: (ts, state),
            durations: HashMap::new(),
        }
    }

    /// The state of a part sorted by `ts`; `None` when it is empty.
    pub fn from_sorted(ts: &[i64], states: &[S]) -> Result<Option<Self>> {
        same_length(ts.len(), states.len())?;
        check_sorted(ts, states, |_| false)?;
        let mut out: Option<StateDurations<S>> = None;
        for (&t, s) in ts.iter().zip(states) {
            match &mut out {
                None => out = Some(StateDurations::point(t, s.clone())),
                Some(d) => {
                    d.hold_until(t);
                    d.last = (t, s.clone());
                }
            }
        }
        Ok(out)
    }

    /// Counts the last point's state from its timestamp until `t`.
    fn hold_until(&mut self, t: i64) {
        let held = t.saturating_sub(self.last.0).max(0);
        *self.durations.entry(self.last.1.clone()).or_insert(0) += held;
    }

    /// The state of `self`'s part followed by `later`'s, counting `self.last`'s state
    /// until `later.first`.
    pub fn merge(mut self, later: StateDurations<S>) -> Result<Self> {
        if later.first.0 < self.last.0 {
            return Err(Error::MergeOrder {
                earlier_last: self.last.0,
                later_first: later.first.0,
            });
        }
        self.hold_until(later.first.0);
        for (s, d) in later.durations {
            *self.durations.entry(s).or_insert(0) += d;
        }
        self.last = later.last;
        Ok(self)
    }

    /// The time per state, the last point's state held until `end` when given (not
    /// before the last point: an earlier `end` adds nothing). States that held for no time
    /// are listed with 0 when they occurred.
    pub fn finish(mut self, end: Option<i64>) -> HashMap<S, i64> {
        self.hold_until(end.unwrap_or(self.last.0));
        self.durations
    }
}

/// The time spent in each state of a sorted series of states, in timestamp ticks (see the
/// [module docs](self)); empty for an empty series.
pub fn state_durations<S: Eq + Hash + Clone>(
    ts: &[i64],
    states: &[S],
    end: Option<i64>,
) -> Result<HashMap<S, i64>> {
    Ok(StateDurations::from_sorted(ts, states)?
        .map(|d| d.finish(end))
        .unwrap_or_default())
}

/// The time spent in the state `target` of a sorted series of states, in timestamp ticks
/// (0 when it never occurs). No map is built.
pub fn state_duration<S: PartialEq>(
    ts: &[i64],
    states: &[S],
    target: &S,
    end: Option<i64>,
) -> Result<i64> {
    same_length(ts.len(), states.len())?;
    check_sorted(ts, states, |_| false)?;
    let mut total = 0i64;
    for i in 0..ts.len() {
        if states[i] != *target {
            continue;
        }
        let until = match ts.get(i + 1) {
            Some(&next) => next,
            None => end.unwrap_or(ts[i]).max(ts[i]),
        };
        total = total.saturating_add(until - ts[i]);
    }
    Ok(total)
}

/// The latest point of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latest {
    /// The series.
    pub series: u64,
    /// The largest timestamp of the series.
    pub ts: i64,
    /// The value at that timestamp (the last row in input order on ties).
    pub value: f64,
}

/// The latest point of every series of a `(series, ts, value)` input in any order, sorted
/// by series id. `NaN` values are skipped (missing points).
pub fn latest_per_series(series: &[u64], ts: &[i64], values: &[f64]) -> Result<Vec<Latest>> {
    same_length(ts.len(), values.len())?;
    if series.len() != ts.len() {
        return Err(Error::Length {
            column: "series".to_owned(),
            found: series.len(),
            expected: ts.len(),
        });
    }
    let mut latest: HashMap<u64, (i64, f64)> = HashMap::new();
    for ((&s, &t), &v) in series.iter().zip(ts).zip(values) {
        if v.is_nan() {
            continue;
        }
        latest
            .entry(s)
            .and_modify(|e| {
                if t >= e.0 {
                    *e = (t, v);
                }
            })
            .or_insert((t, v));
    }
    let mut out: Vec<Latest> = latest
        .into_iter()
        .map(|(series, (ts, value))| Latest { series, ts, value })
        .collect();
    out.sort_unstable_by_key(|l| l.series);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn twa_locf_and_linear_on_three_points() -> Result<()> {
        // (0, 10), (10, 20), (30, 0).
        // LOCF: 10·10 + 20·20 = 500 over 30 → 16.666…
        // Linear: (10+20)/2·10 + (20+0)/2·20 = 150 + 200 = 350 over 30 → 11.666…
        let ts = [0, 10, 30];
        let v = [10.0, 20.0, 0.0];
        let locf = time_weighted_average(&ts, &v, Interpolation::Locf)?.unwrap_or(f64::NAN);
        let lin = time_weighted_average(&ts, &v, Interpolation::Linear)?.unwrap_or(f64::NAN);
        assert!(close(locf, 500.0 / 30.0), "{locf}");
        assert!(close(lin, 350.0 / 30.0), "{lin}");
        assert_eq!(
            time_weighted_average(&[5], &[7.0], Interpolation::Linear)?,
            Some(7.0)
        );
        assert_eq!(time_weighted_average(&[], &[], Interpolation::Locf)?, None);
        // A NaN is a missing point: same as (0, 10), (30, 0) under LOCF → 10.
        let skip = time_weighted_average(&ts, &[10.0, f64::NAN, 0.0], Interpolation::Locf)?;
        assert_eq!(skip, Some(10.0));
        Ok(())
    }

    #[test]
    fn twa_states_merge_across_the_gap_between_parts() -> Result<()> {
        let ts = [0, 10, 30, 35, 60];
        let v = [10.0, 20.0, 0.0, 4.0, 8.0];
        for how in [Interpolation::Locf, Interpolation::Linear] {
            let whole = TwaState::from_sorted(&ts, &v, how)?;
            for cut in 1..ts.len() {
                let a = TwaState::from_sorted(&ts[..cut], &v[..cut], how)?;
                let b = TwaState::from_sorted(&ts[cut..], &v[cut..], how)?;
                let merged = match (a, b) {
                    (Some(a), Some(b)) => Some(a.merge(&b, how)?),
                    _ => None,
                };
                let (w, m) = (whole.map(|s| s.average()), merged.map(|s| s.average()));
                assert!(
                    matches!((w, m), (Some(w), Some(m)) if close(w, m)),
                    "{how:?} cut {cut}"
                );
            }
            let par = time_weighted_average_par(&ts, &v, how, 2)?;
            assert!(close(
                par.unwrap_or(f64::NAN),
                whole.map(|s| s.average()).unwrap_or(0.0)
            ));
            let later = TwaState::point(5, 1.0);
            assert!(matches!(
                whole.map(|w| w.merge(&later, how)),
                Some(Err(Error::MergeOrder {
                    earlier_last: 60,
                    later_first: 5
                }))
            ));
        }
        assert!(matches!(
            time_weighted_average(&[3, 1], &[1.0, 2.0], Interpolation::Locf),
            Err(Error::Unsorted { position: 1, .. })
        ));
        Ok(())
    }

    #[test]
    fn twa_over_an_explicit_range_clips_and_holds_the_last_value() -> Result<()> {
        let ts = [0, 10, 30];
        let v = [10.0, 20.0, 0.0];
        // [5, 40], LOCF: 10 on [5,10) = 50, 20 on [10,30) = 400, 0 on [30,40] → 450/35.
        let locf = time_weighted_average_in(&ts, &v, Interpolation::Locf, 5, 40)?;
        assert!(close(locf.unwrap_or(f64::NAN), 450.0 / 35.0), "{locf:?}");
        // Linear: f(5) = 15; (15+20)/2·5 = 87.5, 200 on [10,30], 0 after → 287.5/35.
        let lin = time_weighted_average_in(&ts, &v, Interpolation::Linear, 5, 40)?;
        assert!(close(lin.unwrap_or(f64::NAN), 287.5 / 35.0), "{lin:?}");
        // [−10, 20], LOCF: no value before 0; 10 on [0,10) + 20 on [10,20] → 300/20.
        let early = time_weighted_average_in(&ts, &v, Interpolation::Locf, -10, 20)?;
        assert!(close(early.unwrap_or(f64::NAN), 15.0), "{early:?}");
        // Linear, [0, 20]: 150 + (20 + 10)/2·10 = 300 → 15.
        let mid = time_weighted_average_in(&ts, &v, Interpolation::Linear, 0, 20)?;
        assert!(close(mid.unwrap_or(f64::NAN), 15.0), "{mid:?}");
        assert_eq!(
            time_weighted_average_in(&ts, &v, Interpolation::Locf, -10, -5)?,
            None
        );
        // The state's own range end agrees with the slice kernel starting at t₀.
        let s = TwaState::from_sorted(&ts, &v, Interpolation::Locf)?;
        let until = s.map(|s| s.average_until(40)).unwrap_or(f64::NAN);
        let direct = time_weighted_average_in(&ts, &v, Interpolation::Locf, 0, 40)?;
        assert!(close(until, direct.unwrap_or(0.0)) && close(until, 500.0 / 40.0));
        Ok(())
    }

    #[test]
    fn counter_with_two_resets() -> Result<()> {
        // 5 → 8 (+3) → 2 (reset: +2) → 6 (+4) → 1 (reset: +1) → 4 (+3): 13 over 50 s.
        let ts = [0, 10, 20, 30, 40, 50];
        let v = [5.0, 8.0, 2.0, 6.0, 1.0, 4.0];
        assert_eq!(counter_increase(&ts, &v)?, Some(13.0));
        let s = CounterState::from_sorted(&ts, &v)?;
        assert_eq!(s.map(|s| s.resets), Some(2));
        // Timestamps in milliseconds: 50 ticks = 0.05 s.
        let rate = counter_rate(&ts, &v, 1)?.unwrap_or(f64::NAN);
        assert!(close(rate, 13.0 / 50.0), "{rate}");
        assert!(close(counter_rate(&ts, &v, 1000)?.unwrap_or(0.0), 260.0));
        assert_eq!(counter_rate(&[7], &[1.0], 1)?, None);
        // Split between the reset at 20: the merge sees 8 → 2 as a reset.
        for cut in 1..ts.len() {
            let a = CounterState::from_sorted(&ts[..cut], &v[..cut])?;
            let b = CounterState::from_sorted(&ts[cut..], &v[cut..])?;
            let m = match (a, b) {
                (Some(a), Some(b)) => Some(a.merge(&b)?),
                _ => None,
            };
            assert_eq!(m.map(|m| (m.increase, m.resets)), Some((13.0, 2)), "{cut}");
        }
        Ok(())
    }

    #[test]
    fn time_per_state() -> Result<()> {
        let ts = [0, 10, 25, 30, 60];
        let st = ["RUN", "IDLE", "RUN", "DOWN", "RUN"];
        let d = state_durations(&ts, &st, None)?;
        // RUN: [0,10) + [25,30) = 15 (the last RUN at 60 adds 0), IDLE 15, DOWN 30.
        assert_eq!(d.get("RUN"), Some(&15));
        assert_eq!(d.get("IDLE"), Some(&15));
        assert_eq!(d.get("DOWN"), Some(&30));
        let d = state_durations(&ts, &st, Some(100))?;
        assert_eq!(d.get("RUN"), Some(&55));
        assert_eq!(state_duration(&ts, &st, &"RUN", Some(100))?, 55);
        assert_eq!(state_duration(&ts, &st, &"RUN", None)?, 15);
        assert_eq!(state_duration(&ts, &st, &"SETUP", None)?, 0);
        for cut in 1..ts.len() {
            let a = StateDurations::from_sorted(&ts[..cut], &st[..cut])?;
            let b = StateDurations::from_sorted(&ts[cut..], &st[cut..])?;
            let m = match (a, b) {
                (Some(a), Some(b)) => a.merge(b)?.finish(Some(100)),
                _ => HashMap::new(),
            };
            assert_eq!(m, state_durations(&ts, &st, Some(100))?, "{cut}");
        }
        Ok(())
    }

    #[test]
    fn latest_per_series_in_any_order() -> Result<()> {
        let series = [2, 1, 2, 1, 2, 3];
        let ts = [5, 9, 7, 9, 7, 1];
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, f64::NAN];
        let l = latest_per_series(&series, &ts, &v)?;
        assert_eq!(
            l,
            vec![
                Latest {
                    series: 1,
                    ts: 9,
                    value: 4.0
                },
                Latest {
                    series: 2,
                    ts: 7,
                    value: 5.0
                },
            ]
        );
        Ok(())
    }

    #[test]
    fn arrays_skip_nulls_and_nans() -> Result<()> {
        use arrow::array::{Float64Array, TimestampMicrosecondArray};
        let ts = TimestampMicrosecondArray::from(vec![Some(1), None, Some(3), Some(4)]);
        let v = Float64Array::from(vec![Some(1.0), Some(2.0), None, Some(f64::NAN)]);
        let (t, v) = points_from_arrays(&ts, &v)?;
        assert_eq!((t, v), (vec![1], vec![1.0]));
        let bad = arrow::array::StringArray::from(vec!["x"]);
        assert!(matches!(
            points_from_arrays(&bad, &Float64Array::from(vec![1.0])),
            Err(Error::ColumnType { .. })
        ));
        Ok(())
    }
}
