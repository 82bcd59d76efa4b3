//! Inputs at object-store URLs: `s3://…`, `gs://…`, `az://…`/`abfss://…`, `http(s)://…`
//! (and `file://…`), globs in the key included.
//!
//! [`resolve`] expands inputs, in order and without duplicates, into [`Input`]s. Local
//! paths, directories and globs (and `file://` URLs) go through [`super::resolve`]; any
//! other URL is looked up in its object store, built by object_store's
//! [`parse_url_opts`](object_store::parse_url_opts) from the process environment (the
//! variables that object_store's builders read in `from_env`: `AWS_*` for S3, `GOOGLE_*`
//! for Google Cloud Storage, `AZURE_*` for Azure) and the [`StoreOptions`] given on top:
//!
//! - `s3://bucket/plant-7/2026-11-01.csv`: that object;
//! - `s3://bucket/plant-7/` (or a key that is no object but has objects under it): the
//!   objects directly under that prefix, like a local directory (not recursive, names
//!   starting with `.` skipped), sorted;
//! - `s3://bucket/plant-7/2026-11-*.csv`: a glob. The store lists everything under the
//!   prefix before the first segment with a wildcard (`*`, `?` or `[`), and the `glob`
//!   crate matches the rest of each key as for local globs, except that `*`, `?` and
//!   `[…]` stay within one `/`-separated segment (`**` crosses them). Sorted.
//!
//! A `?` in a URL is a wildcard, not the start of a query string: signed URLs with a
//! query are not read. Listing over `http(s)://` needs a WebDAV server; single objects
//! need only `GET`.
//!
//! [`Input::fetch`] makes an input readable by the local readers
//! ([`SourceReader`](super::SourceReader)). An object is streamed, chunk by chunk (memory
//! holds one chunk and a 1 MiB write buffer, never the object), into a spool file with the
//! object's file name (so `.csv.gz` stays gzip) in a fresh temporary directory (under
//! `TMPDIR`); its BLAKE3 hash is computed on the way, so the object is downloaded once. The
//! spool is deleted when the [`Fetched`] is dropped: an ingest keeps one object on disk at
//! a time. Reports, rejects and errors name the URL, never the spool file
//! ([`Fetched::relabel`]).
//!
//! Errors name the URL and say what to do: [`Error::BadUrl`], [`Error::UnknownScheme`],
//! [`Error::InputNotFound`], [`Error::AccessDenied`], [`Error::ObjectStore`].
//!
//! ```no_run
//! use fabrik_lake::source::remote::{StoreOptions, resolve};
//! # async fn run() -> fabrik_lake::Result<()> {
//! let inputs = resolve(&["s3://plant-data/plant-7/2026-11-*.csv".to_string()], &StoreOptions::new()).await?;
//! for input in &inputs {
//!     let local = input.fetch().await?;
//!     println!("{} ({}) spooled to {}", input.name(), local.content_hash(), local.path().display());
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, ObjectStoreScheme};
use tokio::io::AsyncWriteExt;
use url::Url;

use super::{Reject, SourceBatch};
use crate::error::{Error, Result};

/// Bytes buffered between the download stream and the spool file.
const SPOOL_BUFFER: usize = 1 << 20;

/// Whether `input` is an object-store URL that [`resolve`] looks up in a store: it has a
/// `scheme://` other than `file://` (a `file://` URL is read as the local path it names).
pub fn is_url(input: &str) -> bool {
    match url_scheme(input) {
        Some(scheme) => !scheme.eq_ignore_ascii_case("file"),
        None => false,
    }
}

/// The scheme of `scheme://…` input text (the rule [`super::resolve`] uses to tell URLs from
/// paths).
fn url_scheme(input: &str) -> Option<&str> {
    let (scheme, _) = input.split_once("://")?;
    (!scheme.is_empty() && !scheme.contains(['/', '\\'])).then_some(scheme)
}

/// Settings of the object stores inputs are read from, on top of the environment.
///
/// Keys are object_store's configuration keys, case-insensitive (`aws_endpoint`,
/// `aws_region`, `aws_access_key_id`, `aws_allow_http`, `google_service_account`,
/// `azure_storage_account_name`, …). For a URL, the store's builder first reads the
/// environment variables of its kind (`AWS_*`, `GOOGLE_*`, `AZURE_*`), then these keys, so a
/// key given here wins over the variable. `Debug` shows the keys, never the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    options: BTreeMap<String, String>,
}

