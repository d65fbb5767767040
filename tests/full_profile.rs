//! `--profile full` and `--profile nfstream`, checked against values worked out
//! by hand from `docs/features.md` (the arithmetic is in the comments), not from
//! the implementation.
//!
//! Frames are built here by hand (IPv4 with a chosen TOS and TTL, TCP with a
//! chosen sequence number, window and options) so that every field the
//! statistics read is under the test's control. Sizes on Ethernet:
//! Ethernet 14 + IPv4 20 + TCP 20 (+ options) + payload, or 14 + 20 + UDP 8 +
//! payload. So a TCP segment without options or payload is 54 bytes, one with
//! the 8 bytes of options used below (MSS, NOP, window scale) is 62, and a UDP
//! datagram with n bytes of payload is 42 + n.
//!
//! Every output is read back from Parquet (or CSV where the text form is the
//! point) into a map column -> value in which null is distinct from 0, and every
//! Float64 value read (lists included) is checked to be finite.
//!
//! Times are offsets from T0 = 1 700 000 000 s = 2023-11-14T22:13:20Z, in µs.

use crate::util::capture::{Ep4, Ep6, Pkt, T0_US, flags::*, internet_checksum, ip6_udp};
use crate::util::rows::{Out, Val, W, assert_finite, check, check_owned, extract_to, read_parquet};
use arrow::datatypes::DataType;
use std::collections::BTreeMap;

/// Microseconds per millisecond and per second.
const MS: i64 = 1_000;
const SEC: i64 = 1_000_000;
/// T0 in milliseconds (for the nfstream profile).
const T0_MS: i64 = T0_US / 1_000;

/// The client and the server of most tests.
const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/// The MAC address of an IPv4 host: OUI 00:1b:21 for odd last bytes, 3c:fd:fe for
/// even ones, then the last three bytes of the address. So the client 10.0.0.1
/// is 00:1b:21:00:00:01 and the server 10.0.0.2 is 3c:fd:fe:00:00:02.
fn mac_of(ip: [u8; 4]) -> [u8; 6] {
    let oui = if ip[3] % 2 == 1 {
        [0x00, 0x1b, 0x21]
    } else {
        [0x3c, 0xfd, 0xfe]
    };
    [oui[0], oui[1], oui[2], ip[1], ip[2], ip[3]]
}

/// An Ethernet II frame from `src` to `dst` around an IP packet: 14 + packet.
fn ether(src: [u8; 6], dst: [u8; 6], ethertype: u16, ip_packet: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(14 + ip_packet.len());
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(ip_packet);
    out
}

/// Transport layer of a [`P`].
#[derive(Debug, Clone)]
enum L4 {
    Tcp {
        flags: u8,
        seq: u32,
        ack: u32,
        win: u16,
        options: Vec<u8>,
    },
    Udp,
}

/// An IPv4 packet under construction, in an Ethernet frame whose MACs follow the
/// addresses ([`mac_of`]).
#[derive(Debug, Clone)]
struct P {
    from: Ep4,
    to: Ep4,
    ttl: u8,
    tos: u8,
    /// 4-byte words of IPv4 options (NOPs).
    ip_option_words: usize,
    payload: usize,
    l4: L4,
}

/// A TCP segment: sequence 0, ack 0, window 1000, no options, no payload, TTL
/// 64, TOS 0 until told otherwise.
fn tcp(from: Ep4, to: Ep4, flags: u8) -> P {
    P {
        from,
        to,
        ttl: 64,
        tos: 0,
        ip_option_words: 0,
        payload: 0,
        l4: L4::Tcp {
            flags,
            seq: 0,
            ack: 0,
            win: 1000,
            options: Vec::new(),
        },
    }
}

/// A UDP datagram with `payload` bytes, TTL 64, TOS 0.
fn udp(from: Ep4, to: Ep4, payload: usize) -> P {
    P {
        from,
        to,
        ttl: 64,
        tos: 0,
        ip_option_words: 0,
        payload,
        l4: L4::Udp,
    }
}

/// TCP options: MSS `mss`, NOP, window scale `shift` (4 + 1 + 3 = 8 bytes).
fn mss_ws(mss: u16, shift: u8) -> Vec<u8> {
    let m = mss.to_be_bytes();
    vec![2, 4, m[0], m[1], 1, 3, 3, shift]
}

impl P {
    fn seq(mut self, v: u32) -> P {
        if let L4::Tcp { seq, .. } = &mut self.l4 {
            *seq = v;
        }
        self
    }
    fn ack(mut self, v: u32) -> P {
        if let L4::Tcp { ack, .. } = &mut self.l4 {
            *ack = v;
        }
        self
    }
    fn win(mut self, v: u16) -> P {
        if let L4::Tcp { win, .. } = &mut self.l4 {
            *win = v;
        }
        self
    }
    fn opts(mut self, v: Vec<u8>) -> P {
        assert!(v.len().is_multiple_of(4));
        if let L4::Tcp { options, .. } = &mut self.l4 {
            *options = v;
        }
        self
    }
    fn data(mut self, n: usize) -> P {
        self.payload = n;
        self
    }
    fn ttl(mut self, v: u8) -> P {
        self.ttl = v;
        self
    }
    fn tos(mut self, v: u8) -> P {
        self.tos = v;
        self
    }
    fn ip_options(mut self, words: usize) -> P {
        self.ip_option_words = words;
        self
    }

    /// The same packet the other way (addresses and ports swapped).
    fn reversed(mut self) -> P {
        std::mem::swap(&mut self.from, &mut self.to);
        self
    }

    /// The transport header and payload, checksum included.
    fn transport(&self) -> (u8, Vec<u8>) {
        let body: Vec<u8> = (0..self.payload).map(|i| (i % 251) as u8).collect();
        let (proto, mut seg, csum_at) = match &self.l4 {
            L4::Tcp {
                flags,
                seq,
                ack,
                win,
                options,
            } => {
                let mut s = Vec::new();
                s.extend_from_slice(&self.from.1.to_be_bytes());
                s.extend_from_slice(&self.to.1.to_be_bytes());
                s.extend_from_slice(&seq.to_be_bytes());
                s.extend_from_slice(&ack.to_be_bytes());
                s.push((((20 + options.len()) / 4) as u8) << 4);
                s.push(*flags);
                s.extend_from_slice(&win.to_be_bytes());
                s.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
                s.extend_from_slice(options);
                (6u8, s, 16)
            }
            L4::Udp => {
                let mut s = Vec::new();
                s.extend_from_slice(&self.from.1.to_be_bytes());
                s.extend_from_slice(&self.to.1.to_be_bytes());
                s.extend_from_slice(&((8 + self.payload) as u16).to_be_bytes());
                s.extend_from_slice(&[0, 0]);
                (17u8, s, 6)
            }
        };
        seg.extend_from_slice(&body);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&self.from.0);
        pseudo.extend_from_slice(&self.to.0);
        pseudo.extend_from_slice(&[0, proto]);
        pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&seg);
        let mut csum = internet_checksum(&pseudo);
        if proto == 17 && csum == 0 {
            csum = 0xffff;
        }
        seg[csum_at..csum_at + 2].copy_from_slice(&csum.to_be_bytes());
        (proto, seg)
    }

    /// The IPv4 packet (20-byte header plus options, DF set, checksum correct).
    fn ip(&self) -> Vec<u8> {
        let (proto, seg) = self.transport();
        let hlen = 20 + 4 * self.ip_option_words;
        let mut h = vec![1u8; hlen]; // options: NOPs
        h[..20].fill(0);
        h[0] = 0x40 | (hlen / 4) as u8;
        h[1] = self.tos;
        h[2..4].copy_from_slice(&((hlen + seg.len()) as u16).to_be_bytes());
        h[6] = 0x40; // don't fragment
        h[8] = self.ttl;
        h[9] = proto;
        h[12..16].copy_from_slice(&self.from.0);
        h[16..20].copy_from_slice(&self.to.0);
        let csum = internet_checksum(&h);
        h[10..12].copy_from_slice(&csum.to_be_bytes());
        let mut out = h;
        out.extend_from_slice(&seg);
        out
    }

    /// The Ethernet frame.
    fn frame(&self) -> Vec<u8> {
        ether(mac_of(self.from.0), mac_of(self.to.0), 0x0800, &self.ip())
    }

    /// The packet captured at `us` µs after T0.
    fn at(&self, us: i64) -> Pkt {
        Pkt::new(T0_US + us, self.frame())
    }
}

// ---------------------------------------------------------------------------
// Running flowq
// ---------------------------------------------------------------------------

/// Writes `packets` as an Ethernet pcap (nanosecond magic with `nanos`), extracts
/// it to Parquet with `args` and reads the rows back.
fn extract_pcap(packets: &[Pkt], nanos: bool, args: &[&str]) -> Out {
    let (_dir, output) = extract_to(packets, nanos, "out.parquet", args);
    read_parquet(&output)
}

/// [`extract_pcap`] of a microsecond pcap.
fn extract(packets: &[Pkt], args: &[&str]) -> Out {
    extract_pcap(packets, false, args)
}

/// Extracts `packets` to CSV with `args`: the header and the rows as text.
fn extract_csv(packets: &[Pkt], args: &[&str]) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let (_dir, output) = extract_to(packets, false, "out.csv", args);
    let text = std::fs::read_to_string(&output).expect("read CSV");
    let mut records = parse_csv(&text).into_iter();
    let header = records.next().expect("CSV header");
    let rows = records
        .map(|cells| {
            assert_eq!(cells.len(), header.len(), "cells in {cells:?}");
            header.iter().cloned().zip(cells).collect()
        })
        .collect();
    (header, rows)
}

/// An RFC 4180 CSV parser (quoted fields may contain commas, quotes doubled).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => record.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                _ => field.push(c),
            }
        }
    }
    assert!(!quoted, "unterminated quote in CSV");
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

// ---------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------

/// `W::F` or `W::N`.
fn opt_f(v: Option<f64>) -> W {
    v.map_or(W::N, W::F)
}

/// `W::I` or `W::N`.
fn opt_i(v: Option<i64>) -> W {
    v.map_or(W::N, W::I)
}

/// Columns that are null for a flow whose `dir` ("fwd" or "bwd") sent nothing.
fn empty_direction(dir: &str) -> Vec<(String, W)> {
    [
        "pkt_len_min",
        "pkt_len_max",
        "pkt_len_mean",
        "pkt_len_std",
        "iat_min_us",
        "iat_max_us",
        "iat_mean_us",
        "iat_std_us",
        "ttl_min",
        "ttl_max",
        "init_win",
        "win_min",
        "win_max",
        "mss",
        "win_scale",
    ]
    .iter()
    .map(|c| (format!("{dir}_{c}"), W::N))
    .collect()
}

/// The columns of `standard`, in order (docs/features.md).
const STANDARD_COLUMNS: &[&str] = &[
    "flow_id",
    "src_ip",
    "dst_ip",
    "src_port",
    "dst_port",
    "protocol",
    "ip_version",
    "vlan_id",
    "tunnel",
    "first_seen",
    "last_seen",
    "duration",
    "pkt_count",
    "byte_count",
    "fwd_pkt_count",
    "bwd_pkt_count",
    "fwd_byte_count",
    "bwd_byte_count",
    "fwd_payload_bytes",
    "bwd_payload_bytes",
    "syn_count",
    "fin_count",
    "rst_count",
    "psh_count",
    "ack_count",
    "urg_count",
    "ece_count",
    "cwr_count",
    "end_reason",
];

/// The columns `full` adds after the standard ones, in the order of the tables of
/// docs/features.md, with their documented types.
fn full_extra_columns() -> Vec<(String, DataType)> {
    use DataType::*;
    let mut out: Vec<(String, DataType)> = Vec::new();
    let mut add = |name: String, t: DataType| out.push((name, t));
    for scope in ["", "fwd_", "bwd_"] {
        add(format!("{scope}pkt_len_min"), Int64);
        add(format!("{scope}pkt_len_max"), Int64);
        add(format!("{scope}pkt_len_mean"), Float64);
        add(format!("{scope}pkt_len_std"), Float64);
    }
    for scope in ["", "fwd_", "bwd_"] {
        for s in ["min", "max", "mean", "std"] {
            add(format!("{scope}iat_{s}_us"), Float64);
        }
    }
    for dir in ["fwd", "bwd"] {
        for f in ["syn", "fin", "rst", "psh", "ack", "urg", "ece", "cwr"] {
            add(format!("{dir}_{f}_count"), Int64);
        }
    }
    for c in [
        "fwd_header_bytes",
        "bwd_header_bytes",
        "fwd_payload_pkts",
        "bwd_payload_pkts",
    ] {
        add(c.to_string(), Int64);
    }
    for c in [
        "fwd_init_win",
        "bwd_init_win",
        "fwd_win_min",
        "fwd_win_max",
        "bwd_win_min",
        "bwd_win_max",
        "fwd_mss",
        "bwd_mss",
    ] {
        add(c.to_string(), Int32);
    }
    add("fwd_win_scale".into(), Int16);
    add("bwd_win_scale".into(), Int16);
    add("syn_to_synack_us".into(), Float64);
    add("synack_to_ack_us".into(), Float64);
    add("fwd_retrans_pkts".into(), Int64);
    add("bwd_retrans_pkts".into(), Int64);
    add("out_of_order_pkts".into(), Int64);
    for period in ["active", "idle"] {
        for s in ["min", "max", "mean", "std"] {
            add(format!("{period}_{s}_us"), Float64);
        }
    }
    for c in ["fwd_ttl_min", "fwd_ttl_max", "bwd_ttl_min", "bwd_ttl_max"] {
        add(c.to_string(), Int16);
    }
    add("dscp".into(), Int8);
    add("bytes_per_sec".into(), Float64);
    add("pkts_per_sec".into(), Float64);
    out
}

