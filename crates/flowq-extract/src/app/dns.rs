//! DNS over UDP and over TCP (RFC 1035 §4.1-4.2, RFC 6891 §6.1.3 extended RCODE).
//!
//! Every message is classified by its QR bit (not by direction) and counted.
//! The first query whose question decodes gives the query name, type, class
//! and transaction id; the first response gives the RCODE (with the EDNS
//! extended bits when an OPT record is present), ANCOUNT and up to
//! [`MAX_ANSWERS`] rendered answers from the answer section only. When the
//! flow's first message seen is a response, its question fills the query
//! fields.
//!
//! A message is read per part, as a robust analyzer reads it: a header that
//! decodes gives QR and the RCODE whatever follows; a question that decodes
//! gives the name and type even if the records after it do not; the answers
//! are read in order as far as they decode. A part that does not decode
//! leaves only its own fields empty, and counts the message as malformed.
//!
//! Over TCP each message has a 2-byte length prefix (RFC 1035 §4.2.2); a segment
//! may carry several messages and a message may span segments. Of each TCP
//! message at most [`MAX_TCP_MESSAGE`] bytes are kept; answers beyond are not
//! rendered. Names: at most [`MAX_POINTER_JUMPS`] compression pointers per
//! name, each pointing strictly before the label that holds it (so loops are
//! impossible), at most 255 wire bytes; anything else makes the name invalid.
//!
//! The rendered values (the query name, its NetBIOS name, a record's owner
//! name and the answers) are written into one [`Texts`] of the summary, each
//! a span of it, rather than one `String` each: a DNS flow renders a name and
//! a few answers, and one allocation per value was most of the DNS path's
//! cost (docs/benchmarks.md, "Application metadata columns"). Names and
//! answers are written straight into it (no intermediate string), and only
//! once they are known to decode, so a value that does not decode leaves no
//! bytes behind. Each value is written once per flow (the first query's and
//! the first response's; later messages are only counted), except the query
//! name a response gave, which a query replaces once; the texts are then
//! written again without it. So a summary's text stays bounded by the
//! bounds of its values.

use std::fmt::{self, Write as _};
use std::net::Ipv6Addr;

use super::reasm::TcpStream;
use super::text::{Items, ListSpan, Span, Texts};
use super::util::{Cur, escape_bytes, escape_into};
use super::{Side, TcpSegment};

/// Answers rendered per flow, at most.
pub const MAX_ANSWERS: usize = 16;
/// Characters kept of one rendered answer (a TXT record can be 64 KB).
pub const MAX_ANSWER_CHARS: usize = 255;
/// Bytes kept of one DNS-over-TCP message.
pub const MAX_TCP_MESSAGE: usize = 4096;
/// Compression pointers followed per name, at most.
pub const MAX_POINTER_JUMPS: usize = 16;
/// Wire length of a name, at most (RFC 1035 §2.3.4).
const MAX_NAME_WIRE: usize = 255;

/// The name of a DNS RR type, for the common ones.
pub fn dns_type_name(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return None,
    })
}

/// The name of a DNS RCODE (RFC 6895 registry, common values).
pub fn dns_rcode_name(r: u16) -> Option<&'static str> {
    Some(match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        23 => "BADCOOKIE",
        _ => return None,
    })
}

/// Read a (possibly compressed) name starting at `pos` of `msg`, appending
/// it to `out` (labels joined by `.`, bytes escaped; the root is `.`); `out`
/// is left as it was when the name does not decode. Returns the position
/// after the name where it started (after the first pointer, if any).
pub(crate) fn read_name(msg: &[u8], pos: usize, out: &mut String) -> Option<usize> {
    let start = out.len();
    let end = walk_name(msg, pos, Some(out));
    if end.is_none() {
        out.truncate(start);
    }
    end
}

/// [`read_name`] without rendering: where the name ends, if it decodes.
fn skip_name(msg: &[u8], pos: usize) -> Option<usize> {
    walk_name(msg, pos, None)
}

/// Where the name at `pos` ends in the message, whether or not it decodes
/// as a name: after its labels in place, at its root byte or after its first
/// pointer (RFC 1035 §4.1.4), wherever that points. `None` when a label runs
/// past the message, or is of an extended type (its length is unknown), so
/// that what follows cannot be found.
fn name_extent(msg: &[u8], mut p: usize) -> Option<usize> {
    loop {
        let b = *msg.get(p)?;
        match b & 0xc0 {
            0xc0 => return (p + 2 <= msg.len()).then_some(p + 2),
            0x00 if b == 0 => return Some(p + 1),
            0x00 => p += 1 + usize::from(b),
            _ => return None,
        }
    }
}

/// Decodes the name at `pos`, appending it to `out` if given (partly, when
/// it does not decode).
fn walk_name(msg: &[u8], pos: usize, mut out: Option<&mut String>) -> Option<usize> {
    let mut labels = 0usize;
    let mut p = pos;
    let mut after = None;
    let mut jumps = 0;
    let mut wire = 0usize;
    loop {
        let b = *msg.get(p)?;
        match b & 0xc0 {
            0xc0 => {
                let lo = *msg.get(p + 1)?;
                let target = (usize::from(b & 0x3f) << 8) | usize::from(lo);
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS || target >= p {
                    return None;
                }
                after.get_or_insert(p + 2);
                p = target;
            }
            0x00 => {
                if b == 0 {
                    if let Some(out) = out
                        && labels == 0
                    {
                        out.push('.');
                    }
                    return Some(after.unwrap_or(p + 1));
                }
                let len = usize::from(b);
                wire += len + 1;
                if wire + 1 > MAX_NAME_WIRE {
                    return None;
                }
                let label = msg.get(p + 1..p + 1 + len)?;
                if let Some(out) = out.as_deref_mut() {
                    if labels > 0 {
                        out.push('.');
                    }
                    escape_into(out, label);
                }
                labels += 1;
                p += 1 + len;
            }
            _ => return None, // 0x40 / 0x80: extended label types (obsolete)
        }
    }
}

/// The NetBIOS name of a NetBIOS name service query name (RFC 1002 §4.1,
/// RFC 1001 §14.1, first-level encoding): a first label of 32 characters
/// `A`-`P`, each pair one byte (high nibble, low nibble). The name is the
/// first 15 bytes without their trailing spaces and NULs (the 16th is the
/// service suffix), escaped as names are; `None` for any other name.
pub fn netbios_name(query: &str) -> Option<String> {
    let (name, len) = netbios_bytes(query)?;
    Some(escape_bytes(&name[..len], 15))
}

