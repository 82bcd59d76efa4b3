//! The ETS recursions (one pass over the series for a likelihood), the heuristic initial
//! states, and the admissibility test, as in R's `forecast` (`etscalc`, `initstate`,
//! `admissible`) and statsforecast's port of them.
//!
//! States are kept in a ring: `ring[p]` is the latest seasonal component of the periods
//! `t ≡ p (mod m)`, updated in place, so a step costs O(1) whatever the season length.

use super::{ErrorType, EtsSpec, SeasonType, TrendType};

/// Below this a divisor counts as zero (R's `TOL`).
const TOL: f64 = 1e-10;
/// What a division by a zero divisor gives instead (R's `HUGEN`).
const HUGEN: f64 = 1e10;
/// The likelihood's floor: a perfect fit would make `n·ln(SSE)` minus infinity (R caps it).
pub(crate) const LIK_FLOOR: f64 = -1e10;

/// Smoothing weights as the recursions use them: `beta = 0` without trend, `gamma = 0`
/// without season, `phi = 1` without damping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Weights {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

/// Runs the state-space recursions over `y` from the states in `level`, `trend` and `ring`
/// (left holding the final states) and returns R's `lik`: `n·ln(Σe²)`, plus `2·Σln|ŷ|`
/// for multiplicative errors (`e` is the relative error there). With `RECORD`, the
/// one-step forecasts are written to `fitted`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn run<const MULT_ERR: bool, const TREND: bool, const SEASON: u8, const RECORD: bool>(
    y: &[f64],
    w: Weights,
    level: &mut f64,
    trend: &mut f64,
    ring: &mut [f64],
    fitted: &mut [f64],
) -> f64 {
    let Weights {
        alpha,
        beta,
        gamma,
        phi,
    } = w;
    let m = ring.len();
    let (keep_l, keep_lb, keep_b) = (1.0 - alpha, (1.0 - alpha) * phi, phi * (1.0 - beta));
    let (mut l, mut b) = (*level, *trend);
    let mut sse = 0.0;
    // Σ ln|ŷ| as the log of a running product, renormalised before it leaves the range
    // of f64: one logarithm per ~100 steps instead of one per step.
    let mut log_sum = 0.0;
    let mut prod = 1.0_f64;
    let mut j = 0;
    for (t, &yt) in y.iter().enumerate() {
        let phib = if TREND { phi * b } else { 0.0 };
        let q = l + phib;
        let s = if SEASON != 0 { ring[j] } else { 0.0 };
        let f = match SEASON {
            0 => q,
            1 => q + s,
            _ => q * s,
        };
        let e = if MULT_ERR { (yt - f) / f } else { yt - f };
        sse += e * e;
        if MULT_ERR {
            prod *= f.abs();
            if !(1e-150..=1e150).contains(&prod) {
                log_sum += prod.ln();
                prod = 1.0;
            }
        }
        if RECORD {
            fitted[t] = f;
        }
        let p = match SEASON {
            0 => yt,
            1 => yt - s,
            _ if s.abs() < TOL => HUGEN,
            _ => yt / s,
        };
        // R's l = q + α(p − q) and b = φb + β(p − q) (R writes (β/α)(l_t − l_{t−1} − φb),
        // the same), expanded so that the chain from one step's states to the next is one
        // multiplication and two additions long instead of five operations.
        let l_next = if TREND {
            (keep_l * l + keep_lb * b) + alpha * p
        } else {
            keep_l * l + alpha * p
        };
        if TREND {
            b = (keep_b * b - beta * l) + beta * p;
        }
        l = l_next;
        if SEASON != 0 {
            let target = match SEASON {
                1 => yt - q,
                _ if q.abs() < TOL => HUGEN,
                _ => yt / q,
            };
            ring[j] = s + gamma * (target - s);
            j += 1;
            if j == m {
                j = 0;
            }
        }
    }
    *level = l;
    *trend = b;
    let mut lik = y.len() as f64 * sse.ln();
    if MULT_ERR {
        lik += 2.0 * (log_sum + prod.ln());
    }
    lik
}

