//! One capture file on N threads, each of which both reads byte ranges and
//! runs one shard's flow table. The file is split into byte ranges that start
//! on record boundaries ([`RangePlan`]). A thread with nothing for its shard
//! reads and decodes the next range, and deals its packets to one batch per
//! shard itself, relative to the range (its first record and its clock),
//! unless the range holds an IP fragment, an IPComp packet (inflated out of
//! the record) or a time jump. Whichever thread
//! reads the range that comes next in the file joins it, under one lock: it
//! checks that the range follows the one before (else reads it again from
//! where that one really ended), gives its batches the range's base (the
//! records and the clock before it), or, for a range with a fragment or a
//! jump, decodes it again and runs it through the sequential rest of the
//! decode stage (the capture clock, held time jumps, IP fragments:
//! [`Sequencer`]), dealing each packet. Each shard then takes every joined
//! range's batch for it in file order, so it sees its packets in file order
//! with the clock of the sequential reader, and the output is the same
//! bytes as with `-j 1`. The calling thread merges the shards' flows.
//!
//! Why no reader or joining threads: with one thread per shard fed by
//! separate reading threads, every packet was handed between cores, five
//! threads shared two cores (a wake-up per range and shard, about 18 000
//! context switches a second), and `-j 2` took 1.3x the CPU of `-j 1`
//! (docs/benchmarks.md). A thread that processes its own range's packets
//! for its shard finds them in its cache.
//!
//! Ranges read ahead are bounded by a window of [`IN_FLIGHT_PER_WORKER`] per
//! thread past the oldest range a shard has not taken yet, and the ranges
//! alive (read, or joined and not yet processed by every shard) by
//! [`RangePool`].

use super::{Batch, Dealt, FromShard, ShardOut, TICK_EVERY};
use crate::capture::{CaptureError, CaptureReader, RangePlan, ReadCounter, ReaderCounters};
use crate::decode::{self, PacketView, SkipReason, TransportState, TunnelFragments};
use crate::flow::{
    FinishedFlow, FlowConfig, FlowFeatures, FlowKey, FlowTable, TableCounters, partition_of,
};
use crate::live::{ActiveFlowsGauge, Checkpoint, LiveCounters};
use crate::stream::{CLOCK_JUMP_NS, Decoded, Predecoded, Sequencer, StreamMode, StreamTotals};
use crate::summary::ParallelReading;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};

/// Bytes of a file per range. Large enough that the search for a boundary
/// (usually a few hundred bytes) and a range's start-up cost nothing next to
/// its reading; small enough that the decoded ranges held at once stay small.
pub(crate) const RANGE_BYTES: u64 = 4 << 20;
/// Bytes per range when the shards read the packets' payloads (the
/// application metadata): each range's read buffer then stays alive until
/// the shards are done with it, and with ranges of 4 MiB the buffers alive
/// (40 MiB for two threads) no longer stay in the caches between the read
/// and the parse. `-j 2` over `-j 1`, best of 7 (1M capture) and 3 (10M)
/// rounds in one process: 4 MiB 1.55x and 1.57x, 2 MiB 1.74x and 1.82x,
/// 1 MiB 1.76x and 1.82x; without payloads 4 MiB was best (10M: 1.78x,
/// against 1.38x with 1 MiB). docs/benchmarks.md.
pub(crate) const RANGE_BYTES_WITH_PAYLOADS: u64 = 1 << 20;
/// Ranges held at once (the one being dealt and those read ahead of it), per
/// worker.
const IN_FLIGHT_PER_WORKER: usize = 2;
/// The partition is worked out later (a fragment: the tracker may give it
/// the ports of its first fragment).
const NO_PARTITION: u16 = u16::MAX;

/// What a decoded packet of a range carries to the joining thread: its
/// partition ([`NO_PARTITION`] when worked out there), and, when the feature
/// state reads payloads, where its transport bytes are in its range's `bytes`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tag {
    partition: u16,
    /// The index of the packet's range (a packet held back by the clock can
    /// be dealt while the next range is).
    range: u32,
    start: u32,
    end: u32,
}

