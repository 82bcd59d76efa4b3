//! fabrik's rollup operator against DataFusion's own plan: the same SQL on the same
//! seeded random Parquet files, once through `fabrik_sql::Session` (fabrik's Parquet table
//! and rollup rule) and once through a plain DataFusion `SessionContext` reading the files
//! with its own Parquet table. Nulls, NaN, empty input, a single row, groups straddling
//! row groups, batches, files and partitions, every bucket kind.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Float64Array, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt32Array,
};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use fabrik_sql::Session;

/// xorshift64*: a seeded stream.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One generated row: sensor, ts, value, quantity.
type Row = (Option<String>, Option<i64>, Option<f64>, i32);

#[derive(Clone, Copy)]
struct Messy {
    /// Null keys, null timestamps, null values and NaN.
    nulls: bool,
}

/// Telemetry-like rows sorted by (sensor, ts), nulls last: `rows` rows over `sensors`
/// sensors spread over ~40 days (so days, weeks and months all have several buckets).
fn telemetry(seed: u64, rows: usize, sensors: u64, messy: Messy, tz: Option<&str>) -> RecordBatch {
    let mut rng = Rng(seed);
    let start = 1_767_225_600_000_000i64; // 2026-01-01T00:00:00Z
    let mut data: Vec<Row> = (0..rows)
        .map(|i| {
            let s = rng.below(sensors);
            let sensor = if messy.nulls && s == 0 {
                None
            } else {
                Some(format!("S{s:03}"))
            };
            // Unique timestamps per row (i makes them distinct), so first/last have no ties.
            let ts = if messy.nulls && rng.below(30) == 0 {
                None
            } else {
                Some(start + (rng.below(40 * 86_400) as i64) * 1_000_000 + i as i64)
            };
            let v = match rng.below(25) {
                0 if messy.nulls => None,
                1 if messy.nulls => Some(f64::NAN),
                _ => Some((rng.below(100_000) as f64 - 30_000.0) / 13.0),
            };
            (sensor, ts, v, rng.below(1000) as i32 - 300)
        })
        .collect();
    data.sort_by(|a, b| {
        let key = |x: &Row| (x.0.is_none(), x.0.clone(), x.1.is_none(), x.1);
        key(a).cmp(&key(b))
    });
    let sensor: ArrayRef = Arc::new(StringArray::from(
        data.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
    ));
    let ts = TimestampMicrosecondArray::from(data.iter().map(|r| r.1).collect::<Vec<_>>());
    let ts: ArrayRef = Arc::new(match tz {
        Some(z) => ts.with_timezone(z),
        None => ts,
    });
    let value: ArrayRef = Arc::new(Float64Array::from(
        data.iter().map(|r| r.2).collect::<Vec<_>>(),
    ));
    let qty: ArrayRef = Arc::new(Int32Array::from(
        data.iter().map(|r| r.3).collect::<Vec<_>>(),
    ));
    let machine: ArrayRef = Arc::new(StringArray::from(
        data.iter()
            .map(|r| r.0.as_ref().map(|s| format!("M{}", &s[1..3])))
            .collect::<Vec<_>>(),
    ));
    let schema = Schema::new(vec![
        Field::new("sensor_id", DataType::Utf8, true),
        Field::new("ts", ts.data_type().clone(), true),
        Field::new("value", DataType::Float64, true),
        Field::new("qty", DataType::Int32, true),
        Field::new("machine_id", DataType::Utf8, true),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![sensor, ts, value, qty, machine]).expect("batch")
}

/// Writes `batch` into `files` Parquet files (contiguous slices), row groups of
/// `row_group` rows, each declaring the (sensor_id, ts) order.
fn write_files(dir: &std::path::Path, batch: &RecordBatch, files: usize, row_group: usize) {
    write_files_sorted(dir, batch, files, row_group, true);
}

/// [`write_files`], declaring the (sensor_id, ts) order or no order.
fn write_files_sorted(
    dir: &std::path::Path,
    batch: &RecordBatch,
    files: usize,
    row_group: usize,
    sorted: bool,
) {
    let ascending = |column_idx| SortingColumn {
        column_idx,
        descending: false,
        nulls_first: false,
    };
    let order = sorted.then(|| vec![ascending(0), ascending(1)]);
    write_files_declaring(dir, batch, files, row_group, order);
}

/// Writes `batch` into `files` Parquet files named `part-000.parquet`, … (contiguous
/// slices), row groups of `row_group` rows, each declaring `order`.
fn write_files_declaring(
    dir: &std::path::Path,
    batch: &RecordBatch,
    files: usize,
    row_group: usize,
    order: Option<Vec<SortingColumn>>,
) {
    let per = batch.num_rows().div_ceil(files.max(1)).max(1);
    let mut offset = 0;
    for f in 0..files {
        let len = per.min(batch.num_rows() - offset);
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(row_group))
            .set_sorting_columns(order.clone())
            .build();
        let file = std::fs::File::create(dir.join(format!("part-{f:03}.parquet"))).expect("create");
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).expect("writer");
        w.write(&batch.slice(offset, len)).expect("write");
        w.close().expect("close");
        offset += len;
    }
}

