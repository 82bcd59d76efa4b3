//! Sequence a day's customised orders on a line to spend fewer minutes on changeovers,
//! and compare the plan with building them in the order they came (FIFO).
//!
//! ```text
//! cargo run --release --example quickstart        # makes ./fabrik-demo/lake
//! cargo run --release --example sequence_orders
//! cargo run --release --example sequence_orders -- --family dishwasher --day 2025-02-27
//! ```
//!
//! The day's orders of one product family (one line builds one family) come from the
//! lake's `orders` table, oldest first: that order is FIFO. Each order line's build time
//! is its quantity × the configuration's ideal cycle time from `production_counts`
//! (the family's mean where a configuration was not built yet). Its due time is its
//! promised delivery when that falls within the day (later promises do not constrain
//! the day's sequence).
//!
//! Changeovers: going from one configuration to another costs the sum of what changes,
//! a setup model stated here and easy to replace with a plant's measured matrix:
//! drum capacity 25 min, motor 15 min, colour 12 min, control panel 6 min (a configuration
//! code is `FAMILY-CAPACITY-MOTOR-COLOUR-PANEL`, e.g. `WM-09-INV-GRA-SMT`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use fabrik::datafusion::arrow::array::{Array, AsArray, RecordBatch};
use fabrik::datafusion::arrow::compute::cast;
use fabrik::datafusion::arrow::datatypes::{
    DataType, Float64Type, Int64Type, TimestampMicrosecondType,
};
use fabrik::lake::Lake;
use fabrik::model::Table;
use fabrik::ops::{Order, SetupMatrix, sequence};
use fabrik::sql::Session;

const USAGE: &str = "\
usage: sequence_orders [--lake DIR] [--family NAME] [--day YYYY-MM-DD] [--max N]

  --lake DIR      the plant's lake (default ./fabrik-demo/lake, made by the quickstart)
  --family NAME   the product family the line builds (default: the one with most orders)
  --day DATE      the day whose orders are sequenced (default: the busiest of the last 7)
  --max N         at most N order lines, the oldest first (default 80)";

/// Minutes to change one part of a configuration, by position in the configuration code
/// (after the family): capacity, motor, colour, panel.
const CHANGE_MINUTES: [i64; 4] = [25, 15, 12, 6];

struct Args {
    lake: PathBuf,
    family: Option<String>,
    day: Option<String>,
    max: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        lake: PathBuf::from("fabrik-demo/lake"),
        family: None,
        day: None,
        max: 80,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--lake" => args.lake = PathBuf::from(value()?),
            "--family" => args.family = Some(value()?),
            "--day" => {
                let d = value()?;
                if chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").is_err() {
                    return Err(format!("--day takes a date such as 2025-02-27, got {d:?}"));
                }
                args.day = Some(d);
            }
            "--max" => {
                let v = value()?;
                args.max = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--max must be a positive integer, got {v:?}"))?;
            }
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
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

/// The first cell of a query's answer as text (empty when there is no row).
fn first_string(batches: &[RecordBatch]) -> fabrik::Result<String> {
    Ok(match batches.first().filter(|b| b.num_rows() > 0) {
        Some(b) => cast(b.column(0), &DataType::Utf8)?
            .as_string::<i32>()
            .value(0)
            .to_string(),
        None => String::new(),
    })
}

/// The changeover minutes between two configuration codes: the parts that differ.
fn changeover(from: &str, to: &str) -> i64 {
    let parts = |c: &str| c.split('-').skip(1).map(str::to_string).collect::<Vec<_>>();
    let (a, b) = (parts(from), parts(to));
    CHANGE_MINUTES
        .iter()
        .enumerate()
        .filter(|(i, _)| a.get(*i) != b.get(*i))
        .map(|(_, m)| m)
        .sum()
}

