//! The extraction driver: reads inputs one after another, runs every packet
//! through decode and the flow table, and hands record batches to the caller.

use crate::batch::cic::{CicVocab, cic_profile_columns};
use crate::batch::{
    Column, DEFAULT_BATCH_ROWS, FlowBatchBuilder, PacketBatchBuilder, PacketColumn, SEED_COLUMNS,
    STANDARD_COLUMNS, full_extra_columns, nfstream_columns,
};
use crate::capture::{CaptureFormat, CaptureReader, InputSource, ReadCounter};
use crate::decode::SkipReason;
use crate::features::{CicConfig, CicFeatures, FullConfig, FullFeatures, StandardFeatures};
use crate::flow::{FinishedFlow, FlowConfig, FlowFeatures, FlowTable, TableCounters};
use crate::live::{ActiveFlowsGauge, CHECK_EVERY, Checkpoint, LiveCounters, StopFlags};
use crate::stream::{PacketStream, Step, StreamMode};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A named set of columns and the flow rules that go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// flowq's default columns (see docs/features.md).
    #[default]
    Standard,
    /// The original scapy script's CSV: unidirectional flows, no timeouts, captured
    /// bytes, rows in order of each flow's first packet.
    Seed,
    /// The standard columns plus per-direction statistics, TCP details, activity
    /// periods and the early-flow sequence.
    Full,
    /// NFStream 6.6's column names, order and units.
    Nfstream,
    /// CICFlowMeter's features under the CIC-IDS2017 header.
    Cic2017,
    /// CICFlowMeter's features under the CSE-CIC-IDS2018 names.
    Cic2018,
    /// CICFlowMeter's features under its current names, with the corrected
    /// fork's columns.
    Cic,
}

impl Profile {
    /// The profile's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Standard => "standard",
            Profile::Seed => "seed",
            Profile::Full => "full",
            Profile::Nfstream => "nfstream",
            Profile::Cic2017 => "cic2017",
            Profile::Cic2018 => "cic2018",
            Profile::Cic => "cic",
        }
    }

    /// The CICFlowMeter vocabulary of a CIC profile.
    pub fn cic_vocab(self) -> Option<CicVocab> {
        match self {
            Profile::Cic2017 => Some(CicVocab::Cic2017),
            Profile::Cic2018 => Some(CicVocab::Cic2018),
            Profile::Cic => Some(CicVocab::Cic),
            _ => None,
        }
    }

    /// Which per-flow state the profile needs.
    fn state(self) -> State {
        match self {
            Profile::Standard | Profile::Seed => State::Standard,
            Profile::Full | Profile::Nfstream => State::Full,
            Profile::Cic2017 | Profile::Cic2018 | Profile::Cic => State::Cic,
        }
    }

    /// The active timeout the profile uses unless told otherwise (ns): the CIC
    /// profiles use CICFlowMeter's 120 s flow timeout.
    pub fn default_active_timeout_ns(self) -> Option<i64> {
        match self {
            Profile::Seed => None,
            Profile::Cic2017 | Profile::Cic2018 | Profile::Cic => Some(120_000_000_000),
            _ => Some(1_800_000_000_000),
        }
    }
}

/// The per-flow state types, one per family of profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Standard,
    Full,
    Cic,
}

/// Packets the `full` profile's early-flow sequence keeps unless told otherwise.
pub const DEFAULT_SPLT_LEN: u16 = 10;

/// Everything that decides what an extraction produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ExtractOptions {
    /// Columns and compatibility rules.
    pub profile: Profile,
    /// Flow formation and timeouts (the `seed` profile overrides them).
    pub flow: FlowConfig,
    /// Rows per record batch.
    pub batch_rows: usize,
    /// Flow-table shards per capture (1 = everything on the calling thread). The
    /// output is identical whatever the number.
    pub threads: usize,
    /// Packets of the early-flow sequence (`full` and `nfstream` profiles; 0 = no
    /// sequence columns).
    pub splt_len: u16,
    /// `nfstream` profile: add NFStream's 48 statistical columns.
    pub nfstream_stats: bool,
    /// CIC profiles: reproduce CICFlowMeter's arithmetic bugs.
    pub cic_bugs: bool,
    /// CIC profiles: write `Timestamp` as CICFlowMeter's text.
    pub cic_original_timestamp: bool,
    /// Key tunnelled packets on their inner IP packet (GRE, ERSPAN, VXLAN,
    /// Geneve, GTP-U, IP-in-IP; the `nfstream` profile: IP-in-IP and GTP-U only);
    /// `false` keys them on the outermost IP header. The `seed` profile ignores it.
    pub decapsulate: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            profile: Profile::Standard,
            flow: FlowConfig::default(),
            batch_rows: DEFAULT_BATCH_ROWS,
            threads: 1,
            splt_len: DEFAULT_SPLT_LEN,
            nfstream_stats: false,
            cic_bugs: false,
            cic_original_timestamp: false,
            decapsulate: true,
        }
    }
}

