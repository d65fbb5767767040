//! The flow table: one hash lookup per packet, expiry by timeouts measured on the
//! capture's own clock, TCP close with a grace period for trailing packets, and a
//! small reorder heap that releases finished flows in a deterministic order.
//!
//! Memory is bounded by the number of active flows, whatever the timestamps
//! say: a flow ended by a packet (eviction, active timeout, a new SYN after a
//! close) is final at once, and one ended by time leaves as soon as the capture
//! clock passes its deadline. See [`OrderKey`] for why that order is total.
//!
//! The flow limit is split over [`partitions`] of the key space chosen by a
//! stable hash ([`FlowKey::stable_hash`]): a full partition evicts its own least
//! recently active flow. A partition lives wholly in one shard, so eviction,
//! and the output, are the same whatever the number of shards.

#[cfg(doc)]
use super::budget::DEFAULT_FLOW_STATE_BUDGET;
use super::budget::{FLOW_STATE, FlowStatePool, INDEX_BYTES_PER_FLOW};
use super::{Direction, EndReason, FinishedFlow, FlowFeatures, FlowKey};
use crate::decode::{PacketView, tcp_flags};
use hashbrown::HashTable;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::BuildHasher;

mod lists;
mod slab;

use lists::{Links, List, ListId, NIL};
use slab::Slab;

/// How flows are formed and when they end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FlowConfig {
    /// Key on the canonical (unordered) endpoint pair; false keys on the ordered pair.
    pub bidirectional: bool,
    /// End a flow after this long without packets (ns); `None` never.
    pub idle_timeout_ns: Option<i64>,
    /// End a flow once it has lasted this long (ns); `None` never.
    pub active_timeout_ns: Option<i64>,
    /// End TCP flows on RST or on FIN from both sides.
    pub tcp_close: bool,
    /// After a TCP close, packets other than a new SYN still join the closed flow
    /// for this long (ns): the final ACK, retransmitted FINs.
    pub close_grace_ns: i64,
    /// A TCP flow first seen with SYN+ACK is oriented from the client (the packet's
    /// destination); false takes the first packet's source as `src` always.
    pub syn_ack_reverses: bool,
    /// Most flows open at once; a new flow beyond it evicts the least recently
    /// active one (`None`: the default budget, see [`FlowTable::max_flows`]).
    pub max_flows: Option<usize>,
}

/// Most eviction partitions (see [`partitions`]).
pub const MAX_PARTITIONS: usize = 64;

/// Fewest flows a partition holds: limits below `2 * MIN_PARTITION_FLOWS` are
/// one partition, so a small `--max-flows` evicts the least recently active
/// flow of all, as it says.
pub const MIN_PARTITION_FLOWS: usize = 64;

/// How many eviction partitions a flow limit is split into: one per
/// [`MIN_PARTITION_FLOWS`] flows, at most [`MAX_PARTITIONS`]. A function of the
/// limit alone, so that the same options give the same partitions on every
/// machine and for every `-j`.
pub fn partitions(max_flows: usize) -> usize {
    (max_flows / MIN_PARTITION_FLOWS).clamp(1, MAX_PARTITIONS)
}

/// The eviction partition of `key` among `partitions`: the high half of its
/// stable hash scaled to the range (multiply-shift, no division).
#[inline]
pub fn partition_of(key: &FlowKey, partitions: usize) -> usize {
    (((key.stable_hash() >> 32) * partitions as u64) >> 32) as usize
}

/// The order finished flows are written in: end time, then the ordinal of the
/// packet that ended the flow ([`ENDED_BY_TIME`] for flows ended by a timeout,
/// a close grace period or the end of the capture), then the flow's first
/// packet.
///
/// Packets end flows at the current clock in ordinal order, and a deadline
/// `d` only expires once the clock has passed it, after every packet stamped
/// `d`: so a flow ended by packet `o` at clock `c` can be released as soon as
/// `o` is processed, even when every timestamp is the same (no later event
/// sorts before it), and memory never waits on the clock.
pub type OrderKey = (i64, u64, u64);

/// `ended_by` of flows ended by time rather than by a packet.
pub const ENDED_BY_TIME: u64 = u64::MAX;

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            bidirectional: true,
            idle_timeout_ns: Some(120_000_000_000),
            active_timeout_ns: Some(1_800_000_000_000),
            tcp_close: true,
            close_grace_ns: 5_000_000_000,
            syn_ack_reverses: true,
            max_flows: None,
        }
    }
}

/// Where a packet was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Ordinal (in the input) of the first packet of the packet's flow.
    pub flow_first_packet: u64,
    /// The packet's direction in that flow.
    pub direction: Direction,
}