/// All cells of a result, rows sorted, dictionaries decoded.
fn cells(batches: &[RecordBatch]) -> Vec<Vec<ScalarValue>> {
    let mut rows = Vec::new();
    for b in batches {
        let cols: Vec<ArrayRef> = b
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Dictionary(_, v) => cast(c, v).expect("decode dictionary"),
                DataType::Utf8View => cast(c, &DataType::Utf8).expect("view to utf8"),
                _ => Arc::clone(c),
            })
            .collect();
        for r in 0..b.num_rows() {
            rows.push(
                cols.iter()
                    .map(|c| ScalarValue::try_from_array(c, r).expect("scalar"))
                    .collect::<Vec<_>>(),
            );
        }
    }
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    rows
}

fn close(a: &ScalarValue, b: &ScalarValue, tol: f64) -> bool {
    match (a, b) {
        (ScalarValue::Float64(Some(x)), ScalarValue::Float64(Some(y))) => {
            (x.is_nan() && y.is_nan())
                || x == y
                || (x - y).abs() <= tol * x.abs().max(y.abs()).max(1e-9)
        }
        _ => a == b,
    }
}

async fn check(dir: &std::path::Path, sql: &str, partitions: usize, tol: f64) {
    let fabrik = Session::with_config(config(partitions)).expect("session");
    fabrik.register_parquet_file("t", dir).expect("register");
    compare(&fabrik, dir, sql, partitions, tol, true).await;
}

fn config(partitions: usize) -> SessionConfig {
    SessionConfig::new().with_target_partitions(partitions)
}

/// `EXPLAIN sql` on `session`, as a table.
async fn explain(session: &Session, sql: &str) -> String {
    let plan = session
        .query(&format!("EXPLAIN {sql}"))
        .await
        .expect("explain");
    datafusion::arrow::util::pretty::pretty_format_batches(&plan)
        .expect("plan")
        .to_string()
}

/// The number of files fabrik's Parquet scan reads in `plan` (panics without one).
fn scanned_files(plan: &str) -> usize {
    plan.split("FabrikParquetScan: files=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no FabrikParquetScan in\n{plan}"))
}

/// Runs `sql` on `fabrik` (its table `t` registered) and on a plain DataFusion session
/// reading `dir`; asserts that the plans differ as `rollup` says (fabrik's rollup operator
/// or DataFusion's aggregation) and that the results are equal (floats within `tol`).
async fn compare(
    fabrik: &Session,
    dir: &std::path::Path,
    sql: &str,
    partitions: usize,
    tol: f64,
    rollup: bool,
) {
    let plan = explain(fabrik, sql).await;
    assert_eq!(
        plan.contains("FabrikRollupExec"),
        rollup,
        "the rollup rule {} to {sql}:\n{plan}",
        if rollup { "did not apply" } else { "applied" }
    );
    let got = fabrik
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));

    let reference = SessionContext::new_with_config(config(partitions));
    reference
        .register_parquet(
            "t",
            dir.to_str().expect("utf-8 path"),
            ParquetReadOptions::default(),
        )
        .await
        .expect("register reference");
    let expected = reference
        .sql(sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run");

    let (got, expected) = (cells(&got), cells(&expected));
    assert_eq!(got.len(), expected.len(), "{sql}: row count");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.len(), e.len());
        for (a, b) in g.iter().zip(e) {
            assert!(
                close(a, b, tol),
                "{sql}:\n fabrik    {g:?}\n datafusion {e:?}"
            );
        }
    }
}