impl ExtractOptions {
    /// The profile's columns with these options, in order.
    pub fn columns(&self) -> Vec<Column> {
        match self.profile {
            Profile::Standard => STANDARD_COLUMNS.to_vec(),
            Profile::Seed => SEED_COLUMNS.to_vec(),
            Profile::Full => {
                let mut columns = STANDARD_COLUMNS.to_vec();
                columns.extend(full_extra_columns(self.splt_len > 0));
                columns
            }
            Profile::Nfstream => nfstream_columns(self.nfstream_stats, self.splt_len > 0),
            Profile::Cic2017 | Profile::Cic2018 | Profile::Cic => {
                let vocab = self.profile.cic_vocab().unwrap_or(CicVocab::Cic);
                cic_profile_columns(vocab, self.cic_original_timestamp)
            }
        }
    }

    /// The CSV header line to write instead of the schema's names (the CIC
    /// profiles' published headers, with cic2017's duplicated column).
    pub fn csv_header(&self) -> Option<String> {
        self.profile.cic_vocab().map(crate::batch::cic::cic_header)
    }

    /// Whether CSV outputs spell infinities and NaN as CICFlowMeter (Java)
    /// did, `Infinity` and `NaN`: only `--cic-compat bugs` produces them.
    pub fn csv_java_non_finite(&self) -> bool {
        self.cic_bugs && self.profile.cic_vocab().is_some()
    }

    /// Settings of the statistical state.
    fn full_config(&self) -> FullConfig {
        FullConfig {
            splt_len: self.splt_len,
        }
    }

    fn cic_config(&self) -> CicConfig {
        CicConfig {
            full: FullConfig { splt_len: 0 },
            bugs: self.cic_bugs,
        }
    }

    /// The flow rules actually applied: the `seed` profile reproduces the original
    /// script, which had no timeouts, no TCP close and one-way flows.
    pub fn effective_flow_config(&self) -> FlowConfig {
        match self.profile {
            Profile::Standard
            | Profile::Full
            | Profile::Cic2017
            | Profile::Cic2018
            | Profile::Cic => self.flow,
            Profile::Seed => FlowConfig {
                bidirectional: false,
                idle_timeout_ns: None,
                active_timeout_ns: None,
                tcp_close: false,
                close_grace_ns: 0,
                syn_ack_reverses: false,
                max_flows: self.flow.max_flows,
            },
            // NFStream ends flows by timeouts only, and its src is always the
            // first packet's source.
            Profile::Nfstream => FlowConfig {
                bidirectional: true,
                tcp_close: false,
                close_grace_ns: 0,
                syn_ack_reverses: false,
                ..self.flow
            },
        }
    }
}

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
    /// Packet records read.
    pub packets_read: u64,
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
    /// Packet records read from all inputs.
    pub packets_read: u64,
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
    /// The run was stopped early (Ctrl-C): inputs end where reading stopped,
    /// and later inputs were not read.
    pub interrupted: bool,
    /// Wall-clock seconds the run took.
    pub elapsed_seconds: f64,
    /// Per-input details, in input order.
    pub inputs: Vec<InputSummary>,
}

