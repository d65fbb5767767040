//! `flowq extract` and `flowq columns`.

use super::args::{
    CicCompatArg, CicTimestampArg, ColumnsArgs, ExtractArgs, FlowArgs, FormatArg, ProfileArg,
    TunnelsArg,
};
use super::dataset::{
    is_dataset_output, print_label_counts, print_rule_report, run_dataset, transform_spec,
};
use super::exit;
use super::progress::ProgressBar;
use crate::dataset::{labels::LabelCounts, transform::FlowTransform};
use crate::output_metadata;
use crate::sql::pcap_table::CAPTURE_COLUMN;
use anyhow::{Context, bail};
use arrow::record_batch::RecordBatch;
use flowq_extract::batch::{Kind, PACKET_COLUMNS};
use flowq_extract::capture::{InputSource, discover_inputs};
use flowq_extract::features::DeepConfig;
use flowq_extract::options::Settings;
use flowq_extract::preprocess::PreprocessOptions;
use flowq_extract::sink::{CsvOptions, OutputFormat, OutputTarget, SinkError, open_sink_with_csv};
use flowq_extract::{ExtractError, ExtractOptions, Extractor, InputStatus, Profile, RunSummary};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn profile_of(arg: ProfileArg) -> Profile {
    match arg {
        ProfileArg::Standard => Profile::Standard,
        ProfileArg::Seed => Profile::Seed,
        ProfileArg::Full => Profile::Full,
        ProfileArg::Nfstream => Profile::Nfstream,
        ProfileArg::Cic2017 => Profile::Cic2017,
        ProfileArg::Cic2018 => Profile::Cic2018,
        ProfileArg::Cic => Profile::Cic,
    }
}

/// The extraction options chosen by the shared flow arguments (checked by the
/// engine's [`Settings`], which the Python package fills too).
pub fn extract_options(flow: &FlowArgs) -> anyhow::Result<ExtractOptions> {
    let settings = Settings {
        profile: profile_of(flow.profile),
        idle_timeout: flow.idle_timeout,
        active_timeout: flow.active_timeout,
        tcp_close_grace: flow.tcp_close_grace,
        unidirectional: flow.unidirectional,
        max_flows: flow.max_flows,
        flow_memory: flow.flow_memory,
        decapsulate: flow.tunnels == TunnelsArg::Inner,
        splt: flow.splt,
        stats: flow.stats,
        cic_bugs: flow.cic_compat == CicCompatArg::Bugs,
        cic_original_timestamp: flow.cic_timestamp == CicTimestampArg::Original,
        deep: deep_config(flow),
        ppi_pad: flow.ppi_pad,
        app: !flow.no_app,
        community_id_seed: flow.community_id_seed,
        dissect: flow.dissect,
    };
    let options = ExtractOptions {
        // Reordering and de-duplication are the command line's only (the
        // Python package does not offer them yet).
        preprocess: PreprocessOptions {
            reorder_window_ns: flow.reorder_window,
            dedup: flow.dedup,
        },
        ..settings.options()?
    };
    // One figure for the whole process: every flow table draws on it.
    flowq_extract::flow::FLOW_STATE
        .set_limit(usize::try_from(flow.flow_memory).unwrap_or(usize::MAX));
    Ok(options)
}

/// The deep-learning inputs asked for (checked with the other settings).
fn deep_config(flow: &FlowArgs) -> DeepConfig {
    let (payload_packets, payload_packet_len) = match flow.payload_packets.as_deref() {
        Some(&[m, n]) => (u16::try_from(m).unwrap_or(u16::MAX), n),
        _ => (0, 0),
    };
    DeepConfig {
        ppi_len: flow.ppi.unwrap_or(0),
        ppi_every_packet: flow.ppi_all_packets,
        histograms: flow.histograms,
        byte_dist_len: flow.byte_dist.unwrap_or(0),
        payload_prefix_len: flow.payload_prefix.unwrap_or(0),
        payload_packets,
        payload_packet_len,
        flowpic_secs: flow.flowpic.unwrap_or(0),
    }
}

