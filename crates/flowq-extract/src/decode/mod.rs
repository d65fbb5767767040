//! Protocol decoding: one [`RawPacket`] in, one [`PacketView`] (or a
//! [`SkipReason`]) out, without copying or allocating.
//!
//! This module owns every protocol decision: link types, VLAN tags, MPLS and
//! PPPoE, IPv4 options and IPv6 extension headers (through etherparse's lax
//! slicing), tunnels (GRE, ERSPAN, VXLAN, Geneve, GTP-U, IP-in-IP), transport
//! ports and TCP flags, and IP fragments. IPComp payloads are the one thing
//! read out of a buffer rather than the frame ([`decode_into`]). Per-packet
//! problems are never errors: a packet is either usable or skipped for a
//! counted reason.

mod fragment;
mod ipcomp;
mod link;
pub mod scapy;
mod transport;
mod tunnel;
mod tunnel_fragment;
mod wire;

pub use fragment::FragmentTracker;
pub use ipcomp::{Inflater, MAX_INFLATED_BYTES};
pub use link::LinkType;
pub use tunnel::{Tunnel, Tunnels};
pub use tunnel_fragment::TunnelFragments;

use crate::capture::RawPacket;
use etherparse::{LaxIpSlice, err::ip::LaxHeaderSliceError};

/// Why a packet does not take part in any flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The frame carries no IPv4/IPv6 packet (ARP, LLDP, STP, PPPoE discovery, ...).
    NotIp,
    /// The capture's link type is one flowq does not decode.
    UnsupportedLinkType,
    /// The frame is cut off before the end of its IP header.
    Truncated,
    /// The IP header is invalid (bad version, header length or total length).
    Malformed,
}

impl SkipReason {
    /// Number of reasons, for counter arrays.
    pub const COUNT: usize = 4;
    /// All reasons, in counter-array order.
    pub const ALL: [SkipReason; Self::COUNT] = [
        SkipReason::NotIp,
        SkipReason::UnsupportedLinkType,
        SkipReason::Truncated,
        SkipReason::Malformed,
    ];

    /// Index in counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Stable snake_case name used in summaries and JSON.
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::NotIp => "not_ip",
            SkipReason::UnsupportedLinkType => "unsupported_link_type",
            SkipReason::Truncated => "truncated",
            SkipReason::Malformed => "malformed",
        }
    }
}

/// An IP address stored in 16 bytes (IPv4 in the first four, the rest zero),
/// so that keys of both versions share one fixed-size layout.
pub type AddrBytes = [u8; 16];

/// What could be read of the transport header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportState {
    /// The transport header was read in full (or the protocol has no header flowq reads).
    Complete,
    /// The header is cut off by the snap length or invalid; what could be read
    /// (possibly the ports) was used, the rest is zero.
    Incomplete,
    /// A non-first IP fragment: it carries no transport header.
    LaterFragment,
}

/// An IP fragment's identity, so later fragments can join the first one's flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentInfo {
    /// IPv4 identification (16 bits) or IPv6 fragment identification (32 bits).
    pub id: u32,
    /// Offset of this fragment's data in the original datagram, in bytes (the
    /// header's 13-bit field times 8, at most 65 528). Bytes rather than the
    /// header's 8-byte units because a tunnel's fragments are lent to the
    /// packet inside, whose transport does not start at a multiple of 8
    /// (`TunnelFragments`).
    pub byte_offset: u16,
    /// More-fragments flag.
    pub more: bool,
}

/// TCP header fields, present only for TCP packets whose flags byte was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    /// The flags byte: CWR ECE URG ACK PSH RST SYN FIN, from bit 7 to bit 0.
    pub flags: u8,
    /// Receive window as sent (not scaled); `None` when the snap length cut it off.
    pub window: Option<u16>,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Maximum segment size option (SYN packets only; 0 when absent).
    pub mss: u16,
    /// Window scale option's shift count (SYN packets only; [`NO_WINDOW_SCALE`] when absent).
    pub window_scale: u8,
}

/// [`TcpInfo::window_scale`] of a packet without the option.
pub const NO_WINDOW_SCALE: u8 = u8::MAX;

