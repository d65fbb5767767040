//! HTTP/1.x request and response heads on any TCP port (RFC 9112 §2-4, §6;
//! RFC 9110 §7.2 Host).
//!
//! Each direction's reassembled stream is read as a sequence of messages: a head
//! (start line and header lines up to the empty line, bare LF accepted, at most
//! [`MAX_HEAD_BYTES`]) and a body whose length the head gives (`Content-Length`;
//! none for a request without it). The first request gives method, URI, Host,
//! User-Agent; every request head found is counted. The first response gives
//! status and Content-Type, and nothing after it in that direction is read
//! (no column needs it; most of a connection's bytes are response bodies).
//! Whether a direction
//! carries requests or responses is decided by its first head's start line, not
//! by the side it was given (a capture without the SYN may name the sides the
//! other way round). When the body length is
//! unknown (chunked, a response delimited by the close, an oversized head, a
//! gap), the direction resynchronizes at the next delivered segment that starts
//! with a request line (client) or status line (server), so later requests are
//! still counted.

use super::reasm::TcpStream;
use super::text::{Span, Texts};
use super::tls::{TlsState, TlsSummary};
use super::{Side, TcpSegment};

/// Bytes of one message head kept, at most.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Bytes of the request target kept, at most: the head bound, so that a
/// target is never cut (its request line must end within the head's bound
/// for the request to be read at all). Long targets are common (tracking
/// and advertising URLs of 1-2 KB with their parameters), and the parameters
/// a cut would lose are what an analyst looks for.
pub const MAX_URI_BYTES: usize = MAX_HEAD_BYTES;
/// Bytes of a header value kept, at most (Host, User-Agent, Content-Type).
pub const MAX_VALUE_BYTES: usize = 512;

/// Request methods recognized at the start of a stream (RFC 9110 §9, WebDAV,
/// and SSDP's `M-SEARCH` and `NOTIFY`, HTTP over UDP in UPnP).
const METHODS: [&[u8]; 18] = [
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"M-SEARCH",
    b"NOTIFY",
];

/// Whether `data` starts like an HTTP/1.x request: a known method and a space,
/// and, if the first line is complete, a `HTTP/1.x` version at its end.
pub fn looks_like_request(data: &[u8]) -> bool {
    let Some(sp) = method_end(data) else {
        return false;
    };
    match memchr::memchr(b'\n', data) {
        Some(nl) => version_ends(trim_cr(&data[..nl])),
        None => data.len() > sp + 1 && data[sp + 1] != b' ',
    }
}

/// [`looks_like_request`] of a complete first line (without its CR LF).
fn request_line_ok(line: &[u8]) -> bool {
    method_end(line).is_some() && version_ends(line)
}

/// Whether a complete first line (without its CR LF) is an HTTP/0.9 simple
/// request (RFC 1945 §4.1: `GET` SP Request-URI, no version, no headers),
/// with a path: `GET /` and printable ASCII without spaces. (A path, so
/// that a line such as a Redis inline `GET key` is not one.)
fn simple_request_line(line: &[u8]) -> bool {
    line.strip_prefix(b"GET /")
        .is_some_and(|rest| rest.iter().all(|b| (0x21..=0x7e).contains(b)))
}

/// Whether `data` starts with a complete HTTP/0.9 simple request line
/// ([`simple_request_line`]). Over TCP only: HTTP over UDP is HTTP/1.x.
pub fn looks_like_simple_request(data: &[u8]) -> bool {
    // The prefix first: most payloads are not one, and are not scanned.
    data.starts_with(b"GET /")
        && memchr::memchr(b'\n', data).is_some_and(|nl| simple_request_line(trim_cr(&data[..nl])))
}

/// Where a known method followed by a space ends, at the start of `data`.
fn method_end(data: &[u8]) -> Option<usize> {
    let sp = data.iter().take(12).position(|&b| b == b' ')?;
    METHODS.contains(&&data[..sp]).then_some(sp)
}

/// Whether a line ends with an `HTTP/1.x` version.
fn version_ends(line: &[u8]) -> bool {
    line.len() >= 8
        && line[line.len() - 8..line.len() - 1] == *b"HTTP/1."
        && line[line.len() - 1].is_ascii_digit()
}

/// Whether `data` starts like an HTTP/1.x status line (`HTTP/1.x NNN`).
pub fn looks_like_response(data: &[u8]) -> bool {
    data.len() >= 12
        && data.starts_with(b"HTTP/1.")
        && data[7].is_ascii_digit()
        && data[8] == b' '
        && data[9..12].iter().all(u8::is_ascii_digit)
}

