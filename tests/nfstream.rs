//! The `nfstream` profile against NFStream 6.6 itself.
//!
//! `../shared/pcaps/nfstream-ref/` holds NFStream's own CSV for every corpus
//! capture it could read (statistical analysis on, dissection off, default
//! timeouts). Each capture is extracted with `--profile nfstream --stats` and the
//! flows are matched by 5-tuple and first-seen millisecond. A matched flow must
//! agree on every column: counts, bytes and times exactly, packet-size
//! statistics to floating-point rounding, and inter-arrival statistics within
//! the rounding of NFStream's millisecond timestamps (docs/features.md, "Profile
//! `nfstream`", deliberate differences).
//!
//! Captures where some flow does not match are listed with the reason in
//! `testdata/nfstream-exceptions.tsv`; a listed capture that matches fails the
//! test too, so the list stays honest. The overall match rate is asserted.

use crate::util::{repo_root, shared_pcaps};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use arrow::record_batch::RecordBatch;
use flowq_extract::capture::InputSource;
use flowq_extract::{ExtractOptions, Extractor, Profile};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const EXCEPTIONS_FILE: &str = "testdata/nfstream-exceptions.tsv";

/// Share of NFStream's flows (over all reference captures) that flowq must
/// reproduce exactly. Measured 2026-12-01: see the note in the exceptions file.
const MIN_MATCH_RATE: f64 = 0.95;

/// One flow: column name to text value.
type Row = BTreeMap<String, String>;

/// The columns identifying a flow across the two tools.
const KEY: [&str; 6] = [
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "bidirectional_first_seen_ms",
];

fn read_reference(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    crate::util::csv_rows(&text)
}

fn extract(capture: &Path) -> Vec<Row> {
    let options = ExtractOptions {
        profile: Profile::Nfstream,
        nfstream_stats: true,
        splt_len: 0,
        ..ExtractOptions::default()
    };
    let extractor = Extractor::new(options);
    let mut batches: Vec<RecordBatch> = Vec::new();
    extractor
        .run(&[InputSource::File(capture.to_path_buf())], &mut |b| {
            batches.push(b);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
    let mut rows = Vec::new();
    for batch in &batches {
        let schema = batch.schema();
        let texts: Vec<Vec<String>> = batch
            .columns()
            .iter()
            .map(|c| column_text(c.as_ref()))
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(
                schema
                    .fields()
                    .iter()
                    .zip(&texts)
                    .map(|(f, t)| (f.name().clone(), t[r].clone()))
                    .collect(),
            );
        }
    }
    rows
}

/// Values as NFStream's CSV would spell them (integers plain, floats as f64).
fn column_text(array: &dyn Array) -> Vec<String> {
    match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect(),
        DataType::Float64 => array
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.map_or(String::new(), |v| v.to_string()))
            .collect(),
        _ => {
            let ints = arrow::compute::cast(array, &DataType::Int64).expect("integer column");
            ints.as_primitive::<arrow::datatypes::Int64Type>()
                .iter()
                .map(|v| v.map_or(String::new(), |v| v.to_string()))
                .collect()
        }
    }
}

fn key_of(row: &Row) -> String {
    KEY.map(|k| row.get(k).map_or("", String::as_str)).join("|")
}

/// Why one matched flow differs, or `None` when it agrees.
fn difference(flowq: &Row, nfs: &Row) -> Option<String> {
    let mut diffs = Vec::new();
    for (column, expected) in nfs {
        if column == "id" {
            continue;
        }
        let Some(got) = flowq.get(column) else {
            diffs.push(format!("{column}: missing"));
            continue;
        };
        if got == expected {
            continue;
        }
        let (Ok(g), Ok(e)) = (got.parse::<f64>(), expected.parse::<f64>()) else {
            diffs.push(format!("{column}: {got} vs {expected}"));
            continue;
        };
        if !within_tolerance(column, g, e, nfs) {
            diffs.push(format!("{column}: {got} vs {expected}"));
        }
    }
    diffs.sort();
    (!diffs.is_empty()).then(|| diffs.join("; "))
}

/// NFStream computes inter-arrival times from millisecond-floored timestamps, so
/// each of its IATs is within 1 ms of the true one; flowq computes them from the
/// full timestamps. Min, max and mean then differ by at most 1 ms, and a sample
/// standard deviation over n IATs by at most sqrt(n / (n - 1)) ms.
fn within_tolerance(column: &str, got: f64, expected: f64, nfs: &Row) -> bool {
    let diff = (got - expected).abs();
    if column.contains("_piat_ms") {
        let scope = column.split('_').next().unwrap_or("");
        let packets: f64 = nfs
            .get(&format!("{scope}_packets"))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0.0);
        let n = (packets - 1.0).max(2.0);
        let bound = if column.contains("stddev") {
            (n / (n - 1.0)).sqrt()
        } else {
            1.0
        };
        return diff <= bound + 1e-9;
    }
    diff <= 1e-9 * expected.abs().max(1.0)
}

