//! A small capture writer for tests: frames built with etherparse or by hand,
//! written as classic pcap or pcapng.
//!
//! Frames are composed in two steps: an IP packet (`ip4_udp`, `ip4_tcp`,
//! `ip4_fragments`, `ip6_udp_with_ext`, ...) and a link layer around it (`eth`,
//! `eth_vlan`, `sll`, or nothing for raw-IP link types). Every length is the sum
//! of the header sizes below, so tests can work out byte counts by hand:
//!
//! | layer                         | bytes |
//! |-------------------------------|-------|
//! | Ethernet II                   | 14    |
//! | 802.1Q tag                    | 4     |
//! | Linux cooked (SLL)            | 16    |
//! | IPv4 (no options)             | 20    |
//! | IPv6                          | 40    |
//! | IPv6 hop-by-hop / dest. opts  | 8     |
//! | TCP (no options)              | 20    |
//! | UDP, ICMP echo                | 8     |

use etherparse::{PacketBuilder, TcpHeader};
use std::path::Path;

/// LINKTYPE_ETHERNET
pub const LINKTYPE_ETHERNET: u16 = 1;
/// LINKTYPE_RAW (IPv4 or IPv6 by the version nibble)
pub const LINKTYPE_RAW: u16 = 101;
/// LINKTYPE_IEEE802_11 (Wi-Fi without a radiotap header)
pub const LINKTYPE_IEEE802_11: u16 = 105;
/// LINKTYPE_LINUX_SLL
pub const LINKTYPE_LINUX_SLL: u16 = 113;
/// LINKTYPE_IPV4
pub const LINKTYPE_IPV4: u16 = 228;

/// MAC addresses used by `eth` (which side sends does not matter to flowq).
pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
/// See [`MAC_A`].
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

/// 2023-11-14T22:13:20Z, a round Unix time used as the start of test captures.
pub const T0_US: i64 = 1_700_000_000_000_000;

/// TCP flag bits, as in the TCP header's flags byte.
pub use flowq_extract::decode::tcp_flags as flags;

/// An IPv4 endpoint: address and port.
pub type Ep4 = ([u8; 4], u16);
/// An IPv6 endpoint: address and port.
pub type Ep6 = ([u8; 16], u16);

/// One packet record: when it was captured and the bytes of the frame.
#[derive(Debug, Clone)]
pub struct Pkt {
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Captured bytes.
    pub data: Vec<u8>,
    /// Length on the wire (`>= data.len()`).
    pub orig_len: u32,
}

impl Pkt {
    /// A packet captured whole at `us` microseconds since the Unix epoch.
    pub fn new(us: i64, data: Vec<u8>) -> Pkt {
        Pkt::at_ns(us * 1_000, data)
    }

    /// A packet captured whole at `ns` nanoseconds since the Unix epoch.
    pub fn at_ns(ns: i64, data: Vec<u8>) -> Pkt {
        let orig_len = data.len() as u32;
        Pkt {
            ts_ns: ns,
            data,
            orig_len,
        }
    }

    /// The same packet captured with a snap length: only the first `snaplen`
    /// bytes are stored, the wire length stays the full frame length.
    pub fn snapped(mut self, snaplen: usize) -> Pkt {
        self.data.truncate(snaplen);
        self
    }
}

// ---------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------

/// A classic little-endian pcap file (version 2.4, snap length 262144) with
/// microsecond magic (`a1b2c3d4`) or, with `nanos`, nanosecond magic (`a1b23c4d`).
pub fn pcap_bytes(linktype: u16, nanos: bool, packets: &[Pkt]) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut out = Vec::new();
    out.extend_from_slice(&magic.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes()); // version major
    out.extend_from_slice(&4u16.to_le_bytes()); // version minor
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&262_144u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&u32::from(linktype).to_le_bytes());
    for p in packets {
        let secs = p.ts_ns.div_euclid(1_000_000_000);
        let frac_ns = p.ts_ns.rem_euclid(1_000_000_000);
        let frac = if nanos {
            frac_ns
        } else {
            assert_eq!(
                frac_ns % 1_000,
                0,
                "a microsecond pcap cannot store {} ns",
                p.ts_ns
            );
            frac_ns / 1_000
        };
        out.extend_from_slice(&(secs as u32).to_le_bytes());
        out.extend_from_slice(&(frac as u32).to_le_bytes());
        out.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&p.orig_len.to_le_bytes());
        out.extend_from_slice(&p.data);
    }
    out
}

