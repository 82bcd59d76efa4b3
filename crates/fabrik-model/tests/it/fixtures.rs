//! Every clean fixture validates clean; every malformed fixture yields exactly its expected
//! rejects; together the malformed fixtures exercise every rule.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use fabrik_model::{PARSE_RULE, Table};

use crate::support::{check, fixture_files, load, table_of};

#[test]
fn clean_fixtures_load_and_validate_clean() {
    let files = fixture_files("clean", &["csv", "ndjson"]);
    for table in Table::ALL {
        for ext in ["csv", "ndjson"] {
            let name = format!("{}.{ext}", table.name());
            assert!(
                files.iter().any(|f| f.ends_with(&name)),
                "clean/{name} is missing"
            );
        }
    }
    for file in &files {
        let (loaded, typed, validation) = check(file);
        assert!(
            loaded.text.num_rows() >= 3,
            "{}: too few rows to mean anything",
            file.display()
        );
        assert!(
            validation.is_clean(),
            "{}: expected no violations, got:\n{}",
            file.display(),
            arrow::util::pretty::pretty_format_batches(&[validation.violations_batch()])
                .expect("print")
        );
        assert_eq!(typed.schema(), fabrik_model::relaxed_schema(loaded.table));
        assert_eq!(
            validation.valid_rows(&typed).expect("filter").num_rows(),
            typed.num_rows()
        );
    }
}

#[test]
fn clean_csv_and_ndjson_hold_the_same_rows() {
    for table in Table::ALL {
        let dir = fabrik_model::testdata_path("clean").expect("testdata");
        let (_, csv, _) = check(&dir.join(format!("{}.csv", table.name())));
        let (_, json, _) = check(&dir.join(format!("{}.ndjson", table.name())));
        assert_eq!(csv, json, "{table}: the CSV and NDJSON fixtures differ");
    }
}

#[test]
fn the_special_csv_forms_are_present() {
    let dir = fabrik_model::testdata_path("clean").expect("testdata");
    let crlf = fs::read(dir.join("sensor_readings.csv")).expect("read");
    assert!(
        crlf.windows(2).any(|w| w == b"\r\n"),
        "sensor_readings.csv should use CRLF"
    );
    let bom = fs::read(dir.join("machine_states.csv")).expect("read");
    assert!(
        bom.starts_with(b"\xEF\xBB\xBF"),
        "machine_states.csv should start with a UTF-8 BOM"
    );
    let quoted = fs::read_to_string(dir.join("orders.csv")).expect("read");
    assert!(
        quoted.contains("\"Benelux, Lux.\""),
        "orders.csv should quote a field with a comma"
    );
}

/// `<name>.expected.csv` beside `<name>.csv`, `<name>.ndjson.expected.csv` beside `<name>.ndjson`.
fn expected_path(file: &Path) -> PathBuf {
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    let expected = match name.strip_suffix(".csv") {
        Some(stem) => format!("{stem}.expected.csv"),
        None => format!("{name}.expected.csv"),
    };
    file.with_file_name(expected)
}

fn read_expected(path: &Path) -> BTreeSet<(usize, String, String)> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("line,column,rule"),
        "{}: header",
        path.display()
    );
    let mut set = BTreeSet::new();
    for l in lines {
        let parts: Vec<&str> = l.split(',').collect();
        assert_eq!(parts.len(), 3, "{}: bad line {l:?}", path.display());
        let line = parts[0]
            .parse()
            .unwrap_or_else(|e| panic!("{}: {l:?}: {e}", path.display()));
        assert!(
            set.insert((line, parts[1].to_string(), parts[2].to_string())),
            "{}: duplicate {l}",
            path.display()
        );
    }
    set
}

#[test]
fn malformed_fixtures_yield_exactly_the_expected_rejects() {
    let files = fixture_files("malformed", &["csv", "ndjson"]);
    for table in Table::ALL {
        let name = format!("{}.csv", table.name());
        assert!(
            files.iter().any(|f| f.ends_with(&name)),
            "malformed/{name} is missing"
        );
    }
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "ndjson")),
        "no malformed NDJSON"
    );
    for file in &files {
        let (loaded, typed, validation) = check(file);
        let got: BTreeSet<(usize, String, String)> = validation
            .violations
            .iter()
            .map(|v| {
                (
                    loaded.lines[v.row],
                    v.column.to_string(),
                    v.rule.to_string(),
                )
            })
            .collect();
        assert_eq!(
            got.len(),
            validation.violations.len(),
            "{}: a problem was reported twice",
            file.display()
        );
        let expected = read_expected(&expected_path(file));
        let missing: Vec<_> = expected.difference(&got).collect();
        let extra: Vec<_> = got.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}:\n  expected but not reported: {missing:?}\n  reported but not expected: {extra:?}\n{}",
            file.display(),
            arrow::util::pretty::pretty_format_batches(&[validation.violations_batch()])
                .expect("print")
        );
        // Rows without an expected reject are valid, and the split is consistent.
        let bad_lines: HashSet<usize> = expected.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(
            validation.invalid_count(),
            bad_lines.len(),
            "{}",
            file.display()
        );
        assert!(
            validation.valid_rows(&typed).expect("filter").num_rows() >= 1,
            "{}: keep a good row",
            file.display()
        );
        for v in &validation.violations {
            assert!(!v.reason.is_empty());
            assert!(
                v.reason.contains(v.column),
                "{}: reason {:?} does not name {}",
                file.display(),
                v.reason,
                v.column
            );
        }
    }
}

#[test]
fn malformed_fixtures_cover_every_rule() {
    let mut seen: HashSet<String> = HashSet::new();
    for file in fixture_files("malformed", &["csv", "ndjson"]) {
        let table = table_of(&file);
        for (_, _, rule) in read_expected(&expected_path(&file)) {
            if rule != PARSE_RULE {
                let known = table.rules().iter().any(|r| r.id == rule);
                assert!(known, "{}: {rule} is not a rule of {table}", file.display());
            }
            seen.insert(rule);
        }
    }
    let mut missing: Vec<&str> = Table::ALL
        .iter()
        .flat_map(|t| t.rules())
        .map(|r| r.id)
        .filter(|id| !seen.contains(*id))
        .collect();
    if !seen.contains(PARSE_RULE) {
        missing.push(PARSE_RULE);
    }
    assert!(
        missing.is_empty(),
        "rules no malformed fixture exercises: {missing:?}"
    );
}

#[test]
fn every_fixture_has_a_readme_entry() {
    let readme = fs::read_to_string(fabrik_model::testdata_path("README.md").expect("README"))
        .expect("read");
    for dir in ["clean", "malformed"] {
        assert!(
            readme.contains(&format!("{dir}/")),
            "README does not describe {dir}/"
        );
    }
    for file in fixture_files("malformed", &["csv", "ndjson"]) {
        assert!(
            expected_path(&file).is_file(),
            "{}: no expected rejects beside it",
            file.display()
        );
        let _ = load(&file);
    }
}