/// Whether `query` encodes a NetBIOS name ([`netbios_name`]), without
/// rendering it.
pub fn is_netbios_name(query: &str) -> bool {
    netbios_bytes(query).is_some()
}

/// The bytes of the NetBIOS name `query` encodes ([`netbios_name`]), and
/// how many of them are the name.
fn netbios_bytes(query: &str) -> Option<([u8; 16], usize)> {
    let label = query.split('.').next()?.as_bytes();
    if label.len() != 32 || !label.iter().all(|b| (b'A'..=b'P').contains(b)) {
        return None;
    }
    let mut name = [0u8; 16];
    for (n, pair) in name.iter_mut().zip(label.chunks_exact(2)) {
        *n = (pair[0] - b'A') << 4 | (pair[1] - b'A');
    }
    let mut end = 15;
    while end > 0 && matches!(name[end - 1], b' ' | 0) {
        end -= 1;
    }
    Some((name, end))
}

/// A parsed message header.
#[derive(Debug, Clone, Copy)]
struct Header {
    id: u16,
    flags: u16,
    qd: u16,
    an: u16,
    ns: u16,
    ar: u16,
}

fn header(msg: &[u8]) -> Option<Header> {
    let mut c = Cur::new(msg);
    Some(Header {
        id: c.u16()?,
        flags: c.u16()?,
        qd: c.u16()?,
        an: c.u16()?,
        ns: c.u16()?,
        ar: c.u16()?,
    })
}

/// Whether `msg` looks like a DNS message: a plausible header and exactly one
/// question that parses, with a known class. Used for content detection.
pub fn looks_like_dns(msg: &[u8]) -> bool {
    if !has_dns_header(msg) {
        return false;
    }
    let Some(p) = skip_name(msg, 12) else {
        return false;
    };
    let mut c = Cur::new(msg.get(p..).unwrap_or_default());
    let (Some(_qtype), Some(qclass)) = (c.u16(), c.u16()) else {
        return false;
    };
    // IN, CH, HS, NONE, ANY; mDNS sets the top bit (unicast-response / cache-flush).
    matches!(qclass & 0x7fff, 1 | 3 | 4 | 254 | 255)
}

/// Whether `msg` starts with the header of a DNS message of one question,
/// the header part of [`looks_like_dns`]: exactly one question, a known
/// opcode (QUERY, IQUERY, STATUS, NOTIFY, UPDATE), and in a query no answers
/// (except NOTIFY) nor authority records (except UPDATE).
pub fn has_dns_header(msg: &[u8]) -> bool {
    let Some(h) = header(msg) else { return false };
    let opcode = (h.flags >> 11) & 0x0f;
    if h.qd != 1 || !matches!(opcode, 0 | 1 | 2 | 4 | 5) {
        return false;
    }
    // A query carries no answers (except NOTIFY) nor authority (except UPDATE).
    h.flags & 0x8000 != 0 || !(h.an > 0 && opcode != 4 || h.ns > 0 && opcode != 5)
}

/// Whether `msg` decodes as a DNS message whatever its header says: a
/// 12-byte header, then a name that decodes, a type and a class at offset
/// 12 (the first question, or in a message without one the first record),
/// whatever the flags, opcode and counts. The rule on DNS's registered
/// ports, where TShark and Zeek read any message as DNS
/// ([`crate::app::detect::detect_on_ports`]); [`looks_like_dns`] elsewhere.
pub fn decodes_as_dns(msg: &[u8]) -> bool {
    header(msg).is_some() && skip_name(msg, 12).is_some_and(|p| msg.get(p..p + 4).is_some())
}

/// A flow's DNS metadata.
///
/// Its rendered values live in one string ([`Texts`], see the module
/// documentation), read with [`query`](Self::query),
/// [`netbios_name`](Self::netbios_name), [`record_name`](Self::record_name)
/// and [`answers`](Self::answers). Two summaries are equal when their
/// values are: where the values lie in the string depends on the order the
/// messages came in.
#[derive(Clone, Default)]
pub struct DnsSummary {
    /// The rendered values, each a span of it.
    texts: Texts,
    /// First query name (from the first query, else the first response).
    query: Option<Span>,
    /// The NetBIOS name the query name encodes ([`Self::netbios_name`]).
    netbios_name: Option<Span>,
    /// Its QTYPE.
    pub qtype: Option<u16>,
    /// Its QCLASS.
    pub qclass: Option<u16>,
    /// The owner name of the first record of the first response without a
    /// question ([`Self::record_name`]).
    record_name: Option<Span>,
    /// Transaction id of the first query (else of the first response).
    pub id: Option<u16>,
    /// RCODE of the first response (from its header, whatever follows),
    /// extended with the OPT record's high bits when that record decodes.
    pub rcode: Option<u16>,
    /// ANCOUNT of the first response.
    pub answer_count: Option<u16>,
    /// Rendered answers of the first response ([`Self::answers`]).
    answers: Option<ListSpan>,
    /// Query messages (QR = 0) seen.
    pub queries: u32,
    /// Response messages (QR = 1) seen.
    pub responses: u32,
    /// Messages with a part that does not decode: shorter than the header,
    /// a question that does not decode (any message that is read for its
    /// question), or, in the first response, a record or an answer's data
    /// that does not (not counted when the TCP message was cut at
    /// [`MAX_TCP_MESSAGE`]). Later messages are read for their header only.
    pub malformed: u32,
}

impl DnsSummary {
    /// Transactions: query messages, or responses when no query was seen (a
    /// capture with one direction only).
    pub fn transactions(&self) -> u32 {
        if self.queries > 0 {
            self.queries
        } else {
            self.responses
        }
    }

    /// First query name (from the first query, else the first response).
    pub fn query(&self) -> Option<&str> {
        self.texts.opt(self.query)
    }

    /// The NetBIOS name the query name encodes, when it is a NetBIOS name
    /// service message ([`netbios_name`]).
    pub fn netbios_name(&self) -> Option<&str> {
        self.texts.opt(self.netbios_name)
    }

    /// The owner name of the first record of the first response without a
    /// question (an mDNS announcement), when the flow has no question: the
    /// name such a message is about (NFStream's name of the flow; not a
    /// query, so not [`query`](Self::query)).
    pub fn record_name(&self) -> Option<&str> {
        self.texts.opt(self.record_name)
    }

