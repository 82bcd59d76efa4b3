//! Pareto of downtime and MTBF / MTTR on hand-made state intervals (plant time UTC+1,
//! Tuesday 2025-03-04).
//!
//! M1: RUNNING 08:00-10:00, DOWN tool wear 10:00-10:30 and 10:30-10:40 (one failure written
//! as two rows), RUNNING 10:40-12:00, DOWN material jam 12:00-12:05, RUNNING 12:05-13:00,
//! DOWN material jam 13:00-13:05, RUNNING 13:05-14:00, DOWN without reason 14:00-14:20.
//! Run 310 min, down 70 min, 4 failures: MTBF 77.5, MTTR 17.5.
//!
//! M2: RUNNING 08:00-10:00, DOWN electrical fault 10:00-11:00, RUNNING 11:00-12:00, DOWN
//! material jam 12:00-12:10. Run 180, down 70, 2 failures: MTBF 90, MTTR 35.
//!
//! Pareto of both: electrical fault 60 min (60/140 = 0.428571), tool wear 40 (0.285714,
//! cumulative 0.714286), then the ties at 20 minutes by reason: "(no reason)" (cumulative
//! 0.857143) and material jam (3 failures, cumulative 1).

use fabrik_model::Table;
use fabrik_ops::{Downtime, DowntimeOptions, Entity};

use crate::{StateRow, TestResult, assert_table, instant, pretty, session, states};

fn plant() -> fabrik_sql::Session {
    let rows: Vec<StateRow<'_>> = vec![
        (
            "M1",
            "L1",
            "RUNNING",
            None,
            "2025-03-04T08:00:00+01:00",
            "2025-03-04T10:00:00+01:00",
        ),
        (
            "M1",
            "L1",
            "DOWN",
            Some("tool wear"),
            "2025-03-04T10:00:00+01:00",
            "2025-03-04T10:30:00+01:00",
        ),
        (
            "M1",
            "L1",
            "DOWN",
            Some("tool wear"),
            "2025-03-04T10:30:00+01:00",
            "2025-03-04T10:40:00+01:00",
        ),
        (
            "M1",
            "L1",
            "RUNNING",
            None,
            "2025-03-04T10:40:00+01:00",
            "2025-03-04T12:00:00+01:00",
        ),
        (
            "M1",
            "L1",
            "DOWN",
            Some("material jam"),
            "2025-03-04T12:00:00+01:00",
            "2025-03-04T12:05:00+01:00",
        ),
        (
            "M1",
            "L1",
            "RUNNING",
            None,
            "2025-03-04T12:05:00+01:00",
            "2025-03-04T13:00:00+01:00",
        ),
        (
            "M1",
            "L1",
            "DOWN",
            Some("material jam"),
            "2025-03-04T13:00:00+01:00",
            "2025-03-04T13:05:00+01:00",
        ),
        (
            "M1",
            "L1",
            "RUNNING",
            None,
            "2025-03-04T13:05:00+01:00",
            "2025-03-04T14:00:00+01:00",
        ),
        (
            "M1",
            "L1",
            "DOWN",
            None,
            "2025-03-04T14:00:00+01:00",
            "2025-03-04T14:20:00+01:00",
        ),
        (
            "M2",
            "L2",
            "RUNNING",
            None,
            "2025-03-04T08:00:00+01:00",
            "2025-03-04T10:00:00+01:00",
        ),
        (
            "M2",
            "L2",
            "DOWN",
            Some("electrical fault"),
            "2025-03-04T10:00:00+01:00",
            "2025-03-04T11:00:00+01:00",
        ),
        (
            "M2",
            "L2",
            "RUNNING",
            None,
            "2025-03-04T11:00:00+01:00",
            "2025-03-04T12:00:00+01:00",
        ),
        (
            "M2",
            "L2",
            "DOWN",
            Some("material jam"),
            "2025-03-04T12:00:00+01:00",
            "2025-03-04T12:10:00+01:00",
        ),
    ];
    session(vec![(Table::MachineStates, states(&rows))])
}

