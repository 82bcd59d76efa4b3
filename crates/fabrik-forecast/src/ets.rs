//! Exponential smoothing in the innovations state-space framework of Hyndman, Koehler,
//! Ord & Snyder (2008), *Forecasting with Exponential Smoothing* (ETS), as R's
//! `forecast::ets` and statsforecast's `AutoETS` implement it.
//!
//! A form is `ETS(error, trend, season)`: error additive or multiplicative, trend none,
//! additive or additive damped, season none, additive or multiplicative. Simple exponential
//! smoothing is `ETS(A,N,N)`, Holt's method `ETS(A,A,N)`, damped Holt `ETS(A,Ad,N)`,
//! Holt-Winters `ETS(A,A,A)` / `ETS(M,A,M)`. Multiplicative trends are not offered (as in
//! statsforecast's default).
//!
//! **Fitting** ([`Ets`], [`AutoEts`]): the smoothing weights and the initial states (level,
//! trend, the first `m − 1` seasonal states; the last is set so that they sum to 0, or to
//! `m` when multiplicative) maximise the likelihood, i.e. minimise
//! `n·ln(Σe²) + 2·Σln|ŷ_t|` (the second term for multiplicative errors only, where `e` is
//! the relative error), with [`crate::optim::minimize`] from R's starting point: the weights
//! at `α = 0.2/m`, `β = α/10`, `γ = (1 − α)/20`, `φ = 0.978`, the states from a classical
//! decomposition of the series (a trend-plus-Fourier regression under three seasons) and a
//! line through the first `max(10, 2m)` seasonally adjusted observations. The weights stay
//! in R's usual region `10⁻⁴ ≤ β ≤ α ≤ 0.9999`, `10⁻⁴ ≤ γ ≤ 1 − α`, `0.8 ≤ φ ≤ 0.98`, and
//! seasonal weights must also be admissible (characteristic roots in the unit disk). The
//! likelihood often has a second mode at little smoothing, so a second search starts
//! from `α = 0.01`, `β = 0.001` and the better optimum is kept: on 300 seeded weekly
//! series (the throughput check's) the chosen form is statsforecast 2.1.1's on 286, its
//! AICc lower on 19 and higher on 29, 22 of which are statsforecast fits outside the
//! region (`β > α`: 2.1.1 does not enforce it during the search).
//!
//! Deliberate differences from statsforecast 2.1.1 (and R before forecast PR #1172): the
//! damped trend's h-step factor is the book's `φ + φ² + … + φ^h` (they add `φ` twice and
//! drop `φ^h`), and `β`'s upper bound is 0.9999, not the starting `α` (statsforecast
//! narrows it through an aliased bounds array, for every later form of an AutoETS run).
//!
//! **Selection** ([`AutoEts`]): every admissible form is fitted and the lowest AICc wins,
//! as statsforecast's `AutoETS(model="ZZZ")`: multiplicative error or season only for
//! strictly positive series, no additive error with a multiplicative season (unstable),
//! seasonal forms only if `season > 1` and the series is long enough for them.
//! Seasonal forms are **not** tried when `season > 24`, as R's `forecast::ets` does (it
//! ignores seasonality above 24). statsforecast 2.1.1 does fit them with `season = 52`:
//! with 3 years of weekly data such a form has 55+ parameters against 156 observations,
//! and the AICc penalty makes it lose (statsforecast chose a non-seasonal form for all of
//! 500 seeded weekly series with yearly cycles of up to ±30%) while its 54-dimensional
//! likelihood search takes 95% of the run (8 against 152 series per CPU-second without
//! them). Weekly demand with a yearly cycle is better served by a model with few seasonal
//! parameters.
//!
//! **Criteria**: `log_likelihood` is R's and statsforecast's `−½·(n·ln Σe² + 2Σln|ŷ|)`;
//! the Gaussian log-likelihood with σ² concentrated out is that minus the constant
//! `(n/2)(1 + ln(2π/n))`, so AICc comparisons on one series are unaffected. The parameter count includes the weights, the free initial
//! states and σ²; σ² is estimated as `Σe²/(n − k − 1)` with `k` that count (statsforecast's
//! divisor).
//!
//! **Intervals** are normal, with the analytic forecast variances of Hyndman et al. (2008,
//! ch. 6), exact for every form offered: class 1 (additive errors), class 2
//! (multiplicative errors, additive trend and season) and class 3 (multiplicative errors
//! and season, by the moment recursion on the Kronecker product of the states).

