//! Transport headers: ports, TCP flags and header lengths, read directly from the
//! captured bytes so that a header cut off by the snap length still yields what
//! it has (etherparse's TCP slicing rejects a header whose options are cut).

use super::{PacketView, TcpInfo, TransportState};

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
            view.tcp = Some(TcpInfo {
                flags: bytes[13],
                window: if bytes.len() >= 16 {
                    u16::from_be_bytes([bytes[14], bytes[15]])
                } else {
                    0
                },
                seq: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
                ack: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            });
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
            if bytes.len() < 8 {
                view.transport_state = TransportState::Incomplete;
            }
            8
        }
        _ => 0,
    };
    view.l4_header_len = header_len as u32;
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
