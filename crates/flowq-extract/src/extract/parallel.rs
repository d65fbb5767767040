//! Several inputs at once, one per worker thread, merged in input order with
//! the ids a sequential run would have given.

use super::{ExtractError, Extractor};
use crate::capture::InputSource;
use crate::decode::SkipReason;
use crate::options::ExtractOptions;
use crate::summary::{Progress, ProgressObserver, RunSummary};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

impl Extractor {
    /// Several inputs at once, one per thread (each single-threaded), written in
    /// input order with the `flow_id`s they would have had when read one after
    /// another. At most `threads` inputs are in flight, each holding at most two
    /// batches waiting to be written.
    pub(super) fn run_inputs_in_parallel<E: std::error::Error + 'static>(
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
            range_bytes: self.range_bytes,
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
    use crate::batch::Column;

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
