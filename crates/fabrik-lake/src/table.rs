//! Delta Lake tables of the lake.
//!
//! A [`Lake`] is a root location (a local directory by default, or an object_store URL
//! such as `memory:///` or `s3://bucket/prefix`); each domain table is a Delta table in a
//! sub-directory named after it (`<root>/sensor_readings/`: Parquet data files in Hive
//! partition directories plus `_delta_log/`), readable by any Delta reader. Rejected rows go
//! to `<root>/<table>__rejects/`.
//!
//! # Writes
//!
//! [`LakeTable::write`] makes exactly one Delta commit per call, carrying the Delta
//! application transaction `(app_id, 1)`: a call whose `app_id` is already committed is a
//! no-op ([`WriteOutcome::skipped_as_already_committed`]). Rows are deduplicated by
//! [`Table::key`] within the call and against the table with the table's [`DedupPolicy`]:
//!
//! * rows are sorted by key codes (string ranks, integers; no row hashing) and
//!   equal keys within the call resolved by the policy;
//! * of the stored files of the partitions the call touches, those whose key statistics
//!   (Delta `minValues`/`maxValues`) overlap the new keys' ranges are read, key columns only
//!   and only over those ranges (row-group and page statistics skip the rest);
//! * keep-first: rows whose key is already stored are dropped (an anti-join), the rest is
//!   appended — stored files are never rewritten;
//! * keep-last: the stored files that hold a key of the call are rewritten without those
//!   rows, together with the new rows (copy-on-write, like a MERGE, but the rewritten files
//!   stay sorted — deltalake's MERGE writes its output in join order).
//!
//! The commit declares the touched partitions as its read predicate, so Delta's conflict
//! checker refuses it when a concurrent commit added files to those partitions; the write
//! then starts over from a fresh snapshot (new dedup, new files) after an exponential
//! backoff with jitter, up to [`MAX_ATTEMPTS`] times, then fails with
//! [`Error::Conflict`]. Files of a lost attempt are orphans that readers ignore and a
//! full [`LakeTable::vacuum`] removes. A process killed mid-write leaves no commit: the
//! table stays at its previous version.
//!
//! # Layout
//!
//! See [`layout`]: partitions per table, rows sorted by [`Table::sort_order`] inside every
//! file (declared in the Parquet `sorting_columns`), zstd, page statistics and the page
//! index, `DELTA_BINARY_PACKED` timestamps and 64-bit ids, dictionaries for the other
//! columns (numbers included, falling back to plain values). The partitions of a
//! write are encoded in parallel, each by deltalake's `PartitionWriter` into its Hive
//! directory; a partition's rows are sliced out of the given batches when they are
//! consecutive (no copy), gathered otherwise.
//!
//! # Compaction
//!
//! deltalake's `optimize` bin-packs by concatenating files, which breaks the order inside
//! the merged file (and z-order is not a sort). [`LakeTable::compact`] therefore reads the
//! small files of each partition, sorts them again and writes them back in one commit
//! (`OPTIMIZE`, `dataChange = false`).

mod layout;
mod order;
mod scan;

