//! `flowq shell`: written next.
use super::args::ShellArgs;

pub fn run(_args: ShellArgs) -> anyhow::Result<u8> {
    anyhow::bail!("the shell is not built yet")
}
