//! Running `flowq extract` on built packets, reading its Parquet output back
//! into rows of [`Val`]s, and checking them against expected values ([`W`]).
//!
//! A row maps the column name, its leading spaces trimmed (the cic2017 names
//! start with one), to the value; null is distinct from 0.

use crate::util::capture::{LINKTYPE_ETHERNET, Pkt, write_pcap};
use crate::util::flowq_bin;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatchReader};
use arrow::datatypes::{
    DataType, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampMicrosecondType,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------
// Values read back
// ---------------------------------------------------------------------------

/// A value of one cell; null is its own variant, distinct from 0.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    /// Any integer or timestamp (µs) column.
    I(i64),
    F(f64),
    S(String),
    /// A list column's items (fixed-size lists too).
    L(Vec<Val>),
    /// Binary.
    B(Vec<u8>),
}

/// One output row by column name (leading spaces trimmed).
pub type Row = BTreeMap<String, Val>;

/// A whole output: exact column names and types, rows in order.
pub struct Out {
    pub columns: Vec<(String, DataType)>,
    /// Each row's values in column order.
    pub cells: Vec<Vec<Val>>,
    /// The same rows keyed by trimmed column name.
    pub rows: Vec<Row>,
}

impl Out {
    /// The exact column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Whether there is a column named exactly `column`.
    pub fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|(n, _)| n == column)
    }

    /// The type of the column named exactly `column`.
    pub fn data_type(&self, column: &str) -> &DataType {
        &self
            .columns
            .iter()
            .find(|(n, _)| n == column)
            .unwrap_or_else(|| panic!("no column {column} in {:?}", self.names()))
            .1
    }

    /// The only row.
    #[track_caller]
    pub fn only(&self) -> &Row {
        assert_eq!(self.rows.len(), 1, "rows: {:#?}", self.rows);
        &self.rows[0]
    }

    /// The one row whose `column` is the integer `value`.
    #[track_caller]
    pub fn row_where(&self, column: &str, value: i64) -> &Row {
        let found: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.get(column) == Some(&Val::I(value)))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "rows with {column} = {value}: {found:#?}\nall rows: {:#?}",
            self.rows
        );
        found[0]
    }

    /// Whether a row has `column` = `value`.
    pub fn any_where(&self, column: &str, value: i64) -> bool {
        self.rows
            .iter()
            .any(|r| r.get(column) == Some(&Val::I(value)))
    }
}

