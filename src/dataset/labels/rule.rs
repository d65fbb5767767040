//! One label rule and how it matches a flow: networks, port ranges, protocol
//! and time window, in either direction when the rule says so.

use super::predicate::Predicate;
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

    /// The network as written: `a.b.c.d` for one host, `a.b.c.d/len` otherwise.
    fn text(&self) -> String {
        let len = if self.v4 {
            self.prefix - 96
        } else {
            self.prefix
        };
        let full = if self.v4 { 32 } else { 128 };
        let address = self.first_address();
        if len == full {
            address.to_string()
        } else {
            format!("{address}/{len}")
        }
    }

    /// The network's first address (tests build flows from rules with it).
    pub(super) fn first_address(&self) -> IpAddr {
        let v6 = std::net::Ipv6Addr::from(self.network);
        match v6.to_ipv4_mapped() {
            Some(v4) if self.v4 => IpAddr::V4(v4),
            _ => IpAddr::V6(v6),
        }
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

/// A time window on the flow's first packet, in nanoseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The file's name for it (`[windows]`), for reports and docs.
    pub name: Option<String>,
    pub start_ns: Option<i64>,
    pub end_ns: Option<i64>,
    /// `start <= t <= end` when true (the CIC rule sets), `start <= t < end`
    /// otherwise (the default, so that consecutive windows do not share an
    /// instant).
    pub end_inclusive: bool,
}

impl Window {
    fn contains(&self, t_ns: i64) -> bool {
        self.start_ns.is_none_or(|s| s <= t_ns)
            && self.end_ns.is_none_or(|e| {
                if self.end_inclusive {
                    t_ns <= e
                } else {
                    t_ns < e
                }
            })
    }

    fn overlaps(&self, other: &Window) -> bool {
        let before = |a: &Window, b: &Window| match (a.end_ns, b.start_ns) {
            (Some(e), Some(s)) => {
                if a.end_inclusive {
                    e < s
                } else {
                    e <= s
                }
            }
            _ => false,
        };
        !before(self, other) && !before(other, self)
    }
}

/// One rule, as written on one line (CSV) or in one table (TOML).
#[derive(Debug, Clone)]
pub struct Rule {
    /// The line of the rule in its file (1-based).
    pub line: usize,
    /// What `label_rule` records: the rule's `name`, or `FILE:LINE`.
    pub id: String,
    /// The label it assigns.
    pub label: String,
    /// What `label_category` records (the CIC rule sets' "Attempted" category).
    pub category: Option<i64>,
    pub(super) src: Option<Vec<Cidr>>,
    pub(super) dst: Option<Vec<Cidr>>,
    /// Also match with source and destination swapped (the attacker may be the
    /// side that answered).
    pub(super) either_direction: bool,
    pub(super) src_ports: Option<Vec<PortRange>>,
    pub(super) dst_ports: Option<Vec<PortRange>>,
    /// Ports the flow's source (destination) port must not be.
    pub(super) src_ports_not: Option<Vec<PortRange>>,
    pub(super) dst_ports_not: Option<Vec<PortRange>>,
    pub(super) protocol: Option<u8>,
    /// The flow's first packet must be in one of these (none: any time).
    pub windows: Vec<Window>,
    /// The `where` condition on flow columns.
    pub(super) predicate: Option<Predicate>,
}

/// What a rule sees of a flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowFacts<'v> {
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
    /// The values of the columns the rule set's conditions name, in the order
    /// of [`RuleSet::columns`](super::RuleSet::columns) (null: not known).
    pub values: &'v [Option<f64>],
}

