#!/usr/bin/env bash
# Reference outputs for optimisation work: runs one flowq binary over a fixed
# set of captures (the 1M synthetic one and 11 real ones with tunnels,
# fragments and pcapng), with the standard, full, cic2017, nfstream and seed
# profiles, CSV and Parquet, -j 1 and -j 2, and writes their SHA-256 sums.
# A change that must not change outputs gives the same sums before and after:
#
#   bench/outputs.sh OLD_FLOWQ /tmp/before
#   bench/outputs.sh NEW_FLOWQ /tmp/after
#   diff /tmp/before/sums /tmp/after/sums
#
# Environment: FLOWQ_SHARED (<repo>/../shared), FLOWQ_BENCH_DATA (where
# bench/run.sh generated synth-1M.pcap; ~/.cache/flowq-bench/data).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:?usage: bench/outputs.sh FLOWQ_BINARY OUT_DIR}
OUT=${2:?usage: bench/outputs.sh FLOWQ_BINARY OUT_DIR}
# Absolute, normalised paths: Parquet files record their inputs' paths.
SHARED=$(cd "${FLOWQ_SHARED:-$ROOT/../shared}" && pwd) || exit 2
DATA=${FLOWQ_BENCH_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/flowq-bench/data}
P=$SHARED/pcaps
mkdir -p "$OUT"
rm -f "$OUT"/*.out.* "$OUT/err.log"
inputs=("$DATA/synth-1M.pcap" "$P/zeek/echo-connections.pcap" "$P/suricata-verify/denial6-6.pcap"
    "$P/nfstream/tor.pcap" "$P/ndpi/1kxun.pcap" "$P/pcap-parser/wireshark_samples-test.pcapng"
    "$P/tcpdump/various_gre.pcap" "$P/suricata-verify/vxlan.pcap" "$P/tcpdump/geneve.pcap"
    "$P/ndpi/ipv6_in_gtp.pcap" "$P/ndpi/gre.pcapng"
    "$P/zeek/chromium-115.0.5790.110-google-de-fragmented.pcap")
i=0
for f in "${inputs[@]}"; do
    i=$((i + 1))
    [ -f "$f" ] || { echo "missing input: $f" >&2; exit 2; }
    n=$(basename "$f")
    for v in "std:" "full:--profile full" "j2:-j 2" "fullj2:--profile full -j 2" \
        "cic:--profile cic2017" "nfs:--profile nfstream" "seed:--profile seed"; do
        tag=${v%%:*}
        args=${v#*:}
        for ext in parquet csv; do
            # The 1M capture: the slow profiles in CSV only.
            if [ $i = 1 ] && [ "$tag" = cic -o "$tag" = nfs -o "$tag" = seed ] && [ $ext = parquet ]; then
                continue
            fi
            # shellcheck disable=SC2086 # $args holds several words on purpose
            "$BIN" extract "$f" $args -o "$OUT/$n.$tag.out.$ext" -q 2>> "$OUT/err.log" ||
                echo "FAIL $n $tag $ext" >> "$OUT/err.log"
        done
    done
done
(cd "$OUT" && sha256sum -- *.out.* > sums)
echo "$(wc -l < "$OUT/sums") outputs in $OUT/sums"
