//! QUIC v1 and v2: offline decryption of the Initial packets to read the TLS
//! ClientHello (SNI, ALPN, JA4 with the `q` prefix) and ServerHello.
//!
//! Sources: RFC 9000 §16-17, §19.6 (varints, long header, CRYPTO frames);
//! RFC 9001 §5.2-5.4 (initial secrets, header protection, AEAD) and Appendix A;
//! RFC 9369 §3 (QUIC v2: version, salt, labels, packet types) and Appendix A.
//!
//! Per flow: the client's first Initial gives the Destination Connection ID the
//! Initial keys derive from (both sides' keys: the server's Initials use the
//! same secret with the "server in" label). After a Retry the client uses a new
//! DCID, the Retry's Source Connection ID: a server Retry re-derives the keys
//! from it, and so does a client Initial that fails to decrypt under the
//! current keys and has another DCID (at most [`MAX_REKEYS`] times in all).
//! CRYPTO frames are placed by offset in a per-side buffer of
//! [`MAX_CRYPTO_BYTES`]; the first handshake message (ClientHello or
//! ServerHello) is parsed once its bytes from offset 0 are all there, in
//! whatever order and packets the frames came.
//!
//! Packet numbers: the nonce uses the packet number as sent (truncated), which
//! equals the full number for a connection's first 2^(8·len−1) Initials; later
//! Initials are not needed.

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use aes_gcm::{Aes128Gcm, Nonce, Tag, aead::AeadInPlace};
use hkdf::Hkdf;
use sha2::Sha256;

use super::Side;
use super::tls::{ClientHello, Hellos, MAX_HANDSHAKE_BYTES, ServerHello, TlsSummary};
use super::util::Cur;

/// QUIC version 1 (RFC 9000).
pub const QUIC_V1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369).
pub const QUIC_V2: u32 = 0x6b33_43cf;
/// CRYPTO bytes kept per side, at most (the first handshake message must fit).
pub const MAX_CRYPTO_BYTES: usize = MAX_HANDSHAKE_BYTES + 4;
/// Datagrams per side after which a side still without its hello is ignored.
pub const MAX_DATAGRAMS: u32 = 32;
/// Key re-derivations for a new client DCID (after a Retry), at most.
pub const MAX_REKEYS: u8 = 3;
/// Distinct byte ranges tracked per CRYPTO buffer, at most.
const MAX_RANGES: usize = 64;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
/// Drafts 29-32 (0xff00001d-0xff000020).
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];

/// Drafts 23-28 (0xff000017-0xff00001c).
const SALT_DRAFT23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];

/// Per-version parameters: salt, label prefix, long-header type of Initial and Retry.
struct VersionParams {
    salt: &'static [u8; 20],
    labels: [&'static str; 3],
    initial_type: u8,
    retry_type: u8,
}

fn version_params(v: u32) -> Option<VersionParams> {
    const V1: [&str; 3] = ["quic key", "quic iv", "quic hp"];
    match v {
        QUIC_V1 => Some(VersionParams {
            salt: &SALT_V1,
            labels: V1,
            initial_type: 0,
            retry_type: 3,
        }),
        QUIC_V2 => Some(VersionParams {
            salt: &SALT_V2,
            labels: ["quicv2 key", "quicv2 iv", "quicv2 hp"],
            initial_type: 1,
            retry_type: 0,
        }),
        0xff00_0017..=0xff00_001c => Some(VersionParams {
            salt: &SALT_DRAFT23,
            labels: V1,
            initial_type: 0,
            retry_type: 3,
        }),
        0xff00_001d..=0xff00_0020 => Some(VersionParams {
            salt: &SALT_DRAFT29,
            labels: V1,
            initial_type: 0,
            retry_type: 3,
        }),
        _ => None,
    }
}

/// Whether flowq can decrypt Initials of this version (v1, v2, drafts 23-32).
pub fn is_supported_version(v: u32) -> bool {
    version_params(v).is_some()
}

/// A QUIC version's name: `v1`, `v2`, `draft-29` … or the hex number.
pub fn quic_version_name(v: u32) -> String {
    match v {
        QUIC_V1 => "v1".into(),
        QUIC_V2 => "v2".into(),
        0xff00_0000..=0xff00_00ff => format!("draft-{}", v & 0xff),
        _ => format!("0x{v:08x}"),
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &str, out: &mut [u8]) {
    let mut info = [0u8; 2 + 1 + 6 + 16 + 1];
    let full_len = 6 + label.len();
    info[..2].copy_from_slice(&(out.len() as u16).to_be_bytes());
    info[2] = full_len as u8;
    info[3..9].copy_from_slice(b"tls13 ");
    info[9..9 + label.len()].copy_from_slice(label.as_bytes());
    info[9 + label.len()] = 0;
    // Output lengths here are 12-32 bytes, far below HKDF's 255·32 limit.
    let _ = prk.expand(&info[..10 + label.len()], out);
}

/// The Initial packet protection keys of one side.
#[derive(Clone)]
pub(crate) struct Keys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    hp: Aes128,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys")
    }
}

