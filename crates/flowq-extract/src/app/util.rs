//! Small shared helpers: a bounds-checked reader, GREASE, hashing and rendering.

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// A bounds-checked big-endian reader over a byte slice: every read returns
/// `None` past the end instead of panicking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cur<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cur { buf, pos: 0 }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A sub-reader over `n` bytes (a length-prefixed vector's body).
    pub(crate) fn sub(&mut self, n: usize) -> Option<Cur<'a>> {
        self.take(n).map(Cur::new)
    }
    /// A QUIC variable-length integer (RFC 9000 §16).
    pub(crate) fn varint(&mut self) -> Option<u64> {
        let first = self.u8()?;
        let len = 1usize << (first >> 6);
        let mut v = u64::from(first & 0x3f);
        for &b in self.take(len - 1)? {
            v = (v << 8) | u64::from(b);
        }
        Some(v)
    }
}

/// Whether a TLS 16-bit value is a GREASE value (RFC 8701: 0x0a0a, 0x1a1a … 0xfafa).
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Lowercase hex of `bytes` appended to `s`.
pub(crate) fn push_hex(s: &mut String, bytes: &[u8]) {
    for &b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
}

/// The decimal digits of `v` appended to `out` (no formatting machinery).
#[inline]
pub(crate) fn push_dec(out: &mut Vec<u8>, mut v: u32) {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// The four lowercase hex digits of `v` appended to `out`.
#[inline]
pub(crate) fn push_hex_u16(out: &mut Vec<u8>, v: u16) {
    let v = usize::from(v);
    out.extend_from_slice(&[
        HEX[v >> 12],
        HEX[(v >> 8) & 15],
        HEX[(v >> 4) & 15],
        HEX[v & 15],
    ]);
}

/// Lowercase hex MD5 of `s` (JA3, JA3S, HASSH).
pub fn md5_hex(s: &[u8]) -> String {
    ascii(&md5_hex_bytes(s))
}

/// [`md5_hex`] appended to `out` (no string of its own).
pub(crate) fn push_md5_hex(out: &mut String, s: &[u8]) {
    // Hex digits are ASCII.
    out.push_str(std::str::from_utf8(&md5_hex_bytes(s)).unwrap_or_default());
}

/// The 32 lowercase hex digits of the MD5 of `s`, remembered ([`memo`]).
pub(crate) fn md5_hex_bytes(s: &[u8]) -> [u8; 32] {
    let out = memo(DigestKind::Md5Hex, s, |s, out| {
        hex_into(out, &Md5::digest(s));
    });
    let mut hex = [0u8; 32];
    hex.copy_from_slice(&out[..32]);
    hex
}

/// Replaces `out[from..]` by the first 12 lowercase hex characters of its
/// SHA-256, or by 12 zeros when it is empty (JA4 parts b and c).
pub(crate) fn hash12_tail(out: &mut Vec<u8>, from: usize) {
    if out.len() == from {
        out.extend_from_slice(b"000000000000");
        return;
    }
    let digest = memo(DigestKind::Sha256Hex12, &out[from..], |s, out| {
        hex_into(out, &Sha256::digest(s)[..6]);
    });
    out.truncate(from);
    out.extend_from_slice(&digest[..12]);
}

/// Text of bytes known to be ASCII (rendered here), without a lossy pass.
pub(crate) fn ascii(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap_or_default()
}

/// Lowercase hex of `bytes` into the start of `out`.
fn hex_into(out: &mut [u8], bytes: &[u8]) {
    for (o, &b) in out.chunks_exact_mut(2).zip(bytes) {
        o[0] = HEX[usize::from(b >> 4)];
        o[1] = HEX[usize::from(b & 15)];
    }
}

/// What [`memo`] remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestKind {
    /// MD5, 32 hex characters.
    Md5Hex,
    /// SHA-256, its first 12 hex characters.
    Sha256Hex12,
    /// A ClientHello's JA3 (32 characters) and JA4 (36), keyed by the
    /// hello's fields they read (`tls::ClientHello::fingerprints`).
    HelloFingerprints,
}

/// Bytes of a remembered rendering.
pub(crate) const MEMO_OUT: usize = 68;

/// Slots of the memo (per thread, direct-mapped).
const MEMO_SLOTS: usize = 128;
/// Inputs longer than this are computed every time (not remembered), which
/// bounds the memo at `MEMO_SLOTS` x (this + [`MEMO_OUT`]) bytes per thread
/// (264 KiB; a few KiB for the fingerprints a capture usually has).
const MEMO_MAX_INPUT: usize = 2048;

/// One remembered result: its kind, its exact input and its rendering.
struct MemoSlot {
    kind: DigestKind,
    input: Vec<u8>,
    out: [u8; MEMO_OUT],
}

