//! Row order of a write: key columns turned into order-preserving codes, sorting, dedup by
//! key and grouping by partition, without hashing rows or comparing strings in the sort.
//!
//! A column's *code* is a `u64` per row that compares as the values do: the rank of a
//! string among the column's distinct strings (nulls rank 0), a signed integer or timestamp
//! with its sign bit flipped, an unsigned integer as is. Equal codes mean equal values, so
//! sorting and deduplicating by codes is sorting and deduplicating by value. A column whose
//! type has no code (floats, nested types), or an integer column with nulls, falls back to
//! Arrow's row format ([`RowConverter`]), which compares as bytes.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::{cast, concat};
use datafusion::arrow::datatypes::{DataType, Int64Type, UInt64Type};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::ScalarValue;
use datafusion::prelude::{Expr, ident, lit};
use fabrik_model::Table;

use super::{DedupPolicy, Layout};
use crate::error::{Error, Result};

/// Sort keys of a set of rows: one code column per key column, or Arrow rows.
pub(crate) enum Keys {
    /// One code per row and column (column-major).
    Codes(Vec<Vec<u64>>),
    /// Arrow's row format, for types without codes.
    Rows(Rows),
}

impl Keys {
    /// Keys of `columns` (all of the same length).
    pub(crate) fn new(columns: &[ArrayRef]) -> Result<Keys> {
        let mut codes = Vec::with_capacity(columns.len());
        for c in columns {
            match column_codes(c)? {
                Some(v) => codes.push(v),
                None => {
                    let converter = RowConverter::new(
                        columns
                            .iter()
                            .map(|c| SortField::new(c.data_type().clone()))
                            .collect(),
                    )?;
                    return Ok(Keys::Rows(converter.convert_columns(columns)?));
                }
            }
        }
        Ok(Keys::Codes(codes))
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        match self {
            Keys::Codes(c) => c.first().map_or(0, Vec::len),
            Keys::Rows(r) => r.num_rows(),
        }
    }

    /// The key of row `i` compared with the key of row `j`.
    pub(crate) fn cmp(&self, i: usize, j: usize) -> Ordering {
        match self {
            Keys::Codes(cols) => {
                for c in cols {
                    match c[i].cmp(&c[j]) {
                        Ordering::Equal => continue,
                        o => return o,
                    }
                }
                Ordering::Equal
            }
            Keys::Rows(r) => r.row(i).cmp(&r.row(j)),
        }
    }

    /// Whether rows `i` and `j` have equal keys.
    pub(crate) fn eq(&self, i: usize, j: usize) -> bool {
        self.cmp(i, j) == Ordering::Equal
    }

    /// The rows of `subset` (all rows when `None`) ordered by key, ties in the order given
    /// (a stable sort). Input already in order costs one pass.
    pub(crate) fn sorted(&self, subset: Option<Vec<u32>>) -> Vec<u32> {
        let mut idx = subset.unwrap_or_else(|| (0..self.len() as u32).collect());
        if idx
            .windows(2)
            .all(|w| self.cmp(w[0] as usize, w[1] as usize) != Ordering::Greater)
        {
            return idx;
        }
        // Sorting tuples ending with the position in the given order keeps ties in it.
        match self {
            Keys::Codes(cols) if cols.len() == 1 => {
                let c = &cols[0];
                let mut t: Vec<(u64, u32)> = idx
                    .iter()
                    .enumerate()
                    .map(|(p, &i)| (c[i as usize], p as u32))
                    .collect();
                t.sort_unstable();
                idx = t.into_iter().map(|e| idx[e.1 as usize]).collect();
            }
            Keys::Codes(cols) if cols.len() == 2 => {
                let (a, b) = (&cols[0], &cols[1]);
                let mut t: Vec<(u64, u64, u32)> = idx
                    .iter()
                    .enumerate()
                    .map(|(p, &i)| (a[i as usize], b[i as usize], p as u32))
                    .collect();
                t.sort_unstable();
                idx = t.into_iter().map(|e| idx[e.2 as usize]).collect();
            }
            _ => idx.sort_by(|&i, &j| self.cmp(i as usize, j as usize)),
        }
        idx
    }

