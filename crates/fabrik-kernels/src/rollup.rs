//! Time-bucket rollups: aggregates per group key and time bucket, streaming over runs.
//!
//! A [`Rollup`] is a mergeable partial aggregation. [`Rollup::update`] takes one batch of
//! columns and splits it into **runs**: maximal stretches of rows with the same key and the
//! same bucket, found by comparing neighbouring rows (vectorized; dictionary columns by
//! their indices) and by checking each timestamp against the current bucket's range — with
//! one key column and no nulls, in a single pass over blocks of rows that skips a block
//! without a boundary in a few branch-free operations per row. Each
//! run is looked up once (its key interned, `(key, bucket)` mapped to a dense group id) and
//! every aggregate folds the run's values as one slice. Input sorted by `(key…, ts)` — the
//! order the lake writes telemetry in — makes runs long, so the cost per row is a few
//! comparisons and the aggregate's own arithmetic. A caller that knows that order (the SQL
//! operator, from the input's declared order) says so with [`Rollup::with_sorted_input`]:
//! the runs are then found by search — galloping over the key to the end of its rows and
//! over the timestamps to the end of each bucket — so only a few keys and timestamps per
//! run are read, not all of them. Input ordered by time rather than by
//! key (orders as they arrive) or unsorted gives runs of one row; after such a batch the
//! rollup stops searching for runs and maps each row to its group directly — the key
//! through a per-batch index map for dictionary keys, the bucket once per stretch of rows
//! in one bucket, the group from the key's latest group or a hash lookup — until runs grow
//! long again.
//!
//! Partial rollups of different batches, files or threads [`merge`](Rollup::merge): groups
//! that straddle a boundary are joined by key and bucket, and every aggregate has a
//! mergeable state (counts, sums, extremes, Chan et al.'s moments for variance, the
//! timestamped value for first/last, the values themselves for exact quantiles).
//! [`rollup_batches`] runs a rollup over many batches on rayon's pool.
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{ArrayRef, Float64Array, StringArray, TimestampMicrosecondArray};
//! use fabrik_kernels::rollup::{Agg, AggInput, Rollup, RollupSpec};
//! use fabrik_kernels::Bucket;
//!
//! let sensor: ArrayRef = Arc::new(StringArray::from(vec!["S1", "S1", "S1", "S2"]));
//! let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![0, 30_000_000, 60_000_000, 0]));
//! let value: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 3.0, 5.0, 7.0]));
//! let spec = RollupSpec {
//!     keys: vec![0],
//!     bucket: Some((1, Bucket::fixed(60_000_000, 0)?)),
//!     aggs: vec![AggInput::new(Agg::CountRows), AggInput::of(Agg::Mean, 2)],
//! };
//! let types: Vec<_> = [&sensor, &ts, &value].iter().map(|a| a.data_type().clone()).collect();
//! let mut rollup = Rollup::new(spec, &types)?;
//! rollup.update(&[sensor, ts, value])?;
//! let out = rollup.finish()?;
//! assert_eq!(out.aggs[1].as_ref(), &Float64Array::from(vec![2.0, 5.0, 7.0]) as &dyn arrow::array::Array);
//! # Ok::<(), fabrik_kernels::Error>(())
//! ```

mod keys;
mod runs;
mod state;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBufferBuilder, Int64Array, RecordBatch, UInt32Array,
    downcast_integer, make_array,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow::datatypes::{
    DataType, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use foldhash::fast::FixedState;
use rayon::prelude::*;

use crate::bucket::Bucket;
use crate::error::{Error, Result};
use keys::KeyColumn;
use state::{Prepared, Repr, State};

/// An aggregate function of a rollup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agg {
    /// `count(*)`: rows.
    CountRows,
    /// `count(x)`: non-null values.
    Count,
    /// `sum(x)`: null when no value.
    Sum,
    /// `min(x)`: IEEE 754 total order for floats.
    Min,
    /// `max(x)`: IEEE 754 total order for floats (NaN above +∞).
    Max,
    /// `avg(x)`.
    Mean,
    /// `var_samp` / `var_pop` / `stddev_samp` / `stddev_pop`.
    Variance {
        /// Divide by n − 1 (sample) rather than n (population).
        sample: bool,
        /// Return the standard deviation.
        sqrt: bool,
    },
    /// The value at the smallest ordering timestamp (`first_value(x ORDER BY ts)`).
    First,
    /// The value at the largest ordering timestamp (`last_value(x ORDER BY ts)`); ties go
    /// to the row seen last.
    Last,
    /// The exact continuous quantile (`percentile_cont`): linear interpolation.
    QuantileCont(f64),
}

/// One aggregate and the input columns it reads (indices into the rollup's columns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggInput {
    /// The aggregate.
    pub agg: Agg,
    /// Its argument (`None` only for [`Agg::CountRows`]).
    pub arg: Option<usize>,
    /// The ordering timestamp of [`Agg::First`] / [`Agg::Last`].
    pub order: Option<usize>,
}

