//! The rules of one file in order: reading them (from a file or a built-in
//! set), which rule labels a flow (the first or the last that matches, as the
//! file declares), and the warnings about them (disagreeing overlaps when read,
//! rules that matched nothing or never won after the run).

use super::builtin;
use super::parse::{Order, Parsed, parse_csv, parse_toml};
use super::rule::{FlowFacts, Rule, Window};
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The rules of one file, in order, and the label of flows no rule matches.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The rule file's name (or the built-in set's name), for messages.
    pub source: String,
    /// The set's own `name`, `version` and `description` (TOML), for provenance.
    pub name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    /// Whether it was one of the sets built into flowq (`--labels NAME`).
    pub built_in: bool,
    /// SHA-256 of the rule file's bytes (lowercase hex).
    pub sha256: String,
    /// The rules in file order.
    pub rules: Vec<Rule>,
    /// Which matching rule labels a flow.
    pub order: Order,
    /// The label of unmatched flows.
    pub default_label: String,
    /// `label_category` of flows whose rule has no category, and of unmatched
    /// flows (the CIC rule sets: -1, "not attempted").
    pub default_category: Option<i64>,
    /// The columns the rules' `where` conditions name (FlowFacts::values order).
    pub columns: Vec<String>,
    /// The named windows, in time order.
    pub windows: Vec<Window>,
    /// Problems found while reading that do not stop the run.
    pub warnings: Vec<String>,
}

/// The labelling outcome of one flow.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'r> {
    /// Rule `index` labelled it.
    Rule(usize, &'r Rule),
    /// No rule matched.
    Default,
}

/// The label used when the rule file and the command line name none.
pub const DEFAULT_LABEL: &str = "BENIGN";

impl RuleSet {
    /// `--labels SPEC`: the file SPEC when it exists, else the built-in set of
    /// that name (`cic-ids2017`, ...).
    pub fn load(spec: &Path, default_label: Option<&str>) -> anyhow::Result<RuleSet> {
        if !spec.exists()
            && let Some(name) = spec.to_str()
            && let Some(text) = builtin::text(name)
        {
            let mut set = Self::from_text(text, name, true, default_label)
                .with_context(|| format!("bad built-in label rules {name}"))?;
            set.built_in = true;
            return Ok(set);
        }
        if !spec.exists() && spec.components().count() == 1 && spec.extension().is_none() {
            anyhow::bail!(
                "no label rule file {} and no built-in rule set of that name (the built-in \
                 sets are {})",
                spec.display(),
                builtin::names().join(", ")
            );
        }
        Self::from_file(spec, default_label)
    }

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
        Self::from_text(&text, &source, is_toml, default_label)
            .with_context(|| format!("bad label rules in {}", path.display()))
    }

    /// Reads rules from `text` (TOML or CSV), `source` naming it in messages.
    pub fn from_text(
        text: &str,
        source: &str,
        is_toml: bool,
        default_label: Option<&str>,
    ) -> anyhow::Result<RuleSet> {
        let parsed: Parsed = if is_toml {
            parse_toml(text, source)?
        } else {
            parse_csv(text, source)?
        };
        let default_label = default_label
            .map(str::to_string)
            .or(parsed.default_label)
            .unwrap_or_else(|| DEFAULT_LABEL.to_string());
        let mut set = RuleSet {
            source: source.to_string(),
            name: parsed.name,
            version: parsed.version,
            description: parsed.description,
            built_in: false,
            sha256: hex(&Sha256::digest(text.as_bytes())),
            rules: parsed.rules,
            order: parsed.order,
            default_label,
            default_category: parsed.default_category,
            columns: parsed.columns.0,
            windows: parsed.windows,
            warnings: Vec::new(),
        };
        set.warnings = set.disagreeing_overlaps();
        Ok(set)
    }

    /// Builds a set from CSV text (tests).
    #[cfg(test)]
    pub(super) fn from_csv_text(text: &str) -> anyhow::Result<RuleSet> {
        Self::from_text(text, "rules.csv", false, None)
    }

    /// Whether any rule has a category (the output then has `label_category`).
    pub fn has_categories(&self) -> bool {
        self.default_category.is_some() || self.rules.iter().any(|r| r.category.is_some())
    }

    /// The rule that labels `flow`; `matched` is set to every rule that matched
    /// it, in file order (for the counts of flows matched by several rules).
    pub fn classify_into(&self, flow: &FlowFacts, matched: &mut Vec<usize>) -> Verdict<'_> {
        matched.clear();
        matched.extend(
            self.rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.matches(flow))
                .map(|(i, _)| i),
        );
        let winner = match self.order {
            Order::FirstMatch => matched.first(),
            Order::LastMatch => matched.last(),
        };
        match winner {
            Some(&i) => Verdict::Rule(i, &self.rules[i]),
            None => Verdict::Default,
        }
    }

    /// The rule that labels `flow`.
    #[cfg(test)]
    pub fn classify(&self, flow: &FlowFacts) -> Verdict<'_> {
        self.classify_into(flow, &mut Vec::new())
    }

    /// Whether any rule has a time window (the flows then need a start time).
    pub fn needs_time(&self) -> bool {
        self.rules.iter().any(Rule::has_time_window)
    }

    /// Pairs of rules that can match the same flow (overlapping hosts, ports,
    /// protocol and time windows) but give it different labels: only the first
    /// applies, which is rarely what the author meant. Not for last-match sets,
    /// whose later rules override earlier ones by design, nor for rules with a
    /// condition or "not in" ports (narrowed in ways this cannot decide); the
    /// run's report counts the flows several rules matched instead.
    fn disagreeing_overlaps(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.order == Order::LastMatch {
            return warnings;
        }
        for (i, a) in self.rules.iter().enumerate() {
            for b in &self.rules[i + 1..] {
                if a.label != b.label
                    && !a.is_conditional()
                    && !b.is_conditional()
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

    /// Warnings for rules that matched no flow, and rules that matched flows
    /// but labelled none (always overridden), given per-rule counts of flows
    /// matched (`hits`) and labelled (`wins`).
    pub fn unmatched_warnings(&self, hits: &[u64], wins: &[u64]) -> Vec<String> {
        let mut warnings = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let hit = hits.get(i).copied().unwrap_or(0);
            let won = wins.get(i).copied().unwrap_or(0);
            if hit == 0 {
                warnings.push(format!(
                    "{}: the rule on line {} ({}, label {}) matched no flow",
                    self.source, rule.line, rule.id, rule.label
                ));
            } else if won == 0 {
                warnings.push(format!(
                    "{}: the rule on line {} ({}, label {}) matched {hit} flows but labelled none: \
                     another rule took each of them",
                    self.source, rule.line, rule.id, rule.label
                ));
            }
        }
        warnings
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
