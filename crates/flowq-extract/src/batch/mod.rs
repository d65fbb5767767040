//! Arrow record batches: the column catalogue and the builder that fills it.

mod builder;
mod packets;
pub mod schema;
mod seed;

pub use builder::{DEFAULT_BATCH_ROWS, FlowBatchBuilder};
pub use packets::{PACKET_COLUMNS, PacketBatchBuilder, PacketColumn, packet_schema};
pub use schema::{Column, ColumnDef, Kind, SEED_COLUMNS, STANDARD_COLUMNS, schema_of};
