//! The command-line surface: what users type, validated but not yet acted on.

use clap::{Args, Parser, Subcommand, ValueEnum};
use flowq_extract::preprocess::{DedupWindow, MAX_DEDUP_PACKETS};
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
  flowq extract captures/ -o dataset/ --labels rules.csv --profile full
  flowq extract new.pcap -o dataset/ --append --labels rules.csv --profile full

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

const TOP_AFTER_HELP: &str = "\
Examples:
  flowq extract capture.pcap -o flows.parquet
  flowq \"select src_ip, sum(byte_count) b from flows group by 1 order by b desc limit 10\" --data flows.parquet
  flowq query -f queries/port_scan.sql --pcap capture.pcap
  flowq shell --pcap captures/";

const QUERY_AFTER_HELP: &str = "\
Tables: `flows` (from --pcap or --data, one of them; else $FLOWQ_DATA,
./flows.parquet or ./flows/), `packets` (with --pcap), any --table NAME=PATH
(flow files beside --pcap: --table old=flows.parquet), and file paths in quotes:
  select * from 'capture.pcap'      select * from 'labels.csv'
Functions: cidr_match(ip, cidr), is_private(ip), ip_version(ip), ip_to_int(ip),
service_name(port, protocol); see docs/sql.md.

Examples:
  flowq \"select * from flows where syn_count > 10\" --data flows.parquet
  flowq query \"select dst_port, count(*) from flows group by 1\" --pcap capture.pcap --format csv
  flowq query -f queries/top_talkers.sql --data flows/ -o top.parquet
  flowq query -f queries/top_talkers.sql --pcap /shared/captures --cluster df://node1:50050";

/// flowq: packet captures to flow datasets.
#[derive(Debug, Parser)]
#[command(
    name = "flowq",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = TOP_AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `flowq "SQL"` is `flowq query "SQL"`.
    #[command(flatten)]
    pub query: QueryArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Extract flows from captures into a Parquet, CSV or Arrow file.
    #[command(after_long_help = EXTRACT_AFTER_HELP)]
    Extract(ExtractArgs),
    /// Run SQL over flows (`flowq "SQL"` for short).
    #[command(after_long_help = QUERY_AFTER_HELP)]
    Query(QueryArgs),
    /// An interactive SQL prompt with history, multi-line statements and `\d` help.
    Shell(ShellArgs),
    /// List the columns of a profile with their types and meaning.
    Columns(ColumnsArgs),
    /// Show a label rule set (a built-in name or a file): its rules and time
    /// windows; without RULES, list the built-in sets.
    Labels(LabelsArgs),
    /// Run a cluster scheduler: `flowq query --cluster` sends it queries, it
    /// plans them and hands their tasks to `flowq executor`s (docs/distributed.md).
    #[cfg_attr(not(feature = "distributed"), command(hide = true))]
    #[command(after_long_help = SCHEDULER_AFTER_HELP)]
    Scheduler(SchedulerArgs),
    /// Run a cluster executor: extracts captures and runs query tasks for a
    /// `flowq scheduler` (docs/distributed.md).
    #[cfg_attr(not(feature = "distributed"), command(hide = true))]
    #[command(after_long_help = SCHEDULER_AFTER_HELP)]
    Executor(ExecutorArgs),
}

const SCHEDULER_AFTER_HELP: &str = "\
A cluster (docs/distributed.md):
  node1$ flowq scheduler --bind 0.0.0.0:50050 --external-host node1
  node2$ flowq executor --scheduler node1:50050 --bind 0.0.0.0:50051 --external-host node2
  node3$ flowq executor --scheduler node1:50050 --bind 0.0.0.0:50051 --external-host node3
  any$   flowq query -f queries/top_talkers.sql --pcap /shared/captures --cluster df://node1:50050

Every path a query names (--pcap, --data, --table, files in the SQL) must be
readable under the same name on the client, the scheduler and every executor:
a shared mount. Needs a flowq built with `--features distributed`.
Stop with Ctrl-C or SIGTERM; exit status 0 after a clean stop, 2 on an error.";

