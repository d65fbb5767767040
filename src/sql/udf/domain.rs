//! The domain name functions: `registered_domain(name)`, the name under a
//! public suffix that someone registered, from the Public Suffix List.
//!
//! The list comes from the `psl` crate, which compiles Mozilla's list into a
//! matcher at its release; its maintainers republish it automatically when
//! the list changes, so `cargo update -p psl` brings flowq up to date.

use std::borrow::Cow;

use super::args::map_text;
use super::scalar::{Family, Function};
use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

/// The longest DNS name in text form without its final dot (RFC 1035: 255
/// octets on the wire).
const MAX_NAME: usize = 253;
/// The longest DNS label (RFC 1035).
const MAX_LABEL: usize = 63;

/// The registered domain of `name` (see `docs/sql-functions.md`), or `None`
/// when `name` is not a host name or is itself a public suffix.
pub(super) fn registered_domain(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let too_long = name.len() > MAX_NAME && (name.is_ascii() || name.chars().count() > MAX_NAME);
    if name.is_empty() || too_long || !name.split('.').all(is_label) || !is_top_label(name) {
        return None;
    }
    // The list is in lower case: ASCII names (all names on the wire) are
    // lowered cheaply, Unicode names by Unicode's rules.
    let lower: Cow<str> = if name.is_ascii() {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        }
    } else {
        Cow::Owned(name.to_lowercase())
    };
    let domain = psl::domain(lower.as_bytes())?;
    std::str::from_utf8(domain.as_bytes())
        .ok()
        .map(str::to_owned)
}

/// A label of a host name: 1 to 63 characters of ASCII letters, digits, `-`
/// and `_` (as in service names such as `_sip._tcp`), or non-ASCII
/// characters other than spaces and controls (the Unicode form of an
/// internationalised label); no `-` at either end.
fn is_label(label: &str) -> bool {
    let length_ok = if label.is_ascii() {
        label.len() <= MAX_LABEL
    } else {
        label.chars().count() <= MAX_LABEL
    };
    !label.is_empty()
        && length_ok
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || c == '-'
                || c == '_'
                || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
        })
}

/// Whether the last label of `name` can be a top-level domain: not all
/// digits (that is an IPv4 address, `10.1.2.3`, or other numeric text; RFC
/// 3696 section 2) and without `_` (no top-level domain has one).
fn is_top_label(name: &str) -> bool {
    name.rsplit('.')
        .next()
        .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()) && !tld.contains('_'))
}

/// `registered_domain(name)`: the registrable part of a DNS name.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct RegisteredDomain;

impl Function for RegisteredDomain {
    const NAME: &'static str = "registered_domain";
    const ARGUMENTS: &'static [(&'static str, &'static str)] = &[(
        "name",
        "A DNS name, e.g. 'www.example.co.uk', with or without a final dot.",
    )];
    const RETURNS: DataType = DataType::Utf8;
    const DESCRIPTION: &'static str = "The registered domain of a DNS name: its public suffix \
        (from the Public Suffix List, ICANN and private sections) and one label more, in lower \
        case and without a final dot; NULL for NULL, for a name that is a public suffix itself, \
        for addresses and for text that is not a host name.";
    const EXAMPLE: &'static str = "select registered_domain('www.bbc.co.uk'); -- bbc.co.uk";
    const FAMILY: Family = Family::Domain;

    fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_text::<String, StringArray>(Self::NAME, args, registered_domain, ScalarValue::Utf8)
    }
}

#[cfg(test)]
mod tests {
    use super::registered_domain;

    fn rd(name: &str) -> Option<String> {
        registered_domain(name)
    }

    #[test]
    fn known_domains() {
        for (name, want) in [
            ("example.com", "example.com"),
            ("www.example.com", "example.com"),
            ("a.b.c.d.example.com", "example.com"),
            ("www.bbc.co.uk", "bbc.co.uk"),
            ("bbc.co.uk", "bbc.co.uk"),
            ("www.example.com.au", "example.com.au"),
            ("mail.google.co.jp", "google.co.jp"),
            ("a.b.example.uk.com", "example.uk.com"),
            ("foo.s3.amazonaws.com", "foo.s3.amazonaws.com"),
            ("alice.github.io", "alice.github.io"),
            ("x.alice.github.io", "alice.github.io"),
            ("shop.example.ck", "shop.example.ck"),
            ("www.ck", "www.ck"),
            ("a.www.ck", "www.ck"),
            ("printer.local", "printer.local"),
            ("_sip._tcp.example.com", "example.com"),
            ("xn--bcher-kva.de", "xn--bcher-kva.de"),
            ("www.xn--bcher-kva.de", "xn--bcher-kva.de"),
            ("www.example.xn--fiqs8s", "example.xn--fiqs8s"),
            ("www.example.中国", "example.中国"),
            ("www.Bücher.DE", "bücher.de"),
            ("WWW.EXAMPLE.CO.UK.", "example.co.uk"),
            ("123.example.com", "example.com"),
            ("1-2.example.com", "example.com"),
        ] {
            assert_eq!(rd(name).as_deref(), Some(want), "{name}");
        }
    }

    #[test]
    fn suffixes_and_junk_are_null() {
        let label63 = "a".repeat(63);
        let label64 = "a".repeat(64);
        let ok63 = format!("{label63}.example.com");
        assert_eq!(rd(&ok63).as_deref(), Some("example.com"));
        // 4 * 63 + 3 dots = 255 > 253
        let long = format!("{label63}.{label63}.{label63}.{label63}.com");
        let at_limit = format!("{label63}.{label63}.{label63}.{}.com", "a".repeat(57));
        assert_eq!(at_limit.len(), 253);
        assert!(rd(&at_limit).is_some());
        for name in [
            "",
            ".",
            "..",
            "com",
            "com.",
            "co.uk",
            "uk",
            "github.io",
            "ck",
            "example.ck",
            "localhost",
            "10.1.2.3",
            "10.1.2.3.",
            "10.1",
            "999.999.999.999",
            "2001:db8::1",
            "::1",
            "[::1]",
            "example.com:443",
            "http://example.com",
            "user@example.com",
            "a..example.com",
            ".example.com",
            "example.com..",
            "exa mple.com",
            " example.com",
            "example.com ",
            "-a.example.com",
            "a-.example.com",
            "*.example.com",
            "_._._",
            "example._com",
            "exa\u{0}mple.com",
            "example.com\n",
            "www.\u{3000}.com",
            &format!("{label64}.example.com"),
            &long,
        ] {
            assert_eq!(rd(name), None, "{name:?}");
        }
    }
}
