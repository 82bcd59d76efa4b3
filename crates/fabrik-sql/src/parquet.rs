//! Parquet files read the way fabrik's kernels want them: text as dictionaries, the
//! file's sort order declared.
//!
//! [`ParquetTable`] is a DataFusion table over one Parquet file (or several with the same
//! schema). Compared with DataFusion's own Parquet table it:
//!
//! * reads string columns as `Dictionary(Int32, Utf8)`: the Parquet dictionary pages are
//!   kept instead of being expanded into one string per row, so a column such as
//!   `sensor_id` costs an index per row and group keys compare indices;
//! * declares the file's `sorting_columns` (written by fabrik, pyarrow and others) as the
//!   output order of each partition, so plans over `(sensor_id, ts)`-sorted telemetry need
//!   no sort and fabrik's rollup operator streams over runs;
//! * splits the row groups into contiguous ranges, one per partition (at most the session's
//!   `target_partitions`), each decoded in the task that consumes it.
//!
//! Filters are not pushed into the reader: DataFusion applies them above the scan.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Buf, Bytes};
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array};
use datafusion::arrow::compute::kernels::cmp::not_distinct;
use datafusion::arrow::compute::{SortColumn, SortOptions, concat, lexsort_to_indices};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Statistics;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::object_store::local::LocalFileSystem;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection, statistics::StatisticsConverter,
};
use datafusion::parquet::file::reader::{ChunkReader, Length};
use datafusion::physical_expr::{
    EquivalenceProperties, LexOrdering, PhysicalExpr, PhysicalSortExpr,
};
use datafusion::physical_plan::StatisticsArgs;
use datafusion::physical_plan::coop::cooperative;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType, SchedulingType};
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};

use crate::error::{Error, Result};

/// Rows per batch read: large batches keep per-batch overhead small for the kernels.
pub const BATCH_ROWS: usize = 16 * 1024;

/// One Parquet file of a [`ParquetTable`].
#[derive(Debug, Clone)]
struct ParquetFile {
    path: PathBuf,
    meta: ArrowReaderMetadata,
}

/// A DataFusion table over Parquet files, text read as dictionaries, the files' sort
/// order declared (see the module docs).
#[derive(Debug, Clone)]
pub struct ParquetTable {
    files: Vec<ParquetFile>,
    schema: SchemaRef,
    /// The sort order every row group declares, as (column index, descending, nulls first).
    order: Vec<(usize, bool, bool)>,
}

/// The schema with every string column as `Dictionary(Int32, Utf8)`.
fn dictionary_schema(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ))
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

impl ParquetTable {
    /// Opens a Parquet file, or every `*.parquet` file of a directory (all with the same
    /// schema), reading only the footers. The files are read in name order or, when they
    /// declare a sort order, in the order of its first column (see `in_key_order`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let paths = if path.is_dir() {
            let mut v = Vec::new();
            let entries = std::fs::read_dir(path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            for e in entries {
                let e = e.map_err(|source| Error::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                let p = e.path();
                if p.extension().is_some_and(|x| x == "parquet") {
                    v.push(p);
                }
            }
            v.sort();
            v
        } else {
            vec![path.to_path_buf()]
        };
        if paths.is_empty() {
            return Err(Error::NoParquetFiles {
                path: path.to_path_buf(),
            });
        }
        Self::open_files(paths)
    }

    /// Opens the given Parquet files (at least one, all with the same schema), reading
    /// only the footers.
    fn open_files(paths: Vec<PathBuf>) -> Result<Self> {
        let mut files = Vec::with_capacity(paths.len());
        let mut schema: Option<SchemaRef> = None;
        let mut order: Option<Vec<(usize, bool, bool)>> = None;
        for p in paths {
            let file = File::open(&p).map_err(|source| Error::Io {
                path: p.clone(),
                source,
            })?;
            let plain =
                ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|source| {
                    Error::Parquet {
                        path: p.clone(),
                        source,
                    }
                })?;
            let dict = Arc::new(dictionary_schema(plain.schema()));
            let meta = ArrowReaderMetadata::try_new(
                Arc::clone(plain.metadata()),
                ArrowReaderOptions::new().with_schema(Arc::clone(&dict)),
            )
            .map_err(|source| Error::Parquet {
                path: p.clone(),
                source,
            })?;
            match &schema {
                None => schema = Some(Arc::clone(meta.schema())),
                Some(s) if s.fields() != meta.schema().fields() => {
                    return Err(Error::SchemaMismatch {
                        path: p.clone(),
                        expected: Arc::clone(s),
                        found: Arc::clone(meta.schema()),
                    });
                }
                Some(_) => {}
            }
            let file_order = declared_order(&meta);
            order = Some(match order {
                None => file_order,
                Some(o) => common_prefix(&o, &file_order),
            });
            files.push(ParquetFile { path: p, meta });
        }
        let schema = schema.unwrap_or_else(|| Arc::new(Schema::empty()));
        let order = order.unwrap_or_default();
        Ok(ParquetTable {
            files: in_key_order(files, &schema, &order),
            schema,
            order,
        })
    }

    /// The declared sort order's column names (empty when the files declare none).
    pub fn sort_columns(&self) -> Vec<&str> {
        self.order
            .iter()
            .map(|(i, _, _)| self.schema.field(*i).name().as_str())
            .collect()
    }
}

