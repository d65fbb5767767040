//! What a running extraction shares with other threads while it runs: the stop
//! flags it obeys (Ctrl-C, a consumer that went away, a writer that failed) and
//! the counters it publishes (for a progress display). Both are touched at
//! checkpoints every [`CHECK_EVERY`] records of an input, never per packet, so
//! the packet loop stays free of atomics.

use crate::capture::ReadCounter;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Records of one input between two checkpoints.
pub(crate) const CHECK_EVERY: u64 = 1024;

/// Counters of a running extraction, readable from any thread at any time
/// (see [`Extractor::live_counters`](crate::Extractor::live_counters)). They
/// cover every input of every run of the extractor they belong to, including
/// inputs read at once on several threads (`threads > 1` with several inputs).
#[derive(Debug, Default)]
pub struct LiveCounters {
    bytes: ReadCounter,
    packets: AtomicU64,
    active_flows: AtomicI64,
    inputs_done: AtomicU64,
}

impl LiveCounters {
    /// Bytes read from the inputs so far (compressed bytes for compressed
    /// inputs, as [`InputSource::size`](crate::capture::InputSource::size) counts them).
    pub fn bytes_read(&self) -> u64 {
        self.bytes.get()
    }

    /// Packet records read so far: behind by less than 1024 records per input
    /// being read, exact once an input ends.
    pub fn packets_read(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }

