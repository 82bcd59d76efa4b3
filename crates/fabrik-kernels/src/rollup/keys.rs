//! Group keys: dense ids for the values of each key column, without hashing strings per
//! row.
//!
//! Only the first row of each run of equal keys is interned (runs come from comparing
//! neighbouring rows, vectorized). A dictionary-encoded column is interned through its
//! dictionary: each dictionary value is hashed at most once per batch, rows are mapped by
//! their dictionary index. Where runs are short and keys are plain text, every row's text
//! is hashed; the distinct values are kept as string views (short ones inline, longer ones
//! in one shared buffer; no allocation per value), so millions of distinct keys cost a
//! hash table and one copy of their bytes.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, UInt32Array, downcast_integer,
    new_empty_array,
};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{ArrowDictionaryKeyType, DataType, Int64Type};
use foldhash::fast::FixedState;

use crate::error::{Error, Result};

type Map<K> = HashMap<K, u32, FixedState>;

/// Dense ids for the distinct values of one key column (null included), with the values
/// kept to build the output.
#[derive(Debug)]
pub(crate) struct KeyColumn {
    data_type: DataType,
    bytes: ByteIds,
    ints: Map<i64>,
    /// Ids of 8- and 16-bit integer values, indexed by the value's 16-bit pattern.
    small: Vec<u32>,
    null_id: Option<u32>,
    next: u32,
    /// The distinct values in id order, in chunks (one per batch that added values).
    chunks: Vec<ArrayRef>,
    /// The last dictionary's values and the ids of those looked up so far (`u32::MAX`:
    /// not yet). A Parquet reader hands every batch of a column chunk the same buffers of values,
    /// so batches after the first look up only values new to the chunk. Ids never change.
    last_dictionary: Option<(ArrayRef, Vec<u32>)>,
}

/// Ids of distinct byte strings: a hash table of entries whose hashes are kept (growing it
/// re-hashes no string), each entry laid out as an Arrow string view — values of up to 12
/// bytes inline, longer ones as a 4-byte prefix and an offset into one buffer that holds
/// them back to back. No allocation per distinct value, and short keys (ids, codes) are
/// compared without a second memory access.
///
/// Arrow's `GenericByteDictionaryBuilder` interns values too, but compares every probe
/// against its buffer of values (a second cache miss per row when there are millions of
/// keys: 2.8 against 2.45 CPU-s for 4.3M groups in a layout like it) and would need a map
/// from its keys to this column's ids, which nulls and integers share; DataFusion's
/// `ArrowBytesViewMap` keeps views like this one but lives in DataFusion, which this crate
/// does not depend on.
#[derive(Debug, Default)]
struct ByteIds {
    /// (entry, id) by the hash of the entry's bytes.
    table: hashbrown::HashTable<(u32, u32)>,
    entries: Vec<ByteEntry>,
    /// The bytes of values longer than [`INLINE`].
    data: Vec<u8>,
}

/// Bytes of a value kept inside its [`ByteEntry`].
const INLINE: usize = 12;

#[derive(Debug, Clone, Copy)]
struct ByteEntry {
    hash: u64,
    len: usize,
    /// The value (`len <= INLINE`), or its first 4 bytes and its offset in
    /// [`ByteIds::data`] (little-endian `u64`).
    view: [u8; INLINE],
}

impl ByteEntry {
    fn new(hash: u64, b: &[u8], data: &mut Vec<u8>) -> Self {
        let mut view = [0u8; INLINE];
        if b.len() <= INLINE {
            view[..b.len()].copy_from_slice(b);
        } else {
            view[..4].copy_from_slice(&b[..4]);
            view[4..].copy_from_slice(&(data.len() as u64).to_le_bytes());
            data.extend_from_slice(b);
        }
        ByteEntry {
            hash,
            len: b.len(),
            view,
        }
    }

    fn equals(&self, hash: u64, b: &[u8], data: &[u8]) -> bool {
        if self.hash != hash || self.len != b.len() {
            return false;
        }
        if b.len() <= INLINE {
            return self.view[..b.len()] == *b;
        }
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&self.view[4..]);
        let start = u64::from_le_bytes(offset) as usize;
        self.view[..4] == b[..4] && data[start..start + b.len()] == *b
    }
}

