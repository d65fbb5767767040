//! Label rules: which flows get which class label, auditable rule by rule.
//!
//! A rule file (CSV or TOML, docs/datasets.md) lists rules in order; each
//! matches on any of the source and destination addresses or networks, ports,
//! protocol and a time window, and the first rule that matches a flow labels it.
//! Rules are checked when read (syntax, disagreeing overlaps) and after the run
//! (rules that matched nothing), so that mislabelled flows, the known weakness of
//! public IDS datasets, show up as messages rather than in a model.

use anyhow::{Context, anyhow, bail};
use chrono::DateTime;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

/// A network: an address and a prefix length, both in the 128-bit space
/// (IPv4 addresses are stored as IPv4-mapped IPv6, so /24 is /120 here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    v4: bool,
    network: u128,
    prefix: u8,
}

impl Cidr {
    fn parse(text: &str) -> anyhow::Result<Cidr> {
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
struct PortRange(u16, u16);

/// One rule, as written on one line (CSV) or in one table (TOML).
#[derive(Debug, Clone)]
pub struct Rule {
    /// The line of the rule in its file (1-based).
    pub line: usize,
    /// What `label_rule` records: the rule's `name`, or `FILE:LINE`.
    pub id: String,
    /// The label it assigns.
    pub label: String,
    src: Option<Vec<Cidr>>,
    dst: Option<Vec<Cidr>>,
    /// Also match with source and destination swapped (the attacker may be the
    /// side that answered).
    either_direction: bool,
    src_ports: Option<Vec<PortRange>>,
    dst_ports: Option<Vec<PortRange>>,
    protocol: Option<u8>,
    /// Window on the flow's first packet, microseconds since the epoch, [start, end).
    start_us: Option<i64>,
    end_us: Option<i64>,
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
    fn overlaps(&self, other: &Rule) -> bool {
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

    fn has_time_window(&self) -> bool {
        self.start_us.is_some() || self.end_us.is_some()
    }
}

/// The rules of one file, in order, and the label of flows no rule matches.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The rule file's name, for messages.
    pub source: String,
    /// The rules in file order (the first match wins).
    pub rules: Vec<Rule>,
    /// The label of unmatched flows.
    pub default_label: String,
    /// Problems found while reading that do not stop the run.
    pub warnings: Vec<String>,
}

/// The labelling outcome of one flow.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'r> {
    /// Rule `index` matched.
    Rule(usize, &'r Rule),
    /// No rule matched.
    Default,
}

/// The label used when the rule file and the command line name none.
pub const DEFAULT_LABEL: &str = "BENIGN";

impl RuleSet {
    /// Reads a rule file: TOML by the `.toml` extension, CSV otherwise.
    pub fn from_file(path: &Path, default_label: Option<&str>) -> anyhow::Result<RuleSet> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the label rules {}", path.display()))?;
        let source = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let is_toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let (rules, file_default) = if is_toml {
            parse_toml(&text, &source)
        } else {
            parse_csv(&text, &source).map(|rules| (rules, None))
        }
        .with_context(|| format!("bad label rules in {}", path.display()))?;
        let default_label = default_label
            .map(str::to_string)
            .or(file_default)
            .unwrap_or_else(|| DEFAULT_LABEL.to_string());
        let mut set = RuleSet {
            source,
            rules,
            default_label,
            warnings: Vec::new(),
        };
        set.warnings = set.disagreeing_overlaps();
        Ok(set)
    }

    /// Builds a set from rules already parsed (tests).
    #[cfg(test)]
    fn from_csv_text(text: &str) -> anyhow::Result<RuleSet> {
        let rules = parse_csv(text, "rules.csv")?;
        let mut set = RuleSet {
            source: "rules.csv".into(),
            rules,
            default_label: DEFAULT_LABEL.into(),
            warnings: Vec::new(),
        };
        set.warnings = set.disagreeing_overlaps();
        Ok(set)
    }

    /// The first rule that matches `flow`.
    pub fn classify(&self, flow: &FlowFacts) -> Verdict<'_> {
        match self.rules.iter().enumerate().find(|(_, r)| r.matches(flow)) {
            Some((i, rule)) => Verdict::Rule(i, rule),
            None => Verdict::Default,
        }
    }

