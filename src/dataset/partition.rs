//! Hive-style partitions: which directory each flow's row goes to.

use anyhow::bail;
use arrow::array::{Array, AsArray, BooleanArray};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use flowq_extract::batch::Column;
use std::path::PathBuf;

/// How the rows of a dataset are split into directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionBy {
    /// `capture=NAME/`: one directory per capture (the default).
    Capture,
    /// `date=YYYY-MM-DD/`, by the UTC day of each flow's first packet.
    Date,
    /// `date=YYYY-MM-DD/hour=HH/`, by the UTC hour of each flow's first packet.
    Hour,
    /// All files side by side in the dataset directory.
    None,
}

impl PartitionBy {
    /// The name used on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            PartitionBy::Capture => "capture",
            PartitionBy::Date => "date",
            PartitionBy::Hour => "hour",
            PartitionBy::None => "none",
        }
    }

    /// The columns the directory names add when the dataset is read.
    pub fn columns(self) -> Vec<String> {
        match self {
            PartitionBy::Capture => vec!["capture".into()],
            PartitionBy::Date => vec!["date".into()],
            PartitionBy::Hour => vec!["date".into(), "hour".into()],
            PartitionBy::None => vec![],
        }
    }

    fn by_time(self) -> bool {
        matches!(self, PartitionBy::Date | PartitionBy::Hour)
    }
}

/// Splits one capture's batches into their partitions.
#[derive(Debug, Clone)]
pub struct Partitioner {
    by: PartitionBy,
    /// The capture's name, already safe as a directory name.
    capture: String,
    /// The flow-start column and its scale to microseconds (time partitions).
    start: Option<(usize, i64)>,
    extension: &'static str,
}

impl Partitioner {
    /// A partitioner for the capture `capture` with the extractor's `columns`.
    pub fn new(
        by: PartitionBy,
        capture: &str,
        columns: &[Column],
        extension: &'static str,
    ) -> anyhow::Result<Self> {
        let start = super::transform::start_time_column(columns);
        if by.by_time() && start.is_none() {
            bail!(
                "--partition-by {} needs the flows' start time, which this profile does not \
                 write (the seed profile; the cic profiles with --cic-timestamp original)",
                by.name()
            );
        }
        Ok(Partitioner {
            by,
            capture: capture.to_string(),
            start,
            extension,
        })
    }

    /// The `--partition-by` value.
    pub fn name(&self) -> &'static str {
        self.by.name()
    }

    /// The file a partition's rows go to, relative to the dataset directory.
    fn file_of(&self, partition: Option<&str>) -> PathBuf {
        let file = format!("{}.{}", self.capture, self.extension);
        match (self.by, partition) {
            (PartitionBy::Capture, _) => PathBuf::from(format!("capture={}", self.capture))
                .join(format!("flows.{}", self.extension)),
            (PartitionBy::None, _) => PathBuf::from(file),
            (_, Some(dirs)) => PathBuf::from(dirs).join(file),
            (_, None) => PathBuf::from(file),
        }
    }

    /// The files every capture has even without flows (an empty file keeps the
    /// capture visible in queries and in counts).
    pub fn fixed_file(&self) -> Option<PathBuf> {
        (!self.by.by_time()).then(|| self.file_of(None))
    }

    /// `batch` split by partition, in order of first appearance. `batch` is the
    /// untransformed batch (its start times decide); `output` is the same rows
    /// after the transform, which is what is written.
    pub fn split(
        &self,
        batch: &RecordBatch,
        output: RecordBatch,
    ) -> anyhow::Result<Vec<(PathBuf, RecordBatch)>> {
        let Some((index, scale)) = self.start.filter(|_| self.by.by_time()) else {
            return Ok(vec![(self.file_of(None), output)]);
        };
        let times = cast(batch.column(index), &DataType::Int64)?;
        let times = times.as_primitive::<arrow::datatypes::Int64Type>();
        let keys: Vec<String> = (0..times.len())
            .map(|row| {
                let micros = (!times.is_null(row)).then(|| times.value(row).saturating_mul(scale));
                self.directory_of(micros)
            })
            .collect();
        let mut distinct: Vec<&String> = Vec::new();
        for key in &keys {
            if !distinct.contains(&key) {
                distinct.push(key);
            }
        }
        if distinct.len() == 1 {
            return Ok(vec![(self.file_of(Some(distinct[0])), output)]);
        }
        let mut parts = Vec::with_capacity(distinct.len());
        for key in distinct {
            let mask: BooleanArray = keys.iter().map(|k| Some(k == key)).collect();
            parts.push((
                self.file_of(Some(key)),
                filter_record_batch(&output, &mask)?,
            ));
        }
        Ok(parts)
    }

    fn directory_of(&self, micros: Option<i64>) -> String {
        let time = micros.and_then(DateTime::<Utc>::from_timestamp_micros);
        match (self.by, time) {
            (PartitionBy::Hour, Some(t)) => t.format("date=%Y-%m-%d/hour=%H").to_string(),
            (_, Some(t)) => t.format("date=%Y-%m-%d").to_string(),
            // Hive's name for a null partition value.
            (PartitionBy::Hour, None) => {
                "date=__HIVE_DEFAULT_PARTITION__/hour=__HIVE_DEFAULT_PARTITION__".into()
            }
            (_, None) => "date=__HIVE_DEFAULT_PARTITION__".into(),
        }
    }
}

/// A capture's name made safe as a partition value and file name: letters,
/// digits, `.`, `-` and `_` stay, anything else becomes `_`.
pub fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // A leading dot or underscore would make readers treat the file as hidden.
    match cleaned.trim_start_matches(['.', '_']) {
        "" => "capture".to_string(),
        rest => rest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_visible() {
        assert_eq!(
            safe_name("Monday-WorkingHours.pcap"),
            "Monday-WorkingHours.pcap"
        );
        assert_eq!(safe_name("a b/c=d.pcap"), "a_b_c_d.pcap");
        assert_eq!(safe_name(".hidden.pcap"), "hidden.pcap");
        assert_eq!(safe_name("__"), "capture");
    }

    #[test]
    fn hours_use_utc() {
        let p = Partitioner {
            by: PartitionBy::Hour,
            capture: "c".into(),
            start: Some((0, 1)),
            extension: "parquet",
        };
        // 2017-07-05T09:47:00-03:00 is 12:47 UTC.
        assert_eq!(
            p.directory_of(Some(1_499_258_820_000_000)),
            "date=2017-07-05/hour=12"
        );
        assert_eq!(
            p.file_of(Some("date=2017-07-05/hour=12")),
            PathBuf::from("date=2017-07-05/hour=12/c.parquet")
        );
    }
}
