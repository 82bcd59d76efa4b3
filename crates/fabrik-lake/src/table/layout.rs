//! Physical layout of each lake table: partition columns, sort order, file sizes, dedup
//! policy and Parquet writer settings.

use std::sync::Arc;

use chrono::{DateTime, Datelike};
use datafusion::arrow::array::{Array, ArrayRef, Date32Array, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use fabrik_model::Table;

use crate::error::{Error, Result};

/// Rows per Parquet row group (about one million, as the brief of the lake asks).
pub const ROW_GROUP_ROWS: usize = 1 << 20;

/// How rows with equal keys ([`Table::key`]) are resolved, within one write and against the
/// rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DedupPolicy {
    /// The row already stored (or the first one seen in a write) stays; later copies are
    /// counted as duplicates and dropped. For measurements and events (telemetry, machine
    /// states, production counts): a reading resent by a gateway is the same measurement, so
    /// the first copy is as good as any and keeping it never rewrites a file.
    KeepFirst,
    /// The last row seen wins and replaces the stored one. For business records whose state
    /// moves on (orders change status, deliveries get received, inventory and master data
    /// are corrected): a resent order carries a newer status.
    KeepLast,
}

/// A partition column of a lake table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionColumn {
    /// A column of the domain table itself (e.g. `plant_id`).
    Column(&'static str),
    /// A derived `Date32` column named `name`: the UTC day of timestamp column `from`.
    Day {
        /// Name of the derived column.
        name: &'static str,
        /// The timestamp column it is derived from.
        from: &'static str,
    },
    /// A derived `Date32` column named `name`: the first day of the UTC month of timestamp
    /// column `from`.
    Month {
        /// Name of the derived column.
        name: &'static str,
        /// The timestamp column it is derived from.
        from: &'static str,
    },
}

impl PartitionColumn {
    /// The column's name in the lake table.
    pub fn name(self) -> &'static str {
        match self {
            PartitionColumn::Column(n) => n,
            PartitionColumn::Day { name, .. } | PartitionColumn::Month { name, .. } => name,
        }
    }

    /// Whether the column is derived (not part of the domain schema).
    pub fn is_derived(self) -> bool {
        !matches!(self, PartitionColumn::Column(_))
    }
}

/// The physical layout of a lake table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Hive-style partition columns, outermost first.
    pub partition_by: Vec<PartitionColumn>,
    /// Order of rows inside every data file (from [`Table::sort_order`]).
    pub sort_by: &'static [&'static str],
    /// Upper bound of rows per data file written by one ingest (files roll over after it).
    pub target_file_rows: usize,
    /// Target size of a data file in bytes; compaction merges files smaller than half of it.
    pub target_file_bytes: u64,
    /// How duplicates by [`Table::key`] are resolved.
    pub dedup: DedupPolicy,
}

/// The layout of `table`.
///
/// | table | partitions | dedup |
/// |---|---|---|
/// | `sensor_readings` | `plant_id`, `day` (UTC day of `ts`) | keep first |
/// | `machine_states` | `plant_id`, `month` (of `start_ts`) | keep first |
/// | `production_counts` | `plant_id`, `month` (of `ts`) | keep first |
/// | `orders` | `month` (of `created_at`) | keep last |
/// | `deliveries` | `month` (of `ordered_at`) | keep last |
/// | `inventory` | `month` (of `ts`) | keep last |
/// | `suppliers`, `bom` | none (small) | keep last |
///
/// Derived partition columns are `Date32` (`day`: the day; `month`: the first day of the
/// month) and are stored in the Delta table like any column, so SQL can filter on them and
/// Delta readers see them. They are computed by [`with_partition_columns`].
pub fn layout(table: Table) -> Layout {
    use PartitionColumn::{Column, Day, Month};
    let (partition_by, dedup) = match table {
        Table::SensorReadings => (
            vec![
                Column("plant_id"),
                Day {
                    name: "day",
                    from: "ts",
                },
            ],
            DedupPolicy::KeepFirst,
        ),
        Table::MachineStates => (
            vec![
                Column("plant_id"),
                Month {
                    name: "month",
                    from: "start_ts",
                },
            ],
            DedupPolicy::KeepFirst,
        ),
        Table::ProductionCounts => (
            vec![
                Column("plant_id"),
                Month {
                    name: "month",
                    from: "ts",
                },
            ],
            DedupPolicy::KeepFirst,
        ),
        Table::Orders => (
            vec![Month {
                name: "month",
                from: "created_at",
            }],
            DedupPolicy::KeepLast,
        ),
        Table::Deliveries => (
            vec![Month {
                name: "month",
                from: "ordered_at",
            }],
            DedupPolicy::KeepLast,
        ),
        Table::Inventory => (
            vec![Month {
                name: "month",
                from: "ts",
            }],
            DedupPolicy::KeepLast,
        ),
        Table::Suppliers | Table::Bom => (Vec::new(), DedupPolicy::KeepLast),
    };
    let (target_file_rows, target_file_bytes) = match table {
        Table::SensorReadings => (8 << 20, 128 << 20),
        Table::Suppliers | Table::Bom => (1 << 20, 8 << 20),
        _ => (4 << 20, 64 << 20),
    };
    Layout {
        partition_by,
        sort_by: table.sort_order(),
        target_file_rows,
        target_file_bytes,
        dedup,
    }
}

