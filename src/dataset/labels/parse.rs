//! Reading rule files: CSV (one rule a line, with a header) and TOML (one
//! table a rule), both into the same checked [`Rule`]s, with errors that name
//! the file and line.

use super::predicate::{ColumnNames, Predicate};
use super::rule::{Cidr, PortRange, Rule, Window};
use anyhow::{Context, anyhow, bail};
use chrono::DateTime;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The fields a rule may have, as text, before checking.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    label: Option<String>,
    name: Option<String>,
    category: Option<i64>,
    src: Option<TextOrList>,
    dst: Option<TextOrList>,
    direction: Option<String>,
    src_port: Option<TextOrList>,
    dst_port: Option<TextOrList>,
    src_port_not: Option<TextOrList>,
    dst_port_not: Option<TextOrList>,
    protocol: Option<TextOrList>,
    start: Option<toml::Value>,
    end: Option<toml::Value>,
    window: Option<TextOrList>,
    #[serde(rename = "where")]
    condition: Option<String>,
}

/// A TOML value that may be one item or a list of them.
#[derive(Debug, Clone, Deserialize)]
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

/// Which rule labels a flow that several rules match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// The first matching rule in the file (the default).
    #[default]
    FirstMatch,
    /// The last matching rule: later, narrower rules override earlier ones, as
    /// in the CNS 2022 notebooks, which assign each rule's label in turn.
    LastMatch,
}

/// A rule file's rules and settings.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub rules: Vec<Rule>,
    pub columns: ColumnNames,
    pub default_label: Option<String>,
    pub default_category: Option<i64>,
    pub order: Order,
    pub name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    /// The named windows, in file order.
    pub windows: Vec<Window>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    default_label: Option<String>,
    default_category: Option<i64>,
    order: Option<String>,
    window_end: Option<String>,
    direction: Option<String>,
    sets: Option<toml::Spanned<BTreeMap<String, TextOrList>>>,
    windows: Option<toml::Spanned<toml::Table>>,
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

/// What every rule of a file shares.
struct FileContext<'f> {
    source: &'f str,
    sets: BTreeMap<String, Vec<String>>,
    windows: BTreeMap<String, Window>,
    end_inclusive: bool,
    either_by_default: bool,
}

impl FileContext<'_> {
    /// A field's items with `@NAME` replaced by the items of set NAME.
    fn expand(&self, list: &TextOrList) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        for item in list.items() {
            match item.strip_prefix('@') {
                Some(name) => out.extend(
                    self.sets
                        .get(name)
                        .ok_or_else(|| anyhow!("no set `{name}` in [sets]"))?
                        .iter()
                        .cloned(),
                ),
                None => out.push(item),
            }
        }
        Ok(out)
    }
}

