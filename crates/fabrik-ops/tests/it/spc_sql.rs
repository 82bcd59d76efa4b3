//! `spc_anomalies` from SQL on hand-made readings, with limits worked out by hand.

use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use fabrik_sql::Session;

use crate::{TestResult, assert_table, pretty};

const T0: i64 = 1_740_960_000_000_000; // 2025-03-03T00:00:00Z
const MINUTE: i64 = 60_000_000;

/// Table `readings(sensor_id, ts, value)`: sensors `S1` and `S2`, a reading every 5 s for
/// 36 minutes (12 readings per 1-minute subgroup), every reading of minute `b` equal to
/// 9 in even minutes and 11 in odd ones; `S1` reads 20 in minutes 30, 31 and 32.
///
/// With a baseline of 20 one-minute subgroups: centre 10, deviations ±1 → sample sd
/// √(20/19) = 1.025978, limits 10 ± 3.077935 = 6.9221 / 13.0779. Minutes 30–32 of `S1`
/// are beyond the UCL (WE1): one episode of 3 alarms from 00:30 to 00:33, confirmed at
/// its third alarm's end, 00:33. `S2` stays within ±1 (0.97σ) of the centre: no Western
/// Electric rule fires.
fn session() -> Result<Session, Box<dyn std::error::Error>> {
    let (mut ids, mut ts, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for id in ["S1", "S2"] {
        for minute in 0..36i64 {
            let v = if id == "S1" && (30..33).contains(&minute) {
                20.0
            } else if minute % 2 == 0 {
                9.0
            } else {
                11.0
            };
            for k in 0..12 {
                ids.push(id);
                ts.push(T0 + minute * MINUTE + k * 5_000_000);
                values.push(v);
            }
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("sensor_id", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("value", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
            Arc::new(Float64Array::from(values)),
        ],
    )?;
    let s = Session::new()?;
    s.context().register_table(
        "readings",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    fabrik_ops::register(&s, fabrik_ops::PlantCalendars::default());
    Ok(s)
}

const COLUMNS: &str = "sensor_id, ts, end_ts, rule, value, round(center, 4) AS center,
    round(lcl, 4) AS lcl, round(ucl, 4) AS ucl, alarms, confirmed_ts";

#[tokio::test]
async fn a_shift_is_one_episode_and_a_steady_sensor_none() -> TestResult {
    let s = session()?;
    let got = pretty(
        &s,
        &format!(
            "SELECT {COLUMNS} FROM spc_anomalies(
                'SELECT sensor_id, ts, value FROM readings', 'we1', INTERVAL '1 minute', 20, 3)"
        ),
    )
    .await?;
    assert_table(
        &got,
        "
        +-----------+----------------------+----------------------+------+-------+--------+--------+---------+--------+----------------------+
        | sensor_id | ts                   | end_ts               | rule | value | center | lcl    | ucl     | alarms | confirmed_ts         |
        +-----------+----------------------+----------------------+------+-------+--------+--------+---------+--------+----------------------+
        | S1        | 2025-03-03T00:30:00Z | 2025-03-03T00:33:00Z | WE1  | 20.0  | 10.0   | 6.9221 | 13.0779 | 3      | 2025-03-03T00:33:00Z |
        +-----------+----------------------+----------------------+------+-------+--------+--------+---------+--------+----------------------+",
    );
    // The steady sensor alone, with the Western Electric rules: no episode. The subgroup
    // as a string, the confirmation left at its default (3).
    let steady = "'SELECT sensor_id, ts, value FROM readings WHERE sensor_id = ''S2'''";
    let got = pretty(
        &s,
        &format!(
            "SELECT sensor_id, ts, rule
             FROM spc_anomalies({steady}, 'western_electric', '1 minute', 20)"
        ),
    )
    .await?;
    assert_table(
        &got,
        "
        +-----------+----+------+
        | sensor_id | ts | rule |
        +-----------+----+------+
        +-----------+----+------+",
    );
    // The Nelson rules see its strict alternation: N4 (14 points alternating up and down)
    // at the 14th subgroup (minute 13), N7 (15 in a row within 1σ) from the 15th on.
    let got = pretty(
        &s,
        &format!(
            "SELECT sensor_id, ts, rule FROM spc_anomalies({steady}, 'nelson', '1 minute', 20)"
        ),
    )
    .await?;
    assert_table(
        &got,
        "
        +-----------+----------------------+-------+
        | sensor_id | ts                   | rule  |
        +-----------+----------------------+-------+
        | S2        | 2025-03-03T00:13:00Z | N4,N7 |
        +-----------+----------------------+-------+",
    );
    // Four alarms needed to confirm: the 3-alarm episode is not reported.
    let got = pretty(
        &s,
        "SELECT count(*) AS episodes FROM spc_anomalies(
            'SELECT sensor_id, ts, value FROM readings', 'WE1', INTERVAL '60 seconds', 20, 4)",
    )
    .await?;
    assert_table(
        &got,
        "
        +----------+
        | episodes |
        +----------+
        | 0        |
        +----------+",
    );
    Ok(())
}

#[tokio::test]
async fn bad_arguments_are_named() -> TestResult {
    let s = session()?;
    let cases = [
        (
            "SELECT * FROM spc_anomalies('SELECT sensor_id, value FROM readings')",
            "spc_anomalies: argument 1 must be a query with the columns sensor_id, ts",
        ),
        (
            "SELECT * FROM spc_anomalies('SELECT sensor_id, ts, value FROM readings', 'bogus')",
            "spc_anomalies: argument 2 must be a chart",
        ),
        (
            "SELECT * FROM spc_anomalies('SELECT sensor_id, ts, value FROM readings', 'we1', INTERVAL '1500 milliseconds')",
            "spc_anomalies: argument 3 must be an INTERVAL of whole seconds",
        ),
        (
            "SELECT * FROM spc_anomalies('SELECT sensor_id, ts, value FROM readings', 'we1', '1 minute', 1)",
            "spc_anomalies: argument 4 must be a whole number of subgroups",
        ),
        (
            "SELECT * FROM spc_anomalies('SELECT sensor_id, ts, value FROM readings', 'we1', '1 minute', 20, 0)",
            "spc_anomalies: argument 5 must be a whole number of alarms",
        ),
        (
            "SELECT * FROM spc_anomalies('SELECT * FROM nowhere')",
            "spc_anomalies: cannot plan the query of argument 1",
        ),
    ];
    for (sql, want) in cases {
        let err = s.query(sql).await.expect_err(sql);
        assert!(err.to_string().contains(want), "{sql}\n{err}");
    }
    Ok(())
}
