//! Label rules read, checked and applied to flows.

use super::parse::parse_toml;
use super::*;
use chrono::DateTime;

fn flow(src: &str, dst: &str, sport: u16, dport: u16, proto: u8, t: i64) -> FlowFacts<'static> {
    FlowFacts {
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        src_port: Some(sport),
        dst_port: Some(dport),
        protocol: Some(proto),
        start_us: Some(t),
        values: &[],
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
    let parsed = parse_toml(text, "rules.toml").unwrap();
    let rules = parsed.rules;
    assert_eq!(parsed.default_label.as_deref(), Some("normal"));
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
    assert!(set.unmatched_warnings(&[1, 0], &[1, 0])[0].contains("line 7"));
}

#[test]
fn unmatched_rules_are_warned_with_their_line() {
    let set = RuleSet::from_csv_text(RULES).unwrap();
    let warnings = set.unmatched_warnings(&[3, 0], &[3, 0]);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("line 4"), "{}", warnings[0]);
    // A rule that matched flows but labelled none is reported too.
    let warnings = set.unmatched_warnings(&[3, 2], &[3, 0]);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("matched 2 flows but labelled none"),
        "{}",
        warnings[0]
    );
}

// ---------------------------------------------------------------------------
// The rule language of the CIC rule sets: sets, named windows, "not in" port
// lists, inclusive nanosecond windows, conditions, categories, order.
// ---------------------------------------------------------------------------

fn ns(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_nanos_opt()
        .unwrap()
}

fn toml_set(text: &str) -> RuleSet {
    RuleSet::from_text(text, "rules.toml", true, None).unwrap()
}

fn winner(set: &RuleSet, flow: &FlowFacts) -> Option<String> {
    match set.classify(flow) {
        Verdict::Rule(_, rule) => Some(rule.id.clone()),
        Verdict::Default => None,
    }
}

const LANGUAGE: &str = r#"
order = "last-match"
window_end = "inclusive"
direction = "forward"
default_category = -1

[sets]
attacker = "172.16.0.1"
victims = ["192.168.10.50", "192.168.10.0/30"]
artefacts = [33358, "33360-33362"]

[windows]
HK1 = ["2017-07-05T13:43:23.194704Z", "2017-07-05T13:44:59.999999999Z"]
HK2 = ["2017-07-05T13:45:00Z", "2017-07-05T14:07:21.326171Z"]

[[rule]]
name = "attack"
label = "DoS"
window = ["HK1", "HK2"]
src = "@attacker"
dst = "@victims"
src_port_not = "@artefacts"
dst_port = 80

[[rule]]
name = "no-payload"
label = "DoS - Attempted"
category = 0
window = "HK1"
src = "@attacker"
dst = "@victims"
dst_port = 80
where = "Total Length of Fwd Packet == 0"

[[rule]]
name = "reversed"
label = "DoS - Attempted"
category = 6
window = "HK2"
src = "@victims"
dst = "@attacker"
src_port = 80
where = "Total Length of Bwd Packet == 0 and Flow Duration >= 199800 or Total Bwd packets in [5, 7]"
"#;

/// Values in the order of `set.columns`, by name.
fn values(set: &RuleSet, named: &[(&str, f64)]) -> Vec<Option<f64>> {
    set.columns
        .iter()
        .map(|c| named.iter().find(|(n, _)| n == c).map(|(_, v)| *v))
        .collect()
}

fn facts<'v>(
    src: &str,
    dst: &str,
    sport: u16,
    dport: u16,
    t_us: i64,
    values: &'v [Option<f64>],
) -> FlowFacts<'v> {
    FlowFacts {
        values,
        ..flow(src, dst, sport, dport, 6, t_us)
    }
}

#[test]
fn sets_windows_and_not_in_ports() {
    let set = toml_set(LANGUAGE);
    assert_eq!(set.order, Order::LastMatch);
    assert!(set.has_categories());
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    assert_eq!(
        set.columns,
        [
            "Total Length of Fwd Packet",
            "Total Length of Bwd Packet",
            "Flow Duration",
            "Total Bwd packets"
        ]
    );
    let v = values(&set, &[("Total Length of Fwd Packet", 300.0)]);
    let t = ns("2017-07-05T13:50:00Z") / 1_000;
    let at = |src, dst, sport| facts(src, dst, sport, 80, t, &v);
    assert_eq!(
        winner(&set, &at("172.16.0.1", "192.168.10.50", 40000)).as_deref(),
        Some("attack")
    );
    // A network of the set (192.168.10.0/30 holds .3, not .4).
    assert_eq!(
        winner(&set, &at("172.16.0.1", "192.168.10.3", 40000)).as_deref(),
        Some("attack")
    );
    assert_eq!(winner(&set, &at("172.16.0.1", "192.168.10.4", 40000)), None);
    // "not in": the single port and the range of the set.
    for sport in [33358, 33360, 33361, 33362] {
        assert_eq!(
            winner(&set, &at("172.16.0.1", "192.168.10.50", sport)),
            None,
            "{sport}"
        );
    }
    assert_eq!(
        winner(&set, &at("172.16.0.1", "192.168.10.50", 33359)).as_deref(),
        Some("attack")
    );
    // Forward only: the reply direction of the same hosts is not the attack.
    assert_eq!(
        winner(
            &set,
            &facts("192.168.10.50", "172.16.0.1", 80, 40000, t, &v)
        ),
        None
    );
    // A flow without ports is not "not in" a port list either.
    let no_port = FlowFacts {
        src_port: None,
        ..at("172.16.0.1", "192.168.10.50", 1)
    };
    assert_eq!(winner(&set, &no_port), None);
}

