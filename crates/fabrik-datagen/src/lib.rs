//! A seeded, realistic synthetic build-to-order appliance plant.
//!
//! The simulator builds a company of plants (each on a fixed UTC offset, three 8-hour
//! shifts from 06:00 plant time), lines and stations (drum welder, tub assembly, motor
//! mount, final test, paint — each with its sensors), and plays out two windows that end
//! together: an **order history** (two years by default) of consumers' customised orders
//! with growth, weekly and yearly seasonality, Singles' Day and Black Friday spikes, trends
//! in option popularity and a long tail of rare configurations, against which every plant
//! replenishes its parts from suppliers of varying reliability (late, partial and rejected
//! deliveries, bad lots); and an **operations window** (a few days) in which the lines build
//! the orders due: state intervals per machine (running, idle, setup on changeovers, down
//! with long-tailed repairs, planned stops), production counts with scrap that rises with a
//! machine's developing fault and with bad supplier lots, and 1 Hz telemetry whose values
//! follow the machine's state, drift, cycle with the day, spike, stick, drop out — and
//! drift past their operating limits in the hours before a breakdown. What the analyses
//! should find is written down as ground truth. Every random choice comes from a ChaCha8
//! stream derived from (seed, purpose, entity), so the same seed gives byte-identical files
//! whatever the number of threads.
//!
//! ```
//! use fabrik_datagen::{Format, PlantConfig, generate};
//! use fabrik_model::Table;
//! # fn main() -> fabrik_datagen::Result<()> {
//! # let tmp = tempfile::tempdir().map_err(|e| fabrik_datagen::Error::Io { path: "tmp".into(), source: e })?;
//! # let out = tmp.path();
//! let config = PlantConfig::tiny(42); // 1 line of 2 stations, 1 day sampled every 10 s
//! let report = generate(&config, out, &[Format::Csv, Format::Parquet], &mut |_| {})?;
//! let telemetry = report.table(Table::SensorReadings).expect("written");
//! assert!(telemetry.rows > 50_000);
//! assert!(out.join("parquet/sensor_readings/sensor_readings-2025-03-03.parquet").exists());
//! assert!(out.join("ground_truth/faults.csv").exists());
//! # Ok(()) }
//! ```
//!
//! # Output
//!
//! [`generate`] writes `<out>/<format>/<table>/<table>-<NNNN>.<ext>` (`csv`, `ndjson`,
//! `parquet`; a new file every [`PlantConfig::max_rows_per_file`] rows) and telemetry as
//! `<out>/<format>/sensor_readings/sensor_readings-<YYYY-MM-DD>.<ext>`, one file per UTC day,
//! sorted by (sensor_id, ts) inside each file. Every batch has the schema of
//! `fabrik_model::Table::schema()`. Formats are described in [`Format`]; Parquet files
//! declare the table's sort order (`Table::sort_order()`) as `sorting_columns` whenever their
//! rows follow it.
//!
//! Ground truth, in `<out>/ground_truth/` (CSV, RFC 3339 timestamps):
//!
//! | file | columns | what |
//! |---|---|---|
//! | `faults.csv` | machine_id, sensor_id, metric, onset_ts, breakdown_ts, down_reason | developing faults: the sensor drifts from onset until the machine goes DOWN at breakdown_ts |
//! | `sensor_anomalies.csv` | sensor_id, kind, start_ts, end_ts | `stuck` (value repeats), `dropout` (no readings), `spike` |
//! | `lots.csv` | lot_id, supplier_id, part_id, plant_id, received_at, bad | supplier lots; bad ones raise rejects and scrap |
//! | `plants.csv` | plant_id, utc_offset_hours, base_cycle_s | plant time is UTC + offset (fixed, no daylight saving) |
//! | `dirty.csv` | table, format, file, row, line_csv, line_ndjson, kind, column, detail, key | every injected defect, per format it is present in |
//!
//! In `dirty.csv`, `file` is relative to `out`, `row` is the 0-based data row in that file,
//! `line_csv` = row + 2 (the header is line 1) and `line_ndjson` = row + 1 (rows are at the
//! same place in every format, because a malformed row replaces a clean one rather than
//! adding a line); `kind` is `malformed`, `invalid`, `duplicate`, `out_of_order` or `late`
//! ([`DirtyConfig`] says which kind goes into which table and format: malformed rows exist
//! only in CSV and NDJSON, so they are listed only for those files); `key` is the row's key
//! (`Table::key()`) as `col=value;col=value` with its clean values. Clean mode writes the
//! header only.
//!
//! # Speed
//!
//! Telemetry is built column-wise (no allocation per row; ids repeated per sensor run),
//! sensors in parallel with rayon, and the formats of a file are written in parallel.

pub mod error;
pub mod synthetic;

mod calendar;
mod catalog;
mod config;
mod defects;
mod format;
mod generation;
mod operations;
mod orders;
mod output;
mod plant;
mod streams;
mod supply;
mod telemetry;
mod topology;

pub use calendar::{PLANT_UTC_OFFSETS, plant_utc_offset_hours};
pub use config::{DirtyConfig, PlantConfig};
pub use defects::DefectKind;
pub use error::{Error, Result};
pub use format::Format;
pub use generation::{
    GenerateReport, Progress, TableReport, generate, sensor_readings, write_parquet,
};
pub use output::ROW_GROUP_ROWS;
pub use plant::{Fault, LotInfo, Plant};
pub use telemetry::SensorAnomaly;
pub use topology::{
    Line, MAX_SENSORS_PER_MACHINE, Machine, MachineType, PlantSite, Sensor, Topology,
};
