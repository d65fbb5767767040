//! pcapng: sections of either byte order, interface descriptions with their
//! timestamp resolution and offset, and enhanced, simple and obsolete packet blocks.

use super::buffer::ReadBuffer;
use super::{CaptureError, MAX_BLOCK_LEN, RawPacket, ReaderCounters, ticks_to_ns};
use pcap_parser::pcapng::{Block, parse_block_be, parse_block_le, parse_sectionheaderblock};
use pcap_parser::traits::PcapNGPacketBlock;

/// The section header block type, 0x0A0D0D0A, the same in both byte orders.
pub(crate) const SHB_TYPE_BYTES: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
pub(crate) const SHB_TYPE: u32 = 0x0a0d_0d0a;
/// The obsolete Packet Block (type 2), which pcap-parser does not decode.
const OBSOLETE_PACKET_BLOCK: u32 = 0x0000_0002;
/// Smallest possible block: type, length, trailing length.
pub(crate) const MIN_BLOCK_LEN: u32 = 12;
/// Smallest section header block: the 12 bytes of any block, byte-order
/// magic, version and section length.
pub(crate) const MIN_SHB_LEN: u32 = 28;
const DEFAULT_RESOLUTION: u64 = 1_000_000;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// Ticks per second of an `if_tsresol` value: 10^n, or 2^n when the top bit is set.
/// `None` for resolutions that do not fit in 64 bits.
fn resolution(tsresol: u8) -> Option<u64> {
    let exponent = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exponent)
    } else {
        1u64.checked_shl(exponent).filter(|_| exponent < 64)
    }
}

/// A packet found in a block, with its data as a range of the block's bytes (so the
/// block can be consumed or returned without holding a borrow across both paths).
#[derive(Debug, Clone)]
struct PacketInBlock {
    ts_ns: i64,
    wire_len: u32,
    linktype: u32,
    interface: u32,
    data: std::ops::Range<usize>,
}

impl PacketInBlock {
    fn new(block: &[u8], data: &[u8], ts_ns: i64, orig_len: u32, iface: (u32, u32)) -> Self {
        // `data` is a sub-slice of `block`; its position is a plain address difference.
        let start = (data.as_ptr() as usize).saturating_sub(block.as_ptr() as usize);
        let end = (start + data.len()).min(block.len());
        PacketInBlock {
            ts_ns,
            wire_len: orig_len.max(data.len() as u32),
            linktype: iface.0,
            interface: iface.1,
            data: start.min(end)..end,
        }
    }
}

