//! Tunnels and the PPP, Cisco HDLC and 802.11 link types, end to end: built
//! captures through the `flowq` binary, and corpus captures against TShark's
//! per-packet view (docs/capture.md, "Tunnels").
//!
//! Sizes (tests/util/capture.rs): Ethernet 14, IPv4 20, IPv6 40, UDP 8, GRE 4,
//! ERSPAN II in GRE 16, PPTP GRE + PPP 16, VXLAN 8, Geneve 8, GTP-U 8, AYIYA 44, PPP 4,
//! Cisco HDLC 4, radiotap 8 + 802.11 QoS data 26 + LLC/SNAP 8.

use crate::util::capture::{
    LINKTYPE_C_HDLC, LINKTYPE_ETHERNET, LINKTYPE_IEEE802_11_RADIOTAP, LINKTYPE_PPP, Pkt, T0_US,
    ayiya, chdlc, eth, eth_raw, flags, geneve, gre, gre_erspan2, gre_pptp, gtp_u, ip4_carrying,
    ip4_tcp, ip4_udp, ip6_udp, ipcomp, ppp, radiotap_beacon, radiotap_qos_data, vxlan, write_pcap,
};
use crate::util::{flowq_bin, shared_pcaps};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

const OUTER_A: [u8; 4] = [192, 0, 2, 1];
const OUTER_B: [u8; 4] = [192, 0, 2, 2];
const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];
const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

type Row = BTreeMap<String, String>;

/// Runs `flowq extract INPUT -o - -q ARGS...` and parses its CSV.
fn extract(input: &Path, args: &[&str]) -> Vec<Row> {
    let out = Command::new(flowq_bin())
        .arg("extract")
        .arg(input)
        .args(["-o", "-", "-q"])
        .args(args)
        .output()
        .expect("run flowq");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "flowq failed: {stderr}");
    let text = String::from_utf8(out.stdout).expect("UTF-8 CSV");
    crate::util::csv_rows(&text)
}

/// Like [`extract`], also returning the `--stats-json` summary.
fn extract_with_stats(input: &Path, args: &[&str]) -> (Vec<Row>, serde_json::Value) {
    let stats = input.with_extension("stats.json");
    let mut all = args.to_vec();
    all.extend(["--stats-json", stats.to_str().unwrap()]);
    let rows = extract(input, &all);
    let text = std::fs::read_to_string(&stats).expect("stats JSON");
    (rows, serde_json::from_str(&text).expect("JSON"))
}

fn pkt(n: i64, data: Vec<u8>) -> Pkt {
    Pkt::new(T0_US + n * 1_000, data)
}

fn int(row: &Row, column: &str) -> i64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} in {row:?}"))
}

/// How each encapsulation wraps an inner IPv4 packet, for the outer direction
/// `forward` (OUTER_A -> OUTER_B) or back.
struct Kind {
    tunnel: &'static str,
    wrap: fn(&[u8], bool) -> Vec<u8>,
}

fn outer(forward: bool) -> ([u8; 4], [u8; 4]) {
    if forward {
        (OUTER_A, OUTER_B)
    } else {
        (OUTER_B, OUTER_A)
    }
}

fn over_udp(port: u16, payload: &[u8], forward: bool) -> Vec<u8> {
    let (s, d) = outer(forward);
    eth(&ip4_udp((s, 40000), (d, port), payload))
}