/// `flowq labels`.
#[derive(Debug, Args)]
pub struct LabelsArgs {
    /// A rule file, or a built-in set: cic-ids2017, cic-ids2017-wtmc2021,
    /// cse-cic-ids2018.
    #[arg(value_name = "RULES")]
    pub rules: Option<std::path::PathBuf>,
    /// Print only the time windows, as the Markdown table of docs/datasets.md.
    #[arg(long, requires = "rules")]
    pub windows: bool,
}

/// `flowq scheduler`.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on for clients and executors.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    pub bind: std::net::SocketAddr,

    /// Name or address others reach this machine by, when --bind is 0.0.0.0.
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,
}

/// `flowq executor`.
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler to register with.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    pub scheduler: String,

    /// Address of this executor's Arrow Flight service, from which other
    /// executors and clients fetch intermediate and final results.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50051")]
    pub bind: std::net::SocketAddr,

    /// Port of the gRPC service the scheduler sends tasks to (default: the
    /// --bind port + 1).
    #[arg(long, value_name = "PORT")]
    pub grpc_port: Option<u16>,

    /// Name or address others reach this machine by (required with --bind 0.0.0.0).
    #[arg(long, value_name = "HOST")]
    pub external_host: Option<String>,

    /// Tasks run at once, e.g. capture files extracted in parallel (default:
    /// one per core).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub concurrency: Option<u16>,

    /// Directory for shuffle files (default: a temporary directory, removed
    /// when the executor stops).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,

    /// Seconds to keep trying to reach the scheduler when starting.
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    pub connect_timeout: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// flowq's default columns: counts per direction, TCP flags, end reason.
    Standard,
    /// The original flowq script's CSV, reproduced exactly (one-way flows, no timeouts).
    Seed,
    /// Standard plus statistics per direction: packet sizes, inter-arrival times,
    /// TCP flags, windows, handshake RTT, retransmissions, active/idle periods, TTLs
    /// and the first packets' sequence (--splt).
    Full,
    /// NFStream 6.6's columns, names, order and units (--stats adds its 48
    /// statistical columns, --splt N its early-flow sequence).
    Nfstream,
    /// CICFlowMeter's features under the published CIC-IDS2017 header (85 columns).
    Cic2017,
    /// CICFlowMeter's features under the CSE-CIC-IDS2018 names.
    Cic2018,
    /// CICFlowMeter's features under its current names, plus the corrected fork's
    /// columns (per-direction RST, ICMP type/code, retransmissions).
    Cic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CicCompatArg {
    /// CICFlowMeter's definitions with its known bugs fixed (docs/cic.md).
    Fixed,
    /// CICFlowMeter's original arithmetic, bugs included, to compare with
    /// published numbers.
    Bugs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CicTimestampArg {
    /// A UTC timestamp with microseconds.
    Utc,
    /// CICFlowMeter's text, dd/MM/yyyy hh:mm:ss AM/PM (in UTC).
    Original,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TunnelsArg {
    /// Key tunnelled packets on the innermost IP packet (GRE, ERSPAN, VXLAN,
    /// Geneve, GTP-U, IP-in-IP).
    Inner,
    /// Key every packet on its outermost IP header.
    Outer,
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
    /// `-` to write CSV to standard output. A directory (an existing one, a path
    /// ending in `/`, or with --partition-by / --append) becomes a dataset:
    /// partitioned Parquet files plus _dataset.json.
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: PathBuf,

    /// Output format, overriding the extension.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    #[command(flatten)]
    pub flow: FlowArgs,

    /// Threads: for one output file, N flow-table shards per capture, fed by
    /// N threads reading byte ranges of an uncompressed capture file (by one
    /// reader for gzip, zstd or standard input) (default 1); for a dataset directory, captures extracted at once
    /// (default: one per core). The output is identical whatever N (unless
    /// captures read at once spend --flow-memory: then a warning says so).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    #[command(flatten)]
    pub dataset: DatasetArgs,

    /// Write the run summary (packets, skips by reason, flows, per input) as JSON.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,

    /// No progress bar and no summary on standard error (warnings and errors stay).
    #[arg(short, long)]
    pub quiet: bool,
}

/// Datasets, labels and sharing (docs/datasets.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Datasets")]
pub struct DatasetArgs {
    /// Split a dataset directory's files by capture file, by the UTC date or
    /// hour of each flow's first packet, or not at all. Makes -o a dataset
    /// directory.
    #[arg(long, value_enum, value_name = "BY")]
    pub partition_by: Option<PartitionByArg>,

    /// Add the captures that a dataset directory does not have yet (same options
    /// required; captures already in it, by SHA-256, are skipped).
    #[arg(long)]
    pub append: bool,

    /// The inputs are one capture rotated into several files (tcpdump -C/-G):
    /// read them as one stream, ordered by their first timestamps, so flows
    /// crossing a file boundary stay whole.
    #[arg(long)]
    pub rotated: bool,

    /// Label flows with the rules of a CSV or TOML file, or a built-in rule set
    /// by name (cic-ids2017, cic-ids2017-wtmc2021, cse-cic-ids2018); adds the
    /// columns `label` and `label_rule` (and `label_category` when the rules
    /// have categories).
    #[arg(long, value_name = "RULES")]
    pub labels: Option<PathBuf>,

    /// The label of flows no rule matches [default: the rule file's
    /// default_label, else BENIGN].
    #[arg(long, value_name = "LABEL", requires = "labels")]
    pub default_label: Option<String>,

    /// Anonymize IP (and MAC) addresses, prefix-preserving (Crypto-PAn), with
    /// the 32-byte key in KEYFILE (64 hexadecimal characters). The same key maps
    /// an address the same way in every capture and run.
    #[arg(long, value_name = "KEYFILE")]
    pub anonymize: Option<PathBuf>,

    /// Leave out addresses, ports, absolute times, flow ids and VLAN ids, so a
    /// model learns behaviour rather than the testbed's addressing.
    #[arg(long)]
    pub drop_identifiers: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PartitionByArg {
    /// capture=NAME/ directories (the default for a dataset directory).
    Capture,
    /// date=YYYY-MM-DD/ directories (UTC, flow start).
    Date,
    /// date=YYYY-MM-DD/hour=HH/ directories (UTC, flow start).
    Hour,
    /// No directories: one file per capture.
    None,
}

/// How packets are grouped into flows (shared by `extract` and SQL over captures).
#[derive(Debug, Clone, Args)]
pub struct FlowArgs {
    /// Column set and compatibility rules.
    #[arg(long, value_enum, default_value = "standard")]
    pub profile: ProfileArg,

    /// End a flow after this many seconds without packets (0 = never).
    #[arg(long, value_name = "SECONDS", default_value = "120", value_parser = parse_seconds)]
    pub idle_timeout: f64,

    /// End a flow after it has lasted this many seconds; later packets start a new
    /// flow (0 = never). Default 1800, or 120 (CICFlowMeter's flow timeout) for the
    /// cic profiles.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub active_timeout: Option<f64>,

    /// After a TCP close (RST, or FIN from both sides), packets other than a new SYN
    /// that arrive within this many seconds still belong to the closed flow.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_seconds)]
    pub tcp_close_grace: f64,

    /// Key flows on the ordered 5-tuple: each direction is its own flow.
    #[arg(long)]
    pub unidirectional: bool,

    /// Most flows open at once in one capture; beyond it a flow is ended with end
    /// reason `evicted` (a SYN flood or scan cannot exhaust memory). The limit is
    /// split over up to 64 partitions of the key space, and a full partition
    /// evicts its least recently active flow, so the output is the same for
    /// every -j. Default: as many as fit in --flow-memory (about 16 million for
    /// the standard profile, 4 million for full, 3 million for cic).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_flows: Option<u64>,

    /// Flow-state memory for the whole process (all captures and shards at
    /// once), e.g. 4GiB, 512MiB. One capture never reaches it (the default
    /// --max-flows fits in it); captures read at once that together exceed it
    /// evict flows by memory, counted as memory_evicted_flows with a warning,
    /// and which flows those are then depends on timing.
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size)]
    pub flow_memory: u64,

    /// Key tunnelled packets on the inner packet or on the outermost IP header
    /// (the nfstream profile decodes only IP-in-IP and GTP-U, as NFStream does).
    #[arg(long, value_enum, default_value = "inner")]
    pub tunnels: TunnelsArg,

    /// Packets kept in the early-flow sequence columns (full: default 10; nfstream:
    /// default 0 = no sequence columns, like NFStream's splt_analysis).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub splt: Option<u16>,

    /// nfstream profile: add NFStream's 48 statistical columns (its
    /// statistical_analysis=True).
    #[arg(long)]
    pub stats: bool,

    /// full profile: the per-packet information (PPI) sequence of the first N
    /// packets with payload, CESNET's (--ppi alone: 30; --ppi=N for another N):
    /// ppi_size, ppi_dir, ppi_ipt_ms, ppi_flags, ppi_len, ppi_duration,
    /// ppi_roundtrips.
    #[arg(long, value_name = "N", num_args = 0..=1, require_equals = true,
          default_missing_value = "30", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub ppi: Option<u16>,

    /// full profile: write the PPI columns as fixed-size lists of N values padded
    /// with 0 (CESNET's layout; straight into a numpy array).
    #[arg(long, requires = "ppi")]
    pub ppi_pad: bool,

    /// full profile: count every packet in the PPI sequence and the histograms,
    /// including packets without payload and TCP duplicates (CESNET leaves them out).
    #[arg(long)]
    pub ppi_all_packets: bool,

    /// full profile: CESNET's 8-bin log-scale histograms of payload sizes and
    /// inter-packet times, per direction (fwd_size_hist, ..., bwd_ipt_hist).
    #[arg(long)]
    pub histograms: bool,

    /// full profile: per direction, the counts of each byte value over the first
    /// K payload bytes, their entropy and the entropy of the whole payload (Joy).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=2_147_483_647))]
    pub byte_dist: Option<u32>,

    /// full profile: the first N payload bytes of each direction, as binary
    /// (payload can hold personal data: --anonymize does not rewrite it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65_535))]
    pub payload_prefix: Option<u32>,

    /// full profile: the first N payload bytes of each of the first M packets
    /// with payload (nPrint, ET-BERT), with their directions.
    #[arg(long, value_names = ["M", "N"], num_args = 2, value_parser = clap::value_parser!(u32).range(1..=65_535))]
    pub payload_packets: Option<Vec<u32>>,

    /// full profile: FlowPic's 32x32 histogram of packet size by arrival time
    /// over the first SECONDS seconds of each flow.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub flowpic: Option<u32>,

    /// standard and full profiles: leave out the application-metadata columns
    /// (community_id, app_protocol, server_name, TLS, QUIC, DNS, HTTP and SSH
    /// fields; docs/features.md) and do not parse payloads.
    #[arg(long)]
    pub no_app: bool,

    /// Seed of the community_id column (Community ID v1; tools that compare
    /// IDs must use the same seed).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub community_id_seed: u16,

    /// nfstream profile: add NFStream's dissection columns (application_name ...
    /// content_type; its n_dissections > 0), from flowq's own parsers.
    #[arg(long)]
    pub dissect: bool,

    /// cic profiles: CICFlowMeter's definitions with its bugs fixed, or its
    /// original arithmetic (docs/cic.md lists each bug).
    #[arg(long, value_enum, default_value = "fixed")]
    pub cic_compat: CicCompatArg,

    /// cic profiles: how the Timestamp column is written.
    #[arg(long, value_enum, default_value = "utc")]
    pub cic_timestamp: CicTimestampArg,

    /// Sort packets by timestamp within this window before anything else, as
    /// reordercap does: milliseconds, or a time with its unit (500us, 2s).
    /// Equal timestamps keep capture order; a packet later than the window is
    /// passed on unsorted and counted (reorder_late). Inputs are then read
    /// from their start, one thread each. Off by default.
    #[arg(long, value_name = "MS", value_parser = parse_reorder_window)]
    pub reorder_window: Option<i64>,

    /// Drop packets whose captured bytes equal those of a packet within the
    /// window, as editcap does: N = the N packets before (editcap -D N+1), or
    /// a time with its unit, e.g. 1ms = packets stamped up to 1 ms before
    /// (editcap -w 0.001). After --reorder-window. Counted as
    /// duplicates_dropped. Off by default.
    #[arg(long, value_name = "N|TIME", value_parser = parse_dedup)]
    pub dedup: Option<DedupWindow>,
}

/// Where SQL tables come from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Parquet, CSV or Arrow file, or a directory of them (hive-style `key=value`
    /// directories become columns), registered as the table `flows`. Repeatable:
    /// several paths form one table. Default: $FLOWQ_DATA, then ./flows.parquet,
    /// then ./flows/. Not with --pcap, which defines `flows` too: to query flow
    /// files beside captures, name them with --table NAME=PATH.
    #[arg(long, value_name = "PATH", conflicts_with = "pcap")]
    pub data: Vec<PathBuf>,

    /// Register another table for joins, e.g. `--table labels=labels.csv`. Repeatable.
    #[arg(long, value_name = "NAME=PATH", value_parser = parse_table)]
    pub table: Vec<(String, PathBuf)>,

    /// Capture file or directory: its flows become the table `flows` and its
    /// packets the table `packets`, extracted while the query runs (one partition
    /// per file, read in parallel). Repeatable. Not with --data (see there).
    #[arg(long, value_name = "FILE|DIR")]
    pub pcap: Vec<PathBuf>,

    #[command(flatten)]
    pub flow: FlowArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResultFormatArg {
    /// Aligned text table (default on a terminal).
    Table,
    /// CSV with a header line (default when standard output is not a terminal).
    Csv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet (needs -o FILE).
    Parquet,
    /// Arrow IPC file (needs -o FILE).
    Arrow,
}

/// Running SQL.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// The SQL statement(s) to run.
    #[arg(value_name = "SQL")]
    pub sql: Option<String>,

    /// Run the statements of a .sql file (e.g. one of queries/).
    #[arg(short, long, value_name = "FILE", conflicts_with = "sql")]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub sources: SourceArgs,

    /// Result format.
    #[arg(long, value_enum)]
    pub format: Option<ResultFormatArg>,

    /// Write the result to FILE instead of standard output (the format follows
    /// the extension unless --format is given).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Rows shown by the table format (0 = all). Other formats stream every row.
    #[arg(long, value_name = "N", default_value = "40")]
    pub maxrows: usize,

    /// Print nothing but results and errors.
    #[arg(short, long)]
    pub quiet: bool,

    /// Run on a cluster (`flowq scheduler` and `flowq executor`s) instead of
    /// in this process; paths must be readable on every machine of it.
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
}

