//! The `nfstream` profile's own columns (NFStream 6.6's names, order and
//! units) and its column list.

use super::{Column, ColumnDef, FLAG_NAMES, Kind, Scope, Stat, counted};

/// The columns of the `nfstream` profile that flowq's own profiles do not have
/// under the same name (addresses, ports, protocol and VLAN are shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum NfColumn {
    Id,
    ExpirationId,
    SrcMac,
    SrcOui,
    DstMac,
    DstOui,
    TunnelId,
    FirstSeenMs(Scope),
    LastSeenMs(Scope),
    DurationMs(Scope),
    Packets(Scope),
    Bytes(Scope),
    Ps(Scope, Stat),
    PiatMs(Scope, Stat),
    /// Packets with a TCP flag set (index into `COUNTED_FLAGS`).
    FlagPackets(Scope, usize),
    SpltDirection,
    SpltPs,
    SpltPiatMs,
}

impl NfColumn {
    pub(super) fn def(self) -> ColumnDef {
        use Kind::*;
        let text = |name: &str, kind: Kind, doc: String| counted(name.to_string(), kind, doc);
        match self {
            NfColumn::Id => text(
                "id",
                I64,
                "flow_id: number of the flow's first packet".into(),
            ),
            NfColumn::ExpirationId => text(
                "expiration_id",
                I8,
                "0 idle timeout or end of capture, 1 active timeout".into(),
            ),
            NfColumn::SrcMac => text("src_mac", Text, "source MAC of the first packet".into()),
            NfColumn::SrcOui => text("src_oui", Text, "first three bytes of src_mac".into()),
            NfColumn::DstMac => text(
                "dst_mac",
                Text,
                "destination MAC of the first packet".into(),
            ),
            NfColumn::DstOui => text("dst_oui", Text, "first three bytes of dst_mac".into()),
            NfColumn::TunnelId => text(
                "tunnel_id",
                I64,
                "NFStream's tunnel code: 1 GTP-U, 0 otherwise (IP-in-IP included)".into(),
            ),
            NfColumn::FirstSeenMs(scope) => counted(
                format!("{}_first_seen_ms", scope.nf_name()),
                I64,
                format!(
                    "first packet {} (ms since the epoch, 0 if none)",
                    scope.words()
                ),
            ),
            NfColumn::LastSeenMs(scope) => counted(
                format!("{}_last_seen_ms", scope.nf_name()),
                I64,
                format!(
                    "last packet {} (ms since the epoch, 0 if none)",
                    scope.words()
                ),
            ),
            NfColumn::DurationMs(scope) => counted(
                format!("{}_duration_ms", scope.nf_name()),
                I64,
                format!("last_seen_ms - first_seen_ms {}", scope.words()),
            ),
            NfColumn::Packets(scope) => counted(
                format!("{}_packets", scope.nf_name()),
                I64,
                format!("packets {}", scope.words()),
            ),
            NfColumn::Bytes(scope) => counted(
                format!("{}_bytes", scope.nf_name()),
                I64,
                format!("wire bytes {}", scope.words()),
            ),
            NfColumn::Ps(scope, stat) => counted(
                format!("{}_{}_ps", scope.nf_name(), nf_stat(stat)),
                if matches!(stat, Stat::Min | Stat::Max) {
                    I64
                } else {
                    F64
                },
                format!("{} wire length {} (0 if none)", stat.words(), scope.words()),
            ),
            NfColumn::PiatMs(scope, stat) => counted(
                format!("{}_{}_piat_ms", scope.nf_name(), nf_stat(stat)),
                if matches!(stat, Stat::Min | Stat::Max) {
                    I64
                } else {
                    F64
                },
                format!(
                    "{} packet inter-arrival time {} (ms, 0 if none)",
                    stat.words(),
                    scope.words()
                ),
            ),
            NfColumn::FlagPackets(scope, flag) => counted(
                format!("{}_{}_packets", scope.nf_name(), FLAG_NAMES[flag]),
                I64,
                format!(
                    "TCP packets {} with {} set",
                    scope.words(),
                    FLAG_NAMES[flag].to_ascii_uppercase()
                ),
            ),
            NfColumn::SpltDirection => text(
                "splt_direction",
                ListI8,
                "direction of the first packets (0 src2dst, 1 dst2src, -1 padding)".into(),
            ),
            NfColumn::SpltPs => text(
                "splt_ps",
                ListI32,
                "wire length of the first packets (-1 padding)".into(),
            ),
            NfColumn::SpltPiatMs => text(
                "splt_piat_ms",
                ListI64,
                "inter-arrival time of the first packets (ms, 0 first, -1 padding)".into(),
            ),
        }
    }
}

fn nf_stat(stat: Stat) -> &'static str {
    match stat {
        Stat::Min => "min",
        Stat::Max => "max",
        Stat::Mean => "mean",
        Stat::Std => "stddev",
    }
}

/// The `nfstream` profile's columns: NFStream 6.6's core columns, its 48
/// statistical columns with `stats`, and its early-flow sequence with `splt`.
pub fn nfstream_columns(stats: bool, splt: bool) -> Vec<Column> {
    use NfColumn as N;
    let mut c = vec![
        Column::Nf(N::Id),
        Column::Nf(N::ExpirationId),
        Column::SrcIp,
        Column::Nf(N::SrcMac),
        Column::Nf(N::SrcOui),
        Column::SrcPort,
        Column::DstIp,
        Column::Nf(N::DstMac),
        Column::Nf(N::DstOui),
        Column::DstPort,
        Column::Protocol,
        Column::IpVersion,
        Column::VlanId,
        Column::Nf(N::TunnelId),
    ];
    for scope in Scope::ALL {
        c.extend([
            Column::Nf(N::FirstSeenMs(scope)),
            Column::Nf(N::LastSeenMs(scope)),
            Column::Nf(N::DurationMs(scope)),
            Column::Nf(N::Packets(scope)),
            Column::Nf(N::Bytes(scope)),
        ]);
    }
    if stats {
        let order = [Stat::Min, Stat::Mean, Stat::Std, Stat::Max];
        for scope in Scope::ALL {
            c.extend(order.map(|stat| Column::Nf(N::Ps(scope, stat))));
        }
        for scope in Scope::ALL {
            c.extend(order.map(|stat| Column::Nf(N::PiatMs(scope, stat))));
        }
        // NFStream's flag order: syn, cwr, ece, urg, ack, psh, rst, fin.
        let flags = [0, 7, 6, 5, 4, 3, 2, 1];
        for scope in Scope::ALL {
            c.extend(flags.map(|flag| Column::Nf(N::FlagPackets(scope, flag))));
        }
    }
    if splt {
        c.extend([
            Column::Nf(N::SpltDirection),
            Column::Nf(N::SpltPs),
            Column::Nf(N::SpltPiatMs),
        ]);
    }
    c
}
