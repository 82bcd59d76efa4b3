//! The examples, run as a user runs them, so that they cannot rot.
//!
//! `cargo test` builds the examples before it runs the integration tests; the binaries are
//! found beside this test's own executable (`target/<profile>/examples/`).

use std::path::PathBuf;
use std::process::{Command, Output};

use fabrik::datafusion::arrow::array::RecordBatch;

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

    // The production report and the order sequencing read the same lake.
    let lake = dir.join("lake");
    let lake_arg = lake.to_str().expect("utf-8 temp path");
    let report = run("oee_report", &["--lake", lake_arg]);
    let out = text(&report.stdout);
    assert!(
        report.status.success(),
        "oee_report failed:\n{out}\n{}",
        text(&report.stderr)
    );
    for section in [
        "OEE by line and shift",
        "Downtime Pareto",
        "MTBF and MTTR",
        "six big losses",
        "Supplier scorecard",
        "worst sensor anomalies",
    ] {
        assert!(out.contains(section), "oee_report lacks {section}:\n{out}");
    }
    assert!(
        out.lines().any(|l| l.starts_with("| P01-L01 ")),
        "no line's OEE:\n{out}"
    );
    let seq = run("sequence_orders", &["--lake", lake_arg]);
    let out = text(&seq.stdout);
    assert!(
        seq.status.success(),
        "sequence_orders failed:\n{out}\n{}",
        text(&seq.stderr)
    );
    let minutes: Vec<i64> = out
        .lines()
        .find(|l| l.starts_with("changeover minutes"))
        .expect("a changeover line")
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        minutes.len() == 2 && minutes[1] <= minutes[0],
        "the plan is never worse than FIFO:\n{out}"
    );
    let missing = run(
        "oee_report",
        &[
            "--lake",
            tmp.path().join("nothing").to_str().expect("utf-8"),
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("no table `machine_states`"),
        "{}",
        text(&missing.stderr)
    );

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

    // The peer queries on the lake's own layout, through the rollup operator.
    let count = run(
        "sql",
        &[
            "--lake",
            lake_arg,
            "--format",
            "csv",
            "SELECT count(*) AS n FROM sensor_readings",
        ],
    );
    let readings = text(&count.stdout)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    for q in ["rollup_1m", "last_value", "demand_by_option"] {
        let out = run("bench_query", &["--query", q, "--lake", lake_arg]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{q}: {stdout}\n{}", text(&out.stderr));
        assert!(
            stdout
                .lines()
                .last()
                .unwrap_or_default()
                .starts_with("{\"rows\": "),
            "{q}: {stdout}"
        );
        if q == "rollup_1m" {
            assert!(
                stdout.contains(&format!("\"n\": {readings}")),
                "every reading counted once: {stdout}"
            );
        }
        let plan = run(
            "bench_query",
            &["--query", q, "--lake", lake_arg, "--explain"],
        );
        assert!(
            text(&plan.stdout).contains("FabrikRollupExec"),
            "{q}: {}",
            text(&plan.stdout)
        );
    }

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

/// Writes `batches` to `path` as Parquet declaring `order` (column indices) as the rows'
/// sort order, row groups of `row_group` rows.
fn write_sorted_parquet(
    path: &std::path::Path,
    batches: &[RecordBatch],
    order: &[usize],
    row_group: usize,
) {
    use fabrik::datafusion::parquet::arrow::ArrowWriter;
    use fabrik::datafusion::parquet::file::metadata::SortingColumn;
    use fabrik::datafusion::parquet::file::properties::WriterProperties;
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(row_group))
        .set_sorting_columns(Some(
            order
                .iter()
                .map(|&c| SortingColumn {
                    column_idx: c as i32,
                    descending: false,
                    nulls_first: false,
                })
                .collect(),
        ))
        .build();
    let file = std::fs::File::create(path).expect("create parquet");
    let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).expect("writer");
    for b in batches {
        w.write(b).expect("write");
    }
    w.close().expect("close");
}

