//! `flowq labels [RULES]`: what a label rule set does, without extracting:
//! its provenance, its rules (what each matches) and its time windows.

use super::args::LabelsArgs;
use super::exit;
use crate::dataset::labels::{Order, RuleSet, builtin_names, windows_table};
use std::fmt::Write as _;
use std::io::Write as _;

/// Prints the built-in sets, or the rules and windows of one set.
pub fn run(args: LabelsArgs) -> anyhow::Result<u8> {
    let text = describe(&args)?;
    // `flowq labels cic-ids2017 | head`: a reader that left early is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(exit::OK),
    }
}

fn describe(args: &LabelsArgs) -> anyhow::Result<String> {
    let mut out = String::new();
    let Some(spec) = &args.rules else {
        for name in builtin_names() {
            let set = RuleSet::load(std::path::Path::new(name), None)?;
            writeln!(
                out,
                "{name}\t{} rules\t{}",
                set.rules.len(),
                set.description.as_deref().unwrap_or("")
            )?;
        }
        return Ok(out);
    };
    let set = RuleSet::load(spec, None)?;
    if args.windows {
        return Ok(windows_table(&set));
    }
    writeln!(
        out,
        "rule set   {}",
        set.name.as_deref().unwrap_or(&set.source)
    )?;
    if let Some(v) = &set.version {
        writeln!(out, "version    {v}")?;
    }
    if let Some(d) = &set.description {
        writeln!(out, "about      {d}")?;
    }
    writeln!(out, "sha256     {}", set.sha256)?;
    let order = match set.order {
        Order::FirstMatch => "first match wins",
        Order::LastMatch => "last match wins",
    };
    writeln!(out, "order      {order}")?;
    writeln!(out, "default    {}", set.default_label)?;
    if !set.columns.is_empty() {
        writeln!(out, "columns    {}", set.columns.join(", "))?;
    }
    writeln!(out)?;
    for rule in &set.rules {
        let category = rule
            .category
            .or(set.default_category)
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        writeln!(
            out,
            "line {:>4}  {}: {}{category}",
            rule.line, rule.id, rule.label
        )?;
        writeln!(out, "           {}", rule.summary(&set.columns))?;
    }
    for warning in &set.warnings {
        eprintln!("flowq: warning: {warning}");
    }
    Ok(out)
}
