//! `service_name(port, protocol)`: the well-known service on a port, from the
//! table in `services.tsv`.

use std::sync::{Arc, LazyLock};

use super::args::{
    TextColumn, coerce_integer, int64_array, int64_scalar, integer_type, is_text, text_type,
};
use super::scalar::Function;
use datafusion::arrow::array::{Array, AsArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::utils::take_function_args;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

pub(super) const TCP: u8 = 1;
pub(super) const UDP: u8 = 2;
pub(super) const SCTP: u8 = 4;

/// `(port, protocols, name)` from `services.tsv`, sorted by port; one port
/// may have several rows with different names for different protocols (514:
/// `shell` on TCP, `syslog` on UDP). `services.tsv` says where the names come
/// from.
pub(super) static SERVICES: LazyLock<Vec<(u16, u8, &'static str)>> =
    LazyLock::new(|| parse_services(include_str!("services.tsv")));

/// The lines of `services.tsv`: `PORT<TAB>PROTOCOL[,PROTOCOL...]<TAB>NAME`,
/// `#` comments. The table is part of the program, so a line that does not
/// parse is a bug (a unit test reads the whole table).
fn parse_services(text: &'static str) -> Vec<(u16, u8, &'static str)> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut fields = line.split('\t');
            let (Some(port), Some(protocols), Some(name), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                panic!("services.tsv: not PORT, PROTOCOLS, NAME: {line:?}");
            };
            let port = port
                .parse()
                .unwrap_or_else(|_| panic!("services.tsv: bad port: {line:?}"));
            let protocols = protocols.split(',').fold(0, |bits, protocol| {
                bits | protocol_from_text(protocol)
                    .unwrap_or_else(|| panic!("services.tsv: bad protocol: {line:?}"))
            });
            (port, protocols, name)
        })
        .collect()
}

/// The service on `port` over `protocol` (one of `TCP`, `UDP`, `SCTP`).
pub(super) fn lookup_service(port: i64, protocol: u8) -> Option<&'static str> {
    let port = u16::try_from(port).ok()?;
    let start = SERVICES.partition_point(|&(p, _, _)| p < port);
    SERVICES[start..]
        .iter()
        .take_while(|&&(p, _, _)| p == port)
        .find(|&&(_, protocols, _)| protocols & protocol != 0)
        .map(|&(_, _, name)| name)
}

pub(super) fn protocol_from_number(n: i64) -> Option<u8> {
    match n {
        6 => Some(TCP),
        17 => Some(UDP),
        132 => Some(SCTP),
        _ => None,
    }
}

pub(super) fn protocol_from_text(text: &str) -> Option<u8> {
    [("tcp", TCP), ("udp", UDP), ("sctp", SCTP)]
        .into_iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name))
        .map(|(_, p)| p)
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
/// `service_name(port, protocol)`: the well-known service on a port.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ServiceName;

impl Function for ServiceName {
    const NAME: &'static str = "service_name";
    const ARGUMENTS: &'static [(&'static str, &'static str)] = &[
        ("port", "Port number, any integer type."),
        (
            "protocol",
            "IP protocol number (6 TCP, 17 UDP, 132 SCTP) or its name 'tcp', 'udp', 'sctp'.",
        ),
    ];
    const RETURNS: DataType = DataType::Utf8;
    const DESCRIPTION: &'static str = "The IANA service name of a well-known port from flowq's \
        built-in table (docs/sql-functions.md lists it); NULL for unknown ports, ports outside \
        0-65535, protocols other than TCP, UDP and SCTP, and NULL arguments.";
    const EXAMPLE: &'static str = "select service_name(443, 6); -- https";

    fn coerce(arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let port = coerce_integer(Self::NAME, "port", &arg_types[0])?;
        let t = &arg_types[1];
        let Some(protocol) = integer_type(t).or_else(|| text_type(t)) else {
            return plan_err!(
                "service_name: protocol must be an IP protocol number or 'tcp', 'udp', 'sctp', \
                 got {t}"
            );
        };
        Ok(vec![port, protocol])
    }

    fn invoke(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = Self::NAME;
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
}
