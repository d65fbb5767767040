//! flowq on a Ballista cluster, end to end: a `flowq scheduler` and two
//! `flowq executor`s as child processes on loopback ports chosen at run time,
//! the saved queries and capture scans run with `--cluster`, and every result
//! compared with the same query run in-process.
//!
//! Children are killed when their guard drops, so a failing assertion leaves
//! no process behind; readiness is polled (the scheduler's `/readyz` probe)
//! with a deadline rather than slept for.

use crate::util::capture::{
    Ep4, LINKTYPE_ETHERNET, Pkt, T0_US, eth, flags::*, ip4_tcp, ip4_udp, write_pcap,
};
use crate::util::{flowq_bin, repo_root, shared_pcaps};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a cluster gets to come up.
const START_DEADLINE: Duration = Duration::from_secs(90);

/// A child process that is killed and reaped when dropped.
struct Guard {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Guard {
    fn spawn(name: &str, args: &[String], dir: &Path) -> Guard {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(flowq_bin())
            .args(args)
            // A working directory of its own: nothing may depend on sharing
            // the client's.
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Guard {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// The exit status if the process has ended.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.log_text());
        }
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The number of executors the scheduler's readiness probe reports, if it answers.
fn registered_executors(port: u16) -> Option<usize> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    // "ready: 2 executors registered" or "not ready: 0/1 executors registered"
    let after = response.split("ready: ").nth(1)?;
    after
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

/// A scheduler and its executors, stopped on drop (executors first).
struct Cluster {
    executors: Vec<Guard>,
    scheduler: Guard,
    port: u16,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start(executors: usize, tasks_per_executor: u16) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        // Another process may take a port between choosing and binding it:
        // then the child exits at once and we try other ports.
        let (scheduler, port) = (0..5)
            .find_map(|_| {
                let port = free_port();
                let args = [
                    "scheduler".into(),
                    "--bind".into(),
                    format!("127.0.0.1:{port}"),
                ];
                let mut guard = Guard::spawn("scheduler", &args, dir.path());
                let deadline = Instant::now() + START_DEADLINE;
                while Instant::now() < deadline {
                    if guard.exited().is_some() {
                        return None;
                    }
                    if registered_executors(port).is_some() {
                        return Some((guard, port));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                panic!(
                    "the scheduler did not answer within {START_DEADLINE:?}:\n{}",
                    guard.log_text()
                );
            })
            .expect("no free port for the scheduler");
        let mut cluster = Cluster {
            executors: Vec::new(),
            scheduler,
            port,
            dir,
        };
        for n in 0..executors {
            cluster.add_executor(n, tasks_per_executor);
        }
        cluster
    }

    fn add_executor(&mut self, n: usize, tasks: u16) {
        for _ in 0..5 {
            let (flight, grpc) = (free_port(), free_port());
            if flight == grpc {
                continue;
            }
            let work = self.dir.path().join(format!("work{n}"));
            let args: Vec<String> = vec![
                "executor".into(),
                "--scheduler".into(),
                format!("127.0.0.1:{}", self.port),
                "--bind".into(),
                format!("127.0.0.1:{flight}"),
                "--grpc-port".into(),
                grpc.to_string(),
                "-j".into(),
                tasks.to_string(),
                "--work-dir".into(),
                work.display().to_string(),
            ];
            let mut guard = Guard::spawn(&format!("executor{n}"), &args, self.dir.path());
            let wanted = self.executors.len() + 1;
            let deadline = Instant::now() + START_DEADLINE;
            loop {
                if guard.exited().is_some() {
                    break;
                }
                if registered_executors(self.port).is_some_and(|k| k >= wanted) {
                    self.executors.push(guard);
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "executor {n} did not register within {START_DEADLINE:?}:\n{}\n--- scheduler ---\n{}",
                    guard.log_text(),
                    self.scheduler.log_text()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(
                self.scheduler.exited().is_none(),
                "the scheduler died:\n{}",
                self.scheduler.log_text()
            );
        }
        panic!("executor {n} could not start on free ports");
    }

    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Executors first, so that none is left trying to reach a dead scheduler.
        self.executors.clear();
    }
}

/// Longest a single query may take before the test calls it hung.
const QUERY_DEADLINE: Duration = Duration::from_secs(300);

/// Runs flowq and returns its output; a run past [`QUERY_DEADLINE`] is killed
/// and fails the test (a cluster job that never finishes must not hang CI).
fn flowq(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(flowq_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("the flowq binary runs");
    let deadline = Instant::now() + QUERY_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("flowq {args:?} did not finish within {QUERY_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    }
}

/// Runs a query locally and on the cluster; both must succeed with the same CSV.
fn same_on_cluster(cluster: &Cluster, what: &str, args: &[&str]) -> String {
    let mut local_args = vec!["query", "--format", "csv", "--maxrows", "0"];
    local_args.extend_from_slice(args);
    let local = flowq(&local_args);
    assert!(
        local.status.success(),
        "{what} locally: {}",
        String::from_utf8_lossy(&local.stderr)
    );
    let url = cluster.url();
    let mut remote_args = local_args.clone();
    remote_args.extend_from_slice(&["--cluster", &url]);
    let remote = flowq(&remote_args);
    assert!(
        remote.status.success(),
        "{what} on the cluster: {}",
        String::from_utf8_lossy(&remote.stderr)
    );
    let (local, remote) = (
        String::from_utf8(local.stdout).unwrap(),
        String::from_utf8(remote.stdout).unwrap(),
    );
    assert_eq!(remote, local, "{what}: the cluster's result differs");
    local
}

/// A capture with traffic the saved queries look for: a vertical port scan, a
/// beacon, DNS, a long connection and a large upload from a private host.
fn patterned_capture(path: &Path) {
    let ms = 1_000i64;
    let tcp = |t: i64, s: Ep4, d: Ep4, f: u8, n: usize| {
        Pkt::new(T0_US + t, eth(&ip4_tcp(s, d, f, &vec![0; n])))
    };
    let udp =
        |t: i64, s: Ep4, d: Ep4, n: usize| Pkt::new(T0_US + t, eth(&ip4_udp(s, d, &vec![0; n])));
    let mut packets = Vec::new();
    let scanner = [10, 0, 0, 66];
    let target = [10, 0, 0, 5];
    for port in 1..=120u16 {
        packets.push(tcp(
            i64::from(port) * ms,
            (scanner, 40_000),
            (target, port),
            SYN,
            0,
        ));
    }
    let client = [192, 168, 1, 20];
    let c2 = [203, 0, 113, 9];
    for k in 0..12i64 {
        let t = 1_000 * ms + k * 60_000 * ms;
        let src = (client, 50_000 + k as u16);
        packets.push(tcp(t, src, (c2, 443), SYN, 0));
        packets.push(tcp(t + ms, (c2, 443), src, SYN | ACK, 0));
        packets.push(tcp(t + 2 * ms, src, (c2, 443), ACK | PSH, 200));
        packets.push(tcp(t + 3 * ms, (c2, 443), src, ACK | PSH, 300));
        packets.push(tcp(t + 4 * ms, src, (c2, 443), FIN | ACK, 0));
        packets.push(tcp(t + 5 * ms, (c2, 443), src, FIN | ACK, 0));
        packets.push(udp(
            t + 10 * ms,
            (client, 53_000 + k as u16),
            ([8, 8, 8, 8], 53),
            40,
        ));
        packets.push(udp(
            t + 11 * ms,
            ([8, 8, 8, 8], 53),
            (client, 53_000 + k as u16),
            120,
        ));
    }
    let uploader = ([10, 1, 2, 3], 41_000);
    for k in 0..400i64 {
        packets.push(tcp(
            2_000 * ms + k * 2_000 * ms,
            uploader,
            ([198, 51, 100, 7], 22),
            ACK | PSH,
            1400,
        ));
    }
    packets.sort_by_key(|p| p.ts_ns);
    write_pcap(path, LINKTYPE_ETHERNET, false, &packets);
}

/// Several captures in one directory: generated ones, the sample, and a few
/// from the shared corpus when it is present.
fn captures(dir: &Path) -> PathBuf {
    let caps = dir.join("captures");
    std::fs::create_dir_all(&caps).unwrap();
    patterned_capture(&caps.join("patterns.pcap"));
    std::fs::copy(
        repo_root().join("testdata/sample.pcap"),
        caps.join("sample.pcap"),
    )
    .unwrap();
    if let Some(corpus) = shared_pcaps() {
        for name in [
            "nfstream/instagram.pcap",
            "ndpi/1kxun.pcap",
            "nfstream/anyconnect-vpn.pcap",
            "suricata-verify/tls-subjectaltname.pcap",
        ] {
            let from = corpus.join(name);
            let to = caps.join(name.replace('/', "-"));
            std::fs::copy(&from, &to)
                .unwrap_or_else(|e| panic!("corpus capture {}: {e}", from.display()));
        }
    }
    caps
}

fn saved_queries() -> Vec<PathBuf> {
    let mut queries: Vec<PathBuf> = std::fs::read_dir(repo_root().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    queries.sort();
    assert!(queries.len() >= 8);
    queries
}

#[test]
fn the_cluster_gives_the_same_results_as_local_execution() {
    let cluster = Cluster::start(2, 2);
    let caps = captures(cluster.dir.path());
    let caps = caps.to_str().unwrap();
    let files = std::fs::read_dir(caps).unwrap().count();
    assert!(files >= 2);

    // One task per capture file: every file's flows, column by column.
    let scan = same_on_cluster(
        &cluster,
        "capture scan",
        &[
            "select capture, count(*) as flows, sum(pkt_count) as packets, sum(byte_count) as bytes, \
             min(first_seen) as first, max(last_seen) as last from flows group by capture order by capture",
            "--pcap",
            caps,
        ],
    );
    assert_eq!(
        scan.lines().count(),
        files + 1,
        "a row per capture:\n{scan}"
    );
    same_on_cluster(
        &cluster,
        "every flow",
        &[
            "select * from flows order by capture, flow_id",
            "--pcap",
            caps,
        ],
    );
    same_on_cluster(
        &cluster,
        "packets",
        &[
            "select capture, protocol, count(*) as n, sum(length) as bytes from packets \
             group by capture, protocol order by capture, protocol",
            "--pcap",
            caps,
        ],
    );
    same_on_cluster(
        &cluster,
        "network functions",
        &[
            "select is_private(src_ip) as private, ip_version(src_ip) as v, \
             cidr_match(dst_ip, '10.0.0.0/8') as ten, service_name(dst_port, protocol) as service, \
             sum(ip_to_int(src_ip) % 1000) as h, count(*) as n from flows group by 1, 2, 3, 4 \
             order by 1, 2, 3, 4",
            "--pcap",
            caps,
        ],
    );

    // The saved queries, over the captures and over a Parquet extraction of them.
    let parquet = cluster.dir.path().join("flows.parquet");
    let extracted = flowq(&["extract", caps, "-o", parquet.to_str().unwrap(), "--quiet"]);
    assert!(
        extracted.status.code() == Some(0) || extracted.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&extracted.stderr)
    );
    // A labelled dataset directory, for the queries that need labels.
    let dataset = cluster.dir.path().join("dataset");
    let rules = repo_root().join("testdata/labels-example.csv");
    let dataset_dir = format!("{}/", dataset.display());
    let labelled = flowq(&[
        "extract",
        caps,
        "-o",
        &dataset_dir,
        "--labels",
        rules.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        labelled.status.code() == Some(0) || labelled.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&labelled.stderr)
    );
    let mut reported = 0;
    for query in saved_queries() {
        let file = query.to_str().unwrap();
        let name = query.file_name().unwrap().to_string_lossy().into_owned();
        let sql = std::fs::read_to_string(&query).unwrap();
        if sql.contains("\n-- Needs: a labelled dataset") {
            let rows = same_on_cluster(
                &cluster,
                &format!("{name} over a labelled dataset"),
                &["-f", file, "--data", dataset.to_str().unwrap()],
            );
            reported += rows.lines().count().saturating_sub(1);
            continue;
        }
        let rows = same_on_cluster(&cluster, &name, &["-f", file, "--pcap", caps]);
        reported += rows.lines().count().saturating_sub(1);
        same_on_cluster(
            &cluster,
            &format!("{name} over Parquet"),
            &["-f", file, "--data", parquet.to_str().unwrap()],
        );
    }
    assert!(reported > 0, "the saved queries found nothing to compare");

    // A join with a CSV table.
    let hosts = repo_root().join("testdata/hosts.csv");
    same_on_cluster(
        &cluster,
        "join with a CSV table",
        &[
            "select h.ip, h.role, count(f.flow_id) as flows from hosts h left join flows f \
             on f.src_ip = h.ip group by h.ip, h.role order by h.ip",
            "--data",
            parquet.to_str().unwrap(),
            "--table",
            &format!("hosts={}", hosts.display()),
        ],
    );
}

#[test]
fn an_unreadable_capture_names_the_path_and_the_executor() {
    let cluster = Cluster::start(1, 1);
    let bad = cluster.dir.path().join("not-a-capture.pcap");
    std::fs::write(&bad, b"this is not a packet capture at all, just text").unwrap();
    let url = cluster.url();
    let out = flowq(&[
        "query",
        "select count(*) from flows",
        "--pcap",
        bad.to_str().unwrap(),
        "--cluster",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(bad.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("on executor 127.0.0.1:"), "{stderr}");
    // The executor's message and the job, without Ballista's wrapping.
    assert!(
        stderr.contains("the cluster could not run the query (job "),
        "{stderr}"
    );
    assert!(!stderr.contains("DataFusionError("), "{stderr}");
}

#[test]
fn a_missing_scheduler_is_a_clear_error() {
    let port = free_port();
    let url = format!("df://127.0.0.1:{port}");
    let started = Instant::now();
    let out = flowq(&["query", "select 1", "--cluster", &url]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot reach the scheduler"), "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30));

    let out = flowq(&["query", "select 1", "--cluster", "http://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("df://HOST:PORT"));
}

#[test]
fn servers_refuse_a_taken_port() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = flowq(&["scheduler", "--bind", &format!("127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("127.0.0.1:{port}")));
    let out = flowq(&["executor", "--bind", &format!("127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(2));
}
