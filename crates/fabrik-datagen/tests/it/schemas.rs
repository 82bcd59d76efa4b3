//! Every batch and file has exactly the schema of `fabrik_model::Table::schema()`, and the
//! three formats hold the same data.

use fabrik_datagen::{Format, Plant};
use fabrik_model::Table;
use fabrik_model::schema::META_DOC;

use crate::fixtures::{clean_run, files, parse_ndjson_text, read_csv, read_parquet, tiny_clean};

#[test]
fn in_memory_batches_have_the_model_schemas() {
    let plant = Plant::new(&tiny_clean()).expect("plant");
    let batches = [
        (Table::MachineStates, plant.machine_states()),
        (Table::ProductionCounts, plant.production_counts()),
        (Table::Orders, plant.orders()),
        (Table::Suppliers, plant.suppliers()),
        (Table::Deliveries, plant.deliveries()),
        (Table::Bom, plant.bom()),
        (Table::Inventory, plant.inventory()),
    ];
    for (table, batch) in batches {
        let batch = batch.expect("batch");
        assert_eq!(batch.schema(), table.schema(), "{table}");
        assert!(batch.num_rows() > 0, "{table} is empty");
    }
    for b in plant.sensor_readings(1).expect("telemetry") {
        assert_eq!(b.schema(), Table::SensorReadings.schema());
    }
}

#[test]
fn parquet_files_read_back_with_the_model_schemas() {
    let run = clean_run();
    for table in Table::ALL {
        let want = table.schema();
        let paths = files(&run.dir, Format::Parquet, table);
        assert!(!paths.is_empty(), "{table}: no parquet files");
        for p in paths {
            let (batch, _) = read_parquet(&p);
            let got = batch.schema();
            assert_eq!(got.fields().len(), want.fields().len(), "{}", p.display());
            for (g, w) in got.fields().iter().zip(want.fields()) {
                assert_eq!(
                    (g.name(), g.data_type(), g.is_nullable()),
                    (w.name(), w.data_type(), w.is_nullable()),
                    "{}",
                    p.display()
                );
                assert_eq!(
                    g.metadata().get(META_DOC),
                    w.metadata().get(META_DOC),
                    "field docs travel"
                );
            }
        }
    }
}

#[test]
fn csv_ndjson_and_parquet_hold_the_same_rows() {
    let run = clean_run();
    for table in Table::ALL {
        let pq = files(&run.dir, Format::Parquet, table);
        let csv = files(&run.dir, Format::Csv, table);
        let nd = files(&run.dir, Format::Ndjson, table);
        assert_eq!(
            (pq.len(), csv.len()),
            (nd.len(), nd.len()),
            "{table}: same files in every format"
        );
        for ((p, c), n) in pq.iter().zip(&csv).zip(&nd) {
            let (from_pq, _) = read_parquet(p);
            let from_csv = read_csv(c, table).unwrap_or_else(|e| panic!("{}: {e}", c.display()));
            let text = std::fs::read_to_string(n).expect("ndjson");
            let from_nd =
                parse_ndjson_text(&text, table).unwrap_or_else(|e| panic!("{}: {e}", n.display()));
            assert!(from_pq.num_rows() > 0);
            assert_eq!(from_pq.columns(), from_csv.columns(), "{}", c.display());
            assert_eq!(from_pq.columns(), from_nd.columns(), "{}", n.display());
        }
    }
    let report_rows = run.report.table(Table::Orders).expect("orders").rows;
    let parquet_rows: usize = files(&run.dir, Format::Parquet, Table::Orders)
        .iter()
        .map(|p| read_parquet(p).0.num_rows())
        .sum();
    assert_eq!(report_rows as usize, parquet_rows);
}
