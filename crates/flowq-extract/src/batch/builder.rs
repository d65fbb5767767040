//! Finished flows to Arrow record batches, column by column.

use super::chunk::Chunk;
use super::schema::{Column, Kind, schema_of};
use crate::decode::AddrBytes;
use crate::features::RowFeatures;
use crate::flow::FinishedFlow;
use crate::timestamp::TimestampStyle;
use arrow::array::{
    ArrayRef, ArrowPrimitiveType, BinaryBuilder, FixedSizeListBuilder, Float64Builder, Int8Builder,
    Int32Builder, Int64Builder, ListBuilder, PrimitiveArray, StringBuilder,
};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::SchemaRef;
use arrow::datatypes::{
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow::record_batch::RecordBatch;
use std::fmt::Write as _;
use std::net::Ipv6Addr;
use std::sync::Arc;

/// Default rows per record batch.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// A typed builder for one column (shared by the flow and packet builders).
pub(super) enum ColumnBuilder {
    I8(PrimitiveColumn<Int8Type>),
    I16(PrimitiveColumn<Int16Type>),
    I32(PrimitiveColumn<Int32Type>),
    I64(PrimitiveColumn<Int64Type>),
    F64(PrimitiveColumn<Float64Type>),
    Text(StringBuilder),
    TimestampUs(PrimitiveColumn<TimestampMicrosecondType>),
    ListI8(ListBuilder<Int8Builder>),
    ListI32(ListBuilder<Int32Builder>),
    ListI64(ListBuilder<Int64Builder>),
    ListF64(ListBuilder<Float64Builder>),
    FixedI8(FixedSizeListBuilder<Int8Builder>),
    FixedI32(FixedSizeListBuilder<Int32Builder>),
    FixedI64(FixedSizeListBuilder<Int64Builder>),
    Binary(BinaryBuilder),
    ListBinary(ListBuilder<BinaryBuilder>),
    ListText(ListBuilder<StringBuilder>),
}

impl ColumnBuilder {
    pub(super) fn new(kind: Kind, rows: usize) -> Self {
        match kind {
            Kind::I8 => ColumnBuilder::I8(PrimitiveColumn::with_capacity(rows)),
            Kind::I16 => ColumnBuilder::I16(PrimitiveColumn::with_capacity(rows)),
            Kind::I32 => ColumnBuilder::I32(PrimitiveColumn::with_capacity(rows)),
            Kind::I64 => ColumnBuilder::I64(PrimitiveColumn::with_capacity(rows)),
            Kind::F64 => ColumnBuilder::F64(PrimitiveColumn::with_capacity(rows)),
            Kind::Text => ColumnBuilder::Text(StringBuilder::with_capacity(rows, rows * 16)),
            Kind::TimestampUs => ColumnBuilder::TimestampUs(PrimitiveColumn::with_capacity(rows)),
            Kind::ListI8 => {
                ColumnBuilder::ListI8(ListBuilder::with_capacity(Int8Builder::new(), rows))
            }
            Kind::ListI32 => {
                ColumnBuilder::ListI32(ListBuilder::with_capacity(Int32Builder::new(), rows))
            }
            Kind::ListI64 => {
                ColumnBuilder::ListI64(ListBuilder::with_capacity(Int64Builder::new(), rows))
            }
            Kind::ListF64 => {
                ColumnBuilder::ListF64(ListBuilder::with_capacity(Float64Builder::new(), rows))
            }
            Kind::FixedI8(n) => ColumnBuilder::FixedI8(FixedSizeListBuilder::with_capacity(
                Int8Builder::new(),
                n,
                rows,
            )),
            Kind::FixedI32(n) => ColumnBuilder::FixedI32(FixedSizeListBuilder::with_capacity(
                Int32Builder::new(),
                n,
                rows,
            )),
            Kind::FixedI64(n) => ColumnBuilder::FixedI64(FixedSizeListBuilder::with_capacity(
                Int64Builder::new(),
                n,
                rows,
            )),
            Kind::Binary => ColumnBuilder::Binary(BinaryBuilder::with_capacity(rows, rows * 16)),
            Kind::ListBinary => {
                ColumnBuilder::ListBinary(ListBuilder::with_capacity(BinaryBuilder::new(), rows))
            }
            Kind::ListText => {
                ColumnBuilder::ListText(ListBuilder::with_capacity(StringBuilder::new(), rows))
            }
        }
    }

    pub(super) fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::I8(b) => Arc::new(b.finish()),
            ColumnBuilder::I16(b) => Arc::new(b.finish()),
            ColumnBuilder::I32(b) => Arc::new(b.finish()),
            ColumnBuilder::I64(b) => Arc::new(b.finish()),
            ColumnBuilder::F64(b) => Arc::new(b.finish()),
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::TimestampUs(b) => Arc::new(b.finish().with_timezone("UTC")),
            ColumnBuilder::ListI8(b) => Arc::new(b.finish()),
            ColumnBuilder::ListI32(b) => Arc::new(b.finish()),
            ColumnBuilder::ListI64(b) => Arc::new(b.finish()),
            ColumnBuilder::ListF64(b) => Arc::new(b.finish()),
            ColumnBuilder::FixedI8(b) => Arc::new(b.finish()),
            ColumnBuilder::FixedI32(b) => Arc::new(b.finish()),
            ColumnBuilder::FixedI64(b) => Arc::new(b.finish()),
            ColumnBuilder::Binary(b) => Arc::new(b.finish()),
            ColumnBuilder::ListBinary(b) => Arc::new(b.finish()),
            ColumnBuilder::ListText(b) => Arc::new(b.finish()),
        }
    }
}

