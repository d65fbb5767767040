//! Link layers down to the IP header: Ethernet (with 802.1Q/802.1ad tags, MPLS
//! label stacks, PPPoE sessions and LLC/SNAP), Linux cooked SLL and SLL2, BSD
//! null/loopback and raw IP.

use super::SkipReason;

/// LINKTYPE_* values flowq decodes (see <https://www.tcpdump.org/linktypes.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// BSD loopback, address family in the capturing host's byte order (0).
    Null,
    /// Ethernet (1).
    Ethernet,
    /// Raw IP, version from the first nibble (101, and DLT_RAW's 12 and 14).
    Raw,
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
            12 | 14 | 101 => LinkType::Raw,
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

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
/// Encapsulation layers walked before giving up (a loop guard; real frames use 1-4).
const MAX_LAYERS: usize = 16;

/// Finds the IP header inside a frame of the given link type.
pub(super) fn network_layer(linktype: u32, frame: &[u8]) -> Result<NetworkLayer<'_>, SkipReason> {
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

fn ethernet<'a>(
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

#[inline]
fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}
