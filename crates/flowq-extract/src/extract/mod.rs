//! The extraction driver: reads inputs one after another, runs every packet
//! through decode and the flow table, and hands record batches to the caller.
//!
//! * `mod.rs`: the [`Extractor`] and the loop over inputs.
//! * `input.rs`: one input, on this thread or sharded over several.
//! * `parallel.rs`: several inputs at once, merged in input order.

mod input;
mod parallel;

use crate::batch::{Column, FlowBatchBuilder, PacketBatchBuilder, PacketColumn};
use crate::capture::InputSource;
use crate::decode::SkipReason;
use crate::features::{CicFeatures, FullFeatures, RowFeatures, StandardFeatures};
use crate::live::{LiveCounters, StopFlags};
use crate::options::{ExtractOptions, State};
use crate::summary::{ProgressObserver, RunSummary};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use input::InputRun;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Why an extraction stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError<E: std::error::Error + 'static> {
    /// The batch consumer (usually a sink) failed; the run stopped.
    #[error(transparent)]
    Consumer(E),
}

/// A column list that the extractor's profile cannot build
/// ([`Extractor::with_columns`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column `{column}` is not one of the {profile} profile's columns with these options")]
pub struct ColumnError {
    /// The column's name.
    pub column: String,
    /// The profile's name.
    pub profile: &'static str,
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
    /// Bytes per range when one capture is read on several threads; `None`:
    /// the default size, and no ranges for feature states that read payloads.
    range_bytes: Option<u64>,
}

/// The rows an extraction produces, for flows of state `F`.
enum Rows<'a, F> {
    Flows(&'a mut FlowBatchBuilder<F>),
    Packets(&'a mut PacketBatchBuilder),
}

impl<F: RowFeatures> Rows<'_, F> {
    fn cut_if_buffered(&mut self) -> Option<RecordBatch> {
        match self {
            Rows::Flows(b) => (b.buffered_rows() > 0).then(|| b.cut()),
            Rows::Packets(b) => (b.buffered_rows() > 0).then(|| b.cut()),
        }
    }
}

const PROGRESS_EVERY: u64 = 1 << 16;

/// Runs `$body` with `$F` bound to the per-flow state type of `$state` and
/// `$config` to its settings (from `$options`): the one place a profile's
/// family picks its state type.
macro_rules! with_state {
    ($options:expr, |$F:ident, $config:ident| $body:expr) => {{
        let options = $options;
        match options.profile.state() {
            State::Standard => {
                type $F = StandardFeatures;
                let $config = options.app_config();
                $body
            }
            State::Full => {
                type $F = FullFeatures;
                let $config = options.full_config();
                $body
            }
            State::Cic => {
                type $F = CicFeatures;
                let $config = options.cic_config();
                $body
            }
        }
    }};
}

impl Extractor {
    /// An extractor with `options`.
    pub fn new(options: ExtractOptions) -> Self {
        Extractor {
            options,
            columns: options.columns(),
            cancel: StopFlags::default(),
            live: Arc::default(),
            range_bytes: None,
        }
    }

    /// With `threads > 1`, one uncompressed capture file is read in byte
    /// ranges of about this size on several threads (unless set, 1 MiB when
    /// the features read payloads, as the application metadata does, else
    /// 4 MiB; tests set small ones to split small files). The output does
    /// not depend on it.
    pub fn with_range_bytes(mut self, bytes: u64) -> Self {
        self.range_bytes = Some(bytes.max(1));
        self
    }

    /// Builds only `columns` (in this order) instead of all of the profile's: the
    /// flow table still runs in full, but unused columns cost nothing to build.
    /// Every column must be one of the profile's with these options
    /// ([`ExtractOptions::columns`]): another profile's column would read a
    /// state this profile does not keep.
    pub fn with_columns(mut self, columns: Vec<Column>) -> Result<Self, ColumnError> {
        let allowed = self.options.columns();
        if let Some(&column) = columns.iter().find(|c| !allowed.contains(c)) {
            return Err(ColumnError {
                column: column.def().name,
                profile: self.options.profile.name(),
            });
        }
        self.columns = columns;
        Ok(self)
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

    /// The options the flows' feature states are built with: when none of the
    /// columns built is an application column ([`with_columns`](Self::with_columns),
    /// e.g. a `--pcap` SQL query that selects none), payloads are not parsed.
    fn state_options(&self) -> ExtractOptions {
        let mut options = self.options;
        if !self.columns.iter().any(|c| matches!(c, Column::App(_))) {
            options.app = false;
            options.dissect = false;
        }
        options
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
        with_state!(&self.state_options(), |F, config| {
            let mut builder = FlowBatchBuilder::<F>::new(&self.columns, self.options.batch_rows);
            builder.set_flow_timeout(self.options.effective_flow_config().active_timeout_ns);
            builder.set_community_id_seed(self.options.community_id_seed);
            self.drive(inputs, Rows::Flows(&mut builder), config, consume, observer)
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
        with_state!(&self.options, |F, config| {
            let rows = Rows::<F>::Packets(&mut builder);
            self.drive(inputs, rows, config, consume, &mut ())
        })
    }

    fn drive<E: std::error::Error + 'static, F: RowFeatures>(
        &self,
        inputs: &[InputSource],
        mut rows: Rows<'_, F>,
        features: F::Config,
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
                features,
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
                range_bytes: self.range_bytes,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{AppColumn, NfColumn};

    /// Payloads are parsed only when an application column is built.
    #[test]
    fn payloads_are_parsed_only_for_application_columns() {
        let all = Extractor::new(ExtractOptions::default());
        assert!(all.state_options().app_enabled());
        let plain = all
            .clone()
            .with_columns(vec![Column::FlowId, Column::DstPort])
            .unwrap();
        assert!(!plain.state_options().app_enabled());
        let cid = all
            .with_columns(vec![Column::FlowId, Column::App(AppColumn::CommunityId)])
            .unwrap();
        assert!(cid.state_options().app_enabled());
    }

    /// A projection of the profile's columns is accepted; another profile's
    /// column is refused with its name, instead of failing when rows are built.
    #[test]
    fn with_columns_accepts_only_the_profile_columns() {
        let extractor = Extractor::new(ExtractOptions::default());
        let projected = extractor
            .clone()
            .with_columns(vec![Column::DstPort, Column::FlowId])
            .unwrap();
        assert_eq!(projected.schema().fields().len(), 2);
        let err = extractor
            .with_columns(vec![Column::FlowId, Column::Nf(NfColumn::Id)])
            .unwrap_err();
        assert_eq!(
            err,
            ColumnError {
                column: "id".to_string(),
                profile: "standard",
            }
        );
    }
}
