//! `--reorder-window`: packets sorted by timestamp within a bounded window,
//! streaming. A packet is held until the latest timestamp read is at least the
//! window past its own; held packets go on in (timestamp, arrival) order. When
//! no packet comes more than the window after a packet read before it, the
//! output is the stable sort of the whole input by timestamp: `reordercap`'s
//! result (it sorts the whole file; equal timestamps keep capture order).
//!
//! A packet stamped earlier than one already passed on (it came later than the
//! window allows) is passed on as early as it still can be, right after the
//! packets already gone, and counted: dropping it would lose data that
//! `reordercap` keeps, and its flow still wants it.

use super::Meta;
use crate::capture::{CaptureError, CaptureReader, RawPacket};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Most captured bytes held at once; beyond it the earliest packet goes on
/// before its window has closed (counted as forced).
pub const MAX_HELD_BYTES: usize = 256 << 20;

/// Most packets held at once (the same, by count; with one more read, the
/// heap's capacity stays at 2^20 entries).
pub const MAX_HELD_PACKETS: usize = 1_000_000;

/// Buffers up to this capacity are kept for reuse (any standard or jumbo
/// frame); a larger one, or one beyond [`MAX_HELD_BYTES`] of kept buffers, is
/// freed when its packet has gone on.
const KEEP_BUFFER: usize = 66 * 1024;

/// The state of one input's reordering.
pub(crate) struct Reorder {
    window_ns: i64,
    /// Packet buffers, held or free for reuse.
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Held packets: (timestamp, arrival number, slot), earliest first.
    heap: BinaryHeap<Reverse<(i64, u64, u32)>>,
    arrivals: u64,
    /// The latest timestamp read.
    latest: i64,
    /// The latest timestamp passed on.
    released: i64,
    /// The slot of the packet last returned (its bytes are borrowed until the
    /// next call).
    current: Option<u32>,
    held_bytes: usize,
    /// Capacity of all slot buffers.
    buffer_bytes: usize,
    /// The reader has ended (at its end or with `error`).
    ended: bool,
    error: Option<CaptureError>,
    late: u64,
    forced: u64,
}

struct Slot {
    meta: Meta,
    data: Vec<u8>,
}

impl Reorder {
    pub(crate) fn new(window_ns: i64) -> Reorder {
        Reorder {
            window_ns: window_ns.max(0),
            slots: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            arrivals: 0,
            latest: i64::MIN,
            released: i64::MIN,
            current: None,
            held_bytes: 0,
            buffer_bytes: 0,
            ended: false,
            error: None,
            late: 0,
            forced: 0,
        }
    }

    /// Packets passed on with a timestamp earlier than one passed on before.
    pub(crate) fn late(&self) -> u64 {
        self.late
    }

    /// Packets passed on early because the buffer was full.
    pub(crate) fn forced(&self) -> u64 {
        self.forced
    }

    /// The next packet in timestamp order; the reader's error, if one ended
    /// it, after every packet read before it.
    pub(crate) fn next(
        &mut self,
        reader: &mut CaptureReader,
    ) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if let Some(slot) = self.current.take() {
            self.recycle(slot);
        }
        loop {
            if let Some(&Reverse((ts, _, slot))) = self.heap.peek() {
                let due = self.ended || ts <= self.latest.saturating_sub(self.window_ns);
                let full = self.heap.len() > MAX_HELD_PACKETS || self.held_bytes > MAX_HELD_BYTES;
                if due || full {
                    self.forced += u64::from(!due);
                    self.heap.pop();
                    return Ok(Some(self.release(slot)));
                }
            } else if self.ended {
                return match self.error.take() {
                    Some(e) => Err(e),
                    None => Ok(None),
                };
            }
            match reader.next_packet() {
                Ok(Some(raw)) => self.hold(&raw),
                Ok(None) => self.ended = true,
                Err(e) => {
                    self.ended = true;
                    self.error = Some(e);
                }
            }
        }
    }

    /// Packet buffers made (for tests of the bound and of their reuse).
    #[cfg(test)]
    pub(crate) fn slots(&self) -> usize {
        self.slots.len()
    }

    fn hold(&mut self, raw: &RawPacket<'_>) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot {
                    meta: Meta::of(raw),
                    data: Vec::new(),
                });
                // At most MAX_HELD_PACKETS + 1 slots exist.
                (self.slots.len() - 1) as u32
            }
        };
        let entry = &mut self.slots[slot as usize];
        let before = entry.data.capacity();
        entry.data.clear();
        entry.data.extend_from_slice(raw.data);
        entry.meta = Meta::of(raw);
        self.buffer_bytes += entry.data.capacity() - before;
        self.held_bytes += raw.data.len();
        self.heap.push(Reverse((raw.ts_ns, self.arrivals, slot)));
        self.arrivals += 1;
        self.latest = self.latest.max(raw.ts_ns);
    }

    fn release(&mut self, slot: u32) -> RawPacket<'_> {
        self.current = Some(slot);
        let entry = &self.slots[slot as usize];
        self.held_bytes -= entry.data.len();
        self.late += u64::from(entry.meta.ts_ns < self.released);
        self.released = self.released.max(entry.meta.ts_ns);
        entry.meta.with(&entry.data)
    }

    fn recycle(&mut self, slot: u32) {
        let entry = &mut self.slots[slot as usize];
        let capacity = entry.data.capacity();
        if capacity > KEEP_BUFFER || self.buffer_bytes > MAX_HELD_BYTES {
            entry.data = Vec::new();
            self.buffer_bytes -= capacity;
        }
        self.free.push(slot);
    }
}
