//! Estimation of one ARIMA model, as statsforecast's `arima()` / `Arima()` / `myarima()`
//! do it (R's `stats::arima` and `forecast::Arima`): CSS, or CSS to start then exact
//! Gaussian maximum likelihood through the Kalman filter ("CSS-ML"), AR parts kept
//! stationary by R's transformation, an intercept (no differencing) or drift (one
//! difference) estimated with the ARMA coefficients.

use super::bfgs::{Gradient, bfgs};
use super::core::{Orders, StateSpace, css, inv_partrans, partrans, trans_pars, undo_pars};

/// scipy's `options={"maxiter": 100}` in statsforecast.
const MAX_ITER: usize = 100;
/// statsforecast's `tol=1e-8` (scipy's gradient tolerance for BFGS).
const GTOL: f64 = 1e-8;

/// How the coefficients are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Conditional sum of squares only (AutoARIMA's approximation on long series).
    Css,
    /// CSS for the starting values, then exact maximum likelihood.
    CssMl,
    /// Exact maximum likelihood from zero starting values (used with fixed coefficients).
    Ml,
}

/// How the filter treats the diffuse prior of the differencing states from one
/// likelihood evaluation to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Diffuse {
    /// R's exact likelihood in the limit `κ → ∞` of its diffuse prior: the optimiser
    /// evaluates the exact ARMA likelihood of the differenced series (Ansley & Kohn 1985:
    /// the diffuse likelihood of an ARIMA model is that of its differences), a filter of
    /// `r` states instead of `r + d` (`r + 13` for a monthly model with both differences),
    /// free of the rounding noise that `κ = 10⁶` leaves. The fitted model is evaluated
    /// once more as R evaluates it (`κ = 10⁶` on the undifferenced series), which gives
    /// its reported likelihood, residuals and forecasting state. A series with a missing
    /// value is fitted as in [`Diffuse::Kappa`].
    Exact,
    /// Every evaluation starts from the diffuse prior `κ = 10⁶` on the undifferenced
    /// series, as R's `stats::arima` does.
    Kappa,
    /// Only the first evaluation does; later ones start from the covariance the previous
    /// evaluation ended with, as statsforecast 2.1.1's `arima()` does (its
    /// `arima_like` overwrites `Pn` in place and `upARIMA` resets only the ARMA block).
    Statsforecast,
}

/// What to fit: the orders and the one regressor (an intercept or a drift), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spec {
    /// The orders.
    pub orders: Orders,
    /// A mean (only without differencing).
    pub intercept: bool,
    /// A drift `β·t`, `t = 1..n` (only with one difference in total).
    pub drift: bool,
}

impl Spec {
    fn has_xreg(&self) -> bool {
        self.intercept || self.drift
    }

    /// The regressor at time index `t` (0-based).
    fn xreg(&self, t: usize) -> f64 {
        if self.drift { (t + 1) as f64 } else { 1.0 }
    }
}

/// A fitted model with statsforecast's figures.
#[derive(Debug, Clone)]
pub(crate) struct ArimaFit {
    /// What was fitted.
    pub spec: Spec,
    /// The coefficients: AR, MA, seasonal AR, seasonal MA, then the intercept or drift.
    pub coef: Vec<f64>,
    /// The estimated parameters plus σ² (statsforecast's `npar`).
    pub npar: usize,
    /// `−½·value` (NaN for fits with no finite likelihood).
    pub loglik: f64,
    /// AIC (NaN for CSS fits until `finish` sets the approximation's).
    pub aic: f64,
    /// AICc.
    pub aicc: f64,
    /// BIC.
    pub bic: f64,
    /// σ² as statsforecast reports it: `Σ resid² / (n* − npar + 1)`.
    pub sigma2: f64,
    /// The CSS variance `ssq/nu` of a CSS fit (for the approximation's offset).
    pub css_sigma2: f64,
    /// The residuals: standardised innovations of the Kalman filter (CSS residuals for a
    /// CSS fit).
    pub resid: Vec<f64>,
    /// The state space form after filtering the series (forecasts start from it).
    pub ss: StateSpace,
}

/// Fits `spec` to `x` (finite values). `fixed_xreg` fixes the intercept / drift
/// coefficient (statsforecast's `fixed`), used only without ARMA terms. `None` where
/// statsforecast raises or ends with a non-finite objective.
pub(crate) fn fit(
    x: &[f64],
    spec: &Spec,
    method: Method,
    fixed_xreg: Option<f64>,
    diffuse: Diffuse,
) -> Option<ArimaFit> {
    fit_with(x, spec, method, fixed_xreg, diffuse, None)
}

