//! Cross-checks against the shared capture corpus (`../shared/pcaps`).
//!
//! * Every capture listed in `MANIFEST.tsv` is extracted without a panic or a hang,
//!   and every packet read is either in a flow or skipped for a counted reason.
//! * For every capture with a TShark view (`oracle/<path>.tsv[.gz]`), the packets
//!   and bytes over all flows equal the oracle's IP packets (rows with an `ip.src`
//!   or `ipv6.src`) and the sum of their `frame.len`. Files that legitimately
//!   differ are listed with a reason in `testdata/oracle-exceptions.tsv`; a listed
//!   file that matches fails the test too, so the list stays honest.
//!
//! Both tests share one extraction of the corpus.

use crate::util::{repo_root, shared_pcaps};
use arrow::array::{Array, Int64Array};
use arrow::record_batch::RecordBatch;
use flowq_extract::capture::InputSource;
use flowq_extract::{ExtractOptions, Extractor, InputStatus};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

/// A capture still running after this is abandoned and reported as hung (the
/// largest corpus file takes well under a second in a release build). Only a
/// hang guard: how long a capture takes is printed, never asserted, since it
/// depends on the machine and its load.
const HUNG_FILE: Duration = Duration::from_secs(120);

const EXCEPTIONS_FILE: &str = "testdata/oracle-exceptions.tsv";

/// One row of `MANIFEST.tsv`.
#[derive(Debug, Clone)]
struct ManifestEntry {
    path: String,
    format: String,
    linktypes: String,
    /// Path of the oracle table relative to the corpus, if TShark could read the file.
    oracle: Option<String>,
}

/// What flowq made of one capture.
#[derive(Debug, Clone, Default)]
struct Extracted {
    /// `complete`, `partial` or `failed`.
    status: String,
    message: Option<String>,
    packets_read: u64,
    packets_in_flows: u64,
    skipped: BTreeMap<String, u64>,
    flows_written: u64,
    rows: u64,
    pkt_sum: i64,
    byte_sum: i64,
    /// Rows whose `pkt_count` is below 1.
    empty_flows: u64,
}

impl Extracted {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "status": self.status,
            "message": self.message,
            "packets_read": self.packets_read,
            "packets_in_flows": self.packets_in_flows,
            "skipped": self.skipped,
            "flows_written": self.flows_written,
            "rows": self.rows,
            "pkt_sum": self.pkt_sum,
            "byte_sum": self.byte_sum,
            "empty_flows": self.empty_flows,
        })
    }

    /// A worker record: the extraction, or the error that stopped it.
    fn from_json(record: &serde_json::Value) -> Result<Extracted, String> {
        if let Some(error) = record.get("error") {
            return Err(error.as_str().unwrap_or("unknown error").to_string());
        }
        let u = |name: &str| record[name].as_u64().unwrap_or_default();
        let i = |name: &str| record[name].as_i64().unwrap_or_default();
        Ok(Extracted {
            status: record["status"].as_str().unwrap_or_default().to_string(),
            message: record["message"].as_str().map(str::to_string),
            packets_read: u("packets_read"),
            packets_in_flows: u("packets_in_flows"),
            skipped: record["skipped"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default(),
            flows_written: u("flows_written"),
            rows: u("rows"),
            pkt_sum: i("pkt_sum"),
            byte_sum: i("byte_sum"),
            empty_flows: u("empty_flows"),
        })
    }

    fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    fn skipped_text(&self) -> String {
        let parts: Vec<String> = self
            .skipped
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(reason, n)| format!("{reason}={n}"))
            .collect();
        if parts.is_empty() {
            "-".to_string()
        } else {
            parts.join(",")
        }
    }
}

/// The result of extracting one capture.
#[derive(Debug, Clone)]
struct Outcome {
    entry: ManifestEntry,
    elapsed: Duration,
    /// `Err` holds a panic message or a hang report.
    result: Result<Extracted, String>,
}

/// Environment variables that make [`corpus`] run [`corpus_worker`] (set only
/// for the child processes that [`corpus`] starts).
const WORKER_START_ENV: &str = "FLOWQ_ORACLE_WORKER_START";
const WORKER_OUT_ENV: &str = "FLOWQ_ORACLE_WORKER_OUT";