/// The raw Initial key material of one side (for tests and debugging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialSecrets {
    /// `initial_secret` (HKDF-Extract of the DCID).
    pub initial_secret: [u8; 32],
    /// The side's secret ("client in" / "server in").
    pub secret: [u8; 32],
    /// AEAD key.
    pub key: [u8; 16],
    /// AEAD IV.
    pub iv: [u8; 12],
    /// Header protection key.
    pub hp: [u8; 16],
}

/// Derive a side's Initial secrets for `version` from the client's DCID.
pub fn initial_secrets(version: u32, dcid: &[u8], side: Side) -> Option<InitialSecrets> {
    let p = version_params(version)?;
    let (prk, hk) = Hkdf::<Sha256>::extract(Some(p.salt), dcid);
    let mut s = InitialSecrets {
        initial_secret: [0; 32],
        secret: [0; 32],
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    s.initial_secret.copy_from_slice(&prk);
    let label = if side == Side::Client {
        "client in"
    } else {
        "server in"
    };
    expand_label(&hk, label, &mut s.secret);
    let hk = Hkdf::<Sha256>::from_prk(&s.secret).ok()?;
    expand_label(&hk, p.labels[0], &mut s.key);
    expand_label(&hk, p.labels[1], &mut s.iv);
    expand_label(&hk, p.labels[2], &mut s.hp);
    Some(s)
}

impl Keys {
    fn new(version: u32, dcid: &[u8], side: Side) -> Option<Keys> {
        let s = initial_secrets(version, dcid, side)?;
        Some(Keys {
            aead: Aes128Gcm::new(GenericArray::from_slice(&s.key)),
            iv: s.iv,
            hp: Aes128::new(GenericArray::from_slice(&s.hp)),
        })
    }

    /// The header protection mask for a 16-byte sample.
    fn mask(&self, sample: &[u8]) -> [u8; 16] {
        let mut block = GenericArray::clone_from_slice(sample);
        self.hp.encrypt_block(&mut block);
        block.into()
    }

    fn nonce(&self, pn: u64) -> [u8; 12] {
        let mut n = self.iv;
        for (i, b) in pn.to_be_bytes().iter().enumerate() {
            n[4 + i] ^= b;
        }
        n
    }

    /// Remove header protection and decrypt one Initial packet (`pkt` from its
    /// first byte to the end of its Length, `pn_offset` the offset of the packet
    /// number). The plaintext payload is left in `out`.
    fn open(&self, pkt: &[u8], pn_offset: usize, out: &mut Vec<u8>) -> bool {
        let Some(sample) = pkt.get(pn_offset + 4..pn_offset + 20) else {
            return false;
        };
        let mask = self.mask(sample);
        let first = pkt[0] ^ (mask[0] & 0x0f);
        let pn_len = usize::from(first & 0x03) + 1;
        let Some(header) = pkt.get(..pn_offset + pn_len) else {
            return false;
        };
        let body = &pkt[pn_offset + pn_len..];
        if body.len() < 16 {
            return false;
        }
        out.clear();
        out.extend_from_slice(header);
        out[0] = first;
        let mut pn = 0u64;
        for i in 0..pn_len {
            out[pn_offset + i] ^= mask[1 + i];
            pn = (pn << 8) | u64::from(out[pn_offset + i]);
        }
        let hlen = out.len();
        let (ct, tag) = body.split_at(body.len() - 16);
        out.extend_from_slice(ct);
        let (aad, payload) = out.split_at_mut(hlen);
        let nonce = self.nonce(pn);
        let ok = self
            .aead
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                aad,
                payload,
                Tag::from_slice(tag),
            )
            .is_ok();
        if ok {
            out.drain(..hlen);
        }
        ok
    }
}

/// CRYPTO stream bytes of one side, placed by offset.
#[derive(Debug, Default, Clone)]
struct CryptoBuf {
    data: Vec<u8>,
    /// Sorted, disjoint, non-adjacent filled ranges [start, end).
    ranges: Vec<(usize, usize)>,
}

