"""Replay throughput: `dasynth verify` against native CPython, one subprocess per trajectory.

Run from the workspace root after `cargo build --release -p dasynth-cli`, with a venv that has
pandas, numpy, scipy, scikit-learn and matplotlib:

    python3 -m venv bench/verify/.venv
    bench/verify/.venv/bin/pip install pandas numpy scipy scikit-learn matplotlib
    bench/verify/.venv/bin/python bench/verify/run.py [--run DIR] [--dasynth PATH]

Without --run it makes a demo run with `dasynth generate` (every demo table, the offline
reference teacher) in a temporary folder and records how long the trajectory stage took. Then,
side by side on the same trajectories:

- dasynth: `dasynth verify` with no earlier verdicts (every trajectory replayed in a fresh
  sandbox session, every check run), wall time;
- native: the same cells of every trajectory run in order by one fresh `python` subprocess per
  trajectory (the way DeepAnalyze's tooling runs code), in a copy of the task's workspace, with
  as many trajectories in flight as the machine has cores; outputs are captured, not compared.

It writes bench/verify/results.json and prints a table.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# Runs the cells it is given (JSON list on stdin) in one namespace, like a notebook kernel:
# a final expression is echoed, an exception is printed and the next cell still runs.
DRIVER = r"""
import ast, json, sys, traceback
cells = json.load(sys.stdin)
ns = {"__name__": "__main__"}
for code in cells:
    print("\x00cell", flush=True)
    try:
        tree = ast.parse(code)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            tree.body = tree.body[:-1]
            exec(compile(tree, "<cell>", "exec"), ns)
            v = eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns)
            if v is not None:
                print(repr(v))
        else:
            exec(compile(tree, "<cell>", "exec"), ns)
    except BaseException:
        traceback.print_exc()
"""


def cells_of(t: dict) -> list[str]:
    """The code of every assistant turn followed by an execute message."""
    out = []
    msgs = t["messages"]
    for i, m in enumerate(msgs[:-1]):
        if m["role"] == "assistant" and msgs[i + 1]["role"] == "execute":
            c = m["content"]
            s = c.find("<Code>")
            e = c.find("</Code>", s)
            body = c[s + 6 : e].strip()
            if body.startswith("```"):
                body = body[3:]
                for lang in ("python", "py"):
                    if body.startswith(lang):
                        body = body[len(lang) :]
                        break
                body = body.removesuffix("```").strip("\n") + "\n"
            out.append(body)
    return out


def trajectories(run: Path) -> list[dict]:
    out = []
    for f in sorted((run / "trajectories").glob("*.jsonl")):
        out.extend(json.loads(line) for line in f.read_text().splitlines() if line.strip())
    return out


def native_one(python: str, run: Path, t: dict) -> float:
    cells = cells_of(t)
    if not cells:
        return 0.0
    with tempfile.TemporaryDirectory() as d:
        ws = Path(d) / "ws"
        shutil.copytree(run / "workspaces" / t["task_id"], ws)
        (ws / "outputs").mkdir(exist_ok=True)
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
        started = time.perf_counter()
        subprocess.run([python, "-c", DRIVER], input=json.dumps(cells), cwd=ws, env=env, capture_output=True, text=True, timeout=600)
        return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, help="an existing run folder (default: make a demo run)")
    ap.add_argument("--dasynth", default=str(Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/dasynth-target")) / "release/dasynth"))
    ap.add_argument("--python", default=sys.executable, help="the native CPython (with pandas, scikit-learn, matplotlib)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--native-every", type=int, default=1, help="run every k-th trajectory natively (rates are per trajectory)")
    args = ap.parse_args()

    tmp = None
    run = args.run
    generate_s = None
    if run is None:
        tmp = tempfile.TemporaryDirectory()
        run = Path(tmp.name) / "run"
        subprocess.run([args.dasynth, "generate", "--out", str(run), "-q"], cwd=ROOT, check=False)
    stats = run / "stats" / "trajectories.json"
    if stats.exists():
        generate_s = json.loads(stats.read_text()).get("seconds")
    ts = trajectories(run)
    n_cells = sum(len(cells_of(t)) for t in ts)

    # dasynth verify, every trajectory verified afresh.
    for p in [run / "verdicts.parquet", *sorted((run / "verdicts").glob("*.parquet"))]:
        p.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run([args.dasynth, "verify", str(run), "-q"], cwd=ROOT, check=False)
    dasynth_s = time.perf_counter() - started
    vstats = json.loads((run / "stats" / "verify.json").read_text())

    # Native CPython, one subprocess per trajectory.
    started = time.perf_counter()
    native_ts = ts[:: args.native_every]
    with concurrent.futures.ThreadPoolExecutor(args.workers) as ex:
        per = list(ex.map(lambda t: native_one(args.python, run, t), native_ts))
    native_s = time.perf_counter() - started

    result = {
        "trajectories": len(ts),
        "cells": n_cells,
        "workers": args.workers,
        "generate_trajectories_s": generate_s,
        "dasynth_verify_s": round(dasynth_s, 2),
        "dasynth_cells_replayed": vstats.get("cells_replayed"),
        "dasynth_kept": vstats.get("kept"),
        "dasynth_dropped_by_reason": vstats.get("dropped_by_reason"),
        "dasynth_by_replay": vstats.get("by_replay"),
        "dasynth_traj_per_s": round(len(ts) / dasynth_s, 2),
        "native_trajectories": len(native_ts),
        "native_s": round(native_s, 2),
        "native_traj_per_s": round(len(native_ts) / native_s, 2),
        "native_median_traj_s": round(sorted(per)[len(per) // 2], 3) if per else None,
        "speedup": round((len(ts) / dasynth_s) / (len(native_ts) / native_s), 2),
        "python": subprocess.run([args.python, "--version"], capture_output=True, text=True).stdout.strip(),
        "load_average": os.getloadavg(),
    }
    (HERE / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"\n{'':28}{'wall s':>10}{'traj/s':>10}")
    print(f"{'dasynth verify':28}{dasynth_s:>10.1f}{len(ts) / dasynth_s:>10.2f}")
    print(f"{'native CPython subprocess':28}{native_s:>10.1f}{len(native_ts) / native_s:>10.2f}  ({len(native_ts)} trajectories)")
    if generate_s:
        print(f"{'(dasynth trajectories)':28}{generate_s:>10.1f}")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
