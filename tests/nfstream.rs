//! The `nfstream` profile against NFStream 6.6 itself, flow by flow.
//!
//! `../shared/pcaps/nfstream-ref/` holds NFStream's own CSV for every corpus
//! capture it could read (statistical analysis on, dissection off, default
//! timeouts). Each capture is extracted with `--profile nfstream --stats` and the
//! flows are matched by 5-tuple and first-seen millisecond. A matched flow must
//! agree on every column: counts, bytes and times exactly, packet-size
//! statistics to floating-point rounding, and inter-arrival statistics within
//! the rounding of NFStream's millisecond timestamps (docs/features.md, "Profile
//! `nfstream`", deliberate differences).
//!
//! There is no list of excepted captures. Every flow that does not match (a
//! flow only one tool has, or a pair that differs in some column) must be
//! recognised, from the packets behind it, as one of the difference classes
//! documented in docs/features.md; a difference no class recognises fails the
//! test, whatever capture it is in. Each class recognises exactly the number of
//! flows the table in docs/features.md records (and the number of flows that
//! match is recorded there too), so a class cannot quietly absorb a regression:
//! any change in what matches fails until the table is updated on purpose.
//!
//! The packets behind a flow are read three ways: flowq's own packet view gives
//! the records a flowq flow holds; the TShark oracle's addresses (every IP
//! layer) give the records an NFStream flow can hold; the records' bytes are
//! read by `util::frames`, which shares no code with flowq (reader or decoder).

use crate::util::frames::{Frame, Ip, read_frames};
use crate::util::{oracle_packet_rows, repo_root, shared_pcaps};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use arrow::record_batch::RecordBatch;
use flowq_extract::batch::PacketColumn;
use flowq_extract::capture::InputSource;
use flowq_extract::{ExtractOptions, Extractor, InputStatus, Profile};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// NFStream reference outputs in the corpus (`nfstream-ref/**/*.csv`): the
/// test must compare all of them, not however many it happens to find.
const REFERENCE_CAPTURES: usize = 287;

/// One flow: column name to text value.
type Row = BTreeMap<String, String>;

/// The columns identifying a flow across the two tools.
const KEY: [&str; 6] = [
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "bidirectional_first_seen_ms",
];

fn read_reference(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    crate::util::csv_rows(&text)
}

fn nfstream_options() -> ExtractOptions {
    ExtractOptions {
        profile: Profile::Nfstream,
        nfstream_stats: true,
        splt_len: 0,
        ..ExtractOptions::default()
    }
}

/// flowq's flows of a capture, and how reading it ended.
fn extract(capture: &Path) -> (Vec<Row>, InputStatus) {
    let mut batches: Vec<RecordBatch> = Vec::new();
    let summary = Extractor::new(nfstream_options())
        .run(&[InputSource::File(capture.to_path_buf())], &mut |b| {
            batches.push(b);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
    let mut rows = Vec::new();
    for batch in &batches {
        let schema = batch.schema();
        let texts: Vec<Vec<String>> = batch
            .columns()
            .iter()
            .map(|c| column_text(c.as_ref()))
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(
                schema
                    .fields()
                    .iter()
                    .zip(&texts)
                    .map(|(f, t)| (f.name().clone(), t[r].clone()))
                    .collect(),
            );
        }
    }
    (rows, summary.inputs[0].status)
}

/// flowq's packet view of a capture with the same options: the `flow_id` (the
/// nfstream profile's `id`) of each record counted in a flow, by record number.
fn packet_flows(capture: &Path) -> HashMap<i64, Vec<usize>> {
    let mut flows: HashMap<i64, Vec<usize>> = HashMap::new();
    Extractor::new(nfstream_options())
        .run_packets(
            &[InputSource::File(capture.to_path_buf())],
            &[PacketColumn::PacketId, PacketColumn::FlowId],
            &mut |batch| {
                let packet = batch.column(0).as_primitive::<Int64Type>();
                let flow = batch.column(1).as_primitive::<Int64Type>();
                for (p, f) in packet.values().iter().zip(flow.values()) {
                    flows.entry(*f).or_default().push(*p as usize);
                }
                Ok::<(), std::convert::Infallible>(())
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
    flows
}

/// Values as NFStream's CSV would spell them (integers plain, floats as f64).
fn column_text(array: &dyn Array) -> Vec<String> {
    match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|v| v.unwrap_or("").to_string())
            .collect(),
        DataType::Float64 => array
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.map_or(String::new(), |v| v.to_string()))
            .collect(),
        _ => {
            let ints = arrow::compute::cast(array, &DataType::Int64).expect("integer column");
            ints.as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map_or(String::new(), |v| v.to_string()))
                .collect()
        }
    }
}

