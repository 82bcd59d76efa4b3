//! Per-group partial states of the rollup's aggregates: updated from runs of rows, merged
//! across partial rollups, finished into Arrow arrays.
//!
//! Semantics follow DataFusion's aggregates: nulls are skipped (but `first`/`last` return a
//! null value found at the extreme timestamp), an empty or all-null group gives null (count
//! gives 0), floating-point `min`/`max` use IEEE 754 total order (NaN above +∞, −0 below
//! +0), sums add in floating point (the order of additions differs from DataFusion's, so
//! sums agree to rounding, not bit for bit), variances merge with Chan et al.'s pairwise
//! formula from per-run two-pass moments, which is numerically stable.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanBufferBuilder, Float64Array, Int64Array, PrimitiveArray,
};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Float64Type, Int64Type};

use crate::error::{Error, Result};
use crate::rollup::{Agg, Run};

/// A column's values as the states read them: `f64` or `i64` (integers, timestamps, dates),
/// with the validity of each row.
#[derive(Debug)]
pub(crate) enum Values<'a> {
    /// Floating-point values.
    F64(&'a [f64], Option<&'a NullBuffer>),
    /// Integer-like values (integers, timestamps, dates, durations).
    I64(&'a [i64], Option<&'a NullBuffer>),
}

/// The input arrays an aggregate reads, cast to the types the states hold.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The aggregate's argument, as Float64 or Int64 (`None` for `count(*)`).
    pub arg: Option<ArrayRef>,
    /// The ordering timestamp of `first`/`last`, as Int64.
    pub order: Option<ArrayRef>,
}

impl Prepared {
    pub(crate) fn values(&self) -> Option<Values<'_>> {
        let arg = self.arg.as_ref()?;
        Some(values_of(arg))
    }
}

fn values_of(arr: &ArrayRef) -> Values<'_> {
    if let Some(f) = arr.as_any().downcast_ref::<Float64Array>() {
        Values::F64(f.values(), f.nulls())
    } else if let Some(i) = arr.as_any().downcast_ref::<Int64Array>() {
        Values::I64(i.values(), i.nulls())
    } else {
        // `prepare` only produces Float64 and Int64 arrays.
        Values::I64(&[], None)
    }
}

/// The value representation an aggregate works in for an input type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repr {
    F64,
    I64,
}

/// How the argument of `agg` over `input` is held: `None` when the pair is not supported.
pub(crate) fn repr(agg: &Agg, input: &DataType) -> Option<Repr> {
    use DataType::*;
    let numeric_int = matches!(
        input,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32
    );
    let float = matches!(input, Float16 | Float32 | Float64);
    let temporal = matches!(
        input,
        Timestamp(_, _) | Date32 | Date64 | Time32(_) | Time64(_) | Duration(_)
    );
    match agg {
        Agg::CountRows => Some(Repr::I64),
        Agg::Count => Some(Repr::I64),
        Agg::Sum => {
            if float {
                Some(Repr::F64)
            } else if numeric_int {
                Some(Repr::I64)
            } else {
                None
            }
        }
        Agg::Min | Agg::Max | Agg::First | Agg::Last => {
            if float {
                Some(Repr::F64)
            } else if numeric_int || temporal {
                Some(Repr::I64)
            } else {
                None
            }
        }
        Agg::Mean | Agg::Variance { .. } | Agg::QuantileCont(_) => {
            (float || numeric_int).then_some(Repr::F64)
        }
    }
}

/// Casts `arr` to the representation's array type (zero-copy for Int64/Float64 and
/// same-width temporal types).
pub(crate) fn cast_to(arr: &ArrayRef, repr: Repr) -> Result<ArrayRef> {
    let target = match repr {
        Repr::F64 => DataType::Float64,
        Repr::I64 => DataType::Int64,
    };
    if arr.data_type() == &target {
        return Ok(Arc::clone(arr));
    }
    Ok(arrow::compute::cast(arr, &target)?)
}

/// A key that orders `f64` by IEEE 754 total order when compared as `i64`.
#[inline]
fn total_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

#[inline]
fn from_total_key(k: i64) -> f64 {
    let b = k ^ ((((k >> 63) as u64) >> 1) as i64);
    f64::from_bits(b as u64)
}

