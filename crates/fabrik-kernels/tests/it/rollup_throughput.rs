//! The workload of the root crate's `rollup` bench (`benches/rollup.rs`), measured without
//! DataFusion in the build: the 1-minute rollup (count, min, max, avg of value per sensor
//! and minute) over seeded telemetry sorted by `(sensor_id, ts)`, 1,000 sensors, batches of
//! 64 Ki rows, `sensor_id` as strings and as a dictionary, on one core.
//!
//! ```text
//! cargo test -p fabrik-kernels --release -- --ignored rollup_1m_throughput --nocapture
//! ```
//!
//! `FABRIK_ROLLUP_CASES` (e.g. `dict/10000000,utf8/1000000`) picks the cases and
//! `FABRIK_ROLLUP_RUNS` the timed runs per case (the median is printed);
//! `FABRIK_ROLLUP_SORTED=1` tells the rollup that its input is sorted and how many rows
//! to expect, as the SQL operator does ([`Rollup::with_sorted_input`],
//! [`Rollup::with_expected_rows`]; the bench's `kernel_1thread_sorted`).

use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};
use fabrik_datagen::synthetic;
use fabrik_kernels::Bucket;
use fabrik_kernels::rollup::{Agg, AggInput, Rollup, RollupSpec};

const SEED: u64 = 42;
const SENSORS: usize = 1_000;
const BATCH_ROWS: usize = 64 * 1024;

fn spec() -> RollupSpec {
    // Columns: sensor_id, machine_id, metric, ts, value.
    RollupSpec {
        keys: vec![0],
        bucket: Some((
            3,
            Bucket::Fixed {
                width: 60_000_000,
                origin: 0,
            },
        )),
        aggs: vec![
            AggInput::new(Agg::CountRows),
            AggInput::of(Agg::Min, 4),
            AggInput::of(Agg::Max, 4),
            AggInput::of(Agg::Mean, 4),
        ],
    }
}

/// The batch with `sensor_id` (column 0) as `Dictionary(Int32, Utf8)`, as the bench does.
fn dictionary_sensor_ids(batch: &RecordBatch) -> RecordBatch {
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let mut cols = batch.columns().to_vec();
    cols[0] = cast(&cols[0], &dict).expect("dictionary");
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields[0] = fields[0].clone().with_data_type(dict);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch")
}

fn batches(layout: &str, rows: usize) -> Vec<RecordBatch> {
    let batches = synthetic::telemetry(rows, SENSORS, BATCH_ROWS, SEED).expect("telemetry");
    if layout == "dict" {
        batches.iter().map(dictionary_sensor_ids).collect()
    } else {
        batches
    }
}

/// One single-threaded rollup over `batches`, told they are sorted if `sorted`; returns the
/// number of groups.
fn rollup_once(batches: &[RecordBatch], sorted: bool) -> usize {
    let types: Vec<DataType> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    let mut r = Rollup::new(spec(), &types).expect("rollup");
    if sorted {
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        r = r.with_sorted_input().with_expected_rows(rows);
    }
    for b in batches {
        r.update(b.columns()).expect("update");
    }
    let out = r.finish().expect("finish");
    std::hint::black_box(&out);
    out.aggs[0].len()
}

// Run with: cargo test -p fabrik-kernels --release -- --ignored rollup_1m_throughput --nocapture
#[test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
fn rollup_1m_throughput() {
    let cases = std::env::var("FABRIK_ROLLUP_CASES")
        .unwrap_or_else(|_| "dict/1000000,dict/10000000,utf8/1000000,utf8/10000000".to_owned());
    let runs: usize = std::env::var("FABRIK_ROLLUP_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(9);
    let sorted = std::env::var("FABRIK_ROLLUP_SORTED").is_ok_and(|v| v == "1");
    for case in cases.split(',') {
        let (layout, rows) = case.split_once('/').expect("layout/rows");
        let rows: usize = rows.parse().expect("rows");
        let input = batches(layout, rows);
        let groups = rollup_once(&input, sorted);
        let mut rates: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                rollup_once(&input, sorted);
                rows as f64 / t.elapsed().as_secs_f64()
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        let m = rates[rates.len() / 2] / 1e6;
        println!(
            "{layout}/{rows}{}: median {m:.1}M rows/s on 1 core (min {:.1}, max {:.1}; {runs} runs, {groups} groups)",
            if sorted { " sorted" } else { "" },
            rates[0] / 1e6,
            rates[rates.len() - 1] / 1e6
        );
    }
}
