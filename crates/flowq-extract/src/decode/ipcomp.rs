//! IPComp (IP Payload Compression, RFC 3173, IP protocol 108): the payload
//! after the 4-byte IPComp header is compressed, so the packet inside cannot
//! be read in place. [`open`] inflates it into an [`Inflater`]'s buffer, owned
//! by the caller, and describes the packet by what it holds; every other part
//! of the decoder borrows the captured frame.
//!
//! The compression algorithm is named by the CPI, which for every value but
//! the well-known ones (below 64) is negotiated (IKE) and not in the capture;
//! DEFLATE (RFC 2394, raw RFC 1951 data) is the one every implementation
//! must support (RFC 3173 §2.2), so that is what is tried, unless the CPI is
//! a well-known one other than DEFLATE's (2): OUI (1), LZS (3), LZJH (4)
//! (IANA's IPCOMP transform identifiers), which is not opened. A payload that does not inflate
//! to the end of a DEFLATE stream within [`MAX_INFLATED_BYTES`] (another
//! algorithm, damaged or cut off by the snap length) leaves the packet as it
//! was, the IPComp packet of its outer flow, and is counted
//! ([`Inflater::failed`], the summary's `ipcomp_not_inflated`).
//!
//! IPComp is a transform of the IP payload, not an encapsulation of its own:
//! RFC 3173 §2.2 sends a packet uncompressed when compression would not make
//! it smaller, so one connection's packets come both ways. The inflated packet
//! is described as the uncompressed one would be: in tunnel mode (next header
//! 4 or 41, an IP packet inside) it is IP-in-IP (`tunnel` = `ipip`, unless an
//! outer encapsulation already names it), in transport mode (any other next
//! header) the transport of the same IP header (`tunnel` unchanged), so that
//! compressed and uncompressed packets of a connection are one flow.

use super::{PacketView, TransportState, Tunnel};
use flate2::{Decompress, FlushDecompress, Status};

/// IP protocol number of IPComp.
pub(super) const IPPROTO_IPCOMP: u8 = 108;
const IPPROTO_IPIP: u8 = 4;
const IPPROTO_IPV6: u8 = 41;
/// Size of the IPComp header: next header, flags, CPI.
const HEADER_LEN: usize = 4;
/// The well-known CPI of DEFLATE; CPIs below [`FIRST_NEGOTIATED_CPI`] name
/// their algorithm.
const CPI_DEFLATE: u16 = 2;
const FIRST_NEGOTIATED_CPI: u16 = 64;

/// The largest payload an IPComp packet can inflate to: an IP datagram's
/// largest size (IPv4's total length and IPv6's payload length are 16 bits;
/// RFC 3173 §3.3 compresses a datagram's payload, so the original fitted in
/// one). A stream that inflates to more is not opened.
pub const MAX_INFLATED_BYTES: usize = 65_535;

/// The buffer an IPComp payload is inflated into, and the inflater, both kept
/// for the next packet (no allocation per packet after the first), with the
/// count of payloads that did not inflate.
#[derive(Default)]
pub struct Inflater {
    buffer: Vec<u8>,
    state: Option<Box<Decompress>>,
    /// IPComp payloads that did not inflate (the packets stayed as they were).
    pub failed: u64,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// Inflates a raw DEFLATE stream into the buffer: the bytes, or `None`
    /// when the stream does not end within [`MAX_INFLATED_BYTES`] or is
    /// invalid.
    fn inflate(&mut self, compressed: &[u8]) -> Option<usize> {
        // One byte more than the bound: a stream that fills it is too large.
        self.buffer.resize(MAX_INFLATED_BYTES + 1, 0);
        let state = self
            .state
            .get_or_insert_with(|| Box::new(Decompress::new(false)));
        state.reset(false);
        let status = state.decompress(compressed, &mut self.buffer, FlushDecompress::Finish);
        let len = usize::try_from(state.total_out()).ok()?;
        (matches!(status, Ok(Status::StreamEnd)) && len <= MAX_INFLATED_BYTES).then_some(len)
    }
}

/// Whether [`open`] has something to do with this packet: an IPComp payload,
/// whole (not a fragment), whose header was read.
#[inline]
pub(super) fn candidate(view: &PacketView<'_>) -> bool {
    view.protocol == IPPROTO_IPCOMP
        && view.fragment.is_none()
        && view.transport_state == TransportState::Complete
}

