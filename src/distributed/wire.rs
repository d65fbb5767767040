//! The bytes flowq puts in Ballista's plans: a versioned envelope around
//! every payload its codecs write, and the JSON bodies of flowq's own nodes.
//!
//! An envelope is `b"FLOWQ"`, a big-endian `u16` wire version, a one-byte kind,
//! then the body. A payload of Ballista's (or DataFusion's) own codecs travels
//! inside a `Kind::Inner` envelope unchanged. Protobuf cannot begin with
//! `b'F'` (field 8 with wire type 6, which does not exist), so a payload
//! without the magic is unambiguously a foreign one and goes to the inner codec
//! as is.
//!
//! The bodies mirror `ExtractOptions` and its parts field by field instead of
//! deriving serde on them in `flowq-extract`: the wire format is a promise
//! between processes that may run different builds, and it should change only
//! when [`VERSION`] does.

use crate::sql::pcap_table::Rows;
use datafusion::common::{DataFusionError, Result};
use flowq_extract::flow::FlowConfig;
use flowq_extract::{ExtractOptions, Profile};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// First bytes of every flowq payload.
pub const MAGIC: &[u8; 5] = b"FLOWQ";

/// The wire version this build writes and the newest it reads. Bump it when a
/// body changes shape; older versions stay readable where that is possible.
pub const VERSION: u16 = 1;

const HEADER_LEN: usize = MAGIC.len() + 2 + 1;

/// What an envelope holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A payload of the wrapped Ballista codec.
    Inner = 0,
    /// A capture table ([`TableBody`]).
    PcapTable = 1,
    /// A capture scan ([`ScanBody`]).
    PcapScan = 2,
    /// A capture scan over a leaf of paths ([`FilesBody`]), as the scheduler
    /// plans it.
    PcapFiles = 3,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            0 => Some(Kind::Inner),
            1 => Some(Kind::PcapTable),
            2 => Some(Kind::PcapScan),
            3 => Some(Kind::PcapFiles),
            _ => None,
        }
    }
}

/// Appends an envelope of `kind` holding `body` to `buf`.
pub fn seal(kind: Kind, body: &[u8], buf: &mut Vec<u8>) {
    buf.reserve(HEADER_LEN + body.len());
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&VERSION.to_be_bytes());
    buf.push(kind as u8);
    buf.extend_from_slice(body);
}

/// The kind and body of an envelope; `None` when `buf` is not one (a payload
/// written by a codec other than flowq's).
pub fn open(buf: &[u8]) -> Result<Option<(Kind, &[u8])>> {
    if !buf.starts_with(MAGIC) {
        return Ok(None);
    }
    if buf.len() < HEADER_LEN {
        return Err(wire_error(format!(
            "a flowq plan payload of {} bytes is cut short (its header alone is {HEADER_LEN})",
            buf.len()
        )));
    }
    let version = u16::from_be_bytes([buf[MAGIC.len()], buf[MAGIC.len() + 1]]);
    if version == 0 || version > VERSION {
        return Err(wire_error(format!(
            "a plan payload has flowq wire version {version}, but this flowq {} reads \
             versions 1 to {VERSION}: run the same flowq build on the client, the \
             scheduler and every executor",
            env!("CARGO_PKG_VERSION")
        )));
    }
    let kind_byte = buf[HEADER_LEN - 1];
    let kind = Kind::from_byte(kind_byte).ok_or_else(|| {
        wire_error(format!(
            "a flowq plan payload (wire version {version}) holds an unknown node kind \
             {kind_byte}: run the same flowq build everywhere"
        ))
    })?;
    Ok(Some((kind, &buf[HEADER_LEN..])))
}

fn wire_error(message: String) -> DataFusionError {
    DataFusionError::Internal(message)
}

/// A capture table: everything [`crate::sql::pcap_table::PcapTable::new`] takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableBody {
    pub rows: WireRows,
    pub files: Vec<PathBuf>,
    pub options: WireOptions,
}

/// A capture scan: its table and the names of the columns it produces, in
/// order (names rather than indices, so that a mismatch between two builds'
/// column lists fails loudly instead of reading the wrong column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    pub table: TableBody,
    pub columns: Vec<String>,
}

/// A capture scan over paths from its input: what to extract and the names of
/// the columns it produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesBody {
    pub rows: WireRows,
    pub options: WireOptions,
    pub columns: Vec<String>,
}

