//! The flow columns a rule's `where` condition may name, and where each value
//! comes from in a profile: the one place that maps CICFlowMeter's column names
//! (which the published CIC-IDS rules use) to flowq's columns.
//!
//! A name is resolved against the columns of the run's profile when the run
//! starts: a CICFlowMeter name (any of its spellings, [`CIC_NAMES`]) takes the
//! cic profiles' own column when the profile has it, else flowq's column with
//! the same value (converted to CICFlowMeter's unit); any other name must be a
//! column of the profile itself (`fwd_payload_bytes`, `Flow Duration`, ...). A
//! rule set that needs a value the profile does not have stops the run before
//! any extraction, naming the column and the profiles that have it.

use flowq_extract::batch::cic::CicColumn;
use flowq_extract::batch::{Column, Stat};
use flowq_extract::flow::Direction;

/// Index of RST in `COUNTED_FLAGS` (SYN, FIN, RST, PSH, ACK, URG, ECE, CWR).
const RST: usize = 2;

/// One value rules can test, under its CICFlowMeter names.
pub struct CicName {
    /// The name as the Engelen CICFlowMeter fork writes it (the rule files use it).
    pub name: &'static str,
    /// Other spellings: CIC-IDS2017's and CSE-CIC-IDS2018's published headers.
    pub aliases: &'static [&'static str],
    /// What the value is, with its unit.
    pub meaning: &'static str,
    /// The cic profiles' column with exactly this value.
    cic: CicColumn,
    /// flowq's column with the same value in another unit, and the conversion.
    flowq: Option<(Column, Conversion)>,
}

/// How a flowq column's value becomes the CICFlowMeter value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Conversion {
    /// The same number.
    Same,
    /// Seconds (Float64) to whole microseconds, floored as CICFlowMeter's
    /// `Flow Duration` is. The 1e-4 µs added before flooring undoes the binary
    /// rounding of the seconds (0.1998 s is 199799.99999999997 µs as a float);
    /// with nanosecond capture times a fraction is a multiple of 0.001 µs, so
    /// the nudge never carries into the next microsecond.
    SecondsToMicros,
}

impl Conversion {
    /// Applies the conversion.
    pub fn apply(self, value: f64) -> f64 {
        match self {
            Conversion::Same => value,
            Conversion::SecondsToMicros => (value * 1e6 + 1e-4).floor(),
        }
    }
}

