//! One capture on several cores: a reader thread decodes packets and deals them
//! to N flow-table shards by the flow key's eviction partition (both directions
//! of a flow land on the same shard), in batches; the calling thread merges the
//! shards' finished flows back into the single-threaded output order. (An
//! uncompressed capture file has a pipeline of its own in [`ranges`], where
//! each thread reads byte ranges and runs a shard; it shares the merge.)
//!
//! The output is identical whatever the number of shards, eviction included:
//! - every shard is given the global capture clock with each packet, so flows
//!   expire at the same capture times as in one table;
//! - a partition (see [`crate::flow::partitions`]) lives wholly in one shard
//!   and holds the same share of the flow limit as in one table, so a full
//!   partition evicts the same flow;
//! - the merge releases a flow only when no shard can still produce one that
//!   sorts before it (each shard emits in [`OrderKey`] order and reports a
//!   watermark below which it will emit nothing more).

use crate::decode::PacketView;
use crate::flow::{
    FinishedFlow, FlowConfig, FlowFeatures, FlowKey, FlowTable, OrderKey, TableCounters,
    partition_of, partitions,
};
use crate::live::{ActiveFlowsGauge, LiveCounters};
use crate::stream::{Decoded, PacketStream, Step};

pub(crate) mod ranges;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Packets handed to a shard at once.
const BATCH: usize = 1024;
/// Flows a shard sends at once at the end of the capture.
const END_CHUNK: usize = 4096;
/// Batches of packets a shard takes in before it sends the merge the flows
/// they ended and its watermark, unless it has [`SEND_FLOWS`] flows first.
const QUIET_BATCHES: u32 = 16;
/// Flows a shard holds at most before it sends them to the merge.
const SEND_FLOWS: usize = 1024;
/// Every this many records, every shard learns the clock (so the merge can
/// release flows of shards that received no packets for a while).
const TICK_EVERY: u64 = 16 * 1024;

/// Packets dealt to a shard at once: each with its ordinal, the clock, and
/// where its transport bytes are in `bytes` (copied only for feature states
/// that read them: the views no longer borrow the capture buffer).
///
/// The thread that reads a byte range fills one batch per shard before the
/// range's place in the file is known: its ordinals count from the range's
/// first record and its clocks from the range's first packet. The thread
/// joining the range then sets `base_ordinal` and `clock_in` (the clock
/// before the range), and the shard
/// adds the one and takes the larger of the clock and the other. Batches
/// dealt packet by packet carry final values (0 and `i64::MIN`).
pub(crate) struct Batch {
    pub(crate) packets: Vec<Dealt>,
    pub(crate) bytes: Vec<u8>,
    /// The byte range the packets come from, shared by its batches for every
    /// shard: it counts as alive until the last is done, and when it kept
    /// its read buffer, the packets' transport bytes are found there instead
    /// of in `bytes` (not copied at all).
    pub(crate) shared: Option<Arc<ranges::RangeTicket>>,
    pub(crate) base_ordinal: u64,
    pub(crate) clock_in: i64,
}

