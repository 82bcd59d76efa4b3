//! Forecast variances of the ETS models, Hyndman et al. (2008), *Forecasting with
//! Exponential Smoothing*, ch. 6:
//!
//! - class 1 (additive errors, all linear): `v_h = σ²(1 + Σ_{j<h} c_j²)`, exact;
//! - class 2 (multiplicative errors, additive trend and season):
//!   `v_h = (1 + σ²)θ_h − μ_h²`, `θ_1 = μ_1²`, `θ_h = μ_h² + σ² Σ_{j<h} c_j² θ_{h−j}`, exact;
//! - class 3 (multiplicative errors and season): the moment recursion of section 6.5 on
//!   the Kronecker product of the level/trend and seasonal state vectors, exact for
//!   Gaussian errors,
//!
//! with `c_j = α + β(φ + … + φ^j) + γ·[j ≡ 0 mod m]`. (statsforecast 2.1.1 differs in two
//! places: its M,A,A `c_j` reads `α·β·j`, and its class-3 recursion never advances the
//! mean matrix; the formulas here follow the book.)

use super::{ErrorType, EtsSpec, SeasonType, TrendType};

/// The `c_j` of class 1 and 2, `j = 1..h` (index `j − 1`).
fn c_values(h: usize, m: usize, alpha: f64, beta: f64, gamma: f64, phi: f64) -> Vec<f64> {
    let mut phi_sum = 0.0;
    let mut phi_pow = 1.0;
    (1..=h)
        .map(|j| {
            phi_pow *= phi;
            phi_sum += phi_pow;
            let seasonal = if m > 1 && j % m == 0 { gamma } else { 0.0 };
            alpha + beta * phi_sum + seasonal
        })
        .collect()
}

/// The forecast variances `v_1..v_h` of a fitted model.
///
/// `mean` holds the point forecasts, `level`/`trend`/`seasonal` the final states
/// (`seasonal[j]` applies `j + 1` steps ahead), `sigma2` the innovation variance.
#[allow(clippy::too_many_arguments)]
pub(crate) fn variances(
    spec: EtsSpec,
    m: usize,
    (alpha, beta, gamma, phi): (f64, f64, f64, f64),
    sigma2: f64,
    mean: &[f64],
    level: f64,
    trend: f64,
    seasonal: &[f64],
) -> Vec<f64> {
    let h = mean.len();
    let c = c_values(h, m, alpha, beta, gamma, phi);
    match (spec.error, spec.season) {
        (ErrorType::Additive, _) => {
            let mut acc = 1.0;
            (0..h)
                .map(|i| {
                    if i > 0 {
                        acc += c[i - 1] * c[i - 1];
                    }
                    sigma2 * acc
                })
                .collect()
        }
        (ErrorType::Multiplicative, SeasonType::None | SeasonType::Additive) => {
            let mut theta = Vec::with_capacity(h);
            for k in 0..h {
                let s: f64 = (0..k).map(|j| c[j] * c[j] * theta[k - 1 - j]).sum();
                theta.push(mean[k] * mean[k] + sigma2 * s);
            }
            theta
                .iter()
                .zip(mean)
                .map(|(t, mu)| (1.0 + sigma2) * t - mu * mu)
                .collect()
        }
        (ErrorType::Multiplicative, SeasonType::Multiplicative) => class3(
            spec.trend != TrendType::None,
            m,
            (alpha, beta, gamma, phi),
            sigma2,
            h,
            level,
            trend,
            seasonal,
        ),
    }
}

/// A dense square matrix, row-major.
#[derive(Clone)]
struct Mat {
    n: usize,
    a: Vec<f64>,
}

impl Mat {
    fn zeros(n: usize) -> Mat {
        Mat {
            n,
            a: vec![0.0; n * n],
        }
    }
    fn at(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.n + j]
    }
    fn kron(x: &Mat, y: &Mat) -> Mat {
        let n = x.n * y.n;
        let mut k = Mat::zeros(n);
        for i1 in 0..x.n {
            for j1 in 0..x.n {
                let v = x.at(i1, j1);
                if v == 0.0 {
                    continue;
                }
                for i2 in 0..y.n {
                    for j2 in 0..y.n {
                        k.a[(i1 * y.n + i2) * n + j1 * y.n + j2] = v * y.at(i2, j2);
                    }
                }
            }
        }
        k
    }
    /// `self · s · other'`.
    fn sandwich(&self, s: &Mat, other: &Mat) -> Mat {
        let n = self.n;
        let mut tmp = Mat::zeros(n);
        for i in 0..n {
            for k in 0..n {
                let v = self.at(i, k);
                if v == 0.0 {
                    continue;
                }
                for j in 0..n {
                    tmp.a[i * n + j] += v * s.at(k, j);
                }
            }
        }
        let mut out = Mat::zeros(n);
        for i in 0..n {
            for j in 0..n {
                let mut acc = 0.0;
                for k in 0..n {
                    acc += tmp.at(i, k) * other.at(j, k);
                }
                out.a[i * n + j] = acc;
            }
        }
        out
    }
    fn mul_vec(&self, v: &[f64]) -> Vec<f64> {
        (0..self.n)
            .map(|i| (0..self.n).map(|j| self.at(i, j) * v[j]).sum())
            .collect()
    }
}

