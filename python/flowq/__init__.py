"""flowq for Python: packet captures to flow datasets as Arrow, without copies.

Three lines::

    import flowq
    flows = flowq.extract("capture.pcap")          # a pyarrow.Table, one row per flow
    df = flows.to_pandas()                         # or polars.from_arrow(flows), duckdb.sql(...)

* :func:`extract` reads captures into a ``pyarrow.Table``;
* :func:`stream` gives the same rows as a ``pyarrow.RecordBatchReader``, in
  bounded memory, while the captures are read;
* :func:`packets` gives one row per packet with the ``flow_id`` of its flow;
* :func:`columns` describes a profile's columns;
* :func:`last_summary` returns the :class:`RunSummary` of the last run.

The extraction is flowq's own engine (the ``flowq extract`` command line's),
running on its own thread without the GIL. Its record batches reach pyarrow
through the Arrow C data interface: pyarrow, polars, DuckDB and pandas
(``to_pandas(types_mapper=pandas.ArrowDtype)``) read the engine's buffers,
not copies.
The options and their defaults are the command line's (``flowq extract
--help``; the column definitions are in docs/features.md).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import threading
import warnings
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import pyarrow as pa

from . import _native

__all__ = [
    "CaptureError",
    "InputSummary",
    "RunSummary",
    "columns",
    "extract",
    "last_summary",
    "packets",
    "profiles",
    "stream",
]

#: A capture path, or several: files, directories (every capture below them,
#: in sorted order) or ``"-"`` for standard input.
Paths = Union[str, "os.PathLike[str]", Iterable[Union[str, "os.PathLike[str]"]]]

_last = threading.local()


class CaptureError(Exception):
    """A capture could not be read, or only partly.

    As on the command line, where the run still writes its output (exit
    code 1), the rows read are kept: ``result`` holds them (a
    ``pyarrow.Table`` from :func:`extract` and :func:`packets`; ``None`` when
    no input could be read at all, or from :func:`stream`, whose batches were
    already handed out). ``summary`` is the run's :class:`RunSummary`, with
    each input's status and message.
    """

    def __init__(self, message: str, summary: "RunSummary", result: Optional[pa.Table] = None):
        super().__init__(message)
        self.summary = summary
        self.result = result


@dataclass(frozen=True)
class InputSummary:
    """How one input was read (``status``: ``complete``, ``partial`` or ``failed``)."""

    name: str
    format: Optional[str]
    status: str
    message: Optional[str]
    packets_read: int
    packets_in_flows: int
    skipped: Dict[str, int]
    flows: int


@dataclass(frozen=True)
class RunSummary:
    """What a run read and wrote: the command line's ``--stats-json``.

    ``packets_read = packets_in_flows + sum(skipped.values())``; ``skipped``
    counts packets by reason (docs/capture.md); ``evicted_flows`` counts flows
    ended because the flow table was full (``max_flows``); ``inputs`` has one
    :class:`InputSummary` per capture, in input order.
    """

    packets_read: int
    packets_in_flows: int
    skipped: Dict[str, int]
    flows_written: int
    flows_not_written: int
    transport_incomplete: int
    orphan_fragments: int
    backward_timestamps: int
    peak_active_flows: int
    evicted_flows: int
    memory_evicted_flows: int
    timestamp_outliers: int
    unknown_interface_blocks: int
    simple_packet_blocks: int
    interrupted: bool
    elapsed_seconds: float
    #: Flows whose application data was malformed (their app columns are null there).
    app_malformed_flows: int = 0
    #: Packets dropped as duplicates (``--dedup``; not offered in Python yet).
    duplicates_dropped: int = 0
    #: Packets later than ``--reorder-window``, and packets released early (not in Python yet).
    reorder_late: int = 0
    reorder_forced: int = 0
    #: IPComp payloads that did not inflate (their packets stayed in the outer flow).
    ipcomp_not_inflated: int = 0
    #: How captures were split into byte ranges with ``threads`` > 1.
    parallel_reading: Dict[str, int] = field(default_factory=dict)
    inputs: List[InputSummary] = field(default_factory=list)
    #: Fields of a newer engine that this class does not name yet.
    extra: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> "RunSummary":
        """The summary as the engine reports it (``flowq extract --stats-json``)."""
        data = json.loads(text)
        known = {f.name for f in fields(cls)} - {"extra"}
        args = {k: v for k, v in data.items() if k in known}
        args["extra"] = {k: v for k, v in data.items() if k not in known}
        input_fields = {f.name for f in fields(InputSummary)}
        args["inputs"] = [
            InputSummary(**{k: v for k, v in i.items() if k in input_fields})
            for i in data.get("inputs", [])
        ]
        return cls(**args)

    def to_dict(self) -> Dict[str, Any]:
        """The summary as plain data (the ``--stats-json`` layout)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out["inputs"] = [{f.name: getattr(i, f.name) for f in fields(i)} for i in self.inputs]
        out.update(self.extra)
        return out

    @property
    def failed_inputs(self) -> List[InputSummary]:
        """Inputs that could not be read at all."""
        return [i for i in self.inputs if i.status == "failed"]

    @property
    def partial_inputs(self) -> List[InputSummary]:
        """Inputs read up to a truncated or corrupt record."""
        return [i for i in self.inputs if i.status == "partial"]