/// One packet dealt to a shard: its view, ordinal and clock, and where its
/// transport bytes are (see [`Batch`]).
pub(crate) type Dealt = (PacketView<'static>, u64, i64, std::ops::Range<usize>);

impl Batch {
    pub(crate) fn new() -> Self {
        Self::with_capacity(BATCH)
    }

    /// Appends a packet with its ordinal and clock, and a copy of its
    /// transport bytes when `carry` (the feature state reads payloads).
    fn push(
        &mut self,
        view: &PacketView<'_>,
        transport: &[u8],
        ordinal: u64,
        clock: i64,
        carry: bool,
    ) {
        let start = self.bytes.len();
        if carry {
            self.bytes.extend_from_slice(transport);
        }
        let bytes = start..self.bytes.len();
        self.packets.push((view.detached(), ordinal, clock, bytes));
    }

    pub(crate) fn with_capacity(packets: usize) -> Self {
        Batch {
            packets: Vec::with_capacity(packets),
            bytes: Vec::new(),
            shared: None,
            base_ordinal: 0,
            clock_in: i64::MIN,
        }
    }
}

pub(crate) enum ToShard {
    Packets(Batch),
    /// The clock, and the ordinal of the next record to be read.
    Tick(i64, u64),
    End(i64),
}

struct FromShard<F> {
    shard: usize,
    flows: Vec<FinishedFlow<F>>,
    /// The shard will emit no flow whose order key is below this.
    watermark: OrderKey,
    /// Final message, with the shard's counters.
    done: Option<TableCounters>,
}

/// Runs the sharded pipeline over one capture. `read` is the decode stage:
/// it hands every packet, in input order, to the [`Dealer`] it is given (on a
/// thread of its own) and returns what it read. `emit` receives flows in
/// output order and returns false to stop. Returns what `read` returned and
/// the shards' summed counters.
pub(crate) fn run<F: FlowFeatures, R: Send>(
    read: impl FnOnce(&mut Dealer) -> R + Send,
    config: FlowConfig,
    features: F::Config,
    shards: usize,
    live: &Arc<LiveCounters>,
    emit: &mut dyn FnMut(FinishedFlow<F>) -> bool,
    progress: &mut dyn FnMut(u64),
) -> (R, TableCounters) {
    let shards = shards.max(1);
    let (shard_config, partitions) = shard_config::<F>(config);
    // The shards get the payload bytes only when the feature state reads them.
    let carry = F::reads_transport(&features);
    std::thread::scope(|scope| {
        let (out_tx, out_rx) = sync_channel::<FromShard<F>>(shards * 4);
        let mut inputs = Vec::with_capacity(shards);
        for shard in 0..shards {
            let (tx, rx) = sync_channel::<ToShard>(4);
            let out = out_tx.clone();
            let gauge = ActiveFlowsGauge::new(Arc::clone(live));
            spawn_named(scope, "flowq-shard", move || {
                shard_worker::<F>(shard, shard_config, features, rx, out, gauge);
            });
            inputs.push(tx);
        }
        drop(out_tx);
        let reader_thread = spawn_named(scope, "flowq-decode", move || {
            let mut dealer = Dealer::new(inputs, partitions, config.bidirectional, carry);
            let read = read(&mut dealer);
            dealer.end();
            read
        });
        let counters = merge(out_rx, shards, emit, progress);
        let read = reader_thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (read, counters)
    })
}

/// Spawns a thread with a name (for profilers and per-thread CPU times; see
/// the `parallel_read` example).
pub(crate) fn spawn_named<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn_scoped(scope, f)
        // As `std::thread::scope`'s own `spawn` does: no thread, no run.
        .unwrap_or_else(|e| panic!("cannot start a thread: {e}"))
}

/// The decode stage of one capture read as one stream, feeding the shards.
pub(crate) fn read_stream<'r>(
    mut stream: PacketStream<'r>,
    dealer: &mut Dealer,
) -> PacketStream<'r> {
    loop {
        let decoded = match stream.step() {
            Step::Packet(d) => d,
            Step::Skipped | Step::Held | Step::Dropped => continue,
            Step::End => break,
        };
        if !dealer.packet(&decoded, None) {
            break;
        }
        if stream.records.is_multiple_of(TICK_EVERY) && !dealer.tick(stream.clock, stream.records) {
            break;
        }
    }
    dealer.clock = stream.clock;
    dealer.next_ordinal = stream.records;
    stream
}

/// Deals decoded packets to the shards by the eviction partition of their
/// flow key, in batches, and tells every shard the clock now and then.
pub(crate) struct Dealer {
    shards: Vec<SyncSender<ToShard>>,
    /// Partition p goes to shard p mod n; with one partition, one shard works.
    shard_of: Vec<usize>,
    partitions: usize,
    bidirectional: bool,
    batches: Vec<Batch>,
    /// Copy each packet's transport bytes along (the feature state reads payloads).
    carry_transport: bool,
    /// A shard's consumer went away: nothing more is wanted.
    stopped: bool,
    /// The clock and the next record's ordinal at the end of the input.
    pub(crate) clock: i64,
    pub(crate) next_ordinal: u64,
}

impl Dealer {
    fn new(
        shards: Vec<SyncSender<ToShard>>,
        partitions: usize,
        bidirectional: bool,
        carry_transport: bool,
    ) -> Self {
        let n = shards.len();
        Dealer {
            shard_of: (0..partitions).map(|p| p % n).collect(),
            partitions,
            bidirectional,
            batches: (0..n).map(|_| Batch::new()).collect(),
            carry_transport,
            shards,
            stopped: false,
            clock: i64::MIN,
            next_ordinal: 0,
        }
    }

    /// One packet, in input order, with its partition when the caller worked
    /// it out already. Returns false once nothing more is wanted.
    #[inline]
    pub(crate) fn packet(&mut self, decoded: &Decoded<'_>, partition: Option<usize>) -> bool {
        let shard = if self.partitions > 1 {
            let partition = partition.unwrap_or_else(|| {
                // The canonical key: both directions of a flow hash alike.
                let (key, _) = FlowKey::of_packet(&decoded.view, self.bidirectional);
                partition_of(&key, self.partitions)
            });
            self.shard_of[partition]
        } else {
            0
        };
        let batch = &mut self.batches[shard];
        let view = &decoded.view;
        batch.push(
            view,
            view.transport,
            decoded.ordinal,
            decoded.clock,
            self.carry_transport,
        );
        if batch.packets.len() >= BATCH {
            let batch = std::mem::replace(batch, Batch::new());
            if self.shards[shard].send(ToShard::Packets(batch)).is_err() {
                self.stopped = true;
            }
        }
        !self.stopped
    }

