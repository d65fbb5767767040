//! Community ID v1 (corelight/community-id-spec): a hash of a flow's endpoints
//! that other tools (Zeek, Suricata, Wireshark, Arkime) compute identically.
//!
//! Bytes hashed with SHA-1, integers big-endian:
//! `seed(2) ‖ addrA ‖ addrB ‖ proto(1) ‖ 0(1) ‖ portA(2) ‖ portB(2)`, the ports only
//! for TCP, UDP, SCTP, ICMP and ICMPv6; A is the smaller endpoint (address bytes,
//! then port). ICMP and ICMPv6 use the type as the source port and the type's
//! counterpart as the destination port; a type without counterpart uses the code
//! and is one-way (never reordered). Result: `1:` and the base64 of the digest.

use std::net::IpAddr;

const TCP: u8 = 6;
const UDP: u8 = 17;
const SCTP: u8 = 132;
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

/// ICMPv4 request/response type pairs (Zeek, pycommunityid `icmp.py`).
const ICMP4_PAIRS: [(u8, u8); 5] = [(8, 0), (13, 14), (15, 16), (10, 9), (17, 18)];
/// ICMPv6 request/response type pairs (pycommunityid `icmp6.py`).
const ICMP6_PAIRS: [(u8, u8); 6] = [
    (128, 129),
    (130, 131),
    (133, 134),
    (135, 136),
    (139, 140),
    (144, 145),
];

/// The counterpart of an ICMP(v6) type, if the type belongs to a request/response pair.
fn icmp_counterpart(proto: u8, ty: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = if proto == ICMP {
        &ICMP4_PAIRS
    } else {
        &ICMP6_PAIRS
    };
    pairs.iter().find_map(|&(a, b)| {
        if ty == a {
            Some(b)
        } else if ty == b {
            Some(a)
        } else {
            None
        }
    })
}

/// Output encoding of a Community ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommunityIdEncoding {
    /// `1:` + base64 (standard alphabet, padded): the default, 30 characters.
    #[default]
    Base64,
    /// `1:` + lowercase hex (the spec's debugging form).
    Hex,
}

/// The Community ID v1 of one packet's (or flow's first packet's) tuple.
///
/// * `proto`: the IP protocol number. For ICMP (1) and ICMPv6 (58) pass the ICMP
///   type as `src_port` and the code as `dst_port`, as the spec's flow tuple does.
/// * Protocols other than TCP, UDP, SCTP, ICMP and ICMPv6 ignore the ports.
/// * `None` when the two addresses are of different IP versions.
pub fn community_id_v1(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    src_port: u16,
    dst_port: u16,
    encoding: CommunityIdEncoding,
) -> Option<String> {
    let mut out = String::with_capacity(30);
    write_community_id_v1(
        &mut out, seed, src, dst, proto, src_port, dst_port, encoding,
    )
    .then_some(out)
}

/// [`community_id_v1`] appended to `out` (no allocation when `out` has
/// room: the flow columns reuse one buffer); false, and nothing appended, when
/// the two addresses are of different IP versions.
#[allow(clippy::too_many_arguments)]
pub fn write_community_id_v1(
    out: &mut String,
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    src_port: u16,
    dst_port: u16,
    encoding: CommunityIdEncoding,
) -> bool {
    let mut buf = [0u8; 2 + 16 + 16 + 2 + 4];
    let mut n = 0;
    let mut put = |b: &[u8]| {
        buf[n..n + b.len()].copy_from_slice(b);
        n += b.len();
    };
    let (sa, da, alen): ([u8; 16], [u8; 16], usize) = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut a = [0; 16];
            let mut b = [0; 16];
            a[..4].copy_from_slice(&s.octets());
            b[..4].copy_from_slice(&d.octets());
            (a, b, 4)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => (s.octets(), d.octets(), 16),
        _ => return false,
    };
    let (mut sp, mut dp) = (src_port, dst_port);
    let mut one_way = false;
    if proto == ICMP || proto == ICMPV6 {
        let ty = src_port as u8;
        sp = u16::from(ty);
        match icmp_counterpart(proto, ty) {
            Some(c) => dp = u16::from(c),
            None => {
                dp = dst_port & 0xff;
                one_way = true;
            }
        }
    }
    let has_ports = matches!(proto, TCP | UDP | SCTP | ICMP | ICMPV6);
    let (s, d) = (&sa[..alen], &da[..alen]);
    let ordered = one_way || s < d || (s == d && (!has_ports || sp <= dp));
    let (a, b, pa, pb) = if ordered {
        (s, d, sp, dp)
    } else {
        (d, s, dp, sp)
    };
    put(&seed.to_be_bytes());
    put(a);
    put(b);
    put(&[proto, 0]);
    if has_ports {
        put(&pa.to_be_bytes());
        put(&pb.to_be_bytes());
    }
    let digest = sha1_one_block(&buf[..n]);
    out.push_str("1:");
    match encoding {
        CommunityIdEncoding::Base64 => push_base64(out, &digest),
        CommunityIdEncoding::Hex => out.push_str(&super::util::hex(&digest)),
    }
    true
}

