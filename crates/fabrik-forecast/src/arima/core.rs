//! The numerical core of ARIMA, after R's `arima.c` (which statsforecast's `arima.py`
//! ports): the parameter transformation that keeps AR parts stationary, the conditional
//! sum of squares, Gardner et al.'s (1980) initial state covariance, the Kalman filter of
//! the exact Gaussian likelihood and the Kalman forecast.
//!
//! The state space form is Harvey's, as R's `makeARIMA`: `r = max(p, q + 1)` ARMA states
//! followed by `d` states holding the last observations the differencing needs.

// The loops keep the indices of R's C code, so that the port can be checked line by line.
#![allow(clippy::needless_range_loop, clippy::manual_memcpy)]

/// The orders of a (seasonal) ARIMA model, R's `arma` vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Orders {
    /// Non-seasonal AR order.
    pub p: usize,
    /// Non-seasonal MA order.
    pub q: usize,
    /// Seasonal AR order.
    pub sp: usize,
    /// Seasonal MA order.
    pub sq: usize,
    /// The season length.
    pub m: usize,
    /// Non-seasonal differences.
    pub d: usize,
    /// Seasonal differences.
    pub sd: usize,
}

impl Orders {
    /// The number of ARMA coefficients.
    pub fn narma(&self) -> usize {
        self.p + self.q + self.sp + self.sq
    }

    /// The length of the expanded AR polynomial `φ` (without its leading 1).
    pub fn phi_len(&self) -> usize {
        self.p + self.m * self.sp
    }

    /// The length of the expanded MA polynomial `θ`.
    pub fn theta_len(&self) -> usize {
        self.q + self.m * self.sq
    }

    /// The observations the conditional sum of squares conditions on.
    pub fn ncond(&self) -> usize {
        self.d + self.sd * self.m + self.p + self.sp * self.m
    }

    /// The differencing polynomial's coefficients `Δ` with `y_t = Σ Δ_i y_{t−i} + w_t`
    /// (R's `-Delta[-1]`).
    pub fn delta(&self) -> Vec<f64> {
        let mut poly = vec![1.0];
        let mut mul = |lag: usize| {
            let mut next = vec![0.0; poly.len() + lag];
            for (i, c) in poly.iter().enumerate() {
                next[i] += c;
                next[i + lag] -= c;
            }
            poly = next;
        };
        for _ in 0..self.d {
            mul(1);
        }
        for _ in 0..self.sd {
            mul(self.m);
        }
        poly[1..].iter().map(|c| -c).collect()
    }
}

/// R's `partrans`: maps `raw` (any reals) to the coefficients of a stationary AR
/// polynomial through `tanh` and the Durbin-Levinson recursion.
pub(crate) fn partrans(raw: &[f64], out: &mut [f64]) {
    let p = raw.len();
    // p ≤ 5 here (seasonal AR orders are small too), so a stack buffer suffices; longer
    // orders fall back to an allocation.
    let mut stack = [0.0; 16];
    let mut heap;
    let work: &mut [f64] = if p <= stack.len() {
        &mut stack[..p]
    } else {
        heap = vec![0.0; p];
        &mut heap
    };
    for j in 0..p {
        out[j] = raw[j].tanh();
        work[j] = out[j];
    }
    for j in 1..p {
        let a = out[j];
        for k in 0..j {
            work[k] -= a * out[j - k - 1];
        }
        out[..j].copy_from_slice(&work[..j]);
    }
}

/// R's `invpartrans`: the inverse of [`partrans`]. Returns `false` (leaving `out`
/// undefined) when `phi` is not stationary (a partial autocorrelation of modulus ≥ 1).
pub(crate) fn inv_partrans(phi: &[f64], out: &mut [f64]) -> bool {
    let p = phi.len();
    let mut work = vec![0.0; p];
    out[..p].copy_from_slice(phi);
    work.copy_from_slice(phi);
    for j in (1..p).rev() {
        let a = out[j];
        if a.is_nan() || a.abs() >= 1.0 {
            return false;
        }
        for k in 0..j {
            work[k] = (out[k] + a * out[j - k - 1]) / (1.0 - a * a);
        }
        out[..j].copy_from_slice(&work[..j]);
    }
    for v in out[..p].iter_mut() {
        if v.is_nan() || v.abs() >= 1.0 {
            return false;
        }
        *v = v.atanh();
    }
    true
}

/// R's `ARIMA_undoPars`: the AR parts of `par` transformed by [`partrans`], the rest as is.
pub(crate) fn undo_pars(par: &[f64], o: &Orders) -> Vec<f64> {
    let mut out = par.to_vec();
    if o.p > 0 {
        partrans(&par[..o.p], &mut out[..o.p]);
    }
    let v = o.p + o.q;
    if o.sp > 0 {
        partrans(&par[v..v + o.sp], &mut out[v..v + o.sp]);
    }
    out
}

