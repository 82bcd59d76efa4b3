//! Quantiles: a mergeable quantile sketch and an exact quantile.
//!
//! [`QuantileSketch`] is a DDSketch-style sketch (Masson, Rim & Lee, VLDB 2019): values go
//! into logarithmic buckets whose width gives every estimate a *relative* error bound
//! `alpha`, whatever the distribution; sketches of partitions merge into the sketch of
//! their union with the same bound. Small groups stay exact: up to [`EXACT_LIMIT`] values
//! the sketch keeps them and answers as [`exact_quantile`] does.
//!
//! [`exact_quantile`] is the exact quantile with linear interpolation between order
//! statistics, bit for bit as DataFusion's `percentile_cont` (and as DuckDB's
//! `quantile_cont`).

use crate::error::{Error, Result};

/// The relative accuracy of [`QuantileSketch::default`]: 1 %.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// The smallest relative accuracy [`QuantileSketch::new`] takes.
pub const MIN_ALPHA: f64 = 1e-9;

/// Up to this many values a sketch keeps them all and its quantiles are exact.
pub const EXACT_LIMIT: usize = 1024;

/// The most buckets a sketch keeps per sign; beyond, the buckets of the magnitudes nearest
/// zero collapse (see [`QuantileSketch`]).
pub const MAX_BUCKETS: usize = 2048;

/// The first byte of an encoded sketch.
const MAGIC: u8 = b'Q';
/// The encoding's version (the second byte).
const VERSION: u8 = 1;

/// The exact `q`-quantile of `values`, with linear interpolation between the order
/// statistics around rank `q·(n−1)`; bit for bit what DataFusion 55's `percentile_cont`
/// returns on the same values.
///
/// Values are ordered by [`f64::total_cmp`] (as `percentile_cont` orders them), so a NaN
/// is a value like the others: a positive NaN sorts above `+∞`, a negative one below `−∞`.
/// With `h = q·(n−1)`, `lo = ⌊h⌋` and `hi = ⌈h⌉`: the result is `x[lo]` when `lo = hi`,
/// otherwise `x[lo] + (x[hi] − x[lo])·w` where `w` is `h − lo` truncated to 6 decimals (as
/// `percentile_cont` quantizes it). `q = 0` and `q = 1` return the minimum and maximum.
///
/// Returns `None` for an empty slice or a `q` outside `[0, 1]` (or NaN). Reorders
/// `values` (a partial sort with `select_nth_unstable_by`, O(n)).
pub fn exact_quantile(values: &mut [f64], q: f64) -> Option<f64> {
    // Same constant and steps as DataFusion's `calculate_percentile`.
    const INTERPOLATION_PRECISION: f64 = 1_000_000.0;
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let cmp = |a: &f64, b: &f64| a.total_cmp(b);
    let len = values.len();
    match len {
        0 => None,
        1 => Some(values[0]),
        _ if q == 0.0 => values.iter().copied().min_by(cmp),
        _ if q == 1.0 => values.iter().copied().max_by(cmp),
        _ => {
            let index = q * ((len - 1) as f64);
            let lower_index = index.floor() as usize;
            let upper_index = index.ceil() as usize;
            let (_, lower, _) = values.select_nth_unstable_by(lower_index, cmp);
            let lower = *lower;
            if lower_index == upper_index {
                return Some(lower);
            }
            let (_, upper, _) = values.select_nth_unstable_by(upper_index, cmp);
            let upper = *upper;
            let fraction = index - (lower_index as f64);
            let weight =
                ((fraction * INTERPOLATION_PRECISION) as usize) as f64 / INTERPOLATION_PRECISION;
            Some(lower + (upper - lower) * weight)
        }
    }
}

/// The rank `h = q·(n−1)` split as `percentile_cont` splits it: the lower rank, whether an
/// upper rank is needed, and the quantized interpolation weight.
fn split_rank(q: f64, n: u64) -> (u64, Option<(u64, f64)>) {
    const INTERPOLATION_PRECISION: f64 = 1_000_000.0;
    let index = q * ((n - 1) as f64);
    let lower = index.floor() as u64;
    let upper = index.ceil() as u64;
    if lower == upper {
        return (lower, None);
    }
    let fraction = index - (lower as f64);
    let weight = ((fraction * INTERPOLATION_PRECISION) as usize) as f64 / INTERPOLATION_PRECISION;
    (lower, Some((upper, weight)))
}

