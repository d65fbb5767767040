//! `-j N`: a capture split over flow-table shards gives exactly the output of one
//! table, for every capture of the corpus and every profile.

use crate::util::{repo_root, shared_pcaps};
use arrow::record_batch::RecordBatch;
use flowq_extract::capture::InputSource;
use flowq_extract::flow::FlowConfig;
use flowq_extract::{ExtractOptions, Extractor, Profile, RunSummary};
use std::path::{Path, PathBuf};

fn extract(path: &Path, options: ExtractOptions) -> (Vec<RecordBatch>, RunSummary) {
    let mut batches = Vec::new();
    let summary = Extractor::new(options)
        .run(&[InputSource::File(path.to_path_buf())], &mut |b| {
            batches.push(b);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap();
    (batches, summary)
}

fn concat(batches: &[RecordBatch]) -> Option<RecordBatch> {
    let schema = batches.first()?.schema();
    Some(arrow::compute::concat_batches(&schema, batches).unwrap())
}

fn assert_same_output(path: &Path, options: ExtractOptions) {
    let (one, one_summary) = extract(path, options);
    for threads in [2, 3] {
        let (many, many_summary) = extract(path, ExtractOptions { threads, ..options });
        assert_eq!(
            concat(&one),
            concat(&many),
            "{} with {threads} shards ({:?})",
            path.display(),
            options.profile
        );
        assert_eq!(one_summary.packets_read, many_summary.packets_read);
        assert_eq!(one_summary.skipped, many_summary.skipped);
        assert_eq!(
            one_summary.backward_timestamps,
            many_summary.backward_timestamps
        );
    }
}

#[test]
fn shards_give_identical_output_on_the_sample() {
    let sample = repo_root().join("testdata/sample.pcap");
    for profile in [Profile::Standard, Profile::Seed] {
        assert_same_output(
            &sample,
            ExtractOptions {
                profile,
                ..ExtractOptions::default()
            },
        );
    }
    // Short timeouts make many flows end mid-capture, which exercises the merge.
    let short = ExtractOptions {
        flow: FlowConfig {
            idle_timeout_ns: Some(1_000_000),
            active_timeout_ns: Some(20_000_000),
            ..FlowConfig::default()
        },
        ..ExtractOptions::default()
    };
    assert_same_output(&sample, short);
}

#[test]
fn shards_give_identical_output_on_the_corpus() {
    let Some(corpus) = shared_pcaps() else {
        return;
    };
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let files: Vec<PathBuf> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(|p| corpus.join(p))
        .collect();
    assert!(files.len() > 300);
    let short = ExtractOptions {
        flow: FlowConfig {
            idle_timeout_ns: Some(2_000_000_000),
            ..FlowConfig::default()
        },
        ..ExtractOptions::default()
    };
    for file in &files {
        assert_same_output(file, short);
    }
}

/// Several inputs read in parallel are written in input order with the flow ids
/// of a sequential run, in the same batches.
#[test]
fn inputs_read_in_parallel_give_the_sequential_output() {
    let mut files = vec![repo_root().join("testdata/sample.pcap")];
    if let Some(corpus) = shared_pcaps() {
        for name in [
            "zeek/echo-connections.pcap",
            "nfstream/instagram.pcap",
            "retina/quic.pcap",
            "tcpdump/tcp-handshake-nano.pcap",
            "not-a-capture-at-all.pcap",
        ] {
            files.push(corpus.join(name));
        }
        files.push(repo_root().join("testdata/sample.pcap"));
    }
    let inputs: Vec<InputSource> = files.into_iter().map(InputSource::File).collect();
    let run = |threads: usize| {
        let mut batches = Vec::new();
        let summary = Extractor::new(ExtractOptions {
            threads,
            ..ExtractOptions::default()
        })
        .run(&inputs, &mut |b| {
            batches.push(b);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap();
        (batches, summary)
    };
    let (one, one_summary) = run(1);
    for threads in [2, 4] {
        let (many, many_summary) = run(threads);
        assert_eq!(one, many, "{threads} threads");
        assert_eq!(one_summary.packets_read, many_summary.packets_read);
        assert_eq!(one_summary.flows_written, many_summary.flows_written);
        assert_eq!(one_summary.inputs.len(), many_summary.inputs.len());
        for (a, b) in one_summary.inputs.iter().zip(&many_summary.inputs) {
            assert_eq!((&a.name, a.status, a.flows), (&b.name, b.status, b.flows));
        }
    }
}