/// Counters the table keeps about its own work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableCounters {
    /// Flows created.
    pub flows_created: u64,
    /// Packets whose timestamp was earlier than a packet before them.
    pub backward_timestamps: u64,
    /// Largest number of flows open at once.
    pub peak_active_flows: u64,
    /// Flows ended early because the table was full.
    pub evicted_flows: u64,
    /// Of those, flows ended because the process's flow-state budget was spent
    /// (several tables at once) rather than by the flow limit: the one kind of
    /// eviction whose choice depends on what else was running.
    pub memory_evicted_flows: u64,
}

#[derive(Debug)]
struct Slot<F> {
    key: FlowKey,
    hash: u64,
    initiator: u8,
    /// Which key endpoints have sent FIN (bit 0, bit 1).
    fin_sent: u8,
    /// The eviction partition, whose lists the slot is in.
    partition: u8,
    list: ListId,
    links: Links,
    first_ns: i64,
    last_ns: i64,
    /// Timestamp of the last packet in arrival order (the first one's is `arrival_first_ns`).
    arrival_last_ns: i64,
    arrival_first_ns: i64,
    /// Capture clock at the first packet (active timeout is measured from here).
    first_clock: i64,
    /// Capture clock at the last packet (idle timeout), or at the close (grace).
    deadline_base: i64,
    first_packet: u64,
    close_reason: EndReason,
    features: F,
}

/// A finished flow waiting in the reorder heap: its [`OrderKey`] and slot.
/// The flow stays in its slot until it is released, so the heap moves 32-byte
/// keys instead of whole flows (a `FinishedFlow` is 224 bytes for the standard
/// profile and over 1 KB for the full one), and ending a flow copies nothing.
/// First packets are unique, so the slot never decides the order.
type Pending = Reverse<(i64, u64, u64, u32)>;

/// One eviction partition: its open flows (least recently active first) and
/// its closed TCP flows in their grace period (first closed first), how many
/// it holds and its share of the flow limit. A table has no lists of its own:
/// with one partition (limits under 128), the partition's lists are the
/// table's.
#[derive(Debug, Clone, Copy)]
struct Partition {
    open: List,
    closed: List,
    active: u32,
    cap: u32,
}

/// Groups packets into flows. See the module docs.
pub struct FlowTable<F: FlowFeatures> {
    config: FlowConfig,
    features: F::Config,
    max_flows: usize,
    index: HashTable<u32>,
    slots: Slab<Slot<F>>,
    free: Vec<u32>,
    active: usize,
    parts: Vec<Partition>,
    ready: BinaryHeap<Pending>,
    /// No packet processed from now on has an ordinal below this: flows ended
    /// by packets before it are final (see [`OrderKey`]).
    next_ordinal: u64,
    /// The capture clock: the latest timestamp seen. It never goes back, so a
    /// packet stamped earlier than its predecessor cannot expire flows wrongly.
    clock: i64,
    started: bool,
    /// No flow expires before this capture time: the earliest deadline of the
    /// two lists' heads when it was computed. Heads' deadlines never decrease
    /// (flows join a list's tail stamped with the clock, which only moves
    /// forward), so it stays a lower bound, and `expire` is skipped while the
    /// clock has not passed it.
    next_deadline: i64,
    /// Seeded at random per table: keys are chosen by whoever sends the
    /// packets, and nothing in the output depends on the index's layout.
    hasher: foldhash::fast::RandomState,
    pool: &'static FlowStatePool,
    /// Bytes this table reserved from `pool` (one slot's worth per slot).
    reserved: usize,
    counters: TableCounters,
}

impl<F: FlowFeatures> Drop for FlowTable<F> {
    fn drop(&mut self) {
        self.pool.release(self.reserved);
    }
}

impl<F: FlowFeatures> FlowTable<F> {
    /// An empty table whose flows start their feature state from `features`,
    /// drawing on the process-wide flow-state budget.
    pub fn new(config: FlowConfig, features: F::Config) -> Self {
        Self::with_pool(config, features, &FLOW_STATE)
    }

