//! Application metadata against independent tools, flow by flow, on every
//! corpus capture (`../shared/pcaps`).
//!
//! * Community ID: `testdata/community_id_corpus.tsv.gz` holds the Community
//!   ID of every packet of the corpus as Corelight's `communityid` package
//!   computes it from TShark's and scapy's reading of the packet (made by
//!   `testdata/community_id_corpus.py`, not by flowq). Every flowq flow whose
//!   first packet has a value there must have that `community_id`.
//! * TShark (`oracle-app/`): TShark 4.0's application fields per packet, keyed
//!   by frame number. Frames are mapped to flows with flowq's own packet view
//!   (the `flow_id` of each record); each flow's expected value of a column is
//!   TShark's value in the first packet with the message the column reads.
//!   Every disagreement must be recognised as one of the classes documented in
//!   docs/app-metadata.md ("Checked against TShark").
//! * NFStream with nDPI (`nfstream-ref-dpi/`): flows matched by 5-tuple and
//!   first-seen millisecond (as tests/nfstream.rs matches them); the five
//!   string columns of `--profile nfstream --dissect` against NFStream's, every
//!   difference in a documented class (docs/app-metadata.md, "Checked against
//!   NFStream").
//!
//! In all three, the number of flows compared, the number that agree, whether
//! that reaches the target of 99 %, and each class's count must be
//! those recorded in the doc's table, so that no regression (and no
//! improvement) goes unnoticed. Where the target is not reached the doc says
//! so: the test does not hide the shortfall, nor lower the target.
//!
//! TShark and NFStream are measured twice, with the same rules and classes:
//! over every capture, and over the captures the corpus manifest does not
//! mark `MALFORMED` (the corpus README calls the oracle "not ground truth,
//! particularly for the malformed files"); each has its own table in the doc,
//! checked alike.

use crate::util::frames::{Frame, Ip, read_frames};
use crate::util::{oracle_packet_rows, read_oracle_text, shared_pcaps};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;
use flowq_extract::batch::PacketColumn;
use flowq_extract::capture::InputSource;
use flowq_extract::{ExtractOptions, Extractor, Profile};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

/// One flow: column name to text (empty for null; lists joined with [`ITEM`]).
type Row = BTreeMap<String, String>;

/// The target: the share of flows on which a column agrees with the
/// other tool; the doc's table says, per column, whether it is reached.
const AGREEMENT: f64 = 0.99;

// ---------------------------------------------------------------------------
// flowq's view of a capture
// ---------------------------------------------------------------------------

/// flowq's flows of a capture (by `flow_id`, or NFStream's `id`) and, for every
/// record counted in a flow, the flow and whether it went from the flow's
/// source (`fwd`).
struct Flowq {
    flows: BTreeMap<i64, Row>,
    records: HashMap<usize, (i64, bool)>,
    /// The first record with transport payload of each flow, per direction
    /// (from the source, to it).
    first_payload: HashMap<i64, [Option<usize>; 2]>,
    /// Per flow: whether its first packet is a TCP SYN, and how many SYN+ACK
    /// packets it has.
    handshake: HashMap<i64, (bool, usize)>,
}

fn flowq(capture: &Path, options: &ExtractOptions, id_column: &str) -> Flowq {
    let mut batches: Vec<RecordBatch> = Vec::new();
    let extractor = Extractor::new(*options);
    extractor
        .run(&[InputSource::File(capture.to_path_buf())], &mut |b| {
            batches.push(b);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
    let mut flows = BTreeMap::new();
    for batch in &batches {
        let schema = batch.schema();
        let texts: Vec<Vec<String>> = batch.columns().iter().map(|c| column_text(c)).collect();
        for r in 0..batch.num_rows() {
            let mut row: Row = schema
                .fields()
                .iter()
                .zip(&texts)
                .map(|(f, t)| (f.name().clone(), t[r].clone()))
                .collect();
            // A list column's text is empty both for null and for an empty
            // list: which one it is, apart.
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                if matches!(column.data_type(), DataType::List(_)) {
                    row.insert(
                        format!("{}{LIST_IS_NULL}", field.name()),
                        column.is_null(r).to_string(),
                    );
                }
            }
            let id = row[id_column].parse().expect("an integer flow id");
            flows.insert(id, row);
        }
    }
    let mut records = HashMap::new();
    let mut first_payload: HashMap<i64, [Option<usize>; 2]> = HashMap::new();
    let mut handshake: HashMap<i64, (bool, usize)> = HashMap::new();
    extractor
        .run_packets(
            &[InputSource::File(capture.to_path_buf())],
            &[
                PacketColumn::PacketId,
                PacketColumn::FlowId,
                PacketColumn::Direction,
                PacketColumn::PayloadBytes,
                PacketColumn::TcpFlags,
            ],
            &mut |batch| {
                let packet = batch.column(0).as_primitive::<Int64Type>();
                let flow = batch.column(1).as_primitive::<Int64Type>();
                let direction = column_text(batch.column(2));
                let payload = batch.column(3).as_primitive::<Int64Type>();
                let flags = column_text(batch.column(4));
                for i in 0..batch.num_rows() {
                    let (record, flow, fwd) = (
                        packet.value(i) as usize,
                        flow.value(i),
                        direction[i] == "fwd",
                    );
                    records.insert(record, (flow, fwd));
                    let flags: u8 = flags[i].parse().unwrap_or(0);
                    let h = handshake.entry(flow).or_insert((flags & 0x12 == 0x02, 0));
                    h.1 += usize::from(flags & 0x12 == 0x12);
                    if payload.value(i) > 0 {
                        let first = first_payload.entry(flow).or_default();
                        first[usize::from(!fwd)].get_or_insert(record);
                    }
                }
                Ok::<(), std::convert::Infallible>(())
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
    Flowq {
        flows,
        records,
        first_payload,
        handshake,
    }
}

/// Appended to a list column's name: the key of whether the list is null
/// (`true`) or a list, maybe empty (`false`).
const LIST_IS_NULL: &str = ":is_null";

/// Separates the items of a list column in [`column_text`] (a character no
/// item of these columns holds: flowq escapes control characters).
const ITEM: char = '\u{1f}';

/// A column's values as text: empty for null, list items joined with [`ITEM`].
fn column_text(array: &dyn Array) -> Vec<String> {
    let text = arrow::compute::cast(array, &DataType::Utf8);
    match array.data_type() {
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            (0..list.len())
                .map(|i| {
                    if list.is_null(i) {
                        return String::new();
                    }
                    column_text(list.value(i).as_ref()).join(&ITEM.to_string())
                })
                .collect()
        }
        _ => {
            let text = text.expect("a column that casts to text");
            let text = text.as_string::<i32>();
            text.iter().map(|v| v.unwrap_or("").to_string()).collect()
        }
    }
}

// ---------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------

/// `MANIFEST.tsv`: capture path to (format, per-packet oracle path).
fn manifest(pcaps: &Path) -> BTreeMap<String, (String, String)> {
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

/// `MANIFEST.tsv`: capture path to its notes.
fn manifest_notes(pcaps: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(pcaps.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split('\t').collect();
    let (path, notes) = (
        header.iter().position(|h| *h == "path").expect("path"),
        header.iter().position(|h| *h == "notes").expect("notes"),
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[path].to_string(), f.get(notes).unwrap_or(&"").to_string())
        })
        .collect()
}

/// Files under `dir` ending in `suffix`, as paths relative to `dir` without it.
fn files_under(dir: &Path, suffix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("a readable directory")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(name) = path
                .strip_prefix(dir)
                .ok()
                .and_then(|p| p.to_str())
                .and_then(|p| p.strip_suffix(suffix))
            {
                out.push(name.to_string());
            }
        }
    }
    out.sort();
    out
}

