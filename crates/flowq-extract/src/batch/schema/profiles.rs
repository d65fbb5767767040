//! Which columns each of flowq's own profiles writes, in order (`standard`,
//! `seed`, and what `full` adds). The `nfstream` list is in `nfstream.rs`,
//! the CIC ones in `batch/cic.rs`.

use super::{Column, FLAG_NAMES, PpiField, Scope, Stat};
use crate::features::DeepConfig;
use crate::flow::Direction;

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
    Column::Tunnel,
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

/// The columns added by the `full` profile to the standard ones, in order;
/// the early-flow sequence is included when `splt` is true.
pub fn full_extra_columns(splt: bool) -> Vec<Column> {
    let mut c = Vec::with_capacity(96);
    for scope in Scope::ALL {
        c.extend(Stat::ALL.map(|stat| Column::PktLen(scope, stat)));
    }
    for scope in Scope::ALL {
        c.extend(Stat::ALL.map(|stat| Column::IatUs(scope, stat)));
    }
    for side in Direction::ALL {
        c.extend((0..FLAG_NAMES.len()).map(|flag| Column::DirFlagCount(side, flag)));
    }
    c.extend(Direction::ALL.map(Column::HeaderBytes));
    c.extend(Direction::ALL.map(Column::PayloadPkts));
    c.extend(Direction::ALL.map(Column::InitWin));
    for side in Direction::ALL {
        c.extend([Column::WinMin(side), Column::WinMax(side)]);
    }
    c.extend(Direction::ALL.map(Column::Mss));
    c.extend(Direction::ALL.map(Column::WinScale));
    c.extend([Column::SynToSynAckUs, Column::SynAckToAckUs]);
    c.extend(Direction::ALL.map(Column::RetransPkts));
    c.push(Column::OutOfOrderPkts);
    c.extend(Stat::ALL.map(Column::ActiveUs));
    c.extend(Stat::ALL.map(Column::IdleUs));
    for side in Direction::ALL {
        c.extend([Column::TtlMin(side), Column::TtlMax(side)]);
    }
    c.extend([Column::Dscp, Column::BytesPerSec, Column::PktsPerSec]);
    if splt {
        c.extend([Column::SpltDirection, Column::SpltPktLen, Column::SpltIatUs]);
    }
    c
}

/// The deep-learning columns the `full` profile adds with `config`, in order;
/// `ppi_pad` makes the PPI columns fixed-size lists of `ppi_len` elements.
pub fn deep_columns(config: &DeepConfig, ppi_pad: bool) -> Vec<Column> {
    let mut c = Vec::new();
    if config.ppi_len > 0 {
        let pad = if ppi_pad { config.ppi_len } else { 0 };
        c.extend(PpiField::ALL.map(|field| Column::Ppi(field, pad)));
        c.extend([Column::PpiLen, Column::PpiDuration, Column::PpiRoundtrips]);
    }
    if config.histograms {
        c.extend(Direction::ALL.map(Column::SizeHist));
        c.extend(Direction::ALL.map(Column::IptHist));
    }
    if config.byte_dist_len > 0 {
        c.extend(Direction::ALL.map(Column::ByteDist));
        c.extend(Direction::ALL.map(Column::ByteEntropy));
        c.extend(Direction::ALL.map(Column::PayloadEntropy));
    }
    if config.payload_prefix_len > 0 {
        c.extend(Direction::ALL.map(Column::PayloadPrefix));
    }
    if config.payload_packets > 0 {
        c.extend([Column::PayloadPackets, Column::PayloadPacketsDir]);
    }
    if config.flowpic_secs > 0 {
        c.push(Column::FlowPic);
    }
    c
}
