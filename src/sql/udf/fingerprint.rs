//! The fingerprint functions: `ja4_part(ja4, n)`, one of the three parts of
//! a JA4 TLS client fingerprint, so that clients can be grouped by what they
//! offer (part a: protocol, version, counts, ALPN) apart from the exact lists
//! (parts b and c, which change with every cipher or extension added).

use std::sync::Arc;

use super::args::{
    TextColumn, coerce_integer, coerce_text, int64_array, int64_scalar, scalar_text,
};
use super::scalar::{Family, Function};
use datafusion::arrow::array::{Array, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::utils::take_function_args;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs};

/// Part `n` (1, 2 or 3) of a JA4 fingerprint, or `None` when `ja4` is not
/// one. A JA4 fingerprint is `a_b_c`: `a` is 10 characters (`t`, `q` or `d`;
/// a two-character version; `d` or `i`; two digits of cipher count; two of
/// extension count; two ALPN characters), `b` and `c` are 12 lowercase hex
/// digits each (a truncated SHA-256, or twelve zeros for an empty list).
pub(super) fn ja4_part(ja4: &str, n: usize) -> Option<&str> {
    let mut parts = ja4.split('_');
    let (Some(a), Some(b), Some(c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let ab = a.as_bytes();
    let a_ok = ab.len() == 10
        && matches!(ab[0], b't' | b'q' | b'd')
        && ab[1..3].iter().all(u8::is_ascii_alphanumeric)
        && matches!(ab[3], b'd' | b'i')
        && ab[4..8].iter().all(u8::is_ascii_digit)
        && ab[8..10].iter().all(u8::is_ascii_alphanumeric);
    let hash_ok = |h: &str| {
        h.len() == 12
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !(a_ok && hash_ok(b) && hash_ok(c)) {
        return None;
    }
    [a, b, c].get(n.checked_sub(1)?).copied()
}

/// The part number argument, checked: 1, 2 or 3.
fn part_number(n: i64) -> Result<usize> {
    match n {
        1..=3 => Ok(n as usize),
        _ => exec_err!("{}", bad_part(n)),
    }
}

fn bad_part(n: i64) -> String {
    format!("ja4_part: part {n} does not exist (1 is a, 2 is b, 3 is c)")
}

/// `ja4_part(ja4, n)`: part a, b or c of a JA4 fingerprint.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Ja4Part;

impl Function for Ja4Part {
    const NAME: &'static str = "ja4_part";
    const ARGUMENTS: &'static [(&'static str, &'static str)] = &[
        (
            "ja4",
            "A JA4 fingerprint, e.g. 't13d1516h2_8daaf6152771_e5627efa2ab1'.",
        ),
        ("n", "1 for part a, 2 for part b, 3 for part c."),
    ];
    const RETURNS: DataType = DataType::Utf8;
    const DESCRIPTION: &'static str = "Part n of a JA4 fingerprint a_b_c: 1 gives a (protocol, \
        TLS version, SNI, cipher and extension counts, ALPN), 2 gives b (hash of the ciphers), 3 \
        gives c (hash of the extensions and signature algorithms); NULL for NULL arguments and \
        for text that is not a JA4 fingerprint; an error for n other than 1, 2 or 3.";
    const EXAMPLE: &'static str =
        "select ja4_part('t13d1516h2_8daaf6152771_e5627efa2ab1', 1); -- t13d1516h2";
    const FAMILY: Family = Family::Fingerprint;

    fn coerce(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(vec![
            coerce_text(Self::NAME, "ja4", &arg_types[0])?,
            coerce_integer(Self::NAME, "n", &arg_types[1])?,
        ])
    }

    /// A constant part number is checked at planning: a wrong one is a typo.
    fn check_constants(args: &ReturnFieldArgs) -> Result<()> {
        if let Some(Some(n)) = args.scalar_arguments.get(1)
            && let Ok(Some(n)) = int64_scalar(Self::NAME, n)
            && !(1..=3).contains(&n)
        {
            return plan_err!("{}", bad_part(n));
        }
        Ok(())
    }

    fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = Self::NAME;
        let [ja4_arg, n_arg] = take_function_args(name, &args.args)?;
        match (ja4_arg, n_arg) {
            (ColumnarValue::Scalar(ja4), ColumnarValue::Scalar(n)) => {
                let n = int64_scalar(name, n)?.map(part_number).transpose()?;
                let ja4 = scalar_text(name, ja4)?;
                let part = ja4.zip(n).and_then(|(ja4, n)| ja4_part(ja4, n));
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(
                    part.map(str::to_owned),
                )))
            }
            (ColumnarValue::Array(ja4), ColumnarValue::Scalar(n)) => {
                let ja4 = TextColumn::new(name, ja4)?;
                let n = int64_scalar(name, n)?.map(part_number).transpose()?;
                let out: StringArray = (0..ja4.len())
                    .map(|i| ja4.get(i).zip(n).and_then(|(ja4, n)| ja4_part(ja4, n)))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            (ja4, ColumnarValue::Array(n)) => {
                let n = int64_array(name, n)?;
                let n = n.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                let column = match ja4 {
                    ColumnarValue::Array(a) => Some(TextColumn::new(name, a)?),
                    ColumnarValue::Scalar(_) => None,
                };
                let constant = match ja4 {
                    ColumnarValue::Scalar(v) => scalar_text(name, v)?,
                    ColumnarValue::Array(_) => None,
                };
                if let Some(c) = &column
                    && c.len() != n.len()
                {
                    return exec_err!("{name}: arguments have different lengths");
                }
                let mut out = Vec::with_capacity(n.len());
                for i in 0..n.len() {
                    let ja4 = match &column {
                        Some(c) => c.get(i),
                        None => constant,
                    };
                    let part = match n.is_valid(i).then(|| n.value(i)) {
                        Some(n) => {
                            let n = part_number(n)?;
                            ja4.and_then(|ja4| ja4_part(ja4, n))
                        }
                        None => None,
                    };
                    out.push(part);
                }
                Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ja4_part;

    #[test]
    fn parts_of_valid_fingerprints() {
        let f = "t13d1516h2_8daaf6152771_e5627efa2ab1";
        assert_eq!(ja4_part(f, 1), Some("t13d1516h2"));
        assert_eq!(ja4_part(f, 2), Some("8daaf6152771"));
        assert_eq!(ja4_part(f, 3), Some("e5627efa2ab1"));
        assert_eq!(ja4_part(f, 0), None);
        assert_eq!(ja4_part(f, 4), None);
        for f in [
            "q13d0310h3_55b375c5d22e_cd85d2d88918",
            "t12i000100_000000000000_000000000000",
            "d12d0505c6_0123456789ab_cdef01234567",
            "t00i990099_aaaaaaaaaaaa_bbbbbbbbbbbb",
            "ts3d0101h1_aaaaaaaaaaaa_bbbbbbbbbbbb",
        ] {
            assert_eq!(ja4_part(f, 1), Some(&f[..10]), "{f}");
            assert_eq!(ja4_part(f, 3), Some(&f[24..]), "{f}");
        }
    }

    #[test]
    fn other_text_is_none() {
        for f in [
            "",
            "_",
            "__",
            "t13d1516h2",
            "t13d1516h2_8daaf6152771",
            "t13d1516h2_8daaf6152771_e5627efa2ab1_",
            "t13d1516h2_8daaf6152771_e5627efa2ab1_1234",
            "T13d1516h2_8daaf6152771_e5627efa2ab1",
            "x13d1516h2_8daaf6152771_e5627efa2ab1",
            "t13x1516h2_8daaf6152771_e5627efa2ab1",
            "t13d15a6h2_8daaf6152771_e5627efa2ab1",
            "t13d1516h_8daaf6152771_e5627efa2ab1",
            "t13d1516h2-_8daaf6152771_e5627efa2ab1",
            "t13d1516h2_8DAAF6152771_e5627efa2ab1",
            "t13d1516h2_8daaf615277_e5627efa2ab1",
            "t13d1516h2_8daaf6152771_e5627efa2ab1 ",
            "t13d1516h2_8daaf6152771_g5627efa2ab1",
            "t13d1516h2_002f,0035_0005,000a",
            "t13d1516é_8daaf6152771_e5627efa2ab1",
            "771,4865-4866,0-23,29-23,0",
        ] {
            for n in 1..=3 {
                assert_eq!(ja4_part(f, n), None, "{f:?} {n}");
            }
        }
    }
}
