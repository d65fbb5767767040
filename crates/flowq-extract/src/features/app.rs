//! The application-metadata state of a flow (the `app` column group): the
//! parsers of `crate::app` fed with the flow's first payloads, behind a lazily
//! allocated box, and what Community ID needs of ICMP flows.
//!
//! Cost per flow (docs/features.md, "Application metadata"):
//! * in the flow's slot, 24 bytes: one pointer, the SYN sequence numbers, the
//!   payload counts and the flags;
//! * nothing on the heap until the flow's first TCP or UDP payload; then one
//!   [`AppFlow`] (its buffers bounded by the parsers' `MAX_*` constants), which
//!   is replaced by the rendered [`AppSummary`] (a few hundred bytes; nothing
//!   if no protocol was detected) as soon as further payloads can change
//!   nothing, or after [`MAX_PAYLOADS_PER_SIDE`] payloads of one direction
//!   ([`MAX_HTTP_PAYLOADS_PER_SIDE`] for HTTP);
//! * per packet once the metadata is final: one test of a flag.

use crate::app::{AppFlow, AppProtocol, AppSummary, Side, TcpSegment, Transport};
use crate::decode::{PacketView, TransportState, tcp_flags};
use crate::flow::Direction;

/// Payload-carrying packets of one direction after which a flow's metadata
/// is final (parsing stops for both directions). DNS transactions are counted
/// within these packets.
pub const MAX_PAYLOADS_PER_SIDE: u8 = 255;

/// The same for HTTP, whose requests are counted within these packets: a
/// download's body or a long keep-alive connection is not parsed on (parsing
/// every later segment for a request line cost more than the rest of the
/// flow's work, docs/benchmarks.md).
pub const MAX_HTTP_PAYLOADS_PER_SIDE: u8 = 16;

/// Payload packets of one direction within which an HTTP flow's first
/// response head is looked for, while a request was read and no response
/// head was (a connection caught in the middle of a response body, whose
/// first segments are the rest of that body): past
/// [`MAX_HTTP_PAYLOADS_PER_SIDE`], only that direction is read on, for that
/// head alone.
pub const MAX_HTTP_RESPONSE_WAIT_PER_SIDE: u8 = 64;

/// Settings of the application-metadata state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct AppConfig {
    /// Whether flows parse their payloads (`false` with `--no-app`, and in the
    /// profiles without the app columns).
    pub enabled: bool,
}

/// Flag bits of [`AppState::flags`].
const FINAL: u8 = 1;
const SYN_CLIENT: u8 = 2;
const SYN_SERVER: u8 = 4;
/// The ICMP type and code of the first packet are in `syn_seq[0]`.
const ICMP_SEEN: u8 = 8;
/// The first ICMP packet travelled backward (from the responder).
const ICMP_BACKWARD: u8 = 16;

/// What the box holds: the parsers while they can still learn something, then
/// their rendered result.
#[derive(Debug, Clone)]
enum Parsed {
    /// The parsers, and the UDP datagram or TCP segment being put together
    /// from IP fragments, if any.
    Parsing(AppFlow, Option<Box<Datagram>>),
    Done(AppSummary),
}

/// A UDP datagram's or TCP segment's bytes (from its transport header on)
/// kept while it is put together from IP fragments, at most.
pub const MAX_REASSEMBLED_BYTES: usize = 16 * 1024;
/// IP fragments of one datagram kept, at most.
pub const MAX_FRAGMENTS: usize = 16;

/// One UDP datagram or TCP segment being put together from its IP fragments
/// (RFC 791, RFC 8200 §4.5), for the application parsers only: the flow's
/// counters take the fragments as they are.
#[derive(Debug, Clone)]
pub struct Datagram {
    id: u32,
    dir: Direction,
    /// The datagram's bytes from offset 0 (its transport header first).
    data: Vec<u8>,
    /// Byte ranges received, `[start, end)`.
    have: Vec<(usize, usize)>,
    /// Its length, once the last fragment arrived.
    total: Option<usize>,
}