/// The value of row `i` of an Arrow column.
pub fn cell(col: &ArrayRef, i: usize) -> Val {
    if col.is_null(i) {
        return Val::Null;
    }
    match col.data_type() {
        DataType::Int8 => Val::I(i64::from(col.as_primitive::<Int8Type>().value(i))),
        DataType::Int16 => Val::I(i64::from(col.as_primitive::<Int16Type>().value(i))),
        DataType::Int32 => Val::I(i64::from(col.as_primitive::<Int32Type>().value(i))),
        DataType::Int64 => Val::I(col.as_primitive::<Int64Type>().value(i)),
        DataType::Float64 => Val::F(col.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Val::I(col.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::Utf8 => Val::S(col.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Val::S(col.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Val::S(col.as_string_view().value(i).to_string()),
        DataType::List(_) => {
            let items = col.as_list::<i32>().value(i);
            Val::L((0..items.len()).map(|j| cell(&items, j)).collect())
        }
        DataType::LargeList(_) => {
            let items = col.as_list::<i64>().value(i);
            Val::L((0..items.len()).map(|j| cell(&items, j)).collect())
        }
        DataType::FixedSizeList(..) => {
            let items = col.as_fixed_size_list().value(i);
            Val::L((0..items.len()).map(|j| cell(&items, j)).collect())
        }
        DataType::Binary => Val::B(col.as_binary::<i32>().value(i).to_vec()),
        DataType::Dictionary(_, _) => {
            let text = arrow::compute::cast(col, &DataType::Utf8).expect("dictionary to text");
            cell(&text, i)
        }
        other => panic!("unexpected column type {other}"),
    }
}

/// Panics if a Float64 value (a list item too) is NaN or infinite.
#[track_caller]
pub fn assert_finite(column: &str, v: &Val, row: usize) {
    match v {
        Val::F(x) => assert!(
            x.is_finite(),
            "column {column}, row {row}: {x} (no NaN or Infinity allowed)"
        ),
        Val::L(items) => items.iter().for_each(|x| assert_finite(column, x, row)),
        _ => {}
    }
}

/// Reads a Parquet file, panicking on any NaN or infinite Float64 (list items
/// included): no profile writes one, except in `--cic-compat bugs`.
#[track_caller]
pub fn read_parquet(path: &Path) -> Out {
    let out = read_parquet_allowing_non_finite(path);
    for (n, row) in out.rows.iter().enumerate() {
        for (column, v) in row {
            assert_finite(column, v, n);
        }
    }
    out
}

/// [`read_parquet`] without the finiteness check, for `--cic-compat bugs`
/// (CICFlowMeter's arithmetic divides by zero).
pub fn read_parquet_allowing_non_finite(path: &Path) -> Out {
    let file = std::fs::File::open(path).expect("open parquet output");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet footer")
        .build()
        .expect("parquet reader");
    let columns: Vec<(String, DataType)> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let mut cells = Vec::new();
    for batch in reader {
        let batch = batch.expect("record batch");
        for i in 0..batch.num_rows() {
            cells.push(batch.columns().iter().map(|c| cell(c, i)).collect());
        }
    }
    let rows = cells
        .iter()
        .map(|values: &Vec<Val>| {
            columns
                .iter()
                .zip(values)
                .map(|((n, _), v)| (n.trim_start().to_string(), v.clone()))
                .collect()
        })
        .collect();
    Out {
        columns,
        cells,
        rows,
    }
}

// ---------------------------------------------------------------------------
// Running flowq
// ---------------------------------------------------------------------------

/// Runs `flowq extract CAPTURE -o OUTPUT -q ARGS...`, expecting exit 0.
#[track_caller]
pub fn run_flowq(capture: &Path, output: &Path, args: &[&str]) {
    let out = Command::new(flowq_bin())
        .arg("extract")
        .arg(capture)
        .arg("-o")
        .arg(output)
        .arg("-q")
        .args(args)
        .output()
        .expect("run flowq");
    assert!(
        out.status.success(),
        "flowq extract {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `packets` as an Ethernet pcap (nanosecond magic with `nanos`) in a new
/// temporary directory and extracts it into a file named `out_name` there with
/// `args`. Returns the directory (keep it alive) and the output's path.
#[track_caller]
pub fn extract_to(
    packets: &[Pkt],
    nanos: bool,
    out_name: &str,
    args: &[&str],
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = dir.path().join("in.pcap");
    write_pcap(&capture, LINKTYPE_ETHERNET, nanos, packets);
    let output = dir.path().join(out_name);
    run_flowq(&capture, &output, args);
    (dir, output)
}

/// [`extract_to`] with `--stats-json`: also returns the run's summary.
#[track_caller]
pub fn extract_with_stats(
    packets: &[Pkt],
    out_name: &str,
    args: &[&str],
) -> (tempfile::TempDir, PathBuf, serde_json::Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let capture = dir.path().join("in.pcap");
    write_pcap(&capture, LINKTYPE_ETHERNET, false, packets);
    let output = dir.path().join(out_name);
    let stats = dir.path().join("stats.json");
    let stats_arg = stats.to_str().expect("a UTF-8 path");
    run_flowq(
        &capture,
        &output,
        &[args, &["--stats-json", stats_arg]].concat(),
    );
    let summary = std::fs::read_to_string(&stats).expect("the stats file");
    let summary = serde_json::from_str(&summary).expect("stats JSON");
    (dir, output, summary)
}

// ---------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------

/// An expected cell value.
#[derive(Debug, Clone)]
pub enum W {
    /// An integer (any integer or timestamp column).
    I(i64),
    /// A Float64, compared with a relative tolerance of 1e-9.
    F(f64),
    /// Null.
    N,
    /// Text.
    S(&'static str),
    /// A list of integers.
    LI(Vec<i64>),
    /// A list of Float64, each within the tolerance of [`W::F`].
    LF(Vec<f64>),
    /// Bytes.
    B(Vec<u8>),
    /// A list of byte strings.
    LB(Vec<Vec<u8>>),
    /// Float64 +Infinity.
    Inf,
    /// Float64 NaN.
    NaN,
}

/// Whether `got` is `want` within a relative 1e-9 (absolute below 1).
pub fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1.0)
}

/// Whether a value read is the one expected.
pub fn matches(got: &Val, want: &W) -> bool {
    match (got, want) {
        (Val::I(g), W::I(w)) => g == w,
        (Val::F(g), W::F(w)) => close(*g, *w),
        (Val::Null, W::N) => true,
        (Val::S(g), W::S(w)) => g == w,
        (Val::L(g), W::LI(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(g, w)| *g == Val::I(*w))
        }
        (Val::L(g), W::LF(w)) => {
            g.len() == w.len()
                && g.iter()
                    .zip(w)
                    .all(|(g, w)| matches!(g, Val::F(g) if close(*g, *w)))
        }
        (Val::B(g), W::B(w)) => g == w,
        (Val::L(g), W::LB(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(g, w)| *g == Val::B(w.clone()))
        }
        (Val::F(g), W::Inf) => g.is_infinite() && *g > 0.0,
        (Val::F(g), W::NaN) => g.is_nan(),
        _ => false,
    }
}

/// Asserts the given columns of `row` (trimmed names), reporting every
/// difference at once.
#[track_caller]
pub fn check(row: &Row, expected: &[(&str, W)]) {
    let mut wrong = Vec::new();
    for (column, want) in expected {
        match row.get(*column) {
            None => wrong.push(format!("  {column}: no such column")),
            Some(got) if !matches(got, want) => {
                wrong.push(format!("  {column}: expected {want:?}, got {got:?}"))
            }
            Some(_) => {}
        }
    }
    let flow = ["flow_id", "id", "Flow ID"]
        .iter()
        .find_map(|c| row.get(*c));
    assert!(
        wrong.is_empty(),
        "flow {flow:?} differs:\n{}\nwhole row: {row:#?}",
        wrong.join("\n")
    );
}

/// [`check`] with owned column names.
#[track_caller]
pub fn check_owned(row: &Row, expected: &[(String, W)]) {
    let borrowed: Vec<(&str, W)> = expected
        .iter()
        .map(|(c, w)| (c.as_str(), w.clone()))
        .collect();
    check(row, &borrowed);
}
