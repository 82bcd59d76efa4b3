//! Integration tests of fabrik-datagen: determinism, schemas, invariants of the simulated
//! plant, and the exactness of the dirty-mode ground truth.

mod api;
mod defects;
mod determinism;
mod fixtures;
mod invariants;
mod schemas;
