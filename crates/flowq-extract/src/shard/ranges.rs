//! One capture file read and decoded on several threads: the file is split
//! into byte ranges that start on record boundaries ([`RangePlan`]); workers
//! read and decode whole ranges, at most [`IN_FLIGHT_PER_WORKER`] per worker
//! ahead of the one being dealt, and at most [`RangePool`]'s bound alive
//! (read, or queued for the shards). A worker deals its range's packets to
//! one batch per shard itself, relative to the range (its first record and
//! its clock), unless the range holds an IP fragment or a time jump. This
//! thread takes the ranges in file order, checks that each one follows the
//! one before (else reads it again from where that one really ended), and
//! hands the batches on with the range's base (the records and the clock
//! before it); a range with a fragment or a jump it decodes again and runs
//! through the sequential rest of the decode stage (the capture clock, held
//! time jumps, IP fragments: [`Sequencer`]), dealing each packet. Every shard
//! so sees its packets in file order with the clock of the sequential reader,
//! and the output is the same bytes as with `-j 1`.

use super::{Batch, Dealer, Dealt, TICK_EVERY};
use crate::capture::{CaptureError, CaptureReader, RangePlan, ReadCounter, ReaderCounters};
use crate::decode::{self, PacketView, SkipReason, TransportState};
use crate::flow::{FlowKey, partition_of};
use crate::live::Checkpoint;
use crate::stream::{CLOCK_JUMP_NS, Decoded, Predecoded, Sequencer, StreamMode, StreamTotals};
use crate::summary::ParallelReading;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Condvar, Mutex};

/// Bytes of a file per range. Large enough that the search for a boundary
/// (usually a few hundred bytes) and a range's start-up cost nothing next to
/// its reading; small enough that the decoded ranges held at once stay small.
pub(crate) const RANGE_BYTES: u64 = 4 << 20;
/// Bytes per range when the shards read the packets' payloads (the
/// application metadata): each range's read buffer then stays alive until
/// the shards are done with it, and ranges of 4 MiB (32 MiB of buffers alive
/// for two workers) no longer stay in the caches between the worker's read
/// and the shard's parse. On the 1M capture, `-j 2` took 1.16x less wall
/// time than `-j 1` with ranges of 4 MiB, 1.27x with 2 MiB, 1.34x with 1 MiB
/// and 1.23x with 512 KiB (per-range costs weigh), in one process, nine
/// rounds each (docs/benchmarks.md).
pub(crate) const RANGE_BYTES_WITH_PAYLOADS: u64 = 1 << 20;
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

/// The byte ranges alive at once, and their read buffers for reuse. A range
/// is alive from the moment a worker starts it until every shard is done
/// with its packets (or, read again on the dealing thread, until dealt):
/// workers wait for a ticket, so that the ranges read ahead, those dealt and
/// those queued for the shards together stay within a bound.
pub(crate) struct RangePool {
    state: Mutex<PoolState>,
    released: Condvar,
    max_alive: usize,
    /// Batches' packet vectors the shards are done with, for the next ranges
    /// (at most `max_alive` per shard, each within [`KEPT_PACKETS`]): a
    /// fresh vector per range and shard, grown as the range is dealt, cost
    /// page faults and copies (about 2 % of a run's CPU time, `perf`).
    packet_vecs: Mutex<Vec<Vec<Dealt>>>,
    shards: usize,
}

/// A packet vector larger than this (a range of very small records) is not
/// kept for reuse, so that what the pool keeps stays small.
const KEPT_PACKETS: usize = 16 * 1024;

struct PoolState {
    free: Vec<Vec<u8>>,
    alive: usize,
}

/// A range alive ([`RangePool`]), with its read buffer when the shards read
/// payloads there; dropped, it lets another range start and gives its
/// buffer back.
pub(crate) struct RangeTicket {
    pub(crate) bytes: Vec<u8>,
    pool: Arc<RangePool>,
}

