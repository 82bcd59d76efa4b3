//! Process capability per group as SQL aggregates, backed by
//! [`fabrik_kernels::spc::Summary::capability`]: `spc_cp`, `spc_cpk`, `spc_pp`, `spc_ppk`
//! and `spc_capability` (all four and the sigmas, as one struct).
//!
//! ```sql
//! -- Against each metric's operating limits (the session's `operating_limits` table); any
//! -- table of LSL / USL per sensor or metric joins the same way.
//! SELECT r.sensor_id,
//!        spc_cp(r.value, o.low, o.high ORDER BY r.ts)  AS cp,
//!        spc_cpk(r.value, o.low, o.high ORDER BY r.ts) AS cpk,
//!        spc_pp(r.value, o.low, o.high)                AS pp,
//!        spc_ppk(r.value, o.low, o.high)               AS ppk
//! FROM sensor_readings r JOIN operating_limits o USING (metric)
//! GROUP BY r.sensor_id;
//!
//! SELECT sensor_id, spc_capability(value, 4.0, NULL ORDER BY ts).cpk   -- USL only
//! FROM sensor_readings GROUP BY sensor_id;
//! ```
//!
//! # Definitions
//!
//! With `μ` the mean of the group's readings (Montgomery, *Introduction to Statistical
//! Quality Control*, ch. 8; see [`Capability`]):
//!
//! | function | result |
//! |---|---|
//! | `spc_cp(value, lsl, usl ORDER BY ts)` | `(USL − LSL) / 6σ_within`; null unless both limits are given |
//! | `spc_cpk(value, lsl, usl ORDER BY ts)` | `min(USL − μ, μ − LSL) / 3σ_within`; one-sided with one limit |
//! | `spc_pp(value, lsl, usl)` | `(USL − LSL) / 6σ_overall`; null unless both limits are given |
//! | `spc_ppk(value, lsl, usl)` | `min(USL − μ, μ − LSL) / 3σ_overall`; one-sided with one limit |
//! | `spc_capability(value, lsl, usl ORDER BY ts)` | struct `{n, mean, sigma_within, sigma_overall, cp, cpk, pp, ppk}` |
//!
//! - `σ_within` is the short-term sigma of an individuals chart, the average moving range
//!   of consecutive readings over `d₂ = 1.128`. It depends on the order of the readings,
//!   so `spc_cp`, `spc_cpk` and `spc_capability` need `ORDER BY` inside the call, on one
//!   timestamp, date or integer expression (its direction does not matter: a moving range
//!   reads the same both ways); without it the query fails while planning
//!   ([`Error::AggregateOrderBy`]). Ties of the key are broken by the value, so the
//!   result does not depend on the order rows arrive in.
//! - `σ_overall` is the sample standard deviation (`n − 1`): `spc_pp` and `spc_ppk` need
//!   no order (an `ORDER BY` is accepted and changes nothing).
//! - `value` is numeric (read as Float64); null and NaN readings are skipped, as are rows
//!   whose `ORDER BY` key is null.
//! - `lsl` and `usl` are numbers (constants or columns) and must be the same on every
//!   counted row of a group ([`Error::SpecLimitsVary`] otherwise); a NULL limit is
//!   absent, which makes Cpk / Ppk one-sided (CPU or CPL) and Cp / Pp null. Limits that
//!   are not finite, or `lsl >= usl`, fail the query ([`Error::SpecLimits`]).
//! - The result is null for a group with no limit at all, fewer than two readings, or a
//!   sigma that is zero or not finite (constant readings, an infinite reading).
//!
//! # Execution
//!
//! Partial results merge across partitions and machines. DataFusion sorts each partition
//! separately and merges partial results in any order, so the partitions' readings of one
//! group interleave in time and the moving range between neighbours from different
//! partitions is only known once they are merged: merging per-partition
//! [`Summary`] values (whose [`Summary::merge`] assumes the second part follows the first
//! in time) would be wrong. The state therefore keeps each counted reading with its
//! `ORDER BY` key (16 bytes a reading, like `array_agg(value ORDER BY ts)`), sorted once
//! when the result is computed; the aggregates run on DataFusion's vectorized
//! `GroupsAccumulator` path, and on a row accumulator without `GROUP BY`.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Float64Builder, Int64Array, Int64Builder,
    ListArray, ListBuilder, StructArray, UInt64Array,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, Int64Type};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use fabrik_kernels::spc::{Capability, SpecLimits, Summary};

