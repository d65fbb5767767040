//! DHCP (RFC 2131 §2-3, RFC 2132; BOOTP, RFC 951): the client's host name
//! (option 12) and parameter request list (option 55) of a flow's first
//! request, the list being what DHCP fingerprinting (and NFStream's
//! `client_fingerprint`) uses.
//!
//! A datagram is DHCP when it has the fixed BOOTP part (236 bytes) with an
//! `op` of 1 (BOOTREQUEST) or 2 (BOOTREPLY) and a hardware address length of
//! at most 16, followed by the magic cookie 99.130.83.99 (RFC 2131 §3). The
//! options after the cookie are read in order: PAD (0) is one byte, END (255)
//! ends them, every other option is a code, a length and that many bytes. An
//! option that runs past the datagram ends the reading (the options before it
//! are kept) and counts the message as malformed. The first instance of an
//! option is kept (RFC 3396's concatenation of long options is not done;
//! options 12 and 55 fit in one). Options overloaded into the `sname` and
//! `file` fields (option 52) are not read.

use super::Side;
use super::util::escape_bytes;

/// Bytes before the options: the fixed BOOTP part and the magic cookie.
pub const OPTIONS_OFFSET: usize = 240;
/// RFC 2131 §3: the first four octets of the options field.
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Bytes of a host name kept (an option holds at most 255).
pub const MAX_HOST_NAME_BYTES: usize = 255;

/// Option codes read (RFC 2132).
const PAD: u8 = 0;
const END: u8 = 255;
const HOST_NAME: u8 = 12;
const MESSAGE_TYPE: u8 = 53;
const PARAMETER_REQUEST_LIST: u8 = 55;

/// Whether `d` is a DHCP (or BOOTP-with-cookie) message: the fixed part with
/// `op` 1 or 2 and `hlen` ≤ 16, then the magic cookie.
pub fn looks_like_dhcp(d: &[u8]) -> bool {
    d.len() >= OPTIONS_OFFSET
        && matches!(d[0], 1 | 2)
        && d[2] <= 16
        && d[236..OPTIONS_OFFSET] == MAGIC_COOKIE
}

/// A flow's DHCP metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhcpSummary {
    /// DHCP message type (option 53) of the first request (1 DISCOVER, 3
    /// REQUEST, 8 INFORM …); `None` for BOOTP without it.
    pub message_type: Option<u8>,
    /// Host name (option 12) of the first request, rendered with
    /// [`escape_bytes`] (at most [`MAX_HOST_NAME_BYTES`]).
    pub host_name: Option<String>,
    /// Parameter request list (option 55) of the first request: the option
    /// codes, in the client's order.
    pub parameter_request_list: Option<Vec<u8>>,
    /// Requests seen (BOOTREQUEST messages; the flow's metadata is sealed
    /// after the first, so later ones are not counted in a flow's row).
    pub requests: u32,
    /// Replies seen (BOOTREPLY messages).
    pub replies: u32,
    /// Messages that are not DHCP or whose options run past the datagram.
    pub malformed: u32,
}

/// DHCP state of a flow: each UDP payload is one message.
#[derive(Debug, Clone, Default)]
pub struct DhcpState {
    sum: DhcpSummary,
}

impl DhcpState {
    /// A new flow's state.
    pub fn new() -> Self {
        Self::default()
    }

    /// One datagram of the flow (the side is not used: `op` tells a request
    /// from a reply).
    pub fn feed(&mut self, _side: Side, d: &[u8]) {
        if !looks_like_dhcp(d) {
            self.sum.malformed += 1;
            return;
        }
        let request = d[0] == 1;
        if request {
            self.sum.requests += 1;
        } else {
            self.sum.replies += 1;
        }
        let first_request = request && self.sum.requests == 1;
        let mut complete = true;
        let mut options = Options {
            rest: &d[OPTIONS_OFFSET..],
            complete: &mut complete,
        };
        if !first_request {
            // Only the options' bounds matter for later messages.
            options.by_ref().for_each(drop);
        } else {
            for (code, value) in options.by_ref() {
                match code {
                    MESSAGE_TYPE if self.sum.message_type.is_none() => {
                        self.sum.message_type = value.first().copied();
                    }
                    HOST_NAME if self.sum.host_name.is_none() => {
                        self.sum.host_name = Some(escape_bytes(value, MAX_HOST_NAME_BYTES));
                    }
                    PARAMETER_REQUEST_LIST if self.sum.parameter_request_list.is_none() => {
                        self.sum.parameter_request_list = Some(value.to_vec());
                    }
                    _ => {}
                }
            }
        }
        if !complete {
            self.sum.malformed += 1;
        }
    }

    /// Whether the first request was read (later messages change counters only).
    pub fn is_done(&self) -> bool {
        self.sum.requests > 0
    }

    /// The metadata.
    pub fn summary(&self) -> &DhcpSummary {
        &self.sum
    }

    /// The metadata, consuming the state.
    pub fn into_summary(self) -> DhcpSummary {
        self.sum
    }
}

/// The options of a message as `(code, value)`, in order, up to END; sets
/// `complete` to false when an option runs past the datagram.
struct Options<'a, 'b> {
    rest: &'a [u8],
    complete: &'b mut bool,
}

