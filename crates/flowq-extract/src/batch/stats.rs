//! Cells of the statistical columns (`full` and `nfstream` profiles), read from
//! [`FullFeatures`]. Units and null rules: docs/features.md.

use super::builder::{Scratch, Value};
use super::schema::{Column, NfColumn, Scope, Stat};
use crate::decode::Tunnel;
use crate::features::{FullFeatures, Summary};
use crate::flow::{Direction, EndReason, FinishedFlow};
use std::fmt::Write as _;

const NS_PER_US: f64 = 1e3;
const NS_PER_MS: f64 = 1e6;

pub(super) fn cell<'s, F>(
    column: Column,
    flow: &FinishedFlow<F>,
    full: &FullFeatures,
    flow_id: i64,
    scratch: &'s mut Scratch,
) -> Value<'s> {
    let int = Value::count;
    let opt_int = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
    let opt_float = |v: Option<f64>| v.map_or(Value::Null, Value::Float);
    let packets = |side: usize| full.standard.dir[side].packets;
    let duration_ns = flow.last_ns.saturating_sub(flow.first_ns);
    let per_second =
        |amount: u64| (duration_ns > 0).then(|| amount as f64 / (duration_ns as f64 / 1e9));
    match column {
        Column::PktLen(scope, stat) => {
            let s = &full.pkt_len[scope.index()];
            match stat {
                Stat::Min | Stat::Max => opt_int(statistic(s, stat).map(|v| v as i64)),
                Stat::Mean | Stat::Std => opt_float(statistic(s, stat)),
            }
        }
        Column::IatUs(scope, stat) => {
            opt_float(statistic(&full.iat[scope.index()], stat).map(|v| v / NS_PER_US))
        }
        Column::DirFlagCount(side, flag) => int(full.dir_flags[side.index()][flag]),
        Column::HeaderBytes(side) => int(full.header_bytes[side.index()]),
        Column::PayloadPkts(side) => int(full.payload_packets[side.index()]),
        Column::InitWin(side) => opt_int(full.windows.initial[side.index()].map(i64::from)),
        Column::WinMin(side) => {
            let d = side.index();
            opt_int(full.windows.initial[d].map(|_| i64::from(full.windows.min[d])))
        }
        Column::WinMax(side) => {
            let d = side.index();
            opt_int(full.windows.initial[d].map(|_| i64::from(full.windows.max[d])))
        }
        Column::Mss(side) => opt_int(full.windows.mss[side.index()].map(i64::from)),
        Column::WinScale(side) => opt_int(full.windows.window_scale[side.index()].map(i64::from)),
        Column::SynToSynAckUs => opt_float(
            full.handshake
                .syn_to_syn_ack_ns()
                .map(|ns| ns as f64 / NS_PER_US),
        ),
        Column::SynAckToAckUs => opt_float(
            full.handshake
                .syn_ack_to_ack_ns()
                .map(|ns| ns as f64 / NS_PER_US),
        ),
        Column::RetransPkts(side) => int(full.retransmissions[side.index()]),
        Column::OutOfOrderPkts => int(full.out_of_order),
        Column::ActiveUs(stat) => {
            opt_float(statistic(&full.activity.active_ns(), stat).map(|v| v / NS_PER_US))
        }
        Column::IdleUs(stat) => {
            opt_float(statistic(&full.activity.idle_ns(), stat).map(|v| v / NS_PER_US))
        }
        Column::TtlMin(side) => {
            let d = side.index();
            opt_int((packets(d) > 0).then(|| i64::from(full.ttl_min[d])))
        }
        Column::TtlMax(side) => {
            let d = side.index();
            opt_int((packets(d) > 0).then(|| i64::from(full.ttl_max[d])))
        }
        Column::Dscp => Value::Int(i64::from(full.first_dscp)),
        Column::BytesPerSec => opt_float(per_second(full.standard.total().wire_bytes)),
        Column::PktsPerSec => opt_float(per_second(full.standard.total().packets)),
        Column::SpltDirection => {
            scratch.ints.clear();
            scratch
                .ints
                .extend(full.splt.iter().map(|e| e.direction as i64));
            Value::Ints(&scratch.ints)
        }
        Column::SpltPktLen => {
            scratch.ints.clear();
            scratch
                .ints
                .extend(full.splt.iter().map(|e| i64::from(e.wire_len)));
            Value::Ints(&scratch.ints)
        }
        Column::SpltIatUs => {
            scratch.floats.clear();
            scratch
                .floats
                .extend(full.splt.iter().map(|e| e.iat_ns as f64 / NS_PER_US));
            Value::Floats(&scratch.floats)
        }
        Column::Nf(column) => nf_cell(column, flow, full, flow_id, scratch),
        // The standard columns are read by the caller.
        _ => Value::Null,
    }
}

fn statistic(s: &Summary, stat: Stat) -> Option<f64> {
    match stat {
        Stat::Min => s.min(),
        Stat::Max => s.max(),
        Stat::Mean => s.mean(),
        Stat::Std => s.sample_std(),
    }
}

