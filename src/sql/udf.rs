//! Network functions for flowq's SQL: `cidr_match`, `is_private`, `ip_version`,
//! `ip_to_int` and `service_name`.
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int8Array, Int64Array, LargeStringArray, StringArray,
    StringViewArray, new_null_array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, UInt64Type};
use datafusion::common::utils::take_function_args;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers flowq's network functions with `ctx`.
pub fn register_all(ctx: &SessionContext) {
    for function in functions() {
        ctx.register_udf(function);
    }
}

/// flowq's network functions, for registries other than a `SessionContext`
/// (a cluster's scheduler and executors).
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::from(CidrMatch::new()),
        ScalarUDF::from(IsPrivate::new()),
        ScalarUDF::from(IpVersion::new()),
        ScalarUDF::from(IpToInt::new()),
        ScalarUDF::from(ServiceName::new()),
    ]
}

// ---------------------------------------------------------------------------
// Addresses and networks
// ---------------------------------------------------------------------------

/// An address text, or `None` when it is not one.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

/// A network: an address family, the network's address with its host bits
/// cleared, and the mask of its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    V4 { addr: u32, mask: u32 },
    V6 { addr: u128, mask: u128 },
}

impl Net {
    const fn v4(addr: Ipv4Addr, len: u32) -> Net {
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        Net::V4 {
            addr: addr.to_bits() & mask,
            mask,
        }
    }

    const fn v6(addr: Ipv6Addr, len: u32) -> Net {
        let mask = if len == 0 {
            0
        } else {
            u128::MAX << (128 - len)
        };
        Net::V6 {
            addr: addr.to_bits() & mask,
            mask,
        }
    }

    /// Parses `ADDRESS` or `ADDRESS/PREFIX`; the error is the reason, for messages.
    fn parse(text: &str) -> std::result::Result<Net, String> {
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let Some(addr) = parse_ip(addr_text) else {
            return Err(format!("'{addr_text}' is not an IPv4 or IPv6 address"));
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match prefix_text {
            None => max,
            Some(p) => {
                let digits_only =
                    !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit());
                match p.parse::<u32>() {
                    Ok(len) if digits_only && len <= max => len,
                    _ => {
                        let family = if addr.is_ipv4() { "IPv4" } else { "IPv6" };
                        return Err(format!(
                            "the prefix length after '/' must be a number from 0 to {max} for an \
                             {family} network"
                        ));
                    }
                }
            }
        };
        Ok(match addr {
            IpAddr::V4(a) => Net::v4(a, len),
            IpAddr::V6(a) => Net::v6(a, len),
        })
    }

    /// True when `ip` is inside the network; never across address families.
    fn contains(&self, ip: IpAddr) -> bool {
        match (*self, ip) {
            (Net::V4 { addr, mask }, IpAddr::V4(ip)) => ip.to_bits() & mask == addr,
            (Net::V6 { addr, mask }, IpAddr::V6(ip)) => ip.to_bits() & mask == addr,
            _ => false,
        }
    }
}

/// The `cidr_match` error for a network text that does not parse.
fn invalid_network(text: &str, reason: &str) -> String {
    format!(
        "cidr_match: '{text}' is not a valid network ({reason}; expected ADDRESS or \
         ADDRESS/PREFIX such as '10.0.0.0/8' or '2001:db8::/32')"
    )
}

/// The networks `is_private` reports, in the order of the documentation.
const PRIVATE_NETS: [Net; 9] = [
    Net::v4(Ipv4Addr::new(10, 0, 0, 0), 8),
    Net::v4(Ipv4Addr::new(172, 16, 0, 0), 12),
    Net::v4(Ipv4Addr::new(192, 168, 0, 0), 16),
    Net::v4(Ipv4Addr::new(127, 0, 0, 0), 8),
    Net::v4(Ipv4Addr::new(169, 254, 0, 0), 16),
    Net::v4(Ipv4Addr::new(100, 64, 0, 0), 10),
    Net::v6(Ipv6Addr::LOCALHOST, 128),
    Net::v6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    Net::v6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
];

fn is_private_ip(ip: IpAddr) -> bool {
    PRIVATE_NETS.iter().any(|net| net.contains(ip))
}

// ---------------------------------------------------------------------------
// Argument access
// ---------------------------------------------------------------------------

/// A text column of any of Arrow's three string layouts.
enum TextColumn<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> TextColumn<'a> {
    fn new(function: &str, array: &'a ArrayRef) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Utf8 => TextColumn::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => TextColumn::Large(array.as_string::<i64>()),
            DataType::Utf8View => TextColumn::View(array.as_string_view()),
            other => return exec_err!("{function}: expected a text column, got {other}"),
        })
    }

    fn len(&self) -> usize {
        match self {
            TextColumn::Utf8(a) => a.len(),
            TextColumn::Large(a) => a.len(),
            TextColumn::View(a) => a.len(),
        }
    }

    /// Row `i`, `None` when it is NULL. `i` must be below `len()`.
    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            TextColumn::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::Large(a) => a.is_valid(i).then(|| a.value(i)),
            TextColumn::View(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

/// The text of a constant argument, `None` when it is NULL.
fn scalar_text<'a>(function: &str, value: &'a ScalarValue) -> Result<Option<&'a str>> {
    if value.is_null() {
        return Ok(None);
    }
    match value.try_as_str() {
        Some(text) => Ok(text),
        None => exec_err!("{function}: expected text, got {}", value.data_type()),
    }
}

/// Applies `f` to every row of a one-text-argument call.
fn map_text<T, A>(
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

// ---------------------------------------------------------------------------
// Type coercion
// ---------------------------------------------------------------------------

fn check_arity(function: &str, usage: &str, arg_types: &[DataType], n: usize) -> Result<()> {
    if arg_types.len() != n {
        let s = if n == 1 { "" } else { "s" };
        return plan_err!(
            "{function} takes {n} argument{s}, as in {usage}, but got {}",
            arg_types.len()
        );
    }
    Ok(())
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Text stays in its layout, dictionary-encoded text is decoded, NULL is Utf8.
fn text_type(t: &DataType) -> Option<DataType> {
    match t {
        t if is_text(t) => Some(t.clone()),
        DataType::Null => Some(DataType::Utf8),
        DataType::Dictionary(_, value) if is_text(value) => Some(value.as_ref().clone()),
        _ => None,
    }
}

fn coerce_text(function: &str, argument: &str, t: &DataType) -> Result<DataType> {
    match text_type(t) {
        Some(t) => Ok(t),
        None => plan_err!("{function}: {argument} must be text, got {t}"),
    }
}

/// Integers keep their type (the function converts them without the errors a
/// cast of a huge UInt64 would raise), dictionary-encoded integers are
/// decoded, NULL is Int64.
fn integer_type(t: &DataType) -> Option<DataType> {
    match t {
        t if t.is_integer() => Some(t.clone()),
        DataType::Null => Some(DataType::Int64),
        DataType::Dictionary(_, value) if value.is_integer() => Some(value.as_ref().clone()),
        _ => None,
    }
}

fn coerce_integer(function: &str, argument: &str, t: &DataType) -> Result<DataType> {
    match integer_type(t) {
        Some(t) => Ok(t),
        None => plan_err!("{function}: {argument} must be an integer, got {t}"),
    }
}

fn documentation(
    description: &str,
    syntax: &str,
    arguments: &[(&str, &str)],
    example: &str,
) -> Documentation {
    let section = DocSection {
        include: true,
        label: "Network Functions",
        description: Some("flowq's functions on IP addresses and ports (docs/sql-functions.md)"),
    };
    let mut builder = Documentation::builder(section, description.to_owned(), syntax.to_owned())
        .with_sql_example(example.to_owned());
    for (arg, text) in arguments {
        builder = builder.with_argument(*arg, *text);
    }
    builder.build()
}

// ---------------------------------------------------------------------------
// cidr_match(ip, cidr) -> Boolean
// ---------------------------------------------------------------------------

/// `cidr_match(ip, cidr)`: is address `ip` inside network `cidr`?
#[derive(Debug, PartialEq, Eq, Hash)]
struct CidrMatch {
    signature: Signature,
}

impl CidrMatch {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

static CIDR_MATCH_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    documentation(
        "True when the address `ip` is inside the network `cidr` (IPv4 or IPv6, never across \
         families); NULL for NULL or invalid `ip`; an error for invalid `cidr`.",
        "cidr_match(ip, cidr)",
        &[
            ("ip", "Address text, e.g. '10.1.2.3' or '2001:db8::1'."),
            (
                "cidr",
                "Network text, '10.0.0.0/8' or '2001:db8::/32'; a bare address means /32 or /128.",
            ),
        ],
        "select cidr_match('192.168.1.7', '192.168.0.0/16'); -- true",
    )
});

/// The address argument of `cidr_match`, parsed once when it is a constant.
enum IpArg<'a> {
    Const(Option<IpAddr>),
    Column(TextColumn<'a>),
}

impl IpArg<'_> {
    #[inline]
    fn get(&self, i: usize) -> Option<IpAddr> {
        match self {
            IpArg::Const(ip) => *ip,
            IpArg::Column(c) => c.get(i).and_then(parse_ip),
        }
    }
}

