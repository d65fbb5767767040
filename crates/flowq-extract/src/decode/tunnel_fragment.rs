//! Tunnel packets in outer IP fragments (GTP-U, VXLAN, Geneve, GRE,
//! IP-in-IP, ... whose outer datagram was too large for a link on the way).
//!
//! Only the first fragment carries the tunnel's header and the header of the
//! packet inside. That fragment is taken out of its tunnel as far as its
//! bytes go, and becomes the first fragment of the packet inside; the later
//! fragments of the same outer datagram are lent what the first one showed
//! (addresses, ports, protocol, tunnel) and become the packet inside's later
//! fragments, their bytes placed at their offset in its transport. So every
//! record still counts once, in the inner flow, with its own length, as the
//! fragments of an untunnelled datagram count in its flow ([`FragmentTracker`]
//! lends ports), and the application parsers put the inner segment or
//! datagram together from them as from any fragments.
//!
//! Nothing is copied or held: the views keep borrowing the records' bytes.
//! The table of first fragments is bounded as the fragment tracker's is.
//! Fragments that arrive before their first fragment stay packets of the
//! outer flow (the fragment tracker counts them as orphans).
//!
//! [`FragmentTracker`]: super::FragmentTracker

use super::fragment::{DatagramKey, Datagrams};
use super::{
    AddrBytes, FragmentInfo, MAX_TUNNELS, PacketView, TransportState, Tunnel, Tunnels,
    frame_fields, offset_of, packet_inside,
};

/// What the first fragment of a tunnelled datagram showed of the packet
/// inside, for the later fragments.
#[derive(Debug, Clone, Copy)]
struct Inside {
    ip_version: u8,
    src_addr: AddrBytes,
    dst_addr: AddrBytes,
    protocol: u8,
    src_port: u16,
    dst_port: u16,
    ttl: u8,
    dscp: u8,
    tunnel: Tunnel,
    /// Where the inner transport header starts in the outer datagram's IP
    /// payload (bytes).
    transport_start: usize,
    /// The inner transport's length (header and payload) as the inner IP
    /// header declares it: bytes of the outer datagram past it are not the
    /// inner packet's.
    transport_len: usize,
}

/// Lends the packet inside a fragmented tunnel datagram to its fragments
/// (see the module's documentation).
#[derive(Debug)]
pub struct TunnelFragments {
    tunnels: Tunnels,
    inside: Datagrams<Inside>,
}

impl TunnelFragments {
    /// A table for the encapsulations in `tunnels` (none: nothing is lent).
    pub fn new(tunnels: Tunnels) -> Self {
        TunnelFragments {
            tunnels,
            inside: Datagrams::default(),
        }
    }

    /// Makes `view`, an outer IP fragment with its transport bytes (after the
    /// fragment tracker), a fragment of the packet inside its tunnel, when
    /// its datagram's first fragment showed one. `clock` is the extraction
    /// clock (ns). Views that are not fragments are left as they are: that
    /// check alone is inlined.
    #[inline]
    pub fn observe<'a>(&mut self, view: &mut PacketView<'a>, clock: i64) {
        if view.fragment.is_some() && !self.tunnels.is_empty() {
            self.observe_fragment(view, clock);
        }
    }

    #[inline(never)]
    fn observe_fragment<'a>(&mut self, view: &mut PacketView<'a>, clock: i64) {
        let (Some(frag), Some(key)) = (view.fragment, DatagramKey::of(view)) else {
            return;
        };
        if frag.byte_offset == 0 {
            match first_fragment_inside(view, self.tunnels) {
                Some((inner, inside)) => {
                    self.inside.remember(key, inside, clock);
                    *view = inner;
                }
                None => self.inside.forget(&key),
            }
        } else if let Some(inside) = self.inside.get(&key, clock) {
            *view = later_fragment_inside(view, frag, inside);
        }
    }

    /// Datagrams whose first fragment is remembered now.
    pub fn datagrams(&self) -> usize {
        self.inside.len()
    }
}

