//! Time-series SQL: the series aggregates and the gap_fill / lttb table functions over small
//! in-memory tables, split over several partitions with rows out of time order, so
//! DataFusion's partial and final aggregation and repartitioning all take part.

use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionConfig;
use fabrik_sql::{Error, Session};

/// One row: (machine, seconds, value, state).
type Row = (&'static str, i64, Option<f64>, &'static str);

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("machine", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("value", DataType::Float64, true),
        Field::new("state", DataType::Utf8, false),
    ]))
}

fn batch(rows: &[Row]) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(
                TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.1 * 1000))
                    .with_timezone("UTC"),
            ),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.2))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.3))),
        ],
    )
    .expect("batch")
}

/// A session with `partitions` target partitions and the table `t` made of `parts`
/// (each a partition of several batches).
fn session(partitions: usize, parts: &[&[&[Row]]]) -> Session {
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(4);
    let s = Session::with_config(config).expect("session");
    let data = parts
        .iter()
        .map(|p| p.iter().map(|b| batch(b)).collect())
        .collect();
    let table = MemTable::try_new(schema(), data).expect("mem table");
    s.context()
        .register_table("t", Arc::new(table))
        .expect("register");
    s
}

async fn run(s: &Session, sql: &str) -> String {
    let out = s.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    pretty_format_batches(&out).expect("pretty").to_string()
}

/// m1: (0, 10, RUN), (10, 20, IDLE), (30, 0, RUN).
/// m2: a counter 5, 8, 2, 6, 1, 4 every 10 s, states RUN RUN DOWN RUN IDLE RUN.
/// m3: only a null value. Spread over three partitions, out of time order.
const P1: &[&[Row]] = &[
    &[("m2", 40, Some(1.0), "IDLE"), ("m1", 30, Some(0.0), "RUN")],
    &[("m2", 0, Some(5.0), "RUN"), ("m3", 5, None, "RUN")],
];
const P2: &[&[Row]] = &[
    &[("m2", 50, Some(4.0), "RUN"), ("m2", 10, Some(8.0), "RUN")],
    &[("m1", 0, Some(10.0), "RUN")],
];
const P3: &[&[Row]] = &[
    &[("m2", 30, Some(6.0), "RUN")],
    &[
        ("m1", 10, Some(20.0), "IDLE"),
        ("m2", 20, Some(2.0), "DOWN"),
        ("m2", 35, None, "RUN"),
    ],
];

const AGGREGATES: &str = "SELECT machine,
    round(time_weighted_avg(value, ts), 6) AS twa_locf,
    round(time_weighted_avg(value, ts, 'linear'), 6) AS twa_linear,
    counter_increase(value, ts) AS increase,
    round(counter_rate(value, ts), 6) AS rate,
    state_duration(state, ts, 'RUN') AS run_s
  FROM t GROUP BY machine ORDER BY machine";

#[tokio::test]
async fn aggregates_are_the_same_whatever_the_partitioning() {
    // m1: LOCF (10·10 + 20·20) / 30 = 16.666667; linear (150 + 200) / 30 = 11.666667;
    //     increase 10 (20 → 0 is a reset to 0), rate 10 / 30 s; RUN [0, 10) = 10 s
    //     (the last point adds nothing; the null-value row at 35 s of m2 is a state row).
    // m2: LOCF (5+8+2+6+1)·10 / 50 = 4.4; linear 215 / 50 = 4.3; increase
    //     3 + 2 + 4 + 1 + 3 = 13 (two resets), rate 0.26/s; RUN [0,20) + [30,35) + … :
    //     states RUN@0 RUN@10 DOWN@20 RUN@30 RUN@35 IDLE@40 RUN@50 → 20 + 10 = 30 s.
    // m3: no value → nulls; its one RUN row holds for 0 s.
    let expected = "\
+---------+-----------+------------+----------+----------+-------+
| machine | twa_locf  | twa_linear | increase | rate     | run_s |
+---------+-----------+------------+----------+----------+-------+
| m1      | 16.666667 | 11.666667  | 10.0     | 0.333333 | 10.0  |
| m2      | 4.4       | 4.3        | 13.0     | 0.26     | 30.0  |
| m3      |           |            |          |          | 0.0   |
+---------+-----------+------------+----------+----------+-------+";
    let split = session(4, &[P1, P2, P3]);
    let plan = run(&split, &format!("EXPLAIN {AGGREGATES}")).await;
    assert!(
        plan.contains("mode=Partial") && plan.contains("FinalPartitioned"),
        "partial states are merged: {plan}"
    );
    assert_eq!(run(&split, AGGREGATES).await, expected);
    let all: Vec<&[Row]> = [P1, P2, P3].concat();
    let single = session(1, &[&all]);
    assert_eq!(run(&single, AGGREGATES).await, expected);
}