/// The packet inside an IPComp payload ([`candidate`]), inflated into
/// `inflater`'s buffer, or `view` as it was (a failure counted) when the
/// payload does not inflate or its next header does not describe what it
/// holds (an IP packet of the wrong version, a transport header cut off).
pub(super) fn open<'a>(view: PacketView<'a>, inflater: &'a mut Inflater) -> PacketView<'a> {
    let Some(header) = view.transport.get(..HEADER_LEN) else {
        inflater.failed += 1;
        return view;
    };
    let next = header[0];
    let cpi = u16::from_be_bytes([header[2], header[3]]);
    if cpi < FIRST_NEGOTIATED_CPI && cpi != CPI_DEFLATE {
        inflater.failed += 1;
        return view;
    }
    // The IPComp payload as the IP header declares it (captured bytes past
    // it are a trailer).
    let end = (view.l4_payload_len as usize).min(view.transport.len());
    let compressed = view.transport.get(HEADER_LEN..end).unwrap_or_default();
    let Some(len) = inflater.inflate(compressed) else {
        inflater.failed += 1;
        return view;
    };
    let Inflater { buffer, failed, .. } = inflater;
    let buffer: &'a Vec<u8> = buffer;
    let bytes = &buffer[..len];
    let inner = match next {
        IPPROTO_IPIP | IPPROTO_IPV6 => tunnel_mode(&view, next, bytes),
        _ => Some(transport_mode(&view, next, bytes)),
    };
    match inner {
        Some(inner) => inner,
        None => {
            *failed += 1;
            view
        }
    }
}

/// Tunnel mode: `bytes` is an IP packet whose version must match `next`.
fn tunnel_mode<'a>(outer: &PacketView<'a>, next: u8, bytes: &'a [u8]) -> Option<PacketView<'a>> {
    let version = if next == IPPROTO_IPIP { 4 } else { 6 };
    if bytes.first()? >> 4 != version {
        return None;
    }
    let mut inner = super::frame_fields(outer);
    super::ip_packet(&mut inner, bytes, bytes).ok()?;
    // Inflated bytes past the inner packet's end, and the frame's own trailer.
    inner.trailer_len = inner.trailer_len.saturating_add(outer.trailer_len);
    inner.tunnel = if outer.tunnel == Tunnel::None {
        Tunnel::IpInIp
    } else {
        outer.tunnel
    };
    Some(inner)
}

/// Transport mode: `bytes` is the transport (protocol `next`) of the outer IP
/// header.
fn transport_mode<'a>(outer: &PacketView<'a>, next: u8, bytes: &'a [u8]) -> PacketView<'a> {
    let mut inner = *outer;
    inner.protocol = next;
    inner.transport = bytes;
    inner.transport_state = TransportState::Complete;
    inner.tcp = None;
    inner.icmp = None;
    super::transport::decode(&mut inner, bytes.len());
    inner
}

