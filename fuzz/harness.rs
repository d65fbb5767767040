//! The fuzz harnesses' checks, shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`) and the stable regression test
//! (`tests/fuzz_regressions.rs`), which replays `fuzz/regressions/<target>/`.
//!
//! Every check goes through `flowq_extract`'s public API only. A harness either
//! returns or panics; a panic is a finding (a crash in the engine, or one of the
//! invariants below that does not hold).
//!
//! * [`capture_reader`]: arbitrary file bytes. The bytes are read twice: once
//!   with [`CaptureReader`] and [`decode`] directly (the reference count of
//!   records, of decodable packets and of skips by reason), and once through
//!   [`Extractor::run`] from a file, with the `standard` and `full` profiles.
//!   The run's summary must agree with the reference exactly, and every row
//!   must be internally consistent (see [`check_rows`]).
//! * [`decoder`]: arbitrary frame bytes for each supported link type (and a few
//!   unsupported ones): [`decode`] must not panic, and a view must be
//!   consistent with the frame it came from (see [`check_view`]).
//! * [`pipeline`]: the bytes are a program that builds a capture of
//!   well-formed-but-adversarial packets (few hosts and ports so flows collide,
//!   TCP flags at random, time going backwards or jumping, extreme pcapng
//!   timestamps, fragments, VLAN tags, snap-length cuts), which then goes
//!   through every check of `capture_reader`, with random flow timeouts, and
//!   with two shards (whose output must equal the single-threaded one), fed
//!   by one reader and by two workers reading small byte ranges.

#![allow(dead_code)]

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};
use flowq_extract::capture::{CaptureReader, InputSource, RawPacket};
use flowq_extract::decode::{self, PacketView, SkipReason, TransportState};
use flowq_extract::flow::FlowConfig;
use flowq_extract::{ExtractOptions, Extractor, InputStatus, Profile, RunSummary};
use std::collections::BTreeMap;
use std::io::Write;

/// Link types `decode` supports, plus unsupported ones (105 = 802.11, 160, and
/// one with FCS bits set) that must be skipped, not decoded.
pub const LINKTYPES: [u32; 13] = [
    0,
    1,
    12,
    14,
    101,
    108,
    113,
    228,
    229,
    276,
    105,
    160,
    0x0400_0001,
];

/// Records read from one capture by the reference reader.
#[derive(Debug, Default)]
struct Reference {
    /// `None` when the capture could not be opened.
    opened: bool,
    /// The capture ended with an error after opening.
    ended_early: bool,
    records: u64,
    decoded: u64,
    skipped: BTreeMap<&'static str, u64>,
    /// Sum of `wire_len` of the decodable packets.
    wire_bytes: u64,
    /// Smallest and largest timestamp of the decodable packets (ns).
    min_ts: Option<i64>,
    max_ts: Option<i64>,
}

/// Reads `bytes` with the public reader and decoder, checking each record.
fn reference(bytes: &[u8]) -> Reference {
    let mut r = Reference::default();
    for reason in SkipReason::ALL {
        r.skipped.insert(reason.name(), 0);
    }
    let mut reader = match CaptureReader::new(Box::new(std::io::Cursor::new(bytes.to_vec()))) {
        Ok(reader) => reader,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "an open error has a message");
            return r;
        }
    };
    r.opened = true;
    let mut last_offset = reader.offset();
    loop {
        let raw = match reader.next_packet() {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            Err(e) => {
                assert!(e.is_partial(), "an error after opening ends the input: {e}");
                assert!(!e.to_string().is_empty());
                r.ended_early = true;
                break;
            }
        };
        r.records += 1;
        assert!(
            raw.data.len() as u64 <= u64::from(raw.wire_len),
            "captured bytes ({}) beyond wire length ({})",
            raw.data.len(),
            raw.wire_len
        );
        assert!(
            raw.data.len() <= flowq_extract::capture::MAX_BLOCK_LEN as usize,
            "a record larger than the largest block"
        );
        assert!(
            r.records <= bytes.len() as u64,
            "more records ({}) than bytes in the file ({})",
            r.records,
            bytes.len()
        );
        let view = decode::decode(&raw, decode::Tunnels::ALL);
        match view {
            Ok(view) => {
                check_view(&raw, &view);
                r.decoded += 1;
                r.wire_bytes += u64::from(raw.wire_len);
                r.min_ts = Some(r.min_ts.map_or(view.ts_ns, |t| t.min(view.ts_ns)));
                r.max_ts = Some(r.max_ts.map_or(view.ts_ns, |t| t.max(view.ts_ns)));
            }
            Err(reason) => *r.skipped.entry(reason.name()).or_default() += 1,
        }
        let offset = reader.offset();
        assert!(offset > last_offset, "the reader made no progress");
        last_offset = offset;
    }
    r
}

