//! Measures of text: `shannon_entropy(text)`, the bits of information per
//! character, to tell generated or encoded names (DNS tunnelling, DGA
//! domains) from names people chose.

use super::args::map_text;
use super::scalar::{Family, Function};
use datafusion::arrow::array::Float64Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

/// Shannon entropy in bits per character of the distribution of characters
/// (Unicode scalar values) in `text`: `-sum(p * log2 p)`; 0 for empty text.
pub(super) fn shannon_entropy(text: &str) -> f64 {
    let mut counts = [0usize; 128];
    let mut other: Vec<(char, usize)> = Vec::new();
    let mut total = 0usize;
    for c in text.chars() {
        total += 1;
        if c.is_ascii() {
            counts[c as usize] += 1;
        } else if let Some(entry) = other.iter_mut().find(|(o, _)| *o == c) {
            entry.1 += 1;
        } else {
            other.push((c, 1));
        }
    }
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    let term = |n: usize| {
        let p = n as f64 / total;
        -p * p.log2()
    };
    let sum: f64 = counts
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| term(n))
        .sum::<f64>()
        + other.iter().map(|&(_, n)| term(n)).sum::<f64>();
    // The sum is -0.0 for one repeated character: show it as 0.
    if sum > 0.0 { sum } else { 0.0 }
}

/// `shannon_entropy(text)`: bits per character.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ShannonEntropy;

impl Function for ShannonEntropy {
    const NAME: &'static str = "shannon_entropy";
    const ARGUMENTS: &'static [(&'static str, &'static str)] =
        &[("text", "Any text, e.g. a DNS label.")];
    const RETURNS: DataType = DataType::Float64;
    const DESCRIPTION: &'static str = "The Shannon entropy of the characters of the text, in \
        bits per character (0 for text of one repeated character, log2(k) for k distinct \
        characters equally often); 0 for empty text; NULL for NULL.";
    const EXAMPLE: &'static str = "select shannon_entropy('abcd'); -- 2.0";
    const FAMILY: Family = Family::Text;

    fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_text::<f64, Float64Array>(
            Self::NAME,
            args,
            |s| Some(shannon_entropy(s)),
            ScalarValue::Float64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::shannon_entropy;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_computed_values() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("a"), 0.0);
        assert_eq!(shannon_entropy("aaaaaaaa").to_bits(), 0.0f64.to_bits());
        assert!(close(shannon_entropy("ab"), 1.0));
        assert!(close(shannon_entropy("abcd"), 2.0));
        assert!(close(shannon_entropy("abcdefgh"), 3.0));
        assert!(close(shannon_entropy("0123456789abcdef"), 4.0));
        // a: 2/3, b: 1/3
        let want = -(2.0 / 3.0 * (2.0f64 / 3.0).log2() + 1.0 / 3.0 * (1.0f64 / 3.0).log2());
        assert!(close(shannon_entropy("aab"), want));
        assert!(close(shannon_entropy("aba"), want));
        // Case-sensitive; non-ASCII characters count once each, not per byte.
        assert!(close(shannon_entropy("aA"), 1.0));
        assert!(close(shannon_entropy("éé"), 0.0));
        assert!(close(shannon_entropy("éü"), 1.0));
        assert!(close(shannon_entropy("中国中国"), 1.0));
        assert!(close(shannon_entropy("a中"), 1.0));
    }

    #[test]
    fn tunnel_labels_score_higher_than_words() {
        let word = shannon_entropy("wwwexamplemailserver");
        let encoded = shannon_entropy("mzxw6ytboi2dsnzqgq4d");
        assert!(encoded > word, "{encoded} {word}");
    }
}
