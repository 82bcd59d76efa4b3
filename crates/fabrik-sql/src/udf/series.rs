//! Interval-aware aggregates of time series, backed by [`fabrik_kernels::series`]:
//!
//! ```sql
//! -- Time-weighted average over [first ts, last ts]; 'locf' (step, the default) or 'linear'.
//! SELECT sensor_id, time_weighted_avg(value, ts), time_weighted_avg(value, ts, 'linear')
//! FROM sensor_readings GROUP BY sensor_id;
//! -- Counter increase and per-second rate, a decrease being a reset (Prometheus semantics
//! -- without extrapolation).
//! SELECT machine_id, counter_increase(good_qty, ts), counter_rate(good_qty, ts)
//! FROM production_counts GROUP BY machine_id;
//! -- Seconds in one state, or every state's seconds as a list of {state, seconds}.
//! SELECT machine_id, state_duration(state, start_ts, 'RUNNING'), state_duration(state, start_ts)
//! FROM machine_states GROUP BY machine_id;
//! ```
//!
//! # Arguments and results
//!
//! | function | arguments | result |
//! |---|---|---|
//! | `time_weighted_avg` | `value` (numeric), `ts` (TIMESTAMP) [, `'locf'` \| `'linear'`] | Float64 |
//! | `counter_increase` | `value` (numeric), `ts` | Float64 |
//! | `counter_rate` | `value` (numeric), `ts` | Float64, per second |
//! | `state_duration` | `state` (text), `ts`, `'<state>'` | Float64 seconds in that state |
//! | `state_duration` | `state` (text), `ts` | `List<Struct{state: Utf8, seconds: Float64}>`, sorted by state |
//!
//! The definitions are those of [`fabrik_kernels::series`]: for `state_duration` each
//! point's state holds until the next point and the last point adds nothing (the group does
//! not say how long it lasted). A row whose `ts` or value is null, or whose value is `NaN`,
//! is skipped; a group without any point gives null; `state_duration(…, '<state>')` of a
//! group that never was in that state gives 0. Points at the same timestamp are ordered by
//! value (then state name), so results do not depend on the order rows arrive in.
//!
//! # Partial and final aggregation
//!
//! DataFusion aggregates each partition separately and merges the partial states, with no
//! guarantee that rows come in time order. These aggregates therefore keep the points of
//! each group (`ts` as `List<Int64>` in the timestamp's unit, values as `List<Float64>` or
//! `List<Utf8>`) as their partial state, and sort and compute at the end: always correct,
//! at the cost of memory proportional to the rows of a group (16 bytes a point; state names
//! are interned). Both the vectorized `GroupsAccumulator` path (with `GROUP BY`) and the
//! single-group `Accumulator` path are implemented.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListArray, StringArray,
    StructArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use datafusion::prelude::SessionContext;
use fabrik_kernels::bucket::ticks_per_second;
use fabrik_kernels::series::{
    CounterState, Interpolation, TwaState, state_duration, state_durations,
};

use crate::error::Error;

/// `time_weighted_avg(value, ts [, 'locf' | 'linear'])`.
pub const TIME_WEIGHTED_AVG: &str = "time_weighted_avg";
/// `counter_rate(value, ts)`: per second.
pub const COUNTER_RATE: &str = "counter_rate";
/// `counter_increase(value, ts)`.
pub const COUNTER_INCREASE: &str = "counter_increase";
/// `state_duration(state, ts [, '<state>'])`.
pub const STATE_DURATION: &str = "state_duration";

/// Registers the aggregates of this module in `ctx`.
pub fn register(ctx: &SessionContext) {
    for kind in [Kind::Twa, Kind::Rate, Kind::Increase, Kind::States] {
        ctx.register_udaf(AggregateUDF::from(SeriesAggregate::new(kind)));
    }
}

/// The aggregates of this module, one [`AggregateUDF`] each.
pub fn functions() -> Vec<AggregateUDF> {
    [Kind::Twa, Kind::Rate, Kind::Increase, Kind::States]
        .into_iter()
        .map(|k| AggregateUDF::from(SeriesAggregate::new(k)))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Twa,
    Rate,
    Increase,
    States,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Twa => TIME_WEIGHTED_AVG,
            Kind::Rate => COUNTER_RATE,
            Kind::Increase => COUNTER_INCREASE,
            Kind::States => STATE_DURATION,
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Kind::Twa => {
                "time_weighted_avg(value, ts) or time_weighted_avg(value, ts, 'linear') (or 'locf', the default)"
            }
            Kind::Rate => "counter_rate(value, ts)",
            Kind::Increase => "counter_increase(value, ts)",
            Kind::States => {
                "state_duration(state, ts) for every state or state_duration(state, ts, 'RUNNING') for one"
            }
        }
    }

    fn max_args(self) -> usize {
        match self {
            Kind::Twa | Kind::States => 3,
            Kind::Rate | Kind::Increase => 2,
        }
    }
}

