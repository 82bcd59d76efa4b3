//! From text to typed columns: a batch read as all-text (CSV, NDJSON) becomes a batch of a
//! table's types, every cell that does not parse reported as a [`Violation`].
//!
//! Readers take [`text_schema`] (every column `Utf8`, nullable) so that no reader ever fails
//! on a bad cell; [`coerce_text_batch`] then parses each column with Arrow's vectorized
//! `cast` (`safe`: a failure becomes null) and finds the failures as
//! *input present and not empty, output null*.
//!
//! Parsing:
//! - the empty string is null, in every column (text too);
//! - integers and floats as Arrow's cast reads them (`12`, `-3`, `1.5e3`, `NaN`, `inf`;
//!   surrounding ASCII spaces are skipped; no thousands separators, no decimal comma, no
//!   `5.0` for an integer); out of the type's range is a failure;
//! - timestamps as RFC 3339 with a `Z` or `±HH:MM` offset (`2026-01-05T10:00:00Z`,
//!   `2026-01-05 11:00:00.5+01:00`), converted to UTC microseconds. Text without an offset
//!   (`2026-01-05T10:00:00`, `2026-01-05`) is a parse failure: a plant's local time is
//!   ambiguous, and guessing UTC would shift data silently. Other forms belong to ingest.
//!
//! Policy: a cell that does not parse becomes null and is reported once, with rule
//! [`PARSE_RULE`]; its row is invalid. [`validate_text_batch`] then runs the table's rules
//! on the coerced batch and drops any rule violation of that row that reads a column whose
//! cell failed to parse (its value is unknown, so e.g. `not_null` or a comparison with it
//! would only repeat the parse failure). So the combined report lists each problem once.
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{ArrayRef, RecordBatch, StringArray};
//! use fabrik_model::{PARSE_RULE, Table, ValidateOptions, coerce_text_batch, validate_text_batch};
//! # fn main() -> fabrik_model::Result<()> {
//! let text = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
//! let batch = RecordBatch::try_from_iter([
//!     ("plant_id", text(vec!["P01", "P01"])),
//!     ("part_id", text(vec!["DRUM-09", "MOT-INV"])),
//!     ("ts", text(vec!["2026-03-01T06:00:00+01:00", "2026-03-01T06:00:00"])),
//!     ("on_hand", text(vec!["120", "12x"])),
//!     ("on_order", text(vec!["0", "40"])),
//! ])?;
//! let (typed, problems) = coerce_text_batch(Table::Inventory, &batch)?;
//! assert_eq!(typed.schema().field_with_name("on_hand")?.data_type(), &arrow::datatypes::DataType::Int64);
//! assert_eq!(problems.len(), 2);
//! assert_eq!(problems[0].rule, PARSE_RULE);
//! assert_eq!(problems[0].reason, "ts: '2026-03-01T06:00:00' has no UTC offset (expected RFC 3339 with Z or ±HH:MM)");
//! assert_eq!(problems[1].reason, "on_hand: '12x' is not an integer in the range of Int64");
//!
//! let opts = ValidateOptions::at(fabrik_model::time::micros_from_rfc3339("2026-06-01T00:00:00Z").expect("time"));
//! let (_, validation) = validate_text_batch(Table::Inventory, &batch, &opts)?;
//! // The two parse failures, not again as ts.not_null / on_hand.not_null.
//! assert_eq!(validation.violations.len(), 2);
//! assert_eq!(validation.invalid_count(), 1);
//! # Ok(())
//! # }
//! ```

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions, StringArray,
    TimestampMicrosecondArray, new_null_array,
};
use arrow::buffer::BooleanBuffer;
use arrow::compute::kernels::{boolean, cmp};
use arrow::compute::{CastOptions, cast, cast_with_options, nullif, prep_null_mask_filter};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::display::FormatOptions;

use crate::error::{Error, Result};
use crate::schema::{FieldSpec, FieldType, Table};
use crate::validate::{
    ValidateOptions, Validation, Violation, conform, is_text_type, quote, validate,
};

/// The rule id of a cell whose text did not parse into its column's type.
pub const PARSE_RULE: &str = "parse";

