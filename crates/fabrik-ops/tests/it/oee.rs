//! OEE and the six big losses on a hand-made day of two machines of line L1 (plant P01,
//! UTC+1, the synthetic calendar: early 06–14, late 14–22, night 22–06, Monday to Saturday).
//!
//! Machine M1, Tuesday 2025-03-04, plant time:
//!
//! | interval | state | early | late | night (Tue) | night (Wed) |
//! |---|---|---|---|---|---|
//! | 12:00–14:30 | RUNNING | 2 h | 0.5 h | | |
//! | 14:30–14:45 | PLANNED_STOP | | 0.25 h | | |
//! | 14:45–15:15 | DOWN | | 0.5 h | | |
//! | 15:15–15:30 | SETUP | | 0.25 h | | |
//! | 15:30–16:00 | RUNNING | | 0.5 h | | |
//! | 16:00–16:30 | IDLE | | 0.5 h | | |
//! | 23:00–01:00 | RUNNING | | | 1 h + 1 h | |
//! | 01:00–02:00 | DOWN | | | 1 h | |
//! | Sun 10:00–11:00 | RUNNING | not a working day: left out |
//!
//! Counts of M1 (end of interval, good, scrap, ideal cycle s): 13:00 (10, 0, 300),
//! 14:00 (8, 1, 300) — at the boundary, so in the early shift —, 14:30 (2, 0, 300),
//! 16:00 (4, 1, 240) — another configuration —, 00:00 (5, 1, 600) — Tuesday —,
//! 01:00 (6, 0, 600), Sunday 11:00 (10, 0, 300) — left out.
//!
//! Machine M2: 06:00–06:15 PLANNED_STOP, 06:15–14:00 RUNNING, count 14:00 (100, 0, 270).
//!
//! Hand-computed per machine and shift:
//!
//! - M1 early: recorded 7200 s, run 7200, ideal 19 × 300 = 5700; A = 1,
//!   P = 5700 / 7200 = 0.79167, Q = 18 / 19 = 0.94737, OEE = 0.75.
//! - M1 late: recorded 9000, planned 900, PBT 8100 = run 1800 + 1800 + idle 1800 + setup
//!   900 + down 1800; ideal 2 × 300 + 5 × 240 = 1800; A = 3600 / 8100 = 0.44444,
//!   P = 0.5, Q = 6 / 7 = 0.85714, OEE = 0.19048.
//! - M1 night: recorded 10800, run 7200, down 3600; ideal 12 × 600 = 7200; A = 0.66667,
//!   P = 1, Q = 11 / 12 = 0.91667, OEE = 0.61111.
//! - M2 early: recorded 28800, planned 900, run 27900, ideal 27000; A = 1,
//!   P = 27000 / 27900 = 0.96774, Q = 1.

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Date32Type, Float64Type, Int64Type};
use fabrik_model::Table;
use fabrik_ops::{Entity, Oee, OeeOptions, Period, SixLosses};

use crate::{TestResult, assert_table, counts, pretty, session, states};

