//! Query results, streamed: batches are written as they arrive, so a query
//! returning millions of rows never holds them all in memory. Only the aligned
//! table for terminals keeps rows, and at most `--maxrows` of them.

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use datafusion::physical_plan::SendableRecordBatchStream;
use flowq_extract::sink::{OutputFormat, OutputTarget, SinkError, open_sink};
use futures::StreamExt;
use std::io::Write;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// An aligned text table (the default on a terminal).
    Table,
    /// A file format written by a sink.
    File(OutputFormat),
}

/// What happened to a result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Rows the query returned.
    pub rows: u64,
    /// The reader of standard output went away (e.g. `| head`).
    pub broken_pipe: bool,
}

/// Writes a result stream. `max_rows` limits the rows shown in a table (0 = all).
pub async fn write(
    mut stream: SendableRecordBatchStream,
    format: ResultFormat,
    target: &OutputTarget,
    max_rows: usize,
) -> anyhow::Result<Written> {
    let schema = stream.schema();
    let mut written = Written::default();
    match format {
        ResultFormat::Table => {
            let mut kept: Vec<RecordBatch> = Vec::new();
            let mut kept_rows = 0usize;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                written.rows += batch.num_rows() as u64;
                let room = if max_rows == 0 {
                    batch.num_rows()
                } else {
                    max_rows.saturating_sub(kept_rows).min(batch.num_rows())
                };
                if room > 0 {
                    kept.push(batch.slice(0, room));
                    kept_rows += room;
                }
            }
            let mut text = if kept.is_empty() {
                arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(schema)])?
                    .to_string()
            } else {
                arrow::util::pretty::pretty_format_batches(&kept)?.to_string()
            };
            text.push('\n');
            let shown = kept_rows as u64;
            if shown < written.rows {
                text.push_str(&format!(
                    "{} rows ({} shown; --maxrows 0 shows all, --format csv streams them)\n",
                    written.rows, shown
                ));
            } else {
                text.push_str(&format!(
                    "{} row{}\n",
                    written.rows,
                    if written.rows == 1 { "" } else { "s" }
                ));
            }
            match target {
                OutputTarget::Stdout => {
                    let mut out = std::io::stdout().lock();
                    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                        if e.kind() == std::io::ErrorKind::BrokenPipe {
                            written.broken_pipe = true;
                            return Ok(written);
                        }
                        return Err(e.into());
                    }
                }
                OutputTarget::File(path) => std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
            }
        }
        ResultFormat::File(format) => {
            let mut sink = open_sink(target, format, schema, &[])?;
            let mut wrote_any = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                written.rows += batch.num_rows() as u64;
                wrote_any = true;
                if let Err(e) = sink.write(&batch) {
                    return broken_pipe_or(e, written);
                }
            }
            if !wrote_any {
                // Headers and schemas are written even for an empty result.
                let empty = RecordBatch::new_empty(stream.schema());
                if let Err(e) = sink.write(&empty) {
                    return broken_pipe_or(e, written);
                }
            }
            if let Err(e) = sink.finish(&[]) {
                return broken_pipe_or(e, written);
            }
        }
    }
    Ok(written)
}

fn broken_pipe_or(e: SinkError, mut written: Written) -> anyhow::Result<Written> {
    if e.is_broken_pipe() {
        written.broken_pipe = true;
        Ok(written)
    } else {
        Err(e.into())
    }
}
