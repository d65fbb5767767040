//! Datasets: many captures into one directory of hive-partitioned Parquet (or
//! CSV) files with a `_dataset.json` manifest, optionally labelled, anonymized
//! and stripped of identifiers (docs/datasets.md).
//!
//! Each capture is extracted on its own by one worker (its flows and files
//! depend on nothing else), so the files are byte-identical whatever the number
//! of workers, and `--append` only has to extract the new captures.

pub mod cryptopan;
pub mod labels;
pub mod manifest;
pub mod partition;
pub mod transform;

use crate::output_metadata;
use anyhow::{Context, bail};
use arrow::record_batch::RecordBatch;
use flowq_extract::capture::InputSource;
use flowq_extract::sink::{CsvOptions, FlowSink, OutputFormat, OutputTarget, open_sink_with_csv};
use flowq_extract::{ExtractError, ExtractOptions, Extractor, InputStatus};
use manifest::{ColumnEntry, FileEntry, InputEntry, Manifest};
use partition::{PartitionBy, Partitioner, safe_name};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

/// Most files one capture may write (time partitions): each stays open, with
/// its writer and buffered rows, until the capture ends. 1024 hours is six
/// weeks of hourly partitions; 1024 days is nearly three years.
const MAX_PARTITION_FILES: usize = 1024;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use transform::{FlowTransform, TransformSpec};

/// The label counts of a whole dataset, summed over its inputs' entries.
pub fn dataset_label_counts(rules: &labels::RuleSet, inputs: &[InputEntry]) -> labels::LabelCounts {
    let mut total = labels::LabelCounts::new(rules);
    for input in inputs {
        let mut counts = labels::LabelCounts::new(rules);
        counts.flows_per_label = input.labels.clone();
        for (to, from) in counts.matches_per_rule.iter_mut().zip(&input.rule_matches) {
            *to = *from;
        }
        for (to, from) in counts.hits_per_rule.iter_mut().zip(&input.rule_hits) {
            *to = *from;
        }
        counts.multiply_matched = input.multiply_matched;
        for &(w, m, n) in &input.rule_overrides {
            if w < rules.rules.len() && m < rules.rules.len() {
                counts.overrides.insert((w, m), n);
            }
        }
        total.merge(&counts);
    }
    total
}

/// One unit of work: a capture, or a rotated set read as one stream.
#[derive(Debug, Clone)]
pub struct Job {
    /// The partition value and file stem.
    pub name: String,
    /// What the extractor reads.
    pub source: InputSource,
    /// The files behind it, in stream order.
    pub files: Vec<PathBuf>,
}

/// Everything a dataset run needs.
pub struct DatasetRun {
    /// The dataset directory.
    pub dir: PathBuf,
    /// Partitioning.
    pub partition_by: PartitionBy,
    /// Parquet or CSV.
    pub format: OutputFormat,
    /// Add to an existing dataset.
    pub append: bool,
    /// Captures extracted at once.
    pub jobs: usize,
    /// Extraction options (threads is per capture).
    pub options: ExtractOptions,
    /// Labels, anonymization, identifiers.
    pub transform: TransformSpec,
    /// The options recorded in the manifest (and compared by `--append`).
    pub recorded_options: serde_json::Value,
    /// Set by Ctrl-C.
    pub cancel: Arc<AtomicBool>,
    /// Print a line per finished capture.
    pub verbose: bool,
}

/// What a dataset run did, for the summary and the exit code.
#[derive(Debug, Default)]
pub struct DatasetOutcome {
    /// Captures extracted in this run.
    pub extracted: usize,
    /// Captures skipped because the dataset already has them.
    pub already_present: usize,
    /// Captures that could not be read at all, or only in part.
    pub degraded: usize,
    /// Ctrl-C stopped the run: finished captures are in the dataset, the ones
    /// in progress are not.
    pub interrupted: bool,
    /// The manifest as written.
    pub manifest: Option<Manifest>,
}

