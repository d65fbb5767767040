//! `flowq scheduler`, `flowq executor` and `flowq query --cluster`: thin
//! wrappers over [`crate::distributed`], which the `distributed` feature
//! builds. Without it the commands exist but say how to get them.

use super::args::{ExecutorArgs, SchedulerArgs};
use crate::sql::{Registered, Sources};
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
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

/// A failed cluster job's error as the executor's message and the job id,
/// without Ballista's wrapping; any other error is returned as it is.
///
/// Ballista's client reports a failed job as
/// `DataFusionError::Execution("Job {id} failed: {reason}")`, which DataFusion
/// may wrap (`Context`, `Shared`, `External`, Arrow's `ExternalError`, a
/// `BallistaError::DataFusionError`) on its way out of the result stream: the
/// error is found by walking those variants, not by searching its text. The
/// executor's own error crosses the network only as text, in `reason`: Ballista
/// sends it as the `Debug` form of the executor's `BallistaError`
/// (`FailedTask::from`), so the message is the last string literal in it
/// (the innermost error's), read with Rust's escapes.
pub fn tidy_error(error: anyhow::Error) -> anyhow::Error {
    let failure = error
        .chain()
        .find_map(|cause| cause.downcast_ref().and_then(job_failure));
    let Some((job, reason)) = failure else {
        return error;
    };
    let Some(message) = debug_string_literals(reason).pop() else {
        return error;
    };
    anyhow::anyhow!("the cluster could not run the query (job {job}): {message}")
}

/// The job id and the reason of a job failure reported by Ballista's client,
/// looked for through the variants that wrap another error.
fn job_failure(error: &DataFusionError) -> Option<(&str, &str)> {
    match error {
        DataFusionError::Execution(message) => {
            let (job, reason) = message.strip_prefix("Job ")?.split_once(" failed: ")?;
            (!job.is_empty() && !job.contains(char::is_whitespace)).then_some((job, reason))
        }
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            job_failure(inner)
        }
        DataFusionError::Shared(inner) => job_failure(inner),
        DataFusionError::Collection(errors) => errors.iter().find_map(job_failure),
        DataFusionError::External(inner) => external_job_failure(inner.as_ref()),
        DataFusionError::ArrowError(arrow, _) => match arrow.as_ref() {
            ArrowError::ExternalError(inner) => external_job_failure(inner.as_ref()),
            _ => None,
        },
        _ => None,
    }
}

/// [`job_failure`] for an error carried as `dyn Error`.
fn external_job_failure<'a>(
    error: &'a (dyn std::error::Error + Send + Sync + 'static),
) -> Option<(&'a str, &'a str)> {
    if let Some(inner) = error.downcast_ref::<DataFusionError>() {
        return job_failure(inner);
    }
    #[cfg(feature = "distributed")]
    if let Some(ballista_core::error::BallistaError::DataFusionError(inner)) = error.downcast_ref()
    {
        return job_failure(inner);
    }
    None
}

/// The string literals in the `Debug` text of a value, unescaped, in order.
fn debug_string_literals(text: &str) -> Vec<String> {
    let mut literals = Vec::new();
    let mut chars = text.chars();
    while chars.by_ref().any(|c| c == '"') {
        let mut literal = String::new();
        loop {
            match chars.next() {
                None => return literals,
                Some('"') => break,
                Some('\\') => match chars.next() {
                    None => return literals,
                    Some('n') => literal.push('\n'),
                    Some('t') => literal.push('\t'),
                    Some('r') => literal.push('\r'),
                    Some('0') => literal.push('\0'),
                    Some('u') => {
                        let code: String =
                            chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                        let c = u32::from_str_radix(&code, 16).ok().and_then(char::from_u32);
                        literal.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    Some(other) => literal.push(other),
                },
                Some(c) => literal.push(c),
            }
        }
        literals.push(literal);
    }
    literals
}

#[cfg(test)]
mod tests {
    use super::{debug_string_literals, tidy_error};
    use datafusion::error::DataFusionError;

    #[cfg(feature = "distributed")]
    const MESSAGE: &str =
        "cannot read capture /x/b.pcap on executor 10.0.0.2:50051: not a \"capture\" (\\x)";

    /// The error a query on a cluster returns when a task fails with
    /// `executor_error`: the executor's error as Ballista sends it (its
    /// `Debug` text), in the scheduler's and the client's words
    /// (`execution_graph.rs` and `DistributedQueryExec`), wrapped the way
    /// DataFusion passes a stream's error on.
    #[cfg(feature = "distributed")]
    fn cluster_error(executor_error: DataFusionError) -> anyhow::Error {
        use ballista_core::error::BallistaError;
        use ballista_core::serde::protobuf::FailedTask;
        use datafusion::arrow::error::ArrowError;
        use std::sync::Arc;
        let task = FailedTask::from(BallistaError::from(executor_error));
        let reason = format!("Job failed due to stage 0 failed: {}\n", task.error);
        let client = DataFusionError::Execution(format!("Job 038HH7D41A000 failed: {reason}"));
        let wrapped = DataFusionError::ArrowError(
            Box::new(ArrowError::ExternalError(Box::new(
                DataFusionError::Shared(Arc::new(client)),
            ))),
            None,
        );
        anyhow::Error::new(wrapped).context("while running the query")
    }

    #[cfg(feature = "distributed")]
    #[test]
    fn ballista_wrapping_is_removed() {
        use std::sync::Arc;
        let expected =
            format!("the cluster could not run the query (job 038HH7D41A000): {MESSAGE}");
        // How a failed capture scan arrives from an executor: DataFusion
        // shares a partition's error between its consumers.
        let scan = DataFusionError::Shared(Arc::new(DataFusionError::External(Box::new(
            DataFusionError::Execution(MESSAGE.to_string()),
        ))));
        assert_eq!(tidy_error(cluster_error(scan)).to_string(), expected);
        let with_context = DataFusionError::Execution(MESSAGE.to_string()).context("scan");
        assert_eq!(
            tidy_error(cluster_error(with_context)).to_string(),
            expected
        );
        let plain = DataFusionError::Plan(MESSAGE.to_string());
        assert_eq!(tidy_error(cluster_error(plain)).to_string(), expected);
    }

    #[test]
    fn other_errors_are_left_alone() {
        let plain = anyhow::anyhow!("table 'x' not found");
        assert_eq!(tidy_error(plain).to_string(), "table 'x' not found");
        // The words of a job failure in a message that is not one.
        let lookalike = DataFusionError::Plan("Job 1 failed: (\"x\")".to_string());
        assert_eq!(
            tidy_error(anyhow::Error::new(lookalike)).to_string(),
            "Error during planning: Job 1 failed: (\"x\")"
        );
    }

    #[test]
    fn string_literals_are_read_with_their_escapes() {
        let text = format!("{:?}", ("a\"b", Some("c\\d\n\u{1}é")));
        assert_eq!(debug_string_literals(&text), ["a\"b", "c\\d\n\u{1}é"]);
        assert!(debug_string_literals("no literal").is_empty());
    }
}
