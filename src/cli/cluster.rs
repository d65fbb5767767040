//! `flowq scheduler`, `flowq executor` and `flowq query --cluster`: thin
//! wrappers over [`crate::distributed`], which the `distributed` feature
//! builds. Without it the commands exist but say how to get them.

use super::args::{ExecutorArgs, SchedulerArgs};
use crate::sql::{Registered, Sources};
use datafusion::prelude::SessionContext;

#[cfg(feature = "distributed")]
mod enabled {
    use super::*;
    use crate::cli::exit;
    use crate::distributed::{client, logging, server};

    pub fn scheduler(args: SchedulerArgs) -> anyhow::Result<u8> {
        logging::init().map_err(anyhow::Error::msg)?;
        let options = server::SchedulerOptions {
            bind: args.bind,
            external_host: args.external_host,
        };
        super::super::query::runtime()?.block_on(server::run_scheduler(options))?;
        Ok(exit::OK)
    }

    pub fn executor(args: ExecutorArgs) -> anyhow::Result<u8> {
        logging::init().map_err(anyhow::Error::msg)?;
        let (scheduler_host, scheduler_port) =
            server::host_port(&args.scheduler).map_err(|e| anyhow::anyhow!("--scheduler: {e}"))?;
        let grpc_port = match args.grpc_port {
            Some(port) => port,
            None => args.bind.port().checked_add(1).ok_or_else(|| {
                anyhow::anyhow!(
                    "--bind port {} leaves no room for the gRPC port; give --grpc-port",
                    args.bind.port()
                )
            })?,
        };
        let options = server::ExecutorOptions {
            scheduler_host,
            scheduler_port,
            bind: args.bind,
            grpc_port,
            external_host: args.external_host,
            concurrency: args.concurrency.map_or(0, usize::from),
            work_dir: args.work_dir,
            connect_timeout_seconds: args.connect_timeout,
        };
        super::super::query::runtime()?.block_on(server::run_executor(options))?;
        Ok(exit::OK)
    }

    pub async fn session(
        cluster: &str,
        sources: &Sources,
    ) -> anyhow::Result<(SessionContext, Registered)> {
        client::session(cluster, sources).await
    }
}

#[cfg(not(feature = "distributed"))]
mod enabled {
    use super::*;

    const MISSING: &str = "this flowq was built without cluster support; \
        build it with `cargo build --release --features distributed` (docs/distributed.md)";

    pub fn scheduler(_: SchedulerArgs) -> anyhow::Result<u8> {
        anyhow::bail!(MISSING)
    }

    pub fn executor(_: ExecutorArgs) -> anyhow::Result<u8> {
        anyhow::bail!(MISSING)
    }

    pub async fn session(_: &str, _: &Sources) -> anyhow::Result<(SessionContext, Registered)> {
        anyhow::bail!("--cluster: {MISSING}")
    }
}

pub use enabled::{executor, scheduler, session};

/// A failed cluster job's message without Ballista's wrapping: Ballista passes
/// an executor's error on as the `Debug` text of nested error values
/// (`...Task failed ...: DataFusionError(Shared(External(...("the message"))))`).
pub fn tidy_error(error: anyhow::Error) -> anyhow::Error {
    let text = format!("{error:#}");
    let job = text
        .split_once("Job ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .filter(|_| text.contains(" failed"))
        .map(|id| format!(" (job {id})"));
    let Some(job) = job else {
        return error;
    };
    let Some(start) = text.rfind("(\"").map(|i| i + 2) else {
        return error;
    };
    let Some(length) = text[start..].find("\")") else {
        return error;
    };
    let message = text[start..start + length]
        .replace("\\\"", "\"")
        .replace("\\\\", "\\");
    anyhow::anyhow!("the cluster could not run the query{job}: {message}")
}

#[cfg(test)]
mod tests {
    use super::tidy_error;

    #[test]
    fn ballista_wrapping_is_removed() {
        let raw = anyhow::anyhow!(
            "Execution error: Job 038HH7D41A000 failed: Job failed due to stage 0 failed: Task failed \
             due to runtime execution error: DataFusionError(Shared(External(DataFusionError(Execution(\
             \"cannot read capture /x/b.pcap on executor 10.0.0.2:50051: not a \\\"capture\\\"\")))))"
        );
        assert_eq!(
            tidy_error(raw).to_string(),
            "the cluster could not run the query (job 038HH7D41A000): cannot read capture /x/b.pcap \
             on executor 10.0.0.2:50051: not a \"capture\""
        );
        let plain = anyhow::anyhow!("table 'x' not found");
        assert_eq!(tidy_error(plain).to_string(), "table 'x' not found");
    }
}
