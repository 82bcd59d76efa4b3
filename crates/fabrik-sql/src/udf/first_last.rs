//! `first(value, ts)` and `last(value, ts)`: TimescaleDB's aggregates.
//!
//! `first` is the value at the smallest `ts` of the group, `last` the value at the largest.
//! Rows whose `ts` is null are ignored; a null *value* at the extreme `ts` is the answer
//! (null), as in TimescaleDB. Ties: `first` keeps the earliest row seen at the smallest
//! `ts`, `last` the latest row seen at the largest (with several partitions, "seen" is the
//! order in which partial results merge, so ties are not deterministic then). A group with
//! no row of non-null `ts` gives null.
//!
//! `ts` may be a timestamp (any unit, compared as stored), a date or an integer. The value
//! may be of any type; primitive ones (integers, floats, decimals, dates, timestamps, …)
//! run on DataFusion's vectorized `GroupsAccumulator` path, others (strings, lists, …) on a
//! row accumulator. The intermediate state is `(value, ts as Int64, is_set)`.
//!
//! Unlike `first_value(v ORDER BY ts)`, no sort is needed: each group keeps one value and
//! one timestamp.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BooleanArray, Int64Array, PrimitiveArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Field, FieldRef, Float32Type, Float64Type,
    Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use datafusion::common::{Result as DfResult, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

/// Which extreme an aggregate takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Which {
    /// The value at the smallest `ts` (`first`).
    First,
    /// The value at the largest `ts` (`last`).
    Last,
}

impl Which {
    /// Whether a row at `ts` replaces the current pick at `best`.
    #[inline]
    fn beats(self, ts: i64, best: i64) -> bool {
        match self {
            Which::First => ts < best,
            Which::Last => ts >= best,
        }
    }
}

/// The `first` or `last` aggregate function (see the [module docs](self)).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FirstLast {
    which: Which,
    signature: Signature,
}

impl FirstLast {
    /// `first` or `last`, ready to register.
    pub fn new(which: Which) -> Self {
        FirstLast {
            which,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Casts a `ts` argument to `Int64` (timestamps and dates keep their stored value).
fn ts_as_i64(ts: &ArrayRef) -> DfResult<Int64Array> {
    let ts = match ts.data_type() {
        DataType::Int64 => Arc::clone(ts),
        _ => cast(ts, &DataType::Int64)?,
    };
    Ok(ts.as_primitive::<Int64Type>().clone())
}

/// Calls `$body` with `$t` bound to the Arrow primitive type of `$dt`, or evaluates
/// `$other` when the type is not primitive.
macro_rules! with_primitive {
    ($dt:expr, $t:ident => $body:expr, _ => $other:expr) => {
        match $dt {
            DataType::Int8 => {
                type $t = Int8Type;
                $body
            }
            DataType::Int16 => {
                type $t = Int16Type;
                $body
            }
            DataType::Int32 => {
                type $t = Int32Type;
                $body
            }
            DataType::Int64 => {
                type $t = Int64Type;
                $body
            }
            DataType::UInt8 => {
                type $t = UInt8Type;
                $body
            }
            DataType::UInt16 => {
                type $t = UInt16Type;
                $body
            }
            DataType::UInt32 => {
                type $t = UInt32Type;
                $body
            }
            DataType::UInt64 => {
                type $t = UInt64Type;
                $body
            }
            DataType::Float32 => {
                type $t = Float32Type;
                $body
            }
            DataType::Float64 => {
                type $t = Float64Type;
                $body
            }
            DataType::Decimal128(..) => {
                type $t = Decimal128Type;
                $body
            }
            DataType::Date32 => {
                type $t = Date32Type;
                $body
            }
            DataType::Date64 => {
                type $t = Date64Type;
                $body
            }
            DataType::Timestamp(TimeUnit::Second, _) => {
                type $t = TimestampSecondType;
                $body
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                type $t = TimestampMillisecondType;
                $body
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                type $t = TimestampMicrosecondType;
                $body
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                type $t = TimestampNanosecondType;
                $body
            }
            _ => $other,
        }
    };
}

/// Whether `with_primitive!` has a vectorized path for `dt`.
fn is_primitive(dt: &DataType) -> bool {
    dt.is_integer()
        || matches!(
            dt,
            DataType::Float32
                | DataType::Float64
                | DataType::Decimal128(..)
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(..)
        )
}

impl AggregateUDFImpl for FirstLast {
    fn name(&self) -> &str {
        match self.which {
            Which::First => "first",
            Which::Last => "last",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        let [value, ts] = arg_types else {
            return plan_err!(
                "{}(value, ts) takes 2 arguments, got {}",
                self.name(),
                arg_types.len()
            );
        };
        let ts = match ts {
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 | DataType::Int64 => {
                ts.clone()
            }
            t if t.is_integer() => DataType::Int64,
            DataType::Null => DataType::Int64,
            t => {
                return plan_err!(
                    "{}(value, ts): ts must be a timestamp, a date or an integer, got {t}",
                    self.name()
                );
            }
        };
        Ok(vec![value.clone(), ts])
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        match arg_types.first() {
            Some(t) => Ok(t.clone()),
            None => plan_err!("{}(value, ts) takes 2 arguments", self.name()),
        }
    }

    fn is_nullable(&self) -> bool {
        true
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        let value_type = args.return_field.data_type().clone();
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "value"),
                value_type,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "ts"),
                DataType::Int64,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "is_set"),
                DataType::Boolean,
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(RowFirstLast::new(
            self.which,
            args.return_field.data_type(),
        )?))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        is_primitive(args.return_field.data_type())
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        let dt = args.return_field.data_type().clone();
        let which = self.which;
        with_primitive!(&dt, T => Ok(Box::new(PrimitiveFirstLast::<T>::new(which, dt.clone()))),
            _ => exec_err!("{}: no vectorized path for {dt}", self.name()))
    }
}

