//! Batches of the wrong shape are typed errors, not violations and not panics.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use fabrik_model::{Error, Table, coerce_text_batch, validate};

use crate::support::fixture_options;

fn text(v: &str) -> ArrayRef {
    Arc::new(StringArray::from(vec![v]))
}

fn inventory(on_hand: ArrayRef, with_on_order: bool) -> RecordBatch {
    let mut cols = vec![
        ("plant_id", text("P01")),
        ("part_id", text("DRM-09")),
        (
            "ts",
            Arc::new(
                TimestampMicrosecondArray::from(vec![1_772_409_600_000_000]).with_timezone("UTC"),
            ) as ArrayRef,
        ),
        ("on_hand", on_hand),
    ];
    if with_on_order {
        cols.push(("on_order", Arc::new(Int64Array::from(vec![0])) as ArrayRef));
    }
    RecordBatch::try_from_iter(cols).expect("batch")
}

#[test]
fn a_missing_required_column_is_missing_column() {
    let batch = inventory(Arc::new(Int64Array::from(vec![3])), false);
    match validate(Table::Inventory, &batch, &fixture_options()) {
        Err(Error::MissingColumn {
            table,
            column,
            expected,
        }) => {
            assert_eq!((table, column), ("inventory", "on_order"));
            assert_eq!(expected, "Int64");
        }
        other => panic!("expected MissingColumn, got {other:?}"),
    }
    let err = validate(Table::Inventory, &batch, &fixture_options()).expect_err("missing");
    let text = err.to_string();
    assert!(
        text.contains("inventory") && text.contains("on_order"),
        "{text}"
    );
}

#[test]
fn a_wrong_type_is_column_type() {
    for (array, found) in [
        (Arc::new(Int32Array::from(vec![3])) as ArrayRef, "Int32"),
        (
            Arc::new(Float64Array::from(vec![3.0])) as ArrayRef,
            "Float64",
        ),
        (text("3"), "Utf8"),
    ] {
        let batch = inventory(array, true);
        match validate(Table::Inventory, &batch, &fixture_options()) {
            Err(Error::ColumnType {
                table: "inventory",
                column: "on_hand",
                expected,
                found: f,
            }) => {
                assert_eq!(expected, "Int64");
                assert_eq!(f, found);
            }
            other => panic!("expected ColumnType for {found}, got {other:?}"),
        }
    }
    // A number where text belongs is a type error too.
    let batch = RecordBatch::try_from_iter([
        ("plant_id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("part_id", text("DRM-09")),
        ("ts", text("2026-03-02T00:00:00Z")),
        ("on_hand", text("1")),
        ("on_order", text("1")),
    ])
    .expect("batch");
    assert!(matches!(
        validate(Table::Inventory, &batch, &fixture_options()),
        Err(Error::ColumnType {
            column: "plant_id",
            ..
        })
    ));
    // coerce accepts text there, but not an Int64 in a text column.
    assert!(matches!(
        coerce_text_batch(Table::Inventory, &batch),
        Err(Error::ColumnType {
            column: "plant_id",
            ..
        })
    ));
}

#[test]
fn extra_columns_are_ignored_and_missing_nullable_ones_are_null() {
    let batch = RecordBatch::try_from_iter([
        ("product_family", text("dryer")),
        ("part_id", text("HOSE-DRN-1")),
        (
            "qty_per",
            Arc::new(Float64Array::from(vec![0.5])) as ArrayRef,
        ),
        ("comment", text("not a bom column")),
    ])
    .expect("batch");
    let v = validate(Table::Bom, &batch, &fixture_options()).expect("validate");
    assert!(v.is_clean(), "{:?}", v.violations);
}
