//! Reading a lake table with DataFusion: a table provider over exactly the data files of
//! one Delta snapshot that declares the table's per-file sort order, and the table's commit
//! history.
//!
//! # The provider
//!
//! [`LakeTable::scan_provider`] lists the snapshot's active files once (paths, sizes,
//! partition values and statistics come from the Delta log: no file is opened) and plans
//! every scan as a DataFusion Parquet file scan over them:
//!
//! * the columns are the Delta table's, in its order (partition columns included, typed as
//!   the table declares them: `plant_id` text, `day`/`month` dates);
//! * filters on partition columns only are applied exactly, file by file, on the partition
//!   values of the log; other filters prune files on the `minValues`/`maxValues` statistics
//!   of the log (widened to bounds: Delta truncates timestamps to milliseconds) and are then
//!   pushed into the Parquet reader by DataFusion as usual;
//! * the table's [`Table::sort_order`] is declared as the output order of every file, so a
//!   query ordered by it (or grouping, windowing or merging on it) needs no sort: files that
//!   do not overlap in that order (by their statistics) are chained in one file group, the
//!   others go to groups of their own, and DataFusion merges the groups with a
//!   `SortPreservingMergeExec`.
//!
//! The order is declared only when it is true: every file scanned must declare it in its
//! Parquet footer (`sorting_columns`, which fabrik writes; a file written by another tool
//! without it turns the declaration off for the scans that read it), the sort columns must be
//! non-nullable, and the scan must fit in at most [`MAX_ORDERED_FILE_GROUPS`] groups (or the
//! session's `target_partitions` if larger), since every group is read concurrently in an
//! ordered merge. Otherwise the files are spread over `target_partitions` groups without a
//! declared order and DataFusion sorts where a query needs it. The footers read for the
//! check go to the session's Parquet metadata cache, where the scan finds them again.
//!
//! On a local lake a footer is read with at most [`LOCAL_FOOTER_HINT`] bytes from the end of
//! its file (the session's `metadata_size_hint` if smaller): DataFusion's default of 512 KiB
//! suits object stores, where one large request beats two small ones, but locally it read
//! and zeroed 512 KiB per file for footers of about 5 KiB.
//!
//! Tables whose protocol uses deletion vectors or column mapping are refused
//! ([`Error::UnsupportedFeature`]): fabrik writes neither, and reading such files as plain
//! Parquet would be wrong. [`LakeTable::provider`] (deltalake's own reader) reads them.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt64Array,
};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, DFSchema, ScalarValue, Statistics};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::listing::helpers::expr_applicable_for_cols;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::object_store::path::Path;
use datafusion::object_store::{ObjectMeta, ObjectStoreExt};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::prelude::SessionContext;
use deltalake::delta_datafusion::engine::AsObjectStoreUrl;
use deltalake::kernel::LogicalFileView;
use deltalake::{DeltaTable, DeltaTableError};
use fabrik_model::Table;
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::{LakeTable, delta_err, v64};
use crate::error::{Error, Result};
use deltalake::table::state::DeltaTableState;

/// Most file groups a scan declares the sort order with (the session's `target_partitions`
/// when that is larger). An ordered scan reads all its groups at once (one open Parquet
/// reader each, about a row group of the projected columns in memory), so a scan over more
/// mutually overlapping files than this gives up the declared order instead.
const MAX_ORDERED_FILE_GROUPS: usize = 64;

/// Reader features of the Delta protocol this provider refuses (see the module docs).
const REFUSED_READER_FEATURES: &[&str] = &["deletionVectors"];

/// How many commit files [`LakeTable::history`] reads at once.
const HISTORY_CONCURRENCY: usize = 8;

impl LakeTable {
    /// A DataFusion table provider over the data files of this table at this handle's
    /// version that declares the table's per-file sort order ([`Table::sort_order`]), so
    /// that queries ordered by it (or merging, grouping or windowing on it) run without a
    /// sort: `ORDER BY sensor_id, ts` on `sensor_readings` becomes a merge of the sorted
    /// files.
    ///
    /// The files, their partition values and statistics come from the Delta log (no file
    /// is opened to build it). Filters on partition columns only are applied exactly, file
    /// by file; the others prune files on the log's min/max statistics and go on to the
    /// Parquet reader. Files that do not overlap in the sort order are read one after the
    /// other in one partition, the others in partitions of their own, merged in order by
    /// DataFusion. The order is declared only for scans whose files all declare it in their
    /// Parquet footers (`sorting_columns`, which fabrik writes: a file appended by another
    /// tool turns it off for the scans that read it), over non-nullable sort columns, and
    /// that need at most 64 ordered partitions (or the session's `target_partitions`, if
    /// larger): every partition of an ordered merge is read at once. Otherwise the scan is
    /// spread over `target_partitions` without an order and DataFusion sorts where needed.
    ///
    /// Columns are the Delta table's, in its order (as [`LakeTable::provider`]: `quality`
    /// is `Int8`), but text stays `Utf8` and partition columns keep their types (`plant_id`
    /// text, `day`/`month` dates). Register the table's object store in the session first
    /// with [`LakeTable::prepare_session`].
    ///
    /// Refuses ([`Error::UnsupportedFeature`]) a table whose protocol uses deletion vectors
    /// or column mapping, which fabrik never writes and which plain Parquet reads would get
    /// wrong; [`LakeTable::provider`] reads those.
    pub async fn scan_provider(&self) -> Result<Arc<dyn TableProvider>> {
        let dt = self.handle.delta().await?;
        Ok(Arc::new(LakeScan::try_new(
            &self.handle.name,
            self.table,
            &dt,
        )?))
    }

