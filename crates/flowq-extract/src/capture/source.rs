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

    fn add(&self, n: u64) {
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

/// True when `path` starts with a pcap, pcapng, gzip or zstd magic number.
pub fn looks_like_capture(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    if file.read_exact(&mut magic).is_err() {
        return false;
    }
    let le = u32::from_le_bytes(magic);
    magic == [0x0a, 0x0d, 0x0d, 0x0a]
        || matches!(
            le,
            0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34 | 0xd4c3_b2a1 | 0x4d3c_b2a1
        )
        || magic[..2] == GZIP_MAGIC
        || magic == ZSTD_MAGIC
}

/// Expands command-line inputs: files are kept as given, directories are walked
/// recursively and every file in them that starts with a capture magic number is
/// taken, in sorted path order; `-` is standard input.
pub fn discover_inputs(args: &[PathBuf]) -> io::Result<Vec<InputSource>> {
    let mut out = Vec::new();
    for arg in args {
        if arg.as_os_str() == "-" {
            out.push(InputSource::Stdin);
        } else if arg.is_dir() {
            let mut found = Vec::new();
            walk(arg, &mut found)?;
            found.sort();
            out.extend(found.into_iter().map(InputSource::File));
        } else {
            out.push(InputSource::File(arg.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, found)?;
        } else if (kind.is_file() || kind.is_symlink())
            && path.is_file()
            && looks_like_capture(&path)
        {
            found.push(path);
        }
    }
    Ok(())
}