impl Default for TcpInfo {
    fn default() -> Self {
        TcpInfo {
            flags: 0,
            window: None,
            seq: 0,
            ack: 0,
            mss: 0,
            window_scale: NO_WINDOW_SCALE,
        }
    }
}

/// TCP flag bits of [`TcpInfo::flags`].
pub mod tcp_flags {
    /// FIN
    pub const FIN: u8 = 0x01;
    /// SYN
    pub const SYN: u8 = 0x02;
    /// RST
    pub const RST: u8 = 0x04;
    /// PSH
    pub const PSH: u8 = 0x08;
    /// ACK
    pub const ACK: u8 = 0x10;
    /// URG
    pub const URG: u8 = 0x20;
    /// ECE
    pub const ECE: u8 = 0x40;
    /// CWR
    pub const CWR: u8 = 0x80;
}

/// A decoded IP packet: everything the flow table and feature accumulators need,
/// with the transport bytes still borrowed from the capture buffer.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'a> {
    /// Capture timestamp, ns since the Unix epoch.
    pub ts_ns: i64,
    /// Length on the wire (bytes), link layer included.
    pub wire_len: u32,
    /// Captured length (bytes), link layer included.
    pub cap_len: u32,
    /// 4 or 6.
    pub ip_version: u8,
    /// Source address.
    pub src_addr: AddrBytes,
    /// Destination address.
    pub dst_addr: AddrBytes,
    /// IP protocol number of the transport (after IPv6 extension headers).
    pub protocol: u8,
    /// Source port (0 when the protocol has none or it was not captured).
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Outermost 802.1Q/802.1ad VLAN id, 0 when untagged.
    pub vlan_id: u16,
    /// TCP fields when this is a TCP packet with its flags captured.
    pub tcp: Option<TcpInfo>,
    /// Length of the IP header including IPv4 options / IPv6 extension headers
    /// (at most 60 bytes for IPv4; IPv6 extension headers are a few kB at most).
    pub ip_header_len: u16,
    /// Length of the transport header (0 for protocols without one flowq reads,
    /// and for later fragments).
    ///
    /// Both header lengths are 16-bit so that the view fits in 128 bytes: up to
    /// that size the compiler copies it with a few vector moves instead of a
    /// call to `memcpy` (measured in docs/benchmarks.md).
    pub l4_header_len: u16,
    /// Transport payload length in bytes, from the IP length fields (so it counts
    /// bytes that the snap length cut off).
    pub l4_payload_len: u32,
    /// Time to live / hop limit.
    pub ttl: u8,
    /// Differentiated services code point.
    pub dscp: u8,
    /// Fragment identity, when the packet is an IP fragment.
    pub fragment: Option<FragmentInfo>,
    /// How much of the transport header was read.
    pub transport_state: TransportState,
    /// Captured transport bytes (header and payload), for richer feature sets.
    pub transport: &'a [u8],
    /// Captured bytes after the end of the IP packet (Ethernet padding, trailers).
    pub trailer_len: u32,
    /// The packet was carried in an MPLS label stack.
    pub mpls: bool,
    /// Source and destination MAC of the outermost Ethernet header (zero without one).
    pub mac: [[u8; 6]; 2],
    /// ICMP / ICMPv6 type and code, when captured.
    pub icmp: Option<[u8; 2]>,
    /// The outermost encapsulation the packet was taken out of ([`Tunnel::None`]
    /// when it was not tunnelled); the other fields describe the innermost IP
    /// packet, except the lengths on the wire and captured, the VLAN, MPLS and
    /// MAC fields, which are the frame's.
    pub tunnel: Tunnel,
}

impl PacketView<'_> {
    /// A copy that no longer borrows the capture buffer (the transport bytes are
    /// dropped), to hand the packet to another thread.
    pub fn detached(&self) -> PacketView<'static> {
        PacketView {
            ts_ns: self.ts_ns,
            wire_len: self.wire_len,
            cap_len: self.cap_len,
            ip_version: self.ip_version,
            src_addr: self.src_addr,
            dst_addr: self.dst_addr,
            protocol: self.protocol,
            src_port: self.src_port,
            dst_port: self.dst_port,
            vlan_id: self.vlan_id,
            tcp: self.tcp,
            ip_header_len: self.ip_header_len,
            l4_header_len: self.l4_header_len,
            l4_payload_len: self.l4_payload_len,
            ttl: self.ttl,
            dscp: self.dscp,
            fragment: self.fragment,
            transport_state: self.transport_state,
            transport: &[],
            trailer_len: self.trailer_len,
            mpls: self.mpls,
            mac: self.mac,
            icmp: self.icmp,
            tunnel: self.tunnel,
        }
    }

    /// The TCP flags byte, or 0 for non-TCP packets.
    #[inline]
    pub fn tcp_flags(&self) -> u8 {
        self.tcp.map_or(0, |t| t.flags)
    }
}

