//! Vectorized validation of a `RecordBatch` against a table's [rules](crate::rules).
//!
//! [`validate`] evaluates each rule of the table over the whole batch with Arrow compute
//! kernels (comparisons, boolean algebra, null masks), giving one boolean mask of failing
//! rows per rule. Only for the rows a rule fails does it format a readable reason, so a clean
//! batch costs a few passes over its columns and no allocation per row.
//!
//! Columns are found by name; extra columns are ignored. A non-nullable column that is
//! missing is an [`Error::MissingColumn`]; a missing nullable column counts as all null (an
//! older file written before the column existed). Text columns may be `Utf8`, `LargeUtf8`,
//! `Utf8View` or a dictionary of those, as Parquet and DataFusion readers hand them back;
//! timestamps must be `Timestamp(Microsecond, <any zone>)`; every other column must have
//! the schema's type exactly, else [`Error::ColumnType`].
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{ArrayRef, Int64Array, RecordBatch, TimestampMicrosecondArray};
//! use fabrik_model::{Table, ValidateOptions, validate};
//! # fn main() -> fabrik_model::Result<()> {
//! let us = |s: &str| fabrik_model::time::micros_from_rfc3339(s).expect("valid time");
//! let ts = |v: Vec<i64>| Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC")) as ArrayRef;
//! let qty = |v: Vec<Option<i64>>| Arc::new(Int64Array::from(v)) as ArrayRef;
//! let batch = RecordBatch::try_from_iter([
//!     ("po_id", Arc::new(arrow::array::StringArray::from(vec!["PO1", "PO2"])) as ArrayRef),
//!     ("supplier_id", Arc::new(arrow::array::StringArray::from(vec!["SUP001", "SUP002"])) as ArrayRef),
//!     ("part_id", Arc::new(arrow::array::StringArray::from(vec!["DRUM-09", "MOT-INV"])) as ArrayRef),
//!     ("qty_ordered", qty(vec![Some(100), Some(100)])),
//!     ("ordered_at", ts(vec![us("2026-03-01T08:00:00Z"), us("2026-03-01T08:00:00Z")])),
//!     ("promised_at", ts(vec![us("2026-03-10T08:00:00Z"), us("2026-03-10T08:00:00Z")])),
//!     ("received_at", ts(vec![us("2026-03-09T08:00:00Z"), us("2026-03-09T08:00:00Z")])),
//!     ("qty_received", qty(vec![Some(105), Some(120)])),
//!     ("unit_price", Arc::new(arrow::array::Float64Array::from(vec![12.5, 80.0])) as ArrayRef),
//! ])?;
//! let opts = ValidateOptions { now_us: Some(us("2026-06-01T00:00:00Z")), ..ValidateOptions::default() };
//! let v = validate(Table::Deliveries, &batch, &opts)?;
//! assert_eq!(v.invalid_count(), 1);
//! assert_eq!(v.violations[0].row, 1);
//! assert_eq!(v.violations[0].rule, "deliveries.qty_received.within_tolerance");
//! assert_eq!(
//!     v.violations[0].reason,
//!     "qty_received 120 is greater than qty_ordered 100 + 10% tolerance (110)"
//! );
//! assert_eq!(v.valid_rows(&batch)?.num_rows(), 1);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int16Array, Int32Array, Int64Array,
    LargeStringArray, RecordBatch, Scalar, StringArray, StringViewArray, TimestampMicrosecondArray,
    UInt8Array, UInt64Array, new_null_array,
};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::kernels::{boolean, cmp};
use arrow::compute::{cast, filter_record_batch, prep_null_mask_filter, take};
use arrow::datatypes::{
    DataType, Field, Float64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType, UInt8Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::TimeDelta;

use crate::error::{Error, Result};
use crate::rules::{Check, CmpOp, Rule, TimeKind, Tolerance, When};
use crate::schema::{FieldSpec, FieldType, Table, UTC, timestamp_type};
use crate::time::{Y2K_MICROS, delta_micros, format_delta, format_micros, now_micros};

/// Settings of [`validate`]: the plausible time window and the delivery tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidateOptions {
    /// The earliest plausible timestamp, in µs since the epoch (default 2000-01-01T00:00:00Z).
    pub min_time_us: i64,
    /// "Now", in µs since the epoch; `None` reads the wall clock once per call. Set it for
    /// reproducible results (tests, re-validating old data).
    pub now_us: Option<i64>,
    /// How far after now an event may lie (clock skew between plant and server); default 1 day.
    pub max_future: TimeDelta,
    /// How far after now a promised date may lie ([`TimeKind::Planned`]); default 366 days.
    pub max_plan_ahead: TimeDelta,
    /// How much more than ordered a delivery may bring, as a fraction of `qty_ordered`
    /// ([`Tolerance::DeliveryOverage`]); default `0.10` (10 %). Must be finite and >= 0.
    pub delivery_tolerance: f64,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            min_time_us: Y2K_MICROS,
            now_us: None,
            max_future: TimeDelta::days(1),
            max_plan_ahead: TimeDelta::days(366),
            delivery_tolerance: 0.10,
        }
    }
}

impl ValidateOptions {
    /// The defaults with "now" fixed at `now_us` (µs since the epoch).
    pub fn at(now_us: i64) -> Self {
        ValidateOptions {
            now_us: Some(now_us),
            ..ValidateOptions::default()
        }
    }

    fn check(&self) -> Result<()> {
        if !(self.delivery_tolerance.is_finite() && self.delivery_tolerance >= 0.0) {
            return Err(Error::InvalidOption {
                option: "delivery_tolerance",
                value: self.delivery_tolerance.to_string(),
                expected: "a finite fraction >= 0, such as 0.1 for 10 %",
            });
        }
        for (option, delta) in [
            ("max_future", self.max_future),
            ("max_plan_ahead", self.max_plan_ahead),
        ] {
            if delta < TimeDelta::zero() {
                return Err(Error::InvalidOption {
                    option,
                    value: delta.to_string(),
                    expected: "a duration >= 0",
                });
            }
        }
        Ok(())
    }
}

/// One failed rule in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// 0-based row in the batch.
    pub row: usize,
    /// The column the problem is reported on.
    pub column: &'static str,
    /// The id of the failed [`Rule`], or [`PARSE_RULE`](crate::PARSE_RULE) for text that
    /// did not parse.
    pub rule: &'static str,
    /// What is wrong, with the offending value(s), e.g.
    /// `end_ts 2026-01-05T10:00:00Z is not after start_ts 2026-01-05T11:00:00Z`.
    pub reason: String,
}

