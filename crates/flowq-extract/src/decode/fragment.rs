//! IP fragments: later fragments carry no transport header, so the ports of the
//! first fragment are remembered per datagram (source, destination, protocol,
//! identification) and lent to the fragments that follow.

use super::{AddrBytes, PacketView};
use std::collections::VecDeque;

/// How long a datagram's first fragment is remembered (Linux `ipfrag_time`).
pub const FRAGMENT_TIMEOUT_NS: i64 = 30_000_000_000;
/// Most datagrams remembered at once; the oldest is forgotten first.
pub const FRAGMENT_CAPACITY: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DatagramKey {
    src: AddrBytes,
    dst: AddrBytes,
    id: u32,
    protocol: u8,
    ip_version: u8,
}

#[derive(Debug, Clone, Copy)]
struct Ports {
    src: u16,
    dst: u16,
    seen_at: i64,
}

/// Remembers first fragments so that later ones join the same flow.
#[derive(Debug)]
pub struct FragmentTracker {
    datagrams: hashbrown::HashMap<DatagramKey, Ports, foldhash::fast::FixedState>,
    arrival: VecDeque<(DatagramKey, i64)>,
    /// Later fragments whose first fragment was never seen (or was forgotten).
    orphans: u64,
}

impl Default for FragmentTracker {
    fn default() -> Self {
        FragmentTracker {
            datagrams: hashbrown::HashMap::with_hasher(foldhash::fast::FixedState::default()),
            arrival: VecDeque::new(),
            orphans: 0,
        }
    }
}

impl FragmentTracker {
    /// Records a first fragment's ports, or gives a later fragment the ports of its
    /// datagram's first fragment. `clock` is the extraction clock (ns).
    pub fn observe(&mut self, view: &mut PacketView<'_>, clock: i64) {
        let Some(frag) = view.fragment else {
            return;
        };
        self.expire(clock);
        let key = DatagramKey {
            src: view.src_addr,
            dst: view.dst_addr,
            id: frag.id,
            protocol: view.protocol,
            ip_version: view.ip_version,
        };
        if frag.offset == 0 {
            if self.datagrams.len() >= FRAGMENT_CAPACITY
                && let Some((old, _)) = self.arrival.pop_front()
            {
                self.datagrams.remove(&old);
            }
            let ports = Ports {
                src: view.src_port,
                dst: view.dst_port,
                seen_at: clock,
            };
            self.datagrams.insert(key, ports);
            self.arrival.push_back((key, clock));
        } else if let Some(ports) = self.datagrams.get(&key) {
            view.src_port = ports.src;
            view.dst_port = ports.dst;
        } else {
            self.orphans += 1;
        }
    }

    /// Later fragments that found no first fragment and kept ports 0.
    pub fn orphans(&self) -> u64 {
        self.orphans
    }

    fn expire(&mut self, clock: i64) {
        while let Some(&(key, seen_at)) = self.arrival.front() {
            if clock.saturating_sub(seen_at) <= FRAGMENT_TIMEOUT_NS {
                break;
            }
            self.arrival.pop_front();
            // The same datagram key may have been re-inserted later; only forget
            // the entry this arrival record belongs to.
            if self
                .datagrams
                .get(&key)
                .is_some_and(|p| p.seen_at == seen_at)
            {
                self.datagrams.remove(&key);
            }
        }
    }
}
