//! Cells of the application-metadata columns, read from the flow's sealed
//! [`AppSummary`], and NFStream's dissection columns. Definitions:
//! docs/features.md, "Application metadata".

use super::chunk::Chunk;
use super::ndpi_name;
use super::schema::AppColumn;
use crate::app::dhcp::DhcpSummary;
use crate::app::dns::{DnsSummary, is_netbios_name};
use crate::app::http::HttpSummary;
use crate::app::ssh::SshSummary;
use crate::app::tls::TlsSummary;
use crate::app::{AppProtocol, AppSummary, CommunityIdEncoding, write_community_id_v1};
use crate::features::RowFeatures;
use crate::flow::FinishedFlow;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

/// The flow's rendered metadata, if it carried a payload the parsers saw.
#[inline]
fn meta<F: RowFeatures>(flow: &FinishedFlow<F>) -> Option<&AppSummary> {
    flow.features.standard().app.summary()
}

/// TLS metadata, over TCP or carried by QUIC.
#[inline]
fn tls<F: RowFeatures>(f: &FinishedFlow<F>) -> Option<&TlsSummary> {
    let m = meta(f)?;
    m.tls().or(m.quic().map(|q| &q.tls))
}

/// TLS metadata as nDPI has it: none for an OpenVPN flow, whose control
/// channel's TLS handshake nDPI does not read (it names the flow OpenVPN
/// and stops), so the nfstream profile's columns leave it out as NFStream
/// does; the standard profile's TLS columns have it.
#[inline]
fn ndpi_tls<F: RowFeatures>(f: &FinishedFlow<F>) -> Option<&TlsSummary> {
    match meta(f)?.protocol {
        Some(AppProtocol::OpenVpn) => None,
        _ => tls(f),
    }
}

/// The ServerHello nDPI fingerprints (JA3S): that of TLS over TCP only.
/// nDPI decrypts a QUIC client's Initial but not the server's, so NFStream's
/// `server_fingerprint` of a QUIC flow is always empty (none of the 28 QUIC
/// flows of the corpus's NFStream output has one); the nfstream profile's
/// column leaves it empty too, as for OpenVPN. The standard profile's `ja3s`
/// has the QUIC server's.
#[inline]
fn ndpi_server_hello<F: RowFeatures>(f: &FinishedFlow<F>) -> Option<&TlsSummary> {
    let m = meta(f)?;
    match m.protocol {
        Some(AppProtocol::OpenVpn) => None,
        _ => m.tls(),
    }
}

#[inline]
fn dns<F: RowFeatures>(f: &FinishedFlow<F>) -> Option<&DnsSummary> {
    meta(f)?.dns()
}

#[inline]
fn http<F: RowFeatures>(f: &FinishedFlow<F>) -> Option<&HttpSummary> {
    meta(f)?.http()
}

#[inline]
fn dhcp<F: RowFeatures>(f: &FinishedFlow<F>) -> Option<&DhcpSummary> {
    meta(f)?.dhcp()
}

#[inline]
fn ssh<F: RowFeatures>(f: &FinishedFlow<F>) -> Option<&SshSummary> {
    meta(f)?.ssh()
}

