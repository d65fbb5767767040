//! The command-line surface: what users type, validated but not yet acted on.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const ABOUT: &str = "Turn packet captures into flow datasets (Parquet, CSV, Arrow).";

const LONG_ABOUT: &str = "\
flowq groups the packets of pcap and pcapng captures into bidirectional flows and
writes one row per flow, with documented columns, as Parquet (default), CSV or
Arrow IPC.

Column definitions: docs/features.md, or `flowq columns`.";

const EXTRACT_AFTER_HELP: &str = "\
Examples:
  flowq extract capture.pcap -o flows.parquet
  flowq extract captures/ -o flows.csv --idle-timeout 60
  zcat big.pcap.gz | flowq extract - -o - | head
  flowq extract capture.pcap -o legacy.csv --profile seed

Flow rules (docs/flows.md): a flow is the traffic between two endpoints over one
protocol on one VLAN, in both directions; src is the side that sent the first
packet (for TCP first seen as SYN+ACK, the side that received it). A flow ends
after --idle-timeout without packets, after --active-timeout in total, on a TCP
RST, or once both sides sent FIN; packets trailing a TCP close by less than
--tcp-close-grace still belong to it. Rows are ordered by the time each flow
ended, ties broken by the flow's first packet.

Exit status: 0 all inputs read completely; 1 output written but some input was
unreadable or truncated (see the summary); 2 nothing written (usage error, no
readable input, output failure).";

/// flowq: packet captures to flow datasets.
#[derive(Debug, Parser)]
#[command(name = "flowq", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Extract flows from captures into a Parquet, CSV or Arrow file.
    #[command(after_long_help = EXTRACT_AFTER_HELP)]
    Extract(ExtractArgs),
    /// List the columns of a profile with their types and meaning.
    Columns(ColumnsArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// flowq's default columns: counts per direction, TCP flags, end reason.
    Standard,
    /// The original flowq script's CSV, reproduced exactly (one-way flows, no timeouts).
    Seed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Apache Parquet with zstd compression (the default for files).
    Parquet,
    /// CSV with a header line (the default for `-o -`).
    Csv,
    /// Arrow IPC file.
    Arrow,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Capture files (pcap or pcapng, optionally gzip/zstd-compressed), directories
    /// (every capture below them, in sorted order), or `-` for standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output file; the format follows the extension (.parquet, .csv, .arrow). Use
    /// `-` to write CSV to standard output.
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: PathBuf,

    /// Output format, overriding the extension.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// Column set and compatibility rules.
    #[arg(long, value_enum, default_value = "standard")]
    pub profile: ProfileArg,

    /// End a flow after this many seconds without packets (0 = never).
    #[arg(long, value_name = "SECONDS", default_value = "120", value_parser = parse_seconds)]
    pub idle_timeout: f64,

    /// End a flow after it has lasted this many seconds; later packets start a new
    /// flow (0 = never).
    #[arg(long, value_name = "SECONDS", default_value = "1800", value_parser = parse_seconds)]
    pub active_timeout: f64,

    /// After a TCP close (RST, or FIN from both sides), packets other than a new SYN
    /// that arrive within this many seconds still belong to the closed flow.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_seconds)]
    pub tcp_close_grace: f64,

    /// Key flows on the ordered 5-tuple: each direction is its own flow.
    #[arg(long)]
    pub unidirectional: bool,

    /// Write the run summary (packets, skips by reason, flows, per input) as JSON.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,

    /// No progress bar and no summary on standard error (warnings and errors stay).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ColumnsArgs {
    /// Profile whose columns to list.
    #[arg(long, value_enum, default_value = "standard")]
    pub profile: ProfileArg,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("`{text}` must be a non-negative number of seconds"));
    }
    if value > 1e9 {
        return Err(format!("`{text}` seconds is more than 30 years"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn seconds_parser_rejects_nonsense() {
        assert_eq!(parse_seconds("1.5"), Ok(1.5));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("abc").is_err());
        assert!(parse_seconds("inf").is_err());
    }
}
