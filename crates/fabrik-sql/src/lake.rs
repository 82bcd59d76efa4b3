//! Time travel from SQL: the table functions [`LAKE_AS_OF`] and [`LAKE_HISTORY`], registered
//! by [`Session::register_lake`](crate::Session::register_lake).
//!
//! ```sql
//! SELECT * FROM lake_history('sensor_readings');                     -- the commits
//! SELECT count(*) FROM lake_as_of('sensor_readings', 3);             -- at version 3
//! SELECT * FROM lake_as_of('orders', TIMESTAMP '2026-11-28T10:00:00Z');
//! SELECT * FROM lake_as_of('orders', '2026-11-28 10:00:00');         -- UTC
//! ```
//!
//! DataFusion calls table functions synchronously while planning, but loading a Delta
//! snapshot is asynchronous. So the functions only check their arguments when called and
//! return providers that resolve the version in their (asynchronous) `scan`: a version that
//! does not exist, or a moment before the first commit, fails when the query is planned
//! into an execution plan (`collect`, `EXPLAIN`), not when the SQL is parsed. No runtime is
//! blocked on.
//!
//! A time-travel table has the columns of the table as registered; a version with another
//! schema is refused ([`Error::TimeTravelSchema`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::arrow::compute::kernels::cast_utils::string_to_timestamp_nanos;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use fabrik_lake::LakeTable;

use crate::error::Error;

/// `lake_as_of(table, version | timestamp)`: the lake table `table` as it was at a Delta
/// version (an integer) or at a moment (a timestamp, or a string such as
/// `'2026-11-28T10:00:00Z'`; without an offset it is UTC): the latest version committed at
/// or before it.
pub const LAKE_AS_OF: &str = "lake_as_of";

/// `lake_history(table [, last_n])`: the commits of the lake table `table`, oldest first,
/// with the columns of [`LakeTable::history_schema`] (`version`, `timestamp`, `operation`,
/// `app_id`, `files_added`, `files_removed`, `rows_added`); only the last `last_n` when
/// given. The log is read when the query runs, so commits made after the lake was
/// registered are listed too (and `lake_as_of` reads them), while the table itself stays at
/// the version it was registered at.
pub const LAKE_HISTORY: &str = "lake_history";

const AS_OF_USAGE: &str =
    "lake_as_of('<table>', <version>) or lake_as_of('<table>', TIMESTAMP '2026-11-28T10:00:00Z')";
const HISTORY_USAGE: &str = "lake_history('<table>') or lake_history('<table>', <last_n>)";

/// The lake tables the functions read, by SQL name: the handle and the provider registered
/// for the table (whose schema and filter support time-travel tables share).
#[derive(Debug, Clone, Default)]
pub(crate) struct LakeTables {
    tables: BTreeMap<String, (LakeTable, Arc<dyn TableProvider>)>,
}

impl LakeTables {
    /// Adds a registered table.
    pub(crate) fn insert(&mut self, table: LakeTable, provider: Arc<dyn TableProvider>) {
        self.tables
            .insert(table.table().name().to_string(), (table, provider));
    }

    fn get(
        &self,
        function: &'static str,
        name: &str,
    ) -> DFResult<&(LakeTable, Arc<dyn TableProvider>)> {
        self.tables.get(name).ok_or_else(|| {
            external(Error::UnknownLakeTable {
                function,
                name: name.to_string(),
                available: self.tables.keys().cloned().collect(),
            })
        })
    }
}

/// The table function [`LAKE_AS_OF`].
#[derive(Debug)]
pub(crate) struct LakeAsOf {
    tables: LakeTables,
}

impl LakeAsOf {
    pub(crate) fn new(tables: LakeTables) -> Self {
        LakeAsOf { tables }
    }
}

impl TableFunctionImpl for LakeAsOf {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.len() != 2 {
            return Err(external(Error::TableFunctionArity {
                function: LAKE_AS_OF,
                usage: AS_OF_USAGE,
                found: exprs.len(),
            }));
        }
        let name = table_name(LAKE_AS_OF, AS_OF_USAGE, &exprs[0])?;
        let (table, current) = self.tables.get(LAKE_AS_OF, &name)?;
        let at = as_of(&exprs[1])?;
        Ok(Arc::new(AsOfTable {
            table: table.clone(),
            current: Arc::clone(current),
            at,
        }))
    }
}

/// The table function [`LAKE_HISTORY`].
#[derive(Debug)]
pub(crate) struct LakeHistory {
    tables: LakeTables,
}

impl LakeHistory {
    pub(crate) fn new(tables: LakeTables) -> Self {
        LakeHistory { tables }
    }
}

impl TableFunctionImpl for LakeHistory {
    fn call_with_args(&self, args: TableFunctionArgs) -> DFResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if exprs.is_empty() || exprs.len() > 2 {
            return Err(external(Error::TableFunctionArity {
                function: LAKE_HISTORY,
                usage: HISTORY_USAGE,
                found: exprs.len(),
            }));
        }
        let name = table_name(LAKE_HISTORY, HISTORY_USAGE, &exprs[0])?;
        let (table, _) = self.tables.get(LAKE_HISTORY, &name)?;
        let limit = match exprs.get(1) {
            None => None,
            Some(e) => match integer(e).and_then(|n| usize::try_from(n).ok()) {
                Some(n) => Some(n),
                None => {
                    return Err(external(Error::TableFunctionArgument {
                        function: LAKE_HISTORY,
                        position: 2,
                        expected: "a non-negative integer (how many of the last commits)",
                        found: e.to_string(),
                        usage: HISTORY_USAGE,
                    }));
                }
            },
        };
        Ok(Arc::new(HistoryTable {
            table: table.clone(),
            limit,
        }))
    }
}

