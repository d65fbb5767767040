//! TLS over TCP: the ClientHello and ServerHello, reassembled across TCP segments
//! and records, with JA3, JA3S and JA4 (the TLS client fingerprint only).
//!
//! Sources: RFC 8446 §4.1.2-4.1.4, §4.2, §5.1; RFC 6066 §3 (SNI); RFC 7301 §3.1
//! (ALPN); RFC 8701 (GREASE); salesforce/ja3 (JA3, JA3S); FoxIO-LLC/ja4
//! `technical_details/JA4.md` (JA4, BSD 3-Clause). See `docs/app-metadata.md`.
//!
//! Each direction's bytes go through a bounded [`TcpStream`](super::reasm) and
//! then a record-layer reader: handshake records (content type 22) are
//! concatenated and cut into handshake messages; ChangeCipherSpec (20) and
//! Alert (21) records are skipped (a server may send a warning alert such as
//! `unrecognized_name` before its ServerHello); any other content type before
//! the hello ends the direction. A
//! handshake message is parsed once complete, and only up to
//! [`MAX_HANDSHAKE_BYTES`]. Messages are recognized by type, not by direction,
//! so a flow whose initiator is the server side still gives its hellos.
//!
//! The first ClientHello is the one fingerprinted; a second one (after a
//! HelloRetryRequest) is counted only. The ServerHello kept is the first one
//! that is not a HelloRetryRequest; an HRR sets [`TlsState::hello_retry_request`].
//!
//! Values are pooled: a [`ClientHello`] keeps its lists and names in one
//! vector of bytes, a [`ServerHello`] its extension types and ALPN value in
//! one, and a [`TlsSummary`] its rendered values in one string
//! ([`Texts`]). Each TLS or QUIC flow parses its hellos and renders one
//! summary, and one allocation per list, name and value was the largest
//! share of the application columns' cost (docs/benchmarks.md).

use super::reasm::TcpStream;
use super::text::{Items, ListSpan, Span, Texts};
use super::util::{
    Cur, DigestKind, MEMO_OUT, ascii, hash12_tail, is_grease, md5_hex, md5_hex_bytes, memo,
    push_dec, push_hex_u16, push_md5_hex, with_scratch,
};
use super::{Side, TcpSegment};
use std::cell::RefCell;

/// A handshake message longer than this is not parsed (a ClientHello with
/// post-quantum key shares is about 1.8 KB, the largest seen in the corpus 11.4 KB).
pub const MAX_HANDSHAKE_BYTES: usize = 16 * 1024;
/// Values kept of the ALPN list, at most.
pub const MAX_ALPN: usize = 16;
/// Bytes kept of one ALPN value or of the SNI, at most (SNI host names are at most
/// 255 bytes in DNS; ALPN names at most 255 by their 1-byte length).
pub const MAX_NAME_BYTES: usize = 255;
/// Payload segments per direction after which a direction still without its hello
/// stops being parsed.
pub const MAX_SEGMENTS: u32 = 64;

/// Capacity of the fingerprint key buffer past which it is not kept.
const MAX_KEY_KEPT: usize = 64 * 1024;

thread_local! {
    /// The key a hello's fingerprints are remembered by
    /// ([`ClientHello::fingerprint_bytes`]), reused; its own buffer, so that
    /// the thread's scratch buffers are free to render them on a miss.
    static FINGERPRINT_KEY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The SHA-256 of "HelloRetryRequest": the `random` of a HelloRetryRequest.
pub(crate) const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

const EXT_SNI: u16 = 0x0000;
const EXT_GROUPS: u16 = 0x000a;
const EXT_POINT_FORMATS: u16 = 0x000b;
const EXT_SIG_ALGS: u16 = 0x000d;
const EXT_ALPN: u16 = 0x0010;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
const EXT_QUIC_TP: u16 = 0x0039;

/// The name of a TLS/SSL protocol version (`TLSv1.3`, `SSLv3`, `DTLSv1.2` …).
pub fn tls_version_name(v: u16) -> Option<&'static str> {
    Some(match v {
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv1.0",
        0x0302 => "TLSv1.1",
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        0xfeff => "DTLSv1.0",
        0xfefd => "DTLSv1.2",
        0xfefc => "DTLSv1.3",
        _ => return None,
    })
}

/// Where one field lies in a hello's pool: `start..end`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Run {
    start: u32,
    end: u32,
}

impl Run {
    /// An empty run at the end of `pool`.
    fn at_end<T>(pool: &[T]) -> Run {
        // A pool holds at most a handshake body's worth of values.
        let at = u32::try_from(pool.len()).unwrap_or(u32::MAX);
        Run { start: at, end: at }
    }

    /// The run from `start` to the end of `pool`.
    fn to_end<T>(start: Run, pool: &[T]) -> Run {
        Run {
            start: start.start,
            end: Run::at_end(pool).end,
        }
    }

    /// The values of the run (empty for a run outside `pool`).
    fn of<T>(self, pool: &[T]) -> &[T] {
        pool.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// What a ClientHello offers (all lists in wire order, GREASE values kept: the
/// fingerprints remove them).
///
/// Its fields are kept one after another in one vector of bytes (16-bit
/// values big-endian, as on the wire), reserved once from the sizes the
/// extensions' headers give: one allocation per hello rather than one per
/// list and per name (one hello is parsed per TLS or QUIC flow), and the
/// key its fingerprints are remembered by is a few copies of it.
#[derive(Clone, Default)]
pub struct ClientHello {
    /// `legacy_version` of the handshake body.
    pub legacy_version: u16,
    /// The cipher suites, the extension types, then the extensions' fields
    /// in wire order.
    pool: Vec<u8>,
    ciphers: Run,
    extensions: Run,
    supported_versions: Run,
    groups: Run,
    sig_algs: Run,
    sni: Option<Run>,
    /// The ALPN names, each after its length byte (as on the wire).
    alpn: Run,
    alpn_count: u8,
    point_formats: Run,
    /// Whether every field was read: `false` for a truncated or malformed hello,
    /// whose fields hold what could be read before the problem and which has no
    /// fingerprints.
    pub complete: bool,
}

/// The ALPN names a ClientHello offers, in wire order ([`ClientHello::alpn`]).
#[derive(Debug, Clone)]
pub struct AlpnNames<'a> {
    /// Names, each after its length byte.
    rest: &'a [u8],
    left: u8,
}

impl<'a> Iterator for AlpnNames<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (&n, rest) = self.rest.split_first()?;
        let (name, rest) = rest.split_at_checked(usize::from(n))?;
        self.rest = rest;
        self.left = self.left.saturating_sub(1);
        Some(name)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::from(self.left), Some(usize::from(self.left)))
    }
}

impl ExactSizeIterator for AlpnNames<'_> {}

/// A list of 16-bit values of a ClientHello, big-endian as on the wire.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct U16s<'a>(&'a [u8]);

impl<'a> U16s<'a> {
    /// The number of values.
    pub fn len(self) -> usize {
        self.0.len() / 2
    }

    /// Whether there is no value.
    pub fn is_empty(self) -> bool {
        self.0.len() < 2
    }

    /// The values in order.
    pub fn iter(self) -> U16Iter<'a> {
        U16Iter(self.0.chunks_exact(2))
    }

    /// Whether `v` is one of the values.
    pub fn contains(self, v: u16) -> bool {
        self.iter().any(|x| x == v)
    }

    /// The values, in a vector of their own.
    pub fn to_vec(self) -> Vec<u16> {
        self.iter().collect()
    }
}

impl<'a> IntoIterator for U16s<'a> {
    type Item = u16;
    type IntoIter = U16Iter<'a>;
    fn into_iter(self) -> U16Iter<'a> {
        self.iter()
    }
}

impl std::fmt::Debug for U16s<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The values of a [`U16s`] in order.
#[derive(Debug, Clone)]
pub struct U16Iter<'a>(std::slice::ChunksExact<'a, u8>);

