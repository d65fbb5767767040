//! Application-layer metadata of a flow, read from its first payload bytes by
//! flowq's own parsers: the Community ID, the application protocol (by
//! content; on DNS's port 53 also any message that decodes as DNS), TLS and
//! QUIC hellos (SNI, ALPN, versions, JA3, JA3S, JA4), DNS, HTTP/1.x, SSH and
//! DHCP. Definitions, sources and bounds:
//! `docs/app-metadata.md`.
//!
//! Everything here is incremental and per flow: an [`AppFlow`] (or one
//! protocol's state, e.g. [`tls::TlsState`]) is fed each TCP or UDP payload of
//! the flow in arrival order with its [`Side`] (and, for TCP, its sequence
//! number and SYN flag), and read once when the flow's row is written. Memory
//! per flow is bounded by each module's `MAX_*` constants; malformed input
//! gives missing (`None`) values and counters, never a panic. Once a
//! protocol's metadata is complete its state ignores further payloads without
//! allocating (DNS and HTTP keep counting messages, O(1) per payload).
//!
//! ```
//! use flowq_extract::app::{AppFlow, Side, TcpSegment, detect::Transport};
//!
//! let mut flow = AppFlow::new(Transport::Tcp);
//! flow.feed(Side::Client, Some(TcpSegment { seq: 100, syn: true }), b"");
//! flow.feed(
//!     Side::Client,
//!     Some(TcpSegment { seq: 101, syn: false }),
//!     b"GET /x HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
//! );
//! let meta = flow.summary();
//! assert_eq!(meta.protocol.map(|p| p.as_str()), Some("http"));
//! assert_eq!(meta.server_name(), Some("example.com"));
//! ```

pub mod community_id;
pub mod detect;
pub mod dhcp;
pub mod dns;
pub mod http;
pub mod netbios;
pub mod openvpn;
pub mod quic;
mod reasm;
pub mod ssh;
pub mod text;
pub mod tls;
mod util;

pub use community_id::{CommunityIdEncoding, community_id_v1, write_community_id_v1};
pub use detect::{AppProtocol, Transport, detect, detect_on_ports};
pub use util::{escape_bytes, is_grease, md5_hex};

use dhcp::{DhcpState, DhcpSummary};
use dns::{DnsState, DnsSummary};
use http::{HttpState, HttpSummary};
use netbios::{NetbiosState, NetbiosSummary};
use openvpn::OpenVpnState;
use quic::{QuicState, QuicSummary};
use ssh::{SshState, SshSummary};
use tls::{TlsState, TlsSummary};

/// Which end of the conversation sent a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client (normally the flow's initiator).
    Client = 0,
    /// The server.
    Server = 1,
}

impl Side {
    /// 0 for the client, 1 for the server, for `[T; 2]` per-side state.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The TCP header fields the parsers need to place a payload in its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpSegment {
    /// Sequence number of the segment.
    pub seq: u32,
    /// Whether the SYN flag is set.
    pub syn: bool,
}

/// Payloads per side looked at for detection before the flow is left undetected.
pub const MAX_DETECT_PAYLOADS: u32 = 4;
/// Bytes of undetected payloads kept per side (replayed to the parser chosen
/// by the other side's payload).
pub const MAX_DETECT_HELD_BYTES: usize = 4096;

/// The payloads of one side held before detection, in arrival order, in one
/// buffer (one allocation per side, not one per payload and one for their
/// list): each a record of a flags byte (bit 0: a TCP segment, bit 1: its
/// SYN), the sequence number and the length (4 bytes each, little-endian),
/// then the bytes.
#[derive(Debug, Clone, Default)]
struct Held {
    records: Vec<u8>,
}

/// Bytes of a [`Held`] record before its payload.
const HELD_HEADER: usize = 9;

impl Held {
    fn push(&mut self, tcp: Option<TcpSegment>, payload: &[u8]) {
        let flags = match tcp {
            None => 0u8,
            Some(t) => 1 | u8::from(t.syn) << 1,
        };
        let seq = tcp.map_or(0, |t| t.seq);
        // Payloads are held within MAX_DETECT_HELD_BYTES per side.
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.records.reserve(HELD_HEADER + payload.len());
        self.records.push(flags);
        self.records.extend_from_slice(&seq.to_le_bytes());
        self.records.extend_from_slice(&len.to_le_bytes());
        self.records.extend_from_slice(payload);
    }

