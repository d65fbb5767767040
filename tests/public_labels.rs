//! The built-in rule sets for CIC-IDS2017 and CSE-CIC-IDS2018 (issue 19,
//! docs/datasets.md "Rebuilding CIC-IDS2017 and CSE-CIC-IDS2018") on captures
//! built at their windows with the datasets' attacker and victim addresses.
//! Every expected label, rule and category is worked out by hand from the rule
//! files (labels/*.toml) and the packets below; the real captures are not on
//! this machine.

use crate::util::capture::{LINKTYPE_ETHERNET, Pkt, eth, flags, ip4_tcp, ip4_udp, write_pcap};
use crate::util::flowq_in;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

/// Microseconds since the epoch of an RFC 3339 UTC time.
fn us(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_micros()
}

fn tcp(t_us: i64, src: ([u8; 4], u16), dst: ([u8; 4], u16), tcp_flags: u8, payload: usize) -> Pkt {
    Pkt::new(
        t_us,
        eth(&ip4_tcp(src, dst, tcp_flags, &vec![b'x'; payload])),
    )
}

fn udp(t_us: i64, src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: usize) -> Pkt {
    Pkt::new(t_us, eth(&ip4_udp(src, dst, &vec![b'x'; payload])))
}

#[track_caller]
fn run(dir: &Path, args: &[&str], code: i32) -> Output {
    let out = flowq_in(dir, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "flowq {args:?}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// (Src IP, Src Port, Dst Port) → (Label, label_rule, label_category) of a
/// CSV written by the cic profile.
type Labels = BTreeMap<(String, String, String), (String, String, String)>;

fn labels_of(path: &Path) -> Labels {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap_or(usize::MAX);
    let (src, sport, dport) = (at("Src IP"), at("Src Port"), at("Dst Port"));
    let (label, rule, category) = (at("Label"), at("label_rule"), at("label_category"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let get = |i: usize| r.get(i).unwrap_or("(none)").to_string();
            (
                (get(src), get(sport), get(dport)),
                (get(label), get(rule), get(category)),
            )
        })
        .collect()
}

fn key(src: &str, sport: u16, dport: u16) -> (String, String, String) {
    (src.to_string(), sport.to_string(), dport.to_string())
}

fn want(label: &str, rule: &str, category: &str) -> (String, String, String) {
    (label.to_string(), rule.to_string(), category.to_string())
}

const ATT: [u8; 4] = [172, 16, 0, 1];
const VIC: [u8; 4] = [192, 168, 10, 50];

/// CNS 2022, CIC-IDS2017: plain rules, Attempted by payload, a port list,
/// last-match overrides, the HK1/HK2 edge at the nanosecond, a window start,
/// and the reversed rule with its duration bound.
#[test]
fn cic_ids2017_cns_rules_on_built_flows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ftp = us("2017-07-04T12:17:52.838272Z"); // FTP window start
    let sl = us("2017-07-05T12:50:00Z"); // inside SL
    let mut packets = vec![
        // At the FTP window's first microsecond, with payload: FTP-Patator (#1).
        tcp(ftp, (ATT, 40001), (VIC, 21), flags::SYN, 0),
        tcp(
            ftp + 1_000,
            (ATT, 40001),
            (VIC, 21),
            flags::PSH | flags::ACK,
            10,
        ),
        // One microsecond earlier: outside, BENIGN.
        tcp(ftp - 1, (ATT, 40000), (VIC, 21), flags::SYN, 0),
        tcp(
            ftp + 1_000,
            (ATT, 40000),
            (VIC, 21),
            flags::PSH | flags::ACK,
            10,
        ),
        // No forward payload: #1 and #2 match, the last (#2) labels, category 0.
        tcp(ftp + 10_000, (ATT, 40002), (VIC, 21), flags::SYN, 0),
        // Source port 52108 without payload: #1, #2 and #3 match; #3 (category 2).
        tcp(ftp + 20_000, (ATT, 52108), (VIC, 21), flags::SYN, 0),
        // Hulk artefact port 48678 with 300 bytes: at 13:44:59.999999 it is in
        // HK1 (which ends at .999999999): #19, category 4; at 13:45:00 it is in
        // HK2: #20, DoS Hulk (HK2 has no port exclusion; #21/#22 exclude the port).
        tcp(
            us("2017-07-05T13:44:59.999999Z"),
            (ATT, 48678),
            (VIC, 80),
            flags::PSH | flags::ACK,
            300,
        ),
        tcp(
            us("2017-07-05T13:45:00Z"),
            (ATT, 43664),
            (VIC, 80),
            flags::PSH | flags::ACK,
            300,
        ),
        // 100 bytes from a normal port in HK: #20 and #22 (0 < bytes < 282): #22, category 3.
        tcp(
            us("2017-07-05T13:50:00Z"),
            (ATT, 40030),
            (VIC, 80),
            flags::PSH | flags::ACK,
            100,
        ),
        // The victim's packets only, from port 80, 199800 µs apart: the reversed
        // rule #11 (bwd bytes 0, duration >= 199800), category 6; 199799 µs: no rule.
        tcp(sl, (VIC, 80), (ATT, 40040), flags::ACK, 0),
        tcp(sl + 199_800, (VIC, 80), (ATT, 40040), flags::ACK, 0),
        tcp(sl, (VIC, 80), (ATT, 40041), flags::ACK, 0),
        tcp(sl + 199_799, (VIC, 80), (ATT, 40041), flags::ACK, 0),
        // The teardown port list {33358, 33360, 33362}: #9, category 2.
        tcp(
            sl + 1_000_000,
            (ATT, 33360),
            (VIC, 80),
            flags::PSH | flags::ACK,
            50,
        ),
        // Port 33359 is in no list: #8, DoS Slowloris.
        tcp(
            sl + 1_000_000,
            (ATT, 33359),
            (VIC, 80),
            flags::PSH | flags::ACK,
            50,
        ),
        // Monday traffic between the same hosts: no window, BENIGN.
        tcp(
            us("2017-07-03T14:00:00Z"),
            (ATT, 40050),
            (VIC, 80),
            flags::PSH | flags::ACK,
            50,
        ),
    ];
    packets.sort_by_key(|p| p.ts_ns);
    write_pcap(&dir.join("2017.pcap"), LINKTYPE_ETHERNET, false, &packets);
    let args = [
        "extract",
        "2017.pcap",
        "-o",
        "flows.csv",
        "--profile",
        "cic",
        "--labels",
        "cic-ids2017",
    ];
    let out = run(dir, &args, 0);
    let got = labels_of(&dir.join("flows.csv"));
    let a = "172.16.0.1";
    let v = "192.168.10.50";
    let expected: Labels = [
        (key(a, 40001, 21), want("FTP-Patator", "ftp-patator", "-1")),
        (key(a, 40000, 21), want("BENIGN", "", "-1")),
        (
            key(a, 40002, 21),
            want("FTP-Patator - Attempted", "ftp-patator-no-payload", "0"),
        ),
        (
            key(a, 52108, 21),
            want("FTP-Patator - Attempted", "ftp-patator-port-52108", "2"),
        ),
        (
            key(a, 48678, 80),
            want("DoS Hulk - Attempted", "hulk-1-artefact-ports", "4"),
        ),
        (key(a, 43664, 80), want("DoS Hulk", "hulk-2", "-1")),
        (
            key(a, 40030, 80),
            want("DoS Hulk - Attempted", "hulk-appendix", "3"),
        ),
        (
            key(v, 80, 40040),
            want(
                "DoS Slowloris - Attempted",
                "slowloris-unresponsive-reversed",
                "6",
            ),
        ),
        (key(v, 80, 40041), want("BENIGN", "", "-1")),
        (
            key(a, 33360, 80),
            want("DoS Slowloris - Attempted", "slowloris-teardown", "2"),
        ),
        (key(a, 33359, 80), want("DoS Slowloris", "slowloris", "-1")),
        (key(a, 40050, 80), want("BENIGN", "", "-1")),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, expected);
    // The report: per rule, flows matched and labelled; the overrides.
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "flows matched more than one rule (the last labels them)",
        "ftp-patator-port-52108 over ftp-patator-no-payload",
    ] {
        assert!(stderr.contains(needle), "{needle}\n{stderr}");
    }
    let line = stderr
        .lines()
        .find(|l| l.contains("rule ftp-patator "))
        .unwrap_or_else(|| panic!("{stderr}"));
    // #1 matched 40001, 40002 and 52108, and labelled only 40001.
    let numbers: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(numbers[2..6], ["matched", "3", "labelled", "1"], "{line}");
}

