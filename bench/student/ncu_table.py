#!/usr/bin/env python3
"""Sums Nsight Compute's per-kernel GPU time (`--csv --page raw`, metric gpu__time_duration.sum)
by kernel name: launches, total and mean microseconds, slowest first.

usage: ncu_table.py NCU.csv
"""

import csv
import sys
from collections import defaultdict


def main() -> None:
    rows = []
    with open(sys.argv[1], newline="") as f:
        lines = [l for l in f if l.startswith('"')]
    reader = csv.DictReader(lines)
    scale = {"nsecond": 1.0, "ns": 1.0, "usecond": 1e3, "us": 1e3, "msecond": 1e6, "ms": 1e6, "second": 1e9, "s": 1e9}
    to_ns = 1.0
    units = "nsecond"
    for r in reader:
        value = r.get("gpu__time_duration.sum", "")
        if value in scale:  # the units row
            units, to_ns = value, scale[value]
            continue
        try:
            rows.append((r.get("Kernel Name", "?"), float(value.replace(",", "")) * to_ns))
        except ValueError:
            continue
    total = defaultdict(float)
    count = defaultdict(int)
    for name, t in rows:
        short = name.split("(")[0][:70]
        total[short] += t
        count[short] += 1
    grand = sum(total.values())
    print(f"{len(rows)} kernels, {grand / 1e3:.1f} us of GPU time (the file in {units})")
    print(f"{'kernel':70}  {'launches':>8}  {'total us':>10}  {'mean us':>8}  share")
    for k in sorted(total, key=total.get, reverse=True)[:40]:
        print(f"{k:70}  {count[k]:8}  {total[k] / 1e3:10.1f}  {total[k] / count[k] / 1e3:8.2f}  {100 * total[k] / grand:4.1f}%")


if __name__ == "__main__":
    main()
