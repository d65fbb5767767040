//! Ballista's log lines on standard error, for the long-running cluster
//! processes (`flowq scheduler`, `flowq executor`).
//!
//! Ballista logs through the `log` facade; without a logger a failing task
//! leaves no trace on the executor that ran it. A full logging stack is not
//! worth its build time for this: one line per record, filtered by level.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;

/// The environment variable that sets the level (`error`, `warn`, `info`,
/// `debug`, `trace` or `off`); default `info`.
pub const LOG_ENV: &str = "FLOWQ_LOG";

struct StderrLogger {
    level: LevelFilter,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level
            // gRPC and HTTP internals are noise below warnings.
            && (metadata.level() <= Level::Warn
                || !["h2", "hyper", "tower", "tonic", "rustls"]
                    .iter()
                    .any(|noisy| metadata.target().starts_with(noisy)))
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        // A closed standard error must not take the server down.
        let _ = writeln!(
            std::io::stderr().lock(),
            "{seconds:.3} {:<5} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Installs the logger, with the level from [`LOG_ENV`]. Returns a message
/// when the variable holds something that is not a level.
pub fn init() -> Result<(), String> {
    let level = match std::env::var(LOG_ENV) {
        Ok(text) => text.trim().parse::<LevelFilter>().map_err(|_| {
            format!("${LOG_ENV}=`{text}` is not a log level (error, warn, info, debug, trace, off)")
        })?,
        Err(_) => LevelFilter::Info,
    };
    // Leaked rather than boxed: `log`'s boxed setter needs a feature that
    // would rebuild every crate using `log`, DataFusion included. Once per
    // process; a second call keeps the first logger.
    let logger: &'static StderrLogger = Box::leak(Box::new(StderrLogger { level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
    Ok(())
}