    /// Whether any rule has a time window (the flows then need a start time).
    pub fn needs_time(&self) -> bool {
        self.rules.iter().any(Rule::has_time_window)
    }

    /// Pairs of rules that can match the same flow (overlapping hosts, ports,
    /// protocol and time windows) but give it different labels: only the first
    /// applies, which is rarely what the author meant.
    fn disagreeing_overlaps(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for (i, a) in self.rules.iter().enumerate() {
            for b in &self.rules[i + 1..] {
                if a.label != b.label
                    && a.overlaps(b)
                    && (a.has_time_window() || b.has_time_window())
                {
                    warnings.push(format!(
                        "{}: rules on lines {} ({}) and {} ({}) overlap in time and hosts but label \
                         differently; flows in both get the first one's label",
                        self.source, a.line, a.label, b.line, b.label
                    ));
                }
            }
        }
        warnings
    }

    /// Warnings for rules that matched no flow, given per-rule match counts.
    pub fn unmatched_warnings(&self, matches: &[u64]) -> Vec<String> {
        self.rules
            .iter()
            .zip(matches)
            .filter(|(_, n)| **n == 0)
            .map(|(rule, _)| {
                format!(
                    "{}: the rule on line {} (label {}) matched no flow",
                    self.source, rule.line, rule.label
                )
            })
            .collect()
    }
}

/// The fields a rule may have, as text, before checking.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    label: Option<String>,
    name: Option<String>,
    src: Option<TextOrList>,
    dst: Option<TextOrList>,
    direction: Option<String>,
    src_port: Option<TextOrList>,
    dst_port: Option<TextOrList>,
    protocol: Option<TextOrList>,
    start: Option<toml::Value>,
    end: Option<toml::Value>,
}

/// A TOML value that may be one item or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TextOrList {
    // Lists first: an untagged `toml::Value` would take a list as one item.
    Many(Vec<toml::Value>),
    One(toml::Value),
}

