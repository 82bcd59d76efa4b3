//! The same failing data as Utf8, LargeUtf8, Utf8View and Dictionary gives the same
//! violations, for every malformed fixture.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};
use fabrik_model::validate;

use crate::support::{check, fixture_files, fixture_options};

fn recast_text(batch: &RecordBatch, to: &DataType) -> RecordBatch {
    let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| {
            if f.data_type() == &DataType::Utf8 {
                let c = cast(c, to).expect("cast text");
                (Field::new(f.name(), to.clone(), true), c)
            } else {
                (f.as_ref().clone(), Arc::clone(c))
            }
        })
        .unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch")
}

#[test]
fn text_encodings_give_the_same_violations() {
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let encodings = [DataType::LargeUtf8, DataType::Utf8View, dictionary];
    let files = fixture_files("malformed", &["csv", "ndjson"]);
    let mut compared = 0;
    for file in &files {
        let (loaded, typed, _) = check(file);
        let reference = validate(loaded.table, &typed, &fixture_options()).expect("validate");
        assert!(
            !reference.is_clean(),
            "{}: malformed fixture validates clean",
            file.display()
        );
        for to in &encodings {
            let other = recast_text(&typed, to);
            let got = validate(loaded.table, &other, &fixture_options()).expect("validate");
            assert_eq!(got, reference, "{} as {to}", file.display());
            compared += 1;
        }
    }
    assert_eq!(compared, files.len() * encodings.len());
}