impl DatasetRun {
    /// Runs the jobs and writes the dataset.
    pub fn run(&self, jobs: Vec<Job>) -> anyhow::Result<DatasetOutcome> {
        // Options that cannot work are refused before the directory is touched.
        let extractor = Extractor::new(self.options);
        let columns = extractor.options().columns();
        FlowTransform::new(self.transform.clone(), &columns, &extractor.schema())?;
        Partitioner::new(
            self.partition_by,
            "check",
            &columns,
            format_name(self.format),
        )?;
        let existing = self.prepare_directory()?;
        let mut manifest = match existing {
            Some(m) => {
                self.check_compatible(&m)?;
                m
            }
            None => self.new_manifest()?,
        };

        // A capture the dataset already has is skipped, and a new capture whose
        // name is taken gets a suffix from its hash: both need the hash before
        // extraction. Otherwise each capture is hashed while it is extracted
        // (the second read overlaps the first, on another core).
        let mut outcome = DatasetOutcome::default();
        let mut taken: Vec<String> = manifest.inputs.iter().map(|i| i.name.clone()).collect();
        let names: Vec<String> = jobs.iter().map(|j| safe_name(&j.name)).collect();
        let needs_hash: Vec<bool> = names
            .iter()
            .map(|n| {
                !manifest.inputs.is_empty()
                    || taken.contains(n)
                    || names.iter().filter(|m| *m == n).count() > 1
            })
            .collect();
        let indexed: Vec<(usize, &Job)> = jobs.iter().enumerate().collect();
        let hashes = parallel_map(&indexed, self.jobs, &[&self.cancel], |(i, job)| {
            needs_hash[*i]
                .then(|| {
                    job.files
                        .iter()
                        .map(|f| hash_file(f))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
                .transpose()
        });
        let mut planned = Vec::new();
        for ((job, mut name), files) in jobs.into_iter().zip(names).zip(hashes) {
            let Some(files) = files else {
                bail!("interrupted before any capture was extracted; nothing was written");
            };
            let files = files?;
            if let Some(files) = &files {
                if manifest.inputs.iter().any(|i| same_bytes(&i.files, files)) {
                    outcome.already_present += 1;
                    if self.verbose {
                        eprintln!("flowq: {}: already in the dataset, skipped", job.name);
                    }
                    continue;
                }
                if taken.contains(&name) {
                    name = format!("{name}~{}", &files[0].sha256[..12]);
                }
            }
            taken.push(name.clone());
            planned.push((Job { name, ..job }, files));
        }

        let results = self.extract_all(&planned);
        let mut failures = Vec::new();
        let mut stopped = 0;
        for ((job, _), result) in planned.iter().zip(results) {
            match result {
                Some(Ok(entry)) => {
                    if entry.status != "complete" {
                        outcome.degraded += 1;
                    }
                    outcome.extracted += 1;
                    manifest.inputs.push(entry);
                }
                Some(Err(e)) => failures.push(format!("{}: {e:#}", job.name)),
                // Not started, or stopped by Ctrl-C or by another capture's failure.
                None => stopped += 1,
            }
        }
        if !failures.is_empty() {
            // Files of the captures that finished are in place; the manifest is
            // written so that `--append` can resume, then the run fails.
            self.finish_manifest(&mut manifest)?;
            if stopped > 0 {
                failures.push(format!(
                    "{stopped} other capture(s) were stopped or not started; the finished ones are in the dataset, --append adds the rest"
                ));
            }
            bail!("{}", failures.join("\n"));
        }
        outcome.interrupted = stopped > 0;
        self.finish_manifest(&mut manifest)?;
        outcome.manifest = Some(manifest);
        Ok(outcome)
    }

    fn prepare_directory(&self) -> anyhow::Result<Option<Manifest>> {
        if self.dir.exists() && !self.dir.is_dir() {
            bail!("{} is a file, not a dataset directory", self.dir.display());
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let existing = Manifest::read(&self.dir)?;
        let has_entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("cannot list {}", self.dir.display()))?
            .any(|e| e.is_ok());
        match (&existing, self.append) {
            (Some(_), false) => bail!(
                "{} already holds a dataset; add captures with --append, or choose a new directory",
                self.dir.display()
            ),
            (None, _) if has_entries => bail!(
                "{} is not empty and has no {}; a dataset needs a directory of its own",
                self.dir.display(),
                manifest::MANIFEST_NAME
            ),
            _ => {}
        }
        Ok(existing)
    }

    fn new_manifest(&self) -> anyhow::Result<Manifest> {
        let extractor = Extractor::new(self.options);
        let columns = extractor.options().columns();
        let transform = FlowTransform::new(self.transform.clone(), &columns, &extractor.schema())?;
        let mut descriptions: Vec<String> =
            columns.iter().map(|c| c.def().doc.to_string()).collect();
        descriptions.push("the class label given by the label rules (or the default label)".into());
        descriptions.push(
            "the rule that gave the label: its name, or FILE:LINE; null for the default label"
                .into(),
        );
        descriptions.push(
            "the labelling rule's category (the CIC rule sets' Attempted category: -1 not \
             attempted, 0-6 why attempted); the set's default_category for the default label"
                .into(),
        );
        let schema = transform.schema();
        let kept: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let all_names: Vec<String> = extractor
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .chain([
                transform::LABEL_COLUMN.into(),
                transform::LABEL_RULE_COLUMN.into(),
                transform::LABEL_CATEGORY_COLUMN.into(),
            ])
            .collect();
        let entries = kept
            .iter()
            .zip(schema.fields())
            .map(|(name, field)| {
                let doc = all_names
                    .iter()
                    .position(|n| n == name)
                    .and_then(|i| descriptions.get(i))
                    .cloned()
                    .unwrap_or_default();
                ColumnEntry {
                    name: name.clone(),
                    data_type: field.data_type().to_string(),
                    nullable: field.is_nullable(),
                    description: doc,
                }
            })
            .collect();
        Ok(Manifest {
            manifest_version: manifest::MANIFEST_VERSION,
            flowq_version: output_metadata::FLOWQ_VERSION.to_string(),
            format: format_name(self.format).to_string(),
            partition_by: self.partition_by.name().to_string(),
            partition_columns: self.partition_by.columns(),
            options: self.recorded_options.clone(),
            schema: entries,
            inputs: Vec::new(),
            totals: Default::default(),
            warnings: Vec::new(),
            label_rules: None,
        })
    }

    fn check_compatible(&self, m: &Manifest) -> anyhow::Result<()> {
        let mut differences = Vec::new();
        if m.format != format_name(self.format) {
            differences.push(format!(
                "format {} (now {})",
                m.format,
                format_name(self.format)
            ));
        }
        if m.partition_by != self.partition_by.name() {
            differences.push(format!(
                "--partition-by {} (now {})",
                m.partition_by,
                self.partition_by.name()
            ));
        }
        if let (Some(old), Some(new)) = (m.options.as_object(), self.recorded_options.as_object()) {
            for (key, value) in new {
                let before = old.get(key).cloned().or_else(|| recorded_before(key));
                if before.as_ref() != Some(value) {
                    differences.push(format!(
                        "{key}: {} (now {value})",
                        old.get(key).map_or("absent".to_string(), |v| v.to_string())
                    ));
                }
            }
        } else if m.options != self.recorded_options {
            differences.push("the extraction options".to_string());
        }
        if !differences.is_empty() {
            bail!(
                "{} was made with other options, so appended flows would not be comparable: {}",
                self.dir.display(),
                differences.join("; ")
            );
        }
        Ok(())
    }

    fn finish_manifest(&self, manifest: &mut Manifest) -> anyhow::Result<()> {
        manifest.flowq_version = output_metadata::FLOWQ_VERSION.to_string();
        manifest.recompute_totals();
        let mut warnings = Vec::new();
        manifest.label_rules = None;
        if let Some(rules) = &self.transform.labels {
            warnings.extend(rules.warnings.iter().cloned());
            let counts = dataset_label_counts(rules, &manifest.inputs);
            warnings
                .extend(rules.unmatched_warnings(&counts.hits_per_rule, &counts.matches_per_rule));
            manifest.label_rules = Some(counts.to_json(rules));
        }
        manifest.warnings = warnings;
        manifest.write(&self.dir)
    }

    /// Extracts the planned jobs, `self.jobs` at a time; results in job order
    /// (None for jobs that Ctrl-C or another job's failure stopped or kept
    /// from starting). A job that fails fails the run, so the others stop
    /// reading (within 1024 records) rather than read their captures to the
    /// end for a dataset that will not be complete.
    fn extract_all(
        &self,
        planned: &[(Job, Option<Vec<FileEntry>>)],
    ) -> Vec<Option<anyhow::Result<InputEntry>>> {
        let done = AtomicUsize::new(0);
        let failed = Arc::new(AtomicBool::new(false));
        let stop = [&*self.cancel, &*failed];
        parallel_map(planned, self.jobs, &stop, |(job, files)| {
            let result = self.extract_one(job, files.as_deref(), &failed).transpose();
            if matches!(result, Some(Err(_))) {
                failed.store(true, Ordering::Relaxed);
            }
            let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
            if self.verbose {
                match &result {
                    Some(Ok(entry)) => eprintln!(
                        "flowq: [{finished}/{}] {}: {} flows",
                        planned.len(),
                        entry.name,
                        entry.flows
                    ),
                    Some(Err(e)) => eprintln!("flowq: error: {}: {e:#}", job.name),
                    None => {}
                }
            }
            result
        })
        .into_iter()
        .map(Option::flatten)
        .collect()
    }

    /// Extracts one job into its partition files, hashing its files meanwhile
    /// unless `hashed` already has them; None when interrupted or stopped by
    /// `failed` (its files are then not written).
    fn extract_one(
        &self,
        job: &Job,
        hashed: Option<&[FileEntry]>,
        failed: &Arc<AtomicBool>,
    ) -> anyhow::Result<Option<InputEntry>> {
        match hashed {
            Some(files) => self.extract_hashed(job, failed, || Ok(files.to_vec())),
            None => std::thread::scope(|scope| {
                let hashing = scope.spawn(|| {
                    job.files
                        .iter()
                        .map(|f| hash_file_until(f, &[&self.cancel, failed]))
                        .collect::<anyhow::Result<Vec<_>>>()
                });
                self.extract_hashed(job, failed, || {
                    hashing
                        .join()
                        .map_err(|_| anyhow::anyhow!("the hashing thread failed"))?
                })
            }),
        }
    }

    /// Extracts one job; `files` gives its files' hashes once the flows are
    /// written (they go into the files' metadata at the end).
    fn extract_hashed(
        &self,
        job: &Job,
        failed: &Arc<AtomicBool>,
        files: impl FnOnce() -> anyhow::Result<Vec<FileEntry>>,
    ) -> anyhow::Result<Option<InputEntry>> {
        let extractor = Extractor::new(self.options)
            .with_cancel(self.cancel.clone())
            .with_cancel(Arc::clone(failed));
        let columns = extractor.options().columns();
        let mut transform =
            FlowTransform::new(self.transform.clone(), &columns, &extractor.schema())?;
        let partitioner = Partitioner::new(
            self.partition_by,
            &job.name,
            &columns,
            format_name(self.format),
        )?;
        let schema = transform.schema();
        let csv = CsvOptions {
            header: self.options.csv_header().map(|h| transform.csv_header(&h)),
            java_non_finite: self.options.csv_java_non_finite(),
        };
        let metadata = output_metadata::file_metadata([
            ("flowq.options", self.recorded_options.to_string()),
            ("flowq.capture", job.name.clone()),
        ]);
        // Each file with whether it has rows yet.
        let mut sinks: BTreeMap<PathBuf, (Box<dyn FlowSink>, bool)> = BTreeMap::new();
        let open = |relative: &Path| -> anyhow::Result<Box<dyn FlowSink>> {
            let path = self.dir.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            Ok(open_sink_with_csv(
                &OutputTarget::File(path),
                self.format,
                schema.clone(),
                // All metadata is written at the end, with the hashes and the
                // summary (given here too, Parquet would hold each key twice).
                &[],
                &csv,
            )?)
        };
        if let Some(fixed) = partitioner.fixed_file() {
            sinks.insert(fixed.clone(), (open(&fixed)?, false));
        }
        let result = extractor.run(
            std::slice::from_ref(&job.source),
            &mut |batch: RecordBatch| {
                let output = transform.apply(&batch).map_err(WriteFailed)?;
                for (relative, part) in partitioner.split(&batch, output).map_err(WriteFailed)? {
                    if !sinks.contains_key(&relative) {
                        // Each open file holds a writer and its buffered rows
                        // until the capture ends: timestamps spread over
                        // thousands of hours must not open thousands of them.
                        if sinks.len() >= MAX_PARTITION_FILES {
                            return Err(WriteFailed(anyhow::anyhow!(
                                "{}: its flows fall in more than {MAX_PARTITION_FILES} \
                                 partitions of --partition-by {} (timestamps spread over \
                                 years?); use a coarser --partition-by",
                                job.name,
                                partitioner.name()
                            )));
                        }
                        let sink = open(&relative).map_err(WriteFailed)?;
                        sinks.insert(relative.clone(), (sink, false));
                    }
                    if let Some((sink, wrote)) = sinks.get_mut(&relative) {
                        sink.write(&part).map_err(|e| WriteFailed(e.into()))?;
                        *wrote = true;
                    }
                }
                Ok::<(), WriteFailed>(())
            },
        );
        let summary = match result {
            Ok(s) => s,
            Err(ExtractError::Consumer(WriteFailed(e))) => return Err(e),
        };
        if summary.interrupted {
            // Dropping the sinks removes their temporary files.
            return Ok(None);
        }
        let input = summary.inputs.first();
        let status = match input.map(|i| i.status) {
            Some(InputStatus::Complete) | None => "complete",
            Some(InputStatus::Partial) => "partial",
            Some(InputStatus::Failed) => "failed",
        };
        let mut outputs = Vec::new();
        let files = files()?;
        let final_metadata = {
            let mut m = metadata.clone();
            m.push((
                "flowq.inputs".to_string(),
                serde_json::to_string(&files.iter().map(|f| &f.sha256).collect::<Vec<_>>())?,
            ));
            m.push(output_metadata::summary_entry(&summary)?);
            m
        };
        // A capture that could not be read leaves no files (dropping the sinks
        // removes their temporary files).
        if status != "failed" {
            for (relative, (mut sink, wrote)) in sinks {
                if !wrote {
                    // A file with no rows still carries its schema (and CSV header).
                    sink.write(&RecordBatch::new_empty(schema.clone()))?;
                }
                sink.finish(&final_metadata)?;
                outputs.push(relative.display().to_string());
            }
        }
        let counts = transform.label_counts().cloned().unwrap_or_default();
        Ok(Some(InputEntry {
            name: job.name.clone(),
            files,
            format: input.and_then(|i| i.format).map(|f| {
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            }),
            status: status.to_string(),
            message: input.and_then(|i| i.message.clone()),
            packets: summary.packets_read,
            packets_in_flows: summary.packets_in_flows,
            skipped: summary
                .skipped
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            flows: summary.flows_written,
            memory_evicted_flows: summary.memory_evicted_flows,
            duplicates_dropped: summary.duplicates_dropped,
            reorder_late: summary.reorder_late,
            reorder_forced: summary.reorder_forced,
            outputs,
            rule_overrides: counts
                .overrides
                .iter()
                .map(|(&(w, m), &n)| (w, m, n))
                .collect(),
            labels: counts.flows_per_label,
            rule_matches: counts.matches_per_rule,
            rule_hits: counts.hits_per_rule,
            multiply_matched: counts.multiply_matched,
        }))
    }
}

/// A failure while transforming or writing a batch, which stops the capture.
#[derive(Debug)]
struct WriteFailed(anyhow::Error);

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for WriteFailed {}

/// `f` over `items` on `workers` threads, results in item order; None for the
/// items not started because one of `stop` was set.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    stop: &[&AtomicBool],
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                while !stop.iter().any(|s| s.load(Ordering::Relaxed)) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else {
                        return;
                    };
                    let result = f(item);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(result);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

/// The format's name in the manifest, which is also its files' extension.
fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Csv => "csv",
        _ => "parquet",
    }
}

