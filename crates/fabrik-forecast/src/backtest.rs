//! Rolling-origin evaluation ("time series cross-validation") of a [`Model`] over many
//! series in parallel.
//!
//! For a series of length `n`, a [`Backtest`] with `horizon h`, `windows w` and `step s`
//! has the cutoffs `n − h − (w − 1 − k)·s` for `k = 0..w` (the last window ends at the
//! series' end, as in statsforecast's `cross_validation`). At each cutoff `c` the model is
//! fitted on `y[..c]` and forecasts `h` steps, which are compared with `y[c..c + h]`
//! ([`crate::metrics::accuracy`], scaled by the seasonal naive errors of `y[..c]`).
//!
//! [`Backtest::run`] evaluates thousands of series in parallel (rayon: window by window,
//! the series of a window in parallel); a series that cannot be evaluated (too short, non-finite values, a model that
//! fails) is listed in [`BacktestResult::failures`] with its id and the reason, and does not
//! stop the others.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Float64Builder, Int32Builder, Int64Array, Int64Builder, StringArray,
    StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::batch::bound_column;
use crate::error::{Error, Result};
use crate::metrics::{Accuracy, accuracy, nan_mean};
use crate::model::{Fitted, Forecast, Model, check_levels, check_series};

/// A progress callback: called with `(done, total)` series, a hundred times or so over a
/// run (not once per series; [`Backtest::run`]: per window, `done` counting the windows
/// finished in series) and always at the end. Calls come from rayon's worker threads, so
/// two close calls may arrive out of order.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// The settings of a rolling-origin evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// Steps forecast from each cutoff.
    pub horizon: usize,
    /// The number of cutoffs (windows) per series.
    pub windows: usize,
    /// Periods between consecutive cutoffs.
    pub step: usize,
    /// The season of the scaled measures' seasonal naive scale (1 = no seasonality).
    pub season: usize,
    /// Interval levels to forecast and score (percent).
    pub levels: Vec<f64>,
}

impl Backtest {
    /// A backtest of `windows` cutoffs `step` periods apart, each forecasting `horizon`
    /// steps; no seasonality in the scale and no intervals until set.
    pub fn new(horizon: usize, windows: usize, step: usize) -> Backtest {
        Backtest {
            horizon,
            windows,
            step,
            season: 1,
            levels: Vec::new(),
        }
    }

    /// Sets the season of the scaled measures.
    pub fn with_season(mut self, season: usize) -> Backtest {
        self.season = season;
        self
    }

    /// Sets the interval levels forecast and scored (percent, e.g. `[80.0, 95.0]`).
    pub fn with_levels(mut self, levels: &[f64]) -> Backtest {
        self.levels = levels.to_vec();
        self
    }

    /// Checks the settings.
    ///
    /// Errors: [`Error::Horizon`] for a horizon of 0, [`Error::Parameter`] for no windows or
    /// a step of 0, [`Error::Season`], [`Error::Level`].
    pub fn check(&self) -> Result<()> {
        if self.horizon == 0 {
            return Err(Error::Horizon);
        }
        for (name, value) in [("windows", self.windows), ("step", self.step)] {
            if value == 0 {
                return Err(Error::Parameter {
                    name,
                    value: 0.0,
                    expected: "at least 1",
                });
            }
        }
        if self.season == 0 {
            return Err(Error::Season {
                season: self.season,
            });
        }
        check_levels(&self.levels)
    }

    /// The shortest series this backtest can evaluate with a model that needs `model_min`
    /// observations: the first window's training part must hold them (and at least one).
    pub fn min_len(&self, model_min: usize) -> usize {
        model_min.max(1) + self.horizon + (self.windows.saturating_sub(1)) * self.step
    }

    /// The cutoffs (training lengths) of a series of `len` observations, oldest first; empty
    /// when the series is too short for even one training observation in the first window.
    pub fn cutoffs(&self, len: usize) -> Vec<usize> {
        if len < self.min_len(1) {
            return Vec::new();
        }
        let last = len - self.horizon;
        (0..self.windows)
            .map(|k| last - (self.windows - 1 - k) * self.step)
            .collect()
    }

