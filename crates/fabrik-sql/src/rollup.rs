//! fabrik's rollup operator in DataFusion plans, and the physical optimizer rule that
//! puts it there.
//!
//! [`RollupRule`] looks for aggregations that [`fabrik_kernels::rollup`] computes —
//! `GROUP BY` plain key expressions and at most one time bucket (`date_bin`, `date_trunc`,
//! `time_bucket`) with `count`, `sum`, `min`, `max`, `avg`, `var_samp`/`var_pop`,
//! `stddev_samp`/`stddev_pop`, `first_value`/`last_value … ORDER BY ts`, `first`/`last`
//! and `percentile_cont` — and replaces DataFusion's two-phase hash aggregation
//! (`AggregateExec` partial → repartition → final) by one [`RollupExec`] over the same
//! input. It does so when the input is laid out for it: ordered by a group key or by the
//! bucketed timestamp (runs of equal groups are long, so the rollup streams over them),
//! grouped by a time bucket (a time rollup: the kernel finds runs of equal keys on its own
//! and maps rows to groups one by one where runs are short), or grouped by
//! dictionary-encoded keys only (dense ids from dictionary indices). Anything else —
//! DISTINCT, FILTER, grouping sets, other aggregates, plain-text keys without a bucket over
//! unordered input — keeps DataFusion's plan. `EXPLAIN` shows `FabrikRollupExec` where the rule applied.
//!
//! [`RollupExec`] reads every input partition concurrently, folds each into a partial
//! [`Rollup`], merges the partials (groups straddling partitions, files or batches are
//! joined) and emits one partition. Where DataFusion's plan promised an output order or a
//! hash partitioning, the operator sorts its output / is followed by a repartition so the
//! plan above sees the same properties.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::kernels::sort::LexicographicalComparator;
use datafusion::arrow::compute::{SortColumn, SortOptions, cast, lexsort_to_indices, take};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ScalarValue, config::ConfigOptions};
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::{
    EquivalenceProperties, LexOrdering, PhysicalExpr, PhysicalSortExpr, ScalarFunctionExpr,
};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{
    Boundedness, ChildrenPropertiesMode, EmissionType, ReplaceChildrenOptions,
};
use datafusion::physical_plan::expressions::{CastExpr, Column, Literal};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::union::InterleaveExec;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, ExecutionPlanProperties,
    Partitioning, PlanProperties,
};
use datafusion::physical_plan::{StatisticsArgs, StatisticsContext};
use fabrik_kernels::Bucket;
use fabrik_kernels::rollup::{Agg, AggInput, Rollup, RollupSpec};
use futures::StreamExt;

use crate::parquet::ParquetScanExec;
use crate::udf::{date_bin_spec, date_trunc_spec, time_bucket_spec};

/// The name [`RollupRule`] reports to DataFusion.
pub const RULE_NAME: &str = "fabrik_rollup";

/// A group column of the rollup: a plain key expression or the time bucket.
#[derive(Debug, Clone)]
enum GroupCol {
    Key(Arc<dyn PhysicalExpr>),
    Bucket {
        ts: Arc<dyn PhysicalExpr>,
        bucket: Bucket,
        /// How the SQL wrote it, for EXPLAIN.
        label: String,
    },
}

/// One aggregate: the kernel's function, its argument and ordering expressions, and how
/// nulls of the ordering sort (`first`/`last` treat a null timestamp as the smallest or
/// largest, as DataFusion's `NULLS FIRST`/`NULLS LAST` does).
#[derive(Debug, Clone)]
struct AggCol {
    agg: Agg,
    arg: Option<Arc<dyn PhysicalExpr>>,
    /// The ordering and, for DataFusion's `first_value`/`last_value`, whether its nulls
    /// sort lowest (`None`: rows with a null ordering are ignored, as fabrik's `first`/`last`).
    order: Option<(Arc<dyn PhysicalExpr>, Option<bool>)>,
    label: String,
}

/// fabrik's streaming rollup as a DataFusion operator (see the module docs).
#[derive(Debug)]
pub struct RollupExec {
    input: Arc<dyn ExecutionPlan>,
    groups: Vec<GroupCol>,
    aggs: Vec<AggCol>,
    schema: SchemaRef,
    /// The order DataFusion's aggregate promised, which this operator keeps by sorting.
    ordering: Option<LexOrdering>,
    properties: Arc<PlanProperties>,
}

