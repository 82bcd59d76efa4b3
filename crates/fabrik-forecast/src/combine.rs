//! Forecast combinations: the mean of several models' point forecasts.
//!
//! Averaging the forecasts of a few different methods is one of the most robust ways to
//! forecast (Makridakis, Spiliotis & Assimakopoulos, *The M4 Competition*, 2020: the
//! combination of ETS, ARIMA and Theta beat each of them); no member has to be right for
//! the mean to be good. A member that cannot fit a series is left out of that series'
//! mean.
//!
//! **Intervals.** When every member has intervals at a requested level, the combination's
//! bounds are the means of the members' bounds: its quantiles are the means of theirs.
//! That is exact when the members' errors move together (the members of a combination
//! are fitted to the same series and mostly err the same way) and, for normal errors,
//! never narrower than the combination's true interval otherwise. When a member lacks
//! them the combination gives the point forecast only (wrap it in [`crate::Conformal`]).

use crate::error::{Error, Result};
use crate::model::{Fitted, Forecast, Interval, Model};

/// The mean of its members' point forecasts, with the means of their interval bounds
/// where every member has intervals (see the module docs).
#[derive(Debug)]
pub struct Combination {
    /// The models averaged (at least one; [`Combination::new`] checks).
    pub members: Vec<Box<dyn Model>>,
}

impl Combination {
    /// A combination of `members` (at least one).
    pub fn new(members: Vec<Box<dyn Model>>) -> Result<Combination> {
        if members.is_empty() {
            return Err(Error::NoModel {
                reason: "a combination needs at least one model".to_string(),
            });
        }
        Ok(Combination { members })
    }
}

impl Model for Combination {
    fn name(&self) -> String {
        format!(
            "Combination({})",
            self.members
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    fn min_len(&self) -> usize {
        self.members.iter().map(|m| m.min_len()).min().unwrap_or(1)
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        let mut fits = Vec::new();
        let mut last_error = None;
        for m in &self.members {
            match m.fit(y) {
                Ok(f) => fits.push(f),
                Err(e) => last_error = Some(e),
            }
        }
        if fits.is_empty() {
            return Err(last_error.unwrap_or(Error::NoModel {
                reason: "no member of the combination fitted".to_string(),
            }));
        }
        let fitted = fits
            .iter()
            .map(|f| f.fitted().map(<[f64]>::to_vec))
            .collect::<Option<Vec<_>>>()
            .map(|all| {
                (0..y.len())
                    .map(|t| all.iter().map(|f| f[t]).sum::<f64>() / all.len() as f64)
                    .collect()
            });
        Ok(Box::new(CombinationFit { fits, fitted }))
    }
}

/// A fitted [`Combination`].
#[derive(Debug)]
pub struct CombinationFit {
    fits: Vec<Box<dyn Fitted>>,
    fitted: Option<Vec<f64>>,
}

impl Fitted for CombinationFit {
    fn name(&self) -> String {
        format!(
            "Combination({})",
            self.fits
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    fn forecast(&self, horizon: usize, levels: &[f64]) -> Forecast {
        let n = self.fits.len() as f64;
        let mut mean = vec![0.0; horizon];
        let mut intervals: Vec<Interval> = levels
            .iter()
            .map(|&level| Interval {
                level,
                lo: vec![0.0; horizon],
                hi: vec![0.0; horizon],
            })
            .collect();
        let mut complete = !levels.is_empty();
        for f in &self.fits {
            let fc = f.forecast(horizon, if complete { levels } else { &[] });
            for (m, v) in mean.iter_mut().zip(&fc.mean) {
                *m += v / n;
            }
            if !complete {
                continue;
            }
            for out in &mut intervals {
                match fc.interval(out.level) {
                    Some(i) if i.lo.len() == horizon && i.hi.len() == horizon => {
                        for (o, v) in out.lo.iter_mut().zip(&i.lo) {
                            *o += v / n;
                        }
                        for (o, v) in out.hi.iter_mut().zip(&i.hi) {
                            *o += v / n;
                        }
                    }
                    _ => complete = false,
                }
            }
        }
        if complete {
            Forecast { mean, intervals }
        } else {
            Forecast::point(mean)
        }
    }

    fn fitted(&self) -> Option<&[f64]> {
        self.fitted.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naive::SeasonalNaive;

    #[test]
    fn the_mean_of_the_members() {
        // Naive (last value 4) and seasonal naive with season 2 (values 3, 4 repeating).
        let y = [1.0, 2.0, 3.0, 4.0];
        let c = Combination::new(vec![
            Box::new(SeasonalNaive { season: 1 }),
            Box::new(SeasonalNaive { season: 2 }),
        ])
        .expect("members");
        let f = c.fit(&y).expect("fit").forecast(3, &[]);
        assert_eq!(f.mean, vec![3.5, 4.0, 3.5]);
        assert!(f.intervals.is_empty());
        // Seasonal naive has analytic intervals: the combination's are the means of the
        // members' bounds.
        let fits = c.fit(&y).expect("fit");
        let both = fits.forecast(3, &[80.0]);
        let a = SeasonalNaive { season: 1 }
            .fit(&y)
            .expect("fit")
            .forecast(3, &[80.0]);
        let b = SeasonalNaive { season: 2 }
            .fit(&y)
            .expect("fit")
            .forecast(3, &[80.0]);
        let (ia, ib, ic) = (&a.intervals[0], &b.intervals[0], &both.intervals[0]);
        for t in 0..3 {
            assert!((ic.lo[t] - (ia.lo[t] + ib.lo[t]) / 2.0).abs() < 1e-12);
            assert!((ic.hi[t] - (ia.hi[t] + ib.hi[t]) / 2.0).abs() < 1e-12);
        }
        assert_eq!(both.mean, f.mean);
        assert!(Combination::new(Vec::new()).is_err());
        // A member that cannot fit (season 8 > 4 observations) is left out.
        let c = Combination::new(vec![
            Box::new(SeasonalNaive { season: 8 }),
            Box::new(SeasonalNaive { season: 1 }),
        ])
        .expect("members");
        assert_eq!(
            c.fit(&y).expect("fit").forecast(2, &[]).mean,
            vec![4.0, 4.0]
        );
    }
}
