//! One capture file as byte ranges, read on several threads at once: where
//! records start in the middle of a file, and a reader for each range.
//!
//! A boundary is looked for from each split point on: the first position from
//! which a chain of [`CHAIN`] plausible records (pcap) or blocks (pcapng)
//! follow each other. That is a guess, which the ranges' reader makes
//! certain: the range before a boundary is read from a known boundary, record
//! by record, and must stop exactly on it (and, in pcapng, in the section and
//! interfaces the range after it assumed). A range that does not follow is
//! read again from where the one before it really ended, on the caller's
//! thread (see [`RangePlan::reopen_after`]).

use super::pcapng::{MIN_BLOCK_LEN, PcapngState, trailer_matches};
use super::{CaptureError, CaptureReader, Format, ReadBuffer, ReadCounter, ReaderCounters};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

/// Records (pcap) or blocks (pcapng) that must follow each other, each
/// plausible, from a position taken as a boundary (fewer only when the chain
/// ends exactly at the end of the file).
const CHAIN: usize = 8;
/// A boundary is looked for this far past its split point; beyond, the range
/// before reads on.
const SEARCH_BYTES: usize = 1 << 20;
/// Bytes read to look for one boundary: the search and room for a chain of
/// large records behind it.
const WINDOW_BYTES: usize = 4 << 20;
/// Bytes read first (grown 8 times while a chain runs past its end): a
/// boundary is usually found within one record, and a chain of typical
/// records (up to 1 500 bytes) fits. The plan is built before any range is
/// read, on one thread: with 1 MiB ranges, 64 KiB here made the search of a
/// 1 GB file take about 10 ms, 4 % of a `-j 2` run.
const FIRST_WINDOW_BYTES: usize = 16 << 10;
/// Two records of one chain are at most this many seconds apart.
const CHAIN_MAX_GAP_S: u32 = 86_400;
/// A record of a chain is at most this many seconds (ten years) from the
/// file's first packet: a run of zero bytes is a chain of empty records
/// stamped 1970.
const CHAIN_MAX_SPAN_S: i64 = 10 * 365 * 86_400;
/// Bytes read at once past the end of a range (only to finish the record
/// that crosses it).
const OVERRUN_CHUNK: u64 = 64 << 10;

/// A capture file split into byte ranges that start on record boundaries.
pub struct RangePlan {
    /// The file, opened once: every range reads it at its own offsets
    /// (positional reads), rather than opening and seeking it per range.
    file: Arc<File>,
    /// The reader's state at the first packet of the file: the state every
    /// range after the first assumes (checked when the ranges are joined).
    head: Format,
    /// Start of each range: 0, then the boundaries found, ascending.
    starts: Vec<u64>,
    not_found: u64,
    file_len: u64,
}

/// Where and how the reading of one range ended.
pub(crate) struct RangeEnd {
    /// Offset of the first record not read.
    pub offset: u64,
    format: Format,
    /// Records of the range that were not packets.
    pub counters: ReaderCounters,
}

impl RangePlan {
    /// Plans the ranges of an uncompressed pcap or pcapng file, one about
    /// every `range_bytes`; `None` when the file is not one (compressed: read
    /// as one stream) or holds no packet.
    pub fn new(path: &Path, range_bytes: u64) -> Result<Option<RangePlan>, CaptureError> {
        // A named pipe or a device is one stream: it is not even opened here
        // (an open waits for a writer that may be gone, and a byte read here
        // would be missing from the stream).
        if !std::fs::metadata(path).map_err(CaptureError::Io)?.is_file() {
            return Ok(None);
        }
        let mut file = File::open(path).map_err(CaptureError::Io)?;
        let len = file.metadata().map_err(CaptureError::Io)?.len();
        let mut magic = [0u8; 4];
        if file.read_exact(&mut magic).is_err() || !super::source::is_capture_magic(magic) {
            return Ok(None);
        }
        let mut reader = CaptureReader::new(Box::new(File::open(path).map_err(CaptureError::Io)?))?;
        let first_second = match reader.next_packet() {
            Ok(Some(packet)) => packet.ts_ns.div_euclid(1_000_000_000),
            _ => return Ok(None),
        };
        // The first packet's record is still in the buffer, not consumed.
        let first_record = reader.buf.offset();
        let head = match &reader.format {
            Format::Pcap(state) => Format::Pcap(state.clone()),
            Format::Pcapng(state) => Format::Pcapng(state.for_range()),
        };
        let mut starts = vec![0];
        let mut not_found = 0;
        // One window for every search: no allocation and no zeroing per split.
        let mut window = Vec::new();
        let range_bytes = range_bytes.max(1);
        let mut nominal = range_bytes;
        while nominal < len {
            let from = nominal
                .max(first_record)
                .max(starts.last().map_or(0, |s| s + 1));
            let found = find_boundary(&file, &mut window, &head, first_second, from, len);
            match found.map_err(CaptureError::Io)? {
                Some(at) if at < len => starts.push(at),
                _ => not_found += 1,
            }
            nominal += range_bytes;
        }
        Ok(Some(RangePlan {
            file: Arc::new(file),
            head,
            starts,
            not_found,
            file_len: len,
        }))
    }