impl RollupExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        groups: Vec<GroupCol>,
        aggs: Vec<AggCol>,
        schema: SchemaRef,
        ordering: Option<LexOrdering>,
    ) -> Self {
        let eq = match &ordering {
            Some(o) => EquivalenceProperties::new_with_orderings(Arc::clone(&schema), [o.clone()]),
            None => EquivalenceProperties::new(Arc::clone(&schema)),
        };
        let properties = Arc::new(PlanProperties::new(
            eq,
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        RollupExec {
            input,
            groups,
            aggs,
            schema,
            ordering,
            properties,
        }
    }

    /// The kernel's spec and the expressions to evaluate per batch, in column order.
    fn spec(&self) -> (RollupSpec, Vec<Arc<dyn PhysicalExpr>>) {
        let mut exprs: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
        let mut keys = Vec::new();
        let mut bucket = None;
        for g in &self.groups {
            match g {
                GroupCol::Key(e) => {
                    keys.push(exprs.len());
                    exprs.push(Arc::clone(e));
                }
                GroupCol::Bucket { ts, bucket: b, .. } => {
                    bucket = Some((exprs.len(), *b));
                    exprs.push(Arc::clone(ts));
                }
            }
        }
        // Aggregates of the same argument read the same column, so the kernel sees that
        // they can share a pass over it (and the expression is evaluated once). Orderings
        // get columns of their own: their nulls are filled before the fold.
        let mut aggs = Vec::new();
        let mut arg_columns: Vec<usize> = Vec::new();
        for a in &self.aggs {
            let arg = a.arg.as_ref().map(|e| {
                match arg_columns
                    .iter()
                    .find(|&&i| exprs[i].as_ref() == e.as_ref())
                {
                    Some(&i) => i,
                    None => {
                        exprs.push(Arc::clone(e));
                        arg_columns.push(exprs.len() - 1);
                        exprs.len() - 1
                    }
                }
            });
            let order = a.order.as_ref().map(|(e, _)| {
                exprs.push(Arc::clone(e));
                exprs.len() - 1
            });
            aggs.push(AggInput {
                agg: a.agg,
                arg,
                order,
            });
        }
        (RollupSpec { keys, bucket, aggs }, exprs)
    }
}

impl DisplayAs for RollupExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| match g {
                GroupCol::Key(e) => e.to_string(),
                GroupCol::Bucket { label, .. } => label.clone(),
            })
            .collect();
        let aggs: Vec<&str> = self.aggs.iter().map(|a| a.label.as_str()).collect();
        write!(
            f,
            "FabrikRollupExec: gby=[{}], aggr=[{}]",
            groups.join(", "),
            aggs.join(", ")
        )
    }
}

