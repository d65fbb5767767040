//! Inputs for deep-learning models, kept beside the `full` profile's
//! statistics when asked for: the per-packet information (PPI) sequence and
//! packet histograms of the CESNET datasets (ipfixprobe's pstats and phists
//! plugins), Joy's byte distribution and entropy, payload prefixes (nPrint,
//! ET-BERT) and FlowPic's size-by-time histogram. Definitions, sources and
//! where flowq differs from them: docs/features.md, "Deep-learning inputs".
//!
//! Every part is off unless configured. Memory per flow is fixed by the
//! configuration (the bytes per active flow are in docs/features.md) and is
//! allocated when the flow is created or, for the byte-level parts, at its
//! first payload byte; nothing is allocated per packet.

use crate::decode::{PacketView, tcp_flags};
use crate::flow::Direction;

/// Bins of the packet histograms (CESNET's eight log-scale bins).
pub const HISTOGRAM_BINS: usize = 8;
/// Side of the FlowPic image (32 x 32 bins).
pub const FLOWPIC_SIDE: usize = 32;
/// FlowPic's packet sizes run from 0 to this (bytes, exclusive); larger packets
/// go in the last size bin.
pub const FLOWPIC_MAX_SIZE: u32 = 1500;
/// Longest PPI sequence, payload prefix or per-packet prefix accepted.
pub const MAX_DEEP_LEN: u32 = 65_535;

/// What the deep-learning state keeps (all off by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeepConfig {
    /// Packets of the PPI sequence (0 = no PPI columns).
    pub ppi_len: u16,
    /// Count every packet in the PPI sequence and the histograms, instead of
    /// CESNET's rule (no packets without payload, no TCP duplicates in the PPI).
    pub ppi_every_packet: bool,
    /// Keep the packet-size and inter-packet-time histograms.
    pub histograms: bool,
    /// Payload bytes per direction whose byte values are counted (0 = no
    /// byte-distribution columns).
    pub byte_dist_len: u32,
    /// Payload bytes kept per direction (0 = no prefix columns).
    pub payload_prefix_len: u32,
    /// Packets with payload whose first bytes are kept (0 = none).
    pub payload_packets: u16,
    /// Bytes kept of each of those packets.
    pub payload_packet_len: u32,
    /// Seconds covered by the FlowPic histogram (0 = no FlowPic column).
    pub flowpic_secs: u32,
}

impl DeepConfig {
    /// Whether any part is on.
    pub fn any(&self) -> bool {
        self.ppi_len > 0
            || self.histograms
            || self.byte_dist_len > 0
            || self.payload_prefix_len > 0
            || self.payload_packets > 0
            || self.flowpic_secs > 0
    }

    /// Whether the configured parts read payload bytes (not only lengths).
    pub fn reads_payload(&self) -> bool {
        self.byte_dist_len > 0 || self.payload_prefix_len > 0 || self.payload_packets > 0
    }

    /// Bytes a flow's deep-learning state takes at most with this
    /// configuration, heap included (documented in docs/features.md).
    pub fn bytes_per_flow(&self) -> usize {
        if !self.any() {
            return 0;
        }
        let mut bytes = std::mem::size_of::<DeepState>();
        bytes += usize::from(self.ppi_len) * std::mem::size_of::<PpiEntry>();
        if self.byte_dist_len > 0 {
            bytes += std::mem::size_of::<ByteDist>();
        }
        bytes += 2 * self.payload_prefix_len as usize;
        bytes += usize::from(self.payload_packets)
            * (self.payload_packet_len as usize + std::mem::size_of::<(u32, Direction)>());
        if self.flowpic_secs > 0 {
            bytes += std::mem::size_of::<FlowPic>();
        }
        bytes
    }
}

/// One packet of the PPI sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PpiEntry {
    /// Capture timestamp (ns).
    pub ts_ns: i64,
    /// Transport payload length (bytes, from the IP length fields).
    pub size: u32,
    /// The TCP flags byte (0 for other protocols).
    pub flags: u8,
    /// Direction relative to the flow's initiator.
    pub direction: Direction,
}

/// The last TCP packet of a direction, for pstats' duplicate test.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LastSegment {
    seq: u32,
    ack: u32,
    len: u32,
    flags: u8,
}

/// pstats' "is this number not past the previous one" test: `current` is at
/// or before `previous`, unless it is so far before that the 32-bit counter
/// must have wrapped (pstats' constant: within 42 949 672 of a full turn).
fn not_after(current: u32, previous: u32) -> bool {
    const WRAP_GAP: u32 = 4_252_017_623;
    current <= previous && previous - current <= WRAP_GAP
}