/// NFStream's view: integer milliseconds (floored) for times, 0 where a
/// direction or a statistic is empty, −1 padding in the early-flow sequence.
fn nf_cell<'s, F>(
    column: NfColumn,
    flow: &FinishedFlow<F>,
    full: &FullFeatures,
    flow_id: i64,
    scratch: &'s mut Scratch,
) -> Value<'s> {
    let int = Value::count;
    let ms = |ns: i64| ns.div_euclid(1_000_000);
    // First and last timestamp of the scope, when it has packets.
    let span = |scope: Scope| -> Option<(i64, i64)> {
        match scope {
            Scope::Both => Some((flow.first_ns, flow.last_ns)),
            Scope::Fwd | Scope::Bwd => {
                let d = scope.index();
                (full.standard.dir[d].packets > 0).then(|| (full.first_seen[d], full.last_seen[d]))
            }
        }
    };
    let packets = |scope: Scope| match scope {
        Scope::Both => full.standard.total().packets,
        _ => full.standard.dir[scope.index()].packets,
    };
    match column {
        NfColumn::Id => Value::Int(flow_id),
        NfColumn::ExpirationId => {
            Value::Int(i64::from(flow.end_reason == EndReason::ActiveTimeout))
        }
        NfColumn::SrcMac => Value::Text(mac_text(&mut scratch.text, &full.mac[0], 6)),
        NfColumn::SrcOui => Value::Text(mac_text(&mut scratch.text, &full.mac[0], 3)),
        NfColumn::DstMac => Value::Text(mac_text(&mut scratch.text, &full.mac[1], 6)),
        NfColumn::DstOui => Value::Text(mac_text(&mut scratch.text, &full.mac[1], 3)),
        // NFStream's codes: 1 GTP-U, 2 CAPWAP, 3 TZSP (the last two not decoded).
        NfColumn::TunnelId => Value::Int(i64::from(flow.key.tunnel == Tunnel::GtpU)),
        NfColumn::FirstSeenMs(scope) => Value::Int(span(scope).map_or(0, |(f, _)| ms(f))),
        NfColumn::LastSeenMs(scope) => Value::Int(span(scope).map_or(0, |(_, l)| ms(l))),
        NfColumn::DurationMs(scope) => Value::Int(span(scope).map_or(0, |(f, l)| ms(l) - ms(f))),
        NfColumn::Packets(scope) => int(packets(scope)),
        NfColumn::Bytes(scope) => int(match scope {
            Scope::Both => full.standard.total().wire_bytes,
            _ => full.standard.dir[scope.index()].wire_bytes,
        }),
        NfColumn::Ps(scope, stat) => nf_statistic(&full.pkt_len[scope.index()], stat, 1.0),
        NfColumn::PiatMs(scope, stat) => nf_statistic(&full.iat[scope.index()], stat, NS_PER_MS),
        NfColumn::FlagPackets(scope, flag) => int(match scope {
            Scope::Both => full.standard.flag_counts[flag],
            _ => full.dir_flags[scope.index()][flag],
        }),
        NfColumn::SpltDirection => {
            let values = full.splt.iter().map(|e| match e.direction {
                Direction::Forward => 0,
                Direction::Backward => 1,
            });
            padded(scratch, full.splt_len(), values)
        }
        NfColumn::SpltPs => {
            let values = full.splt.iter().map(|e| i64::from(e.wire_len));
            padded(scratch, full.splt_len(), values)
        }
        NfColumn::SpltPiatMs => {
            let values = full
                .splt
                .iter()
                .map(|e| (e.iat_ns as f64 / NS_PER_MS).round() as i64);
            padded(scratch, full.splt_len(), values)
        }
    }
}

/// A statistic in NFStream's form: integer min/max, float mean and sample
/// standard deviation, 0 for an empty set and a standard deviation of 0 for one
/// value. Times are rounded to the nearest millisecond (see docs/features.md).
fn nf_statistic<'s>(s: &Summary, stat: Stat, unit: f64) -> Value<'s> {
    match stat {
        Stat::Min | Stat::Max => {
            Value::Int(statistic(s, stat).map_or(0, |v| (v / unit).round() as i64))
        }
        Stat::Mean => Value::Float(s.mean().map_or(0.0, |v| v / unit)),
        Stat::Std => Value::Float(s.sample_std().map_or(0.0, |v| v / unit)),
    }
}

fn padded<'s>(
    scratch: &'s mut Scratch,
    len: usize,
    values: impl Iterator<Item = i64>,
) -> Value<'s> {
    scratch.ints.clear();
    scratch.ints.extend(values);
    scratch.ints.resize(len.max(scratch.ints.len()), -1);
    Value::Ints(&scratch.ints)
}

/// `aa:bb:cc:dd:ee:ff` (the first `bytes` bytes), lower case as NFStream writes it.
fn mac_text<'s>(buf: &'s mut String, mac: &[u8; 6], bytes: usize) -> &'s str {
    buf.clear();
    for (i, b) in mac.iter().take(bytes).enumerate() {
        if i > 0 {
            buf.push(':');
        }
        // Writing to a String cannot fail.
        let _ = write!(buf, "{b:02x}");
    }
    buf
}
