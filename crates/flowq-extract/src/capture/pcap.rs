//! Classic libpcap files: both byte orders, micro- and nanosecond magic, and the
//! "modified" (Kuznetzov) variant with its longer record header.

use super::buffer::ReadBuffer;
use super::{CaptureError, MAX_RECORD_LEN, RawPacket, ticks_to_ns};

/// The largest record a pcap snap length can allow (16 MiB): beyond any real
/// frame, TSO/GRO super-packets included, and small enough to buffer.
pub(crate) const MAX_SNAPLEN_RECORD_LEN: u32 = 16 << 20;
use pcap_parser::pcap::parse_pcap_header;

/// Bytes of the global header at the start of a pcap file.
pub(crate) const GLOBAL_HEADER_LEN: usize = 24;

/// What the first four bytes of a classic pcap file say about its framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PcapMagic {
    /// The file's fields are big-endian.
    pub big_endian: bool,
    /// Bytes of each record header: 16, or 24 in the modified (Kuznetzov) format.
    pub record_header_len: usize,
}

/// The pcap magic numbers (micro- and nanosecond, both byte orders, and the
/// modified format), read as a little-endian `u32`; `None` for anything else.
pub(crate) fn pcap_magic(magic: [u8; 4]) -> Option<PcapMagic> {
    let (big_endian, record_header_len) = match u32::from_le_bytes(magic) {
        0xa1b2_c3d4 | 0xa1b2_3c4d => (false, 16),
        0xd4c3_b2a1 | 0x4d3c_b2a1 => (true, 16),
        0xa1b2_cd34 => (false, 24),
        _ => return None,
    };
    Some(PcapMagic {
        big_endian,
        record_header_len,
    })
}

pub(crate) fn is_pcap_magic(magic: [u8; 4]) -> bool {
    pcap_magic(magic).is_some()
}

