//! Automatic model choice per set of series: [`SetSelect`] backtests every candidate on
//! the training data of all series of a set, pools the errors per class of demand
//! (regular, intermittent), and forecasts every series of a class with the class's best
//! option.
//!
//! Choosing per series from three or four short windows of that series alone is noisy
//! (the winner of a few windows is often not the better model); pooling the windows of
//! every series of a class scores each option on many more errors, at the price of one
//! choice for all of them.
//!
//! # How it chooses
//! 1. `classify(y)` puts each series in its class (e.g. the Syntetos–Boylan rule).
//! 2. Every candidate of the class forecasts every window of a rolling-origin
//!    [`SetSelect::backtest`] on every series of the class (the windows end at the end of
//!    the data given: in a backtest of the whole procedure, at the outer cutoff, so no
//!    value after it takes part). A candidate that cannot fit a window is scored there as
//!    the seasonal naive forecast, the reference of the scores.
//! 3. The options are the candidates and, for `k = 2..=combine_up_to`, the mean of the `k`
//!    best candidates. Each is scored over all windows of the class:
//!    - regular series: the geometric mean over windows of its MAE divided by the seasonal
//!      naive's MAE on the same window (the relative MASE of the M4 competition; windows
//!      where the seasonal naive is exact are left out, a ratio below 10⁻³ counts as 10⁻³);
//!    - intermittent series: the mean over windows of RMSSE (MASE would reward forecasting
//!      zero, the median of intermittent demand; windows whose training part has no
//!      seasonal-naive error are left out), and the pooled bias `Σ(ŷ − y) / Σ|y|`.
//! 4. Regular series take the option with the lowest score (on a tie the earlier: the
//!    candidates in list order, then the combinations). Intermittent series take, among the
//!    options within [`SetSelect::bias_tolerance`] of the lowest score, the least biased:
//!    a forecast that is on average too high or too low costs stock or service on every
//!    period, not only on the ones scored.
//! 5. Each series is fitted with its class's option; where that fails (the series is too
//!    short for it) the next option by score is tried. When no window of the class could
//!    be scored, the candidates are tried by increasing [`Model::min_len`].
//!
//! Candidates without analytic intervals (those marked so) get conformal intervals
//! ([`Conformal`]); a series too short to calibrate them gets the point forecast alone.
//! A combination's bounds are the means of its members' bounds (see [`Combination`]),
//! each member with its analytic or conformal intervals; it has none when one of its
//! members has none.

use std::sync::Arc;

use rayon::prelude::*;

use crate::backtest::{Backtest, Progress};
use crate::combine::Combination;
use crate::conformal::Conformal;
use crate::error::{Error, Result};
use crate::metrics::NaiveScale;
use crate::model::{Fitted, Model, ProgressCounter};

use super::Selected;

/// The smallest ratio of MAEs counted in the geometric mean (a perfect window would
/// otherwise weigh without bound).
const MIN_RATIO: f64 = 1e-3;

/// A candidate model of a [`SetSelect`].
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The model; its point forecasts are scored.
    pub model: Arc<dyn Model>,
    /// `None` when the model has analytic intervals; `Some(clip_at_zero)` when the chosen
    /// model gets conformal ones (clipped at zero for non-negative series when `true`).
    pub conformal: Option<bool>,
}

impl Candidate {
    /// A candidate with analytic prediction intervals.
    pub fn analytic(model: impl Model + 'static) -> Candidate {
        Candidate {
            model: Arc::new(model),
            conformal: None,
        }
    }

    /// A candidate that gets conformal intervals, clipped at zero when `clip_at_zero`.
    pub fn conformal(model: impl Model + 'static, clip_at_zero: bool) -> Candidate {
        Candidate {
            model: Arc::new(model),
            conformal: Some(clip_at_zero),
        }
    }
}