#[tokio::test]
async fn state_durations_of_every_state_and_without_group_by() {
    let s = session(4, &[P1, P2, P3]);
    let out = run(
        &s,
        "SELECT machine, state_duration(state, ts) AS states FROM t
         WHERE machine <> 'm3' GROUP BY machine ORDER BY machine",
    )
    .await;
    // m1: IDLE [10, 30) = 20, RUN [0, 10) = 10.
    // m2: DOWN [20, 30) = 10, IDLE [40, 50) = 10, RUN [0, 20) + [30, 40) = 30.
    assert_eq!(
        column(&out, "states"),
        [
            "[{state: IDLE, seconds: 20.0}, {state: RUN, seconds: 10.0}]",
            "[{state: DOWN, seconds: 10.0}, {state: IDLE, seconds: 10.0}, {state: RUN, seconds: 30.0}]",
        ],
        "{out}"
    );
    assert_eq!(column(&out, "machine"), ["m1", "m2"], "{out}");
    // No GROUP BY: the single-group accumulator, also merged over partitions.
    let out = run(
        &s,
        "SELECT counter_increase(value, ts) AS inc, state_duration(state, ts, 'DOWN') AS down
         FROM t WHERE machine = 'm2'",
    )
    .await;
    let expected = "\
+------+------+
| inc  | down |
+------+------+
| 13.0 | 10.0 |
+------+------+";
    assert_eq!(out, expected);
}

/// Sensor a: (0 s, 1), (20, 3), (71, 8), (90, 6), (150, 99: out of the range).
/// Sensor b: (50, 5).
const GAPS: &[&[Row]] = &[
    &[("a", 90, Some(6.0), ""), ("b", 50, Some(5.0), "")],
    &[("a", 150, Some(99.0), ""), ("a", 0, Some(1.0), "")],
];
const GAPS2: &[&[Row]] = &[&[("a", 71, Some(8.0), ""), ("a", 20, Some(3.0), "")]];

fn gap_fill_sql(mode: &str) -> String {
    format!(
        "SELECT machine, to_unixtime(ts) AS s, value FROM gap_fill(
           'SELECT machine, ts, value FROM t',
           TIMESTAMP '1970-01-01T00:00:00Z', '1970-01-01T00:01:40Z',
           INTERVAL '10 seconds', '{mode}', INTERVAL '20 seconds')
         ORDER BY machine, s"
    )
}