/// Files that declare a sort order, put in the order of its first column: ascending by the
/// smallest value of each file's first row group, descending by the largest, as the
/// footers' statistics give them (ties keep their relative place; a file whose statistics
/// lack the value sorts where the declared order puts nulls). A lake lists a table's files in no particular order (a partition's files by
/// commit, months out of order within one), and the order of files decides the order rows
/// reach the scan in: in key order a time rollup over them sees each series' buckets in
/// order and keeps its fast path (see `Rollup::group_of` in fabrik-kernels). Without a
/// declared order, or when a file has no row group or the statistics cannot be read or
/// compared, the order given stays.
fn in_key_order(
    files: Vec<ParquetFile>,
    schema: &Schema,
    order: &[(usize, bool, bool)],
) -> Vec<ParquetFile> {
    let Some(&(col, descending, nulls_first)) = order.first() else {
        return files;
    };
    if files.len() < 2 {
        return files;
    }
    let name = schema.field(col).name();
    let bounds: Option<Vec<ArrayRef>> = files
        .iter()
        .map(|f| {
            let md = f.meta.metadata();
            let first = md.row_groups().first()?;
            let stats =
                StatisticsConverter::try_new(name, schema, md.file_metadata().schema_descr())
                    .ok()?;
            if descending {
                stats.row_group_maxes([first]).ok()
            } else {
                stats.row_group_mins([first]).ok()
            }
        })
        .collect();
    let Some(bounds) = bounds else {
        return files;
    };
    let refs: Vec<&dyn Array> = bounds.iter().map(|a| a.as_ref()).collect();
    let Ok(key) = concat(&refs) else {
        return files;
    };
    let place: ArrayRef = Arc::new(UInt32Array::from_iter_values(0..files.len() as u32));
    let Ok(sorted) = lexsort_to_indices(
        &[
            SortColumn {
                values: key,
                options: Some(SortOptions {
                    descending,
                    nulls_first,
                }),
            },
            SortColumn {
                values: place,
                options: None,
            },
        ],
        None,
    ) else {
        return files;
    };
    let mut slots: Vec<Option<ParquetFile>> = files.into_iter().map(Some).collect();
    sorted
        .values()
        .iter()
        .filter_map(|&i| slots.get_mut(i as usize)?.take())
        .collect()
}

/// The sort order all row groups of a file declare, as top-level column indices.
fn declared_order(meta: &ArrowReaderMetadata) -> Vec<(usize, bool, bool)> {
    let md = meta.metadata();
    let descr = md.file_metadata().schema_descr();
    let mut order: Option<Vec<(usize, bool, bool)>> = None;
    for rg in md.row_groups() {
        let Some(cols) = rg.sorting_columns() else {
            return Vec::new();
        };
        let mut this = Vec::new();
        for c in cols {
            let leaf = c.column_idx as usize;
            if leaf >= descr.num_columns() {
                break;
            }
            let root = descr.get_column_root_idx(leaf);
            // Only flat columns map one leaf to one top-level column.
            if descr.root_schema().get_fields()[root].is_group() {
                break;
            }
            this.push((root, c.descending, c.nulls_first));
        }
        order = Some(match order {
            None => this,
            Some(o) => common_prefix(&o, &this),
        });
    }
    order.unwrap_or_default()
}

fn common_prefix<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter()
        .zip(b)
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.clone())
        .collect()
}

#[async_trait]
impl TableProvider for ParquetTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let target = state.config().target_partitions().max(1);
        Ok(Arc::new(ParquetScanExec::new(self, projection, target)?))
    }
}

/// A range of row groups of one file.
#[derive(Debug, Clone)]
struct Slice {
    file: usize,
    row_groups: Vec<usize>,
}

/// The scan of a [`ParquetTable`]: contiguous row-group ranges per partition.
#[derive(Debug)]
pub struct ParquetScanExec {
    table: ParquetTable,
    projection: Vec<usize>,
    /// Run-end mode (see [`ParquetScanExec::with_run_ends`]): the key columns and the
    /// timestamp after them in the files' order, as table column indices.
    run_ends: Option<(Vec<usize>, usize)>,
    partitions: Vec<Vec<Slice>>,
    properties: Arc<PlanProperties>,
    /// `output_rows` per partition (shown by `EXPLAIN ANALYZE`).
    metrics: ExecutionPlanMetricsSet,
}

