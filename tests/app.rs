//! The application-metadata columns (docs/features.md, "Application
//! metadata"), end to end: captures built here with the hard cases of issue
//! 17, run through `flowq extract`, read back from Parquet.
//!
//! Expected values come from the specifications' vectors (the Community ID
//! baselines, the JA3/JA4 raw-bytes ClientHello and RFC 9001 Appendix A of
//! `../shared/reference/app-metadata.md`, transcribed below) or are worked out
//! by hand in the comments (JA3S strings hashed with Python's `hashlib.md5`),
//! never from flowq's own output.

use crate::util::capture::{Pkt, T0_US, eth, flags::*, ip4_udp, write_pcap};
use crate::util::flowq;
use crate::util::rows::{Out, Row, Val, extract_to, extract_with_stats, read_parquet};
use etherparse::{PacketBuilder, TcpHeader};

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/// An Ethernet/IPv4/TCP frame with sequence number `seq` (ack 1, window 64 000).
fn tcp(from: ([u8; 4], u16), to: ([u8; 4], u16), flags: u8, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = TcpHeader::new(from.1, to.1, seq, 64_000);
    h.syn = flags & SYN != 0;
    h.ack = flags & ACK != 0;
    h.psh = flags & PSH != 0;
    h.fin = flags & FIN != 0;
    if h.ack {
        h.acknowledgment_number = 1;
    }
    let mut out = Vec::new();
    PacketBuilder::ipv4(from.0, to.0, 64)
        .tcp_header(h)
        .write(&mut out, payload)
        .unwrap();
    eth(&out)
}

fn udp(from: ([u8; 4], u16), to: ([u8; 4], u16), payload: &[u8]) -> Vec<u8> {
    eth(&ip4_udp(from, to, payload))
}

/// Packets 1 ms apart from T0, in the given order.
fn timed(frames: Vec<Vec<u8>>) -> Vec<Pkt> {
    (frames.into_iter().enumerate())
        .map(|(i, f)| Pkt::new(T0_US + 1_000 * i as i64, f))
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn run(packets: &[Pkt], args: &[&str]) -> Out {
    let (_dir, output) = extract_to(packets, false, "out.parquet", args);
    read_parquet(&output)
}

fn s(v: &str) -> Val {
    Val::S(v.to_string())
}

fn list(items: &[&str]) -> Val {
    Val::L(items.iter().map(|i| s(i)).collect())
}

#[track_caller]
fn expect(row: &Row, cells: &[(&str, Val)]) {
    for (column, want) in cells {
        assert_eq!(row.get(*column), Some(want), "{column} in {row:#?}");
    }
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

/// The raw-bytes ClientHello record of the reference note §2.3 (from the
/// ja3-rustls crate docs): SNI www.petalsearch.com, no ALPN, supported
/// versions 0x0304 and 0x0303; JA3 a94fc115… (tshark 4.0.17), JA4
/// t13d101100_61a7ad8aa9b6_dc02626b439c (FoxIO ja4.py).
const PETAL: &str = "
16030100f5010000f10303ad8e0c8dfe3adbc045e51aee4cb9480c02d5da4a240f95e8282a1f51be34901a20
681af80b44c4b359adb3f9543a966e07e6ba6bed551472a62cd4b107cbd40e830014130213011303c02cc02b
cca9c030c02fcca800ff01000094002b00050403040303000b00020100000a00080006001d00170018000d00
140012050304030807080608050804060105010401001700000005000501000000000000001800160000137777
772e706574616c7365617263682e636f6d00120000003300260024001d0020086fffef5fa7f04fb7d788615b
c425820eba366ddb5f75c7d8336a0a05722d38002d0002010100230000";
const PETAL_JA3: &str = "a94fc11547bcef10847672ff518b3fb9";
const PETAL_JA4: &str = "t13d101100_61a7ad8aa9b6_dc02626b439c";

/// The same ClientHello with GREASE values added (by hand, lengths fixed):
/// cipher 0x0a0a first, extension 0x1a1a (empty) first and 0x4a4a (1 byte)
/// last, group 0x2a2a first, supported version 0x3a3a first. JA3 and JA4
/// remove GREASE, so both fingerprints are PETAL's.
const PETAL_GREASE: &str = "
1603010104010001000303ad8e0c8dfe3adbc045e51aee4cb9480c02d5da4a240f95e8282a1f51be34901a20681af80b
44c4b359adb3f9543a966e07e6ba6bed551472a62cd4b107cbd40e8300160a0a130213011303c02cc02bcca9c030c02f
cca800ff010000a11a1a0000002b0007063a3a03040303000b00020100000a000a00082a2a001d00170018000d001400
12050304030807080608050804060105010401001700000005000501000000000000001800160000137777772e706574
616c7365617263682e636f6d00120000003300260024001d0020086fffef5fa7f04fb7d788615bc425820eba366ddb5f
75c7d8336a0a05722d38002d00020101002300004a4a000100";

/// The random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: &str = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c";

/// A TLS handshake record (content type 22, record version 0x0303) holding one
/// ServerHello: legacy_version 0x0303, `random`, empty session id, `cipher`,
/// null compression, `extensions` (type, data).
fn server_hello(random: &[u8], cipher: u16, extensions: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(random);
    body.push(0);
    body.extend_from_slice(&cipher.to_be_bytes());
    body.push(0);
    let mut ext = Vec::new();
    for (ty, data) in extensions {
        ext.extend_from_slice(&ty.to_be_bytes());
        ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
        ext.extend_from_slice(data);
    }
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![2];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 3];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// A key_share extension's data with one x25519 share of 32 bytes (server form).
fn key_share() -> Vec<u8> {
    let mut d = vec![0x00, 0x1d, 0x00, 0x20];
    d.extend_from_slice(&[7; 32]);
    d
}

const C: ([u8; 4], u16) = (CLIENT, 40_000);
const S: ([u8; 4], u16) = (SERVER, 443);

/// SYN (seq 1000), SYN+ACK (seq 5000), ACK: the client's data starts at 1001,
/// the server's at 5001.
fn handshake() -> Vec<Vec<u8>> {
    vec![
        tcp(C, S, SYN, 1000, b""),
        tcp(S, C, SYN | ACK, 5000, b""),
        tcp(C, S, ACK, 1001, b""),
    ]
}

/// The PETAL ClientHello (250 bytes) in three segments of 100, 100 and 50
/// bytes, sent third, first, first again (a retransmission), then second; the
/// reassembled hello gives the reference fingerprints. A TLS 1.3 ServerHello
/// answers: supported_versions 0x0304, key_share; JA3S string
/// `771,4865,43-51` → md5 f4febc55ea12b31ae17cfb7e614afda8.
#[test]
fn client_hello_in_three_segments_out_of_order_and_retransmitted() {
    let hello = unhex(PETAL);
    assert_eq!(hello.len(), 250);
    let seg = |from: usize, to: usize| tcp(C, S, ACK | PSH, 1001 + from as u32, &hello[from..to]);
    let mut frames = handshake();
    frames.extend([seg(200, 250), seg(0, 100), seg(0, 100), seg(100, 200)]);
    let sh = server_hello(&[1; 32], 0x1301, &[(43, &[3, 4]), (51, &key_share())]);
    frames.push(tcp(S, C, ACK | PSH, 5001, &sh));
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("app_protocol", s("tls")),
            ("server_name", s("www.petalsearch.com")),
            ("ja3", s(PETAL_JA3)),
            ("ja4", s(PETAL_JA4)),
            ("tls_alpn", list(&[])),
            ("tls_version", s("TLSv1.3")),
            ("tls_cipher", Val::I(0x1301)),
            ("ja3s", s("f4febc55ea12b31ae17cfb7e614afda8")),
            ("quic_version", Val::Null),
            ("dns_query", Val::Null),
            ("http_requests", Val::Null),
            ("dns_transactions", Val::Null),
        ],
    );
}

