//! Packet preprocessing between the capture reader and decoding, as the
//! CIC datasets' authors ask for it: `reordercap` (timestamp order within a
//! bounded window, [`reorder`]) and `editcap -D`/`-w` (duplicate removal,
//! [`dedup`]). Both are off unless asked for; with them on, the stream the
//! later stages see (and numbers: packet ordinals, flow ids, the output order)
//! is the preprocessed one, as if flowq read the file those tools write.
//!
//! Reordering comes first, so duplicates are looked for in timestamp order,
//! which editcap's time window assumes. Both keep bounded state (see
//! [`reorder::MAX_HELD_BYTES`], [`reorder::MAX_HELD_PACKETS`],
//! [`dedup::MAX_DEPTH`]) and reuse their buffers, so the steady state
//! allocates nothing per packet.

pub(crate) mod dedup;
pub(crate) mod reorder;

use crate::capture::{CaptureError, CaptureReader, RawPacket};

pub use dedup::{DedupWindow, MAX_DEDUP_PACKETS};

/// Which preprocessing a run asks for (both off by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PreprocessOptions {
    /// Sort packets by timestamp within this window (ns); `None` = capture order.
    pub reorder_window_ns: Option<i64>,
    /// Drop packets whose bytes equal a packet within this window.
    pub dedup: Option<DedupWindow>,
}

impl PreprocessOptions {
    /// Whether any preprocessing is asked for (the input is then read
    /// sequentially, from its start).
    pub fn any(&self) -> bool {
        self.reorder_window_ns.is_some() || self.dedup.is_some()
    }
}

/// What preprocessing did to one input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PreprocessCounts {
    /// Packets dropped as duplicates.
    pub duplicates_dropped: u64,
    /// Packets passed on out of timestamp order: they came later than the
    /// reorder window allowed (an earlier-stamped packet had already gone on).
    pub reorder_late: u64,
    /// Packets passed on before the window closed on them because the
    /// reorder buffer was full.
    pub reorder_forced: u64,
}

/// What one call gives.
pub(crate) enum Next<'a> {
    /// The next packet of the preprocessed stream.
    Packet(RawPacket<'a>),
    /// A packet was read and dropped (a duplicate): ask again.
    Dropped,
    /// The input has ended.
    End,
}

/// The preprocessing of one input.
pub(crate) struct Preprocess {
    reorder: Option<reorder::Reorder>,
    dedup: Option<dedup::Dedup>,
    duplicates_dropped: u64,
}

impl Preprocess {
    pub(crate) fn new(options: PreprocessOptions) -> Self {
        Preprocess {
            reorder: options.reorder_window_ns.map(reorder::Reorder::new),
            dedup: options.dedup.map(dedup::Dedup::new),
            duplicates_dropped: 0,
        }
    }

    /// The next packet: straight from the reader when nothing is asked for.
    /// An error of the reader comes after the packets held before it.
    #[inline(always)]
    pub(crate) fn next<'a>(
        &'a mut self,
        reader: &'a mut CaptureReader,
    ) -> Result<Next<'a>, CaptureError> {
        let raw = match &mut self.reorder {
            None => reader.next_packet()?,
            Some(reorder) => reorder.next(reader)?,
        };
        let Some(raw) = raw else {
            return Ok(Next::End);
        };
        if let Some(dedup) = &mut self.dedup
            && dedup.is_duplicate(&raw)
        {
            self.duplicates_dropped += 1;
            return Ok(Next::Dropped);
        }
        Ok(Next::Packet(raw))
    }

    pub(crate) fn counts(&self) -> PreprocessCounts {
        let (late, forced) = self
            .reorder
            .as_ref()
            .map_or((0, 0), |r| (r.late(), r.forced()));
        PreprocessCounts {
            duplicates_dropped: self.duplicates_dropped,
            reorder_late: late,
            reorder_forced: forced,
        }
    }
}

/// A packet's fields, without its bytes.
#[derive(Debug, Clone, Copy)]
struct Meta {
    ts_ns: i64,
    wire_len: u32,
    linktype: u32,
    interface: u32,
}

impl Meta {
    fn of(raw: &RawPacket<'_>) -> Meta {
        Meta {
            ts_ns: raw.ts_ns,
            wire_len: raw.wire_len,
            linktype: raw.linktype,
            interface: raw.interface,
        }
    }

