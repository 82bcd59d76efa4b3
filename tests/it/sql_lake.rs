//! SQL over the lake: the sorted scan of `Session::register_lake` against deltalake's own
//! provider (same rows), its plans (the telemetry order declared, no sort), and time travel
//! from SQL (`lake_as_of`, `lake_history`).

use std::path::Path;

use fabrik::datafusion::arrow::array::{AsArray, RecordBatch};
use fabrik::datafusion::arrow::compute::cast;
use fabrik::datafusion::arrow::datatypes::{DataType, Int64Type, TimestampMicrosecondType};
use fabrik::datafusion::arrow::util::display::array_value_to_string;
use fabrik::datafusion::arrow::util::pretty::pretty_format_batches;
use fabrik::datafusion::prelude::SessionContext;
use fabrik::datagen::{Format, PlantConfig, generate};
use fabrik::lake::{IngestOptions, Lake, ingest};
use fabrik::model::Table;
use fabrik::sql::{Error, Session};

/// A lake of a small generated plant (two plants, two days, all tables ingested from
/// Parquet) plus one commit that adds a second, overlapping file to every telemetry
/// partition. Returns the temp dir, the lake and the telemetry version before that commit.
async fn plant_lake() -> (tempfile::TempDir, Lake, i64) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("plant");
    let config = PlantConfig {
        plants: 2,
        days: 2,
        sample_period_ms: 60_000,
        order_history_days: 60,
        ..PlantConfig::tiny(11)
    };
    generate(&config, &out, &[Format::Parquet], &mut |_| {}).expect("generate");
    let lake = Lake::open(utf8(&tmp.path().join("lake")))
        .await
        .expect("lake");
    for table in Table::ALL {
        let input = out.join("parquet").join(table.name());
        if !input.is_dir() {
            continue;
        }
        let report = ingest(
            &lake,
            table,
            &[utf8(&input).to_string()],
            &IngestOptions::default(),
            &mut |_, _| {},
        )
        .await
        .expect("ingest");
        assert!(report.reconciles(), "{report:?}");
    }
    let readings = lake.table(Table::SensorReadings).await.expect("table");
    let before = readings.version().await.expect("version");
    // Half the readings again, 30 s later (new keys), in the same partitions: a second file
    // per partition whose (sensor_id, ts) range overlaps the first one's.
    let ctx = reference(&lake).await;
    let shifted = ctx
        .sql(
            "SELECT plant_id, line_id, machine_id, sensor_id, metric, \
             ts + INTERVAL '30 seconds' AS ts, value + 1 AS value, quality \
             FROM sensor_readings \
             WHERE date_part('minute', ts) < 30 AND date_part('hour', ts) < 23",
        )
        .await
        .expect("sql")
        .collect()
        .await
        .expect("collect");
    let written = readings
        .write(shifted, "test:overlapping-files")
        .await
        .expect("write");
    assert!(
        written.rows_written > 0 && written.files_added >= 4,
        "{written:?}"
    );
    (tmp, lake, before)
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// A plain DataFusion session over deltalake's own providers of the lake's tables.
async fn reference(lake: &Lake) -> SessionContext {
    let ctx = SessionContext::new();
    for table in lake.tables().await.expect("tables") {
        let t = lake.table(table).await.expect("table");
        t.prepare_session(&ctx).await.expect("prepare");
        ctx.register_table(table.name(), t.provider().await.expect("provider"))
            .expect("register");
    }
    ctx
}

fn text(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).expect("pretty").to_string()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

async fn explain(session: &Session, sql: &str) -> String {
    text(&session.query(&format!("EXPLAIN {sql}")).await.expect(sql))
}