impl ExecutionPlan for RollupExec {
    fn name(&self) -> &str {
        "FabrikRollupExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DFResult<TreeNodeRecursion>,
    ) -> DFResult<TreeNodeRecursion> {
        let (_, exprs) = self.spec();
        datafusion::physical_plan::execution_plan::apply_expression_roots(exprs.iter(), f)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(RollupExec::new(
                input,
                self.groups.clone(),
                self.aggs.clone(),
                Arc::clone(&self.schema),
                self.ordering.clone(),
            ))),
            _ => Err(DataFusionError::Internal(
                "FabrikRollupExec takes one child".to_owned(),
            )),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DFResult<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "FabrikRollupExec has one partition, asked for {partition}"
            )));
        }
        let (spec, exprs) = self.spec();
        let sorted = sorted_by_key_and_time(&self.input, &spec, &exprs)?;
        let input_schema = self.input.schema();
        let types: Vec<DataType> = exprs
            .iter()
            .map(|e| e.data_type(&input_schema))
            .collect::<DFResult<_>>()?;
        let parts = self.input.output_partitioning().partition_count();
        let mut streams = Vec::with_capacity(parts);
        let stats = StatisticsContext::new();
        let rows_of = |p: Option<usize>| {
            stats
                .compute(
                    self.input.as_ref(),
                    &StatisticsArgs::new().with_partition(p),
                )
                .ok()
                .and_then(|s| s.num_rows.get_value().copied())
        };
        for p in 0..parts {
            // The partition's row count, where the input knows it, lets the kernel size
            // its states once (see `Rollup::with_expected_rows`). The other partitions
            // merge into the first one: it makes room for the groups of all of them.
            let rows = if p == 0 {
                rows_of(None)
            } else {
                rows_of(Some(p))
            };
            streams.push((rows, self.input.execute(p, Arc::clone(&context))?));
        }
        let schema = Arc::clone(&self.schema);
        let groups = self.groups.clone();
        let aggs = self.aggs.clone();
        let ordering = self.ordering.clone();
        let exprs = Arc::new(exprs);
        let fut = async move {
            // Every input partition folds into a partial rollup of its own, concurrently.
            let mut tasks = datafusion::common::runtime::JoinSet::new();
            for (i, (rows, mut stream)) in streams.into_iter().enumerate() {
                let spec = spec.clone();
                let types = types.clone();
                let exprs = Arc::clone(&exprs);
                let aggs = aggs.clone();
                tasks.spawn(async move {
                    let mut rollup = Rollup::new(spec.clone(), &types).map_err(kernel_error)?;
                    if sorted {
                        rollup = rollup.with_sorted_input();
                    }
                    if let Some(rows) = rows {
                        rollup = rollup.with_expected_rows(rows as u64);
                    }
                    while let Some(batch) = stream.next().await {
                        let batch = batch?;
                        let columns = evaluate(&exprs, &spec, &aggs, &batch)?;
                        rollup.update(&columns).map_err(kernel_error)?;
                    }
                    Ok::<_, DataFusionError>((i, rollup))
                });
            }
            let mut partials: Vec<(usize, Rollup)> = Vec::new();
            while let Some(done) = tasks.join_next().await {
                partials.push(done.map_err(|e| DataFusionError::External(Box::new(e)))??);
            }
            // Merge in partition order, so groups come out in input order.
            partials.sort_by_key(|(i, _)| *i);
            let mut iter = partials.into_iter().map(|(_, r)| r);
            let mut total = match iter.next() {
                Some(r) => r,
                None => Rollup::new(spec, &types).map_err(kernel_error)?,
            };
            for r in iter {
                total.merge(r).map_err(kernel_error)?;
            }
            let out = total.finish().map_err(kernel_error)?;
            output_batch(&schema, &groups, out, ordering.as_ref())
        };
        let stream = futures::stream::once(fut);
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }
}