/// TShark's frame numbers to record numbers (from 0, as flowq's `packet_id`):
/// the same but for pcapng custom blocks, which TShark numbers as frames;
/// and TShark's protocol chain (`frame.protocols`) of each record.
fn frame_to_record(pcaps: &Path, oracle: &str, pcapng: bool) -> (HashMap<u64, usize>, Vec<String>) {
    let rows = oracle_packet_rows(&pcaps.join(oracle), pcapng);
    let frames = rows
        .iter()
        .enumerate()
        .map(|(record, row)| {
            let frame = row["frame.number"].parse().expect("a frame number");
            (frame, record)
        })
        .collect();
    let chains = rows.iter().map(|r| r["frame.protocols"].clone()).collect();
    (frames, chains)
}

/// Counts of one column or check: flows with an expected value, flows that
/// agree, and the disagreements by class.
#[derive(Default)]
struct Tally {
    expected: usize,
    agree: usize,
    classes: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn share(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.agree as f64 / self.expected as f64
        }
    }
}

/// A comparison's tallies per column, and every differing flow (a line
/// each, with its class), over the flows of the captures it counts.
struct Measure {
    tallies: BTreeMap<String, Tally>,
    listing: String,
}

impl Measure {
    fn new(checks: &[&str]) -> Measure {
        Measure {
            tallies: checks
                .iter()
                .map(|c| (c.to_string(), Tally::default()))
                .collect(),
            listing: String::new(),
        }
    }

    /// Counts one flow's value of `check`: equal (`None`), or different for
    /// the class given, listed as the line given.
    fn count(&mut self, check: &str, difference: Option<(&'static str, &str)>) {
        let tally = self.tallies.get_mut(check).expect("a known check");
        tally.expected += 1;
        match difference {
            None => tally.agree += 1,
            Some((class, line)) => {
                *tally.classes.entry(class).or_default() += 1;
                let _ = writeln!(self.listing, "{line}");
            }
        }
    }
}

/// A comparison measured twice: over the flows of every capture compared,
/// and over those of the well-formed ones (the captures the corpus manifest
/// does not mark `MALFORMED`), each against its own table of the doc.
struct Measures {
    all: Measure,
    well_formed: Measure,
    /// The number of well-formed captures compared.
    well_formed_captures: usize,
}

impl Measures {
    fn new(checks: &[&str]) -> Measures {
        Measures {
            all: Measure::new(checks),
            well_formed: Measure::new(checks),
            well_formed_captures: 0,
        }
    }

    /// Notes that a capture is compared, and whether it is well-formed.
    fn capture(&mut self, malformed_capture: bool) {
        self.well_formed_captures += usize::from(!malformed_capture);
    }

    /// Counts one flow's value of `check` (as [`Measure::count`]) over all
    /// captures and, if the flow's capture is well-formed, over those.
    fn count(
        &mut self,
        malformed_capture: bool,
        check: &str,
        difference: Option<(&'static str, &str)>,
    ) {
        self.all.count(check, difference);
        if !malformed_capture {
            self.well_formed.count(check, difference);
        }
    }

    /// Checks both tallies against the tables of the doc's `section`: the
    /// one before its first `### ` heading (all captures), and the one of
    /// its subsection [`WELL_FORMED`] (well-formed captures).
    fn check(&self, section: &'static str) {
        check_tallies(
            DocTable {
                section,
                subsection: None,
            },
            &self.all.tallies,
            &self.all.listing,
        );
        check_tallies(
            DocTable {
                section,
                subsection: Some(WELL_FORMED),
            },
            &self.well_formed.tallies,
            &self.well_formed.listing,
        );
    }
}

/// The heading of the subsection that holds a section's table over the
/// captures the corpus does not mark `MALFORMED`.
const WELL_FORMED: &str = "### On the captures not marked MALFORMED";

/// Where a table of tallies is in docs/app-metadata.md.
#[derive(Clone, Copy)]
struct DocTable {
    /// The `## ` heading of the section, whose text explains every class
    /// (`- **CLASS**: ...`).
    section: &'static str,
    /// The `### ` heading, inside the section, of the subsection that holds
    /// the table; `None` for the table before the section's first `### `.
    subsection: Option<&'static str>,
}

impl DocTable {
    fn name(&self) -> String {
        match self.subsection {
            None => self.section.to_string(),
            Some(sub) => format!("{} / {sub}", self.section),
        }
    }

