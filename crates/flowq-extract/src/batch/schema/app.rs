//! The application-metadata columns (the `app` group of the `standard` and
//! `full` profiles) and NFStream's dissection columns (`nfstream --dissect`).
//! Definitions: docs/features.md, "Application metadata".

use super::{Column, ColumnDef, Kind, nullable};

/// An application-metadata column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AppColumn {
    CommunityId,
    AppProtocol,
    ServerName,
    TlsVersion,
    TlsAlpn,
    TlsCipher,
    Ja3,
    Ja3s,
    Ja4,
    QuicVersion,
    DnsQuery,
    DnsQtype,
    DnsRcode,
    DnsAnswers,
    DnsTransactions,
    HttpMethod,
    HttpUri,
    HttpUserAgent,
    HttpStatus,
    HttpContentType,
    HttpRequests,
    SshClient,
    SshServer,
    Hassh,
    HasshServer,
    // NFStream's dissection columns (`nfstream --dissect`).
    NfApplicationName,
    NfApplicationCategoryName,
    NfApplicationIsGuessed,
    NfApplicationConfidence,
    NfRequestedServerName,
    NfClientFingerprint,
    NfServerFingerprint,
    NfUserAgent,
    NfContentType,
}

/// The application-metadata columns of the `standard` and `full` profiles, in
/// order (left out with `--no-app`).
pub const APP_COLUMNS: &[Column] = &[
    Column::App(AppColumn::CommunityId),
    Column::App(AppColumn::AppProtocol),
    Column::App(AppColumn::ServerName),
    Column::App(AppColumn::TlsVersion),
    Column::App(AppColumn::TlsAlpn),
    Column::App(AppColumn::TlsCipher),
    Column::App(AppColumn::Ja3),
    Column::App(AppColumn::Ja3s),
    Column::App(AppColumn::Ja4),
    Column::App(AppColumn::QuicVersion),
    Column::App(AppColumn::DnsQuery),
    Column::App(AppColumn::DnsQtype),
    Column::App(AppColumn::DnsRcode),
    Column::App(AppColumn::DnsAnswers),
    Column::App(AppColumn::DnsTransactions),
    Column::App(AppColumn::HttpMethod),
    Column::App(AppColumn::HttpUri),
    Column::App(AppColumn::HttpUserAgent),
    Column::App(AppColumn::HttpStatus),
    Column::App(AppColumn::HttpContentType),
    Column::App(AppColumn::HttpRequests),
    Column::App(AppColumn::SshClient),
    Column::App(AppColumn::SshServer),
    Column::App(AppColumn::Hassh),
    Column::App(AppColumn::HasshServer),
];

/// NFStream 6.6's dissection columns, in its order, appended to the
/// `nfstream` profile's columns by `--dissect`.
pub fn nfstream_dissect_columns() -> &'static [Column] {
    &[
        Column::App(AppColumn::NfApplicationName),
        Column::App(AppColumn::NfApplicationCategoryName),
        Column::App(AppColumn::NfApplicationIsGuessed),
        Column::App(AppColumn::NfApplicationConfidence),
        Column::App(AppColumn::NfRequestedServerName),
        Column::App(AppColumn::NfClientFingerprint),
        Column::App(AppColumn::NfServerFingerprint),
        Column::App(AppColumn::NfUserAgent),
        Column::App(AppColumn::NfContentType),
    ]
}