/// The profile features and decoding choices recorded with the output (file
/// metadata and dataset manifests).
pub(super) fn recorded_features(options: &ExtractOptions) -> serde_json::Value {
    serde_json::json!({
        "splt": options.splt_len,
        "deep": options.deep,
        "ppi_pad": options.ppi_pad,
        "nfstream_stats": options.nfstream_stats,
        "cic_bugs": options.cic_bugs,
        "cic_original_timestamp": options.cic_original_timestamp,
        "tunnels": if options.decapsulate { "inner" } else { "outer" },
        "app": options.app_enabled(),
        "community_id_seed": options.community_id_seed,
        "dissect": options.dissect,
    })
}

/// Everything that shapes the rows of an output, as recorded in its metadata
/// (`flowq.options`) and in a dataset's manifest (`options`, compared by
/// `--append`). A unit test checks that every option of `flowq extract` is
/// recorded here or says why it is not.
pub(super) fn recorded_options(
    options: &ExtractOptions,
    flow_memory: u64,
    rotated: bool,
    transform: &serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "profile": options.profile.name(),
        "flow": options.effective_flow_config(),
        // The default --max-flows is derived from it.
        "flow_memory": flow_memory,
        "features": recorded_features(options),
        "rotated": rotated,
        "transform": transform,
        // Reordering and duplicate removal change which packets are counted
        // and their order (so flow ids).
        "preprocess": options.preprocess,
    })
}

/// The inputs as the extractor reads them: one rotated stream with --rotated.
pub(super) fn sources_of(args: &ExtractArgs) -> anyhow::Result<Vec<InputSource>> {
    let discovered = discover_inputs(&args.inputs).context("cannot list the inputs")?;
    for (path, why) in &discovered.skipped {
        eprintln!("flowq: note: {}: {why}; skipped", path.display());
    }
    let inputs = discovered.inputs;
    if inputs.is_empty() {
        bail!("no capture files found in the given directories");
    }
    if inputs.iter().filter(|i| **i == InputSource::Stdin).count() > 1 {
        bail!("standard input (`-`) can be read only once");
    }
    if !args.dataset.rotated {
        return Ok(inputs);
    }
    let mut files = Vec::with_capacity(inputs.len());
    for input in inputs {
        match input {
            InputSource::File(path) => files.push(path),
            _ => bail!("--rotated reads files, not standard input"),
        }
    }
    Ok(vec![InputSource::rotated(files)?])
}

