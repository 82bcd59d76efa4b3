//! Integration tests of `fabrik-ops` (one binary).

mod anomaly;
mod sequence;