/// Writes [`pcap_bytes`] to `path`.
pub fn write_pcap(path: &Path, linktype: u16, nanos: bool, packets: &[Pkt]) {
    std::fs::write(path, pcap_bytes(linktype, nanos, packets)).expect("write pcap");
}

/// A pcapng interface description.
#[derive(Debug, Clone, Copy)]
pub struct Iface {
    /// LINKTYPE_* value.
    pub linktype: u16,
    /// The `if_tsresol` option byte (6 = microseconds, 9 = nanoseconds, 0x80 | n =
    /// 2^-n seconds); `None` writes no option (the default, microseconds).
    pub tsresol: Option<u8>,
    /// The `if_tsoffset` option (seconds added to every timestamp); `None` writes
    /// no option. Packet times given to [`pcapng_bytes`] include the offset.
    pub tsoffset: Option<i64>,
}

impl Iface {
    /// An interface with the given link type and `if_tsresol` option.
    pub fn new(linktype: u16, tsresol: Option<u8>) -> Iface {
        Iface {
            linktype,
            tsresol,
            tsoffset: None,
        }
    }

    /// The same interface with an `if_tsoffset` option of `seconds`.
    pub fn with_tsoffset(mut self, seconds: i64) -> Iface {
        self.tsoffset = Some(seconds);
        self
    }
}

/// Timestamp ticks per second for an `if_tsresol` byte (absent: 10^6).
fn ticks_per_second(tsresol: Option<u8>) -> i128 {
    match tsresol {
        None => 1_000_000,
        Some(r) if r & 0x80 == 0 => 10i128.pow(u32::from(r)),
        Some(r) => 1i128 << (r & 0x7f),
    }
}

/// Byte order of a pcapng section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Little-endian (what most capture tools write).
    Little,
    /// Big-endian.
    Big,
}

/// Writes pcapng fields in one byte order.
struct NgWriter {
    endian: Endian,
    out: Vec<u8>,
}

impl NgWriter {
    fn u16(&mut self, v: u16) {
        let b = match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        self.out.extend_from_slice(&b);
    }

    fn u32(&mut self, v: u32) {
        let b = match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        self.out.extend_from_slice(&b);
    }

    fn i64(&mut self, v: i64) {
        let b = match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        self.out.extend_from_slice(&b);
    }

    fn bytes(&mut self, v: &[u8]) {
        self.out.extend_from_slice(v);
    }