use crate::error::Error;

/// `spc_cp(value, lsl, usl ORDER BY ts)`: Cp per group.
pub const SPC_CP: &str = "spc_cp";
/// `spc_cpk(value, lsl, usl ORDER BY ts)`: Cpk per group.
pub const SPC_CPK: &str = "spc_cpk";
/// `spc_pp(value, lsl, usl)`: Pp per group.
pub const SPC_PP: &str = "spc_pp";
/// `spc_ppk(value, lsl, usl)`: Ppk per group.
pub const SPC_PPK: &str = "spc_ppk";
/// `spc_capability(value, lsl, usl ORDER BY ts)`: the whole capability study per group.
pub const SPC_CAPABILITY: &str = "spc_capability";

/// Which capability figure an aggregate returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// Cp, from the within sigma.
    Cp,
    /// Cpk, from the within sigma.
    Cpk,
    /// Pp, from the overall sigma.
    Pp,
    /// Ppk, from the overall sigma.
    Ppk,
    /// Everything, as a struct (see [`capability_fields`]).
    All,
}

impl Index {
    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Index::Cp => SPC_CP,
            Index::Cpk => SPC_CPK,
            Index::Pp => SPC_PP,
            Index::Ppk => SPC_PPK,
            Index::All => SPC_CAPABILITY,
        }
    }

    /// Whether the figure needs the readings' order (the within sigma).
    pub fn needs_order(self) -> bool {
        matches!(self, Index::Cp | Index::Cpk | Index::All)
    }

    fn usage(self) -> &'static str {
        match self {
            Index::Cp => "spc_cp(value, lsl, usl ORDER BY ts)",
            Index::Cpk => "spc_cpk(value, lsl, usl ORDER BY ts)",
            Index::Pp => "spc_pp(value, lsl, usl)",
            Index::Ppk => "spc_ppk(value, lsl, usl)",
            Index::All => "spc_capability(value, lsl, usl ORDER BY ts)",
        }
    }
}

/// The fields of `spc_capability`'s struct: `n` (UInt64, the readings counted), then
/// `mean`, `sigma_within`, `sigma_overall`, `cp`, `cpk`, `pp`, `ppk` (Float64 each; `cp`
/// and `pp` null with one limit).
pub fn capability_fields() -> Fields {
    let mut fields = vec![Field::new("n", DataType::UInt64, false)];
    fields.extend(
        [
            "mean",
            "sigma_within",
            "sigma_overall",
            "cp",
            "cpk",
            "pp",
            "ppk",
        ]
        .map(|n| Field::new(n, DataType::Float64, true)),
    );
    Fields::from(fields)
}

/// Registers the aggregates of this module in `ctx`.
pub fn register(ctx: &SessionContext) {
    for f in functions() {
        ctx.register_udaf(f);
    }
}

/// The aggregates of this module, one [`AggregateUDF`] each.
pub fn functions() -> Vec<AggregateUDF> {
    [Index::Cp, Index::Cpk, Index::Pp, Index::Ppk, Index::All]
        .into_iter()
        .map(|i| AggregateUDF::new_from_impl(SpcCapability::new(i)))
        .collect()
}

/// A capability aggregate (see the [module docs](self)).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SpcCapability {
    index: Index,
    signature: Signature,
}