/// Harness of the `capture_reader` target: `bytes` is a whole capture file.
pub fn capture_reader(bytes: &[u8]) {
    let reference = reference(bytes);
    let file = write_temp(bytes);
    for profile in [Profile::Standard, Profile::Full] {
        let options = ExtractOptions {
            profile,
            batch_rows: 7,
            ..ExtractOptions::default()
        };
        let (summary, batches) = run(&options, file.path());
        check_run(&options, &reference, &summary, &batches);
    }
}

/// Harness of the `pipeline` target: `bytes` drive a generator of captures.
pub fn pipeline(bytes: &[u8]) {
    pipeline_with(bytes, true);
}

/// [`pipeline`], comparing the sharded rows with the single-threaded ones in
/// order (`strict_order`) or as sets. (Sets were used while the fix of
/// regression `pipeline/shard-order-saturated-grace-deadline` was pending.)
pub fn pipeline_with(bytes: &[u8], strict_order: bool) {
    let mut u = Bytes(bytes);
    let flow = FlowConfig {
        bidirectional: u.byte() & 1 == 0,
        idle_timeout_ns: timeout(u.byte()),
        active_timeout_ns: timeout(u.byte()),
        tcp_close: u.byte() & 1 == 0,
        close_grace_ns: i64::from(u.byte()) * 100_000_000,
        syn_ack_reverses: u.byte() & 1 == 0,
        max_flows: match u.byte() {
            0..=127 => None,
            n => Some(usize::from(n % 8)),
        },
    };
    let capture = generate_capture(&mut u);
    // Byte ranges small enough to split the capture in many places (taken
    // from its length, so that the program's bytes keep their meaning).
    let range_bytes = 24 + capture.len() as u64 % 500;
    let reference = reference(&capture);
    let file = write_temp(&capture);
    for profile in [Profile::Standard, Profile::Full] {
        let options = ExtractOptions {
            profile,
            flow,
            batch_rows: 5,
            ..ExtractOptions::default()
        };
        let (summary, batches) = run(&options, file.path());
        check_run(&options, &reference, &summary, &batches);
        // The output is the same whatever the number of shards.
        let sharded = ExtractOptions {
            threads: 2,
            ..options
        };
        let (summary2, batches2) = run(&sharded, file.path());
        check_run(&sharded, &reference, &summary2, &batches2);
        // And read in byte ranges by two workers (parallel reading).
        let (summary3, batches3) = run_in_ranges(&sharded, file.path(), Some(range_bytes));
        check_run(&sharded, &reference, &summary3, &batches3);
        // Under eviction too: shards hold whole eviction partitions
        // (docs/flows.md#eviction-partitions).
        assert_eq!(summary.evicted_flows, summary2.evicted_flows, "evictions");
        assert_eq!(
            summary.evicted_flows, summary3.evicted_flows,
            "evictions (ranges)"
        );
        for (how, other) in [("two shards", &batches2), ("byte ranges", &batches3)] {
            let (mut one, mut two) = (rows_as_text(&batches), rows_as_text(other));
            if !strict_order {
                one.sort();
                two.sort();
            }
            assert!(
                one == two,
                "{how} give other rows than one table ({profile:?}):\n one table:\n{}\n {how}:\n{}",
                one.join("\n"),
                two.join("\n")
            );
        }
    }
    // The other profiles: counts add up, nothing panics.
    for profile in [Profile::Seed, Profile::Nfstream, Profile::Cic2017] {
        let options = ExtractOptions {
            profile,
            flow,
            nfstream_stats: true,
            ..ExtractOptions::default()
        };
        let (summary, batches) = run(&options, file.path());
        check_summary_sums(&summary);
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows as u64, summary.flows_written, "{profile:?}");
        assert_eq!(summary.packets_read, reference.records, "{profile:?}");
    }
}

/// Harness of the `decoder` target: the first byte picks the link type, the next
/// two the wire length, the rest is the frame.
pub fn decoder(bytes: &[u8]) {
    let Some((&pick, rest)) = bytes.split_first() else {
        return;
    };
    let (wire_extra, frame) = match rest {
        [a, b, frame @ ..] => (u32::from(u16::from_le_bytes([*a, *b])), frame),
        _ => (0, rest),
    };
    let linktype = LINKTYPES[usize::from(pick) % LINKTYPES.len()];
    let raw = RawPacket {
        ts_ns: i64::from(pick) << 56,
        wire_len: frame.len() as u32 + if pick & 0x80 != 0 { wire_extra } else { 0 },
        data: frame,
        linktype,
        interface: 0,
    };
    match decode::decode(&raw, decode::Tunnels::ALL) {
        Ok(view) => {
            assert!(
                decode::LinkType::from_number(linktype).is_some(),
                "an unsupported link type ({linktype}) was decoded"
            );
            check_view(&raw, &view);
        }
        Err(SkipReason::UnsupportedLinkType) => assert!(
            decode::LinkType::from_number(linktype).is_none(),
            "a supported link type ({linktype}) was called unsupported"
        ),
        Err(_) => {}
    }
}