    fn pad4(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    /// An option: code, length, value, padding to 32 bits.
    fn option(&mut self, code: u16, value: &[u8]) {
        self.u16(code);
        self.u16(value.len() as u16);
        self.bytes(value);
        self.pad4();
    }

    /// Wraps the body written by `fill` into a block: type, total length, body
    /// (padded to 32 bits), total length.
    fn block(&mut self, block_type: u32, fill: impl FnOnce(&mut NgWriter)) {
        let mut body = NgWriter {
            endian: self.endian,
            out: Vec::new(),
        };
        fill(&mut body);
        body.pad4();
        let total = (12 + body.out.len()) as u32;
        self.u32(block_type);
        self.u32(total);
        self.bytes(&body.out);
        self.u32(total);
    }
}

/// A little-endian pcapng section: one section header block, the interface
/// description blocks, then one enhanced packet block per `(interface, packet)`.
pub fn pcapng_bytes(ifaces: &[Iface], packets: &[(u32, Pkt)]) -> Vec<u8> {
    pcapng_bytes_in(Endian::Little, ifaces, packets)
}

/// Like [`pcapng_bytes`], in the given byte order.
pub fn pcapng_bytes_in(endian: Endian, ifaces: &[Iface], packets: &[(u32, Pkt)]) -> Vec<u8> {
    let mut w = NgWriter {
        endian,
        out: Vec::new(),
    };
    // Section header: byte-order magic, version 1.0, section length unknown (-1).
    w.block(0x0a0d_0d0a, |b| {
        b.u32(0x1a2b_3c4d);
        b.u16(1);
        b.u16(0);
        b.i64(-1);
    });
    for iface in ifaces {
        w.block(0x0000_0001, |b| {
            b.u16(iface.linktype);
            b.u16(0); // reserved
            b.u32(262_144); // snaplen
            if let Some(r) = iface.tsresol {
                b.option(9, &[r]); // if_tsresol
            }
            if let Some(seconds) = iface.tsoffset {
                let value = match endian {
                    Endian::Little => seconds.to_le_bytes(),
                    Endian::Big => seconds.to_be_bytes(),
                };
                b.option(14, &value); // if_tsoffset
            }
            if iface.tsresol.is_some() || iface.tsoffset.is_some() {
                b.option(0, &[]); // opt_endofopt
            }
        });
    }
    for (if_id, p) in packets {
        let iface = ifaces[*if_id as usize];
        let units = ticks_per_second(iface.tsresol);
        let since_offset =
            i128::from(p.ts_ns) - i128::from(iface.tsoffset.unwrap_or(0)) * 1_000_000_000;
        let ticks = since_offset * units;
        assert_eq!(
            ticks % 1_000_000_000,
            0,
            "{} ns is not a whole number of ticks of interface {if_id}",
            p.ts_ns
        );
        let ticks = u64::try_from(ticks / 1_000_000_000).expect("timestamp after the offset");
        w.block(0x0000_0006, |b| {
            b.u32(*if_id);
            b.u32((ticks >> 32) as u32);
            b.u32(ticks as u32);
            b.u32(p.data.len() as u32);
            b.u32(p.orig_len);
            b.bytes(&p.data);
        });
    }
    w.out
}

/// Writes [`pcapng_bytes`] to `path`.
pub fn write_pcapng(path: &Path, ifaces: &[Iface], packets: &[(u32, Pkt)]) {
    std::fs::write(path, pcapng_bytes(ifaces, packets)).expect("write pcapng");
}

// ---------------------------------------------------------------------------
// IP packets (no link layer)
// ---------------------------------------------------------------------------

/// An IPv4/UDP packet: 20 + 8 + payload bytes.
pub fn ip4_udp(src: Ep4, dst: Ep4, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv4(src.0, dst.0, 64)
        .udp(src.1, dst.1)
        .write(&mut out, payload)
        .expect("build udp");
    out
}

/// An IPv4/TCP packet with the given flags (see [`flags`]): 20 + 20 + payload bytes.
pub fn ip4_tcp(src: Ep4, dst: Ep4, tcp_flags: u8, payload: &[u8]) -> Vec<u8> {
    ip4_tcp_with_options(src, dst, tcp_flags, &[], payload)
}

/// An IPv4/TCP packet with raw TCP options (a multiple of 4 bytes): 20 + 20 +
/// options + payload bytes.
pub fn ip4_tcp_with_options(
    src: Ep4,
    dst: Ep4,
    tcp_flags: u8,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut h = TcpHeader::new(src.1, dst.1, 1000, 64_000);
    h.fin = tcp_flags & flags::FIN != 0;
    h.syn = tcp_flags & flags::SYN != 0;
    h.rst = tcp_flags & flags::RST != 0;
    h.psh = tcp_flags & flags::PSH != 0;
    h.ack = tcp_flags & flags::ACK != 0;
    h.urg = tcp_flags & flags::URG != 0;
    h.ece = tcp_flags & flags::ECE != 0;
    h.cwr = tcp_flags & flags::CWR != 0;
    if h.ack {
        h.acknowledgment_number = 2000;
    }
    h.set_options_raw(options).expect("tcp options");
    let mut out = Vec::new();
    PacketBuilder::ipv4(src.0, dst.0, 64)
        .tcp_header(h)
        .write(&mut out, payload)
        .expect("build tcp");
    out
}

/// The TCP MSS option (kind 2, length 4, 1460): 4 bytes.
pub const TCP_MSS_OPTION: [u8; 4] = [2, 4, 0x05, 0xb4];

/// An IPv4 ICMP echo request (or reply): 20 + 8 + payload bytes.
pub fn ip4_icmp_echo(
    src: [u8; 4],
    dst: [u8; 4],
    reply: bool,
    id: u16,
    seq: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    let b = PacketBuilder::ipv4(src, dst, 64);
    let b = if reply {
        b.icmpv4_echo_reply(id, seq)
    } else {
        b.icmpv4_echo_request(id, seq)
    };
    b.write(&mut out, payload).expect("build icmp");
    out
}

/// The Internet checksum (RFC 1071) of `bytes`.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in bytes.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A 20-byte IPv4 header written by hand: total length = 20 + `payload_len`,
/// the identification, the more-fragments flag and the fragment offset (in
/// 8-byte units), TTL 64 and a correct header checksum.
pub fn ipv4_header(
    src: [u8; 4],
    dst: [u8; 4],
    protocol: u8,
    id: u16,
    more_fragments: bool,
    offset_units: u16,
    payload_len: usize,
) -> [u8; 20] {
    assert!(offset_units < 0x2000, "fragment offset has 13 bits");
    let total_len = u16::try_from(20 + payload_len).expect("IPv4 total length fits 16 bits");
    let flags_offset = (u16::from(more_fragments) << 13) | offset_units;
    let mut h = [0u8; 20];
    h[0] = 0x45; // version 4, IHL 5 (20 bytes)
    h[2..4].copy_from_slice(&total_len.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&flags_offset.to_be_bytes());
    h[8] = 64; // TTL
    h[9] = protocol;
    h[12..16].copy_from_slice(&src);
    h[16..20].copy_from_slice(&dst);
    let checksum = internet_checksum(&h);
    h[10..12].copy_from_slice(&checksum.to_be_bytes());
    h
}

/// A UDP header and payload written by hand, checksum 0 ("none", allowed over IPv4).
pub fn udp_datagram(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).expect("UDP length fits 16 bits");
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    out
}

