//! SQL over flows: results checked against the capture generator's ground truth
//! and against independent paths (extract then query, joins vs filters), output
//! formats, errors, the shell, and the examples in docs/sql.md.

use crate::util::{flowq_bin, flowq_in, repo_root};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// flowq run from the repository root (the examples use `testdata/` paths).
fn flowq(args: &[&str]) -> Output {
    flowq_in(&repo_root(), args)
}

fn ok_stdout(args: &[&str]) -> String {
    let out = flowq(args);
    assert!(
        out.status.success(),
        "flowq {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn err_of(args: &[&str]) -> String {
    let out = flowq(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "flowq {args:?} should fail with 2"
    );
    String::from_utf8(out.stderr).unwrap()
}

const SAMPLE: &str = "testdata/sample.pcap";

/// `testdata/sample.pcap.truth.json` was written by the generator of the capture.
fn truth(key: &str) -> u64 {
    let text =
        std::fs::read_to_string(repo_root().join("testdata/sample.pcap.truth.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v[key].as_u64().unwrap()
}

#[test]
fn capture_tables_match_the_generator_truth() {
    let flows = ok_stdout(&[
        "select count(*) as flows, sum(pkt_count) as packets, sum(byte_count) as bytes, \
         sum(syn_count) as syns from flows",
        "--pcap",
        SAMPLE,
    ]);
    let expected = format!(
        "flows,packets,bytes,syns\n{},{},{},{}\n",
        truth("distinct_biflows"),
        truth("packets"),
        truth("wire_bytes"),
        truth("syn_packets")
    );
    assert_eq!(flows, expected);
    let packets = ok_stdout(&[
        "select count(*) as packets, sum(length) as bytes, count(distinct flow_id) as flows from packets",
        "--pcap",
        SAMPLE,
    ]);
    assert_eq!(
        packets,
        format!(
            "packets,bytes,flows\n{},{},{}\n",
            truth("packets"),
            truth("wire_bytes"),
            truth("distinct_biflows")
        )
    );
}

/// Flows queried straight from the capture equal flows extracted to Parquet and
/// queried from the file: two independent paths through the engine.
#[test]
fn capture_scan_equals_extract_then_query() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("flows.parquet");
    let out = flowq(&["extract", SAMPLE, "-o", parquet.to_str().unwrap(), "-q"]);
    assert!(out.status.success());
    let query = "select flow_id, src_ip, dst_ip, src_port, dst_port, protocol, first_seen, \
                 duration, pkt_count, byte_count, fwd_payload_bytes, end_reason from flows order by flow_id";
    let from_capture = ok_stdout(&[query, "--pcap", SAMPLE]);
    let from_file = ok_stdout(&[query, "--data", parquet.to_str().unwrap()]);
    assert_eq!(
        from_capture.lines().count(),
        1 + truth("distinct_biflows") as usize
    );
    assert_eq!(from_capture, from_file);
}

/// Every packet row joins its flow, and per-flow packet counts agree.
#[test]
fn packets_join_their_flows() {
    let mismatches = ok_stdout(&[
        "select count(*) as mismatches from flows f \
         join (select flow_id, count(*) as n, sum(length) as b from packets group by flow_id) p \
         on f.flow_id = p.flow_id where f.pkt_count <> p.n or f.byte_count <> p.b",
        "--pcap",
        SAMPLE,
    ]);
    assert_eq!(mismatches, "mismatches\n0\n");
    let directions = ok_stdout(&[
        "select sum(case when direction = 'fwd' then 1 else 0 end) as fwd, \
                sum(case when direction = 'bwd' then 1 else 0 end) as bwd from packets",
        "--pcap",
        SAMPLE,
    ]);
    let totals = ok_stdout(&[
        "select sum(fwd_pkt_count) as fwd, sum(bwd_pkt_count) as bwd from flows",
        "--pcap",
        SAMPLE,
    ]);
    assert_eq!(directions, totals);
}

/// A join with a second table gives what filtering on its keys gives.
#[test]
fn join_with_a_label_table() {
    let joined = ok_stdout(&[
        "select h.ip, count(*) as flows, sum(f.byte_count) as bytes from flows f \
         join hosts h on f.src_ip = h.ip group by h.ip order by h.ip",
        "--pcap",
        SAMPLE,
        "--table",
        "hosts=testdata/hosts.csv",
    ]);
    let filtered = ok_stdout(&[
        "select src_ip as ip, count(*) as flows, sum(byte_count) as bytes from flows \
         where src_ip in ('10.1.0.10', '10.1.0.4') group by src_ip order by src_ip",
        "--pcap",
        SAMPLE,
    ]);
    assert_eq!(joined, filtered);
    assert_eq!(joined.lines().count(), 3, "{joined}");
}

#[test]
fn result_formats() {
    let sql = "select protocol, count(*) as n from flows group by protocol order by protocol";
    let json = ok_stdout(&[sql, "--pcap", SAMPLE, "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows[1]["protocol"], 6);
    assert_eq!(rows[1]["n"], truth("tcp_flows"));
    let ndjson = ok_stdout(&[sql, "--pcap", SAMPLE, "--format", "ndjson"]);
    assert_eq!(ndjson.lines().count(), 4);
    assert_eq!(ndjson.lines().next(), Some(r#"{"protocol":1,"n":2}"#));

    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("r.parquet");
    ok_stdout(&[sql, "--pcap", SAMPLE, "-o", parquet.to_str().unwrap()]);
    assert_eq!(&std::fs::read(&parquet).unwrap()[..4], b"PAR1");
    let back = ok_stdout(&[
        "select sum(n) as n from flows",
        "--data",
        parquet.to_str().unwrap(),
    ]);
    assert_eq!(back, format!("n\n{}\n", truth("distinct_biflows")));

    let table = ok_stdout(&[sql, "--pcap", SAMPLE, "--format", "table", "--maxrows", "2"]);
    assert!(table.contains("| 1        | 2  |"), "{table}");
    assert!(
        table.ends_with("4 rows (2 shown; --maxrows 0 shows all, --format csv streams them)\n"),
        "{table}"
    );
}

/// `COPY ... PARTITIONED BY` writes hive-style directories; `--data DIR` reads the
/// partition key back as a column.
#[test]
fn hive_partitioned_directories_become_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("flows_by_proto");
    ok_stdout(&[
        &format!(
            "copy (select flow_id, byte_count, protocol from flows) to '{}' stored as parquet partitioned by (protocol)",
            out_dir.display()
        ),
        "--pcap",
        SAMPLE,
    ]);
    assert!(out_dir.join("protocol=6").is_dir());
    let counts = ok_stdout(&[
        "select cast(protocol as int) as protocol, count(*) as n from flows group by 1 order by 1",
        "--data",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(counts, "protocol,n\n1,2\n6,45\n17,12\n58,1\n");
}

#[test]
fn errors_are_clear() {
    let syntax = err_of(&["selec 1 from flows", "--pcap", SAMPLE]);
    assert!(syntax.contains("at line 1, column 1"), "{syntax}");

    let table = err_of(&["select * from nope", "--pcap", SAMPLE]);
    assert!(
        table.contains("nope") && table.contains("tables: flows, packets"),
        "{table}"
    );

    let column = err_of(&["select no_such_column from flows", "--pcap", SAMPLE]);
    assert!(
        column.contains("no_such_column") && column.contains("src_ip"),
        "{column}"
    );

    let missing = err_of(&["select 1", "--data", "does/not/exist.parquet"]);
    assert!(missing.contains("does/not/exist.parquet"), "{missing}");

    let capture = err_of(&["select 1", "--pcap", "does/not/exist.pcap"]);
    assert!(capture.contains("does/not/exist.pcap"), "{capture}");

    // No data at all: the message says where flowq looked.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(flowq_bin())
        .args(["select count(*) from flows"])
        .current_dir(dir.path())
        .env_remove("FLOWQ_DATA")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("./flows.parquet") && text.contains("$FLOWQ_DATA"),
        "{text}"
    );
}

#[test]
fn flows_data_default_comes_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("x.parquet");
    flowq(&["extract", SAMPLE, "-o", parquet.to_str().unwrap(), "-q"]);
    let out = Command::new(flowq_bin())
        .args(["select count(*) as n from flows"])
        .env("FLOWQ_DATA", &parquet)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("n\n{}\n", truth("distinct_biflows"))
    );
}

/// No query text makes flowq panic: odd statements give an error or a result.
#[test]
fn odd_query_texts_do_not_panic() {
    for sql in [
        "",
        ";",
        "select",
        "select 1/0",
        "select * from flows where",
        "select chr(0)",
        "explain select * from flows",
        "select cast('x' as int)",
        "select * from flows limit 0",
        "select count(*) from flows, packets",
    ] {
        let out = flowq(&["query", sql, "--pcap", SAMPLE]);
        let code = out.status.code();
        assert!(matches!(code, Some(0 | 2)), "{sql:?} exited with {code:?}");
    }
}

#[test]
fn shell_runs_piped_statements_and_commands() {
    let mut child = Command::new(flowq_bin())
        .args(["shell", "--pcap", SAMPLE])
        .current_dir(repo_root())
        .env(
            "FLOWQ_HISTORY",
            std::env::temp_dir().join("flowq-test-history"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\\format csv\nselect count(*) as n\n  from flows;\n\\d\n\\q\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text,
        format!("n\n{}\nflows\npackets\n", truth("distinct_biflows"))
    );
}

/// Splits a documented command line into arguments (double and single quotes).
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Runs every `console` example of a doc page: `$ flowq ...` then the exact output.
fn run_console_examples(page: &Path) -> usize {
    let text = std::fs::read_to_string(page).unwrap();
    let mut examples = 0;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```console" {
            continue;
        }
        let command = lines.next().unwrap();
        let command = command
            .strip_prefix("$ ")
            .expect("a console block starts with `$ `");
        let mut expected = String::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            expected.push_str(line);
            expected.push('\n');
        }
        let words = split_words(command);
        assert_eq!(words[0], "flowq", "{command}");
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        assert_eq!(
            ok_stdout(&args),
            expected,
            "example in {}: {command}",
            page.display()
        );
        examples += 1;
    }
    examples
}

#[test]
fn sql_doc_examples_are_true() {
    let n = run_console_examples(&repo_root().join("docs/sql.md"));
    assert!(n >= 4, "docs/sql.md lost its examples");
}

#[test]
fn word_splitting_follows_quotes() {
    assert_eq!(
        split_words(r#"flowq "select 'a b' from t" --x 'y z'"#),
        ["flowq", "select 'a b' from t", "--x", "y z"]
    );
}

/// A syntax error reads as SQL shells print them: what was expected, where
/// (line and column), and the line with a caret under the place. It used to
/// be DataFusion's `SQL error: ParserError("...")`.
#[test]
fn syntax_errors_point_at_the_place() {
    // (statement, message, the line shown, what goes before the caret)
    let label = " ".repeat("LINE 1: ".len());
    let cases = [
        (
            "select * frm flows",
            "SQL syntax error at line 1, column 10: Expected: end of statement, found: frm",
            "LINE 1: select * frm flows",
            format!("{label}{}", " ".repeat(9)),
        ),
        (
            // Tabs are kept in front of the caret, so it lines up under them.
            "select 1;\nselect\tsrc_ip from flows where",
            "SQL syntax error at line 2, column 31: Expected: an expression, found: EOF",
            "LINE 2: select\tsrc_ip from flows where",
            format!("{label}      \t{}", " ".repeat(23)),
        ),
        (
            "select 'abc from flows",
            "SQL syntax error at line 1, column 8: Unterminated string literal",
            "LINE 1: select 'abc from flows",
            format!("{label}{}", " ".repeat(7)),
        ),
    ];
    for (sql, message, line, pad) in cases {
        assert_eq!(
            err_of(&[sql, "--pcap", SAMPLE]),
            format!("flowq: error: {message}\n{line}\n{pad}^\n"),
            "{sql:?}"
        );
    }
}

/// `--data` and `--pcap` both define `flows`; given together, one of them
/// used to be ignored without a word. Now the command line refuses them, and
/// `--help` says how to have both (`--table`).
#[test]
fn data_and_pcap_together_are_refused() {
    let err = err_of(&["select 1", "--pcap", SAMPLE, "--data", "flows.parquet"]);
    assert!(
        err.contains("'--pcap <FILE|DIR>' cannot be used with '--data <PATH>'")
            || err.contains("'--data <PATH>' cannot be used with '--pcap <FILE|DIR>'"),
        "{err}"
    );
    let help = ok_stdout(&["query", "--help"]);
    assert!(help.contains("--table NAME=PATH"), "{help}");
    // What --help suggests works: flow files beside captures, under another name.
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.parquet");
    let out = flowq(&["extract", SAMPLE, "-o", old.to_str().unwrap(), "-q"]);
    assert!(out.status.success());
    let both = ok_stdout(&[
        "select (select count(*) from flows) = (select count(*) from old) as same",
        "--pcap",
        SAMPLE,
        "--table",
        &format!("old={}", old.display()),
    ]);
    assert_eq!(both, "same\ntrue\n");
}

/// A failure while building a batch of a capture scan fails the query, with
/// a message and exit status 2. It used to be taken for "the query stopped
/// reading": the query ended early with fewer rows and exit status 0. The
/// failure is injected through a hook that only debug builds have.
#[cfg(debug_assertions)]
#[test]
fn a_failure_building_a_batch_fails_the_query() {
    let out = Command::new(flowq_bin())
        .current_dir(repo_root())
        .env("FLOWQ_TEST_FAIL_SCAN_BATCH", "0")
        .args(["select count(*) as flows from flows", "--pcap", SAMPLE])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.contains(SAMPLE) && stderr.contains("injected failure"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "no partial result"
    );
}

/// A named pipe holding a capture, fed by a thread: `head`, then, once `go`
/// says so (or is dropped), `tail`, until a write fails because the reader
/// has closed the pipe. Returns the bytes of `tail` written.
#[cfg(target_os = "linux")]
fn piped_capture(
    path: &Path,
    head: Vec<u8>,
    go: std::sync::mpsc::Receiver<()>,
    tail: Vec<u8>,
) -> std::thread::JoinHandle<usize> {
    use std::io::Write as _;
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success());
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        // Blocks until flowq opens the pipe.
        let mut pipe = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        if pipe.write_all(&head).is_err() {
            return 0;
        }
        let _ = go.recv();
        let mut written = 0;
        for chunk in tail.chunks(4096) {
            if pipe.write_all(chunk).is_err() {
                break;
            }
            written += chunk.len();
        }
        written
    })
}

/// A query with LIMIT stops the extraction of its capture once it has its
/// rows, instead of reading the rest of the capture for nobody (and keeping
/// the process from exiting until then).
///
/// The capture comes through a named pipe, so that the test knows what flowq
/// has seen: 10 000 one-packet flows, of which 8192 end (1 s idle timeout)
/// and make the first batch, enough for `limit 1`; then, only after flowq has
/// printed its row, 12 MB of packets of one flow, during which no flow ends
/// and nothing would be sent. Before the fix the extraction read them all.
/// (The plan is a GlobalLimitExec right over the scan, which drops the scan's
/// stream as soon as it has its row, before the result is printed.)
#[cfg(target_os = "linux")]
#[test]
fn limit_stops_reading_the_capture() {
    use crate::util::capture::{LINKTYPE_ETHERNET, Pkt, T0_US, eth, ip4_udp, pcap_bytes};
    use std::io::BufRead as _;
    let udp = |ms: i64, i: u32| {
        let src = [10, 1, (i >> 8) as u8, i as u8];
        Pkt::new(
            T0_US + ms * 1000,
            eth(&ip4_udp(
                (src, 1024 + (i >> 16) as u16),
                ([10, 0, 0, 2], 53),
                &[0; 4],
            )),
        )
    };
    let head: Vec<Pkt> = (0..10_000).map(|i| udp(i64::from(i), i)).collect();
    let tail: Vec<Pkt> = (0..200_000)
        .map(|i| udp(10_000 + i64::from(i), 99_999))
        .collect();
    let head = pcap_bytes(LINKTYPE_ETHERNET, false, &head);
    // Without the file header: the records go on from the head's.
    let tail = pcap_bytes(LINKTYPE_ETHERNET, false, &tail)[24..].to_vec();
    let tail_len = tail.len();
    let dir = tempfile::tempdir().unwrap();
    let pipe = dir.path().join("live.pcap");
    let (go, may_go) = std::sync::mpsc::channel();
    let writer = piped_capture(&pipe, head, may_go, tail);

    let mut child = Command::new(flowq_bin())
        .args(["select src_port from flows limit 1", "--idle-timeout", "1"])
        .arg("--pcap")
        .arg(&pipe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut result = String::new();
    for _ in 0..2 {
        stdout.read_line(&mut result).unwrap();
    }
    assert_eq!(result, "src_port\n1024\n");
    go.send(()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = writer.join().unwrap();
    assert!(
        written < tail_len,
        "the extraction read the whole capture ({written} bytes after the first batch)"
    );
}

/// `flowq "select ..." | head -1`: the reader of the result goes away, and
/// the query ends quietly with exit status 0 (dropping its stream, which stops
/// the extraction). Arrow's CSV writer reports the broken pipe as an encoding
/// error with only a message, which used to end the query with exit status 2
/// and `cannot encode <stdout>: Csv error: Broken pipe`.
#[test]
fn a_closed_pipe_ends_a_query_quietly() {
    use crate::util::capture::{LINKTYPE_ETHERNET, Pkt, T0_US, eth, ip4_udp, write_pcap};
    use std::io::BufRead as _;
    // 100 000 one-packet flows, 1 ms apart: several MB of CSV, more than a
    // pipe holds, so a write fails once the reader has gone.
    let packets: Vec<Pkt> = (0..100_000u32)
        .map(|i| {
            let src = [10, 1, (i >> 8) as u8, i as u8];
            let frame = eth(&ip4_udp(
                (src, 1024 + (i >> 16) as u16),
                ([10, 0, 0, 2], 53),
                &[0; 4],
            ));
            Pkt::new(T0_US + i64::from(i) * 1000, frame)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("many.pcap");
    write_pcap(&capture, LINKTYPE_ETHERNET, false, &packets);
    let mut child = Command::new(flowq_bin())
        .args(["select * from flows", "--idle-timeout", "1", "--pcap"])
        .arg(&capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut header = String::new();
    stdout.read_line(&mut header).unwrap();
    assert!(header.starts_with("flow_id,"), "{header}");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(stderr, "");
}