/// What a decoded view must satisfy, given the frame it was decoded from.
fn check_view(raw: &RawPacket<'_>, view: &PacketView<'_>) {
    let cap = raw.data.len();
    assert!(view.ip_version == 4 || view.ip_version == 6, "{view:?}");
    assert_eq!(view.cap_len as usize, cap, "cap_len");
    assert_eq!(view.wire_len, raw.wire_len, "wire_len");
    assert_eq!(view.ts_ns, raw.ts_ns, "ts_ns");
    assert!(
        view.vlan_id <= 0x0fff,
        "vlan id {} beyond 12 bits",
        view.vlan_id
    );
    assert!(view.dscp < 64, "dscp {} beyond 6 bits", view.dscp);
    if view.ip_version == 4 {
        assert_eq!(view.src_addr[4..], [0; 12], "IPv4 address padding");
        assert_eq!(view.dst_addr[4..], [0; 12], "IPv4 address padding");
    }
    // The transport bytes lie inside the frame, after the IP header.
    let frame = raw.data.as_ptr() as usize;
    let transport = view.transport.as_ptr() as usize;
    if !view.transport.is_empty() {
        assert!(
            transport >= frame && transport + view.transport.len() <= frame + cap,
            "transport bytes outside the frame"
        );
    }
    let min_ip = if view.ip_version == 4 { 20 } else { 40 };
    assert!(
        view.ip_header_len as usize >= min_ip,
        "IP header length {} below the minimum",
        view.ip_header_len
    );
    assert!(
        view.ip_header_len as usize + view.transport.len() <= cap,
        "IP header ({}) plus transport ({}) beyond the captured {cap} bytes",
        view.ip_header_len,
        view.transport.len()
    );
    assert!(view.trailer_len as usize <= cap, "trailer beyond the frame");
    // The IP lengths are 16-bit fields (a zero one falls back to the capture).
    let declared_max = cap.max(65_535 + 40);
    assert!(
        view.l4_payload_len as usize <= declared_max,
        "l4 payload {} beyond any declared IP length",
        view.l4_payload_len
    );
    assert!(
        view.l4_header_len <= 255 * 4,
        "l4 header length {} beyond any transport header",
        view.l4_header_len
    );
    match view.transport_state {
        TransportState::LaterFragment => {
            assert!(
                view.fragment.is_some_and(|f| f.byte_offset != 0),
                "{view:?}"
            );
            assert_eq!(
                view.l4_header_len, 0,
                "a later fragment has no transport header"
            );
            assert!(view.tcp.is_none() && view.icmp.is_none());
            assert_eq!((view.src_port, view.dst_port), (0, 0));
        }
        _ => assert!(view.fragment.is_none_or(|f| f.byte_offset == 0), "{view:?}"),
    }
    if let Some(tcp) = view.tcp {
        assert_eq!(view.protocol, 6, "TCP fields on a non-TCP packet");
        assert_eq!(tcp.flags, view.transport[13], "flags byte");
        if tcp.window.is_some() {
            assert!(view.transport.len() >= 16, "window read beyond the capture");
        }
    }
    if view.icmp.is_some() {
        assert!(
            view.protocol == 1 || view.protocol == 58,
            "ICMP fields on {view:?}"
        );
    }
    if !matches!(view.protocol, 6 | 17 | 33 | 132 | 136) {
        assert_eq!((view.src_port, view.dst_port), (0, 0), "ports on {view:?}");
    }
    let detached = view.detached();
    assert!(detached.transport.is_empty());
    assert_eq!(detached.l4_payload_len, view.l4_payload_len);
}

/// Runs one extraction of `path`, collecting its batches.
fn run(options: &ExtractOptions, path: &std::path::Path) -> (RunSummary, Vec<RecordBatch>) {
    run_in_ranges(options, path, None)
}