    /// [`LakeTable::prepare_session`] and then [`LakeTable::scan_provider`], from one read
    /// of the Delta log instead of two: the provider to register in `ctx`.
    pub async fn session_scan_provider(
        &self,
        ctx: &SessionContext,
    ) -> Result<Arc<dyn TableProvider>> {
        let dt = self.handle.delta().await?;
        dt.update_datafusion_session(&ctx.state())
            .map_err(self.handle.err())?;
        Ok(Arc::new(LakeScan::try_new(
            &self.handle.name,
            self.table,
            &dt,
        )?))
    }

    /// Schema of [`LakeTable::history`]: `version`, `timestamp` (when the commit file was
    /// written: the time [`LakeTable::as_of_timestamp`] compares with), `operation`
    /// (`WRITE`, `OPTIMIZE`, `VACUUM START`, …), `app_id` (the Delta application
    /// transaction of the commit: fabrik's ingest part id), `files_added`, `files_removed`
    /// and `rows_added` (rows in the files added, rewritten rows included; null when a file
    /// has no statistics).
    pub fn history_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("version", DataType::Int64, false),
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("operation", DataType::Utf8, true),
            Field::new("app_id", DataType::Utf8, true),
            Field::new("files_added", DataType::UInt64, false),
            Field::new("files_removed", DataType::UInt64, false),
            Field::new("rows_added", DataType::UInt64, true),
        ]))
    }

    /// The commits of this table up to this handle's version, oldest first
    /// ([`LakeTable::history_schema`]); only the last `limit` when given. Commits whose log
    /// file was cleaned up are not listed.
    pub async fn history(&self, limit: Option<usize>) -> Result<RecordBatch> {
        let name = &self.handle.name;
        let dt = self.handle.delta().await?;
        let upto = dt.version().unwrap_or(0);
        let store = dt.log_store().object_store(None);
        let log_dir = Path::from("_delta_log");
        let listed: Vec<ObjectMeta> = store
            .list(Some(&log_dir))
            .try_collect()
            .await
            .map_err(|e| delta_err(name)(DeltaTableError::from(e)))?;
        let mut commits: Vec<(u64, ObjectMeta)> = listed
            .into_iter()
            .filter_map(|m| commit_version(&m.location).map(|v| (v, m)))
            .filter(|(v, _)| *v <= upto)
            .collect();
        commits.sort_by_key(|(v, _)| *v);
        if let Some(limit) = limit {
            let skip = commits.len().saturating_sub(limit);
            commits.drain(..skip);
        }
        let summaries: Vec<(u64, ObjectMeta, CommitSummary)> =
            futures::stream::iter(commits.into_iter().map(|(v, meta)| {
                let store = Arc::clone(&store);
                async move {
                    let bytes = store.get(&meta.location).await?.bytes().await?;
                    Ok::<_, DeltaTableError>((v, meta, bytes))
                }
            }))
            .buffered(HISTORY_CONCURRENCY)
            .map_err(delta_err(name))
            .and_then(|(v, meta, bytes)| async move {
                let summary = CommitSummary::parse(&bytes).map_err(|why| Error::Delta {
                    table: name.clone(),
                    source: Box::new(DeltaTableError::Generic(format!(
                        "commit {v} ({}) cannot be read: {why}",
                        meta.location
                    ))),
                })?;
                Ok((v, meta, summary))
            })
            .try_collect()
            .await?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(
                summaries.iter().map(|(v, _, _)| v64(Some(*v))),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    summaries
                        .iter()
                        .map(|(_, m, _)| m.last_modified.timestamp_millis() * 1000),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter(
                summaries.iter().map(|(_, _, s)| s.operation.as_deref()),
            )),
            Arc::new(StringArray::from_iter(
                summaries.iter().map(|(_, _, s)| s.app_id.as_deref()),
            )),
            Arc::new(UInt64Array::from_iter_values(
                summaries.iter().map(|(_, _, s)| s.files_added),
            )),
            Arc::new(UInt64Array::from_iter_values(
                summaries.iter().map(|(_, _, s)| s.files_removed),
            )),
            Arc::new(UInt64Array::from_iter(
                summaries.iter().map(|(_, _, s)| s.rows_added),
            )),
        ];
        Ok(RecordBatch::try_new(LakeTable::history_schema(), columns)?)
    }
}

