//! Automatic model choice per series: [`AutoSelect`] classifies the series (regular or
//! intermittent demand), backtests the candidates of its class on the series itself and
//! keeps the most accurate.
//!
//! # How it chooses
//! 1. `classify(y)` says whether the series is intermittent (the caller passes the
//!    classifier, e.g. the Syntetos–Boylan rule), which picks the candidate list.
//! 2. Each candidate is evaluated by a short rolling-origin [`Backtest`] on `y` (default:
//!    3 windows of 4 steps, 4 apart, see [`AutoSelect::backtest`]); its score is the mean
//!    over the windows of RMSSE for intermittent series (MASE would reward forecasting
//!    zero, since the median of intermittent demand is zero) and of MASE for regular ones.
//!    In a window whose naive scale is zero (a constant training part) the unscaled RMSE /
//!    MAE stands in: every candidate is scored on the same windows, so this stays a fair
//!    comparison.
//! 3. The candidate with the lowest score is fitted on the whole series; on a tie the
//!    earlier candidate wins. A candidate that could not be backtested (too short for it,
//!    or its fit failed) takes no part.
//! 4. When no candidate could be backtested (the series is too short for the backtest),
//!    the simplest candidate that fits is used: candidates are tried by increasing
//!    [`Model::min_len`] (then in list order), and the first whose fit succeeds wins.
//!
//! The fitted model's [`Fitted::name`] reports the choice, e.g. `"Auto[SBA]"`.
//!
//! [`SetSelect`] (in [`set`]) chooses once per class of a whole set of series instead, by
//! a backtest pooled over all of them.

pub mod set;

pub use set::{Candidate, SetSelect};

use crate::backtest::Backtest;
use crate::error::{Error, Result};
use crate::model::{Criteria, Fitted, Forecast, Model};

/// Automatic choice among candidate models by a backtest on the series being fitted.
#[derive(Debug)]
pub struct AutoSelect {
    /// Candidates for regular (smooth or erratic) series, in order of preference on ties.
    pub regular: Vec<Box<dyn Model>>,
    /// Candidates for intermittent (or lumpy) series.
    pub intermittent: Vec<Box<dyn Model>>,
    /// Whether a series is intermittent.
    pub classify: fn(&[f64]) -> bool,
    /// The backtest the candidates are scored by (its levels are ignored; its season sets
    /// the scale of MASE / RMSSE).
    pub backtest: Backtest,
}

/// The outcome of [`AutoSelect::choose`].
#[derive(Debug)]
pub struct Choice {
    /// Whether the series was classified intermittent.
    pub intermittent: bool,
    /// The index of the chosen candidate in its list.
    pub index: usize,
    /// The backtest score of each candidate of the list (`None`: not backtested).
    pub scores: Vec<Option<f64>>,
    /// Whether the choice fell back to the simplest candidate that fits (no score).
    pub fallback: bool,
    /// The chosen candidate fitted on the whole series.
    pub fitted: Box<dyn Fitted>,
}

impl AutoSelect {
    /// Chooses among `regular` or `intermittent` candidates as `classify` says, by a
    /// backtest of 3 windows of 4 steps, 4 apart, without seasonality in the scale.
    pub fn new(
        regular: Vec<Box<dyn Model>>,
        intermittent: Vec<Box<dyn Model>>,
        classify: fn(&[f64]) -> bool,
    ) -> AutoSelect {
        AutoSelect {
            regular,
            intermittent,
            classify,
            backtest: Backtest::new(4, 3, 4),
        }
    }

    /// Sets the scoring backtest: `windows` windows of `horizon` steps, `step` apart.
    pub fn with_backtest(mut self, horizon: usize, windows: usize, step: usize) -> AutoSelect {
        self.backtest.horizon = horizon;
        self.backtest.windows = windows;
        self.backtest.step = step;
        self
    }

    /// Sets the season of the score's scale.
    pub fn with_season(mut self, season: usize) -> AutoSelect {
        self.backtest.season = season;
        self
    }

    /// The score of one candidate on `y`, `None` if it cannot be backtested.
    fn score(&self, model: &dyn Model, y: &[f64], intermittent: bool) -> Option<f64> {
        let s = self.backtest.evaluate(model, y).ok()?;
        let per_window = s.windows.iter().map(|w| {
            let a = &w.accuracy;
            match (intermittent, a.rmsse.is_nan(), a.mase.is_nan()) {
                (true, false, _) => a.rmsse,
                (true, true, _) => a.rmse,
                (false, _, false) => a.mase,
                (false, _, true) => a.mae,
            }
        });
        let (sum, n) = per_window.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        let mean = sum / n as f64;
        (n > 0 && !mean.is_nan()).then_some(mean)
    }

