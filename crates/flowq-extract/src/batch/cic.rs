//! The CICFlowMeter profiles' columns: their three published vocabularies and
//! their cells. Definitions: docs/features.md; the bugs reproduced: docs/cic.md.

use super::builder::{ip_text, push_ip};
use super::chunk::Chunk;
use super::schema::{Column, ColumnDef, Kind, Stat};
use super::stats::full;
use crate::features::{CicState, RowFeatures, Summary};
use crate::flow::{Direction, EndReason, FinishedFlow};
use std::fmt::Write as _;

/// Which CICFlowMeter header a profile writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CicVocab {
    /// The CIC-IDS2017 published CSV header.
    Cic2017,
    /// CICFlowMeter-4.0 / CSE-CIC-IDS2018 abbreviations.
    Cic2018,
    /// Current CICFlowMeter names plus the corrected fork's columns.
    Cic,
}

/// A CICFlowMeter feature, independent of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum CicColumn {
    FlowId,
    SrcIp,
    SrcPort,
    DstIp,
    DstPort,
    Protocol,
    Timestamp,
    /// `Timestamp` as CICFlowMeter's text (`--cic-timestamp original`).
    TimestampText,
    FlowDuration,
    TotFwdPkts,
    TotBwdPkts,
    TotLenFwd,
    TotLenBwd,
    FwdPktLen(Stat),
    BwdPktLen(Stat),
    FlowBytesPerSec,
    FlowPktsPerSec,
    FlowIat(Stat),
    /// Sum of the direction's IATs.
    FwdIatTotal,
    FwdIat(Stat),
    BwdIatTotal,
    BwdIat(Stat),
    FwdPsh,
    BwdPsh,
    FwdUrg,
    BwdUrg,
    FwdRst,
    BwdRst,
    FwdHeaderLen,
    BwdHeaderLen,
    FwdPktsPerSec,
    BwdPktsPerSec,
    PktLen(Stat),
    PktLenVar,
    /// Both-direction flag count (index into `COUNTED_FLAGS`).
    Flag(usize),
    DownUp,
    AvgPktSize,
    FwdSegAvg,
    BwdSegAvg,
    /// cic2017's second `Fwd Header Length`.
    FwdHeaderLenAgain,
    FwdBulkBytes,
    FwdBulkPkts,
    FwdBulkRate,
    BwdBulkBytes,
    BwdBulkPkts,
    BwdBulkRate,
    SubflowFwdPkts,
    SubflowFwdBytes,
    SubflowBwdPkts,
    SubflowBwdBytes,
    InitWinFwd,
    InitWinBwd,
    ActDataFwd,
    ActDataBwd,
    MinSegFwd,
    MinSegBwd,
    Active(Stat),
    Idle(Stat),
    IcmpCode,
    IcmpType,
    FwdRetrans,
    BwdRetrans,
    TotalRetrans,
    Label,
}

/// The CIC-IDS2017 header exactly as published (leading spaces, `CWE`, the
/// duplicated `Fwd Header Length`).
pub const CIC2017_HEADER: &str = "Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp, Flow Duration, Total Fwd Packets, Total Backward Packets,Total Length of Fwd Packets, Total Length of Bwd Packets, Fwd Packet Length Max, Fwd Packet Length Min, Fwd Packet Length Mean, Fwd Packet Length Std,Bwd Packet Length Max, Bwd Packet Length Min, Bwd Packet Length Mean, Bwd Packet Length Std,Flow Bytes/s, Flow Packets/s, Flow IAT Mean, Flow IAT Std, Flow IAT Max, Flow IAT Min,Fwd IAT Total, Fwd IAT Mean, Fwd IAT Std, Fwd IAT Max, Fwd IAT Min,Bwd IAT Total, Bwd IAT Mean, Bwd IAT Std, Bwd IAT Max, Bwd IAT Min,Fwd PSH Flags, Bwd PSH Flags, Fwd URG Flags, Bwd URG Flags, Fwd Header Length, Bwd Header Length,Fwd Packets/s, Bwd Packets/s, Min Packet Length, Max Packet Length, Packet Length Mean, Packet Length Std, Packet Length Variance,FIN Flag Count, SYN Flag Count, RST Flag Count, PSH Flag Count, ACK Flag Count, URG Flag Count, CWE Flag Count, ECE Flag Count, Down/Up Ratio, Average Packet Size, Avg Fwd Segment Size, Avg Bwd Segment Size, Fwd Header Length,Fwd Avg Bytes/Bulk, Fwd Avg Packets/Bulk, Fwd Avg Bulk Rate, Bwd Avg Bytes/Bulk, Bwd Avg Packets/Bulk,Bwd Avg Bulk Rate,Subflow Fwd Packets, Subflow Fwd Bytes, Subflow Bwd Packets, Subflow Bwd Bytes,Init_Win_bytes_forward, Init_Win_bytes_backward, act_data_pkt_fwd, min_seg_size_forward,Active Mean, Active Std, Active Max, Active Min,Idle Mean, Idle Std, Idle Max, Idle Min, Label";

