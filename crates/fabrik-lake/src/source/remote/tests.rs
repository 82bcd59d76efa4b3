//! Object-store inputs through real stores that need no server: `file://` URLs read by
//! object_store's `LocalFileSystem` take the same listing, glob, spooling and relabelling
//! code as `s3://` (tested against a real S3 API server in `tests/it/remote.rs`).

use std::io::Write;

use fabrik_model::{Table, testdata_path};

use super::*;
use crate::source::{SourceOptions, SourceReader};

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, bytes).expect("write");
    path
}

fn file_url(path: &Path) -> String {
    Url::from_file_path(path)
        .expect("absolute path")
        .to_string()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

fn urls(found: &[ObjectInput]) -> Vec<String> {
    found.iter().map(|o| o.url().to_string()).collect()
}

/// A tree of plant files: two of November in plant-7, one of October, a hidden one, one in
/// a sub-directory, one in another plant.
fn plant_tree() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    for rel in [
        "plant-7/2026-11-01.csv",
        "plant-7/2026-11-02.csv.gz",
        "plant-7/2026-10-31.csv",
        "plant-7/.2026-11-09.csv",
        "plant-7/old/2026-11-05.csv",
        "plant-8/2026-11-01.csv",
    ] {
        write(tmp.path(), rel, rel.as_bytes());
    }
    let root = file_url(tmp.path());
    (tmp, root)
}

#[tokio::test]
async fn a_glob_lists_the_prefix_and_matches_the_rest_of_each_key() {
    let (_tmp, root) = plant_tree();
    let opts = StoreOptions::new();

    let found = resolve_url(&format!("{root}/plant-7/2026-11-*.csv*"), &opts)
        .await
        .expect("glob");
    assert_eq!(
        urls(&found),
        [
            format!("{root}/plant-7/2026-11-01.csv"),
            format!("{root}/plant-7/2026-11-02.csv.gz"),
        ],
        "`*` stays in its segment: old/ is not matched; sorted"
    );
    assert_eq!(found[0].size(), "plant-7/2026-11-01.csv".len() as u64);

    // Wildcards in a directory segment, `?` and `[…]` (not a query string), and `**`.
    let found = resolve_url(&format!("{root}/plant-?/2026-11-0[1]*"), &opts)
        .await
        .expect("glob over plants");
    assert_eq!(
        urls(&found),
        [
            format!("{root}/plant-7/2026-11-01.csv"),
            format!("{root}/plant-8/2026-11-01.csv"),
        ]
    );
    let found = resolve_url(&format!("{root}/plant-7/**/2026-11-05.csv"), &opts)
        .await
        .expect("recursive glob");
    assert_eq!(urls(&found), [format!("{root}/plant-7/old/2026-11-05.csv")]);

    // A glob matching nothing names the URL and the prefix listed.
    let err = resolve_url(&format!("{root}/plant-7/2027-*.csv"), &opts)
        .await
        .expect_err("nothing matches");
    assert!(
        matches!(&err, Error::InputNotFound { input, .. } if input.ends_with("plant-7/2027-*.csv")),
        "{err}"
    );
    assert!(err.to_string().contains("matches no object under"), "{err}");
}

#[tokio::test]
async fn a_prefix_lists_its_objects_like_a_directory() {
    let (_tmp, root) = plant_tree();
    let opts = StoreOptions::new();
    let expected = [
        format!("{root}/plant-7/2026-10-31.csv"),
        format!("{root}/plant-7/2026-11-01.csv"),
        format!("{root}/plant-7/2026-11-02.csv.gz"),
    ];
    // With a trailing slash, and without one (no object has that key).
    let with_slash = resolve_url(&format!("{root}/plant-7/"), &opts)
        .await
        .expect("prefix/");
    assert_eq!(urls(&with_slash), expected, "not recursive, hidden skipped");
    let without = resolve_url(&format!("{root}/plant-7"), &opts)
        .await
        .expect("prefix");
    assert_eq!(urls(&without), expected);

    // One object is itself, its URL as given.
    let one = format!("{root}/plant-8/2026-11-01.csv");
    assert_eq!(urls(&resolve_url(&one, &opts).await.expect("one")), [one]);
}