impl Iterator for U16Iter<'_> {
    type Item = u16;
    fn next(&mut self) -> Option<u16> {
        self.0.next().map(|c| u16::from_be_bytes([c[0], c[1]]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for U16Iter<'_> {}

/// Hellos are equal when their fields are, wherever the pools hold them.
impl PartialEq for ClientHello {
    fn eq(&self, other: &Self) -> bool {
        self.legacy_version == other.legacy_version
            && self.complete == other.complete
            && self.ciphers() == other.ciphers()
            && self.extensions() == other.extensions()
            && self.sni() == other.sni()
            && self.alpn().eq(other.alpn())
            && self.supported_versions() == other.supported_versions()
            && self.groups() == other.groups()
            && self.point_formats() == other.point_formats()
            && self.sig_algs() == other.sig_algs()
    }
}

impl Eq for ClientHello {}

impl std::fmt::Debug for ClientHello {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientHello")
            .field("legacy_version", &self.legacy_version)
            .field("ciphers", &self.ciphers())
            .field("extensions", &self.extensions())
            .field("sni", &self.sni())
            .field("alpn", &self.alpn().collect::<Vec<_>>())
            .field("supported_versions", &self.supported_versions())
            .field("groups", &self.groups())
            .field("point_formats", &self.point_formats())
            .field("sig_algs", &self.sig_algs())
            .field("complete", &self.complete)
            .finish()
    }
}

/// Why a hello could not be read in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Ran out of bytes or a length field disagreed with its container.
    Malformed,
}

/// What the pool of a ClientHello will hold at most, from the extensions'
/// headers: extension types, and bytes of the extensions' fields.
#[derive(Debug, Default)]
struct PoolSizes {
    extensions: usize,
    bytes: usize,
}

impl PoolSizes {
    /// Walks what follows the cipher suites as [`ClientHello::parse_into`]
    /// does, counting each extension whose type it would keep and adding
    /// each kept extension's data length (a bound on what is kept of it).
    fn of(mut c: Cur<'_>) -> PoolSizes {
        let mut sizes = PoolSizes::default();
        let Some(mut exts) = (|| {
            let n = c.u8()?;
            c.take(usize::from(n))?;
            if c.remaining() < 2 {
                return None;
            }
            let n = c.u16()?;
            c.sub(usize::from(n))
        })() else {
            return sizes;
        };
        while let (Some(ty), Some(len)) = (exts.u16(), exts.u16()) {
            sizes.extensions += 1;
            let len = usize::from(len);
            if exts.take(len).is_none() {
                break;
            }
            if let EXT_SUPPORTED_VERSIONS
            | EXT_GROUPS
            | EXT_SIG_ALGS
            | EXT_SNI
            | EXT_ALPN
            | EXT_POINT_FORMATS = ty
            {
                sizes.bytes += len;
            }
        }
        sizes
    }
}

impl ClientHello {
    /// Parse a ClientHello handshake body (after the 4-byte handshake header).
    /// Never fails: a truncated or malformed body gives the fields read so far
    /// with `complete == false`.
    pub fn parse(body: &[u8]) -> ClientHello {
        let mut ch = ClientHello::default();
        ch.complete = ch.parse_into(body).is_ok();
        ch
    }

    /// Parse the prefix of a ClientHello body whose message is known to be
    /// incomplete: never `complete`, even if the prefix happens to parse.
    pub(crate) fn parse_partial(prefix: &[u8]) -> ClientHello {
        let mut ch = ClientHello::parse(prefix);
        ch.complete = false;
        ch
    }

    fn parse_into(&mut self, body: &[u8]) -> Result<(), Stop> {
        let m = Stop::Malformed;
        let mut c = Cur::new(body);
        self.legacy_version = c.u16().ok_or(m)?;
        c.take(32).ok_or(m)?;
        let sid = c.u8().ok_or(m)?;
        c.take(usize::from(sid)).ok_or(m)?;
        let n = c.u16().ok_or(m)?;
        let cs = c.take(usize::from(n)).ok_or(m)?;
        if n % 2 != 0 {
            return Err(m);
        }
        // The pool at once, never grown. The extension types get their
        // places after the cipher suites now, since the extensions' fields
        // follow them in the pool as they are read.
        let sizes = PoolSizes::of(c);
        self.pool
            .reserve_exact(cs.len() + 2 * sizes.extensions + sizes.bytes);
        self.ciphers = self.push_u16s(cs);
        self.extensions = Run::at_end(&self.pool);
        self.pool.resize(self.pool.len() + 2 * sizes.extensions, 0);
        let first_ext = self.extensions.start as usize;
        let n = c.u8().ok_or(m)?;
        c.take(usize::from(n)).ok_or(m)?;
        // No extensions (SSLv3 / early TLS). A single stray byte where the
        // extensions' length would be cannot start a block: the hello ends
        // there, as TShark and the JA3 tools read it.
        if c.remaining() < 2 {
            return Ok(());
        }
        let n = c.u16().ok_or(m)?;
        let mut exts = c.sub(usize::from(n)).ok_or(m)?;
        let mut count = 0;
        while !exts.is_empty() {
            let ty = exts.u16().ok_or(m)?;
            let len = exts.u16().ok_or(m)?;
            // The extensions kept are those `PoolSizes` counted, in the
            // same walk: their places are there.
            if let Some(slot) = self
                .pool
                .get_mut(first_ext + 2 * count..first_ext + 2 * count + 2)
            {
                slot.copy_from_slice(&ty.to_be_bytes());
                count += 1;
                self.extensions.end += 2;
            }
            let data = exts.sub(usize::from(len)).ok_or(m)?;
            self.extension(ty, data).ok_or(m)?;
        }
        Ok(())
    }

    /// The big-endian 16-bit values of `b` appended to the pool (an odd
    /// last byte is left out, as a reader of whole values stops before it).
    fn push_u16s(&mut self, b: &[u8]) -> Run {
        self.push_bytes(&b[..b.len() & !1])
    }

    fn push_bytes(&mut self, b: &[u8]) -> Run {
        let start = Run::at_end(&self.pool);
        self.pool.extend_from_slice(b);
        Run::to_end(start, &self.pool)
    }

    fn extension(&mut self, ty: u16, mut d: Cur<'_>) -> Option<()> {
        match ty {
            EXT_SNI if self.sni.is_none() => {
                let n = d.u16()?;
                let mut list = d.sub(usize::from(n))?;
                while !list.is_empty() {
                    let kind = list.u8()?;
                    let n = list.u16()?;
                    let name = list.take(usize::from(n))?;
                    if kind == 0 && self.sni.is_none() {
                        self.sni = Some(self.push_bytes(&name[..name.len().min(MAX_NAME_BYTES)]));
                    }
                }
            }
            EXT_ALPN if self.alpn_count == 0 => {
                let n = d.u16()?;
                let mut list = d.sub(usize::from(n))?;
                self.alpn = Run::at_end(&self.pool);
                while !list.is_empty() {
                    let n = list.u8()?;
                    let name = list.take(usize::from(n))?;
                    if usize::from(self.alpn_count) < MAX_ALPN {
                        // The names stay contiguous: nothing else is
                        // appended while the list is read.
                        self.pool.push(n);
                        self.pool.extend_from_slice(name);
                        self.alpn = Run::to_end(self.alpn, &self.pool);
                        self.alpn_count += 1;
                    }
                }
            }
            EXT_SUPPORTED_VERSIONS if self.supported_versions.is_empty() => {
                let n = d.u8()?;
                let list = d.take(usize::from(n))?;
                self.supported_versions = self.push_u16s(list);
            }
            EXT_GROUPS if self.groups.is_empty() => {
                let n = d.u16()?;
                let list = d.take(usize::from(n))?;
                self.groups = self.push_u16s(list);
            }
            EXT_POINT_FORMATS if self.point_formats.is_empty() => {
                let n = d.u8()?;
                let list = d.take(usize::from(n))?;
                self.point_formats = self.push_bytes(list);
            }
            EXT_SIG_ALGS if self.sig_algs.is_empty() => {
                let n = d.u16()?;
                let list = d.take(usize::from(n))?;
                self.sig_algs = self.push_u16s(list);
            }
            _ => {}
        }
        Some(())
    }

    /// Cipher suites.
    pub fn ciphers(&self) -> U16s<'_> {
        U16s(self.ciphers.of(&self.pool))
    }

    /// Extension types.
    pub fn extensions(&self) -> U16s<'_> {
        U16s(self.extensions.of(&self.pool))
    }

    /// The first `host_name` of the SNI extension, at most [`MAX_NAME_BYTES`] bytes.
    pub fn sni(&self) -> Option<&[u8]> {
        self.sni.map(|r| r.of(&self.pool))
    }

    /// ALPN protocol names offered, at most [`MAX_ALPN`] of at most
    /// [`MAX_NAME_BYTES`] bytes (their length is one byte).
    pub fn alpn(&self) -> AlpnNames<'_> {
        AlpnNames {
            rest: self.alpn.of(&self.pool),
            left: self.alpn_count,
        }
    }

    /// `supported_versions` (extension 43).
    pub fn supported_versions(&self) -> U16s<'_> {
        U16s(self.supported_versions.of(&self.pool))
    }

    /// `supported_groups` (extension 10).
    pub fn groups(&self) -> U16s<'_> {
        U16s(self.groups.of(&self.pool))
    }

    /// `ec_point_formats` (extension 11).
    pub fn point_formats(&self) -> &[u8] {
        self.point_formats.of(&self.pool)
    }

    /// `signature_algorithms` (extension 13) values.
    pub fn sig_algs(&self) -> U16s<'_> {
        U16s(self.sig_algs.of(&self.pool))
    }

    /// Whether it carries QUIC transport parameters (extension 0x39).
    pub fn has_quic_transport_parameters(&self) -> bool {
        self.extensions().contains(EXT_QUIC_TP)
    }

    /// The JA3 string (`None` unless complete).
    pub fn ja3_string(&self) -> Option<String> {
        let mut out = Vec::new();
        self.write_ja3(&mut out)?;
        Some(String::from_utf8(out).unwrap_or_default())
    }

    /// The JA3 string appended to `out` (`None`, nothing appended, unless
    /// complete): `version,ciphers,extensions,groups,point formats`, decimal,
    /// lists joined by `-`, GREASE values removed.
    fn write_ja3(&self, out: &mut Vec<u8>) -> Option<()> {
        if !self.complete {
            return None;
        }
        fn join(out: &mut Vec<u8>, v: impl Iterator<Item = u16>, grease: bool) {
            out.push(b',');
            let mut first = true;
            for x in v {
                if grease && is_grease(x) {
                    continue;
                }
                if !first {
                    out.push(b'-');
                }
                first = false;
                push_dec(out, u32::from(x));
            }
        }
        push_dec(out, u32::from(self.legacy_version));
        join(out, self.ciphers().iter(), true);
        join(out, self.extensions().iter(), true);
        join(out, self.groups().iter(), true);
        join(
            out,
            self.point_formats().iter().map(|&p| u16::from(p)),
            false,
        );
        Some(())
    }

    /// [`ja3`](Self::ja3) and [`ja4`](Self::ja4) together, remembered per
    /// thread by the fields they read (repeated hellos cost a lookup).
    pub fn fingerprints(&self, protocol: char) -> (Option<String>, Option<String>) {
        match self.fingerprint_bytes(protocol) {
            Some(out) => (Some(ascii(&out[..32])), Some(ascii(&out[32..]))),
            None => (None, None),
        }
    }

    /// JA3 (32 ASCII characters) then JA4 (36), remembered per thread by
    /// the fields they read; `None` unless complete.
    fn fingerprint_bytes(&self, protocol: char) -> Option<[u8; MEMO_OUT]> {
        if !self.complete {
            return None;
        }
        let compute = |_: &[u8], out: &mut [u8; MEMO_OUT]| self.render_fingerprints(protocol, out);
        Some(FINGERPRINT_KEY.with(|cell| match cell.try_borrow_mut() {
            Ok(mut key) => {
                key.clear();
                self.fingerprint_key(protocol, &mut key);
                let out = memo(DigestKind::HelloFingerprints, &key, compute);
                if key.capacity() > MAX_KEY_KEPT {
                    *key = Vec::new();
                }
                out
            }
            Err(_) => {
                let mut key = Vec::new();
                self.fingerprint_key(protocol, &mut key);
                memo(DigestKind::HelloFingerprints, &key, compute)
            }
        }))
    }

    /// JA3 and JA4 computed (not remembered) into `out`, which a complete
    /// hello fills: both have fixed lengths, 32 and 36 ASCII characters.
    fn render_fingerprints(&self, protocol: char, out: &mut [u8; MEMO_OUT]) {
        with_scratch(|buf, list| {
            if self.write_ja3(buf).is_some() {
                out[..32].copy_from_slice(&md5_hex_bytes(buf));
            }
            buf.clear();
            if self.write_ja4(protocol, true, buf, list).is_some() {
                let n = buf.len().min(36);
                out[32..32 + n].copy_from_slice(&buf[..n]);
            }
        });
    }

    /// Every field JA3 and JA4 read, length-prefixed: equal keys give equal
    /// fingerprints.
    fn fingerprint_key(&self, protocol: char, key: &mut Vec<u8>) {
        let mut p = [0u8; 4];
        let p = protocol.encode_utf8(&mut p).as_bytes();
        key.push(p.len() as u8);
        key.extend_from_slice(p);
        key.extend_from_slice(&self.legacy_version.to_le_bytes());
        for list in [
            self.ciphers(),
            self.extensions(),
            self.groups(),
            self.supported_versions(),
            self.sig_algs(),
        ] {
            key.extend_from_slice(&(list.0.len() as u32).to_le_bytes());
            key.extend_from_slice(list.0);
        }
        let point_formats = self.point_formats();
        key.extend_from_slice(&(point_formats.len() as u32).to_le_bytes());
        key.extend_from_slice(point_formats);
        let alpn = self.alpn().next().unwrap_or_default();
        key.extend_from_slice(&(alpn.len() as u32).to_le_bytes());
        key.extend_from_slice(alpn);
    }

    /// JA3: MD5 of [`ja3_string`](Self::ja3_string).
    pub fn ja3(&self) -> Option<String> {
        with_scratch(|buf, _| {
            self.write_ja3(buf)?;
            Some(md5_hex(buf))
        })
    }

    /// The JA4 TLS client fingerprint, `protocol` being `'t'` (TLS over TCP),
    /// `'q'` (QUIC) or `'d'` (DTLS). `None` unless complete.
    pub fn ja4(&self, protocol: char) -> Option<String> {
        with_scratch(|buf, list| {
            self.write_ja4(protocol, true, buf, list)?;
            Some(String::from_utf8_lossy(buf).into_owned())
        })
    }

    /// JA4_r: JA4 with the sorted lists unhashed.
    pub fn ja4_r(&self, protocol: char) -> Option<String> {
        with_scratch(|buf, list| {
            self.write_ja4(protocol, false, buf, list)?;
            Some(String::from_utf8_lossy(buf).into_owned())
        })
    }

    /// JA4 (`hashed`) or JA4_r appended to `out`; `list` is scratch space.
    fn write_ja4(
        &self,
        protocol: char,
        hashed: bool,
        out: &mut Vec<u8>,
        list: &mut Vec<u16>,
    ) -> Option<()> {
        if !self.complete {
            return None;
        }
        let version = self
            .supported_versions()
            .iter()
            .filter(|&v| !is_grease(v))
            .max()
            .unwrap_or(self.legacy_version);
        let version: &[u8; 2] = match version {
            0x0304 => b"13",
            0x0303 => b"12",
            0x0302 => b"11",
            0x0301 => b"10",
            0x0300 => b"s3",
            0x0002 => b"s2",
            0xfeff => b"d1",
            0xfefd => b"d2",
            0xfefc => b"d3",
            _ => b"00",
        };
        let sni = if self.extensions().contains(EXT_SNI) {
            b'd'
        } else {
            b'i'
        };
        let n_ciphers = self.ciphers().iter().filter(|&v| !is_grease(v)).count();
        let n_exts = self.extensions().iter().filter(|&v| !is_grease(v)).count();
        let mut proto = [0u8; 4];
        out.extend_from_slice(protocol.encode_utf8(&mut proto).as_bytes());
        out.extend_from_slice(version);
        out.push(sni);
        for n in [n_ciphers.min(99), n_exts.min(99)] {
            out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
        }
        match self.alpn().next() {
            Some(v) if !v.is_empty() => out.extend_from_slice(&ja4_alpn(v)),
            _ => out.extend_from_slice(b"00"),
        }
        // b: the cipher suites, sorted.
        out.push(b'_');
        let from = out.len();
        list.clear();
        list.extend(self.ciphers().iter().filter(|&v| !is_grease(v)));
        list.sort_unstable();
        hex_list(out, list);
        if hashed {
            hash12_tail(out, from);
        }
        // c: the extensions but SNI and ALPN, sorted, then the signature
        // algorithms in wire order.
        out.push(b'_');
        let from = out.len();
        list.clear();
        list.extend(
            self.extensions()
                .iter()
                .filter(|&e| !is_grease(e) && e != EXT_SNI && e != EXT_ALPN),
        );
        list.sort_unstable();
        hex_list(out, list);
        if self.extensions().contains(EXT_SIG_ALGS) && !list.is_empty() {
            out.push(b'_');
            list.clear();
            list.extend(self.sig_algs().iter().filter(|&v| !is_grease(v)));
            hex_list(out, list);
        }
        if hashed {
            hash12_tail(out, from);
        }
        Some(())
    }
}