/// The same set needs `Fwd Packet Length Max` (payload), which only the cic
/// profiles have: the standard profile is refused before anything is read.
#[test]
fn a_profile_without_a_rule_column_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_pcap(
        &dir.join("x.pcap"),
        LINKTYPE_ETHERNET,
        false,
        &[tcp(0, (ATT, 1), (VIC, 2), flags::SYN, 0)],
    );
    let args = [
        "extract",
        "x.pcap",
        "-o",
        "x.csv",
        "--labels",
        "cic-ids2017",
    ];
    let out = run(dir, &args, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Fwd Packet Length Max") && stderr.contains("only the cic profiles"),
        "{stderr}"
    );
    assert!(!dir.join("x.csv").exists());
    // A name that is neither a file nor a built-in set.
    let out = run(
        dir,
        &[
            "extract",
            "x.pcap",
            "-o",
            "y.csv",
            "--labels",
            "cic-ids2019",
        ],
        2,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("built-in sets are cic-ids2017"));
}

/// CNS 2022, CSE-CIC-IDS2018: conditions on RST counts and duration, and the
/// Botnet Ares rule that matches the host on either side; in a dataset, with
/// the set's provenance and per-rule counts in the manifest.
#[test]
fn cse_cic_ids2018_rst_duration_and_either_direction() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ge = us("2018-02-15T13:30:00Z");
    let goldeneye = [18, 219, 211, 138];
    let v25 = [172, 31, 69, 25];
    let ares = [18, 219, 211, 138];
    let inside = [172, 31, 69, 10];
    let ba = us("2018-03-02T15:00:00Z");
    let s = 1_000_000;
    let mut packets = vec![
        // Payload, then the attacker's RST after 1 s (< 5.05 s): #6, category 4.
        tcp(ge, (goldeneye, 40001), (v25, 80), flags::SYN, 0),
        tcp(
            ge + 1_000,
            (goldeneye, 40001),
            (v25, 80),
            flags::PSH | flags::ACK,
            100,
        ),
        tcp(ge + s, (goldeneye, 40001), (v25, 80), flags::RST, 0),
        // The same with the RST after 6 s: #5 by its duration, DoS GoldenEye.
        tcp(ge, (goldeneye, 40002), (v25, 80), flags::SYN, 0),
        tcp(
            ge + 1_000,
            (goldeneye, 40002),
            (v25, 80),
            flags::PSH | flags::ACK,
            100,
        ),
        tcp(ge + 6 * s, (goldeneye, 40002), (v25, 80), flags::RST, 0),
        // No RST at all: #5 by its RST count, DoS GoldenEye.
        tcp(
            ge,
            (goldeneye, 40003),
            (v25, 80),
            flags::PSH | flags::ACK,
            100,
        ),
        // A host inside talking to the Ares server: #68 matches it as Dst
        // (either direction), with payload: Botnet Ares.
        tcp(
            ba,
            (inside, 50000),
            (ares, 8080),
            flags::PSH | flags::ACK,
            20,
        ),
        // No payload either way: #70, category 0.
        tcp(ba, (inside, 50001), (ares, 8080), flags::SYN, 0),
        // UDP from the same host elsewhere: BENIGN.
        udp(ba, (inside, 5353), ([8, 8, 8, 8], 53), 30),
    ];
    packets.sort_by_key(|p| p.ts_ns);
    write_pcap(&dir.join("2018.pcap"), LINKTYPE_ETHERNET, false, &packets);
    let args = [
        "extract",
        "2018.pcap",
        "-o",
        "ds/",
        "--format",
        "csv",
        "--profile",
        "cic",
        "--labels",
        "cse-cic-ids2018",
        "-q",
    ];
    run(dir, &args, 0);
    let got = labels_of(&dir.join("ds/capture=2018.pcap/flows.csv"));
    let g = "18.219.211.138";
    let i = "172.31.69.10";
    let expected: Labels = [
        (
            key(g, 40001, 80),
            want("DoS GoldenEye - Attempted", "goldeneye-reset-early", "4"),
        ),
        (key(g, 40002, 80), want("DoS GoldenEye", "goldeneye", "-1")),
        (key(g, 40003, 80), want("DoS GoldenEye", "goldeneye", "-1")),
        (
            key(i, 50000, 8080),
            want("Botnet Ares", "botnet-ares", "-1"),
        ),
        (
            key(i, 50001, 8080),
            want("Botnet Ares - Attempted", "botnet-ares-empty", "0"),
        ),
        (key(i, 5353, 53), want("BENIGN", "", "-1")),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, expected);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("ds/_dataset.json")).unwrap()).unwrap();
    let recorded = &manifest["options"]["transform"]["labels"];
    assert_eq!(recorded["name"], "cse-cic-ids2018");
    assert_eq!(recorded["version"], "cns2022-f0ce502");
    assert_eq!(recorded["built_in"], true);
    assert_eq!(recorded["order"], "last-match");
    let text = std::fs::read(crate::util::repo_root().join("labels/cse-cic-ids2018.toml")).unwrap();
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(recorded["sha256"], hex.as_str());
    let rules = manifest["label_rules"]["rules"].as_array().unwrap();
    let by_name = |n: &str| rules.iter().find(|r| r["rule"] == n).unwrap().clone();
    // goldeneye matched 40002 and 40003; goldeneye-reset-early 40001.
    assert_eq!(
        (
            by_name("goldeneye")["matched"].as_u64(),
            by_name("goldeneye")["labelled"].as_u64()
        ),
        (Some(2), Some(2))
    );
    // botnet-ares matched both Ares flows and labelled one (#70 took the other).
    let ares_rule = by_name("botnet-ares");
    assert_eq!(
        (
            ares_rule["matched"].as_u64(),
            ares_rule["labelled"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(manifest["label_rules"]["multiply_matched"], 1);
    assert!(manifest["warnings"].as_array().unwrap().iter().any(|w| {
        w.as_str()
            .unwrap()
            .contains("(ssh-brute-force, label SSH-BruteForce) matched no flow")
    }));
}

/// WTMC 2021 (first match): the payload filter applies to TCP only, and a
/// window ending at 10:30:00 local keeps flows of that whole second.
#[test]
fn cic_ids2017_wtmc2021_first_match_and_tcp_only_payload_filter() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let end = us("2017-07-04T13:30:00Z"); // FTP-Patator ends 10:30:00 local
    let mut packets = vec![
        tcp(end + 500_000, (ATT, 40001), (VIC, 21), flags::SYN, 0),
        udp(end + 600_000, (ATT, 40002), (VIC, 21), 0),
        tcp(
            end + 700_000,
            (ATT, 40003),
            (VIC, 21),
            flags::PSH | flags::ACK,
            5,
        ),
        tcp(
            end + 1_000_000,
            (ATT, 40004),
            (VIC, 21),
            flags::PSH | flags::ACK,
            5,
        ),
    ];
    packets.sort_by_key(|p| p.ts_ns);
    write_pcap(&dir.join("w.pcap"), LINKTYPE_ETHERNET, false, &packets);
    // The standard profile has every column these rules test.
    let args = [
        "extract",
        "w.pcap",
        "-o",
        "w.csv",
        "--labels",
        "cic-ids2017-wtmc2021",
        "-q",
    ];
    run(dir, &args, 0);
    let mut reader = csv::Reader::from_path(dir.join("w.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert!(
        !header.contains(&"label_category".to_string()),
        "{header:?}"
    );
    let at = |n: &str| header.iter().position(|h| h == n).unwrap();
    let got: BTreeMap<String, (String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[at("src_port")].to_string(),
                (r[at("label")].to_string(), r[at("label_rule")].to_string()),
            )
        })
        .collect();
    let pair = |l: &str, r: &str| (l.to_string(), r.to_string());
    let expected: BTreeMap<String, (String, String)> = [
        (
            "40001".into(),
            pair("FTP-Patator - Attempted", "ftp-patator-no-payload"),
        ),
        ("40002".into(), pair("FTP-Patator", "ftp-patator")),
        ("40003".into(), pair("FTP-Patator", "ftp-patator")),
        ("40004".into(), pair("BENIGN", "")),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, expected);
}
