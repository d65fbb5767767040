//! Captures as tables: the flows (or packets) of pcap/pcapng files, extracted on
//! the fly by a DataFusion scan with one partition per capture file, so files are
//! read in parallel, and only the projected columns are built.

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, project_schema};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use flowq_extract::batch::{Column, PACKET_COLUMNS, PacketColumn};
use flowq_extract::capture::InputSource;
use flowq_extract::{ExtractError, ExtractOptions, Extractor, InputStatus};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Name of the extra column that says which capture file a row comes from.
pub const CAPTURE_COLUMN: &str = "capture";

/// What a capture table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// One row per flow, with the profile's columns.
    Flows,
    /// One row per IP packet.
    Packets,
}

/// One column of a capture table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TableColumn {
    Flow(Column),
    Packet(PacketColumn),
    Capture,
}

/// A table over capture files.
#[derive(Debug, Clone)]
pub struct PcapTable {
    rows: Rows,
    files: Vec<PathBuf>,
    options: ExtractOptions,
    columns: Vec<TableColumn>,
    schema: SchemaRef,
}

impl PcapTable {
    /// A table of `rows` over `files`, extracted with `options`.
    pub fn new(rows: Rows, files: Vec<PathBuf>, options: ExtractOptions) -> Self {
        let mut columns: Vec<TableColumn> = match rows {
            Rows::Flows => options
                .columns()
                .into_iter()
                .map(TableColumn::Flow)
                .collect(),
            Rows::Packets => PACKET_COLUMNS
                .iter()
                .map(|c| TableColumn::Packet(*c))
                .collect(),
        };
        columns.push(TableColumn::Capture);
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| match c {
                TableColumn::Flow(c) => c.field(),
                TableColumn::Packet(c) => c.field(),
                TableColumn::Capture => Field::new(CAPTURE_COLUMN, DataType::Utf8, false),
            })
            .collect();
        PcapTable {
            rows,
            files,
            options,
            columns,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// The scan of the columns at `projection` (all columns when `None`). An
    /// index out of range is an error, not a panic: plans decoded from the
    /// network (the `distributed` feature) come through here.
    pub fn scan_exec(&self, projection: Option<&[usize]>) -> Result<PcapScanExec> {
        let indices: Vec<usize> = match projection {
            Some(p) => p.to_vec(),
            None => (0..self.columns.len()).collect(),
        };
        if let Some(bad) = indices.iter().find(|&&i| i >= self.columns.len()) {
            return Err(DataFusionError::Plan(format!(
                "column {bad} of a capture table with {} columns",
                self.columns.len()
            )));
        }
        let schema = project_schema(&self.schema, Some(&indices))?;
        let columns = indices.iter().map(|&i| self.columns[i]).collect();
        Ok(PcapScanExec::new(
            self.rows,
            self.files.clone(),
            self.options,
            columns,
            schema,
        ))
    }
}

/// What the cluster codecs (`src/distributed/codec.rs`) serialise.
#[cfg(feature = "distributed")]
impl PcapTable {
    /// What the table holds.
    pub fn rows(&self) -> Rows {
        self.rows
    }

    /// The capture files, one scan partition each.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// How the captures are extracted.
    pub fn options(&self) -> ExtractOptions {
        self.options
    }
}

#[async_trait]
impl TableProvider for PcapTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
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
        Ok(Arc::new(self.scan_exec(projection.map(Vec::as_slice))?))
    }
}

/// Extracts flows or packets from capture files, one partition per file.
#[derive(Debug)]
pub struct PcapScanExec {
    rows: Rows,
    files: Vec<PathBuf>,
    options: ExtractOptions,
    columns: Vec<TableColumn>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    /// Where the scan runs, for error messages (an executor of a cluster).
    location: Option<Arc<str>>,
}

impl PcapScanExec {
    fn new(
        rows: Rows,
        files: Vec<PathBuf>,
        options: ExtractOptions,
        columns: Vec<TableColumn>,
        schema: SchemaRef,
    ) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            // Captures cannot be split: one partition per file (at least one, so
            // that an empty file list still plans).
            Partitioning::UnknownPartitioning(files.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        PcapScanExec {
            rows,
            files,
            options,
            columns,
            schema,
            properties,
            location: None,
        }
    }
}

