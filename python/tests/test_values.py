"""Values: against facts about the test captures that do not come from flowq
(the generator's truth file, the original scapy script's CSVs), and against
the command line's Parquet output for the same capture and options (the
command line is the independent path: its own option parsing, its sink)."""

import csv
import json
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import flowq

from conftest import SHARED, TESTDATA, corpus, need


def test_sample_capture_matches_the_generators_truth():
    truth = json.loads((TESTDATA / "sample.pcap.truth.json").read_text())
    flows = flowq.extract(TESTDATA / "sample.pcap")
    # One second of traffic, 60 generated two-way flows: the default timeouts
    # end none of them early, and no flow is cut by a TCP close and reopened.
    assert flows.num_rows == truth["distinct_biflows"] == 60
    assert pc.sum(flows["pkt_count"]).as_py() == truth["packets"]
    assert pc.sum(flows["byte_count"]).as_py() == truth["wire_bytes"]
    protocols = pc.value_counts(flows["protocol"]).to_pylist()
    counts = {p["values"]: p["counts"] for p in protocols}
    # The generator's ICMP flows are ICMP (1) over IPv4 and ICMPv6 (58) over IPv6.
    assert counts == {6: truth["tcp_flows"], 17: truth["udp_flows"], 1: 2, 58: 1}
    assert counts[1] + counts[58] == truth["icmp_flows"]
    assert pc.sum(pc.equal(flows["ip_version"], 6)).as_py() == truth["ipv6_flows"]
    assert pc.sum(pc.not_equal(flows["vlan_id"], 0)).as_py() == truth["vlan_flows"]
    summary = flowq.last_summary()
    assert summary.packets_read == truth["packets"]
    assert summary.flows_written == 60
    assert [i.status for i in summary.inputs] == ["complete"]
    # One-way flows: each generated flow has packets both ways.
    one_way = flowq.extract(TESTDATA / "sample.pcap", unidirectional=True)
    assert one_way.num_rows == truth["distinct_uniflows"]


