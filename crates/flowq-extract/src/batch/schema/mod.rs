//! The one place columns are defined: name, Arrow type, unit and meaning. The
//! Arrow schemas, CSV headers and the checks on `docs/features.md` derive from it.

mod app;
mod nfstream;
mod profiles;

pub use app::{APP_COLUMNS, AppColumn, nfstream_dissect_columns};
pub use nfstream::{NfColumn, nfstream_columns};
pub use profiles::{SEED_COLUMNS, STANDARD_COLUMNS, deep_columns, full_extra_columns};

use crate::flow::Direction;
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
    Tunnel,
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

    // The `full` profile (docs/features.md, "The full profile").
    /// Wire length of packets (bytes).
    PktLen(Scope, Stat),
    /// Inter-arrival time of packets (microseconds).
    IatUs(Scope, Stat),
    /// Packets of one direction with a TCP flag set (index into `COUNTED_FLAGS`).
    DirFlagCount(Direction, usize),
    /// IP plus transport header bytes of one direction.
    HeaderBytes(Direction),
    /// Packets of one direction carrying transport payload.
    PayloadPkts(Direction),
    /// TCP window of a direction's first TCP packet.
    InitWin(Direction),
    /// Smallest TCP window of a direction.
    WinMin(Direction),
    /// Largest TCP window of a direction.
    WinMax(Direction),
    /// MSS option of a direction's SYN.
    Mss(Direction),
    /// Window scale option of a direction's SYN.
    WinScale(Direction),
    /// SYN to SYN+ACK (microseconds).
    SynToSynAckUs,
    /// SYN+ACK to ACK (microseconds).
    SynAckToAckUs,
    /// TCP retransmissions of a direction.
    RetransPkts(Direction),
    /// Packets stamped earlier than the flow's previous packet.
    OutOfOrderPkts,
    /// Active periods (microseconds).
    ActiveUs(Stat),
    /// Idle periods (microseconds).
    IdleUs(Stat),
    /// Smallest TTL / hop limit of a direction.
    TtlMin(Direction),
    /// Largest TTL / hop limit of a direction.
    TtlMax(Direction),
    /// DSCP of the first packet.
    Dscp,
    /// Wire bytes per second of duration.
    BytesPerSec,
    /// Packets per second of duration.
    PktsPerSec,
    /// Early-flow sequence: direction of each of the first packets.
    SpltDirection,
    /// Early-flow sequence: wire length of each of the first packets.
    SpltPktLen,
    /// Early-flow sequence: inter-arrival time of each of the first packets (µs).
    SpltIatUs,

    // The `full` profile's deep-learning inputs (docs/features.md,
    // "Deep-learning inputs"), each behind its option.
    /// One property of each packet of the PPI sequence; a fixed-size list
    /// padded with zeros to the given length, or a list when it is 0.
    Ppi(PpiField, u16),
    /// Packets in the PPI sequence.
    PpiLen,
    /// First to last packet of the PPI sequence (seconds).
    PpiDuration,
    /// Request-response pairs in the PPI sequence.
    PpiRoundtrips,
    /// Payload-size histogram of a direction.
    SizeHist(Direction),
    /// Inter-packet-time histogram of a direction.
    IptHist(Direction),
    /// Byte-value counts of a direction's first payload bytes.
    ByteDist(Direction),
    /// Entropy of a direction's first payload bytes.
    ByteEntropy(Direction),
    /// Entropy of a direction's whole captured payload.
    PayloadEntropy(Direction),
    /// The first payload bytes of a direction.
    PayloadPrefix(Direction),
    /// The first bytes of each of the first packets with payload.
    PayloadPackets,
    /// The direction of each of those packets.
    PayloadPacketsDir,
    /// FlowPic's size-by-time histogram.
    FlowPic,

    /// A column of the `nfstream` profile.
    Nf(NfColumn),
    /// An application-metadata column (and NFStream's dissection columns).
    App(AppColumn),
    /// A column of a CICFlowMeter profile, named in its vocabulary.
    Cic(super::cic::CicVocab, super::cic::CicColumn),
}

/// A property of the packets of the PPI sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PpiField {
    /// Transport payload length (bytes).
    Size,
    /// +1 from src to dst, −1 the other way.
    Dir,
    /// Time since the previous packet of the sequence (ms).
    IptMs,
    /// TCP flags byte.
    Flags,
}

impl PpiField {
    /// In column order (CESNET's order: times, directions, sizes; then flags).
    pub const ALL: [PpiField; 4] = [
        PpiField::IptMs,
        PpiField::Dir,
        PpiField::Size,
        PpiField::Flags,
    ];
}

/// Which packets of a flow a statistic covers: one [`Direction`] or both
/// together. Not the same as [`Direction`], which has no "both"; the
/// per-direction columns take a [`Direction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Scope {
    Fwd,
    Bwd,
    Both,
}