/// Automatic choice of one model (or mean of models) per class of series, by a backtest
/// pooled over all series of the class (see the module docs).
#[derive(Debug)]
pub struct SetSelect {
    /// Candidates for regular (smooth or erratic) series, in order of preference on ties.
    pub regular: Vec<Candidate>,
    /// Candidates for intermittent (or lumpy) series.
    pub intermittent: Vec<Candidate>,
    /// Whether a series is intermittent.
    pub classify: fn(&[f64]) -> bool,
    /// The backtest the options are scored by (its levels are ignored; its season is the
    /// seasonal naive's of the scores).
    pub backtest: Backtest,
    /// Means of the best `2..=combine_up_to` candidates are options too (0 or 1: none).
    pub combine_up_to: usize,
    /// Intermittent series: options whose score is within this fraction of the best are
    /// ranked by absolute bias.
    pub bias_tolerance: f64,
    /// The horizon conformal intervals are calibrated for.
    pub conformal_horizon: usize,
    /// The windows conformal intervals are calibrated on.
    pub conformal_windows: usize,
}

/// One option scored: a candidate, or the mean of several.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The candidates averaged (indices in the class's list; one for a single model).
    pub members: Vec<usize>,
    /// The pooled score (lower is better; NaN when nothing was scored).
    pub score: f64,
    /// The pooled bias `Σ(ŷ − y) / Σ|y|` (NaN when nothing was scored or all actuals are 0).
    pub bias: f64,
}

/// The choice for one class of series.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassChoice {
    /// The series of the set in this class.
    pub series: usize,
    /// The windows scored (series × windows of the backtest that could be scored).
    pub windows: usize,
    /// Every option, the chosen first, then the others by score (the order in which a
    /// series tries them).
    pub options: Vec<Scored>,
    /// Whether no window could be scored (the options are then by simplicity).
    pub fallback: bool,
}

/// The outcome of [`SetSelect::choose`].
#[derive(Debug, Clone, PartialEq)]
pub struct SetChoice {
    /// Per series of the set: whether it was classified intermittent.
    pub intermittent: Vec<bool>,
    /// The choice for regular series (`None`: no such series, or no candidate).
    pub regular_choice: Option<ClassChoice>,
    /// The choice for intermittent series (`None`: no such series, or no candidate).
    pub intermittent_choice: Option<ClassChoice>,
}

/// One scored window: the training part's length, the seasonal naive forecast and the
/// scale.
struct Cell<'a> {
    train: &'a [f64],
    actual: &'a [f64],
    baseline: Vec<f64>,
    /// Regular: the baseline's MAE; intermittent: the training part's seasonal-naive MSE.
    scale: f64,
}

impl SetSelect {
    /// Chooses among `regular` or `intermittent` candidates as `classify` says, scored by
    /// a backtest of 3 windows of `horizon` steps, `⌈horizon / 2⌉` apart, with the
    /// seasonal naive of `season` as the reference; means of the best 2 and 3 candidates
    /// are options; intermittent series take the least biased option within 2% of the
    /// best score.
    pub fn new(
        regular: Vec<Candidate>,
        intermittent: Vec<Candidate>,
        classify: fn(&[f64]) -> bool,
        horizon: usize,
        season: usize,
    ) -> SetSelect {
        SetSelect {
            regular,
            intermittent,
            classify,
            backtest: Backtest::new(horizon, 3, horizon.div_ceil(2).max(1)).with_season(season),
            combine_up_to: 3,
            bias_tolerance: 0.02,
            conformal_horizon: 12,
            conformal_windows: 4,
        }
    }

    /// Sets the scoring backtest: `windows` windows of `horizon` steps, `step` apart.
    pub fn with_backtest(mut self, horizon: usize, windows: usize, step: usize) -> SetSelect {
        self.backtest.horizon = horizon;
        self.backtest.windows = windows;
        self.backtest.step = step;
        self
    }

    /// Sets the largest number of candidates averaged (0 or 1: no combinations).
    pub fn with_combinations(mut self, up_to: usize) -> SetSelect {
        self.combine_up_to = up_to;
        self
    }

    /// Sets the tolerance within which intermittent options are ranked by bias.
    pub fn with_bias_tolerance(mut self, tolerance: f64) -> SetSelect {
        self.bias_tolerance = tolerance;
        self
    }