impl Datagram {
    /// Adds a fragment's bytes at `start`; `None` when the datagram is past
    /// a bound (it is dropped).
    fn add(&mut self, start: usize, bytes: &[u8], last: bool) -> Option<()> {
        let end = start.checked_add(bytes.len())?;
        if end > MAX_REASSEMBLED_BYTES || self.have.len() >= MAX_FRAGMENTS {
            return None;
        }
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[start..end].copy_from_slice(bytes);
        self.have.push((start, end));
        if last {
            self.total = Some(end);
        }
        Some(())
    }

    /// The transport payload once every byte up to the last fragment's end is
    /// there, with the TCP segment's sequence number and SYN flag from its
    /// rebuilt header. `None` while bytes are missing, and for a header that
    /// cannot be (shorter than its minimum, or a TCP data offset past the
    /// end).
    fn payload(&mut self, transport: Transport) -> Option<(Option<TcpSegment>, &[u8])> {
        let total = self.covered()?;
        match transport {
            Transport::Udp => {
                if total < 8 {
                    return None;
                }
                // The UDP length field bounds the payload (trailing bytes are
                // padding).
                let udp_len = usize::from(u16::from_be_bytes([self.data[4], self.data[5]]));
                let end = if udp_len >= 8 {
                    udp_len.min(total)
                } else {
                    total
                };
                Some((None, &self.data[8..end]))
            }
            Transport::Tcp => {
                let header = self.data.get(..20.min(total))?;
                if header.len() < 20 {
                    return None;
                }
                let data_offset = usize::from(header[12] >> 4) * 4;
                if data_offset < 20 || data_offset > total {
                    return None;
                }
                let segment = TcpSegment {
                    seq: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
                    syn: header[13] & tcp_flags::SYN != 0,
                };
                Some((Some(segment), &self.data[data_offset..total]))
            }
        }
    }

    /// The datagram's length once every byte up to the last fragment's end
    /// is there.
    fn covered(&mut self) -> Option<usize> {
        let total = self.total?;
        self.have.sort_unstable();
        let mut covered = 0;
        for &(a, b) in &self.have {
            if a > covered {
                return None;
            }
            covered = covered.max(b);
        }
        (covered >= total).then_some(total)
    }
}

/// Per-flow application-metadata state.
#[derive(Debug, Default, Clone)]
pub struct AppState {
    parsed: Option<Box<Parsed>>,
    /// TCP: the sequence number of each side's SYN (valid when its flag is
    /// set), replayed to the parsers when the first payload arrives. ICMP:
    /// the first packet's type and code in `[0]`.
    syn_seq: [u32; 2],
    /// Payload-carrying packets given to the parsers, per direction.
    payloads: [u8; 2],
    flags: u8,
}

impl PartialEq for AppState {
    /// Equal when they render the same metadata.
    fn eq(&self, other: &Self) -> bool {
        self.rendered() == other.rendered() && self.icmp() == other.icmp()
    }
}

impl Eq for AppState {}

impl AppState {
    /// The state of a new flow.
    #[inline]
    pub fn new(config: &AppConfig) -> Self {
        AppState {
            flags: if config.enabled { 0 } else { FINAL },
            ..AppState::default()
        }
    }

    /// Adds one packet. After the metadata is final this is one flag test.
    #[inline]
    pub fn update(&mut self, packet: &PacketView<'_>, dir: Direction) {
        if self.flags & FINAL == 0 {
            self.parse(packet, dir);
        }
    }