/// The byte ranges alive at once, and their read buffers for reuse. A range
/// is alive from the moment a worker starts it until every shard is done
/// with its packets (or, read again on the joining thread, until dealt):
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
    pub(super) fn new(max_alive: usize, shards: usize) -> Self {
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
    pub(super) fn admit(self: &Arc<Self>, stop: &AtomicBool) -> Option<RangeTicket> {
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
pub(super) struct RangeOut {
    pub(super) packets: RangePackets,
    /// Records read (packets and skipped ones).
    pub(super) records: u64,
    pub(super) skipped: [u64; SkipReason::COUNT],
    /// IPComp payloads that did not inflate.
    pub(super) not_inflated: u64,
    /// Where the reading ended; `None` when the range could not be opened.
    pub(super) end: Option<crate::capture::RangeEnd>,
    error: Option<CaptureError>,
    /// Alive until dealt (the packets of a summed range carry it on).
    _ticket: Option<RangeTicket>,
    /// Its packets needed the ones before it (an IP fragment or a time
    /// jump): decoded again to be dealt in sequence.
    sequenced: bool,
}

/// A range's packets, as the joining thread needs them.
pub(super) enum RangePackets {
    /// In file order, for the [`Sequencer`] on the joining thread, with their
    /// transport bytes back to back in `bytes` (empty unless the feature
    /// state reads payloads): at most the range's own bytes.
    Ordered {
        packets: Vec<Predecoded<Tag>>,
        bytes: Vec<u8>,
    },
    /// Already dealt to the shards on the worker (the common case): a range
    /// without time jumps and fragments needs nothing from the packets before
    /// it but the clock and the record count, which the joining thread adds.
    Summed(Summed),
}

/// A range dealt on its worker: one batch per shard, with ordinals from the
/// range's first record and clocks from its first packet, and what the
/// [`Sequencer`] counts.
pub(super) struct Summed {
    pub(super) batches: Vec<Batch>,
    /// The first packet's timestamp (compared with the clock before the range).
    pub(super) first_ts: Option<i64>,
    /// The latest timestamp of the range (`i64::MIN` when none).
    pub(super) clock: i64,
    pub(super) in_flows: u64,
    pub(super) incomplete: u64,
    pub(super) not_seed_ip: u64,
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
            not_inflated: 0,
            end: None,
            error: Some(error),
            _ticket: None,
            sequenced: false,
        }
    }
}

/// What a worker needs to decode a range.
#[derive(Clone, Copy)]
pub(super) struct Decoding {
    pub(super) mode: StreamMode,
    pub(super) partitions: usize,
    pub(super) shards: usize,
    pub(super) bidirectional: bool,
    /// Keep each packet's transport bytes (the feature state reads payloads).
    pub(super) carry: bool,
}

/// What is joined of one range, for the shards: per shard, its batches (one
/// for a range its worker dealt, more for one dealt packet by packet), and
/// the clock and record count to advance the tables to after them.
struct Slot {
    batches: Vec<Vec<Batch>>,
    tick: Option<(i64, u64)>,
}

impl Slot {
    fn new(shards: usize) -> Self {
        Slot {
            batches: (0..shards).map(|_| Vec::new()).collect(),
            tick: None,
        }
    }
}

/// What the threads share, under one lock: the ranges read and not yet
/// joined, the joined ones not yet taken by every shard, and the joining
/// state (what the sequential reader keeps: the clock, the record count,
/// the packets held back).
struct Shared {
    /// Read, waiting for the ranges before them.
    published: BTreeMap<usize, RangeOut>,
    /// Joined ranges (and the end), from `first_slot` on.
    slots: VecDeque<Slot>,
    first_slot: usize,
    /// Per shard, the next slot it takes.
    taken_by: Vec<usize>,
    next_claim: usize,
    next_join: usize,
    /// No range after `next_join` is joined (the file, the capture or the
    /// run ended); the sequencer's end is in the last slot once `ended`.
    finished: bool,
    ended: bool,
    sequencer: Sequencer<Tag>,
    /// The packets inside fragmented tunnel datagrams, lent to the fragments
    /// in file order as the sequential reader lends them (a range with a
    /// fragment is dealt here, with the fragments' bytes).
    tunnel_fragments: TunnelFragments,
    previous: Option<crate::capture::RangeEnd>,
    /// The bytes of the last range that had packets, by its index (a packet
    /// the clock holds back comes from there).
    held: (usize, Vec<u8>),
    reading: ParallelReading,
    reader_counters: ReaderCounters,
    end_error: Option<CaptureError>,
    interrupted: bool,
    checkpoint: Checkpoint,
}