impl RunSummary {
    /// Adds the summary of a run over later inputs to this one.
    fn absorb(&mut self, other: RunSummary) {
        self.packets_read += other.packets_read;
        self.packets_in_flows += other.packets_in_flows;
        for (reason, n) in other.skipped {
            *self.skipped.entry(reason).or_default() += n;
        }
        self.flows_written += other.flows_written;
        self.flows_not_written += other.flows_not_written;
        self.transport_incomplete += other.transport_incomplete;
        self.orphan_fragments += other.orphan_fragments;
        self.backward_timestamps += other.backward_timestamps;
        self.peak_active_flows = self.peak_active_flows.max(other.peak_active_flows);
        self.evicted_flows += other.evicted_flows;
        self.memory_evicted_flows += other.memory_evicted_flows;
        self.timestamp_outliers += other.timestamp_outliers;
        self.interrupted |= other.interrupted;
        self.unknown_interface_blocks += other.unknown_interface_blocks;
        self.simple_packet_blocks += other.simple_packet_blocks;
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
    /// Packets read so far in the whole run (see [`LiveCounters::packets_read`]).
    pub packets_read: u64,
    /// Flows open (see [`LiveCounters::active_flows`]).
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

/// Why an extraction stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError<E: std::error::Error + 'static> {
    /// The batch consumer (usually a sink) failed; the run stopped.
    #[error(transparent)]
    Consumer(E),
}

/// Runs extractions with fixed options.
#[derive(Debug, Clone)]
pub struct Extractor {
    options: ExtractOptions,
    /// The flow columns to build (a subset of the profile's, for projections).
    columns: Vec<Column>,
    /// Set from elsewhere (a Ctrl-C handler, a consumer that went away) to
    /// stop reading: the inputs end where they are, open flows are written, and
    /// the summary says `interrupted`.
    cancel: StopFlags,
    /// What the runs publish while they run.
    live: Arc<LiveCounters>,
}

/// The rows an extraction produces.
enum Rows<'a> {
    Flows(&'a mut FlowBatchBuilder),
    Packets(&'a mut PacketBatchBuilder),
}

impl Rows<'_> {
    fn cut_if_buffered(&mut self) -> Option<RecordBatch> {
        match self {
            Rows::Flows(b) => (b.buffered_rows() > 0).then(|| b.cut()),
            Rows::Packets(b) => (b.buffered_rows() > 0).then(|| b.cut()),
        }
    }
}

const PROGRESS_EVERY: u64 = 1 << 16;

impl Extractor {
    /// An extractor with `options`.
    pub fn new(options: ExtractOptions) -> Self {
        Extractor {
            options,
            columns: options.columns(),
            cancel: StopFlags::default(),
            live: Arc::default(),
        }
    }

    /// Builds only `columns` (in this order) instead of all of the profile's: the
    /// flow table still runs in full, but unused columns cost nothing to build.
    pub fn with_columns(mut self, columns: Vec<Column>) -> Self {
        self.columns = columns;
        self
    }

    /// Stops the run soon after `cancel` becomes true (checked every 1024
    /// records, and before each input). Given several flags, the run stops
    /// when any of them is set.
    pub fn with_cancel(mut self, cancel: Arc<AtomicBool>) -> Self {
        self.cancel.add(cancel);
        self
    }

    /// Counters that the runs of this extractor (and of its clones) update
    /// while they run, for another thread to show progress with.
    pub fn live_counters(&self) -> Arc<LiveCounters> {
        Arc::clone(&self.live)
    }

    /// The options in use.
    pub fn options(&self) -> &ExtractOptions {
        &self.options
    }

    /// The schema of the batches [`run`](Self::run) produces.
    pub fn schema(&self) -> SchemaRef {
        crate::batch::schema_of(&self.columns)
    }

    /// Extracts flows from `inputs` (each one on its own: flows do not continue from
    /// one file into the next), passing batches to `consume` in output order.
    pub fn run<E: std::error::Error + 'static>(
        &self,
        inputs: &[InputSource],
        consume: &mut dyn FnMut(RecordBatch) -> Result<(), E>,
    ) -> Result<RunSummary, ExtractError<E>> {
        self.run_with_progress(inputs, consume, &mut ())
    }