pub fn run(args: ExtractArgs) -> anyhow::Result<u8> {
    let base = extract_options(&args.flow)?;
    let (spec, recorded_transform) = transform_spec(&args.dataset)?;
    let deep = &base.deep;
    if spec.anonymize.is_some() && (deep.payload_prefix_len > 0 || deep.payload_packets > 0) {
        eprintln!(
            "flowq: warning: --anonymize rewrites addresses, not payload: the payload \
             columns of --payload-prefix and --payload-packets can still hold addresses \
             and personal data"
        );
    }
    if is_dataset_output(&args) {
        return run_dataset(&args, base, spec, recorded_transform);
    }
    let options = ExtractOptions {
        threads: usize::from(args.threads.unwrap_or(1)),
        ..base
    };
    let (target, format) = output_of(&args.output, args.format)?;
    let inputs = sources_of(&args)?;
    let interrupted = interrupt_flag();
    // `-o - | head`: once the reader of standard output has gone, nothing more
    // is wanted. Reading stops as after Ctrl-C (so a long capture is not read
    // to its end for nobody), and the summary of what was read is still
    // written to --stats-json.
    let reader_gone = Arc::new(AtomicBool::new(false));
    let extractor = Extractor::new(options)
        .with_cancel(interrupted)
        .with_cancel(Arc::clone(&reader_gone));
    let rules = spec.labels.clone();
    let mut transform = FlowTransform::new(spec, &options.columns(), &extractor.schema())?;
    let metadata = output_metadata::file_metadata([
        ("flowq.profile", options.profile.name().to_string()),
        (
            "flowq.options",
            recorded_options(
                &options,
                args.flow.flow_memory,
                args.dataset.rotated,
                &recorded_transform,
            )
            .to_string(),
        ),
        ("flowq.features", recorded_features(&options).to_string()),
        ("flowq.transform", recorded_transform.to_string()),
        (
            "flowq.inputs",
            serde_json::to_string(&inputs.iter().map(|i| i.to_string()).collect::<Vec<_>>())?,
        ),
    ]);
    let schema = transform.schema();
    let csv = CsvOptions {
        header: options.csv_header().map(|h| transform.csv_header(&h)),
        java_non_finite: options.csv_java_non_finite(),
    };
    let mut sink = open_sink_with_csv(&target, format, schema.clone(), &metadata, &csv)?;

    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    // Shards and parallel inputs publish their open flows too.
    let progress = ProgressBar::start(show_progress, &inputs, extractor.live_counters(), true);
    let mut wrote_batch = false;
    let result = extractor.run(&inputs, &mut |batch: RecordBatch| {
        if reader_gone.load(Ordering::Relaxed) {
            // Batches finished while reading stops go nowhere.
            return Ok(());
        }
        wrote_batch = true;
        let batch = transform.apply(&batch).map_err(|e| SinkError::Encode {
            path: target_name(&target),
            message: format!("{e:#}"),
        })?;
        match sink.write(&batch) {
            Err(e) if e.is_broken_pipe() => {
                reader_gone.store(true, Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    });
    progress.finish();
    let summary = match result {
        Ok(summary) => summary,
        Err(ExtractError::Consumer(e)) => return Err(e.into()),
    };
    // The sink is dropped unfinished: its writer failed.
    if reader_gone.load(Ordering::Relaxed) {
        return reader_went_away(args.stats_json.as_deref(), &summary);
    }
    report_inputs(&summary);
    if summary.failed_inputs() == inputs.len() {
        // Nothing could be read: leave no output behind (the temporary file is
        // removed when the sink is dropped).
        bail!("no input could be read");
    }
    if !wrote_batch {
        // An output with no flows still carries its header / schema.
        if let Err(e) = sink.write(&RecordBatch::new_empty(schema)) {
            return finish_error(e, args.stats_json.as_deref(), &summary);
        }
    }
    let mut final_metadata = metadata;
    final_metadata.push(output_metadata::summary_entry(&summary)?);
    if summary.interrupted {
        final_metadata.push(("flowq.partial".to_string(), "interrupted".to_string()));
    }
    if let Err(e) = sink.finish(&final_metadata) {
        return finish_error(e, args.stats_json.as_deref(), &summary);
    }
    if let Some(path) = &args.stats_json {
        write_stats(path, &summary)?;
    }
    if !args.quiet {
        print_summary(&summary, &target);
    }
    if let Some(rules) = &rules {
        let counts = transform
            .label_counts()
            .cloned()
            .unwrap_or_else(|| LabelCounts::new(rules));
        for warning in rules
            .warnings
            .iter()
            .cloned()
            .chain(rules.unmatched_warnings(&counts.hits_per_rule, &counts.matches_per_rule))
        {
            eprintln!("flowq: warning: {warning}");
        }
        if !args.quiet {
            print_label_counts(&counts.flows_per_label);
            print_rule_report(rules, &counts);
        }
    }
    if summary.interrupted {
        eprintln!(
            "flowq: interrupted: {} holds the flows of the packets read until then and is marked partial",
            target_name(&target)
        );
        return Ok(exit::INTERRUPTED);
    }
    let degraded = summary.failed_inputs() + summary.partial_inputs() > 0;
    Ok(if degraded { exit::PARTIAL } else { exit::OK })
}

fn target_name(target: &OutputTarget) -> String {
    match target {
        OutputTarget::Stdout => "standard output".to_string(),
        OutputTarget::File(path) => path.display().to_string(),
    }
}

/// A flag set by the first Ctrl-C (the extraction then stops reading and
/// writes what it has); a second Ctrl-C exits at once, leaving no output file
/// (only the hidden temporary file of a killed run).
pub(super) fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                set.store(true, Ordering::Relaxed);
                eprintln!(
                    "flowq: interrupted: writing the flows read so far (Ctrl-C again to stop at once)"
                );
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        });
    });
    flag
}

