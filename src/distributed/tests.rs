//! Codec round trips without a cluster: every flowq provider and plan node, and
//! the plans of the saved queries, go through flowq's codecs and come back
//! equal; the decoded physical plans also give the same rows.

use super::codec::{FlowqLogicalCodec, FlowqPhysicalCodec};
use super::scan::{ClusterPcapTable, PcapFilesExec};
use super::wire::{self, Kind, VERSION};
use crate::sql::pcap_table::{CAPTURE_COLUMN, PcapScanExec, PcapTable, Rows};
use crate::sql::udf;
use ballista_core::JobId;
use ballista_core::execution_plans::ShuffleWriterExec;
use ballista_core::extension::SessionConfigExt;
use datafusion::arrow::array::Array;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::{ExecutionPlan, collect, displayable};
use datafusion::prelude::{CsvReadOptions, SessionConfig, SessionContext};
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{DefaultPhysicalProtoConverter, PhysicalExtensionCodec};
use flowq_extract::flow::FlowConfig;
use flowq_extract::{ExtractOptions, Profile};
use std::path::PathBuf;
use std::sync::Arc;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample() -> PathBuf {
    repo().join("testdata/sample.pcap")
}

/// Option sets that change the columns or the extraction.
fn option_sets() -> Vec<ExtractOptions> {
    let standard = ExtractOptions::default();
    vec![
        standard,
        ExtractOptions {
            profile: Profile::Full,
            splt_len: 3,
            ..standard
        },
        ExtractOptions {
            profile: Profile::Nfstream,
            nfstream_stats: true,
            ..standard
        },
        ExtractOptions {
            profile: Profile::Cic2017,
            cic_bugs: true,
            cic_original_timestamp: true,
            ..standard
        },
        ExtractOptions {
            flow: FlowConfig {
                bidirectional: false,
                idle_timeout_ns: None,
                max_flows: Some(1000),
                ..FlowConfig::default()
            },
            decapsulate: false,
            threads: 2,
            ..standard
        },
    ]
}

/// A local session with flowq's tables over the sample capture and a CSV table,
/// configured as a cluster client's (Ballista's restrictions on DataFusion).
async fn session(options: ExtractOptions) -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new_with_ballista());
    udf::register_all(&ctx);
    for (name, rows) in [("flows", Rows::Flows), ("packets", Rows::Packets)] {
        let table = PcapTable::new(rows, vec![sample(), sample()], options);
        ctx.register_table(name, Arc::new(table)).unwrap();
    }
    ctx.register_csv(
        "hosts",
        repo().join("testdata/hosts.csv").to_str().unwrap(),
        CsvReadOptions::new(),
    )
    .await
    .unwrap();
    ctx
}

/// A session that knows none of flowq's functions or tables, as a process
/// without them would decode plans: the codecs must bring what is needed.
fn bare() -> SessionContext {
    SessionContext::new()
}

fn assert_same_table(decoded: &PcapTable, original: &PcapTable) {
    assert_eq!(decoded.rows(), original.rows());
    assert_eq!(decoded.files(), original.files());
    assert_eq!(decoded.options(), original.options());
    assert_eq!(decoded.schema(), original.schema());
}

fn assert_same_scan(decoded: &PcapScanExec, original: &PcapScanExec) {
    assert_eq!(decoded.rows(), original.rows());
    assert_eq!(decoded.files(), original.files());
    assert_eq!(decoded.options(), original.options());
    assert_eq!(decoded.schema(), original.schema());
    assert_eq!(
        decoded.properties().output_partitioning().partition_count(),
        original
            .properties()
            .output_partitioning()
            .partition_count()
    );
    assert_eq!(
        displayable(decoded).one_line().to_string(),
        displayable(original).one_line().to_string()
    );
}