/// Reads `plan`'s ranges and runs the flow tables on `threads` threads: each
/// reads and decodes whole ranges, dealing their packets to one batch per
/// shard, and runs one shard's table over every range's batch for it, in
/// file order. Whichever thread reads a range that comes next in the file
/// joins it (under the lock): gives its batches their base, or reads it
/// again where the range before really ended, or deals it packet by packet
/// through the [`Sequencer`]. The calling thread merges the shards' flows
/// into `emit`. Returns what was read and the tables' summed counters.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run<F: FlowFeatures>(
    plan: &RangePlan,
    threads: usize,
    mode: StreamMode,
    checkpoint: Checkpoint,
    counter: &ReadCounter,
    config: FlowConfig,
    features: F::Config,
    live: &Arc<LiveCounters>,
    emit: &mut dyn FnMut(FinishedFlow<F>) -> bool,
    progress: &mut dyn FnMut(u64),
) -> (StreamTotals, TableCounters) {
    let shards = threads.max(1);
    let (shard_config, partitions) = super::shard_config::<F>(config);
    let decoding = Decoding {
        mode,
        partitions,
        shards,
        bidirectional: config.bidirectional,
        carry: F::reads_transport(&features),
    };
    let window = shards * IN_FLIGHT_PER_WORKER;
    // Ranges alive: those claimed and not yet taken by every shard (the
    // window), and one being processed per thread; admitting never waits.
    let pool = Arc::new(RangePool::new(window + shards + 2, shards));
    let stop = AtomicBool::new(false);
    let shared = Mutex::new(Shared {
        published: BTreeMap::new(),
        slots: VecDeque::new(),
        first_slot: 0,
        taken_by: vec![0; shards],
        next_claim: 0,
        next_join: 0,
        finished: false,
        ended: false,
        sequencer: Sequencer::new(mode),
        tunnel_fragments: TunnelFragments::new(mode.tunnels),
        previous: None,
        held: (usize::MAX, Vec::new()),
        reading: ParallelReading {
            captures: 1,
            ranges: plan.len() as u64,
            boundaries_not_found: plan.not_found(),
            ranges_reread: 0,
            ranges_sequenced: 0,
        },
        reader_counters: ReaderCounters::default(),
        end_error: None,
        interrupted: false,
        checkpoint,
    });
    let moved = Condvar::new();
    let work = Work {
        plan,
        decoding,
        counter,
        window,
        pool: &pool,
        stop: &stop,
        shared: &shared,
        moved: &moved,
    };
    let counters = std::thread::scope(|scope| {
        let (out_tx, out_rx) = sync_channel::<FromShard<F>>(shards * 4);
        for shard in 0..shards {
            let out = out_tx.clone();
            let gauge = ActiveFlowsGauge::new(Arc::clone(live));
            super::spawn_named(scope, "flowq-range", move || {
                // A panic here lets the other threads go (and the scope
                // reports it).
                let _release = StopOnPanic(work.stop, work.moved);
                let table = FlowTable::new(shard_config, features);
                if !work.worker(shard, table, out, gauge) {
                    // The merge is gone (the consumer stopped): so is the run.
                    work.stop.store(true, Ordering::Relaxed);
                    work.moved.notify_all();
                }
            });
        }
        drop(out_tx);
        // Dropping the receiver (the consumer stopped) stops the threads.
        super::merge(out_rx, shards, emit, progress)
    });
    let mut shared = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    let records = shared.sequencer.records;
    shared.checkpoint.publish(records);
    let totals = StreamTotals {
        end_error: shared.end_error.take(),
        reader: shared.reader_counters,
        interrupted: shared.interrupted,
        ranges: Some(shared.reading),
        ..shared.sequencer.totals()
    };
    (totals, counters)
}

/// Sets `stop` and wakes every waiting thread when dropped in a panic.
struct StopOnPanic<'a>(&'a AtomicBool, &'a Condvar);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
            self.1.notify_all();
        }
    }
}