/// R's `ARIMA_transPars`: expands the ARMA coefficients `par` (non-seasonal AR, MA,
/// seasonal AR, MA) into the full polynomials `phi` and `theta`, after transforming the AR
/// parts with [`partrans`] when `trans`.
pub(crate) fn trans_pars(par: &[f64], o: &Orders, trans: bool, phi: &mut [f64], theta: &mut [f64]) {
    let (mp, mq, msp, msq, ns) = (o.p, o.q, o.sp, o.sq, o.m);
    let mut stack = [0.0; 16];
    let n = mp + mq + msp + msq;
    let mut heap;
    let params: &mut [f64] = if n <= stack.len() {
        &mut stack[..n]
    } else {
        heap = vec![0.0; n];
        &mut heap
    };
    params.copy_from_slice(&par[..n]);
    if trans {
        if mp > 0 {
            partrans(&par[..mp], &mut params[..mp]);
        }
        let v = mp + mq;
        if msp > 0 {
            partrans(&par[v..v + msp], &mut params[v..v + msp]);
        }
    }
    phi.fill(0.0);
    theta.fill(0.0);
    phi[..mp].copy_from_slice(&params[..mp]);
    theta[..mq].copy_from_slice(&params[mp..mp + mq]);
    for j in 0..msp {
        let s = params[j + mp + mq];
        phi[(j + 1) * ns - 1] += s;
        for i in 0..mp {
            phi[(j + 1) * ns + i] -= params[i] * s;
        }
    }
    for j in 0..msq {
        let s = params[j + mp + mq + msp];
        theta[(j + 1) * ns - 1] += s;
        for i in 0..mq {
            theta[(j + 1) * ns + i] += params[i + mp] * s;
        }
    }
}

/// R's `ARIMA_CSS`: the conditional sum of squares of `y` (the mean already removed)
/// differenced by `o`, conditioning on the first `o.ncond()` observations. Returns
/// `ssq / nu`; the residuals go to `resid` (zero for the conditioning observations).
/// `w` is scratch of `y`'s length.
pub(crate) fn css(
    y: &[f64],
    o: &Orders,
    phi: &[f64],
    theta: &[f64],
    resid: &mut [f64],
    w: &mut [f64],
) -> f64 {
    let n = y.len();
    let ncond = o.ncond().min(n);
    w.copy_from_slice(y);
    for _ in 0..o.d {
        for l in (1..n).rev() {
            w[l] -= w[l - 1];
        }
    }
    let ns = o.m;
    for _ in 0..o.sd {
        for l in (ns..n).rev() {
            w[l] -= w[l - ns];
        }
    }
    resid[..ncond].fill(0.0);
    let (mut ssq, mut nu) = (0.0, 0usize);
    for l in ncond..n {
        let mut tmp = w[l];
        for (j, ph) in phi.iter().enumerate() {
            tmp -= ph * w[l - j - 1];
        }
        let jmax = (l - ncond).min(theta.len());
        for j in 0..jmax {
            tmp -= theta[j] * resid[l - j - 1];
        }
        resid[l] = tmp;
        if !tmp.is_nan() {
            nu += 1;
            ssq += tmp * tmp;
        }
    }
    ssq / nu as f64
}

/// R's `inclu2` (Gardner et al. 1980): includes one row in the Givens QR of [`q0`].
fn inclu2(
    xnext: &[f64],
    xrow: &mut [f64],
    mut ynext: f64,
    d: &mut [f64],
    rbar: &mut [f64],
    thetab: &mut [f64],
) {
    let np = xnext.len();
    xrow.copy_from_slice(xnext);
    let mut ithisr = 0usize;
    for i in 0..np {
        if xrow[i] != 0.0 {
            let xi = xrow[i];
            let di = d[i];
            let dpi = di + xi * xi;
            d[i] = dpi;
            let cbar = di / dpi;
            let sbar = xi / dpi;
            for k in i + 1..np {
                let xk = xrow[k];
                let rbthis = rbar[ithisr];
                xrow[k] = xk - xi * rbthis;
                rbar[ithisr] = cbar * rbthis + sbar * xk;
                ithisr += 1;
            }
            let xk = ynext;
            ynext = xk - xi * thetab[i];
            thetab[i] = cbar * thetab[i] + sbar * xk;
            if di == 0.0 {
                return;
            }
        } else {
            ithisr += np - i - 1;
        }
    }
}

/// Scratch of [`q0`], kept between calls.
#[derive(Debug, Default, Clone)]
pub(crate) struct Q0Work {
    thetab: Vec<f64>,
    xnext: Vec<f64>,
    xrow: Vec<f64>,
    rbar: Vec<f64>,
    v: Vec<f64>,
    p: Vec<f64>,
}