impl CryptoBuf {
    fn insert(&mut self, offset: u64, bytes: &[u8]) {
        let Ok(start) = usize::try_from(offset) else {
            return;
        };
        if start >= MAX_CRYPTO_BYTES || bytes.is_empty() {
            return;
        }
        let end = (start + bytes.len()).min(MAX_CRYPTO_BYTES);
        if self.ranges.len() >= MAX_RANGES
            && !self.ranges.iter().any(|&(s, e)| s <= start && end <= e)
        {
            return;
        }
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[start..end].copy_from_slice(&bytes[..end - start]);
        self.ranges.push((start, end));
        self.ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.ranges.len());
        for &(s, e) in &self.ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.ranges = merged;
    }

    /// The bytes present from offset 0 without a gap.
    fn contiguous(&self) -> &[u8] {
        match self.ranges.first() {
            Some(&(0, e)) => &self.data[..e],
            _ => &[],
        }
    }
}

/// Per-flow QUIC state.
#[derive(Debug, Default, Clone)]
pub struct QuicState {
    version: Option<u32>,
    /// The DCID the current keys derive from.
    dcid: Option<Vec<u8>>,
    keys: [Option<Keys>; 2],
    rekeys: u8,
    crypto: [CryptoBuf; 2],
    /// Bytes of each side's CRYPTO stream already parsed as messages (the
    /// server's HelloRetryRequest, before its ServerHello).
    taken: [usize; 2],
    side_done: [bool; 2],
    datagrams: [u32; 2],
    hellos: Hellos,
    initials_decrypted: u32,
    decrypt_failures: u32,
    scratch: Vec<u8>,
}

impl QuicState {
    /// A new state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one UDP payload (a datagram, possibly several coalesced packets) of `side`.
    pub fn feed(&mut self, side: Side, datagram: &[u8]) {
        let i = side.index();
        if self.side_done[i] {
            return;
        }
        self.datagrams[i] += 1;
        if self.datagrams[i] > MAX_DATAGRAMS {
            self.finish_side(i);
            return;
        }
        let mut rest = datagram;
        while let Some(used) = self.packet(side, rest) {
            match rest.get(used..) {
                Some(r) if !r.is_empty() => rest = r,
                _ => break,
            }
            if self.side_done[i] {
                break;
            }
        }
    }

    fn finish_side(&mut self, i: usize) {
        self.side_done[i] = true;
        self.crypto[i] = CryptoBuf::default();
        if self.side_done.iter().all(|&d| d) {
            self.keys = [None, None];
            self.scratch = Vec::new();
        }
    }

    /// Handle one long-header packet at the start of `buf`; returns its length,
    /// or `None` when the rest of the datagram cannot be walked.
    fn packet(&mut self, side: Side, buf: &[u8]) -> Option<usize> {
        let mut c = Cur::new(buf);
        let first = c.u8()?;
        if first & 0x80 == 0 {
            return None; // short header: 1-RTT, nothing for us
        }
        let version = c.u32()?;
        let params = version_params(version)?;
        let ty = (first >> 4) & 0x03;
        let dlen = c.u8()?;
        if dlen > 20 {
            return None;
        }
        let dcid = c.take(usize::from(dlen))?;
        if ty == params.initial_type && side == Side::Client && self.dcid.is_none() {
            // The keys of both sides derive from the client's first DCID,
            // known from the header alone: a client Initial cut short (by a
            // snap length) still lets the server's Initial be read.
            self.version.get_or_insert(version);
            self.rekey(version, dcid);
        }
        let slen = c.u8()?;
        if slen > 20 {
            return None;
        }
        let scid = c.take(usize::from(slen))?;
        if ty == params.retry_type {
            // The client's next Initials use the Retry's SCID as DCID, and both
            // sides' Initial keys derive from it (RFC 9001 §5.2).
            if side == Side::Server
                && self.dcid.is_some()
                && self.rekeys < MAX_REKEYS
                && !scid.is_empty()
            {
                self.rekeys += 1;
                self.rekey(version, scid);
            }
            return None; // a Retry has no Length and ends the datagram
        }
        if ty == params.initial_type {
            let tlen = c.varint()?;
            c.take(usize::try_from(tlen).ok()?)?;
        }
        let len = usize::try_from(c.varint()?).ok()?;
        let pn_offset = c.pos();
        let end = pn_offset.checked_add(len)?;
        let pkt = buf.get(..end)?;
        if ty == params.initial_type {
            self.version.get_or_insert(version);
            self.initial(side, version, dcid, pkt, pn_offset);
        }
        Some(end)
    }

