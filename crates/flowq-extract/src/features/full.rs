//! The statistical state behind the `full` and `nfstream` profiles: packet
//! sizes, inter-arrival times, per-direction TCP flags and windows, the
//! handshake, retransmissions, activity periods, TTLs and the early-flow
//! sequence. Everything is O(1) per flow except the sequence, which is bounded
//! by its configured length. Definitions: docs/features.md.

use super::{COUNTED_FLAGS, DeepConfig, DeepState, RowFeatures, StandardFeatures, Summary};
use crate::decode::{NO_WINDOW_SCALE, PacketView, tcp_flags};
use crate::flow::{Direction, FlowFeatures};

/// A gap between packets longer than this ends an activity period (5 s, the
/// threshold CICFlowMeter uses for its active/idle features).
pub const ACTIVITY_THRESHOLD_NS: i64 = 5_000_000_000;

/// Index of the both-directions entry in `[fwd, bwd, both]` arrays.
const BOTH: usize = 2;

/// Settings of the statistical state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FullConfig {
    /// Packets kept in the early-flow sequence (SPLT); 0 keeps none.
    pub splt_len: u16,
    /// The deep-learning inputs kept (none by default).
    pub deep: DeepConfig,
    /// The application metadata.
    pub app: super::AppConfig,
}

/// One packet of the early-flow sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpltEntry {
    /// Direction of the packet.
    pub direction: Direction,
    /// Length on the wire (bytes).
    pub wire_len: u32,
    /// Time since the flow's previous packet in arrival order (ns; 0 for the
    /// first packet, and for packets stamped earlier than their predecessor).
    pub iat_ns: i64,
}

/// TCP windows and SYN options of each direction (`[fwd, bwd]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpWindows {
    /// Window field of the direction's first TCP packet whose window was captured (unscaled).
    pub initial: [Option<u16>; 2],
    /// Smallest and largest window field of the direction (unscaled); meaningful
    /// when `initial` is set.
    pub min: [u16; 2],
    /// See `min`.
    pub max: [u16; 2],
    /// MSS option of the direction's first SYN that carried one.
    pub mss: [Option<u16>; 2],
    /// Window scale shift of the direction's first SYN that carried one.
    pub window_scale: [Option<u8>; 2],
}

/// Timestamps of the three-way handshake (ns), each the first of its kind:
/// a SYN from src, then a SYN+ACK from dst, then an ACK from src.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handshake {
    syn_ns: Option<i64>,
    syn_ack_ns: Option<i64>,
    ack_ns: Option<i64>,
}

impl Handshake {
    fn observe(&mut self, flags: u8, dir: Direction, ts: i64) {
        let syn = flags & tcp_flags::SYN != 0;
        let ack = flags & tcp_flags::ACK != 0;
        match (dir, syn, ack) {
            (Direction::Forward, true, false) if self.syn_ns.is_none() => self.syn_ns = Some(ts),
            (Direction::Backward, true, true)
                if self.syn_ns.is_some() && self.syn_ack_ns.is_none() =>
            {
                self.syn_ack_ns = Some(ts)
            }
            (Direction::Forward, false, true)
                if self.syn_ack_ns.is_some() && self.ack_ns.is_none() =>
            {
                self.ack_ns = Some(ts)
            }
            _ => {}
        }
    }

    /// SYN to SYN+ACK (ns): the responder-side round trip as seen at the capture
    /// point. `None` without both, or when timestamps run backwards.
    pub fn syn_to_syn_ack_ns(&self) -> Option<i64> {
        let gap = self.syn_ack_ns? - self.syn_ns?;
        (gap >= 0).then_some(gap)
    }

    /// SYN+ACK to the initiator's ACK (ns): the initiator-side round trip.
    pub fn syn_ack_to_ack_ns(&self) -> Option<i64> {
        let gap = self.ack_ns? - self.syn_ack_ns?;
        (gap >= 0).then_some(gap)
    }
}

/// Activity periods as CICFlowMeter defines them: packets closer together than
/// [`ACTIVITY_THRESHOLD_NS`] belong to one active period; a longer gap is an
/// idle period. Active periods of zero length (a lone packet) are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Activity {
    started: bool,
    start_ns: i64,
    end_ns: i64,
    active: Summary,
    idle: Summary,
}