mod core;
mod variance;

use std::fmt;
use std::str::FromStr;

use self::core::{LIK_FLOOR, Weights};
use crate::error::{Error, Result};
use crate::model::{Criteria, Fitted, Forecast, Interval, Model, check_series, normal_quantile};
use crate::optim::{NelderMead, minimize};

/// The lower bound of `α`, `β`, `γ` (R's `lower`).
const W_LOWER: f64 = 1e-4;
/// The upper bound of `α`, `β`, `γ` (R's `upper`).
const W_UPPER: f64 = 0.9999;
/// The damping's range (R's and statsforecast's).
const PHI_LOWER: f64 = 0.8;
/// The damping's upper bound.
const PHI_UPPER: f64 = 0.98;
/// The level's weight at the second starting point of the search.
const LOW_ALPHA: f64 = 0.01;
/// The longest season [`AutoEts`] tries seasonal forms with (R's limit).
pub const MAX_AUTO_SEASON: usize = 24;

/// The error of an ETS form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `y_t = ŷ_t + ε_t`.
    Additive,
    /// `y_t = ŷ_t·(1 + ε_t)`: needs strictly positive data.
    Multiplicative,
}

/// The trend of an ETS form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrendType {
    /// No trend.
    None,
    /// An additive (linear) trend.
    Additive,
    /// An additive trend damped by `φ`: the forecast flattens out.
    AdditiveDamped,
}

/// The season of an ETS form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeasonType {
    /// No season.
    None,
    /// A seasonal component added to the level.
    Additive,
    /// A seasonal factor multiplying the level: needs strictly positive data.
    Multiplicative,
}

/// An ETS form, e.g. `ETS(M,Ad,N)`; parsed from the short codes `"ANN"`, `"AAdN"`,
/// `"MAM"`, … (error, trend, season).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EtsSpec {
    /// The error.
    pub error: ErrorType,
    /// The trend.
    pub trend: TrendType,
    /// The season.
    pub season: SeasonType,
}

impl EtsSpec {
    /// Whether a component is multiplicative (the data must then be strictly positive).
    pub fn is_multiplicative(&self) -> bool {
        self.error == ErrorType::Multiplicative || self.season == SeasonType::Multiplicative
    }

    fn trended(&self) -> bool {
        self.trend != TrendType::None
    }

    fn damped(&self) -> bool {
        self.trend == TrendType::AdditiveDamped
    }

    fn seasonal(&self) -> bool {
        self.season != SeasonType::None
    }

    /// The number of estimated parameters without σ² (weights and free initial states).
    fn n_params(&self, m: usize) -> usize {
        let weights = 1
            + usize::from(self.trended())
            + usize::from(self.seasonal())
            + usize::from(self.damped());
        let states = 1 + usize::from(self.trended()) + if self.seasonal() { m - 1 } else { 0 };
        weights + states
    }

    /// The fewest observations the form can be fitted to with season `m`: what
    /// statsforecast requires (`n > 4 + 2 + 2·trend + 2·season + damped`), and at least
    /// three more than the parameters so that σ² and the AICc are finite.
    pub fn min_len(&self, m: usize) -> usize {
        let npars = 2
            + 2 * usize::from(self.trended())
            + 2 * usize::from(self.seasonal())
            + usize::from(self.damped());
        (npars + 5).max(self.n_params(m) + 3)
    }
}

