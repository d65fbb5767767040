#!/usr/bin/env python3
"""Hostile captures for the memory-bound checks of docs/robustness.md.

Each kind is a flood where every packet could grow some state:

  rising   N TCP SYNs, each from a new source (a new flow), timestamps rising 10 us apart
  frozen   the same flood, every packet at one timestamp
  falling  the same flood, timestamps falling 10 us apart
  zero     the same flood, every timestamp 0 (1970-01-01)
  spb      the same flood as pcapng simple packet blocks (no timestamps at all:
           each takes the previous packet's)
  fragment N copies of one first IPv4 fragment at one timestamp
  fragments N first IPv4 fragments of distinct datagrams at one timestamp
  idb      a pcapng file of one packet followed by N interface description blocks

Usage: hostile.py KIND N OUT
Standard library only, so that it runs on a fresh machine.
"""

import struct
import sys

T0 = 1_700_000_000  # seconds


def ipv4_checksum(header: bytes) -> int:
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident=0, frag=0) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst
    )
    header = header[:10] + struct.pack("!H", ipv4_checksum(header)) + header[12:]
    return header + payload


def ethernet(ip: bytes) -> bytes:
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip


def syn(i: int) -> bytes:
    src = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
    tcp = struct.pack("!HHIIBBHHH", 1024 + i % 60000, 80, i, 0, 0x50, 0x02, 65535, 0, 0)
    return ethernet(ipv4(src, bytes([192, 168, 0, 1]), 6, tcp))


def first_fragment(ident: int) -> bytes:
    udp = struct.pack("!HHHH", 5353, 53, 8 + 64, 0) + bytes(64)
    # More-fragments set, offset 0: a first fragment.
    return ethernet(ipv4(bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 17, udp, ident, 0x2000))


def pcap(out, records):
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for ts_us, frame in records:
        sec, usec = divmod(ts_us, 1_000_000)
        out.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        out.write(frame)


def block(kind: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def pcapng_head(out):
    out.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    out.write(block(1, struct.pack("<HHI", 1, 0, 65535)))


def epb(ts_us: int, frame: bytes) -> bytes:
    return block(
        6, struct.pack("<IIIII", 0, ts_us >> 32, ts_us & 0xFFFFFFFF, len(frame), len(frame)) + frame
    )


def main():
    kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    t0 = T0 * 1_000_000
    with open(path, "wb") as out:
        if kind in ("rising", "frozen", "falling", "zero"):
            times = {
                "rising": lambda i: t0 + 10 * i,
                "frozen": lambda i: t0,
                "falling": lambda i: t0 + 10 * (n - i),
                "zero": lambda i: 0,
            }[kind]
            pcap(out, ((times(i), syn(i)) for i in range(n)))
        elif kind == "spb":
            pcapng_head(out)
            out.write(epb(t0, syn(0)))
            for i in range(1, n):
                frame = syn(i)
                out.write(block(3, struct.pack("<I", len(frame)) + frame))
        elif kind == "fragment":
            frame = first_fragment(7)
            pcap(out, ((t0, frame) for _ in range(n)))
        elif kind == "fragments":
            pcap(out, ((t0, first_fragment(i & 0xFFFF)) for i in range(n)))
        elif kind == "idb":
            pcapng_head(out)
            out.write(epb(t0, syn(0)))
            idb = block(1, struct.pack("<HHI", 1, 0, 65535))
            for _ in range(n):
                out.write(idb)
        else:
            sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()
