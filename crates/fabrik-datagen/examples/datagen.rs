//! Generates a synthetic plant into a directory and prints progress and a summary.
//!
//! ```text
//! cargo run --release -p fabrik-datagen --example datagen -- OUT [small|tiny|SCALE] [csv,ndjson,parquet] [--dirty] [--seed N]
//! cargo run --release -p fabrik-datagen --example datagen -- OUT --telemetry ROWS
//! ```
//!
//! The second form times generating ROWS telemetry rows in memory (`sensor_readings` at
//! scale 1) and writing them to one Parquet file (`write_parquet`).

use std::path::PathBuf;
use std::time::Instant;

use fabrik_datagen::{Format, PlantConfig, generate, sensor_readings, write_parquet};
use fabrik_model::Table;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(args.first().map_or("fabrik-demo", String::as_str));
    let seed = args
        .iter()
        .position(|a| a == "--seed")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(42);
    if let Some(i) = args.iter().position(|a| a == "--telemetry") {
        let rows: usize = args
            .get(i + 1)
            .ok_or("--telemetry needs a row count")?
            .parse()?;
        let config = PlantConfig::at_scale(1.0, seed);
        let t0 = Instant::now();
        let batches = sensor_readings(&config, rows)?;
        let generated = t0.elapsed().as_secs_f64();
        std::fs::create_dir_all(&out)?;
        let path = out.join("sensor_readings.parquet");
        let bytes = write_parquet(&path, Table::SensorReadings, &batches, true)?;
        let total = t0.elapsed().as_secs_f64();
        println!(
            "{rows} rows: generated in {generated:.2} s, written ({bytes} bytes) in {:.2} s, total {total:.2} s",
            total - generated
        );
        return Ok(());
    }
    let size = args.get(1).map_or("small", String::as_str);
    let mut config = match size {
        "small" => PlantConfig::small(seed),
        "tiny" => PlantConfig::tiny(seed),
        scale => PlantConfig::at_scale(scale.parse()?, seed),
    };
    if args.iter().any(|a| a == "--dirty") {
        config = config.with_dirty();
    }
    let formats = match args.get(2).filter(|a| !a.starts_with("--")) {
        Some(list) => list
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<Format>, _>>()?,
        None => Format::ALL.to_vec(),
    };
    let t0 = Instant::now();
    let mut last = None;
    let report = generate(&config, &out, &formats, &mut |p| {
        if last != Some(p.table) {
            eprintln!();
            last = Some(p.table);
        }
        eprint!(
            "\r{:>18}: {:>11} / {:>11} rows, {} files  ",
            p.table.name(),
            p.rows,
            p.total_rows,
            p.files
        );
    })?;
    eprintln!();
    for t in &report.tables {
        println!(
            "{:>18}: {:>11} rows {:>5} files {:>12} bytes",
            t.table.name(),
            t.rows,
            t.files.len(),
            t.bytes
        );
    }
    println!("faults: {}, dirty rows: {:?}", report.faults, report.dirty);
    println!(
        "total: {} rows, {} bytes in {:.1} s",
        report.total_rows(),
        report.total_bytes(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
