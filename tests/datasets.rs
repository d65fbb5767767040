//! Datasets (docs/datasets.md, issue 8): `flowq extract ... -o DIR/` writes a
//! partitioned dataset with a `_dataset.json` manifest; `--append`,
//! `--partition-by`, `--labels`, `--anonymize`, `--drop-identifiers` and
//! `--rotated`. Written from the specification: every expected value below is
//! worked out from the packets each test builds.

use crate::util::capture::{
    Iface, LINKTYPE_ETHERNET, LINKTYPE_RAW, Pkt, T0_US, arp_request, eth, flags, ip4_tcp, ip4_udp,
    pcap_bytes, write_pcap, write_pcapng,
};
use crate::util::rows::read_parquet;
use crate::util::{flowq, flowq_in};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One second in microseconds.
const S: i64 = 1_000_000;

// ---------------------------------------------------------------------------
// Running flowq
// ---------------------------------------------------------------------------

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A dataset directory argument: the path with a trailing `/`.
fn dir_arg(path: &Path) -> String {
    format!("{}/", p(path))
}

fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the exit code of a finished run.
#[track_caller]
fn expect_code(out: &Output, code: i32, args: &[&str]) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "flowq {args:?}: expected exit {code}\n{}",
        shown(out)
    );
}

/// Runs `flowq extract INPUTS... -o OUTPUT -q EXTRA...` and checks the exit code.
#[track_caller]
fn extract(inputs: &[&Path], output: &str, extra: &[&str], code: i32) -> Output {
    let mut args = vec!["extract"];
    args.extend(inputs.iter().map(|i| p(i)));
    args.extend(["-o", output, "-q"]);
    args.extend_from_slice(extra);
    let out = flowq(&args);
    expect_code(&out, code, &args);
    out
}

/// The rows of a CSV text, header first.
fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.expect("csv record").iter().map(String::from).collect())
        .collect()
}

/// Runs SQL over `data` and returns the CSV result, header row first.
#[track_caller]
fn sql(data: &Path, query: &str) -> Vec<Vec<String>> {
    let args = ["query", query, "--data", p(data), "--format", "csv"];
    let out = flowq(&args);
    expect_code(&out, 0, &args);
    parse_csv(&out.stdout)
}

/// Rows written out, for comparison with [`sql`].
fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// A CSV file's rows as column name (leading spaces trimmed) to value.
fn csv_maps(path: &Path) -> Vec<BTreeMap<String, String>> {
    let rows = parse_csv(&std::fs::read(path).expect("read csv"));
    let header: Vec<String> = rows[0].iter().map(|h| h.trim_start().to_string()).collect();
    rows[1..]
        .iter()
        .map(|r| header.iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("_dataset.json")).expect("read _dataset.json");
    serde_json::from_str(&text).expect("_dataset.json is JSON")
}

/// The manifest entry of the capture named `name`.
#[track_caller]
fn input<'a>(m: &'a Value, name: &str) -> &'a Value {
    let inputs = m["inputs"].as_array().expect("inputs array");
    let found: Vec<&Value> = inputs.iter().filter(|i| i["name"] == name).collect();
    assert_eq!(found.len(), 1, "input {name} in {inputs:#?}");
    found[0]
}

/// The sum of a `skipped` object's counts.
fn skipped_total(v: &Value) -> u64 {
    v.as_object()
        .expect("skipped is an object")
        .values()
        .map(|n| n.as_u64().expect("skip count"))
        .sum()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sha256_file(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("read file"))
}

/// Every file below `dir`, relative path (with `/`) to bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

fn names(tree: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    tree.keys().cloned().collect()
}

/// The key-value metadata of a Parquet file.
fn parquet_kv(path: &Path) -> BTreeMap<String, String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).expect("parquet");
    reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

fn mkdir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap();
    path.to_path_buf()
}

// ---------------------------------------------------------------------------
// Packets
// ---------------------------------------------------------------------------

type Ep = ([u8; 4], u16);

/// An Ethernet/IPv4/UDP frame: 14 + 20 + 8 + `payload` bytes.
fn udp(us: i64, src: Ep, dst: Ep, payload: usize) -> Pkt {
    Pkt::new(us, eth(&ip4_udp(src, dst, &vec![0u8; payload])))
}

/// An Ethernet/IPv4/TCP frame without payload: 54 bytes.
fn tcp(us: i64, src: Ep, dst: Ep, tcp_flags: u8) -> Pkt {
    Pkt::new(us, eth(&ip4_tcp(src, dst, tcp_flags, &[])))
}

/// Three captures with different names and formats, one in a subdirectory:
///
/// - `monday.pcap` (pcap): 2 flows, 3 packets, 52 + 72 + 62 = 186 bytes;
/// - `sub/tuesday.pcapng` (pcapng, a day later): 3 flows (a TCP handshake of
///   3 x 54 bytes and two 90-byte UDP packets), 5 packets, 342 bytes;
/// - `my capture#2.pcap` (pcap): an ARP request (not IP, skipped) and one
///   42-byte UDP packet: 2 packets, 1 in a flow, 1 flow.
fn three_captures(dir: &Path) -> [PathBuf; 3] {
    let monday = dir.join("monday.pcap");
    write_pcap(
        &monday,
        LINKTYPE_ETHERNET,
        false,
        &[
            udp(T0_US, ([10, 0, 0, 1], 1000), ([10, 0, 0, 2], 53), 10),
            udp(
                T0_US + 100_000,
                ([10, 0, 0, 2], 53),
                ([10, 0, 0, 1], 1000),
                30,
            ),
            udp(
                T0_US + 200_000,
                ([10, 0, 0, 3], 2000),
                ([10, 0, 0, 2], 53),
                20,
            ),
        ],
    );
    let tuesday = mkdir(&dir.join("sub")).join("tuesday.pcapng");
    let t1 = T0_US + 86_400 * S;
    let c = ([10, 0, 1, 1], 3000);
    let s = ([10, 0, 1, 2], 80);
    write_pcapng(
        &tuesday,
        &[Iface::new(LINKTYPE_ETHERNET, None)],
        &[
            (0, tcp(t1, c, s, flags::SYN)),
            (0, tcp(t1 + 10_000, s, c, flags::SYN | flags::ACK)),
            (0, tcp(t1 + 20_000, c, s, flags::ACK)),
            (
                0,
                udp(t1 + 30_000, ([10, 0, 1, 5], 4000), ([10, 0, 1, 6], 123), 48),
            ),
            (
                0,
                udp(t1 + 40_000, ([10, 0, 1, 7], 4001), ([10, 0, 1, 6], 123), 48),
            ),
        ],
    );
    let odd = dir.join("my capture#2.pcap");
    write_pcap(
        &odd,
        LINKTYPE_ETHERNET,
        false,
        &[
            Pkt::new(T0_US + 5 * S, arp_request([10, 0, 2, 1], [10, 0, 2, 2])),
            udp(T0_US + 6 * S, ([10, 0, 2, 1], 5000), ([10, 0, 2, 2], 7), 0),
        ],
    );
    [monday, tuesday, odd]
}

// ---------------------------------------------------------------------------
// 1. Layout, manifest, capture column
// ---------------------------------------------------------------------------