const CIC2018_NAMES: &str = "Flow ID, Src IP, Src Port, Dst IP, Dst Port, Protocol, Timestamp, Flow Duration, Tot Fwd Pkts, Tot Bwd Pkts, TotLen Fwd Pkts, TotLen Bwd Pkts, Fwd Pkt Len Max, Fwd Pkt Len Min, Fwd Pkt Len Mean, Fwd Pkt Len Std, Bwd Pkt Len Max, Bwd Pkt Len Min, Bwd Pkt Len Mean, Bwd Pkt Len Std, Flow Byts/s, Flow Pkts/s, Flow IAT Mean, Flow IAT Std, Flow IAT Max, Flow IAT Min, Fwd IAT Tot, Fwd IAT Mean, Fwd IAT Std, Fwd IAT Max, Fwd IAT Min, Bwd IAT Tot, Bwd IAT Mean, Bwd IAT Std, Bwd IAT Max, Bwd IAT Min, Fwd PSH Flags, Bwd PSH Flags, Fwd URG Flags, Bwd URG Flags, Fwd Header Len, Bwd Header Len, Fwd Pkts/s, Bwd Pkts/s, Pkt Len Min, Pkt Len Max, Pkt Len Mean, Pkt Len Std, Pkt Len Var, FIN Flag Cnt, SYN Flag Cnt, RST Flag Cnt, PSH Flag Cnt, ACK Flag Cnt, URG Flag Cnt, CWE Flag Count, ECE Flag Cnt, Down/Up Ratio, Pkt Size Avg, Fwd Seg Size Avg, Bwd Seg Size Avg, Fwd Byts/b Avg, Fwd Pkts/b Avg, Fwd Blk Rate Avg, Bwd Byts/b Avg, Bwd Pkts/b Avg, Bwd Blk Rate Avg, Subflow Fwd Pkts, Subflow Fwd Byts, Subflow Bwd Pkts, Subflow Bwd Byts, Init Fwd Win Byts, Init Bwd Win Byts, Fwd Act Data Pkts, Fwd Seg Size Min, Active Mean, Active Std, Active Max, Active Min, Idle Mean, Idle Std, Idle Max, Idle Min, Label";

const CIC_NAMES: &str = "Flow ID, Src IP, Src Port, Dst IP, Dst Port, Protocol, Timestamp, Flow Duration, Total Fwd Packet, Total Bwd packets, Total Length of Fwd Packet, Total Length of Bwd Packet, Fwd Packet Length Max, Fwd Packet Length Min, Fwd Packet Length Mean, Fwd Packet Length Std, Bwd Packet Length Max, Bwd Packet Length Min, Bwd Packet Length Mean, Bwd Packet Length Std, Flow Bytes/s, Flow Packets/s, Flow IAT Mean, Flow IAT Std, Flow IAT Max, Flow IAT Min, Fwd IAT Total, Fwd IAT Mean, Fwd IAT Std, Fwd IAT Max, Fwd IAT Min, Bwd IAT Total, Bwd IAT Mean, Bwd IAT Std, Bwd IAT Max, Bwd IAT Min, Fwd PSH Flags, Bwd PSH Flags, Fwd URG Flags, Bwd URG Flags, Fwd RST Flags, Bwd RST Flags, Fwd Header Length, Bwd Header Length, Fwd Packets/s, Bwd Packets/s, Packet Length Min, Packet Length Max, Packet Length Mean, Packet Length Std, Packet Length Variance, FIN Flag Count, SYN Flag Count, RST Flag Count, PSH Flag Count, ACK Flag Count, URG Flag Count, CWR Flag Count, ECE Flag Count, Down/Up Ratio, Average Packet Size, Fwd Segment Size Avg, Bwd Segment Size Avg, Fwd Bytes/Bulk Avg, Fwd Packet/Bulk Avg, Fwd Bulk Rate Avg, Bwd Bytes/Bulk Avg, Bwd Packet/Bulk Avg, Bwd Bulk Rate Avg, Subflow Fwd Packets, Subflow Fwd Bytes, Subflow Bwd Packets, Subflow Bwd Bytes, FWD Init Win Bytes, Bwd Init Win Bytes, Fwd Act Data Pkts, Bwd Act Data Pkts, Fwd Seg Size Min, Bwd Seg Size Min, Active Mean, Active Std, Active Max, Active Min, Idle Mean, Idle Std, Idle Max, Idle Min, ICMP Code, ICMP Type, Fwd TCP Retrans. Count, Bwd TCP Retrans. Count, Total TCP Retrans. Count, Label";