/// Tunnels taken apart per packet at most (a loop guard; real traffic nests 1-3).
const MAX_TUNNELS: usize = 8;

/// Decodes one captured frame down to its transport header, taking the packet
/// out of the encapsulations in `tunnels` (see [`PacketView::tunnel`]).
///
/// An encapsulation whose inner packet cannot be read (cut off, not IP,
/// malformed) leaves the packet as the header that carried it: a tunnel never
/// makes a packet be skipped. Fragments are not decapsulated here (only the
/// first one carries the inner header): [`TunnelFragments`] lends the packet
/// inside to a datagram's fragments, in input order, after the fragment
/// tracker.
pub fn decode<'a>(raw: &RawPacket<'a>, tunnels: Tunnels) -> Result<PacketView<'a>, SkipReason> {
    let l3 = link::network_layer(raw.linktype, raw.data)?;
    // The view is filled in place: built once here and returned, rather than
    // copied from a template and out of a helper for every packet (the view is
    // over 100 bytes, and those copies were the largest `memcpy` callers).
    let mut view = frame_view(raw, &l3);
    ip_packet(&mut view, l3.bytes, raw.data)?;
    if tunnels.is_empty() {
        return Ok(view);
    }
    for _ in 0..MAX_TUNNELS {
        // Most packets stop at these tests, inlined; the rest of the step is
        // out of line (inlined whole, it cost the per-packet path about 38
        // instructions on the real mix of docs/benchmarks.md).
        let ports = [view.src_port, view.dst_port];
        if view.fragment.is_some()
            || view.transport_state != TransportState::Complete
            || !tunnel::candidate(view.protocol, ports)
        {
            break;
        }
        match packet_inside(&view, raw.data, tunnels, || frame_view(raw, &l3)) {
            Some(inner) => view = inner,
            None => break,
        }
    }
    Ok(view)
}

/// The packet inside `view`'s encapsulation when `tunnels` opens it, read
/// into `fresh()` (a view with the frame's fields, built only then); its
/// bytes are in `frame` (the buffer `view` borrows, for the trailer). `None`
/// when the transport header is not all there, the ports or protocol are no
/// tunnel's, or the inner packet cannot be read. One step of [`decode`]'s
/// loop and of [`TunnelFragments`]'s for a first fragment.
#[inline(never)]
fn packet_inside<'a>(
    view: &PacketView<'a>,
    frame: &'a [u8],
    tunnels: Tunnels,
    fresh: impl FnOnce() -> PacketView<'a>,
) -> Option<PacketView<'a>> {
    if view.transport_state != TransportState::Complete {
        return None;
    }
    let ports = [view.src_port, view.dst_port];
    if !tunnel::candidate(view.protocol, ports) {
        return None;
    }
    let (kind, bytes) = tunnel::inner(view.protocol, ports, view.transport, tunnels)?;
    let mut inner = fresh();
    ip_packet(&mut inner, bytes, frame).ok()?;
    inner.tunnel = if view.tunnel == Tunnel::None {
        kind
    } else {
        view.tunnel
    };
    Some(inner)
}

/// [`decode`], and an IPComp payload (RFC 3173) inflated into `inflater`'s
/// buffer when `tunnels` [inflates](Tunnels::inflates_ipcomp) them: the view
/// then describes the packet inside and borrows that buffer (its transport
/// bytes are not in the frame). A payload that does not inflate leaves the
/// IPComp packet as it was, counted in [`Inflater::failed`]. The packet
/// inside is not looked at for further tunnels. For every other packet this
/// is `decode` and one comparison.
#[inline(always)]
pub fn decode_into<'a>(
    raw: &RawPacket<'a>,
    tunnels: Tunnels,
    inflater: &'a mut Inflater,
) -> Result<PacketView<'a>, SkipReason> {
    let view = decode(raw, tunnels)?;
    if view.protocol == IPPROTO_IPCOMP {
        return Ok(open_ipcomp(view, tunnels, inflater));
    }
    Ok(view)
}