/// The version of a commit file `_delta_log/<20 digits>.json`.
fn commit_version(location: &Path) -> Option<u64> {
    let stem = location.filename()?.strip_suffix(".json")?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

/// What one commit did, from its actions.
#[derive(Debug, Default, PartialEq, Eq)]
struct CommitSummary {
    operation: Option<String>,
    app_id: Option<String>,
    files_added: u64,
    files_removed: u64,
    rows_added: Option<u64>,
}

impl CommitSummary {
    /// Reads the newline-delimited actions of a commit file.
    fn parse(bytes: &[u8]) -> std::result::Result<CommitSummary, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        let mut out = CommitSummary {
            rows_added: Some(0),
            ..CommitSummary::default()
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let action: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            if let Some(info) = action.get("commitInfo") {
                out.operation = info
                    .get("operation")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            } else if let Some(txn) = action.get("txn") {
                let app = txn.get("appId").and_then(Value::as_str).unwrap_or_default();
                out.app_id = Some(match out.app_id.take() {
                    Some(prev) => format!("{prev}, {app}"),
                    None => app.to_string(),
                });
            } else if let Some(add) = action.get("add") {
                out.files_added += 1;
                let rows = add
                    .get("stats")
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
                    .and_then(|s| s.get("numRecords").and_then(Value::as_u64));
                out.rows_added = out.rows_added.zip(rows).map(|(a, b)| a + b);
            } else if action.get("remove").is_some() {
                out.files_removed += 1;
            }
        }
        Ok(out)
    }
}

/// The provider of [`LakeTable::scan_provider`].
#[derive(Debug)]
struct LakeScan {
    /// The Delta table's name (for errors).
    name: String,
    /// The table's columns, in Delta order.
    schema: SchemaRef,
    /// The columns stored in the data files (the table's minus the partition columns).
    file_schema: SchemaRef,
    /// The partition columns, in the table's partition order.
    partition_fields: Vec<FieldRef>,
    /// `file_schema` followed by `partition_fields`: the schema of the file scan.
    scan_schema: SchemaRef,
    /// For every column of `schema`, its index in `scan_schema`.
    to_scan: Vec<usize>,
    /// The per-file order over `scan_schema`, when the table declares one usable order.
    ordering: Option<LexOrdering>,
    /// Where the files are, as registered in the session by `prepare_session`.
    store_url: ObjectStoreUrl,
    /// The snapshot's files with partition values and statistics (over `scan_schema`).
    files: Vec<PartitionedFile>,
    /// [`MAX_ORDERED_FILE_GROUPS`] (a field so that tests can lower it).
    max_ordered_groups: usize,
}

impl LakeScan {
    fn try_new(name: &str, table: Table, dt: &DeltaTable) -> Result<LakeScan> {
        let snapshot = dt.snapshot().map_err(delta_err(name))?;
        refuse_unsupported(name, snapshot)?;
        let schema = snapshot.snapshot().arrow_schema();
        let partitions: Vec<String> = snapshot.metadata().partition_columns().to_vec();
        let bad_schema = |column: &str, why: &str| Error::BatchSchema {
            table: name.to_string(),
            column: column.to_string(),
            why: why.to_string(),
        };
        let partition_fields = partitions
            .iter()
            .map(|p| {
                schema
                    .field_with_name(p)
                    .map(|f| Arc::new(f.clone()))
                    .map_err(|_| bad_schema(p, "partition column missing from the table schema"))
            })
            .collect::<Result<Vec<_>>>()?;
        let file_fields: Vec<FieldRef> = schema
            .fields()
            .iter()
            .filter(|f| !partitions.contains(f.name()))
            .cloned()
            .collect();
        let file_schema = Arc::new(Schema::new(file_fields.clone()));
        let scan_schema = Arc::new(Schema::new(
            file_fields
                .into_iter()
                .chain(partition_fields.iter().cloned())
                .collect::<Vec<_>>(),
        ));
        let to_scan = schema
            .fields()
            .iter()
            .map(|f| scan_schema.index_of(f.name()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let ordering = declared_ordering(table.sort_order(), &scan_schema);

        let table_url = dt.log_store().root_url().clone();
        let store_url = table_url.as_object_store_url();
        let prefix = Path::from_url_path(table_url.path()).map_err(|e| Error::Location {
            location: table_url.to_string(),
            why: format!("not an object store path: {e}"),
        })?;
        let files = snapshot
            .log_data()
            .iter()
            .map(|f| partitioned_file(name, &f, &prefix, &file_schema, &partition_fields))
            .collect::<Result<Vec<_>>>()?;
        Ok(LakeScan {
            name: name.to_string(),
            schema,
            file_schema,
            partition_fields,
            scan_schema,
            to_scan,
            ordering,
            store_url,
            files,
            max_ordered_groups: MAX_ORDERED_FILE_GROUPS,
        })
    }

    /// Whether `expr` only reads partition columns (then it is applied exactly per file).
    fn is_partition_filter(&self, expr: &Expr) -> bool {
        let names: Vec<&str> = self
            .partition_fields
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        !names.is_empty() && expr_applicable_for_cols(&names, expr)
    }

    /// The files that may hold rows passing `filters`: partition filters decide exactly,
    /// the others prune on the files' statistics.
    fn prune(&self, state: &dyn Session, filters: &[Expr]) -> DFResult<Vec<PartitionedFile>> {
        let mut keep = vec![true; self.files.len()];
        if self.files.is_empty() {
            return Ok(Vec::new());
        }
        let (on_partitions, on_data): (Vec<&Expr>, Vec<&Expr>) =
            filters.iter().partition(|f| self.is_partition_filter(f));
        if !on_partitions.is_empty() {
            let fields: Vec<Field> = self
                .partition_fields
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect();
            let schema = Arc::new(Schema::new(fields));
            let columns = (0..self.partition_fields.len())
                .map(|i| {
                    ScalarValue::iter_to_array(
                        self.files.iter().map(|f| f.partition_values[i].clone()),
                    )
                })
                .collect::<DFResult<Vec<_>>>()?;
            let values = RecordBatch::try_new(Arc::clone(&schema), columns)?;
            let df_schema = DFSchema::try_from(schema)?;
            for filter in on_partitions {
                let expr = state.create_physical_expr(filter.clone(), &df_schema)?;
                let result = expr.evaluate(&values)?.into_array(values.num_rows())?;
                let mask = result
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| {
                        DataFusionError::Plan(format!(
                            "filter {filter} on table `{}` is not a boolean",
                            self.name
                        ))
                    })?;
                for (i, k) in keep.iter_mut().enumerate() {
                    *k &= mask.is_valid(i) && mask.value(i);
                }
            }
        }
        if let Some(predicate) = conjunction(on_data.into_iter().cloned()) {
            let df_schema = DFSchema::try_from(Arc::clone(&self.scan_schema))?;
            let expr = state.create_physical_expr(predicate, &df_schema)?;
            // A predicate the statistics cannot decide keeps every file.
            if let Ok(pruning) = PruningPredicateBuilder::new()
                .with_file_schema(Arc::clone(&self.scan_schema))
                .try_build(expr)
                && let Ok(mask) = pruning.prune(&FileStatistics {
                    files: &self.files,
                    schema: &self.scan_schema,
                })
            {
                for (k, m) in keep.iter_mut().zip(mask) {
                    *k &= m;
                }
            }
        }
        Ok(self
            .files
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(f, _)| f.clone())
            .collect())
    }