/// Where the MA parts of `par` are, with the radius their own variable's roots must
/// stay outside so that the expanded polynomial `θ(z)·Θ(zᵐ)` has every root outside
/// `radius`: `radius` for `θ(z)`, `radiusᵐ` for `Θ` (a root `w` of `Θ(w)` is `m` roots of
/// modulus `|w|^(1/m)` in `z`; Θ₁ = −0.99 puts them at 1.0008).
fn ma_parts(o: &Orders, radius: f64) -> [(usize, usize, f64); 2] {
    [
        (o.p, o.q, radius),
        (o.p + o.q + o.sp, o.sq, radius.powi(o.m.max(1) as i32)),
    ]
}

/// The MA parts (non-seasonal and seasonal) of `par` as coefficients whose expanded
/// polynomial `θ(z)·Θ(zᵐ)` has every root outside the circle of `radius`: the raw values
/// go through [`partrans`] (as an AR polynomial's do), then `θⱼ = −aⱼ / ρʲ` with `ρ` from
/// [`ma_parts`].
fn ma_forward(par: &mut [f64], o: &Orders, radius: f64) {
    for (at, len, radius) in ma_parts(o, radius) {
        if len == 0 {
            continue;
        }
        let mut a = vec![0.0; len];
        partrans(&par[at..at + len], &mut a);
        for (j, v) in a.iter().enumerate() {
            par[at + j] = -v / radius.powi(j as i32 + 1);
        }
    }
}

/// The inverse of [`ma_forward`] for starting values. An MA part with a root inside the
/// circle of `radius` (or within half a percent of it) is shrunk (`θⱼ·0.995ʲ`,
/// repeatedly: every root moves out by 0.5%) until it has none.
fn ma_inverse(par: &mut [f64], o: &Orders, radius: f64) {
    for (at, len, radius) in ma_parts(o, radius) {
        if len == 0 {
            continue;
        }
        let mut theta = par[at..at + len].to_vec();
        let mut raw = vec![0.0; len];
        let mut ok = false;
        // A root on the circle has no finite transformed value and a flat gradient there:
        // aim half a percent inside.
        let target = radius * 1.005;
        for _ in 0..2000 {
            let a: Vec<f64> = theta
                .iter()
                .enumerate()
                .map(|(j, t)| -t * target.powi(j as i32 + 1))
                .collect();
            if inv_partrans(&a, &mut raw) && raw.iter().all(|v| v.is_finite()) {
                ok = true;
                break;
            }
            for (j, t) in theta.iter_mut().enumerate() {
                *t *= 0.995f64.powi(j as i32 + 1);
            }
        }
        if !ok {
            raw.fill(0.0);
        }
        par[at..at + len].copy_from_slice(&raw);
    }
}

/// [`fit`], keeping the MA parts' roots outside the circle of `ma_radius` when given.
///
/// The model is fitted unconstrained first. When its MA roots already lie outside the
/// circle, that is the constrained optimum too. Otherwise the maximum-likelihood stage
/// runs again from its coefficients, pulled inside the constraint, with the optimiser
/// working on transformed MA coefficients (as it does on the AR ones), so that the
/// likelihood's peak on the boundary is approached from nearby rather than from the
/// CSS start.
pub(crate) fn fit_with(
    x: &[f64],
    spec: &Spec,
    method: Method,
    fixed_xreg: Option<f64>,
    diffuse: Diffuse,
    ma_radius: Option<f64>,
) -> Option<ArimaFit> {
    let free = fit_from(x, spec, method, fixed_xreg, diffuse, None, None);
    let (Some(radius), Some(f), Method::CssMl | Method::Ml) = (ma_radius, &free, method) else {
        return free;
    };
    // The search's own check: the expanded MA polynomial (non-seasonal times seasonal),
    // which a lone first coefficient passes.
    if super::auto::roots_outside(&f.ss.theta, 1.0, radius) {
        return free;
    }
    let start = f.coef.clone();
    fit_from(
        x,
        spec,
        Method::Ml,
        fixed_xreg,
        diffuse,
        Some(radius),
        Some(&start),
    )
    .or(free)
}

