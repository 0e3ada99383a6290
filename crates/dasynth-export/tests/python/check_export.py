"""Loads every config of a dasynth export with the real `datasets`, `pyarrow` and `pandas`, and
checks what the Rust test expects (given as JSON): row counts per config and split, column
types, one sample row, the card's metadata, LLaMA-Factory's entry and the split rule.

usage: check_export.py EXPORT_DIR EXPECTED_JSON
Prints one line per check and exits non-zero on the first failure.
"""
import glob
import json
import logging
import os
import sys
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import datasets
from huggingface_hub import DatasetCard

export, expected = sys.argv[1], json.load(open(sys.argv[2]))
datasets.disable_progress_bars()


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def plain(t):
    """No string views, large strings or large lists anywhere in a type."""
    if pa.types.is_string_view(t) or pa.types.is_large_string(t) or pa.types.is_large_list(t) or pa.types.is_null(t):
        return False
    if pa.types.is_list(t):
        return plain(t.value_type)
    if pa.types.is_struct(t):
        return all(plain(f.type) for f in t)
    return True


# The card: metadata parses without warnings (also from huggingface_hub's logger).
records = []
handler = logging.Handler()
handler.emit = records.append
logging.getLogger("huggingface_hub").addHandler(handler)
with warnings.catch_warnings():
    warnings.simplefilter("error")
    card = DatasetCard.load(os.path.join(export, "README.md"))
if records:
    fail(f"DatasetCard logged: {[r.getMessage() for r in records]}")
meta = card.data.to_dict()
for key in ["license", "task_categories", "tags", "size_categories", "pretty_name", "configs", "dataset_info"]:
    if key not in meta:
        fail(f"card metadata lacks {key}")
if meta["license"] != expected["license"]:
    fail(f"license {meta['license']} != {expected['license']}")
print(f"card ok: license {meta['license']}, {len(meta['configs'])} configs")

split_tables = {}
for config, splits in expected["rows"].items():
    files = sorted(glob.glob(os.path.join(export, "data", config, "*.parquet")))
    if not files:
        fail(f"{config}: no files")
    schemas = set()
    for f in files:
        pf = pq.ParquetFile(f)
        schemas.add(pf.schema_arrow.to_string())
        for field in pf.schema_arrow:
            if not plain(field.type):
                fail(f"{f}: column {field.name} has type {field.type}")
        md = pf.metadata
        for rg in range(md.num_row_groups):
            col = md.row_group(rg).column(0)
            if col.compression != "ZSTD":
                fail(f"{f}: compression {col.compression}")
            if not (col.has_column_index and col.has_offset_index):
                fail(f"{f}: no page index")
            if md.row_group(rg).total_byte_size > 100_000_000:
                fail(f"{f}: row group over 100 MB")
        if os.path.getsize(f) > 500_000_000:
            fail(f"{f}: shard over 500 MB")
    if len(schemas) != 1:
        fail(f"{config}: files disagree on the schema")
    # datasets, through the card's configs (num_examples are verified against the files).
    ds = datasets.load_dataset(export, config)
    for split, n in splits.items():
        if ds[split].num_rows != n:
            fail(f"{config}/{split}: {ds[split].num_rows} rows, expected {n}")
    if set(ds.keys()) != set(splits):
        fail(f"{config}: splits {sorted(ds.keys())} != {sorted(splits)}")
    want_cols = expected["columns"][config]
    if ds[next(iter(splits))].column_names != want_cols:
        fail(f"{config}: columns {ds[next(iter(splits))].column_names} != {want_cols}")
    # Plain parquet loading and pandas without the pyarrow dtype backend.
    plain_ds = datasets.load_dataset("parquet", data_files={s: os.path.join(export, "data", config, f"{s}-*.parquet") for s in splits})
    df = pd.read_parquet(files[0])
    for col in df.columns:
        if df[col].dtype.name.startswith("string[pyarrow") or "ArrowDtype" in type(df[col].dtype).__name__:
            fail(f"{config}: pandas column {col} has an Arrow dtype {df[col].dtype}")
    row = ds[next(iter(splits))][0]
    if config in ("sft", "deepanalyze"):
        roles = [m["role"] for m in row["messages"]]
        if roles[:2] != ["system", "user"] or roles[-1] != "assistant":
            fail(f"{config}: roles {roles}")
        if config == "sft" and "execute" not in roles:
            fail("sft: no execute turn")
        if config == "deepanalyze":
            text = row["messages"][-1]["content"]
            if not row["execute_spans"]:
                fail("deepanalyze: no execute span")
            for span in row["execute_spans"]:
                block = text[span["start"]:span["end"]]
                if not (block.startswith("<Execute>") and block.endswith("</Execute>")):
                    fail(f"deepanalyze: span {span} covers {block[:40]!r}...")
        for s, rows in plain_ds.items():
            split_tables.setdefault(s, set()).update(t for r in rows for t in r["table_ids"])
    if config == "sharegpt":
        froms = [t["from"] for t in row["conversations"]]
        for i, f in enumerate(froms):
            if (i % 2 == 0 and f not in ("human", "observation")) or (i % 2 == 1 and f != "gpt"):
                fail(f"sharegpt: turn {i + 1} is {f}")
        if not row["system"]:
            fail("sharegpt: empty system")
    if config == "rl":
        gt = json.loads(row["reward_model"]["ground_truth"])
        if set(gt) != {"answer_type", "truth", "checker"} or row["reward_model"]["style"] != "rule":
            fail(f"rl: reward_model {row['reward_model']}")
        for t in row["extra_info"]["tables"]:
            if not os.path.isfile(os.path.join(export, t["path"])):
                fail(f"rl: missing table file {t['path']}")
        if row["prompt"][-1]["role"] != "user":
            fail("rl: prompt does not end with the task")
    if config == "deepanalyze-rl":
        if row["env_class"] != "deepanalyze" or row["reward_spec"]["method"] not in ("qa", "datatask", "openresearch"):
            fail(f"deepanalyze-rl: {row['env_class']} {row['reward_spec']}")
        ws = os.path.join(export, "workspace", row["data"], row["workspace_id"])
        if not os.path.isdir(ws) or not os.listdir(ws):
            fail(f"deepanalyze-rl: empty workspace {ws}")
    print(f"{config}: ok {dict((s, n) for s, n in splits.items())}")

# No table in two splits.
names = sorted(split_tables)
for i, a in enumerate(names):
    for b in names[i + 1:]:
        both = split_tables[a] & split_tables[b]
        if both:
            fail(f"tables in {a} and {b}: {sorted(both)}")

# LLaMA-Factory's entry.
if "sharegpt" in expected["rows"]:
    info = json.load(open(os.path.join(export, "dataset_info.json")))
    for name, entry in info.items():
        if entry["formatting"] != "sharegpt" or entry["columns"] != {"messages": "conversations", "system": "system"}:
            fail(f"dataset_info {name}: {entry}")
        tags = entry["tags"]
        if (tags["role_tag"], tags["content_tag"], tags["user_tag"], tags["assistant_tag"], tags["observation_tag"]) != ("from", "value", "human", "gpt", "observation"):
            fail(f"dataset_info {name}: tags {tags}")
        if not os.path.isfile(os.path.join(export, entry["file_name"])):
            fail(f"dataset_info {name}: no file {entry['file_name']}")
    print(f"dataset_info.json ok: {sorted(info)}")
print("all ok")