fn finish_error(
    e: SinkError,
    stats_json: Option<&Path>,
    summary: &RunSummary,
) -> anyhow::Result<u8> {
    if e.is_broken_pipe() {
        reader_went_away(stats_json, summary)
    } else {
        Err(e.into())
    }
}

/// `-o - | head`: the reader of standard output has what it wanted, which is
/// not a failure. The summary (of the packets read until then; `interrupted`
/// when reading stopped early) still goes to --stats-json.
fn reader_went_away(stats_json: Option<&Path>, summary: &RunSummary) -> anyhow::Result<u8> {
    if let Some(path) = stats_json {
        write_stats(path, summary)?;
    }
    Ok(exit::OK)
}

fn output_of(
    path: &Path,
    format: Option<FormatArg>,
) -> anyhow::Result<(OutputTarget, OutputFormat)> {
    let explicit = format.map(|f| match f {
        FormatArg::Parquet => OutputFormat::Parquet,
        FormatArg::Csv => OutputFormat::Csv,
        FormatArg::Arrow => OutputFormat::Arrow,
    });
    if path.as_os_str() == "-" {
        return Ok((OutputTarget::Stdout, explicit.unwrap_or(OutputFormat::Csv)));
    }
    if path.is_dir() {
        bail!(
            "{} is a directory; give an output file name",
            path.display()
        );
    }
    let format = match (explicit, OutputFormat::from_path(path)) {
        (Some(f), _) | (None, Some(f)) => f,
        (None, None) => bail!(
            "cannot tell the output format of {} from its extension; use .parquet, .csv, .arrow, .json or .ndjson, or --format (for a dataset directory, end the path with `/`)",
            path.display()
        ),
    };
    Ok((OutputTarget::File(path.to_path_buf()), format))
}

fn report_inputs(summary: &RunSummary) {
    for input in &summary.inputs {
        match (input.status, &input.message) {
            (InputStatus::Failed, Some(m)) => eprintln!("flowq: error: {}: {m}", input.name),
            (InputStatus::Partial, Some(m)) => eprintln!(
                "flowq: warning: {}: {m}; the {} packets before it were used",
                input.name, input.packets_read
            ),
            _ => {}
        }
    }
}

fn write_stats(path: &Path, summary: &RunSummary) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(summary)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

