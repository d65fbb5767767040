//! `--profile cic2017`, `cic2018` and `cic` (CICFlowMeter compatibility),
//! checked against values worked out by hand from `docs/cic.md` and the
//! published CICFlowMeter headers (`../shared/reference/flow-tools.md` §4.2),
//! not from the implementation. The arithmetic is in the comments.
//!
//! Conventions of these profiles (docs/cic.md): "packet length" is the
//! transport payload, "header length" the transport header (TCP data offset × 4,
//! 8 for UDP and ICMP), times are µs, statistics of an empty set are 0 and the
//! standard deviation of one value is 0 (sample std, n − 1), rates over a zero
//! duration are null. Frames here: Ethernet 14 + IPv4 20 + TCP 20 (+ options) or
//! UDP / ICMP 8, + payload.
//!
//! Outputs are read back from Parquet into a map keyed by the column name with
//! the leading space of the cic2017 names trimmed (` Source IP` → `Source IP`,
//! ` Fwd Header Length.1` → `Fwd Header Length.1`); the exact names are checked
//! by the header tests. Null is distinct from 0.
//!
//! Times are offsets from T0 = 1 700 000 000 s = 2023-11-14T22:13:20Z, in µs.

use crate::util::capture::{Ep4, Pkt, T0_US, eth, flags::*, ip4_icmp_echo, ip4_udp, ip6_udp};
use crate::util::rows::{
    Out, Val, W, check, close, extract_to, read_parquet, read_parquet_allowing_non_finite,
};
use crate::util::shared_reference;
use arrow::datatypes::{DataType, TimeUnit};
use etherparse::{PacketBuilder, TcpHeader};

/// Microseconds per millisecond and per second.
const MS: i64 = 1_000;
const SEC: i64 = 1_000_000;

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];
const PEER: [u8; 4] = [10, 0, 0, 3];

/// `--cic-compat bugs`: CICFlowMeter's original arithmetic.
const BUGS: &[&str] = &["--cic-compat", "bugs"];

// ---------------------------------------------------------------------------
// Published headers (read from flow-tools.md §4.2)
// ---------------------------------------------------------------------------

/// The published CICFlowMeter headers, read from the research notes beside
/// the repository (`../shared/reference/flow-tools.md` §4.2, copied there
/// verbatim from CICFlowMeter's sources). flowq's own copy in
/// `crates/flowq-extract/src/batch/cic.rs` is the only one in this repository;
/// this is the independent text it is checked against. `None` (a visible skip,
/// an error under .ci/run) without the notes.
struct Published {
    /// (a) The CIC-IDS2017 CSV header, byte for byte (85 columns).
    cic2017: String,
    /// (b) CICFlowMeter-4.0 / CSE-CIC-IDS2018 names (84).
    cic2018: Vec<String>,
    /// (c) Current CICFlowMeter master names (84).
    master: Vec<String>,
}

fn published() -> Option<Published> {
    let path = shared_reference("flow-tools.md")?;
    let text = std::fs::read_to_string(&path).expect("flow-tools.md");
    let section = text
        .split_once("### 4.2 CICFlowMeter family")
        .and_then(|(_, rest)| rest.split_once("### 4.3"))
        .expect("flow-tools.md has §4.2 before §4.3")
        .0;
    // (a) is a fenced block; (b) and (c) are the code span that starts the
    // line after their label's.
    let cic2017 = section
        .split("```")
        .nth(1)
        .expect("§4.2 (a) is a fenced block")
        .trim()
        .to_string();
    let names = |label: &str| -> Vec<String> {
        let after = section.split_once(label).expect(label).1;
        let span = after
            .split_once("\n`")
            .and_then(|(_, rest)| rest.split_once('`'))
            .expect("a code span starting a line")
            .0;
        span.split(", ").map(str::to_string).collect()
    };
    let published = Published {
        cic2017,
        cic2018: names("**(b)"),
        master: names("**(c)"),
    };
    assert_eq!(published.cic2017.split(',').count(), 85, "§4.2 (a)");
    assert_eq!(published.cic2018.len(), 84, "§4.2 (b)");
    assert_eq!(published.master.len(), 84, "§4.2 (c)");
    Some(published)
}

/// The `cic` profile's names: §4.2 (c) with the Engelen extras inserted as
/// docs/cic.md says (no `Total Connection Flow Time`), 93 names.
fn cic_names(master: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in master {
        if name == "Label" {
            out.extend(
                [
                    "ICMP Code",
                    "ICMP Type",
                    "Fwd TCP Retrans. Count",
                    "Bwd TCP Retrans. Count",
                    "Total TCP Retrans. Count",
                ]
                .map(String::from),
            );
        }
        out.push(name.clone());
        match name.as_str() {
            "Bwd URG Flags" => out.extend(["Fwd RST Flags", "Bwd RST Flags"].map(String::from)),
            "Fwd Act Data Pkts" => out.push("Bwd Act Data Pkts".into()),
            "Fwd Seg Size Min" => out.push("Bwd Seg Size Min".into()),
            _ => {}
        }
    }
    out
}

/// The columns `cic` adds to §4.2 (c).
const CIC_EXTRAS: [&str; 9] = [
    "Fwd RST Flags",
    "Bwd RST Flags",
    "Bwd Act Data Pkts",
    "Bwd Seg Size Min",
    "ICMP Code",
    "ICMP Type",
    "Fwd TCP Retrans. Count",
    "Bwd TCP Retrans. Count",
    "Total TCP Retrans. Count",
];

/// The Parquet / Arrow names of `cic2017`: the CSV header's fields as they are
/// (leading spaces kept), the second ` Fwd Header Length` renamed
/// ` Fwd Header Length.1`.
fn cic2017_parquet_names(header: &str) -> Vec<String> {
    let mut seen = false;
    header
        .split(',')
        .map(|n| {
            if n == " Fwd Header Length" {
                if seen {
                    return " Fwd Header Length.1".to_string();
                }
                seen = true;
            }
            n.to_string()
        })
        .collect()
}

/// The type docs/features.md gives a `cic2017` column (by its trimmed name).
fn cic2017_type(name: &str) -> DataType {
    use DataType::*;
    match name {
        "Flow ID" | "Source IP" | "Destination IP" | "Label" => Utf8,
        "Source Port" | "Destination Port" => Int32,
        "Protocol" => Int16,
        "Timestamp" => Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "Flow Duration"
        | "Total Fwd Packets"
        | "Total Backward Packets"
        | "Total Length of Fwd Packets"
        | "Total Length of Bwd Packets"
        | "Fwd PSH Flags"
        | "Bwd PSH Flags"
        | "Fwd URG Flags"
        | "Bwd URG Flags"
        | "Fwd Header Length"
        | "Bwd Header Length"
        | "Fwd Header Length.1"
        | "act_data_pkt_fwd" => Int64,
        n if n.ends_with("Flag Count") => Int64,
        "Init_Win_bytes_forward" | "Init_Win_bytes_backward" | "min_seg_size_forward" => Int32,
        _ => Float64,
    }
}

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/// A TCP segment under construction: sequence 0, window 1000, no options, no
/// payload until told otherwise.
#[derive(Debug, Clone)]
struct Tcp {
    from: Ep4,
    to: Ep4,
    flags: u8,
    seq: u32,
    win: u16,
    options: Vec<u8>,
    payload: usize,
}

fn tcp(from: Ep4, to: Ep4, flags: u8) -> Tcp {
    Tcp {
        from,
        to,
        flags,
        seq: 0,
        win: 1000,
        options: Vec::new(),
        payload: 0,
    }
}

impl Tcp {
    fn seq(mut self, v: u32) -> Tcp {
        self.seq = v;
        self
    }
    fn win(mut self, v: u16) -> Tcp {
        self.win = v;
        self
    }
    fn opts(mut self, v: &[u8]) -> Tcp {
        self.options = v.to_vec();
        self
    }
    fn data(mut self, n: usize) -> Tcp {
        self.payload = n;
        self
    }
    /// The Ethernet frame captured `us` µs after T0.
    fn at(&self, us: i64) -> Pkt {
        let mut h = TcpHeader::new(self.from.1, self.to.1, self.seq, self.win);
        h.fin = self.flags & FIN != 0;
        h.syn = self.flags & SYN != 0;
        h.rst = self.flags & RST != 0;
        h.psh = self.flags & PSH != 0;
        h.ack = self.flags & ACK != 0;
        h.urg = self.flags & URG != 0;
        h.ece = self.flags & ECE != 0;
        h.cwr = self.flags & CWR != 0;
        if h.ack {
            h.acknowledgment_number = 1;
        }
        h.set_options_raw(&self.options).expect("tcp options");
        let mut ip = Vec::new();
        PacketBuilder::ipv4(self.from.0, self.to.0, 64)
            .tcp_header(h)
            .write(&mut ip, &vec![0x61; self.payload])
            .expect("build tcp");
        Pkt::new(T0_US + us, eth(&ip))
    }
}

/// TCP options MSS 1460, NOP, window scale 7: 8 bytes (header 28).
const MSS_WS: [u8; 8] = [2, 4, 0x05, 0xb4, 1, 3, 3, 7];
/// TCP option MSS 1460: 4 bytes (header 24).
const MSS: [u8; 4] = [2, 4, 0x05, 0xb4];

/// A UDP datagram with `n` bytes of payload, `us` µs after T0.
fn udp(from: Ep4, to: Ep4, n: usize, us: i64) -> Pkt {
    Pkt::new(T0_US + us, eth(&ip4_udp(from, to, &vec![0x62; n])))
}

/// An ICMP echo request (or reply) with `n` bytes of data, `us` µs after T0.
fn icmp_echo(from: [u8; 4], to: [u8; 4], reply: bool, n: usize, us: i64) -> Pkt {
    Pkt::new(
        T0_US + us,
        eth(&ip4_icmp_echo(from, to, reply, 7, 1, &vec![0x63; n])),
    )
}

// ---------------------------------------------------------------------------
// Running flowq
// ---------------------------------------------------------------------------

