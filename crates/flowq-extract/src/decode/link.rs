//! Link layers down to the IP header: Ethernet (with 802.1Q/802.1ad tags, MPLS
//! label stacks, PPPoE sessions and LLC/SNAP), Linux cooked SLL and SLL2, BSD
//! null/loopback, raw IP, PPP (plain and in HDLC-like framing), Cisco HDLC and
//! 802.11 data frames (plain or behind a radiotap header).

use super::SkipReason;
use super::wire::{
    ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST,
    ETHERTYPE_PPPOE_SESSION, ETHERTYPE_QINQ, ETHERTYPE_QINQ_OLD, ETHERTYPE_VLAN, be16,
};

/// LINKTYPE_* values flowq decodes (see <https://www.tcpdump.org/linktypes.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// BSD loopback, address family in the capturing host's byte order (0).
    Null,
    /// Ethernet (1).
    Ethernet,
    /// PPP, optionally with the HDLC address/control bytes (9), and PPP in
    /// HDLC-like framing (50). Both also accept Cisco HDLC framing.
    Ppp,
    /// Raw IP, version from the first nibble (101, and DLT_RAW's 12 and 14).
    Raw,
    /// Cisco HDLC: address, control, EtherType (104).
    CiscoHdlc,
    /// IEEE 802.11 without a pseudo-header (105).
    Ieee80211,
    /// IEEE 802.11 behind a radiotap header (127).
    Radiotap,
    /// OpenBSD loopback, address family big-endian (108).
    Loop,
    /// Linux cooked capture v1 (113).
    LinuxSll,
    /// Raw IPv4 (228).
    Ipv4,
    /// Raw IPv6 (229).
    Ipv6,
    /// Linux cooked capture v2 (276).
    LinuxSll2,
}

