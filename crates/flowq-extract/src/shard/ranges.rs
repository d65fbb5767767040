//! One capture file read and decoded on several threads: the file is split
//! into byte ranges that start on record boundaries ([`RangePlan`]); workers
//! read and decode whole ranges, at most [`IN_FLIGHT_PER_WORKER`] per
//! worker held at once (the one being dealt included); this thread takes the
//! ranges in file order, checks that each one follows the one before (else
//! reads it again from where that one really ended), numbers the records as
//! one stream would, and runs the sequential rest of the decode stage (the
//! capture clock, held time jumps, IP fragments: [`Sequencer`]) before
//! dealing the packets to the shards. Every shard so sees its packets in file order with the clock of
//! the sequential reader, and the output is the same bytes as with `-j 1`.

use super::{Dealer, TICK_EVERY};
use crate::capture::{CaptureError, CaptureReader, RangePlan, ReadCounter, ReaderCounters};
use crate::decode::{self, PacketView, SkipReason};
use crate::flow::{FlowKey, partition_of};
use crate::live::Checkpoint;
use crate::stream::{Decoded, Predecoded, Sequencer, StreamMode, StreamTotals};
use crate::summary::ParallelReading;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Condvar, Mutex};

/// Bytes of a file per range. Large enough that the search for a boundary
/// (usually a few hundred bytes) and a range's start-up cost nothing next to
/// its reading; small enough that the decoded ranges held at once stay small.
pub(crate) const RANGE_BYTES: u64 = 4 << 20;
/// Ranges held at once (the one being dealt and those read ahead of it), per
/// worker.
const IN_FLIGHT_PER_WORKER: usize = 2;
/// The partition is worked out later (a fragment: the tracker may give it
/// the ports of its first fragment).
const NO_PARTITION: u16 = u16::MAX;

/// What a decoded packet of a range carries to the dealing thread: its
/// partition ([`NO_PARTITION`] when worked out there), and, when the feature
/// state reads payloads, where its transport bytes are in its range's `bytes`.
#[derive(Debug, Clone, Copy)]
struct Tag {
    partition: u16,
    /// The index of the packet's range (a packet held back by the clock can
    /// be dealt while the next range is).
    range: u32,
    start: u32,
    end: u32,
}

/// A range read and decoded.
struct RangeOut {
    packets: Vec<Predecoded<Tag>>,
    /// The packets' transport bytes, back to back (empty unless the feature
    /// state reads payloads): at most the range's own bytes.
    bytes: Vec<u8>,
    /// Records read (packets and skipped ones).
    records: u64,
    skipped: [u64; SkipReason::COUNT],
    /// Where the reading ended; `None` when the range could not be opened.
    end: Option<crate::capture::RangeEnd>,
    error: Option<CaptureError>,
}

impl RangeOut {
    fn counters(&self) -> ReaderCounters {
        self.end.as_ref().map(|e| e.counters).unwrap_or_default()
    }
}

/// What a worker needs to decode a range.
#[derive(Clone, Copy)]
struct Decoding {
    mode: StreamMode,
    partitions: usize,
    bidirectional: bool,
    /// Keep each packet's transport bytes (the feature state reads payloads).
    carry: bool,
}

