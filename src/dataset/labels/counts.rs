//! Counts of one labelled run: flows per label and matches per rule.

use super::rule_set::RuleSet;
use std::collections::BTreeMap;

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