impl AggInput {
    /// An aggregate with no argument ([`Agg::CountRows`]).
    pub fn new(agg: Agg) -> Self {
        AggInput {
            agg,
            arg: None,
            order: None,
        }
    }

    /// An aggregate of column `arg`.
    pub fn of(agg: Agg, arg: usize) -> Self {
        AggInput {
            agg,
            arg: Some(arg),
            order: None,
        }
    }

    /// `first`/`last` of column `arg` ordered by column `order`.
    pub fn ordered(agg: Agg, arg: usize, order: usize) -> Self {
        AggInput {
            agg,
            arg: Some(arg),
            order: Some(order),
        }
    }
}

/// What a rollup groups by and computes.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupSpec {
    /// Key columns (indices into the input columns), in output order.
    pub keys: Vec<usize>,
    /// The timestamp column and its buckets, if the rollup groups by time.
    pub bucket: Option<(usize, Bucket)>,
    /// The aggregates.
    pub aggs: Vec<AggInput>,
}

/// Whether a rollup can compute `agg` over an argument of type `input`.
pub fn supports(agg: &Agg, input: &DataType) -> bool {
    state::repr(agg, input).is_some()
}

/// Whether a column of type `t` can be a rollup key.
pub fn supports_key(t: &DataType) -> bool {
    use DataType::*;
    let plain = |t: &DataType| {
        matches!(
            t,
            Utf8 | LargeUtf8
                | Utf8View
                | Binary
                | LargeBinary
                | BinaryView
                | Boolean
                | Float16
                | Float32
                | Float64
                | Int8
                | Int16
                | Int32
                | Int64
                | UInt8
                | UInt16
                | UInt32
                | UInt64
                | Date32
                | Date64
                | Timestamp(_, _)
                | Time32(_)
                | Time64(_)
                | Duration(_)
        )
    };
    match t {
        Dictionary(_, v) => plain(v),
        other => plain(other),
    }
}

/// A run of rows of one group in a batch: rows `start..end`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    pub group: u32,
    pub start: u32,
    pub end: u32,
}

/// The most bits of a dense composite-key table (4 MiB of ids).
const DENSE_KEY_BITS: u32 = 20;

/// The bucket of rows whose timestamp is null (or outside the calendar's range).
pub(crate) const NULL_BUCKET: i64 = i64::MIN;

type Map<K> = HashMap<K, u32, FixedState>;

/// A partial rollup: groups seen so far and the aggregates' states.
#[derive(Debug)]
pub struct Rollup {
    spec: RollupSpec,
    types: Vec<DataType>,
    reprs: Vec<Repr>,
    columns: Vec<KeyColumn>,
    /// Composite key → id (only with two or more key columns).
    composite: Map<Box<[u32]>>,
    /// Per composite id, the ids of its columns (flat, `keys.len()` each).
    composite_ids: Vec<u32>,
    /// Composite ids by the columns' ids as bit fields of `dense_bits` bits (while the
    /// columns have few distinct values; `u32::MAX`: not seen yet).
    dense: Vec<u32>,
    dense_bits: Vec<u32>,
    /// `(key, bucket)` → group, complete only while `indexed` (see [`Rollup::group_of`]).
    groups: Map<(u32, i64)>,
    indexed: bool,
    /// Per key id, its group with the largest bucket so far.
    key_latest: Vec<Option<(i64, u32)>>,
    group_key: Vec<u32>,
    group_bucket: Vec<i64>,
    states: Vec<State>,
    rows: u64,
    /// Whether the last batch's runs were short (a quarter of its rows or more start
    /// one): the next batch then skips the search for runs and maps its rows to groups
    /// one by one (see [`Rollup::update_by_rows`]).
    short_runs: bool,
    /// Whether the caller promised input sorted by the key and then by the bucket's
    /// timestamp (see [`Rollup::with_sorted_input`]).
    sorted: bool,
    /// The rows the caller expects in all, until the first batch has shown how many groups
    /// they make (see [`Rollup::with_expected_rows`]).
    expected_rows: Option<u64>,
}

/// The most groups [`Rollup::with_expected_rows`] reserves room for ahead of need (about
/// 250 MiB of states for a typical rollup; beyond it the states grow as they fill).
const MAX_RESERVED_GROUPS: u64 = 1 << 22;

/// A finished rollup: one row per group, in the order groups were first seen.
#[derive(Debug)]
pub struct RollupOutput {
    /// The key columns, in the spec's order, with the input's types.
    pub keys: Vec<ArrayRef>,
    /// Bucket starts (in the timestamp column's unit; null for null timestamps), if the
    /// rollup groups by time.
    pub bucket: Option<ArrayRef>,
    /// One array per aggregate: Int64 for counts, Float64 for means, variances and
    /// quantiles, Int64 or Float64 for sums, the argument's type for min, max, first, last.
    pub aggs: Vec<ArrayRef>,
}