pub use layout::{
    DedupPolicy, Layout, PartitionColumn, ROW_GROUP_ROWS, lake_schema, layout,
    with_partition_columns,
};

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    Array, BooleanArray, RecordBatch, RecordBatchOptions, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{
    cast, concat, concat_batches, filter_record_batch, take, take_record_batch,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::object_store::ObjectStore;
use datafusion::object_store::memory::InMemory;
use datafusion::object_store::path::Path as ObjectPath;
use datafusion::prelude::{Expr, SessionContext};
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake::kernel::{Action, Add, LogicalFileView, StructType, Transaction};
use deltalake::logstore::LogStore;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::operations::write::writer::{
    DeltaWriter, PartitionWriter, PartitionWriterConfig, WriterConfig,
};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use fabrik_model::Table;
use indexmap::IndexMap;
use url::Url;

use crate::error::{Error, Result};

/// How many times a write or compaction is attempted against concurrent commits.
pub const MAX_ATTEMPTS: u32 = 8;

/// Name of the file-path column added to internal scans.
const FILE_COLUMN: &str = "__fabrik_file";

/// A lake: a root location holding one Delta table per domain table.
#[derive(Debug, Clone)]
pub struct Lake {
    root: Url,
    options: HashMap<String, String>,
    /// The store shared by every table of a `memory://` lake (each open would otherwise get
    /// its own empty memory store).
    store: Option<Arc<dyn ObjectStore>>,
}

/// Schemes fabrik-lake does not build a store for, and the deltalake feature (crate) that
/// provides them.
const CLOUD_SCHEMES: &[(&str, &str)] = &[
    ("hdfs", "deltalake feature `hdfs` (crate deltalake-hdfs)"),
    (
        "lakefs",
        "deltalake feature `lakefs` (crate deltalake-lakefs)",
    ),
];

impl Lake {
    /// Opens (creating if needed) a lake at `location`: a local directory path (created if
    /// missing, relative paths made absolute) or a URL: `file:///…`, `memory:///`, or an
    /// object store — `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`,
    /// `abfss://…` — whose settings (credentials, region, endpoint) come from the
    /// environment as object_store reads them (`AWS_*`, `GOOGLE_*`, `AZURE_*`), with
    /// [`Lake::open_with_options`]' map on top (`aws_endpoint`, `aws_allow_http`, …).
    ///
    /// On object stores, Delta commits are conditional puts (a commit file is written only
    /// if it does not exist: `If-None-Match` on S3, which AWS supports since 2024); a store
    /// that ignores the condition cannot protect two concurrent writers from each other.
    ///
    /// A `memory:///` lake lives as long as this value and its clones.
    pub async fn open(location: &str) -> Result<Lake> {
        Lake::open_with_options(location, HashMap::new()).await
    }

    /// [`Lake::open`] with object_store options (credentials, endpoint, region, …) passed to
    /// deltalake as storage options.
    pub async fn open_with_options(
        location: &str,
        options: HashMap<String, String>,
    ) -> Result<Lake> {
        let refuse = |why: String| Error::Location {
            location: location.to_string(),
            why,
        };
        let looks_like_url = location.contains("://");
        let mut root = if looks_like_url {
            Url::parse(location).map_err(|e| refuse(format!("not a valid URL: {e}")))?
        } else {
            let path = std::path::absolute(location).map_err(|source| Error::Io {
                path: location.into(),
                source,
            })?;
            Url::from_directory_path(&path)
                .map_err(|()| refuse("not an absolute directory path".to_string()))?
        };
        if !root.path().ends_with('/') {
            let p = format!("{}/", root.path());
            root.set_path(&p);
        }
        let mut store: Option<Arc<dyn ObjectStore>> = None;
        match root.scheme() {
            "file" => {
                let path = root
                    .to_file_path()
                    .map_err(|()| refuse("not a local file URL".to_string()))?;
                std::fs::create_dir_all(&path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
            }
            "memory" => store = Some(Arc::new(InMemory::new())),
            // Object stores fabrik-lake builds itself (object_store's aws/gcp/azure, settings
            // from the environment and `options`), committing with conditional puts.
            "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "azure" => {
                store = Some(crate::source::remote::root_store(&root, &options)?);
                let scheme_url = Url::parse(&format!("{}://", root.scheme()))
                    .map_err(|e| refuse(format!("not a valid URL: {e}")))?;
                let factories = deltalake::logstore::logstore_factories();
                if !factories.contains_key(&scheme_url) {
                    factories.insert(scheme_url, Arc::new(ConditionalPutLogStores));
                }
            }
            scheme => {
                let registered = deltalake::logstore::logstore_factories()
                    .iter()
                    .any(|e| e.key().scheme() == scheme);
                if !registered {
                    let why = match CLOUD_SCHEMES.iter().find(|(s, _)| *s == scheme) {
                        Some((_, feature)) => format!(
                            "no storage handler for `{scheme}://` is compiled in: build fabrik-lake with {feature} and register its handlers"
                        ),
                        None => format!("unsupported URL scheme `{scheme}`"),
                    };
                    return Err(refuse(why));
                }
            }
        }
        Ok(Lake {
            root,
            options,
            store,
        })
    }

    /// The root URL of the lake (always ending with `/`).
    pub fn location(&self) -> &Url {
        &self.root
    }

    /// The Delta table of `table`, created with [`lake_schema`] and the partitions of its
    /// [`layout`] if it does not exist yet (when two processes create it at once, one
    /// creates it and the other opens it).
    pub async fn table(&self, table: Table) -> Result<LakeTable> {
        let lay = layout(table);
        let handle = self
            .open_or_create(
                table.name(),
                &lake_schema(table),
                &lay.partition_names(),
                table.doc(),
            )
            .await?;
        Ok(LakeTable { handle, table })
    }

    /// The rejects table of `table` (`<table>__rejects`, schema [`RejectsTable::schema`]),
    /// created if missing.
    pub async fn rejects(&self, table: Table) -> Result<RejectsTable> {
        let name = format!("{}__rejects", table.name());
        let handle = self
            .open_or_create(
                &name,
                &RejectsTable::schema(),
                &[],
                "rows refused by validation, with their source, rule and raw text",
            )
            .await?;
        Ok(RejectsTable { handle, table })
    }

    /// A results table (`demand_forecast`, scorecards, …): a Delta table of analysis
    /// results that each [`ResultTable::replace`] overwrites as a whole, keeping the old
    /// versions for time travel. Created with `schema` if missing.
    pub async fn results(&self, name: &str, schema: &SchemaRef, doc: &str) -> Result<ResultTable> {
        let handle = self.open_or_create(name, schema, &[], doc).await?;
        Ok(ResultTable { handle })
    }

    /// Whether a Delta table named `name` exists in the lake (without creating it).
    pub async fn has_table(&self, name: &str) -> Result<bool> {
        self.exists(name).await
    }

    /// Whether the rejects table of `table` exists (the first ingest creates it), without
    /// creating it.
    pub async fn has_rejects(&self, table: Table) -> Result<bool> {
        self.exists(&format!("{}__rejects", table.name())).await
    }

    /// The domain tables that exist in the lake.
    pub async fn tables(&self) -> Result<Vec<Table>> {
        let mut out = Vec::new();
        for t in Table::ALL {
            if self.exists(t.name()).await? {
                out.push(t);
            }
        }
        Ok(out)
    }

    fn table_url(&self, name: &str) -> Result<Url> {
        self.root
            .join(&format!("{name}/"))
            .map_err(|e| Error::Location {
                location: self.root.to_string(),
                why: format!("cannot address table `{name}`: {e}"),
            })
    }

    /// The directory of table `name` when the lake is local.
    fn local_dir(&self, name: &str) -> Result<Option<std::path::PathBuf>> {
        if self.root.scheme() != "file" {
            return Ok(None);
        }
        let url = self.table_url(name)?;
        url.to_file_path().map(Some).map_err(|()| Error::Location {
            location: url.to_string(),
            why: "not a local path".to_string(),
        })
    }

    fn builder(&self, name: &str) -> Result<DeltaTableBuilder> {
        let url = self.table_url(name)?;
        let mut b = DeltaTableBuilder::from_url(url.clone()).map_err(delta_err(name))?;
        match &self.store {
            // The store carries the settings (credentials, endpoint) already.
            Some(store) => b = b.with_storage_backend(Arc::clone(store), url),
            None => b = b.with_storage_options(self.options.clone()),
        }
        Ok(b)
    }

    /// Whether there is a Delta table named `name`: a `_delta_log` holding a commit or a
    /// checkpoint. Lists the log without replaying it (loading a table reads every commit
    /// since the last checkpoint and materializes the file list).
    async fn exists(&self, name: &str) -> Result<bool> {
        if let Some(dir) = self.local_dir(name)?
            && !dir.join("_delta_log").is_dir()
        {
            return Ok(false);
        }
        let dt = self.builder(name)?.build().map_err(delta_err(name))?;
        dt.log_store()
            .is_delta_table_location()
            .await
            .map_err(delta_err(name))
    }

    /// Loads the table at its latest version, `Ok(None)` when there is no Delta table there.
    async fn load(&self, name: &str, version: Option<i64>) -> Result<Option<DeltaTable>> {
        if let Some(dir) = self.local_dir(name)?
            && !dir.join("_delta_log").is_dir()
        {
            return Ok(None);
        }
        let mut dt = self.builder(name)?.build().map_err(delta_err(name))?;
        let loaded = match version {
            Some(v) => match u64::try_from(v) {
                Ok(v) => dt.load_version(v).await,
                Err(_) => Err(DeltaTableError::Generic(format!("no version {v}"))),
            },
            None => dt.load().await,
        };
        match loaded {
            Ok(()) => Ok(Some(dt)),
            Err(DeltaTableError::NotATable(_) | DeltaTableError::InvalidTableLocation(_)) => {
                Ok(None)
            }
            Err(e) => Err(delta_err(name)(e)),
        }
    }

    async fn open_or_create(
        &self,
        name: &str,
        schema: &SchemaRef,
        partitions: &[String],
        comment: &str,
    ) -> Result<Handle> {
        if !self.exists(name).await? {
            if let Some(dir) = self.local_dir(name)? {
                std::fs::create_dir_all(&dir).map_err(|source| Error::Io { path: dir, source })?;
            }
            let kernel: StructType = schema
                .as_ref()
                .try_into_kernel()
                .map_err(|e| delta_err(name)(DeltaTableError::from(e)))?;
            let dt = self.builder(name)?.build().map_err(delta_err(name))?;
            let created = dt
                .create()
                .with_table_name(name)
                .with_comment(comment)
                .with_columns(kernel.fields().cloned())
                .with_partition_columns(partitions.to_vec())
                .with_save_mode(SaveMode::Ignore)
                .await;
            if let Err(e) = created {
                // A concurrent creator may have won: open what it made.
                if !self.exists(name).await? {
                    return Err(delta_err(name)(e));
                }
            }
        }
        Ok(Handle {
            lake: self.clone(),
            name: name.to_string(),
            pinned: None,
        })
    }
}

/// deltalake's default log store (commits by conditional put: a commit file is created only
/// if it does not exist), for the object-store schemes whose own deltalake crates
/// (deltalake-aws, -gcp, -azure) are not compiled in.
struct ConditionalPutLogStores;

impl deltalake::logstore::LogStoreFactory for ConditionalPutLogStores {
    fn with_options(
        &self,
        prefixed_store: deltalake::logstore::ObjectStoreRef,
        root_store: deltalake::logstore::ObjectStoreRef,
        location: &Url,
        options: &deltalake::logstore::StorageConfig,
    ) -> deltalake::DeltaResult<Arc<dyn LogStore>> {
        Ok(deltalake::logstore::default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

fn delta_err(name: &str) -> impl Fn(DeltaTableError) -> Error + '_ {
    move |e| Error::Delta {
        table: name.to_string(),
        source: Box::new(e),
    }
}

/// One Delta table of the lake, at its latest version or pinned to an old one.
#[derive(Debug, Clone)]
struct Handle {
    lake: Lake,
    name: String,
    /// Version this handle is pinned to (time travel), `None` for the latest.
    pinned: Option<i64>,
}

impl Handle {
    async fn delta(&self) -> Result<DeltaTable> {
        self.lake
            .load(&self.name, self.pinned)
            .await?
            .ok_or_else(|| {
                delta_err(&self.name)(DeltaTableError::NotATable(format!(
                    "{} has no _delta_log",
                    self.name
                )))
            })
    }

    fn err(&self) -> impl Fn(DeltaTableError) -> Error + '_ {
        delta_err(&self.name)
    }

    async fn has_transaction(&self, dt: &DeltaTable, app_id: &str) -> Result<bool> {
        let snapshot = dt.snapshot().map_err(self.err())?;
        let v = snapshot
            .transaction_version(dt.log_store().as_ref(), app_id)
            .await
            .map_err(self.err())?;
        Ok(v.is_some())
    }

    fn refuse_pinned(&self) -> Result<()> {
        match self.pinned {
            Some(v) => Err(self.err()(DeltaTableError::Generic(format!(
                "this handle is pinned to version {v} (time travel) and is read-only"
            )))),
            None => Ok(()),
        }
    }

    async fn as_of_timestamp(&self, ts: DateTime<Utc>) -> Result<Handle> {
        let first = self
            .lake
            .load(&self.name, Some(0))
            .await?
            .ok_or_else(|| self.err()(DeltaTableError::NotATable(self.name.clone())))?;
        let first_ms = first.snapshot().map_err(self.err())?.version_timestamp(0);
        if let Some(ms) = first_ms
            && ts.timestamp_millis() < ms
        {
            let first_commit = DateTime::from_timestamp_millis(ms).unwrap_or_default();
            return Err(Error::BeforeFirstCommit {
                table: self.name.clone(),
                requested: ts,
                first_commit,
            });
        }
        let mut dt = self.lake.builder(&self.name)?.build().map_err(self.err())?;
        dt.load_with_datetime(ts).await.map_err(self.err())?;
        let version = v64(dt.version());
        Ok(Handle {
            pinned: Some(version),
            ..self.clone()
        })
    }

    async fn vacuum(&self, retention: Duration, full: bool) -> Result<VacuumOutcome> {
        self.refuse_pinned()?;
        let dt = self.delta().await?;
        let retention = chrono::Duration::from_std(retention).map_err(|e| {
            self.err()(DeltaTableError::Generic(format!(
                "retention out of range: {e}"
            )))
        })?;
        let (dt, metrics) = dt
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .with_mode(if full {
                VacuumMode::Full
            } else {
                VacuumMode::Lite
            })
            .await
            .map_err(self.err())?;
        Ok(VacuumOutcome {
            version: v64(dt.version()),
            files_deleted: metrics.files_deleted.len(),
        })
    }
}

/// Result of [`LakeTable::write`] and [`RejectsTable::append`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Table version after the call (the existing version when skipped).
    pub version: i64,
    /// Rows given that are now stored: new keys, and (keep-last) rows that replaced a
    /// stored row with their key. `rows_written + duplicates_skipped` is the number of rows
    /// given.
    pub rows_written: u64,
    /// Rows given that were not stored because of their key: an earlier (keep-first) or
    /// later (keep-last) row with the same key in the same call, or (keep-first) a row
    /// already stored.
    pub duplicates_skipped: u64,
    /// Stored rows that rows given replaced (keep-last only).
    pub rows_replaced: u64,
    /// Data files added by the commit (including rewritten ones).
    pub files_added: u64,
    /// Bytes of the data files added.
    pub bytes_added: u64,
    /// The `app_id` was already committed: nothing was written.
    pub skipped_as_already_committed: bool,
}

impl WriteOutcome {
    /// The outcome of a call whose `app_id` was already committed: nothing written.
    fn skipped(version: i64) -> WriteOutcome {
        WriteOutcome {
            version,
            rows_written: 0,
            duplicates_skipped: 0,
            rows_replaced: 0,
            files_added: 0,
            bytes_added: 0,
            skipped_as_already_committed: true,
        }
    }
}

/// Result of [`LakeTable::compact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactOutcome {
    /// Version of the compaction commit; `None` when there was nothing to compact.
    pub version: Option<i64>,
    /// Partitions whose small files were merged.
    pub partitions_compacted: u64,
    /// Files removed (merged away).
    pub files_removed: u64,
    /// Files written.
    pub files_added: u64,
}

