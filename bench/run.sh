#!/usr/bin/env bash
# flowq's whole-program benchmark: flowq against its baselines and peers on the
# same captures. See docs/benchmarks.md for what each stage measures and the
# results measured with it. Run by people, not by CI.
#
#   bench/run.sh [STAGE...]        default: every stage, in this order
#
# Stages:
#   setup    venv with NFStream, scapy, pandas, DuckDB, numpy (pip, PyPI); tshark
#            and GNU time from apt when missing; cargo build --release
#   inputs   generate the synthetic captures (../shared/tools/gen_pcap.py)
#   harness  cargo bench (in-process: bare loop, decoder, flow table, extractor)
#   extract  1M capture and real captures: cat, flowq, NFStream, tshark
#   pandas   1M capture into a pandas DataFrame: flowq.extract().to_pandas(),
#            flowq extract -o x.parquet + pandas.read_parquet, NFStream's
#            to_pandas() (installs ./python into the venv)
#   seed     100k capture: flowq --profile seed against the original scapy script
#   big      10M capture (about 7.6 GB, generated on demand): time, peak RSS,
#            bytes per active flow, -j 1 / -j 2
#   sql      group-by queries over the 10M capture's flows: flowq against DuckDB
#   profile  perf record (or callgrind) of flowq extract on a 200k capture
#   callgrind instructions per packet (valgrind; stable under load) of the
#            harness's bare loop and flowq rows on the 200k capture, and ratios
#            (not in the default set: minutes under valgrind)
#   appcost  instructions (callgrind) of the standard profile with and without
#            the application columns (harness rows batches and noapp) on the
#            synthetic 1M capture and on the real TLS/DNS/HTTP mix that
#            bench/app_mix.py writes (not in the default set: minutes under
#            valgrind). See docs/benchmarks.md, "Application metadata columns".
#   cic      a CIC-IDS2017-sized run for a many-core machine (not in the default
#            set): the merged CIC-IDS2017 capture if CIC_IDS2017_PCAP names it,
#            else a synthetic one of the same packet count (56 370 702 packets,
#            about 45 GB; the disk must hold it); the floor (cat), flowq
#            standard/cic/full at -j 1 and -j $(nproc), RustiFlow (rustiflow on
#            PATH) and NFStream at the same core count; machine.txt records the
#            machine. See docs/benchmarks.md, *Scaling model*.
#   table    print every table of this run again
#
# Environment (all optional):
#   FLOWQ_BENCH_CACHE  venv and generated data     (~/.cache/flowq-bench)
#   FLOWQ_BENCH_DATA   where captures are written  ($FLOWQ_BENCH_CACHE/data)
#   FLOWQ_BENCH_OUT    results of this run         ($FLOWQ_BENCH_CACHE/results/latest)
#   RUNS               timed runs per command, best kept (3)
#   SLOW_RUNS          runs of the slow peers: NFStream, tshark (RUNS)
#   SCAPY_RUNS         runs of the scapy script (1; it takes minutes)
#   CARGO_TARGET_DIR   as for cargo
#   FLOWQ_SHARED       the shared corpus and tools  (<repo>/../shared)
#   CIC_IDS2017_PCAP   the merged CIC-IDS2017 capture for the cic stage (made as
#                      RustiFlow-experiments did: pcapfix, reordercap, then
#                      mergecap -a -F pcapng of the five days)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FLOWQ_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flowq-bench}
DATA=${FLOWQ_BENCH_DATA:-$CACHE/data}
OUT=${FLOWQ_BENCH_OUT:-$CACHE/results/latest}
RUNS=${RUNS:-3}
SLOW_RUNS=${SLOW_RUNS:-$RUNS}
SCAPY_RUNS=${SCAPY_RUNS:-1}
SHARED=${FLOWQ_SHARED:-$ROOT/../shared}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FLOWQ=$TARGET/release/flowq
VENV=$CACHE/venv
PY=$VENV/bin/python
RESULTS=$OUT/results.jsonl
LOG=$OUT/commands.log
SCRATCH=$OUT/scratch
# Pinned so that a later run measures the same peers.
PY_PACKAGES=(nfstream==6.6.0 scapy==2.8.0 pandas==3.1.1 duckdb==2.0.1 numpy==2.4.6)