/// [`run`], with the file read in byte ranges of `range_bytes` when set
/// (parallel reading: `threads` > 1 on an uncompressed file).
fn run_in_ranges(
    options: &ExtractOptions,
    path: &std::path::Path,
    range_bytes: Option<u64>,
) -> (RunSummary, Vec<RecordBatch>) {
    let mut extractor = Extractor::new(*options);
    if let Some(bytes) = range_bytes {
        extractor = extractor.with_range_bytes(bytes);
    }
    let schema = extractor.schema();
    let mut batches = Vec::new();
    let summary = extractor
        .run(&[InputSource::File(path.to_path_buf())], &mut |batch| {
            assert_eq!(batch.schema(), schema, "a batch with another schema");
            assert!(batch.num_rows() > 0, "an empty batch");
            assert!(
                batch.num_rows() <= options.batch_rows,
                "a batch over batch_rows"
            );
            batches.push(batch);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|e| match e {});
    (summary, batches)
}

/// The summary's own sums.
fn check_summary_sums(s: &RunSummary) {
    let skipped: u64 = s.skipped.values().sum();
    assert_eq!(
        s.packets_read,
        s.packets_in_flows + skipped,
        "packets_read != packets_in_flows + skipped: {s:?}"
    );
    assert_eq!(s.inputs.len(), 1);
    let input = &s.inputs[0];
    assert_eq!(input.packets_read, s.packets_read);
    assert_eq!(input.packets_in_flows, s.packets_in_flows);
    assert_eq!(input.skipped, s.skipped);
    assert_eq!(input.flows, s.flows_written);
    assert!(s.transport_incomplete <= s.packets_in_flows);
    assert!(s.orphan_fragments <= s.packets_in_flows);
    assert!(s.backward_timestamps <= s.packets_read);
    assert!(s.peak_active_flows <= s.packets_in_flows);
    assert!(s.timestamp_outliers <= s.packets_in_flows);
    assert!(s.evicted_flows <= s.flows_written + s.flows_not_written);
    assert!(s.flows_written + s.flows_not_written <= s.packets_in_flows);
    match input.status {
        InputStatus::Complete => assert!(input.message.is_none()),
        InputStatus::Partial => assert!(input.message.as_ref().is_some_and(|m| !m.is_empty())),
        InputStatus::Failed => {
            assert!(input.message.as_ref().is_some_and(|m| !m.is_empty()));
            assert_eq!(s.packets_read, 0);
            assert_eq!(s.flows_written, 0);
        }
    }
}

/// A `standard`/`full` run against the reference reading of the same bytes.
fn check_run(
    options: &ExtractOptions,
    reference: &Reference,
    summary: &RunSummary,
    batches: &[RecordBatch],
) {
    check_summary_sums(summary);
    let input = &summary.inputs[0];
    let expected = match (reference.opened, reference.ended_early) {
        (false, _) => InputStatus::Failed,
        (true, true) => InputStatus::Partial,
        (true, false) => InputStatus::Complete,
    };
    assert_eq!(input.status, expected, "input status: {input:?}");
    assert_eq!(summary.packets_read, reference.records, "packets_read");
    assert_eq!(
        summary.packets_in_flows, reference.decoded,
        "packets_in_flows"
    );
    assert_eq!(summary.skipped, reference.skipped, "skip counts by reason");
    assert_eq!(
        summary.flows_not_written, 0,
        "{:?} writes every flow",
        options.profile
    );
    let rows = check_rows(options, reference, batches);
    assert_eq!(rows.rows, summary.flows_written, "rows vs flows_written");
    assert_eq!(rows.packets, summary.packets_in_flows, "sum of pkt_count");
    assert_eq!(
        rows.evicted, summary.evicted_flows,
        "rows ended by eviction"
    );
    if let Some(max) = options.flow.max_flows {
        // Partitions share the limit out, whatever the shards.
        let bound = max.max(1);
        assert!(
            summary.peak_active_flows <= bound as u64,
            "peak {} open flows over the limit {max}",
            summary.peak_active_flows
        );
    }
    assert_eq!(rows.bytes, reference.wire_bytes, "sum of byte_count");
}

#[derive(Debug, Default)]
struct RowTotals {
    rows: u64,
    packets: u64,
    bytes: u64,
    evicted: u64,
}

/// Per-row invariants of the standard columns (and a few of the full profile's).
fn check_rows(
    options: &ExtractOptions,
    reference: &Reference,
    batches: &[RecordBatch],
) -> RowTotals {
    let mut totals = RowTotals::default();
    let mut ids = std::collections::HashSet::new();
    for batch in batches {
        let n = batch.num_rows();
        let pkt = ints(batch, "pkt_count");
        let fwd_pkt = ints(batch, "fwd_pkt_count");
        let bwd_pkt = ints(batch, "bwd_pkt_count");
        let bytes = ints(batch, "byte_count");
        let fwd_bytes = ints(batch, "fwd_byte_count");
        let bwd_bytes = ints(batch, "bwd_byte_count");
        let first = times(batch, "first_seen");
        let last = times(batch, "last_seen");
        let duration = floats(batch, "duration");
        let flow_id = ints(batch, "flow_id");
        let end_reason = column(batch, "end_reason");
        let end_reason = arrow::compute::cast(end_reason, &arrow::datatypes::DataType::Utf8)
            .expect("end_reason as text");
        let end_reason = end_reason.as_string::<i32>();
        for i in 0..n {
            let (p, fp, bp) = (val(&pkt, i), val(&fwd_pkt, i), val(&bwd_pkt, i));
            let (b, fb, bb) = (val(&bytes, i), val(&fwd_bytes, i), val(&bwd_bytes, i));
            assert!(p >= 1, "row {i}: pkt_count {p} < 1");
            assert_eq!(fp + bp, p, "row {i}: fwd + bwd packets != pkt_count");
            // (fwd may be 0: a flow first seen as a SYN+ACK is oriented from its
            // destination.)
            assert!(fp >= 0 && bp >= 0, "row {i}: negative packet count");
            assert_eq!(fb + bb, b, "row {i}: fwd + bwd bytes != byte_count");
            assert!(fb >= 0 && bb >= 0, "row {i}: negative byte count");
            assert!(
                fb >= fp * 20 && bb >= bp * 20,
                "row {i}: fewer bytes than IP headers"
            );
            let (f, l) = (val(&first, i), val(&last, i));
            assert!(f <= l, "row {i}: first_seen {f} > last_seen {l}");
            if let (Some(min), Some(max)) = (reference.min_ts, reference.max_ts) {
                assert!(
                    f >= min.div_euclid(1000),
                    "row {i}: first_seen before every packet"
                );
                assert!(
                    l <= max.div_euclid(1000),
                    "row {i}: last_seen after every packet"
                );
            }
            let d = duration.value(i);
            assert!(d.is_finite() && d >= 0.0, "row {i}: duration {d}");
            assert!(
                ids.insert(val(&flow_id, i)),
                "row {i}: flow_id {} written twice",
                val(&flow_id, i)
            );
            totals.evicted += u64::from(end_reason.value(i) == "evicted");
            totals.packets += p as u64;
            totals.bytes += b as u64;
        }
        for name in ["syn", "fin", "rst", "psh", "ack", "urg", "ece", "cwr"] {
            let both = ints(batch, &format!("{name}_count"));
            for i in 0..n {
                let c = val(&both, i);
                assert!(c >= 0 && c <= val(&pkt, i), "row {i}: {name}_count {c}");
            }
            if options.profile == Profile::Full {
                let f = ints(batch, &format!("fwd_{name}_count"));
                let b = ints(batch, &format!("bwd_{name}_count"));
                for i in 0..n {
                    assert_eq!(
                        val(&f, i) + val(&b, i),
                        val(&both, i),
                        "row {i}: {name} by direction"
                    );
                    assert!(val(&f, i) <= val(&fwd_pkt, i) && val(&b, i) <= val(&bwd_pkt, i));
                }
            }
        }
        if options.profile == Profile::Full {
            check_full_rows(batch, &fwd_pkt, &bwd_pkt);
        }
        totals.rows += n as u64;
    }
    totals
}

/// Statistics of the `full` profile: min <= mean <= max, null exactly when the
/// direction has no packet, IATs only with two packets.
fn check_full_rows(
    batch: &RecordBatch,
    fwd_pkt: &arrow::array::Int64Array,
    bwd_pkt: &arrow::array::Int64Array,
) {
    let n = batch.num_rows();
    for prefix in ["", "fwd_", "bwd_"] {
        let min = ints(batch, &format!("{prefix}pkt_len_min"));
        let max = ints(batch, &format!("{prefix}pkt_len_max"));
        let mean = floats(batch, &format!("{prefix}pkt_len_mean"));
        let std = floats(batch, &format!("{prefix}pkt_len_std"));
        for i in 0..n {
            let count = match prefix {
                "fwd_" => val(fwd_pkt, i),
                "bwd_" => val(bwd_pkt, i),
                _ => val(fwd_pkt, i) + val(bwd_pkt, i),
            };
            assert_eq!(
                min.is_null(i),
                count == 0,
                "row {i}: {prefix}pkt_len_min null"
            );
            assert_eq!(
                max.is_null(i),
                count == 0,
                "row {i}: {prefix}pkt_len_max null"
            );
            if count == 0 {
                continue;
            }
            let (lo, hi) = (min.value(i) as f64, max.value(i) as f64);
            assert!(lo <= hi, "row {i}: {prefix}pkt_len min > max");
            if !mean.is_null(i) {
                let m = mean.value(i);
                assert!(
                    m.is_finite() && m >= lo - 1e-6 && m <= hi + 1e-6,
                    "row {i}: {prefix}pkt_len_mean {m} outside [{lo}, {hi}]"
                );
            }
            if !std.is_null(i) {
                let s = std.value(i);
                assert!(
                    s.is_finite() && s >= 0.0,
                    "row {i}: {prefix}pkt_len_std {s}"
                );
            }
        }
        let iat_min = floats(batch, &format!("{prefix}iat_min_us"));
        let iat_max = floats(batch, &format!("{prefix}iat_max_us"));
        let iat_mean = floats(batch, &format!("{prefix}iat_mean_us"));
        for i in 0..n {
            if iat_min.is_null(i) || iat_max.is_null(i) {
                continue;
            }
            let (lo, hi) = (iat_min.value(i), iat_max.value(i));
            assert!(
                lo.is_finite() && hi.is_finite() && lo <= hi,
                "row {i}: {prefix}iat {lo} > {hi}"
            );
            if !iat_mean.is_null(i) {
                let m = iat_mean.value(i);
                let slack = 1e-9 * hi.abs().max(lo.abs()) + 1e-6;
                assert!(
                    m >= lo - slack && m <= hi + slack,
                    "row {i}: {prefix}iat_mean_us {m} outside [{lo}, {hi}]"
                );
            }
        }
    }
    for name in ["bytes_per_sec", "pkts_per_sec"] {
        let rate = floats(batch, name);
        for i in 0..n {
            if !rate.is_null(i) {
                let r = rate.value(i);
                assert!(r.is_finite() && r >= 0.0, "row {i}: {name} {r}");
            }
        }
    }
}

fn column<'b>(batch: &'b RecordBatch, name: &str) -> &'b dyn Array {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_ref()
}

