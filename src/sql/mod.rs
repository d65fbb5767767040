//! SQL over flows: a DataFusion session with flowq's tables and functions.
//!
//! Tables come from `--data` (Parquet, CSV, Arrow files or hive-partitioned
//! directories of them), `--table NAME=PATH`, and `--pcap` (captures extracted on
//! the fly, see [`pcap_table`]). A file path in a query (`select * from
//! 'capture.pcap'`) is a table too: captures by their extension, other files
//! through DataFusion's own listing tables.

pub mod output;
pub mod pcap_table;
pub mod udf;

use anyhow::{Context, bail};
use async_trait::async_trait;
use datafusion::catalog::{DynamicFileCatalog, TableProvider, UrlTableFactory};
use datafusion::datasource::dynamic_file::DynamicListTableFactory;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableConfigExt, ListingTableUrl,
};
use datafusion::execution::context::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_session::SessionStore;
use flowq_extract::ExtractOptions;
use flowq_extract::capture::{InputSource, discover_inputs};
use pcap_table::{PcapTable, Rows};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Environment variable naming the default flow data (file or directory).
pub const DATA_ENV: &str = "FLOWQ_DATA";

/// Where a session's tables come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Files or directories registered together as `flows`.
    pub data: Vec<PathBuf>,
    /// More tables: (name, path).
    pub tables: Vec<(String, PathBuf)>,
    /// Captures whose flows and packets become `flows` and `packets`.
    pub pcap: Vec<PathBuf>,
    /// Extraction options for captures.
    pub extract: ExtractOptions,
}

/// What was registered, for messages and `\d`.
#[derive(Debug, Clone)]
pub struct Registered {
    /// Where `flows` comes from, or what was looked for when nothing was found.
    pub flows: Result<String, String>,
}

/// Builds a session with flowq's functions, the capture-aware URL tables and the
/// tables of `sources`.
pub async fn session(sources: &Sources) -> anyhow::Result<(SessionContext, Registered)> {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(num_threads());
    session_with(sources, config, Ok).await
}

/// [`session`] on another configuration, with `finish` turning the session's
/// state into the one queries run on (a cluster client's), before tables and
/// functions are added to it.
pub async fn session_with(
    sources: &Sources,
    config: SessionConfig,
    finish: impl FnOnce(SessionState) -> datafusion::common::Result<SessionState>,
) -> anyhow::Result<(SessionContext, Registered)> {
    let ctx = with_url_tables(
        SessionContext::new_with_config(config),
        sources.extract,
        finish,
    )?;
    udf::register_all(&ctx);

    if !sources.pcap.is_empty() && !sources.data.is_empty() {
        // The command line refuses this too; one of them would be ignored.
        bail!(
            "--data and --pcap both define the table `flows`; name the flow files with --table NAME=PATH instead"
        );
    }
    let flows = if !sources.pcap.is_empty() {
        let files = capture_files(&sources.pcap)?;
        let described = format!("{} capture file(s) (--pcap)", files.len());
        for (name, rows) in [("flows", Rows::Flows), ("packets", Rows::Packets)] {
            let table = PcapTable::new(rows, files.clone(), sources.extract);
            ctx.register_table(name, Arc::new(table))?;
        }
        Ok(described)
    } else if !sources.data.is_empty() {
        register_listing(&ctx, "flows", &sources.data).await?;
        Ok(describe_paths(&sources.data))
    } else {
        match default_data() {
            Ok(path) => {
                register_listing(&ctx, "flows", std::slice::from_ref(&path)).await?;
                Ok(path.display().to_string())
            }
            Err(looked) => Err(looked),
        }
    };
    for (name, path) in &sources.tables {
        register_listing(&ctx, name, std::slice::from_ref(path)).await?;
    }
    Ok((ctx, Registered { flows }))
}

fn num_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn describe_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The default flow data: `$FLOWQ_DATA`, then `flows.parquet`, then `flows/`.
/// On failure, says what was looked for.
fn default_data() -> Result<PathBuf, String> {
    let mut looked = Vec::new();
    if let Some(env) = std::env::var_os(DATA_ENV) {
        let path = PathBuf::from(&env);
        if path.exists() {
            return Ok(path);
        }
        looked.push(format!("${DATA_ENV} ({} does not exist)", path.display()));
    } else {
        looked.push(format!("${DATA_ENV} (not set)"));
    }
    for candidate in ["flows.parquet", "flows"] {
        let path = PathBuf::from(candidate);
        if path.exists() {
            return Ok(path);
        }
        looked.push(format!("./{candidate}"));
    }
    Err(format!(
        "no flow data: give --data PATH or --pcap CAPTURE; looked for {}",
        looked.join(", ")
    ))
}