    /// Like [`new`](Self::new), drawing on `pool` (and taking the default flow
    /// limit from its budget).
    pub fn with_pool(
        config: FlowConfig,
        features: F::Config,
        pool: &'static FlowStatePool,
    ) -> Self {
        let max_flows = config
            .max_flows
            .unwrap_or_else(|| Self::max_flows_for_budget(pool.limit()))
            .max(1);
        let count = partitions(max_flows);
        let parts = (0..count)
            .map(|p| Partition {
                open: List::EMPTY,
                closed: List::EMPTY,
                active: 0,
                // The limit shared out, the remainder one by one.
                cap: (max_flows / count + usize::from(p < max_flows % count))
                    .try_into()
                    .unwrap_or(u32::MAX),
            })
            .collect();
        FlowTable {
            config,
            features,
            max_flows,
            index: HashTable::new(),
            slots: Slab::default(),
            free: Vec::new(),
            active: 0,
            parts,
            ready: BinaryHeap::new(),
            next_ordinal: 0,
            clock: i64::MIN,
            started: false,
            next_deadline: i64::MIN,
            hasher: foldhash::fast::RandomState::default(),
            pool,
            reserved: 0,
            counters: TableCounters::default(),
        }
    }

    /// The default limit on open flows: as many as fit in the process's
    /// flow-state budget ([`DEFAULT_FLOW_STATE_BUDGET`] unless set: about 15
    /// million for the standard profile, 4 million for the full one). A fixed
    /// number, so outputs do not depend on the machine.
    pub fn default_max_flows() -> usize {
        Self::max_flows_for_budget(FLOW_STATE.limit())
    }

    /// As many flows as fit in `budget` bytes of flow state.
    pub fn max_flows_for_budget(budget: usize) -> usize {
        (budget / Self::bytes_per_flow()).max(1)
    }

    /// Bytes of flow state counted per flow against the budget.
    pub fn bytes_per_flow() -> usize {
        std::mem::size_of::<Slot<F>>() + INDEX_BYTES_PER_FLOW
    }

    /// The number of eviction partitions in use (see [`partitions`]).
    pub fn partition_count(&self) -> usize {
        self.parts.len()
    }

    /// The limit on open flows in force.
    pub fn max_flows(&self) -> usize {
        self.max_flows
    }

    /// Flows currently open (including closed TCP flows still in their grace period).
    pub fn active_flows(&self) -> usize {
        self.active
    }

    /// Counters about the table's work.
    pub fn counters(&self) -> TableCounters {
        self.counters
    }

    /// Adds one packet. `ordinal` is its position in the input (0-based), used to
    /// order flows deterministically. Flows that are known to have ended are
    /// passed to `emit` in output order.
    ///
    /// Returns where the packet was counted: its flow's first packet ordinal
    /// (the flow's identity) and the packet's direction in that flow.
    #[inline]
    pub fn process(
        &mut self,
        packet: &PacketView<'_>,
        ordinal: u64,
        emit: &mut impl FnMut(FinishedFlow<F>),
    ) -> Placement {
        self.process_at(packet, ordinal, packet.ts_ns, emit)
    }

    /// Like [`process`](Self::process), with the capture clock given by the caller
    /// (the latest timestamp of the whole input so far). A table that sees only
    /// some of the packets (a shard) then expires flows exactly as a table that
    /// sees them all.
    #[inline]
    pub fn process_at(
        &mut self,
        packet: &PacketView<'_>,
        ordinal: u64,
        clock: i64,
        emit: &mut impl FnMut(FinishedFlow<F>),
    ) -> Placement {
        self.advance_clock(clock);
        if packet.ts_ns < self.clock {
            self.counters.backward_timestamps += 1;
        }
        let (key, src_side) = FlowKey::of_packet(packet, self.config.bidirectional);
        let hash = self.hasher.hash_one(key);
        let slots = &self.slots;
        let found = self
            .index
            .find(hash, |&i| slots[i as usize].key == key)
            .copied();
        let i = match found {
            Some(i) => self.update_existing(i, packet, src_side, ordinal, emit),
            None => self.open_flow(key, hash, packet, src_side, ordinal, emit),
        };
        let slot = &self.slots[i as usize];
        let placement = Placement {
            flow_first_packet: slot.first_packet,
            direction: if src_side == slot.initiator {
                Direction::Forward
            } else {
                Direction::Backward
            },
        };
        self.next_ordinal = self.next_ordinal.max(ordinal.saturating_add(1));
        self.release_ready(emit);
        placement
    }

