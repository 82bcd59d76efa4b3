//! Models for intermittent (sparse) demand, where many periods have no demand at all, and
//! the Syntetos-Boylan classification that tells such series apart.
//!
//! The models follow `statsforecast` 2.1.1 (`_croston_classic`, `_croston_sba`,
//! `_croston_optimized`, `_tsb`, `_adida`, `_imapa` and the SES helpers behind them),
//! including their edge cases:
//!
//! - an all-zero series forecasts 0 (Croston's methods forecast its last value, which is
//!   0, as statsforecast falls back to the naive method there);
//! - a series with a single non-zero value `v` at position `k` (0-based) gives Croston
//!   `v / (k + 1)`: the size and the interval are each smoothed from one observation.
//!
//! The forecasts are flat (one value repeated over the horizon). These models have no
//! analytic prediction intervals: [`Fitted::forecast`] returns none, and intervals come
//! from conformal prediction on backtest errors.
//!
//! | model | statsforecast name | fitted values |
//! | --- | --- | --- |
//! | [`CrostonClassic`] | `CrostonClassic` | at fit |
//! | [`CrostonSba`] | `CrostonSBA` | at fit |
//! | [`CrostonOptimized`] | `CrostonOptimized` | on first request (each re-optimises every prefix) |
//! | [`Tsb`] | `TSB` | at fit |
//! | [`TsbOptimized`] | (none: fabrik's) `TSBOptimized` | at fit |
//! | [`Adida`] | `ADIDA` | on first request |
//! | [`Imapa`] | `IMAPA` | on first request |

mod ses;

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::model::{Fitted, Forecast, Model, check_series};
use crate::optim::{NelderMead, minimize};
use ses::{SesState, chunk_forecast, optimized_ses_forecast};

/// The smoothing weight of Croston's classic method and SBA, on sizes and intervals alike.
pub const CROSTON_ALPHA: f64 = 0.1;

/// The Syntetos-Boylan bias correction `1 - alpha / 2` at `alpha` = [`CROSTON_ALPHA`].
pub const SBA_FACTOR: f64 = 0.95;

/// The ADI cut-off between smooth/erratic and intermittent/lumpy demand (Syntetos, Boylan
/// & Croston 2005).
pub const ADI_CUTOFF: f64 = 1.32;

/// The CV² cut-off between smooth/intermittent and erratic/lumpy demand (Syntetos, Boylan
/// & Croston 2005).
pub const CV2_CUTOFF: f64 = 0.49;

/// Croston's method (Croston 1972) with weight 0.1 on the non-zero sizes and on the
/// intervals between them: the forecast is the smoothed size over the smoothed interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CrostonClassic;

/// Croston's method with the Syntetos-Boylan approximation: [`CrostonClassic`] times
/// [`SBA_FACTOR`], which removes most of Croston's upward bias.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CrostonSba;

/// Croston's method with each weight chosen in `[0.1, 0.3]` by golden-section search on
/// the in-sample squared one-step errors of its own series (sizes, intervals).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CrostonOptimized;

/// Teunter-Syntetos-Babai: smooths the probability of a demand in each period (weight
/// `alpha_p`, updated every period) and the non-zero size (weight `alpha_d`, updated on
/// demand); the forecast is their product. Unlike Croston's it decays towards zero while
/// no demand comes, which suits obsolescence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tsb {
    /// The weight on the non-zero sizes, in `[0, 1]`.
    pub alpha_d: f64,
    /// The weight on the demand probability, in `[0, 1]`.
    pub alpha_p: f64,
}

/// [`Tsb`] with `alpha_d` and `alpha_p` chosen in `[0.01, 0.99]` by minimising the
/// in-sample mean squared one-step error (Nelder-Mead from 0.1, 0.1). statsforecast has no
/// such model: it is fabrik's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TsbOptimized;

/// Aggregate-Disaggregate Intermittent Demand Approach (Nikolopoulos et al. 2011): sums the
/// series over non-overlapping chunks as long as the mean inter-demand interval (rounded
/// half to even), forecasts the sums by SES with the weight chosen in `[0.1, 0.3]`, and
/// spreads that evenly over the chunk's periods.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Adida;

/// Intermittent Multiple Aggregation Prediction Algorithm (Petropoulos & Kourentzes
/// 2015): the [`Adida`] forecast at every aggregation level from 1 to the rounded mean
/// inter-demand interval, averaged.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Imapa;

/// An intermittent-demand model fitted to one series.
#[derive(Debug)]
pub struct IntermittentFit {
    model: &'static str,
    mean: f64,
    alpha_d: Option<f64>,
    alpha_p: Option<f64>,
    aggregation: Option<usize>,
    fitted: FittedValues,
}