/// The packet inside the tunnel of `outer`, a first fragment, as far as the
/// fragment's bytes go, made the first fragment of that packet; and what
/// later fragments need of it. `None` when no tunnel opens, or the packet
/// inside is itself a fragment or its transport header is not all there.
fn first_fragment_inside<'a>(
    outer: &PacketView<'a>,
    tunnels: Tunnels,
) -> Option<(PacketView<'a>, Inside)> {
    let frag = outer.fragment?;
    // The outer datagram's IP payload present here: the fragment's.
    let datagram = outer.transport;
    let mut view = *outer;
    let mut opened = false;
    for _ in 0..MAX_TUNNELS {
        // The first pass is the outer fragment itself; after it, a packet
        // inside that is a fragment is not followed (its own fragments
        // would need its own datagram's).
        if opened && view.fragment.is_some() {
            break;
        }
        match packet_inside(&view, datagram, tunnels, || frame_fields(&view)) {
            Some(inner) => view = inner,
            None => break,
        }
        opened = true;
    }
    if !opened || view.fragment.is_some() || view.transport_state != TransportState::Complete {
        return None;
    }
    let transport_start = offset_of(datagram, view.transport);
    let header_len = usize::from(view.l4_header_len);
    let transport_len = header_len + view.l4_payload_len as usize;
    // The payload this fragment carries, not the whole packet's: the later
    // fragments carry the rest (and count it). As for any packet, what it
    // carries on the wire (its IP length), captured or not.
    let outer_payload = usize::from(outer.l4_header_len) + outer.l4_payload_len as usize;
    let on_wire = outer_payload
        .saturating_sub(transport_start)
        .min(transport_len);
    view.l4_payload_len = on_wire.saturating_sub(header_len) as u32;
    view.transport = &view.transport[..view.transport.len().min(on_wire)];
    // A first fragment that holds all of the packet inside leaves it whole
    // (the later ones carry only bytes past it).
    view.fragment = (on_wire < transport_len).then_some(FragmentInfo {
        id: frag.id,
        byte_offset: 0,
        more: true,
    });
    view.trailer_len = outer.trailer_len;
    let inside = Inside {
        ip_version: view.ip_version,
        src_addr: view.src_addr,
        dst_addr: view.dst_addr,
        protocol: view.protocol,
        src_port: view.src_port,
        dst_port: view.dst_port,
        ttl: view.ttl,
        dscp: view.dscp,
        tunnel: view.tunnel,
        transport_start,
        transport_len,
    };
    Some((view, inside))
}

/// `outer`, a later fragment of a tunnelled datagram, as a later fragment of
/// the packet inside: its bytes at their offset in that packet's transport
/// (none past the packet's end, nor before its transport: a fragment that
/// ends before it carries none of it). Its payload is what it carries on the
/// wire (its IP length), its bytes what was captured of that.
fn later_fragment_inside<'a>(
    outer: &PacketView<'a>,
    frag: FragmentInfo,
    inside: &Inside,
) -> PacketView<'a> {
    let at = usize::from(frag.byte_offset);
    // Bytes of this fragment before the inner transport starts (when the
    // first fragment ended inside the headers; it then did not open).
    let skip = inside.transport_start.saturating_sub(at);
    let start = at.saturating_sub(inside.transport_start);
    let room = inside.transport_len.saturating_sub(start);
    let on_wire = (outer.l4_payload_len as usize)
        .saturating_sub(skip)
        .min(room);
    let bytes = &outer.transport[skip.min(outer.transport.len())..];
    let bytes = &bytes[..bytes.len().min(on_wire)];
    let mut view = frame_fields(outer);
    view.ip_version = inside.ip_version;
    view.src_addr = inside.src_addr;
    view.dst_addr = inside.dst_addr;
    view.protocol = inside.protocol;
    view.src_port = inside.src_port;
    view.dst_port = inside.dst_port;
    view.ttl = inside.ttl;
    view.dscp = inside.dscp;
    view.tunnel = inside.tunnel;
    view.ip_header_len = outer.ip_header_len;
    view.l4_payload_len = on_wire as u32;
    view.transport = bytes;
    view.transport_state = TransportState::LaterFragment;
    view.trailer_len = outer.trailer_len;
    view.fragment = Some(FragmentInfo {
        id: frag.id,
        // Below 65 536: the inner transport is inside a datagram of at most
        // 65 535 bytes.
        byte_offset: u16::try_from(start).unwrap_or(u16::MAX),
        more: frag.more && start + on_wire < inside.transport_len,
    });
    view
}