impl Layout {
    /// Names of the partition columns, outermost first.
    pub fn partition_names(&self) -> Vec<String> {
        self.partition_by
            .iter()
            .map(|p| p.name().to_string())
            .collect()
    }
}

/// The lake schema of `table`: [`Table::schema`] followed by the derived partition columns
/// of its [`layout`] (non-null `Date32`).
///
/// Delta has no unsigned integers: a `UInt8` column (`sensor_readings.quality`) is stored
/// as a Delta `byte` and reads back as `Int8`; writes cast to the stored types.
pub fn lake_schema(table: Table) -> SchemaRef {
    let base = table.schema();
    let mut fields: Vec<Field> = base.fields().iter().map(|f| f.as_ref().clone()).collect();
    for p in layout(table).partition_by {
        if p.is_derived() {
            fields.push(Field::new(p.name(), DataType::Date32, false));
        }
    }
    Arc::new(Schema::new(fields).with_metadata(base.metadata().clone()))
}

/// Adds the derived partition columns of `table` to a batch of the domain schema (or
/// recomputes them when present), giving a batch of [`lake_schema`].
pub fn with_partition_columns(table: Table, batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = lake_schema(table);
    let lay = layout(table);
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let derived = lay
            .partition_by
            .iter()
            .find(|p| p.is_derived() && p.name() == field.name());
        let col = match derived {
            Some(PartitionColumn::Day { from, .. }) => derive_date(table, batch, from, false)?,
            Some(PartitionColumn::Month { from, .. }) => derive_date(table, batch, from, true)?,
            _ => {
                let idx =
                    batch
                        .schema()
                        .index_of(field.name())
                        .map_err(|_| Error::BatchSchema {
                            table: table.name().to_string(),
                            column: field.name().clone(),
                            why: "missing from the batch".to_string(),
                        })?;
                let col = batch.column(idx);
                if col.data_type() == field.data_type() {
                    Arc::clone(col)
                } else {
                    datafusion::arrow::compute::cast(col, field.data_type())?
                }
            }
        };
        columns.push(col);
    }
    RecordBatch::try_new(schema, columns).map_err(|e| Error::BatchSchema {
        table: table.name().to_string(),
        column: String::new(),
        why: e.to_string(),
    })
}

fn derive_date(table: Table, batch: &RecordBatch, from: &str, month: bool) -> Result<ArrayRef> {
    let bad = |why: &str| Error::BatchSchema {
        table: table.name().to_string(),
        column: from.to_string(),
        why: why.to_string(),
    };
    let idx = batch
        .schema()
        .index_of(from)
        .map_err(|_| bad("missing from the batch"))?;
    let col = batch.column(idx);
    let col = if matches!(col.data_type(), DataType::Timestamp(_, _)) {
        datafusion::arrow::compute::cast(col, &fabrik_model::schema::timestamp_type())?
    } else {
        return Err(bad("not a timestamp"));
    };
    let ts = col
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .ok_or_else(|| bad("not a microsecond timestamp"))?;
    if ts.null_count() > 0 {
        return Err(bad("null timestamps cannot be partitioned"));
    }
    const UNIX_EPOCH_CE: i32 = 719_163;
    let mut out = Vec::with_capacity(ts.len());
    for v in ts.values().iter() {
        let day = v.div_euclid(86_400_000_000);
        let day = i32::try_from(day).map_err(|_| bad("timestamp out of range"))?;
        if month {
            let dt =
                DateTime::from_timestamp_micros(*v).ok_or_else(|| bad("timestamp out of range"))?;
            let first = dt
                .date_naive()
                .with_day(1)
                .ok_or_else(|| bad("timestamp out of range"))?;
            out.push(first.num_days_from_ce() - UNIX_EPOCH_CE);
        } else {
            out.push(day);
        }
    }
    Ok(Arc::new(Date32Array::from(out)))
}