fn plant() -> fabrik_sql::Session {
    let s = states(&[
        (
            "M1",
            "L1",
            "RUNNING",
            None,
            "2025-03-04T12:00:00+01:00",
            "2025-03-04T14:30:00+01:00",
        ),
        (
            "M1",
            "L1",
            "PLANNED_STOP",
            Some("break"),
            "2025-03-04T14:30:00+01:00",
            "2025-03-04T14:45:00+01:00",
        ),
        (
            "M1",
            "L1",
            "DOWN",
            Some("tool wear"),
            "2025-03-04T14:45:00+01:00",
            "2025-03-04T15:15:00+01:00",
        ),
        (
            "M1",
            "L1",
            "SETUP",
            Some("changeover"),
            "2025-03-04T15:15:00+01:00",
            "2025-03-04T15:30:00+01:00",
        ),
        (
            "M1",
            "L1",
            "RUNNING",
            None,
            "2025-03-04T15:30:00+01:00",
            "2025-03-04T16:00:00+01:00",
        ),
        (
            "M1",
            "L1",
            "IDLE",
            None,
            "2025-03-04T16:00:00+01:00",
            "2025-03-04T16:30:00+01:00",
        ),
        (
            "M1",
            "L1",
            "RUNNING",
            None,
            "2025-03-04T23:00:00+01:00",
            "2025-03-05T01:00:00+01:00",
        ),
        (
            "M1",
            "L1",
            "DOWN",
            Some("material jam"),
            "2025-03-05T01:00:00+01:00",
            "2025-03-05T02:00:00+01:00",
        ),
        (
            "M1",
            "L1",
            "RUNNING",
            None,
            "2025-03-09T10:00:00+01:00",
            "2025-03-09T11:00:00+01:00",
        ),
        (
            "M2",
            "L1",
            "PLANNED_STOP",
            Some("shift change"),
            "2025-03-04T06:00:00+01:00",
            "2025-03-04T06:15:00+01:00",
        ),
        (
            "M2",
            "L1",
            "RUNNING",
            None,
            "2025-03-04T06:15:00+01:00",
            "2025-03-04T14:00:00+01:00",
        ),
    ]);
    let c = counts(&[
        ("M1", "L1", "2025-03-04T13:00:00+01:00", 10, 0, 300.0),
        ("M1", "L1", "2025-03-04T14:00:00+01:00", 8, 1, 300.0),
        ("M1", "L1", "2025-03-04T14:30:00+01:00", 2, 0, 300.0),
        ("M1", "L1", "2025-03-04T16:00:00+01:00", 4, 1, 240.0),
        ("M1", "L1", "2025-03-05T00:00:00+01:00", 5, 1, 600.0),
        ("M1", "L1", "2025-03-05T01:00:00+01:00", 6, 0, 600.0),
        ("M1", "L1", "2025-03-09T11:00:00+01:00", 10, 0, 300.0),
        ("M2", "L1", "2025-03-04T14:00:00+01:00", 100, 0, 270.0),
    ]);
    session(vec![
        (Table::MachineStates, s),
        (Table::ProductionCounts, c),
    ])
}

#[tokio::test]
async fn oee_per_machine_and_shift_from_sql() -> TestResult {
    let s = plant();
    let times = pretty(
        &s,
        "SELECT machine_id, date, shift, shift_start, recorded_s, planned_stop_s, planned_busy_s,
                run_s, idle_s, setup_s, down_s
         FROM oee('machine', 'shift')",
    )
    .await?;
    assert_table(
        &times,
        "
        +------------+------------+-------+----------------------+------------+----------------+----------------+---------+--------+---------+--------+
        | machine_id | date       | shift | shift_start          | recorded_s | planned_stop_s | planned_busy_s | run_s   | idle_s | setup_s | down_s |
        +------------+------------+-------+----------------------+------------+----------------+----------------+---------+--------+---------+--------+
        | M1         | 2025-03-04 | early | 2025-03-04T05:00:00Z | 7200.0     | 0.0            | 7200.0         | 7200.0  | 0.0    | 0.0     | 0.0    |
        | M1         | 2025-03-04 | late  | 2025-03-04T13:00:00Z | 9000.0     | 900.0          | 8100.0         | 3600.0  | 1800.0 | 900.0   | 1800.0 |
        | M1         | 2025-03-04 | night | 2025-03-04T21:00:00Z | 10800.0    | 0.0            | 10800.0        | 7200.0  | 0.0    | 0.0     | 3600.0 |
        | M2         | 2025-03-04 | early | 2025-03-04T05:00:00Z | 28800.0    | 900.0          | 27900.0        | 27900.0 | 0.0    | 0.0     | 0.0    |
        +------------+------------+-------+----------------------+------------+----------------+----------------+---------+--------+---------+--------+
        ",
    );
    let ratios = pretty(
        &s,
        "SELECT machine_id, shift, good_qty, scrap_qty, ideal_s,
                round(availability, 5) AS a, round(performance, 5) AS p,
                round(quality, 5) AS q, round(oee, 5) AS oee
         FROM oee('machine', 'shift')",
    )
    .await?;
    assert_table(
        &ratios,
        "
        +------------+-------+----------+-----------+---------+---------+---------+---------+---------+
        | machine_id | shift | good_qty | scrap_qty | ideal_s | a       | p       | q       | oee     |
        +------------+-------+----------+-----------+---------+---------+---------+---------+---------+
        | M1         | early | 18       | 1         | 5700.0  | 1.0     | 0.79167 | 0.94737 | 0.75    |
        | M1         | late  | 6        | 1         | 1800.0  | 0.44444 | 0.5     | 0.85714 | 0.19048 |
        | M1         | night | 11       | 1         | 7200.0  | 0.66667 | 1.0     | 0.91667 | 0.61111 |
        | M2         | early | 100      | 0         | 27000.0 | 1.0     | 0.96774 | 1.0     | 0.96774 |
        +------------+-------+----------+-----------+---------+---------+---------+---------+---------+
        ",
    );
    Ok(())
}