    /// Sets the conformal calibration of options without analytic intervals.
    pub fn with_conformal(mut self, horizon: usize, windows: usize) -> SetSelect {
        self.conformal_horizon = horizon;
        self.conformal_windows = windows;
        self
    }

    fn check(&self) -> Result<()> {
        let mut backtest = self.backtest.clone();
        backtest.levels.clear();
        backtest.check()?;
        if !(self.bias_tolerance >= 0.0 && self.bias_tolerance.is_finite()) {
            return Err(Error::Parameter {
                name: "bias_tolerance",
                value: self.bias_tolerance,
                expected: "a finite fraction ≥ 0",
            });
        }
        Ok(())
    }

    /// Classifies every series and chooses per class (see the module docs). Only the
    /// values passed are used.
    ///
    /// Errors: invalid settings ([`Backtest::check`], [`Error::Parameter`] for a negative
    /// bias tolerance).
    pub fn choose(&self, series: &[&[f64]]) -> Result<SetChoice> {
        self.check()?;
        let intermittent: Vec<bool> = series.par_iter().map(|y| (self.classify)(y)).collect();
        let class = |sparse: bool| -> Option<ClassChoice> {
            let candidates = if sparse {
                &self.intermittent
            } else {
                &self.regular
            };
            let members: Vec<&[f64]> = series
                .iter()
                .zip(&intermittent)
                .filter(|(_, i)| **i == sparse)
                .map(|(y, _)| *y)
                .collect();
            (!members.is_empty() && !candidates.is_empty())
                .then(|| self.choose_class(candidates, &members, sparse))
        };
        Ok(SetChoice {
            regular_choice: class(false),
            intermittent_choice: class(true),
            intermittent,
        })
    }

