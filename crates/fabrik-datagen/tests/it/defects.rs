//! Dirty mode: the ground truth lists exactly the rows that were injected, per format, and
//! clean mode injects nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType, UInt8Type};
use arrow::row::{RowConverter, SortField};
use chrono::NaiveDate;
use fabrik_datagen::{DefectKind, Format};
use fabrik_model::Table;
use fabrik_model::vocab::{MACHINE_STATES, STATES_WITH_REASON};

use crate::fixtures::{
    clean_run, dirty_rates, dirty_run, files, parse_csv_text, parse_ndjson_text, read_ground_truth,
    read_parquet,
};

const DIRTY_TABLES: [Table; 5] = [
    Table::SensorReadings,
    Table::MachineStates,
    Table::ProductionCounts,
    Table::Orders,
    Table::Deliveries,
];

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir)
        .expect("inside out dir")
        .to_string_lossy()
        .into_owned()
}

/// Listed rows per (file, kind).
fn listed() -> BTreeMap<(String, String), BTreeSet<usize>> {
    let mut m: BTreeMap<(String, String), BTreeSet<usize>> = BTreeMap::new();
    for r in read_ground_truth(&dirty_run().dir.join("ground_truth/dirty.csv")) {
        let row: usize = r["row"].parse().expect("row");
        assert_eq!(r["line_csv"].parse::<usize>().ok(), Some(row + 2));
        assert_eq!(r["line_ndjson"].parse::<usize>().ok(), Some(row + 1));
        assert!(
            r["file"].starts_with(&format!("{}/{}/", r["format"], r["table"])),
            "{r:?}"
        );
        m.entry((r["file"].clone(), r["kind"].clone()))
            .or_default()
            .insert(row);
    }
    m
}

fn rows_of(
    m: &BTreeMap<(String, String), BTreeSet<usize>>,
    file: &str,
    kind: &str,
) -> BTreeSet<usize> {
    m.get(&(file.to_string(), kind.to_string()))
        .cloned()
        .unwrap_or_default()
}

/// Rows breaking a domain rule of the table (the `invalid` kind).
fn rule_breakers(table: Table, b: &RecordBatch) -> BTreeSet<usize> {
    let col = |n: &str| b.column_by_name(n).unwrap_or_else(|| panic!("{n}"));
    let ts = |n: &str| col(n).as_primitive::<TimestampMicrosecondType>();
    let s = |n: &str| col(n).as_string::<i32>();
    (0..b.num_rows())
        .filter(|&i| match table {
            Table::SensorReadings => {
                let v = col("value").as_primitive::<Float64Type>();
                let q = col("quality").as_primitive::<UInt8Type>();
                (v.is_valid(i) && v.value(i).is_nan())
                    || (v.is_null(i) && q.value(i) == 0)
                    || q.value(i) > 3
            }
            Table::MachineStates => {
                let st = s("state").value(i);
                ts("end_ts").value(i) <= ts("start_ts").value(i)
                    || !MACHINE_STATES.contains(&st)
                    || (s("reason").is_null(i) && STATES_WITH_REASON.contains(&st))
            }
            Table::ProductionCounts => {
                col("good_qty").as_primitive::<Int32Type>().value(i) < 0
                    || col("scrap_qty").as_primitive::<Int32Type>().value(i) < 0
            }
            Table::Orders => col("quantity").as_primitive::<Int32Type>().value(i) <= 0,
            _ => {
                let rec = ts("received_at");
                let got = col("qty_received").as_primitive::<Int64Type>();
                (rec.is_valid(i) && rec.value(i) < ts("ordered_at").value(i))
                    || (got.is_valid(i) && got.value(i) < 0)
                    || col("qty_ordered").as_primitive::<Int64Type>().value(i) <= 0
            }
        })
        .collect()
}

fn row_keys(b: &RecordBatch, columns: &[&str]) -> arrow::row::Rows {
    let cols: Vec<_> = columns
        .iter()
        .map(|c| b.column_by_name(c).expect("column").clone())
        .collect();
    let conv = RowConverter::new(
        cols.iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect(),
    )
    .expect("converter");
    conv.convert_columns(&cols).expect("rows")
}

#[test]
fn parquet_defects_are_exactly_the_listed_rows() {
    let run = dirty_run();
    let m = listed();
    let mut seen = BTreeMap::<String, usize>::new();
    for table in DIRTY_TABLES {
        for p in files(&run.dir, Format::Parquet, table) {
            let file = rel(&run.dir, &p);
            let (b, meta) = read_parquet(&p);
            assert!(
                rows_of(&m, &file, "malformed").is_empty(),
                "Parquet cannot hold malformed rows"
            );

            let schema = b.schema();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let all = row_keys(&b, &names);
            let dups: BTreeSet<usize> = (1..b.num_rows())
                .filter(|&i| all.row(i) == all.row(i - 1))
                .collect();
            assert_eq!(dups, rows_of(&m, &file, "duplicate"), "{file}: duplicates");

            let sort = row_keys(&b, table.sort_order());
            let ooo: BTreeSet<usize> = (1..b.num_rows())
                .filter(|&i| sort.row(i) < sort.row(i - 1))
                .collect();
            assert_eq!(
                ooo,
                rows_of(&m, &file, "out_of_order"),
                "{file}: out of order"
            );
            let declared = meta
                .row_groups()
                .iter()
                .all(|rg| rg.sorting_columns().is_some());
            assert_eq!(
                declared,
                ooo.is_empty(),
                "{file}: sort order declared iff the rows follow it"
            );

            assert_eq!(
                rule_breakers(table, &b),
                rows_of(&m, &file, "invalid"),
                "{file}: invalid rows"
            );

            if table == Table::SensorReadings {
                let day = p
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.strip_prefix("sensor_readings-"))
                    .expect("day");
                let day0 = NaiveDate::parse_from_str(day, "%Y-%m-%d")
                    .expect("date")
                    .and_hms_opt(0, 0, 0)
                    .expect("t")
                    .and_utc()
                    .timestamp_micros();
                let ts = b
                    .column_by_name("ts")
                    .expect("ts")
                    .as_primitive::<TimestampMicrosecondType>();
                let late: BTreeSet<usize> = (0..b.num_rows())
                    .filter(|&i| !(day0..day0 + 86_400_000_000).contains(&ts.value(i)))
                    .collect();
                assert_eq!(late, rows_of(&m, &file, "late"), "{file}: late rows");
                assert!(
                    late.iter().all(|&i| ts.value(i) >= day0 - 86_400_000_000),
                    "late by one day"
                );
            }
            for k in ["duplicate", "out_of_order", "invalid", "late"] {
                *seen.entry(k.to_string()).or_default() += rows_of(&m, &file, k).len();
            }
        }
    }
    for (k, n) in &seen {
        assert!(*n > 0, "no {k} rows were injected at all");
    }
}

