//! The rule that data flows one way, checked: every top-level module has a
//! layer, and its non-test code names (`crate::x`) only modules of lower
//! layers. A new module must be given a layer here; an edge that goes up or
//! sideways fails the test with the file that has it.
//!
//! ```text
//! 7  extract                                    the driver
//! 6  options                                    profile and options -> each stage's settings
//! 5  batch                                      finished flows -> record batches
//! 4  features   shard                           per-flow state; the sharded flow tables
//! 3  flow       stream                          the flow table; decoded packets with a clock
//! 2  decode     live     summary  preprocess     packets; run control; run reports; reorder/dedup
//! 1  capture                                    capture files -> records
//! 0  app   sink   timestamp                     leaves
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each module's layer (see the module docs).
const LAYERS: &[(&str, u8)] = &[
    ("app", 0),
    ("sink", 0),
    ("timestamp", 0),
    ("capture", 1),
    ("decode", 2),
    ("live", 2),
    ("summary", 2),
    ("preprocess", 2),
    ("flow", 3),
    ("stream", 3),
    ("features", 4),
    ("shard", 4),
    ("batch", 5),
    ("options", 6),
    ("extract", 7),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|&(_, l)| l)
}

/// The code of a file without its comments (doc links are not dependencies)
/// and its test items: by convention the top-level `#[cfg(test)]` items come
/// last (checked).
fn non_test_code(path: &Path, text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let cut = (lines.iter().position(|l| *l == "#[cfg(test)]")).unwrap_or(lines.len());
    for (i, line) in lines.iter().enumerate().skip(cut) {
        let starts_item = [
            "pub",
            "fn ",
            "impl",
            "use ",
            "mod ",
            "struct ",
            "enum ",
            "const ",
            "static ",
            "type ",
            "trait ",
            "macro_rules!",
        ]
        .iter()
        .any(|k| line.starts_with(k));
        if starts_item {
            assert!(
                lines[..i].iter().rev().find(|l| !l.starts_with("//")) == Some(&"#[cfg(test)]"),
                "{}:{}: a top-level item after the tests is not #[cfg(test)]",
                path.display(),
                i + 1
            );
        }
    }
    lines[..cut]
        .iter()
        .filter(|l| !l.trim_start().starts_with("//"))
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names as `crate::x` (also inside
/// `use crate::{x, y::z}` groups); `crate::Name` (root re-exports) as "<root>".
fn crate_refs(code: &str) -> Vec<String> {
    let mut refs = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded {
            continue; // e.g. `flowq_extract::` in a doc example
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_name = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_name = true,
                    c if depth == 0 && at_name && (c.is_alphanumeric() || c == '_') => name.push(c),
                    _ if !name.is_empty() => {
                        refs.push(std::mem::take(&mut name));
                        at_name = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                refs.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            refs.push(name);
        }
    }
    refs.into_iter()
        .map(|r| {
            if r.starts_with(|c: char| c.is_uppercase()) {
                "<root>".to_string()
            } else {
                r
            }
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module graph: for each top-level module, the modules its non-test
/// code names, with a file that names each.
fn module_graph() -> BTreeMap<String, BTreeMap<String, PathBuf>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, PathBuf>> = BTreeMap::new();
    for path in files {
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs").to_string();
        if module == "lib" || module == "layers" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !non_test_code(&path, &text).contains("super::super"),
            "{}: reaches past its parent with super::super; name the module as crate::x",
            path.display()
        );
        let edges = graph.entry(module.clone()).or_default();
        for target in crate_refs(&non_test_code(&path, &text)) {
            if target != module {
                edges
                    .entry(target)
                    .or_insert_with(|| relative.to_path_buf());
            }
        }
    }
    graph
}

#[test]
fn data_flows_one_way() {
    let graph = module_graph();
    let mut problems = Vec::new();
    for (module, edges) in &graph {
        let Some(from) = layer(module) else {
            problems.push(format!("module `{module}` has no layer in layers.rs"));
            continue;
        };
        for (target, file) in edges {
            match layer(target) {
                Some(to) if to < from => {}
                Some(to) => problems.push(format!(
                    "{}: `{module}` (layer {from}) uses `{target}` (layer {to})",
                    file.display()
                )),
                None => problems.push(format!(
                    "{}: `{module}` uses `crate::{target}`, not a layered module \
                     (root re-exports are for other crates)",
                    file.display()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn crate_refs_reads_paths_and_groups() {
    let code = "use crate::flow::{A, B};\nuse crate::{decode::{self, X}, live};\n\
                fn f() -> crate::batch::Y { crate::Z }\nflowq_extract::capture::X";
    assert_eq!(
        crate_refs(code),
        ["flow", "decode", "live", "batch", "<root>"]
    );
}
