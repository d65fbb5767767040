//! Content-based detection of the application protocol from the first payload
//! bytes of a direction ([`detect`]: no rule uses a port). One rule adds a
//! port ([`detect_on_ports`]): on the ports registered for DNS-format
//! messages (53, 137 for the NetBIOS name service, 5353 for mDNS), a payload
//! that no rule recognizes is DNS when its header and the name, type and
//! class after it decode, whatever the header's flags, opcode and counts
//! say, as TShark and Zeek read any message on DNS's port; and on 53 itself
//! a payload whose header is a DNS header of one question (as the strict
//! rule checks it) is DNS even when the name after it does not decode.
//!
//! | protocol | transport | rule |
//! |---|---|---|
//! | `tls` | TCP | a handshake record header (22, version 3.0-3.4, length 1-18 432) whose first handshake message is a ClientHello (1) or ServerHello (2) |
//! | `ssh` | TCP | `SSH-` and a digit |
//! | `http2` | TCP | the HTTP/2 connection preface's first line `PRI * HTTP/2.0` (prior knowledge, RFC 9113 §3.4) |
//! | `http` | TCP | a request line with a known method and, if the line is complete, `HTTP/1.x`; or an HTTP/0.9 simple request (a complete line `GET /path`, no version); or a status line `HTTP/1.x NNN` |
//! | `bittorrent` | TCP | the peer handshake: byte 19 then `BitTorrent protocol` |
//! | `dns` | TCP | a 2-byte length ≥ 12 then a message passing the UDP rule |
//! | `openvpn` | TCP | a 2-byte length, then a packet passing the UDP rule |
//! | `quic` | UDP | a long header (form and fixed bits set) of a version flowq decrypts (v1, v2, drafts 23-32), connection IDs ≤ 20 bytes |
//! | `dtls` | UDP | a handshake record header (22, version 0xfeff/0xfefd/0xfefc) of at least 13 bytes |
//! | `netbios` | UDP | a NetBIOS datagram (RFC 1002 §4.4) of type 0x10-0x12 whose `DGM_LENGTH` is the bytes after its 14-byte header and whose source name is in the first-level encoding (32 characters `A`-`P`) |
//! | `dhcp` | UDP | the fixed BOOTP part (236 bytes, `op` 1 or 2, `hlen` ≤ 16) then the magic cookie 99.130.83.99 |
//! | `dns` | UDP | a 12-byte header with one question, a known opcode, no answers in a query (except NOTIFY/UPDATE), a name that decodes and a known class (top bit ignored for mDNS) |
//! | `http` | UDP | a complete first line that is an HTTP/1.x request line (SSDP's `M-SEARCH` and `NOTIFY` included) or a status line |
//! | `openvpn` | UDP | a hard reset of OpenVPN's control channel without `tls-auth` ([`looks_like_openvpn`]): the client's (V2, V3) acknowledging nothing, or the server's (V2) acknowledging the client's packet 0, message packet id 0, at most 64 bytes |

use super::dhcp::looks_like_dhcp;
use super::dns::{decodes_as_dns, has_dns_header, looks_like_dns};
use super::http::{looks_like_request, looks_like_response, looks_like_simple_request};
use super::netbios::looks_like_netbios_datagram;
use super::openvpn::looks_like_openvpn;
use super::quic::is_supported_version;
use super::ssh::looks_like_ssh;

/// An application protocol flowq recognizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppProtocol {
    /// TLS over TCP.
    Tls,
    /// QUIC (v1, v2, drafts 23-32).
    Quic,
    /// DNS over UDP or TCP (also mDNS, LLMNR).
    Dns,
    /// HTTP/1.x.
    Http,
    /// HTTP/2 with prior knowledge (cleartext).
    Http2,
    /// SSH.
    Ssh,
    /// DTLS.
    Dtls,
    /// The BitTorrent peer protocol.
    BitTorrent,
    /// DHCP (and BOOTP with the DHCP magic cookie).
    Dhcp,
    /// The NetBIOS datagram service (the name service is read as DNS).
    Netbios,
    /// OpenVPN's control channel (its TLS handshake is read).
    OpenVpn,
}

impl AppProtocol {
    /// The protocol's name as in the `app_protocol` column (`tls`, `quic` …).
    pub fn as_str(self) -> &'static str {
        match self {
            AppProtocol::Tls => "tls",
            AppProtocol::Quic => "quic",
            AppProtocol::Dns => "dns",
            AppProtocol::Http => "http",
            AppProtocol::Http2 => "http2",
            AppProtocol::Ssh => "ssh",
            AppProtocol::Dtls => "dtls",
            AppProtocol::BitTorrent => "bittorrent",
            AppProtocol::Dhcp => "dhcp",
            AppProtocol::Netbios => "netbios",
            AppProtocol::OpenVpn => "openvpn",
        }
    }
}