    /// The held payloads in arrival order, with their TCP segment fields.
    fn iter(&self) -> impl Iterator<Item = (Option<TcpSegment>, &[u8])> {
        let mut rest = self.records.as_slice();
        std::iter::from_fn(move || {
            let (header, after) = rest.split_first_chunk::<HELD_HEADER>()?;
            let seq = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
            let len = u32::from_le_bytes([header[5], header[6], header[7], header[8]]);
            let (payload, next) = after.split_at_checked(len as usize)?;
            rest = next;
            let tcp = (header[0] & 1 != 0).then_some(TcpSegment {
                seq,
                syn: header[0] & 2 != 0,
            });
            Some((tcp, payload))
        })
    }

    /// Keeps only the payloads whose TCP segment fields `keep` accepts.
    fn retain(&mut self, keep: impl Fn(Option<TcpSegment>) -> bool) {
        let mut kept = Held::default();
        for (t, payload) in self.iter().filter(|&(t, _)| keep(t)) {
            kept.push(t, payload);
        }
        *self = kept;
    }

    /// Drops the first `k` payloads.
    fn drop_first(&mut self, k: usize) {
        let dropped: usize = self
            .iter()
            .take(k)
            .map(|(_, payload)| HELD_HEADER + payload.len())
            .sum();
        self.records.drain(..dropped);
    }
}

/// The parser chosen for a flow.
#[derive(Debug, Clone, Default)]
enum Parser {
    /// Not decided yet.
    #[default]
    Undecided,
    /// No protocol recognized (or one without a parser): payloads ignored.
    None,
    Tls(Box<TlsState>),
    Quic(Box<QuicState>),
    Dns(Box<DnsState>),
    Http(Box<HttpState>),
    Ssh(Box<SshState>),
    Dhcp(Box<DhcpState>),
    Netbios(Box<NetbiosState>),
    OpenVpn(Box<OpenVpnState>),
}

/// Application metadata state of one flow: detection, then the protocol's parser.
#[derive(Debug, Clone)]
pub struct AppFlow {
    transport: Transport,
    protocol: Option<AppProtocol>,
    parser: Parser,
    /// Before detection: per side, the payloads seen and the ones held for replay.
    seen: [u32; 2],
    held: [Held; 2],
    held_bytes: [usize; 2],
    /// The SYN of each side, replayed to the parser (it sets the stream start).
    syn: [Option<u32>; 2],
    /// Synthetic sequence numbers for TCP payloads given without one.
    next_seq: [u32; 2],
    /// The flow's ports, for the one detection rule that uses them
    /// ([`detect_on_ports`]); `[0, 0]` when not given.
    ports: [u16; 2],
}

impl AppFlow {
    /// A new flow on `transport`.
    pub fn new(transport: Transport) -> Self {
        AppFlow {
            transport,
            protocol: None,
            parser: Parser::Undecided,
            seen: [0; 2],
            held: [Held::default(), Held::default()],
            held_bytes: [0; 2],
            syn: [None; 2],
            next_seq: [0; 2],
            ports: [0; 2],
        }
    }

    /// A new flow on `transport` between these ports (either order): on
    /// DNS's port, messages the content rule refuses are still read as DNS
    /// when they decode ([`detect_on_ports`]).
    pub fn with_ports(transport: Transport, ports: [u16; 2]) -> Self {
        AppFlow {
            ports,
            ..AppFlow::new(transport)
        }
    }

    fn detect(&self, payload: &[u8]) -> Option<AppProtocol> {
        detect_on_ports(self.transport, payload, self.ports)
    }

