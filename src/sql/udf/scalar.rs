//! The one [`ScalarUDFImpl`] of flowq's SQL functions, generic over a
//! [`Function`]: a function states its name, arguments, return type,
//! documentation and body; [`Udf`] does the rest (signature, volatility,
//! argument count, coercion, return field, documentation).

use super::args::{check_arity, coerce_text};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl,
    Signature, Volatility,
};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

/// What one SQL function is. Implemented by a unit struct per function.
pub(super) trait Function: Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    /// The SQL name.
    const NAME: &'static str;
    /// Each argument's name and documentation, in order; their number is the
    /// function's arity.
    const ARGUMENTS: &'static [(&'static str, &'static str)];
    /// The type of the result.
    const RETURNS: DataType;
    /// What the function returns, for `information_schema`.
    const DESCRIPTION: &'static str;
    /// One example statement with its result as a `-- ` comment.
    const EXAMPLE: &'static str;
    /// The family the function belongs to, for the documentation.
    const FAMILY: Family = Family::Network;

    /// The argument types the function is called with, given the types of
    /// the arguments in the query (their number is already checked). By
    /// default every argument is text.
    fn coerce(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        arg_types
            .iter()
            .zip(Self::ARGUMENTS)
            .map(|(t, (argument, _))| coerce_text(Self::NAME, argument, t))
            .collect()
    }

    /// Checks constant arguments at planning, so that a query with a bad
    /// constant fails before it reads any data. By default there is nothing
    /// to check.
    fn check_constants(_args: &ReturnFieldArgs) -> Result<()> {
        Ok(())
    }

    /// The function over a batch.
    fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue>;
}

/// The families of flowq's functions: one source file and one section of
/// `docs/sql-functions.md` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Network,
    Domain,
    Fingerprint,
    Text,
}

impl Family {
    fn section(self) -> DocSection {
        let (label, description) = match self {
            Family::Network => (
                "Network Functions",
                "flowq's functions on IP addresses and ports (docs/sql-functions.md)",
            ),
            Family::Domain => (
                "Domain Name Functions",
                "flowq's functions on DNS names (docs/sql-functions.md)",
            ),
            Family::Fingerprint => (
                "Fingerprint Functions",
                "flowq's functions on TLS and SSH fingerprints (docs/sql-functions.md)",
            ),
            Family::Text => (
                "Text Measure Functions",
                "flowq's measures of text (docs/sql-functions.md)",
            ),
        };
        DocSection {
            include: true,
            label,
            description: Some(description),
        }
    }
}

/// `name(arg, ...)`: the syntax shown in documentation and arity errors.
fn syntax<F: Function>() -> String {
    let names: Vec<&str> = F::ARGUMENTS.iter().map(|(name, _)| *name).collect();
    format!("{}({})", F::NAME, names.join(", "))
}

/// A [`Function`] as a DataFusion scalar function: immutable, with
/// user-defined coercion.
///
/// The functions do not override `ScalarUDFImpl::is_strict` (see the module
/// documentation of `sql::udf`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Udf<F> {
    function: F,
    signature: Signature,
    documentation: Documentation,
}

impl<F: Function> Udf<F> {
    pub(super) fn new(function: F) -> Self {
        let mut builder = Documentation::builder(
            F::FAMILY.section(),
            F::DESCRIPTION.to_owned(),
            syntax::<F>(),
        )
        .with_sql_example(F::EXAMPLE.to_owned());
        for (argument, text) in F::ARGUMENTS {
            builder = builder.with_argument(*argument, *text);
        }
        Self {
            function,
            signature: Signature::user_defined(Volatility::Immutable),
            documentation: builder.build(),
        }
    }
}

impl<F: Function> ScalarUDFImpl for Udf<F> {
    fn name(&self) -> &str {
        F::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(F::NAME, &syntax::<F>(), arg_types, F::ARGUMENTS.len())?;
        F::coerce(arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(F::RETURNS)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        F::check_constants(&args)?;
        Ok(Arc::new(Field::new(F::NAME, F::RETURNS, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        F::invoke(&args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.documentation)
    }
}
