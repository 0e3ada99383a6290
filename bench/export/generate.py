"""Writes a synthetic run folder for the export benchmark: a catalog of source tables (small
CSVs), tasks over them, N trajectories in DeepAnalyze's format with realistic sizes, and
verdicts (90% accepted). Deterministic for a given seed.

Sizes follow what the reference and LLM teachers write: 2-8 code cells per trajectory; an
assistant turn of 300-1,200 characters (<Analyze>, <Understand>, a fenced <Code>); an
<Execute> block of 200-3,000 characters (dasynth caps it at 4 KiB); a final <Answer> of
100-400 characters. About 15 KB of JSON per trajectory.

usage: generate.py OUT_DIR N_TRAJECTORIES [--seed S]
"""
import argparse
import hashlib
import json
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("n", type=int)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
rng = random.Random(a.seed)
out = a.out
os.makedirs(os.path.join(out, "tables"), exist_ok=True)
os.makedirs(os.path.join(out, "trajectories"), exist_ok=True)

FAMILIES = ["data-question-answering", "data-preparation", "data-cleaning", "data-analysis", "data-insight", "data-modeling", "visualization", "data-research"]
LICENCES = ["MIT", "CC0-1.0", "BSD-3-Clause", "CC-BY-4.0"]
WORDS = ("the mean median column rows value group region total sales price units revenue share trend month year customer "
         "product store missing duplicate outlier correlation model accuracy baseline feature split train test chart").split()

