//! Extraction throughput, reported as ratios against baselines measured in the
//! same run (these machines are noisy; absolute times are not comparable).
//!
//! Input: `FLOWQ_BENCH_PCAP=/path/to/capture.pcap` (e.g. one written by
//! `../shared/tools/gen_pcap.py`, see docs/benchmarks.md), or else a synthetic
//! capture of 400 000 TCP packets in 20 000 flows generated here.
//!
//! Baselines:
//! * `read`: reading the file through a reused 1 MiB buffer;
//! * `bare loop`: pcap-parser + etherparse lax slicing + a 5-tuple hash map
//!   update per packet, the least work any flow meter must do.
//!
//! Stages, each on the capture held in memory (no file reads), so that each
//! row adds one stage to the one above it:
//! * `capture reader`: flowq's pcap/pcapng reader, records only;
//! * `decoder`: reader + `decode::decode` + fragment tracking;
//! * `flow table`: `FlowTable::process` alone, on packets decoded beforehand;
//! * `pipeline -> batches`: reader + decoder + flow table + `FlowBatchBuilder`.
//!
//! End to end, from the file: `Extractor::run` to batches, and to Parquet.
//!
//! A counting global allocator reports each row's peak heap (bytes requested
//! from the allocator, not RSS) and, for the table, bytes per active flow.
//!
//! Run with `cargo bench -p flowq-extract`.
//!
//! `FLOWQ_BENCH_ONLY=bare|batches|noapp|parquet|full|fullnoapp|fullparquet|cic` runs that
//! one row once (`noapp`: standard with `--no-app`) and
//! prints nothing else: for instruction counts under
//! `valgrind --tool=callgrind`, which stay stable on a loaded machine where
//! wall times do not (see docs/benchmarks.md).

use flowq_extract::batch::FlowBatchBuilder;
use flowq_extract::capture::{CaptureReader, InputSource};
use flowq_extract::decode::{self, FragmentTracker, PacketView};
use flowq_extract::features::StandardFeatures;
use flowq_extract::flow::{FinishedFlow, FlowConfig, FlowTable};
use flowq_extract::sink::{OutputFormat, OutputTarget, open_sink};
use flowq_extract::{ExtractOptions, Extractor, Profile};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const RUNS: usize = 5;

/// The flow-table row keeps every decoded packet in memory; beyond this many it
/// measures the first ones only.
const MAX_TABLE_PACKETS: usize = 4_000_000;

/// The system allocator, counting the bytes currently allocated and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            grow(new_size);
        }
        p
    }
}