fn ints(batch: &RecordBatch, name: &str) -> arrow::array::Int64Array {
    column(batch, name).as_primitive::<Int64Type>().clone()
}

fn floats(batch: &RecordBatch, name: &str) -> arrow::array::Float64Array {
    column(batch, name).as_primitive::<Float64Type>().clone()
}

fn times(batch: &RecordBatch, name: &str) -> arrow::array::TimestampMicrosecondArray {
    column(batch, name)
        .as_primitive::<TimestampMicrosecondType>()
        .clone()
}

fn val<T: arrow::datatypes::ArrowPrimitiveType>(
    array: &arrow::array::PrimitiveArray<T>,
    i: usize,
) -> T::Native {
    assert!(!array.is_null(i), "unexpected null in row {i}");
    array.value(i)
}

/// Every row of every batch as text (`name=value` for each column).
fn rows_as_text(batches: &[RecordBatch]) -> Vec<String> {
    let mut rows = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            let cells: Vec<String> = schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(field, column)| {
                    let value = arrow::util::display::array_value_to_string(column, i)
                        .unwrap_or_else(|e| e.to_string());
                    format!("{}={value}", field.name())
                })
                .collect();
            rows.push(cells.join(" "));
        }
    }
    rows
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temporary file");
    file.write_all(bytes).expect("write temporary file");
    file.flush().expect("flush temporary file");
    file
}

