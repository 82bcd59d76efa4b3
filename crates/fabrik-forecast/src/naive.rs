//! The seasonal naive method and the naive method (its season-1 case): each forecast
//! repeats the value one season earlier, with analytic normal intervals as
//! `statsforecast` 2.1.1's `SeasonalNaive` and `Naive` give them.

use crate::error::{Error, Result};
use crate::model::{Fitted, Forecast, Interval, Model, check_series, normal_quantile};

/// The seasonal naive method: the forecast `h` steps ahead is the last observed value of
/// the same season, `y[n - season + (h - 1) % season]`.
///
/// Intervals: `σ` is the root mean square of the in-sample seasonal-naive errors
/// `y[t] - y[t - season]`, their sum of squares divided by `n - season` (0 when the series
/// is exactly one season long, so the intervals then have no width, as statsforecast's);
/// the step-`h` standard deviation is `σ · sqrt(floor((h - 1) / season) + 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeasonalNaive {
    /// The season length (1 = the naive method).
    pub season: usize,
}

/// The naive method: every forecast is the last value; step-`h` standard deviation
/// `σ · sqrt(h)`. Named `"Naive"`; otherwise [`SeasonalNaive`] with season 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Naive;

/// A seasonal naive model fitted to one series.
#[derive(Debug, Clone)]
pub struct SeasonalNaiveFit {
    name: &'static str,
    season: usize,
    last_season: Vec<f64>,
    sigma: f64,
    fitted: Vec<f64>,
}

impl SeasonalNaiveFit {
    /// The residual standard deviation `σ` of the intervals.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The season length.
    pub fn season(&self) -> usize {
        self.season
    }
}

impl SeasonalNaive {
    /// Fits the method, keeping the concrete type.
    pub fn fit_naive(&self, y: &[f64]) -> Result<SeasonalNaiveFit> {
        fit_seasonal_naive("SeasonalNaive", self.season, y)
    }
}

fn fit_seasonal_naive(name: &'static str, season: usize, y: &[f64]) -> Result<SeasonalNaiveFit> {
    if season == 0 {
        return Err(Error::Season { season });
    }
    check_series(name, y, season, false)?;
    let n = y.len();
    let mut fitted = Vec::with_capacity(n);
    fitted.resize(season, f64::NAN);
    fitted.extend_from_slice(&y[..n - season]);
    let sse: f64 = y[season..]
        .iter()
        .zip(&y[..n - season])
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let sigma = if n > season {
        (sse / (n - season) as f64).sqrt()
    } else {
        0.0
    };
    Ok(SeasonalNaiveFit {
        name,
        season,
        last_season: y[n - season..].to_vec(),
        sigma,
        fitted,
    })
}

impl Model for SeasonalNaive {
    fn name(&self) -> String {
        "SeasonalNaive".to_string()
    }

    fn min_len(&self) -> usize {
        self.season.max(1)
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_naive(y)?))
    }
}

impl Naive {
    /// Fits the method, keeping the concrete type.
    pub fn fit_naive(&self, y: &[f64]) -> Result<SeasonalNaiveFit> {
        fit_seasonal_naive("Naive", 1, y)
    }
}

impl Model for Naive {
    fn name(&self) -> String {
        "Naive".to_string()
    }

    fn min_len(&self) -> usize {
        1
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_naive(y)?))
    }
}

impl Fitted for SeasonalNaiveFit {
    fn name(&self) -> String {
        self.name.to_string()
    }

    fn forecast(&self, horizon: usize, levels: &[f64]) -> Forecast {
        let mean: Vec<f64> = (0..horizon)
            .map(|h| self.last_season[h % self.season])
            .collect();
        let intervals = levels
            .iter()
            .map(|&level| {
                let z = normal_quantile(0.5 + level / 200.0);
                let (lo, hi) = mean
                    .iter()
                    .enumerate()
                    .map(|(h, m)| {
                        let sd = self.sigma * ((h / self.season) as f64 + 1.0).sqrt();
                        (m - z * sd, m + z * sd)
                    })
                    .unzip();
                Interval { level, lo, hi }
            })
            .collect();
        Forecast { mean, intervals }
    }

