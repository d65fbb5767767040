//! A small reading of capture records and of the link and IP headers of their
//! frames that shares no code with flowq (neither its capture reader nor its
//! decoder), for tests that must say *why* flowq and another tool see a packet
//! differently (tests/nfstream.rs): a flowq bug cannot explain away its own
//! consequences through it.
//!
//! Only the facts those tests need are read: per record the timestamp as
//! stored, lengths, section and interface (with its link type and snap length);
//! per frame the EtherType and VLAN tags, and the outermost IP header: version,
//! addresses, length fields, fragment fields, IPv6 extension headers and the
//! options that matter (jumbo payload, Mobile IPv6 home address). Records are
//! numbered as flowq and TShark number them: every packet block (pcapng
//! enhanced, simple and obsolete packet blocks) or record (pcap), from 0.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// What one packet record holds.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// Timestamp, ns since the epoch, as the record states it (a pcap fraction
    /// out of range is added as it is, as flowq reads it).
    pub ts_ns: i128,
    /// A pcap record's fraction of a second is out of range (at least 10^6 µs
    /// or 10^9 ns).
    pub fraction_out_of_range: bool,
    /// Length on the wire (the record's original length).
    pub wire_len: u32,
    /// Bytes captured.
    pub cap_len: u32,
    /// pcapng section, from 0 (0 for pcap).
    pub section: u32,
    /// The record's interface, numbered over the whole file in the order of the
    /// interface description blocks (0 for pcap).
    pub interface: u32,
    /// LINKTYPE_* of the record's interface.
    pub linktype: u32,
    /// Snap length of the record's interface.
    pub snaplen: u32,
    /// The record's interface is not like the file's first one: a different
    /// link type or snap length, or an interface of a later section.
    pub unlike_first_interface: bool,
    /// The network-layer protocol the link header announces (an EtherType, or
    /// the IP version's EtherType for raw and null link types).
    pub ethertype: Option<u16>,
    /// VLAN tags before the IP header, outermost first: (tag protocol id, VLAN id).
    pub vlans: Vec<(u16, u16)>,
    /// The outermost IP header after the link header, read by its version
    /// nibble whatever `ethertype` says (see [`Frame::ip_as_announced`]).
    pub ip: Option<Ip>,
}

impl Frame {
    /// The IP header when the link layer announces IP of that version.
    pub fn ip_as_announced(&self) -> Option<&Ip> {
        let ip = self.ip.as_ref()?;
        let expected = if ip.version == 4 { 0x0800 } else { 0x86dd };
        (self.ethertype == Some(expected)).then_some(ip)
    }
}

/// The facts of an IP header.
#[derive(Debug, Clone, Default)]
pub struct Ip {
    /// 4 or 6.
    pub version: u8,
    /// Source address, as flowq and NFStream write it.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// IPv4 total length field, or IPv6 payload length field.
    pub length_field: u32,
    /// IPv4 header length (IHL × 4); 40 for IPv6.
    pub header_len: usize,
    /// IPv4: the protocol; IPv6: every next-header value in the chain walked
    /// (hop-by-hop 0, routing 43, fragment 44, AH 51, destination options 60,
    /// mobility 135), ending with the first one that is not an extension header.
    pub chain: Vec<u8>,
    /// Fragment offset (bytes) and the more-fragments flag, when the packet is a
    /// fragment (IPv4 with MF set or a non-zero offset, IPv6 with a fragment header).
    pub fragment: Option<(u32, bool)>,
    /// An IPv6 hop-by-hop jumbo payload option (RFC 2675).
    pub jumbo: bool,
    /// An IPv6 destination option Home Address (Mobile IPv6, RFC 6275).
    pub home_address: bool,
    /// Bytes captured after the IP header and the extension headers walked.
    pub after_headers: usize,
    /// Those bytes (the transport header and payload), up to the end of the
    /// IP packet as its length field gives it (Ethernet padding left out).
    pub transport: Vec<u8>,
}

impl Ip {
    /// The transport protocol: the last value of the chain.
    pub fn protocol(&self) -> u8 {
        self.chain.last().copied().unwrap_or(0)
    }
}