/// Partial state of one aggregate for every group.
#[derive(Debug)]
pub(crate) enum State {
    /// `count(*)`.
    CountRows(Vec<i64>),
    /// `count(x)`: non-null values.
    Count(Vec<i64>),
    /// Float sum, with the number of values seen (0 → null).
    SumF { sum: Vec<f64>, n: Vec<i64> },
    /// Integer sum (wrapping, as DataFusion's), with values seen.
    SumI { sum: Vec<i64>, n: Vec<i64> },
    /// Min/max as total-order keys (floats) or values (integers); `seen` false → null.
    Extreme {
        best: Vec<i64>,
        seen: Vec<bool>,
        max: bool,
        repr: Repr,
    },
    /// Mean: float sum and count.
    Mean { sum: Vec<f64>, n: Vec<i64> },
    /// Count, mean and sum of squared deviations (Chan et al.).
    Moments {
        n: Vec<i64>,
        mean: Vec<f64>,
        m2: Vec<f64>,
        sample: bool,
        sqrt: bool,
    },
    /// The value at the smallest (`last` false) or largest timestamp.
    Pick {
        ts: Vec<i64>,
        /// Value bits: `f64::to_bits` or the `i64`.
        value: Vec<i64>,
        value_valid: Vec<bool>,
        seen: Vec<bool>,
        last: bool,
        repr: Repr,
    },
    /// Exact continuous quantile: every non-null value of the group.
    Quantile { q: f64, values: Vec<Vec<f64>> },
}

/// A per-group vector of a state: one entry per group, empty (zero, false, no values)
/// for a new group.
trait GroupVec {
    /// Makes it `groups` long, new entries empty.
    fn resize_groups(&mut self, groups: usize);
    /// Reserves room for `groups` entries in all (a refused reservation is skipped).
    fn reserve_groups(&mut self, groups: usize);
}

impl<T: Default + Clone> GroupVec for Vec<T> {
    fn resize_groups(&mut self, groups: usize) {
        self.resize(groups, T::default());
    }

    fn reserve_groups(&mut self, groups: usize) {
        let _ = self.try_reserve_exact(groups.saturating_sub(self.len()));
    }
}

impl State {
    pub(crate) fn new(agg: &Agg, repr: Repr) -> Result<Self> {
        Ok(match *agg {
            Agg::CountRows => State::CountRows(Vec::new()),
            Agg::Count => State::Count(Vec::new()),
            Agg::Sum => match repr {
                Repr::F64 => State::SumF {
                    sum: Vec::new(),
                    n: Vec::new(),
                },
                Repr::I64 => State::SumI {
                    sum: Vec::new(),
                    n: Vec::new(),
                },
            },
            Agg::Min | Agg::Max => State::Extreme {
                best: Vec::new(),
                seen: Vec::new(),
                max: matches!(agg, Agg::Max),
                repr,
            },
            Agg::Mean => State::Mean {
                sum: Vec::new(),
                n: Vec::new(),
            },
            Agg::Variance { sample, sqrt } => State::Moments {
                n: Vec::new(),
                mean: Vec::new(),
                m2: Vec::new(),
                sample,
                sqrt,
            },
            Agg::First | Agg::Last => State::Pick {
                ts: Vec::new(),
                value: Vec::new(),
                value_valid: Vec::new(),
                seen: Vec::new(),
                last: matches!(agg, Agg::Last),
                repr,
            },
            Agg::QuantileCont(q) => {
                if !(0.0..=1.0).contains(&q) {
                    return Err(Error::Quantile { q });
                }
                State::Quantile {
                    q,
                    values: Vec::new(),
                }
            }
        })
    }

    /// Calls `f` on every per-group vector of this state.
    fn each_group_vec(&mut self, mut f: impl FnMut(&mut dyn GroupVec)) {
        match self {
            State::CountRows(c) | State::Count(c) => f(c),
            State::SumF { sum, n } | State::Mean { sum, n } => {
                f(sum);
                f(n);
            }
            State::SumI { sum, n } => {
                f(sum);
                f(n);
            }
            State::Extreme { best, seen, .. } => {
                f(best);
                f(seen);
            }
            State::Moments { n, mean, m2, .. } => {
                f(n);
                f(mean);
                f(m2);
            }
            State::Pick {
                ts,
                value,
                value_valid,
                seen,
                ..
            } => {
                f(ts);
                f(value);
                f(value_valid);
                f(seen);
            }
            State::Quantile { values, .. } => f(values),
        }
    }

    /// Makes room for `groups` groups (new groups start empty).
    pub(crate) fn resize(&mut self, groups: usize) {
        self.each_group_vec(|v| v.resize_groups(groups));
    }

    /// Reserves room for `groups` groups in all, without making them (fallible: a
    /// reservation the allocator refuses is skipped, and the vectors grow as usual).
    pub(crate) fn reserve(&mut self, groups: usize) {
        self.each_group_vec(|v| v.reserve_groups(groups));
    }