/// JA4's two ALPN characters for a non-empty first ALPN value: its first and last
/// character when both are ASCII alphanumeric, else the first and last hex digit
/// of the value's lowercase hex.
fn ja4_alpn(v: &[u8]) -> [u8; 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (f, l) = (v[0], v[v.len() - 1]);
    if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
        [f, l]
    } else {
        [HEX[usize::from(f >> 4)], HEX[usize::from(l & 15)]]
    }
}

/// `v` as 4-digit lowercase hex values joined by `,`, appended to `out`.
fn hex_list(out: &mut Vec<u8>, v: &[u16]) {
    for (i, &x) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_hex_u16(out, x);
    }
}

/// What a ServerHello selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// `legacy_version` of the handshake body.
    pub legacy_version: u16,
    /// The selected cipher suite.
    pub cipher: u16,
    /// The extension types in wire order (big-endian, two bytes each), then
    /// the chosen ALPN value: one allocation, sized before it is made.
    pool: Vec<u8>,
    /// Where the ALPN value starts in `pool`, if one was chosen.
    alpn_at: Option<u32>,
    /// `supported_versions` (extension 43): the selected version.
    pub selected_version: Option<u16>,
    /// Whether this is a HelloRetryRequest (RFC 8446 §4.1.3).
    pub is_hrr: bool,
}