const KINDS: &[Kind] = &[
    Kind {
        tunnel: "ipip",
        wrap: |ip, f| eth(&ip4_carrying(outer(f).0, outer(f).1, 4, ip)),
    },
    Kind {
        tunnel: "gre",
        wrap: |ip, f| eth(&ip4_carrying(outer(f).0, outer(f).1, 47, &gre(0x0800, ip))),
    },
    Kind {
        tunnel: "gre",
        wrap: |ip, f| eth(&ip4_carrying(outer(f).0, outer(f).1, 47, &gre_pptp(ip))),
    },
    Kind {
        tunnel: "erspan",
        wrap: |ip, f| {
            eth(&ip4_carrying(
                outer(f).0,
                outer(f).1,
                47,
                &gre_erspan2(&eth(ip)),
            ))
        },
    },
    Kind {
        tunnel: "vxlan",
        wrap: |ip, f| over_udp(4789, &vxlan(7, &eth(ip)), f),
    },
    Kind {
        tunnel: "geneve",
        wrap: |ip, f| over_udp(6081, &geneve(&eth(ip)), f),
    },
    Kind {
        tunnel: "gtpu",
        wrap: |ip, f| over_udp(2152, &gtp_u(0x1234, ip), f),
    },
    Kind {
        tunnel: "ayiya",
        wrap: |ip, f| over_udp(5072, &ayiya(ip), f),
    },
];

/// One request/answer exchange per encapsulation, inner ports 1000 + i -> 53,
/// payloads 5 and 7 bytes; returns the capture and each kind's two frame lengths.
fn tunnelled_capture(dir: &Path) -> (std::path::PathBuf, Vec<[usize; 2]>) {
    let mut packets = Vec::new();
    let mut lens = Vec::new();
    for (i, kind) in KINDS.iter().enumerate() {
        let port = 1000 + i as u16;
        let query = (kind.wrap)(&ip4_udp((A, port), (B, 53), b"query"), true);
        let answer = (kind.wrap)(&ip4_udp((B, 53), (A, port), b"answer!"), false);
        lens.push([query.len(), answer.len()]);
        packets.push(pkt(2 * i as i64, query));
        packets.push(pkt(2 * i as i64 + 1, answer));
    }
    let path = dir.join("tunnels.pcap");
    write_pcap(&path, LINKTYPE_ETHERNET, false, &packets);
    (path, lens)
}

#[test]
fn every_encapsulation_is_keyed_on_the_inner_packet() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lens) = tunnelled_capture(dir.path());
    let (rows, stats) = extract_with_stats(&path, &[]);
    assert_eq!(rows.len(), KINDS.len(), "{rows:#?}");
    assert_eq!(stats["packets_in_flows"], 2 * KINDS.len() as u64, "{stats}");
    for (i, kind) in KINDS.iter().enumerate() {
        let port = (1000 + i).to_string();
        let row = rows
            .iter()
            .find(|r| r["src_port"] == port)
            .unwrap_or_else(|| panic!("no flow from port {port}: {rows:#?}"));
        let at = format!("{} (#{i})", kind.tunnel);
        assert_eq!(
            (row["src_ip"].as_str(), row["dst_ip"].as_str()),
            ("10.0.0.1", "10.0.0.2"),
            "{at}"
        );
        assert_eq!(
            (row["dst_port"].as_str(), row["protocol"].as_str()),
            ("53", "17"),
            "{at}"
        );
        assert_eq!(row["tunnel"], kind.tunnel, "{at}");
        assert_eq!(
            (int(row, "fwd_pkt_count"), int(row, "bwd_pkt_count")),
            (1, 1),
            "{at}"
        );
        // Bytes on the wire are the whole frames, outer headers included ...
        assert_eq!(int(row, "fwd_byte_count"), lens[i][0] as i64, "{at}");
        assert_eq!(int(row, "bwd_byte_count"), lens[i][1] as i64, "{at}");
        // ... the payload is the inner UDP payload.
        assert_eq!(
            (int(row, "fwd_payload_bytes"), int(row, "bwd_payload_bytes")),
            (5, 7),
            "{at}"
        );
    }
    // Hand-checked sizes: IP-in-IP 14 + 20 + 33 = 67; VXLAN 14 + 20 + 8 + 8 + 14 + 33 = 97.
    assert_eq!(lens[0], [67, 69]);
    assert_eq!(lens[4], [97, 99]);
}