/// Extracts to Parquet with `profile` and `extra` arguments; NaN and infinite
/// values are rejected unless `extra` asks for `--cic-compat bugs`.
fn extract(packets: &[Pkt], profile: &str, extra: &[&str]) -> Out {
    let mut args = vec!["--profile", profile];
    args.extend_from_slice(extra);
    let (_dir, output) = extract_to(packets, false, "out.parquet", &args);
    if extra.contains(&"bugs") {
        read_parquet_allowing_non_finite(&output)
    } else {
        read_parquet(&output)
    }
}

/// Extracts to CSV: the whole text.
fn extract_csv_text(packets: &[Pkt], profile: &str, extra: &[&str]) -> String {
    let mut args = vec!["--profile", profile];
    args.extend_from_slice(extra);
    let (_dir, output) = extract_to(packets, false, "out.csv", &args);
    std::fs::read_to_string(&output).expect("read CSV")
}

// ---------------------------------------------------------------------------
// The TCP connection of most tests
// ---------------------------------------------------------------------------

const C1: Ep4 = (CLIENT, 40000);
const S1: Ep4 = (SERVER, 80);

/// Scenario 1 starts 700 µs after T0.
const BASE1: i64 = 700;

/// A TCP connection: handshake, data both ways, FIN close, final ACK.
///
/// | # | t (µs) | dir | flags       | seq  | win   | TCP hdr | payload |
/// |---|--------|-----|-------------|------|-------|---------|---------|
/// | 1 | 0      | C→S | SYN ECE CWR | 1000 | 64240 | 28      | 0       |
/// | 2 | 1500   | S→C | SYN ACK ECE | 5000 | 65160 | 28      | 0       |
/// | 3 | 1700   | C→S | ACK         | 1001 | 502   | 20      | 0       |
/// | 4 | 2000   | C→S | PSH ACK     | 1001 | 502   | 20      | 100     |
/// | 5 | 2600   | S→C | ACK         | 5001 | 510   | 20      | 0       |
/// | 6 | 3000   | S→C | PSH ACK     | 5001 | 509   | 20      | 300     |
/// | 7 | 3100   | C→S | PSH ACK URG | 1101 | 501   | 20      | 40      |
/// | 8 | 5000   | C→S | FIN ACK     | 1141 | 501   | 20      | 0       |
/// | 9 | 5400   | S→C | FIN ACK     | 5301 | 508   | 20      | 0       |
/// |10 | 5500   | C→S | ACK         | 1142 | 501   | 20      | 0       |
///
/// Forward: 1,3,4,7,8,10 (payloads 0,0,100,40,0,0); backward: 2,5,6,9
/// (0,0,300,0). Every segment adds new sequence numbers (no retransmission).
fn connection(base: i64) -> Vec<Pkt> {
    let (c, s) = (C1, S1);
    vec![
        tcp(c, s, SYN | ECE | CWR)
            .seq(1000)
            .win(64240)
            .opts(&MSS_WS)
            .at(base),
        tcp(s, c, SYN | ACK | ECE)
            .seq(5000)
            .win(65160)
            .opts(&MSS_WS)
            .at(base + 1500),
        tcp(c, s, ACK).seq(1001).win(502).at(base + 1700),
        tcp(c, s, PSH | ACK)
            .seq(1001)
            .win(502)
            .data(100)
            .at(base + 2000),
        tcp(s, c, ACK).seq(5001).win(510).at(base + 2600),
        tcp(s, c, PSH | ACK)
            .seq(5001)
            .win(509)
            .data(300)
            .at(base + 3000),
        tcp(c, s, PSH | ACK | URG)
            .seq(1101)
            .win(501)
            .data(40)
            .at(base + 3100),
        tcp(c, s, FIN | ACK).seq(1141).win(501).at(base + 5000),
        tcp(s, c, FIN | ACK).seq(5301).win(508).at(base + 5400),
        tcp(c, s, ACK).seq(1142).win(501).at(base + 5500),
    ]
}

/// Every `cic2017` value of [`connection`] in the fixed mode, by trimmed name.
fn connection_cic2017() -> Vec<(&'static str, W)> {
    use W::*;
    vec![
        ("Flow ID", S("10.0.0.1-10.0.0.2-40000-80-6")),
        ("Source IP", S("10.0.0.1")),
        ("Source Port", I(40000)),
        ("Destination IP", S("10.0.0.2")),
        ("Destination Port", I(80)),
        ("Protocol", I(6)),
        ("Timestamp", I(T0_US + BASE1)),
        ("Flow Duration", I(5500)),
        ("Total Fwd Packets", I(6)),
        ("Total Backward Packets", I(4)),
        // payloads: fwd 100 + 40; bwd 300
        ("Total Length of Fwd Packets", I(140)),
        ("Total Length of Bwd Packets", I(300)),
        // fwd 0,0,100,40,0,0: mean 140/6 = 23.333; sum of squares 11 600,
        // minus 140^2/6 = 3266.67: 8333.33 = 25 000/3; / 5 = 5000/3; std 40.8248
        ("Fwd Packet Length Max", F(100.0)),
        ("Fwd Packet Length Min", F(0.0)),
        ("Fwd Packet Length Mean", F(140.0 / 6.0)),
        ("Fwd Packet Length Std", F((5000.0f64 / 3.0).sqrt())),
        // bwd 0,0,300,0: mean 75; deviations -75,-75,225,-75: 67 500; / 3 = 22 500
        ("Bwd Packet Length Max", F(300.0)),
        ("Bwd Packet Length Min", F(0.0)),
        ("Bwd Packet Length Mean", F(75.0)),
        ("Bwd Packet Length Std", F(150.0)),
        // 440 payload bytes / 0.0055 s = 80 000; 10 packets / 0.0055 s = 1818.18
        ("Flow Bytes/s", F(80_000.0)),
        ("Flow Packets/s", F(10.0 / 0.0055)),
        // gaps 1500,200,300,600,400,100,1900,400,100: sum 5500, n 9; sum of
        // squares 6 690 000; minus 5500^2/9 = 3 361 111.1: 3 328 888.9; / 8
        ("Flow IAT Mean", F(5500.0 / 9.0)),
        (
            "Flow IAT Std",
            F(((6_690_000.0 - 5500.0f64.powi(2) / 9.0) / 8.0).sqrt()),
        ),
        ("Flow IAT Max", F(1900.0)),
        ("Flow IAT Min", F(100.0)),
        // fwd at 0,1700,2000,3100,5000,5500: 1700,300,1100,1900,500; sum 5500,
        // mean 1100, deviations 600,-800,0,800,-600: 2 000 000 / 4 = 500 000
        ("Fwd IAT Total", F(5500.0)),
        ("Fwd IAT Mean", F(1100.0)),
        ("Fwd IAT Std", F(500_000.0f64.sqrt())),
        ("Fwd IAT Max", F(1900.0)),
        ("Fwd IAT Min", F(300.0)),
        // bwd at 1500,2600,3000,5400: 1100,400,2400; sum 3900, mean 1300,
        // deviations -200,-900,1100: 2 060 000 / 2 = 1 030 000
        ("Bwd IAT Total", F(3900.0)),
        ("Bwd IAT Mean", F(1300.0)),
        ("Bwd IAT Std", F(1_030_000.0f64.sqrt())),
        ("Bwd IAT Max", F(2400.0)),
        ("Bwd IAT Min", F(400.0)),
        // PSH: fwd 4,7; bwd 6. URG: fwd 7
        ("Fwd PSH Flags", I(2)),
        ("Bwd PSH Flags", I(1)),
        ("Fwd URG Flags", I(1)),
        ("Bwd URG Flags", I(0)),
        // fwd 28 + 5 x 20 = 128; bwd 28 + 3 x 20 = 88
        ("Fwd Header Length", I(128)),
        ("Bwd Header Length", I(88)),
        ("Fwd Packets/s", F(6.0 / 0.0055)),
        ("Bwd Packets/s", F(4.0 / 0.0055)),
        // all ten: 0,0,0,100,0,300,40,0,0,0: mean 44; sum of squares 101 600,
        // minus 10 x 44^2 = 19 360: 82 240; variance 82 240 / 9 = 9137.78
        ("Min Packet Length", F(0.0)),
        ("Max Packet Length", F(300.0)),
        ("Packet Length Mean", F(44.0)),
        ("Packet Length Std", F((82_240.0f64 / 9.0).sqrt())),
        ("Packet Length Variance", F(82_240.0 / 9.0)),
        // FIN 8,9; SYN 1,2; PSH 4,6,7; ACK 2..10; URG 7; CWR 1; ECE 1,2
        ("FIN Flag Count", I(2)),
        ("SYN Flag Count", I(2)),
        ("RST Flag Count", I(0)),
        ("PSH Flag Count", I(3)),
        ("ACK Flag Count", I(9)),
        ("URG Flag Count", I(1)),
        ("CWE Flag Count", I(1)),
        ("ECE Flag Count", I(2)),
        // 4 / 6
        ("Down/Up Ratio", F(4.0 / 6.0)),
        // 440 / 10; 140 / 6; 300 / 4
        ("Average Packet Size", F(44.0)),
        ("Avg Fwd Segment Size", F(140.0 / 6.0)),
        ("Avg Bwd Segment Size", F(75.0)),
        ("Fwd Header Length.1", I(128)),
        // two forward payload packets, a backward one between them: no bulk
        ("Fwd Avg Bytes/Bulk", F(0.0)),
        ("Fwd Avg Packets/Bulk", F(0.0)),
        ("Fwd Avg Bulk Rate", F(0.0)),
        ("Bwd Avg Bytes/Bulk", F(0.0)),
        ("Bwd Avg Packets/Bulk", F(0.0)),
        ("Bwd Avg Bulk Rate", F(0.0)),
        // no gap over 1 s: one subflow, the totals
        ("Subflow Fwd Packets", F(6.0)),
        ("Subflow Fwd Bytes", F(140.0)),
        ("Subflow Bwd Packets", F(4.0)),
        ("Subflow Bwd Bytes", F(300.0)),
        // windows of packets 1 and 2
        ("Init_Win_bytes_forward", I(64240)),
        ("Init_Win_bytes_backward", I(65160)),
        // forward payload packets 4 and 7
        ("act_data_pkt_fwd", I(2)),
        // forward headers 28,20,20,20,20,20
        ("min_seg_size_forward", I(20)),
        // the full profile's periods: no gap above 5 s, so one active period
        // 0..5500 of 5500 µs (std of one value: 0) and no idle period (0)
        ("Active Mean", F(5500.0)),
        ("Active Std", F(0.0)),
        ("Active Max", F(5500.0)),
        ("Active Min", F(5500.0)),
        ("Idle Mean", F(0.0)),
        ("Idle Std", F(0.0)),
        ("Idle Max", F(0.0)),
        ("Idle Min", F(0.0)),
        ("Label", S("NeedManualLabel")),
    ]
}