fn check_text(format: Format, table: Table, path: &Path, malformed: &BTreeSet<usize>) {
    let text = std::fs::read_to_string(path).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    let header = if format == Format::Csv {
        Some(lines.remove(0))
    } else {
        None
    };
    let parse = |body: &str| match header {
        Some(h) => parse_csv_text(&format!("{h}\n{body}"), table),
        None => parse_ndjson_text(body, table),
    };
    for &r in malformed {
        assert!(
            parse(lines[r]).is_err(),
            "{} row {r} is listed malformed but parses: {}",
            path.display(),
            lines[r]
        );
    }
    let rest: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !malformed.contains(i))
        .map(|(_, l)| *l)
        .collect();
    let body = rest.join("\n") + "\n";
    let parsed = parse(&body)
        .unwrap_or_else(|e| panic!("{}: unlisted rows fail to parse: {e}", path.display()));
    assert_eq!(parsed.num_rows(), lines.len() - malformed.len());
}

#[test]
fn text_files_fail_to_parse_exactly_on_the_listed_malformed_rows() {
    let run = dirty_run();
    let m = listed();
    let mut total = 0;
    for format in [Format::Csv, Format::Ndjson] {
        for table in DIRTY_TABLES {
            for p in files(&run.dir, format, table) {
                let file = rel(&run.dir, &p);
                let malformed = rows_of(&m, &file, "malformed");
                total += malformed.len();
                check_text(format, table, &p, &malformed);
                // the other kinds are at the same rows as in Parquet
                let twin = file
                    .replacen(format.dir_name(), "parquet", 1)
                    .replace(&format!(".{}", format.extension()), ".parquet");
                for k in ["duplicate", "out_of_order", "invalid", "late"] {
                    assert_eq!(
                        rows_of(&m, &file, k),
                        rows_of(&m, &twin, k),
                        "{file} vs {twin}: {k}"
                    );
                }
            }
        }
    }
    assert!(total > 20, "malformed rows in CSV and NDJSON: {total}");
}

#[test]
fn injected_counts_follow_the_rates() {
    let run = dirty_run();
    let rates = dirty_rates();
    let telemetry_rows = run
        .report
        .table(Table::SensorReadings)
        .expect("telemetry")
        .rows as f64;
    let per_kind = |kind: &str| {
        read_ground_truth(&run.dir.join("ground_truth/dirty.csv"))
            .iter()
            .filter(|r| {
                r["table"] == "sensor_readings" && r["format"] == "csv" && r["kind"] == kind
            })
            .count() as f64
    };
    // late rows can only be chosen on the first of the two days
    for (kind, rate, share) in [
        ("malformed", rates.malformed, 1.0),
        ("invalid", rates.invalid, 1.0),
        ("duplicate", rates.duplicates, 1.0),
        ("out_of_order", rates.out_of_order, 1.0),
        ("late", rates.late, 0.5),
    ] {
        let expected = rate * telemetry_rows * share;
        let got = per_kind(kind);
        assert!(
            (0.7 * expected..1.3 * expected).contains(&got),
            "{kind}: {got} injected, about {expected:.0} expected"
        );
    }
    let reported: u64 = run.report.dirty.values().sum();
    assert!(
        run.report
            .dirty
            .get(&DefectKind::Malformed)
            .is_some_and(|&n| n > 0)
    );
    assert!(reported > 0);
}

#[test]
fn ground_truth_keys_name_the_rows() {
    let run = dirty_run();
    let rows = read_ground_truth(&run.dir.join("ground_truth/dirty.csv"));
    let dup = rows
        .iter()
        .find(|r| {
            r["table"] == "sensor_readings" && r["kind"] == "duplicate" && r["format"] == "parquet"
        })
        .expect("a duplicate reading");
    let (b, _) = read_parquet(&run.dir.join(&dup["file"]));
    let row: usize = dup["row"].parse().expect("row");
    let sensor = b
        .column_by_name("sensor_id")
        .expect("sensor")
        .as_string::<i32>()
        .value(row);
    assert!(
        dup["key"].starts_with(&format!("sensor_id={sensor};ts=")),
        "{}",
        dup["key"]
    );
}

#[test]
fn clean_mode_injects_nothing() {
    let run = clean_run();
    assert!(run.report.dirty.is_empty());
    let text = std::fs::read_to_string(run.dir.join("ground_truth/dirty.csv")).expect("dirty.csv");
    assert_eq!(
        text,
        "table,format,file,row,line_csv,line_ndjson,kind,column,detail,key\n"
    );
}