    /// Sends every partial batch, then the clock and the next record's
    /// ordinal to every shard (so that each can release the flows it ended at
    /// this clock). Returns false once nothing more is wanted.
    pub(crate) fn tick(&mut self, clock: i64, next_ordinal: u64) -> bool {
        if self.stopped {
            return false;
        }
        for (shard, batch) in self.shards.iter().zip(self.batches.iter_mut()) {
            if !batch.packets.is_empty() {
                let batch = std::mem::replace(batch, Batch::new());
                if shard.send(ToShard::Packets(batch)).is_err() {
                    self.stopped = true;
                    return false;
                }
            }
            if shard.send(ToShard::Tick(clock, next_ordinal)).is_err() {
                self.stopped = true;
                return false;
            }
        }
        true
    }

    /// The end of the input: the last batches, then every shard finishes.
    fn end(&mut self) {
        if self.tick(self.clock, self.next_ordinal) {
            for shard in &self.shards {
                // A failed send means the consumer stopped; nothing left to do.
                let _ = shard.send(ToShard::End(self.clock));
            }
        }
    }
}

/// Each shard's table configuration, and the number of eviction partitions:
/// every shard is configured with the whole flow limit and holds whole
/// partitions, each with the share of the limit it has in one table.
fn shard_config<F: FlowFeatures>(config: FlowConfig) -> (FlowConfig, usize) {
    let max_flows = config
        .max_flows
        .unwrap_or_else(FlowTable::<F>::default_max_flows);
    let shard_config = FlowConfig {
        max_flows: Some(max_flows),
        ..config
    };
    (shard_config, partitions(max_flows.max(1)))
}

fn shard_worker<F: FlowFeatures>(
    shard: usize,
    config: FlowConfig,
    features: F::Config,
    input: Receiver<ToShard>,
    output: SyncSender<FromShard<F>>,
    // This shard's open flows in the live counters (once per message, not
    // per packet); dropped, it takes them back out.
    mut gauge: ActiveFlowsGauge,
) {
    let mut table: FlowTable<F> = FlowTable::new(config, features);
    let mut out = ShardOut::new(shard, output);
    for message in input {
        let after_packets = match message {
            ToShard::Packets(mut batch) => {
                out.process(&mut table, &mut batch);
                true
            }
            ToShard::Tick(clock, next_ordinal) => {
                out.advance(&mut table, clock, next_ordinal);
                false
            }
            ToShard::End(clock) => {
                out.end(&mut table, clock);
                return;
            }
        };
        gauge.set(table.active_flows());
        if !out.send_if_due(&table, after_packets) {
            return;
        }
    }
}

/// One shard's table at work: the flows it ended, sent to the merge with
/// its watermark after [`QUIET_BATCHES`] batches of packets or once it holds
/// [`SEND_FLOWS`] flows, after every tick, and at the end.
struct ShardOut<F> {
    shard: usize,
    out: SyncSender<FromShard<F>>,
    flows: Vec<FinishedFlow<F>>,
    /// Batches of packets since the merge last heard from this shard.
    quiet: u32,
}

impl<F: FlowFeatures> ShardOut<F> {
    fn new(shard: usize, out: SyncSender<FromShard<F>>) -> Self {
        ShardOut {
            shard,
            out,
            flows: Vec::new(),
            quiet: 0,
        }
    }

    /// Runs `table` over a batch's packets; gives a range's packet vector
    /// back for reuse.
    fn process(&mut self, table: &mut FlowTable<F>, batch: &mut Batch) {
        let flows = &mut self.flows;
        let mut push = |mut flow: FinishedFlow<F>| {
            flow.features.end();
            flows.push(flow);
        };
        let (base, clock_in) = (batch.base_ordinal, batch.clock_in);
        let payloads = batch.shared.as_ref().map_or(&batch.bytes, |s| &s.bytes);
        for (dealt, ordinal, clock, bytes) in &batch.packets {
            // A whole copy (a few wide moves), then the transport bytes: 21
            // instructions a packet under callgrind, where the struct-update
            // form (`..*dealt`) copied field by field in 52.
            let mut view: PacketView<'_> = *dealt;
            view.transport = payloads.get(bytes.clone()).unwrap_or_default();
            table.process_at(&view, base + ordinal, clock_in.max(*clock), &mut push);
        }
        if let Some(range) = &batch.shared {
            range.recycle_packets(std::mem::take(&mut batch.packets));
        }
    }

