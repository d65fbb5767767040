#!/usr/bin/env python3
"""Reference for the seed script's `duration` text, using integers only (no
decimal module), plus a self-check against the committed CSVs.

A timestamp is a pair (coef, exp) meaning coef * 10**exp, exactly as scapy's
EDecimal holds it (see README.md, "duration"). The functions here are what a
Rust port has to reproduce.

Self-check (from the repo root, inside the venv made by regen.sh):
    python testdata/seed/duration_rule.py [CORPUS_DIR]
It re-reads every capture behind a CSV in testdata/seed/, recomputes each
flow's duration text with these functions (flow keys still come from scapy)
and compares it with the CSV. CORPUS_DIR defaults to ../shared/pcaps.
"""
import csv
import os
import sys


def ts_classic(sec, frac, nano):
    """Classic pcap record: scapy computes sec + Decimal(10)**-6 * usec
    (or 10**-9 * nsec): the exponent is always -6 (-9), never normalised,
    and frac is not range-checked (frac >= 10**6 simply adds seconds)."""
    return (sec * 10**9 + frac, -9) if nano else (sec * 10**6 + frac, -6)


def ts_pcapng(ts, tsresol):
    """pcapng EPB/PB: scapy computes EDecimal(ts) / tsresol, tsresol being
    10**k or 2**k. Decimal division gives the exact quotient at the largest
    exponent <= 0 that still represents it (trailing zeros are dropped, but
    never past the decimal point), rounded to 28 significant digits
    (ROUND_HALF_EVEN) if it needs more."""
    k10 = 0
    while 10 ** (k10 + 1) <= tsresol and tsresol % 10 ** (k10 + 1) == 0:
        k10 += 1
    if 10 ** k10 == tsresol:
        coef, exp = ts, -k10
    else:  # 2**k: ts / 2**k == ts * 5**k / 10**k
        k = tsresol.bit_length() - 1
        assert 1 << k == tsresol, "scapy only makes 10**k or 2**k"
        coef, exp = ts * 5**k, -k
    if coef == 0:
        return (0, 0)
    while exp < 0 and coef % 10 == 0:
        coef //= 10
        exp += 1
    coef, exp = _round28(coef, exp)
    return (coef, exp)


def _round28(coef, exp):
    digits = len(str(abs(coef)))
    if digits <= 28:
        return coef, exp
    drop = digits - 28
    q, r = divmod(abs(coef), 10**drop)
    half = 5 * 10 ** (drop - 1)
    if r > half or (r == half and q % 2 == 1):
        q += 1
    if len(str(q)) > 28:  # carry: 999..9 rounded up to 10**28
        q //= 10
        drop += 1
    return (q if coef >= 0 else -q), exp + drop


def decimal_str(coef, exp):
    """str() of a Python Decimal with this sign*coefficient and exponent
    (General Decimal Arithmetic to-scientific-string)."""
    sign = "-" if coef < 0 else ""
    c = str(abs(coef))
    left = exp + len(c)  # digits left of the decimal point
    if exp <= 0 and left > -6:  # plain notation
        if left <= 0:
            body = "0." + "0" * (-left) + c
        elif left >= len(c):
            body = c + "0" * (left - len(c))  # only reached with exp == 0
        else:
            body = c[:left] + "." + c[left:]
        return sign + body
    adj = left - 1  # scientific notation, one digit before the point
    body = c[0] + ("." + c[1:] if len(c) > 1 else "")
    return sign + body + "E" + ("+" if adj >= 0 else "-") + str(abs(adj))


def duration_text(start, end):
    """start/end: (coef, exp) of the flow's first and last packet in file
    order. A zero timestamp (coef == 0) makes the seed script write int 0."""
    (cs, es), (ce, ee) = start, end
    if cs == 0 or ce == 0:
        return "0"
    e = min(es, ee)
    d = ce * 10 ** (ee - e) - cs * 10 ** (es - e)
    d, e = _round28(d, e)  # Decimal subtraction rounds to 28 digits too
    return decimal_str(d, e)


# ---------------------------------------------------------------- self-check

def _timestamps(path):
    """(coef, exp) per record, straight from the file's headers, via scapy's
    raw readers (no packet dissection, no Decimal)."""
    from scapy.utils import RawPcapReader
    out = []
    r = RawPcapReader(path)
    for _data, meta in r:
        if hasattr(meta, "tsresol"):
            if meta.tshigh is None:
                out.append(None)  # Simple Packet Block: no timestamp
            else:
                out.append(ts_pcapng((meta.tshigh << 32) + meta.tslow, meta.tsresol))
        else:
            out.append(ts_classic(meta.sec, meta.usec, r.nano))
    return out


def _check(capture, csv_path):
    from scapy.all import IP, rdpcap
    pkts = rdpcap(capture)
    stamps = _timestamps(capture)
    assert len(stamps) == len(pkts)
    flows = {}
    for p, ts in zip(pkts, stamps):
        if IP not in p:
            continue
        key = (p[IP].src, p[IP].dst,
               p.sport if hasattr(p, "sport") else 0,
               p.dport if hasattr(p, "dport") else 0, p[IP].proto)
        if key not in flows:
            flows[key] = [ts, ts]
        flows[key][1] = ts
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    mine = [duration_text(s, e) for s, e in flows.values()]
    theirs = [r[5] for r in rows]
    return mine == theirs, len(theirs)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "pcaps")
    ok = True
    for name in sorted(os.listdir(here)):
        if not name.endswith(".csv"):
            continue
        base = name[:-4]
        cap = os.path.join(here, base) if os.path.exists(os.path.join(here, base)) \
            else os.path.join(corpus, base.replace("__", "/"))
        same, n = _check(cap, os.path.join(here, name))
        print(("ok  " if same else "BAD ") + name + " (%d rows)" % n)
        ok &= same
    # a few fixed cases
    assert duration_text(ts_classic(5, 0, False), ts_classic(5, 0, False)) == "0.000000"
    assert duration_text(ts_classic(0, 0, False), ts_classic(5, 0, False)) == "0"
    assert duration_text(ts_classic(5, 5, True), ts_classic(5, 505, True)) == "5.00E-7"
    assert duration_text(ts_pcapng(5 * 10**9 + 10, 10**9), ts_pcapng(5 * 10**9 + 10, 10**9)) == "0E-8"
    assert duration_text(ts_pcapng(5 * 10**6, 10**6), ts_pcapng(5 * 10**6, 10**6)) == "0"
    assert duration_text(ts_pcapng(5 * 1024 + 1, 1024), ts_pcapng(5 * 1024 + 3, 1024)) == "0.0019531250"
    print("all ok" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
