//! What every forecasting model is: a [`Model`] (a recipe with its settings) is fitted to
//! one series and gives a [`Fitted`] model, which forecasts `h` periods ahead with
//! prediction intervals at the requested levels.
//!
//! Series are regular (one value per period, no gaps: demand series are gap-filled with
//! zeros before they get here) and finite.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::backtest::Progress;
use crate::error::{Error, Result};

/// A prediction interval at one level, one bound per forecast step.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// The level, in percent (e.g. `80.0`, `95.0`).
    pub level: f64,
    /// Lower bounds, one per step.
    pub lo: Vec<f64>,
    /// Upper bounds, one per step.
    pub hi: Vec<f64>,
}

/// A forecast of one series: the point forecast and its intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The point forecast (the mean of the predictive distribution), one per step.
    pub mean: Vec<f64>,
    /// Prediction intervals, one per requested level, in the order requested. Empty when
    /// the model has no analytic intervals (conformal intervals are added by
    /// `crate::conformal`).
    pub intervals: Vec<Interval>,
}

impl Forecast {
    /// A point forecast without intervals.
    pub fn point(mean: Vec<f64>) -> Forecast {
        Forecast {
            mean,
            intervals: Vec::new(),
        }
    }

    /// The forecast horizon (number of steps).
    pub fn horizon(&self) -> usize {
        self.mean.len()
    }

    /// The interval at `level`, if the forecast has one.
    pub fn interval(&self, level: f64) -> Option<&Interval> {
        self.intervals.iter().find(|i| i.level == level)
    }
}

/// A forecasting method with its settings (season length, variants), not yet fitted.
pub trait Model: Send + Sync + Debug {
    /// The method's name as users see it, e.g. `"AutoETS"`, `"SeasonalNaive"`, `"TSB"`.
    fn name(&self) -> String;

    /// The fewest observations the method can fit.
    fn min_len(&self) -> usize;

    /// Fits the method to one series (oldest first).
    ///
    /// Errors: [`Error::TooShort`] below [`Model::min_len`], [`Error::NonFinite`] for NaN or
    /// infinite values, [`Error::Negative`] where the method needs non-negative data.
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>>;

    /// Fits the method to every series of a set (each oldest first), one result per series
    /// in the set's order, calling `progress` with (series done, total) now and then.
    ///
    /// A per-series method fits each series on its own, in parallel (the default); a
    /// method that chooses by the whole set ([`crate::select::SetSelect`]) overrides it.
    /// Only the values passed take part: a backtest passes each series' data before the
    /// cutoff.
    fn fit_set(
        &self,
        series: &[&[f64]],
        progress: Option<Progress<'_>>,
    ) -> Vec<Result<Box<dyn Fitted>>> {
        let counter = ProgressCounter::new(series.len(), progress);
        series
            .par_iter()
            .map(|y| {
                let fit = self.fit(y);
                counter.tick();
                fit
            })
            .collect()
    }
}

/// Counts finished series and calls a [`Progress`] about a hundred times over a run
/// and at the end.
pub(crate) struct ProgressCounter<'a> {
    done: AtomicUsize,
    total: usize,
    every: usize,
    progress: Option<Progress<'a>>,
}

impl<'a> ProgressCounter<'a> {
    /// A counter of `total` series.
    pub(crate) fn new(total: usize, progress: Option<Progress<'a>>) -> ProgressCounter<'a> {
        ProgressCounter {
            done: AtomicUsize::new(0),
            total,
            every: total.div_ceil(100).max(1),
            progress,
        }
    }

    /// One more series done.
    pub(crate) fn tick(&self) {
        let d = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(progress) = self.progress
            && (d.is_multiple_of(self.every) || d == self.total)
        {
            progress(d, self.total);
        }
    }
}

/// A model fitted to one series.
pub trait Fitted: Send + Sync + Debug {
    /// The fitted form, e.g. `"ETS(M,Ad,N)"` for what AutoETS chose, `"SBA"`.
    fn name(&self) -> String;

    /// Forecasts `horizon` steps after the series' end, with analytic intervals at `levels`
    /// (percent) if the model has them; otherwise [`Forecast::intervals`] is empty.
    fn forecast(&self, horizon: usize, levels: &[f64]) -> Forecast;

    /// One-step-ahead in-sample fitted values, one per observation, where the model has
    /// them (NaN where it has no forecast yet, e.g. the first season of a seasonal naive).
    fn fitted(&self) -> Option<&[f64]> {
        None
    }

    /// Information criteria of the fit, where the model has a likelihood.
    fn criteria(&self) -> Option<Criteria> {
        None
    }
}

/// Information criteria of a fit by maximum likelihood.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criteria {
    /// The log-likelihood at the optimum.
    pub log_likelihood: f64,
    /// Akaike's information criterion.
    pub aic: f64,
    /// AIC corrected for small samples (what AutoETS selects by).
    pub aicc: f64,
    /// Schwarz's Bayesian information criterion.
    pub bic: f64,
    /// The number of estimated parameters (including initial states and the variance).
    pub params: usize,
}

/// Checks a series before fitting: long enough, finite, and (with `non_negative`) no value
/// below zero.
pub fn check_series(model: &str, y: &[f64], min_len: usize, non_negative: bool) -> Result<()> {
    if y.len() < min_len {
        return Err(Error::TooShort {
            model: model.to_string(),
            len: y.len(),
            min: min_len,
        });
    }
    for (position, &value) in y.iter().enumerate() {
        if !value.is_finite() {
            return Err(Error::NonFinite { position, value });
        }
        if non_negative && value < 0.0 {
            return Err(Error::Negative {
                model: model.to_string(),
                position,
                value,
            });
        }
    }
    Ok(())
}

/// Checks interval levels: each a percentage strictly between 0 and 100.
pub fn check_levels(levels: &[f64]) -> Result<()> {
    match levels.iter().find(|l| !(**l > 0.0 && **l < 100.0)) {
        Some(&level) => Err(Error::Level { level }),
        None => Ok(()),
    }
}

/// The standard normal quantile `z` with `P(Z ≤ z) = p`, for `p` in `(0, 1)` (from
/// `statrs`).
pub fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_tables() {
        // Values from any standard normal table (e.g. R's qnorm).
        for (p, z) in [
            (0.5, 0.0),
            (0.9, 1.281_551_565_544_600_4),
            (0.95, 1.644_853_626_951_472_2),
            (0.975, 1.959_963_984_540_054),
            (0.995, 2.575_829_303_548_900_4),
            (0.001, -3.090_232_306_167_813_5),
            (1e-10, -6.361_340_902_404_056),
        ] {
            let got = normal_quantile(p);
            assert!(
                (got - z).abs() < 1e-12 * z.abs().max(1.0),
                "p={p}: {got} vs {z}"
            );
        }
    }

    #[test]
    fn series_checks_name_the_problem() {
        assert!(matches!(
            check_series("ETS", &[1.0], 3, false),
            Err(Error::TooShort { len: 1, min: 3, .. })
        ));
        assert!(matches!(
            check_series("ETS", &[1.0, f64::NAN, 2.0], 1, false),
            Err(Error::NonFinite { position: 1, .. })
        ));
        assert!(matches!(
            check_series("TSB", &[1.0, -1.0], 1, true),
            Err(Error::Negative { position: 1, .. })
        ));
        assert!(check_levels(&[80.0, 95.0]).is_ok());
        assert!(
            matches!(check_levels(&[0.95, 100.0]), Err(Error::Level { level }) if level == 100.0)
        );
    }
}
