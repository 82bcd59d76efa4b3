//! Forecast the next weeks of demand for every option a consumer picks, coherent with the
//! product families' totals, and print the options whose demand moves most.
//!
//! ```text
//! cargo run --release --example demand_forecast                  # the quickstart's lake
//! cargo run --release --example demand_forecast -- --lake DIR --horizon 12 --top 10
//! cargo run --release --example demand_forecast -- --series-out series/   # CSVs for forecast_csv
//! ```
//!
//! Steps:
//! 1. Weekly demand series from the lake's `orders` (cancelled orders left out), gap-filled
//!    with zeros: one per product family, one per (family, option, value).
//! 2. Each family's total forecast with fabrik's automatic model choice; each option
//!    value's *share* of its family (how often consumers choose it) forecast the same way;
//!    option forecasts = family forecast × shares rescaled to sum to one, so the options
//!    of a family add up to its total exactly (top-down by forecast proportions).
//!    With `--reconcile mint`, every option value is forecast directly instead and MinT
//!    (shrinkage covariance of the in-sample residuals) reconciles them with the family.
//! 3. The forecasts go to the lake's `demand_forecast` table (readable from SQL), the top
//!    movers are printed with their 80% and 95% intervals, and a chart of them is written
//!    as SVG.
//!
//! Without `--lake`, it uses `./fabrik-demo/lake` (made by the quickstart) and, if that has
//! no orders, generates a small plant's orders first.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use fabrik::CountProgress;
use fabrik::datagen::{Format, PlantConfig, generate};
use fabrik::forecast::batch::{Forecasts, SeriesForecast};
use fabrik::forecast::catalog;
use fabrik::forecast::model::{Forecast, Interval};
use fabrik::forecast::reconcile::{Hierarchy, options_as_shares, reconcile_mint_shrink};
use fabrik::forecast::series::{Fill, Frequency, Series, SeriesSet};
use fabrik::lake::{IngestOptions, Lake, ingest};
use fabrik::model::Table;
use fabrik::sql::Session;
use fabrik::sql::forecast::{DemandLevel, write_demand_forecast};

const USAGE: &str = "\
usage: demand_forecast [--lake DIR] [--horizon H] [--top N] [--svg FILE] [--series-out DIR]
                       [--scale X] [--quiet]

  --lake DIR        the lake with an orders table (default ./fabrik-demo/lake; a plant is
                    generated beside it if it has no orders)
  --scale X         the generated plant's scale factor (default: the small plant)
  --reconcile R     how option forecasts are made coherent with their family's total:
                    shares (default: the family forecast split by forecast option shares;
                    every option of a family adds up to the same total) or mint (each
                    option value forecast directly, then MinT with a shrunk residual
                    covariance, per family and option)
  --horizon H       weeks to forecast (default 12)
  --top N           movers to print (default 10)
  --svg FILE        the chart of the top movers (default <lake>/../demand_forecast.svg)
  --series-out DIR  also write the weekly series as long-format CSV (option_weekly.csv,
                    sku_weekly.csv, family_weekly.csv) for forecast_csv or other tools
  --quiet           no progress on stderr";