/// The corpus extracted once, shared by both tests; `None` when the corpus is absent.
///
/// Extraction runs in child processes (this test binary, running [`corpus_worker`]):
/// a non-unwinding panic, such as a failed precondition check in `unsafe` code of a
/// dependency, aborts the process, and must neither hide the other captures' results
/// nor lose the name of the capture that caused it. A child that dies is restarted
/// after the capture it was reading.
fn corpus() -> Option<&'static (PathBuf, Vec<Outcome>)> {
    static CORPUS: OnceLock<Option<(PathBuf, Vec<Outcome>)>> = OnceLock::new();
    // In a worker process, this test's call is where the worker takes over.
    if let (Some(start), Some(out)) = (
        std::env::var_os(WORKER_START_ENV),
        std::env::var_os(WORKER_OUT_ENV),
    ) {
        corpus_worker(start, out);
    }
    CORPUS
        .get_or_init(|| {
            let dir = shared_pcaps()?;
            let entries = read_manifest(&dir);
            let outcomes = extract_in_children(&entries);
            Some((dir, outcomes))
        })
        .as_ref()
}

fn extract_in_children(entries: &[ManifestEntry]) -> Vec<Outcome> {
    let exe = std::env::current_exe().expect("path of the test binary");
    let scratch = tempfile::tempdir().expect("temporary directory");
    let mut results: Vec<Option<Result<Extracted, String>>> = vec![None; entries.len()];
    let mut elapsed = vec![Duration::ZERO; entries.len()];
    let mut start = 0;
    let mut children = 0;
    while start < entries.len() {
        children += 1;
        let out = scratch.path().join(format!("worker-{children}.jsonl"));
        let err = scratch.path().join(format!("worker-{children}.stderr"));
        let status = Command::new(&exe)
            // Any test that calls `corpus` first: in the child it becomes the
            // worker (see `corpus`), so no test exists only to be a worker.
            .args([
                "oracle::corpus_extracts_without_panic_and_accounts_for_every_packet",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WORKER_START_ENV, start.to_string())
            .env(WORKER_OUT_ENV, &out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).expect("worker stderr file"))
            .status()
            .expect("cannot start the corpus worker");
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let (mut begun, mut finished) = (None, None);
        for line in text.lines() {
            let record: serde_json::Value =
                serde_json::from_str(line).expect("worker output is JSON lines");
            let index = record["index"].as_u64().expect("worker record index") as usize;
            if record.get("begin").is_some() {
                begun = Some(index);
                continue;
            }
            elapsed[index] = Duration::from_secs_f64(record["elapsed_s"].as_f64().unwrap_or(0.0));
            results[index] = Some(Extracted::from_json(&record));
            (begun, finished) = (None, Some(index));
        }
        start = match (begun, finished) {
            // The child died while reading a capture: blame it, go on after it.
            (Some(index), _) => {
                let stderr = std::fs::read_to_string(&err).unwrap_or_default();
                results[index] = Some(Err(format!(
                    "extraction killed the process ({status}): {}",
                    panic_summary(&stderr)
                )));
                index + 1
            }
            // Done, or stopped after a hung capture: go on after the last one.
            (None, Some(index)) => index + 1,
            (None, None) => panic!(
                "corpus worker failed ({status}) before reading any capture:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            ),
        };
    }
    entries
        .iter()
        .zip(results)
        .zip(elapsed)
        .map(|((entry, result), elapsed)| Outcome {
            entry: entry.clone(),
            elapsed,
            result: result.unwrap_or_else(|| Err("never extracted".to_string())),
        })
        .collect()
}

/// The panic location and message from a child's stderr (without the backtrace).
fn panic_summary(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    match lines.iter().position(|l| l.contains("panicked at")) {
        Some(at) => lines[at..(at + 2).min(lines.len())].join(" "),
        None => lines
            .iter()
            .rev()
            .take(3)
            .rev()
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The child-process side of [`corpus`]: extracts the manifest's captures from
/// the start index on, writes one JSON record per capture, and ends the process.
fn corpus_worker(start: OsString, out: OsString) -> ! {
    let start: usize = start
        .to_str()
        .and_then(|s| s.parse().ok())
        .expect("worker start index");
    let dir = shared_pcaps().expect("the corpus the parent found");
    let entries = read_manifest(&dir);
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .expect("worker output file");
    let mut write = |record: serde_json::Value| {
        writeln!(out, "{record}").expect("write worker output");
        out.flush().expect("flush worker output");
    };
    for (index, entry) in entries.iter().enumerate().skip(start) {
        write(serde_json::json!({ "index": index, "begin": entry.path }));
        let started = Instant::now();
        let result = extract_guarded(&dir.join(&entry.path));
        let hung = matches!(&result, Err(message) if message.starts_with("hung"));
        let mut record = match result {
            Ok(x) => x.to_json(),
            Err(message) => serde_json::json!({ "error": message }),
        };
        record["index"] = index.into();
        record["elapsed_s"] = started.elapsed().as_secs_f64().into();
        write(record);
        if hung {
            // The stuck thread cannot be stopped; end the process instead.
            std::process::exit(0);
        }
    }
    std::process::exit(0);
}

/// Extracts one capture on its own thread, so that an unwinding panic or a hang
/// is reported instead of taking the worker down.
fn extract_guarded(path: &Path) -> Result<Extracted, String> {
    let path = path.to_path_buf();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("extract {}", path.display()))
        .spawn(move || {
            let result = std::panic::catch_unwind(|| extract(&path)).map_err(|payload| {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_string());
                format!("panicked: {message}")
            });
            let _ = tx.send(result);
        });
    match spawned {
        Err(e) => Err(format!("could not start a thread: {e}")),
        Ok(_) => match rx.recv_timeout(HUNG_FILE) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(format!("hung: no result after {HUNG_FILE:?}"))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err("extraction thread ended without a result".to_string())
            }
        },
    }
}

