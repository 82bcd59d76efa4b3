//! Gap-filling one series onto a regular time grid, as InfluxDB 3's `date_bin_gapfill`
//! with `locf()` / `interpolate()` and TimescaleDB's `time_bucket_gapfill` do.
//!
//! # Definition
//!
//! [`GapFill`] has a range `[start, end)` and a `step`; its grid is `start + k·step` for
//! `k = 0, 1, …` while `< end`. Grid point `g` stands for the bucket `[g, g + step)`.
//!
//! 1. **Present** grid points: a grid point is present when the series has a point in its
//!    bucket; it takes that point's value, the last one in input order when there are
//!    several (on input sorted by time, the latest). The caller usually aggregates per
//!    bucket first (`date_bin` + `avg`), so each bucket has at most one point. Points
//!    outside `[start, end)`, and `NaN` values, are ignored: widen the range to carry a
//!    value in from before `start`.
//! 2. **Missing** grid points are filled from the present ones around them, `p` the
//!    previous present grid point and `n` the next one:
//!    - [`Interpolation::Locf`]: `p`'s value, when `p` exists and `g − p ≤ max_gap`;
//!    - [`Interpolation::Linear`]: the straight line from `p` to `n` at `g`, when both exist
//!      and `n − p ≤ max_gap` (a gap longer than `max_gap` stays null all along, rather than
//!      being partly interpolated towards a point the caller said is too far; no
//!      extrapolation before the first or after the last present point);
//!    - otherwise null. Without a `max_gap` every gap is filled.
//!
//! Input need not be sorted. The cost is one pass over the points and one over the grid.

use arrow::array::Float64Array;

use crate::error::{Error, Result};
use crate::series::{Interpolation, same_length};

/// The most grid points [`GapFill`] produces for one series.
pub const MAX_GRID_POINTS: usize = 100_000_000;

/// Gap-filling onto the grid `start + k·step` of `[start, end)` (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GapFill {
    start: i64,
    step: i64,
    len: usize,
    how: Interpolation,
    max_gap: Option<i64>,
}

impl GapFill {
    /// A gap fill over `[start, end)` at `step`, all in the timestamps' unit; `max_gap`
    /// (≥ 0) limits which gaps are filled.
    pub fn new(
        start: i64,
        end: i64,
        step: i64,
        how: Interpolation,
        max_gap: Option<i64>,
    ) -> Result<Self> {
        if step <= 0 {
            return Err(Error::Step { step });
        }
        if end <= start {
            return Err(Error::Range { start, end });
        }
        if let Some(max_gap) = max_gap
            && max_gap < 0
        {
            return Err(Error::MaxGap { max_gap });
        }
        let span = i128::from(end) - i128::from(start);
        let points = (span + i128::from(step) - 1) / i128::from(step);
        let len = usize::try_from(points)
            .ok()
            .filter(|&n| n <= MAX_GRID_POINTS)
            .ok_or(Error::GridTooLarge {
                points: points.unsigned_abs(),
                limit: MAX_GRID_POINTS,
            })?;
        Ok(GapFill {
            start,
            step,
            len,
            how,
            max_gap,
        })
    }