impl Rollup {
    /// An empty rollup for input columns of the given types.
    pub fn new(spec: RollupSpec, types: &[DataType]) -> Result<Self> {
        let col_type = |i: usize| {
            types.get(i).cloned().ok_or_else(|| Error::Length {
                column: format!("#{i}"),
                found: 0,
                expected: types.len(),
            })
        };
        let mut columns = Vec::new();
        for &k in &spec.keys {
            let t = col_type(k)?;
            if !supports_key(&t) {
                return Err(Error::ColumnType {
                    column: format!("#{k}"),
                    found: t,
                    expected: "a group key type (strings, integers, dates, timestamps, …)",
                });
            }
            columns.push(KeyColumn::new(t));
        }
        if let Some((ts, _)) = spec.bucket {
            let t = col_type(ts)?;
            if !matches!(t, DataType::Timestamp(_, _) | DataType::Int64) {
                return Err(Error::ColumnType {
                    column: format!("#{ts}"),
                    found: t,
                    expected: "a timestamp",
                });
            }
        }
        let mut reprs = Vec::new();
        let mut states = Vec::new();
        for a in &spec.aggs {
            let input = match a.arg {
                Some(i) => col_type(i)?,
                None => DataType::Int64,
            };
            let repr = state::repr(&a.agg, &input).ok_or_else(|| Error::ColumnType {
                column: format!("#{}", a.arg.unwrap_or_default()),
                found: input.clone(),
                expected: "a type the aggregate takes (numbers; timestamps for min, max, first, last)",
            })?;
            if matches!(a.agg, Agg::First | Agg::Last) {
                let o = a.order.ok_or(Error::Length {
                    column: "ordering timestamp of first/last".to_owned(),
                    found: 0,
                    expected: 1,
                })?;
                let t = col_type(o)?;
                if !matches!(
                    t,
                    DataType::Timestamp(_, _)
                        | DataType::Int64
                        | DataType::Date32
                        | DataType::Date64
                ) {
                    return Err(Error::ColumnType {
                        column: format!("#{o}"),
                        found: t,
                        expected: "a timestamp to order by",
                    });
                }
            }
            reprs.push(repr);
            states.push(State::new(&a.agg, repr)?);
        }
        Ok(Rollup {
            spec,
            types: types.to_vec(),
            reprs,
            columns,
            composite: Map::default(),
            composite_ids: Vec::new(),
            dense: Vec::new(),
            dense_bits: Vec::new(),
            groups: Map::default(),
            indexed: false,
            key_latest: Vec::new(),
            group_key: Vec::new(),
            group_bucket: Vec::new(),
            states,
            rows: 0,
            short_runs: false,
            sorted: false,
            expected_rows: None,
        })
    }

    /// This rollup, told that every batch is sorted by its one key column and then by the
    /// bucket's timestamp (ascending; batches may repeat keys of earlier batches). Runs are
    /// then found by search, reading only a few keys and timestamps per run, instead of by
    /// a scan of every row; the results are the same. Worth it when runs are long and the
    /// batches larger than the caches.
    ///
    /// The order is trusted, not checked (checking would read every row): input out of
    /// that order gives wrong results. Without one key column and a bucket, or where a key
    /// or timestamp is null or has no bucket, the rollup scans as usual.
    pub fn with_sorted_input(mut self) -> Self {
        self.sorted = true;
        self
    }

    /// This rollup, told roughly how many rows it will be given in all (a scan's row
    /// count). After the first batch it reserves room for the groups that many rows make
    /// at that batch's rate, so that its states are allocated once rather than grown by
    /// doubling: each doubling copies the states and touches fresh memory, page by page.
    /// A wrong guess costs nothing in results: too few, and the states grow as usual; too
    /// many, and the reserved room is never touched (at most room for 4M groups is
    /// reserved).
    pub fn with_expected_rows(mut self, rows: u64) -> Self {
        self.expected_rows = Some(rows);
        self
    }

    /// Reserves room for `groups` groups in all (see [`Rollup::with_expected_rows`]).
    /// A reservation the allocator refuses is skipped.
    pub fn reserve(&mut self, groups: usize) {
        let _ = self
            .group_key
            .try_reserve_exact(groups.saturating_sub(self.group_key.len()));
        let _ = self
            .group_bucket
            .try_reserve_exact(groups.saturating_sub(self.group_bucket.len()));
        for state in &mut self.states {
            state.reserve(groups);
        }
    }

    /// The number of groups so far.
    pub fn groups(&self) -> usize {
        self.group_key.len()
    }

