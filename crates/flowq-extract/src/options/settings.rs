//! The options as a user gives them, before they are checked: the command
//! line's flags and the Python package's keyword arguments both fill a
//! [`Settings`], with the same defaults, and get the same [`ExtractOptions`]
//! or the same error message from [`Settings::options`].

use super::{DEFAULT_SPLT_LEN, ExtractOptions, Profile};
use crate::features::{DeepConfig, MAX_DEEP_LEN};
use crate::flow::{DEFAULT_FLOW_STATE_BUDGET, FlowConfig};

/// Longest early-flow sequence (`--splt`).
pub const MAX_SPLT_LEN: u16 = 1024;

/// An option that cannot be used as given; the message names the command
/// line's flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

/// The flow options of `flowq extract` (and of SQL over captures), with the
/// command line's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `--profile`.
    pub profile: Profile,
    /// `--idle-timeout`, seconds (0 = never).
    pub idle_timeout: f64,
    /// `--active-timeout`, seconds (0 = never; `None`: the profile's default).
    pub active_timeout: Option<f64>,
    /// `--tcp-close-grace`, seconds.
    pub tcp_close_grace: f64,
    /// `--unidirectional`.
    pub unidirectional: bool,
    /// `--max-flows` (`None`: as many as fit in `flow_memory`).
    pub max_flows: Option<u64>,
    /// `--flow-memory`, bytes.
    pub flow_memory: u64,
    /// `--tunnels inner` (`true`) or `outer`.
    pub decapsulate: bool,
    /// `--splt` (`None`: the profile's default).
    pub splt: Option<u16>,
    /// `--stats`.
    pub stats: bool,
    /// `--cic-compat bugs` (`true`) or `fixed`.
    pub cic_bugs: bool,
    /// `--cic-timestamp original` (`true`) or `utc`.
    pub cic_original_timestamp: bool,
    /// The deep-learning inputs: `--ppi`, `--ppi-all-packets`, `--histograms`,
    /// `--byte-dist`, `--payload-prefix`, `--payload-packets`, `--flowpic`.
    pub deep: DeepConfig,
    /// `--ppi-pad`.
    pub ppi_pad: bool,
    /// Not `--no-app`: the application-metadata columns (standard and full).
    pub app: bool,
    /// `--community-id-seed`.
    pub community_id_seed: u16,
    /// `--dissect`.
    pub dissect: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            profile: Profile::Standard,
            idle_timeout: 120.0,
            active_timeout: None,
            tcp_close_grace: 5.0,
            unidirectional: false,
            max_flows: None,
            flow_memory: DEFAULT_FLOW_STATE_BUDGET as u64,
            decapsulate: true,
            splt: None,
            stats: false,
            cic_bugs: false,
            cic_original_timestamp: false,
            deep: DeepConfig::default(),
            ppi_pad: false,
            app: true,
            community_id_seed: 0,
            dissect: false,
        }
    }
}

fn bail<T>(message: impl Into<String>) -> Result<T, SettingsError> {
    Err(SettingsError(message.into()))
}

fn seconds_to_ns(seconds: f64) -> Option<i64> {
    (seconds > 0.0).then(|| (seconds * 1e9).round() as i64)
}

/// Checks a number of seconds given as `text` (as the user wrote it).
pub fn check_seconds(text: &str, value: f64) -> Result<f64, SettingsError> {
    if !value.is_finite() || value < 0.0 {
        return bail(format!("`{text}` must be a non-negative number of seconds"));
    }
    if value > 1e9 {
        return bail(format!("`{text}` seconds is more than 30 years"));
    }
    Ok(value)
}

/// A size such as `4GiB`, `512MiB`, `2GB` or `100` (bytes), more than 0.
pub fn parse_size(text: &str) -> Result<u64, SettingsError> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let Ok(value) = number.parse::<f64>() else {
        return bail(format!("`{text}` is not a size (like 4GiB or 512MiB)"));
    };
    let multiple: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024f64.powi(2),
        "g" | "gib" => 1024f64.powi(3),
        "t" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        other => {
            return bail(format!(
                "`{other}` is not a size unit (B, KiB, MiB, GiB, TiB)"
            ));
        }
    };
    let bytes = value * multiple;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return bail(format!("`{text}` is not a usable size"));
    }
    Ok(bytes as u64)
}

