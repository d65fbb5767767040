//! One row per packet: the `packets` table of SQL over captures.

use super::builder::{ColumnBuilder, Value, append, finish_batch, ip_text};
use super::schema::Kind;
use crate::decode::PacketView;
use crate::flow::{Direction, Placement};
use arrow::datatypes::{Field, Schema, SchemaRef};
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
    /// Outermost encapsulation the packet was taken out of (`none` when not tunnelled).
    Tunnel,
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
    PacketColumn::Tunnel,
    PacketColumn::Length,
    PacketColumn::CapturedLength,
    PacketColumn::PayloadBytes,
    PacketColumn::TcpFlags,
    PacketColumn::Direction,
    PacketColumn::FlowId,
];

impl PacketColumn {
    /// Column name, type, nullability and a one-line definition.
    pub fn def(self) -> (&'static str, Kind, bool, &'static str) {
        use PacketColumn::*;
        match self {
            PacketId => (
                "packet_id",
                Kind::I64,
                false,
                "number of the packet in its capture, from 0 (non-IP packets are numbered too)",
            ),
            Timestamp => (
                "ts",
                Kind::TimestampUs,
                false,
                "capture timestamp (UTC, microseconds)",
            ),
            SrcIp => ("src_ip", Kind::Text, false, "source address of this packet"),
            DstIp => (
                "dst_ip",
                Kind::Text,
                false,
                "destination address of this packet",
            ),
            SrcPort => (
                "src_port",
                Kind::I32,
                false,
                "source port (0 without ports)",
            ),
            DstPort => (
                "dst_port",
                Kind::I32,
                false,
                "destination port (0 without ports)",
            ),
            Protocol => ("protocol", Kind::I16, false, "IP protocol number"),
            IpVersion => ("ip_version", Kind::I8, false, "4 or 6"),
            VlanId => (
                "vlan_id",
                Kind::I32,
                false,
                "outermost VLAN id, 0 when untagged",
            ),
            Tunnel => (
                "tunnel",
                Kind::Text,
                false,
                "outermost encapsulation removed (none, gre, erspan, vxlan, geneve, gtpu, ipip, ayiya)",
            ),
            Length => (
                "length",
                Kind::I64,
                false,
                "bytes on the wire (frame length)",
            ),
            CapturedLength => ("captured_length", Kind::I64, false, "bytes captured"),
            PayloadBytes => ("payload_bytes", Kind::I64, false, "transport payload bytes"),
            TcpFlags => (
                "tcp_flags",
                Kind::I16,
                true,
                "TCP flags byte (CWR ECE URG ACK PSH RST SYN FIN = 128..1); null for non-TCP packets",
            ),
            Direction => (
                "direction",
                Kind::Text,
                false,
                "fwd when sent by the flow's src, bwd otherwise",
            ),
            FlowId => (
                "flow_id",
                Kind::I64,
                false,
                "flow_id of the flow this packet is counted in",
            ),
        }
    }

    /// The Arrow field.
    pub fn field(self) -> Field {
        let (name, kind, nullable, _) = self.def();
        Field::new(name, kind.data_type(), nullable)
    }
}

/// The Arrow schema of the given packet columns.
pub fn packet_schema(columns: &[PacketColumn]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|c| c.field()).collect::<Vec<_>>(),
    ))
}

/// Accumulates packets into record batches.
pub struct PacketBatchBuilder {
    columns: Vec<PacketColumn>,
    schema: SchemaRef,
    builders: Vec<ColumnBuilder>,
    rows: usize,
    batch_rows: usize,
    text: String,
}

impl PacketBatchBuilder {
    /// A builder for `columns`, cutting batches of `batch_rows` rows.
    pub fn new(columns: &[PacketColumn], batch_rows: usize) -> Self {
        let batch_rows = batch_rows.max(1);
        PacketBatchBuilder {
            columns: columns.to_vec(),
            schema: packet_schema(columns),
            builders: columns
                .iter()
                .map(|c| ColumnBuilder::new(c.def().1, batch_rows))
                .collect(),
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
        let id = |v: u64| Value::Int(i64::try_from(v + id_offset).unwrap_or(i64::MAX));
        for (column, builder) in self.columns.iter().zip(self.builders.iter_mut()) {
            let value = match column {
                PacketColumn::PacketId => id(ordinal),
                PacketColumn::Timestamp => Value::TimestampUs(view.ts_ns.div_euclid(1_000)),
                PacketColumn::SrcIp => {
                    Value::Text(ip_text(&mut self.text, &view.src_addr, view.ip_version))
                }
                PacketColumn::DstIp => {
                    Value::Text(ip_text(&mut self.text, &view.dst_addr, view.ip_version))
                }
                PacketColumn::SrcPort => Value::Int(i64::from(view.src_port)),
                PacketColumn::DstPort => Value::Int(i64::from(view.dst_port)),
                PacketColumn::Protocol => Value::Int(i64::from(view.protocol)),
                PacketColumn::IpVersion => Value::Int(i64::from(view.ip_version)),
                PacketColumn::VlanId => Value::Int(i64::from(view.vlan_id)),
                PacketColumn::Tunnel => Value::Text(view.tunnel.name()),
                PacketColumn::Length => Value::Int(i64::from(view.wire_len)),
                PacketColumn::CapturedLength => Value::Int(i64::from(view.cap_len)),
                PacketColumn::PayloadBytes => Value::Int(i64::from(view.l4_payload_len)),
                PacketColumn::TcpFlags => view
                    .tcp
                    .map_or(Value::Null, |t| Value::Int(i64::from(t.flags))),
                PacketColumn::Direction => Value::Text(match placement.direction {
                    Direction::Forward => "fwd",
                    Direction::Backward => "bwd",
                }),
                PacketColumn::FlowId => id(placement.flow_first_packet),
            };
            append(builder, value);
        }
        self.rows += 1;
        (self.rows >= self.batch_rows).then(|| self.cut())
    }

    /// Cuts a batch of the buffered rows.
    pub fn cut(&mut self) -> RecordBatch {
        let rows = std::mem::take(&mut self.rows);
        finish_batch(&self.schema, &mut self.builders, rows, self.batch_rows)
    }
}
