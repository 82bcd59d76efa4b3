//! The error type of `fabrik-datagen`.

use std::path::{Path, PathBuf};

/// Errors of `fabrik-datagen`.
///
/// Configuration mistakes ([`Error::InvalidConfig`], [`Error::UnknownFormat`],
/// [`Error::NoFormats`], [`Error::NotEnoughRows`]) say how to fix them; the others wrap the
/// I/O, Arrow and Parquet layers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of [`crate::PlantConfig`] (or [`crate::DirtyConfig`]) is out of range.
    #[error("invalid config: `{field}` is {value}; {fix}")]
    InvalidConfig {
        /// The offending field, e.g. `machines_per_line` or `dirty.late`.
        field: &'static str,
        /// Its value, as given.
        value: String,
        /// What to change.
        fix: &'static str,
    },
    /// A format name that is not `csv`, `ndjson` or `parquet`.
    #[error("unknown output format `{name}`: use csv, ndjson or parquet")]
    UnknownFormat {
        /// The name that was given.
        name: String,
    },
    /// [`crate::generate`] was asked to write no format at all.
    #[error(
        "no output format given: pass at least one of Format::Csv, Format::Ndjson, Format::Parquet"
    )]
    NoFormats,
    /// More telemetry rows were asked for than the operations window holds.
    #[error(
        "the operations window holds about {available} telemetry rows but {requested} were asked for; raise `days` or the number of machines (e.g. PlantConfig::at_scale with a larger scale)"
    )]
    NotEnoughRows {
        /// Rows asked for.
        requested: u64,
        /// Rows the configured window produces.
        available: u64,
    },
    /// A day outside the operations window was asked for.
    #[error("day {day} is outside the operations window of {days} days (days are 0-based)")]
    DayOutOfRange {
        /// The day asked for.
        day: u32,
        /// Days in the window.
        days: u32,
    },
    /// Reading or writing a file or directory failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An Arrow kernel or batch construction failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// The Parquet writer failed.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps an I/O error with the path it happened on (for `map_err`).
pub(crate) fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_name_their_path() {
        let e = io_at(Path::new("/no/such/dir"))(std::io::Error::other("boom"));
        let text = e.to_string();
        assert!(
            text.contains("/no/such/dir") && text.contains("boom"),
            "{text}"
        );
    }

    #[test]
    fn config_errors_say_how_to_fix() {
        let e = Error::InvalidConfig {
            field: "days",
            value: "0".into(),
            fix: "use at least 1 day",
        };
        assert_eq!(
            e.to_string(),
            "invalid config: `days` is 0; use at least 1 day"
        );
    }
}
