//! Where capture bytes come from: files, directories of files, standard input,
//! and transparent gzip/zstd decompression recognised by magic bytes.

use super::CaptureError;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// One capture to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputSource {
    /// A file on disk.
    File(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
    /// One capture rotated into several files, read as one stream in this
    /// order (see [`InputSource::rotated`]).
    Rotated(Vec<PathBuf>),
}

impl fmt::Display for InputSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputSource::File(path) => write!(f, "{}", path.display()),
            InputSource::Stdin => f.write_str("<stdin>"),
            InputSource::Rotated(files) => match files.as_slice() {
                [] => f.write_str("<no files>"),
                [one] => write!(f, "{}", one.display()),
                [first, rest @ ..] => {
                    write!(f, "{} (+{} rotated files)", first.display(), rest.len())
                }
            },
        }
    }
}

impl InputSource {
    /// Size in bytes when known (files), used for progress reporting.
    pub fn size(&self) -> Option<u64> {
        match self {
            InputSource::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            InputSource::Stdin => None,
            InputSource::Rotated(files) => files
                .iter()
                .map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
                .sum(),
        }
    }

    /// The files behind this input (none for standard input).
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            InputSource::File(path) => vec![path.clone()],
            InputSource::Stdin => Vec::new(),
            InputSource::Rotated(files) => files.clone(),
        }
    }

    /// Rotated files as one input, ordered by the timestamp of their first
    /// packet (file names of `tcpdump -C` do not sort: `x`, `x1`, `x10`, `x2`);
    /// files without packets go last, in the order given.
    pub fn rotated(files: Vec<PathBuf>) -> Result<InputSource, CaptureError> {
        let mut keyed = Vec::with_capacity(files.len());
        for (index, path) in files.into_iter().enumerate() {
            let first = InputSource::File(path.clone())
                .open_capture(ReadCounter::default())
                .map_err(|e| {
                    CaptureError::Io(io::Error::other(format!("{}: {e}", path.display())))
                })?
                .next_packet()
                .ok()
                .flatten()
                .map(|p| p.ts_ns);
            keyed.push((first.is_none(), first.unwrap_or(0), index, path));
        }
        keyed.sort();
        Ok(InputSource::Rotated(
            keyed.into_iter().map(|(_, _, _, p)| p).collect(),
        ))
    }

    /// Opens the capture for reading, through a buffer refilled from the file or
    /// stream, with gzip/zstd decompression on a thread of its own. (Memory
    /// mapping was measured slower here, and it counts the whole file in the
    /// process's resident memory: docs/benchmarks.md.)
    pub fn open_capture(&self, counter: ReadCounter) -> Result<super::CaptureReader, CaptureError> {
        super::CaptureReader::new(self.open(counter)?)
    }

    /// Opens the raw (possibly compressed) byte stream; every byte read from it
    /// is added to `counter`, so progress can be shown in bytes of the input.
    pub fn open(&self, counter: ReadCounter) -> Result<Box<dyn Read + Send>, CaptureError> {
        let inner: Box<dyn Read + Send> = match self {
            InputSource::File(path) => Box::new(File::open(path).map_err(CaptureError::Io)?),
            InputSource::Stdin => Box::new(io::stdin()),
            InputSource::Rotated(files) => {
                Box::new(super::rotated::RotatedReader::new(files.clone()))
            }
        };
        Ok(Box::new(CountingReader { inner, counter }))
    }
}

/// A shared count of bytes read from an input, for progress display.
#[derive(Debug, Clone, Default)]
pub struct ReadCounter {
    count: Arc<AtomicU64>,
    /// A run's total, which this input's bytes are added to as well.
    total: Option<Arc<AtomicU64>>,
}

impl ReadCounter {
    /// Bytes read so far.
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// A new counter whose bytes are also added to `total` (one atomic add
    /// more per read of the underlying file, which reads whole buffers).
    pub fn feeding(total: &ReadCounter) -> ReadCounter {
        ReadCounter {
            count: Arc::default(),
            total: Some(Arc::clone(&total.count)),
        }
    }

