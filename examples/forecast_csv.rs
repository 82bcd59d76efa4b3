//! Forecast your own series: long-format CSV in, forecasts with prediction intervals out.
//!
//! ```text
//! cargo run --release --example forecast_csv -- --input sales.csv --horizon 12 --out forecast.csv
//! cargo run --release --example forecast_csv -- --input sales.csv --horizon 12 --season 52 \
//!     --level 80,95 --model ets --out forecast.csv
//! # rolling-origin backtest: 4 windows, one period apart, scored per series and overall
//! cargo run --release --example forecast_csv -- --input sales.csv --horizon 12 --backtest 4 --out cv.csv
//! ```
//!
//! The input has a header with the columns `series_id,ts,y` (in any order; others are
//! ignored): one row per series and period (`ts` an ISO date or an RFC 3339 timestamp),
//! rows of different series may interleave, each series in time order. Every series is
//! fitted in parallel; the output is `series_id,ts,model,mean,lo_80,hi_80,…` with `ts`
//! written the way the input writes its periods (weeks ending on Sunday stay so).
//!
//! With `--backtest W` the series are cut at W origins (`--step K` periods apart, the last
//! one `horizon` periods before the end, as statsforecast's `cross_validation` places
//! them), each window fitted on the data before its cutoff and compared with what
//! followed; the output is `series_id,cutoff,ts,model,y,mean,lo_80,hi_80,…` and the
//! accuracy (MASE, RMSSE, sMAPE, WAPE, bias, interval coverage) is printed.
//!
//! Bad input stops with the file, line and column and what to fix; a series the model
//! cannot fit (too short) is skipped with the reason printed, the others are written.

use std::path::PathBuf;
use std::process::ExitCode;

use fabrik::CountProgress;
use fabrik::forecast::backtest::Backtest;
use fabrik::forecast::batch::bound_column;
use fabrik::forecast::catalog;
use fabrik::forecast::series::{Frequency, SeriesSet};

const USAGE: &str = "\
usage: forecast_csv --input FILE.csv --horizon H --out FILE.csv [options]

  --input FILE    long-format CSV with columns series_id,ts,y
  --horizon H     periods to forecast
  --out FILE      where to write the forecasts (CSV)
  --season S      season length in periods (default: 7 for days, 52 for weeks, 12 for
                  months, 4 for quarters, 1 for years; 1 means none)
  --freq F        day, week, month, quarter or year (default: inferred from the spacing
                  of ts)
  --level L       prediction-interval levels in percent, comma-separated (default 80,95;
                  '' for none)
  --model M       the model (default auto); one of:
MODELS
  --fill-gaps     fill a missing period with 0 instead of refusing the file
  --backtest W    rolling-origin backtest with W windows instead of a forecast
  --step K        periods between backtest origins (default 1)
  --select-windows W, --select-step K
                  auto: score the options on W windows K periods apart (default 3 and
                  half the horizon), in the data before each forecast origin
  --select-combine N
                  auto: means of the best 2..N candidates are options (default 3; 1: none)
  --select-bias-tolerance F
                  auto, intermittent series: the least biased option whose score is
                  within F (a fraction, default 0.02) of the best
  --quiet         no progress on stderr

exit status: 0 done, 1 bad input or no series could be forecast, 2 bad usage";

struct Args {
    input: PathBuf,
    out: PathBuf,
    horizon: usize,
    season: Option<usize>,
    frequency: Option<Frequency>,
    levels: Vec<f64>,
    model: String,
    fill_gaps: bool,
    backtest: Option<(usize, usize)>,
    select_windows: Option<usize>,
    select_step: Option<usize>,
    select_combine: Option<usize>,
    select_bias_tolerance: Option<f64>,
    quiet: bool,
}

