//! Ingest of a generated dirty plant: every row accounted for, exactly the injected
//! defects found, re-runs are no-ops.

use std::collections::HashMap;
use std::path::Path;

use datafusion::prelude::SessionContext;
use fabrik_datagen::{Format, PlantConfig, generate};
use fabrik_lake::{IngestOptions, Lake, ingest};
use fabrik_model::Table;

/// Ground-truth defects of `table` in `format`, counted per kind.
fn injected(out: &Path, table: Table, format: &str) -> HashMap<String, u64> {
    let text = std::fs::read_to_string(out.join("ground_truth/dirty.csv")).expect("dirty.csv");
    let mut counts = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.splitn(8, ',').collect();
        if f[0] == table.name() && f[1] == format {
            *counts.entry(f[6].to_string()).or_default() += 1;
        }
    }
    counts
}

async fn count(lake: &Lake, table: Table, rejects: bool) -> u64 {
    let ctx = SessionContext::new();
    let provider = if rejects {
        lake.rejects(table)
            .await
            .expect("rejects")
            .provider()
            .await
            .expect("provider")
    } else {
        let t = lake.table(table).await.expect("table");
        t.prepare_session(&ctx).await.expect("session");
        t.provider().await.expect("provider")
    };
    ctx.register_table("t", provider).expect("register");
    let batches = ctx
        .sql("SELECT count(*) FROM t")
        .await
        .expect("sql")
        .collect()
        .await
        .expect("collect");
    let col = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .expect("i64");
    col.value(0) as u64
}

#[tokio::test]
async fn dirty_plant_ingests_with_exact_rejects_and_duplicates_and_reruns_are_no_ops() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("plant");
    // Two days, so that late-arriving readings (day 1 rows in day 2's file) exist.
    let config = PlantConfig {
        days: 2,
        ..PlantConfig::tiny(7)
    }
    .with_dirty();
    generate(&config, &out, &[Format::Csv, Format::Parquet], &mut |_| {}).expect("generate");
    for (format, dir) in [("csv", "csv"), ("parquet", "parquet")] {
        let lake = Lake::open(
            tmp.path()
                .join(format!("lake-{format}"))
                .to_str()
                .expect("utf-8"),
        )
        .await
        .expect("lake");
        let table = Table::SensorReadings;
        let input = out
            .join(dir)
            .join(table.name())
            .to_string_lossy()
            .into_owned();
        let report = ingest(
            &lake,
            table,
            std::slice::from_ref(&input),
            &IngestOptions::default(),
            &mut |_, _| {},
        )
        .await
        .expect("ingest");
        let truth = injected(&out, table, format);
        assert!(report.reconciles(), "{format}: {report:?}");
        assert_eq!(report.files.len(), 2, "{format}: one file per day");
        let bad = truth.get("malformed").copied().unwrap_or(0)
            + truth.get("invalid").copied().unwrap_or(0);
        assert!(
            bad > 0 && truth.get("late").copied().unwrap_or(0) > 0,
            "{format}: the plant has defects: {truth:?}"
        );
        assert_eq!(
            report.rejected(),
            bad,
            "{format}: rejected rows = injected malformed + invalid"
        );
        assert_eq!(
            report.duplicates(),
            truth["duplicate"],
            "{format}: duplicates = injected resent readings"
        );
        assert_eq!(
            count(&lake, table, false).await,
            report.accepted(),
            "{format}: table rows"
        );
        assert!(
            count(&lake, table, true).await >= report.rejected(),
            "{format}: one reject row per (row, rule)"
        );

        // The same content again: nothing read, nothing written, same version.
        let again = ingest(
            &lake,
            table,
            &[input],
            &IngestOptions::default(),
            &mut |_, _| {},
        )
        .await
        .expect("re-ingest");
        assert!(
            again.files.iter().all(|f| f.already_ingested),
            "{format}: {again:?}"
        );
        assert_eq!(
            (again.rows_read(), again.version),
            (0, report.version),
            "{format}"
        );
        assert_eq!(
            count(&lake, table, false).await,
            report.accepted(),
            "{format}: no row doubled"
        );
    }
}

