//! Capture files read through a memory map: records are parsed where the
//! page cache holds them, without the copy `read(2)` makes into a buffer.
//!
//! Two things a map costs, and what is done about them:
//! - **Resident memory.** Pages of a file mapped into the process count in
//!   its resident set (though the kernel can reclaim them at any time). Each
//!   reader gives back the pages it has passed ([`MappedFile::release`],
//!   `MADV_DONTNEED`: the page cache keeps them, only this process's mapping
//!   of them goes), so the resident set stays within a few ranges of the
//!   file, as with read buffers.
//! - **A file that shrinks while mapped.** Touching a page past the new end
//!   raises `SIGBUS`, which would kill the process without a word. A handler
//!   (`guard`) recognises a fault inside one of flowq's maps, prints what
//!   happened and exits with status 2 (nothing was written: outputs are
//!   renamed into place only at the end). Any other `SIGBUS` goes to the
//!   handler that was there before.
//!
//! A map is made only for a regular, non-empty, uncompressed capture file,
//! and only if the guard could be installed; otherwise the file is read
//! with `read(2)`. The environment variable `FLOWQ_NO_MMAP=1` turns maps off.

use std::fs::File;
use std::sync::Arc;

/// A capture file mapped into memory, read-only, at the length it had when
/// it was opened (bytes appended later are not read).
pub(crate) struct MappedFile {
    map: memmap2::Mmap,
    /// Where the map is registered for the `SIGBUS` guard.
    slot: usize,
}

impl MappedFile {
    /// Maps `file` if it is a regular, non-empty file and maps are allowed;
    /// `None` otherwise (the caller reads it with `read(2)`).
    pub(crate) fn open(file: &File) -> Option<Arc<MappedFile>> {
        if std::env::var_os("FLOWQ_NO_MMAP").is_some_and(|v| v != "0") {
            return None;
        }
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() == 0 || usize::try_from(meta.len()).is_err() {
            return None;
        }
        if !guard::install() {
            return None;
        }
        // SAFETY: the map is read-only and only read through `bytes`. Another
        // process may still change or shorten the file: a change is read as
        // any other bytes would be (the parsers accept any bytes), and a
        // shortened file raises SIGBUS, which the guard turns into a clear
        // exit (module docs).
        let map = unsafe { memmap2::MmapOptions::new().map(file) }.ok()?;
        let slot = guard::register(map.as_ptr() as usize, map.len())?;
        Some(Arc::new(MappedFile { map, slot }))
    }

    /// The whole file.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Gives back this process's mapping of the pages inside `range` (the
    /// page cache keeps the file's bytes; a later read of them maps them
    /// again). Only whole pages inside the range are given back.
    pub(crate) fn release(&self, range: std::ops::Range<usize>) {
        const PAGE: usize = 4096;
        let start = range.start.next_multiple_of(PAGE);
        let end = range.end.min(self.map.len()) / PAGE * PAGE;
        if end <= start {
            return;
        }
        // SAFETY: `MADV_DONTNEED` on a read-only shared file mapping drops
        // the page table entries only; the next access reads the same bytes
        // from the page cache again, so every slice of the map stays valid.
        unsafe {
            let _ = self.map.unchecked_advise_range(
                memmap2::UncheckedAdvice::DontNeed,
                start,
                end - start,
            );
        }
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        guard::unregister(self.slot);
    }
}

