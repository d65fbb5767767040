//! `-j N` on one capture file, measured in one process: one table (`-j 1`),
//! N shards fed by one reader thread (the file as one stream), and N shards
//! fed by N workers reading byte ranges, run round-robin so that the load of
//! a shared machine hits them alike. Each run's output (record batches) is
//! digested and must equal the `-j 1` digest. Also times the boundary search
//! alone, and reports each run's CPU time (user + system, from `/proc`), so
//! that the parallel work can be told from the wall time on a loaded machine,
//! and each run's peak resident set size.
//!
//! ```sh
//! cargo run --release -p flowq-extract --example parallel_read -- FILE [ROUNDS] [PROFILE] [THREADS]
//! ```
//!
//! PROFILE is `standard` (default), `full` or `cic`, with `-noapp` appended to
//! leave out the application metadata; THREADS defaults to 2. The ranges are
//! of the engine's size (1 MiB with the application metadata, else 4 MiB)
//! unless the environment variable `RANGE_KB` sets one or more sizes
//! (`RANGE_KB=4096,1024`: one run of each per round). `RUNS=0,2` runs only
//! those (0: `-j 1`, 1: one reader thread, 2 and on: ranges), to profile one
//! alone. `HALVES=A,B` (FILE split in two at a record) adds a last run:
//! `-j 1` on A and on B at once, on two threads, the most two cores give
//! for two runs that share nothing. Prints one line per run and a summary (best and median wall time, CPU
//! time, ratios to `-j 1`). See docs/benchmarks.md.

use flowq_extract::capture::{InputSource, RangePlan};
use flowq_extract::{ExtractOptions, Extractor, Profile};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::Instant;

/// CPU seconds (user + system) this process has used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 11 and 12 here; the
    // kernel's clock tick is 100 Hz on every Linux this runs on.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resets the peak resident set size the kernel keeps for this process
/// (Linux: `/proc/self/clear_refs`), so that [`peak_rss_mib`] gives one run's
/// (on top of what the runs before left allocated).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident set size since the last reset, in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds of each live thread of this process, by thread name.
fn thread_cpu() -> Vec<(u64, String, f64)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map_or("", |(name, _)| name)
            .to_string();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let tid = task.file_name().to_string_lossy().parse().unwrap_or(0);
        out.push((tid, name, (ticks(11) + ticks(12)) / 100.0));
    }
    out
}