/// IP protocol number of IPComp: a view of it is what [`open_ipcomp`] may
/// open. (The per-packet loop tests this itself and calls `open_ipcomp` on
/// the rare branch: going through [`decode_into`] there cost a copy of the
/// view per packet, about 40 instructions, docs/benchmarks.md.)
pub const IPPROTO_IPCOMP: u8 = ipcomp::IPPROTO_IPCOMP;

/// The rare half of [`decode_into`], out of line: the packet inside an
/// IPComp payload when `tunnels` inflates them, else `view` as it is.
#[inline(never)]
pub fn open_ipcomp<'a>(
    view: PacketView<'a>,
    tunnels: Tunnels,
    inflater: &'a mut Inflater,
) -> PacketView<'a> {
    if tunnels.inflates_ipcomp() && ipcomp::candidate(&view) {
        ipcomp::open(view, inflater)
    } else {
        view
    }
}

/// Whether [`decode_into`] would inflate this packet (the byte-range reader
/// sends such a packet's range to the sequential path, which keeps the
/// inflated bytes).
#[inline(always)]
pub fn needs_inflating(view: &PacketView<'_>, tunnels: Tunnels) -> bool {
    view.protocol == ipcomp::IPPROTO_IPCOMP && tunnels.inflates_ipcomp() && ipcomp::candidate(view)
}

/// A view with the frame's fields of `outer` (timestamp, lengths, VLAN,
/// MPLS, MACs) and every IP field empty, for a packet found inside it.
fn frame_fields<'a>(outer: &PacketView<'a>) -> PacketView<'a> {
    empty_view(
        outer.ts_ns,
        [outer.wire_len, outer.cap_len],
        outer.vlan_id,
        outer.mpls,
        outer.mac,
    )
}

/// A view with the frame's fields set and every IP field empty.
#[inline(always)]
fn frame_view<'a>(raw: &RawPacket<'a>, l3: &link::NetworkLayer<'a>) -> PacketView<'a> {
    empty_view(
        raw.ts_ns,
        [raw.wire_len, raw.data.len() as u32],
        l3.vlan_id,
        l3.mpls,
        l3.mac,
    )
}

/// A view with these frame fields (`lengths`: on the wire, captured) and
/// every IP field empty.
#[inline(always)]
fn empty_view<'a>(
    ts_ns: i64,
    [wire_len, cap_len]: [u32; 2],
    vlan_id: u16,
    mpls: bool,
    mac: [[u8; 6]; 2],
) -> PacketView<'a> {
    PacketView {
        ts_ns,
        wire_len,
        cap_len,
        ip_version: 4,
        src_addr: [0; 16],
        dst_addr: [0; 16],
        protocol: 0,
        src_port: 0,
        dst_port: 0,
        vlan_id,
        tcp: None,
        ip_header_len: 0,
        l4_header_len: 0,
        l4_payload_len: 0,
        ttl: 0,
        dscp: 0,
        fragment: None,
        transport_state: TransportState::Complete,
        transport: &[],
        trailer_len: 0,
        mpls,
        mac,
        icmp: None,
        tunnel: Tunnel::None,
    }
}

