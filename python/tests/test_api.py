"""The API around the values: options and their messages, errors, the run
summary, columns, streaming and interrupts."""

import _thread
import dataclasses
import inspect
import json
import signal
import threading
import time

import pyarrow as pa
import pytest

import flowq
from flowq import _native

from conftest import TESTDATA

SAMPLE = TESTDATA / "sample.pcap"


def test_signature_defaults_are_the_command_lines():
    engine = _native.defaults()
    for function in (flowq.extract, flowq.stream, flowq.packets):
        parameters = inspect.signature(function).parameters
        for name, value in engine.items():
            default = parameters[name].default
            if name == "flow_memory":
                assert default == "4GiB" and value == 4 << 30
            else:
                assert default == value, (function.__name__, name)
    assert flowq.profiles() == ["standard", "seed", "full", "nfstream", "cic2017", "cic2018", "cic"]


# (keyword arguments, the command line's arguments, the message both give)
REFUSED = [
    (
        {"splt": 3},
        ["--splt", "3"],
        "--splt needs --profile full or nfstream (the standard profile has no sequence columns)",
    ),
    (
        {"profile": "cic", "splt": 3},
        ["--profile", "cic", "--splt", "3"],
        "--splt needs --profile full or nfstream (the cic profile has no sequence columns)",
    ),
    (
        {"stats": True},
        ["--stats"],
        "--stats adds NFStream's statistical columns to --profile nfstream; the full profile "
        "always has its statistics",
    ),
    (
        {"cic_compat": "bugs"},
        ["--cic-compat", "bugs"],
        "--cic-compat and --cic-timestamp apply to --profile cic2017, cic2018 or cic",
    ),
    (
        {"cic_timestamp": "original"},
        ["--cic-timestamp", "original"],
        "--cic-compat and --cic-timestamp apply to --profile cic2017, cic2018 or cic",
    ),
    (
        {"ppi": 30},
        ["--ppi=30"],
        "--ppi, --histograms, --byte-dist, --payload-prefix, --payload-packets and --flowpic "
        "need --profile full (the standard profile has no deep-learning columns)",
    ),
    (
        {"profile": "full", "ppi_all_packets": True},
        ["--profile", "full", "--ppi-all-packets"],
        "--ppi-all-packets changes --ppi and --histograms: give one of them",
    ),
    (
        {"flow_memory": "4 parsecs"},
        ["--flow-memory", "4 parsecs"],
        "`parsecs` is not a size unit (B, KiB, MiB, GiB, TiB)",
    ),
]


@pytest.mark.parametrize("kwargs,args,message", REFUSED)
def test_refused_options_give_the_command_lines_message(cli, kwargs, args, message):
    with pytest.raises(ValueError) as raised:
        flowq.extract(SAMPLE, **kwargs)
    assert str(raised.value) == message
    done = cli("extract", str(SAMPLE), "-o", "/dev/null", "--format", "csv", *args, exit_code=2)
    assert message in done.stderr


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"profile": "nope"}, "`nope` is not a profile (one of standard, seed, full, nfstream, cic2017, cic2018, cic)"),
        ({"idle_timeout": -1}, "--idle-timeout: `-1` must be a non-negative number of seconds"),
        ({"active_timeout": 2e9}, "--active-timeout: `2000000000` seconds is more than 30 years"),
        ({"max_flows": 0}, "--max-flows must be at least 1"),
        ({"profile": "full", "splt": 2000}, "--splt is at most 1024 packets"),
        ({"tunnels": "middle"}, "`middle` is not a --tunnels choice (one of inner, outer)"),
        ({"threads": 0}, "threads must be between 1 and 256, not 0"),
        ({"on_error": "ignore"}, "`ignore` is not an on_error choice (one of raise, warn)"),
    ],
)
def test_values_out_of_range_are_value_errors(kwargs, message):
    with pytest.raises(ValueError) as raised:
        flowq.extract(SAMPLE, **kwargs)
    assert str(raised.value) == message