    fn parse(&mut self, packet: &PacketView<'_>, dir: Direction) {
        let transport = match packet.protocol {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 | 58 => return self.icmp_packet(packet, dir),
            _ => {
                self.flags |= FINAL;
                return;
            }
        };
        let side = match dir {
            Direction::Forward => Side::Client,
            Direction::Backward => Side::Server,
        };
        // UDP datagrams and TCP segments in IP fragments are put together
        // for the parsers.
        if let Some(f) = packet.fragment {
            return self.fragment(packet, transport, f, dir, side);
        }
        if packet.transport_state != TransportState::Complete {
            return;
        }
        let tcp = match (transport, packet.tcp) {
            (Transport::Tcp, Some(t)) => Some(TcpSegment {
                seq: t.seq,
                syn: t.flags & tcp_flags::SYN != 0,
            }),
            (Transport::Tcp, None) => return,
            (Transport::Udp, _) => None,
        };
        let payload = packet
            .transport
            .get(usize::from(packet.l4_header_len)..)
            .unwrap_or_default();
        let payload = &payload[..payload.len().min(packet.l4_payload_len as usize)];
        if payload.is_empty() {
            if let Some(seg) = tcp.filter(|t| t.syn) {
                self.syn(dir, side, seg);
            }
            return;
        }
        let ports = [packet.src_port, packet.dst_port];
        self.payload(transport, ports, dir, side, tcp, payload);
    }

    /// A SYN without payload: remembered until the parsers exist (they are
    /// allocated at the first payload), else given to them.
    fn syn(&mut self, dir: Direction, side: Side, seg: TcpSegment) {
        match self.parsed.as_deref_mut() {
            Some(Parsed::Parsing(flow, _)) => flow.feed(side, Some(seg), &[]),
            Some(Parsed::Done(_)) => {}
            None => {
                let i = dir.index();
                let bit = if i == 0 { SYN_CLIENT } else { SYN_SERVER };
                if self.flags & bit == 0 {
                    self.flags |= bit;
                    self.syn_seq[i] = seg.seq;
                }
            }
        }
    }

    /// The parsers, allocated at the flow's first payload (or fragment), with
    /// the SYNs seen before replayed to them.
    fn parsers(&mut self, transport: Transport, ports: [u16; 2]) -> &mut Parsed {
        let flags = self.flags;
        let syn_seq = self.syn_seq;
        self.parsed.get_or_insert_with(|| {
            let mut flow = AppFlow::with_ports(transport, ports);
            for (s, bit) in [(Side::Client, SYN_CLIENT), (Side::Server, SYN_SERVER)] {
                if flags & bit != 0 {
                    let seq = syn_seq[s.index()];
                    flow.feed(s, Some(TcpSegment { seq, syn: true }), &[]);
                }
            }
            Box::new(Parsed::Parsing(flow, None))
        })
    }

    /// Gives one payload to the parsers (allocating them at the first), and
    /// seals the metadata when it is complete or the direction's bound is
    /// reached.
    fn payload(
        &mut self,
        transport: Transport,
        ports: [u16; 2],
        dir: Direction,
        side: Side,
        tcp: Option<TcpSegment>,
        payload: &[u8],
    ) {
        let i = dir.index();
        self.payloads[i] = self.payloads[i].saturating_add(1);
        let n = self.payloads[i];
        if let Parsed::Parsing(flow, _) = self.parsers(transport, ports) {
            flow.feed(side, tcp, payload);
            let limit = match flow.protocol() {
                Some(AppProtocol::Http) => MAX_HTTP_PAYLOADS_PER_SIDE,
                _ => MAX_PAYLOADS_PER_SIDE,
            };
            // Past the bound, the direction that may still bring an HTTP
            // flow's first response head (the rest of a body the capture
            // started in) is read on, for that head alone: checked only
            // once the bound is reached, nothing per packet before. Any
            // other direction reaching its bound ends the parsing, so
            // requests are still counted within their direction's 16.
            let waits =
                || n < MAX_HTTP_RESPONSE_WAIT_PER_SIDE && flow.http_awaits_response_from(side);
            if flow.is_complete() || (n >= limit && !waits()) {
                self.seal();
            }
        }
    }

