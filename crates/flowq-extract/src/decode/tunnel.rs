//! Tunnels: finding the inner IP packet of GRE (with ERSPAN and PPTP's enhanced
//! GRE), VXLAN, Geneve, GTP-U, GRE-in-UDP, AYIYA and IP-in-IP (4in4, 6in4,
//! 4in6, 6in6).
//!
//! Each function reads one encapsulation header from borrowed bytes and returns
//! where the inner IP header starts, or `None` when the header is cut off, of a
//! kind flowq does not follow, or carries something other than IP (the packet is
//! then keyed on the header that carried it).

use super::link;
use super::wire::{
    ETHERTYPE_BRIDGING, ETHERTYPE_ERSPAN_2, ETHERTYPE_ERSPAN_3, ETHERTYPE_IPV4, ETHERTYPE_IPV6,
    ETHERTYPE_PPP, be16,
};

/// The outermost encapsulation a packet was taken out of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Tunnel {
    /// Not tunnelled (or tunnels were not decoded).
    #[default]
    None = 0,
    /// GRE (IP protocol 47, or GRE-in-UDP on port 4754), including PPTP's enhanced GRE.
    Gre = 1,
    /// ERSPAN type I, II or III inside GRE.
    Erspan = 2,
    /// VXLAN (UDP port 4789).
    Vxlan = 3,
    /// Geneve (UDP port 6081).
    Geneve = 4,
    /// GTP-U (UDP port 2152).
    GtpU = 5,
    /// IP directly in IP (protocols 4 and 41).
    IpInIp = 6,
    /// AYIYA, "Anything In Anything" (UDP port 5072), as tunnel brokers such as
    /// SixXS used it to carry IPv6 over IPv4 NAT.
    Ayiya = 7,
}

impl Tunnel {
    /// Every kind, in `repr` order.
    pub const ALL: [Tunnel; 8] = [
        Tunnel::None,
        Tunnel::Gre,
        Tunnel::Erspan,
        Tunnel::Vxlan,
        Tunnel::Geneve,
        Tunnel::GtpU,
        Tunnel::IpInIp,
        Tunnel::Ayiya,
    ];

    /// The text of the `tunnel` column.
    pub fn name(self) -> &'static str {
        match self {
            Tunnel::None => "none",
            Tunnel::Gre => "gre",
            Tunnel::Erspan => "erspan",
            Tunnel::Vxlan => "vxlan",
            Tunnel::Geneve => "geneve",
            Tunnel::GtpU => "gtpu",
            Tunnel::IpInIp => "ipip",
            Tunnel::Ayiya => "ayiya",
        }
    }
}

/// The set of encapsulations [`decode`](super::decode) takes packets out of
/// (bit `kind` for each [`Tunnel`] kind), and whether
/// [`decode_into`](super::decode_into) inflates IPComp payloads
/// ([`IPCOMP`](Self::IPCOMP), a payload transform rather than a kind of its
/// own: super::ipcomp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnels(u16);

impl Tunnels {
    /// Decode no tunnel: every packet is keyed on its outermost IP header.
    pub const NONE: Tunnels = Tunnels(0);
    /// The bit of IPComp.
    const IPCOMP: u16 = 1 << 15;
    /// Every encapsulation flowq knows, and IPComp (the default).
    pub const ALL: Tunnels = Tunnels(0xfe | Self::IPCOMP);
    /// What NFStream 6.6 decapsulates: IP-in-IP and GTP-U (not GRE, VXLAN,
    /// Geneve, nor IPComp).
    pub const NFSTREAM: Tunnels = Tunnels(1 << Tunnel::IpInIp as u8 | 1 << Tunnel::GtpU as u8);

    /// Whether packets are taken out of `kind`.
    #[inline]
    pub fn contains(self, kind: Tunnel) -> bool {
        self.0 & (1 << kind as u8) != 0
    }

    /// Whether IPComp payloads are inflated.
    #[inline]
    pub fn inflates_ipcomp(self) -> bool {
        self.0 & Self::IPCOMP != 0
    }