/// The element type of a list column.
fn list_item(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) => Some(f.data_type()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Scenario 1: a TCP connection with handshake, data both ways and FIN close
// ---------------------------------------------------------------------------

const C1: Ep4 = (CLIENT, 40000);
const S1: Ep4 = (SERVER, 80);

/// The ten packets of scenario 1, `base` µs after T0.
///
/// | # | t (µs) | dir | flags           | seq  | win   | options       | payload | TTL | TOS  | len |
/// |---|--------|-----|-----------------|------|-------|---------------|---------|-----|------|-----|
/// | 1 | 0      | C→S | SYN ECE CWR     | 1000 | 64240 | MSS 1460, WS 7| 0       | 64  | 0x2a | 62  |
/// | 2 | 1500   | S→C | SYN ACK ECE     | 5000 | 65160 | MSS 1400, WS 8| 0       | 55  | 0    | 62  |
/// | 3 | 1700   | C→S | ACK             | 1001 | 502   |               | 0       | 64  | 0    | 54  |
/// | 4 | 2000   | C→S | PSH ACK URG     | 1001 | 502   |               | 100     | 64  | 0    | 154 |
/// | 5 | 2600   | S→C | ACK             | 5001 | 510   |               | 0       | 55  | 0    | 54  |
/// | 6 | 3000   | S→C | PSH ACK         | 5001 | 509   |               | 300     | 56  | 0    | 354 |
/// | 7 | 3100   | C→S | ACK             | 1101 | 501   |               | 0       | 60  | 0    | 54  |
/// | 8 | 5000   | C→S | FIN ACK         | 1101 | 501   |               | 0       | 64  | 0    | 54  |
/// | 9 | 5400   | S→C | FIN ACK         | 5301 | 508   |               | 0       | 55  | 0    | 54  |
/// |10 | 5500   | C→S | ACK             | 1102 | 501   |               | 0       | 64  | 0    | 54  |
fn handshake_packets(base: i64) -> Vec<Pkt> {
    let (c, s) = (C1, S1);
    vec![
        tcp(c, s, SYN | ECE | CWR)
            .seq(1000)
            .win(64240)
            .opts(mss_ws(1460, 7))
            .tos(0x2a)
            .at(base),
        tcp(s, c, SYN | ACK | ECE)
            .seq(5000)
            .ack(1001)
            .win(65160)
            .opts(mss_ws(1400, 8))
            .ttl(55)
            .at(base + 1500),
        tcp(c, s, ACK).seq(1001).ack(5001).win(502).at(base + 1700),
        tcp(c, s, PSH | ACK | URG)
            .seq(1001)
            .ack(5001)
            .win(502)
            .data(100)
            .at(base + 2000),
        tcp(s, c, ACK)
            .seq(5001)
            .ack(1101)
            .win(510)
            .ttl(55)
            .at(base + 2600),
        tcp(s, c, PSH | ACK)
            .seq(5001)
            .ack(1101)
            .win(509)
            .data(300)
            .ttl(56)
            .at(base + 3000),
        tcp(c, s, ACK)
            .seq(1101)
            .ack(5301)
            .win(501)
            .ttl(60)
            .at(base + 3100),
        tcp(c, s, FIN | ACK)
            .seq(1101)
            .ack(5301)
            .win(501)
            .at(base + 5000),
        tcp(s, c, FIN | ACK)
            .seq(5301)
            .ack(1102)
            .win(508)
            .ttl(55)
            .at(base + 5400),
        tcp(c, s, ACK).seq(1102).ack(5302).win(501).at(base + 5500),
    ]
}

/// Scenario 1 starts 700 µs after T0 (the nfstream test floors it to ms).
const BASE1: i64 = 700;

#[test]
fn tcp_connection_statistics() {
    let out = extract(&handshake_packets(BASE1), &["--profile", "full"]);
    let row = out.only();
    use W::*;
    check(
        row,
        &[
            // --- standard columns -------------------------------------------
            ("flow_id", I(0)),
            ("src_ip", S("10.0.0.1")),
            ("dst_ip", S("10.0.0.2")),
            ("src_port", I(40000)),
            ("dst_port", I(80)),
            ("protocol", I(6)),
            ("first_seen", I(T0_US + BASE1)),
            ("last_seen", I(T0_US + BASE1 + 5500)),
            ("duration", F(0.0055)),
            // fwd: packets 1,3,4,7,8,10; bwd: 2,5,6,9
            ("pkt_count", I(10)),
            ("fwd_pkt_count", I(6)),
            ("bwd_pkt_count", I(4)),
            // fwd 62+54+154+54+54+54 = 432; bwd 62+54+354+54 = 524; total 956
            ("fwd_byte_count", I(432)),
            ("bwd_byte_count", I(524)),
            ("byte_count", I(956)),
            ("fwd_payload_bytes", I(100)),
            ("bwd_payload_bytes", I(300)),
            // SYN: 1,2; FIN: 8,9; PSH: 4,6; ACK: all but 1; URG: 4;
            // ECE: 1,2; CWR: 1
            ("syn_count", I(2)),
            ("fin_count", I(2)),
            ("rst_count", I(0)),
            ("psh_count", I(2)),
            ("ack_count", I(9)),
            ("urg_count", I(1)),
            ("ece_count", I(2)),
            ("cwr_count", I(1)),
            // the final ACK (10) trails the close inside the grace period
            ("end_reason", S("tcp_fin")),
            // --- per-direction flag counts (fwd + bwd = standard count) -----
            ("fwd_syn_count", I(1)),
            ("bwd_syn_count", I(1)),
            ("fwd_fin_count", I(1)),
            ("bwd_fin_count", I(1)),
            ("fwd_rst_count", I(0)),
            ("bwd_rst_count", I(0)),
            ("fwd_psh_count", I(1)),
            ("bwd_psh_count", I(1)),
            // fwd ACKs: 3,4,7,8,10 = 5; bwd: 2,5,6,9 = 4
            ("fwd_ack_count", I(5)),
            ("bwd_ack_count", I(4)),
            ("fwd_urg_count", I(1)),
            ("bwd_urg_count", I(0)),
            ("fwd_ece_count", I(1)),
            ("bwd_ece_count", I(1)),
            ("fwd_cwr_count", I(1)),
            ("bwd_cwr_count", I(0)),
            // --- headers and payload packets --------------------------------
            // fwd: SYN 20+28 = 48, five more at 20+20 = 40: 48 + 200 = 248
            // bwd: SYN+ACK 48, three at 40: 48 + 120 = 168
            ("fwd_header_bytes", I(248)),
            ("bwd_header_bytes", I(168)),
            ("fwd_payload_pkts", I(1)),
            ("bwd_payload_pkts", I(1)),
            // --- packet lengths ---------------------------------------------
            // all: 62,62,54,154,54,354,54,54,54,54: sum 956, mean 95.6;
            // squared deviations: 2*33.6^2 = 2257.92, 58.4^2 = 3410.56,
            // 258.4^2 = 66770.56, 6*41.6^2 = 10383.36; sum 82822.4;
            // std = sqrt(82822.4 / 9) = 95.9296
            ("pkt_len_min", I(54)),
            ("pkt_len_max", I(354)),
            ("pkt_len_mean", F(95.6)),
            ("pkt_len_std", F((82822.4f64 / 9.0).sqrt())),
            // fwd: 62,54,154,54,54,54: sum 432, mean 72; deviations -10, 82,
            // 4x -18: 100 + 6724 + 4*324 = 8120; std = sqrt(8120/5) = 40.2989
            ("fwd_pkt_len_min", I(54)),
            ("fwd_pkt_len_max", I(154)),
            ("fwd_pkt_len_mean", F(72.0)),
            ("fwd_pkt_len_std", F((8120.0f64 / 5.0).sqrt())),
            // bwd: 62,54,354,54: sum 524, mean 131; deviations -69, -77, 223,
            // -77: 4761 + 2*5929 + 49729 = 66348; std = sqrt(66348/3) = 148.7145
            ("bwd_pkt_len_min", I(54)),
            ("bwd_pkt_len_max", I(354)),
            ("bwd_pkt_len_mean", F(131.0)),
            ("bwd_pkt_len_std", F((66348.0f64 / 3.0).sqrt())),
            // --- inter-arrival times ----------------------------------------
            // all: 1500,200,300,600,400,100,1900,400,100 (sum 5500, n 9):
            // mean 611.111; sum of squares 6 690 000; sum of squared deviations
            // 6 690 000 - 5500^2/9 = 3 328 888.9; std = sqrt(that / 8) = 645.0667
            ("iat_min_us", F(100.0)),
            ("iat_max_us", F(1900.0)),
            ("iat_mean_us", F(5500.0 / 9.0)),
            (
                "iat_std_us",
                F(((6_690_000.0 - 5500.0f64.powi(2) / 9.0) / 8.0).sqrt()),
            ),
            // fwd at 0,1700,2000,3100,5000,5500: 1700,300,1100,1900,500;
            // mean 1100; deviations 600,-800,0,800,-600: 2 000 000;
            // std = sqrt(2e6/4) = 707.1068
            ("fwd_iat_min_us", F(300.0)),
            ("fwd_iat_max_us", F(1900.0)),
            ("fwd_iat_mean_us", F(1100.0)),
            ("fwd_iat_std_us", F(500_000.0f64.sqrt())),
            // bwd at 1500,2600,3000,5400: 1100,400,2400; mean 1300;
            // deviations -200,-900,1100: 40 000 + 810 000 + 1 210 000 = 2 060 000;
            // std = sqrt(2 060 000 / 2) = 1014.8892
            ("bwd_iat_min_us", F(400.0)),
            ("bwd_iat_max_us", F(2400.0)),
            ("bwd_iat_mean_us", F(1300.0)),
            ("bwd_iat_std_us", F(1_030_000.0f64.sqrt())),
            // --- TCP --------------------------------------------------------
            ("fwd_init_win", I(64240)),
            ("bwd_init_win", I(65160)),
            // fwd windows 64240,502,502,501,501,501; bwd 65160,510,509,508
            ("fwd_win_min", I(501)),
            ("fwd_win_max", I(64240)),
            ("bwd_win_min", I(508)),
            ("bwd_win_max", I(65160)),
            ("fwd_mss", I(1460)),
            ("bwd_mss", I(1400)),
            ("fwd_win_scale", I(7)),
            ("bwd_win_scale", I(8)),
            // SYN at 0, SYN+ACK at 1500, ACK at 1700
            ("syn_to_synack_us", F(1500.0)),
            ("synack_to_ack_us", F(200.0)),
            ("fwd_retrans_pkts", I(0)),
            ("bwd_retrans_pkts", I(0)),
            // --- timing, activity, IP ---------------------------------------
            ("out_of_order_pkts", I(0)),
            // no gap above 5 s: one active period 0..5500
            ("active_min_us", F(5500.0)),
            ("active_max_us", F(5500.0)),
            ("active_mean_us", F(5500.0)),
            ("active_std_us", N),
            ("idle_min_us", N),
            ("idle_max_us", N),
            ("idle_mean_us", N),
            ("idle_std_us", N),
            // fwd TTLs 64,64,64,60,64,64; bwd 55,55,56,55
            ("fwd_ttl_min", I(60)),
            ("fwd_ttl_max", I(64)),
            ("bwd_ttl_min", I(55)),
            ("bwd_ttl_max", I(56)),
            // TOS 0x2a of the SYN = DSCP 10 (AF11) << 2 | ECN 2
            ("dscp", I(10)),
            // 956 bytes / 0.0055 s = 173 818.18; 10 / 0.0055 = 1818.18
            ("bytes_per_sec", F(956.0 / 0.0055)),
            ("pkts_per_sec", F(10.0 / 0.0055)),
            // --- SPLT (default 10: the whole flow) --------------------------
            ("splt_direction", LI(vec![0, 1, 0, 0, 1, 1, 0, 0, 1, 0])),
            (
                "splt_pkt_len",
                LI(vec![62, 62, 54, 154, 54, 354, 54, 54, 54, 54]),
            ),
            (
                "splt_iat_us",
                LF(vec![
                    0.0, 1500.0, 200.0, 300.0, 600.0, 400.0, 100.0, 1900.0, 400.0, 100.0,
                ]),
            ),
        ],
    );
    // fwd_X_count + bwd_X_count = X_count for every flag.
    for f in ["syn", "fin", "rst", "psh", "ack", "urg", "ece", "cwr"] {
        let get = |c: String| match row[&c] {
            Val::I(v) => v,
            ref other => panic!("{c} = {other:?}"),
        };
        assert_eq!(
            get(format!("fwd_{f}_count")) + get(format!("bwd_{f}_count")),
            get(format!("{f}_count")),
            "{f}"
        );
    }
}

// ---------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------

#[test]
fn full_profile_columns_are_standard_then_the_documented_ones_with_their_types() {
    // Without the application columns, which both profiles end with (their
    // order and values: tests/app.rs).
    let out = extract(&handshake_packets(0), &["--profile", "full", "--no-app"]);
    let standard = extract(&handshake_packets(0), &["--no-app"]);
    let names = out.names();
    assert_eq!(standard.names(), STANDARD_COLUMNS, "standard header");
    assert_eq!(
        &names[..STANDARD_COLUMNS.len()],
        STANDARD_COLUMNS,
        "full starts with the standard columns in order"
    );
    for (name, t) in &standard.columns {
        assert_eq!(out.data_type(name), t, "type of {name} in full vs standard");
    }
    let mut expected = full_extra_columns();
    expected.push(("splt_direction".into(), DataType::Int8));
    expected.push(("splt_pkt_len".into(), DataType::Int32));
    expected.push(("splt_iat_us".into(), DataType::Float64));
    let got_extra: Vec<&str> = names[STANDARD_COLUMNS.len()..].to_vec();
    let want_extra: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        got_extra, want_extra,
        "full's extra columns in the order of docs/features.md"
    );
    let mut wrong = Vec::new();
    for (name, want) in &expected {
        let got = out.data_type(name);
        let got = if name.starts_with("splt_") {
            list_item(got).unwrap_or_else(|| panic!("{name} is a list, got {got}"))
        } else {
            got
        };
        if got != want {
            wrong.push(format!("  {name}: expected {want}, got {got}"));
        }
    }
    assert!(wrong.is_empty(), "column types:\n{}", wrong.join("\n"));
    // The standard columns are the standard profile's values (same rows).
    for (name, _) in &standard.columns {
        assert_eq!(
            out.only()[name],
            standard.only()[name],
            "{name}: full and standard differ"
        );
    }
}