/// [`run`] for a form given at run time (24 monomorphic loops behind one match).
pub(crate) fn recurse(
    spec: EtsSpec,
    y: &[f64],
    w: Weights,
    level: &mut f64,
    trend: &mut f64,
    ring: &mut [f64],
    fitted: Option<&mut [f64]>,
) -> f64 {
    macro_rules! go {
        ($me:literal, $tr:literal, $se:literal) => {
            match fitted {
                Some(out) => run::<$me, $tr, $se, true>(y, w, level, trend, ring, out),
                None => run::<$me, $tr, $se, false>(y, w, level, trend, ring, &mut []),
            }
        };
    }
    let mult = spec.error == ErrorType::Multiplicative;
    let trended = spec.trend != TrendType::None;
    match (mult, trended, spec.season) {
        (false, false, SeasonType::None) => go!(false, false, 0),
        (false, false, SeasonType::Additive) => go!(false, false, 1),
        (false, false, SeasonType::Multiplicative) => go!(false, false, 2),
        (false, true, SeasonType::None) => go!(false, true, 0),
        (false, true, SeasonType::Additive) => go!(false, true, 1),
        (false, true, SeasonType::Multiplicative) => go!(false, true, 2),
        (true, false, SeasonType::None) => go!(true, false, 0),
        (true, false, SeasonType::Additive) => go!(true, false, 1),
        (true, false, SeasonType::Multiplicative) => go!(true, false, 2),
        (true, true, SeasonType::None) => go!(true, true, 0),
        (true, true, SeasonType::Additive) => go!(true, true, 1),
        (true, true, SeasonType::Multiplicative) => go!(true, true, 2),
    }
}

/// Whether the characteristic polynomial `Σ a[k]·z^k` has all its roots in the closed
/// disk `|z| ≤ radius`: the Schur-Cohn recursion, O(d²) and allocation-free given `work`
/// (at least `a.len()` long). `a` is overwritten.
fn roots_within(a: &mut [f64], work: &mut [f64], radius: f64) -> bool {
    // Roots of p(r·z) are the roots of p divided by r: test them strictly inside |z| < 1.
    let mut rk = 1.0;
    for c in a.iter_mut() {
        *c *= rk;
        rk *= radius;
    }
    let mut d = a.len() - 1;
    while d > 0 {
        let (a0, ad) = (a[0], a[d]);
        if a0.abs() >= ad.abs() || ad.is_nan() {
            return false;
        }
        // q(z) = (a_d·p(z) − a_0·p*(z)) / z has the same number of roots inside the disk,
        // with degree d − 1.
        for k in 0..d {
            work[k] = ad * a[k + 1] - a0 * a[d - 1 - k];
        }
        let lead = work[d - 1];
        for k in 0..d {
            a[k] = work[k] / lead;
        }
        d -= 1;
    }
    true
}

/// Hyndman et al. (2008, ch. 10) admissibility of a seasonal model's weights (R's
/// `admissible`), with `work` a scratch buffer of at least `2·(m + 2)` values.
pub(crate) fn admissible_seasonal(w: Weights, m: usize, work: &mut [f64]) -> bool {
    let Weights {
        alpha,
        beta,
        gamma,
        phi,
    } = w;
    let mf = m as f64;
    if !(0.0..=1.0 + 1e-8).contains(&phi) {
        return false;
    }
    if gamma < (1.0 - 1.0 / phi - alpha).max(0.0) || gamma > 1.0 + 1.0 / phi - alpha {
        return false;
    }
    if alpha < 1.0 - 1.0 / phi - gamma * (1.0 - mf + phi + phi * mf) / (2.0 * phi * mf) {
        return false;
    }
    if beta < -(1.0 - phi) * (gamma / mf + alpha) {
        return false;
    }
    let (p, rest) = work.split_at_mut(m + 2);
    p[0] = phi * (1.0 - alpha - gamma);
    p[1] = alpha + beta - alpha * phi + gamma - 1.0;
    for c in &mut p[2..m] {
        *c = alpha + beta - alpha * phi;
    }
    p[m] = alpha + beta - phi;
    p[m + 1] = 1.0;
    roots_within(p, rest, 1.0 + 1e-10)
}