    /// The text of the part of the doc that holds the table.
    fn text(&self) -> String {
        let section = crate::util::doc_section(DOC, self.section);
        let part = match self.subsection {
            None => section.split("\n### ").next().unwrap_or(&section),
            Some(sub) => {
                let (_, after) = section
                    .split_once(&format!("\n{sub}\n"))
                    .unwrap_or_else(|| {
                        panic!("{DOC}: `{}` has no `{sub}` subsection", self.section)
                    });
                after.split("\n### ").next().unwrap_or(after)
            }
        };
        part.to_string()
    }
}

/// A documented row: flows with an expected value, flows that agree, whether
/// that is at least 99 %, and the disagreements by class.
type DocumentedRow = (usize, usize, bool, BTreeMap<String, usize>);

/// The documented tallies of a table of docs/app-metadata.md, the one table
/// of its part of the doc: its header is
/// `| check | flows | agree | 99 % | CLASS | CLASS ... |` and its rows
/// `| `check` | N | M | yes/no | counts... |`.
fn documented(table: DocTable) -> BTreeMap<String, DocumentedRow> {
    let name = table.name();
    let text = table.text();
    let headers = text.lines().filter(|l| l.starts_with("| check |")).count();
    assert_eq!(headers, 1, "{DOC}: `{name}` must hold one table");
    let mut lines = text.lines().filter(|l| l.starts_with('|'));
    let header: Vec<String> = lines
        .next()
        .unwrap_or_else(|| panic!("{DOC}: `{name}` has no table"))
        .split('|')
        .map(|c| c.trim().trim_matches('`').to_string())
        .collect();
    let mut out = BTreeMap::new();
    for line in lines.filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(
            cells.len(),
            header.len(),
            "{DOC}: `{line}`: cells vs header"
        );
        let n = |i: usize| -> usize {
            cells[i]
                .parse()
                .unwrap_or_else(|_| panic!("{DOC}: `{line}`: cell {i} is not a count"))
        };
        let met = match cells[4] {
            "yes" => true,
            "no" => false,
            other => panic!("{DOC}: `{line}`: `{other}` is not yes or no"),
        };
        let classes = (5..cells.len() - 1)
            .filter(|&i| n(i) > 0)
            .map(|i| (header[i].clone(), n(i)))
            .collect();
        out.insert(
            cells[1].trim_matches('`').to_string(),
            (n(2), n(3), met, classes),
        );
    }
    out
}

/// Compares measured tallies with the documented ones, and the 99 % floor.
fn check_tallies(table: DocTable, measured: &BTreeMap<String, Tally>, listing: &str) {
    let name = table.name();
    let documented = documented(table);
    let mut problems = String::new();
    let mut text = String::new();
    for (check, t) in measured {
        let classes: BTreeMap<String, usize> =
            t.classes.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let _ = writeln!(
            text,
            "  {check}: {} of {} agree ({:.2} %), {classes:?}",
            t.agree,
            t.expected,
            100.0 * t.share()
        );
        // The target; where it is not met the table says so (and
        // why, by class), so that a column that falls below it, or reaches
        // it, fails here until the table is updated on purpose.
        let met = t.share() >= AGREEMENT;
        match documented.get(check) {
            Some((e, a, m, c))
                if *e == t.expected && *a == t.agree && *m == met && *c == classes => {}
            Some(d) => {
                let _ = writeln!(problems, "{check}: documented {d:?}, measured as above");
            }
            None => {
                let _ = writeln!(problems, "{check}: not in the table of `{name}`");
            }
        }
    }
    for check in documented.keys() {
        if !measured.contains_key(check) {
            let _ = writeln!(problems, "{check}: documented but not measured");
        }
    }
    // The classes are explained once per section, below its first table.
    let explained = crate::util::doc_section(DOC, table.section);
    for t in measured.values() {
        for class in t.classes.keys() {
            if !explained.contains(&format!("- **{class}**:")) {
                let _ = writeln!(
                    problems,
                    "class `{class}` has a count but no explanation (`- **{class}**: ...`)"
                );
            }
        }
    }
    eprintln!("{name}:\n{text}");
    // A development aid: FLOWQ_LIST_DIFFERENCES=1 prints every differing flow
    // (with its class) even when the tallies match the documented ones, e.g.
    // to study a class before changing a parser.
    if std::env::var_os("FLOWQ_LIST_DIFFERENCES").is_some() {
        eprintln!("every difference ({name}):\n{listing}");
    }
    assert!(
        problems.is_empty(),
        "{name}:\n{problems}\nmeasured:\n{text}\nevery difference:\n{listing}"
    );
}

const DOC: &str = "docs/app-metadata.md";

// ---------------------------------------------------------------------------
// Community ID
// ---------------------------------------------------------------------------

/// Why flowq's Community ID of a flow differs from the fixture's, or why the
/// fixture has none for the flow's first packet; `None` when nothing explains
/// it. `chain` is TShark's protocol chain of the flow's first packet.
fn community_id_class(
    flow: &Row,
    independent: Option<&String>,
    chain: &str,
) -> Option<&'static str> {
    let ours = flow["community_id"].as_str();
    let protocol = flow["protocol"].as_str();
    let layers: Vec<&str> = chain.split(':').collect();
    let ip_layers = layers
        .iter()
        .take_while(|p| !matches!(**p, "icmp" | "icmpv6"))
        .filter(|p| matches!(**p, "ip" | "ipv6"))
        .count();
    if independent.is_some() && !ours.is_empty() {
        // The script takes the innermost IP header TShark shows; flowq does
        // not open this encapsulation (NSH, PIM register, fragmented or
        // malformed GTP).
        if ip_layers > 1 && flow["tunnel"] == "none" {
            return Some("unopened-tunnel");
        }
        // The script hashes the IPsec header's protocol (AH 51, IPComp
        // 108), flowq the transport after it, or the other way round.
        if layers.iter().any(|p| matches!(*p, "ah" | "ipcomp")) {
            return Some("ipsec-header");
        }
        // flowq opens an encapsulation TShark does not read (a VXLAN packet
        // whose outer IPv4 length is 0, as BIG TCP sends it).
        if flow["tunnel"] != "none" && ip_layers <= 1 {
            return Some("tunnel-only-flowq-opens");
        }
    }
    match independent {
        // TShark and scapy found no transport header, or (for IPv6) the
        // protocol number cannot be read from TShark's table.
        None if !ours.is_empty() => Some("no-independent-value"),
        None => Some("neither"),
        Some(_) if ours.is_empty() && matches!(protocol, "1" | "58") => {
            Some("icmp-header-not-captured")
        }
        Some(_) => None,
    }
}

#[test]
fn community_id_matches_an_independent_implementation_on_every_corpus_flow() {
    let Some(pcaps) = shared_pcaps() else {
        return;
    };
    let fixture = crate::community_id::fixture_records();
    let manifest = manifest(&pcaps);
    // Captures with at least one packet the independent implementation
    // could hash (the others have no IP packet with a transport it reads).
    assert_eq!(fixture.len(), 302, "captures in the Community ID fixture");
    let mut tally = Tally::default();
    let mut listing = String::new();
    let mut flows = 0;
    for (name, (_, oracle)) in &manifest {
        if oracle == "none" {
            continue;
        }
        let ids = fixture.get(name);
        let pcapng = manifest[name].0 == "pcapng";
        let (_, chains) = frame_to_record(&pcaps, oracle, pcapng);
        let f = flowq(&pcaps.join(name), &ExtractOptions::default(), "flow_id");
        for (id, flow) in &f.flows {
            flows += 1;
            let independent = ids.and_then(|ids| ids.get(&(*id as usize)));
            let ours = &flow["community_id"];
            if let Some(want) = independent {
                tally.expected += 1;
                if want == ours {
                    tally.agree += 1;
                    continue;
                }
            } else if ours.is_empty() {
                // Neither has a value: nothing to compare.
                continue;
            }
            let chain = chains.get(*id as usize).map_or("", String::as_str);
            let class = community_id_class(flow, independent, chain).unwrap_or("unexplained");
            *tally.classes.entry(class).or_default() += 1;
            let _ = writeln!(
                listing,
                "  {class:<24} {name}: flow {id} {} {}:{} > {}:{}: flowq {ours:?}, independent {independent:?}",
                flow["protocol"],
                flow["src_ip"],
                flow["src_port"],
                flow["dst_ip"],
                flow["dst_port"]
            );
        }
    }
    eprintln!(
        "community_id: {flows} flows, {} with an independent value, {} agree",
        tally.expected, tally.agree
    );
    assert!(
        !tally.classes.contains_key("unexplained"),
        "unexplained Community ID differences:\n{listing}"
    );
    let measured = BTreeMap::from([("community_id".to_string(), tally)]);
    check_tallies(
        DocTable {
            section: "## Community ID against an independent implementation",
            subsection: None,
        },
        &measured,
        &listing,
    );
}

