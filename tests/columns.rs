//! Every column flowq can write is defined for its two kinds of readers: in
//! docs/features.md (a table row of its profile's section, with its type) and
//! in `flowq columns` (its name, type and a one-line definition of its own),
//! for every profile and every option that changes the columns, and for the
//! `packets` table of SQL over captures. The value sets the docs give for
//! columns with a fixed vocabulary are the ones the code writes.
//!
//! The columns come from the code (the profiles' column lists, and the SQL
//! `packets` table as `describe` reports it); the definitions from the docs
//! and the command's output. A column either lacks is a failure.

use crate::util::{flowq, repo_root};
use arrow::datatypes::{DataType, TimeUnit};
use flowq_extract::decode::{SkipReason, Tunnel};
use flowq_extract::flow::EndReason;
use flowq_extract::{ExtractOptions, Profile};
use std::collections::{BTreeMap, BTreeSet};

/// One way to call `flowq columns`, the columns it must list, and the sections
/// of docs/features.md (by their heading) that define them.
struct Variant {
    args: Vec<&'static str>,
    columns: Vec<(String, DataType)>,
    sections: &'static [&'static str],
}

const STANDARD: &str = "## Profile `standard`";
const SEED: &str = "## Profile `seed`";
const FULL: &str = "## Profile `full`";
const APP: &str = "## Application metadata";
const NFSTREAM: &str = "## Profile `nfstream`";
const CIC: &str = "## Profiles `cic2017`, `cic2018` and `cic`";
const PACKETS: &str = "## Table `packets`";

fn profile_columns(options: ExtractOptions) -> Vec<(String, DataType)> {
    options
        .columns()
        .iter()
        .map(|c| {
            let f = c.field();
            (f.name().clone(), f.data_type().clone())
        })
        .collect()
}