    /// Like [`run`](Self::run), reporting progress to `observer`.
    pub fn run_with_progress<E: std::error::Error + 'static>(
        &self,
        inputs: &[InputSource],
        consume: &mut dyn FnMut(RecordBatch) -> Result<(), E>,
        observer: &mut dyn ProgressObserver,
    ) -> Result<RunSummary, ExtractError<E>> {
        if self.options.threads > 1 && inputs.len() > 1 {
            return self.run_inputs_in_parallel(inputs, consume, observer);
        }
        let mut builder = FlowBatchBuilder::new(&self.columns, self.options.batch_rows);
        builder.set_flow_timeout(self.options.effective_flow_config().active_timeout_ns);
        self.drive(inputs, Rows::Flows(&mut builder), consume, observer)
    }

    /// Several inputs at once, one per thread (each single-threaded), written in
    /// input order with the `flow_id`s they would have had when read one after
    /// another. At most `threads` inputs are in flight, each holding at most two
    /// batches waiting to be written.
    fn run_inputs_in_parallel<E: std::error::Error + 'static>(
        &self,
        inputs: &[InputSource],
        consume: &mut dyn FnMut(RecordBatch) -> Result<(), E>,
        observer: &mut dyn ProgressObserver,
    ) -> Result<RunSummary, ExtractError<E>> {
        enum Message {
            Batch(RecordBatch),
            Done(Box<RunSummary>),
        }
        let started = Instant::now();
        // Set when `consume` fails: the workers then stop reading (checked
        // every 1024 records) and start no other input, rather than read
        // their inputs to the end for a writer that is gone.
        let failed = Arc::new(AtomicBool::new(false));
        let one = Extractor {
            options: ExtractOptions {
                threads: 1,
                ..self.options
            },
            columns: self.columns.clone(),
            cancel: self.cancel.with(Arc::clone(&failed)),
            live: Arc::clone(&self.live),
        };
        let id_columns: Vec<usize> = (self.columns.iter().enumerate())
            .filter(|(_, c)| c.is_run_packet_ordinal())
            .map(|(i, _)| i)
            .collect();
        let mut receivers = Vec::with_capacity(inputs.len());
        let mut senders = Vec::with_capacity(inputs.len());
        for _ in inputs {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(2);
            senders.push(Some(tx));
            receivers.push(rx);
        }
        let senders = std::sync::Mutex::new(senders);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = self.options.threads.min(inputs.len());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        if one.cancel.is_set() {
                            // Stopped (Ctrl-C, or the writer failed): no input
                            // is started any more. Dropping the senders of the
                            // inputs not taken yet ends their receivers, so the
                            // merge below does not wait for them.
                            if let Ok(mut senders) = senders.lock() {
                                senders.iter_mut().for_each(|s| *s = None);
                            }
                            return;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else {
                            return;
                        };
                        let Some(tx) = senders.lock().ok().and_then(|mut s| s[i].take()) else {
                            return;
                        };
                        let result = one.run(std::slice::from_ref(input), &mut |batch| {
                            tx.send(Message::Batch(batch)).map_err(|_| Stopped)
                        });
                        match result {
                            Ok(summary) => {
                                if tx.send(Message::Done(Box::new(summary))).is_err() {
                                    return;
                                }
                            }
                            // The writer stopped: nothing more is wanted.
                            Err(ExtractError::Consumer(Stopped)) => return,
                        }
                    }
                });
            }
            let mut summary = RunSummary::default();
            for reason in SkipReason::ALL {
                summary.skipped.insert(reason.name(), 0);
            }
            let mut rows_consumed = 0u64;
            for (index, receiver) in receivers.into_iter().enumerate() {
                // Ids continue across inputs exactly as in a sequential run.
                let offset = summary.packets_read;
                let name = inputs[index].to_string();
                for message in receiver.iter() {
                    match message {
                        Message::Batch(batch) => {
                            let batch = shift_ids(batch, &id_columns, offset);
                            rows_consumed += batch.num_rows() as u64;
                            if let Err(e) = consume(batch) {
                                failed.store(true, Ordering::Relaxed);
                                return Err(ExtractError::Consumer(e));
                            }
                            observer.update(&Progress {
                                input: &name,
                                input_index: index,
                                input_count: inputs.len(),
                                input_bytes_read: 0,
                                bytes_read: self.live.bytes_read(),
                                packets_read: self.live.packets_read(),
                                active_flows: usize::try_from(self.live.active_flows())
                                    .unwrap_or(usize::MAX),
                                flows_written: rows_consumed,
                            });
                        }
                        Message::Done(part) => {
                            summary.absorb(*part);
                            break;
                        }
                    }
                }
            }
            // Stopped before some input started: those inputs were not read.
            summary.interrupted |= self.cancel.is_set();
            summary.elapsed_seconds = started.elapsed().as_secs_f64();
            Ok(summary)
        })
    }

    /// Extracts packets instead of flows: one row per IP packet, with the
    /// `flow_id` of the flow it is counted in. Only `columns` are built.
    pub fn run_packets<E: std::error::Error + 'static>(
        &self,
        inputs: &[InputSource],
        columns: &[PacketColumn],
        consume: &mut dyn FnMut(RecordBatch) -> Result<(), E>,
    ) -> Result<RunSummary, ExtractError<E>> {
        let mut builder = PacketBatchBuilder::new(columns, self.options.batch_rows);
        self.drive(inputs, Rows::Packets(&mut builder), consume, &mut ())
    }

    fn drive<E: std::error::Error + 'static>(
        &self,
        inputs: &[InputSource],
        mut rows: Rows<'_>,
        consume: &mut dyn FnMut(RecordBatch) -> Result<(), E>,
        observer: &mut dyn ProgressObserver,
    ) -> Result<RunSummary, ExtractError<E>> {
        let started = Instant::now();
        let mut summary = RunSummary::default();
        for reason in SkipReason::ALL {
            summary.skipped.insert(reason.name(), 0);
        }
        for (index, input) in inputs.iter().enumerate() {
            let name = input.to_string();
            let mut run = InputRun {
                options: &self.options,
                rows: &mut rows,
                consume: &mut *consume,
                observer: &mut *observer,
                summary: &mut summary,
                name: &name,
                index,
                count: inputs.len(),
                failed: None,
                cancel: self.cancel.clone(),
                live: &self.live,
            };
            let input_summary = run.extract(input);
            if let Some(e) = run.failed.take() {
                summary.inputs.push(input_summary);
                return Err(ExtractError::Consumer(e));
            }
            summary.inputs.push(input_summary);
            // Batches never span inputs, so that reading inputs in parallel gives
            // the same batches (and byte-identical files).
            if let Some(batch) = rows.cut_if_buffered() {
                consume(batch).map_err(ExtractError::Consumer)?;
            }
            if summary.interrupted {
                break;
            }
        }
        summary.elapsed_seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }
}