impl ByteIds {
    /// The id of `b`, or a new one from `new_id` (the value is then kept).
    fn intern(&mut self, b: &[u8], new_id: impl FnOnce() -> u32) -> u32 {
        let hash = FixedState::default().hash_one(b);
        let ByteIds {
            table,
            entries,
            data,
        } = self;
        if let Some(&(_, id)) =
            table.find(hash, |&(e, _)| entries[e as usize].equals(hash, b, data))
        {
            return id;
        }
        let id = new_id();
        let e = entries.len() as u32;
        table.insert_unique(hash, (e, id), |&(e, _)| entries[e as usize].hash);
        entries.push(ByteEntry::new(hash, b, data));
        id
    }
}

/// How a key column's rows are read.
enum Reader<'a> {
    Bytes(Box<dyn Fn(usize) -> &'a [u8] + 'a>),
    Int(Box<dyn Fn(usize) -> i64 + 'a>),
}

impl KeyColumn {
    pub(crate) fn new(data_type: DataType) -> Self {
        KeyColumn {
            data_type,
            bytes: ByteIds::default(),
            ints: Map::default(),
            small: Vec::new(),
            null_id: None,
            next: 0,
            chunks: Vec::new(),
            last_dictionary: None,
        }
    }

    /// The number of distinct values (null included) seen so far.
    pub(crate) fn distinct(&self) -> usize {
        self.next as usize
    }

    /// Ids of `rows` of `array` (a batch's key column), interning new values.
    pub(crate) fn intern(&mut self, array: &ArrayRef, rows: &[u32]) -> Result<Vec<u32>> {
        if let DataType::Dictionary(k, _) = array.data_type() {
            macro_rules! dict {
                ($t:ty) => {
                    self.intern_dict::<$t>(array, rows)
                };
            }
            return downcast_integer! {
                k.as_ref() => (dict),
                other => Err(unsupported(other)),
            };
        }
        self.intern_plain(array, rows)
    }

    fn intern_dict<K: ArrowDictionaryKeyType>(
        &mut self,
        array: &ArrayRef,
        rows: &[u32],
    ) -> Result<Vec<u32>> {
        let dict: &DictionaryArray<K> = array.as_dictionary::<K>();
        let values = dict.values();
        let keys = dict.keys();
        let read = reader(values)?;
        // The dictionary's values, interned on first use (kept from the batch before when
        // its dictionary is this one).
        let mut remap = match self.last_dictionary.take() {
            // Same buffers (kept alive by `last`, so not reused for other values).
            Some((last, remap)) if last.to_data().ptr_eq(&values.to_data()) => remap,
            _ => vec![u32::MAX; values.len()],
        };
        let mut out = Vec::with_capacity(rows.len());
        let mut new_rows = Vec::new();
        for &r in rows {
            let r = r as usize;
            if dict.is_null(r) {
                out.push(self.null_id(array, r as u32, &mut new_rows));
                continue;
            }
            let k = arrow::datatypes::ArrowNativeType::as_usize(keys.values()[r]);
            if remap[k] == u32::MAX {
                let before = self.next;
                let id = self.lookup(&read, k);
                if id >= before {
                    new_rows.push(r as u32);
                }
                remap[k] = id;
            }
            out.push(remap[k]);
        }
        drop(read);
        self.keep(array, &new_rows)?;
        self.last_dictionary = Some((Arc::clone(values), remap));
        Ok(out)
    }

    fn null_id(&mut self, _array: &ArrayRef, row: u32, new_rows: &mut Vec<u32>) -> u32 {
        match self.null_id {
            Some(id) => id,
            None => {
                let id = self.next;
                self.next += 1;
                self.null_id = Some(id);
                new_rows.push(row);
                id
            }
        }
    }

    fn lookup(&mut self, reader: &Reader<'_>, i: usize) -> u32 {
        let next = &mut self.next;
        match reader {
            Reader::Bytes(f) => {
                let b = f(i);
                self.bytes.intern(b, || {
                    let id = *next;
                    *next += 1;
                    id
                })
            }
            Reader::Int(f) => *self.ints.entry(f(i)).or_insert_with(|| {
                let id = *next;
                *next += 1;
                id
            }),
        }
    }