    /// Feed one packet's transport payload (possibly empty: a SYN) of `side`,
    /// in arrival order. `tcp` is the segment's sequence number and SYN flag
    /// (ignored on UDP; without it, TCP payloads are taken as in order).
    pub fn feed(&mut self, side: Side, tcp: Option<TcpSegment>, payload: &[u8]) {
        let i = side.index();
        let tcp = match (self.transport, tcp) {
            (Transport::Udp, _) => None,
            (Transport::Tcp, Some(t)) => Some(t),
            (Transport::Tcp, None) => {
                let t = TcpSegment {
                    seq: self.next_seq[i],
                    syn: false,
                };
                self.next_seq[i] = self.next_seq[i].wrapping_add(payload.len() as u32);
                Some(t)
            }
        };
        match self.parser {
            Parser::Undecided => {}
            Parser::None => return,
            _ => return self.forward(side, tcp, payload),
        }
        if let Some(t) = tcp
            && t.syn
            && self.syn[i].is_none()
        {
            self.syn[i] = Some(t.seq);
        }
        if payload.is_empty() {
            return;
        }
        self.seen[i] += 1;
        if let Some(p) = self.detect(payload) {
            self.start(p);
            let other = 1 - i;
            // A TCP payload recognized after unrecognized ones that precede
            // it in the same side's stream ends a prelude (a STARTTLS exchange, a SOCKS handshake):
            // each side's stream starts at its first payload recognized as
            // the protocol, or else at its next one. The prelude is not
            // replayed, nor the SYNs that would anchor the streams before it.
            // Held payloads of this side that lie after this one in sequence
            // space are out-of-order parts of the same stream, not a prelude.
            let before = |t: Option<TcpSegment>| match (t, tcp) {
                (Some(h), Some(now)) => (h.seq.wrapping_sub(now.seq) as i32) < 0,
                _ => false,
            };
            if self.transport == Transport::Tcp && self.held[i].iter().any(|(t, _)| before(t)) {
                self.held[i].retain(|t| !before(t));
                let mut held = std::mem::take(&mut self.held[other]);
                let from = held.iter().position(|(_, d)| self.detect(d) == Some(p));
                if from != Some(0) && self.seen[other] > 0 {
                    self.syn[other] = None;
                }
                self.syn[i] = None;
                self.held[other] = match from {
                    Some(k) => {
                        held.drop_first(k);
                        held
                    }
                    None => Held::default(),
                };
            }
            for s in [Side::Client, Side::Server] {
                if let Some(seq) = self.syn[s.index()] {
                    self.forward(s, Some(TcpSegment { seq, syn: true }), &[]);
                }
            }
            let held = std::mem::take(&mut self.held[other]);
            for (t, data) in held.iter() {
                let s = if other == 0 {
                    Side::Client
                } else {
                    Side::Server
                };
                self.forward(s, t, data);
            }
            let held = std::mem::take(&mut self.held[i]);
            for (t, data) in held.iter() {
                self.forward(side, t, data);
            }
            self.held_bytes = [0; 2];
            self.forward(side, tcp, payload);
            return;
        }
        if self.seen.iter().all(|&n| n >= MAX_DETECT_PAYLOADS)
            || self.seen[i] > MAX_DETECT_PAYLOADS * 4
        {
            self.parser = Parser::None;
            self.held = [Held::default(), Held::default()];
            return;
        }
        if self.held_bytes[i] + payload.len() <= MAX_DETECT_HELD_BYTES
            && self.seen[i] <= MAX_DETECT_PAYLOADS
        {
            self.held_bytes[i] += payload.len();
            self.held[i].push(tcp, payload);
        }
    }

    fn start(&mut self, p: AppProtocol) {
        self.protocol = Some(p);
        self.parser = match p {
            AppProtocol::Tls => Parser::Tls(Box::default()),
            AppProtocol::Quic => Parser::Quic(Box::default()),
            AppProtocol::Dns => Parser::Dns(Box::default()),
            AppProtocol::Http => Parser::Http(Box::default()),
            AppProtocol::Ssh => Parser::Ssh(Box::default()),
            AppProtocol::Dhcp => Parser::Dhcp(Box::default()),
            AppProtocol::Netbios => Parser::Netbios(Box::default()),
            AppProtocol::OpenVpn => Parser::OpenVpn(Box::new(OpenVpnState::new(
                self.transport == Transport::Tcp,
            ))),
            AppProtocol::Http2 | AppProtocol::Dtls | AppProtocol::BitTorrent => Parser::None,
        };
    }