/// The transport a payload came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP: payloads are parts of a byte stream.
    Tcp,
    /// UDP: each payload is one datagram.
    Udp,
}

/// Detect the protocol of a direction from its first payload.
pub fn detect(transport: Transport, data: &[u8]) -> Option<AppProtocol> {
    match transport {
        Transport::Tcp => detect_tcp(data),
        Transport::Udp => detect_udp(data),
    }
}

/// The ports registered for DNS-format messages (IANA): DNS (53, UDP and
/// TCP), the NetBIOS name service (137, RFC 1002 §4.2) and mDNS (5353, RFC
/// 6762), on which a message that does not pass the content rule is still
/// read as DNS when it decodes: a NetBIOS or mDNS response has no question,
/// and an mDNS query may carry known answers (RFC 6762 §6, §7.1).
pub const DNS_PORTS: [u16; 3] = [DNS_PORT, 137, 5353];

/// DNS's own port, where a payload whose 12-byte header is that of a DNS
/// message of one question ([`has_dns_header`]) is DNS whatever follows the
/// header: a damaged name does not make a message on port 53 anything else.
pub const DNS_PORT: u16 = 53;

/// [`detect`], and on a flow with an endpoint on one of [`DNS_PORTS`], DNS for a
/// payload that no content rule recognizes but whose header and first
/// question decode ([`decodes_as_dns`]), or, on [`DNS_PORT`], whose header is
/// that of a message of one question ([`has_dns_header`]) whether or not its
/// name decodes (over TCP after a 2-byte length of at least 12).
pub fn detect_on_ports(transport: Transport, data: &[u8], ports: [u16; 2]) -> Option<AppProtocol> {
    detect(transport, data).or_else(|| {
        let msg = match transport {
            Transport::Udp => data,
            Transport::Tcp => match data {
                [l0, l1, msg @ ..] if u16::from_be_bytes([*l0, *l1]) >= 12 => msg,
                _ => return None,
            },
        };
        let on = |set: &[u16]| ports.iter().any(|p| set.contains(p));
        // On DNS's own port, a message with a DNS query's or response's
        // header is DNS even when its name is damaged: its parts are read as
        // far as they decode (null for the name).
        (on(&DNS_PORTS) && decodes_as_dns(msg) || on(&[DNS_PORT]) && has_dns_header(msg))
            .then_some(AppProtocol::Dns)
    })
}

fn detect_tcp(d: &[u8]) -> Option<AppProtocol> {
    if let [22, 3, minor, l0, l1, hs, ..] = *d {
        let len = u16::from_be_bytes([l0, l1]);
        if minor <= 4 && (1..=18_432).contains(&len) && matches!(hs, 1 | 2) {
            return Some(AppProtocol::Tls);
        }
    }
    if looks_like_ssh(d) {
        return Some(AppProtocol::Ssh);
    }
    if d.starts_with(b"PRI * HTTP/2.0\r\n") {
        return Some(AppProtocol::Http2);
    }
    if looks_like_request(d) || looks_like_simple_request(d) || looks_like_response(d) {
        return Some(AppProtocol::Http);
    }
    if d.len() >= 20 && d[0] == 19 && &d[1..20] == b"BitTorrent protocol" {
        return Some(AppProtocol::BitTorrent);
    }
    if let [l0, l1, msg @ ..] = d
        && u16::from_be_bytes([*l0, *l1]) >= 12
        && looks_like_dns(msg)
    {
        return Some(AppProtocol::Dns);
    }
    if looks_like_openvpn(d, true) {
        return Some(AppProtocol::OpenVpn);
    }
    None
}

