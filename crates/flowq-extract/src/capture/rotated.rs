//! A capture rotated into several files (tcpdump `-C`/`-G`, dumpcap ring
//! buffers) read as one stream, so that flows crossing a file boundary are not
//! cut in two.
//!
//! The files are joined at the byte level into one valid capture: classic pcap
//! files keep the first file's global header and only the records of the
//! others (which must have the same link type and timestamp format); pcapng
//! files are joined whole, since each starts a new section with its own
//! interfaces. Every file is framed record by record, so that a file cut off
//! part-way (the last one of a killed tcpdump, or a truncated middle one) loses
//! only its incomplete last record, and the next file starts cleanly.

use super::MAX_BLOCK_LEN;
use super::pcap::{
    GLOBAL_HEADER_LEN, MAX_SNAPLEN_RECORD_LEN, PcapMagic, pcap_magic, record_caplen,
};
use super::pcapng::{MIN_BLOCK_LEN, MIN_SHB_LEN, SHB_TYPE, byte_order};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    /// Classic pcap: its 24-byte global header, with the byte order and record
    /// header length it implies.
    Pcap {
        header: [u8; GLOBAL_HEADER_LEN],
        big_endian: bool,
        record_header_len: usize,
    },
    Pcapng,
}

/// Reads rotated files as one capture stream.
pub(crate) struct RotatedReader {
    pending: VecDeque<PathBuf>,
    current: Option<(PathBuf, Box<dyn Read + Send>)>,
    /// The container of the first file; the others must match it.
    first: Option<Container>,
    /// pcapng: the byte order of the current section.
    big_endian: bool,
    out: Vec<u8>,
    pos: usize,
    /// Problems that cost a record (truncated tails), reported at the end.
    warnings: Vec<String>,
}

impl RotatedReader {
    pub(crate) fn new(files: Vec<PathBuf>) -> Self {
        RotatedReader {
            pending: files.into(),
            current: None,
            first: None,
            big_endian: false,
            out: Vec::with_capacity(1 << 20),
            pos: 0,
            warnings: Vec::new(),
        }
    }

    fn open_next(&mut self) -> io::Result<bool> {
        let Some(path) = self.pending.pop_front() else {
            return Ok(false);
        };
        let file = File::open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let reader = super::source::decompress(Box::new(file))
            .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
        let mut reader: Box<dyn Read + Send> = Box::new(BufReader::with_capacity(1 << 18, reader));
        let mut magic = [0u8; 4];
        if !read_full(&mut reader, &mut magic)? {
            // An empty file adds nothing.
            return Ok(true);
        }
        let container = if u32::from_le_bytes(magic) == SHB_TYPE {
            self.out.extend_from_slice(&magic);
            self.frame_pcapng_block_after_type(&mut reader, &path, SHB_TYPE)?;
            Container::Pcapng
        } else {
            let mut header = [0u8; GLOBAL_HEADER_LEN];
            header[..4].copy_from_slice(&magic);
            if !read_full(&mut reader, &mut header[4..])? {
                return Err(invalid(&path, "too short for a pcap header"));
            }
            let Some(PcapMagic {
                big_endian,
                record_header_len,
            }) = pcap_magic(magic)
            else {
                return Err(invalid(&path, "not a pcap or pcapng capture"));
            };
            Container::Pcap {
                header,
                big_endian,
                record_header_len,
            }
        };
        match (self.first, container) {
            (None, Container::Pcap { header, .. }) => self.out.extend_from_slice(&header),
            (None, Container::Pcapng) => {}
            (Some(Container::Pcapng), Container::Pcapng) => {}
            (Some(Container::Pcap { header: first, .. }), Container::Pcap { header, .. }) => {
                // Same magic (byte order, time resolution) and link type; the
                // snap length may differ without harm.
                if first[..4] != header[..4] || first[20..24] != header[20..24] {
                    return Err(invalid(
                        &path,
                        "its pcap header (byte order, timestamp resolution or link type) \
                         differs from the first rotated file's; such files cannot be one stream",
                    ));
                }
            }
            _ => {
                return Err(invalid(
                    &path,
                    "mixes pcap and pcapng with the other rotated files",
                ));
            }
        }
        if self.first.is_none() {
            self.first = Some(container);
        }
        self.current = Some((path, reader));
        Ok(true)
    }

