//! `--reorder-window` and `--dedup` (docs/cli.md#preprocessing): flowq on a
//! built capture with the option must give what flowq gives on the file
//! reordercap or editcap writes from it (the same packets table, packet ids
//! included, and the same flows), plus hand-computed counts. The tools'
//! outputs are committed in testdata/preprocess/ (its README has the
//! commands), so these tests run where the tools are not installed; the
//! inputs there must be byte for byte the captures built here.

use crate::util::capture::{
    Iface, LINKTYPE_ETHERNET, LINKTYPE_RAW, Pkt, T0_US, eth, ip4_udp, pcap_bytes, pcapng_bytes,
};
use crate::util::{flowq, repo_root};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    repo_root().join("testdata/preprocess").join(name)
}

/// A UDP packet of one of three conversations, its payload naming `tag` (so
/// every tag has its own bytes; equal tags are equal bytes).
fn udp(flow: u8, tag: &str) -> Vec<u8> {
    let (src, dst) = match flow {
        0 => (([10, 0, 0, 1], 40_000), ([10, 0, 0, 2], 53)),
        1 => (([10, 0, 0, 2], 53), ([10, 0, 0, 1], 40_000)),
        _ => (([10, 0, 0, 3], 50_000), ([10, 0, 0, 4], 123)),
    };
    ip4_udp(src, dst, tag.as_bytes())
}

fn at(us: i64, flow: u8, tag: &str) -> Pkt {
    Pkt::new(T0_US + us, eth(&udp(flow, tag)))
}

/// Disorder of at most 3 ms (a packet stamped 3 ms before one read earlier),
/// and equal timestamps in both flows.
fn reorder_within() -> Vec<u8> {
    let arrival: [(i64, u8); 28] = [
        (0, 0),
        (2_000, 1),
        (1_000, 2),
        (3_000, 0),
        (3_000, 2), // the same time as the one before, another flow
        (7_000, 1),
        (4_000, 0), // 3 ms after 7 ms was read
        (5_000, 2),
        (6_000, 0),
        (8_000, 2),
        (8_000, 1),
        (9_500, 0),
        (9_000, 2),
        (12_000, 1),
        (10_000, 0),
        (11_000, 2),
        (11_000, 0),
        (13_000, 1),
        (16_000, 0),
        (14_000, 2),
        (15_000, 1),
        (17_000, 0),
        (18_000, 2),
        (22_000, 1),
        (19_000, 0), // 3 ms again
        (20_000, 2),
        (21_000, 1),
        (23_000, 0),
    ];
    let packets: Vec<Pkt> = arrival
        .iter()
        .enumerate()
        .map(|(i, &(us, flow))| at(us, flow, &format!("p{i}")))
        .collect();
    pcap_bytes(LINKTYPE_ETHERNET, false, &packets)
}

/// Packets every millisecond from 0 to 32 ms, and one stamped 2.5 ms read
/// right after the one at 30 ms (27.5 ms late).
fn reorder_late() -> Vec<u8> {
    let mut packets = Vec::new();
    for ms in 0..=32i64 {
        packets.push(at(ms * 1_000, (ms % 3) as u8, &format!("t{ms}")));
        if ms == 30 {
            packets.push(at(2_500, 0, "late"));
        }
    }
    pcap_bytes(LINKTYPE_ETHERNET, false, &packets)
}

/// Duplicates at several distances in packets and in time, a copy one byte
/// off, and a copy with another wire length (same captured bytes). In time
/// order, as editcap -w assumes.
fn dedup_input() -> Vec<u8> {
    let list: [(i64, &str); 16] = [
        (0, "A"),      // 0
        (100, "B"),    // 1
        (200, "A"),    // 2  A, 2 packets and 200 us after 0
        (300, "C"),    // 3
        (400, "D"),    // 4
        (500, "E"),    // 5
        (600, "B"),    // 6  B, 5 packets and 500 us after 1
        (2_700, "A"),  // 7  A, 5 packets and 2500 us after 2
        (2_800, "a"),  // 8  A with one byte changed
        (2_900, "F"),  // 9
        (2_900, "F"),  // 10 F at the same time
        (5_000, "G"),  // 11
        (5_001, "G"),  // 12 G 1 us later
        (9_000, "C"),  // 13 C, 8.7 ms after 3
        (9_100, "H"),  // 14
        (9_200, "H*"), // 15 H's bytes, a longer wire length
    ];
    let packets: Vec<Pkt> = list
        .iter()
        .map(|&(us, tag)| match tag {
            "H*" => {
                let mut p = at(us, 0, "H");
                p.orig_len += 100;
                p
            }
            _ => at(us, 0, tag),
        })
        .collect();
    pcap_bytes(LINKTYPE_ETHERNET, false, &packets)
}