/// The features of a vocabulary, in its column order.
pub fn cic_columns(vocab: CicVocab, original_timestamp: bool) -> Vec<CicColumn> {
    use CicColumn as C;
    let stats = |f: fn(Stat) -> CicColumn| [Stat::Max, Stat::Min, Stat::Mean, Stat::Std].map(f);
    let iat = |f: fn(Stat) -> CicColumn| [Stat::Mean, Stat::Std, Stat::Max, Stat::Min].map(f);
    let timestamp = if original_timestamp {
        C::TimestampText
    } else {
        C::Timestamp
    };
    let mut c = vec![
        C::FlowId,
        C::SrcIp,
        C::SrcPort,
        C::DstIp,
        C::DstPort,
        C::Protocol,
        timestamp,
        C::FlowDuration,
        C::TotFwdPkts,
        C::TotBwdPkts,
        C::TotLenFwd,
        C::TotLenBwd,
    ];
    c.extend(stats(C::FwdPktLen));
    c.extend(stats(C::BwdPktLen));
    c.extend([C::FlowBytesPerSec, C::FlowPktsPerSec]);
    c.extend(iat(C::FlowIat));
    c.push(C::FwdIatTotal);
    c.extend(iat(C::FwdIat));
    c.push(C::BwdIatTotal);
    c.extend(iat(C::BwdIat));
    c.extend([C::FwdPsh, C::BwdPsh, C::FwdUrg, C::BwdUrg]);
    if vocab == CicVocab::Cic {
        c.extend([C::FwdRst, C::BwdRst]);
    }
    c.extend([
        C::FwdHeaderLen,
        C::BwdHeaderLen,
        C::FwdPktsPerSec,
        C::BwdPktsPerSec,
        C::PktLen(Stat::Min),
        C::PktLen(Stat::Max),
        C::PktLen(Stat::Mean),
        C::PktLen(Stat::Std),
        C::PktLenVar,
    ]);
    // FIN SYN RST PSH ACK URG CWR ECE, as indices into COUNTED_FLAGS.
    c.extend([1, 0, 2, 3, 4, 5, 7, 6].map(C::Flag));
    c.extend([C::DownUp, C::AvgPktSize, C::FwdSegAvg, C::BwdSegAvg]);
    if vocab == CicVocab::Cic2017 {
        c.push(C::FwdHeaderLenAgain);
    }
    c.extend([
        C::FwdBulkBytes,
        C::FwdBulkPkts,
        C::FwdBulkRate,
        C::BwdBulkBytes,
        C::BwdBulkPkts,
        C::BwdBulkRate,
        C::SubflowFwdPkts,
        C::SubflowFwdBytes,
        C::SubflowBwdPkts,
        C::SubflowBwdBytes,
        C::InitWinFwd,
        C::InitWinBwd,
        C::ActDataFwd,
    ]);
    if vocab == CicVocab::Cic {
        c.push(C::ActDataBwd);
    }
    c.push(C::MinSegFwd);
    if vocab == CicVocab::Cic {
        c.push(C::MinSegBwd);
    }
    c.extend(iat(C::Active));
    c.extend(iat(C::Idle));
    if vocab == CicVocab::Cic {
        c.extend([
            C::IcmpCode,
            C::IcmpType,
            C::FwdRetrans,
            C::BwdRetrans,
            C::TotalRetrans,
        ]);
    }
    c.push(C::Label);
    c
}

/// The published header line of a vocabulary (for CSV).
pub fn cic_header(vocab: CicVocab) -> String {
    match vocab {
        CicVocab::Cic2017 => CIC2017_HEADER.to_string(),
        CicVocab::Cic2018 => CIC2018_NAMES.split(", ").collect::<Vec<_>>().join(","),
        CicVocab::Cic => CIC_NAMES.split(", ").collect::<Vec<_>>().join(","),
    }
}

/// Column names of a vocabulary as the Arrow schema holds them (the second
/// `Fwd Header Length` of cic2017 renamed as pandas renames it).
fn names(vocab: CicVocab) -> Vec<String> {
    match vocab {
        CicVocab::Cic2017 => {
            let mut seen = std::collections::HashSet::new();
            CIC2017_HEADER
                .split(',')
                .map(|name| {
                    if seen.insert(name) {
                        name.to_string()
                    } else {
                        format!("{name}.1")
                    }
                })
                .collect()
        }
        CicVocab::Cic2018 => CIC2018_NAMES.split(", ").map(str::to_string).collect(),
        CicVocab::Cic => CIC_NAMES.split(", ").map(str::to_string).collect(),
    }
}

