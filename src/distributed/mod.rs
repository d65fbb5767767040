//! flowq on an Apache DataFusion Ballista cluster (the `distributed` feature).
//!
//! Three roles, all in the `flowq` binary so that every process links the same
//! extensions: `flowq scheduler` plans queries into stages, `flowq executor`
//! runs their tasks, and `flowq query --cluster df://HOST:PORT` plans a query
//! locally and submits it. What flowq adds to stock Ballista:
//!
//! - the capture table and its scan travel in plans through [`codec`]'s
//!   versioned codecs, and the scheduler plans the scan so that Ballista can
//!   give each task its own capture files ([`scan`]): extraction runs on the
//!   executors, one partition per file;
//! - the scheduler's sessions and the executors' function registries hold
//!   flowq's network functions ([`crate::sql::udf`]);
//! - a scan decoded on an executor names that executor in its errors.
//!
//! See docs/distributed.md.

pub mod client;
pub mod codec;
pub mod logging;
pub mod scan;
pub mod server;
pub mod wire;

#[cfg(test)]
mod tests;
