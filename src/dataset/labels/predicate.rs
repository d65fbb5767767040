//! A rule's `where` condition on flow columns: comparisons joined by `and` and
//! `or` (`and` binds tighter; no parentheses), e.g.
//! `Total Length of Fwd Packet == 0 and Flow Duration >= 199800`.
//!
//! Column names may contain spaces (CICFlowMeter's do): a comparison is the
//! text before its operator, the operator, and a number or a `[list]` after it.
//! The names are collected per rule set ([`ColumnNames`]) so each flow's values
//! are looked up once, whatever the number of rules.

use anyhow::{anyhow, bail};

/// The distinct column names of a rule set's conditions, in first-use order;
/// a comparison refers to its column by index into this list.
#[derive(Debug, Clone, Default)]
pub struct ColumnNames(pub Vec<String>);

impl ColumnNames {
    fn index_of(&mut self, name: &str) -> usize {
        match self.0.iter().position(|n| n.eq_ignore_ascii_case(name)) {
            Some(i) => i,
            None => {
                self.0.push(name.to_string());
                self.0.len() - 1
            }
        }
    }
}

/// How a column's value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

impl Op {
    const SPELLINGS: [(&'static str, Op); 9] = [
        // Two-character operators first, so `<=` is not read as `<`.
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("=", Op::Eq),
        (" not in ", Op::NotIn),
        (" in ", Op::In),
    ];

    fn text(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "in",
            Op::NotIn => "not in",
        }
    }
}

/// `column OP value(s)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Index into the rule set's [`ColumnNames`].
    pub column: usize,
    pub op: Op,
    /// One value, or the list of `in` / `not in`.
    pub values: Vec<f64>,
}

impl Comparison {
    /// Whether `value` passes; a missing value (null) passes nothing, not even
    /// `!=` or `not in`, so a flow without the value is never labelled by a
    /// guess.
    pub fn holds(&self, value: Option<f64>) -> bool {
        let Some(v) = value else {
            return false;
        };
        let c = self.values[0];
        match self.op {
            Op::Eq => v == c,
            Op::Ne => v != c,
            Op::Lt => v < c,
            Op::Le => v <= c,
            Op::Gt => v > c,
            Op::Ge => v >= c,
            Op::In => self.values.contains(&v),
            Op::NotIn => !self.values.contains(&v),
        }
    }
}

/// Alternatives (`or`) of conjunctions (`and`) of comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    pub any_of: Vec<Vec<Comparison>>,
}

impl Predicate {
    /// Reads `text`, registering its column names in `names`.
    pub fn parse(text: &str, names: &mut ColumnNames) -> anyhow::Result<Predicate> {
        let mut any_of = Vec::new();
        for alternative in split_words(text, "or") {
            let mut all_of = Vec::new();
            for comparison in split_words(alternative, "and") {
                all_of.push(
                    parse_comparison(comparison, names)
                        .map_err(|e| anyhow!("in the condition `{}`: {e}", text.trim()))?,
                );
            }
            any_of.push(all_of);
        }
        Ok(Predicate { any_of })
    }

    /// Whether the flow with column `values` (indexed as [`ColumnNames`]) passes.
    pub fn holds(&self, values: &[Option<f64>]) -> bool {
        self.any_of.iter().any(|all| {
            all.iter()
                .all(|c| c.holds(values.get(c.column).copied().flatten()))
        })
    }

    /// The condition as text, with the column names in `names`.
    pub fn display(&self, names: &[String]) -> String {
        self.any_of
            .iter()
            .map(|all| {
                all.iter()
                    .map(|c| {
                        let values = if matches!(c.op, Op::In | Op::NotIn) {
                            let list: Vec<String> =
                                c.values.iter().map(|v| v.to_string()).collect();
                            format!("[{}]", list.join(", "))
                        } else {
                            c.values[0].to_string()
                        };
                        format!("{} {} {values}", names[c.column], c.op.text())
                    })
                    .collect::<Vec<_>>()
                    .join(" and ")
            })
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// Splits `text` at the whole word `word` (any case).
fn split_words<'t>(text: &'t str, word: &str) -> Vec<&'t str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let lower = text.to_ascii_lowercase();
    let needle = format!(" {word} ");
    let mut from = 0;
    while let Some(at) = lower[from..].find(&needle) {
        let at = from + at;
        parts.push(&text[start..at]);
        start = at + needle.len();
        from = start;
    }
    parts.push(&text[start..]);
    parts
}

fn parse_comparison(text: &str, names: &mut ColumnNames) -> anyhow::Result<Comparison> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let (at, op, spelled) = Op::SPELLINGS
        .iter()
        .filter_map(|(s, op)| lower.find(s).map(|at| (at, *op, *s)))
        // The earliest operator; at one position the longer spelling (listed first).
        .min_by_key(|(at, _, _)| *at)
        .ok_or_else(|| anyhow!("`{text}` has no comparison (==, !=, <, <=, >, >=, in, not in)"))?;
    let column = text[..at].trim().trim_matches('`').trim();
    if column.is_empty() {
        bail!("`{text}` names no column before `{}`", op.text());
    }
    let value = text[at + spelled.len()..].trim();
    let number = |s: &str| -> anyhow::Result<f64> {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| anyhow!("`{}` is not a number", s.trim()))
    };
    let values = match op {
        Op::In | Op::NotIn => {
            let inner = value
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .ok_or_else(|| anyhow!("`{value}`: `{}` takes a list like [1, 2]", op.text()))?;
            let list = inner
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(number)
                .collect::<anyhow::Result<Vec<f64>>>()?;
            if list.is_empty() {
                bail!("`{text}`: the list is empty");
            }
            list
        }
        _ => vec![number(value)?],
    };
    Ok(Comparison {
        column: names.index_of(column),
        op,
        values,
    })
}
