//! # fabrik
//!
//! fabrik turns the data of a build-to-order factory into decisions. A washing-machine plant
//! builds each machine to a consumer's order; sensor telemetry from its lines, deliveries
//! from its suppliers and the consumers' customised orders flow into fabrik, which keeps them
//! as Parquet and answers two questions with vectorized SQL on Apache DataFusion: *what will
//! consumers order* (demand, down to the option they pick) and *how do we make it well*
//! (downtime, OEE, anomalies on the line, supplier performance, order sequencing).
//!
//! This crate is the one to add: it re-exports the layers below, each a crate of its own.
//!
//! ```text
//!  CSV / NDJSON / Parquet files          fabrik-datagen (seeded synthetic plant)
//!              │                                     │
//!              ▼                                     ▼
//!      validate with fabrik-model's rules ──► rejects (row, column, rule, reason)
//!              │
//!              ▼
//!      fabrik-lake: a Delta table per domain table (Parquet + _delta_log), idempotent commits
//!              │
//!              ▼
//!      fabrik-sql: DataFusion session, tables with their schemas and sort order,
//!              │   fabrik's SQL functions, FabrikRollupExec chosen by an optimizer rule
//!              │        ▲
//!              │        └── fabrik-kernels: buckets, rollups over sorted runs, sketches,
//!              │            time-weighted / counter / state aggregates, gap-fill, LTTB
//!              ├──► fabrik-forecast: demand series, ETS / ARIMA / Theta / Croston models,
//!              │    automatic choice, intervals, backtests, reconciliation
//!              │    (SQL: demand_series, forecast; the lake's demand_forecast table)
//!              ├──► fabrik-ops: OEE, six big losses, downtime, SPC anomalies, supplier
//!              │    scorecards (SQL table and window functions), order sequencing
//!              ▼
//!      answers as Arrow RecordBatches (downtime, demand by option, suppliers, sensors)
//! ```
//!
//! | module | crate | owns |
//! |---|---|---|
//! | [`model`] | `fabrik-model` | schemas of the domain tables, units, vocabularies, validation rules |
//! | [`datagen`] | `fabrik-datagen` | a seeded, realistic synthetic plant in CSV, NDJSON and Parquet |
//! | [`lake`] | `fabrik-lake` | Delta tables of the plant, ingest with validation, rejects and dedup |
//! | [`kernels`] | `fabrik-kernels` | hot kernels over Arrow arrays (no query engine) |
//! | [`sql`] | `fabrik-sql` | the DataFusion session over the lake's tables, fabrik's SQL functions and rollup operator |
//! | [`forecast`] | `fabrik-forecast` | demand series, forecasting models, automatic choice, intervals, backtests, reconciliation |
//! | [`ops`] | `fabrik-ops` | OEE, downtime, SPC anomalies, supplier scorecards, order sequencing |
//!
//! ## Example
//!
//! Generate a tiny plant, ingest its telemetry into a lake and ask how many readings each
//! metric has:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> fabrik::Result<()> {
//! use fabrik::datagen::{Format, PlantConfig, generate};
//! use fabrik::lake::{IngestOptions, Lake, ingest};
//! use fabrik::model::Table;
//! use fabrik::sql::Session;
//!
//! # let tmp = tempfile::tempdir().expect("temp dir");
//! # let dir = tmp.path();
//! generate(&PlantConfig::tiny(42), dir, &[Format::Csv], &mut |_| {})?;
//!
//! let lake = Lake::open(&dir.join("lake").to_string_lossy()).await?;
//! let files = dir.join("csv/sensor_readings").to_string_lossy().into_owned();
//! let report = ingest(&lake, Table::SensorReadings, &[files], &IngestOptions::default(), &mut |_, _| {}).await?;
//! assert_eq!(report.rows_read(), report.accepted() + report.rejected() + report.duplicates());
//!
//! let session = Session::new()?;
//! session.register_lake(&lake).await?;
//! let batches = session
//!     .query("SELECT metric, count(*) AS n FROM sensor_readings GROUP BY metric ORDER BY metric")
//!     .await?;
//! println!("{}", fabrik::datafusion::arrow::util::pretty::pretty_format_batches(&batches)?);
//! # Ok(()) }
//! ```

pub mod error;
pub mod progress;

pub use error::{Error, Result};
pub use progress::{CountProgress, ProgressLine};

/// The domain model: table schemas, vocabularies and validation rules (`fabrik-model`).
pub use fabrik_model as model;

/// The seeded synthetic plant (`fabrik-datagen`).
pub use fabrik_datagen as datagen;

/// The lake: Delta tables of the plant and the ingest that fills them (`fabrik-lake`).
pub use fabrik_lake as lake;

/// Hot kernels over Arrow arrays: time buckets, rollups, sketches (`fabrik-kernels`).
pub use fabrik_kernels as kernels;

/// The DataFusion session over the plant's tables (`fabrik-sql`).
pub use fabrik_sql as sql;

/// Demand forecasting: series, models, automatic choice, intervals, backtests,
/// reconciliation (`fabrik-forecast`).
pub use fabrik_forecast as forecast;

/// Production and supply analytics: OEE, downtime, supplier scorecards, order sequencing
/// (`fabrik-ops`).
pub use fabrik_ops as ops;

/// The DataFusion fabrik is built on, with its Arrow, Parquet and object_store.
pub use datafusion;
