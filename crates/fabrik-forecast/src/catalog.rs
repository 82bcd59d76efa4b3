//! The models by name, as the examples and SQL's `forecast(…)` take them.
//!
//! `auto` is fabrik's automatic choice ([`auto`]): the Syntetos-Boylan class of each
//! series (intermittent when the mean interval between non-zero demands exceeds 1.32)
//! picks the candidates, and a rolling-origin backtest pooled over all series of the class
//! in the set picks one option for the class ([`SetSelect`]: a model or the mean of the
//! best two or three; relative MAE for regular series, RMSSE then bias for intermittent
//! ones). `auto-series` ([`auto_per_series`]) chooses per series instead, by a short
//! backtest on each series alone ([`AutoSelect`]). Every option gets conformal intervals
//! where it has no analytic ones.

use crate::arima::AutoArima;
use crate::combine::Combination;
use crate::conformal::Conformal;
use crate::error::{Error, Result};
use crate::ets::AutoEts;
use crate::intermittent::{Adida, CrostonOptimized, CrostonSba, Imapa, TsbOptimized, classify};
use crate::model::Model;
use crate::naive::SeasonalNaive;
use crate::select::{AutoSelect, Candidate, SetSelect};
use crate::theta::AutoTheta;

/// The models [`model`] knows, with a line on each.
pub const MODELS: &[(&str, &str)] = &[
    (
        "auto",
        "fabrik's choice: per class (regular or intermittent), a backtest pooled over the set",
    ),
    (
        "auto-series",
        "choice per series: class, then a short backtest on the series alone",
    ),
    ("ets", "AutoETS: exponential smoothing, form chosen by AICc"),
    (
        "arima",
        "AutoARIMA: seasonal ARIMA, differences by unit-root tests, orders by a stepwise AICc search",
    ),
    (
        "theta",
        "AutoTheta: standard, optimised and dynamic theta, the best in-sample",
    ),
    (
        "combo",
        "the mean of AutoETS, AutoARIMA and AutoTheta (intervals: the means of theirs)",
    ),
    ("naive", "seasonal naive: the value one season ago"),
    (
        "croston",
        "Croston with optimised smoothing (intermittent demand)",
    ),
    (
        "sba",
        "Syntetos-Boylan approximation of Croston (intermittent demand)",
    ),
    (
        "tsb",
        "Teunter-Syntetos-Babai, optimised (intermittent demand, obsolescence)",
    ),
    (
        "adida",
        "ADIDA: temporal aggregation of intermittent demand",
    ),
    (
        "imapa",
        "IMAPA: ADIDA over several aggregation levels, averaged",
    ),
];

/// Rolling-origin windows used to calibrate conformal intervals.
const CONFORMAL_WINDOWS: usize = 4;
/// Conformal horizon: intervals are calibrated for this many steps; later steps reuse
/// the last step's width.
const CONFORMAL_HORIZON: usize = 12;

/// The model called `name` (case-insensitive; see [`MODELS`]) for series with the given
/// season length. Models without analytic intervals get conformal ones. `auto` scores its
/// options on forecasts of `season` steps, at least 4 and at most 12: use [`model_for`]
/// when the horizon is known.
pub fn model(name: &str, season: usize) -> Result<Box<dyn Model>> {
    model_for(name, season, season.clamp(4, 12))
}

