//! Cells of the statistical columns (`full` and `nfstream` profiles), read from
//! [`FullFeatures`]. Units and null rules: docs/features.md.

use super::builder::FlowId;
use super::chunk::Chunk;
use super::schema::{Column, NfColumn, Scope, Stat};
use crate::decode::Tunnel;
use crate::features::{FullFeatures, RowFeatures, Summary};
use crate::flow::{Direction, EndReason, FinishedFlow};
use std::fmt::Write as _;

const NS_PER_US: f64 = 1e3;
const NS_PER_MS: f64 = 1e6;

/// Fills a statistical column for the chunk's flows (all null for a profile
/// without the statistical state, which never lists these columns).
pub(super) fn fill<F: RowFeatures>(column: Column, chunk: &mut Chunk<'_, F>, flow_id: FlowId) {
    if chunk.nulls_unless(|state| state.full().is_some()) {
        return;
    }
    let per_second = |f: &FinishedFlow<F>, amount: u64| {
        let duration_ns = f.duration_ns();
        (duration_ns > 0).then(|| amount as f64 / (duration_ns as f64 / 1e9))
    };
    let packets = |f: &FinishedFlow<F>, side: usize| full(f).standard.dir[side].packets;
    match column {
        Column::PktLen(scope, stat) => {
            let s = move |f: &FinishedFlow<F>| statistic(&full(f).pkt_len[scope.index()], stat);
            match stat {
                Stat::Min | Stat::Max => chunk.opt_ints(|f| s(f).map(|v| v as i64)),
                Stat::Mean | Stat::Std => chunk.opt_floats(s),
            }
        }
        Column::IatUs(scope, stat) => chunk
            .opt_floats(|f| statistic(&full(f).iat[scope.index()], stat).map(|v| v / NS_PER_US)),
        Column::DirFlagCount(side, flag) => {
            chunk.counts(|f| full(f).dir_flags[side.index()][flag]);
        }
        Column::HeaderBytes(side) => chunk.counts(|f| full(f).header_bytes[side.index()]),
        Column::PayloadPkts(side) => chunk.counts(|f| full(f).payload_packets[side.index()]),
        Column::InitWin(side) => {
            chunk.opt_ints(|f| full(f).windows.initial[side.index()].map(i64::from));
        }
        Column::WinMin(side) => chunk.opt_ints(|f| {
            let w = &full(f).windows;
            w.initial[side.index()].map(|_| i64::from(w.min[side.index()]))
        }),
        Column::WinMax(side) => chunk.opt_ints(|f| {
            let w = &full(f).windows;
            w.initial[side.index()].map(|_| i64::from(w.max[side.index()]))
        }),
        Column::Mss(side) => chunk.opt_ints(|f| full(f).windows.mss[side.index()].map(i64::from)),
        Column::WinScale(side) => {
            chunk.opt_ints(|f| full(f).windows.window_scale[side.index()].map(i64::from));
        }
        Column::SynToSynAckUs => chunk.opt_floats(|f| {
            full(f)
                .handshake
                .syn_to_syn_ack_ns()
                .map(|ns| ns as f64 / NS_PER_US)
        }),
        Column::SynAckToAckUs => chunk.opt_floats(|f| {
            full(f)
                .handshake
                .syn_ack_to_ack_ns()
                .map(|ns| ns as f64 / NS_PER_US)
        }),
        Column::RetransPkts(side) => chunk.counts(|f| full(f).retransmissions[side.index()]),
        Column::OutOfOrderPkts => chunk.counts(|f| full(f).out_of_order),
        Column::ActiveUs(stat) => chunk
            .opt_floats(|f| statistic(&full(f).activity.active_ns(), stat).map(|v| v / NS_PER_US)),
        Column::IdleUs(stat) => chunk
            .opt_floats(|f| statistic(&full(f).activity.idle_ns(), stat).map(|v| v / NS_PER_US)),
        Column::TtlMin(side) => chunk.opt_ints(|f| {
            let d = side.index();
            (packets(f, d) > 0).then(|| i64::from(full(f).ttl_min[d]))
        }),
        Column::TtlMax(side) => chunk.opt_ints(|f| {
            let d = side.index();
            (packets(f, d) > 0).then(|| i64::from(full(f).ttl_max[d]))
        }),
        Column::Dscp => chunk.ints(|f| i64::from(full(f).first_dscp)),
        Column::BytesPerSec => {
            chunk.opt_floats(|f| per_second(f, full(f).standard.total().wire_bytes));
        }
        Column::PktsPerSec => {
            chunk.opt_floats(|f| per_second(f, full(f).standard.total().packets));
        }
        Column::SpltDirection => chunk.int_lists(|f, out| {
            out.extend(full(f).splt.iter().map(|e| e.direction as i64));
        }),
        Column::SpltPktLen => chunk.int_lists(|f, out| {
            out.extend(full(f).splt.iter().map(|e| i64::from(e.wire_len)));
        }),
        Column::SpltIatUs => chunk.float_lists(|f, out| {
            out.extend(full(f).splt.iter().map(|e| e.iat_ns as f64 / NS_PER_US));
        }),
        Column::Nf(column) => fill_nf(column, chunk, flow_id),
        Column::Ppi(..)
        | Column::PpiLen
        | Column::PpiDuration
        | Column::PpiRoundtrips
        | Column::SizeHist(_)
        | Column::IptHist(_)
        | Column::ByteDist(_)
        | Column::ByteEntropy(_)
        | Column::PayloadEntropy(_)
        | Column::PayloadPrefix(_)
        | Column::PayloadPackets
        | Column::PayloadPacketsDir
        | Column::FlowPic => super::deep::fill(column, chunk),
        // The standard columns are filled by the caller.
        _ => chunk.nulls(),
    }
}