/// Byte-value counts of each direction's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteDist {
    /// Counts over the first `byte_dist_len` payload bytes of each direction.
    pub head: [[u32; 256]; 2],
    /// Bytes counted in `head`.
    pub head_bytes: [u32; 2],
    /// Counts over every captured payload byte of each direction.
    pub all: [[u64; 256]; 2],
    /// Bytes counted in `all`.
    pub all_bytes: [u64; 2],
}

/// Shannon entropy (bits per byte) of a byte-value distribution; `None` for no bytes.
pub fn entropy_bits<T: Copy + Into<u64>>(counts: &[T; 256], total: u64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let n = total as f64;
    let h = counts
        .iter()
        .map(|&c| c.into())
        .filter(|&c| c > 0)
        .map(|c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum::<f64>();
    // Sums of -p log p can be a rounding error below 0 for one value.
    Some(h.max(0.0))
}

/// FlowPic's counts, time bins by size bins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowPic {
    /// `counts[time_bin * FLOWPIC_SIDE + size_bin]`.
    pub counts: [u32; FLOWPIC_SIDE * FLOWPIC_SIDE],
}

/// The bin of a value in CESNET's log-scale histograms: 0–15, 16–31, 32–63,
/// 64–127, 128–255, 256–511, 512–1023, 1024 and more.
#[inline]
pub fn histogram_bin(value: u64) -> usize {
    if value < 16 {
        0
    } else if value > 1023 {
        HISTOGRAM_BINS - 1
    } else {
        // floor(log2(value)) is 4..=9 here.
        (63 - value.leading_zeros() as usize) - 3
    }
}

/// The deep-learning state of one flow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeepState {
    config: DeepConfig,
    /// The PPI sequence (at most `ppi_len` entries).
    pub ppi: Vec<PpiEntry>,
    last_segment: [LastSegment; 2],
    /// Payload-size histograms, `[fwd, bwd]`.
    pub size_hist: [[u32; HISTOGRAM_BINS]; 2],
    /// Inter-packet-time histograms (ms), `[fwd, bwd]`.
    pub ipt_hist: [[u32; HISTOGRAM_BINS]; 2],
    last_hist_ms: [Option<i64>; 2],
    /// Byte-value counts, from the flow's first payload byte.
    pub byte_dist: Option<Box<ByteDist>>,
    /// The first payload bytes of each direction (TCP: without bytes already seen).
    pub prefix: [Vec<u8>; 2],
    /// Highest TCP sequence number reached by each direction's payload.
    prefix_seq_end: [Option<u32>; 2],
    /// The first bytes of the first packets with payload, concatenated.
    pub packet_bytes: Vec<u8>,
    /// Where each of those packets ends in `packet_bytes`, and its direction.
    pub packet_ends: Vec<(u32, Direction)>,
    /// Timestamp of the flow's first packet (ns).
    first_ns: Option<i64>,
    /// FlowPic's counts, from the flow's first packet.
    pub flowpic: Option<Box<FlowPic>>,
}

impl DeepState {
    /// A new flow's state.
    pub fn new(config: &DeepConfig) -> Self {
        let payload_packets = usize::from(config.payload_packets);
        DeepState {
            config: *config,
            ppi: Vec::with_capacity(usize::from(config.ppi_len)),
            prefix: [
                Vec::with_capacity(config.payload_prefix_len as usize),
                Vec::with_capacity(config.payload_prefix_len as usize),
            ],
            packet_bytes: Vec::with_capacity(payload_packets * config.payload_packet_len as usize),
            packet_ends: Vec::with_capacity(payload_packets),
            flowpic: (config.flowpic_secs > 0).then(|| {
                Box::new(FlowPic {
                    counts: [0; FLOWPIC_SIDE * FLOWPIC_SIDE],
                })
            }),
            ..DeepState::default()
        }
    }

    /// The configuration the state was made with.
    pub fn config(&self) -> &DeepConfig {
        &self.config
    }