/// Bucket counts over a contiguous range of bucket indices.
#[derive(Debug, Clone, Default, PartialEq)]
struct Store {
    /// The bucket index of `counts[0]`.
    offset: i64,
    /// Counts of buckets `offset ..`; empty when the store is.
    counts: Vec<u64>,
    /// The sum of `counts`.
    total: u64,
}

impl Store {
    /// The highest index held (meaningless when empty).
    fn high(&self) -> i64 {
        self.offset + self.counts.len() as i64 - 1
    }

    /// Makes the store cover `[lo, hi]` (and what it covered before), collapsing the lowest
    /// buckets into the lowest kept one when the range would exceed [`MAX_BUCKETS`].
    fn cover(&mut self, lo: i64, hi: i64) {
        let (mut lo, hi) = if self.counts.is_empty() {
            (lo, hi)
        } else {
            (lo.min(self.offset), hi.max(self.high()))
        };
        if hi - lo + 1 > MAX_BUCKETS as i64 {
            lo = hi - MAX_BUCKETS as i64 + 1;
        }
        if !self.counts.is_empty() && lo == self.offset && hi == self.high() {
            return;
        }
        let mut counts = vec![0u64; (hi - lo + 1) as usize];
        for (i, &c) in self.counts.iter().enumerate() {
            let at = (self.offset + i as i64).max(lo);
            counts[(at - lo) as usize] += c;
        }
        self.offset = lo;
        self.counts = counts;
    }

    /// Adds `n` values to bucket `index` (or to the lowest bucket, if it collapsed).
    #[inline]
    fn add(&mut self, index: i64, n: u64) {
        let rel = index.wrapping_sub(self.offset);
        if rel >= 0 && (rel as usize) < self.counts.len() {
            self.counts[rel as usize] += n;
        } else {
            self.cover(index, index);
            let at = index.max(self.offset);
            self.counts[(at - self.offset) as usize] += n;
        }
        self.total += n;
    }

    fn merge(&mut self, other: &Store) {
        if other.counts.is_empty() {
            return;
        }
        self.cover(other.offset, other.high());
        for (i, &c) in other.counts.iter().enumerate() {
            let at = (other.offset + i as i64).max(self.offset);
            self.counts[(at - self.offset) as usize] += c;
        }
        self.total += other.total;
    }

    /// The index of the bucket holding the `rank`-th value (0-based, ascending index).
    fn index_at(&self, mut rank: u64) -> Option<i64> {
        for (i, &c) in self.counts.iter().enumerate() {
            if rank < c {
                return Some(self.offset + i as i64);
            }
            rank -= c;
        }
        None
    }
}

/// Where the values of a sketch are.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// At most [`EXACT_LIMIT`] values, kept as they are.
    Exact(Vec<f64>),
    /// Logarithmic buckets.
    Buckets(Box<Buckets>),
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Buckets {
    /// Positive finite values by `⌈log_γ x⌉`.
    pos: Store,
    /// Negative finite values by `⌈log_γ |x|⌉`.
    neg: Store,
    /// Zeros (both signs).
    zeros: u64,
    /// `−∞` and `+∞`.
    neg_inf: u64,
    pos_inf: u64,
}