fn read_manifest(dir: &Path) -> Vec<ManifestEntry> {
    let path = dir.join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("MANIFEST.tsv is empty")
        .split('\t')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("MANIFEST.tsv has no `{name}` column"))
    };
    let (path_col, format_col, link_col, oracle_col) =
        (col("path"), col("format"), col("linktypes"), col("oracle"));
    let entries: Vec<ManifestEntry> = lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or("").to_string();
            let oracle = field(oracle_col);
            ManifestEntry {
                path: field(path_col),
                format: field(format_col),
                linktypes: field(link_col),
                oracle: (!oracle.is_empty() && oracle != "none").then_some(oracle),
            }
        })
        .collect();
    assert!(!entries.is_empty(), "MANIFEST.tsv lists no captures");
    entries
}

fn extract(path: &Path) -> Extracted {
    let mut out = Extracted::default();
    let extractor = Extractor::new(ExtractOptions::default());
    let summary = extractor
        .run(&[InputSource::File(path.to_path_buf())], &mut |batch| {
            add_batch(&mut out, &batch);
            Ok::<(), std::convert::Infallible>(())
        })
        .expect("an infallible consumer cannot stop the run");
    let input = summary
        .inputs
        .first()
        .expect("one input, one input summary");
    out.status = match input.status {
        InputStatus::Complete => "complete",
        InputStatus::Partial => "partial",
        InputStatus::Failed => "failed",
    }
    .to_string();
    out.message = input.message.clone();
    out.packets_read = summary.packets_read;
    out.packets_in_flows = summary.packets_in_flows;
    out.skipped = summary
        .skipped
        .iter()
        .map(|(reason, n)| (reason.to_string(), *n))
        .collect();
    out.flows_written = summary.flows_written;
    out
}

fn add_batch(out: &mut Extracted, batch: &RecordBatch) {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("batch has no `{name}` column"))
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap_or_else(|| panic!("`{name}` is not Int64"))
            .clone()
    };
    let packets = column("pkt_count");
    let bytes = column("byte_count");
    assert_eq!(packets.null_count(), 0, "pkt_count has nulls");
    assert_eq!(bytes.null_count(), 0, "byte_count has nulls");
    out.rows += batch.num_rows() as u64;
    for (p, b) in packets.values().iter().zip(bytes.values().iter()) {
        out.pkt_sum += p;
        out.byte_sum += b;
        out.empty_flows += u64::from(*p < 1);
    }
}

