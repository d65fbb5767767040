//! The decode stage: capture records in, decoded IP packets out, with every
//! record that is not used counted by reason. Shared by the single-threaded path
//! and the reader thread of the sharded one.

use crate::capture::{CaptureError, CaptureReader};
use crate::decode::{self, FragmentTracker, PacketView, SkipReason, TransportState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    jumps: JumpGuard,
    cancel: Option<Arc<AtomicBool>>,
    /// Reading stopped because `cancel` was set.
    pub interrupted: bool,
}

/// A timestamp more than this ahead of the capture clock moves the clock only
/// when the next packet is that far ahead too: one corrupt timestamp must not
/// expire every open flow and then freeze the clock in the future.
pub(crate) const CLOCK_JUMP_NS: i64 = 3_600_000_000_000;

impl<'r> PacketStream<'r> {
    pub(crate) fn new(
        reader: &'r mut CaptureReader,
        seed: bool,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Self {
        PacketStream {
            reader,
            fragments: FragmentTracker::default(),
            seed,
            skipped: [0; SkipReason::COUNT],
            records: 0,
            in_flows: 0,
            incomplete: 0,
            clock: i64::MIN,
            end_error: None,
            jumps: JumpGuard::default(),
            cancel,
            interrupted: false,
        }
    }

    /// Packets whose forward time jump was not confirmed by the next packet
    /// (a jump still pending at the end of the capture counts too).
    pub(crate) fn timestamp_outliers(&self) -> u64 {
        self.jumps.outliers + u64::from(self.jumps.pending.is_some())
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
        if self.records.is_multiple_of(1024)
            && let Some(cancel) = &self.cancel
            && cancel.load(Ordering::Relaxed)
        {
            self.interrupted = true;
            return Step::End;
        }
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
        let mut view = match decode::decode(&raw) {
            Ok(view) => view,
            Err(reason) => {
                self.skipped[reason.index()] += 1;
                return Step::Skipped;
            }
        };
        self.clock = self.jumps.advance(self.clock, view.ts_ns);
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

/// The capture clock follows the latest timestamp, except that a jump of more
/// than [`CLOCK_JUMP_NS`] needs a second packet beyond the old clock by that
/// much; the clock then moves to the earlier of the two. A lone outlier is
/// counted and leaves the clock where it was.
#[derive(Debug, Default)]
struct JumpGuard {
    /// A forward jump waiting for the next packet to confirm it.
    pending: Option<i64>,
    /// Jumps the next packet did not confirm.
    outliers: u64,
}

impl JumpGuard {
    /// The clock after a packet stamped `ts`.
    fn advance(&mut self, clock: i64, ts: i64) -> i64 {
        if clock == i64::MIN {
            return ts;
        }
        if ts.saturating_sub(clock) <= CLOCK_JUMP_NS {
            if self.pending.take().is_some() {
                self.outliers += 1;
            }
            return clock.max(ts);
        }
        match self.pending.take() {
            None => {
                self.pending = Some(ts);
                clock
            }
            Some(first) => first.min(ts),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;

    #[test]
    fn a_lone_jump_is_an_outlier_and_a_confirmed_one_moves_the_clock() {
        let mut g = JumpGuard::default();
        let mut clock = g.advance(i64::MIN, 0);
        clock = g.advance(clock, 10);
        // One packet a year ahead, then back to normal: the clock stays.
        clock = g.advance(clock, 365 * 24 * HOUR);
        assert_eq!(clock, 10);
        clock = g.advance(clock, 20);
        assert_eq!((clock, g.outliers), (20, 1));
        // A real gap of two hours: confirmed by the second packet after it.
        clock = g.advance(clock, 2 * HOUR + 100);
        assert_eq!(clock, 20);
        clock = g.advance(clock, 2 * HOUR + 50);
        assert_eq!((clock, g.outliers), (2 * HOUR + 50, 1));
        // Jumps up to an hour move the clock at once.
        clock = g.advance(clock, 3 * HOUR + 50);
        assert_eq!(clock, 3 * HOUR + 50);
        // Backwards never moves it.
        assert_eq!(g.advance(clock, 0), 3 * HOUR + 50);
    }
}
