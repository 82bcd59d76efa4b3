//! The rollup against a naive reference (a `BTreeMap` per group) on seeded random data:
//! sorted and shuffled input, nulls and NaN, many batch splits, parallel merges.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Int64Type, Schema, TimeUnit};

use crate::bucket::CalendarUnit;

use super::*;

/// xorshift64*: a seeded stream for the tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const MIN: i64 = 60_000_000;

/// Rows (sensor, ts, value): `sensors` sensors, sorted by (sensor, ts) unless `shuffle`.
fn rows(
    seed: u64,
    n: usize,
    sensors: u64,
    shuffle: bool,
) -> Vec<(Option<String>, Option<i64>, Option<f64>)> {
    rows_with(seed, n, sensors, shuffle, true)
}

/// As [`rows`]; without `nulls`, no sensor, timestamp or value is null (the one-pass run
/// scan then applies), and values include ±0, ±∞ and NaN of either sign.
fn rows_with(
    seed: u64,
    n: usize,
    sensors: u64,
    shuffle: bool,
    nulls: bool,
) -> Vec<(Option<String>, Option<i64>, Option<f64>)> {
    let mut rng = Rng(seed);
    let mut out: Vec<_> = (0..n)
        .map(|_| {
            let s = rng.below(sensors);
            let sensor = (s != 0 || !nulls).then(|| format!("S{s:03}"));
            let ts = (rng.below(50) != 0 || !nulls)
                .then(|| (rng.below(600) as i64 - 100) * 1_000_000 + rng.below(1000) as i64);
            let v = match (rng.below(40), nulls) {
                (0, true) => None,
                (0, false) => Some([-0.0, 0.0, f64::INFINITY, -f64::NAN][rng.below(4) as usize]),
                (1, _) => Some(f64::NAN),
                _ => Some((rng.below(2000) as f64 - 1000.0) / 7.0),
            };
            (sensor, ts, v)
        })
        .collect();
    if !shuffle {
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    }
    out
}

/// `data` in batches of `batch_rows` rows (the last one shorter).
fn batches(
    data: &[(Option<String>, Option<i64>, Option<f64>)],
    batch_rows: usize,
    dictionary: bool,
) -> Vec<RecordBatch> {
    data.chunks(batch_rows)
        .map(|c| batch(c, dictionary))
        .collect()
}

fn batch(rows: &[(Option<String>, Option<i64>, Option<f64>)], dictionary: bool) -> RecordBatch {
    let sensor = StringArray::from(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>());
    let sensor: ArrayRef = if dictionary {
        Arc::new(
            arrow::compute::cast(
                &sensor,
                &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            )
            .expect("dictionary cast")
            .as_dictionary::<Int32Type>()
            .clone(),
        )
    } else {
        Arc::new(sensor)
    };
    let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(
        rows.iter().map(|r| r.1).collect::<Vec<_>>(),
    ));
    let v: ArrayRef = Arc::new(Float64Array::from(
        rows.iter().map(|r| r.2).collect::<Vec<_>>(),
    ));
    let schema = Schema::new(vec![
        Field::new("sensor", sensor.data_type().clone(), true),
        Field::new("ts", ts.data_type().clone(), true),
        Field::new("v", DataType::Float64, true),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![sensor, ts, v]).expect("batch")
}

#[derive(Default, Debug)]
struct Ref {
    rows: i64,
    vals: Vec<f64>,
    first: Option<(i64, Option<f64>)>,
    last: Option<(i64, Option<f64>)>,
}

type Key = (Option<String>, Option<i64>);

fn reference(rows: &[(Option<String>, Option<i64>, Option<f64>)]) -> BTreeMap<Key, Ref> {
    let mut m: BTreeMap<Key, Ref> = BTreeMap::new();
    for (s, t, v) in rows {
        let bucket = t.map(|t| t.div_euclid(MIN) * MIN);
        let g = m.entry((s.clone(), bucket)).or_default();
        g.rows += 1;
        if let Some(v) = v {
            g.vals.push(*v);
        }
        if let Some(t) = t {
            if g.first.is_none_or(|(ft, _)| *t < ft) {
                g.first = Some((*t, *v));
            }
            if g.last.is_none_or(|(lt, _)| *t >= lt) {
                g.last = Some((*t, *v));
            }
        }
    }
    m
}

