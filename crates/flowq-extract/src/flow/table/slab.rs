//! The slot storage of the flow table.

/// Slots live in fixed-size chunks that are never reallocated: growing the table
/// never copies it, and unused capacity is at most one chunk (a growing `Vec`
/// would hold up to twice the flows' memory, three times while it moves).
pub(super) struct Slab<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

const CHUNK: usize = 4096;

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    pub(super) fn push(&mut self, value: T) {
        if self.len == self.chunks.len() * CHUNK {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        // The last chunk has room: len < chunks.len() * CHUNK.
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(value);
        }
        self.len += 1;
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }
}

impl<T> std::ops::Index<usize> for Slab<T> {
    type Output = T;
    #[inline]
    fn index(&self, i: usize) -> &T {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl<T> std::ops::IndexMut<usize> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slab_indexes_across_chunks() {
        let mut slab = Slab::default();
        for i in 0..(2 * CHUNK + 3) {
            slab.push(i);
        }
        assert_eq!(slab.len(), 2 * CHUNK + 3);
        assert_eq!(slab[CHUNK - 1], CHUNK - 1);
        assert_eq!(slab[CHUNK], CHUNK);
        assert_eq!(slab[2 * CHUNK + 2], 2 * CHUNK + 2);
        slab[5] = 50;
        assert_eq!(slab[5], 50);
    }
}