// ---------------------------------------------------------------------------
// Scenarios 2-4: one packet, one direction, zero duration
// ---------------------------------------------------------------------------

#[test]
fn one_packet_udp_flow_has_null_spreads_iats_rates_and_activity() {
    // A -> B, 30 bytes of payload: 42 + 30 = 72 bytes on the wire.
    let out = extract(
        &[udp((CLIENT, 5000), (SERVER, 53), 30).at(0)],
        &["--profile", "full"],
    );
    let row = out.only();
    use W::*;
    let mut expected: Vec<(String, W)> = vec![
        ("pkt_count".into(), I(1)),
        ("duration".into(), F(0.0)),
        ("pkt_len_min".into(), I(72)),
        ("pkt_len_max".into(), I(72)),
        ("pkt_len_mean".into(), F(72.0)),
        ("pkt_len_std".into(), N),
        ("fwd_pkt_len_min".into(), I(72)),
        ("fwd_pkt_len_max".into(), I(72)),
        ("fwd_pkt_len_mean".into(), F(72.0)),
        ("fwd_pkt_len_std".into(), N),
        ("fwd_header_bytes".into(), I(28)),
        ("bwd_header_bytes".into(), I(0)),
        ("fwd_payload_pkts".into(), I(1)),
        ("bwd_payload_pkts".into(), I(0)),
        ("syn_to_synack_us".into(), N),
        ("synack_to_ack_us".into(), N),
        // "0 for non-TCP flows", not null
        ("fwd_retrans_pkts".into(), I(0)),
        ("bwd_retrans_pkts".into(), I(0)),
        ("out_of_order_pkts".into(), I(0)),
        ("fwd_ttl_min".into(), I(64)),
        ("fwd_ttl_max".into(), I(64)),
        ("dscp".into(), I(0)),
        ("bytes_per_sec".into(), N),
        ("pkts_per_sec".into(), N),
        ("splt_direction".into(), LI(vec![0])),
        ("splt_pkt_len".into(), LI(vec![72])),
        ("splt_iat_us".into(), LF(vec![0.0])),
    ];
    for scope in ["", "fwd_", "bwd_"] {
        for s in ["min", "max", "mean", "std"] {
            expected.push((format!("{scope}iat_{s}_us"), N));
        }
    }
    for period in ["active", "idle"] {
        for s in ["min", "max", "mean", "std"] {
            expected.push((format!("{period}_{s}_us"), N));
        }
    }
    // Non-TCP: flag counts are 0 (never null), TCP columns null in both directions.
    for dir in ["fwd", "bwd"] {
        for f in ["syn", "fin", "rst", "psh", "ack", "urg", "ece", "cwr"] {
            expected.push((format!("{dir}_{f}_count"), I(0)));
        }
        for c in ["init_win", "win_min", "win_max", "mss", "win_scale"] {
            expected.push((format!("{dir}_{c}"), N));
        }
    }
    expected.extend(empty_direction("bwd"));
    check_owned(row, &expected);
}

#[test]
fn one_direction_udp_flow_has_null_backward_statistics() {
    // A -> B at 0, 1000, 4000 µs with 10, 20, 60 bytes: 52, 62, 102 on the wire.
    let a = (CLIENT, 6000);
    let b = (SERVER, 7000);
    let out = extract(
        &[
            udp(a, b, 10).at(0),
            udp(a, b, 20).ttl(50).at(1000),
            udp(a, b, 60).ttl(70).at(4000),
        ],
        &["--profile", "full"],
    );
    let row = out.only();
    use W::*;
    let mut expected: Vec<(String, W)> = vec![
        ("fwd_pkt_count".into(), I(3)),
        ("bwd_pkt_count".into(), I(0)),
        ("bwd_byte_count".into(), I(0)),
        // lengths 52, 62, 102: mean 72; deviations -20, -10, 30:
        // 400 + 100 + 900 = 1400; std = sqrt(1400 / 2) = 26.4575
        ("pkt_len_min".into(), I(52)),
        ("pkt_len_max".into(), I(102)),
        ("pkt_len_mean".into(), F(72.0)),
        ("pkt_len_std".into(), F(700.0f64.sqrt())),
        ("fwd_pkt_len_min".into(), I(52)),
        ("fwd_pkt_len_max".into(), I(102)),
        ("fwd_pkt_len_mean".into(), F(72.0)),
        ("fwd_pkt_len_std".into(), F(700.0f64.sqrt())),
        // IATs 1000, 3000: mean 2000; std = sqrt((1000^2 + 1000^2) / 1) = 1414.2136
        ("iat_min_us".into(), F(1000.0)),
        ("iat_max_us".into(), F(3000.0)),
        ("iat_mean_us".into(), F(2000.0)),
        ("iat_std_us".into(), F(2_000_000.0f64.sqrt())),
        ("fwd_iat_min_us".into(), F(1000.0)),
        ("fwd_iat_max_us".into(), F(3000.0)),
        ("fwd_iat_mean_us".into(), F(2000.0)),
        ("fwd_iat_std_us".into(), F(2_000_000.0f64.sqrt())),
        ("bwd_iat_std_us".into(), N),
        // 3 x 28
        ("fwd_header_bytes".into(), I(84)),
        ("bwd_header_bytes".into(), I(0)),
        ("fwd_payload_pkts".into(), I(3)),
        ("bwd_payload_pkts".into(), I(0)),
        // TTLs 64, 50, 70
        ("fwd_ttl_min".into(), I(50)),
        ("fwd_ttl_max".into(), I(70)),
        // one active period 0..4000
        ("active_min_us".into(), F(4000.0)),
        ("active_max_us".into(), F(4000.0)),
        ("active_mean_us".into(), F(4000.0)),
        ("active_std_us".into(), N),
        ("idle_min_us".into(), N),
        // 216 bytes / 0.004 s = 54 000; 3 / 0.004 = 750
        ("duration".into(), F(0.004)),
        ("bytes_per_sec".into(), F(54_000.0)),
        ("pkts_per_sec".into(), F(750.0)),
        ("splt_direction".into(), LI(vec![0, 0, 0])),
        ("splt_pkt_len".into(), LI(vec![52, 62, 102])),
        ("splt_iat_us".into(), LF(vec![0.0, 1000.0, 3000.0])),
    ];
    expected.extend(empty_direction("bwd"));
    check_owned(row, &expected);
}

#[test]
fn zero_duration_flow_has_zero_iats_and_null_rates() {
    // Three packets stamped at the same microsecond: A->B 42+8, A->B 42+16,
    // B->A 42+24.
    let a = (CLIENT, 6100);
    let b = (SERVER, 7100);
    let out = extract(
        &[udp(a, b, 8).at(0), udp(a, b, 16).at(0), udp(b, a, 24).at(0)],
        &["--profile", "full"],
    );
    let row = out.only();
    use W::*;
    check(
        row,
        &[
            ("pkt_count", I(3)),
            ("duration", F(0.0)),
            // flow IATs 0, 0: min = max = mean = 0, std of two zeros = 0 (not null)
            ("iat_min_us", F(0.0)),
            ("iat_max_us", F(0.0)),
            ("iat_mean_us", F(0.0)),
            ("iat_std_us", F(0.0)),
            // fwd: one IAT of 0; std needs two
            ("fwd_iat_min_us", F(0.0)),
            ("fwd_iat_max_us", F(0.0)),
            ("fwd_iat_mean_us", F(0.0)),
            ("fwd_iat_std_us", N),
            // bwd: one packet, no IAT
            ("bwd_iat_min_us", N),
            ("bwd_iat_max_us", N),
            ("bwd_iat_mean_us", N),
            ("bwd_iat_std_us", N),
            // lengths 50, 58, 66: mean 58, std sqrt((64 + 0 + 64) / 2) = 8
            ("pkt_len_mean", F(58.0)),
            ("pkt_len_std", F(8.0)),
            ("bwd_pkt_len_min", I(66)),
            ("bwd_pkt_len_mean", F(66.0)),
            ("bwd_pkt_len_std", N),
            // duration 0: rates undefined
            ("bytes_per_sec", N),
            ("pkts_per_sec", N),
            // one active period of length 0: not counted
            ("active_min_us", N),
            ("active_max_us", N),
            ("active_mean_us", N),
            ("active_std_us", N),
            ("idle_min_us", N),
            ("out_of_order_pkts", I(0)),
            ("splt_iat_us", LF(vec![0.0, 0.0, 0.0])),
        ],
    );
}

#[test]
fn nanosecond_capture_keeps_fractions_of_a_microsecond() {
    // Nanosecond pcap: A->B at 0 ns, B->A at 1500 ns, A->B at 4250 ns (UDP 50 B each).
    let a = (CLIENT, 6200);
    let b = (SERVER, 7200);
    let t0 = T0_US * 1_000;
    let out = extract_pcap(
        &[
            Pkt::at_ns(t0, udp(a, b, 8).frame()),
            Pkt::at_ns(t0 + 1500, udp(b, a, 8).frame()),
            Pkt::at_ns(t0 + 4250, udp(a, b, 8).frame()),
        ],
        true,
        &["--profile", "full"],
    );
    use W::*;
    check(
        out.only(),
        &[
            // duration 4250 ns = 4.25e-6 s
            ("duration", F(4.25e-6)),
            // IATs 1.5 µs and 2.75 µs
            ("iat_min_us", F(1.5)),
            ("iat_max_us", F(2.75)),
            ("iat_mean_us", F(2.125)),
            // deviations ±0.625: std = sqrt(2 * 0.390625 / 1) = 0.883883
            ("iat_std_us", F((2.0f64 * 0.625 * 0.625).sqrt())),
            ("fwd_iat_min_us", F(4.25)),
            ("bwd_iat_min_us", N),
            ("active_min_us", F(4.25)),
            // 150 bytes / 4.25e-6 s; 3 / 4.25e-6
            ("bytes_per_sec", F(150.0 / 4.25e-6)),
            ("pkts_per_sec", F(3.0 / 4.25e-6)),
            ("splt_iat_us", LF(vec![0.0, 1.5, 2.75])),
        ],
    );
}

// ---------------------------------------------------------------------------
// TCP details
// ---------------------------------------------------------------------------

#[test]
fn unanswered_syns_leave_the_backward_tcp_columns_null() {
    let c = (CLIENT, 40010);
    let s = (SERVER, 22);
    // SYN without options (win 1024, 54 B), retransmitted at 1 s with MSS 1380 and
    // WS 15 (win 29200, 62 B), again at 3 s with MSS 536 and WS 2 (62 B).
    let out = extract(
        &[
            tcp(c, s, SYN).seq(7).win(1024).at(0),
            tcp(c, s, SYN)
                .seq(7)
                .win(29200)
                .opts(mss_ws(1380, 15))
                .at(SEC),
            tcp(c, s, SYN)
                .seq(7)
                .win(29200)
                .opts(mss_ws(536, 2))
                .at(3 * SEC),
        ],
        &["--profile", "full"],
    );
    use W::*;
    let mut expected: Vec<(String, W)> = vec![
        ("pkt_count".into(), I(3)),
        ("syn_count".into(), I(3)),
        ("fwd_syn_count".into(), I(3)),
        ("bwd_syn_count".into(), I(0)),
        ("fwd_init_win".into(), I(1024)),
        ("fwd_win_min".into(), I(1024)),
        ("fwd_win_max".into(), I(29200)),
        // the first SYN that carried the option; WS 15 as sent (above RFC 7323's 14)
        ("fwd_mss".into(), I(1380)),
        ("fwd_win_scale".into(), I(15)),
        ("syn_to_synack_us".into(), N),
        ("synack_to_ack_us".into(), N),
        // SYNs carry no payload: not retransmissions
        ("fwd_retrans_pkts".into(), I(0)),
        ("fwd_payload_pkts".into(), I(0)),
        // 40 + 48 + 48
        ("fwd_header_bytes".into(), I(136)),
        // 54, 62, 62
        ("pkt_len_min".into(), I(54)),
        ("pkt_len_max".into(), I(62)),
        // gaps 1 s and 2 s: one active period of 3 s
        ("active_min_us".into(), F(3e6)),
        ("active_std_us".into(), N),
        ("idle_min_us".into(), N),
        ("end_reason".into(), S("end_of_capture")),
    ];
    expected.extend(empty_direction("bwd"));
    check_owned(out.only(), &expected);
}

