//! A progress bar on standard error, shown only on a terminal.
//!
//! It reads the extraction's live counters on a thread of its own, four times
//! a second, rather than waiting to be told: with several inputs read at once,
//! or a capture whose flows end rarely, the extraction has nothing to say for
//! long stretches, but its counters move (the workers update them every 1024
//! records).

use super::extract::thousands;
use flowq_extract::LiveCounters;
use flowq_extract::capture::InputSource;
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

const REFRESH: Duration = Duration::from_millis(250);

pub struct ProgressBar {
    shown: Option<Shown>,
}

struct Shown {
    bar: indicatif::ProgressBar,
    /// Dropping it stops the refresh thread.
    stop: Sender<()>,
    refresh: std::thread::JoinHandle<()>,
}

/// What the bar says besides the bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    pub seconds: f64,
    pub packets: u64,
    /// None when not counted (one input split into shards).
    pub active_flows: Option<u64>,
    pub inputs_done: u64,
    pub inputs: usize,
}

impl ProgressBar {
    /// Shows a bar fed from `live` when `enabled`. `count_active` says whether
    /// `live` counts open flows for this run.
    pub fn start(
        enabled: bool,
        inputs: &[InputSource],
        live: Arc<LiveCounters>,
        count_active: bool,
    ) -> Self {
        if !enabled {
            return ProgressBar { shown: None };
        }
        let sizes: Option<Vec<u64>> = inputs.iter().map(InputSource::size).collect();
        let total_bytes = sizes.map(|s| s.iter().sum::<u64>());
        let bar = match total_bytes {
            Some(total) => indicatif::ProgressBar::new(total),
            None => indicatif::ProgressBar::no_length(),
        };
        let template = if total_bytes.is_some() {
            "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {msg}"
        } else {
            "{spinner} [{elapsed_precise}] {bytes} {msg}"
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let shown_bar = bar.clone();
        let input_count = inputs.len();
        let started = Instant::now();
        let refresh = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(REFRESH) {
                let position = live.bytes_read();
                bar.set_position(total_bytes.map_or(position, |t| position.min(t)));
                bar.set_message(message(&Snapshot {
                    seconds: started.elapsed().as_secs_f64(),
                    packets: live.packets_read(),
                    active_flows: count_active.then(|| live.active_flows()),
                    inputs_done: live.inputs_done(),
                    inputs: input_count,
                }));
            }
        });
        ProgressBar {
            shown: Some(Shown {
                bar: shown_bar,
                stop,
                refresh,
            }),
        }
    }

    pub fn finish(self) {
        if let Some(Shown { bar, stop, refresh }) = self.shown {
            drop(stop);
            let _ = refresh.join();
            bar.finish_and_clear();
        }
    }
}

/// The text after the bar: rate, packets, open flows, inputs finished.
pub fn message(s: &Snapshot) -> String {
    let rate = s.packets as f64 / s.seconds.max(1e-3) / 1e3;
    let mut text = format!("{rate:.0} kpkt/s, {} packets", thousands(s.packets));
    if let Some(active) = s.active_flows {
        text.push_str(&format!(", {} active flows", thousands(active)));
    }
    if s.inputs > 1 {
        text.push_str(&format!(", {}/{} inputs done", s.inputs_done, s.inputs));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{Snapshot, message};

    #[test]
    fn message_shows_the_live_numbers() {
        let s = Snapshot {
            seconds: 2.0,
            packets: 3_000_000,
            active_flows: Some(12_345),
            inputs_done: 1,
            inputs: 4,
        };
        assert_eq!(
            message(&s),
            "1500 kpkt/s, 3,000,000 packets, 12,345 active flows, 1/4 inputs done"
        );
        let sharded_single = Snapshot {
            active_flows: None,
            inputs: 1,
            ..s
        };
        assert_eq!(message(&sharded_single), "1500 kpkt/s, 3,000,000 packets");
    }
}