/// Three captures into a dataset: one `capture=NAME/flows.parquet` per capture
/// (names made safe), a manifest describing inputs (size, SHA-256), counts,
/// totals, schema and options, the `capture` column in SQL, and the provenance
/// in each file's Parquet metadata.
#[test]
fn dataset_layout_manifest_and_capture_column() {
    let tmp = tempfile::tempdir().unwrap();
    let caps = mkdir(&tmp.path().join("caps"));
    let [monday, tuesday, odd] = three_captures(&caps);
    let ds = tmp.path().join("ds");
    extract(&[&monday, &tuesday, &odd], &dir_arg(&ds), &[], 0);

    let files = tree(&ds);
    assert_eq!(
        names(&files),
        [
            "_dataset.json",
            "capture=monday.pcap/flows.parquet",
            "capture=my_capture_2.pcap/flows.parquet",
            "capture=tuesday.pcapng/flows.parquet",
        ]
    );

    let m = manifest(&ds);
    assert_eq!(m["manifest_version"], 1);
    assert_eq!(m["flowq_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["format"], "parquet");
    assert_eq!(m["partition_by"], "capture");
    assert_eq!(m["partition_columns"], serde_json::json!(["capture"]));
    let o = &m["options"];
    assert_eq!(o["profile"], "standard");
    assert_eq!(o["rotated"], false);
    assert_eq!(o["flow"]["idle_timeout_ns"], 120_000_000_000u64);
    assert_eq!(o["flow"]["active_timeout_ns"], 1_800_000_000_000u64);
    assert_eq!(o["flow"]["close_grace_ns"], 5_000_000_000u64);
    assert!(o["features"].is_object(), "options.features: {o:#}");
    assert_eq!(o["transform"]["labels"], Value::Null);
    assert_eq!(o["transform"]["anonymize"], Value::Null);
    assert_eq!(o["transform"]["drop_identifiers"], false);

    // Per capture: (name, path, format, packets, packets in flows, skipped, flows, output).
    let expected = [
        (
            "monday.pcap",
            &monday,
            "pcap",
            3,
            3,
            0,
            2,
            "capture=monday.pcap/flows.parquet",
        ),
        (
            "tuesday.pcapng",
            &tuesday,
            "pcapng",
            5,
            5,
            0,
            3,
            "capture=tuesday.pcapng/flows.parquet",
        ),
        (
            "my_capture_2.pcap",
            &odd,
            "pcap",
            2,
            1,
            1,
            1,
            "capture=my_capture_2.pcap/flows.parquet",
        ),
    ];
    assert_eq!(m["inputs"].as_array().unwrap().len(), 3);
    for (name, path, format, packets, in_flows, skipped, flows, output) in expected {
        let i = input(&m, name);
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(
            i["files"],
            serde_json::json!([{
                "path": p(path),
                "size": bytes.len(),
                "sha256": sha256_hex(&bytes),
            }]),
            "{name}"
        );
        assert_eq!(i["format"], format, "{name}");
        assert_eq!(i["status"], "complete", "{name}");
        assert_eq!(i["message"], Value::Null, "{name}");
        assert_eq!(i["packets"], packets, "{name}");
        assert_eq!(i["packets_in_flows"], in_flows, "{name}");
        assert_eq!(skipped_total(&i["skipped"]), skipped, "{name}");
        assert_eq!(i["flows"], flows, "{name}");
        assert_eq!(i["outputs"], serde_json::json!([output]), "{name}");
    }
    assert_eq!(m["totals"]["inputs"], 3);
    assert_eq!(m["totals"]["packets"], 10);
    assert_eq!(m["totals"]["flows"], 6);
    assert_eq!(skipped_total(&m["totals"]["skipped"]), 1);
    assert_eq!(m["warnings"], serde_json::json!([]));

    // The schema is that of the files, each column described.
    let monday_file = ds.join("capture=monday.pcap/flows.parquet");
    let out = read_parquet(&monday_file);
    let schema = m["schema"].as_array().unwrap();
    let schema_names: Vec<&str> = schema.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(schema_names, out.names());
    for c in schema {
        assert!(
            c["type"].as_str().is_some_and(|t| !t.is_empty()),
            "type of {c}"
        );
        assert!(c["nullable"].is_boolean(), "nullable of {c}");
        assert!(
            c["description"]
                .as_str()
                .is_some_and(|d| !d.trim().is_empty()),
            "description of {c}"
        );
    }
    let col = |n: &str| schema.iter().find(|c| c["name"] == n).unwrap();
    assert_eq!(col("src_ip")["type"], "Utf8");
    assert_eq!(col("pkt_count")["type"], "Int64");
    assert!(
        col("first_seen")["type"]
            .as_str()
            .unwrap()
            .starts_with("Timestamp"),
        "{}",
        col("first_seen")
    );
    assert!(!schema_names.contains(&"capture"), "{schema_names:?}");

    // Flows per capture, through the partition column.
    assert_eq!(
        sql(
            &ds,
            "select capture, count(*) as flows, sum(pkt_count) as packets, \
             sum(byte_count) as bytes from flows group by capture order by capture"
        ),
        table(&[
            &["capture", "flows", "packets", "bytes"],
            &["monday.pcap", "2", "3", "186"],
            &["my_capture_2.pcap", "1", "1", "42"],
            &["tuesday.pcapng", "3", "5", "342"],
        ])
    );

    // Provenance in the file itself.
    let kv = parquet_kv(&monday_file);
    assert_eq!(
        kv.get("flowq.version").map(String::as_str),
        Some(env!("CARGO_PKG_VERSION")),
        "{kv:#?}"
    );
    assert_eq!(
        kv.get("flowq.capture").map(String::as_str),
        Some("monday.pcap"),
        "{kv:#?}"
    );
    let file_options: Value =
        serde_json::from_str(&kv["flowq.options"]).expect("flowq.options is JSON");
    assert_eq!(file_options, m["options"]);
    assert!(
        kv["flowq.inputs"].contains(&sha256_file(&monday)),
        "flowq.inputs: {}",
        kv["flowq.inputs"]
    );
    assert!(kv.contains_key("flowq.summary"), "{kv:#?}");
}

/// Capture names: characters other than letters, digits, `.`, `-`, `_`
/// become `_`, a leading `.`/`_` is removed, and a second capture with the
/// same name gets `~` and 12 hex digits of its SHA-256. A capture without
/// flows still gets its (empty) file.
#[test]
fn partition_names_are_safe_unique_and_never_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = mkdir(&tmp.path().join("a")).join("dup.pcap");
    let b = mkdir(&tmp.path().join("b")).join("dup.pcap");
    let hidden = tmp.path().join(".hidden.pcap");
    let under = tmp.path().join("_under score.pcap");
    let empty = tmp.path().join("empty.pcap");
    let one = |port| [udp(T0_US, ([10, 0, 0, 1], port), ([10, 0, 0, 2], 53), 1)];
    write_pcap(&a, LINKTYPE_ETHERNET, false, &one(1));
    write_pcap(
        &b,
        LINKTYPE_ETHERNET,
        false,
        &[
            udp(T0_US, ([10, 0, 0, 1], 2), ([10, 0, 0, 2], 53), 1),
            udp(T0_US + 1, ([10, 0, 0, 1], 3), ([10, 0, 0, 2], 53), 1),
        ],
    );
    write_pcap(&hidden, LINKTYPE_ETHERNET, false, &one(4));
    write_pcap(&under, LINKTYPE_ETHERNET, false, &one(5));
    write_pcap(&empty, LINKTYPE_ETHERNET, false, &[]);
    let ds = tmp.path().join("ds");
    extract(&[&a, &b, &hidden, &under, &empty], &dir_arg(&ds), &[], 0);

    let second = format!("dup.pcap~{}", &sha256_file(&b)[..12]);
    let mut want = vec![
        "_dataset.json".to_string(),
        "capture=dup.pcap/flows.parquet".to_string(),
        format!("capture={second}/flows.parquet"),
        "capture=empty.pcap/flows.parquet".to_string(),
        "capture=hidden.pcap/flows.parquet".to_string(),
        "capture=under_score.pcap/flows.parquet".to_string(),
    ];
    want.sort();
    assert_eq!(names(&tree(&ds)), want);

    let m = manifest(&ds);
    assert_eq!(input(&m, "dup.pcap")["flows"], 1);
    assert_eq!(input(&m, &second)["flows"], 2);
    assert_eq!(input(&m, "empty.pcap")["flows"], 0);
    assert_eq!(input(&m, "empty.pcap")["status"], "complete");

    // The empty capture's file has the schema and no rows.
    let empty_out = read_parquet(&ds.join("capture=empty.pcap/flows.parquet"));
    assert_eq!(empty_out.rows.len(), 0);
    let schema_names: Vec<&str> = m["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(empty_out.names(), schema_names);

    let mut rows = table(&[
        &["capture", "n"],
        &["dup.pcap", "1"],
        &["hidden.pcap", "1"],
        &["under_score.pcap", "1"],
    ]);
    rows.push(vec![second, "2".into()]);
    rows[1..].sort();
    assert_eq!(
        sql(
            &ds,
            "select capture, count(*) as n from flows group by capture order by capture"
        ),
        rows
    );
}

// ---------------------------------------------------------------------------
// 2. Reproducible
// ---------------------------------------------------------------------------

/// The same inputs and options with `-j 1` and `-j 3`, in two runs: every
/// byte of every file is the same, manifest included.
#[test]
fn reruns_are_byte_identical_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let [monday, tuesday, odd] = three_captures(tmp.path());
    let one = tmp.path().join("one");
    let three = tmp.path().join("three");
    extract(&[&monday, &tuesday, &odd], &dir_arg(&one), &["-j", "1"], 0);
    extract(
        &[&monday, &tuesday, &odd],
        &dir_arg(&three),
        &["-j", "3"],
        0,
    );
    let (a, b) = (tree(&one), tree(&three));
    assert_eq!(names(&a), names(&b));
    assert_eq!(a.len(), 4);
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs between -j 1 and -j 3");
    }
}

// ---------------------------------------------------------------------------
// 3. --append
// ---------------------------------------------------------------------------