fn key_of(row: &Row) -> String {
    KEY.map(|k| row.get(k).map_or("", String::as_str)).join("|")
}

/// An integer column; i128 because NFStream writes wrapped times as u64.
fn int(row: &Row, column: &str) -> i128 {
    row.get(column)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("`{column}` of {} is not an integer", key_of(row)))
}

/// Why one matched flow differs, or `None` when it agrees.
fn difference(flowq: &Row, nfs: &Row) -> Option<String> {
    let mut diffs = Vec::new();
    for (column, expected) in nfs {
        if column == "id" {
            continue;
        }
        let Some(got) = flowq.get(column) else {
            diffs.push(format!("{column}: missing"));
            continue;
        };
        if got == expected {
            continue;
        }
        let (Ok(g), Ok(e)) = (got.parse::<f64>(), expected.parse::<f64>()) else {
            diffs.push(format!("{column}: {got} vs {expected}"));
            continue;
        };
        if !within_tolerance(column, g, e, nfs) {
            diffs.push(format!("{column}: {got} vs {expected}"));
        }
    }
    diffs.sort();
    (!diffs.is_empty()).then(|| diffs.join("; "))
}

/// NFStream computes inter-arrival times from millisecond-floored timestamps, so
/// each of its IATs is within 1 ms of the true one; flowq computes them from the
/// full timestamps. Min, max and mean then differ by at most 1 ms, and a sample
/// standard deviation over n IATs by at most sqrt(n / (n - 1)) ms.
fn within_tolerance(column: &str, got: f64, expected: f64, nfs: &Row) -> bool {
    let diff = (got - expected).abs();
    if column.contains("_piat_ms") {
        let scope = column.split('_').next().unwrap_or("");
        let packets: f64 = nfs
            .get(&format!("{scope}_packets"))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0.0);
        let n = (packets - 1.0).max(2.0);
        let bound = if column.contains("stddev") {
            (n / (n - 1.0)).sqrt()
        } else {
            1.0
        };
        return diff <= bound + 1e-9;
    }
    diff <= 1e-9 * expected.abs().max(1.0)
}

/// Everything known about one capture.
struct Capture {
    nfstream: Vec<Row>,
    flowq: Vec<Row>,
    status: InputStatus,
    /// Records of each flowq flow, by `id`.
    packets: HashMap<i64, Vec<usize>>,
    /// Every record, read by `util::frames`.
    frames: Vec<Frame>,
    /// Every address TShark shows in each record (all IP layers).
    addresses: Vec<BTreeSet<String>>,
    /// The latest timestamp of the records before each record.
    latest_before: Vec<i128>,
}