    fn forward(&mut self, side: Side, tcp: Option<TcpSegment>, payload: &[u8]) {
        let seg = tcp.unwrap_or_default();
        match &mut self.parser {
            Parser::Tls(s) => s.feed(side, seg, payload),
            Parser::Quic(s) if !payload.is_empty() => s.feed(side, payload),
            Parser::Dns(s) => match tcp {
                Some(t) => s.feed_tcp(side, t, payload),
                None if !payload.is_empty() => s.feed_udp(payload),
                None => {}
            },
            Parser::Http(s) => match tcp {
                Some(_) => s.feed(side, seg, payload),
                None => s.feed_datagram(side, payload),
            },
            Parser::Ssh(s) => s.feed(side, seg, payload),
            Parser::Dhcp(s) if !payload.is_empty() => s.feed(side, payload),
            Parser::Netbios(s) if !payload.is_empty() => s.feed(side, payload),
            Parser::OpenVpn(s) => s.feed(side, seg, payload),
            _ => {}
        }
    }

    /// The detected protocol.
    pub fn protocol(&self) -> Option<AppProtocol> {
        self.protocol
    }

    /// Whether further payloads can change nothing but counters (DNS messages,
    /// HTTP requests) or nothing at all.
    pub fn is_done(&self) -> bool {
        match &self.parser {
            Parser::Undecided => false,
            Parser::None => true,
            Parser::Tls(s) => s.is_done(),
            Parser::Quic(s) => s.is_done(),
            Parser::Dns(s) => s.summary().rcode.is_some(),
            Parser::Http(s) => {
                (s.summary().status.is_some() && !s.tunnel_started())
                    || s.is_off()
                    || s.tunnel_done()
            }
            Parser::Ssh(s) => s.is_done(),
            Parser::Dhcp(s) => s.is_done(),
            Parser::Netbios(s) => s.is_done(),
            Parser::OpenVpn(s) => s.is_done(),
        }
    }

    /// Whether the flow is HTTP and `side` may still bring its first
    /// response head ([`HttpState::awaits_response_from`]).
    pub fn http_awaits_response_from(&self, side: Side) -> bool {
        matches!(&self.parser, Parser::Http(s) if s.awaits_response_from(side))
    }

    /// Whether further payloads can change nothing at all, counters included
    /// (unlike [`is_done`](Self::is_done), false for DNS and HTTP, which keep
    /// counting messages).
    pub fn is_complete(&self) -> bool {
        match &self.parser {
            Parser::Undecided | Parser::Dns(_) => false,
            Parser::Http(s) => s.is_off() || s.tunnel_done(),
            _ => self.is_done(),
        }
    }

    /// Whether a message the parser recognized was malformed (a TLS or QUIC
    /// hello that does not parse, a DNS message that does not decode).
    pub fn malformed(&self) -> bool {
        match &self.parser {
            Parser::Tls(s) => s.malformed(),
            Parser::Quic(s) => s.malformed(),
            Parser::Dns(s) => s.summary().malformed > 0,
            Parser::Http(s) => s.tunnel_malformed(),
            Parser::Dhcp(s) => s.summary().malformed > 0,
            Parser::Netbios(s) => s.summary().malformed > 0,
            Parser::OpenVpn(s) => s.malformed(),
            _ => false,
        }
    }

    /// The flow's metadata, rendered, consuming the parsers (what
    /// [`summary`](Self::summary) gives, without copying what is already
    /// rendered).
    pub fn into_summary(self) -> AppSummary {
        match self.parser {
            Parser::Dns(s) => {
                let malformed = s.summary().malformed > 0;
                AppSummary {
                    protocol: self.protocol,
                    malformed,
                    part: Part::Dns(s.into_summary()),
                }
            }
            Parser::Http(s) => {
                let tls = s.tunnel_summary().map(Box::new);
                let malformed = s.tunnel_malformed();
                AppSummary {
                    protocol: self.protocol,
                    malformed,
                    part: Part::Http(s.into_summary(), tls),
                }
            }
            _ => self.summary(),
        }
    }