    /// Evaluates `model` on one series (sequentially).
    ///
    /// Errors: those of [`Backtest::check`]; [`Error::TooShort`] when the series is shorter
    /// than [`Backtest::min_len`] of the model; [`Error::NonFinite`]; any error of the
    /// model's fit. The error does not name the series: [`Backtest::run`] adds the id.
    pub fn evaluate(&self, model: &dyn Model, y: &[f64]) -> Result<SeriesBacktest> {
        self.check()?;
        self.evaluate_checked(model, "", y)
    }

    /// The window of `y` from `cutoff`: the forecast of `fitted` (fitted on `y[..cutoff]`)
    /// scored against the next `horizon` values.
    fn window(&self, y: &[f64], cutoff: usize, fitted: Box<dyn Fitted>) -> Result<Window> {
        let train = &y[..cutoff];
        let actual = &y[cutoff..cutoff + self.horizon];
        let forecast = fitted.forecast(self.horizon, &self.levels);
        let accuracy = accuracy(train, actual, &forecast, self.season)?;
        Ok(Window {
            cutoff,
            model: fitted.name(),
            actual: actual.to_vec(),
            forecast,
            accuracy,
        })
    }

    fn evaluate_checked(&self, model: &dyn Model, id: &str, y: &[f64]) -> Result<SeriesBacktest> {
        check_series(&model.name(), y, self.min_len(model.min_len()), false)?;
        let windows = self
            .cutoffs(y.len())
            .into_iter()
            .map(|cutoff| self.window(y, cutoff, model.fit(&y[..cutoff])?))
            .collect::<Result<Vec<_>>>()?;
        let accuracy = Accuracy::summarize(
            &windows
                .iter()
                .map(|w| w.accuracy.clone())
                .collect::<Vec<_>>(),
        );
        Ok(SeriesBacktest {
            series: id.to_string(),
            windows,
            accuracy,
        })
    }

    /// Evaluates `model` on every series of `series` (`(id, values)` pairs, oldest value
    /// first) in parallel, calling `progress` now and then.
    ///
    /// Window by window (oldest cutoff first), the training parts of all series are fitted
    /// together by [`Model::fit_set`], so a model that chooses by the whole set
    /// ([`crate::select::SetSelect`]) chooses at each cutoff from the data before it, and a
    /// per-series model fits each series on its own as [`Backtest::evaluate`] does.
    ///
    /// A series that fails is listed in [`BacktestResult::failures`] (as
    /// [`Error::Series`]) and does not stop the run; the evaluated series keep the input
    /// order.
    ///
    /// Errors: only invalid settings ([`Backtest::check`]).
    pub fn run<I, Y>(
        &self,
        model: &dyn Model,
        series: &[(I, Y)],
        progress: Option<Progress<'_>>,
    ) -> Result<BacktestResult>
    where
        I: AsRef<str> + Sync,
        Y: AsRef<[f64]> + Sync,
    {
        self.check()?;
        let total = series.len();
        let name = model.name();
        let min_len = self.min_len(model.min_len());
        // Per series: the windows so far, or why it failed.
        let mut outcomes: Vec<Result<Vec<Window>>> = series
            .iter()
            .map(|(_, y)| {
                check_series(&name, y.as_ref(), min_len, false)
                    .map(|()| Vec::with_capacity(self.windows))
            })
            .collect();
        for k in 0..self.windows {
            let live: Vec<usize> = (0..total).filter(|&i| outcomes[i].is_ok()).collect();
            let cutoffs: Vec<usize> = live
                .iter()
                .map(|&i| self.cutoffs(series[i].1.as_ref().len())[k])
                .collect();
            let trains: Vec<&[f64]> = live
                .iter()
                .zip(&cutoffs)
                .map(|(&i, &c)| &series[i].1.as_ref()[..c])
                .collect();
            // Progress in series: window k covers total·k/windows .. total·(k+1)/windows.
            let base = total * k / self.windows;
            let span = total * (k + 1) / self.windows - base;
            let window_progress = |d: usize, t: usize| {
                if let Some(progress) = progress {
                    progress(base + d * span / t.max(1), total);
                }
            };
            let fits = model.fit_set(&trains, Some(&window_progress));
            let windows: Vec<Result<Window>> = live
                .par_iter()
                .zip(cutoffs.par_iter())
                .zip(fits)
                .map(|((&i, &cutoff), fit)| self.window(series[i].1.as_ref(), cutoff, fit?))
                .collect();
            for (i, window) in live.into_iter().zip(windows) {
                match (window, &mut outcomes[i]) {
                    (Ok(w), Ok(done)) => done.push(w),
                    (Err(e), outcome) => *outcome = Err(e),
                    (Ok(_), Err(_)) => {}
                }
            }
        }
        let mut evaluated = Vec::with_capacity(total);
        let mut failures = Vec::new();
        for ((id, _), outcome) in series.iter().zip(outcomes) {
            match outcome {
                Ok(windows) => {
                    let accuracy = Accuracy::summarize(
                        &windows
                            .iter()
                            .map(|w| w.accuracy.clone())
                            .collect::<Vec<_>>(),
                    );
                    evaluated.push(SeriesBacktest {
                        series: id.as_ref().to_string(),
                        windows,
                        accuracy,
                    });
                }
                Err(e) => failures.push(e.on_series(id.as_ref())),
            }
        }
        let aggregate = Aggregate::of(&evaluated, failures.len(), &self.levels);
        Ok(BacktestResult {
            model: name,
            levels: self.levels.clone(),
            series: evaluated,
            failures,
            aggregate,
        })
    }
}

