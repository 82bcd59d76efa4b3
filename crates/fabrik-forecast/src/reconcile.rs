//! Coherent forecasts of a hierarchy: the forecasts of the children sum to the forecast of
//! their total (a product family and its options, a plant and its lines).
//!
//! A [`Hierarchy`] is its summing matrix `S` (`n` nodes × `m` bottom series): row `i` says
//! which bottom series node `i` adds up. [`Hierarchy::two_level`] is the common case, a
//! total and its children (rows: the total, then each child).
//!
//! - [`Hierarchy::bottom_up`]: forecast the bottom series, add them up.
//! - [`reconcile_mint_shrink`]: MinT (Wickramasuriya, Athanasopoulos & Hyndman 2019):
//!   forecast every node, then `ỹ = S·P·ŷ` with `P = (S'W⁻¹S)⁻¹S'W⁻¹` and `W` the shrinkage
//!   estimate of the covariance of the one-step in-sample residuals
//!   ([`shrinkage_covariance`], Schäfer & Strimmer 2005).
//! - [`options_as_shares`]: top-down by forecast proportions: the family total is split by
//!   the forecast shares of its options (how often each option is chosen).
//!
//! Series are given as rows: `rows[i][t]` is node `i` (in the order of `S`'s rows) at step
//! or time `t`.

use nalgebra::DMatrix;

use crate::error::{Error, Result};

/// A hierarchy as its summing matrix `S`: `n` nodes (rows) × `m` bottom series (columns).
#[derive(Debug, Clone, PartialEq)]
pub struct Hierarchy {
    s: DMatrix<f64>,
}

fn problem(text: impl Into<String>) -> Error {
    Error::Hierarchy {
        problem: text.into(),
    }
}

/// Rows (all of length `cols`) as an `rows.len() × cols` matrix.
fn matrix(what: &'static str, rows: &[Vec<f64>], cols: usize) -> Result<DMatrix<f64>> {
    for r in rows {
        if r.len() != cols {
            return Err(Error::Length {
                what,
                expected: cols,
                got: r.len(),
            });
        }
    }
    Ok(DMatrix::from_fn(rows.len(), cols, |i, j| rows[i][j]))
}

fn to_rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    (0..m.nrows())
        .map(|i| m.row(i).iter().copied().collect())
        .collect()
}

impl Hierarchy {
    /// A total and its `children`: `S` = a row of ones over the identity; node 0 is the
    /// total, node `1 + k` child `k`.
    ///
    /// Errors: [`Error::Hierarchy`] for no child.
    pub fn two_level(children: usize) -> Result<Hierarchy> {
        if children == 0 {
            return Err(problem("a hierarchy needs at least one child"));
        }
        Ok(Hierarchy {
            s: DMatrix::from_fn(children + 1, children, |i, j| {
                if i == 0 || i == j + 1 { 1.0 } else { 0.0 }
            }),
        })
    }

    /// A hierarchy from the rows of its summing matrix (each row: the weight, usually 0 or
    /// 1, of each bottom series in that node).
    ///
    /// Errors: [`Error::Hierarchy`] for no row or column, fewer nodes than bottom series, or
    /// a non-finite entry; [`Error::Length`] for rows of different lengths.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Hierarchy> {
        let m = rows.first().map_or(0, Vec::len);
        if m == 0 {
            return Err(problem("the summing matrix is empty"));
        }
        if rows.len() < m {
            return Err(problem(format!(
                "the summing matrix has {} rows (nodes) for {m} bottom series: it needs at least one row per bottom series",
                rows.len()
            )));
        }
        let s = matrix("summing matrix row", rows, m)?;
        if s.iter().any(|v| !v.is_finite()) {
            return Err(problem("the summing matrix has a non-finite entry"));
        }
        Ok(Hierarchy { s })
    }

    /// The number of nodes (rows of `S`).
    pub fn nodes(&self) -> usize {
        self.s.nrows()
    }

    /// The number of bottom series (columns of `S`).
    pub fn bottom(&self) -> usize {
        self.s.ncols()
    }

    /// The summing matrix as rows.
    pub fn summing_matrix(&self) -> Vec<Vec<f64>> {
        to_rows(&self.s)
    }

    /// Bottom-up: every node's forecast is `S` times the bottom forecasts
    /// (`bottom[k][t]`, `m` rows of one horizon).
    ///
    /// Errors: [`Error::Length`] for another number of rows than bottom series or rows of
    /// different lengths.
    pub fn bottom_up(&self, bottom: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        if bottom.len() != self.bottom() {
            return Err(Error::Length {
                what: "bottom forecasts (rows)",
                expected: self.bottom(),
                got: bottom.len(),
            });
        }
        let h = bottom.first().map_or(0, Vec::len);
        let b = matrix("bottom forecast", bottom, h)?;
        Ok(to_rows(&(&self.s * b)))
    }
}

