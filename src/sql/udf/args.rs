//! Reading the arguments of flowq's SQL functions (text in any of Arrow's
//! three string layouts, integers of any width, constants or columns) and
//! coercing their types at planning.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, LargeStringArray, StringArray, StringViewArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, UInt64Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

// ---------------------------------------------------------------------------
// Argument access
// ---------------------------------------------------------------------------

/// A text column of any of Arrow's three string layouts.
pub(super) enum TextColumn<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> TextColumn<'a> {
    pub(super) fn new(function: &str, array: &'a ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 => TextColumn::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => TextColumn::Large(array.as_string::<i64>()),
            DataType::Utf8View => TextColumn::View(array.as_string_view()),
            other => return exec_err!("{function}: expected a text column, got {other}"),
        })
    }

    pub(super) fn len(&self) -> usize {
        match self {
            TextColumn::Utf8(a) => a.len(),
            TextColumn::Large(a) => a.len(),
            TextColumn::View(a) => a.len(),
        }
    }

    /// Row `i`, `None` when it is NULL. `i` must be below `len()`.
    #[inline]
    pub(super) fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            TextColumn::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::Large(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// The text of a constant argument, `None` when it is NULL.
pub(super) fn scalar_text<'a>(function: &str, value: &'a ScalarValue) -> Result<Option<&'a str>> {
    if value.is_null() {
        return Ok(None);
    }
    match value.try_as_str() {
        Some(text) => Ok(text),
        None => exec_err!("{function}: expected text, got {}", value.data_type()),
    }
}

/// Applies `f` to every row of a one-text-argument call.
pub(super) fn map_text<T, A>(
    function: &str,
    args: &ScalarFunctionArgs,
    f: impl Fn(&str) -> Option<T>,
    to_scalar: fn(Option<T>) -> ScalarValue,
) -> Result<ColumnarValue>
where
    A: Array + FromIterator<Option<T>> + 'static,
{
    let [arg] = take_function_args(function, &args.args)?;
    match arg {
        ColumnarValue::Scalar(value) => Ok(ColumnarValue::Scalar(to_scalar(
            scalar_text(function, value)?.and_then(&f),
        ))),
        ColumnarValue::Array(array) => {
            let column = TextColumn::new(function, array)?;
            let out: A = (0..column.len())
                .map(|i| column.get(i).and_then(&f))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }
    }
}

/// An integer column as Int64; UInt64 values above `i64::MAX`, which are no
/// port or protocol, become -1, which finds nothing.
pub(super) fn int64_array(function: &str, array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Int64 => Ok(Arc::clone(array)),
        DataType::UInt64 => {
            let values = array.as_primitive::<UInt64Type>();
            let out: Int64Array = values
                .iter()
                .map(|v| v.map(|v| i64::try_from(v).unwrap_or(-1)))
                .collect();
            Ok(Arc::new(out))
        }
        t if t.is_integer() || t == &DataType::Null => Ok(cast(array, &DataType::Int64)?),
        t => exec_err!("{function}: expected an integer column, got {t}"),
    }
}

pub(super) fn int64_scalar(function: &str, value: &ScalarValue) -> Result<Option<i64>> {
    Ok(match value {
        ScalarValue::Null => None,
        ScalarValue::Int8(v) => v.map(i64::from),
        ScalarValue::Int16(v) => v.map(i64::from),
        ScalarValue::Int32(v) => v.map(i64::from),
        ScalarValue::Int64(v) => *v,
        ScalarValue::UInt8(v) => v.map(i64::from),
        ScalarValue::UInt16(v) => v.map(i64::from),
        ScalarValue::UInt32(v) => v.map(i64::from),
        // A value above i64::MAX is no port and no protocol: -1 finds nothing.
        ScalarValue::UInt64(v) => v.map(|v| i64::try_from(v).unwrap_or(-1)),
        ScalarValue::Dictionary(_, v) => return int64_scalar(function, v),
        other => return exec_err!("{function}: expected an integer, got {}", other.data_type()),
    })
}

// ---------------------------------------------------------------------------
// Type coercion
// ---------------------------------------------------------------------------

pub(super) fn check_arity(
    function: &str,
    usage: &str,
    arg_types: &[DataType],
    n: usize,
) -> Result<()> {
    if arg_types.len() != n {
        let s = if n == 1 { "" } else { "s" };
        return plan_err!(
            "{function} takes {n} argument{s}, as in {usage}, but got {}",
            arg_types.len()
        );
    }
    Ok(())
}

pub(super) fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Text stays in its layout, dictionary-encoded text is decoded, NULL is Utf8.
pub(super) fn text_type(t: &DataType) -> Option<DataType> {
    match t {
        t if is_text(t) => Some(t.clone()),
        DataType::Null => Some(DataType::Utf8),
        DataType::Dictionary(_, value) if is_text(value) => Some(value.as_ref().clone()),
        _ => None,
    }
}

pub(super) fn coerce_text(function: &str, argument: &str, t: &DataType) -> Result<DataType> {
    match text_type(t) {
        Some(t) => Ok(t),
        None => plan_err!("{function}: {argument} must be text, got {t}"),
    }
}

/// Integers keep their type (the function converts them without the errors a
/// cast of a huge UInt64 would raise), dictionary-encoded integers are
/// decoded, NULL is Int64.
pub(super) fn integer_type(t: &DataType) -> Option<DataType> {
    match t {
        t if t.is_integer() => Some(t.clone()),
        DataType::Null => Some(DataType::Int64),
        DataType::Dictionary(_, value) if value.is_integer() => Some(value.as_ref().clone()),
        _ => None,
    }
}

pub(super) fn coerce_integer(function: &str, argument: &str, t: &DataType) -> Result<DataType> {
    match integer_type(t) {
        Some(t) => Ok(t),
        None => plan_err!("{function}: {argument} must be an integer, got {t}"),
    }
}