    /// Ends every open flow (end of capture) and emits all remaining flows in order.
    /// `final_clock` is the latest timestamp of the whole input, when the caller
    /// knows a later one than this table saw (e.g. with several shards).
    pub fn finish(&mut self, final_clock: Option<i64>, emit: &mut impl FnMut(FinishedFlow<F>)) {
        if let Some(clock) = final_clock {
            self.advance_clock(clock);
        }
        // Closed flows end at their grace deadline, before every open flow.
        for p in 0..self.parts.len() {
            while let Some(i) = self.parts[p].closed.head_index() {
                let s = &self.slots[i as usize];
                let end_time = s.deadline_base.saturating_add(self.config.close_grace_ns);
                self.end_flow(i, s.close_reason, end_time, ENDED_BY_TIME);
            }
        }
        while let Some(Reverse((end_time, ended_by, _, i))) = self.ready.pop() {
            emit(self.release(i, end_time, ended_by));
        }
        // Open flows all end with the capture, in order of their first packet.
        // They are taken from their slots one by one rather than through the
        // heap, which would hold a second copy of every open flow.
        let mut open = Vec::with_capacity(self.active);
        for part in &self.parts {
            let mut next = part.open.head_index();
            while let Some(i) = next {
                let slot = &self.slots[i as usize];
                open.push((slot.first_packet, i));
                next = (slot.links.next != NIL).then_some(slot.links.next);
            }
        }
        open.sort_unstable();
        for (_, i) in open {
            emit(self.take_flow(i, EndReason::EndOfCapture, i64::MAX));
            debug_assert!(self.ready.is_empty());
        }
    }

    /// Moves the capture clock forward to `clock` (without a packet), noting
    /// that no packet before ordinal `next_ordinal` is still to come, and emits
    /// the flows that are then known to have ended.
    pub fn advance(
        &mut self,
        clock: i64,
        next_ordinal: u64,
        emit: &mut impl FnMut(FinishedFlow<F>),
    ) {
        self.advance_clock(clock);
        self.next_ordinal = self.next_ordinal.max(next_ordinal);
        self.release_ready(emit);
    }

    /// The capture clock: every flow emitted from now on ends at or after it.
    pub fn clock(&self) -> i64 {
        self.clock
    }

    /// A lower bound of the [`OrderKey`] of every flow emitted from now on
    /// (until [`finish`](Self::finish)).
    pub fn watermark(&self) -> OrderKey {
        // End times are clamped below `i64::MAX` (the end of the capture), so
        // at a clock of `i64::MAX` a flow can still end at `i64::MAX - 1`.
        (self.clock.min(i64::MAX - 1), self.next_ordinal, 0)
    }

    fn advance_clock(&mut self, ts: i64) {
        if !self.started {
            self.started = true;
            self.clock = ts;
            return;
        }
        if ts <= self.clock {
            return;
        }
        self.clock = ts;
        if ts > self.next_deadline {
            self.expire();
        }
    }

    /// Ends flows whose idle timeout or close grace period has passed: the
    /// heads of every partition's lists (each list is in deadline order).
    ///
    /// It runs only once the clock has passed `next_deadline`, the earliest
    /// head deadline when it was computed. That stays a lower bound without
    /// being updated as packets move flows: a list's head only ever leaves
    /// for a later one (flows join the tail stamped with the clock, which
    /// only moves forward), so the partitions are scanned once per expiry,
    /// not once per packet.
    #[cold]
    fn expire(&mut self) {
        let clock = self.clock;
        let idle = self.config.idle_timeout_ns;
        let grace = self.config.close_grace_ns;
        let mut next = i64::MAX;
        for p in 0..self.parts.len() {
            if let Some(idle) = idle {
                while let Some(i) = self.parts[p].open.head_index() {
                    let deadline = self.slots[i as usize].deadline_base.saturating_add(idle);
                    if deadline >= clock {
                        next = next.min(deadline);
                        break;
                    }
                    self.end_flow(i, EndReason::IdleTimeout, deadline, ENDED_BY_TIME);
                }
            }
            while let Some(i) = self.parts[p].closed.head_index() {
                let s = &self.slots[i as usize];
                let deadline = s.deadline_base.saturating_add(grace);
                if deadline >= clock {
                    next = next.min(deadline);
                    break;
                }
                self.end_flow(i, s.close_reason, deadline, ENDED_BY_TIME);
            }
        }
        // A flow that joins an empty list later is stamped with a clock at
        // least this one.
        let empty_open = idle.map_or(i64::MAX, |idle| clock.saturating_add(idle));
        self.next_deadline = next.min(empty_open).min(clock.saturating_add(grace));
    }

    /// Emits the finished flows whose place in the output is final.
    #[inline]
    fn release_ready(&mut self, emit: &mut impl FnMut(FinishedFlow<F>)) {
        // Usually nothing waits: one comparison per packet.
        if !self.ready.is_empty() {
            self.release_waiting(emit);
        }
    }

    fn release_waiting(&mut self, emit: &mut impl FnMut(FinishedFlow<F>)) {
        // Every flow still in the table ends at or after the clock, by time or
        // by a packet not yet seen, so anything before that is final in order.
        let (clock, next_ordinal, _) = self.watermark();
        while let Some(&Reverse((end_time, ended_by, _, i))) = self.ready.peek() {
            if (end_time, ended_by) >= (clock, next_ordinal) {
                break;
            }
            self.ready.pop();
            emit(self.release(i, end_time, ended_by));
        }
    }

