//! The seasonality test and the classical seasonal decomposition the Theta models apply
//! before fitting (as `statsforecast` 2.1.1's `auto_theta`, R `forecast::thetaf`, and
//! `statsmodels.tsa.seasonal.seasonal_decompose` with its default centred moving average).

use crate::model::normal_quantile;

/// How the seasonal component is taken out of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decomposition {
    /// `y = trend · seasonal · remainder` (the default; needs positive data).
    Multiplicative,
    /// `y = trend + seasonal + remainder`.
    Additive,
}

/// Whether `y` is seasonal at lag `season`: the lag-`season` autocorrelation is
/// significant at 90% (two-sided) against Bartlett's standard error from the lower lags,
/// `|r_m| / sqrt((1 + 2 Σ_{k<m} r_k²) / n) > z_0.95`. Only for `season ≥ 4` and at least
/// two full seasons; a constant series is not seasonal.
pub(crate) fn is_seasonal(y: &[f64], season: usize) -> bool {
    let n = y.len();
    if season < 4 || n < 2 * season {
        return false;
    }
    let mean = y.iter().sum::<f64>() / n as f64;
    let c0: f64 = y.iter().map(|v| (v - mean) * (v - mean)).sum();
    let acf = |k: usize| -> f64 {
        y[..n - k]
            .iter()
            .zip(&y[k..])
            .map(|(a, b)| (a - mean) * (b - mean))
            .sum::<f64>()
            / c0
    };
    let lower: f64 = (1..season).map(|k| acf(k).powi(2)).sum();
    let stat = ((1.0 + 2.0 * lower) / n as f64).sqrt();
    acf(season).abs() / stat > normal_quantile(0.95)
}

/// The seasonal indices of the classical decomposition, one per position in the season
/// (position `t % season` of observation `t`): the series over (or minus) its centred
/// moving average of order `season` (a 2×m average for even `season`), averaged per
/// position over the periods where the average exists, normalised to mean 1 (or 0).
///
/// Needs at least two full seasons (the caller checks).
pub(crate) fn seasonal_indices(y: &[f64], season: usize, kind: Decomposition) -> Vec<f64> {
    let n = y.len();
    let m = season as f64;
    let half = season / 2;
    let mut sums = vec![0.0; season];
    let mut counts = vec![0usize; season];
    for t in half..n - half {
        let trend = if season.is_multiple_of(2) {
            let inner: f64 = y[t + 1 - half..t + half].iter().sum();
            (0.5 * y[t - half] + inner + 0.5 * y[t + half]) / m
        } else {
            y[t - half..=t + half].iter().sum::<f64>() / m
        };
        sums[t % season] += match kind {
            Decomposition::Multiplicative => y[t] / trend,
            Decomposition::Additive => y[t] - trend,
        };
        counts[t % season] += 1;
    }
    let mut idx: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s / c as f64)
        .collect();
    let mean = idx.iter().sum::<f64>() / m;
    for v in &mut idx {
        match kind {
            Decomposition::Multiplicative => *v /= mean,
            Decomposition::Additive => *v -= mean,
        }
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pure_seasonal_pattern_is_recovered() {
        // Trend 10 + t with a ×(0.8, 1.2, 1.0, 1.0) pattern; the centred average of a
        // linear trend times factors averaging 1 is the trend, so the indices come back.
        let f = [0.8, 1.2, 1.0, 1.0];
        let y: Vec<f64> = (0..16).map(|t| 100.0 * f[t % 4]).collect();
        let idx = seasonal_indices(&y, 4, Decomposition::Multiplicative);
        for (a, b) in idx.iter().zip(f) {
            assert!((a - b).abs() < 1e-12, "{idx:?}");
        }
        let idx = seasonal_indices(&y, 4, Decomposition::Additive);
        for (a, b) in idx.iter().zip(f) {
            assert!((a - 100.0 * (b - 1.0)).abs() < 1e-9, "{idx:?}");
        }
        assert!(is_seasonal(&y, 4));
        assert!(!is_seasonal(&y, 3), "season below 4 is never tested");
        assert!(!is_seasonal(&[5.0; 16], 4), "a constant series");
        assert!(!is_seasonal(&y[..7], 4), "fewer than two seasons");
    }
}