fn f64_at(b: &RecordBatch, name: &str, row: usize) -> f64 {
    b.column_by_name(name)
        .expect("column")
        .as_primitive::<Float64Type>()
        .value(row)
}

fn i64_at(b: &RecordBatch, name: &str, row: usize) -> i64 {
    b.column_by_name(name)
        .expect("column")
        .as_primitive::<Int64Type>()
        .value(row)
}

#[tokio::test]
async fn oee_per_line_and_day_from_rust() -> TestResult {
    let s = plant();
    let b = Oee::compute(&s, &OeeOptions::new(Entity::Line, Period::Day)).await?;
    assert_eq!(
        b.num_rows(),
        2,
        "Tuesday and Wednesday; Sunday is not worked"
    );
    assert!(b.column_by_name("machine_id").is_none());
    let dates = b
        .column_by_name("date")
        .expect("date")
        .as_primitive::<Date32Type>();
    let day = |i: usize| Date32Type::to_naive_date_opt(dates.value(i)).expect("date");
    assert_eq!(day(0), NaiveDate::from_ymd_opt(2025, 3, 4).expect("date"));
    assert_eq!(day(1), NaiveDate::from_ymd_opt(2025, 3, 5).expect("date"));
    // Tuesday: M1 12:00-24:00 (19800 s recorded, 900 planned, run 7200 + 3600 + 3600) and
    // M2 06:00-14:00 (28800, 900, 27900); counts up to the one at midnight.
    assert_eq!(f64_at(&b, "recorded_s", 0), 19800.0 + 28800.0);
    assert_eq!(f64_at(&b, "planned_busy_s", 0), 18900.0 + 27900.0);
    assert_eq!(f64_at(&b, "run_s", 0), 14400.0 + 27900.0);
    assert_eq!(i64_at(&b, "good_qty", 0), 29 + 100);
    assert_eq!(i64_at(&b, "scrap_qty", 0), 3);
    // ideal: 19 x 300 + 2 x 300 + 5 x 240 + 6 x 600 (M1) + 100 x 270 (M2)
    assert_eq!(f64_at(&b, "ideal_s", 0), 11100.0 + 27000.0);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(f64_at(&b, "availability", 0), 42300.0 / 46800.0));
    assert!(close(f64_at(&b, "performance", 0), 38100.0 / 42300.0));
    assert!(close(f64_at(&b, "quality", 0), 129.0 / 132.0));
    assert!(close(
        f64_at(&b, "oee", 0),
        42300.0 / 46800.0 * 38100.0 / 42300.0 * 129.0 / 132.0
    ));
    // Wednesday 00:00-02:00: run 3600, down 3600, 6 good at 600 s
    assert_eq!(f64_at(&b, "recorded_s", 1), 7200.0);
    assert_eq!(f64_at(&b, "availability", 1), 0.5);
    assert_eq!(f64_at(&b, "performance", 1), 1.0);
    assert_eq!(f64_at(&b, "oee", 1), 0.5);
    Ok(())
}

