//! What must hold in the simulated plant.

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType, UInt8Type};
use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use fabrik_datagen::{Format, Plant, PlantConfig};
use fabrik_model::Table;
use fabrik_model::vocab::{MACHINE_STATES, STATES_WITH_REASON, operating_limits};

use crate::fixtures::{clean_run, files, read_ground_truth, read_parquet, tiny_clean};

const DAY_US: i64 = 86_400_000_000;

fn all_parquet(table: Table) -> RecordBatch {
    let run = clean_run();
    let batches: Vec<RecordBatch> = files(&run.dir, Format::Parquet, table)
        .iter()
        .map(|p| read_parquet(p).0)
        .collect();
    arrow::compute::concat_batches(&table.schema(), &batches).expect("concat")
}

fn col_str<'a>(b: &'a RecordBatch, name: &str) -> &'a arrow::array::StringArray {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_string::<i32>()
}

fn col_ts<'a>(b: &'a RecordBatch, name: &str) -> &'a arrow::array::TimestampMicrosecondArray {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_primitive::<TimestampMicrosecondType>()
}

fn col_i64<'a>(b: &'a RecordBatch, name: &str) -> &'a arrow::array::Int64Array {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"))
        .as_primitive::<Int64Type>()
}

fn us(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .timestamp_micros()
}

#[test]
fn machine_states_cover_the_window_without_overlap() {
    let config = tiny_clean();
    let b = all_parquet(Table::MachineStates);
    let (machine, state, reason) = (
        col_str(&b, "machine_id"),
        col_str(&b, "state"),
        col_str(&b, "reason"),
    );
    let (start, end, order) = (
        col_ts(&b, "start_ts"),
        col_ts(&b, "end_ts"),
        col_i64(&b, "order_id"),
    );
    let mut per_machine: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in 0..b.num_rows() {
        per_machine.entry(machine.value(i)).or_default().push(i);
        let s = state.value(i);
        assert!(MACHINE_STATES.contains(&s), "{s}");
        assert_eq!(
            reason.is_valid(i),
            STATES_WITH_REASON.contains(&s),
            "reason null iff RUNNING/IDLE (row {i}, {s})"
        );
        assert_eq!(
            order.is_valid(i),
            s == "RUNNING" || s == "SETUP",
            "order_id while RUNNING/SETUP (row {i}, {s})"
        );
        assert!(end.value(i) > start.value(i));
    }
    assert_eq!(per_machine.len(), 2);
    for (m, rows) in per_machine {
        assert_eq!(
            start.value(rows[0]),
            config.start.timestamp_micros(),
            "{m} starts at the window start"
        );
        assert_eq!(
            end.value(*rows.last().expect("rows")),
            config.start.timestamp_micros() + 2 * DAY_US,
            "{m} ends at the window end"
        );
        for w in rows.windows(2) {
            assert_eq!(
                end.value(w[0]),
                start.value(w[1]),
                "{m}: contiguous, no overlap"
            );
        }
    }
    let setups: Vec<&str> = (0..b.num_rows())
        .filter(|&i| state.value(i) == "SETUP")
        .map(|i| reason.value(i))
        .collect();
    assert!(
        setups
            .iter()
            .all(|r| r.starts_with("changeover ") && r.contains('→')),
        "{setups:?}"
    );
}

#[test]
fn telemetry_parquet_is_sorted_and_says_so() {
    let run = clean_run();
    let paths = files(&run.dir, Format::Parquet, Table::SensorReadings);
    assert_eq!(paths.len(), 2, "one file per day");
    for p in paths {
        let (b, meta) = read_parquet(&p);
        assert!(meta.num_row_groups() > 0);
        for rg in meta.row_groups() {
            let sc = rg.sorting_columns().expect("sorting_columns declared");
            assert_eq!(
                sc.iter()
                    .map(|c| (c.column_idx, c.descending))
                    .collect::<Vec<_>>(),
                vec![(3, false), (5, false)]
            );
        }
        let (sensor, ts) = (col_str(&b, "sensor_id"), col_ts(&b, "ts"));
        for i in 1..b.num_rows() {
            assert!(
                (sensor.value(i - 1), ts.value(i - 1)) < (sensor.value(i), ts.value(i)),
                "{}: row {i}",
                p.display()
            );
        }
        // every reading belongs to the file's day
        let day = p
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.strip_prefix("sensor_readings-"))
            .expect("dated name");
        let day0 = NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .expect("date")
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_micros();
        assert!((0..b.num_rows()).all(|i| (day0..day0 + DAY_US).contains(&ts.value(i))));
    }
}