/// Parquet writer properties for the data files of `table`, given the schema of the files
/// (the table schema without its partition columns): zstd, page statistics (column and
/// offset index), ~1M-row row groups, `DELTA_BINARY_PACKED` for timestamps and 64-bit
/// integers, dictionaries for every other column, and the `sorting_columns` metadata when
/// `sorted`.
///
/// Timestamps and 64-bit integers (ids, counters) are nearly unique, and their deltas pack
/// into a few bits. Everything else tries a dictionary first, numbers included: readings of
/// a sensor with a fixed resolution, quantities and prices repeat, and their dictionary
/// indices take a fraction of the plain values' bytes, to decompress and to decode. A
/// column whose dictionary outgrows the writer's limit (1 MiB per column chunk) falls back
/// to plain values for the rest of the chunk, as arrow-rs, pyarrow and DuckDB do.
pub(crate) fn writer_properties(
    table: Table,
    file_schema: &Schema,
    sorted: bool,
) -> Result<WriterProperties> {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_dictionary_enabled(true);
    for f in file_schema.fields() {
        if matches!(f.data_type(), DataType::Timestamp(_, _) | DataType::Int64) {
            let path = ColumnPath::from(f.name().as_str());
            b = b
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
        }
    }
    let sort = table.sort_order();
    if sorted && !sort.is_empty() {
        let mut cols = Vec::with_capacity(sort.len());
        for c in sort {
            let Ok(i) = file_schema.index_of(c) else {
                // A sort column that is a partition column is constant per file.
                continue;
            };
            cols.push(SortingColumn {
                column_idx: i32::try_from(i).map_err(|_| Error::BatchSchema {
                    table: table.name().to_string(),
                    column: (*c).to_string(),
                    why: "too many columns".to_string(),
                })?,
                descending: false,
                nulls_first: false,
            });
        }
        b = b.set_sorting_columns(Some(cols));
    }
    Ok(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, StringArray, UInt8Array};

    #[test]
    fn lake_schema_adds_derived_partitions() {
        let s = lake_schema(Table::SensorReadings);
        assert_eq!(
            s.fields().len(),
            Table::SensorReadings.schema().fields().len() + 1
        );
        assert_eq!(
            s.field_with_name("day").expect("day").data_type(),
            &DataType::Date32
        );
        let o = lake_schema(Table::Orders);
        assert!(o.field_with_name("month").is_ok());
        assert_eq!(
            lake_schema(Table::Bom).fields().len(),
            Table::Bom.schema().fields().len()
        );
        for t in Table::ALL {
            let l = layout(t);
            for p in &l.partition_by {
                assert!(lake_schema(t).field_with_name(p.name()).is_ok(), "{t}");
            }
        }
    }

    #[test]
    fn derives_day_and_month() -> Result<()> {
        // 2024-02-29T23:59:59Z and 1969-12-31T12:00:00Z
        let ts = vec![1_709_251_199_000_000_i64, -43_200_000_000];
        let s = Table::SensorReadings.schema();
        let n = ts.len();
        let text = |v: &str| Arc::new(StringArray::from(vec![v; n])) as ArrayRef;
        let batch = RecordBatch::try_new(
            s,
            vec![
                text("P01"),
                text("L"),
                text("M"),
                text("S1"),
                text("temperature"),
                Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
                Arc::new(Float64Array::from(vec![1.0; n])),
                Arc::new(UInt8Array::from(vec![0; n])),
            ],
        )?;
        let out = with_partition_columns(Table::SensorReadings, &batch)?;
        let day = out
            .column_by_name("day")
            .and_then(|c| c.as_any().downcast_ref::<Date32Array>().cloned())
            .expect("day column");
        assert_eq!(day.value(0), 19_782); // 2024-02-29
        assert_eq!(day.value(1), -1);
        Ok(())
    }

    #[test]
    fn writer_properties_sort_and_encodings() -> Result<()> {
        let file_schema = Schema::new(
            lake_schema(Table::SensorReadings)
                .fields()
                .iter()
                .filter(|f| f.name() != "plant_id" && f.name() != "day")
                .map(|f| f.as_ref().clone())
                .collect::<Vec<_>>(),
        );
        let p = writer_properties(Table::SensorReadings, &file_schema, true)?;
        let cols = p.sorting_columns().expect("sorting columns");
        assert_eq!(
            cols.iter().map(|c| c.column_idx).collect::<Vec<_>>(),
            vec![2, 4]
        );
        assert_eq!(
            p.encoding(&ColumnPath::from("ts")),
            Some(Encoding::DELTA_BINARY_PACKED)
        );
        assert!(!p.dictionary_enabled(&ColumnPath::from("ts")));
        // Readings, quality codes and ids try a dictionary (falling back to plain values
        // when it grows too large).
        for c in ["value", "quality", "sensor_id"] {
            assert!(p.dictionary_enabled(&ColumnPath::from(c)), "{c}");
        }
        Ok(())
    }
}
