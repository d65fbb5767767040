#!/usr/bin/env python3
"""Community ID v1 of every packet of the shared corpus, computed independently of flowq.

Writes testdata/community_id_corpus.tsv.gz, the fixture that tests/community_id.rs
hashes every tuple of with flowq's implementation and tests/app_oracle.rs compares
flowq's `community_id` column with, flow by flow. Run from the repository root:

    python3 testdata/community_id_corpus.py [../shared/pcaps]

The script makes its own virtual environment (under $TMPDIR) and installs into it
`communityid` (Corelight's reference implementation of the Community ID spec, from
PyPI) and `scapy` (to read ICMP types and codes); flowq's code is not used.

Where the tuples come from:
  * addresses, protocol and ports: the corpus's TShark 4.0 per-packet table
    (../shared/pcaps/oracle/<capture>.tsv[.gz]: ip.src/ip.dst/ipv6.src/ipv6.dst,
    ip.proto, tcp/udp/sctp ports, frame.protocols);
  * ICMP and ICMPv6 type and code: the packet itself, read with scapy (the TShark
    table has no ICMP fields).

Which header is the flow's: the innermost IP header of the packet (tunnels are
taken apart, as flowq does), except that an ICMP or ICMPv6 message's own IP
header is the flow's and the packet it quotes is not. The transport is the
protocol that frame.protocols names after that IP header. A packet gets no value
(it is left out) when it has no IP header, when it is a later IP fragment (no
ports), when it is TCP, UDP or SCTP without ports in the table, when scapy cannot
find the ICMP header, or when its transport over IPv6 is not TCP, UDP, SCTP or
ICMPv6 (TShark's ipv6.nxt lists every extension header, so the protocol number
cannot be told apart reliably).

Output (gzip-compressed TSV, sorted): one line per capture and Community ID:
    capture  community_id  proto  src  sport  dst  dport  records
where src/sport/dst/dport are those of the first packet with that ID (sport and
dport are ICMP type and code for ICMP), and records lists every packet with that
ID as 1-based record numbers in the capture (packet blocks only, pcapng custom
blocks left out, so that record N is flowq's packet_id N-1), as ranges "a-b"
separated by commas.
"""

import csv
import gzip
import io
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

PACKAGES = ["communityid==1.5.0", "scapy==2.8.0"]


def ensure_venv():
    """Re-runs this script inside a venv that has the packages."""
    if os.environ.get("COMMUNITY_ID_FIXTURE_VENV"):
        return
    root = Path(tempfile.gettempdir()) / "flowq-community-id-venv"
    python = root / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(root)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    env = dict(os.environ, COMMUNITY_ID_FIXTURE_VENV="1")
    sys.exit(subprocess.run([str(python), __file__, *sys.argv[1:]], env=env).returncode)


TRANSPORTS = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmpv6": 58}


def read_table(path):
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    text = data.decode()
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    header = rows[0]
    return [dict(zip(header, r + [""] * (len(header) - len(r)))) for r in rows[1:] if r]


def nth(values, i):
    parts = values.split(",") if values else []
    return parts[i] if i < len(parts) else None


def flow_header(row):
    """(ip token index in chain, family, nth ip of family, transport token, nth of transport)
    or None."""
    tokens = row["frame.protocols"].split(":")
    first_icmp = next((i for i, t in enumerate(tokens) if t in ("icmp", "icmpv6")), None)
    limit = first_icmp if first_icmp is not None else len(tokens)
    ips = [i for i in range(limit) if tokens[i] in ("ip", "ipv6")]
    if not ips:
        return None
    at = ips[-1]
    family = tokens[at]
    nth_ip = sum(1 for t in tokens[:at] if t == family)
    transport = None
    for t in tokens[at + 1:]:
        if t.startswith("ipv6."):  # extension headers
            continue
        transport = t
        break
    nth_transport = None
    if transport in TRANSPORTS:
        nth_transport = sum(1 for t in tokens[:at] if t == transport)
    return family, nth_ip, transport, nth_transport


