//! Integration tests of `fabrik-ops` (one binary).

mod sequence;