fn spec() -> RollupSpec {
    RollupSpec {
        keys: vec![0],
        bucket: Some((
            1,
            Bucket::Fixed {
                width: MIN,
                origin: 0,
            },
        )),
        aggs: vec![
            AggInput::new(Agg::CountRows),
            AggInput::of(Agg::Count, 2),
            AggInput::of(Agg::Sum, 2),
            AggInput::of(Agg::Min, 2),
            AggInput::of(Agg::Max, 2),
            AggInput::of(Agg::Mean, 2),
            AggInput::of(
                Agg::Variance {
                    sample: true,
                    sqrt: true,
                },
                2,
            ),
            AggInput::ordered(Agg::First, 2, 1),
            AggInput::ordered(Agg::Last, 2, 1),
            AggInput::of(Agg::QuantileCont(0.95), 2),
        ],
    }
}

/// The column types of a batch (the rollup's `types`).
fn types_of(batch: &RecordBatch) -> Vec<DataType> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn check(out: &RollupOutput, expected: &BTreeMap<Key, Ref>, with_first_last: bool) {
    let keys = arrow::compute::cast(&out.keys[0], &DataType::Utf8).expect("keys as strings");
    let keys = keys.as_string::<i32>();
    let buckets = out.bucket.as_ref().expect("bucket");
    let buckets = arrow::compute::cast(buckets, &DataType::Int64).expect("buckets");
    let buckets = buckets.as_primitive::<Int64Type>();
    assert_eq!(keys.len(), expected.len(), "group count");
    let f = |i: usize| out.aggs[i].as_primitive::<Float64Type>();
    let n = |i: usize| out.aggs[i].as_primitive::<Int64Type>();
    for g in 0..keys.len() {
        let key = (
            keys.is_valid(g).then(|| keys.value(g).to_owned()),
            buckets.is_valid(g).then(|| buckets.value(g)),
        );
        let r = expected
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected group {key:?}"));
        assert_eq!(n(0).value(g), r.rows, "{key:?} count(*)");
        assert_eq!(n(1).value(g), r.vals.len() as i64, "{key:?} count(v)");
        let opt = |a: &arrow::array::PrimitiveArray<Float64Type>| a.is_valid(g).then(|| a.value(g));
        if r.vals.is_empty() {
            for i in [2, 3, 4, 5, 6, 9] {
                assert!(out.aggs[i].is_null(g), "{key:?} agg {i} on no values");
            }
        } else {
            let sum: f64 = r.vals.iter().sum();
            assert!(
                close(f(2).value(g), sum),
                "{key:?} sum {} vs {sum}",
                f(2).value(g)
            );
            let min = r
                .vals
                .iter()
                .copied()
                .min_by(f64::total_cmp)
                .unwrap_or(f64::NAN);
            let max = r
                .vals
                .iter()
                .copied()
                .max_by(f64::total_cmp)
                .unwrap_or(f64::NAN);
            assert_eq!(f(3).value(g).to_bits(), min.to_bits(), "{key:?} min");
            assert_eq!(f(4).value(g).to_bits(), max.to_bits(), "{key:?} max");
            assert!(
                close(f(5).value(g), sum / r.vals.len() as f64),
                "{key:?} avg"
            );
            if r.vals.len() >= 2 {
                let m = sum / r.vals.len() as f64;
                let var = r.vals.iter().map(|x| (x - m) * (x - m)).sum::<f64>()
                    / (r.vals.len() - 1) as f64;
                assert!(
                    close(f(6).value(g), var.sqrt()),
                    "{key:?} stddev {} vs {}",
                    f(6).value(g),
                    var.sqrt()
                );
            } else {
                assert!(f(6).is_null(g), "{key:?} stddev of one value");
            }
            let mut v = r.vals.clone();
            let q = crate::sketch::exact_quantile(&mut v, 0.95);
            assert!(
                close(opt(f(9)).unwrap_or(f64::NAN), q.unwrap_or(f64::NAN)),
                "{key:?} p95"
            );
        }
        if with_first_last {
            assert_eq!(
                opt(f(7)).map(f64::to_bits),
                r.first.and_then(|x| x.1).map(f64::to_bits),
                "{key:?} first"
            );
            assert_eq!(
                opt(f(8)).map(f64::to_bits),
                r.last.and_then(|x| x.1).map(f64::to_bits),
                "{key:?} last"
            );
        }
    }
}

