//! Accuracy of a forecast against the actuals that followed, given the training series the
//! scaled measures are scaled by.
//!
//! | measure | definition (`e = ŷ − y` over the `h` forecast steps) |
//! | --- | --- |
//! | MAE, RMSE | `mean|e|`, `sqrt(mean e²)` |
//! | MASE | `mean|e|` / the in-sample MAE of the seasonal naive forecast (Hyndman & Koehler 2006) |
//! | RMSSE | `sqrt(mean e² / mean (yₜ − yₜ₋ₘ)²)`: as in the M5 competition, with the season `m` |
//! | sMAPE | `200/h · Σ |e| / (|y| + |ŷ|)`, a term with `0/0` counts as 0 (M4's 0..200 scale; `utilsforecast`'s `smape` is this divided by 200) |
//! | WAPE | `Σ|e| / Σ|y|` |
//! | bias | `mean e` (positive: over-forecast), and scaled by MASE's scale |
//! | coverage | the share of actuals inside `[lo, hi]`, per interval level |
//! | pinball | the mean quantile loss of the two bounds, `lo` as the `(1 − L)/2` quantile and `hi` as the `(1 + L)/2` quantile, scaled by MASE's scale (`utilsforecast`'s `scaled_quantile_loss`, averaged over the two bounds) |
//!
//! # The scale
//! MASE, RMSSE, the scaled bias and the scaled pinball loss divide by the in-sample errors of
//! the seasonal naive forecast `yₜ₋ₘ` of the training series ([`NaiveScale`]). A training
//! series shorter than two seasons (`len < 2m`) has too few seasonal differences to be a
//! stable scale, so it is scaled by the lag-1 (naive) differences instead; the lag used is
//! in [`NaiveScale::lag`].
//!
//! **Zero or undefined scale: NaN, not an error.** A training series that is constant (all
//! zeros, as new or dormant intermittent items often are) has zero naive error, and one of a
//! single observation has none at all. The scaled measures of such a series are then `NaN`
//! (never infinity, whether the forecast errors are zero or not), while the unscaled ones
//! (MAE, RMSE, sMAPE, WAPE, bias, coverage) are still computed. A typed error would discard
//! the whole evaluation of a series for one undefined ratio; NaN keeps the rest, and the
//! aggregates of [`crate::backtest`] skip NaN and count the series they skipped. Likewise
//! WAPE is `NaN` when all actuals are zero.

use crate::error::{Error, Result};
use crate::model::Forecast;

/// The in-sample errors of the seasonal naive forecast `ŷₜ = yₜ₋ₘ` of a training series: the
/// denominators of MASE, RMSSE and the scaled pinball loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NaiveScale {
    /// The lag of the differences: the season when the series has at least two seasons of
    /// data, else 1.
    pub lag: usize,
    /// `mean |yₜ − yₜ₋lag|`: the scale of MASE (NaN when the series has no difference).
    pub mae: f64,
    /// `mean (yₜ − yₜ₋lag)²`: the scale of RMSSE, under its root (NaN when the series has no
    /// difference).
    pub mse: f64,
}

impl NaiveScale {
    /// The scale of `train` for a season of `season` periods (1 = no seasonality).
    ///
    /// Errors: [`Error::Season`] for a season of 0.
    pub fn new(train: &[f64], season: usize) -> Result<NaiveScale> {
        if season == 0 {
            return Err(Error::Season { season });
        }
        let lag = if train.len() >= 2 * season { season } else { 1 };
        let n = train.len().saturating_sub(lag);
        if n == 0 {
            return Ok(NaiveScale {
                lag,
                mae: f64::NAN,
                mse: f64::NAN,
            });
        }
        let (mut abs, mut sq) = (0.0, 0.0);
        for (now, before) in train[lag..].iter().zip(train) {
            let d = now - before;
            abs += d.abs();
            sq += d * d;
        }
        Ok(NaiveScale {
            lag,
            mae: abs / n as f64,
            mse: sq / n as f64,
        })
    }

    /// Whether the scale can divide: finite and positive (see the module's notes on zero
    /// scale).
    pub fn is_defined(&self) -> bool {
        self.mae > 0.0 && self.mae.is_finite() && self.mse > 0.0 && self.mse.is_finite()
    }
}

/// `x / scale`, NaN unless the scale is finite and positive.
fn divide(x: f64, scale: f64) -> f64 {
    if scale > 0.0 && scale.is_finite() {
        x / scale
    } else {
        f64::NAN
    }
}

