//! The plant's production report from its lake: OEE by line and shift, the downtime
//! Pareto, MTBF and MTTR, the six big losses, the supplier scorecard and the worst sensor
//! anomalies.
//!
//! ```text
//! cargo run --release --example quickstart        # makes ./fabrik-demo/lake
//! cargo run --release --example oee_report
//! cargo run --release --example oee_report -- --lake DIR
//! ```
//!
//! Every figure comes from SQL over the lake's tables through `fabrik-ops`' table functions
//! (`oee`, `downtime_pareto`, `mtbf_mttr`, `six_big_losses`, `supplier_scorecard`) and its
//! SPC anomaly episodes over the telemetry (`fabrik_ops::anomalies`), with
//! the definitions written in `fabrik-ops` (ISO 22400 OEE over the plant's shift calendar,
//! on-time-in-full per purchase-order line with a tolerance window).

use std::path::PathBuf;
use std::process::ExitCode;

use fabrik::datafusion::arrow::util::pretty::pretty_format_batches;
use fabrik::datafusion::prelude::SessionContext;
use fabrik::lake::Lake;
use fabrik::model::Table;
use fabrik::sql::Session;

const USAGE: &str = "\
usage: oee_report [--lake DIR]

  --lake DIR   the plant's lake (default ./fabrik-demo/lake, made by the quickstart example)";

/// The report's sections: a title and the SQL that answers it.
const SECTIONS: &[(&str, &str)] = &[
    (
        "OEE by line and shift (ISO 22400: availability × performance × quality)",
        "SELECT line_id, date, shift, round(availability, 3) AS availability, \
         round(performance, 3) AS performance, round(quality, 3) AS quality, \
         round(oee, 3) AS oee FROM oee('line', 'shift') ORDER BY date, line_id, shift",
    ),
    (
        "Downtime Pareto by reason",
        "SELECT reason, round(minutes, 1) AS minutes, failures, \
         round(share * 100, 1) AS share_pct, round(cumulative_share * 100, 1) AS cumulative_pct \
         FROM downtime_pareto() LIMIT 10",
    ),
    (
        "MTBF and MTTR per machine, minutes (worst MTBF first)",
        "SELECT machine_id, round(run_min, 0) AS run, round(down_min, 1) AS down, failures, \
         round(mtbf_min, 1) AS mtbf, round(mttr_min, 1) AS mttr \
         FROM mtbf_mttr('machine') ORDER BY mtbf_min NULLS LAST LIMIT 10",
    ),
    (
        "The six big losses per line and day, hours of planned busy time",
        "SELECT line_id, date, round(planned_busy_s / 3600, 2) AS planned, \
         round(breakdown_s / 3600, 2) AS breakdowns, round(setup_s / 3600, 2) AS setup, \
         round(idle_s / 3600, 2) AS idle_minor_stops, round(speed_loss_s / 3600, 2) AS reduced_speed, \
         round(quality_loss_s / 3600, 2) AS rejects, round(productive_s / 3600, 2) AS productive \
         FROM six_big_losses('line', 'day') ORDER BY date, line_id",
    ),
    (
        "Supplier scorecard (on time in full: promised date, 2 days early to 1 day late, full quantity; lead times in days)",
        "SELECT supplier_id, po_lines, round(otif * 100, 1) AS otif_pct, \
         round(on_time * 100, 1) AS on_time_pct, round(in_full * 100, 1) AS in_full_pct, \
         round(lead_time_mean_d, 1) AS lead_mean, round(lead_time_sd_d, 1) AS lead_sd, \
         round(lead_time_p50_d, 1) AS lead_p50, round(lead_time_p95_d, 1) AS lead_p95, \
         round(defect_ppm, 0) AS defect_ppm, round(price_variance, 4) AS price_variance \
         FROM supplier_scorecard() ORDER BY otif NULLS LAST",
    ),
];

#[tokio::main]
async fn main() -> ExitCode {
    let mut lake = PathBuf::from("fabrik-demo/lake");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--lake" => match args.next() {
                Some(dir) => lake = PathBuf::from(dir),
                None => {
                    eprintln!("error: --lake needs a directory\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("error: unknown argument {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match run(&lake).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(dir: &std::path::Path) -> fabrik::Result<()> {
    let lake = Lake::open(&dir.to_string_lossy()).await?;
    let tables = lake.tables().await?;
    let needed = [
        Table::MachineStates,
        Table::ProductionCounts,
        Table::Deliveries,
        Table::Suppliers,
    ];
    if let Some(missing) = needed.iter().find(|t| !tables.contains(t)) {
        return Err(fabrik::Error::MissingTable {
            table: missing.name(),
            lake: dir.display().to_string(),
        });
    }
    let session = Session::new()?;
    session.register_lake(&lake).await?;
    fabrik::ops::register(&session, fabrik::ops::PlantCalendars::default());
    println!("fabrik production report — {}\n", dir.display());
    for (title, sql) in SECTIONS {
        let batches = session.query(sql).await?;
        println!("{title}\n{}\n", pretty_format_batches(&batches)?);
    }
    // Sensor anomalies: 2-minute means of running readings charted against each sensor's
    // first 8 running hours (fabrik-ops' defaults), alarms merged into episodes.
    let found = fabrik::ops::anomalies(&session, &fabrik::ops::AnomalyOptions::default()).await?;
    let ctx = SessionContext::new();
    ctx.register_batch("episodes", found.episodes.clone())?;
    let worst = ctx
        .sql(
            "SELECT sensor_id, ts AS start, end_ts AS end, rule, alarms, round(value, 2) AS value, \
             round(lcl, 2) AS lcl, round(ucl, 2) AS ucl FROM episodes \
             ORDER BY alarms DESC, start LIMIT 10",
        )
        .await?
        .collect()
        .await?;
    println!(
        "The worst sensor anomalies (SPC episodes: {} over {} sensors charted, {} not charted)",
        found.episodes.num_rows(),
        found.charted,
        found.skipped.len()
    );
    if found.episodes.num_rows() > 0 {
        println!("{}", pretty_format_batches(&worst)?);
    } else if let Some(s) = found.skipped.first() {
        println!("none: e.g. {} was not charted: {}", s.sensor_id, s.reason);
    } else {
        println!("none: every charted sensor stayed within its limits");
    }
    Ok(())
}