/// The schema to read a table's text files with: the table's columns in order, every one
/// `Utf8` and nullable (no metadata).
pub fn text_schema(table: Table) -> SchemaRef {
    Arc::new(Schema::new(
        table
            .fields()
            .iter()
            .map(|f| Field::new(f.name, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

/// The table's schema with every column nullable: the schema of [`coerce_text_batch`]'s
/// output, which holds nulls where text was empty or did not parse.
pub fn relaxed_schema(table: Table) -> SchemaRef {
    let schema = table.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Arc::new(Schema::new(fields).with_metadata(schema.metadata().clone()))
}

/// Parses a text batch into the table's types.
///
/// Columns are found by name (extra ones are dropped); each may be `Utf8`, `LargeUtf8`,
/// `Utf8View` or a dictionary of those, or already have the table's type (then it is taken
/// as is). A missing nullable column becomes all null; a missing non-nullable one is
/// [`Error::MissingColumn`]. The result has [`relaxed_schema`]; the violations (rule
/// [`PARSE_RULE`]) are sorted by row, then column order.
pub fn coerce_text_batch(
    table: Table,
    batch: &RecordBatch,
) -> Result<(RecordBatch, Vec<Violation>)> {
    let rows = batch.num_rows();
    let mut columns = Vec::with_capacity(table.fields().len());
    let mut violations = Vec::new();
    for spec in table.fields() {
        let column = match batch.column_by_name(spec.name) {
            None if spec.nullable => new_null_array(&spec.ty.data_type(), rows),
            None => {
                return Err(Error::MissingColumn {
                    table: table.name(),
                    column: spec.name,
                    expected: format!("Utf8 text or {}", spec.ty.data_type()),
                });
            }
            Some(input) if is_text_type(input.data_type()) => {
                let (parsed, failures) = parse_column(spec, input)?;
                violations.extend(failures);
                parsed
            }
            Some(input) => {
                let typed = conform(table, spec, input).map_err(|_| Error::ColumnType {
                    table: table.name(),
                    column: spec.name,
                    expected: format!("Utf8 text or {}", spec.ty.data_type()),
                    found: input.data_type().to_string(),
                })?;
                // conform keeps other text types; the output column is plain Utf8.
                if spec.ty == FieldType::Text {
                    cast(&typed, &DataType::Utf8)?
                } else {
                    typed
                }
            }
        };
        columns.push(column);
    }
    violations.sort_by_key(|v| v.row);
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let coerced = RecordBatch::try_new_with_options(relaxed_schema(table), columns, &options)?;
    Ok((coerced, violations))
}

/// Parses a text batch ([`coerce_text_batch`]) and validates the result ([`validate`]),
/// reporting each problem once (see the module docs for the policy).
///
/// Returns the coerced batch (for [`Validation::valid_rows`]) and the combined validation:
/// parse failures and rule violations, sorted by row; within a row parse failures come
/// first, then rules in order.
pub fn validate_text_batch(
    table: Table,
    batch: &RecordBatch,
    opts: &ValidateOptions,
) -> Result<(RecordBatch, Validation)> {
    let (coerced, parse) = coerce_text_batch(table, batch)?;
    let checked = validate(table, &coerced, opts)?;
    if parse.is_empty() {
        return Ok((coerced, checked));
    }
    let unparsed: HashSet<(usize, &'static str)> =
        parse.iter().map(|v| (v.row, v.column)).collect();
    let mut parse_rows = vec![false; coerced.num_rows()];
    for v in &parse {
        parse_rows[v.row] = true;
    }
    let invalid = checked.invalid.values() | &BooleanBuffer::from(parse_rows);
    let mut violations = parse;
    violations.extend(checked.violations.into_iter().filter(|v| {
        let rule = table.rules().iter().find(|r| r.id == v.rule);
        let mut reads = rule
            .map(|r| r.columns())
            .into_iter()
            .flatten()
            .chain([v.column]);
        !reads.any(|c| unparsed.contains(&(v.row, c)))
    }));
    violations.sort_by_key(|v| v.row);
    Ok((
        coerced,
        Validation {
            violations,
            invalid: BooleanArray::new(invalid, None),
        },
    ))
}

/// Parses one text column into `spec`'s type: the parsed column and its parse failures.
fn parse_column(spec: &FieldSpec, input: &ArrayRef) -> Result<(ArrayRef, Vec<Violation>)> {
    let text = if *input.data_type() == DataType::Utf8 {
        Arc::clone(input)
    } else {
        cast(input, &DataType::Utf8)?
    };
    let empty = cmp::eq(&text, &StringArray::new_scalar(""))?;
    let text = nullif(&text, &definite(&empty))?;
    if spec.ty == FieldType::Text {
        return Ok((text, Vec::new()));
    }
    let target = spec.ty.data_type();
    let options = CastOptions {
        safe: true,
        format_options: FormatOptions::default(),
    };
    let mut parsed = if spec.ty == FieldType::Timestamp {
        parse_rfc3339_column(text.as_string::<i32>())
            .map_or_else(|| cast_with_options(&text, &target, &options), Ok)?
    } else {
        cast_with_options(&text, &target, &options)?
    };
    let present = arrow::compute::is_not_null(&text)?;
    let mut failed = boolean::and(&present, &arrow::compute::is_null(&parsed)?)?;
    let mut no_offset = BooleanArray::new(BooleanBuffer::new_unset(text.len()), None);
    if spec.ty == FieldType::Timestamp {
        let strings = text.as_string::<i32>();
        no_offset = definite(&BooleanArray::from_unary(strings, |s| !has_utc_offset(s)));
        no_offset = boolean::and(&no_offset, &boolean::not(&failed)?)?;
        if no_offset.true_count() > 0 {
            parsed = nullif(&parsed, &no_offset)?;
            failed = boolean::or(&failed, &no_offset)?;
        }
    }
    let strings = text.as_string::<i32>();
    let violations = failed
        .values()
        .set_indices()
        .map(|row| {
            let raw = quote(strings.value(row));
            let what = match spec.ty {
                FieldType::Timestamp if no_offset.value(row) => {
                    "has no UTC offset (expected RFC 3339 with Z or ±HH:MM)".to_string()
                }
                FieldType::Timestamp => {
                    "is not an RFC 3339 timestamp (e.g. 2026-01-05T10:00:00Z)".to_string()
                }
                FieldType::Float64 => format!("is not a number ({target})"),
                _ => format!("is not an integer in the range of {target}"),
            };
            Violation {
                row,
                column: spec.name,
                rule: PARSE_RULE,
                reason: format!("{}: {raw} {what}", spec.name),
            }
        })
        .collect();
    Ok((parsed, violations))
}

/// The column as UTC timestamps when every value is RFC 3339 with an offset, parsed by
/// [`crate::time::parse_rfc3339_micros`] in one pass; `None` when some text needs Arrow's
/// general parser (callers then parse the whole column with it, so the result never
/// depends on which parser ran).
///
/// ```
/// use arrow::array::StringArray;
/// let col = StringArray::from(vec![Some("2026-01-05T10:00:00Z"), None]);
/// assert!(fabrik_model::parse_rfc3339_column(&col).is_some());
/// let naive = StringArray::from(vec!["2026-01-05T10:00:00"]);
/// assert!(fabrik_model::parse_rfc3339_column(&naive).is_none());
/// ```
pub fn parse_rfc3339_column(text: &StringArray) -> Option<ArrayRef> {
    let mut values = Vec::with_capacity(text.len());
    for v in text.iter() {
        values.push(match v {
            None => None,
            Some(s) => Some(crate::time::parse_rfc3339_micros(s)?),
        });
    }
    Some(Arc::new(
        TimestampMicrosecondArray::from(values).with_timezone(crate::schema::UTC),
    ))
}

/// Whether RFC 3339-like text carries an offset: after the date (`YYYY-MM-DD`), a `Z` at
/// the end or a `+`/`-` sign (the time part has no other signs).
fn has_utc_offset(s: &str) -> bool {
    let time = s.get(10..).unwrap_or("");
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

/// Nulls count as `false`.
fn definite(mask: &BooleanArray) -> BooleanArray {
    if mask.null_count() == 0 {
        mask.clone()
    } else {
        prep_null_mask_filter(mask)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{
        DictionaryArray, Float64Array, Int64Array, StringViewArray, TimestampMicrosecondArray,
        UInt8Array,
    };
    use arrow::datatypes::{Float64Type, Int32Type, TimestampMicrosecondType};

    use super::*;
    use crate::time::micros_from_rfc3339;

    fn text(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn sensor_batch(
        ts: &[Option<&str>],
        value: &[Option<&str>],
        quality: &[Option<&str>],
    ) -> RecordBatch {
        let n = ts.len();
        let same = |s: &str| text(&vec![Some(s); n]);
        RecordBatch::try_from_iter([
            ("plant_id", same("P01")),
            ("line_id", same("P01-L01")),
            ("machine_id", same("P01-L01-M01")),
            ("sensor_id", same("S000001")),
            ("metric", same("temperature")),
            ("ts", text(ts)),
            ("value", text(value)),
            ("quality", text(quality)),
            ("ignored_extra", same("x")),
        ])
        .expect("batch")
    }

    #[test]
    fn numbers_parse_and_failures_name_the_raw_text() {
        let b = sensor_batch(
            &[Some("2026-03-01T10:00:00Z"); 8],
            &[
                Some("21.5"),
                Some("abc"),
                Some(""),
                None,
                Some("1e3"),
                Some("NaN"),
                Some(" 5"),
                Some("1"),
            ],
            &[
                Some("0"),
                Some("0"),
                Some("1"),
                Some("300"),
                Some("-1"),
                Some("2"),
                Some("0.0"),
                Some(" 1"),
            ],
        );
        let (typed, v) = coerce_text_batch(Table::SensorReadings, &b).expect("coerce");
        assert_eq!(typed.schema(), relaxed_schema(Table::SensorReadings));
        assert_eq!(
            typed.num_columns(),
            Table::SensorReadings.fields().len(),
            "extra column dropped"
        );
        let value = typed
            .column_by_name("value")
            .expect("value")
            .as_primitive::<Float64Type>()
            .clone();
        assert_eq!(value.value(0), 21.5);
        assert!(
            value.is_null(1) && value.is_null(2) && value.is_null(3),
            "bad, empty and null are null"
        );
        assert_eq!(value.value(4), 1000.0);
        assert!(
            value.value(5).is_nan(),
            "NaN parses; the Finite rule reports it"
        );
        assert_eq!(value.value(6), 5.0, "surrounding spaces are skipped");
        let quality = typed
            .column_by_name("quality")
            .expect("quality")
            .as_primitive::<arrow::datatypes::UInt8Type>()
            .clone();
        assert_eq!(quality.value(7), 1, "surrounding spaces are skipped");
        let got: Vec<(usize, &str, &str)> = v
            .iter()
            .map(|v| (v.row, v.column, v.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "value", "value: 'abc' is not a number (Float64)"),
                (
                    3,
                    "quality",
                    "quality: '300' is not an integer in the range of UInt8"
                ),
                (
                    4,
                    "quality",
                    "quality: '-1' is not an integer in the range of UInt8"
                ),
                (
                    6,
                    "quality",
                    "quality: '0.0' is not an integer in the range of UInt8"
                ),
            ]
        );
        assert!(v.iter().all(|v| v.rule == PARSE_RULE));
    }

    #[test]
    fn timestamps_need_an_offset_and_land_in_utc() {
        let b = sensor_batch(
            &[
                Some("2026-03-01T10:00:00Z"),
                Some("2026-03-01T11:30:00+01:30"),
                Some("2026-03-01 10:00:00.250-02:00"),
                Some("2026-03-01T10:00:00"),
                Some("2026-03-01"),
                Some("01/03/2026 10:00"),
                Some("2026-02-30T10:00:00Z"),
            ],
            &[Some("1"); 7],
            &[Some("0"); 7],
        );
        let (typed, v) = coerce_text_batch(Table::SensorReadings, &b).expect("coerce");
        let ts = typed
            .column_by_name("ts")
            .expect("ts")
            .as_primitive::<TimestampMicrosecondType>()
            .clone();
        let at = |s| micros_from_rfc3339(s).expect("valid");
        assert_eq!(ts.value(0), at("2026-03-01T10:00:00Z"));
        assert_eq!(ts.value(1), at("2026-03-01T10:00:00Z"));
        assert_eq!(ts.value(2), at("2026-03-01T12:00:00.250Z"));
        assert_eq!(ts.null_count(), 4);
        let got: Vec<(usize, &str)> = v.iter().map(|v| (v.row, v.reason.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (
                    3,
                    "ts: '2026-03-01T10:00:00' has no UTC offset (expected RFC 3339 with Z or ±HH:MM)"
                ),
                (
                    4,
                    "ts: '2026-03-01' has no UTC offset (expected RFC 3339 with Z or ±HH:MM)"
                ),
                (
                    5,
                    "ts: '01/03/2026 10:00' is not an RFC 3339 timestamp (e.g. 2026-01-05T10:00:00Z)"
                ),
                (
                    6,
                    "ts: '2026-02-30T10:00:00Z' is not an RFC 3339 timestamp (e.g. 2026-01-05T10:00:00Z)"
                ),
            ]
        );
    }

    #[test]
    fn other_text_types_and_typed_columns_are_accepted() {
        let n = 2;
        let dict: DictionaryArray<Int32Type> = vec!["P01", ""].into_iter().collect();
        let b = RecordBatch::try_from_iter([
            ("plant_id", Arc::new(dict) as ArrayRef),
            (
                "line_id",
                Arc::new(StringViewArray::from(vec!["L1", "L1"])) as ArrayRef,
            ),
            (
                "machine_id",
                Arc::new(arrow::array::LargeStringArray::from(vec!["M1", "M1"])) as ArrayRef,
            ),
            ("sensor_id", text(&[Some("S1"); 2])),
            ("metric", text(&[Some("current"); 2])),
            (
                "ts",
                Arc::new(TimestampMicrosecondArray::from(vec![0, 1]).with_timezone("+01:00"))
                    as ArrayRef,
            ),
            (
                "value",
                Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
            ),
            (
                "quality",
                Arc::new(UInt8Array::from(vec![0, 1])) as ArrayRef,
            ),
        ])
        .expect("batch");
        let (typed, v) = coerce_text_batch(Table::SensorReadings, &b).expect("coerce");
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(typed.num_rows(), n);
        let plant = typed.column_by_name("plant_id").expect("plant");
        assert_eq!(plant.data_type(), &DataType::Utf8);
        assert!(plant.is_null(1), "empty dictionary text is null");
        assert_eq!(
            typed.column_by_name("line_id").expect("line").data_type(),
            &DataType::Utf8
        );
        assert_eq!(
            typed.column_by_name("ts").expect("ts").data_type(),
            &crate::schema::timestamp_type(),
            "zone normalised to UTC"
        );
    }

    #[test]
    fn missing_and_mistyped_columns_are_typed_errors() {
        let b = RecordBatch::try_from_iter([("plant_id", text(&[Some("P01")]))]).expect("batch");
        match coerce_text_batch(Table::Inventory, &b) {
            Err(Error::MissingColumn {
                table: "inventory",
                column: "part_id",
                ..
            }) => {}
            other => panic!("expected MissingColumn, got {other:?}"),
        }
        let b = RecordBatch::try_from_iter([
            ("plant_id", text(&[Some("P01")])),
            ("part_id", text(&[Some("X")])),
            ("ts", text(&[Some("2026-03-01T10:00:00Z")])),
            (
                "on_hand",
                Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
            ),
            ("on_order", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ])
        .expect("batch");
        match coerce_text_batch(Table::Inventory, &b) {
            Err(Error::ColumnType {
                table: "inventory",
                column: "on_hand",
                found,
                ..
            }) => assert_eq!(found, "Float64"),
            other => panic!("expected ColumnType, got {other:?}"),
        }
    }

    #[test]
    fn text_schema_is_all_nullable_utf8_in_table_order() {
        for t in Table::ALL {
            let s = text_schema(t);
            let names: Vec<_> = s.fields().iter().map(|f| f.name().as_str()).collect();
            let expected: Vec<_> = t.fields().iter().map(|f| f.name).collect();
            assert_eq!(names, expected);
            assert!(
                s.fields()
                    .iter()
                    .all(|f| f.is_nullable() && f.data_type() == &DataType::Utf8)
            );
            assert!(relaxed_schema(t).fields().iter().all(|f| f.is_nullable()));
        }
    }

    #[test]
    fn combined_report_lists_each_problem_once() {
        // Deliveries: received_at does not parse, so neither its not-before-ordered rule nor
        // the both-or-neither rule with qty_received may report it again.
        let b = RecordBatch::try_from_iter([
            ("po_id", text(&[Some("PO1"), Some("PO2")])),
            ("supplier_id", text(&[Some("SUP001"), Some("SUP001")])),
            ("part_id", text(&[Some("P1"), Some("P1")])),
            ("qty_ordered", text(&[Some("100"), Some("abc")])),
            (
                "ordered_at",
                text(&[Some("2026-03-01T08:00:00Z"), Some("2026-03-01T08:00:00Z")]),
            ),
            (
                "promised_at",
                text(&[Some("2026-03-10T08:00:00Z"), Some("2026-03-10T08:00:00Z")]),
            ),
            (
                "received_at",
                text(&[Some("soon"), Some("2026-03-09T08:00:00Z")]),
            ),
            ("qty_received", text(&[Some("100"), Some("100")])),
            ("qty_rejected", text(&[Some("0"), Some("0")])),
            ("unit_price", text(&[Some("2.5"), Some("-1")])),
            ("lot_id", text(&[None, None])),
        ])
        .expect("batch");
        let opts = ValidateOptions::at(micros_from_rfc3339("2026-06-01T00:00:00Z").expect("time"));
        let (_, v) = validate_text_batch(Table::Deliveries, &b, &opts).expect("validate");
        let got: Vec<(usize, &str, &str)> = v
            .violations
            .iter()
            .map(|v| (v.row, v.column, v.rule))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, "received_at", PARSE_RULE),
                (1, "qty_ordered", PARSE_RULE),
                (1, "unit_price", "deliveries.unit_price.positive"),
            ]
        );
        assert_eq!(v.invalid_count(), 2);
    }
}