/// Every packet record of a capture, in order, up to the end of the file or
/// the first record whose header is impossible.
pub fn read_frames(path: &Path) -> Vec<Frame> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut frames = Vec::new();
    let records = match bytes.get(..4) {
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => pcapng(&bytes),
        Some(_) => pcap(&bytes),
        None => Vec::new(),
    };
    for (mut frame, data) in records {
        if let Some((ethertype, at)) = link(frame.linktype, data, &mut frame.vlans) {
            frame.ethertype = Some(ethertype);
            frame.ip = ip(&data[at..]);
        }
        frames.push(frame);
    }
    frames
}

/// Reads integers in one byte order.
#[derive(Clone, Copy)]
struct Order(bool);

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let v = [*b.get(at)?, *b.get(at + 1)?];
        Some(if self.0 {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let v: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.0 {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        })
    }
}

/// Classic pcap: a 24-byte header, then 16-byte record headers.
fn pcap(bytes: &[u8]) -> Vec<(Frame, &[u8])> {
    let magic = u32::from_le_bytes(bytes[..4].try_into().unwrap());
    let (order, nanos) = match magic {
        0xa1b2_c3d4 => (Order(false), false),
        0xa1b2_3c4d => (Order(false), true),
        0xd4c3_b2a1 => (Order(true), false),
        0x4d3c_b2a1 => (Order(true), true),
        // 0xa1b2cd34, a modified pcap: its records are 8 bytes longer.
        _ => return Vec::new(),
    };
    let (Some(snaplen), Some(linktype)) = (order.u32(bytes, 16), order.u32(bytes, 20)) else {
        return Vec::new();
    };
    let unit: i128 = if nanos { 1 } else { 1_000 };
    let limit = if nanos { 1_000_000_000 } else { 1_000_000 };
    let mut records = Vec::new();
    let mut at = 24;
    while let (Some(sec), Some(fraction), Some(cap_len), Some(wire_len)) = (
        order.u32(bytes, at),
        order.u32(bytes, at + 4),
        order.u32(bytes, at + 8),
        order.u32(bytes, at + 12),
    ) {
        let Some(data) = bytes.get(at + 16..at + 16 + cap_len as usize) else {
            break;
        };
        records.push((
            Frame {
                ts_ns: i128::from(sec) * 1_000_000_000 + i128::from(fraction) * unit,
                fraction_out_of_range: fraction >= limit,
                wire_len,
                cap_len,
                linktype: linktype & 0xffff,
                snaplen,
                ..Frame::default()
            },
            data,
        ));
        at += 16 + cap_len as usize;
    }
    records
}

/// An interface description: link type, snap length, ns per timestamp unit
/// (as a fraction), offset in seconds.
#[derive(Clone, Copy)]
struct Interface {
    number: u32,
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second.
    per_second: i128,
    offset_s: i128,
}