    pub(super) fn add(&self, n: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
        if let Some(total) = &self.total {
            total.fetch_add(n, Ordering::Relaxed);
        }
    }
}

struct CountingReader {
    inner: Box<dyn Read + Send>,
    counter: ReadCounter,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.add(n as u64);
        Ok(n)
    }
}

/// Wraps `reader` in a gzip or zstd decoder when it starts with their magic bytes.
pub(crate) fn decompress(
    mut reader: Box<dyn Read + Send>,
) -> Result<Box<dyn Read + Send>, CaptureError> {
    // Peek the magic by reading it, then put it back in front with a chain; this
    // works on pipes, where short reads are normal.
    let mut head = Vec::with_capacity(4);
    (&mut reader)
        .take(4)
        .read_to_end(&mut head)
        .map_err(CaptureError::Io)?;
    let is_gzip = head.starts_with(&GZIP_MAGIC);
    let is_zstd = head.starts_with(&ZSTD_MAGIC);
    let stream = io::Cursor::new(head).chain(reader);
    if is_gzip {
        let decoder = flate2::read::MultiGzDecoder::new(BufReader::new(stream));
        Ok(Box::new(ThreadedReader::spawn(Box::new(decoder))))
    } else if is_zstd {
        let decoder = zstd::stream::read::Decoder::new(stream).map_err(CaptureError::Io)?;
        Ok(Box::new(ThreadedReader::spawn(Box::new(decoder))))
    } else {
        Ok(Box::new(stream))
    }
}