    /// The start of each range: 0, then the record boundaries found.
    pub fn starts(&self) -> &[u64] {
        &self.starts
    }

    /// Split points where no boundary was found (the range before each reads on).
    pub fn not_found(&self) -> u64 {
        self.not_found
    }

    /// Number of ranges.
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// The length of range `i` (the last one: to the end of the file).
    pub(crate) fn range_len(&self, i: usize) -> u64 {
        let start = self.starts.get(i).copied().unwrap_or(0);
        self.end(i).min(self.file_len).saturating_sub(start)
    }

    /// The end of range `i` (the start of the next, or the end of the file).
    pub(crate) fn end(&self, i: usize) -> u64 {
        self.starts.get(i + 1).copied().unwrap_or(u64::MAX)
    }

    /// A reader of range `i`: the first from the start of the file, the others
    /// from their boundary with the state at the file's first packet.
    pub(crate) fn open(
        &self,
        i: usize,
        counter: &ReadCounter,
    ) -> Result<CaptureReader, CaptureError> {
        let end = self.end(i);
        if i == 0 {
            let file = RangeFile::new(&self.file, 0, end, counter.clone());
            let mut reader = CaptureReader::new(Box::new(file))?;
            reader.limit = end;
            return Ok(reader);
        }
        self.reader_at(self.starts[i], end, self.head.clone(), counter)
    }

    /// Whether range `next`, read from its boundary with the assumed state
    /// and ended in `next_end`, reads what the sequential reader would have,
    /// given that the range before it ended in `prev`.
    pub(crate) fn follows(&self, prev: &RangeEnd, next: usize, next_end: &RangeEnd) -> bool {
        if prev.offset != self.starts[next] {
            return false;
        }
        match (&self.head, &prev.format, &next_end.format) {
            (Format::Pcap(_), Format::Pcap(_), Format::Pcap(_)) => true,
            (Format::Pcapng(assumed), Format::Pcapng(actual), Format::Pcapng(ended)) => {
                ended.continues(assumed, actual)
            }
            _ => false,
        }
    }

    /// A reader that continues exactly where `prev` ended, up to the end of
    /// range `i` (a range that did not follow, read again).
    pub(crate) fn reopen_after(
        &self,
        prev: &RangeEnd,
        i: usize,
        counter: &ReadCounter,
    ) -> Result<CaptureReader, CaptureError> {
        let format = match &prev.format {
            Format::Pcap(state) => Format::Pcap(state.clone()),
            Format::Pcapng(state) => Format::Pcapng(state.continued()),
        };
        self.reader_at(prev.offset, self.end(i), format, counter)
    }

    fn reader_at(
        &self,
        start: u64,
        end: u64,
        format: Format,
        counter: &ReadCounter,
    ) -> Result<CaptureReader, CaptureError> {
        let file = RangeFile::new(&self.file, start, end, counter.clone());
        Ok(CaptureReader {
            buf: ReadBuffer::at(Box::new(file), start),
            format,
            pending_consume: 0,
            counters: ReaderCounters::default(),
            limit: end,
        })
    }
}

impl CaptureReader {
    /// Where and in which state this reader stopped.
    pub(crate) fn range_end(&self) -> RangeEnd {
        RangeEnd {
            offset: self.offset(),
            format: self.format.clone(),
            counters: self.counters,
        }
    }
}

/// The record boundaries found in a file split about every `range_bytes`
/// (the starts of the ranges after the first), for tests and diagnostics.
pub fn record_boundaries(path: &Path, range_bytes: u64) -> Result<Vec<u64>, CaptureError> {
    Ok(RangePlan::new(path, range_bytes)?
        .map(|plan| plan.starts[1..].to_vec())
        .unwrap_or_default())
}

