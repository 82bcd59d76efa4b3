//! The public API: errors, progress, re-runs, the in-memory telemetry helpers.

use arrow::array::AsArray;
use fabrik_datagen::{
    Error, Format, Plant, PlantConfig, Progress, generate, sensor_readings, write_parquet,
};
use fabrik_model::Table;

use crate::fixtures::{hash_tree, read_parquet};

#[test]
fn bad_input_gives_typed_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let zero = PlantConfig {
        machines_per_line: 0,
        ..PlantConfig::tiny(1)
    };
    let err = generate(&zero, tmp.path(), &[Format::Csv], &mut |_| {}).expect_err("zero machines");
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                field: "machines_per_line",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("use 1 to 99"),
        "says how to fix it: {err}"
    );
    let err = generate(&PlantConfig::tiny(1), tmp.path(), &[], &mut |_| {}).expect_err("no format");
    assert!(matches!(err, Error::NoFormats));
    assert!(matches!(
        Plant::new(&PlantConfig {
            days: 0,
            ..PlantConfig::tiny(1)
        }),
        Err(Error::InvalidConfig { field: "days", .. })
    ));
    let plant = Plant::new(&PlantConfig::tiny(1)).expect("plant");
    assert!(matches!(
        plant.sensor_readings(1),
        Err(Error::DayOutOfRange { day: 1, days: 1 })
    ));
    // a file where a directory must go: an I/O error that names the path
    let blocked = tmp.path().join("blocked");
    std::fs::write(&blocked, b"not a directory").expect("write");
    let err = generate(&PlantConfig::tiny(1), &blocked, &[Format::Csv], &mut |_| {})
        .expect_err("blocked");
    match err {
        Error::Io { path, .. } => assert!(path.starts_with(&blocked), "{}", path.display()),
        other => panic!("expected an I/O error, got {other}"),
    }
}

#[test]
fn progress_reports_every_table_and_reruns_replace_the_output() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = PlantConfig::tiny(9);
    let mut seen: Vec<Progress> = Vec::new();
    let report = generate(&config, tmp.path(), &[Format::Parquet], &mut |p| {
        seen.push(p.clone())
    })
    .expect("generate");
    for t in Table::ALL {
        let last = seen
            .iter()
            .rev()
            .find(|p| p.table == t)
            .unwrap_or_else(|| panic!("no progress for {t}"));
        assert_eq!(last.rows, report.table(t).expect("table").rows, "{t}");
        assert!(last.rows <= last.total_rows, "{t}: {last:?}");
        assert!(
            seen.iter()
                .filter(|p| p.table == t)
                .map(|p| p.rows)
                .is_sorted(),
            "{t}: rows only grow"
        );
    }
    assert!(report.faults == Plant::new(&config).expect("plant").faults().len());
    let first = hash_tree(tmp.path());
    // a stale file from an earlier run disappears, everything else comes out the same
    let stale = tmp.path().join("parquet/orders/orders-0099.parquet");
    std::fs::write(&stale, b"stale").expect("stale");
    let keep = tmp.path().join("notes.txt");
    std::fs::write(&keep, b"mine").expect("keep");
    generate(&config, tmp.path(), &[Format::Parquet], &mut |_| {}).expect("rerun");
    assert!(!stale.exists());
    assert!(keep.exists(), "files that are not ours stay");
    let mut second = hash_tree(tmp.path());
    second.remove("notes.txt");
    assert_eq!(first, second);
}

#[test]
fn files_split_at_max_rows_per_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = PlantConfig {
        max_rows_per_file: 1000,
        ..PlantConfig::tiny(2)
    };
    let report = generate(&config, tmp.path(), &[Format::Csv], &mut |_| {}).expect("generate");
    let orders = report.table(Table::Orders).expect("orders");
    assert_eq!(orders.files.len() as u64, orders.rows.div_ceil(1000));
    assert!(tmp.path().join("csv/orders/orders-0001.csv").exists());
}

#[test]
fn telemetry_sorted_is_every_reading_by_sensor() {
    let plant = Plant::new(&PlantConfig::tiny(4)).expect("plant");
    let sorted = plant.telemetry_sorted().expect("sorted");
    let by_day: usize = (0..plant.config().days)
        .flat_map(|d| plant.sensor_readings(d).expect("day"))
        .map(|b| b.num_rows())
        .sum();
    let all =
        arrow::compute::concat_batches(&Table::SensorReadings.schema(), &sorted).expect("concat");
    assert_eq!(all.num_rows(), by_day);
    assert!(
        by_day < plant.rows(Table::SensorReadings) as usize,
        "gaps are left out"
    );
    assert_sorted_by_sensor(&all);
}

#[test]
fn telemetry_rows_in_memory_and_to_parquet() {
    let config = PlantConfig::tiny(4);
    let batches = sensor_readings(&config, 20_000).expect("rows");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 20_000);
    let all =
        arrow::compute::concat_batches(&Table::SensorReadings.schema(), &batches).expect("concat");
    assert_sorted_by_sensor(&all);
    let err = sensor_readings(&config, 10_000_000).expect_err("too many");
    assert!(
        matches!(
            err,
            Error::NotEnoughRows {
                requested: 10_000_000,
                ..
            }
        ),
        "{err}"
    );

    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("t.parquet");
    let bytes = write_parquet(&path, Table::SensorReadings, &batches, true).expect("write");
    assert!(bytes > 0);
    let (back, meta) = read_parquet(&path);
    assert_eq!(back.num_rows(), 20_000);
    assert!(
        meta.row_groups()
            .iter()
            .all(|rg| rg.sorting_columns().is_some())
    );
    let cc = meta.row_group(0).column(5);
    assert!(cc.statistics().is_some(), "statistics written");
    assert!(
        cc.column_index_offset().is_some() && cc.offset_index_offset().is_some(),
        "page index written"
    );
    let sensor_id = meta.row_group(0).column(3);
    assert!(matches!(
        sensor_id.compression(),
        parquet::basic::Compression::ZSTD(_)
    ));
    assert!(
        sensor_id
            .encodings()
            .any(|e| e == parquet::basic::Encoding::RLE_DICTIONARY),
        "ids are dictionary-encoded"
    );
    assert!(
        meta.row_group(0)
            .column(6)
            .dictionary_page_offset()
            .is_none(),
        "values are not"
    );
}

/// Asserts that sensor_readings rows are strictly increasing in (sensor_id, ts).
fn assert_sorted_by_sensor(all: &arrow::array::RecordBatch) {
    let sensor = all.column(3).as_string::<i32>();
    let ts = all
        .column(5)
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    assert!(
        (1..all.num_rows())
            .all(|i| (sensor.value(i - 1), ts.value(i - 1)) < (sensor.value(i), ts.value(i))),
        "sorted by (sensor_id, ts)"
    );
}
