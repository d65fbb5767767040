//! `flowq._native`: the engine (`flowq-extract`) for Python. The public API is
//! the `flowq` package (`python/flowq/__init__.py`); this module does what
//! needs Rust:
//!
//! * options: the keyword arguments go into the engine's [`Settings`], which
//!   checks them with the command line's messages and defaults;
//! * [`Run`]: an extraction on its own thread, handing record batches to
//!   Python through a bounded channel (at most [`QUEUED_BATCHES`] waiting, so
//!   memory stays bounded by the flow table and a few batches). Python waits
//!   with the GIL released and checks for Ctrl-C between short waits;
//! * batches and schemas cross into pyarrow through the Arrow C data
//!   interface (the arrow crate's `pyarrow` feature): pyarrow's arrays point at
//!   the buffers the engine built, nothing is copied.

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::pyarrow::ToPyArrow;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use flowq_extract::batch::role::role_of;
use flowq_extract::batch::{Column, PACKET_COLUMNS, PacketColumn, packet_schema, schema_of};
use flowq_extract::capture::{InputSource, discover_inputs};
use flowq_extract::features::DeepConfig;
use flowq_extract::flow::FLOW_STATE;
use flowq_extract::options::{MAX_SPLT_LEN, Settings, SettingsError, parse_size};
use flowq_extract::{ExtractError, Extractor, LiveCounters, Profile, RunSummary};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Batches finished by the extraction thread and not yet taken by Python.
const QUEUED_BATCHES: usize = 2;

/// How long Python waits, with the GIL released, before it looks for Ctrl-C
/// and updates a progress bar.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// The column `packets` adds (as the `packets` table of SQL over captures).
const CAPTURE_COLUMN: &str = "capture";