/// The aggregates compared. DataFusion's grouped `min`/`max` on floats keep a NaN only
/// until the next value arrives (they compare with `partial_cmp`), so their result depends
/// on row order; fabrik's follow IEEE 754 total order (NaN above +∞, as DuckDB, PostgreSQL
/// and Arrow's own `max` kernel do). They are compared on values without NaN here, and
/// NaN's own behaviour is tested in `nan_is_the_largest_value`.
const STATS: &str = "count(*) AS n, count(value) AS nv, sum(value) AS s, \
     min(CASE WHEN isnan(value) THEN NULL ELSE value END) AS lo, \
     max(CASE WHEN isnan(value) THEN NULL ELSE value END) AS hi, \
     avg(value) AS mean, var_samp(value) AS vs, var_pop(value) AS vp, stddev_samp(value) AS sd, \
     stddev_pop(value) AS sdp, sum(qty) AS q, min(qty) AS qlo, max(ts) AS latest, min(ts) AS earliest";

fn bucket_exprs() -> Vec<&'static str> {
    vec![
        "date_bin(INTERVAL '1 minute', ts)",
        "date_bin(INTERVAL '1 hour', ts, TIMESTAMP '2026-01-01T00:15:00Z')",
        "date_bin(INTERVAL '7 days', ts)",
        "date_trunc('second', ts)",
        "date_trunc('hour', ts)",
        "date_trunc('day', ts)",
        "date_trunc('week', ts)",
        "date_trunc('month', ts)",
        "date_trunc('quarter', ts)",
        "date_trunc('year', ts)",
    ]
}

#[tokio::test]
async fn rollups_equal_datafusion_on_messy_data_in_every_bucket_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = telemetry(7, 6_000, 9, Messy { nulls: true }, Some("UTC"));
    write_files(dir.path(), &batch, 3, 700);
    for partitions in [1, 3] {
        for b in bucket_exprs() {
            let sql = format!(
                "SELECT sensor_id, {b} AS bucket, {STATS} FROM t GROUP BY sensor_id, bucket"
            );
            check(dir.path(), &sql, partitions, 1e-9).await;
        }
        let sql = format!(
            "SELECT machine_id, date_bin(INTERVAL '1 day', ts) AS bucket, {STATS}, \
             percentile_cont(value, 0.95) AS p95 FROM t GROUP BY machine_id, bucket"
        );
        check(dir.path(), &sql, partitions, 1e-6).await;
        check(
            dir.path(),
            &format!("SELECT sensor_id, {STATS} FROM t GROUP BY sensor_id"),
            partitions,
            1e-9,
        )
        .await;
        // Rollups under a join: where the join wants its inputs hash-partitioned, the
        // rollup's output is repartitioned as DataFusion's aggregate was.
        let sql = "SELECT a.sensor_id, a.n, b.hi FROM \
                   (SELECT sensor_id, count(*) AS n FROM t GROUP BY sensor_id) a \
                   JOIN (SELECT sensor_id, max(qty) AS hi FROM t GROUP BY sensor_id) b \
                   ON a.sensor_id = b.sensor_id";
        check(dir.path(), sql, partitions, 0.0).await;
        // The same through projections and expressions on the join keys, and rollups under
        // a UNION ALL whose parent aggregates again (DataFusion interleaves the union's
        // hash-partitioned inputs): the partitioning the plan above relies on is kept.
        let sql = "SELECT a.k, a.n, b.hi FROM \
                   (SELECT upper(sensor_id) AS k, count(*) + 1 AS n FROM t GROUP BY sensor_id) a \
                   JOIN (SELECT upper(sensor_id) AS k, max(qty) AS hi FROM t GROUP BY sensor_id) b \
                   ON a.k = b.k ORDER BY a.k";
        check(dir.path(), sql, partitions, 0.0).await;
        let sql = "SELECT sensor_id, sum(n) AS n FROM ( \
                   SELECT sensor_id, count(*) AS n FROM t GROUP BY sensor_id \
                   UNION ALL SELECT sensor_id, count(value) AS n FROM t GROUP BY sensor_id) \
                   GROUP BY sensor_id ORDER BY sensor_id";
        check(dir.path(), sql, partitions, 0.0).await;
        let sql = "SELECT sensor_id, n FROM (SELECT sensor_id, count(*) AS n FROM t GROUP BY sensor_id) \
                   UNION ALL SELECT machine_id, count(*) FROM t GROUP BY machine_id";
        check(dir.path(), sql, partitions, 0.0).await;
    }
}