impl ScalarUDFImpl for CidrMatch {
    fn name(&self) -> &str {
        "cidr_match"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(self.name(), "cidr_match(ip, cidr)", arg_types, 2)?;
        Ok(vec![
            coerce_text(self.name(), "ip", &arg_types[0])?,
            coerce_text(self.name(), "cidr", &arg_types[1])?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    /// A constant `cidr` is checked here, at planning, so a typo fails the query
    /// before it reads any data.
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if let Some(Some(cidr)) = args.scalar_arguments.get(1)
            && let Some(Some(text)) = cidr.try_as_str()
            && let Err(reason) = Net::parse(text)
        {
            return plan_err!("{}", invalid_network(text, &reason));
        }
        Ok(Arc::new(Field::new(self.name(), DataType::Boolean, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let [ip_arg, cidr_arg] = take_function_args(name, &args.args)?;

        let ip = match ip_arg {
            ColumnarValue::Scalar(v) => IpArg::Const(scalar_text(name, v)?.and_then(parse_ip)),
            ColumnarValue::Array(a) => IpArg::Column(TextColumn::new(name, a)?),
        };

        match cidr_arg {
            // The usual case: one network for the whole batch, parsed once.
            ColumnarValue::Scalar(v) => {
                let Some(text) = scalar_text(name, v)? else {
                    return Ok(match ip_arg {
                        ColumnarValue::Scalar(_) => {
                            ColumnarValue::Scalar(ScalarValue::Boolean(None))
                        }
                        ColumnarValue::Array(a) => {
                            ColumnarValue::Array(new_null_array(&DataType::Boolean, a.len()))
                        }
                    });
                };
                let net = Net::parse(text)
                    .or_else(|reason| exec_err!("{}", invalid_network(text, &reason)))?;
                Ok(match ip {
                    IpArg::Const(ip) => {
                        ColumnarValue::Scalar(ScalarValue::Boolean(ip.map(|ip| net.contains(ip))))
                    }
                    IpArg::Column(column) => {
                        let out: BooleanArray = (0..column.len())
                            .map(|i| column.get(i).and_then(parse_ip).map(|ip| net.contains(ip)))
                            .collect();
                        ColumnarValue::Array(Arc::new(out))
                    }
                })
            }
            // A network per row: parse each distinct run of equal texts once.
            ColumnarValue::Array(cidrs) => {
                let cidrs = TextColumn::new(name, cidrs)?;
                if let IpArg::Column(c) = &ip
                    && c.len() != cidrs.len()
                {
                    return exec_err!("{name}: arguments have different lengths");
                }
                let mut last: Option<(&str, Net)> = None;
                let mut out = Vec::with_capacity(cidrs.len());
                for i in 0..cidrs.len() {
                    let Some(text) = cidrs.get(i) else {
                        out.push(None);
                        continue;
                    };
                    let net = match last {
                        Some((t, net)) if t == text => net,
                        _ => {
                            let net = Net::parse(text).or_else(|reason| {
                                exec_err!("{}", invalid_network(text, &reason))
                            })?;
                            last = Some((text, net));
                            net
                        }
                    };
                    out.push(ip.get(i).map(|ip| net.contains(ip)));
                }
                Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(out))))
            }
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&CIDR_MATCH_DOC)
    }
}

// ---------------------------------------------------------------------------
// is_private(ip) -> Boolean, ip_version(ip) -> Int8, ip_to_int(ip) -> Int64
// ---------------------------------------------------------------------------

/// `is_private(ip)`: is the address in a private, loopback, link-local,
/// unique-local or CGNAT range?
#[derive(Debug, PartialEq, Eq, Hash)]
struct IsPrivate {
    signature: Signature,
}

impl IsPrivate {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

static IS_PRIVATE_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    documentation(
        "True when the address is in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, \
         169.254.0.0/16, 100.64.0.0/10, ::1, fe80::/10 or fc00::/7; false for other addresses; \
         NULL for NULL or invalid text.",
        "is_private(ip)",
        &[("ip", "Address text, e.g. '10.1.2.3' or 'fe80::1'.")],
        "select is_private('172.31.255.255'); -- true",
    )
});

impl ScalarUDFImpl for IsPrivate {
    fn name(&self) -> &str {
        "is_private"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(self.name(), "is_private(ip)", arg_types, 1)?;
        Ok(vec![coerce_text(self.name(), "ip", &arg_types[0])?])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_text::<bool, BooleanArray>(
            self.name(),
            &args,
            |s| parse_ip(s).map(is_private_ip),
            ScalarValue::Boolean,
        )
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&IS_PRIVATE_DOC)
    }
}

/// `ip_version(ip)`: 4 or 6.
#[derive(Debug, PartialEq, Eq, Hash)]
struct IpVersion {
    signature: Signature,
}

impl IpVersion {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

static IP_VERSION_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    documentation(
        "4 for IPv4 address text, 6 for IPv6 address text; NULL for NULL or invalid text.",
        "ip_version(ip)",
        &[("ip", "Address text, e.g. '10.1.2.3' or '2001:db8::1'.")],
        "select ip_version('2001:db8::1'); -- 6",
    )
});

impl ScalarUDFImpl for IpVersion {
    fn name(&self) -> &str {
        "ip_version"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(self.name(), "ip_version(ip)", arg_types, 1)?;
        Ok(vec![coerce_text(self.name(), "ip", &arg_types[0])?])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_text::<i8, Int8Array>(
            self.name(),
            &args,
            |s| parse_ip(s).map(|ip| if ip.is_ipv4() { 4 } else { 6 }),
            ScalarValue::Int8,
        )
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&IP_VERSION_DOC)
    }
}

