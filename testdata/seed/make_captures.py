#!/usr/bin/env python3
"""Build the hand-designed captures used as `--profile seed` fixtures.

Usage (from the repository root, inside the venv made by regen.sh):
    python testdata/seed/make_captures.py [OUTDIR]

OUTDIR defaults to the directory holding this script. Every packet is built
with scapy; the capture *files* are written by the small writers below
(struct-packed classic pcap / pcapng) so that every timestamp, caplen,
wirelen, byte order and link type is exactly what is written here. Scapy's
own writers would also do for most of it, but its pcapng writer goes through
float(pkt.time) and loses microseconds, and neither writer makes it easy to
write a snapped record or a timestamp of exactly 0.

All timestamps are given as exact integers (seconds + fraction in the file's
unit), so the files are byte-for-byte reproducible.
"""
import os
import struct
import sys

from scapy.all import (  # noqa: F401
    ARP, DNS, DNSQR, DNSRR, GRE, ICMP, IP, IPOption_RR, IPv6, Dot1Q, Ether,
    Raw, SCTP, SCTPChunkInit, TCP, UDP, VXLAN, fragment,
)

T0 = 1700000000  # 2023-11-14T22:13:20Z

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def eth(a_to_b=True):
    return Ether(src=MAC_A, dst=MAC_B) if a_to_b else Ether(src=MAC_B, dst=MAC_A)


# ---------------------------------------------------------------- writers

def write_pcap(path, records, linktype=1, nano=False, endian="<", snaplen=65535):
    """records: iterable of (sec, frac, data_bytes[, wirelen]).
    frac is microseconds (or nanoseconds if nano). caplen = len(data)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    with open(path, "wb") as f:
        f.write(struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        for rec in records:
            sec, frac, data = rec[0], rec[1], bytes(rec[2])
            wirelen = rec[3] if len(rec) > 3 else len(data)
            f.write(struct.pack(endian + "IIII", sec, frac, len(data), wirelen))
            f.write(data)


def _pad4(b):
    return b + b"\x00" * (-len(b) % 4)


def _block(btype, body):
    body = _pad4(body)
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def _opt(code, value):
    return struct.pack("<HH", code, len(value)) + _pad4(value)


def write_pcapng(path, interfaces, records):
    """interfaces: list of (linktype, tsresol_option_byte or None).
    records: iterable of (ifid, ts_units, data_bytes); ts_units is the raw
    64-bit timestamp in that interface's resolution."""
    with open(path, "wb") as f:
        shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _opt(0, b"")
        f.write(_block(0x0A0D0D0A, shb))
        for linktype, tsresol in interfaces:
            body = struct.pack("<HHI", linktype, 0, 65535)
            if tsresol is not None:
                body += _opt(9, bytes([tsresol])) + _opt(0, b"")
            f.write(_block(1, body))
        for ifid, ts, data in records:
            data = bytes(data)
            body = struct.pack("<IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF,
                               len(data), len(data)) + _pad4(data)
            f.write(_block(6, body))


# ---------------------------------------------------------------- captures

