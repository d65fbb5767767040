//! OpenVPN's control channel (`openvpn`): the TLS handshake OpenVPN carries in
//! its P_CONTROL_V1 messages, over UDP and TCP, read by the TLS parser.
//!
//! OpenVPN's wire format (OpenVPN 2.x `ssl_pkt.h`, `reliable.c`; the same in
//! Wireshark's `packet-openvpn.c`): over TCP every packet is preceded by a
//! 2-byte length. A packet's first byte is its opcode (high 5 bits) and key
//! id (low 3). A control packet (hard and soft resets, P_CONTROL_V1, P_ACK_V1)
//! then has the sender's 8-byte session id, an ack array (a 1-byte count and
//! that many 4-byte packet ids, then the peer's 8-byte session id when the
//! count is not 0) and, but for P_ACK_V1, its own 4-byte message packet id.
//! What follows in a P_CONTROL_V1 message is the next part of the TLS
//! stream of its direction (TLS records, cut anywhere): the messages are
//! numbered from 0 (the hard reset) per direction and retransmitted until
//! acknowledged, so the stream is the messages in packet-id order, each once.
//!
//! Read here: the first TLS session (key id 0) of a control channel without
//! `tls-auth` or `tls-crypt` (those add an HMAC of a size the packet does not
//! give, or encrypt the channel: detection, [`looks_like_openvpn`], does not
//! recognize them, and their flows stay undetected). Data packets are not
//! looked at.
//!
//! Bounds: over TCP an OpenVPN packet is kept until whole up to
//! [`MAX_PACKET_LEN`] bytes (a longer one stops the direction); messages that
//! arrive ahead of a missing one are held, at most [`MAX_HELD_MESSAGES`] and
//! [`MAX_HELD_BYTES`] per direction (beyond that the direction stops); the TLS
//! parser has its own bounds.

use super::reasm::TcpStream;
use super::tls::{TlsState, TlsSummary};
use super::{Side, TcpSegment};

/// Opcodes (OpenVPN's `ssl_pkt.h`).
const P_CONTROL_HARD_RESET_CLIENT_V1: u8 = 1;
const P_CONTROL_HARD_RESET_SERVER_V1: u8 = 2;
const P_CONTROL_SOFT_RESET_V1: u8 = 3;
const P_CONTROL_V1: u8 = 4;
const P_ACK_V1: u8 = 5;
const P_CONTROL_HARD_RESET_CLIENT_V2: u8 = 7;
const P_CONTROL_HARD_RESET_SERVER_V2: u8 = 8;
const P_CONTROL_HARD_RESET_CLIENT_V3: u8 = 10;
const P_CONTROL_WKC_V1: u8 = 11;

/// The fixed part of a control packet: opcode, session id, ack count.
const HEADER_LEN: usize = 1 + 8 + 1;
/// A client's hard reset without `tls-auth`: its header and packet id.
const CLIENT_RESET_LEN: usize = 14;
/// A server's hard reset without `tls-auth` is at least its header, one
/// ack, the client's session id and its packet id (26 bytes), and at most
/// this long (bytes OpenVPN may append after the packet id).
const MAX_SERVER_RESET_LEN: usize = 64;
/// Acks in one control packet, at most (OpenVPN sends up to 4; 8 leaves
/// room). A larger count is not OpenVPN's.
const MAX_ACKS: usize = 8;

/// An OpenVPN packet over TCP longer than this stops its direction (control
/// packets are at most OpenVPN's control channel MTU, 1250 bytes by default).
pub const MAX_PACKET_LEN: usize = 4096;
/// Control messages held per direction while an earlier one is missing.
pub const MAX_HELD_MESSAGES: usize = 8;
/// Bytes of those messages, at most.
pub const MAX_HELD_BYTES: usize = 16 * 1024;

