//! Run one of the peer benchmark's queries through fabrik's SQL, for side-by-side timing
//! with DuckDB, Polars and DataFusion.
//!
//! ```text
//! cargo run --release --example bench_query -- --query rollup_1m --data telemetry.parquet
//! cargo run --release --example bench_query -- --query rollup_1m --data telemetry.parquet --explain
//! python3 peers.py --telemetry T.parquet --orders O.parquet \
//!     --engine 'fabrik=target/release/examples/bench_query --query {query} --data {data}'
//! ```
//!
//! The queries are the harness's, in DataFusion's SQL dialect, over a table `telemetry`
//! or `orders` registered from `--data` (a Parquet file or a directory of Parquet files)
//! through fabrik's Parquet table: text read as dictionaries, the file's sort order
//! declared, and fabrik's rollup operator in place of DataFusion's hash aggregation where
//! it applies (`--explain` prints the plan). The output ends with the harness's summary
//! line, `{"rows": N, "cols": {...}}` (numbers summed, timestamps summed as epoch seconds,
//! text as a count of distinct values), which the harness cross-checks against the other
//! engines. Exit status 3 means "no such query" (the harness shows n/a); 2 a usage error.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Instant;

use fabrik::datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use fabrik::datafusion::arrow::compute::{cast, filter};
use fabrik::datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use fabrik::datafusion::arrow::util::pretty::pretty_format_batches;
use fabrik::datafusion::prelude::SessionConfig;
use fabrik::sql::Session;