impl ServerHello {
    /// Parse a ServerHello handshake body; `None` if malformed or truncated.
    pub fn parse(body: &[u8]) -> Option<ServerHello> {
        let mut c = Cur::new(body);
        let mut sh = ServerHello {
            legacy_version: c.u16()?,
            ..Default::default()
        };
        sh.is_hrr = c.take(32)? == HRR_RANDOM;
        let sid = c.u8()?;
        c.take(usize::from(sid))?;
        sh.cipher = c.u16()?;
        c.u8()?;
        if c.is_empty() {
            return Some(sh);
        }
        let n = c.u16()?;
        let block = c.take(usize::from(n))?;
        // Read once to check the block and size the pool, then once more to
        // fill it (a malformed block gives no ServerHello at all).
        let mut count = 0;
        let mut alpn: Option<&[u8]> = None;
        let mut exts = Cur::new(block);
        while !exts.is_empty() {
            let ty = exts.u16()?;
            let len = exts.u16()?;
            let mut d = exts.sub(usize::from(len))?;
            count += 1;
            match ty {
                EXT_SUPPORTED_VERSIONS if len == 2 => sh.selected_version = d.u16(),
                EXT_ALPN => {
                    let n = d.u16()?;
                    let mut l = d.sub(usize::from(n))?;
                    let n = l.u8()?;
                    let v = l.take(usize::from(n))?;
                    alpn = Some(&v[..v.len().min(MAX_NAME_BYTES)]);
                }
                _ => {}
            }
        }
        sh.pool = Vec::with_capacity(2 * count + alpn.map_or(0, <[u8]>::len));
        let mut exts = Cur::new(block);
        while let (Some(ty), Some(len)) = (exts.u16(), exts.u16()) {
            sh.pool.extend_from_slice(&ty.to_be_bytes());
            exts.take(usize::from(len));
        }
        if let Some(v) = alpn {
            sh.alpn_at = u32::try_from(sh.pool.len()).ok();
            sh.pool.extend_from_slice(v);
        }
        Some(sh)
    }

    /// Extension types in wire order.
    pub fn extensions(&self) -> impl Iterator<Item = u16> + '_ {
        let end = self.alpn_at.map_or(self.pool.len(), |at| at as usize);
        self.pool
            .get(..end)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
    }

    /// The ALPN value the server chose (visible up to TLS 1.2 only).
    pub fn alpn(&self) -> Option<&[u8]> {
        self.alpn_at
            .map(|at| self.pool.get(at as usize..).unwrap_or_default())
    }

    /// The negotiated version: `supported_versions` if present, else `legacy_version`.
    pub fn negotiated_version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }

    /// The JA3S string `version,cipher,extensions` (decimal, GREASE removed).
    pub fn ja3s_string(&self) -> String {
        let mut out = Vec::new();
        self.write_ja3s(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn write_ja3s(&self, out: &mut Vec<u8>) {
        push_dec(out, u32::from(self.legacy_version));
        out.push(b',');
        push_dec(out, u32::from(self.cipher));
        out.push(b',');
        let mut first = true;
        for e in self.extensions().filter(|&e| !is_grease(e)) {
            if !first {
                out.push(b'-');
            }
            first = false;
            push_dec(out, u32::from(e));
        }
    }

    /// JA3S: MD5 of [`ja3s_string`](Self::ja3s_string).
    pub fn ja3s(&self) -> String {
        let mut s = String::with_capacity(32);
        self.push_ja3s(&mut s);
        s
    }

    /// [`ja3s`](Self::ja3s) appended to `out`.
    fn push_ja3s(&self, out: &mut String) {
        with_scratch(|buf, _| {
            self.write_ja3s(buf);
            push_md5_hex(out, buf);
        })
    }
}

/// Outcome of feeding bytes to a [`HandshakeReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ReaderState {
    /// Waiting for more bytes.
    #[default]
    Reading,
    /// Not TLS, or malformed, or over the bound: ignores further bytes.
    Failed,
    /// The consumer needs nothing more.
    Done,
}

/// Record-layer reader of one direction: handshake-record payloads are appended
/// to a bounded buffer from which complete handshake messages are cut.
#[derive(Debug, Default, Clone)]
pub(crate) struct HandshakeReader {
    hdr: [u8; 5],
    hdr_len: usize,
    /// Bytes left of the current record.
    rec_left: usize,
    /// Content type of the current record.
    rec_type: u8,
    /// Handshake bytes not yet cut into messages.
    hs: Vec<u8>,
    pub(crate) state: ReaderState,
}

impl HandshakeReader {
    /// Feed in-order stream bytes; `on_msg(type, body)` is called per complete
    /// handshake message and returns whether more messages are wanted.
    pub(crate) fn feed(&mut self, mut data: &[u8], on_msg: &mut dyn FnMut(u8, &[u8]) -> bool) {
        while !data.is_empty() && self.state == ReaderState::Reading {
            if self.rec_left == 0 {
                let n = (5 - self.hdr_len).min(data.len());
                self.hdr[self.hdr_len..self.hdr_len + n].copy_from_slice(&data[..n]);
                self.hdr_len += n;
                data = &data[n..];
                if self.hdr_len < 5 {
                    return;
                }
                self.hdr_len = 0;
                let [ty, major, _minor, l0, l1] = self.hdr;
                let len = usize::from(u16::from_be_bytes([l0, l1]));
                // Handshake, ChangeCipherSpec or Alert (a warning such as
                // unrecognized_name may precede a ServerHello).
                if !matches!(ty, 20..=22) || major != 3 || len == 0 || len > (1 << 14) + 2048 {
                    self.state = ReaderState::Failed;
                    return;
                }
                self.rec_type = ty;
                self.rec_left = len;
                continue;
            }
            let n = self.rec_left.min(data.len());
            let (chunk, rest) = data.split_at(n);
            data = rest;
            self.rec_left -= n;
            if self.rec_type != 22 {
                continue;
            }
            if self.hs.len() + chunk.len() > MAX_HANDSHAKE_BYTES + 4 {
                self.state = ReaderState::Failed;
                return;
            }
            if self.hs.is_empty() {
                // Messages that arrive whole are read in place; only a
                // partial one is copied.
                let rest = self.cut_in_place(chunk, on_msg);
                if self.state == ReaderState::Reading {
                    self.hs.extend_from_slice(rest);
                }
                continue;
            }
            self.hs.extend_from_slice(chunk);
            self.cut(on_msg);
        }
    }

    /// [`cut`](Self::cut) of bytes not yet copied: returns what follows the
    /// complete messages.
    fn cut_in_place<'d>(
        &mut self,
        mut d: &'d [u8],
        on_msg: &mut dyn FnMut(u8, &[u8]) -> bool,
    ) -> &'d [u8] {
        while self.state == ReaderState::Reading {
            let Some(h) = d.get(..4) else {
                break;
            };
            let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
            if len > MAX_HANDSHAKE_BYTES {
                self.state = ReaderState::Failed;
                break;
            }
            let Some(body) = d.get(4..4 + len) else {
                break;
            };
            if !on_msg(h[0], body) {
                self.state = ReaderState::Done;
            }
            d = &d[4 + len..];
        }
        d
    }

    fn cut(&mut self, on_msg: &mut dyn FnMut(u8, &[u8]) -> bool) {
        let mut start = 0;
        while self.state == ReaderState::Reading {
            let Some(h) = self.hs.get(start..start + 4) else {
                break;
            };
            let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
            if len > MAX_HANDSHAKE_BYTES {
                self.state = ReaderState::Failed;
                break;
            }
            let Some(body) = self.hs.get(start + 4..start + 4 + len) else {
                break;
            };
            if !on_msg(h[0], body) {
                self.state = ReaderState::Done;
            }
            start += 4 + len;
        }
        if self.state == ReaderState::Reading {
            self.hs.drain(..start);
        } else {
            self.hs = Vec::new();
        }
    }

    /// The bytes of an incomplete handshake message of `ty` held at the end, if any
    /// (its body prefix), for a best-effort partial parse.
    pub(crate) fn pending_body(&self, ty: u8) -> Option<&[u8]> {
        match self.hs.first() {
            Some(&t) if t == ty && self.state == ReaderState::Reading => self.hs.get(4..),
            _ => None,
        }
    }
}

