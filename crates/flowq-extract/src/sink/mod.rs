//! Sinks: where record batches go. Files are written to a temporary name in the
//! target directory and renamed into place only when complete, so a failed run
//! never leaves a file that looks finished.

use arrow::array::ArrayRef;
use arrow::datatypes::{Field, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Rows per Parquet row group: large enough for good compression and fast scans,
/// small enough that the writer's buffer stays in the tens of megabytes.
pub const PARQUET_ROW_GROUP_ROWS: usize = 262_144;

/// Output file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Apache Parquet, zstd-compressed.
    Parquet,
    /// Comma-separated values with a header line.
    Csv,
    /// Arrow IPC file format.
    Arrow,
    /// A JSON array of objects, one per row.
    Json,
    /// Newline-delimited JSON: one object per line.
    NdJson,
}

impl OutputFormat {
    /// The format implied by a file name's extension.
    pub fn from_path(path: &Path) -> Option<OutputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(OutputFormat::Parquet),
            "csv" => Some(OutputFormat::Csv),
            "arrow" | "ipc" | "feather" => Some(OutputFormat::Arrow),
            "json" => Some(OutputFormat::Json),
            "ndjson" | "jsonl" => Some(OutputFormat::NdJson),
            _ => None,
        }
    }
}

/// Where output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// A file, replaced atomically.
    File(PathBuf),
    /// Standard output.
    Stdout,
}

/// Why writing the output failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Creating, writing or renaming the output file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The output path (or `<stdout>`).
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The encoder failed.
    #[error("cannot encode {path}: {message}")]
    Encode {
        /// The output path.
        path: String,
        /// The encoder's message.
        message: String,
    },
}

impl SinkError {
    /// True when the error is a closed pipe on standard output (e.g. `| head`),
    /// which is not a failure of the run.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, SinkError::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Receives record batches in output order.
pub trait FlowSink {
    /// Writes one batch.
    fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError>;
    /// Flushes, records `metadata` where the format allows it, and publishes the
    /// output (renames the temporary file into place).
    fn finish(self: Box<Self>, metadata: &[(String, String)]) -> Result<(), SinkError>;
}

/// Opens a sink of `format` on `target`. `metadata` is stored in the file where the
/// format has room for it (Parquet key-value metadata, Arrow IPC custom metadata).
pub fn open_sink(
    target: &OutputTarget,
    format: OutputFormat,
    schema: SchemaRef,
    metadata: &[(String, String)],
) -> Result<Box<dyn FlowSink>, SinkError> {
    open_sink_with_csv(target, format, schema, metadata, &CsvOptions::default())
}

/// How a CSV output departs from Arrow's defaults (other formats ignore it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// The header line to write instead of the schema's names (the CIC
    /// profiles' published headers, which repeat a name a schema cannot hold
    /// twice).
    pub header: Option<String>,
    /// Write non-finite floating-point values as Java's `Double.toString`
    /// does, `Infinity`, `-Infinity` and `NaN`, as CICFlowMeter's CSVs (and
    /// CIC-IDS2017's) have them, instead of Arrow's `inf`, `-inf` and `NaN`.
    pub java_non_finite: bool,
}