#[tokio::test]
async fn capture_tables_round_trip_for_flows_and_packets() {
    let codec = FlowqLogicalCodec::default();
    let ctx = bare();
    for options in option_sets() {
        for rows in [Rows::Flows, Rows::Packets] {
            let table = PcapTable::new(rows, vec![sample(), "/shared/a b.pcapng".into()], options);
            let name = TableReference::bare("flows");
            let mut buf = Vec::new();
            codec
                .try_encode_table_provider(&name, Arc::new(table.clone()), &mut buf)
                .unwrap();
            let (kind, _) = wire::open(&buf).unwrap().expect("a flowq envelope");
            assert_eq!(kind, Kind::PcapTable);
            assert_eq!(&buf[5..7], &VERSION.to_be_bytes());

            let decoded = codec
                .try_decode_table_provider(&buf, &name, table.schema(), &ctx.task_ctx())
                .unwrap();
            let decoded = decoded.downcast_ref::<PcapTable>().expect("a PcapTable");
            assert_same_table(decoded, &table);
        }
    }
}

#[tokio::test]
async fn a_table_planned_with_other_columns_is_refused() {
    let codec = FlowqLogicalCodec::default();
    let full = ExtractOptions {
        profile: Profile::Full,
        ..ExtractOptions::default()
    };
    let table = PcapTable::new(Rows::Flows, vec![sample()], full);
    let standard = PcapTable::new(Rows::Flows, vec![sample()], ExtractOptions::default());
    let name = TableReference::bare("flows");
    let mut buf = Vec::new();
    codec
        .try_encode_table_provider(&name, Arc::new(table), &mut buf)
        .unwrap();
    let error = codec
        .try_decode_table_provider(&buf, &name, standard.schema(), &bare().task_ctx())
        .unwrap_err()
        .to_string();
    assert!(error.contains("other columns"), "{error}");
}

#[tokio::test]
async fn capture_scans_round_trip_with_projections() {
    let codec = FlowqPhysicalCodec::default();
    let converter = DefaultPhysicalProtoConverter {};
    let ctx = bare();
    for options in option_sets() {
        for rows in [Rows::Flows, Rows::Packets] {
            let table = PcapTable::new(rows, vec![sample(), sample(), sample()], options);
            let capture = table.schema().index_of(CAPTURE_COLUMN).unwrap();
            for projection in [None, Some(vec![capture, 2, 0]), Some(vec![1]), Some(vec![])] {
                let scan = Arc::new(table.scan_exec(projection.as_deref()).unwrap());
                let mut buf = Vec::new();
                codec
                    .try_encode(Arc::clone(&scan) as _, &mut buf, &converter)
                    .unwrap();
                assert_eq!(wire::open(&buf).unwrap().unwrap().0, Kind::PcapScan);
                let decoded = codec
                    .try_decode(&buf, &[], &ctx.task_ctx(), &converter)
                    .unwrap();
                let decoded = decoded
                    .downcast_ref::<PcapScanExec>()
                    .expect("a PcapScanExec");
                assert_same_scan(decoded, &scan);
            }
        }
    }
}

#[tokio::test]
async fn an_executors_codec_names_it_in_its_scans() {
    let codec = FlowqPhysicalCodec::default().at("executor 10.0.0.7:50051");
    let converter = DefaultPhysicalProtoConverter {};
    let table = PcapTable::new(
        Rows::Flows,
        vec!["/nowhere/x.pcap".into()],
        Default::default(),
    );
    let mut buf = Vec::new();
    codec
        .try_encode(
            Arc::new(table.scan_exec(None).unwrap()),
            &mut buf,
            &converter,
        )
        .unwrap();
    let ctx = bare();
    let decoded = codec
        .try_decode(&buf, &[], &ctx.task_ctx(), &converter)
        .unwrap();
    assert!(decoded.downcast_ref::<PcapScanExec>().is_some());
    let error = collect(decoded, ctx.task_ctx())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("/nowhere/x.pcap"), "{error}");
    assert!(error.contains("on executor 10.0.0.7:50051"), "{error}");
}