impl RangePool {
    fn new(max_alive: usize, shards: usize) -> Self {
        RangePool {
            state: Mutex::new(PoolState {
                free: Vec::new(),
                alive: 0,
            }),
            released: Condvar::new(),
            max_alive: max_alive.max(1),
            packet_vecs: Mutex::new(Vec::new()),
            shards: shards.max(1),
        }
    }

    /// A packet vector for one shard's batch of a range: one used before
    /// when there is one.
    fn packets(&self) -> Vec<Dealt> {
        self.packet_vecs
            .lock()
            .ok()
            .and_then(|mut vecs| vecs.pop())
            .unwrap_or_else(|| Vec::with_capacity(1024))
    }

    /// Waits until fewer than `max_alive` ranges are alive (`None` once
    /// `stop` is set), then a ticket with a buffer used before (a fresh one
    /// costs a page fault per 4 KiB on its first use, about as much as
    /// reading into it).
    fn admit(self: &Arc<Self>, stop: &AtomicBool) -> Option<RangeTicket> {
        let mut state = self.state.lock().ok()?;
        while state.alive >= self.max_alive {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            // Woken by a release; the timeout only looks at `stop` again.
            state = self
                .released
                .wait_timeout(state, std::time::Duration::from_millis(20))
                .ok()?
                .0;
        }
        state.alive += 1;
        let bytes = state.free.pop().unwrap_or_default();
        Some(RangeTicket {
            bytes,
            pool: Arc::clone(self),
        })
    }

    /// Keeps a buffer for the next range (at most one per live range).
    fn recycle(&self, buffer: Vec<u8>) {
        if let Ok(mut state) = self.state.lock()
            && state.free.len() < self.max_alive
        {
            state.free.push(buffer);
        }
    }
}

impl RangeTicket {
    /// Takes back a batch's packet vector once its shard is done with it.
    pub(crate) fn recycle_packets(&self, mut packets: Vec<Dealt>) {
        if packets.capacity() > KEPT_PACKETS {
            return;
        }
        packets.clear();
        if let Ok(mut vecs) = self.pool.packet_vecs.lock()
            && vecs.len() < self.pool.max_alive * self.pool.shards
        {
            vecs.push(packets);
        }
    }
}

impl Drop for RangeTicket {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.bytes);
        if let Ok(mut state) = self.pool.state.lock() {
            state.alive = state.alive.saturating_sub(1);
            // (A ticket whose buffer was recycled already holds none: an
            // empty one taken for the next range would be allocated and
            // zeroed again.)
            if buffer.capacity() > 0 && state.free.len() < self.pool.max_alive {
                state.free.push(buffer);
            }
        }
        self.pool.released.notify_one();
    }
}

/// A range read and decoded.
struct RangeOut {
    packets: RangePackets,
    /// Records read (packets and skipped ones).
    records: u64,
    skipped: [u64; SkipReason::COUNT],
    /// Where the reading ended; `None` when the range could not be opened.
    end: Option<crate::capture::RangeEnd>,
    error: Option<CaptureError>,
    /// Alive until dealt (the packets of a summed range carry it on).
    _ticket: Option<RangeTicket>,
    /// Its packets needed the ones before it (an IP fragment or a time
    /// jump): decoded again to be dealt in sequence.
    sequenced: bool,
}

/// A range's packets, as the dealing thread needs them.
enum RangePackets {
    /// In file order, for the [`Sequencer`] on the dealing thread, with their
    /// transport bytes back to back in `bytes` (empty unless the feature
    /// state reads payloads): at most the range's own bytes.
    Ordered {
        packets: Vec<Predecoded<Tag>>,
        bytes: Vec<u8>,
    },
    /// Already dealt to the shards on the worker (the common case): a range
    /// without time jumps and fragments needs nothing from the packets before
    /// it but the clock and the record count, which the dealing thread adds.
    Summed(Summed),
}

/// A range dealt on its worker: one batch per shard, with ordinals from the
/// range's first record and clocks from its first packet, and what the
/// [`Sequencer`] counts.
struct Summed {
    batches: Vec<Batch>,
    /// The first packet's timestamp (compared with the clock before the range).
    first_ts: Option<i64>,
    /// The latest timestamp of the range (`i64::MIN` when none).
    clock: i64,
    in_flows: u64,
    incomplete: u64,
    not_seed_ip: u64,
}