/// A timeout from one byte: none, tiny, or up to about 4 minutes.
fn timeout(b: u8) -> Option<i64> {
    match b {
        0..=31 => None,
        32..=63 => Some(i64::from(b - 32)),
        _ => Some(i64::from(b) * 1_000_000_000),
    }
}

/// Input bytes consumed from the front; zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One generated packet record.
struct Record {
    ticks: u64,
    interface: u32,
    frame: Vec<u8>,
    wire_len: u32,
}

const HOSTS4: [[u8; 4]; 3] = [[10, 0, 0, 1], [10, 0, 0, 2], [192, 168, 1, 1]];
const PORTS: [u16; 4] = [80, 443, 40000, 0];

/// Builds a capture file from the generator bytes.
fn generate_capture(u: &mut Bytes<'_>) -> Vec<u8> {
    let format = u.byte() % 4;
    // pcapng interfaces: link type, resolution and offset.
    let interfaces: Vec<(u32, u8, i64)> = (0..1 + usize::from(u.byte() % 3))
        .map(|_| {
            let linktype = [1, 101, 113, 0, 276, 228, 229, 105][usize::from(u.byte() % 8)];
            let tsresol = [6, 9, 0, 3, 12, 0x80 | 10, 0x80 | 63, 19][usize::from(u.byte() % 8)];
            let offset = match u.byte() % 4 {
                0 => 0,
                1 => i64::from(u.byte()),
                2 => u.u64() as i64,
                _ => -(i64::from(u.u32())),
            };
            (linktype, tsresol, offset)
        })
        .collect();
    let pcap_linktype = interfaces[0].0;
    let snaplen = match u.byte() % 4 {
        0 => 65_535,
        1 => 96,
        2 => 0,
        _ => 262_144,
    };
    let mut ticks: u64 = u64::from(u.u32());
    let mut records = Vec::new();
    while !u.is_empty() && records.len() < 200 {
        let interface = if format == 3 {
            u32::from(u.byte()) % interfaces.len() as u32
        } else {
            0
        };
        let linktype = if format == 3 {
            interfaces[interface as usize].0
        } else {
            pcap_linktype
        };
        ticks = match u.byte() % 8 {
            0 | 1 => ticks,
            2 | 3 => ticks.wrapping_add(u64::from(u.byte())),
            4 => ticks.wrapping_add(u64::from(u.u16()) * 1_000_000),
            5 => ticks.wrapping_sub(u64::from(u.u16())),
            6 => ticks.wrapping_add(u64::from(u.u32()) * 1_000),
            _ => u.u64(),
        };
        let ip = ip_packet(u);
        let frame = link_frame(u, linktype, &ip);
        let mut wire_len = frame.len() as u32;
        let mut frame = frame;
        let cut = u.byte();
        if cut & 0x80 != 0 {
            let keep = usize::from(cut & 0x7f);
            frame.truncate(keep.min(frame.len()));
        }
        if cut == 0x7f {
            wire_len = wire_len.wrapping_add(u32::from(u.u16()));
        }
        records.push(Record {
            ticks,
            interface,
            frame,
            wire_len,
        });
    }
    match format {
        0 => pcap(&records, false, false, snaplen, pcap_linktype),
        1 => pcap(&records, true, false, snaplen, pcap_linktype),
        2 => pcap(&records, false, true, snaplen, pcap_linktype),
        _ => pcapng(&records, &interfaces, u.byte() & 1 == 1),
    }
}