impl TextOrList {
    fn items(&self) -> Vec<String> {
        let text = |v: &toml::Value| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match self {
            TextOrList::One(v) => split_list(&text(v)),
            TextOrList::Many(vs) => vs.iter().flat_map(|v| split_list(&text(v))).collect(),
        }
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split([';', ' ', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    default_label: Option<String>,
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

fn parse_toml(text: &str, source: &str) -> anyhow::Result<(Vec<Rule>, Option<String>)> {
    let file: TomlFile = toml::from_str(text).map_err(|e| anyhow!("{e}"))?;
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let mut rules = Vec::with_capacity(file.rule.len());
    for spanned in file.rule {
        let line = line_of(spanned.span().start);
        let raw = spanned.into_inner();
        rules.push(check_rule(raw, line, source).with_context(|| format!("line {line}"))?);
    }
    Ok((rules, file.default_label))
}

const CSV_FIELDS: &[&str] = &[
    "label",
    "name",
    "src",
    "dst",
    "direction",
    "src_port",
    "dst_port",
    "protocol",
    "start",
    "end",
];

fn parse_csv(text: &str, source: &str) -> anyhow::Result<Vec<Rule>> {
    // The reader skips comment and blank lines without counting them in its
    // positions, so the line of each record (as an editor shows it) comes from
    // the text itself: the n-th record is on the n-th line that is neither
    // blank nor a comment, after the header (rule fields hold no line breaks).
    let data_lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, _)| i + 1)
        .skip(1)
        .collect();
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .context("cannot read the header line")?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for name in &headers {
        let name = name.to_ascii_lowercase();
        if !CSV_FIELDS.contains(&name.as_str()) {
            bail!(
                "line 1: unknown column `{name}` (the columns are {})",
                CSV_FIELDS.join(", ")
            );
        }
        columns.push(name);
    }
    if !columns.iter().any(|c| c == "label") {
        bail!("line 1: the header has no `label` column");
    }
    let mut rules = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = data_lines.get(index).copied().unwrap_or(0);
        let record = record.map_err(|e| anyhow!("line {line}: {e}"))?;
        let mut raw = RawRule::default();
        for (column, value) in columns.iter().zip(record.iter()) {
            if value.is_empty() {
                continue;
            }
            let text = || Some(value.to_string());
            let list = || Some(TextOrList::One(toml::Value::String(value.to_string())));
            match column.as_str() {
                "label" => raw.label = text(),
                "name" => raw.name = text(),
                "src" => raw.src = list(),
                "dst" => raw.dst = list(),
                "direction" => raw.direction = text(),
                "src_port" => raw.src_port = list(),
                "dst_port" => raw.dst_port = list(),
                "protocol" => raw.protocol = list(),
                "start" => raw.start = Some(toml::Value::String(value.to_string())),
                "end" => raw.end = Some(toml::Value::String(value.to_string())),
                _ => unreachable!("columns are checked against CSV_FIELDS"),
            }
        }
        rules.push(check_rule(raw, line, source).with_context(|| format!("line {line}"))?);
    }
    Ok(rules)
}

fn check_rule(raw: RawRule, line: usize, source: &str) -> anyhow::Result<Rule> {
    let label = raw
        .label
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| anyhow!("the rule has no label"))?;
    let nets = |list: &Option<TextOrList>| -> anyhow::Result<Option<Vec<Cidr>>> {
        list.as_ref()
            .map(|l| l.items().iter().map(|s| Cidr::parse(s)).collect())
            .transpose()
    };
    let ports = |list: &Option<TextOrList>| -> anyhow::Result<Option<Vec<PortRange>>> {
        list.as_ref()
            .map(|l| l.items().iter().map(|s| parse_ports(s)).collect())
            .transpose()
    };
    let protocol = match &raw.protocol {
        None => None,
        Some(list) => match list.items().as_slice() {
            [one] => Some(parse_protocol(one)?),
            _ => bail!("a rule names one protocol (write one rule per protocol)"),
        },
    };
    let either_direction = match raw.direction.as_deref().map(str::to_ascii_lowercase) {
        None => true,
        Some(d) if d == "either" || d == "both" => true,
        Some(d) if d == "forward" || d == "src-to-dst" => false,
        Some(d) => bail!("direction `{d}` is neither `either` nor `forward`"),
    };
    let start_us = raw.start.as_ref().map(parse_time).transpose()?;
    let end_us = raw.end.as_ref().map(parse_time).transpose()?;
    if let (Some(s), Some(e)) = (start_us, end_us)
        && e <= s
    {
        bail!("the time window ends before it starts");
    }
    Ok(Rule {
        line,
        id: raw
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("{source}:{line}")),
        label,
        src: nets(&raw.src)?,
        dst: nets(&raw.dst)?,
        either_direction,
        src_ports: ports(&raw.src_port)?,
        dst_ports: ports(&raw.dst_port)?,
        protocol,
        start_us,
        end_us,
    })
}

fn parse_ports(text: &str) -> anyhow::Result<PortRange> {
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| anyhow!("`{text}` is not a port or a port range like 1-1024"))
    };
    let range = match text.split_once('-') {
        Some((a, b)) => PortRange(port(a)?, port(b)?),
        None => {
            let p = port(text)?;
            PortRange(p, p)
        }
    };
    if range.0 > range.1 {
        bail!("the port range `{text}` is reversed");
    }
    Ok(range)
}

fn parse_protocol(text: &str) -> anyhow::Result<u8> {
    let named = match text.to_ascii_lowercase().as_str() {
        "icmp" => Some(1),
        "igmp" => Some(2),
        "tcp" => Some(6),
        "udp" => Some(17),
        "gre" => Some(47),
        "esp" => Some(50),
        "ah" => Some(51),
        "icmpv6" | "ipv6-icmp" => Some(58),
        "sctp" => Some(132),
        _ => None,
    };
    named
        .or_else(|| text.parse().ok())
        .ok_or_else(|| anyhow!("`{text}` is not a protocol name (tcp, udp, icmp, ...) or number"))
}