/// A mergeable quantile sketch with relative accuracy `alpha` (DDSketch-like).
///
/// # What it answers
///
/// NaN is skipped (see below) and so are nulls (the SQL layer never passes them); `count`
/// is the number of other values inserted. With `x₀ ≤ … ≤ xₙ₋₁` those values sorted,
/// `h = q·(n−1)`, `r = ⌊h⌋` and `w` the fraction `h − r` truncated to 6 decimals (exactly as
/// DataFusion's `percentile_cont` computes them), [`QuantileSketch::quantile`] returns:
///
/// - **up to [`EXACT_LIMIT`] values**: the exact answer, `x_r + (x_{r+1} − x_r)·w`, bit for
///   bit [`exact_quantile`] (and `percentile_cont`);
/// - **beyond**: `e_r + (e_{r+1} − e_r)·w`, where `e_k` estimates `x_k` with
///   `|e_k − x_k| ≤ alpha·|x_k|`. Hence
///   `|result − exact| ≤ alpha·((1−w)·|x_r| + w·|x_{r+1}|) ≤ alpha·max(|x_r|, |x_{r+1}|)`,
///   which is `alpha·|exact|` when `x_r` and `x_{r+1}` have the same sign. Zeros and
///   infinities are estimated exactly, `q = 0` and `q = 1` return the exact minimum and
///   maximum (kept on the side), and every estimate lies in `[min, max]`.
///
/// The bound holds up to floating-point rounding (a relative `1e-12` or so, from the
/// logarithm that picks a bucket), and for every rank whose value is not in a collapsed
/// bucket: each sign keeps at most [`MAX_BUCKETS`] buckets, and when the magnitudes of one
/// sign span more than `γ^MAX_BUCKETS` (`γ = (1+alpha)/(1−alpha)`; about `6·10¹⁷` at
/// `alpha = 0.01`, i.e. 17 orders of magnitude) the buckets of the magnitudes nearest zero
/// merge into one. On non-negative data that affects only the lowest quantiles; on
/// negative data, the highest ones (the values nearest zero). Typical plant data never gets
/// there.
///
/// # NaN
///
/// NaN values are skipped: they are not counted and do not move any quantile. DataFusion's
/// own functions do not skip them: `percentile_cont` orders NaN by IEEE total order (a
/// positive NaN above `+∞`), so the upper quantiles of a group holding NaN are NaN there,
/// and `approx_percentile_cont` feeds NaN into its t-digest. Compare with
/// `percentile_cont` on `WHERE NOT isnan(v)`.
///
/// # Size
///
/// Exact mode holds up to 8 KiB of values; bucket mode at most `2·MAX_BUCKETS` counts, in
/// practice a few hundred (the buckets between the smallest and largest magnitude:
/// `ln(max/min)/ln γ`, about 460 for a ratio of 10⁴ at 1 %). [`QuantileSketch::to_bytes`]
/// writes counts as variable-length integers.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileSketch {
    alpha: f64,
    /// `1 / ln γ`.
    inv_ln_gamma: f64,
    /// `ln γ`.
    ln_gamma: f64,
    /// Values counted (NaN excluded).
    count: u64,
    min: f64,
    max: f64,
    values: Values,
}

impl Default for QuantileSketch {
    /// A sketch with [`DEFAULT_ALPHA`].
    fn default() -> Self {
        Self::with_valid_alpha(DEFAULT_ALPHA)
    }
}

impl QuantileSketch {
    /// An empty sketch with relative accuracy `alpha`, in `[MIN_ALPHA, 1)`.
    pub fn new(alpha: f64) -> Result<Self> {
        if !(MIN_ALPHA..1.0).contains(&alpha) {
            return Err(Error::SketchAccuracy { alpha });
        }
        Ok(Self::with_valid_alpha(alpha))
    }

    fn with_valid_alpha(alpha: f64) -> Self {
        let ln_gamma = ((1.0 + alpha) / (1.0 - alpha)).ln();
        QuantileSketch {
            alpha,
            inv_ln_gamma: 1.0 / ln_gamma,
            ln_gamma,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            values: Values::Exact(Vec::new()),
        }
    }

    /// The relative accuracy.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The number of values inserted (NaN excluded).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether no value was inserted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The smallest value inserted, exactly (`None` when empty).
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest value inserted, exactly (`None` when empty).
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Whether the sketch still holds every value (its quantiles are exact).
    pub fn is_exact(&self) -> bool {
        matches!(self.values, Values::Exact(_))
    }

    /// The value reported for bucket `index`: `2γ^index/(1+γ)`, within `alpha` of every
    /// magnitude in `(γ^(index−1), γ^index]`.
    fn representative(&self, index: i64) -> f64 {
        // 2γ^i/(1+γ) = γ^i·(1−alpha), since 1+γ = 2/(1−alpha).
        ((index as f64) * self.ln_gamma).exp() * (1.0 - self.alpha)
    }

    /// Adds one value; NaN is skipped.
    pub fn insert(&mut self, value: f64) {
        self.insert_slice(std::slice::from_ref(&value));
    }

