//! What an extraction is asked to produce: the [`Profile`] and the
//! [`ExtractOptions`], and how they map onto each stage's own settings (the
//! stream's [`StreamMode`], the flow table's [`FlowConfig`], the feature
//! states' configs, the batch's column list). The stages below never read
//! these options: each takes its own settings, made here.

use crate::batch::cic::{CicVocab, cic_profile_columns};
use crate::batch::{
    APP_COLUMNS, Column, DEFAULT_BATCH_ROWS, NfColumn, SEED_COLUMNS, STANDARD_COLUMNS,
    full_extra_columns, nfstream_columns, nfstream_dissect_columns,
};
use crate::decode::Tunnels;
use crate::features::{AppConfig, CicConfig, FullConfig};
use crate::flow::FlowConfig;
use crate::stream::StreamMode;

/// A named set of columns and the flow rules that go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// flowq's default columns (see docs/features.md).
    #[default]
    Standard,
    /// The original scapy script's CSV: unidirectional flows, no timeouts, captured
    /// bytes, rows in order of each flow's first packet.
    Seed,
    /// The standard columns plus per-direction statistics, TCP details, activity
    /// periods and the early-flow sequence.
    Full,
    /// NFStream 6.6's column names, order and units.
    Nfstream,
    /// CICFlowMeter's features under the CIC-IDS2017 header.
    Cic2017,
    /// CICFlowMeter's features under the CSE-CIC-IDS2018 names.
    Cic2018,
    /// CICFlowMeter's features under its current names, with the corrected
    /// fork's columns.
    Cic,
}

impl Profile {
    /// The profile's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Standard => "standard",
            Profile::Seed => "seed",
            Profile::Full => "full",
            Profile::Nfstream => "nfstream",
            Profile::Cic2017 => "cic2017",
            Profile::Cic2018 => "cic2018",
            Profile::Cic => "cic",
        }
    }

    /// The CICFlowMeter vocabulary of a CIC profile.
    pub fn cic_vocab(self) -> Option<CicVocab> {
        match self {
            Profile::Cic2017 => Some(CicVocab::Cic2017),
            Profile::Cic2018 => Some(CicVocab::Cic2018),
            Profile::Cic => Some(CicVocab::Cic),
            _ => None,
        }
    }

    /// Which per-flow state the profile needs.
    pub(crate) fn state(self) -> State {
        match self {
            Profile::Standard | Profile::Seed => State::Standard,
            Profile::Full | Profile::Nfstream => State::Full,
            Profile::Cic2017 | Profile::Cic2018 | Profile::Cic => State::Cic,
        }
    }

    /// The flow limit `--max-flows` defaults to with a flow-state budget of
    /// `budget` bytes: as many of this profile's flows as fit in it.
    pub fn max_flows_for_budget(self, budget: usize) -> usize {
        use crate::features::{CicFeatures, FullFeatures, StandardFeatures};
        use crate::flow::FlowTable;
        match self.state() {
            State::Standard => FlowTable::<StandardFeatures>::max_flows_for_budget(budget),
            State::Full => FlowTable::<FullFeatures>::max_flows_for_budget(budget),
            State::Cic => FlowTable::<CicFeatures>::max_flows_for_budget(budget),
        }
    }

    /// The active timeout the profile uses unless told otherwise (ns): the CIC
    /// profiles use CICFlowMeter's 120 s flow timeout.
    pub fn default_active_timeout_ns(self) -> Option<i64> {
        match self {
            Profile::Seed => None,
            Profile::Cic2017 | Profile::Cic2018 | Profile::Cic => Some(120_000_000_000),
            _ => Some(1_800_000_000_000),
        }
    }
}

/// The per-flow state types, one per family of profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Standard,
    Full,
    Cic,
}

/// Packets the `full` profile's early-flow sequence keeps unless told otherwise.
pub const DEFAULT_SPLT_LEN: u16 = 10;

/// Everything that decides what an extraction produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ExtractOptions {
    /// Columns and compatibility rules.
    pub profile: Profile,
    /// Flow formation and timeouts (the `seed` profile overrides them).
    pub flow: FlowConfig,
    /// Rows per record batch.
    pub batch_rows: usize,
    /// Flow-table shards per capture (1 = everything on the calling thread). The
    /// output is identical whatever the number.
    pub threads: usize,
    /// Packets of the early-flow sequence (`full` and `nfstream` profiles; 0 = no
    /// sequence columns).
    pub splt_len: u16,
    /// `nfstream` profile: add NFStream's 48 statistical columns.
    pub nfstream_stats: bool,
    /// CIC profiles: reproduce CICFlowMeter's arithmetic bugs.
    pub cic_bugs: bool,
    /// CIC profiles: write `Timestamp` as CICFlowMeter's text.
    pub cic_original_timestamp: bool,
    /// Key tunnelled packets on their inner IP packet (GRE, ERSPAN, VXLAN,
    /// Geneve, GTP-U, IP-in-IP; the `nfstream` profile: IP-in-IP and GTP-U only);
    /// `false` keys them on the outermost IP header. The `seed` profile ignores it.
    pub decapsulate: bool,
    /// `standard` and `full` profiles: the application-metadata columns
    /// (`--no-app` turns them off).
    pub app: bool,
    /// Seed of the `community_id` column (Community ID v1; 0 by default).
    pub community_id_seed: u16,
    /// `nfstream` profile: add NFStream's dissection columns (`--dissect`).
    pub dissect: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            profile: Profile::Standard,
            flow: FlowConfig::default(),
            batch_rows: DEFAULT_BATCH_ROWS,
            threads: 1,
            splt_len: DEFAULT_SPLT_LEN,
            nfstream_stats: false,
            cic_bugs: false,
            cic_original_timestamp: false,
            decapsulate: true,
            app: true,
            community_id_seed: 0,
            dissect: false,
        }
    }
}

