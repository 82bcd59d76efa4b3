//! `approx_quantile(value, q)`: a quantile from a mergeable sketch (DuckDB's name).
//!
//! ```sql
//! SELECT machine_id, approx_quantile(value, 0.95) FROM sensor_readings GROUP BY machine_id;
//! ```
//!
//! Backed by [`fabrik_kernels::QuantileSketch`] with relative accuracy
//! [`fabrik_kernels::sketch::DEFAULT_ALPHA`] (1 %):
//!
//! - groups of at most [`fabrik_kernels::sketch::EXACT_LIMIT`] (1024) values get the exact
//!   answer, bit for bit DataFusion's `percentile_cont(q) WITHIN GROUP (ORDER BY value)`;
//! - larger groups get `|result − percentile_cont| ≤ 0.01·((1−w)·|x_r| + w·|x_{r+1}|)`,
//!   where `x_r ≤ x_{r+1}` are the order statistics `percentile_cont` interpolates between
//!   with weight `w`: within 1 % of the exact answer when they have the same sign. The
//!   precise statement is on [`fabrik_kernels::QuantileSketch`].
//!
//! `value` is any numeric type, read as `Float64`; the result is `Float64`. Nulls and NaN
//! are skipped (DataFusion's `percentile_cont` counts NaN as a value above `+∞`); a group
//! with no other value gives null. `q` must be a constant in `[0, 1]`. The intermediate
//! state is the sketch's bytes ([`fabrik_kernels::QuantileSketch::to_bytes`]), so partial
//! aggregates merge across partitions and machines.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BooleanArray, Float64Array, RecordBatch,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Schema};
use datafusion::common::types::{NativeType, logical_float64};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Coercion, ColumnarValue, EmitTo, GroupsAccumulator, Signature,
    TypeSignatureClass, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use fabrik_kernels::QuantileSketch;

/// The `approx_quantile` aggregate function (see the [module docs](self)).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ApproxQuantile {
    signature: Signature,
}

impl Default for ApproxQuantile {
    fn default() -> Self {
        Self::new()
    }
}

impl ApproxQuantile {
    /// The function, ready to register as `approx_quantile`.
    pub fn new() -> Self {
        let float = || {
            Coercion::new_implicit(
                TypeSignatureClass::Native(logical_float64()),
                vec![TypeSignatureClass::Numeric],
                NativeType::Float64,
            )
        };
        ApproxQuantile {
            signature: Signature::coercible(vec![float(), float()], Volatility::Immutable),
        }
    }
}

fn external(e: fabrik_kernels::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The constant `q` of a call, checked to lie in `[0, 1]`.
fn quantile_arg(expr: &Arc<dyn PhysicalExpr>) -> DfResult<f64> {
    const USAGE: &str = "use approx_quantile(value, 0.95)";
    let batch = RecordBatch::new_empty(Arc::new(Schema::empty()));
    let q = match expr.evaluate(&batch) {
        Ok(ColumnarValue::Scalar(ScalarValue::Float64(Some(q)))) => q,
        Ok(ColumnarValue::Scalar(s)) if s.is_null() => {
            return plan_err!("approx_quantile: q must not be null; {USAGE}");
        }
        _ => return plan_err!("approx_quantile: q must be a constant number; {USAGE}"),
    };
    if !(0.0..=1.0).contains(&q) {
        return plan_err!("approx_quantile: q must be in [0, 1], got {q}; {USAGE}");
    }
    Ok(q)
}

impl AggregateUDFImpl for ApproxQuantile {
    fn name(&self) -> &str {
        "approx_quantile"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Float64)
    }

    fn is_nullable(&self) -> bool {
        true
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "sketch"),
            DataType::Binary,
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(RowQuantile {
            q: quantile_arg(&args.exprs[1])?,
            sketch: QuantileSketch::default(),
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupsQuantile {
            q: quantile_arg(&args.exprs[1])?,
            sketches: Vec::new(),
            bytes: 0,
        }))
    }
}

/// One sketch per group.
#[derive(Debug)]
struct GroupsQuantile {
    q: f64,
    sketches: Vec<QuantileSketch>,
    /// The sketches' heap and inline bytes, kept up to date (so `size` is O(1)).
    bytes: usize,
}