/// The outcome for one capture.
#[derive(Default)]
struct Comparison {
    reference_flows: usize,
    flowq_flows: usize,
    matched: usize,
    /// Column-level differences of matched flows, by first differing column.
    differing: BTreeMap<String, usize>,
    only_in_reference: usize,
    only_in_flowq: usize,
    examples: Vec<String>,
}

fn compare(capture: &Path, reference: &Path) -> Comparison {
    let nfs = read_reference(reference);
    let ours = extract(capture);
    let mut by_key: HashMap<String, Vec<&Row>> = HashMap::new();
    for row in &ours {
        by_key.entry(key_of(row)).or_default().push(row);
    }
    let mut c = Comparison {
        reference_flows: nfs.len(),
        flowq_flows: ours.len(),
        ..Comparison::default()
    };
    let mut used = 0;
    for row in &nfs {
        let candidates = by_key.get_mut(&key_of(row));
        let Some(candidates) = candidates.filter(|c| !c.is_empty()) else {
            c.only_in_reference += 1;
            if c.examples.len() < 3 {
                c.examples
                    .push(format!("only in NFStream: {}", key_of(row)));
            }
            continue;
        };
        // Among flows with the same key, the first that agrees (else the first).
        let best = candidates
            .iter()
            .position(|ours| difference(ours, row).is_none())
            .unwrap_or(0);
        let ours = candidates.remove(best);
        used += 1;
        match difference(ours, row) {
            None => c.matched += 1,
            Some(diff) => {
                let first = diff.split(':').next().unwrap_or("").to_string();
                *c.differing.entry(first).or_default() += 1;
                if c.examples.len() < 3 {
                    c.examples.push(format!("{}: {diff}", key_of(row)));
                }
            }
        }
    }
    c.only_in_flowq = ours.len() - used;
    c
}

fn reference_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "csv") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read_exceptions() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo_root().join(EXCEPTIONS_FILE)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (path, reason) = l.split_once('\t').unwrap_or((l, ""));
            (path.to_string(), reason.to_string())
        })
        .collect()
}

#[test]
fn nfstream_profile_matches_nfstream() {
    let Some(pcaps) = shared_pcaps() else {
        return;
    };
    let reference_dir = pcaps.join("nfstream-ref");
    let exceptions = read_exceptions();
    // Every reason must be one of the deliberate differences the docs explain.
    let doc = std::fs::read_to_string(repo_root().join("docs/features.md")).unwrap();
    for (path, reason) in &exceptions {
        assert!(
            doc.contains(&format!("- **{reason}**:")),
            "{EXCEPTIONS_FILE}: {path}: `{reason}` is not a deliberate difference in docs/features.md"
        );
    }
    let mut report = String::new();
    let mut failures = Vec::new();
    let (mut total, mut matched) = (0usize, 0usize);
    for reference in reference_files(&reference_dir) {
        let relative = reference
            .strip_prefix(&reference_dir)
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".csv")
            .to_string();
        let capture = pcaps.join(&relative);
        let c = compare(&capture, &reference);
        total += c.reference_flows;
        matched += c.matched;
        let exact = c.matched == c.reference_flows && c.only_in_flowq == 0;
        if !exact {
            let _ = writeln!(
                report,
                "{relative}: NFStream {} flows, flowq {}, matched {}, only NFStream {}, only flowq {}, differing {:?}\n    {}",
                c.reference_flows,
                c.flowq_flows,
                c.matched,
                c.only_in_reference,
                c.only_in_flowq,
                c.differing,
                c.examples.join("\n    ")
            );
        }
        match (exact, exceptions.contains_key(&relative)) {
            (false, false) => failures.push(format!("{relative} differs but is not listed")),
            (true, true) => failures.push(format!("{relative} is listed but matches")),
            _ => {}
        }
    }
    let rate = matched as f64 / total.max(1) as f64;
    eprintln!(
        "nfstream profile: {matched} of {total} NFStream flows matched ({rate:.4})\n{report}"
    );
    assert!(
        failures.is_empty(),
        "{} (see {EXCEPTIONS_FILE}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        rate >= MIN_MATCH_RATE,
        "match rate {rate:.4} below {MIN_MATCH_RATE}"
    );
}