/// The harness's JSON summary: the last stdout line.
fn summary_line(stdout: &str) -> String {
    stdout.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn bench_query_runs_the_peer_queries_with_their_summary_line() {
    use std::sync::Arc;

    use fabrik::datafusion::arrow::array::{
        Float64Array, Int16Array, Int32Array, StringArray, TimestampMicrosecondArray,
    };
    use fabrik::datagen::synthetic;

    let tmp = tempfile::tempdir().expect("temp dir");
    // 30k telemetry rows of 20 sensors, sorted by (sensor_id, ts), several row groups.
    let telemetry = synthetic::telemetry(30_000, 20, 4_096, 7).expect("telemetry");
    let tpath = tmp.path().join("telemetry.parquet");
    write_sorted_parquet(&tpath, &telemetry, &[0, 3], 5_000);
    // A few hundred orders over ten weeks, sorted by created_at.
    let n = 600usize;
    let start = synthetic::TELEMETRY_START_US;
    let created: Vec<i64> = (0..n as i64).map(|i| start + i * 1_000_000_000).collect();
    let orders = RecordBatch::try_from_iter(vec![
        (
            "created_at",
            Arc::new(TimestampMicrosecondArray::from(created).with_timezone("UTC")) as _,
        ),
        (
            "sku",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("SKU-{}", i % 17)),
            )) as _,
        ),
        (
            "product_family",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| ["FL", "TL"][i % 2]),
            )) as _,
        ),
        (
            "capacity_kg",
            Arc::new(Int16Array::from_iter_values(
                (0..n).map(|i| [7, 8, 9][i % 3]),
            )) as _,
        ),
        (
            "color",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| ["white", "black"][i % 5 / 3]),
            )) as _,
        ),
        (
            "quantity",
            Arc::new(Int32Array::from_iter_values(
                (0..n).map(|i| 1 + (i % 3) as i32),
            )) as _,
        ),
        (
            "unit_price",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| 400.0 + (i % 7) as f64 * 50.0),
            )) as _,
        ),
    ])
    .expect("orders batch");
    let opath = tmp.path().join("orders.parquet");
    write_sorted_parquet(&opath, &[orders], &[0], 250);

    let t = tpath.to_str().expect("utf-8 path");
    let o = opath.to_str().expect("utf-8 path");
    for (query, data, rows_in) in [
        ("rollup_1m", t, 30_000),
        ("rollup_1h_stats", t, 30_000),
        ("last_value", t, 30_000),
        ("demand_weekly", o, n),
        ("demand_by_option", o, n),
    ] {
        let out = run("bench_query", &["--query", query, "--data", data]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{query}: {stdout}\n{}",
            text(&out.stderr)
        );
        let summary = summary_line(&stdout);
        assert!(summary.starts_with("{\"rows\": "), "{query}: {summary}");
        match query {
            // Every input row is counted once.
            "rollup_1m" | "rollup_1h_stats" => {
                assert!(
                    summary.contains(&format!("\"n\": {rows_in}")),
                    "{query}: {summary}"
                )
            }
            "last_value" => assert!(summary.starts_with("{\"rows\": 20,"), "{query}: {summary}"),
            "demand_weekly" => assert!(summary.contains("\"sku\": 17"), "{query}: {summary}"),
            _ => assert!(summary.contains("\"qty\": 1200"), "{query}: {summary}"),
        }
        let plan = run(
            "bench_query",
            &["--query", query, "--data", data, "--explain"],
        );
        assert!(
            text(&plan.stdout).contains("FabrikRollupExec"),
            "{query} is not planned with fabrik's rollup:\n{}",
            text(&plan.stdout)
        );
    }
    let last = run(
        "bench_query",
        &["--query", "last_value", "--data", t, "--explain"],
    );
    assert!(text(&last.stdout).contains("run_ends=[sensor_id]"));
    let unknown = run("bench_query", &["--query", "nope", "--data", t]);
    assert_eq!(
        unknown.status.code(),
        Some(3),
        "an unknown query exits with 3"
    );
    let missing = run(
        "bench_query",
        &["--query", "rollup_1m", "--data", "/no/such/file.parquet"],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("/no/such/file.parquet"));
}