/// The statistical state of a flow whose profile keeps it (checked once per
/// chunk by the column functions; for those profiles this compiles to a field
/// access).
#[inline(always)]
pub(super) fn full<F: RowFeatures>(flow: &FinishedFlow<F>) -> &FullFeatures {
    match flow.features.full() {
        Some(full) => full,
        None => unreachable!("a column of a profile without the statistical state"),
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
fn fill_nf<F: RowFeatures>(column: NfColumn, chunk: &mut Chunk<'_, F>, flow_id: FlowId) {
    let ms = |ns: i64| ns.div_euclid(1_000_000);
    // First and last timestamp of the scope, when it has packets.
    let span = |f: &FinishedFlow<F>, scope: Scope| -> Option<(i64, i64)> {
        match scope {
            Scope::Both => Some((f.first_ns, f.last_ns)),
            Scope::Fwd | Scope::Bwd => {
                let (full, d) = (full(f), scope.index());
                (full.standard.dir[d].packets > 0).then(|| (full.first_seen[d], full.last_seen[d]))
            }
        }
    };
    let packets = |f: &FinishedFlow<F>, scope: Scope| match scope {
        Scope::Both => full(f).standard.total().packets,
        _ => full(f).standard.dir[scope.index()].packets,
    };
    let splt_len = |f: &FinishedFlow<F>| full(f).splt_len();
    match column {
        NfColumn::Id => chunk.ints(flow_id.of()),
        NfColumn::ExpirationId => {
            chunk.ints(|f| i64::from(f.end_reason == EndReason::ActiveTimeout));
        }
        NfColumn::SrcMac => chunk.texts(|f, buf| mac_text(buf, &full(f).mac[0], 6)),
        NfColumn::SrcOui => chunk.texts(|f, buf| mac_text(buf, &full(f).mac[0], 3)),
        NfColumn::DstMac => chunk.texts(|f, buf| mac_text(buf, &full(f).mac[1], 6)),
        NfColumn::DstOui => chunk.texts(|f, buf| mac_text(buf, &full(f).mac[1], 3)),
        // NFStream's codes: 1 GTP-U, 2 CAPWAP, 3 TZSP (the last two not decoded).
        NfColumn::TunnelId => chunk.ints(|f| i64::from(f.key.tunnel == Tunnel::GtpU)),
        NfColumn::FirstSeenMs(scope) => chunk.ints(|f| span(f, scope).map_or(0, |(s, _)| ms(s))),
        NfColumn::LastSeenMs(scope) => chunk.ints(|f| span(f, scope).map_or(0, |(_, l)| ms(l))),
        NfColumn::DurationMs(scope) => {
            chunk.ints(|f| span(f, scope).map_or(0, |(s, l)| ms(l) - ms(s)));
        }
        NfColumn::Packets(scope) => chunk.counts(|f| packets(f, scope)),
        NfColumn::Bytes(scope) => chunk.counts(|f| match scope {
            Scope::Both => full(f).standard.total().wire_bytes,
            _ => full(f).standard.dir[scope.index()].wire_bytes,
        }),
        NfColumn::Ps(scope, stat) => {
            nf_statistic(chunk, stat, 1.0, |f| &full(f).pkt_len[scope.index()])
        }
        NfColumn::PiatMs(scope, stat) => {
            nf_statistic(chunk, stat, NS_PER_MS, |f| &full(f).iat[scope.index()]);
        }
        NfColumn::FlagPackets(scope, flag) => chunk.counts(|f| match scope {
            Scope::Both => full(f).standard.flag_counts[flag],
            _ => full(f).dir_flags[scope.index()][flag],
        }),
        NfColumn::SpltDirection => chunk.int_lists(|f, out| {
            out.extend(full(f).splt.iter().map(|e| match e.direction {
                Direction::Forward => 0,
                Direction::Backward => 1,
            }));
            pad(out, splt_len(f));
        }),
        NfColumn::SpltPs => chunk.int_lists(|f, out| {
            out.extend(full(f).splt.iter().map(|e| i64::from(e.wire_len)));
            pad(out, splt_len(f));
        }),
        NfColumn::SpltPiatMs => chunk.int_lists(|f, out| {
            out.extend(
                full(f)
                    .splt
                    .iter()
                    .map(|e| (e.iat_ns as f64 / NS_PER_MS).round() as i64),
            );
            pad(out, splt_len(f));
        }),
    }
}

/// A statistic in NFStream's form: integer min/max, float mean and sample
/// standard deviation, 0 for an empty set and a standard deviation of 0 for one
/// value. Times are rounded to the nearest millisecond (see docs/features.md).
fn nf_statistic<F>(
    chunk: &mut Chunk<'_, F>,
    stat: Stat,
    unit: f64,
    summary: impl Fn(&FinishedFlow<F>) -> &Summary,
) {
    match stat {
        Stat::Min | Stat::Max => {
            chunk.ints(|f| statistic(summary(f), stat).map_or(0, |v| (v / unit).round() as i64))
        }
        Stat::Mean => chunk.floats(|f| summary(f).mean().map_or(0.0, |v| v / unit)),
        Stat::Std => chunk.floats(|f| summary(f).sample_std().map_or(0.0, |v| v / unit)),
    }
}

/// Pads an early-flow sequence with −1 to its configured length.
fn pad(values: &mut Vec<i64>, len: usize) {
    values.resize(len.max(values.len()), -1);
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