impl StoreOptions {
    /// No options beyond the environment.
    pub fn new() -> StoreOptions {
        StoreOptions::default()
    }

    /// These options plus `key` = `value` (a later value for the same key wins).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> StoreOptions {
        self.options
            .insert(key.into().to_ascii_lowercase(), value.into());
        self
    }

    /// The keys set, lowercase, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.options.keys().map(String::as_str)
    }

    /// The environment variables of `kind`'s store followed by these options.
    fn for_kind(&self, kind: StoreKind) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = match kind.env_prefix() {
            Some(prefix) => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| k.starts_with(prefix))
                .collect(),
            None => Vec::new(),
        };
        all.extend(self.options.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.keys()).finish()
    }
}

/// The kinds of store, for their environment variables and the hints of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Local,
    S3,
    Gcs,
    Azure,
    Http,
}

impl StoreKind {
    fn of(scheme: &ObjectStoreScheme) -> Option<StoreKind> {
        match scheme {
            ObjectStoreScheme::Local => Some(StoreKind::Local),
            ObjectStoreScheme::AmazonS3 => Some(StoreKind::S3),
            ObjectStoreScheme::GoogleCloudStorage => Some(StoreKind::Gcs),
            ObjectStoreScheme::MicrosoftAzure => Some(StoreKind::Azure),
            ObjectStoreScheme::Http => Some(StoreKind::Http),
            // memory:// is an empty store of this process: nothing to read.
            _ => None,
        }
    }

    /// The scheme of a URL that object_store could not place: which store it was meant
    /// for, when the scheme is one of object_store's.
    fn of_scheme(scheme: &str) -> Option<StoreKind> {
        match scheme.to_ascii_lowercase().as_str() {
            "file" => Some(StoreKind::Local),
            "s3" | "s3a" => Some(StoreKind::S3),
            "gs" => Some(StoreKind::Gcs),
            "az" | "adl" | "azure" | "abfs" | "abfss" => Some(StoreKind::Azure),
            "http" | "https" => Some(StoreKind::Http),
            _ => None,
        }
    }

    /// The prefix of the environment variables object_store's `from_env` reads.
    fn env_prefix(self) -> Option<&'static str> {
        match self {
            StoreKind::S3 => Some("AWS_"),
            StoreKind::Gcs => Some("GOOGLE_"),
            StoreKind::Azure => Some("AZURE_"),
            StoreKind::Local | StoreKind::Http => None,
        }
    }

    /// The shape of a URL of this kind.
    fn expected(self) -> &'static str {
        match self {
            StoreKind::Local => "file:///absolute/path/file.csv",
            StoreKind::S3 => "s3://bucket/key (or s3://bucket/prefix/*.csv)",
            StoreKind::Gcs => "gs://bucket/key",
            StoreKind::Azure => {
                "az://container/key or abfss://container@account.dfs.core.windows.net/key"
            }
            StoreKind::Http => "http(s)://host/path",
        }
    }

    /// How to give the store credentials and settings.
    fn credentials(self) -> &'static str {
        match self {
            StoreKind::Local => "check the file's permissions",
            StoreKind::S3 => {
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary credentials) and AWS_REGION; for an S3-compatible server also AWS_ENDPOINT (and AWS_ALLOW_HTTP=true for http://)"
            }
            StoreKind::Gcs => {
                "set GOOGLE_SERVICE_ACCOUNT (the path of a service-account key file), GOOGLE_SERVICE_ACCOUNT_KEY (the key itself) or GOOGLE_APPLICATION_CREDENTIALS"
            }
            StoreKind::Azure => {
                "set AZURE_STORAGE_ACCOUNT_NAME and one of AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_KEY or AZURE_CLIENT_ID + AZURE_CLIENT_SECRET + AZURE_TENANT_ID"
            }
            StoreKind::Http => {
                "the HTTP store sends no credentials: make the object readable without them"
            }
        }
    }
}

/// One input file: a local path, or an object found at a URL.
#[derive(Debug, Clone)]
pub enum Input {
    /// A local file.
    Local(PathBuf),
    /// An object in an object store.
    Object(ObjectInput),
}

impl Input {
    /// The input as reports and rejects name it: the local path, or the object's URL.
    pub fn name(&self) -> String {
        match self {
            Input::Local(path) => path.display().to_string(),
            Input::Object(o) => o.url.clone(),
        }
    }

    /// The object's URL; `None` for a local file.
    pub fn url(&self) -> Option<&str> {
        match self {
            Input::Local(_) => None,
            Input::Object(o) => Some(&o.url),
        }
    }

