//! The domain model of fabrik: Arrow schemas of the plant's tables, their units and docs,
//! and validation rules as data.
//!
//! ```
//! use fabrik_model::Table;
//! let schema = Table::Orders.schema();
//! assert!(schema.field_with_name("color").is_ok());
//! ```

pub mod error;
pub mod schema;
pub mod vocab;

pub use error::{Error, Result};
pub use schema::{FieldSpec, FieldType, ORDER_OPTION_COLUMNS, Table, timestamp_type, unit_of_metric};