impl Capture {
    fn load(pcaps: &Path, name: &str, reference: &Path, oracle: &Path, pcapng: bool) -> Capture {
        let path = pcaps.join(name);
        let (flowq, status) = extract(&path);
        let addresses = oracle_packet_rows(oracle, pcapng)
            .iter()
            .map(|row| {
                ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst"]
                    .iter()
                    .flat_map(|c| row[*c].split(','))
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        let frames = read_frames(&path);
        let mut latest = i128::MIN;
        let latest_before = frames
            .iter()
            .map(|f| {
                let before = latest;
                latest = latest.max(f.ts_ns);
                before
            })
            .collect();
        Capture {
            nfstream: read_reference(reference),
            flowq,
            status,
            packets: packet_flows(&path),
            frames,
            addresses,
            latest_before,
        }
    }

    /// The records behind a mismatch: those of the flowq flow, and every record
    /// in which TShark shows both addresses of either flow (at any IP layer) or
    /// `util::frames` finds them in the outermost IP header (also where the
    /// link layer does not announce IP): all packets between the two hosts,
    /// which include every packet NFStream can have put in its flow.
    fn evidence(&self, m: &Mismatch) -> Vec<usize> {
        let mut records = BTreeSet::new();
        if let Some(f) = m.flowq {
            records.extend(
                self.packets
                    .get(&(int(f, "id") as i64))
                    .into_iter()
                    .flatten(),
            );
        }
        for row in [m.flowq, m.nfstream].into_iter().flatten() {
            let hosts = [&row["src_ip"], &row["dst_ip"]];
            for (i, addresses) in self.addresses.iter().enumerate() {
                if addresses.contains(hosts[0]) && addresses.contains(hosts[1]) {
                    records.insert(i);
                }
            }
            // Headers TShark does not read as IP (a damaged EtherType), but NFStream may.
            for (i, frame) in self.frames.iter().enumerate() {
                if frame
                    .ip
                    .as_ref()
                    .is_some_and(|ip| hosts.contains(&&ip.src) && hosts.contains(&&ip.dst))
                {
                    records.insert(i);
                }
            }
        }
        records.into_iter().collect()
    }
}

/// A flow that does not match: only in flowq, only in NFStream, or in both
/// with some column differing.
struct Mismatch<'a> {
    flowq: Option<&'a Row>,
    nfstream: Option<&'a Row>,
    /// The differing columns of a pair.
    columns: Option<String>,
}

impl Mismatch<'_> {
    fn describe(&self) -> String {
        match (self.flowq, self.nfstream, &self.columns) {
            (Some(f), Some(_), Some(columns)) => format!("{}: {columns}", key_of(f)),
            (Some(f), None, _) => format!("only in flowq: {}", key_of(f)),
            (None, Some(n), _) => format!("only in NFStream: {}", key_of(n)),
            _ => unreachable!("a mismatch has a flow"),
        }
    }
}

/// Matches the flows of a capture: the number of NFStream flows matched in
/// every column, and the flows that do not match.
fn compare(c: &Capture) -> (usize, Vec<Mismatch<'_>>) {
    let mut by_key: HashMap<String, Vec<&Row>> = HashMap::new();
    for row in &c.flowq {
        by_key.entry(key_of(row)).or_default().push(row);
    }
    let mut matched = 0;
    let mut mismatches = Vec::new();
    for row in &c.nfstream {
        let Some(candidates) = by_key.get_mut(&key_of(row)).filter(|c| !c.is_empty()) else {
            mismatches.push(Mismatch {
                flowq: None,
                nfstream: Some(row),
                columns: None,
            });
            continue;
        };
        // Among flows with the same key, the first that agrees (else the first).
        let best = candidates
            .iter()
            .position(|ours| difference(ours, row).is_none())
            .unwrap_or(0);
        let ours = candidates.remove(best);
        match difference(ours, row) {
            None => matched += 1,
            Some(columns) => mismatches.push(Mismatch {
                flowq: Some(ours),
                nfstream: Some(row),
                columns: Some(columns),
            }),
        }
    }
    let mut left: Vec<&Row> = by_key.into_values().flatten().collect();
    left.sort_by_key(|r| int(r, "id"));
    mismatches.extend(left.into_iter().map(|f| Mismatch {
        flowq: Some(f),
        nfstream: None,
        columns: None,
    }));
    (matched, mismatches)
}

/// What a difference class looks at: one mismatch, and the records behind it.
struct Case<'a> {
    capture: &'a Capture,
    flowq: Option<&'a Row>,
    nfstream: Option<&'a Row>,
    /// Numbers of the records behind the mismatch ([`Capture::evidence`]).
    records: Vec<usize>,
}