/// Whether every partition of `input` is declared sorted by the rollup's one key and then
/// by its bucket's timestamp (ascending): then the kernel finds runs by search rather than
/// by reading every row ([`Rollup::with_sorted_input`], which trusts the order as
/// DataFusion trusts a declared one).
fn sorted_by_key_and_time(
    input: &Arc<dyn ExecutionPlan>,
    spec: &RollupSpec,
    exprs: &[Arc<dyn PhysicalExpr>],
) -> DFResult<bool> {
    let (&[k], Some((t, _))) = (spec.keys.as_slice(), spec.bucket) else {
        return Ok(false);
    };
    let eq = input.equivalence_properties();
    for nulls_first in [false, true] {
        let options = SortOptions {
            descending: false,
            nulls_first,
        };
        let order = [
            PhysicalSortExpr::new(Arc::clone(&exprs[k]), options),
            PhysicalSortExpr::new(Arc::clone(&exprs[t]), options),
        ];
        if eq.ordering_satisfy(order)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn kernel_error(e: fabrik_kernels::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The rollup's input columns for one batch: group expressions, then each aggregate's
/// argument and ordering (nulls of an ordering mapped to its smallest or largest value).
fn evaluate(
    exprs: &[Arc<dyn PhysicalExpr>],
    spec: &RollupSpec,
    aggs: &[AggCol],
    batch: &RecordBatch,
) -> DFResult<Vec<ArrayRef>> {
    let n = batch.num_rows();
    let mut cols = exprs
        .iter()
        .map(|e| e.evaluate(batch)?.into_array(n))
        .collect::<DFResult<Vec<_>>>()?;
    // Each ordering has a column of its own (see `RollupExec::spec`).
    for (a, input) in aggs.iter().zip(&spec.aggs) {
        if let (Some((_, Some(nulls_first))), Some(idx)) = (&a.order, input.order)
            && cols[idx].null_count() > 0
        {
            cols[idx] = fill_order_nulls(&cols[idx], *nulls_first)?;
        }
    }
    Ok(cols)
}

/// An ordering column with nulls replaced by the smallest (nulls first) or largest value.
fn fill_order_nulls(col: &ArrayRef, nulls_first: bool) -> DFResult<ArrayRef> {
    let as_i64 = cast(col, &DataType::Int64)?;
    let a = as_i64
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| {
            DataFusionError::Internal("ordering column is not Int64 after a cast".to_owned())
        })?;
    let fill = if nulls_first { i64::MIN } else { i64::MAX };
    let filled: Int64Array = a.iter().map(|v| Some(v.unwrap_or(fill))).collect();
    Ok(cast(&(Arc::new(filled) as ArrayRef), col.data_type())?)
}

/// Assembles the output in the schema's column order and types, sorted if asked.
fn output_batch(
    schema: &SchemaRef,
    groups: &[GroupCol],
    out: fabrik_kernels::rollup::RollupOutput,
    ordering: Option<&LexOrdering>,
) -> DFResult<RecordBatch> {
    let mut keys = out.keys.into_iter();
    let mut bucket = out.bucket;
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for g in groups {
        let col = match g {
            GroupCol::Key(_) => keys.next(),
            GroupCol::Bucket { .. } => bucket.take(),
        };
        cols.push(col.ok_or_else(|| {
            DataFusionError::Internal("rollup output lacks a group column".to_owned())
        })?);
    }
    cols.extend(out.aggs);
    let rows = cols.first().map_or(0, |c| c.len());
    let cols = cols
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c)
            } else {
                Ok(cast(&c, f.data_type())?)
            }
        })
        .collect::<DFResult<Vec<_>>>()?;
    let batch = RecordBatch::try_new_with_options(
        Arc::clone(schema),
        cols,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?;
    match ordering {
        Some(o) if batch.num_rows() > 1 => {
            let sort_cols = o
                .iter()
                .map(|s| {
                    Ok(SortColumn {
                        values: s.expr.evaluate(&batch)?.into_array(batch.num_rows())?,
                        options: Some(s.options),
                    })
                })
                .collect::<DFResult<Vec<_>>>()?;
            // Over input in (key, ts) order, merged in partition order, the groups
            // usually come out in the required order already: check before sorting.
            let cmp = LexicographicalComparator::try_new(&sort_cols)?;
            if (1..batch.num_rows()).all(|i| cmp.compare(i - 1, i) != Ordering::Greater) {
                return Ok(batch);
            }
            let idx = lexsort_to_indices(&sort_cols, None)?;
            let cols = batch
                .columns()
                .iter()
                .map(|c| take(c.as_ref(), &idx, None))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RecordBatch::try_new(Arc::clone(schema), cols)?)
        }
        _ => Ok(batch),
    }
}

/// The physical optimizer rule that replaces DataFusion's aggregation by
/// [`RollupExec`] where fabrik's kernel computes it (see the module docs).
#[derive(Debug, Default)]
pub struct RollupRule;

impl PhysicalOptimizerRule for RollupRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        // The root has no parent: nothing above needs its partitioning.
        replace(plan, false)
    }

    fn name(&self) -> &str {
        RULE_NAME
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Replaces the aggregations of the plan under `node` (children first), and `node` itself if
/// it is one. `keep_hash`: something above relies on `node`'s hash partitioning, so a
/// replacement is repartitioned as DataFusion's aggregate was. That is the case when an
/// ancestor requires hash distribution of its input (a partitioned join, an aggregation
/// repartitioned by its keys) or interleaves its inputs (`InterleaveExec`, a `UNION ALL`
/// whose inputs are partitioned alike), and every node in between passes its input's hash
/// partitioning up (a projection, a filter); a sort, a merge or the root does not need it.
fn replace(node: Arc<dyn ExecutionPlan>, keep_hash: bool) -> DFResult<Arc<dyn ExecutionPlan>> {
    let required = node.input_distribution_requirements();
    let interleaves = node.downcast_ref::<InterleaveExec>().is_some();
    let passes_hash = keep_hash
        && node.children().len() == 1
        && node.downcast_ref::<RepartitionExec>().is_none()
        && matches!(node.output_partitioning(), Partitioning::Hash(..));
    let mut changed = false;
    let mut children = Vec::new();
    for (i, child) in node.children().into_iter().enumerate() {
        let required_hash = !matches!(
            required.child_distribution(i),
            None | Some(Distribution::UnspecifiedDistribution | Distribution::SinglePartition)
        );
        let new = replace(
            Arc::clone(child),
            required_hash || interleaves || passes_hash,
        )?;
        changed |= !Arc::ptr_eq(&new, child);
        children.push(new);
    }
    let node = if changed {
        node.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )?
    } else {
        node
    };
    Ok(match rewrite(&node)? {
        Some((rollup, partitioning)) if keep_hash => repartitioned(rollup, partitioning)?,
        Some((rollup, _)) => rollup,
        None => node,
    })
}

