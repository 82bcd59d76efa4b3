//! Run boundaries of one batch in a single pass over the key and the timestamps, for the
//! common case of one key column and a time bucket, neither with nulls.
//!
//! Rows are checked in blocks: a block where no key differs from its predecessor and every
//! timestamp lies in the current bucket is skipped with a branch-free test (a few
//! vectorizable operations per row); only a block holding a boundary is scanned row by row,
//! up to the boundary. Sorted input has long runs, so nearly every block is skipped.

use arrow::array::{
    Array, ArrayRef, AsArray, GenericStringArray, OffsetSizeTrait, downcast_integer,
};
use arrow::datatypes::DataType;

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
    /// Whether rows `a` and `b` are equal.
    fn equal(&self, a: usize, b: usize) -> bool;
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

    #[inline]
    fn equal(&self, a: usize, b: usize) -> bool {
        self.0[a] == self.0[b]
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
        !self.equal(i - 1, i)
    }

    #[inline]
    fn equal(&self, a: usize, b: usize) -> bool {
        let o = self.offsets;
        self.data[o[a].as_usize()..o[a + 1].as_usize()]
            == self.data[o[b].as_usize()..o[b + 1].as_usize()]
    }
}

/// The runs of a batch whose key column is `key` and whose bucket timestamps are `ts`, or
/// `None` when this path does not apply (nulls, or a key type it does not read); then the
/// caller finds runs from bitmaps.
pub(crate) fn find(key: &ArrayRef, ts: &[i64], bucket: &Bucket) -> Option<RunStarts> {
    with_neighbours(
        key,
        ts,
        Finder {
            ts,
            bucket,
            sorted: false,
        },
    )
}

/// [`find`] for a batch sorted by the key and then by `ts`: the runs are found by search
/// rather than by reading every row (see [`search`]). `None` also when a timestamp has no
/// bucket.
pub(crate) fn find_sorted(key: &ArrayRef, ts: &[i64], bucket: &Bucket) -> Option<RunStarts> {
    with_neighbours(
        key,
        ts,
        Finder {
            ts,
            bucket,
            sorted: true,
        },
    )
}

/// [`scan`] or [`search`] over the timestamps and buckets given, for any comparator of
/// key rows (a generic method rather than a closure: the comparator stays statically
/// dispatched in the hot loops).
struct Finder<'a> {
    ts: &'a [i64],
    bucket: &'a Bucket,
    sorted: bool,
}

impl Finder<'_> {
    fn find(&self, keys: &impl Neighbours) -> Option<RunStarts> {
        if self.sorted {
            search(keys, self.ts, self.bucket)
        } else {
            Some(scan(keys, self.ts, self.bucket))
        }
    }
}

/// Runs `finder` with the comparator of `key`'s rows, unless `key` has nulls or a type
/// this path does not read, or `ts` is empty.
fn with_neighbours(key: &ArrayRef, ts: &[i64], finder: Finder<'_>) -> Option<RunStarts> {
    if key.null_count() > 0 || key.logical_null_count() > 0 || ts.is_empty() {
        return None;
    }
    let k = key.as_ref();
    macro_rules! ints {
        ($t:ty) => {
            finder.find(&Ints(k.as_primitive::<$t>().values().as_ref()))
        };
    }
    macro_rules! dict {
        ($t:ty) => {
            finder.find(&Ints(key.as_dictionary::<$t>().keys().values().as_ref()))
        };
    }
    downcast_integer! {
        k.data_type() => (ints),
        DataType::Dictionary(kt, _) => downcast_integer! {
            kt.as_ref() => (dict),
            _ => None,
        },
        DataType::Utf8 => finder.find(&strings(k.as_string::<i32>())),
        DataType::LargeUtf8 => finder.find(&strings(k.as_string::<i64>())),
        _ => None,
    }
}

fn strings<O: OffsetSizeTrait>(s: &GenericStringArray<O>) -> Strings<'_, O> {
    Strings {
        offsets: s.value_offsets(),
        data: s.value_data(),
    }
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