/// Reads `plan`'s ranges on `workers` threads and deals their packets, in
/// file order, to the shards.
pub(crate) fn read(
    plan: &RangePlan,
    workers: usize,
    mode: StreamMode,
    mut checkpoint: Checkpoint,
    counter: &ReadCounter,
    dealer: &mut Dealer,
) -> StreamTotals {
    let decoding = Decoding {
        mode,
        partitions: dealer.partitions(),
        bidirectional: dealer.bidirectional(),
        carry: dealer.carries_transport(),
    };
    let workers = workers.max(1);
    let window = workers * IN_FLIGHT_PER_WORKER;
    let next = AtomicUsize::new(0);
    // Ranges dealt so far; a worker waits until its range is within the window.
    let dealt = Mutex::new(0usize);
    let moved = Condvar::new();
    let stop = AtomicBool::new(false);
    let mut sequencer = Sequencer::<Tag>::new(mode);
    let mut reading = ParallelReading {
        captures: 1,
        ranges: plan.len() as u64,
        boundaries_not_found: plan.not_found(),
        ranges_reread: 0,
    };
    let mut reader_counters = ReaderCounters::default();
    let mut end_error = None;
    let mut interrupted = false;
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<(usize, RangeOut)>(window);
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, dealt, moved, stop) = (&next, &dealt, &moved, &stop);
            super::spawn_named(scope, "flowq-range", move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= plan.len() {
                        return;
                    }
                    {
                        let Ok(mut guard) = dealt.lock() else { return };
                        while i >= *guard + window && !stop.load(Ordering::Relaxed) {
                            let Ok(g) = moved.wait(guard) else { return };
                            guard = g;
                        }
                    }
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let out = match plan.open(i, counter) {
                        Ok(reader) => read_range(reader, i, decoding, stop),
                        Err(e) => RangeOut {
                            packets: Vec::new(),
                            bytes: Vec::new(),
                            records: 0,
                            skipped: [0; SkipReason::COUNT],
                            end: None,
                            error: Some(e),
                        },
                    };
                    if tx.send((i, out)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);

        let mut waiting: BTreeMap<usize, RangeOut> = BTreeMap::new();
        // The bytes of the last range that had packets, by its index.
        let mut held: (usize, Vec<u8>) = (usize::MAX, Vec::new());
        let mut previous: Option<crate::capture::RangeEnd> = None;
        'ranges: for i in 0..plan.len() {
            let mut range = loop {
                if let Some(range) = waiting.remove(&i) {
                    break range;
                }
                match rx.recv() {
                    Ok((j, range)) => {
                        waiting.insert(j, range);
                    }
                    // Workers gone without this range: cannot happen unless
                    // one panicked, which the scope reports.
                    Err(_) => break 'ranges,
                }
            };
            if let Some(prev) = &previous {
                let follows = range
                    .end
                    .as_ref()
                    .is_some_and(|end| plan.follows(prev, i, end));
                if !follows {
                    // The guessed boundary or state was wrong (or the range
                    // could not be opened): read it again where the range
                    // before really ended, with its state.
                    reading.ranges_reread += 1;
                    range = match plan.reopen_after(prev, i, counter) {
                        Ok(reader) => read_range(reader, i, decoding, &stop),
                        Err(e) => {
                            end_error = Some(e);
                            break 'ranges;
                        }
                    };
                }
            }
            let base = sequencer.records;
            sequencer.skipped(&range.skipped);
            let had_packets = !range.packets.is_empty();
            {
                let current = (i, range.bytes.as_slice());
                let mut out = deal(dealer, current, (held.0, &held.1));
                for mut packet in range.packets.drain(..) {
                    packet.ordinal += base;
                    if !sequencer.packet(packet, &mut out) {
                        break 'ranges;
                    }
                }
            }
            // A packet the clock holds back comes from the last range that
            // had packets: keep that range's bytes until it is dealt.
            if had_packets {
                held = (i, std::mem::take(&mut range.bytes));
            }
            sequencer.records = base + range.records;
            reader_counters.unknown_interface += range.counters().unknown_interface;
            reader_counters.non_packet_blocks += range.counters().non_packet_blocks;
            reader_counters.simple_packet_blocks += range.counters().simple_packet_blocks;
            if let Ok(mut guard) = dealt.lock() {
                *guard = i + 1;
            }
            moved.notify_all();
            if range.error.is_some() {
                // The capture ends here, as in one stream.
                end_error = range.error.take();
                break;
            }
            let Some(end) = range.end.take() else { break };
            // A range that stopped short of its end met the end of the file.
            if end.offset < plan.end(i) {
                break;
            }
            previous = Some(end);
            if checkpoint.reached(sequencer.records) {
                interrupted = true;
                break;
            }
            // A held packet may still end flows with an earlier ordinal.
            if !sequencer.holds()
                && sequencer.records / TICK_EVERY != base / TICK_EVERY
                && !dealer.tick(sequencer.clock, sequencer.records)
            {
                break;
            }
        }
        sequencer.end(&mut deal(dealer, (usize::MAX, &[]), (held.0, &held.1)));
        stop.store(true, Ordering::Relaxed);
        moved.notify_all();
        drop(rx);
    });
    checkpoint.publish(sequencer.records);
    dealer.clock = sequencer.clock;
    dealer.next_ordinal = sequencer.records;
    StreamTotals {
        end_error,
        reader: reader_counters,
        interrupted,
        ranges: Some(reading),
        ..sequencer.totals()
    }
}

