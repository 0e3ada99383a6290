"""The baseline: the same trajectory rows dasynth's export writes, built in Python and written
with Hugging Face `datasets` (`Dataset.from_list(rows).to_parquet(path)`), one file per config.

usage: baseline_datasets.py RUN_DIR OUT_DIR FORMAT[,FORMAT...]   (sft, deepanalyze, sharegpt)
"""
import json
import os
import sys

import pyarrow.parquet as pq
from datasets import Dataset, disable_progress_bars

disable_progress_bars()
run, out, formats = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
os.makedirs(out, exist_ok=True)
accepted = {v["key"]: v for v in pq.read_table(os.path.join(run, "verdicts.parquet")).to_pylist() if v["accepted"]}
tasks = {t["id"]: t for t in pq.read_table(os.path.join(run, "tasks.parquet")).to_pylist()}
licence = {c["id"]: c["licence"] or "unknown" for c in pq.read_table(os.path.join(run, "catalog.parquet")).to_pylist()}
rows = {f: [] for f in formats}
seen = set()
tdir = os.path.join(run, "trajectories")
for name in sorted(os.listdir(tdir)):
    for line in open(os.path.join(tdir, name)):
        t = json.loads(line)
        v = accepted.get(t["key"])
        task = tasks.get(t["task_id"])
        if v is None or task is None or t["key"] in seen:
            continue
        seen.add(t["key"])
        table_ids = json.loads(task["table_ids"])
        meta = {
            "id": t["key"], "task_id": t["task_id"], "family": task["family"], "stage": task["stage"], "difficulty": task["difficulty"],
            "template": task["template"], "answer_type": task["answer_type"], "table_ids": table_ids, "licences": [licence.get(i, "unknown") for i in table_ids],
            "teacher": t["teacher"], "model": t["model"], "input_tokens": t["input_tokens"], "output_tokens": t["output_tokens"],
            "turns": sum(m["role"] == "assistant" for m in t["messages"]), "code_cells": sum(m["role"] == "execute" for m in t["messages"]),
            "score": v["score"], "answer_passed": v["answer_passed"], "replay": v["replay"], "grounded_share": v["grounded_share"], "judge_score": None,
        }
        msgs = t["messages"]
        if "sft" in rows:
            rows["sft"].append({"messages": msgs, **meta})
        if "deepanalyze" in rows:
            head = [m for m in msgs[:2]]
            body, spans, pos = "", [], 0
            for m in msgs[2:]:
                if body and not body.endswith("\n"):
                    body += "\n"
                if m["role"] == "execute":
                    spans.append({"start": len(body), "end": len(body) + len(m["content"])})
                body += m["content"]
            rows["deepanalyze"].append({"messages": head + [{"role": "assistant", "content": body}], "execute_spans": spans, **meta})
        if "sharegpt" in rows:
            conv, system = [], ""
            for m in msgs:
                if m["role"] == "system":
                    system += m["content"]
                    continue
                frm = {"assistant": "gpt", "execute": "observation"}.get(m["role"], "human")
                if conv and (conv[-1]["from"] == frm or (frm != "gpt" and conv[-1]["from"] != "gpt")):
                    conv[-1]["value"] += "\n" + m["content"]
                else:
                    conv.append({"from": frm, "value": m["content"]})
            rows["sharegpt"].append({"conversations": conv, "system": system, **meta})
for f, r in rows.items():
    Dataset.from_list(r).to_parquet(os.path.join(out, f"{f}.parquet"))
print(json.dumps({f: len(r) for f, r in rows.items()}))