#[cfg(test)]
mod tests {
    use super::super::frames::{ethernet, ipv4, ipv6, udp};
    use super::super::{FragmentInfo, PacketView, TransportState, Tunnel, Tunnels, decode};
    use super::TunnelFragments;
    use crate::capture::RawPacket;

    const INNER_SRC: [u8; 4] = [10, 0, 0, 1];
    const INNER_DST: [u8; 4] = [10, 0, 0, 2];

    /// A GTP-U datagram (outer UDP 2152) carrying UDP 10.0.0.1:1000 ->
    /// 10.0.0.2:53 with `payload`, and `padding` bytes after the inner packet
    /// (the outer datagram's, not the inner packet's): the outer IP payload.
    fn gtp_datagram(payload: &[u8], padding: usize) -> Vec<u8> {
        let inner = ipv4(17, INNER_SRC, INNER_DST, &udp(1000, 53, payload));
        let mut gtp = vec![0x30, 0xff];
        gtp.extend_from_slice(&(inner.len() as u16).to_be_bytes());
        gtp.extend_from_slice(&[0, 0, 0, 7]);
        gtp.extend_from_slice(&inner);
        gtp.extend(std::iter::repeat_n(0xee, padding));
        udp(2152, 2152, &gtp)
    }

    /// The outer IPv4 fragment of `datagram` from `at` to `end` (identification `id`).
    fn fragment(datagram: &[u8], id: u16, at: usize, end: usize) -> Vec<u8> {
        let mut ip = ipv4(17, [192, 0, 2, 1], [192, 0, 2, 2], &datagram[at..end]);
        ip[4..6].copy_from_slice(&id.to_be_bytes());
        let more = if end < datagram.len() { 0x2000 } else { 0 };
        ip[6..8].copy_from_slice(&(more | (at / 8) as u16).to_be_bytes());
        ethernet(0x0800, &ip)
    }

