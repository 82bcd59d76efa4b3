//! fabrik in one minute: generate a small build-to-order plant, load it, ask it questions.
//!
//! ```text
//! cargo run --release --example quickstart                # into ./fabrik-demo
//! cargo run --release --example quickstart -- /tmp/plant  # somewhere else
//! cargo run --release --example quickstart -- --help
//! ```
//!
//! Steps:
//! 1. `fabrik-datagen` simulates a plant (lines, machines, sensors at 1 Hz, machine states,
//!    production counts, two years of customised orders, suppliers and deliveries) and
//!    writes it as Parquet under `<dir>/parquet/<table>/`. The same seed gives the same
//!    bytes; re-running replaces what is there.
//! 2. `fabrik-lake` ingests every table into a Delta lake under `<dir>/lake/`: each row is
//!    validated against `fabrik-model`'s rules (rejects go to `<table>__rejects`), keys are
//!    deduplicated, files are partitioned, sorted and zstd-compressed.
//! 3. A `fabrik_sql::Session` registers the lake's tables, and four questions a plant
//!    manager asks run in plain SQL, printed as tables.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use std::sync::Arc;

use fabrik::ProgressLine;
use fabrik::datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use fabrik::datafusion::arrow::util::pretty::pretty_format_batches;
use fabrik::datagen::{Format, PlantConfig, generate};
use fabrik::lake::{IngestOptions, Lake, ingest};
use fabrik::model::Table;
use fabrik::sql::Session;

const USAGE: &str = "\
usage: quickstart [DIR] [--scale F] [--seed N] [--quiet]

  DIR        where to write the plant (default ./fabrik-demo); re-running replaces it
  --scale F  a plant at scale F instead of the small default (1.0: 4 lines, 7 days,
             about 50 million readings; 0.05: 2 stations, 1 day)
  --seed N   random seed (default 42); the same seed gives byte-identical files
  --quiet    print only the report, no progress";

