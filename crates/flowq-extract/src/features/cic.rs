//! The extra state of the CICFlowMeter profiles: payload-length statistics,
//! bulk transfers, subflows and the values CICFlowMeter's bugs produce
//! (`--cic-compat bugs`). Definitions: docs/cic.md.

use super::{FullConfig, FullFeatures, RowFeatures, StandardFeatures, Summary};
use crate::decode::{PacketView, tcp_flags};
use crate::flow::{Direction, FlowFeatures};

/// A gap longer than this between payload packets ends a bulk, and between
/// any two packets starts a new subflow (1 s, CICFlowMeter's constant).
const BULK_AND_SUBFLOW_GAP_NS: i64 = 1_000_000_000;
/// Payload packets that make a bulk.
const BULK_MIN_PACKETS: u64 = 4;

/// Settings of the CIC state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CicConfig {
    /// The statistical state underneath.
    pub full: FullConfig,
    /// Reproduce CICFlowMeter's arithmetic bugs.
    pub bugs: bool,
}

/// Bulk transfers of one direction, as CICFlowMeter counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bulk {
    /// Start of the current bulk candidate.
    start: Option<i64>,
    /// Time of the latest payload packet that joined or started a candidate.
    last: Option<i64>,
    candidate_packets: u64,
    candidate_bytes: u64,
    /// Bulks seen (candidates that reached `BULK_MIN_PACKETS`).
    pub count: u64,
    /// Packets in bulks.
    pub packets: u64,
    /// Payload bytes in bulks.
    pub bytes: u64,
    /// Time spent in bulks (ns).
    pub duration_ns: i64,
}

impl Bulk {
    /// Adds one packet of this direction with `payload` bytes at `ts`;
    /// `other_last` is the other direction's latest bulk packet time.
    fn observe(&mut self, ts: i64, payload: u64, other_last: Option<i64>) {
        if let (Some(start), Some(other)) = (self.start, other_last)
            && other > start
        {
            self.start = None;
        }
        if payload == 0 {
            return;
        }
        let last = self.last.unwrap_or(ts);
        match self.start {
            Some(start) if ts.saturating_sub(last) <= BULK_AND_SUBFLOW_GAP_NS => {
                self.candidate_packets += 1;
                self.candidate_bytes += payload;
                if self.candidate_packets == BULK_MIN_PACKETS {
                    self.count += 1;
                    self.packets += self.candidate_packets;
                    self.bytes += self.candidate_bytes;
                    self.duration_ns += ts.saturating_sub(start);
                } else if self.candidate_packets > BULK_MIN_PACKETS {
                    self.packets += 1;
                    self.bytes += payload;
                    self.duration_ns += ts.saturating_sub(last);
                }
            }
            _ => {
                self.start = Some(ts);
                self.candidate_packets = 1;
                self.candidate_bytes = payload;
            }
        }
        self.last = Some(ts);
    }
}

/// What the CIC profiles add to the statistical state.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CicState {
    /// Transport payload length of each packet, `[fwd, bwd, both]`. With the
    /// bugs, the first packet enters `both` twice, as in CICFlowMeter.
    pub payload: [Summary; 3],
    /// Bulks per direction; with the bugs every packet feeds the backward one.
    pub bulk: [Bulk; 2],
    /// Gaps of more than 1 s between consecutive packets.
    pub subflow_gaps: u64,
    last_ts: Option<i64>,
    /// Smallest transport header length per direction.
    pub min_l4_header: [Option<u32>; 2],
    /// Window field of the last backward TCP packet (the bug's value).
    pub last_bwd_window: Option<u16>,
    /// TCP flags and direction of the flow's first packet (the bug counts PSH
    /// and URG there only).
    pub first_flags: u8,
    /// See `first_flags`.
    pub first_direction: Option<Direction>,
    /// Type and code of the flow's first ICMP packet.
    pub icmp: Option<[u8; 2]>,
    /// Whether the bugs are reproduced.
    pub bugs: bool,
}

/// Per-flow state of the CIC profiles.
#[derive(Debug, Clone, Default)]
pub struct CicFeatures {
    /// The `full` profile's state.
    pub full: FullFeatures,
    /// The CIC additions.
    pub cic: CicState,
}

impl RowFeatures for CicFeatures {
    fn standard(&self) -> &StandardFeatures {
        &self.full.standard
    }

    fn standard_mut(&mut self) -> &mut StandardFeatures {
        &mut self.full.standard
    }

    fn full(&self) -> Option<&FullFeatures> {
        Some(&self.full)
    }

    fn cic(&self) -> Option<&CicState> {
        Some(&self.cic)
    }

    fn written(&self) -> bool {
        !(self.cic.bugs && self.full.standard.total().packets < 2)
    }
}

impl FlowFeatures for CicFeatures {
    type Config = CicConfig;

    fn new(config: &CicConfig) -> Self {
        CicFeatures {
            full: FullFeatures::new(&config.full),
            cic: CicState {
                bugs: config.bugs,
                ..CicState::default()
            },
        }
    }

    fn end(&mut self) {
        self.full.end();
    }

    #[inline]
    fn update(&mut self, packet: &PacketView<'_>, dir: Direction) {
        self.full.update(packet, dir);
        let c = &mut self.cic;
        let d = dir.index();
        let ts = packet.ts_ns;
        let payload = u64::from(packet.l4_payload_len);
        let first = c.first_direction.is_none();
        if first {
            c.first_direction = Some(dir);
            c.first_flags = packet.tcp_flags();
        }
        c.payload[d].add(payload as f64);
        c.payload[2].add(payload as f64);
        if first && c.bugs {
            c.payload[2].add(payload as f64);
        }
        if c.bugs {
            let other = c.bulk[0].last;
            c.bulk[1].observe(ts, payload, other);
        } else {
            let other = c.bulk[1 - d].last;
            c.bulk[d].observe(ts, payload, other);
        }
        if let Some(last) = c.last_ts
            && ts.saturating_sub(last) > BULK_AND_SUBFLOW_GAP_NS
        {
            c.subflow_gaps += 1;
        }
        c.last_ts = Some(ts);
        let header = u32::from(packet.l4_header_len);
        c.min_l4_header[d] = Some(c.min_l4_header[d].map_or(header, |m| m.min(header)));
        if dir == Direction::Backward
            && let Some(window) = packet.tcp.and_then(|t| t.window)
        {
            c.last_bwd_window = Some(window);
        }
        if c.icmp.is_none() {
            c.icmp = packet.icmp;
        }
    }
}

impl CicState {
    /// Packets of `dir` with `flag` set, as the bugs count them: only the
    /// flow's first packet.
    pub fn first_packet_flag(&self, dir: Direction, flag: u8) -> u64 {
        u64::from(self.first_direction == Some(dir) && self.first_flags & flag != 0)
    }

    /// PSH flag bit, for [`first_packet_flag`](Self::first_packet_flag).
    pub const PSH: u8 = tcp_flags::PSH;
    /// URG flag bit.
    pub const URG: u8 = tcp_flags::URG;
}
