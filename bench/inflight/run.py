"""Trajectories in flight: memory and throughput of the trajectory stage against a slow teacher.

Run from the workspace root:

    python3 bench/inflight/run.py [--quick] [--only NAME,...]

It builds `dasynth` and the `inflight_bench` example, makes the demo run folder once (crawl,
profile, tasks on sources/demo), then for every configuration starts the benchmark teacher
(`inflight_bench teacher`, its own process) with the configuration's latency, runs the trajectory
stage on a fresh copy of the run folder (`inflight_bench run`), and writes
bench/inflight/results.json. Every trajectory loads its task's table with pandas and summarises
it, waits on the teacher, runs two more cells and answers: four teacher turns, three cells.

A configuration's teacher answers every turn after its latency, or after a latency drawn
uniformly from [latency, latency + jitter] (seeded), as real teachers vary; the `-varied` runs
have the same 20 s mean as the fixed ones. Teacher ideal throughput is
in_flight / (4 x mean latency); sandbox capacity is the throughput of the
same workload with a teacher that answers at once. Memory per waiting trajectory is the growth
of the process's anonymous resident memory over the run divided by the trajectories in flight.
Each result also records the benchmark teacher's own CPU seconds and the share of the run every
core of the machine was busy (from /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = HERE / ".work"

# (name, latency ms, jitter ms, in flight, samples per task (379 demo tasks), extra args)
CONFIGS = [
    ("capacity", 0, 0, 16, 1, []),
    ("200ms-256", 200, 0, 256, 2, []),
    ("200ms-256-resident", 200, 0, 256, 2, ["--no-suspend"]),
    ("200ms-1024", 200, 0, 1024, 6, []),
    ("20s-256", 20_000, 0, 256, 1, []),
    ("20s-1024", 20_000, 0, 1024, 3, []),
    # Three waves of trajectories, so the throughput is past the first wave's lockstep start.
    ("20s-1024-waves", 20_000, 0, 1024, 9, []),
    # The same, suspending every wait past suspend-after-ms (the policy before waiting sessions
    # stayed resident under half the memory budget).
    ("20s-1024-waves-always", 20_000, 0, 1024, 9, ["--idle-resident-budget", "0"]),
    # The same with every waiting session resident (no suspension at all): the throughput when
    # memory is not the limit (a budget of 18 GB admits all 1,024 at about 15 MB each).
    ("20s-1024-waves-resident", 20_000, 0, 1024, 9, ["--no-suspend", "--memory-budget", "18000000000"]),
    # Teacher turns of 10 to 30 s (mean 20): the waits spread out instead of staying in lockstep.
    ("20s-1024-varied", 10_000, 20_000, 1024, 9, []),
    # The same for nine waves, so the start and the end weigh less in the rate.
    ("20s-1024-varied-long", 10_000, 20_000, 1024, 27, []),
    ("20s-10000", 20_000, 0, 10_000, 27, []),
    ("20s-10000-varied", 10_000, 20_000, 10_000, 27, []),
]


def target() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "dasynth-target")) / "release"


def build() -> tuple[Path, Path]:
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(target().parent))
    # One build with the test command's feature set: a package-scoped build of the example
    # (`-p dasynth-agent`) unifies features differently and compiles polars again.
    subprocess.run(
        ["cargo", "build", "--release", "--workspace", "--features", "dasynth-cli/student", "--bin", "dasynth", "--example", "inflight_bench"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    # Private copies: the target folder is shared with other worktrees.
    WORK.mkdir(parents=True, exist_ok=True)
    cli, bench = WORK / "dasynth", WORK / "inflight_bench"
    shutil.copy2(target() / "dasynth", cli)
    shutil.copy2(target() / "examples" / "inflight_bench", bench)
    return cli, bench


def base_run(cli: Path, given: str | None) -> Path:
    if given:
        return Path(given)
    base = WORK / "base"
    if (base / "tasks.parquet").exists():
        return base
    shutil.rmtree(base, ignore_errors=True)
    for stage in (["crawl", "sources/demo", "--out", str(base)], ["profile", str(base)], ["tasks", str(base)]):
        subprocess.run([str(cli), "--quiet", *stage], cwd=ROOT, check=True)
    return base


def fresh_copy(base: Path, name: str) -> Path:
    run = WORK / "runs" / name
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    for entry in base.iterdir():
        if entry.name in ("trajectories", "outputs", "cache", "stats", "workspaces", "verdicts.parquet"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, run / entry.name)
        else:
            shutil.copy2(entry, run / entry.name)
    return run


def machine_cpu() -> tuple[int, int]:
    """(busy, total) clock ticks of every CPU since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a live process, from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one(bench: Path, base: Path, name: str, latency: int, jitter: int, in_flight: int, samples: int, extra: list[str]) -> dict:
    teacher = subprocess.Popen([str(bench), "teacher", "--latency-ms", str(latency), "--jitter-ms", str(jitter)],
                               stdout=subprocess.PIPE, text=True)
    try:
        url = teacher.stdout.readline().strip()
        run = fresh_copy(base, name)
        started = time.time()
        cpu_before, teacher_before = machine_cpu(), process_cpu_seconds(teacher.pid)
        out = subprocess.run([str(bench), "run", str(run), url, str(in_flight), str(samples), *extra],
                             capture_output=True, text=True, timeout=3600)
        if out.returncode != 0:
            raise SystemExit(f"{name}: {out.stderr[-3000:]}")
        cpu_after = machine_cpu()
        result = json.loads(out.stdout.strip().splitlines()[-1])
        # The benchmark teacher shares the machine: its CPU, and how busy every core was.
        result.update(name=name, latency_ms=latency, jitter_ms=jitter, samples=samples, outer_seconds=time.time() - started,
                      teacher_cpu_s=process_cpu_seconds(teacher.pid) - teacher_before,
                      machine_busy=(cpu_after[0] - cpu_before[0]) / max(1, cpu_after[1] - cpu_before[1]))
        shutil.rmtree(run, ignore_errors=True)
        return result
    finally:
        teacher.kill()
        teacher.wait()


