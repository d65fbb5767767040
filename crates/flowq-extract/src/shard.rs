//! One capture on several cores: a reader thread decodes packets and deals them
//! to N flow-table shards by a hash of the flow key (both directions of a flow
//! land on the same shard), in batches; the calling thread merges the shards'
//! finished flows back into the single-threaded output order.
//!
//! The output is identical whatever the number of shards: every shard is given
//! the global capture clock with each packet, so flows expire at the same capture
//! times as in one table, and the merge releases a flow only when no shard can
//! still produce one that sorts before it (each shard emits in order and reports
//! its clock, below which it will emit nothing more).

use crate::decode::PacketView;
use crate::flow::{FinishedFlow, FlowConfig, FlowFeatures, FlowKey, FlowTable, TableCounters};
use crate::stream::{PacketStream, Step};
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Packets handed to a shard at once.
const BATCH: usize = 1024;
/// Flows a shard sends at once at the end of the capture.
const END_CHUNK: usize = 4096;
/// Every this many records, every shard learns the clock (so the merge can
/// release flows of shards that received no packets for a while).
const TICK_EVERY: u64 = 16 * 1024;

enum ToShard {
    Packets(Vec<(PacketView<'static>, u64, i64)>),
    Tick(i64),
    End(i64),
}

struct FromShard<F> {
    shard: usize,
    flows: Vec<FinishedFlow<F>>,
    /// The shard will emit no flow that ends before this capture time.
    watermark: i64,
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
    emit: &mut dyn FnMut(FinishedFlow<F>) -> bool,
    progress: &mut dyn FnMut(u64),
) -> (PacketStream<'r>, TableCounters) {
    let shards = shards.max(1);
    // The flow limit is shared out: each shard holds 1/N of it.
    let total = config
        .max_flows
        .unwrap_or_else(FlowTable::<F>::default_max_flows);
    let shard_config = FlowConfig {
        max_flows: Some((total / shards).max(1)),
        ..config
    };
    std::thread::scope(|scope| {
        let (out_tx, out_rx) = sync_channel::<FromShard<F>>(shards * 4);
        let mut inputs = Vec::with_capacity(shards);
        for shard in 0..shards {
            let (tx, rx) = sync_channel::<ToShard>(4);
            let out = out_tx.clone();
            scope.spawn(move || shard_worker::<F>(shard, shard_config, features, rx, out));
            inputs.push(tx);
        }
        drop(out_tx);
        let reader_thread = scope.spawn(move || read_and_deal(stream, config, inputs));
        let counters = merge(out_rx, shards, emit, progress);
        let stream = reader_thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (stream, counters)
    })
}

/// The flow key as the shards are chosen by: the same fields in the same order
/// with the derived `Hash`, which `FlowKey` had before it got a faster one of
/// its own. Which shard a flow lands on shows in the output when a shard's flow
/// limit is reached (`--max-flows` with `-j N`), so it must not change.
#[derive(Hash)]
struct ShardKey {
    addr: [crate::decode::AddrBytes; 2],
    port: [u16; 2],
    protocol: u8,
    ip_version: u8,
    vlan_id: u16,
    tunnel: crate::decode::Tunnel,
}

impl From<FlowKey> for ShardKey {
    fn from(k: FlowKey) -> Self {
        ShardKey {
            addr: k.addr,
            port: k.port,
            protocol: k.protocol,
            ip_version: k.ip_version,
            vlan_id: k.vlan_id,
            tunnel: k.tunnel,
        }
    }
}

fn read_and_deal<'r>(
    mut stream: PacketStream<'r>,
    config: FlowConfig,
    shards: Vec<SyncSender<ToShard>>,
) -> PacketStream<'r> {
    let n = shards.len();
    let hasher = foldhash::fast::FixedState::with_seed(0x7368_6172_645f_6b65);
    let mut batches: Vec<Vec<(PacketView<'static>, u64, i64)>> =
        (0..n).map(|_| Vec::with_capacity(BATCH)).collect();
    let mut stopped = false;
    loop {
        let decoded = match stream.step() {
            Step::Packet(d) => d,
            Step::Skipped | Step::Held => continue,
            Step::End => break,
        };
        // The canonical key: both directions of a flow hash alike.
        let (key, _) = FlowKey::of_packet(&decoded.view, config.bidirectional);
        let shard = (hasher.hash_one(ShardKey::from(key)) % n as u64) as usize;
        batches[shard].push((decoded.view.detached(), decoded.ordinal, decoded.clock));
        if batches[shard].len() >= BATCH {
            let batch = std::mem::replace(&mut batches[shard], Vec::with_capacity(BATCH));
            if shards[shard].send(ToShard::Packets(batch)).is_err() {
                stopped = true;
                break;
            }
        }
        if stream.records.is_multiple_of(TICK_EVERY) && !flush(&shards, &mut batches, stream.clock)
        {
            stopped = true;
            break;
        }
    }
    if !stopped && flush(&shards, &mut batches, stream.clock) {
        for shard in &shards {
            // A failed send means the consumer stopped; nothing left to do.
            let _ = shard.send(ToShard::End(stream.clock));
        }
    }
    stream
}

/// Sends every partial batch, and the clock to shards without packets.
fn flush(
    shards: &[SyncSender<ToShard>],
    batches: &mut [Vec<(PacketView<'static>, u64, i64)>],
    clock: i64,
) -> bool {
    for (shard, batch) in shards.iter().zip(batches.iter_mut()) {
        let message = if batch.is_empty() {
            ToShard::Tick(clock)
        } else {
            ToShard::Packets(std::mem::replace(batch, Vec::with_capacity(BATCH)))
        };
        if shard.send(message).is_err() {
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
) {
    let mut table: FlowTable<F> = FlowTable::new(config, features);
    for message in input {
        let mut flows = Vec::new();
        let done = match message {
            ToShard::Packets(batch) => {
                let mut push = |flow| flows.push(flow);
                for (view, ordinal, clock) in &batch {
                    table.process_at(view, *ordinal, *clock, &mut push);
                }
                None
            }
            ToShard::Tick(clock) => {
                table.advance(clock, &mut |flow| flows.push(flow));
                None
            }
            ToShard::End(clock) => {
                // Every flow still open ends here: sent in chunks rather than
                // as one message, which held a second copy of all of them
                // (and the merge a third) while their slots were still
                // allocated. Every flow `finish` emits ends at or after the
                // final clock, so that is the chunks' watermark.
                let watermark = table.clock().max(clock);
                let mut stopped = false;
                table.finish(Some(clock), &mut |flow| {
                    flows.push(flow);
                    if flows.len() >= END_CHUNK && !stopped {
                        let chunk = std::mem::replace(&mut flows, Vec::with_capacity(END_CHUNK));
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
        let last = done.is_some();
        let message = FromShard {
            shard,
            flows,
            watermark: table.clock(),
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
    let mut watermark = vec![i64::MIN; shards];
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
        }
        while let Some(best) = (0..shards)
            .filter(|&i| !queues[i].is_empty())
            .min_by_key(|&i| order(&queues[i][0]))
        {
            let (end_time, _) = order(&queues[best][0]);
            // A shard with nothing queued may still emit flows ending at its
            // watermark or later; the best flow is final only if it ends earlier.
            let safe = (0..shards).all(|i| {
                i == best || !queues[i].is_empty() || finished[i] || watermark[i] > end_time
            });
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

fn order<F>(flow: &FinishedFlow<F>) -> (i64, u64) {
    (flow.end_time, flow.first_packet)
}