/// In-sample fitted values: computed at fit where cheap, otherwise on first request from
/// a copy of the series.
#[derive(Debug)]
enum FittedValues {
    Ready(Vec<f64>),
    Lazy {
        method: LazyMethod,
        y: Vec<f64>,
        values: OnceLock<Vec<f64>>,
    },
}

#[derive(Debug, Clone, Copy)]
enum LazyMethod {
    CrostonOptimized,
    Adida,
    Imapa,
}

impl IntermittentFit {
    /// The flat point forecast (the same for every step).
    pub fn level(&self) -> f64 {
        self.mean
    }

    /// The weight on the non-zero sizes (TSB models).
    pub fn alpha_d(&self) -> Option<f64> {
        self.alpha_d
    }

    /// The weight on the demand probability (TSB models).
    pub fn alpha_p(&self) -> Option<f64> {
        self.alpha_p
    }

    /// The aggregation level: ADIDA's chunk length, IMAPA's highest level; `None` for the
    /// other models and for an all-zero series.
    pub fn aggregation(&self) -> Option<usize> {
        self.aggregation
    }

    fn ready(model: &'static str, mean: f64, fitted: Vec<f64>) -> IntermittentFit {
        IntermittentFit {
            model,
            mean,
            alpha_d: None,
            alpha_p: None,
            aggregation: None,
            fitted: FittedValues::Ready(fitted),
        }
    }

    fn lazy(model: &'static str, mean: f64, method: LazyMethod, y: &[f64]) -> IntermittentFit {
        IntermittentFit {
            model,
            mean,
            alpha_d: None,
            alpha_p: None,
            aggregation: None,
            fitted: FittedValues::Lazy {
                method,
                y: y.to_vec(),
                values: OnceLock::new(),
            },
        }
    }
}

impl Fitted for IntermittentFit {
    fn name(&self) -> String {
        self.model.to_string()
    }

    fn forecast(&self, horizon: usize, _levels: &[f64]) -> Forecast {
        Forecast::point(vec![self.mean; horizon])
    }

    fn fitted(&self) -> Option<&[f64]> {
        match &self.fitted {
            FittedValues::Ready(v) => Some(v),
            FittedValues::Lazy { method, y, values } => Some(values.get_or_init(|| match method {
                LazyMethod::CrostonOptimized => croston_optimized_fitted(y),
                LazyMethod::Adida => adida_fitted(y),
                LazyMethod::Imapa => imapa_fitted(y),
            })),
        }
    }
}

/// NaN, then zeros: the fitted values of an all-zero series.
fn zero_fitted(n: usize) -> Vec<f64> {
    let mut f = vec![0.0; n];
    if let Some(first) = f.first_mut() {
        *first = f64::NAN;
    }
    f
}

fn has_demand(y: &[f64]) -> bool {
    y.iter().any(|&v| v != 0.0)
}

/// Croston's method with weight `alpha` on sizes and intervals, scaled by `factor`; for an
/// all-zero series the naive method (as statsforecast).
fn croston(y: &[f64], alpha: f64, factor: f64) -> (f64, Vec<f64>) {
    let n = y.len();
    let mut fitted = Vec::with_capacity(n);
    if !has_demand(y) {
        fitted.push(f64::NAN);
        fitted.extend(y[..n - 1].iter().map(|v| v * factor));
        return (y[n - 1] * factor, fitted);
    }
    let mut size = SesState::new(alpha);
    let mut interval = SesState::new(alpha);
    let mut since = 0.0;
    for (t, &v) in y.iter().enumerate() {
        if t == 0 {
            fitted.push(f64::NAN);
        } else if size.count() == 0 {
            fitted.push(0.0);
        } else {
            fitted.push(size.forecast() / nonzero_or_one(interval.forecast()) * factor);
        }
        since += 1.0;
        if v != 0.0 {
            size.push(v);
            interval.push(since);
            since = 0.0;
        }
    }
    (ratio(size.forecast(), interval.forecast()) * factor, fitted)
}

/// `size / interval`, or `size` where the interval is 0 (as statsforecast).
fn ratio(size: f64, interval: f64) -> f64 {
    if interval != 0.0 {
        size / interval
    } else {
        size
    }
}

fn nonzero_or_one(v: f64) -> f64 {
    if v == 0.0 { 1.0 } else { v }
}

/// The non-zero sizes and the intervals between them (the first counted from the start).
fn sizes_and_intervals(y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut sizes = Vec::new();
    let mut intervals = Vec::new();
    let mut prev = 0;
    for (t, &v) in y.iter().enumerate() {
        if v != 0.0 {
            sizes.push(v);
            intervals.push((t + 1 - prev) as f64);
            prev = t + 1;
        }
    }
    (sizes, intervals)
}