/// Splits one IPv4 datagram into fragments: `ip_payload` (e.g. a UDP header and
/// its data) is cut into pieces of `piece_len` bytes (a multiple of 8; the last
/// piece takes the rest). Each fragment is a 20-byte header plus its piece, with
/// offset = bytes before the piece / 8 and MF set on all but the last.
pub fn ip4_fragments(
    src: [u8; 4],
    dst: [u8; 4],
    protocol: u8,
    id: u16,
    ip_payload: &[u8],
    piece_len: usize,
) -> Vec<Vec<u8>> {
    assert!(
        piece_len > 0 && piece_len.is_multiple_of(8),
        "fragment data is in 8-byte units"
    );
    let pieces: Vec<&[u8]> = ip_payload.chunks(piece_len).collect();
    let last = pieces.len() - 1;
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let offset_units = u16::try_from(i * piece_len / 8).expect("offset fits");
            let header = ipv4_header(src, dst, protocol, id, i < last, offset_units, piece.len());
            let mut packet = header.to_vec();
            packet.extend_from_slice(piece);
            packet
        })
        .collect()
}

/// Which IPv6 extension header [`ip6_udp_with_ext`] puts before UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ip6Ext {
    /// Hop-by-hop options (next header 0).
    HopByHop,
    /// Destination options (next header 60).
    DestinationOptions,
}

/// An IPv6 packet with one 8-byte extension header (a PadN option) before a UDP
/// datagram, written by hand: 40 + 8 + 8 + payload bytes, UDP checksum correct.
pub fn ip6_udp_with_ext(src: Ep6, dst: Ep6, ext: Ip6Ext, payload: &[u8]) -> Vec<u8> {
    let udp_len = u16::try_from(8 + payload.len()).expect("UDP length fits");
    let mut udp = Vec::new();
    udp.extend_from_slice(&src.1.to_be_bytes());
    udp.extend_from_slice(&dst.1.to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    // Checksum over the pseudo-header (src, dst, upper-layer length, next header 17).
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.0);
    pseudo.extend_from_slice(&dst.0);
    pseudo.extend_from_slice(&u32::from(udp_len).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 17]);
    pseudo.extend_from_slice(&udp);
    let checksum = match internet_checksum(&pseudo) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&checksum.to_be_bytes());

    // Extension header: next header UDP (17), length 0 (8 bytes), PadN of 4 zeros.
    let ext_header = [17u8, 0, 1, 4, 0, 0, 0, 0];
    let first_next_header = match ext {
        Ip6Ext::HopByHop => 0u8,
        Ip6Ext::DestinationOptions => 60u8,
    };
    let payload_len = u16::try_from(ext_header.len() + udp.len()).expect("fits");
    let mut out = Vec::new();
    out.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, traffic class 0, flow label 0
    out.extend_from_slice(&payload_len.to_be_bytes());
    out.push(first_next_header);
    out.push(64); // hop limit
    out.extend_from_slice(&src.0);
    out.extend_from_slice(&dst.0);
    out.extend_from_slice(&ext_header);
    out.extend_from_slice(&udp);
    out
}

/// An IPv6/UDP packet without extension headers: 40 + 8 + payload bytes.
pub fn ip6_udp(src: Ep6, dst: Ep6, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv6(src.0, dst.0, 64)
        .udp(src.1, dst.1)
        .write(&mut out, payload)
        .expect("build udp");
    out
}