say() { printf '\n== %s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

setup() {
    say "setup"
    local missing=()
    command -v tshark > /dev/null || missing+=(tshark)
    [ -x /usr/bin/time ] || missing+=(time)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]} with apt"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    fi
    local want="${PY_PACKAGES[*]}"
    if [ ! -x "$PY" ] || [ "$(cat "$VENV/.flowq-bench" 2> /dev/null)" != "$want" ]; then
        echo "creating $VENV: ${PY_PACKAGES[*]}"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q "${PY_PACKAGES[@]}"
        echo "$want" > "$VENV/.flowq-bench"
    fi
    (cd "$ROOT" && cargo build --release -q -p flowq)
}

# gen NAME PACKETS FLOWS: $DATA/NAME.pcap, unless it is there already.
gen() {
    local f=$DATA/$1.pcap
    [ -s "$f" ] && [ -s "$f.truth.json" ] && return
    echo "generating $f ($2 packets, $3 flows)"
    "$PY" "$SHARED/tools/gen_pcap.py" -n "$2" -f "$3" -o "$f" -q
}

inputs() {
    say "inputs in $DATA"
    mkdir -p "$DATA"
    gen synth-1M 1000000 50000
    gen synth-100k 100000 5000
    gen synth-200k 200000 10000
}

big_input() {
    mkdir -p "$DATA"
    gen synth-10M 10000000 500000
}

# packets FILE: packets in the capture, as flowq reads them.
packets() {
    "$FLOWQ" extract "$1" -o "$SCRATCH/count.csv" -q --stats-json "$SCRATCH/count.json"
    "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets_read"])' "$SCRATCH/count.json"
}

# stats FILE JSON ARGS...: one untimed flowq run that writes its run summary.
stats() {
    local in=$1 json=$2
    shift 2
    "$FLOWQ" extract "$in" -q --stats-json "$json" "$@"
}

measure() { "$PY" "$ROOT/bench/measure.py" group --results "$RESULTS" --log "$LOG" "$@"; }

machine() {
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
        echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
        echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
        echo "kernel: $(uname -r)"
        echo "rustc: $(rustc --version)"
        echo "flowq: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo ' (modified)')"
        echo "tshark: $(tshark --version 2> /dev/null | head -1)"
        echo "python: $("$PY" --version); $("$VENV/bin/pip" list 2> /dev/null | grep -i -E '^(nfstream|scapy|duckdb|pandas|numpy) ' | tr -s ' ' | paste -sd, -)"
        echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    } | tee "$OUT/machine.txt"
}

harness() {
    say "harness: cargo bench on the 1M capture (in-process)"
    (cd "$ROOT" && FLOWQ_BENCH_PCAP=$DATA/synth-1M.pcap cargo bench -q -p flowq-extract --bench extract) |
        tee "$OUT/harness.txt"
}