def main():
    ensure_venv()
    import communityid
    from scapy.all import PcapReader, PcapNgReader

    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/pcaps")
    manifest = read_table(corpus / "MANIFEST.tsv")
    cid = communityid.CommunityID(seed=0)
    out_lines = []
    totals = {"captures": 0, "packets": 0, "with_id": 0, "icmp_unread": 0}

    for entry in manifest:
        if entry["oracle"] in ("", "none"):
            continue
        capture = entry["path"]
        rows = read_table(corpus / entry["oracle"])
        if entry["format"] == "pcapng":
            rows = [r for r in rows if r["frame.interface_id"] != ""]
        totals["captures"] += 1
        ids = {}  # community id -> [tuple, records]
        icmp_wanted = {}
        tuples = []
        for record, row in enumerate(rows, start=1):
            totals["packets"] += 1
            header = flow_header(row)
            if header is None:
                continue
            family, nth_ip, transport, nth_transport = header
            prefix = "ip" if family == "ip" else "ipv6"
            src = nth(row[f"{prefix}.src"], nth_ip)
            dst = nth(row[f"{prefix}.dst"], nth_ip)
            if not src or not dst:
                continue
            if transport in ("tcp", "udp", "sctp"):
                sport = nth(row[f"{transport}.srcport"], nth_transport)
                dport = nth(row[f"{transport}.dstport"], nth_transport)
                if not sport or not dport:
                    continue
                tuples.append((record, TRANSPORTS[transport], src, int(sport), dst, int(dport)))
            elif transport in ("icmp", "icmpv6"):
                icmp_wanted[record] = (TRANSPORTS[transport], src, dst, nth_ip, family)
            elif family == "ip":
                proto = nth(row["ip.proto"], nth_ip)
                if proto is None or not proto.isdigit():
                    continue
                proto = int(proto)
                if proto in (6, 17, 132, 1, 58):
                    continue  # a later fragment, or a header TShark did not dissect
                tuples.append((record, proto, src, None, dst, None))
        if icmp_wanted:
            path = corpus / capture
            reader = PcapNgReader if entry["format"] == "pcapng" else PcapReader
            found = {}
            try:
                with reader(str(path)) as packets:
                    for record, packet in enumerate(packets, start=1):
                        want = icmp_wanted.get(record)
                        if want is None:
                            continue
                        type_code = first_icmp_header(packet, want[0])
                        if type_code is not None:
                            found[record] = (int(type_code[0]), int(type_code[1]))
            except Exception as e:  # a capture scapy cannot read to the end
                print(f"{capture}: scapy stopped: {e}", file=sys.stderr)
            for record, (proto, src, dst, _, _) in icmp_wanted.items():
                if record in found:
                    t, c = found[record]
                    tuples.append((record, proto, src, t, dst, c))
                else:
                    totals["icmp_unread"] += 1
                    print(f"{capture}: record {record}: no ICMP header found", file=sys.stderr)
        for record, proto, src, sport, dst, dport in sorted(tuples):
            if proto == 6:
                ft = communityid.FlowTuple.make_tcp(src, dst, sport, dport)
            elif proto == 17:
                ft = communityid.FlowTuple.make_udp(src, dst, sport, dport)
            elif proto == 132:
                ft = communityid.FlowTuple.make_sctp(src, dst, sport, dport)
            elif proto == 1:
                ft = communityid.FlowTuple.make_icmp(src, dst, sport, dport)
            elif proto == 58:
                ft = communityid.FlowTuple.make_icmp6(src, dst, sport, dport)
            else:
                ft = communityid.FlowTuple.make_ip(src, dst, proto)
            value = cid.calc(ft)
            totals["with_id"] += 1
            slot = ids.setdefault(value, [(proto, src, sport, dst, dport), []])
            slot[1].append(record)
        for value, ((proto, src, sport, dst, dport), records) in ids.items():
            fields = [capture, value, str(proto), src, "" if sport is None else str(sport),
                      dst, "" if dport is None else str(dport), ranges(records)]
            out_lines.append("\t".join(fields))

    out_lines.sort()
    header = (
        "# Community ID v1 (seed 0) of every packet of ../shared/pcaps, made by "
        "testdata/community_id_corpus.py with communityid 1.5.0 (PyPI) from the corpus's "
        "TShark 4.0 table and, for ICMP type and code, scapy 2.8.0; not by flowq. "
        f"{totals['captures']} captures, {totals['packets']} packet records, "
        f"{totals['with_id']} with a Community ID, {len(out_lines)} lines.\n"
        "capture\tcommunity_id\tproto\tsrc\tsport\tdst\tdport\trecords\n"
    )
    target = Path(__file__).resolve().parent / "community_id_corpus.tsv.gz"
    tmp = target.with_suffix(".tmp")
    with gzip.GzipFile(tmp, "wb", mtime=0) as f:
        f.write((header + "\n".join(out_lines) + "\n").encode())
    tmp.replace(target)
    print(totals, len(out_lines), file=sys.stderr)


def first_icmp_header(packet, proto):
    """(type, code) of the first ICMP (proto 1) or ICMPv6 (58) header of the packet."""
    layer = packet
    while layer is not None and layer.__class__.__name__ != "NoPayload":
        name = layer.__class__.__name__
        if proto == 1 and name == "ICMP":
            return (layer.type, layer.code)
        if proto == 58 and name.startswith("ICMPv6") and "type" in layer.fields \
                and "code" in layer.fields:
            return (layer.type, layer.code)
        # scapy leaves the data after an IPv6 fragment header with more
        # fragments undissected: in a first fragment it starts with the
        # ICMPv6 header.
        if name == "IPv6ExtHdrFragment" and layer.offset == 0 and layer.nh == proto:
            load = bytes(layer.payload)
            return (load[0], load[1]) if len(load) >= 2 else None
        layer = layer.payload
    return None


def ranges(records):
    out = []
    start = prev = records[0]
    for r in records[1:]:
        if r == prev + 1:
            prev = r
            continue
        out.append(f"{start}-{prev}" if prev != start else str(start))
        start = prev = r
    out.append(f"{start}-{prev}" if prev != start else str(start))
    return ",".join(out)


if __name__ == "__main__":
    main()