/// The vectorized accumulator for primitive values: one value, validity, ts and set flag
/// per group.
#[derive(Debug)]
struct PrimitiveFirstLast<T: ArrowPrimitiveType> {
    which: Which,
    data_type: DataType,
    values: Vec<T::Native>,
    /// Whether the picked value is non-null.
    valid: Vec<bool>,
    ts: Vec<i64>,
    set: Vec<bool>,
}

impl<T: ArrowPrimitiveType> PrimitiveFirstLast<T> {
    fn new(which: Which, data_type: DataType) -> Self {
        PrimitiveFirstLast {
            which,
            data_type,
            values: Vec::new(),
            valid: Vec::new(),
            ts: Vec::new(),
            set: Vec::new(),
        }
    }

    fn resize(&mut self, groups: usize) {
        self.values.resize(groups, T::Native::default());
        self.valid.resize(groups, false);
        self.ts.resize(groups, 0);
        self.set.resize(groups, false);
    }

    /// Folds rows into their groups; `take(row)` says whether a row counts.
    fn fold(
        &mut self,
        values: &PrimitiveArray<T>,
        ts: &Int64Array,
        group_indices: &[usize],
        take: impl Fn(usize) -> bool,
    ) {
        let which = self.which;
        let raw = values.values();
        let ts_raw = ts.values();
        for (row, &g) in group_indices.iter().enumerate() {
            if ts.is_null(row) || !take(row) {
                continue;
            }
            let t = ts_raw[row];
            if !self.set[g] || which.beats(t, self.ts[g]) {
                self.set[g] = true;
                self.ts[g] = t;
                self.values[g] = raw[row];
                self.valid[g] = values.is_valid(row);
            }
        }
    }

