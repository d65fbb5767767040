//! One label rule and how it matches a flow: networks, port ranges, protocol
//! and time window, in either direction when the rule says so.

use anyhow::{anyhow, bail};
use std::net::IpAddr;

/// A network: an address and a prefix length, both in the 128-bit space
/// (IPv4 addresses are stored as IPv4-mapped IPv6, so /24 is /120 here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    v4: bool,
    network: u128,
    prefix: u8,
}

impl Cidr {
    pub(super) fn parse(text: &str) -> anyhow::Result<Cidr> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| anyhow!("`{text}` is not an IP address or CIDR network"))?;
        let (v4, bits, max) = match addr {
            IpAddr::V4(a) => (true, u128::from(a.to_ipv6_mapped()), 32u8),
            IpAddr::V6(a) => (false, u128::from(a), 128u8),
        };
        let len = match len {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| anyhow!("`{text}`: the prefix length must be 0 to {max}"))?,
        };
        let prefix = if v4 { 96 + len } else { len };
        let network = bits & mask(prefix);
        if network != bits {
            bail!("`{text}` has host bits set; did you mean the network of that prefix?");
        }
        Ok(Cidr {
            v4,
            network,
            prefix,
        })
    }

    fn contains(&self, address: IpAddr) -> bool {
        let (v4, bits) = split(address);
        v4 == self.v4 && bits & mask(self.prefix) == self.network
    }

    fn intersects(&self, other: &Cidr) -> bool {
        let shorter = self.prefix.min(other.prefix);
        self.v4 == other.v4 && (self.network ^ other.network) & mask(shorter) == 0
    }
}

fn split(address: IpAddr) -> (bool, u128) {
    match address {
        IpAddr::V4(a) => (true, u128::from(a.to_ipv6_mapped())),
        IpAddr::V6(a) => (false, u128::from(a)),
    }
}

fn mask(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PortRange(pub(super) u16, pub(super) u16);

/// One rule, as written on one line (CSV) or in one table (TOML).
#[derive(Debug, Clone)]
pub struct Rule {
    /// The line of the rule in its file (1-based).
    pub line: usize,
    /// What `label_rule` records: the rule's `name`, or `FILE:LINE`.
    pub id: String,
    /// The label it assigns.
    pub label: String,
    pub(super) src: Option<Vec<Cidr>>,
    pub(super) dst: Option<Vec<Cidr>>,
    /// Also match with source and destination swapped (the attacker may be the
    /// side that answered).
    pub(super) either_direction: bool,
    pub(super) src_ports: Option<Vec<PortRange>>,
    pub(super) dst_ports: Option<Vec<PortRange>>,
    pub(super) protocol: Option<u8>,
    /// Window on the flow's first packet, microseconds since the epoch, [start, end).
    pub(super) start_us: Option<i64>,
    pub(super) end_us: Option<i64>,
}

/// What a rule sees of a flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowFacts {
    /// Initiator's address.
    pub src: Option<IpAddr>,
    /// Responder's address.
    pub dst: Option<IpAddr>,
    /// Initiator's port (none for protocols without ports).
    pub src_port: Option<u16>,
    /// Responder's port.
    pub dst_port: Option<u16>,
    /// IP protocol number.
    pub protocol: Option<u8>,
    /// The flow's first packet, microseconds since the epoch.
    pub start_us: Option<i64>,
}

impl Rule {
    fn matches_oriented(
        &self,
        src: Option<IpAddr>,
        dst: Option<IpAddr>,
        src_port: Option<u16>,
        dst_port: Option<u16>,
    ) -> bool {
        let host = |nets: &Option<Vec<Cidr>>, a: Option<IpAddr>| match nets {
            None => true,
            Some(nets) => a.is_some_and(|a| nets.iter().any(|n| n.contains(a))),
        };
        let port = |ranges: &Option<Vec<PortRange>>, p: Option<u16>| match ranges {
            None => true,
            Some(ranges) => p.is_some_and(|p| ranges.iter().any(|r| r.0 <= p && p <= r.1)),
        };
        host(&self.src, src)
            && host(&self.dst, dst)
            && port(&self.src_ports, src_port)
            && port(&self.dst_ports, dst_port)
    }

    /// Whether this rule matches the flow.
    pub fn matches(&self, flow: &FlowFacts) -> bool {
        if let Some(p) = self.protocol
            && flow.protocol != Some(p)
        {
            return false;
        }
        if self.start_us.is_some() || self.end_us.is_some() {
            let Some(t) = flow.start_us else {
                return false;
            };
            if self.start_us.is_some_and(|s| t < s) || self.end_us.is_some_and(|e| t >= e) {
                return false;
            }
        }
        self.matches_oriented(flow.src, flow.dst, flow.src_port, flow.dst_port)
            || (self.either_direction
                && self.matches_oriented(flow.dst, flow.src, flow.dst_port, flow.src_port))
    }

    /// Whether some flow could match both rules.
    pub(super) fn overlaps(&self, other: &Rule) -> bool {
        fn nets(a: &Option<Vec<Cidr>>, b: &Option<Vec<Cidr>>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => a.iter().any(|x| b.iter().any(|y| x.intersects(y))),
                _ => true,
            }
        }
        fn ports(a: &Option<Vec<PortRange>>, b: &Option<Vec<PortRange>>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => a.iter().any(|x| b.iter().any(|y| x.0 <= y.1 && y.0 <= x.1)),
                _ => true,
            }
        }
        let protocol = match (self.protocol, other.protocol) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let time = self.start_us.unwrap_or(i64::MIN) < other.end_us.unwrap_or(i64::MAX)
            && other.start_us.unwrap_or(i64::MIN) < self.end_us.unwrap_or(i64::MAX);
        let straight = nets(&self.src, &other.src)
            && nets(&self.dst, &other.dst)
            && ports(&self.src_ports, &other.src_ports)
            && ports(&self.dst_ports, &other.dst_ports);
        let crossed = (self.either_direction || other.either_direction)
            && nets(&self.src, &other.dst)
            && nets(&self.dst, &other.src)
            && ports(&self.src_ports, &other.dst_ports)
            && ports(&self.dst_ports, &other.src_ports);
        protocol && time && (straight || crossed)
    }

    pub(super) fn has_time_window(&self) -> bool {
        self.start_us.is_some() || self.end_us.is_some()
    }
}
