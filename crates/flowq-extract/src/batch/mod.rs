//! Arrow record batches: the column catalogue and the builder that fills it.

mod builder;
pub mod schema;
mod seed;

pub use builder::{DEFAULT_BATCH_ROWS, FlowBatchBuilder};
pub use schema::{Column, ColumnDef, Kind, SEED_COLUMNS, STANDARD_COLUMNS, schema_of};