/// `--append` extracts only the new capture, skips one whose bytes are already
/// in the dataset (under any name), and ends with the files of a one-shot
/// dataset of all captures; different options, a directory that is not a
/// dataset and an existing dataset without `--append` are refused with exit 2.
#[test]
fn append_adds_only_new_captures_and_checks_options() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let [monday, tuesday, odd] = three_captures(tmp.path());
    let full = tmp.path().join("full");
    extract(&[&monday, &tuesday, &odd], &dir_arg(&full), &[], 0);

    let ds = tmp.path().join("ds");
    extract(&[&monday, &tuesday], &dir_arg(&ds), &[], 0);
    assert_eq!(manifest(&ds)["inputs"].as_array().unwrap().len(), 2);
    let monday_file = ds.join("capture=monday.pcap/flows.parquet");
    let before = std::fs::metadata(&monday_file).unwrap();

    // The new capture plus one already there: only the new one is extracted.
    let args = [
        "extract",
        p(&odd),
        p(&monday),
        "-o",
        p(&ds),
        "--append",
        "-j",
        "1",
    ];
    let out = flowq(&args);
    expect_code(&out, 0, &args);
    assert!(
        stderr(&out).contains("already in the dataset"),
        "{}",
        shown(&out)
    );
    let after = std::fs::metadata(&monday_file).unwrap();
    assert_eq!(
        (before.ino(), before.mtime(), before.mtime_nsec()),
        (after.ino(), after.mtime(), after.mtime_nsec()),
        "monday.pcap's file was rewritten"
    );

    let (got, want) = (tree(&ds), tree(&full));
    assert_eq!(names(&got), names(&want));
    for name in names(&want) {
        if name != "_dataset.json" {
            assert!(got[&name] == want[&name], "{name} differs from one-shot");
        }
    }
    let by_name = |m: &Value| {
        let mut inputs = m["inputs"].as_array().unwrap().clone();
        inputs.sort_by_key(|i| i["name"].as_str().unwrap().to_string());
        inputs
    };
    let (ma, mf) = (manifest(&ds), manifest(&full));
    assert_eq!(by_name(&ma), by_name(&mf));
    assert_eq!(ma["totals"], mf["totals"]);
    assert_eq!(ma["options"], mf["options"]);
    assert_eq!(ma["schema"], mf["schema"]);

    // Options that shape the rows must be the same: both differences listed.
    let new = tmp.path().join("new.pcap");
    write_pcap(
        &new,
        LINKTYPE_ETHERNET,
        false,
        &[udp(T0_US, ([10, 9, 9, 9], 9), ([10, 9, 9, 8], 9), 0)],
    );
    let snapshot = tree(&ds);
    let args = [
        "extract",
        p(&new),
        "-o",
        p(&ds),
        "--append",
        "--idle-timeout",
        "60",
        "--profile",
        "full",
    ];
    let out = flowq(&args);
    expect_code(&out, 2, &args);
    let err = stderr(&out);
    assert!(err.contains("idle"), "idle timeout not listed: {err}");
    assert!(err.contains("profile"), "profile not listed: {err}");
    assert!(tree(&ds) == snapshot, "the dataset changed");

    // An existing dataset without --append.
    let args = ["extract", p(&new), "-o", &dir_arg(&ds)];
    let out = flowq(&args);
    expect_code(&out, 2, &args);
    assert!(tree(&ds) == snapshot, "the dataset changed");

    // A directory that is not empty and not a dataset, with or without --append.
    let other = mkdir(&tmp.path().join("other"));
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    for extra in [&[][..], &["--append"][..]] {
        let mut args = vec!["extract", p(&new), "-o", p(&other)];
        args.extend_from_slice(extra);
        let out = flowq(&args);
        expect_code(&out, 2, &args);
        assert_eq!(names(&tree(&other)), ["notes.txt"]);
    }

    // An existing empty directory (no trailing `/`) is a dataset directory.
    let empty = mkdir(&tmp.path().join("empty"));
    extract(&[&new], p(&empty), &[], 0);
    assert_eq!(
        names(&tree(&empty)),
        ["_dataset.json", "capture=new.pcap/flows.parquet"]
    );

    // The same bytes under another name are also already in the dataset
    // ("same SHA-256"): nothing is added.
    let copy = tmp.path().join("monday-copy.pcap");
    std::fs::copy(&monday, &copy).unwrap();
    let args = ["extract", p(&copy), "-o", p(&ds), "--append"];
    let out = flowq(&args);
    expect_code(&out, 0, &args);
    assert!(
        stderr(&out).contains("0 capture(s) extracted")
            || stderr(&out).contains("already in the dataset"),
        "{}",
        shown(&out)
    );
    assert_eq!(
        names(&tree(&ds)),
        names(&want),
        "a capture whose bytes are already in the dataset was added again"
    );
}

// ---------------------------------------------------------------------------
// 4. --partition-by
// ---------------------------------------------------------------------------

/// A capture whose flows start on two UTC days and in three hours (one flow
/// crossing midnight), plus a capture on the second day only.
///
/// span.pcap, one flow per source port:
/// - 1001: 2023-11-14 22:13:20Z
/// - 1002: 2023-11-14 22:53:20Z
/// - 1003: 2023-11-14 23:59:59.5Z and 2023-11-15 00:00:00.5Z (two packets)
/// - 1004: 2023-11-15 00:13:20Z
/// - 1005: 2023-11-15 22:13:20Z
///
/// other.pcap: 2006 at 2023-11-15 22:13:21Z.
fn two_day_captures(dir: &Path) -> (PathBuf, PathBuf) {
    let src = |port| ([10, 0, 0, 1], port);
    let dst = ([10, 0, 0, 2], 53);
    let span = dir.join("span.pcap");
    write_pcap(
        &span,
        LINKTYPE_ETHERNET,
        false,
        &[
            udp(T0_US, src(1001), dst, 0),
            udp(T0_US + 2_400 * S, src(1002), dst, 0),
            udp(T0_US + 6_399 * S + 500_000, src(1003), dst, 0),
            udp(T0_US + 6_400 * S + 500_000, src(1003), dst, 0),
            udp(T0_US + 7_200 * S, src(1004), dst, 0),
            udp(T0_US + 86_400 * S, src(1005), dst, 0),
        ],
    );
    let other = dir.join("other.pcap");
    write_pcap(
        &other,
        LINKTYPE_ETHERNET,
        false,
        &[udp(T0_US + 86_401 * S, src(2006), dst, 0)],
    );
    (span, other)
}

#[test]
fn partition_by_date_hour_and_none() {
    let tmp = tempfile::tempdir().unwrap();
    let (span, other) = two_day_captures(tmp.path());

    let by_date = tmp.path().join("by_date");
    extract(
        &[&span, &other],
        p(&by_date),
        &["--partition-by", "date"],
        0,
    );
    assert_eq!(
        names(&tree(&by_date)),
        [
            "_dataset.json",
            "date=2023-11-14/span.pcap.parquet",
            "date=2023-11-15/other.pcap.parquet",
            "date=2023-11-15/span.pcap.parquet",
        ]
    );
    let m = manifest(&by_date);
    assert_eq!(m["partition_by"], "date");
    assert_eq!(m["partition_columns"], serde_json::json!(["date"]));
    assert_eq!(
        input(&m, "span.pcap")["outputs"],
        serde_json::json!([
            "date=2023-11-14/span.pcap.parquet",
            "date=2023-11-15/span.pcap.parquet"
        ])
    );
    assert_eq!(input(&m, "span.pcap")["flows"], 5);
    assert_eq!(
        sql(
            &by_date,
            "select cast(date as varchar) as date, count(*) as flows, \
             min(src_port) as lo, max(src_port) as hi \
             from flows group by 1 order by 1"
        ),
        table(&[
            &["date", "flows", "lo", "hi"],
            &["2023-11-14", "3", "1001", "1003"],
            &["2023-11-15", "3", "1004", "2006"],
        ])
    );

    let by_hour = tmp.path().join("by_hour");
    extract(
        &[&span, &other],
        p(&by_hour),
        &["--partition-by", "hour"],
        0,
    );
    assert_eq!(
        names(&tree(&by_hour)),
        [
            "_dataset.json",
            "date=2023-11-14/hour=22/span.pcap.parquet",
            "date=2023-11-14/hour=23/span.pcap.parquet",
            "date=2023-11-15/hour=00/span.pcap.parquet",
            "date=2023-11-15/hour=22/other.pcap.parquet",
            "date=2023-11-15/hour=22/span.pcap.parquet",
        ]
    );
    let m = manifest(&by_hour);
    assert_eq!(m["partition_by"], "hour");
    assert_eq!(m["partition_columns"], serde_json::json!(["date", "hour"]));
    assert_eq!(
        sql(
            &by_hour,
            "select cast(date as varchar) as date, cast(hour as varchar) as hour, \
             count(*) as flows, sum(pkt_count) as packets, min(src_port) as lo \
             from flows group by 1, 2 order by 1, 2"
        ),
        table(&[
            &["date", "hour", "flows", "packets", "lo"],
            &["2023-11-14", "22", "2", "2", "1001"],
            &["2023-11-14", "23", "1", "2", "1003"],
            &["2023-11-15", "00", "1", "1", "1004"],
            &["2023-11-15", "22", "2", "2", "1005"],
        ])
    );

    let flat = tmp.path().join("flat");
    extract(&[&span, &other], p(&flat), &["--partition-by", "none"], 0);
    assert_eq!(
        names(&tree(&flat)),
        ["_dataset.json", "other.pcap.parquet", "span.pcap.parquet"]
    );
    let m = manifest(&flat);
    assert_eq!(m["partition_by"], "none");
    assert_eq!(m["partition_columns"], serde_json::json!([]));
    assert_eq!(
        sql(&flat, "select count(*) as flows from flows"),
        table(&[&["flows"], &["6"]])
    );
}

