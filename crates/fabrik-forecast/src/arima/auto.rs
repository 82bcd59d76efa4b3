//! The Hyndman-Khandakar search of statsforecast's `auto_arima_f` (R's
//! `forecast::auto.arima`): differences by unit-root tests, then a stepwise search over
//! the ARMA orders by AICc.

use super::core::Orders;
use super::fit::{ArimaFit, Diffuse, Method, Spec, finish, fit, fit_with};

/// The settings of the search (statsforecast's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Settings {
    pub max_p: usize,
    pub max_q: usize,
    pub max_sp: usize,
    pub max_sq: usize,
    pub max_order: usize,
    pub max_d: usize,
    pub max_sd: usize,
    pub start_p: usize,
    pub start_q: usize,
    pub start_sp: usize,
    pub start_sq: usize,
    pub nmodels: usize,
    pub allow_drift: bool,
    pub allow_mean: bool,
    /// `None`: approximate (CSS) when `n > 150` or the season exceeds 12 (`auto_arima_f`'s
    /// default); statsforecast's `AutoARIMA` model passes `Some(false)`.
    pub approximation: Option<bool>,
    pub diffuse: Diffuse,
    /// Keeps every candidate's MA roots outside this radius while it is fitted (the
    /// optimiser works on transformed MA coefficients, as on the AR ones). `None` fits
    /// them unconstrained, as statsforecast and R do; the search then throws away every
    /// model whose likelihood peaks at an MA root within 1.01 of the unit circle, however
    /// close its constrained twin would have come. The default, `Some(1.01)`, keeps those
    /// models in the race (on the yearly public series of `scripts/forecast_peers.py`:
    /// relative MASE 0.241 against 0.248 unconstrained and statsforecast's 0.244).
    pub ma_radius: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_p: 5,
            max_q: 5,
            max_sp: 2,
            max_sq: 2,
            max_order: 5,
            max_d: 2,
            max_sd: 1,
            start_p: 2,
            start_q: 2,
            start_sp: 1,
            start_sq: 1,
            nmodels: 94,
            allow_drift: true,
            allow_mean: true,
            approximation: Some(false),
            diffuse: Diffuse::Exact,
            ma_radius: Some(MIN_ROOT),
        }
    }
}

/// The outcome of the search.
#[derive(Debug, Clone)]
pub(crate) enum Chosen {
    /// A constant series, forecast flat with no uncertainty.
    Constant,
    /// A fitted model.
    Model(Box<ArimaFit>),
}

/// Why the search found nothing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SearchError {
    /// Nothing left after differencing.
    NotEnoughData,
    /// No candidate had a finite information criterion.
    NoSuitableModel,
}

fn is_constant(x: &[f64]) -> bool {
    x.iter().all(|v| *v == x[0])
}

/// `x[t] − x[t − lag]`, `differences` times, without the leading NaNs (statsforecast's
/// `diff`).
pub(crate) fn diff(x: &[f64], lag: usize, differences: usize) -> Vec<f64> {
    let mut y = x.to_vec();
    for _ in 0..differences {
        if y.len() <= lag {
            return Vec::new();
        }
        y = (lag..y.len()).map(|t| y[t] - y[t - lag]).collect();
    }
    y
}

/// The KPSS level-stationarity statistic (statsmodels' `kpss(x, "c", nlags)`).
pub(crate) fn kpss_stat(x: &[f64], nlags: usize) -> f64 {
    let n = x.len();
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let resid: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let mut cum = 0.0;
    let mut eta = 0.0;
    for r in &resid {
        cum += r;
        eta += cum * cum;
    }
    eta /= nf * nf;
    let mut s_hat: f64 = resid.iter().map(|r| r * r).sum();
    for i in 1..=nlags.min(n.saturating_sub(1)) {
        let xprod: f64 = resid[..n - i]
            .iter()
            .zip(&resid[i..])
            .map(|(a, b)| a * b)
            .sum();
        s_hat += 2.0 * xprod * (1.0 - i as f64 / (nlags as f64 + 1.0));
    }
    s_hat /= nf;
    eta / s_hat
}

