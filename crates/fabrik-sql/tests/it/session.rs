//! A tiny generated plant, registered from its Parquet files.

use datafusion::arrow::util::pretty::pretty_format_batches;
use fabrik_datagen::{Format, PlantConfig, generate};
use fabrik_model::Table;
use fabrik_sql::{Error, Session};

async fn plant_session() -> (tempfile::TempDir, Session) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = PlantConfig::at_scale(0.05, 7);
    generate(&config, tmp.path(), &[Format::Parquet], &mut |_| {}).expect("generate");
    let session = Session::new().expect("session");
    let tables = session
        .register_parquet_dir(tmp.path().join("parquet"))
        .await
        .expect("register");
    assert_eq!(
        tables,
        Table::ALL.to_vec(),
        "every domain table is generated and registered"
    );
    (tmp, session)
}

#[tokio::test]
async fn registered_tables_have_the_model_schema() {
    let (_tmp, session) = plant_session().await;
    for table in Table::ALL {
        let df = session
            .sql(&format!("SELECT * FROM {table}"))
            .await
            .expect("select");
        let got = df.schema().as_arrow().clone();
        let want = table.schema();
        assert_eq!(got.fields().len(), want.fields().len(), "{table}");
        for (g, w) in got.fields().iter().zip(want.fields()) {
            assert_eq!(
                (g.name(), g.data_type(), g.is_nullable()),
                (w.name(), w.data_type(), w.is_nullable()),
                "{table}"
            );
        }
    }
}

#[tokio::test]
async fn telemetry_sort_order_is_declared_to_the_planner() {
    let (_tmp, session) = plant_session().await;
    let plan = session
        .query("EXPLAIN SELECT sensor_id, ts, value FROM sensor_readings ORDER BY sensor_id, ts")
        .await
        .expect("explain");
    let text = pretty_format_batches(&plan).expect("pretty").to_string();
    assert!(
        text.contains("output_ordering=[sensor_id@0 ASC NULLS LAST, ts@1 ASC NULLS LAST]"),
        "sort order not declared:\n{text}"
    );
    // The planner trusts the declared order: no full sort of the telemetry, only a merge.
    assert!(
        !text.contains("SortExec"),
        "the declared order should make the sort unnecessary:\n{text}"
    );
}

#[tokio::test]
async fn bad_sql_and_missing_tables_are_clear_errors() {
    let (_tmp, session) = plant_session().await;
    let err = session
        .query("SELECT * FROM no_such_table")
        .await
        .expect_err("missing table");
    assert!(matches!(err, Error::DataFusion(_)), "{err:?}");
    assert!(err.to_string().contains("no_such_table"), "{err}");
    let err = session.query("SELEC 1").await.expect_err("bad sql");
    assert!(err.to_string().contains("SELEC"), "{err}");
}