/// The definition of `column` in `vocab`.
pub(super) fn def(vocab: CicVocab, column: CicColumn) -> ColumnDef {
    use CicColumn as C;
    let position = cic_columns(vocab, column == C::TimestampText)
        .iter()
        .position(|c| *c == column);
    let name = position
        .and_then(|p| names(vocab).get(p).cloned())
        .unwrap_or_else(|| format!("{column:?}"));
    let (kind, nullable) = match column {
        C::FlowId | C::SrcIp | C::DstIp | C::Label | C::TimestampText => (Kind::Text, false),
        C::SrcPort | C::DstPort | C::InitWinFwd | C::InitWinBwd | C::MinSegFwd | C::MinSegBwd => {
            (Kind::I32, false)
        }
        C::IcmpCode | C::IcmpType | C::Protocol => (Kind::I16, false),
        C::Timestamp => (Kind::TimestampUs, false),
        C::FlowDuration
        | C::TotFwdPkts
        | C::TotBwdPkts
        | C::TotLenFwd
        | C::TotLenBwd
        | C::FwdPsh
        | C::BwdPsh
        | C::FwdUrg
        | C::BwdUrg
        | C::FwdRst
        | C::BwdRst
        | C::FwdHeaderLen
        | C::BwdHeaderLen
        | C::FwdHeaderLenAgain
        | C::Flag(_)
        | C::ActDataFwd
        | C::ActDataBwd
        | C::FwdRetrans
        | C::BwdRetrans
        | C::TotalRetrans => (Kind::I64, false),
        C::FlowBytesPerSec
        | C::FlowPktsPerSec
        | C::FwdPktsPerSec
        | C::BwdPktsPerSec
        | C::DownUp => (Kind::F64, true),
        _ => (Kind::F64, false),
    };
    ColumnDef {
        name,
        kind,
        nullable,
        doc: doc(column),
    }
}