fn value_error(e: SettingsError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The command line's `--flag VALUE` choices, spelt as there.
fn choice(flag: &str, value: &str, choices: &[&str]) -> PyResult<usize> {
    choices.iter().position(|c| *c == value).ok_or_else(|| {
        PyValueError::new_err(format!(
            "`{value}` is not a --{flag} choice (one of {})",
            choices.join(", ")
        ))
    })
}

/// The keyword arguments of `flowq.extract` and friends, as the engine's
/// [`Settings`].
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct PyOptions {
    profile: String,
    idle_timeout: f64,
    active_timeout: Option<f64>,
    tcp_close_grace: f64,
    unidirectional: bool,
    max_flows: Option<i64>,
    flow_memory: FlowMemory,
    tunnels: String,
    splt: Option<i64>,
    stats: bool,
    cic_compat: String,
    cic_timestamp: String,
    threads: u16,
    drop_identifiers: bool,
    ppi: Option<i64>,
    ppi_pad: bool,
    ppi_all_packets: bool,
    histograms: bool,
    byte_dist: Option<i64>,
    payload_prefix: Option<i64>,
    payload_packets: Option<(i64, i64)>,
    flowpic: Option<i64>,
    no_app: bool,
    community_id_seed: i64,
    dissect: bool,
}

/// A count option as the engine's [`DeepConfig`] holds it: `None` is 0 (off);
/// 0, a negative number or one too large for the field is refused with the
/// command line's bounds.
fn count<T: TryFrom<i64> + Default>(flag: &str, value: Option<i64>, max: i64) -> PyResult<T> {
    match value {
        None => Ok(T::default()),
        Some(n) if (1..=max).contains(&n) => T::try_from(n)
            .map_err(|_| PyValueError::new_err(format!("--{flag} is at most {max}, not {n}"))),
        Some(n) => Err(PyValueError::new_err(format!(
            "--{flag} is a number from 1 to {max}, not {n}"
        ))),
    }
}

#[derive(FromPyObject)]
enum FlowMemory {
    Bytes(u64),
    Text(String),
}

impl PyOptions {
    fn settings(&self) -> PyResult<Settings> {
        let flow_memory = match &self.flow_memory {
            FlowMemory::Bytes(n) => *n,
            FlowMemory::Text(text) => parse_size(text).map_err(value_error)?,
        };
        Ok(Settings {
            profile: Profile::from_name(&self.profile).map_err(value_error)?,
            idle_timeout: self.idle_timeout,
            active_timeout: self.active_timeout,
            tcp_close_grace: self.tcp_close_grace,
            unidirectional: self.unidirectional,
            // The engine says why 0 (or less) is refused.
            max_flows: self.max_flows.map(|n| u64::try_from(n).unwrap_or(0)),
            flow_memory,
            decapsulate: choice("tunnels", &self.tunnels, &["inner", "outer"])? == 0,
            splt: match self.splt {
                None => None,
                Some(n) => Some(u16::try_from(n).map_err(|_| {
                    PyValueError::new_err(format!(
                        "--splt is a number of packets from 0 to {MAX_SPLT_LEN}, not {n}"
                    ))
                })?),
            },
            stats: self.stats,
            cic_bugs: choice("cic-compat", &self.cic_compat, &["fixed", "bugs"])? == 1,
            cic_original_timestamp: choice(
                "cic-timestamp",
                &self.cic_timestamp,
                &["utc", "original"],
            )? == 1,
            deep: self.deep()?,
            ppi_pad: self.ppi_pad,
            app: !self.no_app,
            community_id_seed: u16::try_from(self.community_id_seed).map_err(|_| {
                PyValueError::new_err(format!(
                    "--community-id-seed is a number from 0 to 65535, not {}",
                    self.community_id_seed
                ))
            })?,
            dissect: self.dissect,
        })
    }

    /// The deep-learning inputs (the command line's `--ppi`, ..., `--flowpic`).
    fn deep(&self) -> PyResult<DeepConfig> {
        let (packets, packet_len) = match self.payload_packets {
            Some((m, n)) => (Some(m), Some(n)),
            None => (None, None),
        };
        Ok(DeepConfig {
            ppi_len: count("ppi", self.ppi, 1024)?,
            ppi_every_packet: self.ppi_all_packets,
            histograms: self.histograms,
            byte_dist_len: count("byte-dist", self.byte_dist, i64::from(i32::MAX))?,
            payload_prefix_len: count("payload-prefix", self.payload_prefix, 65_535)?,
            payload_packets: count("payload-packets M", packets, 1024)?,
            payload_packet_len: count("payload-packets N", packet_len, 65_535)?,
            flowpic_secs: count("flowpic", self.flowpic, 86_400)?,
        })
    }

    fn extractor(&self) -> PyResult<Extractor> {
        if !(1..=256).contains(&self.threads) {
            return Err(PyValueError::new_err(format!(
                "threads must be between 1 and 256, not {}",
                self.threads
            )));
        }
        let settings = self.settings()?;
        let options = settings.options().map_err(value_error)?;
        // One figure for the whole process, as on the command line.
        FLOW_STATE.set_limit(usize::try_from(settings.flow_memory).unwrap_or(usize::MAX));
        let extractor = Extractor::new(flowq_extract::ExtractOptions {
            threads: usize::from(self.threads),
            ..options
        });
        let columns = self.columns(&options);
        extractor
            .with_columns(columns)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The profile's columns, without those that identify hosts, places and
    /// moments with `drop_identifiers` (the command line's
    /// `--drop-identifiers`; those columns are then not even built).
    fn columns(&self, options: &flowq_extract::ExtractOptions) -> Vec<Column> {
        let mut columns = options.columns();
        if self.drop_identifiers {
            columns.retain(|c| !role_of(c).identifies());
        }
        columns
    }
}

/// The command line's defaults, for the Python signatures' tests.
#[pyfunction]
fn defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = Settings::default();
    let out = PyDict::new(py);
    out.set_item("profile", d.profile.name())?;
    out.set_item("idle_timeout", d.idle_timeout)?;
    out.set_item("active_timeout", d.active_timeout)?;
    out.set_item("tcp_close_grace", d.tcp_close_grace)?;
    out.set_item("unidirectional", d.unidirectional)?;
    out.set_item("max_flows", d.max_flows)?;
    out.set_item("flow_memory", d.flow_memory)?;
    out.set_item("tunnels", if d.decapsulate { "inner" } else { "outer" })?;
    out.set_item("splt", d.splt)?;
    out.set_item("stats", d.stats)?;
    // The deep-learning inputs are off (None or False) unless given.
    let deep = d.deep;
    let on = |n: u32| (n > 0).then_some(n);
    out.set_item("ppi", on(u32::from(deep.ppi_len)))?;
    out.set_item("ppi_pad", d.ppi_pad)?;
    out.set_item("ppi_all_packets", deep.ppi_every_packet)?;
    out.set_item("histograms", deep.histograms)?;
    out.set_item("byte_dist", on(deep.byte_dist_len))?;
    out.set_item("payload_prefix", on(deep.payload_prefix_len))?;
    out.set_item(
        "payload_packets",
        on(u32::from(deep.payload_packets)).map(|m| (m, deep.payload_packet_len)),
    )?;
    out.set_item("flowpic", on(deep.flowpic_secs))?;
    out.set_item("no_app", !d.app)?;
    out.set_item("community_id_seed", d.community_id_seed)?;
    out.set_item("dissect", d.dissect)?;
    out.set_item("cic_compat", if d.cic_bugs { "bugs" } else { "fixed" })?;
    out.set_item(
        "cic_timestamp",
        if d.cic_original_timestamp {
            "original"
        } else {
            "utc"
        },
    )?;
    Ok(out)
}

/// Every profile's name.
#[pyfunction]
fn profiles() -> Vec<&'static str> {
    Profile::ALL.iter().map(|p| p.name()).collect()
}