struct Args {
    lake: PathBuf,
    horizon: usize,
    top: usize,
    svg: Option<PathBuf>,
    series_out: Option<PathBuf>,
    scale: Option<f64>,
    mint: bool,
    quiet: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        lake: PathBuf::from("fabrik-demo/lake"),
        horizon: 12,
        top: 10,
        svg: None,
        series_out: None,
        scale: None,
        mint: false,
        quiet: false,
    };
    let number = |flag: &str, v: Option<String>| -> Result<usize, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{flag} must be a positive integer, got {v:?}"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--lake" => {
                args.lake = it
                    .next()
                    .map(PathBuf::from)
                    .ok_or("--lake needs a directory")?
            }
            "--horizon" => args.horizon = number("--horizon", it.next())?,
            "--top" => args.top = number("--top", it.next())?,
            "--svg" => args.svg = Some(it.next().map(PathBuf::from).ok_or("--svg needs a file")?),
            "--series-out" => {
                args.series_out = Some(
                    it.next()
                        .map(PathBuf::from)
                        .ok_or("--series-out needs a directory")?,
                )
            }
            "--scale" => {
                let v = it.next().unwrap_or_default();
                args.scale = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| *x > 0.0)
                        .ok_or_else(|| format!("--scale must be a positive number, got {v:?}"))?,
                );
            }
            "--reconcile" => match it.next().as_deref() {
                Some("shares") => args.mint = false,
                Some("mint") => args.mint = true,
                other => {
                    return Err(format!("--reconcile takes shares or mint, got {other:?}"));
                }
            },
            "--quiet" | "-q" => args.quiet = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: &Args) -> fabrik::Result<()> {
    let lake = Lake::open(&args.lake.to_string_lossy()).await?;
    if !lake.tables().await?.contains(&Table::Orders) {
        // 0. No orders yet: generate a small plant's orders and ingest them.
        let dir = args
            .lake
            .parent()
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        if !args.quiet {
            eprintln!(
                "no orders in {}: generating a small plant into {} ...",
                args.lake.display(),
                dir.display()
            );
        }
        let config = args
            .scale
            .map_or_else(|| PlantConfig::small(42), |x| PlantConfig::at_scale(x, 42));
        generate(&config, &dir, &[Format::Parquet], &mut |_| {})?;
        let input = dir
            .join(Format::Parquet.dir_name())
            .join(Table::Orders.name());
        ingest(
            &lake,
            Table::Orders,
            &[input.to_string_lossy().into_owned()],
            &IngestOptions::default(),
            &mut |_, _| {},
        )
        .await?;
    }
    let session = Session::new()?;
    session.register_lake(&lake).await?;

    // 1. Weekly series: families, and every (family, option, value). The last week is
    //    dropped when it is not complete (the data ends mid-week).
    let week = Frequency::Week;
    let last = last_order(&session).await?;
    let families = complete_weeks(
        session
            .demand_series(DemandLevel::Family, week, Fill::default())
            .await?,
        last,
    );
    let options = complete_weeks(
        session
            .demand_series(DemandLevel::AllOptions, week, Fill::default())
            .await?,
        last,
    );
    if let Some(dir) = &args.series_out {
        std::fs::create_dir_all(dir).map_err(fabrik::forecast::Error::from)?;
        let skus = complete_weeks(
            session
                .demand_series(DemandLevel::Sku, week, Fill::default())
                .await?,
            last,
        );
        for (name, set) in [("family", &families), ("option", &options), ("sku", &skus)] {
            let path = dir.join(format!("{name}_weekly.csv"));
            write_long_csv(&path, set)?;
            if !args.quiet {
                eprintln!(
                    "wrote {} {name} series to {}",
                    set.series.len(),
                    path.display()
                );
            }
        }
    }

    // 2. Family totals, and option shares of their family, each with the automatic choice.
    let season = week.season();
    let levels = [80.0, 95.0];
    let model = catalog::model_for("auto", season, args.horizon)?;
    let progress = CountProgress::new("forecasting family totals", args.quiet);
    let family_fc = fabrik::forecast::forecast_set(
        &families,
        model.as_ref(),
        args.horizon,
        &levels,
        &|d, t| progress.update(d, t),
    )?;
    progress.finish();
    let (option_fc, skipped) = if args.mint {
        let progress = CountProgress::new("forecasting option values", args.quiet);
        let direct = fabrik::forecast::forecast_set(
            &options,
            model.as_ref(),
            args.horizon,
            &levels,
            &|d, t| progress.update(d, t),
        )?;
        progress.finish();
        let fc = mint_options(&family_fc, &direct, &families, &options, &levels)?;
        let skipped: Vec<String> = direct
            .failures
            .iter()
            .chain(&fc.failures)
            .map(ToString::to_string)
            .collect();
        (fc, skipped)
    } else {
        let shares = share_series(&options, &families);
        let progress = CountProgress::new("forecasting option shares", args.quiet);
        let share_fc =
            fabrik::forecast::forecast_set(&shares, model.as_ref(), args.horizon, &[], &|d, t| {
                progress.update(d, t)
            })?;
        progress.finish();
        let skipped: Vec<String> = share_fc.failures.iter().map(ToString::to_string).collect();
        (
            coherent_options(&family_fc, &share_fc, &options, &levels)?,
            skipped,
        )
    };

    // 3. Into the lake, then the movers.
    // One commit per (orders version, method, horizon): re-running on the same orders is a
    // no-op, new orders or another method replace the table's rows.
    let orders_version = lake.table(Table::Orders).await?.version().await?;
    let method = if args.mint { "mint" } else { "shares" };
    let outcome = write_demand_forecast(
        &lake,
        "option",
        &options,
        &option_fc,
        &format!(
            "demand_forecast:{method}:h{}:orders-v{orders_version}",
            args.horizon
        ),
    )
    .await?;
    if !args.quiet {
        eprintln!(
            "demand_forecast: {} rows at lake version {}",
            outcome.rows_written, outcome.version
        );
    }
    let movers = top_movers(&options, &option_fc, args.horizon, args.top);
    print_movers(&movers, &options, args.horizon);
    let svg = args.svg.clone().unwrap_or_else(|| {
        args.lake
            .parent()
            .map_or_else(|| PathBuf::from("."), PathBuf::from)
            .join("demand_forecast.svg")
    });
    std::fs::write(&svg, chart(&movers)).map_err(fabrik::forecast::Error::from)?;
    println!("\nchart of the top movers: {}", svg.display());
    for e in family_fc
        .failures
        .iter()
        .map(ToString::to_string)
        .chain(skipped)
    {
        eprintln!("skipped: {e}");
    }
    Ok(())
}

