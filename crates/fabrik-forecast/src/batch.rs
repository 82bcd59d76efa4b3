//! Forecasting many series at once: every series of a [`SeriesSet`] fitted and forecast in
//! parallel (rayon), the results as one Arrow [`RecordBatch`], the series that could not be
//! forecast listed with the reason.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::{Fitted, Forecast, Model, check_levels};
use crate::series::{Series, SeriesSet};

/// The column name of an interval bound: `lo_80`, `hi_95`, `lo_97.5`.
pub fn bound_column(side: &str, level: f64) -> String {
    // f64's Display prints integral values without a fraction ("80") and others in the
    // shortest form that round-trips ("97.5").
    format!("{side}_{level}")
}

/// The schema of forecasts: `series_id`, `ts` (the period's start, µs UTC), `step`
/// (1-based), `model` (the fitted form), `mean`, then `lo_<level>`, `hi_<level>` per level.
pub fn forecast_schema(levels: &[f64]) -> SchemaRef {
    let mut fields = vec![
        Field::new("series_id", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("step", DataType::Int32, false),
        Field::new("model", DataType::Utf8, false),
        Field::new("mean", DataType::Float64, false),
    ];
    for &level in levels {
        fields.push(Field::new(
            bound_column("lo", level),
            DataType::Float64,
            true,
        ));
        fields.push(Field::new(
            bound_column("hi", level),
            DataType::Float64,
            true,
        ));
    }
    Arc::new(Schema::new(fields))
}

/// The forecast of one series.
#[derive(Debug, Clone)]
pub struct SeriesForecast {
    /// The series id.
    pub id: String,
    /// The period index of the first forecast step.
    pub start: i64,
    /// The fitted model's name.
    pub model: String,
    /// The forecast.
    pub forecast: Forecast,
    /// One-step in-sample residuals (actual − fitted), one per observation (NaN where the
    /// model has no fitted value yet); empty when the model has no fitted values. MinT
    /// reconciliation estimates its covariance from them.
    pub residuals: Vec<f64>,
}

/// Forecasts of a set of series.
#[derive(Debug)]
pub struct Forecasts {
    /// The forecasts, in the set's series order.
    pub series: Vec<SeriesForecast>,
    /// The series that could not be forecast, each with why ([`Error::Series`]).
    pub failures: Vec<Error>,
    /// The interval levels asked for.
    pub levels: Vec<f64>,
}

impl Forecasts {
    /// All forecasts as one batch ([`forecast_schema`]), timestamps at each period's
    /// start; a requested interval the model did not give is null.
    pub fn to_batch(&self, set: &SeriesSet) -> Result<RecordBatch> {
        let rows: usize = self.series.iter().map(|s| s.forecast.horizon()).sum();
        let mut id = StringBuilder::with_capacity(rows, rows * 16);
        let mut ts = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC");
        let mut step = arrow::array::Int32Builder::with_capacity(rows);
        let mut model = StringBuilder::with_capacity(rows, rows * 8);
        let mut mean = Float64Builder::with_capacity(rows);
        let mut bounds: Vec<(Float64Builder, Float64Builder)> = self
            .levels
            .iter()
            .map(|_| {
                (
                    Float64Builder::with_capacity(rows),
                    Float64Builder::with_capacity(rows),
                )
            })
            .collect();
        for s in &self.series {
            for h in 0..s.forecast.horizon() {
                let period = s.start + h as i64;
                id.append_value(&s.id);
                ts.append_value(set.frequency.start_micros(period));
                step.append_value(i32::try_from(h + 1).unwrap_or(i32::MAX));
                model.append_value(&s.model);
                mean.append_value(s.forecast.mean[h]);
                for (&level, (lo, hi)) in self.levels.iter().zip(bounds.iter_mut()) {
                    match s.forecast.interval(level) {
                        Some(i) => {
                            lo.append_value(i.lo[h]);
                            hi.append_value(i.hi[h]);
                        }
                        None => {
                            lo.append_null();
                            hi.append_null();
                        }
                    }
                }
            }
        }
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(ts.finish()),
            Arc::new(step.finish()),
            Arc::new(model.finish()),
            Arc::new(mean.finish()),
        ];
        for (mut lo, mut hi) in bounds {
            columns.push(Arc::new(lo.finish()));
            columns.push(Arc::new(hi.finish()));
        }
        Ok(RecordBatch::try_new(
            forecast_schema(&self.levels),
            columns,
        )?)
    }
}

