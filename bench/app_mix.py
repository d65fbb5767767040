#!/usr/bin/env python3
"""The real TLS/DNS/HTTP mix of the application-metadata benchmark
(docs/benchmarks.md, "Application metadata columns").

Three corpus captures (suricata-verify/tls-subjectaltname.pcap,
ndpi/1kxun.pcap, nfstream/instagram.pcap: 8 304 packets) have their times
made relative to each one's first packet, are interleaved by those times, and
the whole is repeated 30 times, each copy two hours after the previous one
(past every timeout, so each copy makes new flows): 249 120 packets.
A few corpus packets jump years ahead of their capture's start; times more
than an hour after a capture's first packet are clamped to one hour.

Standard library only. The inputs must be classic pcap, little-endian,
microsecond, Ethernet (the three above are).

    python3 bench/app_mix.py OUT.pcap [--copies 30] [--shared ../shared]
    python3 bench/app_mix.py OUT.pcap --copies 1 --inputs A.pcap B.pcap
"""

import argparse
import os
import struct
import sys

INPUTS = [
    "suricata-verify/tls-subjectaltname.pcap",
    "ndpi/1kxun.pcap",
    "nfstream/instagram.pcap",
]
HOUR_US = 3600 * 1_000_000
START_US = 1_700_000_000 * 1_000_000


def records(path):
    """(time relative to the first packet in µs, clamped; body; original length)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\xd4\xc3\xb2\xa1" or struct.unpack("<I", data[20:24])[0] != 1:
        sys.exit(f"{path}: not a little-endian microsecond Ethernet pcap")
    p, first, out = 24, None, []
    while p + 16 <= len(data):
        ts, us, incl, orig = struct.unpack("<IIII", data[p : p + 16])
        t = ts * 1_000_000 + us
        if first is None:
            first = t
        out.append((min(max(t - first, 0), HOUR_US), data[p + 16 : p + 16 + incl], orig))
        p += 16 + incl
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--copies", type=int, default=30)
    ap.add_argument("--shared", default=os.path.join(root, "..", "shared"))
    ap.add_argument("--inputs", nargs="+", help="captures (default: the three above)")
    args = ap.parse_args()
    inputs = args.inputs or [os.path.join(args.shared, "pcaps", p) for p in INPUTS]
    recs = []
    for path in inputs:
        recs.extend(records(path))
    # Stable sort: packets of one capture at the same time keep their order.
    recs.sort(key=lambda r: r[0])
    with open(args.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for k in range(args.copies):
            base = START_US + k * 2 * HOUR_US
            for rel, body, orig in recs:
                t = base + rel
                f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(body), orig))
                f.write(body)
    print(f"{len(recs) * args.copies} packets ({len(recs)} per copy, {args.copies} copies)")


if __name__ == "__main__":
    main()
