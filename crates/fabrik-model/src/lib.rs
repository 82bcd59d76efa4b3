//! The domain model of fabrik: Arrow schemas of the plant's tables, their units and docs,
//! and validation rules as data.
//!
//! ```
//! use fabrik_model::Table;
//! let schema = Table::Orders.schema();
//! assert!(schema.field_with_name("color").is_ok());
//! ```

pub mod coerce;
pub mod error;
pub mod rules;
pub mod schema;
pub mod testdata;
pub mod time;
pub mod validate;
pub mod vocab;

pub use coerce::{
    PARSE_RULE, coerce_text_batch, parse_rfc3339_column, relaxed_schema, text_schema,
    validate_text_batch,
};
pub use error::{Error, Result};
pub use rules::{Check, CmpOp, Rule, TimeKind, Tolerance, When, rule};
pub use schema::{
    FieldSpec, FieldType, ORDER_OPTION_COLUMNS, Table, timestamp_type, unit_of_metric,
};
pub use testdata::{TESTDATA_ENV, testdata_dir, testdata_path};
pub use validate::{
    ValidateOptions, Validation, Violation, is_text_type, validate, violations_schema,
};
