//! The functions through SQL, every example in `docs/sql-functions.md`, and
//! their parts (networks, private ranges, the port table) directly.

use super::network::{
    CidrMatch, IpToInt, IpVersion, IsPrivate, Net, invalid_network, is_private_ip,
};
use super::register_all;
use super::scalar::Udf;
use super::service::{
    SCTP, SERVICES, ServiceName, TCP, UDP, lookup_service, protocol_from_number, protocol_from_text,
};
use datafusion::arrow::array::{Array, ArrayRef, LargeStringArray, StringArray, StringViewArray};
use datafusion::arrow::array::{Int16Array, Int32Array, RecordBatch, UInt16Array};
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::{Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl};
use datafusion::prelude::SessionConfig;
use datafusion::prelude::SessionContext;
use std::net::IpAddr;
use std::sync::Arc;

const DOCS: &str = include_str!("../../../docs/sql-functions.md");

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
            &format!("select count(*) from ({rows}) where is_private(ip) and ip_version(ip) = 4")
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
        strs(&[
            "true true 4 168364039 https",
            "false true 6 domain",
            "ms-wbt-server"
        ])
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
    for &(port, protocols, name) in SERVICES.iter() {
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
        20, 21, 22, 23, 25, 53, 67, 68, 69, 80, 88, 110, 111, 119, 123, 135, 137, 138, 139, 143,
        161, 162, 179, 389, 443, 445, 465, 500, 514, 515, 520, 546, 547, 587, 631, 636, 853, 873,
        989, 990, 993, 995, 1080, 1194, 1433, 1434, 1521, 1701, 1723, 1812, 1813, 1883, 1900, 2049,
        2181, 3128, 3306, 3389, 3478, 4500, 5060, 5061, 5222, 5353, 5432, 5671, 5672, 5900, 6379,
        6443, 8080, 8443, 8883, 9000, 9092, 9200, 11211, 27017,
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
    // The table ends where the next function's section begins.
    let section = section.split("\n## ").next().unwrap_or(section);
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
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_information_schema(true));
    register_all(&ctx);
    let got = values(
        &ctx,
        "select routine_name || ': ' || syntax_example from information_schema.routines \
         where routine_name in ('cidr_match', 'is_private', 'ip_version', 'ip_to_int', \
         'service_name', 'registered_domain', 'ja4_part', 'shannon_entropy') \
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
            "ja4_part: ja4_part(ja4, n)",
            "registered_domain: registered_domain(name)",
            "service_name: service_name(port, protocol)",
            "shannon_entropy: shannon_entropy(text)",
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

    assert!(call(&Udf::new(IsPrivate), vec![a(Arc::clone(&ints))], 2).is_err());
    assert!(
        call(
            &Udf::new(IpVersion),
            vec![s(ScalarValue::Int32(Some(4)))],
            1
        )
        .is_err()
    );
    assert!(call(&Udf::new(IpToInt), vec![], 1).is_err());
    assert!(call(&Udf::new(CidrMatch), vec![a(Arc::clone(&text))], 2).is_err());
    assert!(
        call(
            &Udf::new(CidrMatch),
            vec![a(Arc::clone(&ints)), a(Arc::clone(&short))],
            2
        )
        .is_err()
    );
    assert!(
        call(
            &Udf::new(CidrMatch),
            vec![a(Arc::clone(&text)), a(Arc::clone(&short))],
            2
        )
        .is_err()
    );
    assert!(
        call(
            &Udf::new(CidrMatch),
            vec![a(Arc::clone(&text)), s(ScalarValue::Int8(Some(1)))],
            2
        )
        .is_err()
    );
    assert!(
        call(
            &Udf::new(ServiceName),
            vec![a(Arc::clone(&text)), s(ScalarValue::from(6i64))],
            2
        )
        .is_err()
    );
    assert!(
        call(
            &Udf::new(ServiceName),
            vec![a(Arc::clone(&ints)), a(Arc::new(Int16Array::from(vec![6])))],
            2
        )
        .is_err()
    );
    assert!(
        call(
            &Udf::new(ServiceName),
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
        &Udf::new(ServiceName),
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

/// id, name, ja4, part number
type NameRow = (i32, Option<&'static str>, Option<&'static str>, Option<i16>);

/// Table `names`, in two batches: DNS names and JA4 fingerprints in every
/// text layout, with NULLs and junk, and part numbers as a column.
fn with_names() -> SessionContext {
    let ctx = context();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("name_large", DataType::LargeUtf8, true),
        Field::new("name_view", DataType::Utf8View, true),
        Field::new("ja4", DataType::Utf8View, true),
        Field::new("n", DataType::Int16, true),
    ]));
    #[rustfmt::skip]
    let rows: [NameRow; 6] = [
        (0, Some("www.example.co.uk"), Some("t13d1516h2_8daaf6152771_e5627efa2ab1"), Some(1)),
        (1, None, None, Some(2)),
        (2, Some("192.0.2.1"), Some("t13d1516h2_8daaf6152771_e5627efa2ab1"), Some(3)),
        (3, Some("co.uk"), Some("junk"), Some(1)),
        (4, Some("Mail.Example.COM."), Some("q13d0310h3_55b375c5d22e_cd85d2d88918"), None),
        (5, Some("a..b"), Some("q13d0310h3_55b375c5d22e_cd85d2d88918"), Some(2)),
    ];
    let batch = |rows: &[NameRow]| {
        let names: Vec<Option<&str>> = rows.iter().map(|r| r.1).collect();
        RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from(names.clone())),
                Arc::new(LargeStringArray::from(names.clone())),
                Arc::new(StringViewArray::from(names)),
                Arc::new(StringViewArray::from_iter(rows.iter().map(|r| r.2))),
                Arc::new(Int16Array::from_iter(rows.iter().map(|r| r.3))),
            ],
        )
        .unwrap()
    };
    let table = MemTable::try_new(
        Arc::clone(&schema),
        vec![vec![batch(&rows[..3]), batch(&rows[3..])]],
    )
    .unwrap();
    ctx.register_table("names", Arc::new(table)).unwrap();
    ctx
}