/// Time partitions are refused with `--drop-identifiers` and for profiles
/// without a start time; nothing is written.
#[test]
fn time_partitions_are_refused_where_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let (span, _) = two_day_captures(tmp.path());
    let cases: [&[&str]; 4] = [
        &["--partition-by", "hour", "--drop-identifiers"],
        &["--partition-by", "date", "--drop-identifiers"],
        &["--profile", "seed", "--partition-by", "date"],
        &[
            "--profile",
            "cic2017",
            "--cic-timestamp",
            "original",
            "--partition-by",
            "hour",
        ],
    ];
    let mut wrong = Vec::new();
    for (n, extra) in cases.iter().enumerate() {
        let ds = tmp.path().join(format!("ds{n}"));
        let out_dir = dir_arg(&ds);
        let args: Vec<&str> = ["extract", p(&span), "-o", &out_dir, "-q"]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        let out = flowq(&args);
        if out.status.code() != Some(2) {
            wrong.push(format!("{extra:?}: {}", shown(&out)));
        }
        if !tree(&ds).is_empty() {
            wrong.push(format!("{extra:?} wrote {:?}", names(&tree(&ds))));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------
// 5. Labels
// ---------------------------------------------------------------------------

const ATT: [u8; 4] = [172, 16, 0, 1];
const VIC: [u8; 4] = [192, 168, 10, 50];
const VIC2: [u8; 4] = [192, 168, 10, 51];

/// An IDS-style capture. Window of the rules: [22:13:30Z, 22:13:40Z), i.e.
/// T0 + 10 s to T0 + 20 s. Flows by (initiator, port) and the label the rules
/// of [`RULES_CSV`] give:
///
/// | flow                  | when     | proto | expected                    |
/// |-----------------------|----------|-------|-----------------------------|
/// | ATT:40004 > VIC:22    | T0+5     | tcp   | default (before the window) |
/// | ATT:40001 > VIC:22    | T0+10    | tcp   | SSH-Patator (start, incl.)  |
/// | VIC:50000 > ATT:4444  | T0+12    | tcp   | Backdoor (either, line 3)   |
/// | VIC:22 > ATT:40006    | T0+13    | tcp   | SSH-Patator (swapped)       |
/// | ATT:5353 > VIC:53     | T0+14    | udp   | Scan (forward)              |
/// | ATT:40002 > VIC:22    | T0+15    | tcp   | SSH-Patator (3 packets)     |
/// | 10.0.0.5:1234 > .6:80 | T0+15.5  | tcp   | default (benign)            |
/// | ATT:40010 > VIC2:22   | T0+16    | tcp   | default (other host)        |
/// | VIC:53 > ATT:5354     | T0+16.5  | udp   | default (forward only)      |
/// | ATT:40003 > VIC:22    | T0+20    | tcp   | default (end, excl.)        |
///
/// TCP frames are 54 bytes, UDP frames 52 (10 bytes of payload).
fn ids_packets() -> Vec<Pkt> {
    let t = |s: f64| T0_US + (s * 1e6) as i64;
    vec![
        tcp(t(5.0), (ATT, 40004), (VIC, 22), flags::SYN),
        tcp(t(10.0), (ATT, 40001), (VIC, 22), flags::SYN),
        tcp(t(12.0), (VIC, 50000), (ATT, 4444), flags::SYN),
        tcp(t(13.0), (VIC, 22), (ATT, 40006), flags::ACK),
        udp(t(14.0), (ATT, 5353), (VIC, 53), 10),
        tcp(t(15.0), (ATT, 40002), (VIC, 22), flags::SYN),
        tcp(t(15.001), (VIC, 22), (ATT, 40002), flags::SYN | flags::ACK),
        tcp(t(15.002), (ATT, 40002), (VIC, 22), flags::ACK),
        tcp(
            t(15.5),
            ([10, 0, 0, 5], 1234),
            ([10, 0, 0, 6], 80),
            flags::SYN,
        ),
        tcp(t(16.0), (ATT, 40010), (VIC2, 22), flags::SYN),
        udp(t(16.5), (VIC, 53), (ATT, 5354), 10),
        tcp(t(20.0), (ATT, 40003), (VIC, 22), flags::SYN),
    ]
}

/// The rules: line 2 and line 3 overlap with different labels (a warning,
/// line 2 wins), line 3 has no name (`rules.csv:3`), line 5 is a comment and
/// the rule on line 6 matches nothing (a warning).
const RULES_CSV: &str = "\
name,label,src,dst,direction,dst_port,protocol,start,end
ssh-brute,SSH-Patator,172.16.0.1,192.168.10.50,either,22,tcp,2023-11-14T19:13:30-03:00,2023-11-14T22:13:40Z
,Backdoor,172.16.0.1,192.168.10.50,either,,tcp,2023-11-14 22:13:30Z,2023-11-14T22:13:40Z
udp-scan,Scan,172.16.0.1,192.168.10.0/24,forward,,udp,1700000010,1700000020
# a comment line
never,Nothing,10.99.0.0/16,,either,,,,
";

/// The same rules in TOML, with `default_label = "Normal"`.
const RULES_TOML: &str = r#"# The rules of RULES_CSV.
default_label = "Normal"

[[rule]]
name = "ssh-brute"
label = "SSH-Patator"
src = "172.16.0.1"
dst = ["192.168.10.50"]
direction = "either"
dst_port = [22]
protocol = "tcp"
start = 2023-11-14T19:13:30-03:00
end = "2023-11-14T22:13:40Z"

[[rule]]
label = "Backdoor"
src = "172.16.0.1"
dst = "192.168.10.50"
protocol = "tcp"
start = "2023-11-14 22:13:30Z"
end = 2023-11-14T22:13:40Z

[[rule]]
name = "udp-scan"
label = "Scan"
src = ["172.16.0.1"]
dst = "192.168.10.0/24"
direction = "forward"
protocol = "udp"
start = 1700000010
end = 1700000020

[[rule]]
name = "never"
label = "Nothing"
src = "10.99.0.0/16"
"#;

/// The 1-based line of the `n`-th (from 0) `[[rule]]` header of [`RULES_TOML`].
fn toml_rule_line(n: usize) -> usize {
    RULES_TOML
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[rule]]")
        .nth(n)
        .unwrap()
        .0
        + 1
}

/// Expected (src_ip, src_port) -> (label, label_rule) with `default` for flows
/// no rule matches and `unnamed` for the rule without a name.
fn expected_labels(default: &str, unnamed: &str) -> BTreeMap<(String, String), (String, String)> {
    let att = "172.16.0.1";
    let vic = "192.168.10.50";
    [
        (att, "40004", default, ""),
        (att, "40001", "SSH-Patator", "ssh-brute"),
        (vic, "50000", "Backdoor", unnamed),
        (vic, "22", "SSH-Patator", "ssh-brute"),
        (att, "5353", "Scan", "udp-scan"),
        (att, "40002", "SSH-Patator", "ssh-brute"),
        ("10.0.0.5", "1234", default, ""),
        (att, "40010", default, ""),
        (vic, "53", default, ""),
        (att, "40003", default, ""),
    ]
    .into_iter()
    .map(|(ip, port, label, rule)| {
        (
            (ip.to_string(), port.to_string()),
            (label.to_string(), rule.to_string()),
        )
    })
    .collect()
}

/// The labels of a CSV output, keyed like [`expected_labels`].
fn labels_of(rows: &[BTreeMap<String, String>]) -> BTreeMap<(String, String), (String, String)> {
    let mut out = BTreeMap::new();
    for r in rows {
        let key = (r["src_ip"].clone(), r["src_port"].clone());
        let value = (r["label"].clone(), r["label_rule"].clone());
        assert!(out.insert(key, value).is_none(), "two flows for {r:?}");
    }
    out
}

/// A directory with `ids.pcap`, `rules.csv` and `rules.toml`.
fn ids_setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write_pcap(
        &tmp.path().join("ids.pcap"),
        LINKTYPE_ETHERNET,
        false,
        &ids_packets(),
    );
    std::fs::write(tmp.path().join("rules.csv"), RULES_CSV).unwrap();
    std::fs::write(tmp.path().join("rules.toml"), RULES_TOML).unwrap();
    tmp
}

/// Whether some line of `text` mentions line `line` of `file` (`file:line`
/// or `line N`).
fn mentions_line(text: &str, file: &str, line: usize) -> bool {
    text.lines().any(|l| {
        l.contains(&format!("{file}:{line}"))
            || (l.contains(file) && l.contains(&format!("line {line}")))
    })
}

