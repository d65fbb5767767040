//! Hostile and damaged input that must end in a counted, documented outcome
//! (docs/robustness.md): a SYN flood against `--max-flows`, timestamps that
//! jump, Ctrl-C in the middle of a capture, and an output that cannot be
//! written.

use crate::util::capture::{
    LINKTYPE_ETHERNET, Pkt, T0_US, eth, flags, ip4_tcp, ip4_udp, pcap_bytes, write_pcap,
};
use crate::util::{flowq, flowq_bin};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Extracts `packets` to CSV and returns the rows (column name to text) and the
/// run summary.
fn extract(
    dir: &Path,
    packets: &[Pkt],
    args: &[&str],
) -> (Vec<BTreeMap<String, String>>, serde_json::Value) {
    let capture = dir.join("in.pcap");
    let csv = dir.join("out.csv");
    let stats = dir.join("stats.json");
    write_pcap(&capture, LINKTYPE_ETHERNET, false, packets);
    let mut all = vec![
        "extract",
        capture.to_str().unwrap(),
        "-o",
        csv.to_str().unwrap(),
        "--stats-json",
        stats.to_str().unwrap(),
        "-q",
    ];
    all.extend_from_slice(args);
    let out = flowq(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows = crate::util::csv_rows(&text);
    let summary = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    (rows, summary)
}

fn syn_from(i: u32) -> Vec<u8> {
    let src = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    eth(&ip4_tcp(
        (src, 1024 + (i % 60_000) as u16),
        ([192, 168, 0, 1], 80),
        flags::SYN,
        &[],
    ))
}

/// A SYN flood of 20 000 distinct sources against a table of 500 flows: memory
/// stays at 500 open flows, every packet is still counted, each evicted flow is
/// written with end reason `evicted`, and the summary counts them.
#[test]
fn syn_flood_is_bounded_by_max_flows() {
    let dir = tempfile::tempdir().unwrap();
    let packets: Vec<Pkt> = (0..20_000u32)
        .map(|i| Pkt::new(T0_US + i64::from(i) * 10, syn_from(i)))
        .collect();
    let (rows, summary) = extract(dir.path(), &packets, &["--max-flows", "500"]);
    assert_eq!(rows.len(), 20_000);
    assert_eq!(summary["peak_active_flows"], 500);
    assert_eq!(summary["evicted_flows"], 19_500);
    assert_eq!(summary["packets_in_flows"], 20_000);
    let evicted = rows.iter().filter(|r| r["end_reason"] == "evicted").count();
    let open = rows
        .iter()
        .filter(|r| r["end_reason"] == "end_of_capture")
        .count();
    assert_eq!((evicted, open), (19_500, 500));
    assert!(rows.iter().all(|r| r["pkt_count"] == "1"));
    // The limit is split over 7 eviction partitions (one per 64 flows): 72,
    // 72, 72, 71, 71, 71, 71 flows. In each, the least recently active flows
    // go first, so the flows still open at the end are the last sources of
    // each partition.
    use flowq_extract::decode::Tunnel;
    use flowq_extract::flow::{FlowKey, partition_of, partitions};
    assert_eq!(partitions(500), 7);
    let partition = |i: u32| {
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&[10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[192, 168, 0, 1]);
        let key = FlowKey {
            addr: [src, dst],
            port: [1024 + (i % 60_000) as u16, 80],
            protocol: 6,
            ip_version: 4,
            vlan_id: 0,
            tunnel: Tunnel::None,
        };
        partition_of(&key, 7)
    };
    let mut expected_open = std::collections::BTreeSet::new();
    let mut seen = [0usize; 7];
    for i in (0..20_000u32).rev() {
        let p = partition(i);
        let cap = 500 / 7 + usize::from(p < 500 % 7);
        if seen[p] < cap {
            seen[p] += 1;
            expected_open.insert(format!("10.{}.{}.{}", i >> 16, (i >> 8) & 0xff, i & 0xff));
        }
    }
    let open: std::collections::BTreeSet<String> = rows
        .iter()
        .filter(|r| r["end_reason"] == "end_of_capture")
        .map(|r| r["src_ip"].clone())
        .collect();
    assert_eq!(open, expected_open);
}

/// Without the limit the same flood keeps every flow open (default budget).
#[test]
fn default_flow_limit_is_large() {
    let dir = tempfile::tempdir().unwrap();
    let packets: Vec<Pkt> = (0..2_000u32)
        .map(|i| Pkt::new(T0_US + i64::from(i) * 10, syn_from(i)))
        .collect();
    let (_, summary) = extract(dir.path(), &packets, &[]);
    assert_eq!(summary["evicted_flows"], 0);
    assert_eq!(summary["peak_active_flows"], 2_000);
}

fn udp(sport: u16, payload: usize) -> Vec<u8> {
    eth(&ip4_udp(
        ([10, 0, 0, 1], sport),
        ([10, 0, 0, 2], 53),
        &vec![0u8; payload],
    ))
}

/// One packet stamped a year ahead (a corrupt timestamp) neither expires the
/// open flows nor freezes the clock: it is counted as an outlier and the flows
/// carry on; only the outlier's own flow shows its timestamp.
#[test]
fn a_lone_far_future_timestamp_is_an_outlier() {
    let dir = tempfile::tempdir().unwrap();
    let year_us = 365 * 24 * 3_600 * 1_000_000i64;
    let packets = vec![
        Pkt::new(T0_US, udp(1000, 10)),
        Pkt::new(T0_US + 1_000_000, udp(2000, 10)),
        Pkt::new(T0_US + year_us, udp(3000, 10)),
        Pkt::new(T0_US + 2_000_000, udp(1000, 10)),
        Pkt::new(T0_US + 3_000_000, udp(2000, 10)),
        // 200 s later: flows 1000 and 2000 are idle for more than 120 s.
        Pkt::new(T0_US + 203_000_000, udp(1000, 10)),
    ];
    let (rows, summary) = extract(dir.path(), &packets, &[]);
    assert_eq!(summary["timestamp_outliers"], 1);
    let by_port = |p: &str| -> Vec<&BTreeMap<String, String>> {
        rows.iter().filter(|r| r["src_port"] == p).collect()
    };
    // Flow 1000: two packets, then an idle expiry, then a new flow.
    let f1000 = by_port("1000");
    assert_eq!(f1000.len(), 2, "{f1000:?}");
    assert_eq!(f1000[0]["pkt_count"], "2");
    assert_eq!(f1000[0]["end_reason"], "idle_timeout");
    let f2000 = by_port("2000");
    assert_eq!(f2000.len(), 1);
    assert_eq!(f2000[0]["pkt_count"], "2");
    assert_eq!(f2000[0]["end_reason"], "idle_timeout");
}

/// A real gap of two hours (confirmed by the second packet after it) moves the
/// clock: the flows before it end by idle timeout, and the first packet after
/// the gap already starts a new flow although the clock had not moved yet.
#[test]
fn a_confirmed_gap_expires_flows_and_starts_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let gap = 2 * 3_600 * 1_000_000i64;
    let packets = vec![
        Pkt::new(T0_US, udp(1000, 10)),
        Pkt::new(T0_US + 1_000, udp(1000, 10)),
        Pkt::new(T0_US + gap, udp(1000, 10)),
        Pkt::new(T0_US + gap + 1_000, udp(1000, 10)),
    ];
    let (rows, summary) = extract(dir.path(), &packets, &[]);
    assert_eq!(summary["timestamp_outliers"], 0);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["pkt_count"], "2");
    assert_eq!(rows[0]["end_reason"], "idle_timeout");
    assert_eq!(rows[1]["pkt_count"], "2");
    assert_eq!(rows[1]["end_reason"], "end_of_capture");
}

