//! `--profile seed` against the original script's own output.
//!
//! `testdata/seed/*.csv` were written by `../shared/reference/seed_script.py`
//! itself (scapy + pandas; `testdata/seed/regen.sh` rebuilds them), for captures
//! built in `testdata/seed/` and for corpus captures (`<source>__<file>.csv` is
//! the output for `../shared/pcaps/<source>/<file>`). flowq must print the same
//! bytes for every IPv4 flow. IPv6 flows, which the script dropped, are removed
//! from flowq's output before comparing: including them is a documented
//! difference. Fixtures where flowq deliberately differs are listed with a reason
//! in `testdata/seed/exceptions.tsv`.

use crate::util::{flowq_bin, repo_root, shared_pcaps};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn exceptions() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo_root().join("testdata/seed/exceptions.tsv"))
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Where the capture behind a fixture is.
enum Source {
    /// Built in `testdata/seed/`.
    Local(PathBuf),
    /// `../shared/pcaps/<source>/<file>` for `<source>__<file>.csv`.
    Corpus(String, String),
}

fn source_of(fixture: &str) -> Source {
    let name = fixture
        .strip_suffix(".csv")
        .unwrap_or_else(|| panic!("{fixture}: not a .csv fixture"));
    let local = repo_root().join("testdata/seed").join(name);
    if local.exists() {
        return Source::Local(local);
    }
    let (source, file) = name.split_once("__").unwrap_or_else(|| {
        panic!("{fixture}: no capture testdata/seed/{name}, and not a corpus fixture <source>__<file>.csv")
    });
    Source::Corpus(source.to_string(), file.to_string())
}

fn flowq_seed(capture: &Path) -> String {
    let out = Command::new(flowq_bin())
        .args([
            "extract",
            capture.to_str().unwrap(),
            "-o",
            "-",
            "--profile",
            "seed",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "flowq failed on {}: {}",
        capture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// flowq's CSV without its IPv6 rows, in the script's layout (the script writes a
/// lone newline and no header when it has no rows).
fn ipv4_only(csv: &str) -> String {
    let mut lines = csv.lines();
    let header = lines.next().unwrap_or_default();
    let rows: Vec<&str> = lines.filter(|l| !l.contains(':')).collect();
    if rows.is_empty() {
        return "\n".to_string();
    }
    let mut out = String::from(header);
    out.push('\n');
    for row in rows {
        out.push_str(row);
        out.push('\n');
    }
    out
}

#[test]
fn seed_profile_reproduces_the_original_script() {
    let dir = repo_root().join("testdata/seed");
    let exceptions = exceptions();
    let mut fixtures: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 10,
        "fixtures are missing from {}",
        dir.display()
    );
    // Without the corpus (a visible skip, an error under .ci/run) only the
    // fixtures of captures built here are compared.
    let pcaps = shared_pcaps();
    let (mut compared, mut failures) = (0, Vec::new());
    for fixture in &fixtures {
        let capture = match (source_of(fixture), &pcaps) {
            (Source::Local(path), _) => path,
            (Source::Corpus(source, file), Some(pcaps)) => pcaps.join(source).join(file),
            (Source::Corpus(..), None) => continue,
        };
        let expected = std::fs::read_to_string(dir.join(fixture)).unwrap();
        let actual = ipv4_only(&flowq_seed(&capture));
        compared += 1;
        match (actual == expected, exceptions.get(fixture.as_str())) {
            (true, None) => {}
            (true, Some(_)) => failures.push(format!(
                "{fixture}: listed in exceptions.tsv but now matches; remove its line"
            )),
            (false, Some(_)) => {}
            (false, None) => {
                let diff: Vec<String> = expected
                    .lines()
                    .zip(actual.lines())
                    .filter(|(e, a)| e != a)
                    .take(3)
                    .map(|(e, a)| format!("    script: {e}\n    flowq:  {a}"))
                    .collect();
                failures.push(format!(
                    "{fixture}: {} script lines vs {} flowq lines\n{}",
                    expected.lines().count(),
                    actual.lines().count(),
                    diff.join("\n")
                ));
            }
        }
    }
    for listed in exceptions.keys() {
        if !fixtures.contains(listed) {
            failures.push(format!(
                "{listed}: listed in exceptions.tsv but no such fixture"
            ));
        }
    }
    eprintln!("compared {compared} of {} seed fixtures", fixtures.len());
    assert!(
        failures.is_empty(),
        "seed profile differs:\n{}",
        failures.join("\n")
    );
}
