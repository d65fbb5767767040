//! The capture scan as the scheduler plans it: one partition per capture
//! file, in a shape Ballista can split between tasks.
//!
//! Ballista 55 hands a task a slice of a stage's partitions and runs *every*
//! partition of the plan it sends; before sending, it cuts the plan's leaves
//! down to the slice, but only leaves it knows (file and memory scans, shuffle
//! readers). A [`PcapScanExec`] leaf would be sent whole, and every task would
//! extract every capture. So on the scheduler the scan becomes
//! [`PcapFilesExec`]: a node over an in-memory leaf with one partition per
//! capture, each holding that capture's path. Ballista cuts the leaf; the node
//! extracts the captures its input hands it, with the plain `PcapScanExec`.

use crate::sql::pcap_table::{PcapScanExec, PcapTable, Rows};
use arrow::array::{Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use flowq_extract::ExtractOptions;
use futures::TryStreamExt;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// The column of the path leaf.
const PATH_COLUMN: &str = "path";

/// The scheduler's view of a capture table: plans [`PcapFilesExec`].
#[derive(Debug)]
pub struct ClusterPcapTable {
    table: PcapTable,
}

impl ClusterPcapTable {
    pub fn new(table: PcapTable) -> Self {
        ClusterPcapTable { table }
    }

    /// The table it plans for.
    pub fn table(&self) -> &PcapTable {
        &self.table
    }
}

#[async_trait]
impl TableProvider for ClusterPcapTable {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let all: Vec<usize>;
        let projection = match projection {
            Some(p) => p.as_slice(),
            None => {
                all = (0..self.table.schema().fields().len()).collect();
                &all
            }
        };
        let files = paths_exec(self.table.files())?;
        Ok(Arc::new(PcapFilesExec::try_new(
            self.table.rows(),
            self.table.options(),
            projection.to_vec(),
            files,
        )?))
    }
}

/// The in-memory leaf: partition `i` is one row holding the path of file `i`.
fn paths_exec(files: &[PathBuf]) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        PATH_COLUMN,
        DataType::Utf8,
        false,
    )]));
    let mut partitions = Vec::with_capacity(files.len());
    for file in files {
        let path = file.to_str().ok_or_else(|| {
            DataFusionError::Plan(format!(
                "the capture path {} is not UTF-8, which a cluster plan cannot carry",
                file.display()
            ))
        })?;
        let array = Arc::new(StringArray::from(vec![path]));
        partitions.push(vec![RecordBatch::try_new(
            Arc::clone(&schema),
            vec![array],
        )?]);
    }
    Ok(MemorySourceConfig::try_new_exec(&partitions, schema, None)?)
}

/// Extracts the captures whose paths its input yields, partition by partition.
#[derive(Debug)]
pub struct PcapFilesExec {
    rows: Rows,
    options: ExtractOptions,
    /// Columns of the capture table, as indices into its full schema.
    projection: Vec<usize>,
    schema: SchemaRef,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
    /// Named in errors (the executor).
    location: Option<Arc<str>>,
}

impl PcapFilesExec {
    /// The scan of `projection` of a capture table over the paths of `input`.
    pub fn try_new(
        rows: Rows,
        options: ExtractOptions,
        projection: Vec<usize>,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Self> {
        let input_schema = input.schema();
        let path_field = input_schema.fields().first();
        if input_schema.fields().len() != 1
            || path_field.is_none_or(|f| f.data_type() != &DataType::Utf8)
        {
            return Err(DataFusionError::Internal(format!(
                "a capture scan needs an input of one text column of paths, not {input_schema}"
            )));
        }
        // The plain scan checks the projection and gives the schema.
        let template = PcapTable::new(rows, Vec::new(), options).scan_exec(Some(&projection))?;
        let schema = template.schema();
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(
                input.properties().output_partitioning().partition_count(),
            ),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(PcapFilesExec {
            rows,
            options,
            projection,
            schema,
            input,
            properties,
            location: None,
        })
    }

    /// The same scan, naming `location` in its errors.
    pub fn with_location(mut self, location: Arc<str>) -> Self {
        self.location = Some(location);
        self
    }

    pub fn rows(&self) -> Rows {
        self.rows
    }

    pub fn options(&self) -> ExtractOptions {
        self.options
    }

    /// The produced columns' names, in order.
    pub fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }
}

impl DisplayAs for PcapFilesExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "PcapFilesExec: rows={:?}, projection=[{}]",
            self.rows,
            self.column_names().join(", ")
        )
    }
}

impl ExecutionPlan for PcapFilesExec {
    fn name(&self) -> &str {
        "PcapFilesExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    // Round-robin or hash repartitioning of a handful of paths would only
    // reshuffle which task extracts which file.
    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children).map_err(|c| {
            DataFusionError::Internal(format!("PcapFilesExec takes 1 input, not {}", c.len()))
        })?;
        let scan = PcapFilesExec::try_new(self.rows, self.options, self.projection.clone(), input)?;
        Ok(Arc::new(match &self.location {
            Some(location) => scan.with_location(Arc::clone(location)),
            None => scan,
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let paths = self.input.execute(partition, Arc::clone(&context))?;
        let (rows, options, projection, location) = (
            self.rows,
            self.options,
            self.projection.clone(),
            self.location.clone(),
        );
        // Each path is extracted by the plain scan (one file, one partition),
        // one after the other: parallelism comes from the tasks.
        let batches = paths
            .map_ok(|batch| {
                let column = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .map(|a| {
                        (0..a.len())
                            .filter(|&i| a.is_valid(i))
                            .map(|i| PathBuf::from(a.value(i)))
                            .collect::<Vec<_>>()
                    });
                futures::stream::iter(column.unwrap_or_default().into_iter().map(Ok))
            })
            .try_flatten()
            .and_then(move |path: PathBuf| {
                let (projection, location, context) =
                    (projection.clone(), location.clone(), Arc::clone(&context));
                async move {
                    let scan: PcapScanExec =
                        PcapTable::new(rows, vec![path], options).scan_exec(Some(&projection))?;
                    let scan = match location {
                        Some(location) => scan.with_location(location),
                        None => scan,
                    };
                    scan.execute(0, context)
                }
            })
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            batches,
        )))
    }
}