    fn initial(&mut self, side: Side, version: u32, dcid: &[u8], pkt: &[u8], pn_offset: usize) {
        let i = side.index();
        if self.dcid.is_none() {
            if side == Side::Server {
                return; // the server's Initial keys need the client's DCID
            }
            self.rekey(version, dcid);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut ok = self.keys[i]
            .as_ref()
            .is_some_and(|k| k.open(pkt, pn_offset, &mut scratch));
        if !ok
            && side == Side::Client
            && self.dcid.as_deref() != Some(dcid)
            && self.rekeys < MAX_REKEYS
        {
            self.rekeys += 1;
            self.rekey(version, dcid);
            ok = self.keys[i]
                .as_ref()
                .is_some_and(|k| k.open(pkt, pn_offset, &mut scratch));
        }
        if ok {
            self.initials_decrypted += 1;
            self.frames(i, &scratch);
            self.take_message(i);
        } else {
            self.decrypt_failures += 1;
        }
        self.scratch = scratch;
    }

    fn rekey(&mut self, version: u32, dcid: &[u8]) {
        self.dcid = Some(dcid.to_vec());
        self.keys = [
            Keys::new(version, dcid, Side::Client),
            Keys::new(version, dcid, Side::Server),
        ];
    }

    /// Walk the frames of a decrypted Initial payload, keeping CRYPTO data.
    fn frames(&mut self, i: usize, payload: &[u8]) {
        let mut c = Cur::new(payload);
        while let Some(ty) = c.varint() {
            let ok = match ty {
                0x00 | 0x01 => Some(()), // PADDING, PING
                0x02 | 0x03 => (|| {
                    c.varint()?; // largest acknowledged
                    c.varint()?; // delay
                    let n = c.varint()?;
                    c.varint()?; // first range
                    for _ in 0..n.min(1 << 16) {
                        c.varint()?;
                        c.varint()?;
                    }
                    if ty == 0x03 {
                        for _ in 0..3 {
                            c.varint()?;
                        }
                    }
                    Some(())
                })(),
                0x06 => (|| {
                    let off = c.varint()?;
                    let len = usize::try_from(c.varint()?).ok()?;
                    let data = c.take(len)?;
                    self.crypto[i].insert(off, data);
                    Some(())
                })(),
                _ => None, // CONNECTION_CLOSE or anything not allowed in an Initial
            };
            if ok.is_none() {
                return;
            }
        }
    }

    /// Parse the side's first handshake message once it is complete.
    /// After a HelloRetryRequest the server's ServerHello follows in the
    /// same CRYPTO stream (RFC 9001 §4.7 keeps Initial keys and offsets
    /// across it): the server's side goes on to that message.
    fn take_message(&mut self, i: usize) {
        loop {
            let taken = self.taken[i];
            let buf = self.crypto[i].contiguous();
            let Some(h) = buf.get(taken..taken + 4) else {
                return;
            };
            let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
            if len > MAX_HANDSHAKE_BYTES {
                self.hellos.malformed = true;
                self.finish_side(i);
                return;
            }
            let ty = h[0];
            let Some(body) = buf.get(taken + 4..taken + 4 + len) else {
                return;
            };
            let was_hrr = self.hellos.hrr;
            self.hellos.message(ty, body);
            if i == Side::Server.index() && ty == 2 && self.hellos.hrr && !was_hrr {
                self.taken[i] = taken + 4 + len;
                continue;
            }
            self.finish_side(i);
            return;
        }
    }

    /// Whether nothing more will be learnt.
    pub fn is_done(&self) -> bool {
        self.side_done.iter().all(|&d| d)
    }

    /// Whether a hello carried in the Initials was malformed.
    pub fn malformed(&self) -> bool {
        self.hellos.malformed
    }

    /// The version of the first Initial packet seen.
    pub fn version(&self) -> Option<u32> {
        self.version
    }

    /// Initial packets decrypted, and Initial packets that failed to decrypt.
    pub fn decrypt_counts(&self) -> (u32, u32) {
        (self.initials_decrypted, self.decrypt_failures)
    }

    /// The client's ClientHello; a partial one (CRYPTO data missing at the end)
    /// with `complete == false`.
    pub fn client_hello(&self) -> Option<ClientHello> {
        if let Some(ch) = &self.hellos.client {
            return Some(ch.clone());
        }
        let buf = self.crypto[Side::Client.index()].contiguous();
        match buf.first() {
            Some(1) => Some(ClientHello::parse_partial(buf.get(4..).unwrap_or_default())),
            _ => None,
        }
    }

    /// The server's ServerHello (from its Initial).
    pub fn server_hello(&self) -> Option<&ServerHello> {
        self.hellos.server.as_ref()
    }

    /// The flow's QUIC metadata, rendered.
    pub fn summary(&self) -> QuicSummary {
        // The hello as read, not a copy (a partial one is parsed here).
        let partial;
        let ch = match &self.hellos.client {
            Some(ch) => Some(ch),
            None => {
                partial = self.client_hello();
                partial.as_ref()
            }
        };
        QuicSummary {
            version: self.version,
            tls: TlsSummary::new(ch, self.server_hello(), 'q', self.hellos.hrr),
        }
    }
}

/// A flow's QUIC metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuicSummary {
    /// Version of the first Initial seen.
    pub version: Option<u32>,
    /// The TLS hellos carried in the Initials (JA4 with the `q` prefix).
    pub tls: TlsSummary,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tls::tests::{alpn_ext, build_ch, sni_ext, unhex};

