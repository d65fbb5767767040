//! The rules of one file in order: reading them, which rule labels a flow
//! (the first that matches), and the warnings about them (disagreeing
//! overlaps when read, rules that matched nothing after the run).

use super::parse::{parse_csv, parse_toml};
use super::rule::{FlowFacts, Rule};
use anyhow::Context;
use std::path::Path;

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
    pub(super) fn from_csv_text(text: &str) -> anyhow::Result<RuleSet> {
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