def tcp_session():
    """One client/server pair; two TCP connections on the same 5-tuple."""
    C, S, CP, SP = "192.0.2.10", "198.51.100.20", 51000, 80

    def c2s(flags, seq, ack, load=b"", **kw):
        p = eth(True) / IP(src=C, dst=S, id=0x1000 + seq % 1000) / TCP(
            sport=CP, dport=SP, flags=flags, seq=seq, ack=ack, window=64240, **kw)
        return p / Raw(load) if load else p

    def s2c(flags, seq, ack, load=b"", **kw):
        p = eth(False) / IP(src=S, dst=C, id=0x2000 + seq % 1000) / TCP(
            sport=SP, dport=CP, flags=flags, seq=seq, ack=ack, window=65160, **kw)
        return p / Raw(load) if load else p

    syn_opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)),
                ("NOP", None), ("WScale", 7)]
    req = b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n" + b"x" * 62
    r1 = b"HTTP/1.1 200 OK\r\nContent-Length: 800\r\n\r\n" + b"a" * 459
    r2 = b"b" * 300
    recs = [
        # first connection
        (T0, 123456, c2s("S", 1000, 0, options=syn_opts)),
        (T0, 123987, s2c("SA", 5000, 1001, options=syn_opts)),
        (T0, 124000, c2s("A", 1001, 5001)),
        (T0, 130001, c2s("PA", 1001, 5001, req)),
        (T0, 130500, s2c("A", 5001, 1001 + len(req))),
        (T0, 250000, s2c("PA", 5001, 1001 + len(req), r1)),
        (T0, 250000, s2c("PA", 5001 + len(r1), 1001 + len(req), r2)),  # same ts
        (T0, 251234, c2s("A", 1001 + len(req), 5001 + len(r1) + len(r2))),
        (T0 + 1, 500000, c2s("FA", 1101, 5801)),
        (T0 + 1, 500100, s2c("FA", 5801, 1102)),
        (T0 + 1, 500200, c2s("A", 1102, 5802)),  # trailing ACK
        # second connection, same ports, after the close
        (T0 + 2, 0, c2s("S", 90000, 0, options=syn_opts)),
        (T0 + 2, 50, s2c("SA", 70000, 90001, options=syn_opts)),
        (T0 + 2, 100, c2s("A", 90001, 70001)),
        (T0 + 2, 100000, c2s("PA", 90001, 70001, b"hello")),
        (T0 + 2, 200000, c2s("R", 90006, 0)),
        (T0 + 2, 200001, s2c("RA", 70001, 90006)),
    ]
    return recs