// ---------------------------------------------------------------------------
// Link layers
// ---------------------------------------------------------------------------

fn ethertype_of(ip_packet: &[u8]) -> u16 {
    match ip_packet.first().map(|b| b >> 4) {
        Some(6) => 0x86dd,
        _ => 0x0800,
    }
}

/// An Ethernet II frame (MAC_A -> MAC_B) around an IP packet: 14 + packet bytes.
/// The EtherType follows the packet's version nibble.
pub fn eth(ip_packet: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(14 + ip_packet.len());
    out.extend_from_slice(&MAC_B);
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&ethertype_of(ip_packet).to_be_bytes());
    out.extend_from_slice(ip_packet);
    out
}

/// An 802.1Q-tagged Ethernet frame around an IP packet, written by hand: 14 + 4 +
/// packet bytes. `tci` is the whole tag control field (PCP 3 bits, DEI 1 bit,
/// VLAN id 12 bits).
pub fn eth_vlan(tci: u16, ip_packet: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(18 + ip_packet.len());
    out.extend_from_slice(&MAC_B);
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&0x8100u16.to_be_bytes());
    out.extend_from_slice(&tci.to_be_bytes());
    out.extend_from_slice(&ethertype_of(ip_packet).to_be_bytes());
    out.extend_from_slice(ip_packet);
    out
}

/// A Linux cooked capture (SLL, link type 113) frame around an IP packet, written
/// by hand: 16 + packet bytes.
pub fn sll(ip_packet: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + ip_packet.len());
    out.extend_from_slice(&0u16.to_be_bytes()); // packet type: to us
    out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    out.extend_from_slice(&6u16.to_be_bytes()); // link-layer address length
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&[0, 0]); // address padding to 8 bytes
    out.extend_from_slice(&ethertype_of(ip_packet).to_be_bytes());
    out.extend_from_slice(ip_packet);
    out
}

/// An ARP request frame (who has `target`? tell `sender`), written by hand:
/// 14 + 28 = 42 bytes, EtherType 0x0806.
pub fn arp_request(sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(42);
    out.extend_from_slice(&[0xff; 6]); // broadcast
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&0x0806u16.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // hardware type: Ethernet
    out.extend_from_slice(&0x0800u16.to_be_bytes()); // protocol type: IPv4
    out.push(6); // hardware address length
    out.push(4); // protocol address length
    out.extend_from_slice(&1u16.to_be_bytes()); // operation: request
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&sender);
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&target);
    out
}

/// An Ethernet frame with an arbitrary EtherType and body (e.g. a cut-off or
/// invalid IP header): 14 + body bytes.
pub fn eth_raw(ethertype: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(14 + body.len());
    out.extend_from_slice(&MAC_B);
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(body);
    out
}

// ---------------------------------------------------------------------------
// Tunnels and the PPP, Cisco HDLC and 802.11 link types (tests/tunnels.rs)
// ---------------------------------------------------------------------------

/// LINKTYPE_PPP
pub const LINKTYPE_PPP: u16 = 9;
/// LINKTYPE_C_HDLC (Cisco HDLC)
pub const LINKTYPE_C_HDLC: u16 = 104;
/// LINKTYPE_IEEE802_11_RADIOTAP
pub const LINKTYPE_IEEE802_11_RADIOTAP: u16 = 127;

/// An IPv4 packet carrying `payload` as IP protocol `protocol` (4 IP-in-IP, 41
/// IPv6-in-IPv4, 47 GRE): 20 + payload bytes.
pub fn ip4_carrying(src: [u8; 4], dst: [u8; 4], protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = ipv4_header(src, dst, protocol, 1, false, 0, payload.len()).to_vec();
    out.extend_from_slice(payload);
    out
}