/// Result of [`LakeTable::vacuum`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VacuumOutcome {
    /// Table version after the vacuum (vacuum logs its own commits).
    pub version: i64,
    /// Files deleted from storage.
    pub files_deleted: usize,
}

/// A table of analysis results in the lake, replaced as a whole on each write (see
/// [`Lake::results`]).
#[derive(Debug, Clone)]
pub struct ResultTable {
    handle: Handle,
}

impl ResultTable {
    /// The table's name.
    pub fn name(&self) -> &str {
        &self.handle.name
    }

    /// The latest committed version.
    pub async fn version(&self) -> Result<i64> {
        Ok(v64(self.handle.delta().await?.version()))
    }

    /// Replaces the table's rows by `batches` in one commit identified by `app_id` (a
    /// repeated `app_id` does nothing). The schema may change from one version to the next
    /// (e.g. other interval levels); the old versions stay readable by time travel until a
    /// vacuum.
    pub async fn replace(&self, batches: Vec<RecordBatch>, app_id: &str) -> Result<WriteOutcome> {
        self.handle.refuse_pinned()?;
        let dt = self.handle.delta().await?;
        if self.handle.has_transaction(&dt, app_id).await? {
            return Ok(WriteOutcome::skipped(v64(dt.version())));
        }
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let props = datafusion::parquet::file::properties::WriterProperties::builder()
            .set_compression(datafusion::parquet::basic::Compression::ZSTD(
                datafusion::parquet::basic::ZstdLevel::try_new(3)?,
            ))
            .build();
        let commit =
            CommitProperties::default().with_application_transaction(Transaction::new(app_id, 0));
        let dt = dt
            .write(batches)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite)
            .with_writer_properties(props)
            .with_commit_properties(commit)
            .await
            .map_err(self.handle.err())?;
        // After an overwrite the active files are exactly the ones this commit added.
        let (mut files_added, mut bytes_added) = (0u64, 0u64);
        for f in dt.snapshot().map_err(self.handle.err())?.log_data().iter() {
            files_added += 1;
            bytes_added += u64::try_from(f.size()).unwrap_or(0);
        }
        Ok(WriteOutcome {
            version: v64(dt.version()),
            rows_written: rows,
            duplicates_skipped: 0,
            rows_replaced: 0,
            files_added,
            bytes_added,
            skipped_as_already_committed: false,
        })
    }

    /// deltalake's DataFusion table provider for the table.
    pub async fn provider(&self) -> Result<Arc<dyn TableProvider>> {
        let dt = self.handle.delta().await?;
        Ok(dt.table_provider().await?)
    }
}

