//! Replays the fuzzers' regression inputs (`fuzz/regressions/<target>/`) and a
//! few seed captures through the fuzz harnesses' own checks, on stable Rust,
//! without cargo-fuzz. See fuzz/README.md.

#[path = "../fuzz/harness.rs"]
mod harness;

use crate::util::{flowq_bin, repo_root};
use std::path::{Path, PathBuf};

/// Regression inputs whose engine fix is pending: skipped by the replay below
/// and replayed by their own ignored tests, until fixed (then remove them here).
const PENDING: &[&str] = &[];

/// The regression inputs of one target, in name order.
fn regressions(target: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("fuzz/regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every file, reporting all the files that fail.
fn replay(files: &[PathBuf], check: fn(&[u8])) {
    let mut failed = Vec::new();
    for file in files {
        let name = format!(
            "{}/{}",
            file.parent()
                .and_then(Path::file_name)
                .unwrap_or_default()
                .to_string_lossy(),
            file.file_name().unwrap_or_default().to_string_lossy()
        );
        if PENDING.contains(&name.as_str()) {
            continue;
        }
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if std::panic::catch_unwind(|| check(&bytes)).is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "fuzz regressions fail: {failed:?}");
}

/// Replays one pending input (for the ignored tests of `PENDING` entries).
fn replay_one(name: &str, check: fn(&[u8])) {
    let bytes = std::fs::read(repo_root().join("fuzz/regressions").join(name)).expect(name);
    check(&bytes);
}

#[test]
fn capture_reader_regressions() {
    let files = regressions("capture_reader");
    replay(&files, harness::capture_reader);
    for file in &files {
        let name = format!(
            "capture_reader/{}",
            file.file_name().unwrap_or_default().to_string_lossy()
        );
        if !PENDING.contains(&name.as_str()) {
            extract_in_bounded_memory(file);
        }
    }
}

/// `flowq extract` of `file` under a 2 GiB address-space limit ends with a
/// status (0, 1 or 2) and, when not 0, a message: never killed by a failed
/// allocation. (In process, an allocation failure would abort the test binary,
/// and without a limit a huge allocation may just succeed.)
fn extract_in_bounded_memory(file: &Path) {
    let out = tempfile::tempdir().expect("temporary directory");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" extract \"$1\" -o \"$2\"")
        .arg(flowq_bin())
        .arg(file)
        .arg(out.path().join("flows.csv"))
        .output()
        .expect("run flowq");
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(1 | 2) => assert!(!stderr.trim().is_empty(), "{}: no message", file.display()),
        other => panic!(
            "{}: flowq ended with {other:?} under a 2 GiB memory limit: {stderr}",
            file.display()
        ),
    }
}

#[test]
fn pipeline_regressions() {
    replay(&regressions("pipeline"), harness::pipeline);
}

/// A pcap header's snap length (here 4 GiB - 1) lets one record header ask for
/// up to that many bytes: `PcapState::next` (capture/pcap.rs) bounds a record by
/// max(snap length, 262 144) and `ReadBuffer::fill_slow` (capture/buffer.rs)
/// then resizes its buffer to the claimed length before reading, so a 104-byte
/// file allocates (and zero-fills) 3.75 GiB. Found by the `capture_reader`
/// target (libFuzzer out-of-memory, malloc(3537895424)). Fixed: a snap length
/// raises the record bound to 16 MiB at most.
#[test]
fn huge_snap_length_does_not_allocate_gigabytes() {
    let file = repo_root().join("fuzz/regressions/capture_reader/oom-pcap-huge-snaplen");
    extract_in_bounded_memory(&file);
    replay_one(
        "capture_reader/oom-pcap-huge-snaplen",
        harness::capture_reader,
    );
}

/// Two packets: GRE stamped at the 64-bit limit (year 2262), then a TCP RST
/// stamped 1970. The RST closes its flow with a grace deadline that saturates at
/// `i64::MAX` (`FlowTable::finish`, flow/table.rs: `deadline_base
/// .saturating_add(close_grace_ns)`), the same end time as every open flow at the
/// end of the capture. One table emits closed flows before open ones (RST flow
/// first); the shard merge (`shard::merge`/`order`, shard/mod.rs) sorts by (end
/// time, first packet) (GRE flow first). So `-j 2` writes the two rows in the
/// other order than `-j 1`. Found by the `pipeline` target. Fixed: a flow that
/// ends before the capture's end never gets the end time `i64::MAX`.
#[test]
fn saturated_grace_deadline_sorts_before_open_flows_with_shards() {
    replay_one(
        "pipeline/shard-order-saturated-grace-deadline",
        harness::pipeline,
    );
}

/// The checked-in captures hold every invariant, whole and cut at many points.
#[test]
fn seed_captures_hold_the_invariants() {
    let mut seeds = vec![repo_root().join("testdata/sample.pcap")];
    let seed_dir = repo_root().join("testdata/seed");
    for entry in std::fs::read_dir(&seed_dir).expect("testdata/seed") {
        let path = entry.expect("directory entry").path();
        if path
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng")
        {
            seeds.push(path);
        }
    }
    seeds.sort();
    for seed in &seeds {
        let bytes = std::fs::read(seed).expect("seed capture");
        harness::capture_reader(&bytes);
        // Truncated anywhere: a partial input that still adds up.
        let step = (bytes.len() / 7).max(1);
        for cut in (1..bytes.len()).step_by(step) {
            harness::capture_reader(&bytes[..cut]);
        }
    }
    // An empty file and a lone magic number fail cleanly.
    harness::capture_reader(&[]);
    harness::capture_reader(&[0xd4, 0xc3, 0xb2, 0xa1]);
}

/// The decoder target's regression inputs (none so far: its own test would
/// replay nothing), then every frame of the sample capture under every link type.
#[test]
fn decoder_regressions_and_seeds() {
    replay(&regressions("decoder"), harness::decoder);
    let bytes = std::fs::read(repo_root().join("testdata/sample.pcap")).expect("sample");
    // Classic pcap, little-endian: 24-byte header, 16-byte record headers.
    let mut at = 24;
    let mut frames = 0;
    while at + 16 <= bytes.len() && frames < 100 {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &bytes[at + 16..(at + 16 + caplen).min(bytes.len())];
        for pick in 0..harness::LINKTYPES.len() as u8 {
            let mut input = vec![pick, 0, 0];
            input.extend_from_slice(frame);
            harness::decoder(&input);
        }
        at += 16 + caplen;
        frames += 1;
    }
    assert!(frames > 0);
}

/// The pipeline generator on a few fixed programs.
#[test]
fn pipeline_seeds() {
    harness::pipeline(&[]);
    harness::pipeline(&[0; 64]);
    harness::pipeline(&(0..=255).collect::<Vec<u8>>());
    harness::pipeline(&(0..=255).rev().cycle().take(2000).collect::<Vec<u8>>());
}