    /// The file groups of a scan and the ordering declared with them (see the module docs).
    async fn group(
        &self,
        state: &dyn Session,
        format: &ParquetFormat,
        files: Vec<PartitionedFile>,
    ) -> DFResult<(Vec<FileGroup>, Vec<LexOrdering>)> {
        let target = state.config().target_partitions().max(1);
        if let Some(ordering) = &self.ordering
            && self.files_declare(state, format, &files, ordering).await?
        {
            let groups = FileScanConfig::split_groups_by_statistics_with_target_partitions(
                &self.scan_schema,
                &[FileGroup::new(files.clone())],
                ordering,
                target,
            )
            // Without statistics no two files can be proven apart: one group each.
            .unwrap_or_else(|_| {
                files
                    .iter()
                    .map(|f| FileGroup::new(vec![f.clone()]))
                    .collect()
            });
            if groups.len() <= self.max_ordered_groups.max(target) {
                return Ok((groups, vec![ordering.clone()]));
            }
        }
        Ok((FileGroup::new(files).split_files(target), Vec::new()))
    }

    /// Whether every file declares `ordering` in its Parquet footer (`sorting_columns`).
    async fn files_declare(
        &self,
        state: &dyn Session,
        format: &ParquetFormat,
        files: &[PartitionedFile],
        ordering: &LexOrdering,
    ) -> DFResult<bool> {
        let store = state.runtime_env().object_store(&self.store_url)?;
        let concurrency = state
            .config_options()
            .execution
            .meta_fetch_concurrency
            .get();
        // Partition columns are constant in a file: its footer does not list them.
        let wanted: Vec<(&str, SortOptions)> = ordering
            .iter()
            .filter_map(|e| Some((sort_column(e)?, e.options)))
            .filter(|(c, _)| self.file_schema.index_of(c).is_ok())
            .collect();
        let metas: Vec<ObjectMeta> = files.iter().map(|f| f.object_meta.clone()).collect();
        let found: Vec<Option<LexOrdering>> =
            futures::stream::iter(metas.into_iter().map(|meta| {
                let store = Arc::clone(&store);
                let file_schema = Arc::clone(&self.file_schema);
                async move {
                    format
                        .infer_ordering(state, &store, file_schema, &meta)
                        .await
                }
            }))
            .buffered(concurrency)
            .try_collect()
            .await?;
        Ok(found.iter().all(|o| {
            o.as_ref().is_some_and(|o| {
                o.len() >= wanted.len()
                    && wanted
                        .iter()
                        .zip(o.iter())
                        .all(|((c, opts), e)| sort_column(e) == Some(c) && e.options == *opts)
            })
        }))
    }
}

#[async_trait]
impl TableProvider for LakeScan {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DFResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if self.is_partition_filter(f) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Inexact
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        // Always project: the scan's columns (files, then partitions) are not in table order.
        let projection: Vec<usize> = match projection {
            Some(p) => p
                .iter()
                .map(|i| {
                    self.to_scan.get(*i).copied().ok_or_else(|| {
                        DataFusionError::Plan(format!(
                            "column {i} out of range for table `{}`",
                            self.name
                        ))
                    })
                })
                .collect::<DFResult<_>>()?,
            None => self.to_scan.clone(),
        };
        let files = self.prune(state, filters)?;
        if files.is_empty() {
            let schema = Arc::new(self.scan_schema.project(&projection)?);
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let mut options = state.table_options().parquet.clone();
        options.global.metadata_size_hint =
            footer_hint(&self.store_url, options.global.metadata_size_hint);
        let format = ParquetFormat::default().with_options(options);
        let (groups, ordering) = self.group(state, &format, files).await?;
        let statistics = Statistics::try_merge_iter(
            groups
                .iter()
                .flat_map(FileGroup::iter)
                .filter_map(|f| f.statistics.as_deref()),
            &self.scan_schema,
        )?;
        let source = format.file_source(
            TableSchema::builder(Arc::clone(&self.file_schema))
                .with_table_partition_cols(self.partition_fields.clone())
                .build(),
        );
        let config = FileScanConfigBuilder::new(self.store_url.clone(), source)
            .with_file_groups(groups)
            .with_statistics(statistics)
            .with_projection_indices(Some(projection))?
            .with_limit(limit)
            .with_output_ordering(ordering)
            .build();
        format.create_physical_plan(state, config).await
    }
}

