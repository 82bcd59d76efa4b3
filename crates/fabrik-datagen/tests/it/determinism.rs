//! The same seed gives byte-identical files in every format, whatever the thread count; a
//! different seed gives different data.

use fabrik_datagen::{Format, PlantConfig, generate};

use crate::fixtures::{hash_tree, tiny_dirty};

#[test]
fn same_seed_same_bytes_in_every_format_and_thread_count() {
    // sampled every 30 s and 60 days of orders: small files, so hashing stays quick in debug builds
    let config = PlantConfig {
        sample_period_ms: 30_000,
        order_history_days: 60,
        ..tiny_dirty()
    };
    let (a, b, c) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    generate(&config, a.path(), &Format::ALL, &mut |_| {}).expect("first run");
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    one_thread
        .install(|| generate(&config, b.path(), &Format::ALL, &mut |_| {}))
        .expect("second run");
    let ha = hash_tree(a.path());
    let hb = hash_tree(b.path());
    assert!(
        ha.len() > 20,
        "expected every table in three formats plus ground truth: {ha:?}"
    );
    for f in Format::ALL {
        assert!(
            ha.keys()
                .any(|k| k.starts_with(&format!("{}/sensor_readings/", f.dir_name())))
        );
    }
    assert_eq!(
        ha, hb,
        "same seed, same bytes (also with one thread instead of many)"
    );

    let other = PlantConfig {
        seed: config.seed + 1,
        ..config
    };
    generate(&other, c.path(), &Format::ALL, &mut |_| {}).expect("other seed");
    let hc = hash_tree(c.path());
    assert_eq!(
        ha.keys().collect::<Vec<_>>(),
        hc.keys().collect::<Vec<_>>(),
        "same layout"
    );
    let differing: Vec<&String> = ha.keys().filter(|k| ha[*k] != hc[*k]).collect();
    for table in [
        "sensor_readings",
        "orders",
        "deliveries",
        "machine_states",
        "production_counts",
    ] {
        for f in Format::ALL {
            let prefix = format!("{}/{table}/", f.dir_name());
            assert!(
                differing.iter().any(|k| k.starts_with(&prefix)),
                "{prefix} does not depend on the seed"
            );
        }
    }
    // the catalogue does not depend on the seed: the BOM is the same
    assert!(
        ha.keys()
            .filter(|k| k.contains("/bom/"))
            .all(|k| ha[k] == hc[k])
    );
}
