//! What to simulate: [`PlantConfig`] (size, windows, seed) and [`DirtyConfig`] (defect rates).

use chrono::{DateTime, TimeZone, Timelike, Utc};

use crate::error::{Error, Result};

/// The size and time windows of the synthetic plant, and its seed.
///
/// Two windows end at the same instant (`start + days`): the **operations window**
/// (`start`, `days`) holds machine states, production counts, telemetry and inventory
/// snapshots; the **order history** (`order_history_days`) holds orders and deliveries.
///
/// Every field can be set directly; [`PlantConfig::validate`] (called by everything that
/// generates) says what is out of range and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantConfig {
    /// Seed of every random stream: the same seed gives byte-identical files.
    pub seed: u64,
    /// Number of plants (`P01` …), 1 to 99.
    pub plants: u32,
    /// Assembly lines per plant (`P01-L01` …), 1 to 99.
    pub lines_per_plant: u32,
    /// Machines (stations) per line (`P01-L01-M01` …), 1 to 99. Station types cycle
    /// drum_welder, tub_assembly, motor_mount, final_test, paint.
    pub machines_per_line: u32,
    /// Start of the operations window; must be midnight UTC.
    pub start: DateTime<Utc>,
    /// Length of the operations window in days (states, counts, telemetry, inventory), ≥ 1.
    pub days: u32,
    /// Length of the order history in days, ending with the operations window; ≥ `days`.
    pub order_history_days: u32,
    /// Mean number of order lines per day at the start of the history (demand grows from there).
    pub orders_per_day: f64,
    /// Number of suppliers, ≥ 7 (one per category of `vocab::SUPPLIER_CATEGORIES` at least).
    pub suppliers: u32,
    /// Telemetry sampling period in milliseconds (1000 = 1 Hz); must divide a day, 100 to 60 000.
    pub sample_period_ms: u32,
    /// Developing faults (each ending in a breakdown) per machine and day of the window, 0 to 4.
    pub fault_rate: f64,
    /// Rows per file for the tables that are not split by day (orders, deliveries, …), ≥ 1.
    pub max_rows_per_file: usize,
    /// Inject defects (malformed, invalid, duplicate, out-of-order, late rows) when set.
    pub dirty: Option<DirtyConfig>,
}

/// Per-row rates of the defects the dirty mode injects (each 0 ≤ rate, sum ≤ [`DirtyConfig::MAX_TOTAL_RATE`]).
///
/// Which defect goes where:
///
/// | kind | tables | formats |
/// |---|---|---|
/// | `malformed` (non-numeric number, unparseable timestamp, missing field) | sensor_readings, machine_states, production_counts, orders, deliveries | CSV, NDJSON only (Parquet holds the clean row) |
/// | `invalid` (NaN, null value with good quality, unknown code or state, negative quantity, end before start, received before ordered) | same | all |
/// | `duplicate` (exact resend, right after the original) | same | all |
/// | `out_of_order` (a row moved a few rows later) | same | all |
/// | `late` (a reading of day d in the file of day d+1) | sensor_readings | all |
///
/// Suppliers, bom and inventory stay clean. Ground truth: `ground_truth/dirty.csv`.
///
/// In dirty mode a day of telemetry is held in memory before it is written (to know whether
/// the file still follows its sort order), about 70 bytes per reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DirtyConfig {
    /// Rows whose text cannot be parsed as the schema's type (text formats only).
    pub malformed: f64,
    /// Rows that parse but break a rule of the domain.
    pub invalid: f64,
    /// Extra rows that exactly repeat the row before them.
    pub duplicates: f64,
    /// Rows moved a few places later, so their sort key is below their predecessor's.
    pub out_of_order: f64,
    /// Telemetry rows written into the next day's file (at their sorted place there).
    pub late: f64,
}

impl DirtyConfig {
    /// The largest allowed sum of the rates (defects are kept apart from each other so
    /// that each can be identified on its own).
    pub const MAX_TOTAL_RATE: f64 = 0.03;