    /// Makes the input readable as a local file: a local file is itself (its content is
    /// hashed in place); an object is downloaded to a spool file, hashed on the way (see
    /// the module docs).
    pub async fn fetch(&self) -> Result<Fetched> {
        match self {
            Input::Local(path) => Ok(Fetched {
                content_hash: crate::ingest::content_hash(path)?,
                path: path.clone(),
                url: None,
                _spool: None,
            }),
            Input::Object(o) => o.fetch().await,
        }
    }
}

/// An object found at a URL input.
#[derive(Clone)]
pub struct ObjectInput {
    url: String,
    kind: StoreKind,
    store: Arc<dyn ObjectStore>,
    location: ObjectPath,
    size: u64,
}

impl fmt::Debug for ObjectInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectInput")
            .field("url", &self.url)
            .field("store", &self.store.to_string())
            .field("location", &self.location)
            .field("size", &self.size)
            .finish()
    }
}

impl ObjectInput {
    /// The object's URL (for a glob or prefix: the input's prefix and the object's key).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The object's location in its store.
    pub fn location(&self) -> &ObjectPath {
        &self.location
    }

    /// The object's size in bytes when it was listed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Downloads the object to a spool file, hashing it on the way.
    pub async fn fetch(&self) -> Result<Fetched> {
        let store_err = |e| store_error(&self.url, self.kind, e);
        let spool = tempfile::Builder::new()
            .prefix("fabrik-spool-")
            .tempdir()
            .map_err(|source| Error::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        // The object's own file name keeps the format's extension (and `.gz`); object_store
        // paths have no empty, `.` or `..` parts, so it stays inside the spool directory.
        let name = self.location.filename().unwrap_or("object");
        let path = spool.path().join(name);
        // Errors writing the spool are about the local disk: they name the spool file.
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = tokio::fs::File::create(&path).await.map_err(io)?;
        let mut out = tokio::io::BufWriter::with_capacity(SPOOL_BUFFER, file);
        let mut hasher = blake3::Hasher::new();
        let mut stream = self
            .store
            .get(&self.location)
            .await
            .map_err(store_err)?
            .into_stream();
        while let Some(chunk) = stream.try_next().await.map_err(store_err)? {
            hasher.update(&chunk);
            out.write_all(&chunk).await.map_err(io)?;
        }
        out.flush().await.map_err(io)?;
        Ok(Fetched {
            path,
            // Hex, exactly as `crate::ingest::content_hash` writes it: the same content has
            // the same ingest id whether it comes from a path or a URL.
            content_hash: hasher.finalize().to_hex().to_string(),
            url: Some(self.url.clone()),
            _spool: Some(spool),
        })
    }
}

/// An input made readable as a local file (see [`Input::fetch`]). For an object, the spool
/// file is deleted when this is dropped.
#[derive(Debug)]
pub struct Fetched {
    path: PathBuf,
    content_hash: String,
    url: Option<String>,
    _spool: Option<tempfile::TempDir>,
}

impl Fetched {
    /// The local file to read: the input's own path, or the spool file of an object.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// BLAKE3 hash of the content, hex (as [`crate::ingest::content_hash`]).
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    /// The object's URL; `None` for a local file.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The input as a path for reports: the local path, or the object's URL text held in a
    /// `PathBuf` (not a local file; [`url`](Self::url) tells them apart).
    pub fn report_path(&self) -> PathBuf {
        match &self.url {
            Some(url) => PathBuf::from(url),
            None => self.path.clone(),
        }
    }

    /// Wraps the reader opened on [`path`](Self::path) so that, for an object, its rejects
    /// ([`Reject::source`]) and its errors name the URL instead of the spool file.
    pub fn relabel<I>(&self, reader: Result<I>) -> Result<Relabel<I>>
    where
        I: Iterator<Item = Result<SourceBatch>>,
    {
        let label = self.spool_label();
        match reader {
            Ok(inner) => Ok(Relabel { inner, label }),
            Err(e) => Err(relabel_error(e, label.as_ref())),
        }
    }

    /// `e` naming the URL instead of the spool file (unchanged for a local file).
    pub fn relabel_error(&self, e: Error) -> Error {
        relabel_error(e, self.spool_label().as_ref())
    }