    /// The picked values of the emitted groups, null where unset or null.
    fn take_values(&mut self, emit_to: EmitTo) -> (PrimitiveArray<T>, Vec<i64>, Vec<bool>) {
        let values = emit_to.take_needed(&mut self.values);
        let valid = emit_to.take_needed(&mut self.valid);
        let ts = emit_to.take_needed(&mut self.ts);
        let set = emit_to.take_needed(&mut self.set);
        let nulls = NullBuffer::from_iter(valid.iter().zip(&set).map(|(&v, &s)| v && s));
        let array = PrimitiveArray::<T>::new(values.into(), Some(nulls))
            .with_data_type(self.data_type.clone());
        (array, ts, set)
    }
}

impl<T: ArrowPrimitiveType + Send> GroupsAccumulator for PrimitiveFirstLast<T> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.resize(total_num_groups);
        let v = values[0].as_primitive::<T>();
        let ts = ts_as_i64(&values[1])?;
        match opt_filter {
            None => self.fold(v, &ts, group_indices, |_| true),
            Some(f) => self.fold(v, &ts, group_indices, |row| f.is_valid(row) && f.value(row)),
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        Ok(Arc::new(self.take_values(emit_to).0))
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let (values, ts, set) = self.take_values(emit_to);
        let ts = Int64Array::new(ts.into(), Some(NullBuffer::from(set.clone())));
        Ok(vec![
            Arc::new(values),
            Arc::new(ts),
            Arc::new(BooleanArray::from(set)),
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.resize(total_num_groups);
        let v = values[0].as_primitive::<T>();
        let ts = values[1].as_primitive::<Int64Type>();
        let set = values[2].as_boolean();
        self.fold(v, ts, group_indices, |row| {
            set.is_valid(row) && set.value(row)
        });
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        convert_to_state(values, opt_filter)
    }

    fn size(&self) -> usize {
        self.values.capacity() * size_of::<T::Native>()
            + self.ts.capacity() * 8
            + self.valid.capacity()
            + self.set.capacity()
    }
}

/// Each row as its own group's state: `(value, ts, ts is not null and the row passes)`.
fn convert_to_state(
    values: &[ArrayRef],
    opt_filter: Option<&BooleanArray>,
) -> DfResult<Vec<ArrayRef>> {
    let ts = ts_as_i64(&values[1])?;
    let set: BooleanArray = (0..ts.len())
        .map(|row| {
            Some(ts.is_valid(row) && opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row)))
        })
        .collect();
    Ok(vec![Arc::clone(&values[0]), Arc::new(ts), Arc::new(set)])
}

/// The row accumulator for any value type (and for DataFusion paths that need one).
#[derive(Debug)]
struct RowFirstLast {
    which: Which,
    value: ScalarValue,
    ts: Option<i64>,
}

impl RowFirstLast {
    fn new(which: Which, data_type: &DataType) -> DfResult<Self> {
        Ok(RowFirstLast {
            which,
            value: ScalarValue::try_from(data_type)?,
            ts: None,
        })
    }

    /// Takes the best row of `value`/`ts` among those `take(row)` admits.
    fn fold(
        &mut self,
        value: &ArrayRef,
        ts: &Int64Array,
        take: impl Fn(usize) -> bool,
    ) -> DfResult<()> {
        let mut best: Option<(usize, i64)> = None;
        for row in 0..ts.len() {
            if ts.is_null(row) || !take(row) {
                continue;
            }
            let t = ts.value(row);
            let current = best.map(|(_, b)| b).or(self.ts);
            if current.is_none_or(|b| self.which.beats(t, b)) {
                best = Some((row, t));
            }
        }
        if let Some((row, t)) = best {
            self.value = ScalarValue::try_from_array(value, row)?;
            self.ts = Some(t);
        }
        Ok(())
    }
}