/// Values and validity of one primitive column. Arrow's builders cost a call
/// and, once a column has a null, a bit operation per value; this costs two
/// stores, and the validity bitmap is packed once per batch, only when the
/// batch has a null.
pub(super) struct PrimitiveColumn<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    valid: Vec<bool>,
    nulls: usize,
    capacity: usize,
}

impl<T: ArrowPrimitiveType> PrimitiveColumn<T> {
    fn with_capacity(capacity: usize) -> Self {
        PrimitiveColumn {
            values: Vec::with_capacity(capacity),
            valid: Vec::with_capacity(capacity),
            nulls: 0,
            capacity,
        }
    }

    #[inline]
    pub(super) fn append_value(&mut self, value: T::Native) {
        self.values.push(value);
        self.valid.push(true);
    }

    #[inline]
    pub(super) fn append_null(&mut self) {
        self.values.push(T::Native::default());
        self.valid.push(false);
        self.nulls += 1;
    }

    fn finish(&mut self) -> PrimitiveArray<T> {
        let values = if self.values.len().saturating_mul(2) <= self.capacity {
            // A short batch (the last of a capture) gets a copy of its own
            // size, and the column keeps its room for the next batch. Handing
            // over the full-size vector and shrinking it left a hole just too
            // small for the next full-size one: a stream over many small
            // captures grew by that much per capture, though nothing held it.
            let copy = self.values.to_vec();
            self.values.clear();
            copy
        } else {
            std::mem::replace(&mut self.values, Vec::with_capacity(self.capacity))
        };
        let nulls = (self.nulls > 0).then(|| NullBuffer::from(self.valid.as_slice()));
        self.valid.clear();
        self.nulls = 0;
        PrimitiveArray::new(ScalarBuffer::from(values), nulls)
    }
}

/// A value of one cell.
pub(super) enum Value<'s> {
    Null,
    Int(i64),
    Text(&'s str),
    TimestampUs(i64),
}

/// Reused buffers that cells borrow from, so building a row allocates nothing.
#[derive(Default)]
pub(super) struct Scratch {
    pub text: String,
    pub ints: Vec<i64>,
    pub floats: Vec<f64>,
    pub bytes: Vec<u8>,
}

/// Flows buffered before their cells are built: cells are built column by
/// column over this many flows, so each column's dispatch runs once per chunk
/// and its loop stays hot, while the chunk (about 1 KB per flow in the
/// statistical profiles) stays in the CPU's cache.
const CHUNK_FLOWS: usize = 256;

/// Accumulates finished flows (of per-flow state `F`) into record batches of
/// a fixed column list.
pub struct FlowBatchBuilder<F> {
    columns: Vec<Column>,
    schema: SchemaRef,
    builders: Vec<ColumnBuilder>,
    /// Rows in `builders` plus the flows pending in `pending`.
    rows: usize,
    batch_rows: usize,
    /// Flows whose cells are not built yet (at most [`CHUNK_FLOWS`]).
    pending: Vec<FinishedFlow<F>>,
    context: RowContext,
    scratch: Scratch,
}