    const DCID: &str = "8394c8f03e515708";

    /// RFC 9001 Appendix A.2: the CRYPTO frame of the client Initial.
    const CRYPTO_FRAME: &str =
        "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c0000
0413011302010000c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006001d0017
001800100007000504616c706e000500050100000000003300260024001d00209370b2c9caa47fbabaf4559f
edba753de171fa71f50f1ce15d43e994ec74d748002b0003020304000d0010000e0403050306030203080408
050806002d00020101001c00024001003900320408ffffffffffffffff05048000ffff07048000ffff080110
0104800075300901100f088394c8f03e51570806048000ffff";

    /// RFC 9001 Appendix A.2: the protected client Initial (1200 bytes).
    const CLIENT_INITIAL: &str = "
c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11
d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399
1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c
8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212
30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5
457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208
4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec
4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3
485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db
059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c
7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8
9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556
be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74
68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a
c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00
f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632
291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964
25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd
14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff
ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198
e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd
c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73
203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f
cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e
fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade
a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047
90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2
162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4
40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0
6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e
8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0
be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400
54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab
760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9
f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4
056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064
7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241
e221af44860018ab0856972e194cd934";

    /// RFC 9001 Appendix A.3: the protected server Initial (ACK + ServerHello).
    const SERVER_INITIAL: &str = "
cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
2158407dd074ee";