/// Drops the last period of every series when the orders end before that period ends
/// (orders placed until a Wednesday make a partial week that looks like a slump).
fn complete_weeks(mut set: SeriesSet, last_order_micros: i64) -> SeriesSet {
    let Some(end) = set.series.iter().map(Series::end).max() else {
        return set;
    };
    let last_day = last_order_micros.div_euclid(86_400_000_000);
    if set.frequency.first_day(end) > last_day + 1 {
        for s in &mut set.series {
            if s.end() == end {
                s.values.pop();
            }
        }
        set.series.retain(|s| !s.values.is_empty());
    }
    set
}

/// When the last order was placed (µs since the epoch).
async fn last_order(session: &Session) -> fabrik::Result<i64> {
    use fabrik::datafusion::arrow::array::AsArray;
    use fabrik::datafusion::arrow::datatypes::TimestampMicrosecondType;
    let batches = session.query("SELECT max(created_at) FROM orders").await?;
    Ok(batches
        .first()
        .filter(|b| b.num_rows() > 0 && !b.column(0).is_null(0))
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<TimestampMicrosecondType>()
                .map(|a| a.value(0))
        })
        .unwrap_or(i64::MAX))
}

/// The family an option series belongs to (`washing_machine/color=graphite` →
/// `washing_machine`) and its option (`color`).
fn family_and_option(id: &str) -> (&str, &str) {
    let (family, rest) = id.split_once('/').unwrap_or((id, ""));
    (family, rest.split_once('=').map_or(rest, |(o, _)| o))
}

/// Each option value's share of its family's units per week (0 where the family sold
/// nothing), aligned on the family series.
fn share_series(options: &SeriesSet, families: &SeriesSet) -> SeriesSet {
    let by_id: HashMap<&str, &Series> =
        families.series.iter().map(|s| (s.id.as_str(), s)).collect();
    let series = options
        .series
        .iter()
        .filter_map(|s| {
            let fam = by_id.get(family_and_option(&s.id).0)?;
            let values = (s.start..s.end())
                .map(|p| {
                    let total = fam
                        .values
                        .get((p - fam.start) as usize)
                        .copied()
                        .unwrap_or(0.0);
                    if total > 0.0 {
                        s.values[(p - s.start) as usize] / total
                    } else {
                        0.0
                    }
                })
                .collect();
            Some(Series {
                id: s.id.clone(),
                start: s.start,
                values,
            })
        })
        .collect();
    SeriesSet {
        frequency: options.frequency,
        label: options.label,
        series,
    }
}

