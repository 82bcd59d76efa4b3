//! Integration tests of fabrik-model: rules, validation, coercion and the shared fixtures.

mod errors;
mod fixtures;
mod per_rule;
mod support;
mod text_types;