impl FromStr for EtsSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<EtsSpec> {
        let bad = |problem| Error::Spec {
            spec: s.to_string(),
            problem,
        };
        let code: String = s.chars().filter(|c| !matches!(c, ',' | ' ')).collect();
        let code = code
            .strip_prefix("ETS(")
            .and_then(|c| c.strip_suffix(')'))
            .unwrap_or(&code);
        let mut chars = code.chars();
        let error = match chars.next() {
            Some('A') => ErrorType::Additive,
            Some('M') => ErrorType::Multiplicative,
            _ => return Err(bad("the error must be A or M, as in \"AAdN\" or \"MNM\"")),
        };
        let rest = chars.as_str();
        let (trend, rest) = if let Some(r) = rest.strip_prefix("Ad") {
            (TrendType::AdditiveDamped, r)
        } else if let Some(r) = rest.strip_prefix('A') {
            (TrendType::Additive, r)
        } else if let Some(r) = rest.strip_prefix('N') {
            (TrendType::None, r)
        } else if rest.starts_with('M') {
            return Err(bad("multiplicative trends are not offered: use N, A or Ad"));
        } else {
            return Err(bad("the trend must be N, A or Ad, as in \"AAdN\""));
        };
        let season = match rest {
            "N" => SeasonType::None,
            "A" => SeasonType::Additive,
            "M" => SeasonType::Multiplicative,
            _ => return Err(bad("the season must be N, A or M, as in \"MAM\"")),
        };
        if error == ErrorType::Additive && season == SeasonType::Multiplicative {
            return Err(bad(
                "additive errors with a multiplicative season are numerically unstable (R and statsforecast forbid them): use M,·,M",
            ));
        }
        Ok(EtsSpec {
            error,
            trend,
            season,
        })
    }
}

impl fmt::Display for EtsSpec {
    /// `ETS(M,Ad,N)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match self.error {
            ErrorType::Additive => "A",
            ErrorType::Multiplicative => "M",
        };
        let t = match self.trend {
            TrendType::None => "N",
            TrendType::Additive => "A",
            TrendType::AdditiveDamped => "Ad",
        };
        let s = match self.season {
            SeasonType::None => "N",
            SeasonType::Additive => "A",
            SeasonType::Multiplicative => "M",
        };
        write!(f, "ETS({e},{t},{s})")
    }
}

/// The smoothing weights of a fitted form (`None` for a component the form lacks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EtsParams {
    /// The level's weight `α`.
    pub alpha: f64,
    /// The trend's weight `β` (Hyndman's β, below α).
    pub beta: Option<f64>,
    /// The season's weight `γ`.
    pub gamma: Option<f64>,
    /// The damping `φ`.
    pub phi: Option<f64>,
}

impl EtsParams {
    fn weights(&self) -> Weights {
        Weights {
            alpha: self.alpha,
            beta: self.beta.unwrap_or(0.0),
            gamma: self.gamma.unwrap_or(0.0),
            phi: self.phi.unwrap_or(1.0),
        }
    }
}

/// The states of a form at one time `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsStates {
    /// The level.
    pub level: f64,
    /// The trend (slope per period), if the form has one.
    pub trend: Option<f64>,
    /// The seasonal components, one per period of the season (empty without season):
    /// `seasonal[j]` applies to the observation `j + 1` periods after `t` (for the initial
    /// states, to `y[j]`).
    pub seasonal: Vec<f64>,
}

/// One ETS form to fit, e.g. `Ets::new("MAdN", 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ets {
    /// The form.
    pub spec: EtsSpec,
    /// The season length (1 = none; must be at least 2 for a seasonal form).
    pub season: usize,
}

impl Ets {
    /// The form parsed from its code (`"ANN"`, `"AAdN"`, `"MAM"`, …) with a season length.
    pub fn new(spec: &str, season: usize) -> Result<Ets> {
        Ok(Ets {
            spec: spec.parse()?,
            season,
        })
    }

    /// [`Model::fit`] with the concrete fitted type.
    pub fn fit_ets(&self, y: &[f64]) -> Result<FittedEts> {
        let name = self.spec.to_string();
        if self.season == 0 {
            return Err(Error::Season {
                season: self.season,
            });
        }
        if self.spec.seasonal() && self.season < 2 {
            return Err(Error::Spec {
                spec: name,
                problem: "a seasonal form needs a season length of at least 2",
            });
        }
        let m = self.m();
        check_series(&name, y, self.spec.min_len(m), false)?;
        if self.spec.is_multiplicative() {
            check_positive(&name, y)?;
        }
        fit_form(y, self.spec, m).ok_or_else(|| Error::NoModel {
            reason: format!("{name}: the likelihood is not finite anywhere the search went"),
        })
    }

    fn m(&self) -> usize {
        if self.spec.seasonal() { self.season } else { 1 }
    }
}

impl Model for Ets {
    fn name(&self) -> String {
        self.spec.to_string()
    }

    fn min_len(&self) -> usize {
        self.spec.min_len(self.m())
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_ets(y)?))
    }
}

