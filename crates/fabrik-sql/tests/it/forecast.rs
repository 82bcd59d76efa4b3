//! Demand series and forecasts from SQL, and the lake's `demand_forecast` table.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use fabrik_forecast::series::{Fill, Frequency};
use fabrik_model::Table;
use fabrik_sql::Session;
use fabrik_sql::forecast::{DemandLevel, write_demand_forecast};

/// Order lines: (created_at, family, sku, capacity_kg, color, quantity, status).
const ORDERS: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    // Week of Monday 2026-01-05.
    (
        "2026-01-05T09:00:00Z",
        "washing_machine",
        "WM-08",
        "8",
        "white",
        "1",
        "placed",
    ),
    (
        "2026-01-11T23:59:59Z",
        "washing_machine",
        "WM-09",
        "9",
        "graphite",
        "2",
        "delivered",
    ),
    (
        "2026-01-07T12:00:00Z",
        "fridge",
        "FR-1",
        "",
        "white",
        "1",
        "placed",
    ),
    // Week of 2026-01-12: only a cancelled order (does not count).
    (
        "2026-01-13T08:00:00Z",
        "washing_machine",
        "WM-08",
        "8",
        "white",
        "5",
        "cancelled",
    ),
    // Week of 2026-01-19: nothing. Week of 2026-01-26:
    (
        "2026-01-26T00:00:00Z",
        "washing_machine",
        "WM-08",
        "8",
        "white",
        "3",
        "shipped",
    ),
    (
        "2026-02-01T10:00:00Z",
        "fridge",
        "FR-1",
        "",
        "graphite",
        "2",
        "placed",
    ),
];

/// The orders above as a batch of the `orders` schema (other columns filled plausibly).
fn orders_batch() -> RecordBatch {
    let schema = Table::Orders.schema();
    let n = ORDERS.len();
    let text = |f: &dyn Fn(usize) -> String| -> Vec<Option<String>> {
        (0..n)
            .map(|i| Some(f(i)).filter(|s| !s.is_empty()))
            .collect()
    };
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| {
            let values = match field.name().as_str() {
                "order_id" => text(&|i| i.to_string()),
                "customer_id" => text(&|i| format!("C{i}")),
                "created_at" => text(&|i| ORDERS[i].0.to_string()),
                "channel" => text(&|_| "app".to_string()),
                "region" => text(&|i| if i % 2 == 0 { "north" } else { "south" }.to_string()),
                "product_family" => text(&|i| ORDERS[i].1.to_string()),
                "sku" => text(&|i| ORDERS[i].2.to_string()),
                "capacity_kg" => text(&|i| ORDERS[i].3.to_string()),
                "color" => text(&|i| ORDERS[i].4.to_string()),
                "motor" => text(&|_| "inverter".to_string()),
                "panel" => text(&|_| "touch".to_string()),
                "quantity" => text(&|i| ORDERS[i].5.to_string()),
                "unit_price" => text(&|_| "499.0".to_string()),
                "promised_at" => text(&|_| String::new()),
                "status" => text(&|i| ORDERS[i].6.to_string()),
                other => panic!("orders has a column {other} this test does not fill"),
            };
            let strings: ArrayRef = Arc::new(StringArray::from(values));
            cast(&strings, field.data_type()).expect("cast test column")
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("orders batch")
}

fn session_with_orders() -> Session {
    let session = Session::new().expect("session");
    let batch = orders_batch();
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).expect("memtable");
    session
        .context()
        .register_table("orders", Arc::new(table))
        .expect("register");
    session
}

async fn pretty(session: &Session, sql: &str) -> String {
    let batches = session
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    pretty_format_batches(&batches).expect("pretty").to_string()
}

