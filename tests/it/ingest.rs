//! The `ingest` example, run as real processes: the demo and file modes, their exit codes,
//! a process killed mid-ingest, and two processes ingesting into one table at once.
//!
//! Like `examples.rs`, these run the example binary `cargo test` built beside this test's
//! executable (`target/<profile>/examples/ingest`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fabrik::datafusion::arrow::array::AsArray;
use fabrik::datafusion::arrow::datatypes::Int64Type;
use fabrik::datafusion::prelude::SessionContext;
use fabrik::datagen::{Format, PlantConfig, generate};
use fabrik::lake::Lake;
use fabrik::model::Table;

/// How long a test waits for a child process before it gives up.
const PATIENCE: Duration = Duration::from_secs(60);

fn ingest_exe() -> PathBuf {
    crate::examples::example("ingest")
}

fn run(args: &[&str]) -> Output {
    Command::new(ingest_exe())
        .args(args)
        .output()
        .expect("ingest runs")
}

fn spawn(args: &[&str]) -> Child {
    Command::new(ingest_exe())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ingest starts")
}

/// Waits for a child (at most [`PATIENCE`], then kills it and fails).
fn finish(mut child: Child, what: &str) -> Output {
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what}: still running after {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("child output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Asserts success and returns stdout.
fn ok_stdout(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// One row of the printed report.
#[derive(Debug)]
struct Row {
    table: String,
    files: u64,
    skipped: u64,
    read: u64,
    accepted: u64,
    rejected: u64,
    duplicates: u64,
    check: String,
}

/// The report rows of an ingest's stdout (`table files skip read accepted rejected
/// duplicates written MB version seconds check`).
fn report_rows(stdout: &str) -> Vec<Row> {
    stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 12 || Table::from_name(f[0]).is_err() {
                return None;
            }
            let n = |i: usize| -> u64 {
                f[i].parse()
                    .unwrap_or_else(|_| panic!("column {i} of `{l}` is not a count"))
            };
            Some(Row {
                table: f[0].to_string(),
                files: n(1),
                skipped: n(2),
                read: n(3),
                accepted: n(4),
                rejected: n(5),
                duplicates: n(6),
                check: f[11].to_string(),
            })
        })
        .collect()
}

async fn query_count(lake_dir: &Path, table: Table, sql: &str) -> u64 {
    let lake = Lake::open(utf8(lake_dir)).await.expect("lake opens");
    let t = lake.table(table).await.expect("table opens");
    let ctx = SessionContext::new();
    t.prepare_session(&ctx).await.expect("session");
    ctx.register_table("t", t.provider().await.expect("provider"))
        .expect("register");
    let batches = ctx
        .sql(sql)
        .await
        .expect("sql")
        .collect()
        .await
        .expect("collect");
    batches[0].column(0).as_primitive::<Int64Type>().value(0) as u64
}

/// Rows of sensor_readings in the lake, and distinct `(sensor_id, ts)` keys among them.
async fn readings(lake_dir: &Path) -> (u64, u64) {
    let t = Table::SensorReadings;
    (
        query_count(lake_dir, t, "SELECT count(*) FROM t").await,
        query_count(
            lake_dir,
            t,
            "SELECT count(*) FROM (SELECT DISTINCT sensor_id, ts FROM t)",
        )
        .await,
    )
}

/// A clean plant with `days` files of readings, one every `period_ms` per sensor; returns
/// the readings' CSV files (one per day, in day order) and their total rows.
fn plant(out: &Path, days: u32, period_ms: u32) -> (Vec<PathBuf>, u64) {
    let config = PlantConfig {
        days,
        sample_period_ms: period_ms,
        ..PlantConfig::tiny(1)
    };
    let report = generate(&config, out, &[Format::Csv], &mut |_| {}).expect("generate");
    let t = report
        .tables
        .iter()
        .find(|t| t.table == Table::SensorReadings)
        .expect("readings generated");
    let mut files = t.files.clone();
    files.sort();
    assert_eq!(files.len(), days as usize, "one file per day");
    (files, t.rows)
}

#[test]
fn demo_mode_reconciles_every_table_shows_rejects_and_reruns_read_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let lake = tmp.path().join("lake");
    let args = [
        "--size",
        "tiny",
        "--out",
        utf8(tmp.path()),
        "--lake",
        utf8(&lake),
        "--quiet",
    ];
    let first = run(&args);
    let stdout = ok_stdout(&first, "ingest demo");
    assert!(
        first.stderr.is_empty(),
        "--quiet must silence progress:\n{}",
        text(&first.stderr)
    );
    let rows = report_rows(&stdout);
    let tables: Vec<&str> = rows.iter().map(|r| r.table.as_str()).collect();
    let all: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
    assert_eq!(tables, all, "one report row per table:\n{stdout}");
    for r in &rows {
        assert_eq!(
            r.read,
            r.accepted + r.rejected + r.duplicates,
            "{r:?} does not reconcile:\n{stdout}"
        );
        assert_eq!(r.check, "OK", "{stdout}");
    }
    assert!(
        rows.iter().map(|r| r.rejected).sum::<u64>() > 0
            && rows.iter().map(|r| r.duplicates).sum::<u64>() > 0,
        "a dirty plant has rejects and duplicates:\n{stdout}"
    );
    assert!(
        stdout.contains("read = accepted + rejected + duplicates holds for every table"),
        "{stdout}"
    );
    let sample = stdout
        .split("a sample of the rejects")
        .nth(1)
        .unwrap_or_else(|| panic!("no rejects sample:\n{stdout}"));
    let sample_rows = sample.lines().filter(|l| l.starts_with("| ")).count();
    assert!(
        sample_rows >= 2 && sample.contains("| rule") && sample.contains(".csv"),
        "a header and rejects with their file expected:\n{sample}"
    );

    // The same plant again (same seed, same bytes): every file is skipped, nothing read.
    let second = run(&args);
    let stdout = ok_stdout(&second, "ingest demo re-run");
    let rows = report_rows(&stdout);
    assert_eq!(rows.len(), Table::ALL.len(), "{stdout}");
    for r in &rows {
        assert_eq!(
            (r.read, r.skipped),
            (0, r.files),
            "re-run must skip every file:\n{stdout}"
        );
    }
}

