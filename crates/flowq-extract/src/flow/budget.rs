//! The flow-state memory budget: one figure for the whole process, shared by
//! every flow table alive at once (the shards of `-j N`, the captures of a
//! dataset run read in parallel).
//!
//! Each table reserves room for a slot before it adds one and gives its
//! reservation back when it is dropped. The default `--max-flows` of one
//! capture is derived from the same figure, so a single capture, whatever
//! `-j`, never reaches the budget: it evicts by its flow limit first, which is
//! deterministic. Only tables of *several* captures open at once can exhaust
//! it; a table that finds the budget spent then evicts a flow instead of
//! growing, counts it (`memory_evicted_flows`), and the run warns that its
//! output then depends on what else was running.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The default budget: 4 GiB of flow state for the whole process.
pub const DEFAULT_FLOW_STATE_BUDGET: usize = 4 << 30;

/// Bytes of hash-index entry counted per flow on top of its slot (a 4-byte
/// entry and its control byte, at hashbrown's load factor, rounded up).
pub const INDEX_BYTES_PER_FLOW: usize = 16;

/// A pool of flow-state bytes that tables reserve from.
#[derive(Debug)]
pub struct FlowStatePool {
    limit: AtomicUsize,
    in_use: AtomicUsize,
}

/// The process-wide pool every [`FlowTable`](super::FlowTable) draws from.
pub static FLOW_STATE: FlowStatePool = FlowStatePool::new(DEFAULT_FLOW_STATE_BUDGET);

impl FlowStatePool {
    /// A pool of `limit` bytes, none in use.
    pub const fn new(limit: usize) -> Self {
        FlowStatePool {
            limit: AtomicUsize::new(limit),
            in_use: AtomicUsize::new(0),
        }
    }

    /// Sets the budget (bytes). Tables created afterwards derive their default
    /// flow limit from it; reservations already made stay valid.
    pub fn set_limit(&self, bytes: usize) {
        self.limit.store(bytes.max(1), Ordering::Relaxed);
    }

    /// The budget (bytes).
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// Bytes reserved by the tables alive now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Reserves `bytes` if they fit in the budget.
    pub(crate) fn try_reserve(&self, bytes: usize) -> bool {
        let limit = self.limit();
        self.in_use
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&total| total <= limit)
            })
            .is_ok()
    }

    /// Reserves `bytes` whether or not they fit (a table that evicted to make
    /// room still needs its one new slot until the victim's is free).
    pub(crate) fn force_reserve(&self, bytes: usize) {
        self.in_use.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Gives back `bytes` reserved earlier.
    pub(crate) fn release(&self, bytes: usize) {
        self.in_use.fetch_sub(bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_stop_at_the_limit_and_come_back() {
        let pool = FlowStatePool::new(100);
        assert!(pool.try_reserve(60));
        assert!(!pool.try_reserve(41), "over the limit");
        assert!(pool.try_reserve(40));
        assert_eq!(pool.in_use(), 100);
        pool.release(60);
        assert!(pool.try_reserve(50));
        pool.force_reserve(30);
        assert_eq!(pool.in_use(), 120);
        assert!(!pool.try_reserve(1));
    }
}
