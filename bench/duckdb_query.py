"""One SQL query with DuckDB over a Parquet file of flows, as bench/run.sh
measures it against `flowq "QUERY" --data FILE`: the file is the view `flows`,
the result is written as CSV (to OUT, or discarded).

usage: duckdb_query.py FLOWS.parquet QUERY [OUT.csv] [--compare FLOWQ.csv]

With --compare, the query is not timed: its result is checked against flowq's
CSV output of the same query (same rows, values compared as text, floats
rounded), and the query time DuckDB reports for itself is printed.
"""

import csv
import sys
import time

import duckdb

args = sys.argv[1:]
compare = None
if "--compare" in args:
    i = args.index("--compare")
    compare = args[i + 1]
    del args[i : i + 2]
path, query = args[0], args[1]
out = args[2] if len(args) > 2 else None

con = duckdb.connect()
con.execute(f"create view flows as select * from read_parquet('{path}')")
start = time.perf_counter()
rel = con.execute(query)
rows = rel.fetchall()
elapsed = time.perf_counter() - start
columns = [d[0] for d in rel.description]
if out:
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows(rows)


def norm(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{x:.6g}"


if compare:
    with open(compare, newline="") as f:
        theirs = list(csv.reader(f))[1:]
    ours = [[norm(v) for v in r] for r in rows]
    theirs = [[norm(v) for v in r] for r in theirs]
    same = ours == theirs
    print(
        f"duckdb: {len(rows)} rows in {elapsed * 1000:.1f} ms (in-process query time); "
        f"result {'matches' if same else 'DIFFERS FROM'} flowq's ({len(theirs)} rows)"
    )
