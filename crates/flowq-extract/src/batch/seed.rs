//! The original script's `duration` text: Python's `str()` of the `Decimal`
//! difference of scapy's packet timestamps. The rule was established by running
//! the script (see `testdata/seed/README.md`).

use crate::timestamp::TimestampStyle;
use std::fmt::Write as _;

/// An exact decimal `coefficient x 10^exponent`, as scapy's `EDecimal` holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    coefficient: i128,
    exponent: i32,
}

/// The `Decimal` scapy builds for a timestamp of `ts_ns` in a capture of `style`.
fn scapy_timestamp(ts_ns: i64, style: TimestampStyle) -> Decimal {
    let ts = i128::from(ts_ns);
    match style {
        TimestampStyle::FixedDigits(9) => Decimal {
            coefficient: ts,
            exponent: -9,
        },
        TimestampStyle::FixedDigits(_) => Decimal {
            coefficient: ts.div_euclid(1_000),
            exponent: -6,
        },
        TimestampStyle::Normalized => {
            // ticks / resolution, exact, with trailing fractional zeros dropped.
            let mut d = Decimal {
                coefficient: ts,
                exponent: -9,
            };
            if d.coefficient == 0 {
                d.exponent = 0;
            }
            while d.exponent < 0 && d.coefficient % 10 == 0 && d.coefficient != 0 {
                d.coefficient /= 10;
                d.exponent += 1;
            }
            d
        }
    }
}

/// Writes the script's duration text for a flow whose first and last packets (in
/// file order) were stamped `first_ns` and `last_ns`.
pub(crate) fn duration_text(out: &mut String, first_ns: i64, last_ns: i64, style: TimestampStyle) {
    let start = scapy_timestamp(first_ns, style);
    let end = scapy_timestamp(last_ns, style);
    // The script wrote the integer 0 when either timestamp was falsy (exactly zero).
    if start.coefficient == 0 || end.coefficient == 0 {
        out.push('0');
        return;
    }
    let exponent = start.exponent.min(end.exponent);
    let scale = |d: Decimal| d.coefficient * 10i128.pow((d.exponent - exponent) as u32);
    write_decimal(out, scale(end) - scale(start), exponent);
}

/// Python's `Decimal.__str__` (to-scientific-string) of `value x 10^exponent`.
fn write_decimal(out: &mut String, value: i128, exponent: i32) {
    if value < 0 {
        out.push('-');
    }
    let digits = value.unsigned_abs().to_string();
    let len = digits.len() as i32;
    let left_digits = exponent + len;
    let dot_place = if exponent <= 0 && left_digits > -6 {
        left_digits
    } else {
        1
    };
    if dot_place <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-dot_place) as usize));
        out.push_str(&digits);
    } else if dot_place >= len {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (dot_place - len) as usize));
    } else {
        let (int_part, frac_part) = digits.split_at(dot_place as usize);
        out.push_str(int_part);
        out.push('.');
        out.push_str(frac_part);
    }
    if left_digits != dot_place {
        // Writing to a String cannot fail.
        let _ = write!(out, "E{:+}", left_digits - dot_place);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(first: i64, last: i64, style: TimestampStyle) -> String {
        let mut s = String::new();
        duration_text(&mut s, first, last, style);
        s
    }

    const US: TimestampStyle = TimestampStyle::FixedDigits(6);
    const NS: TimestampStyle = TimestampStyle::FixedDigits(9);
    const NG: TimestampStyle = TimestampStyle::Normalized;
    const T0: i64 = 1_700_000_000_000_000_000;

    // Expected texts are the script's own output, quoted from testdata/seed/README.md.
    #[test]
    fn microsecond_pcap_has_six_decimals() {
        assert_eq!(text(T0, T0, US), "0.000000");
        assert_eq!(text(T0, T0 + 99_000, US), "0.000099");
        assert_eq!(text(T0, T0 + 2_076_544_000, US), "2.076544");
        assert_eq!(text(T0, T0 + 70_031_000_000, US), "70.031000");
        assert_eq!(text(T0 + 250_000_000, T0, US), "-0.250000");
        assert_eq!(text(0, T0, US), "0");
    }

    #[test]
    fn nanosecond_pcap_switches_to_scientific_below_a_microsecond() {
        assert_eq!(text(T0, T0, NS), "0E-9");
        assert_eq!(text(T0, T0 + 5, NS), "5E-9");
        assert_eq!(text(T0, T0 + 50, NS), "5.0E-8");
        assert_eq!(text(T0, T0 + 500, NS), "5.00E-7");
        assert_eq!(text(T0, T0 + 999, NS), "9.99E-7");
        assert_eq!(text(T0 + 15, T0, NS), "-1.5E-8");
        assert_eq!(text(T0, T0 + 1_000, NS), "0.000001000");
        assert_eq!(text(T0, T0 + 1_000_000_001, NS), "1.000000001");
        assert_eq!(text(T0, T0 + 127_609_669, NS), "0.127609669");
    }

    #[test]
    fn pcapng_drops_trailing_zeros_per_timestamp() {
        assert_eq!(text(T0, T0 + 500_000_000, NG), "0.5");
        assert_eq!(text(T0, T0 + 1_000_000_000, NG), "1");
        assert_eq!(text(T0, T0, NG), "0");
        assert_eq!(text(T0 + 120_000_000, T0 + 120_000_000, NG), "0.00");
        assert_eq!(text(T0 + 460_000, T0 + 460_000, NG), "0.00000");
        assert_eq!(text(T0 + 10, T0 + 10, NG), "0E-8");
        assert_eq!(text(T0 + 1, T0 + 6, NG), "5E-9");
        assert_eq!(text(T0 + 1_000, T0 + 1_500, NG), "5E-7");
    }
}