def last_summary() -> Optional[RunSummary]:
    """The :class:`RunSummary` of the last run of this thread that ended
    (an :func:`extract` or :func:`packets` call, or a :func:`stream` read to
    its end), else ``None``. A run stopped by KeyboardInterrupt has none."""
    return getattr(_last, "summary", None)


def profiles() -> List[str]:
    """The profiles' names (``flowq extract --profile``; docs/features.md)."""
    return list(_native.profiles())


def _paths(paths: Paths) -> List[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    if isinstance(paths, bytes):
        raise TypeError("paths: give str or os.PathLike, not bytes")
    out = [os.fspath(p) for p in paths]
    if not out:
        raise ValueError("no input given")
    return out


def _start(rows: str, paths: Paths, options: Dict[str, Any]) -> "_native.Run":
    run = _native.Run(_paths(paths), rows, options)
    for path, why in run.skipped_files:
        warnings.warn(f"{path}: {why}; skipped", stacklevel=3)
    return run


class _Progress:
    """A tqdm bar (text in terminals, a widget in notebooks) over the bytes
    read, with the packets and open flows beside it."""

    def __init__(self, run: "_native.Run", what: str):
        from tqdm.auto import tqdm

        self._run = run
        self._bar = tqdm(
            total=run.total_bytes,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"flowq {what}",
            leave=True,
        )

    def update(self) -> None:
        bytes_read, packets_read, active_flows, _ = self._run.progress()
        self._bar.set_postfix(packets=packets_read, open_flows=active_flows, refresh=False)
        # tqdm redraws at most every 0.1 s however often it is updated.
        self._bar.update(bytes_read - self._bar.n)

    def close(self) -> None:
        self.update()
        self._bar.refresh()
        self._bar.close()


def _batches(run: "_native.Run", progress: bool, what: str) -> Iterator[pa.RecordBatch]:
    """The run's batches; the run is stopped if the caller stops early."""
    bar = _Progress(run, what) if progress else None
    on_wait: Optional[Callable[[], None]] = bar.update if bar else None
    try:
        while True:
            batch = run.next_batch(on_wait)
            if batch is None:
                return
            if bar is not None:
                bar.update()
            yield batch
    finally:
        run.close()
        if bar is not None:
            bar.close()


def _finish(run: "_native.Run", result: Optional[pa.Table], on_error: str) -> RunSummary:
    """Records the summary and raises (or warns) as the command line fails."""
    text = run.summary_json()
    if text is None:  # pragma: no cover - only after a KeyboardInterrupt, which propagates
        raise RuntimeError("the run has not ended")
    summary = RunSummary.from_json(text)
    _last.summary = summary
    problems = []
    for i in summary.inputs:
        if i.status == "failed":
            problems.append(f"{i.name}: {i.message}")
        elif i.status == "partial":
            problems.append(
                f"{i.name}: {i.message}; the {i.packets_read} packets before it were used"
            )
    if not problems:
        return summary
    if len(summary.failed_inputs) == len(summary.inputs):
        raise CaptureError("no input could be read: " + "; ".join(problems), summary, None)
    message = "; ".join(problems)
    if on_error == "warn":
        warnings.warn(message, stacklevel=3)
        return summary
    raise CaptureError(message, summary, result)


def _check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "warn"):
        raise ValueError(f"`{on_error}` is not an on_error choice (one of raise, warn)")


