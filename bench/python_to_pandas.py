"""A pandas DataFrame of a capture's flows, three ways, as bench/run.sh's
`python` stage measures them (the issue's targets: flowq's Python package
within 1.3x of the command line writing Parquet plus pandas.read_parquet, and
at least 20x faster than NFStream's to_pandas()).

usage: python_to_pandas.py flowq CAPTURE
       python_to_pandas.py cli CAPTURE FLOWQ_BINARY PARQUET
       python_to_pandas.py nfstream CAPTURE
"""

import subprocess
import sys

mode, capture = sys.argv[1], sys.argv[2]
if mode == "flowq":
    import flowq

    df = flowq.extract(capture).to_pandas()
elif mode == "cli":
    import pandas

    binary, parquet = sys.argv[3], sys.argv[4]
    subprocess.run([binary, "extract", capture, "-o", parquet, "-q"], check=True)
    df = pandas.read_parquet(parquet)
elif mode == "nfstream":
    from nfstream import NFStreamer

    # The settings of nfstream_flows.py: one meter, no statistics, no nDPI,
    # flowq's default timeouts.
    df = NFStreamer(
        source=capture,
        n_meters=1,
        statistical_analysis=False,
        n_dissections=0,
        idle_timeout=120,
        active_timeout=1800,
    ).to_pandas()
else:
    sys.exit(f"unknown mode {mode}")
print(f"{mode}: {len(df)} flows, {len(df.columns)} columns", file=sys.stderr)
