//! The NetBIOS datagram service (RFC 1002 §4.4, UDP; Windows' browser
//! announcements and mailslots): the source name of a flow's first direct
//! or broadcast datagram.
//!
//! A datagram of type 0x10 (direct unique), 0x11 (direct group) or 0x12
//! (broadcast) has a 14-byte header (type, flags, id, source IP and port,
//! `DGM_LENGTH`, packet offset) followed by the source name, the
//! destination name and the user data; `DGM_LENGTH` counts the bytes after
//! the header. Names are in the first-level encoding (RFC 1001 §14.1): a
//! label of 32 characters `A`-`P`, two per byte, then the scope's labels
//! and a zero byte. The NetBIOS name service (port 137) uses the DNS
//! message format and is read by `app::dns`.

use super::Side;
use super::dns::netbios_name;
use super::util::escape_bytes;

/// Bytes of the header before the source name.
const HEADER: usize = 14;

/// The first label of the name at `at`, when it is a first-level encoding:
/// length 32 and 32 characters `A`-`P`.
fn encoded_label(d: &[u8], at: usize) -> Option<&[u8]> {
    let label = d.get(at + 1..at + 33)?;
    (d[at] == 32 && label.iter().all(|b| (b'A'..=b'P').contains(b))).then_some(label)
}

/// Whether `d` is a direct or broadcast NetBIOS datagram: type 0x10-0x12,
/// `DGM_LENGTH` equal to the bytes after the header, and a source name in
/// the first-level encoding.
pub fn looks_like_netbios_datagram(d: &[u8]) -> bool {
    d.len() > HEADER
        && matches!(d[0], 0x10..=0x12)
        && usize::from(u16::from_be_bytes([d[10], d[11]])) == d.len() - HEADER
        && encoded_label(d, HEADER).is_some()
}

/// A flow's NetBIOS datagram metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetbiosSummary {
    /// The first datagram's source name's first label as sent (the 32
    /// encoding characters).
    pub source_label: Option<String>,
    /// The NetBIOS name it encodes (first 15 bytes without trailing spaces
    /// and NULs, escaped as names are: `dns::netbios_name`).
    pub source_name: Option<String>,
    /// The first datagram's source IP (header), IPv4.
    pub source_ip: Option<[u8; 4]>,
    /// Datagrams seen.
    pub datagrams: u32,
    /// Datagrams that are not direct or broadcast datagrams.
    pub malformed: u32,
}

/// NetBIOS datagram state of a flow: each UDP payload is one datagram.
#[derive(Debug, Clone, Default)]
pub struct NetbiosState {
    sum: NetbiosSummary,
}

impl NetbiosState {
    /// A new flow's state.
    pub fn new() -> Self {
        Self::default()
    }

    /// One datagram of the flow.
    pub fn feed(&mut self, _side: Side, d: &[u8]) {
        self.sum.datagrams = self.sum.datagrams.saturating_add(1);
        if !looks_like_netbios_datagram(d) {
            self.sum.malformed = self.sum.malformed.saturating_add(1);
            return;
        }
        if self.sum.source_label.is_none()
            && let Some(label) = encoded_label(d, HEADER)
        {
            // Printable ASCII: the escape changes nothing.
            let label = escape_bytes(label, label.len());
            self.sum.source_name = netbios_name(&label);
            self.sum.source_label = Some(label);
            self.sum.source_ip = Some([d[4], d[5], d[6], d[7]]);
        }
    }

    /// Whether the source name was read.
    pub fn is_done(&self) -> bool {
        self.sum.source_label.is_some()
    }

    /// The metadata.
    pub fn summary(&self) -> &NetbiosSummary {
        &self.sum
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The first-level encoding of a 16-byte NetBIOS name: `name` padded
    /// with spaces to 15 bytes, then `suffix`.
    fn encode(name: &[u8], suffix: u8) -> Vec<u8> {
        let mut raw = [b' '; 16];
        raw[..name.len()].copy_from_slice(name);
        raw[15] = suffix;
        let mut out = vec![32];
        for b in raw {
            out.push(b'A' + (b >> 4));
            out.push(b'A' + (b & 15));
        }
        out.push(0); // no scope
        out
    }

    /// A broadcast datagram (0x12) from `NVR9` (suffix 0x00) to the group
    /// `WORKGROUP` (suffix 0x1d) with 4 bytes of user data.
    pub(crate) fn broadcast() -> Vec<u8> {
        let mut body = encode(b"NVR9", 0x00);
        body.extend(encode(b"WORKGROUP", 0x1d));
        body.extend_from_slice(b"\xff\x53\x4d\x42");
        let mut d = vec![0x12, 0x02, 0x81, 0x0a, 10, 0, 5, 9, 0, 138];
        d.extend_from_slice(&(body.len() as u16).to_be_bytes());
        d.extend_from_slice(&[0, 0]);
        d.extend(body);
        d
    }

    #[test]
    fn broadcast_gives_the_source_name() {
        let d = broadcast();
        // 'N' = 0x4e -> "EO", 'V' = 0x56 -> "FG", 'R' = 0x52 -> "FC", '9' =
        // 0x39 -> "DJ", spaces "CA", suffix 0x00 "AA".
        assert_eq!(&d[14..23], b"\x20EOFGFCDJ");
        assert!(looks_like_netbios_datagram(&d));
        let mut s = NetbiosState::new();
        s.feed(Side::Client, &d);
        let n = s.summary();
        assert_eq!(n.source_name.as_deref(), Some("NVR9"));
        assert_eq!(
            n.source_label.as_deref(),
            Some("EOFGFCDJCACACACACACACACACACACAAA")
        );
        assert_eq!((n.datagrams, n.malformed), (1, 0));
        assert!(s.is_done());
    }

    #[test]
    fn not_a_datagram() {
        let d = broadcast();
        let mut wrong_type = d.clone();
        wrong_type[0] = 0x13;
        assert!(!looks_like_netbios_datagram(&wrong_type));
        let mut wrong_length = d.clone();
        wrong_length[11] ^= 1;
        assert!(!looks_like_netbios_datagram(&wrong_length));
        let mut not_encoded = d.clone();
        not_encoded[20] = b'Z';
        assert!(!looks_like_netbios_datagram(&not_encoded));
        for n in 0..d.len() {
            assert!(!looks_like_netbios_datagram(&d[..n]));
            let mut s = NetbiosState::new();
            s.feed(Side::Client, &d[..n]);
            assert_eq!(s.summary().source_name, None);
        }
    }
}