/// Like [`open_sink`], with a CSV output written as `csv` says.
pub fn open_sink_with_csv(
    target: &OutputTarget,
    format: OutputFormat,
    schema: SchemaRef,
    metadata: &[(String, String)],
    csv: &CsvOptions,
) -> Result<Box<dyn FlowSink>, SinkError> {
    let csv_header = csv.header.as_deref();
    let pipe_broke = Arc::new(AtomicBool::new(false));
    let (mut writer, label, pending) = match target {
        OutputTarget::Stdout => (
            Box::new(BufWriter::with_capacity(
                1 << 16,
                WatchPipe {
                    inner: io::stdout(),
                    broke: Arc::clone(&pipe_broke),
                },
            )) as Box<dyn Write + Send>,
            "<stdout>".to_string(),
            None,
        ),
        OutputTarget::File(path) => {
            let pending = PendingFile::create(path)?;
            let file = pending.file()?;
            (
                Box::new(BufWriter::with_capacity(1 << 20, file)) as Box<dyn Write + Send>,
                path.display().to_string(),
                Some(pending),
            )
        }
    };
    let encode_err = |label: &str, e: &dyn std::fmt::Display| SinkError::Encode {
        path: label.to_string(),
        message: e.to_string(),
    };
    let encoder = match format {
        OutputFormat::Parquet => {
            let mut props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .set_max_row_group_row_count(Some(PARQUET_ROW_GROUP_ROWS))
                .set_created_by(format!("flowq {}", env!("CARGO_PKG_VERSION")));
            // Counters, ids, times and statistics are nearly all distinct: a
            // dictionary for them costs memory and time (measured in
            // docs/benchmarks.md) for no gain under zstd. Addresses, ports,
            // protocols and reasons repeat and keep theirs.
            for field in schema.fields() {
                use arrow::datatypes::DataType as T;
                if matches!(
                    field.data_type(),
                    T::Int64 | T::Float64 | T::Timestamp(_, _)
                ) {
                    props = props.set_column_dictionary_enabled(
                        parquet::schema::types::ColumnPath::from(field.name().as_str()),
                        false,
                    );
                }
            }
            let props = props.build();
            let writer = ArrowWriter::try_new(writer, schema, Some(props))
                .map_err(|e| encode_err(&label, &e))?;
            Encoder::Parquet(Box::new(writer))
        }
        OutputFormat::Csv => {
            if let Some(header) = csv_header {
                writer
                    .write_all(header.as_bytes())
                    .and_then(|()| writer.write_all(b"\n"))
                    .map_err(|source| SinkError::Io {
                        path: label.clone(),
                        source,
                    })?;
            }
            Encoder::Csv(
                arrow::csv::WriterBuilder::new()
                    .with_header(csv_header.is_none())
                    .with_timestamp_tz_format("%Y-%m-%dT%H:%M:%S%.6fZ".to_string())
                    .build(writer),
            )
        }
        OutputFormat::Arrow => {
            let mut writer = arrow::ipc::writer::FileWriter::try_new(writer, &schema)
                .map_err(|e| encode_err(&label, &e))?;
            for (k, v) in metadata {
                writer.write_metadata(k.clone(), v.clone());
            }
            Encoder::Arrow(writer)
        }
        OutputFormat::Json => Encoder::Json(arrow::json::ArrayWriter::new(writer)),
        OutputFormat::NdJson => Encoder::NdJson(arrow::json::LineDelimitedWriter::new(writer)),
    };
    Ok(Box::new(Background::start(FileSink {
        encoder,
        label,
        pending,
        opened_metadata: metadata.to_vec(),
        java_non_finite: csv.java_non_finite,
        pipe_broke,
    })?))
}

/// Batches queued for the encoder thread at most: enough to keep it busy, few
/// enough that the queue adds only a few MB.
const QUEUED_BATCHES: usize = 2;

/// Runs a sink on a thread of its own, so that encoding and compressing (a
/// quarter of an extraction's time with Parquet, measured in
/// docs/benchmarks.md) overlaps with reading and decoding. Batches are encoded
/// in the order they are written, by the same encoder: the output is the same
/// bytes. An encoder error is returned by the next `write` or by `finish`.
struct Background {
    queue: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    worker: Option<std::thread::JoinHandle<Result<FileSink, SinkError>>>,
    label: String,
}

impl Background {
    fn start(mut sink: FileSink) -> Result<Background, SinkError> {
        let label = sink.label.clone();
        let (queue, batches) = std::sync::mpsc::sync_channel::<RecordBatch>(QUEUED_BATCHES);
        let worker = std::thread::Builder::new()
            .name("flowq-sink".to_string())
            .spawn(move || {
                for batch in batches {
                    sink.write(&batch)?;
                }
                Ok(sink)
            })
            .map_err(|source| SinkError::Io {
                path: label.clone(),
                source,
            })?;
        Ok(Background {
            queue: Some(queue),
            worker: Some(worker),
            label,
        })
    }