    /// Rendered answers of the first response (answer section only, at most
    /// [`MAX_ANSWERS`], each at most [`MAX_ANSWER_CHARS`] characters): A/AAAA
    /// as addresses, CNAME/PTR/NS/DNAME as names, MX and SRV as their target
    /// name, SOA as its primary server name, TXT as its strings joined by
    /// spaces, anything else as `TYPE<n>`. Records are read in order up to
    /// the first whose framing does not decode; a record whose data does not
    /// decode is left out. `None` without a response, or when where a
    /// question of the response ends is unknown (a label past the message's
    /// end, an extended label type) and its header announces answers (where
    /// they start is unknown); an empty list when the response has none. A
    /// question whose name does not decode but ends where it should (too
    /// long, a bad pointer) does not hide the records after it.
    pub fn answers(&self) -> Option<Items<'_>> {
        self.answers.map(|a| self.texts.items(a))
    }

    /// Sets the query name to the name at `name` of `msg`, which decodes (the
    /// question was read), and the NetBIOS name it encodes. A query name a
    /// response gave is replaced (once per flow): the texts are written
    /// again without it, so that no dead bytes stay.
    fn set_query(&mut self, msg: &[u8], name: std::ops::Range<usize>) {
        // Room for the name (its wire length: its labels and their length
        // bytes, as long as it renders unless it has a pointer or an escape),
        // its NetBIOS name, and the usual answers of the response to come:
        // the flow's values in one allocation, mostly.
        let room = name.len() + QUERY_ROOM;
        if self.query.is_some() {
            self.drop_query(room);
        } else {
            self.texts.reserve(room);
        }
        let mut decodes = false;
        let query = self
            .texts
            .push_with(|s| decodes = read_name(msg, name.start, s).is_some());
        debug_assert!(decodes, "the question's name was decoded first");
        self.query = Some(query);
        self.netbios_name = netbios_bytes(self.texts.get(query))
            .map(|(name, len)| self.texts.push_escaped(&name[..len]));
    }

    /// The texts without the query name and its NetBIOS name, with room
    /// for `room` more bytes.
    fn drop_query(&mut self, room: usize) {
        let old = &self.texts;
        let mut texts = Texts::with_capacity(old.len() + room);
        self.record_name = self.record_name.map(|r| texts.push_str(old.get(r)));
        self.answers = self.answers.map(|a| {
            let mut list = texts.list();
            for item in old.items(a) {
                texts.push_item_with(&mut list, |s| s.push_str(item));
            }
            list
        });
        self.texts = texts;
        self.query = None;
        self.netbios_name = None;
    }
}

impl PartialEq for DnsSummary {
    fn eq(&self, other: &Self) -> bool {
        // Every field, so that a new one is not forgotten; the rendered
        // values by value.
        let DnsSummary {
            texts: _,
            query: _,
            netbios_name: _,
            qtype,
            qclass,
            record_name: _,
            id,
            rcode,
            answer_count,
            answers: _,
            queries,
            responses,
            malformed,
        } = self;
        let same_answers = match (self.answers(), other.answers()) {
            (Some(a), Some(b)) => a.len() == b.len() && a.iter().eq(b.iter()),
            (a, b) => a.is_none() && b.is_none(),
        };
        (
            qtype,
            qclass,
            id,
            rcode,
            answer_count,
            queries,
            responses,
            malformed,
        ) == (
            &other.qtype,
            &other.qclass,
            &other.id,
            &other.rcode,
            &other.answer_count,
            &other.queries,
            &other.responses,
            &other.malformed,
        ) && self.query() == other.query()
            && self.netbios_name() == other.netbios_name()
            && self.record_name() == other.record_name()
            && same_answers
    }
}

impl Eq for DnsSummary {}

impl fmt::Debug for DnsSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The values, not where they lie in the texts.
        f.debug_struct("DnsSummary")
            .field("query", &self.query())
            .field("netbios_name", &self.netbios_name())
            .field("qtype", &self.qtype)
            .field("qclass", &self.qclass)
            .field("record_name", &self.record_name())
            .field("id", &self.id)
            .field("rcode", &self.rcode)
            .field("answer_count", &self.answer_count)
            .field("answers", &self.answers().map(|a| a.to_vec()))
            .field("queries", &self.queries)
            .field("responses", &self.responses)
            .field("malformed", &self.malformed)
            .finish()
    }
}

/// Reads length-prefixed messages from one TCP direction.
#[derive(Debug, Default, Clone)]
struct TcpMessages {
    len_buf: [u8; 2],
    len_have: usize,
    /// Bytes left of the current message.
    left: usize,
    /// Its declared length.
    declared: usize,
    buf: Vec<u8>,
}

/// Per-flow DNS state.
#[derive(Debug, Default, Clone)]
pub struct DnsState {
    sum: DnsSummary,
    query_from_response: bool,
    have_response: bool,
    stream: [TcpStream; 2],
    tcp: [TcpMessages; 2],
}

impl DnsState {
    /// A new state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one UDP payload (one message).
    pub fn feed_udp(&mut self, payload: &[u8]) {
        self.message(payload, false);
    }

    /// Feed one TCP payload of `side`.
    pub fn feed_tcp(&mut self, side: Side, seg: TcpSegment, payload: &[u8]) {
        let i = side.index();
        let mut stream = std::mem::take(&mut self.stream[i]);
        let mut tcp = std::mem::take(&mut self.tcp[i]);
        stream.push(seg.seq, seg.syn, payload, &mut |mut d: &[u8]| {
            while !d.is_empty() {
                if tcp.left == 0 {
                    let n = (2 - tcp.len_have).min(d.len());
                    tcp.len_buf[tcp.len_have..tcp.len_have + n].copy_from_slice(&d[..n]);
                    tcp.len_have += n;
                    d = &d[n..];
                    if tcp.len_have == 2 {
                        tcp.len_have = 0;
                        tcp.declared = usize::from(u16::from_be_bytes(tcp.len_buf));
                        tcp.left = tcp.declared;
                        tcp.buf.clear();
                        if tcp.declared == 0 {
                            self.sum.malformed = self.sum.malformed.saturating_add(1);
                        }
                    }
                    continue;
                }
                let n = tcp.left.min(d.len());
                let keep = n.min(MAX_TCP_MESSAGE.saturating_sub(tcp.buf.len()));
                tcp.buf.extend_from_slice(&d[..keep]);
                tcp.left -= n;
                d = &d[n..];
                if tcp.left == 0 {
                    self.message(&tcp.buf, tcp.declared > MAX_TCP_MESSAGE);
                }
            }
        });
        self.stream[i] = stream;
        self.tcp[i] = tcp;
    }

