//! cargo-fuzz target `app_parsers`: arbitrary bytes, cut into segments by the
//! input itself, through every application parser of `flowq_extract::app`.
//!
//! Input: a program of segments. Each segment starts with a control byte:
//! bit 7 = side (client/server), bit 6 = out of order (sequence number moved
//! back or ahead by the next byte), bit 5 = SYN, bits 0-4 + 1 = a length
//! multiplier; then that many bytes (up to what is left) are the payload.
//! Checks: no panic; fingerprints only from complete hellos; every rendered
//! list and string within its documented bound.

#![no_main]

use flowq_extract::app::{
    self, AppFlow, Side, TcpSegment, Transport,
    dhcp::{self, DhcpState},
    netbios::{self, NetbiosState},
    openvpn::{self, OpenVpnState},
    dns::{self, DnsState},
    http::{self, HttpState},
    quic::QuicState,
    ssh::{self, SshState},
    tls::{self, ClientHello, ServerHello, TlsState},
};

fn segments(data: &[u8]) -> Vec<(Side, TcpSegment, &[u8])> {
    let mut out = Vec::new();
    let mut seq = [1000u32, 5000u32];
    let mut rest = data;
    while let [ctrl, tail @ ..] = rest {
        let side = if ctrl & 0x80 != 0 {
            Side::Server
        } else {
            Side::Client
        };
        let syn = ctrl & 0x20 != 0;
        let mut tail = tail;
        let mut s = seq[side.index()];
        if ctrl & 0x40 != 0 {
            if let [shift, t @ ..] = tail {
                s = s.wrapping_add((*shift as i8 as i32 * 7) as u32);
                tail = t;
            }
        }
        let len = (usize::from(ctrl & 0x1f) + 1) * 16;
        let n = len.min(tail.len());
        let (payload, t) = tail.split_at(n);
        rest = t;
        if syn {
            s = s.wrapping_sub(1);
        }
        out.push((side, TcpSegment { seq: s, syn }, payload));
        seq[side.index()] = s.wrapping_add(u32::from(syn)).wrapping_add(n as u32);
    }
    out
}

