//! Shared helpers for the integration tests.

#![allow(dead_code)]

pub mod capture;
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

/// The shared capture corpus (`../shared/pcaps` beside the repository), if present.
pub fn shared_pcaps() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/pcaps");
    if dir.is_dir() {
        Some(dir)
    } else if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing, but CI must have the capture corpus",
            dir.display()
        );
    } else {
        eprintln!(
            "note: {} is absent; corpus tests are skipped on this machine",
            dir.display()
        );
        None
    }
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
