//! Integration tests of fabrik-sql (one binary): a generated plant registered and queried.

mod capability;
mod forecast;
mod rollup;
mod session;
mod spc;
mod timeseries;
mod udf;
