//! Integration tests of the `fabrik` crate (one binary: `cargo test --test it`).

mod examples;
mod ingest;
mod sql_lake;
mod remote;