    /// Waits for the worker to take every queued batch and stop.
    fn join(&mut self) -> Result<FileSink, SinkError> {
        self.queue = None;
        match self.worker.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Err(SinkError::Encode {
                path: self.label.clone(),
                message: "the writer already failed".to_string(),
            }),
        }
    }
}

impl FlowSink for Background {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        if let Some(queue) = &self.queue
            && queue.send(batch.clone()).is_ok()
        {
            return Ok(());
        }
        // The worker stopped: it failed, and says why.
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => Err(SinkError::Encode {
                path: self.label.clone(),
                message: "the writer stopped".to_string(),
            }),
        }
    }

    fn finish(mut self: Box<Self>, metadata: &[(String, String)]) -> Result<(), SinkError> {
        Box::new(self.join()?).finish(metadata)
    }
}

impl Drop for Background {
    /// A sink dropped unfinished removes its temporary file: wait for that,
    /// rather than leave it to a thread the process may not wait for.
    fn drop(&mut self) {
        if self.worker.is_some() {
            let _ = self.join();
        }
    }
}

/// `first` with `then`'s entries replacing those of the same key, and the new
/// keys after them, in order.
fn merge_metadata(
    mut first: Vec<(String, String)>,
    then: &[(String, String)],
) -> Vec<(String, String)> {
    for (key, value) in then {
        match first.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1.clone_from(value),
            None => first.push((key.clone(), value.clone())),
        }
    }
    first
}

fn key_values(metadata: &[(String, String)]) -> Vec<KeyValue> {
    metadata
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect()
}

type Out = Box<dyn Write + Send>;

enum Encoder {
    Parquet(Box<ArrowWriter<Out>>),
    Csv(arrow::csv::Writer<Out>),
    Arrow(arrow::ipc::writer::FileWriter<Out>),
    Json(arrow::json::ArrayWriter<Out>),
    NdJson(arrow::json::LineDelimitedWriter<Out>),
}

struct FileSink {
    encoder: Encoder,
    label: String,
    pending: Option<PendingFile>,
    /// The metadata given when the sink was opened. Parquet writes key-value
    /// metadata only in the footer, and appends rather than replaces, so it
    /// is merged with `finish`'s there, each key once.
    opened_metadata: Vec<(String, String)>,
    /// CSV: write non-finite floats as Java does ([`CsvOptions`]).
    java_non_finite: bool,
    /// Set when standard output's reader went away (see [`WatchPipe`]).
    pipe_broke: Arc<AtomicBool>,
}

/// Standard output, noting a broken pipe: encoders report write errors in
/// their own error types (Arrow's CSV writer keeps only the message), so the
/// sink learns from here that its reader has gone (`| head`), which is not
/// a failure of the run.
struct WatchPipe {
    inner: io::Stdout,
    broke: Arc<AtomicBool>,
}

impl WatchPipe {
    fn note<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result
            && e.kind() == io::ErrorKind::BrokenPipe
        {
            self.broke.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl Write for WatchPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

fn find_io_error<'a>(mut e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    loop {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        if let Some(arrow::error::ArrowError::IoError(_, io)) = e.downcast_ref() {
            return Some(io);
        }
        e = e.source()?;
    }
}