    /// The number of rows folded in so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Folds one batch of input columns (all of the same length, with the types given to
    /// [`Rollup::new`]) into the rollup.
    pub fn update(&mut self, columns: &[ArrayRef]) -> Result<()> {
        let n = columns.first().map_or(0, |c| c.len());
        for (i, c) in columns.iter().enumerate() {
            if c.len() != n {
                return Err(Error::Length {
                    column: format!("#{i}"),
                    found: c.len(),
                    expected: n,
                });
            }
            if let Some(t) = self.types.get(i)
                && t != c.data_type()
            {
                return Err(Error::ColumnType {
                    column: format!("#{i}"),
                    found: c.data_type().clone(),
                    expected: "the type the rollup was created with",
                });
            }
        }
        if n == 0 {
            return Ok(());
        }
        if n > u32::MAX as usize {
            return Err(Error::Length {
                column: "batch".to_owned(),
                found: n,
                expected: u32::MAX as usize,
            });
        }
        if self.rows > 0
            && let Some(expected) = self.expected_rows.take()
        {
            // The groups per row of what came so far, extrapolated with an eighth to spare.
            let groups = self.group_key.len() as u128 * u128::from(expected) * 9
                / (u128::from(self.rows) * 8);
            let cap = expected.min(MAX_RESERVED_GROUPS) as u128;
            self.reserve(groups.min(cap) as usize);
        }
        self.rows += n as u64;
        if self.short_runs {
            return self.update_by_rows(columns, n);
        }

        let starts = self.run_starts_of(columns, n)?;

        // Keys of the runs that start with a key change.
        let key_rows: Vec<u32> = starts
            .rows
            .iter()
            .zip(&starts.new_key)
            .filter(|(_, new)| **new)
            .map(|(&r, _)| r)
            .collect();
        let key_ids = self.intern_keys(columns, &key_rows)?;

        let mut runs = Vec::with_capacity(starts.rows.len());
        let mut key_iter = key_ids.into_iter();
        let mut key = 0u32;
        let mut last: Option<((u32, i64), u32)> = None;
        for (j, (&s, &new_key)) in starts.rows.iter().zip(&starts.new_key).enumerate() {
            let e = starts.rows.get(j + 1).copied().unwrap_or(n as u32);
            if new_key {
                key = key_iter.next().unwrap_or(key);
            }
            let b = starts.bucket[j];
            let group = match last {
                Some((k, g)) if k == (key, b) => g,
                _ => {
                    let g = self.group_of(key, b);
                    last = Some(((key, b), g));
                    g
                }
            };
            runs.push(Run {
                group,
                start: s,
                end: e,
            });
        }
        // Short runs (keys interleaved or unsorted): fold row by row into group ids rather
        // than slice by slice, and skip the search for runs in the next batch.
        self.short_runs = runs.len() * 4 > n;
        let row_groups: Option<Vec<u32>> = self.short_runs.then(|| {
            let mut g = Vec::with_capacity(n);
            for r in &runs {
                g.extend(std::iter::repeat_n(r.group, (r.end - r.start) as usize));
            }
            g
        });
        self.fold(columns, &runs, row_groups.as_deref(), n)
    }

    /// Folds a batch of `n` rows whose runs were short in the last batch: every row's key
    /// is interned (for dictionary keys, one lookup per distinct value and an index map
    /// per row), the bucket is found per stretch of rows within one bucket (long when the
    /// input is ordered by time, as orders are), and each row's group comes from its
    /// key's latest group when the bucket matches — a dense array, no hashing — or else
    /// from [`Rollup::group_of`]. The runs are counted on the way: when they turn out long
    /// again, the next batch goes back to the search for runs.
    fn update_by_rows(&mut self, columns: &[ArrayRef], n: usize) -> Result<()> {
        let all: Vec<u32> = (0..n as u32).collect();
        let ids = self.intern_keys(columns, &all)?;
        drop(all);
        let bucket_ts = match self.spec.bucket {
            Some((i, bucket)) => Some((timestamps(&columns[i])?, bucket)),
            None => None,
        };
        // Stretches of rows in one bucket: (first row, bucket).
        let mut stretches: Vec<(usize, i64)> = Vec::new();
        match &bucket_ts {
            None => stretches.push((0, 0)),
            Some(((ts, nulls), bucket)) => {
                let changes = bucket_changes(ts, *nulls, bucket);
                for s in std::iter::once(0).chain(changes.set_indices().filter(|&i| i != 0)) {
                    let b = if nulls.is_some_and(|nb| nb.is_null(s)) {
                        NULL_BUCKET
                    } else {
                        bucket.range(ts[s]).map_or(NULL_BUCKET, |(lo, _)| lo)
                    };
                    stretches.push((s, b));
                }
            }
        }
        let mut groups = Vec::with_capacity(n);
        let mut starts = 0usize;
        let mut prev = u32::MAX;
        for (j, &(s, b)) in stretches.iter().enumerate() {
            let e = stretches.get(j + 1).map_or(n, |&(e, _)| e);
            for &key in &ids[s..e] {
                let g = match self.key_latest.get(key as usize) {
                    Some(&Some((kb, g))) if kb == b => g,
                    _ => self.group_of(key, b),
                };
                starts += usize::from(g != prev);
                prev = g;
                groups.push(g);
            }
        }
        self.short_runs = starts * 4 > n;
        // First/last and quantiles fold run by run: the runs of the row groups.
        let runs: Vec<Run> = if self.states.iter().any(State::needs_runs) {
            runs_of(&groups)
        } else {
            Vec::new()
        };
        self.fold(columns, &runs, Some(&groups), n)
    }