#[tokio::test]
async fn missing_objects_bad_urls_and_unknown_schemes_are_typed_errors_naming_the_url() {
    let (_tmp, root) = plant_tree();
    let opts = StoreOptions::new();

    let missing = format!("{root}/plant-7/2026-12-01.csv");
    let err = resolve_url(&missing, &opts).await.expect_err("missing");
    assert!(
        matches!(&err, Error::InputNotFound { input, .. } if *input == missing),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("check the bucket and the key"),
        "{err}"
    );

    for (url, scheme) in [("ftp://host/x.csv", "ftp"), ("memory:///x.csv", "memory")] {
        let err = resolve_url(url, &opts).await.expect_err(url);
        assert!(
            matches!(&err, Error::UnknownScheme { url: u, scheme: s } if u == url && s == scheme),
            "{url}: {err:?}"
        );
        assert!(err.to_string().contains("s3://bucket/key"), "{err}");
    }

    // Malformed: no bucket, a broken host, an invalid glob. None reaches a network.
    for (url, expected) in [
        ("s3:///key.csv", "s3://bucket/key"),
        ("http://[::1/x.csv", "http(s)://host/path"),
    ] {
        let err = resolve_url(url, &opts).await.expect_err(url);
        assert!(
            matches!(&err, Error::BadUrl { url: u, expected: e, .. } if u == url && e.starts_with(expected)),
            "{url}: {err:?}"
        );
    }
    let bad_glob = format!("{root}/plant-7/2026-[*.csv");
    let err = resolve_url(&bad_glob, &opts).await.expect_err("bad glob");
    assert!(
        matches!(&err, Error::BadUrl { url, why, .. } if *url == bad_glob && why.contains("invalid glob")),
        "{err:?}"
    );
}

#[test]
fn refused_credentials_say_which_variables_to_set() {
    let denied = || object_store::Error::PermissionDenied {
        path: "plant-7/2026-11-01.csv".to_string(),
        source: "403 Forbidden".into(),
    };
    let url = "s3://plant-data/plant-7/2026-11-01.csv";
    let err = store_error(url, StoreKind::S3, denied());
    assert!(
        matches!(&err, Error::AccessDenied { url: u, .. } if u == url),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(url) && text.contains("AWS_ACCESS_KEY_ID"),
        "{text}"
    );
    let err = store_error("gs://b/k.csv", StoreKind::Gcs, denied());
    assert!(err.to_string().contains("GOOGLE_SERVICE_ACCOUNT"), "{err}");
    let err = store_error("az://c/k.csv", StoreKind::Azure, denied());
    assert!(
        err.to_string().contains("AZURE_STORAGE_ACCOUNT_NAME"),
        "{err}"
    );
    let unauthenticated = object_store::Error::Unauthenticated {
        path: "k.csv".to_string(),
        source: "401".into(),
    };
    assert!(matches!(
        store_error("s3://b/k.csv", StoreKind::S3, unauthenticated),
        Error::AccessDenied { .. }
    ));
}

#[tokio::test]
async fn fetch_spools_the_object_hashes_it_as_content_hash_and_cleans_up() {
    let tmp = tempfile::tempdir().expect("tmp");
    let body: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let local = write(tmp.path(), "data/blob.csv", &body);
    let found = resolve_url(&file_url(&local), &StoreOptions::new())
        .await
        .expect("resolve");
    let fetched = found[0].fetch().await.expect("fetch");
    assert_ne!(fetched.path(), local.as_path(), "a spool copy");
    assert_eq!(
        fetched.path().file_name(),
        local.file_name(),
        "named as the object"
    );
    assert_eq!(std::fs::read(fetched.path()).expect("spool"), body);
    assert_eq!(
        fetched.content_hash(),
        crate::ingest::content_hash(&local).expect("hash"),
        "the same content has the same ingest id from a path or a URL"
    );
    assert_eq!(fetched.url(), Some(file_url(&local).as_str()));
    assert_eq!(fetched.report_path(), PathBuf::from(file_url(&local)));
    let spool = fetched.path().to_path_buf();
    drop(fetched);
    assert!(!spool.exists(), "the spool is removed with the Fetched");
    assert!(!spool.parent().expect("dir").exists());

    // A local input is read in place.
    let fetched = Input::Local(local.clone()).fetch().await.expect("local");
    assert_eq!(fetched.path(), local.as_path());
    assert_eq!(fetched.url(), None);
    assert_eq!(fetched.report_path(), local);
}