    /// Folds the rows of every run into its group.
    pub(crate) fn update(&mut self, runs: &[Run], rows: usize, input: &Prepared) -> Result<()> {
        match self {
            State::CountRows(c) => {
                for r in runs {
                    c[r.group as usize] += i64::from(r.end - r.start);
                }
            }
            State::Count(c) => {
                let nulls = input.arg.as_ref().and_then(|a| a.logical_nulls());
                for r in runs {
                    let len = (r.end - r.start) as usize;
                    let valid = match &nulls {
                        Some(nb) => len - nb.slice(r.start as usize, len).null_count(),
                        None => len,
                    };
                    c[r.group as usize] += valid as i64;
                }
            }
            State::SumF { sum, n } | State::Mean { sum, n } => {
                if let Some(Values::F64(v, nulls)) = input.values() {
                    for_runs(runs, v, nulls, |g, s| {
                        sum[g] += sum_f64(s.values);
                        n[g] += s.count as i64;
                    });
                }
            }
            State::SumI { sum, n } => {
                if let Some(Values::I64(v, nulls)) = input.values() {
                    for_runs(runs, v, nulls, |g, s| {
                        sum[g] = sum[g]
                            .wrapping_add(s.values.iter().fold(0i64, |a, &x| a.wrapping_add(x)));
                        n[g] += s.count as i64;
                    });
                }
            }
            State::Extreme {
                best,
                seen,
                max,
                repr,
            } => {
                let max = *max;
                match input.values() {
                    Some(Values::F64(v, nulls)) if *repr == Repr::F64 => {
                        for_runs(runs, v, nulls, |g, s| {
                            if s.count == 0 {
                                return;
                            }
                            if let Some(k) = extreme_key(s.values, max) {
                                fold_extreme(&mut best[g], &mut seen[g], k, max);
                            }
                        })
                    }
                    Some(Values::I64(v, nulls)) => for_runs(runs, v, nulls, |g, s| {
                        let k = if max {
                            s.values.iter().copied().max()
                        } else {
                            s.values.iter().copied().min()
                        };
                        if let Some(k) = k {
                            fold_extreme(&mut best[g], &mut seen[g], k, max);
                        }
                    }),
                    _ => {}
                }
            }
            State::Moments { n, mean, m2, .. } => {
                if let Some(Values::F64(v, nulls)) = input.values() {
                    for_runs(runs, v, nulls, |g, s| {
                        if s.count == 0 {
                            return;
                        }
                        let nb = s.count as f64;
                        let mb = sum_f64(s.values) / nb;
                        let m2b: f64 = s.values.iter().map(|&x| (x - mb) * (x - mb)).sum();
                        chan_merge(&mut n[g], &mut mean[g], &mut m2[g], s.count as i64, mb, m2b);
                    });
                }
            }
            State::Pick {
                ts,
                value,
                value_valid,
                seen,
                last,
                ..
            } => {
                let last = *last;
                let Some(order) = input.order.as_ref() else {
                    return Ok(());
                };
                let Values::I64(t, tnull) = values_of(order) else {
                    return Ok(());
                };
                let (bits, vnull): (Vec<i64>, Option<&NullBuffer>) = match input.values() {
                    Some(Values::F64(v, nb)) => {
                        (v.iter().map(|x| x.to_bits() as i64).collect(), nb)
                    }
                    Some(Values::I64(v, nb)) => (v.to_vec(), nb),
                    None => return Ok(()),
                };
                debug_assert_eq!(bits.len(), rows);
                for r in runs {
                    let g = r.group as usize;
                    for i in r.start as usize..r.end as usize {
                        if tnull.is_some_and(|nb| nb.is_null(i)) {
                            continue;
                        }
                        let ti = t[i];
                        let better = !seen[g] || if last { ti >= ts[g] } else { ti < ts[g] };
                        if better {
                            seen[g] = true;
                            ts[g] = ti;
                            value[g] = bits[i];
                            value_valid[g] = vnull.is_none_or(|nb| nb.is_valid(i));
                        }
                    }
                }
            }
            State::Quantile { values, .. } => {
                if let Some(Values::F64(v, nulls)) = input.values() {
                    for_runs(runs, v, nulls, |g, s| {
                        values[g].extend_from_slice(s.values);
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether this state can fold from [`RunStats`] (sum, count, minimum and maximum of
    /// each run, found in one pass shared by every such aggregate of a float column).
    pub(crate) fn reads_run_stats(&self) -> bool {
        match self {
            State::SumF { .. } | State::Mean { .. } | State::Moments { .. } => true,
            State::Extreme { repr, .. } => *repr == Repr::F64,
            _ => false,
        }
    }

    /// Folds the runs from their [`RunStats`] (`stats[i]` belongs to `runs[i]`): the same
    /// result, bit for bit, as [`State::update`] over the values, for the states that
    /// [read run stats](State::reads_run_stats). `values` are the column's values, which
    /// variances read again for their deviations.
    pub(crate) fn update_from_stats(
        &mut self,
        runs: &[Run],
        stats: &[RunStats],
        values: &[f64],
        nulls: Option<&NullBuffer>,
    ) {
        debug_assert_eq!(runs.len(), stats.len());
        match self {
            State::SumF { sum, n } | State::Mean { sum, n } => {
                for (r, s) in runs.iter().zip(stats) {
                    let g = r.group as usize;
                    sum[g] += s.sum;
                    n[g] += i64::from(s.count);
                }
            }
            State::Extreme {
                best, seen, max, ..
            } => {
                let max = *max;
                for (r, s) in runs.iter().zip(stats) {
                    if s.count > 0 {
                        let k = if max { s.max } else { s.min };
                        fold_extreme(
                            &mut best[r.group as usize],
                            &mut seen[r.group as usize],
                            k,
                            max,
                        );
                    }
                }
            }
            State::Moments { n, mean, m2, .. } => {
                let mut i = 0;
                for_runs(runs, values, nulls, |g, v| {
                    let s = &stats[i];
                    i += 1;
                    if s.count == 0 {
                        return;
                    }
                    let mb = s.sum / f64::from(s.count);
                    let m2b: f64 = v.values.iter().map(|&x| (x - mb) * (x - mb)).sum();
                    chan_merge(
                        &mut n[g],
                        &mut mean[g],
                        &mut m2[g],
                        i64::from(s.count),
                        mb,
                        m2b,
                    );
                });
            }
            _ => debug_assert!(false, "state does not read run stats"),
        }
    }

    /// Whether [`State::update_rows`] folds by runs (first/last and quantiles), so the
    /// caller must pass the runs of the row groups.
    pub(crate) fn needs_runs(&self) -> bool {
        matches!(self, State::Pick { .. } | State::Quantile { .. })
    }

    /// Folds rows one by one into the groups `groups[i]` (the scatter path for input
    /// whose runs are short: unsorted or interleaved keys). Same results as
    /// [`State::update`] up to floating-point rounding.
    pub(crate) fn update_rows(
        &mut self,
        groups: &[u32],
        runs: &[Run],
        rows: usize,
        input: &Prepared,
    ) -> Result<()> {
        let valid = |nulls: Option<&NullBuffer>, i: usize| nulls.is_none_or(|nb| nb.is_valid(i));
        match self {
            State::CountRows(c) => {
                for &g in groups {
                    c[g as usize] += 1;
                }
            }
            State::Count(c) => {
                let nulls = input.arg.as_ref().and_then(|a| a.logical_nulls());
                match &nulls {
                    None => {
                        for &g in groups {
                            c[g as usize] += 1;
                        }
                    }
                    Some(nb) => {
                        for (i, &g) in groups.iter().enumerate() {
                            c[g as usize] += i64::from(nb.is_valid(i));
                        }
                    }
                }
            }
            State::SumF { sum, n } | State::Mean { sum, n } => {
                if let Some(Values::F64(v, nulls)) = input.values() {
                    for (i, (&g, &x)) in groups.iter().zip(v).enumerate() {
                        if valid(nulls, i) {
                            sum[g as usize] += x;
                            n[g as usize] += 1;
                        }
                    }
                }
            }
            State::SumI { sum, n } => {
                if let Some(Values::I64(v, nulls)) = input.values() {
                    for (i, (&g, &x)) in groups.iter().zip(v).enumerate() {
                        if valid(nulls, i) {
                            sum[g as usize] = sum[g as usize].wrapping_add(x);
                            n[g as usize] += 1;
                        }
                    }
                }
            }
            State::Extreme {
                best,
                seen,
                max,
                repr,
            } => {
                let max = *max;
                match input.values() {
                    Some(Values::F64(v, nulls)) if *repr == Repr::F64 => {
                        for (i, (&g, &x)) in groups.iter().zip(v).enumerate() {
                            if valid(nulls, i) {
                                let g = g as usize;
                                fold_extreme(&mut best[g], &mut seen[g], total_key(x), max);
                            }
                        }
                    }
                    Some(Values::I64(v, nulls)) => {
                        for (i, (&g, &x)) in groups.iter().zip(v).enumerate() {
                            if valid(nulls, i) {
                                let g = g as usize;
                                fold_extreme(&mut best[g], &mut seen[g], x, max);
                            }
                        }
                    }
                    _ => {}
                }
            }
            State::Moments { n, mean, m2, .. } => {
                if let Some(Values::F64(v, nulls)) = input.values() {
                    // Welford's update, one value at a time.
                    for (i, (&g, &x)) in groups.iter().zip(v).enumerate() {
                        if valid(nulls, i) {
                            let g = g as usize;
                            n[g] += 1;
                            let delta = x - mean[g];
                            mean[g] += delta / n[g] as f64;
                            m2[g] += delta * (x - mean[g]);
                        }
                    }
                }
            }
            // Already row by row within runs.
            State::Pick { .. } | State::Quantile { .. } => self.update(runs, rows, input)?,
        }
        Ok(())
    }

    /// Merges `other`'s group `from[i]` into this state's group `into[i]` for every `i`.
    pub(crate) fn merge(&mut self, other: State, map: &[u32]) {
        match (self, other) {
            (State::CountRows(a), State::CountRows(b)) | (State::Count(a), State::Count(b)) => {
                for (i, x) in b.into_iter().enumerate() {
                    a[map[i] as usize] += x;
                }
            }
            (State::SumF { sum, n }, State::SumF { sum: s2, n: n2 })
            | (State::Mean { sum, n }, State::Mean { sum: s2, n: n2 }) => {
                for (i, (s, c)) in s2.into_iter().zip(n2).enumerate() {
                    let g = map[i] as usize;
                    sum[g] += s;
                    n[g] += c;
                }
            }
            (State::SumI { sum, n }, State::SumI { sum: s2, n: n2 }) => {
                for (i, (s, c)) in s2.into_iter().zip(n2).enumerate() {
                    let g = map[i] as usize;
                    sum[g] = sum[g].wrapping_add(s);
                    n[g] += c;
                }
            }
            (
                State::Extreme {
                    best, seen, max, ..
                },
                State::Extreme {
                    best: b2, seen: s2, ..
                },
            ) => {
                for (i, (k, s)) in b2.into_iter().zip(s2).enumerate() {
                    if s {
                        let g = map[i] as usize;
                        fold_extreme(&mut best[g], &mut seen[g], k, *max);
                    }
                }
            }
            (
                State::Moments { n, mean, m2, .. },
                State::Moments {
                    n: n2,
                    mean: mean2,
                    m2: m22,
                    ..
                },
            ) => {
                for i in 0..n2.len() {
                    if n2[i] > 0 {
                        let g = map[i] as usize;
                        chan_merge(&mut n[g], &mut mean[g], &mut m2[g], n2[i], mean2[i], m22[i]);
                    }
                }
            }
            (
                State::Pick {
                    ts,
                    value,
                    value_valid,
                    seen,
                    last,
                    ..
                },
                State::Pick {
                    ts: t2,
                    value: v2,
                    value_valid: vv2,
                    seen: s2,
                    ..
                },
            ) => {
                for i in 0..t2.len() {
                    if !s2[i] {
                        continue;
                    }
                    let g = map[i] as usize;
                    let better = !seen[g] || if *last { t2[i] >= ts[g] } else { t2[i] < ts[g] };
                    if better {
                        seen[g] = true;
                        ts[g] = t2[i];
                        value[g] = v2[i];
                        value_valid[g] = vv2[i];
                    }
                }
            }
            (State::Quantile { values, .. }, State::Quantile { values: v2, .. }) => {
                for (i, v) in v2.into_iter().enumerate() {
                    values[map[i] as usize].extend(v);
                }
            }
            // Both sides come from the same spec, so the kinds always match.
            _ => {}
        }
    }

    /// The final values, one per group, as Float64 or Int64 (the caller casts them to the
    /// output type).
    pub(crate) fn finish(self) -> ArrayRef {
        match self {
            State::CountRows(c) | State::Count(c) => Arc::new(Int64Array::from(c)),
            State::SumF { sum, n } => {
                let valid: Vec<bool> = n.iter().map(|&c| c > 0).collect();
                primitive::<Float64Type>(sum, &valid)
            }
            State::SumI { sum, n } => {
                let valid: Vec<bool> = n.iter().map(|&c| c > 0).collect();
                primitive::<Int64Type>(sum, &valid)
            }
            State::Extreme {
                best, seen, repr, ..
            } => match repr {
                Repr::F64 => {
                    primitive::<Float64Type>(best.into_iter().map(from_total_key).collect(), &seen)
                }
                Repr::I64 => primitive::<Int64Type>(best, &seen),
            },
            State::Mean { sum, n } => {
                let valid: Vec<bool> = n.iter().map(|&c| c > 0).collect();
                let mean = sum.iter().zip(&n).map(|(s, &c)| s / c as f64).collect();
                primitive::<Float64Type>(mean, &valid)
            }
            State::Moments {
                n,
                m2,
                sample,
                sqrt,
                ..
            } => {
                let min_n = if sample { 2 } else { 1 };
                let valid: Vec<bool> = n.iter().map(|&c| c >= min_n).collect();
                let out = n
                    .iter()
                    .zip(&m2)
                    .map(|(&c, &m)| {
                        let var = if sample {
                            m / (c - 1) as f64
                        } else {
                            m / c as f64
                        };
                        if sqrt { var.sqrt() } else { var }
                    })
                    .collect();
                primitive::<Float64Type>(out, &valid)
            }
            State::Pick {
                value,
                value_valid,
                seen,
                repr,
                ..
            } => {
                let valid: Vec<bool> = seen
                    .iter()
                    .zip(&value_valid)
                    .map(|(s, v)| *s && *v)
                    .collect();
                match repr {
                    Repr::F64 => primitive::<Float64Type>(
                        value
                            .into_iter()
                            .map(|b| f64::from_bits(b as u64))
                            .collect(),
                        &valid,
                    ),
                    Repr::I64 => primitive::<Int64Type>(value, &valid),
                }
            }
            State::Quantile { q, values } => {
                let mut valid = Vec::with_capacity(values.len());
                let out = values
                    .into_iter()
                    .map(|mut v| match crate::sketch::exact_quantile(&mut v, q) {
                        Some(x) => {
                            valid.push(true);
                            x
                        }
                        None => {
                            valid.push(false);
                            0.0
                        }
                    })
                    .collect();
                primitive::<Float64Type>(out, &valid)
            }
        }
    }
}

fn primitive<T: ArrowPrimitiveType>(values: Vec<T::Native>, valid: &[bool]) -> ArrayRef {
    let nulls = if valid.iter().all(|v| *v) {
        None
    } else {
        let mut b = BooleanBufferBuilder::new(valid.len());
        b.append_slice(valid);
        Some(NullBuffer::new(b.finish()))
    };
    Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls))
}

#[inline]
fn fold_extreme(best: &mut i64, seen: &mut bool, k: i64, max: bool) {
    if !*seen || (max && k > *best) || (!max && k < *best) {
        *best = k;
        *seen = true;
    }
}

/// Chan et al.'s pairwise update of (count, mean, M2) with another part's moments.
#[inline]
fn chan_merge(n: &mut i64, mean: &mut f64, m2: &mut f64, nb: i64, mb: f64, m2b: f64) {
    if *n == 0 {
        (*n, *mean, *m2) = (nb, mb, m2b);
        return;
    }
    let na = *n as f64;
    let nbf = nb as f64;
    let total = na + nbf;
    let delta = mb - *mean;
    *mean += delta * nbf / total;
    *m2 += m2b + delta * delta * na * nbf / total;
    *n += nb;
}

/// The total-order key of the minimum (or maximum) of `v` under IEEE 754 total order
/// (`None` when empty).
///
/// Vectorizable: eight lanes keep the ordinary `<` minimum (SSE2's `minpd`) and add up
/// `x - x`, which is 0 for finite values and NaN for NaN and ±∞. When no NaN or infinity
/// was seen and the extreme is not zero, the ordinary and the total-order extreme are the
/// same value with the same bits (only ±0 compare equal with different bits); otherwise the
/// slice is folded again in total order.
#[inline]
#[allow(
    clippy::eq_op,
    reason = "x - x is 0 exactly for finite x: the test for NaN and infinities"
)]
pub(crate) fn extreme_key(v: &[f64], max: bool) -> Option<i64> {
    const LANES: usize = 8;
    let total = |v: &[f64]| {
        let keys = v.iter().map(|&x| total_key(x));
        if max { keys.max() } else { keys.min() }
    };
    if v.len() < 2 * LANES {
        return total(v);
    }
    let mut m = [v[0]; LANES];
    let mut bad = [0.0f64; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for j in 0..LANES {
            let x = c[j];
            let better = if max { x > m[j] } else { x < m[j] };
            m[j] = if better { x } else { m[j] };
            bad[j] += x - x;
        }
    }
    for &x in rest {
        let better = if max { x > m[0] } else { x < m[0] };
        m[0] = if better { x } else { m[0] };
        bad[0] += x - x;
    }
    let bad = bad.iter().sum::<f64>();
    let mut e = m[0];
    for &x in &m[1..] {
        let better = if max { x > e } else { x < e };
        e = if better { x } else { e };
    }
    if bad == 0.0 && e != 0.0 {
        Some(total_key(e))
    } else {
        total(v)
    }
}

/// Sums with four independent accumulators (faster than a serial sum; the same accuracy
/// class).
#[inline]
pub(crate) fn sum_f64(v: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = v.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        acc[0] += c[0];
        acc[1] += c[1];
        acc[2] += c[2];
        acc[3] += c[3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &x in rest {
        s += x;
    }
    s
}

/// One run's non-null values summarised: how many, their sum (added as [`sum_f64`] adds)
/// and the total-order keys of their minimum and maximum (meaningless when `count` is 0).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunStats {
    pub count: u32,
    pub sum: f64,
    pub min: i64,
    pub max: i64,
}

/// The [`RunStats`] of every run, in one pass over each run's values.
pub(crate) fn run_stats(runs: &[Run], v: &[f64], nulls: Option<&NullBuffer>) -> Vec<RunStats> {
    let mut out = Vec::with_capacity(runs.len());
    for_runs(runs, v, nulls, |_, s| {
        let (sum, min, max) = stats_f64(s.values);
        out.push(RunStats {
            count: s.count as u32,
            sum,
            min: min.unwrap_or(0),
            max: max.unwrap_or(0),
        });
    });
    out
}

/// Sum, minimum and maximum of `v` in one pass: the sum as [`sum_f64`] gives it, bit for
/// bit, and the extremes' total-order keys as [`extreme_key`] gives them.
///
/// Eight lanes keep the ordinary `<` minimum and `>` maximum while four accumulators add
/// in [`sum_f64`]'s order. A finite sum proves that no NaN or infinity was seen; then, when
/// neither extreme is zero, the ordinary extremes are the total-order ones (only ±0 compare
/// equal with different bits). Otherwise the extremes are folded again in total order.
#[inline]
pub(crate) fn stats_f64(v: &[f64]) -> (f64, Option<i64>, Option<i64>) {
    const LANES: usize = 8;
    if v.len() < 2 * LANES {
        return (sum_f64(v), extreme_key(v, false), extreme_key(v, true));
    }
    let mut lo = [v[0]; LANES];
    let mut hi = [v[0]; LANES];
    let mut acc = [0.0f64; 4];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for j in 0..LANES {
            let x = c[j];
            lo[j] = if x < lo[j] { x } else { lo[j] };
            hi[j] = if x > hi[j] { x } else { hi[j] };
        }
        // Two chunks of four, in the order `sum_f64` adds them.
        for j in 0..4 {
            acc[j] += c[j];
        }
        for j in 0..4 {
            acc[j] += c[4 + j];
        }
    }
    let quads = rest.chunks_exact(4);
    let tail = quads.remainder();
    for c in quads {
        for j in 0..4 {
            acc[j] += c[j];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &x in tail {
        sum += x;
    }
    for &x in rest {
        lo[0] = if x < lo[0] { x } else { lo[0] };
        hi[0] = if x > hi[0] { x } else { hi[0] };
    }
    let (mut l, mut h) = (lo[0], hi[0]);
    for j in 1..LANES {
        l = if lo[j] < l { lo[j] } else { l };
        h = if hi[j] > h { hi[j] } else { h };
    }
    if sum.is_finite() && l != 0.0 && h != 0.0 {
        (sum, Some(total_key(l)), Some(total_key(h)))
    } else {
        (sum, extreme_key(v, false), extreme_key(v, true))
    }
}

/// A run's non-null values: the slice itself when it has no nulls, else the valid values
/// copied out.
pub(crate) struct RunValues<'a, T> {
    pub values: &'a [T],
    pub count: usize,
}

/// Calls `f(group, values)` for every run with the run's non-null values.
fn for_runs<T: Copy>(
    runs: &[Run],
    v: &[T],
    nulls: Option<&NullBuffer>,
    mut f: impl FnMut(usize, RunValues<'_, T>),
) {
    let mut scratch: Vec<T> = Vec::new();
    for r in runs {
        let (s, e) = (r.start as usize, r.end as usize);
        match nulls {
            Some(nb) if nb.slice(s, e - s).null_count() > 0 => {
                scratch.clear();
                scratch.extend((s..e).filter(|&i| nb.is_valid(i)).map(|i| v[i]));
                let count = scratch.len();
                f(
                    r.group as usize,
                    RunValues {
                        values: &scratch,
                        count,
                    },
                );
            }
            _ => f(
                r.group as usize,
                RunValues {
                    values: &v[s..e],
                    count: e - s,
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_keys_order_floats_like_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for w in xs.windows(2) {
            assert!(total_key(w[0]) < total_key(w[1]), "{} < {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(from_total_key(total_key(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn vectorized_extremes_follow_total_order() {
        // Reference: `f64::total_cmp` (IEEE 754 totalOrder).
        let reference = |v: &[f64], max: bool| {
            let it = v.iter().copied();
            if max {
                it.max_by(f64::total_cmp)
            } else {
                it.min_by(f64::total_cmp)
            }
        };
        let base: Vec<f64> = (0..37).map(|i| ((i * 7919) % 101) as f64 - 50.5).collect();
        let mut cases: Vec<Vec<f64>> = vec![vec![], vec![1.0], base.clone()];
        for (at, x) in [
            (3, f64::NAN),
            (30, -f64::NAN),
            (17, f64::INFINITY),
            (35, f64::NEG_INFINITY),
            (0, -0.0),
        ] {
            let mut v = base.clone();
            v[at] = x;
            cases.push(v);
        }
        // ±0 as the extreme: all values zero, or zero the smallest magnitude.
        cases.push(
            (0..20)
                .map(|i| if i % 3 == 0 { -0.0 } else { 0.0 })
                .collect(),
        );
        cases.push((0..20).map(|i| if i == 11 { -0.0 } else { 0.0 }).collect());
        cases.push(
            (0..20)
                .map(|i| if i == 5 { 0.0 } else { i as f64 })
                .collect(),
        );
        cases.push(
            (0..20)
                .map(|i| if i == 5 { -0.0 } else { -(i as f64) })
                .collect(),
        );
        for v in &cases {
            for max in [false, true] {
                assert_eq!(
                    extreme_key(v, max).map(|k| from_total_key(k).to_bits()),
                    reference(v, max).map(f64::to_bits),
                    "{v:?} max={max}"
                );
            }
        }
    }

    /// NaN of both signs, infinities, ±0 and a value whose sums overflow.
    const SPECIALS: [f64; 7] = [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        f64::MAX,
    ];

    #[test]
    fn one_pass_run_stats_fold_as_each_aggregate_folds_alone() -> Result<()> {
        // Values with NaN of both signs, infinities, ±0, huge values whose sum overflows,
        // and nulls; runs from empty to long, several runs per group.
        let specials = SPECIALS;
        let mut values = Vec::new();
        let mut valid = Vec::new();
        for i in 0..4000u64 {
            let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            let x = if h % 97 == 0 {
                specials[(h / 97) as usize % specials.len()]
            } else {
                (h % 2001) as f64 / 8.0 - 125.0
            };
            values.push(x);
            valid.push(h % 13 != 0);
        }
        // Stretches that hold only zeros, or only one special value, or no nulls.
        for x in [0.0, -0.0, f64::NAN, f64::INFINITY, 1e308, -3.5] {
            values.extend(std::iter::repeat_n(x, 40));
            valid.extend(std::iter::repeat_n(true, 40));
        }
        let n = values.len();
        let mut runs = Vec::new();
        let (mut start, mut len) = (0usize, 0usize);
        while start < n {
            let end = (start + len).min(n);
            let group = (runs.len() % 50) as u32;
            runs.push(Run {
                group,
                start: start as u32,
                end: end as u32,
            });
            start = end;
            len = (len * 7 + 3) % 61;
        }
        for nulls in [None, Some(NullBuffer::from(valid.clone()))] {
            let array: ArrayRef = Arc::new(Float64Array::new(
                ScalarBuffer::from(values.clone()),
                nulls.clone(),
            ));
            let input = Prepared {
                arg: Some(Arc::clone(&array)),
                order: None,
            };
            let stats = run_stats(&runs, &values, nulls.as_ref());
            for agg in [
                Agg::Sum,
                Agg::Mean,
                Agg::Min,
                Agg::Max,
                Agg::Variance {
                    sample: true,
                    sqrt: false,
                },
            ] {
                let mut alone = State::new(&agg, Repr::F64)?;
                let mut shared = State::new(&agg, Repr::F64)?;
                assert!(shared.reads_run_stats(), "{agg:?}");
                alone.resize(50);
                shared.resize(50);
                alone.update(&runs, n, &input)?;
                shared.update_from_stats(&runs, &stats, &values, nulls.as_ref());
                let (a, b) = (alone.finish(), shared.finish());
                let (a, b) = (
                    a.as_any().downcast_ref::<Float64Array>().expect("f64"),
                    b.as_any().downcast_ref::<Float64Array>().expect("f64"),
                );
                assert_eq!(a.nulls(), b.nulls(), "{agg:?}");
                let bits =
                    |x: &Float64Array| x.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(a), bits(b), "{agg:?} nulls={}", nulls.is_some());
            }
        }
        Ok(())
    }

    #[test]
    fn one_pass_stats_equal_the_separate_sum_and_extremes() {
        let mut cases: Vec<Vec<f64>> = vec![vec![], vec![2.5]];
        let base: Vec<f64> = (0..45)
            .map(|i| ((i * 7919) % 101) as f64 * 0.3 - 15.0)
            .collect();
        cases.push(base.clone());
        for x in SPECIALS {
            for at in [0, 17, 44] {
                let mut v = base.clone();
                v[at] = x;
                cases.push(v);
            }
        }
        cases.push(vec![f64::MAX; 33]);
        cases.push(
            (0..33)
                .map(|i| if i % 2 == 0 { 0.0 } else { -0.0 })
                .collect(),
        );
        for v in &cases {
            let (sum, lo, hi) = stats_f64(v);
            assert_eq!(sum.to_bits(), sum_f64(v).to_bits(), "{v:?}");
            assert_eq!(lo, extreme_key(v, false), "{v:?}");
            assert_eq!(hi, extreme_key(v, true), "{v:?}");
        }
    }

    #[test]
    fn chan_merges_equal_a_two_pass_variance() {
        let xs: Vec<f64> = (0..1000).map(|i| 1e6 + (i as f64 * 0.37).sin()).collect();
        let (mut n, mut mean, mut m2) = (0i64, 0.0, 0.0);
        for part in xs.chunks(77) {
            let mb = part.iter().sum::<f64>() / part.len() as f64;
            let m2b = part.iter().map(|x| (x - mb) * (x - mb)).sum();
            chan_merge(&mut n, &mut mean, &mut m2, part.len() as i64, mb, m2b);
        }
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        let direct: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
        assert_eq!(n, 1000);
        assert!((m2 - direct).abs() / direct < 1e-9, "{m2} vs {direct}");
    }
}