/// Automatic ETS: fits every admissible form and keeps the one with the lowest AICc (see
/// the [module docs](crate::ets) for the candidate set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoEts {
    /// The season length (1 = none). Seasonal forms are tried only for `2..=24`.
    pub season: usize,
}

impl AutoEts {
    /// Automatic ETS with a season length.
    pub fn new(season: usize) -> AutoEts {
        AutoEts { season }
    }

    /// The candidate forms for a series of `n` observations (positive or not), in the
    /// order statsforecast tries them (ties keep the first).
    pub fn candidates(&self, n: usize, positive: bool) -> Vec<EtsSpec> {
        let seasonal = self.season > 1 && self.season <= MAX_AUTO_SEASON;
        let mut out = Vec::new();
        for error in [ErrorType::Additive, ErrorType::Multiplicative] {
            if error == ErrorType::Multiplicative && !positive {
                continue;
            }
            for trend in [TrendType::None, TrendType::Additive] {
                for season in [
                    SeasonType::None,
                    SeasonType::Additive,
                    SeasonType::Multiplicative,
                ] {
                    if season != SeasonType::None && !seasonal {
                        continue;
                    }
                    if season == SeasonType::Multiplicative
                        && (!positive || error == ErrorType::Additive)
                    {
                        continue;
                    }
                    let trends: &[TrendType] = if trend == TrendType::None {
                        &[TrendType::None]
                    } else {
                        &[TrendType::AdditiveDamped, TrendType::Additive]
                    };
                    for &trend in trends {
                        let spec = EtsSpec {
                            error,
                            trend,
                            season,
                        };
                        let m = if season == SeasonType::None {
                            1
                        } else {
                            self.season
                        };
                        if n >= spec.min_len(m) {
                            out.push(spec);
                        }
                    }
                }
            }
        }
        out
    }

    /// [`Model::fit`] with the concrete fitted type.
    pub fn fit_ets(&self, y: &[f64]) -> Result<FittedEts> {
        if self.season == 0 {
            return Err(Error::Season {
                season: self.season,
            });
        }
        check_series("AutoETS", y, self.min_len(), false)?;
        if y.iter().all(|v| *v == y[0]) {
            // A constant series: simple exponential smoothing that follows it (as
            // statsforecast and R do), with no search.
            let spec = EtsSpec {
                error: ErrorType::Additive,
                trend: TrendType::None,
                season: SeasonType::None,
            };
            let params = EtsParams {
                alpha: W_UPPER,
                beta: None,
                gamma: None,
                phi: None,
            };
            let initial = EtsStates {
                level: y[0],
                trend: None,
                seasonal: Vec::new(),
            };
            return Ok(FittedEts::build(y, spec, 1, params, initial));
        }
        let positive = y.iter().all(|v| *v > 0.0);
        let mut best: Option<FittedEts> = None;
        for spec in self.candidates(y.len(), positive) {
            let m = if spec.seasonal() { self.season } else { 1 };
            let Some(fit) = fit_form(y, spec, m) else {
                continue;
            };
            let better = match &best {
                None => fit.criteria.aicc.is_finite(),
                Some(b) => fit.criteria.aicc < b.criteria.aicc,
            };
            if better {
                best = Some(fit);
            }
        }
        best.ok_or_else(|| Error::NoModel {
            reason: "no ETS form has a finite AICc on this series".to_string(),
        })
    }
}

impl Model for AutoEts {
    fn name(&self) -> String {
        "AutoETS".to_string()
    }

    fn min_len(&self) -> usize {
        EtsSpec {
            error: ErrorType::Additive,
            trend: TrendType::None,
            season: SeasonType::None,
        }
        .min_len(1)
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_ets(y)?))
    }
}

/// An ETS form fitted to one series.
#[derive(Debug, Clone)]
pub struct FittedEts {
    spec: EtsSpec,
    m: usize,
    params: EtsParams,
    initial: EtsStates,
    last: EtsStates,
    fitted: Vec<f64>,
    residuals: Vec<f64>,
    sigma2: f64,
    criteria: Criteria,
}