    /// One IP fragment of a UDP datagram or TCP segment: kept until the
    /// datagram is whole (then its payload goes to the parsers, with the TCP
    /// segment's sequence number and SYN flag from its rebuilt header, as an
    /// unfragmented packet's would), within [`MAX_FRAGMENTS`] and
    /// [`MAX_REASSEMBLED_BYTES`]; one datagram at a time per flow (a fragment
    /// of another datagram starts over). A fragment cut by the snap length
    /// drops the datagram, and so does a first fragment too short for the
    /// transport header's fixed part (the decoder could not read it).
    fn fragment(
        &mut self,
        packet: &PacketView<'_>,
        transport: Transport,
        f: crate::decode::FragmentInfo,
        dir: Direction,
        side: Side,
    ) {
        let len = usize::from(packet.l4_header_len) + packet.l4_payload_len as usize;
        let bytes = if f.byte_offset == 0 && packet.transport_state != TransportState::Complete {
            None
        } else {
            packet.transport.get(..len)
        };
        // A first fragment has the ports; the flow's later fragments (and
        // datagrams) are between the same ones.
        let ports = [packet.src_port, packet.dst_port];
        let Parsed::Parsing(_, slot) = self.parsers(transport, ports) else {
            return;
        };
        let Some(bytes) = bytes else {
            *slot = None;
            return;
        };
        let d = match slot {
            Some(d) if d.id == f.id && d.dir == dir => d,
            _ => slot.insert(Box::new(Datagram {
                id: f.id,
                dir,
                data: Vec::new(),
                have: Vec::new(),
                total: None,
            })),
        };
        if d.add(usize::from(f.byte_offset), bytes, !f.more).is_none() {
            *slot = None;
            return;
        }
        if let Some((tcp, payload)) = d.payload(transport) {
            let payload = payload.to_vec();
            *slot = None;
            if !payload.is_empty() {
                self.payload(transport, ports, dir, side, tcp, &payload);
            } else if let Some(seg) = tcp.filter(|t| t.syn) {
                self.syn(dir, side, seg);
            }
        }
    }

    /// ICMP and ICMPv6: the first packet's type and code (Community ID).
    fn icmp_packet(&mut self, packet: &PacketView<'_>, dir: Direction) {
        self.flags |= FINAL;
        if let Some([ty, code]) = packet.icmp {
            self.syn_seq[0] = u32::from(ty) << 8 | u32::from(code);
            self.flags |= ICMP_SEEN;
            if dir == Direction::Backward {
                self.flags |= ICMP_BACKWARD;
            }
        }
    }

    /// Renders the metadata and drops the parsers: nothing more is parsed.
    /// A flow whose protocol was not detected keeps nothing.
    pub fn seal(&mut self) {
        self.flags |= FINAL;
        if let Some(parsed) = self.parsed.as_deref_mut()
            && let Parsed::Parsing(flow, _) = parsed
        {
            if flow.protocol().is_none() {
                self.parsed = None;
            } else {
                let flow = std::mem::replace(flow, AppFlow::new(Transport::Udp));
                *parsed = Parsed::Done(flow.into_summary());
            }
        }
    }

    /// The rendered metadata ([`seal`](Self::seal) first), `None` for a flow
    /// without payload or whose parsers were not run.
    pub fn summary(&self) -> Option<&AppSummary> {
        match self.parsed.as_deref() {
            Some(Parsed::Done(s)) => Some(s),
            _ => None,
        }
    }

    /// The metadata rendered now, whether or not sealed (tests, equality).
    pub fn rendered(&self) -> Option<AppSummary> {
        match self.parsed.as_deref() {
            Some(Parsed::Done(s)) => Some(s.clone()),
            Some(Parsed::Parsing(flow, _)) => Some(flow.summary()),
            None => None,
        }
    }