/// The fit itself: `ma_radius` constrains the MA roots in the maximum-likelihood stage;
/// `start` (the natural coefficients, AR and MA, then the regressor's) replaces the CSS
/// starting values.
fn fit_from(
    x: &[f64],
    spec: &Spec,
    method: Method,
    fixed_xreg: Option<f64>,
    diffuse: Diffuse,
    ma_radius: Option<f64>,
    start: Option<&[f64]>,
) -> Option<ArimaFit> {
    let o = spec.orders;
    let n = x.len();
    if n <= o.d + o.sd * o.m {
        return None;
    }
    let delta = o.delta();
    let n_used = n.checked_sub(delta.len()).filter(|v| *v > 0)?;
    let narma = o.narma();
    let ncxreg = usize::from(spec.has_xreg());
    let ncoef = narma + ncxreg;
    // The mask of estimated coefficients: all but a fixed regressor coefficient.
    let fixed_beta = fixed_xreg.filter(|_| spec.has_xreg());
    let nfree = if fixed_beta.is_some() { narma } else { ncoef };
    let no_optim = nfree == 0;
    let transform = !no_optim;

    let mut init = vec![0.0; ncoef];
    // R's `parscale` of the regressor's coefficient: 10 standard errors of its OLS start.
    let mut xreg_scale = 1.0;
    if spec.has_xreg() {
        init[narma] = match fixed_beta {
            Some(b) => b,
            None => {
                let (b, se) = ols_start(x, spec)?;
                if se.is_finite() && se > 0.0 {
                    xreg_scale = 10.0 * se;
                }
                b
            }
        };
    }
    if let Some(start) = start {
        init[..nfree].copy_from_slice(&start[..nfree]);
    }
    let mut coef = init.clone();
    let (phi_len, theta_len) = (o.phi_len(), o.theta_len());
    let mut phi = vec![0.0; phi_len];
    let mut theta = vec![0.0; theta_len];
    let mut xd = vec![0.0; n];
    let mut resid = vec![0.0; n];
    let mut w = vec![0.0; n];
    let mut par = vec![0.0; ncoef];

    // Writes x − xreg·β into xd.
    let demean = |par: &[f64], xd: &mut [f64]| {
        if spec.has_xreg() {
            let b = par[narma];
            for (t, (d, v)) in xd.iter_mut().zip(x).enumerate() {
                *d = v - b * spec.xreg(t);
            }
        } else {
            xd.copy_from_slice(x);
        }
    };
    let fill = |par: &mut [f64], free: &[f64], coef: &[f64]| {
        par.copy_from_slice(coef);
        par[..nfree].copy_from_slice(free);
    };

    let mut css_objective = |free: &[f64]| -> f64 {
        fill(&mut par, free, &coef);
        trans_pars(&par, &o, false, &mut phi, &mut theta);
        demean(&par, &mut xd);
        let res = css(&xd, &o, &phi, &theta, &mut resid, &mut w);
        if res.is_infinite() {
            f64::MAX
        } else if res <= 0.0 {
            f64::NEG_INFINITY
        } else {
            0.5 * res.ln()
        }
    };

    // Forward differences as statsforecast, except for the exact likelihood of a
    // differenced model (see `bfgs`). The limit on the differenced series has no rounding
    // noise from κ, but R's central differences still win there: with scipy's forward
    // differences a yearly AutoARIMA fit took 28.6 ms instead of 7.7 (BFGS needs more
    // iterations), quarterly 501 ms instead of 133, for the same accuracy.
    let ml_gradient = if diffuse != Diffuse::Statsforecast && !delta.is_empty() {
        Gradient::Central
    } else {
        Gradient::Forward
    };
    let log2pi = (2.0 * std::f64::consts::PI).ln();
    let nu = n_used as f64;
    if method == Method::Css {
        let fun = if no_optim {
            0.0
        } else {
            let res = bfgs(
                &mut css_objective,
                &init[..nfree],
                MAX_ITER,
                GTOL,
                Gradient::Forward,
            );
            coef[..nfree].copy_from_slice(&res.x);
            res.f
        };
        trans_pars(&coef, &o, false, &mut phi, &mut theta);
        demean(&coef, &mut xd);
        let sigma2 = css(&xd, &o, &phi, &theta, &mut resid, &mut w);
        let value = 2.0 * nu * fun + nu + nu * log2pi;
        return Some(ArimaFit {
            spec: *spec,
            coef,
            npar: nfree + 1,
            loglik: -0.5 * value,
            aic: f64::NAN,
            aicc: f64::NAN,
            bic: f64::NAN,
            sigma2,
            css_sigma2: sigma2,
            resid,
            ss: StateSpace::new(&phi, &theta, &delta),
        });
    }

    if method == Method::CssMl && !no_optim {
        let res = bfgs(
            &mut css_objective,
            &init[..nfree],
            MAX_ITER,
            GTOL,
            Gradient::Forward,
        );
        if !res.max_iter_reached {
            init[..nfree].copy_from_slice(&res.x);
        }
    }

    if transform {
        // ARIMA_invtrans: a non-stationary CSS start has no transformed value (R stops
        // with "non-stationary AR part from CSS"; statsforecast ends with NaN).
        let mut tr = init.clone();
        if o.p > 0 && !inv_partrans(&init[..o.p], &mut tr[..o.p]) {
            return None;
        }
        let v = o.p + o.q;
        if o.sp > 0 && !inv_partrans(&init[v..v + o.sp], &mut tr[v..v + o.sp]) {
            return None;
        }
        if let Some(r) = ma_radius {
            ma_inverse(&mut tr, &o, r);
        }
        init = tr;
    }
    let ma_radius = ma_radius.filter(|_| transform);
    {
        let mut start = init.clone();
        if let Some(r) = ma_radius {
            ma_forward(&mut start, &o, r);
        }
        trans_pars(&start, &o, transform, &mut phi, &mut theta);
    }
    let mut ss = StateSpace::new(&phi, &theta, &delta);
    // The limit κ → ∞ (`Diffuse::Exact`): the ARMA filter on the differenced series.
    let differenced =
        diffuse == Diffuse::Exact && !delta.is_empty() && x.iter().all(|v| v.is_finite());
    let mut arma = differenced.then(|| StateSpace::new(&phi, &theta, &[]));
    let mut wd = vec![0.0; if differenced { n_used } else { 0 }];
    let mut ml_objective = |free: &[f64]| -> f64 {
        fill(&mut par, free, &coef);
        if let Some(r) = ma_radius {
            ma_forward(&mut par, &o, r);
        }
        trans_pars(&par, &o, transform, &mut phi, &mut theta);
        demean(&par, &mut xd);
        let (ssq, sumlog, nu) = if let Some(arma) = arma.as_mut() {
            ss.difference(&xd, &mut wd);
            arma.update(&phi, &theta);
            arma.filter(&wd, None)
        } else {
            ss.update(&phi, &theta);
            if diffuse == Diffuse::Kappa {
                ss.reset_diffuse();
            }
            ss.filter(&xd, None)
        };
        if nu == 0 {
            return f64::INFINITY;
        }
        let s2 = ssq / nu as f64;
        if s2 <= 0.0 {
            return f64::NAN;
        }
        0.5 * (s2.ln() + sumlog / nu as f64)
    };
    let fun = if no_optim {
        ml_objective(&[])
    } else if ml_gradient == Gradient::Central && nfree > narma {
        // R's optim works on par / parscale: the regressor's coefficient in units of
        // `xreg_scale`, so that its steps compare with the ARMA coefficients'.
        let mut scaled = init[..nfree].to_vec();
        scaled[narma] /= xreg_scale;
        let mut unscaled = scaled.clone();
        let res = bfgs(
            |u: &[f64]| {
                unscaled.copy_from_slice(u);
                unscaled[narma] *= xreg_scale;
                ml_objective(&unscaled)
            },
            &scaled,
            MAX_ITER,
            GTOL,
            ml_gradient,
        );
        coef[..nfree].copy_from_slice(&res.x);
        coef[narma] *= xreg_scale;
        res.f
    } else {
        let res = bfgs(
            &mut ml_objective,
            &init[..nfree],
            MAX_ITER,
            GTOL,
            ml_gradient,
        );
        coef[..nfree].copy_from_slice(&res.x);
        res.f
    };
    // With every coefficient fixed statsforecast keeps the model whatever the likelihood
    // (a series its fixed drift fits exactly has σ² = 0 and a NaN likelihood).
    if !fun.is_finite() && !no_optim {
        return None;
    }
    if transform {
        coef = undo_pars(&coef, &o);
        if let Some(r) = ma_radius {
            ma_forward(&mut coef, &o, r);
        }
    }
    if diffuse != Diffuse::Statsforecast {
        // R's `maInvert` for single-coefficient MA parts: θ and 1/θ give the same
        // likelihood, the invertible one is reported. (statsforecast's port of it never
        // changes anything.)
        for (order, at) in [(o.q, o.p), (o.sq, o.p + o.q + o.sp)] {
            if order == 1 && coef[at].abs() > 1.0 {
                coef[at] = 1.0 / coef[at];
            }
        }
    }
    trans_pars(&coef, &o, false, &mut phi, &mut theta);
    let mut ss = StateSpace::new(&phi, &theta, &delta);
    demean(&coef, &mut xd);
    let (ssq, sumlog, nu_final) = ss.filter(&xd, Some(&mut resid));
    // R re-evaluates the likelihood at the final (possibly MA-inverted) coefficients.
    // This matters: a huge MA coefficient (θ = 100 rather than its twin 0.01) makes the
    // first gains exceed 10⁴, which drops those observations from the likelihood and
    // flatters it; the invertible twin is evaluated on every observation.
    // (statsforecast keeps the optimiser's value.)
    let fun = if diffuse != Diffuse::Statsforecast && nu_final > 0 && ssq > 0.0 {
        let nf = nu_final as f64;
        0.5 * ((ssq / nf).ln() + sumlog / nf)
    } else {
        fun
    };
    let value = 2.0 * nu * fun + nu + nu * log2pi;
    let aic = value + 2.0 * (nfree as f64 + 1.0);
    Some(ArimaFit {
        spec: *spec,
        coef,
        npar: nfree + 1,
        loglik: -0.5 * value,
        aic,
        aicc: f64::NAN,
        bic: f64::NAN,
        sigma2: f64::NAN,
        css_sigma2: f64::NAN,
        resid,
        ss,
    })
}