#[cfg(unix)]
mod guard {
    //! The `SIGBUS` guard: a table of the maps alive, and a handler that
    //! reads it. The handler only loads atomics, writes to standard error
    //! and exits, which is all async-signal-safe.

    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Maps alive at once: one per capture file read (several with `-j N`
    /// over several inputs). A file that finds no slot is read with `read(2)`.
    const SLOTS: usize = 64;

    static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
    static LENS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
    /// The action installed before flowq's (Rust's runtime installs one for
    /// stack overflows), for faults outside the maps; `None`: not installed.
    static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

    const MESSAGE: &[u8] = b"flowq: error: a capture file became shorter while it was being read \
(SIGBUS in its memory map); nothing was written. Run again on a file no other program \
changes, or set FLOWQ_NO_MMAP=1 to read files without mapping them.\n";

    pub(super) fn install() -> bool {
        PREVIOUS
            .get_or_init(|| {
                // SAFETY: sigaction with a zeroed struct, the handler below
                // and SA_SIGINFO, as POSIX describes; the old action is kept.
                unsafe {
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = on_sigbus as *const () as usize;
                    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                    libc::sigemptyset(&mut action.sa_mask);
                    let mut previous: libc::sigaction = std::mem::zeroed();
                    (libc::sigaction(libc::SIGBUS, &action, &mut previous) == 0).then_some(previous)
                }
            })
            .is_some()
    }

    pub(super) fn register(start: usize, len: usize) -> Option<usize> {
        (0..SLOTS).find(|&slot| {
            let taken = STARTS[slot]
                .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok();
            if taken {
                LENS[slot].store(len, Ordering::Release);
                STARTS[slot].store(start, Ordering::Release);
            }
            taken
        })
    }

    pub(super) fn unregister(slot: usize) {
        LENS[slot].store(0, Ordering::Release);
        STARTS[slot].store(0, Ordering::Release);
    }

    fn in_a_map(addr: usize) -> bool {
        (0..SLOTS).any(|slot| {
            let start = STARTS[slot].load(Ordering::Acquire);
            let len = LENS[slot].load(Ordering::Acquire);
            start != 0 && start != usize::MAX && addr >= start && addr - start < len
        })
    }

    extern "C" fn on_sigbus(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let addr = unsafe { (*info).si_addr() } as usize;
        if in_a_map(addr) {
            // SAFETY: write(2) and _exit(2) are async-signal-safe.
            unsafe {
                libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
                libc::_exit(2);
            }
        }
        let previous = PREVIOUS.get().copied().flatten();
        // SAFETY: calling, or restoring, the action installed before, with
        // the arguments the kernel gave this one.
        unsafe {
            match previous {
                Some(old)
                    if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN =>
                {
                    if old.sa_flags & libc::SA_SIGINFO != 0 {
                        let handler: extern "C" fn(
                            libc::c_int,
                            *mut libc::siginfo_t,
                            *mut libc::c_void,
                        ) = std::mem::transmute(old.sa_sigaction);
                        handler(signal, info, context);
                    } else {
                        let handler: extern "C" fn(libc::c_int) =
                            std::mem::transmute(old.sa_sigaction);
                        handler(signal);
                    }
                }
                _ => {
                    // The default action (a core dump) when the fault repeats.
                    let mut default: libc::sigaction = std::mem::zeroed();
                    default.sa_sigaction = libc::SIG_DFL;
                    libc::sigaction(libc::SIGBUS, &default, std::ptr::null_mut());
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod guard {
    pub(super) fn install() -> bool {
        false
    }
    pub(super) fn register(_: usize, _: usize) -> Option<usize> {
        None
    }
    pub(super) fn unregister(_: usize) {}
}

#[cfg(test)]
mod tests {
    use super::super::{CaptureReader, ReadBuffer, ReadCounter};
    use super::MappedFile;
    use std::io::Write;

    /// A classic pcap of `n` Ethernet records of growing sizes.
    fn pcap(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for field in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 1] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        // (The second field is the version, 2.4, as two u16s.)
        out[4..8].copy_from_slice(&[2, 0, 4, 0]);
        for i in 0..n {
            let len = 60 + (i * 37) % 1400;
            for field in [i as u32, (i % 1_000_000) as u32, len as u32, len as u32] {
                out.extend_from_slice(&field.to_le_bytes());
            }
            out.extend((0..len).map(|b| (b + i) as u8));
        }
        out
    }

    /// A pcapng file: a section, an interface and `n` enhanced packet blocks.
    fn pcapng(n: usize) -> Vec<u8> {
        let block = |kind: u32, body: &[u8]| {
            let len = (12 + body.len()).next_multiple_of(4) as u32;
            let mut b = kind.to_le_bytes().to_vec();
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(body);
            b.resize(len as usize - 4, 0);
            b.extend_from_slice(&len.to_le_bytes());
            b
        };
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        let mut out = block(0x0a0d_0d0a, &shb);
        out.extend(block(1, &[1, 0, 0, 0, 0, 0, 0, 0]));
        for i in 0..n {
            let len = 60 + (i * 53) % 1400;
            let mut epb = Vec::new();
            for field in [0u32, 0, i as u32 * 1000, len as u32, len as u32] {
                epb.extend_from_slice(&field.to_le_bytes());
            }
            epb.extend((0..len).map(|b| (b ^ i) as u8));
            out.extend(block(6, &epb));
        }
        out
    }

    /// Every packet (timestamp, lengths, bytes) and how the reading ended.
    fn read_all(mut reader: CaptureReader) -> (Vec<(i64, u32, Vec<u8>)>, String) {
        let mut packets = Vec::new();
        loop {
            match reader.next_packet() {
                Ok(Some(p)) => packets.push((p.ts_ns, p.wire_len, p.data.to_vec())),
                Ok(None) => return (packets, "end".into()),
                Err(e) => return (packets, e.to_string()),
            }
        }
    }

    /// The same packets and the same ending through a map as through reads,
    /// for pcap and pcapng, whole (past the 4 MiB at which a reader gives
    /// back what it passed) and cut at awkward places.
    #[test]
    fn a_map_reads_what_read_reads() {
        for (name, bytes) in [("pcap", pcap(12_000)), ("pcapng", pcapng(12_000))] {
            assert!(bytes.len() > 8 << 20, "{name}: {} bytes", bytes.len());
            for cut in [
                bytes.len(),
                bytes.len() - 1,
                bytes.len() - 700,
                4 << 20,
                5_000,
                30,
            ] {
                let mut file = tempfile::NamedTempFile::new().unwrap();
                file.write_all(&bytes[..cut]).unwrap();
                file.flush().unwrap();
                let map = MappedFile::open(file.as_file()).expect("a regular file maps");
                assert_eq!(map.bytes(), &bytes[..cut]);
                let counter = ReadCounter::default();
                let buf = ReadBuffer::mapped(map, 0, cut as u64, counter.clone(), true);
                let mapped = read_all(CaptureReader::from_buffer(buf).unwrap());
                let stream = std::fs::File::open(file.path()).unwrap();
                let read = read_all(CaptureReader::new(Box::new(stream)).unwrap());
                assert_eq!(mapped.1, read.1, "{name} cut at {cut}: how it ended");
                assert_eq!(mapped.0.len(), read.0.len(), "{name} cut at {cut}");
                assert!(mapped.0 == read.0, "{name} cut at {cut}: packets differ");
                assert!(
                    read.0.len() > 10 || cut < 10_000,
                    "{name}: {}",
                    read.0.len()
                );
                assert_eq!(counter.get(), cut as u64, "{name}: every byte counted once");
            }
        }
    }

    /// Run by [`a_file_that_shrinks_under_its_map_ends_the_process_with_a_message`]
    /// in a process of its own: maps a file, cuts it to nothing, reads.
    #[test]
    #[ignore = "run in a child process by the test below"]
    fn shrink_under_the_map() {
        if std::env::var_os("FLOWQ_TEST_SIGBUS").is_none() {
            return;
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&pcap(3_000)).unwrap();
        file.flush().unwrap();
        let map = MappedFile::open(file.as_file()).expect("a regular file maps");
        file.as_file().set_len(0).unwrap();
        let sum: u64 = map.bytes().iter().map(|&b| u64::from(b)).sum();
        // Not reached: the first read of a page past the new end is SIGBUS.
        println!("read {sum} without a fault");
    }

    #[test]
    fn a_file_that_shrinks_under_its_map_ends_the_process_with_a_message() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "capture::mapped::tests::shrink_under_the_map",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env("FLOWQ_TEST_SIGBUS", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
        assert!(
            stderr.contains("a capture file became shorter while it was being read"),
            "{stderr}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("without a fault"));
    }
}
