//! Integration tests of fabrik-lake.

mod ingest;
mod source_datagen;
mod source_fixtures;
mod table_lake;
mod table_write;
