//! flowq's extraction engine: packet captures in, bidirectional flows out as
//! Arrow [`RecordBatch`](arrow::record_batch::RecordBatch)es.
//!
//! Data flows one way through small modules, each owning one thing:
//!
//! ```text
//! capture bytes --capture--> RawPacket --decode--> PacketView --flow--> FlowTable
//!     --features--> accumulators --batch--> RecordBatch --sink--> Parquet / CSV / Arrow
//! ```
//!
//! * [`capture`]: pcap and pcapng files (compressed or not) as a stream of [`capture::RawPacket`]s.
//! * [`decode`]: link layers, IP and transport headers into a [`decode::PacketView`], or a
//!   counted [`decode::SkipReason`].
//! * [`preprocess`]: optional reordering by timestamp and duplicate removal, before decoding.
//! * [`flow`]: the [`flow::FlowTable`], with keys, direction, timeouts and TCP close.
//! * [`features`]: per-flow accumulators.
//! * [`batch`]: the column catalogue and [`batch::FlowBatchBuilder`].
//! * [`sink`]: atomic Parquet, CSV and Arrow IPC writers.
//! * [`options`]: the [`Profile`] and [`ExtractOptions`], mapped onto each stage's settings.
//! * [`summary`]: the [`RunSummary`] and [`Progress`] a run reports.
//! * [`extract`]: the [`Extractor`] that drives them all.
//!
//! This crate has no async runtime and no query engine, so its tests and
//! benchmarks build quickly; the `flowq` crate adds the command line and SQL.
//!
//! ```no_run
//! use flowq_extract::{ExtractOptions, Extractor, capture::InputSource};
//!
//! let extractor = Extractor::new(ExtractOptions::default());
//! let inputs = [InputSource::File("capture.pcap".into())];
//! let summary = extractor
//!     .run(&inputs, &mut |batch| {
//!         println!("{} flows", batch.num_rows());
//!         Ok::<(), std::convert::Infallible>(())
//!     })
//!     .unwrap();
//! println!("{} packets read", summary.packets_read);
//! ```

#![deny(missing_docs)]

pub mod app;
pub mod batch;
pub mod capture;
pub mod decode;
pub mod extract;
pub mod features;
pub mod flow;
#[cfg(test)]
mod layers;
mod live;
pub mod options;
pub mod preprocess;
mod shard;
pub mod sink;
mod stream;
pub mod summary;
mod timestamp;

pub use extract::{ColumnError, ExtractError, Extractor};
pub use live::LiveCounters;
pub use options::{DEFAULT_SPLT_LEN, ExtractOptions, Profile};
pub use summary::{InputStatus, InputSummary, Progress, ProgressObserver, RunSummary};