/// Whether a payload is the first packet of an OpenVPN session, in either
/// direction, without `tls-auth`: a client's hard reset (V2 or V3, key id 0)
/// of exactly 14 bytes that acknowledges nothing and has message packet id
/// 0, or a server's hard reset (V2, key id 0) of 26 to 64 bytes that
/// acknowledges exactly the client's packet 0 and has message packet id 0;
/// session ids are not all zero. Over TCP (`tcp`) the packet follows its
/// 2-byte length, which must fit the payload. The client's is 6 fixed bytes
/// of 14 and its exact length (a longer one, such as an RPC reply, whose
/// zeros after an 8-byte header would match, is not taken; a client reset
/// with bytes after its packet id is recognized by the server's reply), the
/// server's 10 fixed bytes of 26.
pub fn looks_like_openvpn(payload: &[u8], tcp: bool) -> bool {
    let packet = if tcp {
        let Some(len) = payload.get(..2) else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        match payload.get(2..2 + len) {
            Some(p) => p,
            None => return false,
        }
    } else {
        payload
    };
    if packet.len() > MAX_SERVER_RESET_LEN || packet.len() < CLIENT_RESET_LEN {
        return false;
    }
    let zero = |at: usize| packet.get(at..at + 4) == Some(&[0; 4][..]);
    let session = |at: usize| packet.get(at..at + 8).is_some_and(|s| s != [0; 8]);
    match (packet[0] >> 3, packet[0] & 7) {
        (P_CONTROL_HARD_RESET_CLIENT_V2 | P_CONTROL_HARD_RESET_CLIENT_V3, 0) => {
            packet.len() == CLIENT_RESET_LEN && session(1) && packet[9] == 0 && zero(10)
        }
        (P_CONTROL_HARD_RESET_SERVER_V2, 0) => {
            packet.len() >= 26
                && session(1)
                && packet[9] == 1
                && zero(10)
                && session(14)
                && zero(22)
        }
        _ => false,
    }
}

/// One flow's control channel: per direction the TCP stream and the packet
/// being put together (TCP), the next message expected and those held, and
/// the TLS parser the messages' bytes go to.
#[derive(Debug, Clone)]
pub struct OpenVpnState {
    tcp: bool,
    streams: [TcpStream; 2],
    partial: [Vec<u8>; 2],
    /// The packet id of the next P_CONTROL_V1 message to give the parser.
    next_id: [u32; 2],
    held: [Vec<(u32, Vec<u8>)>; 2],
    held_bytes: [usize; 2],
    /// TLS bytes given per direction: the parser's sequence numbers.
    offset: [u32; 2],
    /// A direction that went past a bound or sent what is not OpenVPN's
    /// control format: not read on.
    off: [bool; 2],
    malformed: bool,
    tls: TlsState,
}

impl OpenVpnState {
    /// The state of a flow over TCP (`tcp`) or UDP.
    pub fn new(tcp: bool) -> Self {
        OpenVpnState {
            tcp,
            streams: Default::default(),
            partial: Default::default(),
            // The hard reset is message 0; the handshake starts at 1.
            next_id: [1; 2],
            held: Default::default(),
            held_bytes: [0; 2],
            offset: [0; 2],
            off: [false; 2],
            malformed: false,
            tls: TlsState::new(),
        }
    }

    /// One payload of `side` (a TCP segment, or a UDP datagram: one packet).
    pub fn feed(&mut self, side: Side, seg: TcpSegment, payload: &[u8]) {
        let i = side.index();
        if self.off[i] || self.tls.is_done() {
            return;
        }
        if !self.tcp {
            if !payload.is_empty() {
                self.packet(side, payload);
            }
            return;
        }
        let (stream, partial) = (&mut self.streams[i], &mut self.partial[i]);
        let mut over = false;
        stream.push(seg.seq, seg.syn, payload, &mut |data| {
            if partial.len() + data.len() <= MAX_PACKET_LEN + 2 {
                partial.extend_from_slice(data);
            } else {
                over = true;
            }
        });
        let mut buffer = std::mem::take(&mut self.partial[i]);
        let mut at = 0;
        while let Some(len) = buffer.get(at..at + 2) {
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            if len > MAX_PACKET_LEN {
                over = true;
                break;
            }
            let Some(packet) = buffer.get(at + 2..at + 2 + len) else {
                break;
            };
            self.packet(side, packet);
            at += 2 + len;
        }
        buffer.drain(..at.min(buffer.len()));
        if over {
            self.off[i] = true;
            buffer.clear();
        }
        self.partial[i] = buffer;
    }

