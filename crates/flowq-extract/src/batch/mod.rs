//! Arrow record batches: the column catalogue and the builder that fills it.

mod app;
mod builder;
mod chunk;
pub mod cic;
mod deep;
mod ndpi_name;
mod packets;
pub mod role;
pub mod schema;
mod seed;
mod stats;

pub use builder::{DEFAULT_BATCH_ROWS, FlowBatchBuilder};
pub use packets::{PACKET_COLUMNS, PacketBatchBuilder, PacketColumn, packet_schema};
pub use schema::{
    APP_COLUMNS, AppColumn, Column, ColumnDef, Kind, NfColumn, PpiField, SEED_COLUMNS,
    STANDARD_COLUMNS, Scope, Stat, deep_columns, full_extra_columns, nfstream_columns,
    nfstream_dissect_columns, schema_of,
};
