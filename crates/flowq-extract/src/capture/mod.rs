//! Capture files: classic pcap and pcapng, optionally gzip- or zstd-compressed,
//! read as a stream of [`RawPacket`]s borrowed from one read buffer.
//!
//! This module owns file formats and timestamps and knows nothing about
//! protocols. A [`CaptureReader`] is opened from an [`InputSource`]; the format is
//! recognised by its magic bytes, never by the file name.
//!
//! Problems with the file itself are [`CaptureError`]s. Errors met while opening
//! mean "this is not a capture we can read". Errors met later (a record cut off
//! at the end of the file, a record length no sane capture has) end that file:
//! everything read before the problem is kept and the caller reports a warning.

mod buffer;
mod error;
mod pcap;
mod pcapng;
mod rotated;
mod source;
mod split;

pub use crate::timestamp::TimestampStyle;
pub use error::CaptureError;
pub use source::{Discovered, InputSource, ReadCounter, discover_inputs, looks_like_capture};
pub(crate) use split::RangeEnd;
pub use split::{RangePlan, record_boundaries};

use buffer::ReadBuffer;
use std::io::Read;

/// Largest captured length accepted for one packet record, in bytes.
///
/// libpcap's own maximum snapshot length is 262 144 bytes; a record that claims more
/// than this (and more than the file's declared snap length) is corrupt, and accepting
/// it would let one bad length field ask for gigabytes of memory.
pub const MAX_RECORD_LEN: u32 = 262_144;

/// Largest pcapng block accepted, in bytes (a packet of [`MAX_RECORD_LEN`] plus
/// generous room for options and comments).
pub const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// One packet record as stored in the capture, before any protocol decoding.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// Capture timestamp, nanoseconds since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// Length of the packet on the wire, in bytes (pcap `orig_len`).
    pub wire_len: u32,
    /// The captured bytes (at most `wire_len`, often fewer when a snap length was set).
    pub data: &'a [u8],
    /// LINKTYPE_* value of the interface the packet was captured on.
    pub linktype: u32,
    /// Interface index within the capture (always 0 for classic pcap).
    pub interface: u32,
}

/// Which container format a capture uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureFormat {
    /// Classic libpcap format (either byte order, micro- or nanosecond timestamps).
    Pcap,
    /// pcapng.
    Pcapng,
}

/// Counters of records the reader saw but did not turn into packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReaderCounters {
    /// pcapng packet blocks naming an interface that was never described.
    pub unknown_interface: u64,
    /// pcapng blocks of a type that carries no packet (statistics, name resolution,
    /// custom, or unknown types); they are skipped.
    pub non_packet_blocks: u64,
    /// pcapng simple packet blocks (they carry no timestamp; see docs/capture.md).
    pub simple_packet_blocks: u64,
}

#[derive(Clone)]
enum Format {
    Pcap(pcap::PcapState),
    Pcapng(pcapng::PcapngState),
}

/// A streaming reader of one capture.
pub struct CaptureReader {
    buf: ReadBuffer,
    format: Format,
    /// Bytes of the last returned record, consumed on the next call.
    pending_consume: usize,
    counters: ReaderCounters,
    /// No record starting at or after this offset is read (a byte range of
    /// a file; `u64::MAX` for a whole capture).
    limit: u64,
}

impl CaptureReader {
    /// Opens a capture from any byte stream, decompressing gzip or zstd when the
    /// stream starts with their magic bytes.
    pub fn new(reader: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        let reader = source::decompress(reader)?;
        Self::from_buffer(ReadBuffer::new(reader))
    }

    fn from_buffer(mut buf: ReadBuffer) -> Result<Self, CaptureError> {
        let available = buf.fill_to(4).map_err(CaptureError::Io)?;
        if available < 4 {
            return Err(if available == 0 {
                CaptureError::Empty
            } else {
                CaptureError::NotACapture
            });
        }
        let magic = [buf.data()[0], buf.data()[1], buf.data()[2], buf.data()[3]];
        let format = if magic == pcapng::SHB_TYPE_BYTES {
            Format::Pcapng(pcapng::PcapngState::open(&mut buf)?)
        } else if pcap::is_pcap_magic(magic) {
            Format::Pcap(pcap::PcapState::open(&mut buf)?)
        } else {
            return Err(CaptureError::NotACapture);
        };
        Ok(CaptureReader {
            buf,
            format,
            pending_consume: 0,
            counters: ReaderCounters::default(),
            limit: u64::MAX,
        })
    }