/// Rules into a single CSV file: first match wins, `either` vs `forward`, the
/// `[start, end)` window on the first packet, names or `FILE:LINE`, default
/// labels, warnings on stderr; the TOML file gives the same labels.
#[test]
fn labels_single_file_csv_and_toml_agree() {
    let tmp = ids_setup();
    let dir = tmp.path();

    // CSV rules, default label BENIGN.
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "csv-rules.csv",
        "--labels",
        "rules.csv",
        "-q",
    ];
    let out = flowq_in(dir, &args);
    expect_code(&out, 0, &args);
    let rows = csv_maps(&dir.join("csv-rules.csv"));
    let header = parse_csv(&std::fs::read(dir.join("csv-rules.csv")).unwrap())[0].clone();
    assert_eq!(header[header.len() - 2..], ["label", "label_rule"]);
    assert_eq!(labels_of(&rows), expected_labels("BENIGN", "rules.csv:3"));
    // Warnings are collected and checked at the end, after the labels.
    let mut wrong = Vec::new();
    let err = stderr(&out);
    if !mentions_line(&err, "rules.csv", 6) {
        wrong.push(format!(
            "no warning for the rule on line 6 that matches nothing:\n{err}"
        ));
    }
    if !err.lines().any(|l| {
        l.contains("rules.csv") && l.contains("lines 2") && l.contains("3")
            || l.contains("rules.csv:2") && l.contains("rules.csv:3")
    }) {
        wrong.push(format!(
            "no warning for the overlap of lines 2 and 3:\n{err}"
        ));
    }
    if err.lines().count() != 2 {
        wrong.push(format!("expected exactly two warnings:\n{err}"));
    }

    // --default-label replaces BENIGN.
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "csv-normal.csv",
        "--labels",
        "rules.csv",
        "--default-label",
        "Normal",
        "-q",
    ];
    expect_code(&flowq_in(dir, &args), 0, &args);
    let csv_normal = labels_of(&csv_maps(&dir.join("csv-normal.csv")));
    assert_eq!(csv_normal, expected_labels("Normal", "rules.csv:3"));

    // TOML rules with default_label = "Normal": the same labels.
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "toml.csv",
        "--labels",
        "rules.toml",
        "-q",
    ];
    let out = flowq_in(dir, &args);
    expect_code(&out, 0, &args);
    let unnamed = format!("rules.toml:{}", toml_rule_line(1));
    let toml_labels = labels_of(&csv_maps(&dir.join("toml.csv")));
    assert_eq!(toml_labels, expected_labels("Normal", &unnamed));
    let strip = |m: &BTreeMap<(String, String), (String, String)>| -> Vec<String> {
        m.values().map(|(label, _)| label.clone()).collect()
    };
    assert_eq!(strip(&toml_labels), strip(&csv_normal));
    if !mentions_line(&stderr(&out), "rules.toml", toml_rule_line(3)) {
        wrong.push(format!(
            "no warning for the TOML rule on line {} that matches nothing:\n{}",
            toml_rule_line(3),
            stderr(&out)
        ));
    }

    // --default-label beats the file's default_label.
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "toml-other.csv",
        "--labels",
        "rules.toml",
        "--default-label",
        "Other",
        "-q",
    ];
    expect_code(&flowq_in(dir, &args), 0, &args);
    assert_eq!(
        labels_of(&csv_maps(&dir.join("toml-other.csv"))),
        expected_labels("Other", &unnamed)
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Labels in a dataset: the manifest records the rule file (name, SHA-256,
/// rule count, default label), flows per label and per rule, and the warnings.
#[test]
fn labels_in_a_dataset_manifest() {
    let tmp = ids_setup();
    let dir = tmp.path();
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "ds/",
        "--labels",
        "rules.csv",
        "-q",
    ];
    let out = flowq_in(dir, &args);
    expect_code(&out, 0, &args);
    let ds = dir.join("ds");
    let m = manifest(&ds);
    let l = &m["options"]["transform"]["labels"];
    assert_eq!(l["rules"], "rules.csv");
    assert_eq!(l["sha256"], sha256_hex(RULES_CSV.as_bytes()));
    assert_eq!(l["rule_count"], 4);
    assert_eq!(l["default_label"], "BENIGN");
    let labels = serde_json::json!({"BENIGN": 5, "SSH-Patator": 3, "Backdoor": 1, "Scan": 1});
    let i = input(&m, "ids.pcap");
    assert_eq!(i["flows"], 10);
    assert_eq!(i["labels"], labels);
    assert_eq!(i["rule_matches"], serde_json::json!([3, 1, 1, 0]));
    assert_eq!(m["totals"]["labels"], labels);

    let warnings: Vec<String> = m["warnings"]
        .as_array()
        .expect("warnings array")
        .iter()
        .map(|w| w.to_string())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings.iter().any(|w| mentions_line(w, "rules.csv", 6)),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| !mentions_line(w, "rules.csv", 6) && w.contains('2') && w.contains('3')),
        "{warnings:#?}"
    );

    let schema: Vec<&str> = m["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(schema[schema.len() - 2..], ["label", "label_rule"]);

    assert_eq!(
        sql(
            &ds,
            "select label, coalesce(label_rule, '(null)') as rule, count(*) as n \
             from flows group by 1, 2 order by 1, 2"
        ),
        table(&[
            &["label", "rule", "n"],
            &["BENIGN", "(null)", "5"],
            &["Backdoor", "rules.csv:3", "1"],
            &["SSH-Patator", "ssh-brute", "3"],
            &["Scan", "udp-scan", "1"],
        ])
    );
    // label is never null.
    assert_eq!(
        sql(&ds, "select count(*) as n from flows where label is null"),
        table(&[&["n"], &["0"]])
    );
}

/// Bad rule files stop the run with exit 2 before anything is written, naming
/// the file and the line.
#[test]
fn label_rule_syntax_errors_name_the_line() {
    let tmp = ids_setup();
    let dir = tmp.path();
    let header = "name,label,src,dst,direction,dst_port,protocol,start,end\n";
    let good = "ok,X,10.0.0.1,,,,,,\n";
    let bad_lines = [
        ("bad address", "b,Y,10.0.0.300,,,,,,"),
        ("host bits set", "b,Y,10.0.0.1/8,,,,,,"),
        ("bad port", "b,Y,,,,70000,,,"),
        ("bad protocol", "b,Y,,,,,tpc,,"),
        (
            "window ends before it starts",
            "b,Y,,,,,,2023-11-14T22:13:40Z,2023-11-14T22:13:30Z",
        ),
        ("missing label", "b,,10.0.0.1,,,,,,"),
        (
            "time without offset",
            "b,Y,,,,,,2023-11-14T22:13:30,2023-11-14T22:13:40Z",
        ),
        ("bad direction", "b,Y,10.0.0.1,,sideways,,,,"),
    ];
    for (n, (what, line)) in bad_lines.iter().enumerate() {
        let file = format!("bad{n}.csv");
        std::fs::write(dir.join(&file), format!("{header}{good}{line}\n")).unwrap();
        let output = format!("out{n}.csv");
        let args = ["extract", "ids.pcap", "-o", &output, "--labels", &file];
        let out = flowq_in(dir, &args);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", shown(&out));
        assert!(
            mentions_line(&stderr(&out), &file, 3),
            "{what}: the error does not name {file} line 3:\n{}",
            stderr(&out)
        );
        assert!(!dir.join(&output).exists(), "{what}: output written");
    }

    // An unknown column is an error on the header line.
    std::fs::write(dir.join("badcol.csv"), "name,label,colour\nok,X,red\n").unwrap();
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "badcol-out/",
        "--labels",
        "badcol.csv",
    ];
    let out = flowq_in(dir, &args);
    expect_code(&out, 2, &args);
    assert!(
        mentions_line(&stderr(&out), "badcol.csv", 1) && stderr(&out).contains("colour"),
        "{}",
        shown(&out)
    );
    assert!(tree(&dir.join("badcol-out")).is_empty());

    // TOML: an unknown field and a time without offset, on the rule's lines.
    let toml = "default_label = \"B\"\n\n[[rule]]\nlabel = \"X\"\ncolour = \"red\"\n";
    std::fs::write(dir.join("bad.toml"), toml).unwrap();
    let args = [
        "extract", "ids.pcap", "-o", "t1.csv", "--labels", "bad.toml",
    ];
    let out = flowq_in(dir, &args);
    expect_code(&out, 2, &args);
    let err = stderr(&out);
    assert!(
        (mentions_line(&err, "bad.toml", 3) || mentions_line(&err, "bad.toml", 5))
            && err.contains("colour"),
        "{}",
        shown(&out)
    );
    let toml = "[[rule]]\nlabel = \"X\"\nstart = \"2023-11-14T22:13:30\"\n";
    std::fs::write(dir.join("local.toml"), toml).unwrap();
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "t2.csv",
        "--labels",
        "local.toml",
    ];
    let out = flowq_in(dir, &args);
    expect_code(&out, 2, &args);
    let err = stderr(&out);
    assert!(
        mentions_line(&err, "local.toml", 1) || mentions_line(&err, "local.toml", 3),
        "{}",
        shown(&out)
    );
    assert!(!dir.join("t1.csv").exists() && !dir.join("t2.csv").exists());
}

/// The cic2017 profile: the rules fill its `Label` column and `label_rule` is
/// added.
#[test]
fn labels_fill_the_cic2017_label_column() {
    let tmp = ids_setup();
    let dir = tmp.path();
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "cic.csv",
        "--profile",
        "cic2017",
        "--labels",
        "rules.csv",
        "-q",
    ];
    expect_code(&flowq_in(dir, &args), 0, &args);
    let rows = csv_maps(&dir.join("cic.csv"));
    let header = parse_csv(&std::fs::read(dir.join("cic.csv")).unwrap())[0].clone();
    assert_eq!(header.last().map(String::as_str), Some("label_rule"));
    assert_eq!(
        header.iter().filter(|h| h.trim() == "Label").count(),
        1,
        "{header:?}"
    );
    assert!(!header.iter().any(|h| h == "label"), "{header:?}");
    let got: BTreeMap<(String, String), (String, String)> = rows
        .iter()
        .map(|r| {
            (
                (r["Source IP"].clone(), r["Source Port"].clone()),
                (r["Label"].clone(), r["label_rule"].clone()),
            )
        })
        .collect();
    assert_eq!(rows.len(), 10);
    assert_eq!(got, expected_labels("BENIGN", "rules.csv:3"));
}

// ---------------------------------------------------------------------------
// 6. queries/class_balance.sql
// ---------------------------------------------------------------------------

/// A dataset of `ids.pcap` and `other.pcap` (two benign UDP flows, 52 and 62
/// bytes) labelled with [`RULES_CSV`]; builds it in `dir/ds`.
fn labelled_dataset(dir: &Path) -> PathBuf {
    write_pcap(
        &dir.join("other.pcap"),
        LINKTYPE_ETHERNET,
        false,
        &[
            udp(T0_US, ([10, 0, 0, 7], 999), ([10, 0, 0, 8], 80), 10),
            udp(T0_US + S, ([10, 0, 0, 7], 998), ([10, 0, 0, 8], 80), 20),
        ],
    );
    let args = [
        "extract",
        "ids.pcap",
        "other.pcap",
        "-o",
        "ds/",
        "--labels",
        "rules.csv",
        "-q",
    ];
    expect_code(&flowq_in(dir, &args), 0, &args);
    dir.join("ds")
}