#[test]
fn counts_refer_to_real_orders_and_lots() {
    let counts = all_parquet(Table::ProductionCounts);
    let orders = all_parquet(Table::Orders);
    let deliveries = all_parquet(Table::Deliveries);
    let sku_of: HashMap<i64, &str> = (0..orders.num_rows())
        .map(|i| {
            (
                col_i64(&orders, "order_id").value(i),
                col_str(&orders, "sku").value(i),
            )
        })
        .collect();
    let lots: HashSet<&str> = col_str(&deliveries, "lot_id").iter().flatten().collect();
    let (oid, sku, lot) = (
        col_i64(&counts, "order_id"),
        col_str(&counts, "sku"),
        col_str(&counts, "lot_id"),
    );
    assert!(counts.num_rows() > 0);
    for i in 0..counts.num_rows() {
        assert_eq!(
            sku_of.get(&oid.value(i)).copied(),
            Some(sku.value(i)),
            "row {i}: order and sku exist and match"
        );
        if lot.is_valid(i) {
            assert!(
                lots.contains(lot.value(i)),
                "lot {} comes from a delivery",
                lot.value(i)
            );
        }
    }
    let good: i64 = counts
        .column_by_name("good_qty")
        .expect("good")
        .as_primitive::<Int32Type>()
        .iter()
        .flatten()
        .map(i64::from)
        .sum();
    assert!(good > 0);
}

#[test]
fn deliveries_arrive_after_they_are_ordered() {
    let d = all_parquet(Table::Deliveries);
    let (ordered, promised, received) = (
        col_ts(&d, "ordered_at"),
        col_ts(&d, "promised_at"),
        col_ts(&d, "received_at"),
    );
    let (qty, got, rejected) = (
        col_i64(&d, "qty_ordered"),
        col_i64(&d, "qty_received"),
        col_i64(&d, "qty_rejected"),
    );
    let (mut open, mut late) = (0, 0);
    for i in 0..d.num_rows() {
        assert!(qty.value(i) > 0 && promised.value(i) > ordered.value(i));
        if received.is_valid(i) {
            assert!(
                received.value(i) >= ordered.value(i),
                "row {i}: received before ordered"
            );
            assert!(
                got.value(i) > 0 && rejected.value(i) >= 0 && rejected.value(i) <= got.value(i)
            );
            late += usize::from(received.value(i) > promised.value(i) + DAY_US);
        } else {
            open += 1;
            assert!(got.is_null(i) && rejected.is_null(i));
        }
    }
    assert!(open > 0 && late > 0, "{open} open, {late} late");
}

#[test]
fn faults_precede_their_breakdowns_and_show_in_the_signal() {
    let run = clean_run();
    let faults = read_ground_truth(&run.dir.join("ground_truth/faults.csv"));
    assert!(
        !faults.is_empty(),
        "fault_rate 1.0 over 4 machine-days gives faults"
    );
    let states = all_parquet(Table::MachineStates);
    let telemetry = all_parquet(Table::SensorReadings);
    let (sid, metric, ts, value) = (
        col_str(&telemetry, "sensor_id"),
        col_str(&telemetry, "metric"),
        col_ts(&telemetry, "ts"),
        telemetry
            .column_by_name("value")
            .expect("value")
            .as_primitive::<Float64Type>(),
    );
    let mut beyond = 0;
    for f in &faults {
        let (onset, breakdown) = (us(&f["onset_ts"]), us(&f["breakdown_ts"]));
        assert!(onset < breakdown);
        let down = (0..states.num_rows()).any(|i| {
            col_str(&states, "machine_id").value(i) == f["machine_id"]
                && col_str(&states, "state").value(i) == "DOWN"
                && col_ts(&states, "start_ts").value(i) == breakdown
                && col_str(&states, "reason").value(i) == f["down_reason"]
        });
        assert!(down, "no DOWN interval at the breakdown of {f:?}");
        let (lo, hi) = operating_limits(&f["metric"]).expect("metric");
        let crossed = (0..telemetry.num_rows()).any(|i| {
            sid.value(i) == f["sensor_id"]
                && metric.value(i) == f["metric"]
                && (onset..breakdown).contains(&ts.value(i))
                && value.is_valid(i)
                && (value.value(i) > hi || value.value(i) < lo)
        });
        beyond += usize::from(crossed);
    }
    assert!(
        beyond * 2 >= faults.len(),
        "only {beyond} of {} faults leave the operating limits",
        faults.len()
    );
}