def test_unknown_options_are_type_errors():
    with pytest.raises(TypeError):
        flowq.extract(SAMPLE, idle_timout=3)
    with pytest.raises(TypeError):
        flowq.packets(SAMPLE, drop_identifiers=True)


def test_a_missing_path_is_file_not_found(tmp_path):
    missing = tmp_path / "nope.pcap"
    for function in (flowq.extract, flowq.stream, flowq.packets):
        with pytest.raises(FileNotFoundError) as raised:
            function([SAMPLE, missing])
        assert raised.value.filename == str(missing)


def test_an_empty_directory_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="no capture files found in the given directories"):
        flowq.extract(tmp_path)


def test_a_file_that_is_no_capture_is_a_capture_error_without_result(tmp_path):
    junk = tmp_path / "notes.pcap"
    junk.write_bytes(b"these are not packets, just text in a file" * 10)
    with pytest.raises(flowq.CaptureError) as raised:
        flowq.extract(junk)
    error = raised.value
    assert str(error).startswith(f"no input could be read: {junk}: ")
    assert error.result is None
    assert [i.status for i in error.summary.inputs] == ["failed"]
    # Even when told to warn: the command line writes nothing then either.
    with pytest.raises(flowq.CaptureError):
        flowq.extract(junk, on_error="warn")


def test_a_truncated_capture_keeps_the_packets_before_the_cut(tmp_path, cli_parquet):
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) // 2 + 7])
    with pytest.raises(flowq.CaptureError) as raised:
        flowq.extract(cut)
    error = raised.value
    (only,) = error.summary.inputs
    assert only.status == "partial"
    assert str(error) == f"{cut}: {only.message}; the {only.packets_read} packets before it were used"
    assert 0 < only.packets_read < 800
    assert error.result.num_rows == error.summary.flows_written > 0
    # The command line keeps the same flows (and exits with 1).
    theirs = cli_parquet([cut], exit_code=1)
    assert error.result.replace_schema_metadata(None).equals(theirs, check_metadata=False)
    # on_error="warn": the same table, and a warning.
    with pytest.warns(UserWarning, match="packets before it were used"):
        table = flowq.extract(cut, on_error="warn")
    assert table.num_rows == error.result.num_rows
    # A partial input among good ones.
    with pytest.raises(flowq.CaptureError) as raised:
        flowq.extract([SAMPLE, cut])
    assert [i.status for i in raised.value.summary.inputs] == ["complete", "partial"]


def test_the_stream_raises_capture_error_after_the_batches(tmp_path):
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) // 2 + 7])
    reader = flowq.stream(cut)
    with pytest.raises(flowq.CaptureError):
        reader.read_all()


def test_run_summary_has_every_field_the_engine_reports():
    table = flowq.extract(SAMPLE)
    summary = flowq.last_summary()
    recorded = json.loads(table.schema.metadata[b"flowq.summary"])
    assert recorded == summary.to_dict()
    # A field the engine adds lands in `extra` until RunSummary names it.
    assert summary.extra == {}
    assert {f.name for f in dataclasses.fields(flowq.RunSummary)} - {"extra"} == set(recorded)
    assert summary.packets_read == summary.packets_in_flows + sum(summary.skipped.values())
    assert summary.flows_written == table.num_rows
    assert summary.evicted_flows == 0
    assert table.schema.metadata[b"flowq.profile"] == b"standard"
    flowq.extract(SAMPLE, max_flows=2)
    assert flowq.last_summary().evicted_flows > 0


