//! `_dataset.json`: what a dataset directory holds and how it was made, so that a
//! dataset can be audited, reproduced and extended (`--append`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The manifest's file name inside a dataset directory.
/// The leading underscore is the Hadoop/Spark/Arrow convention for metadata
/// next to data files: pandas (pyarrow), Spark and DuckDB globs skip it when
/// they read the directory, where a plain `dataset.json` makes pyarrow fail
/// (docs/datasets.md).
pub const MANIFEST_NAME: &str = "_dataset.json";

/// Bumped when the manifest's layout changes incompatibly.
pub const MANIFEST_VERSION: u32 = 1;

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version of this file.
    pub manifest_version: u32,
    /// The flowq that wrote the dataset (the last run, for appended datasets).
    pub flowq_version: String,
    /// `parquet` or `csv`.
    pub format: String,
    /// `capture`, `date`, `hour` or `none`.
    pub partition_by: String,
    /// Columns that come from the directory names (`capture=...`), not the files.
    pub partition_columns: Vec<String>,
    /// Every option that shapes the rows; `--append` requires the same.
    pub options: Value,
    /// The columns of the data files, with their meaning.
    pub schema: Vec<ColumnEntry>,
    /// One entry per capture (or per rotated set), in the order added.
    pub inputs: Vec<InputEntry>,
    /// Sums over `inputs`.
    pub totals: Totals,
    /// Label-rule problems found (disagreeing overlaps, rules that matched
    /// nothing in the whole dataset).
    pub warnings: Vec<String>,
    /// With --labels: per rule (in rule order) its name, label, category and the
    /// flows it matched and labelled over the whole dataset, and the flows
    /// several rules matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_rules: Option<Value>,
}

/// One column of the data files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnEntry {
    /// The column name.
    pub name: String,
    /// Its Arrow type.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether it can be null.
    pub nullable: bool,
    /// Its definition (units, direction); docs/features.md has the full text.
    pub description: String,
}

/// One file that went into an input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// The path as given on the command line.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file's bytes, as 64 lowercase hexadecimal characters.
    pub sha256: String,
}

/// One capture (or one rotated set of files read as one stream).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputEntry {
    /// The capture's name: the value of the `capture` partition column.
    pub name: String,
    /// The file, or the rotated files in stream order.
    pub files: Vec<FileEntry>,
    /// `pcap` or `pcapng`, when it could be opened.
    pub format: Option<String>,
    /// `complete`, `partial` (the file was cut off or corrupt part-way; the
    /// packets before were used) or `failed` (nothing could be read).
    pub status: String,
    /// Why it is partial or failed.
    pub message: Option<String>,
    /// Packet records read.
    pub packets: u64,
    /// Packets counted in flows.
    pub packets_in_flows: u64,
    /// Packets skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Flows written.
    pub flows: u64,
    /// Flows ended because the process's `--flow-memory` budget was spent by
    /// captures read at once: when nonzero, this input's files depend on what
    /// else was running (absent when zero, the reproducible case).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub memory_evicted_flows: u64,
    /// Packets `--dedup` dropped (absent when zero).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicates_dropped: u64,
    /// Packets `--reorder-window` could not put in order (absent when zero).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reorder_late: u64,
    /// Packets `--reorder-window` passed on early, its buffer full (absent when zero).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reorder_forced: u64,
    /// The data files written for this input, relative to the dataset directory.
    pub outputs: Vec<String>,
    /// Flows per label (with --labels).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, u64>,
    /// Flows labelled per rule, in rule order (with --labels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_matches: Vec<u64>,
    /// Flows each rule matched, labelled or taken by another rule, in rule order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_hits: Vec<u64>,
    /// Flows more than one rule matched.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub multiply_matched: u64,
    /// `[labelling rule, other matching rule, flows]`, rules as indices in rule
    /// order, for the flows several rules matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_overrides: Vec<(usize, usize, u64)>,
}

/// Sums over the inputs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Inputs in the dataset.
    pub inputs: u64,
    /// Packet records read.
    pub packets: u64,
    /// Flows written.
    pub flows: u64,
    /// Packets skipped, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Flows per label.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, u64>,
}

impl Manifest {
    /// Reads the manifest of the dataset in `dir`, if there is one.
    pub fn read(dir: &Path) -> anyhow::Result<Option<Manifest>> {
        let path = dir.join(MANIFEST_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        };
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!("{} is not a flowq dataset manifest: {e}", path.display())
        })?;
        if manifest.manifest_version > MANIFEST_VERSION {
            anyhow::bail!(
                "{} was written by a newer flowq (manifest version {}); this flowq reads up to {}",
                path.display(),
                manifest.manifest_version,
                MANIFEST_VERSION
            );
        }
        Ok(Some(manifest))
    }

    /// Recomputes the totals from the inputs.
    pub fn recompute_totals(&mut self) {
        let mut totals = Totals::default();
        for input in &self.inputs {
            totals.inputs += 1;
            totals.packets += input.packets;
            totals.flows += input.flows;
            for (reason, n) in &input.skipped {
                *totals.skipped.entry(reason.clone()).or_default() += n;
            }
            for (label, n) in &input.labels {
                *totals.labels.entry(label.clone()).or_default() += n;
            }
        }
        self.totals = totals;
    }

    /// Writes the manifest atomically (temporary file, then rename).
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        let path = dir.join(MANIFEST_NAME);
        let mut temp = tempfile::Builder::new()
            .prefix("._dataset.json.")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        use std::io::Write as _;
        temp.write_all(text.as_bytes())
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644));
        }
        temp.persist(&path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        Ok(())
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
