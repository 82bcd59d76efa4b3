//! A quasi-Newton (BFGS) minimiser with forward-difference gradients, for the smooth,
//! unconstrained objectives of ARIMA estimation (the conditional sum of squares and the
//! Kalman likelihood), as statsforecast minimises them with `scipy.optimize.minimize(…,
//! method="BFGS", tol=1e-8, options={"maxiter": 100})`: the same finite-difference step,
//! initial step length and inverse-Hessian update. The line search is a backtracking
//! Armijo search instead of scipy's More-Thuente search; both end at the same optimum.
//!
//! [`Gradient::Central`] and a relative tolerance give R's `optim(method = "BFGS")`
//! settings instead (central differences with `ndeps = 10⁻³`, `reltol = √ε`), used for
//! differenced models: R's diffuse prior (`κ = 10⁶`) leaves rounding noise near 10⁻¹⁰
//! that forward differences with a 10⁻⁸ step turn into gradient errors of order 10⁻², and
//! on the prior's limit (no such noise) they still converge in fewer iterations.
//!
//! The dimension is small (at most 5 + 5 + 2 + 2 + 1 coefficients), so the inverse
//! Hessian is a dense `n × n` buffer; nothing is allocated per iteration.

/// The finite-difference step (scipy's `sqrt(machine epsilon)`).
const FD_STEP: f64 = 1.490_116_119_384_765_6e-8;
/// Armijo's sufficient-decrease constant.
const C1: f64 = 1e-4;
/// The most step-length halvings in one line search.
const MAX_BACKTRACK: usize = 40;

/// How the gradient is approximated and when the search stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Gradient {
    /// scipy's: forward differences with step `√ε`, no tolerance on `f`.
    Forward,
    /// R's: central differences with step `10⁻³·max(1, |x_i|)`, stopping when an
    /// iteration improves `f` by less than `√ε·(|f| + √ε)`.
    Central,
}

/// R's `ndeps`.
const CENTRAL_STEP: f64 = 1e-3;

/// The result of [`bfgs`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Minimum {
    /// The best point found.
    pub x: Vec<f64>,
    /// The objective there.
    pub f: f64,
    /// Whether the iteration limit stopped the search (scipy's status 1).
    pub max_iter_reached: bool,
}