    /// Keeps one row per key from `sorted` (the output of [`Keys::sorted`]): the first or
    /// the last of each run of equal keys. The result stays in key order.
    pub(crate) fn dedup(&self, sorted: &[u32], policy: DedupPolicy) -> Vec<u32> {
        let mut out = Vec::with_capacity(sorted.len());
        let mut i = 0;
        while i < sorted.len() {
            let mut j = i + 1;
            while j < sorted.len() && self.eq(sorted[i] as usize, sorted[j] as usize) {
                j += 1;
            }
            out.push(match policy {
                DedupPolicy::KeepFirst => sorted[i],
                DedupPolicy::KeepLast => sorted[j - 1],
            });
            i = j;
        }
        out
    }
}

/// Order-preserving codes of one column, or `None` when its type has none.
fn column_codes(c: &ArrayRef) -> Result<Option<Vec<u64>>> {
    let n = c.len();
    match c.data_type() {
        DataType::Utf8 => Ok(Some(string_ranks(c.as_string::<i32>().iter(), n))),
        DataType::LargeUtf8 => Ok(Some(string_ranks(c.as_string::<i64>().iter(), n))),
        DataType::Utf8View => Ok(Some(string_ranks(c.as_string_view().iter(), n))),
        DataType::Dictionary(_, v) if v.is_string() || **v == DataType::Utf8View => {
            let plain = cast(c, &DataType::Utf8)?;
            Ok(Some(string_ranks(plain.as_string::<i32>().iter(), n)))
        }
        DataType::Boolean => Ok(Some(
            c.as_boolean()
                .iter()
                .map(|v| v.map_or(0, |b| 1 + u64::from(b)))
                .collect(),
        )),
        _ if c.null_count() > 0 => Ok(None),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(_, _) => {
            let v = if *c.data_type() == DataType::Int64 {
                c.clone()
            } else {
                cast(c, &DataType::Int64)?
            };
            Ok(Some(
                v.as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .map(|&x| (x as u64) ^ (1 << 63))
                    .collect(),
            ))
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            let v = cast(c, &DataType::UInt64)?;
            Ok(Some(v.as_primitive::<UInt64Type>().values().to_vec()))
        }
        _ => Ok(None),
    }
}

/// Whether two strings are equal; ids of a few bytes are compared in line, without a call
/// to `memcmp`.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && if a.len() <= 16 {
            a.iter().zip(b).all(|(x, y)| x == y)
        } else {
            a == b
        }
}

/// The rank of each string among the distinct strings (1-based; null is 0). Runs of equal
/// strings (sorted input) cost one comparison per row.
fn string_ranks<'a>(values: impl Iterator<Item = Option<&'a str>>, n: usize) -> Vec<u64> {
    let mut ids: HashMap<&str, u32, foldhash::fast::FixedState> = HashMap::default();
    let mut distinct: Vec<&str> = Vec::new();
    let mut provisional: Vec<u32> = Vec::with_capacity(n);
    let mut last: Option<(&str, u32)> = None;
    for v in values {
        let id = match v {
            None => u32::MAX,
            Some(s) => match last {
                Some((l, id)) if same(l.as_bytes(), s.as_bytes()) => id,
                _ => {
                    let id = *ids.entry(s).or_insert_with(|| {
                        distinct.push(s);
                        (distinct.len() - 1) as u32
                    });
                    last = Some((s, id));
                    id
                }
            },
        };
        provisional.push(id);
    }
    let mut by_value: Vec<u32> = (0..distinct.len() as u32).collect();
    by_value.sort_unstable_by_key(|&d| distinct[d as usize]);
    let mut rank = vec![0u64; distinct.len()];
    for (r, &d) in by_value.iter().enumerate() {
        rank[d as usize] = r as u64 + 1;
    }
    provisional
        .into_iter()
        .map(|id| if id == u32::MAX { 0 } else { rank[id as usize] })
        .collect()
}

/// The rows of one partition of a write, in the table's sort order.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// The partition columns' values (Delta partition strings), in layout order; empty when
    /// the table is unpartitioned.
    pub values: Vec<String>,
    /// Row indices into the write's batch.
    pub rows: Vec<u32>,
}