    /// Classifies `y`, scores the candidates and fits the chosen one (see the module
    /// docs).
    ///
    /// Errors: [`Error::NoModel`] when the class has no candidate or none fits (with the
    /// last failure); invalid backtest settings.
    pub fn choose(&self, y: &[f64]) -> Result<Choice> {
        let mut backtest = self.backtest.clone();
        backtest.levels.clear();
        backtest.check()?;
        let intermittent = (self.classify)(y);
        let candidates = if intermittent {
            &self.intermittent
        } else {
            &self.regular
        };
        if candidates.is_empty() {
            return Err(Error::NoModel {
                reason: format!(
                    "no candidate model for {} series",
                    if intermittent {
                        "intermittent"
                    } else {
                        "regular"
                    }
                ),
            });
        }
        let scores: Vec<Option<f64>> = candidates
            .iter()
            .map(|m| self.score(m.as_ref(), y, intermittent))
            .collect();
        // Scored candidates by score (stable: the first wins ties), then the rest by
        // simplicity.
        let mut order: Vec<usize> = (0..candidates.len())
            .filter(|&i| scores[i].is_some())
            .collect();
        order.sort_by(|&a, &b| {
            let (sa, sb) = (
                scores[a].unwrap_or(f64::INFINITY),
                scores[b].unwrap_or(f64::INFINITY),
            );
            sa.total_cmp(&sb)
        });
        let scored = order.len();
        let mut rest: Vec<usize> = (0..candidates.len())
            .filter(|&i| scores[i].is_none())
            .collect();
        rest.sort_by_key(|&i| candidates[i].min_len());
        order.extend(rest);
        let mut last_error = None;
        for (rank, &index) in order.iter().enumerate() {
            match candidates[index].fit(y) {
                Ok(fitted) => {
                    return Ok(Choice {
                        intermittent,
                        index,
                        scores,
                        fallback: rank >= scored,
                        fitted,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(Error::NoModel {
            reason: last_error.map_or_else(String::new, |e| e.to_string()),
        })
    }
}

impl Model for AutoSelect {
    fn name(&self) -> String {
        "AutoSelect".into()
    }

    /// The smallest minimum of all candidates (shorter series fit no candidate).
    fn min_len(&self) -> usize {
        self.regular
            .iter()
            .chain(&self.intermittent)
            .map(|m| m.min_len())
            .min()
            .unwrap_or(1)
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(Selected(self.choose(y)?.fitted)))
    }
}

/// The fitted model [`AutoSelect`] chose.
#[derive(Debug)]
struct Selected(Box<dyn Fitted>);

impl Fitted for Selected {
    fn name(&self) -> String {
        format!("Auto[{}]", self.0.name())
    }

    fn forecast(&self, horizon: usize, levels: &[f64]) -> Forecast {
        self.0.forecast(horizon, levels)
    }

    fn fitted(&self) -> Option<&[f64]> {
        self.0.fitted()
    }

    fn criteria(&self) -> Option<Criteria> {
        self.0.criteria()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backtest::tests::{MeanModel, SeasonalNaiveModel};

    /// A classifier that calls no series intermittent.
    pub(crate) fn never(_: &[f64]) -> bool {
        false
    }

    /// A classifier that calls a series intermittent when over half of it is zero.
    pub(crate) fn zero_share_over_half(y: &[f64]) -> bool {
        y.iter().filter(|v| **v == 0.0).count() * 2 > y.len()
    }

    fn seasonal(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| [2.0, 9.0, 4.0, 7.0][t % 4] + 0.1 * (t % 3) as f64)
            .collect()
    }

    #[test]
    fn picks_the_model_with_the_lowest_backtest_mase() -> Result<()> {
        let auto = AutoSelect::new(
            vec![Box::new(MeanModel), Box::new(SeasonalNaiveModel(4))],
            vec![],
            never,
        )
        .with_season(4);
        let y = seasonal(32);
        let c = auto.choose(&y)?;
        assert_eq!(c.index, 1);
        assert!(!c.fallback && !c.intermittent);
        // The scores are the mean MASE over the windows of the same backtest.
        let bt = Backtest::new(4, 3, 4).with_season(4);
        for (i, m) in [&MeanModel as &dyn Model, &SeasonalNaiveModel(4)]
            .iter()
            .enumerate()
        {
            let s = bt.evaluate(*m, &y)?;
            let mean = s.windows.iter().map(|w| w.accuracy.mase).sum::<f64>() / 3.0;
            assert!((c.scores[i].expect("scored") - mean).abs() < 1e-12);
        }
        let fitted = auto.fit(&y)?;
        assert_eq!(fitted.name(), "Auto[SeasonalNaive]");
        assert_eq!(fitted.forecast(2, &[]).mean, y[28..30].to_vec());
        Ok(())
    }

    #[test]
    fn ties_go_to_the_first_candidate() -> Result<()> {
        // Two identical candidates: the first wins.
        let auto = AutoSelect::new(
            vec![
                Box::new(SeasonalNaiveModel(4)),
                Box::new(SeasonalNaiveModel(4)),
            ],
            vec![],
            never,
        );
        assert_eq!(auto.choose(&seasonal(30))?.index, 0);
        Ok(())
    }

    #[test]
    fn intermittent_series_use_their_own_candidates() -> Result<()> {
        let auto = AutoSelect::new(
            vec![Box::new(SeasonalNaiveModel(4))],
            vec![Box::new(SeasonalNaiveModel(1)), Box::new(MeanModel)],
            zero_share_over_half,
        );
        let y: Vec<f64> = (0..30)
            .map(|t| if t % 3 == 0 { 3.0 } else { 0.0 })
            .collect();
        let c = auto.choose(&y)?;
        assert!(c.intermittent);
        // RMSSE favours the mean (1 per period) over the naive's last value (0 or 3).
        assert_eq!(c.index, 1);
        assert_eq!(auto.fit(&y)?.name(), "Auto[Mean]");
        Ok(())
    }

    #[test]
    fn short_series_fall_back_to_the_simplest_that_fits() -> Result<()> {
        let auto = AutoSelect::new(
            vec![Box::new(SeasonalNaiveModel(4)), Box::new(MeanModel)],
            vec![],
            never,
        );
        // 6 values: too short for the 3 × 4 backtest; MeanModel (min 2) is simpler.
        let c = auto.choose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
        assert!(c.fallback);
        assert_eq!(c.index, 1);
        assert!(c.scores.iter().all(Option::is_none));
        // 1 value: nothing fits.
        assert!(matches!(auto.choose(&[1.0]), Err(Error::NoModel { .. })));
        let none = AutoSelect::new(vec![], vec![], never);
        assert!(matches!(
            none.choose(&[1.0; 20]),
            Err(Error::NoModel { .. })
        ));
        Ok(())
    }
}