fn croston_optimized_fitted(y: &[f64]) -> Vec<f64> {
    let n = y.len();
    if !has_demand(y) {
        let mut f = vec![f64::NAN];
        f.extend_from_slice(&y[..n - 1]);
        return f;
    }
    let (sizes, intervals) = sizes_and_intervals(y);
    let mut fitted = Vec::with_capacity(n);
    fitted.push(f64::NAN);
    let mut seen = 0;
    let (mut size_f, mut interval_f) = (0.0, 1.0);
    for t in 1..n {
        if y[t - 1] != 0.0 {
            seen += 1;
            size_f = optimized_ses_forecast(&sizes[..seen]);
            interval_f = nonzero_or_one(optimized_ses_forecast(&intervals[..seen]));
        }
        fitted.push(size_f / interval_f);
    }
    fitted
}

/// The mean interval between non-zero values (the first counted from the start), or
/// `None` for an all-zero series.
fn mean_interval(y: &[f64]) -> Option<f64> {
    let mut count = 0usize;
    let mut last = 0usize;
    for (t, &v) in y.iter().enumerate() {
        if v != 0.0 {
            count += 1;
            last = t + 1;
        }
    }
    // The intervals add up to the position (1-based) of the last demand.
    (count > 0).then(|| last as f64 / count as f64)
}

/// Rounds half to even to a level of at least 1 (as Python's and numpy's `round`).
fn level_of(mean_interval: f64) -> usize {
    (mean_interval.round_ties_even() as usize).max(1)
}

fn adida_fitted(y: &[f64]) -> Vec<f64> {
    let n = y.len();
    if !has_demand(y) {
        return zero_fitted(n);
    }
    let mut scratch = Vec::new();
    let mut fitted = Vec::with_capacity(n);
    fitted.push(f64::NAN);
    let (mut count, mut interval_sum, mut prev) = (0usize, 0usize, 0usize);
    let mut level = 1usize;
    for t in 1..n {
        if y[t - 1] != 0.0 {
            count += 1;
            interval_sum += t - prev;
            prev = t;
            level = level_of(interval_sum as f64 / count as f64);
        }
        fitted.push(chunk_forecast(&y[..t], level, &mut scratch) / level as f64);
    }
    fitted
}

fn imapa_forecast(y: &[f64], max_level: usize, scratch: &mut Vec<f64>) -> f64 {
    let mut sum = 0.0;
    for level in 1..=max_level {
        sum += chunk_forecast(y, level, scratch) / level as f64;
    }
    sum / max_level as f64
}

fn imapa_fitted(y: &[f64]) -> Vec<f64> {
    let n = y.len();
    if !has_demand(y) {
        return zero_fitted(n);
    }
    let mut scratch = Vec::new();
    let mut fitted = Vec::with_capacity(n);
    fitted.push(f64::NAN);
    for t in 1..n {
        let value = match mean_interval(&y[..t]) {
            None => 0.0,
            // statsforecast's fitted values round half away from zero here (C++
            // `std::round`), unlike its forecast (Python `round`, half to even).
            Some(m) => imapa_forecast(&y[..t], (m.round() as usize).clamp(1, t), &mut scratch),
        };
        fitted.push(value);
    }
    fitted
}

/// TSB's forecast and fitted values with the given weights.
fn tsb(y: &[f64], alpha_d: f64, alpha_p: f64) -> (f64, Vec<f64>) {
    let n = y.len();
    if !has_demand(y) {
        return (0.0, zero_fitted(n));
    }
    let mut size = SesState::new(alpha_d);
    let mut prob = SesState::new(alpha_p);
    let mut fitted = Vec::with_capacity(n);
    for (t, &v) in y.iter().enumerate() {
        if t == 0 {
            fitted.push(f64::NAN);
        } else {
            let s = if size.count() == 0 {
                0.0
            } else {
                size.forecast()
            };
            fitted.push(prob.forecast() * s);
        }
        prob.push(if v != 0.0 { 1.0 } else { 0.0 });
        if v > 0.0 {
            size.push(v);
        }
    }
    (prob.forecast() * size.forecast(), fitted)
}

/// TSB's in-sample mean squared one-step error (from the second period), without
/// allocating.
fn tsb_mse(y: &[f64], alpha_d: f64, alpha_p: f64) -> f64 {
    let mut size = SesState::new(alpha_d);
    let mut prob = SesState::new(alpha_p);
    let mut sse = 0.0;
    for (t, &v) in y.iter().enumerate() {
        if t > 0 {
            let s = if size.count() == 0 {
                0.0
            } else {
                size.forecast()
            };
            let e = v - prob.forecast() * s;
            sse += e * e;
        }
        prob.push(if v != 0.0 { 1.0 } else { 0.0 });
        if v > 0.0 {
            size.push(v);
        }
    }
    sse / (y.len() - 1).max(1) as f64
}