/// The result of validating a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// Every violation, sorted by row, then by the order of the table's rules.
    pub violations: Vec<Violation>,
    /// One entry per row of the batch, no nulls: `true` for rows with at least one violation.
    pub invalid: BooleanArray,
}

impl Validation {
    /// Whether no row has any violation.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// The number of rows with at least one violation.
    pub fn invalid_count(&self) -> usize {
        self.invalid.true_count()
    }

    /// The rows of `batch` (the batch that was validated) without any violation.
    pub fn valid_rows(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        self.check_len(batch)?;
        Ok(filter_record_batch(batch, &boolean::not(&self.invalid)?)?)
    }

    /// The rows of `batch` (the batch that was validated) with at least one violation.
    pub fn invalid_rows(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        self.check_len(batch)?;
        Ok(filter_record_batch(batch, &self.invalid)?)
    }

    /// The violations as a batch of [`violations_schema`] (`row`, `column`, `rule`,
    /// `reason`), for printing or storing.
    pub fn violations_batch(&self) -> RecordBatch {
        let v = &self.violations;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from_iter_values(
                v.iter().map(|v| v.row as u64),
            )),
            Arc::new(StringArray::from_iter_values(v.iter().map(|v| v.column))),
            Arc::new(StringArray::from_iter_values(v.iter().map(|v| v.rule))),
            Arc::new(StringArray::from_iter_values(
                v.iter().map(|v| v.reason.as_str()),
            )),
        ];
        RecordBatch::try_new(violations_schema(), columns)
            .expect("four non-null columns of equal length match the schema")
    }

    fn check_len(&self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == self.invalid.len() {
            Ok(())
        } else {
            Err(Error::BatchLength {
                expected: self.invalid.len(),
                found: batch.num_rows(),
            })
        }
    }
}

/// The schema of [`Validation::violations_batch`]: `row` (UInt64, 0-based), `column`,
/// `rule`, `reason` (Utf8), none nullable.
pub fn violations_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("row", DataType::UInt64, false),
        Field::new("column", DataType::Utf8, false),
        Field::new("rule", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
    ]))
}

/// Validates `batch` as rows of `table`: every rule of [`Table::rules`], vectorized.
///
/// Errors only on a batch of the wrong shape (a missing non-nullable column, a column of
/// the wrong type) or invalid options; bad values are [`Violation`]s.
pub fn validate(table: Table, batch: &RecordBatch, opts: &ValidateOptions) -> Result<Validation> {
    opts.check()?;
    let ctx = Ctx::new(table, batch, opts)?;
    let rows = batch.num_rows();
    let mut invalid = BooleanBuffer::new_unset(rows);
    let mut violations = Vec::new();
    for rule in table.rules() {
        let fail = ctx.fail_mask(rule)?;
        debug_assert_eq!(fail.null_count(), 0);
        if fail.true_count() == 0 {
            continue;
        }
        invalid = &invalid | fail.values();
        let explain = Explain::new(&ctx, rule)?;
        violations.extend(fail.values().set_indices().map(|row| Violation {
            row,
            column: rule.column,
            rule: rule.id,
            reason: explain.reason(row),
        }));
    }
    // Stable: within a row, violations stay in rule order.
    violations.sort_by_key(|v| v.row);
    Ok(Validation {
        violations,
        invalid: BooleanArray::new(invalid, None),
    })
}

/// Whether `dt` is a text type validation accepts: `Utf8`, `LargeUtf8`, `Utf8View` or a
/// dictionary of one of those.
pub fn is_text_type(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => matches!(
            **values,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ),
        _ => false,
    }
}

/// Checks that `array` can stand for column `spec` of `table` and brings it to the form the
/// rules evaluate: timestamps in zone "UTC", a `Null`-typed column as a null array of the
/// schema type. Text stays in whichever text type it has.
pub(crate) fn conform(table: Table, spec: &FieldSpec, array: &ArrayRef) -> Result<ArrayRef> {
    let dt = array.data_type();
    if *dt == DataType::Null {
        return Ok(new_null_array(&spec.ty.data_type(), array.len()));
    }
    let ok = match spec.ty {
        FieldType::Text => is_text_type(dt),
        FieldType::Timestamp => matches!(dt, DataType::Timestamp(TimeUnit::Microsecond, Some(_))),
        other => *dt == other.data_type(),
    };
    if !ok {
        let expected = match spec.ty {
            FieldType::Text => "Utf8 (or LargeUtf8, Utf8View, Dictionary(_, Utf8))".to_string(),
            FieldType::Timestamp => format!("{} (any time zone)", timestamp_type()),
            other => other.data_type().to_string(),
        };
        return Err(Error::ColumnType {
            table: table.name(),
            column: spec.name,
            expected,
            found: dt.to_string(),
        });
    }
    match dt {
        DataType::Timestamp(_, Some(tz)) if tz.as_ref() != UTC => {
            Ok(cast(array, &timestamp_type())?)
        }
        _ => Ok(Arc::clone(array)),
    }
}

/// The columns of one batch, conformed, and the resolved options.
struct Ctx {
    table: Table,
    columns: Vec<ArrayRef>,
    min_us: i64,
    now_us: i64,
    max_event_us: i64,
    max_planned_us: i64,
    max_future: TimeDelta,
    max_plan_ahead: TimeDelta,
    delivery_tolerance: f64,
}

