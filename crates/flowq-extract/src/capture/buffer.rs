use std::io::{self, Read};

/// Size of one read from the underlying stream.
const READ_CHUNK: usize = 1 << 20;

/// A growable read buffer that hands out borrowed views of the bytes it holds.
///
/// Records are parsed in place (zero copy); the buffer only moves bytes when the
/// unread tail must be shifted to the front to make room for the next read.
pub(crate) struct ReadBuffer {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    eof: bool,
    /// Never move bytes: the buffer grows instead, so that a byte range's
    /// packets can be handed on by their place in it ([`ReadBuffer::keep`]).
    keep: bool,
}

impl ReadBuffer {
    pub(crate) fn new(reader: Box<dyn Read + Send>) -> Self {
        Self::at(reader, 0)
    }

    /// A buffer over a stream whose first byte is at `offset` of the capture
    /// (a byte range of a file read on its own thread).
    pub(crate) fn at(reader: Box<dyn Read + Send>, offset: u64) -> Self {
        ReadBuffer {
            reader,
            // Sized at the first read: a byte range's reader gets a buffer
            // used before ([`ReadBuffer::reuse`]) instead, and zeroing a
            // fresh one per range cost 4 % of a run's CPU time (1M capture,
            // `--no-app`, `perf`).
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset,
            eof: false,
            keep: false,
        }
    }

    /// Reads into `storage` from now on, a buffer used before (the unread
    /// bytes move to its front). With `keep`, every byte read also stays at
    /// its place (the buffer grows by the bytes read instead of moving them:
    /// for a byte range, bounded by the range and the one record that
    /// crosses its end), and `expected` bytes (a range's length) get room at
    /// once.
    pub(crate) fn reuse(&mut self, mut storage: Vec<u8>, keep: bool, expected: usize) {
        let unread = self.end - self.start;
        let expected = if keep { expected } else { 0 };
        // A range's bytes and the record that crosses its end (read a chunk
        // at a time): without the chunk, the buffer doubled once per range.
        let room = (unread + expected + READ_CHUNK).next_multiple_of(READ_CHUNK);
        if storage.capacity() == 0 {
            // Fresh zeroed pages from the allocator, not zeroed again.
            storage = vec![0; room];
        } else if storage.len() < room {
            // Zeroed once; a buffer used again is not.
            storage.resize(room, 0);
        }
        storage[..unread].copy_from_slice(&self.buf[self.start..self.end]);
        self.buf = storage;
        self.start = 0;
        self.end = unread;
        self.keep = keep;
    }

    /// The address of the buffer's first byte: when kept ([`ReadBuffer::reuse`]),
    /// a byte handed out lives at the same distance from it until the end.
    pub(crate) fn base_addr(&self) -> usize {
        self.buf.as_ptr() as usize
    }

    /// The buffer itself, with the bytes read at their places.
    pub(crate) fn into_storage(self) -> Vec<u8> {
        self.buf
    }

    /// The unread bytes currently buffered.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Stream offset of the first unread byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Marks `n` bytes as read.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }

    /// Makes at least `n` unread bytes available if the stream has them; returns
    /// how many are available (fewer than `n` only at the end of the stream).
    /// `n` must already be bounded by the caller (records are checked against
    /// [`super::MAX_BLOCK_LEN`] first), so the buffer never grows without limit.
    #[inline]
    pub(crate) fn fill_to(&mut self, n: usize) -> io::Result<usize> {
        if self.end - self.start >= n {
            return Ok(self.end - self.start);
        }
        self.fill_slow(n)
    }

    #[cold]
    fn fill_slow(&mut self, n: usize) -> io::Result<usize> {
        if self.keep {
            if self.buf.len() < self.start + n {
                // Doubling: the bytes are copied a bounded number of times.
                let room = (self.start + n).max(2 * self.buf.len());
                self.buf.resize(room.next_multiple_of(READ_CHUNK), 0);
            }
        } else {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() < n {
                self.buf.resize(n.next_multiple_of(READ_CHUNK), 0);
            }
        }
        while self.end - self.start < n && !self.eof {
            // One chunk at a time: the bytes are parsed while still in cache.
            let room = self.buf.len().min(self.end + READ_CHUNK.max(n));
            match self.reader.read(&mut self.buf[self.end..room]) {
                Ok(0) => self.eof = true,
                Ok(read) => self.end += read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }
}