#[test]
fn file_mode_ingests_a_fixture_and_reports_file_and_usage_errors() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let lake = tmp.path().join("lake");
    let lake = utf8(&lake);
    let testdata = fabrik::model::testdata_dir().expect("testdata");
    let orders = testdata.join("clean/orders.csv");

    let out = run(&["--lake", lake, "--table", "orders", utf8(&orders)]);
    let stdout = ok_stdout(&out, "ingest orders fixture");
    let rows = report_rows(&stdout);
    assert_eq!(rows.len(), 1, "{stdout}");
    let r = &rows[0];
    assert!(
        r.table == "orders" && r.read > 0 && r.accepted == r.read && r.rejected == 0,
        "a clean fixture is accepted whole: {r:?}\n{stdout}"
    );
    assert!(
        !text(&out.stderr).is_empty(),
        "without --quiet, progress goes to stderr"
    );

    // A missing file: exit 1, the path named.
    let missing = tmp.path().join("no-such-orders.csv");
    let out = run(&["--lake", lake, "--table", "orders", utf8(&missing)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(utf8(&missing)),
        "the error names the file:\n{}",
        text(&out.stderr)
    );

    // A file of another table (wrong header): exit 1, the path named.
    let bom = testdata.join("clean/bom.csv");
    let out = run(&["--lake", lake, "--table", "orders", utf8(&bom), "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(utf8(&bom)),
        "{}",
        text(&out.stderr)
    );

    // Usage errors: exit 2 with the usage text.
    for args in [
        &["--lake", lake, "--table", "order", utf8(&orders)][..],
        &["--table", "orders", utf8(&orders)][..],
        &["--lake", lake, "--table", "orders"][..],
    ] {
        let out = run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("usage: ingest"),
            "{}",
            text(&out.stderr)
        );
    }
    assert!(
        text(&run(&["--lake", lake, "--table", "order", "x.csv"]).stderr)
            .contains("unknown table `order`")
    );
}