/// What the cells of a row read besides the flow itself.
#[derive(Clone, Copy)]
struct RowContext {
    /// How the current capture stores timestamps, for the `seed` profile's
    /// duration text.
    timestamp_style: TimestampStyle,
    /// Added to each flow's first-packet ordinal to make its `flow_id`: the number
    /// of packets of the inputs before the current one.
    id_offset: u64,
    cic: super::cic::CicContext,
    /// Seed of the `community_id` column.
    community_id_seed: u16,
}

impl<F: RowFeatures> FlowBatchBuilder<F> {
    /// A builder for `columns`, cutting batches of `batch_rows` rows.
    pub fn new(columns: &[Column], batch_rows: usize) -> Self {
        let batch_rows = batch_rows.max(1);
        FlowBatchBuilder {
            columns: columns.to_vec(),
            schema: schema_of(columns),
            builders: columns
                .iter()
                .map(|c| ColumnBuilder::new(c.def().kind, batch_rows))
                .collect(),
            rows: 0,
            batch_rows,
            pending: Vec::with_capacity(CHUNK_FLOWS),
            context: RowContext {
                timestamp_style: TimestampStyle::FixedDigits(6),
                id_offset: 0,
                cic: super::cic::CicContext {
                    flow_timeout_ns: None,
                },
                community_id_seed: 0,
            },
            scratch: Scratch::default(),
        }
    }

    /// Sets the active timeout, which the CIC profiles' reproduced idle bug uses.
    pub fn set_flow_timeout(&mut self, timeout_ns: Option<i64>) {
        self.build_pending();
        self.context.cic.flow_timeout_ns = timeout_ns;
    }

    /// Sets the seed of the `community_id` column.
    pub fn set_community_id_seed(&mut self, seed: u16) {
        self.build_pending();
        self.context.community_id_seed = seed;
    }

    /// The schema of the batches this builder produces.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Sets the number of packets read before the input whose flows follow.
    pub fn set_id_offset(&mut self, offset: u64) {
        self.build_pending();
        self.context.id_offset = offset;
    }

    /// Sets how the capture whose flows follow stores timestamps.
    pub fn set_timestamp_style(&mut self, style: TimestampStyle) {
        self.build_pending();
        self.context.timestamp_style = style;
    }

    /// Rows appended since the last batch was cut.
    pub fn buffered_rows(&self) -> usize {
        self.rows
    }

    /// Appends one flow; returns a batch when `batch_rows` rows have accumulated.
    pub fn push(&mut self, mut flow: FinishedFlow<F>) -> Option<RecordBatch> {
        // The application metadata is rendered once, before its columns read it.
        flow.features.standard_mut().app.seal();
        self.pending.push(flow);
        let full_chunk = self.pending.len() >= CHUNK_FLOWS;
        self.rows += 1;
        if self.rows >= self.batch_rows {
            Some(self.cut())
        } else {
            if full_chunk {
                self.build_pending();
            }
            None
        }
    }

    /// Cuts a batch of the rows buffered so far (possibly empty).
    pub fn cut(&mut self) -> RecordBatch {
        self.build_pending();
        let rows = std::mem::take(&mut self.rows);
        finish_batch(&self.schema, &mut self.builders, rows, self.batch_rows)
    }

    /// Appends the pending flows' cells to the column builders and empties
    /// the buffer.
    fn build_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let context = self.context;
        let flow_id = FlowId {
            offset: context.id_offset,
        };
        for (&column, builder) in self.columns.iter().zip(self.builders.iter_mut()) {
            let mut chunk = Chunk {
                flows: &self.pending,
                builder,
                scratch: &mut self.scratch,
            };
            match column {
                Column::Cic(_, c) => super::cic::fill(c, &mut chunk, context.cic),
                Column::App(c) => super::app::fill(c, &mut chunk, context.community_id_seed),
                _ => fill(column, &mut chunk, flow_id, context.timestamp_style),
            }
        }
        self.pending.clear();
    }
}

/// How a flow's `flow_id` is made: the ordinal of its first packet plus the
/// packets of the run's inputs before its own.
#[derive(Clone, Copy)]
pub(super) struct FlowId {
    offset: u64,
}

