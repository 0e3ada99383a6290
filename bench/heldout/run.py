#!/usr/bin/env python3
"""Run the pipeline on the held-out corpus and report what the issue asks about the data.

    bash bench/heldout/fetch.sh                      # once: the corpus into ~/.cache/dasynth/heldout
    DASYNTH_BIN=/path/to/dasynth python3 bench/heldout/run.py [--out RUN] [--per-table N] [--reuse]

Steps (each a `dasynth` subcommand on one run folder): crawl the corpus, profile it, build the
tasks and check every reference solution against its ground truth (`tasks --check-solutions`,
which drops a task whose solution disagrees), then write reference trajectories. Then it reports:

  null counts     every profiled column against `pd.read_csv(f)` / `pd.read_json(f)` with
                  pandas' defaults (the reading options the catalog recorded: delimiter, encoding)
  solutions       reference solutions that agree with the polars ground truth, what was dropped
                  and why, and the reference trajectories' pass rate on the tasks kept
  reference code  solutions with `keep_default_na`, and with `import sqlite3` on non-SQLite tables
  trajectories    mean code cells, share whose first cell explores the data, share with an
                  <Understand> citing a number an output shows, share that recovers from an error,
                  share stating a number no earlier output shows, and the distinct-4-gram ratio of
                  the <Analyze> text across the trajectories of one template (mean over templates)

pandas runs in $DASYNTH_TEST_PYTHON (default ~/.cache/dasynth/test-venv/bin/python); the main
process needs only the standard library. The report is printed as Markdown and written to
bench/results/heldout.md (gitignored) with the raw figures in heldout.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(ROOT, "bench", "results")
CORPUS = os.environ.get("DASYNTH_HELDOUT", os.path.expanduser("~/.cache/dasynth/heldout"))
PYTHON = os.environ.get("DASYNTH_TEST_PYTHON", os.path.expanduser("~/.cache/dasynth/test-venv/bin/python"))

# Runs in $DASYNTH_TEST_PYTHON: per catalog table, pandas' null count of every column.
NULLS = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import pandas as pd, pyarrow.parquet as pq
run = sys.argv[1]
out = {}
for e in pq.read_table(run + "/catalog.parquet").to_pylist():
    if e["status"] != "ok" or e["format"] not in ("csv", "tsv", "json", "jsonl"):
        continue
    path = run + "/" + e["path"]
    ro = json.loads(e["read_options"]) if isinstance(e["read_options"], str) else (e["read_options"] or {})
    try:
        if e["format"] in ("csv", "tsv"):
            kw = {}
            if ro.get("delimiter", ",") != ",":
                kw["sep"] = ro["delimiter"]
            if ro.get("encoding", "utf-8") not in ("utf-8", "utf8"):
                kw["encoding"] = {"windows-1252": "cp1252"}.get(ro["encoding"], ro["encoding"])
            if ro.get("skip_rows"):
                kw["skiprows"] = ro["skip_rows"]
            if ro.get("has_header") is False:
                kw["header"] = None
            df = pd.read_csv(path, low_memory=False, **kw)
        else:
            df = pd.read_json(path, lines=e["format"] == "jsonl")
        out[e["id"]] = {"name": e["name"], "nulls": [int(v) for v in df.isna().sum()]}
    except Exception as err:  # noqa: BLE001
        out[e["id"]] = {"name": e["name"], "error": str(err)[:200]}
print(json.dumps(out))
"""


