//! The key-value metadata flowq writes into its output files (a Parquet
//! footer, an Arrow IPC schema): which flowq made the file, with which
//! options, from which inputs, and the run's summary. `flowq extract` and
//! `flowq extract --dataset` both build it here, so that a file records the
//! same things the same way whichever wrote it.

use flowq_extract::RunSummary;

/// The flowq that writes a file or a dataset manifest.
pub const FLOWQ_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The fields of a run summary that differ between runs over the same input
/// with the same flow options: the wall-clock time, the peak of open flows
/// (which depends on -j) and how a capture was split into byte ranges (which
/// depends on -j too). They stay out of files, so that the same input and
/// options always give byte-identical output.
const RUN_DEPENDENT: [&str; 3] = ["elapsed_seconds", "peak_active_flows", "parallel_reading"];

/// The metadata a file starts with: `flowq.version`, then `entries` in the
/// order given.
pub fn file_metadata<'a>(
    entries: impl IntoIterator<Item = (&'a str, String)>,
) -> Vec<(String, String)> {
    std::iter::once(("flowq.version", FLOWQ_VERSION.to_string()))
        .chain(entries)
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

/// `flowq.summary`: the run's summary as JSON, without [`RUN_DEPENDENT`]
/// fields.
pub fn summary_entry(summary: &RunSummary) -> serde_json::Result<(String, String)> {
    let mut recorded = serde_json::to_value(summary)?;
    if let Some(fields) = recorded.as_object_mut() {
        for field in RUN_DEPENDENT {
            fields.remove(field);
        }
    }
    Ok(("flowq.summary".to_string(), recorded.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_first_and_run_dependent_fields_are_left_out() {
        let metadata = file_metadata([("flowq.options", "{}".to_string())]);
        assert_eq!(
            metadata,
            [
                ("flowq.version".to_string(), FLOWQ_VERSION.to_string()),
                ("flowq.options".to_string(), "{}".to_string()),
            ]
        );
        let summary = RunSummary {
            elapsed_seconds: 1.5,
            peak_active_flows: 7,
            ..RunSummary::default()
        };
        let (key, value) = summary_entry(&summary).unwrap();
        assert_eq!(key, "flowq.summary");
        let value: serde_json::Value = serde_json::from_str(&value).unwrap();
        for field in RUN_DEPENDENT {
            assert!(value.get(field).is_none(), "{field} in {value}");
        }
        assert!(value.get("flows_written").is_some(), "{value}");
    }
}
