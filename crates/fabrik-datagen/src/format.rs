//! Output file formats.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A file format the plant can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// Comma-separated values with a header line; RFC 3339 timestamps, empty field = null.
    Csv,
    /// Newline-delimited JSON, one object per row; RFC 3339 timestamps as strings, `null`s written.
    Ndjson,
    /// Apache Parquet: zstd, dictionary-encoded ids, page statistics and page index, sort order declared.
    Parquet,
}

impl Format {
    /// Every format, in the order csv, ndjson, parquet.
    pub const ALL: [Format; 3] = [Format::Csv, Format::Ndjson, Format::Parquet];

    /// The file name extension, without the dot (`csv`, `ndjson`, `parquet`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }

    /// The directory the format's tables go into under the output directory.
    pub fn dir_name(self) -> &'static str {
        self.extension()
    }

    /// Whether the format is text (and so can hold malformed values).
    pub fn is_text(self) -> bool {
        !matches!(self, Format::Parquet)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Parses `csv`, `ndjson` (or `jsonl`, `json`) and `parquet`, ignoring case.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
            "parquet" | "pq" => Ok(Format::Parquet),
            _ => Err(Error::UnknownFormat {
                name: s.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.extension().parse::<Format>().ok(), Some(f));
            assert_eq!(f.to_string(), f.dir_name());
        }
        assert_eq!("PARQUET".parse::<Format>().ok(), Some(Format::Parquet));
        assert!(
            matches!("xlsx".parse::<Format>(), Err(Error::UnknownFormat { name }) if name == "xlsx")
        );
    }
}
