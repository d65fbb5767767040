//! The flow table's intrusive doubly linked lists: every slot is in its
//! eviction partition's list of its kind (open flows least recently active
//! first, which is expiry and eviction order; closed flows in close order).
//! Links are slot indices; [`NIL`] ends a list.

use super::{FlowFeatures, FlowTable};

// The list operations are methods of the table: they read and write the
// slots' links and the table's and partitions' list heads. (Methods are
// compiled with their self type, the table, as before this file existed.)

pub(super) const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListId {
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Links {
    pub(super) prev: u32,
    pub(super) next: u32,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct List {
    pub(super) head: u32,
    pub(super) tail: u32,
}

impl List {
    pub(super) const EMPTY: List = List {
        head: NIL,
        tail: NIL,
    };
}

impl<F: FlowFeatures> FlowTable<F> {
    /// The list of kind `list` of slot `i`'s partition.
    pub(super) fn list_mut(&mut self, i: u32, list: ListId) -> &mut List {
        let part = &mut self.parts[usize::from(self.slots[i as usize].partition)];
        match list {
            ListId::Open => &mut part.open,
            ListId::Closed => &mut part.closed,
        }
    }

    /// Appends slot `i` to its partition's list of kind `list`.
    pub(super) fn push_back(&mut self, list: ListId, i: u32) {
        let tail = self.list_mut(i, list).tail;
        {
            let slot = &mut self.slots[i as usize];
            slot.list = list;
            slot.links = Links {
                prev: tail,
                next: NIL,
            };
        }
        if tail == NIL {
            self.list_mut(i, list).head = i;
        } else {
            self.slots[tail as usize].links.next = i;
        }
        self.list_mut(i, list).tail = i;
    }

    pub(super) fn unlink(&mut self, i: u32) {
        let (list, Links { prev, next }) = {
            let s = &self.slots[i as usize];
            (s.list, s.links)
        };
        if prev == NIL {
            self.list_mut(i, list).head = next;
        } else {
            self.slots[prev as usize].links.next = next;
        }
        if next == NIL {
            self.list_mut(i, list).tail = prev;
        } else {
            self.slots[next as usize].links.prev = prev;
        }
        self.slots[i as usize].links = Links {
            prev: NIL,
            next: NIL,
        };
    }
}

impl List {
    pub(super) fn head_index(&self) -> Option<u32> {
        (self.head != NIL).then_some(self.head)
    }
}