def mixed():
    recs = []
    H, DNSS, FAR = "192.0.2.10", "192.0.2.53", "198.51.100.1"
    # DNS-like UDP both ways (port 53: scapy dissects the DNS layer)
    q = DNS(id=0x1234, rd=1, qd=DNSQR(qname="example.test"))
    a = DNS(id=0x1234, qr=1, rd=1, ra=1, qd=DNSQR(qname="example.test"),
            an=DNSRR(rrname="example.test", rdata="203.0.113.7", ttl=300))
    recs.append((T0, 100, eth(True) / IP(src=H, dst=DNSS, id=1) / UDP(sport=53000, dport=53) / q))
    recs.append((T0, 20345, eth(False) / IP(src=DNSS, dst=H, id=2) / UDP(sport=53, dport=53000) / a))
    recs.append((T0, 500000, eth(True) / IP(src=H, dst=DNSS, id=3) / UDP(sport=53000, dport=53) / q))
    # ICMP echo request/reply (two rounds)
    for i, base in enumerate((1, 2)):
        recs.append((T0 + base, 0, eth(True) / IP(src=H, dst=FAR, id=10 + i) / ICMP(type=8, id=7, seq=i + 1) / (b"p" * 32)))
        recs.append((T0 + base, 12000 - i * 1000, eth(False) / IP(src=FAR, dst=H, id=20 + i) / ICMP(type=0, id=7, seq=i + 1) / (b"p" * 32)))
    # UDP probe and the ICMP port-unreachable that quotes its IP+UDP header
    probe = IP(src=H, dst="198.51.100.99", id=30, ttl=64) / UDP(sport=40000, dport=33434) / (b"q" * 12)
    recs.append((T0 + 3, 0, eth(True) / probe))
    recs.append((T0 + 3, 777, eth(False) / IP(src="198.51.100.99", dst=H, id=31) /
                 ICMP(type=3, code=3) / bytes(probe)))
    # GRE carrying an inner IPv4 TCP SYN, then one carrying an inner ICMP echo
    recs.append((T0 + 4, 1, eth(True) / IP(src="203.0.113.1", dst="203.0.113.2", id=40) / GRE() /
                 IP(src="10.1.1.1", dst="10.2.2.2", id=41) / TCP(sport=1234, dport=22, flags="S", seq=1)))
    recs.append((T0 + 4, 2, eth(True) / IP(src="203.0.113.1", dst="203.0.113.2", id=42) / GRE() /
                 IP(src="10.1.1.1", dst="10.2.2.2", id=43) / ICMP(type=8, id=1, seq=1)))
    # some other IP protocol (89 = OSPF), single packet flow
    recs.append((T0 + 4, 500000, eth(True) / IP(src="192.0.2.1", dst="224.0.0.5", proto=89, ttl=1, id=44) /
                 Raw(b"\x02\x01\x00\x2c\xc0\x00\x02\x01" + b"\x00" * 36)))
    # ARP (not IP: skipped)
    recs.append((T0 + 5, 0, Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") /
                 ARP(op=1, hwsrc=MAC_A, psrc=H, pdst=DNSS)))
    # IPv6 UDP (not IP: skipped)
    recs.append((T0 + 5, 100000, eth(True) / IPv6(src="2001:db8::1", dst="2001:db8::2") /
                 UDP(sport=5000, dport=5001) / (b"v6" * 10)))
    # 802.1Q-tagged IPv4 TCP: two packets with the identical timestamp
    recs.append((T0 + 6, 250000, eth(True) / Dot1Q(vlan=100) / IP(src=H, dst="198.51.100.20", id=50) /
                 TCP(sport=51500, dport=443, flags="S", seq=7)))
    recs.append((T0 + 6, 250000, eth(True) / Dot1Q(vlan=100) / IP(src=H, dst="198.51.100.20", id=51) /
                 TCP(sport=51500, dport=443, flags="S", seq=7)))
    # IPv4 UDP datagram in 3 fragments (first one carries the UDP header)
    dgram = IP(src=H, dst="198.51.100.30", id=0x4242) / UDP(sport=5000, dport=6000) / (b"F" * 3000)
    frags = fragment(dgram, fragsize=1200)
    assert len(frags) == 3
    for i, fr in enumerate(frags):
        recs.append((T0 + 7, 1 + 49 * i + (i == 2) * 50, eth(True) / fr))
    # two different UDP flows whose packets share one timestamp
    recs.append((T0 + 8, 999999, eth(True) / IP(src=H, dst="198.51.100.40", id=60) / UDP(sport=7000, dport=7001) / b"same"))
    recs.append((T0 + 8, 999999, eth(False) / IP(src="198.51.100.40", dst=H, id=61) / UDP(sport=7001, dport=7000) / b"same"))
    recs.append((T0 + 8, 999999, eth(True) / IP(src=H, dst="198.51.100.40", id=62) / UDP(sport=7000, dport=7001) / b"same"))
    return recs