/// Reads the IP packet starting at `bytes` (inside `frame`, the whole captured
/// frame) and its transport header into `view`, a [`frame_view`]. On error
/// `view` is unchanged.
#[inline]
fn ip_packet<'a>(
    view: &mut PacketView<'a>,
    bytes: &'a [u8],
    frame: &'a [u8],
) -> Result<(), SkipReason> {
    if let Some((header, payload)) = plain_ipv4(bytes) {
        ipv4_fields(view, header);
        transport_part(
            view,
            bytes,
            frame,
            header[9],
            payload,
            ipv4_declared_len(header, bytes),
        );
        return Ok(());
    }
    let (ip, _ext_error) = LaxIpSlice::from_slice(bytes).map_err(|e| match e {
        LaxHeaderSliceError::Len(_) => SkipReason::Truncated,
        LaxHeaderSliceError::Content(_) => SkipReason::Malformed,
    })?;
    // Bytes of the IP packet as its header declares them (may exceed what was captured).
    let declared_ip_len: usize;
    match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let header = v4.header();
            ipv4_fields(view, header.slice());
            declared_ip_len = ipv4_declared_len(header.slice(), bytes);
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            view.ip_version = 6;
            view.src_addr = h.source();
            view.dst_addr = h.destination();
            view.ttl = h.hop_limit();
            view.dscp = h.dscp().value();
            let payload_len = usize::from(h.payload_length());
            // Payload length 0 means a jumbogram (or an unset field): use the capture.
            declared_ip_len = if payload_len > 0 {
                40 + payload_len
            } else {
                bytes.len()
            };
            view.fragment = ipv6_fragment(h.next_header().0, v6.extensions().slice());
        }
    }
    let payload = ip.payload();
    transport_part(
        view,
        bytes,
        frame,
        payload.ip_number.0,
        payload.payload,
        declared_ip_len,
    );
    Ok(())
}

/// The header and payload of an IPv4 packet that etherparse's lax slicing would
/// accept without an extension header to parse (no authentication header),
/// read directly: the same slices as `LaxIpSlice::from_slice` (version 4,
/// IHL of at least 5 and all of the header captured; the payload ends at the
/// total length, or at the end of the capture when the total length is below
/// the header's or beyond the capture). Anything else, errors included, takes
/// etherparse's path.
#[inline]
fn plain_ipv4(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    const AUTH: u8 = 51;
    let first = *bytes.first()?;
    let header_len = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || header_len < 20 || bytes.len() < header_len || bytes[9] == AUTH {
        return None;
    }
    let (header, rest) = bytes.split_at(header_len);
    let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let payload = if total < header_len || bytes.len() < total {
        rest
    } else {
        &rest[..total - header_len]
    };
    Some((header, payload))
}

/// Fills the IPv4 header's fields into `view` (`header`: at least 20 bytes).
#[inline]
fn ipv4_fields(view: &mut PacketView<'_>, header: &[u8]) {
    view.src_addr[..4].copy_from_slice(&header[12..16]);
    view.dst_addr[..4].copy_from_slice(&header[16..20]);
    view.ttl = header[8];
    view.dscp = header[1] >> 2;
    let more = header[6] & 0x20 != 0;
    // The 13-bit offset in 8-byte units, in bytes: the low 3 bits cleared.
    let byte_offset = u16::from_be_bytes([header[6] & 0x1f, header[7]]) << 3;
    if more || byte_offset != 0 {
        view.fragment = Some(FragmentInfo {
            id: u32::from(u16::from_be_bytes([header[4], header[5]])),
            byte_offset,
            more,
        });
    }
}

/// Bytes of an IPv4 packet as its header declares them (may exceed what was
/// captured). TSO/GRO captures carry total_len 0; that falls back to what was
/// captured.
#[inline]
fn ipv4_declared_len(header: &[u8], bytes: &[u8]) -> usize {
    let ihl = usize::from(header[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if total >= ihl { total } else { bytes.len() }
}

/// What follows the IP header: protocol, lengths, trailer, transport header.
#[inline]
fn transport_part<'a>(
    view: &mut PacketView<'a>,
    bytes: &'a [u8],
    frame: &'a [u8],
    protocol: u8,
    payload: &'a [u8],
    declared_ip_len: usize,
) {
    view.protocol = protocol;
    let ip_payload_offset = offset_of(bytes, payload);
    view.ip_header_len = u16::try_from(ip_payload_offset).unwrap_or(u16::MAX);
    view.transport = payload;
    let declared_ip_payload = declared_ip_len.saturating_sub(ip_payload_offset);
    let ip_end = offset_of(frame, bytes).saturating_add(declared_ip_len);
    view.trailer_len = frame.len().saturating_sub(ip_end) as u32;

    if view.fragment.is_some_and(|f| f.byte_offset != 0) {
        view.transport_state = TransportState::LaterFragment;
        view.l4_payload_len = declared_ip_payload as u32;
        return;
    }
    transport::decode(view, declared_ip_payload);
}

/// Position of `inner` inside `outer` (both from the same capture buffer).
#[inline]
fn offset_of(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize)
        .saturating_sub(outer.as_ptr() as usize)
        .min(outer.len())
}