/// An IPv4 or IPv6 packet with a TCP, UDP, ICMP or other transport.
fn ip_packet(u: &mut Bytes<'_>) -> Vec<u8> {
    let op = u.byte();
    let v6 = op & 0x01 != 0;
    let swap = op & 0x02 != 0;
    let protocol = [6u8, 6, 17, 1, 132, 47, 58, 0][usize::from((op >> 2) & 7)];
    let hosts = u.byte();
    let (mut a, mut b) = (usize::from(hosts % 3), usize::from((hosts / 3) % 3));
    let ports = u.byte();
    let (mut pa, mut pb) = (
        PORTS[usize::from(ports % 4)],
        PORTS[usize::from((ports / 4) % 4)],
    );
    if swap {
        std::mem::swap(&mut a, &mut b);
        std::mem::swap(&mut pa, &mut pb);
    }
    let payload_len = match u.byte() {
        0..=199 => 0,
        n => usize::from(n - 199) * 23,
    };
    let mut l4 = Vec::new();
    match protocol {
        6 => {
            let flags = u.byte();
            let options = u.byte();
            let opt_words = usize::from(options % 4);
            l4.extend(pa.to_be_bytes());
            l4.extend(pb.to_be_bytes());
            l4.extend(u.u32().to_be_bytes()); // seq
            l4.extend(u.u32().to_be_bytes()); // ack
            let offset = if options & 0x40 != 0 {
                options >> 4 // a data offset that lies
            } else {
                5 + opt_words as u8
            };
            l4.push(offset << 4);
            l4.push(flags);
            l4.extend(u.u16().to_be_bytes()); // window
            l4.extend([0, 0, 0, 0]); // checksum, urgent pointer
            let opts: [&[u8]; 4] = [
                &[],
                &[2, 4, 5, 0xb4],
                &[1, 3, 3, 14, 2, 4],
                &[3, 3, 200, 8, 0, 1, 2, 3],
            ];
            let mut o = opts[opt_words].to_vec();
            o.resize(opt_words * 4, 0);
            l4.extend(o);
        }
        17 | 132 => {
            l4.extend(pa.to_be_bytes());
            l4.extend(pb.to_be_bytes());
            let len = (8 + payload_len) as u16;
            l4.extend(len.to_be_bytes());
            l4.extend([0, 0]);
            if protocol == 132 {
                l4.extend([0, 0, 0, 0]);
            }
        }
        1 | 58 => l4.extend([u.byte() % 16, u.byte() % 4, 0, 0, 0, 1, 0, 1]),
        _ => {}
    }
    l4.resize(l4.len() + payload_len, 0xab);
    let frag = u.byte();
    let (more, frag_offset) = match frag % 8 {
        0..=4 => (false, 0u16),
        5 => (true, 0),
        6 => (true, u16::from(frag >> 3) + 1),
        _ => (false, u16::from(frag >> 3) + 1),
    };
    let id = u16::from(u.byte() % 4);
    let ttl = u.byte();
    let length_lie = u.byte();
    if !v6 {
        let mut h = vec![0x45, ttl & 0xfc];
        let total = match length_lie % 8 {
            0 => 0,
            1 => 65_535,
            2 => 10,
            _ => (20 + l4.len()) as u16,
        };
        h.extend(total.to_be_bytes());
        h.extend(id.to_be_bytes());
        h.extend(((u16::from(more) << 13) | (frag_offset & 0x1fff)).to_be_bytes());
        h.extend([ttl, protocol, 0, 0]);
        h.extend(HOSTS4[a]);
        h.extend(HOSTS4[b]);
        h.extend(l4);
        h
    } else {
        let mut exts = Vec::new();
        let mut next = protocol;
        if frag % 8 >= 5 {
            let offset_flags = (frag_offset << 3) | u16::from(more);
            exts.extend([next, 0]);
            exts.extend(offset_flags.to_be_bytes());
            exts.extend(u32::from(id).to_be_bytes());
            next = 44;
        }
        if length_lie & 0x10 != 0 {
            let mut hop = vec![next, 0, 1, 4, 0, 0, 0, 0];
            hop.extend(exts);
            exts = hop;
            next = 0;
        }
        let payload = (exts.len() + l4.len()) as u16;
        let payload = match length_lie % 8 {
            0 => 0,
            1 => 65_535,
            2 => 3,
            _ => payload,
        };
        let mut h = vec![0x60 | (ttl >> 4), 0, 0, 0];
        h.extend(payload.to_be_bytes());
        h.extend([next, ttl]);
        for host in [a, b] {
            h.extend([0x20, 0x01, 0x0d, 0xb8]);
            h.extend([0; 8]);
            h.extend(HOSTS4[host]);
        }
        h.extend(exts);
        h.extend(l4);
        h
    }
}