    /// No encapsulation is decoded.
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

const IPPROTO_IPIP: u8 = 4;
const IPPROTO_IPV6: u8 = 41;
const IPPROTO_GRE: u8 = 47;
const IPPROTO_UDP: u8 = 17;
const PORT_VXLAN: u16 = 4789;
const PORT_GENEVE: u16 = 6081;
const PORT_GTP_U: u16 = 2152;
const PORT_GRE_IN_UDP: u16 = 4754;
const PORT_AYIYA: u16 = 5072;

/// What an encapsulation header says follows it.
enum Inner<'a> {
    /// An IP packet (version from its first nibble).
    Ip(&'a [u8]),
    /// An Ethernet frame.
    Ethernet(&'a [u8]),
    /// A PPP protocol field and its payload.
    Ppp(&'a [u8]),
}

/// Whether [`inner`] could find an encapsulation in a packet of this protocol
/// and these ports: the first test of `inner`, inlined into the decoder so that
/// the common packet (TCP, most UDP) skips the call.
#[inline]
pub(super) fn candidate(protocol: u8, [src, dst]: [u16; 2]) -> bool {
    match protocol {
        IPPROTO_IPIP | IPPROTO_IPV6 | IPPROTO_GRE => true,
        IPPROTO_UDP => {
            matches!(
                dst,
                PORT_VXLAN | PORT_GENEVE | PORT_GRE_IN_UDP | PORT_GTP_U | PORT_AYIYA
            ) || matches!(src, PORT_GTP_U | PORT_AYIYA)
        }
        _ => false,
    }
}

/// The encapsulation of a packet with this transport, if it is one of `allowed`,
/// and the bytes of the inner IP packet. `transport` is the captured IP payload.
pub(super) fn inner(
    protocol: u8,
    ports: [u16; 2],
    transport: &[u8],
    allowed: Tunnels,
) -> Option<(Tunnel, &[u8])> {
    let (kind, inner) = match protocol {
        IPPROTO_IPIP | IPPROTO_IPV6 => {
            let version = if protocol == IPPROTO_IPIP { 4 } else { 6 };
            if transport.first()? >> 4 != version {
                return None;
            }
            (Tunnel::IpInIp, Inner::Ip(transport))
        }
        IPPROTO_GRE => gre(transport)?,
        IPPROTO_UDP => {
            let payload = transport.get(8..)?;
            let [src, dst] = ports;
            match dst {
                PORT_VXLAN => (Tunnel::Vxlan, Inner::Ethernet(payload.get(8..)?)),
                PORT_GENEVE => geneve(payload)?,
                PORT_GRE_IN_UDP => gre(payload)?,
                _ if src == PORT_GTP_U || dst == PORT_GTP_U => (Tunnel::GtpU, gtp_u(payload)?),
                _ if src == PORT_AYIYA || dst == PORT_AYIYA => (Tunnel::Ayiya, ayiya(payload)?),
                _ => return None,
            }
        }
        _ => return None,
    };
    if !allowed.contains(kind) {
        return None;
    }
    let (mut vlan_id, mut mpls) = (0, false);
    let ip = match inner {
        Inner::Ip(bytes) => bytes,
        Inner::Ethernet(frame) => link::ethernet(frame, &mut vlan_id, &mut mpls, 0).ok()?,
        Inner::Ppp(bytes) => link::ppp_payload(bytes, &mut vlan_id, &mut mpls).ok()?,
    };
    matches!(ip.first()? >> 4, 4 | 6).then_some((kind, ip))
}

/// GRE (RFC 2784/2890) and PPTP's enhanced GRE (RFC 2637, version 1).
fn gre(bytes: &[u8]) -> Option<(Tunnel, Inner<'_>)> {
    const CHECKSUM: u8 = 0x80;
    const ROUTING: u8 = 0x40;
    const KEY: u8 = 0x20;
    const SEQUENCE: u8 = 0x10;
    const ACK: u8 = 0x80;
    let header = bytes.get(..4)?;
    let (flags, version, protocol) = (header[0], header[1] & 0x07, be16(header, 2));
    // Source routing (RFC 1701) is obsolete and variable-length: not followed.
    if flags & ROUTING != 0 || version > 1 {
        return None;
    }
    let mut len = 4;
    for bit in [CHECKSUM, KEY, SEQUENCE] {
        if flags & bit != 0 {
            len += 4;
        }
    }
    if version == 1 && header[1] & ACK != 0 {
        len += 4;
    }
    let rest = bytes.get(len..)?;
    Some(match protocol {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => (Tunnel::Gre, Inner::Ip(rest)),
        ETHERTYPE_BRIDGING => (Tunnel::Gre, Inner::Ethernet(rest)),
        ETHERTYPE_PPP => {
            let ppp = match rest {
                [0xff, 0x03, ppp @ ..] => ppp,
                _ => rest,
            };
            (Tunnel::Gre, Inner::Ppp(ppp))
        }
        // ERSPAN type II has an 8-byte header and a GRE sequence number; type I
        // (no sequence number) has no header at all.
        ETHERTYPE_ERSPAN_2 if flags & SEQUENCE != 0 => {
            (Tunnel::Erspan, Inner::Ethernet(rest.get(8..)?))
        }
        ETHERTYPE_ERSPAN_2 => (Tunnel::Erspan, Inner::Ethernet(rest)),
        ETHERTYPE_ERSPAN_3 => {
            let header = rest.get(..12)?;
            let word = be16(header, 10);
            // The O bit announces an 8-byte platform-specific subheader.
            let len = if word & 1 == 1 { 20 } else { 12 };
            let frame = rest.get(len..)?;
            match (word >> 10) & 0x1f {
                0 => (Tunnel::Erspan, Inner::Ethernet(frame)),
                2 => (Tunnel::Erspan, Inner::Ip(frame)),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// Geneve (RFC 8926): 8 bytes plus options, then Ethernet or IP.
fn geneve(bytes: &[u8]) -> Option<(Tunnel, Inner<'_>)> {
    let header = bytes.get(..8)?;
    if header[0] >> 6 != 0 {
        return None;
    }
    let options = usize::from(header[0] & 0x3f) * 4;
    let rest = bytes.get(8 + options..)?;
    let inner = match be16(header, 2) {
        ETHERTYPE_BRIDGING => Inner::Ethernet(rest),
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Inner::Ip(rest),
        _ => return None,
    };
    Some((Tunnel::Geneve, inner))
}

/// GTP-U version 1 (3GPP TS 29.281): a G-PDU (message type 0xff) carries an IP
/// packet after the 8-byte header, the optional 4-byte sequence / N-PDU /
/// next-extension word and the chain of extension headers.
fn gtp_u(bytes: &[u8]) -> Option<Inner<'_>> {
    const PROTOCOL_TYPE: u8 = 0x10;
    const EXTENSION: u8 = 0x04;
    const OPTIONAL: u8 = 0x07;
    const G_PDU: u8 = 0xff;
    let header = bytes.get(..8)?;
    if header[0] >> 5 != 1 || header[0] & PROTOCOL_TYPE == 0 || header[1] != G_PDU {
        return None;
    }
    let mut len = 8;
    if header[0] & OPTIONAL != 0 {
        let optional = bytes.get(8..12)?;
        len = 12;
        let mut next = if header[0] & EXTENSION != 0 {
            optional[3]
        } else {
            0
        };
        // Each extension header is a multiple of 4 bytes (its first byte counts
        // them) and ends with the next one's type; the walk always moves forward.
        while next != 0 {
            let units = usize::from(*bytes.get(len)?);
            if units == 0 {
                return None;
            }
            let end = len + units * 4;
            next = *bytes.get(end - 1)?;
            len = end;
        }
    }
    Some(Inner::Ip(bytes.get(len..)?))
}

/// AYIYA (draft-massar-v6ops-ayiya-02 §5): an 8-byte header (identity
/// length as a power of two and type; signature length in 4-byte words and
/// hash method; authentication method and opcode; next header; epoch time),
/// the identity and the signature, then the payload. Only a forward packet
/// (opcode 1) carries one, an IP packet when the next header is 4 (IPv4) or
/// 41 (IPv6), whose version must match; heartbeats (opcode 0, next header
/// 59) and other opcodes stay the UDP flow they came in.
fn ayiya(bytes: &[u8]) -> Option<Inner<'_>> {
    const FORWARD: u8 = 1;
    let header = bytes.get(..8)?;
    let identity = 1usize << (header[0] >> 4);
    let signature = usize::from(header[1] >> 4) * 4;
    let version = match header[3] {
        IPPROTO_IPIP => 4,
        IPPROTO_IPV6 => 6,
        _ => return None,
    };
    if header[2] & 0x0f != FORWARD {
        return None;
    }
    let ip = bytes.get(8 + identity + signature..)?;
    (ip.first()? >> 4 == version).then_some(Inner::Ip(ip))
}

#[cfg(test)]
mod tests {
    use super::super::frames::{ethernet, ipv4, ipv6, udp};
    use super::super::{PacketView, SkipReason, decode};
    use super::{Tunnel, Tunnels};
    use crate::capture::RawPacket;

    const OUTER_SRC: [u8; 4] = [192, 0, 2, 1];
    const OUTER_DST: [u8; 4] = [192, 0, 2, 2];
    const INNER_SRC: [u8; 4] = [10, 0, 0, 1];
    const INNER_DST: [u8; 4] = [10, 0, 0, 2];

    fn raw(linktype: u32, data: &[u8]) -> RawPacket<'_> {
        RawPacket {
            ts_ns: 1,
            wire_len: data.len() as u32 + 4,
            data,
            linktype,
            interface: 0,
        }
    }

    fn run(frame: &[u8], tunnels: Tunnels) -> Result<PacketView<'_>, SkipReason> {
        decode(&raw(1, frame), tunnels)
    }

    /// The inner packet every test carries: UDP 10.0.0.1:1000 -> 10.0.0.2:53.
    fn inner_udp() -> Vec<u8> {
        ipv4(17, INNER_SRC, INNER_DST, &udp(1000, 53, b"query"))
    }

    fn assert_inner(view: &PacketView<'_>, tunnel: Tunnel, frame_len: usize) {
        assert_eq!(view.tunnel, tunnel);
        assert_eq!(&view.src_addr[..4], &INNER_SRC);
        assert_eq!(&view.dst_addr[..4], &INNER_DST);
        assert_eq!(
            (view.protocol, view.src_port, view.dst_port),
            (17, 1000, 53)
        );
        assert_eq!((view.ip_header_len, view.l4_header_len), (20, 8));
        assert_eq!(view.l4_payload_len, 5);
        // Lengths on the wire and captured stay the frame's.
        assert_eq!(view.wire_len as usize, frame_len + 4);
        assert_eq!(view.cap_len as usize, frame_len);
        // The outer Ethernet header's MACs are kept.
        assert_eq!(view.mac[0], [2, 0, 0, 0, 0, 1]);
    }

    fn outer_ipv4(protocol: u8, payload: &[u8]) -> Vec<u8> {
        ethernet(0x0800, &ipv4(protocol, OUTER_SRC, OUTER_DST, payload))
    }

    fn gre(flags: u8, version: u8, protocol: u16, optional: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut g = vec![flags, version];
        g.extend_from_slice(&protocol.to_be_bytes());
        g.extend_from_slice(optional);
        g.extend_from_slice(payload);
        g
    }

    #[test]
    fn ip_in_ip_and_the_outer_option() {
        let frame = outer_ipv4(4, &inner_udp());
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::IpInIp,
            frame.len(),
        );
        let outer = run(&frame, Tunnels::NONE).unwrap();
        assert_eq!((outer.protocol, outer.tunnel), (4, Tunnel::None));
        assert_eq!(&outer.src_addr[..4], &OUTER_SRC);
        // Protocol 4 carrying an IPv6 header is not IP-in-IP: kept as the outer packet.
        let wrong = outer_ipv4(4, &ipv6(17, 1, 2, &udp(1, 2, b"")));
        assert_eq!(run(&wrong, Tunnels::ALL).unwrap().tunnel, Tunnel::None);
    }

    #[test]
    fn ipv6_in_ipv4_and_6in6in6() {
        let inner6 = ipv6(17, 1, 2, &udp(1000, 53, b"x"));
        let frame = outer_ipv4(41, &inner6);
        let v = run(&frame, Tunnels::ALL).unwrap();
        assert_eq!(
            (v.ip_version, v.tunnel, v.dst_port),
            (6, Tunnel::IpInIp, 53)
        );
        assert_eq!(v.src_addr[15], 1);
        let nested = ethernet(0x86dd, &ipv6(41, 9, 8, &ipv6(41, 7, 6, &inner6)));
        let v = run(&nested, Tunnels::ALL).unwrap();
        assert_eq!(
            (v.src_addr[15], v.dst_addr[15], v.tunnel),
            (1, 2, Tunnel::IpInIp)
        );
        // IPv4 in IPv6.
        let frame = ethernet(0x86dd, &ipv6(4, 9, 8, &inner_udp()));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::IpInIp,
            frame.len(),
        );
    }

    #[test]
    fn gre_with_optional_fields_and_the_outermost_tunnel_is_recorded() {
        // Checksum, key and sequence number: 12 optional bytes.
        let g = gre(0xb0, 0, 0x0800, &[0; 12], &inner_udp());
        let frame = outer_ipv4(47, &g);
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Gre,
            frame.len(),
        );
        // GRE carrying IP-in-IP: the outermost encapsulation names the flow.
        let g = gre(
            0,
            0,
            0x0800,
            &[],
            &ipv4(4, [1, 1, 1, 1], [2, 2, 2, 2], &inner_udp()),
        );
        let frame = outer_ipv4(47, &g);
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Gre,
            frame.len(),
        );
        // Transparent Ethernet bridging (with an inner VLAN tag).
        let mut tagged = vec![0, 5, 0x08, 0x00];
        tagged.extend_from_slice(&inner_udp());
        let g = gre(0x20, 0, 0x6558, &[0; 4], &ethernet(0x8100, &tagged));
        let frame = outer_ipv4(47, &g);
        let v = run(&frame, Tunnels::ALL).unwrap();
        assert_inner(&v, Tunnel::Gre, frame.len());
        assert_eq!(v.vlan_id, 0, "the VLAN column is the frame's outermost tag");
        // Source routing and unknown versions are not followed.
        for (flags, version) in [(0x40, 0), (0, 2)] {
            let frame = outer_ipv4(47, &gre(flags, version, 0x0800, &[0; 4], &inner_udp()));
            assert_eq!(run(&frame, Tunnels::ALL).unwrap().protocol, 47);
        }
    }