/// Backwards timestamps never move the clock, so they cannot expire flows.
#[test]
fn backwards_timestamps_do_not_expire_flows() {
    let dir = tempfile::tempdir().unwrap();
    let packets = vec![
        Pkt::new(T0_US + 500_000_000, udp(1000, 10)),
        Pkt::new(T0_US, udp(2000, 10)),
        Pkt::new(T0_US + 500_001_000, udp(1000, 10)),
        Pkt::new(T0_US + 1_000, udp(2000, 10)),
    ];
    let (rows, summary) = extract(dir.path(), &packets, &[]);
    assert_eq!(summary["backward_timestamps"], 2);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r["pkt_count"] == "2" && r["end_reason"] == "end_of_capture")
    );
}

/// Ctrl-C in the middle of a capture read from a pipe: flowq stops reading,
/// writes the flows it has, marks the output partial and exits with 130; no
/// temporary file is left behind.
#[test]
fn ctrl_c_writes_the_flows_so_far_and_marks_the_output_partial() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("flows.parquet");
    let mut child = Command::new(flowq_bin())
        .args(["extract", "-", "-o", out_path.to_str().unwrap(), "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The pcap header and a first batch of packets, then keep the pipe open.
    let packets: Vec<Pkt> = (0..5_000u32)
        .map(|i| Pkt::new(T0_US + i64::from(i) * 10, syn_from(i)))
        .collect();
    stdin
        .write_all(&pcap_bytes(LINKTYPE_ETHERNET, false, &packets))
        .unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Reading resumes on the next record boundary check: feed more packets.
    let more: Vec<Pkt> = (5_000..10_000u32)
        .map(|i| Pkt::new(T0_US + i64::from(i) * 10, syn_from(i)))
        .collect();
    let bytes = pcap_bytes(LINKTYPE_ETHERNET, false, &more);
    let started = Instant::now();
    let _ = stdin.write_all(&bytes[24..]);
    let _ = stdin.flush();
    let output = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "flowq did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let file = std::fs::File::open(&out_path).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    use parquet::file::reader::FileReader as _;
    let meta = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap();
    let partial = meta.iter().find(|kv| kv.key == "flowq.partial");
    assert_eq!(
        partial.and_then(|kv| kv.value.as_deref()),
        Some("interrupted")
    );
    let rows = reader.metadata().file_metadata().num_rows();
    assert!((5_000..=10_000).contains(&rows), "{rows} rows");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A write error (here the file-size limit, as a full disk would be) gives a
/// clear message and exit status 2, and no file under the final name.
#[test]
fn a_failing_write_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("in.pcap");
    let packets: Vec<Pkt> = (0..20_000u32)
        .map(|i| Pkt::new(T0_US + i64::from(i) * 10, syn_from(i)))
        .collect();
    write_pcap(&capture, LINKTYPE_ETHERNET, false, &packets);
    let out_path = dir.path().join("flows.csv");
    // `ulimit -f` caps file size (512-byte blocks in POSIX sh); ignoring
    // SIGXFSZ turns the kill into an EFBIG write error.
    let script = format!(
        "ulimit -f 64; trap '' XFSZ; exec '{}' extract '{}' -o '{}' -q",
        flowq_bin().display(),
        capture.display(),
        out_path.display()
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("flowq: error"), "{stderr}");
    assert!(!out_path.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
