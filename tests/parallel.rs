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
    // The application columns, which need the payloads carried to the shards.
    for options in [
        ExtractOptions {
            profile: Profile::Full,
            ..ExtractOptions::default()
        },
        ExtractOptions {
            profile: Profile::Nfstream,
            dissect: true,
            ..ExtractOptions::default()
        },
    ] {
        assert_same_output(&sample, options);
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

/// A capture where eviction decides the output: a scan of 3 000 sources (each
/// a new flow) interleaved with 40 long conversations, in three clock regimes
/// (rising, frozen, falling), so that eviction, ties at one timestamp and
/// backward timestamps all happen under a small `--max-flows`.
fn eviction_capture(path: &Path, clock: &str) {
    use crate::util::capture::{LINKTYPE_ETHERNET, Pkt, T0_US, eth, flags, ip4_tcp, write_pcap};
    let mut packets = Vec::new();
    for i in 0..3_000u32 {
        let us = match clock {
            "rising" => T0_US + i64::from(i) * 1_000,
            "frozen" => T0_US,
            _ => T0_US + 3_000_000 - i64::from(i) * 1_000,
        };
        let scan = ip4_tcp(
            ([10, 1, (i >> 8) as u8, i as u8], 40_000 + (i % 1000) as u16),
            ([192, 168, 0, 1], 22),
            flags::SYN,
            &[],
        );
        packets.push(Pkt::new(us, eth(&scan)));
        let talker = (i % 40) as u8;
        let payload = vec![0u8; 10 + (i % 200) as usize];
        let conversation = if i % 2 == 0 {
            ip4_tcp(
                ([10, 2, 0, talker], 5_000),
                ([10, 3, 0, 1], 443),
                flags::ACK,
                &payload,
            )
        } else {
            ip4_tcp(
                ([10, 3, 0, 1], 443),
                ([10, 2, 0, talker], 5_000),
                flags::ACK,
                &payload,
            )
        };
        packets.push(Pkt::new(us, eth(&conversation)));
    }
    write_pcap(path, LINKTYPE_ETHERNET, false, &packets);
}

/// The output is a function of the inputs and options only: every profile,
/// several inputs, `-j 1/2/4`, with and without a small `--max-flows` (which
/// evicts), to CSV and Parquet, give identical bytes; so does one input split
/// over shards, and a dataset directory.
#[test]
fn output_is_the_same_for_every_j_with_and_without_eviction() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = vec![repo_root().join("testdata/sample.pcap")];
    for clock in ["rising", "frozen", "falling"] {
        let path = dir.path().join(format!("scan-{clock}.pcap"));
        eviction_capture(&path, clock);
        inputs.push(path);
    }
    if let Some(corpus) = shared_pcaps() {
        for name in ["zeek/echo-connections.pcap", "nfstream/instagram.pcap"] {
            let path = corpus.join(name);
            assert!(path.is_file(), "{} is in the corpus", path.display());
            inputs.push(path);
        }
    }
    let inputs: Vec<&str> = inputs.iter().map(|p| p.to_str().unwrap()).collect();
    let profiles: [&[&str]; 5] = [
        &["--profile", "standard"],
        &["--profile", "full"],
        &["--profile", "nfstream", "--stats"],
        &["--profile", "cic2017"],
        &["--profile", "seed"],
    ];
    let limits: [&[&str]; 2] = [&[], &["--max-flows", "300"]];
    let mut evictions_seen = false;
    for profile in profiles {
        for limit in limits {
            for format in ["csv", "parquet"] {
                // Several inputs (read in parallel with -j > 1), and the first
                // flood alone (split over shards with -j > 1).
                for set in [&inputs[..], &inputs[1..2]] {
                    let mut reference: Option<Vec<u8>> = None;
                    for jobs in ["1", "2", "4"] {
                        let out = dir.path().join(format!("out-{jobs}.{format}"));
                        let stats = dir.path().join("stats.json");
                        let mut args = vec!["extract"];
                        args.extend_from_slice(set);
                        args.extend_from_slice(&["-o", out.to_str().unwrap(), "-q", "-j", jobs]);
                        args.extend_from_slice(&["--stats-json", stats.to_str().unwrap()]);
                        args.extend_from_slice(profile);
                        args.extend_from_slice(limit);
                        let run = crate::util::flowq(&args);
                        assert!(
                            run.status.code() == Some(0),
                            "{args:?}: {}",
                            String::from_utf8_lossy(&run.stderr)
                        );
                        let summary: serde_json::Value =
                            serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
                        assert_eq!(summary["memory_evicted_flows"], 0, "{args:?}");
                        evictions_seen |= summary["evicted_flows"].as_u64().unwrap() > 0;
                        let bytes = std::fs::read(&out).unwrap();
                        match &reference {
                            None => reference = Some(bytes),
                            Some(one) => {
                                assert!(*one == bytes, "{args:?} differs from the -j 1 output")
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(evictions_seen, "the small limit evicts");
}

/// A dataset directory is the same whatever -j (captures read at once, and
/// the spare workers sharding each capture), under eviction too.
#[test]
fn datasets_are_the_same_for_every_j_under_eviction() {
    let dir = tempfile::tempdir().unwrap();
    let captures = dir.path().join("captures");
    std::fs::create_dir(&captures).unwrap();
    for clock in ["rising", "frozen", "falling"] {
        eviction_capture(&captures.join(format!("scan-{clock}.pcap")), clock);
    }
    let files = |jobs: &str| -> Vec<(String, Vec<u8>)> {
        let out = dir.path().join(format!("dataset-{jobs}"));
        let target = format!("{}/", out.display());
        let run = crate::util::flowq(&[
            "extract",
            captures.to_str().unwrap(),
            "-o",
            &target,
            "-q",
            "-j",
            jobs,
            "--max-flows",
            "300",
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mut found = Vec::new();
        let mut stack = vec![out.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "parquet") {
                    let name = path.strip_prefix(&out).unwrap().display().to_string();
                    found.push((name, std::fs::read(&path).unwrap()));
                }
            }
        }
        found.sort();
        found
    };
    let one = files("1");
    assert_eq!(one.len(), 3);
    for jobs in ["2", "4"] {
        let many = files(jobs);
        assert_eq!(one.len(), many.len());
        for ((a, x), (b, y)) in one.iter().zip(&many) {
            assert_eq!(a, b);
            assert!(x == y, "{a} differs with -j {jobs}");
        }
    }
}