/// The starting value of the intercept or drift: the least-squares coefficient of the
/// differenced series on the differenced regressor (statsforecast's OLS, no constant),
/// with its standard error.
fn ols_start(x: &[f64], spec: &Spec) -> Option<(f64, f64)> {
    let o = spec.orders;
    let mut dx = x.to_vec();
    let mut dr: Vec<f64> = (0..x.len()).map(|t| spec.xreg(t)).collect();
    let difference = |v: &mut Vec<f64>, lag: usize| {
        let next: Vec<f64> = (lag..v.len()).map(|t| v[t] - v[t - lag]).collect();
        *v = next;
    };
    for _ in 0..o.d {
        difference(&mut dx, 1);
        difference(&mut dr, 1);
    }
    if o.m > 1 {
        for _ in 0..o.sd {
            difference(&mut dx, o.m);
            difference(&mut dr, o.m);
        }
    }
    let sxy: f64 = dx.iter().zip(&dr).map(|(a, b)| a * b).sum();
    let sxx: f64 = dr.iter().map(|b| b * b).sum();
    if sxx <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    let rss: f64 = dx.iter().zip(&dr).map(|(y, r)| (y - b * r).powi(2)).sum();
    let se = (rss / (dx.len() as f64 - 1.0) / sxx).sqrt();
    Some((b, se))
}