/// The hellos of a handshake, fed with handshake messages (shared by TLS over
/// TCP and QUIC's CRYPTO stream).
#[derive(Debug, Default, Clone)]
pub(crate) struct Hellos {
    pub(crate) client: Option<ClientHello>,
    pub(crate) server: Option<ServerHello>,
    pub(crate) hrr: bool,
    pub(crate) client_hellos: u32,
    pub(crate) malformed: bool,
}

impl Hellos {
    /// Take one handshake message; returns whether more messages are wanted from
    /// the direction that sent it.
    pub(crate) fn message(&mut self, ty: u8, body: &[u8]) -> bool {
        match ty {
            1 => {
                self.client_hellos = self.client_hellos.saturating_add(1);
                if self.client.is_none() {
                    let ch = ClientHello::parse(body);
                    self.malformed |= !ch.complete;
                    self.client = Some(ch);
                }
                // A second ClientHello follows only an HRR; nothing more is needed.
                !(self.client_hellos >= 2 || self.server.is_some() || !self.hrr_possible())
            }
            2 => match ServerHello::parse(body) {
                Some(sh) if sh.is_hrr => {
                    self.hrr = true;
                    true
                }
                Some(sh) => {
                    self.server = Some(sh);
                    false
                }
                None => {
                    self.malformed = true;
                    false
                }
            },
            // Anything else before the expected hello ends this direction.
            _ => false,
        }
    }

    /// After the first ClientHello, the client direction is kept only to count a
    /// second hello after an HRR: only if the first offered TLS 1.3.
    fn hrr_possible(&self) -> bool {
        self.client
            .as_ref()
            .is_some_and(|c| c.supported_versions().contains(0x0304))
    }
}

/// Per-flow TLS state over TCP.
#[derive(Debug, Default, Clone)]
pub struct TlsState {
    stream: [TcpStream; 2],
    reader: [HandshakeReader; 2],
    segments: [u32; 2],
    hellos: Hellos,
}

impl TlsState {
    /// A new state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one TCP payload of `side`, in arrival order.
    pub fn feed(&mut self, side: Side, seg: TcpSegment, payload: &[u8]) {
        let i = side.index();
        if self.reader[i].state != ReaderState::Reading {
            return;
        }
        if !payload.is_empty() {
            self.segments[i] += 1;
            if self.segments[i] > MAX_SEGMENTS {
                self.reader[i].state = ReaderState::Failed;
                self.stream[i].clear();
                return;
            }
        }
        let Self {
            stream,
            reader,
            hellos,
            ..
        } = self;
        let reader = &mut reader[i];
        stream[i].push(seg.seq, seg.syn, payload, &mut |d| {
            reader.feed(d, &mut |ty, body| hellos.message(ty, body))
        });
        if reader.state != ReaderState::Reading {
            stream[i].clear();
        }
    }

    /// Whether nothing more will be learnt (both directions done or failed).
    pub fn is_done(&self) -> bool {
        self.reader.iter().all(|r| r.state != ReaderState::Reading)
    }

    /// The first ClientHello; a truncated one (the flow ended before it was
    /// complete) is parsed as far as it goes, with `complete == false`.
    pub fn client_hello(&self) -> Option<ClientHello> {
        if let Some(ch) = &self.hellos.client {
            return Some(ch.clone());
        }
        self.reader
            .iter()
            .find_map(|r| r.pending_body(1))
            .map(ClientHello::parse_partial)
    }

    /// The first ServerHello that is not a HelloRetryRequest.
    pub fn server_hello(&self) -> Option<&ServerHello> {
        self.hellos.server.as_ref()
    }

    /// Whether a HelloRetryRequest was seen.
    pub fn hello_retry_request(&self) -> bool {
        self.hellos.hrr
    }

    /// ClientHello messages seen (2 after an HRR).
    pub fn client_hello_count(&self) -> u32 {
        self.hellos.client_hellos
    }

    /// Whether a hello was malformed.
    pub fn malformed(&self) -> bool {
        self.hellos.malformed
    }

    /// The negotiated version (from the ServerHello).
    pub fn version(&self) -> Option<u16> {
        self.server_hello().map(ServerHello::negotiated_version)
    }

    /// The summary of the flow's TLS metadata.
    pub fn summary(&self) -> TlsSummary {
        let partial;
        let ch = match &self.hellos.client {
            Some(ch) => Some(ch),
            None => {
                partial = self.client_hello();
                partial.as_ref()
            }
        };
        TlsSummary::new(ch, self.server_hello(), 't', self.hello_retry_request())
    }
}

/// A flow's TLS (or QUIC) metadata, rendered.
///
/// The rendered values (SNI, ALPN names, fingerprints) are kept in one
/// [`Texts`], reserved once for all of them: one allocation per summary
/// instead of one per value (docs/benchmarks.md, "Application metadata
/// columns").
#[derive(Clone, Default)]
pub struct TlsSummary {
    texts: Texts,
    server_name: Option<Span>,
    alpn: ListSpan,
    ja3: Option<Span>,
    ja3s: Option<Span>,
    ja4: Option<Span>,
    /// Negotiated version (ServerHello).
    pub version: Option<u16>,
    /// Chosen cipher suite (ServerHello).
    pub cipher: Option<u16>,
    /// A HelloRetryRequest was seen.
    pub hello_retry_request: bool,
}

impl TlsSummary {
    pub(crate) fn new(
        ch: Option<&ClientHello>,
        sh: Option<&ServerHello>,
        proto: char,
        hrr: bool,
    ) -> Self {
        let fingerprints = ch.and_then(|c| c.fingerprint_bytes(proto));
        // The values' exact size, so that the one reservation holds them.
        let sni = ch.and_then(ClientHello::sni).map(bounded_name);
        let alpn = ch.map(ClientHello::alpn);
        let size = sni.map_or(0, escaped_len)
            + alpn.clone().map_or(0, |names| {
                names.map(|a| escaped_len(bounded_name(a)) + 1).sum()
            })
            + fingerprints.map_or(0, |_| 32 + 36)
            + sh.map_or(0, |_| 32);
        let mut texts = Texts::with_capacity(size);
        let server_name = sni.map(|n| texts.push_escaped(n));
        let mut list = texts.list();
        for a in alpn.into_iter().flatten() {
            texts.push_item_escaped(&mut list, bounded_name(a));
        }
        let (ja3, ja4) = match &fingerprints {
            Some(out) => {
                // Hex digits and JA4's characters: ASCII, checked once.
                let both = std::str::from_utf8(out).unwrap_or_default();
                (
                    Some(texts.push_str(both.get(..32).unwrap_or_default())),
                    Some(texts.push_str(both.get(32..).unwrap_or_default())),
                )
            }
            None => (None, None),
        };
        let ja3s = sh.map(|s| texts.push_with(|out| s.push_ja3s(out)));
        TlsSummary {
            texts,
            server_name,
            alpn: list,
            ja3,
            ja3s,
            ja4,
            version: sh.map(ServerHello::negotiated_version),
            cipher: sh.map(|s| s.cipher),
            hello_retry_request: hrr,
        }
    }

    /// SNI.
    pub fn server_name(&self) -> Option<&str> {
        self.texts.opt(self.server_name)
    }

    /// Offered ALPN list (empty without a ClientHello).
    pub fn alpn(&self) -> Items<'_> {
        self.texts.items(self.alpn)
    }

    /// JA3 of the ClientHello.
    pub fn ja3(&self) -> Option<&str> {
        self.texts.opt(self.ja3)
    }

    /// JA3S of the ServerHello.
    pub fn ja3s(&self) -> Option<&str> {
        self.texts.opt(self.ja3s)
    }

    /// JA4 of the ClientHello.
    pub fn ja4(&self) -> Option<&str> {
        self.texts.opt(self.ja4)
    }
}

/// Summaries are equal when their values are, wherever their texts hold them.
impl PartialEq for TlsSummary {
    fn eq(&self, other: &Self) -> bool {
        self.server_name() == other.server_name()
            && self.alpn().iter().eq(other.alpn().iter())
            && self.version == other.version
            && self.cipher == other.cipher
            && self.ja3() == other.ja3()
            && self.ja3s() == other.ja3s()
            && self.ja4() == other.ja4()
            && self.hello_retry_request == other.hello_retry_request
    }
}

