//! The decode stage: capture records in, decoded IP packets out, with every
//! record that is not used counted by reason. Shared by the single-threaded path
//! and the reader thread of the sharded one.

use crate::capture::{CaptureError, CaptureReader};
use crate::decode::{self, FragmentTracker, PacketView, SkipReason, TransportState, Tunnels};
use crate::extract::{ExtractOptions, Profile};

/// How packets are seen: the original script's view (`seed` profile), or
/// flowq's, taken out of these tunnels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamMode {
    seed: bool,
    tunnels: Tunnels,
}

impl StreamMode {
    /// The view `options` ask for. The `seed` profile decodes no tunnel itself
    /// (its scapy rules look inside them); the `nfstream` profile takes packets
    /// out of the tunnels NFStream decodes.
    pub(crate) fn of(options: &ExtractOptions) -> StreamMode {
        let seed = options.profile == Profile::Seed;
        let tunnels = match options.profile {
            _ if seed || !options.decapsulate => Tunnels::NONE,
            Profile::Nfstream => Tunnels::NFSTREAM,
            _ => Tunnels::ALL,
        };
        StreamMode { seed, tunnels }
    }
}

/// A decoded packet with its place in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoded<'a> {
    pub view: PacketView<'a>,
    /// Position of the record in the input, from 0 (all records count).
    pub ordinal: u64,
    /// The capture clock: the latest timestamp seen so far.
    pub clock: i64,
}

/// Reads and decodes one capture.
pub(crate) struct PacketStream<'r> {
    reader: &'r mut CaptureReader,
    fragments: FragmentTracker,
    /// Follow the original script's view of packets (`seed` profile).
    seed: bool,
    /// Encapsulations packets are taken out of.
    tunnels: Tunnels,
    pub skipped: [u64; SkipReason::COUNT],
    /// Records read.
    pub records: u64,
    /// Packets returned.
    pub in_flows: u64,
    /// Returned packets whose transport header was incomplete.
    pub incomplete: u64,
    pub clock: i64,
    /// The error that ended the capture early, if any.
    pub end_error: Option<CaptureError>,
}

impl<'r> PacketStream<'r> {
    pub(crate) fn new(reader: &'r mut CaptureReader, mode: StreamMode) -> Self {
        PacketStream {
            reader,
            fragments: FragmentTracker::default(),
            seed: mode.seed,
            tunnels: mode.tunnels,
            skipped: [0; SkipReason::COUNT],
            records: 0,
            in_flows: 0,
            incomplete: 0,
            clock: i64::MIN,
            end_error: None,
        }
    }

    /// Later fragments that found no first fragment.
    pub(crate) fn orphan_fragments(&self) -> u64 {
        self.fragments.orphans()
    }

    /// The reader's own counters.
    pub(crate) fn reader(&self) -> &CaptureReader {
        self.reader
    }

    /// Reads one record: a usable packet, a skipped record (counted), or the end
    /// of the capture (or the error that ended it, kept in `end_error`).
    #[inline]
    pub(crate) fn step(&mut self) -> Step<'_> {
        let raw = match self.reader.next_packet() {
            Ok(Some(raw)) => raw,
            Ok(None) => return Step::End,
            Err(e) => {
                self.end_error = Some(e);
                return Step::End;
            }
        };
        let ordinal = self.records;
        self.records += 1;
        let mut view = match decode::decode(&raw, self.tunnels) {
            Ok(view) => view,
            Err(reason) => {
                self.skipped[reason.index()] += 1;
                return Step::Skipped;
            }
        };
        self.clock = self.clock.max(view.ts_ns);
        if !self.seed {
            self.fragments.observe(&mut view, self.clock);
        } else if !decode::scapy::apply(&mut view) {
            // The original script never saw this packet as IPv4.
            self.skipped[SkipReason::NotIp.index()] += 1;
            return Step::Skipped;
        }
        self.incomplete += u64::from(view.transport_state == TransportState::Incomplete);
        self.in_flows += 1;
        Step::Packet(Decoded {
            view,
            ordinal,
            clock: self.clock,
        })
    }
}

/// The outcome of reading one record.
pub(crate) enum Step<'a> {
    /// A packet for the flow table.
    Packet(Decoded<'a>),
    /// A record that was counted as skipped.
    Skipped,
    /// The end of the capture.
    End,
}