    fn intern_plain(&mut self, array: &ArrayRef, rows: &[u32]) -> Result<Vec<u32>> {
        if let Some(bits) = small_int_bits(array) {
            return self.intern_small(array, &bits, rows);
        }
        let reader = reader(array)?;
        let mut out = Vec::with_capacity(rows.len());
        let mut new_rows = Vec::new();
        for &r in rows {
            let before = self.next;
            let id = if array.is_null(r as usize) {
                self.null_id(array, r, &mut new_rows)
            } else {
                let id = self.lookup(&reader, r as usize);
                if id >= before {
                    new_rows.push(r);
                }
                id
            };
            out.push(id);
        }
        drop(reader);
        self.keep(array, &new_rows)?;
        Ok(out)
    }

    /// Interns 8/16-bit integers through a table indexed by their bit pattern.
    fn intern_small(&mut self, array: &ArrayRef, bits: &[u16], rows: &[u32]) -> Result<Vec<u32>> {
        if self.small.is_empty() {
            self.small = vec![u32::MAX; 1 << 16];
        }
        let nulls = array.logical_nulls();
        let mut out = Vec::with_capacity(rows.len());
        let mut new_rows = Vec::new();
        for &r in rows {
            let i = r as usize;
            if nulls.as_ref().is_some_and(|nb| nb.is_null(i)) {
                out.push(self.null_id(array, r, &mut new_rows));
                continue;
            }
            let slot = &mut self.small[bits[i] as usize];
            if *slot == u32::MAX {
                *slot = self.next;
                self.next += 1;
                new_rows.push(r);
            }
            out.push(*slot);
        }
        self.keep(array, &new_rows)?;
        Ok(out)
    }

    /// Keeps the values at `rows` (new ids, in id order).
    fn keep(&mut self, array: &ArrayRef, rows: &[u32]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let idx = UInt32Array::from(rows.to_vec());
        let taken = arrow::compute::take(array.as_ref(), &idx, None)?;
        let taken = if taken.data_type() == &self.data_type {
            taken
        } else {
            arrow::compute::cast(&taken, &self.data_type)?
        };
        self.chunks.push(taken);
        Ok(())
    }

    /// The distinct values, indexed by id.
    pub(crate) fn values(&self) -> Result<ArrayRef> {
        if self.chunks.is_empty() {
            return Ok(new_empty_array(&self.data_type));
        }
        let parts: Vec<&dyn Array> = self.chunks.iter().map(|a| a.as_ref()).collect();
        Ok(arrow::compute::concat(&parts)?)
    }
}

/// The 16-bit patterns of an 8- or 16-bit integer column (`None` for other types).
fn small_int_bits(array: &ArrayRef) -> Option<Vec<u16>> {
    use arrow::datatypes::{Int8Type, Int16Type, UInt8Type, UInt16Type};
    let a = array.as_ref();
    Some(match a.data_type() {
        DataType::Int8 => a
            .as_primitive::<Int8Type>()
            .values()
            .iter()
            .map(|&v| v as u8 as u16)
            .collect(),
        DataType::UInt8 => a
            .as_primitive::<UInt8Type>()
            .values()
            .iter()
            .map(|&v| u16::from(v))
            .collect(),
        DataType::Int16 => a
            .as_primitive::<Int16Type>()
            .values()
            .iter()
            .map(|&v| v as u16)
            .collect(),
        DataType::UInt16 => a.as_primitive::<UInt16Type>().values().to_vec(),
        _ => return None,
    })
}

fn unsupported(t: &DataType) -> Error {
    Error::ColumnType {
        column: "group key".to_owned(),
        found: t.clone(),
        expected: "strings, binary, integers, booleans, floats, dates or timestamps (or a dictionary of them)",
    }
}