extract() {
    local f=$DATA/synth-1M.pcap n
    say "extract: 1M capture ($f)"
    n=$(packets "$f")
    cat "$f" > /dev/null
    measure --group 1M --input "$f" --packets "$n" --ref "flowq extract -o x.parquet" \
        --cmd "cat > /dev/null" "$RUNS" "page cache" "cat $f > /dev/null" \
        --cmd "flowq extract -o x.parquet" "$RUNS" "" "$FLOWQ extract $f -o $SCRATCH/x.parquet -q" \
        --cmd "flowq extract -o x.csv" "$RUNS" "" "$FLOWQ extract $f -o $SCRATCH/x.csv -q" \
        --cmd "flowq extract -j 2 -o x.parquet" "$RUNS" "" "$FLOWQ extract $f -j 2 -o $SCRATCH/x.parquet -q" \
        --cmd "flowq extract --profile full -o x.parquet" "$RUNS" "106 columns" "$FLOWQ extract $f --profile full -o $SCRATCH/full.parquet -q" \
        --cmd "NFStream 6.6" "$SLOW_RUNS" "1 meter, no stats, no DPI" "$PY $ROOT/bench/nfstream_flows.py $f $SCRATCH/nfstream-1M.count" \
        --cmd "tshark -z conv,tcp -z conv,udp" "$SLOW_RUNS" "" "tshark -q -z conv,tcp -z conv,udp -r $f > /dev/null"
    stats "$f" "$OUT/stats-1M-parquet.json" -o "$SCRATCH/x.parquet"
    stats "$f" "$OUT/stats-1M-csv.json" -o "$SCRATCH/x.csv"
    stats "$f" "$OUT/stats-1M-j2.json" -j 2 -o "$SCRATCH/x.parquet"

    # Real captures: the largest ones in the shared corpus (a few MB each, so
    # process start-up weighs in every tool's time).
    local real
    for real in zeek/echo-connections.pcap suricata-verify/denial6-6.pcap; do
        f=$SHARED/pcaps/$real
        [ -f "$f" ] || continue
        n=$(packets "$f")
        measure --group "$(basename "$real")" --input "$f" --packets "$n" --ref "flowq extract -o x.parquet" \
            --cmd "flowq extract -o x.parquet" "$RUNS" "" "$FLOWQ extract $f -o $SCRATCH/x.parquet -q" \
            --cmd "NFStream 6.6" "$SLOW_RUNS" "1 meter, no stats, no DPI" "$PY $ROOT/bench/nfstream_flows.py $f" \
            --cmd "tshark -z conv,tcp -z conv,udp" "$SLOW_RUNS" "" "tshark -q -z conv,tcp -z conv,udp -r $f > /dev/null"
    done
}

pandas() {
    local f=$DATA/synth-1M.pcap n
    say "pandas: 1M capture into pandas ($f)"
    # The package's dependencies, then the package as the tree has it now.
    "$VENV/bin/pip" install -q "pyarrow>=14" "tqdm>=4.60"
    "$VENV/bin/pip" install -q --force-reinstall --no-deps "$ROOT/python"
    n=$(packets "$f")
    cat "$f" > /dev/null
    measure --group "1M to pandas" --input "$f" --packets "$n" --ref "flowq extract -o x.parquet + pandas.read_parquet" \
        --cmd "flowq extract -o x.parquet + pandas.read_parquet" "$RUNS" "" "$PY $ROOT/bench/python_to_pandas.py cli $f $FLOWQ $SCRATCH/x.parquet" \
        --cmd "flowq.extract().to_pandas()" "$RUNS" "target: within 1.3x" "$PY $ROOT/bench/python_to_pandas.py flowq $f" \
        --cmd "NFStream 6.6 to_pandas()" "$SLOW_RUNS" "target: 20x slower or more" "$PY $ROOT/bench/python_to_pandas.py nfstream $f"
}

seed() {
    local f=$DATA/synth-100k.pcap n
    say "seed: 100k capture, flowq --profile seed against the original scapy script"
    n=$(packets "$f")
    measure --group 100k --input "$f" --packets "$n" --ref "flowq extract --profile seed -o x.csv" \
        --cmd "flowq extract --profile seed -o x.csv" "$RUNS" "" "$FLOWQ extract $f --profile seed -o $SCRATCH/seed.csv -q" \
        --cmd "flowq extract -o x.parquet" "$RUNS" "" "$FLOWQ extract $f -o $SCRATCH/x.parquet -q" \
        --cmd "seed_script.py (scapy + pandas)" "$SCAPY_RUNS" "the original script" "$PY $SHARED/reference/seed_script.py $f $SCRATCH/seed-script.csv"
}

