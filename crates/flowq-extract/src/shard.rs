//! One capture on several cores: a reader thread decodes packets and deals them
//! to N flow-table shards by the flow key's eviction partition (both directions
//! of a flow land on the same shard), in batches; the calling thread merges the
//! shards' finished flows back into the single-threaded output order.
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
use crate::stream::{PacketStream, Step};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Packets handed to a shard at once.
const BATCH: usize = 1024;
/// Flows a shard sends at once at the end of the capture.
const END_CHUNK: usize = 4096;
/// Every this many records, every shard learns the clock (so the merge can
/// release flows of shards that received no packets for a while).
const TICK_EVERY: u64 = 16 * 1024;

/// Packets dealt to a shard at once: each with its ordinal, the clock, and
/// where its transport bytes are in `bytes` (copied only for feature states
/// that read them: the views no longer borrow the capture buffer).
#[derive(Default)]
struct Batch {
    packets: Vec<(PacketView<'static>, u64, i64, std::ops::Range<usize>)>,
    bytes: Vec<u8>,
}

impl Batch {
    fn new() -> Self {
        Batch {
            packets: Vec::with_capacity(BATCH),
            bytes: Vec::new(),
        }
    }
}

enum ToShard {
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

/// Runs the sharded pipeline over one capture. `emit` receives flows in output
/// order and returns false to stop. Returns the decode stage's state (counters,
/// end error) and the shards' summed counters.
pub(crate) fn run<'r, F: FlowFeatures>(
    stream: PacketStream<'r>,
    config: FlowConfig,
    features: F::Config,
    shards: usize,
    live: &Arc<LiveCounters>,
    emit: &mut dyn FnMut(FinishedFlow<F>) -> bool,
    progress: &mut dyn FnMut(u64),
) -> (PacketStream<'r>, TableCounters) {
    let shards = shards.max(1);
    // Every shard is configured with the whole limit and holds whole
    // partitions, each with the share of the limit it has in one table.
    let max_flows = config
        .max_flows
        .unwrap_or_else(FlowTable::<F>::default_max_flows);
    let shard_config = FlowConfig {
        max_flows: Some(max_flows),
        ..config
    };
    let partitions = partitions(max_flows.max(1));
    std::thread::scope(|scope| {
        let (out_tx, out_rx) = sync_channel::<FromShard<F>>(shards * 4);
        let mut inputs = Vec::with_capacity(shards);
        for shard in 0..shards {
            let (tx, rx) = sync_channel::<ToShard>(4);
            let out = out_tx.clone();
            let gauge = ActiveFlowsGauge::new(Arc::clone(live));
            scope.spawn(move || shard_worker::<F>(shard, shard_config, features, rx, out, gauge));
            inputs.push(tx);
        }
        drop(out_tx);
        let carry = F::reads_transport(&features);
        let reader_thread =
            scope.spawn(move || read_and_deal(stream, config, partitions, inputs, carry));
        let counters = merge(out_rx, shards, emit, progress);
        let stream = reader_thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (stream, counters)
    })
}

fn read_and_deal<'r>(
    mut stream: PacketStream<'r>,
    config: FlowConfig,
    partitions: usize,
    shards: Vec<SyncSender<ToShard>>,
    carry_transport: bool,
) -> PacketStream<'r> {
    let n = shards.len();
    // Partition p goes to shard p mod n; with one partition, one shard works.
    let shard_of: Vec<usize> = (0..partitions).map(|p| p % n).collect();
    let mut batches: Vec<Batch> = (0..n).map(|_| Batch::new()).collect();
    let mut stopped = false;
    loop {
        let decoded = match stream.step() {
            Step::Packet(d) => d,
            Step::Skipped | Step::Held => continue,
            Step::End => break,
        };
        // The canonical key: both directions of a flow hash alike.
        let (key, _) = FlowKey::of_packet(&decoded.view, config.bidirectional);
        let shard = if partitions > 1 {
            shard_of[partition_of(&key, partitions)]
        } else {
            0
        };
        let batch = &mut batches[shard];
        let start = batch.bytes.len();
        if carry_transport {
            batch.bytes.extend_from_slice(decoded.view.transport);
        }
        let bytes = start..batch.bytes.len();
        (batch.packets).push((
            decoded.view.detached(),
            decoded.ordinal,
            decoded.clock,
            bytes,
        ));
        if batch.packets.len() >= BATCH {
            let batch = std::mem::replace(&mut batches[shard], Batch::new());
            if shards[shard].send(ToShard::Packets(batch)).is_err() {
                stopped = true;
                break;
            }
        }
        if stream.records.is_multiple_of(TICK_EVERY)
            && !flush(&shards, &mut batches, stream.clock, stream.records)
        {
            stopped = true;
            break;
        }
    }
    if !stopped && flush(&shards, &mut batches, stream.clock, stream.records) {
        for shard in &shards {
            // A failed send means the consumer stopped; nothing left to do.
            let _ = shard.send(ToShard::End(stream.clock));
        }
    }
    stream
}

/// Sends every partial batch, then the clock and the next record's ordinal to
/// every shard (so that each can release the flows it ended at this clock).
fn flush(
    shards: &[SyncSender<ToShard>],
    batches: &mut [Batch],
    clock: i64,
    next_ordinal: u64,
) -> bool {
    for (shard, batch) in shards.iter().zip(batches.iter_mut()) {
        if !batch.packets.is_empty() {
            let batch = std::mem::replace(batch, Batch::new());
            if shard.send(ToShard::Packets(batch)).is_err() {
                return false;
            }
        }
        if shard.send(ToShard::Tick(clock, next_ordinal)).is_err() {
            return false;
        }
    }
    true
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
    for message in input {
        let mut flows = Vec::new();
        let done = match message {
            ToShard::Packets(batch) => {
                let mut push = |flow| flows.push(flow);
                for (view, ordinal, clock, bytes) in &batch.packets {
                    let view = PacketView {
                        transport: batch.bytes.get(bytes.clone()).unwrap_or_default(),
                        ..*view
                    };
                    table.process_at(&view, *ordinal, *clock, &mut push);
                }
                None
            }
            ToShard::Tick(clock, next_ordinal) => {
                table.advance(clock, next_ordinal, &mut |flow| flows.push(flow));
                None
            }
            ToShard::End(clock) => {
                // Every flow still open ends here: sent in chunks rather than
                // as one message, which held a second copy of all of them
                // (and the merge a third) while their slots were still
                // allocated. `finish` emits in order, so the last flow of a
                // chunk bounds every later one.
                let mut stopped = false;
                table.finish(Some(clock), &mut |flow| {
                    flows.push(flow);
                    if flows.len() >= END_CHUNK && !stopped {
                        let chunk = std::mem::replace(&mut flows, Vec::with_capacity(END_CHUNK));
                        let watermark = chunk.last().map_or((i64::MIN, 0, 0), |f| f.order_key());
                        let message = FromShard {
                            shard,
                            flows: chunk,
                            watermark,
                            done: None,
                        };
                        stopped = output.send(message).is_err();
                    }
                });
                if stopped {
                    return;
                }
                Some(table.counters())
            }
        };
        gauge.set(table.active_flows());
        let last = done.is_some();
        let message = FromShard {
            shard,
            flows,
            watermark: table.watermark(),
            done,
        };
        if output.send(message).is_err() || last {
            return;
        }
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