/// The shrinkage estimate of a covariance matrix and its shrinkage intensity.
#[derive(Debug, Clone, PartialEq)]
pub struct ShrunkCovariance {
    /// `W = λ·diag(Σ̂) + (1 − λ)·Σ̂`, `n × n` rows.
    pub covariance: Vec<Vec<f64>>,
    /// The shrinkage intensity `λ` in `[0, 1]`.
    pub lambda: f64,
    /// The time points used (those where every node has a finite residual).
    pub observations: usize,
}

/// The covariance of residuals (`residuals[i][t]`, node `i` at time `t`) shrunk towards its
/// diagonal with the intensity of Schäfer & Strimmer (2005), as the authors of MinT compute
/// it (R `hts`'s `shrink.estim`, which `hierarchicalforecast`'s `mint_shrink` follows):
///
/// - `Σ̂ = X'X / T`: residuals are one-step forecast errors, taken as mean zero, so not
///   centred;
/// - with `x̃` the residuals divided by their root mean square and `r` the correlations of
///   `Σ̂`: `λ = Σ_{i≠j} Var̂(r_ij) / Σ_{i≠j} r_ij²`, where
///   `Var̂(r_ij) = (Σ_t x̃_ti² x̃_tj² − (Σ_t x̃_ti x̃_tj)² / T) / (T (T − 1))`, clipped to
///   `[0, 1]` (and 1 when no two nodes are correlated).
///
/// Time points where any node's residual is NaN (the first season of a seasonal model has
/// no fitted value) are left out. A node whose residuals are all zero counts as
/// uncorrelated with the others.
///
/// Errors: [`Error::Length`] for rows of different lengths, [`Error::Hierarchy`] for no
/// node or fewer than two complete time points, or an infinite residual.
pub fn shrinkage_covariance(residuals: &[Vec<f64>]) -> Result<ShrunkCovariance> {
    let (w, lambda, observations) = shrink(residuals)?;
    Ok(ShrunkCovariance {
        covariance: to_rows(&w),
        lambda,
        observations,
    })
}

fn shrink(residuals: &[Vec<f64>]) -> Result<(DMatrix<f64>, f64, usize)> {
    let n = residuals.len();
    if n == 0 {
        return Err(problem("no residuals"));
    }
    let len = residuals[0].len();
    let r = matrix("residual row", residuals, len)?;
    if r.iter().any(|v| v.is_infinite()) {
        return Err(problem("a residual is infinite"));
    }
    let complete: Vec<usize> = (0..len)
        .filter(|&t| r.column(t).iter().all(|v| !v.is_nan()))
        .collect();
    let t_len = complete.len();
    if t_len < 2 {
        return Err(problem(format!(
            "the shrinkage covariance needs at least two time points where every node has a residual, got {t_len}"
        )));
    }
    // x: T × n, rows are time points.
    let x = DMatrix::from_fn(t_len, n, |t, i| r[(i, complete[t])]);
    let tf = t_len as f64;
    let cov = x.transpose() * &x / tf;
    let sd: Vec<f64> = (0..n).map(|i| cov[(i, i)].sqrt()).collect();
    let xs = DMatrix::from_fn(
        t_len,
        n,
        |t, i| {
            if sd[i] > 0.0 { x[(t, i)] / sd[i] } else { 0.0 }
        },
    );
    let xs2 = xs.map(|v| v * v);
    let sum_sq = xs2.transpose() * &xs2;
    let cross = xs.transpose() * &xs;
    let (mut v_sum, mut d_sum) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            v_sum += (sum_sq[(i, j)] - cross[(i, j)] * cross[(i, j)] / tf) / (tf * (tf - 1.0));
            let corr = if sd[i] > 0.0 && sd[j] > 0.0 {
                cov[(i, j)] / (sd[i] * sd[j])
            } else {
                0.0
            };
            d_sum += corr * corr;
        }
    }
    let lambda = if d_sum > 0.0 {
        (v_sum / d_sum).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let w = DMatrix::from_fn(n, n, |i, j| {
        if i == j {
            cov[(i, j)]
        } else {
            (1.0 - lambda) * cov[(i, j)]
        }
    });
    Ok((w, lambda, t_len))
}