big() {
    local f=$DATA/synth-10M.pcap tiny=$ROOT/testdata/sample.pcap n
    say "big: 10M capture ($f)"
    big_input
    n=$(packets "$f")
    cat "$f" > /dev/null
    measure --group 10M --input "$f" --packets "$n" --ref "flowq extract -o x.parquet" \
        --cmd "cat > /dev/null" "$RUNS" "page cache" "cat $f > /dev/null" \
        --cmd "flowq extract -o x.parquet" "$RUNS" "" "$FLOWQ extract $f -o $DATA/synth-10M.flows.parquet -q" \
        --cmd "flowq extract -o x.csv" "$RUNS" "" "$FLOWQ extract $f -o $SCRATCH/x.csv -q" \
        --cmd "flowq extract -j 2 -o x.parquet" "$RUNS" "" "$FLOWQ extract $f -j 2 -o $SCRATCH/x.parquet -q" \
        --cmd "flowq extract --profile seed -o x.csv" "$RUNS" "no timeouts: every flow open to the end" "$FLOWQ extract $f --profile seed -o $SCRATCH/x.csv -q"
    stats "$f" "$OUT/stats-10M-parquet.json" -o "$SCRATCH/x.parquet"
    stats "$f" "$OUT/stats-10M-csv.json" -o "$SCRATCH/x.csv"
    stats "$f" "$OUT/stats-10M-j2.json" -j 2 -o "$SCRATCH/x.parquet"
    stats "$f" "$OUT/stats-10M-seed.json" --profile seed -o "$SCRATCH/x.csv"
    measure --group tiny --input "$tiny" --packets 800 --ref "flowq extract -o x.parquet" \
        --cmd "flowq extract -o x.parquet" "$RUNS" "" "$FLOWQ extract $tiny -o $SCRATCH/x.parquet -q" \
        --cmd "flowq extract -o x.csv" "$RUNS" "" "$FLOWQ extract $tiny -o $SCRATCH/x.csv -q" \
        --cmd "flowq extract -j 2 -o x.parquet" "$RUNS" "" "$FLOWQ extract $tiny -j 2 -o $SCRATCH/x.parquet -q" \
        --cmd "flowq extract --profile seed -o x.csv" "$RUNS" "" "$FLOWQ extract $tiny --profile seed -o $SCRATCH/x.csv -q"
    memory_table
}

memory_table() {
    "$PY" "$ROOT/bench/measure.py" memory "$RESULTS" "$OUT" | tee "$OUT/memory.md"
}

sql() {
    local p=$DATA/synth-10M.flows.parquet q i=0
    say "sql: group-by over the flows of the 10M capture ($p)"
    [ -s "$p" ] || { big_input && "$FLOWQ" extract "$DATA/synth-10M.pcap" -o "$p" -q; }
    local queries=(
        "select dst_port, count(*) as flows, sum(byte_count) as bytes from flows group by dst_port order by bytes desc limit 10"
        "select src_ip, count(*) as flows, sum(pkt_count) as packets from flows group by src_ip order by packets desc limit 10"
        "select protocol, end_reason, count(*) as flows, avg(duration) as mean_duration, max(byte_count) as largest from flows group by protocol, end_reason order by protocol, end_reason"
    )
    measure --group "sql start-up" --input "$p" --ref "flowq: select 1" \
        --cmd "flowq: select 1" "$RUNS" "" "$FLOWQ 'select 1' --data $p --format csv > /dev/null" \
        --cmd "duckdb: select 1" "$RUNS" "" "$PY $ROOT/bench/duckdb_query.py $p 'select 1'"
    for q in "${queries[@]}"; do
        i=$((i + 1))
        echo "Q$i: $q" | tee -a "$OUT/queries.txt"
        measure --group "Q$i" --input "$p" --ref "flowq" \
            --cmd "flowq" "$RUNS" "" "$FLOWQ '$q' --data $p --format csv > $SCRATCH/flowq-q$i.csv" \
            --cmd "DuckDB $("$PY" -c 'import duckdb; print(duckdb.__version__)')" "$RUNS" "" "$PY $ROOT/bench/duckdb_query.py $p '$q' $SCRATCH/duckdb-q$i.csv"
        "$PY" "$ROOT/bench/duckdb_query.py" "$p" "$q" "$SCRATCH/duckdb-q$i.csv" --compare "$SCRATCH/flowq-q$i.csv"
    done
}