impl Activity {
    fn observe(&mut self, ts: i64) {
        if !self.started {
            self.started = true;
            self.start_ns = ts;
            self.end_ns = ts;
            return;
        }
        let gap = ts.saturating_sub(self.end_ns);
        if gap > ACTIVITY_THRESHOLD_NS {
            let active = self.end_ns - self.start_ns;
            if active > 0 {
                self.active.add(active as f64);
            }
            self.idle.add(gap as f64);
            self.start_ns = ts;
            self.end_ns = ts;
        } else {
            // A packet stamped earlier than the period's end does not shorten it.
            self.end_ns = self.end_ns.max(ts);
        }
    }

    /// Lengths of the active periods (ns), the one still open included.
    pub fn active_ns(&self) -> Summary {
        let mut active = self.active;
        let open = self.end_ns - self.start_ns;
        if self.started && open > 0 {
            active.add(open as f64);
        }
        active
    }

    /// Lengths of the idle periods (ns).
    pub fn idle_ns(&self) -> Summary {
        self.idle
    }

    /// Time of the last packet of the current active period (ns).
    pub fn active_end_ns(&self) -> Option<i64> {
        self.started.then_some(self.end_ns)
    }
}

/// Per-flow statistical state. Arrays indexed `[fwd, bwd]` or, where three long,
/// `[fwd, bwd, both]`.
#[derive(Debug, Clone, Default)]
pub struct FullFeatures {
    /// The `standard` profile's counters.
    pub standard: StandardFeatures,
    /// Wire length of each packet (bytes).
    pub pkt_len: [Summary; 3],
    /// Time between consecutive packets of the direction, in arrival order (ns;
    /// a packet stamped earlier than its predecessor counts as 0).
    pub iat: [Summary; 3],
    /// Timestamp of the last packet of the direction in arrival order.
    last_arrival: [i64; 3],
    /// Earliest and latest timestamp of each direction (valid when it has packets).
    pub first_seen: [i64; 2],
    /// See `first_seen`.
    pub last_seen: [i64; 2],
    /// Packets with each flag of [`COUNTED_FLAGS`] set, per direction.
    pub dir_flags: [[u64; 8]; 2],
    /// IP header (options and extension headers included) plus transport header bytes.
    pub header_bytes: [u64; 2],
    /// Transport header bytes alone.
    pub l4_header_bytes: [u64; 2],
    /// Packets with a transport payload of at least one byte.
    pub payload_packets: [u64; 2],
    /// TCP windows and options.
    pub windows: TcpWindows,
    /// TCP handshake timestamps.
    pub handshake: Handshake,
    /// TCP packets with payload that brought no sequence number beyond the
    /// highest already seen in their direction.
    pub retransmissions: [u64; 2],
    /// Highest TCP sequence end (seq + payload + SYN + FIN) seen per direction.
    highest_seq_end: [Option<u32>; 2],
    /// Packets stamped earlier than the flow's previous packet.
    pub out_of_order: u64,
    /// Active and idle periods.
    pub activity: Activity,
    /// Smallest and largest IP TTL / hop limit per direction.
    pub ttl_min: [u8; 2],
    /// See `ttl_min`.
    pub ttl_max: [u8; 2],
    /// DSCP of the flow's first packet.
    pub first_dscp: u8,
    /// Source and destination MAC of the flow's first packet, oriented src → dst.
    pub mac: [[u8; 6]; 2],
    /// The first packets of the flow, at most `splt_len` of them.
    pub splt: Vec<SpltEntry>,
    splt_len: u16,
    /// The deep-learning inputs, when any is configured (boxed: flows of runs
    /// without them pay one pointer).
    pub deep: Option<Box<DeepState>>,
}

impl RowFeatures for FullFeatures {
    fn standard(&self) -> &StandardFeatures {
        &self.standard
    }

    fn standard_mut(&mut self) -> &mut StandardFeatures {
        &mut self.standard
    }

    fn full(&self) -> Option<&FullFeatures> {
        Some(self)
    }
}

impl FlowFeatures for FullFeatures {
    type Config = FullConfig;

    fn new(config: &FullConfig) -> Self {
        FullFeatures {
            standard: StandardFeatures::new(&config.app),
            splt: Vec::with_capacity(usize::from(config.splt_len)),
            splt_len: config.splt_len,
            deep: config
                .deep
                .any()
                .then(|| Box::new(DeepState::new(&config.deep))),
            ..FullFeatures::default()
        }
    }

    fn reads_transport(config: &FullConfig) -> bool {
        config.app.enabled || config.deep.reads_payload()
    }

    fn end(&mut self) {
        self.standard.end();
    }