/// A SPAN-like pcapng: every packet of one conversation seen on interface 0
/// (microseconds) and 3 us later on interface 1 (nanoseconds), interleaved
/// out of order, and a raw-IP interface 2 with another conversation.
fn interfaces_input() -> Vec<u8> {
    let ifaces = [
        Iface::new(LINKTYPE_ETHERNET, None),
        Iface::new(LINKTYPE_ETHERNET, Some(9)),
        Iface::new(LINKTYPE_RAW, None),
    ];
    let frame = |i: usize| eth(&udp((i % 2) as u8, &format!("s{i}")));
    let mut packets: Vec<(u32, Pkt)> = Vec::new();
    for i in 0..8usize {
        let us = T0_US + i as i64 * 1_000;
        let copy = Pkt::at_ns((us + 3) * 1_000, frame(i));
        let original = Pkt::new(us, frame(i));
        // Every other pair arrives copy first; the raw-IP packet of this
        // millisecond comes after both, stamped before them.
        if i % 2 == 0 {
            packets.push((0, original));
            packets.push((1, copy));
        } else {
            packets.push((1, copy));
            packets.push((0, original));
        }
        packets.push((2, Pkt::new(us - 500, udp(2, &format!("r{i}")))));
    }
    pcapng_bytes(&ifaces, &packets)
}

