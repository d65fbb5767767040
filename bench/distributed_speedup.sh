#!/usr/bin/env bash
# Wall time of a capture-scan query run in-process, on one executor and on two,
# each executor running one task at a time, over the largest well-formed pcap
# files of the shared corpus. A measurement for docs/distributed.md, run by
# people, not by CI (it was an ignored test; a test that never runs in a normal
# run checks nothing, and a time is not something to assert).
#
#   bench/distributed_speedup.sh [FILES]     FILES: how many captures (8)
#
# Needs a build with the cluster feature:
#   cargo build --features distributed        (debug, as in docs/distributed.md)
# Environment: CARGO_TARGET_DIR as for cargo, FLOWQ (the binary to run),
# FLOWQ_SHARED (<repo>/../shared), RUNS (timed runs per setting, best kept; 3).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${FLOWQ_SHARED:-$ROOT/../shared}
FLOWQ=${FLOWQ:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/flowq}
FILES=${1:-8}
RUNS=${RUNS:-3}
CORPUS=$SHARED/pcaps

die() { printf 'distributed_speedup: %s\n' "$*" >&2; exit 1; }
[ -x "$FLOWQ" ] || die "no flowq binary at $FLOWQ (cargo build --features distributed)"
[ -f "$CORPUS/MANIFEST.tsv" ] || die "no corpus at $CORPUS"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# The largest pcap (not pcapng) files not marked MALFORMED, as in the measurement
# recorded in docs/distributed.md.
mkdir -p "$WORK/captures"
awk -F'\t' 'NR > 1 && $6 == "pcap" && $0 !~ /MALFORMED/ { print $5 "\t" $1 }' "$CORPUS/MANIFEST.tsv" |
    sort -rn | head -n "$FILES" | while IFS=$'\t' read -r _ path; do
        cp "$CORPUS/$path" "$WORK/captures/"
    done
MB=$(du -sb "$WORK/captures" | awk '{ printf "%.1f", $1 / 1e6 }')

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until the scheduler's readiness probe reports at least $2 executors.
wait_ready() {
    local port=$1 wanted=$2
    for _ in $(seq 1 900); do
        local answer
        answer=$(exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null &&
            printf 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 &&
            cat <&3) || answer=
        local count
        count=$(printf '%s' "$answer" | sed -n 's/.*ready: \([0-9]*\).*/\1/p' | head -n 1)
        if [ -n "$count" ] && [ "$count" -ge "$wanted" ]; then return 0; fi
        sleep 0.1
    done
    die "the cluster did not come up (logs in $WORK)"
}

SQL='select capture, count(*) as flows, sum(byte_count) as bytes from flows group by capture order by capture'

# Best wall time of RUNS runs of flowq with the given arguments, in seconds.
best_of() {
    local best=
    for _ in $(seq 1 "$RUNS"); do
        local start end took
        start=$(date +%s.%N)
        "$FLOWQ" query "$SQL" --pcap "$WORK/captures" --format csv "$@" >/dev/null
        end=$(date +%s.%N)
        took=$(echo "$end - $start" | bc)
        if [ -z "$best" ] || [ "$(echo "$took < $best" | bc)" = 1 ]; then best=$took; fi
    done
    printf '%.2f' "$best"
}

start_executor() {
    local n=$1 flight grpc
    flight=$(free_port)
    grpc=$(free_port)
    "$FLOWQ" executor --scheduler "127.0.0.1:$PORT" --bind "127.0.0.1:$flight" \
        --grpc-port "$grpc" -j 1 --work-dir "$WORK/work$n" >"$WORK/executor$n.log" 2>&1 &
    PIDS+=($!)
}

LOCAL=$(best_of)
PORT=$(free_port)
"$FLOWQ" scheduler --bind "127.0.0.1:$PORT" >"$WORK/scheduler.log" 2>&1 &
PIDS+=($!)
start_executor 0
wait_ready "$PORT" 1
RUNS=1 best_of --cluster "df://127.0.0.1:$PORT" >/dev/null # warm-up: page cache, connections
ONE=$(best_of --cluster "df://127.0.0.1:$PORT")
start_executor 1
wait_ready "$PORT" 2
RUNS=1 best_of --cluster "df://127.0.0.1:$PORT" >/dev/null
TWO=$(best_of --cluster "df://127.0.0.1:$PORT")
printf '%s captures, %s MB: local %s s, 1 executor %s s, 2 executors %s s, speed-up 1 -> 2 executors %.2fx\n' \
    "$FILES" "$MB" "$LOCAL" "$ONE" "$TWO" "$(echo "$ONE / $TWO" | bc -l)"