/// The point in time of a [`LAKE_AS_OF`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AsOf {
    Version(i64),
    Timestamp(DateTime<Utc>),
}

/// A lake table at an old version, resolved when scanned.
#[derive(Debug)]
struct AsOfTable {
    table: LakeTable,
    /// The provider of the table as registered: schema and filter support.
    current: Arc<dyn TableProvider>,
    at: AsOf,
}

impl AsOfTable {
    async fn resolve(&self) -> crate::Result<Arc<dyn TableProvider>> {
        let name = self.table.table().name();
        let pinned = match self.at {
            AsOf::Version(v) => match self.table.as_of_version(v).await {
                Ok(pinned) => pinned,
                Err(e) => {
                    // Say which versions exist when the one asked for is not among them.
                    let latest = self.table.version().await?;
                    if !(0..=latest).contains(&v) {
                        return Err(Error::NoSuchVersion {
                            table: name.to_string(),
                            requested: v,
                            latest,
                        });
                    }
                    return Err(e.into());
                }
            },
            AsOf::Timestamp(ts) => self.table.as_of_timestamp(ts).await?,
        };
        let provider = pinned.scan_provider().await?;
        if provider.schema().fields() != self.current.schema().fields() {
            return Err(Error::TimeTravelSchema {
                table: name.to_string(),
                version: pinned.version().await?,
            });
        }
        Ok(provider)
    }
}

#[async_trait]
impl TableProvider for AsOfTable {
    fn schema(&self) -> SchemaRef {
        self.current.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DFResult<Vec<TableProviderFilterPushDown>> {
        // The same rules as the registered table (they depend on the partition columns).
        self.current.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let provider = self.resolve().await.map_err(external)?;
        provider.scan(state, projection, filters, limit).await
    }
}

/// The commits of a lake table, read when scanned.
#[derive(Debug)]
struct HistoryTable {
    table: LakeTable,
    limit: Option<usize>,
}

#[async_trait]
impl TableProvider for HistoryTable {
    fn schema(&self) -> SchemaRef {
        LakeTable::history_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let batch = self
            .table
            .history(self.limit)
            .await
            .map_err(|e| external(Error::Lake(e)))?;
        MemTable::try_new(self.schema(), vec![vec![batch]])?
            .scan(state, projection, filters, limit)
            .await
    }
}

/// Wraps a fabrik-sql error for DataFusion; [`Error`]'s `From<DataFusionError>` unwraps it.
pub(crate) fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The literal value of a (simplified) table-function argument.
pub(crate) fn literal(e: &Expr) -> Option<&ScalarValue> {
    match e {
        Expr::Literal(v, _) if !v.is_null() => Some(v),
        _ => None,
    }
}

fn table_name(function: &'static str, usage: &'static str, e: &Expr) -> DFResult<String> {
    match literal(e) {
        Some(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
        ) => Ok(s.clone()),
        _ => Err(external(Error::TableFunctionArgument {
            function,
            position: 1,
            expected: "a table name as a string, e.g. 'sensor_readings'",
            found: e.to_string(),
            usage,
        })),
    }
}

/// An integer literal argument, as `i64`.
pub(crate) fn integer(e: &Expr) -> Option<i64> {
    match literal(e)? {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

/// The second argument of [`LAKE_AS_OF`]: a version or a moment.
fn as_of(e: &Expr) -> DFResult<AsOf> {
    let refuse = || {
        external(Error::TableFunctionArgument {
            function: LAKE_AS_OF,
            position: 2,
            expected: "a version (an integer) or a moment (a TIMESTAMP, or a string such as '2026-11-28T10:00:00Z')",
            found: e.to_string(),
            usage: AS_OF_USAGE,
        })
    };
    if let Some(v) = integer(e) {
        return Ok(AsOf::Version(v));
    }
    let nanos = match literal(e).ok_or_else(refuse)? {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(*v),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => string_to_timestamp_nanos(s.trim()).ok(),
        _ => None,
    };
    nanos
        .map(|n| AsOf::Timestamp(DateTime::from_timestamp_nanos(n)))
        .ok_or_else(refuse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::lit;

    #[test]
    fn as_of_reads_versions_and_moments() {
        assert_eq!(as_of(&lit(3_i64)).ok(), Some(AsOf::Version(3)));
        assert_eq!(as_of(&lit(3_i32)).ok(), Some(AsOf::Version(3)));
        let at = DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .ok();
        assert_eq!(
            as_of(&lit("2026-11-28T10:00:00Z")).ok(),
            at.map(AsOf::Timestamp)
        );
        assert_eq!(
            as_of(&lit("2026-11-28 10:00:00")).ok(),
            at.map(AsOf::Timestamp),
            "no offset: UTC"
        );
        let nanos = at.and_then(|t| t.timestamp_nanos_opt());
        assert_eq!(
            as_of(&lit(ScalarValue::TimestampNanosecond(nanos, None))).ok(),
            at.map(AsOf::Timestamp)
        );
        for bad in [lit("yesterday"), lit(1.5), lit(ScalarValue::Int64(None))] {
            let err = as_of(&bad).expect_err("refused");
            assert!(err.to_string().contains("argument 2"), "{err}");
        }
    }

    #[test]
    fn table_names_must_be_strings() {
        assert_eq!(
            table_name(LAKE_AS_OF, AS_OF_USAGE, &lit("orders")).ok(),
            Some("orders".to_string())
        );
        let err = table_name(LAKE_AS_OF, AS_OF_USAGE, &lit(1)).expect_err("refused");
        assert!(err.to_string().contains("a table name"), "{err}");
    }
}