/// The built inputs, as committed.
fn inputs() -> [(&'static str, Vec<u8>); 4] {
    [
        ("reorder-within.pcap", reorder_within()),
        ("reorder-late.pcap", reorder_late()),
        ("dedup.pcap", dedup_input()),
        ("interfaces.pcapng", interfaces_input()),
    ]
}

/// The committed inputs are the captures built here (the tools' outputs were
/// made from them). `FLOWQ_WRITE_PREPROCESS_INPUTS=1` writes them instead
/// (then rerun the tools as testdata/preprocess/README.md says).
#[test]
fn committed_inputs_are_the_built_captures() {
    for (name, bytes) in inputs() {
        let path = fixture(name);
        if std::env::var_os("FLOWQ_WRITE_PREPROCESS_INPUTS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == bytes,
            "{name} differs from the capture built here"
        );
    }
}

const PACKETS_SQL: &str = "select packet_id, ts, src_ip, src_port, dst_ip, dst_port, length, \
                           captured_length, payload_bytes, flow_id from packets order by packet_id";

/// The packets table of `capture` under `options`, as CSV.
fn packets(capture: &Path, options: &[&str]) -> String {
    let mut args = vec![
        "query",
        PACKETS_SQL,
        "--format",
        "csv",
        "--pcap",
        capture.to_str().unwrap(),
    ];
    args.extend(options);
    let out = flowq(&args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The flows of `capture` under `options` (CSV text) and the run summary.
fn flows(capture: &Path, options: &[&str], scratch: &Path) -> (String, serde_json::Value) {
    let (csv, stats) = (scratch.join("flows.csv"), scratch.join("stats.json"));
    let mut args = vec![
        "extract",
        capture.to_str().unwrap(),
        "-o",
        csv.to_str().unwrap(),
        "--quiet",
        "--stats-json",
        stats.to_str().unwrap(),
    ];
    args.extend(options);
    let out = flowq(&args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    (std::fs::read_to_string(&csv).unwrap(), summary)
}

/// flowq with `options` on `input` reads as flowq on the tool's `output`,
/// and the summary counts what went; returns that summary.
#[track_caller]
fn same_as_tool(input: &str, options: &[&str], output: &str) -> serde_json::Value {
    let (input, output) = (fixture(input), fixture(output));
    let preprocessed = packets(&input, options);
    let by_tool = packets(&output, &[]);
    assert_eq!(preprocessed, by_tool, "{options:?} on {}", input.display());
    let dir = tempfile::tempdir().unwrap();
    let (flows_pre, summary) = flows(&input, options, dir.path());
    let (flows_tool, tool_summary) = flows(&output, &[], dir.path());
    assert_eq!(flows_pre, flows_tool, "flows of {options:?}");
    assert_eq!(summary["packets_read"], tool_summary["packets_read"]);
    let read = |s: &serde_json::Value| s["packets_read"].as_u64().unwrap();
    let records = read(&flows(&input, &[], dir.path()).1);
    assert_eq!(
        read(&summary) + summary["duplicates_dropped"].as_u64().unwrap(),
        records,
        "records = packets_read + duplicates_dropped"
    );
    summary
}

fn count(summary: &serde_json::Value, key: &str) -> u64 {
    summary[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {summary}"))
}

#[test]
fn reordering_within_the_window_equals_reordercap() {
    // The input is out of order (so the test can fail) ...
    let plain = packets(&fixture("reorder-within.pcap"), &[]);
    assert_ne!(
        plain,
        packets(&fixture("reorder-within.reordercap.pcap"), &[])
    );
    // ... and its largest disorder is 3 ms: 3 ms and more give reordercap's order.
    for window in ["3", "5", "3000us", "1s"] {
        let summary = same_as_tool(
            "reorder-within.pcap",
            &["--reorder-window", window],
            "reorder-within.reordercap.pcap",
        );
        assert_eq!(count(&summary, "reorder_late"), 0);
        assert_eq!(count(&summary, "duplicates_dropped"), 0);
    }
}

#[test]
fn a_packet_later_than_the_window_is_counted_and_goes_on_as_early_as_it_can() {
    // 2.5 ms is read after 30 ms. It is late when a packet stamped between
    // them has gone on before it: 3 ms goes on once 3 + window <= 30, so
    // with windows up to 27 ms; from 27.001 ms on, the order is reordercap's.
    let summary = same_as_tool(
        "reorder-late.pcap",
        &["--reorder-window", "27.001"],
        "reorder-late.reordercap.pcap",
    );
    assert_eq!(count(&summary, "reorder_late"), 0);

    let sorted = packets(&fixture("reorder-late.reordercap.pcap"), &[]);
    for window_ms in [27u32, 5] {
        let window = window_ms.to_string();
        let got = packets(
            &fixture("reorder-late.pcap"),
            &["--reorder-window", &window],
        );
        // Expected: reordercap's order with the late packet (the 4th of 34)
        // moved after the last packet stamped at most 30 - window ms.
        let mut rows: Vec<&str> = sorted.lines().collect();
        let header = rows.remove(0);
        let late = rows.remove(3);
        let at = (30 - window_ms as usize) + 1;
        rows.insert(at, late);
        let renumbered: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let rest = row.split_once(',').unwrap().1;
                format!("{i},{rest}")
            })
            .collect();
        let got_rows: Vec<String> = got
            .lines()
            .skip(1)
            .map(|row| {
                // flow ids follow the order too: compare them apart.
                row.rsplit_once(',').unwrap().0.to_string()
            })
            .collect();
        let want_rows: Vec<String> = renumbered
            .iter()
            .map(|row| row.rsplit_once(',').unwrap().0.to_string())
            .collect();
        assert_eq!(got.lines().next(), Some(header));
        assert_eq!(got_rows, want_rows, "window {window} ms");
        let dir = tempfile::tempdir().unwrap();
        let (_, summary) = flows(
            &fixture("reorder-late.pcap"),
            &["--reorder-window", &window],
            dir.path(),
        );
        assert_eq!(count(&summary, "reorder_late"), 1, "window {window} ms");
        assert_eq!(count(&summary, "packets_read"), 34);
    }
}

#[test]
fn dedup_by_packets_equals_editcap_d() {
    // Hand-computed: --dedup 3 drops 2 (A two back), 10 (F), 12 (G), 15 (H);
    // --dedup 5 also 6 (B five back) and 7 (A five back: the dropped copy 2).
    for (window, tool, dropped) in [("3", "D4", 4), ("5", "D6", 6)] {
        let summary = same_as_tool(
            "dedup.pcap",
            &["--dedup", window],
            &format!("dedup.editcap-{tool}.pcap"),
        );
        assert_eq!(
            count(&summary, "duplicates_dropped"),
            dropped,
            "--dedup {window}"
        );
        assert_eq!(count(&summary, "packets_read"), 16 - dropped);
    }
}

#[test]
fn dedup_by_time_equals_editcap_w() {
    // Hand-computed: 500 us drops 2, 6 (500 us: inclusive), 10, 12, 15;
    // 2.5 ms also 7 (2500 us after the dropped copy 2).
    for (window, tool, dropped) in [("500us", "w0.0005", 5), ("2.5ms", "w0.0025", 6)] {
        let summary = same_as_tool(
            "dedup.pcap",
            &["--dedup", window],
            &format!("dedup.editcap-{tool}.pcap"),
        );
        assert_eq!(
            count(&summary, "duplicates_dropped"),
            dropped,
            "--dedup {window}"
        );
    }
}

#[test]
fn pcapng_interfaces_reorder_and_dedup_as_the_tools_do() {
    // Reordered across interfaces (and link types): reordercap's order.
    let summary = same_as_tool(
        "interfaces.pcapng",
        &["--reorder-window", "1"],
        "interfaces.reordercap.pcapng",
    );
    assert_eq!(count(&summary, "reorder_late"), 0);
    // The copies on interface 1 are the same bytes as on interface 0: editcap
    // drops them (it compares bytes, not interfaces), whichever came first.
    let summary = same_as_tool(
        "interfaces.pcapng",
        &["--dedup", "1"],
        "interfaces.editcap-D2.pcapng",
    );
    assert_eq!(count(&summary, "duplicates_dropped"), 8);
    // Both, in flowq's order (reorder, then dedup) = reordercap, then editcap.
    let summary = same_as_tool(
        "interfaces.pcapng",
        &["--reorder-window", "1", "--dedup", "1"],
        "interfaces.reordercap.editcap-D2.pcapng",
    );
    assert_eq!(count(&summary, "duplicates_dropped"), 8);
    assert_eq!(count(&summary, "packets_read"), 16);
    // The sharded path (a reader thread, -j flow tables) preprocesses alike.
    let dir = tempfile::tempdir().unwrap();
    let both = ["--reorder-window", "1", "--dedup", "1"];
    let input = fixture("interfaces.pcapng");
    let (one, _) = flows(&input, &both, dir.path());
    let (sharded, summary) = flows(&input, &[&both[..], &["-j", "2"]].concat(), dir.path());
    assert_eq!(one, sharded);
    assert_eq!(count(&summary, "duplicates_dropped"), 8);
}

#[test]
fn bad_values_are_refused_with_the_reason() {
    let input = fixture("dedup.pcap");
    for (option, value, reason) in [
        ("--dedup", "0", "1 to 999999 packets"),
        ("--dedup", "1.5", "needs its unit"),
        ("--dedup", "2h", "not a time unit"),
        ("--reorder-window", "0", "longer than 0"),
        ("--reorder-window=-1", "", "cannot be negative"),
        ("--dedup=-5", "", "cannot be negative"),
        ("--reorder-window", "2h", "not a time unit"),
    ] {
        let mut args = vec!["extract", input.to_str().unwrap(), "-o", "-", option];
        if !value.is_empty() {
            args.push(value);
        }
        let out = flowq(&args);
        assert_eq!(out.status.code(), Some(2), "{option} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{option} {value}: {stderr}");
    }
}

/// A dataset made before `preprocess` was recorded (its manifest lacks the
/// key) can be appended to without the options, not with them; a dataset made
/// with them records them, and its manifest counts the duplicates per input.
#[test]
fn datasets_record_preprocessing_and_older_ones_can_still_be_appended_to() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("ds");
    let first = tmp.path().join("first.pcap");
    std::fs::copy(fixture("reorder-within.pcap"), &first).unwrap();
    let second = tmp.path().join("second.pcap");
    std::fs::copy(fixture("dedup.pcap"), &second).unwrap();
    let (ds_arg, first_arg, second_arg) = (
        format!("{}/", ds.display()),
        first.display().to_string(),
        second.display().to_string(),
    );
    let run = |args: &[&str]| {
        let out = flowq(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["extract", &first_arg, "-o", &ds_arg, "--quiet"]);
    assert_eq!(code, Some(0), "{stderr}");
    let manifest_path = ds.join("_dataset.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    assert_eq!(
        manifest["options"]["preprocess"],
        serde_json::json!({"reorder_window_ns": null, "dedup": null})
    );
    manifest["options"]
        .as_object_mut()
        .unwrap()
        .remove("preprocess");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();

    let append = ["extract", &second_arg, "-o", &ds_arg, "--append", "--quiet"];
    let (code, stderr) = run(&[&append[..], &["--dedup", "3"]].concat());
    assert_ne!(code, Some(0));
    assert!(stderr.contains("preprocess"), "{stderr}");
    let (code, stderr) = run(&append);
    assert_eq!(code, Some(0), "{stderr}");

    let with = tmp.path().join("with");
    let with_arg = format!("{}/", with.display());
    let (code, stderr) = run(&[
        "extract",
        &second_arg,
        "-o",
        &with_arg,
        "--dedup",
        "3",
        "--quiet",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(with.join("_dataset.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["options"]["preprocess"]["dedup"],
        serde_json::json!({"packets": 3})
    );
    // --dedup 3 drops 4 of dedup.pcap's 16 packets (dedup_by_packets_equals_editcap_d).
    assert_eq!(manifest["inputs"][0]["duplicates_dropped"], 4);
    assert_eq!(manifest["inputs"][0]["packets"], 12);
    assert!(manifest["inputs"][0].get("reorder_late").is_none());
}