/// The captured length of a record, from its header (at least 12 bytes).
#[inline]
pub(crate) fn record_caplen(header: &[u8], big_endian: bool) -> u32 {
    let bytes = [header[8], header[9], header[10], header[11]];
    if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PcapState {
    big_endian: bool,
    record_header_len: usize,
    /// Timestamp fraction units per second: 10^6 or 10^9.
    fraction_units: u64,
    snaplen: u32,
    /// Largest captured length accepted for a record.
    limit: u32,
    linktype: u32,
}

impl PcapState {
    pub(crate) fn open(buf: &mut ReadBuffer) -> Result<Self, CaptureError> {
        let available = buf.fill_to(GLOBAL_HEADER_LEN).map_err(CaptureError::Io)?;
        if available < GLOBAL_HEADER_LEN {
            return Err(CaptureError::Truncated {
                offset: 0,
                available,
                needed: GLOBAL_HEADER_LEN,
            });
        }
        let header = match parse_pcap_header(buf.data()) {
            Ok((_, header)) => header,
            Err(_) => return Err(CaptureError::NotACapture),
        };
        if header.version_major != 2 {
            return Err(CaptureError::UnsupportedHeader(format!(
                "pcap version {}.{} (only 2.x exists)",
                header.version_major, header.version_minor
            )));
        }
        let record_header_len = if header.is_modified_format() { 24 } else { 16 };
        buf.consume(GLOBAL_HEADER_LEN);
        Ok(PcapState {
            big_endian: header.is_bigendian(),
            record_header_len,
            fraction_units: if header.is_nanosecond_precision() {
                1_000_000_000
            } else {
                1_000_000
            },
            snaplen: header.snaplen,
            // The header's snap length is only a field: it may be anything up to
            // 4 GiB, so it raises the bound at most to MAX_SNAPLEN_RECORD_LEN.
            limit: MAX_RECORD_LEN.max(header.snaplen.min(MAX_SNAPLEN_RECORD_LEN)),
            // The upper 6 bits hold the FCS length (LINKTYPE_FCS), not the link type.
            linktype: (header.network.0 as u32) & 0x03ff_ffff,
        })
    }

    pub(crate) fn timestamp_style(&self) -> super::TimestampStyle {
        super::TimestampStyle::FixedDigits(if self.fraction_units == 1_000_000_000 {
            9
        } else {
            6
        })
    }

    /// A record's timestamp in ns. Both fields are 32-bit, so for the two
    /// resolutions pcap has, `sec * 10^9 + frac * (10^9 / units)` stays far
    /// below `i64::MAX` and equals what [`ticks_to_ns`] computes in i128 (with
    /// a 128-bit division per packet).
    #[inline]
    fn ts_ns(&self, sec: u32, frac: u32) -> i64 {
        let (sec, frac) = (i64::from(sec), i64::from(frac));
        match self.fraction_units {
            1_000_000 => sec * 1_000_000_000 + frac * 1_000,
            1_000_000_000 => sec * 1_000_000_000 + frac,
            units => ticks_to_ns(
                i128::from(sec) * i128::from(units) + i128::from(frac),
                units,
            ),
        }
    }

    /// Bytes of a record header.
    pub(crate) fn record_header_len(&self) -> usize {
        self.record_header_len
    }

    /// If `header` (at least [`record_header_len`](Self::record_header_len)
    /// bytes) could be a record header of this file: the record's length and
    /// its timestamp's seconds. Stricter than the reader, which must accept
    /// what real files hold: here a fraction of a second in range, a captured
    /// length within the limit and at most the original length, and an
    /// original length of 1 byte to [`MAX_SNAPLEN_RECORD_LEN`] (a run of zero
    /// bytes is no chain of records). Used to find record boundaries in the
    /// middle of a file.
    pub(crate) fn plausible_record(&self, header: &[u8]) -> Option<(usize, u32)> {
        let header: &[u8; 16] = header.get(..16)?.try_into().ok()?;
        let (sec, frac) = (self.field(header, 0), self.field(header, 4));
        let (caplen, origlen) = (self.field(header, 8), self.field(header, 12));
        let plausible = u64::from(frac) < self.fraction_units
            && (1..=self.limit).contains(&caplen)
            && (caplen == origlen
                || (caplen < origlen && matches!(self.snaplen, 0 | MAX_SNAPLEN_RECORD_LEN..))
                || (caplen < origlen && caplen == self.snaplen))
            && (1..=MAX_SNAPLEN_RECORD_LEN).contains(&origlen);
        plausible.then_some((self.record_header_len + caplen as usize, sec))
    }

    /// Returns the next record and its length in the buffer.
    #[inline]
    pub(crate) fn next<'b>(
        &mut self,
        buf: &'b mut ReadBuffer,
    ) -> Result<Option<(usize, RawPacket<'b>)>, CaptureError> {
        // Nearly every record is already buffered whole: read it with one
        // length check, and leave refills and errors to the slow path.
        if let Some(needed) = self.buffered_record(buf.data()) {
            return Ok(Some((needed, self.record(&buf.data()[..needed]))));
        }
        self.next_slow(buf)
    }

    /// The length of the record at the start of `data`, if all of it is there
    /// and its captured length is within the limit.
    #[inline]
    fn buffered_record(&self, data: &[u8]) -> Option<usize> {
        let header: &[u8; 16] = data.get(..16)?.try_into().ok()?;
        let caplen = self.field(header, 8);
        if caplen > self.limit {
            return None;
        }
        let needed = self.record_header_len + caplen as usize;
        (data.len() >= needed).then_some(needed)
    }

    /// A field of the record header, in the file's byte order.
    #[inline]
    fn field(&self, header: &[u8; 16], at: usize) -> u32 {
        let bytes = [header[at], header[at + 1], header[at + 2], header[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    }

    /// The packet of a whole record (`data` is exactly the record). The header
    /// is read here rather than through pcap-parser's frame parsers: those read
    /// the same fields again and go through nom's `take`, which cannot fail once
    /// the record is buffered. The modified format stores its fields in the same
    /// order and little-endian (`is_pcap_magic` admits no big-endian modified
    /// file).
    #[inline]
    fn record<'b>(&self, data: &'b [u8]) -> RawPacket<'b> {
        let (header, _) = data
            .split_first_chunk::<16>()
            .expect("a record is longer than its header");
        let caplen = self.field(header, 8);
        RawPacket {
            ts_ns: self.ts_ns(self.field(header, 0), self.field(header, 4)),
            wire_len: self.field(header, 12).max(caplen),
            data: &data[self.record_header_len..],
            linktype: self.linktype,
            interface: 0,
        }
    }

    /// [`next`](Self::next) when the record is not buffered whole: refills,
    /// the end of the capture, and bad lengths.
    #[inline(never)]
    fn next_slow<'b>(
        &mut self,
        buf: &'b mut ReadBuffer,
    ) -> Result<Option<(usize, RawPacket<'b>)>, CaptureError> {
        let hlen = self.record_header_len;
        let available = buf.fill_to(hlen).map_err(CaptureError::Io)?;
        if available == 0 {
            return Ok(None);
        }
        if available < hlen {
            return Err(CaptureError::Truncated {
                offset: buf.offset(),
                available,
                needed: hlen,
            });
        }
        let caplen = record_caplen(buf.data(), self.big_endian);
        if caplen > self.limit {
            return Err(CaptureError::Corrupt {
                offset: buf.offset(),
                reason: format!(
                    "record claims {caplen} captured bytes, more than the {}-byte limit (snap length {})",
                    self.limit, self.snaplen
                ),
            });
        }
        let needed = hlen + caplen as usize;
        let available = buf.fill_to(needed).map_err(CaptureError::Io)?;
        if available < needed {
            return Err(CaptureError::Truncated {
                offset: buf.offset(),
                available,
                needed,
            });
        }
        let packet = self.record(&buf.data()[..needed]);
        Ok(Some((needed, packet)))
    }
}
