//! The saved queries of `queries/`, end to end: each runs with `flowq query -f`
//! over a hand-built capture holding the pattern it looks for, traffic it must
//! not report, and near-misses just under its thresholds. The expected CSV is
//! worked out by hand; the arithmetic is in the comments.
//!
//! Frame sizes on Ethernet (see tests/util/capture.rs): TCP with n payload bytes
//! 54 + n, UDP 42 + n, IPv6 UDP 62 + n.
//!
//! Times are offsets from T0 = 1 700 000 000 s = 2023-11-14T22:13:20Z.
//!
//! Thresholds are tested as shipped; `run_tuned` also runs a query with its
//! tuning constants changed, to show the near-misses sit just below them and
//! that the knobs work.

use crate::util::capture::{
    Ep4, Ep6, LINKTYPE_ETHERNET, Pkt, T0_US, eth, flags::*, ip4_tcp, ip4_udp, ip6_udp, write_pcap,
};
use crate::util::{flowq_bin, repo_root};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Microseconds per millisecond and per second.
const MS: i64 = 1_000;
const SEC: i64 = 1_000_000;

// ---------------------------------------------------------------------------
// Packets
// ---------------------------------------------------------------------------

/// An Ethernet IPv4/TCP frame at T0 + `t` µs: 54 + `payload` bytes.
fn tcp(t: i64, src: Ep4, dst: Ep4, tcp_flags: u8, payload: usize) -> Pkt {
    Pkt::new(
        T0_US + t,
        eth(&ip4_tcp(src, dst, tcp_flags, &vec![0; payload])),
    )
}

/// An Ethernet IPv4/UDP frame at T0 + `t` µs: 42 + `payload` bytes.
fn udp(t: i64, src: Ep4, dst: Ep4, payload: usize) -> Pkt {
    Pkt::new(T0_US + t, eth(&ip4_udp(src, dst, &vec![0; payload])))
}

/// An Ethernet IPv6/UDP frame at T0 + `t` µs: 62 + `payload` bytes.
fn udp6(t: i64, src: Ep6, dst: Ep6, payload: usize) -> Pkt {
    Pkt::new(T0_US + t, eth(&ip6_udp(src, dst, &vec![0; payload])))
}

/// A TCP segment of `frame` bytes on the wire (payload `frame` - 54) captured
/// with a snap length of 54: the capture stays small, flowq counts the wire
/// length and the payload from the IP length.
fn big_tcp(t: i64, src: Ep4, dst: Ep4, frame: usize) -> Pkt {
    tcp(t, src, dst, PSH | ACK, frame - 54).snapped(54)
}

/// A whole TCP conversation, 8 packets 1 ms apart from `t`: c->s SYN, s->c
/// SYN+ACK, c->s ACK, c->s PSH+ACK with `up` payload bytes, s->c PSH+ACK with
/// `down`, c->s FIN+ACK, s->c FIN+ACK, c->s ACK.
/// One flow: fwd 5 packets, 270 + up bytes; bwd 3 packets, 162 + down bytes;
/// 8 packets, 432 + up + down bytes; last packet at t + 7 ms; syn_count 2,
/// ack_count 7.
fn conversation(t: i64, client: Ep4, server: Ep4, up: usize, down: usize) -> Vec<Pkt> {
    vec![
        tcp(t, client, server, SYN, 0),
        tcp(t + MS, server, client, SYN | ACK, 0),
        tcp(t + 2 * MS, client, server, ACK, 0),
        tcp(t + 3 * MS, client, server, PSH | ACK, up),
        tcp(t + 4 * MS, server, client, PSH | ACK, down),
        tcp(t + 5 * MS, client, server, FIN | ACK, 0),
        tcp(t + 6 * MS, server, client, FIN | ACK, 0),
        tcp(t + 7 * MS, client, server, ACK, 0),
    ]
}

/// A TCP upload, packets 1 ms apart from `t`: c->s SYN, s->c SYN+ACK, c->s ACK,
/// one big c->s segment per entry of `frames`, a big s->c segment of
/// `response` bytes if given, c->s FIN+ACK, s->c FIN+ACK, c->s ACK.
/// fwd bytes: 4 * 54 + sum(frames) = 216 + sum(frames); bwd bytes: 2 * 54 +
/// response = 108 + response. The last packet is at t + (5 + frames + 1 if
/// response) ms.
fn upload(t: i64, client: Ep4, server: Ep4, frames: &[usize], response: Option<usize>) -> Vec<Pkt> {
    let mut out = vec![
        tcp(t, client, server, SYN, 0),
        tcp(t + MS, server, client, SYN | ACK, 0),
        tcp(t + 2 * MS, client, server, ACK, 0),
    ];
    for &frame in frames {
        let next = t + out.len() as i64 * MS;
        out.push(big_tcp(next, client, server, frame));
    }
    if let Some(frame) = response {
        let next = t + out.len() as i64 * MS;
        out.push(big_tcp(next, server, client, frame));
    }
    let next = t + out.len() as i64 * MS;
    out.push(tcp(next, client, server, FIN | ACK, 0));
    out.push(tcp(next + MS, server, client, FIN | ACK, 0));
    out.push(tcp(next + 2 * MS, client, server, ACK, 0));
    out
}

// ---------------------------------------------------------------------------
// Running the queries
// ---------------------------------------------------------------------------

fn query_path(name: &str) -> PathBuf {
    repo_root().join("queries").join(format!("{name}.sql"))
}

/// Runs `queries/NAME.sql` as shipped over a capture of `packets` and returns
/// its CSV. (`every_query_is_documented_and_tested` looks for a call of this
/// function for every query file.)
fn run_query(name: &str, packets: Vec<Pkt>) -> String {
    run_sql_file(&query_path(name), packets)
}

/// Runs `queries/NAME.sql` (one that needs the `label` columns) over a dataset
/// directory extracted from a capture of `packets` with the label rules
/// `rules` (CSV text), and returns its CSV.
fn run_labelled_query(name: &str, rules: &str, packets: Vec<Pkt>) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = write_capture(dir.path(), packets);
    let rules_path = dir.path().join("rules.csv");
    std::fs::write(&rules_path, rules).expect("write rules");
    let dataset = dir.path().join("dataset");
    extract(
        &capture,
        &dataset,
        &[
            "--partition-by=capture".as_ref(),
            "--labels".as_ref(),
            rules_path.as_os_str(),
        ],
    );
    flowq_query(&query_path(name), "--data", &dataset)
}

/// Writes `packets` (sorted by time) as `DIR/capture.pcap` on Ethernet.
fn write_capture(dir: &Path, mut packets: Vec<Pkt>) -> PathBuf {
    let capture = dir.join("capture.pcap");
    packets.sort_by_key(|p| p.ts_ns);
    write_pcap(&capture, LINKTYPE_ETHERNET, false, &packets);
    capture
}

