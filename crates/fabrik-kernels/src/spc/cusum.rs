//! The tabular CUSUM (Montgomery, *Introduction to Statistical Quality Control*, ch. 9).
//!
//! With `c` (the target μ₀) and `σ` the chart's [`Limits`], the reference value
//! `K = k·σ` and the decision interval `H = h·σ`, the upper and lower sums of the `i`-th
//! point (missing readings skipped) are
//!
//! ```text
//! C⁺ᵢ = max(0, xᵢ − (c + K) + C⁺ᵢ₋₁),   C⁻ᵢ = max(0, (c − K) − xᵢ + C⁻ᵢ₋₁),   C⁺₀ = C⁻₀ = 0
//! ```
//!
//! A point signals on a side when that side's sum is strictly above `H`. The signal
//! carries the sum, and the first point of the sum's current stretch above zero (its `N`
//! consecutive points): the estimate of when the shift began (Montgomery: the process
//! mean moved after period `i − N`).
//!
//! # Reset after a signal
//!
//! With [`CusumParams::reset`] (the default), both sums restart from zero after a signal,
//! as after the process has been investigated and adjusted: the next signal needs a new
//! accumulation of `H`. Without it the sums run on and every point whose sum stays above
//! `H` signals again.

use arrow::array::Float64Array;

use super::Limits;
use crate::error::{Error, Result};

/// The parameters of a tabular CUSUM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CusumParams {
    /// The reference value (allowance) `k`, in sigmas: half the shift to detect. Zero or
    /// positive.
    pub k: f64,
    /// The decision interval `h`, in sigmas. Positive.
    pub h: f64,
    /// Whether both sums restart from zero after a signal (see the [module docs](self)).
    pub reset: bool,
}

impl Default for CusumParams {
    /// `k = 0.5`, `h = 5`, reset on: Montgomery's recommendation for detecting a 1σ shift
    /// (in-control ARL ≈ 465).
    fn default() -> Self {
        CusumParams {
            k: 0.5,
            h: 5.0,
            reset: true,
        }
    }
}

impl CusumParams {
    fn check(&self) -> Result<()> {
        if !(self.k >= 0.0 && self.k.is_finite()) {
            return Err(Error::SpcParameter {
                name: "k",
                value: self.k,
                expected: "finite and zero or positive",
            });
        }
        if !(self.h > 0.0 && self.h.is_finite()) {
            return Err(Error::SpcParameter {
                name: "h",
                value: self.h,
                expected: "finite and positive",
            });
        }
        Ok(())
    }
}

/// The side of a CUSUM signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CusumSide {
    /// The upper sum `C⁺`: the mean moved up.
    Upper,
    /// The lower sum `C⁻`: the mean moved down.
    Lower,
}

/// A point at which a CUSUM sum is above the decision interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CusumSignal {
    /// The point's row in the series (missing rows counted), 0-based.
    pub index: usize,
    /// Which sum signalled.
    pub side: CusumSide,
    /// The reading at that point.
    pub value: f64,
    /// The sum at that point (before any reset), in the readings' unit.
    pub statistic: f64,
    /// The row of the first point of the sum's current stretch above zero: the estimated
    /// start of the shift.
    pub start: usize,
    /// The number of (non-missing) points of that stretch (Montgomery's `N⁺` / `N⁻`).
    pub points: u64,
}

/// One side's sum and its stretch above zero.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    value: f64,
    start: usize,
    points: u64,
}

impl Sum {
    #[inline]
    fn add(&mut self, increment: f64, index: usize) {
        let next = self.value + increment;
        if next > 0.0 {
            if self.points == 0 {
                self.start = index;
            }
            self.value = next;
            self.points += 1;
        } else {
            *self = Sum::default();
        }
    }
}

/// The streaming state of a tabular CUSUM: feed it the batches of one series in time
/// order. O(1) per point, no allocation.
#[derive(Debug, Clone)]
pub struct CusumState {
    params: CusumParams,
    /// `c + K`, `c − K`, `H`.
    upper_ref: f64,
    lower_ref: f64,
    interval: f64,
    upper: Sum,
    lower: Sum,
    position: usize,
}

impl CusumState {
    /// A CUSUM with these limits (target and sigma) and parameters
    /// ([`Error::SpcParameter`] for a negative `k` or a non-positive `h`).
    pub fn new(limits: Limits, params: CusumParams) -> Result<Self> {
        params.check()?;
        let k = params.k * limits.sigma();
        Ok(CusumState {
            params,
            upper_ref: limits.center() + k,
            lower_ref: limits.center() - k,
            interval: params.h * limits.sigma(),
            upper: Sum::default(),
            lower: Sum::default(),
            position: 0,
        })
    }

    /// The chart's parameters.
    pub fn params(&self) -> CusumParams {
        self.params
    }

    /// The upper and lower sums `(C⁺, C⁻)` after the last point (after any reset).
    pub fn sums(&self) -> (f64, f64) {
        (self.upper.value, self.lower.value)
    }

    /// The rows seen so far (missing ones included): the index the next row will have.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Feeds the next batch of the series, pushing its signals to `out`.
    pub fn update(&mut self, values: &[f64], out: &mut Vec<CusumSignal>) {
        for &v in values {
            self.push(v, out);
        }
    }

    /// Feeds the next batch as an Arrow array (nulls are missing readings).
    pub fn update_array(&mut self, values: &Float64Array, out: &mut Vec<CusumSignal>) {
        for v in values.iter() {
            self.push(v.unwrap_or(f64::NAN), out);
        }
    }