    #[test]
    fn rfc9001_keys() {
        let dcid = unhex(DCID);
        let c = initial_secrets(QUIC_V1, &dcid, Side::Client).unwrap();
        assert_eq!(
            c.initial_secret.to_vec(),
            unhex("7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44")
        );
        assert_eq!(
            c.secret.to_vec(),
            unhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea")
        );
        assert_eq!(c.key.to_vec(), unhex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(c.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(c.hp.to_vec(), unhex("9f50449e04a0e810283a1e9933adedd2"));
        let s = initial_secrets(QUIC_V1, &dcid, Side::Server).unwrap();
        assert_eq!(
            s.secret.to_vec(),
            unhex("3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b")
        );
        assert_eq!(s.key.to_vec(), unhex("cf3a5331653c364c88f0f379b6067e37"));
        assert_eq!(s.iv.to_vec(), unhex("0ac1493ca1905853b0bba03e"));
        assert_eq!(s.hp.to_vec(), unhex("c206b8d9b9f0f37644430b490eeaa314"));
        // Header protection mask of the A.2 sample.
        let k = Keys::new(QUIC_V1, &dcid, Side::Client).unwrap();
        assert_eq!(
            k.mask(&unhex("d1b1c98dd7689fb8ec11d242b123dc9b"))[..5].to_vec(),
            unhex("437b9aec36")
        );
    }

    #[test]
    fn rfc9369_v2_keys() {
        let dcid = unhex(DCID);
        let c = initial_secrets(QUIC_V2, &dcid, Side::Client).unwrap();
        assert_eq!(c.key.to_vec(), unhex("8b1a0bc121284290a29e0971b5cd045d"));
        assert_eq!(c.iv.to_vec(), unhex("91f73e2351d8fa91660e909f"));
        assert_eq!(c.hp.to_vec(), unhex("45b95e15235d6f45a6b19cbcb0294ba9"));
        let s = initial_secrets(QUIC_V2, &dcid, Side::Server).unwrap();
        assert_eq!(s.key.to_vec(), unhex("82db637861d55e1d011f19ea71d5d2a7"));
        assert_eq!(s.iv.to_vec(), unhex("dd13c276499c0249d3310652"));
        assert_eq!(s.hp.to_vec(), unhex("edf6d05c83121201b436e16877593c3a"));
    }

    #[test]
    fn rfc9001_client_and_server_initial() {
        let pkt = unhex(CLIENT_INITIAL);
        assert_eq!(pkt.len(), 1200);
        let mut q = QuicState::new();
        q.feed(Side::Client, &pkt);
        assert_eq!(q.decrypt_counts(), (1, 0));
        let ch = q.client_hello().unwrap();
        assert!(ch.complete);
        // The decrypted ClientHello is the RFC's CRYPTO frame's.
        let frame = unhex(CRYPTO_FRAME);
        assert_eq!(ch, ClientHello::parse(&frame[4 + 4..]));
        let s = q.summary();
        assert_eq!(s.version, Some(QUIC_V1));
        assert_eq!(s.tls.server_name(), Some("example.com"));
        assert_eq!(s.tls.alpn().to_vec(), vec!["alpn"]);
        assert_eq!(
            ch.ja3_string().unwrap(),
            "771,4865-4866,0-65281-10-16-5-51-43-13-45-28-57,29-23-24,"
        );
        assert_eq!(s.tls.ja3(), Some("41bc9ae914d6cb3bd0bd0a5453ab7d7f"));
        assert_eq!(s.tls.ja4(), Some("q13d0211an_62ed6f6ca7ad_4d634acda6c0"));
        // A.3: the server's Initial, decrypted with the keys of the client's DCID.
        q.feed(Side::Server, &unhex(SERVER_INITIAL));
        assert_eq!(q.decrypt_counts(), (2, 0));
        let sh = q.server_hello().unwrap();
        assert_eq!(sh.cipher, 0x1301);
        assert_eq!(sh.negotiated_version(), 0x0304);
        assert_eq!(sh.ja3s_string(), "771,4865,51-43");
        assert!(q.is_done());
        // Done: further datagrams are ignored.
        q.feed(Side::Client, &pkt);
        assert_eq!(q.decrypt_counts(), (2, 0));
    }

    /// A client Initial cut by a snap length cannot be decrypted, but its
    /// header gives the DCID that the server's Initial keys derive from
    /// (TShark reads the ServerHello of such a capture too).
    #[test]
    fn a_cut_client_initial_still_keys_the_servers() {
        let pkt = unhex(CLIENT_INITIAL);
        let mut q = QuicState::new();
        q.feed(Side::Client, &pkt[..200]);
        assert_eq!(q.decrypt_counts(), (0, 0));
        assert!(q.client_hello().is_none());
        q.feed(Side::Server, &unhex(SERVER_INITIAL));
        assert_eq!(q.decrypt_counts(), (1, 0));
        let sh = q.server_hello().expect("the ServerHello");
        assert_eq!(sh.ja3s_string(), "771,4865,51-43");
        assert_eq!(q.version(), Some(QUIC_V1));
        // A cut header (the DCID not all there) keys nothing.
        let mut q = QuicState::new();
        q.feed(Side::Client, &pkt[..9]);
        q.feed(Side::Server, &unhex(SERVER_INITIAL));
        assert_eq!(q.decrypt_counts(), (0, 0));
        assert!(q.server_hello().is_none());
    }

    /// After a HelloRetryRequest the server's ServerHello comes later in
    /// the same CRYPTO stream: it is the one fingerprinted (as over TCP).
    #[test]
    fn a_hello_retry_request_then_the_server_hello() {
        use crate::app::tls::HRR_RANDOM;
        use crate::app::tls::tests::server_hello;
        let dcid = [0x5a; 8];
        let ch = build_ch(0x0303, &[0x1301], &[(0x002b, vec![2, 3, 4])]);
        let mut q = QuicState::new();
        let client = protect(
            QUIC_V1,
            Side::Client,
            &dcid,
            &[],
            0,
            &padded_frame(&crypto(0, &ch)),
        );
        q.feed(Side::Client, &client);
        assert!(q.client_hello().is_some());
        let hrr = server_hello(
            HRR_RANDOM,
            0x1301,
            &[(0x002b, vec![3, 4]), (0x0033, vec![0, 0x1d])],
        );
        let sh = server_hello(
            [7; 32],
            0x1301,
            &[(0x002b, vec![3, 4]), (0x0033, vec![0; 4])],
        );
        let first = protect(QUIC_V1, Side::Server, &dcid, &[1; 8], 0, &crypto(0, &hrr));
        q.feed(Side::Server, &first);
        assert!(q.server_hello().is_none(), "an HRR is not the ServerHello");
        assert!(!q.is_done());
        let second = protect(
            QUIC_V1,
            Side::Server,
            &dcid,
            &[1; 8],
            1,
            &crypto(hrr.len() as u64, &sh),
        );
        q.feed(Side::Server, &second);
        let got = q.server_hello().expect("the ServerHello after the HRR");
        assert!(!got.is_hrr);
        assert_eq!(got.ja3s_string(), "771,4865,43-51");
        assert!(q.is_done());
        assert!(q.summary().tls.hello_retry_request);
    }

    /// Test-only packet protection (the inverse of `Keys::open`), to build
    /// Initials for v2 and for split CRYPTO streams.
    fn protect(
        version: u32,
        side: Side,
        dcid: &[u8],
        scid: &[u8],
        pn: u32,
        payload: &[u8],
    ) -> Vec<u8> {
        let s = initial_secrets(version, dcid, side).unwrap();
        let ty = version_params(version).unwrap().initial_type;
        let mut h = vec![0xc0 | (ty << 4) | 0x03];
        h.extend_from_slice(&version.to_be_bytes());
        h.push(dcid.len() as u8);
        h.extend_from_slice(dcid);
        h.push(scid.len() as u8);
        h.extend_from_slice(scid);
        h.push(0); // token length
        let len = 4 + payload.len() + 16;
        h.extend_from_slice(&(0x4000u16 | len as u16).to_be_bytes());
        let pn_offset = h.len();
        h.extend_from_slice(&pn.to_be_bytes());
        let aead = Aes128Gcm::new(GenericArray::from_slice(&s.key));
        let mut nonce = s.iv;
        for (i, b) in u64::from(pn).to_be_bytes().iter().enumerate() {
            nonce[4 + i] ^= b;
        }
        let mut body = payload.to_vec();
        let tag = aead
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &h, &mut body)
            .unwrap();
        body.extend_from_slice(&tag);
        let mut block = GenericArray::clone_from_slice(&body[..16]);
        Aes128::new(GenericArray::from_slice(&s.hp)).encrypt_block(&mut block);
        h[0] ^= block[0] & 0x0f;
        for i in 0..4 {
            h[pn_offset + i] ^= block[1 + i];
        }
        h.extend_from_slice(&body);
        h
    }

    fn padded_frame(frame: &[u8]) -> Vec<u8> {
        let mut p = frame.to_vec();
        if p.len() < 1162 {
            p.resize(1162, 0);
        }
        p
    }

    #[test]
    fn protect_reproduces_rfc9001_and_rfc9369_packets() {
        let dcid = unhex(DCID);
        let payload = padded_frame(&unhex(CRYPTO_FRAME));
        // v1: byte for byte the RFC 9001 A.2 packet (PN 2, 4-byte PN).
        assert_eq!(
            protect(QUIC_V1, Side::Client, &dcid, &[], 2, &payload),
            unhex(CLIENT_INITIAL)
        );
        // v2: the RFC 9369 A.2 packet's first 32 bytes.
        let v2 = protect(QUIC_V2, Side::Client, &dcid, &[], 2, &payload);
        assert_eq!(
            v2[..32].to_vec(),
            unhex("d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485")
        );
        let mut q = QuicState::new();
        q.feed(Side::Client, &v2);
        let s = q.summary();
        assert_eq!(s.version, Some(QUIC_V2));
        assert_eq!(s.tls.server_name(), Some("example.com"));
        assert_eq!(s.tls.ja4(), Some("q13d0211an_62ed6f6ca7ad_4d634acda6c0"));
        assert_eq!(quic_version_name(QUIC_V2), "v2");
        assert_eq!(quic_version_name(0xff00_001d), "draft-29");
    }

    fn crypto(off: u64, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0x06];
        f.extend_from_slice(&(0x8000_0000u32 | off as u32).to_be_bytes());
        f.extend_from_slice(&(0x4000u16 | data.len() as u16).to_be_bytes());
        f.extend_from_slice(data);
        f
    }