fn check(model: &str, y: &[f64]) -> Result<()> {
    check_series(model, y, 1, true)
}

fn check_weight(name: &'static str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::Parameter {
            name,
            value,
            expected: "a smoothing weight in [0, 1]",
        })
    }
}

impl CrostonClassic {
    /// Fits the model, keeping the concrete type.
    pub fn fit_croston(&self, y: &[f64]) -> Result<IntermittentFit> {
        check(&self.name(), y)?;
        let (mean, fitted) = croston(y, CROSTON_ALPHA, 1.0);
        Ok(IntermittentFit::ready("CrostonClassic", mean, fitted))
    }
}

impl Model for CrostonClassic {
    fn name(&self) -> String {
        "CrostonClassic".to_string()
    }
    fn min_len(&self) -> usize {
        1
    }
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_croston(y)?))
    }
}

impl CrostonSba {
    /// Fits the model, keeping the concrete type.
    pub fn fit_sba(&self, y: &[f64]) -> Result<IntermittentFit> {
        check(&self.name(), y)?;
        let (mean, fitted) = croston(y, CROSTON_ALPHA, SBA_FACTOR);
        Ok(IntermittentFit::ready("CrostonSBA", mean, fitted))
    }
}

impl Model for CrostonSba {
    fn name(&self) -> String {
        "CrostonSBA".to_string()
    }
    fn min_len(&self) -> usize {
        1
    }
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_sba(y)?))
    }
}

impl CrostonOptimized {
    /// Fits the model, keeping the concrete type.
    pub fn fit_croston(&self, y: &[f64]) -> Result<IntermittentFit> {
        check(&self.name(), y)?;
        let mean = if has_demand(y) {
            let (sizes, intervals) = sizes_and_intervals(y);
            ratio(
                optimized_ses_forecast(&sizes),
                optimized_ses_forecast(&intervals),
            )
        } else {
            y[y.len() - 1]
        };
        Ok(IntermittentFit::lazy(
            "CrostonOptimized",
            mean,
            LazyMethod::CrostonOptimized,
            y,
        ))
    }
}

impl Model for CrostonOptimized {
    fn name(&self) -> String {
        "CrostonOptimized".to_string()
    }
    fn min_len(&self) -> usize {
        1
    }
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_croston(y)?))
    }
}

impl Tsb {
    /// Fits the model, keeping the concrete type. Errors also on a weight outside
    /// `[0, 1]` ([`Error::Parameter`]).
    pub fn fit_tsb(&self, y: &[f64]) -> Result<IntermittentFit> {
        check_weight("alpha_d", self.alpha_d)?;
        check_weight("alpha_p", self.alpha_p)?;
        check(&self.name(), y)?;
        let (mean, fitted) = tsb(y, self.alpha_d, self.alpha_p);
        let mut fit = IntermittentFit::ready("TSB", mean, fitted);
        fit.alpha_d = Some(self.alpha_d);
        fit.alpha_p = Some(self.alpha_p);
        Ok(fit)
    }
}

impl Model for Tsb {
    fn name(&self) -> String {
        "TSB".to_string()
    }
    fn min_len(&self) -> usize {
        1
    }
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_tsb(y)?))
    }
}

impl TsbOptimized {
    /// Fits the model, keeping the concrete type.
    pub fn fit_tsb(&self, y: &[f64]) -> Result<IntermittentFit> {
        check(&self.name(), y)?;
        let (alpha_d, alpha_p) = if has_demand(y) && y.len() > 2 {
            let opts = NelderMead {
                max_iter: 500,
                tol_f: 1e-10,
                init_step: 0.05,
            };
            let m = minimize(
                |p| tsb_mse(y, p[0], p[1]),
                &[0.1, 0.1],
                &[0.01, 0.01],
                &[0.99, 0.99],
                &opts,
            );
            (m.x[0], m.x[1])
        } else {
            (0.1, 0.1)
        };
        let (mean, fitted) = tsb(y, alpha_d, alpha_p);
        let mut fit = IntermittentFit::ready("TSBOptimized", mean, fitted);
        fit.alpha_d = Some(alpha_d);
        fit.alpha_p = Some(alpha_p);
        Ok(fit)
    }
}

impl Model for TsbOptimized {
    fn name(&self) -> String {
        "TSBOptimized".to_string()
    }
    fn min_len(&self) -> usize {
        1
    }
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_tsb(y)?))
    }
}