/// OpenVPN's control channel (docs/app-metadata.md, "OpenVPN"), packets
/// written by hand from OpenVPN's format: a control packet is its opcode
/// and key id, the 8-byte session id, an ack count (and the acked ids and
/// the peer's session id), its message packet id and payload. The PETAL
/// ClientHello is cut over three P_CONTROL_V1 messages (ids 1-3), the
/// second sent first and the first sent twice, with an ack between; the
/// server's ServerHello (the TLS 1.3 one of the test above: JA3S
/// f4febc55…) in one message. Over UDP and over TCP (each packet after
/// its 2-byte length; the client's packets in one segment, then cut in
/// two segments inside a packet), the flow is `openvpn` with the reference
/// fingerprints; the nfstream profile leaves them empty, as nDPI does.
#[test]
fn openvpn_control_channel_over_udp_and_tcp() {
    const CLIENT_SID: [u8; 8] = [0x50, 0x7a, 0x28, 0xa7, 0x82, 0x75, 0x78, 0x8d];
    const SERVER_SID: [u8; 8] = [0x9a, 0xd7, 0x47, 0xbe, 0xb2, 0x4d, 0x8a, 0x1b];
    let control =
        |opcode: u8, sid: [u8; 8], acks: &[u32], peer: [u8; 8], id: Option<u32>, payload: &[u8]| {
            let mut p = vec![opcode << 3];
            p.extend_from_slice(&sid);
            p.push(acks.len() as u8);
            for a in acks {
                p.extend_from_slice(&a.to_be_bytes());
            }
            if !acks.is_empty() {
                p.extend_from_slice(&peer);
            }
            if let Some(id) = id {
                p.extend_from_slice(&id.to_be_bytes());
            }
            p.extend_from_slice(payload);
            p
        };
    let hello = unhex(PETAL);
    let sh = server_hello(&[1; 32], 0x1301, &[(43, &[3, 4]), (51, &key_share())]);
    let client_msg = |k: usize| {
        control(
            4,
            CLIENT_SID,
            &[],
            SERVER_SID,
            Some(k as u32 + 1),
            &hello[k * 100..(k * 100 + 100).min(250)],
        )
    };
    let client_packets = [
        control(7, CLIENT_SID, &[], SERVER_SID, Some(0), &[]),
        client_msg(1),
        control(5, CLIENT_SID, &[0], SERVER_SID, None, &[]),
        client_msg(0),
        client_msg(0),
        client_msg(2),
    ];
    let server_packets = [
        control(8, SERVER_SID, &[0], CLIENT_SID, Some(0), &[]),
        control(4, SERVER_SID, &[1, 2, 3], CLIENT_SID, Some(1), &sh),
    ];
    assert_eq!((client_packets[0].len(), server_packets[0].len()), (14, 26));
    let want = [
        ("app_protocol", s("openvpn")),
        ("server_name", s("www.petalsearch.com")),
        ("ja3", s(PETAL_JA3)),
        ("ja4", s(PETAL_JA4)),
        ("tls_version", s("TLSv1.3")),
        ("tls_cipher", Val::I(0x1301)),
        ("ja3s", s("f4febc55ea12b31ae17cfb7e614afda8")),
    ];
    // UDP: one packet per datagram; the server's reset after the client's.
    let uc = (CLIENT, 51_146);
    let us = (SERVER, 1194);
    let mut frames = vec![
        udp(uc, us, &client_packets[0]),
        udp(us, uc, &server_packets[0]),
    ];
    frames.extend(client_packets[1..].iter().map(|p| udp(uc, us, p)));
    frames.push(udp(us, uc, &server_packets[1]));
    let out = run(&timed(frames.clone()), &[]);
    expect(out.only(), &want);
    let nf = run(&timed(frames), &["--profile", "nfstream", "--dissect"]);
    expect(
        nf.only(),
        &[
            ("application_name", s("OpenVPN")),
            ("application_category_name", s("VPN")),
            ("client_fingerprint", s("")),
            ("server_fingerprint", s("")),
            ("requested_server_name", s("")),
        ],
    );
    // TCP: the client's reset, the server's, then the client's other
    // packets framed back to back and cut in two segments inside a packet.
    let framed = |packets: &[Vec<u8>]| {
        let mut out = Vec::new();
        for p in packets {
            out.extend_from_slice(&(p.len() as u16).to_be_bytes());
            out.extend_from_slice(p);
        }
        out
    };
    let c = (CLIENT, 39_772);
    let s_ = (SERVER, 1194);
    let reset = framed(&client_packets[..1]);
    let rest = framed(&client_packets[1..]);
    let (a, b) = rest.split_at(130);
    let client_seq = 1001 + reset.len() as u32;
    let server_reset = framed(&server_packets[..1]);
    let mut frames = vec![
        tcp(c, s_, SYN, 1000, b""),
        tcp(s_, c, SYN | ACK, 5000, b""),
        tcp(c, s_, ACK | PSH, 1001, &reset),
        tcp(s_, c, ACK | PSH, 5001, &server_reset),
        tcp(c, s_, ACK | PSH, client_seq, a),
        tcp(c, s_, ACK | PSH, client_seq + a.len() as u32, b),
    ];
    frames.push(tcp(
        s_,
        c,
        ACK | PSH,
        5001 + server_reset.len() as u32,
        &framed(&server_packets[1..]),
    ));
    let out = run(&timed(frames), &[]);
    expect(out.only(), &want);
}

/// GREASE values everywhere in the ClientHello: the fingerprints are those of
/// the same hello without them. A TLS 1.2 ServerHello (no supported_versions;
/// cipher 0xc02f; extensions renegotiation_info 0xff01, ec_point_formats 11,
/// session_ticket 35): version from legacy_version; JA3S string
/// `771,49199,65281-11-35` → ccc514751b175866924439bdbb5bba34.
#[test]
fn grease_is_ignored_and_tls12_version_comes_from_legacy_version() {
    let hello = unhex(PETAL_GREASE);
    let mut frames = handshake();
    frames.push(tcp(C, S, ACK | PSH, 1001, &hello));
    let sh = server_hello(
        &[2; 32],
        0xc02f,
        &[(0xff01, &[0]), (11, &[1, 0]), (35, &[])],
    );
    frames.push(tcp(S, C, ACK | PSH, 5001, &sh));
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("server_name", s("www.petalsearch.com")),
            ("ja3", s(PETAL_JA3)),
            ("ja4", s(PETAL_JA4)),
            ("tls_version", s("TLSv1.2")),
            ("tls_cipher", Val::I(0xc02f)),
            ("ja3s", s("ccc514751b175866924439bdbb5bba34")),
        ],
    );
}

