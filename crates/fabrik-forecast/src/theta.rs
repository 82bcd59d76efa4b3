//! The Theta family as `statsforecast` 2.1.1 implements it, after Fiorucci et al. (2016),
//! "Models for optimising the theta method and their relationship to state space models"
//! (International Journal of Forecasting 32(4)):
//!
//! | variant | statsforecast name | θ | trend line `A + B t` |
//! | --- | --- | --- | --- |
//! | [`ThetaVariant::Standard`] (STM) | `Theta` | 2 | fitted once to the whole series |
//! | [`ThetaVariant::Optimized`] (OTM) | `OptimizedTheta` | estimated, ≥ 1 | fitted once |
//! | [`ThetaVariant::DynamicStandard`] (DSTM) | `DynamicTheta` | 2 | updated every period |
//! | [`ThetaVariant::DynamicOptimized`] (DOTM) | `DynamicOptimizedTheta` | estimated | updated |
//!
//! The one-step forecast is `μ_t = ℓ_{t-1} + (1 - 1/θ)(A_{t-1} (1-α)^t + B_{t-1}
//! (1 - (1-α)^{t+1}) / α)`, the level `ℓ_t = α y_t + (1-α) ℓ_{t-1}` (simple exponential
//! smoothing). The initial level `ℓ_0`, `α ∈ [0.1, 0.99]` and (OTM, DOTM) `θ ≥ 1` minimise
//! the sum of squared one-step errors from the fourth period on (statsforecast divides it
//! by the mean absolute value, which does not move the optimum; [`ThetaFit::mse`] reports
//! that figure), with [`crate::optim::minimize`] from `ℓ_0 = y_0 / 2`, `α = 0.5`, `θ = 2`.
//!
//! When the series has at least two seasons, `season ≥ 4` and the lag-`season`
//! autocorrelation is significant at 90%, the series is first divided by the seasonal
//! indices of a classical multiplicative decomposition (additive when the data are not
//! all positive or an index falls below 0.01), and the forecasts are multiplied back by
//! them. One difference from statsforecast: with the additive decomposition it adds the
//! seasonal component to the residuals (so its fitted values lack the season and its `σ`
//! includes the seasonal swing); here the residuals stay `y - fitted` and the fitted values
//! include the season.
//!
//! Prediction intervals: statsforecast draws 200 sample paths of the state-space
//! recursion with normal errors of standard deviation `σ` (the sample standard deviation
//! of the residuals from the fourth period on, reseasonalised) and takes their empirical
//! quantiles. Every step of that recursion is linear in the errors, so the paths are
//! exactly normal: here each step's mean and variance are propagated analytically and the
//! interval is `mean ± z σ_h`, the limit of statsforecast's quantiles with infinitely many
//! paths (no Monte Carlo noise). As in statsforecast, the paths update the trend line
//! dynamically for every variant, so for STM/OTM the interval centre can drift slightly
//! from the point forecast.

mod decompose;

pub use decompose::Decomposition;

use crate::error::{Error, Result};
use crate::model::{Fitted, Forecast, Interval, Model, check_series, normal_quantile};
use crate::optim::{NelderMead, minimize};

/// The fewest observations a Theta model fits (statsforecast refuses 3 or fewer).
pub const THETA_MIN_LEN: usize = 4;

/// One of the four Theta models of Fiorucci et al. (2016).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThetaVariant {
    /// Standard Theta Model (STM): θ = 2, static trend line (the classical Theta method
    /// of Assimakopoulos & Nikolopoulos 2000, as SES with drift).
    Standard,
    /// Optimised Theta Model (OTM): θ estimated, static trend line.
    Optimized,
    /// Dynamic Standard Theta Model (DSTM): θ = 2, trend line re-fitted every period.
    DynamicStandard,
    /// Dynamic Optimised Theta Model (DOTM): θ estimated, trend line re-fitted.
    DynamicOptimized,
}

impl ThetaVariant {
    /// The four variants, in the order [`AutoTheta`] tries them (ties go to the first).
    pub const ALL: [ThetaVariant; 4] = [
        ThetaVariant::Standard,
        ThetaVariant::Optimized,
        ThetaVariant::DynamicStandard,
        ThetaVariant::DynamicOptimized,
    ];

    /// The model's name in statsforecast (`"Theta"`, `"OptimizedTheta"`, …).
    pub fn name(self) -> &'static str {
        match self {
            ThetaVariant::Standard => "Theta",
            ThetaVariant::Optimized => "OptimizedTheta",
            ThetaVariant::DynamicStandard => "DynamicTheta",
            ThetaVariant::DynamicOptimized => "DynamicOptimizedTheta",
        }
    }

    /// The short name of Fiorucci et al. (`"STM"`, `"OTM"`, `"DSTM"`, `"DOTM"`).
    pub fn code(self) -> &'static str {
        match self {
            ThetaVariant::Standard => "STM",
            ThetaVariant::Optimized => "OTM",
            ThetaVariant::DynamicStandard => "DSTM",
            ThetaVariant::DynamicOptimized => "DOTM",
        }
    }

    fn dynamic(self) -> bool {
        matches!(
            self,
            ThetaVariant::DynamicStandard | ThetaVariant::DynamicOptimized
        )
    }

    fn estimates_theta(self) -> bool {
        matches!(
            self,
            ThetaVariant::Optimized | ThetaVariant::DynamicOptimized
        )
    }
}