fn grow(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` once and returns the peak heap it added above what was allocated
/// when it started.
fn peak_heap(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - base
}

fn main() {
    let (path, _guard) = input();
    if let Some(only) = std::env::var_os("FLOWQ_BENCH_ONLY") {
        run_only(&path, &only.to_string_lossy());
        return;
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("input: {} ({:.1} MB)", path.display(), size as f64 / 1e6);

    let read = best_of(|| {
        black_box(read_through(&path));
    });
    let mut packets = 0;
    let bare = best_of(|| packets = bare_loop(&path));

    // The in-memory stages.
    let bytes: Arc<[u8]> = std::fs::read(&path).unwrap().into();
    let mut records = 0;
    let reader_only = best_of(|| records = read_records(&bytes));
    let mut decoded = 0;
    let decoder = best_of(|| decoded = decode_all(&bytes));
    let views = decoded_packets(&bytes);
    let config = FlowConfig::default();
    let mut table_stats = (0, 0);
    let table = best_of(|| table_stats = run_table(&views, config));
    let table_heap = peak_heap(|| {
        run_table(&views, config);
    });
    let (table_flows, peak_active) = table_stats;
    let pipeline = best_of(|| {
        black_box(run_pipeline(&bytes, config));
    });
    let pipeline_heap = peak_heap(|| {
        run_pipeline(&bytes, config);
    });
    let views_len = views.len();
    drop(views);
    drop(bytes);

    // End to end from the file.
    let extractor = Extractor::new(ExtractOptions::default());
    let inputs = [InputSource::File(path.clone())];
    let mut flows = 0;
    let run_batches = |flows: &mut u64| {
        let summary = extractor
            .run(&inputs, &mut |b| {
                black_box(b.num_rows());
                Ok::<(), std::convert::Infallible>(())
            })
            .unwrap();
        *flows = summary.flows_written;
    };
    let batches_only = best_of(|| run_batches(&mut flows));
    let batches_heap = peak_heap(|| run_batches(&mut flows));
    // The statistical profiles, to batches: what their extra state costs.
    let profile_batches = |profile: Profile| {
        let extractor = Extractor::new(ExtractOptions {
            profile,
            ..ExtractOptions::default()
        });
        let run = || {
            extractor
                .run(&inputs, &mut |b| {
                    black_box(b.num_rows());
                    Ok::<(), std::convert::Infallible>(())
                })
                .unwrap();
        };
        (best_of(run), peak_heap(run))
    };
    let (full_batches, full_heap) = profile_batches(Profile::Full);
    let (cic_batches, cic_heap) = profile_batches(Profile::Cic2017);
    let out_dir = tempfile::tempdir().unwrap();
    let run_parquet = || {
        let target = OutputTarget::File(out_dir.path().join("flows.parquet"));
        let mut sink = open_sink(&target, OutputFormat::Parquet, extractor.schema(), &[]).unwrap();
        extractor.run(&inputs, &mut |b| sink.write(&b)).unwrap();
        sink.finish(&[]).unwrap();
    };
    let parquet = best_of(run_parquet);
    let parquet_heap = peak_heap(run_parquet);

    println!(
        "{packets} packets ({records} records, {decoded} decoded), {flows} flows; best of {RUNS} runs"
    );
    println!(
        "flow table: {views_len} packets, {table_flows} flows, peak {peak_active} active; \
         FinishedFlow {} B, PacketView {} B\n",
        std::mem::size_of::<FinishedFlow<StandardFeatures>>(),
        std::mem::size_of::<PacketView<'static>>(),
    );
    println!(
        "{:<34} {:>9} {:>11} {:>8} {:>11} {:>10}",
        "", "seconds", "Mpackets/s", "ns/pkt", "x bare loop", "peak heap"
    );
    let mib = |b: usize| format!("{:.1} MiB", b as f64 / (1 << 20) as f64);
    for (name, t, n, heap) in [
        ("read file (baseline)", read, packets, None),
        ("bare loop (baseline)", bare, packets, None),
        ("capture reader (in memory)", reader_only, records, None),
        ("decoder (in memory)", decoder, records, None),
        (
            "flow table (decoded packets)",
            table,
            views_len as u64,
            Some(table_heap),
        ),
        (
            "pipeline -> batches (in memory)",
            pipeline,
            records,
            Some(pipeline_heap),
        ),
        (
            "flowq standard -> batches",
            batches_only,
            packets,
            Some(batches_heap),
        ),
        (
            "flowq standard -> Parquet",
            parquet,
            packets,
            Some(parquet_heap),
        ),
        (
            "flowq full -> batches",
            full_batches,
            packets,
            Some(full_heap),
        ),
        (
            "flowq cic2017 -> batches",
            cic_batches,
            packets,
            Some(cic_heap),
        ),
    ] {
        let s = t.as_secs_f64();
        println!(
            "{name:<34} {s:>9.3} {:>11.2} {:>8.1} {:>11.2} {:>10}",
            n as f64 / s / 1e6,
            s * 1e9 / n.max(1) as f64,
            s / bare.as_secs_f64(),
            heap.map_or_else(|| "-".to_string(), mib),
        );
    }
    if peak_active > 0 {
        println!(
            "\nflow table heap per active flow: {:.0} B ({} at peak {peak_active} active flows)",
            table_heap as f64 / peak_active as f64,
            mib(table_heap)
        );
    }
}

/// One row, once (`FLOWQ_BENCH_ONLY`).
fn run_only(path: &Path, row: &str) {
    let profile = match row {
        "bare" => {
            println!("bare loop: {} packets", bare_loop(path));
            return;
        }
        "batches" | "parquet" | "noapp" => Profile::Standard,
        "full" | "fullparquet" | "fullnoapp" => Profile::Full,
        "cic" => Profile::Cic2017,
        other => panic!(
            "FLOWQ_BENCH_ONLY={other}: expected bare, batches, noapp, parquet, full, fullnoapp, \
             fullparquet or cic"
        ),
    };
    let extractor = Extractor::new(ExtractOptions {
        profile,
        // The application columns are on by default; these rows measure without.
        app: !row.ends_with("noapp"),
        ..ExtractOptions::default()
    });
    let inputs = [InputSource::File(path.to_path_buf())];
    let mut summary = None;
    let heap = peak_heap(|| summary = Some(run_extractor(&extractor, &inputs, row)));
    let summary = summary.unwrap_or_default();
    let active = summary.peak_active_flows.max(1);
    println!(
        "{row}: {} packets, {} flows; peak heap {} B, {} at most active flows, {:.0} B per active flow",
        summary.packets_read,
        summary.flows_written,
        heap,
        active,
        heap as f64 / active as f64
    );
}

/// `Extractor::run` to batches (dropped), or to a Parquet file for the
/// `*parquet` rows.
fn run_extractor(
    extractor: &Extractor,
    inputs: &[InputSource],
    row: &str,
) -> flowq_extract::RunSummary {
    if row.ends_with("parquet") {
        let out_dir = tempfile::tempdir().unwrap();
        let target = OutputTarget::File(out_dir.path().join("flows.parquet"));
        let mut sink = open_sink(&target, OutputFormat::Parquet, extractor.schema(), &[]).unwrap();
        let summary = extractor.run(inputs, &mut |b| sink.write(&b)).unwrap();
        sink.finish(&[]).unwrap();
        summary
    } else {
        extractor
            .run(inputs, &mut |b| {
                black_box(b.num_rows());
                Ok::<(), std::convert::Infallible>(())
            })
            .unwrap()
    }
}

/// flowq's capture reader over bytes in memory: records only.
fn read_records(bytes: &Arc<[u8]>) -> u64 {
    let mut reader = memory_reader(bytes);
    let mut n = 0;
    while let Some(raw) = reader.next_packet().unwrap() {
        black_box(raw.data.len());
        n += 1;
    }
    n
}

/// A capture reader over shared bytes: reads copy from memory into the
/// reader's buffer, as reads from the page cache do, without system calls.
fn memory_reader(bytes: &Arc<[u8]>) -> CaptureReader {
    CaptureReader::new(Box::new(MemoryInput {
        bytes: bytes.clone(),
        pos: 0,
    }))
    .unwrap()
}

struct MemoryInput {
    bytes: Arc<[u8]>,
    pos: usize,
}

impl std::io::Read for MemoryInput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.bytes[self.pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reader + decoder + fragment tracking, as the extractor's decode stage does.
fn decode_all(bytes: &Arc<[u8]>) -> u64 {
    let mut reader = memory_reader(bytes);
    let mut fragments = FragmentTracker::default();
    let (mut n, mut clock) = (0, i64::MIN);
    while let Some(raw) = reader.next_packet().unwrap() {
        if let Ok(mut view) = decode::decode(&raw, decode::Tunnels::ALL) {
            clock = clock.max(view.ts_ns);
            fragments.observe(&mut view, clock);
            black_box(&view);
            n += 1;
        }
    }
    n
}

/// The decoded packets (without their transport bytes), for the table row.
fn decoded_packets(bytes: &Arc<[u8]>) -> Vec<(PacketView<'static>, u64, i64)> {
    let mut reader = memory_reader(bytes);
    let mut fragments = FragmentTracker::default();
    let (mut out, mut ordinal, mut clock) = (Vec::new(), 0, i64::MIN);
    while let Some(raw) = reader.next_packet().unwrap() {
        if out.len() == MAX_TABLE_PACKETS {
            break;
        }
        if let Ok(mut view) = decode::decode(&raw, decode::Tunnels::ALL) {
            clock = clock.max(view.ts_ns);
            fragments.observe(&mut view, clock);
            out.push((view.detached(), ordinal, clock));
        }
        ordinal += 1;
    }
    out
}

/// The flow table alone: (flows, peak active flows).
fn run_table(packets: &[(PacketView<'static>, u64, i64)], config: FlowConfig) -> (u64, u64) {
    let mut table: FlowTable<StandardFeatures> = FlowTable::new(config, Default::default());
    let mut flows = 0;
    let mut emit = |f: FinishedFlow<StandardFeatures>| {
        black_box(&f);
        flows += 1;
    };
    for (view, ordinal, clock) in packets {
        black_box(table.process_at(view, *ordinal, *clock, &mut emit));
    }
    table.finish(None, &mut emit);
    (flows, table.counters().peak_active_flows)
}

/// Reader, decoder, flow table and batch builder, on bytes in memory.
fn run_pipeline(bytes: &Arc<[u8]>, config: FlowConfig) -> usize {
    let mut reader = memory_reader(bytes);
    let mut fragments = FragmentTracker::default();
    // The application state parses payloads, as `flowq extract` does.
    let app = flowq_extract::features::AppConfig { enabled: true };
    let mut table: FlowTable<StandardFeatures> = FlowTable::new(config, app);
    let mut builder = FlowBatchBuilder::new(&ExtractOptions::default().columns(), 8192);
    let mut rows = 0;
    let mut emit = |f: FinishedFlow<StandardFeatures>| {
        if let Some(batch) = builder.push(f) {
            rows += black_box(batch).num_rows();
        }
    };
    let (mut ordinal, mut clock) = (0, i64::MIN);
    while let Some(raw) = reader.next_packet().unwrap() {
        if let Ok(mut view) = decode::decode(&raw, decode::Tunnels::ALL) {
            clock = clock.max(view.ts_ns);
            fragments.observe(&mut view, clock);
            table.process_at(&view, ordinal, clock, &mut emit);
        }
        ordinal += 1;
    }
    table.finish(None, &mut emit);
    rows + builder.cut().num_rows()
}

/// Reads the file through a fixed 1 MiB buffer, as `cat` does: the floor of any
/// reader (allocating a buffer the size of the file would cost more than parsing).
fn read_through(path: &Path) -> u64 {
    use std::io::Read;
    let mut file = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        match file.read(&mut buf).unwrap() {
            0 => return total,
            n => total += n as u64,
        }
    }
}

fn best_of(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// The least work a flow meter does: frame parse, header slicing, one hash
/// update per packet on an unordered 5-tuple.
fn bare_loop(path: &Path) -> u64 {
    use pcap_parser::traits::PcapReaderIterator;
    use pcap_parser::{PcapBlockOwned, PcapError};
    let file = std::fs::File::open(path).unwrap();
    let mut reader = pcap_parser::LegacyPcapReader::new(1 << 20, file).unwrap();
    type Key = ([u8; 16], [u8; 16], u16, u16, u8);
    let mut table: HashMap<Key, u64, foldhash::fast::FixedState> =
        HashMap::with_hasher(Default::default());
    let mut packets = 0;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                if let PcapBlockOwned::Legacy(b) = block {
                    packets += 1;
                    if let Ok(p) = etherparse::LaxSlicedPacket::from_ethernet(b.data) {
                        let mut a = [0u8; 16];
                        let mut z = [0u8; 16];
                        if let Some(etherparse::LaxNetSlice::Ipv4(ip)) = &p.net {
                            a[..4].copy_from_slice(&ip.header().source());
                            z[..4].copy_from_slice(&ip.header().destination());
                        } else if let Some(etherparse::LaxNetSlice::Ipv6(ip)) = &p.net {
                            a = ip.header().source();
                            z = ip.header().destination();
                        }
                        let (sp, dp, proto) = match &p.transport {
                            Some(etherparse::TransportSlice::Tcp(t)) => {
                                (t.source_port(), t.destination_port(), 6)
                            }
                            Some(etherparse::TransportSlice::Udp(u)) => {
                                (u.source_port(), u.destination_port(), 17)
                            }
                            _ => (0, 0, 0),
                        };
                        let key = if (a, sp) <= (z, dp) {
                            (a, z, sp, dp, proto)
                        } else {
                            (z, a, dp, sp, proto)
                        };
                        *table.entry(key).or_default() += u64::from(b.origlen);
                    }
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => reader.refill().unwrap(),
            Err(e) => panic!("bench input unreadable: {e:?}"),
        }
    }
    black_box(table.len());
    packets
}

/// The capture to measure, and a guard that deletes it if it was generated here.
fn input() -> (PathBuf, Option<tempfile::TempDir>) {
    if let Some(path) = std::env::var_os("FLOWQ_BENCH_PCAP") {
        return (PathBuf::from(path), None);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.pcap");
    write_synthetic(&path, 400_000, 20_000);
    (path, Some(dir))
}

/// Ethernet/IPv4/TCP packets of `flows` interleaved connections, 1 µs apart,
/// with payloads of 0-1400 bytes; deterministic.
fn write_synthetic(path: &Path, packets: u32, flows: u32) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut header = Vec::new();
    header.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&65535u32.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes());
    out.write_all(&header).unwrap();
    let mut state = 0x2545_f491_u32;
    let mut frame = Vec::with_capacity(1600);
    for i in 0..packets {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let flow = state % flows;
        let reply = state & 0x100 != 0;
        let payload = (state >> 9) as usize % 1400;
        let (mut src, mut dst) = ([10, 0, (flow >> 8) as u8, flow as u8], [192, 168, 1, 1]);
        let (mut sport, mut dport) = (10_000 + (flow % 50_000) as u16, 443u16);
        if reply {
            std::mem::swap(&mut src, &mut dst);
            std::mem::swap(&mut sport, &mut dport);
        }
        frame.clear();
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
        let total = (20 + 20 + payload) as u16;
        frame.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ]);
        frame.extend_from_slice(&src);
        frame.extend_from_slice(&dst);
        frame.extend_from_slice(&sport.to_be_bytes());
        frame.extend_from_slice(&dport.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        frame.resize(frame.len() + payload, 0xab);
        let ts_us = u64::from(i);
        out.write_all(&((1_700_000_000 + ts_us / 1_000_000) as u32).to_le_bytes())
            .unwrap();
        out.write_all(&((ts_us % 1_000_000) as u32).to_le_bytes())
            .unwrap();
        out.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
        out.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
        out.write_all(&frame).unwrap();
    }
    out.flush().unwrap();
}