#[test]
fn sorted_and_shuffled_input_in_any_split_equals_the_reference() -> Result<()> {
    for (seed, shuffle, dictionary) in [
        (1, false, false),
        (2, true, false),
        (3, false, true),
        (4, true, true),
    ] {
        let data = rows(seed, 5000, 12, shuffle);
        let expected = reference(&data);
        for batch_rows in [1, 7, 640, 5000] {
            let batches = batches(&data, batch_rows, dictionary);
            let types = types_of(&batches[0]);
            let mut r = Rollup::new(spec(), &types)?;
            for b in &batches {
                r.update(b.columns())?;
            }
            assert_eq!(r.rows(), 5000);
            // Ties in ts make first/last depend on the order rows are seen: the reference
            // sees them in input order, like the serial rollup.
            check(&r.finish()?, &expected, true);
            check(
                &rollup_batches(&spec(), &types, &batches)?,
                &expected,
                !shuffle,
            );
        }
    }
    Ok(())
}

/// Input without nulls takes the one-pass run scan (`runs::find`): the same groups and
/// aggregates as the reference, for sorted and shuffled rows, plain and dictionary keys,
/// groups straddling batches of every size around the scan's block (16 rows), empty
/// batches in between, and NaN, ±0 and ±∞ among the values.
#[test]
fn input_without_nulls_in_any_split_equals_the_reference() -> Result<()> {
    for (seed, shuffle, dictionary) in [
        (11, false, false),
        (12, true, false),
        (13, false, true),
        (14, true, true),
    ] {
        let data = rows_with(seed, 2000, 7, shuffle, false);
        let expected = reference(&data);
        for batch_rows in [1, 16, 17, 333, 2000] {
            let mut batches: Vec<RecordBatch> = Vec::new();
            for c in data.chunks(batch_rows) {
                batches.push(batch(c, dictionary));
                batches.push(batch(&[], dictionary));
            }
            let types = types_of(&batches[0]);
            let mut r = Rollup::new(spec(), &types)?;
            for b in &batches {
                r.update(b.columns())?;
            }
            assert_eq!(r.rows(), 2000);
            check(&r.finish()?, &expected, true);
            check(
                &rollup_batches(&spec(), &types, &batches)?,
                &expected,
                !shuffle,
            );
        }
    }
    Ok(())
}