    /// The ICMP type and code of the flow's first ICMP packet, and whether that
    /// packet travelled from the responder.
    pub fn icmp(&self) -> Option<([u8; 2], bool)> {
        (self.flags & ICMP_SEEN != 0).then(|| {
            let v = self.syn_seq[0];
            ([(v >> 8) as u8, v as u8], self.flags & ICMP_BACKWARD != 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagram_from_fragments_in_any_order_and_bounded() {
        let mut udp = vec![0x30, 0x39, 0x00, 0x35, 0x00, 0x00, 0x00, 0x00];
        let body: Vec<u8> = (0..40u8).collect();
        let len = (udp.len() + body.len()) as u16;
        udp[4..6].copy_from_slice(&len.to_be_bytes());
        udp.extend_from_slice(&body);
        let new = || Datagram {
            id: 7,
            dir: Direction::Backward,
            data: Vec::new(),
            have: Vec::new(),
            total: None,
        };
        // Last fragment first, then the first, then the middle.
        let mut d = new();
        d.add(32, &udp[32..], true).unwrap();
        assert!(d.payload(Transport::Udp).is_none());
        d.add(0, &udp[..16], false).unwrap();
        assert!(d.payload(Transport::Udp).is_none());
        d.add(16, &udp[16..32], false).unwrap();
        assert_eq!(d.payload(Transport::Udp), Some((None, &body[..])));
        // Past the byte bound, or too many fragments: dropped.
        let mut d = new();
        assert!(d.add(MAX_REASSEMBLED_BYTES, &[1], true).is_none());
        let mut d = new();
        for k in 0..MAX_FRAGMENTS {
            d.add(k * 8, &[0; 8], false).unwrap();
        }
        assert!(d.add(MAX_FRAGMENTS * 8, &[0; 8], true).is_none());
        // A gap never completes.
        let mut d = new();
        d.add(0, &udp[..8], false).unwrap();
        d.add(16, &udp[16..], true).unwrap();
        assert!(d.payload(Transport::Udp).is_none());
    }

    #[test]
    fn tcp_segment_from_fragments_takes_its_header_fields() {
        // A TCP header of 24 bytes (one 4-byte option), seq 0x01020304, SYN
        // and ACK, then 16 bytes of payload.
        let mut seg = vec![0u8; 24];
        seg[4..8].copy_from_slice(&[1, 2, 3, 4]);
        seg[12] = 6 << 4;
        seg[13] = tcp_flags::SYN | tcp_flags::ACK;
        let body: Vec<u8> = (100..116u8).collect();
        seg.extend_from_slice(&body);
        let mut d = Datagram {
            id: 1,
            dir: Direction::Forward,
            data: Vec::new(),
            have: Vec::new(),
            total: None,
        };
        d.add(16, &seg[16..], true).unwrap();
        assert!(d.payload(Transport::Tcp).is_none());
        d.add(0, &seg[..16], false).unwrap();
        let want = TcpSegment {
            seq: 0x0102_0304,
            syn: true,
        };
        assert_eq!(d.payload(Transport::Tcp), Some((Some(want), &body[..])));
        // A data offset past the segment's end, or below 20 bytes: no payload.
        for offset in [15u8, 4] {
            let mut bad = seg.clone();
            bad[12] = offset << 4;
            let mut d = Datagram {
                data: Vec::new(),
                have: Vec::new(),
                total: None,
                ..d.clone()
            };
            d.add(0, &bad[..24], true).unwrap();
            assert!(d.payload(Transport::Tcp).is_none(), "offset {offset}");
        }
    }

    /// The sizes docs/features.md gives ("Application metadata", Memory): 24
    /// bytes in the slot, and the box of a flow whose metadata is final.
    #[test]
    fn state_sizes() {
        assert_eq!(std::mem::size_of::<AppState>(), 24);
        let boxed = std::mem::size_of::<Parsed>();
        // The box a sealed flow keeps its summary in: docs/features.md,
        // Memory, gives its size.
        assert_eq!(
            boxed, 136,
            "update docs/features.md (Memory) with the new size"
        );
        eprintln!(
            "AppFlow {} B, AppSummary {} B, box {} B",
            std::mem::size_of::<AppFlow>(),
            std::mem::size_of::<AppSummary>(),
            boxed
        );
    }
}
