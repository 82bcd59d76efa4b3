//! The capability aggregates (`spc_cp`, `spc_cpk`, `spc_pp`, `spc_ppk`, `spc_capability`)
//! from SQL: hand-computed figures, the kernel's `Summary::capability` on the same ordered
//! readings, and readings spread over several partitions out of time order.

use std::sync::Arc;

use datafusion::arrow::array::{
    AsArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionConfig;
use fabrik_kernels::spc::{SpecLimits, capability};
use fabrik_sql::{Error, Result, Session};

const T0: i64 = 1_740_960_000_000_000;
const MINUTE: i64 = 60_000_000;

/// `(sensor, readings one a minute from T0, lsl, usl)`.
type Series = (&'static str, Vec<f64>, Option<f64>, Option<f64>);

/// The sensors of table `t`:
///
/// - `A`, LSL 4, USL 16: the kernel's `capability_of_readings_by_hand` series, 9, 11, 10,
///   12, 8: mean 10; moving ranges 2, 1, 2, 4 → MR̄ 2.25, σ_within = 2.25/1.128 =
///   1.994681; deviations² 1, 1, 0, 4, 4 → sample sd √2.5 = 1.581139.
///   Cp = 12/(6·1.994681) = 1.002667 = Cpk (centred); Pp = 12/(6·1.581139) = 1.264911 = Ppk.
/// - `B`, USL 10 only: 2, 4, 3, 5, 6: mean 4; moving ranges 2, 1, 2, 1 → MR̄ 1.5,
///   σ_within = 1.329787; deviations² 4, 0, 1, 1, 4 → sd √2.5. Cp and Pp null;
///   Cpk = CPU = 6/(3·1.5/1.128) = 1.504; Ppk = 6/(3·√2.5) = 1.264911.
/// - `C`: constant (sigma 0) → null. `D`: one reading → null.
fn rows() -> Vec<Series> {
    vec![
        ("A", vec![9.0, 11.0, 10.0, 12.0, 8.0], Some(4.0), Some(16.0)),
        ("B", vec![2.0, 4.0, 3.0, 5.0, 6.0], None, Some(10.0)),
        ("C", vec![5.0, 5.0, 5.0], Some(0.0), Some(9.0)),
        ("D", vec![5.0], Some(0.0), Some(9.0)),
    ]
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("sensor_id", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("value", DataType::Float64, true),
        Field::new("lsl", DataType::Float64, true),
        Field::new("usl", DataType::Float64, true),
    ]))
}

/// One row per reading, in the order given.
type Row = (&'static str, i64, f64, Option<f64>, Option<f64>);

fn batch(rows: &[Row]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.1))
                    .with_timezone("UTC"),
            ),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.3))),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.4))),
        ],
    )?)
}

/// The readings of `series`, dealt round-robin to `partitions` partitions (so the
/// readings of one sensor interleave in time across partitions), each partition in
/// reverse time order and cut into batches of three rows.
fn table(series: &[Series], partitions: usize) -> Result<MemTable> {
    let mut parts: Vec<Vec<Row>> = vec![Vec::new(); partitions];
    let mut k = 0;
    for (id, values, lsl, usl) in series {
        for (i, v) in values.iter().enumerate() {
            parts[k % partitions].push((id, T0 + i as i64 * MINUTE, *v, *lsl, *usl));
            k += 1;
        }
    }
    let mut out = Vec::new();
    for mut p in parts {
        p.reverse();
        out.push(p.chunks(3).map(batch).collect::<Result<Vec<_>>>()?);
    }
    Ok(MemTable::try_new(schema(), out)?)
}

fn session(partitions: usize) -> Result<Session> {
    let s = Session::with_config(SessionConfig::new().with_target_partitions(partitions))?;
    s.context()
        .register_table("t", Arc::new(table(&rows(), partitions)?))?;
    Ok(s)
}

async fn pretty(s: &Session, sql: &str) -> Result<String> {
    Ok(pretty_format_batches(&s.query(sql).await?)?.to_string())
}

const BY_SENSOR: &str = "SELECT sensor_id,
        round(spc_cp(value, lsl, usl ORDER BY ts), 6) AS cp,
        round(spc_cpk(value, lsl, usl ORDER BY ts), 6) AS cpk,
        round(spc_pp(value, lsl, usl), 6) AS pp,
        round(spc_ppk(value, lsl, usl), 6) AS ppk
 FROM t GROUP BY sensor_id ORDER BY sensor_id";

