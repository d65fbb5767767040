//! `flowq query --cluster`: a session whose queries run on a Ballista cluster.

use super::codec::{FlowqLogicalCodec, FlowqPhysicalCodec};
use super::server::host_port;
use crate::sql::{self, Registered, Sources};
use anyhow::Context;
use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use datafusion::prelude::{SessionConfig, SessionContext};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long the scheduler gets to accept a connection before the query fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The scheduler's gRPC URL for `--cluster` text (`df://HOST:PORT` or
/// `HOST:PORT`).
pub fn scheduler_url(cluster: &str) -> anyhow::Result<(String, u16, String)> {
    if let Some((scheme, _)) = cluster.split_once("://")
        && scheme != "df"
    {
        anyhow::bail!("--cluster takes df://HOST:PORT, not a {scheme}:// URL");
    }
    let (host, port) = host_port(cluster).map_err(|e| anyhow::anyhow!("--cluster: {e}"))?;
    let url = if host.contains(':') {
        format!("http://[{host}]:{port}")
    } else {
        format!("http://{host}:{port}")
    };
    Ok((host, port, url))
}

/// A session over `sources` whose queries the cluster at `cluster` runs. Tables
/// are planned here, so the paths must be readable here as well as on the
/// scheduler and executors (the same shared mount everywhere).
pub async fn session(
    cluster: &str,
    sources: &Sources,
) -> anyhow::Result<(SessionContext, Registered)> {
    let (host, port, url) = scheduler_url(cluster)?;
    // Ballista only finds out at the first query, with a gRPC message that does
    // not say where it tried.
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out"))
    .and_then(|connected| connected.map_err(anyhow::Error::from))
    .with_context(|| {
        format!(
            "cannot reach the scheduler at df://{host}:{port} (is `flowq scheduler` running there?)"
        )
    })?;
    // Relative paths mean other files (or none) on other machines; resolved
    // here, the same shared mount works from any working directory on it.
    let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let sources = Sources {
        data: sources.data.iter().map(absolute).collect(),
        tables: sources
            .tables
            .iter()
            .map(|(name, path)| (name.clone(), absolute(path)))
            .collect(),
        pcap: sources.pcap.iter().map(absolute).collect(),
        ..sources.clone()
    };
    let config = SessionConfig::new_with_ballista()
        .with_information_schema(true)
        .with_ballista_job_name("flowq query")
        // Ballista 55's adaptive planner re-plans stages as they finish; on
        // plans such as queries/port_scan.sql (a union under an ORDER BY) the
        // re-planned stage fails DataFusion's sanity check and the job then
        // hangs instead of failing. The static planner runs them.
        .with_ballista_adaptive_query_planner(false)
        .with_ballista_logical_extension_codec(Arc::new(FlowqLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(FlowqPhysicalCodec::default()));
    sql::session_with(&sources, config, move |state| {
        state.upgrade_for_ballista(url)
    })
    .await
}