fn usage() -> String {
    let models: Vec<String> = catalog::MODELS
        .iter()
        .map(|(name, what)| format!("                    {name:<10} {what}"))
        .collect();
    USAGE.replace("MODELS", &models.join("\n"))
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut input, mut out, mut horizon) = (None, None, None);
    let mut args = Args {
        input: PathBuf::new(),
        out: PathBuf::new(),
        horizon: 0,
        season: None,
        frequency: None,
        levels: vec![80.0, 95.0],
        model: "auto".to_string(),
        fill_gaps: false,
        backtest: None,
        select_windows: None,
        select_step: None,
        select_combine: None,
        select_bias_tolerance: None,
        quiet: false,
    };
    let mut windows = None;
    let mut step = 1;
    let number = |flag: &str, v: Option<String>| -> Result<usize, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{flag} must be a positive integer, got {v:?}"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--input" => input = it.next().map(PathBuf::from),
            "--out" => out = it.next().map(PathBuf::from),
            "--horizon" => horizon = Some(number("--horizon", it.next())?),
            "--season" => args.season = Some(number("--season", it.next())?),
            "--freq" => {
                let v = it.next().unwrap_or_default();
                args.frequency = Some(Frequency::parse(&v).ok_or_else(|| {
                    format!("--freq must be day, week, month, quarter or year, got {v:?}")
                })?);
            }
            "--level" => {
                let v = it.next().unwrap_or_default();
                args.levels = v
                    .split(',')
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| {
                        p.trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|l| *l > 0.0 && *l < 100.0)
                            .ok_or_else(|| {
                                format!(
                                    "--level takes percentages in (0, 100) such as 80,95; got {p:?}"
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--model" => args.model = it.next().ok_or("--model needs a value")?,
            "--fill-gaps" => args.fill_gaps = true,
            "--backtest" => windows = Some(number("--backtest", it.next())?),
            "--step" => step = number("--step", it.next())?,
            "--select-windows" => {
                args.select_windows = Some(number("--select-windows", it.next())?)
            }
            "--select-step" => args.select_step = Some(number("--select-step", it.next())?),
            "--select-combine" => {
                args.select_combine = Some(number("--select-combine", it.next())?)
            }
            "--select-bias-tolerance" => {
                let v = it.next().unwrap_or_default();
                args.select_bias_tolerance =
                    Some(v.parse::<f64>().ok().filter(|f| *f >= 0.0 && f.is_finite()).ok_or_else(
                        || format!("--select-bias-tolerance takes a fraction ≥ 0 such as 0.02; got {v:?}"),
                    )?);
            }
            "--quiet" | "-q" => args.quiet = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    args.input = input.ok_or("--input FILE.csv is required")?;
    args.out = out.ok_or("--out FILE.csv is required")?;
    args.horizon = horizon.ok_or("--horizon H is required")?;
    args.backtest = windows.map(|w| (w, step));
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> fabrik::Result<()> {
    let set = SeriesSet::read_csv(&args.input, args.frequency, args.fill_gaps)?;
    let season = args.season.unwrap_or(set.frequency.season());
    let model: Box<dyn fabrik::forecast::model::Model> =
        if args.model.trim().eq_ignore_ascii_case("auto") {
            let mut auto = catalog::auto_select(season, args.horizon);
            let b = &mut auto.backtest;
            b.windows = args.select_windows.unwrap_or(b.windows);
            b.step = args.select_step.unwrap_or(b.step);
            auto.combine_up_to = args.select_combine.unwrap_or(auto.combine_up_to);
            auto.bias_tolerance = args.select_bias_tolerance.unwrap_or(auto.bias_tolerance);
            Box::new(auto)
        } else {
            catalog::model_for(&args.model, season, args.horizon)?
        };
    if !args.quiet {
        eprintln!(
            "{}: {} series by {}, season {season}, model {}",
            args.input.display(),
            set.series.len(),
            set.frequency,
            args.model
        );
    }
    let progress = CountProgress::new("fitting series", args.quiet);
    let report = |done: usize, total: usize| progress.update(done, total);
    let file = std::fs::File::create(&args.out).map_err(|e| {
        fabrik::forecast::Error::Io(std::io::Error::new(
            e.kind(),
            format!("cannot create {}: {e}", args.out.display()),
        ))
    })?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let bounds: Vec<String> = args
        .levels
        .iter()
        .flat_map(|&l| [bound_column("lo", l), bound_column("hi", l)])
        .collect();
    let csv_err = |e: csv::Error| {
        fabrik::Error::from(fabrik::forecast::Error::from(std::io::Error::other(e)))
    };
    let date = |period: i64| set.label.date(set.frequency, period);
    let skipped;
    match args.backtest {
        None => {
            let forecasts = fabrik::forecast::forecast_set(
                &set,
                model.as_ref(),
                args.horizon,
                &args.levels,
                &report,
            )?;
            progress.finish();
            let mut header = vec!["series_id", "ts", "model", "mean"];
            header.extend(bounds.iter().map(String::as_str));
            w.write_record(&header).map_err(csv_err)?;
            for s in &forecasts.series {
                for h in 0..s.forecast.horizon() {
                    let mut row = vec![
                        s.id.clone(),
                        date(s.start + h as i64),
                        s.model.clone(),
                        s.forecast.mean[h].to_string(),
                    ];
                    for &l in &args.levels {
                        match s.forecast.interval(l) {
                            Some(i) => row.extend([i.lo[h].to_string(), i.hi[h].to_string()]),
                            None => row.extend([String::new(), String::new()]),
                        }
                    }
                    w.write_record(&row).map_err(csv_err)?;
                }
            }
            skipped = forecasts.failures;
            if !args.quiet {
                eprintln!(
                    "wrote {} series to {}",
                    forecasts.series.len(),
                    args.out.display()
                );
            }
        }
        Some((windows, step)) => {
            let backtest = Backtest::new(args.horizon, windows, step)
                .with_season(season)
                .with_levels(&args.levels);
            let series: Vec<(&str, &[f64])> = set
                .series
                .iter()
                .map(|s| (s.id.as_str(), s.values.as_slice()))
                .collect();
            let run = backtest.run(model.as_ref(), &series, Some(&report))?;
            progress.finish();
            let mut header = vec!["series_id", "cutoff", "ts", "model", "y", "mean"];
            header.extend(bounds.iter().map(String::as_str));
            w.write_record(&header).map_err(csv_err)?;
            let start_of: std::collections::HashMap<&str, i64> = set
                .series
                .iter()
                .map(|s| (s.id.as_str(), s.start))
                .collect();
            for result in &run.series {
                let start = start_of.get(result.series.as_str()).copied().unwrap_or(0);
                for window in &result.windows {
                    // `cutoff` is the training length: the last training period is one before.
                    let cutoff = start + window.cutoff as i64 - 1;
                    for h in 0..window.forecast.horizon() {
                        let mut row = vec![
                            result.series.clone(),
                            date(cutoff),
                            date(cutoff + 1 + h as i64),
                            window.model.clone(),
                            window.actual[h].to_string(),
                            window.forecast.mean[h].to_string(),
                        ];
                        for &l in &args.levels {
                            match window.forecast.interval(l) {
                                Some(i) => row.extend([i.lo[h].to_string(), i.hi[h].to_string()]),
                                None => row.extend([String::new(), String::new()]),
                            }
                        }
                        w.write_record(&row).map_err(csv_err)?;
                    }
                }
            }
            skipped = run.failures;
            let a = &run.aggregate;
            println!(
                "backtest: {windows} windows of {} periods, step {step}, season {season}",
                args.horizon
            );
            println!("  series scored  {}", a.series);
            println!(
                "  MASE   mean {:.4}  geometric mean {:.4}",
                a.mase_mean, a.mase_gmean
            );
            println!(
                "  RMSSE  mean {:.4}  geometric mean {:.4}",
                a.rmsse_mean, a.rmsse_gmean
            );
            println!(
                "  sMAPE  {:.2}   WAPE {:.4}   bias {:+.4}",
                a.smape_mean, a.wape, a.bias
            );
            for i in &a.intervals {
                println!("  {}% interval coverage {:.3}", i.level, i.coverage);
            }
        }
    }
    w.flush().map_err(fabrik::forecast::Error::from)?;
    if !skipped.is_empty() {
        eprintln!("{} series skipped:", skipped.len());
        for e in skipped.iter().take(20) {
            eprintln!("  {e}");
        }
        if skipped.len() > 20 {
            eprintln!("  … and {} more", skipped.len() - 20);
        }
        if skipped.len() == set.series.len() {
            return Err(fabrik::forecast::Error::NoModel {
                reason: format!("no series of {} could be forecast", args.input.display()),
            }
            .into());
        }
    }
    Ok(())
}