/// One Theta model (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theta {
    /// Which of the four models.
    pub variant: ThetaVariant,
    /// The season length (1 = no seasonal adjustment).
    pub season: usize,
}

/// Fits the four Theta variants and keeps the one with the smallest in-sample squared
/// error, as statsforecast's `AutoTheta`. Its fitted model is named after the variant
/// chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoTheta {
    /// The season length (1 = no seasonal adjustment).
    pub season: usize,
}

/// The seasonal adjustment of a fitted Theta model.
#[derive(Debug, Clone, PartialEq)]
pub struct SeasonalAdjustment {
    /// How the seasonal component was removed.
    pub kind: Decomposition,
    /// The index of each position in the season (observation `t` has position
    /// `t % season`).
    pub indices: Vec<f64>,
}

/// A Theta model fitted to one series.
#[derive(Debug, Clone)]
pub struct ThetaFit {
    variant: ThetaVariant,
    initial_level: f64,
    alpha: f64,
    theta: f64,
    mse: f64,
    n: usize,
    state: State,
    mean_y: f64,
    sigma: f64,
    seasonal: Option<SeasonalAdjustment>,
    fitted: Vec<f64>,
}

impl ThetaFit {
    /// The variant.
    pub fn variant(&self) -> ThetaVariant {
        self.variant
    }

    /// The smoothing weight α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// θ (2 for STM and DSTM).
    pub fn theta(&self) -> f64 {
        self.theta
    }

    /// The initial smoothed level ℓ_0 (on the seasonally adjusted scale).
    pub fn initial_level(&self) -> f64 {
        self.initial_level
    }

    /// statsforecast's `mse`: the sum of squared one-step errors from the fourth period
    /// on (seasonally adjusted scale), over the mean absolute value of the series.
    pub fn mse(&self) -> f64 {
        self.mse
    }

    /// The standard deviation of the errors the intervals are drawn with.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The seasonal adjustment, if the series was found seasonal.
    pub fn seasonal(&self) -> Option<&SeasonalAdjustment> {
        self.seasonal.as_ref()
    }

    fn season_index(&self, t: usize) -> Option<(Decomposition, f64)> {
        self.seasonal
            .as_ref()
            .map(|s| (s.kind, s.indices[t % s.indices.len()]))
    }
}

/// The state after a period: level, running mean, trend line intercept and slope.
#[derive(Debug, Clone, Copy, PartialEq)]
struct State {
    level: f64,
    mean: f64,
    a: f64,
    b: f64,
}

/// The parameters of one run of the recursion.
#[derive(Debug, Clone, Copy)]
struct Params {
    initial_level: f64,
    alpha: f64,
    theta: f64,
}

/// Runs the recursion over `y`, calling `visit(t, μ_t)` with each one-step forecast
/// (`μ_0` included), and returns the final state.
fn filter(
    y: &[f64],
    variant: ThetaVariant,
    p: Params,
    trend0: (f64, f64),
    mut visit: impl FnMut(usize, f64),
) -> State {
    let Params {
        initial_level,
        alpha,
        theta,
    } = p;
    let q = 1.0 - alpha;
    let c = 1.0 - 1.0 / theta;
    let dynamic = variant.dynamic();
    let (a0, b0, mu0) = if dynamic {
        (y[0], 0.0, y[0])
    } else {
        let (a, b) = trend0;
        (a, b, initial_level + c * (a + b))
    };
    visit(0, mu0);
    let mut s = State {
        level: alpha * y[0] + q * initial_level,
        mean: y[0],
        a: a0,
        b: b0,
    };
    let mut pw = 1.0;
    for (i, &yi) in y.iter().enumerate().skip(1) {
        pw *= q;
        let mu = s.level + c * (s.a * pw + s.b * (1.0 - pw * q) / alpha);
        visit(i, mu);
        s = step(s, i, alpha, yi, dynamic);
    }
    s
}

/// The state update of period `i` with observation `y`.
fn step(s: State, i: usize, alpha: f64, y: f64, dynamic: bool) -> State {
    let fi = i as f64;
    let mean = (fi * s.mean + y) / (fi + 1.0);
    let (a, b) = if dynamic {
        let b = ((fi - 1.0) * s.b + 6.0 * (y - s.mean) / (fi + 1.0)) / (fi + 2.0);
        (mean - b * (fi + 2.0) / 2.0, b)
    } else {
        (s.a, s.b)
    };
    State {
        level: alpha * y + (1.0 - alpha) * s.level,
        mean,
        a,
        b,
    }
}

/// The least-squares line through `y` against `t = 1..n` as statsforecast's static
/// models start it: `(A, B)`.
fn trend_line(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let weighted = y
        .iter()
        .enumerate()
        .map(|(t, v)| (t + 1) as f64 * v)
        .sum::<f64>()
        / n;
    let b = 6.0 * (2.0 * weighted - (n + 1.0) * mean) / (n * n - 1.0);
    (mean - (n + 1.0) * b / 2.0, b)
}