    /// The scored windows of a class: every backtest cutoff of every series where the
    /// seasonal naive can forecast and the scale divides.
    fn cells<'a>(&self, series: &[&'a [f64]], sparse: bool) -> Vec<Cell<'a>> {
        let (h, m) = (self.backtest.horizon, self.backtest.season);
        series
            .par_iter()
            .flat_map_iter(|y| {
                self.backtest
                    .cutoffs(y.len())
                    .into_iter()
                    .filter_map(move |c| {
                        if c < m || y[..c].iter().chain(&y[c..c + h]).any(|v| !v.is_finite()) {
                            return None;
                        }
                        let (train, actual) = (&y[..c], &y[c..c + h]);
                        let baseline: Vec<f64> = (0..h).map(|j| train[c - m + j % m]).collect();
                        let scale = if sparse {
                            NaiveScale::new(train, m).ok()?.mse
                        } else {
                            mean_abs_error(actual, &baseline)
                        };
                        (scale > 0.0 && scale.is_finite()).then_some(Cell {
                            train,
                            actual,
                            baseline,
                            scale,
                        })
                    })
            })
            .collect()
    }

    fn choose_class(
        &self,
        candidates: &[Candidate],
        series: &[&[f64]],
        sparse: bool,
    ) -> ClassChoice {
        let cells = self.cells(series, sparse);
        let n = candidates.len();
        if cells.is_empty() {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| candidates[i].model.min_len());
            return ClassChoice {
                series: series.len(),
                windows: 0,
                options: order
                    .into_iter()
                    .map(|i| Scored {
                        members: vec![i],
                        score: f64::NAN,
                        bias: f64::NAN,
                    })
                    .collect(),
                fallback: true,
            };
        }
        let h = self.backtest.horizon;
        // forecasts[candidate][cell], the seasonal naive where the candidate fails.
        let flat: Vec<Vec<f64>> = (0..n * cells.len())
            .into_par_iter()
            .map(|k| {
                let (i, cell) = (k / cells.len(), &cells[k % cells.len()]);
                candidates[i]
                    .model
                    .fit(cell.train)
                    .map(|f| f.forecast(h, &[]).mean)
                    .ok()
                    .filter(|f| f.len() == h && f.iter().all(|v| v.is_finite()))
                    .unwrap_or_else(|| cell.baseline.clone())
            })
            .collect();
        let forecasts: Vec<&[Vec<f64>]> = flat.chunks(cells.len()).collect();
        let score = |members: Vec<usize>| -> Scored {
            let (mut total, mut err, mut abs_actual) = (0.0, 0.0, 0.0);
            let mut mean = vec![0.0; h];
            for (c, cell) in cells.iter().enumerate() {
                mean.iter_mut().for_each(|v| *v = 0.0);
                for &i in &members {
                    for (m, f) in mean.iter_mut().zip(&forecasts[i][c]) {
                        *m += f / members.len() as f64;
                    }
                }
                total += if sparse {
                    (mean_squared_error(cell.actual, &mean) / cell.scale).sqrt()
                } else {
                    (mean_abs_error(cell.actual, &mean) / cell.scale)
                        .max(MIN_RATIO)
                        .ln()
                };
                err += mean
                    .iter()
                    .zip(cell.actual)
                    .map(|(f, y)| f - y)
                    .sum::<f64>();
                abs_actual += cell.actual.iter().map(|y| y.abs()).sum::<f64>();
            }
            let mean_score = total / cells.len() as f64;
            Scored {
                members,
                score: if sparse { mean_score } else { mean_score.exp() },
                bias: if abs_actual > 0.0 {
                    err / abs_actual
                } else {
                    f64::NAN
                },
            }
        };
        let mut options: Vec<Scored> = (0..n).map(|i| score(vec![i])).collect();
        let mut ranked: Vec<usize> = (0..n).collect();
        ranked.sort_by(|&a, &b| options[a].score.total_cmp(&options[b].score));
        for k in 2..=self.combine_up_to.min(n) {
            options.push(score(ranked[..k].to_vec()));
        }
        let best = options
            .iter()
            .map(|o| o.score)
            .fold(f64::INFINITY, f64::min);
        let chosen = if sparse {
            let limit = best * (1.0 + self.bias_tolerance);
            let abs_bias = |o: &Scored| {
                if o.bias.is_nan() {
                    f64::INFINITY
                } else {
                    o.bias.abs()
                }
            };
            (0..options.len())
                .filter(|&i| options[i].score <= limit)
                .min_by(|&a, &b| abs_bias(&options[a]).total_cmp(&abs_bias(&options[b])))
        } else {
            (0..options.len()).min_by(|&a, &b| options[a].score.total_cmp(&options[b].score))
        };
        // Chosen first, then the rest by score (stable).
        let mut order: Vec<usize> = (0..options.len()).collect();
        order.sort_by(|&a, &b| {
            (Some(b) == chosen)
                .cmp(&(Some(a) == chosen))
                .then(options[a].score.total_cmp(&options[b].score))
        });
        let options = order.into_iter().map(|i| options[i].clone()).collect();
        ClassChoice {
            series: series.len(),
            windows: cells.len(),
            options,
            fallback: false,
        }
    }

    /// Fits one option on `y`: with conformal intervals where it needs them (the point
    /// forecast alone when the series is too short to calibrate them).
    fn fit_option(
        &self,
        candidates: &[Candidate],
        option: &Scored,
        y: &[f64],
    ) -> Result<Box<dyn Fitted>> {
        match option.members.as_slice() {
            [one] => self.fit_member(&candidates[*one], y),
            // A mean of candidates: each member with its own intervals (conformal ones
            // where it has no analytic ones), averaged bound by bound by the combination.
            many => Combination {
                members: many
                    .iter()
                    .map(|&i| {
                        Box::new(Member {
                            candidate: candidates[i].clone(),
                            horizon: self.conformal_horizon,
                            windows: self.conformal_windows,
                        }) as Box<dyn Model>
                    })
                    .collect(),
            }
            .fit(y),
        }
    }

    fn fit_member(&self, candidate: &Candidate, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Member {
            candidate: candidate.clone(),
            horizon: self.conformal_horizon,
            windows: self.conformal_windows,
        }
        .fit(y)
    }
}

fn mean_abs_error(actual: &[f64], forecast: &[f64]) -> f64 {
    actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| (f - y).abs())
        .sum::<f64>()
        / actual.len() as f64
}

fn mean_squared_error(actual: &[f64], forecast: &[f64]) -> f64 {
    actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| (f - y) * (f - y))
        .sum::<f64>()
        / actual.len() as f64
}