/// Fills an application column for the chunk's flows.
pub(super) fn fill<F: RowFeatures>(column: AppColumn, chunk: &mut Chunk<'_, F>, seed: u16) {
    use AppColumn as A;
    match column {
        A::CommunityId => chunk.opt_texts(|f, buf| community_id(f, seed, buf)),
        A::AppProtocol => chunk.opt_texts(|f, _| meta(f)?.protocol.map(AppProtocol::as_str)),
        A::ServerName => chunk.opt_texts(|f, _| meta(f)?.server_name()),
        A::TlsVersion => chunk.opt_texts(|f, buf| {
            let v = tls(f)?.version?;
            Some(match crate::app::tls::tls_version_name(v) {
                Some(name) => name,
                None => hex_u16(buf, v),
            })
        }),
        A::TlsAlpn => chunk.opt_text_items(|f| {
            // Null unless a ClientHello was read (an empty list: it offered none).
            let t = tls(f)?;
            t.ja3().is_some().then(|| t.alpn())
        }),
        A::TlsCipher => chunk.opt_ints(|f| tls(f)?.cipher.map(i64::from)),
        A::Ja3 => chunk.opt_texts(|f, _| tls(f)?.ja3()),
        A::Ja3s => chunk.opt_texts(|f, _| tls(f)?.ja3s()),
        A::Ja4 => chunk.opt_texts(|f, _| tls(f)?.ja4()),
        A::QuicVersion => chunk.opt_texts(|f, buf| {
            let v = meta(f)?.quic()?.version?;
            buf.clear();
            buf.push_str(&crate::app::quic::quic_version_name(v));
            Some(buf.as_str())
        }),
        A::DnsQuery => chunk.opt_texts(|f, _| dns(f)?.query()),
        A::DnsQtype => chunk.opt_texts(|f, buf| {
            let t = dns(f)?.qtype?;
            Some(match crate::app::dns::dns_type_name(t) {
                Some(name) => name,
                None => numbered(buf, "TYPE", t),
            })
        }),
        A::DnsRcode => chunk.opt_texts(|f, buf| {
            let r = dns(f)?.rcode?;
            Some(match crate::app::dns::dns_rcode_name(r) {
                Some(name) => name,
                None => numbered(buf, "RCODE", r),
            })
        }),
        A::DnsAnswers => chunk.opt_text_items(|f| dns(f)?.answers()),
        A::DnsTransactions => chunk.opt_ints(|f| dns(f).map(|d| i64::from(d.transactions()))),
        A::HttpMethod => chunk.opt_texts(|f, _| http(f)?.method()),
        A::HttpUri => chunk.opt_texts(|f, _| http(f)?.uri()),
        A::HttpUserAgent => chunk.opt_texts(|f, _| http(f)?.user_agent()),
        A::HttpStatus => chunk.opt_ints(|f| http(f)?.status.map(i64::from)),
        A::HttpContentType => chunk.opt_texts(|f, _| http(f)?.content_type()),
        A::HttpRequests => chunk.opt_ints(|f| http(f).map(|h| i64::from(h.requests))),
        A::SshClient => chunk.opt_texts(|f, _| ssh(f)?.client.as_deref()),
        A::SshServer => chunk.opt_texts(|f, _| ssh(f)?.server.as_deref()),
        A::Hassh => chunk.opt_texts(|f, _| ssh(f)?.hassh.as_deref()),
        A::HasshServer => chunk.opt_texts(|f, _| ssh(f)?.hassh_server.as_deref()),
        A::NfApplicationName => chunk.texts(|f, _| ndpi_application(f).0),
        A::NfApplicationCategoryName => chunk.texts(|f, _| ndpi_application(f).1),
        A::NfApplicationIsGuessed => chunk.ints(|_| 0),
        A::NfApplicationConfidence => chunk.ints(|f| {
            if ndpi_application(f).0 == UNKNOWN.0 {
                0
            } else {
                6
            }
        }),
        A::NfRequestedServerName => chunk.opt_texts(|f, buf| Some(ndpi_server_name(f, buf))),
        // NFStream prints HASSH in uppercase, and a DHCP client's parameter
        // request list as nDPI writes it.
        A::NfClientFingerprint => chunk.opt_texts(|f, buf| {
            Some(match (ssh(f), dhcp(f)) {
                (Some(s), _) => upper(buf, s.hassh.as_deref()),
                (None, Some(d)) => {
                    buf.clear();
                    if let Some(codes) = &d.parameter_request_list {
                        ndpi_name::dhcp_fingerprint(codes, buf);
                    }
                    buf
                }
                (None, None) => ndpi_tls(f).and_then(TlsSummary::ja4).unwrap_or(""),
            })
        }),
        A::NfServerFingerprint => chunk.opt_texts(|f, buf| {
            Some(match ssh(f) {
                Some(s) => upper(buf, s.hassh_server.as_deref()),
                None => ndpi_server_hello(f)
                    .and_then(TlsSummary::ja3s)
                    .unwrap_or(""),
            })
        }),
        A::NfUserAgent => chunk.opt_texts(|f, buf| {
            let value = http(f).and_then(|h| h.user_agent());
            Some(nfstream_text(
                value.unwrap_or(""),
                NFSTREAM_USER_AGENT_SIZE,
                buf,
            ))
        }),
        // NFStream's (nDPI's) content type is the media type alone, without
        // the header's parameters (`text/html`, not `text/html; charset=UTF-8`).
        A::NfContentType => chunk.opt_texts(|f, buf| {
            let value = http(f)
                .and_then(|h| h.content_type())
                .and_then(|value| value.split(';').next())
                .map_or("", str::trim);
            Some(nfstream_text(value, NFSTREAM_CONTENT_TYPE_SIZE, buf))
        }),
    }
}