impl Eq for TlsSummary {}

impl std::fmt::Debug for TlsSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSummary")
            .field("server_name", &self.server_name())
            .field("alpn", &self.alpn().iter().collect::<Vec<_>>())
            .field("version", &self.version)
            .field("cipher", &self.cipher)
            .field("ja3", &self.ja3())
            .field("ja3s", &self.ja3s())
            .field("ja4", &self.ja4())
            .field("hello_retry_request", &self.hello_retry_request)
            .finish()
    }
}

/// The bytes of an SNI or ALPN name that are rendered, at most [`MAX_NAME_BYTES`].
fn bounded_name(name: &[u8]) -> &[u8] {
    &name[..name.len().min(MAX_NAME_BYTES)]
}

/// The length of `bytes` as [`escape_into`](super::util::escape_into)
/// renders them: a backslash doubled, other bytes outside printable ASCII
/// as `\xNN`.
fn escaped_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&b| match b {
            b'\\' => 2,
            0x20..=0x7e => 1,
            _ => 4,
        })
        .sum()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::app::util::{escape_bytes, sha256_12};

    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The ClientHello record of the reference note §2.3 (ja3-rustls crate docs).
    pub(crate) const PETAL: &str =
        "16030100f5010000f10303ad8e0c8dfe3adbc045e51aee4cb9480c02d5da4a240f95e8282a1f51be34901a20