/// SHA-1 (FIPS 180-4) of at most 55 bytes: one padded block given to the
/// `sha1` crate's compression function, without the streaming wrapper (whose
/// buffering cost a quarter of a Community ID).
fn sha1_one_block(data: &[u8]) -> [u8; 20] {
    debug_assert!(data.len() <= 55);
    let n = data.len().min(55);
    let mut block = [0u8; 64];
    block[..n].copy_from_slice(&data[..n]);
    block[n] = 0x80;
    block[56..].copy_from_slice(&(n as u64 * 8).to_be_bytes());
    let mut state: [u32; 5] = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    sha1::compress(&mut state, &[block.into()]);
    let mut out = [0u8; 20];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// Base64 (RFC 4648 §4: standard alphabet, padded) of `bytes`, appended to
/// `out`. Written out here: the general-purpose engine of the `base64` crate
/// cost more per Community ID than the rest of its rendering.
fn push_base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u32| ALPHABET[(v & 63) as usize];
    // Written to the stack 48 input bytes (64 characters) at a time, and
    // appended once per 64 characters (a SHA-1 digest is one piece).
    for piece in bytes.chunks(48) {
        let mut text = [0u8; 64];
        let mut n = 0;
        for c in piece.chunks(3) {
            let v = match *c {
                [a, b, c] => u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c),
                [a, b] => u32::from(a) << 16 | u32::from(b) << 8,
                [a] => u32::from(a) << 16,
                _ => 0,
            };
            text[n..n + 4].copy_from_slice(&[sym(v >> 18), sym(v >> 12), sym(v >> 6), sym(v)]);
            if c.len() < 3 {
                text[n + 3] = b'=';
            }
            if c.len() < 2 {
                text[n + 2] = b'=';
            }
            n += 4;
        }
        out.push_str(std::str::from_utf8(&text[..n]).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_block_sha1_is_sha1() {
        use sha1::{Digest as _, Sha1};
        for n in 0..=55 {
            let data: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(37)).collect();
            assert_eq!(sha1_one_block(&data)[..], Sha1::digest(&data)[..], "{n}");
        }
    }

    #[test]
    fn base64_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut s = String::new();
            push_base64(&mut s, input.as_bytes());
            assert_eq!(s, want);
        }
        let mut s = String::new();
        push_base64(&mut s, &[0xfb, 0xff, 0xbf, 0x00]);
        assert_eq!(s, "+/+/AA==");
        // Across the 48-byte pieces.
        let mut s = String::new();
        push_base64(&mut s, &[0xff; 50]);
        assert_eq!(s, format!("{}//8=", "/".repeat(64)));
    }

    fn cid(seed: u16, s: &str, d: &str, proto: u8, sp: u16, dp: u16) -> String {
        community_id_v1(
            seed,
            s.parse().unwrap(),
            d.parse().unwrap(),
            proto,
            sp,
            dp,
            CommunityIdEncoding::Base64,
        )
        .unwrap()
    }

    /// Every vector of the reference note §1.3 (official baselines, pycommunityid's
    /// tests and README, and four real-capture flows checked with tshark).
    #[test]
    fn spec_vectors() {
        let v4 = ("1.2.3.4", "5.6.7.8");
        // TCP, both directions.
        assert_eq!(
            cid(0, v4.0, v4.1, 6, 1122, 3344),
            "1:wCb3OG7yAFWelaUydu0D+125CLM="
        );
        assert_eq!(
            cid(0, v4.1, v4.0, 6, 3344, 1122),
            "1:wCb3OG7yAFWelaUydu0D+125CLM="
        );
        assert_eq!(
            cid(1, v4.0, v4.1, 6, 1122, 3344),
            "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="
        );
        assert_eq!(
            cid(0, v4.0, v4.1, 17, 1122, 3344),
            "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="
        );
        assert_eq!(
            cid(0, v4.0, v4.1, 132, 1122, 3344),
            "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="
        );
        // ICMP echo request and its reply map to the same ID.
        assert_eq!(
            cid(0, v4.0, v4.1, 1, 8, 0),
            "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="
        );
        assert_eq!(
            cid(0, v4.1, v4.0, 1, 0, 0),
            "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="
        );
        assert_eq!(
            cid(0, v4.0, v4.1, 1, 11, 0),
            "1:f/YiSyWqczrTgfUCZlBUnvHRcPk="
        );
        let v6 = (
            "fe80:1:203:405:607:809:a0b:c0d",
            "fe80:1011:1213:1415:1617:1819:1a1b:1c1d",
        );
        assert_eq!(
            cid(0, v6.0, v6.1, 58, 128, 0),
            "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="
        );
        assert_eq!(
            cid(0, v6.1, v6.0, 58, 129, 0),
            "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="
        );
        assert_eq!(
            cid(0, v6.0, v6.1, 58, 146, 0),
            "1:fYC8+pz24E+EhANP1EZhpX0Dw10="
        );
        // RSVP: no ports (whatever is passed).
        assert_eq!(
            cid(0, v4.0, v4.1, 46, 0, 0),
            "1:ikv3kmf89luf73WPz1jOs49S768="
        );
        assert_eq!(
            cid(0, v4.0, v4.1, 46, 7, 9),
            "1:ikv3kmf89luf73WPz1jOs49S768="
        );
        assert_eq!(
            cid(0, "127.0.0.1", "10.0.0.1", 6, 1234, 80),
            "1:mgRgpIZSu0KHDp/QrtcWZpkJpMU="
        );
        let (a, b) = (
            "3ffe:507:0:1:260:97ff:fe07:69ea",
            "3ffe:507:0:1:200:86ff:fe05:80da",
        );
        assert_eq!(cid(0, a, b, 58, 3, 0), "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=");
        assert_eq!(cid(0, b, a, 58, 3, 0), "1:/OGBt9BN1ofenrmSPWYicpij2Vc=");
        // Real captures (tshark 4.0 communityid).
        assert_eq!(
            cid(0, "192.168.133.129", "34.117.237.239", 6, 36372, 443),
            "1:7OU+l5cEs5x+SRSynLmb3ER2xKc="
        );
        assert_eq!(
            cid(
                0,
                "2001:4998:ef83:14:8000::100d",
                "2606:4700::6811:d209",
                6,
                64034,
                443
            ),
            "1:/wxqZ626SZRx3CanjPRZ6tl4iH8="
        );
        assert_eq!(
            cid(0, "192.168.1.168", "142.251.163.147", 17, 59102, 443),
            "1:YzVkOOYiTuBXnYUbOrwvXhS5ZJ0="
        );
        assert_eq!(
            cid(0, "192.168.1.11", "209.87.249.18", 17, 43966, 53),
            "1:OBOqRVFrvo3F8pH3uiQTx4SF+sA="
        );
    }

    #[test]
    fn hex_form_mixed_versions_and_same_address() {
        let h = community_id_v1(
            0,
            "1.2.3.4".parse().unwrap(),
            "5.6.7.8".parse().unwrap(),
            6,
            1122,
            3344,
            CommunityIdEncoding::Hex,
        )
        .unwrap();
        assert_eq!(h.len(), 2 + 40);
        assert!(
            community_id_v1(
                0,
                "1.2.3.4".parse().unwrap(),
                "::1".parse().unwrap(),
                6,
                1,
                2,
                Default::default()
            )
            .is_none()
        );
        // Same address: ordered by port.
        assert_eq!(
            cid(0, "1.1.1.1", "1.1.1.1", 6, 9, 5),
            cid(0, "1.1.1.1", "1.1.1.1", 6, 5, 9)
        );
    }
}