/// The columns of `batch` named `names`, in that order.
pub(crate) fn columns(batch: &RecordBatch, names: &[&str]) -> Result<Vec<ArrayRef>> {
    names
        .iter()
        .map(|n| {
            batch
                .column_by_name(n)
                .cloned()
                .ok_or_else(|| Error::BatchSchema {
                    table: String::new(),
                    column: (*n).to_string(),
                    why: "a key, sort or partition column is missing from the batch".to_string(),
                })
        })
        .collect()
}

/// Plans a write of `batch` (lake schema): one row per key ([`Table::key`], with the
/// layout's dedup policy), the rows in the layout's sort order, grouped by partition
/// (groups in partition order). Returns the groups and the number of rows kept.
pub(crate) fn plan(batch: &RecordBatch, table: Table, lay: &Layout) -> Result<(Vec<Group>, u64)> {
    let key = table.key();
    let keys = Keys::new(&columns(batch, key)?)?;
    let sorted = keys.sorted(None);
    let mut unique = keys.dedup(&sorted, lay.dedup);
    drop(keys);
    let kept = unique.len() as u64;
    // Rows in key order are in sort order when the sort order is a prefix of the key.
    if !key.starts_with(lay.sort_by) {
        let by = Keys::new(&columns(batch, lay.sort_by)?)?;
        unique = by.sorted(Some(unique));
    }
    let partitions = lay.partition_names();
    let names: Vec<&str> = partitions.iter().map(String::as_str).collect();
    Ok((group(batch, &names, &unique)?, kept))
}

/// Splits `rows` by the values of the partition columns `names`, keeping their order
/// inside each group; groups come in partition order.
pub(crate) fn group(batch: &RecordBatch, names: &[&str], rows: &[u32]) -> Result<Vec<Group>> {
    if names.is_empty() {
        return Ok(vec![Group {
            values: Vec::new(),
            rows: rows.to_vec(),
        }]);
    }
    let cols = columns(batch, names)?;
    let keys = Keys::new(&cols)?;
    // One representative row per group, kept sorted by partition key.
    let mut reps: Vec<u32> = Vec::new();
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut last: Option<usize> = None;
    for &r in rows {
        let g = match last {
            Some(g) if keys.eq(reps[g] as usize, r as usize) => g,
            _ => match reps.binary_search_by(|&p| keys.cmp(p as usize, r as usize)) {
                Ok(g) => g,
                Err(at) => {
                    reps.insert(at, r);
                    groups.insert(at, Vec::new());
                    at
                }
            },
        };
        groups[g].push(r);
        last = Some(g);
    }
    reps.into_iter()
        .zip(groups)
        .map(|(rep, rows)| {
            let values = cols
                .iter()
                .map(|c| array_value_to_string(c.as_ref(), rep as usize))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(Group { values, rows })
        })
        .collect()
}

/// Which keys two sets of rows share: for each row of `old`, whether its key occurs in
/// `new`, and for each row of `new`, whether it occurs in `old`. The key columns are
/// paired by position; `old`'s are cast to `new`'s types.
pub(crate) fn shared_keys(old: &[ArrayRef], new: &[ArrayRef]) -> Result<(Vec<bool>, Vec<bool>)> {
    let n_old = old.first().map_or(0, |c| c.len());
    let n_new = new.first().map_or(0, |c| c.len());
    let mut both = Vec::with_capacity(new.len());
    for (o, n) in old.iter().zip(new) {
        let o = if o.data_type() == n.data_type() {
            Arc::clone(o)
        } else {
            cast(o, n.data_type())?
        };
        both.push(concat(&[o.as_ref(), n.as_ref()])?);
    }
    let keys = Keys::new(&both)?;
    if let Keys::Codes(cols) = &keys
        && cols.len() <= 2
    {
        // One or two codes per row: hash the smaller side, probe with the larger one.
        let tuple = |i: usize| (cols[0][i], cols.get(1).map_or(0, |c| c[i]));
        let (small, large) = if n_old <= n_new {
            (0..n_old, n_old..n_old + n_new)
        } else {
            (n_old..n_old + n_new, 0..n_old)
        };
        let mut seen: HashMap<(u64, u64), bool, foldhash::fast::FixedState> =
            HashMap::with_capacity_and_hasher(small.len(), Default::default());
        for i in small.clone() {
            seen.insert(tuple(i), false);
        }
        let mut large_hit = Vec::with_capacity(large.len());
        for i in large.clone() {
            let hit = match seen.get_mut(&tuple(i)) {
                Some(matched) => {
                    *matched = true;
                    true
                }
                None => false,
            };
            large_hit.push(hit);
        }
        let small_hit: Vec<bool> = small.map(|i| seen.get(&tuple(i)) == Some(&true)).collect();
        return Ok(if n_old <= n_new {
            (small_hit, large_hit)
        } else {
            (large_hit, small_hit)
        });
    }
    let sorted = keys.sorted(None);
    let (mut in_new, mut in_old) = (vec![false; n_old], vec![false; n_new]);
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && keys.eq(sorted[i] as usize, sorted[j] as usize) {
            j += 1;
        }
        let run = &sorted[i..j];
        let has_old = run.iter().any(|&r| (r as usize) < n_old);
        let has_new = run.iter().any(|&r| (r as usize) >= n_old);
        if has_old && has_new {
            for &r in run {
                match (r as usize).checked_sub(n_old) {
                    None => in_new[r as usize] = true,
                    Some(k) => in_old[k] = true,
                }
            }
        }
        i = j;
    }
    Ok((in_new, in_old))
}

