//! Shared helpers for the integration tests.

#![allow(dead_code)]

pub mod capture;
pub mod frames;
pub mod rows;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the `flowq` binary built for these tests.
pub fn flowq_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flowq"))
}

/// Runs the flowq binary with `args` and collects its output.
pub fn flowq(args: &[&str]) -> Output {
    Command::new(flowq_bin())
        .args(args)
        .output()
        .expect("the flowq binary runs")
}

/// Runs the flowq binary with `args` in the working directory `cwd`.
pub fn flowq_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(flowq_bin())
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("the flowq binary runs")
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Set (to anything but `0`) by `.ci/run`: material beside the repository
/// (`../shared/pcaps`, `../shared/reference`) must be there, and a test that
/// needs it fails instead of skipping. `CI` has the same effect.
pub const REQUIRE_CORPUS_ENV: &str = "FLOWQ_REQUIRE_CORPUS";

/// Whether missing shared material is an error rather than a skip.
pub fn corpus_required() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    set(REQUIRE_CORPUS_ENV) || std::env::var_os("CI").is_some()
}

/// `path` (below `../shared/` beside the repository) if it exists. Otherwise
/// the test fails when [`corpus_required`], else prints a note that the calling
/// test skipped `what` and returns `None`.
fn shared(path: &str, what: &str) -> Option<PathBuf> {
    let full = repo_root().join("../shared").join(path);
    if full.exists() {
        return Some(full);
    }
    assert!(
        !corpus_required(),
        "{} is missing, but {REQUIRE_CORPUS_ENV} (set by .ci/run) or CI says it must be there",
        full.display()
    );
    skip_note(&format!("{} is absent: {what} skipped", full.display()));
    None
}

/// Prints `note: TEST: message` where the person running the tests sees it.
///
/// The test harness captures what `eprintln!` prints and shows it only for a
/// failing test, so a skip reported that way is invisible in a passing run.
/// Writing to the process's standard error directly goes past the capture.
pub fn skip_note(message: &str) {
    use std::io::Write as _;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr().lock(), "note: {test}: {message}");
}

/// The text of the section of the doc `path` (relative to the repository)
/// that starts at `heading`, up to the next `## ` heading.
pub fn doc_section(path: &str, heading: &str) -> String {
    let doc = std::fs::read_to_string(repo_root().join(path)).expect(path);
    let section = doc
        .split_once(heading)
        .unwrap_or_else(|| panic!("{path} has no `{heading}` section"))
        .1;
    section.split("\n## ").next().unwrap_or(section).to_string()
}

/// The shared capture corpus (`../shared/pcaps` beside the repository), if present.
/// Its absence fails the test under `.ci/run`, and is a visible skip elsewhere.
pub fn shared_pcaps() -> Option<PathBuf> {
    let dir = shared("pcaps", "the corpus checks")?;
    assert!(
        dir.join("MANIFEST.tsv").is_file(),
        "{} has no MANIFEST.tsv: an incomplete corpus",
        dir.display()
    );
    Some(dir)
}

/// A file of the research notes beside the repository (`../shared/reference/NAME`),
/// if present; the same rules as [`shared_pcaps`].
pub fn shared_reference(name: &str) -> Option<PathBuf> {
    shared(
        &format!("reference/{name}"),
        "the checks against the published reference",
    )
}

/// The text of a TShark oracle table of the corpus (`.tsv`, or `.tsv.gz`
/// decompressed with the system's gzip: flate2 is not a dependency here).
pub fn read_oracle_text(path: &Path) -> String {
    if path.extension().is_some_and(|e| e == "gz") {
        let output = Command::new("gzip")
            .arg("-dc")
            .arg(path)
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
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }
}

/// The rows of a TShark oracle table that stand for packet records, each as
/// field name to text: pcapng custom blocks, which TShark lists as rows without
/// an interface, are left out, so that row `i` is the capture's record `i`.
pub fn oracle_packet_rows(
    path: &Path,
    pcapng: bool,
) -> Vec<std::collections::HashMap<String, String>> {
    let text = read_oracle_text(path);
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_else(|| panic!("{} is empty", path.display()))
        .split('\t')
        .collect();
    assert!(
        header.contains(&"frame.interface_id"),
        "{} has no frame.interface_id column",
        path.display()
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|line| {
            header
                .iter()
                .zip(line.split('\t').chain(std::iter::repeat("")))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<String, String>>()
        })
        .filter(|row| !(pcapng && row["frame.interface_id"].is_empty()))
        .collect()
}

/// The rows of a simple CSV text (header line, no quoted fields), each as
/// column name to text; empty lines are ignored.
pub fn csv_rows(text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let header: Vec<&str> = header.split(',').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|line| {
            header
                .iter()
                .zip(line.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