#[test]
fn corpus_extracts_without_panic_and_accounts_for_every_packet() {
    let Some((_, outcomes)) = corpus() else {
        return;
    };
    let mut failures = Vec::new();
    let mut times: Vec<(Duration, &str)> = Vec::new();
    let (mut complete, mut partial, mut failed) = (0, 0, 0);
    // Files read only partly or not at all: expected for the corpus's broken files,
    // listed so that a change in how flowq reads them is visible.
    let mut incomplete = Vec::new();
    for outcome in outcomes {
        let path = outcome.entry.path.as_str();
        times.push((outcome.elapsed, path));
        let x = match &outcome.result {
            Ok(x) => x,
            Err(message) => {
                failures.push(format!("{path}: {message}"));
                continue;
            }
        };
        match x.status.as_str() {
            "complete" => complete += 1,
            "partial" => partial += 1,
            _ => failed += 1,
        }
        if x.status != "complete" {
            incomplete.push(format!(
                "{path}: {} after {} packets: {}",
                x.status,
                x.packets_read,
                x.message.as_deref().unwrap_or("-")
            ));
        }
        if x.packets_read != x.packets_in_flows + x.skipped_total() {
            failures.push(format!(
                "{path}: packets_read {} != packets_in_flows {} + skipped {} ({})",
                x.packets_read,
                x.packets_in_flows,
                x.skipped_total(),
                x.skipped_text()
            ));
        }
        if x.pkt_sum < 0 || x.pkt_sum as u64 != x.packets_in_flows {
            failures.push(format!(
                "{path}: pkt_count sums to {} over all flows, but {} packets are in flows",
                x.pkt_sum, x.packets_in_flows
            ));
        }
        if x.rows != x.flows_written {
            failures.push(format!(
                "{path}: {} rows delivered, summary says {} flows written",
                x.rows, x.flows_written
            ));
        }
        if x.empty_flows > 0 {
            failures.push(format!(
                "{path}: {} flows with pkt_count < 1",
                x.empty_flows
            ));
        }
    }

    times.sort_by_key(|t| std::cmp::Reverse(t.0));
    let total: Duration = times.iter().map(|t| t.0).sum();
    eprintln!(
        "corpus: {} captures in {:.2} s ({complete} complete, {partial} partial, {failed} failed to open); slowest:",
        outcomes.len(),
        total.as_secs_f64()
    );
    for (elapsed, path) in times.iter().take(8) {
        eprintln!("  {:>8.3} s  {path}", elapsed.as_secs_f64());
    }
    eprintln!("read partly or not at all:");
    for line in &incomplete {
        eprintln!("  {line}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} captures failed:\n  {}",
        failures.len(),
        outcomes.len(),
        failures.join("\n  ")
    );
}

/// The oracle's view of one capture: IP packet records and their wire bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct OracleTotals {
    rows: u64,
    ip_packets: u64,
    ip_bytes: u64,
}

fn read_oracle(dir: &Path, entry: &ManifestEntry, oracle: &str) -> OracleTotals {
    let path = dir.join(oracle);
    let text = if oracle.ends_with(".gz") {
        // flate2 is not a dependency of this crate; gzip is on every machine.
        let output = Command::new("gzip")
            .arg("-dc")
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run gzip -dc {}: {e}", path.display()));
        assert!(
            output.status.success(),
            "gzip -dc {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", path.display()))
    } else {
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_else(|| panic!("{} is empty", path.display()))
        .split('\t')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{} has no `{name}` column", path.display()))
    };
    let (len_col, ip_col, ip6_col, iface_col) = (
        col("frame.len"),
        col("ip.src"),
        col("ipv6.src"),
        col("frame.interface_id"),
    );
    let pcapng = entry.format == "pcapng";
    let mut totals = OracleTotals::default();
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or("");
        totals.rows += 1;
        // pcapng custom blocks appear as rows without an interface; they are not packets.
        if pcapng && field(iface_col).is_empty() {
            continue;
        }
        if field(ip_col).is_empty() && field(ip6_col).is_empty() {
            continue;
        }
        let len: u64 = field(len_col).parse().unwrap_or_else(|e| {
            panic!(
                "{}: bad frame.len {:?}: {e}",
                path.display(),
                field(len_col)
            )
        });
        totals.ip_packets += 1;
        totals.ip_bytes += len;
    }
    totals
}