#[tokio::test]
async fn pareto_orders_reasons_and_accumulates_shares() -> TestResult {
    let s = plant();
    let got = pretty(
        &s,
        "SELECT reason, minutes, failures, round(share, 6) AS share,
                round(cumulative_share, 6) AS cumulative_share
         FROM downtime_pareto()",
    )
    .await?;
    assert_table(
        &got,
        "
        +------------------+---------+----------+----------+------------------+
        | reason           | minutes | failures | share    | cumulative_share |
        +------------------+---------+----------+----------+------------------+
        | electrical fault | 60.0    | 1        | 0.428571 | 0.428571         |
        | tool wear        | 40.0    | 1        | 0.285714 | 0.714286         |
        | (no reason)      | 20.0    | 1        | 0.142857 | 0.857143         |
        | material jam     | 20.0    | 3        | 0.142857 | 1.0              |
        +------------------+---------+----------+----------+------------------+
        ",
    );
    // per line: each line's shares add up to 1 on their own
    let got = pretty(
        &s,
        "SELECT line_id, reason, minutes, round(cumulative_share, 6) AS cumulative_share
         FROM downtime_pareto('line')",
    )
    .await?;
    assert_table(
        &got,
        "
        +---------+------------------+---------+------------------+
        | line_id | reason           | minutes | cumulative_share |
        +---------+------------------+---------+------------------+
        | L1      | tool wear        | 40.0    | 0.571429         |
        | L1      | (no reason)      | 20.0    | 0.857143         |
        | L1      | material jam     | 10.0    | 1.0              |
        | L2      | electrical fault | 60.0    | 0.857143         |
        | L2      | material jam     | 10.0    | 1.0              |
        +---------+------------------+---------+------------------+
        ",
    );
    Ok(())
}

#[tokio::test]
async fn mtbf_and_mttr_per_machine() -> TestResult {
    let s = plant();
    let got = pretty(&s, "SELECT * FROM mtbf_mttr('machine')").await?;
    assert_table(
        &got,
        "
        +----------+---------+------------+---------+----------+----------+----------+----------+
        | plant_id | line_id | machine_id | run_min | down_min | failures | mtbf_min | mttr_min |
        +----------+---------+------------+---------+----------+----------+----------+----------+
        | P01      | L1      | M1         | 310.0   | 70.0     | 4        | 77.5     | 17.5     |
        | P01      | L2      | M2         | 180.0   | 70.0     | 2        | 90.0     | 35.0     |
        +----------+---------+------------+---------+----------+----------+----------+----------+
        ",
    );
    // all machines together: 490 / 6 and 140 / 6
    let all = Downtime::reliability(&s, &DowntimeOptions::new(None)).await?;
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{Float64Type, Int64Type};
    assert_eq!(all.num_rows(), 1);
    assert_eq!(all.num_columns(), 5, "no group columns");
    let f = |c: &str| {
        all.column_by_name(c)
            .expect("column")
            .as_primitive::<Float64Type>()
            .value(0)
    };
    assert_eq!(f("run_min"), 490.0);
    assert_eq!(f("down_min"), 140.0);
    assert_eq!(
        all.column_by_name("failures")
            .expect("failures")
            .as_primitive::<Int64Type>()
            .value(0),
        6
    );
    assert!((f("mtbf_min") - 490.0 / 6.0).abs() < 1e-12);
    assert!((f("mttr_min") - 140.0 / 6.0).abs() < 1e-12);
    Ok(())
}

#[tokio::test]
async fn a_range_clips_intervals_and_keeps_failures_that_overlap_it() -> TestResult {
    let s = plant();
    // 10:35 to 12:02 plant time: M1 has the tail of the tool-wear failure (5 min, started
    // before the range) and 2 min of a jam, 80 min running; M2 25 min of the electrical
    // fault and 2 min of a jam, 60 min running.
    let options = DowntimeOptions::new(Some(Entity::Machine)).with_range(
        instant("2025-03-04T09:35:00Z"),
        instant("2025-03-04T11:02:00Z"),
    );
    let b = Downtime::reliability(&s, &options).await?;
    let got = datafusion::arrow::util::pretty::pretty_format_batches(&[b])?.to_string();
    assert_table(
        &got,
        "
        +----------+---------+------------+---------+----------+----------+----------+----------+
        | plant_id | line_id | machine_id | run_min | down_min | failures | mtbf_min | mttr_min |
        +----------+---------+------------+---------+----------+----------+----------+----------+
        | P01      | L1      | M1         | 80.0    | 7.0      | 2        | 40.0     | 3.5      |
        | P01      | L2      | M2         | 60.0    | 27.0     | 2        | 30.0     | 13.5     |
        +----------+---------+------------+---------+----------+----------+----------+----------+
        ",
    );
    let p = Downtime::pareto(&s, &options).await?;
    assert_eq!(
        p.num_rows(),
        4,
        "M1: tool wear, material jam; M2: electrical fault, material jam"
    );
    Ok(())
}