thread_local! {
    static MEMO: std::cell::RefCell<Vec<Option<MemoSlot>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The rendered result of `compute(input)`, remembered per thread:
/// fingerprints repeat (one client's software sends the same hello on every
/// connection), and their digests cost more than the rest of a flow's
/// metadata. A pure function's results, looked up by exact input (and kind):
/// the output is the same whether remembered or not.
pub(crate) fn memo(
    kind: DigestKind,
    input: &[u8],
    compute: impl FnOnce(&[u8], &mut [u8; MEMO_OUT]),
) -> [u8; MEMO_OUT] {
    use std::hash::BuildHasher as _;
    let mut out = [0u8; MEMO_OUT];
    if input.len() > MEMO_MAX_INPUT {
        compute(input, &mut out);
        return out;
    }
    let h = foldhash::fast::FixedState::with_seed(kind as u64).hash_one(input);
    let at = (h as usize) % MEMO_SLOTS;
    let hit = MEMO.with(|cell| {
        let slots = cell.try_borrow().ok()?;
        match slots.get(at) {
            Some(Some(slot)) if slot.kind == kind && slot.input == input => Some(slot.out),
            _ => None,
        }
    });
    if let Some(out) = hit {
        return out;
    }
    // Computed outside the borrow: `compute` may use the memo itself.
    compute(input, &mut out);
    MEMO.with(|cell| {
        let Ok(mut slots) = cell.try_borrow_mut() else {
            return;
        };
        if slots.is_empty() {
            slots.resize_with(MEMO_SLOTS, || None);
        }
        match &mut slots[at] {
            Some(s) => {
                s.kind = kind;
                s.input.clear();
                s.input.extend_from_slice(input);
                s.out = out;
            }
            slot => {
                *slot = Some(MemoSlot {
                    kind,
                    input: input.to_vec(),
                    out,
                })
            }
        }
    });
    out
}

thread_local! {
    /// Scratch buffers for rendering fingerprints (a string and a list to sort),
    /// reused so that rendering a flow's fingerprints does not allocate.
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u16>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Scratch buffers beyond this capacity are not kept for the next use.
const MAX_SCRATCH_KEPT: usize = 64 * 1024;

/// Runs `f` with the thread's scratch buffers, emptied (fresh ones if they
/// are in use further up the stack).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>, &mut Vec<u16>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            let (bytes, list) = &mut *s;
            bytes.clear();
            list.clear();
            let r = f(bytes, list);
            if bytes.capacity() > MAX_SCRATCH_KEPT {
                *bytes = Vec::new();
            }
            if list.capacity() > MAX_SCRATCH_KEPT / 2 {
                *list = Vec::new();
            }
            r
        }
        Err(_) => f(&mut Vec::new(), &mut Vec::new()),
    })
}

/// Render bytes from the wire as text: printable ASCII (0x20-0x7e) as is except
/// the backslash (`\\`), everything else as `\xNN`. At most `max` input bytes are
/// rendered. Total and reversible for bytes, so that no name is silently altered.
pub fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let bytes = &bytes[..bytes.len().min(max)];
    let mut s = String::with_capacity(bytes.len());
    escape_into(&mut s, bytes);
    s
}

/// [`escape_bytes`] of all of `bytes`, appended to `s`.
pub(crate) fn escape_into(s: &mut String, bytes: &[u8]) {
    // The common case, nothing to escape: one check over the bytes (no early
    // exit, so that it vectorizes) and one copy.
    let plain = |b: u8| b.wrapping_sub(0x20) < 0x5f && b != b'\\';
    if bytes.iter().fold(true, |all, &b| all & plain(b)) {
        // Printable ASCII is UTF-8.
        s.push_str(std::str::from_utf8(bytes).unwrap_or_default());
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                s.push_str("\\x");
                push_hex(s, &[b]);
            }
        }
    }
}

/// The first 12 lowercase hex characters of SHA-256 of `s` (JA4 parts b and c).
#[cfg(test)]
pub(crate) fn sha256_12(s: &[u8]) -> String {
    hex(&Sha256::digest(s)[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_is_bounds_checked() {
        let mut c = Cur::new(&[1, 2, 3]);
        assert_eq!(c.u16(), Some(0x0102));
        assert_eq!(c.u16(), None);
        assert_eq!(c.u8(), Some(3));
        assert_eq!(c.u8(), None);
        assert_eq!(c.take(usize::MAX), None);
        // RFC 9000 §A.1 examples.
        for (b, v) in [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c][..],
                151_288_809_941_952_652u64,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d][..], 494_878_333),
            (&[0x7b, 0xbd][..], 15_293),
            (&[0x25][..], 37),
            (&[0x40, 0x25][..], 37),
        ] {
            assert_eq!(Cur::new(b).varint(), Some(v));
        }
        assert_eq!(Cur::new(&[0x9d, 0x7f]).varint(), None);
    }

    #[test]
    fn memoized_digests_equal_computed_ones() {
        use md5::Md5;
        // Many inputs through the same slots (collisions, kinds sharing a
        // slot, inputs past the bound): always the digest of the input.
        for round in 0..3 {
            for n in [0usize, 1, 5, 63, 64, 300, 1024, 1025, 3000] {
                for fill in 0..40u8 {
                    let input = vec![fill.wrapping_mul(7).wrapping_add(round); n];
                    assert_eq!(md5_hex(&input), hex(&Md5::digest(&input)), "{n} {fill}");
                    let mut v = b"t13d".to_vec();
                    v.extend_from_slice(&input);
                    hash12_tail(&mut v, 4);
                    let want = if n == 0 {
                        "000000000000".to_string()
                    } else {
                        sha256_12(&input)
                    };
                    assert_eq!(&v[4..], want.as_bytes());
                }
            }
        }
    }

    #[test]
    fn grease_and_escape() {
        let g: Vec<u16> = (0..=0xffffu16).filter(|&v| is_grease(v)).collect();
        assert_eq!(g.len(), 16);
        assert_eq!(g[0], 0x0a0a);
        assert_eq!(g[15], 0xfafa);
        assert!(!is_grease(0x0a1a));
        assert_eq!(escape_bytes(b"a\\b\x00\xff.c", 100), "a\\\\b\\x00\\xff.c");
        assert_eq!(escape_bytes(b"abcdef", 3), "abc");
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