const USAGE: &str = "\
usage: bench_query --query NAME (--data PATH | --lake DIR) [--explain] [--threads N] [--show N]

  --query NAME   rollup_1m | rollup_1h_stats | last_value | demand_weekly | demand_by_option
  --data PATH    the query's Parquet file (telemetry or orders), or a directory of them
  --lake DIR     a fabrik lake instead: its sensor_readings table is the telemetry, its
                 orders table the orders (ingest the harness's files with the ingest example)
  --explain      print the physical plan instead of running the query
  --threads N    partitions / threads (default: the machine's cores)
  --show N       print the first N result rows (default 0)";

/// The queries, as `peers.py` runs them on DataFusion: (name, table, SQL).
const QUERIES: &[(&str, &str, &str)] = &[
    (
        "rollup_1m",
        "telemetry",
        "SELECT sensor_id, date_bin(INTERVAL '1 minute', ts) AS bucket,
                count(*) AS n, min(value) AS vmin, max(value) AS vmax, avg(value) AS vavg
         FROM telemetry GROUP BY sensor_id, bucket",
    ),
    (
        "rollup_1h_stats",
        "telemetry",
        "SELECT machine_id, metric, date_bin(INTERVAL '1 hour', ts) AS bucket,
                count(*) AS n, avg(value) AS vavg, stddev_samp(value) AS vstd,
                percentile_cont(value, 0.95) AS p95
         FROM telemetry GROUP BY machine_id, metric, bucket",
    ),
    (
        "last_value",
        "telemetry",
        "SELECT sensor_id, max(ts) AS ts, last_value(value ORDER BY ts) AS value
         FROM telemetry GROUP BY sensor_id",
    ),
    (
        "demand_weekly",
        "orders",
        "SELECT sku, date_trunc('week', created_at) AS week,
                CAST(sum(quantity) AS BIGINT) AS qty, sum(quantity * unit_price) AS revenue
         FROM orders GROUP BY sku, week",
    ),
    (
        "demand_by_option",
        "orders",
        "SELECT product_family, capacity_kg, color, date_trunc('month', created_at) AS month,
                CAST(sum(quantity) AS BIGINT) AS qty
         FROM orders GROUP BY product_family, capacity_kg, color, month",
    ),
];

struct Args {
    query: String,
    data: Option<String>,
    lake: Option<String>,
    explain: bool,
    threads: Option<usize>,
    show: usize,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut query, mut data, mut lake, mut explain, mut threads, mut show) =
        (None, None, None, false, None, 0);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--query" => query = Some(it.next().ok_or("--query needs a name")?),
            "--data" => data = Some(it.next().ok_or("--data needs a path")?),
            "--lake" => lake = Some(it.next().ok_or("--lake needs a directory")?),
            "--explain" => explain = true,
            "--threads" => {
                let n = it.next().ok_or("--threads needs a number")?;
                threads = Some(
                    n.parse()
                        .map_err(|_| format!("--threads: not a number: {n}"))?,
                );
            }
            "--show" => {
                let n = it.next().ok_or("--show needs a number")?;
                show = n
                    .parse()
                    .map_err(|_| format!("--show: not a number: {n}"))?;
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if data.is_some() == lake.is_some() {
        return Err("give one of --data PATH and --lake DIR".into());
    }
    Ok(Args {
        query: query.ok_or("--query is required")?,
        data,
        lake,
        explain,
        threads,
        show,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(&(_, table, sql)) = QUERIES.iter().find(|q| q.0 == args.query) else {
        let names: Vec<&str> = QUERIES.iter().map(|q| q.0).collect();
        eprintln!(
            "query {} is not supported (known: {})",
            args.query,
            names.join(", ")
        );
        return ExitCode::from(3);
    };
    match run(&args, table, sql).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args, table: &str, sql: &str) -> Result<(), Box<dyn std::error::Error>> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let session = Session::with_config(SessionConfig::new().with_target_partitions(threads))?;
    match (&args.data, &args.lake) {
        (Some(data), _) => {
            session.register_parquet_file(table, data)?;
        }
        (None, Some(dir)) => {
            // The lake's own layout: Delta tables partitioned by day / month, files sorted
            // by the table's key, read through the lake's provider.
            let lake = fabrik::lake::Lake::open(dir).await?;
            session.register_lake(&lake).await?;
            // The harness's names, without the lake's derived partition columns (`day`,
            // `month`), which would shadow the queries' aliases of the same name.
            let ctx = session.context();
            if table == "telemetry" {
                session
                    .query("CREATE VIEW telemetry AS SELECT * EXCLUDE (day) FROM sensor_readings")
                    .await?;
            } else {
                let provider = ctx.table_provider("orders").await?;
                ctx.register_table("orders_lake", provider)?;
                ctx.deregister_table("orders")?;
                session
                    .query("CREATE VIEW orders AS SELECT * EXCLUDE (month) FROM orders_lake")
                    .await?;
            }
        }
        (None, None) => return Err("give --data or --lake".into()),
    }
    if args.explain {
        let plan = session.query(&format!("EXPLAIN {sql}")).await?;
        println!("{}", pretty_format_batches(&plan)?);
        return Ok(());
    }
    let start = Instant::now();
    let batches = session.query(sql).await?;
    let elapsed = start.elapsed();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if args.show > 0 {
        let mut shown = Vec::new();
        let mut left = args.show;
        for b in &batches {
            if left == 0 {
                break;
            }
            let take = left.min(b.num_rows());
            shown.push(b.slice(0, take));
            left -= take;
        }
        println!("{}", pretty_format_batches(&shown)?);
    }
    println!(
        "{}: {rows} rows in {:.3} s",
        args.query,
        elapsed.as_secs_f64()
    );
    println!("{}", summary(&batches)?);
    Ok(())
}

/// The harness's JSON summary of a result: numeric columns summed, timestamps summed as
/// epoch seconds, text as a count of distinct values.
fn summary(batches: &[RecordBatch]) -> Result<String, Box<dyn std::error::Error>> {
    let Some(first) = batches.first() else {
        return Ok(r#"{"rows": 0, "cols": {}}"#.to_owned());
    };
    let schema = first.schema();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut cols = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let mut t = field.data_type().clone();
        if let DataType::Dictionary(_, v) = &t {
            t = v.as_ref().clone();
        }
        let value = match &t {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                // Of a dictionary, only the values its keys use, each once; the strings are
                // borrowed, not copied.
                let mut texts: Vec<ArrayRef> = Vec::new();
                for b in batches {
                    let c = b.column(i);
                    match c.as_any_dictionary_opt() {
                        Some(d) => {
                            let mut used = vec![false; d.values().len()];
                            for (row, k) in d.normalized_keys().into_iter().enumerate() {
                                if c.is_valid(row) {
                                    used[k] = true;
                                }
                            }
                            let used = BooleanArray::from(used);
                            texts.push(cast(&filter(d.values(), &used)?, &DataType::Utf8)?);
                        }
                        None => texts.push(cast(c, &DataType::Utf8)?),
                    }
                }
                let mut distinct: HashSet<&str> = HashSet::new();
                for t in &texts {
                    distinct.extend(t.as_string::<i32>().iter().flatten());
                }
                distinct.len().to_string()
            }
            DataType::Timestamp(unit, _) => {
                let per: i64 = match unit {
                    TimeUnit::Second => 1,
                    TimeUnit::Millisecond => 1_000,
                    TimeUnit::Microsecond => 1_000_000,
                    TimeUnit::Nanosecond => 1_000_000_000,
                };
                let (mut q, mut r) = (0i128, 0i128);
                for b in batches {
                    let c = cast(b.column(i), &DataType::Int64)?;
                    for v in c.as_primitive::<Int64Type>().iter().flatten() {
                        q += i128::from(v.div_euclid(per));
                        r += i128::from(v.rem_euclid(per));
                    }
                }
                format!("{:?}", q as f64 + r as f64 / per as f64)
            }
            DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(_, _) => {
                let mut s = 0.0f64;
                for b in batches {
                    let c = cast(b.column(i), &DataType::Float64)?;
                    s += c
                        .as_primitive::<Float64Type>()
                        .iter()
                        .flatten()
                        .sum::<f64>();
                }
                format!("{s:?}")
            }
            t if t.is_integer() => {
                let mut s = 0i128;
                for b in batches {
                    let c = cast(b.column(i), &DataType::Int64)?;
                    s += c
                        .as_primitive::<Int64Type>()
                        .iter()
                        .flatten()
                        .map(i128::from)
                        .sum::<i128>();
                }
                s.to_string()
            }
            _ => continue,
        };
        cols.push(format!("\"{}\": {value}", field.name()));
    }
    Ok(format!(
        "{{\"rows\": {rows}, \"cols\": {{{}}}}}",
        cols.join(", ")
    ))
}