def dasynth(bin_: str, *args: str) -> subprocess.CompletedProcess:
    t0 = time.perf_counter()
    p = subprocess.run([bin_, *args], capture_output=True, text=True)
    print(f"  dasynth {' '.join(args)}: exit {p.returncode}, {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if p.returncode not in (0, 1):
        print(p.stderr[-3000:], file=sys.stderr)
        sys.exit(2)
    return p


def block(text: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", text, re.S)


def read_trajectories(run: str) -> list[dict]:
    out = []
    d = os.path.join(run, "trajectories")
    for f in sorted(os.listdir(d)):
        if f.endswith(".jsonl"):
            with open(os.path.join(d, f)) as fh:
                out.extend(json.loads(line) for line in fh if line.strip())
    return out


NUMBER = re.compile(r"(?<![A-Za-z_\d.])-?(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?(?![A-Za-z_\d])")


def numbers(text: str) -> list[tuple[float, float]]:
    """Numbers with the place value of their last digit (scientific notation too)."""
    text = " ".join(text.split("`")[::2])  # backticked names and code are not claims
    out = []
    for m in NUMBER.finditer(text):
        decimals = len(m.group(2) or "")
        exponent = int(m.group(3) or 0)
        out.append((float(m.group(0)), 10.0 ** (exponent - decimals)))
    return out


def same(x, ux, y, uy) -> bool:
    return abs(x - y) <= 0.5 * max(ux, uy) * (1 + 1e-9) + 2.2e-16 * max(abs(x), abs(y))


def shape(t: dict) -> dict:
    """The same reading as dasynth_agent::reference_teacher::shape (see its docs)."""
    s = {"cells": 0, "explores": False, "cites": False, "recovered": False, "unsupported": []}
    outputs, failed = [], False
    for m in t["messages"]:
        if m["role"] == "execute":
            if "[Error]:" in m["content"]:
                failed = True
            elif failed and s["cells"] > 0:
                s["recovered"] = True
            outputs += numbers(m["content"])
        elif m["role"] == "assistant":
            for code in block(m["content"], "Code")[:1]:
                if s["cells"] == 0:
                    looks = any(p in code for p in (".shape", ".dtypes", ".isna()", ".head(", ".info(", ".describe("))
                    s["explores"] = looks and "answer =" not in code
                s["cells"] += 1
            for tag in ("Understand", "Answer"):
                for text in block(m["content"], tag):
                    for x, dx in numbers(text):
                        if any(same(x, dx, y, dy) for y, dy in outputs):
                            s["cites"] |= tag == "Understand"
                        else:
                            s["unsupported"].append(x)
    s["recovered"] &= t["finish"] == "answer"
    return s


def four_gram_ratio(texts: list[str]) -> float:
    grams = []
    for text in texts:
        words = re.findall(r"\w+", text.lower())
        grams += [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    return len(set(grams)) / len(grams) if grams else 1.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "heldout-run"))
    ap.add_argument("--tables", default=os.path.join(CORPUS, "tables"))
    ap.add_argument("--per-table", default="20", help="most tasks per table (dasynth tasks --per-table)")
    ap.add_argument("--reuse", action="store_true", help="report on an existing run folder without running dasynth")
    a = ap.parse_args()
    bin_ = os.environ.get("DASYNTH_BIN") or shutil.which("dasynth")
    if not a.reuse:
        if not bin_:
            print("set DASYNTH_BIN to a dasynth binary", file=sys.stderr)
            return 2
        if not os.path.isdir(a.tables):
            print(f"no corpus at {a.tables}: run bash bench/heldout/fetch.sh", file=sys.stderr)
            return 2
        shutil.rmtree(a.out, ignore_errors=True)
        dasynth(bin_, "crawl", a.tables, "--out", a.out, "-q")
        dasynth(bin_, "profile", a.out, "-q")
        dasynth(bin_, "tasks", a.out, "-q", "--per-table", a.per_table, "--check-solutions")
        dasynth(bin_, "trajectories", a.out, "-q")

    # Null counts against pandas' defaults.
    p = subprocess.run([PYTHON, "-c", NULLS, a.out], capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stderr[-3000:], file=sys.stderr)
        return 2
    theirs = json.loads(p.stdout)
    cols = agree = 0
    disagreements = []
    for tid, t in sorted(theirs.items()):
        with open(os.path.join(a.out, "profiles", f"{tid}.json")) as fh:
            prof = json.load(fh)
        if "error" in t:
            disagreements.append(f"{t['name']}: pandas cannot read it ({t['error']})")
            continue
        ours = [c["null_count"] for c in prof["columns"]]
        for i, (x, y) in enumerate(zip(ours, t["nulls"])):
            cols += 1
            agree += x == y
            if x != y:
                disagreements.append(f"{t['name']}.{prof['columns'][i]['name']}: {x} vs pandas {y}")
        if len(ours) != len(t["nulls"]):
            disagreements.append(f"{t['name']}: {len(ours)} columns vs pandas {len(t['nulls'])}")

    # Solutions and reference code.
    with open(os.path.join(a.out, "stats", "solutions.json")) as fh:
        sol = json.load(fh)
    code = subprocess.run(
        [PYTHON, "-c", "import sys, pyarrow.parquet as pq, json; print(json.dumps(pq.read_table(sys.argv[1], columns=['id', 'template', 'solution', 'table_ids']).to_pylist()))",
         os.path.join(a.out, "tasks.parquet")],
        capture_output=True, text=True, check=True)
    tasks = json.loads(code.stdout)
    keep_na = sum("keep_default_na" in t["solution"] for t in tasks)
    sqlite = sum("import sqlite3" in t["solution"] and "sqlite3.connect" not in t["solution"] for t in tasks)

    # Trajectories.
    ts = read_trajectories(a.out)
    shapes = [shape(t) for t in ts]
    by_template = defaultdict(list)
    template_of = {t["id"]: t["template"] for t in tasks}
    for t in ts:
        analyze = " ".join(" ".join(block(m["content"], "Analyze")) for m in t["messages"] if m["role"] == "assistant")
        by_template[template_of.get(t["task_id"], "?")].append(analyze)
    ratios = [four_gram_ratio(v) for v in by_template.values() if len(v) >= 2]
    n = max(len(ts), 1)
    figures = {
        "tables": len(theirs),
        "columns": cols,
        "null_counts_agree": agree,
        "null_disagreements": disagreements,
        "solutions_checked": sol["checked"],
        "solutions_agree": sol["passed"],
        "dropped_by_reason": sol.get("dropped_by_reason", {}),
        "tasks_emitted": len(tasks),
        "keep_default_na": keep_na,
        "needless_sqlite3": sqlite,
        "trajectories": len(ts),
        "passed": sum(t.get("passed") is True for t in ts),
        "mean_code_cells": sum(s["cells"] for s in shapes) / n,
        "min_code_cells": min((s["cells"] for s in shapes), default=0),
        "explore_first": sum(s["explores"] for s in shapes) / n,
        "understand_cites_output": sum(s["cites"] for s in shapes) / n,
        "recovered": sum(s["recovered"] for s in shapes) / n,
        "unsupported_numbers": sum(bool(s["unsupported"]) for s in shapes) / n,
        "unsupported_examples": [(t["task_id"], s["unsupported"][:5]) for t, s in zip(ts, shapes) if s["unsupported"]][:10],
        "analyze_4gram_distinct": sum(ratios) / max(len(ratios), 1),
        "templates": len(by_template),
    }
    f = figures
    md = [
        f"Held-out corpus: {f['tables']} tables read by pandas, {f['columns']} columns; {f['tasks_emitted']} tasks kept.",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| profile null counts equal to pandas' defaults | {f['null_counts_agree']}/{f['columns']} columns |",
        f"| reference solutions agreeing with the ground truth | {f['solutions_agree']}/{f['solutions_checked']} |",
        f"| tasks dropped by `--check-solutions` | {', '.join(f'{k} {v}' for k, v in f['dropped_by_reason'].items()) or 'none'} |",
        f"| emitted tasks whose reference trajectory passes | {f['passed']}/{f['trajectories']} |",
        f"| solutions with `keep_default_na` / needless `import sqlite3` | {f['keep_default_na']} / {f['needless_sqlite3']} |",
        f"| mean code cells per reference trajectory (min) | {f['mean_code_cells']:.2f} ({f['min_code_cells']}) |",
        f"| share exploring the data in the first cell | {f['explore_first']:.1%} |",
        f"| share with an `<Understand>` citing a number from an output | {f['understand_cites_output']:.1%} |",
        f"| share with an error and a recovery | {f['recovered']:.1%} |",
        f"| share stating a number no output shows | {f['unsupported_numbers']:.1%} |",
        f"| distinct 4-grams of `<Analyze>` text per template (mean of {f['templates']}) | {f['analyze_4gram_distinct']:.2f} |",
    ]
    if disagreements:
        md += ["", "Null-count disagreements:", *[f"- {d}" for d in disagreements[:30]]]
    text = "\n".join(md)
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "heldout.md"), "w") as fh:
        fh.write(text + "\n")
    with open(os.path.join(RESULTS, "heldout.json"), "w") as fh:
        json.dump(figures, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
