//! `flowq shell`: an interactive SQL prompt over the same session as `flowq query`.
//!
//! Statements may span lines and end with `;`. Lines starting with `\` are
//! commands (`\?` lists them). Ctrl-C cancels the running query (or the statement
//! being typed), Ctrl-D quits. History is kept in `$FLOWQ_HISTORY`, else
//! `~/.flowq_history`.

use super::args::ShellArgs;
use super::exit;
use super::query::{explain, parse, plan, runtime, sources_of, table_names};
use crate::sql::output::{self, ResultFormat};
use crate::sql::{self, Registered};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use flowq_extract::sink::{OutputFormat, OutputTarget};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use std::io::IsTerminal;
use std::path::PathBuf;

const HELP: &str = "\
Statements end with `;` and may span several lines. Commands:
  \\d              list tables
  \\d NAME         columns of table NAME
  \\f              list flowq's network functions
  \\format F       result format: table, csv, json, ndjson
  \\maxrows N      rows shown by the table format (0 = all)
  \\?              this help
  \\q              quit (or Ctrl-D)
Ctrl-C cancels the running query.";

struct Shell {
    ctx: SessionContext,
    registered: Registered,
    format: ResultFormat,
    max_rows: usize,
}

pub fn run(args: ShellArgs) -> anyhow::Result<u8> {
    let runtime = runtime()?;
    let (ctx, registered) = runtime.block_on(sql::session(&sources_of(&args.sources)?))?;
    let interactive = std::io::stdin().is_terminal();
    let mut shell = Shell {
        ctx,
        registered,
        format: ResultFormat::Table,
        max_rows: args.maxrows,
    };
    let mut editor = DefaultEditor::new()?;
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is normal on first use.
        let _ = editor.load_history(path);
    }
    if interactive {
        println!(
            "flowq {} SQL shell. `\\?` for help, `\\q` to quit.",
            env!("CARGO_PKG_VERSION")
        );
        match &shell.registered.flows {
            Ok(source) => println!("flows: {source}"),
            Err(looked) => println!("note: {looked}"),
        }
    }
    let mut buffer = String::new();
    let mut failed = false;
    loop {
        let prompt = if buffer.is_empty() {
            "flowq> "
        } else {
            "   ..> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if buffer.is_empty() && line.trim_start().starts_with('\\') {
                    let _ = editor.add_history_entry(line.as_str());
                    match runtime.block_on(shell.command(line.trim())) {
                        Ok(true) => break,
                        Ok(false) => {}
                        Err(e) => {
                            eprintln!("error: {e:#}");
                            failed = true;
                        }
                    }
                    continue;
                }
                if !buffer.is_empty() {
                    buffer.push('\n');
                }
                buffer.push_str(&line);
                if !buffer.trim_end().ends_with(';') {
                    continue;
                }
                let statement = std::mem::take(&mut buffer);
                let _ = editor.add_history_entry(statement.as_str());
                let result = runtime.block_on(async {
                    tokio::select! {
                        r = shell.sql(&statement) => r,
                        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("cancelled")),
                    }
                });
                if let Err(e) = result {
                    eprintln!("error: {e:#}");
                    failed = true;
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    if !buffer.trim().is_empty() {
        // Input ended inside a statement (a script without the last `;`): run it.
        if let Err(e) = runtime.block_on(shell.sql(&buffer)) {
            eprintln!("error: {e:#}");
            failed = true;
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    // A script fed to the shell reports failure like `flowq query` would.
    Ok(if failed && !interactive {
        exit::FATAL
    } else {
        exit::OK
    })
}

fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FLOWQ_HISTORY") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".flowq_history"))
}

impl Shell {
    async fn sql(&self, text: &str) -> anyhow::Result<()> {
        for statement in parse(text)? {
            let plan = plan(&self.ctx, statement, &self.registered, text).await?;
            let silent = matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Statement(_));
            let frame = self
                .ctx
                .execute_logical_plan(plan)
                .await
                .map_err(|e| explain(e, &self.ctx, &self.registered, None))?;
            if silent {
                frame.collect().await?;
                println!("ok");
                continue;
            }
            let stream = frame.execute_stream().await?;
            output::write(stream, self.format, &OutputTarget::Stdout, self.max_rows).await?;
        }
        Ok(())
    }

    /// Runs a backslash command; returns true to quit.
    async fn command(&mut self, line: &str) -> anyhow::Result<bool> {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or_default();
        let argument = words.next();
        match (command, argument) {
            ("\\q" | "\\quit", _) => return Ok(true),
            ("\\?" | "\\h" | "\\help", _) => println!("{HELP}"),
            ("\\d", None) => {
                let mut names = table_names(&self.ctx);
                names.sort();
                if names.is_empty() {
                    println!("no tables");
                }
                for name in names {
                    println!("{name}");
                }
                if let Err(looked) = &self.registered.flows {
                    println!("note: {looked}");
                }
            }
            ("\\d", Some(table)) => {
                let table = table.trim_end_matches(';');
                self.sql(&format!(
                    "select column_name, data_type, is_nullable from information_schema.columns \
                     where table_name = '{}' order by ordinal_position;",
                    table.replace('\'', "''")
                ))
                .await?;
            }
            ("\\f", _) => {
                self.sql(
                    "select distinct routine_name as function from information_schema.routines \
                     where routine_name in ('cidr_match', 'is_private', 'ip_version', 'ip_to_int', 'service_name') \
                     order by 1;",
                )
                .await?;
            }
            ("\\format", Some(name)) => {
                self.format = match name {
                    "table" => ResultFormat::Table,
                    "csv" => ResultFormat::File(OutputFormat::Csv),
                    "json" => ResultFormat::File(OutputFormat::Json),
                    "ndjson" => ResultFormat::File(OutputFormat::NdJson),
                    other => anyhow::bail!("unknown format `{other}` (table, csv, json, ndjson)"),
                };
            }
            ("\\maxrows", Some(n)) => {
                self.max_rows = n
                    .parse()
                    .map_err(|_| anyhow::anyhow!("`{n}` is not a number of rows"))?;
            }
            (other, _) => anyhow::bail!("unknown command `{other}`; `\\?` lists the commands"),
        }
        Ok(false)
    }
}
