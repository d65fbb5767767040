//! Ballista extension codecs for flowq's plan nodes: the capture table
//! ([`PcapTable`], in logical plans sent from the client to the scheduler) and
//! its scan ([`PcapScanExec`], in the stages the scheduler sends to executors).
//!
//! Each codec wraps Ballista's own (which handles its shuffle nodes and the
//! Parquet/CSV/JSON/Arrow file formats) and seals every payload in a versioned
//! envelope (see [`super::wire`]), so a process of another flowq build fails
//! with a message instead of misreading a plan.

use super::scan::{ClusterPcapTable, PcapFilesExec};
use super::wire::{self, FilesBody, Kind, ScanBody, TableBody, WireOptions};
use crate::sql::pcap_table::{PcapScanExec, PcapTable};
use crate::sql::udf;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_expr_common::physical_expr::proto_decode::PhysicalExprDecodeCtx;
use datafusion::physical_expr_common::physical_expr::proto_encode::PhysicalExprEncodeCtx;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use flowq_extract::ExtractOptions;
use std::sync::Arc;

/// The body of a capture table. Relative paths are made absolute here, where
/// the query was written: on an executor they would name other files or none.
fn table_body(table: &PcapTable) -> TableBody {
    TableBody {
        rows: table.rows().into(),
        files: table
            .files()
            .iter()
            .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
            .collect(),
        options: WireOptions::from(table.options()),
    }
}

/// A capture table from its body.
fn table_from(body: TableBody) -> Result<PcapTable> {
    let options = ExtractOptions::try_from(body.options)?;
    Ok(PcapTable::new(body.rows.into(), body.files, options))
}

/// A scan from its body: the table, then the named columns of it.
fn scan_from(body: ScanBody) -> Result<PcapScanExec> {
    let table = table_from(body.table)?;
    let projection = projection_of(&table, &body.columns)?;
    table.scan_exec(Some(&projection))
}

/// The indices of the named columns in `table`.
fn projection_of(table: &PcapTable, columns: &[String]) -> Result<Vec<usize>> {
    let schema = table.schema();
    columns
        .iter()
        .map(|name| {
            schema.index_of(name).map_err(|_| {
                DataFusionError::Internal(format!(
                    "a capture scan reads the column `{name}`, which this flowq's {:?} table \
                     does not have: run the same flowq build everywhere",
                    table.rows()
                ))
            })
        })
        .collect()
}

fn files_body(scan: &PcapFilesExec) -> FilesBody {
    FilesBody {
        rows: scan.rows().into(),
        options: WireOptions::from(scan.options()),
        columns: scan.column_names(),
    }
}

fn files_from(body: FilesBody, input: Arc<dyn ExecutionPlan>) -> Result<PcapFilesExec> {
    let table = PcapTable::new(body.rows.into(), Vec::new(), body.options.try_into()?);
    let projection = projection_of(&table, &body.columns)?;
    PcapFilesExec::try_new(table.rows(), table.options(), projection, input)
}

fn scan_body(scan: &PcapScanExec) -> TableBody {
    TableBody {
        rows: scan.rows().into(),
        files: scan.files().to_vec(),
        options: WireOptions::from(scan.options()),
    }
}

/// flowq's function of that name, for plans whose registry lacks it.
fn flowq_udf(name: &str) -> Option<Arc<ScalarUDF>> {
    udf::functions()
        .into_iter()
        .find(|f| f.name() == name || f.aliases().iter().any(|a| a == name))
        .map(Arc::new)
}

fn unexpected(kind: Kind, wanted: &str) -> DataFusionError {
    DataFusionError::Internal(format!(
        "a flowq plan payload holds a {kind:?} where a {wanted} was expected"
    ))
}

/// flowq's logical codec: capture tables, then Ballista's for everything else.
#[derive(Debug)]
pub struct FlowqLogicalCodec {
    inner: Arc<dyn LogicalExtensionCodec>,
    /// Decode capture tables as [`ClusterPcapTable`]s (on the scheduler).
    cluster_scans: bool,
}

impl Default for FlowqLogicalCodec {
    fn default() -> Self {
        FlowqLogicalCodec::wrapping(Arc::new(BallistaLogicalExtensionCodec::default()))
    }
}

impl FlowqLogicalCodec {
    /// flowq's codec in front of `inner`.
    pub fn wrapping(inner: Arc<dyn LogicalExtensionCodec>) -> Self {
        FlowqLogicalCodec {
            inner,
            cluster_scans: false,
        }
    }

    /// The scheduler's codec: capture tables plan scans that Ballista can
    /// split between tasks (see [`super::scan`]).
    pub fn for_scheduler(mut self) -> Self {
        self.cluster_scans = true;
        self
    }
}

