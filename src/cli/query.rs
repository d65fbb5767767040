//! `flowq query` (and `flowq "SQL"`): run SQL statements over flows.

use super::args::{QueryArgs, ResultFormatArg, SourceArgs};
use super::exit;
use crate::sql::output::{self, ResultFormat};
use crate::sql::{self, Registered, Sources};
use anyhow::{Context, bail};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParser, Statement};
use flowq_extract::sink::{OutputFormat, OutputTarget};
use std::io::IsTerminal;
use std::path::Path;

pub fn run(args: QueryArgs) -> anyhow::Result<u8> {
    runtime()?.block_on(run_async(args))
}

/// A multi-threaded runtime: DataFusion runs partitions (capture files) in parallel.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the query runtime")
}

/// The table sources chosen on the command line.
pub fn sources_of(args: &SourceArgs) -> anyhow::Result<Sources> {
    Ok(Sources {
        data: args.data.clone(),
        tables: args.table.clone(),
        pcap: args.pcap.clone(),
        extract: super::extract::extract_options(&args.flow)?,
    })
}

async fn run_async(args: QueryArgs) -> anyhow::Result<u8> {
    let on_cluster = args.cluster.is_some();
    run_statements(args).await.map_err(|e| match on_cluster {
        true => super::cluster::tidy_error(e),
        false => e,
    })
}

async fn run_statements(args: QueryArgs) -> anyhow::Result<u8> {
    let text = match (&args.sql, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        (None, None) => bail!("give a SQL statement or -f FILE.sql"),
    };
    let (target, format) = result_target(args.output.as_deref(), args.format)?;
    let sources = sources_of(&args.sources)?;
    let (ctx, registered) = match &args.cluster {
        Some(cluster) => super::cluster::session(cluster, &sources).await?,
        None => sql::session(&sources).await?,
    };
    let statements = parse(&text)?;
    if statements.is_empty() {
        bail!("no SQL statement found");
    }
    for statement in statements {
        let plan = plan(&ctx, statement, &registered).await?;
        let silent = matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Statement(_));
        let frame = ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| explain(e, &ctx, &registered))?;
        if silent {
            frame.collect().await?;
            continue;
        }
        let stream = frame
            .execute_stream()
            .await
            .map_err(|e| explain(e, &ctx, &registered))?;
        let written = output::write(stream, format, &target, args.maxrows).await?;
        if written.broken_pipe {
            return Ok(exit::OK);
        }
    }
    Ok(exit::OK)
}

/// Splits a text into statements with DataFusion's parser (comments and quoted
/// semicolons are handled); a syntax error carries the line and column.
pub fn parse(text: &str) -> anyhow::Result<Vec<Statement>> {
    let statements =
        DFParser::parse_sql(text).map_err(|e| anyhow::anyhow!("SQL syntax error: {e}"))?;
    Ok(statements.into_iter().collect())
}

/// Plans one statement, turning "not found" errors into messages that list what exists.
pub async fn plan(
    ctx: &SessionContext,
    statement: Statement,
    registered: &Registered,
) -> anyhow::Result<LogicalPlan> {
    ctx.state()
        .statement_to_plan(statement)
        .await
        .map_err(|e| explain(e, ctx, registered))
}

/// Adds what exists to errors about tables that do not.
pub fn explain(
    e: datafusion::error::DataFusionError,
    ctx: &SessionContext,
    registered: &Registered,
) -> anyhow::Error {
    let message = e.to_string();
    let lower = message.to_ascii_lowercase();
    if lower.contains("table") && lower.contains("not found") {
        let mut names = table_names(ctx);
        names.sort();
        let mut text = format!(
            "{message}\n  tables: {}",
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            }
        );
        if let Err(looked) = &registered.flows {
            text.push_str(&format!("\n  {looked}"));
        }
        return anyhow::anyhow!(text);
    }
    anyhow::anyhow!(message)
}

/// Names of the user's tables.
pub fn table_names(ctx: &SessionContext) -> Vec<String> {
    ctx.catalog("datafusion")
        .and_then(|c| c.schema("public"))
        .map(|s| s.table_names())
        .unwrap_or_default()
}

fn result_target(
    output: Option<&Path>,
    format: Option<ResultFormatArg>,
) -> anyhow::Result<(OutputTarget, ResultFormat)> {
    let explicit = format.map(|f| match f {
        ResultFormatArg::Table => ResultFormat::Table,
        ResultFormatArg::Csv => ResultFormat::File(OutputFormat::Csv),
        ResultFormatArg::Json => ResultFormat::File(OutputFormat::Json),
        ResultFormatArg::Ndjson => ResultFormat::File(OutputFormat::NdJson),
        ResultFormatArg::Parquet => ResultFormat::File(OutputFormat::Parquet),
        ResultFormatArg::Arrow => ResultFormat::File(OutputFormat::Arrow),
    });
    let Some(path) = output.filter(|p| p.as_os_str() != "-") else {
        let on_terminal = std::io::stdout().is_terminal();
        let format = explicit.unwrap_or(if on_terminal {
            ResultFormat::Table
        } else {
            ResultFormat::File(OutputFormat::Csv)
        });
        if on_terminal
            && matches!(
                format,
                ResultFormat::File(OutputFormat::Parquet | OutputFormat::Arrow)
            )
        {
            bail!("binary formats go to a file (-o FILE) or a pipe, not a terminal");
        }
        return Ok((OutputTarget::Stdout, format));
    };
    let format = match explicit {
        Some(f) => f,
        None => ResultFormat::File(OutputFormat::from_path(path).with_context(|| {
            format!(
                "cannot tell the format of {} from its extension; use --format",
                path.display()
            )
        })?),
    };
    Ok((OutputTarget::File(path.to_path_buf()), format))
}