    /// Folds the rows of a batch into the aggregates' states: by runs, or by the group of
    /// each row when `row_groups` is given (then `runs` may be empty unless a state
    /// [needs runs](State::needs_runs)).
    fn fold(
        &mut self,
        columns: &[ArrayRef],
        runs: &[Run],
        row_groups: Option<&[u32]>,
        n: usize,
    ) -> Result<()> {
        let groups = self.group_key.len();
        // Folding by runs, aggregates of one float column that read only each run's sum,
        // count and extremes (sum, mean, min, max, variance's mean) share one pass over it.
        let shared_column = |i: usize| -> Option<usize> {
            let (state, a) = (&self.states[i], &self.spec.aggs[i]);
            (row_groups.is_none() && state.reads_run_stats()).then_some(a.arg?)
        };
        let mut shared: Vec<(usize, ArrayRef, Vec<state::RunStats>)> = Vec::new();
        for i in 0..self.states.len() {
            let Some(col) = shared_column(i) else {
                continue;
            };
            let readers = (0..self.states.len())
                .filter(|&j| shared_column(j) == Some(col))
                .count();
            if readers > 1 && !shared.iter().any(|(c, ..)| *c == col) {
                let values = state::cast_to(&columns[col], Repr::F64)?;
                let f = values.as_primitive::<Float64Type>();
                let stats = state::run_stats(runs, f.values(), f.nulls());
                shared.push((col, values, stats));
            }
        }
        for ((state, a), repr) in self.states.iter_mut().zip(&self.spec.aggs).zip(&self.reprs) {
            state.resize(groups);
            if row_groups.is_none()
                && state.reads_run_stats()
                && let Some((_, values, stats)) = shared.iter().find(|(c, ..)| Some(*c) == a.arg)
            {
                let f = values.as_primitive::<Float64Type>();
                state.update_from_stats(runs, stats, f.values(), f.nulls());
                continue;
            }
            let prepared = Prepared {
                arg: match a.agg {
                    // Counting reads only validity: no cast (a float's NaN would become null).
                    Agg::Count | Agg::CountRows => a.arg.map(|i| Arc::clone(&columns[i])),
                    _ => a
                        .arg
                        .map(|i| state::cast_to(&columns[i], *repr))
                        .transpose()?,
                },
                order: a
                    .order
                    .map(|i| state::cast_to(&columns[i], Repr::I64))
                    .transpose()?,
            };
            match row_groups {
                Some(g) => state.update_rows(g, runs, n, &prepared)?,
                None => state.update(runs, n, &prepared)?,
            }
        }
        Ok(())
    }

    /// Where the runs of a batch of `n > 0` rows start: in one pass over the key and the
    /// timestamps when there is one key column and a bucket and neither has nulls, else from
    /// bitmaps of the rows where a key or the bucket changes.
    fn run_starts_of(&self, columns: &[ArrayRef], n: usize) -> Result<runs::RunStarts> {
        let bucket_ts = match self.spec.bucket {
            Some((i, bucket)) => Some((timestamps(&columns[i])?, bucket)),
            None => None,
        };
        if let (&[k], Some(((ts, None), bucket))) = (self.spec.keys.as_slice(), &bucket_ts) {
            if self.sorted
                && let Some(starts) = runs::find_sorted(&columns[k], ts, bucket)
            {
                return Ok(starts);
            }
            if let Some(starts) = runs::find(&columns[k], ts, bucket) {
                return Ok(starts);
            }
        }
        // Rows where a key changes; rows where the bucket changes.
        let mut key_change = BooleanBuffer::new_unset(n);
        for &k in &self.spec.keys {
            key_change = &key_change | &keys::changes(&columns[k])?;
        }
        let changes: BooleanBuffer = match &bucket_ts {
            Some(((ts, nulls), bucket)) => &key_change | &bucket_changes(ts, *nulls, bucket),
            None => key_change.clone(),
        };
        let mut starts = runs::RunStarts::default();
        let (mut b_lo, mut b_hi) = (0i64, 0i64);
        for s in std::iter::once(0).chain(changes.set_indices().filter(|&i| i != 0)) {
            let b = match &bucket_ts {
                Some(((ts, nulls), bucket)) => {
                    if nulls.is_some_and(|nb| nb.is_null(s)) {
                        NULL_BUCKET
                    } else {
                        let t = ts[s];
                        if !(t >= b_lo && t < b_hi) {
                            (b_lo, b_hi) = bucket.range(t).unwrap_or((NULL_BUCKET, NULL_BUCKET));
                        }
                        b_lo
                    }
                }
                None => 0,
            };
            starts.rows.push(s as u32);
            starts.new_key.push(s == 0 || key_change.value(s));
            starts.bucket.push(b);
        }
        Ok(starts)
    }