    /// Decodes `frame` with `lend`'s tunnels and passes it through `lend`, as
    /// the stream does.
    fn lent<'a>(lend: &mut TunnelFragments, frame: &'a [u8]) -> PacketView<'a> {
        lent_cut(lend, frame, frame.len())
    }

    /// [`lent`] of a frame of `wire_len` bytes of which `frame` was captured.
    fn lent_cut<'a>(
        lend: &mut TunnelFragments,
        frame: &'a [u8],
        wire_len: usize,
    ) -> PacketView<'a> {
        let raw = RawPacket {
            ts_ns: 1,
            wire_len: wire_len as u32,
            data: frame,
            linktype: 1,
            interface: 0,
        };
        let mut view = decode(&raw, lend.tunnels).unwrap();
        lend.observe(&mut view, 1);
        view
    }

    fn assert_inner(view: &PacketView<'_>) {
        assert_eq!(view.tunnel, Tunnel::GtpU);
        assert_eq!(
            (&view.src_addr[..4], &view.dst_addr[..4]),
            (&INNER_SRC[..], &INNER_DST[..])
        );
        assert_eq!(
            (view.protocol, view.src_port, view.dst_port),
            (17, 1000, 53)
        );
    }

    /// Three fragments: the first taken out of the tunnel, the others lent
    /// the packet inside, their bytes at their offsets in its transport (the
    /// outer datagram's bytes before it and past its end left out).
    #[test]
    fn fragments_of_a_gtp_u_datagram_become_the_inner_packets() {
        let payload: Vec<u8> = (0..200u8).collect();
        let datagram = gtp_datagram(&payload, 8);
        // Outer UDP 8 + GTP-U 8 + inner IPv4 20: the inner UDP header starts
        // at byte 36 of the outer IP payload, and its 208 bytes end at 244.
        assert_eq!(datagram.len(), 252);
        let frames = [
            fragment(&datagram, 5, 0, 64),
            fragment(&datagram, 5, 64, 128),
            fragment(&datagram, 5, 128, 252),
        ];
        let mut lend = TunnelFragments::new(Tunnels::ALL);
        let first = lent(&mut lend, &frames[0]);
        assert_inner(&first);
        assert_eq!(
            first.fragment,
            Some(FragmentInfo {
                id: 5,
                byte_offset: 0,
                more: true
            })
        );
        assert_eq!(first.transport_state, TransportState::Complete);
        assert_eq!((first.l4_header_len, first.l4_payload_len), (8, 20));
        assert_eq!(&first.transport[8..], &payload[..20]);
        assert_eq!(first.wire_len as usize, frames[0].len());
        let middle = lent(&mut lend, &frames[1]);
        assert_inner(&middle);
        assert_eq!(
            middle.fragment,
            Some(FragmentInfo {
                id: 5,
                byte_offset: 28,
                more: true
            })
        );
        assert_eq!(middle.transport_state, TransportState::LaterFragment);
        assert_eq!((middle.l4_header_len, middle.l4_payload_len), (0, 64));
        assert_eq!(middle.transport, &payload[20..84]);
        let last = lent(&mut lend, &frames[2]);
        assert_inner(&last);
        assert_eq!(
            last.fragment,
            Some(FragmentInfo {
                id: 5,
                byte_offset: 92,
                more: false
            })
        );
        // 124 bytes of the outer datagram, 116 of them the inner packet's.
        assert_eq!(last.l4_payload_len, 116);
        assert_eq!(last.transport, &payload[84..]);
        assert_eq!(last.wire_len as usize, frames[2].len());
        assert_eq!(lend.datagrams(), 1);
    }

    /// The outer datagram in IPv6 fragments (a fragment header): the same
    /// lending, keyed on the IPv6 identification.
    #[test]
    fn fragments_of_an_ipv6_outer_datagram() {
        let payload: Vec<u8> = (0..100u8).collect();
        let datagram = gtp_datagram(&payload, 0);
        let fragment6 = |at: usize, end: usize| {
            let more = u16::from(end < datagram.len());
            let mut body = vec![17, 0];
            body.extend_from_slice(&(at as u16 | more).to_be_bytes());
            body.extend_from_slice(&0x0bad_cafe_u32.to_be_bytes());
            body.extend_from_slice(&datagram[at..end]);
            ethernet(0x86dd, &ipv6(44, 1, 2, &body))
        };
        let frames = [fragment6(0, 48), fragment6(48, datagram.len())];
        let mut lend = TunnelFragments::new(Tunnels::ALL);
        let first = lent(&mut lend, &frames[0]);
        assert_inner(&first);
        // 48 bytes of the outer datagram: 36 of headers, the inner UDP
        // header, 4 bytes of payload.
        assert_eq!((first.l4_header_len, first.l4_payload_len), (8, 4));
        let last = lent(&mut lend, &frames[1]);
        assert_inner(&last);
        assert_eq!(
            last.fragment,
            Some(FragmentInfo {
                id: 0x0bad_cafe,
                byte_offset: 12,
                more: false
            })
        );
        assert_eq!(last.l4_payload_len, 96);
        assert_eq!(last.transport, &payload[4..]);
    }

    /// What is not opened: a first fragment that ends inside the inner
    /// transport header, a later fragment without its first one, any
    /// fragment when no tunnel is decoded, and a datagram whose packet inside
    /// is itself a fragment. They stay the outer UDP fragments.
    #[test]
    fn fragments_that_stay_outside() {
        let datagram = gtp_datagram(&[1; 100], 0);
        let outer = |view: &PacketView<'_>| {
            assert_eq!(view.tunnel, Tunnel::None);
            assert_eq!(
                (&view.src_addr[..4], view.protocol),
                (&[192, 0, 2, 1][..], 17)
            );
        };
        let mut lend = TunnelFragments::new(Tunnels::ALL);
        // The inner UDP header would end at byte 44.
        let cut = [
            fragment(&datagram, 6, 0, 40),
            fragment(&datagram, 6, 40, 144),
        ];
        outer(&lent(&mut lend, &cut[0]));
        outer(&lent(&mut lend, &cut[1]));
        assert_eq!(lend.datagrams(), 0);
        let orphan = fragment(&datagram, 7, 64, 144);
        outer(&lent(&mut lend, &orphan));
        let mut none = TunnelFragments::new(Tunnels::NONE);
        let whole = [
            fragment(&datagram, 8, 0, 64),
            fragment(&datagram, 8, 64, 144),
        ];
        for frame in &whole {
            outer(&lent(&mut none, frame));
        }
        // A packet inside that is itself a fragment (its IPv4 more-fragments
        // flag, at byte 6 of the inner header after UDP and GTP-U's 16).
        let mut fragmented_inside = datagram.clone();
        fragmented_inside[16 + 6] = 0x20;
        let inner_fragment = [
            fragment(&fragmented_inside, 9, 0, 64),
            fragment(&fragmented_inside, 9, 64, 144),
        ];
        for frame in &inner_fragment {
            outer(&lent(&mut lend, frame));
        }
        // A first fragment seen again that no longer opens forgets its
        // datagram: its later fragments are not lent an old packet inside.
        assert_inner(&lent(&mut lend, &whole[0]));
        assert_eq!(lend.datagrams(), 1);
        outer(&lent(&mut lend, &fragment(&datagram, 8, 0, 40)));
        assert_eq!(lend.datagrams(), 0);
        outer(&lent(&mut lend, &whole[1]));
    }

    /// Datagrams of every length cut at random 8-byte boundaries, their
    /// fragments in random order, some repeated, some cut by a snap length:
    /// nothing panics, a lent view's bytes are its record's and its payload
    /// is at most its record's length; and when the first fragment comes
    /// first and every other once, uncut, the fragments' payloads add up to
    /// the inner packet's.
    #[test]
    fn random_fragment_sequences_keep_the_invariants() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for id in 0..3000u16 {
            let payload: Vec<u8> = (0..next(700)).map(|i| i as u8).collect();
            let datagram = gtp_datagram(&payload, next(3) * 8);
            let mut cuts = vec![0, datagram.len()];
            for _ in 0..next(6) {
                cuts.push(next(datagram.len() / 8 + 1) * 8);
            }
            cuts.sort_unstable();
            cuts.dedup();
            // Each frame with its length on the wire.
            let mut frames: Vec<(Vec<u8>, usize)> = cuts
                .windows(2)
                .map(|w| fragment(&datagram, id, w[0], w[1]))
                .map(|f| {
                    let len = f.len();
                    (f, len)
                })
                .collect();
            let whole = frames.len() > 1 && next(2) == 0;
            if !whole {
                for _ in 0..next(3) {
                    let i = next(frames.len());
                    let repeated = frames[i].clone();
                    frames.insert(next(frames.len() + 1), repeated);
                }
                for (frame, _) in frames.iter_mut() {
                    if next(4) == 0 {
                        frame.truncate(14 + 20 + next(frame.len() - 33));
                    }
                }
                for i in (1..frames.len()).rev() {
                    frames.swap(i, next(i + 1));
                }
            }
            let mut lend = TunnelFragments::new(Tunnels::ALL);
            let mut payload_sum = 0usize;
            for (frame, wire_len) in &frames {
                let view = lent_cut(&mut lend, frame, *wire_len);
                let (start, end) = (
                    frame.as_ptr() as usize,
                    frame.as_ptr() as usize + frame.len(),
                );
                let at = view.transport.as_ptr() as usize;
                assert!(
                    view.transport.is_empty() || (at >= start && at + view.transport.len() <= end)
                );
                if view.tunnel == Tunnel::GtpU {
                    assert!(view.l4_payload_len as usize <= *wire_len, "{view:?}");
                    payload_sum += view.l4_payload_len as usize;
                }
            }
            if whole && frames.len() > 1 && 8 + 8 + 20 + 8 <= cuts[1] {
                assert_eq!(payload_sum, payload.len(), "cuts {cuts:?}");
            }
        }
    }
}