/// pcapng: blocks of `type, length, body, length`; sections start with a
/// section header block, whose byte-order magic sets the order of the section.
fn pcapng(bytes: &[u8]) -> Vec<(Frame, &[u8])> {
    let mut records = Vec::new();
    let mut order = Order(false);
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut first_interface: Option<(u32, u32)> = None;
    let (mut section, mut numbered) = (0u32, 0u32);
    let mut at = 0;
    let mut first = true;
    while at + 12 <= bytes.len() {
        if bytes[at..at + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            // Section header: the byte order comes from its magic.
            order = Order(bytes.get(at + 8..at + 12) == Some(&[0x1a, 0x2b, 0x3c, 0x4d]));
            if !first {
                section += 1;
            }
            first = false;
            interfaces.clear();
        }
        let (Some(kind), Some(len)) = (order.u32(bytes, at), order.u32(bytes, at + 4)) else {
            break;
        };
        let len = len as usize;
        if len < 12 || !len.is_multiple_of(4) || at + len > bytes.len() {
            break;
        }
        let body = &bytes[at + 8..at + len - 4];
        match kind {
            1 => {
                let mut interface = Interface {
                    number: numbered,
                    linktype: u32::from(order.u16(body, 0).unwrap_or(0)),
                    snaplen: order.u32(body, 4).unwrap_or(0),
                    per_second: 1_000_000,
                    offset_s: 0,
                };
                numbered += 1;
                first_interface.get_or_insert((interface.linktype, interface.snaplen));
                // Options: if_tsresol (9) and if_tsoffset (14) change timestamps.
                let mut o = 8;
                while let (Some(code), Some(olen)) = (order.u16(body, o), order.u16(body, o + 2)) {
                    let value = body.get(o + 4..o + 4 + usize::from(olen)).unwrap_or(&[]);
                    match (code, value) {
                        (0, _) => break,
                        (9, [v]) => {
                            interface.per_second = if v & 0x80 == 0 {
                                10i128.pow(u32::from(*v))
                            } else {
                                1i128 << (v & 0x7f)
                            }
                        }
                        (14, v) if v.len() == 8 => {
                            let v: [u8; 8] = v.try_into().unwrap();
                            interface.offset_s = i128::from(if order.0 {
                                i64::from_be_bytes(v)
                            } else {
                                i64::from_le_bytes(v)
                            });
                        }
                        _ => {}
                    }
                    o += 4 + usize::from(olen).div_ceil(4) * 4;
                }
                interfaces.push(interface);
            }
            // Enhanced packet block, and the obsolete packet block (16-bit
            // interface id followed by a 16-bit drop count).
            6 | 2 => {
                let id = if kind == 6 {
                    order.u32(body, 0)
                } else {
                    order.u16(body, 0).map(u32::from)
                };
                let (Some(id), Some(high), Some(low), Some(cap_len), Some(wire_len)) = (
                    id,
                    order.u32(body, 4),
                    order.u32(body, 8),
                    order.u32(body, 12),
                    order.u32(body, 16),
                ) else {
                    break;
                };
                let (Some(interface), Some(data)) = (
                    interfaces.get(id as usize),
                    body.get(20..20 + cap_len as usize),
                ) else {
                    break;
                };
                let ticks = i128::from(u64::from(high) << 32 | u64::from(low));
                records.push((
                    packet(
                        interface,
                        first_interface,
                        section,
                        (interface.offset_s * 1_000_000_000)
                            + ticks * 1_000_000_000 / interface.per_second,
                        wire_len,
                        cap_len,
                    ),
                    data,
                ));
            }
            // Simple packet block: interface 0, no timestamp (the previous one).
            3 => {
                let (Some(interface), Some(wire_len)) = (interfaces.first(), order.u32(body, 0))
                else {
                    break;
                };
                let cap_len = wire_len
                    .min(if interface.snaplen == 0 {
                        u32::MAX
                    } else {
                        interface.snaplen
                    })
                    .min(body.len().saturating_sub(4) as u32);
                let previous = records.last().map_or(0, |(f, _): &(Frame, &[u8])| f.ts_ns);
                records.push((
                    packet(
                        interface,
                        first_interface,
                        section,
                        previous,
                        wire_len,
                        cap_len,
                    ),
                    &body[4..4 + cap_len as usize],
                ));
            }
            _ => {}
        }
        at += len;
    }
    records
}

fn packet(
    interface: &Interface,
    first: Option<(u32, u32)>,
    section: u32,
    ts_ns: i128,
    wire_len: u32,
    cap_len: u32,
) -> Frame {
    Frame {
        unlike_first_interface: section > 0
            || first != Some((interface.linktype, interface.snaplen)),
        ts_ns,
        wire_len,
        cap_len,
        section,
        interface: interface.number,
        linktype: interface.linktype,
        snaplen: interface.snaplen,
        ..Frame::default()
    }
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// The network-layer protocol (as an EtherType) and where it starts, for the
/// link types the corpus's NFStream captures use.
fn link(linktype: u32, data: &[u8], vlans: &mut Vec<(u16, u16)>) -> Option<(u16, usize)> {
    let by_version = |at: usize| match data.get(at)? >> 4 {
        4 => Some((ETHERTYPE_IPV4, at)),
        6 => Some((ETHERTYPE_IPV6, at)),
        _ => None,
    };
    match linktype {
        // Ethernet, with any stack of 802.1Q / 802.1ad / pre-standard QinQ tags.
        1 => {
            let mut ethertype = be16(data, 12)?;
            let mut at = 14;
            while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
                vlans.push((ethertype, be16(data, at)? & 0x0fff));
                ethertype = be16(data, at + 2)?;
                at += 4;
            }
            Some((ethertype, at))
        }
        // Raw IP.
        12 | 14 | 101 | 228 | 229 => by_version(0),
        // BSD loopback / null: a 4-byte address family, then IP.
        0 | 108 => by_version(4),
        // Linux cooked capture v1: protocol at 14, header 16 bytes.
        113 => Some((be16(data, 14)?, 16)),
        // Linux cooked capture v2: protocol at 0, header 20 bytes.
        276 => Some((be16(data, 0)?, 20)),
        _ => None,
    }
}