profile() {
    local f=$DATA/synth-200k.pcap
    say "profile: flowq extract on $f"
    if perf record -e cpu-clock -F 4999 -g -o "$OUT/perf.data" -- \
        "$FLOWQ" extract "$f" -o "$SCRATCH/x.parquet" -q 2>> "$LOG"; then
        perf report -i "$OUT/perf.data" --no-children --stdio --percent-limit 1 \
            --sort symbol -g none 2> /dev/null | grep -v '^$' | head -60 | tee "$OUT/profile.txt"
    else
        echo "perf record failed; using callgrind (slow)"
        valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
            "$FLOWQ" extract "$f" -o "$SCRATCH/x.parquet" -q 2>> "$LOG"
        callgrind_annotate "$OUT/callgrind.out" | head -60 | tee "$OUT/profile.txt"
    fi
}

# Instruction counts do not depend on the machine's load, so their ratio is a
# stand-in for the wall-time ratio to the bare loop on a shared machine (it
# misses cache misses, and counts a `rep movsb` copy one byte at a time).
callgrind() {
    local f=$DATA/synth-200k.pcap bin row n ir bare=
    say "callgrind: instructions per packet on $f"
    command -v valgrind > /dev/null || die "valgrind is not installed"
    bin=$(cd "$ROOT" && cargo bench -q -p flowq-extract --bench extract --no-run --message-format=json 2> /dev/null |
        grep -o '"executable":"[^"]*/extract-[^"]*"' | tail -1 | cut -d'"' -f4)
    [ -x "$bin" ] || die "no bench executable"
    for row in bare batches parquet full fullparquet fulldeep cic; do
        FLOWQ_BENCH_ONLY=$row FLOWQ_BENCH_PCAP=$f valgrind --tool=callgrind \
            --callgrind-out-file="$OUT/callgrind.$row.out" "$bin" > "$SCRATCH/callgrind.$row.log" 2>&1
        ir=$(grep -o 'Collected : [0-9]*' "$SCRATCH/callgrind.$row.log" | grep -o '[0-9]*$')
        n=$(grep -o '[0-9]* packets' "$SCRATCH/callgrind.$row.log" | head -1 | grep -o '^[0-9]*')
        [ -n "$bare" ] || bare=$((ir / n))
        echo "$row: $((ir / n)) instructions/packet, x$(awk "BEGIN {printf \"%.2f\", $ir / $n / $bare}") bare loop"
    done | tee "$OUT/callgrind.txt"
}

appcost() {
    local bin f row ir n mix=$DATA/app-mix.pcap
    say "appcost: instructions with and without the application columns"
    command -v valgrind > /dev/null || die "valgrind is not installed"
    gen synth-1M 1000000 50000
    [ -s "$mix" ] || python3 "$ROOT/bench/app_mix.py" "$mix" --shared "$SHARED"
    bin=$(cd "$ROOT" && cargo bench -q -p flowq-extract --bench extract --no-run --message-format=json 2> /dev/null |
        grep -o '"executable":"[^"]*/extract-[^"]*"' | tail -1 | cut -d'"' -f4)
    [ -x "$bin" ] || die "no bench executable"
    for f in "$DATA/synth-1M.pcap" "$mix"; do
        declare -A got=()
        for row in noapp batches; do
            FLOWQ_BENCH_ONLY=$row FLOWQ_BENCH_PCAP=$f valgrind --tool=callgrind \
                --callgrind-out-file="$OUT/callgrind.app.$row.$(basename "$f" .pcap).out" "$bin" \
                > "$SCRATCH/appcost.$row.log" 2>&1
            ir=$(grep -o 'Collected : [0-9]*' "$SCRATCH/appcost.$row.log" | grep -o '[0-9]*$')
            n=$(grep -o '[0-9]* packets' "$SCRATCH/appcost.$row.log" | head -1 | grep -o '^[0-9]*')
            got[$row]=$ir
            echo "$(basename "$f"): $row $ir instructions ($n packets)"
        done
        echo "$(basename "$f"): batches / noapp = $(awk "BEGIN {printf \"%.3f\", ${got[batches]} / ${got[noapp]}}")"
    done | tee "$OUT/appcost.txt"
}

