//! Differential tests of fabrik's SQL functions against DataFusion's own: `first`/`last` vs
//! `first_value`/`last_value`, `approx_quantile` vs `percentile_cont`, `time_bucket` and the
//! `date_*_spec` buckets vs `date_bin`/`date_trunc`, on seeded random data.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Int64Type, IntervalMonthDayNano, Schema, TimeUnit,
};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use fabrik_kernels::{Bucket, exact_quantile};
use fabrik_sql::udf::{date_bin_spec, date_trunc_spec};
use fabrik_sql::{Result, Session};

const SEED: u64 = 0x5eed_f00d;
const ALPHA: f64 = fabrik_kernels::sketch::DEFAULT_ALPHA;

/// splitmix64: a small seeded generator, enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Rows of the aggregation table: group, unique ts (some null), value, string, int.
struct Rows {
    g: Vec<i64>,
    ts: Vec<Option<i64>>,
    v: Vec<Option<f64>>,
}

/// Groups 0..4 are large (sketch mode), 4..504 small (exact mode); values mix signs,
/// zeros, nulls and NaN; ts are unique, negative for part of the rows, null only in the
/// large groups (so every group has a non-null ts).
fn rows() -> Rows {
    let mut rng = Rng(SEED);
    let mut g = Vec::new();
    for group in 0..4 {
        g.extend(std::iter::repeat_n(group, 4_000));
    }
    for group in 4..504 {
        g.extend(std::iter::repeat_n(group, 1 + rng.below(60) as usize));
    }
    // Shuffle (Fisher–Yates) so every batch and partition holds a bit of every group.
    for i in (1..g.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        g.swap(i, j);
    }
    let n = g.len();
    // Unique ts: a random permutation of row ids, spread out, around 1938..2000.
    let mut ids: Vec<i64> = (0..n as i64).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        ids.swap(i, j);
    }
    let ts = (0..n)
        .map(|i| {
            (g[i] >= 4 || rng.below(50) != 0).then(|| -1_000_000_000_000_000 + ids[i] * 7_919_000)
        })
        .collect();
    let v = (0..n)
        .map(|i| match rng.below(100) {
            0..=4 => None,
            5 => Some(f64::NAN),
            6..=8 => Some(0.0),
            _ if g[i] % 3 == 0 => Some((3.0 + 1.5 * rng.normal()).exp()),
            _ if g[i] % 3 == 1 => Some(-(2.0 + rng.normal()).exp()),
            _ => Some(100.0 * rng.normal()),
        })
        .collect();
    Rows { g, ts, v }
}

fn batches(rows: &Rows, partitions: usize) -> Result<(Arc<Schema>, Vec<Vec<RecordBatch>>)> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("v", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("i", DataType::Int32, true),
    ]));
    let n = rows.g.len();
    let chunk = n / (partitions * 3) + 1;
    let mut out = vec![Vec::new(); partitions];
    for (k, start) in (0..n).step_by(chunk).enumerate() {
        let end = (start + chunk).min(n);
        let r = start..end;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(rows.g[r.clone()].to_vec())),
            Arc::new(
                TimestampMicrosecondArray::from(rows.ts[r.clone()].to_vec()).with_timezone("UTC"),
            ),
            Arc::new(Float64Array::from(rows.v[r.clone()].to_vec())),
            Arc::new(StringArray::from(
                rows.v[r.clone()]
                    .iter()
                    .map(|v| v.map(|v| format!("{v:.3}")))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Int32Array::from(
                rows.v[r]
                    .iter()
                    .map(|v| v.filter(|v| !v.is_nan()).map(|v| v as i32))
                    .collect::<Vec<_>>(),
            )),
        ];
        out[k % partitions].push(RecordBatch::try_new(Arc::clone(&schema), cols)?);
    }
    Ok((schema, out))
}