/// The questions, in SQL. Each is a plain query over the plant's tables.
const QUESTIONS: [(&str, &str); 4] = [
    (
        "Top downtime reasons (unplanned stops, whole window)",
        "SELECT reason,
                count(*) AS stops,
                round(sum(CAST(end_ts AS BIGINT) - CAST(start_ts AS BIGINT)) / 3.6e9, 1) AS hours_down,
                round(avg(CAST(end_ts AS BIGINT) - CAST(start_ts AS BIGINT)) / 6e7, 1) AS mean_minutes,
                round(100.0 * sum(CAST(end_ts AS BIGINT) - CAST(start_ts AS BIGINT))
                      / sum(sum(CAST(end_ts AS BIGINT) - CAST(start_ts AS BIGINT))) OVER (), 1) AS pct_of_downtime
         FROM machine_states
         WHERE state = 'DOWN'
         GROUP BY reason
         ORDER BY sum(CAST(end_ts AS BIGINT) - CAST(start_ts AS BIGINT)) DESC, reason
         LIMIT 8",
    ),
    (
        "Demand by option, last full quarter (units, share within the option, change against the quarter before)",
        "WITH bounds AS (
             SELECT date_trunc('quarter', max(created_at)) AS q_end FROM orders
         ),
         quarters AS (
             SELECT o.*,
                    CASE WHEN o.created_at >= b.q_end - INTERVAL '3 months' THEN 'last' ELSE 'prev' END AS q
             FROM orders o, bounds b
             WHERE o.created_at >= b.q_end - INTERVAL '6 months' AND o.created_at < b.q_end
               AND o.status <> 'cancelled'
         ),
         by_option AS (
             SELECT 'capacity_kg' AS option, CAST(capacity_kg AS VARCHAR) || ' kg' AS value, q, quantity FROM quarters WHERE capacity_kg IS NOT NULL
             UNION ALL SELECT 'motor', motor, q, quantity FROM quarters
             UNION ALL SELECT 'panel', panel, q, quantity FROM quarters
             UNION ALL SELECT 'color', color, q, quantity FROM quarters
         ),
         agg AS (
             SELECT option, value,
                    sum(CASE WHEN q = 'last' THEN quantity ELSE 0 END) AS units,
                    sum(CASE WHEN q = 'prev' THEN quantity ELSE 0 END) AS units_prev
             FROM by_option GROUP BY option, value
         )
         SELECT option, value, units,
                round(100.0 * units / sum(units) OVER (PARTITION BY option), 1) AS share_pct,
                CASE WHEN units_prev > 0 THEN round(100.0 * (units - units_prev) / units_prev, 1) END AS vs_prev_q_pct
         FROM agg
         WHERE units > 0
         ORDER BY option, units DESC, value",
    ),
    (
        "Supplier on-time-in-full (received by the promised day + 1 day, at least the ordered quantity)",
        "SELECT s.supplier_id, s.name, s.category,
                count(*) AS deliveries,
                round(100.0 * avg(CASE WHEN d.received_at <= d.promised_at + INTERVAL '1 day' THEN 1.0 ELSE 0.0 END), 1) AS on_time_pct,
                round(100.0 * avg(CASE WHEN d.qty_received >= d.qty_ordered THEN 1.0 ELSE 0.0 END), 1) AS in_full_pct,
                round(100.0 * avg(CASE WHEN d.received_at <= d.promised_at + INTERVAL '1 day'
                                        AND d.qty_received >= d.qty_ordered THEN 1.0 ELSE 0.0 END), 1) AS otif_pct,
                round(avg(CAST(d.received_at AS BIGINT) - CAST(d.ordered_at AS BIGINT)) / 8.64e10, 1) AS lead_days,
                CAST(round(1e6 * sum(d.qty_rejected) / sum(d.qty_received)) AS BIGINT) AS reject_ppm
         FROM deliveries d JOIN suppliers s USING (supplier_id)
         WHERE d.received_at IS NOT NULL
         GROUP BY s.supplier_id, s.name, s.category
         ORDER BY otif_pct ASC, s.supplier_id
         LIMIT 10",
    ),
    (
        "Sensors with the most out-of-range readings (outside the metric's operating limits)",
        "SELECT r.sensor_id, r.machine_id, r.metric,
                count(*) AS out_of_range,
                round(min(r.value), 2) AS min_value,
                round(max(r.value), 2) AS max_value,
                l.low, l.high
         FROM sensor_readings r JOIN operating_limits l ON r.metric = l.metric
         WHERE r.quality = 0 AND (r.value < l.low OR r.value > l.high)
         GROUP BY r.sensor_id, r.machine_id, r.metric, l.low, l.high
         ORDER BY out_of_range DESC, r.sensor_id
         LIMIT 10",
    ),
];

