//! Transport headers: ports, TCP flags and header lengths, read directly from the
//! captured bytes so that a header cut off by the snap length still yields what
//! it has (etherparse's TCP slicing rejects a header whose options are cut).

use super::{NO_WINDOW_SCALE, PacketView, TcpInfo, TransportState, tcp_flags};

const TCP: u8 = 6;
const UDP: u8 = 17;
const DCCP: u8 = 33;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;
const SCTP: u8 = 132;
const UDP_LITE: u8 = 136;

/// Fills ports, TCP fields and header/payload lengths from `view.transport`.
/// `declared_len` is the transport length implied by the IP header.
pub(super) fn decode(view: &mut PacketView<'_>, declared_len: usize) {
    let bytes = view.transport;
    let header_len = match view.protocol {
        TCP => {
            if bytes.len() < 14 {
                read_ports(view, bytes);
                view.transport_state = TransportState::Incomplete;
                return;
            }
            read_ports(view, bytes);
            let data_offset = usize::from(bytes[12] >> 4) * 4;
            let flags = bytes[13];
            let mut tcp = TcpInfo {
                flags,
                window: bytes.get(14..16).map(|w| u16::from_be_bytes([w[0], w[1]])),
                seq: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
                ack: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
                ..TcpInfo::default()
            };
            // MSS and window scale are only meaningful on SYN segments (RFC 9293,
            // RFC 7323), so the options of other segments are not read at all.
            if flags & tcp_flags::SYN != 0 && data_offset > 20 {
                let end = data_offset.min(bytes.len());
                if let Some(options) = bytes.get(20..end) {
                    read_syn_options(&mut tcp, options);
                }
            }
            view.tcp = Some(tcp);
            if data_offset < 20 || bytes.len() < 20 {
                view.transport_state = TransportState::Incomplete;
            }
            data_offset.max(20)
        }
        UDP | UDP_LITE => {
            read_ports(view, bytes);
            if bytes.len() < 8 {
                view.transport_state = TransportState::Incomplete;
            }
            8
        }
        SCTP => {
            read_ports(view, bytes);
            if bytes.len() < 12 {
                view.transport_state = TransportState::Incomplete;
            }
            12
        }
        DCCP => {
            read_ports(view, bytes);
            if bytes.len() < 5 {
                view.transport_state = TransportState::Incomplete;
                12
            } else {
                (usize::from(bytes[4]) * 4).max(12)
            }
        }
        ICMP | ICMPV6 => {
            view.icmp = bytes.get(..2).map(|t| [t[0], t[1]]);
            if bytes.len() < 8 {
                view.transport_state = TransportState::Incomplete;
            }
            8
        }
        _ => 0,
    };
    // At most 1020 (DCCP's data offset, 8 bits of 4-byte words).
    view.l4_header_len = header_len as u16;
    view.l4_payload_len = declared_len.saturating_sub(header_len) as u32;
}

/// Reads the two 16-bit ports at the start of TCP, UDP, SCTP and DCCP headers.
#[inline]
fn read_ports(view: &mut PacketView<'_>, bytes: &[u8]) {
    if bytes.len() >= 4 {
        view.src_port = u16::from_be_bytes([bytes[0], bytes[1]]);
        view.dst_port = u16::from_be_bytes([bytes[2], bytes[3]]);
    } else {
        view.transport_state = TransportState::Incomplete;
    }
}

/// Reads the MSS (kind 2) and window scale (kind 3) options of a SYN segment.
/// Malformed or cut-off options end the walk; what was read before stays.
fn read_syn_options(tcp: &mut TcpInfo, mut options: &[u8]) {
    const END: u8 = 0;
    const NOP: u8 = 1;
    const MSS: u8 = 2;
    const WINDOW_SCALE: u8 = 3;
    while let Some(&kind) = options.first() {
        match kind {
            END => return,
            NOP => {
                options = &options[1..];
                continue;
            }
            _ => {}
        }
        let Some(&len) = options.get(1) else {
            return;
        };
        let len = usize::from(len);
        let Some(option) = options.get(..len).filter(|_| len >= 2) else {
            return;
        };
        match (kind, len) {
            (MSS, 4) => tcp.mss = u16::from_be_bytes([option[2], option[3]]),
            // RFC 7323 caps the shift at 14; larger values are kept as sent.
            (WINDOW_SCALE, 3) => tcp.window_scale = option[2].min(NO_WINDOW_SCALE - 1),
            _ => {}
        }
        options = &options[len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_options_are_read_through_nops_and_unknown_kinds() {
        let mut tcp = TcpInfo::default();
        // MSS 1460, NOP, window scale 7, SACK permitted, timestamps (10 bytes).
        let options = [
            2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
        ];
        read_syn_options(&mut tcp, &options);
        assert_eq!((tcp.mss, tcp.window_scale), (1460, 7));
    }

    #[test]
    fn malformed_syn_options_stop_the_walk() {
        let mut tcp = TcpInfo::default();
        // MSS, then an option of length 0 (invalid), then a window scale never reached.
        read_syn_options(&mut tcp, &[2, 4, 0x02, 0x18, 8, 0, 3, 3, 2]);
        assert_eq!((tcp.mss, tcp.window_scale), (536, NO_WINDOW_SCALE));
        // An option longer than what is left.
        let mut tcp = TcpInfo::default();
        read_syn_options(&mut tcp, &[3, 3]);
        assert_eq!(tcp.window_scale, NO_WINDOW_SCALE);
        // End of options list.
        read_syn_options(&mut tcp, &[0, 3, 3, 9]);
        assert_eq!(tcp.window_scale, NO_WINDOW_SCALE);
    }
}