/// The stationary covariance of the `r` ARMA states, `r = max(p, q + 1)`, in units of
/// σ², written row-major to `out` (`r × r`); `theta` is the MA polynomial (any length
/// ≤ `r − 1`).
///
/// R's `getQ0` (Gardner, Harvey & Phillips 1980, [`q0_gardner`]) solves for the
/// `r(r+1)/2` distinct entries as one regression, which grows like `r⁴` to `r⁶`: a
/// seasonal AR term at lag 12 gives `r ≥ 13`, two give `r ≥ 25`, and it took a third of a
/// monthly AutoARIMA fit. Here the same matrix comes from the model's autocovariances in
/// `O(r² + p³)`: the first row is `P₁ₗ = Cov(y_t, α_{l,t}) = Σ_{k≥l} φ_k γ(k+1−l) +
/// θ_{k−1} ψ_{k−l}` (Harvey's states are `α_{l,t} = Σ_{k≥l} φ_k y_{t+l−1−k} + θ_{k−1}
/// ε_{t+l−k}`), with `γ` from Brockwell & Davis (1991, §3.3) and `ψ` the MA(∞) weights;
/// the rest follows from `P = T P T′ + v v′` read entry by entry from the bottom right:
/// `P_il = φ_i φ_l P₁₁ + φ_i P₁,ₗ₊₁ + φ_l P₁,ᵢ₊₁ + P_{i+1,l+1} + v_i v_l`.
pub(crate) fn q0(phi: &[f64], theta: &[f64], out: &mut [f64], wk: &mut Q0Work) {
    let p = phi.len();
    let q = theta.len();
    let r = p.max(q + 1);
    if r == 1 {
        out[0] = if p == 0 {
            1.0
        } else {
            1.0 / (1.0 - phi[0] * phi[0])
        };
        return;
    }
    let ph = |k: usize| if k < p { phi[k] } else { 0.0 }; // φ_{k+1}
    let th = |k: usize| match k {
        0 => 1.0,
        k if k <= q => theta[k - 1],
        _ => 0.0,
    }; // θ_k, θ₀ = 1
    // ψ_0..ψ_r.
    let psi = &mut wk.v;
    psi.clear();
    psi.resize(r + 1, 0.0);
    for j in 0..=r {
        let mut v = th(j);
        for k in 1..=j.min(p) {
            v += phi[k - 1] * psi[j - k];
        }
        psi[j] = v;
    }
    // γ(0..=p) from the linear system γ(k) − Σ_j φ_j γ(|k−j|) = Σ_{j≥k} θ_j ψ_{j−k},
    // then γ(h) = Σ_j φ_j γ(h−j) + Σ_{j≥h} θ_j ψ_{j−h} up to r.
    let n = p + 1;
    let ma_part = |h: usize, psi: &[f64]| (h..=q).map(|j| th(j) * psi[j - h]).sum::<f64>();
    let mut a = nalgebra::DMatrix::<f64>::identity(n, n);
    for k in 0..n {
        for j in 1..=p {
            a[(k, k.abs_diff(j))] -= phi[j - 1];
        }
    }
    let b = nalgebra::DVector::from_fn(n, |k, _| ma_part(k, psi));
    let Some(solved) = a.lu().solve(&b).filter(|x| x.iter().all(|v| v.is_finite())) else {
        // Singular: the AR part is on the unit circle. Gardner's method returns its
        // own garbage there; keep the filter finite the same way.
        return q0_gardner(phi, theta, out, wk);
    };
    let gamma = &mut wk.thetab;
    gamma.clear();
    gamma.resize(r + 1, 0.0);
    gamma[..n].copy_from_slice(solved.as_slice());
    for h in n..=r {
        let mut v = ma_part(h, psi);
        for j in 1..=p {
            v += phi[j - 1] * gamma[h - j];
        }
        gamma[h] = v;
    }
    // The first row, P₁ₗ for l = 1..r (0-based: out[l − 1]).
    let first = &mut wk.xrow;
    first.clear();
    first.resize(r + 1, 0.0);
    for l in 1..=r {
        let mut v = 0.0;
        for k in l..=r {
            v += ph(k - 1) * gamma[k + 1 - l] + th(k - 1) * psi[k - l];
        }
        first[l - 1] = v;
    }
    first[0] = gamma[0];
    // The rest, from the bottom right.
    for i in (1..r).rev() {
        for l in (i..r).rev() {
            let below = if i + 1 < r && l + 1 < r {
                out[(i + 1) * r + l + 1]
            } else {
                0.0
            };
            let v = ph(i) * ph(l) * gamma[0]
                + ph(i) * first[l + 1]
                + ph(l) * first[i + 1]
                + below
                + th(i) * th(l);
            out[i * r + l] = v;
            out[l * r + i] = v;
        }
    }
    for l in 0..r {
        out[l] = first[l];
        out[l * r] = first[l];
    }
}

