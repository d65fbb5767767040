use crate::decode::{AddrBytes, PacketView, Tunnel};

/// Direction of a packet relative to the flow's initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the initiator (`src`) to the responder (`dst`): the `fwd_` columns.
    Forward = 0,
    /// From the responder to the initiator: the `bwd_` columns.
    Backward = 1,
}

impl Direction {
    /// Both directions, forward first.
    pub const ALL: [Direction; 2] = [Direction::Forward, Direction::Backward];

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

impl FlowKey {
    /// A hash of the key that is part of flowq's output contract: it places
    /// flows in eviction partitions (and so in shards), which shows in the
    /// output once `--max-flows` is reached. It must not change between
    /// versions or machines, so it is written out here rather than borrowed
    /// from a hasher whose output is not promised to be stable.
    ///
    /// The key as five little-endian 64-bit words (each address as two words,
    /// then ports, protocol, IP version, tunnel and VLAN packed as in
    /// `docs/flows.md`), each folded in as `h = (h ^ w) * K; h ^= h >> 29`
    /// with `K` = 0x9E3779B97F4A7C15 from the seed 0x666C6F77715F7031, then
    /// the SplitMix64 finaliser. Keys are attacker-chosen, and an attacker can
    /// crowd one partition: that partition then evicts its own flows, while
    /// the other partitions' flows are untouched.
    #[inline]
    pub fn stable_hash(&self) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let word = |b: &[u8; 16], half: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[half * 8..half * 8 + 8]);
            u64::from_le_bytes(w)
        };
        let words = [
            word(&self.addr[0], 0),
            word(&self.addr[0], 1),
            word(&self.addr[1], 0),
            word(&self.addr[1], 1),
            self.packed_fields(),
        ];
        let mut h: u64 = 0x666C_6F77_715F_7031;
        for w in words {
            h = (h ^ w).wrapping_mul(K);
            h ^= h >> 29;
        }
        // SplitMix64's finaliser: every input bit reaches every output bit.
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^ (h >> 31)
    }

    /// Ports, protocol, IP version, tunnel kind and VLAN in one word.
    #[inline]
    fn packed_fields(&self) -> u64 {
        u64::from(self.port[0])
            | u64::from(self.port[1]) << 16
            | u64::from(self.protocol) << 32
            | u64::from(self.ip_version & 0x0f) << 40
            | u64::from(self.tunnel as u8) << 44
            | u64::from(self.vlan_id) << 48
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
        state.write_u64(self.packed_fields());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> AddrBytes {
        let mut bytes = [0; 16];
        bytes[..4].copy_from_slice(&a);
        bytes
    }

    /// The stable hash is part of the output contract (it places flows in
    /// eviction partitions). The expected values were computed by an
    /// independent Python transcription of the algorithm in the doc comment
    /// (`bench/stable_hash.py`), not by this code.
    #[test]
    fn stable_hash_matches_the_documented_algorithm() {
        let key = FlowKey {
            addr: [v4([10, 0, 0, 1]), v4([192, 168, 0, 1])],
            port: [1024, 80],
            protocol: 6,
            ip_version: 4,
            vlan_id: 0,
            tunnel: Tunnel::None,
        };
        assert_eq!(key.stable_hash(), 0xd0ec_1b39_2dea_cf6e);
        let v6 = |last: u8| {
            let mut bytes = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            bytes[15] = last;
            bytes
        };
        let key = FlowKey {
            addr: [v6(1), v6(2)],
            port: [443, 55555],
            protocol: 17,
            ip_version: 6,
            vlan_id: 100,
            tunnel: Tunnel::Vxlan,
        };
        assert_eq!(key.stable_hash(), 0x92a8_e488_6eff_8f7c);
    }
}