#[tokio::test]
async fn orders_keep_the_last_version_of_an_order() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let lake = Lake::open(tmp.path().join("lake").to_str().expect("utf-8"))
        .await
        .expect("lake");
    let header = "order_id,customer_id,created_at,channel,region,product_family,sku,capacity_kg,color,motor,panel,quantity,unit_price,promised_at,status";
    let row = |id: u32, status: &str| {
        format!(
            "{id},C0000000{id},2025-01-0{id}T10:00:00Z,web,DACH,washing_machine,WM-08-INV-WHT-TCH,8,white,inverter,touch,1,649.0,2025-02-01T00:00:00Z,{status}"
        )
    };
    let first = tmp.path().join("orders-1.csv");
    std::fs::write(
        &first,
        format!(
            "{header}\n{}\n{}\n{}\n",
            row(1, "placed"),
            row(2, "placed"),
            row(2, "confirmed")
        ),
    )
    .expect("write");
    let second = tmp.path().join("orders-2.csv");
    std::fs::write(
        &second,
        format!("{header}\n{}\n{}\n", row(2, "shipped"), row(3, "placed")),
    )
    .expect("write");
    let opts = IngestOptions::default();
    let r1 = ingest(
        &lake,
        Table::Orders,
        &[first.to_string_lossy().into_owned()],
        &opts,
        &mut |_, _| {},
    )
    .await
    .expect("ingest 1");
    assert_eq!(
        (
            r1.rows_read(),
            r1.accepted(),
            r1.duplicates(),
            r1.rejected()
        ),
        (3, 2, 1, 0),
        "{r1:?}"
    );
    let r2 = ingest(
        &lake,
        Table::Orders,
        &[second.to_string_lossy().into_owned()],
        &opts,
        &mut |_, _| {},
    )
    .await
    .expect("ingest 2");
    assert_eq!(
        (
            r2.rows_read(),
            r2.accepted(),
            r2.duplicates(),
            r2.rejected()
        ),
        (2, 2, 0, 0),
        "{r2:?}"
    );
    assert!(r2.reconciles());

    let ctx = SessionContext::new();
    let t = lake.table(Table::Orders).await.expect("table");
    ctx.register_table("orders", t.provider().await.expect("provider"))
        .expect("register");
    let batches = ctx
        .sql("SELECT order_id, status FROM orders ORDER BY order_id")
        .await
        .expect("sql")
        .collect()
        .await
        .expect("collect");
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .expect("pretty")
        .to_string();
    let want = "\
+----------+---------+
| order_id | status  |
+----------+---------+
| 1        | placed  |
| 2        | shipped |
| 3        | placed  |
+----------+---------+";
    assert_eq!(text, want);
}

/// Property: whatever the mix of defects, every row read is accepted, rejected or a
/// duplicate, the table holds exactly the accepted rows, and each rejected row has at least
/// one row in the rejects table. Seeds and rates vary; each case is a small dirty plant.
#[tokio::test]
async fn every_row_is_accounted_for_over_random_dirty_plants() {
    use fabrik_datagen::DirtyConfig;
    let tmp = tempfile::tempdir().expect("temp dir");
    for seed in 0..4u64 {
        // Rates from a simple seeded sequence, summing to at most the generator's limit.
        let r = |k: u64| 0.001 + ((seed * 7 + k * 3) % 5) as f64 * 0.001;
        let dirty = DirtyConfig {
            malformed: r(1),
            invalid: r(2),
            duplicates: r(3),
            out_of_order: r(4),
            late: r(5),
        };
        let config = PlantConfig {
            dirty: Some(dirty),
            ..PlantConfig::tiny(seed)
        };
        let out = tmp.path().join(format!("plant-{seed}"));
        let format = if seed % 2 == 0 {
            Format::Csv
        } else {
            Format::Ndjson
        };
        generate(&config, &out, &[format], &mut |_| {}).expect("generate");
        let lake = Lake::open(
            tmp.path()
                .join(format!("lake-{seed}"))
                .to_str()
                .expect("utf-8"),
        )
        .await
        .expect("lake");
        for table in [
            Table::SensorReadings,
            Table::Orders,
            Table::Deliveries,
            Table::MachineStates,
        ] {
            let input = out
                .join(format.dir_name())
                .join(table.name())
                .to_string_lossy()
                .into_owned();
            let report = ingest(
                &lake,
                table,
                &[input],
                &IngestOptions::default(),
                &mut |_, _| {},
            )
            .await
            .expect("ingest");
            let case = format!("seed {seed}, {format}, {table}");
            assert!(report.rows_read() > 0, "{case}");
            assert!(report.reconciles(), "{case}: {report:?}");
            assert_eq!(
                count(&lake, table, false).await,
                report.accepted(),
                "{case}"
            );
            if report.rejected() > 0 {
                assert!(
                    count(&lake, table, true).await >= report.rejected(),
                    "{case}"
                );
            }
        }
    }
}