/// Hands the sequencer's packets to the shards, each with its transport bytes
/// from its range's (`current` or `held`, by range index).
fn deal<'d>(
    dealer: &'d mut Dealer,
    current: (usize, &'d [u8]),
    held: (usize, &'d [u8]),
) -> impl FnMut(Decoded<'static>, Tag) -> bool + 'd {
    move |decoded, tag| {
        let partition = (tag.partition != NO_PARTITION).then_some(usize::from(tag.partition));
        let bytes = match tag.range as usize {
            r if r == current.0 => current.1,
            r if r == held.0 => held.1,
            _ => &[],
        };
        let transport = bytes
            .get(tag.start as usize..tag.end as usize)
            .unwrap_or_default();
        let decoded = Decoded {
            view: PacketView {
                transport,
                ..decoded.view
            },
            ordinal: decoded.ordinal,
            clock: decoded.clock,
        };
        dealer.packet(&decoded, partition)
    }
}

/// Reads and decodes one range (on a worker, or again on the dealing thread).
fn read_range(
    mut reader: CaptureReader,
    index: usize,
    decoding: Decoding,
    stop: &AtomicBool,
) -> RangeOut {
    let mut packets = Vec::new();
    let mut bytes = Vec::new();
    let mut skipped = [0; SkipReason::COUNT];
    let mut records = 0u64;
    let mut error = None;
    loop {
        if records.is_multiple_of(crate::live::CHECK_EVERY) && stop.load(Ordering::Relaxed) {
            break;
        }
        let raw = match reader.next_packet() {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        let ordinal = records;
        records += 1;
        match decode::decode(&raw, decoding.mode.tunnels) {
            Ok(view) => {
                let (start, end) = if decoding.carry {
                    let start = bytes.len();
                    bytes.extend_from_slice(view.transport);
                    (start as u32, bytes.len() as u32)
                } else {
                    (0, 0)
                };
                let mut packet = predecode(view, ordinal, decoding);
                packet.tag.range = index as u32;
                packet.tag.start = start;
                packet.tag.end = end;
                packets.push(packet);
            }
            Err(reason) => skipped[reason.index()] += 1,
        }
    }
    RangeOut {
        packets,
        bytes,
        records,
        skipped,
        end: Some(reader.range_end()),
        error,
    }
}

/// The per-packet work that needs no packet before it: the `seed` profile's
/// view, and the eviction partition unless the packet is a fragment.
#[inline]
fn predecode(mut view: PacketView<'_>, ordinal: u64, decoding: Decoding) -> Predecoded<Tag> {
    let not_seed_ip = decoding.mode.seed && !decode::scapy::apply(&mut view);
    let partition = if not_seed_ip || (!decoding.mode.seed && view.fragment.is_some()) {
        NO_PARTITION
    } else if decoding.partitions > 1 {
        let (key, _) = FlowKey::of_packet(&view, decoding.bidirectional);
        partition_of(&key, decoding.partitions) as u16
    } else {
        0
    };
    Predecoded {
        view: view.detached(),
        ordinal,
        not_seed_ip,
        tag: Tag {
            partition,
            range: 0,
            start: 0,
            end: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    /// docs/robustness.md bounds a decoded range by this entry size.
    #[test]
    fn a_decoded_record_takes_at_most_160_bytes() {
        let size = std::mem::size_of::<super::Predecoded<super::Tag>>();
        eprintln!("Predecoded<Tag>: {size} bytes");
        assert!(size <= 160, "{size}");
    }
}
