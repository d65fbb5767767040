//! flowq's integration tests, compiled as one binary (each extra test binary
//! would link the whole dependency tree again).

mod app;
mod app_oracle;
mod cic;
mod cli;
mod columns;
mod community_id;
mod datasets;
#[cfg(feature = "distributed")]
mod distributed;
mod extract;
mod full_profile;
mod fuzz_regressions;
mod nfstream;
mod oracle;
mod parallel;
mod queries;
mod robustness;
mod seed;
mod sql;
mod tunnels;
mod util;
