//! The exponentially weighted moving average (EWMA) chart (Montgomery, *Introduction to
//! Statistical Quality Control*, ch. 9).
//!
//! With `c` and `σ` the chart's [`Limits`], smoothing `λ ∈ (0, 1]` and width `L`, the
//! statistic of the `i`-th point (1-based, missing readings skipped) is
//!
//! ```text
//! zᵢ = λ·xᵢ + (1 − λ)·zᵢ₋₁,   z₀ = c
//! ```
//!
//! and its limits, exact for the `i`-th point (they widen towards the asymptotic
//! `c ± Lσ·√(λ/(2 − λ))`):
//!
//! ```text
//! c ± L·σ·√( λ/(2 − λ) · (1 − (1 − λ)^{2i}) )
//! ```
//!
//! A point signals when `zᵢ` is strictly beyond its limits. The statistic is not reset
//! after a signal (the chart keeps smoothing; every point whose statistic is beyond its
//! limits signals). `λ = 1` is the Shewhart chart with limits at `c ± Lσ`.

use arrow::array::Float64Array;

use super::Limits;
use crate::error::{Error, Result};

/// The parameters of an EWMA chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EwmaParams {
    /// The smoothing constant λ, in `(0, 1]`.
    pub lambda: f64,
    /// The width L of the limits, in sigmas of the statistic (positive).
    pub width: f64,
}

impl Default for EwmaParams {
    /// `λ = 0.1`, `L = 2.7`: Montgomery's example (in-control ARL ≈ 500, close to a
    /// Shewhart chart's 370 while much faster on small shifts).
    fn default() -> Self {
        EwmaParams {
            lambda: 0.1,
            width: 2.7,
        }
    }
}

impl EwmaParams {
    fn check(&self) -> Result<()> {
        if !(self.lambda > 0.0 && self.lambda <= 1.0) {
            return Err(Error::SpcParameter {
                name: "lambda",
                value: self.lambda,
                expected: "in (0, 1]",
            });
        }
        if !(self.width > 0.0 && self.width.is_finite()) {
            return Err(Error::SpcParameter {
                name: "width",
                value: self.width,
                expected: "finite and positive",
            });
        }
        Ok(())
    }
}

/// A point whose EWMA statistic is beyond its limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EwmaSignal {
    /// The point's row in the series (missing rows counted), 0-based.
    pub index: usize,
    /// The reading at that point.
    pub value: f64,
    /// The EWMA statistic `zᵢ` at that point.
    pub statistic: f64,
    /// The lower limit at that point.
    pub lcl: f64,
    /// The upper limit at that point.
    pub ucl: f64,
}

/// The streaming state of an EWMA chart: feed it the batches of one series in time order.
/// O(1) per point, no allocation.
#[derive(Debug, Clone)]
pub struct EwmaState {
    limits: Limits,
    params: EwmaParams,
    /// `L·σ·√(λ/(2 − λ))`.
    half_width: f64,
    /// `(1 − λ)²`.
    decay_step: f64,
    /// `(1 − λ)^{2i}` after `i` points.
    decay: f64,
    statistic: f64,
    points: u64,
    position: usize,
}

impl EwmaState {
    /// A chart with these limits and parameters ([`Error::SpcParameter`] for a `λ`
    /// outside `(0, 1]` or a width that is not finite and positive).
    pub fn new(limits: Limits, params: EwmaParams) -> Result<Self> {
        params.check()?;
        let lambda = params.lambda;
        Ok(EwmaState {
            limits,
            params,
            half_width: params.width * limits.sigma() * (lambda / (2.0 - lambda)).sqrt(),
            decay_step: (1.0 - lambda) * (1.0 - lambda),
            decay: 1.0,
            statistic: limits.center(),
            points: 0,
            position: 0,
        })
    }

    /// The chart's parameters.
    pub fn params(&self) -> EwmaParams {
        self.params
    }

    /// The statistic after the last point (the centre line before any).
    pub fn statistic(&self) -> f64 {
        self.statistic
    }

    /// The number of (non-missing) points seen.
    pub fn points(&self) -> u64 {
        self.points
    }

    /// The rows seen so far (missing ones included): the index the next row will have.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Feeds the next batch of the series, pushing its signals to `out`.
    pub fn update(&mut self, values: &[f64], out: &mut Vec<EwmaSignal>) {
        for &v in values {
            self.push(v, out);
        }
    }

    /// Feeds the next batch as an Arrow array (nulls are missing readings).
    pub fn update_array(&mut self, values: &Float64Array, out: &mut Vec<EwmaSignal>) {
        for v in values.iter() {
            self.push(v.unwrap_or(f64::NAN), out);
        }
    }

    /// Feeds the next reading (`NaN` is a missing one), pushing a signal to `out` when
    /// the statistic is beyond its limits.
    #[inline]
    pub fn push(&mut self, x: f64, out: &mut Vec<EwmaSignal>) {
        let index = self.position;
        self.position += 1;
        if x.is_nan() {
            return;
        }
        let lambda = self.params.lambda;
        self.statistic = lambda * x + (1.0 - lambda) * self.statistic;
        self.points += 1;
        self.decay *= self.decay_step;
        let half = self.half_width * (1.0 - self.decay).sqrt();
        let (lcl, ucl) = (self.limits.center() - half, self.limits.center() + half);
        if self.statistic > ucl || self.statistic < lcl {
            out.push(EwmaSignal {
                index,
                value: x,
                statistic: self.statistic,
                lcl,
                ucl,
            });
        }
    }
}

