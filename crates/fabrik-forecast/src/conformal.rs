//! Conformal prediction intervals for any [`Model`], from the errors of rolling-origin
//! forecasts: the method of statsforecast's `ConformalIntervals(h, n_windows)`.
//!
//! # Calibration
//! [`conformity_scores`] forecasts the last `windows` non-overlapping blocks of `h`
//! observations of the training series, each from the data before it: window `i` (0-based,
//! oldest first) is fitted on `y[..n − (windows − i)·h]` and scored on the next `h` values,
//! and its score at step `j` is `|y − ŷⱼ|`. As in statsforecast, a series too short for the
//! requested windows uses as many as fit (`min(windows, (n − 1) / h)`, here with the model's
//! own minimum length in place of the 1), and at least two are needed.
//!
//! # Intervals
//! The model is then fitted on the whole series, and its point forecast `ŷⱼ` gets, per step
//! `j` and level `L`, the interval of the chosen [`ConformalMethod`]:
//! - [`ConformalMethod::Distribution`] (statsforecast's default, `"conformal_distribution"`):
//!   the `(1 − L)/2` and `(1 + L)/2` empirical quantiles of the `2·windows` values
//!   `ŷⱼ ± scoreᵢⱼ`.
//! - [`ConformalMethod::Error`] (statsforecast's `"conformal_error"`): `ŷⱼ ± q`, `q` the `L`
//!   quantile of the scores of step `j`.
//! - [`ConformalMethod::Corrected`]: textbook split conformal, `ŷⱼ ± q` with `q` the
//!   `⌈(n + 1)·L⌉`-th smallest of the `n` scores of step `j` (the finite-sample correction
//!   `⌈(n + 1)·L⌉ / n` of the quantile level, which guarantees coverage ≥ `L` for
//!   exchangeable errors). With few windows this is often beyond the largest score (for
//!   `n = 4`, every level above 80): the bounds are then infinite, which is what the
//!   guarantee takes.
//!
//! The two statsforecast methods use numpy's default quantile (linear interpolation between
//! order statistics, Hyndman & Fan's type 7), so their intervals equal statsforecast's on
//! the same scores. They have no finite-sample correction: with the usual 2–5 windows they
//! cover less than `L` out of sample.
//!
//! Steps beyond the calibrated horizon take the scores of the last calibrated step (set the
//! horizon to the longest you forecast: errors usually grow with the step, so these
//! intervals are too narrow).
//!
//! # Non-negative data
//! Demand cannot be negative: when [`Conformal::clip_at_zero`] is on (the default) and the
//! training series has no negative value (as intermittent demand never has), bounds below
//! zero are raised to zero. statsforecast does not clip; turn it off to get its numbers.

use crate::error::{Error, Result};
use crate::model::{Criteria, Fitted, Forecast, Interval, Model};

/// How the conformity scores become an interval (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConformalMethod {
    /// statsforecast's `"conformal_distribution"` (its default): quantiles of `ŷ ± score`.
    #[default]
    Distribution,
    /// statsforecast's `"conformal_error"`: `ŷ ± ` the `L` quantile of the scores.
    Error,
    /// Split conformal with the finite-sample correction `⌈(n + 1)·L⌉ / n`.
    Corrected,
}