impl ParquetScanExec {
    fn new(table: &ParquetTable, projection: Vec<usize>, target: usize) -> DFResult<Self> {
        let schema = Arc::new(table.schema.project(&projection)?);
        // Row groups in file order, weighted by rows, cut into `target` contiguous ranges.
        let groups: Vec<(usize, usize, i64)> = table
            .files
            .iter()
            .enumerate()
            .flat_map(|(f, file)| {
                file.meta
                    .metadata()
                    .row_groups()
                    .iter()
                    .enumerate()
                    .map(move |(g, rg)| (f, g, rg.num_rows()))
            })
            .collect();
        let total: i64 = groups.iter().map(|g| g.2).sum();
        let parts = target.min(groups.len()).max(1);
        let mut partitions: Vec<Vec<Slice>> = vec![Vec::new(); parts];
        let mut seen = 0i64;
        for (f, g, rows) in groups {
            let p = if total == 0 {
                0
            } else {
                ((seen as i128 * parts as i128) / total as i128) as usize
            }
            .min(parts - 1);
            seen += rows;
            match partitions[p].last_mut() {
                Some(s) if s.file == f => s.row_groups.push(g),
                _ => partitions[p].push(Slice {
                    file: f,
                    row_groups: vec![g],
                }),
            }
        }
        // The declared order survives projection as far as its columns are kept, and
        // across files only when there is one file (or the files are one sorted run,
        // which is not checked: then the order is declared per file only).
        let mut sort = Vec::new();
        if table.files.len() == 1 {
            for &(col, descending, nulls_first) in &table.order {
                let Some(pos) = projection.iter().position(|&p| p == col) else {
                    break;
                };
                sort.push(PhysicalSortExpr::new(
                    Arc::new(Column::new(schema.field(pos).name(), pos)),
                    SortOptions {
                        descending,
                        nulls_first,
                    },
                ));
            }
        }
        let eq = match LexOrdering::new(sort) {
            Some(ordering) => {
                EquivalenceProperties::new_with_orderings(Arc::clone(&schema), [ordering])
            }
            None => EquivalenceProperties::new(Arc::clone(&schema)),
        };
        let properties = Arc::new(
            PlanProperties::new(
                eq,
                Partitioning::UnknownPartitioning(partitions.len()),
                EmissionType::Incremental,
                Boundedness::Bounded,
            )
            // Its streams spend the task's scheduling budget (see `execute`).
            .with_scheduling_type(SchedulingType::Cooperative),
        );
        Ok(ParquetScanExec {
            table: table.clone(),
            projection,
            run_ends: None,
            partitions,
            properties,
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

impl ParquetScanExec {
    /// The projected column names.
    pub fn column_names(&self) -> Vec<&str> {
        self.projection
            .iter()
            .map(|&i| self.table.schema.field(i).name().as_str())
            .collect()
    }

    /// This scan in **run-end mode**: of each run of rows with equal `keys` within a row
    /// group, only the last row is decoded and returned.
    ///
    /// For the latest value per series: when the files are sorted by `keys` (in any order
    /// of the same columns) and then by `ts`, the last row of a run holds the run's largest
    /// `ts`, so `max(ts)` and `last_value(x ORDER BY ts)` per key over the returned rows
    /// equal those over all rows (the rollup above merges runs that continue across row
    /// groups). The key columns are decoded for every row; the other columns only at the
    /// selected rows, so their pages are mostly skipped without being decompressed. A row
    /// group whose statistics do not show `ts` free of nulls is read whole.
    ///
    /// `None` unless `keys` are the first columns of the order every row group of every
    /// file declares, `ts` the next one, all ascending. Over many files the runs are per
    /// row group just the same; only the scan's output declares no order then.
    pub fn with_run_ends(&self, keys: &[&str], ts: &str) -> Option<Self> {
        if keys.is_empty() {
            return None;
        }
        let index = |name: &str| self.table.schema.index_of(name).ok();
        let key_cols: Vec<usize> = keys.iter().map(|k| index(k)).collect::<Option<_>>()?;
        let ts_col = index(ts)?;
        let order = &self.table.order;
        if order.len() <= key_cols.len() {
            return None;
        }
        let mut prefix: Vec<usize> = order[..key_cols.len()].iter().map(|o| o.0).collect();
        let mut wanted = key_cols.clone();
        prefix.sort_unstable();
        wanted.sort_unstable();
        let next = order[key_cols.len()];
        if prefix != wanted
            || next.0 != ts_col
            || next.1
            || order[..key_cols.len()].iter().any(|o| o.1)
        {
            return None;
        }
        if !key_cols
            .iter()
            .chain([&ts_col])
            .all(|c| self.projection.contains(c))
        {
            return None;
        }
        Some(ParquetScanExec {
            table: self.table.clone(),
            projection: self.projection.clone(),
            run_ends: Some((key_cols, ts_col)),
            partitions: self.partitions.clone(),
            properties: Arc::clone(&self.properties),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

impl ParquetScanExec {
    /// fabrik's scan of the files a DataFusion Parquet scan (`DataSourceExec`) reads, when
    /// they are whole local files read without a filter or a limit and the scan's columns
    /// are all in the files (no partition values), or fabrik's own scan: the same columns
    /// in the same order, in `partitions` partitions, text read as dictionaries. `None`
    /// otherwise (or when a footer cannot be read: the original scan then reports it).
    ///
    /// For the lake's tables, whose provider plans DataFusion's scan over exactly a
    /// snapshot's files: the rollup operator reads them through it (keys as dictionaries),
    /// and the latest-value query in [run-end mode](ParquetScanExec::with_run_ends).
    pub fn of_local_files(plan: &Arc<dyn ExecutionPlan>, partitions: usize) -> Option<Self> {
        if let Some(scan) = plan.downcast_ref::<ParquetScanExec>() {
            return ParquetScanExec::new(&scan.table, scan.projection.clone(), partitions).ok();
        }
        let (config, source) = plan
            .downcast_ref::<DataSourceExec>()?
            .downcast_to_file_source::<ParquetSource>()?;
        if source.filter().is_some()
            || config.limit.is_some()
            || config.object_store_url.as_str() != "file:///"
        {
            return None;
        }
        // Files split in byte ranges over partitions count when the ranges cover them.
        let local = LocalFileSystem::new();
        let mut files: Vec<(&PartitionedFile, u64)> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for file in config.file_groups.iter().flat_map(|g| g.iter()) {
            let len = file
                .range
                .as_ref()
                .map_or(file.object_meta.size, |r| (r.end - r.start) as u64);
            match seen.get(file.object_meta.location.as_ref()) {
                Some(&i) => files[i].1 += len,
                None => {
                    seen.insert(file.object_meta.location.as_ref(), files.len());
                    files.push((file, len));
                }
            }
        }
        let mut paths = Vec::with_capacity(files.len());
        for (file, covered) in files {
            if covered != file.object_meta.size {
                return None;
            }
            paths.push(local.path_to_filesystem(&file.object_meta.location).ok()?);
        }
        if paths.is_empty() {
            return None;
        }
        let table = ParquetTable::open_files(paths).ok()?;
        let projection: Vec<usize> = plan
            .schema()
            .fields()
            .iter()
            .map(|f| table.schema.index_of(f.name()).ok())
            .collect::<Option<_>>()?;
        ParquetScanExec::new(&table, projection, partitions.max(1)).ok()
    }
}

impl DisplayAs for ParquetScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .projection
            .iter()
            .map(|&i| self.table.schema.field(i).name().as_str())
            .collect();
        write!(
            f,
            "FabrikParquetScan: files={}, partitions={}, projection=[{}]",
            self.table.files.len(),
            self.partitions.len(),
            names.join(", ")
        )?;
        let order = self.table.sort_columns();
        if !order.is_empty() {
            write!(f, ", file_order=[{}]", order.join(", "))?;
        }
        if let Some((keys, _)) = &self.run_ends {
            let names: Vec<&str> = keys
                .iter()
                .map(|&i| self.table.schema.field(i).name().as_str())
                .collect();
            write!(f, ", run_ends=[{}]", names.join(", "))?;
        }
        Ok(())
    }
}

impl ExecutionPlan for ParquetScanExec {
    fn name(&self) -> &str {
        "FabrikParquetScan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DFResult<TreeNodeRecursion>,
    ) -> DFResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    /// The exact row count of a partition (or of the scan), from the row groups' metadata;
    /// unknown in run-end mode, which yields only the rows that end a run.
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> DFResult<Arc<Statistics>> {
        let partition = args.partition();
        let mut stats = Statistics::new_unknown(&self.schema());
        if self.run_ends.is_none() {
            let slices: Vec<&Slice> = match partition {
                Some(p) => self
                    .partitions
                    .get(p)
                    .ok_or_else(|| {
                        DataFusionError::Internal(format!("FabrikParquetScan has no partition {p}"))
                    })?
                    .iter()
                    .collect(),
                None => self.partitions.iter().flatten().collect(),
            };
            let rows: i64 = slices
                .iter()
                .map(|s| {
                    let md = self.table.files[s.file].meta.metadata();
                    s.row_groups
                        .iter()
                        .map(|&g| md.row_group(g).num_rows())
                        .sum::<i64>()
                })
                .sum();
            // A negative count (a corrupt footer) leaves the count unknown, not zero.
            if let Ok(rows) = usize::try_from(rows) {
                stats.num_rows = Precision::Exact(rows);
            }
        }
        Ok(Arc::new(stats))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "FabrikParquetScan has no children".to_owned(),
            ))
        }
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DFResult<SendableRecordBatchStream> {
        let schema = self.schema();
        let batches = self.partition_batches(partition)?;
        // Decoded in the consumer's task, batch by batch: no thread hand-off, and a batch
        // is aggregated on the core that decoded it while it is still in cache. Each batch
        // spends a unit of the task's Tokio budget, so a long scan still yields to the
        // other tasks of its thread (and to cancellation), as DataFusion's own scans do.
        Ok(Box::pin(cooperative(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(batches),
        ))))
    }
}

impl ParquetScanExec {
    /// The batches of `partition`, read when asked for.
    fn partition_batches(&self, partition: usize) -> DFResult<PartitionBatches> {
        let slices = self.partitions.get(partition).cloned().ok_or_else(|| {
            DataFusionError::Internal(format!("FabrikParquetScan has no partition {partition}"))
        })?;
        Ok(PartitionBatches {
            files: self.table.files.clone(),
            slices: slices.into_iter(),
            projection: self.projection.clone(),
            run_ends: self.run_ends.clone(),
            output_rows: MetricBuilder::new(&self.metrics).output_rows(partition),
            open: None,
            pool: Vec::new(),
            failed: false,
        })
    }
}

/// The batches of one partition of a [`ParquetScanExec`], decoded as they are asked for.
struct PartitionBatches {
    files: Vec<ParquetFile>,
    slices: std::vec::IntoIter<Slice>,
    projection: Vec<usize>,
    run_ends: Option<(Vec<usize>, usize)>,
    output_rows: datafusion::physical_plan::metrics::Count,
    /// The file being read and what is left of its slice.
    open: Option<OpenSlice>,
    /// Column chunk buffers of finished row groups, for the next ones.
    pool: Vec<Vec<u8>>,
    /// An error was returned: the stream ends.
    failed: bool,
}

/// A file being read: its handle, the row groups left and the one being decoded.
struct OpenSlice {
    file: usize,
    handle: File,
    mask: ProjectionMask,
    row_groups: std::vec::IntoIter<usize>,
    current: Option<(ParquetRecordBatchReader, Arc<ColumnChunks>)>,
}

impl PartitionBatches {
    fn next_batch(&mut self) -> DFResult<Option<RecordBatch>> {
        loop {
            let Some(open) = &mut self.open else {
                let Some(slice) = self.slices.next() else {
                    return Ok(None);
                };
                let file = &self.files[slice.file];
                let handle = File::open(&file.path).map_err(|source| io_error(file, source))?;
                let mask = ProjectionMask::roots(
                    file.meta.parquet_schema(),
                    self.projection.iter().copied(),
                );
                self.open = Some(OpenSlice {
                    file: slice.file,
                    handle,
                    mask,
                    row_groups: slice.row_groups.into_iter(),
                    current: None,
                });
                continue;
            };
            let file = &self.files[open.file];
            if let Some((batches, _)) = &mut open.current {
                match batches.next() {
                    Some(batch) => {
                        let batch = batch.map_err(|e| {
                            DataFusionError::External(Box::new(Error::ParquetRead {
                                path: file.path.clone(),
                                source: e,
                            }))
                        })?;
                        self.output_rows.add(batch.num_rows());
                        return Ok(Some(batch));
                    }
                    None => {
                        // Drop the reader (it shares the chunks), then take the chunk
                        // buffers back for the next row group (fresh buffers cost a page
                        // fault per 4 KiB).
                        if let Some((reader, chunks)) = open.current.take() {
                            drop(reader);
                            if let Ok(chunks) = Arc::try_unwrap(chunks) {
                                chunks.recycle(&mut self.pool);
                            }
                        }
                    }
                }
            }
            let Some(rg) = open.row_groups.next() else {
                self.open = None;
                continue;
            };
            // The projected column chunks of the row group, read with one read each and
            // decoded from memory.
            let chunks = ColumnChunks::read(
                &mut open.handle,
                file.meta.metadata().row_group(rg),
                &open.mask,
                &mut self.pool,
            )
            .map_err(|source| io_error(file, source))?;
            let chunks = Arc::new(chunks);
            let selection = match &self.run_ends {
                Some((keys, ts)) => run_end_selection(&chunks, file, rg, keys, *ts)?,
                None => None,
            };
            let mut rg_reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                SharedChunks(Arc::clone(&chunks)),
                file.meta.clone(),
            )
            .with_projection(open.mask.clone())
            .with_row_groups(vec![rg])
            .with_batch_size(BATCH_ROWS);
            if let Some(selection) = selection {
                rg_reader = rg_reader.with_row_selection(selection);
            }
            let batches = rg_reader.build().map_err(|source| {
                DataFusionError::External(Box::new(Error::Parquet {
                    path: file.path.clone(),
                    source,
                }))
            })?;
            open.current = Some((batches, chunks));
        }
    }
}

impl Iterator for PartitionBatches {
    type Item = DFResult<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_batch() {
            Ok(batch) => batch.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// An I/O error on `file` as DataFusion's error.
fn io_error(file: &ParquetFile, source: std::io::Error) -> DataFusionError {
    DataFusionError::External(Box::new(Error::Io {
        path: file.path.clone(),
        source,
    }))
}

/// The projected column chunks of one row group, in memory, addressed by file offset:
/// the Parquet reader's `ChunkReader` over them (reading a `File` directly costs a `dup`,
/// a seek and many small reads per page).
struct ColumnChunks {
    /// (file offset, bytes), sorted by offset.
    chunks: Vec<(u64, Bytes)>,
    file_len: u64,
}

impl ColumnChunks {
    fn read(
        file: &mut File,
        rg: &datafusion::parquet::file::metadata::RowGroupMetaData,
        mask: &ProjectionMask,
        pool: &mut Vec<Vec<u8>>,
    ) -> std::io::Result<Self> {
        use std::io::{Read, Seek, SeekFrom};
        let file_len = file.metadata()?.len();
        let mut chunks = Vec::new();
        for (i, col) in rg.columns().iter().enumerate() {
            if !mask.leaf_included(i) {
                continue;
            }
            let (start, len) = col.byte_range();
            let mut buf = take_buffer(pool, len as usize);
            buf.clear();
            buf.reserve(len as usize);
            file.seek(SeekFrom::Start(start))?;
            Read::by_ref(file).take(len).read_to_end(&mut buf)?;
            if buf.len() as u64 != len {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "column chunk at {start} ends after {} of {len} bytes",
                        buf.len()
                    ),
                ));
            }
            chunks.push((start, Bytes::from(buf)));
        }
        chunks.sort_by_key(|c| c.0);
        Ok(ColumnChunks { chunks, file_len })
    }

    /// Gives the buffers nothing else holds any more back to `pool`.
    fn recycle(self, pool: &mut Vec<Vec<u8>>) {
        for (_, bytes) in self.chunks {
            if let Ok(b) = bytes.try_into_mut() {
                pool.push(b.into());
            }
        }
    }

    /// The bytes from `start` to the end of the chunk holding it.
    fn from(&self, start: u64) -> datafusion::parquet::errors::Result<Bytes> {
        let i = self.chunks.partition_point(|c| c.0 <= start);
        if i > 0 {
            let (off, bytes) = &self.chunks[i - 1];
            let rel = (start - off) as usize;
            if rel <= bytes.len() {
                return Ok(bytes.slice(rel..));
            }
        }
        Err(datafusion::parquet::errors::ParquetError::General(format!(
            "offset {start} is outside the column chunks read"
        )))
    }
}

impl Length for ColumnChunks {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl ChunkReader for ColumnChunks {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> datafusion::parquet::errors::Result<Self::T> {
        Ok(self.from(start)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> datafusion::parquet::errors::Result<Bytes> {
        let b = self.from(start)?;
        if length > b.len() {
            return Err(datafusion::parquet::errors::ParquetError::General(format!(
                "{length} bytes at offset {start} run past the column chunk read"
            )));
        }
        Ok(b.slice(..length))
    }
}

/// The pooled buffer that best fits `len` bytes: the smallest that holds them, else the
/// largest (grown once). Taking any buffer would hand a column's large buffer to a small
/// column and make the large one allocate afresh, page fault by page fault, on every row
/// group.
fn take_buffer(pool: &mut Vec<Vec<u8>>, len: usize) -> Vec<u8> {
    let fits = pool
        .iter()
        .enumerate()
        .filter(|(_, b)| b.capacity() >= len)
        .min_by_key(|(_, b)| b.capacity())
        .map(|(i, _)| i);
    let pick = fits.or_else(|| {
        pool.iter()
            .enumerate()
            .max_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)
    });
    pick.map(|i| pool.swap_remove(i)).unwrap_or_default()
}

/// [`ColumnChunks`] shared between the two reads of a row group in run-end mode.
struct SharedChunks(Arc<ColumnChunks>);

impl Length for SharedChunks {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl ChunkReader for SharedChunks {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> datafusion::parquet::errors::Result<Self::T> {
        self.0.get_read(start)
    }