/// The one-line definition `flowq columns` prints (the full one is in
/// docs/features.md, "Profiles `cic2017`, `cic2018` and `cic`").
fn doc(column: CicColumn) -> String {
    use CicColumn as C;
    let stat = |s: Stat| match s {
        Stat::Min => "minimum",
        Stat::Max => "maximum",
        Stat::Mean => "mean",
        Stat::Std => "sample standard deviation",
    };
    match column {
        C::FlowId => "src_ip-dst_ip-src_port-dst_port-protocol of the flow".into(),
        C::SrcIp => "initiator's IP address (text)".into(),
        C::SrcPort => "initiator's port (0 when the protocol has none)".into(),
        C::DstIp => "responder's IP address (text)".into(),
        C::DstPort => "responder's port (0 when the protocol has none)".into(),
        C::Protocol => "IP protocol number of the transport".into(),
        C::Timestamp => "first packet's time (UTC, microseconds)".into(),
        C::TimestampText => {
            "first packet's time as CICFlowMeter's text dd/MM/yyyy hh:mm:ss a (UTC)".into()
        }
        C::FlowDuration => "last minus first packet time (microseconds, floored)".into(),
        C::TotFwdPkts => "packets from src to dst".into(),
        C::TotBwdPkts => "packets from dst to src".into(),
        C::TotLenFwd => "transport payload bytes from src to dst".into(),
        C::TotLenBwd => "transport payload bytes from dst to src".into(),
        C::FwdPktLen(s) => format!(
            "{} transport payload length of the packets from src to dst (bytes, 0 without)",
            stat(s)
        ),
        C::BwdPktLen(s) => format!(
            "{} transport payload length of the packets from dst to src (bytes, 0 without)",
            stat(s)
        ),
        C::FlowBytesPerSec => {
            "payload bytes of both directions per second of duration (null at duration 0)".into()
        }
        C::FlowPktsPerSec => "packets per second of duration (null at duration 0)".into(),
        C::FlowIat(s) => format!(
            "{} time between consecutive packets, both directions (microseconds, 0 without)",
            stat(s)
        ),
        C::FwdIatTotal => {
            "sum of the times between consecutive packets from src to dst (microseconds)".into()
        }
        C::FwdIat(s) => format!(
            "{} time between consecutive packets from src to dst (microseconds, 0 without)",
            stat(s)
        ),
        C::BwdIatTotal => {
            "sum of the times between consecutive packets from dst to src (microseconds)".into()
        }
        C::BwdIat(s) => format!(
            "{} time between consecutive packets from dst to src (microseconds, 0 without)",
            stat(s)
        ),
        C::FwdPsh => "packets from src to dst with PSH set".into(),
        C::BwdPsh => "packets from dst to src with PSH set".into(),
        C::FwdUrg => "packets from src to dst with URG set".into(),
        C::BwdUrg => "packets from dst to src with URG set".into(),
        C::FwdRst => "packets from src to dst with RST set".into(),
        C::BwdRst => "packets from dst to src with RST set".into(),
        C::FwdHeaderLen => "transport header bytes of the packets from src to dst".into(),
        C::BwdHeaderLen => "transport header bytes of the packets from dst to src".into(),
        C::FwdPktsPerSec => {
            "packets from src to dst per second of duration (null at duration 0)".into()
        }
        C::BwdPktsPerSec => {
            "packets from dst to src per second of duration (null at duration 0)".into()
        }
        C::PktLen(s) => format!(
            "{} transport payload length of the packets, both directions (bytes)",
            stat(s)
        ),
        C::PktLenVar => {
            "sample variance of the transport payload length, both directions (bytes^2)".into()
        }
        C::Flag(flag) => format!(
            "TCP packets with {} set, both directions",
            super::schema::FLAG_NAMES[flag].to_ascii_uppercase()
        ),
        C::DownUp => {
            "packets from dst to src / packets from src to dst (null without the latter)".into()
        }
        C::AvgPktSize => "payload bytes / packets, both directions (bytes)".into(),
        C::FwdSegAvg => "payload bytes / packets from src to dst (bytes, 0 without)".into(),
        C::BwdSegAvg => "payload bytes / packets from dst to src (bytes, 0 without)".into(),
        C::FwdHeaderLenAgain => {
            "Fwd Header Length once more, as the CIC-IDS2017 header repeats it".into()
        }
        C::FwdBulkBytes => "average payload bytes per bulk from src to dst (0 without)".into(),
        C::FwdBulkPkts => "average packets per bulk from src to dst (0 without)".into(),
        C::FwdBulkRate => "bulk payload bytes per second of bulk time from src to dst".into(),
        C::BwdBulkBytes => "average payload bytes per bulk from dst to src (0 without)".into(),
        C::BwdBulkPkts => "average packets per bulk from dst to src (0 without)".into(),
        C::BwdBulkRate => "bulk payload bytes per second of bulk time from dst to src".into(),
        C::SubflowFwdPkts => "packets from src to dst per subflow (gaps over 1 s split)".into(),
        C::SubflowFwdBytes => "payload bytes from src to dst per subflow".into(),
        C::SubflowBwdPkts => "packets from dst to src per subflow".into(),
        C::SubflowBwdBytes => "payload bytes from dst to src per subflow".into(),
        C::InitWinFwd => "TCP window of the first packet from src to dst (-1 without TCP)".into(),
        C::InitWinBwd => "TCP window of the first packet from dst to src (-1 without TCP)".into(),
        C::ActDataFwd => "packets from src to dst with at least one byte of payload".into(),
        C::ActDataBwd => "packets from dst to src with at least one byte of payload".into(),
        C::MinSegFwd => {
            "smallest transport header length from src to dst (bytes, 0 without)".into()
        }
        C::MinSegBwd => {
            "smallest transport header length from dst to src (bytes, 0 without)".into()
        }
        C::Active(s) => format!(
            "{} length of the active periods, 5 s threshold (microseconds, 0 without)",
            stat(s)
        ),
        C::Idle(s) => format!(
            "{} length of the idle gaps over 5 s (microseconds, 0 without)",
            stat(s)
        ),
        C::IcmpCode => "code of the flow's first ICMP/ICMPv6 packet (-1 otherwise)".into(),
        C::IcmpType => "type of the flow's first ICMP/ICMPv6 packet (-1 otherwise)".into(),
        C::FwdRetrans => "TCP retransmissions from src to dst".into(),
        C::BwdRetrans => "TCP retransmissions from dst to src".into(),
        C::TotalRetrans => "TCP retransmissions, both directions".into(),
        C::Label => "NeedManualLabel, as CICFlowMeter writes it".into(),
    }
}

/// Everything a CIC cell needs besides the flow.
#[derive(Debug, Clone, Copy)]
pub(super) struct CicContext {
    /// The active timeout, CICFlowMeter's "flow timeout" (for the idle bug).
    pub flow_timeout_ns: Option<i64>,
}

const NS_PER_US: f64 = 1e3;