    /// Composite key ids of `rows`.
    fn intern_keys(&mut self, columns: &[ArrayRef], rows: &[u32]) -> Result<Vec<u32>> {
        let k = self.spec.keys.len();
        if k == 0 {
            return Ok(vec![0; rows.len()]);
        }
        let per_col: Vec<Vec<u32>> = self
            .columns
            .iter_mut()
            .zip(&self.spec.keys)
            .map(|(col, &i)| col.intern(&columns[i], rows))
            .collect::<Result<_>>()?;
        if k == 1 {
            return Ok(per_col.into_iter().next().unwrap_or_default());
        }
        // Few distinct values per column: a dense table indexed by the columns' ids side by
        // side (bit fields) finds the composite id without hashing the tuple.
        let bits: Vec<u32> = self
            .columns
            .iter()
            .map(|c| usize::BITS - c.distinct().saturating_sub(1).leading_zeros())
            .collect();
        let total_bits: u32 = bits.iter().sum();
        if total_bits <= DENSE_KEY_BITS {
            if self.dense_bits != bits {
                self.rebuild_dense(&bits);
            }
            let mut out = Vec::with_capacity(rows.len());
            let mut tuple = vec![0u32; k];
            for r in 0..rows.len() {
                let mut idx = 0usize;
                for (c, ids) in per_col.iter().enumerate() {
                    tuple[c] = ids[r];
                    idx = (idx << bits[c]) | ids[r] as usize;
                }
                let id = match self.dense[idx] {
                    u32::MAX => {
                        let id = self.composite_id(&tuple);
                        self.dense[idx] = id;
                        id
                    }
                    id => id,
                };
                out.push(id);
            }
            return Ok(out);
        }
        let mut out = Vec::with_capacity(rows.len());
        let mut tuple = vec![0u32; k];
        for r in 0..rows.len() {
            for (c, ids) in per_col.iter().enumerate() {
                tuple[c] = ids[r];
            }
            out.push(self.composite_id(&tuple));
        }
        Ok(out)
    }

    /// Re-lays the dense composite table out for columns of `bits` bits each.
    fn rebuild_dense(&mut self, bits: &[u32]) {
        let total: u32 = bits.iter().sum();
        self.dense.clear();
        self.dense.resize(1usize << total, u32::MAX);
        let k = bits.len();
        for (id, ids) in self.composite_ids.chunks_exact(k).enumerate() {
            let mut idx = 0usize;
            for c in 0..k {
                idx = (idx << bits[c]) | ids[c] as usize;
            }
            self.dense[idx] = id as u32;
        }
        self.dense_bits = bits.to_vec();
    }

    fn composite_id(&mut self, tuple: &[u32]) -> u32 {
        if let Some(&id) = self.composite.get(tuple) {
            return id;
        }
        let id = self.composite.len() as u32;
        self.composite.insert(tuple.into(), id);
        self.composite_ids.extend_from_slice(tuple);
        id
    }

    /// The group of `(key, bucket)`, created if new.
    ///
    /// Sorted input reaches each key's buckets in increasing order, so a bucket above the
    /// key's latest is new and needs no lookup: the hash index of all groups is built only
    /// when a key goes back to an earlier bucket (unsorted input, or a merge), and kept from
    /// then on.
    fn group_of(&mut self, key: u32, bucket: i64) -> u32 {
        let k = key as usize;
        if k >= self.key_latest.len() {
            self.key_latest.resize(k + 1, None);
        }
        match self.key_latest[k] {
            Some((b, g)) if b == bucket => return g,
            Some((b, _)) if bucket < b => {}
            _ if !self.indexed => {
                let g = self.push_group(key, bucket);
                self.key_latest[k] = Some((bucket, g));
                return g;
            }
            _ => {}
        }
        if !self.indexed {
            self.groups.reserve(self.group_key.len());
            for (g, (&key, &b)) in self.group_key.iter().zip(&self.group_bucket).enumerate() {
                self.groups.insert((key, b), g as u32);
            }
            self.indexed = true;
        }
        let next = self.group_key.len() as u32;
        let g = *self.groups.entry((key, bucket)).or_insert(next);
        if g == next {
            self.push_group(key, bucket);
        }
        if self.key_latest[k].is_none_or(|(b, _)| bucket > b) {
            self.key_latest[k] = Some((bucket, g));
        }
        g
    }

    fn push_group(&mut self, key: u32, bucket: i64) -> u32 {
        let g = self.group_key.len() as u32;
        self.group_key.push(key);
        self.group_bucket.push(bucket);
        if self.indexed {
            self.groups.insert((key, bucket), g);
        }
        g
    }

