//! Generate a synthetic plant into a directory: the input for your own experiments, for
//! ingest tests (with `--dirty`) and for benchmarks.
//!
//! ```text
//! cargo run --release --example datagen -- OUT [--size small|tiny|SCALE] [--formats csv,ndjson,parquet]
//!                                             [--dirty] [--seed N] [--quiet]
//! ```
//!
//! Writes `OUT/<format>/<table>/…` and the ground truth (`OUT/ground_truth/`: developing
//! faults, sensor anomalies, supplier lots and, with `--dirty`, every injected defect), then
//! prints a summary per table. The same arguments give byte-identical files.

use std::path::PathBuf;
use std::process::ExitCode;

use fabrik::ProgressLine;
use fabrik::datagen::{Format, PlantConfig, generate};

const USAGE: &str = "\
usage: datagen OUT [--size small|tiny|SCALE] [--formats csv,ndjson,parquet] [--dirty] [--seed N] [--quiet]

  OUT        output directory; the tables it writes are replaced, other files are kept
  --size     small (default: 1 plant, 8 stations, 3 days of 1 Hz telemetry), tiny (tests),
             or a scale factor (1.0: 4 lines of 6 stations over 7 days, ~50M readings)
  --formats  comma-separated list of csv, ndjson, parquet (default: all three)
  --dirty    inject malformed, invalid, duplicate, out-of-order and late rows at the
             default rates and list each in OUT/ground_truth/dirty.csv
  --seed N   random seed (default 42)
  --quiet    no progress on stderr";

struct Args {
    out: PathBuf,
    config: PlantConfig,
    formats: Vec<Format>,
    quiet: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = None;
    let mut size = String::from("small");
    let mut formats = Format::ALL.to_vec();
    let mut dirty = false;
    let mut seed = 42u64;
    let mut quiet = false;
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--size" => size = value("--size")?,
            "--formats" => {
                formats = value("--formats")?
                    .split(',')
                    .map(|f| f.trim().parse::<Format>().map_err(|e| e.to_string()))
                    .collect::<Result<_, _>>()?;
            }
            "--dirty" => dirty = true,
            "--quiet" | "-q" => quiet = true,
            "--seed" => {
                let v = value("--seed")?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed: '{v}' is not a whole number"))?;
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if out.is_none() => out = Some(PathBuf::from(s)),
            s => {
                return Err(format!(
                    "unexpected argument {s}: only one OUT may be given"
                ));
            }
        }
    }
    let out = out.ok_or("the output directory OUT is missing")?;
    let mut config = match size.as_str() {
        "small" => PlantConfig::small(seed),
        "tiny" => PlantConfig::tiny(seed),
        s => PlantConfig::at_scale(
            s.parse()
                .map_err(|_| format!("--size: '{s}' is neither small, tiny nor a number"))?,
            seed,
        ),
    };
    if dirty {
        config = config.with_dirty();
    }
    Ok(Args {
        out,
        config,
        formats,
        quiet,
    })
}

fn main() -> ExitCode {
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
    let mut progress = ProgressLine::new(args.quiet);
    let report = match generate(&args.config, &args.out, &args.formats, &mut |p| {
        progress.update(p)
    }) {
        Ok(r) => r,
        Err(e) => {
            progress.finish();
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    progress.finish();
    println!(
        "{:<18} {:>11} {:>6} {:>14}",
        "table", "rows", "files", "bytes"
    );
    for t in &report.tables {
        println!(
            "{:<18} {:>11} {:>6} {:>14}",
            t.table.name(),
            t.rows,
            t.files.len(),
            t.bytes
        );
    }
    println!(
        "{:<18} {:>11} {:>6} {:>14}",
        "total",
        report.total_rows(),
        "",
        report.total_bytes()
    );
    println!(
        "developing faults: {} (ground_truth/faults.csv)",
        report.faults
    );
    if !report.dirty.is_empty() {
        let kinds: Vec<String> = report
            .dirty
            .iter()
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect();
        println!(
            "injected defects: {} (ground_truth/dirty.csv)",
            kinds.join(", ")
        );
    }
    println!(
        "written to {} in {:.1} s",
        args.out.display(),
        report.elapsed.as_secs_f64()
    );
    ExitCode::SUCCESS
}