impl LinkType {
    /// Maps a LINKTYPE_* number to a supported link type.
    pub fn from_number(linktype: u32) -> Option<LinkType> {
        Some(match linktype {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 | 50 => LinkType::Ppp,
            12 | 14 | 101 => LinkType::Raw,
            104 => LinkType::CiscoHdlc,
            105 => LinkType::Ieee80211,
            127 => LinkType::Radiotap,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
}

/// The network-layer bytes of a frame and what the link layer said about them.
pub(super) struct NetworkLayer<'a> {
    pub bytes: &'a [u8],
    pub vlan_id: u16,
    /// The packet came through an MPLS label stack.
    pub mpls: bool,
    /// Source and destination MAC of the outermost Ethernet header (zero without one).
    pub mac: [[u8; 6]; 2],
}

const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
const PPP_MPLS: u16 = 0x0281;
const PPP_MPLS_MULTICAST: u16 = 0x0283;
/// Cisco HDLC address bytes (unicast, multicast); the control byte is 0.
const CHDLC_UNICAST: u8 = 0x0f;
const CHDLC_MULTICAST: u8 = 0x8f;
/// Encapsulation layers walked before giving up (a loop guard; real frames use 1-4).
const MAX_LAYERS: usize = 16;

/// Finds the IP header inside a frame of the given link type.
///
/// The common case is inlined into the per-packet decoder and the walk of
/// other links is called out of line, whatever the compiler would choose:
/// left to its heuristics, an unrelated change elsewhere in the crate once
/// moved the whole function out of line and cost every packet about 27
/// instructions (docs/benchmarks.md, "Application metadata columns").
#[inline(always)]
pub(super) fn network_layer(linktype: u32, frame: &[u8]) -> Result<NetworkLayer<'_>, SkipReason> {
    // Untagged IPv4/IPv6 over Ethernet, most frames of most captures: what the
    // general path below returns for them, without its walk.
    if linktype == 1
        && let Some((header, bytes)) = frame.split_first_chunk::<14>()
        && matches!(be16(header, 12), ETHERTYPE_IPV4 | ETHERTYPE_IPV6)
        && !bytes.is_empty()
    {
        let mut mac = [[0u8; 6]; 2];
        mac[1].copy_from_slice(&header[..6]);
        mac[0].copy_from_slice(&header[6..12]);
        return Ok(NetworkLayer {
            bytes,
            vlan_id: 0,
            mpls: false,
            mac,
        });
    }
    walk_link_layers(linktype, frame)
}

/// [`network_layer`] of any frame: the link type's headers walked down to
/// the IP header.
#[inline(never)]
fn walk_link_layers(linktype: u32, frame: &[u8]) -> Result<NetworkLayer<'_>, SkipReason> {
    let Some(link) = LinkType::from_number(linktype) else {
        return Err(SkipReason::UnsupportedLinkType);
    };
    let mut vlan_id = 0;
    let mut mpls = false;
    let mut mac = [[0u8; 6]; 2];
    let bytes = match link {
        LinkType::Ethernet => {
            if let Some(header) = frame.get(..12) {
                mac[1].copy_from_slice(&header[..6]);
                mac[0].copy_from_slice(&header[6..12]);
            }
            ethernet(frame, &mut vlan_id, &mut mpls, 0)?
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => frame,
        LinkType::Ppp => ppp(frame, &mut vlan_id, &mut mpls)?,
        LinkType::CiscoHdlc => cisco_hdlc(frame, &mut vlan_id, &mut mpls)?,
        LinkType::Ieee80211 => ieee80211(frame, &mut mac, &mut vlan_id, &mut mpls)?,
        LinkType::Radiotap => {
            let header = frame.get(..4).ok_or(SkipReason::Truncated)?;
            let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
            if header[0] != 0 || len < 8 {
                return Err(SkipReason::Malformed);
            }
            let rest = frame.get(len..).ok_or(SkipReason::Truncated)?;
            ieee80211(rest, &mut mac, &mut vlan_id, &mut mpls)?
        }
        LinkType::LinuxSll => {
            let rest = frame.get(16..).ok_or(SkipReason::Truncated)?;
            by_ethertype(be16(frame, 14), rest, &mut vlan_id, &mut mpls, 0)?
        }
        LinkType::LinuxSll2 => {
            let rest = frame.get(20..).ok_or(SkipReason::Truncated)?;
            by_ethertype(be16(frame, 0), rest, &mut vlan_id, &mut mpls, 0)?
        }
        LinkType::Null | LinkType::Loop => {
            let header: [u8; 4] = frame
                .get(..4)
                .and_then(|h| h.try_into().ok())
                .ok_or(SkipReason::Truncated)?;
            let family = if link == LinkType::Loop {
                u32::from_be_bytes(header)
            } else {
                // Host byte order of the machine that captured: a valid family is
                // small, so the order that gives a small number is the right one.
                let le = u32::from_le_bytes(header);
                if le <= 0xffff {
                    le
                } else {
                    u32::from_be_bytes(header)
                }
            };
            match family {
                2 | 10 | 24 | 28 | 30 => &frame[4..],
                _ => return Err(SkipReason::NotIp),
            }
        }
    };
    if bytes.is_empty() {
        return Err(SkipReason::Truncated);
    }
    Ok(NetworkLayer {
        bytes,
        vlan_id,
        mpls,
        mac,
    })
}

/// An Ethernet frame (also the payload of VXLAN, Geneve, GRE bridging and ERSPAN).
pub(super) fn ethernet<'a>(
    frame: &'a [u8],
    vlan_id: &mut u16,
    mpls: &mut bool,
    depth: usize,
) -> Result<&'a [u8], SkipReason> {
    let rest = frame.get(14..).ok_or(SkipReason::Truncated)?;
    by_ethertype(be16(frame, 12), rest, vlan_id, mpls, depth)
}

fn by_ethertype<'a>(
    mut ethertype: u16,
    mut rest: &'a [u8],
    vlan_id: &mut u16,
    mpls: &mut bool,
    mut depth: usize,
) -> Result<&'a [u8], SkipReason> {
    loop {
        depth += 1;
        if depth > MAX_LAYERS {
            return Err(SkipReason::Malformed);
        }
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(rest),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let tag = rest.get(..4).ok_or(SkipReason::Truncated)?;
                if *vlan_id == 0 {
                    *vlan_id = be16(tag, 0) & 0x0fff;
                }
                ethertype = be16(tag, 2);
                rest = &rest[4..];
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MULTICAST => {
                *mpls = true;
                return mpls_stack(rest, vlan_id, mpls, depth);
            }
            ETHERTYPE_PPPOE_SESSION => {
                let header = rest.get(..8).ok_or(SkipReason::Truncated)?;
                return match be16(header, 6) {
                    PPP_IPV4 | PPP_IPV6 => Ok(&rest[8..]),
                    _ => Err(SkipReason::NotIp),
                };
            }
            // An 802.3 length field: only LLC/SNAP carries an EtherType further on.
            len if len < 0x0600 => {
                let snap = rest.get(..8).ok_or(SkipReason::NotIp)?;
                if snap[..3] != [0xaa, 0xaa, 0x03] {
                    return Err(SkipReason::NotIp);
                }
                ethertype = be16(snap, 6);
                rest = &rest[8..];
            }
            _ => return Err(SkipReason::NotIp),
        }
    }
}