/// Encodes a body as JSON: small next to the plans around it, and readable in
/// a packet dump when something goes wrong.
pub fn to_json<T: Serialize>(body: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(body)
        .map_err(|e| wire_error(format!("cannot encode a flowq plan node: {e}")))
}

/// Decodes a JSON body.
pub fn from_json<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        wire_error(format!(
            "cannot decode a flowq {what} (built by a different flowq?): {e}"
        ))
    })
}

/// [`Rows`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireRows {
    Flows,
    Packets,
}

impl From<Rows> for WireRows {
    fn from(rows: Rows) -> Self {
        match rows {
            Rows::Flows => WireRows::Flows,
            Rows::Packets => WireRows::Packets,
        }
    }
}

impl From<WireRows> for Rows {
    fn from(rows: WireRows) -> Self {
        match rows {
            WireRows::Flows => Rows::Flows,
            WireRows::Packets => Rows::Packets,
        }
    }
}

/// [`ExtractOptions`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireOptions {
    pub profile: String,
    pub flow: WireFlow,
    pub batch_rows: usize,
    pub threads: usize,
    pub splt_len: u16,
    pub nfstream_stats: bool,
    pub cic_bugs: bool,
    pub cic_original_timestamp: bool,
    pub decapsulate: bool,
    pub app: bool,
    pub community_id_seed: u16,
    pub dissect: bool,
}

/// [`FlowConfig`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireFlow {
    pub bidirectional: bool,
    pub idle_timeout_ns: Option<i64>,
    pub active_timeout_ns: Option<i64>,
    pub tcp_close: bool,
    pub close_grace_ns: i64,
    pub syn_ack_reverses: bool,
    pub max_flows: Option<usize>,
}

impl From<ExtractOptions> for WireOptions {
    fn from(options: ExtractOptions) -> Self {
        // Destructured without `..`: a new extraction option does not compile
        // until it is carried to the executors too.
        let ExtractOptions {
            profile,
            flow,
            batch_rows,
            threads,
            splt_len,
            nfstream_stats,
            cic_bugs,
            cic_original_timestamp,
            decapsulate,
            app,
            community_id_seed,
            dissect,
        } = options;
        let FlowConfig {
            bidirectional,
            idle_timeout_ns,
            active_timeout_ns,
            tcp_close,
            close_grace_ns,
            syn_ack_reverses,
            max_flows,
        } = flow;
        WireOptions {
            profile: profile_name(profile).to_string(),
            flow: WireFlow {
                bidirectional,
                idle_timeout_ns,
                active_timeout_ns,
                tcp_close,
                close_grace_ns,
                syn_ack_reverses,
                max_flows,
            },
            batch_rows,
            threads,
            splt_len,
            nfstream_stats,
            cic_bugs,
            cic_original_timestamp,
            decapsulate,
            app,
            community_id_seed,
            dissect,
        }
    }
}

impl TryFrom<WireOptions> for ExtractOptions {
    type Error = DataFusionError;

    fn try_from(wire: WireOptions) -> Result<Self> {
        let profile = profile_from_name(&wire.profile).ok_or_else(|| {
            wire_error(format!(
                "a plan asks for the extraction profile `{}`, which this flowq does not have",
                wire.profile
            ))
        })?;
        if wire.batch_rows == 0 || wire.threads == 0 {
            return Err(wire_error(format!(
                "a plan asks for {} rows per batch and {} threads per capture; both must be at least 1",
                wire.batch_rows, wire.threads
            )));
        }
        let WireFlow {
            bidirectional,
            idle_timeout_ns,
            active_timeout_ns,
            tcp_close,
            close_grace_ns,
            syn_ack_reverses,
            max_flows,
        } = wire.flow;
        Ok(ExtractOptions {
            profile,
            flow: FlowConfig {
                bidirectional,
                idle_timeout_ns,
                active_timeout_ns,
                tcp_close,
                close_grace_ns,
                syn_ack_reverses,
                max_flows,
            },
            batch_rows: wire.batch_rows,
            threads: wire.threads,
            splt_len: wire.splt_len,
            nfstream_stats: wire.nfstream_stats,
            cic_bugs: wire.cic_bugs,
            cic_original_timestamp: wire.cic_original_timestamp,
            decapsulate: wire.decapsulate,
            app: wire.app,
            community_id_seed: wire.community_id_seed,
            dissect: wire.dissect,
        })
    }
}