/// The `{state, seconds}` struct of `state_duration(state, ts)`.
fn state_struct_fields() -> Fields {
    Fields::from(vec![
        Field::new("state", DataType::Utf8, false),
        Field::new("seconds", DataType::Float64, false),
    ])
}

/// The result type of `state_duration(state, ts)`.
fn states_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(state_struct_fields()),
        true,
    )))
}

fn external(e: Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SeriesAggregate {
    kind: Kind,
    signature: Signature,
}

impl SeriesAggregate {
    fn new(kind: Kind) -> Self {
        SeriesAggregate {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn argument_error(
        &self,
        position: usize,
        expected: &'static str,
        found: String,
    ) -> DataFusionError {
        external(Error::FunctionArgument {
            function: self.kind.name(),
            position,
            expected,
            found,
            usage: self.kind.usage(),
        })
    }

    /// The argument types the function takes for `arg_types`, or why it refuses them.
    fn check(&self, arg_types: &[DataType]) -> DFResult<Vec<DataType>> {
        if arg_types.len() < 2 || arg_types.len() > self.kind.max_args() {
            return Err(external(Error::FunctionArity {
                function: self.kind.name(),
                usage: self.kind.usage(),
                found: arg_types.len(),
            }));
        }
        let value = match (self.kind, &arg_types[0]) {
            (Kind::States, t) if is_text(t) => DataType::Utf8,
            (Kind::States, t) => {
                return Err(self.argument_error(1, "a text column (the state)", t.to_string()));
            }
            (_, t) if t.is_numeric() || *t == DataType::Null => DataType::Float64,
            (_, t) => {
                return Err(self.argument_error(1, "a numeric column (the value)", t.to_string()));
            }
        };
        let ts = match &arg_types[1] {
            t @ DataType::Timestamp(_, _) => t.clone(),
            DataType::Null => DataType::Timestamp(TimeUnit::Microsecond, None),
            t => {
                return Err(self.argument_error(
                    2,
                    "a TIMESTAMP column (cast with to_timestamp or arrow_cast if needed)",
                    t.to_string(),
                ));
            }
        };
        let mut out = vec![value, ts];
        if let Some(t) = arg_types.get(2) {
            if !is_text(t) {
                return Err(self.argument_error(3, "a string", t.to_string()));
            }
            out.push(DataType::Utf8);
        }
        Ok(out)
    }

    /// What the accumulators compute, from the (coerced) arguments.
    fn finish(&self, args: &AccumulatorArgs) -> DFResult<Finish> {
        let tps = match args.expr_fields.get(1).map(|f| f.data_type()) {
            Some(DataType::Timestamp(unit, _)) => ticks_per_second(*unit),
            other => {
                return Err(self.argument_error(2, "a TIMESTAMP", format!("{other:?}")));
            }
        };
        let option = match args.exprs.get(2) {
            None => None,
            Some(e) => match e.downcast_ref::<Literal>().map(|l| l.value()) {
                Some(
                    ScalarValue::Utf8(Some(s))
                    | ScalarValue::LargeUtf8(Some(s))
                    | ScalarValue::Utf8View(Some(s)),
                ) => Some(s.clone()),
                _ => {
                    let expected = match self.kind {
                        Kind::Twa => "a constant string, 'locf' or 'linear'",
                        _ => "a constant string naming a state, e.g. 'RUNNING'",
                    };
                    return Err(self.argument_error(3, expected, e.to_string()));
                }
            },
        };
        Ok(match self.kind {
            Kind::Twa => {
                let how = match option.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    None | Some("locf") => Interpolation::Locf,
                    Some("linear") => Interpolation::Linear,
                    Some(_) => {
                        return Err(self.argument_error(
                            3,
                            "'locf' or 'linear'",
                            format!("{:?}", option.unwrap_or_default()),
                        ));
                    }
                };
                Finish::Twa(how)
            }
            Kind::Rate => Finish::Rate(tps),
            Kind::Increase => Finish::Increase,
            Kind::States => match option {
                Some(state) => Finish::State { tps, state },
                None => Finish::States { tps },
            },
        })
    }

    fn points(&self, args: &AccumulatorArgs) -> DFResult<Points> {
        Ok(Points::new(self.finish(args)?))
    }
}

impl AggregateUDFImpl for SeriesAggregate {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Coerces what can be coerced and leaves the rest unchanged: DataFusion turns a
    /// coercion error into text, so refusals come from `return_type` instead, as typed
    /// errors ([`Error::FunctionArity`], [`Error::FunctionArgument`]).
    fn coerce_types(&self, arg_types: &[DataType]) -> DFResult<Vec<DataType>> {
        Ok(self.check(arg_types).unwrap_or_else(|_| arg_types.to_vec()))
    }

    fn return_type(&self, arg_types: &[DataType]) -> DFResult<DataType> {
        self.check(arg_types)?;
        Ok(match self.kind {
            Kind::States if arg_types.len() < 3 => states_type(),
            _ => DataType::Float64,
        })
    }

    fn is_nullable(&self) -> bool {
        true
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DFResult<Vec<FieldRef>> {
        let value = match self.kind {
            Kind::States => DataType::Utf8,
            _ => DataType::Float64,
        };
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "ts"),
                DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "values"),
                DataType::List(Arc::new(Field::new_list_field(value, true))),
                true,
            )),
        ])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> DFResult<Box<dyn Accumulator>> {
        let mut points = self.points(&acc_args)?;
        points.resize(1);
        Ok(Box::new(OneGroup(points)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> DFResult<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(self.points(&args)?))
    }
}

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => true,
        DataType::Dictionary(_, v) => is_text(v),
        _ => false,
    }
}

