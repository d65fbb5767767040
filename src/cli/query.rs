//! `flowq query` (and `flowq "SQL"`): run SQL statements over flows.

use super::args::{QueryArgs, ResultFormatArg, SourceArgs};
use super::exit;
use crate::sql::output::{self, ResultFormat};
use crate::sql::{self, Registered, Sources};
use anyhow::{Context, bail};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::parser::ParserError;
use flowq_extract::sink::{OutputFormat, OutputTarget};
use std::io::IsTerminal;
use std::path::Path;

pub fn run(args: QueryArgs) -> anyhow::Result<u8> {
    runtime()?.block_on(run_async(args))
}

/// Stack of the runtime's worker threads. Planning, and on a cluster the
/// protobuf encoding and decoding of plans, recurse once per plan node: the
/// plan of a saved query with nested CTEs, joins and window functions
/// (queries/dns_long_names.sql) overflowed tokio's default 2 MiB in a debug
/// build of the scheduler (3 MiB was enough). 8 MiB, the main thread's usual
/// size, leaves room for longer user queries.
const WORKER_STACK_BYTES: usize = 8 << 20;

/// A multi-threaded runtime: DataFusion runs partitions (capture files) in parallel.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
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
        let plan = plan(&ctx, statement, &registered, &text).await?;
        let silent = matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Statement(_));
        let frame = ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| explain(e, &ctx, &registered, None))?;
        if silent {
            frame.collect().await?;
            continue;
        }
        let stream = frame
            .execute_stream()
            .await
            .map_err(|e| explain(e, &ctx, &registered, None))?;
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
    let statements = DFParser::parse_sql(text).map_err(|e| anyhow::anyhow!(describe(&e, text)))?;
    Ok(statements.into_iter().collect())
}

/// Plans one statement of `text`, turning "not found" errors into messages
/// that list what exists.
pub async fn plan(
    ctx: &SessionContext,
    statement: Statement,
    registered: &Registered,
    text: &str,
) -> anyhow::Result<LogicalPlan> {
    ctx.state()
        .statement_to_plan(statement)
        .await
        .map_err(|e| explain(e, ctx, registered, Some(text)))
}

/// An error as flowq prints it. A syntax error reads as SQL shells print
/// them: `SQL syntax error at line L, column C: MESSAGE` (not DataFusion's
/// `SQL error: ParserError("...")`). When the error points into `text` (a
/// syntax error, or a DataFusion diagnostic with a place), the line follows
/// with a caret under the column.
pub fn describe(e: &DataFusionError, text: &str) -> String {
    let (message, position) = match syntax_error(e) {
        Some((message, position)) => {
            // "found: EOF" has no place of its own: the statement ended early.
            let position =
                position.or_else(|| message.ends_with("found: EOF").then(|| end_of(text)));
            let at = position
                .map(|(line, column)| format!(" at line {line}, column {column}"))
                .unwrap_or_default();
            (format!("SQL syntax error{at}: {message}"), position)
        }
        None => (e.to_string(), diagnostic_position(e)),
    };
    match position.and_then(|(line, column)| caret(text, line, column)) {
        Some(pointer) => format!("{message}\n{pointer}"),
        None => message,
    }
}

/// The message and place of a syntax error, from DataFusion's `SQL` error
/// variant (the parser's error, anywhere in the chain).
fn syntax_error(e: &DataFusionError) -> Option<(String, Option<(u64, u64)>)> {
    let raw = match parser_error(e)? {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m.as_str(),
        ParserError::RecursionLimitExceeded => {
            return Some(("the statement is nested too deeply".to_string(), None));
        }
    };
    // sqlparser ends its messages with the place, as its `Location` displays
    // itself; DataFusion's own parser errors also carry it as a diagnostic
    // span, which is preferred.
    let (message, place) = match raw.rsplit_once(" at Line: ") {
        Some((message, place)) => (message, parse_place(place)),
        None => (raw, None),
    };
    let message = if place.is_some() { message } else { raw };
    Some((message.to_string(), diagnostic_position(e).or(place)))
}

/// The parser's error inside `e` (under a diagnostic or context), if any.
fn parser_error(mut e: &DataFusionError) -> Option<&ParserError> {
    loop {
        e = match e {
            DataFusionError::SQL(parser_error, _) => return Some(parser_error),
            DataFusionError::Diagnostic(_, inner) | DataFusionError::Context(_, inner) => inner,
            DataFusionError::Shared(inner) => inner,
            DataFusionError::Collection(errors) => errors.first()?,
            _ => return None,
        };
    }
}

/// `L, Column: C` (the tail of sqlparser's `Location` display).
fn parse_place(text: &str) -> Option<(u64, u64)> {
    let (line, column) = text.split_once(", Column: ")?;
    Some((line.parse().ok()?, column.parse().ok()?)).filter(|(l, c)| *l > 0 && *c > 0)
}

/// Where a DataFusion diagnostic attached to the error points, if anywhere.
fn diagnostic_position(e: &DataFusionError) -> Option<(u64, u64)> {
    let span = e.diagnostic()?.span?;
    (span.start.line > 0 && span.start.column > 0).then_some((span.start.line, span.start.column))
}

/// Line and column just after the last character of `text`.
fn end_of(text: &str) -> (u64, u64) {
    let text = text.trim_end();
    let lines = text.lines().count().max(1);
    let last = text.lines().last().unwrap_or_default();
    (lines as u64, last.chars().count() as u64 + 1)
}

/// Line `line` of `text` and a caret under column `column` (both from 1;
/// columns count characters; tabs are kept so the caret lines up).
fn caret(text: &str, line: u64, column: u64) -> Option<String> {
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let source = text.lines().nth(index)?;
    let label = format!("LINE {line}: ");
    let pad: String = source
        .chars()
        .chain(std::iter::repeat(' '))
        .take(usize::try_from(column).ok()?.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    Some(format!(
        "{label}{source}\n{}{pad}^",
        " ".repeat(label.len())
    ))
}

/// Adds what exists to errors about tables that do not; `text`, when given,
/// is the SQL the error may point into.
pub fn explain(
    e: DataFusionError,
    ctx: &SessionContext,
    registered: &Registered,
    text: Option<&str>,
) -> anyhow::Error {
    // Classified on DataFusion's own message: the described one may quote
    // the statement, whose words say nothing about the error.
    let lower = e.to_string().to_ascii_lowercase();
    let message = describe(&e, text.unwrap_or_default());
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