/// A decimal number as `str::parse::<u64>` reads it (an optional `+`, then
/// digits only; `None` on overflow or for anything else).
fn parse_u64(v: &[u8]) -> Option<u64> {
    let digits = v.strip_prefix(b"+").unwrap_or(v);
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = v {
        v = rest;
    }
    v
}

/// The Host value without its port (and without the brackets of an IPv6 literal).
pub fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// A flow's HTTP metadata. Its text values are kept in one string
/// ([`Texts`]: one allocation per flow rather than one per value).
#[derive(Debug, Clone, Default)]
pub struct HttpSummary {
    texts: Texts,
    /// Method of the first request.
    method: Option<Span>,
    /// Its request target, as sent, at most [`MAX_URI_BYTES`].
    uri: Option<Span>,
    /// Its HTTP version (`HTTP/1.1`); none for an HTTP/0.9 simple request,
    /// which has no version.
    version: Option<Span>,
    /// Its Host header, as sent (see [`host_without_port`]).
    host: Option<Span>,
    /// Its User-Agent header (`Some("")` when present and empty).
    user_agent: Option<Span>,
    /// Status code of the first response.
    pub status: Option<u16>,
    /// Content-Type of the first response.
    content_type: Option<Span>,
    /// Request heads seen.
    pub requests: u32,
}

/// Bytes of a method kept, at most.
const MAX_METHOD_BYTES: usize = 32;
/// Bytes of a version kept, at most.
const MAX_VERSION_BYTES: usize = 16;

/// The first `max` bytes of `v`.
fn at_most(v: &[u8], max: usize) -> &[u8] {
    &v[..v.len().min(max)]
}

impl HttpSummary {
    /// Method of the first request.
    pub fn method(&self) -> Option<&str> {
        self.texts.opt(self.method)
    }

    /// Its request target, as sent, at most [`MAX_URI_BYTES`].
    pub fn uri(&self) -> Option<&str> {
        self.texts.opt(self.uri)
    }

    /// Its HTTP version (`HTTP/1.1`); none for an HTTP/0.9 simple request,
    /// which has no version.
    pub fn version(&self) -> Option<&str> {
        self.texts.opt(self.version)
    }

    /// Its Host header, as sent (see [`host_without_port`]).
    pub fn host(&self) -> Option<&str> {
        self.texts.opt(self.host)
    }

    /// Its User-Agent header (`Some("")` when present and empty).
    pub fn user_agent(&self) -> Option<&str> {
        self.texts.opt(self.user_agent)
    }

    /// Content-Type of the first response.
    pub fn content_type(&self) -> Option<&str> {
        self.texts.opt(self.content_type)
    }

    /// Renders the first request's values (each escaped, within its bound):
    /// one reservation for all of them, with room for a Content-Type.
    fn set_request(
        &mut self,
        method: &[u8],
        target: &[u8],
        version: Option<&[u8]>,
        host: Option<&[u8]>,
        user_agent: Option<&[u8]>,
    ) {
        let method = at_most(method, MAX_METHOD_BYTES);
        let target = at_most(target, MAX_URI_BYTES);
        let version = version.map(|v| at_most(v, MAX_VERSION_BYTES));
        let host = host.map(|v| at_most(v, MAX_VALUE_BYTES));
        let user_agent = user_agent.map(|v| at_most(v, MAX_VALUE_BYTES));
        let len = |v: Option<&[u8]>| v.map_or(0, <[u8]>::len);
        self.texts
            .reserve(method.len() + target.len() + len(version) + len(host) + len(user_agent) + 32);
        let t = &mut self.texts;
        self.method = Some(t.push_escaped(method));
        self.uri = Some(t.push_escaped(target));
        self.version = version.map(|v| t.push_escaped(v));
        self.host = host.map(|v| t.push_escaped(v));
        self.user_agent = user_agent.map(|v| t.push_escaped(v));
    }

    /// Renders the first response's Content-Type (escaped, within its bound).
    fn set_content_type(&mut self, content_type: &[u8]) {
        let v = at_most(content_type, MAX_VALUE_BYTES);
        self.content_type = Some(self.texts.push_escaped(v));
    }
}

impl PartialEq for HttpSummary {
    /// Equal values (the layout of the text may differ: the response's
    /// values can be rendered before or after the request's).
    fn eq(&self, other: &Self) -> bool {
        self.method() == other.method()
            && self.uri() == other.uri()
            && self.version() == other.version()
            && self.host() == other.host()
            && self.user_agent() == other.user_agent()
            && self.status == other.status
            && self.content_type() == other.content_type()
            && self.requests == other.requests
    }
}

impl Eq for HttpSummary {}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Mode {
    /// Reading a head into `buf`.
    #[default]
    Head,
    /// Skipping a body of this many bytes.
    Body(u64),
    /// Body length unknown: wait for a segment starting a new head.
    Lost,
    /// Not HTTP: ignore the direction.
    Off,
    /// A direction of responses after its first head: nothing more is read
    /// from it (only the first response's values are kept).
    Done,
}