/// The most bytes read from the end of a local file to find its footer in one read (a
/// larger footer takes a second read). fabrik's footers are a few KiB.
const LOCAL_FOOTER_HINT: usize = 64 * 1024;

/// The footer read-ahead for files in `store`: on the local file system at most
/// [`LOCAL_FOOTER_HINT`] (or `configured`, if smaller or off), elsewhere `configured`.
fn footer_hint(store: &ObjectStoreUrl, configured: Option<usize>) -> Option<usize> {
    let url: &url::Url = store.as_ref();
    if url.scheme() == "file" {
        configured.map(|h| h.min(LOCAL_FOOTER_HINT))
    } else {
        configured
    }
}

/// Refuses tables whose files cannot be read as plain Parquet.
fn refuse_unsupported(name: &str, snapshot: &DeltaTableState) -> Result<()> {
    let refuse = |feature: &str| Error::UnsupportedFeature {
        table: name.to_string(),
        feature: feature.to_string(),
    };
    if let Some(features) = snapshot.protocol().reader_features() {
        for f in features {
            if REFUSED_READER_FEATURES.contains(&f.as_ref()) {
                return Err(refuse(f.as_ref()));
            }
        }
    }
    let mapping = snapshot
        .metadata()
        .configuration()
        .get("delta.columnMapping.mode")
        .map(|m| m.to_ascii_lowercase());
    if mapping.is_some_and(|m| m != "none") {
        return Err(refuse("columnMapping"));
    }
    Ok(())
}

/// The order `sort` (ascending, nulls last) over `scan_schema`, when every column exists and
/// is non-nullable (nulls are placed by the writer's sort, which the Parquet metadata does
/// not describe).
fn declared_ordering(sort: &[&str], scan_schema: &Schema) -> Option<LexOrdering> {
    let mut exprs = Vec::with_capacity(sort.len());
    for c in sort {
        let (i, f) = scan_schema.column_with_name(c)?;
        if f.is_nullable() {
            return None;
        }
        exprs.push(PhysicalSortExpr::new(
            Arc::new(Column::new(c, i)),
            SortOptions {
                descending: false,
                nulls_first: false,
            },
        ));
    }
    LexOrdering::new(exprs)
}

/// The column a sort expression sorts by, when it is a plain column.
fn sort_column(e: &PhysicalSortExpr) -> Option<&str> {
    e.expr.downcast_ref::<Column>().map(Column::name)
}

/// One data file of the log as a DataFusion file: object store path, partition values and
/// statistics.
fn partitioned_file(
    name: &str,
    f: &LogicalFileView,
    prefix: &Path,
    file_schema: &Schema,
    partition_fields: &[FieldRef],
) -> Result<PartitionedFile> {
    let path = f.path();
    let bad = |why: String| Error::DataFile {
        table: name.to_string(),
        file: path.to_string(),
        why,
    };
    if f.deletion_vector_descriptor().is_some() {
        return Err(Error::UnsupportedFeature {
            table: name.to_string(),
            feature: REFUSED_READER_FEATURES[0].to_string(),
        });
    }
    if url::Url::parse(&path).is_ok() {
        return Err(bad(
            "an absolute URL (e.g. of a shallow clone); fabrik reads files inside the table's directory only".to_string(),
        ));
    }
    let location = Path::from_iter(prefix.parts().chain(f.object_store_path().parts()));
    let size = u64::try_from(f.size()).map_err(|_| bad(format!("negative size {}", f.size())))?;
    let meta = ObjectMeta {
        location,
        last_modified: DateTime::<Utc>::from_timestamp_millis(f.modification_time())
            .unwrap_or_default(),
        size,
        e_tag: None,
        version: None,
    };
    let raw = f.partition_values_map();
    let values = partition_fields
        .iter()
        .map(|field| match raw.get(field.name()) {
            Some(Some(v)) => {
                ScalarValue::try_from_string(v.clone(), field.data_type()).map_err(|e| {
                    bad(format!(
                        "partition value {v:?} of `{}` is not a {}: {e}",
                        field.name(),
                        field.data_type()
                    ))
                })
            }
            _ => ScalarValue::try_from(field.data_type()).map_err(|e| bad(e.to_string())),
        })
        .collect::<Result<Vec<_>>>()?;
    let stats = file_statistics(f.stats().as_deref(), file_schema, size);
    Ok(PartitionedFile::new_from_meta(meta)
        .with_partition_values(values)
        .with_statistics(Arc::new(stats)))
}