/// What the threads of [`run`] share.
#[derive(Clone, Copy)]
struct Work<'a> {
    plan: &'a RangePlan,
    decoding: Decoding,
    counter: &'a ReadCounter,
    window: usize,
    pool: &'a Arc<RangePool>,
    stop: &'a AtomicBool,
    shared: &'a Mutex<Shared>,
    moved: &'a Condvar,
}

/// What a thread of [`run`] does next.
enum Next {
    /// Run its shard over a joined range's batches, then advance the clock.
    Process(Vec<Batch>, Option<(i64, u64)>),
    /// Read and decode range `i`.
    Read(usize, RangeTicket),
    /// Every range is joined and processed: end the table at this clock.
    End(i64),
    Stop,
}

impl Work<'_> {
    /// One thread: its shard's table, and ranges read when its shard has
    /// nothing to do. Returns false when it stopped because the merge is
    /// gone.
    fn worker<F: FlowFeatures>(
        self,
        shard: usize,
        mut table: FlowTable<F>,
        out: SyncSender<FromShard<F>>,
        // This shard's open flows in the live counters; dropped, it takes
        // them back out.
        mut gauge: ActiveFlowsGauge,
    ) -> bool {
        let mut shard_out = ShardOut::new(shard, out);
        loop {
            match self.next(shard) {
                Next::Stop => return true,
                Next::Read(i, ticket) => {
                    let out = self.read(i, ticket);
                    let Ok(mut guard) = self.shared.lock() else {
                        return true;
                    };
                    guard.published.insert(i, out);
                    self.join(&mut guard);
                    drop(guard);
                    self.moved.notify_all();
                }
                Next::Process(batches, tick) => {
                    for mut batch in batches {
                        shard_out.process(&mut table, &mut batch);
                    }
                    if let Some((clock, next_ordinal)) = tick {
                        shard_out.advance(&mut table, clock, next_ordinal);
                    }
                    gauge.set(table.active_flows());
                    if !shard_out.send_if_due(&table, tick.is_none()) {
                        return false;
                    }
                }
                Next::End(clock) => return shard_out.end(&mut table, clock),
            }
        }
    }

    /// Waits for something to do: a joined range for `shard` first (so that
    /// ranges are released early), else a range to read within the window.
    fn next(&self, shard: usize) -> Next {
        let Ok(mut guard) = self.shared.lock() else {
            return Next::Stop;
        };
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Next::Stop;
            }
            let s = &mut *guard;
            let mine = s.taken_by[shard];
            if mine < s.first_slot + s.slots.len() {
                let slot = &mut s.slots[mine - s.first_slot];
                let batches = std::mem::take(&mut slot.batches[shard]);
                let tick = slot.tick;
                s.taken_by[shard] += 1;
                let low = s.taken_by.iter().copied().min().unwrap_or(0);
                while s.first_slot < low {
                    s.slots.pop_front();
                    s.first_slot += 1;
                }
                drop(guard);
                self.moved.notify_all();
                return Next::Process(batches, tick);
            }
            if s.ended {
                return Next::End(s.sequencer.clock);
            }
            let low = s.taken_by.iter().copied().min().unwrap_or(0);
            if !s.finished && s.next_claim < self.plan.len() && s.next_claim < low + self.window {
                let i = s.next_claim;
                s.next_claim += 1;
                drop(guard);
                // Within the bound by the window: admitting does not wait.
                return match self.pool.admit(self.stop) {
                    Some(ticket) => Next::Read(i, ticket),
                    None => Next::Stop,
                };
            }
            guard = match self.moved.wait(guard) {
                Ok(guard) => guard,
                Err(_) => return Next::Stop,
            };
        }
    }

    /// Reads and decodes range `i`, dealt to the shards' batches when it can
    /// be (else decoded in order, to be dealt when joined).
    fn read(&self, i: usize, ticket: RangeTicket) -> RangeOut {
        let len = usize::try_from(self.plan.range_len(i)).unwrap_or(usize::MAX);
        match self.plan.open(i, self.counter) {
            Err(e) => RangeOut::failed(e),
            Ok(reader) => match read_range_summed(reader, self.decoding, self.stop, ticket, len) {
                Ok(out) => out,
                Err(ticket) => match self.plan.open(i, self.counter) {
                    Ok(reader) => RangeOut {
                        _ticket: Some(ticket),
                        sequenced: true,
                        ..read_range(reader, i, self.decoding, self.stop)
                    },
                    Err(e) => RangeOut::failed(e),
                },
            },
        }
    }

    /// Joins the ranges read that come next in the file, as the sequential
    /// reader would have read them; after the last, the sequencer's end.
    fn join(&self, s: &mut Shared) {
        let (plan, counter, decoding, stop) = (self.plan, self.counter, self.decoding, self.stop);
        while !s.finished {
            let i = s.next_join;
            if i >= plan.len() {
                s.finished = true;
                break;
            }
            let Some(mut range) = s.published.remove(&i) else {
                return;
            };
            if let Some(prev) = &s.previous {
                let follows = range
                    .end
                    .as_ref()
                    .is_some_and(|end| plan.follows(prev, i, end));
                if !follows {
                    // The guessed boundary or state was wrong (or the range
                    // could not be opened): read it again where the range
                    // before really ended, with its state.
                    s.reading.ranges_reread += 1;
                    range = match plan.reopen_after(prev, i, counter) {
                        Ok(reader) => read_range(reader, i, decoding, stop),
                        Err(e) => {
                            s.end_error = Some(e);
                            s.finished = true;
                            break;
                        }
                    };
                }
            }
            if let RangePackets::Summed(summed) = &range.packets
                && !s.sequencer.takes_summed(summed.first_ts)
            {
                // A jump from the clock before the range, or a packet held
                // from the range before: the sequencer must see each packet.
                let reopened = match &s.previous {
                    Some(prev) => plan.reopen_after(prev, i, counter),
                    None => plan.open(i, counter),
                };
                range = match reopened {
                    Ok(reader) => RangeOut {
                        sequenced: true,
                        ..read_range(reader, i, decoding, stop)
                    },
                    Err(e) => {
                        s.end_error = Some(e);
                        s.finished = true;
                        break;
                    }
                };
            }
            s.reading.ranges_sequenced += u64::from(range.sequenced);
            let base = s.sequencer.records;
            s.sequencer.skipped(&range.skipped);
            s.sequencer.not_inflated(range.not_inflated);
            let mut slot = Slot::new(decoding.shards);
            match &mut range.packets {
                RangePackets::Summed(summed) => {
                    let clock_in = s.sequencer.clock;
                    s.sequencer.summed(
                        summed.in_flows,
                        summed.incomplete,
                        summed.not_seed_ip,
                        summed.clock,
                    );
                    for (shard, mut batch) in
                        std::mem::take(&mut summed.batches).into_iter().enumerate()
                    {
                        if !batch.packets.is_empty() {
                            batch.base_ordinal = base;
                            batch.clock_in = clock_in;
                            slot.batches[shard].push(batch);
                        }
                    }
                }
                RangePackets::Ordered { packets, bytes } => {
                    let had_packets = !packets.is_empty();
                    {
                        let held = (s.held.0, s.held.1.as_slice());
                        let current = (i, bytes.as_slice());
                        let lend = &mut s.tunnel_fragments;
                        let mut out = deal(&mut slot, decoding, current, held, lend);
                        for mut packet in packets.drain(..) {
                            packet.ordinal += base;
                            s.sequencer.packet(packet, &mut out);
                        }
                    }
                    // A packet the clock holds back comes from the last range
                    // that had packets: keep that range's bytes until it is
                    // dealt.
                    if had_packets {
                        s.held = (i, std::mem::take(bytes));
                    }
                }
            }
            s.sequencer.records = base + range.records;
            let counters = range.counters();
            s.reader_counters.unknown_interface += counters.unknown_interface;
            s.reader_counters.non_packet_blocks += counters.non_packet_blocks;
            s.reader_counters.simple_packet_blocks += counters.simple_packet_blocks;
            s.next_join += 1;
            if range.error.is_some() {
                // The capture ends here, as in one stream.
                s.end_error = range.error.take();
                s.finished = true;
            } else if let Some(end) = range.end.take() {
                // A range that stopped short of its end met the end of the file.
                if end.offset < plan.end(i) {
                    s.finished = true;
                }
                s.previous = Some(end);
                let records = s.sequencer.records;
                if !s.finished && s.checkpoint.reached(records) {
                    s.interrupted = true;
                    s.finished = true;
                }
            } else {
                s.finished = true;
            }
            // Every shard learns the clock now and then (so that the merge
            // can release the flows of shards that had no packets for a
            // while); a held packet may still end flows with an earlier
            // ordinal.
            if !s.finished
                && !s.sequencer.holds()
                && s.sequencer.records / TICK_EVERY != base / TICK_EVERY
            {
                slot.tick = Some((s.sequencer.clock, s.sequencer.records));
            }
            s.slots.push_back(slot);
        }
        if s.finished && !s.ended {
            let mut slot = Slot::new(decoding.shards);
            {
                let held = (s.held.0, s.held.1.as_slice());
                let none = (usize::MAX, &[][..]);
                let lend = &mut s.tunnel_fragments;
                s.sequencer
                    .end(&mut deal(&mut slot, decoding, none, held, lend));
            }
            slot.tick = Some((s.sequencer.clock, s.sequencer.records));
            s.slots.push_back(slot);
            s.ended = true;
            // The ranges read past the end are not needed (a thread still
            // reading one drops it when done).
            s.published.clear();
        }
    }
}