impl Case<'_> {
    fn rows(&self) -> impl Iterator<Item = &Row> {
        [self.flowq, self.nfstream].into_iter().flatten()
    }

    fn frames(&self) -> impl Iterator<Item = (usize, &Frame)> {
        self.records
            .iter()
            .filter_map(|&i| Some((i, self.capture.frames.get(i)?)))
    }

    fn any_record(&self, test: impl Fn(&Frame) -> bool) -> bool {
        self.frames().any(|(_, f)| test(f))
    }

    /// Some record's IP header, as the link layer announces it, passes `test`.
    fn any_ip(&self, test: impl Fn(&Ip) -> bool) -> bool {
        self.frames()
            .any(|(_, f)| f.ip_as_announced().is_some_and(&test))
    }
}

/// Whether `a` (IPv4) and `b` (IPv6) compare equal in a key without the IP
/// version: the IPv6 address's first four bytes are the IPv4 address.
fn same_without_version(a: &str, b: &str) -> bool {
    match (a.parse::<Ipv4Addr>(), b.parse::<Ipv6Addr>()) {
        (Ok(v4), Ok(v6)) => {
            v6.octets()[..4] == v4.octets() && v6.octets()[4..].iter().all(|&x| x == 0)
        }
        _ => false,
    }
}

/// A documented difference between flowq and NFStream (docs/features.md,
/// "Deliberate differences from NFStream", by the same name), and how a
/// mismatch is recognised as one from the records behind it.
struct Class {
    name: &'static str,
    recognises: fn(&Case) -> bool,
}

