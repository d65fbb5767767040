//! Label rules: which flows get which class label, auditable rule by rule.
//!
//! A rule file (CSV or TOML, docs/datasets.md) lists rules in order; each
//! matches on any of the source and destination addresses or networks, ports,
//! protocol and a time window, and the first rule that matches a flow labels it.
//! Rules are checked when read (syntax, disagreeing overlaps) and after the run
//! (rules that matched nothing), so that mislabelled flows, the known weakness of
//! public IDS datasets, show up as messages rather than in a model.
//!
//! [`rule`] is one rule and how it matches a flow; [`parse`] reads CSV and
//! TOML rule files into rules; [`rule_set`] is a file's rules in order, which
//! label a flow, and the warnings about them; [`counts`] counts a run's labels.

mod counts;
mod parse;
mod rule;
mod rule_set;
#[cfg(test)]
mod tests;

pub use counts::LabelCounts;
pub use rule::FlowFacts;
pub use rule_set::{RuleSet, Verdict};