/// One window of a backtest: the forecast from one cutoff and its accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The cutoff: the number of training observations, so also the index (0-based) in the
    /// series of the first forecast step.
    pub cutoff: usize,
    /// The fitted model's name (what an automatic choice picked at this cutoff).
    pub model: String,
    /// The actuals `y[cutoff..cutoff + horizon]`.
    pub actual: Vec<f64>,
    /// The forecast made at the cutoff.
    pub forecast: Forecast,
    /// Its accuracy.
    pub accuracy: Accuracy,
}

/// The backtest of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesBacktest {
    /// The series id (empty from [`Backtest::evaluate`]).
    pub series: String,
    /// The windows, oldest cutoff first.
    pub windows: Vec<Window>,
    /// The accuracy over all windows ([`Accuracy::summarize`]: means over windows, WAPE
    /// pooled).
    pub accuracy: Accuracy,
}

/// The aggregate accuracy of the evaluated series of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The series evaluated.
    pub series: usize,
    /// The series that failed.
    pub failed: usize,
    /// The evaluated series whose MASE / RMSSE is undefined (zero scale: a constant
    /// training series) and was left out of the scaled means.
    pub undefined_scale: usize,
    /// The mean over series of the per-series MASE (NaN skipped).
    pub mase_mean: f64,
    /// The geometric mean over series of MASE (NaN skipped; 0 if any series has 0).
    pub mase_gmean: f64,
    /// The mean over series of RMSSE.
    pub rmsse_mean: f64,
    /// The geometric mean over series of RMSSE.
    pub rmsse_gmean: f64,
    /// The mean over series of MAE.
    pub mae_mean: f64,
    /// The mean over series of sMAPE (0..200).
    pub smape_mean: f64,
    /// WAPE pooled over all series and windows: `Σ|e| / Σ|y|`.
    pub wape: f64,
    /// The mean error over all forecast points (forecast − actual).
    pub bias: f64,
    /// The mean over series of the scaled bias.
    pub scaled_bias_mean: f64,
    /// Per requested level: coverage over all points, mean scaled pinball loss over series.
    pub intervals: Vec<IntervalAggregate>,
}

/// The aggregate accuracy of one interval level.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalAggregate {
    /// The level, in percent.
    pub level: f64,
    /// The share of all forecast points (of series with this interval) inside it.
    pub coverage: f64,
    /// The mean over series of the scaled pinball loss (NaN skipped).
    pub pinball_mean: f64,
}

/// The geometric mean of the non-NaN values (a zero makes it 0; NaN if none).
fn nan_gmean(values: impl Iterator<Item = f64>) -> f64 {
    nan_mean(values.map(f64::ln)).exp()
}