    /// Reads into `storage`, a buffer used before, and with `keep`, keeps
    /// every byte read at its place (see [`ReadBuffer::reuse`]): a byte
    /// range's packets are then handed on by their place in
    /// [`CaptureReader::into_storage`].
    pub(crate) fn reuse_buffer(&mut self, storage: Vec<u8>, keep: bool, expected: usize) {
        self.buf.reuse(storage, keep, expected);
    }

    /// The address of the read buffer's first byte (with
    /// [`CaptureReader::reuse_buffer`] keeping them, packets' bytes stay at the same distance
    /// from it).
    pub(crate) fn buffer_addr(&self) -> usize {
        self.buf.base_addr()
    }

    /// The read buffer, with every byte read at its place when kept.
    pub(crate) fn into_storage(self) -> Vec<u8> {
        self.buf.into_storage()
    }

    /// The container format of this capture.
    pub fn format(&self) -> CaptureFormat {
        match self.format {
            Format::Pcap(_) => CaptureFormat::Pcap,
            Format::Pcapng(_) => CaptureFormat::Pcapng,
        }
    }

    /// How this capture stores timestamps.
    pub fn timestamp_style(&self) -> TimestampStyle {
        match &self.format {
            Format::Pcap(state) => state.timestamp_style(),
            Format::Pcapng(_) => TimestampStyle::Normalized,
        }
    }

    /// Counters of records that were read but are not packets.
    pub fn counters(&self) -> ReaderCounters {
        self.counters
    }

    /// Byte offset (in the decompressed stream) of the next record.
    pub fn offset(&self) -> u64 {
        self.buf.offset() + self.pending_consume as u64
    }

    /// Returns the next packet, `Ok(None)` at the clean end of the capture, or an
    /// error that ends this capture (everything returned before stays valid).
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        self.buf.consume(std::mem::take(&mut self.pending_consume));
        match &mut self.format {
            Format::Pcap(state) => {
                if self.buf.offset() >= self.limit {
                    return Ok(None);
                }
                let Some((len, packet)) = state.next(&mut self.buf)? else {
                    return Ok(None);
                };
                self.pending_consume = len;
                Ok(Some(packet))
            }
            Format::Pcapng(state) => {
                let Some((len, packet)) =
                    state.next(&mut self.buf, &mut self.counters, self.limit)?
                else {
                    return Ok(None);
                };
                self.pending_consume = len;
                Ok(Some(packet))
            }
        }
    }
}

/// Converts a count of `units_per_second` ticks to nanoseconds, saturating at the
/// limits of `i64` (about the years 1677 and 2262).
pub(crate) fn ticks_to_ns(ticks: i128, units_per_second: u64) -> i64 {
    let units = units_per_second.max(1) as i128;
    let ns = if units == 1_000_000_000 {
        ticks
    } else {
        // Split to keep the multiplication inside i128 for any 64-bit tick count.
        let secs = ticks.div_euclid(units);
        let frac = ticks.rem_euclid(units);
        secs.saturating_mul(1_000_000_000)
            .saturating_add(frac * 1_000_000_000 / units)
    };
    ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_to_ns_handles_common_resolutions() {
        assert_eq!(ticks_to_ns(1_500_000, 1_000_000), 1_500_000_000);
        assert_eq!(ticks_to_ns(3, 1_000), 3_000_000);
        assert_eq!(ticks_to_ns(7, 1_000_000_000), 7);
        // 2^-10 s resolution: 1024 ticks = 1 s
        assert_eq!(ticks_to_ns(1536, 1024), 1_500_000_000);
        // picoseconds truncate toward the earlier nanosecond
        assert_eq!(ticks_to_ns(1_999, 1_000_000_000_000), 1);
        assert_eq!(ticks_to_ns(i128::MAX / 2, 1), i64::MAX);
    }
}