/// statsforecast's `ndiffs`: repeated KPSS tests at 5% (the p-value interpolated in
/// statsmodels' table is below 0.05 exactly when the statistic exceeds 0.463).
pub(crate) fn ndiffs(x: &[f64], max_d: usize) -> usize {
    let mut x = x.to_vec();
    let mut d = 0;
    if x.is_empty() || is_constant(&x) {
        return d;
    }
    let test = |x: &[f64]| -> bool {
        let nlags = (3.0 * (x.len() as f64).sqrt() / 13.0).floor() as usize;
        let stat = kpss_stat(x, nlags);
        // statsmodels interpolates the p-value in [0.347, 0.463, 0.574, 0.739] ↦
        // [0.10, 0.05, 0.025, 0.01]; a NaN statistic counts as "no difference".
        stat > 0.463
    };
    let mut dodiff = test(&x);
    while dodiff && d < max_d {
        d += 1;
        // statsforecast drops one more observation than the difference does
        // (`diff(x, 1, 1)[1:]`).
        x = diff(&x, 1, 1);
        if !x.is_empty() {
            x.remove(0);
        }
        if x.is_empty() || is_constant(&x) {
            return d;
        }
        dodiff = test(&x);
    }
    d
}

/// statsforecast's seasonal strength heuristic (`seas_heuristic`): an STL decomposition
/// (`mstl` with one season: seasonal window 11, seasonal degree 0, statsmodels' other
/// defaults), strength `max(0, min(1, 1 − var(remainder)/var(remainder + seasonal)))`.
pub(crate) fn seasonal_strength(x: &[f64], m: usize) -> Option<f64> {
    let seasonal = 11usize;
    let mut trend = (1.5 * m as f64 / (1.0 - 1.5 / seasonal as f64)).ceil() as usize;
    if trend.is_multiple_of(2) {
        trend += 1;
    }
    let mut low_pass = m + 1;
    if low_pass.is_multiple_of(2) {
        low_pass += 1;
    }
    let fit = stlrs::params()
        .seasonal_length(seasonal)
        .trend_length(trend)
        .low_pass_length(low_pass)
        .seasonal_degree(0)
        .trend_degree(1)
        .low_pass_degree(1)
        .seasonal_jump(1)
        .trend_jump(1)
        .low_pass_jump(1)
        .inner_loops(2)
        .outer_loops(0)
        .robust(false)
        .fit(x, m)
        .ok()?;
    let var = |v: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = v.collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / (n - 1.0)
    };
    let rem = fit.remainder();
    let vare = var(&mut rem.iter().copied());
    let vars = var(&mut rem.iter().zip(fit.seasonal()).map(|(r, s)| r + s));
    Some((1.0 - vare / vars).clamp(0.0, 1.0))
}

/// statsforecast's `nsdiffs` with its default test (seasonal strength above 0.64).
pub(crate) fn nsdiffs(x: &[f64], m: usize, max_sd: usize) -> usize {
    let mut sd = 0;
    if is_constant(x) || m < 2 || m >= x.len() {
        return sd;
    }
    let test = |x: &[f64]| seasonal_strength(x, m).is_some_and(|s| s > 0.64);
    let mut dodiff = test(x);
    let mut x = x.to_vec();
    while dodiff && sd < max_sd {
        sd += 1;
        x = diff(&x, m, 1);
        if is_constant(&x) {
            return sd;
        }
        dodiff = x.len() >= 2 * m && sd < max_sd && test(&x);
    }
    sd
}

/// `myarima`: one candidate, with its information criterion (`f64::INFINITY` when it
/// cannot be fitted or has roots too close to the unit circle).
struct Candidate {
    fit: Option<ArimaFit>,
    ic: f64,
}

#[allow(clippy::too_many_arguments)]
fn myarima(
    x: &[f64],
    (p, d, q): (usize, usize, usize),
    (sp, sd, sq): (usize, usize, usize),
    m: usize,
    constant: bool,
    approximation: bool,
    offset: f64,
    diffuse: Diffuse,
    ma_radius: Option<f64>,
) -> Candidate {
    let diffs = d + sd;
    let spec = Spec {
        orders: Orders {
            p,
            q,
            sp,
            sq,
            m,
            d,
            sd,
        },
        intercept: constant && diffs == 0,
        drift: constant && diffs == 1,
    };
    let method = if approximation {
        Method::Css
    } else {
        Method::CssMl
    };
    let Some(mut f) = fit_with(x, &spec, method, None, diffuse, ma_radius) else {
        return Candidate {
            fit: None,
            ic: f64::INFINITY,
        };
    };
    finish(&mut f, x.len(), approximation.then_some(offset));
    let mut ic = f.aicc;
    if !ic.is_finite() && ic.is_nan() {
        ic = f64::INFINITY;
    }
    // Roots: statsforecast rejects a model with a root of its AR or MA polynomial within
    // 1.01 of the origin. It checks the expanded polynomials only when their last
    // non-zero coefficient is beyond the first (its 0-based port of R's
    // `last.nonzero > 0`), so a lone AR(1) or MA(1) coefficient is never checked.
    let mut too_close = false;
    if p + sp > 0 {
        too_close |= !roots_outside(&f.ss.phi, -1.0, MIN_ROOT);
    }
    if q + sq > 0 && ic < f64::INFINITY {
        too_close |= !roots_outside(&f.ss.theta, 1.0, MIN_ROOT);
    }
    if too_close {
        ic = f64::INFINITY;
    }
    Candidate { fit: Some(f), ic }
}

