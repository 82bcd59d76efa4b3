//! `source` on the shared fixtures: clean files read with zero rejects, malformed files give
//! exactly their expected (line, column, rule) set.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fabrik_lake::source::{SourceBatch, SourceOptions, SourceReader, TimeOptions};
use fabrik_model::{Table, ValidateOptions};

fn opts(time: TimeOptions) -> SourceOptions {
    let now = fabrik_model::time::micros_from_rfc3339("2026-10-01T00:00:00Z").expect("now");
    SourceOptions {
        time,
        validate: ValidateOptions::at(now),
        batch_rows: 4,
        ..SourceOptions::default()
    }
}

/// The table of a fixture: the file name up to its first dot.
fn table_of(path: &Path) -> Table {
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    let stem = name.split('.').next().expect("stem");
    Table::from_name(stem).expect("a table's fixture")
}

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = fabrik_model::testdata_path(dir).expect("testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let n = p.to_string_lossy();
            !n.ends_with(".expected.csv") && (n.ends_with(".csv") || n.ends_with(".ndjson"))
        })
        .collect();
    files.sort();
    files
}

fn read(path: &Path, o: &SourceOptions) -> Vec<SourceBatch> {
    let chunks: Vec<SourceBatch> = SourceReader::open(table_of(path), path, o)
        .expect("open")
        .collect::<fabrik_lake::Result<_>>()
        .expect("read");
    for c in &chunks {
        let rejected: BTreeSet<u64> = c.rejects.iter().map(|r| r.row).collect();
        assert_eq!(
            c.rows_read,
            c.batch.num_rows() as u64 + rejected.len() as u64,
            "{}",
            path.display()
        );
        assert!(c.rows.values().iter().all(|r| !rejected.contains(r)));
        assert_eq!(c.batch.schema(), table_of(path).schema());
    }
    chunks
}

/// Data rows of a fixture (one record per line): non-empty lines, minus the CSV header.
fn data_rows(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).expect("text");
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    if path.extension().is_some_and(|e| e == "csv") {
        lines - 1
    } else {
        lines
    }
}

type Expected = BTreeSet<(u64, String, String)>;

fn expected(path: &Path) -> Expected {
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    let exp = match name.strip_suffix(".csv") {
        Some(stem) => path.with_file_name(format!("{stem}.expected.csv")),
        None => path.with_file_name(format!("{name}.expected.csv")),
    };
    let mut reader = csv::Reader::from_path(&exp).expect("expected file");
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            (
                r[0].parse().expect("line"),
                r[1].to_string(),
                r[2].to_string(),
            )
        })
        .collect()
}

fn found(chunks: &[SourceBatch]) -> Expected {
    let mut out = BTreeSet::new();
    for r in chunks.iter().flat_map(|c| &c.rejects) {
        let line = r.line.expect("text formats have lines");
        let fresh = out.insert((line, r.column.clone().unwrap_or_default(), r.rule.clone()));
        assert!(fresh, "reported twice: {r:?}");
        assert!(r.raw.as_deref().is_some_and(|raw| !raw.is_empty()), "{r:?}");
    }
    out
}

#[test]
fn clean_fixtures_read_with_zero_rejects() {
    let files = files("clean");
    assert!(files.len() >= 16);
    for path in files {
        let chunks = read(&path, &opts(TimeOptions::default()));
        let rejects: Vec<_> = chunks.iter().flat_map(|c| &c.rejects).collect();
        assert!(rejects.is_empty(), "{}: {rejects:?}", path.display());
        let accepted: u64 = chunks.iter().map(|c| c.batch.num_rows() as u64).sum();
        assert_eq!(accepted, data_rows(&path), "{}", path.display());
        let rows: Vec<u64> = chunks
            .iter()
            .flat_map(|c| c.rows.values().iter().copied())
            .collect();
        assert_eq!(rows, (0..accepted).collect::<Vec<_>>());
    }
}

#[test]
fn malformed_fixtures_give_exactly_the_expected_rejects() {
    let mut files = files("malformed");
    files.extend(self::files("malformed/source"));
    assert!(files.len() >= 13);
    for path in files {
        // The expectations are fabrik-model's: RFC 3339 only (an epoch integer is a parse
        // failure there).
        let chunks = read(&path, &opts(TimeOptions::rfc3339_only()));
        assert_eq!(found(&chunks), expected(&path), "{}", path.display());
        let total: u64 = chunks.iter().map(|c| c.rows_read).sum();
        // One record per line, except where a quoted field holds a line break.
        let rows = if path.to_string_lossy().contains("bom_crlf") {
            5
        } else {
            data_rows(&path)
        };
        assert_eq!(total, rows, "{}", path.display());
    }
}

#[test]
fn an_epoch_integer_is_a_timestamp_by_default() {
    let path = fabrik_model::testdata_path("malformed/sensor_readings.ndjson").expect("fixture");
    let strict = found(&read(&path, &opts(TimeOptions::rfc3339_only())));
    let default = found(&read(&path, &opts(TimeOptions::default())));
    let diff: Vec<_> = strict.difference(&default).collect();
    assert_eq!(diff, vec![&(5, "ts".to_string(), "parse".to_string())]);
}

#[test]
fn structure_rejects_keep_the_raw_record() {
    let path = fabrik_model::testdata_path("malformed/source/machine_states.bom_crlf.csv")
        .expect("fixture");
    let chunks = read(&path, &opts(TimeOptions::default()));
    let rejects: Vec<_> = chunks.iter().flat_map(|c| &c.rejects).collect();
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0].row, 2);
    assert_eq!(
        rejects[0].raw.as_deref(),
        Some(
            "P01,P01-L01,P01-L01-M01,DOWN,\"two\r\nline reason\",2026-03-02T08:00:00Z,2026-03-02T07:50:00Z,"
        )
    );
    assert_eq!(rejects[1].reason, "expected 8 fields, found 6");
    assert_eq!(rejects[1].source, path.display().to_string());
    let reason = chunks[0]
        .batch
        .column_by_name("reason")
        .expect("reason")
        .as_any()
        .downcast_ref::<datafusion::arrow::array::StringArray>()
        .expect("utf8")
        .value(1)
        .to_string();
    assert_eq!(reason, "jam at drum feeder,\r\ncleared by \"operator\"");
}