/// The accuracy of one interval level.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalAccuracy {
    /// The level, in percent.
    pub level: f64,
    /// The share of actuals inside `[lo, hi]` (bounds included), in `[0, 1]`.
    pub coverage: f64,
    /// The pinball loss of the two bounds (mean over steps and the two quantiles), scaled by
    /// [`NaiveScale::mae`] (NaN for a zero scale).
    pub pinball: f64,
}

/// The accuracy of one forecast (or, from [`Accuracy::summarize`], of several).
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracy {
    /// The number of forecast points compared.
    pub n: usize,
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute scaled error (NaN for a zero scale).
    pub mase: f64,
    /// Root mean squared scaled error (NaN for a zero scale).
    pub rmsse: f64,
    /// Symmetric MAPE on the 0..200 scale.
    pub smape: f64,
    /// `Σ|e| / Σ|y|` (NaN when all actuals are zero).
    pub wape: f64,
    /// Mean error, forecast − actual (positive: over-forecast).
    pub bias: f64,
    /// [`Accuracy::bias`] divided by [`NaiveScale::mae`] (NaN for a zero scale).
    pub scaled_bias: f64,
    /// `Σ|e|`, WAPE's numerator (for pooling WAPE over windows and series).
    pub abs_error: f64,
    /// `Σ|y|`, WAPE's denominator.
    pub abs_actual: f64,
    /// One entry per interval of the forecast, in its order.
    pub intervals: Vec<IntervalAccuracy>,
}

impl Accuracy {
    /// The accuracy of the interval at `level`, if there is one.
    pub fn interval(&self, level: f64) -> Option<&IntervalAccuracy> {
        self.intervals.iter().find(|i| i.level == level)
    }

    /// Combines the accuracies of several forecasts of one series (the windows of a
    /// backtest): the mean of each measure over the parts where it is defined (NaN parts are
    /// skipped; NaN if none is defined), except WAPE, which is pooled (`ΣΣ|e| / ΣΣ|y|`), and
    /// `n`, `abs_error`, `abs_actual`, which are summed. Intervals are matched by level, in
    /// the order of the first part.
    pub fn summarize(parts: &[Accuracy]) -> Accuracy {
        let mean = |f: &dyn Fn(&Accuracy) -> f64| nan_mean(parts.iter().map(f));
        let abs_error = parts.iter().map(|p| p.abs_error).sum::<f64>();
        let abs_actual = parts.iter().map(|p| p.abs_actual).sum::<f64>();
        let intervals = parts
            .first()
            .map(|first| {
                first
                    .intervals
                    .iter()
                    .map(|i| {
                        let of_level = |f: fn(&IntervalAccuracy) -> f64| {
                            nan_mean(parts.iter().filter_map(|p| p.interval(i.level)).map(f))
                        };
                        IntervalAccuracy {
                            level: i.level,
                            coverage: of_level(|i| i.coverage),
                            pinball: of_level(|i| i.pinball),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Accuracy {
            n: parts.iter().map(|p| p.n).sum(),
            mae: mean(&|p| p.mae),
            rmse: mean(&|p| p.rmse),
            mase: mean(&|p| p.mase),
            rmsse: mean(&|p| p.rmsse),
            smape: mean(&|p| p.smape),
            wape: divide(abs_error, abs_actual),
            bias: mean(&|p| p.bias),
            scaled_bias: mean(&|p| p.scaled_bias),
            abs_error,
            abs_actual,
            intervals,
        }
    }
}

/// The mean of the non-NaN values (NaN if there is none).
pub(crate) fn nan_mean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values.filter(|v| !v.is_nan()) {
        sum += v;
        n += 1;
    }
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::Length {
            what,
            expected,
            got,
        })
    }
}

/// Checks that actuals and forecasts pair up and are not empty.
fn check_pair(actual: &[f64], forecast: &[f64]) -> Result<()> {
    if actual.is_empty() {
        return Err(Error::Horizon);
    }
    check_len("forecast", actual.len(), forecast.len())
}

/// The quantile (pinball) loss of the forecast `q` of the `tau` quantile for the actual `y`.
pub fn pinball(y: f64, q: f64, tau: f64) -> f64 {
    let d = y - q;
    (tau * d).max((tau - 1.0) * d)
}

/// The accuracy of `forecast` against `actual` (the values that followed `train`), with the
/// scaled measures scaled by the seasonal naive errors of `train` for a season of `season`.
///
/// Errors: [`Error::Horizon`] for no actuals, [`Error::Length`] when the forecast or an
/// interval has a length other than the actuals', [`Error::Season`] for a season of 0.
pub fn accuracy(
    train: &[f64],
    actual: &[f64],
    forecast: &Forecast,
    season: usize,
) -> Result<Accuracy> {
    check_pair(actual, &forecast.mean)?;
    let scale = NaiveScale::new(train, season)?;
    let n = actual.len() as f64;
    let (mut abs_error, mut sq, mut err, mut sym, mut abs_actual) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&y, &f) in actual.iter().zip(&forecast.mean) {
        let e = f - y;
        abs_error += e.abs();
        sq += e * e;
        err += e;
        abs_actual += y.abs();
        let denominator = y.abs() + f.abs();
        if denominator != 0.0 {
            sym += e.abs() / denominator;
        }
    }
    let mut intervals = Vec::with_capacity(forecast.intervals.len());
    for i in &forecast.intervals {
        check_len("interval lower bounds", actual.len(), i.lo.len())?;
        check_len("interval upper bounds", actual.len(), i.hi.len())?;
        let tau_lo = (1.0 - i.level / 100.0) / 2.0;
        let tau_hi = 1.0 - tau_lo;
        let (mut inside, mut loss) = (0usize, 0.0);
        for ((&y, &lo), &hi) in actual.iter().zip(&i.lo).zip(&i.hi) {
            if lo <= y && y <= hi {
                inside += 1;
            }
            loss += (pinball(y, lo, tau_lo) + pinball(y, hi, tau_hi)) / 2.0;
        }
        intervals.push(IntervalAccuracy {
            level: i.level,
            coverage: inside as f64 / n,
            pinball: divide(loss / n, scale.mae),
        });
    }
    let mae = abs_error / n;
    let mse = sq / n;
    Ok(Accuracy {
        n: actual.len(),
        mae,
        rmse: mse.sqrt(),
        mase: divide(mae, scale.mae),
        rmsse: divide(mse, scale.mse).sqrt(),
        smape: 200.0 * sym / n,
        wape: divide(abs_error, abs_actual),
        bias: err / n,
        scaled_bias: divide(err / n, scale.mae),
        abs_error,
        abs_actual,
        intervals,
    })
}

/// Mean absolute scaled error of `forecast` against `actual` (see the module docs; NaN for a
/// zero scale).
///
/// Errors: as [`accuracy`].
pub fn mase(train: &[f64], actual: &[f64], forecast: &[f64], season: usize) -> Result<f64> {
    check_pair(actual, forecast)?;
    let scale = NaiveScale::new(train, season)?;
    let mae = actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| (f - y).abs())
        .sum::<f64>()
        / actual.len() as f64;
    Ok(divide(mae, scale.mae))
}