    /// The sum of all rates.
    pub fn total(&self) -> f64 {
        self.malformed + self.invalid + self.duplicates + self.out_of_order + self.late
    }

    /// The rates in the order malformed, invalid, duplicates, out_of_order, late.
    pub(crate) fn rates(&self) -> [f64; 5] {
        [
            self.malformed,
            self.invalid,
            self.duplicates,
            self.out_of_order,
            self.late,
        ]
    }

    fn validate(&self) -> Result<()> {
        let names = [
            "dirty.malformed",
            "dirty.invalid",
            "dirty.duplicates",
            "dirty.out_of_order",
            "dirty.late",
        ];
        for (name, rate) in names.into_iter().zip(self.rates()) {
            if !(rate.is_finite() && (0.0..=Self::MAX_TOTAL_RATE).contains(&rate)) {
                return Err(Error::InvalidConfig {
                    field: name,
                    value: rate.to_string(),
                    fix: "a per-row rate must be a number between 0 and 0.03",
                });
            }
        }
        if self.total() > Self::MAX_TOTAL_RATE {
            return Err(Error::InvalidConfig {
                field: "dirty",
                value: format!("rates summing to {}", self.total()),
                fix: "the rates must sum to at most 0.03 (DirtyConfig::MAX_TOTAL_RATE)",
            });
        }
        Ok(())
    }
}

impl Default for DirtyConfig {
    /// Small rates: 1 ‰ malformed, 1 ‰ invalid, 2 ‰ duplicates, 1 ‰ out of order, 1 ‰ late.
    fn default() -> Self {
        DirtyConfig {
            malformed: 0.001,
            invalid: 0.001,
            duplicates: 0.002,
            out_of_order: 0.001,
            late: 0.001,
        }
    }
}

/// Monday 3 March 2025, 00:00 UTC: the default start of the operations window.
fn default_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

impl PlantConfig {
    /// The quickstart plant: 1 plant, 2 lines of 4 stations (28 sensors), 3 days of 1 Hz
    /// telemetry (about 7 million readings), 730 days of orders (about 150 000 order lines),
    /// 12 suppliers.
    pub fn small(seed: u64) -> Self {
        PlantConfig {
            seed,
            plants: 1,
            lines_per_plant: 2,
            machines_per_line: 4,
            start: default_start(),
            days: 3,
            order_history_days: 730,
            orders_per_day: 150.0,
            suppliers: 12,
            sample_period_ms: 1000,
            fault_rate: 0.3,
            max_rows_per_file: 1 << 20,
            dirty: None,
        }
    }

    /// A very small plant for tests and examples: 1 plant, 1 line of 2 stations (7 sensors)
    /// sampled every 10 s for 1 day, 90 days of orders at 30 a day, 7 suppliers.
    pub fn tiny(seed: u64) -> Self {
        PlantConfig {
            lines_per_plant: 1,
            machines_per_line: 2,
            days: 1,
            order_history_days: 90,
            orders_per_day: 30.0,
            suppliers: 7,
            sample_period_ms: 10_000,
            ..PlantConfig::small(seed)
        }
    }

    /// A month of a mid-size plant, for the operations benchmarks: 2 plants of 15 lines ×
    /// 10 stations (300 machines, 1,020 sensors) over 30 days, telemetry once a minute
    /// (44 million readings), 30 days of orders at 150 a day, 12 suppliers.
    pub fn month(seed: u64) -> Self {
        PlantConfig {
            plants: 2,
            lines_per_plant: 15,
            machines_per_line: 10,
            days: 30,
            order_history_days: 30,
            sample_period_ms: 60_000,
            ..PlantConfig::small(seed)
        }
    }