struct Args {
    dir: PathBuf,
    scale: Option<f64>,
    seed: u64,
    quiet: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dir: PathBuf::from("fabrik-demo"),
        scale: None,
        seed: 42,
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    let mut dir_given = false;
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--quiet" | "-q" => args.quiet = true,
            "--scale" => {
                let v = it.next().ok_or("--scale needs a value, e.g. --scale 0.5")?;
                let scale: f64 = v
                    .parse()
                    .map_err(|_| format!("--scale: '{v}' is not a number"))?;
                if !(scale > 0.0 && scale.is_finite()) {
                    return Err(format!("--scale must be a positive number, got {v}"));
                }
                args.scale = Some(scale);
            }
            "--seed" => {
                let v = it.next().ok_or("--seed needs a value, e.g. --seed 7")?;
                args.seed = v
                    .parse()
                    .map_err(|_| format!("--seed: '{v}' is not a whole number"))?;
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if !dir_given => {
                args.dir = PathBuf::from(s);
                dir_given = true;
            }
            s => {
                return Err(format!(
                    "unexpected argument {s}: only one DIR may be given"
                ));
            }
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if msg.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> fabrik::Result<()> {
    let t0 = Instant::now();
    let config = match args.scale {
        None => PlantConfig::small(args.seed),
        Some(scale) => PlantConfig::at_scale(scale, args.seed),
    };
    let quiet = args.quiet;
    if !quiet {
        eprintln!(
            "generating a synthetic plant into {} (seed {}) ...",
            args.dir.display(),
            args.seed
        );
    }
    let mut progress = ProgressLine::new(quiet);
    let report = generate(&config, &args.dir, &[Format::Parquet], &mut |p| {
        progress.update(p)
    })?;
    progress.finish();
    if !quiet {
        eprintln!(
            "generated {} rows ({:.1} MB of Parquet, {} developing faults recorded in ground_truth/) in {:.1}s",
            report.total_rows(),
            report.total_bytes() as f64 / 1e6,
            report.faults,
            report.elapsed.as_secs_f64()
        );
    }

    // 2. Ingest every table into a Delta lake, validating each row. The demo lake is
    //    rebuilt on every run, so re-running with another seed or scale never mixes plants.
    let lake_dir = args.dir.join("lake");
    if lake_dir.exists() {
        std::fs::remove_dir_all(&lake_dir).map_err(|source| fabrik::lake::Error::Io {
            path: lake_dir.clone(),
            source,
        })?;
    }
    let lake = Lake::open(&lake_dir.to_string_lossy()).await?;
    let mut ingested = Vec::new();
    for table in Table::ALL {
        let input = args.dir.join(Format::Parquet.dir_name()).join(table.name());
        let report = ingest(
            &lake,
            table,
            &[input.to_string_lossy().into_owned()],
            &IngestOptions::default(),
            &mut |_, _| {},
        )
        .await?;
        if !quiet {
            eprintln!(
                "  ingested {:<18} {:>9} rows in {:.1}s",
                table.name(),
                report.rows_read(),
                report.elapsed.as_secs_f64()
            );
        }
        ingested.push(report);
    }
    let ingest_table = RecordBatch::try_from_iter([
        (
            "table",
            Arc::new(StringArray::from_iter_values(
                ingested.iter().map(|r| r.table.name()),
            )) as ArrayRef,
        ),
        (
            "rows_read",
            Arc::new(UInt64Array::from_iter_values(
                ingested.iter().map(|r| r.rows_read()),
            )),
        ),
        (
            "accepted",
            Arc::new(UInt64Array::from_iter_values(
                ingested.iter().map(|r| r.accepted()),
            )),
        ),
        (
            "rejected",
            Arc::new(UInt64Array::from_iter_values(
                ingested.iter().map(|r| r.rejected()),
            )),
        ),
        (
            "duplicates",
            Arc::new(UInt64Array::from_iter_values(
                ingested.iter().map(|r| r.duplicates()),
            )),
        ),
        (
            "parquet_files",
            Arc::new(UInt64Array::from_iter_values(
                ingested.iter().map(|r| r.files_written),
            )),
        ),
    ])?;

    // 3. SQL over the lake's tables.
    let session = Session::new()?;
    let tables = session.register_lake(&lake).await?;

    println!(
        "fabrik quickstart — a synthetic build-to-order appliance plant in {}\n",
        args.dir.display()
    );
    let counts = format!(
        "SELECT table_name, row_count FROM ({}) ORDER BY row_count DESC",
        tables
            .iter()
            .map(|t| format!("SELECT '{t}' AS table_name, count(*) AS row_count FROM {t}"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    );
    println!(
        "Ingest into the lake at {} (every row validated; read = accepted + rejected + duplicates)\n{}\n",
        lake_dir.display(),
        pretty_format_batches(&[ingest_table])?
    );
    println!(
        "Tables\n{}\n",
        pretty_format_batches(&session.query(&counts).await?)?
    );

    for (title, sql) in QUESTIONS {
        let t = Instant::now();
        let batches = session.query(sql).await?;
        println!(
            "{title}  [{:.0} ms]\n{}\n",
            t.elapsed().as_secs_f64() * 1e3,
            pretty_format_batches(&batches)?
        );
    }
    if !quiet {
        eprintln!(
            "done in {:.1}s; the files and the lake stay in {} for your own SQL (cargo run --release --example sql -- --lake <dir>/lake \"SELECT ...\")",
            t0.elapsed().as_secs_f64(),
            args.dir.display()
        );
    }
    Ok(())
}