/// R's `getQ0` (Gardner, Harvey & Phillips 1980), the reference for [`q0`] and its
/// fallback when the AR part is singular.
pub(crate) fn q0_gardner(phi: &[f64], theta: &[f64], out: &mut [f64], wk: &mut Q0Work) {
    let p = phi.len();
    let q = theta.len();
    let r = p.max(q + 1);
    let np = r * (r + 1) / 2;
    let nrbar = np * (np - 1) / 2;
    let th = |i: usize| -> f64 {
        if i == 0 {
            1.0
        } else if i - 1 < q {
            theta[i - 1]
        } else {
            0.0
        }
    };
    wk.v.clear();
    for j in 0..r {
        let vj = th(j);
        for i in j..r {
            wk.v.push(th(i) * vj);
        }
    }
    wk.p.clear();
    wk.p.resize(np.max(r * r), 0.0);
    let pm = &mut wk.p;
    if r == 1 {
        // A single state: the variance [`q0`] writes directly.
        return q0(phi, theta, out, wk);
    }
    if p > 0 {
        wk.rbar.clear();
        wk.rbar.resize(nrbar, 0.0);
        wk.thetab.clear();
        wk.thetab.resize(np, 0.0);
        wk.xnext.clear();
        wk.xnext.resize(np, 0.0);
        wk.xrow.clear();
        wk.xrow.resize(np, 0.0);
        let (xnext, xrow, rbar, thetab, v) = (
            &mut wk.xnext,
            &mut wk.xrow,
            &mut wk.rbar,
            &mut wk.thetab,
            &wk.v,
        );
        let mut ind = 0usize;
        let mut ind1: isize = -1;
        let npr = np - r;
        let npr1 = npr + 1;
        let mut indj = npr;
        let mut ind2: isize = npr as isize - 1;
        for j in 0..r {
            let phij = if j < p { phi[j] } else { 0.0 };
            xnext[indj] = 0.0;
            indj += 1;
            let mut indi = npr1 + j;
            for i in j..r {
                let ynext = v[ind];
                ind += 1;
                let phii = if i < p { phi[i] } else { 0.0 };
                if j != r - 1 {
                    xnext[indj] = -phii;
                    if i != r - 1 {
                        xnext[indi] -= phij;
                        ind1 += 1;
                        xnext[ind1 as usize] = -1.0;
                    }
                }
                xnext[npr] = -phii * phij;
                ind2 += 1;
                if ind2 as usize >= np {
                    ind2 = 0;
                }
                xnext[ind2 as usize] += 1.0;
                inclu2(xnext, xrow, ynext, pm, rbar, thetab);
                xnext[ind2 as usize] = 0.0;
                if i != r - 1 {
                    xnext[indi] = 0.0;
                    indi += 1;
                    xnext[ind1 as usize] = 0.0;
                }
            }
        }
        let mut ithisr = nrbar as isize - 1;
        let mut im = np as isize - 1;
        for i in 0..np {
            let mut bi = thetab[im as usize];
            let mut jm = np as isize - 1;
            for _ in 0..i {
                bi -= rbar[ithisr as usize] * pm[jm as usize];
                ithisr -= 1;
                jm -= 1;
            }
            pm[im as usize] = bi;
            im -= 1;
        }
        // Re-order.
        for i in 0..r {
            xnext[i] = pm[npr + i];
        }
        let mut ind = np - 1;
        let mut ind1 = npr as isize - 1;
        for _ in 0..npr {
            pm[ind] = pm[ind1 as usize];
            ind = ind.wrapping_sub(1);
            ind1 -= 1;
        }
        pm[..r].copy_from_slice(&xnext[..r]);
    } else {
        // Back-substitution for a pure moving average.
        let mut indn = np;
        let mut ind = np;
        for i in 0..r {
            for j in 0..=i {
                ind -= 1;
                pm[ind] = wk.v[ind];
                if j != 0 {
                    indn -= 1;
                    pm[ind] += pm[indn];
                }
            }
        }
    }
    // Unpack the packed upper triangle (column-major in R; symmetric so row-major too).
    let mut ind = np;
    for i in (1..r).rev() {
        for j in (i..r).rev() {
            ind -= 1;
            pm[r * i + j] = pm[ind];
        }
    }
    for i in 0..r - 1 {
        for j in i + 1..r {
            pm[i + r * j] = pm[j + r * i];
        }
    }
    out[..r * r].copy_from_slice(&pm[..r * r]);
}

/// The state space form of an ARIMA model (R's `makeARIMA`), with the filter's state.
#[derive(Debug, Clone)]
pub(crate) struct StateSpace {
    /// Expanded AR polynomial.
    pub phi: Vec<f64>,
    /// Expanded MA polynomial, padded with zeros to `r − 1`.
    pub theta: Vec<f64>,
    /// Differencing coefficients.
    pub delta: Vec<f64>,
    /// The non-zero differencing coefficients with their index (the filter's sparse
    /// loops: `(1 − B)(1 − B¹²)` has 3 of 13).
    dnz: Vec<(usize, f64)>,
    /// ARMA states.
    pub r: usize,
    /// The state (after the last filtered observation).
    pub a: Vec<f64>,
    /// The filtered state covariance (row-major, `rd × rd`).
    pub p: Vec<f64>,
    /// The predicted state covariance / initial covariance (`Pn`).
    pub pn: Vec<f64>,
    anew: Vec<f64>,
    mm: Vec<f64>,
    gain_m: Vec<f64>,
    pn_prev: Vec<f64>,
    q0: Vec<f64>,
    q0work: Q0Work,
    kappa: f64,
}