/// Text keys read as plain strings (DataFusion's own Parquet table: string views, no order
/// declared), as on the lake where a rollup groups by columns the files are not sorted by
/// (a sensor's machine): a time rollup still goes to fabrik's operator, which finds long
/// runs on its own, or maps rows one by one when they are shuffled; without a time bucket
/// DataFusion's aggregation stays.
#[tokio::test]
async fn time_rollups_over_plain_text_keys_without_a_declared_order_equal_datafusion() {
    let batch = telemetry(5, 6_000, 30, Messy { nulls: true }, Some("UTC"));
    // The same rows shuffled: runs of one row.
    let mut rng = Rng(99);
    let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let shuffled = datafusion::arrow::compute::take_record_batch(&batch, &UInt32Array::from(order))
        .expect("shuffle");
    for (layout, rows) in [("sorted", &batch), ("shuffled", &shuffled)] {
        let dir = tempfile::tempdir().expect("tempdir");
        write_files_sorted(dir.path(), rows, 2, 900, layout == "sorted");
        for partitions in [1, 3] {
            let fabrik = Session::with_config(config(partitions)).expect("session");
            fabrik
                .context()
                .register_parquet(
                    "t",
                    dir.path().to_str().expect("utf-8 path"),
                    ParquetReadOptions::default(),
                )
                .await
                .expect("register");
            for sql in [
                format!(
                    "SELECT machine_id, date_bin(INTERVAL '1 hour', ts) AS bucket, {STATS}, \
                     percentile_cont(value, 0.95) AS p95 FROM t GROUP BY machine_id, bucket"
                ),
                format!(
                    "SELECT machine_id, sensor_id, date_trunc('day', ts) AS day, {STATS} \
                     FROM t GROUP BY machine_id, sensor_id, day"
                ),
            ] {
                eprintln!("{layout}, {partitions} partitions: {sql}");
                compare(&fabrik, dir.path(), &sql, partitions, 1e-6, true).await;
            }
            let sql = format!("SELECT machine_id, {STATS} FROM t GROUP BY machine_id");
            compare(&fabrik, dir.path(), &sql, partitions, 1e-9, false).await;
        }
    }
}

#[tokio::test]
async fn first_and_last_value_and_zoned_calendars_equal_datafusion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = telemetry(11, 5_000, 7, Messy { nulls: false }, Some("Europe/Berlin"));
    write_files(dir.path(), &batch, 2, 900);
    for partitions in [1, 2] {
        let sql = "SELECT sensor_id, max(ts) AS ts, last_value(value ORDER BY ts) AS last, \
                   first_value(value ORDER BY ts) AS first FROM t GROUP BY sensor_id";
        check(dir.path(), sql, partitions, 0.0).await;
        for g in ["day", "week", "month", "quarter", "year"] {
            let sql = format!(
                "SELECT sensor_id, date_trunc('{g}', ts) AS bucket, {STATS}, \
                 last_value(value ORDER BY ts) AS last FROM t GROUP BY sensor_id, bucket"
            );
            check(dir.path(), &sql, partitions, 1e-9).await;
        }
    }
}

#[tokio::test]
async fn empty_input_and_a_single_row() {
    for rows in [0, 1] {
        let dir = tempfile::tempdir().expect("tempdir");
        let batch = telemetry(3, rows, 4, Messy { nulls: false }, None);
        write_files(dir.path(), &batch, 1, 100);
        let sql = format!(
            "SELECT sensor_id, date_bin(INTERVAL '1 minute', ts) AS bucket, {STATS} FROM t GROUP BY sensor_id, bucket"
        );
        check(dir.path(), &sql, 2, 1e-9).await;
    }
}