/// What the cluster codecs (`src/distributed/codec.rs`) serialise and set.
#[cfg(feature = "distributed")]
impl PcapScanExec {
    /// The same scan, naming `location` (e.g. an executor) in its errors and
    /// warnings: on a cluster, a path one machine cannot read is the usual fault.
    pub fn with_location(mut self, location: impl Into<Arc<str>>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// What the scan produces.
    pub fn rows(&self) -> Rows {
        self.rows
    }

    /// The capture files, one partition each.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// How the captures are extracted.
    pub fn options(&self) -> ExtractOptions {
        self.options
    }
}

impl DisplayAs for PcapScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let names: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "PcapScanExec: rows={:?}, files={}, projection=[{}]",
            self.rows,
            self.files.len(),
            names.join(", ")
        )
    }
}

/// The consumer stopped reading (the query finished early or was cancelled).
#[derive(Debug)]
struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("query stopped reading")
    }
}

impl std::error::Error for Stopped {}

impl ExecutionPlan for PcapScanExec {
    fn name(&self) -> &str {
        "PcapScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut builder = RecordBatchReceiverStream::builder(Arc::clone(&self.schema), 2);
        let Some(file) = self.files.get(partition).cloned() else {
            // The single partition of a scan over no files: no rows.
            return Ok(builder.build());
        };
        let tx = builder.tx();
        let (rows, options, columns, schema) = (
            self.rows,
            self.options,
            self.columns.clone(),
            Arc::clone(&self.schema),
        );
        let on = self
            .location
            .as_deref()
            .map(|l| format!(" on {l}"))
            .unwrap_or_default();
        builder.spawn_blocking(move || {
            let name = file.display().to_string();
            let capture: ArrayRef = Arc::new(StringArray::from(vec![name.as_str()]));
            // The extractor builds its own columns; `capture` is added here.
            let send = &mut |batch: RecordBatch| -> Result<(), Stopped> {
                let rows_in = batch.num_rows();
                let mut arrays = Vec::with_capacity(columns.len());
                let mut next = 0;
                for column in &columns {
                    if *column == TableColumn::Capture {
                        let indices = arrow::array::UInt32Array::from(vec![0u32; rows_in]);
                        let repeated =
                            arrow::compute::take(&capture, &indices, None).map_err(|_| Stopped)?;
                        arrays.push(repeated);
                    } else {
                        arrays.push(Arc::clone(batch.column(next)));
                        next += 1;
                    }
                }
                let out = RecordBatch::try_new_with_options(
                    Arc::clone(&schema),
                    arrays,
                    &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows_in)),
                )
                .map_err(|_| Stopped)?;
                tx.blocking_send(Ok(out)).map_err(|_| Stopped)
            };
            let inputs = [InputSource::File(file.clone())];
            let result = match rows {
                Rows::Flows => {
                    let wanted: Vec<Column> = columns
                        .iter()
                        .filter_map(|c| match c {
                            TableColumn::Flow(c) => Some(*c),
                            _ => None,
                        })
                        .collect();
                    Extractor::new(options)
                        .with_columns(wanted)
                        .run(&inputs, send)
                }
                Rows::Packets => {
                    let wanted: Vec<PacketColumn> = columns
                        .iter()
                        .filter_map(|c| match c {
                            TableColumn::Packet(c) => Some(*c),
                            _ => None,
                        })
                        .collect();
                    Extractor::new(options).run_packets(&inputs, &wanted, send)
                }
            };
            match result {
                Ok(summary) => {
                    for input in &summary.inputs {
                        match input.status {
                            InputStatus::Failed => {
                                return Err(DataFusionError::Execution(format!(
                                    "cannot read capture {}{on}: {}",
                                    input.name,
                                    input.message.as_deref().unwrap_or("unknown error")
                                )));
                            }
                            InputStatus::Partial => eprintln!(
                                "flowq: warning: {}{on}: {}; the packets before it were used",
                                input.name,
                                input.message.as_deref().unwrap_or("read stopped early")
                            ),
                            InputStatus::Complete => {}
                        }
                    }
                    Ok(())
                }
                // The query no longer wants rows (LIMIT reached, or cancelled).
                Err(ExtractError::Consumer(Stopped)) => Ok(()),
            }
        });
        Ok(builder.build())
    }
}