/// Files in directories that are not captures, with why (the command line's
/// `note: ...; skipped`).
type SkippedFiles = Vec<(String, String)>;

/// The inputs named by `paths` (files, directories, `-`), as the command line
/// finds them, and the files in directories it skipped.
fn inputs_of(paths: Vec<PathBuf>) -> PyResult<(Vec<InputSource>, SkippedFiles)> {
    if paths.is_empty() {
        return Err(PyValueError::new_err("no input given"));
    }
    for path in &paths {
        if path.as_os_str() != "-" && !path.exists() {
            return Err(PyFileNotFoundError::new_err((
                2,
                "No such file or directory",
                path.display().to_string(),
            )));
        }
    }
    let discovered = discover_inputs(&paths)
        .map_err(|e| PyOSError::new_err(format!("cannot list the inputs: {e}")))?;
    if discovered.inputs.is_empty() {
        return Err(PyValueError::new_err(
            "no capture files found in the given directories",
        ));
    }
    if discovered
        .inputs
        .iter()
        .filter(|i| **i == InputSource::Stdin)
        .count()
        > 1
    {
        return Err(PyValueError::new_err(
            "standard input (`-`) can be read only once",
        ));
    }
    let skipped = discovered
        .skipped
        .into_iter()
        .map(|(path, why)| (path.display().to_string(), why))
        .collect();
    Ok((discovered.inputs, skipped))
}

/// What the extraction thread sends.
enum Message {
    Batch(RecordBatch),
    Done(Box<RunSummary>),
}

/// Python stopped taking batches (the reader was dropped or interrupted).
#[derive(Debug)]
struct Disconnected;

impl std::fmt::Display for Disconnected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the Python side stopped reading")
    }
}

impl std::error::Error for Disconnected {}

/// Flows or packets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rows {
    Flows,
    Packets,
}

/// The thread of one run and its end of the channel.
struct Worker {
    receiver: Receiver<Message>,
    thread: Option<JoinHandle<()>>,
}

/// An extraction running on its own thread (see the module docs).
#[pyclass(module = "flowq._native")]
struct Run {
    schema: SchemaRef,
    worker: Mutex<Option<Worker>>,
    stop: Arc<AtomicBool>,
    live: Arc<LiveCounters>,
    summary: Mutex<Option<String>>,
    #[pyo3(get)]
    skipped_files: SkippedFiles,
    /// Bytes of all inputs (None with standard input).
    #[pyo3(get)]
    total_bytes: Option<u64>,
}