#[test]
fn flow_first_seen_as_syn_ack_counts_it_backward() {
    let c = (CLIENT, 40020);
    let s = (SERVER, 443);
    // S->C SYN+ACK (62 B) at 0, C->S ACK (54) at 300, C->S 20 bytes (74) at 1000,
    // S->C ACK (54) at 1400.
    let out = extract(
        &[
            tcp(s, c, SYN | ACK)
                .seq(5000)
                .ack(1001)
                .win(65160)
                .opts(mss_ws(1400, 8))
                .ttl(50)
                .at(0),
            tcp(c, s, ACK).seq(1001).ack(5001).win(502).at(300),
            tcp(c, s, PSH | ACK)
                .seq(1001)
                .ack(5001)
                .win(502)
                .data(20)
                .at(1000),
            tcp(s, c, ACK).seq(5001).ack(1021).win(509).ttl(50).at(1400),
        ],
        &["--profile", "full"],
    );
    use W::*;
    check(
        out.only(),
        &[
            ("src_ip", S("10.0.0.1")),
            ("src_port", I(40020)),
            ("fwd_pkt_count", I(2)),
            ("bwd_pkt_count", I(2)),
            ("fwd_syn_count", I(0)),
            ("bwd_syn_count", I(1)),
            ("fwd_ack_count", I(2)),
            ("bwd_ack_count", I(2)),
            ("bwd_mss", I(1400)),
            ("bwd_win_scale", I(8)),
            ("fwd_mss", N),
            ("fwd_win_scale", N),
            ("bwd_init_win", I(65160)),
            ("fwd_init_win", I(502)),
            ("bwd_win_min", I(509)),
            ("bwd_win_max", I(65160)),
            ("fwd_ttl_min", I(64)),
            ("bwd_ttl_max", I(50)),
            // no SYN from src was seen
            ("syn_to_synack_us", N),
            // fwd 54 + 74; bwd 62 + 54
            ("fwd_pkt_len_mean", F(64.0)),
            ("bwd_pkt_len_mean", F(58.0)),
            // fwd at 300, 1000; bwd at 0, 1400
            ("fwd_iat_mean_us", F(700.0)),
            ("bwd_iat_mean_us", F(1400.0)),
            // the first packet is backward; DSCP is the first packet's
            ("dscp", I(0)),
            ("splt_direction", LI(vec![1, 0, 0, 1])),
            ("splt_pkt_len", LI(vec![62, 54, 74, 54])),
            ("splt_iat_us", LF(vec![0.0, 300.0, 700.0, 400.0])),
        ],
    );
}

#[test]
fn syn_ack_only_flow_has_null_forward_statistics() {
    // A lone SYN+ACK: the flow is turned around and src (the client) sent nothing.
    // The "empty set is null" rule then applies to the fwd columns (the spec's
    // "always at least one forward packet" does not hold for this flow; see the
    // `standard` profile's fwd_pkt_count).
    let c = (CLIENT, 40021);
    let s = (SERVER, 443);
    let out = extract(
        &[tcp(s, c, SYN | ACK)
            .seq(5000)
            .ack(1001)
            .win(65160)
            .opts(mss_ws(1400, 8))
            .at(0)],
        &["--profile", "full"],
    );
    use W::*;
    let mut expected: Vec<(String, W)> = vec![
        ("src_ip".into(), S("10.0.0.1")),
        ("fwd_pkt_count".into(), I(0)),
        ("bwd_pkt_count".into(), I(1)),
        ("bwd_pkt_len_min".into(), I(62)),
        ("bwd_pkt_len_std".into(), N),
        ("pkt_len_min".into(), I(62)),
        ("bwd_mss".into(), I(1400)),
        ("bwd_init_win".into(), I(65160)),
        ("fwd_header_bytes".into(), I(0)),
        ("bwd_header_bytes".into(), I(48)),
        ("splt_direction".into(), LI(vec![1])),
    ];
    expected.extend(empty_direction("fwd"));
    check_owned(out.only(), &expected);
}

#[test]
fn retransmissions_are_segments_that_add_no_new_sequence_numbers() {
    let s = (SERVER, 80);
    let c = (CLIENT, 40001);
    // seq/len -> end (seq + len, +1 for SYN); "highest" is the highest end before.
    let flow_r = vec![
        tcp(c, s, SYN).seq(1000).at(0),                   // end 1001
        tcp(s, c, SYN | ACK).seq(5000).ack(1001).at(100), // bwd end 5001
        tcp(c, s, ACK).seq(1001).ack(5001).at(200),       // no payload
        tcp(c, s, PSH | ACK).seq(1001).data(100).at(300), // end 1101: new
        tcp(s, c, PSH | ACK).seq(5001).data(50).at(400),  // bwd end 5051: new
        tcp(c, s, PSH | ACK).seq(1001).data(100).at(500), // end 1101 <= 1101: RETRANS 1
        tcp(c, s, ACK).seq(1101).at(600),                 // pure ACK: not counted
        tcp(c, s, ACK).seq(1100).at(700),                 // 0-byte keep-alive: not counted
        tcp(c, s, ACK).seq(1100).data(1).at(800),         // 1-byte keep-alive, end 1101: RETRANS 2
        tcp(c, s, PSH | ACK).seq(1051).data(100).at(900), // end 1151 > 1101: extends, new
        tcp(s, c, PSH | ACK).seq(5001).data(50).at(1000), // bwd end 5051 <= 5051: RETRANS 1
        tcp(s, c, ACK).seq(5051).at(1100),                // no payload
        tcp(s, c, ACK).seq(5051).at(1200),                // duplicate ACK, no payload
    ];
    // Sequence numbers wrapping past 2^32: ISN 2^32 - 101 = 4 294 967 195.
    let wrap = |port: u16, retransmit: bool, start: i64| {
        let c = (CLIENT, port);
        let isn: u32 = u32::MAX - 100;
        let mut p = vec![
            tcp(c, s, SYN).seq(isn).at(start), // end 4 294 967 196
            tcp(s, c, SYN | ACK)
                .seq(9)
                .ack(isn.wrapping_add(1))
                .at(start + 10),
            // 4 294 967 196 + 100 = 2^32 -> end 0, serially after 4 294 967 196
            tcp(c, s, PSH | ACK)
                .seq(isn.wrapping_add(1))
                .data(100)
                .at(start + 20),
            tcp(c, s, PSH | ACK).seq(0).data(100).at(start + 30), // end 100: new
            tcp(c, s, PSH | ACK).seq(100).data(100).at(start + 40), // end 200: new
        ];
        if retransmit {
            // the segment before the wrap (end 0) and the one after it (end 100),
            // both serially before the highest end 200: two retransmissions
            p.push(
                tcp(c, s, PSH | ACK)
                    .seq(isn.wrapping_add(1))
                    .data(100)
                    .at(start + 50),
            );
            p.push(tcp(c, s, PSH | ACK).seq(0).data(100).at(start + 60));
        }
        p
    };
    let mut packets = flow_r;
    packets.extend(wrap(40002, false, 10 * MS));
    packets.extend(wrap(40003, true, 20 * MS));
    let out = extract(&packets, &["--profile", "full"]);
    use W::*;
    check(
        out.row_where("src_port", 40001),
        &[
            ("fwd_retrans_pkts", I(2)),
            ("bwd_retrans_pkts", I(1)),
            // fwd data: 300, 500, 800, 900; bwd: 400, 1000
            ("fwd_payload_pkts", I(4)),
            ("bwd_payload_pkts", I(2)),
            ("fwd_payload_bytes", I(301)),
            ("bwd_payload_bytes", I(100)),
        ],
    );
    check(
        out.row_where("src_port", 40002),
        &[
            ("fwd_retrans_pkts", I(0)),
            ("bwd_retrans_pkts", I(0)),
            ("fwd_payload_pkts", I(3)),
        ],
    );
    check(
        out.row_where("src_port", 40003),
        &[
            ("fwd_retrans_pkts", I(2)),
            ("bwd_retrans_pkts", I(0)),
            ("fwd_payload_pkts", I(5)),
        ],
    );
}

// ---------------------------------------------------------------------------
// Active and idle periods
// ---------------------------------------------------------------------------

#[test]
fn active_and_idle_periods() {
    // Packets at 0, 1, 2, 10, 11, 30 s (both directions).
    // Gaps 1, 1, 8, 1, 19 s; those above 5 s (8, 19) are idle periods and split
    // the packets into active periods [0, 2] = 2 s, [10, 11] = 1 s and [30] = 0
    // (a lone packet, not counted).
    let a = (CLIENT, 6300);
    let b = (SERVER, 7300);
    let out = extract(
        &[
            udp(a, b, 10).at(0),
            udp(b, a, 10).at(SEC),
            udp(a, b, 10).at(2 * SEC),
            udp(b, a, 10).at(10 * SEC),
            udp(a, b, 10).at(11 * SEC),
            udp(a, b, 10).at(30 * SEC),
        ],
        &["--profile", "full"],
    );
    use W::*;
    check(
        out.only(),
        &[
            ("pkt_count", I(6)),
            // active [2e6, 1e6]: mean 1.5e6, std sqrt(2 * 0.5e6^2 / 1) = 707 106.78
            ("active_min_us", F(1e6)),
            ("active_max_us", F(2e6)),
            ("active_mean_us", F(1.5e6)),
            ("active_std_us", F(0.5e6 * 2.0f64.sqrt())),
            // idle [8e6, 19e6]: mean 13.5e6, std sqrt(2 * 5.5e6^2 / 1) = 7 778 174.6
            ("idle_min_us", F(8e6)),
            ("idle_max_us", F(19e6)),
            ("idle_mean_us", F(13.5e6)),
            ("idle_std_us", F(5.5e6 * 2.0f64.sqrt())),
            ("duration", F(30.0)),
            // 6 x 52 = 312 bytes / 30 s
            ("bytes_per_sec", F(312.0 / 30.0)),
            ("pkts_per_sec", F(0.2)),
        ],
    );
}

#[test]
fn a_gap_of_exactly_five_seconds_stays_in_the_active_period() {
    // Packets at 0, 5 s, 10.000001 s: the 5 s gap is "at most 5 s" (same period),
    // the 5.000001 s gap is idle. Active [5e6] (the last packet is alone), idle
    // [5 000 001].
    let a = (CLIENT, 6400);
    let b = (SERVER, 7400);
    let out = extract(
        &[
            udp(a, b, 1).at(0),
            udp(b, a, 1).at(5 * SEC),
            udp(a, b, 1).at(10 * SEC + 1),
        ],
        &["--profile", "full"],
    );
    use W::*;
    check(
        out.only(),
        &[
            ("active_min_us", F(5e6)),
            ("active_max_us", F(5e6)),
            ("active_mean_us", F(5e6)),
            ("active_std_us", N),
            ("idle_min_us", F(5_000_001.0)),
            ("idle_max_us", F(5_000_001.0)),
            ("idle_mean_us", F(5_000_001.0)),
            ("idle_std_us", N),
        ],
    );
}

// ---------------------------------------------------------------------------
// SPLT
// ---------------------------------------------------------------------------

/// A 12-packet UDP flow (ports 1111 -> 2222) and, 100 ms later, a 3-packet flow
/// (3333 -> 4444) whose last packet is stamped before its second.
///
/// 12-packet flow: packet i (0..12) has direction DIRS[i], 10*i bytes of payload
/// (42 + 10 i on the wire) and time 100 i^2 µs, so the IAT before packet i is
/// 100 (i^2 - (i-1)^2) = 100 (2i - 1): 100, 300, 500, ...
///
/// 3-packet flow: A->B 5 B (47) at 100 000, B->A 6 B (48) at 102 000, A->B 7 B
/// (49) at 101 500 (out of order).
fn splt_packets() -> Vec<Pkt> {
    const DIRS: [u8; 12] = [0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1];
    let a = (CLIENT, 1111);
    let b = (SERVER, 2222);
    let mut out: Vec<Pkt> = (0..12)
        .map(|i| {
            let p = udp(a, b, 10 * i);
            let p = if DIRS[i] == 1 { p.reversed() } else { p };
            p.at(100 * (i as i64) * (i as i64))
        })
        .collect();
    let a = (CLIENT, 3333);
    let b = (SERVER, 4444);
    out.push(udp(a, b, 5).at(100_000));
    out.push(udp(b, a, 6).at(102_000));
    out.push(udp(a, b, 7).at(101_500));
    out
}

