//! Ingest files into a Delta lake, every row accounted for: accepted, rejected (with the
//! rule and the reason) or a duplicate.
//!
//! ```text
//! cargo run --release --example ingest                      # a generated dirty plant
//! cargo run --release --example ingest -- --lake /tmp/lake --table orders data/orders-*.csv
//! cargo run --release --example ingest -- --lake /tmp/lake --table orders 's3://plant-data/orders/2026-11-*.csv'
//! cargo run --release --example ingest -- --help
//! ```
//!
//! Without `--table`, the example generates a small plant with injected defects (malformed,
//! invalid, duplicate, late rows) as CSV, ingests every table of it into a lake and prints
//! a report per table and a sample of the rejected rows, read back with SQL from the
//! `<table>__rejects` Delta tables. With `--table NAME FILE...` it ingests your files: local
//! paths, directories, globs or object-store URLs (`s3://`, `gs://`, `az://`, `https://`,
//! globs in the key; credentials from the environment).
//!
//! Re-running is safe: a file whose content was ingested before is skipped, and a run
//! killed half-way resumes where its last commit ended.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fabrik::ProgressLine;
use fabrik::datafusion::arrow::util::pretty::pretty_format_batches;
use fabrik::datafusion::prelude::SessionContext;
use fabrik::datagen::{Format, PlantConfig, generate};
use fabrik::lake::source::{PlantZone, SourceFormat};
use fabrik::lake::{IngestOptions, IngestReport, Lake, ingest};
use fabrik::model::Table;

const USAGE: &str = "\
usage: ingest [--size tiny|small|SCALE] [--seed N] [--out DIR] [--lake DIR] [--quiet]
       ingest --lake DIR --table NAME [--format F] [--tz ZONE] [--delimiter C] INPUT...

  Without --table: generate a dirty plant as CSV (default ./fabrik-demo/dirty, --out DIR),
  ingest every table into a lake (default ./fabrik-demo/lake-dirty) and print the report
  and a sample of the rejects.
  --size       small (default), tiny, or a scale factor (see the datagen example)
  --seed N     random seed (default 42)

  With --table: ingest INPUT... into table NAME (sensor_readings, machine_states,
  production_counts, orders, suppliers, deliveries, bom, inventory) of the lake --lake DIR
  (a directory, or a URL such as s3://bucket/prefix, with the credentials below).
  An INPUT is a file, a directory, a glob, or an object-store URL: s3://bucket/key,
  gs://bucket/key, az://container/key, abfss://container@account.dfs.core.windows.net/key,
  http(s)://host/path, with globs in the key (quote them: 's3://bucket/plant-7/2026-11-*.csv';
  a prefix ending in / is read like a directory). Objects are streamed to a temporary file
  one at a time; reports and rejects name the URL. Credentials come from the environment:
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (AWS_ENDPOINT and
  AWS_ALLOW_HTTP=true for an S3-compatible server), GOOGLE_SERVICE_ACCOUNT,
  AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_SAS_KEY).
  --format F     csv, ndjson, parquet or arrow (default: by file extension)
  --tz ZONE      zone of timestamps without an offset, e.g. Europe/Berlin
  --delimiter C  CSV field delimiter (default ','; 'tab' for a tab)

  --part-rows N  accepted rows per commit (default 2097152); memory holds about two parts
                 (one written while the next is read), whatever the file size
  --quiet        no progress on stderr

exit status: 0 done, 1 a file or the lake could not be read or written, 2 bad usage";