/// The packet schema with the `capture` column.
fn packets_with_capture_schema() -> SchemaRef {
    let mut fields: Vec<Field> = packet_schema(PACKET_COLUMNS)
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(CAPTURE_COLUMN, DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// `batch` with the `capture` column (every row `name`) appended.
fn with_capture(
    batch: &RecordBatch,
    name: &str,
    schema: &SchemaRef,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(StringArray::from_iter_values(
        std::iter::repeat_n(name, rows),
    )));
    RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
}

/// Runs the extraction, sending batches then the summary.
fn extract_on_thread(
    extractor: &Extractor,
    rows: Rows,
    inputs: &[InputSource],
    schema: &SchemaRef,
    sender: &SyncSender<Message>,
) -> Result<RunSummary, ExtractError<Disconnected>> {
    let send = |batch: RecordBatch| sender.send(Message::Batch(batch)).map_err(|_| Disconnected);
    match rows {
        Rows::Flows => extractor.run(inputs, &mut |batch| send(batch)),
        // One run per capture, as the `packets` table of SQL over captures:
        // `flow_id` is numbered within each capture and `capture` says which.
        Rows::Packets => {
            let started = Instant::now();
            let mut total = RunSummary::default();
            for input in inputs {
                let name = input.to_string();
                let summary = extractor.run_packets(
                    std::slice::from_ref(input),
                    PACKET_COLUMNS,
                    &mut |batch| {
                        // The schemas are built from the same columns: this
                        // cannot fail.
                        match with_capture(&batch, &name, schema) {
                            Ok(batch) => send(batch),
                            Err(_) => Err(Disconnected),
                        }
                    },
                )?;
                let interrupted = summary.interrupted;
                total.absorb(summary);
                if interrupted {
                    break;
                }
            }
            total.elapsed_seconds = started.elapsed().as_secs_f64();
            Ok(total)
        }
    }
}

impl Run {
    fn start(paths: Vec<PathBuf>, options: &PyOptions, rows: Rows) -> PyResult<Run> {
        let stop = Arc::new(AtomicBool::new(false));
        let extractor = options.extractor()?.with_cancel(Arc::clone(&stop));
        let (inputs, skipped_files) = inputs_of(paths)?;
        let total_bytes = inputs.iter().map(InputSource::size).sum::<Option<u64>>();
        let schema = match rows {
            Rows::Flows => extractor.schema(),
            Rows::Packets => packets_with_capture_schema(),
        };
        let live = extractor.live_counters();
        let (sender, receiver) = sync_channel(QUEUED_BATCHES);
        let thread_schema = Arc::clone(&schema);
        let thread = std::thread::Builder::new()
            .name("flowq-extract".to_string())
            .spawn(move || {
                match extract_on_thread(&extractor, rows, &inputs, &thread_schema, &sender) {
                    Ok(summary) => {
                        let _ = sender.send(Message::Done(Box::new(summary)));
                    }
                    // Python went away: nobody wants the rest.
                    Err(ExtractError::Consumer(Disconnected)) => {}
                }
            })
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start a thread: {e}")))?;
        Ok(Run {
            schema,
            worker: Mutex::new(Some(Worker {
                receiver,
                thread: Some(thread),
            })),
            stop,
            live,
            summary: Mutex::new(None),
            skipped_files,
            total_bytes,
        })
    }

    /// Stops the extraction thread and waits for it (it never takes the GIL).
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        self.stop.store(true, Ordering::Relaxed);
        let worker = self.worker.lock().map(|mut w| w.take()).unwrap_or(None);
        if let Some(mut worker) = worker {
            // Dropping the receiver unblocks a thread waiting to send.
            drop(worker.receiver);
            if let Some(thread) = worker.thread.take() {
                let joined = py.detach(move || thread.join());
                if joined.is_err() {
                    return Err(PyRuntimeError::new_err(
                        "flowq's extraction thread panicked",
                    ));
                }
            }
        }
        Ok(())
    }
}

#[pymethods]
impl Run {
    /// Starts extracting flows (`rows="flows"`) or packets (`rows="packets"`)
    /// from `paths` with `options` (a dict of every keyword argument).
    #[new]
    fn new(paths: Vec<PathBuf>, rows: &str, options: &Bound<'_, PyDict>) -> PyResult<Run> {
        let rows = match rows {
            "flows" => Rows::Flows,
            "packets" => Rows::Packets,
            other => return Err(PyValueError::new_err(format!("unknown rows `{other}`"))),
        };
        let options: PyOptions = options.extract()?;
        if rows == Rows::Packets && options.drop_identifiers {
            return Err(PyValueError::new_err(
                "drop_identifiers applies to flows, not to packets",
            ));
        }
        Run::start(paths, &options, rows)
    }