/// class_balance.sql over the labelled dataset, computed by hand: 12 flows.
///
/// - BENIGN: ids 40004, 1234, 40010, 40003 (54 bytes each), 53 (52) and
///   other's 52 + 62: 7 flows, 7 packets, 382 bytes, 2 captures;
/// - SSH-Patator/ssh-brute: 40001 (54), 22 (54), 40002 (3 x 54): 3 flows, 5
///   packets, 270 bytes;
/// - Backdoor/rules.csv:3: 1 flow, 54 bytes; Scan/udp-scan: 1 flow, 52 bytes.
#[test]
fn class_balance_query_over_a_labelled_dataset() {
    let tmp = ids_setup();
    let ds = labelled_dataset(tmp.path());
    let query = crate::util::repo_root().join("queries/class_balance.sql");
    let args = [
        "query",
        "-f",
        p(&query),
        "--data",
        p(&ds),
        "--format",
        "csv",
    ];
    let out = flowq(&args);
    expect_code(&out, 0, &args);
    let rows = parse_csv(&out.stdout);
    assert_eq!(
        rows[0],
        [
            "label",
            "label_rule",
            "flows",
            "pct_of_flows",
            "packets",
            "bytes",
            "captures"
        ]
    );
    let want: [(&str, &str, &str, f64, &str, &str, &str); 4] = [
        ("BENIGN", "", "7", 58.333, "7", "382", "2"),
        ("SSH-Patator", "ssh-brute", "3", 25.0, "5", "270", "1"),
        ("Backdoor", "rules.csv:3", "1", 8.333, "1", "54", "1"),
        ("Scan", "udp-scan", "1", 8.333, "1", "52", "1"),
    ];
    assert_eq!(rows.len(), 1 + want.len(), "{rows:#?}");
    for (row, (label, rule, flows, pct, packets, bytes, captures)) in rows[1..].iter().zip(want) {
        assert_eq!(
            (&row[0][..], &row[1][..], &row[2][..]),
            (label, rule, flows),
            "{rows:#?}"
        );
        let got: f64 = row[3].parse().expect("pct_of_flows is a number");
        assert!(
            (got - pct).abs() < 1e-9,
            "pct of {label}: {got}, want {pct}"
        );
        assert_eq!(
            (&row[4][..], &row[5][..], &row[6][..]),
            (packets, bytes, captures),
            "{rows:#?}"
        );
    }
}

/// pandas reads the dataset directory as one table (the `capture=` directories
/// as a column, `_dataset.json` skipped). Without a Python that has pandas and
/// pyarrow, the same facts are checked with DataFusion and the skip is printed.
#[test]
fn pandas_reads_the_dataset_directory() {
    let tmp = ids_setup();
    let ds = labelled_dataset(tmp.path());
    let expected_labels = "{'BENIGN': 7, 'Backdoor': 1, 'SSH-Patator': 3, 'Scan': 1}";

    // DataFusion, always: the same three facts.
    assert_eq!(
        sql(
            &ds,
            "select count(*) as n, count(distinct capture) as captures from flows"
        ),
        table(&[&["n", "captures"], &["12", "2"]])
    );
    assert_eq!(
        sql(
            &ds,
            "select label, count(*) as n from flows group by label order by label"
        ),
        table(&[
            &["label", "n"],
            &["BENIGN", "7"],
            &["Backdoor", "1"],
            &["SSH-Patator", "3"],
            &["Scan", "1"],
        ])
    );

    let candidates: Vec<String> = std::env::var("FLOWQ_TEST_PYTHON")
        .into_iter()
        .chain(["python3".to_string()])
        .collect();
    let python = candidates.into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import pandas, pyarrow"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        crate::util::skip_note(
            "no python with pandas and pyarrow (set FLOWQ_TEST_PYTHON to one): \
             the pandas check skipped, checked with DataFusion only",
        );
        return;
    };
    let script = "import sys, pandas as pd\n\
                  flows = pd.read_parquet(sys.argv[1])\n\
                  print(len(flows))\n\
                  print(sorted(str(c) for c in flows['capture'].unique()))\n\
                  print(dict(sorted(flows.groupby('label').size().to_dict().items())))\n";
    let out = Command::new(&python)
        .args(["-c", script, p(&ds)])
        .output()
        .expect("run python");
    assert!(out.status.success(), "{python}: {}", shown(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("12\n['ids.pcap', 'other.pcap']\n{expected_labels}\n")
    );
}

// ---------------------------------------------------------------------------
// 7. --anonymize
// ---------------------------------------------------------------------------

/// The Crypto-PAn reference key of the sample trace.
const CRYPTOPAN_KEY: [u8; 32] = [
    21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16, 216, 152, 143, 131, 121,
    121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2,
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Two captures with addresses of the published sample trace.
///
/// - a.pcap: 128.11.68.132:1000 > 129.118.74.4:80, 192.102.249.13:2000 > 128.11.68.132:53
/// - b.pcap: 129.118.74.4:3000 > 192.102.249.13:443, 130.132.252.244:4000 > 128.11.68.132:22 (tcp)
fn sample_trace_captures(dir: &Path) -> (PathBuf, PathBuf) {
    let a = dir.join("a.pcap");
    let b = dir.join("b.pcap");
    write_pcap(
        &a,
        LINKTYPE_ETHERNET,
        false,
        &[
            udp(
                T0_US,
                ([128, 11, 68, 132], 1000),
                ([129, 118, 74, 4], 80),
                4,
            ),
            udp(
                T0_US + S,
                ([192, 102, 249, 13], 2000),
                ([128, 11, 68, 132], 53),
                4,
            ),
        ],
    );
    write_pcap(
        &b,
        LINKTYPE_ETHERNET,
        false,
        &[
            udp(
                T0_US + 2 * S,
                ([129, 118, 74, 4], 3000),
                ([192, 102, 249, 13], 443),
                4,
            ),
            tcp(
                T0_US + 3 * S,
                ([130, 132, 252, 244], 4000),
                ([128, 11, 68, 132], 22),
                flags::SYN,
            ),
        ],
    );
    (a, b)
}

#[test]
fn anonymize_with_the_reference_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (a, b) = sample_trace_captures(dir);
    let key_hex = hex(&CRYPTOPAN_KEY);
    // Comment lines and whitespace are ignored.
    let key1 = dir.join("key1.hex");
    std::fs::write(
        &key1,
        format!(
            "# the Crypto-PAn sample-trace key\n{}  {}\n",
            &key_hex[..32],
            &key_hex[32..]
        ),
    )
    .unwrap();
    let key2 = dir.join("key2.hex");
    std::fs::write(&key2, format!("{key_hex}\n")).unwrap();
    let rules = dir.join("rules.csv");
    std::fs::write(&rules, "name,label,src\nattack,Attack,128.11.68.132\n").unwrap();

    let ds1 = dir.join("ds1");
    let ds2 = dir.join("ds2");
    for (ds, key) in [(&ds1, &key1), (&ds2, &key2)] {
        extract(
            &[&a, &b],
            &dir_arg(ds),
            &["--anonymize", p(key), "--labels", p(&rules)],
            0,
        );
    }
    // 128.11.68.132 -> 135.242.180.132, 129.118.74.4 -> 134.136.186.123,
    // 192.102.249.13 -> 252.138.62.131, 130.132.252.244 -> 133.68.164.234;
    // labels from the real 128.11.68.132.
    assert_eq!(
        sql(
            &ds1,
            "select capture, src_ip, dst_ip, src_port, label from flows \
             order by capture, src_port"
        ),
        table(&[
            &["capture", "src_ip", "dst_ip", "src_port", "label"],
            &[
                "a.pcap",
                "135.242.180.132",
                "134.136.186.123",
                "1000",
                "Attack"
            ],
            &[
                "a.pcap",
                "252.138.62.131",
                "135.242.180.132",
                "2000",
                "Attack"
            ],
            &[
                "b.pcap",
                "134.136.186.123",
                "252.138.62.131",
                "3000",
                "BENIGN"
            ],
            &[
                "b.pcap",
                "133.68.164.234",
                "135.242.180.132",
                "4000",
                "Attack"
            ],
        ])
    );
    // The same key (written differently) gives the same dataset, byte for byte.
    let (t1, t2) = (tree(&ds1), tree(&ds2));
    assert_eq!(names(&t1), names(&t2));
    for (name, bytes) in &t1 {
        assert!(bytes == &t2[name], "{name} differs between two runs");
    }

    // The manifest has a 64-bit fingerprint, never the key.
    let m = manifest(&ds1);
    let anon = &m["options"]["transform"]["anonymize"];
    assert!(anon.is_object(), "{anon}");
    let fingerprints: Vec<&str> = anon
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_str)
        .filter(|s| s.len() == 16 && s.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    assert_eq!(fingerprints.len(), 1, "no 64-bit fingerprint in {anon}");
    let fingerprint = fingerprints[0].to_string();
    let everything = format!(
        "{}{:?}",
        std::fs::read_to_string(ds1.join("_dataset.json")).unwrap(),
        parquet_kv(&ds1.join("capture=a.pcap/flows.parquet"))
    )
    .to_lowercase();
    for secret in [&key_hex[..], &key_hex[..32], &key_hex[32..]] {
        assert!(!everything.contains(secret), "the key is in the dataset");
    }

    // The cic profiles: Source IP, Destination IP and the addresses in Flow ID.
    let cic = dir.join("cic.csv");
    extract(
        &[&a],
        p(&cic),
        &["--profile", "cic2017", "--anonymize", p(&key1)],
        0,
    );
    let cic_text = std::fs::read_to_string(&cic).unwrap();
    for real in ["128.11.68.132", "129.118.74.4", "192.102.249.13"] {
        assert!(!cic_text.contains(real), "{real} left in:\n{cic_text}");
    }
    let cic_rows = csv_maps(&cic);
    let pairs: Vec<(String, String)> = cic_rows
        .iter()
        .map(|r| (r["Source IP"].clone(), r["Destination IP"].clone()))
        .collect();
    assert_eq!(pairs.len(), 2);
    assert!(
        pairs.contains(&("135.242.180.132".into(), "134.136.186.123".into())),
        "{pairs:?}"
    );
    assert!(
        pairs.contains(&("252.138.62.131".into(), "135.242.180.132".into())),
        "{pairs:?}"
    );
    for r in &cic_rows {
        assert!(
            r["Flow ID"].contains(&r["Source IP"]) && r["Flow ID"].contains(&r["Destination IP"]),
            "{r:?}"
        );
    }

    // Another key: another fingerprint, and --append with it is refused.
    let mut other_key = CRYPTOPAN_KEY;
    other_key[31] ^= 1;
    let key3 = dir.join("key3.hex");
    std::fs::write(&key3, hex(&other_key)).unwrap();
    let ds3 = dir.join("ds3");
    extract(&[&a], &dir_arg(&ds3), &["--anonymize", p(&key3)], 0);
    let m3 = manifest(&ds3);
    assert!(
        !m3["options"]["transform"]["anonymize"]
            .to_string()
            .contains(&fingerprint),
        "two keys, one fingerprint"
    );
    let c = dir.join("c.pcap");
    write_pcap(
        &c,
        LINKTYPE_ETHERNET,
        false,
        &[udp(T0_US, ([1, 2, 3, 4], 1), ([5, 6, 7, 8], 2), 0)],
    );
    let snapshot = tree(&ds1);
    extract(
        &[&c],
        p(&ds1),
        &["--append", "--anonymize", p(&key3), "--labels", p(&rules)],
        2,
    );
    assert!(tree(&ds1) == snapshot);
}

