//! Cross-checks against the shared capture corpus (`../shared/pcaps`).
//!
//! * Every capture listed in `MANIFEST.tsv` is extracted without a panic or a hang,
//!   and every packet read is either in a flow or skipped for a counted reason.
//! * For every capture with a TShark view (`oracle/<path>.tsv[.gz]`), record by
//!   record: TShark's IP packets (rows with an `ip.src` or `ipv6.src`) are
//!   exactly the records flowq counts in flows, with the same `frame.len`. A
//!   record where they disagree must belong to a class documented in
//!   docs/capture.md ("Checked against TShark"), whose counts are recorded there;
//!   no capture is excepted as a whole.
//!
//! Both tests share one extraction of the corpus.

use crate::util::{oracle_packet_rows, repo_root, shared_pcaps};
use arrow::array::{Array, AsArray, Int64Array};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use flowq_extract::batch::PacketColumn;
use flowq_extract::capture::InputSource;
use flowq_extract::{ExtractOptions, Extractor, InputStatus};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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

/// Captures in the corpus's manifest, and those with a TShark table: every
/// one must be checked, not however many happen to be found.
const CORPUS_CAPTURES: usize = 400;
const ORACLE_CAPTURES: usize = 390;

/// One row of `MANIFEST.tsv`.
#[derive(Debug, Clone)]
struct ManifestEntry {
    path: String,
    format: String,
    linktypes: String,
    /// Packet records found by the corpus's strict structural parse.
    packets: usize,
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
    /// flowq's packet view: (record number, bytes on the wire) of every record
    /// counted in a flow, in record order.
    packets: Vec<(u64, u64)>,
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
            "packets": self.packets,
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
            packets: record["packets"]
                .as_array()
                .map(|packets| {
                    packets
                        .iter()
                        .map(|p| (p[0].as_u64().unwrap_or(0), p[1].as_u64().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default(),
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
    let (path_col, format_col, link_col, packets_col, oracle_col) = (
        col("path"),
        col("format"),
        col("linktypes"),
        col("packets"),
        col("oracle"),
    );
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
                packets: field(packets_col).parse().unwrap_or_else(|e| {
                    panic!("MANIFEST.tsv: packets of {}: {e}", field(path_col))
                }),
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
    // The same capture once more as packets, for the record-by-record oracle.
    extractor
        .run_packets(
            &[InputSource::File(path.to_path_buf())],
            &[PacketColumn::PacketId, PacketColumn::Length],
            &mut |batch| {
                let id = batch.column(0).as_primitive::<Int64Type>();
                let length = batch.column(1).as_primitive::<Int64Type>();
                for (id, length) in id.values().iter().zip(length.values()) {
                    out.packets.push((*id as u64, *length as u64));
                }
                Ok::<(), std::convert::Infallible>(())
            },
        )
        .expect("an infallible consumer cannot stop the run");
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
    assert_eq!(outcomes.len(), CORPUS_CAPTURES, "captures in MANIFEST.tsv");
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

/// A record where flowq's packet view and TShark's disagree.
struct PacketCase<'a> {
    entry: &'a ManifestEntry,
    /// TShark's row for the record (none past TShark's last record).
    row: Option<&'a HashMap<String, String>>,
    /// flowq's bytes on the wire, when flowq counted the record in a flow.
    flowq: Option<u64>,
    /// Packet records in TShark's table.
    oracle_records: usize,
    /// Link types flowq decodes, from docs/capture.md.
    decoded: &'a BTreeSet<u32>,
}

impl PacketCase<'_> {
    fn field(&self, name: &str) -> &str {
        self.row.map_or("", |r| r[name].as_str())
    }

    /// TShark's dissection chain, layer by layer.
    fn layers(&self) -> Vec<&str> {
        self.field("frame.protocols").split(':').collect()
    }

    /// The LINKTYPE of the record's interface, from the manifest (in interface
    /// order for pcapng).
    fn linktype(&self) -> Option<u32> {
        let interface: usize = self.field("frame.interface_id").parse().unwrap_or(0);
        let linktypes: Vec<&str> = self.entry.linktypes.split(',').collect();
        let name = linktypes.get(interface).or(linktypes.first())?;
        name.split_once('(')?.1.trim_end_matches(')').parse().ok()
    }
}

/// A documented reason why TShark and flowq see a record differently
/// (docs/capture.md, "Checked against TShark"), and how a record is recognised
/// as one.
struct PacketClass {
    name: &'static str,
    recognises: fn(&PacketCase) -> bool,
}

/// What flowq walks in front of an IP header, as TShark names the layers.
const WALKED_LAYERS: [&str; 8] = [
    "eth",
    "ethertype",
    "vlan",
    "mpls",
    "pppoes",
    "ppp",
    "llc",
    "pwethcw",
];

/// Tried in this order; a record counts for the first class that recognises it.
const PACKET_CLASSES: &[PacketClass] = &[
    PacketClass {
        name: "record-framing",
        // TShark read another number of packet records than the file holds by
        // a strict parse (the manifest's count): its records are not flowq's.
        recognises: |c| c.oracle_records != c.entry.packets,
    },
    PacketClass {
        name: "link-type",
        // The record's link type is not one docs/capture.md lists as decoded.
        recognises: |c| c.linktype().is_some_and(|l| !c.decoded.contains(&l)),
    },
    PacketClass {
        name: "encapsulation",
        // An Ethernet frame with a layer flowq does not walk before its first
        // IP header (VN-Tag, MACsec, 802.1ah, NSH, E-Tag, FabricPath, ...).
        recognises: |c| {
            c.linktype() == Some(1)
                && c.layers()
                    .iter()
                    .take_while(|l| !matches!(**l, "ip" | "ipv6"))
                    .any(|l| !WALKED_LAYERS.contains(l))
        },
    },
    PacketClass {
        name: "truncated-ip-header",
        // TShark's dissection ends at the IP layer of a frame cut by the snap
        // length: the IP header itself is incomplete.
        recognises: |c| {
            matches!(c.layers().last(), Some(&"ip" | &"ipv6"))
                && c.field("frame.cap_len") != c.field("frame.len")
        },
    },
    PacketClass {
        name: "version-nibble",
        // A raw-IP link type where TShark shows no IP layer but flowq read one
        // by the header's version nibble.
        recognises: |c| {
            c.linktype()
                .is_some_and(|l| matches!(l, 12 | 14 | 101 | 228 | 229))
                && c.field("ip.src").is_empty()
                && c.field("ipv6.src").is_empty()
                && c.flowq.is_some()
        },
    },
    PacketClass {
        name: "frame-length-clamp",
        // TShark caps frame.len at 2^31 - 1; the record states more.
        recognises: |c| {
            c.field("frame.len") == i32::MAX.to_string()
                && c.flowq.is_some_and(|l| l > i32::MAX as u64)
        },
    },
];

const CAPTURE_DOC: &str = "docs/capture.md";
const CAPTURE_SECTION: &str = "## Checked against TShark";

/// Link types docs/capture.md lists as decoded (the first column of its
/// "Link types" table).
fn documented_link_types() -> BTreeSet<u32> {
    let doc = std::fs::read_to_string(repo_root().join(CAPTURE_DOC)).expect(CAPTURE_DOC);
    let section = doc
        .split_once("## Link types")
        .expect("docs/capture.md has a `## Link types` section")
        .1;
    let section = section.split("\n## ").next().unwrap_or(section);
    let types: BTreeSet<u32> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| LINKTYPE"))
        .flat_map(|l| {
            l.split('|')
                .nth(1)
                .unwrap_or("")
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect();
    assert!(types.contains(&1), "{CAPTURE_DOC}: no link types found");
    types
}

/// The documented counts: class to (records, captures), and the documented
/// number of records that agree.
fn documented_packet_classes() -> (BTreeMap<String, [usize; 2]>, usize) {
    let section = crate::util::doc_section(CAPTURE_DOC, CAPTURE_SECTION);
    let mut table = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        let number = |i: usize| -> usize {
            cells[i]
                .parse()
                .unwrap_or_else(|_| panic!("{CAPTURE_DOC}: `{line}`: cell {i} is not a count"))
        };
        assert!(
            table.insert(name.clone(), [number(2), number(3)]).is_none(),
            "{CAPTURE_DOC}: `{name}` listed twice"
        );
    }
    // "**N records agree**"
    let agree = section
        .split("**")
        .find_map(|part| {
            part.strip_suffix(" records agree")?
                .replace(' ', "")
                .parse()
                .ok()
        })
        .unwrap_or_else(|| {
            panic!("{CAPTURE_DOC}: no `**N records agree**` in `{CAPTURE_SECTION}`")
        });
    (table, agree)
}

/// TShark's view of each record against flowq's packet view, record by record:
/// a record TShark shows with an IPv4 or IPv6 layer must be in a flowq flow
/// with the same bytes on the wire, and a record flowq counts must be one
/// TShark shows as IP. Every record where they disagree must be recognised as
/// one of the documented classes, whose counts docs/capture.md records, so that
/// a capture where some records legitimately differ still has all its other
/// records checked.
#[test]
fn corpus_packets_match_tshark_oracle() {
    let Some((dir, outcomes)) = corpus() else {
        return;
    };
    let decoded = documented_link_types();
    let (documented, documented_agree) = documented_packet_classes();
    let mut tallies: BTreeMap<&str, (usize, BTreeSet<&str>)> = BTreeMap::new();
    let (mut captures, mut agree) = (0, 0);
    let mut unexplained = String::new();
    let mut listing = String::new();
    for outcome in outcomes {
        let entry = &outcome.entry;
        let Some(oracle) = entry.oracle.as_deref() else {
            continue;
        };
        captures += 1;
        let rows = oracle_packet_rows(&dir.join(oracle), entry.format == "pcapng");
        let flowq: HashMap<u64, u64> = match &outcome.result {
            Ok(x) => x.packets.iter().copied().collect(),
            Err(message) => {
                let _ = writeln!(unexplained, "{}: extraction failed: {message}", entry.path);
                continue;
            }
        };
        let beyond = flowq.keys().filter(|&&i| i as usize >= rows.len()).count();
        for i in 0..rows.len() + beyond {
            let row = rows.get(i);
            let tshark = row
                .filter(|r| !r["ip.src"].is_empty() || !r["ipv6.src"].is_empty())
                .map(|r| r["frame.len"].parse::<u64>().expect("frame.len"));
            let ours = flowq.get(&(i as u64)).copied();
            if tshark == ours {
                agree += 1;
                continue;
            }
            let case = PacketCase {
                entry,
                row,
                flowq: ours,
                oracle_records: rows.len(),
                decoded: &decoded,
            };
            let what = format!(
                "{} record {i}: TShark {} / flowq {} ({})",
                entry.path,
                tshark.map_or("no IP".to_string(), |l| format!("IP, {l} bytes")),
                ours.map_or("not in a flow".to_string(), |l| format!("{l} bytes")),
                case.field("frame.protocols")
            );
            match PACKET_CLASSES.iter().find(|k| (k.recognises)(&case)) {
                Some(class) => {
                    let tally = tallies.entry(class.name).or_default();
                    tally.0 += 1;
                    tally.1.insert(entry.path.as_str());
                    if tally.0 <= 3 {
                        let _ = writeln!(listing, "  {:<20} {what}", class.name);
                    }
                }
                None => {
                    let _ = writeln!(unexplained, "{what}");
                }
            }
        }
    }
    assert_eq!(
        captures, ORACLE_CAPTURES,
        "captures with a TShark table in the corpus"
    );
    let mut report = format!(
        "oracle: {captures} captures, {agree} records agree\n{:<20} {:>8} {:>8}\n",
        "class", "records", "captures"
    );
    let mut problems = Vec::new();
    for class in PACKET_CLASSES {
        let (records, files) = tallies.remove(class.name).unwrap_or_default();
        let _ = writeln!(report, "{:<20} {records:>8} {:>8}", class.name, files.len());
        let measured = [records, files.len()];
        match documented.get(class.name) {
            None => problems.push(format!(
                "`{}` is not in the table of {CAPTURE_DOC}",
                class.name
            )),
            Some(counts) if *counts != measured => problems.push(format!(
                "`{}` explains {measured:?} (records, captures), {CAPTURE_DOC} says {counts:?}",
                class.name
            )),
            Some(_) => {}
        }
    }
    for name in documented.keys() {
        if !PACKET_CLASSES.iter().any(|k| k.name == name) {
            problems.push(format!(
                "{CAPTURE_DOC} lists `{name}`, which is not a class of this test"
            ));
        }
    }
    // The docs say a record counts for the first class in the table's order.
    let doc = std::fs::read_to_string(repo_root().join(CAPTURE_DOC)).expect(CAPTURE_DOC);
    let table_order: Vec<&str> = doc
        .split_once(CAPTURE_SECTION)
        .map_or("", |(_, rest)| rest.split("\n## ").next().unwrap_or(rest))
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1))
        .collect();
    let test_order: Vec<&str> = PACKET_CLASSES.iter().map(|k| k.name).collect();
    if table_order != test_order {
        problems.push(format!(
            "{CAPTURE_DOC} lists the classes in the order {table_order:?}, the test tries {test_order:?}"
        ));
    }
    if agree != documented_agree {
        problems.push(format!(
            "{agree} records agree; {CAPTURE_DOC} says {documented_agree}"
        ));
    }
    if !unexplained.is_empty() {
        problems.push(format!(
            "records where flowq and TShark differ for no documented reason:\n{unexplained}"
        ));
    }
    eprintln!("{report}\nfirst records of each class:\n{listing}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