struct Args {
    /// `None`: demo mode (generate a dirty plant); `Some`: ingest these inputs into it.
    table: Option<Table>,
    inputs: Vec<String>,
    lake: Option<PathBuf>,
    out: PathBuf,
    config: PlantConfig,
    options: IngestOptions,
    quiet: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        table: None,
        inputs: Vec::new(),
        lake: None,
        out: PathBuf::from("fabrik-demo/dirty"),
        config: PlantConfig::small(42),
        options: IngestOptions::default(),
        quiet: false,
    };
    let mut size = String::from("small");
    let mut seed = 42u64;
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--quiet" | "-q" => args.quiet = true,
            "--lake" => args.lake = Some(PathBuf::from(value("--lake")?)),
            "--out" => args.out = PathBuf::from(value("--out")?),
            "--size" => size = value("--size")?,
            "--seed" => {
                let v = value("--seed")?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed: '{v}' is not a whole number"))?;
            }
            "--table" => {
                let v = value("--table")?;
                args.table = Some(Table::from_name(&v).map_err(|e| e.to_string())?);
            }
            "--format" => {
                let v = value("--format")?;
                let f: SourceFormat = v.parse().map_err(|_| format!("--format: unknown '{v}'"))?;
                args.options.source.format = Some(f);
            }
            "--tz" => {
                let v = value("--tz")?;
                let zone =
                    PlantZone::named(&v).ok_or_else(|| format!("--tz: unknown time zone '{v}'"))?;
                args.options.source.time.naive_tz = Some(zone);
            }
            "--delimiter" => {
                args.options.source.delimiter = match value("--delimiter")?.as_str() {
                    "tab" | "\\t" => b'\t',
                    v if v.len() == 1 => v.as_bytes()[0],
                    v => return Err(format!("--delimiter: '{v}' is not one ASCII character")),
                };
            }
            "--part-rows" => {
                let v = value("--part-rows")?;
                args.options.part_rows = v
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n > 0)
                    .ok_or_else(|| format!("--part-rows: '{v}' is not a positive number"))?;
            }
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            s => args.inputs.push(s.to_string()),
        }
    }
    match (args.table, args.inputs.is_empty()) {
        (Some(_), true) => {
            return Err("--table needs at least one INPUT (file, glob or URL)".into());
        }
        (Some(_), false) if args.lake.is_none() => return Err("--table needs --lake DIR".into()),
        (None, false) => return Err(format!("files given without --table: {}", args.inputs[0])),
        _ => {}
    }
    args.config = match size.as_str() {
        "small" => PlantConfig::small(seed),
        "tiny" => PlantConfig::tiny(seed),
        s => PlantConfig::at_scale(
            s.parse()
                .map_err(|_| format!("--size: '{s}' is neither small, tiny nor a number"))?,
            seed,
        ),
    }
    .with_dirty();
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        // The counts did not reconcile: a bug worth a non-zero status.
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            // File-level errors name the file (missing, wrong header, not CSV, ...).
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs either mode; `Ok(false)` when a report does not reconcile.
async fn run(args: &Args) -> fabrik::Result<bool> {
    let quiet = args.quiet;
    // 1. The inputs: the user's files, or a freshly generated dirty plant (CSV).
    let jobs: Vec<(Table, Vec<String>)> = match args.table {
        Some(table) => vec![(table, args.inputs.clone())],
        None => {
            if !quiet {
                eprintln!("generating a dirty plant into {} ...", args.out.display());
            }
            let mut progress = ProgressLine::new(quiet);
            generate(&args.config, &args.out, &[Format::Csv], &mut |p| {
                progress.update(p)
            })?;
            progress.finish();
            let csv = args.out.join(Format::Csv.dir_name());
            Table::ALL
                .into_iter()
                .map(|t| (t, vec![csv.join(t.name()).to_string_lossy().into_owned()]))
                .filter(|(t, _)| csv.join(t.name()).is_dir())
                .collect()
        }
    };

    // 2. Ingest, table by table. Progress: one line per committed part.
    let lake_dir = args
        .lake
        .clone()
        .unwrap_or_else(|| PathBuf::from("fabrik-demo/lake-dirty"));
    let lake = Lake::open(&lake_dir.to_string_lossy()).await?;
    let mut reports = Vec::new();
    for (table, inputs) in &jobs {
        let mut progress = |file: &Path, rows: u64| {
            if !quiet {
                let name = file.file_name().unwrap_or(file.as_os_str());
                eprintln!(
                    "  {table}: {}: {rows} rows read, committed",
                    name.to_string_lossy()
                );
            }
        };
        reports.push(ingest(&lake, *table, inputs, &args.options, &mut progress).await?);
    }

    // 3. The report, and a sample of the rejects read back from the lake with SQL.
    println!("ingested into the lake {}\n", lake_dir.display());
    let ok = print_report(&reports);
    let tables: Vec<Table> = jobs.iter().map(|(t, _)| *t).collect();
    print_rejects_sample(&lake, &tables).await?;
    Ok(ok)
}