/// What an accumulator computes at the end.
#[derive(Debug, Clone, PartialEq)]
enum Finish {
    Twa(Interpolation),
    Rate(i64),
    Increase,
    State { tps: i64, state: String },
    States { tps: i64 },
}

impl Finish {
    fn is_state(&self) -> bool {
        matches!(self, Finish::State { .. } | Finish::States { .. })
    }
}

/// The points of some groups, taken out of the accumulator.
enum Groups {
    Values(Vec<Vec<(i64, f64)>>),
    States(Vec<Vec<(i64, u32)>>),
}

/// The points of every group: the accumulator of all four functions.
#[derive(Debug)]
struct Points {
    finish: Finish,
    values: Vec<Vec<(i64, f64)>>,
    states: Vec<Vec<(i64, u32)>>,
    /// Interned state names: `names[id]`.
    names: Vec<String>,
    ids: HashMap<String, u32>,
    /// Points held, for [`GroupsAccumulator::size`] in O(1).
    held: usize,
    /// Bytes of the interned names.
    name_bytes: usize,
}

impl Points {
    fn new(finish: Finish) -> Self {
        Points {
            finish,
            values: Vec::new(),
            states: Vec::new(),
            names: Vec::new(),
            ids: HashMap::new(),
            held: 0,
            name_bytes: 0,
        }
    }

    fn resize(&mut self, groups: usize) {
        if self.finish.is_state() {
            if self.states.len() < groups {
                self.states.resize_with(groups, Vec::new);
            }
        } else if self.values.len() < groups {
            self.values.resize_with(groups, Vec::new);
        }
    }