/// An IPComp header (RFC 3173: next header, flags 0, CPI 2 = DEFLATE) and
/// `payload` as a raw DEFLATE stream (RFC 1951) of stored blocks, written by
/// hand: one 5-byte block header (final bit on the last, type 00, LEN and its
/// complement, little-endian) per 65 535 bytes. 4 + 5 + payload bytes up to
/// 65 535 bytes of payload.
pub fn ipcomp(next_header: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![next_header, 0, 0, 2];
    let blocks: Vec<&[u8]> = if payload.is_empty() {
        vec![&[]]
    } else {
        payload.chunks(65_535).collect()
    };
    let last = blocks.len() - 1;
    for (i, block) in blocks.iter().enumerate() {
        let len = block.len() as u16;
        out.push(u8::from(i == last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out
}

/// A GRE header (version 0, no optional fields) with this protocol type: 4 +
/// payload bytes.
pub fn gre(protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0];
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// ERSPAN type II in GRE (sequence number present) around a mirrored Ethernet
/// frame: GRE 8 + ERSPAN 8 + frame bytes.
pub fn gre_erspan2(frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0x10, 0, 0x88, 0xbe, 0, 0, 0, 7];
    out.extend_from_slice(&[0x10, 0x00, 0x00, 0x01, 0, 0, 0, 0]);
    out.extend_from_slice(frame);
    out
}

/// PPTP's enhanced GRE (version 1, key and sequence number) carrying PPP with
/// address/control bytes around an IPv4 packet: 12 + 4 + packet bytes.
pub fn gre_pptp(ip_packet: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30, 0x01, 0x88, 0x0b];
    out.extend_from_slice(&u16::try_from(4 + ip_packet.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&[0x12, 0x34, 0, 0, 0, 1]);
    out.extend_from_slice(&[0xff, 0x03, 0x00, 0x21]);
    out.extend_from_slice(ip_packet);
    out
}

/// A VXLAN header (I flag, this VNI) around an Ethernet frame: 8 + frame bytes.
pub fn vxlan(vni: u32, frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0x08, 0, 0, 0];
    out.extend_from_slice(&(vni << 8).to_be_bytes());
    out.extend_from_slice(frame);
    out
}

/// A Geneve header without options around an Ethernet frame: 8 + frame bytes.
pub fn geneve(frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x65, 0x58, 0, 0, 1, 0];
    out.extend_from_slice(frame);
    out
}

/// A GTP-U G-PDU header (version 1, no optional fields) around an IP packet:
/// 8 + packet bytes.
pub fn gtp_u(teid: u32, ip_packet: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30, 0xff];
    out.extend_from_slice(&u16::try_from(ip_packet.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&teid.to_be_bytes());
    out.extend_from_slice(ip_packet);
    out
}

/// An AYIYA forward packet (draft-massar-v6ops-ayiya-02 §5) around an IPv4
/// packet: 8-byte header, a 16-byte identity, a 20-byte signature, then the
/// packet: 44 + packet bytes.
pub fn ayiya(ip_packet: &[u8]) -> Vec<u8> {
    let mut out = vec![0x41, 0x52, 0x11, 4, 0, 0, 0, 0];
    out.extend_from_slice(&[0x20; 16]);
    out.extend_from_slice(&[0; 20]);
    out.extend_from_slice(ip_packet);
    out
}

/// A PPP frame (address/control `ff 03`, 2-byte protocol) around an IP packet,
/// or with `protocol` 0xc021 an LCP frame: 4 + packet bytes.
pub fn ppp(protocol: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xff, 0x03];
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A Cisco HDLC frame (unicast address, control 0, EtherType) around a body:
/// 4 + body bytes.
pub fn chdlc(ethertype: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0f, 0x00];
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// An 8-byte radiotap header (no fields) and an 802.11 QoS data frame sent to
/// the access point (To DS: address 2 = MAC_A is the source, address 3 = MAC_B
/// the destination) with LLC/SNAP around an IP packet: 8 + 26 + 8 + packet bytes.
pub fn radiotap_qos_data(ip_packet: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, 0, 0, 0, 0, 0];
    out.extend_from_slice(&[0x88, 0x01, 0, 0]);
    out.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xaa]); // BSSID
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&MAC_B);
    out.extend_from_slice(&[0, 0, 0, 0]); // sequence control, QoS control
    out.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0]);
    out.extend_from_slice(&ethertype_of(ip_packet).to_be_bytes());
    out.extend_from_slice(ip_packet);
    out
}

/// An 8-byte radiotap header and an 802.11 beacon (a management frame): 8 + 36 bytes.
pub fn radiotap_beacon() -> Vec<u8> {
    let mut out = vec![0, 0, 8, 0, 0, 0, 0, 0];
    out.extend_from_slice(&[0x80, 0x00, 0, 0]);
    out.extend_from_slice(&[0xff; 6]);
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&MAC_A);
    out.extend_from_slice(&[0; 14]);
    out
}
