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

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(H[usize::from(b >> 4)] as char);
        s.push(H[usize::from(b & 15)] as char);
    }
    s
}

/// Lowercase hex MD5 of `s` (JA3, JA3S, HASSH).
pub fn md5_hex(s: &[u8]) -> String {
    hex(&Md5::digest(s))
}

/// The first 12 lowercase hex characters of SHA-256 of `s` (JA4 parts b and c).
pub(crate) fn sha256_12(s: &[u8]) -> String {
    let mut h = hex(&Sha256::digest(s));
    h.truncate(12);
    h
}

/// Render bytes from the wire as text: printable ASCII (0x20-0x7e) as is except
/// the backslash (`\\`), everything else as `\xNN`. At most `max` input bytes are
/// rendered. Total and reversible for bytes, so that no name is silently altered.
pub fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let bytes = &bytes[..bytes.len().min(max)];
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                s.push_str("\\x");
                s.push_str(&hex(&[b]));
            }
        }
    }
    s
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