    fn intern(&mut self, name: &str) -> DFResult<u32> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        let id = u32::try_from(self.names.len()).map_err(|_| {
            DataFusionError::ResourcesExhausted(
                "state_duration: more than 2^32 distinct states".to_owned(),
            )
        })?;
        self.name_bytes += 2 * name.len() + 64;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        Ok(id)
    }

    /// Adds the rows of `value` and `ts` (the aggregate's arguments, or a state's list
    /// children) to the groups `group(row)`; rows with `keep(row) == false` are skipped.
    fn add(
        &mut self,
        value: &ArrayRef,
        ts: &ArrayRef,
        rows: impl Iterator<Item = (usize, usize)>,
    ) -> DFResult<()> {
        let ts = cast(ts, &DataType::Int64)?;
        let ts: &Int64Array = ts.as_primitive();
        if self.finish.is_state() {
            let value = cast(value, &DataType::Utf8)?;
            let value: &StringArray = value.as_string();
            for (row, group) in rows {
                if ts.is_null(row) || value.is_null(row) {
                    continue;
                }
                let id = self.intern(value.value(row))?;
                self.states[group].push((ts.value(row), id));
                self.held += 1;
            }
        } else {
            let value = cast(value, &DataType::Float64)?;
            let value: &Float64Array = value.as_primitive();
            for (row, group) in rows {
                if ts.is_null(row) || value.is_null(row) || value.value(row).is_nan() {
                    continue;
                }
                self.values[group].push((ts.value(row), value.value(row)));
                self.held += 1;
            }
        }
        Ok(())
    }

    /// Adds the points of partial states, row `i` going to group `group(i)`.
    fn merge(&mut self, states: &[ArrayRef], group: impl Fn(usize) -> usize) -> DFResult<()> {
        let [ts, values] = states else {
            return Err(DataFusionError::Internal(format!(
                "series aggregate state has {} columns, expected 2",
                states.len()
            )));
        };
        let ts = ts.as_list::<i32>();
        let values = values.as_list::<i32>();
        let offsets = ts.value_offsets();
        let rows = (0..ts.len()).flat_map(|i| {
            let g = group(i);
            let (from, to) = (offsets[i] as usize, offsets[i + 1] as usize);
            (from..to).map(move |j| (j, g))
        });
        // Both lists were built together, so their offsets agree.
        let rows: Vec<(usize, usize)> = rows.collect();
        self.add(values.values(), ts.values(), rows.into_iter())
    }

    fn take(&mut self, emit_to: EmitTo) -> Groups {
        let taken = if self.finish.is_state() {
            Groups::States(emit_to.take_needed(&mut self.states))
        } else {
            Groups::Values(emit_to.take_needed(&mut self.values))
        };
        let points = match &taken {
            Groups::States(g) => g.iter().map(Vec::len).sum::<usize>(),
            Groups::Values(g) => g.iter().map(Vec::len).sum::<usize>(),
        };
        self.held = self.held.saturating_sub(points);
        taken
    }

    /// The partial state of `groups`: two list arrays.
    fn state_arrays(&self, groups: &Groups) -> DFResult<Vec<ArrayRef>> {
        fn offsets<T>(groups: &[Vec<T>]) -> DFResult<OffsetBuffer<i32>> {
            let mut out = Vec::with_capacity(groups.len() + 1);
            let mut at = 0i32;
            out.push(at);
            for g in groups {
                at = i32::try_from(g.len())
                    .ok()
                    .and_then(|n| at.checked_add(n))
                    .ok_or_else(|| {
                        DataFusionError::ResourcesExhausted(
                            "series aggregate state over 2^31 points in one batch".to_owned(),
                        )
                    })?;
                out.push(at);
            }
            Ok(OffsetBuffer::new(ScalarBuffer::from(out)))
        }
        let list = |offsets: OffsetBuffer<i32>, values: ArrayRef| -> DFResult<ArrayRef> {
            let field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
            Ok(Arc::new(ListArray::try_new(field, offsets, values, None)?))
        };
        match groups {
            Groups::Values(g) => {
                let off = offsets(g)?;
                let ts = Int64Array::from_iter_values(g.iter().flatten().map(|p| p.0));
                let v = Float64Array::from_iter_values(g.iter().flatten().map(|p| p.1));
                Ok(vec![
                    list(off.clone(), Arc::new(ts))?,
                    list(off, Arc::new(v))?,
                ])
            }
            Groups::States(g) => {
                let off = offsets(g)?;
                let ts = Int64Array::from_iter_values(g.iter().flatten().map(|p| p.0));
                let names: Vec<&str> = g
                    .iter()
                    .flatten()
                    .map(|p| self.names[p.1 as usize].as_str())
                    .collect();
                let v = StringArray::from(names);
                Ok(vec![
                    list(off.clone(), Arc::new(ts))?,
                    list(off, Arc::new(v))?,
                ])
            }
        }
    }

    /// The result of each of `groups`.
    fn evaluate_groups(&self, groups: Groups) -> DFResult<ArrayRef> {
        let kernel = |e: fabrik_kernels::Error| external(Error::Kernel(e));
        match groups {
            Groups::Values(groups) => {
                let mut out = Vec::with_capacity(groups.len());
                let (mut ts, mut vs) = (Vec::new(), Vec::new());
                for mut g in groups {
                    g.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
                    ts.clear();
                    vs.clear();
                    ts.extend(g.iter().map(|p| p.0));
                    vs.extend(g.iter().map(|p| p.1));
                    out.push(match self.finish {
                        Finish::Twa(how) => TwaState::from_sorted(&ts, &vs, how)
                            .map_err(kernel)?
                            .map(|s| s.average()),
                        Finish::Rate(tps) => CounterState::from_sorted(&ts, &vs)
                            .map_err(kernel)?
                            .and_then(|s| s.rate(tps)),
                        _ => CounterState::from_sorted(&ts, &vs)
                            .map_err(kernel)?
                            .map(|s| s.increase),
                    });
                }
                Ok(Arc::new(Float64Array::from(out)))
            }
            Groups::States(groups) => {
                let names = &self.names;
                let mut sorted = groups;
                for g in &mut sorted {
                    g.sort_unstable_by(|a, b| {
                        a.0.cmp(&b.0)
                            .then_with(|| names[a.1 as usize].cmp(&names[b.1 as usize]))
                    });
                }
                match &self.finish {
                    Finish::State { tps, state } => {
                        let target = self.ids.get(state.as_str()).copied();
                        let mut out = Vec::with_capacity(sorted.len());
                        for g in &sorted {
                            if g.is_empty() {
                                out.push(None);
                                continue;
                            }
                            let ticks = match target {
                                None => 0,
                                Some(target) => {
                                    let (ts, ids): (Vec<i64>, Vec<u32>) = g.iter().copied().unzip();
                                    state_duration(&ts, &ids, &target, None).map_err(kernel)?
                                }
                            };
                            out.push(Some(ticks as f64 / *tps as f64));
                        }
                        Ok(Arc::new(Float64Array::from(out)))
                    }
                    Finish::States { tps } => self.state_lists(&sorted, *tps),
                    _ => Err(DataFusionError::Internal(
                        "state points for a numeric aggregate".to_owned(),
                    )),
                }
            }
        }
    }

    /// `List<Struct{state, seconds}>` of each group, sorted by state name.
    fn state_lists(&self, groups: &[Vec<(i64, u32)>], tps: i64) -> DFResult<ArrayRef> {
        let kernel = |e: fabrik_kernels::Error| external(Error::Kernel(e));
        let mut names: Vec<&str> = Vec::new();
        let mut seconds: Vec<f64> = Vec::new();
        let mut offsets: Vec<i32> = vec![0];
        let mut valid: Vec<bool> = Vec::with_capacity(groups.len());
        for g in groups {
            valid.push(!g.is_empty());
            let (ts, ids): (Vec<i64>, Vec<u32>) = g.iter().copied().unzip();
            let mut d: Vec<(&str, i64)> = state_durations(&ts, &ids, None)
                .map_err(kernel)?
                .into_iter()
                .map(|(id, ticks)| (self.names[id as usize].as_str(), ticks))
                .collect();
            d.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (name, ticks) in d {
                names.push(name);
                seconds.push(ticks as f64 / tps as f64);
            }
            let end = i32::try_from(names.len()).map_err(|_| {
                DataFusionError::ResourcesExhausted(
                    "state_duration: over 2^31 states in one batch".to_owned(),
                )
            })?;
            offsets.push(end);
        }
        let entries = StructArray::try_new(
            state_struct_fields(),
            vec![
                Arc::new(StringArray::from(names)) as ArrayRef,
                Arc::new(Float64Array::from(seconds)),
            ],
            None,
        )?;
        let DataType::List(item) = states_type() else {
            return Err(DataFusionError::Internal(
                "state_duration's type is a list".to_owned(),
            ));
        };
        Ok(Arc::new(ListArray::try_new(
            item,
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Arc::new(entries),
            Some(NullBuffer::from(valid)),
        )?))
    }

    /// The memory held, estimated in O(1): 16 bytes a point (plus vector growth) and the
    /// group vectors.
    fn bytes(&self) -> usize {
        size_of::<Self>()
            + self.held * 24
            + (self.values.capacity() + self.states.capacity()) * size_of::<Vec<(i64, f64)>>()
            + self.name_bytes
    }
}