impl Adida {
    /// Fits the model, keeping the concrete type.
    pub fn fit_adida(&self, y: &[f64]) -> Result<IntermittentFit> {
        check(&self.name(), y)?;
        let Some(m) = mean_interval(y) else {
            return Ok(IntermittentFit::ready("ADIDA", 0.0, zero_fitted(y.len())));
        };
        let level = level_of(m);
        let mut scratch = Vec::new();
        let mean = chunk_forecast(y, level, &mut scratch) / level as f64;
        let mut fit = IntermittentFit::lazy("ADIDA", mean, LazyMethod::Adida, y);
        fit.aggregation = Some(level);
        Ok(fit)
    }
}

impl Model for Adida {
    fn name(&self) -> String {
        "ADIDA".to_string()
    }
    fn min_len(&self) -> usize {
        1
    }
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_adida(y)?))
    }
}

impl Imapa {
    /// Fits the model, keeping the concrete type.
    pub fn fit_imapa(&self, y: &[f64]) -> Result<IntermittentFit> {
        check(&self.name(), y)?;
        let Some(m) = mean_interval(y) else {
            return Ok(IntermittentFit::ready("IMAPA", 0.0, zero_fitted(y.len())));
        };
        let max_level = level_of(m);
        let mut scratch = Vec::new();
        let mean = imapa_forecast(y, max_level, &mut scratch);
        let mut fit = IntermittentFit::lazy("IMAPA", mean, LazyMethod::Imapa, y);
        fit.aggregation = Some(max_level);
        Ok(fit)
    }
}

impl Model for Imapa {
    fn name(&self) -> String {
        "IMAPA".to_string()
    }
    fn min_len(&self) -> usize {
        1
    }
    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
        Ok(Box::new(self.fit_imapa(y)?))
    }
}

/// The Syntetos-Boylan demand classes (Syntetos, Boylan & Croston 2005), by the average
/// inter-demand interval (ADI) and the squared coefficient of variation of the non-zero
/// sizes (CV²).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DemandClass {
    /// ADI < 1.32 and CV² < 0.49: regular demand of steady size (SES, ETS suit it).
    Smooth,
    /// ADI < 1.32 and CV² ≥ 0.49: regular demand of very variable size.
    Erratic,
    /// ADI ≥ 1.32 and CV² < 0.49: sparse demand of steady size (SBA, TSB suit it).
    Intermittent,
    /// ADI ≥ 1.32 and CV² ≥ 0.49: sparse demand of very variable size (hardest).
    Lumpy,
}

/// A series' demand class with the figures it was decided by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classification {
    /// The class.
    pub class: DemandClass,
    /// Average inter-demand interval: the mean number of periods from one non-zero value
    /// to the next, the first interval counted from the start of the series (as Croston's
    /// method counts it), so a series with demand in every period has ADI 1.
    pub adi: f64,
    /// Squared coefficient of variation of the non-zero sizes: sample variance (`n - 1`)
    /// over the squared mean; 0 with fewer than two non-zero values.
    pub cv2: f64,
}