fn single_i64(batches: &[RecordBatch]) -> i64 {
    assert_eq!(rows(batches), 1, "{}", text(batches));
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// Every row of every table, and queries filtering on partitions, time ranges and both,
/// give exactly what deltalake's provider gives.
#[tokio::test]
async fn sorted_scan_gives_the_rows_of_deltalakes_provider() {
    let (_tmp, lake, _) = plant_lake().await;
    let session = Session::new().expect("session");
    let tables = session.register_lake(&lake).await.expect("register");
    assert_eq!(tables, Table::ALL.to_vec());
    let ctx = reference(&lake).await;

    let mut queries: Vec<String> = Table::ALL
        .iter()
        .map(|t| {
            // Every column, in a total order (the key, then every column).
            let schema = fabrik::lake::table::lake_schema(*t);
            let all: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let mut order: Vec<&str> = t.key().to_vec();
            order.extend(all.into_iter().filter(|c| !t.key().contains(c)));
            format!("SELECT * FROM {t} ORDER BY {}", order.join(", "))
        })
        .collect();
    queries.extend(
        [
            "SELECT count(*), min(ts), max(ts), count(DISTINCT sensor_id) FROM sensor_readings",
            "SELECT sensor_id, ts, value FROM sensor_readings ORDER BY sensor_id, ts",
            "SELECT * FROM sensor_readings WHERE plant_id = 'P02' AND day = DATE '2025-03-04' ORDER BY sensor_id, ts",
            "SELECT plant_id, day, count(*), min(ts), max(ts) FROM sensor_readings GROUP BY plant_id, day ORDER BY plant_id, day",
            "SELECT sensor_id, ts, value FROM sensor_readings \
             WHERE ts >= TIMESTAMP '2025-03-03T06:00:00Z' AND ts < TIMESTAMP '2025-03-03T06:20:00Z' ORDER BY sensor_id, ts",
            "SELECT count(*) FROM sensor_readings WHERE ts > TIMESTAMP '2030-01-01T00:00:00Z'",
            "SELECT sensor_id, ts FROM sensor_readings \
             WHERE day BETWEEN DATE '2025-03-03' AND DATE '2025-03-03' AND quality = 0 AND value > 50 ORDER BY sensor_id, ts",
            "SELECT count(*) FROM sensor_readings WHERE plant_id = 'P01' OR value > 50",
            "SELECT count(*) FROM sensor_readings WHERE date_part('day', day) = 4 AND plant_id LIKE '%2'",
            "SELECT count(*) FROM sensor_readings WHERE plant_id IN ('P01', 'P09')",
            "SELECT count(*) FROM (SELECT * FROM sensor_readings LIMIT 10)",
            "SELECT machine_id, state, count(*) FROM machine_states \
             WHERE month = DATE '2025-03-01' GROUP BY machine_id, state ORDER BY machine_id, state",
            "SELECT month, count(*), sum(quantity) FROM orders WHERE month >= DATE '2025-02-01' GROUP BY month ORDER BY month",
            "SELECT order_id, created_at FROM orders \
             WHERE created_at >= TIMESTAMP '2025-02-15T00:00:00Z' AND created_at < TIMESTAMP '2025-02-16T00:00:00Z' ORDER BY order_id",
        ]
        .map(str::to_string),
    );
    let mut non_empty = 0;
    for sql in &queries {
        let ours = session.query(sql).await.expect(sql);
        let theirs = ctx.sql(sql).await.expect(sql).collect().await.expect(sql);
        assert_eq!(text(&ours), text(&theirs), "{sql}");
        let zero_count = rows(&ours) == 1
            && ours.iter().any(|b| {
                b.num_rows() == 1
                    && b.num_columns() == 1
                    && b.column(0)
                        .as_primitive_opt::<Int64Type>()
                        .map(|c| c.value(0))
                        == Some(0)
            });
        if rows(&ours) > 0 && !zero_count {
            non_empty += 1;
        }
    }
    // Only the query for 2030 selects nothing.
    assert_eq!(
        non_empty,
        queries.len() - 1,
        "the queries must select something"
    );
}

/// `ORDER BY sensor_id, ts` on the telemetry merges the sorted files instead of sorting.
#[tokio::test]
async fn ordered_telemetry_scan_declares_the_order_and_does_not_sort() {
    let (_tmp, lake, _) = plant_lake().await;
    let session = Session::new().expect("session");
    session.register_lake(&lake).await.expect("register");
    let sql = "SELECT sensor_id, ts, value FROM sensor_readings ORDER BY sensor_id, ts";
    let plan = explain(&session, sql).await;
    println!("EXPLAIN {sql} (fabrik's sorted scan)\n{plan}");
    assert!(
        plan.contains("output_ordering=[sensor_id@0 ASC NULLS LAST, ts@1 ASC NULLS LAST]"),
        "{plan}"
    );
    assert!(!plan.contains("SortExec"), "{plan}");
    assert!(plan.contains("SortPreservingMergeExec"), "{plan}");

    // The same query through deltalake's provider sorts (the situation before).
    let ctx = reference(&lake).await;
    let before = text(
        &ctx.sql(&format!("EXPLAIN {sql}"))
            .await
            .expect("explain")
            .collect()
            .await
            .expect("explain"),
    );
    println!("EXPLAIN {sql} (deltalake's provider)\n{before}");
    assert!(before.contains("SortExec"), "{before}");

    // A partition filter keeps the order; a filter on ts prunes files by their statistics.
    let one_day = explain(
        &session,
        "SELECT sensor_id, ts, value FROM sensor_readings WHERE day = DATE '2025-03-04' \
         AND ts < TIMESTAMP '2025-03-04T12:00:00Z' ORDER BY sensor_id, ts",
    )
    .await;
    assert!(!one_day.contains("SortExec"), "{one_day}");
    let none = explain(
        &session,
        "SELECT sensor_id FROM sensor_readings WHERE ts > TIMESTAMP '2030-01-01T00:00:00Z'",
    )
    .await;
    assert!(none.contains("EmptyExec"), "no file can match:\n{none}");

    // The merged output is really in order.
    let out = session.query(sql).await.expect("query");
    let mut last: Option<(String, i64)> = None;
    for b in &out {
        let sensor = cast(b.column(0), &DataType::Utf8).expect("cast");
        let sensor = sensor.as_string::<i32>();
        let ts = b.column(1).as_primitive::<TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            let row = (sensor.value(i).to_string(), ts.value(i));
            if let Some(prev) = &last {
                assert!(prev < &row, "{prev:?} then {row:?}");
            }
            last = Some(row);
        }
    }
    assert!(last.is_some());
}