    fn spool_label(&self) -> Option<(PathBuf, String)> {
        let dir = self.path.parent()?.to_path_buf();
        Some((dir, self.url.clone()?))
    }
}

/// The reader of a [`Fetched`] input, its rejects and errors naming the input's URL.
#[derive(Debug)]
pub struct Relabel<I> {
    inner: I,
    /// The spool directory and the URL it stands for; `None` for a local file.
    label: Option<(PathBuf, String)>,
}

impl<I: Iterator<Item = Result<SourceBatch>>> Iterator for Relabel<I> {
    type Item = Result<SourceBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.inner.next()?;
        let Some((_, url)) = &self.label else {
            return Some(next);
        };
        Some(match next {
            Ok(mut batch) => {
                for r in &mut batch.rejects {
                    relabel_reject(r, url);
                }
                Ok(batch)
            }
            Err(e) => Err(relabel_error(e, self.label.as_ref())),
        })
    }
}

fn relabel_reject(r: &mut Reject, url: &str) {
    url.clone_into(&mut r.source);
}

/// `e` with any path inside the spool directory replaced by the URL.
fn relabel_error(mut e: Error, label: Option<&(PathBuf, String)>) -> Error {
    let Some((dir, url)) = label else {
        return e;
    };
    match &mut e {
        Error::Io { path, .. }
        | Error::UnknownFormat { path, .. }
        | Error::NotFormat { path, .. }
        | Error::Header { path, .. }
        | Error::SourceColumnType { path, .. }
        | Error::Read { path, .. }
            if path.starts_with(dir) =>
        {
            *path = PathBuf::from(url);
        }
        _ => {}
    }
    e
}

/// Expands inputs into files, in order, without duplicates: local inputs as
/// [`super::resolve`] does, URL inputs ([`is_url`]) as [`resolve_url`] does. Nothing is
/// downloaded yet. The first input naming nothing is an error, before any is read.
pub async fn resolve(inputs: &[String], options: &StoreOptions) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    let mut paths = HashSet::new();
    let mut urls = HashSet::new();
    for input in inputs {
        if is_url(input) {
            for o in resolve_url(input, options).await? {
                if urls.insert(o.url.clone()) {
                    out.push(Input::Object(o));
                }
            }
        } else {
            for p in super::resolve(std::slice::from_ref(input))? {
                if paths.insert(p.clone()) {
                    out.push(Input::Local(p));
                }
            }
        }
    }
    Ok(out)
}

