//! What a run reports: the [`RunSummary`] with one [`InputSummary`] per input,
//! and the [`Progress`] snapshots sent while it runs.

use crate::capture::CaptureFormat;
use std::collections::BTreeMap;

/// How reading one input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputStatus {
    /// Read to its end.
    Complete,
    /// Read up to a truncated or corrupt record; the packets before it were used.
    Partial,
    /// Could not be opened or is not a capture; nothing from it was used.
    Failed,
}

/// What happened to one input.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputSummary {
    /// The input's name (path or `<stdin>`).
    pub name: String,
    /// Container format, when recognised.
    pub format: Option<CaptureFormat>,
    /// How reading ended.
    pub status: InputStatus,
    /// The error or warning that ended reading early, if any.
    pub message: Option<String>,
    /// Packet records read (after preprocessing: without dropped duplicates).
    pub packets_read: u64,
    /// Packets dropped by `--dedup` as duplicates (not in `packets_read`).
    pub duplicates_dropped: u64,
    /// Packets `--reorder-window` passed on out of timestamp order.
    pub reorder_late: u64,
    /// Packets `--reorder-window` passed on before their window closed
    /// because its buffer was full.
    pub reorder_forced: u64,
    /// Packets counted in some flow.
    pub packets_in_flows: u64,
    /// Packets skipped, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Flows written from this input.
    pub flows: u64,
}

/// The report of a whole run, printed at the end and available as JSON.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunSummary {
    /// Packet records read from all inputs, after preprocessing (the records
    /// of the inputs are `packets_read + duplicates_dropped`).
    pub packets_read: u64,
    /// Packets dropped by `--dedup` because their bytes equal a packet's
    /// within the window.
    pub duplicates_dropped: u64,
    /// Packets `--reorder-window` passed on out of timestamp order: they came
    /// later than the window allows (a later-stamped packet had gone on).
    pub reorder_late: u64,
    /// Packets `--reorder-window` passed on before their window closed
    /// because its buffer was full (docs/robustness.md).
    pub reorder_forced: u64,
    /// Packets counted in some flow.
    pub packets_in_flows: u64,
    /// Packets skipped, by reason (`packets_read = packets_in_flows + sum(skipped)`).
    pub skipped: BTreeMap<&'static str, u64>,
    /// Rows written.
    pub flows_written: u64,
    /// Flows the profile leaves out (`--cic-compat bugs` drops single-packet
    /// flows, as CICFlowMeter did).
    pub flows_not_written: u64,
    /// Packets in flows whose transport header was cut off or invalid (they were
    /// keyed with the ports that could be read, 0 otherwise).
    pub transport_incomplete: u64,
    /// Later IP fragments whose first fragment was never seen (keyed with ports 0).
    pub orphan_fragments: u64,
    /// IPComp packets whose payload did not inflate (not DEFLATE, damaged,
    /// cut off, or larger than an IP datagram): each stays the IPComp packet
    /// of its outer flow (docs/capture.md, "Tunnels").
    pub ipcomp_not_inflated: u64,
    /// Packets stamped earlier than a packet before them in the same input.
    pub backward_timestamps: u64,
    /// Largest number of flows open at once in one input.
    pub peak_active_flows: u64,
    /// Flows ended early because the flow table was full (`--max-flows`),
    /// written with end reason `evicted`.
    pub evicted_flows: u64,
    /// Of those, flows ended because the process's flow-state budget was spent
    /// by several captures read at once rather than by `--max-flows`: which
    /// flows these were depends on what else was running, so the output is no
    /// longer a function of the inputs and options alone when this is nonzero.
    pub memory_evicted_flows: u64,
    /// Packets whose timestamp jumped more than an hour past the capture clock
    /// without the next packet confirming the jump: they were counted in their
    /// flows but did not move the clock (docs/robustness.md).
    pub timestamp_outliers: u64,
    /// pcapng packet blocks naming an undescribed interface (not counted as packets).
    pub unknown_interface_blocks: u64,
    /// pcapng simple packet blocks (timestamped with the previous packet's time).
    pub simple_packet_blocks: u64,
    /// Captures read in byte ranges on several threads (`-j N` on one
    /// uncompressed file): how they were split. All zero otherwise.
    pub parallel_reading: ParallelReading,
    /// Flows whose application data (a TLS or QUIC hello, a DNS message) was
    /// malformed: their application columns are null where the data did not
    /// parse (docs/features.md, "Application metadata").
    pub app_malformed_flows: u64,
    /// The run was stopped early (Ctrl-C): inputs end where reading stopped,
    /// and later inputs were not read.
    pub interrupted: bool,
    /// Wall-clock seconds the run took.
    pub elapsed_seconds: f64,
    /// Per-input details, in input order.
    pub inputs: Vec<InputSummary>,
}

