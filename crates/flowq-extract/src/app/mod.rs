//! Application-layer metadata from the first payload bytes of a flow.
//!
//! WIP skeleton.

pub mod community_id;
pub mod dns;
pub mod http;
pub mod quic;
mod reasm;
pub mod ssh;
pub mod tls;
mod util;

pub use util::{escape_bytes, is_grease, md5_hex};

/// Which end of the conversation sent a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The client (the flow's initiator, normally).
    Client = 0,
    /// The server.
    Server = 1,
}

impl Side {
    /// 0 for the client, 1 for the server, for `[T; 2]` per-side state.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The TCP header fields the parsers need to place a payload in its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpSegment {
    /// Sequence number of the segment.
    pub seq: u32,
    /// Whether the SYN flag is set.
    pub syn: bool,
}
