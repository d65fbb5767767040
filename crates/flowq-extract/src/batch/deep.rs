//! Cells of the deep-learning columns of the `full` profile, read from the
//! flows' [`DeepState`]. Definitions: docs/features.md, "Deep-learning inputs".

use super::chunk::Chunk;
use super::schema::{Column, PpiField};
use super::stats::full;
use crate::features::{DeepState, RowFeatures, entropy_bits};
use crate::flow::{Direction, FinishedFlow};

/// The deep-learning state of a flow whose run configured the column's part
/// (a run lists these columns only then, so every flow of it has the state).
#[inline(always)]
fn deep<F: RowFeatures>(flow: &FinishedFlow<F>) -> &DeepState {
    match full(flow).deep.as_deref() {
        Some(deep) => deep,
        None => unreachable!("a deep-learning column without its option"),
    }
}

/// +1 for the initiator's packets, −1 for the responder's (CESNET's encoding).
fn sign(direction: Direction) -> i64 {
    match direction {
        Direction::Forward => 1,
        Direction::Backward => -1,
    }
}

/// Fills a deep-learning column for the chunk's flows.
pub(super) fn fill<F: RowFeatures>(column: Column, chunk: &mut Chunk<'_, F>) {
    if chunk.nulls_unless(|state| state.full().is_some_and(|f| f.deep.is_some())) {
        return;
    }
    match column {
        Column::Ppi(field, _) => chunk.int_lists(|f, out| {
            let ppi = &deep(f).ppi;
            match field {
                PpiField::Size => out.extend(ppi.iter().map(|e| i64::from(e.size))),
                PpiField::Dir => out.extend(ppi.iter().map(|e| sign(e.direction))),
                PpiField::IptMs => out.extend(deep(f).ppi_ipt_ms()),
                PpiField::Flags => out.extend(ppi.iter().map(|e| i64::from(e.flags))),
            }
        }),
        Column::PpiLen => chunk.ints(|f| deep(f).ppi.len() as i64),
        Column::PpiDuration => chunk.opt_floats(|f| deep(f).ppi_duration_s()),
        Column::PpiRoundtrips => chunk.ints(|f| i64::from(deep(f).ppi_roundtrips())),
        Column::SizeHist(side) => chunk.int_lists(|f, out| {
            out.extend(deep(f).size_hist[side.index()].map(i64::from));
        }),
        Column::IptHist(side) => chunk.int_lists(|f, out| {
            out.extend(deep(f).ipt_hist[side.index()].map(i64::from));
        }),
        Column::ByteDist(side) => chunk.int_lists(|f, out| {
            if let Some(dist) = &deep(f).byte_dist {
                out.extend(dist.head[side.index()].map(i64::from));
            }
        }),
        Column::ByteEntropy(side) => chunk.opt_floats(|f| {
            let dist = deep(f).byte_dist.as_ref()?;
            let d = side.index();
            entropy_bits(&dist.head[d], u64::from(dist.head_bytes[d]))
        }),
        Column::PayloadEntropy(side) => chunk.opt_floats(|f| {
            let dist = deep(f).byte_dist.as_ref()?;
            let d = side.index();
            entropy_bits(&dist.all[d], dist.all_bytes[d])
        }),
        Column::PayloadPrefix(side) => {
            chunk.binaries(|f, out| out.extend_from_slice(&deep(f).prefix[side.index()]));
        }
        Column::PayloadPackets => chunk.binary_lists(|f, push| {
            for (bytes, _) in deep(f).payload_packets() {
                push(bytes);
            }
        }),
        Column::PayloadPacketsDir => chunk.int_lists(|f, out| {
            out.extend(deep(f).payload_packets().map(|(_, dir)| sign(dir)));
        }),
        Column::FlowPic => chunk.int_lists(|f, out| {
            if let Some(pic) = &deep(f).flowpic {
                out.extend(pic.counts.iter().map(|&c| i64::from(c)));
            }
        }),
        _ => chunk.nulls(),
    }
}