/// The relative change of the gains below which the filter counts as converged.
const STEADY_TOL: f64 = 1e-13;

/// The variance of the diffuse prior of the differencing states (R's `kappa`).
pub(crate) const KAPPA: f64 = 1e6;

impl StateSpace {
    /// R's `makeARIMA` for the polynomials `phi`, `theta` and differencing `delta`.
    pub fn new(phi: &[f64], theta: &[f64], delta: &[f64]) -> StateSpace {
        let p = phi.len();
        let q = theta.len();
        let r = p.max(q + 1);
        let d = delta.len();
        let rd = r + d;
        let mut th = theta.to_vec();
        th.resize(r - 1, 0.0);
        let mut ss = StateSpace {
            phi: phi.to_vec(),
            theta: th,
            delta: delta.to_vec(),
            dnz: delta
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(i, v)| (i, *v))
                .collect(),
            r,
            a: vec![0.0; rd],
            p: vec![0.0; rd * rd],
            pn: vec![0.0; rd * rd],
            anew: vec![0.0; rd],
            mm: vec![0.0; rd * rd],
            gain_m: vec![0.0; rd],
            pn_prev: vec![0.0; rd * rd],
            q0: vec![0.0; r * r],
            q0work: Q0Work::default(),
            kappa: KAPPA,
        };
        ss.reset_diffuse();
        ss.update(phi, theta);
        ss
    }

    /// The dimension `r + d`.
    pub fn rd(&self) -> usize {
        self.r + self.delta.len()
    }

    /// The differenced series `w_t = x_t − Σ Δ_k x_{t−1−k}` for `t ≥ d` (into `out`, of
    /// length `x.len() − d`), over Δ's non-zero terms.
    pub fn difference(&self, x: &[f64], out: &mut [f64]) {
        let dl = self.delta.len();
        for (t, w) in out.iter_mut().enumerate() {
            let mut v = x[t + dl];
            for &(k, dk) in &self.dnz {
                v -= dk * x[t + dl - 1 - k];
            }
            *w = v;
        }
    }

    /// Another prior variance `κ` of the differencing states (tests of the diffuse limit).
    #[cfg(test)]
    pub fn set_kappa(&mut self, kappa: f64) {
        self.kappa = kappa;
        self.reset_diffuse();
    }

    /// Sets the differencing block of `Pn` back to the diffuse prior (`κ` on its diagonal,
    /// zero covariances), as a fresh `makeARIMA` has it.
    pub fn reset_diffuse(&mut self) {
        let (r, rd) = (self.r, self.rd());
        for i in 0..rd {
            for j in 0..rd {
                if i >= r || j >= r {
                    self.pn[i * rd + j] = if i == j { self.kappa } else { 0.0 };
                }
            }
        }
    }

    /// R's `upARIMA`: new polynomials of the same orders; the ARMA block of `Pn` becomes
    /// their stationary covariance and the state 0.
    pub fn update(&mut self, phi: &[f64], theta: &[f64]) {
        let (r, rd) = (self.r, self.rd());
        self.phi.copy_from_slice(phi);
        self.theta[..theta.len()].copy_from_slice(theta);
        self.theta[theta.len()..].fill(0.0);
        if r > 1 {
            q0(&self.phi, &self.theta, &mut self.q0, &mut self.q0work);
            for i in 0..r {
                self.pn[i * rd..i * rd + r].copy_from_slice(&self.q0[i * r..(i + 1) * r]);
            }
        } else {
            self.pn[0] = if phi.is_empty() {
                1.0
            } else {
                1.0 / (1.0 - phi[0] * phi[0])
            };
        }
        self.a.fill(0.0);
    }

    /// R's `ARIMA_Like` with `useUp = 0`: filters `y` (mean removed) from the current
    /// state and `Pn`, and returns `(ssq, sumlog, nu)`: the sum of squared standardised
    /// innovations, the sum of the log gains and the count of innovations that enter the
    /// likelihood (those with gain below 10⁴). Standardised innovations go to `resid`
    /// when given. Like R, `Pn` is overwritten with the last predicted covariance.
    pub fn filter(&mut self, y: &[f64], mut resid: Option<&mut [f64]>) -> (f64, f64, usize) {
        let (r, rd) = (self.r, self.rd());
        let d = self.delta.len();
        let p = self.phi.len();
        let q = self.theta.len();
        let (mut ssq, mut sumlog, mut nu) = (0.0, 0.0, 0usize);
        let Self {
            phi,
            theta,
            dnz,
            a,
            p: pm,
            pn,
            anew,
            mm,
            gain_m,
            pn_prev,
            ..
        } = self;
        // R's T and V use theta padded to r − 1; `q` here is that padded length.
        let _ = q;
        // Once the predicted covariance stops changing (to STEADY_TOL relative to its first
        // element, two steps in a row, with the diffuse states resolved) the filter has
        // converged: later steps update the state only.
        // φ and v = (1, θ₁, …) padded to r, and two rows of scratch (the `d = 0` update).
        let (mut phi_r, mut v, mut u, mut w) =
            (vec![0.0; r], vec![0.0; r], vec![0.0; r], vec![0.0; r]);
        phi_r[..p.min(r)].copy_from_slice(&phi[..p.min(r)]);
        v[0] = 1.0;
        v[1..r].copy_from_slice(&theta[..r - 1]);
        let mut steady = false;
        let mut calm = 0usize;
        let mut gain_steady = 0.0;
        for (l, &yl) in y.iter().enumerate() {
            // anew = T a: the ARMA states shift up and take φ times the first.
            let a0 = a[0];
            for i in 0..r - 1 {
                anew[i] = a[i + 1] + phi_r[i] * a0;
            }
            anew[r - 1] = phi_r[r - 1] * a0;
            if d > 0 {
                for i in r + 1..rd {
                    anew[i] = a[i - 1];
                }
                let mut tmp = a[0];
                for &(i, di) in dnz.iter() {
                    tmp += di * a[r + i];
                }
                anew[r] = tmp;
            }
            if l > 0 && !steady {
                if d == 0 {
                    // Pn = T P T' + V without branches: with φ and v = (1, θ) padded to r
                    // and u = P's first row shifted left (u_{r−1} = 0),
                    // Pn_ij = v_i v_j + φ_i (φ_j P₀₀ + u_j) + u_i φ_j + P_{i+1, j+1}.
                    let p00 = pm[0];
                    for j in 0..r {
                        u[j] = if j + 1 < r { pm[j + 1] } else { 0.0 };
                        w[j] = phi_r[j] * p00 + u[j];
                    }
                    for i in 0..r {
                        let (vi, fi, ui) = (v[i], phi_r[i], u[i]);
                        let row = &mut pn[i * r..(i + 1) * r];
                        for j in 0..r {
                            row[j] = vi * v[j] + fi * w[j] + ui * phi_r[j];
                        }
                        if i + 1 < r {
                            let below = &pm[(i + 1) * r + 1..(i + 2) * r];
                            for (o, b) in row[..r - 1].iter_mut().zip(below) {
                                *o += b;
                            }
                        }
                    }
                } else {
                    // mm = T P (row-major: mm[i*rd + j]), row by row: the ARMA rows shift
                    // P's rows up and add φᵢ times its first row.
                    for i in 0..r {
                        let row = &mut mm[i * rd..(i + 1) * rd];
                        if i < r - 1 {
                            row.copy_from_slice(&pm[(i + 1) * rd..(i + 2) * rd]);
                        } else {
                            row.fill(0.0);
                        }
                        if i < p {
                            let f = phi[i];
                            for (m, &p0) in row.iter_mut().zip(&pm[..rd]) {
                                *m += f * p0;
                            }
                        }
                    }
                    // The first differencing row: P's first row plus Δ times its
                    // differencing rows (only Δ's non-zero terms: (1 − B)(1 − B¹²) has 3
                    // of 13).
                    {
                        let row = &mut mm[r * rd..(r + 1) * rd];
                        row.copy_from_slice(&pm[..rd]);
                        for &(k, dk) in dnz.iter() {
                            let src = &pm[(r + k) * rd..(r + k + 1) * rd];
                            for (m, &v) in row.iter_mut().zip(src) {
                                *m += dk * v;
                            }
                        }
                    }
                    for i in 1..d {
                        mm[(r + i) * rd..(r + i + 1) * rd]
                            .copy_from_slice(&pm[(r + i - 1) * rd..(r + i) * rd]);
                    }
                    // Pn = mm T', row by row of Pn (row j is T applied to mm's row j).
                    for j in 0..rd {
                        let src = &mm[j * rd..(j + 1) * rd];
                        let dst = &mut pn[j * rd..(j + 1) * rd];
                        let m0 = src[0];
                        for i in 0..r {
                            let mut tmp = if i < r - 1 { src[i + 1] } else { 0.0 };
                            if i < p {
                                tmp += phi[i] * m0;
                            }
                            dst[i] = tmp;
                        }
                        let mut tmp = m0;
                        for &(k, dk) in dnz.iter() {
                            tmp += dk * src[r + k];
                        }
                        dst[r] = tmp;
                        dst[r + 1..rd].copy_from_slice(&src[r..rd - 1]);
                    }
                    for i in 0..r {
                        let vi = if i == 0 { 1.0 } else { theta[i - 1] };
                        for j in 0..r {
                            pn[i * rd + j] += vi * if j == 0 { 1.0 } else { theta[j - 1] };
                        }
                    }
                }
            }
            if yl.is_nan() {
                steady = false;
                calm = 0;
                a.copy_from_slice(anew);
                pm.copy_from_slice(pn);
                if let Some(res) = resid.as_deref_mut() {
                    res[l] = f64::NAN;
                }
                continue;
            }
            let mut resid0 = yl - anew[0];
            for &(i, di) in dnz.iter() {
                resid0 -= di * anew[r + i];
            }
            let gain = if steady {
                gain_steady
            } else {
                let mut gain = pn[0];
                for &(i, di) in dnz.iter() {
                    gain += di * pn[r + i];
                }
                // Converged: the predicted covariance as a whole is unchanged and the
                // diffuse states are resolved.
                let mut moved = l == 0;
                let scale = STEADY_TOL * pn[0].abs();
                for (now, before) in pn.iter().zip(pn_prev.iter_mut()) {
                    moved |= (now - *before).abs() > scale;
                    *before = *now;
                }
                // Pn Z: Pn's first row plus Δ times its differencing rows.
                gain_m.copy_from_slice(&pn[..rd]);
                for &(j, dj) in dnz.iter() {
                    let src = &pn[rd * (r + j)..rd * (r + j + 1)];
                    for (g, &v) in gain_m.iter_mut().zip(src) {
                        *g += v * dj;
                    }
                }
                for &(i, di) in dnz.iter() {
                    gain += di * gain_m[r + i];
                }
                moved |= gain >= 1e4;
                calm = if moved { 0 } else { calm + 1 };
                gain_steady = gain;
                gain
            };
            if gain < 1e4 {
                nu += 1;
                ssq += resid0 * resid0 / gain;
                sumlog += gain.ln();
            }
            if let Some(res) = resid.as_deref_mut() {
                res[l] = resid0 / gain.sqrt();
            }
            let step = resid0 / gain;
            for ((ai, &ni), &gi) in a.iter_mut().zip(anew.iter()).zip(gain_m.iter()) {
                *ai = ni + gi * step;
            }
            if steady {
                continue;
            }
            steady = calm >= 2;
            for i in 0..rd {
                let s = gain_m[i] / gain;
                let (dst, src) = (&mut pm[i * rd..(i + 1) * rd], &pn[i * rd..(i + 1) * rd]);
                for ((o, &v), &g) in dst.iter_mut().zip(src).zip(gain_m.iter()) {
                    *o = v - s * g;
                }
            }
        }
        (ssq, sumlog, nu)
    }

    /// R's `KalmanForecast` from the filtered state: the means and the variances (in units
    /// of σ²) `1..=h` steps ahead.
    pub fn forecast(&self, h: usize) -> (Vec<f64>, Vec<f64>) {
        let rd = self.rd();
        let (r, d) = (self.r, self.delta.len());
        // Dense T and V: the models are small and this runs once per forecast.
        let mut t = vec![0.0; rd * rd];
        for (i, ph) in self.phi.iter().enumerate() {
            t[i * rd] = *ph;
        }
        for i in 1..r {
            t[(i - 1) * rd + i] = 1.0;
        }
        if d > 0 {
            t[r * rd] = 1.0;
            for (k, dl) in self.delta.iter().enumerate() {
                t[r * rd + r + k] = *dl;
            }
            for i in 1..d {
                t[(r + i) * rd + r + i - 1] = 1.0;
            }
        }
        let mut rv = vec![0.0; rd];
        rv[0] = 1.0;
        rv[1..r].copy_from_slice(&self.theta[..r - 1]);
        let mut z = vec![0.0; rd];
        z[0] = 1.0;
        z[r..].copy_from_slice(&self.delta);
        let mut a = self.a.clone();
        let mut pm = self.p.clone();
        let mut tmp = vec![0.0; rd * rd];
        let mut anew = vec![0.0; rd];
        let mut mean = Vec::with_capacity(h);
        let mut var = Vec::with_capacity(h);
        for _ in 0..h {
            for i in 0..rd {
                anew[i] = (0..rd).map(|k| t[i * rd + k] * a[k]).sum();
            }
            a.copy_from_slice(&anew);
            mean.push(a.iter().zip(&z).map(|(x, y)| x * y).sum());
            // tmp = T P; P = tmp T' + V.
            for i in 0..rd {
                for j in 0..rd {
                    tmp[i * rd + j] = (0..rd).map(|k| t[i * rd + k] * pm[k * rd + j]).sum();
                }
            }
            for i in 0..rd {
                for j in 0..rd {
                    pm[i * rd + j] = (0..rd)
                        .map(|k| tmp[i * rd + k] * t[j * rd + k])
                        .sum::<f64>()
                        + rv[i] * rv[j];
                }
            }
            let mut v = 0.0;
            for i in 0..rd {
                for j in 0..rd {
                    v += z[i] * z[j] * pm[i * rd + j];
                }
            }
            var.push(v);
        }
        (mean, var)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stationary covariance solves `P = T P T' + R R'`.
    fn check_lyapunov(phi: &[f64], theta: &[f64]) {
        let p = phi.len();
        let r = p.max(theta.len() + 1);
        let mut out = vec![0.0; r * r];
        q0(phi, theta, &mut out, &mut Q0Work::default());
        let mut t = vec![0.0; r * r];
        for i in 0..p {
            t[i * r] = phi[i];
        }
        for i in 1..r {
            t[(i - 1) * r + i] = 1.0;
        }
        let mut rv = vec![0.0; r];
        rv[0] = 1.0;
        rv[1..=theta.len()].copy_from_slice(theta);
        for i in 0..r {
            for j in 0..r {
                let mut v = rv[i] * rv[j];
                for k in 0..r {
                    for l in 0..r {
                        v += t[i * r + k] * out[k * r + l] * t[j * r + l];
                    }
                }
                assert!(
                    (v - out[i * r + j]).abs() < 1e-9 * out[0].abs().max(1.0),
                    "phi {phi:?} theta {theta:?}: P[{i},{j}] = {} but T P T' + V = {v}",
                    out[i * r + j]
                );
            }
        }
    }

    #[test]
    fn q0_is_the_stationary_covariance() {
        check_lyapunov(&[0.5], &[]);
        check_lyapunov(&[0.5, -0.3], &[0.4]);
        check_lyapunov(&[], &[0.4, 0.2]);
        check_lyapunov(&[0.2, 0.1, 0.3], &[-0.5]);
        check_lyapunov(&[0.6], &[0.3, -0.2, 0.1, 0.05]);
        // A seasonal AR(1)(1)[4] expanded.
        check_lyapunov(&[0.5, 0.0, 0.0, 0.4, -0.2], &[0.3]);
    }

    /// The autocovariance route gives Gardner et al.'s matrix (R's and statsforecast's),
    /// on non-seasonal and expanded monthly models, near the unit circle too.
    #[test]
    fn q0_matches_gardners_method() {
        let seasonal = |p: &[f64], sp: &[f64], m: usize| {
            // (1 − Σ φ_i B^i)(1 − Σ Φ_j B^{mj}) as φ coefficients.
            let mut poly = vec![0.0; p.len() + m * sp.len() + 1];
            poly[0] = 1.0;
            for (i, v) in p.iter().enumerate() {
                poly[i + 1] -= v;
            }
            let base = poly.clone();
            for (j, s) in sp.iter().enumerate() {
                for (i, b) in base.iter().enumerate() {
                    if i + m * (j + 1) < poly.len() {
                        poly[i + m * (j + 1)] -= s * b;
                    }
                }
            }
            poly[1..].iter().map(|v| -v).collect::<Vec<f64>>()
        };
        let mut ma12 = vec![0.0; 13];
        ma12[0] = -0.3;
        ma12[11] = -0.85;
        ma12[12] = 0.3 * 0.85;
        let cases: Vec<(Vec<f64>, Vec<f64>)> = vec![
            (vec![0.5], vec![]),
            (vec![0.5, -0.3], vec![0.4]),
            (vec![0.2, 0.1, 0.3], vec![-0.5]),
            (vec![0.6], vec![0.3, -0.2, 0.1, 0.05]),
            (vec![], vec![0.4, 0.2]),
            (vec![0.999], vec![-0.5]),
            (seasonal(&[0.85], &[0.4], 12), vec![-0.3]),
            (seasonal(&[0.3, 0.2, -0.1], &[0.82, -0.69], 12), vec![0.4]),
            (seasonal(&[0.95], &[], 12), ma12.clone()),
            (vec![0.9], ma12),
        ];
        for (phi, theta) in cases {
            let r = phi.len().max(theta.len() + 1);
            let (mut new, mut old) = (vec![0.0; r * r], vec![0.0; r * r]);
            q0(&phi, &theta, &mut new, &mut Q0Work::default());
            q0_gardner(&phi, &theta, &mut old, &mut Q0Work::default());
            let scale = old[0].abs().max(1.0);
            for (i, (a, b)) in new.iter().zip(&old).enumerate() {
                assert!(
                    (a - b).abs() < 1e-9 * scale,
                    "phi {phi:?} theta {theta:?}: P[{}, {}] = {a} vs Gardner {b}",
                    i / r,
                    i % r
                );
            }
            check_lyapunov(&phi, &theta);
        }
    }

    #[test]
    fn partrans_round_trips_and_is_stationary() {
        let raw = [0.3, -1.2, 0.8];
        let mut phi = [0.0; 3];
        partrans(&raw, &mut phi);
        let mut back = [0.0; 3];
        assert!(inv_partrans(&phi, &mut back));
        for (a, b) in raw.iter().zip(&back) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!(!inv_partrans(&[1.2], &mut back));
        assert!(
            !inv_partrans(&[0.5, 0.6], &mut back),
            "1 - .5B - .6B² has a root inside"
        );
    }

    #[test]
    fn delta_expands_the_differences() {
        let o = Orders {
            p: 0,
            q: 0,
            sp: 0,
            sq: 0,
            m: 4,
            d: 1,
            sd: 1,
        };
        // (1 − B)(1 − B⁴) = 1 − B − B⁴ + B⁵.
        assert_eq!(o.delta(), vec![1.0, 0.0, 0.0, 1.0, -1.0]);
        let o = Orders {
            d: 2,
            sd: 0,
            m: 1,
            ..o
        };
        assert_eq!(o.delta(), vec![2.0, -1.0]);
    }
}