    /// Merges another partial rollup of the same spec into this one: groups with equal
    /// keys and buckets are joined.
    pub fn merge(&mut self, other: Rollup) -> Result<()> {
        if other.spec != self.spec {
            return Err(Error::ColumnType {
                column: "rollup".to_owned(),
                found: DataType::Null,
                expected: "a partial rollup of the same spec",
            });
        }
        let k = self.spec.keys.len();
        // Column ids of `other` → ids here.
        let mut col_maps = Vec::with_capacity(k);
        for (mine, theirs) in self.columns.iter_mut().zip(&other.columns) {
            let values = theirs.values()?;
            let rows: Vec<u32> = (0..values.len() as u32).collect();
            col_maps.push(mine.intern(&values, &rows)?);
        }
        // Composite ids of `other` → ids here.
        let key_map: Vec<u32> = if k <= 1 {
            match col_maps.first() {
                Some(m) => m.clone(),
                None => vec![0],
            }
        } else {
            let mut tuple = vec![0u32; k];
            other
                .composite_ids
                .chunks_exact(k)
                .map(|ids| {
                    for c in 0..k {
                        tuple[c] = col_maps[c][ids[c] as usize];
                    }
                    self.composite_id(&tuple)
                })
                .collect()
        };
        // At most every group of `other` is new here (exactly so for partitions of
        // disjoint keys): room for them all at once.
        self.reserve(self.group_key.len() + other.group_key.len());
        let group_map: Vec<u32> = other
            .group_key
            .iter()
            .zip(&other.group_bucket)
            .map(|(&key, &b)| self.group_of(key_map[key as usize], b))
            .collect();
        let groups = self.group_key.len();
        for (mine, theirs) in self.states.iter_mut().zip(other.states) {
            mine.resize(groups);
            mine.merge(theirs, &group_map);
        }
        self.rows += other.rows;
        Ok(())
    }

    /// The result: one row per group, in the order groups were first seen.
    pub fn finish(mut self) -> Result<RollupOutput> {
        let k = self.spec.keys.len();
        let groups = self.group_key.len();
        let mut keys = Vec::with_capacity(k);
        for (c, col) in self.columns.iter().enumerate() {
            let values = col.values()?;
            let ids: Vec<u32> = if k == 1 {
                // The one key column's ids are the groups' keys: moved, not copied.
                std::mem::take(&mut self.group_key)
            } else {
                self.group_key
                    .iter()
                    .map(|&g| self.composite_ids[g as usize * k + c])
                    .collect()
            };
            keys.push(arrow::compute::take(
                values.as_ref(),
                &UInt32Array::from(ids),
                None,
            )?);
        }
        let bucket = match self.spec.bucket {
            Some((i, _)) => {
                let nulls = self.group_bucket.contains(&NULL_BUCKET).then(|| {
                    let mut b = BooleanBufferBuilder::new(groups);
                    for &bucket in &self.group_bucket {
                        b.append(bucket != NULL_BUCKET);
                    }
                    NullBuffer::new(b.finish())
                });
                let starts = Int64Array::new(
                    ScalarBuffer::from(std::mem::take(&mut self.group_bucket)),
                    nulls,
                );
                Some(match &self.types[i] {
                    // The same 64-bit values, relabelled (a cast would copy them).
                    t @ DataType::Timestamp(_, _) => make_array(
                        starts
                            .into_data()
                            .into_builder()
                            .data_type(t.clone())
                            .build()?,
                    ),
                    _ => Arc::new(starts) as ArrayRef,
                })
            }
            None => None,
        };
        let mut aggs = Vec::with_capacity(self.states.len());
        for ((mut state, a), repr) in self
            .states
            .into_iter()
            .zip(&self.spec.aggs)
            .zip(&self.reprs)
        {
            state.resize(groups);
            let out = state.finish();
            let out = match (a.agg, repr, a.arg) {
                (Agg::Min | Agg::Max | Agg::First | Agg::Last, Repr::I64, Some(i))
                    if self.types[i] != DataType::Int64 =>
                {
                    arrow::compute::cast(&out, &self.types[i])?
                }
                _ => out,
            };
            aggs.push(out);
        }
        Ok(RollupOutput { keys, bucket, aggs })
    }
}

/// The rows (ascending, 0 first) where a run of equal values of `columns` starts: row 0 and
/// every row whose value differs from the previous row's in any column (nulls equal
/// nulls). Dictionary columns compare their indices, so a dictionary with repeated values
/// may split a run of equal values in two.
pub fn run_starts(columns: &[ArrayRef]) -> Result<Vec<usize>> {
    let n = columns.first().map_or(0, |c| c.len());
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut change = BooleanBuffer::new_unset(n);
    for c in columns {
        change = &change | &keys::changes(c)?;
    }
    let mut out = Vec::with_capacity(change.count_set_bits() + 1);
    out.push(0);
    out.extend(change.set_indices().filter(|&i| i != 0));
    Ok(out)
}

