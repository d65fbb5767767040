//! The original script's view of a packet, for the `seed` profile only.
//!
//! The script saw packets through scapy's dissectors: ports came from the first
//! transport header scapy dissected anywhere in the packet (`pkt.sport`), TCP flags
//! from a TCP header anywhere (tunnels included), addresses from the first IPv4
//! header, and `len(pkt)` from scapy's rebuild of the packet. These rules differ
//! from flowq's own in ways that show on real traffic; they were established by
//! running the script (see `testdata/seed/README.md`, which cites the fixtures).

use super::{PacketView, TcpInfo};

const ICMP: u8 = 1;
const IPIP: u8 = 4;
const TCP: u8 = 6;
const UDP: u8 = 17;
const IPV6_IN_IP: u8 = 41;
const GRE: u8 = 47;
const SCTP: u8 = 132;
/// ICMP types whose body quotes the offending IP header.
const ICMP_ERRORS: [u8; 5] = [3, 4, 5, 11, 12];
/// UDP ports scapy dissects as VXLAN.
const VXLAN_PORTS: [u16; 3] = [4789, 4790, 8472];
/// Nesting limit for tunnels inside tunnels.
const MAX_DEPTH: usize = 8;

/// What scapy found below an IP header: ports of the first transport header and
/// the flags of the first (non-quoted) TCP header.
#[derive(Debug, Clone, Copy, Default)]
struct Found {
    ports: Option<(u16, u16)>,
    tcp_flags: Option<u8>,
}

/// Re-reads the packet the way the script saw it. Returns false when the script
/// did not see an IPv4 packet at all (scapy does not decode MPLS), so the packet
/// is skipped.
pub fn apply(view: &mut PacketView<'_>) -> bool {
    if view.mpls {
        return false;
    }
    if view.ip_version == 6 {
        // IPv4 inside IPv6: the first IPv4 header is the inner one.
        if view.protocol == IPIP && view.fragment.is_none_or(|f| f.byte_offset == 0) {
            return adopt_inner_ipv4(view);
        }
        return true;
    }
    let bytes = view.transport;
    let found = if view.fragment.is_some_and(|f| f.byte_offset != 0) {
        Found::default()
    } else {
        below_ip(view.protocol, bytes, 0)
    };
    (view.src_port, view.dst_port) = found.ports.unwrap_or((0, 0));
    view.tcp = found.tcp_flags.map(|flags| TcpInfo {
        flags,
        ..TcpInfo::default()
    });
    // On rebuild, scapy drops what follows the datagram of an ICMP error long
    // enough to carry an RFC 4884 extension.
    if view.protocol == ICMP && bytes.len() >= 144 && matches!(bytes[0], 3 | 11 | 12) {
        view.cap_len = view.cap_len.saturating_sub(view.trailer_len);
    }
    true
}