#[derive(Debug, Default, Clone)]
struct Direction {
    mode: Mode,
    buf: Vec<u8>,
    heads: u32,
    /// Whether the direction carries requests (`Some(true)`) or responses,
    /// decided by its first head's start line.
    requests: Option<bool>,
}

/// Per-flow HTTP state.
#[derive(Debug, Default, Clone)]
pub struct HttpState {
    stream: [TcpStream; 2],
    dir: [Direction; 2],
    sum: HttpSummary,
    /// The first request was a `CONNECT`.
    connect: bool,
    /// After a `CONNECT` and a 2xx response: the tunnel's payloads, read as
    /// TLS (RFC 9110 §9.3.6; the usual content of a proxy tunnel).
    tunnel: Option<Box<TlsState>>,
}

impl HttpState {
    /// A new state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one TCP payload of `side`.
    pub fn feed(&mut self, side: Side, seg: TcpSegment, payload: &[u8]) {
        if let Some(t) = self.tunnel.as_deref_mut() {
            // Each direction's tunnel stream starts at its first payload
            // after the response.
            t.feed(side, TcpSegment { syn: false, ..seg }, payload);
            return;
        }
        let i = side.index();
        if matches!(self.dir[i].mode, Mode::Off | Mode::Done) {
            return;
        }
        let mut stream = std::mem::take(&mut self.stream[i]);
        stream.push(seg.seq, seg.syn, payload, &mut |d| self.data(side, d));
        self.stream[i] = stream;
        if matches!(self.dir[i].mode, Mode::Off | Mode::Done) {
            self.stream[i].clear();
            self.dir[i].buf = Vec::new();
        }
    }

    /// Feed one UDP datagram of `side`: one message, its head up to the
    /// empty line (or the datagram's end), at most [`MAX_HEAD_BYTES`]; a body
    /// is not read. A first datagram that is not HTTP turns the direction off;
    /// a later one is skipped.
    pub fn feed_datagram(&mut self, side: Side, payload: &[u8]) {
        let i = side.index();
        if matches!(self.dir[i].mode, Mode::Off | Mode::Done) || payload.is_empty() {
            return;
        }
        if self.dir[i].requests == Some(true) && self.sum.method.is_some() {
            // Only counted: no later request's header is read, and a
            // datagram's body needs no skipping.
            if looks_like_request(payload) && memchr::memchr(b'\n', payload).is_some() {
                self.dir[i].heads += 1;
                self.sum.requests = self.sum.requests.saturating_add(1);
            }
            return;
        }
        let head = &payload[..payload.len().min(MAX_HEAD_BYTES)];
        let (end, cut) = match find_head_end(head, 0) {
            Some(end) => (end, false),
            None => (head.len(), payload.len() > MAX_HEAD_BYTES),
        };
        match self.parse_head(side, &head[..end], cut, false) {
            Mode::Done => self.dir[i].mode = Mode::Done,
            // A first datagram that is not HTTP: the direction is not.
            Mode::Lost if self.dir[i].heads == 0 => self.dir[i].mode = Mode::Off,
            _ => {}
        }
    }

    fn data(&mut self, side: Side, mut d: &[u8]) {
        let i = side.index();
        if self.dir[i].mode == Mode::Lost {
            let starts = match self.dir[i].requests {
                Some(true) => looks_like_request(d),
                Some(false) => looks_like_response(d),
                None => looks_like_request(d) || looks_like_response(d),
            };
            if !starts {
                return;
            }
            self.dir[i].mode = Mode::Head;
            self.dir[i].buf.clear();
        }
        while !d.is_empty() {
            match self.dir[i].mode {
                Mode::Off | Mode::Lost | Mode::Done => return,
                Mode::Body(left) => {
                    let n = (d.len() as u64).min(left);
                    d = &d[n as usize..];
                    self.dir[i].mode = if left == n {
                        Mode::Head
                    } else {
                        Mode::Body(left - n)
                    };
                }
                Mode::Head => {
                    let room = MAX_HEAD_BYTES - self.dir[i].buf.len();
                    let take = d.len().min(room);
                    // Most heads arrive whole in one segment: parsed in
                    // place, not copied.
                    if self.dir[i].buf.is_empty()
                        && let Some((end, next)) =
                            self.read_head(side, &d[..take], false, true, true)
                    {
                        self.dir[i].mode = next;
                        d = &d[end..];
                        continue;
                    }
                    let dir = &mut self.dir[i];
                    let end = if dir.buf.is_empty() {
                        dir.buf.extend_from_slice(&d[..take]);
                        None
                    } else {
                        let from = dir.buf.len().saturating_sub(3);
                        dir.buf.extend_from_slice(&d[..take]);
                        find_head_end(&dir.buf, from)
                    };
                    match end {
                        Some(end) => {
                            // Give back the bytes after the head.
                            let extra = dir.buf.len() - end;
                            d = &d[take - extra..];
                            dir.buf.truncate(end);
                            let next = self.head(side, false);
                            self.dir[i].buf.clear();
                            self.dir[i].mode = next;
                        }
                        None if dir.buf.len() >= MAX_HEAD_BYTES => {
                            let next = self.head(side, true);
                            self.dir[i].buf.clear();
                            self.dir[i].mode = if next == Mode::Done {
                                Mode::Done
                            } else {
                                Mode::Lost
                            };
                            return;
                        }
                        None => {
                            // Not yet complete. A direction that does not start
                            // with a head (a connection caught in the middle, a
                            // stream that is not HTTP) waits for a segment that
                            // starts one.
                            let dir = &self.dir[i];
                            if dir.heads == 0 && dir.buf.len() >= 16 && !self.start_ok(side) {
                                self.dir[i].mode = Mode::Lost;
                                self.dir[i].buf = Vec::new();
                            }
                            return;
                        }
                    }
                }
            }
        }
    }

