"""pandas, polars and DuckDB read flowq's Arrow data through the C stream
interface, and the engine's buffers are not copied on the way."""

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

import flowq

from conftest import TESTDATA

SAMPLE = TESTDATA / "sample.pcap"


def buffer_address(array: pa.Array) -> int:
    return array.buffers()[1].address


def test_the_engines_buffers_reach_pyarrow_without_a_copy():
    """pyarrow's allocator does not grow: the table's buffers are the ones the
    engine allocated, imported through the C data interface."""
    before = pa.total_allocated_bytes()
    table = flowq.extract([SAMPLE] * 80)
    assert table.nbytes > 1_000_000
    assert pa.total_allocated_bytes() - before < 10_000


def test_polars_reads_the_same_buffers():
    table = flowq.extract(SAMPLE)
    df = pl.from_arrow(table, rechunk=False)
    assert df.shape == (table.num_rows, table.num_columns)
    for name in ("pkt_count", "byte_count", "flow_id"):
        ours = table[name].chunks[0]
        theirs = df[name].to_arrow()
        assert buffer_address(theirs) == buffer_address(ours), name
    assert df["pkt_count"].sum() == pc.sum(table["pkt_count"]).as_py()


def test_polars_reads_a_stream():
    df = pl.from_arrow(flowq.stream(SAMPLE))
    assert df.height == 60
    assert df.columns == flowq.columns()["name"].to_pylist()


def test_pandas_reads_the_same_buffers():
    """Arrow-backed pandas columns and NumPy views are the engine's buffers;
    a plain to_pandas() converts (one copy), with the same values."""
    table = flowq.extract(SAMPLE)
    column = table["pkt_count"].chunks[0]
    values = column.to_numpy(zero_copy_only=True)
    assert values.ctypes.data == buffer_address(column)
    arrow_backed = table.to_pandas(types_mapper=pd.ArrowDtype)
    backing = arrow_backed["pkt_count"].array.__arrow_array__().chunks[0]
    assert buffer_address(backing) == buffer_address(column)
    df = table.to_pandas()
    assert df["pkt_count"].sum() == arrow_backed["pkt_count"].sum() == 800
    assert list(df.columns) == table.column_names


def test_duckdb_queries_a_table_and_a_stream():
    flows = flowq.extract(SAMPLE)
    by_table = duckdb.sql(
        "select protocol, count(*) as n, sum(pkt_count) as p from flows group by all order by protocol"
    ).fetchall()
    reader = flowq.stream(SAMPLE)
    by_stream = duckdb.sql(
        "select protocol, count(*) as n, sum(pkt_count) as p from reader group by all order by protocol"
    ).fetchall()
    assert by_table == by_stream
    assert sum(n for _, n, _ in by_table) == 60
    assert sum(p for _, _, p in by_table) == 800


def test_the_c_stream_capsule_is_there():
    assert hasattr(flowq.extract(SAMPLE), "__arrow_c_stream__")
    reader = flowq.stream(SAMPLE)
    capsule = reader.__arrow_c_stream__()
    assert type(capsule).__name__ == "PyCapsule"
    again = pa.RecordBatchReader.from_stream(flowq.stream(SAMPLE))
    assert again.read_all().num_rows == 60


def test_numpy_tensor_of_the_sequence_columns():
    """nfstream's sequences are padded to --splt N: a (flows, N) tensor whose
    values are a view of the list column's child buffer."""
    table = flowq.extract(SAMPLE, profile="nfstream", splt=4)
    column = table["splt_ps"].chunks[0]
    assert pc.all(pc.equal(pc.list_value_length(column), 4)).as_py()
    tensor = column.values.to_numpy(zero_copy_only=True).reshape(len(column), 4)
    assert tensor.shape == (60, 4)
    assert tensor.ctypes.data == column.values.buffers()[1].address
    # The first packet of every flow is there; -1 pads the short flows.
    assert (tensor[:, 0] > 0).all()
    assert set(np.unique(tensor[tensor < 1])) <= {-1}