impl Settings {
    /// The extraction options these settings ask for, or why they cannot be
    /// used together. The process-wide flow-state budget is the caller's to
    /// set from `flow_memory` ([`FLOW_STATE`](crate::flow::FLOW_STATE)).
    pub fn options(&self) -> Result<ExtractOptions, SettingsError> {
        let profile = self.profile;
        for (name, value) in [
            ("idle-timeout", Some(self.idle_timeout)),
            ("active-timeout", self.active_timeout),
            ("tcp-close-grace", Some(self.tcp_close_grace)),
        ] {
            if let Some(value) = value {
                check_seconds(&value.to_string(), value)
                    .map_err(|e| SettingsError(format!("--{name}: {e}")))?;
            }
        }
        if self.max_flows == Some(0) {
            return bail("--max-flows must be at least 1");
        }
        if self.flow_memory == 0 {
            return bail("--flow-memory must be at least 1 byte");
        }
        if self.splt.is_some_and(|n| n > MAX_SPLT_LEN) {
            return bail(format!("--splt is at most {MAX_SPLT_LEN} packets"));
        }
        let splt_len = match (profile, self.splt) {
            (Profile::Full, splt) => splt.unwrap_or(DEFAULT_SPLT_LEN),
            (Profile::Nfstream, splt) => splt.unwrap_or(0),
            (_, None) => 0,
            (other, Some(_)) => {
                return bail(format!(
                    "--splt needs --profile full or nfstream (the {} profile has no sequence \
                     columns)",
                    other.name()
                ));
            }
        };
        let cic = profile.cic_vocab().is_some();
        if (self.cic_bugs || self.cic_original_timestamp) && !cic {
            return bail(
                "--cic-compat and --cic-timestamp apply to --profile cic2017, cic2018 or cic",
            );
        }
        let deep = &self.deep;
        if deep.any() && profile != Profile::Full {
            return bail(format!(
                "--ppi, --histograms, --byte-dist, --payload-prefix, --payload-packets and \
                 --flowpic need --profile full (the {} profile has no deep-learning columns)",
                profile.name()
            ));
        }
        if deep.ppi_every_packet && deep.ppi_len == 0 && !deep.histograms {
            return bail("--ppi-all-packets changes --ppi and --histograms: give one of them");
        }
        if self.ppi_pad && deep.ppi_len == 0 {
            return bail("--ppi-pad pads the PPI sequence: give --ppi too");
        }
        if deep.ppi_len > 1024 {
            return bail("--ppi is at most 1024 packets");
        }
        if deep.byte_dist_len > i32::MAX as u32 {
            return bail(format!("--byte-dist is at most {} bytes", i32::MAX));
        }
        if deep.payload_prefix_len > MAX_DEEP_LEN || deep.payload_packet_len > MAX_DEEP_LEN {
            return bail(format!(
                "--payload-prefix and --payload-packets keep at most {MAX_DEEP_LEN} bytes"
            ));
        }
        if deep.payload_packets > 1024 {
            return bail("--payload-packets M N: M is at most 1024");
        }
        if (deep.payload_packets == 0) != (deep.payload_packet_len == 0) {
            return bail("--payload-packets M N: both M and N are at least 1");
        }
        if deep.flowpic_secs > 86_400 {
            return bail("--flowpic is at most 86400 seconds");
        }
        if self.dissect && profile != Profile::Nfstream {
            return bail(
                "--dissect adds NFStream's dissection columns to --profile nfstream; the standard \
                 and full profiles have the application columns unless --no-app",
            );
        }
        if !self.app && !matches!(profile, Profile::Standard | Profile::Full) {
            return bail(
                "--no-app applies to --profile standard or full (the only ones with app columns)",
            );
        }
        if self.stats && profile != Profile::Nfstream {
            return bail(
                "--stats adds NFStream's statistical columns to --profile nfstream; the full \
                 profile always has its statistics",
            );
        }
        let flow_memory = usize::try_from(self.flow_memory).unwrap_or(usize::MAX);
        Ok(ExtractOptions {
            profile,
            flow: FlowConfig {
                bidirectional: !self.unidirectional,
                idle_timeout_ns: seconds_to_ns(self.idle_timeout),
                active_timeout_ns: match self.active_timeout {
                    Some(seconds) => seconds_to_ns(seconds),
                    None => profile.default_active_timeout_ns(),
                },
                tcp_close: true,
                close_grace_ns: seconds_to_ns(self.tcp_close_grace).unwrap_or(0),
                syn_ack_reverses: true,
                // A budget other than the default fixes the limit here, so that
                // processes that derive it themselves (cluster executors, with
                // their own default budget) use the same one.
                max_flows: match self.max_flows {
                    Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                    None if flow_memory != DEFAULT_FLOW_STATE_BUDGET => {
                        Some(profile.max_flows_for_budget(flow_memory))
                    }
                    None => None,
                },
            },
            splt_len,
            deep: self.deep,
            ppi_pad: self.ppi_pad,
            app: self.app,
            community_id_seed: self.community_id_seed,
            dissect: self.dissect,
            nfstream_stats: self.stats,
            cic_bugs: self.cic_bugs,
            cic_original_timestamp: self.cic_original_timestamp,
            decapsulate: self.decapsulate,
            ..ExtractOptions::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Settings, parse_size};
    use crate::Profile;

    fn error(settings: Settings) -> String {
        settings.options().unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_the_command_lines() {
        let options = Settings::default().options().unwrap();
        assert_eq!(options.profile, Profile::Standard);
        assert_eq!(options.flow.idle_timeout_ns, Some(120_000_000_000));
        assert_eq!(options.flow.active_timeout_ns, Some(1_800_000_000_000));
        assert_eq!(options.flow.close_grace_ns, 5_000_000_000);
        assert_eq!(options.flow.max_flows, None);
        assert!(options.flow.bidirectional && options.decapsulate);
        assert_eq!(options.splt_len, 0);
        let cic = Settings {
            profile: Profile::Cic,
            ..Settings::default()
        };
        assert_eq!(
            cic.options().unwrap().flow.active_timeout_ns,
            Some(120_000_000_000)
        );
        let full = Settings {
            profile: Profile::Full,
            ..Settings::default()
        };
        assert_eq!(full.options().unwrap().splt_len, 10);
    }

    #[test]
    fn options_that_do_not_go_together_are_refused() {
        let splt = Settings {
            splt: Some(3),
            ..Settings::default()
        };
        assert_eq!(
            error(splt.clone()),
            "--splt needs --profile full or nfstream (the standard profile has no sequence columns)"
        );
        assert!(
            error(Settings {
                profile: Profile::Cic2017,
                ..splt
            })
            .contains("the cic2017 profile has no sequence columns")
        );
        assert!(
            error(Settings {
                stats: true,
                ..Settings::default()
            })
            .starts_with("--stats adds NFStream's")
        );
        assert!(
            error(Settings {
                cic_bugs: true,
                ..Settings::default()
            })
            .starts_with("--cic-compat and --cic-timestamp apply")
        );
        assert_eq!(
            error(Settings {
                idle_timeout: -1.0,
                ..Settings::default()
            }),
            "--idle-timeout: `-1` must be a non-negative number of seconds"
        );
        assert_eq!(
            error(Settings {
                max_flows: Some(0),
                ..Settings::default()
            }),
            "--max-flows must be at least 1"
        );
        assert_eq!(
            error(Settings {
                profile: Profile::Full,
                splt: Some(1025),
                ..Settings::default()
            }),
            "--splt is at most 1024 packets"
        );
    }

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5 KiB"), Ok(1536));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("4 parsecs").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("GiB").is_err());
    }
}
