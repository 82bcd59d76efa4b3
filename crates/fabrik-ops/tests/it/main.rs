//! Integration tests of fabrik-ops: hand-made tables with hand-computed figures, and a
//! smoke test on a tiny generated plant.

mod anomaly;
mod downtime;
mod oee;
mod sequence;
mod smoke;
mod spc_sql;
mod supplier;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use fabrik_model::Table;
use fabrik_sql::Session;

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Microseconds of an RFC 3339 instant.
pub(crate) fn us(s: &str) -> i64 {
    instant(s).timestamp_micros()
}

/// An RFC 3339 instant.
pub(crate) fn instant(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

fn ts_array(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

/// A session holding the given tables (as MemTables with the model's schemas) and the
/// table functions of fabrik-ops with the default calendars.
pub(crate) fn session(tables: Vec<(Table, RecordBatch)>) -> Session {
    let s = Session::new().expect("session");
    for (t, b) in tables {
        let mem = MemTable::try_new(t.schema(), vec![vec![b]]).expect("mem table");
        s.context()
            .register_table(t.name(), Arc::new(mem))
            .expect("register");
    }
    fabrik_ops::register(&s, fabrik_ops::PlantCalendars::default());
    s
}

/// A `machine_states` row of plant P01: (machine, line, state, reason, start, end).
pub(crate) type StateRow<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, &'a str, &'a str);

/// The `machine_states` table of the rows.
pub(crate) fn states(rows: &[StateRow<'_>]) -> RecordBatch {
    let n = rows.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["P01"; n])),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.3))),
        ts_array(rows.iter().map(|r| Some(us(r.4))).collect()),
        ts_array(rows.iter().map(|r| Some(us(r.5))).collect()),
        Arc::new(Int64Array::from(vec![None::<i64>; n])),
    ];
    RecordBatch::try_new(Table::MachineStates.schema(), columns).expect("states batch")
}

/// `production_counts` rows of plant P01: (machine, line, ts, good, scrap, ideal_cycle_s).
pub(crate) fn counts(rows: &[(&str, &str, &str, i32, i32, f64)]) -> RecordBatch {
    let n = rows.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["P01"; n])),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
        ts_array(rows.iter().map(|r| Some(us(r.2))).collect()),
        Arc::new(Int64Array::from(vec![1i64; n])),
        Arc::new(StringArray::from(vec!["WM-08-STD-WHI-BAS"; n])),
        Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.3))),
        Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.4))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.5))),
        Arc::new(StringArray::from(vec![None::<&str>; n])),
    ];
    RecordBatch::try_new(Table::ProductionCounts.schema(), columns).expect("counts batch")
}

/// One `deliveries` row.
pub(crate) struct Delivery {
    pub(crate) po: &'static str,
    pub(crate) supplier: &'static str,
    pub(crate) part: &'static str,
    pub(crate) ordered: i64,
    pub(crate) ordered_at: &'static str,
    pub(crate) promised_at: &'static str,
    pub(crate) received_at: Option<&'static str>,
    pub(crate) received: Option<i64>,
    pub(crate) rejected: Option<i64>,
    pub(crate) price: f64,
}

/// The `deliveries` table of the rows.
pub(crate) fn deliveries(rows: &[Delivery]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.po))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.supplier),
        )),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.part))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.ordered))),
        ts_array(rows.iter().map(|r| Some(us(r.ordered_at))).collect()),
        ts_array(rows.iter().map(|r| Some(us(r.promised_at))).collect()),
        ts_array(rows.iter().map(|r| r.received_at.map(us)).collect()),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.received))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.rejected))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.price))),
        Arc::new(StringArray::from_iter(rows.iter().map(|_| None::<&str>))),
    ];
    RecordBatch::try_new(Table::Deliveries.schema(), columns).expect("deliveries batch")
}

/// The `suppliers` table: (id, contract lead time in days).
pub(crate) fn suppliers(rows: &[(&str, i32)]) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
        Arc::new(StringArray::from(vec!["DE"; rows.len()])),
        Arc::new(StringArray::from(vec!["motors"; rows.len()])),
        Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.1))),
    ];
    RecordBatch::try_new(Table::Suppliers.schema(), columns).expect("suppliers batch")
}

/// Runs `sql` and pretty-prints the result.
pub(crate) async fn pretty(s: &Session, sql: &str) -> Result<String, Box<dyn std::error::Error>> {
    Ok(pretty_format_batches(&s.query(sql).await?)?.to_string())
}

/// Asserts that `got` equals the expected table (leading/trailing blank lines and
/// indentation of the expected text ignored).
pub(crate) fn assert_table(got: &str, want: &str) {
    let want: Vec<&str> = want
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let got_lines: Vec<&str> = got.lines().map(str::trim).collect();
    assert_eq!(got_lines, want, "\ngot:\n{got}");
}
