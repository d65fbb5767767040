"""Shared fixtures: the repository's test captures, the shared corpus and the
command line (an independent path to the same flows).

As in the Rust tests (tests/util/mod.rs), what lives beside the repository
(../shared) and the command-line binary must be there when
FLOWQ_REQUIRE_CORPUS=1 (set by .ci/run): a test that needs them then fails
instead of skipping.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
TESTDATA = REPO / "testdata"
SHARED = REPO.parent / "shared"


def required() -> bool:
    value = os.environ.get("FLOWQ_REQUIRE_CORPUS", "")
    return (value not in ("", "0")) or bool(os.environ.get("CI"))


def need(path: Path, what: str) -> Path:
    """`path` if it exists; else fail when required, skip otherwise."""
    if path.exists():
        return path
    message = f"{path} is missing: {what}"
    if required():
        pytest.fail(message + " (FLOWQ_REQUIRE_CORPUS or CI says it must be there)")
    pytest.skip(message)


def corpus(relative: str) -> Path:
    return need(SHARED / "pcaps" / relative, "the shared capture corpus")


def cli_binary() -> Path:
    """The `flowq` command line: $FLOWQ_CLI, else the debug build in
    $CARGO_TARGET_DIR (or target/), else `flowq` on the PATH."""
    explicit = os.environ.get("FLOWQ_CLI")
    if explicit:
        return need(Path(explicit), "FLOWQ_CLI names no file")
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for candidate in (target / "debug" / "flowq", target / "release" / "flowq"):
        if candidate.exists():
            return candidate
    on_path = shutil.which("flowq")
    return need(Path(on_path or "flowq (not built)"), "the flowq command line (cargo build)")


@pytest.fixture(scope="session")
def cli():
    """Runs `flowq ARGS` and returns the completed process."""
    binary = cli_binary()

    def run(*args: str, exit_code: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([str(binary), *args], capture_output=True, text=True)
        if exit_code is not None and done.returncode != exit_code:
            raise AssertionError(
                f"flowq {' '.join(args)} exited with {done.returncode}, not {exit_code}: "
                f"{done.stderr}"
            )
        return done

    return run


@pytest.fixture
def cli_parquet(cli, tmp_path):
    """The command line's Parquet output for a capture and options."""

    def run(inputs, *args: str, exit_code: int = 0):
        out = tmp_path / "cli.parquet"
        cli("extract", *map(str, inputs), "-o", str(out), "-q", *args, exit_code=exit_code)
        return pq.read_table(out)

    return run