    #[inline]
    fn update(&mut self, packet: &PacketView<'_>, dir: Direction) {
        self.standard.update(packet, dir);
        let d = dir.index();
        let ts = packet.ts_ns;
        let dir_packets = self.standard.dir[d].packets;
        let first_of_flow = self.standard.dir[0].packets + self.standard.dir[1].packets == 1;

        let wire_len = f64::from(packet.wire_len);
        self.pkt_len[d].add(wire_len);
        self.pkt_len[BOTH].add(wire_len);

        if dir_packets == 1 {
            self.first_seen[d] = ts;
            self.last_seen[d] = ts;
            self.ttl_min[d] = packet.ttl;
            self.ttl_max[d] = packet.ttl;
        } else {
            self.iat[d].add(ts.saturating_sub(self.last_arrival[d]).max(0) as f64);
            self.first_seen[d] = self.first_seen[d].min(ts);
            self.last_seen[d] = self.last_seen[d].max(ts);
            self.ttl_min[d] = self.ttl_min[d].min(packet.ttl);
            self.ttl_max[d] = self.ttl_max[d].max(packet.ttl);
        }
        self.last_arrival[d] = ts;

        let gap = if first_of_flow {
            self.first_dscp = packet.dscp;
            self.mac = match dir {
                Direction::Forward => packet.mac,
                Direction::Backward => [packet.mac[1], packet.mac[0]],
            };
            0
        } else {
            let gap = ts.saturating_sub(self.last_arrival[BOTH]);
            self.out_of_order += u64::from(gap < 0);
            self.iat[BOTH].add(gap.max(0) as f64);
            gap.max(0)
        };
        self.last_arrival[BOTH] = ts;
        if self.splt.len() < usize::from(self.splt_len) {
            self.splt.push(SpltEntry {
                direction: dir,
                wire_len: packet.wire_len,
                iat_ns: gap,
            });
        }
        self.activity.observe(ts);
        if let Some(deep) = &mut self.deep {
            deep.update(packet, dir);
        }

        self.header_bytes[d] += u64::from(packet.ip_header_len) + u64::from(packet.l4_header_len);
        self.l4_header_bytes[d] += u64::from(packet.l4_header_len);
        self.payload_packets[d] += u64::from(packet.l4_payload_len > 0);

        if let Some(tcp) = packet.tcp {
            for (count, flag) in self.dir_flags[d].iter_mut().zip(COUNTED_FLAGS) {
                *count += u64::from(tcp.flags & flag != 0);
            }
            let w = &mut self.windows;
            match (tcp.window, w.initial[d]) {
                (Some(window), None) => {
                    w.initial[d] = Some(window);
                    w.min[d] = window;
                    w.max[d] = window;
                }
                (Some(window), Some(_)) => {
                    w.min[d] = w.min[d].min(window);
                    w.max[d] = w.max[d].max(window);
                }
                (None, _) => {}
            }
            if tcp.flags & tcp_flags::SYN != 0 {
                if w.mss[d].is_none() && tcp.mss != 0 {
                    w.mss[d] = Some(tcp.mss);
                }
                if w.window_scale[d].is_none() && tcp.window_scale != NO_WINDOW_SCALE {
                    w.window_scale[d] = Some(tcp.window_scale);
                }
            }
            self.handshake.observe(tcp.flags, dir, ts);
            self.track_sequence(d, tcp.seq, tcp.flags, packet.l4_payload_len);
        }
    }
}

impl FullFeatures {
    /// Packets the early-flow sequence keeps (its configured length).
    pub fn splt_len(&self) -> usize {
        usize::from(self.splt_len)
    }

    /// Counts a retransmission when a packet with payload ends at or before the
    /// highest sequence number already seen in its direction (RFC 1982 serial
    /// arithmetic, so the 32-bit wrap is handled).
    fn track_sequence(&mut self, d: usize, seq: u32, flags: u8, payload: u32) {
        let control =
            u32::from(flags & tcp_flags::SYN != 0) + u32::from(flags & tcp_flags::FIN != 0);
        let end = seq.wrapping_add(payload).wrapping_add(control);
        match self.highest_seq_end[d] {
            None => self.highest_seq_end[d] = Some(end),
            Some(highest) => {
                let ahead = end.wrapping_sub(highest) as i32;
                if ahead > 0 {
                    self.highest_seq_end[d] = Some(end);
                } else if payload > 0 {
                    self.retransmissions[d] += 1;
                }
            }
        }
    }
}