fn reader(array: &ArrayRef) -> Result<Reader<'_>> {
    use DataType::*;
    let a = array.as_ref();
    Ok(match a.data_type() {
        Utf8 => {
            let s = a.as_string::<i32>();
            Reader::Bytes(Box::new(move |i| s.value(i).as_bytes()))
        }
        LargeUtf8 => {
            let s = a.as_string::<i64>();
            Reader::Bytes(Box::new(move |i| s.value(i).as_bytes()))
        }
        Utf8View => {
            let s = a.as_string_view();
            Reader::Bytes(Box::new(move |i| s.value(i).as_bytes()))
        }
        Binary => {
            let s = a.as_binary::<i32>();
            Reader::Bytes(Box::new(move |i| s.value(i)))
        }
        LargeBinary => {
            let s = a.as_binary::<i64>();
            Reader::Bytes(Box::new(move |i| s.value(i)))
        }
        BinaryView => {
            let s = a.as_binary_view();
            Reader::Bytes(Box::new(move |i| s.value(i)))
        }
        Boolean => {
            let b = a.as_boolean();
            Reader::Int(Box::new(move |i| i64::from(b.value(i))))
        }
        Float16 | Float32 | Float64 => {
            // Keys compare floats by bits, after normalising -0 to +0 and every NaN to one,
            // as SQL's GROUP BY does.
            let f = arrow::compute::cast(a, &Float64)?;
            let owned: Vec<f64> = f
                .as_primitive::<arrow::datatypes::Float64Type>()
                .values()
                .to_vec();
            Reader::Int(Box::new(move |i| {
                let x = owned[i];
                if x.is_nan() {
                    i64::MIN
                } else if x == 0.0 {
                    0
                } else {
                    x.to_bits() as i64
                }
            }))
        }
        Int8
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
        | Duration(_) => {
            let as_i64 = arrow::compute::cast(a, &Int64)?;
            let owned: Vec<i64> = as_i64.as_primitive::<Int64Type>().values().to_vec();
            Reader::Int(Box::new(move |i| owned[i]))
        }
        other => return Err(unsupported(other)),
    })
}

/// Rows where a key column differs from the previous row (row 0 is not marked), for a
/// batch; dictionary columns compare their indices (a dictionary with repeated values only
/// makes extra runs, which the group lookup joins again).
pub(crate) fn changes(array: &ArrayRef) -> Result<BooleanBuffer> {
    let n = array.len();
    if n < 2 {
        return Ok(BooleanBuffer::new_unset(n));
    }
    let cmp_on: ArrayRef = match array.data_type() {
        DataType::Dictionary(_, _) => dictionary_keys(array),
        _ => Arc::clone(array),
    };
    let diff: BooleanArray =
        arrow::compute::kernels::cmp::distinct(&cmp_on.slice(1, n - 1), &cmp_on.slice(0, n - 1))?;
    let mut b = arrow::array::BooleanBufferBuilder::new(n);
    b.append(false);
    b.append_buffer(diff.values());
    Ok(b.finish())
}