/// PPP (linktypes 9 and 50): the optional `ff 03` address/control bytes, then a
/// 1-byte (protocol field compression) or 2-byte protocol. A frame starting with
/// a Cisco HDLC address byte is read as Cisco HDLC, as libpcap does.
fn ppp<'a>(frame: &'a [u8], vlan_id: &mut u16, mpls: &mut bool) -> Result<&'a [u8], SkipReason> {
    match frame.first() {
        Some(&(CHDLC_UNICAST | CHDLC_MULTICAST)) => cisco_hdlc(frame, vlan_id, mpls),
        Some(_) => {
            let rest = match frame {
                [0xff, 0x03, rest @ ..] => rest,
                _ => frame,
            };
            ppp_payload(rest, vlan_id, mpls)
        }
        None => Err(SkipReason::Truncated),
    }
}

/// A PPP protocol field and what follows it (PPP links, PPPoE-free PPTP GRE).
pub(super) fn ppp_payload<'a>(
    bytes: &'a [u8],
    vlan_id: &mut u16,
    mpls: &mut bool,
) -> Result<&'a [u8], SkipReason> {
    let first = *bytes.first().ok_or(SkipReason::Truncated)?;
    // A protocol number's first byte is even and its last odd, so an odd first
    // byte is a compressed one-byte protocol.
    let (protocol, rest) = if first & 1 == 1 {
        (u16::from(first), &bytes[1..])
    } else {
        let field = bytes.get(..2).ok_or(SkipReason::Truncated)?;
        (be16(field, 0), &bytes[2..])
    };
    match protocol {
        PPP_IPV4 | PPP_IPV6 => Ok(rest),
        PPP_MPLS | PPP_MPLS_MULTICAST => {
            *mpls = true;
            mpls_stack(rest, vlan_id, mpls, 0)
        }
        _ => Err(SkipReason::NotIp),
    }
}

/// Cisco HDLC (linktype 104): address and control bytes, then an EtherType.
fn cisco_hdlc<'a>(
    frame: &'a [u8],
    vlan_id: &mut u16,
    mpls: &mut bool,
) -> Result<&'a [u8], SkipReason> {
    let rest = frame.get(4..).ok_or(SkipReason::Truncated)?;
    by_ethertype(be16(frame, 2), rest, vlan_id, mpls, 0)
}

/// An 802.11 frame: data frames only (type 2, subtypes that carry data), not
/// protected, with LLC/SNAP carrying an EtherType. Fills `mac` with the source
/// and destination addresses as the DS bits place them.
fn ieee80211<'a>(
    frame: &'a [u8],
    mac: &mut [[u8; 6]; 2],
    vlan_id: &mut u16,
    mpls: &mut bool,
) -> Result<&'a [u8], SkipReason> {
    const TO_DS: u8 = 0x01;
    const FROM_DS: u8 = 0x02;
    const PROTECTED: u8 = 0x40;
    const ORDER: u8 = 0x80;
    let fc = frame.get(..2).ok_or(SkipReason::Truncated)?;
    let (kind, subtype, flags) = ((fc[0] >> 2) & 0x03, fc[0] >> 4, fc[1]);
    // Type 2 is data; subtypes with bit 2 set (null function, CF-ack/poll only) carry none.
    if kind != 2 || subtype & 0x04 != 0 || flags & PROTECTED != 0 {
        return Err(SkipReason::NotIp);
    }
    let qos = subtype & 0x08 != 0;
    let four_addresses = flags & (TO_DS | FROM_DS) == TO_DS | FROM_DS;
    let mut header_len = 24;
    if four_addresses {
        header_len += 6;
    }
    if qos {
        header_len += 2;
        if flags & ORDER != 0 {
            header_len += 4;
        }
    }
    let header = frame.get(..header_len).ok_or(SkipReason::Truncated)?;
    let address = |n: usize| -> [u8; 6] {
        let at = 4 + 6 * n;
        let mut a = [0u8; 6];
        a.copy_from_slice(&header[at..at + 6]);
        a
    };
    // (source, destination) by the To DS / From DS bits (IEEE 802.11 table 9-26).
    let (sa, da) = match flags & (TO_DS | FROM_DS) {
        0 => (address(1), address(0)),
        TO_DS => (address(1), address(2)),
        FROM_DS => (address(2), address(0)),
        _ => {
            let mut sa = [0u8; 6];
            sa.copy_from_slice(&header[24..30]);
            (sa, address(2))
        }
    };
    // A QoS data frame whose A-MSDU bit is set carries subframes, not one LLC header.
    if qos && header[header_len - if flags & ORDER != 0 { 6 } else { 2 }] & 0x80 != 0 {
        return Err(SkipReason::NotIp);
    }
    *mac = [sa, da];
    let llc = frame[header_len..].get(..8).ok_or(SkipReason::Truncated)?;
    // LLC/SNAP with the EtherType OUI (00 00 00) or the bridge-tunnel one (00 00 f8).
    if llc[..3] != [0xaa, 0xaa, 0x03] || !matches!(llc[3..6], [0, 0, 0] | [0, 0, 0xf8]) {
        return Err(SkipReason::NotIp);
    }
    by_ethertype(be16(llc, 6), &frame[header_len + 8..], vlan_id, mpls, 0)
}