/// Whether two inputs hold the same bytes, file by file (the paths may differ:
/// a capture copied or renamed is still the same capture).
fn same_bytes(a: &[FileEntry], b: &[FileEntry]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.sha256 == y.sha256 && x.size == y.size)
}

/// Read size for hashing. 1 MiB was measured to make a dataset run 1.4x
/// slower: glibc serves such a buffer with mmap and, freed, raises its mmap
/// threshold, which changes how every later Arrow buffer is allocated (fresh
/// pages, faulted in). A buffer under the default 128 KiB threshold stays out
/// of that and reads as fast.
const HASH_CHUNK: usize = 64 * 1024;

/// Size and SHA-256 of a file.
pub fn hash_file(path: &Path) -> anyhow::Result<FileEntry> {
    hash_file_until(path, &[])
}

/// [`hash_file`], giving up soon after one of `stop` is set (Ctrl-C, or
/// another capture failed).
fn hash_file_until(path: &Path, stop: &[&AtomicBool]) -> anyhow::Result<FileEntry> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_CHUNK];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        if stop.iter().any(|s| s.load(Ordering::Relaxed)) {
            bail!("interrupted");
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let digest = hasher.finalize();
    let mut sha256 = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write as _;
        let _ = write!(sha256, "{b:02x}");
    }
    Ok(FileEntry {
        path: path.display().to_string(),
        size,
        sha256,
    })
}

