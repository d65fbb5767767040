//! The deep-learning inputs on real captures, against an independent
//! computation: `tests/fixtures/deep/make_fixture.py` reads the corpus
//! captures itself (Python standard library only) and computes the PPI
//! sequence, histograms, byte distributions, entropies, payload prefixes,
//! per-packet payloads and FlowPic from their
//! definitions (docs/features.md, "Deep-learning inputs"); its output is
//! `tests/fixtures/deep/expected.jsonl`. Every flow flowq writes is either
//! compared, column by column, or counted in a class that says why it cannot
//! be (the script groups packets by 5-tuple only and reads fewer encodings).

use crate::util::rows::{Val, read_parquet, run_flowq};
use crate::util::{repo_root, shared_pcaps};
use std::collections::{BTreeMap, HashMap};

/// The options the fixture was computed for.
const OPTIONS: &[&str] = &[
    "--profile",
    "full",
    "--ppi",
    "--histograms",
    "--byte-dist",
    "32",
    "--payload-prefix",
    "32",
    "--payload-packets",
    "4",
    "8",
    "--flowpic",
    "10",
];

type Key = (String, i64, String, i64, i64);

fn key_of(src: &str, sport: i64, dst: &str, dport: i64, proto: i64) -> Key {
    (src.to_string(), sport, dst.to_string(), dport, proto)
}