/// A HelloRetryRequest (a ServerHello with the RFC 8446 random; cipher
/// 0x1302, supported_versions, key_share with the group only), then the
/// client's second ClientHello, then the real ServerHello (cipher 0x1302,
/// extensions 43, 51, 41): the columns describe the real one. JA3S string
/// `771,4866,43-51-41` → 2253c82f03b621c5144709b393fde2c9; JA3/JA4 are the
/// first ClientHello's.
#[test]
fn hello_retry_request_is_skipped_for_the_server_columns() {
    let hello = unhex(PETAL);
    let mut frames = handshake();
    frames.push(tcp(C, S, ACK | PSH, 1001, &hello));
    let hrr = server_hello(
        &unhex(HRR_RANDOM),
        0x1302,
        &[(43, &[3, 4]), (51, &[0, 0x17])],
    );
    frames.push(tcp(S, C, ACK | PSH, 5001, &hrr));
    frames.push(tcp(C, S, ACK | PSH, 1001 + hello.len() as u32, &hello));
    let sh = server_hello(
        &[3; 32],
        0x1302,
        &[(43, &[3, 4]), (51, &key_share()), (41, &[0, 0])],
    );
    frames.push(tcp(S, C, ACK | PSH, 5001 + hrr.len() as u32, &sh));
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("ja3", s(PETAL_JA3)),
            ("ja4", s(PETAL_JA4)),
            ("tls_version", s("TLSv1.3")),
            ("tls_cipher", Val::I(0x1302)),
            ("ja3s", s("2253c82f03b621c5144709b393fde2c9")),
        ],
    );
}

// ---------------------------------------------------------------------------
// QUIC
// ---------------------------------------------------------------------------

/// RFC 9001 Appendix A.2: the protected client Initial (1200 bytes).
const RFC9001_CLIENT_INITIAL: &str = "
c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11
d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399
1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c
8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212
30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5
457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208
4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec
4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3
485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db
059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c
7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8
9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556
be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74
68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a
c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00
f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632
291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964
25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd
14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff
ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198
e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd
c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73
203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f
cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e
fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade
a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047
90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2
162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4
40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0
6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e
8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0
be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400
54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab
760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9
f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4
056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064
7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241
e221af44860018ab0856972e194cd934";

/// RFC 9001 Appendix A.3: the protected server Initial (ACK + ServerHello:
/// version 0x0303, cipher 0x1301, extensions key_share 51 then
/// supported_versions 43 = 0x0304; JA3S string `771,4865,51-43` →
/// eb1d94daa7e0344597e756a1fb6e7054).
const RFC9001_SERVER_INITIAL: &str = "
cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
2158407dd074ee";

/// The reference note §5.4: SNI example.com, ALPN `alpn`, JA3
/// 41bc9ae914d6cb3bd0bd0a5453ab7d7f (tshark 4.0.17 on the decrypted packet),
/// JA4 q13d0211an_62ed6f6ca7ad_4d634acda6c0.
#[test]
fn quic_initial_of_rfc9001_appendix_a() {
    let c = (CLIENT, 51_000);
    let s_ = (SERVER, 443);
    let frames = vec![
        udp(c, s_, &unhex(RFC9001_CLIENT_INITIAL)),
        udp(s_, c, &unhex(RFC9001_SERVER_INITIAL)),
    ];
    let out = run(&timed(frames.clone()), &[]);
    expect(
        out.only(),
        &[
            ("app_protocol", s("quic")),
            ("quic_version", s("v1")),
            ("server_name", s("example.com")),
            ("tls_alpn", list(&["alpn"])),
            ("ja3", s("41bc9ae914d6cb3bd0bd0a5453ab7d7f")),
            ("ja4", s("q13d0211an_62ed6f6ca7ad_4d634acda6c0")),
            ("tls_version", s("TLSv1.3")),
            ("tls_cipher", Val::I(0x1301)),
            ("ja3s", s("eb1d94daa7e0344597e756a1fb6e7054")),
        ],
    );
    // NFStream's columns: the client's JA4, and no server fingerprint (nDPI
    // reads no QUIC server Initial; docs/features.md, `server_fingerprint`).
    let nf = run(&timed(frames), &["--profile", "nfstream", "--dissect"]);
    expect(
        nf.only(),
        &[
            ("application_name", s("QUIC")),
            ("requested_server_name", s("example.com")),
            (
                "client_fingerprint",
                s("q13d0211an_62ed6f6ca7ad_4d634acda6c0"),
            ),
            ("server_fingerprint", s("")),
        ],
    );
}

// ---------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------