/// [`model`] for forecasts of `horizon` steps: `auto` scores its options on forecasts of
/// that many steps.
pub fn model_for(name: &str, season: usize, horizon: usize) -> Result<Box<dyn Model>> {
    if horizon == 0 {
        return Err(Error::Horizon);
    }
    if season == 0 {
        return Err(Error::Season { season });
    }
    let conformal = |m: Box<dyn Model>, clip: bool| -> Box<dyn Model> {
        Box::new(Conformal::new(m, CONFORMAL_HORIZON, CONFORMAL_WINDOWS).with_clip_at_zero(clip))
    };
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "auto" => auto(season, horizon),
        "auto-series" | "autoselect" => auto_per_series(season),
        "ets" | "autoets" => Box::new(AutoEts::new(season)),
        "arima" | "autoarima" => Box::new(AutoArima::new(season)),
        "combo" | "combination" => combination(season),
        "theta" | "autotheta" => Box::new(AutoTheta { season }),
        "naive" | "seasonalnaive" | "snaive" => Box::new(SeasonalNaive { season }),
        "croston" | "crostonoptimized" => conformal(Box::new(CrostonOptimized), true),
        "sba" | "crostonsba" => conformal(Box::new(CrostonSba), true),
        "tsb" => conformal(Box::new(TsbOptimized), true),
        "adida" => conformal(Box::new(Adida), true),
        "imapa" => conformal(Box::new(Imapa), true),
        _ => {
            return Err(Error::UnknownModel {
                name: name.to_string(),
                known: MODELS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    })
}

/// The mean of AutoETS, AutoARIMA and AutoTheta, its intervals the means of theirs.
fn combination(season: usize) -> Box<dyn Model> {
    Box::new(Combination {
        members: vec![
            Box::new(AutoEts::new(season)),
            Box::new(AutoArima::new(season)),
            Box::new(AutoTheta { season }),
        ],
    })
}

/// fabrik's automatic choice (see the module docs) for forecasts of `horizon` steps.
pub fn auto(season: usize, horizon: usize) -> Box<dyn Model> {
    Box::new(auto_select(season, horizon))
}

/// [`auto`] as its [`SetSelect`], to change its settings.
pub fn auto_select(season: usize, horizon: usize) -> SetSelect {
    let regular = vec![
        Candidate::analytic(AutoEts::new(season)),
        Candidate::analytic(AutoArima::new(season)),
        Candidate::analytic(AutoTheta { season }),
        Candidate::analytic(SeasonalNaive { season }),
    ];
    let intermittent = vec![
        Candidate::conformal(CrostonSba, true),
        Candidate::conformal(TsbOptimized, true),
        Candidate::conformal(Adida, true),
        Candidate::conformal(Imapa, true),
        Candidate::conformal(CrostonOptimized, true),
    ];
    SetSelect::new(regular, intermittent, is_intermittent, horizon, season)
        .with_conformal(CONFORMAL_HORIZON, CONFORMAL_WINDOWS)
}

/// The automatic choice per series (see the module docs).
pub fn auto_per_series(season: usize) -> Box<dyn Model> {
    let conformal = |m: Box<dyn Model>, clip: bool| -> Box<dyn Model> {
        Box::new(Conformal::new(m, CONFORMAL_HORIZON, CONFORMAL_WINDOWS).with_clip_at_zero(clip))
    };
    let regular: Vec<Box<dyn Model>> = vec![
        Box::new(AutoEts::new(season)),
        Box::new(AutoArima::new(season)),
        Box::new(AutoTheta { season }),
        Box::new(SeasonalNaive { season }),
    ];
    let intermittent: Vec<Box<dyn Model>> = vec![
        conformal(Box::new(CrostonSba), true),
        conformal(Box::new(TsbOptimized), true),
        conformal(Box::new(Adida), true),
        conformal(Box::new(Imapa), true),
        conformal(Box::new(CrostonOptimized), true),
    ];
    Box::new(AutoSelect::new(regular, intermittent, is_intermittent).with_season(season))
}

/// Whether a series is intermittent in the Syntetos-Boylan sense (ADI > 1.32); an
/// all-zero series counts as intermittent, a series with negative values (not a demand:
/// a rate, a change) as regular.
fn is_intermittent(y: &[f64]) -> bool {
    match classify(y) {
        Ok(Some(c)) => c.adi > 1.32,
        Ok(None) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_gives_a_model() {
        for (name, _) in MODELS {
            let m = model(name, 4).expect("a known model");
            assert!(!m.name().is_empty());
        }
        assert!(matches!(
            model("prophet", 4),
            Err(Error::UnknownModel { .. })
        ));
        assert!(matches!(model("auto", 0), Err(Error::Season { season: 0 })));
        assert!(matches!(model_for("auto", 4, 0), Err(Error::Horizon)));
        let negative: Vec<f64> = (0..40).map(|t| (t as f64 * 0.7).sin() - 0.2).collect();
        let sparse: Vec<f64> = (0..40)
            .map(|t| if t % 5 == 0 { 2.0 } else { 0.0 })
            .collect();
        assert!(!is_intermittent(&negative));
        assert!(is_intermittent(&sparse) && is_intermittent(&[0.0; 40]));
    }

    /// Fits every candidate many times (several seconds in a debug build):
    /// `cargo test -p fabrik-forecast --release -- --ignored auto_fits_any_finite_series`.
    #[test]
    #[ignore]
    fn auto_fits_any_finite_series() {
        let auto = auto(4, 8);
        let per_series = auto_per_series(4);
        // Regular, intermittent, negative (a rate, not a demand) and all-zero series.
        let regular: Vec<f64> = (0..40)
            .map(|t| 10.0 + (t % 4) as f64 + 0.1 * t as f64)
            .collect();
        let sparse: Vec<f64> = (0..40)
            .map(|t| if t % 5 == 0 { 2.0 } else { 0.0 })
            .collect();
        let negative: Vec<f64> = (0..40).map(|t| (t as f64 * 0.7).sin() - 0.2).collect();
        let zeros = vec![0.0; 40];
        let set = [&regular[..], &sparse, &negative, &zeros];
        let fits = set
            .iter()
            .flat_map(|y| [auto.fit(y), per_series.fit(y)])
            .chain(auto.fit_set(&set, None));
        for fit in fits {
            let fit = fit.expect("auto fits");
            let f = fit.forecast(8, &[80.0]);
            assert_eq!(f.mean.len(), 8);
            assert!(
                f.mean.iter().all(|v| v.is_finite()),
                "{}: {:?}",
                fit.name(),
                f.mean
            );
        }
    }
}
