//! The decode stage: capture records in, decoded IP packets out, with every
//! record that is not used counted by reason. Shared by the single-threaded path
//! and the reader thread of the sharded one. It also keeps the capture clock,
//! on which the flow table measures timeouts.

use crate::capture::{CaptureError, CaptureReader, RawPacket, ReaderCounters};
use crate::decode::{
    self, FragmentTracker, Inflater, PacketView, SkipReason, TransportState, TunnelFragments,
    Tunnels,
};
use crate::live::{CHECK_EVERY, Checkpoint};
use crate::preprocess::{Next, Preprocess, PreprocessCounts, PreprocessOptions};
use std::collections::VecDeque;

/// How packets are seen: the original script's view (`seed` profile), or
/// flowq's, taken out of these tunnels. Made by the driver from its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamMode {
    pub(crate) seed: bool,
    pub(crate) tunnels: Tunnels,
    /// Reordering and duplicate removal before decoding.
    pub(crate) preprocess: PreprocessOptions,
}

/// A decoded packet with its place in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoded<'a> {
    pub view: PacketView<'a>,
    /// Position of the record in the input, from 0 (all records count), in
    /// the preprocessed stream (after reordering, without dropped duplicates).
    pub ordinal: u64,
    /// The capture clock: the latest timestamp seen so far.
    pub clock: i64,
}

/// A timestamp more than this ahead of the capture clock moves the clock only
/// when the next packet is that far ahead too: one corrupt timestamp must not
/// expire every open flow and then freeze the clock in the future.
pub(crate) const CLOCK_JUMP_NS: i64 = 3_600_000_000_000;

/// Reads and decodes one capture.
pub(crate) struct PacketStream<'r> {
    reader: &'r mut CaptureReader,
    /// Reordering and duplicate removal between the reader and decoding.
    preprocess: Preprocess,
    /// Records read (of the preprocessed stream).
    pub records: u64,
    pub clock: i64,
    /// The error that ended the capture early, if any.
    pub end_error: Option<CaptureError>,
    /// Everything but the reader (borrowed apart from it while a record is read).
    state: State,
    /// Every 1024 records: publishes the count and asks whether to stop.
    checkpoint: Checkpoint,
    /// Reading stopped because the run was told to stop.
    pub interrupted: bool,
    /// The buffer IPComp payloads are inflated into (the returned view may
    /// borrow it), and the count of those that did not inflate.
    inflater: Inflater,
}

struct State {
    /// Follow the original script's view of packets (`seed` profile).
    seed: bool,
    /// Encapsulations packets are taken out of.
    tunnels: Tunnels,
    /// What was done with the records.
    counts: Counts,
    /// A packet stamped more than [`CLOCK_JUMP_NS`] ahead of the clock, copied
    /// out of the reader's buffer until the next packet says whether the jump
    /// is real.
    pending: Option<Held>,
    /// Held packets decided and waiting to be returned, in input order.
    release: VecDeque<Held>,
    /// The held packet the last returned view borrows from.
    current: Option<Held>,
    /// The IPComp buffer of held packets, decoded again when returned (a
    /// payload that does not inflate was counted when it was read).
    held_inflater: Inflater,
    /// Forward jumps the next packet did not confirm.
    outliers: u64,
    /// The packets inside fragmented tunnel datagrams, lent to the fragments.
    tunnel_fragments: TunnelFragments,
    /// The reader has ended (end of input or error); it is not asked again.
    ended: bool,
}

/// What the stream counts about the records it reads.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    fragments: FragmentTracker,
    /// Records skipped, by reason.
    pub skipped: [u64; SkipReason::COUNT],
    /// Returned packets whose transport header was incomplete.
    pub incomplete: u64,
    /// Packets returned.
    pub in_flows: u64,
}

impl<'r> PacketStream<'r> {
    pub(crate) fn new(
        reader: &'r mut CaptureReader,
        mode: StreamMode,
        checkpoint: Checkpoint,
    ) -> Self {
        PacketStream {
            reader,
            preprocess: Preprocess::new(mode.preprocess),
            records: 0,
            clock: i64::MIN,
            end_error: None,
            state: State {
                seed: mode.seed,
                tunnels: mode.tunnels,
                counts: Counts::default(),
                pending: None,
                release: VecDeque::new(),
                current: None,
                held_inflater: Inflater::default(),
                outliers: 0,
                tunnel_fragments: TunnelFragments::new(mode.tunnels),
                ended: false,
            },
            checkpoint,
            interrupted: false,
            inflater: Inflater::default(),
        }
    }