    /// A plant at a scale factor: scale 1 is 1 plant of 4 lines × 6 stations (84 sensors,
    /// about 7 million readings a day) over 7 days, 600 orders a day over 730 days and 15
    /// suppliers; larger scales add plants (and orders), smaller ones shrink lines, stations
    /// and days (scale 0.05: 2 stations, 1 day). A scale ≤ 0 or NaN gives a config that
    /// [`PlantConfig::validate`] rejects.
    pub fn at_scale(scale: f64, seed: u64) -> Self {
        let base = PlantConfig::small(seed);
        let orders_per_day = 600.0 * scale;
        let suppliers = (15.0 * scale.max(0.0).sqrt()).round().clamp(7.0, 999.0) as u32;
        if scale >= 1.0 {
            PlantConfig {
                plants: (scale.round() as u32).min(99),
                lines_per_plant: 4,
                machines_per_line: 6,
                days: 7,
                orders_per_day,
                suppliers,
                ..base
            }
        } else {
            let s = if scale.is_finite() {
                scale.max(0.0)
            } else {
                0.0
            };
            let lines = (4.0 * s).round().clamp(1.0, 4.0);
            PlantConfig {
                plants: 1,
                lines_per_plant: lines as u32,
                machines_per_line: (24.0 * s / lines).round().clamp(2.0, 6.0) as u32,
                days: (7.0 * s).round().clamp(1.0, 7.0) as u32,
                orders_per_day,
                suppliers,
                ..base
            }
        }
    }

    /// The same config with dirty mode on at the default rates.
    pub fn with_dirty(mut self) -> Self {
        self.dirty = Some(DirtyConfig::default());
        self
    }

    /// Checks every field; the error names the field and how to fix it.
    pub fn validate(&self) -> Result<()> {
        fn bad(field: &'static str, value: impl ToString, fix: &'static str) -> Result<()> {
            Err(Error::InvalidConfig {
                field,
                value: value.to_string(),
                fix,
            })
        }
        if !(1..=99).contains(&self.plants) {
            return bad(
                "plants",
                self.plants,
                "use 1 to 99 plants (ids are P01..P99)",
            );
        }
        if !(1..=99).contains(&self.lines_per_plant) {
            return bad(
                "lines_per_plant",
                self.lines_per_plant,
                "use 1 to 99 lines per plant",
            );
        }
        if !(1..=99).contains(&self.machines_per_line) {
            return bad(
                "machines_per_line",
                self.machines_per_line,
                "use 1 to 99 machines per line",
            );
        }
        let t = self.start;
        if t.hour() != 0 || t.minute() != 0 || t.second() != 0 || t.nanosecond() != 0 {
            return bad(
                "start",
                t.to_rfc3339(),
                "the operations window must start at midnight UTC",
            );
        }
        if !(1..=3660).contains(&self.days) {
            return bad("days", self.days, "use 1 to 3660 days of operations");
        }
        if self.order_history_days < self.days || self.order_history_days > 7320 {
            return bad(
                "order_history_days",
                self.order_history_days,
                "the order history must cover the operations window (>= days) and be at most 7320 days",
            );
        }
        if !(self.orders_per_day.is_finite()
            && self.orders_per_day > 0.0
            && self.orders_per_day <= 1e6)
        {
            return bad(
                "orders_per_day",
                self.orders_per_day,
                "use a number of orders per day in (0, 1e6] (PlantConfig::at_scale needs a scale > 0)",
            );
        }
        if !(7..=999).contains(&self.suppliers) {
            return bad(
                "suppliers",
                self.suppliers,
                "use 7 to 999 suppliers (at least one per supplier category)",
            );
        }
        if !(100..=60_000).contains(&self.sample_period_ms)
            || 86_400_000 % self.sample_period_ms != 0
        {
            return bad(
                "sample_period_ms",
                self.sample_period_ms,
                "use a period of 100 to 60000 ms that divides a day (e.g. 1000 for 1 Hz)",
            );
        }
        if !(self.fault_rate.is_finite() && (0.0..=4.0).contains(&self.fault_rate)) {
            return bad(
                "fault_rate",
                self.fault_rate,
                "use 0 to 4 developing faults per machine and day",
            );
        }
        if self.max_rows_per_file == 0 {
            return bad("max_rows_per_file", 0, "use at least 1 row per file");
        }
        let sensors = u64::from(self.plants)
            * u64::from(self.lines_per_plant)
            * u64::from(self.machines_per_line)
            * crate::topology::MAX_SENSORS_PER_MACHINE as u64;
        if sensors >= 1_000_000 {
            return bad(
                "machines_per_line",
                self.machines_per_line,
                "plants × lines × machines is too large: sensor ids have 6 digits (fewer than 1e6 sensors)",
            );
        }
        if let Some(d) = &self.dirty {
            d.validate()?;
        }
        Ok(())
    }