/// A candidate shared between the options that use it.
#[derive(Debug)]
struct Shared(Arc<dyn Model>);

/// A candidate as it is fitted for forecasting: with conformal intervals (over `horizon`
/// steps and `windows` windows) where it has no analytic ones, or the point forecast alone
/// when the series is too short to calibrate them.
#[derive(Debug)]
struct Member {
    candidate: Candidate,
    horizon: usize,
    windows: usize,
}

impl Model for Member {
    fn name(&self) -> String {
        self.candidate.model.name()
    }

    fn min_len(&self) -> usize {
        self.candidate.model.min_len()
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        if let Some(clip) = self.candidate.conformal
            && let Ok(fitted) = Conformal::new(
                Box::new(Shared(Arc::clone(&self.candidate.model))),
                self.horizon,
                self.windows,
            )
            .with_clip_at_zero(clip)
            .fit(y)
        {
            return Ok(fitted);
        }
        self.candidate.model.fit(y)
    }
}

impl Model for Shared {
    fn name(&self) -> String {
        self.0.name()
    }

    fn min_len(&self) -> usize {
        self.0.min_len()
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        self.0.fit(y)
    }
}

impl Model for SetSelect {
    fn name(&self) -> String {
        "SetSelect".into()
    }

    /// The smallest minimum of all candidates (shorter series fit no candidate).
    fn min_len(&self) -> usize {
        self.regular
            .iter()
            .chain(&self.intermittent)
            .map(|c| c.model.min_len())
            .min()
            .unwrap_or(1)
    }