681af80b44c4b359adb3f9543a966e07e6ba6bed551472a62cd4b107cbd40e830014130213011303c02cc02b
cca9c030c02fcca800ff01000094002b00050403040303000b00020100000a00080006001d00170018000d00
140012050304030807080608050804060105010401001700000005000501000000000000001800160000137777
772e706574616c7365617263682e636f6d00120000003300260024001d0020086fffef5fa7f04fb7d788615b
c425820eba366ddb5f75c7d8336a0a05722d38002d0002010100230000";

    fn seg(seq: u32) -> TcpSegment {
        TcpSegment { seq, syn: false }
    }

    fn feed_all(st: &mut TlsState, side: Side, syn_seq: u32, parts: &[(usize, &[u8])]) {
        st.feed(
            side,
            TcpSegment {
                seq: syn_seq,
                syn: true,
            },
            &[],
        );
        for (off, p) in parts {
            st.feed(
                side,
                seg(syn_seq.wrapping_add(1).wrapping_add(*off as u32)),
                p,
            );
        }
    }

    #[test]
    fn raw_bytes_vector_ja3_ja4() {
        let rec = unhex(PETAL);
        let mut st = TlsState::new();
        st.feed(Side::Client, seg(1000), &rec);
        let ch = st.client_hello().unwrap();
        assert!(ch.complete);
        assert_eq!(ch.sni(), Some(&b"www.petalsearch.com"[..]));
        assert_eq!(ch.alpn().len(), 0);
        assert_eq!(ch.supported_versions().to_vec(), [0x0304, 0x0303]);
        assert_eq!(
            ch.ja3_string().unwrap(),
            "771,4866-4865-4867-49196-49195-52393-49200-49199-52392-255,43-11-10-13-23-5-0-18-51-45-35,29-23-24,0"
        );
        assert_eq!(ch.ja3().unwrap(), "a94fc11547bcef10847672ff518b3fb9");
        assert_eq!(ch.ja4('t').unwrap(), "t13d101100_61a7ad8aa9b6_dc02626b439c");
        assert_eq!(
            ch.ja4_r('t').unwrap(),
            "t13d101100_00ff,1301,1302,1303,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0017,0023,002b,002d,0033_0503,0403,0807,0806,0805,0804,0601,0501,0401"
        );
    }

    #[test]
    fn ja3_spec_strings() {
        assert_eq!(
            md5_hex(b"769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"),
            "ada70206e40642a3e4461f35503241d5"
        );
        assert_eq!(
            md5_hex(b"769,4-5-10-9-100-98-3-6-19-18-99,,,"),
            "de350869b8c85de67a350c8d186f11e6"
        );
    }

    /// Build a ClientHello handshake message (type + length + body).
    pub(crate) fn build_ch(version: u16, ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&version.to_be_bytes());
        b.extend_from_slice(&[7; 32]);
        b.push(0);
        b.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut e = Vec::new();
        for (t, d) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        let mut m = vec![1];
        m.extend_from_slice(&(b.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(&b);
        m
    }

    fn u16s(len_bytes: usize, v: &[u16]) -> Vec<u8> {
        let mut d = Vec::new();
        let n = v.len() * 2;
        if len_bytes == 1 {
            d.push(n as u8);
        } else {
            d.extend_from_slice(&(n as u16).to_be_bytes());
        }
        for x in v {
            d.extend_from_slice(&x.to_be_bytes());
        }
        d
    }

    pub(crate) fn sni_ext(name: &str) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        d.push(0);
        d.extend_from_slice(&(name.len() as u16).to_be_bytes());
        d.extend_from_slice(name.as_bytes());
        d
    }

    pub(crate) fn alpn_ext(names: &[&[u8]]) -> Vec<u8> {
        let mut l = Vec::new();
        for n in names {
            l.push(n.len() as u8);
            l.extend_from_slice(n);
        }
        let mut d = (l.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&l);
        d
    }

    /// The JA4 spec's example ClientHello (technical_details/JA4.md), with GREASE
    /// values added in ciphers, extensions, groups and supported versions.
    pub(crate) fn spec_example_ch() -> Vec<u8> {
        let ciphers = [
            0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
            0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let sig = [
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ];
        let exts = vec![
            (0x0a0a, vec![]),
            (0x0000, sni_ext("example.com")),
            (0x0017, vec![]),
            (0xff01, vec![0]),
            (0x000a, u16s(2, &[0x2a2a, 0x001d, 0x0017, 0x0018])),
            (0x000b, vec![1, 0]),
            (0x0023, vec![]),
            (0x0010, alpn_ext(&[b"h2", b"http/1.1"])),
            (0x0005, vec![1, 0, 0, 0, 0]),
            (0x000d, u16s(2, &sig)),
            (0x0012, vec![]),
            (0x0033, vec![0, 0]),
            (0x002d, vec![1, 1]),
            (0x002b, u16s(1, &[0x3a3a, 0x0304, 0x0303])),
            (0x001b, vec![2, 0, 2]),
            (0x4469, vec![0, 0]),
            (0x0015, vec![0; 8]),
            (0xfafa, vec![0]),
        ];
        build_ch(0x0303, &ciphers, &exts)
    }

    pub(crate) fn record(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ty, 3, 1];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn ja4_spec_example_with_grease() {
        let msg = spec_example_ch();
        let ch = ClientHello::parse(&msg[4..]);
        assert!(ch.complete);
        assert_eq!(ch.ja4('t').unwrap(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(ch.ja4('q').unwrap(), "q13d1516h2_8daaf6152771_e5627efa2ab1");
        // The spec's intermediate hashes.
        assert_eq!(
            sha256_12(
                b"002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"
            ),
            "8daaf6152771"
        );
        assert_eq!(
            sha256_12(b"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"),
            "6d807ffa2a79"
        );
        // JA3 drops GREASE from ciphers, extensions and curves.
        let ja3 = ch.ja3_string().unwrap();
        assert!(ja3.starts_with("771,4865-4866-4867-49195-"), "{ja3}");
        assert!(
            !ja3.contains("6682")
                && !ja3.contains("2570")
                && !ja3.contains("64250")
                && !ja3.contains("10794")
        );
        assert!(ja3.ends_with(",29-23-24,0"));
    }

    /// A hello that ends with one stray byte after the compression methods
    /// (ndpi's tls_invalid_reads capture has one, with no compression
    /// method at all): it has no extensions, and its JA3 is what TShark
    /// computes for it.
    #[test]
    fn stray_byte_after_compression_methods_means_no_extensions() {
        let mut body = vec![0x03, 0x01];
        body.extend([0x5a; 32]);
        body.push(0); // session id
        body.extend([0, 4, 0x00, 0x04, 0x00, 0x05]); // two cipher suites
        for compression in [&[1u8, 0][..], &[0u8][..]] {
            let mut b = body.clone();
            b.extend(compression);
            let ch = ClientHello::parse(&b);
            assert_eq!(ch.ja3_string().as_deref(), Some("769,4-5,,,"));
            b.push(0); // the stray byte
            let ch = ClientHello::parse(&b);
            assert_eq!(ch.ja3_string().as_deref(), Some("769,4-5,,,"));
            // Two bytes do start an extensions block: an empty one is fine,
            // a length past the end is not.
            let mut two = b.clone();
            two.push(0);
            assert_eq!(
                ClientHello::parse(&two).ja3_string().as_deref(),
                Some("769,4-5,,,")
            );
            let mut past = b.clone();
            past.push(9);
            assert_eq!(ClientHello::parse(&past).ja3_string(), None);
        }
    }

    #[test]
    fn ja4_alpn_rules() {
        assert_eq!(&ja4_alpn(b"h2"), b"h2");
        assert_eq!(&ja4_alpn(b"http/1.1"), b"h1");
        assert_eq!(&ja4_alpn(b"h3"), b"h3");
        assert_eq!(&ja4_alpn(b"a"), b"aa");
        assert_eq!(&ja4_alpn(&[0xab]), b"ab");
        assert_eq!(&ja4_alpn(&[0xab, 0xcd]), b"ad");
        assert_eq!(&ja4_alpn(&[0x30, 0xab]), b"3b");
        assert_eq!(&ja4_alpn(&[0x61, 0x20]), b"60");
        assert_eq!(&ja4_alpn(&[0x30, 0xab, 0xcd, 0x31]), b"01");
        assert_eq!(&ja4_alpn(&[0xba, 0xad]), b"bd"); // tls-non-ascii-alpn: spec, not FoxIO's 99
        // No ALPN / empty first value.
        let m = build_ch(0x0301, &[0x002f], &[(0x0000, sni_ext("a.b"))]);
        let want = format!("t10d010100_{}_000000000000", sha256_12(b"002f"));
        assert_eq!(ClientHello::parse(&m[4..]).ja4('t').unwrap(), want);
        let m = build_ch(0x0303, &[], &[(0x0010, alpn_ext(&[b"", b"h2"]))]);
        let j = ClientHello::parse(&m[4..]).ja4('t').unwrap();
        assert_eq!(j, "t12i000100_000000000000_000000000000");
    }

    #[test]
    fn split_over_three_segments_out_of_order_and_retransmitted() {
        let rec = record(22, &spec_example_ch());
        let n = rec.len();
        let (a, b) = (n / 3, 2 * n / 3);
        for order in [[0usize, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]] {
            let parts = [(0, &rec[..a]), (a, &rec[a..b]), (b, &rec[b..])];
            let mut st = TlsState::new();
            st.feed(
                Side::Client,
                TcpSegment {
                    seq: u32::MAX - 5,
                    syn: true,
                },
                &[],
            );
            for &i in &order {
                let (off, p) = parts[i];
                st.feed(
                    Side::Client,
                    seg((u32::MAX - 4).wrapping_add(off as u32)),
                    p,
                );
                // Retransmit every segment too, and an overlapping one.
                st.feed(
                    Side::Client,
                    seg((u32::MAX - 4).wrapping_add(off as u32)),
                    p,
                );
            }
            st.feed(
                Side::Client,
                seg((u32::MAX - 4).wrapping_add(1)),
                &rec[1..n],
            );
            let s = st.summary();
            assert_eq!(
                s.ja4(),
                Some("t13d1516h2_8daaf6152771_e5627efa2ab1"),
                "{order:?}"
            );
            assert_eq!(s.server_name(), Some("example.com"));
            assert_eq!(s.alpn().to_vec(), vec!["h2", "http/1.1"]);
            assert_eq!(st.client_hello_count(), 1);
        }
    }

    #[test]
    fn handshake_split_over_records_and_coalesced() {
        // One ClientHello over three records (RFC 8446 §5.1 fragmentation), all
        // in one segment preceded by nothing; then a one-byte-per-segment feed.
        let msg = spec_example_ch();
        let mut bytes = Vec::new();
        for chunk in msg.chunks(msg.len() / 3 + 1) {
            bytes.extend_from_slice(&record(22, chunk));
        }
        let mut st = TlsState::new();
        st.feed(Side::Client, seg(5), &bytes);
        assert_eq!(
            st.summary().ja4(),
            Some("t13d1516h2_8daaf6152771_e5627efa2ab1")
        );
        let rec = record(22, &msg);
        let mut st = TlsState::new();
        st.feed(Side::Client, TcpSegment { seq: 0, syn: true }, &[]);
        // Bytes in 1-byte segments up to MAX_SEGMENTS are fine, more are not.
        for (i, b) in rec.iter().enumerate().take(MAX_SEGMENTS as usize) {
            st.feed(Side::Client, seg(1 + i as u32), std::slice::from_ref(b));
        }
        assert!(st.summary().ja4().is_none());
        let ch = st.client_hello().unwrap();
        assert!(!ch.complete);
    }

    pub(crate) fn server_hello(random: [u8; 32], cipher: u16, exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&random);
        b.push(0);
        b.extend_from_slice(&cipher.to_be_bytes());
        b.push(0);
        let mut e = Vec::new();
        for (t, d) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        let mut m = vec![2];
        m.extend_from_slice(&(b.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(&b);
        m
    }

    #[test]
    fn hello_retry_request_then_tls13() {
        let mut st = TlsState::new();
        let ch = record(22, &spec_example_ch());
        feed_all(&mut st, Side::Client, 100, &[(0, &ch)]);
        // HRR (key_share for x25519), then CCS, then, after the 2nd ClientHello, the ServerHello.
        let hrr = record(
            22,
            &server_hello(
                HRR_RANDOM,
                0x1301,
                &[(0x002b, vec![3, 4]), (0x0033, vec![0, 0x1d])],
            ),
        );
        let ccs = record(20, &[1]);
        let mut s = hrr.clone();
        s.extend_from_slice(&ccs);
        feed_all(&mut st, Side::Server, 5000, &[(0, &s)]);
        assert!(st.hello_retry_request());
        assert!(st.server_hello().is_none());
        let ch2 = record(22, &spec_example_ch());
        let mut c2 = ccs.clone();
        c2.extend_from_slice(&ch2);
        st.feed(Side::Client, seg(101 + ch.len() as u32), &c2);
        assert_eq!(st.client_hello_count(), 2);
        let sh = record(
            22,
            &server_hello(
                [9; 32],
                0x1302,
                &[(0x0033, vec![0; 4]), (0x002b, vec![3, 4])],
            ),
        );
        st.feed(Side::Server, seg(5001 + s.len() as u32), &sh);
        let sum = st.summary();
        assert_eq!(sum.version, Some(0x0304));
        assert_eq!(sum.cipher, Some(0x1302));
        assert!(sum.hello_retry_request);
        assert_eq!(st.server_hello().unwrap().ja3s_string(), "771,4866,51-43");
        assert_eq!(sum.ja3s(), Some(md5_hex(b"771,4866,51-43").as_str()));
        assert!(st.is_done());
    }

    #[test]
    fn warning_alert_before_server_hello() {
        // ndpi/http_ipv6.pcap: alert(warning, unrecognized_name) then the ServerHello.
        let mut bytes = record(21, &[1, 112]);
        bytes.extend_from_slice(&record(
            22,
            &server_hello([3; 32], 0xc02f, &[(0xff01, vec![0])]),
        ));
        let mut st = TlsState::new();
        st.feed(Side::Server, seg(1), &bytes);
        assert_eq!(st.summary().cipher, Some(0xc02f));
    }

    #[test]
    fn tls12_server_hello_with_alpn_then_certificate() {
        let mut st = TlsState::new();
        let mut sh = server_hello(
            [1; 32],
            0xcca9,
            &[
                (0x0000, vec![]),
                (0xff01, vec![0]),
                (0x000b, vec![1, 0]),
                (0x0010, alpn_ext(&[b"h2"])),
            ],
        );
        sh.extend_from_slice(&[11, 0, 0, 3, 0, 0, 0]); // Certificate, empty
        st.feed(Side::Server, seg(7), &record(22, &sh));
        let s = st.server_hello().unwrap();
        assert_eq!(s.negotiated_version(), 0x0303);
        assert_eq!(s.alpn(), Some(&b"h2"[..]));
        // tls-alpn-h2.pcap's JA3S string.
        assert_eq!(s.ja3s_string(), "771,52393,0-65281-11-16");
        assert_eq!(s.ja3s(), "7f76f3e952a1bc7d407366fafe1db7ed");
        assert_eq!(tls_version_name(st.version().unwrap()), Some("TLSv1.2"));
    }

    #[test]
    fn truncated_and_malformed_never_panic() {
        let msg = spec_example_ch();
        let rec = record(22, &msg);
        // Every prefix of the record: partial or nothing, never a fingerprint of a
        // partial hello.
        for cut in 0..rec.len() {
            let mut st = TlsState::new();
            st.feed(Side::Client, seg(1), &rec[..cut]);
            let s = st.summary();
            assert!(s.ja3().is_none() && s.ja4().is_none(), "cut {cut}");
            if let Some(ch) = st.client_hello() {
                assert!(!ch.complete);
                if let Some(n) = ch.sni() {
                    assert_eq!(n, b"example.com");
                }
            }
        }
        // Bad lengths inside the body: each byte flipped.
        for i in 0..msg.len() {
            for v in [0u8, 0xff, 0x80] {
                let mut m = msg.clone();
                m[i] = v;
                let mut st = TlsState::new();
                st.feed(Side::Client, seg(1), &record(22, &m));
                let _ = st.summary();
                let _ = ClientHello::parse(&m[4..]).ja4('t');
                let _ = ServerHello::parse(&m[4..]);
            }
        }
        // Not TLS at all.
        let mut st = TlsState::new();
        st.feed(Side::Client, seg(1), b"GET / HTTP/1.1\r\n\r\n");
        assert!(st.client_hello().is_none());
        assert!(!st.is_done());
        st.feed(Side::Server, seg(1), b"HTTP/1.1 200 OK\r\n\r\n");
        assert!(st.is_done());
        // An oversized handshake message is refused, not buffered.
        let mut st = TlsState::new();
        st.feed(Side::Client, seg(1), &[22, 3, 1, 0x40, 0, 1, 1, 0, 0]);
        assert!(st.client_hello().is_none());
        assert!(st.reader[0].hs.capacity() < 1024);
    }

    /// A ClientHello's fields as one vector each: the parse before the
    /// fields were pooled, kept as the reference the pooled one must equal
    /// on any input (fields read before a problem included).
    #[derive(Debug, Default, PartialEq)]
    struct Fields {
        legacy_version: u16,
        ciphers: Vec<u16>,
        extensions: Vec<u16>,
        sni: Option<Vec<u8>>,
        alpn: Vec<Vec<u8>>,
        supported_versions: Vec<u16>,
        groups: Vec<u16>,
        point_formats: Vec<u8>,
        sig_algs: Vec<u16>,
        complete: bool,
    }

    fn reference_parse(body: &[u8]) -> Fields {
        fn u16s(b: &[u8]) -> Vec<u16> {
            b.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect()
        }
        fn ext(f: &mut Fields, ty: u16, mut d: Cur<'_>) -> Option<()> {
            match ty {
                EXT_SNI if f.sni.is_none() => {
                    let n = d.u16()?;
                    let mut list = d.sub(usize::from(n))?;
                    while !list.is_empty() {
                        let kind = list.u8()?;
                        let n = list.u16()?;
                        let name = list.take(usize::from(n))?;
                        if kind == 0 && f.sni.is_none() {
                            f.sni = Some(name[..name.len().min(MAX_NAME_BYTES)].to_vec());
                        }
                    }
                }
                EXT_ALPN if f.alpn.is_empty() => {
                    let n = d.u16()?;
                    let mut list = d.sub(usize::from(n))?;
                    while !list.is_empty() {
                        let n = list.u8()?;
                        let name = list.take(usize::from(n))?;
                        if f.alpn.len() < MAX_ALPN {
                            f.alpn.push(name.to_vec());
                        }
                    }
                }
                EXT_SUPPORTED_VERSIONS if f.supported_versions.is_empty() => {
                    let n = d.u8()?;
                    f.supported_versions = u16s(d.take(usize::from(n))?);
                }
                EXT_GROUPS if f.groups.is_empty() => {
                    let n = d.u16()?;
                    f.groups = u16s(d.take(usize::from(n))?);
                }
                EXT_POINT_FORMATS if f.point_formats.is_empty() => {
                    let n = d.u8()?;
                    f.point_formats.extend_from_slice(d.take(usize::from(n))?);
                }
                EXT_SIG_ALGS if f.sig_algs.is_empty() => {
                    let n = d.u16()?;
                    f.sig_algs = u16s(d.take(usize::from(n))?);
                }
                _ => {}
            }
            Some(())
        }
        let mut f = Fields::default();
        let read = |f: &mut Fields| {
            let mut c = Cur::new(body);
            f.legacy_version = c.u16()?;
            c.take(32)?;
            let sid = c.u8()?;
            c.take(usize::from(sid))?;
            let n = c.u16()?;
            let cs = c.take(usize::from(n))?;
            if n % 2 != 0 {
                return None;
            }
            f.ciphers = u16s(cs);
            let n = c.u8()?;
            c.take(usize::from(n))?;
            if c.remaining() < 2 {
                return Some(());
            }
            let n = c.u16()?;
            let mut exts = c.sub(usize::from(n))?;
            while !exts.is_empty() {
                let ty = exts.u16()?;
                let len = exts.u16()?;
                f.extensions.push(ty);
                let data = exts.sub(usize::from(len))?;
                ext(f, ty, data)?;
            }
            Some(())
        };
        f.complete = read(&mut f).is_some();
        f
    }

    fn fields(ch: &ClientHello) -> Fields {
        Fields {
            legacy_version: ch.legacy_version,
            ciphers: ch.ciphers().to_vec(),
            extensions: ch.extensions().to_vec(),
            sni: ch.sni().map(<[u8]>::to_vec),
            alpn: ch.alpn().map(<[u8]>::to_vec).collect(),
            supported_versions: ch.supported_versions().to_vec(),
            groups: ch.groups().to_vec(),
            point_formats: ch.point_formats().to_vec(),
            sig_algs: ch.sig_algs().to_vec(),
            complete: ch.complete,
        }
    }

    /// The pooled ClientHello reads what one vector per field read, on
    /// every prefix and every corrupted byte of a few hellos, and its
    /// summary renders the values as they were rendered one by one.
    #[test]
    fn pooled_hello_reads_and_renders_as_one_vector_per_field() {
        let many_alpn: Vec<&[u8]> = (0..20)
            .flat_map(|_| [&b"h2"[..], b"", b"x\\y\x01\xff"])
            .collect();
        let odd = build_ch(
            0x0303,
            &[0x1301, 0x0a0a],
            &[
                // An empty groups list, then one that is read.
                (0x000a, u16s(2, &[])),
                (0x000a, u16s(2, &[0x001d, 0x2a2a])),
                (0x0010, alpn_ext(&many_alpn)),
                (0x0010, alpn_ext(&[b"late"])),
                (0x0000, sni_ext(&"n\\\x7f".repeat(120))),
                (0x000b, vec![3, 0, 1, 2]),
                (0x002b, vec![5, 3, 4, 3, 3, 9]),
            ],
        );
        let hellos = [spec_example_ch(), unhex(PETAL)[5..].to_vec(), odd];
        let mut checked = 0;
        for msg in &hellos {
            let body = &msg[4..];
            let mut bodies: Vec<Vec<u8>> = (0..=body.len()).map(|n| body[..n].to_vec()).collect();
            for i in 0..body.len() {
                for v in [0u8, 1, 0x7f, 0xff] {
                    let mut b = body.to_vec();
                    b[i] = v;
                    bodies.push(b);
                }
            }
            for body in &bodies {
                let ch = ClientHello::parse(body);
                let want = reference_parse(body);
                assert_eq!(fields(&ch), want);
                let s = TlsSummary::new(Some(&ch), None, 't', false);
                assert_eq!(
                    s.server_name().map(str::to_owned),
                    want.sni.as_deref().map(|n| escape_bytes(n, MAX_NAME_BYTES))
                );
                let names: Vec<String> = want
                    .alpn
                    .iter()
                    .map(|a| escape_bytes(a, MAX_NAME_BYTES))
                    .collect();
                assert_eq!(s.alpn().to_vec(), names);
                assert_eq!(s.ja3().map(str::to_owned), ch.ja3());
                assert_eq!(s.ja4().map(str::to_owned), ch.ja4('t'));
                checked += 1;
            }
        }
        assert!(checked > 3000, "{checked}");
        // The odd hello as read.
        let ch = ClientHello::parse(&hellos[2][4..]);
        assert!(ch.complete);
        assert_eq!(ch.groups().to_vec(), [0x001d, 0x2a2a]);
        assert_eq!(ch.alpn().len(), MAX_ALPN);
        assert_eq!(ch.supported_versions().to_vec(), [0x0304, 0x0303]);
        assert_eq!(ch.point_formats(), [0, 1, 2]);
        assert_eq!(ch.sni().unwrap().len(), MAX_NAME_BYTES);
        let s = TlsSummary::new(Some(&ch), None, 't', false);
        assert_eq!(s.alpn().iter().nth(2), Some("x\\\\y\\x01\\xff"));
    }
}