/// `rollup` hash-partitioned as DataFusion's aggregate was, when it had several partitions.
fn repartitioned(
    rollup: Arc<dyn ExecutionPlan>,
    partitioning: Partitioning,
) -> DFResult<Arc<dyn ExecutionPlan>> {
    if partitioning.partition_count() > 1 {
        Ok(Arc::new(
            RepartitionExec::try_new(rollup, partitioning)?.with_preserve_order(),
        ))
    } else {
        Ok(rollup)
    }
}

/// The replacement of `node`, if it is an aggregation the rollup computes, with the
/// partitioning DataFusion's aggregate had (for [`repartitioned`]).
fn rewrite(
    node: &Arc<dyn ExecutionPlan>,
) -> DFResult<Option<(Arc<dyn ExecutionPlan>, Partitioning)>> {
    let Some(top) = node.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    // The aggregation whose group and aggregate expressions refer to the raw input.
    let (first, input) = match top.mode() {
        AggregateMode::Single | AggregateMode::SinglePartitioned => (top, top.input()),
        AggregateMode::Final | AggregateMode::FinalPartitioned => {
            let mut below = top.input();
            loop {
                if below.downcast_ref::<AggregateExec>().is_some() {
                    break;
                } else if below.downcast_ref::<RepartitionExec>().is_some()
                    || below.downcast_ref::<CoalescePartitionsExec>().is_some()
                    || below.downcast_ref::<SortPreservingMergeExec>().is_some()
                    || below.downcast_ref::<SortExec>().is_some()
                    || below.name() == "CoalesceBatchesExec"
                {
                    match below.children().as_slice() {
                        [child] => below = child,
                        _ => return Ok(None),
                    }
                } else {
                    return Ok(None);
                }
            }
            let Some(partial) = below.downcast_ref::<AggregateExec>() else {
                return Ok(None);
            };
            if partial.mode() != &AggregateMode::Partial {
                return Ok(None);
            }
            (partial, partial.input())
        }
        _ => return Ok(None),
    };
    if first.group_expr().has_grouping_set()
        || first.limit_options().is_some()
        || first.filter_expr().iter().any(Option::is_some)
        || first.group_expr().expr().is_empty()
    {
        return Ok(None);
    }
    let input_schema = input.schema();
    let mut groups = Vec::new();
    let mut ts_cols: Vec<String> = Vec::new();
    for (expr, _name) in first.group_expr().expr() {
        match bucket_of(expr, &input_schema)? {
            Some(b) => {
                if groups.iter().any(|g| matches!(g, GroupCol::Bucket { .. })) {
                    return Ok(None);
                }
                if let GroupCol::Bucket { ts, .. } = &b
                    && let Some(c) = ts.downcast_ref::<Column>()
                {
                    ts_cols.push(c.name().to_owned());
                }
                groups.push(b);
            }
            None => {
                let t = expr.data_type(&input_schema)?;
                if !fabrik_kernels::rollup::supports_key(&t) {
                    return Ok(None);
                }
                groups.push(GroupCol::Key(Arc::clone(expr)));
            }
        }
    }
    let mut aggs = Vec::new();
    for a in first.aggr_expr() {
        match agg_of(a, &input_schema)? {
            Some(x) => aggs.push(x),
            None => return Ok(None),
        }
    }
    if !laid_out_for_rollup(input, &groups, &ts_cols)? {
        return Ok(None);
    }
    let ordering = top.properties().output_ordering().cloned();
    // fabrik's scan of the files below DataFusion's scan of whole local Parquet files (a
    // lake table's): it reads text keys as dictionaries, so the rollup works on indices
    // rather than on strings. Opened once: it reads every file's footer.
    let local = match input.downcast_ref::<ParquetScanExec>() {
        Some(_) => None,
        None => scan_of_local_files(input),
    };
    let scan = input.downcast_ref::<ParquetScanExec>().or(local.as_ref());
    let input: Arc<dyn ExecutionPlan> =
        match scan.and_then(|s| latest_value_scan(s, &groups, &aggs)) {
            Some(run_ends) => Arc::new(run_ends),
            None => match local {
                Some(local) => Arc::new(local),
                None => Arc::clone(input),
            },
        };
    let rollup: Arc<dyn ExecutionPlan> =
        Arc::new(RollupExec::new(input, groups, aggs, top.schema(), ordering));
    let partitioning = top.properties().output_partitioning().clone();
    Ok(Some((rollup, partitioning)))
}