    /// Appends whole records of the current file to `out` until about 1 MiB is
    /// buffered or the file ends.
    fn fill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.pos = 0;
        while self.out.len() < (1 << 20) {
            if self.current.is_none() && !self.open_next()? {
                return Ok(());
            }
            let Some((path, mut reader)) = self.current.take() else {
                continue;
            };
            let more = match self.first {
                Some(Container::Pcap {
                    big_endian,
                    record_header_len,
                    ..
                }) => self.frame_pcap_record(&mut reader, &path, big_endian, record_header_len)?,
                Some(Container::Pcapng) => {
                    let mut block_type = [0u8; 4];
                    if read_full(&mut reader, &mut block_type)? {
                        let t = self.u32_of(block_type);
                        self.out.extend_from_slice(&block_type);
                        self.frame_pcapng_block_after_type(&mut reader, &path, t)?
                    } else {
                        false
                    }
                }
                None => false,
            };
            if more {
                self.current = Some((path, reader));
            }
        }
        Ok(())
    }

    fn u32_of(&self, bytes: [u8; 4]) -> u32 {
        if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    }

    fn frame_pcap_record(
        &mut self,
        reader: &mut Box<dyn Read + Send>,
        path: &std::path::Path,
        big_endian: bool,
        header_len: usize,
    ) -> io::Result<bool> {
        let start = self.out.len();
        let mut header = [0u8; 24];
        match read_some(reader, &mut header[..header_len])? {
            0 => return Ok(false),
            n if n < header_len => {
                self.truncated(path, start);
                return Ok(false);
            }
            _ => {}
        }
        let len = record_caplen(&header, big_endian) as usize;
        if len > MAX_SNAPLEN_RECORD_LEN as usize {
            return Err(invalid(path, &format!("a record claims {len} bytes")));
        }
        self.out.extend_from_slice(&header[..header_len]);
        self.copy_body(reader, path, start, len)
    }

    /// Frames one pcapng block whose type (already in `out`) was just read.
    fn frame_pcapng_block_after_type(
        &mut self,
        reader: &mut Box<dyn Read + Send>,
        path: &std::path::Path,
        block_type: u32,
    ) -> io::Result<bool> {
        let start = self.out.len() - 4;
        let mut len_bytes = [0u8; 4];
        if read_some(reader, &mut len_bytes)? < 4 {
            self.truncated(path, start);
            return Ok(false);
        }
        if block_type == SHB_TYPE {
            // The byte-order magic decides how this section's lengths read.
            let mut bom = [0u8; 4];
            if read_some(reader, &mut bom)? < 4 {
                self.truncated(path, start);
                return Ok(false);
            }
            // (An invalid magic reads as big-endian; the capture reader
            // reports it.)
            self.big_endian = byte_order(&bom) != Some(false);
            self.out.extend_from_slice(&len_bytes);
            self.out.extend_from_slice(&bom);
            let total = self.u32_of(len_bytes) as usize;
            if !(MIN_SHB_LEN as usize..=MAX_BLOCK_LEN as usize).contains(&total) {
                return Err(invalid(
                    path,
                    &format!("a section header claims {total} bytes"),
                ));
            }
            return self.copy_body(reader, path, start, total - 12);
        }
        self.out.extend_from_slice(&len_bytes);
        let total = self.u32_of(len_bytes) as usize;
        if !(MIN_BLOCK_LEN as usize..=MAX_BLOCK_LEN as usize).contains(&total) {
            return Err(invalid(path, &format!("a block claims {total} bytes")));
        }
        self.copy_body(reader, path, start, total - 8)
    }

    fn copy_body(
        &mut self,
        reader: &mut Box<dyn Read + Send>,
        path: &std::path::Path,
        start: usize,
        len: usize,
    ) -> io::Result<bool> {
        let body_start = self.out.len();
        self.out.resize(body_start + len, 0);
        let got = read_some(reader, &mut self.out[body_start..])?;
        if got < len {
            self.truncated(path, start);
            return Ok(false);
        }
        Ok(true)
    }

    fn truncated(&mut self, path: &std::path::Path, record_start: usize) {
        self.out.truncate(record_start);
        self.warnings.push(format!(
            "{}: the last record is cut off; it was left out and the next file follows",
            path.display()
        ));
    }
}

impl Read for RotatedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.out.len() {
            self.fill()?;
            if self.out.is_empty() {
                return match self.warnings.pop() {
                    // Surfaced as the stream's end error, so the input is reported
                    // as partial rather than silently short.
                    Some(w) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, w)),
                    None => Ok(0),
                };
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn invalid(path: &std::path::Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("rotated file {}: {why}", path.display()),
    )
}

/// Reads until `buf` is full or the stream ends; the count read.
fn read_some(reader: &mut Box<dyn Read + Send>, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// True when `buf` was filled, false at a clean end before its first byte.
fn read_full(reader: &mut Box<dyn Read + Send>, buf: &mut [u8]) -> io::Result<bool> {
    match read_some(reader, buf)? {
        0 => Ok(false),
        n if n == buf.len() => Ok(true),
        _ => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a rotated file ends inside its header",
        )),
    }
}