async fn run(args: &Args) -> fabrik::Result<()> {
    let lake = Lake::open(&args.lake.to_string_lossy()).await?;
    let tables = lake.tables().await?;
    for t in [Table::Orders, Table::ProductionCounts] {
        if !tables.contains(&t) {
            return Err(fabrik::Error::MissingTable {
                table: t.name(),
                lake: args.lake.display().to_string(),
            });
        }
    }
    let session = Session::new()?;
    session.register_lake(&lake).await?;
    let family = match &args.family {
        Some(f) => f.replace('\'', "''"),
        None => {
            let b = session
                .query("SELECT product_family FROM orders GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
                .await?;
            first_string(&b)?
        }
    };
    let day = match &args.day {
        Some(d) => d.clone(),
        None => {
            let sql = format!(
                "SELECT CAST(date_trunc('day', created_at) AS DATE) AS d FROM orders \
                 WHERE product_family = '{family}' AND created_at >= \
                 (SELECT max(created_at) FROM orders) - INTERVAL '7 days' \
                 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
            );
            let b = session.query(&sql).await?;
            first_string(&b)?
        }
    };
    let sql = format!(
        "WITH cycle AS (SELECT sku, avg(ideal_cycle_s) AS c FROM production_counts GROUP BY sku), \
              fam AS (SELECT avg(ideal_cycle_s) AS c FROM production_counts p \
                      JOIN orders o ON p.sku = o.sku WHERE o.product_family = '{family}') \
         SELECT CAST(o.order_id AS BIGINT) AS id, CAST(o.sku AS VARCHAR) AS sku, \
                CAST(o.quantity AS BIGINT) AS qty, \
                CAST(coalesce(cycle.c, (SELECT c FROM fam), 180.0) AS DOUBLE) AS cycle_s, \
                o.promised_at, o.created_at \
         FROM orders o LEFT JOIN cycle ON o.sku = cycle.sku \
         WHERE o.product_family = '{family}' AND o.status <> 'cancelled' \
           AND o.created_at >= TIMESTAMP '{day}T00:00:00Z' \
           AND o.created_at < TIMESTAMP '{day}T00:00:00Z' + INTERVAL '1 day' \
         ORDER BY o.created_at, o.order_id LIMIT {}",
        args.max
    );
    let batches = session.query(&sql).await?;
    let day_start = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc()
                .timestamp_micros()
        })
        .unwrap_or(0);
    let mut configs: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut orders = Vec::new();
    for b in &batches {
        // Text may come as any string type (the lake reads strings as views).
        let sku = cast(b.column(1), &DataType::Utf8)?;
        let (id, sku, qty, cycle) = (
            b.column(0).as_primitive::<Int64Type>(),
            sku.as_string::<i32>(),
            b.column(2).as_primitive::<Int64Type>(),
            b.column(3).as_primitive::<Float64Type>(),
        );
        let promised = b.column(4).as_primitive::<TimestampMicrosecondType>();
        for r in 0..b.num_rows() {
            let code = sku.value(r).to_string();
            let config = *index.entry(code.clone()).or_insert_with(|| {
                configs.push(code);
                configs.len() - 1
            });
            let minutes = ((qty.value(r) as f64 * cycle.value(r)) / 60.0).ceil() as i64;
            let due = (!promised.is_null(r))
                .then(|| (promised.value(r) - day_start) / 60_000_000)
                .filter(|m| (0..24 * 60).contains(m));
            orders.push(Order::new(
                id.value(r).to_string(),
                config,
                minutes.max(1),
                due,
            ));
        }
    }
    if orders.is_empty() {
        println!("no {family} orders on {day}: pick another --day or --family");
        return Ok(());
    }
    let setup = SetupMatrix::from_fn(configs.len(), |a, b| changeover(&configs[a], &configs[b]))?;
    let report = sequence(&orders, &setup, orders[0].config)?;
    let (fifo, plan) = (&report.fifo, &report.plan);
    println!(
        "{family} line, {day}: {} order lines, {} configurations{}\n",
        orders.len(),
        configs.len(),
        if report.optimal {
            " (plan proven optimal)"
        } else {
            ""
        }
    );
    println!("{:<28} {:>12} {:>12}", "", "FIFO", "plan");
    println!(
        "{:<28} {:>12} {:>12}",
        "changeover minutes", fifo.changeover_minutes, plan.changeover_minutes
    );
    println!(
        "{:<28} {:>12} {:>12}",
        "changeovers",
        fifo.changeover.iter().filter(|m| **m > 0).count(),
        plan.changeover.iter().filter(|m| **m > 0).count()
    );
    println!(
        "{:<28} {:>12} {:>12}",
        "late orders",
        fifo.late.len(),
        plan.late.len()
    );
    println!(
        "{:<28} {:>12} {:>12}",
        "tardiness minutes", fifo.tardiness_minutes, plan.tardiness_minutes
    );
    println!(
        "{:<28} {:>12} {:>12}",
        "day's work (minutes)", fifo.makespan, plan.makespan
    );
    let saved = report.changeover_saved();
    println!(
        "\nthe plan saves {saved} changeover minutes ({:.0}% of FIFO's){}\n",
        if fifo.changeover_minutes > 0 {
            100.0 * saved as f64 / fifo.changeover_minutes as f64
        } else {
            0.0
        },
        match report.late_orders_saved() {
            0 => String::new(),
            n if n > 0 => format!(" and {n} fewer late orders"),
            n => format!(" with {} more late orders (less total lateness)", -n),
        }
    );
    println!("the plan's first orders:");
    println!(
        "{:>4}  {:<10} {:<22} {:>9} {:>10}",
        "#", "order", "configuration", "build min", "changeover"
    );
    for (k, (&i, &c)) in plan
        .sequence
        .iter()
        .zip(&plan.changeover)
        .enumerate()
        .take(15)
    {
        let o = &orders[i];
        println!(
            "{:>4}  {:<10} {:<22} {:>9} {:>10}",
            k + 1,
            o.id,
            configs[o.config],
            o.processing,
            c
        );
    }
    Ok(())
}