    fn fitted(&self) -> Option<&[f64]> {
        Some(&self.fitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_series::{CO2_MONTHLY, SUNSPOTS, assert_close};

    #[test]
    fn seasonal_naive_matches_statsforecast() {
        // statsforecast 2.1.1: SeasonalNaive(season_length=12).forecast(y=co2_120, h=18,
        // level=[80, 95], fitted=True), co2_120 = test_series::CO2_MONTHLY.
        let mean = [
            370.175,
            371.325,
            372.06,
            372.775,
            373.79999999999995,
            373.06,
            371.3,
            369.425,
            367.88,
            368.05,
            369.375,
            371.02,
            370.175,
            371.325,
            372.06,
            372.775,
            373.79999999999995,
            373.06,
        ];
        let lo95 = [
            366.7000065376939,
            367.8500065376939,
            368.5850065376939,
            369.3000065376939,
            370.32500653769387,
            369.5850065376939,
            367.8250065376939,
            365.9500065376939,
            364.4050065376939,
            364.5750065376939,
            365.9000065376939,
            367.5450065376939,
            365.26061711644894,
            366.4106171164489,
            367.14561711644893,
            367.8606171164489,
            368.8856171164489,
            368.14561711644893,
        ];
        let hi80 = [
            372.4471760945626,
            373.5971760945626,
            374.3321760945626,
            375.0471760945626,
            376.07217609456256,
            375.3321760945626,
            373.5721760945626,
            371.6971760945626,
            370.1521760945626,
            370.3221760945626,
            371.6471760945626,
            373.2921760945626,
            373.38834224903036,
            374.53834224903034,
            375.27334224903035,
            375.9883422490303,
            377.0133422490303,
            376.27334224903035,
        ];
        let model = SeasonalNaive { season: 12 };
        let fit = model.fit(&CO2_MONTHLY).expect("fits");
        assert_eq!(fit.name(), "SeasonalNaive");
        let fc = fit.forecast(18, &[80.0, 95.0]);
        assert_close(&fc.mean, &mean, 1e-12, "mean");
        let i95 = fc.interval(95.0).expect("95%");
        let i80 = fc.interval(80.0).expect("80%");
        assert_close(&i95.lo, &lo95, 1e-12, "lo-95");
        assert_close(&i80.hi, &hi80, 1e-12, "hi-80");
        let fitted = fit.fitted().expect("fitted");
        assert!(fitted[..12].iter().all(|v| v.is_nan()));
        assert_eq!(&fitted[12..], &CO2_MONTHLY[..108]);
    }

    #[test]
    fn naive_matches_statsforecast() {
        // statsforecast 2.1.1: Naive().forecast(y=sunspots_60, h=3, level=[90]),
        // sunspots_60 = test_series::SUNSPOTS.
        let fit = Naive.fit(&SUNSPOTS).expect("fits");
        assert_eq!(fit.name(), "Naive");
        let fc = fit.forecast(3, &[90.0]);
        assert_close(&fc.mean, &[2.9; 3], 1e-12, "mean");
        let i = &fc.intervals[0];
        assert_close(
            &i.lo,
            &[-51.66802879075304, -74.27084638784847, -91.61459833446554],
            1e-12,
            "lo-90",
        );
        assert_close(
            &i.hi,
            &[57.46802879075304, 80.07084638784848, 97.41459833446555],
            1e-12,
            "hi-90",
        );
    }

    #[test]
    fn errors_and_edge_cases() {
        let m = SeasonalNaive { season: 4 };
        assert!(matches!(
            m.fit(&[1.0, 2.0, 3.0]),
            Err(Error::TooShort { len: 3, min: 4, .. })
        ));
        assert!(matches!(
            m.fit(&[1.0, 2.0, f64::INFINITY, 3.0]),
            Err(Error::NonFinite { position: 2, .. })
        ));
        assert!(matches!(
            SeasonalNaive { season: 0 }.fit(&[1.0]),
            Err(Error::Season { season: 0 })
        ));
        // Exactly one season: no in-sample error, so σ = 0 (as statsforecast).
        let fit = m.fit_naive(&[1.0, 2.0, 3.0, 4.0]).expect("fits");
        assert_eq!(fit.sigma(), 0.0);
        let fc = fit.forecast(5, &[95.0]);
        assert_eq!(fc.mean, vec![1.0, 2.0, 3.0, 4.0, 1.0]);
        assert_eq!(fc.intervals[0].lo, fc.mean);
        // Negative values are fine for the naive methods.
        assert!(Naive.fit(&[-1.0, -2.0]).is_ok());
    }
}