// ---------------------------------------------------------------------------
// Headers, names and types
// ---------------------------------------------------------------------------

/// The first line of a CSV text.
fn header_line(text: &str) -> &str {
    text.split('\n').next().expect("a header line")
}

#[test]
fn cic2017_csv_header_is_the_published_one_byte_for_byte() {
    let text = extract_csv_text(&connection(BASE1), "cic2017", &[]);
    assert_eq!(header_line(&text).split(',').count(), 85);
    if let Some(published) = published() {
        assert_eq!(header_line(&text), published.cic2017);
    }
    // One row; its Timestamp in flowq's CSV form (RFC 3339, UTC, 6 digits),
    // 700 µs after 2023-11-14T22:13:20Z.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let fields: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(fields.len(), 85, "{}", lines[1]);
    assert_eq!(fields[0], "10.0.0.1-10.0.0.2-40000-80-6");
    assert_eq!(fields[6], "2023-11-14T22:13:20.000700Z");
    assert_eq!(fields[84], "NeedManualLabel");
}

#[test]
fn cic2018_csv_header_is_the_cicflowmeter_4_names_joined_without_spaces() {
    let text = extract_csv_text(&connection(BASE1), "cic2018", &[]);
    assert_eq!(header_line(&text).split(',').count(), 84);
    if let Some(published) = published() {
        assert_eq!(header_line(&text), published.cic2018.join(","));
    }
}

#[test]
fn cic_csv_header_is_master_plus_the_engelen_columns() {
    let text = extract_csv_text(&connection(BASE1), "cic", &[]);
    assert_eq!(header_line(&text).split(',').count(), 93);
    if let Some(published) = published() {
        let names = cic_names(&published.master);
        assert_eq!(names.len(), 93);
        assert_eq!(header_line(&text), names.join(","));
    }
}