/// A DNS name in wire form.
fn qname(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A DNS message: id, flags, one question (`name`, `qtype`, class IN) and the
/// given answer records (each already in wire form), counted in ANCOUNT.
fn dns(id: u16, flags: u16, name: &str, qtype: u16, answers: &[Vec<u8>]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&qname(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    for a in answers {
        m.extend_from_slice(a);
    }
    m
}

/// An A record named by a pointer to the question name (offset 12).
fn a_record(addr: [u8; 4]) -> Vec<u8> {
    let mut r = vec![0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4];
    r.extend_from_slice(&addr);
    r
}

/// Prefixes a message with its 2-byte length (DNS over TCP).
fn framed(msg: &[u8]) -> Vec<u8> {
    let mut out = (msg.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(msg);
    out
}

/// Two queries in one client segment, two responses in one server segment:
/// two transactions; the columns describe the first (example.com A, answered
/// NOERROR with 93.184.216.34); the second is example.org AAAA, NXDOMAIN.
#[test]
fn dns_over_tcp_with_two_messages_in_one_segment() {
    let c = (CLIENT, 40_001);
    let s_ = (SERVER, 53);
    let q1 = dns(0x1234, 0x0100, "example.com", 1, &[]);
    let q2 = dns(0x1235, 0x0100, "example.org", 28, &[]);
    let r1 = dns(
        0x1234,
        0x8180,
        "example.com",
        1,
        &[a_record([93, 184, 216, 34])],
    );
    let r2 = dns(0x1235, 0x8183, "example.org", 28, &[]);
    let queries = [framed(&q1), framed(&q2)].concat();
    let responses = [framed(&r1), framed(&r2)].concat();
    let frames = vec![
        tcp(c, s_, SYN, 1000, b""),
        tcp(s_, c, SYN | ACK, 5000, b""),
        tcp(c, s_, ACK | PSH, 1001, &queries),
        tcp(s_, c, ACK | PSH, 5001, &responses),
    ];
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("app_protocol", s("dns")),
            ("server_name", s("example.com")),
            ("dns_query", s("example.com")),
            ("dns_qtype", s("A")),
            ("dns_rcode", s("NOERROR")),
            ("dns_answers", list(&["93.184.216.34"])),
            ("dns_transactions", Val::I(2)),
            ("ja3", Val::Null),
            ("http_method", Val::Null),
        ],
    );
}

/// A response whose question name is a compression loop (label `a`, then a
/// pointer back to that label: a, a, a, ...): its header still decodes, so
/// the response's RCODE is read; its question's name does not, but it ends
/// after its pointer, so the answer after it (whose owner name is the same
/// loop) is read. When the question's first byte is an extended label type
/// (0x41) instead, where the records start is unknown: the answers are null
/// when the header announces some, an empty list when it announces none.
/// The query's columns stay, and the run counts one flow with malformed
/// application data.
#[test]
fn dns_response_with_a_damaged_question() {
    let c = (CLIENT, 40_002);
    let s_ = (SERVER, 53);
    // The response's flags, ANCOUNT and first name byte (1: the label `a`
    // of the loop; 0x41: an extended label).
    for (flags, an, first, rcode, answers) in [
        (0x8183u16, 1u8, 1u8, "NXDOMAIN", list(&["192.0.2.1"])),
        (0x8183, 1, 0x41, "NXDOMAIN", Val::Null),
        (0x8180, 0, 0x41, "NOERROR", Val::L(vec![])),
    ] {
        let query = dns(7, 0x0100, "loop.example", 1, &[]);
        let [f0, f1] = flags.to_be_bytes();
        let mut response = vec![0, 7, f0, f1, 0, 1, 0, an, 0, 0, 0, 0];
        response.extend_from_slice(&[first, b'a', 0xc0, 0x0c, 0, 1, 0, 1]);
        if an == 1 {
            // An A record 192.0.2.1, its owner name the loop.
            response.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        }
        let packets = timed(vec![udp(c, s_, &query), udp(s_, c, &response)]);
        let (_dir, output, summary) = extract_with_stats(&packets, "out.parquet", &[]);
        let out = read_parquet(&output);
        expect(
            out.only(),
            &[
                ("app_protocol", s("dns")),
                ("dns_query", s("loop.example")),
                ("dns_qtype", s("A")),
                ("dns_rcode", s(rcode)),
                ("dns_answers", answers),
                ("dns_transactions", Val::I(1)),
            ],
        );
        assert_eq!(summary["app_malformed_flows"], 1, "{summary}");
    }
}

// ---------------------------------------------------------------------------
// HTTP and SSH
// ---------------------------------------------------------------------------

/// A request target of 1 700 bytes (an advertising URL with its parameters,
/// as ndpi/1kxun.pcap's), its request line over two segments: `http_uri` is
/// the whole target, as sent (the URI's bound is the head's, 8 KiB).
#[test]
fn a_long_request_target_is_kept_whole() {
    let c = (CLIENT, 40_005);
    let s_ = (SERVER, 80);
    let mut target = b"/track?rid=f84f54bf".to_vec();
    for i in 0..100 {
        target.extend_from_slice(format!("&p{i:03}=v{i:010}").as_bytes());
    }
    assert_eq!(target.len(), 1_719);
    let request = [
        b"GET ".as_slice(),
        &target,
        b" HTTP/1.1\r\nHost: ads.example\r\n\r\n",
    ]
    .concat();
    let frames = vec![
        tcp(c, s_, SYN, 1000, b""),
        tcp(s_, c, SYN | ACK, 5000, b""),
        tcp(c, s_, ACK, 1001, &request[..1400]),
        tcp(c, s_, ACK | PSH, 2401, &request[1400..]),
    ];
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("app_protocol", s("http")),
            ("server_name", s("ads.example")),
            ("http_uri", s(std::str::from_utf8(&target).unwrap())),
            ("http_requests", Val::I(1)),
        ],
    );
}

