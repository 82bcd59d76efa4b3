//! Loading fixtures the way a reader would: arrow's CSV / NDJSON readers with the table's
//! all-text schema, then `coerce_text_batch` and `validate` (through `validate_text_batch`).

use std::fs;
use std::io::Cursor;
use std::path::Path;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use fabrik_model::time::micros_from_rfc3339;
use fabrik_model::{Table, ValidateOptions, Validation, text_schema, validate_text_batch};

/// "Now" for every fixture test, so that plausible-time rules give the same answer forever.
pub const FIXTURE_NOW: &str = "2026-10-01T00:00:00Z";

/// The options fixture tests validate with.
pub fn fixture_options() -> ValidateOptions {
    ValidateOptions::at(micros_from_rfc3339(FIXTURE_NOW).expect("valid RFC 3339"))
}

/// A fixture file read as text, in one batch.
pub struct Loaded {
    /// The table the file holds (from its name).
    pub table: Table,
    /// All rows, every column Utf8.
    pub text: RecordBatch,
    /// The 1-based line of the file each row came from.
    pub lines: Vec<usize>,
}

/// The table a fixture belongs to: the file name up to its first dot.
pub fn table_of(path: &Path) -> Table {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 file name");
    let stem = name.split('.').next().expect("a name");
    Table::from_name(stem).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads a `.csv` (header required, in schema order; CRLF and a UTF-8 BOM allowed) or a
/// `.ndjson` fixture.
pub fn load(path: &Path) -> Loaded {
    let table = table_of(path);
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&bytes)
        .to_vec();
    let content = String::from_utf8(bytes.clone()).expect("fixtures are UTF-8");
    let physical: Vec<&str> = content.lines().collect();
    let schema = text_schema(table);
    let batches: Vec<RecordBatch> = match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => {
            let header: Vec<&str> = physical[0].split(',').collect();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(
                header,
                names,
                "{}: header must list the schema's columns in order",
                path.display()
            );
            arrow::csv::ReaderBuilder::new(schema.clone())
                .with_header(true)
                .build(Cursor::new(bytes))
                .expect("csv reader")
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        }
        Some("ndjson") => arrow::json::ReaderBuilder::new(schema.clone())
            .with_coerce_primitive(true)
            .build(Cursor::new(bytes))
            .expect("json reader")
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        other => panic!("{}: unknown fixture kind {other:?}", path.display()),
    };
    let text = concat_batches(&schema, &batches).expect("concat");
    // Fixtures keep one record per line (no newlines inside quotes, no blank lines), so row i
    // is line i + 2 of a CSV (after the header) and line i + 1 of NDJSON.
    let first = if path.extension().is_some_and(|e| e == "csv") {
        2
    } else {
        1
    };
    let lines: Vec<usize> = (0..text.num_rows()).map(|i| i + first).collect();
    assert_eq!(
        lines.last().copied().unwrap_or(first - 1),
        physical.len(),
        "{}: rows and lines must match one to one",
        path.display()
    );
    Loaded { table, text, lines }
}

/// Loads, coerces and validates a fixture.
pub fn check(path: &Path) -> (Loaded, RecordBatch, Validation) {
    let loaded = load(path);
    let (typed, validation) = validate_text_batch(loaded.table, &loaded.text, &fixture_options())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (loaded, typed, validation)
}

/// The files of a fixture directory with one of the extensions, sorted.
pub fn fixture_files(dir: &str, extensions: &[&str]) -> Vec<std::path::PathBuf> {
    let dir = fabrik_model::testdata_path(dir).expect("testdata");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("read testdata dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.ends_with(".expected.csv")
                && extensions
                    .iter()
                    .any(|ext| name.ends_with(&format!(".{ext}")))
        })
        .collect();
    files.sort();
    files
}