impl ExtractOptions {
    /// The profile's columns with these options, in order.
    pub fn columns(&self) -> Vec<Column> {
        let app: &[Column] = if self.app { APP_COLUMNS } else { &[] };
        match self.profile {
            Profile::Standard => [STANDARD_COLUMNS, app].concat(),
            Profile::Seed => SEED_COLUMNS.to_vec(),
            Profile::Full => {
                let mut columns = STANDARD_COLUMNS.to_vec();
                columns.extend(full_extra_columns(self.splt_len > 0));
                columns.extend_from_slice(app);
                columns
            }
            Profile::Nfstream => {
                let mut columns = nfstream_columns(self.nfstream_stats, self.splt_len > 0);
                if self.dissect {
                    // NFStream's order: core, statistics, dissection, sequence.
                    let at = (columns.iter())
                        .position(|c| *c == Column::Nf(NfColumn::SpltDirection))
                        .unwrap_or(columns.len());
                    columns.splice(at..at, nfstream_dissect_columns().iter().copied());
                }
                columns
            }
            Profile::Cic2017 | Profile::Cic2018 | Profile::Cic => {
                let vocab = self.profile.cic_vocab().unwrap_or(CicVocab::Cic);
                cic_profile_columns(vocab, self.cic_original_timestamp)
            }
        }
    }

    /// The CSV header line to write instead of the schema's names (the CIC
    /// profiles' published headers, with cic2017's duplicated column).
    pub fn csv_header(&self) -> Option<String> {
        self.profile.cic_vocab().map(crate::batch::cic::cic_header)
    }

    /// Whether CSV outputs spell infinities and NaN as CICFlowMeter (Java)
    /// did, `Infinity` and `NaN`: only `--cic-compat bugs` produces them.
    pub fn csv_java_non_finite(&self) -> bool {
        self.cic_bugs && self.profile.cic_vocab().is_some()
    }

    /// Whether flows parse their payloads: the profiles with application
    /// columns, unless turned off.
    pub fn app_enabled(&self) -> bool {
        match self.profile {
            Profile::Standard | Profile::Full => self.app,
            Profile::Nfstream => self.dissect,
            Profile::Seed | Profile::Cic2017 | Profile::Cic2018 | Profile::Cic => false,
        }
    }

    /// Settings of the application-metadata state.
    pub(crate) fn app_config(&self) -> AppConfig {
        AppConfig {
            enabled: self.app_enabled(),
        }
    }

    /// Settings of the statistical state.
    pub(crate) fn full_config(&self) -> FullConfig {
        FullConfig {
            splt_len: self.splt_len,
            app: self.app_config(),
        }
    }

    pub(crate) fn cic_config(&self) -> CicConfig {
        CicConfig {
            full: FullConfig {
                splt_len: 0,
                app: AppConfig::default(),
            },
            bugs: self.cic_bugs,
        }
    }

    /// The flow rules actually applied: the `seed` profile reproduces the original
    /// script, which had no timeouts, no TCP close and one-way flows.
    pub fn effective_flow_config(&self) -> FlowConfig {
        match self.profile {
            Profile::Standard
            | Profile::Full
            | Profile::Cic2017
            | Profile::Cic2018
            | Profile::Cic => self.flow,
            Profile::Seed => FlowConfig {
                bidirectional: false,
                idle_timeout_ns: None,
                active_timeout_ns: None,
                tcp_close: false,
                close_grace_ns: 0,
                syn_ack_reverses: false,
                max_flows: self.flow.max_flows,
            },
            // NFStream ends flows by timeouts only, and its src is always the
            // first packet's source.
            Profile::Nfstream => FlowConfig {
                bidirectional: true,
                tcp_close: false,
                close_grace_ns: 0,
                syn_ack_reverses: false,
                ..self.flow
            },
        }
    }

    /// How the stream sees packets: the original script's view (`seed`
    /// profile: no tunnel decoded by flowq, its scapy rules look inside them),
    /// or flowq's, taken out of the tunnels the profile decodes (`nfstream`:
    /// the ones NFStream decodes).
    pub(crate) fn stream_mode(&self) -> StreamMode {
        let seed = self.profile == Profile::Seed;
        let tunnels = match self.profile {
            _ if seed || !self.decapsulate => Tunnels::NONE,
            Profile::Nfstream => Tunnels::NFSTREAM,
            _ => Tunnels::ALL,
        };
        StreamMode { seed, tunnels }
    }
}