/// A request split over three segments (the third first), on port 8888: HTTP
/// is detected by content, and the Host's port is not part of server_name.
#[test]
fn http_request_split_across_segments_on_a_nonstandard_port() {
    let c = (CLIENT, 40_003);
    let s_ = (SERVER, 8888);
    let request: &[u8] = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.org:8888\r\nUser-Agent: test-agent/1.0\r\nAccept: */*\r\n\r\n";
    let response: &[u8] =
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 0\r\n\r\n";
    let seg =
        |from: usize, to: usize| tcp(c, s_, ACK | PSH, 1001 + from as u32, &request[from..to]);
    let frames = vec![
        tcp(c, s_, SYN, 1000, b""),
        tcp(s_, c, SYN | ACK, 5000, b""),
        seg(40, request.len()),
        seg(0, 10),
        seg(10, 40),
        tcp(s_, c, ACK | PSH, 5001, response),
    ];
    let out = run(&timed(frames.clone()), &[]);
    expect(
        out.only(),
        &[
            ("app_protocol", s("http")),
            ("server_name", s("example.org")),
            ("http_method", s("GET")),
            ("http_uri", s("/index.html?q=1")),
            ("http_user_agent", s("test-agent/1.0")),
            ("http_status", Val::I(404)),
            ("http_content_type", s("text/html; charset=utf-8")),
            ("http_requests", Val::I(1)),
        ],
    );
    // The nfstream profile's `content_type` is the media type alone, as
    // nDPI keeps it; `user_agent` and `requested_server_name` as above.
    let nf = run(&timed(frames), &["--profile", "nfstream", "--dissect"]);
    expect(
        nf.only(),
        &[
            ("requested_server_name", s("example.org")),
            ("user_agent", s("test-agent/1.0")),
            ("content_type", s("text/html")),
        ],
    );
}

/// An HTTP request whose TCP segment travels in IPv4 fragments, the later
/// ones last first (docs/app-metadata.md, "How the parsers are fed"): the
/// segment is put together for the parsers, its sequence number read from
/// the rebuilt TCP header, and the request is read as if unfragmented. A
/// second request on the connection, in fragments of which one is lost,
/// never completes: the columns stay the first request's, counted once.
#[test]
fn http_request_in_ip_fragments() {
    use crate::util::capture::ip4_fragments;
    let c = (CLIENT, 40_007);
    let s_ = (SERVER, 80);
    let request: &[u8] =
        b"GET /fragmented/path HTTP/1.1\r\nHost: frag.example\r\nUser-Agent: pieces/2.0\r\n\r\n";
    // The TCP header and payload as one IP payload: the 20-byte IPv4 header
    // of `tcp` taken off and the rest cut in pieces of 24 bytes (the TCP
    // header and 4 bytes, 24 bytes, the rest).
    let segment =
        |seq: u32, payload: &[u8]| tcp(c, s_, ACK | PSH, seq, payload)[14 + 20..].to_vec();
    let pieces = |id: u16, seq: u32, payload: &[u8]| {
        ip4_fragments(CLIENT, SERVER, 6, id, &segment(seq, payload), 24)
            .into_iter()
            .map(|f| crate::util::capture::eth(&f))
            .collect::<Vec<_>>()
    };
    let first = pieces(7, 1001, request);
    assert!(first.len() >= 3, "{}", first.len());
    let second_request = b"GET /second HTTP/1.1\r\nHost: frag.example\r\n\r\n";
    let mut second = pieces(8, 1001 + request.len() as u32, second_request);
    second.remove(1);
    let mut frames = vec![tcp(c, s_, SYN, 1000, b""), tcp(s_, c, SYN | ACK, 5000, b"")];
    // The first fragment (with the ports: a later fragment that comes
    // before it is an orphan, docs/flows.md), then the others last first.
    frames.push(first[0].clone());
    frames.extend(first[1..].iter().rev().cloned());
    frames.push(tcp(
        s_,
        c,
        ACK | PSH,
        5001,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
    ));
    frames.extend(second);
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("app_protocol", s("http")),
            ("server_name", s("frag.example")),
            ("http_method", s("GET")),
            ("http_uri", s("/fragmented/path")),
            ("http_user_agent", s("pieces/2.0")),
            ("http_status", Val::I(200)),
            ("http_requests", Val::I(1)),
        ],
    );
}

/// An HTTP request in a GTP-U packet too large for the outer path: the
/// outer UDP datagram (port 2152) comes in three IP fragments, the first,
/// then the last, then the middle one. The first fragment is taken out of
/// its tunnel and the two others are lent the packet inside
/// (docs/capture.md, "Tunnel packets in IP fragments"): all three count in
/// the inner TCP flow, each with its own frame length, and its payload columns count the request's
/// bytes once; the parsers read the request line. A second tunnelled
/// datagram in fragments whose middle fragment comes before its first stays
/// partly outside: that fragment is an orphan of the outer flow (ports 0),
/// the others are the inner flow's.
#[test]
fn http_request_in_a_fragmented_gtp_u_datagram() {
    use crate::util::capture::{gtp_u, ip4_fragments, udp_datagram};
    const ENB: [u8; 4] = [192, 0, 2, 1];
    const SGW: [u8; 4] = [192, 0, 2, 2];
    let c = (CLIENT, 40_017);
    let s_ = (SERVER, 80);
    // The inner IP packet of a frame built by `tcp` (Ethernet taken off),
    // in a GTP-U datagram, in outer fragments of `piece` bytes.
    let inner = |frame: &[u8]| frame[14..].to_vec();
    let tunnelled = |frame: &[u8], id: u16, piece: usize| {
        let udp = udp_datagram(2152, 2152, &gtp_u(0x0102_0304, &inner(frame)));
        ip4_fragments(ENB, SGW, 17, id, &udp, piece)
            .into_iter()
            .map(|f| eth(&f))
            .collect::<Vec<_>>()
    };
    let path = format!("/video?{}", "q".repeat(700));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: gtp.example\r\nUser-Agent: tunnelled/1.0\r\n\r\n");
    let response: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n\r\n";
    let more: &[u8] = &[b'm'; 600];
    let mut frames = Vec::new();
    frames.extend(tunnelled(&tcp(c, s_, SYN, 1000, b""), 98, 2048));
    frames.extend(tunnelled(&tcp(s_, c, SYN | ACK, 5000, b""), 99, 2048));
    let pieces = tunnelled(&tcp(c, s_, ACK | PSH, 1001, request.as_bytes()), 100, 320);
    assert_eq!(pieces.len(), 3);
    frames.extend([pieces[0].clone(), pieces[2].clone(), pieces[1].clone()]);
    frames.extend(tunnelled(&tcp(s_, c, ACK | PSH, 5001, response), 101, 2048));
    let client_frames = [&frames[0], &pieces[0], &pieces[1], &pieces[2]];
    let client_bytes: usize = client_frames.iter().map(|f| f.len()).sum();
    let server_bytes = frames[1].len() + frames[5].len();
    // The second datagram: its middle fragment before its first.
    let seq = 1001 + request.len() as u32;
    let late = tunnelled(&tcp(c, s_, ACK | PSH, seq, more), 102, 320);
    assert_eq!(late.len(), 3);
    frames.extend([late[1].clone(), late[0].clone(), late[2].clone()]);
    let out = run(&timed(frames), &[]);
    assert_eq!(out.rows.len(), 2, "{:#?}", out.rows);
    let inner_row = out.row_where("protocol", 6);
    let late_bytes = late[0].len() + late[2].len();
    expect(
        inner_row,
        &[
            ("tunnel", s("gtpu")),
            ("fwd_pkt_count", Val::I(6)),
            ("bwd_pkt_count", Val::I(2)),
            ("fwd_byte_count", Val::I((client_bytes + late_bytes) as i64)),
            ("bwd_byte_count", Val::I(server_bytes as i64)),
            // The request once, and the part of the second datagram's
            // segment in its first and last fragments (the middle one, 320
            // bytes of it, is the orphan's).
            (
                "fwd_payload_bytes",
                Val::I((request.len() + more.len() - 320) as i64),
            ),
            ("bwd_payload_bytes", Val::I(response.len() as i64)),
            ("app_protocol", s("http")),
            ("server_name", s("gtp.example")),
            ("http_method", s("GET")),
            ("http_uri", s(&path)),
            ("http_user_agent", s("tunnelled/1.0")),
            ("http_status", Val::I(200)),
        ],
    );
    expect(
        out.row_where("protocol", 17),
        &[
            ("tunnel", s("none")),
            ("src_port", Val::I(0)),
            ("dst_port", Val::I(0)),
            ("pkt_count", Val::I(1)),
            ("byte_count", Val::I(late[1].len() as i64)),
        ],
    );
}

/// A keep-alive connection with 20 request/response pairs, one per segment:
/// parsing stops once one direction has carried 16 payload packets
/// (docs/features.md, "Where parsing stops"), so 16 requests are counted and
/// the columns describe the first exchange.
#[test]
fn http_requests_are_counted_within_the_first_16_payloads_of_a_direction() {
    let c = (CLIENT, 40_005);
    let s_ = (SERVER, 80);
    let request: &[u8] = b"GET /a HTTP/1.1\r\nHost: keep.example\r\n\r\n";
    let response: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";
    let mut frames = vec![tcp(c, s_, SYN, 1000, b""), tcp(s_, c, SYN | ACK, 5000, b"")];
    for k in 0..20u32 {
        let cseq = 1001 + k * request.len() as u32;
        let sseq = 5001 + k * response.len() as u32;
        frames.push(tcp(c, s_, ACK | PSH, cseq, request));
        frames.push(tcp(s_, c, ACK | PSH, sseq, response));
    }
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("server_name", s("keep.example")),
            ("http_uri", s("/a")),
            ("http_status", Val::I(204)),
            ("http_requests", Val::I(16)),
            ("fwd_pkt_count", Val::I(21)),
        ],
    );
}

/// A connection caught in the middle of a response body (ndpi/1kxun.pcap
/// has one): the client's next request, then 19 segments of the earlier
/// body, then the response head at the server's 20th payload packet. The
/// server's direction is read on past the 16 payload packets for that first
/// head (up to 64); the client's is not, so requests are still counted
/// within its 16.
#[test]
fn first_response_head_after_a_long_mid_stream_body() {
    let c = (CLIENT, 40_006);
    let s_ = (SERVER, 80);
    let request: &[u8] = b"GET /next HTTP/1.1\r\nHost: mid.example\r\n\r\n";
    let body = [b'x'; 100];
    let head: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n";
    let mut frames = vec![tcp(c, s_, ACK | PSH, 1000, request)];
    for k in 0..19u32 {
        frames.push(tcp(s_, c, ACK | PSH, 5000 + k * 100, &body));
    }
    frames.push(tcp(s_, c, ACK | PSH, 5000 + 19 * 100, head));
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("app_protocol", s("http")),
            ("http_method", s("GET")),
            ("http_status", Val::I(200)),
            ("http_content_type", s("text/html")),
            ("http_requests", Val::I(1)),
        ],
    );

    // Past 64 payload packets the head is no longer looked for.
    let mut frames = vec![tcp(c, s_, ACK | PSH, 1000, request)];
    for k in 0..64u32 {
        frames.push(tcp(s_, c, ACK | PSH, 5000 + k * 100, &body));
    }
    frames.push(tcp(s_, c, ACK | PSH, 5000 + 64 * 100, head));
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("http_method", s("GET")),
            ("http_status", Val::Null),
            ("http_content_type", Val::Null),
        ],
    );

    // Requests without any response: the client's direction is not read on
    // past its 16 payload packets while the server's may still answer.
    let mut frames = Vec::new();
    for k in 0..20u32 {
        frames.push(tcp(
            c,
            s_,
            ACK | PSH,
            1000 + k * request.len() as u32,
            request,
        ));
    }
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("http_method", s("GET")),
            ("http_requests", Val::I(16)),
            ("http_status", Val::Null),
        ],
    );
}

/// The client's banner never ends (no CR LF before the connection closes): it
/// is reported as far as seen.
#[test]
fn ssh_banner_without_newline() {
    let c = (CLIENT, 40_004);
    let s_ = (SERVER, 22);
    let frames = vec![
        tcp(c, s_, SYN, 1000, b""),
        tcp(s_, c, SYN | ACK, 5000, b""),
        tcp(
            s_,
            c,
            ACK | PSH,
            5001,
            b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n",
        ),
        tcp(c, s_, ACK | PSH, 1001, b"SSH-2.0-PuTTY_Release_0.74"),
        tcp(c, s_, ACK | FIN, 1027, b""),
    ];
    let out = run(&timed(frames), &[]);
    expect(
        out.only(),
        &[
            ("app_protocol", s("ssh")),
            ("ssh_client", s("SSH-2.0-PuTTY_Release_0.74")),
            ("ssh_server", s("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3")),
            ("hassh", Val::Null),
            ("server_name", Val::Null),
        ],
    );
}

// ---------------------------------------------------------------------------
// Community ID, options, other profiles
// ---------------------------------------------------------------------------

/// The Community ID baselines of the reference note §1.3 (corelight
/// community-id-spec): TCP and UDP 1.2.3.4:1122 → 5.6.7.8:3344, ICMP echo
/// 1.2.3.4 → 5.6.7.8 with its reply, an ICMP time exceeded (one-way), ICMPv6
/// echo; seed 1 changes the TCP one.
#[test]
fn community_id_matches_the_spec_baselines() {
    let a = ([1, 2, 3, 4], 1122);
    let b = ([5, 6, 7, 8], 3344);
    let icmp = |src: [u8; 4], dst: [u8; 4], ty: u8| {
        let mut out = Vec::new();
        let builder = PacketBuilder::ipv4(src, dst, 64);
        match ty {
            8 => builder.icmpv4_echo_request(1, 1).write(&mut out, b"x"),
            0 => builder.icmpv4_echo_reply(1, 1).write(&mut out, b"x"),
            _ => builder
                .icmpv4(etherparse::Icmpv4Type::TimeExceeded(
                    etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit,
                ))
                .write(&mut out, b"x"),
        }
        .unwrap();
        eth(&out)
    };
    let v6 = |last: u8| -> [u8; 16] {
        if last == 1 {
            [
                0xfe, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0a, 0x0b, 0x0c, 0x0d,
            ]
        } else {
            [
                0xfe, 0x80, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
                0x1c, 0x1d,
            ]
        }
    };
    let mut echo6 = Vec::new();
    PacketBuilder::ipv6(v6(1), v6(2), 64)
        .icmpv6_echo_request(1, 1)
        .write(&mut echo6, b"x")
        .unwrap();
    let frames = vec![
        tcp(a, b, SYN, 1, b""),
        udp(a, b, b"hello"),
        icmp(a.0, b.0, 8),
        icmp(b.0, a.0, 0),
        eth(&echo6),
    ];
    let packets = timed(frames);
    let ids = |packets: &[Pkt], args: &[&str]| -> Vec<(i64, String, Val)> {
        let out = run(packets, args);
        (out.rows.iter())
            .map(|r| {
                let Val::I(p) = r["protocol"] else { panic!() };
                let Val::S(dst) = &r["dst_ip"] else { panic!() };
                (p, dst.clone(), r["community_id"].clone())
            })
            .collect()
    };
    let got = ids(&packets, &[]);
    let want = [
        (6, "5.6.7.8", "1:wCb3OG7yAFWelaUydu0D+125CLM="),
        (17, "5.6.7.8", "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
        (1, "5.6.7.8", "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="),
        (
            58,
            "fe80:1011:1213:1415:1617:1819:1a1b:1c1d",
            "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=",
        ),
    ];
    for (proto, dst, id) in want {
        assert!(
            got.contains(&(proto, dst.to_string(), s(id))),
            "{proto} to {dst}: {id} not in {got:#?}"
        );
    }
    assert_eq!(got.len(), 4, "{got:#?}");
    // The same addresses as the echo: a capture of its own (ICMP flows are
    // keyed without type, so it would join the echo's flow).
    let one_way = ids(&timed(vec![icmp(a.0, b.0, 11)]), &[]);
    assert_eq!(
        one_way,
        [(1, "5.6.7.8".into(), s("1:f/YiSyWqczrTgfUCZlBUnvHRcPk="))]
    );
    let seeded = ids(&packets, &["--community-id-seed", "1"]);
    assert!(
        seeded.contains(&(6, "5.6.7.8".into(), s("1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="))),
        "{seeded:#?}"
    );
}

/// `--no-app` leaves the whole column group out (and only it).
#[test]
fn no_app_removes_the_columns() {
    let mut frames = handshake();
    frames.push(tcp(C, S, ACK | PSH, 1001, &unhex(PETAL)));
    let packets = timed(frames);
    let with = run(&packets, &[]);
    let without = run(&packets, &["--no-app"]);
    let app: Vec<&str> = with.names()[without.names().len()..].to_vec();
    assert_eq!(&with.names()[..without.names().len()], &without.names()[..]);
    assert_eq!(app.first(), Some(&"community_id"));
    assert_eq!(app.last(), Some(&"hassh_server"));
    assert_eq!(app.len(), 25);
    for column in ["server_name", "ja4", "community_id"] {
        assert!(!without.has(column));
    }
    // The full profile has them too, after its statistics.
    let full = run(&packets, &["--profile", "full"]);
    assert_eq!(full.names().last(), Some(&"hassh_server"));
    expect(full.only(), &[("ja4", s(PETAL_JA4))]);
}

/// `--profile nfstream --dissect`: NFStream's dissection columns, with its
/// names, order and empty strings, from the same parsers.
#[test]
fn nfstream_dissection_columns() {
    let mut frames = handshake();
    frames.push(tcp(C, S, ACK | PSH, 1001, &unhex(PETAL)));
    let sh = server_hello(&[1; 32], 0x1301, &[(43, &[3, 4]), (51, &key_share())]);
    frames.push(tcp(S, C, ACK | PSH, 5001, &sh));
    let out = run(&timed(frames), &["--profile", "nfstream", "--dissect"]);
    let names = out.names();
    assert_eq!(
        &names[names.len() - 9..],
        &[
            "application_name",
            "application_category_name",
            "application_is_guessed",
            "application_confidence",
            "requested_server_name",
            "client_fingerprint",
            "server_fingerprint",
            "user_agent",
            "content_type",
        ]
    );
    expect(
        out.only(),
        &[
            ("application_name", s("TLS")),
            ("application_category_name", s("Web")),
            ("application_is_guessed", Val::I(0)),
            ("application_confidence", Val::I(6)),
            ("requested_server_name", s("www.petalsearch.com")),
            ("client_fingerprint", s(PETAL_JA4)),
            ("server_fingerprint", s("f4febc55ea12b31ae17cfb7e614afda8")),
            ("user_agent", s("")),
            ("content_type", s("")),
        ],
    );
    let plain = run(&timed(handshake()), &["--profile", "nfstream"]);
    assert!(!plain.has("application_name"));
}

/// SQL over a capture (`--pcap`) has the application columns: the README's
/// example query.
#[test]
fn sql_over_a_capture_has_the_app_columns() {
    let mut frames = handshake();
    frames.push(tcp(C, S, ACK | PSH, 1001, &unhex(PETAL)));
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("tls.pcap");
    write_pcap(&capture, 1, false, &timed(frames));
    let out = flowq(&[
        "select server_name, count(*) as flows from flows where server_name is not null \
         group by 1 order by 2 desc limit 10",
        "--pcap",
        capture.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "server_name,flows\nwww.petalsearch.com,1\n"
    );
}

/// A DHCP DISCOVER from 0.0.0.0:68 to the broadcast: the fixed BOOTP part
/// (op 1, Ethernet, 6-byte address), the magic cookie 99.130.83.99, then
/// message type 1, host name `MacBook-Air`, the parameter request list
/// 1, 121, 3, 6, 15, 119, 252 and END (RFC 2131 §2-3, RFC 2132).
fn dhcp_discover() -> Vec<u8> {
    let mut m = vec![0u8; 236];
    m[..4].copy_from_slice(&[1, 1, 6, 0]);
    m[4..8].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    m[28..34].copy_from_slice(&[0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42]);
    m.extend_from_slice(&[99, 130, 83, 99]);
    m.extend_from_slice(&[53, 1, 1]);
    m.extend_from_slice(&[12, 11]);
    m.extend_from_slice(b"MacBook-Air");
    m.extend_from_slice(&[55, 7, 1, 121, 3, 6, 15, 119, 252, 255]);
    m
}

/// A DNS query for `name` (labels given), type `qtype`, class `class`.
fn dns_query(labels: &[&[u8]], qtype: u16, class: u16) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in labels {
        m.push(l.len() as u8);
        m.extend_from_slice(l);
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&class.to_be_bytes());
    m
}

/// DHCP by content, and NFStream's rendering of names: the nfstream
/// profile's `client_fingerprint` of a DHCP client is its parameter request
/// list and `requested_server_name` its host name, lowercased as nDPI does;
/// an LLMNR name is lowercased, a non-printable byte is `?`; a DNS query on
/// a port that is not DNS's has no name there (nDPI reads DNS names on the
/// DNS ports only). The standard profile keeps names as sent and has no
/// `server_name` for DHCP (a client's own name is not a name it asks for).
#[test]
fn dhcp_and_ndpi_names() {
    let frames = vec![
        udp(
            ([0, 0, 0, 0], 68),
            ([255, 255, 255, 255], 67),
            &dhcp_discover(),
        ),
        udp(
            (CLIENT, 50_000),
            ([224, 0, 0, 252], 5355),
            &dns_query(&[b"Kevin-PC"], 1, 1),
        ),
        udp(
            (CLIENT, 50_001),
            (SERVER, 53),
            &dns_query(&[b"ab\xe9c", b"Example", b"org"], 1, 1),
        ),
        udp(
            (CLIENT, 40_000),
            (SERVER, 70),
            &dns_query(&[b"version", b"bind"], 16, 3),
        ),
    ];
    let packets = timed(frames);
    let nf = run(&packets, &["--profile", "nfstream", "--dissect"]);
    expect(
        nf.row_where("src_port", 68),
        &[
            ("application_name", s("DHCP")),
            ("application_category_name", s("Network")),
            ("requested_server_name", s("macbook-air")),
            ("client_fingerprint", s("1,121,3,6,15,119,252")),
            ("server_fingerprint", s("")),
        ],
    );
    expect(
        nf.row_where("src_port", 50_000),
        &[
            ("application_name", s("LLMNR")),
            ("requested_server_name", s("kevin-pc")),
        ],
    );
    expect(
        nf.row_where("src_port", 50_001),
        &[("requested_server_name", s("ab?c.example.org"))],
    );
    expect(
        nf.row_where("src_port", 40_000),
        &[("requested_server_name", s(""))],
    );
    let std = run(&packets, &[]);
    expect(
        std.row_where("src_port", 68),
        &[("app_protocol", s("dhcp")), ("server_name", Val::Null)],
    );
    expect(
        std.row_where("src_port", 50_000),
        &[("server_name", s("Kevin-PC"))],
    );
    expect(
        std.row_where("src_port", 50_001),
        &[("server_name", s("ab\\xe9c.Example.org"))],
    );
    expect(
        std.row_where("src_port", 40_000),
        &[("server_name", s("version.bind"))],
    );
}

/// DNS's registered port: a query whose header the content rule refuses
/// (opcode 15, two questions announced, an answer in a query) is DNS on port
/// 53, as TShark reads it, with its first question's name; the same bytes on
/// another port are not; a message whose question does not decode is not
/// DNS even on port 53.
#[test]
fn dns_port_reads_messages_with_odd_headers() {
    let mut odd = dns_query(&[b"www", b"example", b"org"], 1, 1);
    odd[2..8].copy_from_slice(&[0x78, 0x00, 0x00, 0x02, 0x00, 0x01]);
    // A name whose label runs past the message.
    let broken = [&odd[..12], &[0x25, b'a', b'b']].concat();
    let frames = vec![
        udp((CLIENT, 40_000), (SERVER, 53), &odd),
        udp((CLIENT, 40_001), (SERVER, 5300), &odd),
        udp((CLIENT, 40_002), (SERVER, 53), &broken),
    ];
    let out = run(&timed(frames), &[]);
    expect(
        out.row_where("src_port", 40_000),
        &[
            ("app_protocol", s("dns")),
            ("server_name", s("www.example.org")),
            ("dns_query", s("www.example.org")),
            ("dns_qtype", s("A")),
        ],
    );
    for port in [40_001, 40_002] {
        expect(
            out.row_where("src_port", port),
            &[("app_protocol", Val::Null), ("server_name", Val::Null)],
        );
    }
}

/// DNS's own port (53): a message whose header is that of a DNS message of
/// one question (as the content rule checks it) is DNS even when its name
/// does not decode (a label running past the message, an extended label
/// type), as in ndpi/fuzz-2006-06-26-2594.pcap: the name and type are null,
/// a response's RCODE comes from its header, its answers are null (where
/// they start is unknown), and the flow counts as malformed. The same bytes
/// on another port, or on mDNS's, are not DNS; nor, on 53, is a header whose
/// counts a message of one question cannot have (a query announcing answers
/// and authority records, as in the fuzzed capture's 0xaa padding).
#[test]
fn dns_port_reads_a_header_whose_name_is_damaged() {
    let header = |flags: u16, an: u8| {
        let [f0, f1] = flags.to_be_bytes();
        vec![0x4c, 0xd2, f0, f1, 0, 1, 0, an, 0, 0, 0, 0]
    };
    // `_sip` then a label of 37 bytes where 3 follow.
    let past_end = [header(0x0100, 0), b"\x04_sip\x25s\x00\x00".to_vec()].concat();
    // 0x84: a label of the extended type 10, then an A record.
    let response = [
        header(0x8180, 1),
        vec![1, b'1', 0x84, b'a', b'r', b'p', b'a', 0, 0, 12, 0, 1],
        vec![0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1],
    ]
    .concat();
    let mut padded = past_end.clone();
    padded[6..12].copy_from_slice(&[0x00, 0x59, 0xaa, 0xaa, 0xaa, 0xaa]);
    let frames = vec![
        udp((CLIENT, 40_000), (SERVER, 53), &past_end),
        udp((SERVER, 53), (CLIENT, 40_001), &response),
        udp((CLIENT, 40_002), (SERVER, 5300), &past_end),
        udp((CLIENT, 5353), (SERVER, 5353), &past_end),
        udp((CLIENT, 40_004), (SERVER, 53), &padded),
    ];
    let packets = timed(frames);
    let (_dir, output, summary) = extract_with_stats(&packets, "out.parquet", &[]);
    let out = read_parquet(&output);
    let dns_without_name = [
        ("app_protocol", s("dns")),
        ("server_name", Val::Null),
        ("dns_query", Val::Null),
        ("dns_qtype", Val::Null),
    ];
    expect(out.row_where("src_port", 40_000), &dns_without_name);
    expect(
        out.row_where("src_port", 40_000),
        &[("dns_rcode", Val::Null), ("dns_transactions", Val::I(1))],
    );
    let response = out.row_where("dst_port", 40_001);
    expect(response, &dns_without_name);
    expect(
        response,
        &[
            ("dns_rcode", s("NOERROR")),
            ("dns_answers", Val::Null),
            ("dns_transactions", Val::I(1)),
        ],
    );
    expect(
        out.row_where("src_port", 5353),
        &[("app_protocol", Val::Null), ("dns_rcode", Val::Null)],
    );
    for port in [40_002, 40_004] {
        expect(
            out.row_where("src_port", port),
            &[("app_protocol", Val::Null), ("dns_rcode", Val::Null)],
        );
    }
    // Both DNS flows count as malformed.
    assert_eq!(summary["app_malformed_flows"], 2, "{summary}");
}

/// mDNS on its port (5353): an announcement (a response without a
/// question) and a query with a known answer (RFC 6762 §7.1) are DNS there,
/// though the content rule refuses both. The announcement has no
/// `server_name` (nothing was asked); NFStream's name of it is its first
/// record's owner, lowercased (nDPI reads the name after the header).
#[test]
fn mdns_announcements_and_known_answer_queries() {
    // Response, no question, one PTR `_RAOP._tcp.local` ->
    // `Speaker._RAOP._tcp.local` (a pointer back to offset 12).
    let mut announcement = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    announcement.extend_from_slice(b"\x05_RAOP\x04_tcp\x05local\x00");
    announcement.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0x11, 0x94, 0, 10]);
    announcement.extend_from_slice(b"\x07Speaker\xc0\x0c");
    // A query for `gomez._sftp-ssh._tcp.local` TXT with that TXT known.
    let mut known = dns_query(&[b"gomez", b"_sftp-ssh", b"_tcp", b"local"], 16, 1);
    known[0..2].copy_from_slice(&[0, 0]);
    known[6..8].copy_from_slice(&[0, 1]);
    known.extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0x11, 0x94, 0, 1, 0]);
    let frames = vec![
        udp((CLIENT, 5353), ([224, 0, 0, 251], 5353), &announcement),
        udp((SERVER, 5353), ([224, 0, 0, 251], 5353), &known),
    ];
    let packets = timed(frames);
    let std = run(&packets, &[]);
    let by_src = |out: &Out, ip: [u8; 4]| -> Row {
        let ip = format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
        out.rows
            .iter()
            .find(|r| r.get("src_ip") == Some(&s(&ip)))
            .unwrap_or_else(|| panic!("no flow from {ip}: {:#?}", out.rows))
            .clone()
    };
    expect(
        &by_src(&std, CLIENT),
        &[
            ("app_protocol", s("dns")),
            ("server_name", Val::Null),
            ("dns_query", Val::Null),
            ("dns_rcode", s("NOERROR")),
            ("dns_answers", list(&["Speaker._RAOP._tcp.local"])),
        ],
    );
    expect(
        &by_src(&std, SERVER),
        &[
            ("app_protocol", s("dns")),
            ("server_name", s("gomez._sftp-ssh._tcp.local")),
            ("dns_qtype", s("TXT")),
        ],
    );
    let nf = run(&packets, &["--profile", "nfstream", "--dissect"]);
    expect(
        &by_src(&nf, CLIENT),
        &[
            ("application_name", s("MDNS")),
            ("requested_server_name", s("_raop._tcp.local")),
        ],
    );
    expect(
        &by_src(&nf, SERVER),
        &[("requested_server_name", s("gomez._sftp-ssh._tcp.local"))],
    );
}

/// The NetBIOS datagram service: a broadcast from `NVR9` (RFC 1002 §4.4,
/// names in the first-level encoding of RFC 1001 §14.1, worked out by hand:
/// `N` = 0x4e is `EO`, a space `CA`) is `netbios`, without a `server_name`
/// (the source name is the sender's own); the nfstream profile names it
/// NetBIOS with nDPI's lowercased source name, as the datagram goes to
/// port 138 and its header gives the packet's source address.
#[test]
fn netbios_datagrams() {
    let source = b"\x20EOFGFCDJCACACACACACACACACACACAAA\x00";
    let group = b"\x20FHEPFCELEHFCEPFFFACACACACACACABN\x00";
    let mut body = source.to_vec();
    body.extend_from_slice(group);
    body.extend_from_slice(b"\xffSMB");
    let mut d = vec![0x12, 0x02, 0x81, 0x0a, 10, 0, 0, 1, 0, 138];
    d.extend_from_slice(&(body.len() as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend(body);
    let packets = timed(vec![udp((CLIENT, 138), ([10, 0, 0, 255], 138), &d)]);
    expect(
        run(&packets, &[]).only(),
        &[("app_protocol", s("netbios")), ("server_name", Val::Null)],
    );
    expect(
        run(&packets, &["--profile", "nfstream", "--dissect"]).only(),
        &[
            ("application_name", s("NetBIOS")),
            ("application_category_name", s("System")),
            ("requested_server_name", s("nvr9")),
        ],
    );
}