/// Option forecasts = family forecast split by the options' forecast shares
/// ([`options_as_shares`]: negative shares count as zero, the shares of one option within
/// a family are rescaled to sum to one), the family's interval bounds split the same way:
/// the values of every option of a family add up to the family's total at every step.
fn coherent_options(
    family: &Forecasts,
    shares: &Forecasts,
    options: &SeriesSet,
    levels: &[f64],
) -> fabrik::Result<Forecasts> {
    let fam: HashMap<&str, &SeriesForecast> =
        family.series.iter().map(|f| (f.id.as_str(), f)).collect();
    let mut groups: BTreeMap<(&str, &str), Vec<&SeriesForecast>> = BTreeMap::new();
    for s in &shares.series {
        groups.entry(family_and_option(&s.id)).or_default().push(s);
    }
    let start = options.series.iter().map(Series::end).max().unwrap_or(0);
    let mut series = Vec::new();
    for ((family_id, _), members) in groups {
        let Some(f) = fam.get(family_id) else {
            continue;
        };
        let rows: Vec<Vec<f64>> = members.iter().map(|m| m.forecast.mean.clone()).collect();
        let clip = |v: &[f64]| v.iter().map(|x| x.max(0.0)).collect::<Vec<f64>>();
        let means = options_as_shares(&clip(&f.forecast.mean), &rows)?;
        let mut bounds = Vec::new();
        for &level in levels {
            if let Some(i) = f.forecast.interval(level) {
                bounds.push((
                    level,
                    options_as_shares(&clip(&i.lo), &rows)?,
                    options_as_shares(&clip(&i.hi), &rows)?,
                ));
            }
        }
        for (k, m) in members.iter().enumerate() {
            series.push(SeriesForecast {
                id: m.id.clone(),
                start,
                model: format!("{} × share {}", f.model, m.model),
                forecast: Forecast {
                    mean: means[k].clone(),
                    intervals: bounds
                        .iter()
                        .map(|(level, lo, hi)| Interval {
                            level: *level,
                            lo: lo[k].clone(),
                            hi: hi[k].clone(),
                        })
                        .collect(),
                },
                residuals: Vec::new(),
            });
        }
    }
    Ok(Forecasts {
        series,
        failures: Vec::new(),
        levels: levels.to_vec(),
    })
}