#[test]
fn tunnels_outer_keys_on_the_outermost_header() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = tunnelled_capture(dir.path());
    let rows = extract(&path, &["--tunnels", "outer"]);
    assert!(rows.iter().all(|r| r["tunnel"] == "none"), "{rows:#?}");
    assert!(
        rows.iter().all(|r| r["src_ip"].starts_with("192.0.2.")),
        "{rows:#?}"
    );
    let packets: i64 = rows.iter().map(|r| int(r, "pkt_count")).sum();
    assert_eq!(packets, 2 * KINDS.len() as i64);
    // IP-in-IP, GRE (three kinds over protocol 47 merge) and the UDP tunnels,
    // whose two directions use different outer ports.
    let protocols: BTreeSet<&str> = rows.iter().map(|r| r["protocol"].as_str()).collect();
    assert_eq!(protocols, BTreeSet::from(["4", "47", "17"]));
    assert_eq!(rows.iter().filter(|r| r["protocol"] == "47").count(), 1);
}

#[test]
fn the_tunnel_kind_is_part_of_the_key_and_non_ip_inside_stays_outer() {
    let dir = tempfile::tempdir().unwrap();
    let inner = ip4_udp((A, 5000), (B, 53), b"query");
    let arp_in_vxlan = over_udp(4789, &vxlan(7, &eth_raw(0x0806, &[0; 28])), true);
    let packets = vec![
        pkt(0, eth(&inner)),
        pkt(1, over_udp(4789, &vxlan(7, &eth(&inner)), true)),
        pkt(2, arp_in_vxlan.clone()),
    ];
    let path = dir.path().join("mirror.pcap");
    write_pcap(&path, LINKTYPE_ETHERNET, false, &packets);
    let rows = extract(&path, &[]);
    let summary: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["src_ip"].as_str(),
                r["dst_port"].as_str(),
                r["tunnel"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("10.0.0.1", "53", "none"),
            ("10.0.0.1", "53", "vxlan"),
            ("192.0.2.1", "4789", "none"),
        ]
    );
    assert_eq!(int(&rows[2], "byte_count"), arp_in_vxlan.len() as i64);
}

#[test]
fn nfstream_profile_decodes_gtp_and_ip_in_ip_only_with_its_tunnel_id() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = tunnelled_capture(dir.path());
    let rows = extract(&path, &["--profile", "nfstream"]);
    let find = |port: &str| {
        rows.iter()
            .find(|r| r["src_port"] == port || r["dst_port"] == port)
            .unwrap_or_else(|| panic!("no flow with port {port}: {rows:#?}"))
    };
    // IP-in-IP (#0) and GTP-U (#6): inner keys, tunnel_id 0 and 1.
    assert_eq!(
        (
            find("1000")["src_ip"].as_str(),
            find("1000")["tunnel_id"].as_str()
        ),
        ("10.0.0.1", "0")
    );
    assert_eq!(
        (
            find("1006")["src_ip"].as_str(),
            find("1006")["tunnel_id"].as_str()
        ),
        ("10.0.0.1", "1")
    );
    // VXLAN stays the outer UDP flow, as in NFStream.
    assert_eq!(find("4789")["src_ip"], "192.0.2.1");
    assert!(rows.iter().all(|r| r["src_port"] != "1004"));
}