/// Sorted input told so ([`Rollup::with_sorted_input`]) finds its runs by search rather
/// than by a scan: the same groups and aggregates as the reference, for plain and
/// dictionary keys, sparse and dense timestamps (buckets of one row, gaps of many buckets,
/// buckets of a few hundred rows), groups straddling batches of every size, and empty
/// batches. Calendar buckets (months in Berlin, days in New York) give the very same output
/// as the scan.
#[test]
fn sorted_input_found_by_search_equals_the_reference_and_the_scan() -> Result<()> {
    for (seed, sensors, dictionary) in [(21, 7, false), (22, 7, true), (23, 2, false)] {
        // 2,000 rows over 600 s per sensor: from sparse (7 sensors) to dense (2 sensors).
        let data = rows_with(seed, 2000, sensors, false, false);
        let expected = reference(&data);
        for batch_rows in [1, 2, 17, 333, 2000] {
            let mut batches: Vec<RecordBatch> = Vec::new();
            for c in data.chunks(batch_rows) {
                batches.push(batch(c, dictionary));
                batches.push(batch(&[], dictionary));
            }
            let types = types_of(&batches[0]);
            let mut r = Rollup::new(spec(), &types)?.with_sorted_input();
            for b in &batches {
                r.update(b.columns())?;
            }
            check(&r.finish()?, &expected, true);
        }
    }
    // Dense runs: 20,000 rows of 3 sensors, 50 ms apart, in 1-minute buckets.
    let mut dense: Vec<(Option<String>, Option<i64>, Option<f64>)> = Vec::new();
    for s in 0..3 {
        for i in 0..20_000i64 {
            dense.push((Some(format!("S{s}")), Some(i * 50_000 - 7), Some(i as f64)));
        }
    }
    let expected = reference(&dense);
    for batch_rows in [999, 4096, 60_000] {
        let batches: Vec<RecordBatch> = dense.chunks(batch_rows).map(|c| batch(c, true)).collect();
        let mut r = Rollup::new(spec(), &types_of(&batches[0]))?.with_sorted_input();
        for b in &batches {
            r.update(b.columns())?;
        }
        check(&r.finish()?, &expected, true);
    }
    // Calendar buckets: three sensors, a reading every ~7 hours over two years.
    let mut cal: Vec<(Option<String>, Option<i64>, Option<f64>)> = Vec::new();
    let mut rng = Rng(24);
    for s in 0..3 {
        let mut t = 1_600_000_000_000_000i64;
        for _ in 0..2_500 {
            t += (rng.below(14) as i64 + 1) * 3_600_000_000;
            cal.push((Some(format!("S{s}")), Some(t), Some(rng.below(100) as f64)));
        }
    }
    for (unit, tz) in [
        (CalendarUnit::Month, "Europe/Berlin"),
        (CalendarUnit::Day, "America/New_York"),
    ] {
        let mut calendar = spec();
        calendar.bucket = Some((1, Bucket::calendar(unit, tz, TimeUnit::Microsecond)?));
        for batch_rows in [1, 250, 7_500] {
            let batches = batches(&cal, batch_rows, true);
            let types = types_of(&batches[0]);
            let (mut scanned, mut searched) = (
                Rollup::new(calendar.clone(), &types)?,
                Rollup::new(calendar.clone(), &types)?.with_sorted_input(),
            );
            for b in &batches {
                scanned.update(b.columns())?;
                searched.update(b.columns())?;
            }
            let (a, b) = (scanned.finish()?, searched.finish()?);
            assert_eq!(a.keys[0].to_data(), b.keys[0].to_data(), "{unit:?} keys");
            assert_eq!(
                a.bucket.as_ref().map(|x| x.to_data()),
                b.bucket.as_ref().map(|x| x.to_data())
            );
            assert!(a.keys[0].len() > 30, "{unit:?}: {} groups", a.keys[0].len());
            for (x, y) in a.aggs.iter().zip(&b.aggs) {
                assert_eq!(x.to_data(), y.to_data(), "{unit:?} aggregates");
            }
        }
    }
    Ok(())
}

/// Rows ordered by time with keys interleaved (as orders arrive) make runs of one row, so
/// after the first batch the rollup maps rows to groups one by one; a sorted stretch in
/// the middle makes runs long again and sends it back to the search for runs. Every mix
/// gives the reference's groups and aggregates, first/last and quantiles included.
#[test]
fn interleaved_keys_switch_to_row_by_row_groups_and_back() -> Result<()> {
    for (seed, nulls, dictionary) in [(21, false, true), (22, true, false), (23, true, true)] {
        let mut data = rows_with(seed, 6000, 40, true, nulls);
        data[..2000].sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        data[2000..4000].sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        data[4000..].sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        let expected = reference(&data);
        for batch_rows in [100, 500, 1999] {
            let batches = batches(&data, batch_rows, dictionary);
            let types = types_of(&batches[0]);
            let mut r = Rollup::new(spec(), &types)?;
            let mut modes = Vec::new();
            for b in &batches {
                r.update(b.columns())?;
                modes.push(r.short_runs);
            }
            assert!(
                modes.contains(&true) && modes.contains(&false),
                "both paths taken: {modes:?}"
            );
            check(&r.finish()?, &expected, true);
        }
    }
    Ok(())
}

#[test]
fn empty_input_and_a_single_row() -> Result<()> {
    let data = rows(9, 1, 3, false);
    let b = batch(&data, false);
    let types: Vec<DataType> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    let empty = Rollup::new(spec(), &types)?.finish()?;
    assert_eq!(empty.keys[0].len(), 0);
    assert!(empty.aggs.iter().all(|a| a.is_empty()));
    let out = rollup_batches(&spec(), &types, std::slice::from_ref(&b))?;
    check(&out, &reference(&data), true);
    Ok(())
}