impl LogicalExtensionCodec for FlowqLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        match wire::open(buf)? {
            None => self.inner.try_decode(buf, inputs, ctx),
            Some((Kind::Inner, body)) => self.inner.try_decode(body, inputs, ctx),
            Some((kind, _)) => Err(unexpected(kind, "logical plan node")),
        }
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        let mut body = Vec::new();
        self.inner.try_encode(node, &mut body)?;
        wire::seal(Kind::Inner, &body, buf);
        Ok(())
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match wire::open(buf)? {
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
            Some((Kind::Inner, body)) => self
                .inner
                .try_decode_table_provider(body, table_ref, schema, ctx),
            Some((Kind::PcapTable, body)) => {
                let table = table_from(wire::from_json(body, "capture table")?)?;
                // The plan was typed against the sender's schema; a different
                // column list here would make every later step wrong.
                if table.schema().fields() != schema.fields() {
                    return Err(DataFusionError::Internal(format!(
                        "the capture table `{table_ref}` has other columns here than where \
                         the query was planned: run the same flowq build everywhere"
                    )));
                }
                Ok(match self.cluster_scans {
                    true => Arc::new(ClusterPcapTable::new(table)),
                    false => Arc::new(table),
                })
            }
            Some((kind, _)) => Err(unexpected(kind, "table")),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let table = node
            .downcast_ref::<PcapTable>()
            .or_else(|| node.downcast_ref::<ClusterPcapTable>().map(|t| t.table()));
        if let Some(table) = table {
            let body = wire::to_json(&table_body(table))?;
            wire::seal(Kind::PcapTable, &body, buf);
            return Ok(());
        }
        let mut body = Vec::new();
        self.inner
            .try_encode_table_provider(table_ref, node, &mut body)?;
        wire::seal(Kind::Inner, &body, buf);
        Ok(())
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        match wire::open(buf)? {
            None => self.inner.try_decode_file_format(buf, ctx),
            Some((Kind::Inner, body)) => self.inner.try_decode_file_format(body, ctx),
            Some((kind, _)) => Err(unexpected(kind, "file format")),
        }
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        let mut body = Vec::new();
        self.inner.try_encode_file_format(&mut body, node)?;
        wire::seal(Kind::Inner, &body, buf);
        Ok(())
    }

    // Functions travel by name (an empty payload); the registries of the
    // scheduler and executors hold flowq's, and these are the fallback.
    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        match flowq_udf(name) {
            Some(f) if buf.is_empty() => Ok(f),
            _ => self.inner.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

/// flowq's physical codec: capture scans, then Ballista's for everything else.
#[derive(Debug)]
pub struct FlowqPhysicalCodec {
    inner: Arc<dyn PhysicalExtensionCodec>,
    /// Named in the errors of the scans this codec decodes (an executor).
    location: Option<Arc<str>>,
}

impl Default for FlowqPhysicalCodec {
    fn default() -> Self {
        FlowqPhysicalCodec::wrapping(Arc::new(BallistaPhysicalExtensionCodec::default()))
    }
}

impl FlowqPhysicalCodec {
    /// flowq's codec in front of `inner`.
    pub fn wrapping(inner: Arc<dyn PhysicalExtensionCodec>) -> Self {
        FlowqPhysicalCodec {
            inner,
            location: None,
        }
    }

    /// The codec of an executor: the scans it decodes name `location` when a
    /// capture cannot be read there.
    pub fn at(mut self, location: impl Into<Arc<str>>) -> Self {
        self.location = Some(location.into());
        self
    }
}

impl PhysicalExtensionCodec for FlowqPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match wire::open(buf)? {
            None => self.inner.try_decode(buf, inputs, ctx, proto_converter),
            Some((Kind::Inner, body)) => self.inner.try_decode(body, inputs, ctx, proto_converter),
            Some((Kind::PcapFiles, body)) => {
                let [input] = inputs else {
                    return Err(DataFusionError::Internal(format!(
                        "a capture scan over paths has one input, but its plan node came with {}",
                        inputs.len()
                    )));
                };
                let scan = files_from(wire::from_json(body, "capture scan")?, Arc::clone(input))?;
                Ok(Arc::new(match &self.location {
                    Some(location) => scan.with_location(Arc::clone(location)),
                    None => scan,
                }))
            }
            Some((Kind::PcapScan, body)) => {
                if !inputs.is_empty() {
                    return Err(DataFusionError::Internal(format!(
                        "a capture scan has no inputs, but its plan node came with {}",
                        inputs.len()
                    )));
                }
                let scan = scan_from(wire::from_json(body, "capture scan")?)?;
                Ok(Arc::new(match &self.location {
                    Some(location) => scan.with_location(Arc::clone(location)),
                    None => scan,
                }))
            }
            Some((kind, _)) => Err(unexpected(kind, "execution plan")),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        if let Some(scan) = node.downcast_ref::<PcapFilesExec>() {
            wire::seal(Kind::PcapFiles, &wire::to_json(&files_body(scan))?, buf);
            return Ok(());
        }
        if let Some(scan) = node.downcast_ref::<PcapScanExec>() {
            let body = ScanBody {
                table: scan_body(scan),
                columns: scan
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect(),
            };
            wire::seal(Kind::PcapScan, &wire::to_json(&body)?, buf);
            return Ok(());
        }
        let mut body = Vec::new();
        self.inner.try_encode(node, &mut body, proto_converter)?;
        wire::seal(Kind::Inner, &body, buf);
        Ok(())
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        match flowq_udf(name) {
            Some(f) if buf.is_empty() => Ok(f),
            _ => self.inner.try_decode_udf(name, buf),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_expr(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn PhysicalExpr>],
        ctx: &PhysicalExprDecodeCtx<'_>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        self.inner.try_decode_expr(buf, inputs, ctx)
    }

    fn try_encode_expr(
        &self,
        node: &Arc<dyn PhysicalExpr>,
        buf: &mut Vec<u8>,
        ctx: &PhysicalExprEncodeCtx<'_>,
    ) -> Result<()> {
        self.inner.try_encode_expr(node, buf, ctx)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}