/// Class 3 (M,N,M, M,A,M, M,Ad,M). With `x` the level (and trend) vector and `z` the
/// seasonal vector (latest first), `y_t = (H₁x_{t−1})(H₂z_{t−1})(1 + ε_t)`,
/// `x_t = (F₁ + G₁ε_t)x_{t−1}`, `z_t = (F₂ + G₂ε_t)z_{t−1}`; `v = vec(x z')` evolves by
/// `A = F₂₁ + εK + ε²G₂₁` (`F₂₁ = F₂⊗F₁`, `G₂₁ = G₂⊗G₁`, `K = G₂⊗F₁ + F₂⊗G₁`), so its mean
/// `μ` and covariance `V` follow `μ' = (F₂₁ + σ²G₂₁)μ` and
/// `V' = F₂₁VF₂₁' + σ²[F₂₁VG₂₁' + G₂₁VF₂₁' + K(V + μμ')K' + σ²G₂₁(3V + 2μμ')G₂₁']`, and
/// `Var y = (1 + σ²)·H₂₁VH₂₁' + σ²(H₂₁μ)²`.
#[allow(clippy::too_many_arguments)]
fn class3(
    trended: bool,
    m: usize,
    (alpha, beta, gamma, phi): (f64, f64, f64, f64),
    sigma2: f64,
    h: usize,
    level: f64,
    trend: f64,
    seasonal: &[f64],
) -> Vec<f64> {
    let p1 = if trended { 2 } else { 1 };
    let (mut f1, mut g1) = (Mat::zeros(p1), Mat::zeros(p1));
    if trended {
        f1.a = vec![1.0, phi, 0.0, phi];
        g1.a = vec![alpha, alpha * phi, beta, beta * phi];
    } else {
        f1.a = vec![1.0];
        g1.a = vec![alpha];
    }
    // z = (s_t, s_{t−1}, …, s_{t−m+1}): the next forecast uses the last.
    let (mut f2, mut g2) = (Mat::zeros(m), Mat::zeros(m));
    f2.a[m - 1] = 1.0;
    for i in 1..m {
        f2.a[i * m + i - 1] = 1.0;
    }
    g2.a[m - 1] = gamma;
    let f21 = Mat::kron(&f2, &f1);
    let g21 = Mat::kron(&g2, &g1);
    let mut k = Mat::kron(&g2, &f1);
    for (a, b) in k.a.iter_mut().zip(&Mat::kron(&f2, &g1).a) {
        *a += b;
    }
    let n = p1 * m;
    // vec index of x_i·z_j is j·p1 + i (matching the Kronecker order above).
    let x = [level, trend];
    let mut mu = vec![0.0; n];
    for j in 0..m {
        // z_j (j = 0 the latest) is the seasonal component m − j steps ahead.
        let z = seasonal[m - 1 - j];
        for (i, xi) in x.iter().enumerate().take(p1) {
            mu[j * p1 + i] = xi * z;
        }
    }
    let mut v = Mat::zeros(n);
    // H₁ = [1, φ] (the one-step forecast l + φb; φ = 1 undamped), H₂ picks z_{m−1}.
    let h1: [f64; 2] = [1.0, phi];
    let mut out = Vec::with_capacity(h);
    for _ in 0..h {
        let (mut hv, mut hvh) = (0.0, 0.0);
        for i in 0..p1 {
            hv += h1[i] * mu[(m - 1) * p1 + i];
            for i2 in 0..p1 {
                hvh += h1[i] * h1[i2] * v.at((m - 1) * p1 + i, (m - 1) * p1 + i2);
            }
        }
        out.push((1.0 + sigma2) * hvh + sigma2 * hv * hv);
        let mut s = v.clone();
        for i in 0..n {
            for j in 0..n {
                s.a[i * n + j] += mu[i] * mu[j];
            }
        }
        // 3V + 2μμ' = 3S − μμ'.
        let mut s3 = s.clone();
        for i in 0..n {
            for j in 0..n {
                s3.a[i * n + j] = 3.0 * s.a[i * n + j] - mu[i] * mu[j];
            }
        }
        let mut next = f21.sandwich(&v, &f21);
        let cross = f21.sandwich(&v, &g21);
        let ksk = k.sandwich(&s, &k);
        let gsg = g21.sandwich(&s3, &g21);
        for i in 0..n {
            for j in 0..n {
                let idx = i * n + j;
                next.a[idx] +=
                    sigma2 * (cross.a[idx] + cross.a[j * n + i] + ksk.a[idx] + sigma2 * gsg.a[idx]);
            }
        }
        v = next;
        let fm = f21.mul_vec(&mu);
        let gm = g21.mul_vec(&mu);
        for i in 0..n {
            mu[i] = fm[i] + sigma2 * gm[i];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_values_follow_the_book() {
        // Hyndman et al. (2008), table 6.2: A,Ad,A with m = 4, α = 0.5, β = 0.1, γ = 0.2,
        // φ = 0.9: c_j = α + βφ(1 − φ^j)/(1 − φ) + γ·[j ≡ 0 mod 4].
        let c = c_values(8, 4, 0.5, 0.1, 0.2, 0.9);
        for (j, cj) in c.iter().enumerate() {
            let j1 = (j + 1) as f64;
            let expected = 0.5
                + 0.1 * 0.9 * (1.0 - 0.9_f64.powf(j1)) / 0.1
                + if (j + 1) % 4 == 0 { 0.2 } else { 0.0 };
            assert!((cj - expected).abs() < 1e-12, "{j}: {cj} vs {expected}");
        }
    }
}