/// The first position at or after `from` (within [`SEARCH_BYTES`]) from which
/// a chain of plausible records follows.
fn find_boundary(
    file: &File,
    window: &mut Vec<u8>,
    head: &Format,
    first_second: i64,
    from: u64,
    len: u64,
) -> io::Result<Option<u64>> {
    read_window(file, from, FIRST_WINDOW_BYTES, len, window)?;
    let mut p = 0;
    loop {
        let at_eof = from + window.len() as u64 >= len;
        // The window cannot grow: the end of the file, or the largest window.
        let whole = at_eof || window.len() >= WINDOW_BYTES;
        let grow = if p >= window.len().min(SEARCH_BYTES) {
            if whole || p >= SEARCH_BYTES {
                return Ok(None);
            }
            true
        } else {
            match chain_follows(head, first_second, window, p, at_eof) {
                Chain::Follows => return Ok(Some(from + p as u64)),
                Chain::Broken => {
                    p += 1;
                    false
                }
                Chain::RunsPast(n) if whole => {
                    if n >= 2 {
                        return Ok(Some(from + p as u64));
                    }
                    p += 1;
                    false
                }
                Chain::RunsPast(_) => true,
            }
        };
        if grow {
            read_window(file, from, window.len() * 8, len, window)?;
        }
    }
}

/// Reads up to `size` bytes (at most [`WINDOW_BYTES`]) of the file from
/// `from` into `window`, which is reused: it is zeroed only where it grows.
fn read_window(
    file: &File,
    from: u64,
    size: usize,
    len: u64,
    window: &mut Vec<u8>,
) -> io::Result<()> {
    let want = usize::try_from(len.saturating_sub(from))
        .unwrap_or(usize::MAX)
        .min(size.min(WINDOW_BYTES));
    window.resize(want, 0);
    let mut filled = 0;
    while filled < want {
        match read_at(file, &mut window[filled..], from + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    window.truncate(filled);
    Ok(())
}

/// Whether a chain of plausible records starts at a position.
enum Chain {
    /// [`CHAIN`] of them, or fewer that end exactly at the end of the file.
    Follows,
    Broken,
    /// The window ends after this many plausible records.
    RunsPast(usize),
}

/// Whether a chain of plausible records starts at `window[p]`.
fn chain_follows(head: &Format, first_second: i64, window: &[u8], p: usize, at_eof: bool) -> Chain {
    let mut at = p;
    let mut previous_second = None;
    for n in 0..CHAIN {
        if at == window.len() && at_eof {
            return if n > 0 { Chain::Follows } else { Chain::Broken };
        }
        let rest = &window[at.min(window.len())..];
        let record = match head {
            Format::Pcap(state) => match rest.get(..state.record_header_len()) {
                Some(header) => state.plausible_record(header).and_then(|(len, second)| {
                    let close = previous_second
                        .is_none_or(|s: u32| s.abs_diff(second) <= CHAIN_MAX_GAP_S)
                        && (i64::from(second) - first_second).abs() <= CHAIN_MAX_SPAN_S;
                    previous_second = Some(second);
                    close.then_some(len)
                }),
                None if at_eof => None,
                None => return Chain::RunsPast(n),
            },
            Format::Pcapng(state) => match pcapng_block(state, rest) {
                Block::Whole(len) => Some(len),
                Block::Cut if !at_eof => return Chain::RunsPast(n),
                Block::Cut | Block::Invalid => None,
            },
        };
        match record {
            Some(len) => at += len,
            None => return Chain::Broken,
        }
    }
    Chain::Follows
}

enum Block {
    Whole(usize),
    /// The window ends inside it.
    Cut,
    Invalid,
}

fn pcapng_block(state: &PcapngState, rest: &[u8]) -> Block {
    if rest.len() < MIN_BLOCK_LEN as usize {
        return Block::Cut;
    }
    match state.plausible_block_head(rest) {
        None => Block::Invalid,
        Some((len, _)) if len > rest.len() => Block::Cut,
        Some((len, big_endian)) if trailer_matches(rest, len, big_endian) => Block::Whole(len),
        Some(_) => Block::Invalid,
    }
}

/// One byte range of a file, as a stream: reads stop at the range's end,
/// then go on in small chunks, only to finish the record that crosses it.
struct RangeFile {
    file: Arc<File>,
    /// Where the next read starts.
    at: u64,
    to_end: u64,
    counter: ReadCounter,
}

impl RangeFile {
    fn new(file: &Arc<File>, start: u64, end: u64, counter: ReadCounter) -> Self {
        RangeFile {
            file: Arc::clone(file),
            at: start,
            to_end: end.saturating_sub(start),
            counter,
        }
    }
}

impl Read for RangeFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let cap = if self.to_end > 0 {
            self.to_end
        } else {
            OVERRUN_CHUNK
        };
        let take = buf.len().min(usize::try_from(cap).unwrap_or(usize::MAX));
        let n = read_at(&self.file, &mut buf[..take], self.at)?;
        self.at += n as u64;
        self.to_end = self.to_end.saturating_sub(n as u64);
        self.counter.add(n as u64);
        Ok(n)
    }
}

/// A positional read: several threads read one open file at once, and no
/// range needs an open and a seek of its own (758 ranges of a 1 GB file).
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        // Moves the file's cursor, which nothing here uses.
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}
