//! The original script's duration text (placeholder until verified against the script).

use std::fmt::Write as _;

/// Writes `last - first` as the original script printed it.
pub(crate) fn duration_text(out: &mut String, first_ns: i64, last_ns: i64, digits: u32) {
    let diff = last_ns.saturating_sub(first_ns);
    let scale = 10i64.pow(9 - digits.min(9));
    let units = diff / scale;
    let one = 10i64.pow(digits);
    let _ = write!(
        out,
        "{}.{:0width$}",
        units / one,
        units % one,
        width = digits as usize
    );
}
