#!/usr/bin/env python3
"""Verify, export and report of a run folder in an S3 bucket against the same run folder on disk.

    DASYNTH_BIN=target/release/dasynth python3 bench/remote/run.py RUN_FOLDER [--repeat 3]

Starts moto's S3 server on loopback (python with `moto[server]` and boto3: the test virtual
environment has both), uploads RUN_FOLDER's files under s3://bench/run/, then times, each
`--repeat` times on a fresh cache folder (a machine that never saw the run):

- `dasynth verify`, `dasynth export` and `dasynth report` on a local copy of RUN_FOLDER;
- the same commands on s3://bench/run, which pull what they read into the staging copy and
  stream the trajectories from the bucket;

and prints one row per command: median wall seconds, what the pull moved (from the command's
note), and how large the staging copy was afterwards against the run folder's trajectories.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def size_of(path):
    """Bytes on disk under `path`, a file hard-linked twice counted once (the export links the
    tables it copies)."""
    total, seen = 0, set()
    for d, _, files in os.walk(path):
        for f in files:
            st = os.stat(os.path.join(d, f))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def run(cmd, env):
    started = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return took, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_folder")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    binary = os.environ.get("DASYNTH_BIN", "target/release/dasynth")
    src = os.path.abspath(args.run_folder)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        import boto3

        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench-secret",
            AWS_REGION="us-east-1",
            AWS_ENDPOINT_URL=url,
        )
        s3 = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench-secret"
        )
        s3.create_bucket(Bucket="bench")
        skip = ("cache/", "workspaces/", "report/", "export/")
        uploaded = 0
        for d, _, files in os.walk(src):
            for f in files:
                p = os.path.join(d, f)
                rel = os.path.relpath(p, src)
                if rel.startswith(skip) or f.startswith(".") or f.endswith(".lock"):
                    continue
                s3.upload_file(p, "bench", f"run/{rel}")
                uploaded += os.path.getsize(p)
        trajectories = size_of(os.path.join(src, "trajectories"))
        tables = size_of(os.path.join(src, "tables"))
        print(f"run folder: {uploaded / 1e6:.1f} MB in the bucket, trajectories {trajectories / 1e6:.1f} MB, tables {tables / 1e6:.1f} MB")
        print("| command | where | median s | pulled | staging copy after (with what it wrote) | trajectories stored |")
        print("|---|---|---|---|---|---|")
        for command in ("verify", "export", "report"):
            for where in ("local", "bucket"):
                times, pulled, staged = [], "", ""
                for _ in range(args.repeat):
                    with tempfile.TemporaryDirectory() as scratch:
                        e = dict(env, DASYNTH_CACHE=os.path.join(scratch, "cache"))
                        if where == "local":
                            target = os.path.join(scratch, "run")
                            shutil.copytree(src, target, ignore=shutil.ignore_patterns("export", "report", "cache"))
                        else:
                            target = "s3://bench/run"
                            # What earlier commands wrote back, so every repeat starts alike.
                            for prefix in ("run/export/", "run/report/", "run/cache/"):
                                listed = s3.list_objects_v2(Bucket="bench", Prefix=prefix).get("Contents", [])
                                for o in listed:
                                    s3.delete_object(Bucket="bench", Key=o["Key"])
                        took, err = run([binary, command, target], e)
                        times.append(took)
                        m = re.search(r"pulled (\d+ files \([0-9.]+ MB\))", err)
                        pulled = m.group(1) if m else "-"
                        copies = os.path.join(scratch, "cache", "remote-runs")
                        staged = f"{size_of(copies) / 1e6:.1f} MB" if os.path.isdir(copies) else "-"
                        root = copies if os.path.isdir(copies) else target
                        stored = sum(size_of(os.path.join(d, "trajectories")) for d, _, _ in os.walk(root) if d == root or os.path.basename(d) == "whole")
                print(f"| {command} | {where} | {statistics.median(times):.2f} | {pulled} | {staged} | {stored / 1e6:.1f} MB |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
