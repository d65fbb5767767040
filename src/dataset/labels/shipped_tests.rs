//! The rule sets shipped in labels/: each parses, cites its source, can label a
//! flow with every one of its rules, names only columns the cic profile has,
//! and its windows table in docs/datasets.md is the one generated from it.

use super::columns::resolve;
use super::rule::Rule;
use super::*;
use flowq_extract::batch::Column;
use flowq_extract::batch::cic::{CicVocab, cic_columns};
use std::net::IpAddr;

fn shipped() -> Vec<(&'static str, RuleSet)> {
    builtin_names()
        .into_iter()
        .map(|name| {
            let set = RuleSet::load(std::path::Path::new(name), None)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            (name, set)
        })
        .collect()
}

#[test]
fn every_shipped_set_parses_and_cites_its_sources() {
    let sets = shipped();
    assert_eq!(
        sets.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["cic-ids2017", "cic-ids2017-wtmc2021", "cse-cic-ids2018"]
    );
    for (name, set) in &sets {
        assert!(set.built_in);
        assert_eq!(set.name.as_deref(), Some(*name));
        assert!(set.version.is_some(), "{name}");
        // The one overlap: WTMC's PortScan window ends at 15:40:00 local, where
        // DDoS starts, and with whole-second timestamps the script gave that
        // second to PortScan (the first rule), as the rule set does.
        let expected: &[&str] = match *name {
            "cic-ids2017-wtmc2021" => &["(PortScan) and 315 (DDoS) overlap"],
            _ => &[],
        };
        assert_eq!(
            set.warnings.len(),
            expected.len(),
            "{name}: {:?}",
            set.warnings
        );
        for (warning, needle) in set.warnings.iter().zip(expected) {
            assert!(warning.contains(needle), "{name}: {warning}");
        }
        assert_eq!(set.default_label, "BENIGN");
        let text =
            std::fs::read_to_string(format!("{}/labels/{name}.toml", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        // The embedded text is the repository's file.
        assert_eq!(Some(text.as_str()), builtin::text(name));
        let lines: Vec<&str> = text.lines().collect();
        let mut ids = std::collections::BTreeSet::new();
        for rule in &set.rules {
            assert!(
                ids.insert(rule.id.clone()),
                "{name}: duplicate rule name {}",
                rule.id
            );
            let header = lines[rule.line - 1];
            assert!(
                header.starts_with("[[rule]] # ")
                    && (header.contains("CNS cell") || header.contains("WTMC line")),
                "{name} line {}: a rule cites its source on its [[rule]] line: {header}",
                rule.line
            );
            assert!(
                !rule.windows.is_empty(),
                "{name}: {} has no window",
                rule.id
            );
            assert!(
                rule.windows
                    .iter()
                    .all(|w| w.end_inclusive && w.name.is_some())
            );
        }
    }
    let count = |n: &str| sets.iter().find(|(s, _)| *s == n).unwrap().1.rules.len();
    // 51 CNS rules, #44 written as two (hosts other than .50, and .50 with its
    // exclusions); 14 WTMC rules, 13 with an Attempted rule and Bot as three
    // host pairs; 70 CNS 2018 rules, the ones repeated per window written once.
    assert_eq!(count("cic-ids2017"), 52);
    assert_eq!(count("cic-ids2017-wtmc2021"), 31);
    assert_eq!(count("cse-cic-ids2018"), 58);
}

/// Candidate values of a column for the flows built from a rule: each constant
/// the rule compares it with, one less and one more, and 0.
fn candidates(rule: &Rule, column: usize) -> Vec<f64> {
    let mut out = vec![0.0];
    if let Some(p) = &rule.predicate {
        for c in p.any_of.iter().flatten().filter(|c| c.column == column) {
            for v in &c.values {
                out.extend([*v - 1.0, *v, *v + 1.0]);
            }
        }
    }
    out.retain(|v| *v >= 0.0);
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
}

fn first_port(
    list: &Option<Vec<super::rule::PortRange>>,
    not: &Option<Vec<super::rule::PortRange>>,
) -> u16 {
    if let Some(list) = list {
        return list[0].0;
    }
    (40000..)
        .find(|p| {
            not.as_ref()
                .is_none_or(|n| !n.iter().any(|r| r.0 <= *p && *p <= r.1))
        })
        .unwrap()
}

/// A flow the rule set labels with rule `index`, if one is found among flows
/// built from the rule (its first hosts and ports, each window's two ends, and
/// the candidate values of the columns its condition names; other columns
/// 1000).
fn witness(set: &RuleSet, index: usize) -> Option<String> {
    let rule = &set.rules[index];
    let host = |nets: &Option<Vec<super::rule::Cidr>>, fallback: &str| -> IpAddr {
        nets.as_ref()
            .map(|n| n[0].first_address())
            .unwrap_or_else(|| fallback.parse().unwrap())
    };
    let src = host(&rule.src, "10.99.99.99");
    let dst = host(&rule.dst, "10.88.88.88");
    // Ports: the rule's first, or ones its condition compares the port columns with.
    let port_constants = |wanted: &str| -> Vec<u16> {
        let Some(p) = &rule.predicate else {
            return Vec::new();
        };
        p.any_of
            .iter()
            .flatten()
            .filter(|c| columns::cic_name(&set.columns[c.column]).is_some_and(|n| n.name == wanted))
            .flat_map(|c| c.values.iter().map(|v| *v as u16))
            .collect()
    };
    let mut sports = vec![first_port(&rule.src_ports, &rule.src_ports_not)];
    sports.extend(port_constants("Src Port"));
    let mut dports = vec![first_port(&rule.dst_ports, &rule.dst_ports_not)];
    dports.extend(port_constants("Dst Port"));
    for &sport in &sports {
        for &dport in &dports {
            if let Some(found) = witness_with_ports(set, index, src, dst, sport, dport) {
                return Some(found);
            }
        }
    }
    None
}

fn witness_with_ports(
    set: &RuleSet,
    index: usize,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
) -> Option<String> {
    let rule = &set.rules[index];
    let protocol = rule.protocol.unwrap_or(6);
    let mentioned: Vec<usize> = (0..set.columns.len())
        .filter(|c| {
            rule.predicate
                .as_ref()
                .is_some_and(|p| p.any_of.iter().flatten().any(|x| x.column == *c))
        })
        .collect();
    let choices: Vec<Vec<f64>> = mentioned.iter().map(|&c| candidates(rule, c)).collect();
    let combinations: usize = choices.iter().map(Vec::len).product();
    for window in &rule.windows {
        for t_ns in [window.start_ns.unwrap(), window.end_ns.unwrap()] {
            for mut k in 0..combinations {
                let mut values = vec![Some(1000.0); set.columns.len()];
                for (i, &c) in mentioned.iter().enumerate() {
                    values[c] = Some(choices[i][k % choices[i].len()]);
                    k /= choices[i].len();
                }
                // Port and protocol columns hold the flow's own values.
                for (c, name) in set.columns.iter().enumerate() {
                    match columns::cic_name(name).map(|n| n.name) {
                        Some("Src Port") => values[c] = Some(f64::from(sport)),
                        Some("Dst Port") => values[c] = Some(f64::from(dport)),
                        Some("Protocol") => values[c] = Some(f64::from(protocol)),
                        _ => {}
                    }
                }
                let flow = FlowFacts {
                    src: Some(src),
                    dst: Some(dst),
                    src_port: Some(sport),
                    dst_port: Some(dport),
                    protocol: Some(protocol),
                    // Windows start on whole microseconds; an end like
                    // …999999999 ns is reached by its microsecond.
                    start_us: Some(t_ns.div_euclid(1_000)),
                    values: &values,
                };
                if let Verdict::Rule(i, _) = set.classify(&flow)
                    && i == index
                {
                    return Some(format!("{flow:?}"));
                }
            }
        }
    }
    None
}

#[test]
fn every_shipped_rule_can_label_a_flow() {
    for (name, set) in shipped() {
        let unreachable: Vec<&str> = (0..set.rules.len())
            .filter(|&i| witness(&set, i).is_none())
            .map(|i| set.rules[i].id.as_str())
            .collect();
        assert!(
            unreachable.is_empty(),
            "{name}: no flow is labelled by {unreachable:?}"
        );
    }
}

#[test]
fn shipped_sets_name_only_columns_the_cic_profile_has() {
    let cic: Vec<Column> = cic_columns(CicVocab::Cic, false)
        .into_iter()
        .map(|c| Column::Cic(CicVocab::Cic, c))
        .collect();
    let names: Vec<String> = cic.iter().map(|c| c.def().name).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let default = flowq_extract::batch::STANDARD_COLUMNS.to_vec();
    let default_names: Vec<String> = default.iter().map(|c| c.def().name).collect();
    let default_names: Vec<&str> = default_names.iter().map(String::as_str).collect();
    for (name, set) in shipped() {
        for column in &set.columns {
            let source = resolve(column, &cic, &names).unwrap_or_else(|e| panic!("{name}: {e}"));
            // The cic profile's own column, under the same CICFlowMeter name.
            assert_eq!(
                cic[source.index].def().name.trim().to_ascii_lowercase(),
                columns::cic_name(column).unwrap().name.to_ascii_lowercase(),
                "{name}: {column}"
            );
            assert_eq!(source.conversion, columns::Conversion::Same);
        }
        // The default profile lacks Fwd Packet Length Max (payload), which only
        // the CNS 2017 set needs, and the RST counts of the 2018 set.
        let on_default: Vec<Result<_, String>> = set
            .columns
            .iter()
            .map(|c| resolve(c, &default, &default_names))
            .collect();
        match name {
            "cic-ids2017-wtmc2021" => {
                assert!(on_default.iter().all(Result::is_ok), "{on_default:?}")
            }
            _ => assert!(
                on_default.iter().any(|r| r
                    .as_ref()
                    .is_err_and(|e| e.contains("this profile does not have"))),
                "{name}: {on_default:?}"
            ),
        }
    }
}

#[test]
fn docs_windows_tables_are_generated_from_the_rule_files() {
    let docs = std::fs::read_to_string(format!("{}/docs/datasets.md", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    for (name, set) in shipped() {
        let begin = format!(
            "<!-- windows {name} begin (generated from labels/{name}.toml; a test checks it) -->\n"
        );
        let end = format!("<!-- windows {name} end -->");
        let start = docs
            .find(&begin)
            .unwrap_or_else(|| panic!("docs/datasets.md has no `{}`", begin.trim()))
            + begin.len();
        let stop = start + docs[start..].find(&end).expect("end marker");
        let expected = windows_table(&set);
        assert!(
            docs[start..stop] == expected,
            "docs/datasets.md: the {name} windows table differs from the rule file; it should be:\n{expected}"
        );
    }
}

/// The map of CICFlowMeter names: each name and spelling resolves to the cic
/// profiles' column, and on the standard and full profiles to flowq's column
/// with the same value, with the unit converted where CICFlowMeter's differs.
#[test]
fn cicflowmeter_names_map_to_each_profiles_columns() {
    use columns::{CIC_NAMES, Conversion};
    use flowq_extract::batch::{Column, full_extra_columns};
    let names_of = |cols: &[Column]| -> Vec<String> { cols.iter().map(|c| c.def().name).collect() };
    let mut full = flowq_extract::batch::STANDARD_COLUMNS.to_vec();
    full.extend(full_extra_columns(false));
    let full_names = names_of(&full);
    let full_names: Vec<&str> = full_names.iter().map(String::as_str).collect();
    let expected = [
        ("Src Port", "src_port", Conversion::Same),
        ("Source Port", "src_port", Conversion::Same),
        ("Dst Port", "dst_port", Conversion::Same),
        ("Protocol", "protocol", Conversion::Same),
        ("Flow Duration", "duration", Conversion::SecondsToMicros),
        ("Total Fwd Packet", "fwd_pkt_count", Conversion::Same),
        ("Tot Fwd Pkts", "fwd_pkt_count", Conversion::Same),
        ("Total Backward Packets", "bwd_pkt_count", Conversion::Same),
        (
            "Total Length of Fwd Packet",
            "fwd_payload_bytes",
            Conversion::Same,
        ),
        (
            " Total Length of Fwd Packets",
            "fwd_payload_bytes",
            Conversion::Same,
        ),
        ("TotLen Bwd Pkts", "bwd_payload_bytes", Conversion::Same),
        ("Fwd RST Flags", "fwd_rst_count", Conversion::Same),
        ("Bwd RST Flags", "bwd_rst_count", Conversion::Same),
        // Not a CICFlowMeter name: a column of the profile itself.
        ("syn_count", "syn_count", Conversion::Same),
    ];
    for (cic, flowq, conversion) in expected {
        let source = resolve(cic, &full, &full_names).unwrap_or_else(|e| panic!("{cic}: {e}"));
        assert_eq!(
            (full_names[source.index], source.conversion),
            (flowq, conversion),
            "{cic}"
        );
    }
    let err = resolve("Fwd Packet Length Max", &full, &full_names).unwrap_err();
    assert!(err.contains("only the cic profiles have it"), "{err}");
    let err = resolve("Flow Colour", &full, &full_names).unwrap_err();
    assert!(err.contains("neither a column of this profile"), "{err}");
    // Every CICFlowMeter name resolves on each cic vocabulary that has the value
    // (cic2017 and cic2018 have no per-direction RST counts).
    for vocab in [CicVocab::Cic2017, CicVocab::Cic2018, CicVocab::Cic] {
        let cols: Vec<Column> = cic_columns(vocab, false)
            .into_iter()
            .map(|c| Column::Cic(vocab, c))
            .collect();
        let names = names_of(&cols);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        for c in CIC_NAMES {
            let found = resolve(c.name, &cols, &names);
            let rst = c.name.contains("RST");
            assert_eq!(
                found.is_ok(),
                !rst || vocab == CicVocab::Cic,
                "{vocab:?} {}: {found:?}",
                c.name
            );
        }
    }
    // Seconds to CICFlowMeter's floored microseconds, exact at the bounds the
    // rules use although 0.1998 s is 199799.99999999997 µs as a float.
    assert_eq!(Conversion::SecondsToMicros.apply(0.1998), 199_800.0);
    assert_eq!(Conversion::SecondsToMicros.apply(0.199_799_999), 199_799.0);
    assert_eq!(Conversion::SecondsToMicros.apply(5.05), 5_050_000.0);
    assert_eq!(Conversion::SecondsToMicros.apply(0.0), 0.0);
}

/// Each CNS window's UTC bounds equal the notebook's Unix values kept in its
/// comment (`# start … end`, nanoseconds, or seconds marked `s`): the
/// conversion of every window is checked, not only transcribed.
#[test]
fn cns_windows_equal_their_source_values() {
    for name in ["cic-ids2017", "cse-cic-ids2018"] {
        let set = RuleSet::load(std::path::Path::new(name), None).unwrap();
        let text = builtin::text(name).unwrap();
        let section = &text[text.find("[windows]").unwrap()..text.find("[[rule]]").unwrap()];
        let mut checked = 0;
        for line in section
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && l.contains(" = ["))
        {
            let window_name = line.split(" = ").next().unwrap().trim();
            let comment = line.split_once('#').expect("a source comment").1;
            // "A … B", "A … B s", "A … B ns" or "A s … B ns".
            let values: Vec<i64> = comment
                .split('…')
                .map(|part| {
                    let mut words = part.split_whitespace();
                    let number: i64 = words.next().unwrap().parse().unwrap();
                    match words.next() {
                        Some("s") => number * 1_000_000_000,
                        Some("ns") | None => number,
                        Some(other) => panic!("{name} {window_name}: unit {other}"),
                    }
                })
                .collect();
            // A bare pair shares the unit written after the second value.
            let values = if comment.trim_end().ends_with(" s") && !comment.contains(" s …") {
                vec![values[0] * 1_000_000_000, values[1]]
            } else {
                values
            };
            let window = set
                .windows
                .iter()
                .find(|w| w.name.as_deref() == Some(window_name))
                .unwrap();
            assert_eq!(
                (window.start_ns, window.end_ns),
                (Some(values[0]), Some(values[1])),
                "{name} window {window_name}"
            );
            checked += 1;
        }
        assert_eq!(checked, set.windows.len(), "{name}");
    }
}

/// Each WTMC window is the script's local window (in its comment, New
/// Brunswick summer time, UTC-3) moved by +3 h, its end extended to the last
/// nanosecond of the whole second the script's timestamps could not resolve.
#[test]
fn wtmc_windows_equal_the_scripts_local_windows() {
    let name = "cic-ids2017-wtmc2021";
    let set = RuleSet::load(std::path::Path::new(name), None).unwrap();
    let text = builtin::text(name).unwrap();
    let section = &text[text.find("[windows]").unwrap()..text.find("[[rule]]").unwrap()];
    let mut checked = 0;
    for line in section
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains(" = ["))
    {
        let window_name = line.split(" = ").next().unwrap().trim();
        // "# 04/07 09:17:00-10:30:00 ..."
        let comment = line.split_once('#').unwrap().1.trim();
        let (day, times) = comment.split_once(' ').unwrap();
        let times = times.split_whitespace().next().unwrap();
        let (from, to) = times.split_once('-').unwrap();
        let (dd, mm) = day.split_once('/').unwrap();
        let local = |hms: &str| ns(&format!("2017-{mm}-{dd}T{hms}-03:00"));
        let window = set
            .windows
            .iter()
            .find(|w| w.name.as_deref() == Some(window_name))
            .unwrap();
        assert_eq!(
            (window.start_ns, window.end_ns),
            (Some(local(from)), Some(local(to) + 999_999_999)),
            "{window_name}"
        );
        checked += 1;
    }
    assert_eq!(checked, 14);
    assert_eq!(set.windows.len(), 14);
}

fn ns(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_nanos_opt()
        .unwrap()
}