/// Root mean squared scaled error (M5) of `forecast` against `actual` (NaN for a zero scale).
///
/// Errors: as [`accuracy`].
pub fn rmsse(train: &[f64], actual: &[f64], forecast: &[f64], season: usize) -> Result<f64> {
    check_pair(actual, forecast)?;
    let scale = NaiveScale::new(train, season)?;
    let mse = actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| (f - y) * (f - y))
        .sum::<f64>()
        / actual.len() as f64;
    Ok(divide(mse, scale.mse).sqrt())
}

/// Symmetric MAPE on the 0..200 scale (a `0/0` term counts as 0).
///
/// Errors: [`Error::Horizon`] for no actuals, [`Error::Length`] for a forecast of another
/// length.
pub fn smape(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair(actual, forecast)?;
    let sum = actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| {
            let d = y.abs() + f.abs();
            if d == 0.0 { 0.0 } else { (f - y).abs() / d }
        })
        .sum::<f64>();
    Ok(200.0 * sum / actual.len() as f64)
}

/// Weighted absolute percentage error `Σ|e| / Σ|y|` (a fraction, NaN when all actuals are
/// zero).
///
/// Errors: as [`smape`].
pub fn wape(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair(actual, forecast)?;
    let e = actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| (f - y).abs())
        .sum::<f64>();
    Ok(divide(e, actual.iter().map(|y| y.abs()).sum()))
}

/// Mean error, forecast − actual (positive: the forecast is too high).
///
/// Errors: as [`smape`].
pub fn bias(actual: &[f64], forecast: &[f64]) -> Result<f64> {
    check_pair(actual, forecast)?;
    let e = actual.iter().zip(forecast).map(|(y, f)| f - y).sum::<f64>();
    Ok(e / actual.len() as f64)
}