impl FlowSink for FileSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        match &mut self.encoder {
            Encoder::Parquet(w) => w
                .write(batch)
                .map_err(|e| self_error(&self.label, &self.pipe_broke, e)),
            Encoder::Csv(w) => {
                let mut batch = lists_as_text(batch);
                if self.java_non_finite {
                    batch = non_finite_as_java(&batch);
                }
                w.write(&batch)
                    .map_err(|e| self_error(&self.label, &self.pipe_broke, e))
            }
            Encoder::Arrow(w) => w
                .write(batch)
                .map_err(|e| self_error(&self.label, &self.pipe_broke, e)),
            Encoder::Json(w) => w
                .write(batch)
                .map_err(|e| self_error(&self.label, &self.pipe_broke, e)),
            Encoder::NdJson(w) => w
                .write(batch)
                .map_err(|e| self_error(&self.label, &self.pipe_broke, e)),
        }
    }

    fn finish(self: Box<Self>, metadata: &[(String, String)]) -> Result<(), SinkError> {
        let FileSink {
            encoder,
            label,
            pending,
            opened_metadata,
            java_non_finite: _,
            pipe_broke,
        } = *self;
        let mut out = match encoder {
            Encoder::Parquet(mut w) => {
                for kv in key_values(&merge_metadata(opened_metadata, metadata)) {
                    w.append_key_value_metadata(kv);
                }
                w.into_inner()
                    .map_err(|e| self_error(&label, &pipe_broke, e))?
            }
            Encoder::Csv(w) => w.into_inner(),
            Encoder::Arrow(mut w) => {
                for (k, v) in metadata {
                    w.write_metadata(k.clone(), v.clone());
                }
                w.finish().map_err(|e| self_error(&label, &pipe_broke, e))?;
                w.into_inner()
                    .map_err(|e| self_error(&label, &pipe_broke, e))?
            }
            Encoder::Json(mut w) => {
                w.finish().map_err(|e| self_error(&label, &pipe_broke, e))?;
                w.into_inner()
            }
            Encoder::NdJson(mut w) => {
                w.finish().map_err(|e| self_error(&label, &pipe_broke, e))?;
                w.into_inner()
            }
        };
        out.flush().map_err(|source| SinkError::Io {
            path: label.clone(),
            source,
        })?;
        drop(out);
        if let Some(pending) = pending {
            pending.publish()?;
        }
        Ok(())
    }
}

fn self_error<E>(label: &str, pipe_broke: &AtomicBool, e: E) -> SinkError
where
    E: std::error::Error + 'static,
{
    if pipe_broke.load(Ordering::Relaxed) {
        return SinkError::Io {
            path: label.to_string(),
            source: io::Error::new(io::ErrorKind::BrokenPipe, e.to_string()),
        };
    }
    if let Some(io) = find_io_error(&e) {
        return SinkError::Io {
            path: label.to_string(),
            source: io::Error::new(io.kind(), e.to_string()),
        };
    }
    SinkError::Encode {
        path: label.to_string(),
        message: e.to_string(),
    }
}

/// A temporary file beside the final path, renamed into place by `publish` and
/// deleted if dropped before that.
struct PendingFile {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl PendingFile {
    fn create(path: &Path) -> Result<Self, SinkError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Temporary files are private by default; the output should be readable
        // like any file the user creates.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let temp = builder.tempfile_in(&dir).map_err(|source| SinkError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(PendingFile {
            temp,
            path: path.to_path_buf(),
        })
    }

    fn file(&self) -> Result<File, SinkError> {
        self.temp.reopen().map_err(|source| SinkError::Io {
            path: self.path.display().to_string(),
            source,
        })
    }

    fn publish(self) -> Result<(), SinkError> {
        let path = self.path;
        let file = self.temp.as_file();
        file.sync_all().map_err(|source| SinkError::Io {
            path: path.display().to_string(),
            source,
        })?;
        self.temp.persist(&path).map_err(|e| SinkError::Io {
            path: path.display().to_string(),
            source: e.error,
        })?;
        Ok(())
    }
}

/// CSV has no list type: list columns (the early-flow sequences, the
/// application lists) are written as bracketed text, `[0, 1, 1]` and
/// `["h2","http/1.1"]` (strings quoted and escaped as JSON), which Python's
/// `ast.literal_eval` and JSON parsers read back. Other columns pass through
/// untouched.
pub fn lists_as_text(batch: &RecordBatch) -> RecordBatch {
    use arrow::datatypes::DataType;
    let batch = text_lists_as_json(batch);
    columns_as_text(
        &batch,
        |_, column| {
            matches!(
                column.data_type(),
                DataType::List(_) | DataType::LargeList(_)
            )
        },
        |_, _| None,
    )
}

