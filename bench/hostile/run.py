"""Crawl the hostile corpus and report wall time, peak memory and every file's reason.

The corpus (dasynth_testkit::hostile::write_all) holds one file per way a hostile input once
stopped the crawl: JSON nested 30,000 levels, a sheet spanning the whole grid, a sheet of 40
million cells, a CSV header of 3 million columns, a SQLite view without end, a zip whose 2,000
entries share one 70 MiB member, a sparse 6 GiB CSV. Each run crawls it into a fresh run
folder; peak memory is the largest resident set of the crawl or of any child it started
(inspect-worker processes).

    cargo build --release -p dasynth-cli
    cargo run --release -p dasynth-testkit --example hostile_corpus /tmp/hostile
    cp $CARGO_TARGET_DIR/release/dasynth /tmp/dasynth-bench
    DASYNTH_BIN=/tmp/dasynth-bench python3 bench/hostile/run.py /tmp/hostile --repeat 3
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def crawl(binary, corpus, out):
    """One crawl: (seconds, peak RSS of the process tree in MiB, exit code)."""
    started = time.monotonic()
    proc = subprocess.Popen([binary, "crawl", "--quiet", "--out", out, corpus], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    # wait4 reports the largest resident set of the process and of the children it waited for.
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(usage.ru_maxrss, children) / 1024, os.waitstatus_to_exitcode(status)


def reasons(out):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    table = pq.read_table(os.path.join(out, "catalog.parquet"), columns=["uri", "status", "error"]).to_pylist()
    return [(os.path.basename(r["uri"]), r["status"], (r["error"] or "").split("\n")[0]) for r in table]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bin", default=os.environ.get("DASYNTH_BIN", "dasynth"))
    args = ap.parse_args()
    sizes = {f: (os.stat(os.path.join(args.corpus, f)).st_size, os.stat(os.path.join(args.corpus, f)).st_blocks * 512)
             for f in sorted(os.listdir(args.corpus))}
    runs = []
    last = None
    for _ in range(args.repeat):
        out = tempfile.mkdtemp(prefix="hostile-run-")
        try:
            runs.append(crawl(args.bin, args.corpus, out))
            last = reasons(out)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    print("| file | length | on disk |")
    print("|---|---:|---:|")
    for f, (length, disk) in sizes.items():
        print(f"| {f} | {length:,} | {disk:,} |")
    secs = [r[0] for r in runs]
    mem = [r[1] for r in runs]
    print()
    print(f"exit codes {[r[2] for r in runs]}; wall seconds median {statistics.median(secs):.2f} "
          f"(min {min(secs):.2f}, max {max(secs):.2f}); peak RSS MiB max {max(mem):.0f}")
    if last:
        print()
        for name, status, why in last:
            print(f"- {name}: {status}: {why}")
    json.dump({"runs": runs, "reasons": last}, sys.stderr)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