pub(super) fn parse_toml(text: &str, source: &str) -> anyhow::Result<Parsed> {
    let file: TomlFile = toml::from_str(text).map_err(|e| anyhow!("{e}"))?;
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let end_inclusive = match file.window_end.as_deref() {
        None | Some("exclusive") => false,
        Some("inclusive") => true,
        Some(other) => bail!("window_end `{other}` is neither `inclusive` nor `exclusive`"),
    };
    let order = match file.order.as_deref() {
        None | Some("first-match") => Order::FirstMatch,
        Some("last-match") => Order::LastMatch,
        Some(other) => bail!("order `{other}` is neither `first-match` nor `last-match`"),
    };
    let either_by_default = match file.direction.as_deref() {
        None => true,
        Some(d) => parse_direction(d)?,
    };
    let sets_line = file.sets.as_ref().map_or(0, |s| line_of(s.span().start));
    let sets = file
        .sets
        .map(toml::Spanned::into_inner)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, list)| {
            let items = list.items();
            if items.iter().any(|i| i.starts_with('@')) {
                bail!("line {sets_line}: set `{name}` names another set (sets hold values only)");
            }
            Ok((name, items))
        })
        .collect::<anyhow::Result<_>>()?;
    let windows_line = file.windows.as_ref().map_or(0, |w| line_of(w.span().start));
    let mut windows = BTreeMap::new();
    let mut window_order = Vec::new();
    for (name, bounds) in file
        .windows
        .map(toml::Spanned::into_inner)
        .unwrap_or_default()
    {
        let window = (|| -> anyhow::Result<Window> {
            let toml::Value::Array(bounds) = &bounds else {
                bail!("a window is [start, end]");
            };
            let [start, end] = bounds.as_slice() else {
                bail!("a window is [start, end]");
            };
            checked_window(Some(name.clone()), Some(start), Some(end), end_inclusive)
        })()
        .with_context(|| format!("line {windows_line}: window `{name}`"))?;
        window_order.push(window.clone());
        windows.insert(name, window);
    }
    let context = FileContext {
        source,
        sets,
        windows,
        end_inclusive,
        either_by_default,
    };
    let mut columns = ColumnNames::default();
    let mut rules = Vec::with_capacity(file.rule.len());
    for spanned in file.rule {
        let line = line_of(spanned.span().start);
        let raw = spanned.into_inner();
        rules.push(
            check_rule(raw, line, &context, &mut columns)
                .with_context(|| format!("line {line}"))?,
        );
    }
    // Windows in time order (toml tables come back sorted by name).
    window_order.sort_by_key(|w| (w.start_ns, w.end_ns));
    Ok(Parsed {
        rules,
        columns,
        default_label: file.default_label,
        default_category: file.default_category,
        order,
        name: file.name,
        version: file.version,
        description: file.description,
        windows: window_order,
    })
}

const CSV_FIELDS: &[&str] = &[
    "label",
    "name",
    "category",
    "src",
    "dst",
    "direction",
    "src_port",
    "dst_port",
    "src_port_not",
    "dst_port_not",
    "protocol",
    "start",
    "end",
    "where",
];

pub(super) fn parse_csv(text: &str, source: &str) -> anyhow::Result<Parsed> {
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
    let context = FileContext {
        source,
        sets: BTreeMap::new(),
        windows: BTreeMap::new(),
        end_inclusive: false,
        either_by_default: true,
    };
    let mut names = ColumnNames::default();
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
                "category" => {
                    raw.category = Some(value.parse().map_err(|_| {
                        anyhow!("line {line}: category `{value}` is not a whole number")
                    })?)
                }
                "src" => raw.src = list(),
                "dst" => raw.dst = list(),
                "direction" => raw.direction = text(),
                "src_port" => raw.src_port = list(),
                "dst_port" => raw.dst_port = list(),
                "src_port_not" => raw.src_port_not = list(),
                "dst_port_not" => raw.dst_port_not = list(),
                "protocol" => raw.protocol = list(),
                "start" => raw.start = Some(toml::Value::String(value.to_string())),
                "end" => raw.end = Some(toml::Value::String(value.to_string())),
                "where" => raw.condition = text(),
                _ => unreachable!("columns are checked against CSV_FIELDS"),
            }
        }
        rules.push(
            check_rule(raw, line, &context, &mut names).with_context(|| format!("line {line}"))?,
        );
    }
    Ok(Parsed {
        rules,
        columns: names,
        ..Parsed::default()
    })
}

/// `forward` → false, `either` → true.
fn parse_direction(text: &str) -> anyhow::Result<bool> {
    match text.to_ascii_lowercase().as_str() {
        "either" | "both" => Ok(true),
        "forward" | "src-to-dst" => Ok(false),
        d => bail!("direction `{d}` is neither `either` nor `forward`"),
    }
}

