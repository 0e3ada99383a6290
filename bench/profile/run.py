#!/usr/bin/env python3
"""Profile the same tables with dasynth, ydata-profiling (minimal) and plain pandas.

    bash bench/profile/setup.sh          # once: bench/.venv with pandas, pyarrow, ydata-profiling
    bash bench/profile/fetch_data.sh     # once: bench/data/flights.{csv,parquet}, flights_3m.{parquet,csv},
                                         #       flights_x10.csv, ledger_pairs.csv
    python3 bench/profile/run.py         # all tables, all tools
    python3 bench/profile/run.py --tables flights.csv flights.parquet --tools ydata pandas

With --repeat N the tools take turns (dasynth, ydata, pandas, dasynth, ...), so drift in
machine load during one table weighs on all three alike; the median time is kept. Before each
run the input file is read once, so every tool starts with it in the page cache.
Each tool runs as its own subprocess, started from a fresh measuring child process, so
the peak RSS is that of the tool's own process tree (getrusage(RUSAGE_CHILDREN).ru_maxrss:
the largest resident set of any one descendant; dasynth's crawl and profile are two
processes run one after the other, and the larger of the two is reported). Wall time is
the whole subprocess, start-up and file reading included:

  dasynth  $DASYNTH_BIN crawl FILE --out RUNDIR --quiet ; $DASYNTH_BIN profile RUNDIR --quiet
  ydata    pandas read + ProfileReport(df, minimal=True).to_json()
  pandas   pandas read + df.describe(include="all") + df[c].value_counts() for every column

The main process needs only the standard library; the ydata and pandas workers run with
bench/.venv/bin/python (or $BENCH_PYTHON). If the dasynth binary is not there, dasynth is
skipped with a message and the ratios read n/a. The Markdown table is printed and written
to bench/results/profile.md (gitignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "bench", "data")
RESULTS = os.path.join(ROOT, "bench", "results")
DEFAULT_TABLES = ["flights.csv", "flights.parquet", "flights_3m.parquet", "flights_3m.csv", "flights_x10.csv", "ledger_pairs.csv"]
TOOLS = ["dasynth", "ydata", "pandas"]

# Runs in a fresh interpreter: runs each command of argv[1] (a JSON list of argv lists) in
# turn, then prints {"wall_s", "maxrss_kib", "rc", "stdout", "stderr"} as JSON.
MEASURE = r"""
import json, resource, subprocess, sys, time
cmds = json.loads(sys.argv[1]); timeout = float(sys.argv[2])
t0 = time.perf_counter(); rc = 0; out = []; err = []
for cmd in cmds:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        rc = -9; err.append("timeout after %ss" % timeout); break
    out.append(p.stdout); err.append(p.stderr[-4000:])
    if p.returncode != 0:
        rc = p.returncode; break
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "maxrss_kib": ru.ru_maxrss, "rc": rc,
                  "stdout": "".join(out)[-4000:], "stderr": "".join(err)[-4000:]}))
