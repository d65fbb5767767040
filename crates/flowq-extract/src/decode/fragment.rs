//! IP fragments: later fragments carry no transport header, so the ports of the
//! first fragment are remembered per datagram (source, destination, protocol,
//! identification) and lent to the fragments that follow.
//!
//! The tracker is bounded by count whatever the clock says: at most
//! [`FRAGMENT_CAPACITY`] datagrams, and an arrival queue of at most twice that
//! many records (a first fragment seen again replaces its datagram's record;
//! the stale one is dropped when the queue is compacted).

use super::{AddrBytes, PacketView};
use std::collections::VecDeque;

/// How long a datagram's first fragment is remembered (Linux `ipfrag_time`).
pub const FRAGMENT_TIMEOUT_NS: i64 = 30_000_000_000;
/// Most datagrams remembered at once; the oldest is forgotten first.
pub const FRAGMENT_CAPACITY: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct DatagramKey {
    src: AddrBytes,
    dst: AddrBytes,
    id: u32,
    protocol: u8,
    ip_version: u8,
}

impl DatagramKey {
    /// The datagram a fragment belongs to (`None` for a packet that is not one).
    #[inline]
    pub(super) fn of(view: &PacketView<'_>) -> Option<DatagramKey> {
        let frag = view.fragment?;
        Some(DatagramKey {
            src: view.src_addr,
            dst: view.dst_addr,
            id: frag.id,
            protocol: view.protocol,
            ip_version: view.ip_version,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Remembered<V> {
    value: V,
    /// The arrival record that is this datagram's current one.
    arrival: u64,
}

/// One first fragment's arrival: the queue is in arrival order, so expiry and
/// capacity eviction both take from its front.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    key: DatagramKey,
    seen_at: i64,
    /// Sequence number: the record is current only if its datagram's entry
    /// still points at it (equal timestamps cannot tell records apart).
    seq: u64,
}

/// What is remembered of datagrams' first fragments, for their later ones:
/// at most [`FRAGMENT_CAPACITY`] datagrams, each for
/// [`FRAGMENT_TIMEOUT_NS`] of the extraction clock.
#[derive(Debug)]
pub(super) struct Datagrams<V> {
    /// Seeded at random: the keys are chosen by whoever sends the packets.
    map: hashbrown::HashMap<DatagramKey, Remembered<V>, foldhash::fast::RandomState>,
    arrivals: VecDeque<Arrival>,
    next_seq: u64,
}

impl<V> Default for Datagrams<V> {
    fn default() -> Self {
        Datagrams {
            map: hashbrown::HashMap::with_hasher(foldhash::fast::RandomState::default()),
            arrivals: VecDeque::new(),
            next_seq: 0,
        }
    }
}

impl<V> Datagrams<V> {
    /// What a datagram's first fragment left, unless it expired.
    pub(super) fn get(&mut self, key: &DatagramKey, clock: i64) -> Option<&V> {
        self.expire(clock);
        self.map.get(key).map(|r| &r.value)
    }

    /// Datagrams remembered now.
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Remembers a datagram's first fragment (replacing what an earlier
    /// first fragment of the same datagram left).
    pub(super) fn remember(&mut self, key: DatagramKey, value: V, clock: i64) {
        self.expire(clock);
        let seq = self.next_seq;
        self.next_seq += 1;
        if !self.map.contains_key(&key) && self.map.len() >= FRAGMENT_CAPACITY {
            // Full: forget the datagram that arrived first (skipping stale
            // records, which belong to datagrams seen again since).
            while let Some(oldest) = self.arrivals.pop_front() {
                if self.forget_if_current(oldest) {
                    break;
                }
            }
        }
        self.map.insert(
            key,
            Remembered {
                value,
                arrival: seq,
            },
        );
        self.arrivals.push_back(Arrival {
            key,
            seen_at: clock,
            seq,
        });
        // Re-sent first fragments leave stale records behind; at most half
        // the queue may be stale, so dropping them costs O(1) per record.
        if self.arrivals.len() > 2 * self.map.len().max(FRAGMENT_CAPACITY / 2) {
            let map = &self.map;
            self.arrivals
                .retain(|a| map.get(&a.key).is_some_and(|r| r.arrival == a.seq));
        }
    }

    /// Forgets a datagram (its first fragment is no longer one to remember).
    pub(super) fn forget(&mut self, key: &DatagramKey) {
        // Its arrival record becomes stale, dropped by expiry or compaction.
        self.map.remove(key);
    }

    fn expire(&mut self, clock: i64) {
        while let Some(&oldest) = self.arrivals.front() {
            if clock.saturating_sub(oldest.seen_at) <= FRAGMENT_TIMEOUT_NS {
                break;
            }
            self.arrivals.pop_front();
            self.forget_if_current(oldest);
        }
    }

    /// Forgets the datagram of `arrival` if that record is its current one
    /// (it was not seen again since); returns whether it was.
    fn forget_if_current(&mut self, arrival: Arrival) -> bool {
        let current = self
            .map
            .get(&arrival.key)
            .is_some_and(|r| r.arrival == arrival.seq);
        if current {
            self.map.remove(&arrival.key);
        }
        current
    }
}

/// Remembers first fragments so that later ones join the same flow.
#[derive(Debug, Default)]
pub struct FragmentTracker {
    /// The first fragment's ports (source, destination), by datagram.
    datagrams: Datagrams<[u16; 2]>,
    /// Later fragments whose first fragment was never seen (or was forgotten).
    orphans: u64,
}

impl FragmentTracker {
    /// Records a first fragment's ports, or gives a later fragment the ports of its
    /// datagram's first fragment. `clock` is the extraction clock (ns).
    #[inline]
    pub fn observe(&mut self, view: &mut PacketView<'_>, clock: i64) {
        // Nearly every packet is not a fragment: that check alone is inlined.
        if view.fragment.is_some() {
            self.observe_fragment(view, clock);
        }
    }

    #[inline(never)]
    fn observe_fragment(&mut self, view: &mut PacketView<'_>, clock: i64) {
        let (Some(frag), Some(key)) = (view.fragment, DatagramKey::of(view)) else {
            return;
        };
        if frag.byte_offset == 0 {
            self.datagrams
                .remember(key, [view.src_port, view.dst_port], clock);
        } else if let Some(&[src, dst]) = self.datagrams.get(&key, clock) {
            view.src_port = src;
            view.dst_port = dst;
        } else {
            self.orphans += 1;
        }
    }

    /// Later fragments that found no first fragment and kept ports 0.
    pub fn orphans(&self) -> u64 {
        self.orphans
    }

    /// Datagrams remembered now.
    pub fn datagrams(&self) -> usize {
        self.datagrams.len()
    }

    /// Arrival records held now (current and stale).
    pub fn arrival_records(&self) -> usize {
        self.datagrams.arrivals.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{FragmentInfo, PacketView, TransportState, Tunnel};

    fn first_fragment(id: u32, src: u8) -> PacketView<'static> {
        let mut src_addr = [0; 16];
        src_addr[0] = src;
        PacketView {
            ts_ns: 0,
            wire_len: 1500,
            cap_len: 1500,
            ip_version: 4,
            src_addr,
            dst_addr: [9; 16],
            protocol: 17,
            src_port: 1000 + u16::from(src),
            dst_port: 53,
            vlan_id: 0,
            tcp: None,
            ip_header_len: 20,
            l4_header_len: 8,
            l4_payload_len: 1472,
            ttl: 64,
            dscp: 0,
            fragment: Some(FragmentInfo {
                id,
                byte_offset: 0,
                more: true,
            }),
            transport_state: TransportState::Complete,
            transport: &[],
            trailer_len: 0,
            mpls: false,
            mac: [[0; 6]; 2],
            icmp: None,
            tunnel: Tunnel::None,
        }
    }

    fn later_fragment(id: u32, src: u8) -> PacketView<'static> {
        let mut view = first_fragment(id, src);
        view.src_port = 0;
        view.dst_port = 0;
        view.fragment = Some(FragmentInfo {
            id,
            byte_offset: 1480,
            more: false,
        });
        view
    }

    /// The same first fragment again and again at one timestamp: one datagram
    /// and a bounded queue, however many copies.
    #[test]
    fn repeated_first_fragments_at_one_time_stay_bounded() {
        let mut tracker = FragmentTracker::default();
        for _ in 0..(5 * FRAGMENT_CAPACITY) {
            tracker.observe(&mut first_fragment(7, 1), 0);
        }
        assert_eq!(tracker.datagrams(), 1);
        assert!(tracker.arrival_records() <= FRAGMENT_CAPACITY + 1);
        let mut later = later_fragment(7, 1);
        tracker.observe(&mut later, 0);
        assert_eq!((later.src_port, later.dst_port), (1001, 53));
        assert_eq!(tracker.orphans(), 0);
    }

    /// Capacity eviction forgets the oldest datagram, never one whose first
    /// fragment was seen again since (its old record is stale).
    #[test]
    fn capacity_eviction_skips_datagrams_seen_again() {
        let mut tracker = FragmentTracker::default();
        for id in 0..FRAGMENT_CAPACITY as u32 {
            tracker.observe(&mut first_fragment(id, 1), 0);
        }
        // Datagram 0 is seen again: it is now the newest.
        tracker.observe(&mut first_fragment(0, 1), 0);
        // One more datagram: the oldest current one (id 1) goes.
        tracker.observe(&mut first_fragment(1 << 20, 1), 0);
        assert_eq!(tracker.datagrams(), FRAGMENT_CAPACITY);
        let mut kept = later_fragment(0, 1);
        tracker.observe(&mut kept, 0);
        assert_eq!(kept.src_port, 1001, "the re-sent datagram is kept");
        let mut gone = later_fragment(1, 1);
        tracker.observe(&mut gone, 0);
        assert_eq!(gone.src_port, 0, "the oldest datagram was forgotten");
        assert_eq!(tracker.orphans(), 1);
    }

    /// Expiry of a stale record does not forget the datagram's newer one.
    #[test]
    fn expiry_keeps_a_datagram_seen_again() {
        let mut tracker = FragmentTracker::default();
        tracker.observe(&mut first_fragment(9, 2), 0);
        tracker.observe(&mut first_fragment(9, 2), FRAGMENT_TIMEOUT_NS);
        let mut later = later_fragment(9, 2);
        tracker.observe(&mut later, FRAGMENT_TIMEOUT_NS + 1);
        assert_eq!(later.src_port, 1002);
        let mut expired = later_fragment(9, 2);
        tracker.observe(&mut expired, 2 * FRAGMENT_TIMEOUT_NS + 1);
        assert_eq!(expired.src_port, 0);
    }
}