impl SpcCapability {
    /// The aggregate returning `index`, ready to register under [`Index::name`].
    pub fn new(index: Index) -> Self {
        SpcCapability {
            index,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn order_error(&self, found: String) -> DataFusionError {
        external(Error::AggregateOrderBy {
            function: self.index.name(),
            found,
            usage: self.index.usage(),
        })
    }

    /// Checks the `ORDER BY` of a call (its key types): none, or one key of a timestamp,
    /// date or integer type; required when the figure needs the order.
    fn check_order(&self, keys: &[DataType]) -> DfResult<bool> {
        match keys {
            [] if self.index.needs_order() => Err(self.order_error("no ORDER BY".to_owned())),
            [] => Ok(false),
            [key] if is_key_type(key) => Ok(true),
            [key] => Err(self.order_error(format!("ORDER BY a {key} expression"))),
            more => Err(self.order_error(format!("ORDER BY {} keys", more.len()))),
        }
    }

    fn new_accumulator(&self, args: &AccumulatorArgs) -> DfResult<GroupsCapability> {
        let keys: Vec<DataType> = args
            .order_bys
            .iter()
            .map(|o| o.expr.data_type(args.schema))
            .collect::<DfResult<_>>()?;
        Ok(GroupsCapability {
            index: self.index,
            ordered: self.check_order(&keys)?,
            groups: Vec::new(),
            points: 0,
        })
    }
}

fn is_key_type(t: &DataType) -> bool {
    t.is_integer()
        || matches!(
            t,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 | DataType::Null
        )
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl AggregateUDFImpl for SpcCapability {
    fn name(&self) -> &str {
        self.index.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        if arg_types.len() != 3 {
            return Err(external(Error::FunctionArity {
                function: self.index.name(),
                usage: self.index.usage(),
                found: arg_types.len(),
            }));
        }
        let expected = [
            "a numeric column (the reading)",
            "a number or NULL (the lower specification limit)",
            "a number or NULL (the upper specification limit)",
        ];
        for (i, (t, expected)) in arg_types.iter().zip(expected).enumerate() {
            if !(t.is_numeric() || *t == DataType::Null) {
                return Err(external(Error::FunctionArgument {
                    function: self.index.name(),
                    position: i + 1,
                    expected,
                    found: t.to_string(),
                    usage: self.index.usage(),
                }));
            }
        }
        Ok(vec![DataType::Float64; 3])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(match self.index {
            Index::All => DataType::Struct(capability_fields()),
            _ => DataType::Float64,
        })
    }

    fn is_nullable(&self) -> bool {
        true
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        // Called while the physical plan is built: a missing or unusable ORDER BY is
        // refused here, before anything runs.
        let keys: Vec<DataType> = args
            .ordering_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        self.check_order(&keys)?;
        let item = |t: DataType| Arc::new(Field::new_list_field(t, false));
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "keys"),
                DataType::List(item(DataType::Int64)),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "values"),
                DataType::List(item(DataType::Float64)),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "lsl"),
                DataType::Float64,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "usl"),
                DataType::Float64,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "spec_set"),
                DataType::Boolean,
                true,
            )),
        ])
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        // The ORDER BY key travels with each reading and the state is sorted when the
        // result is computed: no sort of the input is needed, but the key must reach
        // the accumulator (an insensitive aggregate would not get it).
        AggregateOrderSensitivity::Beneficial
    }

    fn with_beneficial_ordering(
        self: Arc<Self>,
        _beneficial_ordering: bool,
    ) -> DfResult<Option<Arc<dyn AggregateUDFImpl>>> {
        Ok(Some(self as Arc<dyn AggregateUDFImpl>))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        let mut inner = self.new_accumulator(&args)?;
        inner.groups.push(Group::default());
        Ok(Box::new(RowCapability(inner)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(self.new_accumulator(&args)?))
    }
}

/// Specification limits as given on a row: `(lsl, usl)`, `None` for a NULL.
type Spec = (Option<f64>, Option<f64>);

/// One group's readings and limits.
#[derive(Debug, Default, Clone)]
struct Group {
    /// `(ORDER BY key, value)` of each counted reading, in arrival order.
    points: Vec<(i64, f64)>,
    /// The limits, once a counted row has given them.
    spec: Option<Spec>,
}

fn same(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
        (None, None) => true,
        _ => false,
    }
}

impl Group {
    fn set_spec(&mut self, function: &'static str, spec: Spec) -> DfResult<()> {
        match self.spec {
            None => {
                self.spec = Some(spec);
                Ok(())
            }
            Some(s) if same(s.0, spec.0) && same(s.1, spec.1) => Ok(()),
            Some(s) => Err(external(Error::SpecLimitsVary {
                function,
                first: s,
                other: spec,
            })),
        }
    }