impl FittedEts {
    /// Applies a form with given weights and initial states to `y` (no estimation), e.g.
    /// to reuse a fit on a longer series. The criteria count the parameters as estimated.
    ///
    /// Errors: [`Error::Parameter`] for weights outside `[0, 1]` (`φ` in `(0, 1]`) or a
    /// weight the form lacks or misses, [`Error::Spec`] for states that do not fit the
    /// form (a trend without trend, `season` seasonal states), plus the checks of
    /// [`Ets::fit_ets`] on `y`.
    pub fn with_params(
        y: &[f64],
        spec: EtsSpec,
        season: usize,
        params: EtsParams,
        initial: EtsStates,
    ) -> Result<FittedEts> {
        let ets = Ets { spec, season };
        if season == 0 {
            return Err(Error::Season { season });
        }
        let m = ets.m();
        let name = spec.to_string();
        check_series(&name, y, spec.n_params(m) + 3, false)?;
        if spec.is_multiplicative() {
            check_positive(&name, y)?;
        }
        let weight = |name: &'static str, v: Option<f64>, wanted: bool, phi: bool| {
            let expected = if phi {
                "φ in (0, 1], given exactly when the trend is damped"
            } else {
                "a weight in [0, 1], given exactly when the form has the component"
            };
            match v {
                Some(value)
                    if !(wanted
                        && (if phi { value > 0.0 } else { value >= 0.0 })
                        && value <= 1.0) =>
                {
                    Err(Error::Parameter {
                        name,
                        value,
                        expected,
                    })
                }
                None if wanted => Err(Error::Parameter {
                    name,
                    value: f64::NAN,
                    expected,
                }),
                _ => Ok(()),
            }
        };
        weight("alpha", Some(params.alpha), true, false)?;
        weight("beta", params.beta, spec.trended(), false)?;
        weight("gamma", params.gamma, spec.seasonal(), false)?;
        weight("phi", params.phi, spec.damped(), true)?;
        let states_fit = initial.trend.is_some() == spec.trended()
            && initial.seasonal.len() == if spec.seasonal() { m } else { 0 }
            && initial.level.is_finite()
            && initial.trend.is_none_or(f64::is_finite)
            && initial.seasonal.iter().all(|s| s.is_finite());
        if !states_fit {
            return Err(Error::Spec {
                spec: name,
                problem: "the initial states must be finite, with a trend exactly when the form has one and `season` seasonal states when it is seasonal",
            });
        }
        Ok(FittedEts::build(y, spec, m, params, initial))
    }

    /// Runs the form over `y` and fills in the fit's figures.
    fn build(
        y: &[f64],
        spec: EtsSpec,
        m: usize,
        params: EtsParams,
        initial: EtsStates,
    ) -> FittedEts {
        let n = y.len();
        let mut level = initial.level;
        let mut trend = initial.trend.unwrap_or(0.0);
        let mut ring = if spec.seasonal() {
            initial.seasonal.clone()
        } else {
            vec![0.0]
        };
        let mut fitted = vec![0.0; n];
        let lik = core::recurse(
            spec,
            y,
            params.weights(),
            &mut level,
            &mut trend,
            &mut ring,
            Some(&mut fitted),
        );
        let lik = if lik.is_nan() {
            f64::INFINITY
        } else {
            lik.max(LIK_FLOOR)
        };
        let residuals: Vec<f64> = y
            .iter()
            .zip(&fitted)
            .map(|(y, f)| match spec.error {
                ErrorType::Additive => y - f,
                ErrorType::Multiplicative => (y - f) / f,
            })
            .collect();
        let k = spec.n_params(m) + 1;
        let nf = n as f64;
        let sse: f64 = residuals.iter().map(|e| e * e).sum();
        let sigma2 = sse / (nf - k as f64 - 1.0);
        let kf = k as f64;
        let aic = lik + 2.0 * kf;
        let criteria = Criteria {
            log_likelihood: -0.5 * lik,
            aic,
            aicc: aic + 2.0 * kf * (kf + 1.0) / (nf - kf - 1.0),
            bic: lik + nf.ln() * kf,
            params: k,
        };
        let last = EtsStates {
            level,
            trend: spec.trended().then_some(trend),
            seasonal: if spec.seasonal() {
                (0..m).map(|j| ring[(n + j) % m]).collect()
            } else {
                Vec::new()
            },
        };
        FittedEts {
            spec,
            m,
            params,
            initial,
            last,
            fitted,
            residuals,
            sigma2,
            criteria,
        }
    }

    /// The fitted form.
    pub fn spec(&self) -> EtsSpec {
        self.spec
    }

    /// The season length the form uses (1 without season).
    pub fn season(&self) -> usize {
        self.m
    }

    /// The smoothing weights.
    pub fn params(&self) -> EtsParams {
        self.params
    }

    /// The estimated initial states (before the first observation).
    pub fn initial_states(&self) -> &EtsStates {
        &self.initial
    }

    /// The states after the last observation, which the forecasts start from.
    pub fn final_states(&self) -> &EtsStates {
        &self.last
    }

    /// The innovations: `y − ŷ`, or `(y − ŷ)/ŷ` for multiplicative errors.
    pub fn residuals(&self) -> &[f64] {
        &self.residuals
    }

    /// The innovations' variance σ² (of the relative errors for multiplicative errors).
    pub fn sigma2(&self) -> f64 {
        self.sigma2
    }

    /// The point forecasts `1..=horizon` steps ahead.
    fn point_forecast(&self, horizon: usize) -> Vec<f64> {
        let phi = self.params.phi.unwrap_or(1.0);
        let b = self.last.trend.unwrap_or(0.0);
        let (mut phi_pow, mut phi_sum) = (1.0, 0.0);
        (0..horizon)
            .map(|i| {
                phi_pow *= phi;
                phi_sum += phi_pow;
                let base = self.last.level + phi_sum * b;
                match self.spec.season {
                    SeasonType::None => base,
                    SeasonType::Additive => base + self.last.seasonal[i % self.m],
                    SeasonType::Multiplicative => base * self.last.seasonal[i % self.m],
                }
            })
            .collect()
    }
}