impl FlowId {
    /// The getter of the `flow_id` cell.
    pub(super) fn of<F>(self) -> impl Fn(&FinishedFlow<F>) -> i64 {
        move |f| i64::try_from(f.first_packet + self.offset).unwrap_or(i64::MAX)
    }
}

/// Finishes every builder into a batch of `rows` rows (of builders sized for
/// `batch_rows`).
///
/// A short batch (the last of a capture) gives back the room its builders
/// had for `batch_rows` rows: otherwise each keeps about 1 MB however few
/// rows it has, and a consumer that holds every batch (pyarrow's `read_all`
/// of a stream over many small captures) holds that much per capture.
pub(super) fn finish_batch(
    schema: &SchemaRef,
    builders: &mut [ColumnBuilder],
    rows: usize,
    batch_rows: usize,
) -> RecordBatch {
    let mut arrays: Vec<ArrayRef> = builders.iter_mut().map(ColumnBuilder::finish).collect();
    if rows.saturating_mul(2) <= batch_rows {
        for array in &mut arrays {
            // The array was just made, so its buffers are not shared.
            arrow::array::Array::shrink_to_fit(array);
        }
    }
    // The arrays match the schema by construction (same column list, same kinds).
    RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        // The row count matters when no column is projected (`count(*)`).
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .expect("column builders always match the schema they were made from")
}

pub(super) fn append(builder: &mut ColumnBuilder, value: Value<'_>) {
    match (builder, value) {
        (ColumnBuilder::I8(b), Value::Null) => b.append_null(),
        (ColumnBuilder::I16(b), Value::Null) => b.append_null(),
        (ColumnBuilder::I32(b), Value::Null) => b.append_null(),
        (ColumnBuilder::I64(b), Value::Null) => b.append_null(),
        (ColumnBuilder::F64(b), Value::Null) => b.append_null(),
        (ColumnBuilder::Text(b), Value::Null) => b.append_null(),
        (ColumnBuilder::TimestampUs(b), Value::Null) => b.append_null(),
        (ColumnBuilder::ListI8(b), Value::Null) => b.append_null(),
        (ColumnBuilder::ListI32(b), Value::Null) => b.append_null(),
        (ColumnBuilder::ListI64(b), Value::Null) => b.append_null(),
        (ColumnBuilder::ListF64(b), Value::Null) => b.append_null(),
        // A null fixed-size list still holds its length of (null) values.
        (ColumnBuilder::FixedI8(b), Value::Null) => {
            let n = b.value_length() as usize;
            b.values().append_nulls(n);
            b.append(false);
        }
        (ColumnBuilder::FixedI32(b), Value::Null) => {
            let n = b.value_length() as usize;
            b.values().append_nulls(n);
            b.append(false);
        }
        (ColumnBuilder::FixedI64(b), Value::Null) => {
            let n = b.value_length() as usize;
            b.values().append_nulls(n);
            b.append(false);
        }
        (ColumnBuilder::Binary(b), Value::Null) => b.append_null(),
        (ColumnBuilder::ListBinary(b), Value::Null) => b.append_null(),
        (ColumnBuilder::ListText(b), Value::Null) => b.append_null(),
        (ColumnBuilder::I8(b), Value::Int(v)) => b.append_value(v as i8),
        (ColumnBuilder::I16(b), Value::Int(v)) => b.append_value(v as i16),
        (ColumnBuilder::I32(b), Value::Int(v)) => b.append_value(v as i32),
        (ColumnBuilder::I64(b), Value::Int(v)) => b.append_value(v),
        (ColumnBuilder::Text(b), Value::Text(v)) => b.append_value(v),
        (ColumnBuilder::TimestampUs(b), Value::TimestampUs(v)) => b.append_value(v),
        // Column kinds and cell values come from the same match on `Column`.
        _ => unreachable!("cell value does not match its column kind"),
    }
}