    /// The capability of the group's readings in key order, `None` when there is none
    /// (see the [module docs](self)).
    fn capability(&mut self, function: &'static str) -> DfResult<Option<(u64, Capability)>> {
        let Some((lsl, usl)) = self.spec else {
            return Ok(None);
        };
        if lsl.is_none() && usl.is_none() {
            return Ok(None);
        }
        let by_key = |a: &(i64, f64), b: &(i64, f64)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1));
        if !self.points.is_sorted_by(|a, b| by_key(a, b).is_le()) {
            self.points.sort_unstable_by(by_key);
        }
        let mut summary = Summary::new();
        for &(_, v) in &self.points {
            summary.push(v);
        }
        match summary.capability(SpecLimits { lsl, usl }) {
            Ok(c) => Ok(Some((summary.count(), c))),
            Err(fabrik_kernels::Error::SpecLimits { lsl, usl }) => {
                Err(external(Error::SpecLimits { function, lsl, usl }))
            }
            // Too few readings, or a sigma of zero or not finite: no capability.
            Err(_) => Ok(None),
        }
    }
}

/// The vectorized accumulator: each group's readings and limits.
#[derive(Debug)]
struct GroupsCapability {
    index: Index,
    /// Whether the call has an ORDER BY key (the fourth input column).
    ordered: bool,
    groups: Vec<Group>,
    /// The readings held, over all groups (for `size`).
    points: usize,
}

/// Reads a key column as Int64 (timestamps and dates keep their stored value).
fn keys_as_i64(keys: &ArrayRef) -> DfResult<Int64Array> {
    let keys = match keys.data_type() {
        DataType::Int64 => Arc::clone(keys),
        _ => cast(keys, &DataType::Int64)?,
    };
    Ok(keys.as_primitive::<Int64Type>().clone())
}

fn limit(a: &Float64Array, row: usize) -> Option<f64> {
    a.is_valid(row).then(|| a.value(row))
}