/// `ip_to_int(ip)`: an IPv4 address as its unsigned 32-bit value.
#[derive(Debug, PartialEq, Eq, Hash)]
struct IpToInt {
    signature: Signature,
}

impl IpToInt {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

static IP_TO_INT_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    documentation(
        "An IPv4 address as its unsigned 32-bit value (0 to 4294967295) in an Int64; NULL for \
         IPv6 addresses, NULL and invalid text.",
        "ip_to_int(ip)",
        &[("ip", "IPv4 address text, e.g. '10.1.2.3'.")],
        "select ip_to_int('10.0.0.1'); -- 167772161",
    )
});

impl ScalarUDFImpl for IpToInt {
    fn name(&self) -> &str {
        "ip_to_int"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(self.name(), "ip_to_int(ip)", arg_types, 1)?;
        Ok(vec![coerce_text(self.name(), "ip", &arg_types[0])?])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_text::<i64, Int64Array>(
            self.name(),
            &args,
            |s| s.parse::<Ipv4Addr>().ok().map(|a| i64::from(a.to_bits())),
            ScalarValue::Int64,
        )
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&IP_TO_INT_DOC)
    }
}

// ---------------------------------------------------------------------------
// service_name(port, protocol) -> Utf8
// ---------------------------------------------------------------------------

const TCP: u8 = 1;
const UDP: u8 = 2;
const SCTP: u8 = 4;
const TU: u8 = TCP | UDP;

/// `(port, protocols, name)`, sorted by port; one port may have several rows
/// with different names for different protocols (514: `shell` on TCP,
/// `syslog` on UDP). Names are the IANA service names, on the protocols the
/// service is used on as /etc/services lists them, except for seven ports
/// whose registered service is unrelated to what runs there in practice
/// (1521, 2181, 3128, 6443, 8443, 9092, 9200: the documentation says which).
const SERVICES: &[(u16, u8, &str)] = &[
    (7, TU, "echo"),
    (9, TU | SCTP, "discard"),
    (13, TU, "daytime"),
    (19, TU, "chargen"),
    (20, TCP | SCTP, "ftp-data"),
    (21, TCP | SCTP, "ftp"),
    (22, TCP | SCTP, "ssh"),
    (23, TCP, "telnet"),
    (25, TCP, "smtp"),
    (37, TU, "time"),
    (49, TU, "tacacs"),
    (53, TU, "domain"),
    (67, UDP, "bootps"),
    (68, UDP, "bootpc"),
    (69, UDP, "tftp"),
    (70, TCP, "gopher"),
    (79, TCP, "finger"),
    (80, TCP | SCTP, "http"),
    (88, TU, "kerberos"),
    (102, TCP, "iso-tsap"),
    (110, TCP, "pop3"),
    (111, TU, "sunrpc"),
    (113, TCP, "auth"),
    (119, TCP, "nntp"),
    (123, UDP, "ntp"),
    (135, TU, "epmap"),
    (137, UDP, "netbios-ns"),
    (138, UDP, "netbios-dgm"),
    (139, TCP, "netbios-ssn"),
    (143, TCP, "imap"),
    (161, TU, "snmp"),
    (162, TU, "snmptrap"),
    (177, UDP, "xdmcp"),
    (179, TCP | SCTP, "bgp"),
    (194, TCP, "irc"),
    (389, TU, "ldap"),
    (427, TU, "svrloc"),
    (443, TU | SCTP, "https"),
    (445, TCP, "microsoft-ds"),
    (464, TU, "kpasswd"),
    (465, TCP, "submissions"),
    (500, UDP, "isakmp"),
    (502, TCP, "mbap"),
    (514, TCP, "shell"),
    (514, UDP, "syslog"),
    (515, TCP, "printer"),
    (520, UDP, "router"),
    (546, UDP, "dhcpv6-client"),
    (547, UDP, "dhcpv6-server"),
    (554, TU, "rtsp"),
    (587, TCP, "submission"),
    (623, UDP, "asf-rmcp"),
    (631, TU, "ipp"),
    (636, TU, "ldaps"),
    (646, TU, "ldp"),
    (749, TCP, "kerberos-adm"),
    (853, TU, "domain-s"),
    (873, TCP, "rsync"),
    (989, TCP, "ftps-data"),
    (990, TCP, "ftps"),
    (993, TCP, "imaps"),
    (995, TCP, "pop3s"),
    (1080, TCP, "socks"),
    (1099, TCP, "rmiregistry"),
    (1194, TU, "openvpn"),
    (1433, TCP, "ms-sql-s"),
    (1434, UDP, "ms-sql-m"),
    (1521, TCP, "oracle"),
    (1701, UDP, "l2tp"),
    (1723, TCP, "pptp"),
    (1812, TU, "radius"),
    (1813, TU, "radius-acct"),
    (1883, TCP, "mqtt"),
    (1900, UDP, "ssdp"),
    (2000, TCP, "cisco-sccp"),
    (2049, TU | SCTP, "nfs"),
    (2123, UDP, "gtp-control"),
    (2152, UDP, "gtp-user"),
    (2181, TCP, "zookeeper"),
    (2375, TCP, "docker"),
    (2376, TCP, "docker-s"),
    (2904, SCTP, "m2ua"),
    (2905, SCTP, "m3ua"),
    (2944, TU | SCTP, "megaco-h248"),
    (3128, TCP, "squid"),
    (3260, TCP, "iscsi-target"),
    (3268, TCP, "msft-gc"),
    (3269, TCP, "msft-gc-ssl"),
    (3306, TCP, "mysql"),
    (3389, TU, "ms-wbt-server"),
    (3478, TU, "stun"),
    (3690, TCP, "svn"),
    (3784, UDP, "bfd-control"),
    (3785, UDP, "bfd-echo"),
    (3868, TCP | SCTP, "diameter"),
    (4369, TCP, "epmd"),
    (4500, UDP, "ipsec-nat-t"),
    (4739, TU | SCTP, "ipfix"),
    (4789, UDP, "vxlan"),
    (5060, TU | SCTP, "sip"),
    (5061, TU, "sips"),
    (5222, TCP, "xmpp-client"),
    (5269, TCP, "xmpp-server"),
    (5349, TU, "stuns"),
    (5353, UDP, "mdns"),
    (5355, TU, "llmnr"),
    (5432, TCP, "postgresql"),
    (5671, TCP, "amqps"),
    (5672, TCP | SCTP, "amqp"),
    (5683, UDP, "coap"),
    (5684, UDP, "coaps"),
    (5900, TCP, "rfb"),
    (5985, TCP, "wsman"),
    (5986, TCP, "wsmans"),
    (6000, TCP, "x11"),
    (6081, UDP, "geneve"),
    (6343, UDP, "sflow"),
    (6379, TCP, "redis"),
    (6443, TCP, "kube-apiserver"),
    (6514, TCP, "syslog-tls"),
    (6653, TCP, "openflow"),
    (6697, TCP, "ircs-u"),
    (8080, TCP, "http-alt"),
    (8443, TCP, "https-alt"),
    (8805, UDP, "pfcp"),
    (8883, TCP, "secure-mqtt"),
    (9000, TCP, "cslistener"),
    (9092, TCP, "kafka"),
    (9200, TCP, "elasticsearch"),
    (9418, TCP, "git"),
    (9900, SCTP, "iua"),
    (10050, TCP, "zabbix-agent"),
    (10051, TCP, "zabbix-trapper"),
    (11211, TU, "memcache"),
    (11371, TCP, "hkp"),
    (14001, SCTP, "sua"),
    (20000, TU, "dnp"),
    (27017, TCP, "mongodb"),
    (29118, SCTP, "sgsap"),
    (36412, SCTP, "s1-control"),
    (36422, SCTP, "x2-control"),
    (38412, SCTP, "ng-control"),
    (47808, UDP, "bacnet"),
];

