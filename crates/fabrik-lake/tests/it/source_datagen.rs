//! `source` on the synthetic plant's dirty mode: the rejects are exactly the ground truth's
//! malformed and invalid rows, in CSV, NDJSON and Parquet; Parquet and Arrow IPC read back
//! the source; typed files of the wrong kind are file errors.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::ipc::writer::{FileWriter, StreamWriter};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use fabrik_datagen::{Format, PlantConfig, generate};
use fabrik_lake::Error;
use fabrik_lake::source::{Reject, SourceBatch, SourceFormat, SourceOptions, SourceReader};
use fabrik_model::{Table, ValidateOptions};

struct Run {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().to_path_buf();
        generate(
            &PlantConfig::tiny(7).with_dirty(),
            &dir,
            &[Format::Csv, Format::Ndjson, Format::Parquet],
            &mut |_| {},
        )
        .expect("generate");
        Run { _tmp: tmp, dir }
    })
}

fn opts() -> SourceOptions {
    let now = fabrik_model::time::micros_from_rfc3339("2026-10-01T00:00:00Z").expect("now");
    SourceOptions {
        validate: ValidateOptions::at(now),
        batch_rows: 4096,
        ..SourceOptions::default()
    }
}

fn read(table: Table, path: &Path, o: &SourceOptions) -> Vec<SourceBatch> {
    let chunks: Vec<SourceBatch> = SourceReader::open(table, path, o)
        .expect("open")
        .collect::<fabrik_lake::Result<_>>()
        .expect("read");
    for c in &chunks {
        assert_eq!(c.rows_read, c.batch.num_rows() as u64 + c.rejected_rows());
    }
    chunks
}

/// (file, row) → (kind, line_csv, line_ndjson) of the rejectable defects.
fn truth(dir: &Path) -> BTreeMap<String, BTreeMap<u64, (u64, u64)>> {
    let mut reader = csv::Reader::from_path(dir.join("ground_truth/dirty.csv")).expect("truth");
    let headers = reader.headers().expect("header").clone();
    let col = |n: &str| headers.iter().position(|h| h == n).expect("column");
    let (file, row, kind) = (col("file"), col("row"), col("kind"));
    let (lc, ln) = (col("line_csv"), col("line_ndjson"));
    let mut out: BTreeMap<String, BTreeMap<u64, (u64, u64)>> = BTreeMap::new();
    for r in reader.records() {
        let r = r.expect("record");
        if matches!(&r[kind], "malformed" | "invalid") {
            let num = |i: usize| r[i].parse::<u64>().unwrap_or(0);
            out.entry(r[file].to_string())
                .or_default()
                .insert(num(row), (num(lc), num(ln)));
        }
    }
    out
}

fn table_dirs(dir: &Path, format: &str) -> Vec<(Table, PathBuf)> {
    let mut out = Vec::new();
    for t in Table::ALL {
        let d = dir.join(format).join(t.name());
        if let Ok(entries) = std::fs::read_dir(&d) {
            let mut files: Vec<PathBuf> = entries.map(|e| e.expect("entry").path()).collect();
            files.sort();
            out.extend(files.into_iter().map(|p| (t, p)));
        }
    }
    out
}

#[test]
fn dirty_rejects_are_exactly_the_ground_truth() {
    let run = run();
    let truth = truth(&run.dir);
    let mut checked = 0;
    let mut defects = 0;
    for format in ["csv", "ndjson", "parquet"] {
        for (table, path) in table_dirs(&run.dir, format) {
            let rel = path
                .strip_prefix(&run.dir)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            let chunks = read(table, &path, &opts());
            let rejects: Vec<&Reject> = chunks.iter().flat_map(|c| &c.rejects).collect();
            let got: BTreeSet<u64> = rejects.iter().map(|r| r.row).collect();
            let want = truth.get(&rel).cloned().unwrap_or_default();
            let want_rows: BTreeSet<u64> = want.keys().copied().collect();
            assert_eq!(got, want_rows, "{rel}: {rejects:#?}");
            for r in &rejects {
                let (lc, ln) = want[&r.row];
                match format {
                    "csv" => assert_eq!(r.line, Some(lc), "{rel}"),
                    "ndjson" => assert_eq!(r.line, Some(ln), "{rel}"),
                    _ => {
                        assert_eq!(r.line, None);
                        assert!(
                            r.raw.as_deref().is_some_and(|j| j.starts_with('{')),
                            "{r:?}"
                        );
                    }
                }
            }
            let total: u64 = chunks.iter().map(|c| c.rows_read).sum();
            let accepted: u64 = chunks.iter().map(|c| c.batch.num_rows() as u64).sum();
            assert_eq!(total, accepted + got.len() as u64);
            checked += 1;
            defects += want_rows.len();
        }
    }
    assert!(checked >= 24, "{checked} files");
    assert!(defects > 0, "dirty mode injected something");
}

fn parquet_file(table: Table) -> PathBuf {
    table_dirs(&run().dir, "parquet")
        .into_iter()
        .find(|(t, _)| *t == table)
        .map(|(_, p)| p)
        .expect("a parquet file")
}

fn parquet_batches(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).expect("open");
    ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("batches")
}