    fn update_existing(
        &mut self,
        i: u32,
        packet: &PacketView<'_>,
        src_side: u8,
        ordinal: u64,
        emit: &mut impl FnMut(FinishedFlow<F>),
    ) -> u32 {
        let clock = self.clock;
        let flags = packet.tcp_flags();
        let is_new_syn =
            packet.tcp.is_some() && flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN;
        let slot = &self.slots[i as usize];
        match slot.list {
            ListId::Closed if is_new_syn => {
                // A new connection on the same 5-tuple after the close.
                let (key, hash, reason) = (slot.key, slot.hash, slot.close_reason);
                self.end_flow(i, reason, clock, ordinal);
                return self.open_flow(key, hash, packet, src_side, ordinal, emit);
            }
            ListId::Closed => {
                // A trailing packet (last ACK, retransmitted FIN): it belongs to the
                // closed flow and does not extend the grace period.
                self.add_packet(i, packet, src_side);
                return i;
            }
            ListId::Open => {}
        }
        if let Some(active) = self.config.active_timeout_ns
            && clock.saturating_sub(slot.first_clock) > active
        {
            let (key, hash) = (slot.key, slot.hash);
            self.end_flow(i, EndReason::ActiveTimeout, clock, ordinal);
            return self.open_flow(key, hash, packet, src_side, ordinal, emit);
        }
        let slot = &mut self.slots[i as usize];
        Self::count_packet(slot, packet, src_side);
        slot.deadline_base = clock;
        // Moving the flow to the tail of its open list (most recently active)
        // is a no-op when it is there already: back-to-back packets of one flow.
        let p = usize::from(slot.partition);
        if self.parts[p].open.tail != i {
            self.move_to_open_tail(p, i);
        }
        if packet.tcp_flags() & (tcp_flags::RST | tcp_flags::FIN) != 0 {
            self.track_tcp_close(i, packet, src_side);
        }
        i
    }

    /// Moves open flow `i` of partition `p`, which is not its open list's
    /// tail, to the tail: `unlink` + `push_back` for the one case every packet
    /// of an open flow takes, with each slot looked up once. Always inlined:
    /// as a call it cost about 20 instructions per packet (callgrind).
    #[inline(always)]
    fn move_to_open_tail(&mut self, p: usize, i: u32) {
        let Links { prev, next } = self.slots[i as usize].links;
        let list = &mut self.parts[p].open;
        let tail = list.tail;
        // Not the tail, so `next` and `tail` are other flows of the list.
        if prev == NIL {
            list.head = next;
        }
        list.tail = i;
        if prev != NIL {
            self.slots[prev as usize].links.next = next;
        }
        self.slots[next as usize].links.prev = prev;
        self.slots[tail as usize].links.next = i;
        self.slots[i as usize].links = Links {
            prev: tail,
            next: NIL,
        };
    }

    fn add_packet(&mut self, i: u32, packet: &PacketView<'_>, src_side: u8) {
        Self::count_packet(&mut self.slots[i as usize], packet, src_side);
    }

    #[inline]
    fn count_packet(slot: &mut Slot<F>, packet: &PacketView<'_>, src_side: u8) {
        let dir = if src_side == slot.initiator {
            Direction::Forward
        } else {
            Direction::Backward
        };
        slot.first_ns = slot.first_ns.min(packet.ts_ns);
        slot.last_ns = slot.last_ns.max(packet.ts_ns);
        slot.arrival_last_ns = packet.ts_ns;
        slot.features.update(packet, dir);
    }

    fn track_tcp_close(&mut self, i: u32, packet: &PacketView<'_>, src_side: u8) {
        if !self.config.tcp_close {
            return;
        }
        let Some(tcp) = packet.tcp else {
            return;
        };
        let slot = &mut self.slots[i as usize];
        let reason = if tcp.flags & tcp_flags::RST != 0 {
            EndReason::TcpRst
        } else if tcp.flags & tcp_flags::FIN != 0 {
            slot.fin_sent |= 1 << src_side;
            // A one-way flow has only one side to close.
            let closed = if self.config.bidirectional {
                0b11
            } else {
                0b01
            };
            if slot.fin_sent != closed {
                return;
            }
            EndReason::TcpFin
        } else {
            return;
        };
        slot.close_reason = reason;
        slot.deadline_base = self.clock;
        self.unlink(i);
        self.push_back(ListId::Closed, i);
    }