#[test]
fn composite_keys_without_a_bucket() -> Result<()> {
    let a: ArrayRef = Arc::new(Int32Array::from(vec![
        Some(1),
        Some(1),
        None,
        Some(2),
        Some(1),
    ]));
    let b: ArrayRef = Arc::new(DictionaryArray::<Int32Type>::try_new(
        Int32Array::from(vec![0, 0, 1, 1, 1]),
        Arc::new(StringArray::from(vec!["x", "y"])),
    )?);
    let v: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0, 5.0]));
    let spec = RollupSpec {
        keys: vec![0, 1],
        bucket: None,
        aggs: vec![AggInput::of(Agg::Sum, 2)],
    };
    let types = [
        a.data_type().clone(),
        b.data_type().clone(),
        DataType::Float64,
    ];
    let mut r = Rollup::new(spec, &types)?;
    r.update(&[a, b, v])?;
    let out = r.finish()?;
    let batch = RecordBatch::try_from_iter(vec![
        ("a", Arc::clone(&out.keys[0])),
        ("b", Arc::clone(&out.keys[1])),
        ("sum", Arc::clone(&out.aggs[0])),
    ])?;
    let text = arrow::util::pretty::pretty_format_batches(&[batch])?.to_string();
    assert_eq!(
        text,
        "+---+---+-----+\n| a | b | sum |\n+---+---+-----+\n| 1 | x | 3.0 |\n|   | y | 3.0 |\n| 2 | y | 4.0 |\n| 1 | y | 5.0 |\n+---+---+-----+"
    );
    Ok(())
}

#[test]
fn composite_keys_of_small_ints_and_text_grow_across_batches() -> Result<()> {
    use arrow::array::Int16Array;
    // Three key columns whose distinct counts grow batch by batch (the dense composite
    // table is laid out again as they do), against a naive reference.
    let mut rng = Rng(77);
    let mut expected: BTreeMap<(Option<i16>, String, String), (i64, f64)> = BTreeMap::new();
    let mut batches = Vec::new();
    for b in 0..12u64 {
        let n = 500;
        let a: Vec<Option<i16>> = (0..n)
            .map(|_| (rng.below(20) != 0).then(|| (rng.below(3 + b * 5) as i16) - 7))
            .collect();
        let t: Vec<String> = (0..n).map(|_| format!("c{}", rng.below(2 + b))).collect();
        let d: Vec<String> = (0..n).map(|_| format!("f{}", rng.below(4))).collect();
        let v: Vec<f64> = (0..n).map(|_| rng.below(1000) as f64 / 8.0).collect();
        for i in 0..n {
            let e = expected
                .entry((a[i], t[i].clone(), d[i].clone()))
                .or_insert((0, 0.0));
            e.0 += 1;
            e.1 += v[i];
        }
        let d_arr = arrow::compute::cast(
            &StringArray::from(d),
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        )?;
        batches.push(vec![
            Arc::new(Int16Array::from(a)) as ArrayRef,
            Arc::new(StringArray::from(t)) as ArrayRef,
            d_arr,
            Arc::new(Float64Array::from(v)) as ArrayRef,
        ]);
    }
    let types: Vec<DataType> = batches[0].iter().map(|c| c.data_type().clone()).collect();
    let spec = RollupSpec {
        keys: vec![0, 1, 2],
        bucket: None,
        aggs: vec![AggInput::new(Agg::CountRows), AggInput::of(Agg::Sum, 3)],
    };
    let mut r = Rollup::new(spec, &types)?;
    for b in &batches {
        r.update(b)?;
    }
    let out = r.finish()?;
    let a = out.keys[0].as_primitive::<arrow::datatypes::Int16Type>();
    let t = out.keys[1].as_string::<i32>();
    let d = arrow::compute::cast(&out.keys[2], &DataType::Utf8)?;
    let d = d.as_string::<i32>();
    let n = out.aggs[0].as_primitive::<Int64Type>();
    let s = out.aggs[1].as_primitive::<Float64Type>();
    assert_eq!(a.len(), expected.len());
    for g in 0..a.len() {
        let key = (
            a.is_valid(g).then(|| a.value(g)),
            t.value(g).to_owned(),
            d.value(g).to_owned(),
        );
        let (count, sum) = expected
            .get(&key)
            .copied()
            .unwrap_or_else(|| panic!("unexpected {key:?}"));
        assert_eq!(n.value(g), count, "{key:?}");
        assert!(close(s.value(g), sum), "{key:?}");
    }
    Ok(())
}