    /// Adds one packet travelling in `dir`.
    #[inline]
    pub fn update(&mut self, packet: &PacketView<'_>, dir: Direction) {
        let d = dir.index();
        let ts = packet.ts_ns;
        let first_ns = *self.first_ns.get_or_insert(ts);
        let size = packet.l4_payload_len;
        let every = self.config.ppi_every_packet;
        if self.config.ppi_len > 0 {
            self.add_ppi(packet, dir, every);
        }
        if self.config.histograms && (every || size > 0) {
            let bin = &mut self.size_hist[d][histogram_bin(u64::from(size))];
            *bin = bin.saturating_add(1);
            // Times are compared in whole milliseconds, as ipfixprobe exports them.
            let ms = ts.div_euclid(1_000_000);
            if let Some(last) = self.last_hist_ms[d] {
                let gap = ms.saturating_sub(last).max(0) as u64;
                let bin = &mut self.ipt_hist[d][histogram_bin(gap)];
                *bin = bin.saturating_add(1);
            }
            self.last_hist_ms[d] = Some(ms);
        }
        if let Some(pic) = &mut self.flowpic {
            let window = i64::from(self.config.flowpic_secs) * 1_000_000_000;
            let offset = ts.saturating_sub(first_ns);
            if (0..window).contains(&offset) {
                let time_bin =
                    (i128::from(offset) * FLOWPIC_SIDE as i128 / i128::from(window)) as usize;
                let ip_len = u32::from(packet.ip_header_len)
                    + u32::from(packet.l4_header_len)
                    + packet.l4_payload_len;
                let size_bin = (ip_len.min(FLOWPIC_MAX_SIZE - 1) as usize * FLOWPIC_SIDE)
                    / FLOWPIC_MAX_SIZE as usize;
                let cell = &mut pic.counts[time_bin * FLOWPIC_SIDE + size_bin];
                *cell = cell.saturating_add(1);
            }
        }
        if self.wants_bytes() {
            let payload = captured_payload(packet);
            if !payload.is_empty() {
                self.add_bytes(packet, dir, payload);
            }
        }
    }

    fn add_ppi(&mut self, packet: &PacketView<'_>, dir: Direction, every: bool) {
        let d = dir.index();
        let size = packet.l4_payload_len;
        let flags = packet.tcp.map_or(0, |t| t.flags);
        if let Some(tcp) = packet.tcp
            && !every
        {
            let last = self.last_segment[d];
            let duplicate = not_after(tcp.seq, last.seq)
                && not_after(tcp.ack, last.ack)
                && size == last.len
                && flags == last.flags
                && !self.ppi.is_empty();
            self.last_segment[d] = LastSegment {
                seq: tcp.seq,
                ack: tcp.ack,
                len: size,
                flags,
            };
            if duplicate {
                return;
            }
        }
        if (size == 0 && !every) || self.ppi.len() >= usize::from(self.config.ppi_len) {
            return;
        }
        self.ppi.push(PpiEntry {
            ts_ns: packet.ts_ns,
            size,
            flags,
            direction: dir,
        });
    }

    fn wants_bytes(&self) -> bool {
        self.config.reads_payload()
    }

    fn add_bytes(&mut self, packet: &PacketView<'_>, dir: Direction, payload: &[u8]) {
        let d = dir.index();
        let c = self.config;
        if c.byte_dist_len > 0 {
            let dist = self.byte_dist.get_or_insert_with(|| {
                Box::new(ByteDist {
                    head: [[0; 256]; 2],
                    head_bytes: [0; 2],
                    all: [[0; 256]; 2],
                    all_bytes: [0; 2],
                })
            });
            let room = c.byte_dist_len.saturating_sub(dist.head_bytes[d]) as usize;
            let head = &payload[..payload.len().min(room)];
            // At most `byte_dist_len` (a u32) bytes are counted: no overflow.
            for &b in head {
                dist.head[d][usize::from(b)] += 1;
            }
            dist.head_bytes[d] += head.len() as u32;
            for &b in payload {
                dist.all[d][usize::from(b)] += 1;
            }
            dist.all_bytes[d] += payload.len() as u64;
        }
        if c.payload_packets > 0 && self.packet_ends.len() < usize::from(c.payload_packets) {
            let take = payload.len().min(c.payload_packet_len as usize);
            self.packet_bytes.extend_from_slice(&payload[..take]);
            self.packet_ends.push((self.packet_bytes.len() as u32, dir));
        }
        let room = (c.payload_prefix_len as usize).saturating_sub(self.prefix[d].len());
        if room > 0 {
            let fresh = self.fresh_bytes(packet, d, payload);
            let take = fresh.len().min(room);
            self.prefix[d].extend_from_slice(&fresh[..take]);
        }
    }

