//! The `flowq` command line. See `flowq --help`.

mod cli;
mod dataset;
#[cfg(feature = "distributed")]
mod distributed;
mod output_metadata;
mod sql;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