/// `batch` with its lists of strings as JSON arrays of strings (text; nulls
/// kept): Arrow's display would write `[a, b]`, ambiguous once a string
/// holds `, `.
fn text_lists_as_json(batch: &RecordBatch) -> RecordBatch {
    use arrow::array::{Array, AsArray, StringBuilder};
    use arrow::datatypes::{DataType, Schema};
    let is_text_list =
        |t: &DataType| matches!(t, DataType::List(item) if item.data_type() == &DataType::Utf8);
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| is_text_list(f.data_type())) {
        return batch.clone();
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if !is_text_list(field.data_type()) {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let lists = column.as_list::<i32>();
        let mut text = StringBuilder::with_capacity(column.len(), column.len() * 16);
        for row in 0..column.len() {
            if lists.is_null(row) {
                text.append_null();
                continue;
            }
            let items = lists.value(row);
            let items = items.as_string::<i32>();
            let values: Vec<Option<&str>> = (0..items.len())
                .map(|i| (!items.is_null(i)).then(|| items.value(i)))
                .collect();
            // A list of strings always serializes.
            text.append_value(serde_json::to_string(&values).unwrap_or_default());
        }
        fields.push(Field::new(
            field.name(),
            DataType::Utf8,
            field.is_nullable(),
        ));
        columns.push(Arc::new(text.finish()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap_or_else(|_| batch.clone())
}

/// Floating-point columns holding infinities or NaN, as text: those values
/// spelled as Java's `Double.toString` spells them (`Infinity`, `-Infinity`,
/// `NaN`), every other value exactly as Arrow's CSV writer would write it.
/// Columns without such values, and batches without such columns, pass
/// through untouched.
pub fn non_finite_as_java(batch: &RecordBatch) -> RecordBatch {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float32Type, Float64Type};
    fn non_finite_at(column: &ArrayRef, row: usize) -> Option<&'static str> {
        if column.is_null(row) {
            return None;
        }
        let v = match column.data_type() {
            DataType::Float64 => column.as_primitive::<Float64Type>().value(row),
            DataType::Float32 => f64::from(column.as_primitive::<Float32Type>().value(row)),
            _ => return None,
        };
        match v {
            v if v.is_nan() => Some("NaN"),
            v if v == f64::INFINITY => Some("Infinity"),
            v if v == f64::NEG_INFINITY => Some("-Infinity"),
            _ => None,
        }
    }
    columns_as_text(
        batch,
        |_, column| (0..column.len()).any(|row| non_finite_at(column, row).is_some()),
        non_finite_at,
    )
}

/// `batch` with the columns `select` picks turned into text: each value as
/// `special` spells it, else as Arrow's display (what its CSV writer writes),
/// nulls kept. A batch with no such column is returned as it is.
fn columns_as_text(
    batch: &RecordBatch,
    select: impl Fn(&Field, &ArrayRef) -> bool,
    special: impl Fn(&ArrayRef, usize) -> Option<&'static str>,
) -> RecordBatch {
    use arrow::array::{Array, StringBuilder};
    use arrow::datatypes::{DataType, Schema};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let schema = batch.schema();
    let pairs = || schema.fields().iter().zip(batch.columns());
    if !pairs().any(|(f, c)| select(f, c)) {
        return batch.clone();
    }
    let options = FormatOptions::default();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in pairs() {
        let formatter = select(field, column)
            .then(|| ArrayFormatter::try_new(column.as_ref(), &options).ok())
            .flatten();
        let Some(formatter) = formatter else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        };
        let mut text = StringBuilder::with_capacity(column.len(), column.len() * 16);
        for row in 0..column.len() {
            if column.is_null(row) {
                text.append_null();
            } else if let Some(spelled) = special(column, row) {
                text.append_value(spelled);
            } else {
                text.append_value(formatter.value(row).to_string());
            }
        }
        fields.push(Field::new(
            field.name(),
            DataType::Utf8,
            field.is_nullable(),
        ));
        columns.push(Arc::new(text.finish()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap_or_else(|_| batch.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::sync::Arc;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn text_lists_are_written_as_json_arrays() {
        use arrow::array::{Array, ListBuilder, StringBuilder};
        let mut b = ListBuilder::new(StringBuilder::new());
        b.values().append_value("h2");
        b.values().append_value("a, \"b\"");
        b.append(true);
        b.append(false);
        b.append(true);
        let schema = Arc::new(Schema::new(vec![Field::new(
            "alpn",
            DataType::new_list(DataType::Utf8, true),
            true,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(b.finish())]).unwrap();
        let text = lists_as_text(&batch);
        let column = text
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::StringArray>();
        let column = column.unwrap();
        assert_eq!(column.value(0), r#"["h2","a, \"b\""]"#);
        assert!(column.is_null(1));
        assert_eq!(column.value(2), "[]");
    }

    #[test]
    fn parquet_footer_holds_each_metadata_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let opened = pairs(&[("flowq.version", "1"), ("flowq.options", "{}")]);
        let mut sink = open_sink(
            &OutputTarget::File(path.clone()),
            OutputFormat::Parquet,
            schema.clone(),
            &opened,
        )
        .unwrap();
        sink.write(&RecordBatch::new_empty(schema)).unwrap();
        // As `flowq extract` does: the open-time entries again, one changed, one new.
        let finished = pairs(&[
            ("flowq.version", "1"),
            ("flowq.options", "{\"x\":1}"),
            ("flowq.summary", "{}"),
        ]);
        sink.finish(&finished).unwrap();

        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let kv: Vec<(String, Option<String>)> = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap()
            .iter()
            .filter(|kv| kv.key.starts_with("flowq."))
            .map(|kv| (kv.key.clone(), kv.value.clone()))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("flowq.version".to_string(), Some("1".to_string())),
                ("flowq.options".to_string(), Some("{\"x\":1}".to_string())),
                ("flowq.summary".to_string(), Some("{}".to_string())),
            ]
        );
    }

    /// CICFlowMeter (Java) wrote `Infinity`, `-Infinity` and `NaN`; with
    /// `java_non_finite` a CSV says the same, and every other value (finite
    /// floats, nulls, other columns) is written as without it.
    #[test]
    fn csv_writes_non_finite_floats_as_java_when_asked() {
        use arrow::array::{Float64Array, Int64Array};
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("rate", DataType::Float64, true),
            Field::new("finite", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
                Arc::new(Float64Array::from(vec![
                    Some(f64::INFINITY),
                    Some(f64::NEG_INFINITY),
                    Some(f64::NAN),
                    None,
                    Some(0.1 + 0.2),
                ])),
                Arc::new(Float64Array::from(vec![
                    Some(40.0),
                    Some(1e21),
                    Some(-0.5),
                    None,
                    Some(1.0 / 3.0),
                ])),
            ],
        )
        .unwrap();
        let write = |java_non_finite: bool| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.csv");
            let csv = CsvOptions {
                header: None,
                java_non_finite,
            };
            let mut sink = open_sink_with_csv(
                &OutputTarget::File(path.clone()),
                OutputFormat::Csv,
                schema.clone(),
                &[],
                &csv,
            )
            .unwrap();
            sink.write(&batch).unwrap();
            sink.finish(&[]).unwrap();
            std::fs::read_to_string(&path).unwrap()
        };
        let arrow = write(false);
        let java = write(true);
        assert_eq!(
            arrow,
            "n,rate,finite\n1,inf,40.0\n2,-inf,1e21\n3,NaN,-0.5\n4,,\n5,0.30000000000000004,0.3333333333333333\n"
        );
        assert_eq!(java, arrow.replace("inf", "Infinity"));
    }
}