/// The objects a URL names: one object, the objects under a prefix, or the objects a glob
/// matches (see the module docs). Works for every URL object_store reads, `file://`
/// included (as a store: [`resolve`] reads `file://` inputs as local paths instead).
pub async fn resolve_url(input: &str, options: &StoreOptions) -> Result<Vec<ObjectInput>> {
    let scheme = url_scheme(input).unwrap_or("");
    let bad = |why: String| Error::BadUrl {
        url: input.to_string(),
        why,
        expected: StoreKind::of_scheme(scheme).map_or("scheme://bucket/key", StoreKind::expected),
    };
    // The glob starts at the first wildcard after the authority; the URL of the store is the
    // text before that segment (a `?` there would otherwise start a query string).
    let after_scheme = scheme.len() + "://".len();
    let key_start = input[after_scheme..]
        .find('/')
        .map_or(input.len(), |i| after_scheme + i);
    let (base, pattern) = match input[key_start..].find(['*', '?', '[']) {
        Some(w) => {
            let slash = input[key_start..key_start + w]
                .rfind('/')
                .map_or(key_start, |s| key_start + s);
            (&input[..=slash], Some(&input[slash + 1..]))
        }
        None => (input, None),
    };
    let url = Url::parse(base).map_err(|e| bad(e.to_string()))?;
    let kind = match ObjectStoreScheme::parse(&url) {
        Ok((s, _)) => StoreKind::of(&s).ok_or_else(|| Error::UnknownScheme {
            url: input.to_string(),
            scheme: scheme.to_string(),
        })?,
        Err(e) => {
            return Err(match StoreKind::of_scheme(scheme) {
                // A scheme object_store knows, in a URL it cannot place (no bucket, …).
                Some(_) => bad(e.to_string()),
                None => Error::UnknownScheme {
                    url: input.to_string(),
                    scheme: scheme.to_string(),
                },
            });
        }
    };
    let (store, prefix) = object_store::parse_url_opts(&url, options.for_kind(kind))
        .map_err(|e| store_error(input, kind, e))?;
    let store: Arc<dyn ObjectStore> = Arc::from(store);
    let object = |meta: ObjectMeta, url: String| ObjectInput {
        url,
        kind,
        store: Arc::clone(&store),
        location: meta.location,
        size: meta.size,
    };
    let not_found = |why: String| Error::InputNotFound {
        input: input.to_string(),
        why,
    };

    if let Some(pattern) = pattern {
        let glob = glob::Pattern::new(pattern).map_err(|e| bad(format!("invalid glob: {e}")))?;
        let match_opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        let listed: Vec<ObjectMeta> = store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| store_error(input, kind, e))?;
        let mut found: Vec<(String, ObjectMeta)> = listed
            .into_iter()
            .filter_map(|meta| {
                let rel = relative_key(&meta.location, &prefix)?;
                glob.matches_with(&rel, match_opts)
                    .then(|| (under(base, &rel), meta))
            })
            .collect();
        if found.is_empty() {
            return Err(not_found(format!(
                "the glob `{pattern}` matches no object under {base}"
            )));
        }
        found.sort_by(|a, b| a.1.location.cmp(&b.1.location));
        return Ok(found.into_iter().map(|(u, m)| object(m, u)).collect());
    }

    if !input.ends_with('/') && !prefix.as_ref().is_empty() {
        match store.head(&prefix).await {
            Ok(meta) => return Ok(vec![object(meta, input.to_string())]),
            // Maybe a "directory": look for objects under it below.
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_error(input, kind, e)),
        }
    }
    let listed = match store.list_with_delimiter(Some(&prefix)).await {
        Ok(l) => l.objects,
        // The object was not there; a failed listing (an HTTP server without WebDAV, …)
        // says no more than that.
        Err(_) if !input.ends_with('/') => Vec::new(),
        Err(e) => return Err(store_error(input, kind, e)),
    };
    let mut found: Vec<ObjectMeta> = listed
        .into_iter()
        .filter(|m| !m.location.filename().is_some_and(|n| n.starts_with('.')))
        .collect();
    if found.is_empty() {
        return Err(not_found(if input.ends_with('/') {
            "no object directly under this prefix".to_string()
        } else {
            "no such object in the store, nor objects under it as a prefix: check the bucket and the key".to_string()
        }));
    }
    found.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(found
        .into_iter()
        .filter_map(|m| {
            let rel = relative_key(&m.location, &prefix)?;
            Some(object(m, under(input, &rel)))
        })
        .collect())
}

/// `location` relative to `prefix`, `/`-separated; `None` when it is not under it.
/// The object store at the root of `url`'s bucket or container (`s3://bucket/`), for a lake
/// there: settings from the environment variables of its kind (`AWS_*`, `GOOGLE_*`,
/// `AZURE_*`) and `options` on top, as for inputs.
pub(crate) fn root_store(
    url: &Url,
    options: &std::collections::HashMap<String, String>,
) -> Result<Arc<dyn ObjectStore>> {
    let text = url.as_str();
    let kind = ObjectStoreScheme::parse(url)
        .ok()
        .and_then(|(s, _)| StoreKind::of(&s))
        .ok_or_else(|| Error::UnknownScheme {
            url: text.to_string(),
            scheme: url.scheme().to_string(),
        })?;
    let mut root = url.clone();
    root.set_path("/");
    let mut store_options = StoreOptions::new();
    for (k, v) in options {
        store_options = store_options.with(k.clone(), v.clone());
    }
    let (store, _) = object_store::parse_url_opts(&root, store_options.for_kind(kind))
        .map_err(|e| store_error(text, kind, e))?;
    Ok(Arc::from(store))
}

fn relative_key(location: &ObjectPath, prefix: &ObjectPath) -> Option<String> {
    let parts: Vec<String> = location
        .prefix_match(prefix)?
        .map(|p| p.as_ref().to_string())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The URL of key `rel` under the URL prefix `base`.
fn under(base: &str, rel: &str) -> String {
    format!("{}/{rel}", base.trim_end_matches('/'))
}

/// An object_store error about `url`, typed by what the user can do about it.
fn store_error(url: &str, kind: StoreKind, e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::InputNotFound {
            input: url.to_string(),
            why: format!(
                "no such object (or bucket) in the store ({e}): check the bucket and the key"
            ),
        },
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => Error::AccessDenied {
            url: url.to_string(),
            fix: kind.credentials(),
            source: Box::new(e),
        },
        e => Error::ObjectStore {
            url: url.to_string(),
            fix: kind.credentials(),
            source: Box::new(e),
        },
    }
}

#[cfg(test)]
mod tests;