    /// Adds every value of a slice; NaN is skipped. The fast path: one pass, no allocation
    /// once the sketch is in bucket mode.
    pub fn insert_slice(&mut self, values: &[f64]) {
        let mut rest = values;
        while !rest.is_empty() {
            match &mut self.values {
                Values::Exact(kept) => {
                    let room = EXACT_LIMIT + 1 - kept.len();
                    let (now, later) = rest.split_at(room.min(rest.len()));
                    for &v in now {
                        if !v.is_nan() {
                            kept.push(v);
                            self.min = self.min.min(v);
                            self.max = self.max.max(v);
                        }
                    }
                    self.count = kept.len() as u64;
                    rest = later;
                    if kept.len() > EXACT_LIMIT {
                        self.spill_to_buckets();
                    }
                }
                Values::Buckets(_) => {
                    self.insert_buckets(rest);
                    return;
                }
            }
        }
    }

    fn insert_buckets(&mut self, values: &[f64]) {
        let inv = self.inv_ln_gamma;
        let (mut min, mut max, mut count) = (self.min, self.max, 0u64);
        let Values::Buckets(b) = &mut self.values else {
            return;
        };
        for &v in values {
            if v.is_nan() {
                continue;
            }
            count += 1;
            min = min.min(v);
            max = max.max(v);
            if v > 0.0 {
                if v < f64::INFINITY {
                    b.pos.add((v.ln() * inv).ceil() as i64, 1);
                } else {
                    b.pos_inf += 1;
                }
            } else if v < 0.0 {
                if v > f64::NEG_INFINITY {
                    b.neg.add(((-v).ln() * inv).ceil() as i64, 1);
                } else {
                    b.neg_inf += 1;
                }
            } else {
                b.zeros += 1;
            }
        }
        self.min = min;
        self.max = max;
        self.count += count;
    }

    /// Moves kept values into buckets.
    fn spill_to_buckets(&mut self) {
        if let Values::Exact(kept) = &mut self.values {
            let kept = std::mem::take(kept);
            self.values = Values::Buckets(Box::default());
            self.count = 0;
            self.insert_buckets(&kept);
        }
    }

