//! One row per packet: the `packets` table of SQL over captures.

use super::builder::ip_text;
use crate::decode::PacketView;
use crate::flow::{Direction, Placement};
use arrow::array::{
    ArrayRef, Int8Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// The columns of the `packets` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketColumn {
    /// Number of the packet in its input, from 0 (non-IP packets count too).
    PacketId,
    /// Capture timestamp (UTC, microseconds).
    Timestamp,
    /// Source address (text).
    SrcIp,
    /// Destination address (text).
    DstIp,
    /// Source port (0 without ports).
    SrcPort,
    /// Destination port (0 without ports).
    DstPort,
    /// IP protocol number.
    Protocol,
    /// 4 or 6.
    IpVersion,
    /// Outermost VLAN id, 0 when untagged.
    VlanId,
    /// Bytes on the wire.
    Length,
    /// Bytes captured.
    CapturedLength,
    /// Transport payload bytes.
    PayloadBytes,
    /// TCP flags byte (null for non-TCP packets).
    TcpFlags,
    /// `fwd` (from the flow's src) or `bwd`.
    Direction,
    /// `flow_id` of the flow the packet is counted in.
    FlowId,
}

/// All packet columns, in table order.
pub const PACKET_COLUMNS: &[PacketColumn] = &[
    PacketColumn::PacketId,
    PacketColumn::Timestamp,
    PacketColumn::SrcIp,
    PacketColumn::DstIp,
    PacketColumn::SrcPort,
    PacketColumn::DstPort,
    PacketColumn::Protocol,
    PacketColumn::IpVersion,
    PacketColumn::VlanId,
    PacketColumn::Length,
    PacketColumn::CapturedLength,
    PacketColumn::PayloadBytes,
    PacketColumn::TcpFlags,
    PacketColumn::Direction,
    PacketColumn::FlowId,
];

impl PacketColumn {
    /// Column name, type, nullability and a one-line definition.
    pub fn def(self) -> (&'static str, DataType, bool, &'static str) {
        use PacketColumn::*;
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        match self {
            PacketId => (
                "packet_id",
                DataType::Int64,
                false,
                "number of the packet in its capture, from 0 (non-IP packets are numbered too)",
            ),
            Timestamp => ("ts", ts, false, "capture timestamp (UTC, microseconds)"),
            SrcIp => (
                "src_ip",
                DataType::Utf8,
                false,
                "source address of this packet",
            ),
            DstIp => (
                "dst_ip",
                DataType::Utf8,
                false,
                "destination address of this packet",
            ),
            SrcPort => (
                "src_port",
                DataType::Int32,
                false,
                "source port (0 without ports)",
            ),
            DstPort => (
                "dst_port",
                DataType::Int32,
                false,
                "destination port (0 without ports)",
            ),
            Protocol => ("protocol", DataType::Int16, false, "IP protocol number"),
            IpVersion => ("ip_version", DataType::Int8, false, "4 or 6"),
            VlanId => (
                "vlan_id",
                DataType::Int32,
                false,
                "outermost VLAN id, 0 when untagged",
            ),
            Length => (
                "length",
                DataType::Int64,
                false,
                "bytes on the wire (frame length)",
            ),
            CapturedLength => ("captured_length", DataType::Int64, false, "bytes captured"),
            PayloadBytes => (
                "payload_bytes",
                DataType::Int64,
                false,
                "transport payload bytes",
            ),
            TcpFlags => (
                "tcp_flags",
                DataType::Int16,
                true,
                "TCP flags byte (CWR ECE URG ACK PSH RST SYN FIN = 128..1); null for non-TCP packets",
            ),
            Direction => (
                "direction",
                DataType::Utf8,
                false,
                "fwd when sent by the flow's src, bwd otherwise",
            ),
            FlowId => (
                "flow_id",
                DataType::Int64,
                false,
                "flow_id of the flow this packet is counted in",
            ),
        }
    }

    /// The Arrow field.
    pub fn field(self) -> Field {
        let (name, ty, nullable, _) = self.def();
        Field::new(name, ty, nullable)
    }
}

/// The Arrow schema of the given packet columns.
pub fn packet_schema(columns: &[PacketColumn]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|c| c.field()).collect::<Vec<_>>(),
    ))
}

enum Builder {
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    Text(StringBuilder),
    Ts(TimestampMicrosecondBuilder),
}

/// Accumulates packets into record batches.
pub struct PacketBatchBuilder {
    columns: Vec<PacketColumn>,
    schema: SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
    batch_rows: usize,
    text: String,
}

