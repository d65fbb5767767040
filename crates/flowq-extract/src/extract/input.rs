//! The extraction of one input: on this thread (one flow table), or sharded
//! (a reader thread and several flow tables), with its [`InputSummary`].

use super::{PROGRESS_EVERY, Rows};
use crate::capture::{CaptureReader, InputSource, RangePlan, ReadCounter};
use crate::decode::SkipReason;
use crate::features::RowFeatures;
use crate::flow::{FinishedFlow, FlowTable, TableCounters};
use crate::live::{ActiveFlowsGauge, CHECK_EVERY, Checkpoint, LiveCounters, StopFlags};
use crate::options::ExtractOptions;
use crate::stream::{PacketStream, Step, StreamMode, StreamTotals};
use crate::summary::{InputStatus, InputSummary, Progress, ProgressObserver, RunSummary};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// State of the extraction of one input.
pub(super) struct InputRun<'r, 'b, E, F: RowFeatures> {
    pub(super) options: &'r ExtractOptions,
    /// Settings of the per-flow state.
    pub(super) features: F::Config,
    pub(super) rows: &'r mut Rows<'b, F>,
    pub(super) consume: &'r mut dyn FnMut(RecordBatch) -> Result<(), E>,
    pub(super) observer: &'r mut dyn ProgressObserver,
    pub(super) summary: &'r mut RunSummary,
    pub(super) name: &'r str,
    pub(super) index: usize,
    pub(super) count: usize,
    /// The consumer's error, which stops the run.
    pub(super) failed: Option<E>,
    pub(super) cancel: StopFlags,
    pub(super) live: &'r Arc<LiveCounters>,
    /// Bytes per range when one capture is read on several threads (`None`:
    /// the default, and no ranges for feature states that read payloads).
    pub(super) range_bytes: Option<u64>,
}

impl<E, F: RowFeatures> InputRun<'_, '_, E, F> {
    pub(super) fn extract(&mut self, input: &InputSource) -> InputSummary {
        let mut result = InputSummary {
            name: self.name.to_string(),
            format: None,
            status: InputStatus::Complete,
            message: None,
            packets_read: 0,
            duplicates_dropped: 0,
            reorder_late: 0,
            reorder_forced: 0,
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

        let mode = self.options.stream_mode();
        let flows_before = self.summary.flows_written;
        let sharded = self.options.threads > 1 && matches!(self.rows, Rows::Flows(_));
        let (totals, table_counters) = if sharded {
            self.extract_sharded(input, &mut reader, mode, &counter)
        } else {
            let (stream, counters) = self.extract_single(&mut reader, mode, id_offset, &counter);
            (stream.into_totals(), counters)
        };
        let ordinal = totals.records;
        let in_flows = totals.in_flows;
        let skipped = totals.skipped;
        let end_error = totals.end_error.as_ref().map(ToString::to_string);
        let reader_counters = totals.reader;
        let orphans = totals.orphans;
        let outliers = totals.outliers;
        let interrupted = totals.interrupted;
        let incomplete = totals.incomplete;
        let preprocessed = totals.preprocessed;
        self.live.input_done();

        if let Some(e) = end_error {
            result.status = InputStatus::Partial;
            result.message = Some(e);
        }
        result.packets_read = ordinal;
        result.packets_in_flows = in_flows;
        result.duplicates_dropped = preprocessed.duplicates_dropped;
        result.reorder_late = preprocessed.reorder_late;
        result.reorder_forced = preprocessed.reorder_forced;
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
        s.duplicates_dropped += preprocessed.duplicates_dropped;
        s.reorder_late += preprocessed.reorder_late;
        s.reorder_forced += preprocessed.reorder_forced;
        s.transport_incomplete += incomplete;
        s.orphan_fragments += orphans;
        s.ipcomp_not_inflated += totals.ipcomp_not_inflated;
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
        if let Some(reading) = &totals.ranges {
            s.parallel_reading.add(reading);
        }
        self.report(&counter, ordinal, 0);
        result
    }

    /// One table on this thread; also the path for the `packets` rows, which need
    /// each packet's placement as it is counted.
    fn extract_single<'c>(
        &mut self,
        reader: &'c mut CaptureReader,
        mode: StreamMode,
        id_offset: u64,
        counter: &ReadCounter,
    ) -> (PacketStream<'c>, TableCounters) {
        let mut table: FlowTable<F> =
            FlowTable::new(self.options.effective_flow_config(), self.features);
        let checkpoint = Checkpoint::new(self.cancel.clone(), Arc::clone(self.live));
        let mut stream = PacketStream::new(reader, mode, checkpoint);
        let mut active = ActiveFlowsGauge::new(Arc::clone(self.live));
        loop {
            let decoded = match stream.step() {
                Step::Packet(d) => d,
                Step::Skipped | Step::Held | Step::Dropped => continue,
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

    /// `threads` flow-table shards, fed by one reader thread, or, for an
    /// uncompressed capture file, by `threads` workers reading byte ranges of
    /// it; flows merged here.
    fn extract_sharded(
        &mut self,
        input: &InputSource,
        reader: &mut CaptureReader,
        mode: StreamMode,
        counter: &ReadCounter,
    ) -> (StreamTotals, TableCounters) {
        let config = self.options.effective_flow_config();
        let features = self.features;
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
        // Standard input and compressed files are one stream; so is a file
        // too small to split, and one that is preprocessed (reordering and
        // de-duplication look across records in file order).
        let range_bytes = self
            .range_bytes
            .unwrap_or(if F::reads_transport(&features) {
                crate::shard::ranges::RANGE_BYTES_WITH_PAYLOADS
            } else {
                crate::shard::ranges::RANGE_BYTES
            });
        let plan = match input {
            InputSource::File(path) if !mode.preprocess.any() => RangePlan::new(path, range_bytes)
                .ok()
                .flatten()
                .filter(|plan| plan.starts().len() > 1),
            _ => None,
        };
        let mut emit_flow = |flow| {
            emit(flow, rows, consume, failed, summary);
            failed.is_none()
        };
        let mut progress = |flows_done| {
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
        };
        match &plan {
            // Each thread reads ranges and runs a shard.
            Some(plan) => crate::shard::ranges::run::<F>(
                plan,
                threads,
                mode,
                checkpoint,
                counter,
                config,
                features,
                live,
                &mut emit_flow,
                &mut progress,
            ),
            // One reader thread feeds the shards.
            None => {
                let read = |dealer: &mut crate::shard::Dealer| {
                    crate::shard::read_stream(PacketStream::new(reader, mode, checkpoint), dealer)
                        .into_totals()
                };
                crate::shard::run::<F, StreamTotals>(
                    read,
                    config,
                    features,
                    threads,
                    live,
                    &mut emit_flow,
                    &mut progress,
                )
            }
        }
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

fn emit<E, F: RowFeatures>(
    flow: FinishedFlow<F>,
    rows: &mut Rows<'_, F>,
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
    let mut flow = flow;
    let app = &mut flow.features.standard_mut().app;
    app.seal();
    summary.app_malformed_flows += u64::from(app.summary().is_some_and(|m| m.malformed));
    if let Rows::Flows(builder) = rows
        && let Some(batch) = builder.push(flow)
        && let Err(e) = consume(batch)
    {
        *failed = Some(e);
    }
}