/// For the latest value per key — every aggregate is `max(ts)` or the last value by `ts`,
/// grouped by plain key columns — over fabrik's Parquet scan of files sorted by the keys
/// and then `ts`: the scan in run-end mode, which decodes the other columns only at the
/// last row of each key run (see [`ParquetScanExec::with_run_ends`]).
fn latest_value_scan(
    scan: &ParquetScanExec,
    groups: &[GroupCol],
    aggs: &[AggCol],
) -> Option<ParquetScanExec> {
    let column =
        |e: &Arc<dyn PhysicalExpr>| e.downcast_ref::<Column>().map(|c| c.name().to_owned());
    let keys: Vec<String> = groups
        .iter()
        .map(|g| match g {
            GroupCol::Key(e) => column(e),
            GroupCol::Bucket { .. } => None,
        })
        .collect::<Option<_>>()?;
    let mut ts: Option<String> = None;
    for a in aggs {
        let t = match (a.agg, &a.arg, &a.order) {
            (Agg::Max, Some(arg), None) => column(arg)?,
            (Agg::Last, Some(_), Some((order, _))) => column(order)?,
            _ => return None,
        };
        if ts.get_or_insert_with(|| t.clone()) != &t {
            return None;
        }
    }
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    scan.with_run_ends(&keys, ts.as_deref()?)
}

/// fabrik's scan of the whole local Parquet files that DataFusion's scan below `input`
/// reads (a lake table's: see [`ParquetScanExec::of_local_files`]), in `input`'s number of
/// partitions. A round-robin repartition above the scan is left out: fabrik's scan makes
/// its own partitions, and the rollup's aggregates do not depend on the order of rows.
fn scan_of_local_files(input: &Arc<dyn ExecutionPlan>) -> Option<ParquetScanExec> {
    let partitions = input.output_partitioning().partition_count();
    let scan_node = match input.downcast_ref::<RepartitionExec>() {
        Some(r) if matches!(r.partitioning(), Partitioning::RoundRobinBatch(_)) => r.input(),
        _ => input,
    };
    ParquetScanExec::of_local_files(scan_node, partitions)
}

