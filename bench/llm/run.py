#!/usr/bin/env python3
"""Benchmark dasynth-llm against bespokelabs-curator on the fake LLM server.

usage: python3 bench/llm/run.py [--requests 10000] [--latency-ms 200]
                                [--concurrency 64,256,1024] [--no-build] [--skip-curator]

Starts `fake-llm-server` in its own process, then for every concurrency runs
the dasynth bench client (crates/dasynth-llm/examples/llm_bench.rs, no cache)
and the curator client (bench/llm/curator_client.py in bench/llm/.venv), each
in its own process. CPU time of each client comes from wait4() on that
process (and, for the "workload" column, from getrusage inside the client
around the request loop, which excludes curator's multi-second import); peak
RSS is the client's own VmHWM; the server's CPU comes from /proc/PID/stat. Prints a table
and writes bench/llm/results.json.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def run_measured(cmd, env=None):
    """Run cmd, return (parsed last JSON stdout line, cpu seconds, peak RSS MiB, stderr tail)."""
    import tempfile
    with tempfile.TemporaryFile("w+") as errf:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, env=env, text=True)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        errf.seek(0)
        err = errf.read()
    p.returncode = os.waitstatus_to_exitcode(status)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {err[-2000:]}")
    return json.loads(lines[-1]), ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, err[-500:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--latency-ms", type=int, default=200)
    ap.add_argument("--concurrency", default="64,256,1024")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--skip-curator", action="store_true")
    a = ap.parse_args()
    concs = [int(c) for c in a.concurrency.split(",")]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by all children

    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "dasynth-fakellm", "--bin", "fake-llm-server",
                        "-p", "dasynth-llm", "--example", "llm_bench"], cwd=ROOT, check=True)
    server_bin = TARGET / "release" / "fake-llm-server"
    bench_bin = TARGET / "release" / "examples" / "llm_bench"
    venv_py = HERE / ".venv" / "bin" / "python"
    if not a.skip_curator and not venv_py.exists():
        sys.exit(f"missing {venv_py}: python3.11 -m venv bench/llm/.venv && "
                 "bench/llm/.venv/bin/pip install bespokelabs-curator==0.1.31")

    srv = subprocess.Popen([str(server_bin), "--port", "0", "--latency-ms", str(a.latency_ms), "--workers", "2"],
                           stdout=subprocess.PIPE, text=True)
    line = srv.stdout.readline().strip()
    url = line.split("listening on ", 1)[1] + "/v1"
    print(f"fake server pid {srv.pid} at {url}, latency {a.latency_ms} ms, {a.requests} requests", flush=True)

    results = {"requests": a.requests, "latency_ms": a.latency_ms, "cpus": os.cpu_count(), "runs": []}
    try:
        for c in concs:
            ideal = c / (a.latency_ms / 1000)
            clients = [("dasynth", [str(bench_bin), "--url", url, "--requests", str(a.requests),
                                    "--concurrency", str(c)])]
            if not a.skip_curator:
                clients.append(("curator", [str(venv_py), str(HERE / "curator_client.py"), url,
                                            str(a.requests), str(c)]))
            for name, cmd in clients:
                s0 = proc_cpu(srv.pid)
                t0 = time.perf_counter()
                res, cpu_s, rss_mib, err = run_measured(cmd)
                wall = time.perf_counter() - t0
                srv_cpu = proc_cpu(srv.pid) - s0
                ok = res["ok"]
                work_cpu = res.get("workload_cpu_s", cpu_s)
                # VmHWM reported by the client itself; wait4's ru_maxrss can
                # include the pre-exec copy of this runner.
                if res.get("peak_rss_kib"):
                    rss_mib = res["peak_rss_kib"] / 1024
                row = {
                    "client": name, "concurrency": c, "ok": ok, "errors": a.requests - ok,
                    "elapsed_s": round(res["elapsed_s"], 3), "throughput_rps": round(res["throughput_rps"], 1),
                    "ideal_rps": ideal, "pct_of_ideal": round(100 * res["throughput_rps"] / ideal, 1),
                    "cpu_us_per_req_process": round(1e6 * cpu_s / max(ok, 1), 1),
                    "cpu_us_per_req_workload": round(1e6 * work_cpu / max(ok, 1), 1),
                    "peak_rss_mib": round(rss_mib, 1), "process_wall_s": round(wall, 2),
                    "server_cpu_us_per_req": round(1e6 * srv_cpu / max(ok, 1), 1),
                    "server_cpu_util": round(srv_cpu / res["elapsed_s"], 3),
                }
                results["runs"].append(row)
                print(json.dumps(row), flush=True)
    finally:
        srv.terminate()
        srv.wait()

    by = {(r["client"], r["concurrency"]): r for r in results["runs"]}
    hdr = ("| concurrency | client | req/s | % of ideal | CPU µs/req (workload) | CPU µs/req (process) "
           "| peak RSS MiB | server CPU µs/req |")
    print("\n" + hdr + "\n|" + "---|" * 8)
    for c in concs:
        for name in ("dasynth", "curator"):
            r = by.get((name, c))
            if r:
                print(f"| {c} | {name} | {r['throughput_rps']:.0f} | {r['pct_of_ideal']:.1f}% | "
                      f"{r['cpu_us_per_req_workload']:.1f} | {r['cpu_us_per_req_process']:.1f} | "
                      f"{r['peak_rss_mib']:.1f} | {r['server_cpu_us_per_req']:.1f} |")
    ratios = []
    for c in concs:
        d, k = by.get(("dasynth", c)), by.get(("curator", c))
        if d and k:
            ratios.append({"concurrency": c,
                           "throughput_ratio": round(d["throughput_rps"] / k["throughput_rps"], 2),
                           "cpu_ratio_curator_over_dasynth": round(
                               k["cpu_us_per_req_workload"] / max(d["cpu_us_per_req_workload"], 1e-9), 1),
                           "rss_ratio_curator_over_dasynth": round(k["peak_rss_mib"] / d["peak_rss_mib"], 1)})
    if ratios:
        print("\n| concurrency | throughput dasynth/curator | CPU/req curator/dasynth | RSS curator/dasynth |")
        print("|---|---|---|---|")
        for r in ratios:
            print(f"| {r['concurrency']} | {r['throughput_ratio']}x | {r['cpu_ratio_curator_over_dasynth']}x | "
                  f"{r['rss_ratio_curator_over_dasynth']}x |")
    results["ratios"] = ratios
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {HERE / 'results.json'}")


if __name__ == "__main__":
    main()
