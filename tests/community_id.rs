//! Community ID v1 against an independent implementation, on every tuple of
//! the corpus.
//!
//! `testdata/community_id_corpus.tsv.gz` was made by
//! `testdata/community_id_corpus.py` with Corelight's `communityid` package
//! (PyPI), from the corpus's TShark table (addresses, protocol, ports) and
//! scapy (ICMP type and code), not by flowq; its header says how. Here every
//! distinct tuple in it is hashed with flowq's `community_id_v1` and must give
//! the same ID. (The spec's official baseline vectors are tested in
//! `flowq_extract::app::community_id`; tests/app_oracle.rs compares the
//! `community_id` column of every corpus flow with the fixture.) The fixture is
//! part of the repository, so this test needs no corpus.

use crate::util::{read_oracle_text, repo_root};
use flowq_extract::app::{CommunityIdEncoding, community_id_v1};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// The fixture's lines after its two header lines, as fields.
fn fixture_lines() -> Vec<Vec<String>> {
    let path = repo_root().join("testdata/community_id_corpus.tsv.gz");
    let text = read_oracle_text(&path);
    let mut lines = text.lines();
    let about = lines.next().expect("the fixture's description line");
    assert!(
        about.starts_with("# Community ID v1 (seed 0)"),
        "fixture header: {about}"
    );
    assert_eq!(
        lines.next(),
        Some("capture\tcommunity_id\tproto\tsrc\tsport\tdst\tdport\trecords")
    );
    lines
        .map(|line| {
            let fields: Vec<String> = line.split('\t').map(str::to_string).collect();
            assert_eq!(fields.len(), 8, "fixture line {line:?}");
            fields
        })
        .collect()
}

/// The fixture by capture: record number (from 0, as flowq's `packet_id`) to
/// the Community ID of that packet.
pub fn fixture_records() -> BTreeMap<String, HashMap<usize, String>> {
    let mut out: BTreeMap<String, HashMap<usize, String>> = BTreeMap::new();
    for f in fixture_lines() {
        let records = out.entry(f[0].clone()).or_default();
        for range in f[7].split(',') {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
            assert!(a >= 1 && a <= b, "{}: records {range}", f[0]);
            for r in a..=b {
                // The fixture numbers records from 1.
                let previous = records.insert(r - 1, f[1].clone());
                assert!(previous.is_none(), "{}: record {r} twice", f[0]);
            }
        }
    }
    out
}

#[test]
fn flowq_hashes_every_corpus_tuple_as_the_reference_implementation() {
    let lines = fixture_lines();
    let mut by_protocol: BTreeMap<u8, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for f in &lines {
        let proto: u8 = f[2].parse().expect("a protocol number");
        let src: IpAddr = f[3].parse().expect("an address");
        let dst: IpAddr = f[5].parse().expect("an address");
        let port = |s: &str| -> u16 {
            if s.is_empty() {
                0
            } else {
                s.parse().expect("a port")
            }
        };
        let ours = community_id_v1(
            0,
            src,
            dst,
            proto,
            port(&f[4]),
            port(&f[6]),
            CommunityIdEncoding::Base64,
        );
        *by_protocol.entry(proto).or_default() += 1;
        if ours.as_deref() != Some(f[1].as_str()) {
            wrong.push(format!("{}: {f:?}: flowq {ours:?}", f[0]));
        }
    }
    // Every kind of tuple the spec treats differently is in the corpus: TCP,
    // UDP, SCTP, ICMP, ICMPv6 and protocols without ports.
    for proto in [1, 6, 17, 58, 132] {
        assert!(
            by_protocol.get(&proto).copied().unwrap_or(0) > 0,
            "no protocol {proto} tuple in the fixture: {by_protocol:?}"
        );
    }
    assert!(
        by_protocol.keys().any(|p| ![1, 6, 17, 58, 132].contains(p)),
        "no tuple without ports in the fixture: {by_protocol:?}"
    );
    assert!(lines.len() > 3000, "{} fixture lines", lines.len());
    assert!(
        wrong.is_empty(),
        "{} of {} tuples hash differently:\n{}",
        wrong.len(),
        lines.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_fixture_numbers_records_once() {
    let records = fixture_records();
    assert!(records.len() > 300, "{} captures", records.len());
    let packets: usize = records.values().map(HashMap::len).sum();
    // The header's count of packets with an ID.
    let text = read_oracle_text(&repo_root().join("testdata/community_id_corpus.tsv.gz"));
    let about = text.lines().next().unwrap();
    assert!(
        about.contains(&format!("{packets} with a Community ID")),
        "{packets} packets in the fixture; its header says: {about}"
    );
}