    fn bad(&mut self) {
        self.sum.malformed = self.sum.malformed.saturating_add(1);
    }

    /// Handle one message; `cut` when flowq kept only its first
    /// [`MAX_TCP_MESSAGE`] bytes.
    ///
    /// Each part is read on its own, as far as it decodes: the header gives
    /// QR and the RCODE; the question section the query name and type; the
    /// records the answers and the OPT record's extended RCODE. A part that
    /// does not decode leaves its own values null (and the message counts
    /// as malformed), not the others'.
    fn message(&mut self, msg: &[u8], cut: bool) {
        let Some(h) = header(msg) else {
            return self.bad();
        };
        let response = h.flags & 0x8000 != 0;
        if response {
            self.sum.responses = self.sum.responses.saturating_add(1);
        } else {
            self.sum.queries = self.sum.queries.saturating_add(1);
        }
        let want_question = self.sum.query.is_none() || (!response && self.query_from_response);
        let first_response = response && !self.have_response;
        if !want_question && !first_response {
            return;
        }
        if first_response {
            // The header decodes: its RCODE and counts are read, whatever
            // follows.
            self.have_response = true;
            self.sum.rcode = Some(h.flags & 0x000f);
            self.sum.answer_count = Some(h.an);
        }
        // Question section.
        let mut pos = 12;
        let mut question = None;
        let mut questions_decode = true;
        // Whether where each question ends is known, so that the records
        // after them can be found.
        let mut questions_framed = true;
        for q in 0..h.qd {
            // Only the first question's name is kept, when it is wanted: the
            // others are decoded, not rendered.
            let keep = want_question && q == 0;
            let end = skip_name(msg, pos);
            let decoded = end.and_then(|p| {
                let mut c = Cur::new(msg.get(p..).unwrap_or_default());
                Some((p, c.u16()?, c.u16()?))
            });
            let Some((p, qt, qc)) = decoded else {
                // A later question that does not decode (a count larger
                // than the questions sent) leaves the first one, which did.
                questions_decode = false;
                // A name that does not decode (too long, a pointer loop)
                // may still have a known end: the records after it can be
                // read.
                match name_extent(msg, pos).filter(|&p| p + 4 <= msg.len()) {
                    Some(p) => {
                        pos = p + 4;
                        continue;
                    }
                    None => {
                        questions_framed = false;
                        break;
                    }
                }
            };
            if keep {
                question = Some((pos..p, qt, qc));
            }
            pos = p + 4;
        }
        // The name is rendered once its question decodes, so that one that
        // does not leaves nothing in the texts.
        if want_question && let Some((name, qt, qc)) = question {
            self.sum.set_query(msg, name);
            self.sum.qtype = Some(qt);
            self.sum.qclass = Some(qc);
            self.sum.id = Some(h.id);
            self.query_from_response = response;
        }
        if !questions_framed {
            // Where the records start is unknown: the answers are null,
            // unless the header announces none (an empty section).
            if first_response && h.an == 0 {
                self.sum.answers = Some(self.sum.texts.list());
            }
            return self.bad();
        }
        let records_decode = !first_response || self.records(msg, &h, pos) || cut;
        if !questions_decode || !records_decode {
            self.bad();
        }
    }

    /// Reads the records of the flow's first response from `pos` (after its
    /// question section): its answers, as far as they decode, and the OPT
    /// record's extended RCODE bits. Whether every record decoded.
    fn records(&mut self, msg: &[u8], h: &Header, mut pos: usize) -> bool {
        let sum = &mut self.sum;
        // Room for the usual answers (an address, a name), so that the
        // texts grow at most once more for them.
        sum.texts
            .reserve(usize::from(h.an).min(MAX_ANSWERS) * ANSWER_ROOM);
        // Started after the owner name a record may give, so that the list
        // is the last value written while its items are.
        let mut answers: Option<ListSpan> = None;
        let mut all_decode = true;
        let total = u32::from(h.an) + u32::from(h.ns) + u32::from(h.ar);
        for n in 0..total {
            // The owner name is kept for the first record of a message
            // without a question (when the flow has none); else decoded,
            // not rendered. One that does not decode but ends where it
            // should (a pointer loop) does not hide the record's data.
            let keep = n == 0 && h.qd == 0 && sum.query.is_none();
            let end = if keep {
                let mut end = None;
                let name = sum.texts.push_with(|s| end = read_name(msg, pos, s));
                if end.is_some() {
                    sum.record_name = Some(name);
                }
                end
            } else {
                skip_name(msg, pos)
            };
            let Some(p) = end.or_else(|| {
                all_decode = false;
                name_extent(msg, pos)
            }) else {
                break;
            };
            let mut c = Cur::new(msg.get(p..).unwrap_or_default());
            let (Some(ty), Some(_class), Some(ttl), Some(rdlen)) =
                (c.u16(), c.u16(), c.u32(), c.u16())
            else {
                all_decode = false;
                break;
            };
            let rstart = p + 10;
            let Some(rdata) = msg.get(rstart..rstart + usize::from(rdlen)) else {
                all_decode = false;
                break;
            };
            pos = rstart + usize::from(rdlen);
            if n < u32::from(h.an) {
                let list = answers.get_or_insert_with(|| sum.texts.list());
                // A record whose data does not decode (an A record of
                // 3 bytes, a name that does not) is left out; the records
                // after it are still read (its length frames it).
                if list.len() < MAX_ANSWERS
                    && !push_answer(&mut sum.texts, list, msg, ty, rstart, rdata)
                {
                    all_decode = false;
                }
            } else if ty == 41
                && let Some(rcode) = &mut sum.rcode
            {
                *rcode |= u16::from((ttl >> 24) as u8) << 4;
            }
        }
        sum.answers = Some(answers.unwrap_or_else(|| sum.texts.list()));
        all_decode
    }

    /// The flow's DNS metadata.
    pub fn summary(&self) -> &DnsSummary {
        &self.sum
    }

    /// The summary, consuming the state.
    pub fn into_summary(self) -> DnsSummary {
        self.sum
    }
}