    #[test]
    fn crypto_frames_unordered_over_packets_with_padding_ping_ack() {
        let big = vec![0x11u8; 1500];
        let ch = build_ch(
            0x0303,
            &[0x1301, 0x1302, 0x1303],
            &[
                (0x0000, sni_ext("quic.example")),
                (0x0010, alpn_ext(&[b"h3"])),
                (0x002b, vec![2, 3, 4]),
                (0x0039, vec![1, 2, 3]),
                (0x0015, big),
            ],
        );
        let dcid = [0xaa; 8];
        let parts: Vec<(usize, &[u8])> = ch
            .chunks(400)
            .enumerate()
            .map(|(i, c)| (i * 400, c))
            .collect();
        assert!(parts.len() >= 4);
        let mut q = QuicState::new();
        // Packet 0: parts 3 and 1 and a PING; packet 1: an ACK, part 0, part 0 again;
        // packet 2 (coalesced with a Handshake-type packet after it): the rest.
        let mut p0 = vec![0x01];
        p0.extend(crypto(parts[3].0 as u64, parts[3].1));
        p0.extend(crypto(parts[1].0 as u64, parts[1].1));
        let mut p1 = vec![0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]; // ACK with one extra range
        p1.extend(crypto(0, parts[0].1));
        p1.extend(crypto(0, parts[0].1));
        let mut p2 = Vec::new();
        for (off, d) in &parts[2..] {
            if *off != parts[3].0 {
                p2.extend(crypto(*off as u64, d));
            }
        }
        for (n, p) in [p0, p1, p2].into_iter().enumerate() {
            let mut d = protect(
                QUIC_V1,
                Side::Client,
                &dcid,
                &[1, 2],
                n as u32,
                &padded_frame(&p),
            );
            if n == 2 {
                // A coalesced Handshake packet (undecryptable for us) after the Initial.
                d.extend_from_slice(&[0xe0, 0, 0, 0, 1, 0, 0, 0x05, 1, 2, 3, 4, 5]);
            }
            q.feed(Side::Client, &d);
        }
        let s = q.summary();
        assert_eq!(s.tls.server_name(), Some("quic.example"));
        assert_eq!(s.tls.alpn().to_vec(), vec!["h3"]);
        assert!(s.tls.ja4().unwrap().starts_with("q13d0305h3_"));
        assert!(q.side_done[0]);
    }