/// The runs of a batch sorted by the key and then by `ts`, found by search: the end of a
/// key's rows by galloping (doubling steps, then bisection) over the key, the end of a
/// bucket within them by galloping over `ts` from where the bucket before ended as far
/// from its start (sorted telemetry fills buckets evenly, so the guess is usually right
/// within a row or two). Over long runs only a few rows per run are read — the scan reads
/// every key and timestamp — which matters when the batches are larger than the caches.
/// `None` when a timestamp has no bucket (the caller falls back to the scan).
///
/// Unsorted input gives wrong runs: the caller must know the order, not guess it.
fn search(keys: &impl Neighbours, ts: &[i64], bucket: &Bucket) -> Option<RunStarts> {
    let n = ts.len();
    let mut out = RunStarts::default();
    let mut i = 0;
    let mut key_end = 0;
    let mut guess = 1;
    // Keys' runs are about as long as each other too (sensors read at one rate): the
    // search for a key's end starts from the length of the last key run that ended inside
    // the batch, so it probes a couple of rows, not ~2·log₂(run) scattered ones.
    let mut key_guess = 1;
    while i < n {
        let new_key = i == key_end;
        if new_key {
            key_end = gallop_from(i, n, key_guess, |j| j >= n || !keys.equal(i, j));
            if i > 0 && key_end < n {
                key_guess = key_end - i;
            }
        }
        let (lo, hi) = bucket.range(ts[i])?;
        out.push(i, new_key, lo);
        // Each run's probes depend on the run before, so over batches larger than the
        // caches they would wait on memory one after another: ask for the timestamps
        // where a few runs later will end while this one is searched.
        prefetch(ts, i + PREFETCH_RUNS * guess);
        // The first row of `i + 1..key_end` at or past `hi` (or `key_end`).
        let e = next_at_or_past(ts, i, key_end, hi, guess);
        guess = e - i;
        i = e;
    }
    Some(out)
}

/// How many runs ahead [`search`] asks for the timestamps it will probe.
const PREFETCH_RUNS: usize = 4;

/// Brings the cache line of `ts[j]` in ahead of its use (an index past the end is
/// ignored). A plain load whose value nothing waits for: the CPU goes on while it is
/// served, so the miss overlaps the work before it is needed. (`_mm_prefetch` would say
/// the same without the load, but needs `unsafe` here.)
#[inline(always)]
fn prefetch(ts: &[i64], j: usize) {
    std::hint::black_box(ts.get(j).copied());
}

/// The end of the run of rows starting at `start` (`< n`): the first `j > start` where
/// `same(j)` (row `j` equals row `start`) does not hold, or `n`. In sorted input `same`
/// holds on the run and on no row after it. Gallops (steps 1, 2, 4, …) then bisects.
#[inline]
pub(crate) fn run_end(same: impl Fn(usize) -> bool, start: usize, n: usize) -> usize {
    gallop_from(start, n, 1, |j| j >= n || !same(j))
}

/// The first `j` in `lo + 1..=hi` where `past(j)` holds, for `past` false at `lo`, true at
/// `hi` (or `hi` the end) and monotone in between.
#[inline]
fn bisect(mut lo: usize, mut hi: usize, past: impl Fn(usize) -> bool) -> usize {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if past(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The first row `j` in `i + 1..end` with `ts[j] >= hi`, or `end`; `ts[i..end]` ascending
/// and `ts[i] < hi`. Gallops outwards from `i + guess`, then bisects.
#[inline]
fn next_at_or_past(ts: &[i64], i: usize, end: usize, hi: i64, guess: usize) -> usize {
    gallop_from(i, end, guess, |j| j >= end || ts[j] >= hi)
}

/// The first `j` in `i + 1..=end` where `past(j)` holds, for `past` false at `i`, true at
/// `end` and monotone in between. Gallops outwards from `i + guess` (doubling steps), then
/// bisects: a good guess costs two probes.
#[inline]
fn gallop_from(i: usize, end: usize, guess: usize, past: impl Fn(usize) -> bool) -> usize {
    // Bracket the answer in `lo + 1..=up`: `lo` is before it, `up` at or past it.
    let g = (i + guess.max(1)).min(end);
    let (mut lo, mut up) = (g, g);
    let mut step = 1;
    if past(g) {
        // Down from g; `past(i)` is false, so this ends at `i` at the latest.
        loop {
            lo = up.saturating_sub(step).max(i);
            if !past(lo) {
                break;
            }
            up = lo;
            step *= 2;
        }
    } else {
        // Up from g.
        loop {
            up = (lo + step).min(end);
            if past(up) {
                break;
            }
            lo = up;
            step *= 2;
        }
    }
    bisect(lo, up, past)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Int32Type;
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