/// The signals of an EWMA chart over a whole series (see the [module docs](self)).
pub fn ewma(values: &[f64], limits: Limits, params: EwmaParams) -> Result<Vec<EwmaSignal>> {
    let mut out = Vec::new();
    EwmaState::new(limits, params)?.update(values, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn by_hand() -> Result<()> {
        // c = 0, σ = 1, λ = 0.5, L = 2; readings 1, 2, 3.
        // i = 1: z = 0.5·1 = 0.5; half = 2·√(0.5/1.5 · (1 − 0.25)) = 2·√0.25 = 1 → no.
        // i = 2: z = 0.5·2 + 0.5·0.5 = 1.25; half = 2·√(1/3 · (1 − 0.0625)) = 2·√0.3125
        //        = 1.118034 → signal.
        // i = 3: z = 1.5 + 0.625 = 2.125; half = 2·√(1/3 · (1 − 1/64)) = 2·√0.328125
        //        = 1.145644 → signal.
        let params = EwmaParams {
            lambda: 0.5,
            width: 2.0,
        };
        let signals = ewma(&[1.0, f64::NAN, 2.0, 3.0], Limits::new(0.0, 1.0)?, params)?;
        assert_eq!(signals.len(), 2);
        assert_eq!(signals[0].index, 2);
        assert!(close(signals[0].statistic, 1.25));
        assert!(close(signals[0].ucl, 2.0 * 0.3125f64.sqrt()));
        assert!(close(signals[0].lcl, -2.0 * 0.3125f64.sqrt()));
        assert_eq!(signals[1].index, 3);
        assert!(close(signals[1].statistic, 2.125));
        assert!(close(signals[1].ucl, 2.0 * 0.328125f64.sqrt()));
        Ok(())
    }

    #[test]
    fn against_numpy() -> Result<()> {
        // c = 10, σ = 1, λ = 0.1, L = 2.7; 20 readings, the last 10 shifted up by 1σ.
        // Reference computed with numpy (python3 -c):
        // import numpy as np; x=np.array([X]); c,s,lam,L=10,1,.1,2.7; z=c; out=[]
        // for i,v in enumerate(x,1):
        //   z=lam*v+(1-lam)*z; h=L*s*np.sqrt(lam/(2-lam)*(1-(1-lam)**(2*i)))
        //   out.append((i-1,z,c-h,c+h)) if abs(z-c)>h else None
        // print(out)   # → [(16, 10.6348905901, 9.3892522097, 10.6107477903), … (19, …)]
        let x = [
            9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.2, 10.34, 10.43, 11.0, 11.24,
            11.64, 11.5, 10.85, 11.43, 11.67, 11.61, 12.01,
        ];
        let expected = [
            (16, 10.634_890_590_1, 9.389_252_209_7, 10.610_747_790_3),
            (17, 10.738_401_531_1, 9.387_594_562_9, 10.612_405_437_1),
            (18, 10.825_561_377_9, 9.386_255_151_0, 10.613_744_849_0),
            (19, 10.944_005_240_2, 9.385_172_366_3, 10.614_827_633_7),
        ];
        let signals = ewma(&x, Limits::new(10.0, 1.0)?, EwmaParams::default())?;
        assert_eq!(signals.len(), expected.len());
        for (s, &(i, z, lcl, ucl)) in signals.iter().zip(&expected) {
            assert_eq!(s.index, i);
            assert!(close(s.statistic, z), "{} vs {z}", s.statistic);
            assert!(close(s.lcl, lcl), "{} vs {lcl}", s.lcl);
            assert!(close(s.ucl, ucl), "{} vs {ucl}", s.ucl);
        }
        // Any split into batches gives the same.
        let mut state = EwmaState::new(Limits::new(10.0, 1.0)?, EwmaParams::default())?;
        let mut out = Vec::new();
        state.update(&x[..7], &mut out);
        state.update_array(&Float64Array::from(x[7..].to_vec()), &mut out);
        assert_eq!(out, signals);
        assert_eq!(state.points(), 20);
        Ok(())
    }

    #[test]
    fn bad_parameters_are_errors() -> Result<()> {
        let limits = Limits::new(0.0, 1.0)?;
        for (lambda, width) in [
            (0.0, 3.0),
            (1.5, 3.0),
            (f64::NAN, 3.0),
            (0.2, 0.0),
            (0.2, f64::INFINITY),
        ] {
            assert!(matches!(
                ewma(&[1.0], limits, EwmaParams { lambda, width }),
                Err(Error::SpcParameter { .. })
            ));
        }
        // λ = 1 is a Shewhart chart at ±L σ.
        let s = ewma(
            &[2.9, 3.1],
            limits,
            EwmaParams {
                lambda: 1.0,
                width: 3.0,
            },
        )?;
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].index, 1);
        assert!(close(s[0].ucl, 3.0));
        Ok(())
    }
}