impl GroupsCapability {
    fn function(&self) -> &'static str {
        self.index.name()
    }

    fn resize(&mut self, groups: usize) {
        if groups > self.groups.len() {
            self.groups.resize_with(groups, Group::default);
        }
    }

    /// Adds the input rows to their groups (`group_of(row)`; `None` skips the row).
    fn add_rows(
        &mut self,
        values: &[ArrayRef],
        group_of: impl Fn(usize) -> Option<usize>,
    ) -> DfResult<()> {
        let function = self.function();
        let v = values[0].as_primitive::<Float64Type>();
        let lsl = values[1].as_primitive::<Float64Type>();
        let usl = values[2].as_primitive::<Float64Type>();
        let keys = match (self.ordered, values.get(3)) {
            (true, Some(k)) => Some(keys_as_i64(k)?),
            _ => None,
        };
        for row in 0..v.len() {
            let Some(g) = group_of(row) else { continue };
            if v.is_null(row) || v.value(row).is_nan() {
                continue;
            }
            let key = match &keys {
                Some(k) if k.is_null(row) => continue,
                Some(k) => k.value(row),
                None => 0,
            };
            let group = &mut self.groups[g];
            group.set_spec(function, (limit(lsl, row), limit(usl, row)))?;
            group.points.push((key, v.value(row)));
            self.points += 1;
        }
        Ok(())
    }

    /// Merges state rows (see `state`) into their groups.
    fn merge_rows(&mut self, states: &[ArrayRef], group_indices: &[usize]) -> DfResult<()> {
        let function = self.function();
        let keys = states[0].as_list::<i32>();
        let values = states[1].as_list::<i32>();
        let lsl = states[2].as_primitive::<Float64Type>();
        let usl = states[3].as_primitive::<Float64Type>();
        let set = states[4].as_boolean();
        let all_keys = keys.values().as_primitive::<Int64Type>();
        let all_values = values.values().as_primitive::<Float64Type>();
        for (row, &g) in group_indices.iter().enumerate() {
            if !(set.is_valid(row) && set.value(row)) {
                continue;
            }
            let group = &mut self.groups[g];
            group.set_spec(function, (limit(lsl, row), limit(usl, row)))?;
            let (k0, k1) = (
                keys.value_offsets()[row] as usize,
                keys.value_offsets()[row + 1] as usize,
            );
            let v0 = values.value_offsets()[row] as usize;
            group.points.extend(
                all_keys.values()[k0..k1]
                    .iter()
                    .zip(&all_values.values()[v0..v0 + (k1 - k0)])
                    .map(|(&k, &v)| (k, v)),
            );
            self.points += k1 - k0;
        }
        Ok(())
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<Group> {
        let taken = emit_to.take_needed(&mut self.groups);
        self.points = self
            .points
            .saturating_sub(taken.iter().map(|g| g.points.len()).sum());
        taken
    }

    /// The results of `groups`.
    fn results(&self, groups: &mut [Group]) -> DfResult<ArrayRef> {
        let function = self.function();
        let figures = groups
            .iter_mut()
            .map(|g| g.capability(function))
            .collect::<DfResult<Vec<_>>>()?;
        let pick = |f: fn(&Capability) -> Option<f64>| -> Float64Array {
            figures
                .iter()
                .map(|c| c.as_ref().and_then(|(_, c)| f(c)))
                .collect()
        };
        Ok(match self.index {
            Index::Cp => Arc::new(pick(|c| c.cp)),
            Index::Cpk => Arc::new(pick(|c| Some(c.cpk))),
            Index::Pp => Arc::new(pick(|c| c.pp)),
            Index::Ppk => Arc::new(pick(|c| Some(c.ppk))),
            Index::All => {
                let n: UInt64Array = figures
                    .iter()
                    .map(|c| c.as_ref().map_or(0, |(n, _)| *n))
                    .collect();
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(n),
                    Arc::new(pick(|c| Some(c.mean))),
                    Arc::new(pick(|c| Some(c.sigma_within))),
                    Arc::new(pick(|c| Some(c.sigma_overall))),
                    Arc::new(pick(|c| c.cp)),
                    Arc::new(pick(|c| Some(c.cpk))),
                    Arc::new(pick(|c| c.pp)),
                    Arc::new(pick(|c| Some(c.ppk))),
                ];
                let nulls = NullBuffer::from_iter(figures.iter().map(Option::is_some));
                Arc::new(StructArray::try_new(
                    capability_fields(),
                    columns,
                    Some(nulls),
                )?)
            }
        })
    }

    /// `groups` as state columns.
    fn state_of(groups: &[Group]) -> Vec<ArrayRef> {
        let points: usize = groups.iter().map(|g| g.points.len()).sum();
        let item = |t: DataType| Field::new_list_field(t, false);
        let mut keys =
            ListBuilder::with_capacity(Int64Builder::with_capacity(points), groups.len())
                .with_field(item(DataType::Int64));
        let mut values =
            ListBuilder::with_capacity(Float64Builder::with_capacity(points), groups.len())
                .with_field(item(DataType::Float64));
        for g in groups {
            keys.values()
                .append_slice(&g.points.iter().map(|p| p.0).collect::<Vec<_>>());
            keys.append(true);
            values
                .values()
                .append_slice(&g.points.iter().map(|p| p.1).collect::<Vec<_>>());
            values.append(true);
        }
        let lsl: Float64Array = groups.iter().map(|g| g.spec.and_then(|s| s.0)).collect();
        let usl: Float64Array = groups.iter().map(|g| g.spec.and_then(|s| s.1)).collect();
        let set: BooleanArray = groups.iter().map(|g| Some(g.spec.is_some())).collect();
        let keys: ListArray = keys.finish();
        let values: ListArray = values.finish();
        vec![
            Arc::new(keys),
            Arc::new(values),
            Arc::new(lsl),
            Arc::new(usl),
            Arc::new(set),
        ]
    }
}

