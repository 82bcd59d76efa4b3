//! fabrik's SQL layer: a DataFusion [`Session`] over the plant's tables.
//!
//! The session registers the domain tables of [`fabrik_model`] under their SQL names, with
//! their schemas and declared sort orders, so that plain SQL can be planned with what fabrik
//! knows about the data. The tables come from a lake ([`Session::register_lake`]: the Delta
//! tables of `fabrik-lake`, with time travel through the table functions of [`lake`]) or
//! from a directory of Parquet files (`<dir>/<table>/*.parquet`, as `fabrik-datagen` writes
//! them).
//!
//! ```no_run
//! # async fn demo() -> fabrik_sql::Result<()> {
//! let session = fabrik_sql::Session::new()?;
//! session.register_parquet_dir("fabrik-demo/parquet").await?;
//! let batches = session.query("SELECT count(*) FROM sensor_readings").await?;
//! # Ok(()) }
//! ```

pub mod collect;
pub mod error;
pub mod forecast;
pub mod lake;
pub mod parquet;
pub mod rollup;
pub mod session;
pub mod timeseries;
pub mod udf;

pub use error::{Error, Result};
pub use lake::{LAKE_AS_OF, LAKE_HISTORY};
pub use parquet::ParquetTable;
pub use rollup::{RollupExec, RollupRule};
pub use session::{OPERATING_LIMITS_TABLE, Session};
pub use timeseries::{GAP_FILL, LTTB};
