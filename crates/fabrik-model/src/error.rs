//! The error type of `fabrik-model`.

/// Errors of `fabrik-model`.
///
/// User errors (an unknown table or column, a batch of the wrong shape) are apart from
/// internal bugs ([`Error::Internal`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No domain table has this name.
    #[error(
        "unknown table `{name}`: the domain tables are sensor_readings, machine_states, production_counts, orders, suppliers, deliveries, bom and inventory"
    )]
    UnknownTable {
        /// The name that was asked for.
        name: String,
    },
    /// The table has no such column.
    #[error("table `{table}` has no column `{column}`")]
    UnknownColumn {
        /// Table name.
        table: &'static str,
        /// The column that was asked for.
        column: String,
    },
    /// A batch handed to validation lacks a column the table's rules need.
    #[error(
        "batch for table `{table}` lacks column `{column}` (expected type {expected}); add the column or map it from your source's name"
    )]
    MissingColumn {
        /// Table name.
        table: &'static str,
        /// The missing column.
        column: &'static str,
        /// Its expected Arrow type.
        expected: String,
    },
    /// A column of a batch has another type than the table's schema says.
    #[error(
        "column `{table}.{column}` has type {found}, expected {expected}; cast it first (text input can go through `coerce_text_batch`)"
    )]
    ColumnType {
        /// Table name.
        table: &'static str,
        /// Column name.
        column: &'static str,
        /// The type the schema declares.
        expected: String,
        /// The type found in the batch.
        found: String,
    },
    /// A [`ValidateOptions`](crate::ValidateOptions) field holds a value validation cannot use.
    #[error("validate option `{option}` = {value} is invalid: expected {expected}")]
    InvalidOption {
        /// The option's field name.
        option: &'static str,
        /// The value given, as text.
        value: String,
        /// What a valid value looks like.
        expected: &'static str,
    },
    /// A batch handed to a [`Validation`](crate::Validation) method has another number of
    /// rows than the batch that was validated.
    #[error(
        "the batch has {found} rows but the validation was made on {expected} rows; pass the batch that was validated"
    )]
    BatchLength {
        /// Rows of the validated batch.
        expected: usize,
        /// Rows of the batch given.
        found: usize,
    },
    /// The test fixtures directory (or a file in it) does not exist.
    #[error("test data not found at `{}`: set the environment variable {env} to the testdata directory of the fabrik workspace", path.display())]
    TestdataMissing {
        /// The path that was looked for.
        path: std::path::PathBuf,
        /// The environment variable that overrides the testdata directory.
        env: &'static str,
    },
    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// A bug in fabrik, not in the input: please report it.
    #[error("internal error (a bug in fabrik-model, please report it): {what}")]
    Internal {
        /// What went wrong.
        what: &'static str,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
