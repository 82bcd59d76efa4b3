//! Ingest from `s3://` URLs against a real S3 API server: the library in-process (store
//! options given in code) and the `ingest` example as a process (credentials from `AWS_*`
//! variables, as a user sets them).
//!
//! The server is found through `FABRIK_TEST_S3_ENDPOINT` (`http://127.0.0.1:PORT`); any S3
//! API server where the test may create buckets will do. `.ci/run` installs moto and starts
//! `moto_server` for it; by hand:
//!
//! ```text
//! pip install 'moto[server]' && moto_server -H 127.0.0.1 -p 5000 &
//! FABRIK_TEST_S3_ENDPOINT=http://127.0.0.1:5000 cargo test --workspace --test it remote
//! ```
//!
//! Without the variable the tests print that they were skipped; under CI (`CI` set) they
//! fail instead, so that CI cannot pass without running them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use fabrik::datafusion::arrow::array::{Array, AsArray};
use fabrik::datafusion::arrow::compute::cast;
use fabrik::datafusion::arrow::datatypes::{DataType, UInt64Type};
use fabrik::datafusion::prelude::SessionContext;
use fabrik::lake::source::remote::StoreOptions;
use fabrik::lake::{Error, IngestOptions, IngestReport, Lake, ingest};
use fabrik::model::{Table, testdata_path};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// The variable naming the S3 API server.
const ENDPOINT_ENV: &str = "FABRIK_TEST_S3_ENDPOINT";
/// Credentials and region the local server accepts (it checks none of them).
const KEY_ID: &str = "fabrik-test";
const SECRET: &str = "fabrik-test-secret";
const REGION: &str = "us-east-1";

/// The server's URL, or `None` (the test is skipped) when the variable is unset outside CI.
fn endpoint(test: &str) -> Option<String> {
    match std::env::var(ENDPOINT_ENV) {
        Ok(e) if !e.trim().is_empty() => Some(e.trim().trim_end_matches('/').to_string()),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{ENDPOINT_ENV} is unset under CI: .ci/run must start the S3 API server"
            );
            eprintln!(
                "{test}: skipped: {ENDPOINT_ENV} is unset, so there is no S3 API server to test \
                 against (start one, e.g. `moto_server -H 127.0.0.1 -p 5000`, and set \
                 {ENDPOINT_ENV}=http://127.0.0.1:5000; .ci/run does)"
            );
            None
        }
    }
}

/// A new, empty bucket on the server, named after the test and this process.
async fn new_bucket(endpoint: &str, test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    let bucket = format!("fabrik-{test}-{}-{nanos}", std::process::id());
    // Creating a bucket is not an object_store operation: a plain S3 `PUT /bucket`.
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("S3 API server at {endpoint} ({ENDPOINT_ENV}): {e}"));
    assert!(
        created.status().is_success(),
        "creating bucket {bucket}: {}",
        created.status()
    );
    bucket
}

/// The bucket as an object store, for uploads.
fn store(endpoint: &str, bucket: &str) -> Arc<dyn ObjectStore> {
    Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region(REGION)
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(SECRET)
            .build()
            .expect("S3 store"),
    )
}

