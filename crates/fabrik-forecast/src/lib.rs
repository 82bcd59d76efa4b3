//! fabrik's demand forecasting, with no query engine underneath: demand series, models
//! fitted per series in parallel, automatic model choice, prediction intervals,
//! rolling-origin backtests and coherent option-level forecasts.
//!
//! - [`model`]: what a model is ([`Model`], [`Fitted`], [`Forecast`]).
//! - [`series`]: demand series by day, ISO week or month, gap-filled with zeros; long-format
//!   CSV input checked line by line.
//! - [`batch`]: every series of a set forecast in parallel, as one Arrow batch.
//! - [`catalog`]: the models by name, and fabrik's automatic choice (`auto`).
//! - [`optim`]: the bounded Nelder-Mead minimiser the models' likelihoods use.
//! - [`ets`]: exponential smoothing state-space models ([`Ets`]) and their automatic
//!   selection ([`AutoEts`]).
//! - [`arima`]: ARIMA models ([`Arima`]) and the Hyndman-Khandakar search ([`AutoArima`]).
//! - [`naive`]: the seasonal naive and naive methods.
//! - [`theta`]: the Theta family (standard, optimised, dynamic) and [`AutoTheta`].
//! - [`intermittent`]: Croston, SBA, TSB, ADIDA, IMAPA for sparse demand, and the
//!   Syntetos-Boylan demand classification.
//! - [`metrics`]: accuracy of a forecast (MASE, RMSSE, sMAPE, WAPE, bias, coverage, pinball).
//! - [`backtest`]: rolling-origin evaluation of a model over many series, as Arrow too.
//! - [`conformal`]: conformal prediction intervals for any model ([`Conformal`]).
//! - [`select`]: automatic model choice by a backtest, per class of a set ([`SetSelect`],
//!   pooled over its series) or per series ([`AutoSelect`]).
//! - [`combine`]: the mean of several models' forecasts ([`Combination`]).
//! - [`reconcile`]: coherent family / option forecasts (bottom-up, MinT, shares).

pub mod arima;
pub mod backtest;
pub mod batch;
pub mod catalog;
pub mod combine;
pub mod conformal;
pub mod error;
pub mod ets;
pub mod intermittent;
pub mod metrics;
pub mod model;
pub mod naive;
pub mod optim;
pub mod reconcile;
pub mod select;
pub mod series;
pub mod theta;

#[cfg(test)]
mod test_series;

pub use arima::{Arima, AutoArima, FittedArima};
pub use backtest::{Backtest, BacktestResult};
pub use batch::{Forecasts, forecast_set};
pub use combine::Combination;
pub use conformal::{Conformal, ConformalMethod};
pub use error::{Error, Result};
pub use ets::{AutoEts, Ets, EtsParams, EtsSpec, EtsStates, FittedEts};
pub use intermittent::{
    Adida, CrostonClassic, CrostonOptimized, CrostonSba, DemandClass, Imapa, Tsb, TsbOptimized,
    classify,
};
pub use metrics::{Accuracy, accuracy};
pub use model::{Criteria, Fitted, Forecast, Interval, Model};
pub use naive::{Naive, SeasonalNaive};
pub use reconcile::{Hierarchy, options_as_shares, reconcile_mint_shrink};
pub use select::{AutoSelect, SetSelect};
pub use series::{Fill, Frequency, Series, SeriesSet};
pub use theta::{AutoTheta, Theta, ThetaVariant};
