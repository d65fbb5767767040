//! Label rules read, checked and applied to flows.

use super::parse::parse_toml;
use super::*;
use chrono::DateTime;

fn flow(src: &str, dst: &str, sport: u16, dport: u16, proto: u8, t: i64) -> FlowFacts {
    FlowFacts {
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        src_port: Some(sport),
        dst_port: Some(dport),
        protocol: Some(proto),
        start_us: Some(t),
    }
}

const RULES: &str = "\
# attacker 172.16.0.1 against the web server, in the attack window
label,src,dst,dst_port,protocol,start,end
DoS Hulk,172.16.0.1,192.168.10.50,80,tcp,2017-07-05T09:47:00-03:00,2017-07-05T10:10:00-03:00
PortScan,172.16.0.1,192.168.10.0/24,,,2017-07-05T10:10:00-03:00,2017-07-05T11:00:00-03:00
";

fn us(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_micros()
}

#[test]
fn first_matching_rule_wins_in_either_direction() {
    let set = RuleSet::from_csv_text(RULES).unwrap();
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let t = us("2017-07-05T09:50:00-03:00");
    let attack = flow("172.16.0.1", "192.168.10.50", 40000, 80, 6, t);
    assert!(matches!(set.classify(&attack), Verdict::Rule(0, r) if r.id == "rules.csv:3"));
    // The victim opened the connection: still the attack (direction either).
    let reverse = flow("192.168.10.50", "172.16.0.1", 80, 40000, 6, t);
    assert!(matches!(set.classify(&reverse), Verdict::Rule(0, _)));
    // Wrong port, wrong protocol, before the window, other host: benign.
    for f in [
        flow("172.16.0.1", "192.168.10.50", 40000, 443, 6, t),
        flow("172.16.0.1", "192.168.10.50", 40000, 80, 17, t),
        flow(
            "172.16.0.1",
            "192.168.10.50",
            40000,
            80,
            6,
            t - 3_600_000_000,
        ),
        flow("172.16.0.2", "192.168.10.50", 40000, 80, 6, t),
    ] {
        assert!(matches!(set.classify(&f), Verdict::Default), "{f:?}");
    }
    // The window is [start, end): the end instant belongs to the next rule.
    let boundary = flow(
        "172.16.0.1",
        "192.168.10.9",
        1,
        22,
        6,
        us("2017-07-05T10:10:00-03:00"),
    );
    assert!(matches!(set.classify(&boundary), Verdict::Rule(1, _)));
}

#[test]
fn forward_rules_do_not_match_reversed_flows() {
    let set =
        RuleSet::from_csv_text("label,src,dst,direction\nX,10.0.0.1,10.0.0.2,forward\n").unwrap();
    assert!(matches!(
        set.classify(&flow("10.0.0.1", "10.0.0.2", 1, 2, 6, 0)),
        Verdict::Rule(..)
    ));
    assert!(matches!(
        set.classify(&flow("10.0.0.2", "10.0.0.1", 2, 1, 6, 0)),
        Verdict::Default
    ));
}

#[test]
fn disagreeing_overlaps_are_reported() {
    let text =
        "label,src,start,end\nA,10.0.0.0/8,0,100\nB,10.1.0.0/16,50,150\nA,10.2.0.0/16,0,10\n";
    let set = RuleSet::from_csv_text(text).unwrap();
    assert_eq!(set.warnings.len(), 1, "{:?}", set.warnings);
    assert!(
        set.warnings[0].contains("lines 2 (A) and 3 (B)"),
        "{}",
        set.warnings[0]
    );
    // Windows that only touch do not overlap.
    let set = RuleSet::from_csv_text("label,src,start,end\nA,10.0.0.1,0,100\nB,10.0.0.1,100,200\n")
        .unwrap();
    assert!(set.warnings.is_empty());
}

#[test]
fn syntax_errors_name_the_line() {
    for (text, needle) in [
        ("label,src\nA,10.0.0.300\n", "line 2"),
        ("label,src\nA,10.0.0.1/33\n", "prefix length"),
        ("label,dst_port\nA,99999\n", "not a port"),
        ("label,start\nA,2017-07-05 09:47:00\n", "no UTC offset"),
        ("label,colour\nA,red\n", "unknown column"),
        ("src\n10.0.0.1\n", "no `label`"),
        ("label,start,end\nA,10,5\n", "ends before"),
        ("label,src\nA,10.0.0.1/8\n", "host bits"),
        ("label,protocol\nA,bogus\n", "protocol"),
    ] {
        let err = format!("{:#}", RuleSet::from_csv_text(text).unwrap_err());
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn toml_rules_read_like_csv_rules() {
    let text = r#"
default_label = "normal"

[[rule]]
label = "DoS Hulk"
src = "172.16.0.1"
dst = ["192.168.10.50", "192.168.10.51"]
dst_port = [80, "8080-8090"]
protocol = "tcp"
start = 2017-07-05T09:47:00-03:00
end = "2017-07-05T10:10:00-03:00"

[[rule]]
name = "scan"
label = "PortScan"
src = "172.16.0.1"
"#;
    let (rules, default) = parse_toml(text, "rules.toml").unwrap();
    assert_eq!(default.as_deref(), Some("normal"));
    assert_eq!(rules.len(), 2);
    assert_eq!((rules[0].line, rules[0].id.as_str()), (4, "rules.toml:4"));
    assert_eq!(rules[1].id, "scan");
    let t = us("2017-07-05T09:50:00-03:00");
    assert!(rules[0].matches(&flow("192.168.10.51", "172.16.0.1", 80, 5, 6, t)));
    assert!(rules[0].matches(&flow("172.16.0.1", "192.168.10.50", 5, 8085, 6, t)));
    assert!(!rules[0].matches(&flow("172.16.0.1", "192.168.10.50", 5, 81, 6, t)));
    assert!(parse_toml("[[rule]]\nlabel = \"x\"\ncolour = 1\n", "r.toml").is_err());
}

#[test]
fn line_numbers_count_comments_and_blank_lines() {
    let text =
        "# rules\nlabel,src,start,end\n\nA,10.0.0.1,0,100\n# a comment\n\nB,10.0.0.1,50,150\n";
    let set = RuleSet::from_csv_text(text).unwrap();
    let lines: Vec<usize> = set.rules.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 7]);
    assert_eq!(set.rules[1].id, "rules.csv:7");
    assert!(
        set.warnings[0].contains("lines 4 (A) and 7 (B)"),
        "{}",
        set.warnings[0]
    );
    assert!(set.unmatched_warnings(&[1, 0])[0].contains("line 7"));
}

#[test]
fn unmatched_rules_are_warned_with_their_line() {
    let set = RuleSet::from_csv_text(RULES).unwrap();
    let warnings = set.unmatched_warnings(&[3, 0]);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("line 4"), "{}", warnings[0]);
}