const EXPECTED: &str = "\
+-----------+----------+----------+----------+----------+
| sensor_id | cp       | cpk      | pp       | ppk      |
+-----------+----------+----------+----------+----------+
| A         | 1.002667 | 1.002667 | 1.264911 | 1.264911 |
| B         |          | 1.504    |          | 1.264911 |
| C         |          |          |          |          |
| D         |          |          |          |          |
+-----------+----------+----------+----------+----------+";

#[tokio::test]
async fn capability_per_sensor_by_hand_on_one_and_three_partitions() -> Result<()> {
    for partitions in [1, 3] {
        let s = session(partitions)?;
        assert_eq!(
            pretty(&s, BY_SENSOR).await?,
            EXPECTED,
            "{partitions} partitions"
        );
    }
    // On three partitions, partial states of each sensor are built from interleaved
    // readings and merged (no sort before the partial aggregate).
    let plan = pretty(&session(3)?, &format!("EXPLAIN {BY_SENSOR}")).await?;
    assert!(
        plan.contains("AggregateExec: mode=Partial")
            && plan.contains("AggregateExec: mode=FinalPartitioned")
            && plan.contains("DataSourceExec: partitions=3"),
        "{plan}"
    );
    Ok(())
}

/// The struct of `spc_capability` and the row accumulator (no GROUP BY) give the
/// kernel's figures bit for bit, on readings split over three partitions.
#[tokio::test]
async fn figures_equal_the_kernel_on_the_ordered_readings() -> Result<()> {
    let s = session(3)?;
    let spec = SpecLimits::two_sided(4.0, 16.0);
    let kernel = capability(&[9.0, 11.0, 10.0, 12.0, 8.0], spec).map_err(Error::Kernel)?;
    let out = s
        .query(
            "SELECT spc_capability(value, lsl, usl ORDER BY ts) AS c,
                    spc_cpk(value, 4, 16 ORDER BY ts DESC) AS cpk
             FROM t WHERE sensor_id = 'A'",
        )
        .await?;
    let c = out[0].column(0).as_struct();
    let field = |name: &str| {
        c.column_by_name(name)
            .map(|a| a.as_primitive::<Float64Type>().value(0))
    };
    assert_eq!(
        c.column_by_name("n").map(|n| n
            .as_primitive::<datafusion::arrow::datatypes::UInt64Type>()
            .value(0)),
        Some(5)
    );
    assert_eq!(field("mean"), Some(kernel.mean));
    assert_eq!(field("sigma_within"), Some(kernel.sigma_within));
    assert_eq!(field("sigma_overall"), Some(kernel.sigma_overall));
    assert_eq!(field("cp"), kernel.cp);
    assert_eq!(field("cpk"), Some(kernel.cpk));
    assert_eq!(field("pp"), kernel.pp);
    assert_eq!(field("ppk"), Some(kernel.ppk));
    // ORDER BY ts DESC reads the same moving ranges.
    assert_eq!(
        out[0].column(1).as_primitive::<Float64Type>().value(0),
        kernel.cpk
    );
    Ok(())
}