impl Fitted for FittedEts {
    fn name(&self) -> String {
        self.spec.to_string()
    }

    /// Point forecasts and normal intervals with the exact variances of Hyndman et al.
    /// (2008, ch. 6). A level outside `(0, 100)` gives NaN bounds (check levels first with
    /// [`crate::model::check_levels`]).
    fn forecast(&self, horizon: usize, levels: &[f64]) -> Forecast {
        let mean = self.point_forecast(horizon);
        if levels.is_empty() || horizon == 0 {
            return Forecast::point(mean);
        }
        let w = self.params.weights();
        let var = variance::variances(
            self.spec,
            self.m,
            (w.alpha, w.beta, w.gamma, w.phi),
            self.sigma2,
            &mean,
            self.last.level,
            self.last.trend.unwrap_or(0.0),
            &self.last.seasonal,
        );
        let intervals = levels
            .iter()
            .map(|&level| {
                let z = if level > 0.0 && level < 100.0 {
                    normal_quantile(0.5 + level / 200.0)
                } else {
                    f64::NAN
                };
                let (lo, hi) = mean
                    .iter()
                    .zip(&var)
                    .map(|(mu, v)| {
                        let half = z * v.max(0.0).sqrt();
                        (mu - half, mu + half)
                    })
                    .unzip();
                Interval { level, lo, hi }
            })
            .collect();
        Forecast { mean, intervals }
    }

    fn fitted(&self) -> Option<&[f64]> {
        Some(&self.fitted)
    }

    fn criteria(&self) -> Option<Criteria> {
        Some(self.criteria)
    }
}

/// [`Error::Negative`] at the first observation that is not strictly positive.
fn check_positive(model: &str, y: &[f64]) -> Result<()> {
    match y.iter().position(|v| *v <= 0.0) {
        Some(position) => Err(Error::Negative {
            model: model.to_string(),
            position,
            value: y[position],
        }),
        None => Ok(()),
    }
}

