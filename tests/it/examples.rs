//! The examples, run as a user runs them, so that they cannot rot.
//!
//! `cargo test` builds the examples before it runs the integration tests; the binaries are
//! found beside this test's own executable (`target/<profile>/examples/`).

use std::path::PathBuf;
use std::process::{Command, Output};

/// The binary of example `name`, built by `cargo test` beside this test's executable.
pub(crate) fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/it-<hash> -> target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "example {name} not built at {}: run through `cargo test`",
        path.display()
    );
    path
}

fn run(name: &str, args: &[&str]) -> Output {
    Command::new(example(name))
        .args(args)
        .output()
        .expect("example runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Timings (`[12 ms]`) are the only part of the report that changes between runs.
fn without_timings(report: &str) -> String {
    report
        .lines()
        .map(|l| l.split("  [").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn quickstart_prints_every_answer_and_is_safe_to_rerun() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("plant");
    let dir_arg = dir.to_str().expect("utf-8 temp path");
    let first = run("quickstart", &[dir_arg, "--scale", "0.05", "--quiet"]);
    let stdout = text(&first.stdout);
    assert!(
        first.status.success(),
        "quickstart failed:\n{}\n{}",
        stdout,
        text(&first.stderr)
    );
    assert!(
        first.stderr.is_empty(),
        "--quiet must silence progress, got:\n{}",
        text(&first.stderr)
    );
    for section in [
        "Tables",
        "Top downtime reasons",
        "Demand by option",
        "Supplier on-time-in-full",
        "out-of-range readings",
    ] {
        assert!(
            stdout.contains(section),
            "missing section {section}:\n{stdout}"
        );
    }
    for table in [
        "sensor_readings",
        "machine_states",
        "production_counts",
        "orders",
        "suppliers",
        "deliveries",
        "bom",
        "inventory",
    ] {
        assert!(
            stdout.contains(&format!("| {table}")),
            "table {table} not counted:\n{stdout}"
        );
    }
    // Every question has at least one result row: a table's data rows start with "| ".
    let sections: Vec<&str> = stdout.split("\n\n").filter(|s| s.contains('+')).collect();
    assert_eq!(
        sections.len(),
        6,
        "expected 6 tables in the report:\n{stdout}"
    );
    for s in &sections {
        let rows = s.lines().filter(|l| l.starts_with("| ")).count();
        assert!(rows >= 2, "a header and at least one row expected in:\n{s}");
    }

    // Same seed, same directory: the same report (the plant is regenerated in place).
    let second = run("quickstart", &[dir_arg, "--scale", "0.05", "--quiet"]);
    assert!(
        second.status.success(),
        "re-run failed:\n{}",
        text(&second.stderr)
    );
    assert_eq!(
        without_timings(&stdout),
        without_timings(&text(&second.stdout))
    );
}

#[test]
fn quickstart_explains_bad_arguments() {
    let out = run("quickstart", &["--scale", "zero"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--scale: 'zero' is not a number") && err.contains("usage:"),
        "{err}"
    );

    let help = run("quickstart", &["--help"]);
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("usage: quickstart"));
}

#[test]
fn datagen_writes_every_table_and_the_dirty_ground_truth() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().to_str().expect("utf-8 temp path");
    let run1 = run(
        "datagen",
        &[
            out,
            "--size",
            "tiny",
            "--formats",
            "csv,parquet",
            "--dirty",
            "--quiet",
        ],
    );
    let stdout = text(&run1.stdout);
    assert!(
        run1.status.success(),
        "datagen failed:\n{stdout}\n{}",
        text(&run1.stderr)
    );
    assert!(
        run1.stderr.is_empty(),
        "--quiet must silence progress:\n{}",
        text(&run1.stderr)
    );
    for table in [
        "sensor_readings",
        "machine_states",
        "orders",
        "deliveries",
        "inventory",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(table)),
            "no summary line for {table}:\n{stdout}"
        );
        assert!(
            tmp.path().join("csv").join(table).is_dir()
                && tmp.path().join("parquet").join(table).is_dir()
        );
    }
    assert!(
        !tmp.path().join("ndjson").exists(),
        "only the asked formats are written"
    );
    assert!(stdout.contains("injected defects:"), "{stdout}");
    let dirty =
        std::fs::read_to_string(tmp.path().join("ground_truth/dirty.csv")).expect("dirty.csv");
    assert!(
        dirty.lines().count() > 1,
        "dirty mode lists its defects:\n{dirty}"
    );

    let bad = run("datagen", &[out, "--formats", "csv,xlsx"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("xlsx"), "{}", text(&bad.stderr));
    let missing = run("datagen", &["--dirty"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("OUT is missing"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn sql_runs_a_query_over_the_quickstart_lake_in_every_format() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("plant");
    let dir_arg = dir.to_str().expect("utf-8 temp path");
    let qs = run("quickstart", &[dir_arg, "--scale", "0.05", "--quiet"]);
    assert!(qs.status.success(), "{}", text(&qs.stderr));
    let lake = dir.join("lake");
    let lake_arg = lake.to_str().expect("utf-8 temp path");
    let query =
        "SELECT metric, count(*) AS n FROM sensor_readings GROUP BY metric ORDER BY metric LIMIT 2";

    let table = run("sql", &["--lake", lake_arg, query]);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let out = text(&table.stdout);
    assert!(
        out.starts_with("+--") && out.contains("| metric ") && out.contains("| current "),
        "{out}"
    );

    let csv = run("sql", &["--lake", lake_arg, "--format", "csv", query]);
    let out = text(&csv.stdout);
    assert!(out.starts_with("metric,n\ncurrent,"), "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");

    let json = run("sql", &["--lake", lake_arg, "--format", "json", query]);
    let out = text(&json.stdout);
    assert!(out.starts_with("{\"metric\":\"current\",\"n\":"), "{out}");

    // Bad SQL and a missing table: exit 1 with DataFusion's message naming the problem.
    let bad = run("sql", &["--lake", lake_arg, "SELECT * FROM no_such_table"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("no_such_table"),
        "{}",
        text(&bad.stderr)
    );
    let usage = run("sql", &["--lake", lake_arg]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(
        text(&usage.stderr).contains("the SQL query is missing"),
        "{}",
        text(&usage.stderr)
    );
    let empty = tmp.path().join("empty-lake");
    let none = run(
        "sql",
        &["--lake", empty.to_str().expect("utf-8"), "SELECT 1"],
    );
    assert_eq!(none.status.code(), Some(1));
    assert!(
        text(&none.stderr).contains("holds no tables yet"),
        "{}",
        text(&none.stderr)
    );
}