/// Bytes reserved per answer: a dotted IPv4 address, or a short name.
const ANSWER_ROOM: usize = 24;
/// Bytes reserved with a query name, beyond the name: the answers of a
/// usual response.
const QUERY_ROOM: usize = 4 * ANSWER_ROOM;

/// Appends the rendered data of an answer record of type `ty` (its data
/// `rdata`, at `rstart` of `msg`) to `list`, the last value of `texts`, at
/// most [`MAX_ANSWER_CHARS`] of it. Whether it decodes; nothing is
/// appended when it does not (it is checked before it is written).
fn push_answer(
    texts: &mut Texts,
    list: &mut ListSpan,
    msg: &[u8],
    ty: u16,
    rstart: usize,
    rdata: &[u8],
) -> bool {
    match ty {
        1 => {
            let Ok(a) = <[u8; 4]>::try_from(rdata) else {
                return false;
            };
            // Dotted decimal, as `Ipv4Addr`'s Display writes it.
            texts.push_item_with(list, |s| {
                for (k, b) in a.into_iter().enumerate() {
                    if k > 0 {
                        s.push('.');
                    }
                    push_u8_dec(s, b);
                }
            });
        }
        28 => {
            let Ok(a) = <[u8; 16]>::try_from(rdata) else {
                return false;
            };
            texts.push_item_with(list, |s| {
                let _ = write!(s, "{}", Ipv6Addr::from(a));
            });
        }
        2 | 5 | 12 | 39 | 6 | 15 | 33 => {
            // The name's offset in the data: MX's after its preference,
            // SRV's after its priority, weight and port.
            let skip = match ty {
                15 => 2,
                33 => 6,
                _ => 0,
            };
            if rdata.len() < skip || skip_name(msg, rstart + skip).is_none() {
                return false;
            }
            texts.push_item_with(list, |s| {
                let start = s.len();
                let decodes = read_name(msg, rstart + skip, s).is_some();
                debug_assert!(decodes, "the name was decoded first");
                bound_answer(s, start);
            });
        }
        16 => {
            // Every string must fit in the data.
            let mut c = Cur::new(rdata);
            while let Some(n) = c.u8() {
                if c.take(usize::from(n)).is_none() {
                    return false;
                }
            }
            texts.push_item_with(list, |s| {
                let start = s.len();
                let mut c = Cur::new(rdata);
                let mut first = true;
                while let Some(part) = c.u8().and_then(|n| c.take(usize::from(n))) {
                    if !first {
                        s.push(' ');
                    }
                    first = false;
                    escape_into(s, &part[..part.len().min(MAX_ANSWER_CHARS)]);
                    // What follows would be cut: not written, so that a
                    // long record does not grow the texts.
                    if s.len() - start > MAX_ANSWER_CHARS {
                        break;
                    }
                }
                bound_answer(s, start);
            });
        }
        _ => texts.push_item_with(list, |s| {
            let _ = write!(s, "TYPE{ty}");
        }),
    }
    true
}