#[test]
fn parquet_and_arrow_names_and_types() {
    // cic2017: the header's fields with their leading spaces, the duplicate
    // renamed " Fwd Header Length.1"; types as docs/cic.md lists them.
    let out = extract(&connection(BASE1), "cic2017", &[]);
    let published = published();
    if let Some(published) = &published {
        assert_eq!(out.names(), cic2017_parquet_names(&published.cic2017));
    }
    for (name, t) in &out.columns {
        assert_eq!(t, &cic2017_type(name.trim_start()), "type of {name:?}");
    }
    // Arrow IPC: the same names.
    let (_dir, path) = extract_to(
        &connection(BASE1),
        false,
        "out.arrow",
        &["--profile", "cic2017"],
    );
    let reader = arrow::ipc::reader::FileReader::try_new(
        std::fs::File::open(&path).expect("open arrow output"),
        None,
    )
    .expect("arrow file");
    let arrow_names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(arrow_names, out.names());

    // cic2018 and cic: the same definitions in the same order, so the same
    // types position by position (cic2017 without its duplicate).
    let types_2017: Vec<DataType> = out
        .columns
        .iter()
        .filter(|(n, _)| n != " Fwd Header Length.1")
        .map(|(_, t)| t.clone())
        .collect();
    let out18 = extract(&connection(BASE1), "cic2018", &[]);
    if let Some(published) = &published {
        assert_eq!(out18.names(), published.cic2018);
    }
    let types_18: Vec<DataType> = out18.columns.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(types_18, types_2017);
    let cic = extract(&connection(BASE1), "cic", &[]);
    if let Some(published) = &published {
        assert_eq!(cic.names(), cic_names(&published.master));
    }
    let types_cic: Vec<DataType> = cic
        .columns
        .iter()
        .filter(|(n, _)| !CIC_EXTRAS.contains(&n.as_str()))
        .map(|(_, t)| t.clone())
        .collect();
    assert_eq!(types_cic, types_2017);
    // The extras: counts are Int64 (features.md: "Int64 for every count");
    // the header minimum and the ICMP fields integers.
    for (name, t) in &cic.columns {
        match name.as_str() {
            "Fwd RST Flags"
            | "Bwd RST Flags"
            | "Bwd Act Data Pkts"
            | "Fwd TCP Retrans. Count"
            | "Bwd TCP Retrans. Count"
            | "Total TCP Retrans. Count" => assert_eq!(t, &DataType::Int64, "{name}"),
            "Bwd Seg Size Min" | "ICMP Code" | "ICMP Type" => {
                assert!(t.is_signed_integer(), "{name}: {t}")
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Values of the fixed mode
// ---------------------------------------------------------------------------

#[test]
fn tcp_connection_every_cic2017_column() {
    let out = extract(&connection(BASE1), "cic2017", &[]);
    let row = out.only();
    let expected = connection_cic2017();
    check(row, &expected);
    // Every column has been checked.
    let checked: Vec<&str> = expected.iter().map(|(c, _)| *c).collect();
    let all: Vec<&str> = row.keys().map(String::as_str).collect();
    let mut sorted = checked.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, all, "columns checked vs written");
    assert_eq!(checked.len(), 85);
}

/// Three flows (the connection, a UDP flow, an ICMP echo) in each profile.
fn three_flows() -> Vec<Pkt> {
    let mut p = connection(BASE1);
    let a = (CLIENT, 5353);
    let b = (PEER, 53);
    p.push(udp(a, b, 30, 10 * MS));
    p.push(udp(b, a, 90, 11 * MS));
    p.push(icmp_echo(CLIENT, PEER, false, 32, 12 * MS));
    p.push(icmp_echo(PEER, CLIENT, true, 32, 14 * MS));
    p
}

#[test]
fn cic2018_and_cic_carry_the_cic2017_values_in_the_same_order() {
    let packets = three_flows();
    let v17 = extract(&packets, "cic2017", &[]);
    let v18 = extract(&packets, "cic2018", &[]);
    let vc = extract(&packets, "cic", &[]);
    assert_eq!(v17.cells.len(), 3);
    let dup = v17
        .names()
        .iter()
        .position(|n| *n == " Fwd Header Length.1")
        .expect("duplicate column");
    let first = v17
        .names()
        .iter()
        .position(|n| *n == " Fwd Header Length")
        .expect("Fwd Header Length");
    let extras: Vec<usize> = vc
        .names()
        .iter()
        .enumerate()
        .filter(|(_, n)| CIC_EXTRAS.contains(n))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(extras.len(), 9);
    let same = |a: &Val, b: &Val| match (a, b) {
        (Val::F(x), Val::F(y)) => close(*x, *y),
        _ => a == b,
    };
    for (i, row17) in v17.cells.iter().enumerate() {
        assert_eq!(
            row17[dup], row17[first],
            "Fwd Header Length.1 = Fwd Header Length"
        );
        let base: Vec<&Val> = row17
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != dup)
            .map(|(_, v)| v)
            .collect();
        let r18: Vec<&Val> = v18.cells[i].iter().collect();
        let rc: Vec<&Val> = vc.cells[i]
            .iter()
            .enumerate()
            .filter(|(j, _)| !extras.contains(j))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(base.len(), 84);
        for (j, v) in base.iter().enumerate() {
            assert!(
                same(v, r18[j]),
                "row {i}, {} = {v:?} but {} = {:?}",
                v17.names()[if j >= dup { j + 1 } else { j }],
                v18.names()[j],
                r18[j]
            );
            assert!(
                same(v, rc[j]),
                "row {i}, {} = {v:?} but {} = {:?}",
                v17.names()[if j >= dup { j + 1 } else { j }],
                vc.names()[j],
                rc[j]
            );
        }
    }
}

#[test]
fn cic_extra_columns_of_the_connection_udp_and_icmp_flows() {
    let out = extract(&three_flows(), "cic", &[]);
    use W::*;
    // The connection: no RST, one backward payload packet (6), backward headers
    // 28,20,20,20, no retransmission, not ICMP.
    check(
        out.row_where("Src Port", 40000),
        &[
            ("Fwd RST Flags", I(0)),
            ("Bwd RST Flags", I(0)),
            ("Fwd Act Data Pkts", I(2)),
            ("Bwd Act Data Pkts", I(1)),
            ("Fwd Seg Size Min", I(20)),
            ("Bwd Seg Size Min", I(20)),
            ("ICMP Code", I(-1)),
            ("ICMP Type", I(-1)),
            ("Fwd TCP Retrans. Count", I(0)),
            ("Bwd TCP Retrans. Count", I(0)),
            ("Total TCP Retrans. Count", I(0)),
            ("CWR Flag Count", I(1)),
            ("Total Fwd Packet", I(6)),
            ("Total Bwd packets", I(4)),
            ("FWD Init Win Bytes", I(64240)),
            ("Bwd Init Win Bytes", I(65160)),
        ],
    );
    // UDP 10.0.0.1:5353 -> 10.0.0.3:53: 30 bytes at 10 ms, 90 back at 11 ms.
    check(
        out.row_where("Src Port", 5353),
        &[
            ("Flow ID", S("10.0.0.1-10.0.0.3-5353-53-17")),
            ("Protocol", I(17)),
            ("Flow Duration", I(1000)),
            ("Total Length of Fwd Packet", I(30)),
            ("Total Length of Bwd Packet", I(90)),
            ("Fwd Header Length", I(8)),
            ("Bwd Header Length", I(8)),
            ("Fwd Seg Size Min", I(8)),
            ("Bwd Seg Size Min", I(8)),
            ("Fwd Act Data Pkts", I(1)),
            ("Bwd Act Data Pkts", I(1)),
            // no TCP packet in either direction
            ("FWD Init Win Bytes", I(-1)),
            ("Bwd Init Win Bytes", I(-1)),
            ("ICMP Code", I(-1)),
            ("ICMP Type", I(-1)),
            ("Fwd RST Flags", I(0)),
            ("Bwd RST Flags", I(0)),
            ("Total TCP Retrans. Count", I(0)),
            // 120 bytes / 0.001 s; 2 packets / 0.001 s
            ("Flow Bytes/s", F(120_000.0)),
            ("Flow Packets/s", F(2000.0)),
            ("Down/Up Ratio", F(1.0)),
        ],
    );
    // ICMP echo request 10.0.0.1 -> 10.0.0.3 (type 8 code 0) and its reply:
    // one flow, ports 0; header 8 and payload 32 each way.
    check(
        out.row_where("Protocol", 1),
        &[
            ("Flow ID", S("10.0.0.1-10.0.0.3-0-0-1")),
            ("Src IP", S("10.0.0.1")),
            ("Src Port", I(0)),
            ("Dst Port", I(0)),
            ("Timestamp", I(T0_US + 12 * MS)),
            ("Flow Duration", I(2000)),
            ("Total Fwd Packet", I(1)),
            ("Total Bwd packets", I(1)),
            ("Total Length of Fwd Packet", I(32)),
            ("Total Length of Bwd Packet", I(32)),
            ("Fwd Header Length", I(8)),
            ("Bwd Header Length", I(8)),
            ("ICMP Type", I(8)),
            ("ICMP Code", I(0)),
            ("FWD Init Win Bytes", I(-1)),
            ("Bwd Init Win Bytes", I(-1)),
            ("Fwd Seg Size Min", I(8)),
            ("Bwd Seg Size Min", I(8)),
            // 64 bytes / 0.002 s; 2 / 0.002; 1 / 0.002 each way
            ("Flow Bytes/s", F(32_000.0)),
            ("Flow Packets/s", F(1000.0)),
            ("Fwd Packets/s", F(500.0)),
            ("Bwd Packets/s", F(500.0)),
            // one IAT of 2000 (std of one value: 0); one packet per direction
            ("Flow IAT Mean", F(2000.0)),
            ("Flow IAT Std", F(0.0)),
            ("Flow IAT Max", F(2000.0)),
            ("Flow IAT Min", F(2000.0)),
            ("Fwd IAT Total", F(0.0)),
            ("Fwd IAT Mean", F(0.0)),
            ("Bwd IAT Total", F(0.0)),
            ("SYN Flag Count", I(0)),
            ("Label", S("NeedManualLabel")),
        ],
    );
}

#[test]
fn cic_rst_flags_and_retransmissions() {
    let c = (CLIENT, 40100);
    let s = (SERVER, 443);
    // | # | t   | dir | flags   | seq | hdr | payload | note                      |
    // | 1 | 0   | C→S | SYN     | 100 | 24  | 0       | end 101                   |
    // | 2 | 100 | S→C | SYN ACK | 900 | 24  | 0       | bwd end 901               |
    // | 3 | 200 | C→S | ACK     | 101 | 20  | 0       |                           |
    // | 4 | 300 | C→S | PSH ACK | 101 | 20  | 50      | end 151: new              |
    // | 5 | 400 | C→S | PSH ACK | 101 | 20  | 50      | end 151 <= 151: RETRANS   |
    // | 6 | 500 | S→C | PSH ACK | 901 | 20  | 20      | bwd end 921: new          |
    // | 7 | 600 | S→C | RST ACK | 921 | 20  | 0       | ends the flow             |
    let packets = vec![
        tcp(c, s, SYN).seq(100).win(29200).opts(&MSS).at(0),
        tcp(s, c, SYN | ACK).seq(900).win(28960).opts(&MSS).at(100),
        tcp(c, s, ACK).seq(101).win(229).at(200),
        tcp(c, s, PSH | ACK).seq(101).win(229).data(50).at(300),
        tcp(c, s, PSH | ACK).seq(101).win(229).data(50).at(400),
        tcp(s, c, PSH | ACK).seq(901).win(227).data(20).at(500),
        tcp(s, c, RST | ACK).seq(921).win(0).at(600),
    ];
    let out = extract(&packets, "cic", &[]);
    use W::*;
    check(
        out.only(),
        &[
            ("Flow Duration", I(600)),
            ("Total Fwd Packet", I(4)),
            ("Total Bwd packets", I(3)),
            ("Total Length of Fwd Packet", I(100)),
            ("Total Length of Bwd Packet", I(20)),
            // fwd 24 + 3 x 20 = 84; bwd 24 + 2 x 20 = 64
            ("Fwd Header Length", I(84)),
            ("Bwd Header Length", I(64)),
            ("RST Flag Count", I(1)),
            ("Fwd RST Flags", I(0)),
            ("Bwd RST Flags", I(1)),
            ("Fwd Act Data Pkts", I(2)),
            ("Bwd Act Data Pkts", I(1)),
            ("Fwd Seg Size Min", I(20)),
            ("Bwd Seg Size Min", I(20)),
            ("FWD Init Win Bytes", I(29200)),
            ("Bwd Init Win Bytes", I(28960)),
            ("Fwd TCP Retrans. Count", I(1)),
            ("Bwd TCP Retrans. Count", I(0)),
            ("Total TCP Retrans. Count", I(1)),
            ("ICMP Code", I(-1)),
            ("ICMP Type", I(-1)),
        ],
    );
}

// ---------------------------------------------------------------------------
// Bulks
// ---------------------------------------------------------------------------

const BA: Ep4 = (CLIENT, 5000);
const BB: Ep4 = (SERVER, 6000);

/// A UDP flow A→B (forward) / B→A (backward), times in ms:
///
/// | pkt | t ms | dir | bytes | fixed-mode bulk state                               |
/// |-----|------|-----|-------|-----------------------------------------------------|
/// | f1  | 0    | fwd | 100   | fwd candidate starts                                |
/// | f2  | 100  | fwd | 200   | 2                                                   |
/// | b0  | 150  | bwd | 0     | no payload: changes nothing                         |
/// | f3  | 200  | fwd | 300   | 3                                                   |
/// | f4  | 300  | fwd | 400   | 4: fwd bulk A (1000 B, 0..300 ms)                   |
/// | f5  | 400  | fwd | 500   | A grows: 5 packets, 1500 B, 400 ms                  |
/// | b1  | 500  | bwd | 10    | bwd candidate starts                                |
/// | b2  | 600  | bwd | 20    | 2                                                   |
/// | b3  | 700  | bwd | 30    | 3                                                   |
/// | b4  | 900  | bwd | 40    | 4: bwd bulk X: 4 packets, 100 B, 400 ms             |
/// | f6  | 2000 | fwd | 50    | new fwd candidate (gap 1.6 s, and b1..b4 came after A began) |
/// | f7  | 2100 | fwd | 60    | 2                                                   |
/// | f8  | 2200 | fwd | 70    | 3                                                   |
/// | f9  | 3300 | fwd | 80    | gap 1.1 s > 1 s: candidate restarts                 |
/// | f10 | 3400 | fwd | 90    | 2                                                   |
/// | f11 | 3500 | fwd | 110   | 3                                                   |
/// | f12 | 3600 | fwd | 120   | 4: fwd bulk B: 4 packets, 400 B, 300 ms             |
/// | b5  | 3700 | bwd | 5     | new bwd candidate                                   |
/// | f13 | 3800 | fwd | 130   | b5 came after B began: new fwd candidate (B stays 4)|
/// | f14 | 3900 | fwd | 140   | 2                                                   |
/// | f15 | 4000 | fwd | 150   | 3                                                   |
/// | b6  | 4050 | bwd | 7     | new bwd candidate (f13..f15 came after b5)          |
/// | f16 | 4100 | fwd | 160   | b6 in the middle: new candidate, 1                  |
/// | f17 | 4200 | fwd | 170   | 2                                                   |
/// | f18 | 4300 | fwd | 180   | 3: the flow ends, no more bulks                     |
fn bulk_packets() -> Vec<Pkt> {
    let f = |n: usize, ms: i64| udp(BA, BB, n, ms * MS);
    let b = |n: usize, ms: i64| udp(BB, BA, n, ms * MS);
    vec![
        f(100, 0),
        f(200, 100),
        b(0, 150),
        f(300, 200),
        f(400, 300),
        f(500, 400),
        b(10, 500),
        b(20, 600),
        b(30, 700),
        b(40, 900),
        f(50, 2000),
        f(60, 2100),
        f(70, 2200),
        f(80, 3300),
        f(90, 3400),
        f(110, 3500),
        f(120, 3600),
        b(5, 3700),
        f(130, 3800),
        f(140, 3900),
        f(150, 4000),
        b(7, 4050),
        f(160, 4100),
        f(170, 4200),
        f(180, 4300),
    ]
}

#[test]
fn bulks_per_direction() {
    let out = extract(&bulk_packets(), "cic2017", &[]);
    use W::*;
    check(
        out.only(),
        &[
            ("Total Fwd Packets", I(18)),
            ("Total Backward Packets", I(7)),
            // fwd bulks A (5 packets, 1500 B, 0.4 s) and B (4, 400 B, 0.3 s):
            // 1900 / 2 = 950 B, 9 / 2 = 4.5 packets, 1900 B / 0.7 s = 2714.2857
            ("Fwd Avg Bytes/Bulk", F(950.0)),
            ("Fwd Avg Packets/Bulk", F(4.5)),
            ("Fwd Avg Bulk Rate", F(1900.0 / 0.7)),
            // bwd bulk X: 100 B, 4 packets, 100 B / 0.4 s = 250
            ("Bwd Avg Bytes/Bulk", F(100.0)),
            ("Bwd Avg Packets/Bulk", F(4.0)),
            ("Bwd Avg Bulk Rate", F(250.0)),
        ],
    );
}

#[test]
fn four_payload_packets_within_one_second_make_a_bulk_three_do_not() {
    // Flow 1 (port 5101): fwd 10, 20, 30, 40 B at 0, 1, 2, 3 s: gaps of exactly
    // 1 s are "within 1 s", so one bulk of 4 packets, 100 B, 3 s: rate 33.333.
    // Flow 2 (port 5102): three fwd payload packets only: no bulk, all 0.
    let a1 = (CLIENT, 5101);
    let a2 = (CLIENT, 5102);
    let packets = vec![
        udp(a1, BB, 10, 0),
        udp(a1, BB, 20, SEC),
        udp(a1, BB, 30, 2 * SEC),
        udp(a1, BB, 40, 3 * SEC),
        udp(a2, BB, 10, 0),
        udp(a2, BB, 20, 100 * MS),
        udp(a2, BB, 30, 200 * MS),
    ];
    let out = extract(&packets, "cic2017", &[]);
    use W::*;
    check(
        out.row_where("Source Port", 5101),
        &[
            ("Fwd Avg Bytes/Bulk", F(100.0)),
            ("Fwd Avg Packets/Bulk", F(4.0)),
            ("Fwd Avg Bulk Rate", F(100.0 / 3.0)),
            ("Bwd Avg Bytes/Bulk", F(0.0)),
            ("Bwd Avg Packets/Bulk", F(0.0)),
            ("Bwd Avg Bulk Rate", F(0.0)),
            // gaps of exactly 1 s do not split subflows either
            ("Subflow Fwd Packets", F(4.0)),
        ],
    );
    check(
        out.row_where("Source Port", 5102),
        &[
            ("Fwd Avg Bytes/Bulk", F(0.0)),
            ("Fwd Avg Packets/Bulk", F(0.0)),
            ("Fwd Avg Bulk Rate", F(0.0)),
        ],
    );
}

// ---------------------------------------------------------------------------
// Subflows
// ---------------------------------------------------------------------------

/// Flow 1 (A port 5201 ↔ B): times in s, bytes:
/// p1 0.0 fwd 10; p2 0.5 bwd 20; p3 1.5 fwd 30 (gap exactly 1 s: no split);
/// p4 3.0 fwd 40 (gap 1.5 s: split); p5 3.2 bwd 50; p6 5.0 fwd 60 (gap 1.8 s:
/// split); p7 5.1 fwd 70.
/// Two gaps over 1 s: 3 subflows. fwd 5 packets, 210 B; bwd 2 packets, 70 B.
///
/// Flow 2 (A port 5202 ↔ B), no gap: fwd 5 B at 0, 0.1, 0.2 s; bwd 7 B at 0.3 s.
fn subflow_packets() -> Vec<Pkt> {
    let a = (CLIENT, 5201);
    let a2 = (CLIENT, 5202);
    vec![
        udp(a, BB, 10, 0),
        udp(BB, a, 20, 500 * MS),
        udp(a, BB, 30, 1500 * MS),
        udp(a, BB, 40, 3000 * MS),
        udp(BB, a, 50, 3200 * MS),
        udp(a, BB, 60, 5000 * MS),
        udp(a, BB, 70, 5100 * MS),
        udp(a2, BB, 5, 10 * SEC),
        udp(a2, BB, 5, 10 * SEC + 100 * MS),
        udp(a2, BB, 5, 10 * SEC + 200 * MS),
        udp(BB, a2, 7, 10 * SEC + 300 * MS),
    ]
}

#[test]
fn subflows_split_at_gaps_over_one_second() {
    let out = extract(&subflow_packets(), "cic2017", &[]);
    use W::*;
    check(
        out.row_where("Source Port", 5201),
        &[
            ("Total Fwd Packets", I(5)),
            ("Total Backward Packets", I(2)),
            // totals / 3
            ("Subflow Fwd Packets", F(5.0 / 3.0)),
            ("Subflow Fwd Bytes", F(70.0)),
            ("Subflow Bwd Packets", F(2.0 / 3.0)),
            ("Subflow Bwd Bytes", F(70.0 / 3.0)),
        ],
    );
    check(
        out.row_where("Source Port", 5202),
        &[
            ("Subflow Fwd Packets", F(3.0)),
            ("Subflow Fwd Bytes", F(15.0)),
            ("Subflow Bwd Packets", F(1.0)),
            ("Subflow Bwd Bytes", F(7.0)),
        ],
    );
}

// ---------------------------------------------------------------------------
// One-packet flows, UDP, ICMP, a lone SYN, a lone SYN+ACK
// ---------------------------------------------------------------------------

#[test]
fn one_packet_flows_have_zero_statistics_and_null_rates() {
    let u = (CLIENT, 5300);
    let d = (PEER, 9999);
    let syn_c = (CLIENT, 40200);
    let syn_s = (SERVER, 22);
    let packets = vec![
        // UDP, 20 bytes of payload
        udp(u, d, 20, 0),
        // a lone SYN with MSS (header 24), window 1024
        tcp(syn_c, syn_s, SYN).seq(7).win(1024).opts(&MSS).at(SEC),
        // a lone SYN+ACK 10.0.0.2:23 -> 10.0.0.1:40201: the flow is turned
        // around, its only packet is backward
        tcp((SERVER, 23), (CLIENT, 40201), SYN | ACK)
            .seq(9)
            .win(4096)
            .opts(&MSS)
            .at(2 * SEC),
        // an ICMP echo request alone
        icmp_echo(CLIENT, PEER, false, 16, 3 * SEC),
    ];
    let out = extract(&packets, "cic", &[]);
    use W::*;
    // Columns that are 0 for every one-packet flow: no IAT, one packet per
    // direction at most (std 0), no bulk, no active period of positive length.
    let zeros: Vec<(&str, W)> = [
        "Flow IAT Mean",
        "Flow IAT Std",
        "Flow IAT Max",
        "Flow IAT Min",
        "Fwd IAT Total",
        "Fwd IAT Mean",
        "Fwd IAT Std",
        "Fwd IAT Max",
        "Fwd IAT Min",
        "Bwd IAT Total",
        "Bwd IAT Mean",
        "Bwd IAT Std",
        "Bwd IAT Max",
        "Bwd IAT Min",
        "Fwd Packet Length Std",
        "Bwd Packet Length Std",
        "Packet Length Std",
        "Packet Length Variance",
        "Fwd Bytes/Bulk Avg",
        "Fwd Packet/Bulk Avg",
        "Fwd Bulk Rate Avg",
        "Bwd Bytes/Bulk Avg",
        "Bwd Packet/Bulk Avg",
        "Bwd Bulk Rate Avg",
        "Active Mean",
        "Active Std",
        "Active Max",
        "Active Min",
        "Idle Mean",
        "Idle Std",
        "Idle Max",
        "Idle Min",
    ]
    .iter()
    .map(|c| (*c, F(0.0)))
    .collect();
    let nulls = [
        ("Flow Duration", I(0)),
        ("Flow Bytes/s", N),
        ("Flow Packets/s", N),
        ("Fwd Packets/s", N),
        ("Bwd Packets/s", N),
    ];
    for port in [5300, 40200, 40201] {
        let row = out.row_where("Src Port", port);
        check(row, &zeros);
        check(row, &nulls);
    }
    check(
        out.row_where("Src Port", 5300),
        &[
            ("Flow ID", S("10.0.0.1-10.0.0.3-5300-9999-17")),
            ("Total Fwd Packet", I(1)),
            ("Total Bwd packets", I(0)),
            ("Total Length of Fwd Packet", I(20)),
            ("Fwd Packet Length Max", F(20.0)),
            ("Fwd Packet Length Min", F(20.0)),
            ("Fwd Packet Length Mean", F(20.0)),
            // an empty backward direction: 0
            ("Bwd Packet Length Max", F(0.0)),
            ("Bwd Packet Length Min", F(0.0)),
            ("Bwd Packet Length Mean", F(0.0)),
            ("Packet Length Min", F(20.0)),
            ("Packet Length Max", F(20.0)),
            ("Packet Length Mean", F(20.0)),
            ("Average Packet Size", F(20.0)),
            ("Fwd Segment Size Avg", F(20.0)),
            ("Bwd Segment Size Avg", F(0.0)),
            ("Fwd Header Length", I(8)),
            ("Bwd Header Length", I(0)),
            // 0 / 1
            ("Down/Up Ratio", F(0.0)),
            ("Subflow Fwd Packets", F(1.0)),
            ("Subflow Fwd Bytes", F(20.0)),
            ("Subflow Bwd Packets", F(0.0)),
            ("Subflow Bwd Bytes", F(0.0)),
            ("FWD Init Win Bytes", I(-1)),
            ("Bwd Init Win Bytes", I(-1)),
            ("Fwd Act Data Pkts", I(1)),
            ("Bwd Act Data Pkts", I(0)),
            ("Fwd Seg Size Min", I(8)),
            ("Bwd Seg Size Min", I(0)),
            ("ICMP Code", I(-1)),
            ("ICMP Type", I(-1)),
        ],
    );
    check(
        out.row_where("Src Port", 40200),
        &[
            ("Flow ID", S("10.0.0.1-10.0.0.2-40200-22-6")),
            ("SYN Flag Count", I(1)),
            ("Fwd Header Length", I(24)),
            ("FWD Init Win Bytes", I(1024)),
            // the server sent no TCP packet
            ("Bwd Init Win Bytes", I(-1)),
            ("Fwd Seg Size Min", I(24)),
            ("Fwd Act Data Pkts", I(0)),
            ("Down/Up Ratio", F(0.0)),
        ],
    );
    // Turned around: src is the client 10.0.0.1:40201; no forward packet.
    check(
        out.row_where("Src Port", 40201),
        &[
            ("Flow ID", S("10.0.0.1-10.0.0.2-40201-23-6")),
            ("Src IP", S("10.0.0.1")),
            ("Dst Port", I(23)),
            ("Total Fwd Packet", I(0)),
            ("Total Bwd packets", I(1)),
            ("Bwd Header Length", I(24)),
            ("Fwd Header Length", I(0)),
            ("FWD Init Win Bytes", I(-1)),
            ("Bwd Init Win Bytes", I(4096)),
            // 0 without forward packets
            ("Fwd Seg Size Min", I(0)),
            ("Bwd Seg Size Min", I(24)),
            ("Fwd Packet Length Max", F(0.0)),
            ("Fwd Packet Length Mean", F(0.0)),
            ("Fwd Segment Size Avg", F(0.0)),
            // no forward packet: null
            ("Down/Up Ratio", N),
        ],
    );
    check(
        out.row_where("Protocol", 1),
        &[
            ("Flow ID", S("10.0.0.1-10.0.0.3-0-0-1")),
            ("ICMP Type", I(8)),
            ("ICMP Code", I(0)),
            ("Total Length of Fwd Packet", I(16)),
            ("Fwd Header Length", I(8)),
            ("FWD Init Win Bytes", I(-1)),
            ("Bwd Init Win Bytes", I(-1)),
            ("Flow Bytes/s", N),
            ("Flow Packets/s", N),
        ],
    );
}

// ---------------------------------------------------------------------------
// Timestamp text, timeouts
// ---------------------------------------------------------------------------

#[test]
fn cic_timestamp_original_is_cicflowmeters_text_in_utc() {
    // One-packet UDP flows (ports 5401..5404) at:
    //   T0                          2023-11-14 22:13:20     -> 14/11/2023 10:13:20 PM
    //   T0 + 6400 s                 2023-11-15 00:00:00     -> 15/11/2023 12:00:00 AM
    //   T0 + 6400 s + 12 h + 0.999999 s  2023-11-15 12:00:00.999999 -> 15/11/2023 12:00:00 PM
    //   T0 + 6400 s + 13 h + 5 s    2023-11-15 13:00:05     -> 15/11/2023 01:00:05 PM
    let day2 = 6400 * SEC;
    let packets = vec![
        udp((CLIENT, 5401), BB, 1, 0),
        udp((CLIENT, 5402), BB, 1, day2),
        udp((CLIENT, 5403), BB, 1, day2 + 12 * 3600 * SEC + 999_999),
        udp((CLIENT, 5404), BB, 1, day2 + 13 * 3600 * SEC + 5 * SEC),
    ];
    let want = [
        (5401, "14/11/2023 10:13:20 PM"),
        (5402, "15/11/2023 12:00:00 AM"),
        (5403, "15/11/2023 12:00:00 PM"),
        (5404, "15/11/2023 01:00:05 PM"),
    ];
    for (profile, port_col) in [("cic2017", "Source Port"), ("cic", "Src Port")] {
        let out = extract(&packets, profile, &["--cic-timestamp", "original"]);
        let ts_type = &out
            .columns
            .iter()
            .find(|(n, _)| n.trim_start() == "Timestamp")
            .expect("Timestamp column")
            .1;
        assert_eq!(ts_type, &DataType::Utf8, "{profile}");
        for (port, text) in want {
            check(out.row_where(port_col, port), &[("Timestamp", W::S(text))]);
        }
    }
    // In CSV the same text (no quoting needed: it has no comma).
    let text = extract_csv_text(&packets[..1], "cic2017", &["--cic-timestamp", "original"]);
    let row = text.lines().nth(1).expect("a row");
    assert_eq!(
        row.split(',').nth(6),
        Some("14/11/2023 10:13:20 PM"),
        "{row}"
    );
    // Without the option: the UTC microsecond timestamp.
    let out = extract(&packets, "cic2017", &[]);
    check(
        out.row_where("Source Port", 5403),
        &[("Timestamp", W::I(T0_US + day2 + 12 * 3600 * SEC + 999_999))],
    );
}

#[test]
fn cic_profiles_default_the_active_timeout_to_120_seconds() {
    // UDP packets every 10 s from 0 to 130 s (14 packets, 10 B each), never idle
    // for 120 s. The packet at 120 s is not *more* than 120 s after the first
    // and stays; the one at 130 s starts a new flow.
    let a = (CLIENT, 5500);
    let packets: Vec<Pkt> = (0..14).map(|i| udp(a, BB, 10, i * 10 * SEC)).collect();
    use W::*;
    let out = extract(&packets, "cic2017", &[]);
    assert_eq!(out.rows.len(), 2, "{:#?}", out.rows);
    check(
        out.row_where("Timestamp", T0_US),
        &[
            ("Total Fwd Packets", I(13)),
            ("Flow Duration", I(120 * SEC)),
        ],
    );
    check(
        out.row_where("Timestamp", T0_US + 130 * SEC),
        &[("Total Fwd Packets", I(1)), ("Flow Duration", I(0))],
    );
    for profile in ["cic2018", "cic"] {
        assert_eq!(extract(&packets, profile, &[]).rows.len(), 2, "{profile}");
    }
    // --active-timeout 0 disables it: one flow of 14 packets over 130 s.
    let out = extract(&packets, "cic2017", &["--active-timeout", "0"]);
    check(
        out.only(),
        &[
            ("Total Fwd Packets", I(14)),
            ("Flow Duration", I(130 * SEC)),
        ],
    );
    // An explicit value still wins: 60 s gives 0..60 (7 packets) and 70..130
    // (7 packets: 130 is 60 s after 70, not more).
    let out = extract(&packets, "cic2017", &["--active-timeout", "60"]);
    assert_eq!(out.rows.len(), 2, "{:#?}", out.rows);
    check(
        out.row_where("Timestamp", T0_US + 70 * SEC),
        &[("Total Fwd Packets", I(7)), ("Flow Duration", I(60 * SEC))],
    );
    // The standard profile keeps its 1800 s default: one flow.
    let (_dir, output) = extract_to(&packets, false, "standard.parquet", &[]);
    assert_eq!(read_parquet(&output).rows.len(), 1);
}

#[test]
fn iat_of_a_packet_stamped_before_its_predecessor_is_zero() {
    // UDP, capture order: fwd 0, fwd 1000, fwd 800 (stamped earlier), bwd 1500,
    // fwd 2000 µs.
    let a = (CLIENT, 6201);
    let packets = vec![
        udp(a, BB, 1, 0),
        udp(a, BB, 1, 1000),
        udp(a, BB, 1, 800),
        udp(BB, a, 1, 1500),
        udp(a, BB, 1, 2000),
    ];
    use W::*;
    check(
        extract(&packets, "cic2017", &[]).only(),
        &[
            ("Flow Duration", I(2000)),
            // flow: 1000, 0 (backwards step), 700 (1500 - 800), 500: sum 2200,
            // mean 550; deviations 450, -550, 150, -50: 530 000; / 3
            ("Flow IAT Mean", F(550.0)),
            ("Flow IAT Std", F((530_000.0f64 / 3.0).sqrt())),
            ("Flow IAT Max", F(1000.0)),
            ("Flow IAT Min", F(0.0)),
            // fwd: 1000, 0, 1200 (2000 - 800): sum 2200, mean 733.33; sum of
            // squares 2 440 000 - 2200^2 / 3 = 826 666.67; / 2
            ("Fwd IAT Total", F(2200.0)),
            ("Fwd IAT Mean", F(2200.0 / 3.0)),
            (
                "Fwd IAT Std",
                F(((2_440_000.0 - 2200.0f64.powi(2) / 3.0) / 2.0).sqrt()),
            ),
            ("Fwd IAT Max", F(1200.0)),
            ("Fwd IAT Min", F(0.0)),
            ("Bwd IAT Total", F(0.0)),
        ],
    );
}

#[test]
fn nanosecond_capture_floors_the_duration_to_microseconds() {
    // Packets at T0 + 999 ns and T0 + 1 501 500 ns: last - first =
    // 1 500 501 ns = 1500.501 µs, floored 1500. Timestamp: T0 (truncated).
    let a = (CLIENT, 6301);
    let frame = |from, to| eth(&ip4_udp(from, to, &[1, 2, 3]));
    let packets = vec![
        Pkt::at_ns(T0_US * 1000 + 999, frame(a, BB)),
        Pkt::at_ns(T0_US * 1000 + 1_501_500, frame(BB, a)),
    ];
    let (_dir, output) = extract_to(&packets, true, "out.parquet", &["--profile", "cic2017"]);
    use W::*;
    check(
        read_parquet(&output).only(),
        &[("Timestamp", I(T0_US)), ("Flow Duration", I(1500))],
    );
}

#[test]
fn ipv6_flow_id_and_icmpv6_type_and_code() {
    let a6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let b6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let echo6 = |from: [u8; 16], to: [u8; 16], reply: bool, us: i64| {
        let b = PacketBuilder::ipv6(from, to, 64);
        let b = if reply {
            b.icmpv6_echo_reply(9, 1)
        } else {
            b.icmpv6_echo_request(9, 1)
        };
        let mut out = Vec::new();
        b.write(&mut out, &[0x64; 8]).expect("build icmpv6");
        Pkt::new(T0_US + us, eth(&out))
    };
    let packets = vec![
        Pkt::new(T0_US, eth(&ip6_udp((a6, 1000), (b6, 2000), &[0; 12]))),
        Pkt::new(T0_US + 100, eth(&ip6_udp((b6, 2000), (a6, 1000), &[0; 4]))),
        echo6(a6, b6, false, MS),
        echo6(b6, a6, true, 2 * MS),
    ];
    let out = extract(&packets, "cic", &[]);
    use W::*;
    check(
        out.row_where("Protocol", 17),
        &[
            ("Flow ID", S("2001:db8::1-2001:db8::2-1000-2000-17")),
            ("Src IP", S("2001:db8::1")),
            ("Dst IP", S("2001:db8::2")),
            ("Total Length of Fwd Packet", I(12)),
            ("Total Length of Bwd Packet", I(4)),
            ("Fwd Header Length", I(8)),
            ("ICMP Type", I(-1)),
            ("ICMP Code", I(-1)),
        ],
    );
    // Echo request: ICMPv6 type 128, code 0; header 8, data 8.
    check(
        out.row_where("Protocol", 58),
        &[
            ("Flow ID", S("2001:db8::1-2001:db8::2-0-0-58")),
            ("ICMP Type", I(128)),
            ("ICMP Code", I(0)),
            ("Total Fwd Packet", I(1)),
            ("Total Bwd packets", I(1)),
            ("Total Length of Fwd Packet", I(8)),
            ("Fwd Header Length", I(8)),
            ("Bwd Header Length", I(8)),
        ],
    );
}

// ---------------------------------------------------------------------------
// CICFlowMeter's bugs: corrected by default, reproduced with --cic-compat bugs
// (one test per row of the table in docs/cic.md)
// ---------------------------------------------------------------------------

#[test]
fn bug_forward_bulk() {
    use W::*;
    // Default: per-direction bulks, real averages (see bulk_packets).
    check(
        extract(&bulk_packets(), "cic2017", &[]).only(),
        &[
            ("Fwd Avg Bytes/Bulk", F(950.0)),
            ("Fwd Avg Packets/Bulk", F(4.5)),
            ("Fwd Avg Bulk Rate", F(1900.0 / 0.7)),
            ("Bwd Avg Bytes/Bulk", F(100.0)),
            ("Bwd Avg Packets/Bulk", F(4.0)),
            ("Bwd Avg Bulk Rate", F(250.0)),
        ],
    );
    // Bugs: every packet goes to the backward state, and the other direction's
    // last bulk time is never set, so nothing resets the candidate but a gap
    // over 1 s. The payload packets in capture order (b0 has none):
    //   run 1, 0..900 ms: f1..f5, b1..b4: 9 packets, 1500 + 100 = 1600 B, 0.9 s
    //   gap 1.1 s; run 2, 2000..2200: f6..f8, 3 packets: no bulk
    //   gap 1.1 s; run 3, 3300..4300: f9..f12, b5, f13..f15, b6, f16..f18:
    //     12 packets, 400 + 5 + 420 + 7 + 510 = 1342 B, 1.0 s
    // Two bulks: 2942 B, 21 packets, 1.9 s. Integer arithmetic:
    // 2942 / 2 = 1471; 21 / 2 = 10 (not 10.5); (long)(2942 / 1.9) = (long)1548.42 = 1548.
    check(
        extract(&bulk_packets(), "cic2017", BUGS).only(),
        &[
            ("Fwd Avg Bytes/Bulk", F(0.0)),
            ("Fwd Avg Packets/Bulk", F(0.0)),
            ("Fwd Avg Bulk Rate", F(0.0)),
            ("Bwd Avg Bytes/Bulk", F(1471.0)),
            ("Bwd Avg Packets/Bulk", F(10.0)),
            ("Bwd Avg Bulk Rate", F(1548.0)),
        ],
    );
}

/// A TCP flow seen mid-stream (no handshake), 10.0.0.1:40300 <-> 10.0.0.2:8080:
///
/// | # | t   | dir | flags       | payload |
/// | 1 | 0   | C→S | PSH ACK URG | 10      |
/// | 2 | 100 | S→C | PSH ACK     | 20      |
/// | 3 | 200 | C→S | PSH ACK     | 30      |
/// | 4 | 300 | S→C | PSH ACK URG | 40      |
/// | 5 | 400 | C→S | ACK URG     | 0       |
fn psh_urg_packets() -> Vec<Pkt> {
    let c = (CLIENT, 40300);
    let s = (SERVER, 8080);
    let mut p = vec![
        tcp(c, s, PSH | ACK | URG).seq(1).data(10).at(0),
        tcp(s, c, PSH | ACK).seq(1).data(20).at(100),
        tcp(c, s, PSH | ACK).seq(11).data(30).at(200),
        tcp(s, c, PSH | ACK | URG).seq(21).data(40).at(300),
        tcp(c, s, ACK | URG).seq(41).at(400),
    ];
    p.extend(connection(10 * MS));
    p
}

#[test]
fn bug_psh_urg_first_packet_only() {
    use W::*;
    let fixed = extract(&psh_urg_packets(), "cic2017", &[]);
    let bugs = extract(&psh_urg_packets(), "cic2017", BUGS);
    // Default: PSH fwd 1,3 and bwd 2,4; URG fwd 1,5 and bwd 4.
    check(
        fixed.row_where("Source Port", 40300),
        &[
            ("Fwd PSH Flags", I(2)),
            ("Bwd PSH Flags", I(2)),
            ("Fwd URG Flags", I(2)),
            ("Bwd URG Flags", I(1)),
            ("PSH Flag Count", I(4)),
            ("URG Flag Count", I(3)),
        ],
    );
    // Bugs: only the first packet (forward, PSH and URG) counts; the flow-wide
    // flag counts are not affected.
    check(
        bugs.row_where("Source Port", 40300),
        &[
            ("Fwd PSH Flags", I(1)),
            ("Bwd PSH Flags", I(0)),
            ("Fwd URG Flags", I(1)),
            ("Bwd URG Flags", I(0)),
            ("PSH Flag Count", I(4)),
            ("URG Flag Count", I(3)),
        ],
    );
    // The connection: PSH fwd 4,7, bwd 6; URG fwd 7. Its first packet is a SYN
    // without PSH or URG, so with the bug all four are 0.
    check(
        fixed.row_where("Source Port", 40000),
        &[
            ("Fwd PSH Flags", I(2)),
            ("Bwd PSH Flags", I(1)),
            ("Fwd URG Flags", I(1)),
            ("Bwd URG Flags", I(0)),
        ],
    );
    check(
        bugs.row_where("Source Port", 40000),
        &[
            ("Fwd PSH Flags", I(0)),
            ("Bwd PSH Flags", I(0)),
            ("Fwd URG Flags", I(0)),
            ("Bwd URG Flags", I(0)),
            ("PSH Flag Count", I(3)),
            ("URG Flag Count", I(1)),
        ],
    );
}

#[test]
fn bug_backward_window_last_packet() {
    use W::*;
    // Backward windows of the connection: 65160 (SYN+ACK), 510, 509, 508 (FIN).
    check(
        extract(&connection(BASE1), "cic2017", &[]).only(),
        &[
            ("Init_Win_bytes_forward", I(64240)),
            ("Init_Win_bytes_backward", I(65160)),
        ],
    );
    check(
        extract(&connection(BASE1), "cic2017", BUGS).only(),
        &[
            ("Init_Win_bytes_forward", I(64240)),
            ("Init_Win_bytes_backward", I(508)),
        ],
    );
}

#[test]
fn bug_down_up_integer() {
    // Flow 5601: fwd 2, bwd 3 -> 1.5 (bug: floor(3 / 2) = 1).
    // Flow 5602: fwd 3, bwd 2 -> 0.6667 (bug: floor(2 / 3) = 0).
    let a1 = (CLIENT, 5601);
    let a2 = (CLIENT, 5602);
    let packets = vec![
        udp(a1, BB, 1, 0),
        udp(BB, a1, 1, 100),
        udp(BB, a1, 1, 200),
        udp(a1, BB, 1, 300),
        udp(BB, a1, 1, 400),
        udp(a2, BB, 1, 0),
        udp(BB, a2, 1, 100),
        udp(a2, BB, 1, 200),
        udp(BB, a2, 1, 300),
        udp(a2, BB, 1, 400),
    ];
    use W::*;
    let fixed = extract(&packets, "cic2017", &[]);
    check(
        fixed.row_where("Source Port", 5601),
        &[("Down/Up Ratio", F(1.5))],
    );
    check(
        fixed.row_where("Source Port", 5602),
        &[("Down/Up Ratio", F(2.0 / 3.0))],
    );
    let bugs = extract(&packets, "cic2017", BUGS);
    check(
        bugs.row_where("Source Port", 5601),
        &[("Down/Up Ratio", F(1.0))],
    );
    check(
        bugs.row_where("Source Port", 5602),
        &[("Down/Up Ratio", F(0.0))],
    );
}

#[test]
fn bug_first_packet_counted_twice() {
    // fwd 90 B at 0, bwd 10 B at 1 ms, fwd 20 B at 2 ms.
    let a = (CLIENT, 5701);
    let packets = vec![
        udp(a, BB, 90, 0),
        udp(BB, a, 10, MS),
        udp(a, BB, 20, 2 * MS),
    ];
    use W::*;
    // Default: 90, 10, 20: mean 40; deviations 50, -30, -20: 3800; variance
    // 3800 / 2 = 1900; average packet size 120 / 3 = 40.
    check(
        extract(&packets, "cic2017", &[]).only(),
        &[
            ("Min Packet Length", F(10.0)),
            ("Max Packet Length", F(90.0)),
            ("Packet Length Mean", F(40.0)),
            ("Packet Length Std", F(1900.0f64.sqrt())),
            ("Packet Length Variance", F(1900.0)),
            ("Average Packet Size", F(40.0)),
            ("Fwd Packet Length Mean", F(55.0)),
            ("Total Length of Fwd Packets", I(110)),
        ],
    );
    // Bugs: 90, 90, 10, 20: mean 210 / 4 = 52.5; deviations 37.5, 37.5, -42.5,
    // -32.5: 1406.25 x 2 + 1806.25 + 1056.25 = 5675; variance 5675 / 3 =
    // 1891.67; average packet size 210 / 3 packets = 70. The per-direction
    // statistics are not affected.
    check(
        extract(&packets, "cic2017", BUGS).only(),
        &[
            ("Min Packet Length", F(10.0)),
            ("Max Packet Length", F(90.0)),
            ("Packet Length Mean", F(52.5)),
            ("Packet Length Std", F((5675.0f64 / 3.0).sqrt())),
            ("Packet Length Variance", F(5675.0 / 3.0)),
            ("Average Packet Size", F(70.0)),
            ("Fwd Packet Length Mean", F(55.0)),
            ("Total Length of Fwd Packets", I(110)),
        ],
    );
}

#[test]
fn bug_single_packet_flows_dropped() {
    // A one-packet UDP flow (5801), a lone ICMP echo request, and a two-packet
    // UDP flow (5802).
    let packets = vec![
        udp((CLIENT, 5801), BB, 5, 0),
        icmp_echo(CLIENT, PEER, false, 8, MS),
        udp((CLIENT, 5802), BB, 5, 2 * MS),
        udp(BB, (CLIENT, 5802), 5, 3 * MS),
    ];
    let fixed = extract(&packets, "cic2017", &[]);
    assert_eq!(fixed.rows.len(), 3, "{:#?}", fixed.rows);
    assert!(fixed.any_where("Source Port", 5801));
    assert!(fixed.any_where("Protocol", 1));
    let bugs = extract(&packets, "cic2017", BUGS);
    assert_eq!(bugs.rows.len(), 1, "{:#?}", bugs.rows);
    check(
        bugs.only(),
        &[
            ("Source Port", W::I(5802)),
            ("Total Backward Packets", W::I(1)),
        ],
    );
}

#[test]
fn bug_zero_duration_rates() {
    // Flow 5901: two forward datagrams of 10 B at the same instant.
    // Flow 5902: a 0-byte datagram each way at the same instant.
    let a1 = (CLIENT, 5901);
    let a2 = (CLIENT, 5902);
    // Flow 5903: two forward datagrams of 10 B 0.5 s apart: 40 B/s, 4 packets/s,
    // 4 forward packets/s and 0 backward, in both modes.
    let a3 = (CLIENT, 5903);
    let packets = vec![
        udp(a1, BB, 10, 0),
        udp(a1, BB, 10, 0),
        udp(a2, BB, 0, MS),
        udp(BB, a2, 0, MS),
        udp(a3, BB, 10, 2 * MS),
        udp(a3, BB, 10, 2 * MS + 500 * MS),
    ];
    let with_duration = [
        ("Flow Duration", W::I(500 * MS)),
        ("Flow Bytes/s", W::F(40.0)),
        ("Flow Packets/s", W::F(4.0)),
        ("Fwd Packets/s", W::F(4.0)),
        ("Bwd Packets/s", W::F(0.0)),
    ];
    use W::*;
    let fixed = extract(&packets, "cic2017", &[]);
    for port in [5901, 5902] {
        check(
            fixed.row_where("Source Port", port),
            &[
                ("Flow Duration", I(0)),
                ("Flow Bytes/s", N),
                ("Flow Packets/s", N),
                ("Fwd Packets/s", N),
                ("Bwd Packets/s", N),
            ],
        );
    }
    check(fixed.row_where("Source Port", 5903), &with_duration);
    // Bugs: 20 B / 0 s = Infinity, 2 / 0 = Infinity; 0 B / 0 s = NaN; the
    // per-direction rates 0.
    let bugs = extract(&packets, "cic2017", BUGS);
    check(bugs.row_where("Source Port", 5903), &with_duration);
    check(
        bugs.row_where("Source Port", 5901),
        &[
            ("Flow Duration", I(0)),
            ("Flow Bytes/s", Inf),
            ("Flow Packets/s", Inf),
            ("Fwd Packets/s", F(0.0)),
            ("Bwd Packets/s", F(0.0)),
        ],
    );
    check(
        bugs.row_where("Source Port", 5902),
        &[
            ("Flow Duration", I(0)),
            ("Flow Bytes/s", NaN),
            ("Flow Packets/s", Inf),
            ("Fwd Packets/s", F(0.0)),
            ("Bwd Packets/s", F(0.0)),
        ],
    );
}

/// In CSV, `--cic-compat bugs` spells the zero-duration rates as
/// CICFlowMeter did (Java's `Double.toString`) and CIC-IDS2017's files have
/// them: `Infinity` and `NaN`, not Arrow's `inf`. Finite rates are written as
/// without the option; the default mode writes nulls (empty fields).
#[test]
fn bug_zero_duration_rates_in_csv_read_as_in_cic_ids2017() {
    let packets = vec![
        udp((CLIENT, 5901), BB, 10, 0),
        udp((CLIENT, 5901), BB, 10, 0),
        udp((CLIENT, 5902), BB, 0, MS),
        udp(BB, (CLIENT, 5902), 0, MS),
        udp((CLIENT, 5903), BB, 10, 2 * MS),
        udp((CLIENT, 5903), BB, 10, 2 * MS + 500 * MS),
    ];
    // Source port -> (Flow Bytes/s, Flow Packets/s), as text.
    let rates = |text: &str| -> std::collections::BTreeMap<String, (String, String)> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        // CIC-IDS2017's header has a space before most names.
        let at = |name: &str| header.iter().position(|h| h.trim() == name).unwrap();
        let (port, bytes, pkts) = (at("Source Port"), at("Flow Bytes/s"), at("Flow Packets/s"));
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (
                    r[port].to_string(),
                    (r[bytes].to_string(), r[pkts].to_string()),
                )
            })
            .collect()
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    let bugs = rates(&extract_csv_text(&packets, "cic2017", BUGS));
    assert_eq!(bugs["5901"], pair("Infinity", "Infinity"), "{bugs:?}");
    assert_eq!(bugs["5902"], pair("NaN", "Infinity"), "{bugs:?}");
    assert_eq!(bugs["5903"], pair("40.0", "4.0"), "{bugs:?}");
    let fixed = rates(&extract_csv_text(&packets, "cic2017", &[]));
    assert_eq!(fixed["5901"], pair("", ""), "{fixed:?}");
    assert_eq!(fixed["5903"], pair("40.0", "4.0"), "{fixed:?}");
}