/// How captures were split into byte ranges read on several threads. A range
/// is read on its own from the record boundary found at its start; where none
/// was found, or the range before did not end exactly on it (or, in pcapng,
/// not in the section and interfaces the range assumed), the bytes are read
/// on in sequence instead. Either way every record is read once, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ParallelReading {
    /// Captures read in ranges.
    pub captures: u64,
    /// Ranges read.
    pub ranges: u64,
    /// Split points where no record boundary was found (the range before
    /// them was read on past them).
    pub boundaries_not_found: u64,
    /// Ranges read again in sequence because the range before them did not
    /// end on their boundary or in the state they assumed.
    pub ranges_reread: u64,
    /// Ranges whose packets needed the ones before them (an IP fragment, or
    /// a timestamp over an hour ahead of the clock) or an IPComp packet
    /// (inflated out of the record): decoded again and dealt in sequence by
    /// the joining thread instead of by their worker.
    pub ranges_sequenced: u64,
}

impl ParallelReading {
    pub(crate) fn add(&mut self, other: &ParallelReading) {
        self.captures += other.captures;
        self.ranges += other.ranges;
        self.boundaries_not_found += other.boundaries_not_found;
        self.ranges_reread += other.ranges_reread;
        self.ranges_sequenced += other.ranges_sequenced;
    }
}

impl RunSummary {
    /// Adds the summary of a run over later inputs to this one (not its
    /// `elapsed_seconds`: runs may overlap).
    pub fn absorb(&mut self, other: RunSummary) {
        self.packets_read += other.packets_read;
        self.duplicates_dropped += other.duplicates_dropped;
        self.reorder_late += other.reorder_late;
        self.reorder_forced += other.reorder_forced;
        self.packets_in_flows += other.packets_in_flows;
        for (reason, n) in other.skipped {
            *self.skipped.entry(reason).or_default() += n;
        }
        self.flows_written += other.flows_written;
        self.flows_not_written += other.flows_not_written;
        self.transport_incomplete += other.transport_incomplete;
        self.orphan_fragments += other.orphan_fragments;
        self.ipcomp_not_inflated += other.ipcomp_not_inflated;
        self.backward_timestamps += other.backward_timestamps;
        self.peak_active_flows = self.peak_active_flows.max(other.peak_active_flows);
        self.evicted_flows += other.evicted_flows;
        self.memory_evicted_flows += other.memory_evicted_flows;
        self.timestamp_outliers += other.timestamp_outliers;
        self.interrupted |= other.interrupted;
        self.unknown_interface_blocks += other.unknown_interface_blocks;
        self.simple_packet_blocks += other.simple_packet_blocks;
        self.parallel_reading.add(&other.parallel_reading);
        self.app_malformed_flows += other.app_malformed_flows;
        self.inputs.extend(other.inputs);
    }

    /// Inputs that failed to open.
    pub fn failed_inputs(&self) -> usize {
        self.inputs
            .iter()
            .filter(|i| i.status == InputStatus::Failed)
            .count()
    }

    /// Inputs read only partly.
    pub fn partial_inputs(&self) -> usize {
        self.inputs
            .iter()
            .filter(|i| i.status == InputStatus::Partial)
            .count()
    }
}

/// A snapshot of a running extraction, for progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// Name of the input being read.
    pub input: &'a str,
    /// Index of that input (0-based) and the number of inputs.
    pub input_index: usize,
    /// Number of inputs.
    pub input_count: usize,
    /// Bytes read of the current input (compressed bytes for compressed
    /// inputs); 0 when several inputs are read at once.
    pub input_bytes_read: u64,
    /// Bytes read so far in the whole run, all inputs.
    pub bytes_read: u64,
    /// Packets read so far in the whole run (see [`LiveCounters::packets_read`](crate::LiveCounters::packets_read)).
    pub packets_read: u64,
    /// Flows open (see [`LiveCounters::active_flows`](crate::LiveCounters::active_flows)).
    pub active_flows: usize,
    /// Rows written so far.
    pub flows_written: u64,
}

/// Receives progress snapshots, about every 64 Ki packets and at input boundaries.
pub trait ProgressObserver {
    /// Called with the current state.
    fn update(&mut self, progress: &Progress<'_>);
}

impl ProgressObserver for () {
    fn update(&mut self, _progress: &Progress<'_>) {}
}
