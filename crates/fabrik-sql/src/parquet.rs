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
//!   `target_partitions`), each decoded on a blocking thread of its own.
//!
//! Filters are not pushed into the reader: DataFusion applies them above the scan.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Buf, Bytes};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use datafusion::parquet::file::reader::{ChunkReader, Length};
use datafusion::physical_expr::{
    EquivalenceProperties, LexOrdering, PhysicalExpr, PhysicalSortExpr,
};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};

use crate::error::{Error, Result};

/// Rows per batch read: large batches keep per-batch overhead small for the kernels.
pub const BATCH_ROWS: usize = 64 * 1024;

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
    /// Opens a Parquet file, or every `*.parquet` file of a directory (in name order; all
    /// with the same schema), reading only the footers.
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
        Ok(ParquetTable {
            files,
            schema,
            order: order.unwrap_or_default(),
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
    partitions: Vec<Vec<Slice>>,
    properties: Arc<PlanProperties>,
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
        let properties = Arc::new(PlanProperties::new(
            eq,
            Partitioning::UnknownPartitioning(partitions.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(ParquetScanExec {
            table: table.clone(),
            projection,
            partitions,
            properties,
        })
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
        let slices = self.partitions.get(partition).cloned().ok_or_else(|| {
            DataFusionError::Internal(format!("FabrikParquetScan has no partition {partition}"))
        })?;
        let schema = self.schema();
        let files = self.table.files.clone();
        let projection = self.projection.clone();
        let mut builder = RecordBatchReceiverStreamBuilder::new(Arc::clone(&schema), 2);
        let tx = builder.tx();
        builder.spawn_blocking(move || {
            for slice in slices {
                let file = &files[slice.file];
                let io = |source: std::io::Error| {
                    DataFusionError::External(Box::new(Error::Io {
                        path: file.path.clone(),
                        source,
                    }))
                };
                let mut reader = File::open(&file.path).map_err(io)?;
                let mask =
                    ProjectionMask::roots(file.meta.parquet_schema(), projection.iter().copied());
                for rg in slice.row_groups {
                    // The projected column chunks of the row group, read with one read each
                    // and decoded from memory.
                    let chunks =
                        ColumnChunks::read(&mut reader, file.meta.metadata().row_group(rg), &mask)
                            .map_err(io)?;
                    let batches = ParquetRecordBatchReaderBuilder::new_with_metadata(
                        chunks,
                        file.meta.clone(),
                    )
                    .with_projection(mask.clone())
                    .with_row_groups(vec![rg])
                    .with_batch_size(BATCH_ROWS)
                    .build()
                    .map_err(|source| {
                        DataFusionError::External(Box::new(Error::Parquet {
                            path: file.path.clone(),
                            source,
                        }))
                    })?;
                    for batch in batches {
                        let batch = batch.map_err(|e| {
                            DataFusionError::External(Box::new(Error::ParquetRead {
                                path: file.path.clone(),
                                source: e,
                            }))
                        })?;
                        if tx.blocking_send(Ok(batch)).is_err() {
                            // The consumer went away (LIMIT, cancellation): stop reading.
                            return Ok(());
                        }
                    }
                }
            }
            Ok(())
        });
        Ok(builder.build())
    }
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
    ) -> std::io::Result<Self> {
        use std::io::{Read, Seek, SeekFrom};
        let file_len = file.metadata()?.len();
        let mut chunks = Vec::new();
        for (i, col) in rg.columns().iter().enumerate() {
            if !mask.leaf_included(i) {
                continue;
            }
            let (start, len) = col.byte_range();
            let mut buf = vec![0u8; len as usize];
            file.seek(SeekFrom::Start(start))?;
            file.read_exact(&mut buf)?;
            chunks.push((start, Bytes::from(buf)));
        }
        chunks.sort_by_key(|c| c.0);
        Ok(ColumnChunks { chunks, file_len })
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