    fn open_flow(
        &mut self,
        key: FlowKey,
        hash: u64,
        packet: &PacketView<'_>,
        src_side: u8,
        ordinal: u64,
        emit: &mut impl FnMut(FinishedFlow<F>),
    ) -> u32 {
        let partition = if self.parts.len() > 1 {
            partition_of(&key, self.parts.len())
        } else {
            0
        };
        let part = &self.parts[partition];
        if part.active >= part.cap {
            self.evict_one(partition, ordinal);
            // The victim's place in the output is final (this packet ended
            // it): out it goes, and its slot takes the new flow.
            self.release_through(ordinal, emit);
        }
        // A TCP flow first seen with SYN+ACK is the server's answer: the client
        // (its destination) is the initiator.
        let syn_ack = tcp_flags::SYN | tcp_flags::ACK;
        let initiator = if self.config.bidirectional
            && self.config.syn_ack_reverses
            && packet.tcp.is_some_and(|t| t.flags & syn_ack == syn_ack)
        {
            1 - src_side
        } else {
            src_side
        };
        let slot = Slot {
            key,
            hash,
            initiator,
            fin_sent: 0,
            partition: partition as u8,
            list: ListId::Open,
            links: Links {
                prev: NIL,
                next: NIL,
            },

            first_ns: packet.ts_ns,
            last_ns: packet.ts_ns,
            arrival_first_ns: packet.ts_ns,
            arrival_last_ns: packet.ts_ns,
            first_clock: self.clock,
            deadline_base: self.clock,
            first_packet: ordinal,
            close_reason: EndReason::EndOfCapture,
            features: F::new(&self.features),
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                let bytes = Self::bytes_per_flow();
                let reused = if self.pool.try_reserve(bytes) {
                    None
                } else if self.evict_for_memory(ordinal) {
                    // As above: the victim's slot takes the new flow.
                    self.release_through(ordinal, emit);
                    self.free.pop()
                } else {
                    // Nothing to evict: an empty table still needs one slot.
                    self.pool.force_reserve(bytes);
                    None
                };
                match reused {
                    Some(i) => {
                        self.slots[i as usize] = slot;
                        i
                    }
                    None => {
                        self.reserved += bytes;
                        self.slots.push(slot);
                        (self.slots.len() - 1) as u32
                    }
                }
            }
        };
        self.parts[partition].active += 1;
        let slots = &self.slots;
        self.index
            .insert_unique(hash, i, |&j| slots[j as usize].hash);
        self.active += 1;
        self.counters.flows_created += 1;
        self.counters.peak_active_flows = self.counters.peak_active_flows.max(self.active as u64);
        self.push_back(ListId::Open, i);
        self.add_packet(i, packet, src_side);
        self.track_tcp_close(i, packet, src_side);
        i
    }

    /// Makes room for one flow in `partition` (packet `ordinal` needs it): a
    /// closed TCP flow of the partition still in its grace period if there is
    /// one (it has ended already), else the partition's least recently active
    /// open flow.
    fn evict_one(&mut self, partition: usize, ordinal: u64) {
        let part = &self.parts[partition];
        if let Some(i) = part.closed.head_index().or_else(|| part.open.head_index()) {
            self.evict(i, ordinal);
        }
    }

    /// Emits the finished flows whose order is final once packet `ordinal`
    /// is the last one that can end a flow at the current clock.
    fn release_through(&mut self, ordinal: u64, emit: &mut impl FnMut(FinishedFlow<F>)) {
        self.next_ordinal = self.next_ordinal.max(ordinal.saturating_add(1));
        self.release_ready(emit);
    }

    /// The process's flow-state budget is spent (several tables at once):
    /// ends the table's earliest closed flow still in its grace period, else
    /// its least recently active flow, whatever their partitions (a scan of
    /// the partitions' heads, on this rare path only). Returns whether there
    /// was one.
    fn evict_for_memory(&mut self, ordinal: u64) -> bool {
        let slots = &self.slots;
        let oldest = |heads: &mut dyn Iterator<Item = Option<u32>>| {
            heads
                .flatten()
                .min_by_key(|&i| (slots[i as usize].deadline_base, i))
        };
        let closed = oldest(&mut self.parts.iter().map(|p| p.closed.head_index()));
        let victim = closed.or_else(|| oldest(&mut self.parts.iter().map(|p| p.open.head_index())));
        let Some(i) = victim else {
            return false;
        };
        if self.slots[i as usize].list == ListId::Open {
            self.counters.memory_evicted_flows += 1;
        }
        self.evict(i, ordinal);
        true
    }

    fn evict(&mut self, i: u32, ordinal: u64) {
        let slot = &self.slots[i as usize];
        let reason = match slot.list {
            ListId::Closed => slot.close_reason,
            ListId::Open => {
                self.counters.evicted_flows += 1;
                EndReason::Evicted
            }
        };
        self.end_flow(i, reason, self.clock, ordinal);
    }

    /// Ends the flow of slot `i` and queues it for output; `ended_by` is the
    /// ordinal of the packet that ended it, or [`ENDED_BY_TIME`].
    fn end_flow(&mut self, i: u32, reason: EndReason, end_time: i64, ended_by: u64) {
        // `i64::MAX` is the end time of the flows still open when the capture
        // ends, which come after every other flow; a deadline that saturates
        // (timestamps near the year 2262) must still sort before them, as the
        // shards' merge sorts.
        let end_time = end_time.min(i64::MAX - 1);
        self.detach(i);
        let slot = &mut self.slots[i as usize];
        // The slot is out of every list and of the index: its close reason
        // field now holds why the flow ended, until `release`.
        slot.close_reason = reason;
        self.ready
            .push(Reverse((end_time, ended_by, slot.first_packet, i)));
    }

    /// Removes slot `i` from the table and returns its flow.
    fn take_flow(&mut self, i: u32, reason: EndReason, end_time: i64) -> FinishedFlow<F> {
        self.detach(i);
        self.slots[i as usize].close_reason = reason;
        self.release(i, end_time, ENDED_BY_TIME)
    }

    /// Takes slot `i` out of its list and the index: no packet finds it any more,
    /// and it no longer counts as active. The slot itself stays in use.
    fn detach(&mut self, i: u32) {
        self.unlink(i);
        let hash = self.slots[i as usize].hash;
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        self.active -= 1;
        self.parts[usize::from(self.slots[i as usize].partition)].active -= 1;
    }

    /// The flow of detached slot `i`, which becomes free.
    fn release(&mut self, i: u32, end_time: i64, ended_by: u64) -> FinishedFlow<F> {
        self.free.push(i);
        let slot = &mut self.slots[i as usize];
        let reason = slot.close_reason;
        FinishedFlow {
            key: slot.key,
            initiator: slot.initiator,
            first_ns: slot.first_ns,
            last_ns: slot.last_ns,
            arrival_ns: [slot.arrival_first_ns, slot.arrival_last_ns],
            first_packet: slot.first_packet,
            end_time,
            ended_by,
            end_reason: reason,
            features: std::mem::take(&mut slot.features),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::StandardFeatures;

    /// The documented memory budget per open flow (docs/flows.md): the slot plus
    /// about 6 bytes of hash-table entry must stay under 300 bytes.
    #[test]
    fn flow_state_fits_the_memory_budget() {
        assert!(std::mem::size_of::<Slot<StandardFeatures>>() + 6 <= 300);
    }

    /// The `full` profile's state is bounded too (docs/flows.md): slot plus the
    /// early-flow sequence of the default 10 packets.
    #[test]
    fn full_flow_state_is_bounded() {
        use crate::features::{FullFeatures, SpltEntry};
        let slot = std::mem::size_of::<Slot<FullFeatures>>();
        let splt = 10 * std::mem::size_of::<SpltEntry>();
        assert!(slot + splt + 6 <= 1280, "{slot} + {splt}");
    }

    /// The default limits documented in docs/robustness.md.
    #[test]
    fn default_flow_limits() {
        use crate::features::{CicFeatures, FullFeatures};
        assert_eq!(
            FlowTable::<StandardFeatures>::default_max_flows() / 100_000,
            149
        );
        // 248 bytes before the application state (24 bytes, docs/features.md).
        assert_eq!(std::mem::size_of::<Slot<StandardFeatures>>(), 272);
        assert_eq!(FlowTable::<FullFeatures>::default_max_flows() / 100_000, 39);
        let cic = FlowTable::<CicFeatures>::default_max_flows();
        assert!((2_500_000..3_500_000).contains(&cic), "{cic}");
    }

    /// A UDP packet from 10.0.x.y:1000 to 10.9.9.9:53 at `ts_ns`, decoded.
    fn udp_from(i: u32, ts_ns: i64, bytes: &mut Vec<u8>) -> PacketView<'_> {
        use crate::capture::RawPacket;
        use crate::decode::frames;
        *bytes = frames::ethernet(
            0x0800,
            &frames::ipv4(
                17,
                [10, 0, (i >> 8) as u8, i as u8],
                [10, 9, 9, 9],
                &frames::udp(1000, 53, &[0; 4]),
            ),
        );
        let raw = RawPacket {
            ts_ns,
            wire_len: bytes.len() as u32,
            data: bytes,
            linktype: 1,
            interface: 0,
        };
        crate::decode::decode(&raw, crate::decode::Tunnels::NONE).unwrap()
    }

    fn table(max_flows: usize, pool: &'static FlowStatePool) -> FlowTable<StandardFeatures> {
        FlowTable::with_pool(
            FlowConfig {
                max_flows: Some(max_flows),
                ..FlowConfig::default()
            },
            crate::features::AppConfig::default(),
            pool,
        )
    }

    /// Every packet opens a flow and every timestamp is the same: evicted
    /// flows are emitted at once (their order is final), so the slots in use
    /// stay at the limit instead of growing with the capture.
    #[test]
    fn evicted_flows_leave_at_once_on_a_frozen_clock() {
        let pool = Box::leak(Box::new(FlowStatePool::new(usize::MAX)));
        let mut t = table(100, pool);
        let mut emitted = Vec::new();
        let mut bytes = Vec::new();
        for i in 0..5_000u32 {
            let packet = udp_from(i, 1_000, &mut bytes);
            t.process(&packet, u64::from(i), &mut |f| emitted.push(f));
        }
        assert_eq!(emitted.len(), 4_900, "every evicted flow is out");
        assert_eq!(t.slots.len(), 100, "the victims' slots are reused");
        // In the order of the packets that evicted them.
        let order: Vec<u64> = emitted.iter().map(|f| f.ended_by).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
        assert!(emitted.iter().all(|f| f.end_reason == EndReason::Evicted));
        t.finish(None, &mut |f| emitted.push(f));
        assert_eq!(emitted.len(), 5_000);
    }

    /// Falling timestamps: the same.
    #[test]
    fn evicted_flows_leave_at_once_on_a_falling_clock() {
        let pool = Box::leak(Box::new(FlowStatePool::new(usize::MAX)));
        let mut t = table(100, pool);
        let mut count = 0;
        let mut bytes = Vec::new();
        for i in 0..5_000u32 {
            let packet = udp_from(i, 1_000_000_000 - i64::from(i), &mut bytes);
            t.process(&packet, u64::from(i), &mut |_| count += 1);
        }
        assert_eq!(count, 4_900);
        assert_eq!(t.slots.len(), 100);
    }

    /// Two tables share a budget of 150 flows with limits of 100 each: the
    /// first one fits; the second evicts by memory once the budget is spent,
    /// counts it apart, and both give their reservations back when dropped.
    #[test]
    fn tables_share_one_budget() {
        let per_flow = FlowTable::<StandardFeatures>::bytes_per_flow();
        let pool = Box::leak(Box::new(FlowStatePool::new(150 * per_flow)));
        let mut a = table(100, pool);
        let mut b = table(100, pool);
        let mut bytes = Vec::new();
        let mut sink = |_: FinishedFlow<StandardFeatures>| {};
        for i in 0..100u32 {
            let packet = udp_from(i, 1_000 + i64::from(i), &mut bytes);
            a.process(&packet, u64::from(i), &mut sink);
        }
        assert_eq!(a.counters().memory_evicted_flows, 0);
        for i in 0..100u32 {
            let packet = udp_from(1_000 + i, 1_000 + i64::from(i), &mut bytes);
            b.process(&packet, u64::from(i), &mut sink);
        }
        let counters = b.counters();
        // 50 slots fit; each of the other 50 flows took a victim's slot.
        assert_eq!(counters.memory_evicted_flows, 50, "{counters:?}");
        assert_eq!(counters.evicted_flows, 50);
        assert_eq!(b.slots.len(), 50);
        assert_eq!(pool.in_use(), 150 * per_flow);
        drop(a);
        drop(b);
        assert_eq!(pool.in_use(), 0);
    }

    /// Partitions share the limit out with the remainder first, and the
    /// count of partitions depends on the limit alone.
    #[test]
    fn partitions_share_the_limit() {
        assert_eq!(partitions(1), 1);
        assert_eq!(partitions(127), 1);
        assert_eq!(partitions(128), 2);
        assert_eq!(partitions(1_000), 15);
        assert_eq!(partitions(16_000_000), MAX_PARTITIONS);
        let pool = Box::leak(Box::new(FlowStatePool::new(usize::MAX)));
        let t = table(1_000, pool);
        let caps: Vec<u32> = t.parts.iter().map(|p| p.cap).collect();
        assert_eq!(caps.iter().sum::<u32>(), 1_000);
        assert_eq!(caps[0], 67);
        assert_eq!(caps[14], 66);
    }
}