def _with_metadata(table: pa.Table, profile: str, summary: Optional[RunSummary]) -> pa.Table:
    metadata = dict(table.schema.metadata or {})
    metadata[b"flowq.profile"] = profile.encode()
    if summary is not None:
        metadata[b"flowq.summary"] = json.dumps(summary.to_dict()).encode()
    return table.replace_schema_metadata(metadata)


# The options of extract, stream and packets, the same for the three (appended
# to each docstring, so that help() on any of them is complete).
_OPTIONS_DOC = """
Options (the command line's, with its names, defaults and messages)

paths
    A capture (pcap or pcapng, optionally .gz or .zst), a directory (every
    capture below it, sorted), ``"-"`` (standard input) or a list of these.
    Flows never continue from one file into the next.
profile
    ``standard`` (default), ``seed``, ``full``, ``nfstream``, ``cic2017``,
    ``cic2018`` or ``cic`` (see :func:`profiles`, :func:`columns`).
idle_timeout
    End a flow after this many seconds without packets (0 = never).
active_timeout
    End a flow after it has lasted this many seconds; later packets start
    a new flow (0 = never). Default 1800, or 120 for the cic profiles.
tcp_close_grace
    After a TCP close, packets other than a new SYN within this many
    seconds still belong to the closed flow.
unidirectional
    Key flows on the ordered 5-tuple: each direction is its own flow.
max_flows
    Most flows open at once in one capture; beyond it the least recently
    active flow of a partition ends with end reason ``evicted``. Default:
    as many as fit in ``flow_memory``.
flow_memory
    Flow-state memory for the whole process, bytes or text such as
    ``"512MiB"`` (default 4 GiB).
tunnels
    ``inner``: key tunnelled packets on the inner packet (GRE, ERSPAN,
    VXLAN, Geneve, GTP-U, IP-in-IP); ``outer``: on the outermost IP header.
splt
    Packets kept in the early-flow sequence columns (``full``: default 10;
    ``nfstream``: default 0 = none).
stats
    ``nfstream`` profile: add NFStream's 48 statistical columns.
cic_compat
    cic profiles: ``fixed`` (CICFlowMeter with its bugs fixed) or ``bugs``.
cic_timestamp
    cic profiles: ``utc`` or ``original`` (CICFlowMeter's text).
ppi
    ``full`` profile: the per-packet information (PPI) sequence of the first
    N packets with payload, CESNET's (``ppi_size``, ``ppi_dir``,
    ``ppi_ipt_ms``, ``ppi_flags``, ``ppi_len``, ``ppi_duration``,
    ``ppi_roundtrips``); the command line's ``--ppi=N`` (30 is CESNET's).
ppi_pad
    Write the PPI columns as fixed-size lists of N values padded with 0:
    each is then one contiguous buffer, ``(flows, N)`` in NumPy.
ppi_all_packets
    Count every packet in the PPI sequence and the histograms, including
    packets without payload and TCP duplicates (CESNET leaves them out).
histograms
    ``full`` profile: CESNET's 8-bin log-scale histograms of payload sizes
    and inter-packet times per direction (``fwd_size_hist``, ...).
byte_dist
    ``full`` profile: per direction, the counts of each byte value over the
    first K payload bytes, their entropy and the whole payload's (Joy).
payload_prefix
    ``full`` profile: the first N payload bytes of each direction (binary).
    Payload can hold personal data and addresses.
payload_packets
    ``full`` profile: ``(M, N)``: the first N payload bytes of each of the
    first M packets with payload, and their directions.
flowpic
    ``full`` profile: FlowPic's 32 x 32 size-by-time histogram over the first
    S seconds of each flow.
no_app
    ``standard`` and ``full`` profiles: leave out the application-metadata
    columns (``community_id``, ``server_name``, TLS, QUIC, DNS, HTTP, SSH)
    and parse no payload.
community_id_seed
    Seed of the ``community_id`` column (Community ID v1; default 0).
dissect
    ``nfstream`` profile: add NFStream's dissection columns
    (``application_name`` ... ``content_type``), from flowq's own parsers.
threads
    Flow-table shards per capture (``-j``); the rows are the same for any.
drop_identifiers
    Leave out addresses, ports, absolute times, flow ids and VLAN ids, so
    a model learns behaviour rather than the testbed's addressing (the
    command line's ``--drop-identifiers``; those columns are not built).
progress
    Show a progress bar (tqdm: text in a terminal, a widget in a notebook).
on_error
    ``raise`` (default): a capture that cannot be read, or only partly,
    raises :class:`CaptureError` carrying what was read (where the command
    line writes its output and exits with 1; a stream raises it after its
    last batch); ``warn``: a warning instead. A run in which no capture
    could be read always raises.

Raises FileNotFoundError for a path that does not exist, ValueError for
options the command line refuses (with its message), CaptureError as above.
The run's :class:`RunSummary` is :func:`last_summary` once the run has
ended (for a stream: once read to its end).

Not yet offered (``flowq extract`` only): ``labels``, ``default_label``,
``anonymize``, ``rotated``, ``reorder_window``, ``dedup``, ``stats_json`` (see :func:`last_summary`) and
dataset directories; docs/python.md shows how to label flows with pandas.
"""


