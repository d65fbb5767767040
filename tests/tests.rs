//! flowq's integration tests, compiled as one binary (each extra test binary
//! would link the whole dependency tree again).

mod app;
mod app_oracle;
mod cic;
mod cli;
mod columns;
mod community_id;
mod datasets;
mod deep_corpus;
#[cfg(feature = "distributed")]
mod distributed;
mod extract;
mod full_profile;
mod fuzz_regressions;
mod nfstream;
mod oracle;
mod parallel;
mod preprocess;
mod public_labels;
mod queries;
mod ranges;
mod robustness;
mod seed;
mod sql;
mod tunnels;
mod util;