fn print_summary(summary: &RunSummary, target: &OutputTarget) {
    let skipped: u64 = summary.skipped.values().sum();
    let reasons = summary
        .skipped
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| format!("{r} {}", thousands(*n)))
        .collect::<Vec<_>>()
        .join(", ");
    let dest = match target {
        OutputTarget::File(p) => p.display().to_string(),
        OutputTarget::Stdout => "standard output".to_string(),
    };
    let rate = if summary.elapsed_seconds > 0.0 {
        summary.packets_read as f64 / summary.elapsed_seconds
    } else {
        0.0
    };
    eprintln!(
        "flowq: {} packets read from {} input(s) in {:.2} s ({} packets/s)",
        thousands(summary.packets_read),
        summary.inputs.len(),
        summary.elapsed_seconds,
        thousands(rate as u64)
    );
    eprintln!(
        "  packets in flows   {}",
        thousands(summary.packets_in_flows)
    );
    if reasons.is_empty() {
        eprintln!("  packets skipped    0");
    } else {
        eprintln!("  packets skipped    {} ({reasons})", thousands(skipped));
    }
    eprintln!(
        "  flows written      {} to {dest}",
        thousands(summary.flows_written)
    );
    if summary.flows_not_written > 0 {
        eprintln!(
            "  flows left out     {} (single-packet flows, as CICFlowMeter did)",
            thousands(summary.flows_not_written)
        );
    }
    if summary.evicted_flows > 0 {
        eprintln!(
            "  flows evicted      {} (the flow table was full: --max-flows; end_reason evicted)",
            thousands(summary.evicted_flows)
        );
    }
    if summary.memory_evicted_flows > 0 {
        eprintln!(
            "warning: {} of them were evicted because captures read at once spent the \
             --flow-memory budget: which flows those were depends on timing, so this output \
             may differ between runs; raise --flow-memory or lower -j for a reproducible one",
            thousands(summary.memory_evicted_flows)
        );
    }
    if summary.duplicates_dropped > 0 {
        eprintln!(
            "  duplicates dropped {} (--dedup; not counted in packets read)",
            thousands(summary.duplicates_dropped)
        );
    }
    if summary.reorder_late > 0 || summary.reorder_forced > 0 {
        eprintln!(
            "  out of order       {} (later than --reorder-window; passed on unsorted){}",
            thousands(summary.reorder_late),
            if summary.reorder_forced > 0 {
                format!(
                    ", {} passed on early by a full reorder buffer",
                    thousands(summary.reorder_forced)
                )
            } else {
                String::new()
            }
        );
    }
    if summary.timestamp_outliers > 0 {
        eprintln!(
            "  time outliers      {} (timestamps over an hour ahead, not confirmed by the next packet)",
            thousands(summary.timestamp_outliers)
        );
    }
    let reading = &summary.parallel_reading;
    if reading.ranges > 0 {
        let sequential = reading.boundaries_not_found + reading.ranges_reread;
        eprintln!(
            "  parallel reading   {} ranges in {} capture(s){}{}",
            thousands(reading.ranges),
            reading.captures,
            if sequential > 0 {
                format!(
                    "; read in sequence instead: {} split points without a record boundary, {} ranges \
                     whose boundary the range before did not end on",
                    thousands(reading.boundaries_not_found),
                    thousands(reading.ranges_reread)
                )
            } else {
                String::new()
            },
            if reading.ranges_sequenced > 0 {
                format!(
                    "; {} ranges with IP fragments or time jumps dealt in sequence",
                    thousands(reading.ranges_sequenced)
                )
            } else {
                String::new()
            }
        );
    }
    if summary.app_malformed_flows > 0 {
        eprintln!(
            "  app data malformed {} flows (their application columns are null where it did not parse)",
            thousands(summary.app_malformed_flows)
        );
    }
}

pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn columns(args: ColumnsArgs) -> anyhow::Result<u8> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let columns: Vec<(String, Kind, String)> = if args.packets {
        let mut columns: Vec<_> = PACKET_COLUMNS
            .iter()
            .map(|c| {
                let (name, kind, _, doc) = c.def();
                (name.to_string(), kind, doc.to_string())
            })
            .collect();
        columns.push((
            CAPTURE_COLUMN.to_string(),
            Kind::Text,
            "the capture file the packet was read from".to_string(),
        ));
        columns
    } else {
        extract_options(&args.flow)?
            .columns()
            .iter()
            .map(|c| {
                let d = c.def();
                (d.name, d.kind, d.doc)
            })
            .collect()
    };
    for (name, kind, doc) in columns {
        let line = writeln!(
            out,
            "{:<28} {:<26} {}",
            name,
            format!("{}", kind.data_type()),
            doc
        );
        match line {
            Ok(()) => {}
            // `flowq columns | head`: the reader has what it wanted.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(exit::OK),
            Err(e) => return Err(e).context("cannot write to standard output"),
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::{extract_options, recorded_options, thousands};
    use crate::cli::args::{Cli, Command};
    use crate::cli::dataset::transform_spec;
    use clap::{CommandFactory, Parser};

    /// What an output records as `flowq.options` for `flowq extract in.pcap
    /// -o out.parquet ARGS`.
    fn recorded_for(args: &[&str]) -> serde_json::Value {
        let line = ["flowq", "extract", "in.pcap", "-o", "out.parquet"]
            .into_iter()
            .chain(args.iter().copied());
        let Some(Command::Extract(args)) = Cli::try_parse_from(line).unwrap().command else {
            panic!("not an extract command");
        };
        let options = extract_options(&args.flow).unwrap();
        let (_, transform) = transform_spec(&args.dataset).unwrap();
        recorded_options(
            &options,
            args.flow.flow_memory,
            args.dataset.rotated,
            &transform,
        )
    }

    /// Every option of `flowq extract` is either recorded with the output
    /// (`flowq.options` in Parquet and Arrow files, `options` in a dataset's
    /// manifest, which `--append` compares), where changing it changes the
    /// record, or listed below with the reason it is not. An option added
    /// later fails this test until it is one or the other. (`--tunnels` was
    /// missing from a file's `flowq.options`.)
    #[test]
    fn every_extract_option_is_recorded_or_says_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.csv");
        std::fs::write(&rules, "label,dst_port\nweb,80\n").unwrap();
        let key = dir.path().join("key.hex");
        std::fs::write(&key, "00112233445566778899aabbccddeeff".repeat(2)).unwrap();
        let (rules, key) = (rules.to_str().unwrap(), key.to_str().unwrap());
        // (option, arguments without it, arguments with it, where it is recorded)
        let recorded: &[(&str, &[&str], &[&str], &str)] = &[
            ("profile", &[], &["--profile", "full"], "/profile"),
            (
                "idle_timeout",
                &[],
                &["--idle-timeout", "7"],
                "/flow/idle_timeout_ns",
            ),
            (
                "active_timeout",
                &[],
                &["--active-timeout", "7"],
                "/flow/active_timeout_ns",
            ),
            (
                "tcp_close_grace",
                &[],
                &["--tcp-close-grace", "7"],
                "/flow/close_grace_ns",
            ),
            (
                "unidirectional",
                &[],
                &["--unidirectional"],
                "/flow/bidirectional",
            ),
            ("max_flows", &[], &["--max-flows", "7"], "/flow/max_flows"),
            (
                "flow_memory",
                &[],
                &["--flow-memory", "1GiB"],
                "/flow_memory",
            ),
            ("tunnels", &[], &["--tunnels", "outer"], "/features/tunnels"),
            (
                "splt",
                &["--profile", "full"],
                &["--splt", "3"],
                "/features/splt",
            ),
            (
                "stats",
                &["--profile", "nfstream"],
                &["--stats"],
                "/features/nfstream_stats",
            ),
            (
                "ppi",
                &["--profile", "full"],
                &["--ppi"],
                "/features/deep/ppi_len",
            ),
            (
                "ppi_pad",
                &["--profile", "full", "--ppi"],
                &["--ppi-pad"],
                "/features/ppi_pad",
            ),
            (
                "ppi_all_packets",
                &["--profile", "full", "--ppi"],
                &["--ppi-all-packets"],
                "/features/deep/ppi_every_packet",
            ),
            (
                "histograms",
                &["--profile", "full"],
                &["--histograms"],
                "/features/deep/histograms",
            ),
            (
                "byte_dist",
                &["--profile", "full"],
                &["--byte-dist", "64"],
                "/features/deep/byte_dist_len",
            ),
            (
                "payload_prefix",
                &["--profile", "full"],
                &["--payload-prefix", "64"],
                "/features/deep/payload_prefix_len",
            ),
            (
                "payload_packets",
                &["--profile", "full"],
                &["--payload-packets", "3", "16"],
                "/features/deep/payload_packets",
            ),
            (
                "flowpic",
                &["--profile", "full"],
                &["--flowpic", "15"],
                "/features/deep/flowpic_secs",
            ),
            (
                "cic_compat",
                &["--profile", "cic"],
                &["--cic-compat", "bugs"],
                "/features/cic_bugs",
            ),
            (
                "cic_timestamp",
                &["--profile", "cic"],
                &["--cic-timestamp", "original"],
                "/features/cic_original_timestamp",
            ),
            ("no_app", &[], &["--no-app"], "/features/app"),
            (
                "community_id_seed",
                &[],
                &["--community-id-seed", "3"],
                "/features/community_id_seed",
            ),
            (
                "dissect",
                &["--profile", "nfstream"],
                &["--dissect"],
                "/features/dissect",
            ),
            ("rotated", &[], &["--rotated"], "/rotated"),
            (
                "reorder_window",
                &[],
                &["--reorder-window", "10"],
                "/preprocess/reorder_window_ns",
            ),
            ("dedup", &[], &["--dedup", "5"], "/preprocess/dedup"),
            ("labels", &[], &["--labels", rules], "/transform/labels"),
            (
                "default_label",
                &["--labels", rules],
                &["--default-label", "other"],
                "/transform/labels/default_label",
            ),
            (
                "anonymize",
                &[],
                &["--anonymize", key],
                "/transform/anonymize",
            ),
            (
                "drop_identifiers",
                &[],
                &["--drop-identifiers"],
                "/transform/drop_identifiers",
            ),
        ];
        let not_recorded: &[(&str, &str)] = &[
            (
                "inputs",
                "the inputs are recorded on their own (flowq.inputs; a manifest's inputs)",
            ),
            ("output", "the output itself"),
            ("format", "the output's own format"),
            (
                "threads",
                "the rows are the same whatever -j (docs/flows.md)",
            ),
            (
                "partition_by",
                "dataset directories only: the manifest's partition_by",
            ),
            ("append", "dataset directories only: how a run adds to one"),
            ("stats_json", "a report of the run, not of its rows"),
            ("quiet", "what is printed on the terminal"),
            ("help", "clap's own"),
        ];
        let command = Cli::command();
        let extract = command.find_subcommand("extract").unwrap();
        let ids: Vec<&str> = extract
            .get_arguments()
            .map(|a| a.get_id().as_str())
            .collect();
        for id in &ids {
            let is_recorded = recorded.iter().any(|r| r.0 == *id);
            let is_not = not_recorded.iter().any(|n| n.0 == *id);
            assert!(
                is_recorded != is_not,
                "`flowq extract` option `{id}`: record it in recorded_options (and list it \
                 here as recorded), or list it here with the reason it is not recorded"
            );
        }
        for (id, without, with, pointer) in recorded {
            assert!(ids.contains(id), "{id} is no option of flowq extract");
            let before = recorded_for(without);
            let all: Vec<&str> = without.iter().chain(with.iter()).copied().collect();
            let after = recorded_for(&all);
            assert!(before.pointer(pointer).is_some(), "{pointer} in {before:#}");
            assert_ne!(
                before.pointer(pointer),
                after.pointer(pointer),
                "--{id} does not change {pointer}"
            );
        }
    }

    /// A budget other than the default fixes the flow limit in the options
    /// (cluster executors derive no default of their own from it).
    #[test]
    fn a_flow_memory_budget_fixes_the_default_limit() {
        let one_gib = recorded_for(&["--flow-memory", "1GiB"]);
        // 2^30 bytes / (a 272-byte standard slot + 16 bytes of index).
        assert_eq!(
            one_gib.pointer("/flow/max_flows"),
            Some(&serde_json::json!(3_728_270))
        );
        let default = recorded_for(&[]);
        assert_eq!(
            default.pointer("/flow/max_flows"),
            Some(&serde_json::Value::Null)
        );
        let explicit = recorded_for(&["--flow-memory", "1GiB", "--max-flows", "9"]);
        assert_eq!(
            explicit.pointer("/flow/max_flows"),
            Some(&serde_json::json!(9))
        );
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