def quirks():
    recs = []
    # 1. first packet of a flow at timestamp 0 (epoch): start is falsy -> duration int 0
    recs.append((0, 0, eth(True) / IP(src="10.9.9.9", dst="10.9.9.8", id=1) / UDP(sport=1111, dport=2222) / b"z"))
    # 2. timestamps going backwards inside one flow -> negative duration
    recs.append((T0 + 10, 750000, eth(True) / IP(src="10.0.0.1", dst="10.0.0.2", id=2) / UDP(sport=3333, dport=4444) / b"b1"))
    recs.append((T0 + 8, 0, eth(True) / IP(src="10.9.9.9", dst="10.9.9.8", id=3) / UDP(sport=1111, dport=2222) / b"z"))
    recs.append((T0 + 10, 500000, eth(True) / IP(src="10.0.0.1", dst="10.0.0.2", id=4) / UDP(sport=3333, dport=4444) / b"b2"))
    # 3. last packet of a flow at timestamp 0: end is falsy -> duration int 0
    recs.append((T0 + 11, 5, eth(True) / IP(src="10.0.0.3", dst="10.0.0.4", id=5) / UDP(sport=5555, dport=6666) / b"e"))
    recs.append((0, 0, eth(True) / IP(src="10.0.0.3", dst="10.0.0.4", id=6) / UDP(sport=5555, dport=6666) / b"e"))
    # 4. ICMP dest-unreachable quoting a full TCP SYN header (quoted flags are NOT counted)
    syn = IP(src="10.0.0.5", dst="10.0.0.6", id=7) / TCP(sport=4321, dport=8080, flags="S", seq=99)
    recs.append((T0 + 12, 100, eth(False) / IP(src="10.0.0.6", dst="10.0.0.5", id=8) / ICMP(type=3, code=1) / bytes(syn)))
    # 5. ICMP time-exceeded quoting only 8 bytes of the TCP header
    recs.append((T0 + 12, 200, eth(False) / IP(src="10.0.0.7", dst="10.0.0.5", id=9) / ICMP(type=11, code=0) / bytes(syn)[:28]))
    # 5b. ... quoting 12 bytes of the TCP header: scapy's TCPerror may end after
    #     8 bytes or be complete (20); 9..19 bytes fail -> Raw -> ports 0
    recs.append((T0 + 12, 250, eth(False) / IP(src="10.0.0.7", dst="10.0.0.5", id=26) / ICMP(type=11, code=0) / bytes(syn)[:32]))
    # 6. ICMP time-exceeded quoting an ICMP echo request (no ports anywhere)
    echo = IP(src="10.0.0.5", dst="10.0.0.6", id=10) / ICMP(type=8, id=3, seq=4)
    recs.append((T0 + 12, 300, eth(False) / IP(src="10.0.0.7", dst="10.0.0.5", id=11) / ICMP(type=11, code=0) / bytes(echo)))
    # 7. IPv6-in-IPv4 (proto 41) carrying TCP SYN: ports and flags come from the inner TCP
    recs.append((T0 + 13, 1000, eth(True) / IP(src="10.0.0.8", dst="10.0.0.9", id=12) /
                 IPv6(src="2001:db8::8", dst="2001:db8::9") / TCP(sport=2001, dport=2002, flags="S")))
    # 8. IPv4-in-IPv6 (next header 4) carrying UDP: key comes from the inner IPv4 header
    recs.append((T0 + 13, 2000, eth(True) / IPv6(src="2001:db8::a", dst="2001:db8::b", nh=4) /
                 IP(src="10.0.0.10", dst="10.0.0.11", id=13) / UDP(sport=3001, dport=3002) / b"in6"))
    # 9. IPv4-in-IPv4 (proto 4) carrying TCP SYN/ACK
    recs.append((T0 + 13, 3000, eth(True) / IP(src="10.0.0.12", dst="10.0.0.13", id=14) /
                 IP(src="10.0.0.14", dst="10.0.0.15", id=15) / TCP(sport=4001, dport=4002, flags="SA")))
    # 10. VXLAN (UDP 4789) carrying Ether/IPv4/TCP SYN: inner TCP flags counted on the UDP flow
    recs.append((T0 + 14, 10, eth(True) / IP(src="10.0.0.16", dst="10.0.0.17", id=16) /
                 UDP(sport=49152, dport=4789) / VXLAN(vni=42) / Ether(src=MAC_A, dst=MAC_B) /
                 IP(src="172.16.0.1", dst="172.16.0.2", id=17) / TCP(sport=5001, dport=5002, flags="S")))
    # 11. SCTP: ports from the SCTP common header
    recs.append((T0 + 14, 20, eth(True) / IP(src="10.0.0.18", dst="10.0.0.19", id=18) /
                 SCTP(sport=6001, dport=6002) / SCTPChunkInit()))
    # 12a. snapped record: TCP header cut after 10 bytes (caplen 44 < wirelen) -> ports 0, no flags
    full = bytes(eth(True) / IP(src="10.0.0.20", dst="10.0.0.21", id=19) / TCP(sport=7001, dport=7002, flags="S") / (b"s" * 100))
    recs.append((T0 + 15, 1, full[:44], len(full)))
    # 12b. snapped record: IPv4 header cut after 10 bytes -> no IP layer -> skipped
    recs.append((T0 + 15, 2, full[:24], len(full)))
    # 12c. the same packet unsnapped
    recs.append((T0 + 15, 3, full))
    # 13. IPv4 header with options, TCP
    recs.append((T0 + 16, 0, eth(True) / IP(src="10.0.0.22", dst="10.0.0.23", id=20,
                                            options=[IPOption_RR(routers=["0.0.0.0"] * 2)]) /
                 TCP(sport=8001, dport=8002, flags="PA") / b"opt"))
    # 14. short UDP frame padded to 60 bytes (Ethernet padding counts in len(pkt))
    short = bytes(eth(True) / IP(src="10.0.0.24", dst="10.0.0.25", id=21) / UDP(sport=9001, dport=9002) / b"ab")
    recs.append((T0 + 16, 10, short + b"\x00" * (60 - len(short))))
    # 15. TCP with every flag bit set (FSRPAUEC + NS)
    recs.append((T0 + 16, 20, eth(True) / IP(src="10.0.0.26", dst="10.0.0.27", id=22) /
                 TCP(sport=9101, dport=9102, flags=0x1FF)))
    # 16. IP proto 6 with only 4 payload bytes (not snapped): TCP dissection fails -> Raw
    recs.append((T0 + 16, 30, eth(True) / IP(src="10.0.0.28", dst="10.0.0.29", id=23, proto=6) / b"\x1f\x90\x00\x50"))
    # 17. a TCP segment split into 2 IP fragments: first has ports+flags, second is proto 6 ports 0
    seg = IP(src="10.0.0.30", dst="10.0.0.31", id=0x77) / TCP(sport=9201, dport=9202, flags="PA") / (b"T" * 40)
    for i, fr in enumerate(fragment(seg, fragsize=32)):
        recs.append((T0 + 17, 100 + i, eth(True) / fr))
    # 18. UDP to port 53 whose payload is not valid DNS: UDP ports still found
    recs.append((T0 + 17, 200, eth(True) / IP(src="10.0.0.32", dst="10.0.0.33", id=24) /
                 UDP(sport=9301, dport=53) / b"\x01\x02\x03"))
    # 19. back to flow 2: one more packet, later than the first
    recs.append((T0 + 18, 0, eth(True) / IP(src="10.0.0.1", dst="10.0.0.2", id=25) / UDP(sport=3333, dport=4444) / b"b3"))
    return recs