def test_columns_describe_every_profile():
    for profile in flowq.profiles():
        described = flowq.columns(profile)
        assert described.column_names == ["name", "type", "unit", "nullable", "description"]
        table = flowq.extract(SAMPLE, profile=profile)
        assert described["name"].to_pylist() == table.column_names
        assert described["type"].to_pylist() == [str(f.type) for f in table.schema]
        assert all(d for d in described["description"].to_pylist())
        # Every column is in a table of docs/features.md that has units
        # (tests/columns.rs checks that the page documents every column).
        documented = flowq._documented_units()
        missing = [n for n in described["name"].to_pylist() if n.strip() not in documented]
        assert not missing, (profile, missing)
    units = dict(zip(*flowq.columns("full").select(["name", "unit"]).to_pydict().values()))
    assert units["duration"] == "s" and units["byte_count"] == "bytes"
    assert units["flow_id"] is None and units["splt_iat_us"] == "µs"
    cic = flowq.columns("cic2017").to_pylist()
    assert {r["name"]: r["unit"] for r in cic}[" Flow Duration"] == "µs"
    longer = flowq.columns("nfstream", stats=True, splt=3)
    assert longer.num_rows > flowq.columns("nfstream").num_rows
    kept = flowq.columns("full", drop_identifiers=True)["name"].to_pylist()
    assert kept == flowq.extract(SAMPLE, profile="full", drop_identifiers=True).column_names
    dropped = set(flowq.columns("full")["name"].to_pylist()) - set(kept)
    # docs/datasets.md: addresses, ports, absolute times, flow ids, VLAN ids.
    assert dropped == {
        "flow_id", "src_ip", "dst_ip", "src_port", "dst_port", "vlan_id", "first_seen", "last_seen",
    }
    packets = flowq.columns(packets=True)
    assert packets["name"].to_pylist() == flowq.packets(SAMPLE).column_names
    with pytest.raises(ValueError, match="--splt needs"):
        flowq.columns("standard", splt=3)


def test_the_stream_is_lazy_and_stops_when_dropped():
    reader = flowq.stream([SAMPLE] * 50)
    first = reader.read_next_batch()
    assert first.num_rows > 0
    # Dropping the reader stops the engine thread (it would otherwise block
    # on the full channel forever); nothing hangs.
    del reader
    import gc

    gc.collect()


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler for the test: a runner started as a
    background job of a non-interactive shell (`cmd &`) inherits SIGINT
    ignored, and `_thread.interrupt_main()` then does nothing at all, so
    these tests would read 20 000 captures instead of testing Ctrl-C."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_raises")
def test_keyboard_interrupt_stops_extract_cleanly():
    """Ctrl-C while the engine runs: KeyboardInterrupt within a wait slice,
    the engine thread stopped, and the next run works."""
    inputs = [SAMPLE] * 20000  # minutes of work
    timer = threading.Timer(0.5, _thread.interrupt_main)
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        flowq.extract(inputs)
    assert time.monotonic() - started < 10
    assert flowq.extract(SAMPLE).num_rows == 60


@pytest.mark.usefixtures("sigint_raises")
def test_keyboard_interrupt_stops_a_stream_read_by_pyarrow():
    reader = flowq.stream([SAMPLE] * 20000)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        reader.read_all()
    assert time.monotonic() - started < 10


def test_extraction_releases_the_gil():
    """Another Python thread keeps running while the engine works."""
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(1)
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        flowq.extract([SAMPLE] * 2000)
    finally:
        done.set()
        counter.join()
    assert len(ticks) > 20


def test_memory_is_bounded_while_streaming():
    """The engine waits for the reader: with the reader paused, the packets
    read stop growing long before the input ends."""
    run = _native.Run([str(SAMPLE)] * 2000, "flows", _default_options())
    first = run.next_batch()
    assert first is not None
    time.sleep(0.5)
    before = run.progress()[1]
    time.sleep(0.5)
    after = run.progress()[1]
    assert before == after < 2000 * 800
    run.close()


def _default_options():
    options = _native.defaults()
    options.update(threads=1, drop_identifiers=False)
    return options


def test_progress_bar_runs(capsys):
    table = flowq.extract(SAMPLE, progress=True)
    assert table.num_rows == 60
    assert "flowq flows" in capsys.readouterr().err