impl AppColumn {
    pub(super) fn def(self) -> ColumnDef {
        use Kind::*;
        let col = |name: &str, kind: Kind, doc: &str| nullable(name.into(), kind, doc.into());
        let fixed = |name: &str, kind: Kind, doc: &str| ColumnDef {
            nullable: false,
            ..col(name, kind, doc)
        };
        match self {
            AppColumn::CommunityId => col(
                "community_id",
                Text,
                "Community ID v1 of the flow's endpoints (1:base64 of SHA-1; --community-id-seed)",
            ),
            AppColumn::AppProtocol => col(
                "app_protocol",
                Text,
                "application protocol detected from the payload: tls, quic, dns, http, http2, ssh, dtls, bittorrent, dhcp, netbios, openvpn",
            ),
            AppColumn::ServerName => col(
                "server_name",
                Text,
                "name the client asked for: TLS/QUIC SNI, HTTP Host without port, DNS query name",
            ),
            AppColumn::TlsVersion => col(
                "tls_version",
                Text,
                "TLS version the server chose (TLSv1.2, TLSv1.3, ...)",
            ),
            AppColumn::TlsAlpn => col(
                "tls_alpn",
                ListText,
                "ALPN protocols the client offered, in its order (TLS and QUIC)",
            ),
            AppColumn::TlsCipher => col(
                "tls_cipher",
                I32,
                "cipher suite the server chose (IANA number, e.g. 4865 = 0x1301)",
            ),
            AppColumn::Ja3 => col("ja3", Text, "JA3 of the ClientHello (MD5, 32 hex digits)"),
            AppColumn::Ja3s => col("ja3s", Text, "JA3S of the ServerHello (MD5, 32 hex digits)"),
            AppColumn::Ja4 => col(
                "ja4",
                Text,
                "JA4 of the ClientHello (t prefix for TLS over TCP, q for QUIC)",
            ),
            AppColumn::QuicVersion => col(
                "quic_version",
                Text,
                "QUIC version of the first Initial: v1, v2, draft-NN or 0x hex",
            ),
            AppColumn::DnsQuery => col("dns_query", Text, "first query name of the flow"),
            AppColumn::DnsQtype => col(
                "dns_qtype",
                Text,
                "its query type: A, AAAA, ... or TYPEn (RFC 3597)",
            ),
            AppColumn::DnsRcode => col(
                "dns_rcode",
                Text,
                "response code of the first response: NOERROR, NXDOMAIN, ... or RCODEn",
            ),
            AppColumn::DnsAnswers => col(
                "dns_answers",
                ListText,
                "answers of the first response, rendered (at most 16)",
            ),
            AppColumn::DnsTransactions => col(
                "dns_transactions",
                I32,
                "DNS queries of the flow (responses when no query was seen)",
            ),
            AppColumn::HttpMethod => col("http_method", Text, "method of the first HTTP request"),
            AppColumn::HttpUri => col(
                "http_uri",
                Text,
                "request target of the first HTTP request, whole (within the 8 KiB head bound)",
            ),
            AppColumn::HttpUserAgent => col(
                "http_user_agent",
                Text,
                "User-Agent of the first HTTP request",
            ),
            AppColumn::HttpStatus => {
                col("http_status", I16, "status code of the first HTTP response")
            }
            AppColumn::HttpContentType => col(
                "http_content_type",
                Text,
                "Content-Type of the first HTTP response",
            ),
            AppColumn::HttpRequests => col("http_requests", I32, "HTTP requests of the flow"),
            AppColumn::SshClient => col("ssh_client", Text, "client's SSH banner"),
            AppColumn::SshServer => col("ssh_server", Text, "server's SSH banner"),
            AppColumn::Hassh => col("hassh", Text, "HASSH of the client's KEXINIT (MD5)"),
            AppColumn::HasshServer => {
                col("hassh_server", Text, "HASSH of the server's KEXINIT (MD5)")
            }
            AppColumn::NfApplicationName => fixed(
                "application_name",
                Text,
                "nDPI's name of the detected protocol: TLS, QUIC, DNS, MDNS, LLMNR, HTTP, SSH, DHCP, ... or Unknown",
            ),
            AppColumn::NfApplicationCategoryName => fixed(
                "application_category_name",
                Text,
                "nDPI category of application_name: Web, Network, RemoteAccess, ... or Unspecified",
            ),
            AppColumn::NfApplicationIsGuessed => fixed(
                "application_is_guessed",
                I8,
                "nDPI's guessed-by-port flag: always 0 (flowq does not guess by port)",
            ),
            AppColumn::NfApplicationConfidence => fixed(
                "application_confidence",
                I8,
                "nDPI confidence: 6 (DPI) when application_name is known, 0 for Unknown",
            ),
            AppColumn::NfRequestedServerName => fixed(
                "requested_server_name",
                Text,
                "server_name as nDPI renders it (lowercased, non-printable bytes as ?), empty when none",
            ),
            AppColumn::NfClientFingerprint => fixed(
                "client_fingerprint",
                Text,
                "JA4 for TLS and QUIC, HASSH (uppercase) for SSH, DHCP parameter request list, empty otherwise",
            ),
            AppColumn::NfServerFingerprint => fixed(
                "server_fingerprint",
                Text,
                "JA3S for TLS and QUIC, HASSH-server (uppercase) for SSH, empty otherwise",
            ),
            AppColumn::NfUserAgent => fixed(
                "user_agent",
                Text,
                "User-Agent of the first HTTP request, empty when none",
            ),
            AppColumn::NfContentType => fixed(
                "content_type",
                Text,
                "Content-Type of the first HTTP response, empty when none",
            ),
        }
    }
}