impl<'a> Iterator for Options<'a, '_> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (&code, after) = self.rest.split_first()?;
            match code {
                PAD => self.rest = after,
                END => {
                    self.rest = &[];
                    return None;
                }
                _ => {
                    let value = after
                        .split_first()
                        .and_then(|(&len, v)| v.get(..usize::from(len)));
                    let Some(value) = value else {
                        *self.complete = false;
                        self.rest = &[];
                        return None;
                    };
                    self.rest = &after[1 + value.len()..];
                    return Some((code, value));
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A BOOTP fixed part (op, htype 1, hlen 6, a client MAC) with the magic
    /// cookie, then `options` as given.
    pub(crate) fn dhcp_message(op: u8, options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; OPTIONS_OFFSET];
        m[0] = op;
        m[1] = 1;
        m[2] = 6;
        m[4..8].copy_from_slice(&[0x39, 0x03, 0xf3, 0x26]); // xid
        m[28..34].copy_from_slice(&[0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42]); // chaddr
        m[236..240].copy_from_slice(&MAGIC_COOKIE);
        m.extend_from_slice(options);
        m
    }

    /// A DISCOVER as 1kxun.pcap's first DHCP client sends it: message type 1,
    /// host name `shen`, parameters 1, 121, 3, 6, 15, 119, 252.
    pub(crate) fn discover() -> Vec<u8> {
        dhcp_message(
            1,
            &[
                53, 1, 1, // DHCP message type: DISCOVER
                0, // a PAD
                61, 7, 1, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42, // client identifier
                12, 4, b's', b'h', b'e', b'n', // host name
                55, 7, 1, 121, 3, 6, 15, 119, 252, // parameter request list
                255, 0, 0, 0, // END and padding
            ],
        )
    }

    #[test]
    fn discover_gives_host_name_and_parameter_list() {
        let mut s = DhcpState::default();
        s.feed(Side::Client, &discover());
        let d = s.summary();
        assert_eq!(d.message_type, Some(1));
        assert_eq!(d.host_name.as_deref(), Some("shen"));
        assert_eq!(
            d.parameter_request_list.as_deref(),
            Some(&[1, 121, 3, 6, 15, 119, 252][..])
        );
        assert_eq!((d.requests, d.replies, d.malformed), (1, 0, 0));
        assert!(s.is_done());
        // A later request does not replace the first one's values; an OFFER
        // (op 2) is counted.
        s.feed(
            Side::Client,
            &dhcp_message(1, &[53, 1, 3, 12, 2, b'x', b'y', 255]),
        );
        s.feed(Side::Server, &dhcp_message(2, &[53, 1, 2, 255]));
        let d = s.summary();
        assert_eq!(d.host_name.as_deref(), Some("shen"));
        assert_eq!((d.requests, d.replies, d.malformed), (2, 1, 0));
    }

    #[test]
    fn detection_and_bounds() {
        assert!(looks_like_dhcp(&discover()));
        assert!(looks_like_dhcp(&dhcp_message(2, &[])));
        assert!(!looks_like_dhcp(&dhcp_message(3, &[])));
        let mut bad_cookie = discover();
        bad_cookie[239] = 0x64;
        assert!(!looks_like_dhcp(&bad_cookie));
        let mut long_hlen = discover();
        long_hlen[2] = 17;
        assert!(!looks_like_dhcp(&long_hlen));
        assert!(!looks_like_dhcp(&discover()[..OPTIONS_OFFSET - 1]));
        // An option running past the datagram: the options before it are
        // kept, the message counts as malformed.
        let mut s = DhcpState::default();
        s.feed(
            Side::Client,
            &dhcp_message(1, &[12, 3, b'a', b'b', b'c', 55, 9, 1, 3]),
        );
        let d = s.summary();
        assert_eq!(d.host_name.as_deref(), Some("abc"));
        assert_eq!(d.parameter_request_list, None);
        assert_eq!(d.malformed, 1);
        // No END: the options end with the datagram, which is fine; a
        // zero-length option is one (RFC 4039's rapid commit).
        let mut s = DhcpState::default();
        s.feed(Side::Client, &dhcp_message(1, &[80, 0, 55, 2, 1, 3]));
        assert_eq!(
            s.summary().parameter_request_list.as_deref(),
            Some(&[1, 3][..])
        );
        assert_eq!(s.summary().malformed, 0);
        // A host name with bytes outside printable ASCII is escaped.
        let mut s = DhcpState::default();
        s.feed(Side::Client, &dhcp_message(1, &[12, 3, b'a', 0, 0xe9]));
        assert_eq!(s.summary().host_name.as_deref(), Some("a\\x00\\xe9"));
        // Not DHCP at all.
        let mut s = DhcpState::default();
        s.feed(Side::Client, b"\x01\x01\x06\x00");
        assert_eq!(s.summary().malformed, 1);
        assert!(!s.is_done());
    }

    #[test]
    fn every_truncation_and_corruption_is_safe() {
        let m = discover();
        for n in 0..=m.len() {
            let mut s = DhcpState::default();
            s.feed(Side::Client, &m[..n]);
            let d = s.summary();
            assert!(
                d.host_name
                    .as_ref()
                    .is_none_or(|h| h.len() <= 4 * MAX_HOST_NAME_BYTES)
            );
        }
        for i in OPTIONS_OFFSET..m.len() {
            for v in [0u8, 1, 12, 55, 0x7f, 0xff] {
                let mut c = m.clone();
                c[i] = v;
                let mut s = DhcpState::default();
                s.feed(Side::Client, &c);
                let _ = s.summary();
            }
        }
    }
}
