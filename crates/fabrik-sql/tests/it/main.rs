//! Integration tests of fabrik-sql (one binary): a generated plant registered and queried.

mod session;
mod timeseries;