/// Most interfaces one section may describe. Real captures describe a few;
/// the bound keeps a file of nothing but descriptions from growing memory with
/// its size (1.5 MiB of interface state at most).
pub const MAX_INTERFACES: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interface {
    linktype: u32,
    /// Timestamp ticks per second (`if_tsresol`).
    units_per_second: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_s: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct PcapngState {
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// Timestamp of the previous packet, used for simple packet blocks, which have none.
    last_ts_ns: i64,
    /// `last_ts_ns` was set by a packet of this reader (not inherited).
    last_ts_read: bool,
    /// A simple packet block took `last_ts_ns` before this reader set it: a
    /// byte range read on its own depended on the range before it.
    inherited_ts_used: bool,
}

impl PcapngState {
    pub(crate) fn open(buf: &mut ReadBuffer) -> Result<Self, CaptureError> {
        let available = buf
            .fill_to(MIN_BLOCK_LEN as usize)
            .map_err(CaptureError::Io)?;
        if available < MIN_BLOCK_LEN as usize {
            return Err(CaptureError::Truncated {
                offset: 0,
                available,
                needed: MIN_BLOCK_LEN as usize,
            });
        }
        let Some(big_endian) = byte_order(&buf.data()[8..12]) else {
            return Err(CaptureError::NotACapture);
        };
        let mut state = PcapngState {
            big_endian,
            interfaces: Vec::new(),
            last_ts_ns: 0,
            last_ts_read: false,
            inherited_ts_used: false,
        };
        // A file whose very first block is unusable is not a capture we can read
        // (rather than a capture that ends early).
        match state.frame_next_block(buf) {
            Ok(Some(len)) => {
                let data = &buf.data()[..len];
                state.start_section(data, 0).map_err(|e| match e {
                    CaptureError::Corrupt { reason, .. } => CaptureError::UnsupportedHeader(reason),
                    other => other,
                })?;
                Ok(state)
            }
            Ok(None) => Err(CaptureError::Empty),
            Err(CaptureError::Corrupt { reason, .. }) => {
                Err(CaptureError::UnsupportedHeader(reason))
            }
            Err(e) => Err(e),
        }
    }

    /// Returns the next packet and the length of its block, skipping blocks that
    /// carry no packet; `None` at the end of the stream or at the first block
    /// that starts at or after `limit`.
    pub(crate) fn next<'b>(
        &mut self,
        buf: &'b mut ReadBuffer,
        counters: &mut ReaderCounters,
        limit: u64,
    ) -> Result<Option<(usize, RawPacket<'b>)>, CaptureError> {
        // Skipped blocks are consumed here; a packet block is consumed by the caller
        // on its next call, after the packet borrowed from the buffer is dropped.
        loop {
            if buf.offset() >= limit {
                return Ok(None);
            }
            let block_len = self.frame_next_block(buf)?;
            let Some(block_len) = block_len else {
                return Ok(None);
            };
            let offset = buf.offset();
            let data = &buf.data()[..block_len];
            let block_type = self.read_u32(&data[0..4]);
            if block_type == SHB_TYPE {
                self.start_section(data, offset)?;
                buf.consume(block_len);
                continue;
            }
            let found = if block_type == OBSOLETE_PACKET_BLOCK {
                self.obsolete_packet(data, counters)
            } else {
                self.decode_block(data, offset, counters)?
            };
            match found {
                Some(p) => {
                    let packet = RawPacket {
                        ts_ns: p.ts_ns,
                        wire_len: p.wire_len,
                        data: &buf.data()[p.data],
                        linktype: p.linktype,
                        interface: p.interface,
                    };
                    return Ok(Some((block_len, packet)));
                }
                None => buf.consume(block_len),
            }
        }
    }

    /// Makes the next whole block available; returns its length, or `None` at the
    /// clean end of the stream.
    fn frame_next_block(&mut self, buf: &mut ReadBuffer) -> Result<Option<usize>, CaptureError> {
        let available = buf.fill_to(12).map_err(CaptureError::Io)?;
        if available == 0 {
            return Ok(None);
        }
        if available < 8 {
            return Err(CaptureError::Truncated {
                offset: buf.offset(),
                available,
                needed: 8,
            });
        }
        let head = buf.data();
        if head[0..4] == SHB_TYPE_BYTES {
            // A new section may switch byte order; its byte-order magic tells.
            if available < 12 {
                return Err(CaptureError::Truncated {
                    offset: buf.offset(),
                    available,
                    needed: 12,
                });
            }
            match byte_order(&head[8..12]) {
                Some(big_endian) => self.big_endian = big_endian,
                None => {
                    return Err(CaptureError::Corrupt {
                        offset: buf.offset(),
                        reason: "section header with an invalid byte-order magic".into(),
                    });
                }
            }
        }
        let block_len = self.read_u32(&head[4..8]);
        if !(MIN_BLOCK_LEN..=MAX_BLOCK_LEN).contains(&block_len) {
            return Err(CaptureError::Corrupt {
                offset: buf.offset(),
                reason: format!(
                    "block length {block_len} is outside {MIN_BLOCK_LEN}..={MAX_BLOCK_LEN}"
                ),
            });
        }
        let block_len = block_len as usize;
        let available = buf.fill_to(block_len).map_err(CaptureError::Io)?;
        if available < block_len {
            return Err(CaptureError::Truncated {
                offset: buf.offset(),
                available,
                needed: block_len,
            });
        }
        let trailer = self.read_u32(&buf.data()[block_len - 4..block_len]);
        if trailer as usize != block_len {
            return Err(CaptureError::Corrupt {
                offset: buf.offset(),
                reason: format!(
                    "block length {block_len} does not match its trailing copy {trailer}"
                ),
            });
        }
        Ok(Some(block_len))
    }

    fn start_section(&mut self, data: &[u8], offset: u64) -> Result<(), CaptureError> {
        match parse_sectionheaderblock(data) {
            Ok((_, shb)) if shb.major_version == 1 => {
                self.interfaces.clear();
                Ok(())
            }
            Ok((_, shb)) => Err(CaptureError::Corrupt {
                offset,
                reason: format!(
                    "pcapng section version {}.{} (only 1.x exists)",
                    shb.major_version, shb.minor_version
                ),
            }),
            Err(_) => Err(CaptureError::Corrupt {
                offset,
                reason: "unparsable section header block".into(),
            }),
        }
    }

    /// Decodes a non-SHB block; returns a packet for packet blocks.
    fn decode_block(
        &mut self,
        data: &[u8],
        offset: u64,
        counters: &mut ReaderCounters,
    ) -> Result<Option<PacketInBlock>, CaptureError> {
        let parsed = if self.big_endian {
            parse_block_be(data)
        } else {
            parse_block_le(data)
        };
        let block = match parsed {
            Ok((_, block)) => block,
            Err(_) => {
                return Err(CaptureError::Corrupt {
                    offset,
                    reason: format!(
                        "unparsable pcapng block of type {:#010x}",
                        self.read_u32(&data[0..4])
                    ),
                });
            }
        };
        match block {
            Block::InterfaceDescription(idb) => {
                // pcap-parser 0.17 rejects every power-of-two `if_tsresol` and reads
                // `if_tsoffset` little-endian in big-endian sections, so both options
                // are decoded here from the raw option values.
                let mut units_per_second = DEFAULT_RESOLUTION;
                let mut offset_s = 0;
                for option in &idb.options {
                    let value = option.value();
                    match option.code.0 {
                        IF_TSRESOL if !value.is_empty() => {
                            units_per_second = resolution(value[0]).unwrap_or(DEFAULT_RESOLUTION);
                        }
                        IF_TSOFFSET if value.len() >= 8 => {
                            let bytes: [u8; 8] = value[..8].try_into().unwrap_or_default();
                            offset_s = if self.big_endian {
                                i64::from_be_bytes(bytes)
                            } else {
                                i64::from_le_bytes(bytes)
                            };
                        }
                        _ => {}
                    }
                }
                // Each description takes memory until the section ends: a file
                // of nothing but descriptions must not grow it without bound.
                if self.interfaces.len() >= MAX_INTERFACES {
                    return Err(CaptureError::Corrupt {
                        offset,
                        reason: format!(
                            "more than {MAX_INTERFACES} interface descriptions in one section"
                        ),
                    });
                }
                self.interfaces.push(Interface {
                    linktype: (idb.linktype.0 as u32) & 0xffff,
                    units_per_second,
                    offset_s,
                });
                Ok(None)
            }
            Block::EnhancedPacket(epb) => {
                let Some(iface) = self.interfaces.get(epb.if_id as usize).copied() else {
                    counters.unknown_interface += 1;
                    return Ok(None);
                };
                let ticks = (i128::from(epb.ts_high) << 32) | i128::from(epb.ts_low);
                let ts_ns = ticks_to_ns(ticks, iface.units_per_second)
                    .saturating_add(iface.offset_s.saturating_mul(1_000_000_000));
                self.last_ts_ns = ts_ns;
                self.last_ts_read = true;
                Ok(Some(PacketInBlock::new(
                    data,
                    epb.packet_data(),
                    ts_ns,
                    epb.origlen,
                    (iface.linktype, epb.if_id),
                )))
            }
            Block::SimplePacket(spb) => {
                let Some(iface) = self.interfaces.first().copied() else {
                    counters.unknown_interface += 1;
                    return Ok(None);
                };
                counters.simple_packet_blocks += 1;
                self.inherited_ts_used |= !self.last_ts_read;
                Ok(Some(PacketInBlock::new(
                    data,
                    spb.packet_data(),
                    self.last_ts_ns,
                    spb.origlen,
                    (iface.linktype, 0),
                )))
            }
            _ => {
                counters.non_packet_blocks += 1;
                Ok(None)
            }
        }
    }

    /// The obsolete Packet Block: interface id (16 bits), drops (16 bits),
    /// timestamp high and low, captured length, original length, data.
    fn obsolete_packet(
        &mut self,
        data: &[u8],
        counters: &mut ReaderCounters,
    ) -> Option<PacketInBlock> {
        const HEADER: usize = 28;
        if data.len() < HEADER + 4 {
            counters.non_packet_blocks += 1;
            return None;
        }
        let if_id = if self.big_endian {
            u16::from_be_bytes([data[8], data[9]])
        } else {
            u16::from_le_bytes([data[8], data[9]])
        };
        let Some(iface) = self.interfaces.get(usize::from(if_id)).copied() else {
            counters.unknown_interface += 1;
            return None;
        };
        let ts_high = self.read_u32(&data[12..16]);
        let ts_low = self.read_u32(&data[16..20]);
        let caplen = self.read_u32(&data[20..24]) as usize;
        let origlen = self.read_u32(&data[24..28]);
        let body = &data[HEADER..data.len() - 4];
        let captured = &body[..caplen.min(body.len())];
        let ticks = (i128::from(ts_high) << 32) | i128::from(ts_low);
        let ts_ns = ticks_to_ns(ticks, iface.units_per_second)
            .saturating_add(iface.offset_s.saturating_mul(1_000_000_000));
        self.last_ts_ns = ts_ns;
        self.last_ts_read = true;
        Some(PacketInBlock::new(
            data,
            captured,
            ts_ns,
            origlen,
            (iface.linktype, u32::from(if_id)),
        ))
    }

    /// The state a byte range read on its own starts with, when the range
    /// after `self` (the state at the first packet of the file) is assumed to
    /// have the same section and interfaces.
    pub(crate) fn for_range(&self) -> PcapngState {
        PcapngState {
            last_ts_read: false,
            inherited_ts_used: false,
            ..self.clone()
        }
    }

    /// Whether a range read from `assumed` and ended in `self` would have read
    /// the same had it started in `actual` (the state the range before it
    /// ended in): same byte order and interfaces, and no simple packet block
    /// that took its timestamp from the range before.
    pub(crate) fn continues(&self, assumed: &PcapngState, actual: &PcapngState) -> bool {
        assumed.big_endian == actual.big_endian
            && assumed.interfaces == actual.interfaces
            && !self.inherited_ts_used
    }

    /// A continuation of this state by a reader that starts where this one
    /// stopped (a range read again after the range before it).
    pub(crate) fn continued(&self) -> PcapngState {
        PcapngState {
            last_ts_read: true,
            inherited_ts_used: false,
            ..self.clone()
        }
    }

    /// If `data` (at least [`MIN_BLOCK_LEN`] bytes) starts with the head of
    /// something that could be a block of this section: the block's length
    /// and whether its trailing length must be read big-endian. A known block
    /// type, a length that is a multiple of 4 within bounds; a section header
    /// needs a byte-order magic, a packet block an interface that was
    /// described. The trailing length is checked by [`trailer_matches`].
    pub(crate) fn plausible_block_head(&self, data: &[u8]) -> Option<(usize, bool)> {
        let data = data.get(..MIN_BLOCK_LEN as usize)?;
        let big_endian = if data[..4] == SHB_TYPE_BYTES {
            byte_order(&data[8..12])?
        } else {
            self.big_endian
        };
        let read = |at: usize| {
            let b = [data[at], data[at + 1], data[at + 2], data[at + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        // Section header, interface description, obsolete packet, simple
        // packet, name resolution, interface statistics, enhanced packet,
        // IRIG timestamp, ARINC 429, systemd journal export, decryption
        // secrets, and the two custom block types.
        const KNOWN: [u32; 13] = [
            SHB_TYPE,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            0x0a,
            0x0bad,
            0x4000_0bad,
        ];
        let block_type = read(0);
        let len = read(4);
        if !KNOWN.contains(&block_type)
            || !(MIN_BLOCK_LEN..=MAX_BLOCK_LEN).contains(&len)
            || len % 4 != 0
        {
            return None;
        }
        let interface = match block_type {
            6 => read(8) as usize,
            2 => usize::from(if big_endian {
                u16::from_be_bytes([data[8], data[9]])
            } else {
                u16::from_le_bytes([data[8], data[9]])
            }),
            _ => 0,
        };
        (interface < self.interfaces.len().max(1)).then_some((len as usize, big_endian))
    }

    fn read_u32(&self, bytes: &[u8]) -> u32 {
        let b = [bytes[0], bytes[1], bytes[2], bytes[3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }
}

/// Whether the block of `len` bytes at the start of `data` ends with its
/// length again (see [`PcapngState::plausible_block_head`]).
pub(crate) fn trailer_matches(data: &[u8], len: usize, big_endian: bool) -> bool {
    let Some(&[a, b, c, d]) = len.checked_sub(4).and_then(|at| data.get(at..len)) else {
        return false;
    };
    let trailer = if big_endian {
        u32::from_be_bytes([a, b, c, d])
    } else {
        u32::from_le_bytes([a, b, c, d])
    };
    trailer as usize == len
}

/// `Some(true)` for a big-endian byte-order magic, `Some(false)` for little-endian.
pub(crate) fn byte_order(magic: &[u8]) -> Option<bool> {
    match magic {
        [0x1a, 0x2b, 0x3c, 0x4d] => Some(true),
        [0x4d, 0x3c, 0x2b, 0x1a] => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::resolution;

    #[test]
    fn resolution_decodes_both_bases() {
        assert_eq!(resolution(6), Some(1_000_000));
        assert_eq!(resolution(9), Some(1_000_000_000));
        assert_eq!(resolution(0x80 | 10), Some(1024));
        assert_eq!(resolution(0x80 | 63), Some(1 << 63));
        assert_eq!(resolution(0x80 | 64), None);
        assert_eq!(resolution(20), None);
    }
}