/// statsforecast's `Arima()` / `myarima()` after `arima()`: AICc, BIC and σ² from the
/// residuals. `offset` (the approximation's) turns a CSS fit's variance into its AIC.
pub(crate) fn finish(fit: &mut ArimaFit, n: usize, css_offset: Option<f64>) {
    let o = fit.spec.orders;
    let npar = fit.npar as f64;
    let nstar = (n - o.d - o.sd * o.m) as f64;
    if let Some(offset) = css_offset {
        fit.aic = if fit.sigma2 <= 0.0 {
            f64::NEG_INFINITY
        } else {
            offset + nstar * fit.sigma2.ln() + 2.0 * npar
        };
    }
    if fit.aic.is_nan() {
        fit.aic = f64::INFINITY;
        fit.aicc = f64::INFINITY;
        fit.bic = f64::INFINITY;
    } else {
        fit.bic = fit.aic + npar * (nstar.ln() - 2.0);
        let den = nstar - npar - 1.0;
        fit.aicc = if den != 0.0 {
            fit.aic + 2.0 * npar * (npar + 1.0) / den
        } else {
            f64::INFINITY
        };
    }
    let ssq: f64 = fit
        .resid
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| v * v)
        .sum();
    fit.sigma2 = ssq / (nstar - npar + 1.0);
}