impl RangeOut {
    fn counters(&self) -> ReaderCounters {
        self.end.as_ref().map(|e| e.counters).unwrap_or_default()
    }

    fn failed(error: CaptureError) -> Self {
        RangeOut {
            packets: RangePackets::Ordered {
                packets: Vec::new(),
                bytes: Vec::new(),
            },
            records: 0,
            skipped: [0; SkipReason::COUNT],
            end: None,
            error: Some(error),
            _ticket: None,
            sequenced: false,
        }
    }
}

/// What a worker needs to decode a range.
#[derive(Clone, Copy)]
struct Decoding {
    mode: StreamMode,
    partitions: usize,
    shards: usize,
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
        shards: dealer.shards(),
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
    // Ranges alive: those read ahead (the window), and a few dealt and
    // queued for the shards (docs/robustness.md).
    let pool = Arc::new(RangePool::new(
        window + decoding.shards + 2,
        decoding.shards,
    ));
    let mut sequencer = Sequencer::<Tag>::new(mode);
    let mut reading = ParallelReading {
        captures: 1,
        ranges: plan.len() as u64,
        boundaries_not_found: plan.not_found(),
        ranges_reread: 0,
        ranges_sequenced: 0,
    };
    let mut reader_counters = ReaderCounters::default();
    let mut end_error = None;
    let mut interrupted = false;
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<(usize, RangeOut)>(window);
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, dealt, moved, stop) = (&next, &dealt, &moved, &stop);
            let pool = &pool;
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
                    let Some(ticket) = pool.admit(stop) else {
                        return;
                    };
                    // Dealt here when it can be; a range with a time jump
                    // or a fragment is read again for the dealing thread.
                    let len = usize::try_from(plan.range_len(i)).unwrap_or(usize::MAX);
                    let out = match plan.open(i, counter) {
                        Err(e) => RangeOut::failed(e),
                        Ok(reader) => {
                            match read_range_summed(reader, decoding, stop, ticket, len) {
                                Ok(out) => out,
                                Err(ticket) => match plan.open(i, counter) {
                                    Ok(reader) => RangeOut {
                                        _ticket: Some(ticket),
                                        sequenced: true,
                                        ..read_range(reader, i, decoding, stop)
                                    },
                                    Err(e) => RangeOut::failed(e),
                                },
                            }
                        }
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
            if let RangePackets::Summed(summed) = &range.packets
                && !sequencer.takes_summed(summed.first_ts)
            {
                // A jump from the clock before the range, or a packet held
                // from the range before: the sequencer must see each packet.
                let reopened = match &previous {
                    Some(prev) => plan.reopen_after(prev, i, counter),
                    None => plan.open(i, counter),
                };
                range = match reopened {
                    Ok(reader) => RangeOut {
                        sequenced: true,
                        ..read_range(reader, i, decoding, &stop)
                    },
                    Err(e) => {
                        end_error = Some(e);
                        break 'ranges;
                    }
                };
            }
            reading.ranges_sequenced += u64::from(range.sequenced);
            let base = sequencer.records;
            sequencer.skipped(&range.skipped);
            match &mut range.packets {
                RangePackets::Summed(summed) => {
                    let clock_in = sequencer.clock;
                    sequencer.summed(
                        summed.in_flows,
                        summed.incomplete,
                        summed.not_seed_ip,
                        summed.clock,
                    );
                    let mut batches = std::mem::take(&mut summed.batches);
                    for batch in &mut batches {
                        batch.base_ordinal = base;
                        batch.clock_in = clock_in;
                    }
                    if !dealer.range(batches) {
                        break 'ranges;
                    }
                }
                RangePackets::Ordered { packets, bytes } => {
                    let had_packets = !packets.is_empty();
                    {
                        let mut out = deal(dealer, (i, bytes.as_slice()), (held.0, &held.1));
                        for mut packet in packets.drain(..) {
                            packet.ordinal += base;
                            if !sequencer.packet(packet, &mut out) {
                                break 'ranges;
                            }
                        }
                    }
                    // A packet the clock holds back comes from the last range
                    // that had packets: keep that range's bytes until it is
                    // dealt.
                    if had_packets {
                        held = (i, std::mem::take(bytes));
                    }
                }
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

/// The next record of a range: `None` at its end, at an error (kept in
/// `error`), or once `stop` is set (looked at every
/// [`CHECK_EVERY`](crate::live::CHECK_EVERY) records).
fn next_record<'r>(
    reader: &'r mut CaptureReader,
    records: u64,
    stop: &AtomicBool,
    error: &mut Option<CaptureError>,
) -> Option<crate::capture::RawPacket<'r>> {
    if records.is_multiple_of(crate::live::CHECK_EVERY) && stop.load(Ordering::Relaxed) {
        return None;
    }
    reader.next_packet().unwrap_or_else(|e| {
        *error = Some(e);
        None
    })
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
    while let Some(raw) = next_record(&mut reader, records, stop, &mut error) {
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
        packets: RangePackets::Ordered { packets, bytes },
        records,
        skipped,
        end: Some(reader.range_end()),
        error,
        _ticket: None,
        sequenced: false,
    }
}

