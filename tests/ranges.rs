//! `-j N` on one uncompressed capture file: byte ranges read and decoded on
//! several threads. The record boundaries found are the sequential reader's,
//! and the output is the bytes of `-j 1` whatever the split: small ranges make
//! every file of the corpus split many times, at every kind of position.

use crate::util::capture::{
    Iface, LINKTYPE_ETHERNET, Pkt, T0_US, eth, flags, gtp_u, ip4_carrying, ip4_fragments, ip4_tcp,
    ip4_udp, ipcomp, pcap_bytes, pcapng_bytes, write_pcap,
};
use crate::util::shared_pcaps;
use arrow::record_batch::RecordBatch;
use flowq_extract::capture::{InputSource, record_boundaries};
use flowq_extract::flow::FlowConfig;
use flowq_extract::{ExtractOptions, Extractor, RunSummary};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn extract(
    path: &Path,
    options: ExtractOptions,
    range_bytes: u64,
) -> (Vec<RecordBatch>, RunSummary) {
    let mut batches = Vec::new();
    let summary = Extractor::new(options)
        .with_range_bytes(range_bytes)
        .run(&[InputSource::File(path.to_path_buf())], &mut |b| {
            batches.push(b);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap();
    (batches, summary)
}

fn concat(batches: &[RecordBatch]) -> Option<RecordBatch> {
    let schema = batches.first()?.schema();
    Some(arrow::compute::concat_batches(&schema, batches).unwrap())
}

/// `-j 2` and `-j 3` read in ranges of `range_bytes` give the rows, counts
/// and input status of `-j 1`. Returns the `-j 2` summary.
fn assert_same_output(path: &Path, options: ExtractOptions, range_bytes: u64) -> RunSummary {
    let (one, one_summary) = extract(path, options, range_bytes);
    assert_eq!(one_summary.parallel_reading.ranges, 0);
    let mut first = None;
    for threads in [2, 3] {
        let (many, summary) = extract(path, ExtractOptions { threads, ..options }, range_bytes);
        let what = format!(
            "{} with -j {threads}, ranges of {range_bytes} B",
            path.display()
        );
        assert_eq!(concat(&one), concat(&many), "{what}");
        assert_eq!(one_summary.packets_read, summary.packets_read, "{what}");
        assert_eq!(
            one_summary.packets_in_flows, summary.packets_in_flows,
            "{what}"
        );
        assert_eq!(one_summary.skipped, summary.skipped, "{what}");
        assert_eq!(
            one_summary.timestamp_outliers, summary.timestamp_outliers,
            "{what}"
        );
        assert_eq!(
            one_summary.orphan_fragments, summary.orphan_fragments,
            "{what}"
        );
        assert_eq!(
            one_summary.ipcomp_not_inflated, summary.ipcomp_not_inflated,
            "{what}"
        );
        assert_eq!(one_summary.evicted_flows, summary.evicted_flows, "{what}");
        assert_eq!(
            one_summary.unknown_interface_blocks, summary.unknown_interface_blocks,
            "{what}"
        );
        assert_eq!(
            one_summary.simple_packet_blocks, summary.simple_packet_blocks,
            "{what}"
        );
        let (a, b) = (&one_summary.inputs[0], &summary.inputs[0]);
        assert_eq!((a.status, &a.message), (b.status, &b.message), "{what}");
        first.get_or_insert(summary);
    }
    first.unwrap()
}

/// The capture files of the corpus, by its manifest.
fn corpus_files() -> Option<Vec<PathBuf>> {
    let corpus = shared_pcaps()?;
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let files: Vec<PathBuf> = (manifest.lines().skip(1))
        .filter_map(|l| l.split('\t').next())
        .map(|p| corpus.join(p))
        .collect();
    assert!(files.len() > 300, "the corpus lists {} files", files.len());
    Some(files)
}

/// Start offsets of every record (pcap) or block (pcapng) of a file, walked
/// from the headers' length fields (written here, apart from the reader),
/// up to `end`; `None` for anything else.
fn record_starts(bytes: &[u8], end: usize) -> Option<BTreeSet<u64>> {
    let u32_at = |at: usize, big: bool| {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let magic = bytes.get(..4)?;
    let mut starts = BTreeSet::new();
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut at = 0;
        let mut big = false;
        while at + 12 <= end {
            if bytes[at..at + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                big = bytes[at + 8..at + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
            }
            starts.insert(at as u64);
            at += u32_at(at + 4, big)? as usize;
        }
        return Some(starts);
    }
    let (big, header) = match u32::from_le_bytes(magic.try_into().ok()?) {
        0xa1b2_c3d4 | 0xa1b2_3c4d => (false, 16),
        0xd4c3_b2a1 | 0x4d3c_b2a1 => (true, 16),
        0xa1b2_cd34 => (false, 24),
        _ => return None,
    };
    let mut at = 24;
    while at + header <= end {
        starts.insert(at as u64);
        at += header + u32_at(at + 8, big)? as usize;
    }
    Some(starts)
}

/// Where the sequential reader stops: the end of the file, or, when a
/// damaged record ends it, the start of the last record before that one (a
/// chain of records found in the last good record may run into the damage:
/// the range before then does not end on it and the range is read again,
/// which the output tests check).
fn sequential_end(path: &Path) -> usize {
    let mut reader = InputSource::File(path.to_path_buf())
        .open_capture(Default::default())
        .unwrap();
    let mut last_start = 0;
    loop {
        let before = reader.offset();
        match reader.next_packet() {
            Ok(Some(_)) => last_start = before,
            Ok(None) => return reader.offset() as usize,
            Err(_) => return last_start as usize,
        }
    }
}

/// Every boundary found in every uncompressed capture of the corpus, split
/// about every 256 and every 4096 bytes, is where a record starts in the
/// sequential reading of the file.
#[test]
fn boundaries_found_are_the_sequential_readers_on_the_corpus() {
    let Some(files) = corpus_files() else { return };
    let (mut checked, mut found) = (0, 0);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        if flowq_extract::capture::InputSource::File(file.clone())
            .open_capture(Default::default())
            .is_err()
        {
            continue;
        }
        let end = sequential_end(file);
        let Some(starts) = record_starts(&bytes, end) else {
            continue; // compressed
        };
        checked += 1;
        for range_bytes in [256, 4096] {
            for boundary in record_boundaries(file, range_bytes).unwrap() {
                if boundary as usize >= end {
                    continue; // past the record that ends the sequential reading
                }
                found += 1;
                assert!(
                    starts.contains(&boundary),
                    "{}: boundary {boundary} (ranges of {range_bytes} B) is not a record start",
                    file.display()
                );
            }
        }
    }
    assert!(
        checked > 300 && found > 10_000,
        "{checked} files, {found} boundaries"
    );
}

/// Every capture of the corpus read in ranges of 512 bytes (and one of 64 KiB)
/// on 2 and 3 threads gives the output of one stream, with short timeouts
/// (flows end mid-capture) and, on the larger files, under eviction.
#[test]
fn ranges_give_identical_output_on_the_corpus() {
    let Some(files) = corpus_files() else { return };
    let short = ExtractOptions {
        flow: FlowConfig {
            idle_timeout_ns: Some(2_000_000_000),
            ..FlowConfig::default()
        },
        ..ExtractOptions::default()
    };
    let (mut split, mut evicted) = (0, 0);
    for file in &files {
        let summary = assert_same_output(file, short, 512);
        split += u64::from(summary.parallel_reading.ranges > 1);
        if std::fs::metadata(file).map_or(0, |m| m.len()) > 1 << 20 {
            let evicting = ExtractOptions {
                flow: FlowConfig {
                    max_flows: Some(200),
                    ..short.flow
                },
                ..short
            };
            evicted += assert_same_output(file, evicting, 64 << 10).evicted_flows;
        }
    }
    assert!(split > 200, "{split} files were split");
    assert!(evicted > 1000, "{evicted} flows evicted");
}

/// A datagram's first fragment and its later fragments, flows that time out,
/// a time jump the next packet confirms and one it does not, in ranges small
/// enough to put every few packets in a range of their own.
fn tricky_packets() -> Vec<Pkt> {
    let mut packets = Vec::new();
    let mut us = T0_US;
    for i in 0..400u32 {
        us += 7_000 + i64::from(i % 13) * 100_000;
        let host = (i % 23) as u8;
        let tcp = ip4_tcp(
            ([10, 0, 0, host], 1000 + (i % 5) as u16),
            ([10, 9, 9, 9], 80),
            if i % 17 == 0 {
                flags::FIN | flags::ACK
            } else {
                flags::ACK
            },
            &vec![b'x'; (i % 90) as usize],
        );
        packets.push(Pkt::new(us, eth(&tcp)));
        if i % 50 == 10 {
            // One datagram in 4 fragments, interleaved with other packets.
            let payload = crate::util::capture::udp_datagram(5353, 9999, &[7u8; 200]);
            let fragments =
                ip4_fragments([10, 1, 1, host], [10, 2, 2, 2], 17, i as u16, &payload, 64);
            for fragment in fragments {
                us += 1_000;
                packets.push(Pkt::new(us, eth(&fragment)));
                let udp = ip4_udp(([10, 5, 5, 5], 53), ([10, 6, 6, host], 5000), b"filler");
                packets.push(Pkt::new(us, eth(&udp)));
            }
        }
        if i % 50 == 30 {
            // A GTP-U datagram in 3 fragments, the last before the middle
            // one, interleaved with other packets: the first taken out of
            // its tunnel, the others lent the packet inside, in file order.
            let inner = ip4_udp(([10, 3, 3, host], 7000), ([10, 4, 4, 4], 53), &[9u8; 300]);
            let payload = crate::util::capture::udp_datagram(2152, 2152, &gtp_u(7, &inner));
            let mut fragments = ip4_fragments(
                [10, 1, 1, host],
                [10, 2, 2, 2],
                17,
                0x4000 | i as u16,
                &payload,
                128,
            );
            fragments.swap(1, 2);
            for fragment in fragments {
                us += 1_000;
                packets.push(Pkt::new(us, eth(&fragment)));
                let udp = ip4_udp(([10, 5, 5, 5], 53), ([10, 6, 6, host], 5000), b"filler");
                packets.push(Pkt::new(us, eth(&udp)));
            }
        }
        if i % 100 == 40 {
            // A TCP segment in IPComp (its packet is inflated out of the
            // record: the range is dealt in sequence), then an IPComp
            // payload that does not inflate (counted).
            let segment = ip4_tcp(
                ([10, 0, 0, host], 1000),
                ([10, 9, 9, 9], 80),
                flags::ACK,
                b"inflated payload",
            );
            for payload in [ipcomp(4, &segment), vec![4, 0, 0, 2, 0xff]] {
                us += 1_000;
                let packet = ip4_carrying([192, 0, 2, 1], [192, 0, 2, 2], 108, &payload);
                packets.push(Pkt::new(us, eth(&packet)));
            }
        }
        if i == 150 {
            // An outlier: two hours ahead, not confirmed.
            let udp = ip4_udp(([10, 7, 7, 7], 1), ([10, 8, 8, 8], 2), b"outlier");
            packets.push(Pkt::new(us + 7_200_000_000, eth(&udp)));
        }
        if i == 300 {
            // A real gap of two hours.
            us += 7_200_000_000;
        }
    }
    packets
}

/// Fragments of one datagram, time jumps and timeouts split over ranges, in
/// pcap (micro- and nanosecond) and pcapng, to every range size from 64 bytes.
#[test]
fn fragments_and_time_jumps_across_ranges_give_identical_output() {
    let dir = tempfile::tempdir().unwrap();
    let packets = tricky_packets();
    let short = ExtractOptions {
        flow: FlowConfig {
            idle_timeout_ns: Some(300_000_000),
            ..FlowConfig::default()
        },
        ..ExtractOptions::default()
    };
    let pcap = dir.path().join("tricky.pcap");
    write_pcap(&pcap, LINKTYPE_ETHERNET, false, &packets);
    let nano = dir.path().join("tricky-nano.pcap");
    write_pcap(&nano, LINKTYPE_ETHERNET, true, &packets);
    let ng = dir.path().join("tricky.pcapng");
    let numbered: Vec<(u32, Pkt)> = packets.iter().map(|p| (0, p.clone())).collect();
    std::fs::write(
        &ng,
        pcapng_bytes(&[Iface::new(LINKTYPE_ETHERNET, Some(9))], &numbered),
    )
    .unwrap();
    for path in [&pcap, &nano, &ng] {
        for range_bytes in [64, 333, 1000, 5000] {
            let summary = assert_same_output(path, short, range_bytes);
            let reading = summary.parallel_reading;
            assert!(reading.ranges > 5, "{}", path.display());
            assert!(summary.timestamp_outliers == 1 && summary.orphan_fragments == 0);
            assert_eq!(summary.ipcomp_not_inflated, 4);
            // Ranges with fragments or jumps were dealt in sequence, the
            // others by their workers.
            assert!(
                reading.ranges_sequenced > 0
                    && reading.ranges_sequenced + reading.ranges_reread < reading.ranges,
                "{}: {reading:?}",
                path.display()
            );
        }
        let seed = ExtractOptions {
            profile: flowq_extract::Profile::Seed,
            ..ExtractOptions::default()
        };
        assert_same_output(path, seed, 200);
        // Without the application columns the ranges keep no payloads but
        // a fragment's bytes, which the joining thread opens or lends.
        let no_app = ExtractOptions {
            app: false,
            ..short
        };
        assert_same_output(path, no_app, 333);
        // The GTP-U datagrams were opened: 8 inner flows, 10.3.3.x:7000,
        // with all their fragments (3 packets each).
        for options in [short, no_app] {
            let (batches, _) = extract(path, options, 333);
            let flows = concat(&batches).unwrap();
            let tunnel = arrow::compute::cast(
                flows.column_by_name("tunnel").unwrap(),
                &arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            let tunnel = tunnel
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .unwrap();
            let packets = arrow::compute::cast(
                flows.column_by_name("pkt_count").unwrap(),
                &arrow::datatypes::DataType::Int64,
            )
            .unwrap();
            let packets = packets
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap();
            let gtp: Vec<i64> = (0..flows.num_rows())
                .filter(|&r| tunnel.value(r) == "gtpu")
                .map(|r| packets.value(r))
                .collect();
            assert_eq!(gtp, [3; 8], "{}", path.display());
        }
    }
}

/// Packets whose payloads are pcap records themselves (a chain of plausible
/// record headers longer than the search asks for): a boundary found inside
/// a payload is caught when the range before does not end on it, and that
/// range is read again; the output does not change.
#[test]
fn payloads_that_look_like_records_do_not_change_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let inner: Vec<Pkt> = (0..20)
        .map(|i| Pkt::new(T0_US + i * 10, vec![0u8; 24]))
        .collect();
    // The inner records without their file header: record after record.
    let records = pcap_bytes(LINKTYPE_ETHERNET, false, &inner)[24..].to_vec();
    let mut packets = Vec::new();
    for i in 0..60u32 {
        let udp = ip4_udp(
            ([10, 0, 0, 1], 2000),
            ([10, 0, 0, (i % 3) as u8], 3000),
            &records,
        );
        packets.push(Pkt::new(T0_US + i64::from(i) * 1000, eth(&udp)));
    }
    let path = dir.path().join("pcap-in-pcap.pcap");
    write_pcap(&path, LINKTYPE_ETHERNET, false, &packets);
    let mut reread = 0;
    for range_bytes in [97, 500, 1234] {
        let summary = assert_same_output(&path, ExtractOptions::default(), range_bytes);
        assert_eq!(summary.packets_read, 60);
        reread += summary.parallel_reading.ranges_reread;
    }
    assert!(
        reread > 0,
        "a fake boundary inside a payload was taken and caught"
    );
}

/// Split points inside the file header (pcap's 24 bytes, pcapng's section
/// header and interface description), inside record headers and inside
/// records; files cut off in a record, in a record header and in the file
/// header; a pcapng file with an interface described after packets, and
/// simple packet blocks (which take the previous packet's time).
#[test]
fn split_points_anywhere_and_truncated_files() {
    let dir = tempfile::tempdir().unwrap();
    let packets: Vec<Pkt> = tricky_packets().into_iter().take(120).collect();
    let bytes = pcap_bytes(LINKTYPE_ETHERNET, false, &packets);
    let whole = dir.path().join("whole.pcap");
    std::fs::write(&whole, &bytes).unwrap();
    // The first split point inside the file header, the next ones everywhere.
    for range_bytes in [5, 16, 23, 24, 25, 40] {
        let summary = assert_same_output(&whole, ExtractOptions::default(), range_bytes);
        assert!(summary.parallel_reading.ranges > 100);
    }
    let starts = record_starts(&bytes, bytes.len()).unwrap();
    let middle = *starts.iter().nth(60).unwrap() as usize;
    for cut in [bytes.len() - 3, middle + 7, middle + 30, 20] {
        let path = dir.path().join(format!("cut-{cut}.pcap"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        if cut == 20 {
            // Not even a file header: not a capture, with any -j.
            let (_, summary) = extract(
                &path,
                ExtractOptions {
                    threads: 2,
                    ..Default::default()
                },
                8,
            );
            assert_eq!(
                summary.inputs[0].status,
                flowq_extract::summary::InputStatus::Failed
            );
            continue;
        }
        for range_bytes in [50, 700] {
            let summary = assert_same_output(&path, ExtractOptions::default(), range_bytes);
            assert_eq!(
                summary.inputs[0].status,
                flowq_extract::summary::InputStatus::Partial
            );
        }
    }

    // pcapng: a second interface described after the first packets, then
    // simple packet blocks: ranges after it assumed the interfaces at the
    // first packet and are read again.
    let ng = pcapng_bytes(&[Iface::new(LINKTYPE_ETHERNET, None)], &[]);
    let mut file = ng.clone();
    let epbs = pcapng_bytes(
        &[Iface::new(LINKTYPE_ETHERNET, None)],
        &packets
            .iter()
            .take(40)
            .map(|p| (0, p.clone()))
            .collect::<Vec<_>>(),
    );
    file.extend_from_slice(&epbs[ng.len()..]);
    let second = pcapng_bytes(
        &[
            Iface::new(LINKTYPE_ETHERNET, None),
            Iface::new(LINKTYPE_ETHERNET, Some(9)),
        ],
        &[],
    );
    // The second interface's description block alone (after the first's).
    let first_iface_end = ng.len();
    let idb2 = second[first_iface_end..].to_vec();
    file.extend_from_slice(&idb2);
    let later = pcapng_bytes(
        &[
            Iface::new(LINKTYPE_ETHERNET, None),
            Iface::new(LINKTYPE_ETHERNET, Some(9)),
        ],
        &packets
            .iter()
            .skip(40)
            .enumerate()
            .map(|(i, p)| ((i % 2) as u32, p.clone()))
            .collect::<Vec<_>>(),
    );
    file.extend_from_slice(&later[second.len()..]);
    for packet in packets.iter().take(5) {
        file.extend_from_slice(&simple_packet_block(&packet.data));
    }
    let path = dir.path().join("late-interface.pcapng");
    std::fs::write(&path, &file).unwrap();
    let mut reread = 0;
    for range_bytes in [10, 300, 2000] {
        let summary = assert_same_output(&path, ExtractOptions::default(), range_bytes);
        assert_eq!(summary.packets_read, 125);
        reread += summary.parallel_reading.ranges_reread;
    }
    assert!(reread > 0);
}

/// A little-endian pcapng simple packet block.
fn simple_packet_block(data: &[u8]) -> Vec<u8> {
    let padded = data.len().next_multiple_of(4);
    let len = (16 + padded) as u32;
    let mut block = Vec::new();
    block.extend_from_slice(&3u32.to_le_bytes());
    block.extend_from_slice(&len.to_le_bytes());
    block.extend_from_slice(&(data.len() as u32).to_le_bytes());
    block.extend_from_slice(data);
    block.resize(12 + padded, 0);
    block.extend_from_slice(&len.to_le_bytes());
    block
}

/// Feature states that read payload bytes (the application metadata, and the
/// deep-learning byte options of the full profile) get them in the byte ranges
/// too: the same rows as one stream on captures with TLS, HTTP, DNS and QUIC.
#[test]
fn ranges_carry_payloads_to_the_feature_states() {
    let Some(corpus) = shared_pcaps() else { return };
    let options = ExtractOptions {
        profile: flowq_extract::Profile::Full,
        deep: flowq_extract::features::DeepConfig {
            ppi_len: 30,
            histograms: true,
            byte_dist_len: 64,
            payload_prefix_len: 32,
            payload_packets: 4,
            payload_packet_len: 16,
            ..Default::default()
        },
        ..ExtractOptions::default()
    };
    for capture in [
        "ndpi/1kxun.pcap",
        "nfstream/instagram.pcap",
        "retina/quic.pcap",
    ] {
        let summary = assert_same_output(&corpus.join(capture), options, 4096);
        assert!(
            summary.parallel_reading.ranges > 1,
            "{capture} was not split"
        );
    }
}

/// A named pipe is one stream with `-j 2` too: nothing but its reader may
/// open it (the range planner opened it to look for byte ranges: that open
/// waited forever once the writer had finished, or took the magic's four
/// bytes from the stream).
#[cfg(target_os = "linux")]
#[test]
fn a_named_pipe_read_with_two_threads_loses_nothing() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let sample = crate::util::repo_root().join("testdata/sample.pcap");
    let bytes = std::fs::read(&sample).unwrap();
    let pipe = dir.path().join("pipe.pcap");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .unwrap();
    assert!(made.success());
    let writer = {
        let pipe = pipe.clone();
        std::thread::spawn(move || {
            // Blocks until flowq opens the pipe.
            let mut out = std::fs::OpenOptions::new().write(true).open(&pipe).unwrap();
            out.write_all(&bytes).is_ok()
        })
    };
    let (from_pipe, from_file) = (dir.path().join("pipe.csv"), dir.path().join("file.csv"));
    let mut child = std::process::Command::new(crate::util::flowq_bin())
        .args(["extract", pipe.to_str().unwrap(), "-j", "2", "-o"])
        .arg(&from_pipe)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It used to wait forever: give it a minute.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            // Let the writer go if it still waits for a reader (O_NONBLOCK:
            // this open must not wait for a writer in turn).
            use std::os::unix::fs::OpenOptionsExt as _;
            let _ = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(0o4000)
                .open(&pipe);
            panic!("flowq -j 2 on a named pipe did not finish within a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let piped = child.wait_with_output().unwrap();
    assert!(writer.join().unwrap(), "the pipe took every byte");
    assert_eq!(
        piped.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    let direct = crate::util::flowq(&[
        "extract",
        sample.to_str().unwrap(),
        "-o",
        from_file.to_str().unwrap(),
    ]);
    assert_eq!(direct.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&from_pipe).unwrap(),
        std::fs::read_to_string(&from_file).unwrap()
    );
}
