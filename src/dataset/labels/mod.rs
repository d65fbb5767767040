//! Label rules: which flows get which class label, auditable rule by rule.
//!
//! A rule file (CSV or TOML, docs/datasets.md) lists rules in order; each
//! matches on any of the source and destination addresses or networks, ports
//! (and ports excluded), protocol, time windows and a condition on flow
//! columns, and the first (or, when the file says so, the last) rule that
//! matches a flow labels it. Rules are checked when read (syntax, disagreeing
//! overlaps) and after the run (rules that matched nothing, flows several
//! rules matched), so that mislabelled flows, the known weakness of public IDS
//! datasets, show up as messages rather than in a model.
//!
//! [`rule`] is one rule and how it matches a flow; [`predicate`] its condition
//! on flow columns; [`columns`] maps the CICFlowMeter column names conditions
//! use to each profile's columns; [`parse`] reads CSV and TOML rule files into
//! rules; [`rule_set`] is a file's rules in order, which label a flow, and the
//! warnings about them; [`builtin`] the rule sets shipped in the binary
//! (`labels/`); [`counts`] counts a run's labels; [`table`] writes a set's
//! windows as the table in docs/datasets.md.

mod builtin;
pub mod columns;
mod counts;
mod parse;
mod predicate;
mod rule;
mod rule_set;
#[cfg(test)]
mod shipped_tests;
mod table;
#[cfg(test)]
mod tests;

pub use builtin::names as builtin_names;
pub use counts::LabelCounts;
pub use parse::Order;
pub use rule::FlowFacts;
pub use rule_set::{RuleSet, Verdict};
pub use table::windows_table;