/// The optimiser's settings for the Theta fits.
const OPTIM: NelderMead = NelderMead {
    max_iter: 2_000,
    tol_f: 1e-10,
    init_step: 0.05,
};

/// The series ready for fitting: seasonally adjusted if seasonal, with the figures every
/// variant's fit shares.
#[derive(Debug)]
struct Prepared {
    seasonal: Option<SeasonalAdjustment>,
    adjusted: Option<Vec<f64>>,
    mean_y: f64,
    mean_abs: f64,
    trend0: (f64, f64),
}

impl Prepared {
    fn new(model: &str, y: &[f64], season: usize) -> Result<Prepared> {
        if season == 0 {
            return Err(Error::Season { season });
        }
        check_series(model, y, THETA_MIN_LEN, false)?;
        let seasonal = decompose::is_seasonal(y, season).then(|| {
            let positive = y.iter().all(|v| *v > 0.0);
            let mut kind = if positive {
                Decomposition::Multiplicative
            } else {
                Decomposition::Additive
            };
            let mut indices = decompose::seasonal_indices(y, season, kind);
            if kind == Decomposition::Multiplicative && indices.iter().any(|v| *v < 0.01) {
                kind = Decomposition::Additive;
                indices = decompose::seasonal_indices(y, season, kind);
            }
            SeasonalAdjustment { kind, indices }
        });
        let adjusted: Option<Vec<f64>> = seasonal.as_ref().map(|s| {
            y.iter()
                .enumerate()
                .map(|(t, v)| match s.kind {
                    Decomposition::Multiplicative => v / s.indices[t % season],
                    Decomposition::Additive => v - s.indices[t % season],
                })
                .collect()
        });
        let ya = adjusted.as_deref().unwrap_or(y);
        let n = ya.len() as f64;
        Ok(Prepared {
            mean_y: ya.iter().sum::<f64>() / n,
            mean_abs: (ya.iter().map(|v| v.abs()).sum::<f64>() / n).max(1e-10),
            trend0: trend_line(ya),
            seasonal,
            adjusted,
        })
    }

    /// The series the recursion runs on.
    fn series<'a>(&'a self, y: &'a [f64]) -> &'a [f64] {
        self.adjusted.as_deref().unwrap_or(y)
    }

    /// statsforecast's objective at `p`: the squared one-step errors from the fourth
    /// period on over the mean absolute value.
    fn objective(&self, y: &[f64], variant: ThetaVariant, p: Params) -> f64 {
        let ya = self.series(y);
        let mut sse = 0.0;
        filter(ya, variant, p, self.trend0, |t, mu| {
            if t >= 3 {
                let e = ya[t] - mu;
                sse += e * e;
            }
        });
        sse / self.mean_abs
    }

    /// Fits one variant: the parameters and the objective at them.
    ///
    /// θ is searched as `w = 1 - 1/θ` in `[0, 1 - 1e-10]` (θ in `[1, 1e10]`, statsforecast's
    /// range): the objective depends on θ only through `w`, and a bounded `w` lets the
    /// search stop at the bound where statsforecast's would wander off towards θ = ∞ on a
    /// flat objective.
    fn fit_params(&self, y: &[f64], variant: ThetaVariant) -> (Params, f64) {
        let estimate_theta = variant.estimates_theta();
        let x0 = [self.series(y)[0] / 2.0, 0.5, 0.5];
        let lower = [f64::NEG_INFINITY, 0.1, 0.0];
        let upper = [f64::INFINITY, 0.99, 1.0 - 1e-10];
        let k = if estimate_theta { 3 } else { 2 };
        let params = |x: &[f64]| Params {
            initial_level: x[0],
            alpha: x[1],
            theta: if estimate_theta {
                1.0 / (1.0 - x[2])
            } else {
                2.0
            },
        };
        let m = minimize(
            |x| self.objective(y, variant, params(x)),
            &x0[..k],
            &lower[..k],
            &upper[..k],
            &OPTIM,
        );
        (params(&m.x), m.f)
    }

    /// The fitted model of `variant` at `p`.
    fn finish(self, y: &[f64], variant: ThetaVariant, p: Params, mse: f64) -> ThetaFit {
        let n = y.len();
        let ya = self.series(y);
        // Residuals on the original scale (multiplied back by the seasonal index, as
        // statsforecast does) and fitted values.
        let mut residuals = Vec::with_capacity(n);
        let mut fitted = Vec::with_capacity(n);
        let index = |t: usize| {
            self.seasonal
                .as_ref()
                .map(|s| (s.kind, s.indices[t % s.indices.len()]))
        };
        let state = filter(ya, variant, p, self.trend0, |t, mu| {
            let e = ya[t] - mu;
            let (r, f) = match index(t) {
                Some((Decomposition::Multiplicative, s)) => {
                    let r = e * s;
                    (r, y[t] - r)
                }
                Some((Decomposition::Additive, s)) => (e, mu + s),
                None => (e, mu),
            };
            residuals.push(r);
            fitted.push(f);
        });
        let tail = if n >= 5 {
            &residuals[3..]
        } else {
            &residuals[..]
        };
        let tail_mean = tail.iter().sum::<f64>() / tail.len() as f64;
        let sigma = (tail.iter().map(|r| (r - tail_mean).powi(2)).sum::<f64>()
            / (tail.len() - 1) as f64)
            .sqrt();
        ThetaFit {
            variant,
            initial_level: p.initial_level,
            alpha: p.alpha,
            theta: p.theta,
            mse,
            n,
            state,
            mean_y: self.mean_y,
            sigma,
            seasonal: self.seasonal,
            fitted,
        }
    }
}