/// The last row of each run of equal values of one column **sorted by its values**, found
/// by galloping (exponential then binary search) instead of comparing every row with its
/// neighbour: O(runs · log(run length)). Dictionary columns compare their indices (under
/// the sort order two rows with the same index hold the same value, so every row between
/// them does too). `None` when the column has nulls or a type this does not handle
/// (integers, dates, timestamps and dictionaries of them or of strings are handled); then
/// use [`run_starts`].
///
/// Only for columns known to be sorted (a file's declared sort order): on unsorted input
/// the result misses runs.
pub fn sorted_run_ends(column: &ArrayRef) -> Option<Vec<usize>> {
    if column.null_count() > 0 {
        return None;
    }
    fn gallop<T: PartialEq + Copy>(v: &[T]) -> Vec<usize> {
        let n = v.len();
        let mut ends = Vec::new();
        let mut i = 0;
        while i < n {
            let x = v[i];
            let end = runs::run_end(|j| v[j] == x, i, n);
            ends.push(end - 1);
            i = end;
        }
        ends
    }
    let data = column.as_ref();
    let keys: &dyn Array = match data.as_any_dictionary_opt() {
        Some(d) => d.keys(),
        None => data,
    };
    use arrow::datatypes::{Date32Type, Date64Type};
    macro_rules! ints {
        ($t:ty) => {
            gallop(keys.as_primitive::<$t>().values())
        };
    }
    Some(downcast_integer! {
        keys.data_type() => (ints),
        DataType::Date32 => gallop(keys.as_primitive::<Date32Type>().values()),
        DataType::Date64 => gallop(keys.as_primitive::<Date64Type>().values()),
        DataType::Timestamp(_, _) => {
            let keys = make_array(keys.to_data());
            gallop(timestamps(&keys).ok()?.0)
        }
        _ => return None,
    })
}

/// A timestamp column's values and validity.
fn timestamps(array: &ArrayRef) -> Result<(&[i64], Option<&NullBuffer>)> {
    let a = array.as_ref();
    Ok(match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            let p = a.as_primitive::<TimestampSecondType>();
            (p.values().as_ref(), p.nulls())
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let p = a.as_primitive::<TimestampMillisecondType>();
            (p.values().as_ref(), p.nulls())
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let p = a.as_primitive::<TimestampMicrosecondType>();
            (p.values().as_ref(), p.nulls())
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            let p = a.as_primitive::<TimestampNanosecondType>();
            (p.values().as_ref(), p.nulls())
        }
        DataType::Int64 => {
            let p = a.as_primitive::<Int64Type>();
            (p.values().as_ref(), p.nulls())
        }
        other => {
            return Err(Error::ColumnType {
                column: "bucket timestamp".to_owned(),
                found: other.clone(),
                expected: "a timestamp",
            });
        }
    })
}

/// The runs of equal consecutive groups.
fn runs_of(groups: &[u32]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (i, &g) in groups.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if r.group == g => r.end = i as u32 + 1,
            _ => runs.push(Run {
                group: g,
                start: i as u32,
                end: i as u32 + 1,
            }),
        }
    }
    runs
}

/// Rows whose bucket differs from the previous row's (row 0 unmarked).
fn bucket_changes(ts: &[i64], nulls: Option<&NullBuffer>, bucket: &Bucket) -> BooleanBuffer {
    let n = ts.len();
    let mut out = BooleanBufferBuilder::new(n);
    out.append_n(n, false);
    let (mut lo, mut hi) = (0i64, 0i64);
    let mut prev_null = false;
    match nulls {
        None => {
            if let Some((l, h)) = ts.first().and_then(|&t| bucket.range(t)) {
                (lo, hi) = (l, h);
            }
            for (i, &t) in ts.iter().enumerate().skip(1) {
                if t < lo || t >= hi {
                    out.set_bit(i, true);
                    (lo, hi) = bucket.range(t).unwrap_or((i64::MAX, i64::MIN));
                }
            }
        }
        Some(nb) => {
            for (i, &t) in ts.iter().enumerate() {
                let null = nb.is_null(i);
                let changed = if null {
                    !prev_null
                } else {
                    prev_null || t < lo || t >= hi
                };
                if changed && i > 0 {
                    out.set_bit(i, true);
                }
                if changed && !null {
                    (lo, hi) = bucket.range(t).unwrap_or((i64::MAX, i64::MIN));
                }
                prev_null = null;
            }
        }
    }
    out.finish()
}

/// Rolls up `batches` on rayon's pool: contiguous chunks of batches aggregate separately,
/// then merge in order (groups that straddle chunks are joined).
///
/// `types` are the input columns' types (every batch must have them).
pub fn rollup_batches(
    spec: &RollupSpec,
    types: &[DataType],
    batches: &[RecordBatch],
) -> Result<RollupOutput> {
    let threads = rayon::current_num_threads().max(1);
    let per = batches.len().div_ceil(threads).max(1);
    let partial = batches
        .par_chunks(per)
        .map(|chunk| {
            let mut r = Rollup::new(spec.clone(), types)?;
            for b in chunk {
                r.update(b.columns())?;
            }
            Ok::<_, Error>(r)
        })
        .try_reduce_with(|mut a, b| {
            a.merge(b)?;
            Ok(a)
        });
    match partial {
        Some(r) => r?.finish(),
        None => Rollup::new(spec.clone(), types)?.finish(),
    }
}

#[cfg(test)]
mod tests;