#[test]
fn ppp_cisco_hdlc_and_radiotap_link_types() {
    let query = ip4_udp((A, 1000), (B, 53), b"query");
    let answer6 = ip6_udp((B6, 53), (A6, 1000), b"answer!");
    let cases: [(&str, u16, Vec<Vec<u8>>, &str); 3] = [
        (
            "ppp.pcap",
            LINKTYPE_PPP,
            vec![
                ppp(0x0021, &query),
                ppp(0x0057, &answer6),
                ppp(0xc021, &[1, 1, 0, 4]),
            ],
            "00:00:00:00:00:00",
        ),
        (
            "chdlc.pcap",
            LINKTYPE_C_HDLC,
            vec![
                chdlc(0x0800, &query),
                chdlc(0x86dd, &answer6),
                chdlc(0x8035, &[0; 18]),
            ],
            "00:00:00:00:00:00",
        ),
        (
            "radiotap.pcap",
            LINKTYPE_IEEE802_11_RADIOTAP,
            vec![
                radiotap_qos_data(&query),
                radiotap_qos_data(&answer6),
                radiotap_beacon(),
            ],
            "02:00:00:00:00:0a",
        ),
    ];
    for (name, linktype, frames, src_mac) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let lens: Vec<i64> = frames.iter().map(|f| f.len() as i64).collect();
        let packets: Vec<Pkt> = frames
            .into_iter()
            .enumerate()
            .map(|(i, f)| pkt(i as i64, f))
            .collect();
        write_pcap(&path, linktype, false, &packets);
        let (rows, stats) = extract_with_stats(&path, &[]);
        assert_eq!(stats["skipped"]["not_ip"], 1, "{name}: {stats}");
        assert_eq!(
            stats["skipped"]["unsupported_link_type"], 0,
            "{name}: {stats}"
        );
        // An IPv4 and an IPv6 flow, each one packet, bytes on the wire of the frame.
        let got: Vec<(&str, &str, i64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r["src_ip"].as_str(),
                    r["tunnel"].as_str(),
                    int(r, "byte_count"),
                    int(r, "fwd_payload_bytes"),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("10.0.0.1", "none", lens[0], 5),
                ("2001:db8::2", "none", lens[1], 7)
            ],
            "{name}"
        );
        let nf = extract(&path, &["--profile", "nfstream"]);
        assert_eq!(nf[0]["src_mac"], src_mac, "{name}");
    }
}