    fn get_bytes(&self, start: u64, length: usize) -> datafusion::parquet::errors::Result<Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// The rows of row group `rg` that end a run of equal `keys`, or `None` (read every row)
/// when the statistics do not show the timestamp free of nulls.
fn run_end_selection(
    chunks: &Arc<ColumnChunks>,
    file: &ParquetFile,
    rg: usize,
    keys: &[usize],
    ts: usize,
) -> DFResult<Option<RowSelection>> {
    let md = file.meta.metadata().row_group(rg);
    let descr = file.meta.parquet_schema();
    let ts_leaf = (0..descr.num_columns()).find(|&l| descr.get_column_root_idx(l) == ts);
    let ts_has_no_nulls = ts_leaf
        .and_then(|l| md.column(l).statistics())
        .and_then(|s| s.null_count_opt())
        == Some(0);
    let rows = usize::try_from(md.num_rows()).unwrap_or(0);
    if !ts_has_no_nulls || rows == 0 {
        return Ok(None);
    }
    let parquet_error = |source| {
        DataFusionError::External(Box::new(Error::Parquet {
            path: file.path.clone(),
            source,
        }))
    };
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
        SharedChunks(Arc::clone(chunks)),
        file.meta.clone(),
    )
    .with_projection(ProjectionMask::roots(descr, keys.iter().copied()))
    .with_row_groups(vec![rg])
    // Batches small enough to stay in cache while the reader checks the dictionary keys
    // it has just written and the runs are found.
    .with_batch_size(BATCH_ROWS)
    .build()
    .map_err(parquet_error)?;
    let mut ends: Vec<usize> = Vec::new();
    let mut offset = 0usize;
    // The previous batch's last row: a run that goes on into this batch does not end
    // there.
    let mut last_row: Option<Vec<ArrayRef>> = None;
    for batch in reader {
        let batch = batch.map_err(|source| {
            DataFusionError::External(Box::new(Error::ParquetRead {
                path: file.path.clone(),
                source,
            }))
        })?;
        let n = batch.num_rows();
        if n == 0 {
            continue;
        }
        if let Some(prev) = &last_row {
            let mut same = true;
            for (p, c) in prev.iter().zip(batch.columns()) {
                same &= not_distinct(p, &c.slice(0, 1))
                    .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))?
                    .value(0);
            }
            if same && ends.last() == Some(&(offset - 1)) {
                ends.pop();
            }
        }
        last_row = Some(batch.columns().iter().map(|c| c.slice(n - 1, 1)).collect());
        // One key column, sorted (the file's declared order): gallop from run to run
        // instead of comparing every row with the one before.
        let galloped = match batch.columns() {
            [key] => fabrik_kernels::rollup::sorted_run_ends(key),
            _ => None,
        };
        match galloped {
            Some(run_ends) => ends.extend(run_ends.into_iter().map(|e| offset + e)),
            None => {
                let starts = fabrik_kernels::rollup::run_starts(batch.columns())
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                ends.extend(starts.iter().filter(|&&s| s > 0).map(|&s| offset + s - 1));
                if n > 0 {
                    ends.push(offset + n - 1);
                }
            }
        }
        offset += n;
    }
    ends.dedup();
    Ok(Some(RowSelection::from_consecutive_ranges(
        ends.into_iter().map(|e| e..e + 1),
        rows,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int64Array};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;

    /// Writes `batch` to a Parquet file at `path`, in row groups of `row_group_rows`
    /// (the writer's default when `None`).
    fn write_parquet(
        path: &Path,
        batch: &RecordBatch,
        row_group_rows: Option<usize>,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let mut props = WriterProperties::builder();
        if let Some(rows) = row_group_rows {
            props = props.set_max_row_group_row_count(Some(rows));
        }
        let props = props.build();
        let mut writer = ArrowWriter::try_new(File::create(path)?, batch.schema(), Some(props))?;
        writer.write(batch)?;
        writer.close()?;
        Ok(())
    }

    #[test]
    fn a_row_group_s_chunk_buffers_go_back_to_the_pool_for_the_next()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("three_row_groups.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("v", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from_iter_values(0..3000)),
                Arc::new(Float64Array::from_iter_values((0..3000).map(f64::from))),
            ],
        )?;
        write_parquet(&path, &batch, Some(1000))?;

        let table = ParquetTable::open(&path)?;
        let scan = ParquetScanExec::new(&table, vec![0, 1], 1)?;
        let mut batches = scan.partition_batches(0)?;
        let mut rows = 0;
        let mut pooled = Vec::new();
        while let Some(batch) = batches.next() {
            rows += batch?.num_rows();
            pooled.push(batches.pool.len());
        }
        assert_eq!(rows, 3000);
        // A row group's reader holds its chunks: once it is done, the two chunk buffers
        // go to the pool and the next row group takes them (so none is pooled while a
        // row group is read); after the last, they stay pooled.
        assert_eq!(pooled, vec![0, 0, 0]);
        assert_eq!(batches.pool.len(), 2);
        Ok(())
    }