/// Tried in this order; a mismatch counts for the first class that recognises
/// it: first what changes how a whole capture is read, then what a packet's
/// headers hold, last the timestamps (the broadest conditions).
const CLASSES: &[Class] = &[
    Class {
        name: "time-past-2262",
        // A record is stamped after flowq's 64-bit nanosecond clock ends.
        recognises: |c| c.any_record(|f| f.ts_ns > i128::from(i64::MAX)),
    },
    Class {
        name: "corrupt-record",
        // flowq stopped at a damaged record, and NFStream has packets flowq
        // did not read: a flow only NFStream has, or more packets in it.
        recognises: |c| {
            c.capture.status != InputStatus::Complete
                && match (c.flowq, c.nfstream) {
                    (None, Some(_)) => true,
                    (Some(f), Some(n)) => {
                        int(n, "bidirectional_packets") > int(f, "bidirectional_packets")
                    }
                    _ => false,
                }
        },
    },
    Class {
        name: "pcapng-interfaces",
        // A record between the two hosts comes from an interface unlike the
        // file's first (link type, snap length) or from a later section.
        recognises: |c| c.any_record(|f| f.unlike_first_interface),
    },
    Class {
        name: "damaged-header",
        // A record between the two hosts that TShark and flowq do not read as
        // IP holds an IPv4 header NFStream reads anyway: behind an Ethernet
        // header whose EtherType is not IP, or with a header length below 20.
        recognises: |c| {
            c.any_record(|f| match &f.ip {
                Some(ip) => {
                    (f.linktype == 1 && !matches!(f.ethertype, Some(0x0800 | 0x86dd)))
                        || (ip.version == 4 && ip.header_len < 20)
                }
                None => false,
            })
        },
    },
    Class {
        name: "version-nibble",
        // A record of the flow has an IP header of the other version than its
        // EtherType announces (flowq reads it by its version nibble).
        recognises: |c| {
            c.any_record(|f| {
                f.ip.is_some()
                    && f.ip_as_announced().is_none()
                    && matches!(f.ethertype, Some(0x0800 | 0x86dd))
            })
        },
    },
    Class {
        name: "ipv6-extension",
        // An IPv6 packet between the two hosts with a jumbo payload option, a
        // mobility header or a home address option.
        recognises: |c| c.any_ip(|ip| ip.jumbo || ip.home_address || ip.chain.contains(&135)),
    },
    Class {
        name: "16-bit-length",
        // A record between the two hosts is longer than 65 535 bytes on the wire.
        recognises: |c| c.any_record(|f| f.wire_len > 0xffff),
    },
    Class {
        name: "ipsec-ah",
        // An IPsec authentication header between the two hosts.
        recognises: |c| c.any_ip(|ip| ip.chain.contains(&51)),
    },
    Class {
        name: "ports",
        // An SCTP or DCCP flow.
        recognises: |c| {
            c.rows()
                .any(|r| r["protocol"] == "132" || r["protocol"] == "33")
        },
    },
    Class {
        name: "vlan",
        // A record between the two hosts carries more than one VLAN tag, or a
        // tag other than 802.1Q.
        recognises: |c| {
            c.any_record(|f| f.vlans.len() > 1 || f.vlans.iter().any(|v| v.0 != 0x8100))
        },
    },
    Class {
        name: "fragments",
        // An IP fragment between the two hosts.
        recognises: |c| c.any_ip(|ip| ip.fragment.is_some()),
    },
    Class {
        name: "dropped-short",
        // An IPv6 packet between the two hosts cut by the snap length, or an
        // IPv4 packet whose total length is 0.
        recognises: |c| {
            c.any_record(|f| match f.ip_as_announced() {
                Some(ip) => {
                    (ip.version == 6 && f.cap_len < f.wire_len)
                        || (ip.version == 4 && ip.length_field == 0)
                }
                None => false,
            })
        },
    },
    Class {
        name: "short-transport",
        // A TCP or UDP packet between the two hosts whose header is not all
        // there (less than 20 or 8 bytes after the IP headers).
        recognises: |c| {
            c.any_ip(|ip| match ip.protocol() {
                6 => ip.after_headers < 20,
                17 => ip.after_headers < 8,
                _ => false,
            })
        },
    },
    Class {
        name: "tunnel",
        // IP directly in IP between the two hosts.
        recognises: |c| c.any_ip(|ip| matches!(ip.protocol(), 4 | 41)),
    },
    Class {
        name: "link-type",
        // An 802.11 frame (link type 105, or 127 with radiotap).
        recognises: |c| c.any_record(|f| matches!(f.linktype, 105 | 127)),
    },
    Class {
        name: "capwap-tzsp",
        // NFStream took a packet between the two hosts out of a CAPWAP or TZSP
        // tunnel (its tunnel_id 2 or 3).
        recognises: |c| {
            c.capture.nfstream.iter().any(|n| {
                matches!(n["tunnel_id"].as_str(), "2" | "3")
                    && c.rows().any(|r| {
                        let hosts = [&r["src_ip"], &r["dst_ip"]];
                        hosts.contains(&&n["src_ip"]) && hosts.contains(&&n["dst_ip"])
                    })
            })
        },
    },
    Class {
        name: "v4-v6-key",
        // flowq has an IPv4 and an IPv6 flow with the same ports and protocol
        // whose addresses compare equal without the IP version.
        recognises: |c| {
            c.rows().any(|r| {
                c.capture.flowq.iter().any(|f| {
                    f["protocol"] == r["protocol"]
                        && f["src_port"] == r["src_port"]
                        && f["dst_port"] == r["dst_port"]
                        && (same_without_version(&f["src_ip"], &r["src_ip"])
                            && same_without_version(&f["dst_ip"], &r["dst_ip"])
                            || same_without_version(&r["src_ip"], &f["src_ip"])
                                && same_without_version(&r["dst_ip"], &f["dst_ip"]))
                })
            })
        },
    },
    Class {
        name: "clamped-time",
        // A record between the two hosts is stamped earlier than some record
        // before it in the capture.
        recognises: |c| {
            c.frames()
                .any(|(i, f)| c.capture.latest_before[i] > f.ts_ns)
        },
    },
    Class {
        name: "time-range",
        // A record between the two hosts is stamped past 2^31 s (2038) or has
        // a fraction of a second out of range; or NFStream's flow starts at a
        // millisecond at which no record between the two hosts is stamped.
        recognises: |c| {
            c.any_record(|f| f.fraction_out_of_range || f.ts_ns >= (1i128 << 31) * 1_000_000_000)
                || c.nfstream.is_some_and(|n| {
                    let first = int(n, "bidirectional_first_seen_ms");
                    !c.records.is_empty()
                        && !c.any_record(|f| f.ts_ns.div_euclid(1_000_000) == first)
                })
        },
    },
];