/// The CICFlowMeter columns rules may name. Addresses, ports, protocol and
/// time have their own rule fields; `Src Port` and `Dst Port` are here too so a
/// condition can combine a port with a count (`Total Fwd Packet > 20 or Src
/// Port == 44464`).
pub const CIC_NAMES: &[CicName] = &[
    CicName {
        name: "Src Port",
        aliases: &["Source Port"],
        meaning: "initiator's port",
        cic: CicColumn::SrcPort,
        flowq: Some((Column::SrcPort, Conversion::Same)),
    },
    CicName {
        name: "Dst Port",
        aliases: &["Destination Port"],
        meaning: "responder's port",
        cic: CicColumn::DstPort,
        flowq: Some((Column::DstPort, Conversion::Same)),
    },
    CicName {
        name: "Protocol",
        aliases: &[],
        meaning: "IP protocol number",
        cic: CicColumn::Protocol,
        flowq: Some((Column::Protocol, Conversion::Same)),
    },
    CicName {
        name: "Flow Duration",
        aliases: &[],
        meaning: "last minus first packet time, microseconds (floored)",
        cic: CicColumn::FlowDuration,
        flowq: Some((Column::Duration, Conversion::SecondsToMicros)),
    },
    CicName {
        name: "Total Fwd Packet",
        aliases: &["Total Fwd Packets", "Tot Fwd Pkts"],
        meaning: "packets from src to dst",
        cic: CicColumn::TotFwdPkts,
        flowq: Some((Column::FwdPktCount, Conversion::Same)),
    },
    CicName {
        name: "Total Bwd packets",
        aliases: &["Total Backward Packets", "Tot Bwd Pkts"],
        meaning: "packets from dst to src",
        cic: CicColumn::TotBwdPkts,
        flowq: Some((Column::BwdPktCount, Conversion::Same)),
    },
    CicName {
        name: "Total Length of Fwd Packet",
        aliases: &["Total Length of Fwd Packets", "TotLen Fwd Pkts"],
        meaning: "transport payload bytes from src to dst (not wire bytes)",
        cic: CicColumn::TotLenFwd,
        flowq: Some((Column::FwdPayloadBytes, Conversion::Same)),
    },
    CicName {
        name: "Total Length of Bwd Packet",
        aliases: &["Total Length of Bwd Packets", "TotLen Bwd Pkts"],
        meaning: "transport payload bytes from dst to src",
        cic: CicColumn::TotLenBwd,
        flowq: Some((Column::BwdPayloadBytes, Conversion::Same)),
    },
    CicName {
        name: "Fwd Packet Length Max",
        aliases: &["Fwd Pkt Len Max"],
        meaning: "largest transport payload of a packet from src to dst (flowq's \
                  fwd_pkt_len_max is the wire length, another value, so only the cic \
                  profiles have it)",
        cic: CicColumn::FwdPktLen(Stat::Max),
        flowq: None,
    },
    CicName {
        name: "Fwd RST Flags",
        aliases: &[],
        meaning: "packets from src to dst with RST set",
        cic: CicColumn::FwdRst,
        flowq: Some((
            Column::DirFlagCount(Direction::Forward, RST),
            Conversion::Same,
        )),
    },
    CicName {
        name: "Bwd RST Flags",
        aliases: &[],
        meaning: "packets from dst to src with RST set",
        cic: CicColumn::BwdRst,
        flowq: Some((
            Column::DirFlagCount(Direction::Backward, RST),
            Conversion::Same,
        )),
    },
];

/// The CICFlowMeter name `name` stands for, if any (spellings compared without
/// case and surrounding spaces, as the published headers pad them).
pub fn cic_name(name: &str) -> Option<&'static CicName> {
    let name = name.trim();
    CIC_NAMES.iter().find(|c| {
        c.name.eq_ignore_ascii_case(name) || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// Where a rule's column comes from in one profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Source {
    /// Index of the profile's column.
    pub index: usize,
    /// Conversion of its value.
    pub conversion: Conversion,
}

/// Finds `name` among a profile's `columns` (with their output `names`), or
/// says why not.
pub fn resolve(name: &str, columns: &[Column], names: &[&str]) -> Result<Source, String> {
    let same = |index| Source {
        index,
        conversion: Conversion::Same,
    };
    if let Some(cic) = cic_name(name) {
        if let Some(index) = columns
            .iter()
            .position(|c| matches!(c, Column::Cic(_, k) if *k == cic.cic))
        {
            return Ok(same(index));
        }
        if let Some((flowq, conversion)) = cic.flowq
            && let Some(index) = columns.iter().position(|c| *c == flowq)
        {
            return Ok(Source { index, conversion });
        }
        let elsewhere = match cic.flowq {
            Some((flowq, _)) => format!(
                "the cic profiles have it as `{}`, profiles with flowq's `{}` column too",
                cic.name,
                flowq.def().name
            ),
            None => format!("only the cic profiles have it (`{}`)", cic.name),
        };
        return Err(format!(
            "the label rules test `{name}` ({}), which this profile does not have; {elsewhere}",
            cic.meaning
        ));
    }
    match names
        .iter()
        .position(|n| n.trim().eq_ignore_ascii_case(name))
    {
        Some(index) => Ok(same(index)),
        None => Err(format!(
            "the label rules test `{name}`, which is neither a column of this profile nor a \
             CICFlowMeter column flowq knows ({})",
            CIC_NAMES
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
