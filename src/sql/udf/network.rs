//! The address and network functions: `cidr_match(ip, cidr)`,
//! `is_private(ip)`, `ip_version(ip)` and `ip_to_int(ip)`, with the parsing
//! of addresses and networks they share.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::args::{TextColumn, map_text, scalar_text};
use super::scalar::Function;
use datafusion::arrow::array::{Array, BooleanArray, Int8Array, Int64Array, new_null_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::utils::take_function_args;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs};

/// An address text, or `None` when it is not one.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

/// A network: an address family, the network's address with its host bits
/// cleared, and the mask of its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Net {
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
    pub(super) fn parse(text: &str) -> std::result::Result<Net, String> {
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
    pub(super) fn contains(&self, ip: IpAddr) -> bool {
        match (*self, ip) {
            (Net::V4 { addr, mask }, IpAddr::V4(ip)) => ip.to_bits() & mask == addr,
            (Net::V6 { addr, mask }, IpAddr::V6(ip)) => ip.to_bits() & mask == addr,
            _ => false,
        }
    }
}

/// The `cidr_match` error for a network text that does not parse.
pub(super) fn invalid_network(text: &str, reason: &str) -> String {
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

pub(super) fn is_private_ip(ip: IpAddr) -> bool {
    PRIVATE_NETS.iter().any(|net| net.contains(ip))
}

// ---------------------------------------------------------------------------
// cidr_match(ip, cidr) -> Boolean
// ---------------------------------------------------------------------------

/// `cidr_match(ip, cidr)`: is address `ip` inside network `cidr`?
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct CidrMatch;

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

impl Function for CidrMatch {
    const NAME: &'static str = "cidr_match";
    const ARGUMENTS: &'static [(&'static str, &'static str)] = &[
        ("ip", "Address text, e.g. '10.1.2.3' or '2001:db8::1'."),
        (
            "cidr",
            "Network text, '10.0.0.0/8' or '2001:db8::/32'; a bare address means /32 or /128.",
        ),
    ];
    const RETURNS: DataType = DataType::Boolean;
    const DESCRIPTION: &'static str = "True when the address `ip` is inside the network `cidr` \
        (IPv4 or IPv6, never across families); NULL for NULL or invalid `ip`; an error for \
        invalid `cidr`.";
    const EXAMPLE: &'static str = "select cidr_match('192.168.1.7', '192.168.0.0/16'); -- true";

    /// A constant `cidr` is checked here, at planning, so a typo fails the query
    /// before it reads any data.
    fn check_constants(args: &ReturnFieldArgs) -> Result<()> {
        if let Some(Some(cidr)) = args.scalar_arguments.get(1)
            && let Some(Some(text)) = cidr.try_as_str()
            && let Err(reason) = Net::parse(text)
        {
            return plan_err!("{}", invalid_network(text, &reason));
        }
        Ok(())
    }

    fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = Self::NAME;
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
}

// ---------------------------------------------------------------------------
// is_private(ip) -> Boolean, ip_version(ip) -> Int8, ip_to_int(ip) -> Int64
// ---------------------------------------------------------------------------

/// `is_private(ip)`: is the address in a private, loopback, link-local,
/// unique-local or CGNAT range?
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct IsPrivate;

impl Function for IsPrivate {
    const NAME: &'static str = "is_private";
    const ARGUMENTS: &'static [(&'static str, &'static str)] =
        &[("ip", "Address text, e.g. '10.1.2.3' or 'fe80::1'.")];
    const RETURNS: DataType = DataType::Boolean;
    const DESCRIPTION: &'static str = "True when the address is in 10.0.0.0/8, 172.16.0.0/12, \
        192.168.0.0/16, 127.0.0.0/8, 169.254.0.0/16, 100.64.0.0/10, ::1, fe80::/10 or fc00::/7; \
        false for other addresses; NULL for NULL or invalid text.";
    const EXAMPLE: &'static str = "select is_private('172.31.255.255'); -- true";

    fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_text::<bool, BooleanArray>(
            Self::NAME,
            args,
            |s| parse_ip(s).map(is_private_ip),
            ScalarValue::Boolean,
        )
    }
}

/// `ip_version(ip)`: 4 or 6.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct IpVersion;

impl Function for IpVersion {
    const NAME: &'static str = "ip_version";
    const ARGUMENTS: &'static [(&'static str, &'static str)] =
        &[("ip", "Address text, e.g. '10.1.2.3' or '2001:db8::1'.")];
    const RETURNS: DataType = DataType::Int8;
    const DESCRIPTION: &'static str =
        "4 for IPv4 address text, 6 for IPv6 address text; NULL for NULL or invalid text.";
    const EXAMPLE: &'static str = "select ip_version('2001:db8::1'); -- 6";

    fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_text::<i8, Int8Array>(
            Self::NAME,
            args,
            |s| parse_ip(s).map(|ip| if ip.is_ipv4() { 4 } else { 6 }),
            ScalarValue::Int8,
        )
    }
}

/// `ip_to_int(ip)`: an IPv4 address as its unsigned 32-bit value.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct IpToInt;

impl Function for IpToInt {
    const NAME: &'static str = "ip_to_int";
    const ARGUMENTS: &'static [(&'static str, &'static str)] =
        &[("ip", "IPv4 address text, e.g. '10.1.2.3'.")];
    const RETURNS: DataType = DataType::Int64;
    const DESCRIPTION: &'static str = "An IPv4 address as its unsigned 32-bit value (0 to \
        4294967295) in an Int64; NULL for IPv6 addresses, NULL and invalid text.";
    const EXAMPLE: &'static str = "select ip_to_int('10.0.0.1'); -- 167772161";

    fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
        map_text::<i64, Int64Array>(
            Self::NAME,
            args,
            |s| s.parse::<Ipv4Addr>().ok().map(|a| i64::from(a.to_bits())),
            ScalarValue::Int64,
        )
    }
}