fn check_tls(s: &tls::TlsSummary) {
    assert!(s.alpn().len() <= tls::MAX_ALPN);
    if let Some(n) = s.server_name() {
        assert!(n.len() <= 4 * tls::MAX_NAME_BYTES);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let segs = segments(data);
    let mut tcp_flow = AppFlow::new(Transport::Tcp);
    let mut udp_flow = AppFlow::new(Transport::Udp);
    // On DNS's port, the lenient DNS rule (`detect_on_ports`).
    let mut dns_port_udp = AppFlow::with_ports(Transport::Udp, [40000, 53]);
    let mut dns_port_tcp = AppFlow::with_ports(Transport::Tcp, [53, 40000]);
    let mut tls_state = TlsState::new();
    let mut quic = QuicState::new();
    let mut dns_udp = DnsState::new();
    let mut dns_tcp = DnsState::new();
    let mut http_state = HttpState::new();
    let mut http_datagrams = HttpState::new();
    let mut ssh_state = SshState::new();
    let mut dhcp_state = DhcpState::new();
    let mut netbios_state = NetbiosState::new();
    let mut openvpn_udp = OpenVpnState::new(false);
    let mut openvpn_tcp = OpenVpnState::new(true);
    // DHCP options behind a valid fixed part and cookie, so that the input
    // exercises the option reader rather than the detection rule.
    let mut dhcp_options = DhcpState::new();
    for &(side, seg, payload) in &segs {
        tcp_flow.feed(side, Some(seg), payload);
        udp_flow.feed(side, None, payload);
        dns_port_udp.feed(side, None, payload);
        dns_port_tcp.feed(side, Some(seg), payload);
        tls_state.feed(side, seg, payload);
        quic.feed(side, payload);
        dns_udp.feed_udp(payload);
        dns_tcp.feed_tcp(side, seg, payload);
        http_state.feed(side, seg, payload);
        http_datagrams.feed_datagram(side, payload);
        ssh_state.feed(side, seg, payload);
        dhcp_state.feed(side, payload);
        netbios_state.feed(side, payload);
        openvpn_udp.feed(side, seg, payload);
        openvpn_tcp.feed(side, seg, payload);
        let _ = (
            openvpn::looks_like_openvpn(payload, false),
            openvpn::looks_like_openvpn(payload, true),
        );
        let _ = netbios::looks_like_netbios_datagram(payload);
        let mut message = vec![0u8; dhcp::OPTIONS_OFFSET];
        message[0] = 1;
        message[236..].copy_from_slice(&dhcp::MAGIC_COOKIE);
        message.extend_from_slice(payload);
        dhcp_options.feed(side, &message);
        let _ = app::detect(Transport::Tcp, payload);
        let _ = app::detect(Transport::Udp, payload);
        let _ = app::detect_on_ports(Transport::Udp, payload, [53, 53]);
        let _ = app::detect_on_ports(Transport::Tcp, payload, [53, 53]);
        let ch = ClientHello::parse(payload);
        if !ch.complete {
            assert!(ch.ja3().is_none() && ch.ja4('t').is_none());
        }
        // Remembered fingerprints are the computed ones.
        assert_eq!(ch.fingerprints('t'), (ch.ja3(), ch.ja4('t')));
        let _ = (ch.ja4_r('q'), ServerHello::parse(payload).map(|s| s.ja3s()));
        let _ = ssh::KexInit::parse(payload);
        let _ = dns::looks_like_dns(payload);
        let _ = (
            http::looks_like_request(payload),
            http::looks_like_response(payload),
        );
    }
    if let Some(ch) = tls_state.client_hello() {
        assert_eq!(ch.complete, ch.ja4('t').is_some());
    }
    check_tls(&tls_state.summary());
    check_tls(&quic.summary().tls);
    check_tls(&openvpn_udp.summary());
    check_tls(&openvpn_tcp.summary());
    for d in [dns_udp.summary(), dns_tcp.summary()] {
        if let Some(answers) = d.answers() {
            assert!(answers.len() <= dns::MAX_ANSWERS);
            assert!(answers.iter().all(|a| a.len() <= dns::MAX_ANSWER_CHARS));
        }
        // A response's header gives its RCODE whatever follows.
        assert!(d.responses == 0 || d.rcode.is_some());
    }
    for h in [http_state.summary(), http_datagrams.summary()] {
        if let Some(u) = h.uri() {
            assert!(u.len() <= 4 * http::MAX_URI_BYTES);
        }
    }
    if let Some(t) = http_state.tunnel_summary() {
        check_tls(&t);
    }
    let s = ssh_state.summary();
    for b in [&s.client, &s.server].into_iter().flatten() {
        assert!(b.len() <= 4 * ssh::MAX_BANNER_BYTES);
    }
    for d in [dhcp_state.summary(), dhcp_options.summary()] {
        if let Some(h) = &d.host_name {
            assert!(h.len() <= 4 * dhcp::MAX_HOST_NAME_BYTES);
        }
        assert!(d.parameter_request_list.as_ref().is_none_or(|l| l.len() <= 255));
    }
    // Every segment is a request behind a valid fixed part.
    assert_eq!(dhcp_options.summary().requests as usize, segs.len());
    let _ = (tcp_flow.summary(), udp_flow.summary(), tcp_flow.is_done());
    for f in [&dns_port_udp, &dns_port_tcp] {
        if let Some(d) = f.summary().dns() {
            assert!(d.answers().is_none_or(|a| a.len() <= dns::MAX_ANSWERS));
        }
    }
    if data.len() >= 38 {
        let v4 = std::net::IpAddr::from([data[0], data[1], data[2], data[3]]);
        let w4 = std::net::IpAddr::from([data[4], data[5], data[6], data[7]]);
        let id = app::community_id_v1(
            u16::from_be_bytes([data[8], data[9]]),
            v4,
            w4,
            data[10],
            u16::from_be_bytes([data[11], data[12]]),
            u16::from_be_bytes([data[13], data[14]]),
            app::CommunityIdEncoding::Base64,
        )
        .unwrap();
        assert_eq!(id.len(), 30);
    }
});