#[test]
fn splt_lists_hold_the_first_n_packets() {
    use W::*;
    let long_10 = (
        LI(vec![0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
        LI(vec![42, 52, 62, 72, 82, 92, 102, 112, 122, 132]),
        LF(vec![
            0.0, 100.0, 300.0, 500.0, 700.0, 900.0, 1100.0, 1300.0, 1500.0, 1700.0,
        ]),
    );
    // The short flow: no padding; the out-of-order packet has an IAT of 0.
    let short = [
        ("splt_direction", LI(vec![0, 1, 0])),
        ("splt_pkt_len", LI(vec![47, 48, 49])),
        ("splt_iat_us", LF(vec![0.0, 2000.0, 0.0])),
    ];
    for args in [
        &["--profile", "full"][..],
        &["--profile", "full", "--splt", "10"][..],
    ] {
        let out = extract(&splt_packets(), args);
        let long = out.row_where("src_port", 1111);
        check(
            long,
            &[
                ("pkt_count", I(12)),
                ("splt_direction", long_10.0.clone()),
                ("splt_pkt_len", long_10.1.clone()),
                ("splt_iat_us", long_10.2.clone()),
            ],
        );
        check(out.row_where("src_port", 3333), &short);
    }

    let out = extract(&splt_packets(), &["--profile", "full", "--splt", "3"]);
    check(
        out.row_where("src_port", 1111),
        &[
            ("splt_direction", LI(vec![0, 1, 1])),
            ("splt_pkt_len", LI(vec![42, 52, 62])),
            ("splt_iat_us", LF(vec![0.0, 100.0, 300.0])),
        ],
    );
    check(out.row_where("src_port", 3333), &short);

    // --splt 0 leaves the three columns out and changes nothing else.
    let without = extract(&splt_packets(), &["--profile", "full", "--splt", "0"]);
    let with = extract(&splt_packets(), &["--profile", "full"]);
    for c in ["splt_direction", "splt_pkt_len", "splt_iat_us"] {
        assert!(!without.has(c), "{c} with --splt 0: {:?}", without.names());
    }
    let with_names: Vec<&str> = with
        .names()
        .into_iter()
        .filter(|n| !n.starts_with("splt_"))
        .collect();
    assert_eq!(without.names(), with_names);
    assert_eq!(without.rows.len(), with.rows.len());
    for port in [1111, 3333] {
        let (x, y) = (
            without.row_where("src_port", port),
            with.row_where("src_port", port),
        );
        for (name, v) in x {
            assert_eq!(v, &y[name], "{name} of flow {port} with and without SPLT");
        }
    }
}

#[test]
fn out_of_order_packet_counts_and_contributes_a_zero_iat() {
    let out = extract(&splt_packets(), &["--profile", "full"]);
    use W::*;
    check(
        out.row_where("src_port", 3333),
        &[
            ("out_of_order_pkts", I(1)),
            // first/last are min/max: 100 000 and 102 000
            ("first_seen", I(T0_US + 100_000)),
            ("last_seen", I(T0_US + 102_000)),
            ("duration", F(0.002)),
            // flow IATs in capture order: 2000, then 0 (stamped earlier);
            // mean 1000, std sqrt((1000^2 + 1000^2) / 1) = 1414.21
            ("iat_min_us", F(0.0)),
            ("iat_max_us", F(2000.0)),
            ("iat_mean_us", F(1000.0)),
            ("iat_std_us", F(2e6f64.sqrt())),
            // fwd packets at 100 000 and 101 500: 1500 (not out of order in its
            // scope)
            ("fwd_iat_min_us", F(1500.0)),
            ("fwd_iat_max_us", F(1500.0)),
            ("fwd_iat_std_us", N),
            ("bwd_iat_min_us", N),
        ],
    );
    check(
        out.row_where("src_port", 1111),
        &[("out_of_order_pkts", I(0))],
    );
}

#[test]
fn splt_in_csv_is_bracketed_text() {
    let (header, rows) = extract_csv(&splt_packets(), &["--profile", "full", "--splt", "4"]);
    assert_eq!(&header[..STANDARD_COLUMNS.len()], STANDARD_COLUMNS);
    let row = |port: &str| {
        rows.iter()
            .find(|r| r["src_port"] == port)
            .unwrap_or_else(|| panic!("no flow from port {port}: {rows:?}"))
    };
    let long = row("1111");
    let short = row("3333");
    // Integer lists: exactly the example's form, `[0, 1, 0]`.
    assert_eq!(long["splt_direction"], "[0, 1, 1, 0]");
    assert_eq!(long["splt_pkt_len"], "[42, 52, 62, 72]");
    assert_eq!(short["splt_direction"], "[0, 1, 0]");
    assert_eq!(short["splt_pkt_len"], "[47, 48, 49]");
    // Every list cell is a JSON array of finite numbers (what ast.literal_eval
    // also reads: brackets, commas, numbers, nothing else).
    for (r, iats) in [
        (long, vec![0.0, 100.0, 300.0, 500.0]),
        (short, vec![0.0, 2000.0, 0.0]),
    ] {
        for c in ["splt_direction", "splt_pkt_len", "splt_iat_us"] {
            let text = &r[c];
            assert!(
                text.starts_with('[') && text.ends_with(']'),
                "{c} = {text:?}"
            );
            assert!(
                text.chars()
                    .all(|ch| ch.is_ascii_digit() || "[], .-eE+".contains(ch)),
                "{c} = {text:?}: only numbers, brackets and commas"
            );
            let parsed: serde_json::Value =
                serde_json::from_str(text).unwrap_or_else(|e| panic!("{c} = {text:?}: {e}"));
            assert!(parsed.is_array(), "{c} = {text:?}");
        }
        let parsed: Vec<f64> = serde_json::from_str(&r["splt_iat_us"]).expect("iat list");
        assert_eq!(parsed, iats, "splt_iat_us = {:?}", r["splt_iat_us"]);
    }
}

// ---------------------------------------------------------------------------
// Property: random UDP flows against a reference model, and mirrored
// ---------------------------------------------------------------------------

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Addresses of one generated flow.
#[derive(Debug, Clone, Copy)]
enum Hosts {
    V4(Ep4, Ep4),
    V6(Ep6, Ep6),
}

/// One generated packet: time (µs after T0), direction (0 from the initiator),
/// payload, TTL, TOS (IPv4 only).
#[derive(Debug, Clone, Copy)]
struct GenPkt {
    t: i64,
    dir: u8,
    payload: usize,
    ttl: u8,
    tos: u8,
}

#[derive(Debug, Clone)]
struct GenFlow {
    hosts: Hosts,
    pkts: Vec<GenPkt>,
}

impl GenFlow {
    fn wire_len(&self, p: &GenPkt) -> i64 {
        match self.hosts {
            Hosts::V4(..) => 42 + p.payload as i64,
            Hosts::V6(..) => 62 + p.payload as i64,
        }
    }
    fn header_len(&self) -> i64 {
        match self.hosts {
            Hosts::V4(..) => 28,
            Hosts::V6(..) => 48,
        }
    }

    /// The frame of `p`; `mirror` swaps addresses and ports in every packet.
    fn frame(&self, p: &GenPkt, mirror: bool) -> Vec<u8> {
        let reverse = (p.dir == 1) != mirror;
        match self.hosts {
            Hosts::V4(a, b) => {
                let (from, to) = if reverse { (b, a) } else { (a, b) };
                udp(from, to, p.payload).ttl(p.ttl).tos(p.tos).frame()
            }
            Hosts::V6(a, b) => {
                let (from, to) = if reverse { (b, a) } else { (a, b) };
                let body = vec![0x5a; p.payload];
                let ip = ip6_udp(from, to, &body);
                let mac = |ep: Ep6| mac_of([0, 0, 0, ep.0[15]]);
                ether(mac(from), mac(to), 0x86dd, &ip)
            }
        }
    }
}

/// Generates `n` flows with 1..=14 packets, random directions, payloads, TTLs,
/// TOS and gaps (0, short, up to 3 s, exactly 5 s, 5 s + 1 µs and 5.5..9 s: idle
/// periods).
/// Initiators are below or above their peers in address order at random.
fn generate_flows(rng: &mut Rng, n: usize) -> Vec<GenFlow> {
    (0..n)
        .map(|k| {
            let k8 = k as u8;
            let hosts = if rng.range(0, 3) == 0 {
                let mut a = [0u8; 16];
                a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                let mut b = a;
                a[14] = 1;
                a[15] = k8;
                b[14] = if rng.range(0, 1) == 0 { 0 } else { 2 };
                b[15] = k8;
                Hosts::V6(
                    (a, rng.range(1024, 65535) as u16),
                    (b, rng.range(1, 1023) as u16),
                )
            } else {
                let a = [10, 1, 0, k8];
                let b = if rng.range(0, 1) == 0 {
                    [10, 0, 0, k8]
                } else {
                    [10, 2, 0, k8]
                };
                Hosts::V4(
                    (a, rng.range(1024, 65535) as u16),
                    (b, rng.range(1, 1023) as u16),
                )
            };
            let count = rng.range(1, 14) as usize;
            let mut t = rng.range(0, 20 * SEC as u64) as i64;
            let pkts = (0..count)
                .map(|i| {
                    if i > 0 {
                        t += match rng.range(0, 11) {
                            0 => 0,
                            1..=5 => rng.range(1, 2000) as i64,
                            6..=8 => rng.range(2000, 3 * SEC as u64) as i64,
                            // exactly the 5 s limit (still active) and just above
                            9 => 5 * SEC,
                            10 => 5 * SEC + 1,
                            _ => rng.range(5_500_000, 9 * SEC as u64) as i64,
                        };
                    }
                    GenPkt {
                        t,
                        dir: if i == 0 { 0 } else { rng.range(0, 1) as u8 },
                        payload: rng.range(0, 1400) as usize,
                        ttl: rng.range(1, 255) as u8,
                        tos: rng.range(0, 255) as u8,
                    }
                })
                .collect();
            GenFlow { hosts, pkts }
        })
        .collect()
}

/// All packets of `flows` in time order (ties: flow, then packet order), and the
/// flow_id (number of its first packet in that order) of each flow.
fn merge(flows: &[GenFlow], mirror: bool) -> (Vec<Pkt>, Vec<i64>) {
    let mut order: Vec<(i64, usize, usize)> = flows
        .iter()
        .enumerate()
        .flat_map(|(f, flow)| flow.pkts.iter().enumerate().map(move |(i, p)| (p.t, f, i)))
        .collect();
    order.sort();
    let mut ids = vec![-1; flows.len()];
    let packets = order
        .iter()
        .enumerate()
        .map(|(n, &(t, f, i))| {
            if i == 0 {
                ids[f] = n as i64;
            }
            Pkt::new(T0_US + t, flows[f].frame(&flows[f].pkts[i], mirror))
        })
        .collect();
    (packets, ids)
}

/// Min, max, mean and sample standard deviation, computed in two passes.
fn summary(xs: &[f64]) -> [Option<f64>; 4] {
    if xs.is_empty() {
        return [None; 4];
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let std = (xs.len() >= 2)
        .then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    [
        Some(xs.iter().copied().fold(f64::INFINITY, f64::min)),
        Some(xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        Some(mean),
        std,
    ]
}

/// What the spec says a generated UDP flow's row holds.
fn model(flow: &GenFlow) -> Vec<(String, W)> {
    use W::*;
    let mut e: Vec<(String, W)> = Vec::new();
    let mut put = |c: &str, w: W| e.push((c.to_string(), w));
    let pkts = &flow.pkts;
    let first = pkts[0].t;
    let last = pkts.last().expect("a packet").t;
    let duration = (last - first) as f64 / 1e6;
    let bytes: i64 = pkts.iter().map(|p| flow.wire_len(p)).sum();
    put("pkt_count", I(pkts.len() as i64));
    put("byte_count", I(bytes));
    put("first_seen", I(T0_US + first));
    put("last_seen", I(T0_US + last));
    put("duration", F(duration));
    put("end_reason", S("end_of_capture"));
    put(
        "ip_version",
        I(match flow.hosts {
            Hosts::V4(..) => 4,
            Hosts::V6(..) => 6,
        }),
    );
    put("protocol", I(17));
    let scopes: [(&str, Vec<&GenPkt>); 3] = [
        ("", pkts.iter().collect()),
        ("fwd_", pkts.iter().filter(|p| p.dir == 0).collect()),
        ("bwd_", pkts.iter().filter(|p| p.dir == 1).collect()),
    ];
    for (scope, ps) in &scopes {
        let lens: Vec<f64> = ps.iter().map(|p| flow.wire_len(p) as f64).collect();
        let [min, max, mean, std] = summary(&lens);
        put(&format!("{scope}pkt_len_min"), opt_i(min.map(|v| v as i64)));
        put(&format!("{scope}pkt_len_max"), opt_i(max.map(|v| v as i64)));
        put(&format!("{scope}pkt_len_mean"), opt_f(mean));
        put(&format!("{scope}pkt_len_std"), opt_f(std));
        let iats: Vec<f64> = ps.windows(2).map(|w| (w[1].t - w[0].t) as f64).collect();
        for (s, v) in ["min", "max", "mean", "std"].iter().zip(summary(&iats)) {
            put(&format!("{scope}iat_{s}_us"), opt_f(v));
        }
    }
    for (dir, d) in [("fwd", 0u8), ("bwd", 1u8)] {
        let ps: Vec<&GenPkt> = pkts.iter().filter(|p| p.dir == d).collect();
        put(&format!("{dir}_pkt_count"), I(ps.len() as i64));
        put(
            &format!("{dir}_byte_count"),
            I(ps.iter().map(|p| flow.wire_len(p)).sum()),
        );
        put(
            &format!("{dir}_payload_bytes"),
            I(ps.iter().map(|p| p.payload as i64).sum()),
        );
        put(
            &format!("{dir}_payload_pkts"),
            I(ps.iter().filter(|p| p.payload > 0).count() as i64),
        );
        put(
            &format!("{dir}_header_bytes"),
            I(ps.len() as i64 * flow.header_len()),
        );
        let ttl = |p: &&GenPkt| match flow.hosts {
            Hosts::V4(..) => i64::from(p.ttl),
            Hosts::V6(..) => 64,
        };
        put(&format!("{dir}_ttl_min"), opt_i(ps.iter().map(ttl).min()));
        put(&format!("{dir}_ttl_max"), opt_i(ps.iter().map(ttl).max()));
        for f in ["syn", "fin", "rst", "psh", "ack", "urg", "ece", "cwr"] {
            put(&format!("{dir}_{f}_count"), I(0));
        }
        for c in ["init_win", "win_min", "win_max", "mss", "win_scale"] {
            put(&format!("{dir}_{c}"), N);
        }
        put(&format!("{dir}_retrans_pkts"), I(0));
    }
    for f in ["syn", "fin", "rst", "psh", "ack", "urg", "ece", "cwr"] {
        put(&format!("{f}_count"), I(0));
    }
    put("syn_to_synack_us", N);
    put("synack_to_ack_us", N);
    put("out_of_order_pkts", I(0));
    // Active periods: runs of packets with gaps <= 5 s; idle: the gaps > 5 s.
    let mut active = Vec::new();
    let mut idle = Vec::new();
    let mut start = pkts[0].t;
    for w in pkts.windows(2) {
        let gap = w[1].t - w[0].t;
        if gap > 5 * SEC {
            idle.push(gap as f64);
            if w[0].t > start {
                active.push((w[0].t - start) as f64);
            }
            start = w[1].t;
        }
    }
    if last > start {
        active.push((last - start) as f64);
    }
    for (period, xs) in [("active", &active), ("idle", &idle)] {
        for (s, v) in ["min", "max", "mean", "std"].iter().zip(summary(xs)) {
            put(&format!("{period}_{s}_us"), opt_f(v));
        }
    }
    put(
        "dscp",
        I(match flow.hosts {
            Hosts::V4(..) => i64::from(pkts[0].tos >> 2),
            Hosts::V6(..) => 0,
        }),
    );
    let rate = |x: f64| (duration > 0.0).then(|| x / duration);
    put("bytes_per_sec", opt_f(rate(bytes as f64)));
    put("pkts_per_sec", opt_f(rate(pkts.len() as f64)));
    let head = &pkts[..pkts.len().min(10)];
    put(
        "splt_direction",
        LI(head.iter().map(|p| i64::from(p.dir)).collect()),
    );
    put(
        "splt_pkt_len",
        LI(head.iter().map(|p| flow.wire_len(p)).collect()),
    );
    put(
        "splt_iat_us",
        LF(head
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i == 0 {
                    0.0
                } else {
                    (p.t - head[i - 1].t) as f64
                }
            })
            .collect()),
    );
    e
}

#[test]
fn random_udp_flows_match_the_reference_model_and_mirroring_only_swaps_endpoints() {
    for seed in [1u64, 2, 3, 0x5eed] {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let flows = generate_flows(&mut rng, 12);
        let (packets, ids) = merge(&flows, false);
        let (mirrored, mirror_ids) = merge(&flows, true);
        assert_eq!(ids, mirror_ids);
        let out = extract(&packets, &["--profile", "full"]);
        let mir = extract(&mirrored, &["--profile", "full"]);
        assert_eq!(out.rows.len(), flows.len(), "seed {seed}: one row per flow");
        assert_eq!(mir.rows.len(), flows.len(), "seed {seed}: mirror rows");
        assert_eq!(out.names(), mir.names());
        for (flow, &id) in flows.iter().zip(&ids) {
            let row = out.row_where("flow_id", id);
            // The initiator is the sender of the first packet.
            let (src_port, dst_port) = match flow.hosts {
                Hosts::V4(a, b) => (a.1, b.1),
                Hosts::V6(a, b) => (a.1, b.1),
            };
            let mut expected = model(flow);
            expected.push(("src_port".into(), W::I(i64::from(src_port))));
            expected.push(("dst_port".into(), W::I(i64::from(dst_port))));
            check_owned(row, &expected);

            // Mirrored: every packet has its addresses and ports swapped, so the
            // other host sends the first packet and becomes src, and it sends
            // exactly what src sent before. Every column is the same except that
            // the endpoints swap.
            let other = mir.row_where("flow_id", id);
            for (name, v) in row {
                let partner = match name.as_str() {
                    "src_ip" => "dst_ip",
                    "dst_ip" => "src_ip",
                    "src_port" => "dst_port",
                    "dst_port" => "src_port",
                    n => n,
                };
                assert_eq!(
                    v, &other[partner],
                    "seed {seed}, flow {id}: {name} of the capture vs {partner} of its mirror"
                );
            }
            assert_ne!(row["src_ip"], other["src_ip"]);
        }
    }
}

// ---------------------------------------------------------------------------
// No NaN, no Infinity
// ---------------------------------------------------------------------------

#[test]
fn no_nan_or_infinity_in_any_float_column() {
    // read_parquet checks every Float64 value (and list element) it reads; here
    // the captures with the most empty sets and zero durations go through both
    // profiles, and the check is repeated explicitly on each output.
    let a = (CLIENT, 6500);
    let b = (SERVER, 7500);
    let captures: Vec<Vec<Pkt>> = vec![
        handshake_packets(0),
        vec![udp(a, b, 0).at(0)],
        vec![udp(a, b, 0).at(0), udp(a, b, 0).at(0)],
        vec![udp(a, b, 0).at(0), udp(b, a, 0).at(0)],
        vec![tcp(a, b, SYN | ACK).at(0)],
        splt_packets(),
        merge(&generate_flows(&mut Rng(0xdead_beef), 10), false).0,
    ];
    for packets in &captures {
        for args in [
            &["--profile", "full"][..],
            &["--profile", "nfstream", "--stats", "--splt", "3"][..],
        ] {
            let out = extract(packets, args);
            let mut floats = 0;
            for (n, row) in out.rows.iter().enumerate() {
                for (column, v) in row {
                    assert_finite(column, v, n);
                    if matches!(v, Val::F(_)) {
                        floats += 1;
                    }
                }
            }
            assert!(floats > 0, "{args:?}: some Float64 values were read");
        }
    }
}

// ---------------------------------------------------------------------------
// Profile nfstream
// ---------------------------------------------------------------------------

/// NFStream 6.6's columns without statistics and SPLT, in its order.
const NFSTREAM_BASE: &[&str] = &[
    "id",
    "expiration_id",
    "src_ip",
    "src_mac",
    "src_oui",
    "src_port",
    "dst_ip",
    "dst_mac",
    "dst_oui",
    "dst_port",
    "protocol",
    "ip_version",
    "vlan_id",
    "tunnel_id",
    "bidirectional_first_seen_ms",
    "bidirectional_last_seen_ms",
    "bidirectional_duration_ms",
    "bidirectional_packets",
    "bidirectional_bytes",
    "src2dst_first_seen_ms",
    "src2dst_last_seen_ms",
    "src2dst_duration_ms",
    "src2dst_packets",
    "src2dst_bytes",
    "dst2src_first_seen_ms",
    "dst2src_last_seen_ms",
    "dst2src_duration_ms",
    "dst2src_packets",
    "dst2src_bytes",
];

/// The documented types of [`NFSTREAM_BASE`].
fn nfstream_base_type(name: &str) -> DataType {
    match name {
        "expiration_id" | "ip_version" => DataType::Int8,
        "src_ip" | "dst_ip" | "src_mac" | "dst_mac" | "src_oui" | "dst_oui" => DataType::Utf8,
        "src_port" | "dst_port" | "vlan_id" => DataType::Int32,
        "protocol" => DataType::Int16,
        _ => DataType::Int64,
    }
}

/// The 48 `--stats` columns in NFStream's order, with their documented types.
fn nfstream_stats() -> Vec<(String, DataType)> {
    let mut out = Vec::new();
    let scopes = ["bidirectional", "src2dst", "dst2src"];
    for unit in ["ps", "piat_ms"] {
        for scope in scopes {
            out.push((format!("{scope}_min_{unit}"), DataType::Int64));
            out.push((format!("{scope}_mean_{unit}"), DataType::Float64));
            out.push((format!("{scope}_stddev_{unit}"), DataType::Float64));
            out.push((format!("{scope}_max_{unit}"), DataType::Int64));
        }
    }
    for scope in scopes {
        for f in ["syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin"] {
            out.push((format!("{scope}_{f}_packets"), DataType::Int64));
        }
    }
    out
}

/// Scenario 1 (700 µs after T0), then at 20 s a one-packet UDP flow (port 5000,
/// 72 B) and at 30 s a one-way 3-packet UDP flow (port 6000: 52, 62, 102 B at
/// +0, +1000, +4000 µs).
fn nfstream_packets() -> Vec<Pkt> {
    let mut p = handshake_packets(BASE1);
    p.push(udp((CLIENT, 5000), (SERVER, 53), 30).at(20 * SEC));
    let a = (CLIENT, 6000);
    let b = (SERVER, 7000);
    p.push(udp(a, b, 10).at(30 * SEC));
    p.push(udp(a, b, 20).at(30 * SEC + 1000));
    p.push(udp(a, b, 60).at(30 * SEC + 4000));
    p
}

#[test]
fn nfstream_columns_are_in_nfstreams_order_with_the_documented_types() {
    let plain = extract(&nfstream_packets(), &["--profile", "nfstream"]);
    assert_eq!(plain.names(), NFSTREAM_BASE, "no --stats, no --splt");
    let out = extract(
        &nfstream_packets(),
        &["--profile", "nfstream", "--stats", "--splt", "5"],
    );
    let mut expected: Vec<(String, DataType)> = NFSTREAM_BASE
        .iter()
        .map(|n| (n.to_string(), nfstream_base_type(n)))
        .collect();
    expected.extend(nfstream_stats());
    assert_eq!(nfstream_stats().len(), 48);
    let names: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    let mut want_names: Vec<&str> = names.iter().map(String::as_str).collect();
    want_names.extend(["splt_direction", "splt_ps", "splt_piat_ms"]);
    assert_eq!(out.names(), want_names);
    let mut wrong = Vec::new();
    for (name, want) in &expected {
        let got = out.data_type(name);
        if got != want {
            wrong.push(format!("  {name}: expected {want}, got {got}"));
        }
    }
    for (name, item) in [
        ("splt_direction", DataType::Int8),
        ("splt_ps", DataType::Int32),
        ("splt_piat_ms", DataType::Int64),
    ] {
        let got = out.data_type(name);
        if list_item(got) != Some(&item) {
            wrong.push(format!("  {name}: expected List({item}), got {got}"));
        }
    }
    assert!(wrong.is_empty(), "column types:\n{}", wrong.join("\n"));
    // --stats alone adds the 48 columns and no sequence.
    let stats_only = extract(&nfstream_packets(), &["--profile", "nfstream", "--stats"]);
    assert_eq!(stats_only.names(), names);
}

#[test]
fn nfstream_values_of_the_tcp_connection_and_the_udp_flows() {
    let out = extract(
        &nfstream_packets(),
        &["--profile", "nfstream", "--stats", "--splt", "5"],
    );
    assert_eq!(out.rows.len(), 3, "{:#?}", out.rows);
    use W::*;
    // Scenario 1, packets at 700 + (0, 1500, 1700, 2000, 2600, 3000, 3100, 5000,
    // 5400, 5500) µs: the FINs do not end an nfstream flow, the capture does.
    // ms, floored: first 0.7 -> 0, last 6.2 -> 6 (so duration 6, not 5.5);
    // src2dst at 0.7 .. 6.2; dst2src at 2.2, 3.3, 3.7, 6.1 -> 2 .. 6.
    check(
        out.row_where("src_port", 40000),
        &[
            ("id", I(0)),
            ("expiration_id", I(0)),
            ("src_ip", S("10.0.0.1")),
            ("dst_ip", S("10.0.0.2")),
            ("src_mac", S("00:1b:21:00:00:01")),
            ("dst_mac", S("3c:fd:fe:00:00:02")),
            ("src_oui", S("00:1b:21")),
            ("dst_oui", S("3c:fd:fe")),
            ("dst_port", I(80)),
            ("protocol", I(6)),
            ("ip_version", I(4)),
            ("vlan_id", I(0)),
            ("tunnel_id", I(0)),
            ("bidirectional_first_seen_ms", I(T0_MS)),
            ("bidirectional_last_seen_ms", I(T0_MS + 6)),
            ("bidirectional_duration_ms", I(6)),
            ("bidirectional_packets", I(10)),
            ("bidirectional_bytes", I(956)),
            ("src2dst_first_seen_ms", I(T0_MS)),
            ("src2dst_last_seen_ms", I(T0_MS + 6)),
            ("src2dst_duration_ms", I(6)),
            ("src2dst_packets", I(6)),
            ("src2dst_bytes", I(432)),
            ("dst2src_first_seen_ms", I(T0_MS + 2)),
            ("dst2src_last_seen_ms", I(T0_MS + 6)),
            ("dst2src_duration_ms", I(4)),
            ("dst2src_packets", I(4)),
            ("dst2src_bytes", I(524)),
            // packet sizes: as pkt_len_* of the full profile (see
            // tcp_connection_statistics for the arithmetic)
            ("bidirectional_min_ps", I(54)),
            ("bidirectional_mean_ps", F(95.6)),
            ("bidirectional_stddev_ps", F((82822.4f64 / 9.0).sqrt())),
            ("bidirectional_max_ps", I(354)),
            ("src2dst_min_ps", I(54)),
            ("src2dst_mean_ps", F(72.0)),
            ("src2dst_stddev_ps", F((8120.0f64 / 5.0).sqrt())),
            ("src2dst_max_ps", I(154)),
            ("dst2src_min_ps", I(54)),
            ("dst2src_mean_ps", F(131.0)),
            ("dst2src_stddev_ps", F((66348.0f64 / 3.0).sqrt())),
            ("dst2src_max_ps", I(354)),
            // IATs in ms: all 1.5,0.2,0.3,0.6,0.4,0.1,1.9,0.4,0.1 -> min round(0.1)
            // = 0, max round(1.9) = 2, mean 5.5/9, std = iat_std_us / 1000
            ("bidirectional_min_piat_ms", I(0)),
            ("bidirectional_mean_piat_ms", F(5.5 / 9.0)),
            (
                "bidirectional_stddev_piat_ms",
                F(((6_690_000.0 - 5500.0f64.powi(2) / 9.0) / 8.0).sqrt() / 1000.0),
            ),
            ("bidirectional_max_piat_ms", I(2)),
            // src2dst 1.7,0.3,1.1,1.9,0.5: min 0, max 2, mean 1.1, std 0.70711
            ("src2dst_min_piat_ms", I(0)),
            ("src2dst_mean_piat_ms", F(1.1)),
            ("src2dst_stddev_piat_ms", F(0.5f64.sqrt())),
            ("src2dst_max_piat_ms", I(2)),
            // dst2src 1.1,0.4,2.4: min 0, max 2, mean 1.3, std sqrt(1.03) = 1.01489
            ("dst2src_min_piat_ms", I(0)),
            ("dst2src_mean_piat_ms", F(1.3)),
            ("dst2src_stddev_piat_ms", F(1.03f64.sqrt())),
            ("dst2src_max_piat_ms", I(2)),
            // flags (see scenario 1)
            ("bidirectional_syn_packets", I(2)),
            ("bidirectional_cwr_packets", I(1)),
            ("bidirectional_ece_packets", I(2)),
            ("bidirectional_urg_packets", I(1)),
            ("bidirectional_ack_packets", I(9)),
            ("bidirectional_psh_packets", I(2)),
            ("bidirectional_rst_packets", I(0)),
            ("bidirectional_fin_packets", I(2)),
            ("src2dst_syn_packets", I(1)),
            ("src2dst_cwr_packets", I(1)),
            ("src2dst_ece_packets", I(1)),
            ("src2dst_urg_packets", I(1)),
            ("src2dst_ack_packets", I(5)),
            ("src2dst_psh_packets", I(1)),
            ("src2dst_rst_packets", I(0)),
            ("src2dst_fin_packets", I(1)),
            ("dst2src_syn_packets", I(1)),
            ("dst2src_cwr_packets", I(0)),
            ("dst2src_ece_packets", I(1)),
            ("dst2src_urg_packets", I(0)),
            ("dst2src_ack_packets", I(4)),
            ("dst2src_psh_packets", I(1)),
            ("dst2src_rst_packets", I(0)),
            ("dst2src_fin_packets", I(1)),
            // first 5 packets; IATs 0, 1.5 -> 2 (half up or half even alike),
            // 0.2 -> 0, 0.3 -> 0, 0.6 -> 1
            ("splt_direction", LI(vec![0, 1, 0, 0, 1])),
            ("splt_ps", LI(vec![62, 62, 54, 154, 54])),
            ("splt_piat_ms", LI(vec![0, 2, 0, 0, 1])),
        ],
    );
    // One packet: the standard deviation of one value is 0.0, the empty
    // direction and the empty IAT sets are 0; SPLT padded with -1.
    let mut one: Vec<(String, W)> = vec![
        ("id".into(), I(10)),
        ("bidirectional_first_seen_ms".into(), I(T0_MS + 20_000)),
        ("bidirectional_last_seen_ms".into(), I(T0_MS + 20_000)),
        ("bidirectional_duration_ms".into(), I(0)),
        ("bidirectional_packets".into(), I(1)),
        ("bidirectional_bytes".into(), I(72)),
        ("src2dst_packets".into(), I(1)),
        ("bidirectional_min_ps".into(), I(72)),
        ("bidirectional_mean_ps".into(), F(72.0)),
        ("bidirectional_stddev_ps".into(), F(0.0)),
        ("bidirectional_max_ps".into(), I(72)),
        ("src2dst_min_ps".into(), I(72)),
        ("src2dst_mean_ps".into(), F(72.0)),
        ("src2dst_stddev_ps".into(), F(0.0)),
        ("src2dst_max_ps".into(), I(72)),
        ("splt_direction".into(), LI(vec![0, -1, -1, -1, -1])),
        ("splt_ps".into(), LI(vec![72, -1, -1, -1, -1])),
        ("splt_piat_ms".into(), LI(vec![0, -1, -1, -1, -1])),
    ];
    for scope in ["bidirectional", "src2dst", "dst2src"] {
        one.push((format!("{scope}_min_piat_ms"), I(0)));
        one.push((format!("{scope}_mean_piat_ms"), F(0.0)));
        one.push((format!("{scope}_stddev_piat_ms"), F(0.0)));
        one.push((format!("{scope}_max_piat_ms"), I(0)));
    }
    one.extend(dst2src_zeros());
    check_owned(out.row_where("src_port", 5000), &one);
    // One way, three packets at 30 s + 0, 1, 4 ms.
    let mut three: Vec<(String, W)> = vec![
        ("id".into(), I(11)),
        ("bidirectional_first_seen_ms".into(), I(T0_MS + 30_000)),
        ("bidirectional_last_seen_ms".into(), I(T0_MS + 30_004)),
        ("bidirectional_duration_ms".into(), I(4)),
        ("src2dst_first_seen_ms".into(), I(T0_MS + 30_000)),
        ("src2dst_last_seen_ms".into(), I(T0_MS + 30_004)),
        ("src2dst_duration_ms".into(), I(4)),
        ("src2dst_packets".into(), I(3)),
        ("src2dst_bytes".into(), I(216)),
        // 52, 62, 102: mean 72, std sqrt(700)
        ("src2dst_min_ps".into(), I(52)),
        ("src2dst_mean_ps".into(), F(72.0)),
        ("src2dst_stddev_ps".into(), F(700.0f64.sqrt())),
        ("src2dst_max_ps".into(), I(102)),
        // IATs 1 ms, 3 ms: mean 2, std sqrt(2)
        ("src2dst_min_piat_ms".into(), I(1)),
        ("src2dst_mean_piat_ms".into(), F(2.0)),
        ("src2dst_stddev_piat_ms".into(), F(2.0f64.sqrt())),
        ("src2dst_max_piat_ms".into(), I(3)),
        ("bidirectional_max_piat_ms".into(), I(3)),
        ("dst2src_min_piat_ms".into(), I(0)),
        ("dst2src_mean_piat_ms".into(), F(0.0)),
        ("dst2src_stddev_piat_ms".into(), F(0.0)),
        ("dst2src_max_piat_ms".into(), I(0)),
        ("bidirectional_syn_packets".into(), I(0)),
        ("splt_direction".into(), LI(vec![0, 0, 0, -1, -1])),
        ("splt_ps".into(), LI(vec![52, 62, 102, -1, -1])),
        ("splt_piat_ms".into(), LI(vec![0, 1, 3, -1, -1])),
    ];
    three.extend(dst2src_zeros());
    check_owned(out.row_where("src_port", 6000), &three);
}

/// The dst2src columns of a flow whose dst sent nothing: all 0.
fn dst2src_zeros() -> Vec<(String, W)> {
    let mut out: Vec<(String, W)> = [
        "first_seen_ms",
        "last_seen_ms",
        "duration_ms",
        "packets",
        "bytes",
        "min_ps",
        "max_ps",
    ]
    .iter()
    .map(|c| (format!("dst2src_{c}"), W::I(0)))
    .collect();
    out.push(("dst2src_mean_ps".into(), W::F(0.0)));
    out.push(("dst2src_stddev_ps".into(), W::F(0.0)));
    for f in ["syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin"] {
        out.push((format!("dst2src_{f}_packets"), W::I(0)));
    }
    out
}

#[test]
fn nfstream_flows_ignore_rst_and_syn_ack_reversal_and_end_by_timeouts() {
    use W::*;
    let c = (CLIENT, 40030);
    let s = (SERVER, 8080);
    // Handshake, RST at 300 µs, then a client ACK 10 s later (after the 5 s
    // close grace): two flows in `full`, one in `nfstream`.
    let rst = vec![
        tcp(c, s, SYN).seq(1).at(0),
        tcp(s, c, SYN | ACK).seq(9).ack(2).at(100),
        tcp(c, s, ACK).seq(2).ack(10).at(200),
        tcp(c, s, RST | ACK).seq(2).ack(10).at(300),
        tcp(c, s, ACK).seq(2).ack(10).at(10 * SEC),
    ];
    let full = extract(&rst, &["--profile", "full"]);
    assert_eq!(full.rows.len(), 2, "{:#?}", full.rows);
    check(
        full.row_where("flow_id", 0),
        &[
            ("pkt_count", I(4)),
            ("end_reason", S("tcp_rst")),
            ("fwd_rst_count", I(1)),
            ("bwd_rst_count", I(0)),
        ],
    );
    let nf = extract(&rst, &["--profile", "nfstream", "--stats"]);
    check(
        nf.only(),
        &[
            ("id", I(0)),
            ("expiration_id", I(0)),
            ("bidirectional_packets", I(5)),
            ("src2dst_packets", I(4)),
            ("dst2src_packets", I(1)),
            ("bidirectional_rst_packets", I(1)),
            ("src2dst_rst_packets", I(1)),
            ("bidirectional_duration_ms", I(10_000)),
        ],
    );

    // First packet a SYN+ACK: nfstream keeps its sender (the server) as src.
    let c = (CLIENT, 40031);
    let synack = vec![
        tcp(s, c, SYN | ACK).seq(9).ack(2).at(0),
        tcp(c, s, ACK).seq(2).ack(10).at(100),
    ];
    let nf = extract(&synack, &["--profile", "nfstream", "--stats"]);
    check(
        nf.only(),
        &[
            ("src_ip", S("10.0.0.2")),
            ("src_port", I(8080)),
            ("dst_ip", S("10.0.0.1")),
            ("dst_port", I(40031)),
            ("src_mac", S("3c:fd:fe:00:00:02")),
            ("dst_mac", S("00:1b:21:00:00:01")),
            ("src2dst_syn_packets", I(1)),
            ("dst2src_syn_packets", I(0)),
            ("dst2src_ack_packets", I(1)),
        ],
    );
    let full = extract(&synack, &["--profile", "full"]);
    check(
        full.only(),
        &[("src_ip", S("10.0.0.1")), ("src_port", I(40031))],
    );

    // Active timeout of 5 s: packets at 0, 4 s and 8 s; the third is more than
    // 5 s after the first, ends the flow (expiration_id 1) and starts another.
    let a = (CLIENT, 6600);
    let b = (SERVER, 7600);
    let long = vec![
        udp(a, b, 1).at(0),
        udp(b, a, 1).at(4 * SEC),
        udp(a, b, 1).at(8 * SEC),
    ];
    let nf = extract(&long, &["--profile", "nfstream", "--active-timeout", "5"]);
    assert_eq!(nf.rows.len(), 2, "{:#?}", nf.rows);
    check(
        nf.row_where("id", 0),
        &[("expiration_id", I(1)), ("bidirectional_packets", I(2))],
    );
    check(
        nf.row_where("id", 2),
        &[("expiration_id", I(0)), ("bidirectional_packets", I(1))],
    );
}

// ---------------------------------------------------------------------------
// More edge cases from the spec
// ---------------------------------------------------------------------------

#[test]
fn header_bytes_count_ip_options_extension_headers_and_fragments_not_link_layers() {
    use crate::util::capture::{
        Ip6Ext, eth, eth_vlan, ip4_fragments, ip6_udp_with_ext, udp_datagram,
    };
    use W::*;
    let mut packets = Vec::new();
    // 1. IPv4 with 8 bytes of options in an 802.1Q frame (VLAN 100), 10 bytes of
    //    UDP payload: IP 28 + UDP 8 = 36 header bytes; wire 14 + 4 + 28 + 8 + 10 = 64.
    let p = udp((CLIENT, 6700), (SERVER, 7700), 10).ip_options(2);
    packets.push(Pkt::new(T0_US, eth_vlan(100, &p.ip())));
    // 2. IPv6 with a hop-by-hop header, traffic class 0xb8 (DSCP 46), hop limit 33:
    //    40 + 8 + UDP 8 = 56 header bytes, wire 14 + 56 + 10 = 80; the reply
    //    without extension header, hop limit 50: 48 header bytes, wire 72.
    let v6a: Ep6 = (
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        6900,
    );
    let v6b: Ep6 = (
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        7900,
    );
    let mut req = ip6_udp_with_ext(v6a, v6b, Ip6Ext::HopByHop, &[7; 10]);
    req[0] = 0x60 | (0xb8 >> 4);
    req[1] = (0xb8 & 0x0f) << 4;
    req[7] = 33;
    let mut reply = ip6_udp(v6b, v6a, &[8; 10]);
    reply[7] = 50;
    packets.push(Pkt::new(T0_US + 10, eth(&req)));
    packets.push(Pkt::new(T0_US + 20, eth(&reply)));
    // 3. A UDP datagram (8 + 100 bytes) in two IPv4 fragments of 64 and 44 bytes
    //    of IP payload: the first counts 20 + 8, the later one 20 + 0 = 48 in all;
    //    payload 56 + 44 = 100 in two packets; wire 98 and 78.
    for (i, f) in ip4_fragments(
        CLIENT,
        SERVER,
        17,
        77,
        &udp_datagram(6800, 7800, &[1; 100]),
        64,
    )
    .into_iter()
    .enumerate()
    {
        packets.push(Pkt::new(T0_US + 30 + i as i64, eth(&f)));
    }
    let out = extract(&packets, &["--profile", "full"]);
    check(
        out.row_where("src_port", 6700),
        &[
            ("vlan_id", I(100)),
            ("pkt_len_min", I(64)),
            ("fwd_header_bytes", I(36)),
            ("fwd_payload_bytes", I(10)),
            ("fwd_payload_pkts", I(1)),
        ],
    );
    check(
        out.row_where("src_port", 6900),
        &[
            ("ip_version", I(6)),
            ("fwd_pkt_len_max", I(80)),
            ("bwd_pkt_len_max", I(72)),
            ("fwd_header_bytes", I(56)),
            ("bwd_header_bytes", I(48)),
            ("dscp", I(46)),
            ("fwd_ttl_min", I(33)),
            ("fwd_ttl_max", I(33)),
            ("bwd_ttl_min", I(50)),
            ("bwd_ttl_max", I(50)),
        ],
    );
    check(
        out.row_where("src_port", 6800),
        &[
            ("pkt_count", I(2)),
            ("pkt_len_min", I(78)),
            ("pkt_len_max", I(98)),
            ("fwd_header_bytes", I(48)),
            ("fwd_payload_bytes", I(100)),
            ("fwd_payload_pkts", I(2)),
        ],
    );
}

#[test]
fn snapped_packets_use_wire_lengths_and_uncaptured_windows_are_null() {
    use W::*;
    let c = (CLIENT, 40040);
    let s = (SERVER, 80);
    // The SYN (62 bytes on the wire) is captured up to the TCP flags byte only:
    // 14 + 20 + 14 = 48 bytes, so its window and options are not in the capture.
    let out = extract(
        &[
            tcp(c, s, SYN)
                .seq(1000)
                .win(64240)
                .opts(mss_ws(1460, 7))
                .at(0)
                .snapped(48),
            tcp(s, c, SYN | ACK)
                .seq(5000)
                .ack(1001)
                .win(65160)
                .opts(mss_ws(1400, 8))
                .at(1500),
        ],
        &["--profile", "full"],
    );
    check(
        out.only(),
        &[
            ("pkt_len_min", I(62)),
            ("pkt_len_max", I(62)),
            ("fwd_byte_count", I(62)),
            ("fwd_syn_count", I(1)),
            ("fwd_init_win", N),
            ("fwd_win_min", N),
            ("fwd_win_max", N),
            ("fwd_mss", N),
            ("fwd_win_scale", N),
            ("bwd_init_win", I(65160)),
            ("bwd_mss", I(1400)),
            // the SYN (its flags were captured) and the SYN+ACK were both seen
            ("syn_to_synack_us", F(1500.0)),
            ("synack_to_ack_us", N),
        ],
    );
    // Options cut off: SYN (MSS at TCP bytes 20..24, NOP, WS at 25..28) captured
    // up to TCP byte 22 (14 + 20 + 22 = 56: the MSS kind and length but not its
    // value) and up to TCP byte 26 (60: the MSS whole, the WS value missing).
    let syn = |port: u16| {
        tcp((CLIENT, port), s, SYN)
            .seq(1000)
            .win(64240)
            .opts(mss_ws(1460, 7))
    };
    let out = extract(
        &[syn(40041).at(0).snapped(56), syn(40042).at(10).snapped(60)],
        &["--profile", "full"],
    );
    check(
        out.row_where("src_port", 40041),
        &[
            ("pkt_len_min", I(62)),
            ("fwd_init_win", I(64240)),
            ("fwd_mss", N),
            ("fwd_win_scale", N),
        ],
    );
    check(
        out.row_where("src_port", 40042),
        &[
            ("fwd_init_win", I(64240)),
            ("fwd_mss", I(1460)),
            ("fwd_win_scale", N),
        ],
    );
}

#[test]
fn handshake_times_use_the_first_syn_and_the_first_syn_ack_after_it() {
    use W::*;
    let s = (SERVER, 80);
    // Flow 40050: SYN 0, SYN+ACK 1500, SYN+ACK retransmitted 2500, ACK 2600:
    // 1500 and 2600 - 1500 = 1100 (from *that* first SYN+ACK).
    let c1 = (CLIENT, 40050);
    // Flow 40051: SYN 0, SYN again 1000, SYN+ACK 1300, ACK 1400: from the first
    // SYN, 1300; then 100.
    let c2 = (CLIENT, 40051);
    // Flow 40052: SYN stamped 1000, then a SYN+ACK stamped 500 (earlier): the
    // timestamps decrease, so syn_to_synack is null.
    let c3 = (CLIENT, 40052);
    let out = extract(
        &[
            tcp(c1, s, SYN).seq(1).at(0),
            tcp(s, c1, SYN | ACK).seq(9).ack(2).at(1500),
            tcp(s, c1, SYN | ACK).seq(9).ack(2).at(2500),
            tcp(c1, s, ACK).seq(2).ack(10).at(2600),
            tcp(c2, s, SYN).seq(1).at(10 * MS),
            tcp(c2, s, SYN).seq(1).at(10 * MS + 1000),
            tcp(s, c2, SYN | ACK).seq(9).ack(2).at(10 * MS + 1300),
            tcp(c2, s, ACK).seq(2).ack(10).at(10 * MS + 1400),
            tcp(c3, s, SYN).seq(1).at(20 * MS + 1000),
            tcp(s, c3, SYN | ACK).seq(9).ack(2).at(20 * MS + 500),
        ],
        &["--profile", "full"],
    );
    check(
        out.row_where("src_port", 40050),
        &[
            ("syn_to_synack_us", F(1500.0)),
            ("synack_to_ack_us", F(1100.0)),
            ("bwd_syn_count", I(2)),
        ],
    );
    check(
        out.row_where("src_port", 40051),
        &[
            ("syn_to_synack_us", F(1300.0)),
            ("synack_to_ack_us", F(100.0)),
            ("fwd_syn_count", I(2)),
        ],
    );
    check(
        out.row_where("src_port", 40052),
        &[("syn_to_synack_us", N), ("out_of_order_pkts", I(1))],
    );
}

#[test]
fn iat_after_an_out_of_order_packet_is_measured_from_it() {
    // A -> B at 0, 2000, 1500, 2500 µs (capture order). Consecutive packets in
    // capture order: 2000, 0 (1500 is earlier than 2000), 2500 - 1500 = 1000.
    // mean 1000, std sqrt((1000^2 + 1000^2 + 0) / 2) = 1000.
    let a = (CLIENT, 6950);
    let b = (SERVER, 7950);
    let out = extract(
        &[
            udp(a, b, 1).at(0),
            udp(a, b, 1).at(2000),
            udp(a, b, 1).at(1500),
            udp(a, b, 1).at(2500),
        ],
        &["--profile", "full"],
    );
    use W::*;
    check(
        out.only(),
        &[
            ("out_of_order_pkts", I(1)),
            ("iat_min_us", F(0.0)),
            ("iat_max_us", F(2000.0)),
            ("iat_mean_us", F(1000.0)),
            ("iat_std_us", F(1000.0)),
            ("fwd_iat_min_us", F(0.0)),
            ("fwd_iat_mean_us", F(1000.0)),
            ("fwd_iat_std_us", F(1000.0)),
            ("duration", F(0.0025)),
            // one active period from the first packet (0) to the last (2500)
            ("active_min_us", F(2500.0)),
            ("splt_iat_us", LF(vec![0.0, 2000.0, 0.0, 1000.0])),
        ],
    );
}

#[test]
fn flows_split_by_the_active_timeout_or_port_reuse_start_with_fresh_statistics() {
    use W::*;
    // Active timeout 5 s: A->B 0, B->A 4 s, A->B 8 s. The third packet is more
    // than 5 s after the first: it ends the flow and opens a one-packet flow.
    let a = (CLIENT, 6960);
    let b = (SERVER, 7960);
    let out = extract(
        &[
            udp(a, b, 1).at(0),
            udp(b, a, 2).at(4 * SEC),
            udp(a, b, 3).at(8 * SEC),
        ],
        &["--profile", "full", "--active-timeout", "5"],
    );
    assert_eq!(out.rows.len(), 2, "{:#?}", out.rows);
    check(
        out.row_where("flow_id", 0),
        &[
            ("end_reason", S("active_timeout")),
            ("pkt_count", I(2)),
            ("iat_min_us", F(4e6)),
            ("fwd_iat_min_us", N),
            ("active_min_us", F(4e6)),
            ("splt_direction", LI(vec![0, 1])),
        ],
    );
    check(
        out.row_where("flow_id", 2),
        &[
            ("pkt_count", I(1)),
            ("pkt_len_min", I(45)),
            ("pkt_len_std", N),
            ("iat_min_us", N),
            ("active_min_us", N),
            ("idle_min_us", N),
            ("splt_direction", LI(vec![0])),
            ("splt_iat_us", LF(vec![0.0])),
        ],
    );

    // Port reuse: a connection closed by FINs, then a new SYN on the same ports
    // 1 s later (inside the 5 s grace period) with a *lower* ISN. The new flow's
    // handshake times, MSS and retransmission state are its own.
    let c = (CLIENT, 40060);
    let s = (SERVER, 80);
    let out = extract(
        &[
            tcp(c, s, SYN).seq(1000).opts(mss_ws(1460, 7)).at(0),
            tcp(s, c, SYN | ACK).seq(5000).ack(1001).at(100),
            tcp(c, s, ACK).seq(1001).ack(5001).at(200),
            tcp(c, s, PSH | ACK).seq(1001).ack(5001).data(100).at(300),
            tcp(c, s, FIN | ACK).seq(1101).ack(5001).at(400),
            tcp(s, c, FIN | ACK).seq(5001).ack(1102).at(500),
            tcp(c, s, ACK).seq(1102).ack(5002).at(600),
            tcp(c, s, SYN).seq(10).opts(mss_ws(1200, 2)).at(SEC),
            tcp(s, c, SYN | ACK).seq(70).ack(11).at(SEC + 800),
            tcp(c, s, ACK).seq(11).ack(71).at(SEC + 1000),
            tcp(c, s, PSH | ACK).seq(11).ack(71).data(50).at(SEC + 2000),
        ],
        &["--profile", "full"],
    );
    assert_eq!(out.rows.len(), 2, "{:#?}", out.rows);
    check(
        out.row_where("flow_id", 0),
        &[
            ("end_reason", S("tcp_fin")),
            ("pkt_count", I(7)),
            ("syn_to_synack_us", F(100.0)),
            ("synack_to_ack_us", F(100.0)),
            ("fwd_mss", I(1460)),
        ],
    );
    check(
        out.row_where("flow_id", 7),
        &[
            ("pkt_count", I(4)),
            ("syn_to_synack_us", F(800.0)),
            ("synack_to_ack_us", F(200.0)),
            ("fwd_mss", I(1200)),
            ("fwd_win_scale", I(2)),
            ("fwd_retrans_pkts", I(0)),
            ("fwd_payload_pkts", I(1)),
            ("fwd_fin_count", I(0)),
            ("splt_direction", LI(vec![0, 1, 0, 0])),
            ("splt_iat_us", LF(vec![0.0, 800.0, 200.0, 1000.0])),
        ],
    );
}

#[test]
fn constant_values_have_a_standard_deviation_of_zero() {
    // Nanosecond capture, six identical 100-byte datagrams 1 000 000 333 ns apart:
    // five IATs of 1 000 000.333 µs. The spread of equal values is 0 (Welford's
    // method gives exactly 0; a sum-of-squares formula would leave rounding noise
    // of the order of 1e-2 here, or a NaN from the square root of a negative).
    let a = (CLIENT, 6970);
    let b = (SERVER, 7970);
    let step: i64 = 1_000_000_333;
    let packets: Vec<Pkt> = (0..6)
        .map(|i| Pkt::at_ns(T0_US * 1_000 + i * step, udp(a, b, 100).frame()))
        .collect();
    let out = extract_pcap(&packets, true, &["--profile", "full"]);
    use W::*;
    check(
        out.only(),
        &[
            ("pkt_len_mean", F(142.0)),
            ("pkt_len_std", F(0.0)),
            ("fwd_pkt_len_std", F(0.0)),
            ("iat_min_us", F(1_000_000.333)),
            ("iat_max_us", F(1_000_000.333)),
            ("iat_mean_us", F(1_000_000.333)),
            ("iat_std_us", F(0.0)),
            ("fwd_iat_std_us", F(0.0)),
            ("active_min_us", F(5_000_001.665)),
        ],
    );
}

#[test]
fn threads_do_not_change_the_output() {
    let packets = merge(&generate_flows(&mut Rng(0x0123_4567_89ab_cdef), 40), false).0;
    for args in [
        &["--profile", "full"][..],
        &["--profile", "nfstream", "--stats", "--splt", "4"][..],
    ] {
        let one = extract(&packets, args);
        let mut more = args.to_vec();
        more.extend(["-j", "3"]);
        let three = extract(&packets, &more);
        assert_eq!(one.names(), three.names());
        assert_eq!(one.rows, three.rows, "{args:?} with -j 3");
    }
}