/// Wraps an IP packet in the link layer of `linktype`.
fn link_frame(u: &mut Bytes<'_>, linktype: u32, ip: &[u8]) -> Vec<u8> {
    let v6 = ip.first().is_some_and(|b| b >> 4 == 6);
    let ethertype: u16 = if v6 { 0x86dd } else { 0x0800 };
    let mut f = Vec::new();
    match linktype {
        1 => {
            let tags = u.byte();
            f.extend([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
            for _ in 0..(tags % 4) {
                f.extend(0x8100u16.to_be_bytes());
                f.extend((u16::from(tags >> 2) & 0x0fff).to_be_bytes());
            }
            if tags == 0xff {
                // An MPLS label (bottom of stack) before the IP header.
                f.extend(0x8847u16.to_be_bytes());
                f.extend([0, 0, 0x11, 64]);
            } else {
                f.extend(ethertype.to_be_bytes());
            }
        }
        113 => {
            f.extend([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            f.extend(ethertype.to_be_bytes());
        }
        276 => {
            f.extend(ethertype.to_be_bytes());
            f.extend([0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        }
        0 => f.extend(if v6 { 24u32 } else { 2 }.to_le_bytes()),
        _ => {}
    }
    f.extend_from_slice(ip);
    f
}

fn pcap(records: &[Record], big_endian: bool, nano: bool, snaplen: u32, linktype: u32) -> Vec<u8> {
    let w32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend(w32(if nano { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend(w16(2));
    out.extend(w16(4));
    out.extend([0; 8]);
    out.extend(w32(snaplen));
    out.extend(w32(linktype));
    let units = if nano { 1_000_000_000 } else { 1_000_000 };
    for r in records {
        // Seconds are 32 bits; the fraction may be out of range on purpose.
        let secs = (r.ticks / units) as u32;
        let frac = (r.ticks % units) as u32
            + if r.ticks & 1 == 1 && r.ticks % 7 == 0 {
                units as u32
            } else {
                0
            };
        out.extend(w32(secs));
        out.extend(w32(frac));
        out.extend(w32(r.frame.len() as u32));
        out.extend(w32(r.wire_len));
        out.extend(&r.frame);
    }
    out
}

fn pcapng(records: &[Record], interfaces: &[(u32, u8, i64)], big_endian: bool) -> Vec<u8> {
    let w32 = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let w16 = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let block = |out: &mut Vec<u8>, kind: u32, body: &[u8]| {
        let mut body = body.to_vec();
        body.resize(body.len().next_multiple_of(4), 0);
        let len = (body.len() + 12) as u32;
        out.extend(w32(kind));
        out.extend(w32(len));
        out.extend(body);
        out.extend(w32(len));
    };
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend(w32(0x1a2b_3c4d));
    shb.extend(w16(1));
    shb.extend(w16(0));
    shb.extend([0xff; 8]);
    block(&mut out, 0x0a0d_0d0a, &shb);
    for &(linktype, tsresol, offset) in interfaces {
        let mut idb = Vec::new();
        idb.extend(w16(linktype as u16));
        idb.extend(w16(0));
        idb.extend(w32(0));
        idb.extend(w16(9));
        idb.extend(w16(1));
        idb.extend([tsresol, 0, 0, 0]);
        idb.extend(w16(14));
        idb.extend(w16(8));
        idb.extend(if big_endian {
            offset.to_be_bytes()
        } else {
            offset.to_le_bytes()
        });
        idb.extend([0; 4]); // opt_endofopt
        block(&mut out, 1, &idb);
    }
    for r in records {
        let mut epb = Vec::new();
        epb.extend(w32(r.interface));
        epb.extend(w32((r.ticks >> 32) as u32));
        epb.extend(w32(r.ticks as u32));
        epb.extend(w32(r.frame.len() as u32));
        epb.extend(w32(r.wire_len));
        epb.extend(&r.frame);
        block(&mut out, 6, &epb);
    }
    out
}