fn dictionary_keys(array: &ArrayRef) -> ArrayRef {
    array
        .as_any_dictionary_opt()
        .map(|d| d.keys().slice(0, d.keys().len()))
        .map(|k| arrow::array::make_array(k.to_data()))
        .unwrap_or_else(|| Arc::clone(array))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::Int32Type;

    #[test]
    fn byte_entries_compare_their_bytes_when_hashes_collide() {
        let mut data = Vec::new();
        let hash = 42;
        let short = ByteEntry::new(hash, b"C00867509", &mut data);
        let long = ByteEntry::new(hash, b"WM-09-STD-SLV-SMT", &mut data);
        assert!(short.equals(hash, b"C00867509", &data));
        assert!(!short.equals(hash, b"C00867508", &data));
        assert!(!short.equals(7, b"C00867509", &data));
        assert!(long.equals(hash, b"WM-09-STD-SLV-SMT", &data));
        // Same hash, length and first 4 bytes: only the bytes kept apart tell them apart.
        assert!(!long.equals(hash, b"WM-09-STD-SLV-SMX", &data));
        assert!(!long.equals(hash, b"WM-09-STD-SLV-SM", &data));
    }

    #[test]
    fn byte_ids_tell_apart_empty_and_prefix_strings_across_growth() {
        let mut ids = ByteIds::default();
        let mut next = 0u32;
        let mut new_id = || {
            next += 1;
            next - 1
        };
        // "", "a", "aa", … and "0", "1", …: prefixes of each other, inline and not, and
        // enough of them for the table to grow many times.
        let values: Vec<Vec<u8>> = (0..300)
            .map(|n| vec![b'a'; n])
            // Longer than the inline part, equal in their first 4 bytes and length.
            .chain((0..300).map(|n: u32| format!("long{n:>20}").into_bytes()))
            .chain((0..20_000).map(|n: u32| n.to_string().into_bytes()))
            .collect();
        let first: Vec<u32> = values.iter().map(|v| ids.intern(v, &mut new_id)).collect();
        assert_eq!(first, (0..values.len() as u32).collect::<Vec<_>>());
        // Seen again, in reverse: the same ids, no new ones.
        for (v, &id) in values.iter().zip(&first).rev() {
            assert_eq!(ids.intern(v, || unreachable!("{v:?} is known")), id);
        }
    }

    #[test]
    fn dictionary_and_plain_strings_share_ids() -> Result<()> {
        let mut col = KeyColumn::new(DataType::Utf8);
        let plain: ArrayRef = Arc::new(StringArray::from(vec![
            Some("b"),
            Some("a"),
            None,
            Some("b"),
        ]));
        assert_eq!(col.intern(&plain, &[0, 1, 2, 3])?, vec![0, 1, 2, 0]);
        let dict: ArrayRef = Arc::new(DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(vec![Some(1), Some(0), None, Some(2)]),
            Arc::new(StringArray::from(vec!["a", "b", "c"])),
        )?);
        assert_eq!(col.intern(&dict, &[0, 1, 2, 3])?, vec![0, 1, 2, 3]);
        let values = col.values()?;
        let s = values.as_string::<i32>();
        assert_eq!(
            (0..s.len())
                .map(|i| s.is_valid(i).then(|| s.value(i)))
                .collect::<Vec<_>>(),
            vec![Some("b"), Some("a"), None, Some("c")]
        );
        Ok(())
    }

    #[test]
    fn batches_of_one_dictionary_reuse_its_ids_and_another_dictionary_does_not() -> Result<()> {
        let values: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "z", "w"]));
        let batch = |keys: Vec<Option<i32>>, values: &ArrayRef| -> Result<ArrayRef> {
            Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(
                Int32Array::from(keys),
                Arc::clone(values),
            )?))
        };
        let text = |col: &KeyColumn, ids: &[u32]| -> Result<Vec<Option<String>>> {
            let v = col.values()?;
            let s = v.as_string::<i32>();
            Ok(ids
                .iter()
                .map(|&i| {
                    s.is_valid(i as usize)
                        .then(|| s.value(i as usize).to_owned())
                })
                .collect())
        };
        let mut col = KeyColumn::new(DataType::Utf8);
        let first = batch(vec![Some(2), Some(0)], &values)?;
        let a = col.intern(&first, &[0, 1])?;
        // The same values again (a later batch of the column chunk), with a value not seen
        // yet and a null.
        let second = batch(vec![Some(0), Some(3), None, Some(2), Some(1)], &values)?;
        let b = col.intern(&second, &[0, 1, 2, 3, 4])?;
        assert_eq!(b[0], a[1]);
        assert_eq!(b[3], a[0]);
        // Another dictionary of the same length in another order, and a slice of the first
        // one's values (same buffers, other offset): neither may reuse the ids by position.
        let other: ArrayRef = Arc::new(StringArray::from(vec!["w", "z", "v", "x"]));
        let third = batch(vec![Some(0), Some(1), Some(2), Some(3)], &other)?;
        let c = col.intern(&third, &[0, 1, 2, 3])?;
        let sliced = values.slice(1, 3);
        let fourth = batch(vec![Some(0), Some(1), Some(2)], &sliced)?;
        let d = col.intern(&fourth, &[0, 1, 2])?;
        let owned = |v: &[Option<&str>]| v.iter().map(|s| s.map(str::to_owned)).collect::<Vec<_>>();
        assert_eq!(text(&col, &a)?, owned(&[Some("z"), Some("x")]));
        assert_eq!(
            text(&col, &b)?,
            owned(&[Some("x"), Some("w"), None, Some("z"), Some("y")])
        );
        assert_eq!(
            text(&col, &c)?,
            owned(&[Some("w"), Some("z"), Some("v"), Some("x")])
        );
        assert_eq!(text(&col, &d)?, owned(&[Some("y"), Some("z"), Some("w")]));
        assert_eq!(c[0], b[1]);
        Ok(())
    }

    #[test]
    fn changes_mark_the_first_row_of_each_run() -> Result<()> {
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some("a"),
            None,
            None,
            Some("b"),
        ]));
        let c = changes(&a)?;
        assert_eq!(
            c.iter().collect::<Vec<_>>(),
            vec![false, false, true, false, true]
        );
        Ok(())
    }
}