/// MinT (shrinkage) reconciliation of each family with the values of one option at a
/// time: base forecasts of the family total and of every option value, the covariance of
/// their one-step in-sample residuals shrunk towards its diagonal. Each option's values
/// then add up to a reconciled family total; as each option is reconciled with the family
/// on its own, the totals of two options of one family can differ slightly. Intervals are
/// the base option intervals moved with their mean.
fn mint_options(
    family: &Forecasts,
    direct: &Forecasts,
    families: &SeriesSet,
    options: &SeriesSet,
    levels: &[f64],
) -> fabrik::Result<Forecasts> {
    let fam: HashMap<&str, &SeriesForecast> =
        family.series.iter().map(|f| (f.id.as_str(), f)).collect();
    let fam_series: HashMap<&str, &Series> =
        families.series.iter().map(|s| (s.id.as_str(), s)).collect();
    let opt_series: HashMap<&str, &Series> =
        options.series.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut groups: BTreeMap<(&str, &str), Vec<&SeriesForecast>> = BTreeMap::new();
    for s in &direct.series {
        groups.entry(family_and_option(&s.id)).or_default().push(s);
    }
    let mut series = Vec::new();
    let mut failures = Vec::new();
    for ((family_id, option), members) in groups {
        let (Some(f), Some(fs)) = (fam.get(family_id), fam_series.get(family_id)) else {
            continue;
        };
        // Residual rows on the family's periods (NaN before an option value's first sale).
        let align = |id: &str, residuals: &[f64]| -> Vec<f64> {
            let start = opt_series.get(id).map_or(fs.start, |s| s.start);
            (fs.start..fs.end())
                .map(|p| {
                    usize::try_from(p - start)
                        .ok()
                        .and_then(|i| residuals.get(i).copied())
                        .unwrap_or(f64::NAN)
                })
                .collect()
        };
        let mut base = vec![f.forecast.mean.clone()];
        let mut residuals = vec![f.residuals.clone()];
        for m in &members {
            base.push(m.forecast.mean.clone());
            residuals.push(align(&m.id, &m.residuals));
        }
        let reconciled = Hierarchy::two_level(members.len())
            .and_then(|h| reconcile_mint_shrink(&base, &residuals, &h));
        let reconciled = match reconciled {
            Ok(r) => r.reconciled,
            Err(e) => {
                failures.push(e.on_series(format!("{family_id}/{option}")));
                continue;
            }
        };
        for (k, m) in members.iter().enumerate() {
            let mean = reconciled[k + 1].clone();
            let shift: Vec<f64> = mean
                .iter()
                .zip(&m.forecast.mean)
                .map(|(r, b)| r - b)
                .collect();
            let moved = |v: &[f64]| {
                v.iter()
                    .zip(&shift)
                    .map(|(x, d)| x + d)
                    .collect::<Vec<f64>>()
            };
            series.push(SeriesForecast {
                id: m.id.clone(),
                start: m.start,
                model: format!("MinT({})", m.model),
                forecast: Forecast {
                    intervals: m
                        .forecast
                        .intervals
                        .iter()
                        .map(|i| Interval {
                            level: i.level,
                            lo: moved(&i.lo),
                            hi: moved(&i.hi),
                        })
                        .collect(),
                    mean,
                },
                residuals: Vec::new(),
            });
        }
    }
    Ok(Forecasts {
        series,
        failures,
        levels: levels.to_vec(),
    })
}

/// A mover: an option series, its last `horizon` weeks of units, the forecast of the next.
struct Mover<'a> {
    series: &'a Series,
    forecast: &'a SeriesForecast,
    recent: f64,
    next: f64,
}

fn top_movers<'a>(
    options: &'a SeriesSet,
    fc: &'a Forecasts,
    horizon: usize,
    top: usize,
) -> Vec<Mover<'a>> {
    let by_id: HashMap<&str, &Series> = options.series.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut movers: Vec<Mover> = fc
        .series
        .iter()
        .filter_map(|f| {
            let s = by_id.get(f.id.as_str())?;
            let recent: f64 = s.values.iter().rev().take(horizon).sum();
            let next: f64 = f.forecast.mean.iter().sum();
            Some(Mover {
                series: s,
                forecast: f,
                recent,
                next,
            })
        })
        .filter(|m| m.recent + m.next >= 20.0)
        .collect();
    // Largest change in units first: what the plant must plan for.
    movers.sort_by(|a, b| {
        (b.next - b.recent)
            .abs()
            .total_cmp(&(a.next - a.recent).abs())
            .then_with(|| a.series.id.cmp(&b.series.id))
    });
    movers.truncate(top);
    movers
}

fn print_movers(movers: &[Mover], options: &SeriesSet, horizon: usize) {
    println!(
        "top movers: the next {horizon} weeks of each option against its last {horizon} weeks\n"
    );
    println!(
        "{:<40} {:>9} {:>9} {:>8}  {:>21}  {:>21}",
        "family / option = value",
        "last",
        "next",
        "change",
        "week 1: 80% interval",
        "week 1: 95% interval"
    );
    for m in movers {
        let change = if m.recent > 0.0 {
            format!("{:+.0}%", (m.next / m.recent - 1.0) * 100.0)
        } else {
            "new".into()
        };
        let band = |level: f64| {
            m.forecast.forecast.interval(level).map_or_else(
                || "-".to_string(),
                |i| format!("{:.1} .. {:.1}", i.lo[0], i.hi[0]),
            )
        };
        println!(
            "{:<40} {:>9.0} {:>9.0} {:>8}  {:>21}  {:>21}",
            m.series.id,
            m.recent,
            m.next,
            change,
            band(80.0),
            band(95.0)
        );
    }
    let first = options.series.iter().map(Series::end).max().unwrap_or(0);
    println!(
        "\nforecast weeks start {}; units are machines ordered; models: {}",
        options.label.date(options.frequency, first),
        movers.first().map_or("-", |m| m.forecast.model.as_str())
    );
}