#[tokio::test]
async fn name_functions_over_every_text_layout_and_columns() {
    let ctx = with_names();
    for column in [
        "name",
        "name_large",
        "name_view",
        "arrow_cast(name, 'Dictionary(Int8, Utf8)')",
    ] {
        assert_eq!(
            values(
                &ctx,
                &format!("select registered_domain({column}) from names order by id")
            )
            .await,
            strs(&[
                "example.co.uk",
                "NULL",
                "NULL",
                "NULL",
                "example.com",
                "NULL"
            ])
        );
        assert_eq!(
            values(
                &ctx,
                &format!("select round(shannon_entropy({column}), 3) from names order by id")
            )
            .await,
            strs(&["3.41", "NULL", "2.197", "2.322", "3.455", "1.5"])
        );
    }
    // Part number from a column (NULL part gives NULL), from a constant, and a
    // constant fingerprint with a column of part numbers.
    assert_eq!(
        values(&ctx, "select ja4_part(ja4, n) from names order by id").await,
        strs(&[
            "t13d1516h2",
            "NULL",
            "e5627efa2ab1",
            "NULL",
            "NULL",
            "55b375c5d22e"
        ])
    );
    assert_eq!(
        values(&ctx, "select ja4_part(ja4, 1) from names order by id").await,
        strs(&[
            "t13d1516h2",
            "NULL",
            "t13d1516h2",
            "NULL",
            "q13d0310h3",
            "q13d0310h3"
        ])
    );
    assert_eq!(
        values(
            &ctx,
            "select ja4_part('t13d1516h2_8daaf6152771_e5627efa2ab1', n) from names order by id"
        )
        .await,
        strs(&[
            "t13d1516h2",
            "8daaf6152771",
            "e5627efa2ab1",
            "t13d1516h2",
            "NULL",
            "8daaf6152771"
        ])
    );
    assert_eq!(
        one("select arrow_typeof(registered_domain('a.com'))").await,
        "Utf8"
    );
    assert_eq!(
        one("select arrow_typeof(ja4_part('t13d1516h2_8daaf6152771_e5627efa2ab1', 1))").await,
        "Utf8"
    );
    assert_eq!(
        one("select arrow_typeof(shannon_entropy('a'))").await,
        "Float64"
    );
    assert_eq!(
        one("select ja4_part('t13d1516h2_8daaf6152771_e5627efa2ab1', arrow_cast(2, 'UInt64'))")
            .await,
        "8daaf6152771"
    );
}

#[tokio::test]
async fn name_function_errors() {
    let ctx = with_names();
    for (sql, expected) in [
        (
            "select registered_domain(1)",
            "registered_domain: name must be text, got Int64",
        ),
        (
            "select registered_domain('a.com', 'b.com')",
            "registered_domain takes 1 argument",
        ),
        ("select ja4_part('x')", "ja4_part takes 2 arguments"),
        (
            "select ja4_part('x', 'a')",
            "ja4_part: n must be an integer, got Utf8",
        ),
        ("select ja4_part(1, 1)", "ja4_part: ja4 must be text"),
        (
            "select ja4_part(ja4, 0) from names",
            "ja4_part: part 0 does not exist",
        ),
        (
            "select ja4_part(ja4, -1) from names",
            "ja4_part: part -1 does not exist",
        ),
        (
            "select shannon_entropy(2.5)",
            "shannon_entropy: text must be text, got Float64",
        ),
        // A part number from a column is checked row by row.
        (
            "select ja4_part(ja4, n + 2) from names",
            "ja4_part: part 4 does not exist",
        ),
    ] {
        let e = error(&ctx, sql).await;
        assert!(e.contains(expected), "{sql}: {e}");
    }
}

#[tokio::test]
async fn name_functions_never_panic_on_junk() {
    let ctx = context();
    let long = "a".repeat(100_000);
    let dots = ".".repeat(10_000);
    let labels = "a.".repeat(50_000);
    let junk = [
        "", " ", ".", "_", "-", "\u{0}", "é", "🙂", "xn--", "xn--.com", "a.xn--zz", "_._._",
        "t13d_", "___", &long, &dots, &labels,
    ];
    let list = junk
        .iter()
        .map(|s| format!("('{s}')"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "select count(registered_domain(x)), count(ja4_part(x, 1)), count(ja4_part(x, 3)), \
         count(shannon_entropy(x)) from (values {list}) as v(x)"
    );
    let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    let row: Vec<String> = (0..4).map(|c| show(batches[0].column(c), 0)).collect();
    // Only "a.xn--zz" looks like a host name (an unknown top-level label
    // under the default rule); every text has an entropy.
    assert_eq!(row, strs(&["1", "0", "0", &junk.len().to_string()]));
}