#[test]
fn sorted_run_ends_gallop_to_the_same_ends_as_neighbour_comparison() {
    use arrow::array::{DictionaryArray, Int32Array, StringArray};
    use arrow::datatypes::Int32Type;
    // Runs of many lengths, including 1 and a long one crossing power-of-two steps.
    let lengths = [1usize, 3, 1, 1, 17, 64, 65, 2, 1000, 1];
    let mut values = Vec::new();
    for (k, len) in lengths.iter().enumerate() {
        values.extend(std::iter::repeat_n(k as i32 * 3, *len));
    }
    let expected: Vec<usize> = lengths
        .iter()
        .scan(0usize, |end, len| {
            *end += len;
            Some(*end - 1)
        })
        .collect();
    let plain: ArrayRef = Arc::new(Int32Array::from(values.clone()));
    assert_eq!(sorted_run_ends(&plain), Some(expected.clone()));
    let starts = run_starts(std::slice::from_ref(&plain)).expect("starts");
    let from_starts: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|s| s - 1)
        .chain([values.len() - 1])
        .collect();
    assert_eq!(from_starts, expected);
    // A dictionary of strings compares its indices.
    let dict: DictionaryArray<Int32Type> = values
        .iter()
        .map(|v| format!("s{v:05}"))
        .map(Some)
        .collect::<Vec<_>>()
        .iter()
        .map(|s| s.as_deref())
        .collect();
    let dict: ArrayRef = Arc::new(dict);
    assert_eq!(sorted_run_ends(&dict), Some(expected));
    // Nulls and unsupported types fall back.
    let with_null: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
    assert_eq!(sorted_run_ends(&with_null), None);
    let strings: ArrayRef = Arc::new(StringArray::from(vec!["a", "a"]));
    assert_eq!(sorted_run_ends(&strings), None);
    let empty: ArrayRef = Arc::new(Int32Array::from(Vec::<i32>::new()));
    assert_eq!(sorted_run_ends(&empty), Some(vec![]));
}

/// A rollup told how many rows to expect ([`Rollup::with_expected_rows`]) reserves room
/// for their groups after its first batch, at that batch's rate, and gives the same result
/// whether the guess is right, far too low, far too high or zero; a merge reserves room for
/// both sides' groups at once.
#[test]
fn expected_rows_reserve_room_without_changing_the_result() -> Result<()> {
    let data = rows(31, 6000, 9, false);
    let expected = reference(&data);
    let batches = batches(&data, 500, true);
    let types = types_of(&batches[0]);
    for guess in [6000, 10, 1_000_000_000, 0] {
        let mut r = Rollup::new(spec(), &types)?
            .with_sorted_input()
            .with_expected_rows(guess);
        r.update(batches[0].columns())?;
        let after_first = r.groups();
        r.update(batches[1].columns())?;
        if guess == 6000 {
            // 12 batches of the first one's rate, an eighth to spare.
            let want = after_first * 6000 * 9 / (500 * 8);
            assert!(
                r.group_key.capacity() >= want,
                "room for {} groups, wanted {want}",
                r.group_key.capacity()
            );
            for state in &r.states {
                if let State::Mean { sum, .. } = state {
                    assert!(sum.capacity() >= want);
                }
            }
        }
        if guess == 1_000_000_000 {
            // Never more than the cap.
            assert!(r.group_key.capacity() <= MAX_RESERVED_GROUPS as usize);
        }
        for b in &batches[2..] {
            r.update(b.columns())?;
        }
        check(&r.finish()?, &expected, true);
    }

    // Two partials of disjoint halves: the merge makes room for all groups first.
    let (a, b) = batches.split_at(6);
    let mut left = Rollup::new(spec(), &types)?;
    let mut right = Rollup::new(spec(), &types)?;
    for x in a {
        left.update(x.columns())?;
    }
    for x in b {
        right.update(x.columns())?;
    }
    let both = left.groups() + right.groups();
    left.merge(right)?;
    assert!(left.group_key.capacity() >= both);
    check(&left.finish()?, &expected, true);
    Ok(())
}