/// Fits the given variants (all with the same seasonal adjustment) and keeps the one with
/// the smallest objective (the first on ties).
fn fit_theta(model: &str, y: &[f64], season: usize, variants: &[ThetaVariant]) -> Result<ThetaFit> {
    let prepared = Prepared::new(model, y, season)?;
    let mut best: Option<(ThetaVariant, Params, f64)> = None;
    for &variant in variants {
        let (p, f) = prepared.fit_params(y, variant);
        if f.is_finite() && best.is_none_or(|(_, _, b)| f < b) {
            best = Some((variant, p, f));
        }
    }
    let Some((variant, p, mse)) = best else {
        return Err(Error::NoModel {
            reason: "every Theta variant's squared error was infinite or NaN".to_string(),
        });
    };
    Ok(prepared.finish(y, variant, p, mse))
}

impl Theta {
    /// Fits the model, keeping the concrete type.
    pub fn fit_theta(&self, y: &[f64]) -> Result<ThetaFit> {
        fit_theta(self.variant.name(), y, self.season, &[self.variant])
    }
}

impl Model for Theta {
    fn name(&self) -> String {
        self.variant.name().to_string()
    }

    fn min_len(&self) -> usize {
        THETA_MIN_LEN
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_theta(y)?))
    }
}

impl AutoTheta {
    /// Fits the model, keeping the concrete type.
    pub fn fit_theta(&self, y: &[f64]) -> Result<ThetaFit> {
        fit_theta("AutoTheta", y, self.season, &ThetaVariant::ALL)
    }
}

impl Model for AutoTheta {
    fn name(&self) -> String {
        "AutoTheta".to_string()
    }

    fn min_len(&self) -> usize {
        THETA_MIN_LEN
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_theta(y)?))
    }
}

impl Fitted for ThetaFit {
    fn name(&self) -> String {
        self.variant.name().to_string()
    }

    fn forecast(&self, horizon: usize, levels: &[f64]) -> Forecast {
        let (alpha, theta) = (self.alpha, self.theta);
        let q = 1.0 - alpha;
        let c = 1.0 - 1.0 / theta;
        let dynamic = self.variant.dynamic();
        let mut mean = Vec::with_capacity(horizon);
        let mut s = self.state;
        for j in 0..horizon {
            let i = self.n + j;
            let pw = q.powf(i as f64);
            let mu = s.level + c * (s.a * pw + s.b * (1.0 - pw * q) / alpha);
            mean.push(mu);
            s = step(s, i, alpha, mu, dynamic);
        }
        let mut intervals = Vec::new();
        if !levels.is_empty() {
            let (centre, sd) = self.path_moments(horizon);
            for &level in levels {
                let z = normal_quantile(0.5 + level / 200.0);
                let (lo, hi) = centre
                    .iter()
                    .zip(&sd)
                    .map(|(m, s)| (m - z * s, m + z * s))
                    .unzip();
                intervals.push(Interval { level, lo, hi });
            }
        }
        if self.seasonal.is_some() {
            let reseason = |v: &mut [f64]| {
                for (j, x) in v.iter_mut().enumerate() {
                    match self.season_index(self.n + j) {
                        Some((Decomposition::Multiplicative, s)) => *x *= s,
                        Some((Decomposition::Additive, s)) => *x += s,
                        None => {}
                    }
                }
            };
            reseason(&mut mean);
            for i in &mut intervals {
                reseason(&mut i.lo);
                reseason(&mut i.hi);
            }
        }
        Forecast { mean, intervals }
    }

    fn fitted(&self) -> Option<&[f64]> {
        Some(&self.fitted)
    }
}