/// Least squares of `y` on the columns of `x` (row-major, `k ≤ 4` columns) through the
/// normal equations; `None` if they are singular.
fn least_squares<const K: usize>(rows: impl Iterator<Item = ([f64; K], f64)>) -> Option<[f64; K]> {
    let mut a = [[0.0; K]; K];
    let mut r = [0.0; K];
    for (x, y) in rows {
        for i in 0..K {
            r[i] += x[i] * y;
            for j in 0..K {
                a[i][j] += x[i] * x[j];
            }
        }
    }
    // Gaussian elimination with partial pivoting.
    for c in 0..K {
        let piv = (c..K).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[piv][c].abs() < 1e-12 * a[c][c].abs().max(1.0) {
            return None;
        }
        a.swap(c, piv);
        r.swap(c, piv);
        let pivot_row = a[c];
        for i in c + 1..K {
            let f = a[i][c] / pivot_row[c];
            for (aij, acj) in a[i][c..].iter_mut().zip(&pivot_row[c..]) {
                *aij -= f * acj;
            }
            r[i] -= f * r[c];
        }
    }
    let mut x = [0.0; K];
    for c in (0..K).rev() {
        let s: f64 = (c + 1..K).map(|j| a[c][j] * x[j]).sum();
        x[c] = (r[c] - s) / a[c][c];
    }
    Some(x)
}

/// The seasonal component of a classical decomposition of the whole series, one value per
/// position `0..m` (statsmodels' `seasonal_decompose`, which statsforecast's `initstate`
/// calls): a centred 2×m (even `m`) or m (odd) moving average as the trend, the detrended
/// series averaged per position, the averages centred (additive) or scaled to mean 1.
fn decompose_seasonal(y: &[f64], m: usize, multiplicative: bool) -> Vec<f64> {
    let n = y.len();
    let half = m / 2;
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n.saturating_sub(half) {
        let trend = if m.is_multiple_of(2) {
            let inner: f64 = y[t + 1 - half..t + half].iter().sum();
            (inner + 0.5 * (y[t - half] + y[t + half])) / m as f64
        } else {
            y[t - half..=t + half].iter().sum::<f64>() / m as f64
        };
        let detrended = if multiplicative {
            y[t] / trend
        } else {
            y[t] - trend
        };
        sums[t % m] += detrended;
        counts[t % m] += 1;
    }
    let mut avg: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
        .collect();
    let mean = avg.iter().sum::<f64>() / m as f64;
    for a in &mut avg {
        if multiplicative {
            *a /= mean;
        } else {
            *a -= mean;
        }
    }
    avg
}