impl Aggregate {
    fn of(series: &[SeriesBacktest], failed: usize, levels: &[f64]) -> Aggregate {
        let acc = || series.iter().map(|s| &s.accuracy);
        let points = acc().map(|a| a.n).sum::<usize>() as f64;
        let abs_error = acc().map(|a| a.abs_error).sum::<f64>();
        let abs_actual = acc().map(|a| a.abs_actual).sum::<f64>();
        let bias = acc().map(|a| a.bias * a.n as f64).sum::<f64>() / points;
        let intervals = levels
            .iter()
            .map(|&level| {
                let (mut inside, mut n) = (0.0, 0.0);
                for a in acc() {
                    if let Some(i) = a.interval(level) {
                        inside += i.coverage * a.n as f64;
                        n += a.n as f64;
                    }
                }
                IntervalAggregate {
                    level,
                    coverage: inside / n,
                    pinball_mean: nan_mean(
                        acc().filter_map(|a| a.interval(level)).map(|i| i.pinball),
                    ),
                }
            })
            .collect();
        Aggregate {
            series: series.len(),
            failed,
            undefined_scale: acc().filter(|a| a.mase.is_nan()).count(),
            mase_mean: nan_mean(acc().map(|a| a.mase)),
            mase_gmean: nan_gmean(acc().map(|a| a.mase)),
            rmsse_mean: nan_mean(acc().map(|a| a.rmsse)),
            rmsse_gmean: nan_gmean(acc().map(|a| a.rmsse)),
            mae_mean: nan_mean(acc().map(|a| a.mae)),
            smape_mean: nan_mean(acc().map(|a| a.smape)),
            wape: if abs_actual > 0.0 {
                abs_error / abs_actual
            } else {
                f64::NAN
            },
            bias,
            scaled_bias_mean: nan_mean(acc().map(|a| a.scaled_bias)),
            intervals,
        }
    }
}

/// The result of [`Backtest::run`].
#[derive(Debug)]
pub struct BacktestResult {
    /// The model's name.
    pub model: String,
    /// The interval levels forecast.
    pub levels: Vec<f64>,
    /// The evaluated series, in input order.
    pub series: Vec<SeriesBacktest>,
    /// The series that failed, each an [`Error::Series`] naming the series and the reason.
    pub failures: Vec<Error>,
    /// The aggregate accuracy of the evaluated series.
    pub aggregate: Aggregate,
}