// ---------------------------------------------------------------------------
// TShark
// ---------------------------------------------------------------------------

/// The columns flowq's flows are checked on against TShark, in report order.
const TSHARK_CHECKS: [&str; 18] = [
    "app_protocol",
    "server_name",
    "ja3",
    "ja3s",
    "tls_alpn",
    "tls_version",
    "quic_version",
    "dns_query",
    "dns_qtype",
    "dns_rcode",
    "dns_answers",
    "http_method",
    "http_uri",
    "http_user_agent",
    "http_status",
    "http_content_type",
    "ssh_client",
    "ssh_server",
];

/// Where TShark found a value: its frame number, the record number (from 0),
/// and whether the packet went from the flow's source.
#[derive(Debug, Clone, Copy)]
struct Seen {
    frame: u64,
    record: usize,
    fwd: bool,
}

/// TShark's values for one flow: check name to the value of the first packet
/// that had the message the check reads (empty when that message had none)
/// and where it was.
type Expected = BTreeMap<&'static str, (String, Seen)>;

/// A DNS type's number from flowq's name for it (`A`, `TYPE65534`).
fn dns_type_number(name: &str) -> Option<u16> {
    const TYPES: [(&str, u16); 26] = [
        ("A", 1),
        ("NS", 2),
        ("CNAME", 5),
        ("SOA", 6),
        ("NULL", 10),
        ("WKS", 11),
        ("PTR", 12),
        ("HINFO", 13),
        ("MX", 15),
        ("TXT", 16),
        ("AAAA", 28),
        ("LOC", 29),
        ("SRV", 33),
        ("NAPTR", 35),
        ("DNAME", 39),
        ("OPT", 41),
        ("DS", 43),
        ("RRSIG", 46),
        ("NSEC", 47),
        ("DNSKEY", 48),
        ("NSEC3", 50),
        ("SVCB", 64),
        ("HTTPS", 65),
        ("AXFR", 252),
        ("ANY", 255),
        ("CAA", 257),
    ];
    TYPES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .or_else(|| name.strip_prefix("TYPE")?.parse().ok())
}

/// A DNS RCODE's number from flowq's name for it.
fn dns_rcode_number(name: &str) -> Option<u16> {
    const RCODES: [(&str, u16); 13] = [
        ("NOERROR", 0),
        ("FORMERR", 1),
        ("SERVFAIL", 2),
        ("NXDOMAIN", 3),
        ("NOTIMP", 4),
        ("REFUSED", 5),
        ("YXDOMAIN", 6),
        ("YXRRSET", 7),
        ("NXRRSET", 8),
        ("NOTAUTH", 9),
        ("NOTZONE", 10),
        ("BADVERS", 16),
        ("BADCOOKIE", 23),
    ];
    RCODES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .or_else(|| name.strip_prefix("RCODE")?.parse().ok())
}

/// flowq's value of a check for a flow, in TShark's spelling.
fn flowq_value(check: &str, flow: &Row) -> String {
    let v = flow.get(check).map_or("", String::as_str);
    match check {
        "tls_alpn" => v.split(ITEM).next().unwrap_or("").to_string(),
        // An empty list: a response without answers (null: no response, or
        // one whose answer section flowq could not find).
        "dns_answers" if v.is_empty() => {
            if flow[&format!("{check}{LIST_IS_NULL}")] == "false" {
                "0".to_string()
            } else {
                String::new()
            }
        }
        "dns_answers" => v.split(ITEM).count().to_string(),
        "dns_qtype" => dns_type_number(v).map_or(v.to_string(), |n| n.to_string()),
        "dns_rcode" => dns_rcode_number(v).map_or(v.to_string(), |n| n.to_string()),
        "quic_version" => match v {
            "v1" => "0x00000001".to_string(),
            "v2" => "0x6b3343cf".to_string(),
            _ => match v.strip_prefix("draft-").and_then(|d| d.parse::<u32>().ok()) {
                Some(d) => format!("0x{:08x}", 0xff00_0000 | d),
                None => v.to_string(),
            },
        },
        "tls_version" => match v {
            "SSLv3" => "0x0300",
            "TLSv1.0" => "0x0301",
            "TLSv1.1" => "0x0302",
            "TLSv1.2" => "0x0303",
            "TLSv1.3" => "0x0304",
            "DTLSv1.0" => "0xfeff",
            "DTLSv1.2" => "0xfefd",
            "DTLSv1.3" => "0xfefc",
            other => other,
        }
        .to_string(),
        _ => v.to_string(),
    }
}

/// The HTTP Host without a port (`[v6]:port` keeps the brackets off too).
fn host_without_port(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_string();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
        _ => host.to_string(),
    }
}