/// Fits one form by maximum likelihood; `None` when no finite likelihood was found. The
/// series is checked already; `m` is 1 for non-seasonal forms.
fn fit_form(y: &[f64], spec: EtsSpec, m: usize) -> Option<FittedEts> {
    let (l0, b0, seasonal0) = core::initial_states(y, spec, m);
    let (trended, damped, seasonal) = (spec.trended(), spec.damped(), spec.seasonal());
    let mult_season = spec.season == SeasonType::Multiplicative;

    // R's `initparam`.
    let alpha0 = W_LOWER + 0.2 * (W_UPPER - W_LOWER) / m as f64;
    let mut x0 = Vec::with_capacity(spec.n_params(m));
    let mut lower = Vec::with_capacity(x0.capacity());
    let mut upper = Vec::with_capacity(x0.capacity());
    let mut weight = |x, lo, hi| {
        x0.push(x);
        lower.push(lo);
        upper.push(hi);
    };
    weight(alpha0, W_LOWER, W_UPPER);
    if trended {
        let beta0 = W_LOWER + 0.1 * (W_UPPER.min(alpha0) - W_LOWER);
        weight(beta0, W_LOWER, W_UPPER);
    }
    if seasonal {
        let gamma0 = W_LOWER + 0.05 * (W_UPPER.min(1.0 - alpha0) - W_LOWER);
        weight(gamma0, W_LOWER, W_UPPER);
    }
    if damped {
        weight(
            PHI_LOWER + 0.99 * (PHI_UPPER - PHI_LOWER),
            PHI_LOWER,
            PHI_UPPER,
        );
    }
    let n_weights = 1 + usize::from(trended) + usize::from(seasonal) + usize::from(damped);
    weight(l0, f64::NEG_INFINITY, f64::INFINITY);
    if trended {
        weight(b0, f64::NEG_INFINITY, f64::INFINITY);
    }
    if seasonal {
        for &s in &seasonal0[1..] {
            weight(s, f64::NEG_INFINITY, f64::INFINITY);
        }
    }

    let unpack = |x: &[f64]| {
        let mut i = 1;
        let mut next = |present: bool, absent: f64| {
            if present {
                i += 1;
                x[i - 1]
            } else {
                absent
            }
        };
        Weights {
            alpha: x[0],
            beta: next(trended, 0.0),
            gamma: next(seasonal, 0.0),
            phi: next(damped, 1.0),
        }
    };
    // The seasonal states sum to 0 (additive) or m (multiplicative): the first is implied.
    let fill_ring = |ring: &mut [f64], free: &[f64]| {
        ring[1..].copy_from_slice(free);
        let sum: f64 = free.iter().sum();
        ring[0] = if mult_season { m as f64 - sum } else { -sum };
    };

    // Buffers reused by every evaluation.
    let mut ring = vec![0.0; m];
    let mut work = vec![0.0; 2 * (m + 2)];
    let objective = |x: &[f64]| -> f64 {
        let w = unpack(x);
        // R's usual region (the box bounds are enforced by the minimiser).
        if trended && w.beta > w.alpha {
            return f64::INFINITY;
        }
        if seasonal {
            if w.gamma > 1.0 - w.alpha || !core::admissible_seasonal(w, m, &mut work) {
                return f64::INFINITY;
            }
            fill_ring(&mut ring, &x[n_weights + 1 + usize::from(trended)..]);
            if mult_season && ring.iter().any(|s| *s < 0.0) {
                return f64::INFINITY;
            }
        }
        let mut level = x[n_weights];
        let mut trend = if trended { x[n_weights + 1] } else { 0.0 };
        let lik = core::recurse(spec, y, w, &mut level, &mut trend, &mut ring, None);
        if lik.is_nan() {
            f64::INFINITY
        } else {
            lik.max(LIK_FLOOR)
        }
    };
    // Two starts, keep the better: R's, and one with little smoothing, where the
    // likelihood often has a second mode that the first search does not reach.
    let mut objective = objective;
    let mut best = minimize(&mut objective, &x0, &lower, &upper, &NelderMead::default());
    let mut x1 = x0;
    x1[0] = LOW_ALPHA;
    if trended {
        x1[1] = LOW_ALPHA / 10.0;
    }
    let second = minimize(&mut objective, &x1, &lower, &upper, &NelderMead::default());
    if second.f < best.f {
        best = second;
    }
    if !best.f.is_finite() {
        return None;
    }
    let x = &best.x;
    let w = unpack(x);
    let params = EtsParams {
        alpha: w.alpha,
        beta: trended.then_some(w.beta),
        gamma: seasonal.then_some(w.gamma),
        phi: damped.then_some(w.phi),
    };
    let mut ring = vec![0.0; m];
    if seasonal {
        fill_ring(&mut ring, &x[n_weights + 1 + usize::from(trended)..]);
    }
    let initial = EtsStates {
        level: x[n_weights],
        trend: trended.then(|| x[n_weights + 1]),
        seasonal: if seasonal { ring } else { Vec::new() },
    };
    Some(FittedEts::build(y, spec, m, params, initial))
}

#[cfg(test)]
mod tests;
