//! Where the test fixtures live: one helper for every crate's tests.
//!
//! The fixtures are in the workspace's `testdata/` directory (see its `README.md`). The
//! path is found from this crate's source location at build time, so it works from any
//! crate's tests in the workspace; the environment variable [`TESTDATA_ENV`] overrides it
//! (for a packaged crate or another checkout).
//!
//! ```
//! let clean = fabrik_model::testdata_path("clean/orders.csv")?;
//! assert!(clean.is_file());
//! # Ok::<(), fabrik_model::Error>(())
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that, when set, names the testdata directory.
pub const TESTDATA_ENV: &str = "FABRIK_TESTDATA";

/// The testdata directory, canonicalized: `$FABRIK_TESTDATA` if set, else the workspace's
/// `testdata/`. An [`Error::TestdataMissing`] names the path looked for if it is not a
/// directory.
pub fn testdata_dir() -> Result<PathBuf> {
    dir_from(std::env::var_os(TESTDATA_ENV))
}

/// A path inside the testdata directory (`"clean/orders.csv"`), which must exist.
pub fn testdata_path(rel: impl AsRef<Path>) -> Result<PathBuf> {
    let path = testdata_dir()?.join(rel);
    if path.exists() {
        Ok(path)
    } else {
        Err(Error::TestdataMissing {
            path,
            env: TESTDATA_ENV,
        })
    }
}

fn dir_from(env: Option<OsString>) -> Result<PathBuf> {
    let dir = match env {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata"),
    };
    match dir.canonicalize() {
        Ok(found) if found.is_dir() => Ok(found),
        _ => Err(Error::TestdataMissing {
            path: dir,
            env: TESTDATA_ENV,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_is_the_workspace_testdata() {
        let dir = dir_from(None).expect("workspace testdata");
        assert!(dir.join("README.md").is_file(), "{}", dir.display());
        assert_eq!(dir.file_name().and_then(|n| n.to_str()), Some("testdata"));
        assert_eq!(
            dir_from(Some(OsString::new())).expect("empty env is unset"),
            dir
        );
    }

    #[test]
    fn env_override_is_used_and_a_missing_dir_is_a_typed_error() {
        let dir = dir_from(None).expect("workspace testdata");
        let clean = dir_from(Some(dir.join("clean").into_os_string())).expect("clean/ exists");
        assert_eq!(clean, dir.join("clean"));
        let missing = dir.join("no-such-dir");
        match dir_from(Some(missing.clone().into_os_string())) {
            Err(Error::TestdataMissing { path, env }) => {
                assert_eq!(path, missing);
                assert_eq!(env, TESTDATA_ENV);
            }
            other => panic!("expected TestdataMissing, got {other:?}"),
        }
        let err = dir_from(Some(missing.into_os_string())).expect_err("missing");
        assert!(
            err.to_string().contains("no-such-dir") && err.to_string().contains(TESTDATA_ENV),
            "{err}"
        );
    }

    #[test]
    fn missing_file_names_its_path() {
        let err = testdata_path("clean/no_such_table.csv").expect_err("missing file");
        assert!(
            matches!(&err, Error::TestdataMissing { path, .. } if path.ends_with("clean/no_such_table.csv")),
            "{err}"
        );
    }
}