impl GroupsAccumulator for GroupsCapability {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.resize(total_num_groups);
        self.add_rows(values, |row| {
            opt_filter
                .is_none_or(|f| f.is_valid(row) && f.value(row))
                .then(|| group_indices[row])
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let mut groups = self.take(emit_to);
        self.results(&mut groups)
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        Ok(Self::state_of(&self.take(emit_to)))
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.resize(total_num_groups);
        self.merge_rows(values, group_indices)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        // Each row its own group: one reading (none if skipped) and its limits.
        let mut rows = GroupsCapability {
            index: self.index,
            ordered: self.ordered,
            groups: Vec::new(),
            points: 0,
        };
        rows.resize(values.first().map_or(0, |v| v.len()));
        rows.add_rows(values, |row| {
            opt_filter
                .is_none_or(|f| f.is_valid(row) && f.value(row))
                .then_some(row)
        })?;
        Ok(Self::state_of(&rows.groups))
    }

    fn size(&self) -> usize {
        self.points * size_of::<(i64, f64)>() + self.groups.capacity() * size_of::<Group>()
    }
}

/// The row accumulator (no `GROUP BY`, window frames): one group of the vectorized one.
#[derive(Debug)]
struct RowCapability(GroupsCapability);

impl Accumulator for RowCapability {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        self.0.add_rows(values, |_| Some(0))
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        let mut group = self.0.groups.first().cloned().unwrap_or_default();
        let out = self.0.results(std::slice::from_mut(&mut group))?;
        ScalarValue::try_from_array(&out, 0)
    }

    fn size(&self) -> usize {
        self.0.size() + size_of::<Self>()
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        let columns = GroupsCapability::state_of(&self.0.groups[..1.min(self.0.groups.len())]);
        columns
            .iter()
            .map(|c| ScalarValue::try_from_array(c, 0))
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let zeros = vec![0; states.first().map_or(0, |s| s.len())];
        self.0.merge_rows(states, &zeros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f64s(a: &ArrayRef) -> Vec<Option<f64>> {
        a.as_primitive::<Float64Type>().iter().collect()
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-12 * b.abs().max(1.0))
    }

    fn accumulator(index: Index) -> GroupsCapability {
        GroupsCapability {
            index,
            ordered: true,
            groups: Vec::new(),
            points: 0,
        }
    }

    /// Readings 9, 11, 10, 12, 8 at keys 1..5 (the kernel's `capability_of_readings_by_hand`:
    /// MR̄ = 9/4, σ_within = 2.25/1.128; LSL 4, USL 16 → Cp = 12/(6·σ_within)), split in
    /// two partial states whose keys interleave (1, 3, 5 and 2, 4) and merged: the
    /// within sigma is that of the whole series in key order.
    #[test]
    fn interleaved_partial_states_merge_in_key_order() -> DfResult<()> {
        let spec = |n: usize| -> (ArrayRef, ArrayRef) {
            (
                Arc::new(Float64Array::from(vec![4.0; n])),
                Arc::new(Float64Array::from(vec![16.0; n])),
            )
        };
        let mut states = Vec::new();
        for (keys, values) in [
            (vec![5, 1, 3], vec![8.0, 9.0, 10.0]),
            (vec![4, 2], vec![12.0, 11.0]),
        ] {
            let n = keys.len();
            let (lsl, usl) = spec(n);
            let mut a = accumulator(Index::Cp);
            let v: ArrayRef = Arc::new(Float64Array::from(values));
            let k: ArrayRef = Arc::new(Int64Array::from(keys));
            a.update_batch(&[v, lsl, usl, k], &vec![0; n], None, 1)?;
            states.push(a.state(EmitTo::All)?);
        }
        let mut merged = accumulator(Index::Cp);
        for s in &states {
            merged.merge_batch(s, &[0], 1)?;
        }
        assert!(merged.size() >= 5 * 16);
        let within = 2.25 / 1.128;
        assert!(close(
            f64s(&merged.evaluate(EmitTo::All)?)[0],
            12.0 / (6.0 * within)
        ));
        Ok(())
    }

    #[test]
    fn varying_limits_and_empty_groups() -> DfResult<()> {
        let mut a = accumulator(Index::Ppk);
        let v: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), None, Some(2.0)]));
        let lsl: ArrayRef = Arc::new(Float64Array::from(vec![Some(0.0), Some(9.0), None]));
        let usl: ArrayRef = Arc::new(Float64Array::from(vec![Some(5.0), None, Some(5.0)]));
        let k: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        // Row 1 has a null reading: its limits do not count; rows 0 and 2 differ.
        let err = a
            .update_batch(&[v, lsl, usl, k], &[0, 0, 0], None, 2)
            .expect_err("limits differ");
        assert!(err.to_string().contains("spc_ppk"), "{err}");
        // Group 1 never got a row: null.
        assert_eq!(f64s(&a.evaluate(EmitTo::All)?)[1], None);
        Ok(())
    }
}
