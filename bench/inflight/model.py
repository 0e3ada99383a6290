"""What an ideal trajectory stage would reach on the benchmark's workload: a model, not a measurement.

Run from the workspace root:

    python3 bench/inflight/model.py [--capacity 12.3] [--split 0.5,0.25,0.25] [--only NAME,...]

The benchmark is a closed system: IN_FLIGHT trajectories at once, each four teacher turns
(`latency` ms, plus a uniform share of `jitter`) with a cell after each of the first three, and
a finished trajectory's place taken by the next task at once. This simulates it with the sandbox
as `cores` servers taking cells first come, first served, each cell a fixed share (`--split`) of
the CPU a trajectory costs at the measured capacity (cores / capacity seconds), and no other
cost: no suspension, no session start, no contention. It prints the throughput of the whole run
(trajectories over the time the last one was written, as run.py measures it) as a share of the
bound run.py uses (min(teacher ideal, capacity)), so a measured share can be read against what a
first-come-first-served scheduler with free sessions could do with the same waits.
"""

from __future__ import annotations

import argparse
import heapq
import random
from collections import deque

from run import CONFIGS, teacher_ideal  # type: ignore[import-not-found]


def simulate(in_flight: int, latency_s: float, jitter_s: float, total: int, cells: list[float], cores: int, seed: int = 1) -> float:
    """Trajectories a second over the whole run of the closed system described above."""
    rng = random.Random(seed)
    events: list[tuple[float, int, str, int]] = []  # (time, order, kind, step); kind 'T' teacher answered, 'C' cell done
    order = 0
    steps = len(cells)

    def push(at: float, kind: str, step: int) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (at, order, kind, step))

    def ask_teacher(now: float, step: int) -> None:
        push(now + latency_s + rng.random() * jitter_s, "T", step)

    started = min(in_flight, total)
    for _ in range(started):
        ask_teacher(0.0, 0)
    queue: deque[int] = deque()
    free = cores
    done: list[float] = []
    while events:
        now, _, kind, step = heapq.heappop(events)
        if kind == "C":
            free += 1
            ask_teacher(now, step + 1)
        elif step == steps:  # the answer: the trajectory is written, the next one starts
            done.append(now)
            if started < total:
                started += 1
                ask_teacher(now, 0)
        else:
            queue.append(step)
        while free and queue:
            s = queue.popleft()
            free -= 1
            push(now + cells[s], "C", s)
    return len(done) / done[-1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--capacity", type=float, default=12.3, help="measured trajectories a second with a teacher that answers at once")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--split", default="0.5,0.25,0.25", help="each cell's share of a trajectory's CPU (the first loads the table)")
    ap.add_argument("--tasks", type=int, default=383, help="trajectories a sample of every task makes")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    split = [float(v) for v in args.split.split(",")]
    cpu = args.cores / args.capacity
    cells = [cpu * s / sum(split) for s in split]
    only = set(filter(None, args.only.split(",")))
    print("| configuration | in flight | trajectories | bound traj/s | model traj/s (share of the bound) |")
    print("|---|---|---|---|---|")
    for name, latency, jitter, in_flight, samples, _extra in CONFIGS:
        if latency == 0 or (only and name not in only) or name.endswith(("-always", "-resident")):
            continue
        total = samples * args.tasks
        bound = min(teacher_ideal(in_flight, latency, jitter), args.capacity)
        rate = simulate(in_flight, latency / 1000, jitter / 1000, total, cells, args.cores)
        print(f"| {name} | {in_flight} | {total} | {bound:.1f} | {rate:.1f} ({rate / bound:.0%}) |")


if __name__ == "__main__":
    main()