    fn start_ok(&self, side: Side) -> bool {
        let b = &self.dir[side.index()].buf;
        looks_like_request(b) || looks_like_simple_request(b) || looks_like_response(b)
    }

    /// Parse the head in the direction's buffer (possibly cut at the bound);
    /// returns the mode for what follows it.
    fn head(&mut self, side: Side, cut: bool) -> Mode {
        let i = side.index();
        let buf = std::mem::take(&mut self.dir[i].buf);
        let mode = self.parse_head(side, &buf, cut, true);
        self.dir[i].buf = buf;
        mode
    }

    /// Parses one head, all of `buf` (complete, cut at the bound, or the
    /// complete lines a flow ended with); `stream` when it comes from a TCP
    /// stream (where an HTTP/0.9 simple request is read too), not a datagram.
    fn parse_head(&mut self, side: Side, buf: &[u8], cut: bool, stream: bool) -> Mode {
        self.read_head(side, buf, cut, stream, false)
            .map_or(Mode::Lost, |(_, mode)| mode)
    }

    /// Reads the head at the start of `buf`, up to its empty line; returns
    /// the offset just past that line (`buf.len()` without one) and the mode
    /// for what follows. With `complete_only`, a head whose empty line is not
    /// in `buf` is not read: `None`, and nothing changes. Finding the head's
    /// end and reading its lines are one pass over its line ends (looking for
    /// the end first, then reading the lines, took twice the `memchr` calls).
    fn read_head(
        &mut self,
        side: Side,
        buf: &[u8],
        cut: bool,
        stream: bool,
        complete_only: bool,
    ) -> Option<(usize, Mode)> {
        let i = side.index();
        let first_nl = memchr::memchr(b'\n', buf);
        let (start, mut at) = match first_nl {
            Some(nl) => (trim_cr(&buf[..nl]), nl + 1),
            None if complete_only => return None,
            None => (trim_cr(buf), buf.len()),
        };
        // The request check of the whole head, from its first line.
        let request_ok = |start: &[u8]| match first_nl {
            Some(_) => request_line_ok(start),
            None => looks_like_request(buf),
        };
        // An HTTP/0.9 simple request: its line is the whole request (no
        // header line after it is read).
        let simple =
            stream && first_nl.is_some() && !version_ends(start) && simple_request_line(start);
        let mut content_length: Option<u64> = None;
        let mut chunked = false;
        let mut host = None;
        let mut ua = None;
        let mut ctype = None;
        // The head ends just past its first empty line (`\n\n` or `\n\r\n`).
        let mut end = None;
        while at < buf.len() {
            let rest = &buf[at..];
            let (raw, terminated) = match memchr::memchr(b'\n', rest) {
                Some(nl) => (&rest[..nl], true),
                None => (rest, false),
            };
            at += raw.len() + usize::from(terminated);
            let l = trim_cr(raw);
            if l.is_empty() && terminated {
                end = Some(at);
                break;
            }
            // Only names starting with h, u, c or t are read (Host,
            // User-Agent, Content-*, Transfer-Encoding).
            if simple || !matches!(l.first().map(|b| b | 0x20), Some(b'h' | b'u' | b'c' | b't')) {
                continue;
            }
            let Some(colon) = memchr::memchr(b':', l) else {
                continue;
            };
            // Values are kept as slices and rendered only for the first
            // request or response (rendering every head's cost more than
            // parsing it). Names are told apart by their length first.
            let name = &l[..colon];
            let value = || trim(&l[colon + 1..]);
            let is = |want: &[u8]| name.eq_ignore_ascii_case(want);
            match name.len() {
                14 if is(b"content-length") => {
                    content_length = parse_u64(value());
                }
                17 if is(b"transfer-encoding") => chunked = true,
                4 if host.is_none() && is(b"host") => host = Some(value()),
                10 if ua.is_none() && is(b"user-agent") => ua = Some(value()),
                12 if ctype.is_none() && is(b"content-type") => ctype = Some(value()),
                _ => {}
            }
        }
        let end = match end {
            Some(end) => end,
            None if complete_only => return None,
            None => buf.len(),
        };
        let is_request = match self.dir[i].requests {
            Some(r) => r,
            None if simple || request_ok(start) => true,
            None if looks_like_response(start) => false,
            None => return Some((end, Mode::Lost)),
        };
        self.dir[i].requests = Some(is_request);
        let mode = if is_request {
            // `method SP target SP version` (the version is the rest of the
            // line); `GET SP target` for a simple request, without a version.
            let parts = if simple {
                Some((&start[..3], &start[4..], None))
            } else {
                memchr::memchr(b' ', start).and_then(|a| {
                    let b = a + 1 + memchr::memchr(b' ', &start[a + 1..])?;
                    Some((&start[..a], &start[a + 1..b], Some(&start[b + 1..])))
                })
            };
            let Some((method, target, version)) = parts else {
                return Some((end, Mode::Lost));
            };
            if !simple && !request_ok(start) {
                return Some((end, Mode::Lost));
            }
            self.dir[i].heads += 1;
            self.sum.requests = self.sum.requests.saturating_add(1);
            if self.sum.method.is_none() {
                self.connect = method == b"CONNECT";
                self.sum.set_request(method, target, version, host, ua);
            }
            // A request without Content-Length or Transfer-Encoding has no body.
            match content_length {
                _ if cut || chunked => Mode::Lost,
                None | Some(0) => Mode::Head,
                Some(n) => Mode::Body(n),
            }
        } else {
            if !looks_like_response(start) {
                return Some((end, Mode::Lost));
            }
            let code = std::str::from_utf8(&start[9..12])
                .ok()
                .and_then(|s| s.parse::<u16>().ok())
                .unwrap_or(0);
            self.dir[i].heads += 1;
            if self.sum.status.is_none() {
                self.sum.status = Some(code);
                if let Some(v) = ctype {
                    self.sum.set_content_type(v);
                }
                if self.connect && (200..300).contains(&code) {
                    self.tunnel = Some(Box::default());
                }
            }
            // Nothing later in a direction of responses is read.
            Mode::Done
        };
        Some((end, mode))
    }