/// Fits `model` to every series of `set` and forecasts `horizon` periods with intervals at
/// `levels` (percent), in parallel on rayon's pool. A series that cannot be forecast (too
/// short, …) is listed in [`Forecasts::failures`] and the others go on. `progress` is
/// called with (series done, total) at most about a hundred times. The fits are the
/// model's [`Model::fit_set`]: a model that chooses by the whole set sees the whole set.
pub fn forecast_set(
    set: &SeriesSet,
    model: &dyn Model,
    horizon: usize,
    levels: &[f64],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Forecasts> {
    if horizon == 0 {
        return Err(Error::Horizon);
    }
    check_levels(levels)?;
    let total = set.series.len();
    let values: Vec<&[f64]> = set.series.iter().map(|s| s.values.as_slice()).collect();
    let fits = model.fit_set(&values, Some(progress));
    let results: Vec<Result<SeriesForecast>> = set
        .series
        .par_iter()
        .zip(fits)
        .map(|(s, fit): (&Series, Result<Box<dyn Fitted>>)| {
            fit.map(|fitted| SeriesForecast {
                id: s.id.clone(),
                start: s.end(),
                model: fitted.name(),
                forecast: fitted.forecast(horizon, levels),
                residuals: fitted.fitted().map_or_else(Vec::new, |f| {
                    s.values.iter().zip(f).map(|(y, f)| y - f).collect()
                }),
            })
            .map_err(|e| e.on_series(&s.id))
        })
        .collect();
    let mut series = Vec::with_capacity(total);
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok(f) => series.push(f),
            Err(e) => failures.push(e),
        }
    }
    Ok(Forecasts {
        series,
        failures,
        levels: levels.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use arrow::util::pretty::pretty_format_batches;

    use super::*;
    use crate::model::{Interval, check_series};
    use crate::series::{Frequency, Label};

    /// Test-only: forecasts the last value, with a ±1 interval at every level.
    #[derive(Debug)]
    struct Last;
    #[derive(Debug)]
    struct LastFit(f64);
    impl Model for Last {
        fn name(&self) -> String {
            "Last".into()
        }
        fn min_len(&self) -> usize {
            2
        }
        fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>> {
            check_series("Last", y, 2, false)?;
            Ok(Box::new(LastFit(y[y.len() - 1])))
        }
    }
    impl Fitted for LastFit {
        fn name(&self) -> String {
            "Last".into()
        }
        fn forecast(&self, horizon: usize, levels: &[f64]) -> Forecast {
            Forecast {
                mean: vec![self.0; horizon],
                intervals: levels
                    .iter()
                    .map(|&level| Interval {
                        level,
                        lo: vec![self.0 - 1.0; horizon],
                        hi: vec![self.0 + 1.0; horizon],
                    })
                    .collect(),
            }
        }
    }

    #[test]
    fn forecasts_every_series_and_lists_failures() {
        let w = Frequency::Week.period_of_day(20_454); // 2026-01-01's week
        let set = SeriesSet {
            frequency: Frequency::Week,
            label: Label::Offset(0),
            series: vec![
                Series {
                    id: "a".into(),
                    start: w,
                    values: vec![1.0, 2.0, 3.0],
                },
                Series {
                    id: "short".into(),
                    start: w,
                    values: vec![4.0],
                },
            ],
        };
        let calls = std::sync::Mutex::new(Vec::new());
        let out = forecast_set(&set, &Last, 2, &[80.0, 97.5], &|d, t| {
            calls.lock().expect("lock").push((d, t))
        })
        .expect("forecast");
        assert_eq!(out.failures.len(), 1);
        assert!(
            out.failures[0]
                .to_string()
                .starts_with("series \"short\": Last needs at least 2"),
            "{}",
            out.failures[0]
        );
        assert_eq!(calls.into_inner().expect("lock").last(), Some(&(2, 2)));
        let batch = out.to_batch(&set).expect("batch");
        let text = pretty_format_batches(&[batch]).expect("pretty").to_string();
        let expected = "\
+-----------+----------------------+------+-------+------+-------+-------+---------+---------+
| series_id | ts                   | step | model | mean | lo_80 | hi_80 | lo_97.5 | hi_97.5 |
+-----------+----------------------+------+-------+------+-------+-------+---------+---------+
| a         | 2026-01-19T00:00:00Z | 1    | Last  | 3.0  | 2.0   | 4.0   | 2.0     | 4.0     |
| a         | 2026-01-26T00:00:00Z | 2    | Last  | 3.0  | 2.0   | 4.0   | 2.0     | 4.0     |
+-----------+----------------------+------+-------+------+-------+-------+---------+---------+";
        assert_eq!(text, expected);
        assert!(matches!(
            forecast_set(&set, &Last, 0, &[], &|_, _| {}),
            Err(Error::Horizon)
        ));
    }
}