/// Finds the fragment header among the IPv6 extension headers that etherparse
/// parsed. The walk is done here, bounded by the parsed bytes, because iterating
/// etherparse's extension slice after its lax parse stopped early reads past the
/// headers it validated.
fn ipv6_fragment(first: u8, mut exts: &[u8]) -> Option<FragmentInfo> {
    const HOP_BY_HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const AUTH: u8 = 51;
    const DEST_OPTS: u8 = 60;
    let mut next = first;
    loop {
        let len = match next {
            FRAGMENT => 8,
            HOP_BY_HOP | ROUTING | DEST_OPTS => (usize::from(*exts.get(1)?) + 1) * 8,
            AUTH => (usize::from(*exts.get(1)?) + 2) * 4,
            _ => return None,
        };
        let header = exts.get(..len)?;
        if next == FRAGMENT {
            let offset_flags = u16::from_be_bytes([header[2], header[3]]);
            let info = FragmentInfo {
                id: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
                // The offset in 8-byte units is the top 13 bits: in bytes,
                // the low 3 bits (2 reserved, then M) cleared.
                byte_offset: offset_flags & !7,
                more: offset_flags & 1 == 1,
            };
            // An atomic fragment (offset 0, no more fragments) is a whole datagram.
            return (info.byte_offset != 0 || info.more).then_some(info);
        }
        next = header[0];
        exts = &exts[len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Views are moved through the decoder, the stream and the shards' batches;
    /// up to 128 bytes those moves are inline vector copies, past it `memcpy`
    /// calls (docs/benchmarks.md).
    #[test]
    fn packet_view_fits_in_128_bytes() {
        assert!(std::mem::size_of::<PacketView<'static>>() <= 128);
    }

    #[test]
    fn ipv6_fragment_walks_options_then_fragment_header() {
        // Hop-by-hop (8 bytes, next = fragment), fragment: next UDP, offset 185, M=1, id 0x01020304.
        let exts = [
            44, 0, 1, 4, 0, 0, 0, 0, //
            17, 0, 0x05, 0xc9, 1, 2, 3, 4,
        ];
        let f = ipv6_fragment(0, &exts).unwrap();
        assert_eq!((f.id, f.byte_offset, f.more), (0x0102_0304, 1480, true));
    }

    #[test]
    fn ipv6_fragment_stops_at_missing_bytes() {
        // Hop-by-hop says the next header is routing, but nothing follows.
        assert_eq!(ipv6_fragment(0, &[43, 0, 1, 4, 0, 0, 0, 0]), None);
        // A length byte pointing past the end.
        assert_eq!(ipv6_fragment(60, &[17, 9, 0, 0]), None);
        // Atomic fragment.
        assert_eq!(ipv6_fragment(44, &[17, 0, 0, 0, 0, 0, 0, 9]), None);
    }
}

/// Frame builders for the decoder's unit tests.
#[cfg(test)]
pub(crate) mod frames {
    /// An IPv4 header (20 bytes, TTL 64) around `payload`.
    pub fn ipv4(protocol: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut p = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, protocol, 0, 0];
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(payload);
        p
    }

    /// An IPv6 header (hop limit 64) around `payload`; addresses `prefix::last`.
    pub fn ipv6(next: u8, src_last: u8, dst_last: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        let mut addr = [0u8; 16];
        addr[..2].copy_from_slice(&[0x20, 0x01]);
        addr[15] = src_last;
        p.extend_from_slice(&addr);
        addr[15] = dst_last;
        p.extend_from_slice(&addr);
        p.extend_from_slice(payload);
        p
    }

    /// A UDP header around `payload`.
    pub fn udp(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&src.to_be_bytes());
        p.extend_from_slice(&dst.to_be_bytes());
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        p
    }

    /// An Ethernet header (fixed MACs) with this EtherType around `payload`.
    pub fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        p.extend_from_slice(&ethertype.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }
}
