//! Flows: keys and direction, the flow table with its timeouts and TCP close
//! handling, and the records of finished flows.
//!
//! The table is generic over the per-flow feature state ([`FlowFeatures`]), so
//! the hot loop is compiled once per profile with no dynamic dispatch.

mod budget;
mod key;
mod table;

pub use budget::{DEFAULT_FLOW_STATE_BUDGET, FLOW_STATE, FlowStatePool, INDEX_BYTES_PER_FLOW};
pub use key::{Direction, FlowKey};
pub use table::{
    ENDED_BY_TIME, FlowConfig, FlowTable, MAX_PARTITIONS, MIN_PARTITION_FLOWS, OrderKey, Placement,
    TableCounters, partition_of, partitions,
};

use crate::decode::PacketView;

/// Per-flow feature state, updated once per packet in O(1) time and memory.
///
/// All the flow table knows of a flow's features: how to make a new state and
/// add a packet to it. What a profile's rows read from the state is the
/// business of the stages above (`features::RowFeatures`).
pub trait FlowFeatures: Default + Send + 'static {
    /// Settings fixed for a run (e.g. how many packets the early-flow sequence keeps).
    type Config: Copy + Send + Sync + std::fmt::Debug + 'static;
    /// The state of a new flow.
    fn new(config: &Self::Config) -> Self;
    /// Adds one packet travelling in `dir` (relative to the flow's initiator).
    fn update(&mut self, packet: &PacketView<'_>, dir: Direction);
    /// Whether states with this config read the packets' transport bytes
    /// ([`PacketView::transport`]): a sharded run then copies them to the
    /// shards (it hands them headers only otherwise).
    fn reads_transport(_config: &Self::Config) -> bool {
        false
    }
    /// The flow has ended. Work done here rather than when its row is
    /// written runs on the shard that kept the flow, in parallel (rendering
    /// the application metadata); the row writer then finds it done.
    fn end(&mut self) {}
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndReason {
    /// No packet for longer than the idle timeout.
    IdleTimeout,
    /// The flow lasted longer than the active timeout; later packets open a new flow.
    ActiveTimeout,
    /// Both sides sent FIN (plus any trailing packets within the close grace period).
    TcpFin,
    /// A TCP RST was seen (plus any trailing packets within the close grace period).
    TcpRst,
    /// The capture ended while the flow was still open.
    EndOfCapture,
    /// The flow table was full (`--max-flows`): the least recently active flow
    /// was ended to make room for a new one.
    Evicted,
}

impl EndReason {
    /// The text written in the `end_reason` column.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::ActiveTimeout => "active_timeout",
            EndReason::TcpFin => "tcp_fin",
            EndReason::TcpRst => "tcp_rst",
            EndReason::EndOfCapture => "end_of_capture",
            EndReason::Evicted => "evicted",
        }
    }
}

/// A flow that has ended, with everything needed to write its row.
#[derive(Debug, Clone)]
pub struct FinishedFlow<F> {
    /// The flow key (endpoints in key order, not initiator order).
    pub key: FlowKey,
    /// Which key endpoint (0 or 1) initiated the flow: the row's `src`.
    pub initiator: u8,
    /// Earliest packet timestamp (ns since the epoch).
    pub first_ns: i64,
    /// Latest packet timestamp (ns since the epoch).
    pub last_ns: i64,
    /// Timestamps of the first and the last packet in arrival order (they differ
    /// from `first_ns`/`last_ns` only when timestamps go backwards).
    pub arrival_ns: [i64; 2],
    /// Ordinal of the flow's first packet in its input (0-based), the tie-breaker
    /// of the output order.
    pub first_packet: u64,
    /// Position in the output order: the capture time at which the flow was known
    /// to have ended (`i64::MAX` for flows open at the end of the capture).
    pub end_time: i64,
    /// Ordinal of the packet whose arrival ended the flow (eviction, active
    /// timeout, a new SYN after a close), or [`ENDED_BY_TIME`]: the second
    /// part of the output order ([`OrderKey`]).
    pub ended_by: u64,
    /// Why it ended.
    pub end_reason: EndReason,
    /// The accumulated features.
    pub features: F,
}

impl<F> FinishedFlow<F> {
    /// Where the flow goes in the output: flows are written in ascending order
    /// of this key.
    #[inline]
    pub fn order_key(&self) -> OrderKey {
        (self.end_time, self.ended_by, self.first_packet)
    }

    /// Time from the first to the last packet (ns; 0 for one packet).
    #[inline]
    pub fn duration_ns(&self) -> i64 {
        self.last_ns.saturating_sub(self.first_ns)
    }

    /// Indices into the key's endpoints of the initiator (`src`) and the
    /// responder (`dst`).
    #[inline]
    pub fn endpoint_indices(&self) -> (usize, usize) {
        let i = usize::from(self.initiator & 1);
        (i, 1 - i)
    }
}
