//! A rule set's time windows as a Markdown table (docs/datasets.md holds one per
//! built-in set, checked against the files by a test).

use super::rule_set::RuleSet;
use chrono::{DateTime, SecondsFormat};

fn utc(ns: Option<i64>) -> String {
    match ns {
        Some(ns) => DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => "(open)".into(),
    }
}

/// A row of the table: start, end (ns), the window's name, its labels.
struct Row {
    start: Option<i64>,
    end: Option<i64>,
    name: String,
    labels: Vec<String>,
}

/// One row per window, in time order: its name, UTC bounds, and the labels
/// (with their categories) of the rules that use it, in rule order.
pub fn windows_table(set: &RuleSet) -> String {
    let mut rows: Vec<Row> = Vec::new();
    let mut add = |start, end, name: String, label: String| match rows
        .iter_mut()
        .find(|r| r.start == start && r.end == end && r.name == name)
    {
        Some(row) => {
            if !row.labels.contains(&label) {
                row.labels.push(label);
            }
        }
        None => rows.push(Row {
            start,
            end,
            name,
            labels: vec![label],
        }),
    };
    for rule in &set.rules {
        let label = match rule.category {
            Some(c) => format!("{} (category {c})", rule.label),
            None => rule.label.clone(),
        };
        for w in &rule.windows {
            let name = w.name.clone().unwrap_or_else(|| rule.id.clone());
            add(w.start_ns, w.end_ns, name, label.clone());
        }
    }
    rows.sort_by(|a, b| (a.start, a.end, &a.name).cmp(&(b.start, b.end, &b.name)));
    let end = if set.windows.iter().any(|w| w.end_inclusive)
        || set
            .rules
            .iter()
            .flat_map(|r| &r.windows)
            .any(|w| w.end_inclusive)
    {
        "End (UTC, inclusive)"
    } else {
        "End (UTC, exclusive)"
    };
    let mut out = format!("| Window | Start (UTC) | {end} | Labels |\n|---|---|---|---|\n");
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.name,
            utc(row.start),
            utc(row.end),
            row.labels.join("; ")
        ));
    }
    out
}
