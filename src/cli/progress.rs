//! A progress bar on standard error, shown only on a terminal.

use flowq_extract::capture::InputSource;
use flowq_extract::{Progress, ProgressObserver};
use std::time::Instant;

pub struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
    total_bytes: Option<u64>,
    /// Bytes of the inputs before the current one.
    bytes_done: u64,
    current_input: usize,
    last_input_bytes: u64,
    started: Instant,
}

impl ProgressBar {
    pub fn new(enabled: bool, inputs: &[InputSource]) -> Self {
        let sizes: Option<Vec<u64>> = inputs.iter().map(InputSource::size).collect();
        let total_bytes = sizes.map(|s| s.iter().sum());
        let bar = enabled.then(|| {
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
            bar
        });
        ProgressBar {
            bar,
            total_bytes,
            bytes_done: 0,
            current_input: 0,
            last_input_bytes: 0,
            started: Instant::now(),
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl ProgressObserver for ProgressBar {
    fn update(&mut self, p: &Progress<'_>) {
        let Some(bar) = &self.bar else {
            return;
        };
        if p.input_index != self.current_input {
            self.bytes_done += self.last_input_bytes;
            self.current_input = p.input_index;
        }
        self.last_input_bytes = p.input_bytes_read;
        let position = self.bytes_done + p.input_bytes_read;
        bar.set_position(self.total_bytes.map_or(position, |t| position.min(t)));
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "{:.0} kpkt/s, {} active flows, file {}/{}",
            p.packets_read as f64 / secs / 1e3,
            p.active_flows,
            p.input_index + 1,
            p.input_count
        ));
    }
}