/// `lake_as_of` by version and by moment, `lake_history`, and their errors.
#[tokio::test]
async fn time_travel_from_sql() {
    let (_tmp, lake, before) = plant_lake().await;
    let session = Session::new().expect("session");
    session.register_lake(&lake).await.expect("register");
    let count = |sql: String| {
        let session = session.clone();
        async move { single_i64(&session.query(&sql).await.expect(&sql)) }
    };
    let now = count("SELECT count(*) FROM sensor_readings".into()).await;
    let then = count(format!(
        "SELECT count(*) FROM lake_as_of('sensor_readings', {before})"
    ))
    .await;
    assert!(
        0 < then && then < now,
        "{then} rows at v{before}, {now} now"
    );
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM lake_as_of('sensor_readings', {})",
            before + 1
        ))
        .await,
        now
    );
    // Partition filters and the sorted scan work on old versions too.
    let sql = format!(
        "SELECT sensor_id, ts FROM lake_as_of('sensor_readings', {before}) \
         WHERE plant_id = 'P01' ORDER BY sensor_id, ts"
    );
    let plan = explain(&session, &sql).await;
    assert!(!plan.contains("SortExec"), "{plan}");
    assert!(rows(&session.query(&sql).await.expect("old version")) > 0);

    // History: one row per commit, the last is our overlapping write.
    let history = session
        .query("SELECT version, timestamp, operation, app_id, files_added, rows_added FROM lake_history('sensor_readings') ORDER BY version")
        .await
        .expect("history");
    let h = text(&history);
    assert_eq!(rows(&history) as i64, before + 2, "{h}");
    assert!(
        h.contains("CREATE TABLE") && h.contains("test:overlapping-files"),
        "{h}"
    );
    let last_two = session
        .query("SELECT version FROM lake_history('sensor_readings', 2) ORDER BY version")
        .await
        .expect("history");
    assert_eq!(rows(&last_two), 2);

    // By moment: the timestamp of version `before` reads version `before`; a string works.
    let at = session
        .query(&format!(
            "SELECT timestamp FROM lake_history('sensor_readings') WHERE version = {before}"
        ))
        .await
        .expect("history");
    let moment = array_value_to_string(at[0].column(0), 0).expect("moment");
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM lake_as_of('sensor_readings', TIMESTAMP '{moment}')"
        ))
        .await,
        then
    );
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM lake_as_of('sensor_readings', '{moment}')"
        ))
        .await,
        then
    );
    assert_eq!(
        count("SELECT count(*) FROM lake_as_of('orders', '2100-01-01T00:00:00Z')".into()).await,
        count("SELECT count(*) FROM orders".into()).await
    );

    // Errors: typed, and saying what to do.
    let err = session
        .query("SELECT * FROM lake_as_of('sensor_reading', 1)")
        .await
        .expect_err("unknown table");
    assert!(
        matches!(&err, Error::UnknownLakeTable { name, available, .. }
            if name == "sensor_reading" && available.len() == Table::ALL.len()),
        "{err}"
    );
    assert!(err.to_string().contains("sensor_readings"), "{err}");
    let err = session
        .query("SELECT * FROM lake_as_of('sensor_readings', 999)")
        .await
        .expect_err("no such version");
    assert!(
        matches!(err, Error::NoSuchVersion { requested: 999, latest, .. } if latest == before + 1),
        "{err}"
    );
    let err = session
        .query("SELECT * FROM lake_as_of('orders', TIMESTAMP '2000-01-01T00:00:00Z')")
        .await
        .expect_err("before the first commit");
    assert!(
        matches!(
            err,
            Error::Lake(fabrik::lake::Error::BeforeFirstCommit { .. })
        ),
        "{err}"
    );
    for (sql, what) in [
        ("SELECT * FROM lake_as_of('orders', 1.5)", "argument 2"),
        (
            "SELECT * FROM lake_as_of('orders', 'last tuesday')",
            "argument 2",
        ),
        ("SELECT * FROM lake_as_of(3, 1)", "argument 1"),
        ("SELECT * FROM lake_as_of('orders')", "1 argument"),
        ("SELECT * FROM lake_history('orders', -1)", "argument 2"),
    ] {
        let err = session.query(sql).await.expect_err(sql);
        assert!(
            matches!(
                err,
                Error::TableFunctionArgument { .. } | Error::TableFunctionArity { .. }
            ) && err.to_string().contains(what),
            "{sql}: {err}"
        );
    }
}