fn reference_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "csv") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `path -> (format, oracle path)` from the corpus manifest.
fn manifest(pcaps: &Path) -> HashMap<String, (String, String)> {
    let text = std::fs::read_to_string(pcaps.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (path, format, oracle) = (col("path"), col("format"), col("oracle"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[path].to_string(),
                (f[format].to_string(), f[oracle].to_string()),
            )
        })
        .collect()
}

fn describe_frame(i: usize, f: &Frame) -> String {
    let ip = f.ip.as_ref().map_or("no-ip".to_string(), |ip| {
        format!(
            "v{} {}>{} len{} hl{} chain{:?} frag{:?} jumbo{} home{} after{}",
            ip.version,
            ip.src,
            ip.dst,
            ip.length_field,
            ip.header_len,
            ip.chain,
            ip.fragment,
            ip.jumbo,
            ip.home_address,
            ip.after_headers
        )
    });
    format!(
        "#{i} t{} w{} c{} lt{} if{} s{} unlike{} et{:?} vlan{:?} {ip}",
        f.ts_ns,
        f.wire_len,
        f.cap_len,
        f.linktype,
        f.interface,
        f.section,
        f.unlike_first_interface,
        f.ethertype,
        f.vlans
    )
}

/// What one class explains over the corpus.
#[derive(Default)]
struct Tally {
    /// NFStream flows and flowq flows among its mismatches (a differing pair
    /// counts once on each side).
    nfstream: usize,
    flowq: usize,
    captures: BTreeSet<String>,
}

/// The documented counts: class name to (NFStream flows, flowq flows,
/// captures, NFStream flows matched in those captures, NFStream flows in those
/// captures), from the table in docs/features.md, "Deliberate differences from
/// NFStream"; and the documented `matched of total` NFStream flows.
fn documented() -> (BTreeMap<String, [usize; 5]>, [usize; 2]) {
    let section = crate::util::doc_section(DOC, SECTION);
    let mut table = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        let number = |i: usize| -> usize {
            cells[i]
                .parse()
                .unwrap_or_else(|_| panic!("{DOC}: `{line}`: cell {i} is not a count"))
        };
        let (there, of) = cells[5]
            .split_once(" of ")
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .unwrap_or_else(|| panic!("{DOC}: `{line}`: cell 5 is not `M of N`"));
        let previous = table.insert(name.clone(), [number(2), number(3), number(4), there, of]);
        assert!(previous.is_none(), "{DOC}: class `{name}` listed twice");
        assert!(
            section.contains(&format!("- **{name}**:")),
            "{DOC}: class `{name}` has a count but no explanation (`- **{name}**: ...`)"
        );
    }
    // "**3320 of 3461 NFStream flows"
    let totals = section
        .split("**")
        .find_map(|part| {
            let (matched, rest) = part.split_once(" of ")?;
            let total = rest
                .strip_suffix(" NFStream flows")
                .or_else(|| rest.split_once(" NFStream flows").map(|(t, _)| t))?;
            Some([matched.trim().parse().ok()?, total.trim().parse().ok()?])
        })
        .unwrap_or_else(|| panic!("{DOC}: no `**M of N NFStream flows` sentence in `{SECTION}`"));
    (table, totals)
}

/// The class names of the table in docs/features.md, in its order.
fn documented_order() -> Vec<String> {
    let doc = std::fs::read_to_string(repo_root().join(DOC)).expect(DOC);
    let section = doc.split_once(SECTION).expect(SECTION).1;
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1).map(str::to_string))
        .collect()
}

const DOC: &str = "docs/features.md";
const SECTION: &str = "### Deliberate differences from NFStream";