/// Long-format CSV of three weekly series: a seasonal one (120 weeks), an intermittent one
/// (mostly zeros) and one too short to forecast.
fn forecast_input(dir: &std::path::Path) -> PathBuf {
    let mut csv = String::from("series_id,ts,y\n");
    let monday = |w: i64| {
        // Mondays from 2024-01-01 (day 19723 since the epoch).
        let day = 19_723 + 7 * w;
        fabrik::model::time::format_micros(day * 86_400_000_000)[..10].to_string()
    };
    for w in 0..120i64 {
        let seasonal =
            50.0 + 10.0 * ((w % 52) as f64 / 52.0 * std::f64::consts::TAU).sin() + (w % 3) as f64;
        csv.push_str(&format!("seasonal,{},{seasonal:.1}\n", monday(w)));
        let sparse = if w % 5 == 0 { 1 + w % 3 } else { 0 };
        csv.push_str(&format!("sparse,{},{sparse}\n", monday(w)));
    }
    csv.push_str(&format!("short,{},4\n", monday(0)));
    let path = dir.join("sales.csv");
    std::fs::write(&path, csv).expect("write input");
    path
}

#[test]
fn forecast_csv_forecasts_backtests_and_names_bad_rows() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = forecast_input(tmp.path());
    let out = tmp.path().join("forecast.csv");
    let (input_arg, out_arg) = (input.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let r = run(
        "forecast_csv",
        &[
            "--input",
            input_arg,
            "--horizon",
            "4",
            "--out",
            out_arg,
            "--quiet",
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let written = std::fs::read_to_string(&out).expect("output");
    let mut lines = written.lines();
    assert_eq!(
        lines.next(),
        Some("series_id,ts,model,mean,lo_80,hi_80,lo_95,hi_95")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 8, "2 series × 4 weeks:\n{written}");
    // The first forecast week follows the last input week (2026-04-13 + 1 week).
    assert!(
        rows[0].starts_with("seasonal,2026-04-20,") || rows[0].starts_with("sparse,2026-04-20,"),
        "{written}"
    );
    // The short series is skipped and says why.
    let stderr = text(&r.stderr);
    assert!(
        stderr.contains("\"short\"") && stderr.contains("needs at least"),
        "{stderr}"
    );

    // A rolling-origin backtest prints its accuracy and writes the windows.
    let cv = tmp.path().join("cv.csv");
    let r = run(
        "forecast_csv",
        &[
            "--input",
            input_arg,
            "--horizon",
            "4",
            "--backtest",
            "3",
            "--step",
            "2",
            "--model",
            "ets",
            "--out",
            cv.to_str().expect("utf-8"),
            "--quiet",
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let stdout = text(&r.stdout);
    assert!(
        stdout.contains("MASE") && stdout.contains("80% interval coverage"),
        "{stdout}"
    );
    let cv_text = std::fs::read_to_string(&cv).expect("cv output");
    assert!(
        cv_text.starts_with("series_id,cutoff,ts,model,y,mean,lo_80,hi_80,lo_95,hi_95\n"),
        "{cv_text}"
    );
    assert_eq!(
        cv_text.lines().count(),
        1 + 2 * 3 * 4,
        "2 series × 3 windows × 4 steps"
    );

    // Bad input: a duplicate week names the file, the line and the column.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(
        &bad,
        "series_id,ts,y\nA,2026-01-05,1\nA,2026-01-12,2\nA,2026-01-12,3\n",
    )
    .expect("write");
    let r = run(
        "forecast_csv",
        &[
            "--input",
            bad.to_str().expect("utf-8"),
            "--horizon",
            "2",
            "--out",
            out_arg,
        ],
    );
    assert_eq!(r.status.code(), Some(1));
    let stderr = text(&r.stderr);
    assert!(
        stderr.contains("bad.csv:4: column \"ts\"") && stderr.contains("duplicate"),
        "{stderr}"
    );
    // An unknown model lists the known ones; a missing flag is a usage error.
    let r = run(
        "forecast_csv",
        &[
            "--input",
            input_arg,
            "--horizon",
            "2",
            "--model",
            "prophet",
            "--out",
            out_arg,
        ],
    );
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("use one of auto, auto-series, ets"),
        "{}",
        text(&r.stderr)
    );
    let r = run("forecast_csv", &["--input", input_arg, "--out", out_arg]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("--horizon H is required"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn demand_forecast_prints_movers_writes_the_lake_table_and_a_chart() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let lake = tmp.path().join("lake");
    let series = tmp.path().join("series");
    let svg = tmp.path().join("movers.svg");
    let lake_arg = lake.to_str().expect("utf-8");
    let r = run(
        "demand_forecast",
        &[
            "--lake",
            lake_arg,
            "--scale",
            "0.05",
            "--horizon",
            "4",
            "--top",
            "3",
            "--series-out",
            series.to_str().expect("utf-8"),
            "--svg",
            svg.to_str().expect("utf-8"),
            "--quiet",
        ],
    );
    let stdout = text(&r.stdout);
    assert!(r.status.success(), "{stdout}\n{}", text(&r.stderr));
    assert!(stdout.contains("top movers"), "{stdout}");
    let movers = stdout
        .lines()
        .filter(|l| l.contains('/') && l.contains('=') && !l.starts_with("family"))
        .count();
    assert_eq!(movers, 3, "three movers printed:\n{stdout}");
    let chart = std::fs::read_to_string(&svg).expect("chart");
    assert!(
        chart.starts_with("<svg") && chart.contains("<polyline"),
        "{chart}"
    );
    for name in ["option_weekly.csv", "sku_weekly.csv", "family_weekly.csv"] {
        let csv = std::fs::read_to_string(series.join(name)).expect("series csv");
        assert!(
            csv.starts_with("series_id,ts,y\n") && csv.lines().count() > 50,
            "{name}"
        );
    }
    // The forecasts are in the lake, and options add up to their family's total.
    let r = run(
        "sql",
        &[
            "--lake",
            lake_arg,
            "--format",
            "csv",
            "SELECT count(*) AS n, count(DISTINCT series_id) AS series FROM demand_forecast",
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let out = text(&r.stdout);
    let counts: Vec<u64> = out
        .lines()
        .nth(1)
        .expect("a row")
        .split(',')
        .map(|v| v.parse().expect("count"))
        .collect();
    assert_eq!(counts[0], counts[1] * 4, "4 weeks per series: {out}");
    let r = run(
        "sql",
        &[
            "--lake", lake_arg, "--format", "csv",
            "SELECT max(abs(total - family)) AS gap FROM (
               SELECT split_part(series_id, '/', 1) AS fam, split_part(split_part(series_id, '/', 2), '=', 1) AS opt, step,
                      sum(mean) AS total FROM demand_forecast GROUP BY 1, 2, 3) o
             JOIN (SELECT split_part(series_id, '/', 1) AS fam, step, sum(mean) AS family FROM demand_forecast
                   WHERE split_part(split_part(series_id, '/', 2), '=', 1) = 'color' GROUP BY 1, 2) f
             USING (fam, step)",
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let gap: f64 = text(&r.stdout)
        .lines()
        .nth(1)
        .expect("a row")
        .parse()
        .expect("number");
    assert!(
        gap < 1e-6,
        "every option of a family sums to the same family total, gap {gap}"
    );
}
