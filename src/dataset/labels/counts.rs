//! Counts of one labelled run: flows per label, and per rule the flows it
//! matched and the flows it labelled, with the flows several rules matched.

use super::rule_set::RuleSet;
use std::collections::BTreeMap;

/// Per-label and per-rule counts of one run, merged across workers.
#[derive(Debug, Clone, Default)]
pub struct LabelCounts {
    /// Flows per label.
    pub flows_per_label: BTreeMap<String, u64>,
    /// Flows labelled per rule, in rule order.
    pub matches_per_rule: Vec<u64>,
    /// Flows each rule matched, in rule order (labelled or overridden).
    pub hits_per_rule: Vec<u64>,
    /// Flows matched by more than one rule.
    pub multiply_matched: u64,
    /// (labelling rule, other matching rule) → flows, for flows several rules
    /// matched: which rule took flows from which.
    pub overrides: BTreeMap<(usize, usize), u64>,
}

impl LabelCounts {
    /// Zero counts for `rules`.
    pub fn new(rules: &RuleSet) -> Self {
        LabelCounts {
            flows_per_label: BTreeMap::new(),
            matches_per_rule: vec![0; rules.rules.len()],
            hits_per_rule: vec![0; rules.rules.len()],
            multiply_matched: 0,
            overrides: BTreeMap::new(),
        }
    }

    /// Counts one flow: `matched` rules (file order) matched it, `winner`
    /// labelled it `label`.
    pub fn count(&mut self, label: &str, winner: Option<usize>, matched: &[usize]) {
        match self.flows_per_label.get_mut(label) {
            Some(n) => *n += 1,
            None => {
                self.flows_per_label.insert(label.to_string(), 1);
            }
        }
        if let Some(w) = winner {
            self.matches_per_rule[w] += 1;
        }
        for &m in matched {
            self.hits_per_rule[m] += 1;
        }
        if matched.len() > 1 {
            self.multiply_matched += 1;
            if let Some(w) = winner {
                for &m in matched.iter().filter(|&&m| m != w) {
                    *self.overrides.entry((w, m)).or_default() += 1;
                }
            }
        }
    }

    /// Adds `other`'s counts (same rules).
    pub fn merge(&mut self, other: &LabelCounts) {
        for (label, n) in &other.flows_per_label {
            *self.flows_per_label.entry(label.clone()).or_default() += n;
        }
        for (a, b) in self
            .matches_per_rule
            .iter_mut()
            .zip(&other.matches_per_rule)
        {
            *a += b;
        }
        for (a, b) in self.hits_per_rule.iter_mut().zip(&other.hits_per_rule) {
            *a += b;
        }
        self.multiply_matched += other.multiply_matched;
        for (k, n) in &other.overrides {
            *self.overrides.entry(*k).or_default() += n;
        }
    }

    /// The per-rule report: one line per rule with its flows matched and
    /// labelled, then the overrides, most flows first.
    pub fn report(&self, rules: &RuleSet) -> Vec<String> {
        let mut lines = Vec::with_capacity(rules.rules.len() + 4);
        let width = rules.rules.iter().map(|r| r.id.len()).max().unwrap_or(4);
        for (i, rule) in rules.rules.iter().enumerate() {
            lines.push(format!(
                "rule {:<width$}  matched {:>10}  labelled {:>10}  {}",
                rule.id,
                self.hits_per_rule.get(i).copied().unwrap_or(0),
                self.matches_per_rule.get(i).copied().unwrap_or(0),
                rule.label,
            ));
        }
        if self.multiply_matched > 0 {
            lines.push(format!(
                "{} flows matched more than one rule ({}):",
                self.multiply_matched,
                match rules.order {
                    super::Order::FirstMatch => "the first labels them",
                    super::Order::LastMatch => "the last labels them",
                }
            ));
            let mut pairs: Vec<(&(usize, usize), &u64)> = self.overrides.iter().collect();
            pairs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for ((w, m), n) in pairs {
                lines.push(format!(
                    "  {n:>10} flows: {} over {}",
                    rules.rules[*w].id, rules.rules[*m].id
                ));
            }
        }
        lines
    }

    /// The per-rule counts as JSON (the manifest's `label_rules`).
    pub fn to_json(&self, rules: &RuleSet) -> serde_json::Value {
        let per_rule: Vec<serde_json::Value> = rules
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                serde_json::json!({
                    "rule": r.id,
                    "line": r.line,
                    "label": r.label,
                    "category": r.category.or(rules.default_category),
                    "matched": self.hits_per_rule.get(i).copied().unwrap_or(0),
                    "labelled": self.matches_per_rule.get(i).copied().unwrap_or(0),
                })
            })
            .collect();
        serde_json::json!({
            "order": rules.order,
            "rules": per_rule,
            "multiply_matched": self.multiply_matched,
            "overrides": self.overrides_json(rules),
        })
    }

    /// The overrides as JSON objects (manifest).
    pub fn overrides_json(&self, rules: &RuleSet) -> Vec<serde_json::Value> {
        self.overrides
            .iter()
            .map(|((w, m), n)| {
                serde_json::json!({
                    "rule": rules.rules[*w].id,
                    "over": rules.rules[*m].id,
                    "flows": n,
                })
            })
            .collect()
    }
}
