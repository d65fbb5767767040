//! Replays the fuzzers' regression inputs (`fuzz/regressions/<target>/`) and a
//! few seed captures through the fuzz harnesses' own checks, on stable Rust,
//! without cargo-fuzz. See fuzz/README.md.

#[path = "../fuzz/harness.rs"]
mod harness;

use crate::util::repo_root;
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
#[allow(dead_code)]
fn replay_one(name: &str, check: fn(&[u8])) {
    let bytes = std::fs::read(repo_root().join("fuzz/regressions").join(name)).expect(name);
    check(&bytes);
}

#[test]
fn capture_reader_regressions() {
    replay(&regressions("capture_reader"), harness::capture_reader);
}

#[test]
fn decoder_regressions() {
    replay(&regressions("decoder"), harness::decoder);
}

#[test]
fn pipeline_regressions() {
    replay(&regressions("pipeline"), harness::pipeline);
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

/// Every frame of the sample capture, under every link type.
#[test]
fn decoder_seeds() {
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