/// What a recorded option added to flowq later means in a manifest written
/// before it: the option's default, so such a dataset can still be appended
/// to without it.
fn recorded_before(key: &str) -> Option<serde_json::Value> {
    match key {
        "preprocess" => {
            serde_json::to_value(flowq_extract::preprocess::PreprocessOptions::default()).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parallel_map;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Barrier, Mutex};

    /// Once a stop flag is set (Ctrl-C, or a capture that failed), no item is
    /// started. Item 0 sets the flag while item 1 runs (the barrier makes
    /// both run at once and item 1 end after the flag is set): items 2 to 9
    /// are never started.
    #[test]
    fn nothing_starts_after_a_stop() {
        let failed = AtomicBool::new(false);
        let cancel = AtomicBool::new(false);
        let both_started = Barrier::new(2);
        let flag_set = Barrier::new(2);
        let started = Mutex::new(Vec::new());
        let items: Vec<usize> = (0..10).collect();
        let results = parallel_map(&items, 2, &[&cancel, &failed], |&i| {
            started.lock().unwrap().push(i);
            if i < 2 {
                both_started.wait();
                if i == 0 {
                    failed.store(true, Ordering::Relaxed);
                }
                flag_set.wait();
            }
            i
        });
        let mut started = started.into_inner().unwrap();
        started.sort();
        assert_eq!(started, [0, 1]);
        assert_eq!(&results[..2], [Some(0), Some(1)]);
        assert!(results[2..].iter().all(Option::is_none), "{results:?}");
    }
}