    /// The flow's metadata, rendered (call once, when the flow's row is written).
    pub fn summary(&self) -> AppSummary {
        let part = match &self.parser {
            Parser::Tls(s) => Part::Tls(s.summary()),
            Parser::Quic(s) => Part::Quic(s.summary()),
            Parser::Dns(s) => Part::Dns(s.summary().clone()),
            Parser::Http(s) => Part::Http(
                if s.has_pending_head() {
                    // What `into_summary` gives: the pending head read.
                    s.clone().into_summary()
                } else {
                    s.summary().clone()
                },
                s.tunnel_summary().map(Box::new),
            ),
            Parser::Ssh(s) => Part::Ssh(s.summary()),
            Parser::Dhcp(s) => Part::Dhcp(s.summary().clone()),
            Parser::Netbios(s) => Part::Netbios(s.summary().clone()),
            Parser::OpenVpn(s) => Part::Tls(s.summary()),
            Parser::Undecided | Parser::None => Part::None,
        };
        AppSummary {
            protocol: self.protocol,
            malformed: self.malformed(),
            part,
        }
    }
}

/// A flow's application metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSummary {
    /// The detected protocol.
    pub protocol: Option<AppProtocol>,
    /// A recognized message was malformed ([`AppFlow::malformed`]).
    pub malformed: bool,
    /// The protocol's metadata: read with [`tls`](Self::tls),
    /// [`http`](Self::http), ...
    part: Part,
}

/// The metadata of the flow's protocol, in the summary itself: the summary
/// is kept per open flow once its metadata is final (docs/features.md,
/// Memory), and one box per protocol part was one allocation per flow more,
/// for a summary of about the same size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Part {
    #[default]
    None,
    /// TLS over TCP, or the TLS of an OpenVPN control channel.
    Tls(TlsSummary),
    Quic(QuicSummary),
    Dns(DnsSummary),
    /// HTTP/1.x, and the TLS inside its CONNECT tunnel, if one was opened
    /// (rare: boxed).
    Http(HttpSummary, Option<Box<TlsSummary>>),
    Ssh(SshSummary),
    Dhcp(DhcpSummary),
    Netbios(NetbiosSummary),
}

impl AppSummary {
    /// TLS over TCP: that of a TLS flow, of an HTTP CONNECT tunnel, or of an
    /// OpenVPN control channel (not QUIC's: [`quic`](Self::quic)).
    pub fn tls(&self) -> Option<&TlsSummary> {
        match &self.part {
            Part::Tls(t) => Some(t),
            Part::Http(_, t) => t.as_deref(),
            _ => None,
        }
    }

    /// QUIC.
    pub fn quic(&self) -> Option<&QuicSummary> {
        match &self.part {
            Part::Quic(q) => Some(q),
            _ => None,
        }
    }

    /// DNS.
    pub fn dns(&self) -> Option<&DnsSummary> {
        match &self.part {
            Part::Dns(d) => Some(d),
            _ => None,
        }
    }

    /// HTTP/1.x.
    pub fn http(&self) -> Option<&HttpSummary> {
        match &self.part {
            Part::Http(h, _) => Some(h),
            _ => None,
        }
    }

    /// SSH.
    pub fn ssh(&self) -> Option<&SshSummary> {
        match &self.part {
            Part::Ssh(s) => Some(s),
            _ => None,
        }
    }

    /// DHCP (its host name is the client's own name, not one it asks for:
    /// not a `server_name`).
    pub fn dhcp(&self) -> Option<&DhcpSummary> {
        match &self.part {
            Part::Dhcp(d) => Some(d),
            _ => None,
        }
    }

    /// The NetBIOS datagram service (its source name is the sender's own:
    /// not a `server_name` either).
    pub fn netbios(&self) -> Option<&NetbiosSummary> {
        match &self.part {
            Part::Netbios(n) => Some(n),
            _ => None,
        }
    }