/// Fills `column` for the chunk's flows: the standard and `seed` columns
/// here, the statistical ones in `stats.rs` (the CIC ones, in `cic.rs`, are
/// dispatched by the caller).
fn fill<F: RowFeatures>(
    column: Column,
    chunk: &mut Chunk<'_, F>,
    flow_id: FlowId,
    timestamp_style: TimestampStyle,
) {
    fn std<F: RowFeatures>(f: &FinishedFlow<F>) -> &crate::features::StandardFeatures {
        f.features.standard()
    }
    let (src, dst) = (
        |f: &FinishedFlow<F>| f.endpoint_indices().0,
        |f: &FinishedFlow<F>| f.endpoint_indices().1,
    );
    match column {
        Column::FlowId => chunk.ints(flow_id.of()),
        Column::SrcIp => chunk.texts(|f, buf| ip_text(buf, &f.key.addr[src(f)], f.key.ip_version)),
        Column::DstIp => chunk.texts(|f, buf| ip_text(buf, &f.key.addr[dst(f)], f.key.ip_version)),
        Column::SrcPort => chunk.ints(|f| i64::from(f.key.port[src(f)])),
        Column::DstPort => chunk.ints(|f| i64::from(f.key.port[dst(f)])),
        Column::Protocol => chunk.ints(|f| i64::from(f.key.protocol)),
        Column::IpVersion => chunk.ints(|f| i64::from(f.key.ip_version)),
        Column::VlanId => chunk.ints(|f| i64::from(f.key.vlan_id)),
        Column::Tunnel => chunk.texts(|f, _| f.key.tunnel.name()),
        Column::FirstSeen => chunk.timestamps_us(|f| f.first_ns.div_euclid(1_000)),
        Column::LastSeen => chunk.timestamps_us(|f| f.last_ns.div_euclid(1_000)),
        Column::Duration => chunk.floats(|f| f.duration_ns() as f64 / 1e9),
        Column::PktCount => chunk.counts(|f| std(f).total().packets),
        Column::ByteCount => chunk.counts(|f| std(f).total().wire_bytes),
        Column::FwdPktCount => chunk.counts(|f| std(f).dir[0].packets),
        Column::BwdPktCount => chunk.counts(|f| std(f).dir[1].packets),
        Column::FwdByteCount => chunk.counts(|f| std(f).dir[0].wire_bytes),
        Column::BwdByteCount => chunk.counts(|f| std(f).dir[1].wire_bytes),
        Column::FwdPayloadBytes => chunk.counts(|f| std(f).dir[0].payload_bytes),
        Column::BwdPayloadBytes => chunk.counts(|f| std(f).dir[1].payload_bytes),
        Column::SynCount => chunk.counts(|f| std(f).flag_counts[0]),
        Column::FinCount => chunk.counts(|f| std(f).flag_counts[1]),
        Column::RstCount => chunk.counts(|f| std(f).flag_counts[2]),
        Column::PshCount => chunk.counts(|f| std(f).flag_counts[3]),
        Column::AckCount => chunk.counts(|f| std(f).flag_counts[4]),
        Column::UrgCount => chunk.counts(|f| std(f).flag_counts[5]),
        Column::EceCount => chunk.counts(|f| std(f).flag_counts[6]),
        Column::CwrCount => chunk.counts(|f| std(f).flag_counts[7]),
        Column::EndReason => chunk.texts(|f, _| f.end_reason.as_str()),
        Column::SeedDuration => chunk.texts(|f, buf| {
            buf.clear();
            let [first, last] = f.arrival_ns;
            super::seed::duration_text(buf, first, last, timestamp_style);
            buf
        }),
        Column::SeedByteCount => chunk.counts(|f| std(f).total().captured_bytes),
        _ => super::stats::fill(column, chunk, flow_id),
    }
}

/// Formats an address as text into `buf` (RFC 5952 form for IPv6).
pub(crate) fn ip_text<'s>(buf: &'s mut String, addr: &AddrBytes, version: u8) -> &'s str {
    buf.clear();
    push_ip(buf, addr, version);
    buf
}