/// The rows of a batch that count: `(row, group)` for rows the filter keeps.
fn kept_rows<'a>(
    len: usize,
    filter: Option<&'a BooleanArray>,
    group: impl Fn(usize) -> usize + 'a,
) -> impl Iterator<Item = (usize, usize)> + 'a {
    (0..len)
        .filter(move |&i| filter.is_none_or(|f| f.is_valid(i) && f.value(i)))
        .map(move |i| (i, group(i)))
}

fn two_args(values: &[ArrayRef]) -> DFResult<(&ArrayRef, &ArrayRef)> {
    match values {
        [v, ts, ..] => Ok((v, ts)),
        _ => Err(DataFusionError::Internal(format!(
            "series aggregate called with {} argument columns",
            values.len()
        ))),
    }
}

impl GroupsAccumulator for Points {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DFResult<()> {
        self.resize(total_num_groups);
        let (v, ts) = two_args(values)?;
        let rows = kept_rows(v.len(), opt_filter, |i| group_indices[i]);
        self.add(v, ts, rows)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DFResult<ArrayRef> {
        let groups = self.take(emit_to);
        self.evaluate_groups(groups)
    }

    fn state(&mut self, emit_to: EmitTo) -> DFResult<Vec<ArrayRef>> {
        let groups = self.take(emit_to);
        self.state_arrays(&groups)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DFResult<()> {
        self.resize(total_num_groups);
        self.merge(values, |i| group_indices[i])
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DFResult<Vec<ArrayRef>> {
        let (v, ts) = two_args(values)?;
        let mut one_per_row = Points::new(self.finish.clone());
        one_per_row.resize(v.len());
        one_per_row.add(v, ts, kept_rows(v.len(), opt_filter, |i| i))?;
        let groups = one_per_row.take(EmitTo::All);
        one_per_row.state_arrays(&groups)
    }

    fn size(&self) -> usize {
        self.bytes()
    }
}

/// The single-group accumulator (aggregates without `GROUP BY`, window frames).
#[derive(Debug)]
struct OneGroup(Points);

impl OneGroup {
    fn group(&self) -> Groups {
        if self.0.finish.is_state() {
            Groups::States(self.0.states.first().cloned().into_iter().collect())
        } else {
            Groups::Values(self.0.values.first().cloned().into_iter().collect())
        }
    }
}

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DFResult<()> {
        let (v, ts) = two_args(values)?;
        let rows = kept_rows(v.len(), None, |_| 0);
        self.0.add(v, ts, rows)
    }

    fn evaluate(&mut self) -> DFResult<ScalarValue> {
        let out = self.0.evaluate_groups(self.group())?;
        ScalarValue::try_from_array(&out, 0)
    }

    fn size(&self) -> usize {
        self.0.bytes()
    }

    fn state(&mut self) -> DFResult<Vec<ScalarValue>> {
        self.0
            .state_arrays(&self.group())?
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DFResult<()> {
        self.0.merge(states, |_| 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::TimestampMillisecondArray;

    fn ts(v: &[i64]) -> ArrayRef {
        Arc::new(TimestampMillisecondArray::from(v.to_vec()))
    }

    fn floats(a: &ArrayRef) -> Vec<Option<f64>> {
        a.as_primitive::<datafusion::arrow::datatypes::Float64Type>()
            .iter()
            .collect()
    }

    #[test]
    fn groups_merge_out_of_order_partials() -> DFResult<()> {
        // Group 0: (0 ms, 10), (10, 20), (30, 0) split over two partial accumulators
        // that see the points out of order; group 1 has no point.
        let mut a = Points::new(Finish::Twa(Interpolation::Locf));
        a.update_batch(
            &[Arc::new(Float64Array::from(vec![0.0])), ts(&[30])],
            &[0],
            None,
            2,
        )?;
        let mut b = Points::new(Finish::Twa(Interpolation::Locf));
        b.update_batch(
            &[
                Arc::new(Float64Array::from(vec![20.0, 10.0, 99.0])),
                ts(&[10, 0, 5]),
            ],
            &[0, 0, 1],
            Some(&BooleanArray::from(vec![true, true, false])),
            2,
        )?;
        let mut last = Points::new(Finish::Twa(Interpolation::Locf));
        // a's state has a row per group (group 1 empty there).
        last.merge_batch(&a.state(EmitTo::All)?, &[0, 1], 2)?;
        last.merge_batch(&b.state(EmitTo::All)?, &[0, 1], 2)?;
        // LOCF: 10·10 + 20·20 = 500 over 30.
        let out = last.evaluate(EmitTo::All)?;
        assert_eq!(floats(&out), vec![Some(500.0 / 30.0), None]);
        Ok(())
    }

    #[test]
    fn convert_to_state_keeps_one_point_per_row() -> DFResult<()> {
        let p = Points::new(Finish::Increase);
        let state = p.convert_to_state(
            &[
                Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])),
                ts(&[1, 2, 3]),
            ],
            None,
        )?;
        let lists = state[0].as_list::<i32>();
        assert_eq!(lists.value_offsets(), &[0, 1, 1, 2]);
        Ok(())
    }
}