/// Every profile, by the exhaustive match in [`profile_name`].
pub const PROFILES: [Profile; 7] = [
    Profile::Standard,
    Profile::Seed,
    Profile::Full,
    Profile::Nfstream,
    Profile::Cic2017,
    Profile::Cic2018,
    Profile::Cic,
];

/// The profile's wire name. Spelled out here rather than taken from
/// `Profile::name` (the command line's word, free to change); the match is
/// exhaustive so a new profile must be given a wire name.
fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Standard => "standard",
        Profile::Seed => "seed",
        Profile::Full => "full",
        Profile::Nfstream => "nfstream",
        Profile::Cic2017 => "cic2017",
        Profile::Cic2018 => "cic2018",
        Profile::Cic => "cic",
    }
}

fn profile_from_name(name: &str) -> Option<Profile> {
    PROFILES.into_iter().find(|p| profile_name(*p) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip() {
        let mut buf = Vec::new();
        seal(Kind::PcapScan, b"{}", &mut buf);
        assert!(buf.starts_with(b"FLOWQ\0\x01\x02"));
        assert_eq!(open(&buf).unwrap(), Some((Kind::PcapScan, &b"{}"[..])));
        let mut empty = Vec::new();
        seal(Kind::Inner, b"", &mut empty);
        assert_eq!(open(&empty).unwrap(), Some((Kind::Inner, &b""[..])));
    }

    #[test]
    fn foreign_payloads_are_not_envelopes() {
        assert_eq!(open(b"").unwrap(), None);
        assert_eq!(open(b"\x0a\x03abc").unwrap(), None);
        assert_eq!(open(b"FLOW").unwrap(), None);
    }

    #[test]
    fn newer_versions_and_kinds_are_clear_errors() {
        let newer = [
            b"FLOWQ".as_slice(),
            &(VERSION + 1).to_be_bytes(),
            &[1],
            b"{}",
        ]
        .concat();
        let message = open(&newer).unwrap_err().to_string();
        assert!(
            message.contains(&format!("wire version {}", VERSION + 1)),
            "{message}"
        );
        assert!(message.contains("same flowq build"), "{message}");

        let zero = [b"FLOWQ".as_slice(), &0u16.to_be_bytes(), &[1]].concat();
        assert!(open(&zero).is_err());

        let kind = [b"FLOWQ".as_slice(), &VERSION.to_be_bytes(), &[200]].concat();
        let message = open(&kind).unwrap_err().to_string();
        assert!(message.contains("unknown node kind 200"), "{message}");

        let short = b"FLOWQ\x00";
        assert!(open(short).unwrap_err().to_string().contains("cut short"));
    }

    #[test]
    fn every_profile_and_option_round_trips() {
        for profile in PROFILES {
            let options = ExtractOptions {
                profile,
                flow: FlowConfig {
                    bidirectional: false,
                    idle_timeout_ns: None,
                    active_timeout_ns: Some(7),
                    tcp_close: false,
                    close_grace_ns: 3,
                    syn_ack_reverses: false,
                    max_flows: Some(11),
                },
                batch_rows: 5,
                threads: 2,
                splt_len: 4,
                nfstream_stats: true,
                cic_bugs: true,
                cic_original_timestamp: true,
                decapsulate: false,
                app: false,
                community_id_seed: 9,
                dissect: true,
            };
            let wire = WireOptions::from(options);
            let json = to_json(&wire).unwrap();
            let back: WireOptions = from_json(&json, "test").unwrap();
            assert_eq!(ExtractOptions::try_from(back).unwrap(), options);
        }
        let defaults = ExtractOptions::default();
        assert_eq!(
            ExtractOptions::try_from(WireOptions::from(defaults)).unwrap(),
            defaults
        );
    }

    #[test]
    fn bad_bodies_are_errors() {
        let mut wire = WireOptions::from(ExtractOptions::default());
        wire.profile = "zeek".into();
        let message = ExtractOptions::try_from(wire.clone())
            .unwrap_err()
            .to_string();
        assert!(message.contains("`zeek`"), "{message}");
        wire.profile = "standard".into();
        wire.threads = 0;
        assert!(ExtractOptions::try_from(wire).is_err());

        let unknown_field = br#"{"rows":"flows","files":[],"options":{},"extra":1}"#;
        assert!(from_json::<TableBody>(unknown_field, "capture table").is_err());
        assert!(from_json::<TableBody>(b"not json", "capture table").is_err());
    }
}
