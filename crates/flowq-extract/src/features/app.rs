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
    Parsing(AppFlow),
    Done(AppSummary),
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
        // IP fragments are not reassembled: their payload is left out.
        if packet.fragment.is_some() || packet.transport_state != TransportState::Complete {
            return;
        }
        let i = dir.index();
        let side = match dir {
            Direction::Forward => Side::Client,
            Direction::Backward => Side::Server,
        };
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
                match self.parsed.as_deref_mut() {
                    Some(Parsed::Parsing(flow)) => flow.feed(side, Some(seg), &[]),
                    Some(Parsed::Done(_)) => {}
                    None => {
                        let bit = if i == 0 { SYN_CLIENT } else { SYN_SERVER };
                        if self.flags & bit == 0 {
                            self.flags |= bit;
                            self.syn_seq[i] = seg.seq;
                        }
                    }
                }
            }
            return;
        }
        self.payloads[i] = self.payloads[i].saturating_add(1);
        let parsed = self.parsed.get_or_insert_with(|| {
            let mut flow = AppFlow::new(transport);
            for (s, bit) in [(Side::Client, SYN_CLIENT), (Side::Server, SYN_SERVER)] {
                if self.flags & bit != 0 {
                    let seq = self.syn_seq[s.index()];
                    flow.feed(s, Some(TcpSegment { seq, syn: true }), &[]);
                }
            }
            Box::new(Parsed::Parsing(flow))
        });
        if let Parsed::Parsing(flow) = &mut **parsed {
            flow.feed(side, tcp, payload);
            let limit = match flow.protocol() {
                Some(AppProtocol::Http) => MAX_HTTP_PAYLOADS_PER_SIDE,
                _ => MAX_PAYLOADS_PER_SIDE,
            };
            if flow.is_complete() || self.payloads[i] >= limit {
                self.seal();
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
            && let Parsed::Parsing(flow) = parsed
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
            Some(Parsed::Parsing(flow)) => Some(flow.summary()),
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

    /// The sizes docs/features.md gives ("Application metadata", Memory): 24
    /// bytes in the slot, and the box of a flow whose metadata is final.
    #[test]
    fn state_sizes() {
        assert_eq!(std::mem::size_of::<AppState>(), 24);
        let boxed = std::mem::size_of::<Parsed>();
        assert!(boxed <= 1024, "{boxed}");
        eprintln!(
            "AppFlow {} B, AppSummary {} B, box {} B",
            std::mem::size_of::<AppFlow>(),
            std::mem::size_of::<AppSummary>(),
            boxed
        );
    }
}
