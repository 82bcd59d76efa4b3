//! Run boundaries of one batch in a single pass over the key and the timestamps, for the
//! common case of one key column and a time bucket, neither with nulls.
//!
//! Rows are checked in blocks: a block where no key differs from its predecessor and every
//! timestamp lies in the current bucket is skipped with a branch-free test (a few
//! vectorizable operations per row); only a block holding a boundary is scanned row by row,
//! up to the boundary. Sorted input has long runs, so nearly every block is skipped.

use arrow::array::{Array, ArrayRef, AsArray, GenericStringArray, OffsetSizeTrait};
use arrow::datatypes::{
    ArrowDictionaryKeyType, ArrowPrimitiveType, DataType, Int8Type, Int16Type, Int32Type,
    Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};

use crate::bucket::Bucket;
use crate::rollup::NULL_BUCKET;

/// Rows per block of the branch-free test.
const BLOCK: usize = 16;

/// The runs of a batch: where each starts, whether its key differs from the previous run's
/// (row 0 always does), and its bucket.
#[derive(Debug, Default)]
pub(crate) struct RunStarts {
    pub rows: Vec<u32>,
    pub new_key: Vec<bool>,
    pub bucket: Vec<i64>,
}

impl RunStarts {
    fn push(&mut self, row: usize, new_key: bool, bucket: i64) {
        self.rows.push(row as u32);
        self.new_key.push(new_key);
        self.bucket.push(bucket);
    }
}

/// Compares key rows with their predecessor.
trait Neighbours {
    /// Whether rows `a..b` (`a ≥ 1`) all equal their predecessor.
    fn all_same(&self, a: usize, b: usize) -> bool;
    /// Whether row `i` (`i ≥ 1`) differs from row `i - 1`.
    fn differs(&self, i: usize) -> bool;
}

struct Ints<'a, T>(&'a [T]);

impl<T: Copy + PartialEq> Neighbours for Ints<'_, T> {
    #[inline]
    fn all_same(&self, a: usize, b: usize) -> bool {
        let v = self.0;
        // `&` rather than `&&`: no branch, so the loop vectorizes.
        v[a..b]
            .iter()
            .zip(&v[a - 1..b - 1])
            .fold(true, |ok, (x, y)| ok & (x == y))
    }

    #[inline]
    fn differs(&self, i: usize) -> bool {
        self.0[i] != self.0[i - 1]
    }
}

/// Strings: rows `a..b` equal their predecessors exactly when every row `a - 1..b` has the
/// same length `l` and the bytes of those rows repeat with period `l` (one slice
/// comparison).
struct Strings<'a, O> {
    offsets: &'a [O],
    data: &'a [u8],
}

impl<O: OffsetSizeTrait> Neighbours for Strings<'_, O> {
    #[inline]
    fn all_same(&self, a: usize, b: usize) -> bool {
        let o = self.offsets;
        let l = o[a] - o[a - 1];
        let same_len = o[a..=b]
            .windows(2)
            .fold(true, |ok, w| ok & (w[1] - w[0] == l));
        if !same_len {
            return false;
        }
        let (start, end, l) = (o[a - 1].as_usize(), o[b].as_usize(), l.as_usize());
        self.data[start..end - l] == self.data[start + l..end]
    }

    #[inline]
    fn differs(&self, i: usize) -> bool {
        let o = self.offsets;
        self.data[o[i - 1].as_usize()..o[i].as_usize()]
            != self.data[o[i].as_usize()..o[i + 1].as_usize()]
    }
}

/// The runs of a batch whose key column is `key` and whose bucket timestamps are `ts`, or
/// `None` when this path does not apply (nulls, or a key type it does not read); then the
/// caller finds runs from bitmaps.
pub(crate) fn find(key: &ArrayRef, ts: &[i64], bucket: &Bucket) -> Option<RunStarts> {
    if key.null_count() > 0 || key.logical_null_count() > 0 || ts.is_empty() {
        return None;
    }
    let k = key.as_ref();
    macro_rules! ints {
        ($t:ty) => {
            scan(&Ints(k.as_primitive::<$t>().values().as_ref()), ts, bucket)
        };
    }
    Some(match k.data_type() {
        DataType::Dictionary(kt, _) => match kt.as_ref() {
            DataType::Int8 => dict::<Int8Type>(key, ts, bucket),
            DataType::Int16 => dict::<Int16Type>(key, ts, bucket),
            DataType::Int32 => dict::<Int32Type>(key, ts, bucket),
            DataType::Int64 => dict::<Int64Type>(key, ts, bucket),
            DataType::UInt8 => dict::<UInt8Type>(key, ts, bucket),
            DataType::UInt16 => dict::<UInt16Type>(key, ts, bucket),
            DataType::UInt32 => dict::<UInt32Type>(key, ts, bucket),
            DataType::UInt64 => dict::<UInt64Type>(key, ts, bucket),
            _ => return None,
        },
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        DataType::Utf8 => strings(k.as_string::<i32>(), ts, bucket),
        DataType::LargeUtf8 => strings(k.as_string::<i64>(), ts, bucket),
        _ => return None,
    })
}

fn dict<K: ArrowDictionaryKeyType>(key: &ArrayRef, ts: &[i64], bucket: &Bucket) -> RunStarts
where
    <K as ArrowPrimitiveType>::Native: PartialEq,
{
    let d = key.as_dictionary::<K>();
    scan(&Ints(d.keys().values().as_ref()), ts, bucket)
}

