use crate::decode::{AddrBytes, PacketView, Tunnel};

/// Direction of a packet relative to the flow's initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the initiator (`src`) to the responder (`dst`): the `fwd_` columns.
    Forward = 0,
    /// From the responder to the initiator: the `bwd_` columns.
    Backward = 1,
}

impl Direction {
    /// 0 for forward, 1 for backward, for `[T; 2]` per-direction state.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The identity of a flow: two endpoints, the transport protocol, the VLAN and
/// the outermost tunnel kind.
///
/// Bidirectional keys store the endpoints in canonical (sorted) order, so both
/// directions of a conversation find the same key; unidirectional keys store
/// the packet's source first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// Endpoint addresses (IPv4 in the first four bytes).
    pub addr: [AddrBytes; 2],
    /// Endpoint ports (0 for protocols without ports).
    pub port: [u16; 2],
    /// IP protocol number.
    pub protocol: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// Outermost VLAN id, 0 when untagged.
    pub vlan_id: u16,
    /// Outermost encapsulation the packets were taken out of, so that a
    /// conversation seen both inside a tunnel and outside it (a mirror session,
    /// a tunnel endpoint's capture) makes two flows rather than one counted twice.
    pub tunnel: Tunnel,
}

impl FlowKey {
    /// The key of `packet`, and which key endpoint (0 or 1) is its source.
    #[inline]
    pub fn of_packet(packet: &PacketView<'_>, bidirectional: bool) -> (FlowKey, u8) {
        let src = (packet.src_addr, packet.src_port);
        let dst = (packet.dst_addr, packet.dst_port);
        // Big-endian integers order as their bytes do: the same comparison as
        // on the arrays, without a `memcmp` call.
        let order = |(addr, port): ([u8; 16], u16)| (u128::from_be_bytes(addr), port);
        let swap = bidirectional && order(dst) < order(src);
        let (a, b) = if swap { (dst, src) } else { (src, dst) };
        let key = FlowKey {
            addr: [a.0, b.0],
            port: [a.1, b.1],
            protocol: packet.protocol,
            ip_version: packet.ip_version,
            vlan_id: packet.vlan_id,
            tunnel: packet.tunnel,
        };
        (key, u8::from(swap))
    }
}

impl std::hash::Hash for FlowKey {
    /// Three words instead of the derived field-by-field writes (the arrays
    /// were hashed as slices, each with a length prefix): one hash per packet.
    /// It reads every field, so equal keys hash alike.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(u128::from_ne_bytes(self.addr[0]));
        state.write_u128(u128::from_ne_bytes(self.addr[1]));
        state.write_u64(
            u64::from(self.port[0])
                | u64::from(self.port[1]) << 16
                | u64::from(self.protocol) << 32
                | u64::from(self.ip_version & 0x0f) << 40
                | u64::from(self.tunnel as u8) << 44
                | u64::from(self.vlan_id) << 48,
        );
    }
}