def backwards_only():
    """A flow that only goes backwards in time (end < start)."""
    mk = lambda i: eth(True) / IP(src="10.5.0.1", dst="10.5.0.2", id=i) / UDP(sport=1, dport=2) / b"x"
    return [(T0 + 1, 0, mk(1)), (T0, 750000, mk(2))]


def nano():
    """Nanosecond pcap: one UDP flow per duration case."""
    recs = []

    def u(sport, i):
        return eth(True) / IP(src="10.7.0.1", dst="10.7.0.2", id=i) / UDP(sport=sport, dport=9999) / b"n"

    cases = [  # (sport, [(sec_offset, nsec), ...])
        (1000, [(0, 123456789)]),                       # single packet: 0E-9
        (1001, [(0, 200000000), (0, 200000005)]),       # 5 ns: 5E-9
        (1002, [(0, 300000000), (0, 300000500)]),       # 500 ns: 5.00E-7
        (1003, [(0, 400000001), (0, 400001000)]),       # 999 ns: 9.99E-7
        (1004, [(0, 500000000), (0, 500001000)]),       # 1000 ns: 0.000001000
        (1005, [(0, 600000000), (1, 600000001)]),       # 1.000000001
        (1006, [(0, 700000020), (0, 700000005)]),       # -15 ns: -1.5E-8
        (1007, [(0, 800000000), (0, 800000000)]),       # identical: 0E-9
        (1008, [(2, 0), (2, 250000000)]),               # 0.250000000
        (1009, [(0, 900000000), (0, 900000050)]),       # 50 ns: 5.0E-8
    ]
    i = 0
    for sport, pkts in cases:
        for off, ns in pkts:
            i += 1
            recs.append((T0 + off, ns, u(sport, i)))
    # plus a real TCP exchange
    C, S = "10.7.0.3", "10.7.0.4"
    recs.append((T0 + 3, 111111111, eth(True) / IP(src=C, dst=S, id=100) / TCP(sport=40001, dport=443, flags="S")))
    recs.append((T0 + 3, 111222333, eth(False) / IP(src=S, dst=C, id=101) / TCP(sport=443, dport=40001, flags="SA", ack=1)))
    recs.append((T0 + 3, 111222999, eth(True) / IP(src=C, dst=S, id=102) / TCP(sport=40001, dport=443, flags="A", seq=1, ack=1)))
    recs.append((T0 + 3, 987654321, eth(True) / IP(src=C, dst=S, id=103) / TCP(sport=40001, dport=443, flags="FA", seq=1, ack=1)))
    return recs


