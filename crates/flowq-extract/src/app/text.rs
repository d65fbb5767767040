//! The rendered text values of one protocol summary, kept in one string.
//!
//! A summary renders a handful of values (an HTTP request's method, target,
//! version, Host and User-Agent; a hello's SNI, ALPN names and fingerprints;
//! a DNS name and its answers). As one `String` each they cost one
//! allocation per value and per flow, which was the largest share of the
//! application columns' cost (docs/benchmarks.md, "Application metadata
//! columns"). Here they are appended to one string, reserved once where the
//! summary knows their sizes, and each value is a [`Span`] of it: one
//! allocation per summary.
//!
//! Every value is text as [`escape_into`] renders it (printable ASCII) or
//! text flowq wrote itself (decimal, hex, addresses), so a list's items are
//! joined by a line feed, which no item contains.

use super::util::escape_into;

/// Where one value lies in its summary's [`Texts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

/// Where a list of values lies in its summary's [`Texts`]: the items, joined
/// by `\n`, and how many there are (so that an empty list and a list of one
/// empty item differ).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListSpan {
    span: Span,
    count: u16,
}

impl ListSpan {
    /// The number of items.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether the list has no item.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// The items of a list, borrowed from their [`Texts`].
#[derive(Debug, Clone, Copy)]
pub struct Items<'a> {
    joined: &'a str,
    count: u16,
}

impl<'a> Items<'a> {
    /// The number of items.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether the list has no item.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The items in order.
    pub fn iter(&self) -> ItemIter<'a> {
        ItemIter((self.count > 0).then(|| self.joined.split(SEPARATOR)))
    }

    /// The items, each as its own string (tests, callers that keep them).
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl<'a> IntoIterator for Items<'a> {
    type Item = &'a str;
    type IntoIter = ItemIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The items of a list, in order ([`Items::iter`]).
#[derive(Debug, Clone)]
pub struct ItemIter<'a>(Option<std::str::Split<'a, char>>);

impl<'a> Iterator for ItemIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        self.0.as_mut()?.next()
    }
}

/// Joins the items of a list: never in a rendered value ([`escape_into`]
/// escapes every control byte).
const SEPARATOR: char = '\n';

/// The rendered values of one summary, in one string.
#[derive(Debug, Clone, Default)]
pub struct Texts {
    text: String,
}

impl Texts {
    /// Empty, with room for `bytes` bytes of values.
    pub fn with_capacity(bytes: usize) -> Self {
        Texts {
            text: String::with_capacity(bytes),
        }
    }

    /// Room for `bytes` more bytes of values (one allocation for what a
    /// summary renders at once).
    pub fn reserve(&mut self, bytes: usize) {
        self.text.reserve(bytes);
    }

    fn end(&self) -> u32 {
        // A summary renders a few KiB at most (each value is bounded).
        u32::try_from(self.text.len()).unwrap_or(u32::MAX)
    }

    fn span_from(&self, start: u32) -> Span {
        Span {
            start,
            end: self.end(),
        }
    }

    /// Appends bytes from the wire, rendered by [`escape_into`].
    pub fn push_escaped(&mut self, bytes: &[u8]) -> Span {
        let start = self.end();
        escape_into(&mut self.text, bytes);
        self.span_from(start)
    }

    /// Appends text flowq rendered (digits, hex, an address).
    pub fn push_str(&mut self, s: &str) -> Span {
        let start = self.end();
        self.text.push_str(s);
        self.span_from(start)
    }

    /// Appends what `write` writes to the string (digits, hex, an address).
    pub fn push_with(&mut self, write: impl FnOnce(&mut String)) -> Span {
        let start = self.end();
        write(&mut self.text);
        self.span_from(start)
    }

    /// Starts a list at the end of the values.
    pub fn list(&self) -> ListSpan {
        ListSpan {
            span: self.span_from(self.end()),
            count: 0,
        }
    }

    /// Appends one item to `list`, which must be the last value appended
    /// (its items stay contiguous): bytes from the wire, escaped.
    pub fn push_item_escaped(&mut self, list: &mut ListSpan, bytes: &[u8]) {
        self.push_item_with(list, |s| escape_into(s, bytes));
    }

    /// Appends one item to `list`, which must be the last value appended:
    /// what `write` writes.
    pub fn push_item_with(&mut self, list: &mut ListSpan, write: impl FnOnce(&mut String)) {
        debug_assert_eq!(list.span.end, self.end(), "a list's items are contiguous");
        if list.count > 0 {
            self.text.push(SEPARATOR);
        }
        let item = self.text.len();
        write(&mut self.text);
        // Items are rendered text (escaped, or digits and addresses): a line
        // feed inside one would split it in two when the list is read.
        debug_assert!(
            !self.text[item..].contains(SEPARATOR),
            "a list item holds no separator"
        );
        list.count = list.count.saturating_add(1);
        list.span.end = self.end();
    }

    /// The value at `span` (empty for a span of another summary's text).
    pub fn get(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    /// The value at `span`, if any.
    pub fn opt(&self, span: Option<Span>) -> Option<&str> {
        span.map(|s| self.get(s))
    }

    /// The items of `list`.
    pub fn items(&self, list: ListSpan) -> Items<'_> {
        Items {
            joined: self.get(list.span),
            count: list.count,
        }
    }

    /// Bytes of values held.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether no value is held.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_lists_in_one_string() {
        let mut t = Texts::with_capacity(64);
        let a = t.push_escaped(b"GET");
        let b = t.push_escaped(b"a\\b\x01");
        let mut list = t.list();
        assert!(t.items(list).is_empty());
        assert_eq!(t.items(list).iter().count(), 0);
        t.push_item_escaped(&mut list, b"h2");
        t.push_item_escaped(&mut list, b"");
        t.push_item_escaped(&mut list, b"x\ny");
        let c = t.push_str("1.2.3.4");
        assert_eq!(t.get(a), "GET");
        assert_eq!(t.get(b), "a\\\\b\\x01");
        assert_eq!(t.items(list).to_vec(), ["h2", "", "x\\x0ay"]);
        assert_eq!(t.items(list).len(), 3);
        assert_eq!(t.get(c), "1.2.3.4");
        // One empty item is not an empty list.
        let mut one = t.list();
        t.push_item_escaped(&mut one, b"");
        assert_eq!(t.items(one).to_vec(), [""]);
        // A span that is not this text's gives an empty value, not a panic.
        assert_eq!(Texts::default().get(c), "");
    }
}
