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
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, RecordBatchStream,
    SendableRecordBatchStream,
};
use flowq_extract::batch::{Column, PACKET_COLUMNS, PacketColumn};
use flowq_extract::capture::InputSource;
use flowq_extract::{ExtractError, ExtractOptions, Extractor, InputStatus};
use futures::Stream;
use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

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

/// Why a batch did not reach the query.
#[derive(Debug)]
enum SendError {
    /// The query stopped reading (LIMIT reached, cancelled): not an error.
    Closed,
    /// The batch could not be built: the query must fail, not end short.
    Build(arrow::error::ArrowError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the query stopped reading"),
            SendError::Build(e) => write!(f, "cannot build a batch: {e}"),
        }
    }
}

impl std::error::Error for SendError {}

/// Test-only fault injection (debug builds only, so never in a release):
/// `FLOWQ_TEST_FAIL_SCAN_BATCH=N` makes building the N-th batch (from 0) of
/// each capture partition fail, as a real Arrow error would, so that tests can
/// check that such an error fails the query instead of truncating it.
#[cfg(debug_assertions)]
const FAIL_BATCH_ENV: &str = "FLOWQ_TEST_FAIL_SCAN_BATCH";

/// The extractor's batch with the `capture` column added where `columns` has it.
fn with_capture_column(
    batch: &RecordBatch,
    columns: &[TableColumn],
    capture: &ArrayRef,
    schema: &SchemaRef,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let rows = batch.num_rows();
    let mut arrays = Vec::with_capacity(columns.len());
    let mut next = 0;
    for column in columns {
        if *column == TableColumn::Capture {
            let indices = arrow::array::UInt32Array::from(vec![0u32; rows]);
            arrays.push(arrow::compute::take(capture, &indices, None)?);
        } else {
            arrays.push(Arc::clone(batch.column(next)));
            next += 1;
        }
    }
    RecordBatch::try_new_with_options(
        Arc::clone(schema),
        arrays,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows)),
    )
}

/// A scan partition's stream that, when dropped before its end (the query
/// has what it wanted, or was cancelled: Ctrl-C in the shell), tells the
/// extraction to stop. The extraction would notice a closed channel only when
/// it next sends a batch, and while no flow ends it sends none: without this
/// it could read the rest of a capture for nobody (and keep the process from
/// exiting, which waits for it).
struct StopOnDrop {
    inner: SendableRecordBatchStream,
    stop: Arc<AtomicBool>,
}

impl Stream for StopOnDrop {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl RecordBatchStream for StopOnDrop {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // Checked by the extraction every 1024 records.
        self.stop.store(true, Ordering::Relaxed);
    }
}

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
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        builder.spawn_blocking(move || {
            let name = file.display().to_string();
            let capture: ArrayRef = Arc::new(StringArray::from(vec![name.as_str()]));
            // Batches to build before the injected failure (debug builds).
            #[cfg(debug_assertions)]
            let mut fail_in: Option<usize> = std::env::var(FAIL_BATCH_ENV)
                .ok()
                .and_then(|v| v.parse().ok());
            // The extractor builds its own columns; `capture` is added here.
            let send = &mut |batch: RecordBatch| -> Result<(), SendError> {
                #[cfg(debug_assertions)]
                if let Some(left) = fail_in.as_mut() {
                    if *left == 0 {
                        return Err(SendError::Build(arrow::error::ArrowError::ComputeError(
                            format!("{FAIL_BATCH_ENV}: injected failure"),
                        )));
                    }
                    *left -= 1;
                }
                let out = with_capture_column(&batch, &columns, &capture, &schema)
                    .map_err(SendError::Build)?;
                tx.blocking_send(Ok(out)).map_err(|_| SendError::Closed)
            };
            let inputs = [InputSource::File(file.clone())];
            let extractor = Extractor::new(options).with_cancel(Arc::clone(&stopped));
            let result = match rows {
                Rows::Flows => {
                    let wanted: Vec<Column> = columns
                        .iter()
                        .filter_map(|c| match c {
                            TableColumn::Flow(c) => Some(*c),
                            _ => None,
                        })
                        .collect();
                    match extractor.with_columns(wanted) {
                        Ok(extractor) => extractor.run(&inputs, send),
                        Err(e) => {
                            return Err(DataFusionError::Execution(format!(
                                "capture {name}{on}: {e}"
                            )));
                        }
                    }
                }
                Rows::Packets => {
                    let wanted: Vec<PacketColumn> = columns
                        .iter()
                        .filter_map(|c| match c {
                            TableColumn::Packet(c) => Some(*c),
                            _ => None,
                        })
                        .collect();
                    extractor.run_packets(&inputs, &wanted, send)
                }
            };
            match result {
                // The query no longer wants rows (LIMIT reached, or cancelled).
                Err(ExtractError::Consumer(SendError::Closed)) => Ok(()),
                Ok(_) if stopped.load(Ordering::Relaxed) => Ok(()),
                Err(ExtractError::Consumer(e @ SendError::Build(_))) => Err(
                    DataFusionError::Execution(format!("capture {name}{on}: {e}")),
                ),
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
            }
        });
        Ok(Box::pin(StopOnDrop {
            inner: builder.build(),
            stop,
        }))
    }
}
