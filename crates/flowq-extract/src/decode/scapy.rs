//! The original script's view of a packet, for the `seed` profile only.
//!
//! The script took ports from the first transport header scapy dissected anywhere
//! in the packet (`pkt.sport`), which differs from flowq's own rules in a few
//! places that matter on real traffic. The rules here were established by
//! running the script (see `testdata/seed/README.md`).

use super::{PacketView, TcpInfo};

const ICMP: u8 = 1;
const IPIP: u8 = 4;
const TCP: u8 = 6;
const UDP: u8 = 17;
const IPV6_IN_IP: u8 = 41;
const SCTP: u8 = 132;
/// ICMP types whose body quotes the offending IP header.
const ICMP_ERRORS: [u8; 5] = [3, 4, 5, 11, 12];

/// Re-reads ports and TCP flags the way the script saw them.
pub fn apply(view: &mut PacketView<'_>) {
    if view.ip_version != 4 {
        return;
    }
    let bytes = view.transport;
    match view.protocol {
        // scapy dissects a transport header only when enough bytes are captured.
        TCP if bytes.len() < 20 => clear(view),
        UDP if bytes.len() < 8 => clear(view),
        ICMP => {
            clear(view);
            if bytes.len() >= 8
                && ICMP_ERRORS.contains(&bytes[0])
                && let Some((src, dst, _)) = inner_ports(&bytes[8..], true)
            {
                (view.src_port, view.dst_port) = (src, dst);
            }
        }
        IPIP => {
            if let Some((src, dst, flags)) = inner_ports(bytes, false) {
                (view.src_port, view.dst_port) = (src, dst);
                view.tcp = flags.map(|flags| TcpInfo {
                    flags,
                    ..TcpInfo::default()
                });
            }
        }
        IPV6_IN_IP => {
            if let Some((src, dst, flags)) = inner_ipv6_ports(bytes) {
                (view.src_port, view.dst_port) = (src, dst);
                view.tcp = flags.map(|flags| TcpInfo {
                    flags,
                    ..TcpInfo::default()
                });
            }
        }
        _ => {}
    }
    if view.fragment.is_some_and(|f| f.offset != 0) {
        clear(view);
    }
}

fn clear(view: &mut PacketView<'_>) {
    view.src_port = 0;
    view.dst_port = 0;
    view.tcp = None;
}

/// Ports (and TCP flags) of the transport header inside an IPv4 header at the
/// start of `ip`. `quoted` selects scapy's rules for headers quoted in ICMP errors,
/// whose TCP flags the script did not count.
fn inner_ports(ip: &[u8], quoted: bool) -> Option<(u16, u16, Option<u8>)> {
    if ip.len() < 20 || ip[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    if ihl < 20 || fragment_offset != 0 {
        return None;
    }
    transport_ports(ip[9], ip.get(ihl..)?, quoted)
}

fn inner_ipv6_ports(ip: &[u8]) -> Option<(u16, u16, Option<u8>)> {
    if ip.len() < 40 || ip[0] >> 4 != 6 {
        return None;
    }
    transport_ports(ip[6], &ip[40..], false)
}

fn transport_ports(protocol: u8, l4: &[u8], quoted: bool) -> Option<(u16, u16, Option<u8>)> {
    let ports = |b: &[u8]| {
        (
            u16::from_be_bytes([b[0], b[1]]),
            u16::from_be_bytes([b[2], b[3]]),
        )
    };
    match protocol {
        // A quoted TCP header may end after the sequence number (8 bytes).
        TCP if l4.len() >= 20 || (quoted && l4.len() == 8) => {
            let (s, d) = ports(l4);
            Some((s, d, (!quoted).then(|| l4[13])))
        }
        UDP if l4.len() >= 8 => {
            let (s, d) = ports(l4);
            Some((s, d, None))
        }
        SCTP if l4.len() >= 12 => {
            let (s, d) = ports(l4);
            Some((s, d, None))
        }
        _ => None,
    }
}
