//! Bounded per-direction TCP stream reassembly for the application parsers.
//!
//! Rules (documented in `docs/app-metadata.md`, "TCP reassembly"):
//!
//! * The stream starts at the sequence number after a SYN's (`seq + 1`) when the
//!   direction's SYN is seen before any of its data; otherwise at the sequence number
//!   of the first data segment seen. Data placed before that start is dropped, so a
//!   flow captured mid-stream (or whose first data segment arrives after a later one
//!   and no SYN was seen) delivers from the first segment seen, and the parser then
//!   finds no valid message and gives a null result rather than a wrong one.
//! * In-order data is handed to the consumer at once, without copying.
//! * Data already delivered (retransmissions, overlapping segments) is trimmed:
//!   only its new tail, if any, is delivered. The first copy of a byte wins.
//! * Out-of-order data up to [`MAX_AHEAD`] bytes ahead of the next expected byte is
//!   held (copied), at most [`MAX_HELD_SEGMENTS`] segments and [`MAX_HELD_BYTES`]
//!   bytes per direction; beyond that it is dropped. When the missing bytes arrive,
//!   the held segments that have become in order are delivered.
//! * Sequence numbers are compared modulo 2^32 (RFC 9293 §3.4).

/// Out-of-order bytes held per direction, at most.
pub const MAX_HELD_BYTES: usize = 16 * 1024;
/// Out-of-order segments held per direction, at most.
pub const MAX_HELD_SEGMENTS: usize = 32;
/// Segments starting further than this ahead of the next expected byte are dropped.
pub const MAX_AHEAD: u32 = 64 * 1024;

/// One direction's reassembly state.
#[derive(Debug, Default, Clone)]
pub(crate) struct TcpStream {
    /// Next expected sequence number, once known.
    next: Option<u32>,
    /// Whether data was delivered (a SYN seen later no longer moves the start).
    started: bool,
    /// Held out-of-order segments: (sequence number, bytes).
    held: Vec<(u32, Vec<u8>)>,
    held_bytes: usize,
}

impl TcpStream {
    /// Place one segment and hand every byte that became in order to `out`, in
    /// stream order. `seq` is the TCP sequence number of the segment, `syn` its SYN
    /// flag. `out` may be called several times (the segment, then held ones).
    pub(crate) fn push(&mut self, seq: u32, syn: bool, payload: &[u8], out: &mut dyn FnMut(&[u8])) {
        let mut seq = seq;
        if syn {
            // The SYN occupies one sequence number; its data (TCP Fast Open) follows.
            seq = seq.wrapping_add(1);
            if !self.started {
                self.next = Some(seq);
            }
        }
        if payload.is_empty() {
            return;
        }
        let next = match self.next {
            Some(n) => n,
            None => {
                self.next = Some(seq);
                seq
            }
        };
        let delta = seq.wrapping_sub(next) as i32;
        if delta <= 0 {
            let overlap = delta.unsigned_abs() as usize;
            if overlap >= payload.len() {
                return; // all of it was delivered already (or lies before the start)
            }
            self.deliver(&payload[overlap..], out);
            self.drain(out);
        } else if (delta as u32) <= MAX_AHEAD {
            self.hold(seq, payload);
        }
    }

    fn deliver(&mut self, data: &[u8], out: &mut dyn FnMut(&[u8])) {
        self.started = true;
        if let Some(n) = self.next.as_mut() {
            *n = n.wrapping_add(data.len() as u32);
        }
        out(data);
    }

    fn hold(&mut self, seq: u32, payload: &[u8]) {
        if self.held.len() >= MAX_HELD_SEGMENTS
            || self.held_bytes + payload.len() > MAX_HELD_BYTES
            || self
                .held
                .iter()
                .any(|(s, d)| *s == seq && d.len() >= payload.len())
        {
            return;
        }
        self.held_bytes += payload.len();
        self.held.push((seq, payload.to_vec()));
    }

    /// Deliver held segments that start at or before the next expected byte.
    fn drain(&mut self, out: &mut dyn FnMut(&[u8])) {
        loop {
            let Some(next) = self.next else { return };
            let Some(i) = self
                .held
                .iter()
                .position(|(s, _)| (s.wrapping_sub(next) as i32) <= 0)
            else {
                return;
            };
            let (seq, data) = self.held.swap_remove(i);
            self.held_bytes -= data.len();
            let overlap = next.wrapping_sub(seq) as usize;
            if overlap < data.len() {
                self.deliver(&data[overlap..], out);
            }
        }
    }

    /// Drop held data (when the consumer needs nothing more).
    pub(crate) fn clear(&mut self) {
        self.held = Vec::new();
        self.held_bytes = 0;
    }

    /// Bytes held out of order.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(segs: &[(u32, bool, &[u8])]) -> Vec<u8> {
        let mut s = TcpStream::default();
        let mut got = Vec::new();
        for (seq, syn, p) in segs {
            s.push(*seq, *syn, p, &mut |d| got.extend_from_slice(d));
        }
        got
    }

    #[test]
    fn in_order_out_of_order_and_retransmitted() {
        assert_eq!(
            run(&[(100, false, b"abc"), (103, false, b"def")]),
            b"abcdef"
        );
        // SYN sets the start, so the segments may come in any order.
        assert_eq!(
            run(&[
                (99, true, b""),
                (106, false, b"ghi"),
                (103, false, b"def"),
                (100, false, b"abc")
            ]),
            b"abcdefghi"
        );
        // Retransmission with different boundaries: only new bytes delivered.
        assert_eq!(
            run(&[
                (100, false, b"abc"),
                (100, false, b"abcd"),
                (101, false, b"bcdef"),
                (103, false, b"de")
            ]),
            b"abcdef"
        );
        // Wrap-around of the sequence space.
        assert_eq!(
            run(&[
                (u32::MAX - 1, true, b""),
                (1, false, b"cd"),
                (u32::MAX, false, b"ab")
            ]),
            b"abcd"
        );
        // Without a SYN, data before the first seen segment is dropped.
        assert_eq!(run(&[(103, false, b"def"), (100, false, b"abc")]), b"def");
        // Data on the SYN itself (TCP Fast Open).
        assert_eq!(run(&[(9, true, b"xy"), (12, false, b"z")]), b"xyz");
    }

    #[test]
    fn held_data_is_bounded() {
        let mut s = TcpStream::default();
        let big = vec![0u8; 1000];
        let mut n = 0;
        s.push(0, true, b"", &mut |_| {});
        for i in 0..100u32 {
            s.push(2 + i * 1000, false, &big, &mut |d| n += d.len());
        }
        assert!(s.held_bytes() <= MAX_HELD_BYTES);
        assert_eq!(n, 0);
        // Far-ahead segments are not held at all.
        let mut t = TcpStream::default();
        t.push(0, false, b"a", &mut |_| {});
        t.push(MAX_AHEAD + 10, false, b"b", &mut |_| {});
        assert_eq!(t.held_bytes(), 0);
    }
}