/// Statistics of one file (over `file_schema`) from the Delta `stats` JSON of its Add
/// action: exact row and null counts, and min/max widened into bounds (inexact).
fn file_statistics(stats: Option<&str>, file_schema: &Schema, size: u64) -> Statistics {
    let mut out = Statistics::new_unknown(file_schema).with_total_byte_size(Precision::Inexact(
        usize::try_from(size).unwrap_or(usize::MAX),
    ));
    let Some(json) = stats.and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
        return out;
    };
    if let Some(n) = json
        .get("numRecords")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
    {
        out.num_rows = Precision::Exact(n);
    }
    let stat = |kind: &str, column: &str| json.get(kind).and_then(|m| m.get(column));
    for (field, c) in file_schema.fields().iter().zip(&mut out.column_statistics) {
        if let Some(n) = stat("nullCount", field.name())
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
        {
            c.null_count = Precision::Exact(n);
        }
        if let Some(v) =
            stat("minValues", field.name()).and_then(|v| stat_bound(v, field.data_type(), false))
        {
            c.min_value = Precision::Inexact(v);
        }
        if let Some(v) =
            stat("maxValues", field.name()).and_then(|v| stat_bound(v, field.data_type(), true))
        {
            c.max_value = Precision::Inexact(v);
        }
    }
    out
}

/// A Delta min or max statistic as a bound of type `data_type`: timestamps (written with
/// millisecond precision) are widened by just under a millisecond; NaN and values that do
/// not parse give no bound.
fn stat_bound(v: &Value, data_type: &DataType, upper: bool) -> Option<ScalarValue> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let value = ScalarValue::try_from_string(text, data_type).ok()?;
    let widen = |x: i64, by: i64| {
        if upper {
            x.saturating_add(by)
        } else {
            x.saturating_sub(by)
        }
    };
    match value {
        _ if value.is_null() => None,
        ScalarValue::Float64(Some(x)) if x.is_nan() => None,
        ScalarValue::Float32(Some(x)) if x.is_nan() => None,
        ScalarValue::TimestampMicrosecond(Some(x), tz) => {
            Some(ScalarValue::TimestampMicrosecond(Some(widen(x, 999)), tz))
        }
        ScalarValue::TimestampNanosecond(Some(x), tz) => Some(ScalarValue::TimestampNanosecond(
            Some(widen(x, 999_999)),
            tz,
        )),
        other => Some(other),
    }
}

/// The files' statistics as containers for DataFusion's pruning predicates.
struct FileStatistics<'a> {
    files: &'a [PartitionedFile],
    schema: &'a Schema,
}

impl FileStatistics<'_> {
    fn column(&self, column: &datafusion::common::Column) -> Option<(usize, ScalarValue)> {
        let i = self.schema.index_of(column.name()).ok()?;
        let null = ScalarValue::try_from(self.schema.field(i).data_type()).ok()?;
        Some((i, null))
    }

    fn bounds(
        &self,
        column: &datafusion::common::Column,
        pick: impl Fn(&ColumnStatistics) -> &Precision<ScalarValue>,
    ) -> Option<ArrayRef> {
        let (i, null) = self.column(column)?;
        ScalarValue::iter_to_array(self.files.iter().map(|f| {
            f.statistics
                .as_ref()
                .and_then(|s| s.column_statistics.get(i))
                .and_then(|c| pick(c).get_value().cloned())
                .unwrap_or_else(|| null.clone())
        }))
        .ok()
    }
}