#[cfg(test)]
mod tests {
    use super::super::frames::{ethernet, ipv4, ipv6, udp};
    use super::super::{Tunnels, decode_into};
    use super::*;
    use crate::capture::RawPacket;
    use flate2::{Compress, Compression, FlushCompress};

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(bytes.len() + 64);
        c.compress_vec(bytes, &mut out, FlushCompress::Finish)
            .unwrap();
        out
    }

    /// An IPComp header (CPI 2, DEFLATE) and the compressed `payload`.
    fn ipcomp(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![next, 0, 0, 2];
        p.extend_from_slice(&deflate(payload));
        p
    }

    fn run<'a>(frame: &'a [u8], inflater: &'a mut Inflater) -> PacketView<'a> {
        let raw = RawPacket {
            ts_ns: 1,
            wire_len: frame.len() as u32,
            data: frame,
            linktype: 1,
            interface: 0,
        };
        // The view borrows the frame and the inflater only.
        let raw: RawPacket<'a> = raw;
        decode_into(&raw, Tunnels::ALL, inflater).unwrap()
    }

    const OUTER_A: [u8; 4] = [192, 0, 2, 1];
    const OUTER_B: [u8; 4] = [192, 0, 2, 2];

    #[test]
    fn tunnel_mode_is_the_inner_packet_as_ip_in_ip() {
        // A compressible payload, so that the IPComp packet is smaller.
        let query = [b'a'; 300];
        let inner = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1000, 53, &query));
        let frame = ethernet(0x0800, &ipv4(108, OUTER_A, OUTER_B, &ipcomp(4, &inner)));
        assert!(frame.len() < inner.len());
        let mut inflater = Inflater::default();
        let v = run(&frame, &mut inflater);
        assert_eq!(v.tunnel, Tunnel::IpInIp);
        assert_eq!(&v.src_addr[..4], &[10, 0, 0, 1]);
        assert_eq!((v.protocol, v.src_port, v.dst_port), (17, 1000, 53));
        assert_eq!((v.ip_header_len, v.l4_header_len), (20, 8));
        assert_eq!(v.l4_payload_len, 300);
        assert_eq!(&v.transport[8..], &query[..]);
        // The frame's lengths and link fields stay.
        assert_eq!(v.cap_len as usize, frame.len());
        assert_eq!(v.mac[0], [2, 0, 0, 0, 0, 1]);
        assert_eq!(inflater.failed, 0);
        // IPv6 inside IPv6.
        // A TCP SYN 5000 -> 80, sequence number 9, 20-byte header.
        let mut syn = [0u8; 20];
        syn[..4].copy_from_slice(&[0x13, 0x88, 0, 80]);
        syn[7] = 9;
        syn[12] = 0x50;
        syn[13] = 0x02;
        let inner6 = ipv6(6, 1, 2, &syn);
        let frame = ethernet(0x86dd, &ipv6(108, 9, 8, &ipcomp(41, &inner6)));
        let v = run(&frame, &mut inflater);
        assert_eq!(
            (v.ip_version, v.protocol, v.src_port, v.dst_port, v.tunnel),
            (6, 6, 5000, 80, Tunnel::IpInIp)
        );
        assert_eq!(v.tcp.map(|t| t.seq), Some(9));
    }

    #[test]
    fn transport_mode_is_the_outer_header_with_the_inflated_transport() {
        let datagram = udp(5000, 53, &[b'q'; 200]);
        let frame = ethernet(0x0800, &ipv4(108, OUTER_A, OUTER_B, &ipcomp(17, &datagram)));
        let mut inflater = Inflater::default();
        let v = run(&frame, &mut inflater);
        assert_eq!(v.tunnel, Tunnel::None);
        assert_eq!(&v.src_addr[..4], &OUTER_A);
        assert_eq!((v.protocol, v.src_port, v.dst_port), (17, 5000, 53));
        assert_eq!((v.l4_header_len, v.l4_payload_len), (8, 200));
        assert_eq!(v.ip_header_len, 20);
    }

    #[test]
    fn what_does_not_inflate_stays_the_ipcomp_packet_and_is_counted() {
        let inner = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1000, 53, &[7; 100]));
        let good = ipcomp(4, &inner);
        let mut inflater = Inflater::default();
        let mut cases: Vec<Vec<u8>> = vec![
            // Not DEFLATE (garbage under a negotiated CPI).
            vec![4, 0, 0x12, 0x34, 0xff, 0xff, 0xff, 0xff],
            // A DEFLATE stream under LZS's well-known CPI (3): not tried.
            {
                let mut p = good.clone();
                p[3] = 3;
                p
            },
            // Cut off before the stream's end.
            good[..good.len() - 3].to_vec(),
            // Next header 41 but an IPv4 packet inside.
            {
                let mut p = good.clone();
                p[0] = 41;
                p
            },
            // No payload at all.
            vec![4, 0, 0, 2],
        ];
        // A stream that inflates past the bound: 70 000 zero bytes.
        cases.push({
            let mut p = vec![4, 0, 0, 2];
            p.extend_from_slice(&deflate(&vec![0; MAX_INFLATED_BYTES + 1]));
            p
        });
        for (i, payload) in cases.iter().enumerate() {
            let frame = ethernet(0x0800, &ipv4(108, OUTER_A, OUTER_B, payload));
            let v = run(&frame, &mut inflater);
            assert_eq!((v.protocol, v.tunnel), (108, Tunnel::None), "case {i}");
            assert_eq!(&v.src_addr[..4], &OUTER_A, "case {i}");
            assert_eq!(inflater.failed, i as u64 + 1, "case {i}");
        }
        // Not opened when tunnels are not decoded, and not counted.
        let frame = ethernet(0x0800, &ipv4(108, OUTER_A, OUTER_B, &good));
        let raw = RawPacket {
            ts_ns: 1,
            wire_len: frame.len() as u32,
            data: &frame,
            linktype: 1,
            interface: 0,
        };
        let mut fresh = Inflater::default();
        let v = decode_into(&raw, Tunnels::NONE, &mut fresh).unwrap();
        assert_eq!((v.protocol, fresh.failed), (108, 0));
        let v = decode_into(&raw, Tunnels::NFSTREAM, &mut fresh).unwrap();
        assert_eq!((v.protocol, fresh.failed), (108, 0));
    }
}
