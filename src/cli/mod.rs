//! Command-line parsing and the subcommands.

mod args;
mod cluster;
mod dataset;
mod extract;
mod labels;
mod progress;
mod query;
mod shell;

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
    /// Ctrl-C: the output holds the flows read until then and is marked partial
    /// (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: u8 = 130;
}

/// Parses the command line and runs the chosen command.
pub fn run() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        Some(args::Command::Extract(a)) => extract::run(a),
        Some(args::Command::Query(a)) => query::run(a),
        Some(args::Command::Shell(a)) => shell::run(a),
        Some(args::Command::Columns(a)) => extract::columns(a),
        Some(args::Command::Labels(a)) => labels::run(a),
        Some(args::Command::Scheduler(a)) => cluster::scheduler(a),
        Some(args::Command::Executor(a)) => cluster::executor(a),
        None if cli.query.sql.is_some() || cli.query.file.is_some() => query::run(cli.query),
        None => {
            // No command and no SQL: teach rather than fail.
            let _ = <args::Cli as clap::CommandFactory>::command().print_help();
            return ExitCode::from(exit::FATAL);
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("flowq: error: {err:#}");
            ExitCode::from(exit::FATAL)
        }
    }
}