/// Samples [`thread_cpu`] every 20 ms until `stop`, keeping each thread's
/// last reading (threads end with the run and leave /proc): CPU seconds per
/// thread name, summed over the threads of that name.
fn watch_threads(stop: &std::sync::atomic::AtomicBool) -> std::collections::BTreeMap<String, f64> {
    let mut last: std::collections::HashMap<u64, (String, f64)> = Default::default();
    let main = thread_cpu()
        .into_iter()
        .map(|(tid, _, cpu)| (tid, cpu))
        .collect::<Vec<_>>();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        for (tid, name, cpu) in thread_cpu() {
            last.insert(tid, (name, cpu));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for (tid, name, cpu) in thread_cpu() {
        last.insert(tid, (name, cpu));
    }
    let mut by_name = std::collections::BTreeMap::new();
    for (tid, (name, cpu)) in last {
        // Threads alive before the run: count only what they used during it.
        let before = main
            .iter()
            .find(|(t, _)| *t == tid)
            .map_or(0.0, |(_, c)| *c);
        *by_name.entry(name).or_insert(0.0) += cpu - before;
    }
    by_name.retain(|_, cpu| *cpu > 0.0);
    by_name
}

/// A digest of every batch's Arrow IPC encoding, in order.
fn digest(batches: &[arrow::record_batch::RecordBatch]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    if let Some(first) = batches.first() {
        let mut bytes = Vec::new();
        let mut writer =
            arrow::ipc::writer::StreamWriter::try_new(&mut bytes, &first.schema()).unwrap();
        for batch in batches {
            writer.write(batch).unwrap();
        }
        writer.finish().unwrap();
        bytes.hash(&mut hasher);
    }
    hasher.finish()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = PathBuf::from(
        args.get(1)
            .expect("usage: parallel_read FILE [ROUNDS] [PROFILE] [THREADS]"),
    );
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    // A `-noapp` suffix (`standard-noapp`, `full-noapp`) leaves out the
    // application metadata, whose payload bytes must travel to the shards.
    let name = args.get(3).map_or("standard", String::as_str);
    let app = !name.ends_with("-noapp");
    let profile = match name.trim_end_matches("-noapp") {
        "full" => Profile::Full,
        "cic" => Profile::Cic2017,
        _ => Profile::Standard,
    };
    let threads: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(2);
    let inputs = [InputSource::File(path.clone())];
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());

    let started = Instant::now();
    let plan = RangePlan::new(&path, 4 << 20)
        .unwrap()
        .expect("an uncompressed capture");
    let search = started.elapsed().as_secs_f64();
    println!(
        "{}: {:.1} MB, {} ranges of 4 MiB, boundary search {:.4} s ({} points without a boundary)",
        path.display(),
        size as f64 / 1e6,
        plan.starts().len(),
        search,
        plan.not_found()
    );

    // `RANGE_KB=4096,1024` measures ranges of each size (by default, the
    // size the engine picks: 1 MiB with the application metadata, else 4 MiB).
    let range_kb: Vec<u64> = std::env::var("RANGE_KB")
        .ok()
        .map(|v| v.split(',').filter_map(|k| k.trim().parse().ok()).collect())
        .unwrap_or_default();
    // (name, threads, range bytes: `u64::MAX` reads as one stream, `None`
    // takes the engine's size.)
    let mut runs: Vec<(String, usize, Option<u64>)> = vec![
        ("-j 1".into(), 1, Some(u64::MAX)),
        ("-j N, one reader thread".into(), threads, Some(u64::MAX)),
    ];
    if range_kb.is_empty() {
        runs.push(("-j N, ranges".into(), threads, None));
    }
    for kb in &range_kb {
        runs.push((format!("-j N, ranges of {kb} KiB"), threads, Some(kb << 10)));
    }
    // `RUNS=0,2` runs only those (0: `-j 1`, 1: one reader thread, 2 and
    // on: ranges), e.g. to profile one of them alone.
    let only: Option<Vec<usize>> = std::env::var("RUNS")
        .ok()
        .map(|v| v.split(',').filter_map(|i| i.trim().parse().ok()).collect());
    let wanted = |i: usize| only.as_ref().is_none_or(|o| o.contains(&i));
    // `HALVES=A,B`: also run `-j 1` on A and on B at once, on two threads
    // (the two halves of FILE, split at a record): what two cores give for
    // two wholly independent runs, with nothing shared or handed over, the
    // ceiling for `-j 2` on this machine.
    let halves: Option<[InputSource; 2]> = std::env::var("HALVES").ok().and_then(|v| {
        let (a, b) = v.split_once(',')?;
        Some([
            InputSource::File(PathBuf::from(a)),
            InputSource::File(PathBuf::from(b)),
        ])
    });
    if halves.is_some() {
        runs.push(("two -j 1 on halves at once".into(), 0, None));
    }
    let mut results: Vec<Vec<(f64, f64)>> = vec![Vec::new(); runs.len()];
    let mut reference = None;
    let mut packets = 0;
    for round in 0..rounds {
        for (i, (name, threads, range_bytes)) in runs.iter().enumerate() {
            let (threads, range_bytes) = (*threads, *range_bytes);
            if !wanted(i) {
                continue;
            }
            if let (0, Some(halves)) = (threads, &halves) {
                let options = ExtractOptions {
                    profile,
                    threads: 1,
                    app,
                    ..ExtractOptions::default()
                };
                let cpu = cpu_seconds();
                let start = Instant::now();
                let flows: u64 = std::thread::scope(|scope| {
                    let runs: Vec<_> = halves
                        .iter()
                        .map(|half| {
                            let extractor = Extractor::new(options);
                            scope.spawn(move || {
                                let mut rows = 0;
                                extractor
                                    .run(std::slice::from_ref(half), &mut |b| {
                                        rows += b.num_rows() as u64;
                                        Ok::<(), std::convert::Infallible>(())
                                    })
                                    .unwrap();
                                rows
                            })
                        })
                        .collect();
                    runs.into_iter().map(|r| r.join().unwrap()).sum()
                });
                let wall = start.elapsed().as_secs_f64();
                let cpu = cpu_seconds() - cpu;
                println!(
                    "round {round} {name:<26} wall {wall:7.3} s  cpu {cpu:7.2} s  {flows} flows"
                );
                results[i].push((wall, cpu));
                continue;
            }
            let mut extractor = Extractor::new(ExtractOptions {
                profile,
                threads,
                app,
                ..ExtractOptions::default()
            });
            if let Some(bytes) = range_bytes {
                extractor = extractor.with_range_bytes(bytes);
            }
            let mut batches = Vec::new();
            let stop = std::sync::atomic::AtomicBool::new(false);
            let (summary, wall, cpu, threads) = std::thread::scope(|scope| {
                let watcher = std::thread::Builder::new()
                    .name("watcher".into())
                    .spawn_scoped(scope, || watch_threads(&stop))
                    .unwrap();
                reset_peak_rss();
                let cpu = cpu_seconds();
                let start = Instant::now();
                let summary = extractor
                    .run(&inputs, &mut |b| {
                        batches.push(b);
                        Ok::<(), std::convert::Infallible>(())
                    })
                    .unwrap();
                let wall = start.elapsed().as_secs_f64();
                let cpu = cpu_seconds() - cpu;
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                (summary, wall, cpu, watcher.join().unwrap())
            });
            let digest = digest(&batches);
            let expected = *reference.get_or_insert(digest);
            assert_eq!(digest, expected, "{name}: output differs from -j 1");
            packets = summary.packets_read;
            println!(
                "round {round} {name:<26} wall {wall:7.3} s  cpu {cpu:7.2} s  peak RSS {:5.0} MiB  {} flows, ranges {} (reread {})",
                peak_rss_mib(),
                summary.flows_written,
                summary.parallel_reading.ranges,
                summary.parallel_reading.ranges_reread
            );
            let per_thread: Vec<String> = threads
                .iter()
                .filter(|(name, _)| name.starts_with("flowq") || name.starts_with("parallel_read"))
                .map(|(name, cpu)| {
                    format!(
                        "{name} {:.0} ns",
                        cpu * 1e9 / summary.packets_read.max(1) as f64
                    )
                })
                .collect();
            println!("    cpu per packet by thread: {}", per_thread.join(", "));
            results[i].push((wall, cpu));
        }
    }
    println!(
        "\n{packets} packets, profile {profile:?}, {threads} threads, {rounds} rounds; outputs identical"
    );
    let best = |r: &[(f64, f64)]| r.iter().map(|x| x.0).fold(f64::INFINITY, f64::min);
    let median = |r: &[(f64, f64)]| {
        let mut w: Vec<f64> = r.iter().map(|x| x.0).collect();
        w.sort_by(f64::total_cmp);
        w[w.len() / 2]
    };
    let cpu = |r: &[(f64, f64)]| r.iter().map(|x| x.1).sum::<f64>() / r.len() as f64;
    let Some(baseline) = results.iter().find(|r| !r.is_empty()) else {
        return;
    };
    // Ratios are to `-j 1`, or to the first run measured without it.
    let (best1, median1) = (best(baseline), median(baseline));
    for (i, (name, _, _)) in runs.iter().enumerate() {
        if results[i].is_empty() {
            continue;
        }
        println!(
            "{name:<26} best {:7.3} s ({:.2}x)  median {:7.3} s ({:.2}x)  cpu {:6.2} s  {:.0} ns cpu/packet",
            best(&results[i]),
            best1 / best(&results[i]),
            median(&results[i]),
            median1 / median(&results[i]),
            cpu(&results[i]),
            cpu(&results[i]) * 1e9 / packets.max(1) as f64,
        );
    }
}
