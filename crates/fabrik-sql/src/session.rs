//! [`Session`]: a DataFusion `SessionContext` that knows the plant's tables.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext, col};
use fabrik_lake::Lake;
use fabrik_model::Table;
use fabrik_model::vocab::OPERATING_LIMITS;

use crate::error::{Error, Result};
use crate::lake::{LAKE_AS_OF, LAKE_HISTORY, LakeAsOf, LakeHistory, LakeTables};
use crate::parquet::ParquetTable;
use crate::rollup::RollupRule;

/// The name of the reference table of operating limits per metric (`metric, low, high`).
pub const OPERATING_LIMITS_TABLE: &str = "operating_limits";

/// A DataFusion session over the plant's tables.
///
/// Every domain table is registered under its SQL name with the schema of
/// [`fabrik_model::Table::schema`], and tables written in a known order (telemetry by
/// `(sensor_id, ts)`) declare it, so the planner can use streaming operators instead of
/// re-sorting. The reference table [`OPERATING_LIMITS_TABLE`] is always there.
#[derive(Clone)]
pub struct Session {
    ctx: SessionContext,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("session_id", &self.ctx.session_id())
            .finish()
    }
}

impl Session {
    /// A session with DataFusion's defaults (one partition per core) and the reference tables.
    pub fn new() -> Result<Self> {
        Self::with_config(SessionConfig::new().with_information_schema(true))
    }

    /// A session with the given DataFusion configuration.
    pub fn with_config(config: SessionConfig) -> Result<Self> {
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(RollupRule))
            .build();
        let ctx = SessionContext::new_with_state(state);
        ctx.register_table(OPERATING_LIMITS_TABLE, Arc::new(operating_limits_table()?))?;
        crate::udf::register(&ctx);
        crate::timeseries::register(&ctx);
        crate::forecast::register(&ctx);
        Ok(Session { ctx })
    }

    /// The underlying DataFusion context, for everything this type does not wrap.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Registers every domain table found under `dir` as `<dir>/<table>/*.parquet` and
    /// returns the tables registered. Sub-directories that are not domain tables are
    /// ignored; a table whose directory holds no Parquet file is not registered.
    pub async fn register_parquet_dir(&self, dir: impl AsRef<Path>) -> Result<Vec<Table>> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::NoSuchDirectory {
                path: dir.to_path_buf(),
            });
        }
        let mut registered = Vec::new();
        for table in Table::ALL {
            let table_dir = dir.join(table.name());
            if has_parquet_file(&table_dir)? {
                self.register_parquet_table(table, &table_dir).await?;
                registered.push(table);
            }
        }
        if registered.is_empty() {
            return Err(Error::NoTables {
                path: dir.to_path_buf(),
            });
        }
        Ok(registered)
    }

    /// Registers every table of a lake under its SQL name, each existing rejects table as
    /// `<table>__rejects`, and the time-travel table functions [`LAKE_AS_OF`] and
    /// [`LAKE_HISTORY`] over the lake's tables; returns the domain tables registered.
    ///
    /// Each table is read at the version current when it is registered, through
    /// [`fabrik_lake::LakeTable::scan_provider`]: exactly the files of that Delta snapshot, with the
    /// table's per-file sort order declared (`ORDER BY sensor_id, ts` on `sensor_readings`
    /// merges the sorted files instead of sorting), exact pruning on partition columns and
    /// pruning on the Delta file statistics. Lake tables carry their derived partition
    /// columns too (`day`, `month`: see `fabrik_lake::table::layout`), and Delta stores
    /// `quality` as a signed `Int8`. A table using deletion vectors or column mapping is
    /// refused ([`fabrik_lake::Error::UnsupportedFeature`]); fabrik writes neither.
    ///
    /// ```sql
    /// SELECT * FROM lake_history('sensor_readings');
    /// SELECT count(*) FROM lake_as_of('sensor_readings', 3);
    /// SELECT * FROM lake_as_of('orders', TIMESTAMP '2026-11-28T10:00:00Z');
    /// ```
    ///
    /// The table functions read the tables of the lake registered last.
    pub async fn register_lake(&self, lake: &Lake) -> Result<Vec<Table>> {
        let tables = lake.tables().await?;
        if tables.is_empty() {
            return Err(Error::EmptyLake {
                location: lake.location().to_string(),
            });
        }
        let mut lake_tables = LakeTables::default();
        for &table in &tables {
            let t = lake.table(table).await?;
            let provider = t.session_scan_provider(&self.ctx).await?;
            self.ctx
                .register_table(table.name(), Arc::clone(&provider))?;
            lake_tables.insert(t, provider);
            if lake.has_rejects(table).await? {
                let rejects = lake.rejects(table).await?;
                self.ctx.register_table(
                    format!("{}__rejects", table.name()),
                    rejects.provider().await?,
                )?;
            }
        }
        if lake.has_table(crate::forecast::DEMAND_FORECAST).await? {
            let forecasts = lake
                .results(
                    crate::forecast::DEMAND_FORECAST,
                    &crate::forecast::demand_series_schema(),
                    "",
                )
                .await?;
            self.ctx.register_table(
                crate::forecast::DEMAND_FORECAST,
                forecasts.provider().await?,
            )?;
        }
        self.ctx
            .register_udtf(LAKE_AS_OF, Arc::new(LakeAsOf::new(lake_tables.clone())));
        self.ctx
            .register_udtf(LAKE_HISTORY, Arc::new(LakeHistory::new(lake_tables)));
        Ok(tables)
    }

    /// Registers a Parquet file (or a directory of Parquet files of one schema) as table
    /// `name` through [`ParquetTable`]: text columns read as dictionaries, the files'
    /// declared sort order (Parquet `sorting_columns`) declared to the planner.
    pub fn register_parquet_file(
        &self,
        name: &str,
        path: impl AsRef<Path>,
    ) -> Result<ParquetTable> {
        let table = ParquetTable::open(path)?;
        self.ctx.register_table(name, Arc::new(table.clone()))?;
        Ok(table)
    }

    /// Registers one domain table from the Parquet files of a directory, with the model's
    /// schema and, where the table has one, its declared per-file sort order.
    pub async fn register_parquet_table(&self, table: Table, dir: &Path) -> Result<()> {
        let abs = std::path::absolute(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        // A trailing slash makes the URL a directory (a prefix), not a single file.
        let url = ListingTableUrl::parse(format!("{}/", abs.display())).map_err(|source| {
            Error::TableLocation {
                path: dir.to_path_buf(),
                source,
            }
        })?;
        let sort: Vec<_> = table
            .sort_order()
            .iter()
            .map(|c| col(*c).sort(true, false))
            .collect();
        let mut options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        if !sort.is_empty() {
            options = options.with_file_sort_order(vec![sort]);
        }
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(table.schema());
        let provider = ListingTable::try_new(config)?;
        self.ctx.register_table(table.name(), Arc::new(provider))?;
        Ok(())
    }

    /// Plans a SQL query.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        Ok(self.ctx.sql(sql).await?)
    }

    /// Runs a SQL query and collects its result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        Ok(self.sql(sql).await?.collect().await?)
    }
}