#[test]
fn normal_readings_stay_inside_the_limits_and_anomalies_are_true() {
    let run = clean_run();
    let telemetry = all_parquet(Table::SensorReadings);
    let faulty: HashSet<String> = read_ground_truth(&run.dir.join("ground_truth/faults.csv"))
        .into_iter()
        .map(|f| f["sensor_id"].clone())
        .collect();
    let (sid, metric, ts) = (
        col_str(&telemetry, "sensor_id"),
        col_str(&telemetry, "metric"),
        col_ts(&telemetry, "ts"),
    );
    let value = telemetry
        .column_by_name("value")
        .expect("value")
        .as_primitive::<Float64Type>();
    let quality = telemetry
        .column_by_name("quality")
        .expect("quality")
        .as_primitive::<UInt8Type>();
    let (mut n, mut out) = (0usize, 0usize);
    let mut by_sensor: HashMap<&str, Vec<usize>> = HashMap::new();
    for i in 0..telemetry.num_rows() {
        by_sensor.entry(sid.value(i)).or_default().push(i);
        assert_eq!(
            value.is_null(i),
            quality.value(i) == 3,
            "value null exactly for sensor faults"
        );
        if faulty.contains(sid.value(i)) || value.is_null(i) {
            continue;
        }
        let (lo, hi) = operating_limits(metric.value(i)).expect("metric");
        n += 1;
        out += usize::from(value.value(i) < lo || value.value(i) > hi);
    }
    assert!(
        n > 10_000 && (out as f64) < 0.002 * n as f64,
        "{out} of {n} normal readings outside the limits"
    );

    let anomalies = read_ground_truth(&run.dir.join("ground_truth/sensor_anomalies.csv"));
    let kinds: HashSet<&str> = anomalies.iter().map(|a| a["kind"].as_str()).collect();
    assert!(
        kinds.contains("dropout") && kinds.contains("spike"),
        "{kinds:?}"
    );
    for a in &anomalies {
        let (s, e) = (us(&a["start_ts"]), us(&a["end_ts"]));
        let rows: Vec<usize> = by_sensor[a["sensor_id"].as_str()]
            .iter()
            .copied()
            .filter(|&i| (s..e).contains(&ts.value(i)))
            .collect();
        match a["kind"].as_str() {
            "dropout" => assert!(rows.is_empty(), "readings inside a dropout: {a:?}"),
            "stuck" => {
                let vals: HashSet<u64> = rows
                    .iter()
                    .filter(|&&i| value.is_valid(i))
                    .map(|&i| value.value(i).to_bits())
                    .collect();
                assert!(vals.len() <= 1, "a stuck sensor repeats one value: {a:?}");
            }
            _ => assert_eq!(rows.len(), 1, "a spike is one reading: {a:?}"),
        }
    }
}

fn orders_730() -> RecordBatch {
    let config = PlantConfig {
        order_history_days: 730,
        orders_per_day: 40.0,
        ..PlantConfig::tiny(3)
    };
    Plant::new(&config)
        .expect("plant")
        .orders()
        .expect("orders")
}

#[test]
fn orders_span_two_years_with_promotions_and_a_weekly_pattern() {
    let o = orders_730();
    let created = col_ts(&o, "created_at");
    let (first, last) = (created.value(0), created.value(o.num_rows() - 1));
    assert!(last - first >= 727 * DAY_US, "orders span two years");
    assert!(
        created.values().windows(2).all(|w| w[0] <= w[1]),
        "sorted by created_at"
    );
    let mut per_day: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for t in created.iter().flatten() {
        let d = DateTime::<Utc>::from_timestamp_micros(t)
            .expect("ts")
            .date_naive();
        *per_day.entry(d).or_default() += 1.0;
    }
    let around = |d: NaiveDate| {
        // the same weekday in the 4 weeks before
        let v: Vec<f64> = (1..=4)
            .map(|k| {
                per_day
                    .get(&(d - chrono::Duration::weeks(k)))
                    .copied()
                    .unwrap_or(0.0)
            })
            .collect();
        v.iter().sum::<f64>() / 4.0
    };
    let mut promos = 0;
    for year in [2023, 2024] {
        let singles = NaiveDate::from_ymd_opt(year, 11, 11).expect("date");
        let thanksgiving =
            NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Thu, 4).expect("date");
        let black_friday = thanksgiving.succ_opt().expect("date");
        for d in [singles, black_friday] {
            if per_day.contains_key(&d) {
                let ratio = per_day[&d] / around(d);
                assert!(ratio > 1.8, "{d}: only {ratio:.2}× its usual weekday");
                promos += 1;
            }
        }
    }
    assert!(promos >= 3, "two years hold at least three promotion days");
    let mean = |wds: &[Weekday]| {
        let v: Vec<f64> = per_day
            .iter()
            .filter(|(d, _)| wds.contains(&d.weekday()))
            .map(|(_, n)| *n)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let ratio = mean(&[Weekday::Sat, Weekday::Sun]) / mean(&[Weekday::Tue, Weekday::Wed]);
    assert!(ratio > 1.15, "weekend / midweek = {ratio:.2}");
}