#[test]
fn inclusive_windows_at_the_nanosecond() {
    let set = toml_set(LANGUAGE);
    let v = values(&set, &[("Total Length of Fwd Packet", 0.0)]);
    let at = |t_us| {
        winner(
            &set,
            &facts("172.16.0.1", "192.168.10.50", 40000, 80, t_us, &v),
        )
    };
    let us = |s| ns(s) / 1_000;
    // HK1 starts at .194704 s exactly (inclusive): the first microsecond is in.
    assert_eq!(
        at(us("2017-07-05T13:43:23.194704Z")).as_deref(),
        Some("no-payload")
    );
    assert_eq!(at(us("2017-07-05T13:43:23.194703Z")), None);
    // HK1 ends at .999999999 s: the last microsecond (…999999000 ns) is in HK1,
    // where the payload rule applies; 13:45:00 exactly is HK2, where it does not.
    assert_eq!(
        at(us("2017-07-05T13:44:59.999999Z")).as_deref(),
        Some("no-payload")
    );
    assert_eq!(at(us("2017-07-05T13:45:00Z")).as_deref(), Some("attack"));
    // HK2's end is inclusive; one microsecond later is outside.
    assert_eq!(
        at(us("2017-07-05T14:07:21.326171Z")).as_deref(),
        Some("attack")
    );
    assert_eq!(at(us("2017-07-05T14:07:21.326172Z")), None);
    // The same window with an exclusive end (the default) leaves the end out.
    let exclusive = toml_set(
        "[[rule]]\nlabel = \"x\"\nstart = \"2017-07-05T13:45:00Z\"\nend = \"2017-07-05T14:07:21.326171Z\"\n",
    );
    let flow_at = |t_us| flow("10.0.0.1", "10.0.0.2", 1, 2, 6, t_us);
    assert!(matches!(
        exclusive.classify(&flow_at(us("2017-07-05T14:07:21.326171Z"))),
        Verdict::Default
    ));
    assert!(matches!(
        exclusive.classify(&flow_at(us("2017-07-05T14:07:21.32617Z"))),
        Verdict::Rule(..)
    ));
}

#[test]
fn conditions_and_last_match_overrides() {
    let set = toml_set(LANGUAGE);
    let hk1 = ns("2017-07-05T13:44:00Z") / 1_000;
    let hk2 = ns("2017-07-05T13:50:00Z") / 1_000;
    // In HK1, a flow without forward payload matches "attack" and "no-payload":
    // the last wins, and both are counted as matched.
    let v = values(&set, &[("Total Length of Fwd Packet", 0.0)]);
    let f = facts("172.16.0.1", "192.168.10.50", 40000, 80, hk1, &v);
    let mut matched = Vec::new();
    let verdict = set.classify_into(&f, &mut matched);
    assert!(matches!(verdict, Verdict::Rule(1, r) if r.category == Some(0)));
    assert_eq!(matched, [0, 1]);
    let mut counts = LabelCounts::new(&set);
    counts.count("DoS - Attempted", Some(1), &matched);
    assert_eq!(
        (counts.multiply_matched, counts.hits_per_rule.clone()),
        (1, vec![1, 1, 0])
    );
    assert_eq!(counts.overrides.get(&(1, 0)), Some(&1));
    // The same flow with payload: only "attack".
    let v = values(&set, &[("Total Length of Fwd Packet", 1.0)]);
    let f = facts("172.16.0.1", "192.168.10.50", 40000, 80, hk1, &v);
    assert_eq!(winner(&set, &f).as_deref(), Some("attack"));
    // A null value passes no comparison (not even ==), so no guess is made.
    let v = values(&set, &[]);
    let f = facts("172.16.0.1", "192.168.10.50", 40000, 80, hk1, &v);
    assert_eq!(winner(&set, &f).as_deref(), Some("attack"));
    // `and` binds tighter than `or`: (bwd == 0 and duration >= 199800) or bwd pkts in [5, 7].
    let reversed = |named: &[(&str, f64)]| {
        let v = values(&set, named);
        winner(
            &set,
            &facts("192.168.10.50", "172.16.0.1", 80, 40000, hk2, &v),
        )
    };
    let bwd0 = ("Total Length of Bwd Packet", 0.0);
    assert_eq!(
        reversed(&[bwd0, ("Flow Duration", 199800.0)]).as_deref(),
        Some("reversed")
    );
    assert_eq!(reversed(&[bwd0, ("Flow Duration", 199799.0)]), None);
    assert_eq!(
        reversed(&[("Total Bwd packets", 7.0)]).as_deref(),
        Some("reversed")
    );
    assert_eq!(reversed(&[("Total Bwd packets", 6.0)]), None);
    // The same rules in first-match order: the first matching rule labels.
    let first = toml_set(&LANGUAGE.replace("last-match", "first-match"));
    let v = values(&first, &[("Total Length of Fwd Packet", 0.0)]);
    let f = facts("172.16.0.1", "192.168.10.50", 40000, 80, hk1, &v);
    assert_eq!(winner(&first, &f).as_deref(), Some("attack"));
}