impl PruningStatistics for FileStatistics<'_> {
    fn min_values(&self, column: &datafusion::common::Column) -> Option<ArrayRef> {
        self.bounds(column, |c| &c.min_value)
    }

    fn max_values(&self, column: &datafusion::common::Column) -> Option<ArrayRef> {
        self.bounds(column, |c| &c.max_value)
    }

    fn num_containers(&self) -> usize {
        self.files.len()
    }

    fn null_counts(&self, column: &datafusion::common::Column) -> Option<ArrayRef> {
        let (i, _) = self.column(column)?;
        Some(Arc::new(UInt64Array::from_iter(self.files.iter().map(
            |f| {
                f.statistics
                    .as_ref()
                    .and_then(|s| s.column_statistics.get(i))
                    .and_then(|c| c.null_count.get_value())
                    .map(|n| *n as u64)
            },
        ))))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        Some(Arc::new(UInt64Array::from_iter(self.files.iter().map(
            |f| {
                f.statistics
                    .as_ref()
                    .and_then(|s| s.num_rows.get_value())
                    .map(|n| *n as u64)
            },
        ))))
    }

    fn contained(
        &self,
        _column: &datafusion::common::Column,
        _values: &HashSet<ScalarValue>,
    ) -> Option<BooleanArray> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Lake, lake_schema, with_partition_columns};
    use datafusion::arrow::array::{Float64Array, UInt8Array};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::{SessionConfig, SessionContext};
    use deltalake::TableProperty;
    use deltalake::kernel::StructType;
    use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;

    /// 2024-03-01T00:00:00Z in µs.
    const T0: i64 = 1_709_251_200_000_000;

    /// A local lake reads at most 64 KiB to find a footer (DataFusion's default is 512 KiB,
    /// meant for object stores); a smaller or disabled read-ahead is kept, and other stores
    /// keep the session's setting.
    #[test]
    fn local_footers_are_read_with_a_small_read_ahead() -> DFResult<()> {
        let local = ObjectStoreUrl::parse("file://")?;
        let memory = ObjectStoreUrl::parse("memory://")?;
        let s3 = ObjectStoreUrl::parse("s3://bucket")?;
        assert_eq!(footer_hint(&local, Some(512 * 1024)), Some(64 * 1024));
        assert_eq!(footer_hint(&local, Some(8 * 1024)), Some(8 * 1024));
        assert_eq!(footer_hint(&local, None), None);
        assert_eq!(footer_hint(&memory, Some(512 * 1024)), Some(512 * 1024));
        assert_eq!(footer_hint(&s3, Some(512 * 1024)), Some(512 * 1024));
        Ok(())
    }

    /// Readings of `sensors` at `start`, `start` + 1 s, … (`n` each), plant P01.
    fn readings(sensors: &[&str], start: i64, n: i64) -> RecordBatch {
        let rows: Vec<(&str, i64)> = sensors
            .iter()
            .flat_map(|s| (0..n).map(move |i| (*s, start + i * 1_000_000)))
            .collect();
        let len = rows.len();
        let text = |v: Vec<String>| Arc::new(StringArray::from(v)) as ArrayRef;
        RecordBatch::try_new(
            Table::SensorReadings.schema(),
            vec![
                text(vec!["P01".into(); len]),
                text(vec!["P01-L1".into(); len]),
                text(vec!["P01-L1-M1".into(); len]),
                text(rows.iter().map(|r| r.0.to_string()).collect()),
                text(vec!["temperature".into(); len]),
                Arc::new(
                    TimestampMicrosecondArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
                Arc::new(Float64Array::from(vec![1.0; len])),
                Arc::new(UInt8Array::from(vec![0; len])),
            ],
        )
        .expect("readings")
    }

    /// A memory lake whose telemetry has two overlapping files in one partition.
    async fn overlapping() -> LakeTable {
        let lake = Lake::open("memory:///").await.expect("lake");
        let t = lake.table(Table::SensorReadings).await.expect("table");
        t.write(vec![readings(&["S1", "S2"], T0, 10)], "a")
            .await
            .expect("write a");
        t.write(vec![readings(&["S1", "S2"], T0 + 500_000, 10)], "b")
            .await
            .expect("write b");
        t
    }

    async fn plan(t: &LakeTable, provider: Arc<dyn TableProvider>, sql: &str) -> String {
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
        t.prepare_session(&ctx).await.expect("prepare");
        ctx.register_table("t", provider).expect("register");
        let explain = ctx
            .sql(&format!("EXPLAIN {sql}"))
            .await
            .expect("explain")
            .collect()
            .await
            .expect("explain");
        pretty_format_batches(&explain).expect("pretty").to_string()
    }

    const ORDERED: &str = "SELECT sensor_id, ts FROM t ORDER BY sensor_id, ts";

    #[tokio::test]
    async fn declares_the_order_only_of_files_whose_footers_declare_it() {
        let t = overlapping().await;
        let sorted = plan(&t, t.scan_provider().await.expect("provider"), ORDERED).await;
        assert!(
            sorted.contains("output_ordering=[sensor_id@0 ASC NULLS LAST, ts@1 ASC NULLS LAST]")
                && sorted.contains("SortPreservingMergeExec")
                && !sorted.contains("SortExec:"),
            "{sorted}"
        );
        // A file appended by another writer (deltalake's, without `sorting_columns`).
        let dt = t.handle.delta().await.expect("delta");
        let schema = dt.snapshot().expect("snapshot").snapshot().arrow_schema();
        let extra = with_partition_columns(Table::SensorReadings, &readings(&["S0"], T0, 5))
            .expect("partitions");
        let extra = super::super::project_to(&extra, &schema, "sensor_readings").expect("cast");
        dt.write(vec![extra]).await.expect("foreign write");
        let mixed = plan(&t, t.scan_provider().await.expect("provider"), ORDERED).await;
        assert!(
            mixed.contains("SortExec:") && !mixed.contains("output_ordering"),
            "{mixed}"
        );
        // A partition filter that leaves the foreign file out keeps the order: none here, so
        // a filter on its sensor's statistics (S0 < S1) does.
        let pruned = plan(
            &t,
            t.scan_provider().await.expect("provider"),
            "SELECT sensor_id, ts FROM t WHERE sensor_id >= 'S1' ORDER BY sensor_id, ts",
        )
        .await;
        assert!(!pruned.contains("SortExec:"), "{pruned}");
    }

    #[tokio::test]
    async fn too_many_overlapping_files_give_up_the_order() {
        let t = overlapping().await;
        let dt = t.handle.delta().await.expect("delta");
        let mut scan =
            LakeScan::try_new("sensor_readings", Table::SensorReadings, &dt).expect("scan");
        scan.max_ordered_groups = 1;
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
        t.prepare_session(&ctx).await.expect("prepare");
        ctx.register_table("t", Arc::new(scan)).expect("register");
        let explain = ctx
            .sql(&format!("EXPLAIN {ORDERED}"))
            .await
            .expect("explain")
            .collect()
            .await
            .expect("explain");
        let text = pretty_format_batches(&explain).expect("pretty").to_string();
        assert!(text.contains("SortExec:"), "{text}");
        let rows = ctx
            .sql(ORDERED)
            .await
            .expect("sql")
            .collect()
            .await
            .expect("rows");
        assert_eq!(rows.iter().map(RecordBatch::num_rows).sum::<usize>(), 40);
    }

    #[tokio::test]
    async fn refuses_deletion_vectors_and_column_mapping() {
        for (property, value, feature) in [
            (
                TableProperty::EnableDeletionVectors,
                "true",
                "deletionVectors",
            ),
            (TableProperty::ColumnMappingMode, "name", "columnMapping"),
        ] {
            let lake = Lake::open("memory:///").await.expect("lake");
            let kernel: StructType = lake_schema(Table::SensorReadings)
                .as_ref()
                .try_into_kernel()
                .expect("kernel schema");
            lake.builder("sensor_readings")
                .expect("builder")
                .build()
                .expect("table")
                .create()
                .with_columns(kernel.fields().cloned())
                .with_partition_columns(["plant_id", "day"])
                .with_configuration_property(property, Some(value))
                .await
                .expect("create");
            let t = lake.table(Table::SensorReadings).await.expect("open");
            let err = t.scan_provider().await.expect_err("refused");
            assert!(
                matches!(&err, Error::UnsupportedFeature { feature: f, .. } if f == feature),
                "{err}"
            );
            assert!(err.to_string().contains("LakeTable::provider"), "{err}");
        }
    }

    #[tokio::test]
    async fn history_lists_every_commit() {
        let t = overlapping().await;
        let h = t.history(None).await.expect("history");
        let text = pretty_format_batches(std::slice::from_ref(&h))
            .expect("pretty")
            .to_string();
        assert_eq!(h.num_rows(), 3, "{text}");
        assert!(
            text.contains("CREATE TABLE") && text.contains("| WRITE"),
            "{text}"
        );
        let app = h
            .column_by_name("app_id")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
            .expect("app_id");
        assert_eq!(app.value(2), "b");
        let rows = h
            .column_by_name("rows_added")
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>().cloned())
            .expect("rows_added");
        assert_eq!((rows.value(0), rows.value(1), rows.value(2)), (0, 20, 20));
        let last = t.history(Some(1)).await.expect("last");
        assert_eq!(last.num_rows(), 1);
        let old = t.as_of_version(1).await.expect("v1");
        assert_eq!(old.history(None).await.expect("history").num_rows(), 2);
    }

    #[test]
    fn statistics_become_bounds() {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let v = Value::String("2024-03-01T00:00:01.234Z".into());
        assert_eq!(
            stat_bound(&v, &ts, false),
            Some(ScalarValue::TimestampMicrosecond(
                Some(T0 + 1_234_000 - 999),
                Some("UTC".into())
            ))
        );
        assert_eq!(
            stat_bound(&v, &ts, true),
            Some(ScalarValue::TimestampMicrosecond(
                Some(T0 + 1_234_999),
                Some("UTC".into())
            ))
        );
        assert_eq!(
            stat_bound(&Value::from(3), &DataType::Int64, true),
            Some(ScalarValue::Int64(Some(3)))
        );
        assert_eq!(
            stat_bound(&Value::from("NaN"), &DataType::Float64, true),
            None
        );
        assert_eq!(stat_bound(&Value::from("x"), &DataType::Int64, true), None);

        let schema = Schema::new(vec![
            Field::new("sensor_id", DataType::Utf8, false),
            Field::new("ts", ts, false),
            Field::new("value", DataType::Float64, true),
        ]);
        let json = r#"{"numRecords":10,"minValues":{"sensor_id":"S1","ts":"2024-03-01T00:00:00.000Z"},
            "maxValues":{"sensor_id":"S2","ts":"2024-03-01T00:00:09.000Z"},"nullCount":{"sensor_id":0,"ts":0,"value":2}}"#;
        let s = file_statistics(Some(json), &schema, 100);
        assert_eq!(s.num_rows, Precision::Exact(10));
        assert_eq!(
            s.column_statistics[0].min_value,
            Precision::Inexact(ScalarValue::Utf8(Some("S1".into())))
        );
        assert_eq!(s.column_statistics[2].null_count, Precision::Exact(2));
        assert_eq!(s.column_statistics[2].max_value, Precision::Absent);
        let none = file_statistics(None, &schema, 100);
        assert_eq!(none.num_rows, Precision::Absent);
    }

    #[test]
    fn commit_files_are_summarised() {
        assert_eq!(
            commit_version(&Path::from("_delta_log/00000000000000000012.json")),
            Some(12)
        );
        for other in [
            "_delta_log/00000000000000000012.checkpoint.parquet",
            "_delta_log/_last_checkpoint",
            "_delta_log/12.json",
        ] {
            assert_eq!(commit_version(&Path::from(other)), None, "{other}");
        }
        let commit = br#"{"commitInfo":{"timestamp":1,"operation":"WRITE"}}
{"txn":{"appId":"fabrik-ingest:x","version":1}}
{"add":{"path":"a.parquet","size":1,"stats":"{\"numRecords\":5}"}}
{"add":{"path":"b.parquet","size":1,"stats":"{\"numRecords\":7}"}}
{"remove":{"path":"c.parquet"}}
"#;
        assert_eq!(
            CommitSummary::parse(commit),
            Ok(CommitSummary {
                operation: Some("WRITE".into()),
                app_id: Some("fabrik-ingest:x".into()),
                files_added: 2,
                files_removed: 1,
                rows_added: Some(12),
            })
        );
        let no_stats = br#"{"add":{"path":"a.parquet","size":1}}"#;
        assert_eq!(
            CommitSummary::parse(no_stats).map(|s| s.rows_added),
            Ok(None)
        );
        assert!(CommitSummary::parse(b"{not json").is_err());
    }
}