    /// The part of a payload not seen before in its direction: for TCP, the
    /// bytes past the highest sequence number already reached (a retransmission
    /// gives none, an overlapping segment its new tail); other protocols' payloads
    /// are always new.
    fn fresh_bytes<'p>(
        &mut self,
        packet: &PacketView<'_>,
        d: usize,
        payload: &'p [u8],
    ) -> &'p [u8] {
        let Some(tcp) = packet.tcp else {
            return payload;
        };
        let start = tcp
            .seq
            .wrapping_add(u32::from(tcp.flags & tcp_flags::SYN != 0));
        let end = start.wrapping_add(payload.len() as u32);
        match self.prefix_seq_end[d] {
            None => {
                self.prefix_seq_end[d] = Some(end);
                payload
            }
            Some(highest) => {
                if end.wrapping_sub(highest) as i32 <= 0 {
                    return &[];
                }
                self.prefix_seq_end[d] = Some(end);
                let behind = highest.wrapping_sub(start) as i32;
                if behind > 0 {
                    &payload[(behind as usize).min(payload.len())..]
                } else {
                    payload
                }
            }
        }
    }

    /// Inter-packet times of the PPI sequence (ms): differences of the packets'
    /// timestamps in whole milliseconds, 0 for the first packet and for a
    /// packet stamped earlier than its predecessor.
    pub fn ppi_ipt_ms(&self) -> impl Iterator<Item = i64> + '_ {
        let ms = |e: &PpiEntry| e.ts_ns.div_euclid(1_000_000);
        self.ppi.iter().enumerate().map(move |(i, e)| match i {
            0 => 0,
            _ => (ms(e) - ms(&self.ppi[i - 1])).max(0),
        })
    }

    /// Time from the first to the last packet of the PPI sequence (s); `None`
    /// for an empty sequence.
    pub fn ppi_duration_s(&self) -> Option<f64> {
        let first = self.ppi.first()?.ts_ns;
        let last = self.ppi.iter().map(|e| e.ts_ns).max()?;
        Some(last.saturating_sub(first).max(0) as f64 / 1e9)
    }

    /// Request-response pairs of the PPI sequence: packets from the responder
    /// that directly follow a packet from the initiator.
    pub fn ppi_roundtrips(&self) -> u32 {
        self.ppi
            .windows(2)
            .filter(|w| {
                w[0].direction == Direction::Forward && w[1].direction == Direction::Backward
            })
            .count() as u32
    }

    /// The kept first bytes of each packet with payload, with its direction.
    pub fn payload_packets(&self) -> impl Iterator<Item = (&[u8], Direction)> + '_ {
        let mut start = 0usize;
        self.packet_ends.iter().map(move |&(end, dir)| {
            let bytes = &self.packet_bytes[start..end as usize];
            start = end as usize;
            (bytes, dir)
        })
    }
}