def pcapng_records():
    """Interfaces: 0 = Ethernet, no if_tsresol (default 1e-6);
    1 = Ethernet, if_tsresol=9 (1e-9); 2 = LINKTYPE_RAW (101), if_tsresol=3 (1e-3)."""
    out = []

    def u(src, sport, i, raw_ip=False):
        p = IP(src=src, dst="10.8.0.254", id=i) / UDP(sport=sport, dport=8888) / b"ng"
        return p if raw_ip else eth(True) / p

    us = T0 * 10**6
    ns = T0 * 10**9
    ms = T0 * 10**3
    i = 0
    plan = [
        (0, "10.8.0.1", 1, [us, us + 500000]),                    # 0.5
        (0, "10.8.0.1", 2, [us + 1000000]),                       # single, whole second: 0
        (0, "10.8.0.1", 3, [us + 1120000]),                       # single, .12: 0.00
        (0, "10.8.0.1", 4, [us + 2000000, us + 2000001]),         # 0.000001
        (0, "10.8.0.1", 5, [us + 3250000, us + 4000000]),         # 0.75
        (0, "10.8.0.1", 6, [us + 5100000, us + 5200000, us + 6000000]),  # 0.9
        (0, "10.8.0.1", 7, [us + 7000001, us + 7000001]),         # 0.000000
        (0, "10.8.0.1", 8, [0, us + 8000000]),                    # starts at ts 0: 0
        (1, "10.8.0.2", 1, [ns + 10 * 10**9, ns + 10 * 10**9 + 5]),           # 5E-9
        (1, "10.8.0.2", 2, [ns + 10 * 10**9 + 123456789]),                    # 0E-9
        (1, "10.8.0.2", 3, [ns + 11 * 10**9, ns + 11 * 10**9 + 500000000]),   # 0.5
        (1, "10.8.0.2", 4, [ns + 12 * 10**9 + 100, ns + 12 * 10**9 + 600]),   # 5E-7
        (1, "10.8.0.2", 5, [ns + 13 * 10**9]),                                # 0
        (1, "10.8.0.2", 6, [ns + 14 * 10**9 + 1000, ns + 14 * 10**9 + 2000]),  # 0.000001
        (2, "10.8.0.3", 1, [ms + 20000, ms + 20125]),            # 0.125
        (2, "10.8.0.3", 2, [ms + 21000, ms + 22000]),            # 1
    ]
    for ifid, src, sport, stamps in plan:
        for ts in stamps:
            i += 1
            out.append((ifid, ts, u(src, sport, i, raw_ip=(ifid == 2))))
    return out