/// The IP header at the start of `data`, by its version nibble.
fn ip(data: &[u8]) -> Option<Ip> {
    match data.first()? >> 4 {
        4 => ipv4(data),
        6 => ipv6(data),
        _ => None,
    }
}

fn ipv4(data: &[u8]) -> Option<Ip> {
    if data.len() < 20 {
        return None;
    }
    let header_len = usize::from(data[0] & 0x0f) * 4;
    let flags_offset = be16(data, 6)?;
    let offset = u32::from(flags_offset & 0x1fff) * 8;
    let more = flags_offset & 0x2000 != 0;
    let addr = |at: usize| Ipv4Addr::from(<[u8; 4]>::try_from(&data[at..at + 4]).unwrap());
    Some(Ip {
        version: 4,
        src: addr(12).to_string(),
        dst: addr(16).to_string(),
        length_field: u32::from(be16(data, 2)?),
        header_len,
        chain: vec![data[9]],
        fragment: (more || offset > 0).then_some((offset, more)),
        after_headers: data.len().saturating_sub(header_len),
        transport: {
            let end = usize::from(be16(data, 2)?).clamp(header_len, data.len());
            data.get(header_len..end).unwrap_or_default().to_vec()
        },
        ..Ip::default()
    })
}

fn ipv6(data: &[u8]) -> Option<Ip> {
    if data.len() < 40 {
        return None;
    }
    let addr = |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&data[at..at + 16]).unwrap());
    let mut ip = Ip {
        version: 6,
        src: addr(8).to_string(),
        dst: addr(24).to_string(),
        length_field: u32::from(be16(data, 4)?),
        header_len: 40,
        chain: vec![data[6]],
        ..Ip::default()
    };
    let mut at = 40;
    loop {
        let next = ip.protocol();
        let Some(header) = data.get(at..).filter(|h| h.len() >= 8) else {
            break;
        };
        let len = match next {
            0 | 43 | 60 | 135 => (usize::from(header[1]) + 1) * 8,
            44 => 8,
            51 => (usize::from(header[1]) + 2) * 4,
            _ => break,
        };
        if matches!(next, 0 | 60) {
            // Options: type, length, data; Pad1 (type 0) is one byte.
            let options = &header[2..len.min(header.len())];
            let mut o = 0;
            while o < options.len() {
                match options[o] {
                    0 => o += 1,
                    kind => {
                        ip.jumbo |= next == 0 && kind == 0xc2;
                        ip.home_address |= next == 60 && kind == 0xc9;
                        o += 2 + usize::from(*options.get(o + 1).unwrap_or(&255));
                    }
                }
            }
        }
        if next == 44 {
            let field = be16(header, 2)?;
            ip.fragment = Some((u32::from(field & 0xfff8), field & 1 != 0));
        }
        ip.chain.push(header[0]);
        at += len;
        if ip.fragment.is_some_and(|(offset, _)| offset > 0) {
            // A later fragment: what follows is data, not a header.
            break;
        }
    }
    ip.after_headers = data.len().saturating_sub(at);
    let end = (40 + ip.length_field as usize).clamp(at.min(data.len()), data.len());
    ip.transport = data.get(at..end).unwrap_or_default().to_vec();
    Some(ip)
}
