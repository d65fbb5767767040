//! Feature accumulators: the math of each profile, O(1) memory per flow.
//!
//! An accumulator is updated once per packet with the packet's direction relative
//! to the flow's initiator and is read once when the flow's row is written.

mod app;
mod cic;
mod deep;
mod full;
mod stats;

pub use app::{AppConfig, AppState, MAX_HTTP_PAYLOADS_PER_SIDE, MAX_PAYLOADS_PER_SIDE};
pub use cic::{Bulk, CicConfig, CicFeatures, CicState};
pub use deep::{
    ByteDist, DeepConfig, DeepState, FLOWPIC_MAX_SIZE, FLOWPIC_SIDE, FlowPic, HISTOGRAM_BINS,
    MAX_DEEP_LEN, PpiEntry, entropy_bits, histogram_bin,
};
pub use full::{
    ACTIVITY_THRESHOLD_NS, Activity, FullConfig, FullFeatures, Handshake, SpltEntry, TcpWindows,
};
pub use stats::Summary;

use crate::decode::{PacketView, tcp_flags};
use crate::flow::{Direction, FlowFeatures};

/// What a profile's rows read from its per-flow state: the flow table only
/// knows [`FlowFeatures`]; the row builders (`batch`) and the driver read
/// the state through this. Every state holds the [`StandardFeatures`]
/// counters, and the statistical profiles add [`FullFeatures`].
pub trait RowFeatures: FlowFeatures {
    /// The counters every profile writes.
    fn standard(&self) -> &StandardFeatures;
    /// The same, to seal the application metadata before the row is built.
    fn standard_mut(&mut self) -> &mut StandardFeatures;
    /// The statistical state, for profiles that keep it.
    fn full(&self) -> Option<&FullFeatures> {
        None
    }
    /// The CICFlowMeter state, for the CIC profiles.
    fn cic(&self) -> Option<&CicState> {
        None
    }
    /// Whether the profile writes this flow at all (the reproduced CICFlowMeter
    /// drops single-packet flows).
    fn written(&self) -> bool {
        true
    }
}

/// Counters of one direction of a flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirCounters {
    /// Packets.
    pub packets: u64,
    /// Bytes on the wire (frame length, link layer included).
    pub wire_bytes: u64,
    /// Bytes captured (frame length after the snap length cut), each frame counted
    /// up to 65 535 bytes as the original script's reader (scapy) did; used only
    /// by the `seed` profile.
    pub captured_bytes: u64,
    /// Transport payload bytes (from the IP length fields).
    pub payload_bytes: u64,
}

/// scapy's pcap reader cuts records at this length.
const SCAPY_MAX_RECORD: u32 = 65_535;

/// The TCP flags counted per flow, in column order.
pub const COUNTED_FLAGS: [u8; 8] = [
    tcp_flags::SYN,
    tcp_flags::FIN,
    tcp_flags::RST,
    tcp_flags::PSH,
    tcp_flags::ACK,
    tcp_flags::URG,
    tcp_flags::ECE,
    tcp_flags::CWR,
];

/// The state of the `standard` (and `seed`) profiles: per-direction counts,
/// TCP flag counts over both directions, and the application metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StandardFeatures {
    /// Indexed by [`Direction::index`].
    pub dir: [DirCounters; 2],
    /// Packets with each flag of [`COUNTED_FLAGS`] set, both directions.
    pub flag_counts: [u64; 8],
    /// The application metadata (parsed only when enabled by the config).
    pub app: AppState,
}

impl StandardFeatures {
    /// Both directions added together.
    pub fn total(&self) -> DirCounters {
        let [f, b] = self.dir;
        DirCounters {
            packets: f.packets + b.packets,
            wire_bytes: f.wire_bytes + b.wire_bytes,
            captured_bytes: f.captured_bytes + b.captured_bytes,
            payload_bytes: f.payload_bytes + b.payload_bytes,
        }
    }
}

impl RowFeatures for StandardFeatures {
    fn standard(&self) -> &StandardFeatures {
        self
    }

    fn standard_mut(&mut self) -> &mut StandardFeatures {
        self
    }
}

impl FlowFeatures for StandardFeatures {
    type Config = AppConfig;

    fn new(config: &AppConfig) -> Self {
        StandardFeatures {
            app: AppState::new(config),
            ..StandardFeatures::default()
        }
    }

    fn reads_transport(config: &AppConfig) -> bool {
        config.enabled
    }

    fn end(&mut self) {
        self.app.seal();
    }

    #[inline]
    fn update(&mut self, packet: &PacketView<'_>, dir: Direction) {
        let d = &mut self.dir[dir.index()];
        d.packets += 1;
        d.wire_bytes += u64::from(packet.wire_len);
        d.captured_bytes += u64::from(packet.cap_len.min(SCAPY_MAX_RECORD));
        d.payload_bytes += u64::from(packet.l4_payload_len);
        if let Some(tcp) = packet.tcp {
            for (count, flag) in self.flag_counts.iter_mut().zip(COUNTED_FLAGS) {
                *count += u64::from(tcp.flags & flag != 0);
            }
        }
        self.app.update(packet, dir);
    }
}
