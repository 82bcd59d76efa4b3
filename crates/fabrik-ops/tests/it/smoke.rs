//! The analyses on a tiny generated plant (`PlantConfig::tiny`: one line of two stations,
//! Monday 2025-03-03 00:00Z to Tuesday 00:00Z, 90 days of orders and deliveries): figures in
//! range, and the totals reconcile with the tables and the calendar.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use fabrik_datagen::{Plant, PlantConfig};
use fabrik_model::Table;
use fabrik_ops::{
    Downtime, DowntimeOptions, Entity, Oee, OeeOptions, Period, ScorecardOptions, ShiftCalendar,
    SixLosses, SupplierScorecard,
};

use crate::{TestResult, session, us};

fn floats(b: &RecordBatch, c: &str) -> Vec<Option<f64>> {
    b.column_by_name(c)
        .expect("column")
        .as_primitive::<Float64Type>()
        .iter()
        .collect()
}

fn ints(b: &RecordBatch, c: &str) -> Vec<i64> {
    b.column_by_name(c)
        .expect("column")
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

fn sum(b: &RecordBatch, c: &str) -> f64 {
    floats(b, c).into_iter().flatten().sum()
}

async fn scalar_f64(s: &fabrik_sql::Session, sql: &str) -> Result<f64, Box<dyn std::error::Error>> {
    let b = s.query(sql).await?;
    let b = concat_batches(&b[0].schema(), &b)?;
    Ok(b.column(0).as_primitive::<Float64Type>().value(0))
}

#[tokio::test]
async fn a_tiny_generated_plant_reconciles() -> TestResult {
    let plant = Plant::new(&PlantConfig::tiny(7))?;
    let s = session(vec![
        (Table::MachineStates, plant.machine_states()?),
        (Table::ProductionCounts, plant.production_counts()?),
        (Table::Deliveries, plant.deliveries()?),
        (Table::Suppliers, plant.suppliers()?),
    ]);

    let oee = Oee::compute(&s, &OeeOptions::new(Entity::Machine, Period::Shift)).await?;
    assert!(oee.num_rows() >= 6, "2 machines x 3 worked shifts at least");
    for c in ["availability", "quality"] {
        for v in floats(&oee, c).into_iter().flatten() {
            assert!((0.0..=1.0).contains(&v), "{c} = {v}");
        }
    }
    // a unit is counted, whole, in the shift it is finished in, so a shift that finishes a
    // unit begun before the shift change can run above its ideal; over the day, every
    // machine is slower than ideal
    for v in floats(&oee, "performance").into_iter().flatten() {
        assert!(v > 0.0 && v < 1.25, "performance = {v}");
    }
    assert!(sum(&oee, "ideal_s") < sum(&oee, "run_s"));
    // every row: planned stops + running + idle + setup + down = the recorded shift time
    let (rec, stop, run, idle, setup, down) = (
        floats(&oee, "recorded_s"),
        floats(&oee, "planned_stop_s"),
        floats(&oee, "run_s"),
        floats(&oee, "idle_s"),
        floats(&oee, "setup_s"),
        floats(&oee, "down_s"),
    );
    for i in 0..oee.num_rows() {
        let parts = [&stop, &run, &idle, &setup, &down]
            .iter()
            .map(|c| c[i].unwrap_or(f64::NAN))
            .sum::<f64>();
        assert!((parts - rec[i].unwrap_or(f64::NAN)).abs() < 1e-6);
    }
    // the states cover the window, so each machine's recorded time is the worked shift
    // time of the window by the calendar: Monday 01:00 to Tuesday 01:00 plant time, of
    // which 01:00-06:00 belongs to Sunday's night shift (not worked): 19 hours
    let tl = ShiftCalendar::default()
        .timeline(us("2025-03-03T00:00:00Z"), us("2025-03-04T00:00:00Z"))?;
    let worked: i64 = tl
        .pieces()
        .iter()
        .filter(|p| p.working_slot().is_some())
        .map(|p| p.len_us())
        .sum();
    assert_eq!(worked, 19 * 3_600_000_000);
    assert!((sum(&oee, "recorded_s") - 2.0 * 19.0 * 3600.0).abs() < 1e-6);
    // every unit counted lies in worked time (the plant is closed until Monday 06:15)
    let good: i64 = ints(&oee, "good_qty").iter().sum();
    let counted = scalar_f64(
        &s,
        "SELECT CAST(sum(good_qty) AS DOUBLE) FROM production_counts",
    )
    .await?;
    assert!(good > 0);
    assert_eq!(good as f64, counted);
    // the same totals by line and day
    let by_day = Oee::compute(&s, &OeeOptions::new(Entity::Line, Period::Day)).await?;
    for c in ["recorded_s", "run_s", "down_s", "ideal_s"] {
        assert!((sum(&by_day, c) - sum(&oee, c)).abs() < 1e-6, "{c}");
    }
    // the six losses add up to the planned busy time
    let losses = SixLosses::compute(&s, &OeeOptions::new(Entity::Machine, Period::Shift)).await?;
    let parts = [
        "breakdown_s",
        "setup_s",
        "idle_s",
        "speed_loss_s",
        "quality_loss_s",
        "productive_s",
    ]
    .iter()
    .map(|c| sum(&losses, c))
    .sum::<f64>();
    assert!((parts - sum(&losses, "planned_busy_s")).abs() < 1e-6);
    // machines run slower than ideal (per shift a unit started before a stop can land in the
    // next shift, so only the total is sure to be positive)
    assert!(sum(&losses, "speed_loss_s") > 0.0);

    // the Pareto covers all DOWN time; cumulative shares rise to 1
    let pareto = Downtime::pareto(&s, &DowntimeOptions::new(None)).await?;
    let down_min = scalar_f64(
        &s,
        "SELECT sum(CAST(end_ts AS BIGINT) - CAST(start_ts AS BIGINT)) / 6e7 FROM machine_states WHERE state = 'DOWN'",
    )
    .await?;
    assert!(pareto.num_rows() > 0);
    assert!((sum(&pareto, "minutes") - down_min).abs() < 1e-6);
    let cum: Vec<f64> = floats(&pareto, "cumulative_share")
        .into_iter()
        .flatten()
        .collect();
    assert!(cum.windows(2).all(|w| w[0] <= w[1]));
    assert!((cum.last().copied().unwrap_or(0.0) - 1.0).abs() < 1e-12);
    let rel = Downtime::reliability(&s, &DowntimeOptions::new(Some(Entity::Machine))).await?;
    assert_eq!(rel.num_rows(), 2);
    assert_eq!(
        ints(&rel, "failures").iter().sum::<i64>(),
        ints(&pareto, "failures").iter().sum::<i64>()
    );

    // suppliers: rates in [0, 1], ppm >= 0, p50 <= p95
    let card = SupplierScorecard::compute(&s, &ScorecardOptions::default()).await?;
    assert!(card.num_rows() > 0);
    assert!(ints(&card, "po_lines").iter().sum::<i64>() > 0);
    for c in ["otif", "on_time", "in_full"] {
        assert!(
            floats(&card, c)
                .into_iter()
                .flatten()
                .all(|v| (0.0..=1.0).contains(&v)),
            "{c}"
        );
    }
    assert!(
        floats(&card, "defect_ppm")
            .into_iter()
            .flatten()
            .all(|v| v >= 0.0)
    );
    let (p50, p95) = (
        floats(&card, "lead_time_p50_d"),
        floats(&card, "lead_time_p95_d"),
    );
    assert!(p50.iter().zip(&p95).all(|(a, b)| match (a, b) {
        (Some(a), Some(b)) => a <= b,
        _ => true,
    }));
    // every part has one supplier in the synthetic plant: no price variance
    assert!(
        floats(&card, "price_variance")
            .into_iter()
            .flatten()
            .all(|v| v.abs() < 1e-9)
    );
    let trend = s.query("SELECT * FROM supplier_trend()").await?;
    assert!(trend.iter().map(RecordBatch::num_rows).sum::<usize>() > 0);
    assert_eq!(
        card.column_by_name("supplier_id").map(|c| c.null_count()),
        Some(0)
    );
    Ok(())
}