def _document_options(function):
    function.__doc__ = inspect.cleandoc(function.__doc__) + "\n" + _OPTIONS_DOC
    return function


@_document_options
def stream(
    paths: Paths,
    profile: str = "standard",
    *,
    idle_timeout: float = 120.0,
    active_timeout: Optional[float] = None,
    tcp_close_grace: float = 5.0,
    unidirectional: bool = False,
    max_flows: Optional[int] = None,
    flow_memory: Union[int, str] = "4GiB",
    tunnels: str = "inner",
    splt: Optional[int] = None,
    stats: bool = False,
    cic_compat: str = "fixed",
    cic_timestamp: str = "utc",
    ppi: Optional[int] = None,
    ppi_pad: bool = False,
    ppi_all_packets: bool = False,
    histograms: bool = False,
    byte_dist: Optional[int] = None,
    payload_prefix: Optional[int] = None,
    payload_packets: Optional[Tuple[int, int]] = None,
    flowpic: Optional[int] = None,
    no_app: bool = False,
    community_id_seed: int = 0,
    dissect: bool = False,
    threads: int = 1,
    drop_identifiers: bool = False,
    progress: bool = False,
    on_error: str = "raise",
) -> pa.RecordBatchReader:
    """Flows of the captures in ``paths`` as a ``pyarrow.RecordBatchReader``.

    The rows, their order and their values are those of ``flowq extract
    PATHS -o flows.parquet`` with the same options. Batches are produced
    while the captures are read, on an engine thread that never holds the
    GIL; at most two finished batches wait for the reader, so memory is the
    flow table's plus a few batches, whatever the size of the captures. Stop
    reading (or press Ctrl-C: KeyboardInterrupt) and the extraction stops.

    The reader implements ``__arrow_c_stream__``: ``polars.from_arrow(r)``,
    ``duckdb.sql("select ... from r")`` read it without copies. It can be
    read once.

    Options, errors and the run summary: below.
    Not yet offered (``flowq extract`` only): ``labels``, ``default_label``,
    ``anonymize``, ``rotated``, ``reorder_window``, ``dedup``, ``stats_json`` (see :func:`last_summary`)
    and dataset directories; docs/python.md shows how to label flows with
    pandas.
    """
    _check_on_error(on_error)
    run = _start("flows", paths, _options(locals()))
    return pa.RecordBatchReader.from_batches(run.schema, _stream_batches(run, progress, on_error))


def _stream_batches(run: "_native.Run", progress: bool, on_error: str) -> Iterator[pa.RecordBatch]:
    yield from _batches(run, progress, "flows")
    _finish(run, None, on_error)