fn strings<O: OffsetSizeTrait>(
    s: &GenericStringArray<O>,
    ts: &[i64],
    bucket: &Bucket,
) -> RunStarts {
    let keys = Strings {
        offsets: s.value_offsets(),
        data: s.value_data(),
    };
    scan(&keys, ts, bucket)
}

/// The current bucket as `(start, last)`: `t` is in it when `(t - start) | (last - t)` has
/// its sign bit clear (exact for all `i64`, with wrapping arithmetic: the two differences
/// add up to `last - start`, so both are non-negative only inside). A timestamp without a
/// bucket gives an empty range (`start` 1, `last` 0), so every next row starts a run.
#[inline]
fn range_of(bucket: &Bucket, t: i64) -> (i64, i64, i64) {
    match bucket.range(t) {
        Some((lo, hi)) => (lo, hi - 1, lo),
        None => (1, 0, NULL_BUCKET),
    }
}

#[inline]
fn outside(t: i64, lo: i64, last: i64) -> i64 {
    t.wrapping_sub(lo) | last.wrapping_sub(t)
}

fn scan(keys: &impl Neighbours, ts: &[i64], bucket: &Bucket) -> RunStarts {
    let n = ts.len();
    let mut out = RunStarts::default();
    let (mut lo, mut last, b) = range_of(bucket, ts[0]);
    out.push(0, true, b);
    let mut i = 1;
    while i < n {
        // Skip whole blocks with no boundary.
        while i + BLOCK <= n {
            // Two separate OR-reductions (rather than one of `outside`) vectorize without
            // shuffles.
            let block = &ts[i..i + BLOCK];
            let below = block.iter().fold(0i64, |a, &t| a | t.wrapping_sub(lo));
            let above = block.iter().fold(0i64, |a, &t| a | last.wrapping_sub(t));
            if (below | above) < 0 || !keys.all_same(i, i + BLOCK) {
                break;
            }
            i += BLOCK;
        }
        // Row by row up to the next boundary (or the end of this block).
        let end = (i + BLOCK).min(n);
        while i < end {
            let new_key = keys.differs(i);
            let t = ts[i];
            let out_of_bucket = outside(t, lo, last) < 0;
            i += 1;
            if new_key || out_of_bucket {
                let b;
                (lo, last, b) = if out_of_bucket {
                    range_of(bucket, t)
                } else {
                    (lo, last, *out.bucket.last().unwrap_or(&NULL_BUCKET))
                };
                out.push(i - 1, new_key, b);
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{DictionaryArray, Int32Array, StringArray};

    /// Run starts by comparing every row with its predecessor (the definition).
    fn naive(keys: &[&str], ts: &[i64], bucket: &Bucket) -> Vec<(u32, bool, i64)> {
        let b = |t: i64| bucket.start(t).unwrap_or(NULL_BUCKET);
        let mut out = vec![(0, true, b(ts[0]))];
        for i in 1..ts.len() {
            let new_key = keys[i] != keys[i - 1];
            let no_bucket = bucket.range(ts[i]).is_none();
            if new_key || b(ts[i]) != b(ts[i - 1]) || no_bucket {
                out.push((i as u32, new_key, b(ts[i])));
            }
        }
        out
    }

    fn triples(r: &RunStarts) -> Vec<(u32, bool, i64)> {
        r.rows
            .iter()
            .zip(&r.new_key)
            .zip(&r.bucket)
            .map(|((&a, &b), &c)| (a, b, c))
            .collect()
    }

    #[test]
    fn block_scan_finds_the_same_runs_as_row_by_row_comparison() {
        let bucket = Bucket::Fixed {
            width: 10,
            origin: 0,
        };
        // Keys of varying lengths and runs of every length around the block size, with
        // timestamps that go back (unsorted), jump, and sit at i64's extremes.
        let mut keys = Vec::new();
        let mut ts = Vec::new();
        let names = ["a", "bb", "b", "ab", "abab", "ba"];
        let mut t = -55i64;
        for run in 0..40usize {
            let len = [1, 2, 15, 16, 17, 31, 33, 3][run % 8];
            for j in 0..len {
                keys.push(names[(run / 3) % names.len()]);
                t += [0, 1, 3, 7][(run + j) % 4];
                ts.push(if run == 20 { t - 100 } else { t });
            }
        }
        ts[5] = i64::MIN;
        ts[6] = i64::MAX;
        ts[70] = i64::MAX - 3;
        let expected = naive(&keys, &ts, &bucket);
        let plain: ArrayRef = Arc::new(StringArray::from(keys.clone()));
        let r = find(&plain, &ts, &bucket).expect("strings take the block path");
        assert_eq!(triples(&r), expected);
        let dict: ArrayRef = Arc::new(keys.iter().copied().collect::<DictionaryArray<Int32Type>>());
        let r = find(&dict, &ts, &bucket).expect("dictionaries take the block path");
        assert_eq!(triples(&r), expected);
        let ints: ArrayRef = Arc::new(Int32Array::from(
            keys.iter()
                .map(|k| names.iter().position(|n| n == k).unwrap_or(0) as i32)
                .collect::<Vec<_>>(),
        ));
        let r = find(&ints, &ts, &bucket).expect("integers take the block path");
        assert_eq!(triples(&r), expected);
    }

    #[test]
    fn nulls_are_left_to_the_bitmap_path() {
        let bucket = Bucket::Fixed {
            width: 10,
            origin: 0,
        };
        let keys: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        assert!(find(&keys, &[1, 2], &bucket).is_none());
    }
}
