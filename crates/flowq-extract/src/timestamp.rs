//! How a capture stores timestamps: told by the capture reader, read by the
//! row builders (the `seed` profile prints durations in the capture's own
//! precision). A leaf module, so that neither stage reaches into the other.

/// How the capture stores timestamps, which the `seed` profile needs to print
/// durations exactly as the original script did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampStyle {
    /// Classic pcap: seconds plus a fraction of exactly this many decimal digits
    /// (6 for microsecond files, 9 for nanosecond files).
    FixedDigits(u32),
    /// pcapng: ticks divided by the interface resolution, an exact decimal with
    /// trailing fractional zeros dropped.
    Normalized,
}