/// Pops an MPLS label stack; the payload is IP (by its version nibble) or, with a
/// zero nibble, an Ethernet pseudowire behind a 4-byte control word.
fn mpls_stack<'a>(
    mut rest: &'a [u8],
    vlan_id: &mut u16,
    mpls: &mut bool,
    mut depth: usize,
) -> Result<&'a [u8], SkipReason> {
    loop {
        depth += 1;
        if depth > MAX_LAYERS {
            return Err(SkipReason::Malformed);
        }
        let label = rest.get(..4).ok_or(SkipReason::Truncated)?;
        rest = &rest[4..];
        if label[2] & 0x01 == 1 {
            break;
        }
    }
    match rest.first().map(|b| b >> 4) {
        Some(4 | 6) => Ok(rest),
        Some(0) => {
            let frame = rest.get(4..).ok_or(SkipReason::Truncated)?;
            ethernet(frame, vlan_id, mpls, depth)
        }
        Some(_) => Err(SkipReason::NotIp),
        None => Err(SkipReason::Truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::super::frames::{ipv4, ipv6, udp};
    use super::*;

    fn ip() -> Vec<u8> {
        ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, b""))
    }

    fn with(prefix: &[u8], payload: &[u8]) -> Vec<u8> {
        [prefix, payload].concat()
    }

    /// The offset of the network layer in `frame`, or the skip reason.
    fn l3(linktype: u32, frame: &[u8]) -> Result<usize, SkipReason> {
        network_layer(linktype, frame).map(|l| frame.len() - l.bytes.len())
    }

    #[test]
    fn ppp_with_and_without_address_control_and_compression() {
        let ip = ip();
        assert_eq!(l3(9, &with(&[0xff, 0x03, 0x00, 0x21], &ip)), Ok(4));
        assert_eq!(l3(9, &with(&[0x00, 0x21], &ip)), Ok(2));
        assert_eq!(l3(9, &with(&[0x21], &ip)), Ok(1));
        assert_eq!(
            l3(50, &with(&[0xff, 0x03, 0x00, 0x57], &ipv6(17, 1, 2, &[]))),
            Ok(4)
        );
        // LCP, and a frame ending inside the protocol field.
        assert_eq!(l3(9, &[0xff, 0x03, 0xc0, 0x21, 1]), Err(SkipReason::NotIp));
        assert_eq!(l3(9, &[0xff, 0x03, 0x00]), Err(SkipReason::Truncated));
        assert_eq!(l3(9, &[]), Err(SkipReason::Truncated));
        // MPLS over PPP: one label (bottom of stack), then IPv4.
        let frame = with(&[0xff, 0x03, 0x02, 0x81, 0, 0, 0x11, 64], &ip);
        let layer = network_layer(9, &frame).unwrap();
        assert!(layer.mpls);
        assert_eq!(frame.len() - layer.bytes.len(), 8);
        // Cisco HDLC framing on a PPP link type.
        assert_eq!(l3(9, &with(&[0x0f, 0x00, 0x08, 0x00], &ip)), Ok(4));
    }

    #[test]
    fn cisco_hdlc() {
        assert_eq!(l3(104, &with(&[0x0f, 0x00, 0x08, 0x00], &ip())), Ok(4));
        assert_eq!(
            l3(104, &with(&[0x8f, 0x00, 0x86, 0xdd], &ipv6(17, 1, 2, &[]))),
            Ok(4)
        );
        // SLARP keepalives are not IP.
        assert_eq!(
            l3(104, &[0x8f, 0x00, 0x80, 0x35, 0, 0, 0, 2]),
            Err(SkipReason::NotIp)
        );
        assert_eq!(l3(104, &[0x0f, 0x00, 0x08]), Err(SkipReason::Truncated));
    }

    /// An 802.11 data frame header: frame control, duration, addresses 1-3
    /// (`0a..`, `0b..`, `0c..`), sequence control, then `extra` (address 4,
    /// QoS control, HT control as the subtype and flags ask).
    fn wlan(fc0: u8, fc1: u8, extra: &[u8]) -> Vec<u8> {
        let mut f = vec![fc0, fc1, 0, 0];
        for a in [0x0a, 0x0b, 0x0c] {
            f.extend_from_slice(&[a; 6]);
        }
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(extra);
        f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        f.extend_from_slice(&ip());
        f
    }

    fn radiotap(frame: &[u8]) -> Vec<u8> {
        with(&[0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0], frame)
    }

    #[test]
    fn radiotap_data_frames() {
        // Data, From DS: destination address 1, source address 3.
        let frame = radiotap(&wlan(0x08, 0x02, &[]));
        let layer = network_layer(127, &frame).unwrap();
        assert_eq!(frame.len() - layer.bytes.len(), 12 + 24 + 8);
        assert_eq!(layer.mac, [[0x0c; 6], [0x0a; 6]]);
        // QoS data, To DS: source address 2, destination address 3; +2 bytes.
        let frame = radiotap(&wlan(0x88, 0x01, &[0, 0]));
        let layer = network_layer(127, &frame).unwrap();
        assert_eq!(frame.len() - layer.bytes.len(), 12 + 26 + 8);
        assert_eq!(layer.mac, [[0x0b; 6], [0x0c; 6]]);
        // QoS data with HT control (order bit) and four addresses.
        let mut extra = vec![0x0d; 6];
        extra.extend_from_slice(&[0, 0, 1, 2, 3, 4]);
        let frame = radiotap(&wlan(0x88, 0x83, &extra));
        let layer = network_layer(127, &frame).unwrap();
        assert_eq!(frame.len() - layer.bytes.len(), 12 + 36 + 8);
        assert_eq!(layer.mac, [[0x0d; 6], [0x0c; 6]]);
        // Plain 802.11 (linktype 105), no radiotap.
        assert_eq!(l3(105, &wlan(0x08, 0x00, &[])), Ok(24 + 8));
    }

    #[test]
    fn radiotap_frames_that_carry_no_ip() {
        // Protected, beacon (management), null function, A-MSDU, not SNAP.
        for frame in [
            wlan(0x08, 0x42, &[]),
            wlan(0x80, 0x00, &[]),
            wlan(0x48, 0x01, &[]),
            wlan(0x88, 0x01, &[0x80, 0]),
        ] {
            assert_eq!(l3(127, &radiotap(&frame)), Err(SkipReason::NotIp));
        }
        let mut no_snap = wlan(0x08, 0x02, &[]);
        no_snap[24] = 0xe0;
        assert_eq!(l3(127, &radiotap(&no_snap)), Err(SkipReason::NotIp));
        // A radiotap length past the frame, a bad version, a cut-off 802.11 header.
        assert_eq!(
            l3(127, &[0, 0, 200, 0, 0, 0, 0, 0]),
            Err(SkipReason::Truncated)
        );
        assert_eq!(
            l3(127, &[1, 0, 8, 0, 0, 0, 0, 0]),
            Err(SkipReason::Malformed)
        );
        assert_eq!(l3(127, &[0, 0, 4, 0]), Err(SkipReason::Malformed));
        let frame = radiotap(&wlan(0x88, 0x83, &[]));
        assert_eq!(l3(127, &frame[..12 + 30]), Err(SkipReason::Truncated));
        for end in 0..frame.len() {
            let _ = network_layer(127, &frame[..end]);
            let _ = network_layer(9, &frame[..end]);
            let _ = network_layer(104, &frame[..end]);
        }
    }
}
