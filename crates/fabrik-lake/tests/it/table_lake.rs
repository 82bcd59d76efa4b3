//! Lake and table creation, layout on disk, Parquet settings, time travel.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt8Array,
};
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::basic::{Compression, Encoding};
use datafusion::prelude::SessionContext;
use fabrik_lake::Error;
use fabrik_lake::table::{Lake, lake_schema};
use fabrik_model::Table;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// 2024-03-01T00:00:00Z in µs.
pub const T0: i64 = 1_709_251_200_000_000;

/// One reading: (plant, sensor, ts µs, value).
pub type Reading<'a> = (&'a str, &'a str, i64, f64);

/// A sensor_readings batch.
pub fn readings(rows: &[Reading<'_>]) -> RecordBatch {
    let text = |f: &dyn Fn(&Reading<'_>) -> String| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    RecordBatch::try_new(
        Table::SensorReadings.schema(),
        vec![
            text(&|r| r.0.to_string()),
            text(&|r| format!("{}-L1", r.0)),
            text(&|r| format!("{}-L1-M1", r.0)),
            text(&|r| r.1.to_string()),
            text(&|_| "temperature".to_string()),
            Arc::new(
                TimestampMicrosecondArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )),
            Arc::new(UInt8Array::from(vec![0u8; rows.len()])),
        ],
    )
    .expect("valid readings batch")
}

pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_with_ext(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out.sort();
    out
}

pub async fn count(t: &fabrik_lake::table::LakeTable) -> Result<usize, Box<dyn std::error::Error>> {
    let ctx = SessionContext::new();
    t.prepare_session(&ctx).await?;
    let df = ctx.read_table(t.provider().await?)?;
    Ok(df.count().await?)
}

/// Asserts that the rows of a sensor_readings data file are sorted by (sensor_id, ts) and
/// that the file declares it (`sorting_columns`).
pub fn assert_sorted_by_sensor_and_ts(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path)?)?;
    assert!(
        builder
            .metadata()
            .row_group(0)
            .sorting_columns()
            .is_some_and(|c| c.len() == 2)
    );
    let mut prev: Option<(String, i64)> = None;
    for batch in builder.build()? {
        let batch = batch?;
        let s = datafusion::arrow::compute::cast(
            batch.column_by_name("sensor_id").ok_or("sensor_id")?,
            &datafusion::arrow::datatypes::DataType::Utf8,
        )?;
        let s = s.as_any().downcast_ref::<StringArray>().ok_or("utf8")?;
        let ts = batch
            .column_by_name("ts")
            .and_then(|c| {
                c.as_any()
                    .downcast_ref::<TimestampMicrosecondArray>()
                    .cloned()
            })
            .ok_or("ts")?;
        for i in 0..batch.num_rows() {
            let cur = (s.value(i).to_string(), ts.value(i));
            if let Some(p) = &prev {
                assert!(p <= &cur, "{p:?} > {cur:?}");
            }
            prev = Some(cur);
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_delta_log_without_a_commit_is_no_table_until_opened() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("lake");
    // A table directory left by a creator that died before its first commit, with a file
    // in the log that is not a commit.
    std::fs::create_dir_all(root.join("orders/_delta_log"))?;
    std::fs::write(root.join("orders/_delta_log/notes.txt"), "not a commit")?;
    let lake = Lake::open(root.to_str().ok_or("utf8")?).await?;
    assert!(lake.tables().await?.is_empty());
    assert!(!lake.has_table("orders").await?);
    assert!(!lake.has_rejects(Table::Orders).await?);
    let t = lake.table(Table::Orders).await?;
    assert_eq!(t.version().await?, 0);
    assert!(lake.has_table("orders").await?);
    assert_eq!(lake.tables().await?, vec![Table::Orders]);
    Ok(())
}

#[tokio::test]
async fn local_lake_creates_delta_tables_with_the_lake_schema() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("lake");
    let lake = Lake::open(root.to_str().ok_or("utf8")?).await?;
    assert!(lake.location().as_str().starts_with("file://"));
    assert!(lake.tables().await?.is_empty());
    let t = lake.table(Table::SensorReadings).await?;
    assert_eq!(t.version().await?, 0);
    assert!(root.join("sensor_readings/_delta_log").is_dir());
    assert_eq!(lake.tables().await?, vec![Table::SensorReadings]);

    let out = t
        .write(
            vec![readings(&[
                ("P01", "S2", T0 + 5, 1.0),
                ("P01", "S1", T0 + 9, 2.0),
                ("P02", "S3", T0 + 86_400_000_000, 3.0),
                ("P01", "S1", T0 + 1, 4.0),
            ])],
            "ingest-1",
        )
        .await?;
    assert_eq!(out.version, 1);
    assert_eq!(out.rows_written, 4);
    // Hive partitions on disk.
    assert!(
        root.join("sensor_readings/plant_id=P01/day=2024-03-01")
            .is_dir()
    );
    assert!(
        root.join("sensor_readings/plant_id=P02/day=2024-03-02")
            .is_dir()
    );
    assert_eq!(
        files_with_ext(&root.join("sensor_readings"), "parquet").len(),
        2
    );

    // Reopen: same version, same schema (Delta stores UInt8 as byte).
    let again = Lake::open(root.to_str().ok_or("utf8")?).await?;
    let t2 = again.table(Table::SensorReadings).await?;
    assert_eq!(t2.version().await?, 1);
    let provider = t2.provider().await?;
    let got = provider.schema();
    let want = lake_schema(Table::SensorReadings);
    assert_eq!(got.fields().len(), want.fields().len());
    for f in want.fields() {
        let g = got.field_with_name(f.name())?;
        assert_eq!(g.is_nullable(), f.is_nullable(), "{}", f.name());
    }
    assert_eq!(count(&t2).await?, 4);
    Ok(())
}