cic() {
    local f=${CIC_IDS2017_PCAP:-$DATA/synth-cic-sized.pcap} n j
    j=$(nproc)
    say "cic: a CIC-IDS2017-sized run on $j cores ($f)"
    if [ ! -s "$f" ]; then
        [ -z "${CIC_IDS2017_PCAP:-}" ] || die "$CIC_IDS2017_PCAP is missing"
        local free_gb
        free_gb=$(df -P -BG "$DATA" | awk 'NR == 2 {print $4 + 0}')
        [ "$free_gb" -ge 50 ] || die "$DATA has ${free_gb} GB free; the synthetic capture needs about 50"
        mkdir -p "$DATA"
        # The merged capture's packet count; 20 packets per flow, as synth-1M.
        echo "generating $f (56 370 702 packets, 2 818 535 flows)"
        "$PY" "$SHARED/tools/gen_pcap.py" -n 56370702 -f 2818535 -o "$f" -q
    fi
    n=$(packets "$f")
    cat "$f" > /dev/null
    local cmds=(
        --cmd "cat > /dev/null" "$RUNS" "the floor: page cache (or disk) to nothing" "cat $f > /dev/null"
    )
    local profile
    for profile in standard cic full; do
        cmds+=(--cmd "flowq --profile $profile -j 1" "$RUNS" "Parquet" "$FLOWQ extract $f --profile $profile -j 1 -o $SCRATCH/cic-$profile.parquet -q")
        cmds+=(--cmd "flowq --profile $profile -j $j" "$RUNS" "Parquet" "$FLOWQ extract $f --profile $profile -j $j -o $SCRATCH/cic-$profile.parquet -q")
    done
    if command -v rustiflow > /dev/null; then
        cmds+=(--cmd "RustiFlow -f cic" "$SLOW_RUNS" "$j threads, CSV" "rustiflow --threads $j -f cic -o csv --export-path $SCRATCH/rustiflow-cic.csv pcap $f")
        cmds+=(--cmd "RustiFlow -f basic" "$SLOW_RUNS" "$j threads, CSV" "rustiflow --threads $j -f basic -o csv --export-path $SCRATCH/rustiflow-basic.csv pcap $f")
    else
        echo "rustiflow is not on PATH: RustiFlow not measured (cargo install --git https://github.com/idlab-discover/RustiFlow)"
    fi
    cmds+=(--cmd "NFStream 6.6" "$SLOW_RUNS" "$j meters, no stats, no DPI" "$PY $ROOT/bench/nfstream_flows.py $f $SCRATCH/nfstream-cic.count $j")
    measure --group "CIC-IDS2017-sized" --input "$f" --packets "$n" --ref "flowq --profile standard -j $j" "${cmds[@]}"
    for profile in standard cic full; do
        stats "$f" "$OUT/stats-cic-$profile-j$j.json" --profile "$profile" -j "$j" -o "$SCRATCH/cic-$profile.parquet"
    done
    rm -f "$SCRATCH"/cic-*.parquet "$SCRATCH"/rustiflow-*.csv
}

table() {
    say "results ($RESULTS; the commands and their output are in $LOG)"
    cat "$OUT/machine.txt"
    echo
    "$PY" "$ROOT/bench/measure.py" table "$RESULTS"
    [ -s "$OUT/memory.md" ] && { echo; cat "$OUT/memory.md"; }
    true
}

stages=("$@")
if [ ${#stages[@]} = 0 ]; then
    stages=(setup inputs harness extract pandas seed big sql profile table)
    # A full run starts a fresh results directory; the previous one is kept.
    [ -d "$OUT" ] && rm -rf "$OUT.prev" && mv "$OUT" "$OUT.prev"
fi
for s in "${stages[@]}"; do
    case $s in
        setup | inputs | harness | extract | pandas | seed | big | sql | profile | callgrind | appcost | cic | table) ;;
        *) die "unknown stage '$s' (see the top of $0)" ;;
    esac
done
mkdir -p "$OUT" "$SCRATCH"
for s in "${stages[@]}"; do
    if [ "$s" != setup ] && [ "$s" != table ] && [ ! -s "$OUT/machine.txt" ]; then machine; fi
    [ "$s" = setup ] || [ -x "$PY" ] || die "run '$0 setup' first"
    "$s"
done