/// Appends an address as text to `buf` (RFC 5952 form for IPv6).
pub(crate) fn push_ip(buf: &mut String, addr: &AddrBytes, version: u8) {
    if version == 4 {
        // The same text as `Ipv4Addr`'s `Display`, without the formatting
        // machinery (it was the largest cost of building a row).
        for (i, &octet) in addr[..4].iter().enumerate() {
            if i > 0 {
                buf.push('.');
            }
            if octet >= 100 {
                buf.push(char::from(b'0' + octet / 100));
            }
            if octet >= 10 {
                buf.push(char::from(b'0' + octet / 10 % 10));
            }
            buf.push(char::from(b'0' + octet % 10));
        }
    } else {
        // Writing to a String cannot fail.
        let _ = write!(buf, "{}", Ipv6Addr::from(*addr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn primitive_columns_start_each_batch_without_nulls() {
        use arrow::array::{Array, Int64Array};
        let mut column = PrimitiveColumn::<Int64Type>::with_capacity(4);
        column.append_value(1);
        column.append_null();
        column.append_value(2);
        let first = column.finish();
        assert_eq!(first, Int64Array::from(vec![Some(1), None, Some(2)]));
        assert_eq!(first.null_count(), 1);
        // A batch without nulls has no validity bitmap, as Arrow's builders give.
        column.append_value(3);
        let second = column.finish();
        assert_eq!(second, Int64Array::from(vec![3]));
        assert!(second.nulls().is_none());
        assert!(column.finish().is_empty());
    }

    /// A short batch of a primitive column gets a buffer of its own size,
    /// and the column keeps its room for the next batch (no full-size
    /// allocation per cut: its freed tail could not hold the next one).
    #[test]
    fn a_short_primitive_batch_is_copied_and_the_room_kept() {
        use arrow::array::Array;
        let mut column = PrimitiveColumn::<Int64Type>::with_capacity(8192);
        let room = column.values.as_ptr();
        for v in 0..3 {
            column.append_value(v);
        }
        let short = column.finish();
        assert_eq!(short.values().as_ref(), &[0, 1, 2]);
        assert_eq!(short.get_buffer_memory_size(), 3 * 8);
        assert_eq!(column.values.as_ptr(), room, "the room is kept");
        assert!(column.values.capacity() >= 8192);
        // A full batch hands its vector over and starts a new one.
        for v in 0..8192 {
            column.append_value(v);
        }
        assert_eq!(column.finish().len(), 8192);
        assert!(column.values.capacity() >= 8192 && column.values.is_empty());
    }

    /// A short batch does not keep the room of a full one.
    #[test]
    fn a_short_batch_gives_back_its_builders_room() {
        use crate::batch::schema::Kind;
        use arrow::datatypes::{DataType, Field, Schema};
        let batch_rows = 8192;
        let kinds = [Kind::I64, Kind::F64, Kind::Text, Kind::ListI32];
        let schema = Arc::new(Schema::new(
            kinds
                .iter()
                .enumerate()
                .map(|(i, kind)| {
                    let data_type = match ColumnBuilder::new(*kind, 1).finish().data_type() {
                        DataType::List(_) => {
                            DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true)))
                        }
                        other => other.clone(),
                    };
                    Field::new(format!("c{i}"), data_type, true)
                })
                .collect::<Vec<_>>(),
        ));
        let build = |rows: usize| {
            let mut builders: Vec<ColumnBuilder> = kinds
                .iter()
                .map(|k| ColumnBuilder::new(*k, batch_rows))
                .collect();
            for row in 0..rows {
                for builder in &mut builders {
                    match builder {
                        ColumnBuilder::I64(b) => b.append_value(row as i64),
                        ColumnBuilder::F64(b) => b.append_value(row as f64),
                        ColumnBuilder::Text(b) => b.append_value("name.example"),
                        ColumnBuilder::ListI32(b) => {
                            b.values().append_value(row as i32);
                            b.append(true);
                        }
                        _ => unreachable!(),
                    }
                }
            }
            finish_batch(&schema, &mut builders, rows, batch_rows)
        };
        let short = build(3);
        assert_eq!(short.num_rows(), 3);
        // 8192 rows of an i64 alone take 64 KiB.
        let size = short.get_array_memory_size();
        assert!(size < 4096, "a 3-row batch takes {size} bytes");
        // A full batch is left as built.
        let full = build(batch_rows);
        assert!(full.get_array_memory_size() > 8 * batch_rows);
    }

    #[test]
    fn ipv4_text_matches_display() {
        let mut buf = String::new();
        for a in [0u8, 1, 9, 10, 99, 100, 199, 200, 255] {
            for b in [0u8, 7, 42, 250] {
                let addr: AddrBytes = [a, b, 255 - a, a ^ b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                let want = Ipv4Addr::new(a, b, 255 - a, a ^ b).to_string();
                assert_eq!(ip_text(&mut buf, &addr, 4), want);
            }
        }
    }
}