/// Classifies a demand series (Syntetos-Boylan). `None` for a series with no demand at all
/// (no class applies); errors on an empty series, non-finite or negative values.
pub fn classify(y: &[f64]) -> Result<Option<Classification>> {
    check("classify", y)?;
    let Some(adi) = mean_interval(y) else {
        return Ok(None);
    };
    let (mut count, mut sum) = (0usize, 0.0);
    for &v in y.iter().filter(|v| **v != 0.0) {
        count += 1;
        sum += v;
    }
    let mean = sum / count as f64;
    let cv2 = if count < 2 {
        0.0
    } else {
        let var = y
            .iter()
            .filter(|v| **v != 0.0)
            .map(|v| (v - mean) * (v - mean))
            .sum::<f64>()
            / (count - 1) as f64;
        var / (mean * mean)
    };
    let class = match (adi < ADI_CUTOFF, cv2 < CV2_CUTOFF) {
        (true, true) => DemandClass::Smooth,
        (true, false) => DemandClass::Erratic,
        (false, true) => DemandClass::Intermittent,
        (false, false) => DemandClass::Lumpy,
    };
    Ok(Some(Classification { class, adi, cv2 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_series::assert_close;

    /// The fixed intermittent series of the reference runs below.
    const Y: [f64; 30] = [
        0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 5.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 7.0, 0.0,
        0.0, 0.0, 4.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 6.0, 0.0, 2.0,
    ];
    const SINGLE: [f64; 6] = [0.0, 0.0, 0.0, 4.0, 0.0, 0.0];
    const NAN: f64 = f64::NAN;

    // Reference values: statsforecast 2.1.1, Python 3.11, float64 input:
    //   y = np.array(Y); r = Model().forecast(y=y, h=2, fitted=True)
    //   r["mean"][0], r["fitted"].tolist()
    // with Model = CrostonClassic, CrostonSBA, CrostonOptimized, TSB(alpha_d=0.2,
    // alpha_p=0.3), ADIDA, IMAPA.
    const CLASSIC_MEAN: f64 = 1.0308527557054261;
    const CLASSIC_FITTED: [f64; 30] = [
        NAN,
        0.0,
        0.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.032258064516129,
        1.032258064516129,
        0.9966555183946489,
        0.9966555183946489,
        0.9966555183946489,
        0.9966555183946489,
        0.9966555183946489,
        0.9031651519899719,
        0.9031651519899719,
        0.9031651519899719,
        1.0384312241873959,
        1.0384312241873959,
        1.0384312241873959,
        1.0384312241873959,
        1.0337080723013727,
        1.0337080723013727,
        1.0337080723013727,
        0.9686424572476677,
        0.9686424572476677,
        0.9686424572476677,
        0.9686424572476677,
        1.0329264140613823,
        1.0329264140613823,
    ];
    const SBA_MEAN: f64 = 0.9793101179201548;
    const SBA_FITTED_TAIL: [f64; 3] = [0.9202103343852843, 0.9812800933583131, 0.9812800933583131];
    const OPT_MEAN: f64 = 1.0308527557055183;
    const OPT_FITTED: [f64; 30] = [
        NAN,
        0.0,
        0.0,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0625,
        1.0625,
        0.9966555183946272,
        0.9966555183946272,
        0.9966555183946272,
        0.9966555183946272,
        0.9966555183946272,
        0.9031651519896713,
        0.9031651519896713,
        0.9031651519896713,
        1.0384312241875369,
        1.0384312241875369,
        1.0384312241875369,
        1.0384312241875369,
        1.0337080723014824,
        1.0337080723014824,
        1.0337080723014824,
        0.9686424572475693,
        0.9686424572475693,
        0.9686424572475693,
        0.9686424572475693,
        1.0304999688463483,
        1.0304999688463483,
    ];
    const TSB_MEAN: f64 = 1.678983489082949;
    const TSB_FITTED: [f64; 30] = [
        NAN,
        0.0,
        0.0,
        0.9000000000000001,
        0.6300000000000001,
        0.44100000000000006,
        0.30870000000000003,
        1.264902,
        0.8854314,
        1.4083005240000004,
        0.9858103668000002,
        0.69006725676,
        0.483047079732,
        0.3381329558124,
        1.0425781633465443,
        0.729804714342581,
        0.5108633000398066,
        1.5457081095862577,
        1.0819956767103802,
        0.7573969736972662,
        0.5301778815880862,
        1.4809411092559044,
        1.036658776479133,
        0.7256611435353931,
        1.3750938946246545,
        0.962565726237258,
        0.6737960083660806,
        0.4716572058562564,
        1.5032709578246115,
        1.052289670477228,
    ];
    const ADIDA_MEAN: f64 = 1.0664025356669515;
    const ADIDA_FITTED: [f64; 30] = [
        NAN,
        0.0,
        0.0,
        1.0,
        1.0,
        1.0,
        0.8000000000000002,
        1.25,
        0.8500000000000001,
        1.010000000000064,
        0.9933333333332905,
        0.9933333333332905,
        0.9089999999997341,
        0.8939999999996432,
        0.7925000000001121,
        0.8150000000003684,
        0.7204999999998927,
        1.0979333333336443,
        1.029623333333512,
        1.0174733333334471,
        0.9881399999999282,
        0.9039250000004299,
        0.970738660645184,
        1.1363499999997408,
        0.987328233333333,
        0.9774867333332873,
        0.9537267333331539,
        0.8885954099996834,
        1.127560152112332,
        0.9046792500003715,
    ];
    const IMAPA_MEAN: f64 = 1.1198465358429626;
    const IMAPA_FITTED: [f64; 30] = [
        NAN,
        0.0,
        0.0,
        1.0333333333333334,
        0.5233333333335897,
        0.8143333333335353,
        0.38456666666695066,
        1.2426587096369581,
        0.903410487407227,
        1.0427336066817008,
        0.7871252170290459,
        0.918455674417113,
        0.628931101793683,
        0.6557029022335844,
        0.7424476495085037,
        0.7580445373599968,
        0.6355318814914034,
        1.1957849667983378,
        1.0622795694010223,
        1.046110038750075,
        0.8660822820159133,
        1.0975452570868924,
        1.0275475615022127,
        1.0599530592645006,
        0.9495766060648635,
        0.9689716410127991,
        0.8208810055570174,
        0.849837432526523,
        1.1401506614768353,
        1.0591620093674088,
    ];

    fn fit(model: &dyn Model, y: &[f64]) -> Box<dyn Fitted> {
        model.fit(y).expect("the reference series fit")
    }

    fn check_model(model: &dyn Model, y: &[f64], mean: f64, fitted: &[f64], rel: f64) {
        let f = fit(model, y);
        assert_eq!(f.name(), model.name());
        let fc = f.forecast(3, &[80.0]);
        assert_close(&fc.mean, &[mean; 3], rel, &model.name());
        assert!(fc.intervals.is_empty(), "no analytic intervals");
        assert_close(
            f.fitted().expect("fitted values"),
            fitted,
            rel,
            &model.name(),
        );
    }

    #[test]
    fn croston_classic_and_sba_match_statsforecast() {
        check_model(&CrostonClassic, &Y, CLASSIC_MEAN, &CLASSIC_FITTED, 1e-12);
        let sba = fit(&CrostonSba, &Y);
        assert_close(&sba.forecast(1, &[]).mean, &[SBA_MEAN], 1e-12, "SBA mean");
        assert_close(
            &sba.fitted().expect("fitted")[27..],
            &SBA_FITTED_TAIL,
            1e-12,
            "SBA",
        );
        // SBA is exactly 0.95 times the classic fit.
        let sba_fitted = sba.fitted().expect("fitted");
        for (s, c) in sba_fitted.iter().zip(CLASSIC_FITTED).skip(1) {
            assert!((s - 0.95 * c).abs() < 1e-12);
        }
    }

    #[test]
    fn croston_optimized_matches_statsforecast() {
        // Golden-section search replicated step for step, so tight.
        check_model(&CrostonOptimized, &Y, OPT_MEAN, &OPT_FITTED, 1e-9);
    }

    #[test]
    fn tsb_matches_statsforecast() {
        let tsb = Tsb {
            alpha_d: 0.2,
            alpha_p: 0.3,
        };
        check_model(&tsb, &Y, TSB_MEAN, &TSB_FITTED, 1e-12);
    }

    #[test]
    fn adida_and_imapa_match_statsforecast() {
        check_model(&Adida, &Y, ADIDA_MEAN, &ADIDA_FITTED, 1e-9);
        check_model(&Imapa, &Y, IMAPA_MEAN, &IMAPA_FITTED, 1e-9);
        // Mean interval 30 / 10 = 3.
        assert_eq!(Adida.fit_adida(&Y).expect("fits").aggregation(), Some(3));
    }

    #[test]
    fn single_demand_and_all_zero_series_match_statsforecast() {
        // statsforecast 2.1.1: Model().forecast(y=np.array([0, 0, 0, 4, 0, 0.]), h=2,
        // fitted=True) and the same on np.zeros(6).
        let zeros = [0.0; 6];
        let zero_fitted = [NAN, 0.0, 0.0, 0.0, 0.0, 0.0];
        let tsb = Tsb {
            alpha_d: 0.2,
            alpha_p: 0.3,
        };
        let cases: [(&dyn Model, f64, [f64; 6]); 6] = [
            (&CrostonClassic, 1.0, [NAN, 0.0, 0.0, 0.0, 1.0, 1.0]),
            (&CrostonSba, 0.95, [NAN, 0.0, 0.0, 0.0, 0.95, 0.95]),
            (&CrostonOptimized, 1.0, [NAN, 0.0, 0.0, 0.0, 1.0, 1.0]),
            (&tsb, 0.588, [NAN, 0.0, 0.0, 0.0, 1.2, 0.84]),
            (&Adida, 1.0, [NAN, 0.0, 0.0, 0.0, 1.0, 1.0]),
            (
                &Imapa,
                0.44266666666699667,
                [NAN, 0.0, 0.0, 0.0, 0.8833333333333333, 0.7733333333335897],
            ),
        ];
        for (model, mean, fitted) in cases {
            check_model(model, &SINGLE, mean, &fitted, 1e-9);
            check_model(model, &zeros, 0.0, &zero_fitted, 0.0);
        }
        let opt = TsbOptimized.fit_tsb(&zeros).expect("fits");
        assert_eq!(opt.level(), 0.0);
    }

    #[test]
    fn optimized_tsb_beats_a_grid_of_given_weights() {
        let opt = TsbOptimized.fit_tsb(&Y).expect("fits");
        let (ad, ap) = (opt.alpha_d().expect("tsb"), opt.alpha_p().expect("tsb"));
        let best = tsb_mse(&Y, ad, ap);
        let mut grid_best = f64::INFINITY;
        for i in 1..20 {
            for j in 1..20 {
                grid_best = grid_best.min(tsb_mse(&Y, i as f64 * 0.05, j as f64 * 0.05));
            }
        }
        assert!(
            best <= grid_best * (1.0 + 1e-9),
            "{best} vs grid {grid_best}"
        );
        // The fitted values are those of TSB with the chosen weights.
        let given = Tsb {
            alpha_d: ad,
            alpha_p: ap,
        }
        .fit_tsb(&Y)
        .expect("fits");
        assert_eq!(opt.level(), given.level());
        assert_eq!(opt.name(), "TSBOptimized");
    }

    #[test]
    fn bad_input_is_refused() {
        let models: [&dyn Model; 7] = [
            &CrostonClassic,
            &CrostonSba,
            &CrostonOptimized,
            &Tsb {
                alpha_d: 0.1,
                alpha_p: 0.1,
            },
            &TsbOptimized,
            &Adida,
            &Imapa,
        ];
        for m in models {
            assert!(matches!(
                m.fit(&[]),
                Err(Error::TooShort { len: 0, min: 1, .. })
            ));
            assert!(matches!(
                m.fit(&[1.0, f64::NAN]),
                Err(Error::NonFinite { position: 1, .. })
            ));
            assert!(matches!(
                m.fit(&[0.0, 2.0, -1.0]),
                Err(Error::Negative { position: 2, .. })
            ));
            assert!(m.fit(&[2.0]).is_ok(), "{} on one value", m.name());
        }
        let bad = Tsb {
            alpha_d: 1.5,
            alpha_p: 0.1,
        };
        assert!(matches!(
            bad.fit(&Y),
            Err(Error::Parameter {
                name: "alpha_d",
                ..
            })
        ));
    }

    #[test]
    fn classification_by_hand() {
        // Demand every period, sizes 10, 10, 10, 10: ADI 1, CV² 0.
        let c = classify(&[10.0; 4]).expect("valid").expect("has demand");
        assert_eq!((c.class, c.adi, c.cv2), (DemandClass::Smooth, 1.0, 0.0));
        // Sizes 1, 3 every period: mean 2, sample variance 2, CV² 0.5 ≥ 0.49.
        let c = classify(&[1.0, 3.0]).expect("valid").expect("has demand");
        assert_eq!((c.class, c.adi, c.cv2), (DemandClass::Erratic, 1.0, 0.5));
        // Demands at positions 2 and 4 (1-based), sizes 5, 5: ADI (2 + 2) / 2 = 2.
        let c = classify(&[0.0, 5.0, 0.0, 5.0])
            .expect("valid")
            .expect("has demand");
        assert_eq!(
            (c.class, c.adi, c.cv2),
            (DemandClass::Intermittent, 2.0, 0.0)
        );
        // Sizes 1, 3 at positions 2 and 4: lumpy.
        let c = classify(&[0.0, 1.0, 0.0, 3.0, 0.0])
            .expect("valid")
            .expect("has demand");
        assert_eq!((c.class, c.adi, c.cv2), (DemandClass::Lumpy, 2.0, 0.5));
        // The ADI cut-off: 4 / 3 = 1.333 ≥ 1.32 is intermittent.
        let c = classify(&[0.0, 1.0, 1.0, 1.0])
            .expect("valid")
            .expect("has demand");
        assert_eq!(c.class, DemandClass::Intermittent);
        assert!((c.adi - 4.0 / 3.0).abs() < 1e-15);
        // ADI 1.25 (5 periods, 4 demands) < 1.32 is smooth.
        let c = classify(&[0.0, 1.0, 1.0, 1.0, 1.0])
            .expect("valid")
            .expect("has demand");
        assert_eq!((c.class, c.adi), (DemandClass::Smooth, 1.25));
        // CV² just below and just above 0.49: sizes 1 and x with
        // CV² = (x-1)²/2 / ((1+x)/2)² = 2 (x-1)² / (1+x)²: 0.4874 at 2.95, 0.4925 at 2.97.
        let cv2 = |x: f64| 2.0 * (x - 1.0).powi(2) / (1.0 + x).powi(2);
        for (x, class) in [(2.95, DemandClass::Smooth), (2.97, DemandClass::Erratic)] {
            let c = classify(&[1.0, x]).expect("valid").expect("has demand");
            assert!((c.cv2 - cv2(x)).abs() < 1e-12);
            assert_eq!(c.class, class, "x = {x}, CV² = {}", c.cv2);
        }
        assert_eq!(classify(&[0.0; 5]).expect("valid"), None);
        assert!(matches!(
            classify(&[1.0, -2.0]),
            Err(Error::Negative { .. })
        ));
        assert!(matches!(classify(&[]), Err(Error::TooShort { .. })));
    }
}