"""


def worker(tool: str, path: str) -> int:
    """Runs inside the measured subprocess: read the table and profile it with pandas or ydata."""
    import warnings

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    import pandas as pd

    if path.endswith(".parquet"):
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, low_memory=False)
    t_read = time.perf_counter() - t0
    if tool == "ydata":
        from ydata_profiling import ProfileReport

        report = ProfileReport(df, minimal=True, progress_bar=False)
        out = report.to_json()
        size = len(out)
    elif tool == "pandas":
        desc = df.describe(include="all")
        counts = {c: df[c].value_counts() for c in df.columns}
        size = desc.size + sum(len(v) for v in counts.values())
    else:
        raise SystemExit(f"unknown worker tool {tool}")
    print(json.dumps({"read_s": t_read, "total_s": time.perf_counter() - t0,
                      "rows": int(len(df)), "columns": int(df.shape[1]), "output_size": size}))
    return 0


def find_python() -> str:
    env = os.environ.get("BENCH_PYTHON")
    if env:
        return env
    venv = os.path.join(ROOT, "bench", ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def find_dasynth() -> str | None:
    b = os.environ.get("DASYNTH_BIN", os.path.join("target", "release", "dasynth"))
    if not os.path.isabs(b) and not os.path.exists(b):
        b = os.path.join(ROOT, b)
    if os.path.isfile(b) and os.access(b, os.X_OK):
        return os.path.abspath(b)
    found = shutil.which(b)
    return found


def measure(cmds: list[list[str]], timeout: float) -> dict:
    p = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(cmds), str(timeout)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return {"rc": p.returncode, "wall_s": None, "maxrss_kib": None, "stderr": p.stderr[-2000:]}
    return json.loads(p.stdout)


def warm(path: str) -> None:
    """Reads the input once so every run starts with it in the page cache (the machine's cache
    is sometimes dropped between runs, which would charge a disk read to whichever tool came
    next)."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def run_tool(tool: str, path: str, py: str, dasynth: str | None, timeout: float) -> dict:
    warm(path)
    if tool == "dasynth":
        rundir = tempfile.mkdtemp(prefix="dasynth-bench-")
        try:
            r = measure([[dasynth, "crawl", path, "--out", rundir, "--quiet"],
                         [dasynth, "profile", rundir, "--quiet"]], timeout)
            prof = os.path.join(rundir, "profiles")
            n = len([f for f in os.listdir(prof) if f.endswith(".json")]) if os.path.isdir(prof) else 0
            if r["rc"] == 0 and n == 0:
                r["rc"] = -1
                r["stderr"] = (r.get("stderr") or "") + "\nno profiles/*.json written"
            r["detail"] = f"{n} profile(s)"
        finally:
            shutil.rmtree(rundir, ignore_errors=True)
        return r
    r = measure([[py, os.path.abspath(__file__), "--worker", tool, path]], timeout)
    if r.get("rc") == 0:
        try:
            info = json.loads(r["stdout"].strip().splitlines()[-1])
            r["detail"] = f"read {info['read_s']:.2f}s, {info['rows']:,} rows x {info['columns']}"
            r["rows"] = info["rows"]
        except Exception:  # noqa: BLE001
            pass
    return r


def fmt_s(v):
    return "-" if v is None else f"{v:.2f}"


