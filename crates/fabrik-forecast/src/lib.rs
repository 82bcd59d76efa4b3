//! fabrik's demand forecasting, with no query engine underneath: demand series, models
//! fitted per series in parallel, automatic model choice, prediction intervals,
//! rolling-origin backtests and coherent option-level forecasts.
//!
//! - [`model`]: what a model is ([`Model`], [`Fitted`], [`Forecast`]).
//! - [`batch`]: every series of a set forecast in parallel, as one Arrow batch.
//! - [`optim`]: the bounded Nelder-Mead minimiser the models' likelihoods use.
//! - [`series`]: demand series by day, ISO week or month, gap-filled with zeros; long-format
//!   CSV input checked line by line.

pub mod batch;
pub mod error;
pub mod model;
pub mod optim;
pub mod series;

pub use batch::{Forecasts, forecast_set};
pub use error::{Error, Result};
pub use model::{Criteria, Fitted, Forecast, Interval, Model};
pub use series::{Fill, Frequency, Series, SeriesSet};
