//! The command line as users meet it: help, usage errors, the documented
//! column catalogue, and the sample capture against its generator's ground truth.

use crate::util::{flowq, repo_root};

#[test]
fn help_teaches_with_examples() {
    let out = flowq(&["extract", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--idle-timeout",
        "--unidirectional",
        "Examples:",
        "Exit status",
    ] {
        assert!(
            text.contains(needle),
            "`flowq extract --help` lacks {needle}"
        );
    }
}

#[test]
fn unknown_option_is_a_usage_error() {
    let out = flowq(&["extract", "x.pcap", "-o", "x.csv", "--no-such-option"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-option"));
}

#[test]
fn output_format_must_be_known() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("flows.txt");
    let sample = repo_root().join("testdata/sample.pcap");
    let out = flowq(&[
        "extract",
        sample.to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
    assert!(!out_path.exists());
}

/// The column names of a profile are unique (Parquet readers reject or rename
/// duplicates) and the nfstream profile has NFStream 6.6's exact header.
#[test]
fn profile_headers_are_unique_and_nfstream_matches_its_reference() {
    use flowq_extract::{ExtractOptions, Profile};
    for profile in [Profile::Standard, Profile::Full, Profile::Nfstream] {
        let options = ExtractOptions {
            profile,
            splt_len: 10,
            nfstream_stats: true,
            ..ExtractOptions::default()
        };
        let names: Vec<String> = options.columns().iter().map(|c| c.def().name).collect();
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "{profile:?} repeats a column name"
        );
    }
    // NFStream 6.6's header with statistical_analysis=True, as in its CSVs
    // (`../shared/pcaps/nfstream-ref/`), then its SPLT columns.
    let reference = "id,expiration_id,src_ip,src_mac,src_oui,src_port,dst_ip,dst_mac,dst_oui,\
dst_port,protocol,ip_version,vlan_id,tunnel_id,bidirectional_first_seen_ms,\
bidirectional_last_seen_ms,bidirectional_duration_ms,bidirectional_packets,bidirectional_bytes,\
src2dst_first_seen_ms,src2dst_last_seen_ms,src2dst_duration_ms,src2dst_packets,src2dst_bytes,\
dst2src_first_seen_ms,dst2src_last_seen_ms,dst2src_duration_ms,dst2src_packets,dst2src_bytes,\
bidirectional_min_ps,bidirectional_mean_ps,bidirectional_stddev_ps,bidirectional_max_ps,\
src2dst_min_ps,src2dst_mean_ps,src2dst_stddev_ps,src2dst_max_ps,dst2src_min_ps,dst2src_mean_ps,\
dst2src_stddev_ps,dst2src_max_ps,bidirectional_min_piat_ms,bidirectional_mean_piat_ms,\
bidirectional_stddev_piat_ms,bidirectional_max_piat_ms,src2dst_min_piat_ms,src2dst_mean_piat_ms,\
src2dst_stddev_piat_ms,src2dst_max_piat_ms,dst2src_min_piat_ms,dst2src_mean_piat_ms,\
dst2src_stddev_piat_ms,dst2src_max_piat_ms,bidirectional_syn_packets,bidirectional_cwr_packets,\
bidirectional_ece_packets,bidirectional_urg_packets,bidirectional_ack_packets,\
bidirectional_psh_packets,bidirectional_rst_packets,bidirectional_fin_packets,\
src2dst_syn_packets,src2dst_cwr_packets,src2dst_ece_packets,src2dst_urg_packets,\
src2dst_ack_packets,src2dst_psh_packets,src2dst_rst_packets,src2dst_fin_packets,\
dst2src_syn_packets,dst2src_cwr_packets,dst2src_ece_packets,dst2src_urg_packets,\
dst2src_ack_packets,dst2src_psh_packets,dst2src_rst_packets,dst2src_fin_packets,\
splt_direction,splt_ps,splt_piat_ms";
    let options = ExtractOptions {
        profile: Profile::Nfstream,
        splt_len: 10,
        nfstream_stats: true,
        ..ExtractOptions::default()
    };
    let header: Vec<String> = options.columns().iter().map(|c| c.def().name).collect();
    assert_eq!(header.join(","), reference);
    if let Some(pcaps) = crate::util::shared_pcaps() {
        let csv = pcaps.join("nfstream-ref/nfstream/instagram.pcap.csv");
        let first = std::fs::read_to_string(csv).unwrap();
        let first = first.lines().next().unwrap();
        assert!(
            reference.starts_with(first),
            "NFStream's own header: {first}"
        );
    }
}

/// `testdata/sample.pcap` was written by `../shared/tools/gen_pcap.py`, which also
/// wrote down what it generated (`sample.pcap.truth.json`): an independent view of
/// the packets, bytes, flows and SYNs that flowq must find.
#[test]
fn sample_capture_matches_generator_truth() {
    let root = repo_root();
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("testdata/sample.pcap.truth.json")).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("flows.csv");
    let stats = dir.path().join("stats.json");
    let out = flowq(&[
        "extract",
        root.join("testdata/sample.pcap").to_str().unwrap(),
        "-o",
        csv.to_str().unwrap(),
        "--stats-json",
        stats.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (pkts, bytes, syns, proto, ver) = (
        col("pkt_count"),
        col("byte_count"),
        col("syn_count"),
        col("protocol"),
        col("ip_version"),
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let sum = |i: usize| {
        rows.iter()
            .map(|r| r[i].parse::<u64>().unwrap())
            .sum::<u64>()
    };
    let count = |f: &dyn Fn(&Vec<&str>) -> bool| rows.iter().filter(|r| f(r)).count() as u64;
    let n = |key: &str| truth[key].as_u64().unwrap();

    assert_eq!(rows.len() as u64, n("distinct_biflows"), "flows");
    assert_eq!(sum(pkts), n("packets"), "packets");
    assert_eq!(sum(bytes), n("wire_bytes"), "bytes on the wire");
    assert_eq!(sum(syns), n("syn_packets"), "SYN packets");
    assert_eq!(count(&|r| r[proto] == "6"), n("tcp_flows"), "TCP flows");
    assert_eq!(count(&|r| r[proto] == "17"), n("udp_flows"), "UDP flows");
    assert_eq!(
        count(&|r| r[proto] == "1" || r[proto] == "58"),
        n("icmp_flows"),
        "ICMP flows"
    );
    assert_eq!(count(&|r| r[ver] == "6"), n("ipv6_flows"), "IPv6 flows");
    assert_eq!(
        count(&|r| r[col("vlan_id")] != "0"),
        n("vlan_flows"),
        "VLAN flows"
    );

    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(stats["packets_read"], n("packets"));
    assert_eq!(stats["packets_in_flows"], n("packets"));
    assert_eq!(stats["flows_written"], n("distinct_biflows"));
}

/// The same input and options give byte-identical output, whatever `-j`.
#[test]
fn output_is_deterministic() {
    let root = repo_root();
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for (name, threads) in [("a.parquet", "1"), ("b.parquet", "1"), ("c.parquet", "3")] {
        let path = dir.path().join(name);
        let out = flowq(&[
            "extract",
            root.join("testdata/sample.pcap").to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
            "-q",
            "-j",
            threads,
        ]);
        assert!(out.status.success());
        outputs.push(std::fs::read(&path).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
}

/// A zstd-compressed capture is recognised by its magic bytes, whatever its name,
/// and gives the same flows as the plain file.
#[test]
fn zstd_capture_is_read_by_magic() {
    let root = repo_root();
    let plain = root.join("testdata/sample.pcap");
    let dir = tempfile::tempdir().unwrap();
    let packed = dir.path().join("sample.bin");
    let bytes = std::fs::read(&plain).unwrap();
    std::fs::write(&packed, zstd::encode_all(&bytes[..], 3).unwrap()).unwrap();
    let run = |input: &std::path::Path| {
        let out = flowq(&["extract", input.to_str().unwrap(), "-o", "-", "-q"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let expected = run(&plain);
    assert!(expected.len() > 1000);
    assert_eq!(run(&packed), expected);
}

/// A file's `flowq.options` records every option that shapes its rows, the
/// same record as a dataset's manifest holds for the same options
/// (`--tunnels` was missing from files). Which options are recorded is
/// checked against the command line itself by a unit test
/// (`every_extract_option_is_recorded_or_says_why_not`).
#[test]
fn file_metadata_records_the_options_as_a_dataset_does() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_root().join("testdata/sample.pcap");
    let file = dir.path().join("flows.parquet");
    let dataset = dir.path().join("ds/");
    let options = [
        "--tunnels",
        "outer",
        "--profile",
        "full",
        "--splt",
        "3",
        "--idle-timeout",
        "60",
        "-q",
    ];
    for output in [&file, &dataset] {
        let mut args = vec![
            "extract",
            sample.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ];
        args.extend(options);
        let out = flowq(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let reader = SerializedFileReader::new(std::fs::File::open(&file).unwrap()).unwrap();
    let recorded = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .find(|kv| kv.key == "flowq.options")
        .and_then(|kv| kv.value.clone())
        .expect("flowq.options");
    let recorded: serde_json::Value = serde_json::from_str(&recorded).unwrap();
    assert_eq!(recorded["features"]["tunnels"], "outer", "{recorded:#}");
    assert_eq!(recorded["profile"], "full", "{recorded:#}");
    assert_eq!(recorded["features"]["splt"], 3, "{recorded:#}");
    assert_eq!(recorded["flow"]["idle_timeout_ns"], 60_000_000_000u64);
    assert_eq!(recorded["rotated"], false, "{recorded:#}");
    assert_eq!(recorded["transform"]["drop_identifiers"], false);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dataset.join("_dataset.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["options"], recorded);
}

/// Messages name the manifest by its name, `_dataset.json`.
#[test]
fn messages_name_the_manifest_by_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo_root().join("testdata/sample.pcap");
    let stats = dir.path().join("stats.json");
    let dataset = dir.path().join("ds/");
    let out = flowq(&[
        "extract",
        sample.to_str().unwrap(),
        "-o",
        dataset.to_str().unwrap(),
        "--stats-json",
        stats.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("in its _dataset.json"), "{stderr}");
}
