//! One column's cells for a chunk of finished flows, built in one loop.
//!
//! The column functions (`fill` in `builder.rs`, `stats.rs` and `cic.rs`)
//! match on the column once and hand a getter to one of these methods; the
//! method matches on the builder's type once and then runs a loop that the
//! compiler specialises for that getter. Per cell this is a load, a conversion and two
//! stores, instead of two matches and a call (measured in docs/benchmarks.md).

use super::builder::{ColumnBuilder, Scratch};
use crate::app::text::Items;
use crate::flow::FinishedFlow;

/// The flows of a chunk and the builder of the column being filled.
pub(super) struct Chunk<'a, F> {
    pub flows: &'a [FinishedFlow<F>],
    pub builder: &'a mut ColumnBuilder,
    /// Reused buffers the getters write text and lists into.
    pub scratch: &'a mut Scratch,
}

/// A column's kind and its getter's type come from the same column catalogue
/// (`schema.rs`); a mismatch is a bug in this crate, caught by every profile's tests.
#[cold]
fn mismatch() -> ! {
    unreachable!("getter type does not match its column kind")
}

impl<F> Chunk<'_, F> {
    /// Integer cells, narrowed to the column's width (the catalogue picks a
    /// width that holds every value).
    #[inline]
    pub fn ints(&mut self, get: impl Fn(&FinishedFlow<F>) -> i64) {
        self.opt_ints(|f| Some(get(f)));
    }

    /// A count as an Int64 cell (counts past `i64::MAX` cannot happen in
    /// practice; they saturate rather than wrap).
    #[inline]
    pub fn counts(&mut self, get: impl Fn(&FinishedFlow<F>) -> u64) {
        self.ints(|f| i64::try_from(get(f)).unwrap_or(i64::MAX));
    }

    /// Integer cells, null where `get` gives `None`.
    #[inline]
    pub fn opt_ints(&mut self, get: impl Fn(&FinishedFlow<F>) -> Option<i64>) {
        macro_rules! each {
            ($b:ident, $t:ty) => {
                for flow in self.flows {
                    match get(flow) {
                        Some(v) => $b.append_value(v as $t),
                        None => $b.append_null(),
                    }
                }
            };
        }
        match self.builder {
            ColumnBuilder::I8(b) => each!(b, i8),
            ColumnBuilder::I16(b) => each!(b, i16),
            ColumnBuilder::I32(b) => each!(b, i32),
            ColumnBuilder::I64(b) => each!(b, i64),
            _ => mismatch(),
        }
    }

    /// Float cells.
    #[inline]
    pub fn floats(&mut self, get: impl Fn(&FinishedFlow<F>) -> f64) {
        self.opt_floats(|f| Some(get(f)));
    }

    /// Float cells, null where `get` gives `None`.
    #[inline]
    pub fn opt_floats(&mut self, get: impl Fn(&FinishedFlow<F>) -> Option<f64>) {
        let ColumnBuilder::F64(b) = self.builder else {
            mismatch()
        };
        for flow in self.flows {
            match get(flow) {
                Some(v) => b.append_value(v),
                None => b.append_null(),
            }
        }
    }

    /// Timestamp cells (microseconds since the epoch).
    #[inline]
    pub fn timestamps_us(&mut self, get: impl Fn(&FinishedFlow<F>) -> i64) {
        let ColumnBuilder::TimestampUs(b) = self.builder else {
            mismatch()
        };
        for flow in self.flows {
            b.append_value(get(flow));
        }
    }

    /// Text cells: `get` returns a static string or one it wrote into the buffer.
    #[inline]
    pub fn texts(&mut self, get: impl for<'s> Fn(&FinishedFlow<F>, &'s mut String) -> &'s str) {
        let ColumnBuilder::Text(b) = self.builder else {
            mismatch()
        };
        for flow in self.flows {
            b.append_value(get(flow, &mut self.scratch.text));
        }
    }

    /// Text cells, null where `get` gives `None`: `get` returns a borrowed
    /// string or one it wrote into the buffer.
    #[inline]
    pub fn opt_texts(
        &mut self,
        get: impl for<'s> Fn(&'s FinishedFlow<F>, &'s mut String) -> Option<&'s str>,
    ) {
        let ColumnBuilder::Text(b) = self.builder else {
            mismatch()
        };
        // Runs of nulls are appended at once (most flows have no value in
        // most application columns).
        let mut nulls = 0;
        for flow in self.flows {
            match get(flow, &mut self.scratch.text) {
                Some(v) => {
                    if nulls > 0 {
                        b.append_nulls(nulls);
                        nulls = 0;
                    }
                    b.append_value(v)
                }
                None => nulls += 1,
            }
        }
        if nulls > 0 {
            b.append_nulls(nulls);
        }
    }

    /// Text list cells, null where `get` gives `None`: a summary's list
    /// ([`Items`], its values in one string).
    #[inline]
    pub fn opt_text_items(&mut self, get: impl Fn(&FinishedFlow<F>) -> Option<Items<'_>>) {
        let ColumnBuilder::ListText(b) = self.builder else {
            mismatch()
        };
        let mut nulls = 0;
        for flow in self.flows {
            match get(flow) {
                Some(items) => {
                    if nulls > 0 {
                        b.append_nulls(nulls);
                        nulls = 0;
                    }
                    for item in items {
                        b.values().append_value(item);
                    }
                    b.append(true);
                }
                None => nulls += 1,
            }
        }
        if nulls > 0 {
            b.append_nulls(nulls);
        }
    }

    /// Integer list cells: `get` fills the (cleared) buffer. A fixed-size
    /// list column takes the first values up to its length and pads with 0.
    #[inline]
    pub fn int_lists(&mut self, get: impl Fn(&FinishedFlow<F>, &mut Vec<i64>)) {
        macro_rules! each {
            ($b:ident, $t:ty, $fixed:expr) => {
                for flow in self.flows {
                    let ints = &mut self.scratch.ints;
                    ints.clear();
                    get(flow, ints);
                    if let Some(n) = $fixed {
                        ints.resize(n, 0);
                    }
                    $b.values().extend(ints.iter().map(|&x| Some(x as $t)));
                    $b.append(true);
                }
            };
        }
        match self.builder {
            ColumnBuilder::ListI8(b) => each!(b, i8, None),
            ColumnBuilder::ListI32(b) => each!(b, i32, None),
            ColumnBuilder::ListI64(b) => each!(b, i64, None),
            ColumnBuilder::FixedI8(b) => {
                let n = Some(b.value_length() as usize);
                each!(b, i8, n)
            }
            ColumnBuilder::FixedI32(b) => {
                let n = Some(b.value_length() as usize);
                each!(b, i32, n)
            }
            ColumnBuilder::FixedI64(b) => {
                let n = Some(b.value_length() as usize);
                each!(b, i64, n)
            }
            _ => mismatch(),
        }
    }

    /// Binary cells: `get` fills the (cleared) buffer.
    #[inline]
    pub fn binaries(&mut self, get: impl Fn(&FinishedFlow<F>, &mut Vec<u8>)) {
        let ColumnBuilder::Binary(b) = self.builder else {
            mismatch()
        };
        for flow in self.flows {
            let bytes = &mut self.scratch.bytes;
            bytes.clear();
            get(flow, bytes);
            b.append_value(bytes.as_slice());
        }
    }

    /// Lists of binary values: `get` calls `push` once per element.
    #[inline]
    pub fn binary_lists(&mut self, get: impl Fn(&FinishedFlow<F>, &mut dyn FnMut(&[u8]))) {
        let ColumnBuilder::ListBinary(b) = self.builder else {
            mismatch()
        };
        for flow in self.flows {
            get(flow, &mut |bytes| b.values().append_value(bytes));
            b.append(true);
        }
    }

    /// Float list cells: `get` fills the (cleared) buffer.
    #[inline]
    pub fn float_lists(&mut self, get: impl Fn(&FinishedFlow<F>, &mut Vec<f64>)) {
        let ColumnBuilder::ListF64(b) = self.builder else {
            mismatch()
        };
        for flow in self.flows {
            let floats = &mut self.scratch.floats;
            floats.clear();
            get(flow, floats);
            b.values().extend(floats.iter().map(|&x| Some(x)));
            b.append(true);
        }
    }

    /// Fills the column with nulls and returns true when the flows lack the
    /// state the column reads (`has` tells; a profile's flows all have the same
    /// state, so the first flow decides).
    pub fn nulls_unless(&mut self, has: impl Fn(&F) -> bool) -> bool {
        if self.flows.first().is_some_and(|f| !has(&f.features)) {
            self.nulls();
            return true;
        }
        false
    }

    /// Null cells (a column the profile's state cannot fill).
    pub fn nulls(&mut self) {
        for _ in self.flows {
            super::builder::append(self.builder, super::builder::Value::Null);
        }
    }
}