/// The share of actuals inside `[lo, hi]` (bounds included).
///
/// Errors: [`Error::Horizon`] for no actuals, [`Error::Length`] for bounds of another length.
pub fn coverage(actual: &[f64], lo: &[f64], hi: &[f64]) -> Result<f64> {
    check_pair(actual, lo)?;
    check_len("interval upper bounds", actual.len(), hi.len())?;
    let inside = actual
        .iter()
        .zip(lo.iter().zip(hi))
        .filter(|(y, (lo, hi))| *lo <= *y && *y <= *hi)
        .count();
    Ok(inside as f64 / actual.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Interval;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    // Reference values from utilsforecast 0.2.17 (the per-series losses), computed with:
    //   python3 -c "import pandas as pd; from utilsforecast import losses as L; \
    //   tr=pd.DataFrame({'unique_id':'a','ds':range(10),'y':[3.,5,4,6,8,7,9,10,9,12]}); \
    //   df=pd.DataFrame({'unique_id':'a','ds':range(10,14),'y':[11.,13,12,0], \
    //   'f':[12.,12,12,1],'f-lo-80':[10.,9,8,-2],'f-hi-80':[14.,15,16,4]}); \
    //   [print(n, fn(df,['f'],seasonality=s,train_df=tr)['f'].iloc[0]) for n,fn,s in \
    //   [('mase1',L.mase,1),('mase2',L.mase,2),('rmsse1',L.rmsse,1),('rmsse2',L.rmsse,2)]]; \
    //   print('smape', L.smape(df,['f'])['f'].iloc[0]); print('wape', L.wape(df,['f'])['f'].iloc[0]); \
    //   print('bias', L.bias(df,['f'])['f'].iloc[0]); \
    //   print('sql_lo', L.scaled_quantile_loss(df,{'f':'f-lo-80'},seasonality=1,train_df=tr,q=0.1)['f'].iloc[0]); \
    //   print('sql_hi', L.scaled_quantile_loss(df,{'f':'f-hi-80'},seasonality=1,train_df=tr,q=0.9)['f'].iloc[0])"
    const TRAIN: [f64; 10] = [3., 5., 4., 6., 8., 7., 9., 10., 9., 12.];
    const ACTUAL: [f64; 4] = [11., 13., 12., 0.];
    const MEAN: [f64; 4] = [12., 12., 12., 1.];
    const MASE1: f64 = 0.44999999999999996;
    const MASE2: f64 = 0.46153846153846156;
    const RMSSE1: f64 = 0.48245064067700766;
    const RMSSE2: f64 = 0.4264014327112209;
    const SMAPE_UF: f64 = 0.2708695652173913; // utilsforecast: 0..1 scale
    const WAPE: f64 = 0.08333333333333333;
    const BIAS: f64 = 0.25;
    const SQL_LO: f64 = 0.165;
    const SQL_HI: f64 = 0.19499999999999995;

    fn forecast() -> Forecast {
        Forecast {
            mean: MEAN.to_vec(),
            intervals: vec![Interval {
                level: 80.0,
                lo: vec![10., 9., 8., -2.],
                hi: vec![14., 15., 16., 4.],
            }],
        }
    }

    #[test]
    fn measures_match_utilsforecast() -> Result<()> {
        let tol = 1e-12;
        assert!(close(mase(&TRAIN, &ACTUAL, &MEAN, 1)?, MASE1, tol));
        assert!(close(mase(&TRAIN, &ACTUAL, &MEAN, 2)?, MASE2, tol));
        assert!(close(rmsse(&TRAIN, &ACTUAL, &MEAN, 1)?, RMSSE1, tol));
        assert!(close(rmsse(&TRAIN, &ACTUAL, &MEAN, 2)?, RMSSE2, tol));
        assert!(close(smape(&ACTUAL, &MEAN)?, 200.0 * SMAPE_UF, tol));
        assert!(close(wape(&ACTUAL, &MEAN)?, WAPE, tol));
        assert!(close(bias(&ACTUAL, &MEAN)?, BIAS, tol));

        let a = accuracy(&TRAIN, &ACTUAL, &forecast(), 1)?;
        assert_eq!(a.n, 4);
        assert!(close(a.mase, MASE1, tol));
        assert!(close(a.rmsse, RMSSE1, tol));
        assert!(close(a.smape, 200.0 * SMAPE_UF, tol));
        assert!(close(a.wape, WAPE, tol));
        assert!(close(a.bias, BIAS, tol));
        // By hand: errors 1, -1, 0, 1; lag-1 differences of TRAIN sum to 15 over 9.
        assert!(close(a.scaled_bias, BIAS / (15.0 / 9.0), tol));
        assert!(close(a.mae, 0.75, tol));
        assert!(close(a.rmse, 0.75f64.sqrt(), tol));
        let i = a.interval(80.0).expect("interval");
        // Actuals 11, 13, 12 lie inside, 0 lies inside [-2, 4]: all four.
        assert_eq!(i.coverage, 1.0);
        assert!(close(i.pinball, (SQL_LO + SQL_HI) / 2.0, tol));
        let a2 = accuracy(&TRAIN, &ACTUAL, &forecast(), 2)?;
        assert!(close(a2.mase, MASE2, tol));
        assert!(close(a2.rmsse, RMSSE2, tol));
        Ok(())
    }

    #[test]
    fn short_series_fall_back_to_lag_one() -> Result<()> {
        // 10 observations, season 6: fewer than two seasons, so lag 1 (the same scale as
        // season 1).
        let s = NaiveScale::new(&TRAIN, 6)?;
        assert_eq!(s.lag, 1);
        assert_eq!(s, NaiveScale::new(&TRAIN, 1)?);
        assert_eq!(NaiveScale::new(&TRAIN, 5)?.lag, 5);
        assert!(close(mase(&TRAIN, &ACTUAL, &MEAN, 6)?, MASE1, 1e-12));
        Ok(())
    }

    #[test]
    fn zero_scale_gives_nan_and_keeps_the_unscaled_measures() -> Result<()> {
        let flat = [0.0; 8];
        let f = forecast();
        let a = accuracy(&flat, &ACTUAL, &f, 1)?;
        assert!(a.mase.is_nan() && a.rmsse.is_nan() && a.scaled_bias.is_nan());
        assert!(a.intervals[0].pinball.is_nan());
        assert!(close(a.mae, 0.75, 1e-12) && close(a.wape, WAPE, 1e-12));
        assert!(!NaiveScale::new(&flat, 1)?.is_defined());
        // Perfect forecast of a flat series: still NaN, not 0/0 silently turned into 0.
        assert!(mase(&flat, &[0.0, 0.0], &[0.0, 0.0], 1)?.is_nan());
        // A single observation has no difference at all.
        assert!(NaiveScale::new(&[5.0], 1)?.mae.is_nan());
        // All-zero actuals: WAPE undefined; sMAPE counts 0/0 as 0.
        assert!(wape(&[0.0, 0.0], &[0.0, 1.0])?.is_nan());
        assert_eq!(smape(&[0.0, 0.0], &[0.0, 1.0])?, 100.0);
        Ok(())
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert!(matches!(
            mase(&TRAIN, &ACTUAL, &MEAN[..3], 1),
            Err(Error::Length {
                expected: 4,
                got: 3,
                ..
            })
        ));
        assert!(matches!(smape(&[], &[]), Err(Error::Horizon)));
        assert!(matches!(
            NaiveScale::new(&TRAIN, 0),
            Err(Error::Season { season: 0 })
        ));
        let mut f = forecast();
        f.intervals[0].hi.pop();
        assert!(matches!(
            accuracy(&TRAIN, &ACTUAL, &f, 1),
            Err(Error::Length { got: 3, .. })
        ));
    }

    #[test]
    fn coverage_and_pinball_by_hand() -> Result<()> {
        // y = 5 below lo = 6 at tau 0.1: loss 0.9 · 1; y inside: 0.1 · (y − lo).
        assert!(close(pinball(5.0, 6.0, 0.1), 0.9, 1e-15));
        assert!(close(pinball(8.0, 6.0, 0.1), 0.2, 1e-15));
        assert_eq!(
            coverage(&[1.0, 5.0, 9.0], &[0.0, 6.0, 9.0], &[2.0, 7.0, 9.0])?,
            2.0 / 3.0
        );
        Ok(())
    }

    #[test]
    fn summarize_pools_wape_and_skips_nan() -> Result<()> {
        let a = accuracy(&TRAIN, &ACTUAL, &forecast(), 1)?;
        let b = accuracy(&[1.0, 1.0], &[2.0, 2.0, 2.0, 2.0], &forecast(), 1)?;
        assert!(b.mase.is_nan());
        let s = Accuracy::summarize(&[a.clone(), b.clone()]);
        assert_eq!(s.n, 8);
        assert_eq!(s.mase, a.mase);
        assert!(close(
            s.wape,
            (a.abs_error + b.abs_error) / (a.abs_actual + b.abs_actual),
            1e-15
        ));
        assert!(close(s.mae, (a.mae + b.mae) / 2.0, 1e-15));
        assert_eq!(s.intervals.len(), 1);
        assert!(close(
            s.intervals[0].coverage,
            (a.intervals[0].coverage + b.intervals[0].coverage) / 2.0,
            1e-15
        ));
        Ok(())
    }
}