    /// The pyarrow schema of the batches.
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.schema.as_ref().to_pyarrow(py)
    }

    /// The next pyarrow.RecordBatch, or None at the end. Waits with the GIL
    /// released; every 100 ms calls `on_wait` (if given) and checks for
    /// signals: a KeyboardInterrupt stops the extraction and is raised.
    #[pyo3(signature = (on_wait=None))]
    fn next_batch<'py>(
        &self,
        py: Python<'py>,
        on_wait: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        loop {
            let worker = self.worker.lock().map(|mut w| w.take()).unwrap_or(None);
            let Some(worker) = worker else {
                return Ok(None);
            };
            let (worker, message) = py.detach(move || {
                let message = worker.receiver.recv_timeout(WAIT_SLICE);
                (worker, message)
            });
            if let Ok(mut slot) = self.worker.lock() {
                *slot = Some(worker);
            }
            match message {
                Ok(Message::Batch(batch)) => return batch.to_pyarrow(py).map(Some),
                Ok(Message::Done(summary)) => {
                    let json = serde_json::to_string(&*summary)
                        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
                    if let Ok(mut slot) = self.summary.lock() {
                        *slot = Some(json);
                    }
                    self.finish(py)?;
                    return Ok(None);
                }
                Err(RecvTimeoutError::Timeout) => {
                    let checked = match &on_wait {
                        Some(callback) => callback.call0().map(|_| ()),
                        None => Ok(()),
                    }
                    .and_then(|()| py.check_signals());
                    if let Err(e) = checked {
                        self.finish(py)?;
                        return Err(e);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // The thread ended without a summary: it panicked.
                    self.finish(py)?;
                    return Err(PyRuntimeError::new_err(
                        "flowq's extraction thread stopped without finishing",
                    ));
                }
            }
        }
    }

    /// Stops the extraction (flows not yet taken are dropped) and waits for
    /// its thread. Harmless after the end.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.finish(py)
    }

    /// The run summary as JSON once the last batch has been taken, else None.
    fn summary_json(&self) -> Option<String> {
        self.summary.lock().ok().and_then(|s| s.clone())
    }

    /// (bytes read, packets read, flows open, inputs done) so far.
    fn progress(&self) -> (u64, u64, u64, u64) {
        (
            self.live.bytes_read(),
            self.live.packets_read(),
            self.live.active_flows(),
            self.live.inputs_done(),
        )
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(mut worker) = self.worker.get_mut().ok().and_then(Option::take) {
            drop(worker.receiver);
            if let Some(thread) = worker.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// The columns of a profile with `options` (or of `packets`): a pyarrow
/// schema and each column's one-line definition.
#[pyfunction]
#[pyo3(signature = (options, packets=false))]
fn columns<'py>(
    py: Python<'py>,
    options: &Bound<'py, PyDict>,
    packets: bool,
) -> PyResult<(Bound<'py, PyAny>, Vec<String>)> {
    if packets {
        let mut docs: Vec<String> = PACKET_COLUMNS
            .iter()
            .map(|c: &PacketColumn| c.def().3.to_string())
            .collect();
        docs.push("the capture file the packet was read from".to_string());
        return Ok((packets_with_capture_schema().as_ref().to_pyarrow(py)?, docs));
    }
    let options: PyOptions = options.extract()?;
    let extract_options = options.settings()?.options().map_err(value_error)?;
    let columns = options.columns(&extract_options);
    let docs = columns.iter().map(|c| c.def().doc).collect();
    Ok((schema_of(&columns).as_ref().to_pyarrow(py)?, docs))
}

/// docs/features.md, where each column's unit is written (the catalogue in
/// the engine has names, types and one-line definitions).
#[pyfunction]
fn features_page() -> &'static str {
    include_str!("../../docs/features.md")
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Run>()?;
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    m.add_function(wrap_pyfunction!(profiles, m)?)?;
    m.add_function(wrap_pyfunction!(columns, m)?)?;
    m.add_function(wrap_pyfunction!(features_page, m)?)?;
    m.add("DEFAULT_SPLT_LEN", flowq_extract::DEFAULT_SPLT_LEN)?;
    Ok(())
}