/// A bound of a column's values, comparable with a Delta file statistic.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub(crate) enum Bound {
    /// Text.
    Text(String),
    /// Integers, dates (days) and timestamps (µs).
    Int(i64),
}

/// The smallest and largest value of each column (`None` for a column without bounds:
/// all null, or a type without a [`Bound`]).
pub(crate) fn bounds(columns: &[ArrayRef]) -> Result<Vec<Option<(Bound, Bound)>>> {
    use datafusion::arrow::compute::{max, max_string, min, min_string};
    columns
        .iter()
        .map(|c| {
            Ok(match c.data_type() {
                DataType::Utf8 => {
                    let s = c.as_string::<i32>();
                    min_string(s)
                        .zip(max_string(s))
                        .map(|(a, b)| (Bound::Text(a.to_string()), Bound::Text(b.to_string())))
                }
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::Date32
                | DataType::Timestamp(_, _) => {
                    let v = cast(c, &DataType::Int64)?;
                    let v = v.as_primitive::<Int64Type>();
                    min(v)
                        .zip(max(v))
                        .map(|(a, b)| (Bound::Int(a), Bound::Int(b)))
                }
                DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(_, _) => {
                    let plain = cast(c, &DataType::Utf8)?;
                    return bounds(&[plain]).map(|mut v| v.pop().flatten());
                }
                _ => None,
            })
        })
        .collect()
}