    /// One OpenVPN packet of `side`.
    fn packet(&mut self, side: Side, packet: &[u8]) {
        let Some(&first) = packet.first() else {
            return;
        };
        let (opcode, key_id) = (first >> 3, first & 7);
        let control = matches!(
            opcode,
            P_CONTROL_HARD_RESET_CLIENT_V1
                | P_CONTROL_HARD_RESET_SERVER_V1
                | P_CONTROL_SOFT_RESET_V1
                | P_CONTROL_V1
                | P_ACK_V1
                | P_CONTROL_HARD_RESET_CLIENT_V2
                | P_CONTROL_HARD_RESET_SERVER_V2
                | P_CONTROL_HARD_RESET_CLIENT_V3
                | P_CONTROL_WKC_V1
        );
        // Data packets, and the control packets of a renegotiation (a later
        // key id), are not the first handshake.
        if !control || key_id != 0 {
            return;
        }
        let Some((id, message)) = control_message(opcode, packet) else {
            self.malformed = true;
            self.off[side.index()] = true;
            return;
        };
        if opcode == P_CONTROL_V1 {
            self.message(side, id, message);
        }
    }

    /// A P_CONTROL_V1 message: given to the parser in packet-id order, once.
    fn message(&mut self, side: Side, id: u32, bytes: &[u8]) {
        let i = side.index();
        let next = self.next_id[i];
        if id < next || bytes.is_empty() {
            return;
        }
        if id > next {
            let held = &mut self.held[i];
            if held.iter().any(|(h, _)| *h == id) {
                return;
            }
            if held.len() >= MAX_HELD_MESSAGES
                || self.held_bytes[i] + bytes.len() > MAX_HELD_BYTES
                || id - next > MAX_HELD_MESSAGES as u32
            {
                self.off[i] = true;
                return;
            }
            self.held_bytes[i] += bytes.len();
            held.push((id, bytes.to_vec()));
            return;
        }
        self.deliver(side, bytes);
        // Held messages that are next now.
        while let Some(k) = self.held[i].iter().position(|(h, _)| *h == self.next_id[i]) {
            let (_, data) = self.held[i].swap_remove(k);
            self.held_bytes[i] -= data.len();
            self.deliver(side, &data);
        }
    }

    fn deliver(&mut self, side: Side, bytes: &[u8]) {
        let i = side.index();
        let seq = self.offset[i];
        self.tls.feed(side, TcpSegment { seq, syn: false }, bytes);
        self.offset[i] = seq.wrapping_add(bytes.len() as u32);
        self.next_id[i] = self.next_id[i].wrapping_add(1);
    }

    /// Whether the TLS hellos are read (nothing more to learn).
    pub fn is_done(&self) -> bool {
        self.tls.is_done()
    }

    /// Whether a control packet did not parse, or a TLS hello did not.
    pub fn malformed(&self) -> bool {
        self.malformed || self.tls.malformed()
    }

    /// The TLS handshake's metadata.
    pub fn summary(&self) -> TlsSummary {
        self.tls.summary()
    }
}