@_document_options
def extract(
    paths: Paths,
    profile: str = "standard",
    *,
    idle_timeout: float = 120.0,
    active_timeout: Optional[float] = None,
    tcp_close_grace: float = 5.0,
    unidirectional: bool = False,
    max_flows: Optional[int] = None,
    flow_memory: Union[int, str] = "4GiB",
    tunnels: str = "inner",
    splt: Optional[int] = None,
    stats: bool = False,
    cic_compat: str = "fixed",
    cic_timestamp: str = "utc",
    ppi: Optional[int] = None,
    ppi_pad: bool = False,
    ppi_all_packets: bool = False,
    histograms: bool = False,
    byte_dist: Optional[int] = None,
    payload_prefix: Optional[int] = None,
    payload_packets: Optional[Tuple[int, int]] = None,
    flowpic: Optional[int] = None,
    no_app: bool = False,
    community_id_seed: int = 0,
    dissect: bool = False,
    threads: int = 1,
    drop_identifiers: bool = False,
    progress: bool = False,
    on_error: str = "raise",
) -> pa.Table:
    """Flows of the captures in ``paths`` as a ``pyarrow.Table``.

    The same rows, order and values as ``flowq extract PATHS -o
    flows.parquet`` with the same options (:func:`stream` gives them batch
    by batch while the captures are read). The table's buffers are the
    engine's: ``polars.from_arrow(table)``, ``duckdb.sql("select ... from
    table")`` and ``table.to_pandas(types_mapper=pandas.ArrowDtype)`` read
    them without copies (a plain ``to_pandas()`` converts to NumPy-backed
    columns, one copy).

    The schema metadata holds ``flowq.profile`` and ``flowq.summary`` (the
    :class:`RunSummary` as JSON, also :func:`last_summary`).

    Example::

        flows = flowq.extract("capture.pcap", profile="full", idle_timeout=60)
        df = flows.to_pandas()
    """
    _check_on_error(on_error)
    run = _start("flows", paths, _options(locals()))
    return _collect(run, progress, on_error, profile, "flows")


@_document_options
def packets(
    paths: Paths,
    profile: str = "standard",
    *,
    idle_timeout: float = 120.0,
    active_timeout: Optional[float] = None,
    tcp_close_grace: float = 5.0,
    unidirectional: bool = False,
    max_flows: Optional[int] = None,
    flow_memory: Union[int, str] = "4GiB",
    tunnels: str = "inner",
    splt: Optional[int] = None,
    stats: bool = False,
    cic_compat: str = "fixed",
    cic_timestamp: str = "utc",
    ppi: Optional[int] = None,
    ppi_pad: bool = False,
    ppi_all_packets: bool = False,
    histograms: bool = False,
    byte_dist: Optional[int] = None,
    payload_prefix: Optional[int] = None,
    payload_packets: Optional[Tuple[int, int]] = None,
    flowpic: Optional[int] = None,
    no_app: bool = False,
    community_id_seed: int = 0,
    dissect: bool = False,
    threads: int = 1,
    progress: bool = False,
    on_error: str = "raise",
) -> pa.Table:
    """One row per IP packet of the captures in ``paths``, as a ``pyarrow.Table``.

    The columns are those of the ``packets`` table of flowq's SQL over
    captures (``flowq columns --packets``; docs/features.md): ``packet_id``,
    ``ts``, addresses, ports, lengths, ``tcp_flags``, ``direction`` (``fwd``
    from the flow's ``src``) and ``flow_id``, the flow the packet is counted
    in, then ``capture``, the file it was read from. As there, flows are
    formed per capture and ``flow_id`` is numbered within its capture: it
    matches the ``flow_id`` of ``flowq.extract(capture)`` with the same flow
    options (for a single capture; :func:`extract` over several numbers them
    as one stream). The profile and flow options decide the flows; the
    column options (``splt``, ``stats``, ``cic_timestamp``, the deep-learning
    inputs) change nothing here, and there is no ``drop_identifiers``.
    """
    _check_on_error(on_error)
    run = _start("packets", paths, _options(dict(locals(), drop_identifiers=False)))
    return _collect(run, progress, on_error, profile, "packets")


def _collect(
    run: "_native.Run", progress: bool, on_error: str, profile: str, what: str
) -> pa.Table:
    batches = list(_batches(run, progress, what))
    table = pa.Table.from_batches(batches, schema=run.schema)
    try:
        summary = _finish(run, table, on_error)
    except CaptureError as e:
        if e.result is not None:
            e.result = _with_metadata(e.result, profile, e.summary)
        raise
    return _with_metadata(table, profile, summary)