#[test]
fn bug_subflow_count() {
    use W::*;
    // Default: see subflows_split_at_gaps_over_one_second.
    let fixed = extract(&subflow_packets(), "cic2017", &[]);
    check(
        fixed.row_where("Source Port", 5201),
        &[
            ("Subflow Fwd Packets", F(5.0 / 3.0)),
            ("Subflow Fwd Bytes", F(70.0)),
            ("Subflow Bwd Packets", F(2.0 / 3.0)),
            ("Subflow Bwd Bytes", F(70.0 / 3.0)),
        ],
    );
    check(
        fixed.row_where("Source Port", 5202),
        &[
            ("Subflow Fwd Packets", F(3.0)),
            ("Subflow Fwd Bytes", F(15.0)),
            ("Subflow Bwd Packets", F(1.0)),
            ("Subflow Bwd Bytes", F(7.0)),
        ],
    );
    // Bugs: the count is the 2 gaps: 5 / 2 = 2, 210 / 2 = 105, 2 / 2 = 1,
    // 70 / 2 = 35 (integer division); without a gap everything is 0.
    let bugs = extract(&subflow_packets(), "cic2017", BUGS);
    check(
        bugs.row_where("Source Port", 5201),
        &[
            ("Subflow Fwd Packets", F(2.0)),
            ("Subflow Fwd Bytes", F(105.0)),
            ("Subflow Bwd Packets", F(1.0)),
            ("Subflow Bwd Bytes", F(35.0)),
        ],
    );
    check(
        bugs.row_where("Source Port", 5202),
        &[
            ("Subflow Fwd Packets", F(0.0)),
            ("Subflow Fwd Bytes", F(0.0)),
            ("Subflow Bwd Packets", F(0.0)),
            ("Subflow Bwd Bytes", F(0.0)),
        ],
    );
}