    /// A set of one series: the choice is made on the series alone.
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        self.fit_set(&[y], None).pop().unwrap_or_else(|| {
            Err(Error::NoModel {
                reason: "no series to fit".to_string(),
            })
        })
    }

    fn fit_set(
        &self,
        series: &[&[f64]],
        progress: Option<Progress<'_>>,
    ) -> Vec<Result<Box<dyn Fitted>>> {
        let choice = match self.choose(series) {
            Ok(c) => c,
            Err(e) => {
                let reason = e.to_string();
                return series
                    .iter()
                    .map(|_| {
                        Err(Error::NoModel {
                            reason: reason.clone(),
                        })
                    })
                    .collect();
            }
        };
        let counter = ProgressCounter::new(series.len(), progress);
        series
            .par_iter()
            .zip(&choice.intermittent)
            .map(|(y, &sparse)| {
                let (candidates, class) = if sparse {
                    (&self.intermittent, &choice.intermittent_choice)
                } else {
                    (&self.regular, &choice.regular_choice)
                };
                let mut out = Err(Error::NoModel {
                    reason: format!(
                        "no candidate model for {} series",
                        if sparse { "intermittent" } else { "regular" }
                    ),
                });
                for option in class.iter().flat_map(|c| &c.options) {
                    out = self.fit_option(candidates, option, y);
                    if out.is_ok() {
                        break;
                    }
                }
                counter.tick();
                out.map(|f| Box::new(Selected(f)) as Box<dyn Fitted>)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::tests::{MeanModel, SeasonalNaiveModel};
    use crate::select::tests::{never, zero_share_over_half};

    /// A season-4 pattern with a small wobble, `shift` added.
    fn seasonal(n: usize, shift: f64) -> Vec<f64> {
        (0..n)
            .map(|t| shift + [2.0, 9.0, 4.0, 7.0][t % 4] + 0.1 * (t % 3) as f64)
            .collect()
    }

    fn select(
        regular: Vec<Candidate>,
        intermittent: Vec<Candidate>,
        classify: fn(&[f64]) -> bool,
    ) -> SetSelect {
        SetSelect::new(regular, intermittent, classify, 4, 4)
            .with_backtest(4, 3, 4)
            .with_combinations(0)
    }

    #[test]
    fn a_set_where_one_candidate_is_clearly_best_chooses_it() -> Result<()> {
        let auto = select(
            vec![
                Candidate::analytic(MeanModel),
                Candidate::analytic(SeasonalNaiveModel(4)),
            ],
            vec![],
            never,
        );
        let set: Vec<Vec<f64>> = (0..5).map(|s| seasonal(30 + s, s as f64)).collect();
        let refs: Vec<&[f64]> = set.iter().map(Vec::as_slice).collect();
        let c = auto.choose(&refs)?;
        let r = c.regular_choice.expect("regular series");
        assert!(c.intermittent_choice.is_none() && !r.fallback);
        assert_eq!((r.series, r.windows), (5, 15));
        // The seasonal naive of season 4 is the reference itself: relative MAE 1 exactly.
        assert_eq!(r.options[0].members, vec![1]);
        assert_eq!(r.options[0].score, 1.0);
        assert!(r.options[1].score > 1.0, "{:?}", r.options);
        let fits = auto.fit_set(&refs, None);
        for (fit, y) in fits.iter().zip(&set) {
            let fit = fit.as_ref().map_err(|e| Error::NoModel {
                reason: e.to_string(),
            })?;
            assert_eq!(fit.name(), "Auto[SeasonalNaive]");
            assert_eq!(fit.forecast(4, &[]).mean, y[y.len() - 4..].to_vec());
        }
        Ok(())
    }

    #[test]
    fn the_mean_of_the_best_candidates_is_an_option() -> Result<()> {
        let auto = SetSelect::new(
            vec![
                Candidate::analytic(MeanModel),
                Candidate::analytic(SeasonalNaiveModel(3)),
            ],
            vec![],
            never,
            4,
            1,
        )
        .with_backtest(4, 2, 4)
        .with_combinations(2);
        // y = 0, 1, …, 19; cutoffs 12 and 16; the reference (season 1) repeats the last
        // value: errors 1, 2, 3, 4, MAE 2.5. Worked by hand:
        // - season-3 naive: forecasts c−3, c−2, c−1, c−3: errors 3, 3, 3, 6, MAE 3.75,
        //   ratio 1.5 on both windows;
        // - mean of y[..c] ((c − 1) / 2): MAE 8 at c = 12, 10 at c = 16: ratios 3.2, 4;
        // - their mean: errors 4.75, 5.25, 5.75, 7.75 (MAE 5.875, ratio 2.35) at c = 12,
        //   5.75, 6.25, 6.75, 8.75 (MAE 6.875, ratio 2.75) at c = 16.
        let y: Vec<f64> = (0..20).map(f64::from).collect();
        let c = auto.choose(&[&y])?;
        let r = c.regular_choice.expect("regular");
        let by_members = |m: &[usize]| -> f64 {
            r.options
                .iter()
                .find(|o| o.members == m)
                .map_or(f64::NAN, |o| o.score)
        };
        assert_eq!(r.options.len(), 3);
        assert_eq!(r.options[0].members, vec![1]);
        assert!((by_members(&[1]) - 1.5).abs() < 1e-12, "{:?}", r.options);
        assert!((by_members(&[0]) - (3.2f64 * 4.0).sqrt()).abs() < 1e-12);
        assert!((by_members(&[1, 0]) - (2.35f64 * 2.75).sqrt()).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn values_after_the_origin_do_not_change_the_choice() -> Result<()> {
        let auto = select(
            vec![
                Candidate::analytic(MeanModel),
                Candidate::analytic(SeasonalNaiveModel(4)),
            ],
            vec![],
            never,
        );
        let set: Vec<Vec<f64>> = (0..4).map(|s| seasonal(40, s as f64)).collect();
        // An outer backtest with its cutoff at 32: the choice sees y[..32] only.
        let train: Vec<&[f64]> = set.iter().map(|y| &y[..32]).collect();
        let before = auto.choose(&train)?;
        let mut changed = set.clone();
        for y in &mut changed {
            for v in &mut y[32..] {
                *v = 1000.0 - *v;
            }
        }
        let train: Vec<&[f64]> = changed.iter().map(|y| &y[..32]).collect();
        assert_eq!(auto.choose(&train)?, before);
        // Through a backtest: the forecast from cutoff 32 is the same whatever follows.
        let bt = Backtest::new(4, 1, 1);
        let a: Vec<(String, &[f64])> = set.iter().map(|y| ("s".to_string(), &y[..36])).collect();
        let b: Vec<(String, &[f64])> = changed
            .iter()
            .map(|y| ("s".to_string(), &y[..36]))
            .collect();
        let (ra, rb) = (bt.run(&auto, &a, None)?, bt.run(&auto, &b, None)?);
        for (sa, sb) in ra.series.iter().zip(&rb.series) {
            assert_eq!(sa.windows[0].cutoff, 32);
            assert_eq!(sa.windows[0].forecast, sb.windows[0].forecast);
            assert_eq!(sa.windows[0].model, "Auto[SeasonalNaive]");
        }
        Ok(())
    }

    #[test]
    fn intermittent_series_take_the_least_biased_option_within_the_tolerance() -> Result<()> {
        /// `k` times the mean of the season-3 naive forecast and the training mean.
        #[derive(Debug)]
        struct Mix(f64);
        impl Model for Mix {
            fn name(&self) -> String {
                "Mix".into()
            }
            fn min_len(&self) -> usize {
                3
            }
            fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
                let naive = SeasonalNaiveModel(3).fit(y)?.forecast(3, &[]).mean;
                let mean = MeanModel.fit(y)?.forecast(1, &[]).mean[0];
                let season: Vec<f64> = naive.iter().map(|v| self.0 * (v + mean) / 2.0).collect();
                SeasonalNaiveModel(3).fit(&season)
            }
        }
        // Demand of 3 every third period; windows of 3 from cutoffs 21, 24, 27, each
        // actual 3, 0, 0, each training mean 1. Mix(1) forecasts 2, 0.5, 0.5: MSE 0.5,
        // bias 0. Mix(1.2) forecasts 2.4, 0.6, 0.6: MSE 0.36, bias +0.6 / 3 = +20%. Its
        // RMSSE is lower by √(0.5 / 0.36) = 1.1785: it wins with no tolerance, the
        // unbiased Mix(1) within 20%.
        let y: Vec<f64> = (0..30)
            .map(|t| if t % 3 == 0 { 3.0 } else { 0.0 })
            .collect();
        let run = |tolerance: f64| -> Result<Scored> {
            let auto = SetSelect::new(
                vec![],
                vec![
                    Candidate::conformal(Mix(1.2), true),
                    Candidate::conformal(Mix(1.0), true),
                ],
                zero_share_over_half,
                3,
                1,
            )
            .with_backtest(3, 3, 3)
            .with_combinations(0)
            .with_bias_tolerance(tolerance);
            let c = auto.choose(&[&y])?;
            assert_eq!(c.intermittent, vec![true]);
            Ok(c.intermittent_choice.expect("intermittent").options[0].clone())
        };
        let strict = run(0.0)?;
        assert_eq!(strict.members, vec![0]);
        assert!((strict.bias - 0.2).abs() < 1e-12);
        let tolerant = run(0.2)?;
        assert_eq!(tolerant.members, vec![1]);
        assert!(tolerant.bias.abs() < 1e-12);
        assert!((tolerant.score / strict.score - (0.5f64 / 0.36).sqrt()).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn short_series_fall_back_and_classes_without_candidates_fail() -> Result<()> {
        let auto = select(
            vec![
                Candidate::analytic(SeasonalNaiveModel(4)),
                Candidate::analytic(MeanModel),
            ],
            vec![],
            zero_share_over_half,
        );
        let short = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let sparse = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let fits = auto.fit_set(&[&short, &sparse], None);
        // Too short for any window: the simplest candidate (MeanModel, min 2).
        assert_eq!(
            fits[0].as_ref().map(|f| f.name()).ok(),
            Some("Auto[Mean]".into())
        );
        assert!(
            matches!(&fits[1], Err(Error::NoModel { reason }) if reason.contains("intermittent"))
        );
        let c = auto.choose(&[&short])?;
        assert!(c.regular_choice.expect("regular").fallback);
        assert!(matches!(
            auto.with_bias_tolerance(-1.0).choose(&[&short]),
            Err(Error::Parameter { .. })
        ));
        Ok(())
    }
}