fn capture_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    for path in paths {
        if !path.exists() {
            bail!("{}: no such file or directory", path.display());
        }
    }
    let discovered = discover_inputs(paths).context("cannot list the captures")?;
    for (path, why) in &discovered.skipped {
        eprintln!("flowq: note: {}: {why}; skipped", path.display());
    }
    let files: Vec<PathBuf> = discovered
        .inputs
        .into_iter()
        .filter_map(|i| match i {
            InputSource::File(p) => Some(p),
            InputSource::Stdin | InputSource::Rotated(_) => None,
        })
        .collect();
    if files.is_empty() {
        bail!("no capture files in {}", describe_paths(paths));
    }
    Ok(files)
}

/// Registers Parquet/CSV/Arrow files or directories (hive partitions become
/// columns) as one table.
/// The listing options of flowq dataset directories (with a manifest), when
/// every path is one.
fn dataset_format(paths: &[PathBuf]) -> anyhow::Result<Option<ListingOptions>> {
    let mut format = None;
    for path in paths {
        if !path.is_dir() {
            return Ok(None);
        }
        let Some(manifest) = crate::dataset::manifest::Manifest::read(path)? else {
            return Ok(None);
        };
        match &format {
            Some(f) if *f != manifest.format => bail!(
                "{}: the datasets of one table must share a format (parquet or csv)",
                path.display()
            ),
            _ => format = Some(manifest.format),
        }
    }
    Ok(match format.as_deref() {
        Some("csv") => Some(
            ListingOptions::new(Arc::new(CsvFormat::default().with_has_header(true)))
                .with_file_extension(".csv"),
        ),
        Some(_) => Some(
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet"),
        ),
        None => None,
    })
}

async fn register_listing(
    ctx: &SessionContext,
    name: &str,
    paths: &[PathBuf],
) -> anyhow::Result<()> {
    let mut urls = Vec::with_capacity(paths.len());
    for path in paths {
        if !path.exists() {
            bail!(
                "{}: no such file or directory (for table `{name}`)",
                path.display()
            );
        }
        let text = if path.is_dir() {
            format!("{}/", path.display().to_string().trim_end_matches('/'))
        } else {
            path.display().to_string()
        };
        urls.push(
            ListingTableUrl::parse(&text)
                .with_context(|| format!("{}: not a usable path", path.display()))?,
        );
    }
    let state = ctx.state();
    let config = ListingTableConfig::new_with_multi_paths(urls);
    let config = match dataset_format(paths)? {
        // A flowq dataset says what its files are; its manifest is not one of them.
        Some(options) => config.with_listing_options(options),
        None => config.infer_options(&state).await.with_context(|| {
            format!(
                "cannot tell the format of {} (use .parquet, .csv or .arrow files)",
                describe_paths(paths)
            )
        })?,
    };
    let config = config
        .infer_partitions_from_path(&state)
        .await?
        .infer_schema(&state)
        .await
        .with_context(|| format!("cannot read the schema of {}", describe_paths(paths)))?;
    let table = ListingTable::try_new(config)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// True for file names that look like captures (extraction recognises the real
/// format by magic bytes; names decide only which table kind a path in a query is).
pub fn is_capture_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let lower = lower
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .trim_end_matches(".zstd");
    [".pcap", ".pcapng", ".cap", ".dmp"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Lets queries name files: captures become flow tables, everything else goes to
/// DataFusion's listing tables.
#[derive(Debug)]
struct UrlTables {
    listing: Arc<DynamicListTableFactory>,
    extract: ExtractOptions,
}

#[async_trait]
impl UrlTableFactory for UrlTables {
    async fn try_new(
        &self,
        url: &str,
    ) -> datafusion::common::Result<Option<Arc<dyn TableProvider>>> {
        if is_capture_name(url) {
            let path = Path::new(url);
            if !path.is_file() {
                return Ok(None);
            }
            let table = PcapTable::new(Rows::Flows, vec![path.to_path_buf()], self.extract);
            return Ok(Some(Arc::new(table)));
        }
        self.listing.try_new(url).await
    }
}

fn with_url_tables(
    ctx: SessionContext,
    extract: ExtractOptions,
    finish: impl FnOnce(SessionState) -> datafusion::common::Result<SessionState>,
) -> anyhow::Result<SessionContext> {
    let listing = Arc::new(DynamicListTableFactory::new(SessionStore::new()));
    let factory = Arc::new(UrlTables {
        listing: Arc::clone(&listing),
        extract,
    });
    let catalogs = Arc::new(DynamicFileCatalog::new(
        Arc::clone(ctx.state().catalog_list()),
        factory,
    ));
    let state: SessionState = ctx.into_state_builder().with_catalog_list(catalogs).build();
    let ctx = SessionContext::new_with_state(finish(state)?);
    listing.session_store().with_state(ctx.state_weak_ref());
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::is_capture_name;

    #[test]
    fn capture_names() {
        assert!(is_capture_name("a.pcap"));
        assert!(is_capture_name("dir/A.PCAPNG"));
        assert!(is_capture_name("x.pcap.gz"));
        assert!(is_capture_name("x.pcapng.zst"));
        assert!(!is_capture_name("flows.parquet"));
        assert!(!is_capture_name("pcap.csv"));
    }
}