fn accepted(chunks: &[SourceBatch], table: Table) -> (RecordBatch, Vec<u64>, Vec<Reject>) {
    let batches: Vec<RecordBatch> = chunks.iter().map(|c| c.batch.clone()).collect();
    let all = concat_batches(&table.schema(), &batches).expect("concat");
    let rows = chunks
        .iter()
        .flat_map(|c| c.rows.values().iter().copied())
        .collect();
    let rejects = chunks
        .iter()
        .flat_map(|c| c.rejects.iter().cloned())
        .map(|r| Reject {
            source: String::new(),
            ..r
        })
        .collect();
    (all, rows, rejects)
}

#[test]
fn parquet_and_ipc_read_back_the_source() {
    let dir = tempfile::tempdir().expect("tmp");
    for table in [Table::SensorReadings, Table::Orders, Table::Deliveries] {
        let path = parquet_file(table);
        let source = parquet_batches(&path);
        let schema = source[0].schema();
        let ipc_file = dir.path().join(format!("{}.arrow", table.name()));
        let mut w = FileWriter::try_new(std::fs::File::create(&ipc_file).expect("create"), &schema)
            .expect("ipc");
        for b in &source {
            w.write(b).expect("write");
        }
        w.finish().expect("finish");
        let ipc_stream = dir.path().join(format!("{}.ipc", table.name()));
        let mut w =
            StreamWriter::try_new(std::fs::File::create(&ipc_stream).expect("create"), &schema)
                .expect("ipc");
        for b in &source {
            w.write(b).expect("write");
        }
        w.finish().expect("finish");

        let o = SourceOptions {
            batch_rows: 1000,
            ..opts()
        };
        let from_parquet = accepted(&read(table, &path, &o), table);
        let from_file = accepted(&read(table, &ipc_file, &o), table);
        let from_stream = accepted(&read(table, &ipc_stream, &o), table);
        assert_eq!(from_parquet, from_file, "{}", table.name());
        assert_eq!(from_parquet, from_stream, "{}", table.name());

        // The accepted rows are the source's rows at those positions, cast to the model.
        let all = concat_batches(&schema, &source).expect("concat");
        let idx = UInt64Array::from(from_parquet.1.clone());
        let expect = take_record_batch(&all, &idx).expect("take");
        let got = &from_parquet.0;
        assert_eq!(got.num_rows(), expect.num_rows());
        for field in table.schema().fields() {
            let want = datafusion::arrow::compute::cast(
                expect.column_by_name(field.name()).expect("column"),
                field.data_type(),
            )
            .expect("cast");
            assert_eq!(
                got.column_by_name(field.name()).expect("column").as_ref(),
                want.as_ref(),
                "{}.{}",
                table.name(),
                field.name()
            );
        }
        let rejected: BTreeSet<u64> = from_parquet.2.iter().map(|r| r.row).collect();
        assert_eq!(rejected.len() + got.num_rows(), all.num_rows());
    }
}

#[test]
fn a_mistyped_column_is_a_file_error_naming_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let table = Table::Inventory;
    let text = |v: &str| Arc::new(StringArray::from(vec![v])) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("plant_id", text("P01")),
        ("part_id", text("DRUM-09")),
        ("ts", text("2026-03-01T06:00:00Z")),
        ("on_hand", text("12")),
        ("on_order", text("0")),
    ])
    .expect("batch");
    let path = dir.path().join("inventory.arrow");
    let mut w = FileWriter::try_new(
        std::fs::File::create(&path).expect("create"),
        &batch.schema(),
    )
    .expect("ipc");
    w.write(&batch).expect("write");
    w.finish().expect("finish");
    match SourceReader::open(table, &path, &opts()) {
        Err(Error::SourceColumnType {
            path: p,
            column,
            found,
            ..
        }) => {
            assert_eq!(p, path);
            assert_eq!(column, "ts");
            assert_eq!(found, "Utf8");
        }
        other => panic!("expected SourceColumnType, got {other:?}"),
    }
    let msg = SourceReader::open(table, &path, &opts())
        .expect_err("mistyped")
        .to_string();
    assert!(
        msg.contains("inventory.arrow") && msg.contains("`ts`"),
        "{msg}"
    );
    assert!(batch.column(0).len() == 1);
}

#[test]
fn a_file_that_is_not_parquet_is_a_file_error_naming_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("orders.parquet");
    std::fs::write(&path, "order_id,customer_id\n1,2\n").expect("write");
    let err = SourceReader::open(Table::Orders, &path, &opts()).expect_err("not parquet");
    assert!(
        matches!(&err, Error::NotFormat { path: p, expected: "Parquet", .. } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains("orders.parquet"), "{err}");
    // The same bytes read as declared CSV are a header error (not the orders columns).
    let o = SourceOptions {
        format: Some(SourceFormat::Csv),
        ..opts()
    };
    assert!(matches!(
        SourceReader::open(Table::Orders, &path, &o),
        Err(Error::Header { .. })
    ));
    // And a Parquet file named .csv is refused as binary.
    let pq = dir.path().join("orders.csv");
    std::fs::copy(parquet_file(Table::Orders), &pq).expect("copy");
    let err = SourceReader::open(Table::Orders, &pq, &opts()).expect_err("parquet as csv");
    assert!(
        err.to_string().contains("looks like a Parquet file"),
        "{err}"
    );
}