/// Reads and decodes one range on a worker and deals its packets to one
/// batch per shard. Gives the ticket back (`Err`) when the range needs the
/// packets before it: a packet stamped more than [`CLOCK_JUMP_NS`] ahead of the range's clock (the
/// sequencer may hold it), or an IP fragment (the fragment tracker may give
/// it the ports of an earlier one). Does per packet what [`read_range`],
/// [`predecode`] and [`Sequencer::packet`] do together.
fn read_range_summed(
    mut reader: CaptureReader,
    decoding: Decoding,
    stop: &AtomicBool,
    mut ticket: RangeTicket,
    range_len: usize,
) -> Result<RangeOut, RangeTicket> {
    let shards = decoding.shards.max(1);
    // For a feature state that reads payloads, every byte read stays in
    // place: the shards read the packets' transport bytes there, without a
    // copy. (Kept buffers are larger and colder in cache.)
    reader.reuse_buffer(std::mem::take(&mut ticket.bytes), decoding.carry, range_len);
    // A range of 1-4 MiB holds a few thousand packets per shard.
    let mut summed = Summed {
        batches: (0..shards)
            .map(|_| Batch {
                packets: ticket.pool.packets(),
                ..Batch::with_capacity(0)
            })
            .collect(),
        first_ts: None,
        clock: i64::MIN,
        in_flows: 0,
        incomplete: 0,
        not_seed_ip: 0,
    };
    let mut skipped = [0; SkipReason::COUNT];
    let mut records = 0u64;
    let mut error = None;
    let mut sequential = false;
    while let Some(raw) = next_record(&mut reader, records, stop, &mut error) {
        let ordinal = records;
        records += 1;
        let mut view = match decode::decode(&raw, decoding.mode.tunnels) {
            Ok(view) => view,
            Err(reason) => {
                skipped[reason.index()] += 1;
                continue;
            }
        };
        if summed.clock != i64::MIN && view.ts_ns.saturating_sub(summed.clock) > CLOCK_JUMP_NS {
            sequential = true;
            break;
        }
        summed.first_ts.get_or_insert(view.ts_ns);
        summed.clock = summed.clock.max(view.ts_ns);
        if decoding.mode.seed {
            if !decode::scapy::apply(&mut view) {
                summed.not_seed_ip += 1;
                continue;
            }
        } else if view.fragment.is_some() {
            sequential = true;
            break;
        }
        let shard = if decoding.partitions > 1 {
            let (key, _) = FlowKey::of_packet(&view, decoding.bidirectional);
            partition_of(&key, decoding.partitions) % shards
        } else {
            0
        };
        summed.in_flows += 1;
        summed.incomplete += u64::from(view.transport_state == TransportState::Incomplete);
        // Where the transport bytes are, by address (they are a part of the
        // record, which is a part of the read buffer).
        let (transport, len) = (view.transport.as_ptr() as usize, view.transport.len());
        let record = raw.data.as_ptr() as usize;
        if len > 0 && (transport < record || transport + len > record + raw.data.len()) {
            // Not the record's own bytes (cannot happen: decoding copies
            // nothing); the dealing thread reads this range again and copies.
            sequential = true;
            break;
        }
        summed.batches[shard]
            .packets
            .push((view.detached(), ordinal, summed.clock, 0..0));
        if decoding.carry && len > 0 {
            // The record is still where it was read (nothing was read since).
            let start = transport - reader.buffer_addr();
            if let Some(packet) = summed.batches[shard].packets.last_mut() {
                packet.3 = start..start + len;
            }
        }
    }
    if sequential {
        ticket.bytes = reader.into_storage();
        return Err(ticket);
    }
    let end = reader.range_end();
    let storage = reader.into_storage();
    if decoding.carry {
        ticket.bytes = storage;
    } else {
        ticket.pool.recycle(storage);
    }
    // The range stays alive while a shard still has its packets.
    let shared = Arc::new(ticket);
    for batch in &mut summed.batches {
        if !batch.packets.is_empty() {
            batch.shared = Some(Arc::clone(&shared));
        }
    }
    Ok(RangeOut {
        packets: RangePackets::Summed(summed),
        records,
        skipped,
        end: Some(end),
        error,
        _ticket: None,
        sequenced: false,
    })
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
    use super::*;

    /// Workers wait while the bound of ranges alive is reached, and go on
    /// when one ends; a stop lets a waiting worker go.
    #[test]
    fn ranges_alive_stay_within_the_bound() {
        let pool = Arc::new(RangePool::new(2, 1));
        let stop = AtomicBool::new(false);
        let first = pool.admit(&stop).unwrap();
        let mut second = pool.admit(&stop).unwrap();
        second.bytes = vec![1; 100];
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| pool.admit(&stop).map(|t| t.bytes.len()));
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!waiting.is_finished(), "a third range started");
            drop(second);
            // The buffer of the range that ended is used again.
            assert_eq!(waiting.join().unwrap(), Some(100));
        });
        let _third = pool.admit(&stop).unwrap();
        stop.store(true, Ordering::Relaxed);
        assert!(pool.admit(&stop).is_none());
        drop(first);
    }

    #[test]
    fn buffers_and_packet_vectors_are_used_again() {
        let pool = Arc::new(RangePool::new(2, 1));
        let stop = AtomicBool::new(false);
        let mut ticket = pool.admit(&stop).unwrap();
        // A ticket whose buffer went back early gives back no empty one.
        pool.recycle(vec![7; 64]);
        drop(ticket);
        ticket = pool.admit(&stop).unwrap();
        assert_eq!(
            ticket.bytes.len(),
            64,
            "the recycled buffer, not an empty one"
        );
        // A shard's packet vector comes back for the next range.
        let mut packets = pool.packets();
        packets.reserve(5000);
        let capacity = packets.capacity();
        ticket.recycle_packets(packets);
        assert_eq!(pool.packets().capacity(), capacity);
        // One too large to keep is dropped.
        ticket.recycle_packets(Vec::with_capacity(KEPT_PACKETS + 1));
        assert!(pool.packets().capacity() <= KEPT_PACKETS);
    }

    /// docs/robustness.md bounds a decoded range by this entry size.
    #[test]
    fn a_decoded_record_takes_at_most_160_bytes() {
        let size = std::mem::size_of::<super::Predecoded<super::Tag>>();
        eprintln!("Predecoded<Tag>: {size} bytes");
        assert!(size <= 160, "{size}");
    }

    /// docs/robustness.md bounds a range's packets dealt by its worker by
    /// this entry size.
    #[test]
    fn a_dealt_packet_takes_at_most_160_bytes() {
        let size = std::mem::size_of::<super::Dealt>();
        eprintln!("dealt packet: {size} bytes");
        assert!(size <= 160, "{size}");
    }
}