/// Fills a CIC column for the chunk's flows (all null for a profile without
/// the CIC state, which never lists these columns).
pub(super) fn fill<F: RowFeatures>(
    column: CicColumn,
    chunk: &mut Chunk<'_, F>,
    context: CicContext,
) {
    use CicColumn as C;
    if chunk.nulls_unless(|state| state.cic().is_some()) {
        return;
    }
    // Packets or bytes per second; CICFlowMeter divides by 0 (bugs) where
    // flowq writes null.
    let rate = |f: &FinishedFlow<F>, amount: f64, zero_bug: f64| {
        let duration_ns = f.duration_ns();
        if duration_ns > 0 {
            Some(amount / (duration_ns as f64 / 1e9))
        } else {
            cic(f).bugs.then_some(zero_bug)
        }
    };
    let subflows = |f: &FinishedFlow<F>, amount: u64| {
        let state = cic(f);
        if state.bugs {
            amount.checked_div(state.subflow_gaps).unwrap_or(0) as f64
        } else {
            amount as f64 / (state.subflow_gaps + 1) as f64
        }
    };
    let bulk_avg = |f: &FinishedFlow<F>, total: u64, count: u64| match (count, cic(f).bugs) {
        (0, _) => 0.0,
        (n, true) => (total / n) as f64,
        (n, false) => total as f64 / n as f64,
    };
    let bulk_rate = |f: &FinishedFlow<F>, side: usize| {
        let b = &cic(f).bulk[side];
        if b.duration_ns <= 0 {
            return 0.0;
        }
        let rate = b.bytes as f64 / (b.duration_ns as f64 / 1e9);
        if cic(f).bugs { rate.trunc() } else { rate }
    };
    let psh_urg = |f: &FinishedFlow<F>, dir: Direction, flag: u8, index: usize| {
        let state = cic(f);
        if state.bugs {
            state.first_packet_flag(dir, flag)
        } else {
            full(f).dir_flags[dir.index()][index]
        }
    };
    let dir = |f: &FinishedFlow<F>, side: usize| full(f).standard.dir[side];
    let (src, dst) = (
        |f: &FinishedFlow<F>| f.endpoint_indices().0,
        |f: &FinishedFlow<F>| f.endpoint_indices().1,
    );
    match column {
        C::FlowId => chunk.texts(|f, text| {
            text.clear();
            push_ip(text, &f.key.addr[src(f)], f.key.ip_version);
            text.push('-');
            push_ip(text, &f.key.addr[dst(f)], f.key.ip_version);
            let _ = write!(
                text,
                "-{}-{}-{}",
                f.key.port[src(f)],
                f.key.port[dst(f)],
                f.key.protocol
            );
            text
        }),
        C::SrcIp => chunk.texts(|f, buf| ip_text(buf, &f.key.addr[src(f)], f.key.ip_version)),
        C::DstIp => chunk.texts(|f, buf| ip_text(buf, &f.key.addr[dst(f)], f.key.ip_version)),
        C::SrcPort => chunk.ints(|f| i64::from(f.key.port[src(f)])),
        C::DstPort => chunk.ints(|f| i64::from(f.key.port[dst(f)])),
        C::Protocol => chunk.ints(|f| i64::from(f.key.protocol)),
        C::Timestamp => chunk.timestamps_us(|f| f.first_ns.div_euclid(1_000)),
        C::TimestampText => chunk.texts(|f, buf| {
            buf.clear();
            original_timestamp(buf, f.first_ns);
            buf
        }),
        C::FlowDuration => chunk.ints(|f| f.duration_ns().div_euclid(1_000)),
        C::TotFwdPkts => chunk.counts(|f| dir(f, 0).packets),
        C::TotBwdPkts => chunk.counts(|f| dir(f, 1).packets),
        C::TotLenFwd => chunk.counts(|f| dir(f, 0).payload_bytes),
        C::TotLenBwd => chunk.counts(|f| dir(f, 1).payload_bytes),
        C::FwdPktLen(s) => chunk.floats(|f| stat(&cic(f).payload[0], s, 1.0)),
        C::BwdPktLen(s) => chunk.floats(|f| stat(&cic(f).payload[1], s, 1.0)),
        C::FlowBytesPerSec => chunk.opt_floats(|f| {
            let bytes = dir(f, 0).payload_bytes + dir(f, 1).payload_bytes;
            let zero_bug = if bytes == 0 { f64::NAN } else { f64::INFINITY };
            rate(f, bytes as f64, zero_bug)
        }),
        C::FlowPktsPerSec => {
            chunk.opt_floats(|f| rate(f, full(f).standard.total().packets as f64, f64::INFINITY))
        }
        C::FlowIat(s) => chunk.floats(|f| stat(&full(f).iat[2], s, NS_PER_US)),
        C::FwdIatTotal => chunk.floats(|f| full(f).iat[0].sum() / NS_PER_US),
        C::FwdIat(s) => chunk.floats(|f| stat(&full(f).iat[0], s, NS_PER_US)),
        C::BwdIatTotal => chunk.floats(|f| full(f).iat[1].sum() / NS_PER_US),
        C::BwdIat(s) => chunk.floats(|f| stat(&full(f).iat[1], s, NS_PER_US)),
        C::FwdPsh => chunk.counts(|f| psh_urg(f, Direction::Forward, CicState::PSH, 3)),
        C::BwdPsh => chunk.counts(|f| psh_urg(f, Direction::Backward, CicState::PSH, 3)),
        C::FwdUrg => chunk.counts(|f| psh_urg(f, Direction::Forward, CicState::URG, 5)),
        C::BwdUrg => chunk.counts(|f| psh_urg(f, Direction::Backward, CicState::URG, 5)),
        C::FwdRst => chunk.counts(|f| full(f).dir_flags[0][2]),
        C::BwdRst => chunk.counts(|f| full(f).dir_flags[1][2]),
        C::FwdHeaderLen | C::FwdHeaderLenAgain => chunk.counts(|f| full(f).l4_header_bytes[0]),
        C::BwdHeaderLen => chunk.counts(|f| full(f).l4_header_bytes[1]),
        C::FwdPktsPerSec => chunk.opt_floats(|f| rate(f, dir(f, 0).packets as f64, 0.0)),
        C::BwdPktsPerSec => chunk.opt_floats(|f| rate(f, dir(f, 1).packets as f64, 0.0)),
        C::PktLen(s) => chunk.floats(|f| stat(&cic(f).payload[2], s, 1.0)),
        C::PktLenVar => chunk.floats(|f| cic(f).payload[2].sample_variance().unwrap_or(0.0)),
        C::Flag(i) => chunk.counts(|f| full(f).standard.flag_counts[i]),
        C::DownUp => chunk.opt_floats(|f| match (dir(f, 0).packets, cic(f).bugs) {
            (0, _) => None,
            (fwd, true) => Some((dir(f, 1).packets / fwd) as f64),
            (fwd, false) => Some(dir(f, 1).packets as f64 / fwd as f64),
        }),
        C::AvgPktSize => chunk.floats(|f| {
            let packets = full(f).standard.total().packets;
            if packets == 0 {
                0.0
            } else {
                cic(f).payload[2].sum() / packets as f64
            }
        }),
        C::FwdSegAvg => chunk.floats(|f| cic(f).payload[0].mean().unwrap_or(0.0)),
        C::BwdSegAvg => chunk.floats(|f| cic(f).payload[1].mean().unwrap_or(0.0)),
        C::FwdBulkBytes => {
            chunk.floats(|f| bulk_avg(f, cic(f).bulk[0].bytes, cic(f).bulk[0].count))
        }
        C::FwdBulkPkts => {
            chunk.floats(|f| bulk_avg(f, cic(f).bulk[0].packets, cic(f).bulk[0].count));
        }
        C::FwdBulkRate => chunk.floats(|f| bulk_rate(f, 0)),
        C::BwdBulkBytes => {
            chunk.floats(|f| bulk_avg(f, cic(f).bulk[1].bytes, cic(f).bulk[1].count))
        }
        C::BwdBulkPkts => {
            chunk.floats(|f| bulk_avg(f, cic(f).bulk[1].packets, cic(f).bulk[1].count));
        }
        C::BwdBulkRate => chunk.floats(|f| bulk_rate(f, 1)),
        C::SubflowFwdPkts => chunk.floats(|f| subflows(f, dir(f, 0).packets)),
        C::SubflowFwdBytes => chunk.floats(|f| subflows(f, dir(f, 0).payload_bytes)),
        C::SubflowBwdPkts => chunk.floats(|f| subflows(f, dir(f, 1).packets)),
        C::SubflowBwdBytes => chunk.floats(|f| subflows(f, dir(f, 1).payload_bytes)),
        C::InitWinFwd => chunk.ints(|f| full(f).windows.initial[0].map_or(-1, i64::from)),
        C::InitWinBwd => chunk.ints(|f| {
            let window = if cic(f).bugs {
                cic(f).last_bwd_window
            } else {
                full(f).windows.initial[1]
            };
            window.map_or(-1, i64::from)
        }),
        C::ActDataFwd => chunk.counts(|f| full(f).payload_packets[0]),
        C::ActDataBwd => chunk.counts(|f| full(f).payload_packets[1]),
        C::MinSegFwd => chunk.ints(|f| cic(f).min_l4_header[0].map_or(0, i64::from)),
        C::MinSegBwd => chunk.ints(|f| cic(f).min_l4_header[1].map_or(0, i64::from)),
        C::Active(s) => chunk.floats(|f| stat(&full(f).activity.active_ns(), s, NS_PER_US)),
        C::Idle(s) => chunk.floats(|f| {
            let activity = &full(f).activity;
            let mut idle = activity.idle_ns();
            if cic(f).bugs
                && !matches!(f.end_reason, EndReason::TcpFin | EndReason::TcpRst)
                && let (Some(timeout), Some(end)) =
                    (context.flow_timeout_ns, activity.active_end_ns())
            {
                let extra = timeout - (end - f.first_ns);
                if extra > 0 {
                    idle.add(extra as f64);
                }
            }
            stat(&idle, s, NS_PER_US)
        }),
        C::IcmpCode => chunk.ints(|f| cic(f).icmp.map_or(-1, |t| i64::from(t[1]))),
        C::IcmpType => chunk.ints(|f| cic(f).icmp.map_or(-1, |t| i64::from(t[0]))),
        C::FwdRetrans => chunk.counts(|f| full(f).retransmissions[0]),
        C::BwdRetrans => chunk.counts(|f| full(f).retransmissions[1]),
        C::TotalRetrans => {
            chunk.counts(|f| full(f).retransmissions[0] + full(f).retransmissions[1]);
        }
        C::Label => chunk.texts(|_, _| "NeedManualLabel"),
    }
}