#[tokio::test]
async fn newer_and_damaged_payloads_are_clear_errors() {
    let codec = FlowqPhysicalCodec::default();
    let converter = DefaultPhysicalProtoConverter {};
    let table = PcapTable::new(Rows::Flows, vec![sample()], Default::default());
    let mut buf = Vec::new();
    codec
        .try_encode(
            Arc::new(table.scan_exec(None).unwrap()),
            &mut buf,
            &converter,
        )
        .unwrap();
    let ctx = bare();

    let mut newer = buf.clone();
    newer[5..7].copy_from_slice(&(VERSION + 1).to_be_bytes());
    let error = codec
        .try_decode(&newer, &[], &ctx.task_ctx(), &converter)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("wire version {}", VERSION + 1)),
        "{error}"
    );

    let renamed = String::from_utf8(buf[8..].to_vec())
        .unwrap()
        .replace("\"src_ip\"", "\"source_ip\"");
    let mut damaged = Vec::new();
    wire::seal(Kind::PcapScan, renamed.as_bytes(), &mut damaged);
    let error = codec
        .try_decode(&damaged, &[], &ctx.task_ctx(), &converter)
        .unwrap_err()
        .to_string();
    assert!(error.contains("`source_ip`"), "{error}");

    let mut truncated = Vec::new();
    wire::seal(Kind::PcapScan, &buf[8..20], &mut truncated);
    assert!(
        codec
            .try_decode(&truncated, &[], &ctx.task_ctx(), &converter)
            .is_err()
    );

    let mut table_here = Vec::new();
    wire::seal(Kind::PcapTable, b"{}", &mut table_here);
    let error = codec
        .try_decode(&table_here, &[], &ctx.task_ctx(), &converter)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("PcapTable where a execution plan"),
        "{error}"
    );
}

#[tokio::test]
async fn ballista_nodes_pass_through_in_an_envelope() {
    let codec = FlowqPhysicalCodec::default();
    let converter = DefaultPhysicalProtoConverter {};
    let table = PcapTable::new(Rows::Flows, vec![sample(), sample()], Default::default());
    let scan: Arc<dyn ExecutionPlan> = Arc::new(table.scan_exec(Some(&[0, 1])).unwrap());
    let writer: Arc<dyn ExecutionPlan> = Arc::new(
        ShuffleWriterExec::try_new(JobId::new("job"), 3, Arc::clone(&scan), "/tmp/w".into())
            .unwrap(),
    );
    let bytes = physical_plan_to_bytes_with_extension_codec(Arc::clone(&writer), &codec).unwrap();
    let decoded =
        physical_plan_from_bytes_with_extension_codec(&bytes, &bare().task_ctx(), &codec).unwrap();
    assert_eq!(
        displayable(decoded.as_ref()).indent(true).to_string(),
        displayable(writer.as_ref()).indent(true).to_string()
    );
    assert!(decoded.downcast_ref::<ShuffleWriterExec>().is_some());
    let child = decoded.children()[0];
    assert_same_scan(
        child.downcast_ref::<PcapScanExec>().unwrap(),
        scan.downcast_ref::<PcapScanExec>().unwrap(),
    );

    // A payload of Ballista's own codec, without flowq's envelope, still decodes.
    let mut raw = Vec::new();
    ballista_core::serde::BallistaPhysicalExtensionCodec::default()
        .try_encode(Arc::clone(&writer), &mut raw, &converter)
        .unwrap();
    assert!(wire::open(&raw).unwrap().is_none());
    let again = codec
        .try_decode(&raw, &[Arc::clone(&scan)], &bare().task_ctx(), &converter)
        .unwrap();
    assert!(again.downcast_ref::<ShuffleWriterExec>().is_some());
}

/// The statements of the saved queries and a few more that use every table
/// kind and flowq's functions.
fn queries() -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = std::fs::read_dir(repo().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        // Queries over labelled datasets read Parquet listings (Ballista's own
        // codecs, no flowq node); tests/distributed.rs runs them on a cluster.
        .filter(|(_, sql)| !sql.contains("\n-- Needs: a labelled dataset"))
        .collect();
    all.sort();
    assert!(all.len() >= 8, "the saved queries are missing");
    for (name, sql) in [
        (
            "capture scan",
            "select capture, count(*) as n, sum(byte_count) as b from flows group by capture order by capture",
        ),
        (
            "packets",
            "select protocol, count(*) as n from packets group by protocol order by protocol",
        ),
        (
            "functions",
            "select src_ip, is_private(src_ip) as p, ip_version(src_ip) as v, ip_to_int(src_ip) as i, cidr_match(dst_ip, '10.0.0.0/8') as c, service_name(dst_port, protocol) as s from flows order by flow_id, capture limit 50",
        ),
        (
            "join with csv",
            "select h.ip, h.role, count(f.flow_id) as n from hosts h left join flows f on f.src_ip = h.ip group by h.ip, h.role order by h.ip",
        ),
    ] {
        all.push((name.to_string(), sql.to_string()));
    }
    all
}