/// The smallest root modulus statsforecast accepts.
const MIN_ROOT: f64 = 1.01;

/// Whether every root of `1 + sign·(c₁z + c₂z² + …)` (truncated after its last
/// coefficient above 10⁻⁸ in modulus) lies outside the circle of `radius`; `true` when
/// that last coefficient is the first or there is none (statsforecast's check).
///
/// Instead of computing the roots, the polynomial is rescaled to `z = radius·w` and tested
/// for stationarity by the step-down (Schur-Cohn) recursion: its roots in `w` lie outside
/// the unit circle exactly when every partial autocorrelation is below 1 in modulus.
pub(crate) fn roots_outside(coefs: &[f64], sign: f64, radius: f64) -> bool {
    let Some(last) = coefs.iter().rposition(|c| c.abs() > 1e-8) else {
        return true;
    };
    if last == 0 {
        return true;
    }
    // As an AR polynomial 1 − Σ a_j w^j: a_j = −sign·c_j·radius^j.
    let mut a: Vec<f64> = coefs[..=last]
        .iter()
        .enumerate()
        .map(|(j, c)| -sign * c * radius.powi(j as i32 + 1))
        .collect();
    if a.iter().any(|v| !v.is_finite()) {
        return false;
    }
    let mut work = a.clone();
    for j in (0..a.len()).rev() {
        let k = a[j];
        if k.abs() >= 1.0 {
            return false;
        }
        for i in 0..j {
            work[i] = (a[i] + k * a[j - i - 1]) / (1.0 - k * k);
        }
        a[..j].copy_from_slice(&work[..j]);
    }
    true
}

