//! Forecast combinations: the mean of several models' point forecasts.
//!
//! Averaging the forecasts of a few different methods is one of the most robust ways to
//! forecast (Makridakis, Spiliotis & Assimakopoulos, *The M4 Competition*, 2020: the
//! combination of ETS, ARIMA and Theta beat each of them); no member has to be right for
//! the mean to be good. A member that cannot fit a series is left out of that series'
//! mean.

use crate::error::{Error, Result};
use crate::model::{Fitted, Forecast, Model};

/// The mean of its members' point forecasts (no intervals of its own: wrap it in
/// [`crate::Conformal`] for them).
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

    fn forecast(&self, horizon: usize, _levels: &[f64]) -> Forecast {
        let n = self.fits.len() as f64;
        let mut mean = vec![0.0; horizon];
        for f in &self.fits {
            for (m, v) in mean.iter_mut().zip(f.forecast(horizon, &[]).mean) {
                *m += v / n;
            }
        }
        Forecast::point(mean)
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
