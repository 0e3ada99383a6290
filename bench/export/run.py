"""The export benchmark: dasynth export against Python `datasets` writing the same rows, on
synthetic runs of growing size (generated once per size by generate.py), each tool timed in its
own process with its peak memory.

usage: DASYNTH_BIN=... run.py [--sizes 25000,50000,100000] [--formats sft,deepanalyze,sharegpt] [--work DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser()
p.add_argument("--sizes", default="25000,50000,100000")
p.add_argument("--formats", default="sft,deepanalyze,sharegpt")
p.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "dasynth-bench-export"))
p.add_argument("--skip-baseline-above", type=int, default=10**9, help="run datasets only up to this size")
a = p.parse_args()
binary = os.environ.get("DASYNTH_BIN", "dasynth")
py = sys.executable


def measure(cmd):
    out = subprocess.run([py, os.path.join(here, "measure.py"), *cmd], capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    if r["rc"] != 0:
        raise SystemExit(f"{cmd} failed with {r['rc']}")
    return r


rows = []
for n in map(int, a.sizes.split(",")):
    run = os.path.join(a.work, f"run-{n}")
    if not os.path.exists(os.path.join(run, "verdicts.parquet")):
        subprocess.run([py, os.path.join(here, "generate.py"), run, str(n)], check=True)
    size = os.path.getsize(os.path.join(run, "trajectories", "teacher.jsonl"))
    shutil.rmtree(os.path.join(run, "export"), ignore_errors=True)
    d = measure([binary, "--quiet", "export", run, "--formats", a.formats])
    b = None
    if n <= a.skip_baseline_above:
        base = os.path.join(run, "baseline")
        shutil.rmtree(base, ignore_errors=True)
        b = measure([py, os.path.join(here, "baseline_datasets.py"), run, base, a.formats])
    rows.append((n, size, d, b))
    print(json.dumps({"n": n, "jsonl_bytes": size, "dasynth": d, "datasets": b}), flush=True)

print(f"\nformats: {a.formats}\n")
print("| trajectories | JSONL MB | dasynth s | dasynth MiB | datasets s | datasets MiB | time ratio | memory ratio |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for n, size, d, b in rows:
    bs = f"{b['seconds']:.1f} | {b['peak_mib']}" if b else "– | –"
    tr = f"{b['seconds'] / d['seconds']:.1f}x | {b['peak_mib'] / d['peak_mib']:.1f}x" if b else "– | –"
    print(f"| {n:,} | {size / 1e6:.0f} | {d['seconds']:.1f} | {d['peak_mib']} | {bs} | {tr} |")