/// State of the extraction of one input.
struct InputRun<'r, 'b, E> {
    options: &'r ExtractOptions,
    rows: &'r mut Rows<'b>,
    consume: &'r mut dyn FnMut(RecordBatch) -> Result<(), E>,
    observer: &'r mut dyn ProgressObserver,
    summary: &'r mut RunSummary,
    name: &'r str,
    index: usize,
    count: usize,
    /// The consumer's error, which stops the run.
    failed: Option<E>,
    cancel: StopFlags,
    live: &'r Arc<LiveCounters>,
}

impl<E> InputRun<'_, '_, E> {
    fn extract(&mut self, input: &InputSource) -> InputSummary {
        let mut result = InputSummary {
            name: self.name.to_string(),
            format: None,
            status: InputStatus::Complete,
            message: None,
            packets_read: 0,
            packets_in_flows: 0,
            skipped: SkipReason::ALL.iter().map(|r| (r.name(), 0)).collect(),
            flows: 0,
        };
        let counter = self.live.input_counter();
        let opened = input.open_capture(counter.clone());
        let mut reader = match opened {
            Ok(reader) => reader,
            Err(e) => {
                result.status = InputStatus::Failed;
                result.message = Some(e.to_string());
                self.live.input_done();
                return result;
            }
        };
        result.format = Some(reader.format());
        // Flow and packet ids count packets across the inputs of one run.
        let id_offset = self.summary.packets_read;
        if let Rows::Flows(builder) = self.rows {
            builder.set_timestamp_style(reader.timestamp_style());
            builder.set_id_offset(id_offset);
        }

        let mode = StreamMode::of(self.options);
        let flows_before = self.summary.flows_written;
        let sharded = self.options.threads > 1 && matches!(self.rows, Rows::Flows(_));
        let (full, cic) = (self.options.full_config(), self.options.cic_config());
        let r = &mut reader;
        let (mut stream, table_counters) = match (self.options.profile.state(), sharded) {
            (State::Standard, false) => {
                self.extract_single::<StandardFeatures>(r, mode, id_offset, &counter, ())
            }
            (State::Standard, true) => {
                self.extract_sharded::<StandardFeatures>(r, mode, &counter, ())
            }
            (State::Full, false) => {
                self.extract_single::<FullFeatures>(r, mode, id_offset, &counter, full)
            }
            (State::Full, true) => self.extract_sharded::<FullFeatures>(r, mode, &counter, full),
            (State::Cic, false) => {
                self.extract_single::<CicFeatures>(r, mode, id_offset, &counter, cic)
            }
            (State::Cic, true) => self.extract_sharded::<CicFeatures>(r, mode, &counter, cic),
        };
        let ordinal = stream.records;
        let in_flows = stream.counts().in_flows;
        let skipped = stream.counts().skipped;
        let end_error = stream.end_error.as_ref().map(ToString::to_string);
        let reader_counters = stream.reader().counters();
        let orphans = stream.orphan_fragments();
        let outliers = stream.timestamp_outliers();
        let interrupted = stream.interrupted;
        let incomplete = stream.counts().incomplete;
        stream.publish_records();
        drop(stream);
        self.live.input_done();

        if let Some(e) = end_error {
            result.status = InputStatus::Partial;
            result.message = Some(e);
        }
        result.packets_read = ordinal;
        result.packets_in_flows = in_flows;
        for reason in SkipReason::ALL {
            result
                .skipped
                .insert(reason.name(), skipped[reason.index()]);
            *self.summary.skipped.entry(reason.name()).or_default() += skipped[reason.index()];
        }
        result.flows = self.summary.flows_written - flows_before;

        let s = &mut *self.summary;
        s.packets_read += ordinal;
        s.packets_in_flows += in_flows;
        s.transport_incomplete += incomplete;
        s.orphan_fragments += orphans;
        s.backward_timestamps += table_counters.backward_timestamps;
        s.peak_active_flows = s.peak_active_flows.max(table_counters.peak_active_flows);
        s.evicted_flows += table_counters.evicted_flows;
        s.memory_evicted_flows += table_counters.memory_evicted_flows;
        s.timestamp_outliers += outliers;
        if interrupted {
            s.interrupted = true;
            result.status = InputStatus::Partial;
            result.message = Some("interrupted".to_string());
        }
        s.unknown_interface_blocks += reader_counters.unknown_interface;
        s.simple_packet_blocks += reader_counters.simple_packet_blocks;
        self.report(&counter, ordinal, 0);
        result
    }