    /// Advances `table` to the clock and the ordinal of the next record.
    fn advance(&mut self, table: &mut FlowTable<F>, clock: i64, next_ordinal: u64) {
        table.advance(clock, next_ordinal, &mut |mut flow| {
            flow.features.end();
            self.flows.push(flow);
        });
    }

    /// Sends the flows ended so far and the watermark, unless they may wait:
    /// after packets (not a tick), the merge hears from the shard only every
    /// [`QUIET_BATCHES`] batches or [`SEND_FLOWS`] flows, rather than being
    /// woken for each batch (with 1 MiB ranges that was a wake-up per range
    /// and shard, and a context switch on each). Returns false once the
    /// merge is gone.
    fn send_if_due(&mut self, table: &FlowTable<F>, after_packets: bool) -> bool {
        if after_packets && self.flows.len() < SEND_FLOWS && self.quiet < QUIET_BATCHES {
            self.quiet += 1;
            return true;
        }
        self.quiet = 0;
        let message = FromShard {
            shard: self.shard,
            flows: std::mem::take(&mut self.flows),
            watermark: table.watermark(),
            done: None,
        };
        self.out.send(message).is_ok()
    }

    /// Ends every flow still open at `clock`, then sends the counters.
    /// Returns false when the merge is gone.
    fn end(mut self, table: &mut FlowTable<F>, clock: i64) -> bool {
        // Sent in chunks rather than as one message, which held a second
        // copy of all of them (and the merge a third) while their slots were
        // still allocated. `finish` emits in order, so the last flow of a
        // chunk bounds every later one.
        let mut stopped = false;
        let (shard, out) = (self.shard, &self.out);
        let flows = &mut self.flows;
        table.finish(Some(clock), &mut |mut flow| {
            flow.features.end();
            flows.push(flow);
            if flows.len() >= END_CHUNK && !stopped {
                let chunk = std::mem::replace(flows, Vec::with_capacity(END_CHUNK));
                let watermark = chunk.last().map_or((i64::MIN, 0, 0), |f| f.order_key());
                let message = FromShard {
                    shard,
                    flows: chunk,
                    watermark,
                    done: None,
                };
                stopped = out.send(message).is_err();
            }
        });
        !stopped
            && self
                .out
                .send(FromShard {
                    shard,
                    flows: std::mem::take(&mut self.flows),
                    watermark: table.watermark(),
                    done: Some(table.counters()),
                })
                .is_ok()
    }
}

/// Merges the shards' ordered flow streams into one ordered stream.
fn merge<F>(
    input: Receiver<FromShard<F>>,
    shards: usize,
    emit: &mut dyn FnMut(FinishedFlow<F>) -> bool,
    progress: &mut dyn FnMut(u64),
) -> TableCounters {
    let mut queues: Vec<VecDeque<FinishedFlow<F>>> = (0..shards).map(|_| VecDeque::new()).collect();
    let mut watermark = vec![(i64::MIN, 0, 0); shards];
    let mut finished = vec![false; shards];
    let mut counters = TableCounters::default();
    let mut emitted = 0u64;
    for message in input.iter() {
        let s = message.shard;
        queues[s].extend(message.flows);
        watermark[s] = message.watermark;
        if let Some(c) = message.done {
            finished[s] = true;
            counters.flows_created += c.flows_created;
            counters.backward_timestamps += c.backward_timestamps;
            counters.peak_active_flows += c.peak_active_flows;
            counters.evicted_flows += c.evicted_flows;
            counters.memory_evicted_flows += c.memory_evicted_flows;
        }
        while let Some(best) = (0..shards)
            .filter(|&i| !queues[i].is_empty())
            .min_by_key(|&i| queues[i][0].order_key())
        {
            let key = queues[best][0].order_key();
            // A shard with nothing queued may still emit flows from its
            // watermark on; the best flow is final only if it sorts before.
            let safe = (0..shards)
                .all(|i| i == best || !queues[i].is_empty() || finished[i] || key < watermark[i]);
            if !safe {
                break;
            }
            let Some(flow) = queues[best].pop_front() else {
                break;
            };
            emitted += 1;
            if !emit(flow) {
                // Dropping the receiver stops the shards and the reader.
                return counters;
            }
            if emitted.is_multiple_of(4096) {
                progress(emitted);
            }
        }
        if finished.iter().all(|f| *f) && queues.iter().all(VecDeque::is_empty) {
            break;
        }
    }
    counters
}
