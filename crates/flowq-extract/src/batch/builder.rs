//! Finished flows to Arrow record batches, column by column.

use super::schema::{Column, Kind, schema_of};
use crate::capture::TimestampStyle;
use crate::decode::AddrBytes;
use crate::flow::{FinishedFlow, FlowFeatures};
use arrow::array::{
    ArrayRef, Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use std::fmt::Write as _;
use std::net::Ipv6Addr;
use std::sync::Arc;

/// Default rows per record batch.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// A typed Arrow builder for one column (shared by the flow and packet builders).
pub(super) enum ColumnBuilder {
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Text(StringBuilder),
    TimestampUs(TimestampMicrosecondBuilder),
    ListI8(ListBuilder<Int8Builder>),
    ListI32(ListBuilder<Int32Builder>),
    ListI64(ListBuilder<Int64Builder>),
    ListF64(ListBuilder<Float64Builder>),
}

impl ColumnBuilder {
    pub(super) fn new(kind: Kind, rows: usize) -> Self {
        match kind {
            Kind::I8 => ColumnBuilder::I8(Int8Builder::with_capacity(rows)),
            Kind::I16 => ColumnBuilder::I16(Int16Builder::with_capacity(rows)),
            Kind::I32 => ColumnBuilder::I32(Int32Builder::with_capacity(rows)),
            Kind::I64 => ColumnBuilder::I64(Int64Builder::with_capacity(rows)),
            Kind::F64 => ColumnBuilder::F64(Float64Builder::with_capacity(rows)),
            Kind::Text => ColumnBuilder::Text(StringBuilder::with_capacity(rows, rows * 16)),
            Kind::TimestampUs => ColumnBuilder::TimestampUs(
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            ),
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
            ColumnBuilder::TimestampUs(b) => Arc::new(b.finish()),
            ColumnBuilder::ListI8(b) => Arc::new(b.finish()),
            ColumnBuilder::ListI32(b) => Arc::new(b.finish()),
            ColumnBuilder::ListI64(b) => Arc::new(b.finish()),
            ColumnBuilder::ListF64(b) => Arc::new(b.finish()),
        }
    }
}

/// A value of one cell.
pub(super) enum Value<'s> {
    Null,
    Int(i64),
    Float(f64),
    Text(&'s str),
    TimestampUs(i64),
    Ints(&'s [i64]),
    Floats(&'s [f64]),
}

impl Value<'_> {
    /// A count as an Int64 cell (counts past `i64::MAX` cannot happen in
    /// practice; they saturate rather than wrap).
    pub(super) fn count(v: u64) -> Value<'static> {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

/// Reused buffers that cells borrow from, so building a row allocates nothing.
#[derive(Default)]
pub(super) struct Scratch {
    pub text: String,
    pub ints: Vec<i64>,
    pub floats: Vec<f64>,
}

/// Accumulates finished flows into record batches of a fixed column list.
pub struct FlowBatchBuilder {
    columns: Vec<Column>,
    schema: SchemaRef,
    builders: Vec<ColumnBuilder>,
    rows: usize,
    batch_rows: usize,
    scratch: Scratch,
    /// How the current capture stores timestamps, for the `seed` profile's
    /// duration text.
    timestamp_style: TimestampStyle,
    /// Added to each flow's first-packet ordinal to make its `flow_id`: the number
    /// of packets of the inputs before the current one.
    id_offset: u64,
    cic: super::cic::CicContext,
}

impl FlowBatchBuilder {
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
            scratch: Scratch::default(),
            timestamp_style: TimestampStyle::FixedDigits(6),
            id_offset: 0,
            cic: super::cic::CicContext {
                flow_timeout_ns: None,
            },
        }
    }

    /// Sets the active timeout, which the CIC profiles' reproduced idle bug uses.
    pub fn set_flow_timeout(&mut self, timeout_ns: Option<i64>) {
        self.cic.flow_timeout_ns = timeout_ns;
    }

    /// The schema of the batches this builder produces.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Sets the number of packets read before the input whose flows follow.
    pub fn set_id_offset(&mut self, offset: u64) {
        self.id_offset = offset;
    }

    /// Sets how the capture whose flows follow stores timestamps.
    pub fn set_timestamp_style(&mut self, style: TimestampStyle) {
        self.timestamp_style = style;
    }

    /// Rows appended since the last batch was cut.
    pub fn buffered_rows(&self) -> usize {
        self.rows
    }

    /// Appends one flow; returns a batch when `batch_rows` rows have accumulated.
    pub fn push<F: FlowFeatures>(&mut self, flow: &FinishedFlow<F>) -> Option<RecordBatch> {
        let flow_id = i64::try_from(flow.first_packet + self.id_offset).unwrap_or(i64::MAX);
        for (column, builder) in self.columns.iter().zip(self.builders.iter_mut()) {
            let value = match (*column, flow.features.full(), flow.features.cic()) {
                (Column::Cic(_, c), Some(full), Some(cic)) => {
                    super::cic::cell(c, flow, full, cic, self.cic, &mut self.scratch)
                }
                _ => cell(
                    *column,
                    flow,
                    flow_id,
                    self.timestamp_style,
                    &mut self.scratch,
                ),
            };
            append(builder, value);
        }
        self.rows += 1;
        (self.rows >= self.batch_rows).then(|| self.cut())
    }

    /// Cuts a batch of the rows buffered so far (possibly empty).
    pub fn cut(&mut self) -> RecordBatch {
        let rows = std::mem::take(&mut self.rows);
        finish_batch(&self.schema, &mut self.builders, rows)
    }
}

/// Finishes every builder into a batch of `rows` rows.
pub(super) fn finish_batch(
    schema: &SchemaRef,
    builders: &mut [ColumnBuilder],
    rows: usize,
) -> RecordBatch {
    let arrays: Vec<ArrayRef> = builders.iter_mut().map(ColumnBuilder::finish).collect();
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
        (ColumnBuilder::ListI8(b), Value::Ints(v)) => {
            b.values().extend(v.iter().map(|&x| Some(x as i8)));
            b.append(true);
        }
        (ColumnBuilder::ListI32(b), Value::Ints(v)) => {
            b.values().extend(v.iter().map(|&x| Some(x as i32)));
            b.append(true);
        }
        (ColumnBuilder::ListI64(b), Value::Ints(v)) => {
            b.values().extend(v.iter().map(|&x| Some(x)));
            b.append(true);
        }
        (ColumnBuilder::ListF64(b), Value::Floats(v)) => {
            b.values().extend(v.iter().map(|&x| Some(x)));
            b.append(true);
        }
        (ColumnBuilder::I8(b), Value::Int(v)) => b.append_value(v as i8),
        (ColumnBuilder::I16(b), Value::Int(v)) => b.append_value(v as i16),
        (ColumnBuilder::I32(b), Value::Int(v)) => b.append_value(v as i32),
        (ColumnBuilder::I64(b), Value::Int(v)) => b.append_value(v),
        (ColumnBuilder::F64(b), Value::Float(v)) => b.append_value(v),
        (ColumnBuilder::Text(b), Value::Text(v)) => b.append_value(v),
        (ColumnBuilder::TimestampUs(b), Value::TimestampUs(v)) => b.append_value(v),
        // Column kinds and cell values come from the same match on `Column`.
        _ => unreachable!("cell value does not match its column kind"),
    }
}