/// A control packet's message packet id (0 for P_ACK_V1, which has none) and
/// the bytes after it; `None` when the packet is shorter than its header
/// says or acknowledges more than [`MAX_ACKS`] packets.
fn control_message(opcode: u8, packet: &[u8]) -> Option<(u32, &[u8])> {
    let acks = usize::from(*packet.get(HEADER_LEN - 1)?);
    if acks > MAX_ACKS {
        return None;
    }
    let mut at = HEADER_LEN + 4 * acks;
    if acks > 0 {
        at += 8;
    }
    if opcode == P_ACK_V1 {
        return packet.get(at..).map(|rest| (0, rest));
    }
    let id = packet.get(at..at + 4)?;
    let id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    Some((id, &packet[at + 4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_SESSION: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
    const SERVER_SESSION: [u8; 8] = [9, 9, 9, 9, 9, 9, 9, 9];

    /// A control packet of `opcode` (key id 0) from `session`, acknowledging
    /// `acks` of `peer`, with message packet id `id` (none for P_ACK_V1) and
    /// `payload`.
    fn control(opcode: u8, session: [u8; 8], acks: &[u32], id: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![opcode << 3];
        p.extend_from_slice(&session);
        p.push(acks.len() as u8);
        for a in acks {
            p.extend_from_slice(&a.to_be_bytes());
        }
        if !acks.is_empty() {
            let peer = if session == CLIENT_SESSION {
                SERVER_SESSION
            } else {
                CLIENT_SESSION
            };
            p.extend_from_slice(&peer);
        }
        if opcode != P_ACK_V1 {
            p.extend_from_slice(&id.to_be_bytes());
        }
        p.extend_from_slice(payload);
        p
    }

    fn framed(packet: &[u8]) -> Vec<u8> {
        let mut p = (packet.len() as u16).to_be_bytes().to_vec();
        p.extend_from_slice(packet);
        p
    }

    #[test]
    fn detection_takes_the_hard_resets_only() {
        let client = control(P_CONTROL_HARD_RESET_CLIENT_V2, CLIENT_SESSION, &[], 0, &[]);
        let server = control(P_CONTROL_HARD_RESET_SERVER_V2, SERVER_SESSION, &[0], 0, &[]);
        assert_eq!((client.len(), server.len()), (14, 26));
        for p in [&client, &server] {
            assert!(looks_like_openvpn(p, false));
            assert!(looks_like_openvpn(&framed(p), true));
            assert!(!looks_like_openvpn(&framed(p), false));
            assert!(!looks_like_openvpn(p, true));
        }
        // V3; bytes after the server's packet id.
        let v3 = control(P_CONTROL_HARD_RESET_CLIENT_V3, CLIENT_SESSION, &[], 0, &[]);
        assert!(looks_like_openvpn(&v3, false));
        let longer = control(
            P_CONTROL_HARD_RESET_SERVER_V2,
            SERVER_SESSION,
            &[0],
            0,
            &[1; 6],
        );
        assert!(looks_like_openvpn(&longer, false));
        let refused = [
            // A later key id, a message packet id other than 0, an ack in
            // the client's reset, a server reset acking another packet.
            {
                let mut p = client.clone();
                p[0] |= 1;
                p
            },
            control(P_CONTROL_HARD_RESET_CLIENT_V2, CLIENT_SESSION, &[], 1, &[]),
            control(P_CONTROL_HARD_RESET_CLIENT_V2, CLIENT_SESSION, &[0], 0, &[]),
            control(P_CONTROL_HARD_RESET_SERVER_V2, SERVER_SESSION, &[3], 0, &[]),
            // tls-auth: an HMAC (20 bytes), packet id and time after the session.
            {
                let mut p = vec![P_CONTROL_HARD_RESET_CLIENT_V2 << 3];
                p.extend_from_slice(&CLIENT_SESSION);
                p.extend_from_slice(&[0x5a; 28]);
                p.extend_from_slice(&[0, 0, 0, 0, 0]);
                p
            },
            // A data packet, an HTTP request, too long, too short.
            vec![6 << 3; 40],
            b"POST / HTTP/1.1\r\n\r\n".to_vec(),
            control(
                P_CONTROL_HARD_RESET_CLIENT_V2,
                CLIENT_SESSION,
                &[],
                0,
                &[0; 60],
            ),
            client[..13].to_vec(),
            // A client reset with bytes after its packet id (left to the
            // server's reply), and an ONC RPC reply (RFC 5531) whose XID
            // starts with 0x38: zeros after its first 8 bytes.
            control(
                P_CONTROL_HARD_RESET_CLIENT_V2,
                CLIENT_SESSION,
                &[],
                0,
                &[1, 2, 3, 4],
            ),
            {
                let mut p = vec![0x38, 0x43, 0x4f, 0x69, 0, 0, 0, 1];
                p.extend_from_slice(&[0; 20]);
                p
            },
            // Session ids of zeros.
            control(P_CONTROL_HARD_RESET_CLIENT_V2, [0; 8], &[], 0, &[]),
            control(P_CONTROL_HARD_RESET_SERVER_V2, [0; 8], &[0], 0, &[]),
        ];
        for (k, p) in refused.iter().enumerate() {
            assert!(!looks_like_openvpn(p, false), "case {k}");
        }
        assert!(!looks_like_openvpn(&[0, 40, 0x38], true));
    }

    /// A TLS ClientHello record: SNI `vpn.example`, no other extension.
    fn client_hello() -> Vec<u8> {
        let name = b"vpn.example";
        let mut sni = vec![0, 0];
        sni.extend_from_slice(&((name.len() + 5) as u16).to_be_bytes());
        sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        sni.push(0);
        sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sni.extend_from_slice(name);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
        body.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        body.extend_from_slice(&sni);
        let mut hs = vec![1, 0];
        hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
        hs.extend_from_slice(&body);
        let mut record = vec![22, 3, 1];
        record.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        record.extend_from_slice(&hs);
        record
    }

    #[test]
    fn a_hello_cut_over_messages_out_of_order_and_retransmitted() {
        let hello = client_hello();
        let parts: Vec<&[u8]> = hello.chunks(20).collect();
        assert!(parts.len() >= 3);
        let msg = |k: usize| control(P_CONTROL_V1, CLIENT_SESSION, &[], k as u32 + 1, parts[k]);
        for tcp in [false, true] {
            let mut s = OpenVpnState::new(tcp);
            let mut packets = vec![control(
                P_CONTROL_HARD_RESET_CLIENT_V2,
                CLIENT_SESSION,
                &[],
                0,
                &[],
            )];
            // The second message first, then every one in order, the first
            // twice, an ack between them.
            packets.push(msg(1));
            packets.push(control(P_ACK_V1, CLIENT_SESSION, &[0], 0, &[]));
            for k in 0..parts.len() {
                packets.push(msg(k));
            }
            packets.push(msg(0));
            let mut seq = 100;
            for p in &packets {
                if tcp {
                    // Each framed packet cut in two segments.
                    let f = framed(p);
                    let (a, b) = f.split_at(3);
                    for part in [a, b] {
                        s.feed(Side::Client, TcpSegment { seq, syn: false }, part);
                        seq += part.len() as u32;
                    }
                } else {
                    s.feed(Side::Client, TcpSegment::default(), p);
                }
            }
            let summary = s.summary();
            assert_eq!(summary.server_name(), Some("vpn.example"), "tcp {tcp}");
            assert!(summary.ja3().is_some(), "tcp {tcp}");
            assert!(!s.malformed(), "tcp {tcp}");
        }
    }

    #[test]
    fn bounds_and_damage_stop_a_direction() {
        // A message too far ahead.
        let mut s = OpenVpnState::new(false);
        let far = control(P_CONTROL_V1, CLIENT_SESSION, &[], 50, b"x");
        s.feed(Side::Client, TcpSegment::default(), &far);
        assert!(s.off[0]);
        // Messages held ahead of a missing one past the byte bound.
        let mut s = OpenVpnState::new(false);
        let part = vec![0x16; MAX_HELD_BYTES / 3 + 1];
        for id in 2..5 {
            assert!(!s.off[0], "stopped before message {id}");
            let ahead = control(P_CONTROL_V1, CLIENT_SESSION, &[], id, &part);
            s.feed(Side::Client, TcpSegment::default(), &ahead);
        }
        assert!(s.off[0] && s.held_bytes[0] <= MAX_HELD_BYTES);
        // An OpenVPN packet over TCP longer than the bound.
        let mut s = OpenVpnState::new(true);
        let mut big = ((MAX_PACKET_LEN + 1) as u16).to_be_bytes().to_vec();
        big.push(P_CONTROL_V1 << 3);
        s.feed(Side::Server, TcpSegment { seq: 1, syn: false }, &big);
        assert!(s.off[1] && !s.off[0]);
        // A control packet cut before its packet id: malformed.
        let mut s = OpenVpnState::new(false);
        let cut = control(P_CONTROL_V1, CLIENT_SESSION, &[], 1, b"");
        s.feed(Side::Client, TcpSegment::default(), &cut[..12]);
        assert!(s.malformed());
        // Arbitrary bytes never panic.
        let mut s = OpenVpnState::new(true);
        for n in 0..200u32 {
            let bytes: Vec<u8> = (0..n).map(|k| (k * 37 + n) as u8).collect();
            s.feed(
                Side::Client,
                TcpSegment {
                    seq: n * 7,
                    syn: false,
                },
                &bytes,
            );
            let mut u = OpenVpnState::new(false);
            u.feed(Side::Server, TcpSegment::default(), &bytes);
        }
    }
}