    /// What was read, with the final record count published (the input has
    /// ended).
    pub(crate) fn into_totals(mut self) -> StreamTotals {
        self.checkpoint.publish(self.records);
        let counts = &self.state.counts;
        StreamTotals {
            records: self.records,
            in_flows: counts.in_flows,
            skipped: counts.skipped,
            incomplete: counts.incomplete,
            orphans: counts.fragments.orphans(),
            outliers: self.state.outliers,
            end_error: self.end_error,
            reader: self.reader.counters(),
            interrupted: self.interrupted,
            ranges: None,
            preprocessed: self.preprocess.counts(),
            ipcomp_not_inflated: self.inflater.failed,
        }
    }

    /// Reads one record: a usable packet, a skipped record (counted), a packet
    /// held back for the clock's sake, or the end of the capture (or the error
    /// that ended it, kept in `end_error`).
    ///
    /// The capture clock follows the latest timestamp, except that a packet
    /// stamped more than [`CLOCK_JUMP_NS`] ahead of it is held until the next
    /// packet decides: if that one is far ahead too, the jump is real and both
    /// are returned with the clock moved; if not, the held packet is an outlier
    /// (one corrupt timestamp), returned without moving the clock, and counted.
    #[inline(always)]
    pub(crate) fn step(&mut self) -> Step<'_> {
        if let Some(held) = self.state.release.pop_front() {
            return self.state.emit_held(held, &mut self.clock);
        }
        if self.state.ended {
            return Step::End;
        }
        if self.records.is_multiple_of(CHECK_EVERY) && self.checkpoint.reached(self.records) {
            self.interrupted = true;
            return self.state.end_of_input(&mut self.clock);
        }
        let raw = match self.preprocess.next(self.reader) {
            Ok(Next::Packet(raw)) => raw,
            Ok(Next::Dropped) => return Step::Dropped,
            Ok(Next::End) => return self.state.end_of_input(&mut self.clock),
            Err(e) => {
                self.end_error = Some(e);
                return self.state.end_of_input(&mut self.clock);
            }
        };
        let ordinal = self.records;
        self.records += 1;
        let mut view = match decode::decode(&raw, self.state.tunnels) {
            Ok(view) => view,
            Err(reason) => {
                self.state.counts.skipped[reason.index()] += 1;
                return Step::Skipped;
            }
        };
        if view.protocol == decode::IPPROTO_IPCOMP {
            // Rare: the payload is inflated into a buffer the view borrows.
            view = decode::open_ipcomp(view, self.state.tunnels, &mut self.inflater);
        }
        let jump = self.clock != i64::MIN && view.ts_ns.saturating_sub(self.clock) > CLOCK_JUMP_NS;
        let state = &mut self.state;
        // The common case first, without taking `pending` apart.
        if !jump && state.pending.is_none() {
            self.clock = self.clock.max(view.ts_ns);
            return finish(
                view,
                ordinal,
                self.clock,
                state.seed,
                &mut state.counts,
                &mut state.tunnel_fragments,
            );
        }
        match (state.pending.take(), jump) {
            (None, false) => {
                self.clock = self.clock.max(view.ts_ns);
                finish(
                    view,
                    ordinal,
                    self.clock,
                    state.seed,
                    &mut state.counts,
                    &mut state.tunnel_fragments,
                )
            }
            (None, true) => {
                state.pending = Some(Held::copy(&raw, ordinal));
                Step::Held
            }
            (Some(first), true) => {
                // Confirmed: a real gap in the capture.
                state.release.push_back(first);
                state.release.push_back(Held::copy(&raw, ordinal));
                Step::Held
            }
            (Some(mut first), false) => {
                state.outliers += 1;
                first.moves_clock = false;
                state.release.push_back(first);
                state.release.push_back(Held::copy(&raw, ordinal));
                Step::Held
            }
        }
    }
}

impl State {
    /// The reader has ended: a jump still pending is an outlier.
    fn end_of_input(&mut self, clock: &mut i64) -> Step<'_> {
        self.ended = true;
        match self.pending.take() {
            Some(mut first) => {
                self.outliers += 1;
                first.moves_clock = false;
                self.emit_held(first, clock)
            }
            None => Step::End,
        }
    }

    fn emit_held(&mut self, held: Held, clock: &mut i64) -> Step<'_> {
        let current = self.current.insert(held);
        let raw = RawPacket {
            ts_ns: current.ts_ns,
            wire_len: current.wire_len,
            data: &current.data,
            linktype: current.linktype,
            interface: current.interface,
        };
        // It decoded when it was read, so it decodes again.
        let Ok(view) = decode::decode_into(&raw, self.tunnels, &mut self.held_inflater) else {
            return Step::Held;
        };
        if current.moves_clock {
            *clock = (*clock).max(view.ts_ns);
        }
        finish(
            view,
            current.ordinal,
            *clock,
            self.seed,
            &mut self.counts,
            &mut self.tunnel_fragments,
        )
    }
}

