//! Integration tests of `fabrik-kernels`: one binary for the crate.

mod rollup_throughput;