impl BacktestResult {
    /// The ids of the failed series, in input order.
    pub fn failed_series(&self) -> Vec<&str> {
        self.failures
            .iter()
            .filter_map(|e| match e {
                Error::Series { series, .. } => Some(series.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The per-window forecasts as one Arrow batch: see [`forecasts_to_record_batch`].
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        forecasts_to_record_batch(&self.series, &self.levels)
    }

    /// The per-series accuracy as one Arrow batch: see [`metrics_to_record_batch`].
    pub fn metrics_to_record_batch(&self) -> Result<RecordBatch> {
        metrics_to_record_batch(&self.series, &self.levels)
    }
}

/// The schema of [`forecasts_to_record_batch`] for the given levels.
pub fn backtest_schema(levels: &[f64]) -> Schema {
    let mut fields = vec![
        Field::new("series_id", DataType::Utf8, false),
        Field::new("cutoff", DataType::Int64, false),
        Field::new("step", DataType::Int32, false),
        Field::new("y", DataType::Float64, false),
        Field::new("mean", DataType::Float64, false),
    ];
    for &level in levels {
        fields.push(Field::new(
            bound_column("lo", level),
            DataType::Float64,
            true,
        ));
        fields.push(Field::new(
            bound_column("hi", level),
            DataType::Float64,
            true,
        ));
    }
    Schema::new(fields)
}

/// Turns per-window forecasts into one long Arrow batch, a row per series, cutoff and step:
/// `series_id` Utf8, `cutoff` Int64 (the training length, i.e. the 0-based index of the
/// first forecast step), `step` Int32 (1 = the first period after the cutoff), `y` (the
/// actual), `mean`, then `lo_<level>`, `hi_<level>` Float64 per level in the order given
/// (`lo_80`, `hi_80`, `lo_97.5`, …; null where a forecast has no interval at that level).
///
/// Errors: [`Error::Arrow`] if the batch cannot be built (a step beyond `i32`).
pub fn forecasts_to_record_batch(series: &[SeriesBacktest], levels: &[f64]) -> Result<RecordBatch> {
    let rows = series
        .iter()
        .flat_map(|s| &s.windows)
        .map(|w| w.actual.len())
        .sum::<usize>();
    let mut ids = StringBuilder::with_capacity(rows, rows * 8);
    let mut cutoffs = Int64Builder::with_capacity(rows);
    let mut steps = Int32Builder::with_capacity(rows);
    let mut ys = Float64Builder::with_capacity(rows);
    let mut means = Float64Builder::with_capacity(rows);
    let mut bounds: Vec<(Float64Builder, Float64Builder)> = levels
        .iter()
        .map(|_| {
            (
                Float64Builder::with_capacity(rows),
                Float64Builder::with_capacity(rows),
            )
        })
        .collect();
    for s in series {
        for w in &s.windows {
            let intervals: Vec<_> = levels.iter().map(|&l| w.forecast.interval(l)).collect();
            let cutoff = i64::try_from(w.cutoff).map_err(|_| overflow("cutoff"))?;
            for (j, &y) in w.actual.iter().enumerate() {
                ids.append_value(&s.series);
                cutoffs.append_value(cutoff);
                steps.append_value(i32::try_from(j + 1).map_err(|_| overflow("step"))?);
                ys.append_value(y);
                means.append_option(w.forecast.mean.get(j).copied());
                for ((lo, hi), interval) in bounds.iter_mut().zip(&intervals) {
                    lo.append_option(interval.and_then(|i| i.lo.get(j).copied()));
                    hi.append_option(interval.and_then(|i| i.hi.get(j).copied()));
                }
            }
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(ids.finish()),
        Arc::new(cutoffs.finish()),
        Arc::new(steps.finish()),
        Arc::new(ys.finish()),
        Arc::new(means.finish()),
    ];
    for (mut lo, mut hi) in bounds {
        columns.push(Arc::new(lo.finish()));
        columns.push(Arc::new(hi.finish()));
    }
    Ok(RecordBatch::try_new(
        Arc::new(backtest_schema(levels)),
        columns,
    )?)
}

/// Turns the per-series accuracy (over all windows, [`SeriesBacktest::accuracy`]) into one
/// Arrow batch, a row per series: `series_id` Utf8, `points` Int64 (forecast points
/// compared), then Float64 `mae`, `rmse`, `mase`, `rmsse`, `smape`, `wape`, `bias`,
/// `scaled_bias`, and per level `coverage_<level>`, `pinball_<level>` (null where the
/// forecasts had no interval at that level). Undefined measures (zero scale) are NaN, as in
/// [`crate::metrics`].
///
/// Errors: [`Error::Arrow`] if the batch cannot be built.
pub fn metrics_to_record_batch(series: &[SeriesBacktest], levels: &[f64]) -> Result<RecordBatch> {
    type Measure = (&'static str, fn(&Accuracy) -> f64);
    let measures: [Measure; 8] = [
        ("mae", |a| a.mae),
        ("rmse", |a| a.rmse),
        ("mase", |a| a.mase),
        ("rmsse", |a| a.rmsse),
        ("smape", |a| a.smape),
        ("wape", |a| a.wape),
        ("bias", |a| a.bias),
        ("scaled_bias", |a| a.scaled_bias),
    ];
    let mut fields = vec![
        Field::new("series_id", DataType::Utf8, false),
        Field::new("points", DataType::Int64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            series.iter().map(|s| &s.series),
        )),
        Arc::new(Int64Array::from_iter_values(
            series.iter().map(|s| s.accuracy.n as i64),
        )),
    ];
    for (name, f) in measures {
        fields.push(Field::new(name, DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(
            series.iter().map(|s| f(&s.accuracy)),
        )));
    }
    for &level in levels {
        let label = level;
        let of = |f: fn(&crate::metrics::IntervalAccuracy) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter(
                series.iter().map(|s| s.accuracy.interval(level).map(f)),
            ))
        };
        fields.push(Field::new(
            format!("coverage_{label}"),
            DataType::Float64,
            true,
        ));
        columns.push(of(|i| i.coverage));
        fields.push(Field::new(
            format!("pinball_{label}"),
            DataType::Float64,
            true,
        ));
        columns.push(of(|i| i.pinball));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn overflow(column: &str) -> Error {
    Error::Arrow(arrow::error::ArrowError::InvalidArgumentError(format!(
        "{column} does not fit its column type"
    )))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Fitted, Interval};
    use arrow::array::{Array, Float64Array, Int32Array, Int64Array, StringArray};
    use std::sync::Mutex;

    /// Test-only model: the mean of the training series, with ±z·sd intervals.
    #[derive(Debug)]
    pub(crate) struct MeanModel;

    #[derive(Debug)]
    struct MeanFitted {
        mean: f64,
        sd: f64,
    }

    impl Model for MeanModel {
        fn name(&self) -> String {
            "Mean".into()
        }
        fn min_len(&self) -> usize {
            2
        }
        fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
            check_series("Mean", y, 2, false)?;
            let mean = y.iter().sum::<f64>() / y.len() as f64;
            let var = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (y.len() - 1) as f64;
            Ok(Box::new(MeanFitted {
                mean,
                sd: var.sqrt(),
            }))
        }
    }

    impl Fitted for MeanFitted {
        fn name(&self) -> String {
            "Mean".into()
        }
        fn forecast(&self, horizon: usize, levels: &[f64]) -> Forecast {
            let mean = vec![self.mean; horizon];
            let intervals = levels
                .iter()
                .map(|&level| {
                    let z = crate::model::normal_quantile(0.5 + level / 200.0);
                    Interval {
                        level,
                        lo: vec![self.mean - z * self.sd; horizon],
                        hi: vec![self.mean + z * self.sd; horizon],
                    }
                })
                .collect();
            Forecast { mean, intervals }
        }
    }

    /// Test-only model: the seasonal naive forecast `y[n − m + (j mod m)]`, no intervals.
    #[derive(Debug)]
    pub(crate) struct SeasonalNaiveModel(pub usize);

    #[derive(Debug)]
    struct SeasonalNaiveFitted(Vec<f64>);

    impl Model for SeasonalNaiveModel {
        fn name(&self) -> String {
            "SeasonalNaive".into()
        }
        fn min_len(&self) -> usize {
            self.0
        }
        fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
            check_series("SeasonalNaive", y, self.0, false)?;
            Ok(Box::new(SeasonalNaiveFitted(
                y[y.len() - self.0..].to_vec(),
            )))
        }
    }

    impl Fitted for SeasonalNaiveFitted {
        fn name(&self) -> String {
            "SeasonalNaive".into()
        }
        fn forecast(&self, horizon: usize, _levels: &[f64]) -> Forecast {
            Forecast::point((0..horizon).map(|j| self.0[j % self.0.len()]).collect())
        }
    }

    #[test]
    fn cutoffs_end_at_the_series_end() {
        let b = Backtest::new(3, 4, 2);
        // n = 20: last cutoff 17, then 15, 13, 11.
        assert_eq!(b.cutoffs(20), vec![11, 13, 15, 17]);
        assert_eq!(b.min_len(1), 1 + 3 + 6);
        assert_eq!(b.cutoffs(10), vec![1, 3, 5, 7]);
        assert!(b.cutoffs(9).is_empty());
    }

    #[test]
    fn windows_are_forecasts_from_their_cutoffs() -> Result<()> {
        // Period-4 pattern: the seasonal naive is exact from the second season on.
        let y: Vec<f64> = (0..16).map(|t| [1.0, 5.0, 3.0, 2.0][t % 4]).collect();
        let b = Backtest::new(4, 2, 2).with_season(4);
        let s = b.evaluate(&SeasonalNaiveModel(4), &y)?;
        assert_eq!(
            s.windows.iter().map(|w| w.cutoff).collect::<Vec<_>>(),
            vec![10, 12]
        );
        assert_eq!(s.windows[0].actual, y[10..14].to_vec());
        assert_eq!(s.windows[0].forecast.mean, vec![3.0, 2.0, 1.0, 5.0]);
        assert_eq!(s.accuracy.mae, 0.0);
        // Zero scale (the seasonal naive is exact in-sample), so MASE is NaN.
        assert!(s.accuracy.mase.is_nan());

        // Mean model on y = 0..10, one window of 2 from cutoff 8: forecast 3.5, actual 8, 9.
        let y: Vec<f64> = (0..10).map(f64::from).collect();
        let s = Backtest::new(2, 1, 1).evaluate(&MeanModel, &y)?;
        assert_eq!(s.windows[0].forecast.mean, vec![3.5, 3.5]);
        // MAE (4.5 + 5.5)/2 = 5 over a naive scale of 1.
        assert!((s.accuracy.mase - 5.0).abs() < 1e-12);
        assert!((s.accuracy.bias + 5.0).abs() < 1e-12);
        Ok(())
    }

    fn panel() -> Vec<(String, Vec<f64>)> {
        let mut series: Vec<(String, Vec<f64>)> = (0..50)
            .map(|i| {
                let y = (0..30)
                    .map(|t| 10.0 + f64::from(i) + ((t * 7 + i * 3) % 5) as f64)
                    .collect();
                (format!("s{i:02}"), y)
            })
            .collect();
        series.insert(3, ("short".into(), vec![1.0, 2.0, 3.0]));
        series.insert(
            10,
            (
                "nan".into(),
                vec![1.0, f64::NAN, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
            ),
        );
        series
    }

    #[test]
    fn run_collects_failures_and_aggregates() -> Result<()> {
        let series = panel();
        let b = Backtest::new(3, 2, 3).with_levels(&[80.0, 97.5]);
        let calls = Mutex::new(Vec::new());
        let progress = |d: usize, t: usize| calls.lock().expect("lock").push((d, t));
        let r = b.run(&MeanModel, &series, Some(&progress))?;
        assert_eq!(r.series.len(), 50);
        assert_eq!(r.failed_series(), vec!["short", "nan"]);
        assert!(matches!(
            &r.failures[0],
            Error::Series { source, .. } if matches!(**source, Error::TooShort { len: 3, min: 8, .. })
        ));
        assert!(matches!(
            &r.failures[1],
            Error::Series { source, .. } if matches!(**source, Error::NonFinite { position: 1, .. })
        ));
        assert_eq!(r.aggregate.failed, 2);
        // Per window, a call per series fitted (the 50 valid ones: ceil(50 / 100) = 1), in
        // series: the first window covers 0..26, the second 26..52.
        let mut calls = calls.into_inner().expect("lock");
        calls.sort_unstable();
        assert_eq!(calls.len(), 100);
        assert_eq!(calls[49], (26, 52));
        assert_eq!(calls.last(), Some(&(52, 52)));
        // The aggregates are the means / pooled sums of the per-series values.
        let mases: Vec<f64> = r.series.iter().map(|s| s.accuracy.mase).collect();
        let mean = mases.iter().sum::<f64>() / 50.0;
        let gmean = (mases.iter().map(|m| m.ln()).sum::<f64>() / 50.0).exp();
        assert!((r.aggregate.mase_mean - mean).abs() < 1e-12);
        assert!((r.aggregate.mase_gmean - gmean).abs() < 1e-12);
        assert!(r.aggregate.mase_gmean <= r.aggregate.mase_mean);
        let e: f64 = r.series.iter().map(|s| s.accuracy.abs_error).sum();
        let a: f64 = r.series.iter().map(|s| s.accuracy.abs_actual).sum();
        assert!((r.aggregate.wape - e / a).abs() < 1e-12);
        assert_eq!(r.aggregate.intervals.len(), 2);
        let c = r.aggregate.intervals[1].coverage;
        assert!((0.0..=1.0).contains(&c));
        // Same result sequentially: the parallel run is deterministic.
        let again = b.run(&MeanModel, &series, None)?;
        assert_eq!(again.series, r.series);
        Ok(())
    }

    #[test]
    fn progress_is_throttled() -> Result<()> {
        let series: Vec<(String, Vec<f64>)> = (0..450)
            .map(|i| (i.to_string(), vec![1.0, 2.0, 3.0, 4.0]))
            .collect();
        let calls = Mutex::new(Vec::new());
        let progress = |d: usize, t: usize| calls.lock().expect("lock").push((d, t));
        Backtest::new(1, 1, 1).run(&MeanModel, &series, Some(&progress))?;
        // A call every ceil(450 / 100) = 5 series: 90 calls, the last at completion.
        let mut calls = calls.into_inner().expect("lock");
        calls.sort_unstable();
        assert_eq!(calls.len(), 90);
        assert_eq!(calls.last(), Some(&(450, 450)));
        Ok(())
    }

    #[test]
    fn record_batch_is_long_format_with_level_columns() -> Result<()> {
        let series = panel();
        let b = Backtest::new(3, 2, 3).with_levels(&[80.0, 97.5]);
        let r = b.run(&MeanModel, &series[..2], None)?;
        let batch = r.to_record_batch()?;
        let names: Vec<_> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            [
                "series_id",
                "cutoff",
                "step",
                "y",
                "mean",
                "lo_80",
                "hi_80",
                "lo_97.5",
                "hi_97.5"
            ]
        );
        assert_eq!(batch.num_rows(), 2 * 2 * 3);
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("column type");
        let cut = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("column type");
        let step = batch
            .column(2)
            .as_any()
            .downcast_ref::<Int32Array>()
            .expect("column type");
        let y = batch
            .column(3)
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("column type");
        let hi = batch
            .column(8)
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("column type");
        assert_eq!(ids.value(0), "s00");
        assert_eq!(ids.value(6), "s01");
        assert_eq!((cut.value(0), step.value(0)), (24, 1));
        assert_eq!((cut.value(5), step.value(5)), (27, 3));
        assert_eq!(y.value(5), series[0].1[29]);
        let w = &r.series[0].windows[1];
        assert_eq!(
            hi.value(5),
            w.forecast.interval(97.5).expect("interval").hi[2]
        );
        assert_eq!(hi.null_count(), 0);

        let m = r.metrics_to_record_batch()?;
        assert_eq!(m.num_rows(), 2);
        assert_eq!(m.schema().field(2).name(), "mae");
        assert_eq!(m.schema().field(13).name(), "pinball_97.5");
        let mase = m
            .column(4)
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("column type");
        assert_eq!(mase.value(1), r.series[1].accuracy.mase);

        // A model without intervals: the level columns are null.
        let r = b.run(&SeasonalNaiveModel(2), &series[..1], None)?;
        let batch = r.to_record_batch()?;
        assert_eq!(batch.column(5).null_count(), batch.num_rows());
        Ok(())
    }

    /// Throughput over many series; run with
    /// `cargo test --release -p fabrik-forecast --lib -- --ignored --nocapture many_series`.
    #[test]
    #[ignore = "a timing, run in release"]
    fn many_series_in_parallel() -> Result<()> {
        let series: Vec<(String, Vec<f64>)> = (0..20_000)
            .map(|i| {
                let y = (0..104)
                    .map(|t| 20.0 + ((t * 7 + i * 13) % 11) as f64 + [0.0, 5.0, 2.0, 8.0][t % 4])
                    .collect();
                (format!("item-{i}"), y)
            })
            .collect();
        let b = Backtest::new(8, 4, 8)
            .with_season(4)
            .with_levels(&[80.0, 95.0]);
        for (name, model) in [
            ("Mean", &MeanModel as &dyn Model),
            ("SeasonalNaive(4)", &SeasonalNaiveModel(4)),
        ] {
            let start = std::time::Instant::now();
            let r = b.run(model, &series, None)?;
            let run = start.elapsed();
            let batch = r.to_record_batch()?;
            println!(
                "{name}: {} series x 4 windows x 8 steps in {run:?} ({:.2} us/series, {} threads); record batch of {} rows in {:?} more; MASE mean {:.3}",
                r.series.len(),
                run.as_secs_f64() * 1e6 / r.series.len() as f64,
                rayon::current_num_threads(),
                batch.num_rows(),
                start.elapsed() - run,
                r.aggregate.mase_mean,
            );
        }
        Ok(())
    }

    #[test]
    fn bad_settings_are_errors() {
        let y: &[(&str, Vec<f64>)] = &[];
        assert!(matches!(
            Backtest::new(0, 1, 1).run(&MeanModel, y, None),
            Err(Error::Horizon)
        ));
        assert!(matches!(
            Backtest::new(1, 0, 1).check(),
            Err(Error::Parameter {
                name: "windows",
                ..
            })
        ));
        assert!(matches!(
            Backtest::new(1, 1, 1).with_levels(&[100.0]).check(),
            Err(Error::Level { .. })
        ));
    }
}