#[tokio::test]
async fn rejects_and_reader_errors_of_a_spooled_object_name_its_url() {
    let tmp = tempfile::tempdir().expect("tmp");
    let malformed =
        std::fs::read(testdata_path("malformed/bom.csv").expect("fixture")).expect("read fixture");
    // Gzip by name: the spool keeps `.csv.gz`, so the reader decompresses it.
    let gz = write(tmp.path(), "in/bom.csv.gz", &gzip(&malformed));
    let url = file_url(&gz);
    let found = resolve_url(&url, &StoreOptions::new())
        .await
        .expect("resolve");
    let fetched = found[0].fetch().await.expect("fetch");
    let opts = SourceOptions::default();
    let chunks: Vec<SourceBatch> = fetched
        .relabel(SourceReader::open(Table::Bom, fetched.path(), &opts))
        .expect("open")
        .collect::<Result<_>>()
        .expect("read");
    let rejects: Vec<&Reject> = chunks.iter().flat_map(|c| &c.rejects).collect();
    assert!(!rejects.is_empty(), "the fixture has rejects");
    assert!(rejects.iter().all(|r| r.source == url), "{rejects:?}");
    let rows: u64 = chunks.iter().map(|c| c.rows_read).sum();
    let direct: u64 = SourceReader::open(
        Table::Bom,
        &testdata_path("malformed/bom.csv").expect("fixture"),
        &opts,
    )
    .expect("open fixture")
    .map(|c| c.expect("chunk").rows_read)
    .sum();
    assert_eq!(rows, direct, "the gzip object reads as the plain file");

    // A file-level error (a header of another table) names the URL, not the spool file.
    let orders = write(tmp.path(), "in/orders.csv", b"order_id,sku\nO1,WM-1\n");
    let found = resolve_url(&file_url(&orders), &StoreOptions::new())
        .await
        .expect("resolve");
    let fetched = found[0].fetch().await.expect("fetch");
    let err = fetched
        .relabel(SourceReader::open(Table::Bom, fetched.path(), &opts))
        .expect_err("wrong header");
    assert!(
        matches!(&err, Error::Header { path, .. } if path.as_os_str() == file_url(&orders).as_str()),
        "{err:?}"
    );
    // A local file's errors stay as they were.
    let local = Input::Local(orders.clone()).fetch().await.expect("local");
    let err = local
        .relabel(SourceReader::open(Table::Bom, local.path(), &opts))
        .expect_err("wrong header");
    assert!(
        matches!(&err, Error::Header { path, .. } if *path == orders),
        "{err:?}"
    );
}

#[tokio::test]
async fn resolve_keeps_input_order_reads_file_urls_locally_and_drops_duplicates() {
    let (tmp, root) = plant_tree();
    let a = tmp.path().join("plant-7/2026-11-01.csv");
    let inputs = [
        format!("{root}/plant-8/*.csv"),
        a.display().to_string(),
        format!("{root}/plant-8/2026-11-01.csv"),
        file_url(&a),
    ];
    assert!(!is_url(&inputs[0]), "file:// is a local input");
    assert!(is_url("s3://bucket/key.csv") && is_url("HTTPS://host/x.csv"));
    assert!(!is_url("plant-7/2026-11-01.csv") && !is_url("/data/x.csv"));
    let found = resolve(&inputs, &StoreOptions::new())
        .await
        .expect("resolve");
    let names: Vec<String> = found.iter().map(Input::name).collect();
    assert_eq!(
        names,
        [
            tmp.path()
                .join("plant-8/2026-11-01.csv")
                .display()
                .to_string(),
            a.display().to_string(),
        ],
        "file:// URLs are local paths; each file once, in input order"
    );
    assert!(found.iter().all(|i| i.url().is_none()));
}

#[test]
fn store_options_win_over_the_environment_and_never_print_their_values() {
    let opts = StoreOptions::new()
        .with("AWS_SECRET_ACCESS_KEY", "s3cr3t")
        .with("aws_region", "eu-central-1");
    let debug = format!("{opts:?}");
    assert!(
        debug.contains("aws_secret_access_key") && !debug.contains("s3cr3t"),
        "{debug}"
    );
    let pairs = opts.for_kind(StoreKind::S3);
    let last = pairs.last().expect("options come last");
    assert_eq!(
        last.0, "aws_secret_access_key",
        "explicit keys after the environment"
    );
    assert!(
        pairs
            .iter()
            .all(|(k, _)| k.starts_with("AWS_") || k.starts_with("aws_")),
        "only the S3 variables reach an S3 store: {:?}",
        pairs.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    assert_eq!(
        opts.for_kind(StoreKind::Http).len(),
        2,
        "no environment for HTTP"
    );
}