n_tasks = max(1, a.n // 2)
n_tables = max(4, n_tasks // 25)


def text(k):
    return " ".join(rng.choice(WORDS) for _ in range(k))


# Source tables.
catalog = []
files = []
for i in range(n_tables):
    rows = ["id,region,units,price"] + [f"{j},{rng.choice(['north', 'south', 'east', 'west'])},{rng.randint(0, 99)},{rng.random() * 100:.2f}" for j in range(60)]
    body = ("\n".join(rows) + "\n").encode()
    sha = hashlib.sha256(body).hexdigest()
    rel = f"tables/{sha}.csv"
    with open(os.path.join(out, rel), "wb") as f:
        f.write(body)
    lic = LICENCES[i % len(LICENCES)]
    catalog.append({
        "id": sha[:16], "name": f"table{i}", "source": f"source{i % 20}", "uri": f"https://example.org/table{i}.csv", "format": "csv",
        "compression": None, "path": rel, "member": None, "sha256": sha, "bytes": len(body), "licence": lic, "description": None,
        "read_options": {"delimiter": ",", "quote": '"', "has_header": True, "encoding": "utf-8", "skip_rows": 0},
        "n_rows": 60, "n_columns": 4, "status": "ok", "error": None, "warnings": [],
        "provenance": [{"source": f"source{i % 20}", "uri": f"https://example.org/table{i}.csv", "licence": lic}], "crawled_at": "2026-01-01T00:00:00Z",
    })
    files.append({"name": f"table{i}.csv", "path": rel, "bytes": len(body)})
pq.write_table(pa.Table.from_pylist(catalog), os.path.join(out, "catalog.parquet"))

# Tasks.
tasks = []
for t in range(n_tasks):
    k = t % n_tables
    ids = [catalog[k]["id"]] + ([catalog[(k + 1) % n_tables]["id"]] if t % 10 == 0 else [])
    tf = [files[k]] + ([files[(k + 1) % n_tables]] if t % 10 == 0 else [])
    fam = FAMILIES[t % len(FAMILIES)]
    instr = text(rng.randint(15, 60)).capitalize() + "?"
    prompt = f"# Instruction\n{instr}\n\n# Data\n" + "\n".join(f'File {j + 1}: {{"name": "{f["name"]}", "size": "{f["bytes"] / 1024:.1f}KB"}}' for j, f in enumerate(tf))
    tid = hashlib.sha256(f"task{t}".encode()).hexdigest()[:16]
    tasks.append({
        "id": tid, "family": fam, "stage": 1 + t % 3, "difficulty": ["easy", "medium", "hard"][t % 3], "template": f"{fam}/t{t % 12}",
        "template_version": 1, "template_sha256": "0" * 64, "prompt": prompt, "instruction": instr, "source": catalog[k]["source"],
        "table_ids": json.dumps(ids), "files": json.dumps(tf), "answer_type": "number", "ground_truth": json.dumps(round(rng.random() * 1000, 3)),
        "checker": json.dumps({"answer_type": "number", "tolerance": 1e-6, "abs_tolerance": 1e-9, "file": None, "higher_is_better": None, "metric": None}),
        "solution": json.dumps(["answer = 1"]), "bindings": "{}", "seed": 0, "variant": 0,
    })
pq.write_table(pa.Table.from_pylist(tasks, schema=pa.schema([(k, pa.uint32() if k in ("stage", "template_version", "variant") else pa.uint64() if k == "seed" else pa.string()) for k in tasks[0]])), os.path.join(out, "tasks.parquet"))

SYSTEM = "You are a data science agent. You solve the task by reasoning and by running Python code on the data files, which are in your working directory. " * 3

verdicts = []
with open(os.path.join(out, "trajectories", "teacher.jsonl"), "w") as f:
    for i in range(a.n):
        task = tasks[i % n_tasks]
        sample = i // n_tasks
        key = hashlib.sha256(f"{task['id']}|teacher|{sample}".encode()).hexdigest()[:16]
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": task["prompt"]}]
        cells = rng.randint(2, 8)
        for c in range(cells):
            code = "\n".join(f"df{c}_{j} = df.groupby('region')['units'].agg(['mean', 'sum'])" for j in range(rng.randint(3, 15)))
            msgs.append({"role": "assistant", "content": f"<Analyze>{text(rng.randint(20, 80))}</Analyze>\n<Understand>{text(rng.randint(5, 40))}</Understand>\n<Code>\n```python\n{code}\nprint(df{c}_0)\n```\n</Code>"})
            out_lines = "\n".join(f"{rng.choice(['north', 'south', 'east', 'west']):<6} {rng.random() * 100:>10.4f} {rng.randint(0, 9999):>6}" for _ in range(rng.randint(8, 110)))
            msgs.append({"role": "execute", "content": f"<Execute>\n{out_lines}\n</Execute>"})
        msgs.append({"role": "assistant", "content": f"<Analyze>{text(rng.randint(10, 40))}</Analyze>\n<Answer>{text(rng.randint(15, 60))} {task['ground_truth']}</Answer>"})
        accepted = rng.random() < 0.9
        traj = {
            "key": key, "task_id": task["id"], "family": task["family"], "teacher": "teacher", "model": "qwen3-235b", "sample": sample,
            "messages": msgs, "turns": [], "answer": "x", "finish": "answer", "finish_detail": "", "outputs": [], "passed": accepted,
            "check_detail": "", "input_tokens": rng.randint(2000, 30000), "output_tokens": rng.randint(300, 4000), "cost_usd": 0.0, "wall_ms": 1000.0,
        }
        f.write(json.dumps(traj) + "\n")
        verdicts.append({
            "key": key, "task_id": task["id"], "teacher": "teacher", "model": "qwen3-235b", "sample": sample, "family": task["family"],
            "template": task["template"], "stage": task["stage"], "difficulty": task["difficulty"], "source": task["source"], "answer_type": "number",
            "table_ids": json.loads(task["table_ids"]), "trajectory_sha256": "0" * 64, "settings_sha256": "0" * 64, "accepted": accepted,
            "reasons": [] if accepted else ["answer_wrong"], "finish": "answer", "replay": "consistent", "cells": cells, "cells_matched": cells,
            "mismatches": [], "missing_outputs": [], "answer_passed": accepted, "answer_detail": "", "extracted_answer": None, "claims": 0,
            "grounded_share": None, "ungrounded_claims": [], "checklist_coverage": None, "judge": None, "format_ok": True, "format_issues": [],
            "style_issues": [], "turns": cells + 1, "code_cells": cells, "error_cells": 0, "recoveries": 0, "repeated_cells": 0,
            "input_tokens": traj["input_tokens"], "output_tokens": traj["output_tokens"], "duplicate_of": None, "contaminated_by": None,
            "score": 0.9 if accepted else 0.2,
        })
mismatch = pa.struct([("cell", pa.uint32()), ("recorded_status", pa.string()), ("replayed_status", pa.string()), ("recorded", pa.string()), ("replayed", pa.string()), ("diff", pa.string())])
judge = pa.struct([(n, pa.float64()) for n in ["usefulness", "richness", "soundness", "interpretability", "readability", "checklist_coverage"]] + [("judge", pa.string())])
types = {"sample": pa.uint32(), "stage": pa.uint32(), "table_ids": pa.list_(pa.string()), "accepted": pa.bool_(), "reasons": pa.list_(pa.string()),
         "cells": pa.uint32(), "cells_matched": pa.uint32(), "mismatches": pa.list_(mismatch), "missing_outputs": pa.list_(pa.string()),
         "answer_passed": pa.bool_(), "claims": pa.uint32(), "grounded_share": pa.float64(), "ungrounded_claims": pa.list_(pa.string()),
         "checklist_coverage": pa.float64(), "judge": judge, "format_ok": pa.bool_(), "format_issues": pa.list_(pa.string()), "style_issues": pa.list_(pa.string()),
         "turns": pa.uint32(), "code_cells": pa.uint32(), "error_cells": pa.uint32(), "recoveries": pa.uint32(), "repeated_cells": pa.uint32(),
         "input_tokens": pa.uint64(), "output_tokens": pa.uint64(), "score": pa.float64()}
schema = pa.schema([(k, types.get(k, pa.string())) for k in verdicts[0]])
pq.write_table(pa.Table.from_pylist(verdicts, schema=schema), os.path.join(out, "verdicts.parquet"))
print(f"{a.n} trajectories, {n_tasks} tasks, {n_tables} tables in {out}")