    #[test]
    fn retry_then_new_dcid() {
        let payload = padded_frame(&unhex(CRYPTO_FRAME));
        let mut q = QuicState::new();
        // A first Initial whose CRYPTO is lost (only PADDING), then after a Retry
        // the client's Initial under a new DCID.
        q.feed(
            Side::Client,
            &protect(QUIC_V1, Side::Client, &[1; 8], &[], 0, &[0; 1162]),
        );
        q.feed(
            Side::Server,
            &[0xf0, 0, 0, 0, 1, 0, 8, 9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3],
        );
        q.feed(
            Side::Client,
            &protect(QUIC_V1, Side::Client, &[9; 8], &[], 1, &payload),
        );
        assert_eq!(q.summary().tls.server_name(), Some("example.com"));
        assert_eq!(q.decrypt_counts(), (2, 0));
    }

    #[test]
    fn server_initial_after_retry_uses_the_retry_scid() {
        // The client's first Initial already carries the whole ClientHello; the
        // server answers with a Retry (new SCID 9999…) and later its Initial,
        // protected with keys of the new DCID.
        let payload = padded_frame(&unhex(CRYPTO_FRAME));
        let mut q = QuicState::new();
        q.feed(
            Side::Client,
            &protect(QUIC_V1, Side::Client, &[1; 8], &[], 0, &payload),
        );
        assert!(q.client_hello().is_some_and(|c| c.complete));
        let mut retry = vec![0xf0, 0, 0, 0, 1, 0, 8];
        retry.extend_from_slice(&[9; 8]);
        retry.extend_from_slice(&[0xaa; 20]);
        q.feed(Side::Server, &retry);
        let server = unhex(
            "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf73988cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c940d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00020304",
        );
        q.feed(
            Side::Server,
            &protect(QUIC_V1, Side::Server, &[9; 8], &[5; 8], 0, &server),
        );
        assert_eq!(q.server_hello().map(|s| s.cipher), Some(0x1301));
    }

    #[test]
    fn garbage_and_corruption_never_panic() {
        let pkt = unhex(CLIENT_INITIAL);
        for i in (0..pkt.len()).step_by(7) {
            let mut p = pkt.clone();
            p[i] ^= 0x41;
            let mut q = QuicState::new();
            q.feed(Side::Client, &p);
            // Any change to the header or payload must fail authentication (or
            // parse), never give a wrong ClientHello.
            if let Some(ch) = q.client_hello() {
                assert_eq!(ch.sni(), Some(&b"example.com"[..]));
            }
        }
        for cut in [0, 1, 5, 6, 7, 20, 22, 40, 1199] {
            let mut q = QuicState::new();
            q.feed(Side::Client, &pkt[..cut]);
            assert!(q.client_hello().is_none());
        }
        let mut q = QuicState::new();
        for _ in 0..100 {
            q.feed(Side::Client, &[0xc0, 0, 0, 0, 1, 21]);
        }
        assert!(q.side_done[0]);
        // CRYPTO offsets beyond the bound are dropped.
        let mut b = CryptoBuf::default();
        b.insert(u64::MAX, &[1]);
        b.insert(MAX_CRYPTO_BYTES as u64 - 1, &[1, 2, 3]);
        assert_eq!(b.data.len(), MAX_CRYPTO_BYTES);
        assert!(b.contiguous().is_empty());
    }
}