/// A summary statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stat {
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Arithmetic mean.
    Mean,
    /// Sample standard deviation (n − 1).
    Std,
}

impl Scope {
    /// All scopes in flowq's column order (both directions first).
    pub const ALL: [Scope; 3] = [Scope::Both, Scope::Fwd, Scope::Bwd];

    /// Index into `[fwd, bwd, both]` arrays.
    pub fn index(self) -> usize {
        match self {
            Scope::Fwd => 0,
            Scope::Bwd => 1,
            Scope::Both => 2,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Scope::Fwd => "fwd_",
            Scope::Bwd => "bwd_",
            Scope::Both => "",
        }
    }

    fn nf_name(self) -> &'static str {
        match self {
            Scope::Fwd => "src2dst",
            Scope::Bwd => "dst2src",
            Scope::Both => "bidirectional",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Scope::Fwd => "from src to dst",
            Scope::Bwd => "from dst to src",
            Scope::Both => "in both directions",
        }
    }
}

impl Scope {
    /// The scope of one direction's packets.
    pub fn of(direction: Direction) -> Scope {
        match direction {
            Direction::Forward => Scope::Fwd,
            Direction::Backward => Scope::Bwd,
        }
    }
}

/// The name prefix of a per-direction column.
fn dir_prefix(direction: Direction) -> &'static str {
    Scope::of(direction).prefix()
}

/// The words that say which packets a per-direction column counts.
fn dir_words(direction: Direction) -> &'static str {
    Scope::of(direction).words()
}

impl Stat {
    /// In column order.
    pub const ALL: [Stat; 4] = [Stat::Min, Stat::Max, Stat::Mean, Stat::Std];

    fn name(self) -> &'static str {
        match self {
            Stat::Min => "min",
            Stat::Max => "max",
            Stat::Mean => "mean",
            Stat::Std => "std",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Stat::Min => "minimum",
            Stat::Max => "maximum",
            Stat::Mean => "mean",
            Stat::Std => "sample standard deviation",
        }
    }
}

/// Names of the flags of `COUNTED_FLAGS`, in order.
pub const FLAG_NAMES: [&str; 8] = ["syn", "fin", "rst", "psh", "ack", "urg", "ece", "cwr"];

/// Description of a column.
#[derive(Debug, Clone)]
pub struct ColumnDef {
    /// Column name (lower snake_case).
    pub name: String,
    /// Arrow type.
    pub kind: Kind,
    /// Whether the column can be null.
    pub nullable: bool,
    /// One-line definition (the full one is in docs/features.md).
    pub doc: String,
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
    /// List of Int8
    ListI8,
    /// List of Int32
    ListI32,
    /// List of Int64
    ListI64,
    /// List of Float64
    ListF64,
    /// FixedSizeList of Int8, of the given length
    FixedI8(i32),
    /// FixedSizeList of Int32, of the given length
    FixedI32(i32),
    /// FixedSizeList of Int64, of the given length
    FixedI64(i32),
    /// Binary
    Binary,
    /// List of Binary
    ListBinary,
    /// List of Utf8
    ListText,
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
            Kind::ListI8 => DataType::new_list(DataType::Int8, true),
            Kind::ListI32 => DataType::new_list(DataType::Int32, true),
            Kind::ListI64 => DataType::new_list(DataType::Int64, true),
            Kind::ListF64 => DataType::new_list(DataType::Float64, true),
            Kind::FixedI8(n) => DataType::new_fixed_size_list(DataType::Int8, n, true),
            Kind::FixedI32(n) => DataType::new_fixed_size_list(DataType::Int32, n, true),
            Kind::FixedI64(n) => DataType::new_fixed_size_list(DataType::Int64, n, true),
            Kind::Binary => DataType::Binary,
            Kind::ListBinary => DataType::new_list(DataType::Binary, true),
            Kind::ListText => DataType::new_list(DataType::Utf8, true),
        }
    }
}

fn def(name: &str, kind: Kind, doc: &str) -> ColumnDef {
    ColumnDef {
        name: name.to_string(),
        kind,
        nullable: false,
        doc: doc.to_string(),
    }
}

/// A column that is null when its statistic is undefined (docs/features.md).
fn nullable(name: String, kind: Kind, doc: String) -> ColumnDef {
    ColumnDef {
        name,
        kind,
        nullable: true,
        doc,
    }
}

fn counted(name: String, kind: Kind, doc: String) -> ColumnDef {
    ColumnDef {
        name,
        kind,
        nullable: false,
        doc,
    }
}

