#!/usr/bin/env bash
# Regenerate the `--profile seed` fixtures in testdata/seed/:
#   1. a Python venv with the pinned scapy + pandas the CSVs were made with,
#   2. the hand-built captures (make_captures.py),
#   3. one CSV per capture, written by the original seed script (the oracle).
#
# Usage (any working directory; paths are resolved from the repo root):
#   bash testdata/seed/regen.sh           # rewrite captures and CSVs in place
#   bash testdata/seed/regen.sh --check   # regenerate into a temp dir and diff
#
# Environment overrides (all relative to the repo root unless absolute):
#   SEED_VENV    venv directory               (default: target/seed-venv)
#   PYTHON       interpreter to create it     (default: python3; needs >= 3.11)
#   CORPUS       the shared pcap corpus       (default: ../shared/pcaps)
#   SEED_SCRIPT  the original seed script     (default: ../shared/reference/seed_script.py)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # repo root

SEED_DIR=testdata/seed
VENV=${SEED_VENV:-target/seed-venv}
PYTHON=${PYTHON:-python3}
CORPUS=${CORPUS:-../shared/pcaps}
SEED_SCRIPT=${SEED_SCRIPT:-../shared/reference/seed_script.py}

# Exact versions the committed CSVs were generated with (CPython 3.11.7).
PINS=(scapy==2.8.0 pandas==3.1.1 numpy==2.4.6 python-dateutil==4.0.0 tzdata==2026.6)

# Captures built by make_captures.py (CSV name = capture name + .csv).
BUILT=(
  tcp_session.pcap
  tcp_session_be.pcap
  mixed.pcap
  quirks.pcap
  backwards.pcap
  nano.pcap
  mixed.pcapng
  raw_ip.pcap
  no_ip.pcap
  icmp_ext.pcap
  unknown_linktype.pcap
)

# Corpus captures, read in place from $CORPUS (never copied here).
# CSV name = path with "/" replaced by "__" + .csv, e.g. retina__quic.pcap.csv
CORPUS_CAPTURES=(
  retina/quic.pcap
  rustiflow/nmap_tcp_syn_version.pcap
  rustiflow/nmap_udp_version.pcap
  tcpdump/tcp-handshake-nano.pcap
  scapy/netflowv9.pcap
  zeek/pcapng-multi-interface.pcapng
  nfstream/steam_datagram_relay_ping.pcapng
  nfstream/dhcp_big_endian.pcapng
  zeek/start-with-server.pcapng
  zeek/gre-sample.pcap
  zeek/vxlan-encapsulated-http.pcap
  zeek/http-qinq-0.pcap
  zeek/mixed-vlan-mpls.pcap
  zeek/icmp-destunreach-udp.pcap
  zeek/vntag.pcap
  tcpdump/bigtcp-ipv4-vxlan-ipv6.pcap
  tcpdump/timestamp_invalid_micro.pcap
  tcpdump/time_2107.pcapng
)

check=0
if [ "${1:-}" = "--check" ]; then check=1; fi

if [ ! -f "$SEED_SCRIPT" ]; then
  echo "regen.sh: seed script not found at $SEED_SCRIPT" >&2; exit 1
fi
if [ ! -d "$CORPUS" ]; then
  echo "regen.sh: corpus not found at $CORPUS" >&2; exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pandas 3.1.1 needs Python >= 3.11")'
"$PY" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"

if [ "$check" = 1 ]; then
  OUT=$(mktemp -d)
  trap 'rm -rf "$OUT"' EXIT
else
  OUT=$SEED_DIR
fi

"$PY" "$SEED_DIR/make_captures.py" "$OUT"

for f in "${BUILT[@]}"; do
  "$PY" "$SEED_SCRIPT" "$OUT/$f" "$OUT/$f.csv"
done

for c in "${CORPUS_CAPTURES[@]}"; do
  "$PY" "$SEED_SCRIPT" "$CORPUS/$c" "$OUT/${c//\//__}.csv"
done

if [ "$check" = 1 ]; then
  status=0
  for f in "${BUILT[@]}"; do
    cmp -s "$OUT/$f" "$SEED_DIR/$f" || { echo "differs: $f"; status=1; }
    cmp -s "$OUT/$f.csv" "$SEED_DIR/$f.csv" || { echo "differs: $f.csv"; status=1; }
  done
  for c in "${CORPUS_CAPTURES[@]}"; do
    n="${c//\//__}.csv"
    cmp -s "$OUT/$n" "$SEED_DIR/$n" || { echo "differs: $n"; status=1; }
  done
  [ "$status" = 0 ] && echo "regen.sh --check: all fixtures reproduce"
  exit "$status"
fi
