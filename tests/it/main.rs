//! Integration tests of the `fabrik` crate (one binary: `cargo test --test it`).

mod examples;
mod ingest;
mod remote;
mod sql_lake;