#[tokio::test]
async fn demand_series_are_gap_filled_with_zeros_from_the_first_sale() {
    let session = session_with_orders();
    let got = pretty(
        &session,
        "SELECT * FROM demand_series('capacity_kg', 'week') ORDER BY series_id, ts",
    )
    .await;
    // Cancelled orders do not count; the fridge has no capacity (null) and no series;
    // weeks without orders are 0; every series runs to the last week with any order.
    let expected = "\
+-------------------------------+----------------------+-----+
| series_id                     | ts                   | y   |
+-------------------------------+----------------------+-----+
| washing_machine/capacity_kg=8 | 2026-01-05T00:00:00Z | 1.0 |
| washing_machine/capacity_kg=8 | 2026-01-12T00:00:00Z | 0.0 |
| washing_machine/capacity_kg=8 | 2026-01-19T00:00:00Z | 0.0 |
| washing_machine/capacity_kg=8 | 2026-01-26T00:00:00Z | 3.0 |
| washing_machine/capacity_kg=9 | 2026-01-05T00:00:00Z | 2.0 |
| washing_machine/capacity_kg=9 | 2026-01-12T00:00:00Z | 0.0 |
| washing_machine/capacity_kg=9 | 2026-01-19T00:00:00Z | 0.0 |
| washing_machine/capacity_kg=9 | 2026-01-26T00:00:00Z | 0.0 |
+-------------------------------+----------------------+-----+";
    assert_eq!(got, expected);

    // Families by month, through the Rust API.
    let set = session
        .demand_series(DemandLevel::Family, Frequency::Month, Fill::default())
        .await
        .expect("series");
    let ids: Vec<(&str, Vec<f64>)> = set
        .series
        .iter()
        .map(|s| (s.id.as_str(), s.values.clone()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("fridge", vec![1.0, 2.0]),
            ("washing_machine", vec![6.0, 0.0])
        ]
    );
}

/// 60 weeks of two series: `a` counts 1, 2, 3, … and `b` repeats 10, 20.
fn history_session() -> Session {
    let session = Session::new().expect("session");
    let mut ids = Vec::new();
    let mut ts = Vec::new();
    let mut y = Vec::new();
    for id in ["a", "b"] {
        for w in 0..60i64 {
            ids.push(id.to_string());
            // Mondays from 2024-01-01.
            ts.push((19_723 + 7 * w) * 86_400_000_000);
            y.push(if id == "a" {
                (w + 1) as f64
            } else if w % 2 == 0 {
                10.0
            } else {
                20.0
            });
        }
    }
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(StringArray::from(ids)) as ArrayRef),
        (
            "ts",
            Arc::new(
                datafusion::arrow::array::TimestampMicrosecondArray::from(ts).with_timezone("UTC"),
            ),
        ),
        (
            "y",
            Arc::new(datafusion::arrow::array::Float64Array::from(y)),
        ),
    ])
    .expect("batch");
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).expect("memtable");
    session
        .context()
        .register_table("history", Arc::new(table))
        .expect("register");
    session
}

#[tokio::test]
async fn forecast_gives_each_series_with_its_intervals() {
    let session = history_session();
    // The seasonal naive with a 52-week season repeats the value of 52 weeks before:
    // a's week 61 is week 9's value (9), week 62 week 10's (10).
    let got = pretty(
        &session,
        "SELECT series_id, ts, step, model, mean FROM forecast('SELECT id, ts, y FROM history', 'week', 2, 'naive', '80') ORDER BY series_id, step",
    )
    .await;
    let expected = "\
+-----------+----------------------+------+---------------+------+
| series_id | ts                   | step | model         | mean |
+-----------+----------------------+------+---------------+------+
| a         | 2025-02-24T00:00:00Z | 1    | SeasonalNaive | 9.0  |
| a         | 2025-03-03T00:00:00Z | 2    | SeasonalNaive | 10.0 |
| b         | 2025-02-24T00:00:00Z | 1    | SeasonalNaive | 10.0 |
| b         | 2025-03-03T00:00:00Z | 2    | SeasonalNaive | 20.0 |
+-----------+----------------------+------+---------------+------+";
    assert_eq!(got, expected);
    // Interval columns follow the levels asked for, and bracket the mean.
    let batches = session
        .query("SELECT mean, lo_80, hi_80, lo_95, hi_95 FROM forecast('SELECT id, ts, y FROM history', 'week', 4)")
        .await
        .expect("forecast with the default model and levels");
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 8, "2 series × 4 steps");
    for b in &batches {
        let col = |i: usize| {
            b.column(i)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Float64Array>()
                .expect("f64")
                .clone()
        };
        let (mean, lo80, hi80, lo95, hi95) = (col(0), col(1), col(2), col(3), col(4));
        for r in 0..b.num_rows() {
            assert!(
                lo95.value(r) <= lo80.value(r)
                    && lo80.value(r) <= mean.value(r)
                    && mean.value(r) <= hi80.value(r)
                    && hi80.value(r) <= hi95.value(r),
                "row {r}: {} {} {} {} {}",
                lo95.value(r),
                lo80.value(r),
                mean.value(r),
                hi80.value(r),
                hi95.value(r)
            );
        }
    }
}

