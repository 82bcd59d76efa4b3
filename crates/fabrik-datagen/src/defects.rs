//! Dirty mode: injects defects into clean, sorted file contents and records exactly what
//! it did.
//!
//! Defects are placed at least [`MIN_GAP`] rows apart (and away from late rows merged in
//! from the previous day), so that each can be recognised on its own:
//!
//! * `malformed` — the row's text in CSV and NDJSON cannot be parsed as the schema says (a
//!   non-numeric number, an unparseable timestamp, a missing field); Parquet keeps the clean
//!   row, so ground truth lists malformed rows only for the text formats.
//! * `invalid` — the row parses but breaks a domain rule (NaN or a null value with good
//!   quality, an unknown quality code or state, a negative quantity, an end before its start,
//!   a receipt before its order). In every format (NaN is the text `NaN`, in NDJSON the
//!   string `"NaN"`).
//! * `duplicate` — an exact copy of the previous row (the listed row is the copy).
//! * `out_of_order` — a row moved 1 to 4 places later: its sort key is below its
//!   predecessor's, and it is the only such row around.
//! * `late` — a telemetry reading of day d written into the file of day d + 1 (at its sorted
//!   place there, so it breaks no order); it is missing from day d's file.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray, RecordBatch, StringArray};
use arrow::buffer::NullBuffer;
use arrow::compute::interleave_record_batch;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Float64Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, UInt8Type,
};
use fabrik_model::Table;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::calendar::{US_PER_DAY, US_PER_MIN, date_text, day_of};
use crate::config::DirtyConfig;
use crate::error::Result;
use crate::output::cell_text;
use crate::streams::{cumulative, geometric, pick};

/// Least distance, in rows, between two defects.
pub(crate) const MIN_GAP: usize = 16;

/// What kind of defect a row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefectKind {
    /// The row's text does not parse (CSV and NDJSON only).
    Malformed,
    /// The row breaks a domain rule.
    Invalid,
    /// The row repeats the previous one exactly.
    Duplicate,
    /// The row sorts before its predecessor.
    OutOfOrder,
    /// The row belongs to the previous day's file.
    Late,
}

impl DefectKind {
    /// Every kind, in the order of [`DirtyConfig`]'s fields.
    pub const ALL: [DefectKind; 5] = [
        DefectKind::Malformed,
        DefectKind::Invalid,
        DefectKind::Duplicate,
        DefectKind::OutOfOrder,
        DefectKind::Late,
    ];

    /// The name used in `ground_truth/dirty.csv`: malformed, invalid, duplicate, out_of_order, late.
    pub fn name(self) -> &'static str {
        match self {
            DefectKind::Malformed => "malformed",
            DefectKind::Invalid => "invalid",
            DefectKind::Duplicate => "duplicate",
            DefectKind::OutOfOrder => "out_of_order",
            DefectKind::Late => "late",
        }
    }
}

/// One injected defect, its row relative to the batch it was injected into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TruthRow {
    pub row: usize,
    pub kind: DefectKind,
    /// The column concerned; empty for whole-row defects.
    pub column: &'static str,
    pub detail: String,
    /// The row's key, `col=value;col=value` (clean values).
    pub key: String,
    /// Present only in the text formats.
    pub text_only: bool,
}

/// How a text writer must write one cell of a malformed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Override {
    /// Write this text instead of the value (a JSON string in NDJSON).
    Replace { col: usize, text: String },
    /// Leave the field out (CSV: one field fewer; NDJSON: no key).
    Drop { col: usize },
}

/// A batch after injection.
pub(crate) struct Dirtied {
    pub batch: RecordBatch,
    /// Text overrides by output row, sorted by row.
    pub overrides: Vec<(usize, Override)>,
    pub truth: Vec<TruthRow>,
    pub out_of_order: bool,
    /// Rows held back for the next file (late telemetry).
    pub carry: Option<RecordBatch>,
}

impl Dirtied {
    /// A batch with nothing injected.
    pub fn clean(batch: RecordBatch) -> Dirtied {
        Dirtied {
            batch,
            overrides: Vec::new(),
            truth: Vec::new(),
            out_of_order: false,
            carry: None,
        }
    }
}

