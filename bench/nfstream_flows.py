"""NFStream on one capture, as bench/run.sh measures it: one meter, no
statistical features, no nDPI dissection (flowq does none either), the same
idle/active timeouts as flowq's defaults. Flows are iterated and counted,
not written, which is the least work NFStream does for a file.

usage: nfstream_flows.py CAPTURE [COUNT_FILE] [METERS]

METERS (default 1) is NFStream's `n_meters`: the CIC-IDS2017-sized run of
bench/run.sh gives it the machine's core count, as flowq gets `-j`.
"""

import sys

from nfstream import NFStreamer

streamer = NFStreamer(
    source=sys.argv[1],
    n_meters=int(sys.argv[3]) if len(sys.argv) > 3 else 1,
    statistical_analysis=False,
    n_dissections=0,
    idle_timeout=120,
    active_timeout=1800,
)
flows = sum(1 for _ in streamer)
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write(f"{flows}\n")
print(f"nfstream: {flows} flows", file=sys.stderr)