    /// Flows open in the flow tables of the inputs being read, as of their last
    /// checkpoint (every 64 Ki records). An input whose flows are split into
    /// shards (`threads > 1` with one input) does not count here.
    pub fn active_flows(&self) -> u64 {
        u64::try_from(self.active_flows.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Inputs finished: read to their end, failed, or stopped.
    pub fn inputs_done(&self) -> u64 {
        self.inputs_done.load(Ordering::Relaxed)
    }

    /// A byte counter for one input that also adds to this run's total.
    pub(crate) fn input_counter(&self) -> ReadCounter {
        ReadCounter::feeding(&self.bytes)
    }

    pub(crate) fn input_done(&self) {
        self.inputs_done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Flags that stop a run when any of them is set.
#[derive(Debug, Clone, Default)]
pub(crate) struct StopFlags(Vec<Arc<AtomicBool>>);

impl StopFlags {
    pub(crate) fn add(&mut self, flag: Arc<AtomicBool>) {
        self.0.push(flag);
    }

    /// The same flags and `flag`.
    pub(crate) fn with(&self, flag: Arc<AtomicBool>) -> StopFlags {
        let mut flags = self.clone();
        flags.add(flag);
        flags
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.iter().any(|f| f.load(Ordering::Relaxed))
    }
}

/// A packet stream's link to the run: publishes its record count and says
/// whether to stop.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    stop: StopFlags,
    live: Arc<LiveCounters>,
    /// Records already added to `live`.
    published: u64,
}

impl Checkpoint {
    pub(crate) fn new(stop: StopFlags, live: Arc<LiveCounters>) -> Self {
        Checkpoint {
            stop,
            live,
            published: 0,
        }
    }

    /// Publishes `records` (the stream's count so far) and says whether the
    /// run should stop. Kept out of line: it runs once per 1024 records.
    #[inline(never)]
    pub(crate) fn reached(&mut self, records: u64) -> bool {
        self.publish(records);
        self.stop.is_set()
    }

    /// Publishes `records` (at the end of the input, the final count).
    pub(crate) fn publish(&mut self, records: u64) {
        let new = records.saturating_sub(self.published);
        if new > 0 {
            self.live.packets.fetch_add(new, Ordering::Relaxed);
            self.published = records;
        }
    }
}

/// One flow table's share of [`LiveCounters::active_flows`]; taken back to 0
/// when dropped (the table's input has ended).
#[derive(Debug)]
pub(crate) struct ActiveFlowsGauge {
    live: Arc<LiveCounters>,
    published: i64,
}

impl ActiveFlowsGauge {
    pub(crate) fn new(live: Arc<LiveCounters>) -> Self {
        ActiveFlowsGauge { live, published: 0 }
    }

    pub(crate) fn set(&mut self, active: usize) {
        let active = i64::try_from(active).unwrap_or(i64::MAX);
        let delta = active - self.published;
        if delta != 0 {
            self.live.active_flows.fetch_add(delta, Ordering::Relaxed);
            self.published = active;
        }
    }
}

impl Drop for ActiveFlowsGauge {
    fn drop(&mut self) {
        self.set(0);
    }
}

#[cfg(test)]
mod tests {
    use crate::capture::InputSource;
    use crate::flow::FlowConfig;
    use crate::{ExtractOptions, Extractor, Progress, ProgressObserver};
    use std::io::Write;
    use std::path::Path;

    /// A classic pcap header (microseconds, Ethernet).
    fn pcap_header() -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65_535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out
    }

    /// One record: an Ethernet/IPv4/UDP frame from 10.0.0.1:`port` to
    /// 10.0.0.2:53 with 4 bytes of payload, `ms` milliseconds after time 0
    /// (62 bytes with the record header).
    fn udp_record(ms: u64, port: u16) -> Vec<u8> {
        let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        frame.extend_from_slice(&[0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0]);
        frame.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        frame.extend_from_slice(&port.to_be_bytes());
        frame.extend_from_slice(&53u16.to_be_bytes());
        frame.extend_from_slice(&12u16.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 1, 2, 3, 4]);
        let mut out = Vec::with_capacity(16 + frame.len());
        out.extend_from_slice(&((ms / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&((ms % 1000 * 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
        out
    }

    /// `n` flows of one packet each, 1 ms apart from `start_ms`: with a 1 s
    /// idle timeout about 1000 are open at a time, and they end one by one.
    fn short_flows(start_ms: u64, n: u64) -> Vec<u8> {
        (0..n)
            .flat_map(|i| udp_record(start_ms + i, 1024 + (i % 60_000) as u16))
            .collect()
    }

    /// `n` packets of one flow (port 7), 1 ms apart from `start_ms`: no flow
    /// ends while they are read, so nothing is sent downstream.
    fn one_long_flow(start_ms: u64, n: u64) -> Vec<u8> {
        (0..n).flat_map(|i| udp_record(start_ms + i, 7)).collect()
    }

    fn options(threads: usize) -> ExtractOptions {
        ExtractOptions {
            threads,
            batch_rows: 1,
            flow: FlowConfig {
                idle_timeout_ns: Some(1_000_000_000),
                ..FlowConfig::default()
            },
            ..ExtractOptions::default()
        }
    }

    fn write_capture(path: &Path, body: &[u8]) {
        let mut bytes = pcap_header();
        bytes.extend_from_slice(body);
        std::fs::write(path, bytes).unwrap();
    }

    /// Keeps the largest numbers a progress observer was shown.
    #[derive(Default)]
    struct Seen {
        packets: u64,
        active: usize,
        bytes: u64,
    }

    impl ProgressObserver for Seen {
        fn update(&mut self, p: &Progress<'_>) {
            self.packets = self.packets.max(p.packets_read);
            self.active = self.active.max(p.active_flows);
            self.bytes = self.bytes.max(p.bytes_read);
        }
    }

    /// With several inputs read at once (`-j 2`), progress used to say 0
    /// bytes, 0 packets and 0 open flows. The workers now publish their
    /// counts every 1024 records: while the run goes on, an observer sees
    /// them move (the first batches come after record 1000, when the first
    /// flows time out; the worker is at most a few batches ahead of the
    /// writer, so its input is not finished yet), and at the end they add
    /// up to the summary.
    #[test]
    fn live_counters_follow_inputs_read_in_parallel() {
        let dir = tempfile::tempdir().unwrap();
        let inputs: Vec<InputSource> = (0..3)
            .map(|i| {
                let path = dir.path().join(format!("{i}.pcap"));
                write_capture(&path, &short_flows(0, 5000));
                InputSource::File(path)
            })
            .collect();
        let sizes: u64 = inputs.iter().map(|i| i.size().unwrap()).sum();
        let extractor = Extractor::new(options(2));
        let live = extractor.live_counters();
        let mut seen = Seen::default();
        let summary = extractor
            .run_with_progress(
                &inputs,
                &mut |_| Ok::<(), std::convert::Infallible>(()),
                &mut seen,
            )
            .unwrap();
        assert_eq!(summary.packets_read, 15_000);
        assert!(seen.packets >= 1024, "packets shown: {}", seen.packets);
        assert!(seen.active >= 500, "open flows shown: {}", seen.active);
        assert!(seen.bytes > 0);
        assert_eq!(live.packets_read(), summary.packets_read);
        assert_eq!(live.bytes_read(), sizes);
        assert_eq!(live.active_flows(), 0, "every table has ended");
        assert_eq!(live.inputs_done(), 3);
    }

    /// One input split into shards (`-j 2`): packets and bytes are counted
    /// too (the shards' open flows are not).
    #[test]
    fn live_counters_follow_a_sharded_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.pcap");
        write_capture(&path, &short_flows(0, 5000));
        let input = InputSource::File(path);
        let extractor = Extractor::new(options(2));
        let live = extractor.live_counters();
        let summary = extractor
            .run(std::slice::from_ref(&input), &mut |_| {
                Ok::<(), std::convert::Infallible>(())
            })
            .unwrap();
        assert_eq!(live.packets_read(), summary.packets_read);
        assert_eq!(live.packets_read(), 5000);
        assert_eq!(live.bytes_read(), input.size().unwrap());
        assert_eq!(live.inputs_done(), 1);
    }

    #[derive(Debug)]
    struct Full;

    impl std::fmt::Display for Full {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("disk full")
        }
    }

    impl std::error::Error for Full {}

    /// A named pipe for a test capture, and a thread that writes `head`, then
    /// waits for `go` (if any), then writes `tail`, stopping at the first
    /// failed write (the reader closed the pipe). The thread returns the bytes
    /// of the tail it wrote and calls `closed` when a write failed.
    fn fifo_writer(
        path: &Path,
        head: Vec<u8>,
        go: Option<std::sync::mpsc::Receiver<()>>,
        tail: Vec<u8>,
        closed: impl FnOnce() + Send + 'static,
    ) -> std::thread::JoinHandle<usize> {
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(made.success());
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            // Blocks until a reader opens the pipe.
            let mut pipe = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            if pipe.write_all(&head).is_err() {
                closed();
                return 0;
            }
            if let Some(go) = go {
                // The sender is dropped when the test is over: go on then.
                let _ = go.recv();
            }
            let mut written = 0;
            for chunk in tail.chunks(4096) {
                if pipe.write_all(chunk).is_err() {
                    closed();
                    return written;
                }
                written += chunk.len();
            }
            written
        })
    }

    /// Opens a named pipe for reading without blocking, which lets a writer
    /// still waiting for a reader go on (and fail at once when this is
    /// dropped).
    fn release(path: &Path) -> std::fs::File {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(path)
            .unwrap()
    }

    /// A writer that fails must stop the other workers of `-j 2` rather than
    /// let them read their inputs to the end: the worker reading `b` stops
    /// within 1024 records, and `c` is never started.
    ///
    /// `a` and `b` are named pipes so that the test knows when things happen,
    /// without timing. `a` starts with 64 short flows that end one by one
    /// (one batch each); the writer fails on the first. Its worker is then
    /// blocked sending later batches, and closes `a` only once the failure is
    /// known (the run drops its receivers after setting the stop flag): the
    /// writer of `a` then fails, and only then lets the writer of `b` write
    /// the 12 MB that follow `b`'s first packets, all of one flow, so
    /// nothing is sent while they are read. Before the fix the worker read
    /// them all, and the first worker went on to read `c` whole.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_failing_writer_stops_the_other_workers() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a.pcap"),
            dir.path().join("b.pcap"),
            dir.path().join("c.pcap"),
        );
        let mut a_head = pcap_header();
        a_head.extend(short_flows(0, 64));
        let a_tail = one_long_flow(100, 200_000);
        let (go_b, b_may_go) = std::sync::mpsc::channel::<()>();
        let a_writer = fifo_writer(&a, a_head, None, a_tail, move || {
            let _ = go_b.send(());
        });
        let mut b_head = pcap_header();
        b_head.extend(one_long_flow(0, 10));
        let b_tail = one_long_flow(10, 200_000);
        let b_tail_len = b_tail.len();
        let b_writer = fifo_writer(&b, b_head, Some(b_may_go), b_tail, || {});
        write_capture(&c, &one_long_flow(0, 200_000));
        let c_size = std::fs::metadata(&c).unwrap().len();

        let extractor = Extractor::new(options(2));
        let live = extractor.live_counters();
        let inputs = [a.clone(), b.clone(), c].map(InputSource::File);
        let result = extractor.run(&inputs, &mut |_| Err(Full));
        assert!(result.is_err(), "the writer's failure fails the run");

        // Writers whose reader never came (or has gone) finish now.
        let _a_reader = release(&a);
        let _b_reader = release(&b);
        drop(_a_reader);
        drop(_b_reader);
        a_writer.join().unwrap();
        let b_written = b_writer.join().unwrap();
        assert!(
            b_written < b_tail_len,
            "the worker reading b read all of it ({b_written} bytes)"
        );
        assert!(
            live.bytes_read() < c_size,
            "c was read: {} bytes read in all",
            live.bytes_read()
        );
    }
}