#[tokio::test]
async fn memory_lake_shares_one_store() -> TestResult {
    let lake = Lake::open("memory:///").await?;
    let t = lake.table(Table::Orders).await?;
    assert_eq!(t.version().await?, 0);
    let same = lake.table(Table::Orders).await?;
    assert_eq!(same.version().await?, 0);
    let rejects = lake.rejects(Table::Orders).await?;
    assert_eq!(rejects.version().await?, 0);
    assert_eq!(lake.tables().await?, vec![Table::Orders]);
    Ok(())
}

#[tokio::test]
async fn schemes_without_a_store_are_location_errors() {
    // hdfs needs deltalake's own crate: the error names the feature to enable.
    let err = Lake::open("hdfs://namenode/lake").await.err();
    assert!(
        matches!(&err, Some(Error::Location { why, .. }) if why.contains("deltalake feature `hdfs`")),
        "{err:?}"
    );
    let err = Lake::open("ftp://host/lake").await.err();
    assert!(
        matches!(&err, Some(Error::Location { why, .. }) if why.contains("unsupported URL scheme `ftp`")),
        "{err:?}"
    );
    // Object stores open without contacting the store (tables are made on first use).
    assert!(Lake::open("gs://bucket/lake").await.is_ok());
}

#[tokio::test]
async fn files_are_sorted_zstd_and_delta_encoded() -> TestResult {
    let dir = tempfile::tempdir()?;
    let lake = Lake::open(dir.path().to_str().ok_or("utf8")?).await?;
    let t = lake.table(Table::SensorReadings).await?;
    let mut rows = Vec::new();
    for i in 0..200i64 {
        let s = format!("S{}", (i * 7) % 5);
        rows.push(("P01", s, T0 + (i * 7919) % 1000 * 1_000_000));
    }
    let rows: Vec<(&str, &str, i64, f64)> = rows
        .iter()
        .map(|(p, s, ts)| (*p, s.as_str(), *ts, 1.5))
        .collect();
    t.write(vec![readings(&rows)], "a").await?;
    let files = files_with_ext(dir.path(), "parquet");
    assert_eq!(files.len(), 1);
    let file = std::fs::File::open(&files[0])?;
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
        file,
        ArrowReaderOptions::new()
            .with_page_index_policy(datafusion::parquet::file::metadata::PageIndexPolicy::Required),
    )?;
    let meta = builder.metadata().clone();
    let rg = meta.row_group(0);
    assert!(rg.sorting_columns().is_some_and(|c| !c.is_empty()));
    assert!(meta.column_index().is_some() && meta.offset_index().is_some());
    let schema = builder.parquet_schema().clone();
    let ts_idx = (0..schema.num_columns())
        .find(|i| schema.column(*i).name() == "ts")
        .ok_or("ts column")?;
    let ts_chunk = rg.column(ts_idx);
    assert!(matches!(ts_chunk.compression(), Compression::ZSTD(_)));
    assert!(
        ts_chunk
            .encodings()
            .any(|e| e == Encoding::DELTA_BINARY_PACKED),
        "{:?}",
        ts_chunk.encodings().collect::<Vec<_>>()
    );
    drop(builder);
    assert_sorted_by_sensor_and_ts(&files[0])?;
    Ok(())
}

#[tokio::test]
async fn time_travel_by_version_and_timestamp() -> TestResult {
    let lake = Lake::open("memory:///").await?;
    let before = chrono::Utc::now() - chrono::Duration::seconds(60);
    let t = lake.table(Table::SensorReadings).await?;
    t.write(vec![readings(&[("P01", "S1", T0, 1.0)])], "one")
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    t.write(vec![readings(&[("P01", "S1", T0 + 1, 1.0)])], "two")
        .await?;
    assert_eq!(t.version().await?, 2);
    assert_eq!(count(&t).await?, 2);
    let v1 = t.as_of_version(1).await?;
    assert_eq!(v1.version().await?, 1);
    assert_eq!(count(&v1).await?, 1);
    let at = t.as_of_timestamp(between).await?;
    assert_eq!(at.version().await?, 1);
    assert_eq!(count(&at).await?, 1);
    let err = t.as_of_timestamp(before).await.err();
    assert!(
        matches!(err, Some(Error::BeforeFirstCommit { .. })),
        "{err:?}"
    );
    // Old versions are read-only.
    assert!(
        v1.write(vec![readings(&[("P01", "S9", T0, 1.0)])], "x")
            .await
            .is_err()
    );
    Ok(())
}