    fn with<'a>(&self, data: &'a [u8]) -> RawPacket<'a> {
        RawPacket {
            ts_ns: self.ts_ns,
            wire_len: self.wire_len,
            data,
            linktype: self.linktype,
            interface: self.interface,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;
    use std::io::Cursor;

    /// A nanosecond pcap (Ethernet) of `(timestamp ns, frame)` records.
    fn pcap(packets: &[(i64, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65_535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (ts, data) in packets {
            let (s, ns) = (ts / 1_000_000_000, ts % 1_000_000_000);
            out.extend_from_slice(&(s as u32).to_le_bytes());
            out.extend_from_slice(&(ns as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    /// A 20-byte frame told apart by `tag`.
    fn frame(tag: u8) -> Vec<u8> {
        let mut f = vec![0u8; 20];
        f[14] = tag;
        f
    }

    /// The (timestamp, tag) of every packet passed on, and the counts.
    fn run(
        options: PreprocessOptions,
        bytes: Vec<u8>,
    ) -> (Vec<(i64, u8)>, PreprocessCounts, Option<CaptureError>) {
        let mut reader = CaptureReader::new(Box::new(Cursor::new(bytes))).unwrap();
        let mut pre = Preprocess::new(options);
        let mut out = Vec::new();
        let error = loop {
            match pre.next(&mut reader) {
                Ok(Next::Packet(raw)) => out.push((raw.ts_ns, raw.data[14])),
                Ok(Next::Dropped) => {}
                Ok(Next::End) => break None,
                Err(e) => break Some(e),
            }
        };
        (out, pre.counts(), error)
    }

    fn reorder(window_ns: i64) -> PreprocessOptions {
        PreprocessOptions {
            reorder_window_ns: Some(window_ns),
            dedup: None,
        }
    }

    fn dedup(window: DedupWindow) -> PreprocessOptions {
        PreprocessOptions {
            reorder_window_ns: None,
            dedup: Some(window),
        }
    }

    fn tagged(list: &[(i64, u8)]) -> Vec<u8> {
        pcap(&list.iter().map(|&(t, g)| (t, frame(g))).collect::<Vec<_>>())
    }

    #[test]
    fn nothing_asked_passes_the_capture_through() {
        let input = [(30, 1), (10, 2), (20, 3)];
        let (out, counts, error) = run(PreprocessOptions::default(), tagged(&input));
        assert_eq!(out, input);
        assert_eq!(counts, PreprocessCounts::default());
        assert!(error.is_none());
    }

    #[test]
    fn disorder_within_the_window_is_sorted() {
        // 20 comes 10 after 30, 35 comes 5 after 40: both within 10.
        let input = [(10, 1), (30, 2), (20, 3), (40, 4), (35, 5)];
        let (out, counts, _) = run(reorder(10), tagged(&input));
        assert_eq!(out, [(10, 1), (20, 3), (30, 2), (35, 5), (40, 4)]);
        assert_eq!(counts.reorder_late, 0);
        // The window is enough, not necessary: with 4, 20 (10 late) is still
        // put in order, because 30 waits for 34 to be passed (10 goes when 30
        // is read, 20 at once after it, 30 when 40 is read, 35 before 40).
        let (out, counts, _) = run(reorder(4), tagged(&input));
        assert_eq!(out, [(10, 1), (20, 3), (30, 2), (35, 5), (40, 4)]);
        assert_eq!(counts.reorder_late, 0);
    }

    #[test]
    fn a_packet_later_than_the_window_goes_on_as_early_as_it_can_and_is_counted() {
        // 50 comes 150 after 200 with a window of 60: 100 has gone on (100 <= 200 - 60).
        let input = [(100, 1), (200, 2), (50, 3), (300, 4)];
        let (out, counts, _) = run(reorder(60), tagged(&input));
        assert_eq!(out, [(100, 1), (50, 3), (200, 2), (300, 4)]);
        assert_eq!(counts.reorder_late, 1);
        assert_eq!(counts.reorder_forced, 0);
        // A window of 150 holds 100 until 250 is past: the full sort.
        let (out, counts, _) = run(reorder(150), tagged(&input));
        assert_eq!(out, [(50, 3), (100, 1), (200, 2), (300, 4)]);
        assert_eq!(counts.reorder_late, 0);
    }

    #[test]
    fn equal_timestamps_keep_capture_order() {
        // reordercap's sort is stable (checked with reordercap 4.x: the
        // fixture in tests/preprocess.rs).
        let input = [(100, 1), (50, 2), (100, 3), (50, 4), (100, 5)];
        let (out, counts, _) = run(reorder(1_000), tagged(&input));
        assert_eq!(out, [(50, 2), (50, 4), (100, 1), (100, 3), (100, 5)]);
        assert_eq!(counts.reorder_late, 0);
        // A packet equal to one already gone on is not late.
        let (out, counts, _) = run(reorder(0), tagged(&[(100, 1), (200, 2), (200, 3)]));
        assert_eq!(out, [(100, 1), (200, 2), (200, 3)]);
        assert_eq!(counts.reorder_late, 0);
    }

    #[test]
    fn held_packets_come_before_the_error_that_ended_the_capture() {
        let mut bytes = tagged(&[(30, 1), (10, 2), (20, 3)]);
        bytes.extend_from_slice(&[1, 2, 3]); // a cut-off record header
        let (out, _, error) = run(reorder(100), bytes);
        assert_eq!(out, [(10, 2), (20, 3), (30, 1)]);
        assert!(error.is_some());
    }

    #[test]
    fn packet_window_compares_with_the_packets_before() {
        // A B C D A A A: the A at index 4 is 4 packets after the first.
        let input = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 1), (5, 1), (6, 1)];
        // As editcap -D 4 (3 before): the later two A's go.
        let (out, counts, _) = run(dedup(DedupWindow::Packets(3)), tagged(&input));
        assert_eq!(out, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 1)]);
        assert_eq!(counts.duplicates_dropped, 2);
        // As editcap -D 5 (4 before): index 4 goes too.
        let (out, counts, _) = run(dedup(DedupWindow::Packets(4)), tagged(&input));
        assert_eq!(out, [(0, 1), (1, 2), (2, 3), (3, 4)]);
        assert_eq!(counts.duplicates_dropped, 3);
    }

    #[test]
    fn a_dropped_packet_stays_in_the_window() {
        // With one packet before: A A A, each repeats the (dropped) one before.
        let (out, counts, _) = run(
            dedup(DedupWindow::Packets(1)),
            tagged(&[(0, 1), (1, 1), (2, 1), (3, 2), (4, 1)]),
        );
        assert_eq!(out, [(0, 1), (3, 2), (4, 1)]);
        assert_eq!(counts.duplicates_dropped, 2);
    }

    #[test]
    fn duplicates_are_the_same_bytes_whatever_the_timestamp_or_wire_length() {
        let a = frame(1);
        let mut one_byte_off = a.clone();
        one_byte_off[19] ^= 1;
        let mut longer = a.clone();
        longer.push(0);
        let input = [
            (0, a.clone()),
            (1_000_000_000, a.clone()),
            (2, one_byte_off),
            (3, longer),
        ];
        let mut reader = CaptureReader::new(Box::new(Cursor::new(pcap(&input)))).unwrap();
        let mut pre = Preprocess::new(dedup(DedupWindow::Packets(10)));
        let mut kept = Vec::new();
        while let Ok(next) = pre.next(&mut reader) {
            match next {
                Next::Packet(raw) => kept.push(raw.ts_ns),
                Next::Dropped => {}
                Next::End => break,
            }
        }
        assert_eq!(kept, [0, 2, 3]);
        assert_eq!(pre.counts().duplicates_dropped, 1);
    }

    #[test]
    fn time_window_is_inclusive_and_measured_from_the_nearest_copy() {
        let input = [
            (0, 1),
            (1_000, 1),  // 1000 after: a duplicate (inclusive)
            (2_001, 1),  // 1001 after the (dropped) copy at 1000: kept
            (2_500, 2),  // another packet
            (3_001, 1),  // 1000 after 2001: dropped
            (10_000, 1), // far from every copy: kept
            (10_000, 1), // same time: dropped
        ];
        let (out, counts, _) = run(dedup(DedupWindow::Nanos(1_000)), tagged(&input));
        assert_eq!(out, [(0, 1), (2_001, 1), (2_500, 2), (10_000, 1)]);
        assert_eq!(counts.duplicates_dropped, 3);
        // A copy stamped later than the packet is no duplicate of it (editcap
        // skips negative distances).
        let (out, _, _) = run(
            dedup(DedupWindow::Nanos(1_000)),
            tagged(&[(500, 1), (400, 1)]),
        );
        assert_eq!(out, [(500, 1), (400, 1)]);
    }

    #[test]
    fn reordering_comes_before_dedup() {
        // Sorted, the two A's are 100 apart; in capture order 1000 apart.
        let input = [(0, 1), (1_000, 1), (900, 2)];
        let both = PreprocessOptions {
            reorder_window_ns: Some(1_000),
            dedup: Some(DedupWindow::Packets(1)),
        };
        let (out, counts, _) = run(both, tagged(&[(0, 1), (1_000, 2), (900, 1)]));
        // Sorted: A@0 A@900 B@1000: the second A follows the first.
        assert_eq!(out, [(0, 1), (1_000, 2)]);
        assert_eq!(counts.duplicates_dropped, 1);
        let (out, _, _) = run(dedup(DedupWindow::Packets(1)), tagged(&input));
        assert_eq!(out, [(0, 1), (900, 2)]);
    }

    #[test]
    fn the_window_state_stays_bounded() {
        // 10,000 distinct packets through a 3-packet window: 3 keys remain.
        let input: Vec<(i64, Vec<u8>)> = (0..10_000u32)
            .map(|i| {
                let mut f = frame(0);
                f.extend_from_slice(&i.to_le_bytes());
                (i64::from(i), f)
            })
            .collect();
        let mut reader = CaptureReader::new(Box::new(Cursor::new(pcap(&input)))).unwrap();
        let mut d = dedup::Dedup::new(DedupWindow::Packets(3));
        let mut r = reorder::Reorder::new(5);
        while let Ok(Some(raw)) = r.next(&mut reader) {
            assert!(!d.is_duplicate(&raw));
        }
        assert_eq!(d.len(), 3);
        assert_eq!(r.late(), 0);
        assert!(r.slots() <= 7, "{} slots", r.slots());
    }
}