def no_ip():
    """Nothing the script counts: ARP and IPv6 only -> CSV with no flows."""
    return [
        (T0, 1, Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC_A, psrc="192.0.2.1", pdst="192.0.2.2")),
        (T0, 2, Ether(src=MAC_B, dst=MAC_A) / ARP(op=2, hwsrc=MAC_B, psrc="192.0.2.2", pdst="192.0.2.1", hwdst=MAC_A)),
        (T0, 3, eth(True) / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2)),
    ]


def raw_ip():
    """LINKTYPE_RAW (101): scapy picks IPv4/IPv6 from the version nibble."""
    return [
        (T0, 10, IP(src="10.6.0.1", dst="10.6.0.2", id=1) / TCP(sport=1234, dport=80, flags="S")),
        (T0, 20, IP(src="10.6.0.2", dst="10.6.0.1", id=2) / TCP(sport=80, dport=1234, flags="SA")),
        (T0, 30, IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2)),
        (T0, 40, IP(src="10.6.0.1", dst="10.6.0.2", id=3) / TCP(sport=1234, dport=80, flags="A")),
    ]


def icmp_ext():
    """ICMP errors around scapy's RFC 4884 extension heuristic (types 3, 11, 12
    with an ICMP message of >= 144 bytes): bytes after the IPv4 total length
    (Ethernet trailer) are then missing from len(pkt)."""
    recs = []

    def err(n, typ, code, qlen, trailer, usec):
        quoted = bytes(IP(src="10.4.0.1", dst="10.4.%d.2" % n, id=n) /
                       UDP(sport=1000 + n, dport=2000 + n) / (b"Q" * (qlen - 28)))
        frame = bytes(eth(False) / IP(src="10.4.%d.2" % n, dst="10.4.0.1", id=100 + n) /
                      ICMP(type=typ, code=code) / quoted) + b"\x00" * trailer
        recs.append((T0 + 30, usec, frame))

    err(1, 3, 3, 135, 4, 1)   # ICMP message 143 bytes: no extension parsing, len == caplen
    err(2, 3, 3, 136, 4, 2)   # 144 bytes: extension parsed, 4 trailer bytes lost
    err(3, 11, 0, 192, 6, 3)  # time-exceeded, 200 bytes, 6 trailer bytes lost
    err(4, 12, 0, 192, 2, 4)  # parameter-problem, 200 bytes, 2 trailer bytes lost
    err(5, 3, 1, 192, 0, 5)   # 200 bytes, no trailer: len == caplen
    err(6, 4, 0, 192, 4, 6)   # source-quench (type 4): no extension field, len == caplen
    return recs


def unknown_linktype():
    """Link type 147 (USER0) is unknown to scapy: every record becomes Raw, no flows."""
    return [(T0, 1, eth(True) / IP(src="10.3.0.1", dst="10.3.0.2", id=1) / UDP(sport=1, dport=2)),
            (T0, 2, IP(src="10.3.0.1", dst="10.3.0.2", id=2) / UDP(sport=1, dport=2))]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    write_pcap(os.path.join(out, "tcp_session.pcap"), tcp_session())
    write_pcap(os.path.join(out, "mixed.pcap"), mixed())
    write_pcap(os.path.join(out, "quirks.pcap"), quirks())
    write_pcap(os.path.join(out, "backwards.pcap"), backwards_only())
    write_pcap(os.path.join(out, "nano.pcap"), nano(), nano=True)
    write_pcap(os.path.join(out, "tcp_session_be.pcap"), tcp_session(), endian=">")
    write_pcap(os.path.join(out, "raw_ip.pcap"), raw_ip(), linktype=101)
    write_pcap(os.path.join(out, "no_ip.pcap"), no_ip())
    write_pcap(os.path.join(out, "icmp_ext.pcap"), icmp_ext())
    write_pcap(os.path.join(out, "unknown_linktype.pcap"), unknown_linktype(), linktype=147)
    write_pcapng(os.path.join(out, "mixed.pcapng"), [(1, None), (1, 9), (101, 3)], pcapng_records())


if __name__ == "__main__":
    main()