/// Activity columns: (active mean, std, max, min, idle mean, std, max, min).
fn activity(v: [f64; 8]) -> Vec<(&'static str, W)> {
    [
        "Active Mean",
        "Active Std",
        "Active Max",
        "Active Min",
        "Idle Mean",
        "Idle Std",
        "Idle Max",
        "Idle Min",
    ]
    .into_iter()
    .zip(v)
    .map(|(c, x)| (c, W::F(x)))
    .collect()
}

#[test]
fn bug_idle_at_timeout() {
    // Flow 6001 (UDP): packets at 0, 1, 8, 9 s. Gap 7 s > 5 s: active periods
    // [0, 1 s] and [8, 9 s] (1e6 each), idle 7e6. It ends by the idle timeout:
    // a packet of another flow at 200 s moves the clock past 9 + 120 s.
    // The connection (at 20 s) ends by FIN, and a SYN / RST pair (at 30 s, 1 ms
    // apart) by RST: flags, so no extra idle period even with the bug.
    let a = (CLIENT, 6001);
    let rc = (CLIENT, 40400);
    let rs = (SERVER, 25);
    let mut packets = vec![
        udp(a, BB, 10, 0),
        udp(BB, a, 10, SEC),
        udp(a, BB, 10, 8 * SEC),
        udp(BB, a, 10, 9 * SEC),
    ];
    packets.extend(connection(20 * SEC));
    packets.push(tcp(rc, rs, SYN).seq(1).at(30 * SEC));
    packets.push(tcp(rs, rc, RST | ACK).at(30 * SEC + MS));
    packets.push(udp((CLIENT, 6002), BB, 10, 200 * SEC));

    let fixed = extract(&packets, "cic2017", &[]);
    check(
        fixed.row_where("Source Port", 6001),
        &activity([1e6, 0.0, 1e6, 1e6, 7e6, 0.0, 7e6, 7e6]),
    );
    check(
        fixed.row_where("Source Port", 40000),
        &activity([5500.0, 0.0, 5500.0, 5500.0, 0.0, 0.0, 0.0, 0.0]),
    );
    check(
        fixed.row_where("Source Port", 40400),
        &activity([1000.0, 0.0, 1000.0, 1000.0, 0.0, 0.0, 0.0, 0.0]),
    );
    // Bugs: flow 6001 gets one more idle period of 120 s - (9 s - 0) = 111e6:
    // idle [7e6, 111e6]: mean 59e6, std sqrt(2 x 52e6^2 / 1) = 52e6 x sqrt 2.
    let bugs = extract(&packets, "cic2017", BUGS);
    check(
        bugs.row_where("Source Port", 6001),
        &activity([1e6, 0.0, 1e6, 1e6, 59e6, 52e6 * 2.0f64.sqrt(), 111e6, 7e6]),
    );
    check(
        bugs.row_where("Source Port", 40000),
        &activity([5500.0, 0.0, 5500.0, 5500.0, 0.0, 0.0, 0.0, 0.0]),
    );
    check(
        bugs.row_where("Source Port", 40400),
        &activity([1000.0, 0.0, 1000.0, 1000.0, 0.0, 0.0, 0.0, 0.0]),
    );
}

#[test]
fn idle_at_timeout_bug_also_applies_to_a_flow_open_at_the_end_of_the_capture() {
    // docs/cic.md: "a flow that did not end by a TCP flag gets one more idle
    // period". A UDP flow at 0 and 2 s, still open when the capture ends:
    // active [0, 2 s] = 2e6; with the bug one idle period of 120 - 2 = 118 s.
    let a = (CLIENT, 6101);
    let packets = vec![udp(a, BB, 10, 0), udp(BB, a, 10, 2 * SEC)];
    check(
        extract(&packets, "cic2017", &[]).only(),
        &activity([2e6, 0.0, 2e6, 2e6, 0.0, 0.0, 0.0, 0.0]),
    );
    check(
        extract(&packets, "cic2017", BUGS).only(),
        &activity([2e6, 0.0, 2e6, 2e6, 118e6, 0.0, 118e6, 118e6]),
    );
}