    /// The scan reports each partition's exact row count from the footers (the rollup
    /// operator sizes its states by it), the whole scan's as their sum, and no count in
    /// run-end mode, which yields fewer rows.
    #[test]
    fn partition_row_counts_come_from_the_row_groups()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("ts", DataType::Int64, false),
        ]));
        // Two files: 2,500 rows in row groups of 1,000, then 700 rows in one.
        for (name, n) in [("a.parquet", 2500), ("b.parquet", 700)] {
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from_iter_values((0..n).map(|i| i / 100))),
                    Arc::new(Int64Array::from_iter_values(0..n)),
                ],
            )?;
            write_parquet(&dir.path().join(name), &batch, Some(1000))?;
        }
        let table = ParquetTable::open(dir.path())?;
        let scan = ParquetScanExec::new(&table, vec![0, 1], 2)?;
        let rows_of = |plan: &ParquetScanExec, p: Option<usize>| -> DFResult<Precision<usize>> {
            let args = StatisticsArgs::new().with_partition(p);
            Ok(plan.statistics_from_inputs(&[], &args)?.num_rows)
        };
        let per_partition: Vec<Precision<usize>> = (0..scan.partitions.len())
            .map(|p| rows_of(&scan, Some(p)))
            .collect::<DFResult<_>>()?;
        // Four row groups (1,000, 1,000, 500, 700 rows) cut by rows into two ranges.
        assert_eq!(
            per_partition,
            vec![Precision::Exact(2000), Precision::Exact(1200)]
        );
        assert_eq!(rows_of(&scan, None)?, Precision::Exact(3200));
        assert!(rows_of(&scan, Some(2)).is_err());

        // Run-end mode (as `with_run_ends` makes it over files declared sorted by k, ts).
        let run_ends = ParquetScanExec {
            table: table.clone(),
            projection: vec![0, 1],
            run_ends: Some((vec![0], 1)),
            partitions: scan.partitions.clone(),
            properties: Arc::clone(&scan.properties),
            metrics: ExecutionPlanMetricsSet::new(),
        };
        assert_eq!(rows_of(&run_ends, Some(0))?, Precision::Absent);
        assert_eq!(rows_of(&run_ends, None)?, Precision::Absent);
        Ok(())
    }

    #[test]
    fn a_file_gone_after_the_table_was_opened_is_one_error_naming_it_then_the_end()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        // Two files, one partition: the first is removed after the footers were read.
        let dir = tempfile::tempdir()?;
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
        for name in ["a.parquet", "b.parquet"] {
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(Int64Array::from_iter_values(0..10))],
            )?;
            write_parquet(&dir.path().join(name), &batch, None)?;
        }
        let table = ParquetTable::open(dir.path())?;
        std::fs::remove_file(dir.path().join("a.parquet"))?;

        let scan = ParquetScanExec::new(&table, vec![0], 1)?;
        let mut batches = scan.partition_batches(0)?;
        let error = match batches.next() {
            Some(Err(e)) => e.to_string(),
            other => panic!("expected an error, got {other:?}"),
        };
        assert!(
            error.contains("a.parquet"),
            "the error names the file: {error}"
        );
        // The stream ends there: the second file is not read after the error.
        assert!(batches.next().is_none(), "the stream ends after its error");
        Ok(())
    }

    #[test]
    fn a_long_scan_yields_to_the_other_tasks_of_its_thread()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        use futures::StreamExt;
        use std::sync::atomic::{AtomicBool, Ordering};

        // 200 row groups of 10 rows: 200 batches, more than a task's Tokio budget (128).
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("many_row_groups.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from_iter_values(0..2000))],
        )?;
        write_parquet(&path, &batch, Some(10))?;
        let table = ParquetTable::open(&path)?;
        let scan = ParquetScanExec::new(&table, vec![0], 1)?;
        assert_eq!(
            scan.properties().scheduling_type,
            SchedulingType::Cooperative
        );

        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        let (batches, before_other) = runtime.block_on(async {
            let other_ran = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&other_ran);
            let other = tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
            let mut stream = scan.execute(0, Arc::new(TaskContext::default()))?;
            let (mut batches, mut before_other) = (0, 0);
            while let Some(batch) = stream.next().await {
                batch?;
                batches += 1;
                if !other_ran.load(Ordering::SeqCst) {
                    before_other += 1;
                }
            }
            other.await?;
            Ok::<_, Box<dyn std::error::Error>>((batches, before_other))
        })?;
        assert_eq!(batches, 200);
        // The only thread ran the other task while the scan was under way.
        assert!(
            before_other < batches,
            "the scan never yielded: {before_other}"
        );
        Ok(())
    }

    #[test]
    fn a_pooled_buffer_goes_to_the_chunk_it_fits_best() {
        let mut pool: Vec<Vec<u8>> = [4_000, 1_700_000, 4_200_000]
            .into_iter()
            .map(Vec::with_capacity)
            .collect();
        // The small chunk takes the small buffer, not the last one pooled.
        assert!(take_buffer(&mut pool, 3_800).capacity() < 1_000_000);
        assert_eq!(take_buffer(&mut pool, 1_600_000).capacity(), 1_700_000);
        // Nothing fits: the largest is taken (and grown by the caller).
        assert_eq!(take_buffer(&mut pool, 5_000_000).capacity(), 4_200_000);
        assert_eq!(take_buffer(&mut pool, 10).capacity(), 0);
    }
}