fn has_parquet_file(dir: &Path) -> Result<bool> {
    if !dir.is_dir() {
        return Ok(false);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if entry.path().extension().is_some_and(|e| e == "parquet") {
            return Ok(true);
        }
    }
    Ok(false)
}

fn operating_limits_table() -> Result<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("metric", DataType::Utf8, false),
        Field::new("low", DataType::Float64, false),
        Field::new("high", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                OPERATING_LIMITS.iter().map(|l| l.0),
            )),
            Arc::new(Float64Array::from_iter_values(
                OPERATING_LIMITS.iter().map(|l| l.1),
            )),
            Arc::new(Float64Array::from_iter_values(
                OPERATING_LIMITS.iter().map(|l| l.2),
            )),
        ],
    )?;
    Ok(MemTable::try_new(schema, vec![vec![batch]])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;

    #[tokio::test]
    async fn operating_limits_are_queryable() -> Result<()> {
        let s = Session::new()?;
        let out = s
            .query("SELECT metric, high FROM operating_limits WHERE metric = 'vibration'")
            .await?;
        let text = pretty_format_batches(&out)?.to_string();
        assert!(text.contains("| vibration | 7.1  |"), "{text}");
        Ok(())
    }

    #[tokio::test]
    async fn a_missing_directory_is_a_typed_error() -> Result<()> {
        let s = Session::new()?;
        let err = s
            .register_parquet_dir("/definitely/not/here")
            .await
            .expect_err("must fail");
        assert!(matches!(err, Error::NoSuchDirectory { .. }), "{err}");
        let empty = tempfile::tempdir().map_err(|source| Error::Io {
            path: "tmp".into(),
            source,
        })?;
        let err = s
            .register_parquet_dir(empty.path())
            .await
            .expect_err("must fail");
        assert!(matches!(err, Error::NoTables { .. }), "{err}");
        Ok(())
    }
}