fn in_ranges(ranges: &[PortRange], p: u16) -> bool {
    ranges.iter().any(|r| r.0 <= p && p <= r.1)
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
            Some(ranges) => p.is_some_and(|p| in_ranges(ranges, p)),
        };
        // A flow without the port (not known) is not "not in" the list either.
        let port_not = |ranges: &Option<Vec<PortRange>>, p: Option<u16>| match ranges {
            None => true,
            Some(ranges) => p.is_some_and(|p| !in_ranges(ranges, p)),
        };
        host(&self.src, src)
            && host(&self.dst, dst)
            && port(&self.src_ports, src_port)
            && port(&self.dst_ports, dst_port)
            && port_not(&self.src_ports_not, src_port)
            && port_not(&self.dst_ports_not, dst_port)
    }

    /// Whether this rule matches the flow.
    pub fn matches(&self, flow: &FlowFacts) -> bool {
        if let Some(p) = self.protocol
            && flow.protocol != Some(p)
        {
            return false;
        }
        if !self.windows.is_empty() {
            // Flows carry microseconds; as nanoseconds they compare exactly
            // with nanosecond bounds (CICFlowMeter's timestamps, which the
            // published rules were written against, have microseconds too).
            let Some(t) = flow.start_us.map(|us| us.saturating_mul(1_000)) else {
                return false;
            };
            if !self.windows.iter().any(|w| w.contains(t)) {
                return false;
            }
        }
        if let Some(p) = &self.predicate
            && !p.holds(flow.values)
        {
            return false;
        }
        self.matches_oriented(flow.src, flow.dst, flow.src_port, flow.dst_port)
            || (self.either_direction
                && self.matches_oriented(flow.dst, flow.src, flow.dst_port, flow.src_port))
    }

    /// Whether some flow could match both rules, judged on hosts, ports,
    /// protocol and windows only: rules with a `where` condition or a "not in"
    /// port list are narrowed in ways this does not decide, and are left out of
    /// the overlap warnings by the caller.
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
        let time = self.windows.is_empty()
            || other.windows.is_empty()
            || self
                .windows
                .iter()
                .any(|a| other.windows.iter().any(|b| a.overlaps(b)));
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

    /// What the rule matches, in one line (`flowq labels`): hosts, ports,
    /// protocol, windows and condition; `columns` names the condition's columns.
    pub fn summary(&self, columns: &[String]) -> String {
        let nets = |n: &Option<Vec<Cidr>>| match n {
            None => "any".to_string(),
            Some(n) => n.iter().map(Cidr::text).collect::<Vec<_>>().join(" "),
        };
        let ports = |p: &Vec<PortRange>| {
            p.iter()
                .map(|r| {
                    if r.0 == r.1 {
                        r.0.to_string()
                    } else {
                        format!("{}-{}", r.0, r.1)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let arrow = if self.either_direction { "<->" } else { "->" };
        let mut parts = vec![format!("{} {arrow} {}", nets(&self.src), nets(&self.dst))];
        for (name, list) in [("src port", &self.src_ports), ("dst port", &self.dst_ports)] {
            if let Some(list) = list {
                parts.push(format!("{name} {}", ports(list)));
            }
        }
        for (name, list) in [
            ("src port not", &self.src_ports_not),
            ("dst port not", &self.dst_ports_not),
        ] {
            if let Some(list) = list {
                parts.push(format!("{name} {}", ports(list)));
            }
        }
        if let Some(p) = self.protocol {
            parts.push(format!("protocol {p}"));
        }
        if !self.windows.is_empty() {
            let names: Vec<String> = self
                .windows
                .iter()
                .map(|w| w.name.clone().unwrap_or_else(|| "(own window)".into()))
                .collect();
            parts.push(format!("window {}", names.join(" ")));
        }
        if let Some(p) = &self.predicate {
            parts.push(format!("where {}", p.display(columns)));
        }
        parts.join(", ")
    }

    /// Whether the rule is narrowed by more than hosts, ports, protocol and time.
    pub(super) fn is_conditional(&self) -> bool {
        self.predicate.is_some() || self.src_ports_not.is_some() || self.dst_ports_not.is_some()
    }

    pub(super) fn has_time_window(&self) -> bool {
        !self.windows.is_empty()
    }
}