/// Runs a (decompressing) reader on its own thread, handing over 1 MiB chunks,
/// so decompression and packet processing overlap on two cores.
struct ThreadedReader {
    chunks: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ThreadedReader {
    fn spawn(mut inner: Box<dyn Read + Send>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
        std::thread::spawn(move || {
            loop {
                let mut chunk = vec![0u8; 1 << 20];
                let mut filled = 0;
                let result = loop {
                    match inner.read(&mut chunk[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == chunk.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                chunk.truncate(filled);
                let end = filled == 0;
                let message = match result {
                    Ok(()) => Ok(chunk),
                    Err(e) => Err(e),
                };
                let failed = message.is_err();
                // A closed receiver means the capture is no longer read.
                if tx.send(message).is_err() || end || failed {
                    return;
                }
            }
        });
        ThreadedReader {
            chunks: rx,
            current: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for ThreadedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => self.done = true,
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// True for the first four bytes of a pcap or pcapng file.
pub(super) fn is_capture_magic(magic: [u8; 4]) -> bool {
    magic == super::pcapng::SHB_TYPE_BYTES || super::pcap::is_pcap_magic(magic)
}

/// What a file is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    /// A pcap or pcapng file, or one compressed with gzip or zstd.
    Capture,
    /// Compressed, but what it holds is not a capture (a `.tar.gz`, compressed
    /// logs) or cannot be decompressed.
    CompressedOther(&'static str),
    /// Anything else.
    Other,
}

fn sniff(path: &Path) -> Sniffed {
    let mut magic = [0u8; 4];
    let Ok(mut file) = File::open(path) else {
        return Sniffed::Other;
    };
    if file.read_exact(&mut magic).is_err() {
        return Sniffed::Other;
    }
    if is_capture_magic(magic) {
        return Sniffed::Capture;
    }
    // A compressed file is a capture only if what it holds is one: decompress
    // its first bytes (one block at most) and look again.
    let stream = io::Cursor::new(magic).chain(file);
    let (inner, name): (Option<Box<dyn Read>>, _) = if magic[..2] == GZIP_MAGIC {
        (
            Some(Box::new(flate2::read::MultiGzDecoder::new(stream))),
            "gzip",
        )
    } else if magic == ZSTD_MAGIC {
        (
            zstd::stream::read::Decoder::new(stream)
                .ok()
                .map(|d| Box::new(d) as Box<dyn Read>),
            "zstd",
        )
    } else {
        return Sniffed::Other;
    };
    let mut inner_magic = [0u8; 4];
    let holds_capture = inner.is_some_and(|mut inner| {
        inner.read_exact(&mut inner_magic).is_ok() && is_capture_magic(inner_magic)
    });
    if holds_capture {
        Sniffed::Capture
    } else {
        Sniffed::CompressedOther(name)
    }
}

/// True when `path` is a pcap or pcapng capture, or a gzip or zstd file whose
/// content starts like one.
pub fn looks_like_capture(path: &Path) -> bool {
    sniff(path) == Sniffed::Capture
}

/// What [`discover_inputs`] found.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// The inputs, in order.
    pub inputs: Vec<InputSource>,
    /// Files below directories that were left out although they looked like
    /// they might be captures (compressed files holding something else, such
    /// as a `.tar.gz`), with the reason, for a note to the user. Other files
    /// that are not captures are left out silently.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Expands command-line inputs: files are kept as given (a named file that is
/// not a capture fails when it is read), directories are walked recursively and
/// every file in them that is a capture (see [`looks_like_capture`]) is taken,
/// in sorted path order; `-` is standard input.
pub fn discover_inputs(args: &[PathBuf]) -> io::Result<Discovered> {
    let mut out = Discovered::default();
    for arg in args {
        if arg.as_os_str() == "-" {
            out.inputs.push(InputSource::Stdin);
        } else if arg.is_dir() {
            let mut found = Vec::new();
            let mut skipped = Vec::new();
            walk(arg, &mut found, &mut skipped)?;
            found.sort();
            skipped.sort();
            out.inputs.extend(found.into_iter().map(InputSource::File));
            out.skipped.extend(skipped);
        } else {
            out.inputs.push(InputSource::File(arg.clone()));
        }
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    found: &mut Vec<PathBuf>,
    skipped: &mut Vec<(PathBuf, String)>,
) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, found, skipped)?;
        } else if (kind.is_file() || kind.is_symlink()) && path.is_file() {
            match sniff(&path) {
                Sniffed::Capture => found.push(path),
                Sniffed::CompressedOther(format) => skipped.push((
                    path,
                    format!("{format}-compressed, but not a pcap or pcapng capture inside"),
                )),
                Sniffed::Other => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Sniffed, sniff};
    use std::io::Write;

    const PCAP_HEADER: [u8; 24] = [
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// A compressed file is a capture when what it holds is one; other
    /// compressed files (a tarball, a log) are told apart, so that directory
    /// walks can skip them with a note instead of failing on them later.
    #[test]
    fn compressed_files_are_captures_only_if_their_content_is() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, Vec<u8>, Sniffed); 7] = [
            ("plain.pcap", PCAP_HEADER.to_vec(), Sniffed::Capture),
            ("a.pcap.gz", gzip(&PCAP_HEADER), Sniffed::Capture),
            (
                "a.pcap.zst",
                zstd::encode_all(&PCAP_HEADER[..], 0).unwrap(),
                Sniffed::Capture,
            ),
            (
                "notes.tar.gz",
                gzip(b"notes.txt\0\0\0\0 0000644\0"),
                Sniffed::CompressedOther("gzip"),
            ),
            (
                "log.zst",
                zstd::encode_all(&b"some log line\n"[..], 0).unwrap(),
                Sniffed::CompressedOther("zstd"),
            ),
            // Only the magic number: nothing to decompress.
            (
                "cut.gz",
                vec![0x1f, 0x8b, 8, 0],
                Sniffed::CompressedOther("gzip"),
            ),
            ("notes.txt", b"just text\n".to_vec(), Sniffed::Other),
        ];
        for (name, bytes, expected) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(sniff(&path), expected, "{name}");
        }
    }
}