/// Fragment tracking and the packets inside fragmented tunnel datagrams (or
/// the seed profile's view of the packet), then counting.
#[inline(always)]
fn finish<'v>(
    mut view: PacketView<'v>,
    ordinal: u64,
    clock: i64,
    seed: bool,
    counts: &mut Counts,
    tunnel_fragments: &mut TunnelFragments,
) -> Step<'v> {
    if !seed {
        counts.fragments.observe(&mut view, clock);
        tunnel_fragments.observe(&mut view, clock);
    } else if !decode::scapy::apply(&mut view) {
        // The original script never saw this packet as IPv4.
        counts.skipped[SkipReason::NotIp.index()] += 1;
        return Step::Skipped;
    }
    counts.incomplete += u64::from(view.transport_state == TransportState::Incomplete);
    counts.in_flows += 1;
    Step::Packet(Decoded {
        view,
        ordinal,
        clock,
    })
}

/// A packet copied out of the reader's buffer.
#[derive(Debug)]
struct Held {
    ts_ns: i64,
    wire_len: u32,
    linktype: u32,
    interface: u32,
    data: Vec<u8>,
    ordinal: u64,
    /// Whether returning it moves the clock (false for an outlier).
    moves_clock: bool,
}

impl Held {
    fn copy(raw: &RawPacket<'_>, ordinal: u64) -> Held {
        Held {
            ts_ns: raw.ts_ns,
            wire_len: raw.wire_len,
            linktype: raw.linktype,
            interface: raw.interface,
            data: raw.data.to_vec(),
            ordinal,
            moves_clock: true,
        }
    }
}

/// What the decode stage read from one input.
#[derive(Debug)]
pub(crate) struct StreamTotals {
    /// Records read.
    pub records: u64,
    /// Packets returned.
    pub in_flows: u64,
    /// Records skipped, by reason.
    pub skipped: [u64; SkipReason::COUNT],
    /// Returned packets whose transport header was incomplete.
    pub incomplete: u64,
    /// Later fragments that found no first fragment.
    pub orphans: u64,
    /// Forward time jumps the next packet did not confirm.
    pub outliers: u64,
    /// The error that ended the capture early, if any.
    pub end_error: Option<CaptureError>,
    /// The capture reader's counters.
    pub reader: ReaderCounters,
    /// Reading stopped because the run was told to stop.
    pub interrupted: bool,
    /// How the file was split, when it was read in byte ranges.
    pub ranges: Option<crate::summary::ParallelReading>,
    /// What preprocessing (`--reorder-window`, `--dedup`) dropped and could
    /// not put in order.
    pub preprocessed: PreprocessCounts,
    /// IPComp payloads that did not inflate (decode::Inflater).
    pub ipcomp_not_inflated: u64,
}

/// The sequential half of the decode stage for packets decoded on other
/// threads (byte ranges of one file): the capture clock with its hold on
/// forward time jumps, the fragment tracker and the counts, applied in input
/// order exactly as [`PacketStream::step`] applies them, so that each packet
/// gets the clock it gets when the file is read in one stream.
pub(crate) struct Sequencer<T> {
    /// Records seen (the ordinal of the next record).
    pub records: u64,
    pub clock: i64,
    seed: bool,
    counts: Counts,
    /// A packet stamped more than [`CLOCK_JUMP_NS`] ahead of the clock,
    /// waiting for the next packet to say whether the jump is real.
    pending: Option<Predecoded<T>>,
    outliers: u64,
    /// IPComp payloads that did not inflate, counted where they were decoded.
    ipcomp_not_inflated: u64,
}

/// A record decoded on another thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Predecoded<T> {
    pub view: PacketView<'static>,
    pub ordinal: u64,
    /// The `seed` profile's view of the packet is not IPv4 (it still moves
    /// the clock, then is counted as skipped).
    pub not_seed_ip: bool,
    /// Whatever the caller carries along with the packet.
    pub tag: T,
}

impl<T> Sequencer<T> {
    pub(crate) fn new(mode: StreamMode) -> Self {
        Sequencer {
            records: 0,
            clock: i64::MIN,
            seed: mode.seed,
            counts: Counts::default(),
            pending: None,
            outliers: 0,
            ipcomp_not_inflated: 0,
        }
    }