/// The interactive shell.
#[derive(Debug, Clone, Args)]
pub struct ShellArgs {
    #[command(flatten)]
    pub sources: SourceArgs,

    /// Rows shown per result (0 = all).
    #[arg(long, value_name = "N", default_value = "40")]
    pub maxrows: usize,
}

fn parse_table(text: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=PATH"))?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return Err(format!("`{name}` is not a table name (letters, digits, _)"));
    }
    Ok((name.to_ascii_lowercase(), PathBuf::from(path)))
}

#[derive(Debug, Args)]
pub struct ColumnsArgs {
    /// The profile (and --splt, --stats) whose columns to list.
    #[command(flatten)]
    pub flow: FlowArgs,

    /// List the columns of the `packets` table of SQL over captures instead.
    #[arg(long)]
    pub packets: bool,
}

/// A size in bytes: a number with an optional unit (B, KiB, MiB, GiB, TiB, or
/// K, M, G, T as their binary multiples; KB, MB, GB, TB decimal).
fn parse_size(text: &str) -> Result<u64, String> {
    flowq_extract::options::parse_size(text).map_err(|e| e.to_string())
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    flowq_extract::options::check_seconds(text, value).map_err(|e| e.to_string())
}

/// Longest reorder or duplicate time window: an hour (a capture whose
/// disorder is longer is not out of order but broken; docs/robustness.md).
const MAX_WINDOW_NS: i64 = 3_600_000_000_000;