/// A `memory:///` lake: registered (its object store too), ordered, time-travelled.
#[tokio::test]
async fn memory_lake_is_queryable_with_order_and_time_travel() {
    let lake = Lake::open("memory:///").await.expect("lake");
    let t = lake.table(Table::SensorReadings).await.expect("table");
    let ctx = SessionContext::new();
    // Two writes whose files overlap in (sensor_id, ts).
    for (app, offset) in [("a", 0), ("b", 1)] {
        let batch = ctx
            .sql(&format!(
                "SELECT 'P01' AS plant_id, 'P01-L1' AS line_id, 'P01-L1-M1' AS machine_id, \
                 'S' || CAST(value % 3 AS VARCHAR) AS sensor_id, 'temperature' AS metric, \
                 to_timestamp_micros(1767225600000000 + value * 2000000 + {offset}) AS ts, \
                 CAST(value AS DOUBLE) AS value, CAST(0 AS TINYINT) AS quality \
                 FROM generate_series(1, 30) AS g(value)"
            ))
            .await
            .expect("sql")
            .collect()
            .await
            .expect("batch");
        t.write(batch, app).await.expect("write");
    }
    let session = Session::new().expect("session");
    session.register_lake(&lake).await.expect("register");
    let sql = "SELECT sensor_id, ts FROM sensor_readings ORDER BY sensor_id, ts";
    let plan = explain(&session, sql).await;
    assert!(
        plan.contains("output_ordering=[sensor_id@0 ASC NULLS LAST, ts@1 ASC NULLS LAST]")
            && !plan.contains("SortExec"),
        "{plan}"
    );
    assert_eq!(rows(&session.query(sql).await.expect("query")), 60);
    assert_eq!(
        single_i64(
            &session
                .query("SELECT count(*) FROM lake_as_of('sensor_readings', 1)")
                .await
                .expect("v1")
        ),
        30
    );
}