/// The sizes of NFStream's `user_agent` and `content_type` buffers
/// (`nf_flow` in its `engine/lib_engine.c`).
const NFSTREAM_USER_AGENT_SIZE: usize = 256;
const NFSTREAM_CONTENT_TYPE_SIZE: usize = 64;

/// A header value flowq rendered (`app::escape_bytes`), as NFStream gives it
/// ([`ndpi_name::c_string_utf8`]). A value without an escape is printable
/// ASCII: only the bound applies, without copying.
fn nfstream_text<'s>(rendered: &'s str, size: usize, buf: &'s mut String) -> &'s str {
    if !rendered.contains('\\') {
        return &rendered[..rendered.len().min(size - 1)];
    }
    let mut bytes = Vec::new();
    ndpi_name::unescape(rendered, &mut bytes);
    buf.clear();
    ndpi_name::c_string_utf8(&bytes, size, buf);
    buf
}

/// NFStream's `requested_server_name`: the name `server_name` holds, as
/// nDPI renders it (`ndpi_name`: lowercased, bytes outside printable ASCII
/// as `?` …), where nDPI reads one: DNS names only on the DNS ports (53
/// either side, mDNS's 5353 either side, LLMNR's 5355 as destination),
/// NetBIOS names of name service messages sent to port 137 and the source
/// name of datagrams sent to port 138; a DHCP client's host name. Empty for
/// none.
fn ndpi_server_name<'s, F: RowFeatures>(f: &FinishedFlow<F>, buf: &'s mut String) -> &'s str {
    buf.clear();
    let Some(m) = meta(f) else {
        return buf;
    };
    let mut bytes = Vec::new();
    let name = |rendered: Option<&str>, bytes: &mut Vec<u8>| {
        rendered.map(|r| ndpi_name::unescape(r, bytes)).is_some()
    };
    // The same protocol order as `AppSummary::server_name`.
    if let Some(h) = m.http() {
        if name(h.host(), &mut bytes) {
            ndpi_name::http_host(&bytes, buf);
        }
    } else if let Some(t) = m.tls().or(m.quic().map(|q| &q.tls)) {
        if m.protocol != Some(AppProtocol::OpenVpn) && name(t.server_name(), &mut bytes) {
            ndpi_name::normalize_all(&bytes, buf);
        }
    } else if let Some(n) = m.netbios() {
        // nDPI reads the source name of a datagram sent to port 138 over
        // IPv4 whose header gives the packet's source address.
        let (s, t) = f.endpoint_indices();
        let from_itself =
            f.key.ip_version == 4 && n.source_ip.is_some_and(|ip| f.key.addr[s][..4] == ip);
        if f.key.port[t] == 138 && from_itself && name(n.source_label.as_deref(), &mut bytes) {
            ndpi_name::netbios_name(&bytes, buf);
        }
    } else if let Some(d) = m.dhcp() {
        // nDPI's name of a DHCP flow is the client's host name (option 12).
        if name(d.host_name.as_deref(), &mut bytes) {
            ndpi_name::normalize_all(&bytes, buf);
        }
    } else if let Some(d) = m.dns()
        // nDPI reads the name after the header: the first question's, or
        // in a message without one (an mDNS announcement) the first
        // record's.
        && name(d.query().or(d.record_name()), &mut bytes)
    {
        let (s, t) = f.endpoint_indices();
        let (sport, dport) = (f.key.port[s], f.key.port[t]);
        let on = |p: u16| sport == p || dport == p;
        if f.key.protocol == 17 && dport == 137 {
            let label = bytes.split(|&b| b == b'.').next().unwrap_or_default();
            ndpi_name::netbios_name(label, buf);
        } else if on(5353) {
            ndpi_name::mdns_name(&bytes, buf);
        } else if on(53) || dport == 5355 {
            ndpi_name::dns_name(&bytes, buf);
        }
    }
    buf
}

/// `text` in uppercase, written into `buf` ("" for none).
fn upper<'s>(buf: &'s mut String, text: Option<&str>) -> &'s str {
    buf.clear();
    buf.extend(
        text.unwrap_or_default()
            .chars()
            .map(|c| c.to_ascii_uppercase()),
    );
    buf
}