/// `flowq extract CAPTURE -o OUTPUT EXTRA... -q`, expecting success.
fn extract(capture: &Path, output: &Path, extra: &[&OsStr]) {
    let out = Command::new(flowq_bin())
        .arg("extract")
        .arg(capture)
        .arg("-o")
        .arg(output)
        .args(extra)
        .arg("-q")
        .output()
        .expect("run flowq extract");
    assert!(
        out.status.success(),
        "flowq extract {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether a saved query works on labelled datasets only.
fn needs_labels(name: &str) -> bool {
    std::fs::read_to_string(query_path(name))
        .expect("read query")
        .lines()
        .take_while(|l| l.starts_with("--"))
        .any(|l| l.trim() == "-- Needs: a labelled dataset (flowq extract --labels).")
}

/// Runs `queries/NAME.sql` with tuning constants changed: each `(from, to)`
/// replaces text that must occur exactly once in the file.
fn run_tuned(name: &str, tuning: &[(&str, &str)], packets: Vec<Pkt>) -> String {
    let mut sql = std::fs::read_to_string(query_path(name)).expect("read query");
    for (from, to) in tuning {
        assert_eq!(
            sql.matches(from).count(),
            1,
            "`{from}` should occur once in {name}.sql"
        );
        sql = sql.replacen(from, to, 1);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{name}.sql"));
    std::fs::write(&path, sql).expect("write tuned query");
    run_sql_file(&path, packets)
}

/// `flowq query -f SQL --pcap CAPTURE --format csv` over an Ethernet pcap of
/// `packets` (sorted by time), expecting success and a quiet standard error.
/// The query also runs over the capture's flows extracted to Parquet
/// (`--data flows.parquet`) and must give the same CSV.
fn run_sql_file(sql: &Path, packets: Vec<Pkt>) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = write_capture(dir.path(), packets);
    let from_capture = flowq_query(sql, "--pcap", &capture);

    let parquet = dir.path().join("flows.parquet");
    extract(&capture, &parquet, &[]);
    let from_parquet = flowq_query(sql, "--data", &parquet);
    assert_eq!(
        from_parquet,
        from_capture,
        "{} over Parquet flows (left) and over the capture (right)",
        sql.display()
    );
    from_capture
}

/// `flowq query -f SQL SOURCE PATH --format csv`, expecting success and a
/// quiet standard error; returns standard output.
fn flowq_query(sql: &Path, source: &str, path: &Path) -> String {
    let out = Command::new(flowq_bin())
        .arg("query")
        .arg("-f")
        .arg(sql)
        .arg(source)
        .arg(path)
        .args(["--format", "csv"])
        .output()
        .expect("run flowq");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "flowq query -f {} {source} failed:\n{stderr}",
        sql.display()
    );
    assert_eq!(stderr, "", "standard error of {} {source}", sql.display());
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// CSV text from lines.
fn csv(lines: &[&str]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

// ---------------------------------------------------------------------------
// top_talkers.sql
// ---------------------------------------------------------------------------

const TOP_TALKERS_HEADER: &str =
    "rank,src_ip,flows,peers,bytes,bytes_sent,bytes_received,pct_of_bytes,first_seen,last_seen";

fn top_talkers_capture() -> Vec<Pkt> {
    let h = [10, 0, 0, 100];
    let sink: Ep4 = ([10, 9, 9, 9], 5000);
    // 10.0.0.100: a TCP conversation with 10.9.9.9:80, up 200, down 3000:
    // fwd 270 + 200 = 470, bwd 162 + 3000 = 3162; and a DNS query (30 payload,
    // 72 bytes) answered with 100 (142 bytes) by 10.9.9.8 at 1 s / 1.010 s.
    // Total: 2 flows, 2 peers, 3632 + 214 = 3846 bytes, sent 470 + 72 = 542,
    // received 3162 + 142 = 3304. The server 10.9.9.9 sends more than most
    // sources but never starts a flow: it is not listed.
    let mut p = conversation(0, (h, 40000), ([10, 9, 9, 9], 80), 200, 3000);
    p.push(udp(SEC, (h, 40001), ([10, 9, 9, 8], 53), 30));
    p.push(udp(SEC + 10 * MS, ([10, 9, 9, 8], 53), (h, 40001), 100));
    // One-packet UDP sources: 42 + payload bytes each.
    p.push(udp(2 * SEC, ([10, 0, 0, 2], 40000), sink, 958)); // 1000
    p.push(udp(3 * SEC, ([10, 0, 0, 12], 40000), sink, 958)); // 1000, tie
    p.push(udp(4 * SEC, ([10, 0, 0, 3], 40000), sink, 458)); // 500
    p.push(udp(5 * SEC, ([192, 168, 5, 5], 40000), sink, 8)); // 50
    p
}

#[test]
fn top_talkers_ranks_sources_by_bytes() {
    // All bytes: 3846 + 1000 + 1000 + 500 + 50 = 6396. Shares: 3846 / 6396 =
    // 60.131 %, 1000 / 6396 = 15.635 %, 500 / 6396 = 7.817 %, 50 / 6396 = 0.782 %.
    // The tie at 1000 bytes goes to the smaller address as text: "10.0.0.12" <
    // "10.0.0.2".
    let rows = [
        TOP_TALKERS_HEADER,
        "1,10.0.0.100,2,2,3846,542,3304,60.13,2023-11-14T22:13:20.000000Z,2023-11-14T22:13:21.010000Z",
        "2,10.0.0.12,1,1,1000,1000,0,15.63,2023-11-14T22:13:23.000000Z,2023-11-14T22:13:23.000000Z",
        "3,10.0.0.2,1,1,1000,1000,0,15.63,2023-11-14T22:13:22.000000Z,2023-11-14T22:13:22.000000Z",
        "4,10.0.0.3,1,1,500,500,0,7.82,2023-11-14T22:13:24.000000Z,2023-11-14T22:13:24.000000Z",
        "5,192.168.5.5,1,1,50,50,0,0.78,2023-11-14T22:13:25.000000Z,2023-11-14T22:13:25.000000Z",
    ];
    assert_eq!(run_query("top_talkers", top_talkers_capture()), csv(&rows));

    // top_n = 2: the tie-break decides that 10.0.0.2 is cut.
    let tuned = run_tuned(
        "top_talkers",
        &[("20 as top_n", "2 as top_n")],
        top_talkers_capture(),
    );
    assert_eq!(tuned, csv(&rows[..3]));

    // min_bytes = 500: 10.0.0.3 with exactly 500 stays, 192.168.5.5 goes; the
    // shares stay shares of all bytes.
    let tuned = run_tuned(
        "top_talkers",
        &[("0 as min_bytes", "500 as min_bytes")],
        top_talkers_capture(),
    );
    assert_eq!(tuned, csv(&rows[..5]));
}

// ---------------------------------------------------------------------------
// port_scan.sql
// ---------------------------------------------------------------------------

const PORT_SCAN_HEADER: &str = "kind,src_ip,dst_ip,dst_port,protocol,targets,probes,flows,unanswered,reset,score,first_seen,last_seen";

fn port_scan_capture() -> Vec<Pkt> {
    let mut p = Vec::new();

    // Vertical TCP scan: 203.0.113.5 probes ports 20..=44 of 10.0.0.5 from
    // port 40000, probe k at 1 s + k * 20 ms:
    //   k = 0..=21  closed: SYN, RST+ACK back                 (22 probes, reset)
    //   k = 22, 23  open:   SYN, SYN+ACK back, RST from the scanner (2, reset)
    //   k = 24      filtered: SYN at 1.48 s, retransmitted at 2.48 s (unanswered)
    // Before that, a real conversation with 10.0.0.5:80 (payload back: no probe).
    // targets 25, probes 25, flows 26, unanswered 1, reset 24,
    // score 25 * 25 / 26 = 24.04 -> 24.0; probes from 1.000 s to 2.480 s.
    let scanner = [203, 0, 113, 5];
    let victim = [10, 0, 0, 5];
    p.extend(conversation(
        500 * MS,
        (scanner, 50000),
        (victim, 80),
        100,
        500,
    ));
    for k in 0..25i64 {
        let t = SEC + k * 20 * MS;
        let (src, dst) = ((scanner, 40000), (victim, 20 + k as u16));
        p.push(tcp(t, src, dst, SYN, 0));
        match k {
            0..=21 => p.push(tcp(t + MS, dst, src, RST | ACK, 0)),
            22 | 23 => {
                p.push(tcp(t + MS, dst, src, SYN | ACK, 0));
                p.push(tcp(t + 2 * MS, src, dst, RST, 0));
            }
            _ => p.push(tcp(t + SEC, src, dst, SYN, 0)),
        }
    }

    // Near-miss: 198.51.100.7 probes 19 ports (1000..=1018) of 10.0.0.6, all
    // closed, probe k at 3 s + k * 10 ms, RST+ACK 1 ms later. 19 < min_ports.
    for k in 0..19i64 {
        let t = 3 * SEC + k * 10 * MS;
        let (src, dst) = (([198, 51, 100, 7], 40000), ([10, 0, 0, 6], 1000 + k as u16));
        p.push(tcp(t, src, dst, SYN, 0));
        p.push(tcp(t + MS, dst, src, RST | ACK, 0));
    }

    // Horizontal TCP sweep: 10.0.0.66 probes port 445 on 10.0.1.1..=20, host k
    // at 4 s + (k - 1) * 10 ms; even k answer RST+ACK 1 ms later, odd k never.
    // targets 20, probes 20, flows 20, unanswered 10, reset 10, score 20.0;
    // from 4.000 s to 4.190 s + 1 ms (k = 20 is answered).
    for k in 1..=20i64 {
        let t = 4 * SEC + (k - 1) * 10 * MS;
        let (src, dst) = (
            ([10, 0, 0, 66], 41000 + k as u16),
            ([10, 0, 1, k as u8], 445),
        );
        p.push(tcp(t, src, dst, SYN, 0));
        if k % 2 == 0 {
            p.push(tcp(t + MS, dst, src, RST | ACK, 0));
        }
    }

    // Near-miss: 10.0.0.77 sends UDP (40 bytes payload) to port 161 of 19
    // hosts 10.0.2.1..=19 at 5 s + k * 10 ms, no answers. 19 < min_hosts.
    for k in 1..=19i64 {
        let t = 5 * SEC + k * 10 * MS;
        p.push(udp(
            t,
            ([10, 0, 0, 77], 42000),
            ([10, 0, 2, k as u8], 161),
            40,
        ));
    }

    // Not a scan: 10.0.0.10 browses 21 web servers 10.0.3.1..=21 on 443, real
    // conversations (payload back), at 6 s + k * 100 ms.
    for k in 1..=21i64 {
        p.extend(conversation(
            6 * SEC + k * 100 * MS,
            ([10, 0, 0, 10], 43000 + k as u16),
            ([10, 0, 3, k as u8], 443),
            100,
            1000,
        ));
    }
    p
}

#[test]
fn port_scan_finds_vertical_and_horizontal_scans() {
    let vertical = "vertical,203.0.113.5,10.0.0.5,,6,25,25,26,1,24,24.0,2023-11-14T22:13:21.000000Z,2023-11-14T22:13:22.480000Z";
    let horizontal = "horizontal,10.0.0.66,,445,6,20,20,20,10,10,20.0,2023-11-14T22:13:24.000000Z,2023-11-14T22:13:24.191000Z";
    assert_eq!(
        run_query("port_scan", port_scan_capture()),
        csv(&[PORT_SCAN_HEADER, vertical, horizontal])
    );

    // With thresholds of 19 the two near-misses appear, and the browsing client
    // (21 hosts on 443, no probes) still does not.
    //   198.51.100.7: 19 ports, 19 probes, all reset, score 19.0, 3.000 s to
    //   3.180 s + 1 ms;
    //   10.0.0.77: 19 hosts on 161/udp, all unanswered, 5.010 s to 5.190 s.
    // The two scores of 19.0 are ordered by kind: horizontal first.
    let tuned = run_tuned(
        "port_scan",
        &[
            ("20 as min_ports", "19 as min_ports"),
            ("20 as min_hosts", "19 as min_hosts"),
        ],
        port_scan_capture(),
    );
    assert_eq!(
        tuned,
        csv(&[
            PORT_SCAN_HEADER,
            vertical,
            horizontal,
            "horizontal,10.0.0.77,,161,17,19,19,19,19,0,19.0,2023-11-14T22:13:25.010000Z,2023-11-14T22:13:25.190000Z",
            "vertical,198.51.100.7,10.0.0.6,,6,19,19,19,0,19,19.0,2023-11-14T22:13:23.000000Z,2023-11-14T22:13:23.181000Z",
        ])
    );

    // max_probe_pkts = 2: the two open ports (3 packets) are no longer probes:
    // targets 23, probes 23, flows 26, reset 22, score 23 * 23 / 26 = 20.35.
    let tuned = run_tuned(
        "port_scan",
        &[("4 as max_probe_pkts", "2 as max_probe_pkts")],
        port_scan_capture(),
    );
    assert_eq!(
        tuned,
        csv(&[
            PORT_SCAN_HEADER,
            "vertical,203.0.113.5,10.0.0.5,,6,23,23,26,1,22,20.3,2023-11-14T22:13:21.000000Z,2023-11-14T22:13:22.480000Z",
            horizontal,
        ])
    );
}

// ---------------------------------------------------------------------------
// syn_flood.sql
// ---------------------------------------------------------------------------

const SYN_FLOOD_HEADER: &str = "window_start,dst_ip,dst_port,half_open,syn_flows,half_open_ratio,sources,unanswered,reset,first_seen,last_seen";

fn syn_flood_capture() -> Vec<Pkt> {
    let mut p = Vec::new();
    // Everything below starts between T0 + 1 s and T0 + 38 s, inside the
    // 60-second window [22:13:00, 22:14:00) (T0 is 22:13:20).

    // The flood: 100 spoofed sources 198.18.0.1..=100 send a SYN to
    // 10.0.0.80:80, flow k at 1 s + k * 100 ms, by k % 4:
    //   0: no answer                                   (25 unanswered)
    //   1: SYN+ACK 1 ms later, retransmitted 1 s later (25; ack_count 2 <= bwd 2)
    //   2: SYN+ACK, then RST (no ACK) from the source  (25 reset)
    //   3: RST+ACK back                                (25 reset)
    // half_open 100, sources 100, unanswered 25, reset 50; first 1.000 s, last
    // the retransmitted SYN+ACK of k = 97 at 10.7 + 1 = 11.700 s.
    let target: Ep4 = ([10, 0, 0, 80], 80);
    for k in 0..100i64 {
        let t = SEC + k * 100 * MS;
        let src: Ep4 = ([198, 18, 0, (k + 1) as u8], 1024 + k as u16);
        p.push(tcp(t, src, target, SYN, 0));
        match k % 4 {
            0 => {}
            1 => {
                p.push(tcp(t + MS, target, src, SYN | ACK, 0));
                p.push(tcp(t + SEC, target, src, SYN | ACK, 0));
            }
            2 => {
                p.push(tcp(t + MS, target, src, SYN | ACK, 0));
                p.push(tcp(t + 2 * MS, src, target, RST, 0));
            }
            _ => p.push(tcp(t + MS, target, src, RST | ACK, 0)),
        }
    }
    // Real clients of the same service during the flood: 5 conversations
    // (ack_count 7 > bwd 3) and a health check that completes the handshake
    // and resets (SYN, SYN+ACK, ACK, RST: ack_count 2 > bwd 1). Not half-open:
    // syn_flows = 100 + 5 + 1 = 106, ratio 100 / 106 = 0.9434 -> 0.943.
    for i in 0..5i64 {
        p.extend(conversation(
            (2 + i) * SEC,
            ([10, 0, 0, 20 + i as u8], 50000),
            target,
            100,
            1000,
        ));
    }
    let check: Ep4 = ([10, 0, 0, 30], 50100);
    p.push(tcp(8 * SEC, check, target, SYN, 0));
    p.push(tcp(8 * SEC + MS, target, check, SYN | ACK, 0));
    p.push(tcp(8 * SEC + 2 * MS, check, target, ACK, 0));
    p.push(tcp(8 * SEC + 3 * MS, check, target, RST, 0));

    // Near-miss: 99 unanswered SYNs to 10.0.0.81:443 from 198.19.0.1..=99,
    // SYN k at 20 s + k * 100 ms (20.000 s to 29.800 s). 99 < min_half_open.
    for k in 0..99i64 {
        let src: Ep4 = ([198, 19, 0, (k + 1) as u8], 2000 + k as u16);
        p.push(tcp(
            20 * SEC + k * 100 * MS,
            src,
            ([10, 0, 0, 81], 443),
            SYN,
            0,
        ));
    }

    // Few half-open flows, for the tuned run:
    // 10.0.0.82:22: 3 unanswered SYNs (30, 31, 32 s) and 3 conversations
    // (33, 34, 35 s): ratio 3 / 6 = 0.5, just at min_half_open_ratio.
    // 10.0.0.83:25: 3 unanswered SYNs (36.0, 36.1, 36.2 s) and 4 conversations
    // (37.0 to 37.6 s): ratio 3 / 7 = 0.43, below it.
    for i in 0..3i64 {
        let t = (30 + i) * SEC;
        p.push(tcp(
            t,
            ([10, 0, 0, 40 + i as u8], 50000),
            ([10, 0, 0, 82], 22),
            SYN,
            0,
        ));
        p.extend(conversation(
            (33 + i) * SEC,
            ([10, 0, 0, 43 + i as u8], 50000),
            ([10, 0, 0, 82], 22),
            100,
            100,
        ));
        let t = 36 * SEC + i * 100 * MS;
        p.push(tcp(
            t,
            ([10, 0, 0, 50 + i as u8], 50000),
            ([10, 0, 0, 83], 25),
            SYN,
            0,
        ));
    }
    for i in 0..4i64 {
        p.extend(conversation(
            37 * SEC + i * 200 * MS,
            ([10, 0, 0, 53 + i as u8], 50000),
            ([10, 0, 0, 83], 25),
            100,
            100,
        ));
    }
    p
}

#[test]
fn syn_flood_finds_half_open_floods() {
    let flood = "2023-11-14T22:13:00.000000Z,10.0.0.80,80,100,106,0.943,100,25,50,2023-11-14T22:13:21.000000Z,2023-11-14T22:13:31.700000Z";
    assert_eq!(
        run_query("syn_flood", syn_flood_capture()),
        csv(&[SYN_FLOOD_HEADER, flood])
    );

    // min_half_open = 3: the 99-SYN near-miss (99 sources, all unanswered,
    // 20.000 to 29.800 s) and 10.0.0.82:22 (3 of 6, ratio 0.5, 30 to 32 s)
    // appear; 10.0.0.83:25 (ratio 0.43) stays out.
    let tuned = run_tuned(
        "syn_flood",
        &[("100 as min_half_open,", "3 as min_half_open,")],
        syn_flood_capture(),
    );
    assert_eq!(
        tuned,
        csv(&[
            SYN_FLOOD_HEADER,
            flood,
            "2023-11-14T22:13:00.000000Z,10.0.0.81,443,99,99,1.0,99,99,0,2023-11-14T22:13:40.000000Z,2023-11-14T22:13:49.800000Z",
            "2023-11-14T22:13:00.000000Z,10.0.0.82,22,3,6,0.5,3,3,0,2023-11-14T22:13:50.000000Z,2023-11-14T22:13:52.000000Z",
        ])
    );
}

// ---------------------------------------------------------------------------
// long_connections.sql
// ---------------------------------------------------------------------------

const LONG_CONNECTIONS_HEADER: &str = "src_ip,src_port,dst_ip,dst_port,protocol,vlan_id,first_seen,last_seen,duration_s,flows,pkt_count,byte_count,end_reason";

fn long_connections_capture() -> Vec<Pkt> {
    let mut p = Vec::new();
    // Flows are cut by the active timeout (1800 s: a packet more than 1800 s
    // after the flow's first starts a new flow) and by the idle timeout (120 s).

    // An SSH session 10.0.0.5:50000 -> 203.0.113.10:22: handshake at 0 s,
    // 10-byte keep-alives (64 bytes) every 100 s for k = 1..=36, from the
    // server for odd k, FIN exchange at 3650 s.
    //   flow 1: 0 .. 1800 s (3 + 18 packets); the keep-alive at 1900 s comes
    //           from the server, so flow 2 has src = 203.0.113.10:22;
    //   flow 2: 1900 .. 3650.002 s (18 + 3 packets), tcp_fin.
    // Stitched: 2 flows, 42 packets, 6 * 54 + 36 * 64 = 2628 bytes, 3650.002 s.
    let (c, s): (Ep4, Ep4) = (([10, 0, 0, 5], 50000), ([203, 0, 113, 10], 22));
    p.push(tcp(0, c, s, SYN, 0));
    p.push(tcp(MS, s, c, SYN | ACK, 0));
    p.push(tcp(2 * MS, c, s, ACK, 0));
    for k in 1..=36i64 {
        let (from, to) = if k % 2 == 0 { (c, s) } else { (s, c) };
        p.push(tcp(k * 100 * SEC, from, to, PSH | ACK, 10));
    }
    p.push(tcp(3650 * SEC, c, s, FIN | ACK, 0));
    p.push(tcp(3650 * SEC + MS, s, c, FIN | ACK, 0));
    p.push(tcp(3650 * SEC + 2 * MS, c, s, ACK, 0));

    // A UDP tunnel 10.0.0.6:51820 -> 198.51.100.20:51820: 100-byte payloads
    // (142 bytes) every 60 s at 10 + 60 j s, j = 0..=62 (10 .. 3730 s).
    //   flow 1: 10 .. 1810 s; flow 2: 1870 .. 3670 s; flow 3: 3730 s, which
    //   ends by idle timeout when the capture clock passes 3850 s (the packets
    //   below run to 4000 s).
    // Stitched: 3 flows, 63 packets, 63 * 142 = 8946 bytes, 3720 s.
    let (c, s): (Ep4, Ep4) = (([10, 0, 0, 6], 51820), ([198, 51, 100, 20], 51820));
    for j in 0..=62i64 {
        p.push(udp((10 + 60 * j) * SEC, c, s, 100));
    }

    // Near-miss: 10.0.0.7:50001 -> 203.0.113.11:443 lasts exactly 3600 s:
    // handshake at 20 s, client keep-alives at 20 + 100 k s (k = 1..=35), FIN
    // exchange ending at 3620 s. 2 flows (cut before 1920 s), 3 + 35 + 3 = 41
    // packets, 6 * 54 + 35 * 64 = 2564 bytes.
    let (c, s): (Ep4, Ep4) = (([10, 0, 0, 7], 50001), ([203, 0, 113, 11], 443));
    p.push(tcp(20 * SEC, c, s, SYN, 0));
    p.push(tcp(20 * SEC + MS, s, c, SYN | ACK, 0));
    p.push(tcp(20 * SEC + 2 * MS, c, s, ACK, 0));
    for k in 1..=35i64 {
        p.push(tcp((20 + 100 * k) * SEC, c, s, PSH | ACK, 10));
    }
    p.push(tcp(3619 * SEC + 998 * MS, c, s, FIN | ACK, 0));
    p.push(tcp(3619 * SEC + 999 * MS, s, c, FIN | ACK, 0));
    p.push(tcp(3620 * SEC, c, s, ACK, 0));

    // Near-miss: 10.0.0.8:50002 -> 203.0.113.12:8080 over UDP (20-byte
    // payloads, 62 bytes) every 100 s from 0 to 2000 s and from 2200 to 4000 s:
    // 4000 s in all, but the 200 s silence ends it by idle timeout. Piece 1:
    // flows 0 .. 1800 s and 1900 .. 2000 s, stitched: 2000 s, 21 packets, 1302
    // bytes, idle_timeout. Piece 2: one flow 2200 .. 4000 s, 1800 s.
    let (c, s): (Ep4, Ep4) = (([10, 0, 0, 8], 50002), ([203, 0, 113, 12], 8080));
    for k in (0..=20i64).chain(22..=40) {
        p.push(udp(k * 100 * SEC, c, s, 20));
    }

    // Short traffic.
    p.extend(conversation(
        5 * SEC,
        ([10, 0, 0, 9], 50003),
        ([203, 0, 113, 13], 443),
        100,
        100,
    ));
    p
}

#[test]
fn long_connections_stitches_flows_cut_by_the_active_timeout() {
    // T0 + 3730 s = 23:15:30, T0 + 3650.002 s = 23:14:10.002.
    let tunnel = "10.0.0.6,51820,198.51.100.20,51820,17,0,2023-11-14T22:13:30.000000Z,2023-11-14T23:15:30.000000Z,3720.0,3,63,8946,idle_timeout";
    let ssh = "10.0.0.5,50000,203.0.113.10,22,6,0,2023-11-14T22:13:20.000000Z,2023-11-14T23:14:10.002000Z,3650.002,2,42,2628,tcp_fin";
    assert_eq!(
        run_query("long_connections", long_connections_capture()),
        csv(&[LONG_CONNECTIONS_HEADER, tunnel, ssh])
    );

    // min_duration_s = 1800: the 3600 s connection and the 2000 s piece appear;
    // the 1800 s piece does not (longer than, not equal).
    // T0 + 3620 s = 23:13:40, T0 + 2000 s = 22:46:40.
    let tuned = run_tuned(
        "long_connections",
        &[("3600 as min_duration_s", "1800 as min_duration_s")],
        long_connections_capture(),
    );
    assert_eq!(
        tuned,
        csv(&[
            LONG_CONNECTIONS_HEADER,
            tunnel,
            ssh,
            "10.0.0.7,50001,203.0.113.11,443,6,0,2023-11-14T22:13:40.000000Z,2023-11-14T23:13:40.000000Z,3600.0,2,41,2564,tcp_fin",
            "10.0.0.8,50002,203.0.113.12,8080,17,0,2023-11-14T22:13:20.000000Z,2023-11-14T22:46:40.000000Z,2000.0,2,21,1302,idle_timeout",
        ])
    );
}

// ---------------------------------------------------------------------------
// beaconing.sql
// ---------------------------------------------------------------------------

const BEACONING_HEADER: &str = "src_ip,dst_ip,dst_port,protocol,connections,mean_gap_s,stddev_gap_s,cv,min_gap_s,max_gap_s,bytes,first_seen,last_seen";

/// One 20-byte UDP datagram (62 bytes) per start time, each from its own
/// source port.
fn udp_connections(src: [u8; 4], dst: Ep4, starts_s: &[i64]) -> Vec<Pkt> {
    starts_s
        .iter()
        .enumerate()
        .map(|(i, &s)| udp(s * SEC, (src, 52000 + i as u16), dst, 20))
        .collect()
}

fn beaconing_capture() -> Vec<Pkt> {
    let mut p = Vec::new();

    // A jittered HTTPS beacon 10.0.0.5 -> 203.0.113.50:443: 12 conversations
    // (up 100, down 200: 732 bytes each, 8784 in all) with gaps
    //   60 62 58 60 61 59 60 63 57 60 60  (sum 660, mean 60)
    // deviations 0 2 -2 0 1 -1 0 3 -3 0 0, squares sum 28, population variance
    // 28 / 11 = 2.5455, stddev 1.5954, cv 1.5954 / 60 = 0.0266.
    // Starts: 100, 160, 222, 280, 340, 401, 460, 520, 583, 640, 700, 760 s;
    // T0 + 100 s = 22:15:00, T0 + 760.007 s = 22:26:00.007.
    let mut start = 100;
    for (i, gap) in [0, 60, 62, 58, 60, 61, 59, 60, 63, 57, 60, 60]
        .into_iter()
        .enumerate()
    {
        start += gap;
        p.extend(conversation(
            start * SEC,
            ([10, 0, 0, 5], 50000 + i as u16),
            ([203, 0, 113, 50], 443),
            100,
            200,
        ));
    }

    // An exact UDP beacon 10.0.0.6:40000 -> 198.51.100.53:8443 every 300 s,
    // 10 datagrams (50 payload, 92 bytes) at 30 + 300 k s, all from one
    // source port: the 300 s gaps exceed the idle timeout, so each is its own
    // flow. mean 300, stddev 0, cv 0, 920 bytes; T0 + 2730 s = 22:58:50.
    for k in 0..10i64 {
        p.push(udp(
            (30 + 300 * k) * SEC,
            ([10, 0, 0, 6], 40000),
            ([198, 51, 100, 53], 8443),
            50,
        ));
    }

    // Near-miss: 9 connections exactly 60 s apart (50 .. 530 s) from 10.0.0.7:
    // fewer than min_connections.
    let nine: Vec<i64> = (0..9).map(|k| 50 + 60 * k).collect();
    p.extend(udp_connections(
        [10, 0, 0, 7],
        ([203, 0, 113, 51], 443),
        &nine,
    ));

    // Not regular: 12 connections from 10.0.0.8 with gaps
    // 5 120 30 300 10 60 200 15 90 45 25 (mean 81.8, stddev 88.6, cv 1.08).
    let mut irregular = vec![20];
    for gap in [5, 120, 30, 300, 10, 60, 200, 15, 90, 45, 25] {
        irregular.push(irregular.last().unwrap() + gap);
    }
    p.extend(udp_connections(
        [10, 0, 0, 8],
        ([203, 0, 113, 52], 80),
        &irregular,
    ));

    // A burst, perfectly regular but 100 ms apart: mean gap 0.1 s < 10 s.
    for k in 0..15i64 {
        p.push(udp(
            200 * SEC + k * 100 * MS,
            ([10, 0, 0, 9], 52000 + k as u16),
            ([203, 0, 113, 53], 443),
            20,
        ));
    }

    // Too much jitter: 11 connections from 10.0.0.10, gaps alternating 45 and
    // 75 s (mean 60, stddev 15, cv 0.25 > 0.2).
    let mut jittery = vec![300];
    for i in 0..10 {
        jittery.push(jittery.last().unwrap() + if i % 2 == 0 { 45 } else { 75 });
    }
    p.extend(udp_connections(
        [10, 0, 0, 10],
        ([203, 0, 113, 54], 443),
        &jittery,
    ));
    p
}

#[test]
fn beaconing_finds_regular_connections() {
    let exact = "10.0.0.6,198.51.100.53,8443,17,10,300.0,0.0,0.0,300.0,300.0,920,2023-11-14T22:13:50.000000Z,2023-11-14T22:58:50.000000Z";
    let jittered = "10.0.0.5,203.0.113.50,443,6,12,60.0,1.595,0.027,57.0,63.0,8784,2023-11-14T22:15:00.000000Z,2023-11-14T22:26:00.007000Z";
    assert_eq!(
        run_query("beaconing", beaconing_capture()),
        csv(&[BEACONING_HEADER, exact, jittered])
    );

    // min_connections = 9: the 9-connection near-miss appears (9 * 62 = 558
    // bytes, 50 .. 530 s = 22:14:10 .. 22:22:10), after the other cv = 0 row
    // because it has fewer connections.
    let tuned = run_tuned(
        "beaconing",
        &[("10 as min_connections", "9 as min_connections")],
        beaconing_capture(),
    );
    assert_eq!(
        tuned,
        csv(&[
            BEACONING_HEADER,
            exact,
            "10.0.0.7,203.0.113.51,443,17,9,60.0,0.0,0.0,60.0,60.0,558,2023-11-14T22:14:10.000000Z,2023-11-14T22:22:10.000000Z",
            jittered,
        ])
    );
}

// ---------------------------------------------------------------------------
// large_outbound.sql
// ---------------------------------------------------------------------------

const LARGE_OUTBOUND_HEADER: &str = "src_ip,dst_ip,flows,dst_ports,bytes_sent,bytes_received,payload_sent,sent_share,first_seen,last_seen";

fn large_outbound_capture() -> Vec<Pkt> {
    let mut p = Vec::new();

    // Exfiltration 10.0.0.5 -> 203.0.113.80:443 in two uploads (at 0 and 60 s),
    // each 78 segments of 65000 bytes (payload 64946) and one 65000-byte answer:
    //   per flow fwd 216 + 78 * 65000 = 5 070 216, bwd 108 + 65000 = 65 108,
    //   payload 78 * 64946 = 5 065 788;
    //   pair: bytes_sent 10 140 432 > 10 000 000, bytes_received 130 216,
    //   payload_sent 10 131 576, sent_share 10140432 / 10270648 = 0.98732.
    //   Last packet at 60 s + (5 + 78 + 1) ms = 60.084 s.
    let exfil: Ep4 = ([203, 0, 113, 80], 443);
    p.extend(upload(
        0,
        ([10, 0, 0, 5], 50001),
        exfil,
        &[65000; 78],
        Some(65000),
    ));
    p.extend(upload(
        60 * SEC,
        ([10, 0, 0, 5], 50002),
        exfil,
        &[65000; 78],
        Some(65000),
    ));

    // Near-miss: 10.0.0.6 -> 198.51.100.90:443 sends exactly 10 000 000 bytes
    // (not more): 216 + 153 * 65000 + 54784 = 216 + 9 945 000 + 54 784.
    // bwd 108; payload 153 * 64946 + 54730 = 9 991 468; sent_share
    // 10000000 / 10000108 = 0.99999 -> 1.0. At 120 s .. 120 s + (5 + 154) ms.
    let mut frames = vec![65000; 153];
    frames.push(54784);
    p.extend(upload(
        120 * SEC,
        ([10, 0, 0, 6], 50003),
        ([198, 51, 100, 90], 443),
        &frames,
        None,
    ));

    // Small flows, all under the default threshold; for the tuned run
    // (min 1000 bytes):
    // internal -> external, reported: 192.168.1.50 -> 8.8.4.4:443 conversation
    // (up 1000, down 5000: fwd 1270, bwd 5162, share 1270 / 6432 = 0.197) at
    // 200 s, and fd00::5 -> 2001:db8::80 UDP 2000 payload (2062 bytes) at 210 s.
    p.extend(conversation(
        200 * SEC,
        ([192, 168, 1, 50], 50010),
        ([8, 8, 4, 4], 443),
        1000,
        5000,
    ));
    let ula = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];
    let public6 = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80,
    ];
    p.push(udp6(210 * SEC, (ula, 50020), (public6, 443), 2000));
    // Not reported: 3042-byte UDP datagrams internal -> internal, external ->
    // internal, to multicast, to broadcast, from a public 172.32/16 address,
    // and 192.168.1.51 -> 8.8.4.4 with exactly 1000 bytes (958 payload).
    p.push(udp(
        220 * SEC,
        ([172, 20, 0, 5], 50030),
        ([172, 31, 0, 9], 9000),
        3000,
    ));
    p.push(udp(
        221 * SEC,
        ([203, 0, 113, 7], 50031),
        ([10, 0, 0, 5], 8443),
        3000,
    ));
    p.push(udp(
        222 * SEC,
        ([10, 0, 0, 5], 5353),
        ([224, 0, 0, 251], 5353),
        3000,
    ));
    p.push(udp(
        223 * SEC,
        ([10, 0, 0, 5], 68),
        ([255, 255, 255, 255], 67),
        3000,
    ));
    p.push(udp(
        224 * SEC,
        ([172, 32, 0, 1], 50032),
        ([8, 8, 8, 8], 53),
        3000,
    ));
    p.push(udp(
        225 * SEC,
        ([192, 168, 1, 51], 50033),
        ([8, 8, 4, 4], 443),
        958,
    ));
    p
}

#[test]
fn large_outbound_finds_internal_hosts_uploading_to_the_internet() {
    let exfil = "10.0.0.5,203.0.113.80,2,1,10140432,130216,10131576,0.987,2023-11-14T22:13:20.000000Z,2023-11-14T22:14:20.084000Z";
    assert_eq!(
        run_query("large_outbound", large_outbound_capture()),
        csv(&[LARGE_OUTBOUND_HEADER, exfil])
    );

    // min_fwd_bytes = 1000: the exact-10 MB near-miss and the two small
    // internal -> external pairs appear; nothing else does.
    let tuned = run_tuned(
        "large_outbound",
        &[("10000000 as min_fwd_bytes", "1000 as min_fwd_bytes")],
        large_outbound_capture(),
    );
    assert_eq!(
        tuned,
        csv(&[
            LARGE_OUTBOUND_HEADER,
            exfil,
            "10.0.0.6,198.51.100.90,1,1,10000000,108,9991468,1.0,2023-11-14T22:15:20.000000Z,2023-11-14T22:15:20.159000Z",
            "fd00::5,2001:db8::80,1,1,2062,0,2000,1.0,2023-11-14T22:16:50.000000Z,2023-11-14T22:16:50.000000Z",
            "192.168.1.50,8.8.4.4,1,1,1270,5162,1000,0.197,2023-11-14T22:16:40.000000Z,2023-11-14T22:16:40.007000Z",
        ])
    );
}

// ---------------------------------------------------------------------------
// dns_heavy_hitters.sql
// ---------------------------------------------------------------------------

const DNS_HEADER: &str = "rank,src_ip,dns_flows,udp_flows,tcp_flows,servers,queries,query_bytes,response_bytes,avg_query_bytes,pct_of_dns_flows,first_seen,last_seen";

/// One UDP query per start time from its own source port, answered 5 ms later.
fn dns_lookups(
    client: [u8; 4],
    server: Ep4,
    first_port: u16,
    starts: &[i64],
    q: usize,
    a: usize,
) -> Vec<Pkt> {
    let mut p = Vec::new();
    for (i, &t) in starts.iter().enumerate() {
        let c = (client, first_port + i as u16);
        p.push(udp(t, c, server, q));
        p.push(udp(t + 5 * MS, server, c, a));
    }
    p
}

fn dns_capture() -> Vec<Pkt> {
    let resolver: Ep4 = ([10, 0, 0, 53], 53);
    let mut p = Vec::new();

    // 10.0.0.5: 25 UDP lookups at 0 .. 24 s (30-byte queries, 90-byte
    // answers) and one TCP query at 30 s (conversation up 40, down 1500:
    // 5 packets sent). 26 flows (25 udp, 1 tcp), 1 server, queries 25 + 5 = 30,
    // query_bytes 25 * 30 + 40 = 790, response_bytes 25 * 90 + 1500 = 3750,
    // avg 790 / 30 = 26.33; 0 s .. 30.007 s.
    let starts: Vec<i64> = (0..25).map(|i| i * SEC).collect();
    p.extend(dns_lookups([10, 0, 0, 5], resolver, 50000, &starts, 30, 90));
    p.extend(conversation(
        30 * SEC,
        ([10, 0, 0, 5], 50100),
        resolver,
        40,
        1500,
    ));

    // 10.0.0.6, a tunnel: 30 queries of 200 bytes from one source port to
    // 203.0.113.53 every 500 ms from 40 s, answers of 250 bytes 10 ms later.
    // One flow (< min_flows) but 30 queries (= min_queries): listed.
    // query_bytes 6000, response_bytes 7500, avg 200; 40 s .. 54.51 s.
    let tunnel: Ep4 = ([10, 0, 0, 6], 45000);
    let far: Ep4 = ([203, 0, 113, 53], 53);
    for i in 0..30i64 {
        let t = 40 * SEC + i * 500 * MS;
        p.push(udp(t, tunnel, far, 200));
        p.push(udp(t + 10 * MS, far, tunnel, 250));
    }

    // 10.0.0.7: exactly min_flows = 10 lookups at 60 .. 69 s, alternating
    // between two resolvers; 40-byte queries, 100-byte answers.
    for i in 0..10i64 {
        let server: Ep4 = ([10, 0, 0, 53 + (i % 2) as u8], 53);
        p.extend(dns_lookups(
            [10, 0, 0, 7],
            server,
            51000 + i as u16,
            &[(60 + i) * SEC],
            40,
            100,
        ));
    }

    // The resolver itself forwarding 12 lookups to 8.8.8.8 at 70 .. 81 s
    // (35-byte queries, 120-byte answers): a heavy hitter too.
    let starts: Vec<i64> = (70..82).map(|s| s * SEC).collect();
    p.extend(dns_lookups(
        [10, 0, 0, 53],
        ([8, 8, 8, 8], 53),
        52000,
        &starts,
        35,
        120,
    ));

    // Near-misses: 10.0.0.8 with 9 lookups (90 .. 98 s); 10.0.0.9 with 29
    // queries in one flow (100 s, every 500 ms).
    let starts: Vec<i64> = (90..99).map(|s| s * SEC).collect();
    p.extend(dns_lookups([10, 0, 0, 8], resolver, 53000, &starts, 30, 50));
    let near: Ep4 = ([10, 0, 0, 9], 45001);
    for i in 0..29i64 {
        let t = 100 * SEC + i * 500 * MS;
        p.push(udp(t, near, resolver, 30));
        p.push(udp(t + 10 * MS, resolver, near, 50));
    }

    // Not DNS: 15 NTP flows from 10.0.0.10 and 12 mDNS flows from 10.0.0.11.
    let starts: Vec<i64> = (120..135).map(|s| s * SEC).collect();
    p.extend(dns_lookups(
        [10, 0, 0, 10],
        ([10, 0, 0, 123], 123),
        54000,
        &starts,
        48,
        48,
    ));
    for i in 0..12i64 {
        p.push(udp(
            (140 + i) * SEC,
            ([10, 0, 0, 11], 5353),
            ([224, 0, 0, 251], 5353 + i as u16),
            40,
        ));
    }
    p
}

#[test]
fn dns_heavy_hitters_ranks_dns_clients() {
    // DNS flows of all clients: 26 + 1 + 10 + 12 + 9 + 1 = 59. Shares:
    // 26 / 59 = 44.068 %, 12 / 59 = 20.339 %, 10 / 59 = 16.949 %, 1 / 59 = 1.695 %.
    let rows = [
        DNS_HEADER,
        "1,10.0.0.5,26,25,1,1,30,790,3750,26.3,44.07,2023-11-14T22:13:20.000000Z,2023-11-14T22:13:50.007000Z",
        "2,10.0.0.53,12,12,0,1,12,420,1440,35.0,20.34,2023-11-14T22:14:30.000000Z,2023-11-14T22:14:41.005000Z",
        "3,10.0.0.7,10,10,0,2,10,400,1000,40.0,16.95,2023-11-14T22:14:20.000000Z,2023-11-14T22:14:29.005000Z",
        "4,10.0.0.6,1,1,0,1,30,6000,7500,200.0,1.69,2023-11-14T22:14:00.000000Z,2023-11-14T22:14:14.510000Z",
    ];
    assert_eq!(run_query("dns_heavy_hitters", dns_capture()), csv(&rows));

    let tuned = run_tuned(
        "dns_heavy_hitters",
        &[("20 as top_n", "2 as top_n")],
        dns_capture(),
    );
    assert_eq!(tuned, csv(&rows[..3]));
}

// ---------------------------------------------------------------------------
// rare_ports.sql
// ---------------------------------------------------------------------------

const RARE_PORTS_HEADER: &str =
    "protocol,dst_port,port_clients,port_flows,src_ip,dst_ip,flows,bytes,first_seen,last_seen";

fn rare_ports_capture() -> Vec<Pkt> {
    let a = [10, 0, 0, 5];
    let mut p = Vec::new();
    // Rare: 10.0.0.5 -> 203.0.113.70:1024 at 10 s (up 100, down 200: 732 bytes).
    p.extend(conversation(
        10 * SEC,
        (a, 50062),
        ([203, 0, 113, 70], 1024),
        100,
        200,
    ));
    // Rare: two conversations 10.0.0.5 -> 203.0.113.66:4444 at 20 and 25 s
    // (up 300, down 50: 782 bytes each, 1564).
    for (i, t) in [20, 25].into_iter().enumerate() {
        p.extend(conversation(
            t * SEC,
            (a, 50070 + i as u16),
            ([203, 0, 113, 66], 4444),
            300,
            50,
        ));
    }
    // Rare: UDP 31337 used by two clients (max_clients = 2), each a 64-byte
    // request (106 bytes) and a 200-byte answer (242) 10 ms later: 348 bytes.
    for (i, t) in [30, 31].into_iter().enumerate() {
        let c: Ep4 = ([10, 0, 0, 6 + i as u8], 53001 + i as u16);
        let s: Ep4 = ([198, 51, 100, 7 + i as u8], 31337);
        p.push(udp(t * SEC, c, s, 64));
        p.push(udp(t * SEC + 10 * MS, s, c, 200));
    }
    // Not rare: 8080 used by three clients (50, 51, 52 s; 632 bytes each).
    for i in 0..3i64 {
        p.extend(conversation(
            (50 + i) * SEC,
            ([10, 0, 0, 5 + i as u8], 50050),
            ([10, 0, 0, 80], 8080),
            100,
            100,
        ));
    }
    // Well-known ports, one client each: 22 at 55 s, 1023 at 56 s (632 bytes).
    p.extend(conversation(
        55 * SEC,
        (a, 50060),
        ([10, 0, 0, 22], 22),
        100,
        100,
    ));
    p.extend(conversation(
        56 * SEC,
        (a, 50061),
        ([203, 0, 113, 70], 1023),
        100,
        100,
    ));
    // Not conversations: a scan probe to 5555 (SYN, RST+ACK), a one-way UDP
    // datagram to 9999, and a TCP connection picked up mid-stream (no SYN)
    // whose first packet comes from the server 10.0.0.80:8443, so its "dst_port"
    // is the client's 52000.
    let (scanner, probed): (Ep4, Ep4) = (([10, 0, 0, 9], 40000), ([10, 0, 0, 80], 5555));
    p.push(tcp(60 * SEC, scanner, probed, SYN, 0));
    p.push(tcp(60 * SEC + MS, probed, scanner, RST | ACK, 0));
    p.push(udp(61 * SEC, (a, 53000), ([203, 0, 113, 99], 9999), 100));
    let (server, client): (Ep4, Ep4) = (([10, 0, 0, 80], 8443), (a, 52000));
    p.push(tcp(62 * SEC, server, client, PSH | ACK, 500));
    p.push(tcp(62 * SEC + MS, client, server, PSH | ACK, 20));
    p.push(tcp(62 * SEC + 2 * MS, server, client, PSH | ACK, 500));
    p
}

#[test]
fn rare_ports_lists_ports_few_clients_use() {
    let rare = [
        "6,1024,1,1,10.0.0.5,203.0.113.70,1,732,2023-11-14T22:13:30.000000Z,2023-11-14T22:13:30.007000Z",
        "6,4444,1,2,10.0.0.5,203.0.113.66,2,1564,2023-11-14T22:13:40.000000Z,2023-11-14T22:13:45.007000Z",
        "17,31337,2,2,10.0.0.6,198.51.100.7,1,348,2023-11-14T22:13:50.000000Z,2023-11-14T22:13:50.010000Z",
        "17,31337,2,2,10.0.0.7,198.51.100.8,1,348,2023-11-14T22:13:51.000000Z,2023-11-14T22:13:51.010000Z",
    ];
    let mut rows = vec![RARE_PORTS_HEADER];
    rows.extend(rare);
    assert_eq!(run_query("rare_ports", rare_ports_capture()), csv(&rows));

    // min_port = 0 and max_clients = 3: ports 22 and 1023 (one client, one
    // flow) come first, 8080 (three clients) last; the probe, the one-way
    // datagram and the mid-stream connection still never appear.
    let tuned = run_tuned(
        "rare_ports",
        &[
            ("1024 as min_port", "0 as min_port"),
            ("2 as max_clients", "3 as max_clients"),
        ],
        rare_ports_capture(),
    );
    let mut rows = vec![
        RARE_PORTS_HEADER,
        "6,22,1,1,10.0.0.5,10.0.0.22,1,632,2023-11-14T22:14:15.000000Z,2023-11-14T22:14:15.007000Z",
        "6,1023,1,1,10.0.0.5,203.0.113.70,1,632,2023-11-14T22:14:16.000000Z,2023-11-14T22:14:16.007000Z",
    ];
    rows.extend(rare);
    rows.extend([
        "6,8080,3,3,10.0.0.5,10.0.0.80,1,632,2023-11-14T22:14:10.000000Z,2023-11-14T22:14:10.007000Z",
        "6,8080,3,3,10.0.0.6,10.0.0.80,1,632,2023-11-14T22:14:11.000000Z,2023-11-14T22:14:11.007000Z",
        "6,8080,3,3,10.0.0.7,10.0.0.80,1,632,2023-11-14T22:14:12.000000Z,2023-11-14T22:14:12.007000Z",
    ]);
    assert_eq!(tuned, csv(&rows));
}

// ---------------------------------------------------------------------------
// class_balance.sql
// ---------------------------------------------------------------------------

/// An attacker (10.9.9.9) scanning a victim (10.0.0.5) and brute-forcing its
/// SSH inside a window, the same attacker outside the window, and benign
/// traffic.
fn class_balance_capture() -> Vec<Pkt> {
    let attacker = [10, 9, 9, 9];
    let victim = [10, 0, 0, 5];
    let mut packets = Vec::new();
    // Three SSH connections in the window (t = 10 s .. 12 s): each 8 packets,
    // 6 x 54 + 2 x (54 + 100) = 632 bytes (conversation() with 100 up, 100 down).
    for i in 0..3 {
        packets.extend(conversation(
            (10 + i) * SEC,
            (attacker, 40_000 + i as u16),
            (victim, 22),
            100,
            100,
        ));
    }
    // Two probes (SYN, RST) to other ports in the window: 2 packets, 108 bytes each.
    for (i, port) in [23u16, 3389].into_iter().enumerate() {
        let t = (20 + i as i64) * SEC;
        packets.push(tcp(t, (attacker, 50_000), (victim, port), SYN, 0));
        packets.push(tcp(
            t + MS,
            (victim, port),
            (attacker, 50_000),
            RST | ACK,
            0,
        ));
    }
    // The same SSH traffic after the window (t = 100 s): benign by the rules.
    packets.extend(conversation(
        100 * SEC,
        (attacker, 41_000),
        (victim, 22),
        100,
        100,
    ));
    // Benign DNS from another host: 2 packets, 42 + 30 and 42 + 60 bytes.
    packets.push(udp(
        5 * SEC,
        ([10, 0, 0, 7], 5353),
        ([10, 0, 0, 53], 53),
        30,
    ));
    packets.push(udp(
        5 * SEC + MS,
        ([10, 0, 0, 53], 53),
        ([10, 0, 0, 7], 5353),
        60,
    ));
    packets
}

#[test]
fn class_balance_counts_flows_per_label_and_rule() {
    // T0 = 2023-11-14T22:13:20Z; the window is [T0 + 10 s, T0 + 30 s).
    let rules = "\
name,label,src,dst,dst_port,protocol,start,end
ssh,SSH-Patator,10.9.9.9,10.0.0.5,22,tcp,2023-11-14T22:13:30Z,2023-11-14T22:13:50Z
,PortScan,10.9.9.9,10.0.0.5,,tcp,2023-11-14T22:13:30Z,2023-11-14T22:13:50Z
";
    let out = run_labelled_query("class_balance", rules, class_balance_capture());
    // 7 flows: 3 SSH in the window (rule `ssh`), 2 probes (the unnamed rule on
    // line 3 of rules.csv), 1 SSH after the window and 1 DNS flow (BENIGN).
    // Shares: 3/7 = 42.857 %, 2/7 = 28.571 %.
    // Packets and bytes: SSH 3 x 8 = 24 and 3 x 632 = 1896; probes 2 x 2 = 4 and
    // 2 x 108 = 216; BENIGN 8 + 2 = 10 and 632 + 72 + 102 = 806.
    assert_eq!(
        out,
        csv(&[
            "label,label_rule,flows,pct_of_flows,packets,bytes,captures",
            "SSH-Patator,ssh,3,42.857,24,1896,1",
            "BENIGN,,2,28.571,10,806,1",
            "PortScan,rules.csv:3,2,28.571,4,216,1",
        ])
    );
}

// ---------------------------------------------------------------------------
// Every query: documented, in the README, tested
// ---------------------------------------------------------------------------

/// The column names listed under `-- Columns:` in a query's header: lines
/// indented by exactly three spaces, up to the next empty comment line.
fn documented_columns(header: &[&str]) -> Vec<String> {
    header
        .iter()
        .skip_while(|line| line.trim() != "-- Columns:")
        .skip(1)
        .take_while(|line| line.trim() != "--")
        .filter_map(|line| line.strip_prefix("--   "))
        .filter(|rest| !rest.starts_with(' '))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_query_is_documented_and_tested() {
    let dir = repo_root().join("queries");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("queries/ exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 8,
        "queries/ holds the saved queries: {names:?}"
    );

    let readme = std::fs::read_to_string(dir.join("README.md")).expect("queries/README.md");
    let tests: String = std::fs::read_to_string(repo_root().join("tests/queries.rs"))
        .expect("read tests/queries.rs")
        .split_whitespace()
        .collect();

    for name in &names {
        let text = std::fs::read_to_string(query_path(name)).expect("read query");
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with("--")).collect();
        let header_text = header.join("\n");
        for section in ["Finds:", "Why it matters:", "Columns:", "Tuning"] {
            assert!(
                header_text.contains(&format!("\n-- {section}")),
                "{name}.sql: the header comment at the top has no `-- {section}` section"
            );
        }

        // The documented columns are the columns the query returns (header
        // line of its CSV over an empty capture).
        let columns = documented_columns(&header);
        let out = if needs_labels(name) {
            run_labelled_query(name, "label\n", Vec::new())
        } else {
            run_sql_file(&query_path(name), Vec::new())
        };
        assert_eq!(
            out,
            format!("{}\n", columns.join(",")),
            "{name}.sql: columns returned vs documented in its header"
        );

        assert!(
            tests.contains(&format!("run_query(\"{name}\","))
                || tests.contains(&format!("run_labelled_query(\"{name}\",")),
            "queries/{name}.sql has no test: add one to tests/queries.rs that calls \
             run_query(\"{name}\", capture) on a capture with the pattern and near-misses"
        );
        assert!(
            readme.contains(&format!("`{name}.sql`")),
            "queries/README.md does not list {name}.sql"
        );
    }
}

// ---------------------------------------------------------------------------
// Application metadata: top_server_names.sql, tls_without_sni.sql,
// rare_client_fingerprints.sql, dns_long_names.sql, http_user_agents.sql
// ---------------------------------------------------------------------------

/// An Ethernet IPv4/TCP frame at T0 + `t` µs with sequence number `seq`:
/// 54 + payload bytes.
fn tcp_seq(t: i64, src: Ep4, dst: Ep4, tcp_flags: u8, seq: u32, payload: &[u8]) -> Pkt {
    let mut h = etherparse::TcpHeader::new(src.1, dst.1, seq, 64_000);
    h.syn = tcp_flags & SYN != 0;
    h.ack = tcp_flags & ACK != 0;
    h.psh = tcp_flags & PSH != 0;
    h.fin = tcp_flags & FIN != 0;
    if h.ack {
        h.acknowledgment_number = 1;
    }
    let mut out = Vec::new();
    etherparse::PacketBuilder::ipv4(src.0, dst.0, 64)
        .tcp_header(h)
        .write(&mut out, payload)
        .expect("build tcp");
    Pkt::new(T0_US + t, eth(&out))
}

/// A TCP connection whose client sends `request` and whose server answers
/// `response`, packets 1 ms apart from `t`: SYN, SYN+ACK, ACK, request,
/// response, FIN+ACK, FIN+ACK, ACK. 8 packets, 432 + request + response
/// bytes, last packet at t + 7 ms.
fn tcp_exchange(t: i64, client: Ep4, server: Ep4, request: &[u8], response: &[u8]) -> Vec<Pkt> {
    let up = 1 + request.len() as u32;
    let down = 1 + response.len() as u32;
    vec![
        tcp_seq(t, client, server, SYN, 0, &[]),
        tcp_seq(t + MS, server, client, SYN | ACK, 0, &[]),
        tcp_seq(t + 2 * MS, client, server, ACK, 1, &[]),
        tcp_seq(t + 3 * MS, client, server, PSH | ACK, 1, request),
        tcp_seq(t + 4 * MS, server, client, PSH | ACK, 1, response),
        tcp_seq(t + 5 * MS, client, server, FIN | ACK, up, &[]),
        tcp_seq(t + 6 * MS, server, client, FIN | ACK, down, &[]),
        tcp_seq(t + 7 * MS, client, server, ACK, up + 1, &[]),
    ]
}

fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// A TLS record holding a ClientHello: TLS 1.3 (supported_versions), the
/// given cipher suites, SNI when given, ALPN `h2`, signature algorithms
/// 0x0403 and 0x0804. Its JA4 is `t13`, then `d` (SNI) or `i`, the cipher
/// count, the extension count and `h2`, then the first 12 hex digits of the
/// SHA-256 of the ciphers ("1301,1302": 62ed6f6ca7ad; "1301,1302,1303":
/// 55b375c5d22e) and of "000d,002b_0403,0804" (ef5f37ab036a).
fn client_hello(sni: Option<&str>, ciphers: &[u16]) -> Vec<u8> {
    let mut extensions: Vec<(u16, Vec<u8>)> = Vec::new();
    if let Some(name) = sni {
        let mut entry = vec![0u8];
        entry.extend((name.len() as u16).to_be_bytes());
        entry.extend(name.as_bytes());
        let mut list = (entry.len() as u16).to_be_bytes().to_vec();
        list.extend(entry);
        extensions.push((0, list));
    }
    extensions.push((16, [&[0u8, 3, 2][..], b"h2"].concat()));
    extensions.push((43, vec![2, 0x03, 0x04]));
    extensions.push((13, [&[0u8, 4][..], &u16s(&[0x0403, 0x0804])].concat()));
    let mut ext_bytes = Vec::new();
    for (kind, data) in &extensions {
        ext_bytes.extend(kind.to_be_bytes());
        ext_bytes.extend((data.len() as u16).to_be_bytes());
        ext_bytes.extend(data);
    }
    let mut body = vec![0x03, 0x03];
    body.extend([7u8; 32]);
    body.push(0);
    body.extend((2 * ciphers.len() as u16).to_be_bytes());
    body.extend(u16s(ciphers));
    body.extend([1, 0]);
    body.extend((ext_bytes.len() as u16).to_be_bytes());
    body.extend(ext_bytes);
    let mut handshake = vec![1];
    handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// A DNS message: one question for `name` of type A, and no records.
fn dns_message(id: u16, response: bool, name: &str) -> Vec<u8> {
    let flags: u16 = if response { 0x8180 } else { 0x0100 };
    let mut m = u16s(&[id, flags, 1, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend(label.as_bytes());
    }
    m.push(0);
    m.extend(u16s(&[1, 1]));
    m
}

/// A DNS lookup over UDP at `t`: the query, and the answer 5 ms later.
/// 2 packets, 84 + 2 × (18 + name) bytes (12 header, name + 2, type and class 4).
fn dns_lookup(t: i64, client: Ep4, server: Ep4, name: &str) -> Vec<Pkt> {
    vec![
        Pkt::new(
            T0_US + t,
            eth(&ip4_udp(client, server, &dns_message(7, false, name))),
        ),
        Pkt::new(
            T0_US + t + 5 * MS,
            eth(&ip4_udp(server, client, &dns_message(7, true, name))),
        ),
    ]
}

fn http_request(method: &str, host: &str, user_agent: Option<&str>) -> Vec<u8> {
    let mut r = format!("{method} /index.html HTTP/1.1\r\nHost: {host}\r\n");
    if let Some(ua) = user_agent {
        r.push_str(&format!("User-Agent: {ua}\r\n"));
    }
    r.push_str("Accept: */*\r\n\r\n");
    r.into_bytes()
}

const HTTP_OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n";

/// Plain TCP and UDP traffic with no payload any parser reads.
fn no_app_capture() -> Vec<Pkt> {
    let mut p = conversation(0, ([10, 0, 0, 1], 40000), ([10, 0, 0, 2], 443), 100, 200);
    p.push(udp(SEC, ([10, 0, 0, 1], 40001), ([10, 0, 0, 2], 53), 0));
    p
}

fn time(offset_us: i64) -> String {
    let seconds = 1_700_000_000 + offset_us / SEC;
    let us = offset_us % SEC;
    let minutes = (seconds / 60) % 60;
    let hours = (seconds / 3600) % 24;
    format!(
        "2023-11-14T{hours:02}:{minutes:02}:{:02}.{us:06}Z",
        seconds % 60
    )
}

const TOP_NAMES_HEADER: &str =
    "rank,server_name,registered_domain,protocols,flows,clients,servers,bytes,first_seen,last_seen";

#[test]
fn top_server_names_ranks_names_across_protocols() {
    let web: Ep4 = ([93, 184, 216, 34], 443);
    let resolver: Ep4 = ([10, 0, 0, 53], 53);
    let api: Ep4 = ([198, 51, 100, 7], 8080);
    let hello = client_hello(Some("www.example.com"), &[0x1301, 0x1302]);
    let request = http_request("GET", "api.example.co.uk:8080", Some("curl/8.0"));
    let mut p = Vec::new();
    // www.example.com: TLS from 10.0.0.1 at 0 s and from 10.0.0.2 at 1 s,
    // looked up by 10.0.0.1 at 2 s. 3 flows, 2 clients, 2 server addresses;
    // bytes 2 × (432 + hello) + 84 + 2 × (18 + 15).
    p.extend(tcp_exchange(0, ([10, 0, 0, 1], 40000), web, &hello, &[]));
    p.extend(tcp_exchange(SEC, ([10, 0, 0, 2], 40000), web, &hello, &[]));
    p.extend(dns_lookup(
        2 * SEC,
        ([10, 0, 0, 1], 50000),
        resolver,
        "www.example.com",
    ));
    // api.example.co.uk: HTTP to port 8080 at 3 s; the Host's port is not
    // part of the name. 432 + request + response bytes.
    p.extend(tcp_exchange(
        3 * SEC,
        ([10, 0, 0, 1], 40001),
        api,
        &request,
        HTTP_OK,
    ));
    let www_bytes = 2 * (432 + hello.len()) + 84 + 2 * (18 + 15);
    let api_bytes = 432 + request.len() + HTTP_OK.len();
    let rows = [
        TOP_NAMES_HEADER.to_string(),
        format!(
            "1,www.example.com,example.com,dns tls,3,2,2,{www_bytes},{},{}",
            time(0),
            time(2 * SEC + 5 * MS)
        ),
        format!(
            "2,api.example.co.uk,example.co.uk,http,1,1,1,{api_bytes},{},{}",
            time(3 * SEC),
            time(3 * SEC + 7 * MS)
        ),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    assert_eq!(run_query("top_server_names", p.clone()), csv(&rows));

    // By registered domain, names with at least 2 flows: example.com only.
    let tuned = run_tuned(
        "top_server_names",
        &[
            ("1 as min_flows", "2 as min_flows"),
            ("0 as by_domain", "1 as by_domain"),
        ],
        p,
    );
    let row = format!(
        "1,example.com,example.com,dns tls,3,2,2,{www_bytes},{},{}",
        time(0),
        time(2 * SEC + 5 * MS)
    );
    assert_eq!(tuned, csv(&[TOP_NAMES_HEADER, &row]));

    // Traffic without names: nothing.
    assert_eq!(
        run_query("top_server_names", no_app_capture()),
        csv(&[TOP_NAMES_HEADER])
    );
}

const NO_SNI_HEADER: &str =
    "src_ip,dst_ip,dst_port,app_protocol,flows,ja4,alpn,bytes,first_seen,last_seen";

#[test]
fn tls_without_sni_finds_clients_that_name_no_server() {
    let bare: Ep4 = ([203, 0, 113, 9], 443);
    let named: Ep4 = ([93, 184, 216, 34], 443);
    let no_sni = client_hello(None, &[0x1301, 0x1302]);
    let with_sni = client_hello(Some("www.example.com"), &[0x1301, 0x1302]);
    let mut p = Vec::new();
    // Two connections without SNI to 203.0.113.9:443 at 0 s and 1 s.
    p.extend(tcp_exchange(0, ([10, 0, 0, 1], 40000), bare, &no_sni, &[]));
    p.extend(tcp_exchange(
        SEC,
        ([10, 0, 0, 1], 40001),
        bare,
        &no_sni,
        &[],
    ));
    // With SNI: not listed.
    p.extend(tcp_exchange(
        2 * SEC,
        ([10, 0, 0, 1], 40002),
        named,
        &with_sni,
        &[],
    ));
    let row = format!(
        "10.0.0.1,203.0.113.9,443,tls,2,t13i0203h2_62ed6f6ca7ad_ef5f37ab036a,h2,{},{},{}",
        2 * (432 + no_sni.len()),
        time(0),
        time(SEC + 7 * MS)
    );
    assert_eq!(run_query("tls_without_sni", p), csv(&[NO_SNI_HEADER, &row]));

    // Every client names its server: nothing.
    let mut p = tcp_exchange(0, ([10, 0, 0, 1], 40000), named, &with_sni, &[]);
    p.extend(no_app_capture());
    assert_eq!(run_query("tls_without_sni", p), csv(&[NO_SNI_HEADER]));
}

const RARE_JA4_HEADER: &str = "ja4,ja4_a,hosts,clients,flows,server_names,first_seen,last_seen";

/// Clients 10.0.0.1 and 10.0.0.2 with the two-cipher hello; 10.0.0.3 with
/// the three-cipher one (`odd`) or the common one.
fn fingerprint_capture(odd: bool) -> Vec<Pkt> {
    let server: Ep4 = ([93, 184, 216, 34], 443);
    let common = client_hello(Some("www.example.com"), &[0x1301, 0x1302]);
    let rare = client_hello(Some("c2.example.net"), &[0x1301, 0x1302, 0x1303]);
    let mut p = Vec::new();
    p.extend(tcp_exchange(
        0,
        ([10, 0, 0, 1], 40000),
        server,
        &common,
        &[],
    ));
    p.extend(tcp_exchange(
        SEC,
        ([10, 0, 0, 2], 40000),
        server,
        &common,
        &[],
    ));
    p.extend(tcp_exchange(
        SEC,
        ([10, 0, 0, 2], 40001),
        server,
        &common,
        &[],
    ));
    let third = if odd { &rare } else { &common };
    p.extend(tcp_exchange(
        2 * SEC,
        ([10, 0, 0, 3], 40000),
        server,
        third,
        &[],
    ));
    p
}

#[test]
fn rare_client_fingerprints_finds_a_fingerprint_of_one_host() {
    let row = format!(
        "t13d0304h2_55b375c5d22e_ef5f37ab036a,t13d0304h2,1,10.0.0.3,1,c2.example.net,{},{}",
        time(2 * SEC),
        time(2 * SEC + 7 * MS)
    );
    assert_eq!(
        run_query("rare_client_fingerprints", fingerprint_capture(true)),
        csv(&[RARE_JA4_HEADER, &row])
    );
    // Everyone uses the same client: nothing.
    assert_eq!(
        run_query("rare_client_fingerprints", fingerprint_capture(false)),
        csv(&[RARE_JA4_HEADER])
    );
    // Fewer than min_population (3) clients: no fingerprint is rare.
    let tuned = run_tuned(
        "rare_client_fingerprints",
        &[("3 as min_population", "5 as min_population")],
        fingerprint_capture(true),
    );
    assert_eq!(tuned, csv(&[RARE_JA4_HEADER]));
}

const DNS_LONG_HEADER: &str =
    "src_ip,domain,names,flows,longest_name,longest_label,max_entropy,example,first_seen,last_seen";

/// A 50-character base32 label (entropy with the `t` label below it: 4.67).
const BASE32_LABEL: &str = "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpjaxcmrsgm";
/// 26 random characters: entropy 4.70.
const RANDOM_LABEL: &str = "k9x2qz7vbn4wm1pl8hr5tj3ydc";

fn dns_names_capture(names: &[String]) -> Vec<Pkt> {
    let resolver: Ep4 = ([10, 0, 0, 53], 53);
    let mut p = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let client: Ep4 = ([10, 0, 0, 5], 50000 + i as u16);
        p.extend(dns_lookup(i as i64 * SEC, client, resolver, name));
    }
    p
}

#[test]
fn dns_long_names_finds_tunnel_like_lookups() {
    let reversed: String = BASE32_LABEL.chars().rev().collect();
    let names = [
        // Label of 50 characters: 50 + 1 + 1 + 1 + 16 = 69 characters.
        format!("{BASE32_LABEL}.t.evil-example.com"),
        format!("{reversed}.t.evil-example.com"),
        // Subdomain of 26 characters with entropy 4.70 >= 4.0.
        format!("{RANDOM_LABEL}.evil-example.com"),
        // Ordinary names and near-misses: a 39-character label; a random
        // subdomain of 23 characters.
        "www.google.com".to_string(),
        "mail.example.org".to_string(),
        format!("{}.example.org", "a".repeat(39)),
        format!("{}.example.org", &RANDOM_LABEL[..23]),
    ];
    let row = format!(
        "10.0.0.5,evil-example.com,3,3,69,50,4.7,{BASE32_LABEL}.t.evil-example.com,{},{}",
        time(0),
        time(2 * SEC + 5 * MS)
    );
    assert_eq!(
        run_query("dns_long_names", dns_names_capture(&names)),
        csv(&[DNS_LONG_HEADER, &row])
    );
    // Only the ordinary names and near-misses: nothing.
    assert_eq!(
        run_query("dns_long_names", dns_names_capture(&names[3..])),
        csv(&[DNS_LONG_HEADER])
    );
    // With a lower label threshold the 39-character label is listed.
    let tuned = run_tuned(
        "dns_long_names",
        &[("40 as min_label", "39 as min_label")],
        dns_names_capture(&names[3..]),
    );
    let row = format!(
        "10.0.0.5,example.org,1,1,51,39,0.0,{}.example.org,{},{}",
        "a".repeat(39),
        time(2 * SEC),
        time(2 * SEC + 5 * MS)
    );
    assert_eq!(tuned, csv(&[DNS_LONG_HEADER, &row]));
}

const UA_HEADER: &str =
    "rank,http_user_agent,flows,requests,clients,servers,methods,first_seen,last_seen";

#[test]
fn http_user_agents_lists_clients_by_user_agent() {
    let server: Ep4 = ([198, 51, 100, 7], 80);
    let browser = "Mozilla/5.0 (X11; Linux x86_64)";
    let mut p = Vec::new();
    let get = |host: &str, ua: Option<&str>| http_request("GET", host, ua);
    p.extend(tcp_exchange(
        0,
        ([10, 0, 0, 1], 40000),
        server,
        &get("a.example", Some(browser)),
        HTTP_OK,
    ));
    p.extend(tcp_exchange(
        SEC,
        ([10, 0, 0, 2], 40000),
        server,
        &get("b.example", Some(browser)),
        HTTP_OK,
    ));
    p.extend(tcp_exchange(
        2 * SEC,
        ([10, 0, 0, 3], 40000),
        ([198, 51, 100, 8], 8080),
        &http_request("POST", "c.example:8080", Some("curl/8.0")),
        HTTP_OK,
    ));
    p.extend(tcp_exchange(
        3 * SEC,
        ([10, 0, 0, 4], 40000),
        server,
        &get("a.example", None),
        HTTP_OK,
    ));
    let rows = [
        UA_HEADER.to_string(),
        format!("1,{browser},2,2,2,2,GET,{},{}", time(0), time(SEC + 7 * MS)),
        format!(
            "2,curl/8.0,1,1,1,1,POST,{},{}",
            time(2 * SEC),
            time(2 * SEC + 7 * MS)
        ),
        format!(
            "3,,1,1,1,1,GET,{},{}",
            time(3 * SEC),
            time(3 * SEC + 7 * MS)
        ),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    assert_eq!(run_query("http_user_agents", p.clone()), csv(&rows));
    // User-Agents of one client only, ranked among themselves.
    let tuned = run_tuned(
        "http_user_agents",
        &[("1000000 as max_clients", "1 as max_clients")],
        p,
    );
    let rows = [
        UA_HEADER.to_string(),
        format!(
            "1,curl/8.0,1,1,1,1,POST,{},{}",
            time(2 * SEC),
            time(2 * SEC + 7 * MS)
        ),
        format!(
            "2,,1,1,1,1,GET,{},{}",
            time(3 * SEC),
            time(3 * SEC + 7 * MS)
        ),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    assert_eq!(tuned, csv(&rows));
    // No HTTP: nothing.
    assert_eq!(
        run_query("http_user_agents", fingerprint_capture(true)),
        csv(&[UA_HEADER])
    );
}
