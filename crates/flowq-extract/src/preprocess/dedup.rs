//! `--dedup`: packets whose captured bytes equal those of a packet within the
//! window are dropped, as `editcap -D` (a number of packets) and `editcap -w`
//! (a time) do. Like editcap, two packets are equal when their captured
//! lengths and the MD5 digests of their captured bytes are; the timestamp,
//! the length on the wire and the pcapng interface are not compared. Every
//! packet enters the window, a dropped one too (editcap's ring holds every
//! packet it reads).

use crate::capture::RawPacket;
use md5::{Digest as _, Md5};
use std::collections::VecDeque;

/// editcap's table size: the current packet and up to 999,999 before it. A
/// time window looks no further back than this either.
pub const MAX_DEPTH: usize = 1_000_000;

/// The largest packet window: `editcap -D 1000000` compares with the 999,999
/// packets before.
pub const MAX_DEDUP_PACKETS: u32 = (MAX_DEPTH - 1) as u32;

/// How far back duplicates are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupWindow {
    /// The packets read before this one (`editcap -D N+1`), 1 to
    /// [`MAX_DEDUP_PACKETS`].
    Packets(u32),
    /// Packets stamped at most this many nanoseconds before this one, and not
    /// later than it (`editcap -w`), among the [`MAX_DEPTH`]` - 1` packets
    /// before.
    Nanos(i64),
}

/// Captured length and MD5 of the captured bytes.
type Key = (u32, [u8; 16]);

/// The packets in the window with one key.
struct Seen {
    /// How many of them.
    count: u32,
    /// The timestamp of the last one read.
    last_ts: i64,
}

/// The state of one input's duplicate removal.
pub(crate) struct Dedup {
    window: DedupWindow,
    /// The window's packets, in the order read.
    ring: VecDeque<(Key, i64)>,
    /// Keys in the window (present while their count is nonzero).
    seen: hashbrown::HashMap<Key, Seen, foldhash::fast::RandomState>,
    /// The latest timestamp read.
    latest: i64,
}

impl Dedup {
    pub(crate) fn new(window: DedupWindow) -> Dedup {
        // Grown to the window's size, then reused.
        let start = match window {
            DedupWindow::Packets(n) => n as usize + 1,
            DedupWindow::Nanos(_) => MAX_DEPTH,
        }
        .min(4096);
        Dedup {
            window,
            ring: VecDeque::with_capacity(start),
            seen: hashbrown::HashMap::with_capacity_and_hasher(start, Default::default()),
            latest: i64::MIN,
        }
    }

    /// Whether `raw` repeats a packet in the window; it enters the window either way.
    pub(crate) fn is_duplicate(&mut self, raw: &RawPacket<'_>) -> bool {
        let key: Key = (raw.data.len() as u32, Md5::digest(raw.data).into());
        let ts = raw.ts_ns;
        let (depth, duplicate) = match self.window {
            DedupWindow::Packets(n) => (n as usize, self.seen.contains_key(&key)),
            DedupWindow::Nanos(window) => {
                self.latest = self.latest.max(ts);
                let oldest = self.latest.saturating_sub(window);
                while self.ring.front().is_some_and(|&(_, t)| t < oldest) {
                    self.evict();
                }
                // editcap walks back from the latest packet: with packets in
                // timestamp order, the latest copy is the nearest in time.
                let near = self
                    .seen
                    .get(&key)
                    .is_some_and(|s| s.last_ts <= ts && ts - s.last_ts <= window);
                (MAX_DEPTH - 1, near)
            }
        };
        let seen = self.seen.entry(key).or_insert(Seen {
            count: 0,
            last_ts: ts,
        });
        seen.count += 1;
        seen.last_ts = ts;
        self.ring.push_back((key, ts));
        while self.ring.len() > depth {
            self.evict();
        }
        duplicate
    }

    /// Packets in the window (for tests of its bound).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        debug_assert_eq!(
            self.seen.values().map(|s| s.count as usize).sum::<usize>(),
            self.ring.len()
        );
        self.ring.len()
    }

    fn evict(&mut self) {
        let Some((key, _)) = self.ring.pop_front() else {
            return;
        };
        if let Some(seen) = self.seen.get_mut(&key) {
            seen.count -= 1;
            if seen.count == 0 {
                self.seen.remove(&key);
            }
        }
    }
}