    /// One table on this thread; also the path for the `packets` rows, which need
    /// each packet's placement as it is counted.
    fn extract_single<'c, F: FlowFeatures>(
        &mut self,
        reader: &'c mut CaptureReader,
        mode: StreamMode,
        id_offset: u64,
        counter: &ReadCounter,
        features: F::Config,
    ) -> (PacketStream<'c>, TableCounters) {
        let mut table: FlowTable<F> =
            FlowTable::new(self.options.effective_flow_config(), features);
        let checkpoint = Checkpoint::new(self.cancel.clone(), Arc::clone(self.live));
        let mut stream = PacketStream::new(reader, mode, checkpoint);
        let mut active = ActiveFlowsGauge::new(Arc::clone(self.live));
        loop {
            let decoded = match stream.step() {
                Step::Packet(d) => d,
                Step::Skipped | Step::Held => continue,
                Step::End => break,
            };
            let (rows, consume, failed, summary) = (
                &mut *self.rows,
                &mut *self.consume,
                &mut self.failed,
                &mut *self.summary,
            );
            let placement =
                table.process_at(&decoded.view, decoded.ordinal, decoded.clock, &mut |flow| {
                    emit(flow, rows, consume, failed, summary)
                });
            if let Rows::Packets(builder) = rows
                && let Some(batch) =
                    builder.push(&decoded.view, decoded.ordinal, placement, id_offset)
                && let Err(e) = consume(batch)
            {
                *failed = Some(e);
            }
            if self.failed.is_some() {
                break;
            }
            if stream.records.is_multiple_of(CHECK_EVERY) {
                active.set(table.active_flows());
                if stream.records.is_multiple_of(PROGRESS_EVERY) {
                    let records = stream.records;
                    self.report(counter, records, table.active_flows());
                }
            }
        }
        if self.failed.is_none() {
            let (rows, consume, failed, summary) = (
                &mut *self.rows,
                &mut *self.consume,
                &mut self.failed,
                &mut *self.summary,
            );
            table.finish(None, &mut |flow| emit(flow, rows, consume, failed, summary));
        }
        (stream, table.counters())
    }

    /// A reader thread and `threads` flow-table shards; flows merged here.
    fn extract_sharded<'c, F: FlowFeatures>(
        &mut self,
        reader: &'c mut CaptureReader,
        mode: StreamMode,
        counter: &ReadCounter,
        features: F::Config,
    ) -> (PacketStream<'c>, TableCounters) {
        let config = self.options.effective_flow_config();
        let threads = self.options.threads;
        let (rows, consume, failed, summary, observer) = (
            &mut *self.rows,
            &mut *self.consume,
            &mut self.failed,
            &mut *self.summary,
            &mut *self.observer,
        );
        let (name, index, count) = (self.name, self.index, self.count);
        let flows_before = summary.flows_written;
        let live = self.live;
        let checkpoint = Checkpoint::new(self.cancel.clone(), Arc::clone(live));
        crate::shard::run::<F>(
            PacketStream::new(reader, mode, checkpoint),
            config,
            features,
            threads,
            live,
            &mut |flow| {
                emit(flow, rows, consume, failed, summary);
                failed.is_none()
            },
            &mut |flows_done| {
                observer.update(&Progress {
                    input: name,
                    input_index: index,
                    input_count: count,
                    input_bytes_read: counter.get(),
                    bytes_read: live.bytes_read(),
                    packets_read: live.packets_read(),
                    // The shards publish their tables' sizes.
                    active_flows: usize::try_from(live.active_flows()).unwrap_or(usize::MAX),
                    flows_written: flows_before + flows_done,
                })
            },
        )
    }

    fn report(&mut self, counter: &ReadCounter, packets: u64, active_flows: usize) {
        self.observer.update(&Progress {
            input: self.name,
            input_index: self.index,
            input_count: self.count,
            input_bytes_read: counter.get(),
            bytes_read: self.live.bytes_read(),
            packets_read: self.summary.packets_read + packets,
            active_flows,
            flows_written: self.summary.flows_written,
        });
    }
}