/// Deals the sequencer's packets to the shards' batches of a slot, each with
/// its transport bytes from its range's (`current` or `held`, by range
/// index), copied into the batch. A fragment is first lent the packet inside
/// its tunnel datagram, if any, as the sequential reader's stream lends it
/// (`stream::finish`).
fn deal<'d>(
    slot: &'d mut Slot,
    decoding: Decoding,
    current: (usize, &'d [u8]),
    held: (usize, &'d [u8]),
    tunnel_fragments: &'d mut TunnelFragments,
) -> impl FnMut(Decoded<'static>, Tag) -> bool + 'd {
    move |mut decoded, tag| {
        let bytes = match tag.range as usize {
            r if r == current.0 => current.1,
            r if r == held.0 => held.1,
            _ => &[],
        };
        let mut transport = bytes
            .get(tag.start as usize..tag.end as usize)
            .unwrap_or_default();
        if decoded.view.fragment.is_some() && !decoding.mode.seed {
            let mut view = PacketView {
                transport,
                ..decoded.view
            };
            tunnel_fragments.observe(&mut view, decoded.clock);
            transport = view.transport;
            decoded.view = view.detached();
        }
        let shard = if decoding.partitions > 1 {
            let partition = if tag.partition == NO_PARTITION {
                // The canonical key: both directions of a flow hash alike.
                let (key, _) = FlowKey::of_packet(&decoded.view, decoding.bidirectional);
                partition_of(&key, decoding.partitions)
            } else {
                usize::from(tag.partition)
            };
            partition % decoding.shards.max(1)
        } else {
            0
        };
        let batches = &mut slot.batches[shard];
        if batches
            .last()
            .is_none_or(|b| b.packets.len() >= super::BATCH)
        {
            batches.push(Batch::new());
        }
        if let Some(batch) = batches.last_mut() {
            batch.push(
                &decoded.view,
                transport,
                decoded.ordinal,
                decoded.clock,
                decoding.carry,
            );
        }
        true
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

/// Reads and decodes one range (on the thread that claimed it, or again on
/// the thread joining it).
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
    // IPComp payloads are inflated here; the view's transport bytes are
    // copied out below before the next record.
    let mut inflater = decode::Inflater::default();
    while let Some(raw) = next_record(&mut reader, records, stop, &mut error) {
        let ordinal = records;
        records += 1;
        match decode::decode_into(&raw, decoding.mode.tunnels, &mut inflater) {
            Ok(view) => {
                // A fragment's bytes are kept whatever the features read: the
                // joining thread may lend it the packet inside its tunnel.
                let (start, end) = if decoding.carry || view.fragment.is_some() {
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
        not_inflated: inflater.failed,
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
pub(super) fn read_range_summed(
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
        } else if view.fragment.is_some() || decode::needs_inflating(&view, decoding.mode.tunnels) {
            // A fragment, or an IPComp payload (its packet is in bytes
            // inflated out of the record, which the sequential path keeps).
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
            // nothing); the joining thread reads this range again and copies.
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
        not_inflated: 0,
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