async fn upload(store: &dyn ObjectStore, key: &str, bytes: Vec<u8>) {
    store
        .put(&ObjectPath::from(key), PutPayload::from(bytes))
        .await
        .unwrap_or_else(|e| panic!("upload {key}: {e}"));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

fn fixture(rel: &str) -> (PathBuf, Vec<u8>) {
    let path = testdata_path(rel).expect("fixture");
    let bytes = std::fs::read(&path).expect("read fixture");
    (path, bytes)
}

/// Three bom files of November under `plant-7/` (a clean CSV, a malformed one gzipped, the
/// clean one again as another day), one of October and a note that the glob must skip.
/// Returns the URLs the glob `plant-7/bom-2026-11-*` must match, in order.
async fn upload_plant(endpoint: &str, bucket: &str) -> Vec<String> {
    let s3 = store(endpoint, bucket);
    let (_, clean) = fixture("clean/bom.csv");
    let (_, malformed) = fixture("malformed/bom.csv");
    upload(&*s3, "plant-7/bom-2026-11-01.csv", clean.clone()).await;
    upload(&*s3, "plant-7/bom-2026-11-02.csv.gz", gzip(&malformed)).await;
    upload(&*s3, "plant-7/bom-2026-10-31.csv", clean).await;
    upload(&*s3, "plant-7/notes.txt", b"not a table".to_vec()).await;
    upload(&*s3, "plant-8/bom-2026-11-01.csv", malformed).await;
    ["bom-2026-11-01.csv", "bom-2026-11-02.csv.gz"]
        .map(|k| format!("s3://{bucket}/plant-7/{k}"))
        .to_vec()
}

fn s3_options(endpoint: &str) -> StoreOptions {
    StoreOptions::new()
        .with("aws_endpoint", endpoint)
        .with("aws_allow_http", "true")
        .with("aws_region", REGION)
        .with("aws_access_key_id", KEY_ID)
        .with("aws_secret_access_key", SECRET)
}

/// The distinct `source` values of the table's rejects, sorted.
async fn reject_sources(lake: &Lake, table: Table) -> Vec<String> {
    let ctx = SessionContext::new();
    let rejects = lake.rejects(table).await.expect("rejects table");
    ctx.register_table("r", rejects.provider().await.expect("provider"))
        .expect("register");
    let batches = ctx
        .sql("SELECT DISTINCT source FROM r ORDER BY source")
        .await
        .expect("sql")
        .collect()
        .await
        .expect("collect");
    let mut out = Vec::new();
    for b in batches {
        let col = cast(b.column(0), &DataType::Utf8).expect("text");
        let col = col.as_string::<i32>();
        out.extend((0..col.len()).map(|i| col.value(i).to_string()));
    }
    out
}

async fn ingest_bom(lake: &Lake, inputs: &[String], opts: &IngestOptions) -> IngestReport {
    let mut seen = Vec::new();
    let report = ingest(lake, Table::Bom, inputs, opts, &mut |p: &Path, _| {
        seen.push(p.to_path_buf())
    })
    .await
    .unwrap_or_else(|e| panic!("ingest {inputs:?}: {e}"));
    for p in &seen {
        assert!(
            report.files.iter().any(|f| f.path == *p),
            "progress names the input files: {p:?}"
        );
    }
    report
}

#[tokio::test]
async fn s3_glob_ingest_reconciles_and_reports_and_rejects_name_the_urls() {
    let test = "s3-glob";
    let Some(endpoint) = endpoint(test) else {
        return;
    };
    let bucket = new_bucket(&endpoint, test).await;
    let urls = upload_plant(&endpoint, &bucket).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let lake = Lake::open(tmp.path().join("lake").to_str().expect("utf-8"))
        .await
        .expect("lake");
    let opts = IngestOptions {
        store: s3_options(&endpoint),
        ..IngestOptions::default()
    };

    let glob = format!("s3://{bucket}/plant-7/bom-2026-11-*");
    let report = ingest_bom(&lake, std::slice::from_ref(&glob), &opts).await;
    let got: Vec<(Option<&str>, &Path)> = report
        .files
        .iter()
        .map(|f| (f.url.as_deref(), f.path.as_path()))
        .collect();
    let want: Vec<(Option<&str>, &Path)> = urls
        .iter()
        .map(|u| (Some(u.as_str()), Path::new(u)))
        .collect();
    assert_eq!(got, want, "the glob's objects, in key order, named by URL");
    assert!(report.reconciles(), "{report:?}");

    // The same bytes ingested from local paths give the same hashes and counts.
    let local_lake = Lake::open(tmp.path().join("local").to_str().expect("utf-8"))
        .await
        .expect("lake");
    let gz = tmp.path().join("bom-2026-11-02.csv.gz");
    std::fs::write(&gz, gzip(&fixture("malformed/bom.csv").1)).expect("write gz");
    let local_inputs = [
        fixture("clean/bom.csv").0.display().to_string(),
        gz.display().to_string(),
    ];
    let local = ingest_bom(&local_lake, &local_inputs, &IngestOptions::default()).await;
    for (s3, local) in report.files.iter().zip(&local.files) {
        assert_eq!(
            (
                &s3.content_hash,
                s3.rows_read,
                s3.accepted,
                s3.rejected,
                s3.duplicates
            ),
            (
                &local.content_hash,
                local.rows_read,
                local.accepted,
                local.rejected,
                local.duplicates
            ),
            "{} read as {}",
            s3.path.display(),
            local.path.display()
        );
        assert_eq!(local.url, None);
    }
    assert!(
        report.files[1].rejected > 0,
        "the malformed file has rejects"
    );

    // Every reject names the object's URL, never a spool file.
    assert_eq!(reject_sources(&lake, Table::Bom).await, [urls[1].clone()]);

    // Re-running the glob reads nothing; the clean file from a local path is known too.
    let again = ingest_bom(&lake, &[glob], &opts).await;
    assert!(
        again.files.iter().all(|f| f.already_ingested) && again.rows_read() == 0,
        "{again:?}"
    );
    let local_copy = ingest_bom(&lake, &local_inputs[..1], &opts).await;
    assert!(
        local_copy.files[0].already_ingested,
        "same content, same id"
    );
}

#[tokio::test]
async fn missing_objects_and_buckets_are_errors_naming_the_url() {
    let test = "s3-missing";
    let Some(endpoint) = endpoint(test) else {
        return;
    };
    let bucket = new_bucket(&endpoint, test).await;
    upload_plant(&endpoint, &bucket).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let lake = Lake::open(tmp.path().to_str().expect("utf-8"))
        .await
        .expect("lake");
    let opts = IngestOptions {
        store: s3_options(&endpoint),
        ..IngestOptions::default()
    };
    let version = || async {
        let table = lake.table(Table::Bom).await.expect("table");
        table.version().await.expect("version")
    };
    let before = version().await;
    for url in [
        format!("s3://{bucket}/plant-7/bom-2026-12-01.csv"),
        format!("s3://{bucket}/plant-7/bom-2027-*.csv"),
        format!("s3://{bucket}-gone/plant-7/bom-2026-11-01.csv"),
    ] {
        let err = ingest(
            &lake,
            Table::Bom,
            std::slice::from_ref(&url),
            &opts,
            &mut |_, _| {},
        )
        .await
        .expect_err(&url);
        assert!(
            matches!(&err, Error::InputNotFound { input, .. } if *input == url),
            "{url}: {err:?}"
        );
    }
    assert_eq!(version().await, before, "failed ingests commit nothing");
}

#[test]
fn the_ingest_example_reads_s3_urls_with_credentials_from_the_environment() {
    let test = "s3-example";
    let Some(endpoint) = endpoint(test) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let bucket = rt.block_on(new_bucket(&endpoint, test));
    let urls = rt.block_on(upload_plant(&endpoint, &bucket));
    let tmp = tempfile::tempdir().expect("tmp");
    let lake = tmp.path().join("lake");
    let lake = lake.to_str().expect("utf-8");
    let run = |inputs: &[&str]| {
        let mut cmd = Command::new(crate::examples::example("ingest"));
        cmd.args(["--lake", lake, "--table", "bom", "--quiet"])
            .args(inputs)
            .env("AWS_ENDPOINT", &endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET);
        let out = cmd.output().expect("ingest runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let glob = format!("s3://{bucket}/plant-7/bom-2026-11-*");
    let (code, stdout, stderr) = run(&[&glob]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    // table files skip read accepted rejected duplicates written MB version seconds check
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("bom "))
        .unwrap_or_else(|| panic!("no bom report row:\n{stdout}"))
        .split_whitespace()
        .collect();
    assert_eq!((row[1], row[2], row[11]), ("2", "0", "OK"), "{stdout}");
    assert_ne!(row[5], "0", "the malformed object has rejects:\n{stdout}");
    // The rejects sample shows the object's file name (the example trims the URL).
    assert!(stdout.contains("bom-2026-11-02.csv.gz"), "{stdout}");
    assert!(!stdout.contains("fabrik-spool"), "{stdout}");
    let sources = rt.block_on(async {
        let lake = Lake::open(lake).await.expect("lake");
        reject_sources(&lake, Table::Bom).await
    });
    assert_eq!(sources, [urls[1].clone()]);

    // A missing object and an unknown scheme: exit 1, the URL named, what to do said.
    let missing = format!("s3://{bucket}/plant-7/bom-2026-12-01.csv");
    let (code, _, stderr) = run(&[&missing]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&missing) && stderr.contains("check the bucket and the key"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["ftp://files.example/bom.csv"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("ftp://files.example/bom.csv") && stderr.contains("s3://bucket/key"),
        "{stderr}"
    );
}

#[test]
fn the_ingest_example_help_shows_url_inputs_and_their_credentials() {
    let out = Command::new(crate::examples::example("ingest"))
        .arg("--help")
        .output()
        .expect("ingest runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    for needle in [
        "s3://bucket/key",
        "gs://",
        "az://",
        "AWS_ACCESS_KEY_ID",
        "AWS_ENDPOINT",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

/// A lake on S3: tables created and committed there (conditional puts), read back through
/// SQL with their order, re-ingest a no-op, two ingests of other files committed one after
/// the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lake_on_s3_ingests_reads_back_and_is_idempotent() {
    let Some(endpoint) = endpoint("a_lake_on_s3") else {
        return;
    };
    let bucket = new_bucket(&endpoint, "lake").await;
    let options: std::collections::HashMap<String, String> = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_allow_http", "true"),
        ("aws_region", REGION),
        ("aws_access_key_id", KEY_ID),
        ("aws_secret_access_key", SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let url = format!("s3://{bucket}/plants/lake");
    let lake = Lake::open_with_options(&url, options.clone())
        .await
        .expect("lake on s3");
    let (readings, _) = fixture("clean/sensor_readings.csv");
    let (orders, _) = fixture("clean/orders.csv");
    let run = |table, path: &PathBuf| {
        let lake = lake.clone();
        let input = path.to_string_lossy().into_owned();
        async move {
            ingest(
                &lake,
                table,
                &[input],
                &IngestOptions::default(),
                &mut |_, _| {},
            )
            .await
            .expect("ingest into the s3 lake")
        }
    };
    let first = run(Table::SensorReadings, &readings).await;
    assert!(first.reconciles() && first.accepted() > 0, "{first:?}");
    let orders_report = run(Table::Orders, &orders).await;
    assert!(orders_report.accepted() > 0, "{orders_report:?}");
    let again = run(Table::SensorReadings, &readings).await;
    assert!(again.files.iter().all(|f| f.already_ingested), "{again:?}");

    // The objects are in the bucket, under the lake's prefix.
    let s3 = store(&endpoint, &bucket);
    let log = s3
        .list_with_delimiter(Some(&ObjectPath::from(
            "plants/lake/sensor_readings/_delta_log",
        )))
        .await
        .expect("list the delta log");
    assert!(!log.objects.is_empty(), "no Delta log on S3");

    // Another process's view: a new handle reads the rows back through SQL.
    let reopened = Lake::open_with_options(&url, options)
        .await
        .expect("reopen");
    let session = fabrik::sql::Session::new().expect("session");
    session.register_lake(&reopened).await.expect("register");
    let batches = session
        .query("SELECT count(*) AS n FROM sensor_readings")
        .await
        .expect("count");
    let n = cast(batches[0].column(0), &DataType::UInt64).expect("cast");
    assert_eq!(n.as_primitive::<UInt64Type>().value(0), first.accepted());
}