#[tokio::test]
async fn forecast_arguments_are_checked_while_planning() {
    let session = history_session();
    for (sql, needle) in [
        (
            "SELECT * FROM forecast('SELECT id, ts, y FROM history', 'week', 4, 'prophet')",
            "unknown model \"prophet\"",
        ),
        (
            "SELECT * FROM forecast('SELECT id, ts, y FROM history', 'fortnight', 4)",
            "argument 2 must be 'day', 'week', 'month', 'quarter' or 'year'",
        ),
        (
            "SELECT * FROM forecast('SELECT id, ts, y FROM history', 'week', 0)",
            "argument 3 must be a horizon",
        ),
        (
            "SELECT * FROM forecast('SELECT id, ts, y FROM history', 'week', 4, 'auto', '80,150')",
            "argument 5 must be interval levels",
        ),
        (
            "SELECT * FROM forecast('SELECT id, ts FROM history', 'week', 4)",
            "argument 1 must be",
        ),
        (
            "SELECT * FROM demand_series('colour', 'week')",
            "argument 1 must be",
        ),
    ] {
        let err = session.query(sql).await.expect_err(sql);
        assert!(err.to_string().contains(needle), "{sql}: {err}");
    }
}

#[tokio::test]
async fn forecasts_are_written_to_the_lake_and_read_back_from_sql() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let lake = fabrik_lake::Lake::open(&tmp.path().join("lake").to_string_lossy())
        .await
        .expect("lake");
    // The lake needs a domain table to be registered: the orders of this test.
    lake.table(Table::Orders)
        .await
        .expect("orders table")
        .write(vec![orders_batch()], "orders-1")
        .await
        .expect("write orders");
    let session = history_session();
    let set = session
        .demand_series(DemandLevel::Family, Frequency::Week, Fill::default())
        .await;
    assert!(set.is_err(), "no orders table in this session yet");
    let sql = "SELECT id, ts, y FROM history";
    let batches = session.query(sql).await.expect("history");
    let set = fabrik_forecast::SeriesSet::from_totals(&batches, Frequency::Week, Fill::default())
        .expect("series");
    let model = fabrik_forecast::catalog::model("naive", 52).expect("model");
    let fc = fabrik_forecast::forecast_set(&set, model.as_ref(), 3, &[90.0], &|_, _| {})
        .expect("forecast");
    let outcome = write_demand_forecast(&lake, "test", &set, &fc, "fc-1")
        .await
        .expect("write");
    assert_eq!(outcome.rows_written, 6);
    let again = write_demand_forecast(&lake, "test", &set, &fc, "fc-1")
        .await
        .expect("rewrite");
    assert!(
        again.skipped_as_already_committed,
        "the same app id is a no-op"
    );

    let reader = Session::new().expect("session");
    reader.register_lake(&lake).await.expect("register lake");
    let got = pretty(
        &reader,
        "SELECT level, series_id, step, mean, lo_90 <= mean AND mean <= hi_90 AS inside FROM demand_forecast ORDER BY series_id, step",
    )
    .await;
    let expected = "\
+-------+-----------+------+------+--------+
| level | series_id | step | mean | inside |
+-------+-----------+------+------+--------+
| test  | a         | 1    | 9.0  | true   |
| test  | a         | 2    | 10.0 | true   |
| test  | a         | 3    | 11.0 | true   |
| test  | b         | 1    | 10.0 | true   |
| test  | b         | 2    | 20.0 | true   |
| test  | b         | 3    | 10.0 | true   |
+-------+-----------+------+------+--------+";
    assert_eq!(got, expected);
}

#[tokio::test]
async fn a_series_that_cannot_be_forecast_gets_a_row_saying_why() {
    let session = history_session();
    // A series whose first sale is on 2025-01-06 runs, gap-filled with zeros, to the
    // common last week (2025-02-17): 7 weeks, too short for a 52-week seasonal naive.
    let got = pretty(
        &session,
        "SELECT series_id, ts, step, model, isnan(mean) AS no_mean, lo_80 FROM forecast( \
         'SELECT id, ts, y FROM history UNION ALL \
          SELECT ''short'', TIMESTAMP ''2025-01-06T00:00:00Z'', 1.0', \
         'week', 2, 'naive', '80') WHERE step = 0",
    )
    .await;
    let rows: Vec<&str> = got
        .lines()
        .filter(|l| l.starts_with("| "))
        .skip(1)
        .collect();
    assert_eq!(rows.len(), 1, "only the short series failed: {got}");
    let row = rows[0];
    assert!(row.starts_with("| short "), "{got}");
    assert!(
        row.contains("2025-02-24T00:00:00Z") && row.contains("| 0    |"),
        "{got}"
    );
    assert!(
        row.contains("failed: SeasonalNaive needs at least 52 observations, the series has 7"),
        "{got}"
    );
    assert!(row.contains("| true "), "mean is NaN: {got}");
}
