//! Reading the columns of query results as plain Rust values, whatever physical type
//! (dictionary, view, timestamp unit) the table stores them in.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, lit};

use crate::error::{Error, Result};

fn column<'a>(
    batch: &'a RecordBatch,
    table: &'static str,
    name: &'static str,
    expected: &'static str,
) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| Error::Column {
        table,
        column: name,
        expected,
        found: "no such column".into(),
    })
}

fn cast_to(
    array: &ArrayRef,
    to: &DataType,
    table: &'static str,
    name: &'static str,
    expected: &'static str,
) -> Result<ArrayRef> {
    cast(array, to).map_err(|_| Error::Column {
        table,
        column: name,
        expected,
        found: array.data_type().to_string(),
    })
}

/// A text column as UTF-8 strings.
pub(crate) fn text(
    batch: &RecordBatch,
    table: &'static str,
    name: &'static str,
) -> Result<StringArray> {
    const EXPECTED: &str = "text";
    let a = column(batch, table, name, EXPECTED)?;
    let a = cast_to(a, &DataType::Utf8, table, name, EXPECTED)?;
    Ok(a.as_string::<i32>().clone())
}

/// A timestamp column as microseconds since the epoch (nulls as `None`).
pub(crate) fn micros(
    batch: &RecordBatch,
    table: &'static str,
    name: &'static str,
) -> Result<Vec<Option<i64>>> {
    const EXPECTED: &str = "a timestamp";
    let a = column(batch, table, name, EXPECTED)?;
    if !matches!(a.data_type(), DataType::Timestamp(..)) {
        return Err(Error::Column {
            table,
            column: name,
            expected: EXPECTED,
            found: a.data_type().to_string(),
        });
    }
    let to = DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")));
    let a = cast_to(a, &to, table, name, EXPECTED)?;
    Ok(a.as_primitive::<TimestampMicrosecondType>()
        .iter()
        .collect())
}

/// An integer column as `i64` (nulls as `None`).
pub(crate) fn ints(
    batch: &RecordBatch,
    table: &'static str,
    name: &'static str,
) -> Result<Vec<Option<i64>>> {
    const EXPECTED: &str = "an integer";
    let a = column(batch, table, name, EXPECTED)?;
    if !a.data_type().is_integer() {
        return Err(Error::Column {
            table,
            column: name,
            expected: EXPECTED,
            found: a.data_type().to_string(),
        });
    }
    let a = cast_to(a, &DataType::Int64, table, name, EXPECTED)?;
    Ok(a.as_primitive::<Int64Type>().iter().collect())
}

/// A numeric column as `f64` (nulls as `None`).
pub(crate) fn floats(
    batch: &RecordBatch,
    table: &'static str,
    name: &'static str,
) -> Result<Vec<Option<f64>>> {
    const EXPECTED: &str = "a number";
    let a = column(batch, table, name, EXPECTED)?;
    if !a.data_type().is_numeric() {
        return Err(Error::Column {
            table,
            column: name,
            expected: EXPECTED,
            found: a.data_type().to_string(),
        });
    }
    let a = cast_to(a, &DataType::Float64, table, name, EXPECTED)?;
    Ok(a.as_primitive::<Float64Type>().iter().collect())
}

/// A UTC microsecond timestamp literal, comparable with fabrik's timestamp columns.
pub(crate) fn ts_lit(t_us: i64) -> Expr {
    lit(ScalarValue::TimestampMicrosecond(
        Some(t_us),
        Some(Arc::from("UTC")),
    ))
}