impl Column {
    /// Whether the column holds a flow's first-packet ordinal counted across
    /// the inputs of a run (`flow_id`, the nfstream profile's `id`): inputs
    /// read in parallel shift it by the packets of the inputs before them.
    pub fn is_run_packet_ordinal(self) -> bool {
        matches!(self, Column::FlowId | Column::Nf(NfColumn::Id))
    }

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
            Column::Tunnel => def(
                "tunnel",
                Text,
                "outermost encapsulation removed: none, gre, erspan, vxlan, geneve, gtpu, ipip, ayiya",
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
            Column::PktLen(scope, stat) => nullable(
                format!("{}pkt_len_{}", scope.prefix(), stat.name()),
                if matches!(stat, Stat::Min | Stat::Max) {
                    I64
                } else {
                    F64
                },
                format!(
                    "{} wire length of the packets {} (bytes)",
                    stat.words(),
                    scope.words()
                ),
            ),
            Column::IatUs(scope, stat) => nullable(
                format!("{}iat_{}_us", scope.prefix(), stat.name()),
                F64,
                format!(
                    "{} time between consecutive packets {} (microseconds)",
                    stat.words(),
                    scope.words()
                ),
            ),
            Column::DirFlagCount(side, flag) => counted(
                format!("{}{}_count", dir_prefix(side), FLAG_NAMES[flag]),
                I64,
                format!(
                    "TCP packets {} with {} set",
                    dir_words(side),
                    FLAG_NAMES[flag].to_ascii_uppercase()
                ),
            ),
            Column::HeaderBytes(side) => counted(
                format!("{}header_bytes", dir_prefix(side)),
                I64,
                format!(
                    "IP plus transport header bytes of the packets {}",
                    dir_words(side)
                ),
            ),
            Column::PayloadPkts(side) => counted(
                format!("{}payload_pkts", dir_prefix(side)),
                I64,
                format!(
                    "packets {} with at least one byte of transport payload",
                    dir_words(side)
                ),
            ),
            Column::InitWin(side) => nullable(
                format!("{}init_win", dir_prefix(side)),
                I32,
                format!(
                    "TCP window field of the first TCP packet {} (unscaled)",
                    dir_words(side)
                ),
            ),
            Column::WinMin(side) => nullable(
                format!("{}win_min", dir_prefix(side)),
                I32,
                format!("smallest TCP window field {} (unscaled)", dir_words(side)),
            ),
            Column::WinMax(side) => nullable(
                format!("{}win_max", dir_prefix(side)),
                I32,
                format!("largest TCP window field {} (unscaled)", dir_words(side)),
            ),
            Column::Mss(side) => nullable(
                format!("{}mss", dir_prefix(side)),
                I32,
                format!("MSS option of the first SYN {} (bytes)", dir_words(side)),
            ),
            Column::WinScale(side) => nullable(
                format!("{}win_scale", dir_prefix(side)),
                I16,
                format!("window scale shift of the first SYN {}", dir_words(side)),
            ),
            Column::SynToSynAckUs => nullable(
                "syn_to_synack_us".into(),
                F64,
                "time from src's SYN to dst's SYN+ACK (microseconds)".into(),
            ),
            Column::SynAckToAckUs => nullable(
                "synack_to_ack_us".into(),
                F64,
                "time from dst's SYN+ACK to src's ACK (microseconds)".into(),
            ),
            Column::RetransPkts(side) => counted(
                format!("{}retrans_pkts", dir_prefix(side)),
                I64,
                format!(
                    "TCP packets {} with payload that add no new sequence numbers",
                    dir_words(side)
                ),
            ),
            Column::OutOfOrderPkts => def(
                "out_of_order_pkts",
                I64,
                "packets stamped earlier than the flow's previous packet",
            ),
            Column::ActiveUs(stat) => nullable(
                format!("active_{}_us", stat.name()),
                F64,
                format!(
                    "{} length of the active periods (microseconds)",
                    stat.words()
                ),
            ),
            Column::IdleUs(stat) => nullable(
                format!("idle_{}_us", stat.name()),
                F64,
                format!("{} length of the idle periods (microseconds)", stat.words()),
            ),
            Column::TtlMin(side) => nullable(
                format!("{}ttl_min", dir_prefix(side)),
                I16,
                format!("smallest IP TTL / hop limit {}", dir_words(side)),
            ),
            Column::TtlMax(side) => nullable(
                format!("{}ttl_max", dir_prefix(side)),
                I16,
                format!("largest IP TTL / hop limit {}", dir_words(side)),
            ),
            Column::Dscp => def("dscp", I8, "DSCP of the flow's first packet"),
            Column::BytesPerSec => nullable(
                "bytes_per_sec".into(),
                F64,
                "byte_count / duration (null when duration is 0)".into(),
            ),
            Column::PktsPerSec => nullable(
                "pkts_per_sec".into(),
                F64,
                "pkt_count / duration (null when duration is 0)".into(),
            ),
            Column::SpltDirection => def(
                "splt_direction",
                ListI8,
                "direction of each of the first packets (0 src to dst, 1 dst to src)",
            ),
            Column::SpltPktLen => def(
                "splt_pkt_len",
                ListI32,
                "wire length of each of the first packets (bytes)",
            ),
            Column::SpltIatUs => def(
                "splt_iat_us",
                ListF64,
                "time since the flow's previous packet for each of the first packets (microseconds, 0 first)",
            ),
            Column::Ppi(field, pad) => {
                let n = i32::from(pad);
                let list = |fixed: fn(i32) -> Kind, list: Kind| if n > 0 { fixed(n) } else { list };
                let padding = if n > 0 { ", padded with 0" } else { "" };
                let (name, kind, doc) = match field {
                    PpiField::Size => (
                        "ppi_size",
                        list(FixedI32, ListI32),
                        "transport payload length of each packet of the PPI sequence (bytes)",
                    ),
                    PpiField::Dir => (
                        "ppi_dir",
                        list(FixedI8, ListI8),
                        "direction of each packet of the PPI sequence (+1 src to dst, -1 dst to src)",
                    ),
                    PpiField::IptMs => (
                        "ppi_ipt_ms",
                        list(FixedI64, ListI64),
                        "time since the previous packet of the PPI sequence (ms, 0 for the first)",
                    ),
                    PpiField::Flags => (
                        "ppi_flags",
                        list(FixedI32, ListI32),
                        "TCP flags byte of each packet of the PPI sequence (0 for other protocols)",
                    ),
                };
                def(name, kind, &format!("{doc}{padding}"))
            }
            Column::PpiLen => def("ppi_len", I32, "packets in the PPI sequence"),
            Column::PpiDuration => nullable(
                "ppi_duration".into(),
                F64,
                "first to last packet of the PPI sequence (seconds; null when it is empty)".into(),
            ),
            Column::PpiRoundtrips => def(
                "ppi_roundtrips",
                I32,
                "packets from dst directly after a packet from src in the PPI sequence",
            ),
            Column::SizeHist(side) => def(
                &format!("{}size_hist", dir_prefix(side)),
                FixedI32(8),
                &format!(
                    "packets {} per payload size bin (0-15, 16-31, ..., 512-1023, 1024+ bytes)",
                    dir_words(side)
                ),
            ),
            Column::IptHist(side) => def(
                &format!("{}ipt_hist", dir_prefix(side)),
                FixedI32(8),
                &format!(
                    "gaps between packets {} per bin (0-15, 16-31, ..., 512-1023, 1024+ ms)",
                    dir_words(side)
                ),
            ),
            Column::ByteDist(side) => def(
                &format!("{}byte_dist", dir_prefix(side)),
                FixedI32(256),
                &format!(
                    "count of each byte value in the first --byte-dist payload bytes {}",
                    dir_words(side)
                ),
            ),
            Column::ByteEntropy(side) => nullable(
                format!("{}byte_entropy", dir_prefix(side)),
                F64,
                format!(
                    "Shannon entropy of the first --byte-dist payload bytes {} (bits per byte)",
                    dir_words(side)
                ),
            ),
            Column::PayloadEntropy(side) => nullable(
                format!("{}payload_entropy", dir_prefix(side)),
                F64,
                format!(
                    "Shannon entropy of all captured payload bytes {} (bits per byte)",
                    dir_words(side)
                ),
            ),
            Column::PayloadPrefix(side) => def(
                &format!("{}payload_prefix", dir_prefix(side)),
                Binary,
                &format!(
                    "the first --payload-prefix payload bytes {}, retransmitted bytes left out",
                    dir_words(side)
                ),
            ),
            Column::PayloadPackets => def(
                "payload_packets",
                ListBinary,
                "the first bytes of each of the first packets with payload (--payload-packets M N)",
            ),
            Column::PayloadPacketsDir => def(
                "payload_packets_dir",
                ListI8,
                "direction of each packet of payload_packets (+1 src to dst, -1 dst to src)",
            ),
            Column::FlowPic => def(
                "flowpic",
                FixedI32(1024),
                "FlowPic: packets per (time bin, size bin) over the first --flowpic seconds, 32 x 32, row-major by time",
            ),
            Column::Nf(column) => column.def(),
            Column::App(column) => column.def(),
            Column::Cic(vocab, column) => super::cic::def(vocab, column),
        }
    }

    /// The Arrow field.
    pub fn field(self) -> Field {
        let d = self.def();
        Field::new(d.name, d.kind.data_type(), d.nullable)
    }
}

/// An Arrow schema of the given columns.
pub fn schema_of(columns: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|c| c.field()).collect::<Vec<_>>(),
    ))
}
