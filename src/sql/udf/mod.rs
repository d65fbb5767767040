//! flowq's SQL functions: on addresses and ports (`cidr_match`, `is_private`,
//! `ip_version`, `ip_to_int`, `service_name`), on DNS names
//! (`registered_domain`), on fingerprints (`ja4_part`) and on text
//! (`shannon_entropy`).
//!
//! Every function is a [`ScalarUDFImpl`] that works on whole Arrow arrays, takes
//! text as `Utf8`, `LargeUtf8` or `Utf8View` (DataFusion reads Parquet strings as
//! `Utf8View`; dictionary-encoded text is decoded by a cast DataFusion inserts),
//! accepts constants or columns for every argument, returns NULL when an
//! argument is NULL, and never panics. `docs/sql-functions.md` is the user
//! documentation; a test here runs every example in it.
//!
//! Addresses are parsed with `std::net`, so the accepted text is exactly what
//! Rust's `Ipv4Addr` / `Ipv6Addr` parsers accept: dotted-quad IPv4 without
//! leading zeros, any RFC 4291 IPv6 text form (including embedded IPv4 such as
//! `::ffff:10.1.2.3`), no surrounding whitespace, no zone index (`%eth0`), no
//! brackets. Text that does not parse is not an address: the functions return
//! NULL for it.
//!
//! The functions do not override `ScalarUDFImpl::is_strict`: DataFusion 55's
//! nullability reasoning takes a strict function to be NULL *only* when an
//! argument is NULL, which is false here (invalid text gives NULL too), and
//! leads to wrong results (see the test `null_for_invalid_text_is_seen_by_the_optimizer`).
//!
//! IPv4 and IPv6 are never mixed: an IPv4-mapped IPv6 address
//! (`::ffff:a.b.c.d`) is an IPv6 address to every function, as it is to the
//! `ip_version` column flowq writes for the packet that carried it.
//!
//! Layout: [`scalar`] is the one `ScalarUDFImpl`, generic over a function's
//! definition (name, arguments, return type, documentation, body); [`args`]
//! reads arguments and coerces their types; one file per family of
//! functions: [`network`] (addresses and networks), [`service`]
//! (`service_name` and its port table, `services.tsv`), [`domain`] (DNS
//! names), [`fingerprint`] (JA4) and [`text`] (entropy).

mod args;
mod domain;
mod fingerprint;
mod network;
mod scalar;
mod service;
#[cfg(test)]
mod tests;
mod text;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use domain::RegisteredDomain;
use fingerprint::Ja4Part;
use network::{CidrMatch, IpToInt, IpVersion, IsPrivate};
use scalar::Udf;
use service::ServiceName;
use text::ShannonEntropy;

/// Registers flowq's functions with `ctx`.
pub fn register_all(ctx: &SessionContext) {
    for function in functions() {
        ctx.register_udf(function);
    }
}

/// flowq's functions, for registries other than a `SessionContext`
/// (a cluster's scheduler and executors).
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(Udf::new(CidrMatch)),
        ScalarUDF::from(Udf::new(IsPrivate)),
        ScalarUDF::from(Udf::new(IpVersion)),
        ScalarUDF::from(Udf::new(IpToInt)),
        ScalarUDF::from(Udf::new(ServiceName)),
        ScalarUDF::from(Udf::new(RegisteredDomain)),
        ScalarUDF::from(Udf::new(Ja4Part)),
        ScalarUDF::from(Udf::new(ShannonEntropy)),
    ]
}