#[test]
fn condition_syntax() {
    let mut names = super::predicate::ColumnNames::default();
    let p = super::predicate::Predicate::parse(
        "`Fwd Packet Length Max` != 408 and Total Length of Fwd Packet not in [176, 20514] OR Protocol = 17",
        &mut names,
    )
    .unwrap();
    assert_eq!(
        names.0,
        [
            "Fwd Packet Length Max",
            "Total Length of Fwd Packet",
            "Protocol"
        ]
    );
    assert_eq!(p.any_of.len(), 2);
    assert_eq!(
        p.display(&names.0),
        "Fwd Packet Length Max != 408 and Total Length of Fwd Packet not in [176, 20514] or Protocol == 17"
    );
    assert!(p.holds(&[Some(407.0), Some(175.0), Some(6.0)]));
    assert!(!p.holds(&[Some(408.0), Some(175.0), Some(6.0)]));
    assert!(!p.holds(&[Some(407.0), Some(20514.0), Some(6.0)]));
    assert!(p.holds(&[Some(408.0), Some(176.0), Some(17.0)]));
    for (text, needle) in [
        ("Flow Duration", "no comparison"),
        ("== 3", "names no column"),
        ("Flow Duration >= soon", "not a number"),
        ("Flow Duration in 3", "takes a list"),
        ("Flow Duration in []", "empty"),
        ("Flow Duration > inf", "not a number"),
    ] {
        let err = super::predicate::Predicate::parse(text, &mut names).unwrap_err();
        assert!(format!("{err:#}").contains(needle), "{text}: {err:#}");
    }
}

#[test]
fn rule_file_errors_name_the_problem() {
    for (text, needle) in [
        (
            "[[rule]]\nlabel = \"x\"\nsrc = \"@nobody\"\n",
            "no set `nobody`",
        ),
        ("[[rule]]\nlabel = \"x\"\nwindow = \"W\"\n", "no window `W`"),
        (
            "[windows]\nW = [\"2017-07-05T13:45:00Z\"]\n",
            "[start, end]",
        ),
        (
            "[windows]\nW = [\"2017-07-05T13:45:00Z\", \"2017-07-05T13:44:00Z\"]\n",
            "ends before",
        ),
        ("order = \"random\"\n", "first-match"),
        ("window_end = \"maybe\"\n", "inclusive"),
        ("[sets]\na = \"@b\"\n", "another set"),
        (
            "[windows]\nW = [\"2017-07-05T13:45:00Z\", \"2017-07-05T13:46:00Z\"]\n[[rule]]\nlabel = \"x\"\nwindow = \"W\"\nstart = 0\n",
            "not both",
        ),
        (
            "[[rule]]\nlabel = \"x\"\nwhere = \"Flow Duration ~ 3\"\n",
            "no comparison",
        ),
    ] {
        let err = RuleSet::from_text(text, "r.toml", true, None).unwrap_err();
        assert!(format!("{err:#}").contains(needle), "{text:?}: {err:#}");
    }
}

#[test]
fn unix_seconds_keep_nanoseconds() {
    // As a float, 1499262299.999999999 would round to 1499262300 s.
    let set = RuleSet::from_csv_text("label,start,end\nx,1499262203.194704,1499262299.999999999\n")
        .unwrap();
    let w = &set.rules[0].windows[0];
    assert_eq!(w.start_ns, Some(1_499_262_203_194_704_000));
    assert_eq!(w.end_ns, Some(1_499_262_299_999_999_999));
    assert_eq!(w.end_ns, Some(ns("2017-07-05T13:44:59.999999999Z")));
    // CSV files can use the new columns too.
    let set = RuleSet::from_csv_text(
        "label,category,src_port_not,where\nx,4,80;443,\"Total Fwd Packet in [5, 6]\"\n",
    )
    .unwrap();
    assert_eq!(set.rules[0].category, Some(4));
    assert_eq!(set.columns, ["Total Fwd Packet"]);
}