impl Accumulator for RowFirstLast {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let ts = ts_as_i64(&values[1])?;
        self.fold(&values[0], &ts, |_| true)
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(self.value.clone())
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.value.size() - size_of_val(&self.value)
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![
            self.value.clone(),
            ScalarValue::Int64(self.ts),
            ScalarValue::Boolean(Some(self.ts.is_some())),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let ts = states[1].as_primitive::<Int64Type>().clone();
        let set = states[2].as_boolean();
        self.fold(&states[0], &ts, |row| set.is_valid(row) && set.value(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, StringArray};

    fn f64s(a: &ArrayRef) -> Vec<Option<f64>> {
        a.as_primitive::<Float64Type>().iter().collect()
    }

    #[test]
    fn groups_accumulator_picks_extremes_and_keeps_null_values() -> DfResult<()> {
        let v: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            None,
            Some(3.0),
            Some(4.0),
            Some(5.0),
            Some(6.0),
        ]));
        let ts: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(10),
            Some(5),
            None,
            Some(10),
            Some(7),
            Some(7),
        ]));
        let groups = [0, 0, 0, 1, 1, 1];
        let mut first = PrimitiveFirstLast::<Float64Type>::new(Which::First, DataType::Float64);
        let mut last = PrimitiveFirstLast::<Float64Type>::new(Which::Last, DataType::Float64);
        for acc in [&mut first, &mut last] {
            acc.update_batch(&[Arc::clone(&v), Arc::clone(&ts)], &groups, None, 3)?;
        }
        // Group 0: first at ts 5 is a null value; last at ts 10 is 1. Group 1: ties at ts 7
        // (first keeps the earliest row, 5.0); group 2 has no row.
        assert_eq!(f64s(&first.evaluate(EmitTo::All)?), [None, Some(5.0), None]);
        assert_eq!(
            f64s(&last.evaluate(EmitTo::All)?),
            [Some(1.0), Some(4.0), None]
        );
        Ok(())
    }

    #[test]
    fn state_merges_and_emit_first_shifts_groups() -> DfResult<()> {
        let v: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0]));
        let ts: ArrayRef = Arc::new(Int64Array::from(vec![4, 3, 2, 1]));
        let mut a = PrimitiveFirstLast::<Float64Type>::new(Which::First, DataType::Float64);
        a.update_batch(&[Arc::clone(&v), Arc::clone(&ts)], &[0, 0, 1, 1], None, 2)?;
        let state = a.state(EmitTo::All)?;
        let mut b = PrimitiveFirstLast::<Float64Type>::new(Which::First, DataType::Float64);
        // Another partial: group 1 has an earlier row; filtered rows are ignored.
        let filter = BooleanArray::from(vec![true, false]);
        let v2: ArrayRef = Arc::new(Float64Array::from(vec![9.0, 8.0]));
        let ts2: ArrayRef = Arc::new(Int64Array::from(vec![0, -5]));
        b.update_batch(&[v2, ts2], &[1, 0], Some(&filter), 2)?;
        b.merge_batch(&state, &[0, 1], 2)?;
        let converted = b.convert_to_state(&[Arc::clone(&v), Arc::clone(&ts)], None)?;
        b.merge_batch(&converted, &[0, 0, 0, 0], 2)?;
        assert_eq!(f64s(&b.evaluate(EmitTo::First(1))?), [Some(4.0)]);
        assert_eq!(f64s(&b.evaluate(EmitTo::All)?), [Some(9.0)]);
        Ok(())
    }

    #[test]
    fn row_accumulator_handles_strings() -> DfResult<()> {
        let mut acc = RowFirstLast::new(Which::Last, &DataType::Utf8)?;
        let v: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), Some("b"), None]));
        let ts: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(3), None]));
        acc.update_batch(&[v, ts])?;
        let state: Vec<ArrayRef> = acc
            .state()?
            .iter()
            .map(|s| s.to_array())
            .collect::<DfResult<_>>()?;
        let mut other = RowFirstLast::new(Which::Last, &DataType::Utf8)?;
        let v: ArrayRef = Arc::new(StringArray::from(vec![Some("c")]));
        let ts: ArrayRef = Arc::new(Int64Array::from(vec![2]));
        other.update_batch(&[v, ts])?;
        other.merge_batch(&state)?;
        assert_eq!(other.evaluate()?, ScalarValue::Utf8(Some("b".into())));
        Ok(())
    }
}