    /// A packet, in input order; `out` gets the packets that are decided
    /// (none while a time jump is held) and returns false to stop.
    #[inline]
    pub(crate) fn packet(
        &mut self,
        packet: Predecoded<T>,
        out: &mut impl FnMut(Decoded<'static>, T) -> bool,
    ) -> bool {
        let jump =
            self.clock != i64::MIN && packet.view.ts_ns.saturating_sub(self.clock) > CLOCK_JUMP_NS;
        match (self.pending.take(), jump) {
            (None, false) => self.emit(packet, true, out),
            (None, true) => {
                self.pending = Some(packet);
                true
            }
            // Confirmed: a real gap in the capture.
            (Some(first), true) => self.emit(first, true, out) && self.emit(packet, true, out),
            (Some(first), false) => {
                self.outliers += 1;
                self.emit(first, false, out) && self.emit(packet, true, out)
            }
        }
    }

    /// Records skipped by the decoder.
    pub(crate) fn skipped(&mut self, skipped: &[u64; SkipReason::COUNT]) {
        for (total, n) in self.counts.skipped.iter_mut().zip(skipped) {
            *total += n;
        }
    }

    /// IPComp payloads the decoder could not inflate.
    pub(crate) fn not_inflated(&mut self, n: u64) {
        self.ipcomp_not_inflated += n;
    }

    /// Whether a range whose first packet is stamped `first_ts` can be taken
    /// as summed up on its worker ([`Sequencer::summed`]): no packet is held
    /// and that first packet is no time jump from the clock. (The worker saw
    /// no jump and no fragment after it.)
    pub(crate) fn takes_summed(&self, first_ts: Option<i64>) -> bool {
        self.pending.is_none()
            && first_ts.is_none_or(|ts| {
                self.clock == i64::MIN || ts.saturating_sub(self.clock) <= CLOCK_JUMP_NS
            })
    }

    /// A range summed up on its worker: packets for the flow table
    /// (`in_flows`, `incomplete` of them), packets the `seed` profile's view
    /// does not see as IPv4 (`not_seed_ip`), and its latest timestamp
    /// (`i64::MIN` when none). Applies what [`Sequencer::packet`] would have
    /// for each of them, given [`Sequencer::takes_summed`].
    pub(crate) fn summed(&mut self, in_flows: u64, incomplete: u64, not_seed_ip: u64, clock: i64) {
        self.clock = self.clock.max(clock);
        self.counts.in_flows += in_flows;
        self.counts.incomplete += incomplete;
        self.counts.skipped[SkipReason::NotIp.index()] += not_seed_ip;
    }

    /// Whether a packet is held (the clock may still be moved by one with a
    /// smaller ordinal than [`records`](Self::records)).
    pub(crate) fn holds(&self) -> bool {
        self.pending.is_some()
    }

    /// The end of the input: a jump still pending is an outlier.
    pub(crate) fn end(&mut self, out: &mut impl FnMut(Decoded<'static>, T) -> bool) {
        if let Some(first) = self.pending.take() {
            self.outliers += 1;
            self.emit(first, false, out);
        }
    }

    #[inline]
    fn emit(
        &mut self,
        packet: Predecoded<T>,
        moves_clock: bool,
        out: &mut impl FnMut(Decoded<'static>, T) -> bool,
    ) -> bool {
        if moves_clock {
            self.clock = self.clock.max(packet.view.ts_ns);
        }
        if self.seed && packet.not_seed_ip {
            self.counts.skipped[SkipReason::NotIp.index()] += 1;
            return true;
        }
        let mut view = packet.view;
        if !self.seed {
            self.counts.fragments.observe(&mut view, self.clock);
        }
        self.counts.incomplete += u64::from(view.transport_state == TransportState::Incomplete);
        self.counts.in_flows += 1;
        let decoded = Decoded {
            view,
            ordinal: packet.ordinal,
            clock: self.clock,
        };
        out(decoded, packet.tag)
    }

    /// What was read (the caller adds the reader's counters and the end).
    pub(crate) fn totals(&self) -> StreamTotals {
        StreamTotals {
            records: self.records,
            in_flows: self.counts.in_flows,
            skipped: self.counts.skipped,
            incomplete: self.counts.incomplete,
            orphans: self.counts.fragments.orphans(),
            outliers: self.outliers,
            end_error: None,
            reader: ReaderCounters::default(),
            interrupted: false,
            ranges: None,
            preprocessed: PreprocessCounts::default(),
            ipcomp_not_inflated: self.ipcomp_not_inflated,
        }
    }
}

/// The outcome of reading one record.
pub(crate) enum Step<'a> {
    /// A packet for the flow table.
    Packet(Decoded<'a>),
    /// A record that was counted as skipped.
    Skipped,
    /// A packet held back until the next one decides a time jump (it comes
    /// back from a later step).
    Held,
    /// A record dropped by preprocessing (a duplicate), counted there.
    Dropped,
    /// The end of the capture.
    End,
}
