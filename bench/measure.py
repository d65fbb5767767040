"""Runs commands, times them and records their peak memory; prints tables.

Used by bench/run.sh (see docs/benchmarks.md). Standard library only.

* Wall time: time.perf_counter around fork/exec/wait.
* Peak RSS: the larger of (a) GNU time's %M (ru_maxrss: the peak of the
  largest single process of the command's tree),
  and (b) the largest sum of VmRSS over the whole process tree, sampled from
  /proc every 10 ms (this matters for tools that fork workers, like NFStream).
* The commands of one group run round-robin (run 1 of every command, then
  run 2, ...), so slow drifts of a shared machine hit all of them alike; the
  best time of each command is kept.
"""

import json
import os
import shlex
import subprocess
import sys
import threading
import time

GNU_TIME = os.environ.get("GNU_TIME", "/usr/bin/time")


def _children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def _rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kib(root):
    """Summed VmRSS of the descendants of `root` (not `root` itself: GNU time)."""
    total, todo, seen = 0, _children(root), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_kib(pid)
        todo.extend(_children(pid))
    return total


def run_once(cmd, log, tmp):
    """Runs `cmd` once: (seconds, peak RSS KiB, exit code).

    `cmd` is split like a shell word list; a final `> FILE` redirects its
    standard output. It runs under GNU time (`-f %M`), which forks from a small
    process: a child forked from this Python process would inherit Python's
    resident pages into its ru_maxrss.
    """
    words = shlex.split(cmd)
    stdout = log
    if ">" in words:
        i = words.index(">")
        stdout = open(words[i + 1], "wb")
        words = words[:i]
    peak = [0]
    done = threading.Event()
    start = time.perf_counter()
    proc = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", tmp, "--"] + words, stdout=stdout, stderr=log)

    def sample():
        while not done.wait(0.01):
            peak[0] = max(peak[0], _tree_rss_kib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rc = proc.wait()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if stdout is not log:
        stdout.close()
    try:
        with open(tmp) as f:
            maxrss = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        maxrss = 0
    return seconds, max(peak[0], maxrss), rc


def run_group(spec, results_path, log_path):
    """spec: {group, input, packets, bytes, ref, commands: [{label, cmd, runs, note}]}."""
    best = {c["label"]: None for c in spec["commands"]}
    peak = {c["label"]: 0 for c in spec["commands"]}
    times = {c["label"]: [] for c in spec["commands"]}
    rounds = max(c.get("runs", 1) for c in spec["commands"])
    with open(log_path, "a") as log:
        for r in range(rounds):
            for c in spec["commands"]:
                if r >= c.get("runs", 1):
                    continue
                log.write(f"\n### {spec['group']} / {c['label']} run {r + 1}: {c['cmd']}\n")
                log.flush()
                s, kib, rc = run_once(c["cmd"], log, results_path + ".time")
                if rc != 0:
                    sys.exit(f"bench: '{c['label']}' failed (exit {rc}); see {log_path}")
                times[c["label"]].append(s)
                best[c["label"]] = s if best[c["label"]] is None else min(best[c["label"]], s)
                peak[c["label"]] = max(peak[c["label"]], kib)
                print(f"  {c['label']:<40} run {r + 1}: {s:8.3f} s {kib / 1024:9.1f} MiB", flush=True)
    with open(results_path, "a") as out:
        for c in spec["commands"]:
            row = {
                "group": spec["group"],
                "input": spec["input"],
                "packets": spec["packets"],
                "bytes": spec["bytes"],
                "ref": spec["ref"],
                "label": c["label"],
                "note": c.get("note", ""),
                "runs": len(times[c["label"]]),
                "seconds": best[c["label"]],
                "all_seconds": times[c["label"]],
                "peak_rss_kib": peak[c["label"]],
            }
            out.write(json.dumps(row) + "\n")


def print_table(results_path):
    rows = [json.loads(line) for line in open(results_path) if line.strip()]
    groups = []
    for r in rows:
        if r["group"] not in groups:
            groups.append(r["group"])
    print("| input | command | runs | best time | packets/s | MB/s | peak RSS | time x flowq | RSS x flowq |")
    print("|---|---|---|---|---|---|---|---|---|")
    for g in groups:
        rs = [r for r in rows if r["group"] == g]
        ref = next((r for r in rs if r["label"] == rs[0]["ref"]), None)
        first = True
        for r in rs:
            s, mib = r["seconds"], r["peak_rss_kib"] / 1024
            pps = r["packets"] / s if r["packets"] else 0
            mbs = r["bytes"] / 1e6 / s if r["bytes"] else 0
            xt = f"{s / ref['seconds']:.2f}" if ref else "–"
            xm = f"{r['peak_rss_kib'] / ref['peak_rss_kib']:.2f}" if ref else "–"
            if r is ref:
                xt, xm = "**1.00**", "**1.00**"
            size = f"{r['bytes'] / 1e6:,.0f} MB" if r["bytes"] >= 1e6 else f"{r['bytes'] / 1e3:,.0f} kB"
            what = f"{size}, {r['packets']:,} pkts" if r["packets"] else f"{os.path.basename(r['input'])}, {size}"
            name = f"{g} ({what})" if first else ""
            label = r["label"] + (f" ({r['note']})" if r["note"] else "")
            print(
                f"| {name} | {label} | {r['runs']} | {s:.3f} s | {fmt_rate(pps) if pps else '–'} | "
                f"{mbs:,.0f} | {mib:,.1f} MiB | {xt} | {xm} |"
            )
            first = False


STATS = {
    "flowq extract -o x.parquet": "parquet",
    "flowq extract -o x.csv": "csv",
    "flowq extract -j 2 -o x.parquet": "j2",
    "flowq extract --profile seed -o x.csv": "seed",
}


def print_memory(results_path, out_dir):
    """Bytes per active flow: (peak RSS - peak RSS of the same command on the
    tiny sample) / peak_active_flows, and the slope between the 1M and the 10M
    run of the same command (which cancels every cost that does not grow)."""
    rows = [json.loads(line) for line in open(results_path) if line.strip()]
    rss = {(r["group"], r["label"]): r["peak_rss_kib"] * 1024 for r in rows}
    print("| input | command | flows written | peak_active_flows | peak RSS | (RSS - tiny) / active flow | slope 1M -> 10M |")
    print("|---|---|---|---|---|---|---|")
    peaks = {}
    for group in ("1M", "10M"):
        for label, kind in STATS.items():
            path = os.path.join(out_dir, f"stats-{group}-{kind}.json")
            if (group, label) not in rss or not os.path.exists(path):
                continue
            with open(path) as f:
                st = json.load(f)
            active = st["peak_active_flows"]
            peaks[(group, label)] = active
            b = rss[(group, label)]
            tiny = rss.get(("tiny", label))
            per = f"{(b - tiny) / active:,.0f} B" if tiny and active else "–"
            slope = "–"
            if group == "10M" and ("1M", label) in peaks:
                d_flows = active - peaks[("1M", label)]
                if d_flows > 0:
                    slope = f"{(b - rss[('1M', label)]) / d_flows:,.0f} B"
            print(
                f"| {group} | {label} | {st['flows_written']:,} | {active:,} | {b / 2**20:,.1f} MiB | {per} | {slope} |"
            )


def fmt_rate(pps):
    if pps >= 1e6:
        return f"{pps / 1e6:.2f} M"
    if pps >= 1e3:
        return f"{pps / 1e3:.1f} k"
    return f"{pps:.0f}"


def main():
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    g = sub.add_parser("group", help="measure a group of commands on one input")
    g.add_argument("--group", required=True, help="name of the input in the table")
    g.add_argument("--input", required=True, help="capture or file the commands read")
    g.add_argument("--packets", type=int, default=0)
    g.add_argument("--ref", required=True, help="label of the row the ratios are against")
    g.add_argument("--results", required=True)
    g.add_argument("--log", required=True)
    g.add_argument(
        "--cmd", nargs=4, action="append", required=True,
        metavar=("LABEL", "RUNS", "NOTE", "COMMAND"),
    )
    t = sub.add_parser("table", help="print the results as a Markdown table")
    t.add_argument("results")
    m = sub.add_parser("memory", help="bytes per active flow, from results and stats-*.json")
    m.add_argument("results")
    m.add_argument("out_dir")
    a = ap.parse_args()
    if a.what == "table":
        print_table(a.results)
        return
    if a.what == "memory":
        print_memory(a.results, a.out_dir)
        return
    spec = {
        "group": a.group,
        "input": a.input,
        "packets": a.packets,
        "bytes": os.path.getsize(a.input),
        "ref": a.ref,
        "commands": [
            {"label": label, "runs": int(runs), "note": note, "cmd": cmd}
            for label, runs, note, cmd in a.cmd
        ],
    }
    run_group(spec, a.results, a.log)


if __name__ == "__main__":
    main()
