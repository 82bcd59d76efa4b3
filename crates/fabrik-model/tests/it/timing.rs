//! A rough timing of `validate` on a large batch (run with `--release -- --ignored`).

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    ArrayRef, DictionaryArray, Float64Array, RecordBatch, TimestampMicrosecondArray, UInt8Array,
};
use arrow::datatypes::Int32Type;
use fabrik_model::{Table, validate};

use crate::support::fixture_options;

#[test]
#[ignore = "timing, not a check: cargo test --release -p fabrik-model --test it timing -- --ignored --nocapture"]
fn validate_a_million_sensor_readings() {
    let n = 1_000_000usize;
    let dict = |values: Vec<String>| -> ArrayRef {
        Arc::new(
            values
                .iter()
                .map(String::as_str)
                .collect::<DictionaryArray<Int32Type>>(),
        )
    };
    let t0 = 1_772_409_600_000_000i64;
    let batch = RecordBatch::try_from_iter([
        (
            "plant_id",
            dict((0..n).map(|_| "P01".to_string()).collect()),
        ),
        (
            "line_id",
            dict((0..n).map(|i| format!("P01-L{:02}", i % 4)).collect()),
        ),
        (
            "machine_id",
            dict((0..n).map(|i| format!("P01-M{:03}", i % 40)).collect()),
        ),
        (
            "sensor_id",
            dict((0..n).map(|i| format!("S{:06}", i % 400)).collect()),
        ),
        (
            "metric",
            dict(
                (0..n)
                    .map(|i| ["temperature", "vibration", "current", "pressure"][i % 4].to_string())
                    .collect(),
            ),
        ),
        (
            "ts",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values((0..n as i64).map(|i| t0 + i * 1000))
                    .with_timezone("UTC"),
            ) as ArrayRef,
        ),
        (
            "value",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| (i % 100) as f64 * 0.5),
            )) as ArrayRef,
        ),
        (
            "quality",
            Arc::new(UInt8Array::from_iter_values(
                (0..n).map(|i| if i % 1000 == 0 { 9 } else { 0 }),
            )) as ArrayRef,
        ),
    ])
    .expect("batch");
    let opts = fixture_options();
    let _ = validate(Table::SensorReadings, &batch, &opts).expect("warm up");
    let start = Instant::now();
    let runs = 5;
    let mut bad = 0;
    for _ in 0..runs {
        bad = validate(Table::SensorReadings, &batch, &opts)
            .expect("validate")
            .invalid_count();
    }
    let per_run = start.elapsed() / runs;
    println!(
        "validate sensor_readings: {n} rows in {per_run:?} ({:.1} ns/row), {bad} invalid",
        per_run.as_nanos() as f64 / n as f64
    );
    assert_eq!(bad, n / 1000);
}