    /// Microseconds since the epoch of the start of the operations window.
    pub(crate) fn start_us(&self) -> i64 {
        self.start.timestamp_micros()
    }

    /// Microseconds since the epoch of the end of both windows (exclusive).
    pub(crate) fn end_us(&self) -> i64 {
        self.start_us() + i64::from(self.days) * crate::calendar::US_PER_DAY
    }

    /// Microseconds since the epoch of the start of the order history.
    pub(crate) fn history_start_us(&self) -> i64 {
        self.end_us() - i64::from(self.order_history_days) * crate::calendar::US_PER_DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_has_a_thousand_sensors() {
        let topo = crate::topology::Topology::new(&PlantConfig::month(1));
        assert_eq!(topo.machines.len(), 300);
        assert_eq!(topo.sensors.len(), 1_020);
    }

    #[test]
    fn presets_are_valid() {
        for c in [
            PlantConfig::small(1),
            PlantConfig::tiny(1),
            PlantConfig::month(1),
            PlantConfig::at_scale(0.05, 1),
            PlantConfig::at_scale(0.5, 1),
            PlantConfig::at_scale(1.0, 1),
            PlantConfig::at_scale(3.0, 1).with_dirty(),
        ] {
            c.validate().expect("preset must be valid");
        }
        let one = PlantConfig::at_scale(1.0, 1);
        assert_eq!(
            (
                one.plants,
                one.lines_per_plant,
                one.machines_per_line,
                one.days
            ),
            (1, 4, 6, 7)
        );
        assert_eq!(PlantConfig::at_scale(0.05, 1).machines_per_line, 2);
    }

    #[test]
    fn bad_values_are_typed_errors_naming_the_field() {
        type Edit = fn(&mut PlantConfig);
        let cases: [(&str, Edit); 8] = [
            ("machines_per_line", |c| c.machines_per_line = 0),
            ("days", |c| c.days = 0),
            ("plants", |c| c.plants = 100),
            ("order_history_days", |c| c.order_history_days = 1),
            ("orders_per_day", |c| c.orders_per_day = f64::NAN),
            ("sample_period_ms", |c| c.sample_period_ms = 7),
            ("start", |c| c.start += chrono::Duration::hours(1)),
            ("dirty.late", |c| {
                c.dirty = Some(DirtyConfig {
                    late: 0.5,
                    ..DirtyConfig::default()
                })
            }),
        ];
        for (field, edit) in cases {
            let mut c = PlantConfig::small(3);
            edit(&mut c);
            match c.validate() {
                Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
        assert!(PlantConfig::at_scale(-1.0, 1).validate().is_err());
        assert!(PlantConfig::at_scale(f64::NAN, 1).validate().is_err());
    }

    #[test]
    fn dirty_total_is_capped() {
        let d = DirtyConfig {
            malformed: 0.01,
            invalid: 0.01,
            duplicates: 0.01,
            out_of_order: 0.01,
            late: 0.0,
        };
        let c = PlantConfig {
            dirty: Some(d),
            ..PlantConfig::tiny(1)
        };
        assert!(matches!(
            c.validate(),
            Err(Error::InvalidConfig { field: "dirty", .. })
        ));
    }
}