/// Key files that are not 32 bytes of hex are refused with exit 2 and a
/// message about the key file; nothing is written.
#[test]
fn anonymize_rejects_bad_key_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (a, _) = sample_trace_captures(dir);
    let key_hex = hex(&CRYPTOPAN_KEY);
    let cases = [
        ("short.hex", key_hex[..62].to_string()),
        ("long.hex", format!("{key_hex}00")),
        ("nonhex.hex", format!("{}zz", &key_hex[..62])),
        ("empty.hex", String::new()),
    ];
    for (name, content) in cases {
        let key = dir.join(name);
        std::fs::write(&key, content).unwrap();
        let output = dir.join(format!("{name}.csv"));
        let out = extract(&[&a], p(&output), &["--anonymize", p(&key)], 2);
        let err = stderr(&out);
        assert!(
            err.contains(name) && (err.contains("32") || err.contains("64") || err.contains("hex")),
            "{name}: unclear message:\n{err}"
        );
        assert!(!output.exists(), "{name}: output written");
    }
    let missing = dir.join("missing.hex");
    let out = extract(
        &[&a],
        p(&dir.join("m.csv")),
        &["--anonymize", p(&missing)],
        2,
    );
    assert!(stderr(&out).contains("missing.hex"), "{}", shown(&out));
}

// ---------------------------------------------------------------------------
// 8. --drop-identifiers
// ---------------------------------------------------------------------------

#[test]
fn drop_identifiers_leaves_behaviour_only() {
    let tmp = ids_setup();
    let dir = tmp.path();
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "ds/",
        "--labels",
        "rules.csv",
        "--drop-identifiers",
        "-q",
    ];
    expect_code(&flowq_in(dir, &args), 0, &args);
    let ds = dir.join("ds");
    let columns: Vec<String> = sql(&ds, "describe flows")[1..]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    let dropped = [
        "src_ip",
        "dst_ip",
        "src_port",
        "dst_port",
        "first_seen",
        "last_seen",
        "flow_id",
        "vlan_id",
    ];
    for c in dropped {
        assert!(!columns.iter().any(|x| x == c), "{c} is left: {columns:?}");
    }
    for c in [
        "protocol",
        "duration",
        "pkt_count",
        "byte_count",
        "fwd_pkt_count",
        "syn_count",
        "label",
        "label_rule",
        "capture",
    ] {
        assert!(
            columns.iter().any(|x| x == c),
            "{c} is missing: {columns:?}"
        );
    }
    let m = manifest(&ds);
    assert_eq!(m["options"]["transform"]["drop_identifiers"], true);
    let schema: Vec<&str> = m["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for c in dropped {
        assert!(!schema.contains(&c), "{c} in the manifest schema");
    }
    // Labels were computed on the addresses before they were dropped.
    assert_eq!(
        sql(
            &ds,
            "select label, protocol, count(*) as flows, sum(pkt_count) as packets, \
             sum(byte_count) as bytes from flows group by 1, 2 order by 1, 2"
        ),
        table(&[
            &["label", "protocol", "flows", "packets", "bytes"],
            &["BENIGN", "6", "4", "4", "216"],
            &["BENIGN", "17", "1", "1", "52"],
            &["Backdoor", "6", "1", "1", "54"],
            &["SSH-Patator", "6", "3", "5", "270"],
            &["Scan", "17", "1", "1", "52"],
        ])
    );

    // A single file too.
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "flat.csv",
        "--drop-identifiers",
        "-q",
    ];
    expect_code(&flowq_in(dir, &args), 0, &args);
    let header = parse_csv(&std::fs::read(dir.join("flat.csv")).unwrap())[0].clone();
    for c in dropped {
        assert!(!header.iter().any(|h| h == c), "{c} in {header:?}");
    }
    assert_eq!(csv_maps(&dir.join("flat.csv")).len(), 10);
}

// ---------------------------------------------------------------------------
// 9. --rotated
// ---------------------------------------------------------------------------

/// One capture and its split into three files, by time:
///
/// | file (time order) | packets                                               |
/// |-------------------|-------------------------------------------------------|
/// | ring_b.pcap       | U 1000 @0, U 2000 @0.5, U 1000 @1, SYN 40000>80 @1.5    |
/// | ring_c.pcap       | U 1000 @2, SYN-ACK 80>40000 @2.5, U 1000 @3             |
/// | ring_a.pcap       | U 1000 @4, U 3000 @4.5, U 1000 @5                       |
///
/// Whole: 4 flows (U 1000 with 6 packets, U 2000, the TCP flow with 2, U 3000).
fn rotated_packets() -> [Vec<Pkt>; 3] {
    let t = |s: f64| T0_US + (s * 1e6) as i64;
    let d = ([10, 0, 0, 2], 53);
    let u = |s, port| udp(t(s), ([10, 0, 0, 1], port), d, 10);
    let c = ([10, 0, 0, 1], 40000);
    let srv = ([10, 0, 0, 9], 80);
    [
        vec![
            u(0.0, 1000),
            u(0.5, 2000),
            u(1.0, 1000),
            tcp(t(1.5), c, srv, flags::SYN),
        ],
        vec![
            u(2.0, 1000),
            tcp(t(2.5), srv, c, flags::SYN | flags::ACK),
            u(3.0, 1000),
        ],
        vec![u(4.0, 1000), u(4.5, 3000), u(5.0, 1000)],
    ]
}

fn write_rotated(dir: &Path) -> (PathBuf, [PathBuf; 3]) {
    let parts = rotated_packets();
    let whole = dir.join("whole.pcap");
    write_pcap(&whole, LINKTYPE_ETHERNET, false, &parts.concat());
    let files = ["ring_b.pcap", "ring_c.pcap", "ring_a.pcap"].map(|n| dir.join(n));
    for (f, pkts) in files.iter().zip(&parts) {
        write_pcap(f, LINKTYPE_ETHERNET, false, pkts);
    }
    (whole, files)
}