def fmt_mib(v):
    return "-" if v is None else f"{v:.0f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.1f}x"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", nargs="*", default=None,
                    help="file names in bench/data or paths (default: %s)" % ", ".join(DEFAULT_TABLES))
    ap.add_argument("--tools", nargs="*", default=TOOLS, choices=TOOLS)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per tool and table, the tools taking turns; the median wall time and the largest peak are kept")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per tool run (default 3600)")
    ap.add_argument("--out", default=os.path.join(RESULTS, "profile.md"))
    ap.add_argument("--worker", nargs=2, metavar=("TOOL", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(*args.worker)

    py = find_python()
    tools = list(args.tools)
    dasynth = find_dasynth() if "dasynth" in tools else None
    notes = []
    if "dasynth" in tools and dasynth is None:
        msg = ("dasynth binary not found (DASYNTH_BIN=%r, default target/release/dasynth): "
               "skipping dasynth; build it with `cargo build --release` or set DASYNTH_BIN"
               % os.environ.get("DASYNTH_BIN"))
        print(msg, file=sys.stderr)
        notes.append(msg)
        tools.remove("dasynth")

    names = args.tables if args.tables else DEFAULT_TABLES
    tables = []
    for n in names:
        p = n if os.path.exists(n) else os.path.join(DATA, n)
        if not os.path.exists(p):
            msg = f"table {n} not found (run bench/profile/fetch_data.sh): skipped"
            print(msg, file=sys.stderr)
            notes.append(msg)
            continue
        tables.append(os.path.abspath(p))
    if not tables:
        print("no tables to run", file=sys.stderr)
        return 2

    # The tools take turns run by run (dasynth, ydata, pandas, dasynth, ...), so a change in
    # machine load while one table is measured weighs on every tool alike.
    results: dict[tuple[str, str], dict] = {}
    for path in tables:
        runs: dict[str, list] = {tool: [] for tool in tools}
        for i in range(args.repeat):
            for tool in tools:
                if runs[tool] and runs[tool][-1].get("rc") != 0:
                    continue
                print(f"[{os.path.basename(path)}] {tool} run {i + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
                r = run_tool(tool, path, py, dasynth, args.timeout)
                runs[tool].append(r)
                if r.get("rc") != 0:
                    print(f"  FAILED rc={r.get('rc')}: {(r.get('stderr') or '').strip()[-800:]}", file=sys.stderr)
                    continue
                print(f"  {r['wall_s']:.2f}s, peak {r['maxrss_kib'] / 1024:.0f} MiB  {r.get('detail', '')}", file=sys.stderr)
        for tool in tools:
            ok = [r for r in runs[tool] if r.get("rc") == 0]
            if ok and len(ok) == len(runs[tool]):
                results[(path, tool)] = {
                    "wall_s": statistics.median(r["wall_s"] for r in ok),
                    "mib": max(r["maxrss_kib"] for r in ok) / 1024,
                    "detail": ok[-1].get("detail", ""),
                    "rows": ok[-1].get("rows"),
                }
            else:
                results[(path, tool)] = {"wall_s": None, "mib": None, "failed": True,
                                         "detail": f"failed rc={runs[tool][-1].get('rc')}"}

    def cell(path, tool, key):
        r = results.get((path, tool))
        if r is None:
            return None
        return r.get(key)

    lines = []
    lines.append("# Profiling benchmark: dasynth vs ydata-profiling (minimal) vs pandas")
    lines.append("")
    lines.append(f"- date: {dt.datetime.now().isoformat(timespec='seconds')}")
    lines.append(f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    lines.append(f"- python for workers: `{py}` ({worker_versions(py)})")
    lines.append(f"- dasynth: `{dasynth or 'not found'}`")
    lines.append(f"- repeats: {args.repeat} (median wall time, largest peak RSS)")
    lines.append("- seconds = wall time of the whole subprocess (start-up and reading the file included); "
                 "MiB = peak RSS of the largest process in the tool's process tree")
    lines.append("")
    lines.append("| table | rows | dasynth s | dasynth MiB | ydata s | ydata MiB | pandas s | pandas MiB "
                 "| ydata/dasynth time | pandas/dasynth time | ydata/dasynth mem | pandas/dasynth mem |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in tables:
        rows = cell(path, "pandas", "rows") or cell(path, "ydata", "rows")
        d_s, d_m = cell(path, "dasynth", "wall_s"), cell(path, "dasynth", "mib")
        y_s, y_m = cell(path, "ydata", "wall_s"), cell(path, "ydata", "mib")
        p_s, p_m = cell(path, "pandas", "wall_s"), cell(path, "pandas", "mib")
        lines.append(
            f"| {os.path.basename(path)} | {rows:,} |" if rows else f"| {os.path.basename(path)} | - |"
        )
        lines[-1] += (f" {fmt_s(d_s)} | {fmt_mib(d_m)} | {fmt_s(y_s)} | {fmt_mib(y_m)} | {fmt_s(p_s)} | {fmt_mib(p_m)}"
                      f" | {ratio(y_s, d_s)} | {ratio(p_s, d_s)} | {ratio(y_m, d_m)} | {ratio(p_m, d_m)} |")
    details = [f"- {os.path.basename(p)} / {t}: {r.get('detail', '')}" for (p, t), r in results.items()]
    if details:
        lines.append("")
        lines.append("Details:")
        lines.extend(details)
    if notes:
        lines.append("")
        lines.append("Notes:")
        lines.extend(f"- {n}" for n in notes)
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"written to {args.out}", file=sys.stderr)
    failed = [k for k, r in results.items() if r.get("failed")]
    return 1 if failed else 0


def worker_versions(py: str) -> str:
    code = ("import importlib.metadata as m\n"
            "out=[]\n"
            "for n in ('pandas','pyarrow','numpy','ydata-profiling'):\n"
            "    try: out.append(n+' '+m.version(n))\n"
            "    except Exception: out.append(n+' missing')\n"
            "print(', '.join(out))")
    try:
        return subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception:  # noqa: BLE001
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