/// `auto_arima_f` with statsforecast's defaults for a series without missing values.
pub(crate) fn auto_arima(x: &[f64], period: usize, s: &Settings) -> Result<Chosen, SearchError> {
    let n = x.len();
    if is_constant(x) {
        // statsforecast fits ARIMA(0,0,0) with the mean fixed and forecasts the constant.
        return Ok(Chosen::Constant);
    }
    let m = period.max(1);
    let diffuse = s.diffuse;
    let approximation = s.approximation.unwrap_or(n > 150 || period > 12);
    let mut max_p = s.max_p.min(n / 3);
    let mut max_q = s.max_q.min(n / 3);
    let mut max_sp = s.max_sp.min(n / 3 / m);
    let mut max_sq = s.max_sq.min(n / 3 / m);
    // (statsforecast switches to the AIC for n ≤ 3; with one or two free parameters the
    // AICc is then infinite or negative. Kept: the AICc, see `ic` below.)
    let use_aic = n <= 3;
    let sd = if m == 1 {
        max_sp = 0;
        max_sq = 0;
        0
    } else if n <= 2 * m {
        0
    } else {
        let mut sd = nsdiffs(x, m, s.max_sd);
        if sd > 0 && diff(x, m, sd).is_empty() {
            sd -= 1;
        }
        sd
    };
    let dx = if sd > 0 { diff(x, m, sd) } else { x.to_vec() };
    let mut d = ndiffs(&dx, s.max_d);
    if d > 0 && diff(&dx, 1, d).is_empty() {
        d -= 1;
    }
    let dx = if d > 0 { diff(&dx, 1, d) } else { dx };
    if dx.is_empty() {
        return Err(SearchError::NotEnoughData);
    }
    if is_constant(&dx) {
        // A polynomial trend (plus an exact season): statsforecast fits it with fixed
        // coefficients.
        let (orders, constant) = (
            Orders {
                p: 0,
                q: 0,
                sp: 0,
                sq: 0,
                m,
                d,
                sd,
            },
            true,
        );
        let mean_dx = dx.iter().sum::<f64>() / dx.len() as f64;
        let (spec, fixed) = if sd > 0 && d == 0 {
            (
                Spec {
                    orders,
                    intercept: false,
                    drift: constant,
                },
                Some(mean_dx / m as f64),
            )
        } else if sd > 0 || d == 2 {
            (
                Spec {
                    orders,
                    intercept: false,
                    drift: false,
                },
                None,
            )
        } else {
            (
                Spec {
                    orders,
                    intercept: d == 0,
                    drift: d == 1,
                },
                Some(mean_dx),
            )
        };
        let mut f =
            fit(x, &spec, Method::Ml, fixed, diffuse).ok_or(SearchError::NoSuitableModel)?;
        finish(&mut f, n, None);
        return Ok(Chosen::Model(Box::new(f)));
    }
    if m > 1 {
        if max_p > 0 {
            max_p = max_p.min(m - 1);
        }
        if max_q > 0 {
            max_q = max_q.min(m - 1);
        }
    }
    let offset = if approximation {
        let spec = Spec {
            orders: Orders {
                p: 0,
                q: 0,
                sp: 0,
                sq: 0,
                m,
                d,
                sd,
            },
            intercept: d + sd == 0,
            drift: false,
        };
        match fit(x, &spec, Method::Css, None, diffuse) {
            Some(f) if f.css_sigma2 > 0.0 => -2.0 * f.loglik - n as f64 * f.css_sigma2.ln(),
            _ => 0.0,
        }
    } else {
        0.0
    };
    let allow_drift = s.allow_drift && d + sd == 1;
    let allow_mean = s.allow_mean && d + sd == 0;
    let mut constant = allow_drift || allow_mean;

    let (mut start_p, mut start_q, mut start_sp, mut start_sq) =
        (s.start_p, s.start_q, s.start_sp, s.start_sq);
    if n < 10 {
        start_p = start_p.min(1);
        start_q = start_q.min(1);
        start_sp = 0;
        start_sq = 0;
    }
    let (mut p, mut q, mut sp, mut sq) = (
        start_p.min(max_p),
        start_q.min(max_q),
        start_sp.min(max_sp),
        start_sq.min(max_sq),
    );

    let ic_of = |c: &Candidate| -> f64 {
        match (&c.fit, use_aic) {
            (Some(f), true) if c.ic.is_finite() => f.aic,
            _ => c.ic,
        }
    };
    let try_fit = |p, q, sp, sq, constant| {
        let c = myarima(
            x,
            (p, d, q),
            (sp, sd, sq),
            m,
            constant,
            approximation,
            offset,
            diffuse,
            s.ma_radius,
        );
        let ic = ic_of(&c);
        (c, ic)
    };
    // (p, q, P, Q, constant, ic) of every model tried.
    let mut results: Vec<(usize, usize, usize, usize, bool, f64)> = Vec::with_capacity(s.nmodels);
    let (first, ic) = try_fit(p, q, sp, sq, constant);
    results.push((p, q, sp, sq, constant, ic));
    let mut best = first;
    let mut best_ic = ic;
    let (c, ic) = try_fit(0, 0, 0, 0, constant);
    results.push((0, 0, 0, 0, constant, ic));
    if ic < best_ic {
        (best, best_ic) = (c, ic);
        (p, q, sp, sq) = (0, 0, 0, 0);
    }
    if max_p > 0 || max_sp > 0 {
        let p_ = usize::from(max_p > 0);
        let sp_ = usize::from(m > 1 && max_sp > 0);
        let (c, ic) = try_fit(p_, 0, sp_, 0, constant);
        results.push((p_, 0, sp_, 0, constant, ic));
        if ic < best_ic {
            (best, best_ic) = (c, ic);
            (p, sp, q, sq) = (p_, sp_, 0, 0);
        }
    }
    if max_q > 0 || max_sq > 0 {
        let q_ = usize::from(max_q > 0);
        let sq_ = usize::from(m > 1 && max_sq > 0);
        let (c, ic) = try_fit(0, q_, 0, sq_, constant);
        results.push((0, q_, 0, sq_, constant, ic));
        if ic < best_ic {
            (best, best_ic) = (c, ic);
            (p, sp, q, sq) = (0, 0, q_, sq_);
        }
    }
    if constant {
        let (c, ic) = try_fit(0, 0, 0, 0, false);
        results.push((0, 0, 0, 0, false, ic));
        if ic < best_ic {
            (best, best_ic) = (c, ic);
            (p, q, sp, sq) = (0, 0, 0, 0);
        }
    }

    let mut startk = 0;
    while startk < results.len() && results.len() < s.nmodels {
        startk = results.len();
        // The neighbours in statsforecast's order: (Δp, Δq, ΔP, ΔQ, flip constant).
        let moves: [(isize, isize, isize, isize, bool); 17] = [
            (0, 0, -1, 0, false),
            (0, 0, 0, -1, false),
            (0, 0, 1, 0, false),
            (0, 0, 0, 1, false),
            (0, 0, -1, -1, false),
            (0, 0, -1, 1, false),
            (0, 0, 1, -1, false),
            (0, 0, 1, 1, false),
            (-1, 0, 0, 0, false),
            (0, -1, 0, 0, false),
            (1, 0, 0, 0, false),
            (0, 1, 0, 0, false),
            (-1, -1, 0, 0, false),
            (-1, 1, 0, 0, false),
            (1, -1, 0, 0, false),
            (1, 1, 0, 0, false),
            (0, 0, 0, 0, true),
        ];
        for (dp, dq, dsp, dsq, flip) in moves {
            let step = |v: usize, dv: isize, max: usize| -> Option<usize> {
                let nv = v as isize + dv;
                (nv >= 0 && nv as usize <= max).then_some(nv as usize)
            };
            let (Some(np), Some(nq), Some(nsp), Some(nsq)) = (
                step(p, dp, max_p),
                step(q, dq, max_q),
                step(sp, dsp, max_sp),
                step(sq, dsq, max_sq),
            ) else {
                continue;
            };
            if flip && !(allow_drift || allow_mean) {
                continue;
            }
            let nc = if flip { !constant } else { constant };
            if results
                .iter()
                .any(|r| (r.0, r.1, r.2, r.3, r.4) == (np, nq, nsp, nsq, nc))
            {
                continue;
            }
            if results.len() >= s.nmodels {
                break;
            }
            // statsforecast tries the model and counts it whatever `max_order` says.
            let (c, ic) = try_fit(np, nq, nsp, nsq, nc);
            results.push((np, nq, nsp, nsq, nc, ic));
            if ic < best_ic {
                (best, best_ic) = (c, ic);
                (p, q, sp, sq, constant) = (np, nq, nsp, nsq, nc);
                break;
            }
        }
    }

    if approximation && best.fit.is_some() {
        // Re-fit the candidates without approximation, best first, until one is finite.
        let mut order: Vec<usize> = (0..results.len()).collect();
        order.sort_by(|&a, &b| results[a].5.total_cmp(&results[b].5));
        for i in order {
            let (p, q, sp, sq, c, _) = results[i];
            let cand = myarima(
                x,
                (p, d, q),
                (sp, sd, sq),
                m,
                c,
                false,
                0.0,
                diffuse,
                s.ma_radius,
            );
            let ic = ic_of(&cand);
            if ic < f64::INFINITY {
                best = cand;
                best_ic = ic;
                break;
            }
        }
    }
    match best.fit {
        Some(f) if best_ic < f64::INFINITY || !approximation && best_ic.is_finite() => {
            Ok(Chosen::Model(Box::new(f)))
        }
        Some(f) if best_ic.is_finite() => Ok(Chosen::Model(Box::new(f))),
        _ => Err(SearchError::NoSuitableModel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_check_agrees_with_the_roots() {
        // 1 − 1.5z + 0.56z² = (1 − 0.7z)(1 − 0.8z): roots 1.43 and 1.25.
        assert!(roots_outside(&[1.5, -0.56], -1.0, 1.01));
        assert!(!roots_outside(&[1.5, -0.56], -1.0, 1.3));
        // 1 + 0.2z − 0.99z²: roots 1.11 and −0.91.
        assert!(!roots_outside(&[0.2, -0.99], 1.0, 1.01));
        // (1 − 0.995z)(1 + 0.5z) = 1 − 0.495z − 0.4975z²: a root at 1.005 < 1.01.
        assert!(!roots_outside(&[0.495, 0.4975], -1.0, 1.01));
        assert!(roots_outside(&[0.495, 0.4975], -1.0, 1.0));
        // A lone first coefficient is not checked (statsforecast's behaviour).
        assert!(roots_outside(&[5.0], -1.0, 1.01));
        assert!(roots_outside(&[], 1.0, 1.01));
    }

    #[test]
    fn kpss_statistic_matches_statsmodels() {
        // statsmodels 0.15: `kpss(np.arange(20.0) % 7, "c", nlags=1)[0]`.
        let x: Vec<f64> = (0..20).map(|i| (i % 7) as f64).collect();
        let want = 0.111_972_207_375_734_92;
        assert!(
            (kpss_stat(&x, 1) - want).abs() < 1e-12,
            "{}",
            kpss_stat(&x, 1)
        );
    }
}
