//! Wire constants and byte reading shared by the link and tunnel decoders:
//! the EtherTypes (IEEE registry) they dispatch on, and big-endian fields.

pub(super) const ETHERTYPE_IPV4: u16 = 0x0800;
pub(super) const ETHERTYPE_IPV6: u16 = 0x86dd;
pub(super) const ETHERTYPE_VLAN: u16 = 0x8100;
pub(super) const ETHERTYPE_QINQ: u16 = 0x88a8;
pub(super) const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
pub(super) const ETHERTYPE_MPLS: u16 = 0x8847;
pub(super) const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
pub(super) const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
/// Transparent Ethernet Bridging (an Ethernet frame follows: GRE, NVGRE).
pub(super) const ETHERTYPE_BRIDGING: u16 = 0x6558;
/// PPP (GRE version 1, PPTP).
pub(super) const ETHERTYPE_PPP: u16 = 0x880b;
/// ERSPAN type II.
pub(super) const ETHERTYPE_ERSPAN_2: u16 = 0x88be;
/// ERSPAN type III.
pub(super) const ETHERTYPE_ERSPAN_3: u16 = 0x22eb;

/// The big-endian `u16` at `at` (the caller has checked the length).
#[inline]
pub(super) fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}