impl GroupsQuantile {
    fn resize(&mut self, groups: usize) {
        if groups > self.sketches.len() {
            let empty = QuantileSketch::default();
            self.bytes += (groups - self.sketches.len()) * empty.size();
            self.sketches.resize(groups, empty);
        }
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<QuantileSketch> {
        let taken = emit_to.take_needed(&mut self.sketches);
        self.bytes = self
            .bytes
            .saturating_sub(taken.iter().map(QuantileSketch::size).sum());
        taken
    }
}

/// Decodes a state row.
fn decode(bytes: &[u8]) -> DfResult<QuantileSketch> {
    QuantileSketch::from_bytes(bytes).map_err(external)
}

impl GroupsAccumulator for GroupsQuantile {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.resize(total_num_groups);
        let v = values[0].as_primitive::<Float64Type>();
        let raw = v.values();
        let nulls = v.nulls();
        for (row, &g) in group_indices.iter().enumerate() {
            if nulls.is_some_and(|n| n.is_null(row))
                || opt_filter.is_some_and(|f| !(f.is_valid(row) && f.value(row)))
            {
                continue;
            }
            let s = &mut self.sketches[g];
            let before = s.size();
            s.insert(raw[row]);
            self.bytes = (self.bytes + s.size()).saturating_sub(before);
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let q = self.q;
        let out = self
            .take(emit_to)
            .iter()
            .map(|s| s.quantile(q).map_err(external))
            .collect::<DfResult<Float64Array>>()?;
        Ok(Arc::new(out))
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let taken = self.take(emit_to);
        let mut out = BinaryBuilder::with_capacity(taken.len(), taken.len() * 24);
        let mut buf = Vec::new();
        for s in &taken {
            buf.clear();
            s.write(&mut buf);
            out.append_value(&buf);
        }
        Ok(vec![Arc::new(out.finish())])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.resize(total_num_groups);
        let states = values[0].as_binary::<i32>();
        for (row, &g) in group_indices.iter().enumerate() {
            if states.is_null(row) {
                continue;
            }
            let other = decode(states.value(row))?;
            let s = &mut self.sketches[g];
            let before = s.size();
            s.merge(&other).map_err(external)?;
            self.bytes = (self.bytes + s.size()).saturating_sub(before);
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let v = values[0].as_primitive::<Float64Type>();
        let mut out = BinaryBuilder::with_capacity(v.len(), v.len() * 24);
        let mut buf = Vec::new();
        for row in 0..v.len() {
            let mut s = QuantileSketch::default();
            if v.is_valid(row) && opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row)) {
                s.insert(v.value(row));
            }
            buf.clear();
            s.write(&mut buf);
            out.append_value(&buf);
        }
        let out: BinaryArray = out.finish();
        Ok(vec![Arc::new(out)])
    }

    fn size(&self) -> usize {
        self.bytes + self.sketches.capacity() * size_of::<QuantileSketch>()
    }
}

/// The row accumulator (for paths that need one, e.g. window frames without retraction).
#[derive(Debug)]
struct RowQuantile {
    q: f64,
    sketch: QuantileSketch,
}

impl Accumulator for RowQuantile {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let v = values[0].as_primitive::<Float64Type>();
        if v.null_count() == 0 {
            self.sketch.insert_slice(v.values());
        } else {
            v.iter().flatten().for_each(|x| self.sketch.insert(x));
        }
        Ok(())
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Float64(
            self.sketch.quantile(self.q).map_err(external)?,
        ))
    }

    fn size(&self) -> usize {
        self.sketch.size() + size_of::<f64>()
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Binary(Some(self.sketch.to_bytes()))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let states = states[0].as_binary::<i32>();
        for bytes in states.iter().flatten() {
            self.sketch.merge(&decode(bytes)?).map_err(external)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_state_round_trips_and_garbage_is_an_error() -> DfResult<()> {
        let values: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            None,
            Some(3.0),
            Some(f64::NAN),
            Some(2.0),
        ]));
        let mut a = GroupsQuantile {
            q: 0.5,
            sketches: Vec::new(),
            bytes: 0,
        };
        a.update_batch(&[Arc::clone(&values)], &[0, 0, 0, 1, 1], None, 3)?;
        assert!(a.size() > 0);
        let state = a.state(EmitTo::All)?;
        let mut b = GroupsQuantile {
            q: 0.5,
            sketches: Vec::new(),
            bytes: 0,
        };
        b.merge_batch(&state, &[0, 1, 2], 3)?;
        let converted = b.convert_to_state(&[values], None)?;
        b.merge_batch(&converted, &[2, 2, 2, 2, 2], 3)?;
        let out = b.evaluate(EmitTo::All)?;
        let out: Vec<Option<f64>> = out.as_primitive::<Float64Type>().iter().collect();
        // Group 0: {1, 3} → 2; group 1: {2} (NaN skipped); group 2: {1, 3, 2} → 2.
        assert_eq!(out, [Some(2.0), Some(2.0), Some(2.0)]);
        let garbage: ArrayRef = Arc::new(BinaryArray::from(vec![b"Q\x01nonsense".as_ref()]));
        let err = b.merge_batch(&[garbage], &[0], 1).expect_err("garbage");
        assert!(err.to_string().contains("sketch"), "{err}");
        Ok(())
    }
}
