use std::io;

/// Why a capture could not be opened, or why reading it stopped early.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The stream has no bytes at all.
    #[error("the file is empty")]
    Empty,
    /// The first bytes are not a pcap, pcapng, gzip or zstd magic number.
    #[error("not a pcap or pcapng capture (unrecognised magic bytes)")]
    NotACapture,
    /// The header is recognised but unusable (for example a version we cannot read).
    #[error("unsupported capture header: {0}")]
    UnsupportedHeader(String),
    /// The stream ends in the middle of a record or block.
    #[error(
        "capture is truncated: the record at byte {offset} is cut off ({available} of {needed} bytes present)"
    )]
    Truncated {
        /// Offset of the incomplete record in the (decompressed) stream.
        offset: u64,
        /// Bytes of the record present in the file.
        available: usize,
        /// Bytes the record header says it has.
        needed: usize,
    },
    /// A record or block that no valid capture contains; reading stops there.
    #[error("capture is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// Offset of the bad record in the (decompressed) stream.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The operating system (or the decompressor) failed to deliver bytes.
    #[error("read error: {0}")]
    Io(#[source] io::Error),
}

impl CaptureError {
    /// True when the error ends a capture that was opened successfully, so the
    /// packets before it were processed (a warning rather than a failed input).
    pub fn is_partial(&self) -> bool {
        matches!(
            self,
            CaptureError::Truncated { .. } | CaptureError::Corrupt { .. } | CaptureError::Io(_)
        )
    }
}