/// `path -> reason` from the exceptions file.
fn read_exceptions() -> BTreeMap<String, String> {
    let path = repo_root().join(EXCEPTIONS_FILE);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut exceptions = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (file, reason) = line.split_once('\t').unwrap_or_else(|| {
            panic!(
                "{EXCEPTIONS_FILE}:{}: expected `path<TAB>reason`",
                number + 1
            )
        });
        assert!(
            !reason.trim().is_empty(),
            "{EXCEPTIONS_FILE}:{}: {file} has no reason",
            number + 1
        );
        let previous = exceptions.insert(file.trim().to_string(), reason.trim().to_string());
        assert!(
            previous.is_none(),
            "{EXCEPTIONS_FILE}:{}: {file} is listed twice",
            number + 1
        );
    }
    exceptions
}

#[test]
fn corpus_totals_match_tshark_oracle() {
    let Some((dir, outcomes)) = corpus() else {
        return;
    };
    let exceptions = read_exceptions();
    let mut checked = 0;
    let mut matching = 0;
    let mut excepted = 0;
    let mut table = String::new();
    let mut unexpected = Vec::new();
    let mut stale = Vec::new();
    let mut seen = BTreeSet::new();
    let _ = writeln!(
        table,
        "{:<58} {:>7} {:>10} {:>7} {:>10}  {:<8} {:<22} linktypes / reason",
        "capture", "o.pkts", "o.bytes", "f.pkts", "f.bytes", "status", "skipped"
    );
    for outcome in outcomes {
        let entry = &outcome.entry;
        let Some(oracle) = entry.oracle.as_deref() else {
            continue;
        };
        checked += 1;
        seen.insert(entry.path.as_str());
        let expected = read_oracle(dir, entry, oracle);
        let exception = exceptions.get(&entry.path);
        let (actual, status, skipped) = match &outcome.result {
            Ok(x) => (
                Some((x.pkt_sum as u64, x.byte_sum as u64)),
                x.status.as_str(),
                x.skipped_text(),
            ),
            Err(_) => (None, "panic", "-".to_string()),
        };
        let matches = actual == Some((expected.ip_packets, expected.ip_bytes));
        match (matches, exception) {
            (true, None) => {
                matching += 1;
                continue;
            }
            (true, Some(_)) => stale.push(entry.path.clone()),
            (false, Some(_)) => excepted += 1,
            (false, None) => unexpected.push(entry.path.clone()),
        }
        let (f_pkts, f_bytes) = actual.map_or(("-".to_string(), "-".to_string()), |(p, b)| {
            (p.to_string(), b.to_string())
        });
        let marker = match (matches, exception) {
            (false, None) => "MISMATCH",
            (true, _) => "STALE EXCEPTION (matches now)",
            (false, Some(reason)) => reason.as_str(),
        };
        let _ = writeln!(
            table,
            "{:<58} {:>7} {:>10} {:>7} {:>10}  {:<8} {:<22} {} / {}",
            entry.path,
            expected.ip_packets,
            expected.ip_bytes,
            f_pkts,
            f_bytes,
            status,
            skipped,
            entry.linktypes,
            marker
        );
    }
    let unknown: Vec<&String> = exceptions
        .keys()
        .filter(|path| !seen.contains(path.as_str()))
        .collect();

    eprintln!(
        "oracle: {checked} captures with a TShark view: {matching} match, {excepted} excepted, \
         {} unexpected mismatches, {} stale exceptions\n{table}",
        unexpected.len(),
        stale.len()
    );
    let mut problems = Vec::new();
    if !unexpected.is_empty() {
        problems.push(format!(
            "totals differ from the oracle, and the file is not in {EXCEPTIONS_FILE}:\n  {}",
            unexpected.join("\n  ")
        ));
    }
    if !stale.is_empty() {
        problems.push(format!(
            "listed in {EXCEPTIONS_FILE} but matching the oracle now (remove them):\n  {}",
            stale.join("\n  ")
        ));
    }
    if !unknown.is_empty() {
        problems.push(format!(
            "listed in {EXCEPTIONS_FILE} but not a capture with an oracle:\n  {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