/// TShark's expected values per flow of one capture, and the frames TShark
/// has values for that are in no flowq flow. Each check takes the message
/// flowq reads for it: the first ClientHello (SNI, JA3, ALPN), the first
/// ServerHello (JA3S, version), the first HTTP request (method, URI, Host,
/// User-Agent) and response (status, Content-Type), the first DNS query
/// (name, type; the first response's when the flow has no query) and response
/// (RCODE, answers), the first SSH banner of each side, the first QUIC
/// version; `server_name` and `app_protocol` come from the first of these.
///
/// Also returns the frames that belong to no flowq flow, and apart, the
/// frames whose application fields TShark read inside an ICMP error
/// (`chains`, by record, has `icmp` or `icmpv6` before them): those fields
/// are the quoted datagram's, a packet of the flow the error reports on
/// (the other way round), not of the ICMP message's flow, so they are
/// nobody's expected value here (docs/app-metadata.md, "Checked against
/// TShark").
fn tshark_expected(
    pcaps: &Path,
    name: &str,
    frames: &HashMap<u64, usize>,
    chains: &[String],
    f: &Flowq,
) -> (BTreeMap<i64, Expected>, Vec<u64>, Vec<u64>) {
    let text = read_oracle_text(&pcaps.join("oracle-app").join(format!("{name}.tsv")));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split('\t').collect();
    let mut per_flow: BTreeMap<i64, Expected> = BTreeMap::new();
    // DNS names and types from responses, for flows with no query.
    let mut from_responses: BTreeMap<i64, Expected> = BTreeMap::new();
    let mut outside = Vec::new();
    let mut quoted = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let row: HashMap<&str, &str> = header
            .iter()
            .copied()
            .zip(line.split('\t').chain(std::iter::repeat("")))
            .collect();
        let frame: u64 = row["frame.number"].parse().expect("a frame number");
        let Some((record, (flow, fwd))) = frames
            .get(&frame)
            .and_then(|r| Some((*r, *f.records.get(r)?)))
        else {
            outside.push(frame);
            continue;
        };
        if chains.get(record).is_some_and(|chain| {
            chain
                .split(':')
                .any(|layer| matches!(layer, "icmp" | "icmpv6"))
        }) {
            quoted.push(frame);
            continue;
        }
        let seen = Seen { frame, record, fwd };
        let e = per_flow.entry(flow).or_default();
        // The first message of a kind decides, with or without the value.
        let mut first = |check: &'static str, value: &str| {
            e.entry(check).or_insert((value.to_string(), seen));
        };
        let get = |field: &str| row.get(field).copied().unwrap_or("");
        let quic = !get("quic.version").is_empty();
        if quic {
            first("app_protocol", "quic");
            first("quic_version", get("quic.version"));
        }
        match get("tls.handshake.type") {
            "1" => {
                first("app_protocol", "tls");
                first("server_name", get("tls.handshake.extensions_server_name"));
                first("ja3", get("tls.handshake.ja3"));
                first("tls_alpn", get("tls.handshake.extensions_alpn_str"));
            }
            "2" => {
                first("app_protocol", "tls");
                first("ja3s", get("tls.handshake.ja3s"));
                let supported = get("tls.handshake.extensions.supported_version");
                first(
                    "tls_version",
                    if supported.is_empty() {
                        get("tls.handshake.version")
                    } else {
                        supported
                    },
                );
            }
            _ => {}
        }
        if !get("http.request.method").is_empty() {
            first("app_protocol", "http");
            first("server_name", &host_without_port(get("http.host")));
            first("http_method", get("http.request.method"));
            first("http_uri", get("http.request.uri"));
            first("http_user_agent", get("http.user_agent"));
        }
        if !get("http.response.code").is_empty() {
            first("app_protocol", "http");
            first("http_status", get("http.response.code"));
            first("http_content_type", get("http.content_type"));
        }
        if !get("ssh.protocol").is_empty() {
            first("app_protocol", "ssh");
            first(
                if fwd { "ssh_client" } else { "ssh_server" },
                get("ssh.protocol"),
            );
        }
        if !get("dns.flags.response").is_empty() {
            first("app_protocol", "dns");
            let query_name = match get("dns.qry.name") {
                "<Root>" => ".",
                other => other,
            };
            if get("dns.flags.response") == "0" {
                first("server_name", query_name);
                first("dns_query", query_name);
                first("dns_qtype", get("dns.qry.type"));
            } else {
                first("dns_rcode", get("dns.flags.rcode"));
                first("dns_answers", get("dns.count.answers"));
                let fallback = from_responses.entry(flow).or_default();
                for (check, value) in [
                    ("server_name", query_name),
                    ("dns_query", query_name),
                    ("dns_qtype", get("dns.qry.type")),
                ] {
                    fallback.entry(check).or_insert((value.to_string(), seen));
                }
            }
        }
    }
    for (flow, fallback) in from_responses {
        let e = per_flow.entry(flow).or_default();
        for (check, value) in fallback {
            e.entry(check).or_insert(value);
        }
    }
    // A message without the value: TShark has no value for that check.
    for values in per_flow.values_mut() {
        values.retain(|_, (value, _)| !value.is_empty());
    }
    (per_flow, outside, quoted)
}

/// TShark's value in flowq's terms: the answers column holds at most 16
/// answers (docs/app-metadata.md), so a count above is 16; a name's bytes
/// spelled as flowq spells them ([`tshark_name_as_flowq`]).
fn tshark_value(check: &str, theirs: &str) -> String {
    match (check, theirs.parse::<u32>()) {
        ("dns_answers", Ok(n)) => n.min(16).to_string(),
        ("server_name" | "dns_query", _) => tshark_name_as_flowq(theirs),
        _ => theirs.to_string(),
    }
}

/// A name as TShark writes it, in flowq's spelling of the same bytes, so
/// that names are compared byte for byte rather than by how each tool
/// escapes a byte. TShark writes a byte outside printable ASCII as a C
/// escape (`\t`) or three octal digits (`\022`), and a backslash as
/// itself; flowq as `\xNN`, and a backslash doubled (docs/app-metadata.md,
/// `server_name`). A character TShark writes as itself that is not ASCII is
/// its UTF-8 bytes; U+FFFD, which TShark writes for a byte that is not
/// UTF-8 (so the byte is lost), stays: see the class `non-utf8-byte`.
fn tshark_name_as_flowq(theirs: &str) -> String {
    let mut out = String::with_capacity(theirs.len());
    let push_byte = |out: &mut String, b: u8| match b {
        b'\\' => out.push_str("\\\\"),
        0x20..=0x7e => out.push(b as char),
        _ => out.push_str(&format!("\\x{b:02x}")),
    };
    let chars: Vec<char> = theirs.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let octal: Option<u8> = chars
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(|c| ('0'..='7').contains(c)))
                .and_then(|d| u8::from_str_radix(&d.iter().collect::<String>(), 8).ok());
            let named = chars.get(i + 1).and_then(|c| {
                Some(match c {
                    'a' => 7,
                    'b' => 8,
                    't' => 9,
                    'n' => 10,
                    'v' => 11,
                    'f' => 12,
                    'r' => 13,
                    _ => return None,
                })
            });
            match (octal, named) {
                (Some(b), _) => {
                    push_byte(&mut out, b);
                    i += 4;
                }
                (None, Some(b)) => {
                    push_byte(&mut out, b);
                    i += 2;
                }
                (None, None) => {
                    push_byte(&mut out, b'\\');
                    i += 1;
                }
            }
            continue;
        }
        if c == '\u{fffd}' {
            out.push(c);
        } else {
            let mut utf8 = [0u8; 4];
            for &b in c.encode_utf8(&mut utf8).as_bytes() {
                push_byte(&mut out, b);
            }
        }
        i += 1;
    }
    out
}