/// Long-format CSV (`series_id,ts,y`), ts the week's Monday.
fn write_long_csv(path: &std::path::Path, set: &SeriesSet) -> fabrik::Result<()> {
    let mut out = String::from("series_id,ts,y\n");
    for s in &set.series {
        for (i, y) in s.values.iter().enumerate() {
            let _ = writeln!(
                out,
                "{},{},{y}",
                s.id,
                set.label.date(set.frequency, s.start + i as i64)
            );
        }
    }
    std::fs::write(path, out).map_err(fabrik::forecast::Error::from)?;
    Ok(())
}

/// Small multiples: each mover's last year of weekly units and its forecast with the 80%
/// band, as a self-contained SVG.
fn chart(movers: &[Mover]) -> String {
    let (w, h, cols) = (320.0, 150.0, 2usize);
    let rows = movers.len().div_ceil(cols).max(1);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">"#,
        w * cols as f64,
        h * rows as f64 + 24.0
    );
    let _ = write!(
        svg,
        r#"<text x="8" y="16" font-size="13">Weekly units per option: last 52 weeks (grey) and forecast with 80% band (blue)</text>"#
    );
    for (k, m) in movers.iter().enumerate() {
        let (x0, y0) = ((k % cols) as f64 * w, (k / cols) as f64 * h + 24.0);
        let hist: Vec<f64> = m
            .series
            .values
            .iter()
            .rev()
            .take(52)
            .rev()
            .copied()
            .collect();
        let band = m.forecast.forecast.interval(80.0);
        let n = hist.len() + m.forecast.forecast.horizon();
        let top = hist
            .iter()
            .chain(band.map_or(&m.forecast.forecast.mean, |b| &b.hi))
            .fold(1.0f64, |a, b| a.max(*b));
        let px = |i: usize| x0 + 30.0 + (w - 45.0) * i as f64 / (n.max(2) - 1) as f64;
        let py = |v: f64| y0 + h - 22.0 - (h - 45.0) * v.max(0.0) / top;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}">{}</text>"#,
            x0 + 30.0,
            y0 + 14.0,
            escape(&m.series.id)
        );
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" fill="#666">{top:.0}</text>"##,
            x0 + 2.0,
            py(top) + 4.0
        );
        if let Some(b) = band {
            let mut pts: Vec<String> = (0..b.hi.len())
                .map(|j| format!("{:.1},{:.1}", px(hist.len() + j), py(b.hi[j])))
                .collect();
            pts.extend(
                (0..b.lo.len())
                    .rev()
                    .map(|j| format!("{:.1},{:.1}", px(hist.len() + j), py(b.lo[j]))),
            );
            let _ = write!(
                svg,
                r##"<polygon points="{}" fill="#9ecae1" opacity="0.6"/>"##,
                pts.join(" ")
            );
        }
        let line = |pts: Vec<String>, colour: &str| {
            format!(
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#,
                pts.join(" ")
            )
        };
        svg.push_str(&line(
            hist.iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", px(i), py(*v)))
                .collect(),
            "#777",
        ));
        svg.push_str(&line(
            m.forecast
                .forecast
                .mean
                .iter()
                .enumerate()
                .map(|(j, v)| format!("{:.1},{:.1}", px(hist.len() + j), py(*v)))
                .collect(),
            "#08519c",
        ));
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{2:.1}" y2="{1:.1}" stroke="#ccc"/>"##,
            x0 + 30.0,
            py(0.0),
            x0 + w - 15.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