fn column(table: &str, name: &str) -> Vec<String> {
    // The cells of one column of a pretty-printed table, by header name.
    let lines: Vec<&str> = table.lines().filter(|l| l.starts_with('|')).collect();
    let header: Vec<&str> = lines[0].split('|').map(str::trim).collect();
    let i = header.iter().position(|h| *h == name).expect("column");
    lines[1..]
        .iter()
        .map(|l| l.split('|').map(str::trim).nth(i).unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn gap_fill_carries_forward_up_to_the_max_gap() {
    let s = session(4, &[GAPS, GAPS2]);
    let out = run(&s, &gap_fill_sql("locf")).await;
    let seconds: Vec<String> = (0..10).map(|k| (k * 10).to_string()).collect();
    assert_eq!(
        column(&out, "s"),
        [seconds.clone(), seconds].concat(),
        "{out}"
    );
    // a: 10 ← 1, 30/40 ← 3, 50/60 null (more than 20 s after 20), 80 ← 8 (bucket 70).
    // b: nothing before 50, then 5 until 70, null after (gap > 20 s).
    assert_eq!(
        column(&out, "value").join(","),
        "1.0,1.0,3.0,3.0,3.0,,,8.0,8.0,6.0,,,,,,5.0,5.0,5.0,,",
        "{out}"
    );
    let out = run(&s, &gap_fill_sql("linear")).await;
    // a: 10 halfway 1 → 3; 20 → 70 spans 50 s > 20: null; 80 halfway 8 → 6.
    // b: one point: nothing to interpolate between.
    assert_eq!(
        column(&out, "value").join(","),
        "1.0,2.0,3.0,,,,,8.0,7.0,6.0,,,,,,5.0,,,,",
        "{out}"
    );
    // Projection and aggregation on top of the table function.
    let out = run(
        &s,
        "SELECT count(*) AS n, count(value) AS filled FROM gap_fill(
           'SELECT ts, value FROM t WHERE machine = ''a''',
           '1970-01-01T00:00:00Z', '1970-01-01T00:01:40Z', '10 seconds', 'locf')",
    )
    .await;
    assert_eq!(column(&out, "n"), ["10"], "{out}");
    assert_eq!(column(&out, "filled"), ["10"], "{out}");
}

#[tokio::test]
async fn lttb_downsamples_each_series() {
    // a: x = 0..7 s, y = 0 2 8 1 3 9 0 4 → threshold 4 keeps x = 0, 2, 6, 7 (worked in
    // fabrik_kernels::lttb's tests). b: two points, kept.
    let ys = [0.0, 2.0, 8.0, 1.0, 3.0, 9.0, 0.0, 4.0];
    let rows: Vec<Row> = ys
        .iter()
        .enumerate()
        .rev()
        .map(|(x, &y)| ("a", x as i64, Some(y), ""))
        .chain([("b", 3, Some(1.0), ""), ("b", 1, Some(2.0), "")])
        .collect();
    let (p1, p2) = rows.split_at(5);
    let s = session(4, &[&[p1], &[p2]]);
    let sql = "SELECT machine, to_unixtime(ts) AS s, value
         FROM lttb('SELECT machine, ts, value FROM t', 4) ORDER BY machine, s";
    let plan = run(&s, &format!("EXPLAIN {sql}")).await;
    assert!(
        plan.contains("LttbExec") && plan.contains("Hash([machine") && plan.contains("SortExec"),
        "the input is hash-partitioned by the key and sorted: {plan}"
    );
    let out = run(&s, sql).await;
    let expected = "\
+---------+---+-------+
| machine | s | value |
+---------+---+-------+
| a       | 0 | 0.0   |
| a       | 2 | 8.0   |
| a       | 6 | 0.0   |
| a       | 7 | 4.0   |
| b       | 1 | 2.0   |
| b       | 3 | 1.0   |
+---------+---+-------+";
    assert_eq!(out, expected);
}

#[tokio::test]
async fn bad_arguments_name_the_argument() {
    let s = session(2, &[P1]);
    let q = |sql: &'static str| {
        let s = s.clone();
        async move { s.query(sql).await.expect_err(sql) }
    };
    let e = q("SELECT * FROM gap_fill('SELECT ts, value FROM t', '1970-01-01', '1970-01-02', INTERVAL '1 month', 'locf')").await;
    assert!(
        matches!(
            e,
            Error::TableFunctionArgument {
                function: "gap_fill",
                position: 4,
                ..
            }
        ),
        "{e}"
    );
    let e = q("SELECT * FROM gap_fill('SELECT ts, value FROM t', '1970-01-01', '1970-01-02', '1 hour', 'cubic')").await;
    assert!(
        matches!(e, Error::TableFunctionArgument { position: 5, .. }),
        "{e}"
    );
    let e = q("SELECT * FROM gap_fill('SELECT ts, state FROM t', '1970-01-01', '1970-01-02', '1 hour', 'locf')").await;
    assert!(
        matches!(e, Error::TableFunctionArgument { position: 1, .. })
            && e.to_string().contains("state Utf8"),
        "{e}"
    );
    let e = q("SELECT * FROM lttb('DROP TABLE t', 10)").await;
    assert!(
        matches!(
            e,
            Error::TableFunctionQuery {
                function: "lttb",
                ..
            }
        ),
        "{e}"
    );
    let e = q("SELECT * FROM lttb('SELECT ts, value FROM nowhere', 10)").await;
    assert!(matches!(e, Error::TableFunctionQuery { .. }), "{e}");
    let e = q("SELECT * FROM lttb('SELECT ts, value FROM t', -1)").await;
    assert!(
        matches!(e, Error::TableFunctionArgument { position: 2, .. }),
        "{e}"
    );
    let e = q("SELECT * FROM gap_fill('SELECT ts, value FROM t', '1970-01-02', '1970-01-01', '1 hour', 'locf')").await;
    assert!(
        matches!(e, Error::Kernel(fabrik_kernels::Error::Range { .. })),
        "{e}"
    );
    let e = q("SELECT time_weighted_avg(value, ts, 'cubic') FROM t").await;
    assert!(
        matches!(
            e,
            Error::FunctionArgument {
                function: "time_weighted_avg",
                position: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = q("SELECT counter_rate(value, state) FROM t").await;
    assert!(
        matches!(e, Error::FunctionArgument { position: 2, .. }),
        "{e}"
    );
    let e = q("SELECT counter_rate(value) FROM t").await;
    assert!(matches!(e, Error::FunctionArity { found: 1, .. }), "{e}");
}