    /// The flow's HTTP metadata.
    pub fn summary(&self) -> &HttpSummary {
        &self.sum
    }

    /// The summary, consuming the state (after [`finish`](Self::finish)).
    pub fn into_summary(mut self) -> HttpSummary {
        self.finish();
        self.sum
    }

    /// Whether a direction holds a head whose empty line has not come.
    pub fn has_pending_head(&self) -> bool {
        self.dir
            .iter()
            .any(|d| d.mode == Mode::Head && !d.buf.is_empty())
    }

    /// The end of the flow's parsing: a head still incomplete in a
    /// direction (the capture ends, or the rest of the head was lost) is
    /// read as far as its complete lines go, as a head cut at
    /// [`MAX_HEAD_BYTES`] is (the start line must be complete and valid);
    /// the incomplete last line is left out. Zeek reads a head line by line
    /// the same way.
    pub fn finish(&mut self) {
        for side in [Side::Client, Side::Server] {
            let i = side.index();
            if self.dir[i].mode != Mode::Head {
                continue;
            }
            let mut buf = std::mem::take(&mut self.dir[i].buf);
            if let Some(last_nl) = memchr::memrchr(b'\n', &buf) {
                buf.truncate(last_nl + 1);
                self.dir[i].mode = self.parse_head(side, &buf, true, true);
            }
        }
    }

    /// The TLS metadata of a `CONNECT` tunnel, if one was opened.
    pub fn tunnel_summary(&self) -> Option<TlsSummary> {
        self.tunnel.as_ref().map(|t| t.summary())
    }

    /// Whether a `CONNECT` tunnel was opened and its TLS handshake read
    /// (nothing later on the connection is HTTP).
    pub fn tunnel_done(&self) -> bool {
        self.tunnel.as_ref().is_some_and(|t| t.is_done())
    }

    /// Whether a `CONNECT` tunnel was opened.
    pub fn tunnel_started(&self) -> bool {
        self.tunnel.is_some()
    }