/// Times are RFC 3339 with a UTC offset (`2017-07-05T09:47:00-03:00`), or
/// seconds since the Unix epoch.
fn parse_time(value: &toml::Value) -> anyhow::Result<i64> {
    let text = value_text(value);
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
    {
        return Ok((seconds * 1e6).round() as i64);
    }
    let normalized = text.replacen(' ', "T", 1);
    match DateTime::parse_from_rfc3339(&normalized) {
        Ok(t) => Ok(t.timestamp_micros()),
        Err(_)
            if chrono::NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M:%S%.f")
                .is_ok() =>
        {
            bail!(
                "`{text}` has no UTC offset; write it as {normalized}Z for UTC or with the \
                 capture's offset, e.g. {normalized}-03:00"
            )
        }
        Err(_) => bail!(
            "`{text}` is not a time (RFC 3339 like 2017-07-05T09:47:00-03:00, or Unix seconds)"
        ),
    }
}

/// Per-label and per-rule counts of one run, merged across workers.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LabelCounts {
    /// Flows per label.
    pub flows_per_label: BTreeMap<String, u64>,
    /// Flows matched per rule, in rule order.
    pub matches_per_rule: Vec<u64>,
}

impl LabelCounts {
    /// Zero counts for `rules`.
    pub fn new(rules: &RuleSet) -> Self {
        LabelCounts {
            flows_per_label: BTreeMap::new(),
            matches_per_rule: vec![0; rules.rules.len()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(src: &str, dst: &str, sport: u16, dport: u16, proto: u8, t: i64) -> FlowFacts {
        FlowFacts {
            src: Some(src.parse().unwrap()),
            dst: Some(dst.parse().unwrap()),
            src_port: Some(sport),
            dst_port: Some(dport),
            protocol: Some(proto),
            start_us: Some(t),
        }
    }

    const RULES: &str = "\
# attacker 172.16.0.1 against the web server, in the attack window
label,src,dst,dst_port,protocol,start,end
DoS Hulk,172.16.0.1,192.168.10.50,80,tcp,2017-07-05T09:47:00-03:00,2017-07-05T10:10:00-03:00
PortScan,172.16.0.1,192.168.10.0/24,,,2017-07-05T10:10:00-03:00,2017-07-05T11:00:00-03:00
";

    fn us(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn first_matching_rule_wins_in_either_direction() {
        let set = RuleSet::from_csv_text(RULES).unwrap();
        assert!(set.warnings.is_empty(), "{:?}", set.warnings);
        let t = us("2017-07-05T09:50:00-03:00");
        let attack = flow("172.16.0.1", "192.168.10.50", 40000, 80, 6, t);
        assert!(matches!(set.classify(&attack), Verdict::Rule(0, r) if r.id == "rules.csv:3"));
        // The victim opened the connection: still the attack (direction either).
        let reverse = flow("192.168.10.50", "172.16.0.1", 80, 40000, 6, t);
        assert!(matches!(set.classify(&reverse), Verdict::Rule(0, _)));
        // Wrong port, wrong protocol, before the window, other host: benign.
        for f in [
            flow("172.16.0.1", "192.168.10.50", 40000, 443, 6, t),
            flow("172.16.0.1", "192.168.10.50", 40000, 80, 17, t),
            flow(
                "172.16.0.1",
                "192.168.10.50",
                40000,
                80,
                6,
                t - 3_600_000_000,
            ),
            flow("172.16.0.2", "192.168.10.50", 40000, 80, 6, t),
        ] {
            assert!(matches!(set.classify(&f), Verdict::Default), "{f:?}");
        }
        // The window is [start, end): the end instant belongs to the next rule.
        let boundary = flow(
            "172.16.0.1",
            "192.168.10.9",
            1,
            22,
            6,
            us("2017-07-05T10:10:00-03:00"),
        );
        assert!(matches!(set.classify(&boundary), Verdict::Rule(1, _)));
    }

    #[test]
    fn forward_rules_do_not_match_reversed_flows() {
        let set = RuleSet::from_csv_text("label,src,dst,direction\nX,10.0.0.1,10.0.0.2,forward\n")
            .unwrap();
        assert!(matches!(
            set.classify(&flow("10.0.0.1", "10.0.0.2", 1, 2, 6, 0)),
            Verdict::Rule(..)
        ));
        assert!(matches!(
            set.classify(&flow("10.0.0.2", "10.0.0.1", 2, 1, 6, 0)),
            Verdict::Default
        ));
    }

    #[test]
    fn disagreeing_overlaps_are_reported() {
        let text =
            "label,src,start,end\nA,10.0.0.0/8,0,100\nB,10.1.0.0/16,50,150\nA,10.2.0.0/16,0,10\n";
        let set = RuleSet::from_csv_text(text).unwrap();
        assert_eq!(set.warnings.len(), 1, "{:?}", set.warnings);
        assert!(
            set.warnings[0].contains("lines 2 (A) and 3 (B)"),
            "{}",
            set.warnings[0]
        );
        // Windows that only touch do not overlap.
        let set =
            RuleSet::from_csv_text("label,src,start,end\nA,10.0.0.1,0,100\nB,10.0.0.1,100,200\n")
                .unwrap();
        assert!(set.warnings.is_empty());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        for (text, needle) in [
            ("label,src\nA,10.0.0.300\n", "line 2"),
            ("label,src\nA,10.0.0.1/33\n", "prefix length"),
            ("label,dst_port\nA,99999\n", "not a port"),
            ("label,start\nA,2017-07-05 09:47:00\n", "no UTC offset"),
            ("label,colour\nA,red\n", "unknown column"),
            ("src\n10.0.0.1\n", "no `label`"),
            ("label,start,end\nA,10,5\n", "ends before"),
            ("label,src\nA,10.0.0.1/8\n", "host bits"),
            ("label,protocol\nA,bogus\n", "protocol"),
        ] {
            let err = format!("{:#}", RuleSet::from_csv_text(text).unwrap_err());
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn toml_rules_read_like_csv_rules() {
        let text = r#"
default_label = "normal"

[[rule]]
label = "DoS Hulk"
src = "172.16.0.1"
dst = ["192.168.10.50", "192.168.10.51"]
dst_port = [80, "8080-8090"]
protocol = "tcp"
start = 2017-07-05T09:47:00-03:00
end = "2017-07-05T10:10:00-03:00"

[[rule]]
name = "scan"
label = "PortScan"
src = "172.16.0.1"
"#;
        let (rules, default) = parse_toml(text, "rules.toml").unwrap();
        assert_eq!(default.as_deref(), Some("normal"));
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].line, rules[0].id.as_str()), (4, "rules.toml:4"));
        assert_eq!(rules[1].id, "scan");
        let t = us("2017-07-05T09:50:00-03:00");
        assert!(rules[0].matches(&flow("192.168.10.51", "172.16.0.1", 80, 5, 6, t)));
        assert!(rules[0].matches(&flow("172.16.0.1", "192.168.10.50", 5, 8085, 6, t)));
        assert!(!rules[0].matches(&flow("172.16.0.1", "192.168.10.50", 5, 81, 6, t)));
        assert!(parse_toml("[[rule]]\nlabel = \"x\"\ncolour = 1\n", "r.toml").is_err());
    }

    #[test]
    fn line_numbers_count_comments_and_blank_lines() {
        let text =
            "# rules\nlabel,src,start,end\n\nA,10.0.0.1,0,100\n# a comment\n\nB,10.0.0.1,50,150\n";
        let set = RuleSet::from_csv_text(text).unwrap();
        let lines: Vec<usize> = set.rules.iter().map(|r| r.line).collect();
        assert_eq!(lines, [4, 7]);
        assert_eq!(set.rules[1].id, "rules.csv:7");
        assert!(
            set.warnings[0].contains("lines 4 (A) and 7 (B)"),
            "{}",
            set.warnings[0]
        );
        assert!(set.unmatched_warnings(&[1, 0])[0].contains("line 7"));
    }

    #[test]
    fn unmatched_rules_are_warned_with_their_line() {
        let set = RuleSet::from_csv_text(RULES).unwrap();
        let warnings = set.unmatched_warnings(&[3, 0]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("line 4"), "{}", warnings[0]);
    }
}