/// Whether the rollup suits the input: runs of equal groups are long (the input is ordered
/// by a group key or by the bucketed timestamp), or the query is a time rollup (it groups
/// by a bucket: keys are entities such as machines, sensors or products, few next to the
/// rows, and the kernel finds long runs of them on its own even where no order is
/// declared — files sorted by a sensor are sorted by its machine too — and maps rows to
/// groups one by one where runs are short), or every key is dictionary-encoded (dense ids
/// without hashing text).
fn laid_out_for_rollup(
    input: &Arc<dyn ExecutionPlan>,
    groups: &[GroupCol],
    ts_cols: &[String],
) -> DFResult<bool> {
    let schema = input.schema();
    if let Some(order) = input.output_ordering()
        && let lead = order.first()
        && let Some(c) = lead.expr.downcast_ref::<Column>()
    {
        let is_key = groups.iter().any(|g| match g {
            GroupCol::Key(e) => e
                .downcast_ref::<Column>()
                .is_some_and(|k| k.index() == c.index()),
            GroupCol::Bucket { .. } => false,
        });
        if is_key || ts_cols.iter().any(|t| t == c.name()) {
            return Ok(true);
        }
    }
    if groups.iter().any(|g| matches!(g, GroupCol::Bucket { .. })) {
        return Ok(true);
    }
    for g in groups {
        if let GroupCol::Key(e) = g
            && !matches!(e.data_type(&schema)?, DataType::Dictionary(_, _))
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The time bucket an expression computes, if it is `date_bin`, `date_trunc` or
/// `time_bucket` of a timestamp with literal parameters that fabrik's buckets reproduce.
fn bucket_of(expr: &Arc<dyn PhysicalExpr>, schema: &SchemaRef) -> DFResult<Option<GroupCol>> {
    let Some(f) = expr.downcast_ref::<ScalarFunctionExpr>() else {
        return Ok(None);
    };
    let args = f.args();
    let lit = |i: usize| {
        args.get(i)
            .and_then(|a| a.downcast_ref::<Literal>())
            .map(|l| l.value().clone())
    };
    let ts = match f.name() {
        "date_bin" | "date_trunc" | "time_bucket" => args.get(1),
        _ => None,
    };
    let Some(ts) = ts else {
        return Ok(None);
    };
    // DataFusion casts the timestamp to nanoseconds for date_bin; bucketing the column in
    // its own unit gives the same bucket starts (the output is cast back) without
    // converting every row.
    let ts = match ts.downcast_ref::<CastExpr>() {
        Some(c) if matches!(c.expr().data_type(schema)?, DataType::Timestamp(_, _)) => c.expr(),
        _ => ts,
    };
    let DataType::Timestamp(unit, tz) = ts.data_type(schema)? else {
        return Ok(None);
    };
    // Origins as nanoseconds, as DataFusion coerces them.
    let origin_ns = |i: usize| match lit(i) {
        Some(ScalarValue::TimestampNanosecond(Some(v), _)) => Some(Some(v)),
        Some(ScalarValue::TimestampMicrosecond(Some(v), _)) => v.checked_mul(1_000).map(Some),
        Some(ScalarValue::TimestampMillisecond(Some(v), _)) => v.checked_mul(1_000_000).map(Some),
        Some(ScalarValue::TimestampSecond(Some(v), _)) => v.checked_mul(1_000_000_000).map(Some),
        _ => None,
    };
    let text = |i: usize| match lit(i) {
        Some(
            ScalarValue::Utf8(Some(g))
            | ScalarValue::Utf8View(Some(g))
            | ScalarValue::LargeUtf8(Some(g)),
        ) => Some(g),
        _ => None,
    };
    let interval = match lit(0) {
        Some(ScalarValue::IntervalMonthDayNano(Some(iv))) => Some(iv),
        _ => None,
    };
    let bucket = match (f.name(), args.len()) {
        ("date_bin", 2) => interval.and_then(|iv| date_bin_spec(iv, None, unit)),
        ("date_bin", 3) => match (interval, origin_ns(2)) {
            (Some(iv), Some(origin)) => date_bin_spec(iv, origin, unit),
            _ => None,
        },
        ("date_trunc", 2) => text(0).and_then(|g| date_trunc_spec(&g, tz.as_deref(), unit)),
        ("time_bucket", 2) => interval.and_then(|iv| time_bucket_spec(iv, None, None, unit).ok()),
        ("time_bucket", 3) => match (interval, origin_ns(2), text(2)) {
            (Some(iv), Some(origin), _) => time_bucket_spec(iv, origin, None, unit).ok(),
            (Some(iv), None, Some(zone)) => time_bucket_spec(iv, None, Some(&zone), unit).ok(),
            _ => None,
        },
        _ => None,
    };
    Ok(bucket.map(|bucket| GroupCol::Bucket {
        ts: Arc::clone(ts),
        bucket,
        label: expr.to_string(),
    }))
}

/// The kernel aggregate computing `a`, if there is one.
fn agg_of(a: &Arc<AggregateFunctionExpr>, schema: &SchemaRef) -> DFResult<Option<AggCol>> {
    if a.is_distinct() || a.ignore_nulls() {
        return Ok(None);
    }
    let args = a.expressions();
    let name = a.fun().name().to_owned();
    let label = a.name().to_owned();
    let arg0 = args.first().cloned();
    let simple = |agg: Agg| -> DFResult<Option<AggCol>> {
        if !a.order_bys().is_empty() || args.len() != 1 {
            return Ok(None);
        }
        let Some(arg) = arg0.clone() else {
            return Ok(None);
        };
        let t = arg.data_type(schema)?;
        if !fabrik_kernels::rollup::supports(&agg, &t) {
            return Ok(None);
        }
        Ok(Some(AggCol {
            agg,
            arg: Some(arg),
            order: None,
            label: label.clone(),
        }))
    };
    match name.as_str() {
        "count" => {
            if args.len() != 1 || !a.order_bys().is_empty() {
                return Ok(None);
            }
            let Some(arg) = arg0 else { return Ok(None) };
            let constant = arg
                .downcast_ref::<Literal>()
                .is_some_and(|l| !l.value().is_null());
            Ok(Some(AggCol {
                agg: if constant { Agg::CountRows } else { Agg::Count },
                arg: (!constant).then_some(arg),
                order: None,
                label,
            }))
        }
        "sum" => simple(Agg::Sum),
        "min" => simple(Agg::Min),
        "max" => simple(Agg::Max),
        "avg" => simple(Agg::Mean),
        "var" => simple(Agg::Variance {
            sample: true,
            sqrt: false,
        }),
        "var_pop" => simple(Agg::Variance {
            sample: false,
            sqrt: false,
        }),
        "stddev" => simple(Agg::Variance {
            sample: true,
            sqrt: true,
        }),
        "stddev_pop" => simple(Agg::Variance {
            sample: false,
            sqrt: true,
        }),
        "first_value" | "last_value" => {
            let [order] = a.order_bys() else {
                return Ok(None);
            };
            let Some(arg) = arg0 else { return Ok(None) };
            if args.len() != 1 {
                return Ok(None);
            }
            let last = (name == "last_value") != order.options.descending;
            let agg = if last { Agg::Last } else { Agg::First };
            // With a descending order the kernel's smallest-first view flips, and so does
            // where nulls sort.
            let nulls_low = order.options.nulls_first != order.options.descending;
            let ot = order.expr.data_type(schema)?;
            if !fabrik_kernels::rollup::supports(&agg, &arg.data_type(schema)?)
                || !matches!(
                    ot,
                    DataType::Timestamp(_, _)
                        | DataType::Int64
                        | DataType::Date32
                        | DataType::Date64
                )
                || order.options.descending
            {
                return Ok(None);
            }
            Ok(Some(AggCol {
                agg,
                arg: Some(arg),
                order: Some((Arc::clone(&order.expr), Some(nulls_low))),
                label,
            }))
        }
        "first" | "last" => {
            // fabrik's first(value, ts) / last(value, ts): rows with a null ts are ignored.
            let [value, ts] = args.as_slice() else {
                return Ok(None);
            };
            if !a.order_bys().is_empty() {
                return Ok(None);
            }
            let agg = if name == "last" {
                Agg::Last
            } else {
                Agg::First
            };
            let ot = ts.data_type(schema)?;
            if !fabrik_kernels::rollup::supports(&agg, &value.data_type(schema)?)
                || !matches!(
                    ot,
                    DataType::Timestamp(_, _)
                        | DataType::Int64
                        | DataType::Date32
                        | DataType::Date64
                )
            {
                return Ok(None);
            }
            Ok(Some(AggCol {
                agg,
                arg: Some(Arc::clone(value)),
                order: Some((Arc::clone(ts), None)),
                label,
            }))
        }
        "percentile_cont" => {
            if args.len() != 2 {
                return Ok(None);
            }
            let q = match args[1].downcast_ref::<Literal>().map(|l| l.value()) {
                Some(ScalarValue::Float64(Some(q))) => *q,
                Some(ScalarValue::Float32(Some(q))) => f64::from(*q),
                _ => return Ok(None),
            };
            let q = match a.order_bys() {
                [] => q,
                [o] if o.options.descending => 1.0 - q,
                [_] => q,
                _ => return Ok(None),
            };
            if !(0.0..=1.0).contains(&q) {
                return Ok(None);
            }
            let Some(arg) = arg0 else { return Ok(None) };
            if arg.data_type(schema)? != DataType::Float64 {
                return Ok(None);
            }
            Ok(Some(AggCol {
                agg: Agg::QuantileCont(q),
                arg: Some(arg),
                order: None,
                label,
            }))
        }
        _ => Ok(None),
    }
}
