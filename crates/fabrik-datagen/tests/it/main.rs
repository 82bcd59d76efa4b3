//! Integration tests of fabrik-datagen: determinism, schemas, invariants of the simulated
//! plant, and the exactness of the dirty-mode ground truth.

mod api;
mod common;
mod determinism;
mod dirty;
mod invariants;
mod schemas;