/// Cuts the answer written from `start` of `s` to [`MAX_ANSWER_CHARS`].
fn bound_answer(s: &mut String, start: usize) {
    if s.len() - start > MAX_ANSWER_CHARS {
        let mut cut = start + MAX_ANSWER_CHARS;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// The decimal digits of `v` appended to `s`.
fn push_u8_dec(s: &mut String, v: u8) {
    if v >= 100 {
        s.push(char::from(b'0' + v / 100));
    }
    if v >= 10 {
        s.push(char::from(b'0' + v / 10 % 10));
    }
    s.push(char::from(b'0' + v % 10));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netbios_names_decode() {
        assert_eq!(
            netbios_name("FHEPFCELEHFCEPFFFACACACACACACABN").as_deref(),
            Some("WORKGROUP")
        );
        assert_eq!(
            netbios_name("CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").as_deref(),
            Some("*")
        );
        assert_eq!(
            netbios_name("FDEDCOEBFCFCEBEOEDEBFCCOEPFCEHAA.scope").as_deref(),
            Some("SC.ARRANCAR.ORG")
        );
        // Not a first-level encoding.
        assert_eq!(netbios_name("www.example.com"), None);
        assert_eq!(netbios_name("FHEPFCELEHFCEPFFFACACACACACACABZ"), None);
        assert_eq!(netbios_name("FHEPFCELEHFCEPFFFACACACACACACAB"), None);
    }

    /// tcpdump tests/dns_udp.pcap, rebuilt from its dissection (reference note §6):
    /// query www.tcpdump.org A, ID 0x5934; response with 2 answers and 2
    /// additional A records (tshark's dns.a shows 4, the answer section has 2).
    fn query() -> Vec<u8> {
        let mut m = vec![0x59, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03www\x07tcpdump\x03org\x00\x00\x01\x00\x01");
        m
    }

    fn response() -> Vec<u8> {
        let mut m = vec![0x59, 0x34, 0x85, 0x00, 0, 1, 0, 2, 0, 1, 0, 2];
        m.extend_from_slice(b"\x03www\x07tcpdump\x03org\x00\x00\x01\x00\x01");
        for ip in [[192, 139, 46, 66], [198, 199, 88, 104]] {
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            m.extend_from_slice(&ip);
        }
        // Authority: NS ns.tcpdump.org (pointer into the question at "tcpdump").
        m.extend_from_slice(&[
            0xc0, 16, 0, 2, 0, 1, 0, 0, 0, 60, 0, 5, 2, b'n', b's', 0xc0, 16,
        ]);
        for ip in [[1, 1, 1, 1], [2, 2, 2, 2]] {
            m.extend_from_slice(&[0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            m.extend_from_slice(&ip);
        }
        m
    }

    #[test]
    fn udp_query_and_response() {
        let mut d = DnsState::new();
        assert!(looks_like_dns(&query()) && looks_like_dns(&response()));
        d.feed_udp(&query());
        d.feed_udp(&response());
        let s = d.summary();
        assert_eq!(s.query(), Some("www.tcpdump.org"));
        assert_eq!(s.qtype, Some(1));
        assert_eq!(s.id, Some(0x5934));
        assert_eq!(s.rcode, Some(0));
        assert_eq!(s.answer_count, Some(2));
        assert_eq!(
            s.answers().map(|a| a.to_vec()).as_deref(),
            Some(&["192.139.46.66", "198.199.88.104"].map(String::from)[..])
        );
        assert_eq!(
            (s.queries, s.responses, s.transactions(), s.malformed),
            (1, 1, 1, 0)
        );
        // More transactions on the same 5-tuple: counted, first values kept.
        let mut q2 = query();
        q2[0] = 1;
        q2[13] = b'x';
        d.feed_udp(&q2);
        assert_eq!(d.summary().transactions(), 2);
        assert_eq!(d.summary().query(), Some("www.tcpdump.org"));
    }

    /// The bytes of the values `s` holds, as the texts hold them (a list's
    /// items joined by one byte).
    fn live_bytes(s: &DnsSummary) -> usize {
        let name = |v: Option<&str>| v.map_or(0, str::len);
        let answers = s.answers().map_or(0, |a| {
            a.iter().map(str::len).sum::<usize>() + a.len().saturating_sub(1)
        });
        name(s.query()) + name(s.netbios_name()) + name(s.record_name()) + answers
    }

    #[test]
    fn values_are_written_once_and_a_replaced_query_leaves_no_bytes() {
        // Query first: the texts hold the query name and the answers, and
        // later messages (counted) add nothing.
        let mut a = DnsState::new();
        a.feed_udp(&query());
        a.feed_udp(&response());
        let first = a.summary().clone();
        let len = first.texts.len();
        assert_eq!(len, live_bytes(&first));
        for _ in 0..10 {
            a.feed_udp(&query());
            a.feed_udp(&response());
        }
        assert_eq!(a.summary().transactions(), 11);
        assert_eq!(a.summary().texts.len(), len);

        // The response first: its question names the flow until the query
        // comes, whose name replaces it; the texts are written again
        // without the response's name. Same values, another layout: equal.
        let mut b = DnsState::new();
        b.feed_udp(&response());
        assert_eq!(b.summary().query(), Some("www.tcpdump.org"));
        b.feed_udp(&query());
        let s = b.summary();
        assert_eq!(s.query(), Some("www.tcpdump.org"));
        assert_eq!(
            s.answers().map(|x| x.to_vec()).as_deref(),
            Some(&["192.139.46.66", "198.199.88.104"].map(String::from)[..])
        );
        assert_eq!(s.texts.len(), live_bytes(s));
        assert_eq!(s, &first);

        // A NetBIOS name service query (RFC 1002 §4.2.12) answered first
        // with an empty answer section, then asked with a query name of
        // another scope: the NetBIOS name goes with the name replaced.
        let nb = |flags: u16, name: &[u8]| {
            let mut m = vec![0, 9];
            m.extend_from_slice(&flags.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
            m.extend_from_slice(name);
            m.extend_from_slice(&[0, 0x20, 0, 1]);
            m
        };
        let mut c = DnsState::new();
        c.feed_udp(&nb(0x8500, b"\x20FHEPFCELEHFCEPFFFACACACACACACABN\x00"));
        assert_eq!(c.summary().netbios_name(), Some("WORKGROUP"));
        c.feed_udp(&nb(
            0x0110,
            b"\x20EFEDEJFPEEEPENEBEJEOCACACACACAAA\x01x\x00",
        ));
        let s = c.summary();
        assert_eq!(s.query(), Some("EFEDEJFPEEEPENEBEJEOCACACACACAAA.x"));
        assert_eq!(
            s.netbios_name(),
            netbios_name("EFEDEJFPEEEPENEBEJEOCACACACACAAA").as_deref()
        );
        assert_eq!(s.answers().map(|x| x.len()), Some(0));
        assert_eq!(s.texts.len(), live_bytes(s));
        // A query that does not decode writes nothing.
        let mut d = DnsState::new();
        d.feed_udp(&query()[..20]);
        assert_eq!((d.summary().query(), d.summary().texts.len()), (None, 0));
    }

    #[test]
    fn a_long_txt_record_is_cut_and_not_written_whole() {
        // Question `a` TXT IN, one TXT record of 40 strings of 200 bytes
        // (8040 bytes, a UDP datagram): its answer is the first 255
        // characters, and the texts hold little more.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01a\x00\x00\x10\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&(40u16 * 201).to_be_bytes());
        for _ in 0..40 {
            m.push(200);
            m.extend_from_slice(&[b'z'; 200]);
        }
        let mut d = DnsState::new();
        d.feed_udp(&m);
        let s = d.summary();
        let expected = format!("{} {}", "z".repeat(200), "z".repeat(54));
        assert_eq!(
            s.answers().map(|x| x.to_vec()).as_deref(),
            Some(&[expected][..])
        );
        assert_eq!(s.texts.len(), 1 + MAX_ANSWER_CHARS);
        assert_eq!(s.malformed, 0);
    }

    #[test]
    fn tcp_two_messages_in_one_segment_and_split() {
        let (q, r) = (query(), response());
        let mut client = (q.len() as u16).to_be_bytes().to_vec();
        client.extend_from_slice(&q);
        client.extend_from_slice(&(q.len() as u16).to_be_bytes());
        client.extend_from_slice(&q);
        let mut d = DnsState::new();
        d.feed_tcp(Side::Client, TcpSegment { seq: 10, syn: true }, &[]);
        d.feed_tcp(
            Side::Client,
            TcpSegment {
                seq: 11,
                syn: false,
            },
            &client,
        );
        let mut server = (r.len() as u16).to_be_bytes().to_vec();
        server.extend_from_slice(&r);
        // The response split at every point into two segments, second one first.
        for cut in [1, 2, 3, 20, server.len() - 1] {
            let mut e = DnsState::new();
            e.feed_tcp(Side::Server, TcpSegment { seq: 99, syn: true }, &[]);
            e.feed_tcp(
                Side::Server,
                TcpSegment {
                    seq: 100 + cut as u32,
                    syn: false,
                },
                &server[cut..],
            );
            e.feed_tcp(
                Side::Server,
                TcpSegment {
                    seq: 100,
                    syn: false,
                },
                &server[..cut],
            );
            assert_eq!(e.summary().answers().map(|a| a.len()), Some(2), "cut {cut}");
            assert_eq!(e.summary().query(), Some("www.tcpdump.org"));
        }
        d.feed_tcp(
            Side::Server,
            TcpSegment {
                seq: 100,
                syn: false,
            },
            &server,
        );
        let s = d.summary();
        assert_eq!((s.queries, s.responses), (2, 1));
        assert_eq!(s.answers().map(|a| a.len()), Some(2));
    }

    #[test]
    fn extended_rcode_and_rendering() {
        // dns-badcookie: header RCODE 7, OPT TTL high byte 1 → 23 (BADCOOKIE).
        let mut m = vec![0, 1, 0x81, 0x07, 0, 1, 0, 4, 0, 0, 0, 1];
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        // CNAME b.a, MX 10 a, TXT "hi" "x\x00", SRV, AAAA.
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 4, 1, b'b', 0xc0, 12]);
        m.extend_from_slice(&[0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 1, 0, 4, 0, 10, 0xc0, 12]);
        m.extend_from_slice(&[
            0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 1, 0, 6, 2, b'h', b'i', 2, b'x', 0,
        ]);
        m.extend_from_slice(&[
            0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 1, 0, 16, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 1,
        ]);
        m.extend_from_slice(&[0, 0, 41, 0x10, 0, 0x01, 0, 0, 0, 0, 0]);
        let mut d = DnsState::new();
        d.feed_udp(&m);
        let s = d.summary();
        assert_eq!(s.rcode, Some(23));
        assert_eq!(dns_rcode_name(23), Some("BADCOOKIE"));
        assert_eq!(
            s.answers().map(|a| a.to_vec()).as_deref(),
            Some(&["b.a", "a", "hi x\\x00", "2001:db8::1"].map(String::from)[..])
        );
        assert_eq!(s.query(), Some("a"));
        assert_eq!(s.queries, 0);
        assert_eq!(s.transactions(), 1);
    }

    #[test]
    fn a_count_larger_than_the_questions_keeps_the_first() {
        // QDCOUNT 2, one question `a.b` type A class IN, nothing after: the
        // first question decodes and is kept; the message counts as
        // malformed; the strict rule refuses it, DNS's port accepts it.
        let m = b"\x00\x07\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00\x01a\x01b\x00\x00\x01\x00\x01";
        assert!(!looks_like_dns(m));
        assert!(decodes_as_dns(m));
        let mut s = DnsState::new();
        s.feed_udp(m);
        let d = s.summary();
        assert_eq!(d.query(), Some("a.b"));
        assert_eq!((d.qtype, d.queries, d.malformed), (Some(1), 1, 1));
        // Nothing decodes: no name, malformed.
        let mut s = DnsState::new();
        s.feed_udp(&m[..15]);
        assert_eq!((s.summary().query(), s.summary().malformed), (None, 1));
        assert!(!decodes_as_dns(&m[..15]));
    }

    #[test]
    fn an_announcement_without_a_question_names_its_first_record() {
        // mDNS announcement (RFC 6762 §8.3): response, no question, one PTR
        // `_RAOP._tcp.local` -> `Speaker._RAOP._tcp.local` (a pointer to
        // offset 12).
        let m = b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00\x05_RAOP\x04_tcp\x05local\x00\x00\x0c\x00\x01\x00\x00\x11\x94\x00\x0a\x07Speaker\xc0\x0c";
        assert!(!looks_like_dns(m));
        assert!(decodes_as_dns(m));
        let mut s = DnsState::new();
        s.feed_udp(m);
        let d = s.summary();
        assert_eq!(d.query(), None);
        assert_eq!(d.record_name(), Some("_RAOP._tcp.local"));
        assert_eq!(
            d.answers().map(|a| a.to_vec()).as_deref(),
            Some(&["Speaker._RAOP._tcp.local".to_string()][..])
        );
        assert_eq!((d.rcode, d.responses, d.malformed), (Some(0), 1, 0));
        // A flow with a question does not take a record's name.
        let mut s = DnsState::new();
        s.feed_udp(b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01");
        s.feed_udp(m);
        assert_eq!(s.summary().query(), Some("a"));
        assert_eq!(s.summary().record_name(), None);
    }

    /// The answers of a summary, as `&str`s.
    fn answers(s: &DnsSummary) -> Option<Vec<&str>> {
        s.answers().map(|a| a.iter().collect())
    }

    #[test]
    fn a_response_is_read_per_part() {
        // A response whose question is a compression loop (`a`, then a
        // pointer back to it, at 12-15): the header gives RCODE 3
        // (NXDOMAIN, flags 0x8183) and ANCOUNT 1; the name does not decode,
        // so no query name or type; it ends after its pointer (offset 16),
        // its type and class follow, and the A record after them is read.
        let mut m = vec![0, 7, 0x81, 0x83, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[1, b'a', 0xc0, 12, 0, 1, 0, 1]);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        let mut d = DnsState::new();
        d.feed_udp(&m);
        let s = d.summary();
        assert_eq!(
            (s.rcode, s.answer_count, answers(s)),
            (Some(3), Some(1), Some(vec!["192.0.2.1"]))
        );
        assert_eq!((s.query(), s.qtype), (None, None));
        assert_eq!((s.responses, s.malformed), (1, 1));
        // The question's name an extended label (0x41): where it ends is
        // unknown, so the answer cannot be found: null answers.
        let mut x = m.clone();
        x[12] = 0x41;
        let mut d = DnsState::new();
        d.feed_udp(&x);
        let s = d.summary();
        assert_eq!((s.rcode, answers(s), s.malformed), (Some(3), None, 1));
        // The same announcing no answer: the answer section is empty.
        x[7] = 0;
        x.truncate(20);
        let mut d = DnsState::new();
        d.feed_udp(&x);
        let s = d.summary();
        assert_eq!((s.rcode, answers(s)), (Some(3), Some(vec![])));
        assert_eq!(s.malformed, 1);

        // A header and nothing that decodes after it (all bytes 0xaa, as
        // in a fuzzed capture): flags 0xaaaa have QR set and RCODE 10
        // (NOTZONE); QDCOUNT 0xaaaa; the name's first byte 0xaa is an
        // extended label type.
        let mut d = DnsState::new();
        d.feed_udp(&[0xaa; 44]);
        let s = d.summary();
        assert_eq!((s.rcode, answers(s), s.query()), (Some(10), None, None));
        assert_eq!((s.responses, s.queries, s.malformed), (1, 0, 1));
        // A later response that decodes gives its question (the flow had
        // none) but not its RCODE or answers: those are the first
        // response's.
        d.feed_udp(&response());
        let s = d.summary();
        assert_eq!(s.query(), Some("www.tcpdump.org"));
        assert_eq!((s.rcode, answers(s)), (Some(10), None));
        assert_eq!((s.responses, s.malformed), (2, 1));
    }

    #[test]
    fn answers_are_read_as_far_as_they_decode() {
        // Question `a` A IN (offset 12-18), then two A records, the second
        // announcing 4 bytes of data where 2 are left: the first is read,
        // the message is malformed, the RCODE (0, flags 0x8180) stands.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51]);
        let mut d = DnsState::new();
        d.feed_udp(&m);
        let s = d.summary();
        assert_eq!(answers(s), Some(vec!["192.0.2.1"]));
        assert_eq!(
            (s.rcode, s.answer_count, s.query()),
            (Some(0), Some(2), Some("a"))
        );
        assert_eq!(s.malformed, 1);

        // A question whose name is too long (5 labels of 63 bytes: 320 wire
        // bytes, over 255) ends at its root byte (offset 332); its type and
        // class follow, then an A record (owner the root) 192.0.2.9, read.
        let mut m = vec![0, 2, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        for _ in 0..5 {
            m.push(63);
            m.extend_from_slice(&[b'a'; 63]);
        }
        m.push(0);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9]);
        let mut d = DnsState::new();
        d.feed_udp(&m);
        let s = d.summary();
        assert_eq!(answers(s), Some(vec!["192.0.2.9"]));
        assert_eq!((s.query(), s.rcode, s.malformed), (None, Some(0), 1));

        // An A record of 3 bytes (its data does not decode) is left out, the
        // one after it is read; the OPT record after them (TTL 0x01000000:
        // extended RCODE 1) makes RCODE 0 into 16 (BADVERS).
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 1];
        m.extend_from_slice(b"\x01a\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 3, 192, 0, 2]);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 7]);
        m.extend_from_slice(&[0, 0, 41, 0x10, 0, 1, 0, 0, 0, 0, 0]);
        let mut d = DnsState::new();
        d.feed_udp(&m);
        let s = d.summary();
        assert_eq!(answers(s), Some(vec!["198.51.100.7"]));
        assert_eq!((s.rcode, s.malformed), (Some(16), 1));
        // The OPT record cut after its type: the header's RCODE alone.
        m.truncate(m.len() - 8);
        let mut d = DnsState::new();
        d.feed_udp(&m);
        let s = d.summary();
        assert_eq!(answers(s), Some(vec!["198.51.100.7"]));
        assert_eq!((s.rcode, s.malformed), (Some(0), 1));
    }

    #[test]
    fn a_message_cut_at_the_tcp_bound_is_not_malformed() {
        // Question `a` TXT IN, one TXT record of 5000 bytes (5000 empty
        // strings): 12 + 7 + 12 + 5000 = 5031 bytes, of which flowq keeps
        // 4096 over TCP. The record does not fit: no answer, RCODE 0, and
        // not malformed, as flowq cut it. The same first 4096 bytes in a
        // UDP datagram are a message that does not decode.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01a\x00\x00\x10\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0x13, 0x88]);
        m.resize(m.len() + 5000, 0);
        assert_eq!(m.len(), 5031);
        let mut t = DnsState::new();
        t.feed_tcp(Side::Server, TcpSegment::default(), &framed_message(&m));
        let s = t.summary();
        assert_eq!(
            (s.rcode, answers(s), s.malformed),
            (Some(0), Some(vec![]), 0)
        );
        let mut u = DnsState::new();
        u.feed_udp(&m[..MAX_TCP_MESSAGE]);
        let s = u.summary();
        assert_eq!(
            (s.rcode, answers(s), s.malformed),
            (Some(0), Some(vec![]), 1)
        );
    }

    /// `msg` with its 2-byte length prefix (DNS over TCP).
    fn framed_message(msg: &[u8]) -> Vec<u8> {
        let mut out = (msg.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(msg);
        out
    }

    #[test]
    fn compression_loops_and_bad_pointers_are_rejected() {
        let mut out = String::new();
        // Pointer to itself, forward pointer, out of bounds, pointer chain loop.
        let mut m = vec![0u8; 12];
        m.extend_from_slice(&[0xc0, 12]);
        assert_eq!(read_name(&m, 12, &mut out), None);
        let mut m = vec![0u8; 12];
        m.extend_from_slice(&[0xc0, 14, 0]);
        assert_eq!(read_name(&m, 12, &mut out), None);
        let mut m = vec![0u8; 12];
        m.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(read_name(&m, 12, &mut out), None);
        let m = [1, b'a', 0xc0, 0];
        assert_eq!(read_name(&m, 0, &mut out), None);
        // Too many (backward) jumps.
        let mut m = vec![0u8];
        for i in 0..20u8 {
            m.extend_from_slice(&[0xc0, if i == 0 { 0 } else { 1 + 2 * (i - 1) }]);
        }
        assert!(read_name(&m, m.len() - 2, &mut out).is_none());
        assert_eq!(read_name(&m, 3, &mut out), Some(5));
        assert_eq!(out, ".");
        // Too long a name.
        let mut m = Vec::new();
        for _ in 0..5 {
            m.push(63);
            m.extend_from_slice(&[b'a'; 63]);
        }
        m.push(0);
        assert_eq!(read_name(&m, 0, &mut out), None);
        // A query with a looping name is malformed, not a panic.
        let mut q = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
        let mut d = DnsState::new();
        d.feed_udp(&q);
        assert_eq!(d.summary().malformed, 1);
        assert!(d.summary().query().is_none());
        q.truncate(5);
        d.feed_udp(&q);
        assert_eq!(d.summary().malformed, 2);
        assert!(!looks_like_dns(b"GET / HTTP/1.1\r\n"));
    }

    #[test]
    fn every_prefix_and_byte_flip() {
        let r = response();
        for cut in 0..r.len() {
            let mut d = DnsState::new();
            d.feed_udp(&r[..cut]);
            let _ = d.summary();
            let mut t = DnsState::new();
            let mut framed = (cut as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&r[..cut]);
            t.feed_tcp(Side::Server, TcpSegment::default(), &framed);
        }
        for i in 0..r.len() {
            for v in [0, 0xc0, 0xff, 0x3f] {
                let mut m = r.clone();
                m[i] = v;
                let mut d = DnsState::new();
                d.feed_udp(&m);
                let _ = looks_like_dns(&m);
                assert!(d.summary().answers().is_none_or(|a| a.len() <= MAX_ANSWERS));
            }
        }
    }
}