fn cell<'s, F: FlowFeatures>(
    column: Column,
    flow: &FinishedFlow<F>,
    flow_id: i64,
    timestamp_style: TimestampStyle,
    scratch: &'s mut Scratch,
) -> Value<'s> {
    let f = flow.features.standard();
    let [fwd, bwd] = f.dir;
    let total = f.total();
    let ((src_addr, src_port), (dst_addr, dst_port)) = flow.endpoints();
    let int = Value::count;
    match column {
        Column::FlowId => Value::Int(flow_id),
        Column::SrcIp => Value::Text(ip_text(&mut scratch.text, &src_addr, flow.key.ip_version)),
        Column::DstIp => Value::Text(ip_text(&mut scratch.text, &dst_addr, flow.key.ip_version)),
        Column::SrcPort => Value::Int(i64::from(src_port)),
        Column::DstPort => Value::Int(i64::from(dst_port)),
        Column::Protocol => Value::Int(i64::from(flow.key.protocol)),
        Column::IpVersion => Value::Int(i64::from(flow.key.ip_version)),
        Column::VlanId => Value::Int(i64::from(flow.key.vlan_id)),
        Column::Tunnel => Value::Text(flow.key.tunnel.name()),
        Column::FirstSeen => Value::TimestampUs(flow.first_ns.div_euclid(1_000)),
        Column::LastSeen => Value::TimestampUs(flow.last_ns.div_euclid(1_000)),
        Column::Duration => Value::Float(flow.last_ns.saturating_sub(flow.first_ns) as f64 / 1e9),
        Column::PktCount => int(total.packets),
        Column::ByteCount => int(total.wire_bytes),
        Column::FwdPktCount => int(fwd.packets),
        Column::BwdPktCount => int(bwd.packets),
        Column::FwdByteCount => int(fwd.wire_bytes),
        Column::BwdByteCount => int(bwd.wire_bytes),
        Column::FwdPayloadBytes => int(fwd.payload_bytes),
        Column::BwdPayloadBytes => int(bwd.payload_bytes),
        Column::SynCount => int(f.flag_counts[0]),
        Column::FinCount => int(f.flag_counts[1]),
        Column::RstCount => int(f.flag_counts[2]),
        Column::PshCount => int(f.flag_counts[3]),
        Column::AckCount => int(f.flag_counts[4]),
        Column::UrgCount => int(f.flag_counts[5]),
        Column::EceCount => int(f.flag_counts[6]),
        Column::CwrCount => int(f.flag_counts[7]),
        Column::EndReason => Value::Text(flow.end_reason.as_str()),
        Column::SeedDuration => {
            scratch.text.clear();
            let [first, last] = flow.arrival_ns;
            super::seed::duration_text(&mut scratch.text, first, last, timestamp_style);
            Value::Text(&scratch.text)
        }
        Column::SeedByteCount => int(total.captured_bytes),
        _ => match flow.features.full() {
            Some(full) => super::stats::cell(column, flow, full, flow_id, scratch),
            // Profiles only list the columns their state can fill.
            None => Value::Null,
        },
    }
}

/// Formats an address as text into `buf` (RFC 5952 form for IPv6).
pub(crate) fn ip_text<'s>(buf: &'s mut String, addr: &AddrBytes, version: u8) -> &'s str {
    buf.clear();
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
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

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