#[test]
fn order_options_trend_and_statuses_fit_their_age() {
    let o = orders_730();
    let created = col_ts(&o, "created_at");
    let (panel, color, status, family, sku) = (
        col_str(&o, "panel"),
        col_str(&o, "color"),
        col_str(&o, "status"),
        col_str(&o, "product_family"),
        col_str(&o, "sku"),
    );
    let capacity = o
        .column_by_name("capacity_kg")
        .expect("capacity")
        .as_primitive::<arrow::datatypes::Int16Type>();
    let promised = col_ts(&o, "promised_at");
    let customer = col_str(&o, "customer_id");
    let end = created.value(o.num_rows() - 1);
    let share = |from: i64, to: i64, pred: &dyn Fn(usize) -> bool| {
        let rows: Vec<usize> = (0..o.num_rows())
            .filter(|&i| (from..to).contains(&created.value(i)))
            .collect();
        rows.iter().filter(|&&i| pred(i)).count() as f64 / rows.len() as f64
    };
    let first = created.value(0);
    let early = |p: &dyn Fn(usize) -> bool| share(first, first + 120 * DAY_US, p);
    let late = |p: &dyn Fn(usize) -> bool| share(end - 120 * DAY_US, end + 1, p);
    let smart = |i: usize| panel.value(i) == "smart_wifi";
    let cream = |i: usize| color.value(i) == "cream";
    assert!(late(&smart) > early(&smart) + 0.08, "smart_wifi rises");
    assert!(late(&cream) < early(&cream) * 0.5, "cream fades");
    let skus: HashSet<&str> = sku.iter().flatten().collect();
    assert!(
        skus.len() > 500,
        "a long tail of configurations: {}",
        skus.len()
    );
    let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..o.num_rows() {
        let s = status.value(i);
        *statuses.entry(s).or_default() += 1;
        let age = end - created.value(i);
        if age > 40 * DAY_US {
            assert!(s == "delivered" || s == "cancelled", "an old order is {s}");
        }
        if s == "placed" {
            assert!(age < 4 * DAY_US, "placed orders are recent");
        }
        if promised.is_valid(i) {
            assert!(promised.value(i) > created.value(i) + 7 * DAY_US);
        } else {
            assert!(
                s == "placed" || s == "cancelled",
                "only unconfirmed orders lack a promised date ({s})"
            );
        }
        let laundry = matches!(
            family.value(i),
            "washing_machine" | "dryer" | "washer_dryer"
        );
        assert_eq!(
            capacity.is_valid(i),
            laundry,
            "capacity_kg only for laundry"
        );
        let cid = customer.value(i);
        assert!(
            cid.len() == 9 && cid.starts_with('C') && cid[1..].bytes().all(|b| b.is_ascii_digit()),
            "{cid}"
        );
        let parts: Vec<&str> = sku.value(i).split('-').collect();
        assert_eq!(parts.len(), 5, "{}", sku.value(i));
        assert_eq!(parts[1] == "XX", !laundry);
    }
    for s in ["delivered", "cancelled", "confirmed"] {
        assert!(statuses.contains_key(s), "{statuses:?}");
    }
}

#[test]
fn scrap_rises_with_developing_faults() {
    let config = PlantConfig {
        lines_per_plant: 2,
        machines_per_line: 5,
        days: 10,
        order_history_days: 60,
        orders_per_day: 400.0,
        fault_rate: 1.0,
        ..PlantConfig::tiny(5)
    };
    let plant = Plant::new(&config).expect("plant");
    let counts = plant.production_counts().expect("counts");
    let faults = plant.faults();
    let (machine, ts) = (col_str(&counts, "machine_id"), col_ts(&counts, "ts"));
    let good = counts
        .column_by_name("good_qty")
        .expect("good")
        .as_primitive::<Int32Type>();
    let scrap = counts
        .column_by_name("scrap_qty")
        .expect("scrap")
        .as_primitive::<Int32Type>();
    let (mut in_fault, mut normal) = ([0i64; 2], [0i64; 2]);
    for i in 0..counts.num_rows() {
        let t = ts.value(i);
        // the last third of a fault's development
        let hot = faults.iter().any(|f| {
            let (on, bd) = (f.onset.timestamp_micros(), f.breakdown.timestamp_micros());
            f.machine_id == machine.value(i) && t > on + (bd - on) * 2 / 3 && t <= bd
        });
        let acc = if hot { &mut in_fault } else { &mut normal };
        acc[0] += i64::from(good.value(i));
        acc[1] += i64::from(scrap.value(i));
    }
    let rate = |a: [i64; 2]| a[1] as f64 / (a[0] + a[1]).max(1) as f64;
    assert!(
        in_fault[0] + in_fault[1] > 100,
        "enough units built near faults: {in_fault:?}"
    );
    assert!(
        rate(in_fault) > 1.5 * rate(normal),
        "scrap near faults {:.4} vs normal {:.4}",
        rate(in_fault),
        rate(normal)
    );
}
