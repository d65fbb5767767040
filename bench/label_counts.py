#!/usr/bin/env python3
"""Flows per label of a flowq dataset next to the published corrected CSVs.

    bench/label_counts.py DATASET_DIR CSV_DIR [CSV_DIR ...]

DATASET_DIR is a dataset written by `flowq extract ... -o DIR/ --labels
cic-ids2017` (or cse-cic-ids2018); its counts come from `_dataset.json`
(totals.labels). Each CSV_DIR holds the corrected CSVs the CNS 2022 authors
publish (monday.csv ... friday.csv for CIC-IDS2017, one CSV per day for
CSE-CIC-IDS2018); every *.csv below it is read, streaming, and its `Label`
column counted (the column name may carry spaces, as in the CIC files).

Prints one line per label: flowq's flows, the CSVs' flows, the difference and
the ratio; exit status 0. Differences are expected where the flows differ
(docs/datasets.md, "Where flowq's flows differ ..."): explain each before
using the dataset. Standard library only.
"""

import csv
import json
import sys
from collections import Counter
from pathlib import Path


def published_counts(dirs):
    counts = Counter()
    for d in dirs:
        for path in sorted(Path(d).rglob("*.csv")):
            # The 2017 CSVs are cp1252 (CNS cells 2-6); latin-1 reads any byte.
            with open(path, newline="", encoding="latin-1") as f:
                reader = csv.reader(f)
                header = [h.strip() for h in next(reader)]
                if "Label" not in header:
                    print(f"{path}: no Label column, skipped", file=sys.stderr)
                    continue
                at = header.index("Label")
                for row in reader:
                    if len(row) > at:
                        counts[row[at].strip()] += 1
    return counts


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    manifest = json.loads((Path(sys.argv[1]) / "_dataset.json").read_text())
    ours = Counter(manifest["totals"].get("labels", {}))
    theirs = published_counts(sys.argv[2:])
    width = max((len(l) for l in ours | theirs), default=5)
    print(f"{'label':<{width}}  {'flowq':>10}  {'published':>10}  {'difference':>10}  ratio")
    for label in sorted(ours | theirs):
        a, b = ours.get(label, 0), theirs.get(label, 0)
        ratio = f"{a / b:.4f}" if b else "-"
        print(f"{label:<{width}}  {a:>10}  {b:>10}  {a - b:>+10}  {ratio}")
    a, b = sum(ours.values()), sum(theirs.values())
    print(f"{'(all)':<{width}}  {a:>10}  {b:>10}  {a - b:>+10}  {a / b if b else 0:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