/// A longer series (a fixed pseudo-random walk) over three partitions, dealt round-robin
/// in reverse order: the result equals the kernel's on the series in time order, and
/// differs from the kernel's on the order the rows are stored in (so the order matters
/// and is restored).
#[tokio::test]
async fn many_partitions_and_batches_restore_time_order() -> Result<()> {
    let mut x: u64 = 12345;
    let mut level = 50.0;
    let values: Vec<f64> = (0..200)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            level += ((x >> 33) % 1000) as f64 / 100.0 - 5.0;
            level
        })
        .collect();
    let series = vec![("W", values.clone(), Some(0.0), Some(120.0))];
    let s = Session::with_config(SessionConfig::new().with_target_partitions(3))?;
    s.context()
        .register_table("w", Arc::new(table(&series, 3)?))?;
    let out = s
        .query("SELECT sensor_id, spc_cpk(value, lsl, usl ORDER BY ts) FROM w GROUP BY sensor_id")
        .await?;
    let got = out[0].column(1).as_primitive::<Float64Type>().value(0);
    let spec = SpecLimits::two_sided(0.0, 120.0);
    let kernel = capability(&values, spec).map_err(Error::Kernel)?;
    assert_eq!(got, kernel.cpk);
    let shuffled: Vec<f64> = (0..3)
        .flat_map(|p| {
            values
                .iter()
                .skip(p)
                .step_by(3)
                .rev()
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    assert_ne!(capability(&shuffled, spec).map_err(Error::Kernel)?.cpk, got);
    Ok(())
}

#[tokio::test]
async fn a_missing_order_by_or_bad_limits_are_named_errors() -> Result<()> {
    let s = session(2)?;
    let err = s
        .query("SELECT spc_cpk(value, lsl, usl) FROM t GROUP BY sensor_id")
        .await
        .expect_err("no ORDER BY");
    assert!(
        matches!(
            err,
            Error::AggregateOrderBy {
                function: "spc_cpk",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ORDER BY ts"), "{err}");
    let err = s
        .query("SELECT spc_cp(value, 1, 2 ORDER BY value) FROM t")
        .await
        .expect_err("a Float64 key");
    assert!(matches!(err, Error::AggregateOrderBy { .. }), "{err}");
    let err = s
        .query("SELECT spc_cpk(value, 16, 4 ORDER BY ts) FROM t WHERE sensor_id = 'A'")
        .await
        .expect_err("lsl > usl");
    assert!(
        matches!(
            err,
            Error::SpecLimits {
                function: "spc_cpk",
                lsl: Some(16.0),
                usl: Some(4.0)
            }
        ),
        "{err}"
    );
    let err = s
        .query("SELECT spc_ppk(value, lsl, usl) FROM t")
        .await
        .expect_err("the limits differ between sensors");
    assert!(matches!(err, Error::SpecLimitsVary { .. }), "{err}");
    // Pp / Ppk need no order; no limit at all gives null.
    let text = pretty(
        &s,
        "SELECT round(spc_pp(value, 4, 16), 6) AS pp, spc_ppk(value, NULL, NULL) AS none
         FROM t WHERE sensor_id = 'A'",
    )
    .await?;
    assert_eq!(
        text,
        "\
+----------+------+
| pp       | none |
+----------+------+
| 1.264911 |      |
+----------+------+"
    );
    Ok(())
}

/// The query of the README and the module docs, against the session's `operating_limits`:
/// sensor `V` (vibration, limits 0 and 7.1) reads 0.9, 1.1, 1.0, 1.2, 0.8 (a bad-quality
/// 9.0 left out): mean 1, MR̄ = 0.9/4 = 0.225, σ_within = 0.225/1.128, sd = 0.1·√2.5.
/// Cp = 7.1/(6·σ_within) = 5.932444; Cpk = CPL = 1/(3·σ_within) = 1.671111;
/// Ppk = 1/(3·0.1·√2.5) = 2.108185.
#[tokio::test]
async fn the_documented_query_runs_against_operating_limits() -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("sensor_id", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("value", DataType::Float64, true),
        Field::new("quality", DataType::UInt8, false),
    ]));
    let values = [0.9, 1.1, 9.0, 1.0, 1.2, 0.8];
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["V"; 6])),
            Arc::new(StringArray::from(vec!["vibration"; 6])),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values((0..6).map(|i| T0 + i * MINUTE))
                    .with_timezone("UTC"),
            ),
            Arc::new(Float64Array::from(values.to_vec())),
            Arc::new(datafusion::arrow::array::UInt8Array::from(vec![
                0, 0, 2, 0, 0, 0,
            ])),
        ],
    )?;
    let s = Session::new()?;
    s.context().register_table(
        "sensor_readings",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]])?),
    )?;
    let text = pretty(
        &s,
        "SELECT r.sensor_id,
                round(spc_cp(r.value, o.low, o.high ORDER BY r.ts), 6)  AS cp,
                round(spc_cpk(r.value, o.low, o.high ORDER BY r.ts), 6) AS cpk,
                round(spc_ppk(r.value, o.low, o.high), 6)               AS ppk
         FROM sensor_readings r JOIN operating_limits o USING (metric)
         WHERE r.quality = 0
         GROUP BY r.sensor_id",
    )
    .await?;
    assert_eq!(
        text,
        "\
+-----------+----------+----------+----------+
| sensor_id | cp       | cpk      | ppk      |
+-----------+----------+----------+----------+
| V         | 5.932444 | 1.671111 | 2.108185 |
+-----------+----------+----------+----------+"
    );
    Ok(())
}