    /// Adds every value of `other` to this sketch. Two exact sketches stay exact while their
    /// total count is at most [`EXACT_LIMIT`].
    ///
    /// Fails with [`Error::SketchMismatch`] when the sketches have different accuracies.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if other.alpha.to_bits() != self.alpha.to_bits() {
            return Err(Error::SketchMismatch {
                left: self.alpha,
                right: other.alpha,
            });
        }
        match &other.values {
            Values::Exact(kept) => self.insert_slice(kept),
            Values::Buckets(theirs) => {
                self.spill_to_buckets();
                if let Values::Buckets(ours) = &mut self.values {
                    ours.pos.merge(&theirs.pos);
                    ours.neg.merge(&theirs.neg);
                    ours.zeros += theirs.zeros;
                    ours.neg_inf += theirs.neg_inf;
                    ours.pos_inf += theirs.pos_inf;
                }
                self.count += other.count;
                self.min = self.min.min(other.min);
                self.max = self.max.max(other.max);
            }
        }
        Ok(())
    }

    /// The estimate of the `rank`-th smallest value (bucket mode).
    fn value_at(&self, b: &Buckets, mut rank: u64) -> f64 {
        let estimate = 'found: {
            if rank < b.neg_inf {
                break 'found f64::NEG_INFINITY;
            }
            rank -= b.neg_inf;
            if rank < b.neg.total {
                // Most negative first: the negative store from its highest index down.
                let from_top = b.neg.total - 1 - rank;
                break 'found b
                    .neg
                    .index_at(from_top)
                    .map_or(self.min, |i| -self.representative(i));
            }
            rank -= b.neg.total;
            if rank < b.zeros {
                break 'found 0.0;
            }
            rank -= b.zeros;
            if rank < b.pos.total {
                break 'found b
                    .pos
                    .index_at(rank)
                    .map_or(self.max, |i| self.representative(i));
            }
            f64::INFINITY
        };
        estimate.clamp(self.min, self.max)
    }

    /// The `q`-quantile (see [`QuantileSketch`] for the exact guarantee); `Ok(None)` when
    /// the sketch is empty, [`Error::Quantile`] when `q` is outside `[0, 1]`.
    pub fn quantile(&self, q: f64) -> Result<Option<f64>> {
        if !(0.0..=1.0).contains(&q) {
            return Err(Error::Quantile { q });
        }
        if self.count == 0 {
            return Ok(None);
        }
        match &self.values {
            Values::Exact(kept) => Ok(exact_quantile(&mut kept.clone(), q)),
            Values::Buckets(b) => {
                if q == 0.0 {
                    return Ok(Some(self.min));
                }
                if q == 1.0 {
                    return Ok(Some(self.max));
                }
                let (lower, upper) = split_rank(q, self.count);
                let lo = self.value_at(b, lower);
                Ok(Some(match upper {
                    None => lo,
                    Some((upper, weight)) => {
                        let hi = self.value_at(b, upper);
                        lo + (hi - lo) * weight
                    }
                }))
            }
        }
    }

    /// A compact, versioned encoding (for aggregation state); read it back with
    /// [`QuantileSketch::from_bytes`].
    ///
    /// Layout (little-endian): `b'Q'`, version `1`, alpha (`f64`), count (varint); when the
    /// count is non-zero min and max (`f64`); a mode byte: `0` exact, followed by the
    /// `count` values (`f64`), or `1` buckets, followed by zeros, −∞ and +∞ counts
    /// (varints) and the negative then positive store, each as its offset (zigzag varint),
    /// its number of buckets (varint) and the counts (varints).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        self.write(&mut out);
        out
    }

    /// Appends the encoding of [`QuantileSketch::to_bytes`] to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.alpha.to_le_bytes());
        put_varint(out, self.count);
        if self.count > 0 {
            out.extend_from_slice(&self.min.to_le_bytes());
            out.extend_from_slice(&self.max.to_le_bytes());
        }
        match &self.values {
            Values::Exact(kept) => {
                out.push(0);
                out.reserve(kept.len() * 8);
                for v in kept {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Values::Buckets(b) => {
                out.push(1);
                put_varint(out, b.zeros);
                put_varint(out, b.neg_inf);
                put_varint(out, b.pos_inf);
                for store in [&b.neg, &b.pos] {
                    put_varint(out, zigzag(store.offset));
                    put_varint(out, store.counts.len() as u64);
                    for &c in &store.counts {
                        put_varint(out, c);
                    }
                }
            }
        }
    }

    /// Reads an encoding of [`QuantileSketch::to_bytes`]. Anything else (truncated,
    /// inconsistent or another version) is an [`Error::SketchEncoding`]; never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader { bytes, at: 0 };
        if r.byte()? != MAGIC {
            return Err(r.error("not a quantile sketch (bad magic byte)"));
        }
        if r.byte()? != VERSION {
            return Err(r.error("unsupported sketch encoding version"));
        }
        let alpha = r.f64()?;
        let mut sketch =
            QuantileSketch::new(alpha).map_err(|_| r.error("accuracy out of range"))?;
        let count = r.varint()?;
        if count > 0 {
            let (min, max) = (r.f64()?, r.f64()?);
            if min.is_nan() || max.is_nan() || min > max {
                return Err(r.error("inconsistent min and max"));
            }
            (sketch.min, sketch.max) = (min, max);
        }
        sketch.count = count;
        match r.byte()? {
            0 => {
                if count > EXACT_LIMIT as u64 {
                    return Err(r.error("too many exact values"));
                }
                let mut kept = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let v = r.f64()?;
                    if v.is_nan() || v < sketch.min || v > sketch.max {
                        return Err(r.error("exact value outside [min, max]"));
                    }
                    kept.push(v);
                }
                sketch.values = Values::Exact(kept);
            }
            1 => {
                let mut b = Buckets {
                    zeros: r.varint()?,
                    neg_inf: r.varint()?,
                    pos_inf: r.varint()?,
                    ..Buckets::default()
                };
                for neg in [true, false] {
                    let offset = unzigzag(r.varint()?);
                    let len = r.varint()?;
                    if len > MAX_BUCKETS as u64 || len > r.remaining() as u64 {
                        return Err(r.error("bucket count out of range"));
                    }
                    // Indices of finite magnitudes stay far inside ±2^52 for any alpha ≥
                    // MIN_ALPHA; larger offsets are garbage.
                    if offset.unsigned_abs() > 1 << 52 {
                        return Err(r.error("bucket offset out of range"));
                    }
                    let mut store = Store {
                        offset,
                        counts: Vec::with_capacity(len as usize),
                        total: 0,
                    };
                    for _ in 0..len {
                        let c = r.varint()?;
                        store.total = store
                            .total
                            .checked_add(c)
                            .ok_or_else(|| r.error("count overflow"))?;
                        store.counts.push(c);
                    }
                    if neg {
                        b.neg = store;
                    } else {
                        b.pos = store;
                    }
                }
                let total = [b.zeros, b.neg_inf, b.pos_inf, b.neg.total, b.pos.total]
                    .into_iter()
                    .try_fold(0u64, u64::checked_add);
                if total != Some(count) {
                    return Err(r.error("bucket counts do not add up to the count"));
                }
                sketch.values = Values::Buckets(Box::new(b));
            }
            _ => return Err(r.error("unknown sketch mode")),
        }
        if r.remaining() != 0 {
            return Err(r.error("trailing bytes"));
        }
        Ok(sketch)
    }

    /// Heap and inline bytes used, for memory accounting.
    pub fn size(&self) -> usize {
        size_of::<Self>()
            + match &self.values {
                Values::Exact(kept) => kept.capacity() * 8,
                Values::Buckets(b) => {
                    size_of::<Buckets>() + (b.pos.counts.capacity() + b.neg.counts.capacity()) * 8
                }
            }
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, problem: &'static str) -> Error {
        Error::SketchEncoding {
            offset: self.at,
            problem,
        }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| self.error("truncated"))?;
        self.at += 1;
        Ok(b)
    }

    fn f64(&mut self) -> Result<f64> {
        let end = self.at + 8;
        let raw: [u8; 8] = self
            .bytes
            .get(self.at..end)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| self.error("truncated"))?;
        self.at = end;
        Ok(f64::from_le_bytes(raw))
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(self.error("varint overflow"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.error("varint overflow"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, LogNormal, Normal};

    const SEED: u64 = 7;

    /// The reference: percentile_cont's answer and the order statistics around the rank.
    fn reference(values: &[f64], q: f64) -> (f64, f64, f64, f64) {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as u64;
        let (r, upper) = split_rank(q, n);
        let exact = exact_quantile(&mut values.to_vec(), q).expect("non-empty");
        let lo = sorted[r as usize];
        match upper {
            None => (exact, lo, lo, 0.0),
            Some((u, w)) => (exact, lo, sorted[u as usize], w),
        }
    }

    fn check_bound(sketch: &QuantileSketch, values: &[f64], what: &str) {
        for q in [
            0.0, 0.001, 0.01, 0.1, 0.25, 0.333, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0,
        ] {
            let got = sketch.quantile(q).expect("q valid").expect("non-empty");
            let (exact, lo, hi, w) = reference(values, q);
            if got == exact {
                continue;
            }
            let bound = sketch.alpha() * ((1.0 - w) * lo.abs() + w * hi.abs());
            let err = (got - exact).abs();
            assert!(
                err <= bound * (1.0 + 1e-9),
                "{what} q={q}: got {got}, exact {exact}, error {err} > bound {bound}"
            );
        }
    }

    fn lognormal(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
        let d = LogNormal::new(3.0, 1.5).expect("valid");
        (0..n).map(|_| d.sample(rng)).collect()
    }

    #[test]
    fn exact_quantile_interpolates_like_percentile_cont() {
        // Hand-checked: n = 4, q = 0.5 → rank 1.5 → 2 + (3 − 2)·0.5.
        assert_eq!(exact_quantile(&mut [4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        // q·(n−1) = 0.3·3 = 0.8999999999999999 in binary: the weight truncates to 0.899999.
        let got = exact_quantile(&mut [0.0, 10.0, 20.0, 30.0], 0.3).expect("non-empty");
        assert_eq!(got, 0.0 + 10.0 * 0.899999);
        assert_eq!(exact_quantile(&mut [5.0, -1.0], 0.0), Some(-1.0));
        assert_eq!(exact_quantile(&mut [5.0, -1.0], 1.0), Some(5.0));
        assert_eq!(exact_quantile(&mut [7.0], 0.3), Some(7.0));
        assert_eq!(exact_quantile(&mut [], 0.3), None);
        assert_eq!(exact_quantile(&mut [1.0], 1.5), None);
        assert_eq!(exact_quantile(&mut [1.0], f64::NAN), None);
    }

    #[test]
    fn small_sketches_are_exact() -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let values: Vec<f64> = (0..EXACT_LIMIT)
            .map(|_| rng.random_range(-5.0..5.0))
            .collect();
        let mut s = QuantileSketch::default();
        s.insert_slice(&values);
        assert!(s.is_exact());
        for q in [0.0, 0.1, 0.37, 0.5, 0.999, 1.0] {
            assert_eq!(
                s.quantile(q)?.map(f64::to_bits),
                exact_quantile(&mut values.clone(), q).map(f64::to_bits),
                "q={q}"
            );
        }
        // Merging two exact halves stays exact.
        let (a, b) = values.split_at(300);
        let mut left = QuantileSketch::default();
        left.insert_slice(a);
        let mut right = QuantileSketch::default();
        b.iter().for_each(|&v| right.insert(v));
        left.merge(&right)?;
        assert!(left.is_exact());
        assert_eq!(left.count(), EXACT_LIMIT as u64);
        assert_eq!(
            left.quantile(0.42)?,
            exact_quantile(&mut values.clone(), 0.42)
        );
        // One more value leaves exact mode.
        left.insert(1.0);
        assert!(!left.is_exact());
        Ok(())
    }

    #[test]
    fn large_sketches_stay_within_the_documented_bound() -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let normal = Normal::new(0.0, 50.0).expect("valid");
        let datasets: Vec<(&str, Vec<f64>)> = vec![
            ("lognormal", lognormal(&mut rng, 50_000)),
            (
                "negative",
                lognormal(&mut rng, 20_000)
                    .into_iter()
                    .map(|v| -v)
                    .collect(),
            ),
            (
                "mixed sign",
                (0..30_000).map(|_| normal.sample(&mut rng)).collect(),
            ),
            (
                "with zeros",
                (0..30_000)
                    .map(|i| {
                        if i % 3 == 0 {
                            0.0
                        } else {
                            normal.sample(&mut rng).round()
                        }
                    })
                    .collect(),
            ),
            (
                "wide range",
                (0..10_000)
                    .map(|_| 10f64.powf(rng.random_range(-8.0..8.0)))
                    .collect(),
            ),
        ];
        // At 0.001 the 2048 buckets span only 4.1 nats: narrow data there.
        let narrow: Vec<f64> = (0..20_000)
            .map(|_| 1_000.0 + normal.sample(&mut rng))
            .collect();
        let runs = datasets
            .iter()
            .flat_map(|(what, values)| [(0.01, *what, values), (0.05, *what, values)])
            .chain([(0.001, "narrow", &narrow)]);
        for (alpha, what, values) in runs {
            let mut s = QuantileSketch::new(alpha)?;
            s.insert_slice(values);
            assert!(!s.is_exact());
            assert_eq!(s.count(), values.len() as u64);
            check_bound(&s, values, &format!("{what} alpha={alpha}"));
            // Merged from uneven parts: the same bound.
            let mut merged = QuantileSketch::new(alpha)?;
            for part in values.chunks(values.len() / 7 + 1) {
                let mut p = QuantileSketch::new(alpha)?;
                p.insert_slice(part);
                merged.merge(&p)?;
            }
            check_bound(&merged, values, &format!("{what} merged alpha={alpha}"));
            // Merging gives the same buckets as inserting everything in one sketch.
            assert_eq!(
                merged.quantile(0.5)?.map(f64::to_bits),
                s.quantile(0.5)?.map(f64::to_bits)
            );
        }
        Ok(())
    }

    #[test]
    fn nan_is_skipped_and_infinities_are_exact() -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let mut values = lognormal(&mut rng, 5_000);
        values[10] = f64::INFINITY;
        values[11] = f64::NEG_INFINITY;
        let mut with_nan = values.clone();
        with_nan.extend([f64::NAN; 100]);
        let mut s = QuantileSketch::default();
        s.insert_slice(&with_nan);
        assert_eq!(s.count(), values.len() as u64);
        assert_eq!(s.quantile(0.0)?, Some(f64::NEG_INFINITY));
        assert_eq!(s.quantile(1.0)?, Some(f64::INFINITY));
        check_bound(&s, &values, "infinities");
        let mut only_nan = QuantileSketch::default();
        only_nan.insert(f64::NAN);
        assert_eq!(only_nan.quantile(0.5)?, None);
        assert!(matches!(s.quantile(1.5), Err(Error::Quantile { .. })));
        assert!(matches!(s.quantile(f64::NAN), Err(Error::Quantile { .. })));
        Ok(())
    }

    #[test]
    fn a_range_beyond_max_buckets_collapses_only_the_smallest_magnitudes() -> Result<()> {
        // Magnitudes from 1e-300 to 1e300: far more than MAX_BUCKETS buckets at 1 %.
        let values: Vec<f64> = (0..20_000)
            .map(|i| 10f64.powf(-300.0 + 600.0 * f64::from(i) / 20_000.0))
            .collect();
        let mut s = QuantileSketch::default();
        s.insert_slice(&values);
        let Values::Buckets(b) = &s.values else {
            panic!("bucket mode expected");
        };
        assert!(b.pos.counts.len() <= MAX_BUCKETS);
        // The kept range covers ln(γ)·MAX_BUCKETS ≈ 40.96 nats ≈ 17.8 decades at the top:
        // the upper quantiles keep the bound.
        for q in [0.98, 0.99, 0.999] {
            let got = s.quantile(q)?.expect("non-empty");
            let (exact, lo, hi, w) = reference(&values, q);
            let bound = s.alpha() * ((1.0 - w) * lo.abs() + w * hi.abs());
            assert!((got - exact).abs() <= bound * (1.0 + 1e-9), "q={q}");
        }
        // The lowest ones lost it (they answer the collapsed bucket).
        let low = s.quantile(0.1)?.expect("non-empty");
        let (exact, ..) = reference(&values, 0.1);
        assert!(low > exact * 2.0, "{low} vs {exact}");
        Ok(())
    }

    #[test]
    fn encoding_round_trips() -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let mut big = QuantileSketch::new(0.02)?;
        big.insert_slice(&lognormal(&mut rng, 3_000));
        big.insert_slice(&[-3.0, 0.0, -0.0, f64::INFINITY, -1e-9]);
        let mut small = QuantileSketch::default();
        small.insert_slice(&[1.5, -2.0, 0.0]);
        for s in [QuantileSketch::default(), small, big] {
            let bytes = s.to_bytes();
            let back = QuantileSketch::from_bytes(&bytes)?;
            assert_eq!(back, s);
            assert_eq!(back.to_bytes(), bytes);
        }
        Ok(())
    }

    #[test]
    fn decoding_garbage_is_an_error_not_a_panic() -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let mut s = QuantileSketch::default();
        s.insert_slice(&lognormal(&mut rng, 2_000));
        s.insert_slice(&[-1.0, -2.0, 0.0]);
        let good = s.to_bytes();
        // Every truncation fails.
        for len in 0..good.len() {
            assert!(
                matches!(
                    QuantileSketch::from_bytes(&good[..len]),
                    Err(Error::SketchEncoding { .. })
                ),
                "truncated to {len}"
            );
        }
        // Random corruptions never panic and either fail or decode to a consistent sketch.
        for _ in 0..3_000 {
            let mut bad = good.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..bad.len());
                bad[i] = rng.random();
            }
            if let Ok(decoded) = QuantileSketch::from_bytes(&bad) {
                let _ = decoded.quantile(0.5)?;
                let _ = decoded.to_bytes();
            }
        }
        // Pure noise.
        for len in 0..200 {
            let noise: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if let Ok(decoded) = QuantileSketch::from_bytes(&noise) {
                let _ = decoded.quantile(0.9)?;
            }
        }
        assert!(matches!(
            QuantileSketch::from_bytes(b"Q\x02"),
            Err(Error::SketchEncoding { offset: 2, .. })
        ));
        Ok(())
    }

    #[test]
    fn bad_accuracy_and_mismatched_merges_are_typed_errors() -> Result<()> {
        for alpha in [0.0, -0.1, 1.0, f64::NAN, 1e-12] {
            assert!(matches!(
                QuantileSketch::new(alpha),
                Err(Error::SketchAccuracy { .. })
            ));
        }
        let mut a = QuantileSketch::new(0.01)?;
        let b = QuantileSketch::new(0.02)?;
        assert!(matches!(a.merge(&b), Err(Error::SketchMismatch { .. })));
        Ok(())
    }
}