fn has_node(plan: &Arc<dyn ExecutionPlan>, name: &str) -> bool {
    plan.name() == name || plan.children().into_iter().any(|c| has_node(c, name))
}

/// The capture scans of a plan, depth first.
fn scans(plan: &Arc<dyn ExecutionPlan>) -> Vec<&PcapScanExec> {
    let mut found: Vec<&PcapScanExec> = plan.downcast_ref::<PcapScanExec>().into_iter().collect();
    for child in plan.children() {
        found.extend(scans(child));
    }
    found
}

async fn sorted_text(plan: Arc<dyn ExecutionPlan>, ctx: &SessionContext) -> String {
    let batches = collect(plan, ctx.task_ctx()).await.unwrap();
    let text = pretty_format_batches(&batches).unwrap().to_string();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// Run on a thread with a 16 MiB stack: the plans of the longer saved
/// queries (nested CTEs, joins and window functions: top_server_names,
/// dns_long_names) recurse deeper while being protobuf-encoded and decoded
/// than a test thread's 2 MiB allow in a debug build (3 MiB is enough; a
/// release build's frames are smaller).
#[test]
fn plans_of_the_saved_queries_round_trip() {
    let thread = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(round_trip_the_saved_queries_plans());
        })
        .expect("a test thread");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

async fn round_trip_the_saved_queries_plans() {
    let ctx = session(ExtractOptions::default()).await;
    let logical = FlowqLogicalCodec::default();
    let physical = FlowqPhysicalCodec::default();
    for (name, sql) in queries() {
        let frame = ctx
            .sql(&sql)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let plan: LogicalPlan = frame.logical_plan().clone();
        let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &logical)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let back =
            logical_plan_from_bytes_with_extension_codec(&bytes, &bare().task_ctx(), &logical)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            back.display_indent_schema().to_string(),
            plan.display_indent_schema().to_string(),
            "{name}"
        );
        // Every capture table in the plan comes back a capture table.
        plan.apply(|node| {
            if let LogicalPlan::TableScan(scan) = node
                && let Ok(provider) = source_as_provider(&scan.source)
                && provider.downcast_ref::<PcapTable>().is_some()
            {
                let mut found = false;
                back.apply(|other| {
                    if let LogicalPlan::TableScan(s) = other
                        && s.table_name == scan.table_name
                    {
                        let p = source_as_provider(&s.source).unwrap();
                        assert_same_table(
                            p.downcast_ref::<PcapTable>().expect("a PcapTable"),
                            provider.downcast_ref::<PcapTable>().unwrap(),
                        );
                        found = true;
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
                .unwrap();
                assert!(found, "{name}: {} lost", scan.table_name);
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .unwrap();

        let exec = frame.create_physical_plan().await.unwrap();
        let bytes = physical_plan_to_bytes_with_extension_codec(Arc::clone(&exec), &physical)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let decoded =
            physical_plan_from_bytes_with_extension_codec(&bytes, &bare().task_ctx(), &physical)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        // datafusion-proto re-plans a union's type coercion as an extra
        // projection; everything else must come back as it was.
        if !has_node(&exec, "UnionExec") {
            assert_eq!(
                displayable(decoded.as_ref()).indent(true).to_string(),
                displayable(exec.as_ref()).indent(true).to_string(),
                "{name}"
            );
        }
        let (before, after) = (scans(&exec), scans(&decoded));
        assert!(!before.is_empty(), "{name}: no capture scan planned");
        assert_eq!(before.len(), after.len(), "{name}");
        for (b, a) in before.iter().zip(&after) {
            assert_same_scan(a, b);
        }
        assert_eq!(
            sorted_text(decoded, &bare()).await,
            sorted_text(exec, &ctx).await,
            "{name}: the decoded plan gives other rows"
        );
    }
}

/// The scheduler's plan of a capture scan over `files`.
async fn cluster_scan(
    files: Vec<PathBuf>,
    projection: Option<Vec<usize>>,
) -> Arc<dyn ExecutionPlan> {
    let table = ClusterPcapTable::new(PcapTable::new(Rows::Flows, files, Default::default()));
    let ctx = bare();
    table
        .scan(&ctx.state(), projection.as_ref(), &[], None)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_schedulers_scan_round_trips_with_its_paths() {
    let codec = FlowqPhysicalCodec::default();
    let capture = PcapTable::new(Rows::Flows, vec![], Default::default())
        .schema()
        .index_of(CAPTURE_COLUMN)
        .unwrap();
    for projection in [None, Some(vec![capture, 3, 1])] {
        let plan = cluster_scan(vec![sample(), sample(), sample()], projection).await;
        assert_eq!(plan.properties().output_partitioning().partition_count(), 3);
        let bytes = physical_plan_to_bytes_with_extension_codec(Arc::clone(&plan), &codec).unwrap();
        let decoded =
            physical_plan_from_bytes_with_extension_codec(&bytes, &bare().task_ctx(), &codec)
                .unwrap();
        assert_eq!(
            displayable(decoded.as_ref()).indent(true).to_string(),
            displayable(plan.as_ref()).indent(true).to_string()
        );
        let (before, after) = (
            plan.downcast_ref::<PcapFilesExec>().unwrap(),
            decoded.downcast_ref::<PcapFilesExec>().unwrap(),
        );
        assert_eq!(after.rows(), before.rows());
        assert_eq!(after.options(), before.options());
        assert_eq!(after.schema(), before.schema());
        assert_eq!(
            sorted_text(decoded, &bare()).await,
            sorted_text(plan, &bare()).await
        );
    }
}

#[tokio::test]
async fn a_task_extracts_only_its_own_captures() {
    // Ballista runs every partition of the plan a task is sent, after cutting
    // the plan's leaves down to the task's partitions.
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..4)
        .map(|i| {
            let path = dir.path().join(format!("c{i}.pcap"));
            std::fs::copy(sample(), &path).unwrap();
            path
        })
        .collect();
    let plan = cluster_scan(files.clone(), None).await;
    let task = ballista_scheduler::state::task_builder::restrict_plan_to_partitions(
        Arc::clone(&plan),
        &[1, 3],
    )
    .unwrap();
    assert_eq!(task.properties().output_partitioning().partition_count(), 2);
    let ctx = bare();
    let mut captures = Vec::new();
    for partition in 0..2 {
        let stream = task.execute(partition, ctx.task_ctx()).unwrap();
        let batches: Vec<_> = futures::TryStreamExt::try_collect(stream).await.unwrap();
        let mut names: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column_by_name(CAPTURE_COLUMN).unwrap();
                let text = datafusion::arrow::compute::cast(
                    column,
                    &datafusion::arrow::datatypes::DataType::Utf8,
                )
                .unwrap();
                let text = text
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::StringArray>()
                    .unwrap()
                    .clone();
                (0..text.len())
                    .map(move |i| text.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        names.dedup();
        captures.push(names);
    }
    let name = |i: usize| files[i].display().to_string();
    assert_eq!(captures, vec![vec![name(1)], vec![name(3)]]);
}

#[tokio::test]
async fn the_scheduler_decodes_capture_tables_for_cluster_scans() {
    let codec = FlowqLogicalCodec::default().for_scheduler();
    let table = PcapTable::new(Rows::Packets, vec![sample()], Default::default());
    let name = TableReference::bare("packets");
    let mut buf = Vec::new();
    codec
        .try_encode_table_provider(&name, Arc::new(table.clone()), &mut buf)
        .unwrap();
    let decoded = codec
        .try_decode_table_provider(&buf, &name, table.schema(), &bare().task_ctx())
        .unwrap();
    let cluster = decoded
        .downcast_ref::<ClusterPcapTable>()
        .expect("a ClusterPcapTable");
    assert_same_table(cluster.table(), &table);
    // And it encodes again as the table it wraps.
    let mut again = Vec::new();
    codec
        .try_encode_table_provider(&name, decoded, &mut again)
        .unwrap();
    assert_eq!(again, buf);
}