#[tokio::test]
async fn an_ordered_query_stays_ordered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = telemetry(5, 3_000, 6, Messy { nulls: false }, Some("UTC"));
    write_files(dir.path(), &batch, 1, 500);
    let session = Session::with_config(config(2)).expect("session");
    session
        .register_parquet_file("t", dir.path())
        .expect("register");
    let out = session
        .query("SELECT sensor_id, date_bin(INTERVAL '1 day', ts) AS day, count(*) AS n FROM t GROUP BY sensor_id, day ORDER BY sensor_id, day")
        .await
        .expect("query");
    let rows = cells(&out);
    let mut flat = Vec::new();
    for b in &out {
        let s = cast(b.column(0), &DataType::Utf8).expect("utf8");
        let d = cast(
            b.column(1),
            &DataType::Timestamp(TimeUnit::Nanosecond, None),
        )
        .expect("ts");
        for r in 0..b.num_rows() {
            flat.push((
                ScalarValue::try_from_array(&s, r).expect("s"),
                ScalarValue::try_from_array(&d, r).expect("d"),
            ));
        }
    }
    let mut sorted = flat.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    assert_eq!(flat, sorted, "ORDER BY sensor_id, day is honoured");
    assert!(rows.len() > 6);
}

#[tokio::test]
async fn files_that_declare_an_order_are_read_in_the_order_of_its_first_column() {
    let batch = telemetry(9, 3_000, 12, Messy { nulls: false }, Some("UTC"));
    let reversed = {
        let idx = UInt32Array::from_iter_values((0..batch.num_rows() as u32).rev());
        let cols = batch
            .columns()
            .iter()
            .map(|c| take(c.as_ref(), &idx, None).expect("take"))
            .collect();
        RecordBatch::try_new(batch.schema(), cols).expect("reversed")
    };
    for (data, descending) in [(batch, false), (reversed, true)] {
        // Three sorted slices whose file names run against the data: the last slice is
        // named first (as a lake lists a partition's files in no particular order).
        let dir = tempfile::tempdir().expect("tempdir");
        let order = vec![SortingColumn {
            column_idx: 0,
            descending,
            nulls_first: false,
        }];
        write_files_declaring(dir.path(), &data, 3, 400, Some(order));
        let (first, last) = (
            dir.path().join("part-000.parquet"),
            dir.path().join("part-002.parquet"),
        );
        let swap = dir.path().join("swap.tmp");
        std::fs::rename(&first, &swap).expect("rename");
        std::fs::rename(&last, &first).expect("rename");
        std::fs::rename(&swap, &last).expect("rename");

        // One partition, no ORDER BY: the rows come out in the order the scan reads them.
        let session = Session::with_config(config(1)).expect("session");
        session
            .register_parquet_file("t", dir.path())
            .expect("register");
        let out = session
            .query("SELECT sensor_id, ts FROM t")
            .await
            .expect("query");
        let mut read = Vec::new();
        for b in &out {
            let s = cast(b.column(0), &DataType::Utf8).expect("utf8");
            let s = s.as_any().downcast_ref::<StringArray>().expect("strings");
            read.extend(s.iter().map(|v| v.map(str::to_owned)));
        }
        let expected = data
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("strings")
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect::<Vec<_>>();
        assert_eq!(read.len(), expected.len());
        assert!(
            read == expected,
            "files are read by their first sensor_id (descending: {descending}), not by name"
        );
    }
}

#[tokio::test]
async fn nan_is_the_largest_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = telemetry(13, 2_000, 3, Messy { nulls: true }, Some("UTC"));
    write_files(dir.path(), &batch, 2, 300);
    let session = Session::with_config(config(2)).expect("session");
    session
        .register_parquet_file("t", dir.path())
        .expect("register");
    let sql = "SELECT sensor_id, max(value) AS hi, min(value) AS lo, \
               bool_or(isnan(value)) AS has_nan, min(CASE WHEN isnan(value) THEN NULL ELSE value END) AS lo_num \
               FROM t GROUP BY sensor_id";
    // bool_or is not a rollup aggregate: compute the flags with DataFusion, the extremes
    // through the rollup.
    let flags = cells(&session.query(sql).await.expect("flags"));
    let extremes = cells(
        &session
            .query("SELECT sensor_id, max(value) AS hi, min(value) AS lo FROM t GROUP BY sensor_id")
            .await
            .expect("extremes"),
    );
    assert_eq!(flags.len(), extremes.len());
    let mut with_nan = 0;
    for (f, e) in flags.iter().zip(&extremes) {
        assert_eq!(f[0], e[0]);
        if f[3] == ScalarValue::Boolean(Some(true)) {
            with_nan += 1;
            assert!(
                matches!(e[1], ScalarValue::Float64(Some(x)) if x.is_nan()),
                "max with a NaN is NaN: {e:?}"
            );
            assert_eq!(e[2], f[4], "min ignores NaN when there are numbers");
        }
    }
    assert!(with_nan > 0, "the data has NaN");
}

