//! fabrik's demand forecasting, with no query engine underneath: demand series, models
//! fitted per series in parallel, automatic model choice, prediction intervals,
//! rolling-origin backtests and coherent option-level forecasts.
//!
//! - [`model`]: what a model is ([`Model`], [`Fitted`], [`Forecast`]).
//! - [`optim`]: the bounded Nelder-Mead minimiser the models' likelihoods use.
//! - [`naive`]: the seasonal naive and naive methods.
//! - [`theta`]: the Theta family (standard, optimised, dynamic) and [`AutoTheta`].
//! - [`intermittent`]: Croston, SBA, TSB, ADIDA, IMAPA for sparse demand, and the
//!   Syntetos-Boylan demand classification.

pub mod error;
pub mod intermittent;
pub mod model;
pub mod naive;
pub mod optim;
pub mod theta;

#[cfg(test)]
mod test_series;

pub use error::{Error, Result};
pub use intermittent::{
    Adida, CrostonClassic, CrostonOptimized, CrostonSba, DemandClass, Imapa, Tsb, TsbOptimized,
    classify,
};
pub use model::{Criteria, Fitted, Forecast, Interval, Model};
pub use naive::{Naive, SeasonalNaive};
pub use theta::{AutoTheta, Theta, ThetaVariant};