/// A statistic as CICFlowMeter writes it: 0 for an empty set, and (as Commons
/// Math gives) a standard deviation of 0 for one value.
fn stat(s: &Summary, stat: Stat, scale: f64) -> f64 {
    let v = match stat {
        Stat::Min => s.min(),
        Stat::Max => s.max(),
        Stat::Mean => s.mean(),
        Stat::Std => s.sample_std().or(s.min().map(|_| 0.0)),
    };
    v.map_or(0.0, |v| v / scale)
}

/// The CIC state of a flow whose profile keeps it (checked once per chunk by
/// [`fill`]; for those profiles this compiles to a field access).
#[inline(always)]
fn cic<F: RowFeatures>(flow: &FinishedFlow<F>) -> &CicState {
    match flow.features.cic() {
        Some(cic) => cic,
        None => unreachable!("CIC column of a profile without the CIC state"),
    }
}

/// `dd/MM/yyyy hh:mm:ss a` (12-hour clock, AM/PM), in UTC.
fn original_timestamp(out: &mut String, ns: i64) {
    let seconds = ns.div_euclid(1_000_000_000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    let (hour12, half) = match hour {
        0 => (12, "AM"),
        1..=11 => (hour, "AM"),
        12 => (12, "PM"),
        _ => (hour - 12, "PM"),
    };
    let _ = write!(
        out,
        "{day:02}/{month:02}/{year:04} {hour12:02}:{minute:02}:{second:02} {half}"
    );
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// civil-from-days algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The CIC columns of a vocabulary wrapped as flowq columns.
pub fn cic_profile_columns(vocab: CicVocab, original_timestamp: bool) -> Vec<Column> {
    cic_columns(vocab, original_timestamp)
        .into_iter()
        .map(|c| Column::Cic(vocab, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocabulary_names_every_column() {
        for vocab in [CicVocab::Cic2017, CicVocab::Cic2018, CicVocab::Cic] {
            assert_eq!(
                cic_columns(vocab, false).len(),
                names(vocab).len(),
                "{vocab:?}"
            );
        }
        assert_eq!(names(CicVocab::Cic2017).len(), 85);
        assert_eq!(names(CicVocab::Cic2018).len(), 84);
        assert_eq!(names(CicVocab::Cic).len(), 93);
        assert_eq!(names(CicVocab::Cic2017)[61], " Fwd Header Length.1");
    }

    #[test]
    fn original_timestamps() {
        let mut s = String::new();
        // 2023-11-14T22:13:20Z
        original_timestamp(&mut s, 1_700_000_000_000_000_000);
        assert_eq!(s, "14/11/2023 10:13:20 PM");
        s.clear();
        original_timestamp(&mut s, 0);
        assert_eq!(s, "01/01/1970 12:00:00 AM");
        s.clear();
        // 2000-02-29T12:00:00Z
        original_timestamp(&mut s, 951_825_600_000_000_000);
        assert_eq!(s, "29/02/2000 12:00:00 PM");
    }
}
