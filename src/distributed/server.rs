//! The cluster processes: a Ballista scheduler and Ballista executors with
//! flowq's codecs and functions.

use super::codec::{FlowqLogicalCodec, FlowqPhysicalCodec};
use crate::sql::udf;
use anyhow::{Context, bail};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::SessionState;
use datafusion::prelude::SessionConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a scheduler listens.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// gRPC (and health probe) address.
    pub bind: SocketAddr,
    /// The host name executors and clients use to reach the scheduler, when
    /// it is not the bind address (e.g. `--bind 0.0.0.0:50050`).
    pub external_host: Option<String>,
}

/// The scheduler's sessions: Ballista's defaults plus flowq's functions, which
/// the scheduler needs to decode and plan the queries clients send.
fn scheduler_session(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let mut state = default_session_builder(config)?;
    for function in udf::functions() {
        state.register_udf(Arc::new(function))?;
    }
    Ok(state)
}

/// Runs a scheduler until SIGINT or SIGTERM.
pub async fn run_scheduler(options: SchedulerOptions) -> anyhow::Result<()> {
    let bind = options.bind;
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        external_host: options
            .external_host
            .clone()
            .unwrap_or_else(|| bind.ip().to_string()),
        override_logical_codec: Some(Arc::new(FlowqLogicalCodec::default().for_scheduler())),
        override_physical_codec: Some(Arc::new(FlowqPhysicalCodec::default())),
        override_session_builder: Some(Arc::new(scheduler_session)),
        ..SchedulerConfig::default()
    };
    // Bind here first: Ballista reports a taken port only as a log line.
    drop(
        std::net::TcpListener::bind(bind)
            .with_context(|| format!("the scheduler cannot listen on {bind}"))?,
    );
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| anyhow::anyhow!("cannot set up the scheduler's state: {e}"))?;
    eprintln!(
        "flowq scheduler: listening on {bind}; clients use --cluster df://{}:{}",
        config.external_host,
        bind.port()
    );
    tokio::select! {
        served = start_server(cluster, bind, Arc::new(config)) => {
            served.map_err(|e| anyhow::anyhow!("the scheduler stopped: {e}"))?;
        }
        signal = shutdown_signal() => {
            eprintln!("flowq scheduler: {}, stopping", signal?);
        }
    }
    Ok(())
}

/// What an executor connects to and how much it runs.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's gRPC address.
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Arrow Flight address (shuffle data and results are fetched here).
    pub bind: SocketAddr,
    /// Port of the gRPC service the scheduler pushes tasks to.
    pub grpc_port: u16,
    /// The host name others use to reach this executor.
    pub external_host: Option<String>,
    /// Tasks run at once (0 = one per core).
    pub concurrency: usize,
    /// Where shuffle files go (default: a new temporary directory).
    pub work_dir: Option<PathBuf>,
    /// Seconds to keep trying to reach the scheduler at start.
    pub connect_timeout_seconds: u16,
}

/// The executors' functions: DataFusion's and Ballista's, DataFusion's array
/// functions (`string_to_array`, `array_length`, ...: local sessions have them,
/// and Ballista's default registry does not), plus flowq's (under their
/// aliases too), which the tasks' plans refer to by name.
fn executor_functions() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    let nested = datafusion::functions_nested::all_default_nested_functions();
    let flowq = udf::functions().into_iter().map(Arc::new);
    for function in nested.into_iter().chain(flowq) {
        for name in
            std::iter::once(function.name()).chain(function.aliases().iter().map(|a| a.as_str()))
        {
            registry
                .scalar_functions
                .insert(name.to_string(), Arc::clone(&function));
        }
    }
    registry
}

/// Runs an executor until SIGINT or SIGTERM (handled by Ballista, which tells
/// the scheduler it is leaving).
pub async fn run_executor(options: ExecutorOptions) -> anyhow::Result<()> {
    let bind = options.bind;
    if options.grpc_port == bind.port() {
        bail!(
            "the executor's gRPC port {} is its Flight port too; choose another --grpc-port",
            options.grpc_port
        );
    }
    for port in [bind.port(), options.grpc_port] {
        let address = SocketAddr::new(bind.ip(), port);
        drop(
            std::net::TcpListener::bind(address)
                .with_context(|| format!("the executor cannot listen on {address}"))?,
        );
    }
    let advertised = options
        .external_host
        .clone()
        .unwrap_or_else(|| bind.ip().to_string());
    if options.external_host.is_none() && bind.ip().is_unspecified() {
        bail!(
            "--bind {bind} listens on every interface; give --external-host NAME so that \
             the scheduler and the other executors know where to reach this one"
        );
    }
    // Unique per machine and readable in error messages.
    let id = format!("{advertised}:{}", bind.port());
    // Owned here so that shuffle files go away with the executor.
    let temporary = match &options.work_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("flowq-executor-")
                .tempdir()
                .context("cannot create the executor's work directory")?,
        ),
    };
    let work_dir = match (&options.work_dir, &temporary) {
        (Some(dir), _) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the work directory {}", dir.display()))?;
            dir.clone()
        }
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("a temporary directory is made when none is given"),
    };
    let work_dir = work_dir
        .to_str()
        .with_context(|| format!("the work directory {} is not UTF-8", work_dir.display()))?
        .to_string();
    let concurrency = if options.concurrency == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        options.concurrency
    };
    let config = ExecutorProcessConfig {
        executor_id: id.clone(),
        bind_host: bind.ip().to_string(),
        external_host: options.external_host.clone(),
        port: bind.port(),
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        scheduler_connect_timeout_seconds: options.connect_timeout_seconds,
        vcores: concurrency,
        work_dir: Some(work_dir.clone()),
        override_function_registry: Some(Arc::new(executor_functions())),
        override_logical_codec: Some(Arc::new(FlowqLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(
            FlowqPhysicalCodec::default().at(format!("executor {id}")),
        )),
        ..ExecutorProcessConfig::default()
    };
    eprintln!(
        "flowq executor {id}: {concurrency} task(s) at once, Flight on {bind}, gRPC on port {}, \
         scheduler {}:{}, work directory {work_dir}",
        options.grpc_port, options.scheduler_host, options.scheduler_port
    );
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| anyhow::anyhow!("executor {id}: {e}"))?;
    eprintln!("flowq executor {id}: stopped");
    drop(temporary);
    Ok(())
}

/// Waits for SIGINT or SIGTERM and says which.
async fn shutdown_signal() -> anyhow::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Ok("interrupted"),
            _ = term.recv() => Ok("terminated"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot watch Ctrl-C")?;
        Ok("interrupted")
    }
}

/// Splits `HOST:PORT` (or `df://HOST:PORT`, as `--cluster` takes it).
pub fn host_port(text: &str) -> Result<(String, u16), String> {
    let bare = text
        .strip_prefix("df://")
        .unwrap_or(text)
        .trim_end_matches('/');
    let (host, port) = bare
        .rsplit_once(':')
        .ok_or_else(|| format!("`{text}` is not HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains('/') {
        return Err(format!("`{text}` has no host name"));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("`{port}` in `{text}` is not a port number (1-65535)"))?;
    Ok((host.to_string(), port))
}