/// A time: a non-negative decimal number with a unit (ns, us, ms, s), or
/// without one in `default_unit`'s (nanoseconds in the result).
fn parse_time_ns(text: &str, default_unit: Option<&str>) -> Result<i64, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!("`{text}`: a window cannot be negative"));
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = match unit.trim() {
        "" => default_unit.ok_or_else(|| format!("`{text}` needs a unit (ns, us, ms, s)"))?,
        unit => unit,
    };
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        other => return Err(format!("`{other}` is not a time unit (ns, us, ms, s)")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a time (like 500us, 10ms, 2s)"))?;
    let ns = (value * scale).round();
    if !ns.is_finite() || ns > MAX_WINDOW_NS as f64 {
        return Err(format!("`{text}` is longer than an hour"));
    }
    Ok(ns as i64)
}

fn parse_reorder_window(text: &str) -> Result<i64, String> {
    let ns = parse_time_ns(text, Some("ms"))?;
    if ns == 0 {
        return Err(format!(
            "`{text}`: a reorder window must be longer than 0 (leave --reorder-window out to keep capture order)"
        ));
    }
    Ok(ns)
}

/// A whole number of packets, or a time with its unit.
fn parse_dedup(text: &str) -> Result<DedupWindow, String> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return match trimmed.parse::<u32>() {
            Ok(n) if (1..=MAX_DEDUP_PACKETS).contains(&n) => Ok(DedupWindow::Packets(n)),
            _ => Err(format!(
                "`{text}`: a duplicate window is 1 to {MAX_DEDUP_PACKETS} packets (editcap's \
                 limit), or a time with its unit, like 1ms"
            )),
        };
    }
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "`{text}`: a number of packets is a whole number; a time needs its unit (ns, us, ms, s)"
        ));
    }
    parse_time_ns(trimmed, None).map(DedupWindow::Nanos)
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_parse_with_their_units_and_refuse_bad_values() {
        use super::{DedupWindow, parse_dedup, parse_reorder_window};
        assert_eq!(parse_reorder_window("10"), Ok(10_000_000));
        assert_eq!(parse_reorder_window("2.5"), Ok(2_500_000));
        assert_eq!(parse_reorder_window("500us"), Ok(500_000));
        assert_eq!(parse_reorder_window("2s"), Ok(2_000_000_000));
        assert_eq!(parse_reorder_window("7ns"), Ok(7));
        assert!(
            parse_reorder_window("0")
                .unwrap_err()
                .contains("longer than 0")
        );
        assert!(parse_reorder_window("-5").unwrap_err().contains("negative"));
        assert!(parse_dedup("-5ms").unwrap_err().contains("negative"));
        assert!(
            parse_reorder_window("3h")
                .unwrap_err()
                .contains("not a time unit")
        );
        assert!(
            parse_reorder_window("3601s")
                .unwrap_err()
                .contains("an hour")
        );
        assert!(parse_reorder_window("ms").is_err());

        assert_eq!(parse_dedup("5"), Ok(DedupWindow::Packets(5)));
        assert_eq!(parse_dedup("999999"), Ok(DedupWindow::Packets(999_999)));
        assert_eq!(parse_dedup("1ms"), Ok(DedupWindow::Nanos(1_000_000)));
        assert_eq!(parse_dedup("0.000001s"), Ok(DedupWindow::Nanos(1_000)));
        assert_eq!(parse_dedup("0ns"), Ok(DedupWindow::Nanos(0)));
        assert!(parse_dedup("0").unwrap_err().contains("1 to 999999"));
        assert!(parse_dedup("1000000").unwrap_err().contains("1 to 999999"));
        assert!(parse_dedup("99999999999").is_err());
        assert!(parse_dedup("1.5").unwrap_err().contains("needs its unit"));
        assert!(parse_dedup("5 packets").is_err());
        assert!(parse_dedup("").is_err());
    }

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