impl PacketBatchBuilder {
    /// A builder for `columns`, cutting batches of `batch_rows` rows.
    pub fn new(columns: &[PacketColumn], batch_rows: usize) -> Self {
        let batch_rows = batch_rows.max(1);
        let builders = columns
            .iter()
            .map(|c| match c.def().1 {
                DataType::Int8 => Builder::I8(Int8Builder::with_capacity(batch_rows)),
                DataType::Int16 => Builder::I16(Int16Builder::with_capacity(batch_rows)),
                DataType::Int32 => Builder::I32(Int32Builder::with_capacity(batch_rows)),
                DataType::Int64 => Builder::I64(Int64Builder::with_capacity(batch_rows)),
                DataType::Utf8 => {
                    Builder::Text(StringBuilder::with_capacity(batch_rows, batch_rows * 16))
                }
                _ => Builder::Ts(
                    TimestampMicrosecondBuilder::with_capacity(batch_rows).with_timezone("UTC"),
                ),
            })
            .collect();
        PacketBatchBuilder {
            columns: columns.to_vec(),
            schema: packet_schema(columns),
            builders,
            rows: 0,
            batch_rows,
            text: String::with_capacity(48),
        }
    }

    /// Rows buffered since the last cut.
    pub fn buffered_rows(&self) -> usize {
        self.rows
    }

    /// Appends one packet (`id_offset` is added to packet and flow numbers);
    /// returns a batch when full.
    pub fn push(
        &mut self,
        view: &PacketView<'_>,
        ordinal: u64,
        placement: Placement,
        id_offset: u64,
    ) -> Option<RecordBatch> {
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        for (column, builder) in self.columns.iter().zip(self.builders.iter_mut()) {
            match (column, builder) {
                (PacketColumn::PacketId, Builder::I64(b)) => {
                    b.append_value(as_i64(ordinal + id_offset))
                }
                (PacketColumn::Timestamp, Builder::Ts(b)) => {
                    b.append_value(view.ts_ns.div_euclid(1_000))
                }
                (PacketColumn::SrcIp, Builder::Text(b)) => {
                    b.append_value(ip_text(&mut self.text, &view.src_addr, view.ip_version))
                }
                (PacketColumn::DstIp, Builder::Text(b)) => {
                    b.append_value(ip_text(&mut self.text, &view.dst_addr, view.ip_version))
                }
                (PacketColumn::SrcPort, Builder::I32(b)) => {
                    b.append_value(i32::from(view.src_port))
                }
                (PacketColumn::DstPort, Builder::I32(b)) => {
                    b.append_value(i32::from(view.dst_port))
                }
                (PacketColumn::Protocol, Builder::I16(b)) => {
                    b.append_value(i16::from(view.protocol))
                }
                (PacketColumn::IpVersion, Builder::I8(b)) => b.append_value(view.ip_version as i8),
                (PacketColumn::VlanId, Builder::I32(b)) => b.append_value(i32::from(view.vlan_id)),
                (PacketColumn::Length, Builder::I64(b)) => b.append_value(i64::from(view.wire_len)),
                (PacketColumn::CapturedLength, Builder::I64(b)) => {
                    b.append_value(i64::from(view.cap_len))
                }
                (PacketColumn::PayloadBytes, Builder::I64(b)) => {
                    b.append_value(i64::from(view.l4_payload_len))
                }
                (PacketColumn::TcpFlags, Builder::I16(b)) => {
                    b.append_option(view.tcp.map(|t| i16::from(t.flags)))
                }
                (PacketColumn::Direction, Builder::Text(b)) => {
                    b.append_value(match placement.direction {
                        Direction::Forward => "fwd",
                        Direction::Backward => "bwd",
                    })
                }
                (PacketColumn::FlowId, Builder::I64(b)) => {
                    b.append_value(as_i64(placement.flow_first_packet + id_offset))
                }
                // Builders are made from the same column list, kind by kind.
                _ => unreachable!("packet column and builder kinds always match"),
            }
        }
        self.rows += 1;
        (self.rows >= self.batch_rows).then(|| self.cut())
    }

    /// Cuts a batch of the buffered rows.
    pub fn cut(&mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::I8(b) => Arc::new(b.finish()),
                    Builder::I16(b) => Arc::new(b.finish()),
                    Builder::I32(b) => Arc::new(b.finish()),
                    Builder::I64(b) => Arc::new(b.finish()),
                    Builder::Text(b) => Arc::new(b.finish()),
                    Builder::Ts(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let rows = std::mem::take(&mut self.rows);
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            // The row count matters when no column is projected (`count(*)`).
            &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .expect("packet builders always match the schema they were made from")
    }
}