def columns(
    profile: str = "standard",
    *,
    splt: Optional[int] = None,
    stats: bool = False,
    cic_compat: str = "fixed",
    cic_timestamp: str = "utc",
    ppi: Optional[int] = None,
    ppi_pad: bool = False,
    ppi_all_packets: bool = False,
    histograms: bool = False,
    byte_dist: Optional[int] = None,
    payload_prefix: Optional[int] = None,
    payload_packets: Optional[Tuple[int, int]] = None,
    flowpic: Optional[int] = None,
    no_app: bool = False,
    community_id_seed: int = 0,
    dissect: bool = False,
    drop_identifiers: bool = False,
    packets: bool = False,
) -> pa.Table:
    """The columns of ``profile`` with these options (``flowq columns``), as a
    ``pyarrow.Table`` with ``name``, ``type`` (the Arrow type), ``unit`` (as
    docs/features.md gives it: ``s``, ``bytes``, ``µs``, ...; null for counts,
    text and other columns without one), ``nullable`` and ``description`` (a
    one-line definition; docs/features.md has each column's direction and
    edge cases). ``drop_identifiers``: the
    columns left with that option. ``packets=True``: the columns of
    :func:`packets` instead.

    Example: ``flowq.columns("full").to_pandas()``.
    """
    options = _options(dict(locals(), **_DEFAULT_FLOW_OPTIONS))
    schema, docs = _native.columns(options, packets)
    units = _documented_units()
    return pa.table(
        {
            "name": pa.array(schema.names, pa.string()),
            "type": pa.array([str(f.type) for f in schema], pa.string()),
            "unit": pa.array([units.get(n.strip()) for n in schema.names], pa.string()),
            "nullable": pa.array([f.nullable for f in schema], pa.bool_()),
            "description": pa.array(docs, pa.string()),
        }
    )


_UNITS: Optional[Dict[str, Optional[str]]] = None


def _documented_units() -> Dict[str, Optional[str]]:
    """Each column's unit from the tables of docs/features.md (compiled into
    the module): in a table with a ``unit`` column, every backticked name
    before the ``type`` column has that row's unit (``–``: none)."""
    global _UNITS
    if _UNITS is None:
        units: Dict[str, Optional[str]] = {}
        header: List[str] = []
        for line in _native.features_page().splitlines():
            if not line.startswith("|"):
                header = []
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not header:
                header = cells
                continue
            if "unit" not in header or "type" not in header or set(cells[0]) <= {"-"}:
                continue
            unit = cells[header.index("unit")]
            for cell in cells[: header.index("type")]:
                for name in re.findall(r"`([^`]+)`", cell):
                    units.setdefault(name.strip(), None if unit in ("–", "-", "") else unit)
        _UNITS = units
    return _UNITS


_OPTION_NAMES = (
    "profile",
    "idle_timeout",
    "active_timeout",
    "tcp_close_grace",
    "unidirectional",
    "max_flows",
    "flow_memory",
    "tunnels",
    "splt",
    "stats",
    "cic_compat",
    "cic_timestamp",
    "threads",
    "drop_identifiers",
    "ppi",
    "ppi_pad",
    "ppi_all_packets",
    "histograms",
    "byte_dist",
    "payload_prefix",
    "payload_packets",
    "flowpic",
    "no_app",
    "community_id_seed",
    "dissect",
)

# The flow options columns() does not take (they change no column).
_DEFAULT_FLOW_OPTIONS = {
    "idle_timeout": 120.0,
    "active_timeout": None,
    "tcp_close_grace": 5.0,
    "unidirectional": False,
    "max_flows": None,
    "flow_memory": "4GiB",
    "tunnels": "inner",
    "threads": 1,
}


def _options(arguments: Dict[str, Any]) -> Dict[str, Any]:
    options = {name: arguments[name] for name in _OPTION_NAMES}
    if options["payload_packets"] is not None:
        # (M, N) from a tuple, a list or any pair.
        options["payload_packets"] = tuple(options["payload_packets"])
    return options