/// Whether flowq's name equals TShark's where TShark wrote U+FFFD for a
/// byte that is not UTF-8: each U+FFFD stands for one byte ≥ 0x80 of
/// flowq's name (`\xNN`), the rest equal.
fn equal_but_non_utf8_bytes(ours: &str, theirs: &str) -> bool {
    if !theirs.contains('\u{fffd}') {
        return false;
    }
    let mut rest = ours;
    for (k, part) in theirs.split('\u{fffd}').enumerate() {
        if k > 0 {
            let Some(hex) = rest.strip_prefix("\\x").and_then(|r| r.get(..2)) else {
                return false;
            };
            if !u8::from_str_radix(hex, 16).is_ok_and(|b| b >= 0x80) {
                return false;
            }
            rest = &rest[4..];
        }
        let Some(r) = rest.strip_prefix(part) else {
            return false;
        };
        rest = r;
    }
    rest.is_empty()
}

/// What a difference class looks at besides the two values.
struct Evidence<'a> {
    flow: &'a Row,
    seen: Seen,
    /// The capture is marked `MALFORMED` in the corpus's manifest.
    malformed_capture: bool,
    /// The record TShark read the value from, read by `util::frames`.
    frame: Option<&'a Frame>,
    /// TShark's protocol chain of that record.
    chain: &'a str,
    /// The flow's first record with payload in the value's direction.
    first_payload: Option<usize>,
    /// An IP fragment between the flow's first record and this one with the
    /// same outermost addresses: part of the message may have been in it.
    earlier_fragment: bool,
}

/// Whether a record from `from` to before `to` is an IP fragment between the
/// outermost addresses of record `to`.
fn earlier_fragment(records: &[Frame], from: usize, to: usize) -> bool {
    let Some(ip) = records.get(to).and_then(|f| f.ip.as_ref()) else {
        return false;
    };
    records.get(from..to).unwrap_or_default().iter().any(|f| {
        f.ip.as_ref().is_some_and(|i| {
            i.fragment.is_some()
                && ((i.src == ip.src && i.dst == ip.dst) || (i.src == ip.dst && i.dst == ip.src))
        })
    })
}

/// The TCP payload of an IP packet read by `util::frames`.
fn tcp_payload(ip: &Ip) -> Option<&[u8]> {
    if ip.protocol() != 6 || ip.fragment.is_some() {
        return None;
    }
    let offset = usize::from(ip.transport.get(12)? >> 4) * 4;
    ip.transport.get(offset..)
}

/// The TCP payload of an IPv4 packet carried in GTP-U (UDP port 2152) in an
/// IP packet read by `util::frames`.
fn gtp_tcp_payload(ip: &Ip) -> Option<&[u8]> {
    if ip.protocol() != 17 || ip.fragment.is_some() {
        return None;
    }
    let udp = &ip.transport;
    let port = |at: usize| u16::from_be_bytes([udp[at], udp[at + 1]]);
    if udp.len() < 8 || (port(0) != 2152 && port(2) != 2152) {
        return None;
    }
    let gtp = udp.get(8..)?;
    // Version 1 header: 8 bytes, 12 with the sequence, N-PDU or extension flag.
    let inner = gtp.get(if gtp.first()? & 0x07 != 0 { 12 } else { 8 }..)?;
    if inner.first()? >> 4 != 4 || *inner.get(9)? != 6 {
        return None;
    }
    let header = usize::from(inner[0] & 0x0f) * 4;
    let end = usize::from(u16::from_be_bytes([*inner.get(2)?, *inner.get(3)?])).min(inner.len());
    let tcp = inner.get(header..end)?;
    tcp.get(usize::from(tcp.get(12)? >> 4) * 4..)
}

/// ANCOUNT, the number of answers the header of the DNS message in a UDP
/// packet read by `util::frames` announces.
fn udp_dns_answer_count(ip: &Ip) -> Option<u16> {
    if ip.protocol() != 17 || ip.fragment.is_some() {
        return None;
    }
    let message = ip.transport.get(8..)?;
    Some(u16::from_be_bytes([*message.get(6)?, *message.get(7)?]))
}

/// A TLS record with a ClientHello whose extensions run past the end of
/// their block (an extension's length, or an extension's own list length,
/// larger than what holds it).
fn hello_with_overrunning_extensions(payload: &[u8]) -> bool {
    let hello = || -> Option<bool> {
        if *payload.first()? != 0x16 || *payload.get(5)? != 1 {
            return None;
        }
        let body = payload.get(9..)?;
        let mut at = 2 + 32;
        at += 1 + usize::from(*body.get(at)?);
        at += 2 + usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
        at += 1 + usize::from(*body.get(at)?);
        let len = usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
        let block = body.get(at + 2..)?;
        let block = &block[..len.min(block.len())];
        let mut i = 0;
        while i + 4 <= block.len() {
            let ext_len = usize::from(u16::from_be_bytes([block[i + 2], block[i + 3]]));
            let data = &block[i + 4..];
            if ext_len > data.len() {
                return Some(true);
            }
            // ALPN: a list length, then length-prefixed names.
            if block[i..i + 2] == [0, 16] && ext_len >= 2 {
                let list = usize::from(u16::from_be_bytes([data[0], data[1]]));
                let mut j = 2;
                while j < 2 + list.min(ext_len - 2) {
                    j += 1 + usize::from(data[j]);
                }
                if list + 2 != ext_len || j != ext_len {
                    return Some(true);
                }
            }
            i += 4 + ext_len;
        }
        Some(false)
    };
    hello().unwrap_or(false)
}

/// A TLS record with a ClientHello whose compression methods list is empty
/// (RFC 5246 section 7.4.1.2 requires at least one).
fn hello_without_compression(payload: &[u8]) -> bool {
    let hello = || -> Option<bool> {
        if *payload.first()? != 0x16 || *payload.get(5)? != 1 {
            return None;
        }
        let body = payload.get(9..)?;
        let mut at = 2 + 32;
        at += 1 + usize::from(*body.get(at)?);
        at += 2 + usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
        Some(*body.get(at)? == 0)
    };
    hello().unwrap_or(false)
}

