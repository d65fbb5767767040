//! The one place columns are defined: name, Arrow type, unit and meaning. The
//! Arrow schemas, CSV headers and the checks on `docs/features.md` derive from it.

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// Every column flowq can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Column {
    FlowId,
    SrcIp,
    DstIp,
    SrcPort,
    DstPort,
    Protocol,
    IpVersion,
    VlanId,
    FirstSeen,
    LastSeen,
    Duration,
    PktCount,
    ByteCount,
    FwdPktCount,
    BwdPktCount,
    FwdByteCount,
    BwdByteCount,
    FwdPayloadBytes,
    BwdPayloadBytes,
    SynCount,
    FinCount,
    RstCount,
    PshCount,
    AckCount,
    UrgCount,
    EceCount,
    CwrCount,
    EndReason,
    /// `seed` profile: duration as the original script's decimal text.
    SeedDuration,
    /// `seed` profile: bytes captured (the script's `len(pkt)`).
    SeedByteCount,
}

/// Static description of a column.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// Column name (lower snake_case).
    pub name: &'static str,
    /// Arrow type.
    pub kind: Kind,
    /// Whether the column can be null.
    pub nullable: bool,
    /// One-line definition (the full one is in docs/features.md).
    pub doc: &'static str,
}

/// The Arrow types flowq uses, chosen so pandas, polars, DuckDB and Spark all read
/// them without surprises (signed integers, microsecond UTC timestamps, text IPs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Int8
    I8,
    /// Int16
    I16,
    /// Int32
    I32,
    /// Int64
    I64,
    /// Float64
    F64,
    /// Utf8
    Text,
    /// Timestamp(Microsecond, "UTC")
    TimestampUs,
}

impl Kind {
    /// The Arrow data type.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::I8 => DataType::Int8,
            Kind::I16 => DataType::Int16,
            Kind::I32 => DataType::Int32,
            Kind::I64 => DataType::Int64,
            Kind::F64 => DataType::Float64,
            Kind::Text => DataType::Utf8,
            Kind::TimestampUs => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }
}

const fn def(name: &'static str, kind: Kind, doc: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        kind,
        nullable: false,
        doc,
    }
}

impl Column {
    /// The column's definition.
    pub fn def(self) -> ColumnDef {
        use Kind::*;
        match self {
            Column::FlowId => def(
                "flow_id",
                I64,
                "number of the flow's first packet in the input, from 0: a stable, unique id",
            ),
            Column::SrcIp => def("src_ip", Text, "initiator's IP address (text)"),
            Column::DstIp => def("dst_ip", Text, "responder's IP address (text)"),
            Column::SrcPort => def(
                "src_port",
                I32,
                "initiator's port (0 when the protocol has none)",
            ),
            Column::DstPort => def(
                "dst_port",
                I32,
                "responder's port (0 when the protocol has none)",
            ),
            Column::Protocol => def(
                "protocol",
                I16,
                "IP protocol number of the transport (6 TCP, 17 UDP, 1 ICMP, ...)",
            ),
            Column::IpVersion => def("ip_version", I8, "4 or 6"),
            Column::VlanId => def(
                "vlan_id",
                I32,
                "outermost 802.1Q/802.1ad VLAN id, 0 when untagged",
            ),
            Column::FirstSeen => def(
                "first_seen",
                TimestampUs,
                "timestamp of the flow's earliest packet (UTC, microseconds)",
            ),
            Column::LastSeen => def(
                "last_seen",
                TimestampUs,
                "timestamp of the flow's latest packet (UTC, microseconds)",
            ),
            Column::Duration => def(
                "duration",
                F64,
                "last_seen - first_seen in seconds, from full-precision capture timestamps",
            ),
            Column::PktCount => def("pkt_count", I64, "packets in both directions"),
            Column::ByteCount => def(
                "byte_count",
                I64,
                "bytes on the wire in both directions (frame length incl. link layer)",
            ),
            Column::FwdPktCount => def("fwd_pkt_count", I64, "packets from src to dst"),
            Column::BwdPktCount => def("bwd_pkt_count", I64, "packets from dst to src"),
            Column::FwdByteCount => def("fwd_byte_count", I64, "bytes on the wire from src to dst"),
            Column::BwdByteCount => def("bwd_byte_count", I64, "bytes on the wire from dst to src"),
            Column::FwdPayloadBytes => def(
                "fwd_payload_bytes",
                I64,
                "transport payload bytes from src to dst",
            ),
            Column::BwdPayloadBytes => def(
                "bwd_payload_bytes",
                I64,
                "transport payload bytes from dst to src",
            ),
            Column::SynCount => def(
                "syn_count",
                I64,
                "TCP packets with SYN set, both directions",
            ),
            Column::FinCount => def(
                "fin_count",
                I64,
                "TCP packets with FIN set, both directions",
            ),
            Column::RstCount => def(
                "rst_count",
                I64,
                "TCP packets with RST set, both directions",
            ),
            Column::PshCount => def(
                "psh_count",
                I64,
                "TCP packets with PSH set, both directions",
            ),
            Column::AckCount => def(
                "ack_count",
                I64,
                "TCP packets with ACK set, both directions",
            ),
            Column::UrgCount => def(
                "urg_count",
                I64,
                "TCP packets with URG set, both directions",
            ),
            Column::EceCount => def(
                "ece_count",
                I64,
                "TCP packets with ECE set, both directions",
            ),
            Column::CwrCount => def(
                "cwr_count",
                I64,
                "TCP packets with CWR set, both directions",
            ),
            Column::EndReason => def(
                "end_reason",
                Text,
                "why the flow ended: idle_timeout, active_timeout, tcp_fin, tcp_rst, end_of_capture",
            ),
            Column::SeedDuration => def(
                "duration",
                Text,
                "seed profile: end - start as the original script printed it (decimal text, seconds)",
            ),
            Column::SeedByteCount => def(
                "byte_count",
                I64,
                "seed profile: captured bytes of the flow's frames (the script's len(pkt))",
            ),
        }
    }

    /// The Arrow field.
    pub fn field(self) -> Field {
        let d = self.def();
        Field::new(d.name, d.kind.data_type(), d.nullable)
    }
}

/// The columns of the `standard` profile, in order.
pub const STANDARD_COLUMNS: &[Column] = &[
    Column::FlowId,
    Column::SrcIp,
    Column::DstIp,
    Column::SrcPort,
    Column::DstPort,
    Column::Protocol,
    Column::IpVersion,
    Column::VlanId,
    Column::FirstSeen,
    Column::LastSeen,
    Column::Duration,
    Column::PktCount,
    Column::ByteCount,
    Column::FwdPktCount,
    Column::BwdPktCount,
    Column::FwdByteCount,
    Column::BwdByteCount,
    Column::FwdPayloadBytes,
    Column::BwdPayloadBytes,
    Column::SynCount,
    Column::FinCount,
    Column::RstCount,
    Column::PshCount,
    Column::AckCount,
    Column::UrgCount,
    Column::EceCount,
    Column::CwrCount,
    Column::EndReason,
];

/// The columns of the `seed` profile: the original script's CSV header.
pub const SEED_COLUMNS: &[Column] = &[
    Column::SrcIp,
    Column::DstIp,
    Column::SrcPort,
    Column::DstPort,
    Column::Protocol,
    Column::SeedDuration,
    Column::PktCount,
    Column::SeedByteCount,
    Column::SynCount,
    Column::FinCount,
    Column::RstCount,
    Column::PshCount,
    Column::AckCount,
];

/// An Arrow schema of the given columns.
pub fn schema_of(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|c| c.field()).collect::<Vec<_>>(),
    ))
}