/// Compares rows by the table's sort order.
struct Keys<'a> {
    cols: Vec<&'a ArrayRef>,
}

impl<'a> Keys<'a> {
    fn new(table: Table, batch: &'a RecordBatch) -> Keys<'a> {
        let cols = table
            .sort_order()
            .iter()
            .filter_map(|c| batch.column_by_name(c))
            .collect();
        Keys { cols }
    }

    fn cmp(&self, i: usize, other: &Keys<'_>, j: usize) -> Ordering {
        for (a, b) in self.cols.iter().zip(&other.cols) {
            let o = match a.data_type() {
                DataType::Utf8 => a
                    .as_string::<i32>()
                    .value(i)
                    .cmp(b.as_string::<i32>().value(j)),
                DataType::Int64 => a
                    .as_primitive::<Int64Type>()
                    .value(i)
                    .cmp(&b.as_primitive::<Int64Type>().value(j)),
                DataType::Timestamp(..) => a
                    .as_primitive::<TimestampMicrosecondType>()
                    .value(i)
                    .cmp(&b.as_primitive::<TimestampMicrosecondType>().value(j)),
                _ => Ordering::Equal,
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

fn key_text(table: Table, batch: &RecordBatch, row: usize) -> String {
    let mut s = String::new();
    for (k, col) in table.key().iter().enumerate() {
        if k > 0 {
            s.push(';');
        }
        s.push_str(col);
        s.push('=');
        if let Some(a) = batch.column_by_name(col) {
            s.push_str(&cell_text(a.as_ref(), row));
        }
    }
    s
}

/// A value patch for one cell.
#[derive(Debug, Clone, Copy)]
enum Patch {
    F64(f64),
    I64(i64),
    I32(i32),
    U8(u8),
    Str(&'static str),
    Null,
}

/// An invalid-row recipe: patches, the column named in ground truth, and the detail.
type Recipe = (Vec<(&'static str, Patch)>, &'static str, String);

fn ts_of(batch: &RecordBatch, col: &str, row: usize) -> Option<i64> {
    let a = batch.column_by_name(col)?;
    let a = a.as_primitive_opt::<TimestampMicrosecondType>()?;
    a.is_valid(row).then(|| a.value(row))
}

fn i64_of(batch: &RecordBatch, col: &str, row: usize) -> Option<i64> {
    let a = batch.column_by_name(col)?.as_primitive_opt::<Int64Type>()?;
    a.is_valid(row).then(|| a.value(row))
}

fn i32_of(batch: &RecordBatch, col: &str, row: usize) -> Option<i32> {
    let a = batch.column_by_name(col)?.as_primitive_opt::<Int32Type>()?;
    a.is_valid(row).then(|| a.value(row))
}

fn str_of<'a>(batch: &'a RecordBatch, col: &str, row: usize) -> Option<&'a str> {
    let a = batch.column_by_name(col)?.as_string_opt::<i32>()?;
    a.is_valid(row).then(|| a.value(row))
}

/// How to make row `row` of `batch` (a clean row of `table`) break a rule.
fn invalid_recipe(table: Table, batch: &RecordBatch, row: usize, rng: &mut ChaCha8Rng) -> Recipe {
    let variant = rng.random_range(0..3u32);
    match table {
        Table::SensorReadings => match variant {
            0 => (
                vec![("value", Patch::F64(f64::NAN))],
                "value",
                "value is NaN".into(),
            ),
            1 => (
                vec![("value", Patch::Null), ("quality", Patch::U8(0))],
                "value",
                "value is null while quality is good (0)".into(),
            ),
            _ => (
                vec![("quality", Patch::U8(7))],
                "quality",
                "quality code 7 is not one of 0, 1, 2, 3".into(),
            ),
        },
        Table::MachineStates => {
            let start = ts_of(batch, "start_ts", row).unwrap_or(0);
            match variant {
                0 => {
                    let back = rng.random_range(1..=60) * US_PER_MIN;
                    (
                        vec![("end_ts", Patch::I64(start - back))],
                        "end_ts",
                        "end_ts before start_ts".into(),
                    )
                }
                1 => (
                    vec![("state", Patch::Str("RUNING"))],
                    "state",
                    "state `RUNING` is not a machine state".into(),
                ),
                _ => {
                    if str_of(batch, "reason", row).is_some() {
                        let state = str_of(batch, "state", row).unwrap_or("");
                        (
                            vec![("reason", Patch::Null)],
                            "reason",
                            format!("reason is null for state {state}"),
                        )
                    } else {
                        (
                            vec![("state", Patch::Str("DWON"))],
                            "state",
                            "state `DWON` is not a machine state".into(),
                        )
                    }
                }
            }
        }
        Table::ProductionCounts => {
            if variant == 0 {
                let g = i32_of(batch, "good_qty", row).unwrap_or(0);
                (
                    vec![("good_qty", Patch::I32(-(g.max(1))))],
                    "good_qty",
                    "negative good_qty".into(),
                )
            } else {
                let s = i32_of(batch, "scrap_qty", row).unwrap_or(0);
                (
                    vec![("scrap_qty", Patch::I32(-(s.max(1))))],
                    "scrap_qty",
                    "negative scrap_qty".into(),
                )
            }
        }
        Table::Orders => {
            if variant == 0 {
                (
                    vec![("quantity", Patch::I32(0))],
                    "quantity",
                    "quantity is 0 (must be > 0)".into(),
                )
            } else {
                let q = i32_of(batch, "quantity", row).unwrap_or(1);
                (
                    vec![("quantity", Patch::I32(-q.max(1)))],
                    "quantity",
                    "negative quantity".into(),
                )
            }
        }
        _ => {
            // deliveries
            let ordered = ts_of(batch, "ordered_at", row).unwrap_or(0);
            match (
                variant,
                ts_of(batch, "received_at", row),
                i64_of(batch, "qty_received", row),
            ) {
                (0 | 1, Some(_), _) => {
                    let back = rng.random_range(1..=5) * US_PER_DAY;
                    (
                        vec![("received_at", Patch::I64(ordered - back))],
                        "received_at",
                        "received_at before ordered_at".into(),
                    )
                }
                (_, _, Some(q)) => (
                    vec![("qty_received", Patch::I64(-q.max(1)))],
                    "qty_received",
                    "negative qty_received".into(),
                ),
                _ => {
                    let q = i64_of(batch, "qty_ordered", row).unwrap_or(1);
                    (
                        vec![("qty_ordered", Patch::I64(-q.max(1)))],
                        "qty_ordered",
                        "negative qty_ordered".into(),
                    )
                }
            }
        }
    }
}

/// Corrupts an RFC 3339 text so that it cannot be parsed (hour 25 or day 32).
fn bad_timestamp(text: &str, rng: &mut ChaCha8Rng) -> String {
    let mut t = text.to_string();
    if t.len() >= 13 {
        if rng.random::<bool>() {
            t.replace_range(11..13, "25");
        } else {
            t.replace_range(8..10, "32");
        }
    } else {
        t = "2025-13-45T99:99:99Z".into();
    }
    t
}

/// How to make row `row`'s text unparseable: the override, the column and the detail.
fn malformed_recipe(
    table: Table,
    batch: &RecordBatch,
    row: usize,
    rng: &mut ChaCha8Rng,
) -> (Override, &'static str, String) {
    let schema = table.schema();
    let idx = |c: &str| schema.index_of(c).unwrap_or(0);
    let (ts_col, num_col, num_text, drop_col): (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) = match table {
        Table::SensorReadings => (
            "ts",
            "value",
            if rng.random::<bool>() {
                "#VALUE!"
            } else {
                "1.2.3"
            },
            "metric",
        ),
        Table::MachineStates => ("start_ts", "order_id", "12O45", "state"),
        Table::ProductionCounts => ("ts", "good_qty", "twelve", "sku"),
        Table::Orders => ("created_at", "unit_price", "12,50", "sku"),
        _ => ("ordered_at", "qty_ordered", "n.a.", "part_id"),
    };
    match rng.random_range(0..3u32) {
        0 => {
            let clean = batch
                .column_by_name(ts_col)
                .map(|a| cell_text(a.as_ref(), row))
                .unwrap_or_default();
            let text = bad_timestamp(&clean, rng);
            let detail = format!("unparseable timestamp `{text}`");
            (
                Override::Replace {
                    col: idx(ts_col),
                    text,
                },
                ts_col,
                detail,
            )
        }
        1 => (
            Override::Replace {
                col: idx(num_col),
                text: num_text.to_string(),
            },
            num_col,
            format!("non-numeric {num_col} `{num_text}`"),
        ),
        _ => (
            Override::Drop { col: idx(drop_col) },
            drop_col,
            format!("missing field {drop_col}"),
        ),
    }
}

fn patch_primitive<T: ArrowPrimitiveType>(
    a: &ArrayRef,
    patches: &[(usize, Patch)],
    f: impl Fn(Patch) -> Option<T::Native>,
) -> ArrayRef {
    let arr = a.as_primitive::<T>();
    let mut values = arr.values().to_vec();
    let mut valid: Vec<bool> = (0..arr.len()).map(|i| arr.is_valid(i)).collect();
    for &(row, p) in patches {
        match f(p) {
            Some(v) => {
                values[row] = v;
                valid[row] = true;
            }
            None => valid[row] = false,
        }
    }
    let nulls = NullBuffer::from(valid);
    let out = PrimitiveArray::<T>::new(values.into(), (nulls.null_count() > 0).then_some(nulls))
        .with_data_type(a.data_type().clone());
    Arc::new(out)
}

fn patch_column(a: &ArrayRef, patches: &[(usize, Patch)]) -> ArrayRef {
    match a.data_type() {
        DataType::Float64 => patch_primitive::<Float64Type>(a, patches, |p| match p {
            Patch::F64(v) => Some(v),
            _ => None,
        }),
        DataType::Int64 => patch_primitive::<Int64Type>(a, patches, |p| match p {
            Patch::I64(v) => Some(v),
            _ => None,
        }),
        DataType::Timestamp(..) => {
            patch_primitive::<TimestampMicrosecondType>(a, patches, |p| match p {
                Patch::I64(v) => Some(v),
                _ => None,
            })
        }
        DataType::Int32 => patch_primitive::<Int32Type>(a, patches, |p| match p {
            Patch::I32(v) => Some(v),
            _ => None,
        }),
        DataType::Int16 => patch_primitive::<Int16Type>(a, patches, |p| match p {
            Patch::I32(v) => i16::try_from(v).ok(),
            _ => None,
        }),
        DataType::UInt8 => patch_primitive::<UInt8Type>(a, patches, |p| match p {
            Patch::U8(v) => Some(v),
            _ => None,
        }),
        _ => {
            let arr = a.as_string::<i32>();
            let mut out: Vec<Option<&str>> = arr.iter().collect();
            for &(row, p) in patches {
                out[row] = match p {
                    Patch::Str(s) => Some(s),
                    _ => None,
                };
            }
            Arc::new(StringArray::from(out))
        }
    }
}

/// Injects defects into `batch` (clean, sorted rows of `table`), after merging `carried`
/// (late rows from the previous file, sorted) at their sorted places. Late rows are only
/// chosen when `allow_late`. `rng` is the chunk's own stream.
pub(crate) fn inject(
    table: Table,
    batch: &RecordBatch,
    carried: Option<&RecordBatch>,
    rates: &DirtyConfig,
    allow_late: bool,
    rng: &mut ChaCha8Rng,
) -> Result<Dirtied> {
    let keys = Keys::new(table, batch);
    // the merged sequence, as (source, row): source 0 = batch, 1 = carried
    let mut seq: Vec<(usize, usize)> =
        Vec::with_capacity(batch.num_rows() + carried.map_or(0, |c| c.num_rows()));
    let mut carried_at: Vec<usize> = Vec::new();
    match carried {
        Some(c) if c.num_rows() > 0 => {
            let ckeys = Keys::new(table, c);
            let mut i = 0;
            for j in 0..c.num_rows() {
                // place the late row before the first batch row that sorts after it
                while i < batch.num_rows() && keys.cmp(i, &ckeys, j) != Ordering::Greater {
                    seq.push((0, i));
                    i += 1;
                }
                carried_at.push(seq.len());
                seq.push((1, j));
            }
            seq.extend((i..batch.num_rows()).map(|r| (0, r)));
        }
        _ => seq.extend((0..batch.num_rows()).map(|r| (0, r))),
    }
    let sources: Vec<&RecordBatch> = match carried {
        Some(c) => vec![batch, c],
        None => vec![batch],
    };
    let src_keys: Vec<Keys<'_>> = sources.iter().map(|b| Keys::new(table, b)).collect();
    let cmp_seq = |a: usize, b: usize| {
        let (sa, ra) = seq[a];
        let (sb, rb) = seq[b];
        src_keys[sa].cmp(ra, &src_keys[sb], rb)
    };

    // choose defect positions: at least MIN_GAP apart, away from carried-in rows
    let mut kind_rates = rates.rates();
    if !allow_late {
        kind_rates[4] = 0.0;
    }
    let total: f64 = kind_rates.iter().sum();
    let n = seq.len();
    let mut chosen: Vec<(usize, DefectKind)> = Vec::new();
    if total > 0.0 && n > 0 {
        let p = 1.0 / (1.0 / total - MIN_GAP as f64).max(1.0);
        let cum = cumulative(&kind_rates);
        let mut pos = geometric(rng, p).min(n as u64) as usize;
        let mut late_i = 0;
        while pos < n {
            while late_i < carried_at.len() && carried_at[late_i] + MIN_GAP <= pos {
                late_i += 1;
            }
            let near_late = late_i < carried_at.len() && carried_at[late_i] < pos + MIN_GAP;
            if near_late {
                pos = carried_at[late_i] + MIN_GAP;
                continue;
            }
            chosen.push((pos, DefectKind::ALL[pick(rng, &cum)]));
            pos += MIN_GAP + geometric(rng, p).min(n as u64) as usize;
        }
    }

    // assemble the output
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(n + chosen.len());
    let mut truth = Vec::new();
    let mut overrides = Vec::new();
    let mut patches: Vec<(usize, &'static str, Patch)> = Vec::new();
    let mut carry_rows: Vec<usize> = Vec::new();
    let mut deferred: Option<(usize, usize)> = None; // (emit after seq index, seq index)
    let mut late_i = 0;
    let mut c_i = 0;
    let mut out_of_order = false;
    let key_of = |s: usize| key_text(table, sources[seq[s].0], seq[s].1);
    for s in 0..n {
        let kind = if c_i < chosen.len() && chosen[c_i].0 == s {
            c_i += 1;
            Some(chosen[c_i - 1].1)
        } else {
            None
        };
        if late_i < carried_at.len() && carried_at[late_i] == s {
            late_i += 1;
            let (src, row) = seq[s];
            let at = ts_of(sources[src], "ts", row).unwrap_or(0);
            truth.push(TruthRow {
                row: out.len(),
                kind: DefectKind::Late,
                column: "ts",
                detail: format!(
                    "reading of {} written to the file of {}",
                    date_text(day_of(at)),
                    date_text(day_of(at) + 1)
                ),
                key: key_of(s),
                text_only: false,
            });
            out.push(seq[s]);
        } else {
            match kind {
                Some(DefectKind::Late) => carry_rows.push(s),
                Some(DefectKind::OutOfOrder) => {
                    // move s after s + k, with key(s) < key(s + k)
                    let k = (1..=4).find(|&k| s + k < n && cmp_seq(s, s + k) == Ordering::Less);
                    match k {
                        Some(k) => deferred = Some((s + k, s)),
                        None => out.push(seq[s]),
                    }
                }
                Some(DefectKind::Duplicate) => {
                    out.push(seq[s]);
                    truth.push(TruthRow {
                        row: out.len(),
                        kind: DefectKind::Duplicate,
                        column: "",
                        detail: format!("exact copy of row {}", out.len() - 1),
                        key: key_of(s),
                        text_only: false,
                    });
                    out.push(seq[s]);
                }
                Some(DefectKind::Invalid) => {
                    let (src, row) = seq[s];
                    let (ps, column, detail) = invalid_recipe(table, sources[src], row, rng);
                    for (col, p) in ps {
                        patches.push((out.len(), col, p));
                    }
                    truth.push(TruthRow {
                        row: out.len(),
                        kind: DefectKind::Invalid,
                        column,
                        detail,
                        key: key_of(s),
                        text_only: false,
                    });
                    out.push(seq[s]);
                }
                Some(DefectKind::Malformed) => {
                    let (src, row) = seq[s];
                    let (o, column, detail) = malformed_recipe(table, sources[src], row, rng);
                    overrides.push((out.len(), o));
                    truth.push(TruthRow {
                        row: out.len(),
                        kind: DefectKind::Malformed,
                        column,
                        detail,
                        key: key_of(s),
                        text_only: true,
                    });
                    out.push(seq[s]);
                }
                None => out.push(seq[s]),
            }
        }
        if let Some((after, moved)) = deferred
            && after == s
        {
            truth.push(TruthRow {
                row: out.len(),
                kind: DefectKind::OutOfOrder,
                column: "",
                detail: match after - moved {
                    1 => "moved 1 row later".to_string(),
                    k => format!("moved {k} rows later"),
                },
                key: key_of(moved),
                text_only: false,
            });
            out.push(seq[moved]);
            out_of_order = true;
            deferred = None;
        }
    }
    let mut result = interleave_record_batch(&sources, &out)?;
    if !patches.is_empty() {
        let schema = result.schema();
        let mut columns: Vec<ArrayRef> = result.columns().to_vec();
        for (ci, field) in schema.fields().iter().enumerate() {
            let ps: Vec<(usize, Patch)> = patches
                .iter()
                .filter(|(_, c, _)| *c == field.name())
                .map(|&(r, _, p)| (r, p))
                .collect();
            if !ps.is_empty() {
                columns[ci] = patch_column(&columns[ci], &ps);
            }
        }
        result = RecordBatch::try_new(schema, columns)?;
    }
    let carry = if carry_rows.is_empty() {
        None
    } else {
        let idx: Vec<(usize, usize)> = carry_rows.iter().map(|&s| seq[s]).collect();
        Some(interleave_record_batch(&sources, &idx)?)
    };
    Ok(Dirtied {
        batch: result,
        overrides,
        truth,
        out_of_order,
        carry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::{Purpose, stream};
    use arrow::array::StringArray as S;
    use arrow::array::{Float64Array, TimestampMicrosecondArray, UInt8Array};

    fn telemetry(rows: usize, sensor: &str, t0: i64) -> RecordBatch {
        let n = rows;
        let s = |v: &str| Arc::new(S::from(vec![v; n])) as ArrayRef;
        RecordBatch::try_new(
            Table::SensorReadings.schema(),
            vec![
                s("P01"),
                s("P01-L01"),
                s("P01-L01-M01"),
                s(sensor),
                s("vibration"),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        (0..n as i64).map(|i| t0 + i * 1_000_000),
                    )
                    .with_timezone("UTC"),
                ),
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64))),
                Arc::new(UInt8Array::from(vec![0u8; n])),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn duplicates_and_moves_are_exact() {
        let b = telemetry(20_000, "S000001", 0);
        let rates = DirtyConfig {
            malformed: 0.0,
            invalid: 0.0,
            duplicates: 0.004,
            out_of_order: 0.004,
            late: 0.0,
        };
        let mut rng = stream(1, Purpose::Dirty, 0, 0);
        let d = inject(Table::SensorReadings, &b, None, &rates, false, &mut rng).expect("inject");
        let ts = d.batch.column(5).as_primitive::<TimestampMicrosecondType>();
        let dups = d
            .truth
            .iter()
            .filter(|t| t.kind == DefectKind::Duplicate)
            .count();
        let moves = d
            .truth
            .iter()
            .filter(|t| t.kind == DefectKind::OutOfOrder)
            .count();
        assert_eq!(d.batch.num_rows(), 20_000 + dups);
        assert!(
            (40..=120).contains(&dups) && (40..=120).contains(&moves),
            "{dups} {moves}"
        );
        assert!(d.out_of_order);
        for t in &d.truth {
            match t.kind {
                DefectKind::Duplicate => assert_eq!(ts.value(t.row), ts.value(t.row - 1)),
                _ => assert!(ts.value(t.row) < ts.value(t.row - 1)),
            }
        }
        // exactly the listed rows break the order
        let broken: Vec<usize> = (1..ts.len())
            .filter(|&i| ts.value(i) < ts.value(i - 1))
            .collect();
        let listed: Vec<usize> = d
            .truth
            .iter()
            .filter(|t| t.kind == DefectKind::OutOfOrder)
            .map(|t| t.row)
            .collect();
        assert_eq!(broken, listed);
    }

    #[test]
    fn late_rows_travel_to_the_next_file() {
        let day0 = telemetry(5_000, "S000001", 0);
        let day1 = telemetry(5_000, "S000001", US_PER_DAY);
        let rates = DirtyConfig {
            malformed: 0.0,
            invalid: 0.0,
            duplicates: 0.0,
            out_of_order: 0.0,
            late: 0.01,
        };
        let mut rng = stream(2, Purpose::Dirty, 0, 0);
        let d0 = inject(Table::SensorReadings, &day0, None, &rates, true, &mut rng).expect("day 0");
        let carry = d0.carry.expect("late rows");
        assert_eq!(d0.batch.num_rows() + carry.num_rows(), 5_000);
        let d1 = inject(
            Table::SensorReadings,
            &day1,
            Some(&carry),
            &rates,
            false,
            &mut rng,
        )
        .expect("day 1");
        let late: Vec<&TruthRow> = d1
            .truth
            .iter()
            .filter(|t| t.kind == DefectKind::Late)
            .collect();
        assert_eq!(late.len(), carry.num_rows());
        let ts = d1
            .batch
            .column(5)
            .as_primitive::<TimestampMicrosecondType>();
        assert!(late.iter().all(|t| ts.value(t.row) < US_PER_DAY));
        assert!(
            (1..ts.len()).all(|i| ts.value(i) >= ts.value(i - 1)),
            "late rows keep the order"
        );
    }

    #[test]
    fn invalid_and_malformed_rows_are_marked() {
        let b = telemetry(10_000, "S000001", 0);
        let rates = DirtyConfig {
            malformed: 0.01,
            invalid: 0.01,
            duplicates: 0.0,
            out_of_order: 0.0,
            late: 0.0,
        };
        let mut rng = stream(3, Purpose::Dirty, 0, 0);
        let d = inject(Table::SensorReadings, &b, None, &rates, false, &mut rng).expect("inject");
        assert_eq!(d.batch.num_rows(), 10_000);
        let malformed: Vec<usize> = d
            .truth
            .iter()
            .filter(|t| t.kind == DefectKind::Malformed)
            .map(|t| t.row)
            .collect();
        assert_eq!(
            malformed,
            d.overrides.iter().map(|o| o.0).collect::<Vec<_>>()
        );
        let value = d.batch.column(6).as_primitive::<Float64Type>();
        let quality = d.batch.column(7).as_primitive::<UInt8Type>();
        for t in d.truth.iter().filter(|t| t.kind == DefectKind::Invalid) {
            let bad =
                value.is_null(t.row) || value.value(t.row).is_nan() || quality.value(t.row) > 3;
            assert!(bad, "{t:?}");
        }
        let clean_rows = (0..10_000)
            .filter(|&r| value.is_valid(r) && !value.value(r).is_nan() && quality.value(r) <= 3)
            .count();
        assert_eq!(
            clean_rows,
            10_000
                - d.truth
                    .iter()
                    .filter(|t| t.kind == DefectKind::Invalid)
                    .count()
        );
    }
}