#[tokio::test]
async fn six_big_losses_reconcile_with_planned_busy_time() -> TestResult {
    let s = plant();
    // M1 late: breakdown 1800, setup 900, idle 1800, speed 3600 - 1800 = 1800,
    // quality 1 x 240 = 240, productive 2 x 300 + 4 x 240 = 1560; sum 8100 = PBT.
    let got = pretty(
        &s,
        "SELECT machine_id, shift, planned_busy_s, breakdown_s, setup_s, idle_s, speed_loss_s,
                quality_loss_s, productive_s
         FROM six_big_losses('machine', 'shift') WHERE machine_id = 'M1'",
    )
    .await?;
    assert_table(
        &got,
        "
        +------------+-------+----------------+-------------+---------+--------+--------------+----------------+--------------+
        | machine_id | shift | planned_busy_s | breakdown_s | setup_s | idle_s | speed_loss_s | quality_loss_s | productive_s |
        +------------+-------+----------------+-------------+---------+--------+--------------+----------------+--------------+
        | M1         | early | 7200.0         | 0.0         | 0.0     | 0.0    | 1500.0       | 300.0          | 5400.0       |
        | M1         | late  | 8100.0         | 1800.0      | 900.0   | 1800.0 | 1800.0       | 240.0          | 1560.0       |
        | M1         | night | 10800.0        | 3600.0      | 0.0     | 0.0    | 0.0          | 600.0          | 6600.0       |
        +------------+-------+----------------+-------------+---------+--------+--------------+----------------+--------------+
        ",
    );
    let b = SixLosses::compute(&s, &OeeOptions::new(Entity::Line, Period::Shift)).await?;
    for i in 0..b.num_rows() {
        let parts: f64 = [
            "breakdown_s",
            "setup_s",
            "idle_s",
            "speed_loss_s",
            "quality_loss_s",
            "productive_s",
        ]
        .iter()
        .map(|c| f64_at(&b, c, i))
        .sum();
        assert!((parts - f64_at(&b, "planned_busy_s", i)).abs() < 1e-9);
    }
    Ok(())
}

#[tokio::test]
async fn oee_arguments_are_checked() -> TestResult {
    let s = plant();
    let err = s
        .query("SELECT * FROM oee('plant', 'shift')")
        .await
        .expect_err("plant is not an entity");
    assert!(
        err.to_string()
            .contains("argument 1 must be 'machine' or 'line'"),
        "{err}"
    );
    let err = s
        .query("SELECT * FROM oee('line')")
        .await
        .expect_err("one argument");
    assert!(err.to_string().contains("called with 1 argument"), "{err}");
    // a range clips the intervals: 13:00-15:00 plant time on Tuesday
    let b = s
        .query(
            "SELECT machine_id, shift, recorded_s, run_s, down_s FROM oee('machine', 'shift',
               TIMESTAMP '2025-03-04T12:00:00Z', '2025-03-04T14:00:00Z')",
        )
        .await?;
    let got = datafusion::arrow::util::pretty::pretty_format_batches(&b)?.to_string();
    assert_table(
        &got,
        "
        +------------+-------+------------+--------+--------+
        | machine_id | shift | recorded_s | run_s  | down_s |
        +------------+-------+------------+--------+--------+
        | M1         | early | 3600.0     | 3600.0 | 0.0    |
        | M1         | late  | 3600.0     | 1800.0 | 900.0  |
        | M2         | early | 3600.0     | 3600.0 | 0.0    |
        +------------+-------+------------+--------+--------+
        ",
    );
    assert!(b.iter().all(|b| b.column(0).null_count() == 0));
    Ok(())
}