/// The service on `port` over `protocol` (one of `TCP`, `UDP`, `SCTP`).
fn lookup_service(port: i64, protocol: u8) -> Option<&'static str> {
    let port = u16::try_from(port).ok()?;
    let start = SERVICES.partition_point(|&(p, _, _)| p < port);
    SERVICES[start..]
        .iter()
        .take_while(|&&(p, _, _)| p == port)
        .find(|&&(_, protocols, _)| protocols & protocol != 0)
        .map(|&(_, _, name)| name)
}

fn protocol_from_number(n: i64) -> Option<u8> {
    match n {
        6 => Some(TCP),
        17 => Some(UDP),
        132 => Some(SCTP),
        _ => None,
    }
}

fn protocol_from_text(text: &str) -> Option<u8> {
    [("tcp", TCP), ("udp", UDP), ("sctp", SCTP)]
        .into_iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name))
        .map(|(_, p)| p)
}

/// An integer column as Int64; UInt64 values above `i64::MAX`, which are no
/// port or protocol, become -1, which finds nothing.
fn int64_array(function: &str, array: &ArrayRef) -> Result<ArrayRef> {
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

fn int64_scalar(function: &str, value: &ScalarValue) -> Result<Option<i64>> {
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

/// The port argument of `service_name`.
enum PortArg<'a> {
    Const(Option<i64>),
    Column(&'a Int64Array),
}

/// The protocol argument of `service_name`, as `TCP` / `UDP` / `SCTP`.
enum ProtocolArg<'a> {
    Const(Option<u8>),
    Numbers(&'a Int64Array),
    Names(TextColumn<'a>),
}

/// `service_name(port, protocol)`: the well-known service on a port.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ServiceName {
    signature: Signature,
}

impl ServiceName {
    fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

static SERVICE_NAME_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    documentation(
        "The IANA service name of a well-known port from flowq's built-in table \
         (docs/sql-functions.md lists it); NULL for unknown ports, ports outside 0-65535, \
         protocols other than TCP, UDP and SCTP, and NULL arguments.",
        "service_name(port, protocol)",
        &[
            ("port", "Port number, any integer type."),
            (
                "protocol",
                "IP protocol number (6 TCP, 17 UDP, 132 SCTP) or its name 'tcp', 'udp', 'sctp'.",
            ),
        ],
        "select service_name(443, 6); -- https",
    )
});

impl ScalarUDFImpl for ServiceName {
    fn name(&self) -> &str {
        "service_name"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(self.name(), "service_name(port, protocol)", arg_types, 2)?;
        let port = coerce_integer(self.name(), "port", &arg_types[0])?;
        let t = &arg_types[1];
        let Some(protocol) = integer_type(t).or_else(|| text_type(t)) else {
            return plan_err!(
                "service_name: protocol must be an IP protocol number or 'tcp', 'udp', 'sctp', \
                 got {t}"
            );
        };
        Ok(vec![port, protocol])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let [port_arg, protocol_arg] = take_function_args(name, &args.args)?;

        let port_array;
        let port = match port_arg {
            ColumnarValue::Scalar(v) => PortArg::Const(int64_scalar(name, v)?),
            ColumnarValue::Array(a) => {
                port_array = int64_array(name, a)?;
                PortArg::Column(port_array.as_primitive())
            }
        };

        let protocol_array;
        let protocol = match protocol_arg {
            ColumnarValue::Scalar(v) if v.is_null() => ProtocolArg::Const(None),
            ColumnarValue::Scalar(v) => match v.try_as_str() {
                Some(text) => ProtocolArg::Const(text.and_then(protocol_from_text)),
                None => ProtocolArg::Const(int64_scalar(name, v)?.and_then(protocol_from_number)),
            },
            ColumnarValue::Array(a) if is_text(a.data_type()) => {
                ProtocolArg::Names(TextColumn::new(name, a)?)
            }
            ColumnarValue::Array(a) => {
                protocol_array = int64_array(name, a)?;
                ProtocolArg::Numbers(protocol_array.as_primitive())
            }
        };

        let port_rows = match &port {
            PortArg::Const(_) => None,
            PortArg::Column(a) => Some(a.len()),
        };
        let protocol_rows = match &protocol {
            ProtocolArg::Const(_) => None,
            ProtocolArg::Numbers(a) => Some(a.len()),
            ProtocolArg::Names(c) => Some(c.len()),
        };
        let rows = match (port_rows, protocol_rows) {
            (None, None) => {
                let (PortArg::Const(port), ProtocolArg::Const(protocol)) = (&port, &protocol)
                else {
                    return exec_err!("{name}: unexpected arguments");
                };
                let found = port
                    .zip(*protocol)
                    .and_then(|(port, protocol)| lookup_service(port, protocol));
                return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(
                    found.map(str::to_owned),
                )));
            }
            (Some(a), Some(b)) if a != b => {
                return exec_err!("{name}: arguments have different lengths");
            }
            (Some(rows), _) | (None, Some(rows)) => rows,
        };
        let port_at = |i: usize| match &port {
            PortArg::Const(p) => *p,
            PortArg::Column(a) => a.is_valid(i).then(|| a.value(i)),
        };
        let protocol_at = |i: usize| match &protocol {
            ProtocolArg::Const(p) => *p,
            ProtocolArg::Numbers(a) => {
                if a.is_valid(i) {
                    protocol_from_number(a.value(i))
                } else {
                    None
                }
            }
            ProtocolArg::Names(c) => c.get(i).and_then(protocol_from_text),
        };
        let out: StringArray = (0..rows)
            .map(|i| match (port_at(i), protocol_at(i)) {
                (Some(port), Some(protocol)) => lookup_service(port, protocol),
                _ => None,
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&SERVICE_NAME_DOC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int16Array, Int32Array, RecordBatch, UInt16Array};
    use datafusion::arrow::datatypes::Schema;
    use datafusion::arrow::util::display::array_value_to_string;
    use datafusion::config::ConfigOptions;
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionConfig;

    const DOCS: &str = include_str!("../../docs/sql-functions.md");

    fn context() -> SessionContext {
        let ctx = SessionContext::new();
        register_all(&ctx);
        ctx
    }

    fn show(column: &ArrayRef, i: usize) -> String {
        if column.is_null(i) {
            "NULL".to_owned()
        } else {
            array_value_to_string(column, i).unwrap()
        }
    }

    /// The values of a one-column result, in order, NULL as "NULL".
    async fn run(ctx: &SessionContext, sql: &str) -> Result<Vec<String>> {
        let batches = ctx.sql(sql).await?.collect().await?;
        let mut values = Vec::new();
        for batch in &batches {
            assert_eq!(batch.num_columns(), 1, "{sql}");
            let column = batch.column(0);
            values.extend((0..column.len()).map(|i| show(column, i)));
        }
        Ok(values)
    }

    async fn values(ctx: &SessionContext, sql: &str) -> Vec<String> {
        run(ctx, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    async fn one(sql: &str) -> String {
        let v = values(&context(), sql).await;
        assert_eq!(v.len(), 1, "{sql}: {v:?}");
        v[0].clone()
    }

    async fn error(ctx: &SessionContext, sql: &str) -> String {
        match run(ctx, sql).await {
            Err(e) => e.to_string(),
            Ok(v) => panic!("{sql}: expected an error, got {v:?}"),
        }
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// id, ip, net, port, proto, proto_name
    type Row = (
        i32,
        Option<&'static str>,
        Option<&'static str>,
        Option<i32>,
        Option<i16>,
        Option<&'static str>,
    );

    #[rustfmt::skip]
    const ROWS: [Row; 8] = [
        (0, Some("10.1.2.3"), Some("10.0.0.0/8"), Some(22), Some(6), Some("tcp")),
        (1, None, Some("10.0.0.0/8"), None, Some(6), Some("udp")),
        (2, Some("2001:db8::1"), Some("2001:db8::/32"), Some(53), Some(17), Some("UDP")),
        (3, Some("junk"), Some("10.0.0.0/8"), Some(443), None, None),
        (4, Some("192.168.1.1"), None, Some(70000), Some(6), Some("tcp")),
        (5, Some("::ffff:10.0.0.1"), Some("10.0.0.0/8"), Some(514), Some(17), Some("sctp")),
        (6, Some("172.16.5.4"), Some("172.16.0.0/12"), Some(514), Some(6), Some("tcp")),
        (7, Some("255.255.255.255"), Some("0.0.0.0/0"), Some(36412), Some(132), Some("SCTP")),
    ];

    /// Table `t`, in two batches, with the address in all three text layouts,
    /// NULLs, invalid text, IPv6 and IPv4-mapped IPv6.
    fn with_table() -> SessionContext {
        let ctx = context();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("ip", DataType::Utf8, true),
            Field::new("ip_large", DataType::LargeUtf8, true),
            Field::new("ip_view", DataType::Utf8View, true),
            Field::new("net", DataType::Utf8View, true),
            Field::new("port", DataType::Int32, true),
            Field::new("proto", DataType::Int16, true),
            Field::new("proto_name", DataType::Utf8View, true),
        ]));
        let batch = |rows: &[Row]| {
            let ips: Vec<Option<&str>> = rows.iter().map(|r| r.1).collect();
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.0))),
                    Arc::new(StringArray::from(ips.clone())),
                    Arc::new(LargeStringArray::from(ips.clone())),
                    Arc::new(StringViewArray::from(ips)),
                    Arc::new(StringViewArray::from_iter(rows.iter().map(|r| r.2))),
                    Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.3))),
                    Arc::new(Int16Array::from_iter(rows.iter().map(|r| r.4))),
                    Arc::new(StringViewArray::from_iter(rows.iter().map(|r| r.5))),
                ],
            )
            .unwrap()
        };
        let table = MemTable::try_new(
            Arc::clone(&schema),
            vec![vec![batch(&ROWS[..5]), batch(&ROWS[5..])]],
        )
        .unwrap();
        ctx.register_table("t", Arc::new(table)).unwrap();
        ctx
    }

    #[tokio::test]
    async fn cidr_match_constants() {
        assert_eq!(
            one("select cidr_match('10.1.2.3', '10.0.0.0/8')").await,
            "true"
        );
        assert_eq!(
            one("select cidr_match('10.1.2.3', '11.0.0.0/8')").await,
            "false"
        );
        assert_eq!(
            one("select cidr_match('192.168.1.7', '192.168.0.0/16')").await,
            "true"
        );
        assert_eq!(
            one("select arrow_typeof(cidr_match('10.1.2.3', '10.0.0.0/8'))").await,
            "Boolean"
        );
    }

    #[tokio::test]
    async fn cidr_match_over_every_text_layout() {
        let ctx = with_table();
        let expected = strs(&[
            "true", "NULL", "false", "NULL", "false", "false", "false", "false",
        ]);
        for column in [
            "ip",
            "ip_large",
            "ip_view",
            "arrow_cast(ip, 'Utf8View')",
            "arrow_cast(ip, 'Dictionary(Int32, Utf8)')",
        ] {
            for net in [
                "'10.0.0.0/8'",
                "arrow_cast('10.0.0.0/8', 'Utf8View')",
                "arrow_cast('10.0.0.0/8', 'LargeUtf8')",
            ] {
                let sql = format!("select cidr_match({column}, {net}) from t order by id");
                assert_eq!(values(&ctx, &sql).await, expected, "{sql}");
            }
        }
    }

    #[tokio::test]
    async fn cidr_match_network_from_a_column() {
        let ctx = with_table();
        let expected = strs(&[
            "true", "NULL", "true", "NULL", "NULL", "false", "true", "true",
        ]);
        for column in ["ip", "ip_large", "ip_view"] {
            let sql = format!("select cidr_match({column}, net) from t order by id");
            assert_eq!(values(&ctx, &sql).await, expected, "{sql}");
        }
        // A constant address against a network column.
        assert_eq!(
            values(
                &ctx,
                "select cidr_match('10.1.2.3', net) from t order by id"
            )
            .await,
            strs(&[
                "true", "true", "false", "true", "NULL", "true", "false", "true"
            ])
        );
        assert_eq!(
            values(&ctx, "select cidr_match(NULL, net) from t order by id").await,
            strs(&["NULL"; 8])
        );
        // An invalid network in a column stops the query and is named.
        let e = error(
            &ctx,
            "select cidr_match(ip, case when id = 6 then '172.16.0.0/40' else net end) from t",
        )
        .await;
        assert!(
            e.contains("cidr_match: '172.16.0.0/40' is not a valid network"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn invalid_constant_network_fails_at_planning() {
        let ctx = with_table();
        for (sql, bad) in [
            (
                "select cidr_match(ip, '10.0.0.0/33') from t where false",
                "'10.0.0.0/33'",
            ),
            ("select cidr_match('::1', '::1/129')", "'::1/129'"),
            ("select cidr_match('::1', 'fe80::/1o')", "'fe80::/1o'"),
        ] {
            // ctx.sql only plans; the error comes before anything runs.
            let e = ctx.sql(sql).await.expect_err(sql).to_string();
            assert!(e.contains("Error during planning"), "{sql}: {e}");
            assert!(
                e.contains(&format!("cidr_match: {bad} is not a valid network")),
                "{sql}: {e}"
            );
        }
        // In WHERE, DataFusion's SQL planner ignores errors from typing the
        // predicate; the check then happens when the plan is analysed, still
        // before anything is read.
        let e = error(
            &ctx,
            "select count(*) from t where cidr_match(ip_view, '10.0.0/8')",
        )
        .await;
        assert!(e.contains("Error during planning"), "{e}");
        assert!(
            e.contains("cidr_match: '10.0.0/8' is not a valid network"),
            "{e}"
        );
        // A network computed from an expression is checked when it runs.
        let e = error(
            &ctx,
            "select cidr_match(ip, concat('10.0.0.0/', '33')) from t",
        )
        .await;
        assert!(
            e.contains("cidr_match: '10.0.0.0/33' is not a valid network"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn one_argument_functions_over_every_text_layout() {
        let ctx = with_table();
        for column in [
            "ip",
            "ip_large",
            "ip_view",
            "arrow_cast(ip, 'Dictionary(Int8, LargeUtf8)')",
        ] {
            let run = |f: &str| format!("select {f}({column}) from t order by id");
            assert_eq!(
                values(&ctx, &run("is_private")).await,
                strs(&[
                    "true", "NULL", "false", "NULL", "true", "false", "true", "false"
                ])
            );
            assert_eq!(
                values(&ctx, &run("ip_version")).await,
                strs(&["4", "NULL", "6", "NULL", "4", "6", "4", "4"])
            );
            assert_eq!(
                values(&ctx, &run("ip_to_int")).await,
                strs(&[
                    "167838211",
                    "NULL",
                    "NULL",
                    "NULL",
                    "3232235777",
                    "NULL",
                    "2886731012",
                    "4294967295"
                ])
            );
        }
        assert_eq!(one("select arrow_typeof(ip_version('::1'))").await, "Int8");
        assert_eq!(one("select arrow_typeof(ip_to_int('::1'))").await, "Int64");
        assert_eq!(
            one("select arrow_typeof(is_private('::1'))").await,
            "Boolean"
        );
    }

    #[tokio::test]
    async fn service_name_over_columns() {
        let ctx = with_table();
        assert_eq!(
            values(&ctx, "select service_name(port, proto) from t order by id").await,
            strs(&[
                "ssh",
                "NULL",
                "domain",
                "NULL",
                "NULL",
                "syslog",
                "shell",
                "s1-control"
            ])
        );
        assert_eq!(
            values(
                &ctx,
                "select service_name(port, proto_name) from t order by id"
            )
            .await,
            strs(&[
                "ssh",
                "NULL",
                "domain",
                "NULL",
                "NULL",
                "NULL",
                "shell",
                "s1-control"
            ])
        );
        assert_eq!(
            values(
                &ctx,
                "select service_name(22, proto_name) from t order by id"
            )
            .await,
            strs(&["ssh", "NULL", "NULL", "NULL", "ssh", "ssh", "ssh", "ssh"])
        );
        assert_eq!(
            values(&ctx, "select service_name(port, 'udp') from t order by id").await,
            strs(&[
                "NULL", "NULL", "domain", "https", "NULL", "syslog", "syslog", "NULL"
            ])
        );
        assert_eq!(
            values(&ctx, "select service_name(514, proto) from t order by id").await,
            strs(&[
                "shell", "shell", "syslog", "NULL", "shell", "syslog", "shell", "NULL"
            ])
        );
        assert_eq!(
            values(
                &ctx,
                "select service_name(arrow_cast(case when port < 65536 then port end, 'UInt16'), \
                 arrow_cast(proto, 'UInt8')) from t order by id"
            )
            .await,
            strs(&[
                "ssh",
                "NULL",
                "domain",
                "NULL",
                "NULL",
                "syslog",
                "shell",
                "s1-control"
            ])
        );
        assert_eq!(
            values(
                &ctx,
                "select service_name(arrow_cast(port, 'Int64'), \
                 arrow_cast(proto_name, 'LargeUtf8')) from t order by id"
            )
            .await,
            strs(&[
                "ssh",
                "NULL",
                "domain",
                "NULL",
                "NULL",
                "NULL",
                "shell",
                "s1-control"
            ])
        );
        assert_eq!(
            one("select arrow_typeof(service_name(22, 6))").await,
            "Utf8"
        );
        assert_eq!(
            one("select service_name(arrow_cast(18446744073709551615, 'UInt64'), 6)").await,
            "NULL"
        );
    }

    #[tokio::test]
    async fn many_rows_across_batches() {
        let ctx = context();
        let rows = "select '10.0.' || (value % 256) || '.' || (value / 256 % 256) as ip \
                    from generate_series(1, 20000)";
        assert_eq!(
            values(
                &ctx,
                &format!("select count(*) from ({rows}) where cidr_match(ip, '10.0.0.0/16')")
            )
            .await,
            strs(&["20000"])
        );
        assert_eq!(
            values(
                &ctx,
                &format!("select count(*) from ({rows}) where cidr_match(ip, '10.0.0.0/24')")
            )
            .await,
            strs(&["78"])
        );
        assert_eq!(
            values(
                &ctx,
                &format!(
                    "select count(*) from ({rows}) where is_private(ip) and ip_version(ip) = 4"
                )
            )
            .await,
            strs(&["20000"])
        );
        assert_eq!(
            values(
                &ctx,
                &format!("select sum(ip_to_int(ip)) - 20000 * 167772160 from ({rows})")
            )
            .await,
            // sum over v of (v % 256) * 256 + (v / 256 % 256)
            strs(&[&(1..=20000i64)
                .map(|v| (v % 256) * 256 + (v / 256) % 256)
                .sum::<i64>()
                .to_string()])
        );
    }

    #[tokio::test]
    async fn parquet_strings_arrive_as_utf8view() {
        use datafusion::parquet::arrow::ArrowWriter;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flows.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("src_ip", DataType::Utf8, true),
            Field::new("dst_port", DataType::Int32, false),
            Field::new("protocol", DataType::Int16, false),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("10.9.8.7"),
                    Some("fd00::5"),
                    None,
                ])),
                Arc::new(Int32Array::from(vec![443, 53, 3389])),
                Arc::new(Int16Array::from(vec![6, 17, 6])),
            ],
        )
        .unwrap();
        let mut writer =
            ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let ctx = context();
        ctx.register_parquet("flows", path.to_str().unwrap(), Default::default())
            .await
            .unwrap();
        assert_eq!(
            values(&ctx, "select arrow_typeof(src_ip) from flows limit 1").await,
            strs(&["Utf8View"])
        );
        assert_eq!(
            values(
                &ctx,
                "select concat_ws(' ', cidr_match(src_ip, '10.0.0.0/8'), is_private(src_ip), \
                 ip_version(src_ip), ip_to_int(src_ip), service_name(dst_port, protocol)) from flows"
            )
            .await,
            strs(&["true true 4 168364039 https", "false true 6 domain", "ms-wbt-server"])
        );
    }

    #[tokio::test]
    async fn wrong_argument_types_and_counts_are_planning_errors() {
        let ctx = context();
        for (sql, expected) in [
            (
                "select cidr_match(1, '10.0.0.0/8')",
                "cidr_match: ip must be text, got Int64",
            ),
            (
                "select cidr_match('10.0.0.1', 8)",
                "cidr_match: cidr must be text, got Int64",
            ),
            (
                "select cidr_match('10.0.0.1')",
                "cidr_match takes 2 arguments",
            ),
            ("select is_private()", "is_private takes 1 argument"),
            (
                "select is_private('::1', '::2')",
                "is_private takes 1 argument",
            ),
            (
                "select ip_version(4)",
                "ip_version: ip must be text, got Int64",
            ),
            (
                "select ip_to_int(true)",
                "ip_to_int: ip must be text, got Boolean",
            ),
            (
                "select service_name('22', 6)",
                "service_name: port must be an integer, got Utf8",
            ),
            (
                "select service_name(22.0, 6)",
                "service_name: port must be an integer",
            ),
            (
                "select service_name(22, 6.5)",
                "service_name: protocol must be an IP protocol number",
            ),
            ("select service_name(22)", "service_name takes 2 arguments"),
        ] {
            let e = error(&ctx, sql).await;
            assert!(e.contains(expected), "{sql}: {e}");
        }
    }

    #[tokio::test]
    async fn junk_text_never_panics() {
        let ctx = context();
        let junk = [
            "",
            " ",
            "/",
            "//",
            ":",
            "::::",
            ":::1",
            "1.2.3.4/",
            "1.2.3.4.5",
            "1.2.3",
            "0x7f.0.0.1",
            "-1.2.3.4",
            "1.2.3.-4",
            "256.0.0.0",
            "é",
            "\u{0}",
            "🙂",
            "::ffff:1.2.3.4.5",
            "1:2:3:4:5:6:7:8:9",
            "ffff::ffff::",
            "fe80::1%",
            "10.0.0.1\n",
        ];
        let long = "1".repeat(100_000);
        let list = junk
            .iter()
            .map(|s| format!("('{}')", s.replace('\'', "''")))
            .chain([
                format!("('{long}')"),
                format!("('{}')", "ffff:".repeat(1000)),
            ])
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "select concat_ws(',', coalesce(cast(cidr_match(x, '0.0.0.0/0') as varchar), 'N'), \
             coalesce(cast(is_private(x) as varchar), 'N'), \
             coalesce(cast(ip_version(x) as varchar), 'N'), \
             coalesce(cast(ip_to_int(x) as varchar), 'N')) from (values {list}) as v(x)"
        );
        let got = values(&ctx, &sql).await;
        assert_eq!(got.len(), junk.len() + 2);
        assert!(got.iter().all(|v| v == "N,N,N,N"), "{got:?}");
        for text in junk.iter().copied().chain([long.as_str()]) {
            if text.is_empty() || text.contains('/') || text.parse::<IpAddr>().is_err() {
                // Every junk text is rejected as a network too, with the value named.
                if let Err(reason) = Net::parse(text) {
                    assert!(invalid_network(text, &reason).contains(&format!("'{text}'")));
                }
            }
        }
        for bad in [
            "/",
            "1.2.3.4//8",
            "1.2.3.4/-1",
            "1.2.3.4/+8",
            "1.2.3.4/8 ",
            " 1.2.3.4/8",
            "1.2.3.4/0008",
            "1.2.3.4/4294967296",
            "1.2.3.4/18446744073709551616",
            "::/1280",
            "::/129",
            "1.2.3.4/33",
            "1.2.3.4/ 8",
            "1.2.3.4/8/8",
            "1.2.3.4/٨",
        ] {
            assert!(Net::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn network_boundaries() {
        let net = |s: &str| Net::parse(s).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let inside = |n: &str, a: &str| net(n).contains(ip(a));

        assert!(inside("10.0.0.0/8", "10.0.0.0"));
        assert!(inside("10.0.0.0/8", "10.255.255.255"));
        assert!(!inside("10.0.0.0/8", "9.255.255.255"));
        assert!(!inside("10.0.0.0/8", "11.0.0.0"));
        assert!(inside("0.0.0.0/0", "0.0.0.0"));
        assert!(inside("0.0.0.0/0", "255.255.255.255"));
        assert!(!inside("0.0.0.0/0", "::"));
        assert!(inside("128.0.0.0/1", "128.0.0.0"));
        assert!(inside("128.0.0.0/1", "255.255.255.255"));
        assert!(!inside("128.0.0.0/1", "127.255.255.255"));
        assert!(inside("192.0.2.10/31", "192.0.2.11"));
        assert!(!inside("192.0.2.10/31", "192.0.2.12"));
        assert!(inside("192.0.2.1/32", "192.0.2.1"));
        assert!(inside("192.0.2.1", "192.0.2.1"));
        assert!(!inside("192.0.2.1", "192.0.2.0"));
        assert!(!inside("192.0.2.1", "192.0.2.2"));
        assert!(inside("::/0", "::"));
        assert!(inside("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert!(!inside("::/0", "0.0.0.0"));
        assert!(inside("2001:db8::/127", "2001:db8::1"));
        assert!(!inside("2001:db8::/127", "2001:db8::2"));
        assert!(inside("2001:db8::1/128", "2001:db8::1"));
        assert!(inside("2001:db8::1", "2001:db8::1"));
        assert!(!inside("2001:db8::1", "2001:db8::"));
        assert!(inside("8000::/1", "ffff::"));
        assert!(!inside(
            "8000::/1",
            "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        ));
        assert!(!inside("::ffff:0:0/96", "10.0.0.1"));
        assert!(!inside("10.0.0.0/8", "::ffff:10.0.0.1"));
        assert!(inside("::ffff:0:0/96", "::ffff:10.0.0.1"));
        // Host bits in the network text are cleared.
        assert_eq!(net("10.1.2.3/8"), net("10.0.0.0/8"));
        assert_eq!(net("2001:db8::ffff/32"), net("2001:db8::/32"));
        assert_eq!(net("10.0.0.0/08"), net("10.0.0.0/8"));
    }

    #[test]
    fn private_ranges_edges() {
        let private = |s: &str| is_private_ip(s.parse().unwrap());
        for yes in [
            "10.0.0.0",
            "10.255.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.168.0.0",
            "192.168.255.255",
            "127.0.0.0",
            "127.255.255.255",
            "169.254.0.0",
            "169.254.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "::1",
            "fe80::",
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fc00::",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(private(yes), "{yes}");
        }
        for no in [
            "9.255.255.255",
            "11.0.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "::2",
            "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fec0::",
            "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe00::",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!private(no), "{no}");
        }
    }

    #[test]
    fn service_table_is_sorted_complete_and_unambiguous() {
        for pair in SERVICES.windows(2) {
            assert!(pair[0].0 <= pair[1].0, "not sorted at {:?}", pair[1]);
            if pair[0].0 == pair[1].0 {
                assert_eq!(
                    pair[0].1 & pair[1].1,
                    0,
                    "port {} twice for one protocol",
                    pair[0].0
                );
            }
        }
        for &(port, protocols, name) in SERVICES {
            assert!(
                protocols != 0 && protocols & !(TCP | UDP | SCTP) == 0,
                "{port}"
            );
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
        }
        let entries: usize = SERVICES.iter().map(|s| s.1.count_ones() as usize).sum();
        assert!(entries >= 120, "{entries}");
        for port in [
            20, 21, 22, 23, 25, 53, 67, 68, 69, 80, 88, 110, 111, 119, 123, 135, 137, 138, 139,
            143, 161, 162, 179, 389, 443, 445, 465, 500, 514, 515, 520, 546, 547, 587, 631, 636,
            853, 873, 989, 990, 993, 995, 1080, 1194, 1433, 1434, 1521, 1701, 1723, 1812, 1813,
            1883, 1900, 2049, 2181, 3128, 3306, 3389, 3478, 4500, 5060, 5061, 5222, 5353, 5432,
            5671, 5672, 5900, 6379, 6443, 8080, 8443, 8883, 9000, 9092, 9200, 11211, 27017,
        ] {
            assert!(
                [TCP, UDP]
                    .iter()
                    .any(|&p| lookup_service(port, p).is_some()),
                "port {port} has no name"
            );
        }
        assert_eq!(lookup_service(53, TCP), Some("domain"));
        assert_eq!(lookup_service(53, UDP), Some("domain"));
        assert_eq!(lookup_service(53, SCTP), None);
        assert_eq!(lookup_service(514, TCP), Some("shell"));
        assert_eq!(lookup_service(514, UDP), Some("syslog"));
        assert_eq!(lookup_service(7, TCP), Some("echo"));
        assert_eq!(lookup_service(47808, UDP), Some("bacnet"));
        assert_eq!(lookup_service(0, TCP), None);
        assert_eq!(lookup_service(65535, TCP), None);
        assert_eq!(lookup_service(65536 + 22, TCP), None);
        assert_eq!(lookup_service(-65536 + 22, TCP), None);
        assert_eq!(lookup_service(i64::MIN, TCP), None);
        assert_eq!(protocol_from_text("Tcp"), Some(TCP));
        assert_eq!(protocol_from_text("tcp "), None);
        assert_eq!(protocol_from_number(6 + 256), None);
    }

    #[test]
    fn docs_port_table_is_the_built_in_table() {
        let section = DOCS
            .split("### Port table")
            .nth(1)
            .expect("port table section");
        let documented: Vec<String> = section
            .lines()
            .filter(|l| l.starts_with("| ") && l[2..].starts_with(|c: char| c.is_ascii_digit()))
            .map(str::to_owned)
            .collect();
        let built_in: Vec<String> = SERVICES
            .iter()
            .map(|&(port, protocols, name)| {
                let names: Vec<&str> = [(TCP, "tcp"), (UDP, "udp"), (SCTP, "sctp")]
                    .iter()
                    .filter(|(p, _)| protocols & p != 0)
                    .map(|(_, n)| *n)
                    .collect();
                format!("| {port} | {} | {name} |", names.join(", "))
            })
            .collect();
        assert_eq!(documented, built_in);
    }

    #[tokio::test]
    async fn docs_examples_hold() {
        let ctx = context();
        let mut checked = 0;
        let mut failures = Vec::new();
        for block in DOCS.split("```sql\n").skip(1) {
            let block = block.split("```").next().unwrap();
            let lines: Vec<&str> = block.lines().collect();
            let (expected, statement) = lines.split_last().expect("empty example");
            let statement = statement.join("\n");
            let expected = expected
                .strip_prefix("-- ")
                .unwrap_or_else(|| panic!("example without a result line: {block}"));
            let got = match run(&ctx, &statement).await {
                Ok(v) if v.len() == 1 => v[0].clone(),
                Ok(v) => format!("{} values: {v:?}", v.len()),
                Err(e) => format!("error: {e}"),
            };
            let ok = match expected.strip_prefix("error: ") {
                Some(message) => got.starts_with("error: ") && got.contains(message),
                None => got == expected,
            };
            if !ok {
                failures.push(format!(
                    "{statement}\n  expected: {expected}\n  got:      {got}"
                ));
            }
            checked += 1;
        }
        assert!(checked > 100, "only {checked} examples found");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[tokio::test]
    async fn information_schema_describes_the_functions() {
        let ctx =
            SessionContext::new_with_config(SessionConfig::new().with_information_schema(true));
        register_all(&ctx);
        let got = values(
            &ctx,
            "select routine_name || ': ' || syntax_example from information_schema.routines \
             where routine_name in ('cidr_match', 'is_private', 'ip_version', 'ip_to_int', 'service_name') \
             and description is not null order by 1",
        )
        .await;
        assert_eq!(
            got,
            strs(&[
                "cidr_match: cidr_match(ip, cidr)",
                "ip_to_int: ip_to_int(ip)",
                "ip_version: ip_version(ip)",
                "is_private: is_private(ip)",
                "service_name: service_name(port, protocol)",
            ])
        );
    }

    /// The functions do not claim `ScalarUDFImpl::is_strict`: DataFusion 55
    /// reads it as "NULL exactly when an argument is NULL" when it works out
    /// nullability, and these functions also return NULL for non-NULL text that
    /// is not an address. Claiming it made this CASE non-nullable and the
    /// count 0.
    #[tokio::test]
    async fn null_for_invalid_text_is_seen_by_the_optimizer() {
        let ctx = context();
        let sql = "select count(*) from (values ('junk'), ('10.0.0.1')) as t(x) \
                   where (case when ip_version(x) is null then arrow_cast(null, 'Int32') \
                   else 1 end) is null";
        assert_eq!(values(&ctx, sql).await, strs(&["1"]));
        let sql = "select count(*) from (values ('junk'), ('10.0.0.1')) as t(x) \
                   where (case when cidr_match(x, '10.0.0.0/8') is null \
                   then arrow_cast(null, 'Int32') else 1 end) is null";
        assert_eq!(values(&ctx, sql).await, strs(&["1"]));
    }

    /// Calls that planning would never make (wrong types, unequal lengths)
    /// return errors instead of panicking.
    #[test]
    fn direct_calls_with_bad_arguments_are_errors() {
        let call = |udf: &dyn ScalarUDFImpl, args: Vec<ColumnarValue>, rows: usize| {
            let arg_fields = args
                .iter()
                .map(|a| Arc::new(Field::new("a", a.data_type(), true)))
                .collect();
            udf.invoke_with_args(ScalarFunctionArgs {
                args,
                arg_fields,
                number_rows: rows,
                return_field: Arc::new(Field::new("r", DataType::Boolean, true)),
                config_options: Arc::new(ConfigOptions::default()),
            })
        };
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
        let text: ArrayRef = Arc::new(StringArray::from(vec!["10.0.0.1", "10.0.0.2"]));
        let short: ArrayRef = Arc::new(StringArray::from(vec!["10.0.0.0/8"]));
        let a = ColumnarValue::Array;
        let s = ColumnarValue::Scalar;

        assert!(call(&IsPrivate::new(), vec![a(Arc::clone(&ints))], 2).is_err());
        assert!(call(&IpVersion::new(), vec![s(ScalarValue::Int32(Some(4)))], 1).is_err());
        assert!(call(&IpToInt::new(), vec![], 1).is_err());
        assert!(call(&CidrMatch::new(), vec![a(Arc::clone(&text))], 2).is_err());
        assert!(
            call(
                &CidrMatch::new(),
                vec![a(Arc::clone(&ints)), a(Arc::clone(&short))],
                2
            )
            .is_err()
        );
        assert!(
            call(
                &CidrMatch::new(),
                vec![a(Arc::clone(&text)), a(Arc::clone(&short))],
                2
            )
            .is_err()
        );
        assert!(
            call(
                &CidrMatch::new(),
                vec![a(Arc::clone(&text)), s(ScalarValue::Int8(Some(1)))],
                2
            )
            .is_err()
        );
        assert!(
            call(
                &ServiceName::new(),
                vec![a(Arc::clone(&text)), s(ScalarValue::from(6i64))],
                2
            )
            .is_err()
        );
        assert!(
            call(
                &ServiceName::new(),
                vec![a(Arc::clone(&ints)), a(Arc::new(Int16Array::from(vec![6])))],
                2
            )
            .is_err()
        );
        assert!(
            call(
                &ServiceName::new(),
                vec![
                    s(ScalarValue::Float64(Some(1.0))),
                    s(ScalarValue::from(6i64))
                ],
                1
            )
            .is_err()
        );

        // Integer types other than Int64 are cast rather than rejected.
        let ports: ArrayRef = Arc::new(UInt16Array::from(vec![Some(22), None, Some(65535)]));
        let out = call(
            &ServiceName::new(),
            vec![a(ports), s(ScalarValue::Utf8View(Some("tcp".into())))],
            3,
        )
        .unwrap()
        .into_array(3)
        .unwrap();
        assert_eq!(
            (0..3).map(|i| show(&out, i)).collect::<Vec<_>>(),
            strs(&["ssh", "NULL", "NULL"])
        );
    }
}