#[test]
fn nfstream_profile_matches_nfstream() {
    let Some(pcaps) = shared_pcaps() else {
        return;
    };
    let (documented, [documented_matched, documented_total]) = documented();
    let reference_dir = pcaps.join("nfstream-ref");
    let manifest = manifest(&pcaps);
    let references = reference_files(&reference_dir);
    assert_eq!(
        references.len(),
        REFERENCE_CAPTURES,
        "NFStream reference outputs in {}",
        reference_dir.display()
    );
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    // NFStream flows, and those matched, in the captures each class touches.
    let mut per_capture: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut unexplained = String::new();
    let mut listing = String::new();
    let (mut total, mut matched) = (0usize, 0usize);
    for reference in &references {
        let name = reference
            .strip_prefix(&reference_dir)
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".csv")
            .to_string();
        let (format, oracle) = manifest
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is not in MANIFEST.tsv"));
        let c = Capture::load(
            &pcaps,
            &name,
            reference,
            &pcaps.join(oracle),
            format == "pcapng",
        );
        let (m, mismatches) = compare(&c);
        total += c.nfstream.len();
        matched += m;
        per_capture.insert(name.clone(), (c.nfstream.len(), m));
        for mismatch in &mismatches {
            let records = c.evidence(mismatch);
            let case = Case {
                capture: &c,
                flowq: mismatch.flowq,
                nfstream: mismatch.nfstream,
                records,
            };
            match CLASSES.iter().find(|k| (k.recognises)(&case)) {
                Some(class) => {
                    let tally = tallies.entry(class.name).or_default();
                    tally.nfstream += usize::from(mismatch.nfstream.is_some());
                    tally.flowq += usize::from(mismatch.flowq.is_some());
                    tally.captures.insert(name.clone());
                    let _ = writeln!(
                        listing,
                        "  {:<18} {name}: {}",
                        class.name,
                        mismatch.describe()
                    );
                }
                None => {
                    let _ = writeln!(unexplained, "{name}: {}", mismatch.describe());
                    for i in case.records.iter().take(8) {
                        if let Some(frame) = c.frames.get(*i) {
                            let _ = writeln!(unexplained, "    {}", describe_frame(*i, frame));
                        }
                    }
                }
            }
        }
    }

    // The report: per class, what it explains and how the rest of the
    // captures it touches fares (their other flows are compared like any).
    let mut report = format!(
        "nfstream profile: {matched} of {total} NFStream flows matched in every column ({:.1} %)\n\
         {:<18} {:>8} {:>6} {:>8}  NFStream flows matched in those captures\n",
        100.0 * matched as f64 / total.max(1) as f64,
        "class",
        "NFStream",
        "flowq",
        "captures"
    );
    let mut problems = Vec::new();
    for class in CLASSES {
        let tally = tallies.remove(class.name).unwrap_or_default();
        let (in_captures, matched_there) = tally
            .captures
            .iter()
            .map(|c| per_capture[c])
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let _ = writeln!(
            report,
            "{:<18} {:>8} {:>6} {:>8}  {matched_there} of {in_captures}",
            class.name,
            tally.nfstream,
            tally.flowq,
            tally.captures.len()
        );
        let measured = [
            tally.nfstream,
            tally.flowq,
            tally.captures.len(),
            matched_there,
            in_captures,
        ];
        match documented.get(class.name) {
            None => problems.push(format!(
                "class `{}` is not in the table of {DOC}",
                class.name
            )),
            Some(counts) if *counts != measured => problems.push(format!(
                "class `{}` explains {measured:?} (NFStream flows, flowq flows, captures, \
                 NFStream flows matched in them, NFStream flows in them), {DOC} says {counts:?}",
                class.name
            )),
            Some(_) => {}
        }
    }
    for name in documented.keys() {
        if !CLASSES.iter().any(|k| k.name == name) {
            problems.push(format!(
                "{DOC} lists `{name}`, which is not a class of this test"
            ));
        }
    }
    // The docs say a mismatch counts for the first class in the table's order.
    let table_order = documented_order();
    let test_order: Vec<&str> = CLASSES.iter().map(|k| k.name).collect();
    if table_order != test_order {
        problems.push(format!(
            "{DOC} lists the classes in the order {table_order:?}, the test tries {test_order:?}"
        ));
    }
    if [matched, total] != [documented_matched, documented_total] {
        problems.push(format!(
            "{matched} of {total} NFStream flows match; {DOC} says {documented_matched} of {documented_total}"
        ));
    }
    if !unexplained.is_empty() {
        problems.push(format!("differences no class recognises:\n{unexplained}"));
    }
    eprintln!("{report}\nmismatches by class:\n{listing}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
