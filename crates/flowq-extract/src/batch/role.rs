//! What each flow column says about who talked and when: the knowledge that
//! labels (which columns hold the addresses, ports, start time),
//! anonymization (which hold addresses) and `--drop-identifiers` (which
//! identify rather than describe) share, for the command line and the Python
//! package alike.

use super::cic::CicColumn;
use super::schema::{Column, NfColumn, Scope};

/// A column's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The initiator's IP address.
    SrcAddress,
    /// The responder's IP address.
    DstAddress,
    /// A MAC address.
    Mac,
    /// A MAC address's vendor prefix.
    Oui,
    /// The initiator's port.
    SrcPort,
    /// The responder's port.
    DstPort,
    /// The IP protocol number.
    Protocol,
    /// The flow's first packet, in microseconds (Arrow timestamp) or milliseconds.
    StartTime(TimeUnit),
    /// Any other absolute time.
    OtherTime,
    /// CICFlowMeter's `Flow ID` text: addresses, ports and protocol joined by `-`.
    CicFlowId,
    /// Numbers that order flows in capture time (flowq's flow_id, NFStream's id)
    /// or name the testbed's layout (VLAN ids).
    Identifier,
    /// The CIC profiles' `Label` column, filled by the rules when there are any.
    CicLabel,
    /// A measurement of the flow's behaviour.
    Other,
}

/// The unit of a start-time column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Microseconds (an Arrow timestamp).
    Micros,
    /// Milliseconds since the epoch (NFStream's columns).
    Millis,
}

/// The role of `column`.
pub fn role_of(column: &Column) -> Role {
    use CicColumn as C;
    match column {
        Column::SrcIp | Column::Cic(_, C::SrcIp) => Role::SrcAddress,
        Column::DstIp | Column::Cic(_, C::DstIp) => Role::DstAddress,
        Column::SrcPort | Column::Cic(_, C::SrcPort) => Role::SrcPort,
        Column::DstPort | Column::Cic(_, C::DstPort) => Role::DstPort,
        Column::Protocol | Column::Cic(_, C::Protocol) => Role::Protocol,
        Column::FirstSeen | Column::Cic(_, C::Timestamp) => Role::StartTime(TimeUnit::Micros),
        Column::Nf(NfColumn::FirstSeenMs(Scope::Both)) => Role::StartTime(TimeUnit::Millis),
        Column::LastSeen
        | Column::Cic(_, C::TimestampText)
        | Column::Nf(NfColumn::FirstSeenMs(_) | NfColumn::LastSeenMs(_)) => Role::OtherTime,
        Column::Nf(NfColumn::SrcMac | NfColumn::DstMac) => Role::Mac,
        Column::Nf(NfColumn::SrcOui | NfColumn::DstOui) => Role::Oui,
        Column::Cic(_, C::FlowId) => Role::CicFlowId,
        Column::FlowId | Column::VlanId | Column::Nf(NfColumn::Id) => Role::Identifier,
        Column::Cic(_, C::Label) => Role::CicLabel,
        _ => Role::Other,
    }
}

impl Role {
    /// Whether a column of this role identifies hosts, places or moments
    /// rather than describing behaviour: `--drop-identifiers` leaves it out
    /// (addresses, ports, absolute times, flow ids, VLAN ids; the protocol
    /// and the label stay).
    pub fn identifies(self) -> bool {
        !matches!(self, Role::Protocol | Role::CicLabel | Role::Other)
    }
}