/// Prints one aligned row per table and the top reject rules; returns whether every
/// table reconciles (`read = accepted + rejected + duplicates`).
fn print_report(reports: &[IngestReport]) -> bool {
    println!(
        "{:<18} {:>5} {:>5} {:>10} {:>10} {:>9} {:>10} {:>7} {:>10} {:>7} {:>7}  check",
        "table",
        "files",
        "skip",
        "read",
        "accepted",
        "rejected",
        "duplicates",
        "written",
        "MB",
        "version",
        "seconds"
    );
    let mut all_ok = true;
    for r in reports {
        let ok = r.reconciles();
        all_ok &= ok;
        println!(
            "{:<18} {:>5} {:>5} {:>10} {:>10} {:>9} {:>10} {:>7} {:>10.2} {:>7} {:>7.2}  {}",
            r.table.name(),
            r.files.len(),
            r.files.iter().filter(|f| f.already_ingested).count(),
            r.rows_read(),
            r.accepted(),
            r.rejected(),
            r.duplicates(),
            r.files_written,
            r.bytes_written as f64 / 1e6,
            r.version,
            r.elapsed.as_secs_f64(),
            if ok { "OK" } else { "MISMATCH" }
        );
    }
    println!(
        "check: read = accepted + rejected + duplicates {}",
        if all_ok {
            "holds for every table"
        } else {
            "FAILS"
        }
    );
    println!("(skip: files ingested before; written: Parquet files added)\n");

    // A row can break several rules: these count (row, rule) pairs.
    println!("rejects by rule (top 5 per table)");
    if reports.iter().all(|r| r.rejected_by_rule.is_empty()) {
        println!("  none in this run");
    }
    for r in reports.iter().filter(|r| !r.rejected_by_rule.is_empty()) {
        let mut rules: Vec<(&String, &u64)> = r.rejected_by_rule.iter().collect();
        rules.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = rules
            .iter()
            .take(5)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        println!("  {:<18} {}", r.table.name(), top.join(", "));
    }
    println!();
    all_ok
}

/// Registers each table's `<table>__rejects` Delta table in DataFusion and prints 10
/// rejects, spread over the rules so that the sample shows the variety.
async fn print_rejects_sample(lake: &Lake, tables: &[Table]) -> fabrik::Result<()> {
    let ctx = SessionContext::new();
    let mut selects = Vec::new();
    for &t in tables {
        if lake.has_rejects(t).await? {
            let name = format!("{t}__rejects");
            ctx.register_table(name.as_str(), lake.rejects(t).await?.provider().await?)?;
            selects.push(format!(
                "SELECT '{t}' AS table_name, regexp_replace(source, '^.*/', '') AS file, line, \
                 \"column\", rule, reason FROM {name}"
            ));
        }
    }
    if selects.is_empty() {
        println!("no rejects");
        return Ok(());
    }
    // The first reject of every rule, then the second, ... : 10 of them, shown in file order.
    let sql = format!(
        "SELECT table_name, file, line, \"column\", rule, reason FROM (
             SELECT * FROM (
                 SELECT *, row_number() OVER (PARTITION BY rule ORDER BY table_name, file, line) AS n
                 FROM ({})
             ) ORDER BY n, table_name, rule LIMIT 10
         ) ORDER BY table_name, file, line, \"column\"",
        selects.join(" UNION ALL ")
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    if batches.iter().all(|b| b.num_rows() == 0) {
        println!("no rejects");
        return Ok(());
    }
    println!(
        "a sample of the rejects\n{}",
        pretty_format_batches(&batches)?
    );
    Ok(())
}