impl Ctx {
    fn new(table: Table, batch: &RecordBatch, opts: &ValidateOptions) -> Result<Ctx> {
        let rows = batch.num_rows();
        let columns = table
            .fields()
            .iter()
            .map(|spec| match batch.column_by_name(spec.name) {
                Some(array) => conform(table, spec, array),
                None if spec.nullable => Ok(new_null_array(&spec.ty.data_type(), rows)),
                None => Err(Error::MissingColumn {
                    table: table.name(),
                    column: spec.name,
                    expected: spec.ty.data_type().to_string(),
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        let now_us = opts.now_us.unwrap_or_else(now_micros);
        Ok(Ctx {
            table,
            columns,
            min_us: opts.min_time_us,
            now_us,
            max_event_us: now_us.saturating_add(delta_micros(opts.max_future)),
            max_planned_us: now_us.saturating_add(delta_micros(opts.max_plan_ahead)),
            max_future: opts.max_future,
            max_plan_ahead: opts.max_plan_ahead,
            delivery_tolerance: opts.delivery_tolerance,
        })
    }

    fn column(&self, name: &str) -> Result<(&ArrayRef, FieldType)> {
        let i = self
            .table
            .fields()
            .iter()
            .position(|f| f.name == name)
            .ok_or(Error::Internal {
                what: "a rule names a column its table does not have",
            })?;
        Ok((&self.columns[i], self.table.fields()[i].ty))
    }

    fn window(&self, kind: TimeKind) -> (i64, i64) {
        match kind {
            TimeKind::Event => (self.min_us, self.max_event_us),
            TimeKind::Planned => (self.min_us, self.max_planned_us),
        }
    }

    /// `(absolute, relative)` slack of a tolerance.
    fn slack(&self, tolerance: Tolerance) -> (f64, f64) {
        match tolerance {
            Tolerance::None => (0.0, 0.0),
            Tolerance::Absolute(a) => (a, 0.0),
            Tolerance::Relative(r) => (0.0, r),
            Tolerance::DeliveryOverage => (0.0, self.delivery_tolerance),
        }
    }

    /// The rows the rule fails, as a mask without nulls.
    fn fail_mask(&self, rule: &Rule) -> Result<BooleanArray> {
        let (a, ty) = self.column(rule.column)?;
        let a = a.as_ref();
        Ok(match rule.check {
            Check::NotNull => arrow::compute::is_null(a)?,
            Check::OneOf(values) => definite(&boolean::not(&text_in(a, values)?)?),
            Check::OneOfU8(values) => definite(&boolean::not(&u8_in(a, values)?)?),
            Check::Finite => definite(&boolean::not(&finite(a)?)?),
            Check::UppercaseLetters { len } => definite(&text_pred(a, move |s: &str| {
                !(s.len() == len && s.bytes().all(|b| b.is_ascii_uppercase()))
            })?),
            Check::Range {
                min,
                max,
                min_exclusive,
                max_exclusive,
            } => range_fail(
                a,
                ty,
                Bounds {
                    min,
                    max,
                    min_exclusive,
                    max_exclusive,
                },
            )?,
            Check::PlausibleTime(kind) => {
                let (lo, hi) = self.window(kind);
                let early = cmp::lt(&a, &ts_scalar(lo))?;
                let late = cmp::gt(&a, &ts_scalar(hi))?;
                definite(&boolean::or(&early, &late)?)
            }
            Check::Compare {
                other,
                op,
                tolerance,
            } => {
                let (b, _) = self.column(other)?;
                let pass = compare(a, b.as_ref(), op, self.slack(tolerance))?;
                definite(&boolean::not(&pass)?)
            }
            Check::NotNullWhen(when) => {
                boolean::and(&arrow::compute::is_null(a)?, &self.when_mask(when)?)?
            }
            Check::NullWhen(when) => {
                boolean::and(&arrow::compute::is_not_null(a)?, &self.when_mask(when)?)?
            }
            Check::BothOrNeither { other } => {
                let (b, _) = self.column(other)?;
                let a_null = arrow::compute::is_null(a)?;
                let b_null = arrow::compute::is_null(b.as_ref())?;
                BooleanArray::new(a_null.values() ^ b_null.values(), None)
            }
        })
    }

    /// The rows meeting a condition; a null never does.
    fn when_mask(&self, when: When) -> Result<BooleanArray> {
        let (c, _) = self.column(when.column())?;
        Ok(definite(&match when {
            When::TextIn { values, .. } => text_in(c.as_ref(), values)?,
            When::U8In { values, .. } => u8_in(c.as_ref(), values)?,
        }))
    }
}

/// Nulls count as `false` (pass).
fn definite(mask: &BooleanArray) -> BooleanArray {
    if mask.null_count() == 0 {
        mask.clone()
    } else {
        prep_null_mask_filter(mask)
    }
}

/// A boolean computed on a dictionary's values, spread to its rows through the keys.
fn via_dictionary(
    a: &dyn Array,
    f: impl Fn(&dyn Array) -> Result<BooleanArray>,
) -> Result<Option<BooleanArray>> {
    let Some(dict) = a.as_any_dictionary_opt() else {
        return Ok(None);
    };
    let on_values = f(dict.values().as_ref())?;
    let spread = take(&on_values, dict.keys(), None)?;
    Ok(Some(spread.as_boolean().clone()))
}

/// Text membership: `true` where the value is one of `values`, null where the value is.
fn text_in(a: &dyn Array, values: &[&str]) -> Result<BooleanArray> {
    if let Some(hit) = via_dictionary(a, |v| text_in(v, values))? {
        return Ok(hit);
    }
    let mut acc: Option<BooleanArray> = None;
    for &v in values {
        let hit = match a.data_type() {
            DataType::Utf8 => cmp::eq(&a, &StringArray::new_scalar(v))?,
            DataType::LargeUtf8 => cmp::eq(&a, &LargeStringArray::new_scalar(v))?,
            DataType::Utf8View => cmp::eq(&a, &StringViewArray::new_scalar(v))?,
            _ => {
                return Err(Error::Internal {
                    what: "text rule on a non-text column",
                });
            }
        };
        acc = Some(match acc {
            None => hit,
            Some(prev) => boolean::or(&prev, &hit)?,
        });
    }
    Ok(acc
        .unwrap_or_else(|| BooleanArray::new(BooleanBuffer::new_unset(a.len()), a.logical_nulls())))
}

/// A predicate over text, evaluated once per value (once per dictionary entry for
/// dictionaries); null where the value is.
fn text_pred(a: &dyn Array, f: impl Fn(&str) -> bool + Copy) -> Result<BooleanArray> {
    if let Some(hit) = via_dictionary(a, |v| text_pred(v, f))? {
        return Ok(hit);
    }
    Ok(match a.data_type() {
        DataType::Utf8 => BooleanArray::from_unary(a.as_string::<i32>(), f),
        DataType::LargeUtf8 => BooleanArray::from_unary(a.as_string::<i64>(), f),
        DataType::Utf8View => BooleanArray::from_unary(a.as_string_view(), f),
        _ => {
            return Err(Error::Internal {
                what: "text rule on a non-text column",
            });
        }
    })
}

/// Code membership for `UInt8` columns; null where the value is.
fn u8_in(a: &dyn Array, values: &[u8]) -> Result<BooleanArray> {
    let codes = a.as_primitive_opt::<UInt8Type>().ok_or(Error::Internal {
        what: "code rule on a non-UInt8 column",
    })?;
    Ok(BooleanArray::from_unary(codes, |c| values.contains(&c)))
}

/// `true` where a `Float64` value is finite; null where the value is.
fn finite(a: &dyn Array) -> Result<BooleanArray> {
    let x = a.as_primitive_opt::<Float64Type>().ok_or(Error::Internal {
        what: "finite rule on a non-Float64 column",
    })?;
    Ok(BooleanArray::from_unary(x, f64::is_finite))
}

#[derive(Debug, Clone, Copy)]
struct Bounds {
    min: Option<f64>,
    max: Option<f64>,
    min_exclusive: bool,
    max_exclusive: bool,
}

impl Bounds {
    fn contains(self, x: f64) -> bool {
        let above_min = match self.min {
            None => true,
            Some(m) if self.min_exclusive => x > m,
            Some(m) => x >= m,
        };
        let below_max = match self.max {
            None => true,
            Some(m) if self.max_exclusive => x < m,
            Some(m) => x <= m,
        };
        above_min && below_max
    }

    /// `> 0`, `>= 0`, `within [3, 20]`.
    fn describe(self) -> String {
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => format!(
                "within {}{}, {}{}",
                if self.min_exclusive { "(" } else { "[" },
                number(lo),
                number(hi),
                if self.max_exclusive { ")" } else { "]" }
            ),
            (Some(lo), None) => format!(
                "{} {}",
                if self.min_exclusive { ">" } else { ">=" },
                number(lo)
            ),
            (None, Some(hi)) => format!(
                "{} {}",
                if self.max_exclusive { "<" } else { "<=" },
                number(hi)
            ),
            (None, None) => "any number".to_string(),
        }
    }
}

/// A number written as a person would: `0`, `3`, `0.5`, `220` (not `220.00000000000003`):
/// at most 6 decimals, trailing zeros dropped.
fn number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let fixed = format!("{x:.6}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// An integer scalar of `dt` equal to `bound`, if `bound` is an integer `dt` can hold.
fn int_scalar(dt: &DataType, bound: f64) -> Option<Scalar<ArrayRef>> {
    if bound.fract() != 0.0 {
        return None;
    }
    let array: ArrayRef = match dt {
        DataType::Int16 if (f64::from(i16::MIN)..=f64::from(i16::MAX)).contains(&bound) => {
            Arc::new(Int16Array::from(vec![bound as i16]))
        }
        DataType::Int32 if (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&bound) => {
            Arc::new(Int32Array::from(vec![bound as i32]))
        }
        // i64 bounds beyond ±2^53 are not exact as f64; none of the rules come near.
        DataType::Int64 if bound.abs() < 9.0e15 => Arc::new(Int64Array::from(vec![bound as i64])),
        DataType::UInt8 if (0.0..=255.0).contains(&bound) => {
            Arc::new(UInt8Array::from(vec![bound as u8]))
        }
        _ => return None,
    };
    Some(Scalar::new(array))
}

/// The rows outside the bounds (no nulls). Integers compare with kernels against scalars of
/// their own type; floats (and integers against bounds they cannot hold) compare as `f64`,
/// with non-finite values passing (they are `Finite`'s to report).
fn range_fail(a: &dyn Array, ty: FieldType, bounds: Bounds) -> Result<BooleanArray> {
    let int_scalars = (ty != FieldType::Float64)
        .then(|| {
            let lo = bounds.min.map(|m| int_scalar(a.data_type(), m));
            let hi = bounds.max.map(|m| int_scalar(a.data_type(), m));
            match (lo, hi) {
                (Some(None), _) | (_, Some(None)) => None,
                (lo, hi) => Some((lo.flatten(), hi.flatten())),
            }
        })
        .flatten();
    if let Some((lo, hi)) = int_scalars {
        let mut fail: Option<BooleanArray> = None;
        if let Some(lo) = lo {
            let f = if bounds.min_exclusive {
                cmp::lt_eq(&a, &lo)?
            } else {
                cmp::lt(&a, &lo)?
            };
            fail = Some(f);
        }
        if let Some(hi) = hi {
            let f = if bounds.max_exclusive {
                cmp::gt_eq(&a, &hi)?
            } else {
                cmp::gt(&a, &hi)?
            };
            fail = Some(match fail {
                None => f,
                Some(prev) => boolean::or(&prev, &f)?,
            });
        }
        return Ok(fail.map_or_else(
            || BooleanArray::new(BooleanBuffer::new_unset(a.len()), None),
            |f| definite(&f),
        ));
    }
    let floats = if ty == FieldType::Float64 {
        None
    } else {
        Some(cast(a, &DataType::Float64)?)
    };
    let x = floats
        .as_deref()
        .unwrap_or(a)
        .as_primitive_opt::<Float64Type>()
        .ok_or(Error::Internal {
            what: "range rule on a non-numeric column",
        })?;
    Ok(definite(&BooleanArray::from_unary(x, |v| {
        v.is_finite() && !bounds.contains(v)
    })))
}

fn ts_scalar(us: i64) -> Scalar<TimestampMicrosecondArray> {
    Scalar::new(TimestampMicrosecondArray::from(vec![us]).with_timezone(UTC))
}

/// `a op b` with the slack `(absolute, relative)` granted on `b`; null where either side is.
/// Same-typed sides without slack compare directly; otherwise both go through `f64`.
fn compare(
    a: &dyn Array,
    b: &dyn Array,
    op: CmpOp,
    (abs, rel): (f64, f64),
) -> Result<BooleanArray> {
    let kernel = |l: &dyn Array, r: &dyn Array| -> Result<BooleanArray> {
        Ok(match op {
            CmpOp::Lt => cmp::lt(&l, &r)?,
            CmpOp::Le => cmp::lt_eq(&l, &r)?,
            CmpOp::Gt => cmp::gt(&l, &r)?,
            CmpOp::Ge => cmp::gt_eq(&l, &r)?,
        })
    };
    if abs == 0.0 && rel == 0.0 && a.data_type() == b.data_type() {
        return kernel(a, b);
    }
    let af = cast(a, &DataType::Float64)?;
    let bf = cast(b, &DataType::Float64)?;
    let bf = bf.as_primitive::<Float64Type>();
    let widen = match op {
        CmpOp::Lt | CmpOp::Le => 1.0,
        CmpOp::Gt | CmpOp::Ge => -1.0,
    };
    // The slack is widened by a relative 1e-9 so that rounding in `x × rel` never fails a
    // value sitting exactly on the bound (165 received of 150 ordered at 10 %).
    let bound: Float64Array = bf.unary(|x| {
        let slack = abs + x.abs() * rel;
        if slack > 0.0 {
            x + widen * (slack + 1e-9 * slack.max(x.abs()))
        } else {
            x
        }
    });
    kernel(af.as_ref(), &bound)
}

/// Formats the reasons of one rule's failing rows.
struct Explain<'a> {
    ctx: &'a Ctx,
    rule: &'a Rule,
    this: Cell<'a>,
    other: Option<Cell<'a>>,
}

/// Formats the values of one column.
struct Cell<'a> {
    kind: CellKind<'a>,
    nulls: Option<NullBuffer>,
}

enum CellKind<'a> {
    Timestamp(&'a TimestampMicrosecondArray),
    Text(ArrayFormatter<'a>),
    Other(ArrayFormatter<'a>),
}

const NULL_TEXT: &str = "null";
const TEXT_SHOWN_CHARS: usize = 60;

impl<'a> Cell<'a> {
    fn new(array: &'a ArrayRef, ty: FieldType) -> Result<Cell<'a>> {
        let options = FormatOptions::new().with_null(NULL_TEXT);
        let kind = match ty {
            FieldType::Timestamp => {
                CellKind::Timestamp(array.as_primitive_opt::<TimestampMicrosecondType>().ok_or(
                    Error::Internal {
                        what: "timestamp column not conformed",
                    },
                )?)
            }
            FieldType::Text => CellKind::Text(ArrayFormatter::try_new(array.as_ref(), &options)?),
            _ => CellKind::Other(ArrayFormatter::try_new(array.as_ref(), &options)?),
        };
        // Logical: a dictionary's null may sit in its values.
        Ok(Cell {
            kind,
            nulls: array.logical_nulls(),
        })
    }

    fn is_null(&self, row: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n.is_null(row))
    }

    fn timestamp(&self, row: usize) -> Option<i64> {
        match self.kind {
            CellKind::Timestamp(a) if !self.is_null(row) => Some(a.value(row)),
            _ => None,
        }
    }

    /// The value, ready to print: `'text'`, `42`, `2026-01-05T10:00:00Z` or `null`.
    fn show(&self, row: usize) -> String {
        if self.is_null(row) {
            return NULL_TEXT.to_string();
        }
        match &self.kind {
            CellKind::Timestamp(a) => format_micros(a.value(row)),
            CellKind::Text(f) => quote(&f.value(row).to_string()),
            CellKind::Other(f) => f.value(row).to_string(),
        }
    }
}

/// `'text'`, cut after [`TEXT_SHOWN_CHARS`] characters.
pub(crate) fn quote(text: &str) -> String {
    match text.char_indices().nth(TEXT_SHOWN_CHARS) {
        Some((cut, _)) => format!("'{}…'", &text[..cut]),
        None => format!("'{text}'"),
    }
}

impl<'a> Explain<'a> {
    fn new(ctx: &'a Ctx, rule: &'a Rule) -> Result<Explain<'a>> {
        let (a, ty) = ctx.column(rule.column)?;
        let other = match rule.check.other_column() {
            Some(name) => {
                let (b, bty) = ctx.column(name)?;
                Some(Cell::new(b, bty)?)
            }
            None => None,
        };
        Ok(Explain {
            ctx,
            rule,
            this: Cell::new(a, ty)?,
            other,
        })
    }

    fn reason(&self, row: usize) -> String {
        let col = self.rule.column;
        let v = self.this.show(row);
        let other_v = || {
            self.other
                .as_ref()
                .map_or_else(String::new, |o| o.show(row))
        };
        match self.rule.check {
            Check::NotNull => format!("{col} is null; it is required"),
            Check::OneOf(values) => format!("{col} {v} is not one of {}", values.join(", ")),
            Check::OneOfU8(values) => format!("{col} {v} is not one of {}", join_codes(values)),
            Check::Finite => format!("{col} {v} is not a finite number"),
            Check::Range {
                min,
                max,
                min_exclusive,
                max_exclusive,
            } => {
                format!(
                    "{col} {v} is not {}",
                    Bounds {
                        min,
                        max,
                        min_exclusive,
                        max_exclusive
                    }
                    .describe()
                )
            }
            Check::UppercaseLetters { len } => {
                format!("{col} {v} is not {len} uppercase letters A-Z")
            }
            Check::PlausibleTime(kind) => {
                let (lo, hi) = self.ctx.window(kind);
                if self.this.timestamp(row).is_some_and(|t| t < lo) {
                    format!(
                        "{col} {v} is before the earliest plausible time {}",
                        format_micros(lo)
                    )
                } else {
                    let ahead = match kind {
                        TimeKind::Event => self.ctx.max_future,
                        TimeKind::Planned => self.ctx.max_plan_ahead,
                    };
                    format!(
                        "{col} {v} is after the latest plausible time {} (now {} + {})",
                        format_micros(hi),
                        format_micros(self.ctx.now_us),
                        format_delta(ahead)
                    )
                }
            }
            Check::Compare {
                other,
                op,
                tolerance,
            } => {
                let temporal = matches!(self.this.kind, CellKind::Timestamp(_));
                let words = match (op, temporal) {
                    (CmpOp::Lt, true) => "is not before",
                    (CmpOp::Le, true) => "is after",
                    (CmpOp::Gt, true) => "is not after",
                    (CmpOp::Ge, true) => "is before",
                    (CmpOp::Lt, false) => "is not less than",
                    (CmpOp::Le, false) => "is greater than",
                    (CmpOp::Gt, false) => "is not greater than",
                    (CmpOp::Ge, false) => "is less than",
                };
                let (abs, rel) = self.ctx.slack(tolerance);
                let slack = if abs == 0.0 && rel == 0.0 {
                    String::new()
                } else {
                    let sign = if matches!(op, CmpOp::Lt | CmpOp::Le) {
                        "+"
                    } else {
                        "-"
                    };
                    let amount = if rel != 0.0 {
                        format!("{}%", number(rel * 100.0))
                    } else {
                        number(abs)
                    };
                    let bound = self.other_as_f64(row).map(|x| {
                        let w = if sign == "+" { 1.0 } else { -1.0 };
                        format!(" ({})", number(x + w * (abs + x.abs() * rel)))
                    });
                    format!(" {sign} {amount} tolerance{}", bound.unwrap_or_default())
                };
                format!("{col} {v} {words} {other} {}{slack}", other_v())
            }
            Check::NotNullWhen(when) => {
                format!(
                    "{col} is null but {} is {}; {}",
                    when.column(),
                    other_v(),
                    self.rule.reason
                )
            }
            Check::NullWhen(when) => {
                format!(
                    "{col} is {v} but {} is {}; {}",
                    when.column(),
                    other_v(),
                    self.rule.reason
                )
            }
            Check::BothOrNeither { other } => {
                if self.this.is_null(row) {
                    format!(
                        "{col} is null but {other} is {}; set both or neither",
                        other_v()
                    )
                } else {
                    format!("{col} is {v} but {other} is null; set both or neither")
                }
            }
        }
    }

    fn other_as_f64(&self, row: usize) -> Option<f64> {
        let name = self.rule.check.other_column()?;
        let (b, _) = self.ctx.column(name).ok()?;
        let f = cast(b.slice(row, 1).as_ref(), &DataType::Float64).ok()?;
        let f = f.as_primitive_opt::<Float64Type>()?;
        f.is_valid(0).then(|| f.value(0))
    }
}

fn join_codes(values: &[u8]) -> String {
    values
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use arrow::array::{DictionaryArray, Int64Array, StringViewArray};
    use arrow::datatypes::Int8Type;

    use super::*;
    use crate::time::micros_from_rfc3339;

    fn at(s: &str) -> i64 {
        micros_from_rfc3339(s).expect("valid RFC 3339")
    }

    fn ts(values: &[Option<&str>]) -> ArrayRef {
        let v: Vec<Option<i64>> = values.iter().map(|s| s.map(at)).collect();
        Arc::new(TimestampMicrosecondArray::from(v).with_timezone(UTC))
    }

    fn text(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn opts() -> ValidateOptions {
        ValidateOptions::at(at("2026-06-01T00:00:00Z"))
    }

    /// A machine_states row: (state, reason, start_ts, end_ts).
    type StateRow<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );

    fn states(rows: &[StateRow<'_>]) -> RecordBatch {
        let n = rows.len();
        let same = |s: &str| text(&vec![Some(s); n]);
        let state: Vec<_> = rows.iter().map(|r| r.0).collect();
        let reason: Vec<_> = rows.iter().map(|r| r.1).collect();
        let start: Vec<_> = rows.iter().map(|r| r.2).collect();
        let end: Vec<_> = rows.iter().map(|r| r.3).collect();
        RecordBatch::try_from_iter([
            ("plant_id", same("P01")),
            ("line_id", same("P01-L01")),
            ("machine_id", same("P01-L01-M01")),
            ("state", text(&state)),
            ("reason", text(&reason)),
            ("start_ts", ts(&start)),
            ("end_ts", ts(&end)),
        ])
        .expect("batch")
    }

    /// `batch` with column `name` replaced by `array` (every field nullable).
    fn replace(batch: &RecordBatch, name: &str, array: ArrayRef) -> RecordBatch {
        let mut cols = batch.columns().to_vec();
        cols[batch.schema().index_of(name).expect("column")] = array;
        let fields: Vec<Field> = batch
            .schema()
            .fields()
            .iter()
            .zip(&cols)
            .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("batch")
    }

    fn found(v: &Validation) -> Vec<(usize, &'static str)> {
        v.violations.iter().map(|v| (v.row, v.rule)).collect()
    }

    #[test]
    fn compare_reason_shows_both_values() {
        let b = states(&[
            (
                Some("RUNNING"),
                None,
                Some("2026-01-05T10:00:00Z"),
                Some("2026-01-05T11:00:00Z"),
            ),
            (
                Some("RUNNING"),
                None,
                Some("2026-01-05T11:00:00Z"),
                Some("2026-01-05T10:00:00Z"),
            ),
            (
                Some("IDLE"),
                None,
                Some("2026-01-05T11:00:00Z"),
                Some("2026-01-05T11:00:00Z"),
            ),
        ]);
        let v = validate(Table::MachineStates, &b, &opts()).expect("validate");
        assert_eq!(
            found(&v),
            vec![
                (1, "machine_states.end_ts.after_start"),
                (2, "machine_states.end_ts.after_start")
            ]
        );
        assert_eq!(v.violations[0].column, "end_ts");
        assert_eq!(
            v.violations[0].reason,
            "end_ts 2026-01-05T10:00:00Z is not after start_ts 2026-01-05T11:00:00Z"
        );
        assert_eq!(v.invalid, BooleanArray::from(vec![false, true, true]));
        assert_eq!(v.invalid_count(), 2);
        assert!(!v.is_clean());
    }

    #[test]
    fn a_null_is_reported_once_by_its_presence_rule() {
        let b = states(&[
            (None, Some("x"), None, Some("2026-01-05T11:00:00Z")),
            (
                Some("DOWN"),
                None,
                Some("2026-01-05T10:00:00Z"),
                Some("2026-01-05T11:00:00Z"),
            ),
            (
                Some("IDLE"),
                Some("coffee"),
                Some("2026-01-05T10:00:00Z"),
                Some("2026-01-05T11:00:00Z"),
            ),
            (
                Some("HALTED"),
                None,
                Some("2026-01-05T10:00:00Z"),
                Some("2026-01-05T11:00:00Z"),
            ),
        ]);
        let v = validate(Table::MachineStates, &b, &opts()).expect("validate");
        assert_eq!(
            found(&v),
            vec![
                (0, "machine_states.state.not_null"),
                (0, "machine_states.start_ts.not_null"),
                (1, "machine_states.reason.required_when_stopped"),
                (2, "machine_states.reason.null_when_running"),
                (3, "machine_states.state.known"),
            ]
        );
        let reasons: Vec<&str> = v.violations.iter().map(|v| v.reason.as_str()).collect();
        assert_eq!(reasons[0], "state is null; it is required");
        assert_eq!(
            reasons[2],
            "reason is null but state is 'DOWN'; reason is required when state is SETUP, DOWN or PLANNED_STOP"
        );
        assert_eq!(
            reasons[3],
            "reason is 'coffee' but state is 'IDLE'; reason must be null when state is RUNNING or IDLE"
        );
        assert_eq!(
            reasons[4],
            "state 'HALTED' is not one of RUNNING, IDLE, SETUP, DOWN, PLANNED_STOP"
        );
    }

    #[test]
    fn plausible_time_uses_the_options_window() {
        let b = states(&[
            (
                Some("RUNNING"),
                None,
                Some("1999-12-31T23:00:00Z"),
                Some("2026-06-01T23:00:00Z"),
            ),
            (
                Some("RUNNING"),
                None,
                Some("2026-05-31T00:00:00Z"),
                Some("2026-06-02T00:00:01Z"),
            ),
        ]);
        let v = validate(Table::MachineStates, &b, &opts()).expect("validate");
        assert_eq!(
            found(&v),
            vec![
                (0, "machine_states.start_ts.plausible"),
                (1, "machine_states.end_ts.plausible")
            ]
        );
        assert_eq!(
            v.violations[0].reason,
            "start_ts 1999-12-31T23:00:00Z is before the earliest plausible time 2000-01-01T00:00:00Z"
        );
        assert_eq!(
            v.violations[1].reason,
            "end_ts 2026-06-02T00:00:01Z is after the latest plausible time 2026-06-02T00:00:00Z (now 2026-06-01T00:00:00Z + 1 day)"
        );
        let wider = ValidateOptions {
            max_future: TimeDelta::days(2),
            min_time_us: at("1990-01-01T00:00:00Z"),
            ..opts()
        };
        assert!(
            validate(Table::MachineStates, &b, &wider)
                .expect("validate")
                .is_clean()
        );
        let wall_clock = ValidateOptions {
            now_us: None,
            ..opts()
        };
        assert!(
            validate(Table::MachineStates, &b.slice(1, 1), &wall_clock)
                .expect("validate")
                .is_clean()
        );
    }

    fn deliveries(received: &[Option<i64>], rejected: &[Option<i64>]) -> RecordBatch {
        let n = received.len();
        let same = |s: &str| text(&vec![Some(s); n]);
        let times = |s: &str| ts(&vec![Some(s); n]);
        let received_at: Vec<Option<&str>> = received
            .iter()
            .map(|r| r.map(|_| "2026-03-09T08:00:00Z"))
            .collect();
        RecordBatch::try_from_iter([
            ("po_id", same("PO1")),
            ("supplier_id", same("SUP001")),
            ("part_id", same("P1")),
            (
                "qty_ordered",
                Arc::new(Int64Array::from(vec![100; n])) as ArrayRef,
            ),
            ("ordered_at", times("2026-03-01T08:00:00Z")),
            ("promised_at", times("2026-03-10T08:00:00Z")),
            ("received_at", ts(&received_at)),
            (
                "qty_received",
                Arc::new(Int64Array::from(received.to_vec())) as ArrayRef,
            ),
            (
                "qty_rejected",
                Arc::new(Int64Array::from(rejected.to_vec())) as ArrayRef,
            ),
            (
                "unit_price",
                Arc::new(Float64Array::from(vec![2.5; n])) as ArrayRef,
            ),
        ])
        .expect("batch")
    }

    #[test]
    fn delivery_tolerance_is_an_option() {
        let b = deliveries(
            &[Some(110), Some(111), Some(100), None],
            &[Some(0), Some(0), Some(101), None],
        );
        let v = validate(Table::Deliveries, &b, &opts()).expect("validate");
        assert_eq!(
            found(&v),
            vec![
                (1, "deliveries.qty_received.within_tolerance"),
                (2, "deliveries.qty_rejected.not_above_received")
            ]
        );
        assert_eq!(
            v.violations[0].reason,
            "qty_received 111 is greater than qty_ordered 100 + 10% tolerance (110)"
        );
        assert_eq!(
            v.violations[1].reason,
            "qty_rejected 101 is greater than qty_received 100"
        );
        let strict = ValidateOptions {
            delivery_tolerance: 0.0,
            ..opts()
        };
        let v = validate(Table::Deliveries, &b, &strict).expect("validate");
        assert_eq!(
            found(&v),
            vec![
                (0, "deliveries.qty_received.within_tolerance"),
                (1, "deliveries.qty_received.within_tolerance"),
                (2, "deliveries.qty_rejected.not_above_received"),
            ]
        );
        assert_eq!(
            v.violations[0].reason,
            "qty_received 110 is greater than qty_ordered 100"
        );
        for bad in [-0.1, f64::NAN, f64::INFINITY] {
            let o = ValidateOptions {
                delivery_tolerance: bad,
                ..opts()
            };
            assert!(matches!(
                validate(Table::Deliveries, &b, &o),
                Err(Error::InvalidOption {
                    option: "delivery_tolerance",
                    ..
                })
            ));
        }
        let o = ValidateOptions {
            max_future: TimeDelta::seconds(-1),
            ..opts()
        };
        assert!(matches!(
            validate(Table::Deliveries, &b, &o),
            Err(Error::InvalidOption {
                option: "max_future",
                ..
            })
        ));
    }

    #[test]
    fn both_or_neither_names_the_set_side() {
        let b = deliveries(&[Some(5), Some(5)], &[None, None]);
        let b = replace(&b, "received_at", ts(&[None, Some("2026-03-09T08:00:00Z")]));
        let b = replace(
            &b,
            "qty_received",
            Arc::new(Int64Array::from(vec![Some(5), None])),
        );
        let v = validate(Table::Deliveries, &b, &opts()).expect("validate");
        let reasons: Vec<&str> = v.violations.iter().map(|v| v.reason.as_str()).collect();
        assert_eq!(
            reasons,
            vec![
                "qty_received is 5 but received_at is null; set both or neither",
                "qty_received is null but received_at is 2026-03-09T08:00:00Z; set both or neither",
            ]
        );
    }

    #[test]
    fn non_finite_floats_are_finite_s_to_report() {
        let n = 4;
        let same = |s: &str| text(&vec![Some(s); n]);
        let b = RecordBatch::try_from_iter([
            ("product_family", same("washing_machine")),
            ("part_id", same("P1")),
            (
                "qty_per",
                Arc::new(Float64Array::from(vec![
                    f64::NAN,
                    f64::NEG_INFINITY,
                    -0.5,
                    1.0,
                ])) as ArrayRef,
            ),
        ])
        .expect("batch");
        let v = validate(Table::Bom, &b, &opts()).expect("missing nullable columns count as null");
        assert_eq!(
            found(&v),
            vec![
                (0, "bom.qty_per.finite"),
                (1, "bom.qty_per.finite"),
                (2, "bom.qty_per.positive")
            ]
        );
        assert_eq!(v.violations[0].reason, "qty_per NaN is not a finite number");
        assert_eq!(
            v.violations[1].reason,
            "qty_per -inf is not a finite number"
        );
        assert_eq!(v.violations[2].reason, "qty_per -0.5 is not > 0");
    }

    #[test]
    fn text_types_agree() {
        let values = [
            Some("RUNNING"),
            Some("running"),
            None,
            Some("DOWN"),
            Some(""),
        ];
        let base = states(
            &[(
                Some("RUNNING"),
                None,
                Some("2026-01-05T10:00:00Z"),
                Some("2026-01-05T11:00:00Z"),
            ); 5],
        );
        let with_state = |state: ArrayRef| replace(&base, "state", state);
        let dict: DictionaryArray<Int8Type> = values.iter().copied().collect();
        let batches = [
            with_state(text(&values)),
            with_state(Arc::new(LargeStringArray::from(values.to_vec()))),
            with_state(Arc::new(StringViewArray::from(values.to_vec()))),
            with_state(Arc::new(dict)),
        ];
        let reference = validate(Table::MachineStates, &batches[0], &opts()).expect("validate");
        assert_eq!(
            found(&reference),
            vec![
                (1, "machine_states.state.known"),
                (2, "machine_states.state.not_null"),
                (3, "machine_states.reason.required_when_stopped"),
                (4, "machine_states.state.known"),
            ]
        );
        for b in &batches[1..] {
            assert_eq!(
                validate(Table::MachineStates, b, &opts()).expect("validate"),
                reference,
                "{:?}",
                b.schema()
            );
        }
    }

    #[test]
    fn shape_errors_are_typed() {
        let b = states(&[(
            Some("RUNNING"),
            None,
            Some("2026-01-05T10:00:00Z"),
            Some("2026-01-05T11:00:00Z"),
        )]);
        let without_end = b.project(&[0, 1, 2, 3, 4, 5]).expect("project");
        match validate(Table::MachineStates, &without_end, &opts()) {
            Err(Error::MissingColumn {
                table: "machine_states",
                column: "end_ts",
                expected,
            }) => {
                assert_eq!(expected, timestamp_type().to_string());
            }
            other => panic!("expected MissingColumn, got {other:?}"),
        }
        let naive_batch = replace(
            &b,
            "end_ts",
            Arc::new(TimestampMicrosecondArray::from(vec![0])),
        );
        match validate(Table::MachineStates, &naive_batch, &opts()) {
            Err(Error::ColumnType {
                column: "end_ts",
                found,
                ..
            }) => assert!(found.contains("Timestamp"), "{found}"),
            other => panic!("expected ColumnType, got {other:?}"),
        }
        let v = validate(Table::MachineStates, &b, &opts()).expect("validate");
        assert!(matches!(
            v.valid_rows(&without_end.slice(0, 0)),
            Err(Error::BatchLength {
                expected: 1,
                found: 0
            })
        ));
    }

    #[test]
    fn timestamps_in_other_zones_are_the_same_instants() {
        let b = states(&[(
            Some("RUNNING"),
            None,
            Some("2026-01-05T10:00:00Z"),
            Some("2026-01-05T09:00:00Z"),
        )]);
        let zoned = DataType::Timestamp(TimeUnit::Microsecond, Some("+02:00".into()));
        let b = replace(&b, "end_ts", cast(b.column(6), &zoned).expect("cast"));
        let v = validate(Table::MachineStates, &b, &opts()).expect("validate");
        assert_eq!(v.violations.len(), 1);
        assert_eq!(
            v.violations[0].reason,
            "end_ts 2026-01-05T09:00:00Z is not after start_ts 2026-01-05T10:00:00Z"
        );
    }

    #[test]
    fn rows_split_and_violations_print() {
        let b = states(&[
            (
                Some("RUNNING"),
                None,
                Some("2026-01-05T10:00:00Z"),
                Some("2026-01-05T11:00:00Z"),
            ),
            (
                Some("SETUP"),
                None,
                Some("2026-01-05T11:00:00Z"),
                Some("2026-01-05T10:00:00Z"),
            ),
        ]);
        let v = validate(Table::MachineStates, &b, &opts()).expect("validate");
        assert_eq!(v.valid_rows(&b).expect("filter").num_rows(), 1);
        let bad = v.invalid_rows(&b).expect("filter");
        assert_eq!(bad.num_rows(), 1);
        assert_eq!(
            bad.column_by_name("state")
                .expect("state")
                .as_string::<i32>()
                .value(0),
            "SETUP"
        );
        let printed = v.violations_batch();
        assert_eq!(printed.schema(), violations_schema());
        assert_eq!(printed.num_rows(), 2);
        assert_eq!(
            printed
                .column(0)
                .as_primitive::<arrow::datatypes::UInt64Type>()
                .values()
                .to_vec(),
            vec![1, 1]
        );
        assert_eq!(
            printed.column(2).as_string::<i32>().value(0),
            "machine_states.reason.required_when_stopped"
        );
        let empty = validate(Table::MachineStates, &b.slice(0, 0), &opts()).expect("validate");
        assert!(empty.is_clean() && empty.invalid.is_empty());
    }

    #[test]
    fn long_text_is_cut_in_reasons() {
        let long = "X".repeat(100);
        let b = states(&[(
            Some(&long),
            None,
            Some("2026-01-05T10:00:00Z"),
            Some("2026-01-05T11:00:00Z"),
        )]);
        let v = validate(Table::MachineStates, &b, &opts()).expect("validate");
        assert!(
            v.violations[0]
                .reason
                .starts_with(&format!("state '{}…'", "X".repeat(TEXT_SHOWN_CHARS)))
        );
    }
}