fn emit<E, F: FlowFeatures>(
    flow: FinishedFlow<F>,
    rows: &mut Rows<'_>,
    consume: &mut dyn FnMut(RecordBatch) -> Result<(), E>,
    failed: &mut Option<E>,
    summary: &mut RunSummary,
) {
    if failed.is_some() {
        return;
    }
    if !flow.features.written() {
        summary.flows_not_written += 1;
        return;
    }
    summary.flows_written += 1;
    if let Rows::Flows(builder) = rows
        && let Some(batch) = builder.push(flow)
        && let Err(e) = consume(batch)
    {
        *failed = Some(e);
    }
}

/// The consumer of a worker's batches went away.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the writer stopped")
    }
}

impl std::error::Error for Stopped {}

/// Adds `offset` to the run-wide packet-ordinal columns (`flow_id`, `id`) at
/// `columns`.
fn shift_ids(batch: RecordBatch, columns: &[usize], offset: u64) -> RecordBatch {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;
    let Ok(offset) = i64::try_from(offset) else {
        return batch;
    };
    if offset == 0 || columns.is_empty() {
        return batch;
    }
    let mut arrays = batch.columns().to_vec();
    for &column in columns {
        // Both id columns are Int64 (a unit test checks it).
        let Some(ids) = batch.column(column).as_primitive_opt::<Int64Type>() else {
            continue;
        };
        let shifted: arrow::array::Int64Array = ids.unary(|id| id.saturating_add(offset));
        arrays[column] = std::sync::Arc::new(shifted) as std::sync::Arc<dyn Array>;
    }
    RecordBatch::try_new(batch.schema(), arrays).unwrap_or(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `shift_ids` skips columns that are not Int64: the id columns must be.
    #[test]
    fn run_packet_ordinal_columns_are_int64() {
        use crate::batch::NfColumn;
        for column in [Column::FlowId, Column::Nf(NfColumn::Id)] {
            assert!(column.is_run_packet_ordinal());
            let field = crate::batch::schema_of(&[column]).field(0).clone();
            assert_eq!(
                field.data_type(),
                &arrow::datatypes::DataType::Int64,
                "{column:?}"
            );
        }
    }
}