    /// The number of grid points.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the grid is empty (never: a range holds at least one grid point).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The grid's timestamps.
    pub fn grid(&self) -> impl ExactSizeIterator<Item = i64> + '_ {
        // Every grid point is < end, so it fits in i64.
        (0..self.len).map(|k| self.start + k as i64 * self.step)
    }

    /// The grid index of the bucket holding `ts`, if it is in the range.
    #[inline]
    fn bucket(&self, ts: i64) -> Option<usize> {
        if ts < self.start {
            return None;
        }
        let k = (i128::from(ts) - i128::from(self.start)) / i128::from(self.step);
        usize::try_from(k).ok().filter(|&k| k < self.len)
    }

    /// The value of every grid point (null where missing and not filled), one per
    /// [`GapFill::grid`] timestamp.
    pub fn fill(&self, ts: &[i64], values: &[f64]) -> Result<Float64Array> {
        same_length(ts.len(), values.len())?;
        let mut present: Vec<Option<f64>> = vec![None; self.len];
        for (&t, &v) in ts.iter().zip(values) {
            if v.is_nan() {
                continue;
            }
            if let Some(k) = self.bucket(t) {
                present[k] = Some(v);
            }
        }
        let max_steps = self.max_gap.map(|g| g / self.step);
        let within = |steps: usize| max_steps.is_none_or(|m| (steps as i64) <= m);
        let mut out = present.clone();
        match self.how {
            Interpolation::Locf => {
                let mut last: Option<(usize, f64)> = None;
                for (k, slot) in out.iter_mut().enumerate() {
                    match present[k] {
                        Some(v) => last = Some((k, v)),
                        None => {
                            if let Some((p, v)) = last
                                && within(k - p)
                            {
                                *slot = Some(v);
                            }
                        }
                    }
                }
            }
            Interpolation::Linear => {
                let mut last: Option<(usize, f64)> = None;
                for (k, &cur) in present.iter().enumerate() {
                    let Some(v) = cur else { continue };
                    if let Some((p, pv)) = last
                        && k - p > 1
                        && within(k - p)
                    {
                        let span = (k - p) as f64;
                        for (i, slot) in out.iter_mut().enumerate().take(k).skip(p + 1) {
                            *slot = Some(pv + (v - pv) * ((i - p) as f64 / span));
                        }
                    }
                    last = Some((k, v));
                }
            }
        }
        Ok(Float64Array::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(a: &Float64Array) -> Vec<Option<f64>> {
        a.iter().collect()
    }

    #[test]
    fn grid_is_half_open_and_rounds_up() -> Result<()> {
        let g = GapFill::new(0, 50, 10, Interpolation::Locf, None)?;
        assert_eq!(g.grid().collect::<Vec<_>>(), vec![0, 10, 20, 30, 40]);
        let g = GapFill::new(0, 51, 10, Interpolation::Locf, None)?;
        assert_eq!(g.len(), 6);
        assert!(matches!(
            GapFill::new(0, 10, 0, Interpolation::Locf, None),
            Err(Error::Step { step: 0 })
        ));
        assert!(matches!(
            GapFill::new(10, 10, 1, Interpolation::Locf, None),
            Err(Error::Range { .. })
        ));
        assert!(matches!(
            GapFill::new(0, i64::MAX, 1, Interpolation::Locf, None),
            Err(Error::GridTooLarge { .. })
        ));
        assert!(matches!(
            GapFill::new(0, 10, 1, Interpolation::Locf, Some(-1)),
            Err(Error::MaxGap { max_gap: -1 })
        ));
        Ok(())
    }

    #[test]
    fn a_gap_longer_than_max_gap_stays_null() -> Result<()> {
        // Grid 0..100 step 10; present at 0 (1.0), 20 (3.0), 70 (8.0), 90 (6.0).
        // Points off the grid fall into their bucket: 71 → bucket 70. 150 is out of range.
        let ts = [0, 20, 71, 90, 150];
        let v = [1.0, 3.0, 8.0, 6.0, 99.0];
        // LOCF with max gap 20: 10 ← 1 (gap 10), 30 ← 3, 40 ← 3 (gap 20), 50/60 null
        // (gaps 30/40), 80 ← 8; nothing before the first present point.
        let locf = GapFill::new(0, 100, 10, Interpolation::Locf, Some(20))?.fill(&ts, &v)?;
        assert_eq!(
            values(&locf),
            vec![
                Some(1.0),
                Some(1.0),
                Some(3.0),
                Some(3.0),
                Some(3.0),
                None,
                None,
                Some(8.0),
                Some(8.0),
                Some(6.0)
            ]
        );
        // Linear with max gap 20: 10 is halfway 1 → 3 = 2; 20 → 70 bridges 50 > 20: null;
        // 80 is halfway 8 → 6 = 7.
        let lin = GapFill::new(0, 100, 10, Interpolation::Linear, Some(20))?.fill(&ts, &v)?;
        assert_eq!(
            values(&lin),
            vec![
                Some(1.0),
                Some(2.0),
                Some(3.0),
                None,
                None,
                None,
                None,
                Some(8.0),
                Some(7.0),
                Some(6.0)
            ]
        );
        // No max gap: 30..60 interpolated from 3 (at 20) to 8 (at 70): +1 per step.
        let all = GapFill::new(0, 100, 10, Interpolation::Linear, None)?.fill(&ts, &v)?;
        assert_eq!(
            values(&all)[3..7],
            [Some(4.0), Some(5.0), Some(6.0), Some(7.0)]
        );
        // Grid starting before the series: no extrapolation, no LOCF backwards.
        let early = GapFill::new(-20, 10, 10, Interpolation::Locf, None)?.fill(&ts, &v)?;
        assert_eq!(values(&early), vec![None, None, Some(1.0)]);
        Ok(())
    }

    #[test]
    fn the_last_point_of_a_bucket_wins_and_order_does_not_matter() -> Result<()> {
        let g = GapFill::new(0, 30, 10, Interpolation::Locf, None)?;
        let out = g.fill(&[25, 1, 5, 12], &[4.0, 1.0, 2.0, f64::NAN])?;
        // Bucket 0: 1.0 then 2.0 → 2.0; bucket 10: NaN ignored → LOCF 2.0; bucket 20: 4.0.
        assert_eq!(values(&out), vec![Some(2.0), Some(2.0), Some(4.0)]);
        Ok(())
    }
}