/// Replaces an IPv6 view's addresses and protocol with its inner IPv4 header's.
fn adopt_inner_ipv4(view: &mut PacketView<'_>) -> bool {
    let ip = view.transport;
    if ip.len() < 20 {
        return true;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    view.ip_version = 4;
    view.src_addr = [0; 16];
    view.dst_addr = [0; 16];
    view.src_addr[..4].copy_from_slice(&ip[12..16]);
    view.dst_addr[..4].copy_from_slice(&ip[16..20]);
    view.protocol = ip[9];
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    let found = match ip.get(ihl.max(20)..) {
        Some(payload) if fragment_offset == 0 => below_ip(ip[9], payload, 1),
        _ => Found::default(),
    };
    (view.src_port, view.dst_port) = found.ports.unwrap_or((0, 0));
    view.tcp = found.tcp_flags.map(|flags| TcpInfo {
        flags,
        ..TcpInfo::default()
    });
    true
}

fn ports(b: &[u8]) -> (u16, u16) {
    (
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
    )
}

/// What scapy dissects in the payload `l4` of an IP header with `protocol`.
fn below_ip(protocol: u8, l4: &[u8], depth: usize) -> Found {
    if depth > MAX_DEPTH {
        return Found::default();
    }
    match protocol {
        TCP if l4.len() >= 20 => Found {
            ports: Some(ports(l4)),
            tcp_flags: Some(l4[13]),
        },
        UDP if l4.len() >= 8 => {
            let (src, dst) = ports(l4);
            let inner = if VXLAN_PORTS.contains(&dst) || VXLAN_PORTS.contains(&src) {
                l4.get(16..)
                    .map_or_else(Found::default, |frame| ethernet(frame, depth + 1))
            } else {
                Found::default()
            };
            Found {
                ports: Some((src, dst)),
                tcp_flags: inner.tcp_flags,
            }
        }
        SCTP if l4.len() >= 12 => Found {
            ports: Some(ports(l4)),
            tcp_flags: None,
        },
        ICMP if l4.len() >= 8 && ICMP_ERRORS.contains(&l4[0]) => Found {
            ports: quoted_ports(&l4[8..]),
            tcp_flags: None,
        },
        IPIP => ipv4(l4, depth + 1),
        IPV6_IN_IP => ipv6(l4, depth + 1),
        GRE => gre(l4, depth + 1),
        _ => Found::default(),
    }
}

/// An IPv4 header at the start of `ip`, as scapy dissects it.
fn ipv4(ip: &[u8], depth: usize) -> Found {
    if ip.len() < 20 {
        return Found::default();
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    // The payload ends at the total length, unless that is shorter than the header.
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let end = if total >= ihl {
        total.min(ip.len())
    } else {
        ip.len()
    };
    match ip.get(ihl.max(20)..end) {
        Some(payload) if fragment_offset == 0 => below_ip(ip[9], payload, depth),
        _ => Found::default(),
    }
}

fn ipv6(ip: &[u8], depth: usize) -> Found {
    if ip.len() < 40 {
        return Found::default();
    }
    // scapy cuts the payload at the payload length (so a jumbogram's 0 leaves none).
    let end = (40 + usize::from(u16::from_be_bytes([ip[4], ip[5]]))).min(ip.len());
    below_ip(ip[6], &ip[40..end], depth)
}

fn ethernet(frame: &[u8], depth: usize) -> Found {
    if frame.len() < 14 {
        return Found::default();
    }
    match u16::from_be_bytes([frame[12], frame[13]]) {
        0x0800 => ipv4(&frame[14..], depth),
        0x86dd => ipv6(&frame[14..], depth),
        _ => Found::default(),
    }
}

/// GRE (RFC 2784/2890): flags, protocol type, optional checksum, key, sequence.
fn gre(bytes: &[u8], depth: usize) -> Found {
    if bytes.len() < 4 || bytes[1] & 0x07 != 0 {
        return Found::default();
    }
    let flags = bytes[0];
    let optional = 4
        * (usize::from(flags & 0x80 != 0)
            + usize::from(flags & 0x20 != 0)
            + usize::from(flags & 0x10 != 0));
    let Some(inner) = bytes.get(4 + optional..) else {
        return Found::default();
    };
    match u16::from_be_bytes([bytes[2], bytes[3]]) {
        0x0800 => ipv4(inner, depth),
        0x86dd => ipv6(inner, depth),
        0x6558 => ethernet(inner, depth),
        _ => Found::default(),
    }
}

/// Ports of the transport header quoted after the IPv4 header inside an ICMP
/// error. A quoted TCP header may end after its sequence number (8 bytes).
fn quoted_ports(ip: &[u8]) -> Option<(u16, u16)> {
    if ip.len() < 20 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    if ihl < 20 || fragment_offset != 0 {
        return None;
    }
    let l4 = ip.get(ihl..)?;
    match ip[9] {
        TCP if l4.len() >= 20 || l4.len() == 8 => Some(ports(l4)),
        UDP if l4.len() >= 8 => Some(ports(l4)),
        SCTP if l4.len() >= 12 => Some(ports(l4)),
        _ => None,
    }
}