fn ints(v: &serde_json::Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn list(v: &Val) -> Vec<i64> {
    match v {
        Val::L(items) => items
            .iter()
            .map(|x| match x {
                Val::I(i) => *i,
                other => panic!("not an integer: {other:?}"),
            })
            .collect(),
        other => panic!("not a list: {other:?}"),
    }
}

fn float(v: &Val) -> Option<f64> {
    match v {
        Val::F(x) => Some(*x),
        Val::Null => None,
        other => panic!("not a float: {other:?}"),
    }
}

/// The columns of one flow that differ from the fixture.
fn differences(row: &BTreeMap<String, Val>, want: &serde_json::Value) -> Vec<String> {
    let mut wrong = Vec::new();
    for column in [
        "ppi_ipt_ms",
        "ppi_dir",
        "ppi_size",
        "ppi_flags",
        "fwd_size_hist",
        "bwd_size_hist",
        "fwd_ipt_hist",
        "bwd_ipt_hist",
        "payload_packets_dir",
    ] {
        if list(&row[column]) != ints(&want[column]) {
            wrong.push(format!(
                "{column}: flowq {:?}, fixture {}",
                row[column], want[column]
            ));
        }
    }
    if row["ppi_len"] != Val::I(ints(&want["ppi_size"]).len() as i64) {
        wrong.push(format!("ppi_len: flowq {:?}", row["ppi_len"]));
    }
    let roundtrips = match &row["ppi_roundtrips"] {
        Val::I(n) => *n,
        other => panic!("{other:?}"),
    };
    if roundtrips != want["ppi_roundtrips"].as_i64().unwrap() {
        wrong.push(format!(
            "ppi_roundtrips: flowq {roundtrips}, fixture {}",
            want["ppi_roundtrips"]
        ));
    }
    let duration = float(&row["ppi_duration"]);
    let want_duration = want["ppi_duration_ns"].as_i64().map(|ns| ns as f64 / 1e9);
    if duration.map(|d| (d * 1e9).round() as i64) != want_duration.map(|d| (d * 1e9).round() as i64)
    {
        wrong.push(format!(
            "ppi_duration: flowq {duration:?}, fixture {want_duration:?}"
        ));
    }
    let packets: Vec<String> = match &row["payload_packets"] {
        Val::L(items) => items
            .iter()
            .map(|b| match b {
                Val::B(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("{other:?}"),
    };
    let want_packets: Vec<String> = want["payload_packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect();
    if packets != want_packets {
        wrong.push(format!(
            "payload_packets: flowq {packets:?}, fixture {want_packets:?}"
        ));
    }
    let mut pic = vec![0i64; 1024];
    for (cell, count) in want["flowpic"].as_object().unwrap() {
        pic[cell.parse::<usize>().unwrap()] = count.as_i64().unwrap();
    }
    if list(&row["flowpic"]) != pic {
        wrong.push("flowpic differs".to_string());
    }
    for side in ["fwd", "bwd"] {
        let column = format!("{side}_byte_dist");
        let mut dist = vec![0i64; 256];
        for (value, count) in want[&column].as_object().unwrap() {
            dist[value.parse::<usize>().unwrap()] = count.as_i64().unwrap();
        }
        if list(&row[&column]) != dist {
            wrong.push(format!("{column} differs"));
        }
        for entropy in ["byte_entropy", "payload_entropy"] {
            let column = format!("{side}_{entropy}");
            let got = float(&row[&column]);
            let expected = want[&column].as_f64();
            let same = match (got, expected) {
                (Some(g), Some(e)) => (g - e).abs() <= 1e-9,
                (None, None) => true,
                _ => false,
            };
            if !same {
                wrong.push(format!("{column}: flowq {got:?}, fixture {expected:?}"));
            }
        }
        let column = format!("{side}_payload_prefix");
        let got = match &row[&column] {
            Val::B(b) => b.iter().map(|x| format!("{x:02x}")).collect::<String>(),
            other => panic!("{other:?}"),
        };
        if got != want[&column].as_str().unwrap() {
            wrong.push(format!("{column}: flowq {got}, fixture {}", want[&column]));
        }
    }
    wrong
}

#[test]
fn deep_learning_inputs_match_an_independent_computation_on_corpus_captures() {
    let Some(corpus) = shared_pcaps() else {
        return;
    };
    let fixture = std::fs::read_to_string(repo_root().join("tests/fixtures/deep/expected.jsonl"))
        .expect("the fixture");
    let mut expected: BTreeMap<String, HashMap<Key, serde_json::Value>> = BTreeMap::new();
    for line in fixture.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = key_of(
            v["src_ip"].as_str().unwrap(),
            v["src_port"].as_i64().unwrap(),
            v["dst_ip"].as_str().unwrap(),
            v["dst_port"].as_i64().unwrap(),
            v["protocol"].as_i64().unwrap(),
        );
        expected
            .entry(v["capture"].as_str().unwrap().to_string())
            .or_default()
            .insert(key, v);
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut compared, mut split, mut absent) = (0, 0, 0);
    let mut failures = Vec::new();
    for (capture, flows) in &expected {
        let output = dir.path().join("out.parquet");
        run_flowq(&corpus.join(capture), &output, OPTIONS);
        let out = read_parquet(&output);
        let key = |r: &BTreeMap<String, Val>| {
            let text = |c: &str| match &r[c] {
                Val::S(s) => s.clone(),
                other => panic!("{other:?}"),
            };
            let int = |c: &str| match &r[c] {
                Val::I(i) => *i,
                other => panic!("{other:?}"),
            };
            key_of(
                &text("src_ip"),
                int("src_port"),
                &text("dst_ip"),
                int("dst_port"),
                int("protocol"),
            )
        };
        let mut per_key: HashMap<Key, usize> = HashMap::new();
        for r in &out.rows {
            *per_key.entry(key(r)).or_default() += 1;
        }
        for r in &out.rows {
            let k = key(r);
            match flows.get(&k) {
                // The script reads no such packets (other protocols, fragments,
                // tunnels, IPv6 extension headers).
                None => absent += 1,
                // flowq ended the flow and started another on the same
                // 5-tuple (timeouts, TCP close): the script has one group.
                Some(_) if per_key[&k] > 1 => split += 1,
                Some(want) => {
                    compared += 1;
                    let wrong = differences(r, want);
                    if !wrong.is_empty() {
                        failures.push(format!("{capture} {k:?}:\n  {}", wrong.join("\n  ")));
                    }
                }
            }
        }
    }
    eprintln!(
        "deep-learning inputs: {compared} flows compared, {split} split by flowq's flow rules, \
         {absent} not read by the script"
    );
    assert!(
        failures.is_empty(),
        "{} flows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The comparison must cover most flows, or it proves little.
    assert!(compared >= 300, "only {compared} flows compared");
    assert!(
        compared >= 4 * (split + absent),
        "{compared} compared, {split} split, {absent} absent"
    );
}