    /// Feeds the next reading (`NaN` is a missing one), pushing the signals of its sums to
    /// `out` (upper first).
    #[inline]
    pub fn push(&mut self, x: f64, out: &mut Vec<CusumSignal>) {
        let index = self.position;
        self.position += 1;
        if x.is_nan() {
            return;
        }
        self.upper.add(x - self.upper_ref, index);
        self.lower.add(self.lower_ref - x, index);
        let mut signalled = false;
        for (side, sum) in [
            (CusumSide::Upper, self.upper),
            (CusumSide::Lower, self.lower),
        ] {
            if sum.value > self.interval {
                signalled = true;
                out.push(CusumSignal {
                    index,
                    side,
                    value: x,
                    statistic: sum.value,
                    start: sum.start,
                    points: sum.points,
                });
            }
        }
        if signalled && self.params.reset {
            self.upper = Sum::default();
            self.lower = Sum::default();
        }
    }
}

/// The signals of a tabular CUSUM over a whole series (see the [module docs](self)).
pub fn cusum(values: &[f64], limits: Limits, params: CusumParams) -> Result<Vec<CusumSignal>> {
    let mut out = Vec::new();
    CusumState::new(limits, params)?.update(values, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn by_hand_with_reset() -> Result<()> {
        // c = 10, σ = 1, k = 0.5, h = 2 (K = 0.5, H = 2); a NaN at row 2 is skipped.
        // C⁺ = max(0, x − 10.5 + C⁺):  11 → 0.5; 12 → 1.5 + 0.5 = 2.0 (not above 2);
        //   10 → −0.5 + 2 = 1.5; 13 → 2.5 + 1.5 = 4.0 > 2: signal at row 4, stretch from
        //   row 0, 4 points. Both sums reset.
        // C⁻ = max(0, 9.5 − x + C⁻): 0 through row 4; 9 → 0.5; 8 → 1.5 + 0.5 = 2.0;
        //   7 → 2.5 + 2 = 4.5 > 2: signal at row 7, stretch from row 5, 3 points.
        let x = [11.0, 12.0, f64::NAN, 10.0, 13.0, 9.0, 8.0, 7.0];
        let s = cusum(
            &x,
            Limits::new(10.0, 1.0)?,
            CusumParams {
                k: 0.5,
                h: 2.0,
                reset: true,
            },
        )?;
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].index, s[0].side, s[0].start, s[0].points),
            (4, CusumSide::Upper, 0, 4)
        );
        assert!(close(s[0].statistic, 4.0));
        assert_eq!(
            (s[1].index, s[1].side, s[1].start, s[1].points),
            (7, CusumSide::Lower, 5, 3)
        );
        assert!(close(s[1].statistic, 4.5));
        Ok(())
    }

    #[test]
    fn by_hand_without_reset() -> Result<()> {
        // Same as above without reset: C⁺ after row 4 is 4.0; 9 → −1.5 + 4 = 2.5 > 2:
        // signal at row 5 too; 8 → −2.5 + 2.5 = 0 (reset to 0 by the max, no signal);
        // 7 → 0. C⁻: 9 → 0.5; 8 → 2.0; 7 → 4.5 > 2: signal at row 7.
        let x = [11.0, 12.0, f64::NAN, 10.0, 13.0, 9.0, 8.0, 7.0];
        let s = cusum(
            &x,
            Limits::new(10.0, 1.0)?,
            CusumParams {
                k: 0.5,
                h: 2.0,
                reset: false,
            },
        )?;
        let got: Vec<_> = s.iter().map(|s| (s.index, s.side)).collect();
        assert_eq!(
            got,
            vec![
                (4, CusumSide::Upper),
                (5, CusumSide::Upper),
                (7, CusumSide::Lower)
            ]
        );
        assert!(close(s[1].statistic, 2.5));
        Ok(())
    }

    #[test]
    fn against_numpy() -> Result<()> {
        // c = 10, σ = 1, k = 0.5, h = 5, reset after a signal; the same 20 readings as the
        // EWMA test (the last 10 shifted up by 1σ). Reference computed with numpy
        // (python3 -c):
        // import numpy as np; x=np.array([X]); cp=cm=0.; st=None; out=[]
        // for i,v in enumerate(x):
        //   cp=max(0,v-10.5+cp); cm=max(0,9.5-v+cm); st=(st if st is not None else i) if cp>0 else None
        //   if cp>5 or cm>5: out.append((i,round(cp,10),round(cm,10),st)); cp=cm=0.; st=None
        // print(out)   # → [(17, 5.83, 0, 11)]
        let x = [
            9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.2, 10.34, 10.43, 11.0, 11.24,
            11.64, 11.5, 10.85, 11.43, 11.67, 11.61, 12.01,
        ];
        let s = cusum(&x, Limits::new(10.0, 1.0)?, CusumParams::default())?;
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].index, s[0].side, s[0].start, s[0].points),
            (17, CusumSide::Upper, 11, 7)
        );
        assert!(close(s[0].statistic, 5.83), "{}", s[0].statistic);
        // Any split into batches gives the same.
        let mut state = CusumState::new(Limits::new(10.0, 1.0)?, CusumParams::default())?;
        let mut out = Vec::new();
        state.update_array(&Float64Array::from(x[..11].to_vec()), &mut out);
        state.update(&x[11..], &mut out);
        assert_eq!(out, s);
        Ok(())
    }

    #[test]
    fn bad_parameters_are_errors() -> Result<()> {
        let limits = Limits::new(0.0, 1.0)?;
        for (k, h) in [
            (-0.1, 5.0),
            (f64::NAN, 5.0),
            (0.5, 0.0),
            (0.5, f64::INFINITY),
        ] {
            assert!(matches!(
                cusum(&[1.0], limits, CusumParams { k, h, reset: true }),
                Err(Error::SpcParameter { .. })
            ));
        }
        Ok(())
    }
}