/// Forecasts reconciled by MinT with the shrinkage covariance.
#[derive(Debug, Clone, PartialEq)]
pub struct MintShrink {
    /// The coherent forecasts, one row per node (in `S`'s order).
    pub reconciled: Vec<Vec<f64>>,
    /// The shrinkage intensity used.
    pub lambda: f64,
}

/// MinT reconciliation with the shrinkage covariance: `ỹ = S·P·ŷ`,
/// `P = (S'W⁻¹S)⁻¹S'W⁻¹`, `W` from [`shrinkage_covariance`] of `residuals` (one-step
/// in-sample residuals, a row per node). `base[i]` is the base forecast of node `i` (all
/// rows of one horizon). Solves by Cholesky factorisations (nalgebra), never an explicit
/// inverse.
///
/// Errors: [`Error::Length`] when `base` or `residuals` do not have a row per node (or
/// rows of different lengths); [`Error::Hierarchy`] when `W` is not positive definite (a
/// node whose residuals are all zero, or nodes whose residuals are exactly collinear and
/// not shrunk apart) or as [`shrinkage_covariance`].
pub fn reconcile_mint_shrink(
    base: &[Vec<f64>],
    residuals: &[Vec<f64>],
    hierarchy: &Hierarchy,
) -> Result<MintShrink> {
    let n = hierarchy.nodes();
    for (what, rows) in [
        ("base forecasts (rows)", base.len()),
        ("residuals (rows)", residuals.len()),
    ] {
        if rows != n {
            return Err(Error::Length {
                what,
                expected: n,
                got: rows,
            });
        }
    }
    let h = base[0].len();
    let y = matrix("base forecast row", base, h)?;
    let (w, lambda, _) = shrink(residuals)?;
    let s = &hierarchy.s;
    let not_pd = || {
        problem(
            "the residual covariance is not positive definite (a node with all-zero residuals, or exactly collinear residuals)",
        )
    };
    let w_chol = w.cholesky().ok_or_else(not_pd)?;
    let w_inv_s = w_chol.solve(s);
    let a = s.transpose() * &w_inv_s;
    let a_chol = a.cholesky().ok_or_else(|| {
        problem("S'W⁻¹S is singular: does every bottom series appear in the summing matrix?")
    })?;
    // P = A⁻¹ (W⁻¹S)' since W is symmetric.
    let p = a_chol.solve(&w_inv_s.transpose());
    let reconciled = s * (p * y);
    Ok(MintShrink {
        reconciled: to_rows(&reconciled),
        lambda,
    })
}