fn detect_udp(d: &[u8]) -> Option<AppProtocol> {
    if let [first, v0, v1, v2, v3, dcid_len, rest @ ..] = d
        && first & 0xc0 == 0xc0
        && is_supported_version(u32::from_be_bytes([*v0, *v1, *v2, *v3]))
        && *dcid_len <= 20
        && rest.get(usize::from(*dcid_len)).is_some_and(|&s| s <= 20)
    {
        return Some(AppProtocol::Quic);
    }
    if d.len() >= 13 && d[0] == 22 && matches!((d[1], d[2]), (0xfe, 0xff | 0xfd | 0xfc)) {
        return Some(AppProtocol::Dtls);
    }
    if looks_like_dhcp(d) {
        return Some(AppProtocol::Dhcp);
    }
    if looks_like_netbios_datagram(d) {
        return Some(AppProtocol::Netbios);
    }
    if looks_like_dns(d) {
        return Some(AppProtocol::Dns);
    }
    // HTTP over UDP (SSDP): a datagram holds a whole message, so its first
    // line must be complete.
    if (looks_like_request(d) && memchr::memchr(b'\n', d).is_some()) || looks_like_response(d) {
        return Some(AppProtocol::Http);
    }
    if looks_like_openvpn(d, false) {
        return Some(AppProtocol::OpenVpn);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tls::tests::{PETAL, unhex};

    #[test]
    fn rules() {
        let t = Transport::Tcp;
        let u = Transport::Udp;
        assert_eq!(detect(t, &unhex(PETAL)), Some(AppProtocol::Tls));
        assert_eq!(detect(t, &unhex(PETAL)[..5]), None);
        assert_eq!(
            detect(t, b"\x16\x03\x03\x00\x40\x02"),
            Some(AppProtocol::Tls)
        );
        assert_eq!(detect(t, b"\x17\x03\x03\x00\x40\x02"), None);
        assert_eq!(
            detect(t, b"SSH-2.0-OpenSSH_9.6\r\n"),
            Some(AppProtocol::Ssh)
        );
        assert_eq!(
            detect(t, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some(AppProtocol::Http)
        );
        assert_eq!(detect(t, b"POST /x"), Some(AppProtocol::Http));
        assert_eq!(
            detect(t, b"HTTP/1.0 404 Not Found\r\n"),
            Some(AppProtocol::Http)
        );
        assert_eq!(
            detect(t, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            Some(AppProtocol::Http2)
        );
        assert_eq!(
            detect(t, b"\x13BitTorrent protocol\0\0\0\0\0\0\0\0"),
            Some(AppProtocol::BitTorrent)
        );
        let q = b"\x59\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07tcpdump\x03org\x00\x00\x01\x00\x01";
        let mut tq = (q.len() as u16).to_be_bytes().to_vec();
        tq.extend_from_slice(q);
        assert_eq!(detect(t, &tq), Some(AppProtocol::Dns));
        assert_eq!(detect(u, q), Some(AppProtocol::Dns));
        assert_eq!(detect(t, q), None);
        assert_eq!(
            detect(
                u,
                b"\xc3\x00\x00\x00\x01\x08\x83\x94\xc8\xf0\x3e\x51\x57\x08\x00\x00\x44\x9e"
            ),
            Some(AppProtocol::Quic)
        );
        assert_eq!(
            detect(
                u,
                b"\xd3\x6b\x33\x43\xcf\x08\x83\x94\xc8\xf0\x3e\x51\x57\x08\x00"
            ),
            Some(AppProtocol::Quic)
        );
        assert_eq!(
            detect(
                u,
                b"\xc3\x00\x00\x00\x07\x08\x83\x94\xc8\xf0\x3e\x51\x57\x08\x00"
            ),
            None
        );
        assert_eq!(
            detect(
                u,
                b"\x16\xfe\xfd\x00\x00\x00\x00\x00\x00\x00\x00\x00\x40\x01"
            ),
            Some(AppProtocol::Dtls)
        );
        assert_eq!(
            detect(
                u,
                b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\r\n"
            ),
            Some(AppProtocol::Http)
        );
        assert_eq!(
            detect(u, b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n"),
            Some(AppProtocol::Http)
        );
        // An incomplete request line is not a datagram's whole message.
        assert_eq!(detect(u, b"GET /x"), None);
        assert_eq!(detect(u, b"NOTIFY sip:a@b SIP/2.0\r\n\r\n"), None);
        assert_eq!(detect(u, b""), None);
        assert_eq!(detect(t, b""), None);
        assert_eq!(detect(t, b"220 mail.example.com ESMTP\r\n"), None);
        assert_eq!(AppProtocol::BitTorrent.as_str(), "bittorrent");
        // OpenVPN's client hard reset, over UDP and framed over TCP: the last
        // rule of each (app::openvpn has the rule's cases).
        let reset = b"\x38\x64\xc1\x78\x01\xb8\x9b\xcb\x8f\x00\x00\x00\x00\x00";
        assert_eq!(detect(u, reset), Some(AppProtocol::OpenVpn));
        assert_eq!(detect(t, reset), None);
        let mut framed = (reset.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(reset);
        assert_eq!(detect(t, &framed), Some(AppProtocol::OpenVpn));
        assert_eq!(AppProtocol::OpenVpn.as_str(), "openvpn");
        // On port 53 only, a message the content rule refuses (here: two
        // questions, opcode 15, answers in a query) is DNS when its header
        // and first question decode.
        let odd = b"\x00\x07\x78\x00\x00\x02\x00\x01\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01";
        assert_eq!(detect(u, odd), None);
        assert_eq!(detect_on_ports(u, odd, [2713, 53]), Some(AppProtocol::Dns));
        assert_eq!(detect_on_ports(u, odd, [53, 2713]), Some(AppProtocol::Dns));
        assert_eq!(
            detect_on_ports(u, odd, [5353, 5353]),
            Some(AppProtocol::Dns)
        );
        assert_eq!(detect_on_ports(u, odd, [137, 137]), Some(AppProtocol::Dns));
        assert_eq!(detect_on_ports(u, odd, [5355, 2713]), None);
        let mut framed = (odd.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(odd);
        assert_eq!(
            detect_on_ports(t, &framed, [53, 40000]),
            Some(AppProtocol::Dns)
        );
        assert_eq!(detect_on_ports(t, odd, [53, 40000]), None);
        // Still nothing for what does not decode: a header alone, a name
        // running past the message, a question without its type and class.
        assert_eq!(detect_on_ports(u, &odd[..12], [53, 1]), None);
        assert_eq!(detect_on_ports(u, &odd[..14], [53, 1]), None);
        assert_eq!(detect_on_ports(u, &odd[..17], [53, 1]), None);
        assert_eq!(detect_on_ports(u, &odd[..18], [53, 1]), None);
        assert_eq!(odd.len(), 19);
        // On port 53 only, a header of one question (as the strict rule
        // checks it) is enough: the name after it may be damaged (a label
        // running past the message, an extended label type), as in fuzzed
        // captures. Not on 137 or 5353, nor on other ports; nor with a
        // header the strict rule refuses, nor when the header is cut.
        let damaged = b"\x4c\xd2\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04_sip\x25s\x00";
        assert_eq!(detect(u, damaged), None);
        assert_eq!(detect_on_ports(u, damaged, [5353, 5353]), None);
        assert_eq!(detect_on_ports(u, damaged, [137, 137]), None);
        assert_eq!(detect_on_ports(u, damaged, [2713, 5355]), None);
        assert_eq!(
            detect_on_ports(u, damaged, [2713, 53]),
            Some(AppProtocol::Dns)
        );
        assert_eq!(
            detect_on_ports(u, &damaged[..12], [53, 2713]),
            Some(AppProtocol::Dns)
        );
        assert_eq!(detect_on_ports(u, &damaged[..11], [53, 2713]), None);
        let mut framed = (damaged.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(damaged);
        assert_eq!(
            detect_on_ports(t, &framed, [40000, 53]),
            Some(AppProtocol::Dns)
        );
        // Two questions, or a query announcing answers or authority records
        // (in 0xaa padding), is no header of a message of one question.
        let mut two = damaged.to_vec();
        two[5] = 2;
        assert_eq!(detect_on_ports(u, &two, [2713, 53]), None);
        let mut answers = damaged.to_vec();
        answers[6..12].copy_from_slice(&[0x00, 0x59, 0xaa, 0xaa, 0xaa, 0xaa]);
        assert_eq!(detect_on_ports(u, &answers, [2713, 53]), None);
        // A response may announce answers.
        let mut response = damaged.to_vec();
        response[2] = 0x81;
        response[6..8].copy_from_slice(&[0x00, 0x01]);
        assert_eq!(
            detect_on_ports(u, &response, [53, 2751]),
            Some(AppProtocol::Dns)
        );
        // A content rule still wins on port 53.
        let dhcp = crate::app::dhcp::tests::discover();
        assert_eq!(detect_on_ports(u, &dhcp, [53, 67]), Some(AppProtocol::Dhcp));
        let dhcp = crate::app::dhcp::tests::discover();
        assert_eq!(detect(u, &dhcp), Some(AppProtocol::Dhcp));
        assert_eq!(detect(t, &dhcp), None);
        let nbdgm = crate::app::netbios::tests::broadcast();
        assert_eq!(detect(u, &nbdgm), Some(AppProtocol::Netbios));
        assert_eq!(detect(t, &nbdgm), None);
    }
}