/// The latest value per sensor over one sorted file reads in run-end mode (the scan
/// decodes the value columns only at the last row of each sensor's run in a row group):
/// the same result as DataFusion, and `EXPLAIN ANALYZE` shows the scan returning exactly
/// one row per (row group, sensor) — runs go on across the reader's 16 Ki-row batches and
/// across row groups. With null timestamps a row group is read whole, and the result is
/// still DataFusion's (there only `max(ts)` is compared: rows with a null `ts` tie for the
/// last place of `ORDER BY ts`, and which of them DataFusion keeps depends on its
/// partitions).
#[tokio::test]
async fn the_latest_value_scan_returns_one_row_per_run_and_row_group() {
    for nulls in [false, true] {
        let sql = if nulls {
            "SELECT sensor_id, max(ts) AS ts FROM t GROUP BY sensor_id"
        } else {
            "SELECT sensor_id, max(ts) AS ts, last_value(value ORDER BY ts) AS last \
             FROM t GROUP BY sensor_id"
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let rows = 70_000;
        let batch = telemetry(29, rows, 5, Messy { nulls }, Some("UTC"));
        let row_group = 40_000;
        write_files(dir.path(), &batch, 1, row_group);
        check(dir.path(), sql, 2, 0.0).await;

        let session = Session::with_config(config(2)).expect("session");
        session
            .register_parquet_file("t", dir.path())
            .expect("register");
        // Run the physical plan, then read the scan's own row count.
        let ctx = session.context();
        let plan = ctx
            .sql(sql)
            .await
            .expect("plan")
            .create_physical_plan()
            .await
            .expect("physical plan");
        datafusion::physical_plan::collect(Arc::clone(&plan), ctx.task_ctx())
            .await
            .expect("run");
        let mut scan = None;
        plan.apply(|node| {
            if node.name() == "FabrikParquetScan" {
                scan = Some(Arc::clone(node));
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .expect("walk the plan");
        let scan = scan.unwrap_or_else(|| panic!("no FabrikParquetScan in the plan of {sql}"));
        let shown = datafusion::physical_plan::displayable(scan.as_ref())
            .one_line()
            .to_string();
        assert!(shown.contains("run_ends=[sensor_id]"), "{shown}");
        let output_rows = scan
            .metrics()
            .and_then(|m| m.output_rows())
            .expect("the scan counts its rows");
        // The distinct sensors of each row group, counted from the data.
        let sensors = cast(batch.column(0), &DataType::Utf8).expect("utf8");
        let mut runs = 0;
        for start in (0..rows).step_by(row_group) {
            let len = row_group.min(rows - start);
            let part = sensors.slice(start, len);
            let ts = batch.column(1).slice(start, len);
            if nulls && ts.null_count() > 0 {
                runs += len; // read whole
                continue;
            }
            let mut distinct: Vec<ScalarValue> = (0..len)
                .map(|r| ScalarValue::try_from_array(&part, r).expect("sensor"))
                .collect();
            distinct.dedup();
            runs += distinct.len();
        }
        assert_eq!(output_rows, runs, "nulls={nulls}: {shown}");
    }
}

/// A lake whose `sensor_readings` holds a small plant's readings written in two commits,
/// rows with `in_first(row)` in the first and the rest in the second, so a sensor's runs
/// are in more than one file; and a session with the lake registered.
async fn two_commit_lake(
    in_first: impl Fn(u32) -> bool,
) -> (tempfile::TempDir, fabrik_lake::LakeTable, Session) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let lake = fabrik_lake::Lake::open(&tmp.path().join("lake").to_string_lossy())
        .await
        .expect("lake");
    let table = lake
        .table(fabrik_model::Table::SensorReadings)
        .await
        .expect("sensor_readings");
    let plant = fabrik_datagen::Plant::new(&fabrik_datagen::PlantConfig::at_scale(0.005, 3))
        .expect("plant");
    let all = plant.telemetry_sorted().expect("readings");
    let all = datafusion::arrow::compute::concat_batches(&all[0].schema(), &all).expect("concat");
    let (first, rest): (Vec<u32>, Vec<u32>) =
        (0..all.num_rows() as u32).partition(|&i| in_first(i));
    for (rows, app) in [(first, "r-1"), (rest, "r-2")] {
        let part = datafusion::arrow::compute::take_record_batch(&all, &UInt32Array::from(rows))
            .expect("part");
        table.write(vec![part], app).await.expect("write");
    }
    let session = Session::with_config(config(2)).expect("session");
    session.register_lake(&lake).await.expect("register lake");
    (tmp, table, session)
}

/// On a lake table the latest value per sensor reads in run-end mode too: the rule puts
/// fabrik's scan of the snapshot's files in place of DataFusion's (the files are local and
/// read whole, without a filter), and the result equals the same query through
/// DataFusion's scan (kept there by a filter on `ts` that holds for every row). Two
/// commits, each with half of every sensor's readings, put the runs of a sensor in two
/// files.
#[tokio::test]
async fn the_latest_value_on_a_lake_table_reads_in_run_end_mode() {
    // Every other row in each commit.
    let (_tmp, _table, session) = two_commit_lake(|i| i % 2 == 0).await;
    let sql = "SELECT sensor_id, max(ts) AS ts, last_value(value ORDER BY ts) AS last \
               FROM sensor_readings GROUP BY sensor_id ORDER BY sensor_id";
    let reference = "SELECT sensor_id, max(ts) AS ts, last_value(value ORDER BY ts) AS last \
               FROM sensor_readings WHERE ts > TIMESTAMP '1970-01-01T00:00:00Z' \
               GROUP BY sensor_id ORDER BY sensor_id";
    let plan = explain(&session, sql).await;
    assert!(plan.contains("run_ends=[sensor_id]"), "{plan}");
    // fabrik's scan reads the snapshot's files, more than one.
    assert!(scanned_files(&plan) > 1, "{plan}");
    let plan = explain(&session, reference).await;
    assert!(!plan.contains("run_ends"), "{plan}");

    let got = cells(&session.query(sql).await.expect("run"));
    let expected = cells(&session.query(reference).await.expect("run reference"));
    assert!(got.len() > 5, "{} sensors", got.len());
    assert_eq!(got.len(), expected.len(), "row count");
    for (g, e) in got.iter().zip(&expected) {
        assert!(
            g.iter().zip(e).all(|(a, b)| close(a, b, 0.0)),
            "\n run-end scan {g:?}\n reference    {e:?}"
        );
    }
}

#[tokio::test]
async fn a_rollup_on_a_lake_table_reads_its_files_with_fabriks_scan_and_equals_datafusion() {
    // Every third row in the first commit, the rest in the second.
    let (_tmp, table, session) = two_commit_lake(|i| i % 3 == 0).await;
    // DataFusion alone, on the lake table's own provider.
    let reference = SessionContext::new_with_config(config(2));
    table.prepare_session(&reference).await.expect("prepare");
    reference
        .register_table(
            "sensor_readings",
            table.scan_provider().await.expect("provider"),
        )
        .expect("register");

    for sql in [
        "SELECT sensor_id, date_bin(INTERVAL '1 minute', ts) AS bucket, count(*) AS n, \
         min(value) AS lo, max(value) AS hi, avg(value) AS mean, stddev(value) AS sd \
         FROM sensor_readings GROUP BY 1, 2",
        "SELECT machine_id, metric, date_trunc('hour', ts) AS hour, sum(value) AS total, \
         count(value) AS n FROM sensor_readings GROUP BY 1, 2, 3",
    ] {
        let plan = explain(&session, sql).await;
        assert!(plan.contains("FabrikRollupExec"), "{plan}");
        assert!(!plan.contains("DataSourceExec"), "{plan}");
        assert!(scanned_files(&plan) > 1, "{plan}");

        let got = cells(&session.query(sql).await.expect("run"));
        let expected = cells(
            &reference
                .sql(sql)
                .await
                .expect("plan reference")
                .collect()
                .await
                .expect("run reference"),
        );
        assert!(got.len() > 50, "{} groups", got.len());
        assert_eq!(got.len(), expected.len(), "group count");
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                g.iter().zip(e).all(|(a, b)| close(a, b, 1e-9)),
                "\n fabrik     {g:?}\n DataFusion {e:?}"
            );
        }
    }
}