fn hex_u16(buf: &mut String, v: u16) -> &str {
    buf.clear();
    let _ = write!(buf, "0x{v:04x}");
    buf
}

fn numbered<'s>(buf: &'s mut String, prefix: &str, v: u16) -> &'s str {
    buf.clear();
    let _ = write!(buf, "{prefix}{v}");
    buf
}

/// The Community ID of the flow's key; ICMP and ICMPv6 flows use the type
/// and code of their first packet (null when it was not captured).
fn community_id<'s, F: RowFeatures>(
    f: &FinishedFlow<F>,
    seed: u16,
    buf: &'s mut String,
) -> Option<&'s str> {
    let key = &f.key;
    let addr = |i: usize| -> IpAddr {
        let a = key.addr[i];
        if key.ip_version == 4 {
            IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
        } else {
            IpAddr::V6(Ipv6Addr::from(a))
        }
    };
    let (src, dst) = f.endpoint_indices();
    let (from, to, src_port, dst_port) = match key.protocol {
        ICMP | ICMPV6 => {
            let ([ty, code], backward) = f.features.standard().app.icmp()?;
            let (from, to) = if backward { (dst, src) } else { (src, dst) };
            (from, to, u16::from(ty), u16::from(code))
        }
        _ => (src, dst, key.port[src], key.port[dst]),
    };
    buf.clear();
    write_community_id_v1(
        buf,
        seed,
        addr(from),
        addr(to),
        key.protocol,
        src_port,
        dst_port,
        CommunityIdEncoding::Base64,
    )
    .then_some(buf.as_str())
}

/// nDPI's name and category for a flow whose protocol flowq knows.
const UNKNOWN: (&str, &str) = ("Unknown", "Unspecified");

/// nDPI's application name and category of the flow: the protocol flowq
/// detected from the payload (DNS on the mDNS and LLMNR ports named as nDPI
/// names them), else the IP protocols nDPI names by number, else Unknown.
fn ndpi_application<F: RowFeatures>(f: &FinishedFlow<F>) -> (&'static str, &'static str) {
    let ports = f.key.port;
    let on_port = |p: u16| ports.contains(&p);
    match meta(f).and_then(|m| m.protocol) {
        Some(AppProtocol::Tls) => ("TLS", "Web"),
        Some(AppProtocol::Quic) => ("QUIC", "Web"),
        // A NetBIOS name service query, or a response without a question
        // whose record names a NetBIOS name.
        Some(AppProtocol::Dns)
            if dns(f).is_some_and(|d| {
                d.netbios_name().is_some() || d.record_name().is_some_and(is_netbios_name)
            }) =>
        {
            ("NetBIOS", "System")
        }
        Some(AppProtocol::Dns) if on_port(5353) => ("MDNS", "Network"),
        Some(AppProtocol::Dns) if on_port(5355) => ("LLMNR", "Network"),
        Some(AppProtocol::Dns) => ("DNS", "Network"),
        // HTTP over UDP is SSDP (UPnP discovery) to nDPI.
        Some(AppProtocol::Http) if f.key.protocol == 17 => ("SSDP", "System"),
        Some(AppProtocol::Http) => ("HTTP", "Web"),
        Some(AppProtocol::Http2) => ("HTTP2", "Web"),
        Some(AppProtocol::Ssh) => ("SSH", "RemoteAccess"),
        Some(AppProtocol::Dtls) => ("DTLS", "Web"),
        Some(AppProtocol::BitTorrent) => ("BitTorrent", "Download"),
        Some(AppProtocol::Dhcp) => ("DHCP", "Network"),
        Some(AppProtocol::Netbios) => ("NetBIOS", "System"),
        Some(AppProtocol::OpenVpn) => ("OpenVPN", "VPN"),
        None => match f.key.protocol {
            1 => ("ICMP", "Network"),
            2 => ("IGMP", "Network"),
            47 => ("GRE", "Network"),
            50 => ("ESP", "VPN"),
            51 => ("AH", "VPN"),
            58 => ("ICMPV6", "Network"),
            103 => ("IP_PIM", "Network"),
            132 => ("SCTP", "Network"),
            _ => UNKNOWN,
        },
    }
}