/// A session over table `t`; `skip_partial` forces DataFusion to skip partial aggregation
/// (so `convert_to_state` runs).
fn session(rows: &Rows, partitions: usize, skip_partial: bool) -> Result<Session> {
    let mut config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(997);
    if skip_partial {
        let e = &mut config.options_mut().execution;
        e.skip_partial_aggregation_probe_rows_threshold = 10;
        e.skip_partial_aggregation_probe_ratio_threshold = 0.0;
    }
    let s = Session::with_config(config)?;
    let (schema, parts) = batches(rows, partitions.max(2))?;
    s.context()
        .register_table("t", Arc::new(MemTable::try_new(schema, parts)?))?;
    Ok(s)
}

fn configs() -> [(usize, bool); 3] {
    [(1, false), (4, false), (4, true)]
}

async fn pretty(s: &Session, sql: &str) -> Result<String> {
    Ok(pretty_format_batches(&s.query(sql).await?)?.to_string())
}

#[tokio::test]
async fn first_last_equal_first_value_last_value() -> Result<()> {
    let rows = rows();
    for (partitions, skip) in configs() {
        let s = session(&rows, partitions, skip)?;
        let ours = pretty(
            &s,
            "SELECT g, first(v, ts) AS fv, last(v, ts) AS lv, first(s, ts) AS fs, \
             last(s, ts) AS ls, first(i, ts) AS fi, last(ts, ts) AS lt \
             FROM t GROUP BY g ORDER BY g",
        )
        .await?;
        let theirs = pretty(
            &s,
            "SELECT g, first_value(v ORDER BY ts NULLS LAST) AS fv, \
             last_value(v ORDER BY ts NULLS FIRST) AS lv, \
             first_value(s ORDER BY ts NULLS LAST) AS fs, \
             last_value(s ORDER BY ts NULLS FIRST) AS ls, \
             first_value(i ORDER BY ts NULLS LAST) AS fi, \
             last_value(ts ORDER BY ts NULLS FIRST) AS lt \
             FROM t GROUP BY g ORDER BY g",
        )
        .await?;
        assert_eq!(ours, theirs, "partitions {partitions}, skip partial {skip}");
        assert!(ours.lines().count() > 500, "{}", ours.lines().count());
        // Empty input and a single row.
        for filter in ["false", "ts = (SELECT min(ts) FROM t)"] {
            let ours = pretty(
                &s,
                &format!("SELECT first(v, ts) AS f, last(s, ts) AS l FROM t WHERE {filter}"),
            )
            .await?;
            let theirs = pretty(
                &s,
                &format!(
                    "SELECT first_value(v ORDER BY ts) AS f, last_value(s ORDER BY ts) AS l \
                     FROM t WHERE {filter}"
                ),
            )
            .await?;
            assert_eq!(ours, theirs, "WHERE {filter}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn first_last_ignore_null_ts_and_keep_null_values() -> Result<()> {
    let s = Session::new()?;
    let out = pretty(
        &s,
        "SELECT g, first(v, ts) AS f, last(v, ts) AS l FROM (VALUES \
         (1, 10.0, 3), (1, NULL, 1), (1, 7.0, NULL), (1, 8.0, 5), \
         (2, 1.0, NULL), (3, 4.0, 2), (3, 5.0, 2)) AS x(g, v, ts) GROUP BY g ORDER BY g",
    )
    .await?;
    let expected = "\
+---+-----+-----+
| g | f   | l   |
+---+-----+-----+
| 1 |     | 8.0 |
| 2 |     |     |
| 3 | 4.0 | 5.0 |
+---+-----+-----+";
    assert_eq!(out, expected);
    Ok(())
}

/// Per group, the non-null non-NaN values, sorted.
fn group_values(rows: &Rows) -> Vec<Vec<f64>> {
    let groups = rows.g.iter().max().map_or(0, |&m| m as usize + 1);
    let mut out = vec![Vec::new(); groups];
    for (&g, v) in rows.g.iter().zip(&rows.v) {
        if let Some(v) = v.filter(|v| !v.is_nan()) {
            out[g as usize].push(v);
        }
    }
    for v in &mut out {
        v.sort_by(f64::total_cmp);
    }
    out
}

fn f64_column(batches: &[RecordBatch], col: usize) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|b| b.column(col).as_primitive::<Float64Type>().iter())
        .collect()
}

#[tokio::test]
async fn approx_quantile_is_exact_on_small_groups_and_bounded_on_large_ones() -> Result<()> {
    let rows = rows();
    let values = group_values(&rows);
    // DataFusion 55's percentile_cont panics when partial aggregation is skipped (its
    // convert_to_state asserts one argument and gets three), so the reference runs in a
    // session that does not skip.
    let reference = session(&rows, 4, false)?;
    for (partitions, skip) in configs() {
        let s = session(&rows, partitions, skip)?;
        for q in [0.0, 0.01, 0.1, 0.3, 0.5, 0.77, 0.9, 0.99, 1.0] {
            let from = "FROM (SELECT g, v, CASE WHEN isnan(v) THEN NULL ELSE v END AS w FROM t) \
                        GROUP BY g ORDER BY g";
            let sql = format!("SELECT g, approx_quantile(v, {q}) AS a {from}");
            let a = f64_column(&s.query(&sql).await?, 1);
            let sql = format!("SELECT g, percentile_cont({q}) WITHIN GROUP (ORDER BY w) {from}");
            let p = f64_column(&reference.query(&sql).await?, 1);
            assert_eq!(a.len(), values.len());
            let mut sketched = 0;
            for (g, vals) in values.iter().enumerate() {
                let what = format!("group {g} (n={}) q={q} partitions {partitions}", vals.len());
                // exact_quantile is percentile_cont, bit for bit.
                let exact = exact_quantile(&mut vals.clone(), q);
                assert_eq!(p[g].map(f64::to_bits), exact.map(f64::to_bits), "{what}");
                let (Some(a), Some(p)) = (a[g], p[g]) else {
                    assert_eq!(a[g], None, "{what}");
                    continue;
                };
                if vals.len() <= fabrik_kernels::sketch::EXACT_LIMIT {
                    assert_eq!(a.to_bits(), p.to_bits(), "{what}: {a} vs {p}");
                    continue;
                }
                sketched += 1;
                let h = q * (vals.len() - 1) as f64;
                let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
                let w = (((h - lo as f64) * 1e6) as usize) as f64 / 1e6;
                let bound = ALPHA * ((1.0 - w) * vals[lo].abs() + w * vals[hi].abs());
                assert!(
                    (a - p).abs() <= bound * (1.0 + 1e-9),
                    "{what}: {a} vs {p}, bound {bound}"
                );
            }
            assert_eq!(sketched, 4, "q={q}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn approx_quantile_edge_cases_and_errors() -> Result<()> {
    let rows = rows();
    let s = session(&rows, 4, false)?;
    let mut lines = Vec::new();
    for sql in [
        "SELECT approx_quantile(v, 0.5) AS a FROM t WHERE false",
        "SELECT approx_quantile(v, 0.5) AS a FROM t WHERE ts = (SELECT min(ts) FROM t)",
        "SELECT approx_quantile(x, 0.5) AS a FROM (VALUES (CAST('NaN' AS DOUBLE)), (NULL)) AS y(x)",
        "SELECT approx_quantile(x, 0.25) AS a FROM (VALUES (1), (2), (3), (4)) AS y(x)",
    ] {
        let out = pretty(&s, sql).await?;
        let rows: Vec<String> = out
            .lines()
            .filter(|l| l.starts_with('|'))
            .skip(1)
            .map(|l| l.trim_matches(['|', ' ']).to_owned())
            .collect();
        assert_eq!(rows.len(), 1, "{sql}: {out}");
        lines.extend(rows);
    }
    let min_v = {
        let i = (0..rows.ts.len())
            .filter(|&i| rows.ts[i].is_some())
            .min_by_key(|&i| rows.ts[i])
            .expect("rows");
        rows.v[i]
    };
    assert!(lines[0].is_empty(), "{lines:?}");
    match min_v.filter(|v| !v.is_nan()) {
        Some(v) => assert_eq!(lines[1], v.to_string()),
        None => assert!(lines[1].is_empty(), "{lines:?}"),
    }
    assert!(lines[2].is_empty(), "{lines:?}");
    assert_eq!(lines[3], "1.75");
    for (sql, needle) in [
        (
            "SELECT approx_quantile(v, 1.5) FROM t",
            "q must be in [0, 1]",
        ),
        ("SELECT approx_quantile(v, v) FROM t", "constant"),
    ] {
        let err = s.query(sql).await.expect_err(sql);
        assert!(err.to_string().contains(needle), "{sql}: {err}");
    }
    Ok(())
}

/// Timestamps (µs) for bucket tests: random over ±95 years around 1970, every 10 minutes
/// over Berlin's 2026 DST days, and nulls.
fn bucket_table() -> Result<SessionContext> {
    let mut rng = Rng(SEED ^ 0xb0c4e7);
    let span = 3_000_000_000_000_000i64;
    let mut ts: Vec<Option<i64>> = (0..4_000)
        .map(|_| (rng.below(40) != 0).then(|| rng.below(2 * span as u64) as i64 - span))
        .collect();
    for day in ["2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z"] {
        let start = chrono::DateTime::parse_from_rfc3339(day)
            .map(|t| t.timestamp_micros())
            .expect("valid");
        ts.extend((0..6 * 30).map(|k| Some(start + k * 600_000_000 + 7)));
    }
    let schema = Arc::new(Schema::new(vec![Field::new(
        "ts",
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )]));
    let batches = ts
        .chunks(1_000)
        .map(|c| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(
                    TimestampMicrosecondArray::from(c.to_vec()).with_timezone("UTC"),
                )],
            )
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let ctx = Session::new()?.context().clone();
    ctx.register_table("b", Arc::new(MemTable::try_new(schema, vec![batches])?))?;
    Ok(ctx)
}

async fn i64_pairs(ctx: &SessionContext, sql: &str) -> Result<Vec<(Option<i64>, Option<i64>)>> {
    let out = ctx.sql(sql).await?.collect().await?;
    Ok(out
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_primitive::<Int64Type>();
            let c = b.column(1).as_primitive::<Int64Type>();
            (0..b.num_rows())
                .map(|i| {
                    (
                        a.is_valid(i).then(|| a.value(i)),
                        c.is_valid(i).then(|| c.value(i)),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect())
}

#[tokio::test]
async fn time_bucket_equals_date_bin_and_date_trunc() -> Result<()> {
    let ctx = bucket_table()?;
    let timescale = "TIMESTAMP '2000-01-03T00:00:00Z'";
    let origin = "TIMESTAMP '2026-01-01T00:07:00Z'";
    let mut cases = Vec::new();
    for ty in [
        "Timestamp(µs, \"UTC\")",
        "Timestamp(ms)",
        "Timestamp(s, \"UTC\")",
        "Timestamp(ns)",
    ] {
        let x = format!("arrow_cast(ts, '{ty}')");
        for i in ["1 second", "15 minutes", "90 minutes", "1 day", "7 days"] {
            // date_bin returns zoned timestamps in nanoseconds: cast back.
            cases.push((
                format!("time_bucket(INTERVAL '{i}', {x})"),
                format!("arrow_cast(date_bin(INTERVAL '{i}', {x}, {timescale}), '{ty}')"),
                "",
            ));
            cases.push((
                format!("time_bucket(INTERVAL '{i}', {x}, {origin})"),
                format!("arrow_cast(date_bin(INTERVAL '{i}', {x}, {origin}), '{ty}')"),
                "",
            ));
        }
        for (i, g) in [
            ("1 month", "month"),
            ("3 months", "quarter"),
            ("1 year", "year"),
        ] {
            cases.push((
                format!("time_bucket(INTERVAL '{i}', {x})"),
                format!("date_trunc('{g}', {x})"),
                "",
            ));
        }
    }
    // Known differences, in `Bucket::calendar` (fabrik_kernels::bucket), on historical
    // dates: an ambiguous local midnight (Berlin, 1916-10-01) takes the earlier instant
    // where DataFusion keeps the offset of the timestamp, and a gap that does not end on
    // a whole minute (Berlin's switch from local mean time on 1893-04-01) is stepped over
    // by whole minutes. Zoned calendar buckets are compared from 1970 on.
    let since_1970 = "WHERE ts >= TIMESTAMP '1970-01-01T00:00:00Z'";
    for tz in ["Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata"] {
        let zoned = format!("arrow_cast(ts, 'Timestamp(µs, \"{tz}\")')");
        for (i, g) in [
            ("1 day", "day"),
            ("7 days", "week"),
            ("1 week", "week"),
            ("1 month", "month"),
            ("3 months", "quarter"),
            ("1 year", "year"),
        ] {
            cases.push((
                format!("time_bucket(INTERVAL '{i}', ts, '{tz}')"),
                format!("date_trunc('{g}', {zoned})"),
                since_1970,
            ));
        }
    }
    for (ours, theirs, filter) in &cases {
        let sql =
            format!("SELECT CAST({ours} AS BIGINT), CAST({theirs} AS BIGINT) FROM b {filter}");
        let pairs = i64_pairs(&ctx, &sql).await?;
        assert!(pairs.len() > 2_000);
        let bad: Vec<_> = pairs.iter().filter(|(a, b)| a != b).take(3).collect();
        assert!(bad.is_empty(), "{ours} vs {theirs}: {bad:?}");
        if filter.is_empty() {
            assert!(pairs.iter().any(|(a, _)| a.is_none()), "nulls stay null");
        }
    }
    // Scalars.
    let out = pretty_format_batches(
        &ctx.sql(
            "SELECT time_bucket(INTERVAL '15 minutes', TIMESTAMP '2026-03-29T01:07:00') AS a, \
             time_bucket(INTERVAL '1 day', arrow_cast(TIMESTAMP '2026-03-29T23:30:00Z', 'Timestamp(µs, \"UTC\")'), 'Europe/Berlin') AS b",
        )
        .await?
        .collect()
        .await?,
    )?
    .to_string();
    assert!(
        out.contains("| 2026-03-29T01:00:00 | 2026-03-29T22:00:00Z |"),
        "{out}"
    );
    Ok(())
}

#[tokio::test]
async fn unsupported_time_buckets_are_planning_errors() -> Result<()> {
    let ctx = bucket_table()?;
    for sql in [
        "SELECT time_bucket(INTERVAL '2 months', ts) FROM b",
        "SELECT time_bucket(INTERVAL '1 hour', ts, 'Europe/Berlin') FROM b",
        "SELECT time_bucket(INTERVAL '1 month 2 days', ts) FROM b",
    ] {
        let err = ctx.sql(sql).await.expect_err(sql);
        let msg = err.to_string();
        assert!(msg.contains("Supported:"), "{sql}: {msg}");
    }
    let err = ctx
        .sql("SELECT time_bucket(INTERVAL '1 day', ts, 'Mars/Base') FROM b")
        .await
        .expect_err("unknown zone");
    assert!(err.to_string().contains("Mars/Base"), "{err}");
    Ok(())
}

fn interval(months: i32, days: i32, nanoseconds: i64) -> IntervalMonthDayNano {
    IntervalMonthDayNano {
        months,
        days,
        nanoseconds,
    }
}

fn unit_of(ty: &str) -> TimeUnit {
    match ty.split(['(', ',', ')']).nth(1).map(str::trim) {
        Some("s") => TimeUnit::Second,
        Some("ms") => TimeUnit::Millisecond,
        Some("µs") => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

async fn check_spec(
    ctx: &SessionContext,
    bucket: Bucket,
    (x, ty): (&str, &str),
    call: &str,
) -> Result<()> {
    // The historical differences of calendar buckets in a zone (see
    // time_bucket_equals_date_bin_and_date_trunc) are left out.
    let filter = if ty.contains('/') {
        "WHERE ts >= TIMESTAMP '1970-01-01T00:00:00Z'"
    } else {
        ""
    };
    // date_bin computes zoned timestamps in nanoseconds (it casts its input): cast its
    // result back to the input's type.
    let sql = format!(
        "SELECT CAST(x AS BIGINT), CAST(arrow_cast({call}, '{ty}') AS BIGINT) \
         FROM (SELECT {x} AS x FROM b {filter})"
    );
    let pairs = i64_pairs(ctx, &sql).await?;
    let bad: Vec<_> = pairs
        .iter()
        .filter(|(raw, got)| raw.and_then(|r| bucket.start(r)) != *got)
        .take(3)
        .collect();
    assert!(bad.is_empty(), "{call} on {x}: {bucket:?}: {bad:?}");
    Ok(())
}

#[tokio::test]
async fn date_specs_give_what_datafusion_gives() -> Result<()> {
    let ctx = bucket_table()?;
    let (mut checked, mut declined) = (0, 0);
    let types = [
        ("Timestamp(µs)", None),
        ("Timestamp(ms, \"UTC\")", None),
        ("Timestamp(s)", None),
        ("Timestamp(ns)", None),
        ("Timestamp(µs, \"Europe/Berlin\")", Some("Europe/Berlin")),
        (
            "Timestamp(ms, \"America/Sao_Paulo\")",
            Some("America/Sao_Paulo"),
        ),
        ("Timestamp(s, \"Asia/Kolkata\")", Some("Asia/Kolkata")),
        ("Timestamp(µs, \"+05:30\")", Some("+05:30")),
    ];
    for (ty, tz) in types {
        let unit = unit_of(ty);
        let x = format!("arrow_cast(ts, '{ty}')");
        for g in [
            "microsecond",
            "millisecond",
            "second",
            "minute",
            "hour",
            "day",
            "week",
            "month",
            "quarter",
            "year",
        ] {
            // A zone of "UTC" on the type is the same as none for the spec.
            let zone = tz.or(ty.contains("UTC").then_some("UTC"));
            match date_trunc_spec(g, zone, unit) {
                Some(bucket) => {
                    check_spec(&ctx, bucket, (&x, ty), &format!("date_trunc('{g}', x)")).await?;
                    checked += 1;
                }
                None => declined += 1,
            }
        }
        for (i, iv) in [
            ("1 second", interval(0, 0, 1_000_000_000)),
            ("15 minutes", interval(0, 0, 900_000_000_000)),
            ("1 hour", interval(0, 0, 3_600_000_000_000)),
            ("1 day", interval(0, 1, 0)),
            ("7 days", interval(0, 7, 0)),
            ("1 month", interval(1, 0, 0)),
            ("3 months", interval(3, 0, 0)),
            ("1 year", interval(12, 0, 0)),
            ("2 months", interval(2, 0, 0)),
        ] {
            for (o, origin) in [
                (None, None),
                (Some("TIMESTAMP '1970-01-01T00:00:00Z'"), Some(0)),
                (
                    Some("TIMESTAMP '2026-01-01T00:07:00Z'"),
                    Some(1_767_226_020_000_000_000),
                ),
            ] {
                let call = match o {
                    None => format!("date_bin(INTERVAL '{i}', x)"),
                    Some(o) => format!("date_bin(INTERVAL '{i}', x, {o})"),
                };
                match date_bin_spec(iv, origin, unit) {
                    Some(bucket) => {
                        check_spec(&ctx, bucket, (&x, ty), &call).await?;
                        checked += 1;
                    }
                    None => declined += 1,
                }
            }
        }
    }
    assert!(
        checked > 150 && declined > 10,
        "{checked} checked, {declined} declined"
    );
    Ok(())
}
