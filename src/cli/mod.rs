//! Command-line parsing and the subcommands.

mod args;
mod extract;
mod progress;

use clap::Parser;
use std::process::ExitCode;

/// Exit codes, documented in docs/cli.md.
pub mod exit {
    /// Every input was read completely and the output was written.
    pub const OK: u8 = 0;
    /// The output was written, but some input was unreadable, not a capture, or
    /// truncated/corrupt part-way (its packets up to the problem were used).
    pub const PARTIAL: u8 = 1;
    /// Nothing was written: bad usage, no readable input, or the output failed.
    pub const FATAL: u8 = 2;
}

/// Parses the command line and runs the chosen command.
pub fn run() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Extract(a) => extract::run(a),
        args::Command::Columns(a) => extract::columns(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("flowq: error: {err:#}");
            ExitCode::from(exit::FATAL)
        }
    }
}