def teacher_ideal(in_flight: int, latency_ms: float, jitter_ms: float) -> float:
    """Trajectories a second if every cell took no time: four turns at the mean latency each."""
    return in_flight / (4 * (latency_ms + jitter_ms / 2) / 1000)


def derive(results: list[dict]) -> None:
    capacity = next((r["per_second"] for r in results if r["name"] == "capacity"), None)
    for r in results:
        if "share_of_bound" in r:
            continue  # a row keeps the bound of the capacity measured beside it
        s = r["sessions"]
        grown = max(0, s["memory_peak_bytes"] - s["memory_start_bytes"])
        r["mib_per_trajectory"] = grown / max(1, s["in_flight_peak"]) / 2**20
        if r["latency_ms"] + r.get("jitter_ms", 0) > 0:
            ideal = teacher_ideal(r["in_flight"], r["latency_ms"], r.get("jitter_ms", 0))
            r["teacher_ideal_per_second"] = ideal
            if capacity:
                r["bound_per_second"] = min(ideal, capacity)
                r["share_of_bound"] = r["per_second"] / r["bound_per_second"]


def table(results: list[dict]) -> str:
    lines = [
        "| run | in flight (peak) | written | traj/s | bound traj/s | share | peak anon RSS MiB | MiB / trajectory | resume p50 / p99 / max ms | suspends | spilled peak | user / sys s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["sessions"]
        bound = r.get("bound_per_second")
        lines.append(
            f"| {r['name']} | {r['in_flight']} ({s['in_flight_peak']}) | {r['written']} | {r['per_second']:.1f} | "
            f"{'' if bound is None else format(bound, '.1f')} | {'' if bound is None else format(r['share_of_bound'], '.0%')} | "
            f"{s['memory_peak_bytes'] / 2**20:.0f} | {r['mib_per_trajectory']:.2f} | "
            f"{s['resume_ms_p50']:.2f} / {s['resume_ms_p99']:.2f} / {s['resume_ms_max']:.1f} | {s['suspends']} | {s['spilled_peak']} | "
            f"{r['user_s']:.0f} / {r['sys_s']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated configuration names")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--base", help="a run folder with the demo tasks.parquet to copy (default: made with dasynth)")
    args = ap.parse_args()
    cli, bench = (WORK / "dasynth", WORK / "inflight_bench") if args.skip_build else build()
    base = base_run(cli, args.base)
    only = set(filter(None, args.only.split(",")))
    path = HERE / "results.json"
    results = json.loads(path.read_text()) if path.exists() and only else []
    for name, latency, jitter, in_flight, samples, extra in CONFIGS:
        if only and name not in only:
            continue
        print(f"== {name}", file=sys.stderr, flush=True)
        r = one(bench, base, name, latency, jitter, in_flight, samples, extra)
        results = [x for x in results if x["name"] != name] + [r]
        derive(results)
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(table([r]), file=sys.stderr, flush=True)
    print(table(results))


if __name__ == "__main__":
    main()