/// The captured transport payload of a packet (empty when the header was not
/// read in full).
#[inline]
fn captured_payload<'p>(packet: &PacketView<'p>) -> &'p [u8] {
    let start = usize::from(packet.l4_header_len);
    let end = start.saturating_add(packet.l4_payload_len as usize);
    match packet.transport_state {
        crate::decode::TransportState::Complete => packet
            .transport
            .get(start..end.min(packet.transport.len()))
            .unwrap_or(&[]),
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{TcpInfo, TransportState, Tunnel};

    fn tcp_packet<'a>(
        ts_ms: i64,
        seq: u32,
        ack: u32,
        flags: u8,
        transport: &'a [u8],
    ) -> PacketView<'a> {
        let payload = transport.len() as u32 - 20;
        PacketView {
            ts_ns: ts_ms * 1_000_000,
            wire_len: 54 + payload,
            cap_len: 54 + payload,
            ip_version: 4,
            src_addr: [1; 16],
            dst_addr: [2; 16],
            protocol: 6,
            src_port: 1000,
            dst_port: 80,
            vlan_id: 0,
            tcp: Some(TcpInfo {
                flags,
                seq,
                ack,
                ..TcpInfo::default()
            }),
            ip_header_len: 20,
            l4_header_len: 20,
            l4_payload_len: payload,
            ttl: 64,
            dscp: 0,
            fragment: None,
            transport_state: TransportState::Complete,
            transport,
            trailer_len: 0,
            mpls: false,
            mac: [[0; 6]; 2],
            icmp: None,
            tunnel: Tunnel::None,
        }
    }

    fn segment(payload: &[u8]) -> Vec<u8> {
        let mut t = vec![0u8; 20];
        t.extend_from_slice(payload);
        t
    }

    const ACK: u8 = tcp_flags::ACK;
    const PSH_ACK: u8 = tcp_flags::ACK | tcp_flags::PSH;

    #[test]
    fn histogram_bins_follow_cesnet_edges() {
        let edges = [
            (0, 0),
            (15, 0),
            (16, 1),
            (31, 1),
            (32, 2),
            (63, 2),
            (64, 3),
            (127, 3),
            (128, 4),
            (255, 4),
            (256, 5),
            (511, 5),
            (512, 6),
            (1023, 6),
            (1024, 7),
            (u64::MAX, 7),
        ];
        for (value, bin) in edges {
            assert_eq!(histogram_bin(value), bin, "value {value}");
        }
    }

    #[test]
    fn ppi_skips_empty_packets_and_duplicates_by_default() {
        let config = DeepConfig {
            ppi_len: 30,
            histograms: true,
            ..DeepConfig::default()
        };
        let mut s = DeepState::new(&config);
        let syn = segment(b"");
        let req = segment(b"GET / HTTP/1.1\r\n\r\n"); // 18 bytes
        let resp = segment(&[7u8; 100]);
        let fwd = Direction::Forward;
        let bwd = Direction::Backward;
        // SYN, SYN+ACK, ACK: no payload, not in the PPI.
        s.update(&tcp_packet(0, 100, 0, tcp_flags::SYN, &syn), fwd);
        s.update(&tcp_packet(5, 500, 101, tcp_flags::SYN | ACK, &syn), bwd);
        s.update(&tcp_packet(10, 101, 501, ACK, &syn), fwd);
        // The request at 12 ms, its retransmission at 212 ms (same seq, ack,
        // length and flags: skipped), the response at 230 ms, 1 ms later a
        // second response segment.
        s.update(&tcp_packet(12, 101, 501, PSH_ACK, &req), fwd);
        s.update(&tcp_packet(212, 101, 501, PSH_ACK, &req), fwd);
        s.update(&tcp_packet(230, 501, 119, PSH_ACK, &resp), bwd);
        s.update(&tcp_packet(231, 601, 119, PSH_ACK, &resp), bwd);
        let sizes: Vec<u32> = s.ppi.iter().map(|e| e.size).collect();
        assert_eq!(sizes, [18, 100, 100]);
        assert_eq!(s.ppi_ipt_ms().collect::<Vec<_>>(), [0, 218, 1]);
        assert_eq!(s.ppi_roundtrips(), 1);
        assert_eq!(s.ppi_duration_s(), Some(0.219));
        // Histograms count the retransmission (phists has no duplicate test)
        // but not the empty packets: fwd sizes 18, 18 -> bin 1 twice; fwd gap
        // 200 ms -> bin 4; bwd sizes 100, 100 -> bin 3; bwd gap 1 ms -> bin 0.
        assert_eq!(s.size_hist[0], [0, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(s.ipt_hist[0], [0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(s.size_hist[1], [0, 0, 0, 2, 0, 0, 0, 0]);
        assert_eq!(s.ipt_hist[1], [1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn every_packet_mode_counts_empty_packets_and_duplicates() {
        let config = DeepConfig {
            ppi_len: 3,
            ppi_every_packet: true,
            ..DeepConfig::default()
        };
        let mut s = DeepState::new(&config);
        let empty = segment(b"");
        let data = segment(b"abc");
        s.update(
            &tcp_packet(0, 1, 0, tcp_flags::SYN, &empty),
            Direction::Forward,
        );
        s.update(&tcp_packet(1, 2, 0, ACK, &data), Direction::Forward);
        s.update(&tcp_packet(2, 2, 0, ACK, &data), Direction::Forward);
        s.update(&tcp_packet(3, 5, 0, ACK, &data), Direction::Forward);
        let sizes: Vec<u32> = s.ppi.iter().map(|e| e.size).collect();
        assert_eq!(sizes, [0, 3, 3], "capped at ppi_len");
        assert_eq!(s.ppi[0].flags, tcp_flags::SYN);
    }

    #[test]
    fn sequence_wrap_is_not_a_duplicate() {
        // pstats: a sequence number that wrapped past 2^32 is newer, not older.
        assert!(not_after(5, 5));
        assert!(not_after(4, 5));
        assert!(!not_after(6, 5));
        assert!(!not_after(10, u32::MAX - 10));
        assert!(not_after(0, 4_252_017_623));
        assert!(!not_after(0, 4_252_017_624));
    }

    #[test]
    fn byte_distribution_and_entropy() {
        let config = DeepConfig {
            byte_dist_len: 4,
            ..DeepConfig::default()
        };
        let mut s = DeepState::new(&config);
        let a = segment(b"aabb");
        let b = segment(b"cdcd");
        s.update(&tcp_packet(0, 1, 0, ACK, &a), Direction::Forward);
        s.update(&tcp_packet(1, 5, 0, ACK, &b), Direction::Forward);
        let dist = s.byte_dist.as_ref().unwrap();
        assert_eq!(dist.head_bytes[0], 4);
        assert_eq!(dist.head[0][usize::from(b'a')], 2);
        assert_eq!(dist.head[0][usize::from(b'c')], 0);
        assert_eq!(dist.all_bytes[0], 8);
        // Head: two values, equally likely: 1 bit. All: four values: 2 bits.
        assert_eq!(entropy_bits(&dist.head[0], 4), Some(1.0));
        assert_eq!(entropy_bits(&dist.all[0], 8), Some(2.0));
        assert_eq!(entropy_bits(&dist.all[1], 0), None);
        assert_eq!(entropy_bits(&[1u32; 256], 256), Some(8.0));
    }

    #[test]
    fn prefix_skips_retransmitted_and_overlapping_bytes() {
        let config = DeepConfig {
            payload_prefix_len: 8,
            payload_packets: 2,
            payload_packet_len: 2,
            ..DeepConfig::default()
        };
        let mut s = DeepState::new(&config);
        let fwd = Direction::Forward;
        s.update(&tcp_packet(0, 100, 0, ACK, &segment(b"abcd")), fwd);
        // A retransmission, then a segment overlapping the first by two bytes.
        s.update(&tcp_packet(1, 100, 0, ACK, &segment(b"abcd")), fwd);
        s.update(&tcp_packet(2, 102, 0, ACK, &segment(b"cdefgh")), fwd);
        s.update(
            &tcp_packet(3, 500, 0, ACK, &segment(b"xyz")),
            Direction::Backward,
        );
        assert_eq!(s.prefix[0], b"abcdefgh");
        assert_eq!(s.prefix[1], b"xyz");
        let packets: Vec<(&[u8], Direction)> = s.payload_packets().collect();
        assert_eq!(packets, [(&b"ab"[..], fwd), (&b"ab"[..], fwd)]);
    }

    #[test]
    fn flowpic_bins_time_and_size() {
        let config = DeepConfig {
            flowpic_secs: 32,
            ..DeepConfig::default()
        };
        let mut s = DeepState::new(&config);
        // IP length 40 + payload: 40 -> size bin 0; 1500+ -> bin 31.
        s.update(&tcp_packet(0, 1, 0, ACK, &segment(b"")), Direction::Forward);
        let big = segment(&[0u8; 1460]);
        s.update(&tcp_packet(1_500, 1, 0, ACK, &big), Direction::Backward);
        // 32 s after the first packet: outside the window.
        s.update(&tcp_packet(32_000, 1, 0, ACK, &big), Direction::Backward);
        let pic = s.flowpic.as_ref().unwrap();
        assert_eq!(pic.counts[0], 1);
        // 1.5 s of 32 s in 32 bins: time bin 1; 1500 bytes: size bin 31.
        assert_eq!(pic.counts[FLOWPIC_SIDE + 31], 1);
        assert_eq!(pic.counts.iter().sum::<u32>(), 2);
    }

    /// The sizes docs/features.md gives for each option ("Memory per active flow").
    #[test]
    fn state_sizes_are_the_documented_ones() {
        use std::mem::size_of;
        assert_eq!(size_of::<DeepState>(), 384);
        assert_eq!(size_of::<PpiEntry>(), 16);
        assert_eq!(size_of::<ByteDist>(), 6_168);
        assert_eq!(size_of::<FlowPic>(), 4_096);
        assert_eq!(size_of::<(u32, Direction)>(), 8);
    }

    #[test]
    fn bytes_per_flow_grows_with_the_options() {
        assert_eq!(DeepConfig::default().bytes_per_flow(), 0);
        let ppi = DeepConfig {
            ppi_len: 30,
            ..DeepConfig::default()
        };
        assert_eq!(
            ppi.bytes_per_flow(),
            std::mem::size_of::<DeepState>() + 30 * std::mem::size_of::<PpiEntry>()
        );
    }
}
