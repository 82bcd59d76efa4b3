//! The SPC window functions from SQL on small hand-made series, against values worked out
//! by hand in the comments.

use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use fabrik_sql::{Error, Result, Session};

/// Table `t(sensor_id, ts, value)`: every series at one reading a minute from midnight.
///
/// With a baseline of 4 readings, every series but `D` and `K` starts 10, 12, 10, 12:
/// centre 11, moving ranges 2, 2, 2 → σ = 2/1.128 = 1.773050; the zones are at
/// 11 ± 1.773 (12.773 / 9.227), ± 3.546 (14.546 / 7.454), ± 5.319 (16.319 / 5.681).
///
/// - `A`: 20 at row 5 is beyond 3σ (N1 / WE1); nothing else fires; row 6 is null.
/// - `B`: stays inside 1σ of the centre: nothing fires.
/// - `C`: 14 from row 4 on (+1.69σ): 4 of 5 beyond 1σ at row 7 (N6 / WE3). EWMA (λ 0.5,
///   L 2): z = 10.5, 11.25, 10.625, 11.3125, 12.656, 13.328, 13.664, 13.832 against the
///   half-widths 2·σ·√(λ/(2−λ)·(1−(1−λ)^{2i})) = 1.773, 1.983, 2.031, 2.043, 2.046,
///   2.047, … → rows 5, 6, 7. CUSUM (k 0.5, h 2: K = 0.8865, H = 3.5461):
///   C⁺ = 0, 0.114, 0, 0.114, 2.228, 4.341 (signal, reset), 2.114, 4.227 (signal) →
///   rows 5 and 7; C⁻ stays below H.
/// - `D`: three readings only.
/// - `K`: constant.
fn table() -> Result<MemTable> {
    let series: [(&str, &[Option<f64>]); 5] = [
        (
            "A",
            &[
                Some(10.0),
                Some(12.0),
                Some(10.0),
                Some(12.0),
                Some(11.0),
                Some(20.0),
                None,
                Some(11.0),
            ],
        ),
        (
            "B",
            &[
                Some(10.0),
                Some(12.0),
                Some(10.0),
                Some(12.0),
                Some(11.0),
                Some(10.0),
                Some(12.0),
                Some(11.5),
            ],
        ),
        (
            "C",
            &[
                Some(10.0),
                Some(12.0),
                Some(10.0),
                Some(12.0),
                Some(14.0),
                Some(14.0),
                Some(14.0),
                Some(14.0),
            ],
        ),
        ("D", &[Some(1.0), Some(2.0), Some(3.0)]),
        (
            "K",
            &[Some(5.0), Some(5.0), Some(5.0), Some(5.0), Some(5.0)],
        ),
    ];
    let (mut ids, mut ts, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (id, v) in series {
        for (i, x) in v.iter().enumerate() {
            ids.push(id);
            ts.push(1_740_960_000_000_000 + i as i64 * 60_000_000);
            values.push(*x);
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
    // Two partitions, so the window operator has to bring each series together.
    let (a, b) = (batch.slice(0, 13), batch.slice(13, batch.num_rows() - 13));
    Ok(MemTable::try_new(schema, vec![vec![a], vec![b]])?)
}

async fn session() -> Result<Session> {
    let s = Session::new()?;
    s.context().register_table("t", Arc::new(table()?))?;
    Ok(s)
}

async fn pretty(s: &Session, sql: &str) -> Result<String> {
    Ok(pretty_format_batches(&s.query(sql).await?)?.to_string())
}

#[tokio::test]
async fn each_family_fires_where_worked_out() -> Result<()> {
    let s = session().await?;
    let text = pretty(
        &s,
        "SELECT sensor_id, value,
                spc_rule(value, 'nelson', 4) OVER w AS nelson,
                spc_rule(value, 'western_electric', 4) OVER w AS we,
                spc_ewma(value, 0.5, 2, 4) OVER w AS ewma,
                spc_cusum(value, 0.5, 2, 4) OVER w AS cusum
         FROM t WHERE sensor_id IN ('A', 'B', 'C')
         WINDOW w AS (PARTITION BY sensor_id ORDER BY ts)
         ORDER BY sensor_id, ts",
    )
    .await?;
    let expected = "\
+-----------+-------+--------+-----+-------+-------+
| sensor_id | value | nelson | we  | ewma  | cusum |
+-----------+-------+--------+-----+-------+-------+
| A         | 10.0  |        |     | false | false |
| A         | 12.0  |        |     | false | false |
| A         | 10.0  |        |     | false | false |
| A         | 12.0  |        |     | false | false |
| A         | 11.0  |        |     | false | false |
| A         | 20.0  | N1     | WE1 | true  | true  |
| A         |       |        |     |       |       |
| A         | 11.0  |        |     | true  | false |
| B         | 10.0  |        |     | false | false |
| B         | 12.0  |        |     | false | false |
| B         | 10.0  |        |     | false | false |
| B         | 12.0  |        |     | false | false |
| B         | 11.0  |        |     | false | false |
| B         | 10.0  |        |     | false | false |
| B         | 12.0  |        |     | false | false |
| B         | 11.5  |        |     | false | false |
| C         | 10.0  |        |     | false | false |
| C         | 12.0  |        |     | false | false |
| C         | 10.0  |        |     | false | false |
| C         | 12.0  |        |     | false | false |
| C         | 14.0  |        |     | false | false |
| C         | 14.0  |        |     | true  | true  |
| C         | 14.0  |        |     | true  | false |
| C         | 14.0  | N6     | WE3 | true  | true  |
+-----------+-------+--------+-----+-------+-------+";
    assert_eq!(text, expected, "\n{text}");
    Ok(())
}

#[tokio::test]
async fn limits_per_partition() -> Result<()> {
    let s = session().await?;
    // A and C share their baseline (centre 11, σ 2/1.128); B too. With 'sd': the sample
    // standard deviation of 10, 12, 10, 12 is √(4/3) = 1.154701.
    let text = pretty(
        &s,
        "SELECT sensor_id, round(l['center'], 6) AS center, round(l['sigma'], 6) AS sigma,
                round(l['ucl'], 6) AS ucl, round(sd['sigma'], 6) AS sd_sigma
         FROM (SELECT sensor_id, ts,
                      spc_limits(value, 4) OVER w AS l,
                      spc_limits(value, 4, 'sd') OVER w AS sd
               FROM t WHERE sensor_id IN ('A', 'C')
               WINDOW w AS (PARTITION BY sensor_id ORDER BY ts))
         WHERE ts = TIMESTAMP '2025-03-03T00:00:00Z'
         ORDER BY sensor_id",
    )
    .await?;
    let expected = "\
+-----------+--------+---------+-----------+----------+
| sensor_id | center | sigma   | ucl       | sd_sigma |
+-----------+--------+---------+-----------+----------+
| A         | 11.0   | 1.77305 | 16.319149 | 1.154701 |
| C         | 11.0   | 1.77305 | 16.319149 | 1.154701 |
+-----------+--------+---------+-----------+----------+";
    assert_eq!(text, expected, "\n{text}");
    Ok(())
}

#[tokio::test]
async fn a_short_or_constant_baseline_names_its_partition() -> Result<()> {
    let s = session().await?;
    let err = s
        .query(
            "SELECT spc_rule(value, 'nelson', 4) OVER (PARTITION BY sensor_id ORDER BY ts)
             FROM t WHERE sensor_id IN ('B', 'D')",
        )
        .await
        .expect_err("D has 3 readings");
    match &err {
        Error::SpcShortSeries {
            function,
            partition,
            found,
            baseline,
        } => {
            assert_eq!((*function, *found, *baseline), ("spc_rule", 3, 4));
            assert_eq!(partition, "sensor_id=D (3 rows)");
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(err.to_string().contains("smaller baseline"), "{err}");
    let err = s
        .query(
            "SELECT spc_ewma(value) OVER (PARTITION BY sensor_id ORDER BY ts)
             FROM t WHERE sensor_id = 'K'",
        )
        .await
        .expect_err("K has 5 readings, the default baseline is 100");
    assert!(
        matches!(
            err,
            Error::SpcShortSeries {
                found: 5,
                baseline: 100,
                ..
            }
        ),
        "{err}"
    );
    let err = s
        .query(
            "SELECT spc_cusum(value, 0.5, 5, 5) OVER (PARTITION BY sensor_id ORDER BY ts)
             FROM t WHERE sensor_id = 'K'",
        )
        .await
        .expect_err("K is constant");
    match &err {
        Error::SpcBaseline { partition, .. } => assert_eq!(partition, "sensor_id=K (5 rows)"),
        other => panic!("unexpected error: {other}"),
    }
    Ok(())
}

#[tokio::test]
async fn bad_arguments_are_typed_errors() -> Result<()> {
    let s = session().await?;
    for (sql, position) in [
        ("spc_rule(value, 'N9', 4)", 2),
        ("spc_rule(value, 'nelson', 1)", 3),
        ("spc_ewma(value, 1.5)", 2),
        ("spc_cusum(value, 0.5, 5, 4, 'range')", 5),
        ("spc_limits(sensor_id)", 1),
    ] {
        let err = s
            .query(&format!(
                "SELECT {sql} OVER (PARTITION BY sensor_id ORDER BY ts) FROM t WHERE sensor_id = 'A'"
            ))
            .await
            .expect_err(sql);
        assert!(
            matches!(err, Error::FunctionArgument { position: p, .. } if p == position),
            "{sql}: {err}"
        );
    }
    let err = s
        .query("SELECT spc_rule(value) OVER (ORDER BY ts) FROM t")
        .await
        .expect_err("no rules");
    assert!(
        matches!(err, Error::FunctionArity { found: 1, .. }),
        "{err}"
    );
    Ok(())
}