/// A filter keeping the rows whose key columns lie within `bounds` (`None` when no column
/// has bounds): lets a scan of stored files skip row groups and pages by their statistics.
pub(crate) fn bounds_filter(
    names: &[&str],
    columns: &[ArrayRef],
    bounds: &[Option<(Bound, Bound)>],
) -> Result<Option<Expr>> {
    let mut filter: Option<Expr> = None;
    for ((name, column), b) in names.iter().zip(columns).zip(bounds) {
        let Some((lo, hi)) = b else { continue };
        let scalar = |b: &Bound| -> Result<ScalarValue> {
            Ok(match b {
                Bound::Text(s) => ScalarValue::Utf8(Some(s.clone())),
                Bound::Int(v) => ScalarValue::Int64(Some(*v)).cast_to(column.data_type())?,
            })
        };
        let term = ident(*name)
            .gt_eq(lit(scalar(lo)?))
            .and(ident(*name).lt_eq(lit(scalar(hi)?)));
        filter = Some(match filter {
            None => term,
            Some(f) => f.and(term),
        });
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Float64Array, StringArray, TimestampMicrosecondArray};

    use super::*;

    fn text(v: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn ts(v: &[i64]) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(v.to_vec()).with_timezone("UTC"))
    }

    #[test]
    fn codes_sort_like_values_and_ties_keep_their_order() -> Result<()> {
        let keys = Keys::new(&[text(&["b", "a", "b", "a", "c"]), ts(&[2, 9, -1, 9, 0])])?;
        assert!(matches!(keys, Keys::Codes(_)));
        // (a,9) twice: rows 1 then 3 (stable); (b,-1) before (b,2).
        assert_eq!(keys.sorted(None), vec![1, 3, 2, 0, 4]);
        // A subset in a given order keeps that order among ties.
        assert_eq!(keys.sorted(Some(vec![3, 1, 0])), vec![3, 1, 0]);
        Ok(())
    }

    #[test]
    fn types_without_codes_sort_through_arrow_rows() -> Result<()> {
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![2.5, -1.0, 2.5, f64::NAN]));
        let keys = Keys::new(&[floats])?;
        assert!(matches!(keys, Keys::Rows(_)));
        assert_eq!(keys.sorted(None), vec![1, 0, 2, 3]);
        assert_eq!(
            keys.dedup(&keys.sorted(None), DedupPolicy::KeepLast),
            vec![1, 2, 3]
        );
        Ok(())
    }

    #[test]
    fn dedup_keeps_the_first_or_the_last_of_equal_keys() -> Result<()> {
        let keys = Keys::new(&[text(&["s1", "s2", "s1", "s1"]), ts(&[5, 5, 5, 6])])?;
        let sorted = keys.sorted(None);
        assert_eq!(keys.dedup(&sorted, DedupPolicy::KeepFirst), vec![0, 3, 1]);
        assert_eq!(keys.dedup(&sorted, DedupPolicy::KeepLast), vec![2, 3, 1]);
        Ok(())
    }

    #[test]
    fn shared_keys_match_across_types_and_widths() -> Result<()> {
        // Two key columns (hashed codes) and three (sorted), old keys as Utf8View.
        let old_s: ArrayRef = cast(&text(&["a", "b", "c"]), &DataType::Utf8View)?;
        let (in_new, in_old) = shared_keys(
            &[old_s.clone(), ts(&[1, 2, 3])],
            &[text(&["c", "a", "a"]), ts(&[3, 2, 1])],
        )?;
        assert_eq!(in_new, vec![true, false, true]);
        assert_eq!(in_old, vec![true, false, true]);
        let (in_new, in_old) = shared_keys(
            &[old_s, ts(&[1, 2, 3]), text(&["x", "y", "z"])],
            &[text(&["c", "a"]), ts(&[3, 1]), text(&["z", "y"])],
        )?;
        assert_eq!(in_new, vec![false, false, true]);
        assert_eq!(in_old, vec![true, false]);
        Ok(())
    }

    #[test]
    fn groups_come_in_partition_order_and_keep_row_order() -> Result<()> {
        let batch = RecordBatch::try_from_iter([
            ("plant", text(&["P2", "P1", "P2", "P1", "P3"])),
            ("t", ts(&[0, 1, 2, 3, 4])),
        ])?;
        let groups = group(&batch, &["plant"], &[4, 3, 2, 1, 0])?;
        let got: Vec<(Vec<String>, Vec<u32>)> =
            groups.into_iter().map(|g| (g.values, g.rows)).collect();
        assert_eq!(
            got,
            vec![
                (vec!["P1".to_string()], vec![3, 1]),
                (vec!["P2".to_string()], vec![2, 0]),
                (vec!["P3".to_string()], vec![4]),
            ]
        );
        assert_eq!(group(&batch, &[], &[1, 0])?[0].rows, vec![1, 0]);
        Ok(())
    }

    #[test]
    fn bounds_and_their_filter_cover_the_values() -> Result<()> {
        let cols = [text(&["b", "a", "c"]), ts(&[7, 3, 5])];
        let b = bounds(&cols)?;
        assert_eq!(
            b,
            vec![
                Some((Bound::Text("a".into()), Bound::Text("c".into()))),
                Some((Bound::Int(3), Bound::Int(7))),
            ]
        );
        let f = bounds_filter(&["s", "t"], &cols, &b)?.map(|e| e.to_string());
        let f = f.unwrap_or_default();
        assert!(
            f.contains("s >= Utf8(\"a\")") && f.contains("t <= TimestampMicrosecond(7"),
            "{f}"
        );
        Ok(())
    }
}