    /// The name the client asked for: TLS/QUIC SNI, HTTP Host without port,
    /// DNS query name (read from the protocol's part, not stored twice).
    pub fn server_name(&self) -> Option<&str> {
        match &self.part {
            // HTTP's, not its CONNECT tunnel's TLS: the request's Host
            // names the server.
            Part::Http(h, _) => h.host().map(http::host_without_port),
            Part::Tls(t) => t.server_name(),
            Part::Quic(q) => q.tls.server_name(),
            // A NetBIOS name service query names its NetBIOS name.
            Part::Dns(d) => d.netbios_name().or(d.query()),
            Part::None | Part::Ssh(_) | Part::Dhcp(_) | Part::Netbios(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_payloads_round_trip_in_one_buffer() {
        let seg = |seq, syn| Some(TcpSegment { seq, syn });
        let mut h = Held::default();
        h.push(seg(7, false), b"abc");
        h.push(None, b"");
        h.push(seg(u32::MAX, true), b"de");
        let all = |h: &Held| h.iter().map(|(t, d)| (t, d.to_vec())).collect::<Vec<_>>();
        assert_eq!(
            all(&h),
            [
                (seg(7, false), b"abc".to_vec()),
                (None, vec![]),
                (seg(u32::MAX, true), b"de".to_vec())
            ]
        );
        let mut kept = h.clone();
        kept.retain(|t| t.is_some());
        assert_eq!(all(&kept), [all(&h)[0].clone(), all(&h)[2].clone()]);
        h.drop_first(2);
        assert_eq!(all(&h), [(seg(u32::MAX, true), b"de".to_vec())]);
        h.drop_first(5);
        assert_eq!(h.iter().count(), 0);
    }

    #[test]
    fn ssh_server_speaks_first_then_client() {
        // The client's first payload is not recognizable (an unusual pre-banner);
        // the server's banner decides; the client's held payload is replayed.
        let mut f = AppFlow::new(Transport::Tcp);
        f.feed(Side::Client, Some(TcpSegment { seq: 10, syn: true }), b"");
        f.feed(Side::Server, Some(TcpSegment { seq: 50, syn: true }), b"");
        f.feed(
            Side::Client,
            Some(TcpSegment {
                seq: 11,
                syn: false,
            }),
            b"hello\r\n",
        );
        f.feed(
            Side::Server,
            Some(TcpSegment {
                seq: 51,
                syn: false,
            }),
            b"SSH-2.0-OpenSSH_8.7\r\n",
        );
        f.feed(
            Side::Client,
            Some(TcpSegment {
                seq: 18,
                syn: false,
            }),
            b"SSH-2.0-OpenSSH_7.4\r\n",
        );
        let m = f.summary();
        assert_eq!(m.protocol, Some(AppProtocol::Ssh));
        let s = m.ssh().unwrap();
        assert_eq!(s.server.as_deref(), Some("SSH-2.0-OpenSSH_8.7"));
        assert_eq!(s.client.as_deref(), Some("SSH-2.0-OpenSSH_7.4"));
    }

    /// A TCP flow whose SYNs were seen: the client's sequence number 0, the
    /// server's `server_isn`.
    fn opened(server_isn: u32) -> AppFlow {
        let mut f = AppFlow::new(Transport::Tcp);
        f.feed(Side::Client, Some(TcpSegment { seq: 0, syn: true }), b"");
        let syn = Some(TcpSegment {
            seq: server_isn,
            syn: true,
        });
        f.feed(Side::Server, syn, b"");
        f
    }

    #[test]
    fn tls_inside_a_connect_tunnel() {
        let seg = |seq: u32| Some(TcpSegment { seq, syn: false });
        let mut f = opened(500);
        let req = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
        f.feed(Side::Client, seg(1), req);
        let resp = b"HTTP/1.1 200 Connection established\r\n\r\n";
        f.feed(Side::Server, seg(501), resp);
        let ch = tls::tests::record(22, &tls::tests::spec_example_ch());
        f.feed(Side::Client, seg(1 + req.len() as u32), &ch);
        let m = f.summary();
        assert_eq!(m.protocol, Some(AppProtocol::Http));
        // The request's Host names the server; the tunnel's hello is read.
        assert_eq!(m.server_name(), Some("example.com"));
        assert_eq!(m.http().unwrap().method(), Some("CONNECT"));
        assert_eq!(m.http().unwrap().status, Some(200));
        let t = m.tls().unwrap();
        assert_eq!(t.server_name(), Some("example.com"));
        assert_eq!(t.ja4(), Some("t13d1516h2_8daaf6152771_e5627efa2ab1"));
        // A refused CONNECT opens no tunnel.
        let mut f = AppFlow::new(Transport::Tcp);
        f.feed(Side::Client, seg(1), req);
        f.feed(
            Side::Server,
            seg(501),
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n",
        );
        f.feed(Side::Client, seg(1 + req.len() as u32), &ch);
        assert!(f.summary().tls().is_none());
    }

    #[test]
    fn tls_after_a_starttls_prelude() {
        // PostgreSQL: SSLRequest, the server's `S`, then the TLS handshake.
        let seg = |seq: u32| Some(TcpSegment { seq, syn: false });
        let mut f = opened(900);
        f.feed(Side::Client, seg(1), b"\x00\x00\x00\x08\x04\xd2\x16\x2f");
        f.feed(Side::Server, seg(901), b"S");
        let ch = tls::tests::record(22, &tls::tests::spec_example_ch());
        f.feed(Side::Client, seg(9), &ch);
        let m = f.summary();
        assert_eq!(m.protocol, Some(AppProtocol::Tls));
        assert_eq!(
            m.tls().unwrap().ja4(),
            Some("t13d1516h2_8daaf6152771_e5627efa2ab1")
        );
    }

    #[test]
    fn response_of_a_connection_caught_mid_stream() {
        // The server's first payload is the end of an earlier body; its next
        // segment starts the response to the request the capture saw.
        let seg = |seq: u32| Some(TcpSegment { seq, syn: false });
        let mut f = AppFlow::new(Transport::Tcp);
        f.feed(
            Side::Server,
            seg(1000),
            b"...tail of an earlier response body...",
        );
        f.feed(
            Side::Client,
            seg(1),
            b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n",
        );
        f.feed(
            Side::Server,
            seg(1038),
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
        );
        let m = f.summary();
        let h = m.http().unwrap();
        assert_eq!(
            (h.status, h.content_type()),
            (Some(200), Some("text/plain"))
        );
    }

    #[test]
    fn tls_quic_dns_through_appflow() {
        let rec = tls::tests::record(22, &tls::tests::spec_example_ch());
        let mut f = AppFlow::new(Transport::Tcp);
        f.feed(Side::Client, Some(TcpSegment { seq: 0, syn: true }), b"");
        f.feed(
            Side::Client,
            Some(TcpSegment { seq: 1, syn: false }),
            &rec[..100],
        );
        f.feed(
            Side::Client,
            Some(TcpSegment {
                seq: 101,
                syn: false,
            }),
            &rec[100..],
        );
        let m = f.summary();
        assert_eq!(m.server_name(), Some("example.com"));
        assert_eq!(
            m.tls().unwrap().ja4(),
            Some("t13d1516h2_8daaf6152771_e5627efa2ab1")
        );
        // Unknown content: undecided, then given up, then nothing.
        let mut g = AppFlow::new(Transport::Udp);
        for _ in 0..(MAX_DETECT_PAYLOADS * 4 + 1) {
            g.feed(Side::Client, None, b"\x00\x01random");
        }
        assert!(g.is_done());
        assert_eq!(g.summary(), AppSummary::default());
        let mut d = AppFlow::new(Transport::Udp);
        d.feed(
            Side::Client,
            None,
            b"\x59\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07tcpdump\x03org\x00\x00\x01\x00\x01",
        );
        assert_eq!(d.summary().server_name(), Some("www.tcpdump.org"));
        assert_eq!(d.summary().dns().unwrap().transactions(), 1);
    }

    /// A deterministic stand-in for the fuzz target (fuzz/fuzz_targets/app_parsers.rs)
    /// on stable Rust: valid messages of every protocol, mutated (bytes flipped,
    /// cut, duplicated) and fed in random segments and orders to every parser.
    #[test]
    fn mutated_messages_never_panic() {
        let mut seeds: Vec<(Transport, Vec<u8>)> = vec![
            (Transport::Tcp, tls::tests::unhex(tls::tests::PETAL)),
            (Transport::Tcp, tls::tests::record(22, &tls::tests::spec_example_ch())),
            (Transport::Tcp, b"GET /a HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\n\r\nabcPOST / HTTP/1.0\n\n".to_vec()),
            (Transport::Tcp, b"SSH-2.0-x\r\n\x00\x00\x00\x1c\x04\x14AAAAAAAAAAAAAAAA\x00\x00\x00\x01k".to_vec()),
            (Transport::Udp, b"\x59\x34\x85\x00\x00\x01\x00\x01\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x01\x00\x04\x01\x02\x03\x04".to_vec()),
        ];
        let q = seeds[4].1.clone();
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        seeds.push((Transport::Tcp, framed));
        seeds.push((Transport::Udp, dhcp::tests::discover()));
        seeds.push((Transport::Udp, netbios::tests::broadcast()));
        // OpenVPN: a client's hard reset, then P_CONTROL_V1 carrying a
        // ClientHello, over UDP (one packet) and TCP (framed).
        let reset = b"\x38\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x00\x00".to_vec();
        seeds.push((Transport::Udp, reset.clone()));
        let mut control = b"\x20\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x00\x01".to_vec();
        control.extend_from_slice(&tls::tests::unhex(tls::tests::PETAL));
        let mut framed = Vec::new();
        for p in [&reset, &control] {
            framed.extend_from_slice(&(p.len() as u16).to_be_bytes());
            framed.extend_from_slice(p);
        }
        seeds.push((Transport::Tcp, framed));
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..3000 {
            let (transport, seed) = &seeds[round % seeds.len()];
            let mut m = seed.clone();
            for _ in 0..(rnd() % 4) {
                let at = (rnd() as usize) % m.len().max(1);
                match rnd() % 4 {
                    0 if !m.is_empty() => m[at] = rnd() as u8,
                    1 => m.truncate(at),
                    2 => {
                        let tail = m[at..].to_vec();
                        m.extend_from_slice(&tail);
                    }
                    _ => m.insert(at.min(m.len()), rnd() as u8),
                }
            }
            let mut f = AppFlow::new(*transport);
            let mut t = TlsState::new();
            let mut h = HttpState::new();
            let mut s = SshState::new();
            let mut d = DnsState::new();
            let mut qs = QuicState::new();
            let mut ov = [OpenVpnState::new(false), OpenVpnState::new(true)];
            let side = if rnd() % 2 == 0 {
                Side::Client
            } else {
                Side::Server
            };
            let mut segs = Vec::new();
            let mut off = 0;
            while off < m.len() {
                let n = 1 + (rnd() as usize) % 64;
                let end = (off + n).min(m.len());
                segs.push((off, &m[off..end]));
                off = end;
            }
            if rnd() % 2 == 0 {
                segs.reverse();
            }
            f.feed(side, Some(TcpSegment { seq: 99, syn: true }), &[]);
            t.feed(side, TcpSegment { seq: 99, syn: true }, &[]);
            for (off, p) in segs {
                let seg = TcpSegment {
                    seq: 100 + off as u32,
                    syn: false,
                };
                f.feed(side, Some(seg), p);
                t.feed(side, seg, p);
                h.feed(side, seg, p);
                s.feed(side, seg, p);
                d.feed_tcp(side, seg, p);
                d.feed_udp(p);
                qs.feed(side, p);
                for o in &mut ov {
                    o.feed(side, seg, p);
                }
            }
            for o in &ov {
                let t = o.summary();
                assert_eq!(t.ja3().is_some(), t.ja4().is_some());
            }
            let sum = f.summary();
            if let Some(tl) = sum.tls() {
                assert_eq!(tl.ja3().is_some(), tl.ja4().is_some());
            }
            if let Some(ch) = t.client_hello() {
                assert_eq!(ch.complete, ch.ja4('t').is_some());
                // Remembered fingerprints are the computed ones.
                for p in ['t', 'q'] {
                    assert_eq!(ch.fingerprints(p), (ch.ja3(), ch.ja4(p)));
                }
            }
            assert!(
                d.summary()
                    .answers()
                    .is_none_or(|a| a.len() <= dns::MAX_ANSWERS)
            );
            let _ = (h.summary(), s.summary(), qs.summary());
            // Whole datagrams (DHCP is one message per datagram).
            let mut dh = DhcpState::new();
            dh.feed(side, &m);
            let mut nb = NetbiosState::new();
            nb.feed(side, &m);
            let _ = nb.summary();
            let mut u = AppFlow::new(Transport::Udp);
            u.feed(side, None, &m);
            let _ = (dh.summary(), u.summary());
        }
    }
}
