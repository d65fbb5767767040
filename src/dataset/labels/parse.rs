//! Reading rule files: CSV (one rule a line, with a header) and TOML (one
//! table a rule), both into the same checked [`Rule`]s, with errors that name
//! the file and line.

use super::rule::{Cidr, PortRange, Rule};
use anyhow::{Context, anyhow, bail};
use chrono::DateTime;
use serde::Deserialize;

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

pub(super) fn parse_toml(text: &str, source: &str) -> anyhow::Result<(Vec<Rule>, Option<String>)> {
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

pub(super) fn parse_csv(text: &str, source: &str) -> anyhow::Result<Vec<Rule>> {
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