#[test]
fn rotated_files_give_the_unsplit_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (whole, [b, c, a]) = write_rotated(dir);

    let whole_csv = dir.join("whole.csv");
    extract(&[&whole], p(&whole_csv), &[], 0);
    let rows = csv_maps(&whole_csv);
    assert_eq!(rows.len(), 4);

    // Shuffled names: c, a, b (name order would be a, b, c).
    let rot_csv = dir.join("rot.csv");
    extract(&[&c, &a, &b], p(&rot_csv), &["--rotated"], 0);
    assert!(
        std::fs::read(&rot_csv).unwrap() == std::fs::read(&whole_csv).unwrap(),
        "rotated output differs from the unsplit capture:\n{}\nvs\n{}",
        std::fs::read_to_string(&rot_csv).unwrap(),
        std::fs::read_to_string(&whole_csv).unwrap()
    );
    let counts: BTreeMap<String, String> = rows
        .iter()
        .map(|r| (r["src_port"].clone(), r["pkt_count"].clone()))
        .collect();
    assert_eq!(
        counts,
        [("1000", "6"), ("2000", "1"), ("3000", "1"), ("40000", "2")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into()
    );

    // Without --rotated each file is extracted on its own: the UDP flow is cut
    // in three, the TCP flow in two.
    let cut_csv = dir.join("cut.csv");
    extract(&[&b, &c, &a], p(&cut_csv), &[], 0);
    let cut = csv_maps(&cut_csv);
    assert_eq!(cut.len(), 7, "{cut:#?}");
    assert_eq!(cut.iter().filter(|r| r["src_port"] == "1000").count(), 3);

    // In a dataset the rotated set is one capture, named after its first file.
    let ds = dir.join("ds");
    extract(&[&c, &a, &b], &dir_arg(&ds), &["--rotated"], 0);
    assert_eq!(
        names(&tree(&ds)),
        ["_dataset.json", "capture=ring_b.pcap/flows.parquet"]
    );
    let m = manifest(&ds);
    assert_eq!(m["options"]["rotated"], true);
    let i = input(&m, "ring_b.pcap");
    assert_eq!(m["inputs"].as_array().unwrap().len(), 1);
    assert_eq!(i["flows"], 4);
    assert_eq!(i["packets"], 10);
    assert_eq!(i["status"], "complete");
    let mut listed: Vec<(String, u64, String)> = i["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["size"].as_u64().unwrap(),
                f["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    listed.sort();
    let mut want: Vec<(String, u64, String)> = [&a, &b, &c]
        .iter()
        .map(|f| {
            (
                p(f).to_string(),
                std::fs::metadata(f).unwrap().len(),
                sha256_file(f),
            )
        })
        .collect();
    want.sort();
    assert_eq!(listed, want);
}

/// A rotated set whose middle file is cut off: exit 1, a warning naming the
/// file, only its incomplete last record lost, the next file still read.
#[test]
fn rotated_truncated_middle_file_and_link_type_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (_, [b, c, a]) = write_rotated(dir);
    // ring_c.pcap's last record (U 1000 @3, 16 + 52 bytes) loses 10 bytes.
    let bytes = std::fs::read(&c).unwrap();
    std::fs::write(&c, &bytes[..bytes.len() - 10]).unwrap();

    let out_csv = dir.join("out.csv");
    let out = extract(&[&a, &b, &c], p(&out_csv), &["--rotated"], 1);
    assert!(stderr(&out).contains("ring_c.pcap"), "{}", shown(&out));
    let counts: BTreeMap<String, String> = csv_maps(&out_csv)
        .iter()
        .map(|r| (r["src_port"].clone(), r["pkt_count"].clone()))
        .collect();
    assert_eq!(
        counts,
        [("1000", "5"), ("2000", "1"), ("3000", "1"), ("40000", "2")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into()
    );

    // The same as a dataset: the capture is partial, the file named.
    let ds = dir.join("ds");
    extract(&[&a, &b, &c], &dir_arg(&ds), &["--rotated"], 1);
    let m = manifest(&ds);
    let i = input(&m, "ring_b.pcap");
    assert_eq!(i["status"], "partial");
    assert!(
        i["message"]
            .as_str()
            .is_some_and(|s| s.contains("ring_c.pcap")),
        "{i:#}"
    );
    assert_eq!(i["packets"], 9);
    assert_eq!(i["flows"], 4);

    // Classic pcap files with different link types cannot be one stream.
    let raw = dir.join("ring_raw.pcap");
    write_pcap(
        &raw,
        LINKTYPE_RAW,
        false,
        &[Pkt::new(
            T0_US + 10 * S,
            ip4_udp(([10, 0, 0, 1], 1000), ([10, 0, 0, 2], 53), &[0; 10]),
        )],
    );
    let mixed = dir.join("mixed.csv");
    let out = extract(&[&b, &raw], p(&mixed), &["--rotated"], 2);
    let err = stderr(&out);
    assert!(
        err.contains("link type") && err.contains("ring_raw.pcap"),
        "unclear error:\n{err}"
    );
}

// ---------------------------------------------------------------------------
// 10. Exit codes
// ---------------------------------------------------------------------------

/// A dataset with a truncated capture: exit 1, the capture `partial` with a
/// message, its complete records kept; an unreadable capture: `failed`, no
/// file.
#[test]
fn exit_codes_and_partial_or_failed_captures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let good = dir.join("good.pcap");
    write_pcap(
        &good,
        LINKTYPE_ETHERNET,
        false,
        &[udp(T0_US, ([10, 0, 0, 1], 1), ([10, 0, 0, 2], 2), 0)],
    );
    let trunc = dir.join("trunc.pcap");
    let f = ([10, 0, 0, 3], 3);
    let g = ([10, 0, 0, 4], 4);
    let bytes = pcap_bytes(
        LINKTYPE_ETHERNET,
        false,
        &[
            udp(T0_US, f, g, 10),
            udp(T0_US + S, g, f, 10),
            udp(T0_US + 2 * S, f, g, 10),
        ],
    );
    std::fs::write(&trunc, &bytes[..bytes.len() - 5]).unwrap();
    let garbage = dir.join("garbage.pcap");
    std::fs::write(&garbage, b"this is not a capture file at all").unwrap();

    let ok_ds = dir.join("ok");
    extract(&[&good], &dir_arg(&ok_ds), &[], 0);

    let ds = dir.join("ds");
    extract(&[&good, &trunc], &dir_arg(&ds), &[], 1);
    let m = manifest(&ds);
    assert_eq!(input(&m, "good.pcap")["status"], "complete");
    let t = input(&m, "trunc.pcap");
    assert_eq!(t["status"], "partial");
    assert!(
        t["message"].as_str().is_some_and(|s| !s.is_empty()),
        "{t:#}"
    );
    assert_eq!(t["packets"], 2);
    assert_eq!(t["flows"], 1);
    assert_eq!(
        sql(
            &ds,
            "select capture, count(*) as flows, sum(pkt_count) as packets \
             from flows group by 1 order by 1"
        ),
        table(&[
            &["capture", "flows", "packets"],
            &["good.pcap", "1", "1"],
            &["trunc.pcap", "1", "2"],
        ])
    );

    let ds2 = dir.join("ds2");
    extract(&[&good, &garbage], &dir_arg(&ds2), &[], 1);
    let m = manifest(&ds2);
    let gi = input(&m, "garbage.pcap");
    assert_eq!(gi["status"], "failed");
    assert!(
        gi["message"].as_str().is_some_and(|s| !s.is_empty()),
        "{gi:#}"
    );
    assert_eq!(gi["outputs"], serde_json::json!([]));
    assert_eq!(
        names(&tree(&ds2)),
        ["_dataset.json", "capture=good.pcap/flows.parquet"]
    );
}

/// The warnings name the rule's line in the file, comment and empty lines
/// counted (as `label_rule` does): rules on lines 2, 5 and 8.
#[test]
fn csv_warnings_name_the_file_lines() {
    let tmp = ids_setup();
    let dir = tmp.path();
    let rules = "\
label,name,dst_port,protocol,start,end
A,a,22,tcp,2023-11-14T22:13:20Z,2023-11-14T22:14:00Z
# comment

B,,22,tcp,2023-11-14T22:13:20Z,2023-11-14T22:14:00Z
# comment

C,,9999,udp,,
";
    std::fs::write(dir.join("lines.csv"), rules).unwrap();
    let args = [
        "extract",
        "ids.pcap",
        "-o",
        "lines.csv.out",
        "--format",
        "csv",
        "--labels",
        "lines.csv",
        "-q",
    ];
    let out = flowq_in(dir, &args);
    expect_code(&out, 0, &args);
    let err = stderr(&out);
    // A matches the port-22 TCP flows; B (same flows, another label) overlaps A
    // and matches nothing; C matches nothing.
    let rows = csv_maps(&dir.join("lines.csv.out"));
    assert_eq!(rows.iter().filter(|r| r["label"] == "A").count(), 6);
    assert!(rows.iter().all(|r| r["label_rule"] != "lines.csv:5"));
    let mut wrong = Vec::new();
    if !err.lines().any(|l| {
        l.contains("lines.csv") && l.contains("2") && l.contains("5") && l.contains("overlap")
    }) {
        wrong.push("no overlap warning naming lines 2 and 5");
    }
    if !mentions_line(&err, "lines.csv", 5) {
        wrong.push("no warning naming line 5 (B matched nothing)");
    }
    if !mentions_line(&err, "lines.csv", 8) {
        wrong.push("no warning naming line 8 (C matched nothing)");
    }
    assert!(wrong.is_empty(), "{wrong:?}; stderr:\n{err}");
}

/// `--format csv` writes `.csv` files with the profile's header, and the
/// manifest says so.
#[test]
fn csv_format_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let [monday, _, _] = three_captures(tmp.path());
    let ds = tmp.path().join("ds");
    extract(&[&monday], &dir_arg(&ds), &["--format", "csv"], 0);
    assert_eq!(
        names(&tree(&ds)),
        ["_dataset.json", "capture=monday.pcap/flows.csv"]
    );
    assert_eq!(manifest(&ds)["format"], "csv");
    let rows = csv_maps(&ds.join("capture=monday.pcap/flows.csv"));
    let ports: Vec<&str> = rows.iter().map(|r| r["src_port"].as_str()).collect();
    assert_eq!(rows.len(), 2);
    assert!(
        ports.contains(&"1000") && ports.contains(&"2000"),
        "{ports:?}"
    );
}

/// `flowq extract --help` names the manifest as the specification does.
#[test]
fn help_names_the_manifest_file() {
    let out = flowq(&["extract", "--help"]);
    expect_code(&out, 0, &["extract", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
    assert!(
        help.contains("_dataset.json"),
        "--help does not name _dataset.json:\n{help}"
    );
}

/// Timestamps spread over years would open one hourly file per hour, each held
/// open until the capture ends: past 1024 files the capture fails with a
/// message naming the cause (memory stays bounded), and a coarser partition
/// works.
#[test]
fn time_partitions_are_bounded_per_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let capture = tmp.path().join("years.pcap");
    let hour_us = 3_600_000_000;
    let packets: Vec<Pkt> = (0..1100i64)
        .map(|i| {
            udp(
                T0_US + i * 2 * hour_us,
                ([10, 0, 0, 1], 1000),
                ([10, 0, 0, 2], 53),
                10,
            )
        })
        .collect();
    write_pcap(&capture, LINKTYPE_ETHERNET, false, &packets);
    let out = extract(
        &[&capture],
        &dir_arg(&tmp.path().join("by_hour")),
        &["--partition-by", "hour"],
        2,
    );
    let message = stderr(&out);
    assert!(
        message.contains("more than 1024 partitions of --partition-by hour"),
        "{message}"
    );
    extract(
        &[&capture],
        &dir_arg(&tmp.path().join("by_date")),
        &["--partition-by", "date"],
        0,
    );
}
