#!/usr/bin/env python3
"""An independent transcription of FlowKey::stable_hash (flow/key.rs), which
places flows in eviction partitions and so is part of flowq's output
contract. It printed the expected values of the unit test
`stable_hash_matches_the_documented_algorithm`.

Usage: stable_hash.py  (prints the hashes of the test's two keys)
"""

M = (1 << 64) - 1


def stable_hash(addr0: bytes, addr1: bytes, port0, port1, protocol, ip_version, tunnel, vlan):
    k = 0x9E3779B97F4A7C15
    word = lambda b, half: int.from_bytes(b[half * 8 : half * 8 + 8], "little")
    packed = port0 | port1 << 16 | protocol << 32 | (ip_version & 0xF) << 40 | tunnel << 44 | vlan << 48
    h = 0x666C6F77715F7031
    for w in [word(addr0, 0), word(addr0, 1), word(addr1, 0), word(addr1, 1), packed]:
        h = ((h ^ w) * k) & M
        h ^= h >> 29
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & M
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & M
    return h ^ (h >> 31)


if __name__ == "__main__":
    v4 = lambda a: bytes(a) + bytes(12)
    print(hex(stable_hash(v4([10, 0, 0, 1]), v4([192, 168, 0, 1]), 1024, 80, 6, 4, 0, 0)))
    v6 = lambda last: bytes([0x20, 0x01, 0x0D, 0xB8]) + bytes(11) + bytes([last])
    # tunnel 3 = VXLAN
    print(hex(stable_hash(v6(1), v6(2), 443, 55555, 17, 6, 3, 100)))