SEED = TESTDATA / "seed"
SEED_EXCEPTIONS = dict(
    line.split("\t", 1)
    for line in (SEED / "exceptions.tsv").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def seed_capture(fixture: str):
    """testdata/seed/NAME for NAME.csv, else ../shared/pcaps/SOURCE/FILE for
    SOURCE__FILE.csv (as tests/seed.rs finds them)."""
    name = fixture[: -len(".csv")]
    if (SEED / name).exists():
        return SEED / name
    source, file = name.split("__", 1)
    return corpus(f"{source}/{file}")


@pytest.mark.parametrize("fixture", sorted(p.name for p in SEED.glob("*.csv")))
def test_seed_profile_is_the_original_scripts_csv(fixture):
    """The `seed` profile against the CSV the original scapy script wrote
    (testdata/seed/README.md), value by value as text. The script dropped IPv6
    flows, which flowq keeps (docs/features.md): they are left out here; the
    script wrote no header when it had no rows."""
    with open(SEED / fixture, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    with warnings.catch_warnings():
        # Some fixtures end in a truncated record, on purpose.
        warnings.simplefilter("ignore")
        table = flowq.extract(seed_capture(fixture), profile="seed", on_error="warn")
    got = [
        [str(v) for v in row.values()]
        for row in table.to_pylist()
        if ":" not in row["src_ip"]
    ]
    expected_header, expected = (rows[0], rows[1:]) if rows else (table.column_names, [])
    same = table.column_names == expected_header and got == expected
    if fixture in SEED_EXCEPTIONS:
        assert not same, f"{fixture} is listed in exceptions.tsv but now matches"
    else:
        assert table.column_names == expected_header
        assert got == expected


# (keyword arguments, the same options on the command line)
VARIANTS = [
    ({}, []),
    ({"profile": "seed"}, ["--profile", "seed"]),
    ({"profile": "full"}, ["--profile", "full"]),
    ({"profile": "full", "splt": 3}, ["--profile", "full", "--splt", "3"]),
    (
        {
            "profile": "full",
            "ppi": 30,
            "ppi_pad": True,
            "histograms": True,
            "byte_dist": 64,
            "payload_prefix": 16,
            "payload_packets": [3, 8],
            "flowpic": 15,
        },
        [
            "--profile", "full", "--ppi=30", "--ppi-pad", "--histograms", "--byte-dist", "64",
            "--payload-prefix", "16", "--payload-packets", "3", "8", "--flowpic", "15",
        ],
    ),
    ({"profile": "nfstream"}, ["--profile", "nfstream"]),
    (
        {"profile": "nfstream", "stats": True, "splt": 5},
        ["--profile", "nfstream", "--stats", "--splt", "5"],
    ),
    ({"profile": "cic2017"}, ["--profile", "cic2017"]),
    ({"profile": "cic2018"}, ["--profile", "cic2018"]),
    ({"profile": "cic"}, ["--profile", "cic"]),
    (
        {"profile": "cic", "cic_compat": "bugs", "cic_timestamp": "original"},
        ["--profile", "cic", "--cic-compat", "bugs", "--cic-timestamp", "original"],
    ),
    ({"unidirectional": True}, ["--unidirectional"]),
    ({"tunnels": "outer"}, ["--tunnels", "outer"]),
    (
        {"idle_timeout": 1.5, "active_timeout": 10, "tcp_close_grace": 0},
        ["--idle-timeout", "1.5", "--active-timeout", "10", "--tcp-close-grace", "0"],
    ),
    ({"max_flows": 3}, ["--max-flows", "3"]),
    ({"threads": 3}, ["-j", "3"]),
    ({"drop_identifiers": True}, ["--drop-identifiers"]),
    (
        {"profile": "nfstream", "drop_identifiers": True},
        ["--profile", "nfstream", "--drop-identifiers"],
    ),
    (
        {"profile": "cic2017", "drop_identifiers": True},
        ["--profile", "cic2017", "--drop-identifiers"],
    ),
]

# Corpus captures with different link types, tunnels, pcapng and many flows.
CAPTURES = [
    "nfstream/instagram.pcap",
    "tcpdump/pptp.pcap",
    "pcap-parser/wireshark_samples-test.pcapng",
]


def assert_same_rows(ours: pa.Table, theirs: pa.Table):
    assert ours.schema.equals(theirs.schema, check_metadata=False), (ours.schema, theirs.schema)
    # pandas' comparison treats NaN as equal to NaN (the cic profile's
    # --cic-compat bugs writes NaN where CICFlowMeter did).
    pd.testing.assert_frame_equal(ours.to_pandas(), theirs.to_pandas(), check_exact=True)


@pytest.mark.parametrize("capture", CAPTURES)
@pytest.mark.parametrize("kwargs,args", VARIANTS, ids=[" ".join(a) or "default" for _, a in VARIANTS])
def test_extract_equals_the_command_lines_parquet(cli_parquet, capture, kwargs, args):
    path = corpus(capture)
    ours = flowq.extract(path, **kwargs)
    assert ours.num_rows > 0
    assert_same_rows(ours, cli_parquet([path], *args))


def test_several_inputs_and_directories_equal_the_command_line(cli_parquet):
    directory = need(SHARED / "pcaps" / "libpcap", "the shared capture corpus")
    # Captures that cannot be read are part of that directory: the command
    # line writes what it read and exits with 1; extract raises CaptureError
    # with the same rows (flow_id numbered across the inputs, as there).
    with pytest.raises(flowq.CaptureError) as raised:
        flowq.extract(directory)
    ours = raised.value.result
    theirs = cli_parquet([directory], exit_code=1)
    assert_same_rows(ours, theirs)
    summary = raised.value.summary
    assert summary.flows_written == ours.num_rows > 0
    assert {i.status for i in summary.inputs} == {"complete", "failed"}
    assert all(i.message for i in summary.failed_inputs)
    # A list of the files is the same as the directory that holds them.
    files = [i.name for i in summary.inputs]
    with pytest.warns(UserWarning):
        listed = flowq.extract(files, on_error="warn")
    assert_same_rows(listed, theirs)


def test_stream_gives_the_rows_of_extract():
    path = TESTDATA / "sample.pcap"
    table = flowq.extract(path, profile="full")
    reader = flowq.stream(path, profile="full")
    assert isinstance(reader, pa.RecordBatchReader)
    streamed = reader.read_all()
    assert streamed.equals(table.replace_schema_metadata(None), check_metadata=False)


def test_packets_add_up_to_their_flows():
    path = TESTDATA / "sample.pcap"
    flows = flowq.extract(path)
    packets = flowq.packets(path)
    truth = json.loads((TESTDATA / "sample.pcap.truth.json").read_text())
    assert packets.num_rows == truth["packets"]
    assert set(packets["capture"].to_pylist()) == {str(path)}
    per_flow = packets.group_by("flow_id").aggregate([("length", "sum"), ("length", "count")])
    per_flow = {r["flow_id"]: (r["length_count"], r["length_sum"]) for r in per_flow.to_pylist()}
    expected = {
        r["flow_id"]: (r["pkt_count"], r["byte_count"])
        for r in flows.select(["flow_id", "pkt_count", "byte_count"]).to_pylist()
    }
    assert per_flow == expected
    fwd = packets.filter(pc.equal(packets["direction"], "fwd"))
    fwd_counts = pc.value_counts(fwd["flow_id"]).to_pylist()
    fwd_counts = {c["values"]: c["counts"] for c in fwd_counts}
    for r in flows.select(["flow_id", "fwd_pkt_count"]).to_pylist():
        assert fwd_counts.get(r["flow_id"], 0) == r["fwd_pkt_count"]


def test_packets_equal_the_packets_table_of_sql_over_captures(cli, tmp_path):
    path = corpus("tcpdump/pptp.pcap")
    out = tmp_path / "packets.parquet"
    cli(
        "query",
        "select * from packets order by packet_id",
        "--pcap",
        str(path),
        "-o",
        str(out),
        "--format",
        "parquet",
    )
    theirs = pq.read_table(out)
    ours = flowq.packets(path)
    assert_same_rows(ours.select(theirs.column_names), theirs)