/// The heuristic initial states of R's / statsforecast's `initstate`: `(level, trend,
/// seasonal by position 0..m)` (`trend` 0 without trend, `seasonal` empty without season).
///
/// Seasonal forms: with three seasons or more, a classical decomposition; with fewer, a
/// regression on a trend and one Fourier pair. Then a line (or the mean, without trend)
/// through the first `max(10, 2m)` seasonally adjusted observations.
pub(crate) fn initial_states(y: &[f64], spec: EtsSpec, m: usize) -> (f64, f64, Vec<f64>) {
    let n = y.len();
    let mult = spec.season == SeasonType::Multiplicative;
    // The seasonal component at every t (periodic after a decomposition, not after the
    // Fourier regression).
    let (seas, m): (Vec<f64>, usize) = if spec.season == SeasonType::None {
        (Vec::new(), 1)
    } else if n < 3 * m {
        let omega = 2.0 * std::f64::consts::PI / m as f64;
        let rows = |t: usize| {
            let tf = (t + 1) as f64;
            [1.0, tf, (omega * tf).cos(), (omega * tf).sin()]
        };
        // With m = 2 the sine column is zero: leave it out.
        let coef = if m == 2 {
            least_squares::<3>((0..n).map(|t| {
                let r = rows(t);
                ([r[0], r[1], r[2]], y[t])
            }))
            .map(|c| [c[0], c[1]])
        } else {
            least_squares::<4>((0..n).map(|t| (rows(t), y[t]))).map(|c| [c[0], c[1]])
        };
        let [c0, c1] = coef.unwrap_or([y.iter().sum::<f64>() / n as f64, 0.0]);
        let s = (0..n)
            .map(|t| {
                let line = c0 + c1 * (t + 1) as f64;
                if mult { y[t] / line } else { y[t] - line }
            })
            .collect();
        (s, m)
    } else {
        let avg = decompose_seasonal(y, m, mult);
        ((0..n).map(|t| avg[t % m]).collect(), m)
    };
    let mut seasonal = seas[..m.min(seas.len())].to_vec();
    let mut seas = seas;
    if mult {
        // Positions 1..m are the free states; R clips them and rescales them if their sum
        // exceeds m.
        for s in &mut seasonal[1..] {
            *s = s.max(1e-2);
        }
        let sum: f64 = seasonal[1..].iter().sum();
        if sum > m as f64 {
            let scale: f64 = seasonal[1..].iter().map(|s| s + 1e-2).sum();
            for s in &mut seasonal[1..] {
                *s /= scale;
            }
        }
        for d in &mut seas {
            *d = d.max(1e-2);
        }
    }
    let maxn = (2 * m).max(10).min(n);
    let adjusted = |t: usize| match spec.season {
        SeasonType::None => y[t],
        SeasonType::Additive => y[t] - seas[t],
        SeasonType::Multiplicative => y[t] / seas[t],
    };
    let (level, trend) = if spec.trend == TrendType::None {
        ((0..maxn).map(adjusted).sum::<f64>() / maxn as f64, 0.0)
    } else {
        let fit = least_squares::<2>((0..maxn).map(|t| ([1.0, (t + 1) as f64], adjusted(t))));
        let [mut l, mut b] = fit.unwrap_or([adjusted(0), 0.0]);
        // Multiplicative errors must not start from a zero forecast.
        if (l + b).abs() < 1e-8 {
            l *= 1.0 + 1e-3;
            b *= 1.0 - 1e-3;
        }
        (l, b)
    };
    (level, trend, seasonal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schur_cohn_agrees_with_known_roots() {
        let mut work = [0.0; 8];
        // (z − 0.5)(z + 0.9) = z² + 0.4z − 0.45: roots 0.5 and −0.9, inside.
        assert!(roots_within(&mut [-0.45, 0.4, 1.0], &mut work, 1.0));
        // (z − 1.1)(z − 0.2) = z² − 1.3z + 0.22: 1.1 is outside.
        assert!(!roots_within(&mut [0.22, -1.3, 1.0], &mut work, 1.0));
        // z² + 0.81: roots ±0.9i inside; z² + 1.21: ±1.1i outside.
        assert!(roots_within(&mut [0.81, 0.0, 1.0], &mut work, 1.0));
        assert!(!roots_within(&mut [1.21, 0.0, 1.0], &mut work, 1.0));
        // (z − 1)(z − 0.5): a root on the circle passes with a radius just above 1.
        assert!(roots_within(&mut [0.5, -1.5, 1.0], &mut work, 1.0 + 1e-10));
    }

    #[test]
    fn admissibility_matches_statsforecast() {
        // statsforecast 2.1.1 (`from statsforecast.ets import admissible`), on weights drawn
        // with numpy's default_rng(7): a, b, g = uniform(0, 1.2, 3); b *= a;
        // phi = uniform(0.8, 1); m in [2, 4, 7, 12, 24]; expected = admissible(a, b, g, phi, m)
        let cases = [
            (0.75, 0.808, 0.931, 0.845, 2, false),
            (1.048, 0.007, 0.985, 0.959, 4, false),
            (0.562, 0.204, 0.334, 0.851, 24, false),
            (0.605, 0.402, 1.195, 0.959, 7, false),
            (0.747, 0.886, 0.258, 0.832, 24, false),
            (0.053, 0.002, 0.618, 0.893, 12, true),
            (1.101, 0.831, 0.617, 0.899, 4, false),
            (0.014, 0.003, 0.83, 0.84, 4, true),
            (0.443, 0.002, 0.996, 0.831, 7, true),
            (1.056, 0.646, 1.017, 0.928, 4, false),
            (0.89, 0.098, 0.649, 0.902, 12, false),
            (0.434, 0.311, 0.071, 0.878, 24, false),
            (0.388, 0.07, 0.98, 0.876, 7, true),
            (0.708, 0.514, 0.766, 0.935, 24, false),
            (0.181, 0.096, 0.287, 0.88, 24, false),
            (1.161, 0.3, 0.806, 0.86, 2, false),
            (0.3, 0.1, 0.2, 0.9, 12, true),
        ];
        let mut work = [0.0; 64];
        for (alpha, beta, gamma, phi, m, expected) in cases {
            let w = Weights {
                alpha,
                beta,
                gamma,
                phi,
            };
            assert_eq!(
                admissible_seasonal(w, m, &mut work),
                expected,
                "{alpha} {beta} {gamma} {phi} {m}"
            );
        }
    }
}