/// A domain table of the lake (a Delta table).
#[derive(Debug, Clone)]
pub struct LakeTable {
    handle: Handle,
    table: Table,
}

impl LakeTable {
    /// The domain table.
    pub fn table(&self) -> Table {
        self.table
    }

    /// The URL of the Delta table.
    pub fn url(&self) -> Result<Url> {
        self.handle.lake.table_url(&self.handle.name)
    }

    /// The version this handle reads: the latest committed one, or the pinned one after
    /// time travel.
    pub async fn version(&self) -> Result<i64> {
        Ok(v64(self.handle.delta().await?.version()))
    }

    /// Whether a commit with the Delta application transaction id `app_id` exists.
    pub async fn has_transaction(&self, app_id: &str) -> Result<bool> {
        let dt = self.handle.delta().await?;
        self.handle.has_transaction(&dt, app_id).await
    }

    /// Writes batches of the domain schema ([`Table::schema`]; derived partition columns
    /// may be present or not) in one commit identified by `app_id`, deduplicating by
    /// [`Table::key`] with the table's [`DedupPolicy`] (see the module docs). A call with an
    /// `app_id` already committed does nothing.
    pub async fn write(&self, batches: Vec<RecordBatch>, app_id: &str) -> Result<WriteOutcome> {
        self.handle.refuse_pinned()?;
        let lay = layout(self.table);
        let schema = lake_schema(self.table);
        let lake_batches = batches
            .iter()
            .map(|b| with_partition_columns(self.table, b))
            .collect::<Result<Vec<_>>>()?;
        drop(batches);
        let rows = WriteRows::new(schema, lake_batches);
        // Only the key, sort and partition columns are concatenated to plan the write; the
        // rows themselves are sliced (or gathered) from the given batches when written.
        let partitions = lay.partition_names();
        let mut planned: Vec<&str> = self.table.key().to_vec();
        for c in lay
            .sort_by
            .iter()
            .copied()
            .chain(partitions.iter().map(String::as_str))
        {
            if !planned.contains(&c) {
                planned.push(c);
            }
        }
        let slim = rows.columns(&planned)?;
        let given = slim.num_rows() as u64;
        let (groups, kept) = order::plan(&slim, self.table, &lay)?;
        let within = given - kept;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let dt = self.handle.delta().await?;
            if self.handle.has_transaction(&dt, app_id).await? {
                return Ok(WriteOutcome::skipped(v64(dt.version())));
            }
            match self
                .write_once(&dt, &rows, &slim, &groups, app_id, &lay)
                .await
            {
                Ok(mut out) => {
                    out.duplicates_skipped += within;
                    return Ok(out);
                }
                Err(e) if is_conflict(&e) && attempt < MAX_ATTEMPTS => backoff(attempt).await,
                Err(e) if is_conflict(&e) => {
                    return Err(Error::Conflict {
                        table: self.handle.name.clone(),
                        attempts: attempt,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt at a write: dedup against the stored rows of the touched partitions,
    /// write the files (partitions in parallel), commit.
    async fn write_once(
        &self,
        dt: &DeltaTable,
        rows: &WriteRows,
        slim: &RecordBatch,
        groups: &[order::Group],
        app_id: &str,
        lay: &Layout,
    ) -> Result<WriteOutcome> {
        let name = &self.handle.name;
        let partitions = lay.partition_names();
        let key = self.table.key();
        let schema = lake_schema(self.table);
        let stored = files_by_partition(dt, &partitions, name)?;
        let mut jobs: Vec<Job> = Vec::with_capacity(groups.len());
        let (mut removes, mut dups, mut replaced) = (Vec::new(), 0u64, 0u64);
        for g in groups {
            if g.rows.is_empty() {
                continue;
            }
            let candidates = match stored.get(&g.values) {
                Some(files) => {
                    let key_cols = order::columns(slim, key)?;
                    let idx = UInt32Array::from(g.rows.clone());
                    let key_cols = key_cols
                        .iter()
                        .map(|c| Ok(take(c.as_ref(), &idx, None)?))
                        .collect::<Result<Vec<_>>>()?;
                    let bounds = order::bounds(&key_cols)?;
                    let files: Vec<LogicalFileView> = files
                        .iter()
                        .filter(|f| may_hold(f, key, &bounds))
                        .cloned()
                        .collect();
                    (!files.is_empty()).then_some((files, key_cols, bounds))
                }
                None => None,
            };
            let Some((files, new_keys, bounds)) = candidates else {
                jobs.push(Job::take(g, g.rows.clone()));
                continue;
            };
            let with_file = lay.dedup == DedupPolicy::KeepLast;
            let filter = order::bounds_filter(key, &new_keys, &bounds)?;
            let existing = read_files(dt, &files, name, Some(key), filter, with_file).await?;
            let old_keys = order::columns(&existing, key)?;
            let (old_matched, new_matched) = order::shared_keys(&old_keys, &new_keys)?;
            match lay.dedup {
                DedupPolicy::KeepFirst => {
                    let kept: Vec<u32> = g
                        .rows
                        .iter()
                        .zip(&new_matched)
                        .filter(|(_, m)| !**m)
                        .map(|(r, _)| *r)
                        .collect();
                    dups += (g.rows.len() - kept.len()) as u64;
                    jobs.push(Job::take(g, kept));
                }
                DedupPolicy::KeepLast => {
                    let file_col = existing
                        .column_by_name(FILE_COLUMN)
                        .map(|c| cast(c, &DataType::Utf8))
                        .transpose()?;
                    let file_col = file_col
                        .as_ref()
                        .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
                        .ok_or_else(|| Error::BatchSchema {
                            table: name.clone(),
                            column: FILE_COLUMN.to_string(),
                            why: "scan did not return file paths".to_string(),
                        })?;
                    let hit_files: HashSet<String> = old_matched
                        .iter()
                        .enumerate()
                        .filter(|(_, m)| **m)
                        .map(|(i, _)| file_col.value(i).to_string())
                        .collect();
                    replaced += old_matched.iter().filter(|m| **m).count() as u64;
                    if hit_files.is_empty() {
                        jobs.push(Job::take(g, g.rows.clone()));
                        continue;
                    }
                    // Rewrite the files holding a replaced key: their other rows plus the
                    // new ones, sorted again.
                    let hit: Vec<LogicalFileView> = files
                        .iter()
                        .filter(|f| hit_files.iter().any(|h| path_matches(h, &f.path())))
                        .cloned()
                        .collect();
                    let old = read_files(dt, &hit, name, None, None, false).await?;
                    let old = project_to(&old, &schema, name)?;
                    let old_keys = order::columns(&old, key)?;
                    let (old_hit, _) = order::shared_keys(&old_keys, &new_keys)?;
                    let keep_old: BooleanArray = old_hit.iter().map(|m| Some(!m)).collect();
                    let old = filter_record_batch(&old, &keep_old)?;
                    let mut parts = rows.gather(&g.rows)?;
                    parts.push(old);
                    let merged = concat_batches(&schema, &parts)?;
                    let (mut regrouped, _) = order::plan(&merged, self.table, lay)?;
                    let order = regrouped.pop().map(|g| g.rows).unwrap_or_default();
                    jobs.push(Job {
                        values: g.values.clone(),
                        rows: JobRows::Batch(take_record_batch(
                            &merged,
                            &UInt32Array::from(order),
                        )?),
                    });
                    removes.extend(hit.iter().map(|f| f.remove_action(true)));
                }
            }
        }
        let touched: BTreeSet<Vec<String>> = groups.iter().map(|g| g.values.clone()).collect();
        let adds = write_jobs(dt, self.table, rows, jobs, lay, name).await?;
        let predicate = partition_predicate(&schema, &partitions, &touched);
        let operation = DeltaOperation::Write {
            mode: SaveMode::Append,
            partition_by: (!partitions.is_empty()).then(|| partitions.clone()),
            predicate: Some(predicate),
        };
        let (files_added, bytes_added) = (
            adds.len() as u64,
            adds.iter().map(|a| a.size.max(0) as u64).sum::<u64>(),
        );
        let mut actions: Vec<Action> = adds.into_iter().map(Action::Add).collect();
        actions.extend(removes.into_iter().map(Action::Remove));
        let version = commit(dt, actions, operation, Some(app_id), name).await?;
        let given: u64 = groups.iter().map(|g| g.rows.len() as u64).sum();
        Ok(WriteOutcome {
            version,
            // Keep-last rewrites old rows of the touched files too: those are not "given".
            rows_written: given - dups,
            duplicates_skipped: dups,
            rows_replaced: replaced,
            files_added,
            bytes_added,
            skipped_as_already_committed: false,
        })
    }

    /// deltalake's DataFusion table provider for this table at this handle's version
    /// (partition and file-statistics pruning; strings come back as `Utf8View`, string
    /// partition columns as dictionaries). Register the table's object store in the
    /// session with [`LakeTable::prepare_session`] first (needed for `memory://` lakes).
    pub async fn provider(&self) -> Result<Arc<dyn TableProvider>> {
        let dt = self.handle.delta().await?;
        Ok(dt.table_provider().await?)
    }

    /// Registers this table's object store in a DataFusion session so that plans over
    /// [`LakeTable::provider`] can read its files.
    pub async fn prepare_session(&self, ctx: &SessionContext) -> Result<()> {
        let dt = self.handle.delta().await?;
        dt.update_datafusion_session(&ctx.state())
            .map_err(self.handle.err())
    }

    /// This table as it was at version `v` (read-only).
    pub async fn as_of_version(&self, v: i64) -> Result<LakeTable> {
        let pinned = Handle {
            pinned: Some(v),
            ..self.handle.clone()
        };
        pinned.delta().await?;
        Ok(LakeTable {
            handle: pinned,
            table: self.table,
        })
    }

    /// This table as it was at `ts`: the latest version committed at or before it
    /// (read-only). A moment before the first commit is [`Error::BeforeFirstCommit`].
    pub async fn as_of_timestamp(&self, ts: DateTime<Utc>) -> Result<LakeTable> {
        Ok(LakeTable {
            handle: self.handle.as_of_timestamp(ts).await?,
            table: self.table,
        })
    }

    /// Compacts the small files (under half the layout's target size) of every partition
    /// that has at least two: reads them, sorts the rows again by the layout's sort order
    /// and writes them back, all in one `OPTIMIZE` commit (`dataChange = false`, so
    /// concurrent appends do not conflict with it). Row count and order inside files are
    /// kept.
    pub async fn compact(&self) -> Result<CompactOutcome> {
        self.handle.refuse_pinned()?;
        let lay = layout(self.table);
        let name = &self.handle.name;
        let schema = lake_schema(self.table);
        let partitions = lay.partition_names();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let dt = self.handle.delta().await?;
            let mut groups: HashMap<Vec<Option<String>>, Vec<LogicalFileView>> = HashMap::new();
            let threshold = i64::try_from(lay.target_file_bytes / 2).unwrap_or(i64::MAX);
            for f in dt.snapshot().map_err(self.handle.err())?.log_data().iter() {
                if f.size() >= threshold {
                    continue;
                }
                let values = f.partition_values_map();
                let key = partitions
                    .iter()
                    .map(|p| values.get(p).cloned().flatten())
                    .collect();
                groups.entry(key).or_default().push(f);
            }
            groups.retain(|_, files| files.len() >= 2);
            if groups.is_empty() {
                return Ok(CompactOutcome {
                    version: None,
                    partitions_compacted: 0,
                    files_removed: 0,
                    files_added: 0,
                });
            }
            let mut adds = Vec::new();
            let mut removes = Vec::new();
            for files in groups.values() {
                let rows = read_files(&dt, files, name, None, None, false).await?;
                let rows = project_to(&rows, &schema, name)?;
                let rows = sort_batch(&rows, lay.sort_by)?;
                let values = partitions
                    .iter()
                    .map(|p| {
                        files[0]
                            .partition_values_map()
                            .get(p)
                            .cloned()
                            .flatten()
                            .unwrap_or_default()
                    })
                    .collect();
                let job = Job {
                    values,
                    rows: JobRows::Batch(rows),
                };
                let none = WriteRows::new(Arc::clone(&schema), Vec::new());
                let mut written = write_jobs(&dt, self.table, &none, vec![job], &lay, name).await?;
                for a in &mut written {
                    a.data_change = false;
                }
                adds.extend(written);
                removes.extend(files.iter().map(|f| f.remove_action(false)));
            }
            let (files_added, files_removed) = (adds.len() as u64, removes.len() as u64);
            let mut actions: Vec<Action> = adds.into_iter().map(Action::Add).collect();
            actions.extend(removes.into_iter().map(Action::Remove));
            let operation = DeltaOperation::Optimize {
                predicate: None,
                target_size: i64::try_from(lay.target_file_bytes).unwrap_or(i64::MAX),
            };
            match commit(&dt, actions, operation, None, name).await {
                Ok(version) => {
                    return Ok(CompactOutcome {
                        version: Some(version),
                        partitions_compacted: groups.len() as u64,
                        files_removed,
                        files_added,
                    });
                }
                Err(e) if is_conflict(&e) && attempt < MAX_ATTEMPTS => backoff(attempt).await,
                Err(e) if is_conflict(&e) => {
                    return Err(Error::Conflict {
                        table: name.clone(),
                        attempts: attempt,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Deletes data files no longer referenced by a version newer than `retention` ago.
    /// `full` also deletes files the log never referenced (left by killed or lost writes);
    /// keep `retention` above the longest write when writers may be running, or they lose
    /// files they are about to commit.
    pub async fn vacuum(&self, retention: Duration, full: bool) -> Result<VacuumOutcome> {
        self.handle.vacuum(retention, full).await
    }
}

/// The rejects table of a domain table: rows refused by validation.
#[derive(Debug, Clone)]
pub struct RejectsTable {
    handle: Handle,
    table: Table,
}

impl RejectsTable {
    /// Schema of every rejects table: `ingest_id`, `source`, `line` (1-based line of text
    /// sources), `row` (0-based row in the source), `column`, `rule`, `reason`, `raw` (the
    /// raw text), `ingested_at`.
    pub fn schema() -> SchemaRef {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        Arc::new(Schema::new(vec![
            Field::new("ingest_id", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, false),
            Field::new("line", DataType::UInt64, true),
            Field::new("row", DataType::UInt64, false),
            Field::new("column", DataType::Utf8, true),
            Field::new("rule", DataType::Utf8, false),
            Field::new("reason", DataType::Utf8, false),
            Field::new("raw", DataType::Utf8, true),
            Field::new("ingested_at", ts, false),
        ]))
    }

    /// The domain table these rejects belong to.
    pub fn table(&self) -> Table {
        self.table
    }

    /// The latest committed version.
    pub async fn version(&self) -> Result<i64> {
        Ok(v64(self.handle.delta().await?.version()))
    }

    /// Appends rejects (schema [`RejectsTable::schema`]) in one commit identified by
    /// `app_id`; a repeated `app_id` is a no-op. No dedup by content.
    pub async fn append(&self, rejects: RecordBatch, app_id: &str) -> Result<WriteOutcome> {
        let name = &self.handle.name;
        let schema = RejectsTable::schema();
        let batch = project_to(&rejects, &schema, name)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let dt = self.handle.delta().await?;
            if self.handle.has_transaction(&dt, app_id).await? {
                return Ok(WriteOutcome::skipped(v64(dt.version())));
            }
            let adds = if batch.num_rows() == 0 {
                Vec::new()
            } else {
                let table_schema = dt
                    .snapshot()
                    .map_err(self.handle.err())?
                    .snapshot()
                    .arrow_schema();
                let cast_batch = project_to(&batch, &table_schema, name)?;
                let props = datafusion::parquet::file::properties::WriterProperties::builder()
                    .set_compression(datafusion::parquet::basic::Compression::ZSTD(
                        datafusion::parquet::basic::ZstdLevel::try_new(3)?,
                    ))
                    .build();
                let mut w = delta_writer(&dt, table_schema, Vec::new(), props, 64 << 20, name)?;
                w.write(&cast_batch).await.map_err(self.handle.err())?;
                w.close().await.map_err(self.handle.err())?
            };
            let (files_added, bytes_added) = (
                adds.len() as u64,
                adds.iter().map(|a| a.size.max(0) as u64).sum::<u64>(),
            );
            let operation = DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: None,
                predicate: None,
            };
            let actions = adds.into_iter().map(Action::Add).collect();
            match commit(&dt, actions, operation, Some(app_id), name).await {
                Ok(version) => {
                    return Ok(WriteOutcome {
                        version,
                        rows_written: batch.num_rows() as u64,
                        duplicates_skipped: 0,
                        rows_replaced: 0,
                        files_added,
                        bytes_added,
                        skipped_as_already_committed: false,
                    });
                }
                Err(e) if is_conflict(&e) && attempt < MAX_ATTEMPTS => backoff(attempt).await,
                Err(e) if is_conflict(&e) => {
                    return Err(Error::Conflict {
                        table: name.clone(),
                        attempts: attempt,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// deltalake's DataFusion table provider for the rejects table.
    pub async fn provider(&self) -> Result<Arc<dyn TableProvider>> {
        let dt = self.handle.delta().await?;
        Ok(dt.table_provider().await?)
    }

    /// Deletes unreferenced files; see [`LakeTable::vacuum`].
    pub async fn vacuum(&self, retention: Duration, full: bool) -> Result<VacuumOutcome> {
        self.handle.vacuum(retention, full).await
    }
}

// ---------------------------------------------------------------------------------------
// helpers

/// A Delta version as the `i64` of this API (Delta versions fit it).
fn v64(v: Option<u64>) -> i64 {
    v.map_or(0, |v| i64::try_from(v).unwrap_or(i64::MAX))
}

fn is_conflict(e: &Error) -> bool {
    match e {
        Error::Delta { source, .. } => matches!(
            source.as_ref(),
            DeltaTableError::VersionAlreadyExists(_)
                | DeltaTableError::Transaction {
                    source: TransactionError::CommitConflict(_)
                        | TransactionError::MaxCommitAttempts(_)
                        | TransactionError::VersionAlreadyExists(_)
                }
        ),
        _ => false,
    }
}

/// Exponential backoff with full jitter: up to 20 ms × 2^(attempt-1), capped at 2 s.
async fn backoff(attempt: u32) {
    let cap_ms = (20u64 << attempt.saturating_sub(1).min(7)).min(2_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = RandomState::new().hash_one((nanos, attempt)) % cap_ms.max(1);
    tokio::time::sleep(Duration::from_millis(cap_ms / 2 + jitter / 2)).await;
}

/// Sorts a batch by the columns `by` (stable).
fn sort_batch(batch: &RecordBatch, by: &[&str]) -> Result<RecordBatch> {
    if by.is_empty() || batch.num_rows() < 2 {
        return Ok(batch.clone());
    }
    let keys = order::Keys::new(&order::columns(batch, by)?)?;
    let idx = keys.sorted(None);
    if idx.windows(2).all(|w| w[0] < w[1]) {
        return Ok(batch.clone());
    }
    Ok(take_record_batch(batch, &UInt32Array::from(idx))?)
}

/// Active files of the table by partition value tuple (one entry, `[]`, when
/// unpartitioned).
fn files_by_partition(
    dt: &DeltaTable,
    partitions: &[String],
    name: &str,
) -> Result<HashMap<Vec<String>, Vec<LogicalFileView>>> {
    let snapshot = dt.snapshot().map_err(delta_err(name))?;
    let mut out: HashMap<Vec<String>, Vec<LogicalFileView>> = HashMap::new();
    for f in snapshot.log_data().iter() {
        let values = f.partition_values_map();
        let t: Vec<String> = partitions
            .iter()
            .map(|p| values.get(p).cloned().flatten().unwrap_or_default())
            .collect();
        out.entry(t).or_default().push(f);
    }
    Ok(out)
}

/// Whether a stored file may hold a key within `bounds` (per key column), judged by its
/// Delta statistics (`minValues`/`maxValues`); a file without usable statistics may.
fn may_hold(
    f: &LogicalFileView,
    key: &[&str],
    bounds: &[Option<(order::Bound, order::Bound)>],
) -> bool {
    let Some(stats) = f
        .stats()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
    else {
        return true;
    };
    key.iter().zip(bounds).all(|(col, b)| {
        let Some((lo, hi)) = b else { return true };
        let fmin = stats
            .get("minValues")
            .and_then(|m| m.get(*col))
            .and_then(|v| stat_bound(v, lo, false));
        let fmax = stats
            .get("maxValues")
            .and_then(|m| m.get(*col))
            .and_then(|v| stat_bound(v, lo, true));
        match (fmin, fmax) {
            (Some(fmin), Some(fmax)) => !(fmax < *lo || fmin > *hi),
            _ => true,
        }
    })
}

/// A Delta statistic as a bound of the same kind as `like`. Timestamps are written with
/// millisecond precision (truncated): an upper bound is widened by a millisecond. Strings
/// may be truncated (to 32 characters): such a bound is not used.
fn stat_bound(v: &serde_json::Value, like: &order::Bound, upper: bool) -> Option<order::Bound> {
    match (like, v) {
        (order::Bound::Text(_), serde_json::Value::String(s)) if s.chars().count() < 32 => {
            Some(order::Bound::Text(s.clone()))
        }
        (order::Bound::Int(_), serde_json::Value::Number(n)) => n.as_i64().map(order::Bound::Int),
        (order::Bound::Int(_), serde_json::Value::String(s)) => {
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                let us = t.timestamp_micros();
                Some(order::Bound::Int(if upper { us + 1_000 } else { us }))
            } else {
                let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
                let days = d
                    .signed_duration_since(chrono::NaiveDate::default())
                    .num_days();
                Some(order::Bound::Int(days))
            }
        }
        _ => None,
    }
}

/// Reads the rows of `files` through deltalake's provider (partition values included),
/// only the columns `columns` and the rows passing `filter` when given (statistics and the
/// page index skip the rest), optionally with the file path of each row.
async fn read_files(
    dt: &DeltaTable,
    files: &[LogicalFileView],
    name: &str,
    columns: Option<&[&str]>,
    filter: Option<Expr>,
    with_file: bool,
) -> Result<RecordBatch> {
    let mut builder = dt
        .table_provider()
        .with_file_paths(files.iter().map(|f| f.path().into_owned()));
    if with_file {
        builder = builder.with_file_column(FILE_COLUMN);
    }
    let provider = builder.await?;
    let ctx = SessionContext::new();
    dt.update_datafusion_session(&ctx.state())
        .map_err(delta_err(name))?;
    let mut df = ctx.read_table(provider)?;
    if let Some(filter) = filter {
        df = df.filter(filter)?;
    }
    if let Some(columns) = columns {
        let mut wanted: Vec<&str> = columns.to_vec();
        if with_file {
            wanted.push(FILE_COLUMN);
        }
        df = df.select_columns(&wanted)?;
    }
    let out_schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    Ok(concat_batches(&out_schema, &batches)?)
}

/// Projects and casts `batch` to `schema` by column name.
fn project_to(batch: &RecordBatch, schema: &SchemaRef, name: &str) -> Result<RecordBatch> {
    let mut cols = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let c = batch
            .column_by_name(f.name())
            .ok_or_else(|| Error::BatchSchema {
                table: name.to_string(),
                column: f.name().clone(),
                why: "missing from the batch".to_string(),
            })?;
        cols.push(if c.data_type() == f.data_type() {
            Arc::clone(c)
        } else {
            cast(c, f.data_type())?
        });
    }
    RecordBatch::try_new(Arc::clone(schema), cols).map_err(|e| Error::BatchSchema {
        table: name.to_string(),
        column: String::new(),
        why: e.to_string(),
    })
}

fn delta_writer(
    dt: &DeltaTable,
    table_schema: SchemaRef,
    partitions: Vec<String>,
    props: datafusion::parquet::file::properties::WriterProperties,
    target_bytes: u64,
    name: &str,
) -> Result<DeltaWriter> {
    let snapshot = dt.snapshot().map_err(delta_err(name))?;
    let (num_idx, stats_cols) = deltalake::operations::get_num_idx_cols_and_stats_columns(
        Some(snapshot.table_config()),
        HashMap::new(),
    );
    let config = WriterConfig::new(
        table_schema,
        partitions,
        Some(props),
        std::num::NonZeroU64::new(target_bytes),
        None,
        num_idx,
        stats_cols,
    );
    Ok(DeltaWriter::new(dt.log_store().object_store(None), config))
}

/// The rows given to one write, as the batches came (lake schema): planned through a few
/// concatenated columns, written by slicing or gathering rows out of the batches.
#[derive(Clone)]
struct WriteRows {
    schema: SchemaRef,
    batches: Arc<Vec<RecordBatch>>,
    /// Index of the first row of each batch.
    starts: Arc<Vec<usize>>,
    /// All batches concatenated, made on the first gather that needs it.
    all: Arc<std::sync::OnceLock<RecordBatch>>,
}

impl WriteRows {
    fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> WriteRows {
        let mut starts = Vec::with_capacity(batches.len());
        let mut n = 0;
        for b in &batches {
            starts.push(n);
            n += b.num_rows();
        }
        WriteRows {
            schema,
            batches: Arc::new(batches),
            starts: Arc::new(starts),
            all: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// The columns `names` of all rows, concatenated.
    fn columns(&self, names: &[&str]) -> Result<RecordBatch> {
        let mut fields = Vec::with_capacity(names.len());
        let mut cols = Vec::with_capacity(names.len());
        for n in names {
            let i = self.schema.index_of(n).map_err(|_| Error::BatchSchema {
                table: String::new(),
                column: (*n).to_string(),
                why: "a key, sort or partition column is missing from the lake schema".to_string(),
            })?;
            fields.push(self.schema.field(i).clone());
            let parts: Vec<&dyn Array> =
                self.batches.iter().map(|b| b.column(i).as_ref()).collect();
            cols.push(if parts.is_empty() {
                datafusion::arrow::array::new_empty_array(self.schema.field(i).data_type())
            } else {
                concat(&parts)?
            });
        }
        let options = RecordBatchOptions::new()
            .with_row_count(Some(self.batches.iter().map(RecordBatch::num_rows).sum()));
        Ok(RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            cols,
            &options,
        )?)
    }

    /// The rows `rows` (indices over all batches) in that order: slices of the batches
    /// when the rows form a few runs of consecutive indices (no copy), a gather otherwise.
    fn gather(&self, rows: &[u32]) -> Result<Vec<RecordBatch>> {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let few = (rows.len() / 4096).max(16);
        for &r in rows {
            let n = runs.len();
            match runs.last_mut() {
                Some((start, len)) if *start + *len == r as usize => *len += 1,
                _ if n > few => break,
                _ => runs.push((r as usize, 1)),
            }
        }
        if runs.len() <= few {
            let mut out = Vec::new();
            for (start, len) in runs {
                let (mut at, end) = (start, start + len);
                while at < end {
                    let b = self.starts.partition_point(|&s| s <= at) - 1;
                    let offset = at - self.starts[b];
                    let n = (self.batches[b].num_rows() - offset).min(end - at);
                    out.push(self.batches[b].slice(offset, n));
                    at += n;
                }
            }
            return Ok(out);
        }
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let all = match self.all.get() {
            Some(all) => all,
            None => {
                let all = concat_batches(&self.schema, self.batches.iter())?;
                self.all.get_or_init(|| all)
            }
        };
        Ok(vec![take_record_batch(
            all,
            &UInt32Array::from(rows.to_vec()),
        )?])
    }
}

/// What one writer task writes: the rows of one partition, sorted.
struct Job {
    /// The partition's values (layout order).
    values: Vec<String>,
    rows: JobRows,
}

enum JobRows {
    /// These rows of the write, in this order.
    Take(Vec<u32>),
    /// This batch (lake schema).
    Batch(RecordBatch),
}

impl Job {
    fn take(g: &order::Group, rows: Vec<u32>) -> Job {
        Job {
            values: g.values.clone(),
            rows: JobRows::Take(rows),
        }
    }

    fn rows(&self) -> u64 {
        match &self.rows {
            JobRows::Take(r) => r.len() as u64,
            JobRows::Batch(b) => b.num_rows() as u64,
        }
    }
}

/// A Hive partition directory (`plant_id=P01/day=2026-01-05`), values escaped as Delta
/// writers do (anything but letters, digits and `-_.` as `%XX`).
fn partition_dir(names: &[String], values: &[String]) -> String {
    let escape = |v: &str| {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}={}", escape(v)))
        .collect::<Vec<_>>()
        .join("/")
}

/// Writes the jobs as data files of the table, partitions in parallel (one task per job,
/// as many at a time as there are cores); returns the Add actions (not committed). Each
/// job is written by a deltalake `PartitionWriter` into its partition's directory, the
/// partition columns left out of the files and set in the Add actions.
async fn write_jobs(
    dt: &DeltaTable,
    table: Table,
    rows: &WriteRows,
    jobs: Vec<Job>,
    lay: &Layout,
    name: &str,
) -> Result<Vec<Add>> {
    let table_schema = dt
        .snapshot()
        .map_err(delta_err(name))?
        .snapshot()
        .arrow_schema();
    let partitions = lay.partition_names();
    let file_schema: SchemaRef = Arc::new(Schema::new(
        table_schema
            .fields()
            .iter()
            .filter(|f| !partitions.contains(f.name()))
            .map(|f| f.as_ref().clone())
            .collect::<Vec<_>>(),
    ));
    let props = layout::writer_properties(table, &file_schema, true)?;
    let store = dt.log_store().object_store(None);
    let snapshot = dt.snapshot().map_err(delta_err(name))?;
    let (num_idx, stats_cols) = deltalake::operations::get_num_idx_cols_and_stats_columns(
        Some(snapshot.table_config()),
        HashMap::new(),
    );
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut running = tokio::task::JoinSet::new();
    let mut adds = Vec::new();
    for job in jobs.into_iter().filter(|j| j.rows() > 0) {
        while running.len() >= parallel {
            if let Some(done) = running.join_next().await {
                adds.extend(joined(done, name)?);
            }
        }
        let prefix = partition_dir(&partitions, &job.values);
        let values: HashMap<String, Option<String>> = partitions
            .iter()
            .cloned()
            .zip(job.values.iter().cloned().map(Some))
            .collect();
        let config = PartitionWriterConfig::try_new(
            Arc::clone(&file_schema),
            IndexMap::new(),
            Some(props.clone()),
            std::num::NonZeroU64::new(lay.target_file_bytes),
            Some(lay.target_file_rows.clamp(1, 1 << 16)),
            None,
            (!prefix.is_empty())
                .then(|| ObjectPath::parse(&prefix))
                .transpose()
                .map_err(|e| delta_err(name)(DeltaTableError::from(e)))?,
        )
        .map_err(delta_err(name))?;
        let (rows, store, file_schema, stats_cols, name) = (
            rows.clone(),
            Arc::clone(&store),
            Arc::clone(&file_schema),
            stats_cols.clone(),
            name.to_string(),
        );
        running.spawn(async move {
            let batches = match job.rows {
                JobRows::Take(idx) => rows.gather(&idx)?,
                JobRows::Batch(b) => vec![b],
            };
            drop(rows);
            let mut w = PartitionWriter::try_with_config(store, config, num_idx, stats_cols)
                .map_err(delta_err(&name))?;
            for b in &batches {
                let b = project_to(b, &file_schema, &name)?;
                w.write(&b).await.map_err(delta_err(&name))?;
            }
            let mut adds = w.close().await.map_err(delta_err(&name))?;
            for a in &mut adds {
                a.partition_values.clone_from(&values);
            }
            Ok(adds)
        });
    }
    while let Some(done) = running.join_next().await {
        adds.extend(joined(done, name)?);
    }
    Ok(adds)
}

fn joined(
    done: std::result::Result<Result<Vec<Add>>, tokio::task::JoinError>,
    name: &str,
) -> Result<Vec<Add>> {
    done.map_err(|e| Error::Delta {
        table: name.to_string(),
        source: Box::new(DeltaTableError::Generic(format!(
            "a file writer task failed: {e}"
        ))),
    })?
}

/// Whether a scanned file path (URL or path) designates the Add path `add_path`.
fn path_matches(scanned: &str, add_path: &str) -> bool {
    let decoded = |s: &str| {
        url::form_urlencoded::parse(s.as_bytes())
            .map(|(k, v)| {
                if v.is_empty() {
                    k.into_owned()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<String>()
    };
    scanned == add_path
        || scanned.ends_with(&format!("/{add_path}"))
        || decoded(scanned).ends_with(&decoded(add_path))
}

/// SQL predicate covering the partitions in `touched` (`true` when unpartitioned).
fn partition_predicate(
    schema: &SchemaRef,
    partitions: &[String],
    touched: &BTreeSet<Vec<String>>,
) -> String {
    if partitions.is_empty() || touched.is_empty() {
        return "true".to_string();
    }
    touched
        .iter()
        .map(|t| {
            let terms = partitions
                .iter()
                .zip(t)
                .map(|(p, v)| {
                    let v = v.replace('\'', "''");
                    match schema.field_with_name(p).map(|f| f.data_type().clone()) {
                        Ok(DataType::Date32) => format!("{p} = '{v}'::date"),
                        _ => format!("{p} = '{v}'"),
                    }
                })
                .collect::<Vec<_>>();
            format!("({})", terms.join(" AND "))
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

async fn commit(
    dt: &DeltaTable,
    actions: Vec<Action>,
    operation: DeltaOperation,
    app_id: Option<&str>,
    name: &str,
) -> Result<i64> {
    let snapshot = dt.snapshot().map_err(delta_err(name))?;
    let mut props = CommitProperties::default();
    if let Some(app_id) = app_id {
        props = props.with_application_transaction(Transaction::new(app_id, 1));
    }
    let done = CommitBuilder::from(props)
        .with_actions(actions)
        .build(Some(snapshot), dt.log_store(), operation)
        .await
        .map_err(delta_err(name))?;
    Ok(v64(Some(done.version())))
}