/// The SQL `packets` table's columns, as DataFusion describes the real table.
fn packets_table_columns() -> Vec<(String, String)> {
    let sample = repo_root().join("testdata/sample.pcap");
    let out = flowq(&[
        "describe packets",
        "--pcap",
        sample.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut reader = text.lines();
    assert_eq!(
        reader.next(),
        Some("column_name,data_type,is_nullable"),
        "{text}"
    );
    reader
        .map(|line| {
            // `ts,"Timestamp(µs, ""UTC"")",NO`
            let (name, rest) = line.split_once(',').unwrap();
            let kind = rest.rsplit_once(',').unwrap().0;
            let kind = kind
                .strip_prefix('"')
                .and_then(|k| k.strip_suffix('"'))
                .map_or(kind.to_string(), |k| k.replace("\"\"", "\""));
            (name.to_string(), kind)
        })
        .collect()
}

fn variants() -> Vec<Variant> {
    let with = |profile: Profile, f: fn(&mut ExtractOptions)| {
        let mut options = ExtractOptions {
            profile,
            ..ExtractOptions::default()
        };
        f(&mut options);
        profile_columns(options)
    };
    let mut variants = vec![
        Variant {
            args: vec![],
            columns: with(Profile::Standard, |_| {}),
            sections: &[STANDARD, APP],
        },
        Variant {
            args: vec!["--no-app"],
            columns: with(Profile::Standard, |o| o.app = false),
            sections: &[STANDARD],
        },
        Variant {
            args: vec!["--profile", "seed"],
            columns: with(Profile::Seed, |_| {}),
            sections: &[SEED],
        },
        Variant {
            args: vec!["--profile", "full"],
            columns: with(Profile::Full, |_| {}),
            sections: &[STANDARD, FULL, APP],
        },
        Variant {
            args: vec!["--profile", "full", "--splt", "0", "--no-app"],
            columns: with(Profile::Full, |o| {
                o.splt_len = 0;
                o.app = false;
            }),
            sections: &[STANDARD, FULL],
        },
        Variant {
            args: vec!["--profile", "nfstream"],
            columns: with(Profile::Nfstream, |o| o.splt_len = 0),
            sections: &[NFSTREAM],
        },
        Variant {
            args: vec!["--profile", "nfstream", "--stats"],
            columns: with(Profile::Nfstream, |o| {
                o.splt_len = 0;
                o.nfstream_stats = true;
            }),
            sections: &[NFSTREAM],
        },
        Variant {
            args: vec!["--profile", "nfstream", "--splt", "4"],
            columns: with(Profile::Nfstream, |o| o.splt_len = 4),
            sections: &[NFSTREAM],
        },
        Variant {
            args: vec!["--profile", "nfstream", "--stats", "--splt", "10"],
            columns: with(Profile::Nfstream, |o| {
                o.splt_len = 10;
                o.nfstream_stats = true;
            }),
            sections: &[NFSTREAM],
        },
        Variant {
            args: vec![
                "--profile",
                "nfstream",
                "--stats",
                "--splt",
                "10",
                "--dissect",
            ],
            columns: with(Profile::Nfstream, |o| {
                o.splt_len = 10;
                o.nfstream_stats = true;
                o.dissect = true;
            }),
            sections: &[NFSTREAM],
        },
    ];
    for (name, profile) in [
        ("cic2017", Profile::Cic2017),
        ("cic2018", Profile::Cic2018),
        ("cic", Profile::Cic),
    ] {
        variants.push(Variant {
            args: vec!["--profile", name],
            columns: with(profile, |_| {}),
            sections: &[CIC],
        });
        variants.push(Variant {
            args: vec!["--profile", name, "--cic-timestamp", "original"],
            columns: with(profile, |o| o.cic_original_timestamp = true),
            sections: &[CIC],
        });
    }
    variants
}

/// A type as docs/features.md spells it.
fn doc_type(kind: &DataType) -> String {
    match kind {
        DataType::Timestamp(TimeUnit::Microsecond, Some(zone)) if zone.as_ref() == "UTC" => {
            "Timestamp(µs, UTC)".to_string()
        }
        DataType::List(item) => format!("List({})", doc_type(item.data_type())),
        other => other.to_string(),
    }
}

/// Splits on `, ` outside parentheses (`Timestamp(µs, UTC), Int64`).
fn split_types(cell: &str) -> Vec<String> {
    let (mut parts, mut current, mut depth) = (Vec::new(), String::new(), 0);
    let mut chars = cell.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 && chars.peek() == Some(&' ') => {
                chars.next();
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_string()).collect()
}

/// The words in backticks of a table cell.
fn backticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// The text of a `## ` section of a Markdown file, up to the next `## `.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .find(&format!("\n{heading}"))
        .unwrap_or_else(|| panic!("no section `{heading}`"));
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

/// The table rows of a section, each as its cells.
fn table_rows(section: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let mut rows = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for line in section.lines() {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_string())
            .collect();
        match &header {
            None => header = Some(cells),
            Some(_) if line.starts_with("|---") => {}
            Some(h) => rows.push((h.clone(), cells)),
        }
    }
    rows
}

/// The columns a section documents: name (without CICFlowMeter's leading
/// spaces) to the types its rows give it.
fn documented(section: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (header, cells) in table_rows(section) {
        let Some(type_cell) = header.iter().position(|h| h == "type") else {
            continue;
        };
        let types = split_types(&cells[type_cell]);
        for (i, h) in header.iter().enumerate() {
            if !matches!(
                h.as_str(),
                "column" | "column (cic2017)" | "cic2017" | "cic2018" | "cic"
            ) {
                continue;
            }
            let in_cell = backticked(&cells[i]);
            assert!(
                types.len() == 1 || types.len() == in_cell.len(),
                "docs/features.md: {} types for {} columns in `{}`",
                types.len(),
                in_cell.len(),
                cells.join(" | ")
            );
            for (n, name) in in_cell.iter().enumerate() {
                let kind = if types.len() == 1 {
                    &types[0]
                } else {
                    &types[n]
                };
                names
                    .entry(name.trim().to_string())
                    .or_default()
                    .insert(kind.clone());
            }
        }
    }
    names
}

/// `flowq columns ARGS`: (name, type, definition) per line, in order, checked
/// against the expected columns.
fn check_columns_command(args: &[&str], columns: &[(String, String)], problems: &mut Vec<String>) {
    let mut full = vec!["columns"];
    full.extend_from_slice(args);
    let out = flowq(&full);
    assert!(
        out.status.success(),
        "flowq {}: {}",
        full.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() != columns.len() {
        problems.push(format!(
            "flowq {} prints {} lines for {} columns",
            full.join(" "),
            lines.len(),
            columns.len()
        ));
        return;
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for ((name, kind), line) in columns.iter().zip(&lines) {
        let definition = line
            .strip_prefix(name.as_str())
            .filter(|rest| rest.starts_with(' '))
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix(kind.as_str()))
            .map(str::trim);
        match definition {
            None => problems.push(format!(
                "flowq {}: `{line}` is not `{name}` of type {kind}",
                full.join(" ")
            )),
            Some("") => problems.push(format!(
                "flowq {}: `{name}` has no definition",
                full.join(" ")
            )),
            // Each column says something of its own: a shared placeholder
            // ("a CICFlowMeter feature") is not a definition.
            Some(definition) => {
                if let Some(other) = seen.insert(definition, name) {
                    problems.push(format!(
                        "flowq {}: `{other}` and `{name}` have the same definition `{definition}`",
                        full.join(" ")
                    ));
                }
            }
        }
    }
}

#[test]
fn every_column_is_defined_in_the_docs_and_by_flowq_columns() {
    let doc = std::fs::read_to_string(repo_root().join("docs/features.md")).unwrap();
    let mut problems = Vec::new();
    // Every name documented in a section, to find definitions of columns that
    // no longer exist.
    let mut written: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut check = |args: &[&str],
                     columns: Vec<(String, DataType)>,
                     sections: &'static [&'static str],
                     problems: &mut Vec<String>| {
        let docs: Vec<_> = sections
            .iter()
            .map(|s| documented(section(&doc, s)))
            .collect();
        for (name, kind) in &columns {
            let trimmed = name.trim();
            let types: BTreeSet<&String> = docs
                .iter()
                .filter_map(|d| d.get(trimmed))
                .flatten()
                .collect();
            if types.is_empty() {
                problems.push(format!(
                    "docs/features.md ({}) does not define `{trimmed}` (flowq columns {})",
                    sections.join(", "),
                    args.join(" ")
                ));
            } else if !types.contains(&doc_type(kind)) {
                problems.push(format!(
                    "docs/features.md gives `{trimmed}` the type {types:?}, the code {}",
                    doc_type(kind)
                ));
            }
            for s in sections {
                written.entry(s).or_default().insert(trimmed.to_string());
            }
        }
        let printed: Vec<(String, String)> = columns
            .iter()
            .map(|(n, k)| (n.clone(), k.to_string()))
            .collect();
        check_columns_command(args, &printed, problems);
    };
    for v in variants() {
        check(&v.args, v.columns, v.sections, &mut problems);
    }
    // The packets table: the real SQL table's columns and types.
    let packets = packets_table_columns();
    let docs = documented(section(&doc, PACKETS));
    for (name, kind) in &packets {
        // DataFusion quotes the time zone: `Timestamp(µs, "UTC")`.
        match docs.get(name) {
            None => problems.push(format!("docs/features.md does not define the packets column `{name}`")),
            Some(kinds) if !kinds.iter().any(|k| *k == kind.replace('"', "")) => problems.push(format!(
                "docs/features.md gives the packets column `{name}` the type {kinds:?}, SQL {kind}"
            )),
            Some(_) => {}
        }
        written.entry(PACKETS).or_default().insert(name.clone());
    }
    check_columns_command(&["--packets"], &packets, &mut problems);
    // Nothing documented that no variant writes.
    for heading in [STANDARD, SEED, FULL, NFSTREAM, CIC, PACKETS] {
        for name in documented(section(&doc, heading)).keys() {
            if !written.get(heading).is_some_and(|w| w.contains(name)) {
                problems.push(format!(
                    "docs/features.md ({heading}) defines `{name}`, which no variant of it writes"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The words of a value set: lower-case words in backticks (not options such
/// as `--max-flows`, not the column's own name).
fn value_words<'a>(cell: &'a str, column: &str) -> BTreeSet<&'a str> {
    backticked(cell)
        .into_iter()
        .filter(|w| *w != column && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect()
}

/// The definition cell of the row that defines `column` alone in a section.
fn definition<'a>(section: &'a str, column: &str) -> &'a str {
    section
        .lines()
        .find(|l| l.starts_with(&format!("| `{column}` |")))
        .and_then(|l| l.trim_end_matches('|').rsplit(" | ").next())
        .unwrap_or_else(|| panic!("no row for `{column}`"))
}

/// The first cells of a section's table, in backticks.
fn first_cells(section: &str) -> BTreeSet<&str> {
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| backticked(l).into_iter().next())
        .collect()
}

/// Every end reason, as the `end_reason` column spells it. The match has no
/// wildcard, so a new variant does not compile until it is listed here too.
fn end_reasons() -> BTreeSet<&'static str> {
    use EndReason::*;
    let all = [
        IdleTimeout,
        ActiveTimeout,
        TcpFin,
        TcpRst,
        EndOfCapture,
        Evicted,
    ];
    for reason in all {
        match reason {
            IdleTimeout | ActiveTimeout | TcpFin | TcpRst | EndOfCapture | Evicted => {}
        }
    }
    all.into_iter().map(EndReason::as_str).collect()
}

#[test]
fn documented_value_sets_are_the_codes() {
    let read = |path: &str| std::fs::read_to_string(repo_root().join(path)).unwrap();
    let (features, flows, capture) = (
        read("docs/features.md"),
        read("docs/flows.md"),
        read("docs/capture.md"),
    );
    let code = end_reasons();
    assert_eq!(
        value_words(
            definition(section(&features, STANDARD), "end_reason"),
            "end_reason"
        ),
        code,
        "end_reason in docs/features.md"
    );
    assert_eq!(
        first_cells(section(&flows, "## When a flow ends")),
        code,
        "end reasons in docs/flows.md"
    );
    let tunnels: BTreeSet<&str> = Tunnel::ALL.into_iter().map(Tunnel::name).collect();
    for heading in [STANDARD, PACKETS] {
        assert_eq!(
            value_words(definition(section(&features, heading), "tunnel"), "tunnel"),
            tunnels,
            "tunnel in docs/features.md ({heading})"
        );
    }
    let skips: BTreeSet<&str> = SkipReason::ALL.into_iter().map(SkipReason::name).collect();
    assert_eq!(
        first_cells(section(&capture, "## Skip reasons")),
        skips,
        "skip reasons in docs/capture.md"
    );
}