/// Minimises `f` from `x0` with at most `max_iter` iterations, stopping when the largest
/// gradient component falls to `gtol` or no step decreases `f` any more.
pub(crate) fn bfgs(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    max_iter: usize,
    gtol: f64,
    mode: Gradient,
) -> Minimum {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut fx = f(&x);
    if n == 0 || !fx.is_finite() {
        return Minimum {
            x,
            f: fx,
            max_iter_reached: false,
        };
    }
    let mut scratch = x.clone();
    let gradient = |x: &[f64],
                    fx: f64,
                    g: &mut [f64],
                    scratch: &mut [f64],
                    f: &mut dyn FnMut(&[f64]) -> f64| {
        scratch.copy_from_slice(x);
        for i in 0..n {
            let xi = x[i];
            match mode {
                Gradient::Forward => {
                    scratch[i] = xi + FD_STEP;
                    let h = scratch[i] - xi;
                    g[i] = (f(scratch) - fx) / h;
                }
                Gradient::Central => {
                    let h = CENTRAL_STEP * xi.abs().max(1.0);
                    scratch[i] = xi + h;
                    let up = f(scratch);
                    scratch[i] = xi - h;
                    let down = f(scratch);
                    g[i] = (up - down) / (2.0 * h);
                }
            }
            scratch[i] = xi;
        }
    };
    let mut g = vec![0.0; n];
    gradient(&x, fx, &mut g, &mut scratch, &mut f);
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        h[i * n + i] = 1.0;
    }
    let norm2 = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let mut old_old_f = fx + norm2(&g) / 2.0;
    let (mut dir, mut x_new, mut g_new, mut s, mut y, mut hy) = (
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
    );
    let gmax = |g: &[f64]| g.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let mut k = 0;
    while gmax(&g) > gtol && k < max_iter {
        if g.iter().any(|v| !v.is_finite()) {
            break;
        }
        for i in 0..n {
            dir[i] = -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>();
        }
        let mut slope: f64 = dir.iter().zip(&g).map(|(d, g)| d * g).sum();
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction (a poor Hessian estimate): restart from steepest
            // descent.
            h.fill(0.0);
            for i in 0..n {
                h[i * n + i] = 1.0;
                dir[i] = -g[i];
            }
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        // scipy's first trial step.
        let mut alpha = (1.01 * 2.0 * (fx - old_old_f) / slope).min(1.0);
        if alpha.is_nan() || alpha <= 0.0 {
            alpha = 1.0;
        }
        let mut f_new = f64::INFINITY;
        let mut found = false;
        for _ in 0..MAX_BACKTRACK {
            for i in 0..n {
                x_new[i] = x[i] + alpha * dir[i];
            }
            f_new = f(&x_new);
            if f_new.is_finite() && f_new <= fx + C1 * alpha * slope {
                found = true;
                break;
            }
            // Quadratic interpolation of the step, kept in [0.1, 0.5] of the last.
            let next = if f_new.is_finite() {
                let denom = 2.0 * (f_new - fx - slope * alpha);
                if denom > 0.0 {
                    -slope * alpha * alpha / denom
                } else {
                    0.5 * alpha
                }
            } else {
                0.1 * alpha
            };
            alpha = next.clamp(0.1 * alpha, 0.5 * alpha);
        }
        if !found {
            break;
        }
        gradient(&x_new, f_new, &mut g_new, &mut scratch, &mut f);
        for i in 0..n {
            s[i] = x_new[i] - x[i];
            y[i] = g_new[i] - g[i];
        }
        let small =
            mode == Gradient::Central && (fx - f_new).abs() <= FD_STEP * (f_new.abs() + FD_STEP);
        old_old_f = fx;
        fx = f_new;
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        k += 1;
        if small {
            break;
        }
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        if sy > 0.0 {
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ.
            let rho = 1.0 / sy;
            for i in 0..n {
                hy[i] = (0..n).map(|j| h[i * n + j] * y[j]).sum();
            }
            let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
    }
    Minimum {
        x,
        f: fx,
        max_iter_reached: k >= max_iter && gmax(&g) > gtol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_a_quadratic_and_rosenbrock() {
        let quad = |x: &[f64]| (x[0] - 1.0).powi(2) + 10.0 * (x[1] + 2.0).powi(2) + x[0] * x[1];
        let m = bfgs(quad, &[0.0, 0.0], 100, 1e-8, Gradient::Forward);
        // Minimum of the quadratic: 2(x0−1) + x1 = 0 and 20(x1+2) + x0 = 0, so
        // x1 = 2 − 2·x0 and x0 = 80/39.
        let x0 = 80.0 / 39.0;
        let x1 = 2.0 - 2.0 * x0;
        assert!(
            (m.x[0] - x0).abs() < 1e-5 && (m.x[1] - x1).abs() < 1e-5,
            "{m:?}"
        );
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = bfgs(rosen, &[-1.2, 1.0], 200, 1e-8, Gradient::Forward);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-3 && (m.x[1] - 1.0).abs() < 1e-3,
            "{m:?}"
        );
    }

    #[test]
    fn stops_at_the_iteration_limit_and_on_infinite_start() {
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        assert!(bfgs(rosen, &[-1.2, 1.0], 2, 1e-8, Gradient::Forward).max_iter_reached);
        let m = bfgs(|_| f64::INFINITY, &[0.0], 10, 1e-8, Gradient::Forward);
        assert!(m.f.is_infinite() && !m.max_iter_reached);
    }
}
