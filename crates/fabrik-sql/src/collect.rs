//! [`CollectExec`]: an operator that reads its whole input, computes one result from it
//! and returns that result from memory: the execution of table functions that need all
//! their input before answering (a forecast needs whole series) or run queries of their
//! own (the analyses of `fabrik-ops`).
//!
//! A table function's provider plans its input (or none) while the query is planned and
//! returns a `CollectExec` from [`TableProvider::scan`](datafusion::catalog::TableProvider::scan);
//! the [`CollectJob`] runs when the query is executed, so `EXPLAIN` computes nothing.
//!
//! ```
//! # use std::sync::Arc;
//! # use datafusion::arrow::array::{Int64Array, RecordBatch};
//! # use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
//! # use datafusion::error::Result;
//! # use datafusion::execution::TaskContext;
//! use fabrik_sql::collect::{CollectExec, CollectJob};
//!
//! /// The number of input rows.
//! #[derive(Debug)]
//! struct CountRows;
//!
//! #[async_trait::async_trait]
//! impl CollectJob for CountRows {
//!     fn schema(&self) -> SchemaRef {
//!         Arc::new(Schema::new(vec![Field::new("rows", DataType::Int64, false)]))
//!     }
//!
//!     async fn run(&self, input: Vec<RecordBatch>, _: Arc<TaskContext>) -> Result<RecordBatch> {
//!         let rows = input.iter().map(|b| b.num_rows() as i64).sum::<i64>();
//!         Ok(RecordBatch::try_new(self.schema(), vec![Arc::new(Int64Array::from(vec![rows]))])?)
//!     }
//!
//!     fn describe(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
//!         write!(f, "CountRows")
//!     }
//! }
//!
//! let exec = CollectExec::try_new(None, Arc::new(CountRows), None)?;
//! # Ok::<(), datafusion::error::DataFusionError>(())
//! ```

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PhysicalExpr, PlanProperties,
};
use futures::TryStreamExt;

/// What a [`CollectExec`] computes.
#[async_trait]
pub trait CollectJob: fmt::Debug + Send + Sync {
    /// The schema of the result (before the scan's projection).
    fn schema(&self) -> SchemaRef;

    /// Computes the result from every batch of the input (of all its partitions, in no
    /// particular order across partitions; empty without an input). `context` is the
    /// executing task's (its session id, configuration and memory pool).
    async fn run(
        &self,
        input: Vec<RecordBatch>,
        context: Arc<TaskContext>,
    ) -> DFResult<RecordBatch>;

    /// One line for `EXPLAIN`, e.g. `ForecastExec: frequency=week, horizon=12`.
    fn describe(&self, f: &mut fmt::Formatter) -> fmt::Result;
}

/// The operator: one output partition holding the [`CollectJob`]'s result, projected as
/// the scan asked, computed from the whole input (see the [module docs](self)).
#[derive(Debug)]
pub struct CollectExec {
    input: Option<Arc<dyn ExecutionPlan>>,
    job: Arc<dyn CollectJob>,
    projection: Option<Vec<usize>>,
    properties: Arc<PlanProperties>,
}

impl CollectExec {
    /// The operator running `job` over `input` (or over nothing), its result projected to
    /// `projection` (column indices of [`CollectJob::schema`]; `None` keeps them all).
    /// Fails when a projected index is out of range.
    pub fn try_new(
        input: Option<Arc<dyn ExecutionPlan>>,
        job: Arc<dyn CollectJob>,
        projection: Option<Vec<usize>>,
    ) -> DFResult<Self> {
        let schema = job.schema();
        let projected = match &projection {
            Some(p) => Arc::new(schema.project(p)?),
            None => schema,
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(projected),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Ok(CollectExec {
            input,
            job,
            projection,
            properties: Arc::new(properties),
        })
    }

    /// The job.
    pub fn job(&self) -> &Arc<dyn CollectJob> {
        &self.job
    }
}

impl DisplayAs for CollectExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        self.job.describe(f)
    }
}

impl ExecutionPlan for CollectExec {
    fn name(&self) -> &str {
        "CollectExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.input.iter().collect()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DFResult<TreeNodeRecursion>,
    ) -> DFResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let expected = usize::from(self.input.is_some());
        if children.len() != expected {
            return Err(DataFusionError::Internal(format!(
                "CollectExec takes {expected} child(ren), got {}",
                children.len()
            )));
        }
        Ok(Arc::new(CollectExec::try_new(
            children.pop(),
            Arc::clone(&self.job),
            self.projection.clone(),
        )?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DFResult<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "CollectExec has one partition, asked for {partition}"
            )));
        }
        let stream = match &self.input {
            Some(input) => {
                let input: Arc<dyn ExecutionPlan> =
                    if input.output_partitioning().partition_count() > 1 {
                        Arc::new(CoalescePartitionsExec::new(Arc::clone(input)))
                    } else {
                        Arc::clone(input)
                    };
                Some(input.execute(0, Arc::clone(&context))?)
            }
            None => None,
        };
        let job = Arc::clone(&self.job);
        let projection = self.projection.clone();
        let schema = self.properties.eq_properties.schema().clone();
        let out = futures::stream::once(async move {
            let batches: Vec<RecordBatch> = match stream {
                Some(s) => s.try_collect().await?,
                None => Vec::new(),
            };
            let batch = job.run(batches, context).await?;
            match projection {
                Some(p) => Ok(batch.project(&p)?),
                None => Ok(batch),
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, out)))
    }
}