/// The versions committed to a Delta table's log: `(version, rows added)`, each commit file
/// checked to be whole (every line one JSON object). Panics on a remove action (an append-only
/// table has none) or a gap in the versions.
fn committed_versions(table_dir: &Path) -> Vec<(i64, u64)> {
    let log = table_dir.join("_delta_log");
    let mut versions = Vec::new();
    for entry in std::fs::read_dir(&log).expect("_delta_log") {
        let path = entry.expect("log entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        // Commit files are `<20 digits>.json`; temporary files of a killed commit are not.
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let content = std::fs::read_to_string(&path).expect("commit file");
        assert!(
            content.ends_with('\n') || content.ends_with('}'),
            "{name} is cut"
        );
        let mut rows = 0;
        for line in content.lines() {
            assert!(
                line.starts_with('{') && line.ends_with('}'),
                "{name}: incomplete action {line}"
            );
            assert!(
                !line.starts_with("{\"remove\""),
                "{name}: unexpected remove"
            );
            if line.starts_with("{\"add\"") {
                let n = line
                    .split("\\\"numRecords\\\":")
                    .nth(1)
                    .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or_else(|| panic!("{name}: add without numRecords: {line}"));
                rows += n;
            }
        }
        versions.push((stem.parse::<i64>().expect("version"), rows));
    }
    versions.sort();
    for (i, (v, _)) in versions.iter().enumerate() {
        assert_eq!(*v, i as i64, "gap in the versions of {}", log.display());
    }
    versions
}

#[tokio::test]
async fn a_killed_ingest_leaves_whole_versions_and_a_rerun_completes_without_duplicates() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // Two days of readings every 8 s: 2 files of ~75k rows, 4 commits (one per source chunk
    // of at most 65,536 rows with --part-rows 1), the larger ones about a second each in a
    // debug build.
    let (files, total) = plant(&tmp.path().join("plant"), 2, 8_000);
    let dir = files[0].parent().expect("readings dir");
    let lake = tmp.path().join("lake");
    let args = [
        "--lake",
        utf8(&lake),
        "--table",
        "sensor_readings",
        "--part-rows",
        "1",
        "--quiet",
        utf8(dir),
    ];

    // Kill the process as soon as its first part is committed (version 1; version 0
    // creates the table).
    let mut child = spawn(&args);
    let first_part = lake.join("sensor_readings/_delta_log/00000000000000000001.json");
    let deadline = Instant::now() + PATIENCE;
    while !first_part.exists() {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("ingest ended ({status}) before its first commit was seen");
        }
        assert!(Instant::now() < deadline, "no commit within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    // Whole versions only: the table opens at the last commit, and holds exactly the rows
    // its commits added.
    let versions = committed_versions(&lake.join("sensor_readings"));
    let last = versions.last().expect("a version").0;
    let committed: u64 = versions.iter().map(|(_, rows)| rows).sum();
    let opened = Lake::open(utf8(&lake)).await.expect("lake");
    let version = opened
        .table(Table::SensorReadings)
        .await
        .expect("table opens")
        .version()
        .await
        .expect("version");
    assert_eq!(version, last, "the table is at its last complete commit");
    let (rows, keys) = readings(&lake).await;
    assert_eq!(
        rows, committed,
        "rows = sum of the committed versions' rows"
    );
    assert_eq!(rows, keys, "no duplicate keys");
    assert!(
        rows > 0 && rows < total,
        "killed mid-ingest: {rows} of {total} rows committed (make the input larger if it \
         finished before the kill)"
    );

    // The same command again completes; a clean run into a fresh lake runs beside it.
    let fresh = tmp.path().join("fresh");
    let mut fresh_args = args;
    fresh_args[1] = utf8(&fresh);
    let fresh_child = spawn(&fresh_args);
    let rerun = finish(spawn(&args), "re-run");
    let stdout = ok_stdout(&rerun, "re-run after the kill");
    let r = &report_rows(&stdout)[0];
    assert_eq!(r.check, "OK", "{stdout}");
    assert_eq!(
        r.accepted + committed,
        total,
        "the re-run adds exactly what the killed run had not committed:\n{stdout}"
    );
    ok_stdout(&finish(fresh_child, "fresh run"), "fresh run");

    let resumed = readings(&lake).await;
    assert_eq!(resumed, (total, total), "nothing lost, nothing doubled");
    assert_eq!(resumed, readings(&fresh).await, "same as one clean run");
}

#[tokio::test]
async fn two_processes_ingest_overlapping_files_into_one_table() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // Three days of readings every 12 s: 3 files of ~50k rows.
    let (files, total) = plant(&tmp.path().join("plant"), 3, 12_000);

    // A resent copy of day 2 with some values changed: other bytes, the same keys.
    let resent_dir = tmp.path().join("resent");
    std::fs::create_dir_all(&resent_dir).expect("mkdir");
    let original = std::fs::read_to_string(&files[1]).expect("day 2");
    let header = original.lines().next().expect("header");
    let value_col = header
        .split(',')
        .position(|c| c == "value")
        .expect("value column");
    let mut resent = String::new();
    for (i, line) in original.lines().enumerate() {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        if i > 0
            && i % 50 == 0
            && let Ok(v) = fields[value_col].parse::<f64>()
        {
            fields[value_col] = format!("{:.2}", v + 0.01);
        }
        resent.push_str(&fields.join(","));
        resent.push('\n');
    }
    assert_ne!(resent, original, "the copy differs");
    let resent_path = resent_dir.join(files[1].file_name().expect("name"));
    std::fs::write(&resent_path, resent).expect("write copy");
    let day2_rows = original.lines().count() as u64 - 1;

    // Both start with day 2, so they race for the same partition.
    let lake = tmp.path().join("lake");
    let base = [
        "--lake",
        utf8(&lake),
        "--table",
        "sensor_readings",
        "--quiet",
    ];
    let a = spawn(&[&base[..], &[utf8(&files[1]), utf8(&files[0])][..]].concat());
    let b = spawn(&[&base[..], &[utf8(&resent_path), utf8(&files[2])][..]].concat());
    let a = ok_stdout(&finish(a, "writer A"), "writer A");
    let b = ok_stdout(&finish(b, "writer B"), "writer B");

    let (ra, rb) = (&report_rows(&a)[0], &report_rows(&b)[0]);
    assert!(ra.check == "OK" && rb.check == "OK", "{a}\n{b}");
    assert_eq!(
        ra.accepted + rb.accepted,
        total,
        "each key stored once:\n{a}\n{b}"
    );
    assert_eq!(
        ra.duplicates + rb.duplicates,
        day2_rows,
        "day 2 is a duplicate for whichever writer came second:\n{a}\n{b}"
    );
    assert_eq!(
        readings(&lake).await,
        (total, total),
        "the table holds every distinct key once"
    );
}