/// IPComp (docs/capture.md, "Tunnels"): a connection inside IP-in-IP whose
/// request travels compressed (tunnel mode, next header 4) and whose
/// response does not is one flow, `ipip`, with the request read; a
/// transport-mode datagram (next header 17) is the UDP flow of its own IP
/// header, with its uncompressed answer; a payload that is not DEFLATE stays
/// the IPComp packet of its outer flow and is counted. Without tunnels
/// (`--tunnels outer`) and in the nfstream profile nothing is inflated.
#[test]
fn ipcomp_payloads_are_inflated_and_join_their_uncompressed_flow() {
    let dir = tempfile::tempdir().unwrap();
    let request = b"GET /compressed HTTP/1.1\r\nHost: ipcomp.example\r\n\r\n";
    let response = b"HTTP/1.1 204 No Content\r\n\r\n";
    let inner_request = ip4_tcp((A, 1000), (B, 80), flags::ACK | flags::PSH, request);
    let inner_response = ip4_tcp((B, 80), (A, 1000), flags::ACK | flags::PSH, response);
    let compressed = eth(&ip4_carrying(
        OUTER_A,
        OUTER_B,
        108,
        &ipcomp(4, &inner_request),
    ));
    let plain = eth(&ip4_carrying(OUTER_B, OUTER_A, 4, &inner_response));
    let query = crate::util::capture::udp_datagram(5000, 53, b"query");
    let transport_mode = eth(&ip4_carrying(OUTER_A, OUTER_B, 108, &ipcomp(17, &query)));
    let answer = eth(&ip4_udp((OUTER_B, 53), (OUTER_A, 5000), b"answer!"));
    let garbage = eth(&ip4_carrying(
        OUTER_A,
        OUTER_B,
        108,
        &[4, 0, 0x12, 0x34, 0xff, 0xfe, 0xfd, 0xfc],
    ));
    let frames = [&compressed, &plain, &transport_mode, &answer, &garbage];
    let packets: Vec<Pkt> = (frames.iter().enumerate())
        .map(|(i, f)| pkt(i as i64, f.to_vec()))
        .collect();
    let path = dir.path().join("ipcomp.pcap");
    write_pcap(&path, LINKTYPE_ETHERNET, false, &packets);
    let (rows, stats) = extract_with_stats(&path, &[]);
    assert_eq!(stats["ipcomp_not_inflated"], 1, "{stats}");
    assert_eq!(rows.len(), 3, "{rows:#?}");
    let find = |protocol: &str| {
        (rows.iter().find(|r| r["protocol"] == protocol))
            .unwrap_or_else(|| panic!("no protocol {protocol}: {rows:#?}"))
    };
    let http = find("6");
    assert_eq!(
        (
            http["src_ip"].as_str(),
            http["dst_port"].as_str(),
            http["tunnel"].as_str()
        ),
        ("10.0.0.1", "80", "ipip")
    );
    assert_eq!(
        (int(http, "fwd_pkt_count"), int(http, "bwd_pkt_count")),
        (1, 1)
    );
    // Bytes on the wire are the frames as captured (compressed) ...
    assert_eq!(int(http, "fwd_byte_count"), compressed.len() as i64);
    assert_eq!(int(http, "bwd_byte_count"), plain.len() as i64);
    // ... the payload is the inflated TCP payload.
    assert_eq!(int(http, "fwd_payload_bytes"), request.len() as i64);
    assert_eq!(http["http_method"], "GET");
    assert_eq!(http["server_name"], "ipcomp.example");
    assert_eq!(http["http_status"], "204");
    let udp = find("17");
    assert_eq!(
        (
            udp["src_ip"].as_str(),
            udp["src_port"].as_str(),
            udp["tunnel"].as_str()
        ),
        ("192.0.2.1", "5000", "none")
    );
    assert_eq!(
        (int(udp, "fwd_payload_bytes"), int(udp, "bwd_payload_bytes")),
        (5, 7)
    );
    let outer = find("108");
    assert_eq!(
        (outer["src_ip"].as_str(), int(outer, "pkt_count")),
        ("192.0.2.1", 1)
    );
    // Not inflated: the three IPComp packets are one outer flow.
    for (args, packets) in [
        (&["--tunnels", "outer"][..], "pkt_count"),
        (&["--profile", "nfstream"], "bidirectional_packets"),
    ] {
        let (rows, stats) = extract_with_stats(&path, args);
        assert_eq!(stats["ipcomp_not_inflated"], 0, "{args:?}");
        let ipcomp_packets: i64 = (rows.iter())
            .filter(|r| r["protocol"] == "108")
            .map(|r| int(r, packets))
            .sum();
        assert_eq!(ipcomp_packets, 3, "{args:?}: {rows:#?}");
    }
}

// ---------------------------------------------------------------------------
// Corpus captures against TShark
// ---------------------------------------------------------------------------

/// Corpus captures with tunnels or the new link types, and the tunnel kinds
/// their flows must show.
const CORPUS: &[(&str, &[&str])] = &[
    // IPv4 in IPv6, then PPTP GRE with PPP: the outermost tunnel names the flow.
    ("zeek/gre-pptp.pcap", &["ipip"]),
    ("zeek/gre-sample.pcap", &["gre"]),
    ("zeek/erspanII.pcap", &["erspan"]),
    ("tcpdump/erspan-type-iii-ft-0.pcap", &["erspan"]),
    ("zeek/vxlan-encapsulated-http.pcap", &["vxlan"]),
    ("tcpdump/geneve.pcap", &["geneve"]),
    ("zeek/gtp7_ipv6.pcap", &["gtpu"]),
    // IPv6 in AYIYA; the heartbeats (no IP inside) stay the outer UDP flow.
    ("zeek/ayiya3.pcap", &["ayiya", "none"]),
    // IPv6 in IPv6 under AH, 7 of its 15 packets compressed with IPComp:
    // inflated, they join the uncompressed ones' flow.
    ("libpcap/AH-IPcomp-IPv6.pcap", &["ipip"]),
    ("zeek/4in4.pcap", &["ipip"]),
    ("zeek/6in6in6.pcap", &["ipip"]),
    ("ndpi/6in4tunnel.pcap", &["ipip"]),
    ("suricata-verify/ipv4_over_ipv4.pcap", &["ipip"]),
    ("zeek/radiotap.pcap", &["none"]),
    ("tcpdump/HDLC.pcap", &["none"]),
    ("suricata-verify/hdlc-http_1tx.pcap", &["none"]),
    ("ndpi/dlt_ppp.pcap", &["none"]),
];