impl ThetaFit {
    /// The mean and standard deviation, per step, of statsforecast's simulated paths
    /// (seasonally adjusted scale): every quantity of the simulation is an affine function
    /// of the errors, carried as a constant and one coefficient per error so far.
    fn path_moments(&self, horizon: usize) -> (Vec<f64>, Vec<f64>) {
        let (alpha, theta) = (self.alpha, self.theta);
        let q = 1.0 - alpha;
        let c = 1.0 - 1.0 / theta;
        let (mut s0, mut m0, mut a0, mut b0) =
            (self.state.level, self.mean_y, self.state.a, self.state.b);
        let mut cs = vec![0.0; horizon];
        let mut cm = vec![0.0; horizon];
        let mut ca = vec![0.0; horizon];
        let mut cb = vec![0.0; horizon];
        let mut cx = vec![0.0; horizon];
        let mut centre = Vec::with_capacity(horizon);
        let mut sd = Vec::with_capacity(horizon);
        for k in 0..horizon {
            let i = self.n + k;
            let fi = i as f64;
            let pw = q.powf(fi);
            let wa = c * pw;
            let wb = c * (1.0 - pw * q) / alpha;
            let x0 = s0 + wa * a0 + wb * b0;
            let mut var = 1.0;
            for j in 0..k {
                cx[j] = cs[j] + wa * ca[j] + wb * cb[j];
                var += cx[j] * cx[j];
            }
            cx[k] = 1.0;
            centre.push(x0);
            sd.push(self.sigma * var.sqrt());
            // s = α x + (1 - α) s
            s0 = alpha * x0 + q * s0;
            // m = (i m + x) / (i + 1)
            m0 = (fi * m0 + x0) / (fi + 1.0);
            // B = ((i - 1) B + 6 (x - m) / (i + 1)) / (i + 2), with the updated m
            b0 = ((fi - 1.0) * b0 + 6.0 * (x0 - m0) / (fi + 1.0)) / (fi + 2.0);
            // A = m - B (i + 2) / 2
            a0 = m0 - b0 * (fi + 2.0) / 2.0;
            for j in 0..=k {
                cs[j] = alpha * cx[j] + q * cs[j];
                cm[j] = (fi * cm[j] + cx[j]) / (fi + 1.0);
                cb[j] = ((fi - 1.0) * cb[j] + 6.0 * (cx[j] - cm[j]) / (fi + 1.0)) / (fi + 2.0);
                ca[j] = cm[j] - cb[j] * (fi + 2.0) / 2.0;
            }
        }
        (centre, sd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_series::{CO2_MONTHLY, SUNSPOTS, assert_close};

    /// statsforecast's fit of one variant to one series.
    struct Reference {
        y: &'static [f64],
        season: usize,
        variant: ThetaVariant,
        /// Initial level, alpha, theta.
        params: (f64, f64, f64),
        mse: f64,
        sigma: f64,
        mean: &'static [f64],
        lo95: &'static [f64],
        hi80: &'static [f64],
        /// The first three and the last two fitted values.
        fitted: &'static [f64],
    }

    /// Reference values: statsforecast 2.1.1 (Python 3.11), for each (series, variant):
    ///   mod = statsforecast.theta.auto_theta(y, m, model=variant)
    ///   mod["par"], mod["mse"], np.std(mod["residuals"][3:], ddof=1)
    ///   forecast_theta(mod, 12)["mean"]; fitted = y - mod["residuals"]
    /// and the intervals as statsforecast's quantiles of its simulated paths, with 2000000
    /// paths instead of 200 so that Monte Carlo noise stays near 0.1% of the half-width:
    ///   s = compute_pi_samples(n=mod["n"], h=12, states=mod["states"], sigma=sigma,
    ///       alpha=..., theta=..., mean_y=mod["mean_y"], n_samples=2000000, seed=7)
    ///   np.quantile(s, 0.025, axis=1) * seasonal forecast (and 0.9 for hi-80)
    /// with y = co2 (monthly, m = 12, found seasonal) or sunspots (m = 1).
    fn references() -> Vec<Reference> {
        vec![
            // co2 OTM
            Reference {
                y: &CO2_MONTHLY,
                season: 12,
                variant: ThetaVariant::Optimized,
                params: (101.5660001694851, 0.7738270000449421, 3.491680501717604),
                mse: 0.022740644133784998,
                sigma: 0.26413899850014233,
                mean: &[
                    372.0768330072687,
                    372.83930002797354,
                    373.7324501495052,
                    374.91896186257134,
                    375.3597688455978,
                    374.71444164742627,
                    373.1863166230812,
                    370.98337741945556,
                    369.1609949893216,
                    369.414809356249,
                    370.76734849708816,
                    372.1875440698003,
                ],
                lo95: &[
                    371.55859255157964,
                    372.1827445291956,
                    372.9623179093946,
                    374.04570669758095,
                    374.3972686815059,
                    373.67030671586684,
                    372.0708730046688,
                    369.80223408816437,
                    367.9186003424536,
                    368.1086102565313,
                    369.392340814372,
                    370.74690037429866,
                ],
                hi80: &[
                    372.4153835275482,
                    373.2684122841378,
                    374.2362560484369,
                    375.48918848272797,
                    375.9887279780942,
                    375.39416993517597,
                    373.91307985585746,
                    371.75026208987595,
                    369.9670121954932,
                    370.26144391963857,
                    371.65557158162534,
                    373.11540936425604,
                ],
                fitted: &[
                    355.04574047798786,
                    356.4401973034377,
                    357.48451706495393,
                    369.39994866700994,
                    370.79590630951816,
                ],
            },
            // co2 DOTM
            Reference {
                y: &CO2_MONTHLY,
                season: 12,
                variant: ThetaVariant::DynamicOptimized,
                params: (136.60673449167004, 0.8323011394383345, 2.514126539641615),
                mse: 0.024645231997527037,
                sigma: 0.268972768666961,
                mean: &[
                    372.07072763693554,
                    372.81721635893825,
                    373.69425911362305,
                    374.8644829671371,
                    375.2889691472565,
                    374.62745467126405,
                    373.0833535061799,
                    370.86469185744875,
                    369.0265398283139,
                    369.2637884261668,
                    370.59912478905875,
                    372.0018398105486,
                ],
                lo95: &[
                    371.5430206404666,
                    372.1292166492399,
                    372.8773498739425,
                    373.93248701501227,
                    374.2570856187436,
                    373.505222661091,
                    371.88213959456505,
                    369.59099591268904,
                    367.68627006617254,
                    367.85395710828186,
                    369.1145838469447,
                    370.4462919976966,
                ],
                hi80: &[
                    372.41547512702533,
                    373.2668523287791,
                    374.2292366833148,
                    375.4739408686758,
                    375.9644820927876,
                    375.36039157575385,
                    373.868594660377,
                    371.6954775055287,
                    369.90132735417666,
                    370.18421032022883,
                    371.5666675053131,
                    373.0140088482426,
                ],
                fitted: &[
                    355.9,
                    355.711344738871,
                    357.37834964911275,
                    369.38417456744304,
                    370.7759531927083,
                ],
            },
            // sun STM
            Reference {
                y: &SUNSPOTS,
                season: 1,
                variant: ThetaVariant::Standard,
                params: (-37934471.487567395, 0.9899999999774315, 2.0),
                mse: 859.9366783803428,
                sigma: 33.115064670527346,
                mean: &[
                    2.696625433027981,
                    2.448967750338345,
                    2.2013100676487083,
                    1.9536523849590721,
                    1.7059947022694357,
                    1.4583370195797993,
                    1.210679336890163,
                    0.9630216542005265,
                    0.7153639715108904,
                    0.46770628882125403,
                    0.22004860613161775,
                    -0.027609076558018558,
                ],
                lo95: &[
                    -62.23991394042969,
                    -89.06387329101562,
                    -109.59066009521484,
                    -127.24053192138672,
                    -142.89263916015625,
                    -157.23672485351562,
                    -170.51409912109375,
                    -183.25411987304688,
                    -195.1031951904297,
                    -206.23924255371094,
                    -217.56631469726562,
                    -228.19613647460938,
                ],
                hi80: &[
                    45.11800765991211,
                    62.1633186340332,
                    75.14730834960938,
                    86.11268615722656,
                    95.7455062866211,
                    104.36012268066406,
                    112.32241821289062,
                    119.67945098876953,
                    126.6955337524414,
                    133.22921752929688,
                    139.50741577148438,
                    145.38125610351562,
                ],
                fitted: &[
                    -37934428.47333242,
                    -379211.18024713354,
                    -3709.2984687141497,
                    15.096924428592999,
                    7.328311561767746,
                ],
            },
            // sun DSTM
            Reference {
                y: &SUNSPOTS,
                season: 1,
                variant: ThetaVariant::DynamicStandard,
                params: (-299.6548828125007, 0.99, 2.0),
                mse: 935.6320095997017,
                sigma: 34.5427621582919,
                mean: &[
                    2.6966254329262944,
                    2.4060107428895177,
                    2.0771185673993307,
                    1.7137241950649804,
                    1.319223876765676,
                    0.8966770228043714,
                    0.44884318612301644,
                    -0.0217854597044711,
                    -0.512955543963829,
                    -1.0226273082146047,
                    -1.5489523603225872,
                    -2.090253994503295,
                ],
                lo95: &[
                    -65.03953552246094,
                    -93.00747680664062,
                    -114.4051284790039,
                    -132.80038452148438,
                    -149.11041259765625,
                    -164.0548553466797,
                    -177.8855438232422,
                    -191.1547393798828,
                    -203.49371337890625,
                    -215.08810424804688,
                    -226.88113403320312,
                    -237.9460906982422,
                ],
                hi80: &[
                    46.946929931640625,
                    64.73960876464844,
                    78.29749298095703,
                    89.75117492675781,
                    99.81617736816406,
                    108.82027435302734,
                    117.14497375488281,
                    124.83927154541016,
                    132.17881774902344,
                    139.0159454345703,
                    145.58726501464844,
                    151.7373809814453,
                ],
                fitted: &[
                    134.7,
                    131.02995117187496,
                    58.717299511718764,
                    15.193656105880724,
                    7.376046240398578,
                ],
            },
        ]
    }

    fn fit_at(r: &Reference) -> ThetaFit {
        let prepared = Prepared::new("test", r.y, r.season).expect("valid series");
        let p = Params {
            initial_level: r.params.0,
            alpha: r.params.1,
            theta: r.params.2,
        };
        let mse = prepared.objective(r.y, r.variant, p);
        prepared.finish(r.y, r.variant, p, mse)
    }

    #[test]
    fn statsforecast_parameters_reproduce_its_fit_and_intervals() {
        for r in references() {
            let what = r.variant.code();
            let fit = fit_at(&r);
            assert_close(&[fit.mse()], &[r.mse], 1e-9, what);
            assert_close(&[fit.sigma()], &[r.sigma], 1e-9, what);
            let fc = fit.forecast(12, &[80.0, 95.0]);
            assert_close(&fc.mean, r.mean, 1e-9, what);
            let f = fit.fitted().expect("fitted");
            let ends = [f[0], f[1], f[2], f[f.len() - 2], f[f.len() - 1]];
            assert_close(&ends, r.fitted, 1e-7, what);
            // Intervals: within 0.5% of the half-width of the simulated quantiles.
            let i95 = fc.interval(95.0).expect("95%");
            let i80 = fc.interval(80.0).expect("80%");
            for h in 0..12 {
                let (m, lo, hi) = (r.mean[h], r.lo95[h], r.hi80[h]);
                assert!(
                    (i95.lo[h] - lo).abs() <= 0.005 * (m - lo).abs(),
                    "{what} lo-95[{h}]: {} vs {lo}",
                    i95.lo[h]
                );
                assert!(
                    (i80.hi[h] - hi).abs() <= 0.005 * (hi - m).abs(),
                    "{what} hi-80[{h}]: {} vs {hi}",
                    i80.hi[h]
                );
            }
        }
    }

    #[test]
    fn optimised_fits_are_no_worse_than_statsforecast() {
        for r in references() {
            let what = r.variant.code();
            let fit = Theta {
                variant: r.variant,
                season: r.season,
            }
            .fit_theta(r.y)
            .expect("fits");
            assert!(
                fit.mse() <= r.mse * (1.0 + 1e-6),
                "{what}: {} vs {}",
                fit.mse(),
                r.mse
            );
            assert_eq!(fit.seasonal().is_some(), r.season == 12);
        }
        // Where statsforecast's optimum is well determined the forecasts agree closely:
        // co2 with the standard and dynamic standard models (statsforecast objective
        // 0.0241902 and 0.0252679, forecasts from auto_theta(co2, 12, model="STM") and
        // "DSTM", as in the references above).
        let cases = [
            (ThetaVariant::Standard, 372.0300858152938, 371.8066562849276),
            (
                ThetaVariant::DynamicStandard,
                372.04409017168,
                371.81522997654787,
            ),
        ];
        for (variant, first, last) in cases {
            let fit = Theta {
                variant,
                season: 12,
            }
            .fit_theta(&CO2_MONTHLY)
            .expect("fits");
            let fc = fit.forecast(12, &[]);
            assert_close(
                &[fc.mean[0], fc.mean[11]],
                &[first, last],
                1e-4,
                variant.code(),
            );
        }
    }

    #[test]
    fn auto_theta_keeps_the_smallest_error() {
        for (y, season) in [(&CO2_MONTHLY[..], 12), (&SUNSPOTS[..], 1)] {
            let auto = AutoTheta { season }.fit_theta(y).expect("fits");
            let best = ThetaVariant::ALL
                .iter()
                .map(|&variant| Theta { variant, season }.fit_theta(y).expect("fits").mse())
                .fold(f64::INFINITY, f64::min);
            assert_eq!(auto.mse(), best);
            assert_eq!(auto.name(), auto.variant().name());
        }
        // statsforecast's AutoTheta(season_length=12) picks OTM on co2, as here.
        let auto = AutoTheta { season: 12 }
            .fit_theta(&CO2_MONTHLY)
            .expect("fits");
        assert_eq!(auto.variant(), ThetaVariant::Optimized);
    }

    #[test]
    fn seasonal_indices_match_statsforecast() {
        // auto_theta(co2, 12)["seas_forecast"]["mean"]: the indices of the 12 months after
        // the series' end (January first); the series ends in December, so these are the
        // indices of positions 0..12.
        let seas = [
            1.000510555594511,
            1.0022866116511917,
            1.0044129097023384,
            1.0073262444777533,
            1.0082349869613894,
            1.0062266195860632,
            1.0018494058444567,
            0.995663483022944,
            0.9905020157660552,
            0.990912523671501,
            0.9942692056651271,
            0.9978054380566691,
        ];
        let fit = AutoTheta { season: 12 }
            .fit_theta(&CO2_MONTHLY)
            .expect("fits");
        let s = fit.seasonal().expect("co2 is seasonal");
        assert_eq!(s.kind, Decomposition::Multiplicative);
        assert_close(&s.indices, &seas, 1e-12, "indices");
        // The 90% test on sunspots as statsforecast decides it:
        // bool(auto_theta(sunspots_60, m, model="STM").get("decompose", False)) is True for
        // m = 4, 5, 6, 11 and False for m = 12.
        for (m, seasonal) in [(4, true), (5, true), (6, true), (11, true), (12, false)] {
            assert_eq!(decompose::is_seasonal(&SUNSPOTS, m), seasonal, "m = {m}");
        }
        // Never seasonal at season 1.
        assert!(
            AutoTheta { season: 1 }
                .fit_theta(&SUNSPOTS)
                .expect("fits")
                .seasonal()
                .is_none()
        );
    }

    #[test]
    fn additive_decomposition_for_data_not_all_positive() {
        // statsforecast 2.1.1: mod = auto_theta(co2 - 360, 12, model="STM"), which
        // decomposes additively; mod["par"], mod["mse"], forecast_theta(mod, 6)["mean"],
        // mod["seas_forecast"]["mean"]. statsforecast's residuals differ here (see the
        // module docs), its point forecasts and objective do not.
        let y: Vec<f64> = CO2_MONTHLY.iter().map(|v| v - 360.0).collect();
        let seas = [
            0.18324845679012997,
            0.8296141975308684,
            1.6022993827160603,
            2.6619058641975273,
            2.992808641975302,
            2.2638966049382736,
            0.6690586419753104,
            -1.5742746913580241,
            -3.448742283950631,
            -3.3005015432098777,
            -2.0816126543209896,
            -0.7977006172839499,
        ];
        let mean = [
            12.00188681804289,
            12.719527428855624,
            13.563487484112812,
            14.694368835666276,
            15.096546483516049,
            14.438909316551015,
        ];
        let prepared = Prepared::new("test", &y, 12).expect("valid");
        let mean_abs = prepared.mean_abs;
        let p = Params {
            initial_level: -0.839918252073689,
            alpha: 0.7650390625000003,
            theta: 2.0,
        };
        let variant = ThetaVariant::Standard;
        let mse = prepared.objective(&y, variant, p);
        assert_close(&[mse], &[1.717699873957785], 1e-9, "mse");
        let fit = prepared.finish(&y, variant, p, mse);
        let s = fit.seasonal().expect("seasonal");
        assert_eq!(s.kind, Decomposition::Additive);
        assert_close(&s.indices, &seas, 1e-9, "indices");
        assert_close(&fit.forecast(6, &[]).mean, &mean, 1e-9, "mean");
        // Residuals are y - fitted, on the original scale.
        let optimised = Theta {
            variant,
            season: 12,
        }
        .fit_theta(&y)
        .expect("fits");
        assert!(optimised.mse() <= 1.717699873957785 * (1.0 + 1e-6));
        let f = optimised.fitted().expect("fitted");
        let sse: f64 = y[3..]
            .iter()
            .zip(&f[3..])
            .map(|(a, b)| (a - b).powi(2))
            .sum();
        assert_close(&[sse / mean_abs], &[optimised.mse()], 1e-9, "fitted");
    }

    #[test]
    fn errors() {
        let m = Theta {
            variant: ThetaVariant::Standard,
            season: 1,
        };
        assert!(matches!(
            m.fit(&[1.0, 2.0, 3.0]),
            Err(Error::TooShort { len: 3, min: 4, .. })
        ));
        assert!(matches!(
            m.fit(&[1.0, 2.0, f64::NAN, 3.0, 4.0]),
            Err(Error::NonFinite { position: 2, .. })
        ));
        assert!(matches!(
            AutoTheta { season: 0 }.fit(&[1.0; 8]),
            Err(Error::Season { season: 0 })
        ));
        // Four values fit (σ then from all residuals, as statsforecast).
        let fit = m.fit_theta(&[1.0, 2.0, 3.0, 5.0]).expect("fits");
        assert!(fit.sigma().is_finite());
    }

    /// Fitting speed of every model of this crate's naive, theta and intermittent
    /// modules on 200 series each, printed; checks the forecasts are finite. Run with
    /// `cargo test --release -p fabrik-forecast --lib fit_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a timing run: use --release"]
    fn fit_speed() {
        use crate::intermittent::{
            Adida, CrostonClassic, CrostonOptimized, Imapa, Tsb, TsbOptimized,
        };
        use crate::naive::SeasonalNaive;
        // co2 with a different small wobble per series; a sparse series per series.
        let dense: Vec<Vec<f64>> = (0..200)
            .map(|k| {
                CO2_MONTHLY
                    .iter()
                    .enumerate()
                    .map(|(t, v)| v + ((t * 7 + k * 13) % 11) as f64 * 0.1)
                    .collect()
            })
            .collect();
        let sparse: Vec<Vec<f64>> = (0..200)
            .map(|k| {
                (0..104)
                    .map(|t| {
                        if (t * 31 + k * 17) % 7 == 0 {
                            ((t + k) % 5 + 1) as f64
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        type Case<'a> = (Box<dyn Model>, &'a [Vec<f64>]);
        let models: Vec<Case<'_>> = vec![
            (Box::new(SeasonalNaive { season: 12 }), &dense),
            (
                Box::new(Theta {
                    variant: ThetaVariant::Standard,
                    season: 12,
                }),
                &dense,
            ),
            (
                Box::new(Theta {
                    variant: ThetaVariant::DynamicOptimized,
                    season: 12,
                }),
                &dense,
            ),
            (Box::new(AutoTheta { season: 12 }), &dense),
            (Box::new(CrostonClassic), &sparse),
            (Box::new(CrostonOptimized), &sparse),
            (
                Box::new(Tsb {
                    alpha_d: 0.1,
                    alpha_p: 0.1,
                }),
                &sparse,
            ),
            (Box::new(TsbOptimized), &sparse),
            (Box::new(Adida), &sparse),
            (Box::new(Imapa), &sparse),
        ];
        for (model, data) in models {
            let start = std::time::Instant::now();
            for y in data.iter() {
                let fc = model.fit(y).expect("fits").forecast(12, &[80.0, 95.0]);
                assert!(fc.mean.iter().all(|v| v.is_finite()), "{}", model.name());
            }
            let micros = start.elapsed().as_secs_f64() * 1e6 / data.len() as f64;
            println!(
                "{:>22}: {micros:8.1} µs per series of {}",
                model.name(),
                data[0].len()
            );
        }
    }
}