/// The documented differences between flowq and TShark (docs/app-metadata.md,
/// "Checked against TShark", by the same names), tried in this order.
fn tshark_class(check: &str, ours: &str, theirs: &str, e: &Evidence) -> Option<&'static str> {
    let flow = e.flow;
    let ip = e.frame.and_then(|f| f.ip.as_ref());
    let ip_layers = e
        .chain
        .split(':')
        .take_while(|p| !matches!(*p, "icmp" | "icmpv6"))
        .filter(|p| matches!(*p, "ip" | "ipv6"))
        .count();
    if matches!(check, "server_name" | "dns_query") && equal_but_non_utf8_bytes(ours, theirs) {
        return Some("non-utf8-byte");
    }
    if ip.is_some_and(|ip| ip.fragment.is_some()) || e.earlier_fragment {
        return Some("ip-fragment");
    }
    if e.frame.is_some_and(|f| f.cap_len < f.wire_len) {
        return Some("snapped");
    }
    if ip_layers > 1 && flow["tunnel"] == "none" {
        return Some("unopened-tunnel");
    }
    // TShark marks an SSDP NOTIFY as a notification (`http.notification`),
    // not a request: its first request is a later M-SEARCH.
    if flow["protocol"] == "17" && check.starts_with("http_") && flow["http_method"] == "NOTIFY" {
        return Some("ssdp-notify");
    }
    if check == "dns_rcode"
        && let (Ok(o), Ok(t)) = (ours.parse::<u16>(), theirs.parse::<u16>())
        && o > 15
        && o & 15 == t
    {
        return Some("extended-rcode");
    }
    // TShark's text fields end at a NUL byte; flowq's value has the bytes
    // after it too (`\x00`).
    if ours.len() > theirs.len()
        && ours.starts_with(theirs)
        && ours[theirs.len()..].starts_with("\\x00")
    {
        return Some("nul-byte");
    }
    if e.first_payload.is_some_and(|first| first < e.seen.record) {
        return Some("not-at-stream-start");
    }
    // TShark's `dns.count.answers` is the header's ANCOUNT; flowq's list
    // holds the answers it read of the response, fewer (null when it could
    // not find them).
    if check == "dns_answers"
        && !flow["dns_rcode"].is_empty()
        && ip
            .and_then(udp_dns_answer_count)
            .is_some_and(|count| count.min(16).to_string() == theirs)
        && theirs
            .parse::<u16>()
            .is_ok_and(|t| ours.is_empty() || ours.parse::<u16>().is_ok_and(|o| o < t))
    {
        return Some("announced-answers");
    }
    let payload = ip.and_then(tcp_payload).unwrap_or_default();
    if check == "ja3" && hello_without_compression(payload) {
        return Some("hello-without-compression");
    }
    if e.malformed_capture {
        return Some("malformed-capture");
    }
    None
}

/// The corpus frames whose application fields TShark read in the datagram
/// an ICMP error quotes (capture and frame number), as docs/app-metadata.md
/// lists them.
const QUOTED_FRAMES: [&str; 11] = [
    "ndpi/doq.pcapng 10",
    "ndpi/doq.pcapng 12",
    "ndpi/doq.pcapng 14",
    "ndpi/doq.pcapng 16",
    "ndpi/doq.pcapng 18",
    "ndpi/doq.pcapng 20",
    "rustiflow/nmap_udp_version.pcap 70",
    "rustiflow/nmap_udp_version.pcap 72",
    "zeek/gre-sample.pcap 34",
    "zeek/gre-sample.pcap 36",
    "zeek/icmp-destunreach-udp.pcap 1",
];

#[test]
fn app_columns_agree_with_tshark() {
    let Some(pcaps) = shared_pcaps() else {
        return;
    };
    let manifest = manifest(&pcaps);
    let notes = manifest_notes(&pcaps);
    let captures = files_under(&pcaps.join("oracle-app"), ".tsv");
    assert_eq!(captures.len(), 121, "captures with a TShark app table");
    let mut measures = Measures::new(&TSHARK_CHECKS);
    let mut outside_frames = 0;
    let mut quoted_frames = Vec::new();
    for name in &captures {
        let (format, oracle) = manifest
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in MANIFEST.tsv"));
        let (frames, chains) = frame_to_record(&pcaps, oracle, format == "pcapng");
        let records = read_frames(&pcaps.join(name));
        let malformed_capture = notes[name].starts_with("MALFORMED");
        measures.capture(malformed_capture);
        let f = flowq(&pcaps.join(name), &ExtractOptions::default(), "flow_id");
        let (expected, outside, quoted) = tshark_expected(&pcaps, name, &frames, &chains, &f);
        outside_frames += outside.len();
        quoted_frames.extend(quoted.iter().map(|frame| format!("{name} {frame}")));
        for (flow_id, values) in &expected {
            let flow = &f.flows[flow_id];
            for (check, (theirs, seen)) in values {
                let ours = flowq_value(check, flow);
                let theirs = tshark_value(check, theirs);
                if ours == theirs {
                    measures.count(malformed_capture, check, None);
                    continue;
                }
                let evidence = Evidence {
                    flow,
                    seen: *seen,
                    malformed_capture,
                    frame: records.get(seen.record),
                    chain: chains.get(seen.record).map_or("", String::as_str),
                    first_payload: f
                        .first_payload
                        .get(flow_id)
                        .and_then(|first| first[usize::from(!seen.fwd)]),
                    earlier_fragment: earlier_fragment(&records, *flow_id as usize, seen.record),
                };
                let frame = seen.frame;
                let class = tshark_class(check, &ours, &theirs, &evidence).unwrap_or("unexplained");
                let line = format!(
                    "  {check:<18} {class:<20} {name}: flow {flow_id} (frame {frame}) {}:{} > {}:{}: flowq {ours:?}, tshark {theirs:?}",
                    flow["src_ip"], flow["src_port"], flow["dst_ip"], flow["dst_port"]
                );
                measures.count(malformed_capture, check, Some((class, &line)));
            }
        }
    }
    eprintln!("tshark: {outside_frames} frames with app fields in no flowq flow");
    // The frames whose fields are those of a datagram an ICMP error quotes
    // (not compared): the ones the doc lists, so that none goes unnoticed.
    assert_eq!(
        quoted_frames, QUOTED_FRAMES,
        "frames with app fields inside an ICMP error (docs/app-metadata.md)"
    );
    assert_eq!(
        measures.well_formed_captures, 113,
        "captures with a TShark app table not marked MALFORMED (docs/app-metadata.md)"
    );
    measures.check("## Checked against TShark");
}

// ---------------------------------------------------------------------------
// NFStream with nDPI
// ---------------------------------------------------------------------------

const NFSTREAM_CHECKS: [&str; 5] = [
    "requested_server_name",
    "client_fingerprint",
    "server_fingerprint",
    "user_agent",
    "content_type",
];

const NFSTREAM_KEY: [&str; 6] = [
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "bidirectional_first_seen_ms",
];

fn nfstream_key(row: &Row) -> String {
    NFSTREAM_KEY
        .map(|k| row.get(k).map_or("", String::as_str))
        .join("|")
}

fn read_nfstream(path: &Path) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// What the packets of a flow show, read by `util::frames`.
struct FlowPackets {
    /// One of the flow's packets is an IP fragment, or travelled in a tunnel
    /// between hosts that exchanged IP fragments (a fragmented tunnel packet
    /// stays in the outer flow): NFStream keeps a first fragment as if it
    /// were the whole packet and drops the others, flowq puts UDP
    /// datagrams together and leaves TCP segments in fragments out.
    fragmented: bool,
    /// One of the flow's packets was cut short: by the snap length, or its
    /// IP length is more than was captured.
    truncated: bool,
    /// One of the flow's packets holds a ClientHello whose extensions run
    /// past their block.
    malformed_hello: bool,
}