/// TShark's innermost address pair of each IP packet (frame.protocols names the
/// IP layers in order; ip.src / ipv6.src list one address per layer), packets
/// with an IP layer, and their bytes on the wire. Addresses quoted inside ICMP
/// errors are not layers of the packet.
fn tshark_innermost(oracle: &Path) -> (BTreeSet<(String, String)>, i64, i64) {
    let text = std::fs::read_to_string(oracle).expect("oracle TSV");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (len, ip4s, ip4d, ip6s, ip6d, chain) = (
        col("frame.len"),
        col("ip.src"),
        col("ip.dst"),
        col("ipv6.src"),
        col("ipv6.dst"),
        col("frame.protocols"),
    );
    let (mut pairs, mut packets, mut bytes) = (BTreeSet::new(), 0, 0);
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (mut v4, mut v6, mut last) = (0usize, 0usize, None);
        for layer in f[chain].split(':') {
            match layer {
                "ip" => {
                    v4 += 1;
                    last = Some((ip4s, ip4d, v4));
                }
                "ipv6" => {
                    v6 += 1;
                    last = Some((ip6s, ip6d, v6));
                }
                "icmp" | "icmpv6" => break,
                _ => {}
            }
        }
        let Some((s, d, n)) = last else { continue };
        let nth = |c: usize| f[c].split(',').nth(n - 1).unwrap_or("").to_string();
        let (a, b) = (nth(s), nth(d));
        pairs.insert(if a <= b { (a, b) } else { (b, a) });
        packets += 1;
        bytes += f[len].parse::<i64>().unwrap();
    }
    (pairs, packets, bytes)
}

/// IPv6 addresses as TShark prints them (it compresses like RFC 5952, as flowq does).
fn pair(row: &Row) -> (String, String) {
    let (a, b) = (row["src_ip"].clone(), row["dst_ip"].clone());
    if a <= b { (a, b) } else { (b, a) }
}

#[test]
fn corpus_tunnels_and_link_types_match_tsharks_inner_addresses() {
    let Some(pcaps) = shared_pcaps() else {
        return;
    };
    for (capture, tunnels) in CORPUS {
        let path = pcaps.join(capture);
        let oracle = pcaps.join("oracle").join(format!("{capture}.tsv"));
        let (expected, packets, bytes) = tshark_innermost(&oracle);
        let rows = extract(&path, &[]);
        let got: BTreeSet<(String, String)> = rows.iter().map(pair).collect();
        assert_eq!(
            got, expected,
            "{capture}: address pairs (flowq vs TShark's innermost)"
        );
        let sum = |c: &str| rows.iter().map(|r| int(r, c)).sum::<i64>();
        assert_eq!(
            (sum("pkt_count"), sum("byte_count")),
            (packets, bytes),
            "{capture}"
        );
        let kinds: BTreeSet<&str> = rows.iter().map(|r| r["tunnel"].as_str()).collect();
        for tunnel in *tunnels {
            assert!(
                kinds.contains(tunnel),
                "{capture}: no `{tunnel}` flow in {kinds:?}"
            );
        }
        // Keyed on the outer header, no flow is tunnelled and the packets are the same.
        let outer = extract(&path, &["--tunnels", "outer"]);
        assert!(outer.iter().all(|r| r["tunnel"] == "none"), "{capture}");
        assert_eq!(
            outer.iter().map(|r| int(r, "pkt_count")).sum::<i64>(),
            packets,
            "{capture}"
        );
    }
}