    /// Whether a malformed hello was read in a tunnel.
    pub fn tunnel_malformed(&self) -> bool {
        self.tunnel.as_ref().is_some_and(|t| t.malformed())
    }

    /// Whether `side` may still bring the flow's first response head: a
    /// request was read, no response head yet, and `side` is not the
    /// direction of requests (nor found not to be HTTP, nor in a tunnel).
    /// A connection caught in the middle of a response body shows its first
    /// head only after that body's segments (ndpi/1kxun.pcap: the 20th
    /// payload packet of the direction).
    pub fn awaits_response_from(&self, side: Side) -> bool {
        let dir = &self.dir[side.index()];
        self.tunnel.is_none()
            && self.sum.method.is_some()
            && self.sum.status.is_none()
            && dir.requests != Some(true)
            && !matches!(dir.mode, Mode::Off | Mode::Done)
    }

    /// Whether neither direction has shown an HTTP head and neither is
    /// reading one at its start (both found not to be HTTP).
    pub fn is_off(&self) -> bool {
        self.dir
            .iter()
            .all(|d| d.heads == 0 && matches!(d.mode, Mode::Off | Mode::Lost))
    }
}

/// The offset just past the empty line ending a head (`\n\n` or `\n\r\n`),
/// searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = memchr::memchr(b'\n', buf.get(i..)?) {
        let nl = i + p;
        match buf.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(seq: u32) -> TcpSegment {
        TcpSegment { seq, syn: false }
    }

    #[test]
    fn a_head_the_flow_ends_in_is_read_as_far_as_its_lines_go() {
        // A request whose empty line never comes: its complete lines are
        // read when the flow's parsing ends, the cut last line is not.
        let req = b"GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: x/1\r\nAccept: te";
        let resp = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nServ";
        let mut h = HttpState::new();
        h.feed(Side::Client, TcpSegment { seq: 0, syn: true }, &[]);
        h.feed(Side::Client, seg(1), req);
        h.feed(Side::Server, TcpSegment { seq: 50, syn: true }, &[]);
        h.feed(Side::Server, seg(51), resp);
        assert_eq!((h.summary().method(), h.summary().status), (None, None));
        assert!(h.has_pending_head());
        let s = h.into_summary();
        assert_eq!(s.method(), Some("GET"));
        assert_eq!(s.uri(), Some("/a?b=1"));
        assert_eq!(s.host(), Some("example.com:8080"));
        assert_eq!(s.user_agent(), Some("x/1"));
        assert_eq!(
            (s.status, s.content_type()),
            (Some(404), Some("text/plain"))
        );
        assert_eq!(s.requests, 1);
        // A start line that is not complete, or not HTTP/1.x: nothing.
        for start in [&b"GET /abc HTT"[..], b"GET /abc HTTP/d.1\r\nHost: a\r\n"] {
            let mut h = HttpState::new();
            h.feed(Side::Client, seg(1), start);
            let s = h.into_summary();
            assert_eq!((s.method(), s.host(), s.requests), (None, None, 0));
        }
    }

    #[test]
    fn request_split_across_segments_and_response() {
        let req = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8.1.2\r\nAccept: */*\r\n\r\n";
        let mut h = HttpState::new();
        h.feed(Side::Client, TcpSegment { seq: 0, syn: true }, &[]);
        // Three segments, the last two swapped.
        h.feed(Side::Client, seg(1), &req[..10]);
        h.feed(Side::Client, seg(1 + 40), &req[40..]);
        h.feed(Side::Client, seg(1 + 10), &req[10..40]);
        let resp = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello";
        h.feed(Side::Server, seg(77), resp);
        let s = h.summary();
        assert_eq!(s.method(), Some("GET"));
        assert_eq!(s.uri(), Some("/index.html?q=1"));
        assert_eq!(s.version(), Some("HTTP/1.1"));
        assert_eq!(s.host(), Some("example.com:8080"));
        assert_eq!(host_without_port(s.host().unwrap()), "example.com");
        assert_eq!(s.user_agent(), Some("curl/8.1.2"));
        assert_eq!(s.status, Some(200));
        assert_eq!(s.content_type(), Some("text/html; charset=utf-8"));
        assert_eq!(s.requests, 1);
    }

    #[test]
    fn bare_lf_empty_user_agent_no_host_tiny_segments() {
        // FoxIO http-empty-useragent.pcap: "GET / HTTP/1.0", bare LF, empty UA, no Host,
        // over three segments of 15 + 12 + 1 bytes.
        let req = b"GET / HTTP/1.0\nUser-Agent:\n\n";
        assert_eq!(req.len(), 28);
        let mut h = HttpState::new();
        h.feed(Side::Client, seg(5), &req[..15]);
        h.feed(Side::Client, seg(20), &req[15..27]);
        h.feed(Side::Client, seg(32), &req[27..]);
        let s = h.summary();
        assert_eq!(s.method(), Some("GET"));
        assert_eq!(s.user_agent(), Some(""));
        assert_eq!(s.host(), None);
        assert_eq!(s.requests, 1);
    }

    #[test]
    fn pipelined_requests_with_bodies_counted() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"POST /inform HTTP/1.1\r\nHost: unifi:8080\r\nUser-Agent: AirControl Agent v1.0\r\nContent-Length: 4\r\n\r\nGET ");
        stream.extend_from_slice(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        stream.extend_from_slice(
            b"PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
        );
        let mut h = HttpState::new();
        h.feed(Side::Client, seg(1), &stream);
        // After the chunked body the stream is resynchronized at the next segment
        // that starts with a request line.
        h.feed(
            Side::Client,
            seg(1 + stream.len() as u32),
            b"more body bytes",
        );
        let n = stream.len() as u32 + 15;
        h.feed(Side::Client, seg(1 + n), b"DELETE /c HTTP/1.1\r\n\r\n");
        let s = h.summary();
        assert_eq!(s.method(), Some("POST"));
        assert_eq!(s.host(), Some("unifi:8080"));
        assert_eq!(s.user_agent(), Some("AirControl Agent v1.0"));
        assert_eq!(s.requests, 4);
    }

    #[test]
    fn sides_swapped() {
        // zeek/missing-syn.pcap: the flow's first packet came from the server,
        // so the request arrives on the side named "server".
        let mut h = HttpState::new();
        h.feed(
            Side::Server,
            seg(1),
            b"GET / HTTP/1.1\r\nHost: www.icir.org\r\nUser-Agent: Wget/1.10\r\n\r\n",
        );
        h.feed(
            Side::Client,
            seg(1),
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        );
        let s = h.summary();
        assert_eq!(s.host(), Some("www.icir.org"));
        assert_eq!((s.status, s.requests), (Some(200), 1));
    }

    #[test]
    fn datagrams_are_whole_messages() {
        // SSDP: requests to the multicast group, each datagram one message.
        let search = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\nUSER-AGENT: Chromium/58 Windows\r\n\r\n";
        let mut h = HttpState::new();
        for _ in 0..3 {
            h.feed_datagram(Side::Client, search);
        }
        h.feed_datagram(Side::Client, b"not a request\r\n\r\n");
        let s = h.summary();
        assert_eq!(s.method(), Some("M-SEARCH"));
        assert_eq!(s.uri(), Some("*"));
        assert_eq!(s.host(), Some("239.255.255.250:1900"));
        assert_eq!(s.user_agent(), Some("Chromium/58 Windows"));
        assert_eq!(s.requests, 3);
        // A response without the final empty line; the head is the datagram.
        let mut h = HttpState::new();
        h.feed_datagram(
            Side::Server,
            b"HTTP/1.1 200 OK\r\nCONTENT-TYPE: text/xml\r\nST: upnp:rootdevice",
        );
        assert_eq!(h.summary().status, Some(200));
        assert_eq!(h.summary().content_type(), Some("text/xml"));
        // Not HTTP: the direction is off.
        let mut h = HttpState::new();
        h.feed_datagram(Side::Client, b"\x00\x01binary");
        h.feed_datagram(Side::Client, search);
        assert_eq!(h.summary().requests, 0);
    }

    #[test]
    fn http_0_9_simple_requests() {
        use crate::app::detect::detect;
        use crate::app::{AppProtocol, Transport};
        // RFC 1945 §4.1: `GET /` without a version (zeek mixed-vlan-mpls.pcap
        // sends `GET /\r\n\r\n`); HTTP on TCP, not on UDP.
        assert!(looks_like_simple_request(b"GET /\r\n\r\n"));
        assert_eq!(
            detect(Transport::Tcp, b"GET /\r\n\r\n"),
            Some(AppProtocol::Http)
        );
        assert_eq!(detect(Transport::Udp, b"GET /\r\n\r\n"), None);
        // Not one: no path (a Redis inline command), a space, a control byte,
        // another method, an incomplete line.
        for line in [
            &b"GET key\r\n"[..],
            b"GET /a b\r\n",
            b"GET /a\x01\r\n",
            b"POST /a\r\n",
            b"GET /a",
        ] {
            assert!(!looks_like_simple_request(line), "{line:?}");
        }
        let mut h = HttpState::new();
        h.feed(Side::Client, TcpSegment { seq: 0, syn: true }, &[]);
        h.feed(Side::Client, seg(1), b"GET /\r\n\r\n");
        let s = h.summary();
        assert_eq!((s.method(), s.uri()), (Some("GET"), Some("/")));
        assert_eq!((s.version(), s.host(), s.requests), (None, None, 1));
        // Without the empty line: read when the flow's parsing ends.
        let mut h = HttpState::new();
        h.feed(Side::Client, seg(1), b"GET /index.html\r\n");
        assert_eq!(h.summary().method(), None);
        let s = h.into_summary();
        assert_eq!(s.uri(), Some("/index.html"));
        assert_eq!(s.requests, 1);
        // The response of HTTP/0.9 is the document alone: no status.
        let mut h = HttpState::new();
        h.feed(Side::Client, seg(1), b"GET /\r\n\r\n");
        h.feed(Side::Server, seg(1), b"<html><body>hello</body></html>\n");
        assert_eq!(h.into_summary().status, None);
    }

    #[test]
    fn not_http_and_bounds() {
        let mut h = HttpState::new();
        h.feed(
            Side::Client,
            seg(1),
            b"\x16\x03\x01\x00\x05hello tls stream....",
        );
        h.feed(Side::Server, seg(1), b"SSH-2.0-OpenSSH_9.0\r\n..........");
        assert!(h.is_off());
        assert_eq!(h.summary(), &HttpSummary::default());
        // A request line longer than the head bound is not read; a long
        // target within it is kept whole.
        let mut req = b"GET /".to_vec();
        req.extend(std::iter::repeat_n(b'a', 20_000));
        req.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        let mut h = HttpState::new();
        h.feed(Side::Client, seg(1), &req);
        let s = h.summary();
        // The request line never ended within the bound: not counted as HTTP.
        assert!(s.uri().is_none());
        for len in [3000, MAX_HEAD_BYTES - 20] {
            let mut req = b"GET /".to_vec();
            req.extend(std::iter::repeat_n(b'a', len));
            req.extend_from_slice(b" HTTP/1.1\r\nX: y\r\n\r\n");
            let mut h = HttpState::new();
            h.feed(Side::Client, seg(1), &req);
            assert_eq!(h.summary().uri().map(str::len), Some(len + 1));
            assert_eq!(h.summary().method(), Some("GET"));
        }
        assert!(!looks_like_request(b"RTSP/1.0 200 OK\r\n"));
        assert!(!looks_like_response(b"SIP/2.0 200 OK\r\n"));
        assert!(looks_like_request(b"OPTIONS * HTTP/1.1\r\n"));
        assert!(!looks_like_request(b"OPTIONS sip:a SIP/2.0\r\n"));
        assert_eq!(host_without_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(host_without_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(host_without_port("a.b"), "a.b");
    }

    #[test]
    fn a_head_is_read_in_place_only_with_its_empty_line() {
        // Without its empty line nothing is read or changed; with it, the
        // offset just past that line, whether it is `\n\n` or `\n\r\n`,
        // and whatever follows it.
        let mut h = HttpState::new();
        let head = b"GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\n";
        assert_eq!(h.read_head(Side::Client, head, false, true, true), None);
        assert_eq!(h.summary(), &HttpSummary::default());
        assert_eq!(h.dir[0].requests, None);
        for (end, next) in [
            (&b"\r\n"[..], &b"POST"[..]),
            (b"\n", b""),
            (b"\r\n", b"\r\n"),
        ] {
            let mut h = HttpState::new();
            let whole = [&head[..], end, next].concat();
            let got = h.read_head(Side::Client, &whole, false, true, true);
            assert_eq!(got, Some((head.len() + end.len(), Mode::Head)));
            assert_eq!(
                (h.summary().host(), h.summary().user_agent()),
                (Some("h"), Some("u"))
            );
        }
        // A first line that is empty does not end the head.
        let mut h = HttpState::new();
        assert_eq!(
            h.read_head(Side::Client, b"\r\nGET / HTTP/1.1\r\n", false, true, true),
            None
        );
        // A head that is not HTTP is skipped as far as its end.
        let mut h = HttpState::new();
        let got = h.read_head(Side::Client, b"NOPE\r\nx: y\r\n\r\nGET", false, true, true);
        assert_eq!(got, Some((14, Mode::Lost)));
    }

    #[test]
    fn every_split_point_and_garbage() {
        let req = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        for cut in 0..=req.len() {
            let mut h = HttpState::new();
            h.feed(Side::Client, seg(1), &req[..cut]);
            h.feed(Side::Client, seg(1 + cut as u32), &req[cut..]);
            assert_eq!(h.summary().host(), Some("h"), "cut {cut}");
        }
        for b in 0..=255u8 {
            let mut h = HttpState::new();
            let mut r = req.to_vec();
            let at = b as usize % r.len();
            r[at] = b;
            h.feed(Side::Client, seg(1), &r);
            h.feed(Side::Server, seg(1), &r);
        }
    }
}