fn checked_window(
    name: Option<String>,
    start: Option<&toml::Value>,
    end: Option<&toml::Value>,
    end_inclusive: bool,
) -> anyhow::Result<Window> {
    let start_ns = start.map(parse_time).transpose()?;
    let end_ns = end.map(parse_time).transpose()?;
    if let (Some(s), Some(e)) = (start_ns, end_ns)
        && (e < s || (e == s && !end_inclusive))
    {
        bail!("the time window ends before it starts");
    }
    Ok(Window {
        name,
        start_ns,
        end_ns,
        end_inclusive,
    })
}

fn check_rule(
    raw: RawRule,
    line: usize,
    file: &FileContext,
    columns: &mut ColumnNames,
) -> anyhow::Result<Rule> {
    let label = raw
        .label
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| anyhow!("the rule has no label"))?;
    let nets = |list: &Option<TextOrList>| -> anyhow::Result<Option<Vec<Cidr>>> {
        list.as_ref()
            .map(|l| file.expand(l)?.iter().map(|s| Cidr::parse(s)).collect())
            .transpose()
    };
    let ports = |list: &Option<TextOrList>| -> anyhow::Result<Option<Vec<PortRange>>> {
        list.as_ref()
            .map(|l| file.expand(l)?.iter().map(|s| parse_ports(s)).collect())
            .transpose()
    };
    let protocol = match &raw.protocol {
        None => None,
        Some(list) => match file.expand(list)?.as_slice() {
            [one] => Some(parse_protocol(one)?),
            _ => bail!("a rule names one protocol (write one rule per protocol)"),
        },
    };
    let either_direction = match raw.direction.as_deref() {
        None => file.either_by_default,
        Some(d) => parse_direction(d)?,
    };
    let mut windows = Vec::new();
    if raw.start.is_some() || raw.end.is_some() {
        windows.push(checked_window(
            None,
            raw.start.as_ref(),
            raw.end.as_ref(),
            file.end_inclusive,
        )?);
    }
    if let Some(names) = &raw.window {
        if !windows.is_empty() {
            bail!("a rule has `window` or `start`/`end`, not both");
        }
        for name in names.items() {
            windows.push(
                file.windows
                    .get(&name)
                    .ok_or_else(|| anyhow!("no window `{name}` in [windows]"))?
                    .clone(),
            );
        }
    }
    let predicate = raw
        .condition
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|c| Predicate::parse(c, columns))
        .transpose()?;
    Ok(Rule {
        line,
        id: raw
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("{}:{line}", file.source)),
        label,
        category: raw.category,
        src: nets(&raw.src)?,
        dst: nets(&raw.dst)?,
        either_direction,
        src_ports: ports(&raw.src_port)?,
        dst_ports: ports(&raw.dst_port)?,
        src_ports_not: ports(&raw.src_port_not)?,
        dst_ports_not: ports(&raw.dst_port_not)?,
        protocol,
        windows,
        predicate,
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

/// Times are RFC 3339 with a UTC offset (`2017-07-05T09:47:00-03:00`, up to
/// nanoseconds), or seconds since the Unix epoch with up to nine decimals
/// (read as decimal text, so nanoseconds are exact).
fn parse_time(value: &toml::Value) -> anyhow::Result<i64> {
    let text = value_text(value);
    if let Some(ns) = unix_seconds_to_ns(&text) {
        return Ok(ns);
    }
    let normalized = text.replacen(' ', "T", 1);
    match DateTime::parse_from_rfc3339(&normalized) {
        Ok(t) => t
            .timestamp_nanos_opt()
            .ok_or_else(|| anyhow!("`{text}` is outside the years 1677 to 2262")),
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

/// `1499170672.838272` → 1499170672838272000; None unless the text is an
/// optional sign, digits and at most nine decimals.
fn unix_seconds_to_ns(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 9 {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    let nanos: i64 = format!("{fraction:0<9}").parse().ok()?;
    let ns = seconds.checked_mul(1_000_000_000)?.checked_add(nanos)?;
    Some(if negative { -ns } else { ns })
}