    #[test]
    fn pptp_enhanced_gre_with_ppp() {
        // Version 1, key + sequence + acknowledgement, PPP with address/control.
        let mut ppp = vec![0xff, 0x03, 0x00, 0x21];
        ppp.extend_from_slice(&inner_udp());
        let g = gre(0x30, 0x81, 0x880b, &[0; 12], &ppp);
        let frame = outer_ipv4(47, &g);
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Gre,
            frame.len(),
        );
        // Compressed protocol field, no ack.
        let mut ppp = vec![0x21];
        ppp.extend_from_slice(&inner_udp());
        let frame = outer_ipv4(47, &gre(0x30, 0x01, 0x880b, &[0; 8], &ppp));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Gre,
            frame.len(),
        );
        // LCP is not IP: the packet stays the GRE packet.
        let frame = outer_ipv4(47, &gre(0x30, 0x01, 0x880b, &[0; 8], &[0xc0, 0x21, 1, 1]));
        assert_eq!(run(&frame, Tunnels::ALL).unwrap().tunnel, Tunnel::None);
    }

    #[test]
    fn erspan_types_one_two_and_three() {
        let mirrored = ethernet(0x0800, &inner_udp());
        // Type II: sequence number in GRE, 8-byte ERSPAN header.
        let mut body = vec![0x10, 0, 0, 1, 0, 0, 0, 0];
        body.extend_from_slice(&mirrored);
        let frame = outer_ipv4(47, &gre(0x10, 0, 0x88be, &[0; 4], &body));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Erspan,
            frame.len(),
        );
        // Type I: no sequence number, no ERSPAN header.
        let frame = outer_ipv4(47, &gre(0, 0, 0x88be, &[], &mirrored));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Erspan,
            frame.len(),
        );
        // Type III with the optional 8-byte subheader (O bit), frame type Ethernet.
        let mut body = vec![0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x01];
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&mirrored);
        let frame = outer_ipv4(47, &gre(0x10, 0, 0x22eb, &[0; 4], &body));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Erspan,
            frame.len(),
        );
        // Type III without the subheader, frame type IP (2 << 10).
        let mut body = vec![0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
        body.extend_from_slice(&inner_udp());
        let frame = outer_ipv4(47, &gre(0x10, 0, 0x22eb, &[0; 4], &body));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Erspan,
            frame.len(),
        );
    }

    #[test]
    fn vxlan_and_geneve() {
        let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        vxlan.extend_from_slice(&ethernet(0x0800, &inner_udp()));
        let frame = outer_ipv4(17, &udp(49152, 4789, &vxlan));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Vxlan,
            frame.len(),
        );
        // The nfstream profile's set leaves VXLAN alone, as NFStream does.
        assert_eq!(run(&frame, Tunnels::NFSTREAM).unwrap().dst_port, 4789);
        // ARP inside VXLAN: the packet stays the outer UDP packet.
        let mut arp = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        arp.extend_from_slice(&ethernet(0x0806, &[0; 28]));
        let frame = outer_ipv4(17, &udp(49152, 4789, &arp));
        let v = run(&frame, Tunnels::ALL).unwrap();
        assert_eq!((v.dst_port, v.tunnel), (4789, Tunnel::None));
        // Geneve with 8 bytes of options, Ethernet inside.
        let mut geneve = vec![0x02, 0, 0x65, 0x58, 0, 0, 1, 0];
        geneve.extend_from_slice(&[0; 8]);
        geneve.extend_from_slice(&ethernet(0x0800, &inner_udp()));
        let frame = outer_ipv4(17, &udp(49152, 6081, &geneve));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Geneve,
            frame.len(),
        );
        // Geneve carrying IPv4 directly.
        let mut geneve = vec![0x00, 0, 0x08, 0x00, 0, 0, 1, 0];
        geneve.extend_from_slice(&inner_udp());
        let frame = outer_ipv4(17, &udp(49152, 6081, &geneve));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::Geneve,
            frame.len(),
        );
    }

    #[test]
    fn gtp_u_with_optional_word_and_extension_headers() {
        // Version 1, PT, E and S flags; G-PDU; extension header of 4 bytes (PDU
        // session container, type 0x85) ending the chain.
        let mut gtp = vec![0x36, 0xff, 0, 0, 0, 0, 0, 1, 0, 7, 0, 0x85];
        gtp.extend_from_slice(&[1, 0x10, 0x09, 0x00]);
        gtp.extend_from_slice(&inner_udp());
        let frame = outer_ipv4(17, &udp(2152, 2152, &gtp));
        assert_inner(
            &run(&frame, Tunnels::ALL).unwrap(),
            Tunnel::GtpU,
            frame.len(),
        );
        assert_eq!(run(&frame, Tunnels::NFSTREAM).unwrap().tunnel, Tunnel::GtpU);
        // Plain 8-byte header, IPv6 inside, GTP port on the source side only.
        let mut gtp = vec![0x30, 0xff, 0, 0, 0, 0, 0, 1];
        gtp.extend_from_slice(&ipv6(58, 1, 2, &[128, 0, 0, 0, 0, 0, 0, 0]));
        let frame = outer_ipv4(17, &udp(2152, 40000, &gtp));
        let v = run(&frame, Tunnels::ALL).unwrap();
        assert_eq!((v.ip_version, v.protocol, v.tunnel), (6, 58, Tunnel::GtpU));
        // An echo request (message type 1) and an extension of length 0 are not followed.
        let mut echo = vec![0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0];
        echo.extend_from_slice(&inner_udp());
        let frame = outer_ipv4(17, &udp(2152, 2152, &echo));
        assert_eq!(run(&frame, Tunnels::ALL).unwrap().tunnel, Tunnel::None);
        let mut bad = vec![0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 0, 0, 0, 0];
        bad.extend_from_slice(&inner_udp());
        let frame = outer_ipv4(17, &udp(2152, 2152, &bad));
        assert_eq!(run(&frame, Tunnels::ALL).unwrap().tunnel, Tunnel::None);
    }

    /// An AYIYA header as zeek/ayiya3.pcap's forward packets have it: a
    /// 16-byte identity (IDLen 4, an IPv6 address), a SHA-1 signature (5
    /// words), authentication method 1, then `opcode` and `next_header`.
    fn ayiya(opcode: u8, next_header: u8, payload: &[u8]) -> Vec<u8> {
        let mut a = vec![
            0x41,
            0x52,
            0x10 | opcode,
            next_header,
            0x4a,
            0xf6,
            0x4c,
            0x05,
        ];
        a.extend_from_slice(&[0x20; 16]);
        a.extend_from_slice(&[0xee; 20]);
        a.extend_from_slice(payload);
        a
    }

    #[test]
    fn ayiya_forward_packets_with_ipv4_or_ipv6_inside() {
        // IPv4 inside, the AYIYA port on either side.
        for ports in [(40000, 5072), (5072, 53859)] {
            let frame = outer_ipv4(17, &udp(ports.0, ports.1, &ayiya(1, 4, &inner_udp())));
            assert_inner(
                &run(&frame, Tunnels::ALL).unwrap(),
                Tunnel::Ayiya,
                frame.len(),
            );
        }
        // IPv6 inside; identity of 1 byte (IDLen 0) and no signature.
        let icmp6 = ipv6(58, 1, 2, &[128, 0, 0, 0, 0, 0, 0, 0]);
        let mut short = vec![0x01, 0x00, 0x01, 41, 0, 0, 0, 0, 7];
        short.extend_from_slice(&icmp6);
        for a in [ayiya(1, 41, &icmp6), short] {
            let frame = outer_ipv4(17, &udp(53859, 5072, &a));
            let v = run(&frame, Tunnels::ALL).unwrap();
            assert_eq!((v.ip_version, v.protocol, v.tunnel), (6, 58, Tunnel::Ayiya));
        }
        // Not followed: a heartbeat (opcode 0, next header 59), another
        // opcode, a next header that is not IP or does not match the inner
        // version, a header cut before its payload, another port, and the
        // nfstream profile's tunnels (NFStream does not open AYIYA).
        let not = [
            (ayiya(0, 59, &[]), 5072),
            (ayiya(2, 4, &inner_udp()), 5072),
            (ayiya(1, 17, &inner_udp()), 5072),
            (ayiya(1, 41, &inner_udp()), 5072),
            (ayiya(1, 4, &[]), 5072),
            (ayiya(1, 4, &inner_udp())[..40].to_vec(), 5072),
            (ayiya(1, 4, &inner_udp()), 5073),
        ];
        for (a, port) in not {
            let frame = outer_ipv4(17, &udp(40000, port, &a));
            let v = run(&frame, Tunnels::ALL).unwrap();
            assert_eq!((v.protocol, v.tunnel), (17, Tunnel::None), "{a:02x?}");
        }
        let frame = outer_ipv4(17, &udp(40000, 5072, &ayiya(1, 4, &inner_udp())));
        assert_eq!(run(&frame, Tunnels::NFSTREAM).unwrap().tunnel, Tunnel::None);
        assert_eq!(Tunnel::Ayiya.name(), "ayiya");
    }

    #[test]
    fn fragments_truncation_and_nesting_depth() {
        // A fragmented outer packet is not decapsulated by `decode` (the
        // stream's TunnelFragments lends its packet inside afterwards).
        let mut frame = outer_ipv4(4, &inner_udp());
        frame[14 + 6] = 0x20; // more fragments
        let v = run(&frame, Tunnels::ALL).unwrap();
        assert_eq!((v.protocol, v.tunnel), (4, Tunnel::None));
        // An inner header cut off by the snap length: the outer packet is kept.
        let frame = outer_ipv4(4, &inner_udp());
        let cut = &frame[..14 + 20 + 10];
        let v = run(cut, Tunnels::ALL).unwrap();
        assert_eq!((v.protocol, v.tunnel), (4, Tunnel::None));
        // An inner transport header cut off: the inner packet, incomplete.
        let cut = &frame[..14 + 40 + 2];
        let v = run(cut, Tunnels::ALL).unwrap();
        assert_eq!((v.protocol, v.tunnel, v.src_port), (17, Tunnel::IpInIp, 0));
        // 20 nested IP-in-IP headers: 8 are taken off, never more.
        let mut packet = inner_udp();
        for i in 0..20u8 {
            packet = ipv4(4, [172, 16, 0, i], [172, 16, 1, i], &packet);
        }
        let frame = ethernet(0x0800, &packet);
        let v = run(&frame, Tunnels::ALL).unwrap();
        assert_eq!((v.protocol, v.tunnel), (4, Tunnel::IpInIp));
        assert_eq!(&v.src_addr[..4], &[172, 16, 0, 11]);
    }

    #[test]
    fn arbitrary_bytes_after_any_tunnel_header_never_panic() {
        let mut payloads: Vec<Vec<u8>> = Vec::new();
        let mut gtp = vec![0x36, 0xff, 0, 0, 0, 0, 0, 1, 0, 7, 0, 0x85, 1, 0, 0, 0];
        gtp.extend_from_slice(&inner_udp());
        payloads.push(outer_ipv4(17, &udp(2152, 2152, &gtp)));
        let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        vxlan.extend_from_slice(&ethernet(0x0800, &inner_udp()));
        payloads.push(outer_ipv4(17, &udp(1, 4789, &vxlan)));
        payloads.push(outer_ipv4(
            17,
            &udp(1, 6081, &[0x3f, 0, 0x65, 0x58, 0, 0, 0, 0]),
        ));
        payloads.push(outer_ipv4(47, &gre(0x10, 0, 0x22eb, &[0; 4], &[0xff; 30])));
        payloads.push(outer_ipv4(
            47,
            &gre(0xb0, 0x81, 0x880b, &[0; 16], &[0xff; 3]),
        ));
        payloads.push(outer_ipv4(17, &udp(1, 5072, &ayiya(1, 4, &inner_udp()))));
        let mut state = 0x2545_f491_u32;
        for frame in &payloads {
            // Every prefix, and every byte of the encapsulation replaced by noise.
            for end in 0..=frame.len() {
                let _ = run(&frame[..end], Tunnels::ALL);
            }
            for at in 34..frame.len() {
                let mut noisy = frame.clone();
                for _ in 0..8 {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    noisy[at] = state as u8;
                    let _ = run(&noisy, Tunnels::ALL);
                }
            }
        }
    }
}