impl FlowPackets {
    fn of(flow: i64, row: &Row, f: &Flowq, frames: &[Frame]) -> FlowPackets {
        let pair = |ip: &Ip| {
            let mut p = [ip.src.clone(), ip.dst.clone()];
            p.sort();
            p
        };
        let fragment_pairs: std::collections::HashSet<[String; 2]> = frames
            .iter()
            .filter_map(|fr| fr.ip.as_ref())
            .filter(|ip| ip.fragment.is_some())
            .map(pair)
            .collect();
        let mut out = FlowPackets {
            fragmented: false,
            truncated: false,
            malformed_hello: false,
        };
        for (record, (id, _)) in &f.records {
            if *id != flow {
                continue;
            }
            let Some(frame) = frames.get(*record) else {
                continue;
            };
            out.truncated |= frame.cap_len < frame.wire_len
                || frame.ip.as_ref().is_some_and(|ip| {
                    ip.version == 4 && ip.length_field as usize > ip.header_len + ip.after_headers
                });
            out.malformed_hello |= frame.ip.as_ref().is_some_and(|ip| {
                tcp_payload(ip)
                    .or_else(|| gtp_tcp_payload(ip))
                    .is_some_and(hello_with_overrunning_extensions)
            });
            let mut hosts = [row["src_ip"].clone(), row["dst_ip"].clone()];
            hosts.sort();
            out.fragmented |= frame.ip.as_ref().is_some_and(|ip| {
                ip.fragment.is_some() || (pair(ip) != hosts && fragment_pairs.contains(&pair(ip)))
            });
        }
        out
    }
}

/// The documented differences between flowq and NFStream 6.6 with nDPI
/// (docs/app-metadata.md, "Checked against NFStream", by the same names),
/// tried in this order.
fn nfstream_class(
    check: &str,
    ours: &str,
    theirs: &str,
    flow: &Row,
    malformed_capture: bool,
    handshake: Option<(bool, usize)>,
    packets: &FlowPackets,
) -> Option<&'static str> {
    let port = |p: &str| flow["src_port"] == p || flow["dst_port"] == p;
    let udp = flow["protocol"] == "17";
    let tcp = flow["protocol"] == "6";
    // The protocols whose names and fingerprints flowq reads.
    let parsed = matches!(
        flow["application_name"].as_str(),
        "TLS" | "QUIC" | "DNS" | "MDNS" | "LLMNR" | "NetBIOS" | "HTTP" | "SSDP" | "SSH" | "DHCP"
    );
    if check == "client_fingerprint"
        && ours.len() == theirs.len()
        && ours.len() > 4
        && ours[..3] == theirs[..3]
        && ours[4..] == theirs[4..]
    {
        return Some("ja4-sni-letter");
    }
    if check == "client_fingerprint" && ours.is_empty() && theirs.starts_with('d') {
        return Some("dtls");
    }
    if check == "requested_server_name" && udp && port("137") {
        return Some("netbios-name");
    }
    if check == "requested_server_name" && udp && port("5353") {
        return Some("mdns-name");
    }
    if ours.is_empty() && !theirs.is_empty() && !parsed {
        return Some("protocol-not-parsed");
    }
    if packets.fragmented {
        return Some("ip-fragment");
    }
    if ours.is_empty() && packets.truncated {
        return Some("truncated-packet");
    }
    if check == "client_fingerprint" && ours.is_empty() && packets.malformed_hello {
        return Some("malformed-hello");
    }
    if malformed_capture {
        return Some("malformed-capture");
    }
    if tcp && handshake.is_some_and(|(syn_first, _)| !syn_first) {
        return Some("mid-stream");
    }
    if tcp && handshake.is_some_and(|(_, syn_acks)| syn_acks > 1) {
        return Some("several-syn-acks");
    }
    if theirs.is_empty() && !ours.is_empty() {
        return Some("ndpi-leaves-empty");
    }
    if !ours.is_empty() && !theirs.is_empty() && check != "client_fingerprint" {
        return Some("later-message");
    }
    None
}

#[test]
fn dissection_columns_agree_with_nfstream() {
    let Some(pcaps) = shared_pcaps() else {
        return;
    };
    let dir = pcaps.join("nfstream-ref-dpi");
    let captures = files_under(&dir, ".csv");
    assert_eq!(captures.len(), 287, "NFStream outputs with dissection");
    let options = ExtractOptions {
        profile: Profile::Nfstream,
        dissect: true,
        splt_len: 0,
        ..ExtractOptions::default()
    };
    let mut measures = Measures::new(&NFSTREAM_CHECKS);
    let (mut matched, mut total) = (0, 0);
    let notes = manifest_notes(&pcaps);
    for name in &captures {
        let malformed_capture = notes[name].starts_with("MALFORMED");
        measures.capture(malformed_capture);
        let theirs = read_nfstream(&dir.join(format!("{name}.csv")));
        let frames = read_frames(&pcaps.join(name));
        let f = flowq(&pcaps.join(name), &options, "id");
        let mut by_key: HashMap<String, Vec<&Row>> = HashMap::new();
        for row in f.flows.values() {
            by_key.entry(nfstream_key(row)).or_default().push(row);
        }
        total += theirs.len();
        for n in &theirs {
            let Some(ours) = by_key.get_mut(&nfstream_key(n)).and_then(|v| {
                if v.is_empty() {
                    None
                } else {
                    Some(v.remove(0))
                }
            }) else {
                continue;
            };
            matched += 1;
            for check in NFSTREAM_CHECKS {
                let (a, b) = (&ours[check], &n[check]);
                if a == b {
                    measures.count(malformed_capture, check, None);
                    continue;
                }
                let id: i64 = ours["id"].parse().expect("an integer id");
                let handshake = f.handshake.get(&id).copied();
                let packets = FlowPackets::of(id, ours, &f, &frames);
                let class =
                    nfstream_class(check, a, b, ours, malformed_capture, handshake, &packets)
                        .unwrap_or("unexplained");
                let line = format!(
                    "  {check:<22} {class:<20} {name}: {}: flowq {a:?}, NFStream {b:?} (id {id}, {handshake:?}, {})",
                    nfstream_key(ours),
                    ours["application_name"]
                );
                measures.count(malformed_capture, check, Some((class, &line)));
            }
        }
    }
    eprintln!("nfstream: {matched} of {total} NFStream flows matched by key");
    assert_eq!(
        measures.well_formed_captures, 250,
        "NFStream outputs of captures not marked MALFORMED (docs/app-metadata.md)"
    );
    measures.check("## Checked against NFStream");
}
