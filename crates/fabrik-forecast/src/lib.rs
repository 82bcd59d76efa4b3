//! fabrik's demand forecasting, with no query engine underneath: demand series, models
//! fitted per series in parallel, automatic model choice, prediction intervals,
//! rolling-origin backtests and coherent option-level forecasts.
//!
//! - [`model`]: what a model is ([`Model`], [`Fitted`], [`Forecast`]).
//! - [`optim`]: the bounded Nelder-Mead minimiser the models' likelihoods use.
//! - [`ets`]: exponential smoothing state-space models ([`Ets`]) and their automatic
//!   selection ([`AutoEts`]).

pub mod error;
pub mod ets;
pub mod model;
pub mod optim;

pub use error::{Error, Result};
pub use ets::{AutoEts, Ets, EtsParams, EtsSpec, EtsStates, FittedEts};
pub use model::{Criteria, Fitted, Forecast, Interval, Model};
