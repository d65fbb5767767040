//! `flowq extract ... -o DIR/`: dataset directories, and the label,
//! anonymization and identifier options shared with single-file outputs.

use super::args::{DatasetArgs, ExtractArgs, FormatArg, PartitionByArg};
use super::exit;
use super::extract::{interrupt_flag, recorded_options, sources_of, thousands};
use crate::dataset::{
    self, DatasetRun, cryptopan::CryptoPan, labels::RuleSet, partition::PartitionBy,
    transform::TransformSpec,
};
use anyhow::bail;
use flowq_extract::ExtractOptions;
use flowq_extract::sink::OutputFormat;
use std::io::IsTerminal;
use std::sync::Arc;

/// The labels, anonymization and identifier options, read and checked.
pub(super) fn transform_spec(
    args: &DatasetArgs,
) -> anyhow::Result<(TransformSpec, serde_json::Value)> {
    let labels = match &args.labels {
        Some(path) => {
            let rules = RuleSet::load(path, args.default_label.as_deref())?;
            let recorded = serde_json::json!({
                "rules": rules.source,
                "name": rules.name,
                "version": rules.version,
                "description": rules.description,
                "built_in": rules.built_in,
                "sha256": rules.sha256,
                "rule_count": rules.rules.len(),
                "order": rules.order,
                "default_label": rules.default_label,
                "default_category": rules.default_category,
            });
            Some((Arc::new(rules), recorded))
        }
        None => None,
    };
    let anonymize = match &args.anonymize {
        Some(path) => {
            let (pan, fingerprint) = CryptoPan::from_key_file(path)?;
            Some((Arc::new(pan), fingerprint))
        }
        None => None,
    };
    let recorded = serde_json::json!({
        "labels": labels.as_ref().map(|(_, r)| r.clone()),
        "anonymize": anonymize.as_ref().map(|(_, f)| serde_json::json!({
            "method": "Crypto-PAn (AES-128), prefix-preserving",
            "key_fingerprint": f,
        })),
        "drop_identifiers": args.drop_identifiers,
    });
    Ok((
        TransformSpec {
            labels: labels.map(|(r, _)| r),
            anonymize: anonymize.map(|(p, _)| p),
            drop_identifiers: args.drop_identifiers,
        },
        recorded,
    ))
}

/// Whether `-o` names a dataset directory rather than one file.
pub(super) fn is_dataset_output(args: &ExtractArgs) -> bool {
    let text = args.output.to_string_lossy();
    args.dataset.partition_by.is_some()
        || args.dataset.append
        || text.ends_with('/')
        || text.ends_with(std::path::MAIN_SEPARATOR)
        || args.output.is_dir()
}

/// The per-rule report after a labelled run (standard error).
pub(super) fn print_rule_report(rules: &RuleSet, counts: &crate::dataset::labels::LabelCounts) {
    for line in counts.report(rules) {
        eprintln!("  {line}");
    }
}

pub(super) fn print_label_counts(labels: &std::collections::BTreeMap<String, u64>) {
    for (label, n) in labels {
        eprintln!("  label {label:<14} {} flows", thousands(*n));
    }
}

/// `flowq extract ... -o DIR/`: a dataset directory.
pub(super) fn run_dataset(
    args: &ExtractArgs,
    base: ExtractOptions,
    spec: TransformSpec,
    recorded_transform: serde_json::Value,
) -> anyhow::Result<u8> {
    let format = match args.format {
        None | Some(FormatArg::Parquet) => OutputFormat::Parquet,
        Some(FormatArg::Csv) => OutputFormat::Csv,
        Some(FormatArg::Arrow) => bail!("a dataset directory holds Parquet or CSV files"),
    };
    if args.stats_json.is_some() {
        bail!(
            "--stats-json applies to one output file; a dataset's counts are in its {}",
            dataset::manifest::MANIFEST_NAME
        );
    }
    let partition_by = match args.dataset.partition_by {
        None | Some(PartitionByArg::Capture) => PartitionBy::Capture,
        Some(PartitionByArg::Date) => PartitionBy::Date,
        Some(PartitionByArg::Hour) => PartitionBy::Hour,
        Some(PartitionByArg::None) => PartitionBy::None,
    };
    let spec_labels = spec.labels.clone();
    if spec.drop_identifiers && matches!(partition_by, PartitionBy::Date | PartitionBy::Hour) {
        bail!(
            "--partition-by {} would write the flows' absolute times into the directory names, \
             which --drop-identifiers leaves out; use capture or none",
            partition_by.name()
        );
    }
    let inputs = sources_of(args)?;
    let mut jobs = Vec::with_capacity(inputs.len());
    for source in inputs {
        let files = source.files();
        if files.is_empty() {
            bail!("a dataset is made from capture files, not standard input");
        }
        let name = files[0]
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "capture".into());
        jobs.push(dataset::Job {
            name,
            source,
            files,
        });
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = args.threads.map_or(cores, usize::from);
    // Fewer captures than workers: the spare threads shard the captures' flow
    // tables instead (the output is the same either way).
    let per_capture = (workers / jobs.len().max(1)).max(1);
    let options = ExtractOptions {
        threads: per_capture,
        ..base
    };
    let recorded_options = recorded_options(
        &options,
        args.flow.flow_memory,
        args.dataset.rotated,
        &recorded_transform,
    );
    let cancel = interrupt_flag();
    let run = DatasetRun {
        dir: args.output.clone(),
        partition_by,
        format,
        append: args.dataset.append,
        jobs: workers,
        options,
        transform: spec,
        recorded_options,
        cancel,
        verbose: !args.quiet && std::io::stderr().is_terminal(),
    };
    let outcome = run.run(jobs)?;
    let Some(manifest) = &outcome.manifest else {
        bail!("no dataset was written");
    };
    for warning in &manifest.warnings {
        eprintln!("flowq: warning: {warning}");
    }
    for input in &manifest.inputs {
        if input.status != "complete"
            && let Some(message) = &input.message
        {
            eprintln!(
                "flowq: warning: {}: {} ({})",
                input.name, message, input.status
            );
        }
        if input.memory_evicted_flows > 0 {
            eprintln!(
                "flowq: warning: {}: {} flows evicted because captures read at once spent the \
                 --flow-memory budget; which ones depends on timing, so these files may differ \
                 between runs (raise --flow-memory or lower -j for reproducible files)",
                input.name,
                thousands(input.memory_evicted_flows)
            );
        }
    }
    if !args.quiet {
        eprintln!(
            "flowq: {} capture(s) extracted, {} already in the dataset; {} now holds {} capture(s), {} flows",
            outcome.extracted,
            outcome.already_present,
            args.output.display(),
            manifest.totals.inputs,
            thousands(manifest.totals.flows)
        );
        print_label_counts(&manifest.totals.labels);
        if let Some(rules) = &spec_labels {
            print_rule_report(
                rules,
                &dataset::dataset_label_counts(rules, &manifest.inputs),
            );
        }
    }
    if outcome.interrupted {
        eprintln!(
            "flowq: interrupted: the captures finished so far are in the dataset; run again with --append to add the rest"
        );
        return Ok(exit::INTERRUPTED);
    }
    Ok(if outcome.degraded > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    })
}
