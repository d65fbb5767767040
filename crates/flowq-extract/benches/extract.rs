//! Extraction throughput, reported as ratios against baselines measured in the
//! same run (these machines are noisy; absolute times are not comparable).
//!
//! Input: `FLOWQ_BENCH_PCAP=/path/to/capture.pcap` (e.g. one written by
//! `../shared/tools/gen_pcap.py`, see docs/benchmarks.md), or else a synthetic
//! capture of 400 000 TCP packets in 20 000 flows generated here.
//!
//! Baselines:
//! * `read`: reading the file into memory;
//! * `bare loop`: pcap-parser + etherparse lax slicing + a 5-tuple hash map
//!   update per packet, the least work any flow meter must do.
//!
//! Run with `cargo bench -p flowq-extract`.

use flowq_extract::capture::InputSource;
use flowq_extract::sink::{OutputFormat, OutputTarget, open_sink};
use flowq_extract::{ExtractOptions, Extractor};
use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn main() {
    let (path, _guard) = input();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("input: {} ({:.1} MB)", path.display(), size as f64 / 1e6);

    let read = best_of(|| {
        black_box(read_through(&path));
    });
    let mut packets = 0;
    let bare = best_of(|| packets = bare_loop(&path));
    let extractor = Extractor::new(ExtractOptions::default());
    let inputs = [InputSource::File(path.clone())];
    let mut flows = 0;
    let batches_only = best_of(|| {
        let summary = extractor
            .run(&inputs, &mut |b| {
                black_box(b.num_rows());
                Ok::<(), std::convert::Infallible>(())
            })
            .unwrap();
        flows = summary.flows_written;
    });
    let out_dir = tempfile::tempdir().unwrap();
    let parquet = best_of(|| {
        let target = OutputTarget::File(out_dir.path().join("flows.parquet"));
        let mut sink = open_sink(&target, OutputFormat::Parquet, extractor.schema(), &[]).unwrap();
        extractor.run(&inputs, &mut |b| sink.write(&b)).unwrap();
        sink.finish(&[]).unwrap();
    });

    println!("{packets} packets, {flows} flows; best of {RUNS} runs\n");
    println!(
        "{:<34} {:>10} {:>12} {:>12}",
        "", "seconds", "Mpackets/s", "x bare loop"
    );
    for (name, t) in [
        ("read file (baseline)", read),
        ("bare loop (baseline)", bare),
        ("flowq standard -> batches", batches_only),
        ("flowq standard -> Parquet", parquet),
    ] {
        let s = t.as_secs_f64();
        println!(
            "{name:<34} {s:>10.3} {:>12.2} {:>12.2}",
            packets as f64 / s / 1e6,
            s / bare.as_secs_f64()
        );
    }
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