/// The `q` quantile (`q` in `[0, 1]`) of `sorted` (ascending, not empty) by linear
/// interpolation between order statistics: numpy's default `np.quantile`, computed as numpy
/// computes it (its `_lerp`) so that results agree to the last bit in the usual cases.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 || q.is_nan() {
        return f64::NAN;
    }
    let virtual_index = (n - 1) as f64 * q;
    if virtual_index >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    if virtual_index < 0.0 {
        return sorted[0];
    }
    let below = virtual_index.floor();
    let gamma = virtual_index - below;
    // `below` is in [0, n − 1): a valid index, and `below + 1` too.
    let i = below as usize;
    let (a, b) = (sorted[i], sorted[i + 1]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// The conformity scores of `model` on `y`: `scores[i][j] = |y − ŷⱼ|` of window `i` (oldest
/// first) at step `j`, over `min(windows, (n − max(min_len, 1)) / horizon)` windows.
///
/// Errors: [`Error::Horizon`] for a horizon of 0; [`Error::Parameter`] for fewer than two
/// windows asked; [`Error::TooShort`] when fewer than two windows fit; the model's fit
/// errors.
pub fn conformity_scores(
    model: &dyn Model,
    y: &[f64],
    horizon: usize,
    windows: usize,
) -> Result<Vec<Vec<f64>>> {
    check_settings(horizon, windows)?;
    let n = y.len();
    let first = model.min_len().max(1);
    let windows = windows.min(n.saturating_sub(first) / horizon);
    if windows < 2 {
        return Err(Error::TooShort {
            model: format!("conformal intervals of {}", model.name()),
            len: n,
            min: first + 2 * horizon,
        });
    }
    let test = windows * horizon;
    (0..windows)
        .map(|i| {
            let end = n - test + i * horizon;
            let fc = model.fit(&y[..end])?.forecast(horizon, &[]);
            Ok(y[end..end + horizon]
                .iter()
                .zip(&fc.mean)
                .map(|(y, f)| (f - y).abs())
                .collect())
        })
        .collect()
}

fn check_settings(horizon: usize, windows: usize) -> Result<()> {
    if horizon == 0 {
        return Err(Error::Horizon);
    }
    if windows < 2 {
        return Err(Error::Parameter {
            name: "windows",
            value: windows as f64,
            expected: "at least 2 (conformal intervals need two calibration windows)",
        });
    }
    Ok(())
}

/// Scores per step: `by_step[j]` the scores of step `j` over the windows, ascending.
fn by_step(scores: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let horizon = scores.iter().map(Vec::len).min().unwrap_or(0);
    (0..horizon)
        .map(|j| {
            let mut s: Vec<f64> = scores.iter().map(|w| w[j]).collect();
            s.sort_by(f64::total_cmp);
            s
        })
        .collect()
}

/// The conformal intervals around `mean` at `levels` (percent) from conformity scores
/// (`scores[window][step]`, as from [`conformity_scores`]); steps beyond the scores' horizon
/// use the last step's scores. A level outside `(0, 100)` gets NaN bounds.
pub fn conformal_intervals(
    mean: &[f64],
    scores: &[Vec<f64>],
    levels: &[f64],
    method: ConformalMethod,
) -> Vec<Interval> {
    intervals_by_step(mean, &by_step(scores), levels, method)
}

fn intervals_by_step(
    mean: &[f64],
    steps: &[Vec<f64>],
    levels: &[f64],
    method: ConformalMethod,
) -> Vec<Interval> {
    levels
        .iter()
        .map(|&level| {
            let (lo, hi) = mean
                .iter()
                .enumerate()
                .map(|(j, &m)| match steps.get(j).or(steps.last()) {
                    Some(s) if level > 0.0 && level < 100.0 => bounds(m, s, level, method),
                    _ => (f64::NAN, f64::NAN),
                })
                .unzip();
            Interval { level, lo, hi }
        })
        .collect()
}

/// The bounds at one step from its ascending scores.
fn bounds(mean: f64, sorted: &[f64], level: f64, method: ConformalMethod) -> (f64, f64) {
    match method {
        ConformalMethod::Distribution => {
            // statsforecast: np.quantile(vstack([mean − cs, mean + cs]), [α/200, 1 − α/200]).
            let mut values: Vec<f64> = sorted
                .iter()
                .map(|s| mean - s)
                .chain(sorted.iter().map(|s| mean + s))
                .collect();
            values.sort_by(f64::total_cmp);
            let alpha = 100.0 - level;
            (
                quantile_sorted(&values, alpha / 200.0),
                quantile_sorted(&values, 1.0 - alpha / 200.0),
            )
        }
        ConformalMethod::Error => {
            let q = quantile_sorted(sorted, level / 100.0);
            (mean - q, mean + q)
        }
        ConformalMethod::Corrected => {
            let n = sorted.len();
            // ⌈(n + 1)·L⌉, with a little slack so that e.g. 10 · 0.7 counts as 7, not 8.
            let k = ((n + 1) as f64 * level / 100.0 - 1e-9).ceil();
            let q = if k >= 1.0 && k <= n as f64 {
                sorted[k as usize - 1]
            } else {
                f64::INFINITY
            };
            (mean - q, mean + q)
        }
    }
}

/// A model with conformal prediction intervals: wraps any [`Model`], calibrates on its
/// rolling-origin errors (see the module docs) and replaces its intervals by conformal
/// ones. It is itself a [`Model`], so it backtests and selects like any other.
#[derive(Debug)]
pub struct Conformal {
    /// The model whose point forecasts get the intervals.
    pub model: Box<dyn Model>,
    /// The calibrated horizon (statsforecast's `h`).
    pub horizon: usize,
    /// The calibration windows (statsforecast's `n_windows`, at least 2).
    pub windows: usize,
    /// How scores become intervals.
    pub method: ConformalMethod,
    /// Raise bounds below zero to zero when the training series has no negative value
    /// (default on).
    pub clip_at_zero: bool,
}

impl Conformal {
    /// Conformal intervals for `model`, calibrated for `horizon` steps on `windows` windows,
    /// with statsforecast's default method and clipping at zero for non-negative series.
    pub fn new(model: Box<dyn Model>, horizon: usize, windows: usize) -> Conformal {
        Conformal {
            model,
            horizon,
            windows,
            method: ConformalMethod::default(),
            clip_at_zero: true,
        }
    }

    /// Sets the method.
    pub fn with_method(mut self, method: ConformalMethod) -> Conformal {
        self.method = method;
        self
    }

    /// Turns clipping at zero on or off.
    pub fn with_clip_at_zero(mut self, clip: bool) -> Conformal {
        self.clip_at_zero = clip;
        self
    }
}

impl Model for Conformal {
    fn name(&self) -> String {
        format!("Conformal({})", self.model.name())
    }

    /// The model's minimum plus two calibration blocks of `horizon`.
    fn min_len(&self) -> usize {
        self.model.min_len().max(1) + 2 * self.horizon
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        check_settings(self.horizon, self.windows)?;
        // The whole-series fit first: it checks every value, the calibration fits only
        // check their prefixes.
        let inner = self.model.fit(y)?;
        let scores = conformity_scores(self.model.as_ref(), y, self.horizon, self.windows)?;
        Ok(Box::new(ConformalFitted {
            inner,
            steps: by_step(&scores),
            method: self.method,
            clip: self.clip_at_zero && y.iter().all(|v| *v >= 0.0),
        }))
    }
}

/// A model fitted with its conformity scores.
#[derive(Debug)]
struct ConformalFitted {
    inner: Box<dyn Fitted>,
    steps: Vec<Vec<f64>>,
    method: ConformalMethod,
    clip: bool,
}

impl Fitted for ConformalFitted {
    fn name(&self) -> String {
        format!("Conformal({})", self.inner.name())
    }

    fn forecast(&self, horizon: usize, levels: &[f64]) -> Forecast {
        let mean = self.inner.forecast(horizon, &[]).mean;
        let mut intervals = intervals_by_step(&mean, &self.steps, levels, self.method);
        if self.clip {
            for i in &mut intervals {
                for b in i.lo.iter_mut().chain(i.hi.iter_mut()) {
                    *b = b.max(0.0);
                }
            }
        }
        Forecast { mean, intervals }
    }

    fn fitted(&self) -> Option<&[f64]> {
        self.inner.fitted()
    }

    fn criteria(&self) -> Option<Criteria> {
        self.inner.criteria()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::tests::{MeanModel, SeasonalNaiveModel};

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{got:?} vs {want:?}"
            );
        }
    }

    #[test]
    fn quantile_is_numpys_linear() {
        // np.quantile([1, 2, 4, 8, 16], [0, 0.1, 0.25, 0.5, 0.9, 1]) = 1, 1.4, 2, 4, 12.8, 16
        let s = [1.0, 2.0, 4.0, 8.0, 16.0];
        let got: Vec<f64> = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
            .iter()
            .map(|&q| quantile_sorted(&s, q))
            .collect();
        assert_close(&got, &[1.0, 1.4, 2.0, 4.0, 12.8, 16.0]);
    }

    // The scores of statsforecast's helpers on one (windows × steps) matrix:
    //   python3 -c "import numpy as np; from statsforecast.models import \
    //   _add_conformal_distribution_intervals as D, _add_conformal_error_intervals as E; \
    //   cs=np.array([[0.5,1.2,2.0],[1.5,0.3,2.5],[0.2,2.2,1.0],[1.1,0.9,3.1]]); \
    //   m=np.array([10.,11.,12.]); \
    //   [print(k, v.tolist()) for k,v in D({'mean':m}, cs, [80, 97.5]).items()]; \
    //   [print(k, v.tolist()) for k,v in E({'mean':m}, cs, [80, 97.5]).items()]"
    const CS: [[f64; 3]; 4] = [
        [0.5, 1.2, 2.0],
        [1.5, 0.3, 2.5],
        [0.2, 2.2, 1.0],
        [1.1, 0.9, 3.1],
    ];

    fn cs() -> Vec<Vec<f64>> {
        CS.iter().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn intervals_equal_statsforecasts_helpers() {
        let mean = [10.0, 11.0, 12.0];
        let d = conformal_intervals(&mean, &cs(), &[80.0, 97.5], ConformalMethod::Distribution);
        assert_close(&d[0].lo, &DIST_LO_80);
        assert_close(&d[0].hi, &DIST_HI_80);
        assert_close(&d[1].lo, &DIST_LO_975);
        assert_close(&d[1].hi, &DIST_HI_975);
        let e = conformal_intervals(&mean, &cs(), &[80.0, 97.5], ConformalMethod::Error);
        assert_close(&e[0].lo, &ERR_LO_80);
        assert_close(&e[0].hi, &ERR_HI_80);
        assert_close(&e[1].lo, &ERR_LO_975);
        assert_close(&e[1].hi, &ERR_HI_975);
    }

    const DIST_LO_80: [f64; 3] = [8.780000000000001, 9.5, 9.32];
    const DIST_HI_80: [f64; 3] = [11.219999999999999, 12.5, 14.68];
    const DIST_LO_975: [f64; 3] = [8.535, 8.887500000000001, 8.9525];
    const DIST_HI_975: [f64; 3] = [11.465, 13.1125, 15.0475];
    const ERR_LO_80: [f64; 3] = [8.74, 9.399999999999999, 9.26];
    const ERR_HI_80: [f64; 3] = [11.26, 12.600000000000001, 14.74];
    const ERR_LO_975: [f64; 3] = [8.53, 8.875, 8.945];
    const ERR_HI_975: [f64; 3] = [11.47, 13.125, 15.055];

    #[test]
    fn corrected_takes_the_order_statistic() {
        // Step 0 scores sorted: 0.2, 0.5, 1.1, 1.5 (n = 4). L = 60: ⌈5 · 0.6⌉ = 3 → 1.1.
        // L = 80: ⌈4⌉ = 4 → 1.5. L = 90: ⌈4.5⌉ = 5 > 4 → infinite.
        let c = conformal_intervals(
            &[10.0],
            &cs(),
            &[60.0, 80.0, 90.0],
            ConformalMethod::Corrected,
        );
        assert_close(&c[0].hi, &[11.1]);
        assert_close(&c[1].lo, &[8.5]);
        assert_eq!(c[2].hi[0], f64::INFINITY);
        assert_eq!(c[2].lo[0], f64::NEG_INFINITY);
    }

    #[test]
    fn steps_beyond_the_calibration_reuse_the_last() {
        let i = conformal_intervals(&[10.0; 5], &cs(), &[80.0], ConformalMethod::Error);
        assert_eq!(i[0].hi[3], i[0].hi[2]);
        assert_eq!(i[0].hi[4], i[0].hi[2]);
        let bad = conformal_intervals(&[10.0], &cs(), &[100.0], ConformalMethod::Error);
        assert!(bad[0].lo[0].is_nan());
    }

    // End to end against statsforecast's models with conformal intervals:
    //   python3 -c "import numpy as np; from statsforecast.models import HistoricAverage, \
    //   SeasonalNaive; from statsforecast.utils import ConformalIntervals as C; \
    //   y=np.array([5.,7,3,8,6,9,4,10,7,6,11,5,8,9,6,12,7,10]); \
    //   r=HistoricAverage(prediction_intervals=C(h=3,n_windows=4)).forecast(y=y,h=3,level=[80,95]); \
    //   [print(k, v.tolist()) for k,v in r.items()]; \
    //   r=SeasonalNaive(4,prediction_intervals=C(h=4,n_windows=3)).forecast(y=y,h=4,level=[90]); \
    //   [print(k, v.tolist()) for k,v in r.items()]"
    const Y: [f64; 18] = [
        5., 7., 3., 8., 6., 9., 4., 10., 7., 6., 11., 5., 8., 9., 6., 12., 7., 10.,
    ];
    const HA_MEAN: [f64; 3] = [7.388888888888889; 3];
    const HA_LO_80: [f64; 3] = [4.235555555555557, 3.488888888888889, 5.380000000000001];
    const HA_HI_80: [f64; 3] = [10.542222222222222, 11.28888888888889, 9.397777777777778];
    const HA_LO_95: [f64; 3] = [2.8005555555555564, 3.0805555555555557, 4.586666666666668];
    const HA_HI_95: [f64; 3] = [11.977222222222222, 11.697222222222223, 10.19111111111111];
    const SN_MEAN: [f64; 4] = [6.0, 12.0, 7.0, 10.0];
    const SN_LO_90: [f64; 4] = [-0.5, 5.5, 6.0, 7.0];
    const SN_HI_90: [f64; 4] = [12.5, 18.5, 8.0, 13.0];

    #[test]
    fn conformal_models_equal_statsforecast() -> Result<()> {
        let m = Conformal::new(Box::new(MeanModel), 3, 4).with_clip_at_zero(false);
        let f = m.fit(&Y)?.forecast(3, &[80.0, 95.0]);
        assert_close(&f.mean, &HA_MEAN);
        assert_close(&f.intervals[0].lo, &HA_LO_80);
        assert_close(&f.intervals[0].hi, &HA_HI_80);
        assert_close(&f.intervals[1].lo, &HA_LO_95);
        assert_close(&f.intervals[1].hi, &HA_HI_95);

        let m = Conformal::new(Box::new(SeasonalNaiveModel(4)), 4, 3).with_clip_at_zero(false);
        let fitted = m.fit(&Y)?;
        assert_eq!(fitted.name(), "Conformal(SeasonalNaive)");
        let f = fitted.forecast(4, &[90.0]);
        assert_close(&f.mean, &SN_MEAN);
        assert_close(&f.intervals[0].lo, &SN_LO_90);
        assert_close(&f.intervals[0].hi, &SN_HI_90);
        Ok(())
    }

    #[test]
    fn non_negative_series_are_clipped_at_zero() -> Result<()> {
        let y = [0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let m = Conformal::new(Box::new(MeanModel), 2, 4);
        let f = m.fit(&y)?.forecast(2, &[95.0]);
        assert!(f.intervals[0].lo.iter().all(|&l| l == 0.0));
        let unclipped = Conformal::new(Box::new(MeanModel), 2, 4)
            .with_clip_at_zero(false)
            .fit(&y)?
            .forecast(2, &[95.0]);
        assert!(unclipped.intervals[0].lo.iter().all(|&l| l < 0.0));
        assert_eq!(unclipped.intervals[0].hi, f.intervals[0].hi);
        Ok(())
    }

    #[test]
    fn short_series_use_fewer_windows_and_need_two() -> Result<()> {
        // n = 9, h = 3, MeanModel needs 2: min(5, (9 − 2) / 3) = 2 windows.
        let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let s = conformity_scores(&MeanModel, &y, 3, 5)?;
        assert_eq!(s.len(), 2);
        // Window 0 is fitted on y[..3] (mean 2), scored on 4, 5, 6.
        assert_close(&s[0], &[2.0, 3.0, 4.0]);
        assert!(matches!(
            conformity_scores(&MeanModel, &y[..7], 3, 5),
            Err(Error::TooShort { len: 7, min: 8, .. })
        ));
        assert_eq!(Conformal::new(Box::new(MeanModel), 3, 5).min_len(), 8);
        assert!(matches!(
            conformity_scores(&MeanModel, &y, 3, 1),
            Err(Error::Parameter {
                name: "windows",
                ..
            })
        ));
        Ok(())
    }
}