/// Top-down by forecast proportions for the options of a product family: the family's
/// forecast `family[t]` is split among its options by their forecast shares
/// (`shares[k][t]`: the forecast of how often option `k` is chosen, as a share, a count or
/// a rate: only the proportions matter), so that the option forecasts add up to the family
/// total at every step.
///
/// Negative share forecasts (a model can undershoot zero) count as zero; a step where all
/// shares are zero is split equally.
///
/// Errors: [`Error::Hierarchy`] for no option; [`Error::Length`] for a share row of
/// another length than the family forecast; [`Error::NonFinite`] for a NaN or infinite
/// share (its position counts along the row of that option).
pub fn options_as_shares(family: &[f64], shares: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    if shares.is_empty() {
        return Err(problem("a family needs at least one option"));
    }
    for row in shares {
        if row.len() != family.len() {
            return Err(Error::Length {
                what: "option share forecasts",
                expected: family.len(),
                got: row.len(),
            });
        }
        if let Some((position, &value)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite { position, value });
        }
    }
    let k = shares.len() as f64;
    let mut out = vec![vec![0.0; family.len()]; shares.len()];
    for (t, &total) in family.iter().enumerate() {
        let sum: f64 = shares.iter().map(|r| r[t].max(0.0)).sum();
        for (o, row) in out.iter_mut().zip(shares) {
            o[t] = if sum > 0.0 {
                total * (row[t].max(0.0) / sum)
            } else {
                total / k
            };
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: &[Vec<f64>], want: &[&[f64]], tol: f64) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.len(), w.len());
            for (a, b) in g.iter().zip(*w) {
                assert!(
                    (a - b).abs() <= tol * b.abs().max(1.0),
                    "{got:?} vs {want:?}"
                );
            }
        }
    }

    fn coherent(rows: &[Vec<f64>], tol: f64) {
        for t in 0..rows[0].len() {
            let children: f64 = rows[1..].iter().map(|r| r[t]).sum();
            assert!((rows[0][t] - children).abs() <= tol * rows[0][t].abs().max(1.0));
        }
    }

    // Residuals of a total and two children (rows), 8 time points, the total's the sum of
    // the children's plus noise.
    const RES: [[f64; 8]; 3] = [
        [1.2, -0.8, 0.5, 2.1, -1.5, 0.3, -0.9, 1.0],
        [0.7, -0.2, 0.1, 1.3, -0.9, 0.4, -0.6, 0.2],
        [0.4, -0.5, 0.6, 0.5, -0.4, -0.3, -0.1, 0.9],
    ];
    const BASE: [[f64; 2]; 3] = [[105.0, 98.0], [60.0, 55.0], [40.0, 41.0]];

    fn rows<const N: usize>(a: &[[f64; N]]) -> Vec<Vec<f64>> {
        a.iter().map(|r| r.to_vec()).collect()
    }

    // numpy, following R hts's shrink.estim (Σ = X'X/T, Schäfer–Strimmer λ) and
    // P = (S'W⁻¹S)⁻¹S'W⁻¹:
    //   python3 -c "import numpy as np; R=np.array([[1.2,-0.8,0.5,2.1,-1.5,0.3,-0.9,1.0], \
    //   [0.7,-0.2,0.1,1.3,-0.9,0.4,-0.6,0.2],[0.4,-0.5,0.6,0.5,-0.4,-0.3,-0.1,0.9]]); \
    //   x=R.T; T=x.shape[0]; C=x.T@x/T; sd=np.sqrt(np.diag(C)); xs=x/sd; \
    //   v=(xs.T**2@xs**2-(xs.T@xs)**2/T)/(T*(T-1)); np.fill_diagonal(v,0); \
    //   d=(C/np.outer(sd,sd)-np.eye(3))**2; lam=min(max(v.sum()/d.sum(),0),1); \
    //   W=lam*np.diag(np.diag(C))+(1-lam)*C; S=np.array([[1.,1],[1,0],[0,1]]); \
    //   Wi=np.linalg.inv(W); P=np.linalg.inv(S.T@Wi@S)@S.T@Wi; \
    //   B=np.array([[105.,98],[60,55],[40,41]]); print(repr(lam)); print(W.tolist()); \
    //   print((S@P@B).tolist())"
    const LAMBDA: f64 = 0.15184219083776884;
    const W: [[f64; 3]; 3] = [
        [1.36125, 0.6350581596102206, 0.3954535785218903],
        [0.6350581596102206, 0.45, 0.16645097004808787],
        [0.3954535785218903, 0.16645097004808787, 0.26125],
    ];
    const MINT: [[f64; 2]; 3] = [
        [100.19804086777508, 96.07921634711003],
        [59.72984388519699, 54.89193755407879],
        [40.468196982578085, 41.187278793031254],
    ];

    #[test]
    fn mint_shrink_matches_numpy() -> Result<()> {
        let h = Hierarchy::two_level(2)?;
        let cov = shrinkage_covariance(&rows(&RES))?;
        assert!((cov.lambda - LAMBDA).abs() < 1e-12);
        assert_close(&cov.covariance, &[&W[0], &W[1], &W[2]], 1e-12);
        let m = reconcile_mint_shrink(&rows(&BASE), &rows(&RES), &h)?;
        assert!((m.lambda - LAMBDA).abs() < 1e-12);
        assert_close(&m.reconciled, &[&MINT[0], &MINT[1], &MINT[2]], 1e-10);
        coherent(&m.reconciled, 1e-9);
        Ok(())
    }

    #[test]
    fn mint_keeps_coherent_forecasts_and_skips_nan_residuals() -> Result<()> {
        let h = Hierarchy::two_level(2)?;
        // P·S = I: forecasts that already add up come back unchanged.
        let base = vec![vec![100.0, 90.0], vec![60.0, 50.0], vec![40.0, 40.0]];
        let m = reconcile_mint_shrink(&base, &rows(&RES), &h)?;
        assert_close(&m.reconciled, &[&base[0], &base[1], &base[2]], 1e-10);
        // A leading NaN column (no fitted value yet) is left out.
        let mut res = rows(&RES);
        for r in &mut res {
            r.insert(0, f64::NAN);
        }
        r_eq(
            &shrinkage_covariance(&res)?,
            &shrinkage_covariance(&rows(&RES))?,
        );
        Ok(())
    }

    fn r_eq(a: &ShrunkCovariance, b: &ShrunkCovariance) {
        assert_eq!(a.lambda, b.lambda);
        assert_eq!(a.covariance, b.covariance);
        assert_eq!(a.observations, b.observations);
    }

    #[test]
    fn bottom_up_is_the_sum_of_the_children() -> Result<()> {
        let h = Hierarchy::two_level(3)?;
        let b = vec![vec![1.5, 2.0], vec![3.25, 0.0], vec![4.0, 7.5]];
        let all = h.bottom_up(&b)?;
        assert_eq!(all.len(), 4);
        assert_eq!(all[0], vec![1.5 + 3.25 + 4.0, 2.0 + 7.5]);
        assert_eq!(&all[1..], &b[..]);
        // A general S: a three-level tree (total, two groups, four bottoms).
        let s = Hierarchy::from_rows(&[
            vec![1.0, 1.0, 1.0, 1.0],
            vec![1.0, 1.0, 0.0, 0.0],
            vec![0.0, 0.0, 1.0, 1.0],
            vec![1.0, 0.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0, 0.0],
            vec![0.0, 0.0, 1.0, 0.0],
            vec![0.0, 0.0, 0.0, 1.0],
        ])?;
        let all = s.bottom_up(&[vec![1.0], vec![2.0], vec![3.0], vec![4.0]])?;
        assert_eq!(
            all,
            vec![
                vec![10.0],
                vec![3.0],
                vec![7.0],
                vec![1.0],
                vec![2.0],
                vec![3.0],
                vec![4.0]
            ]
        );
        assert!(matches!(
            h.bottom_up(&b[..2]),
            Err(Error::Length {
                expected: 3,
                got: 2,
                ..
            })
        ));
        Ok(())
    }

    #[test]
    fn shares_split_the_family_exactly() -> Result<()> {
        let family = [120.0, 80.0, 0.0, 33.3];
        let shares = vec![
            vec![0.5, 2.0, 1.0, 0.0],
            vec![0.3, 1.0, 1.0, 0.0],
            vec![0.2, -0.5, 2.0, 0.0],
        ];
        let opts = options_as_shares(&family, &shares)?;
        assert_close(
            &opts,
            &[
                &[60.0, 80.0 * 2.0 / 3.0, 0.0, 11.1],
                &[36.0, 80.0 / 3.0, 0.0, 11.1],
                &[24.0, 0.0, 0.0, 11.1],
            ],
            1e-12,
        );
        for t in 0..family.len() {
            let sum: f64 = opts.iter().map(|o| o[t]).sum();
            assert!((sum - family[t]).abs() <= 1e-9 * family[t].abs().max(1.0));
        }
        assert!(matches!(
            options_as_shares(&family, &[vec![1.0, f64::NAN, 1.0, 1.0]]),
            Err(Error::NonFinite { position: 1, .. })
        ));
        assert!(matches!(
            options_as_shares(&family, &[vec![1.0]]),
            Err(Error::Length { .. })
        ));
        assert!(matches!(
            options_as_shares(&family, &[]),
            Err(Error::Hierarchy { .. })
        ));
        Ok(())
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        assert!(matches!(
            Hierarchy::two_level(0),
            Err(Error::Hierarchy { .. })
        ));
        assert!(matches!(
            Hierarchy::from_rows(&[vec![1.0, 1.0]]),
            Err(Error::Hierarchy { .. })
        ));
        let h = Hierarchy::two_level(2).expect("two children");
        // A child whose residuals are all zero: W is singular.
        let mut res = rows(&RES);
        res[2] = vec![0.0; 8];
        assert!(matches!(
            reconcile_mint_shrink(&rows(&BASE), &res, &h),
            Err(Error::Hierarchy { .. })
        ));
        assert!(matches!(
            reconcile_mint_shrink(&rows(&BASE[..2]), &rows(&RES), &h),
            Err(Error::Length {
                expected: 3,
                got: 2,
                ..
            })
        ));
        assert!(matches!(
            shrinkage_covariance(&[vec![1.0]]),
            Err(Error::Hierarchy { .. })
        ));
    }
}
