"""Downloads a dataset repository from HF_ENDPOINT with `huggingface_hub.snapshot_download` and
checks it against a local export folder: the same files, byte for byte, and a card whose
metadata `DatasetCard` parses without warnings.

usage: download.py REPO EXPORT_DIR DEST
"""
import filecmp
import logging
import os
import sys
import warnings

from huggingface_hub import DatasetCard, snapshot_download

repo, export, dest = sys.argv[1:4]
path = snapshot_download(repo_id=repo, repo_type="dataset", local_dir=dest)
local = sorted(os.path.relpath(os.path.join(d, f), export) for d, _, fs in os.walk(export) for f in fs)
got = sorted(
    os.path.relpath(os.path.join(d, f), path)
    for d, ds, fs in os.walk(path)
    for f in fs
    if ".cache" not in os.path.relpath(d, path).split(os.sep) and f != ".gitattributes"
)
if local != got:
    print(f"FAIL: files differ: only local {sorted(set(local) - set(got))}, only remote {sorted(set(got) - set(local))}")
    sys.exit(1)
for rel in local:
    if not filecmp.cmp(os.path.join(export, rel), os.path.join(path, rel), shallow=False):
        print(f"FAIL: {rel} differs")
        sys.exit(1)
records = []
handler = logging.Handler()
handler.emit = records.append
logging.getLogger("huggingface_hub").addHandler(handler)
with warnings.catch_warnings():
    warnings.simplefilter("error")
    card = DatasetCard.load(os.path.join(path, "README.md"))
if records:
    print(f"FAIL: DatasetCard logged {[r.getMessage() for r in records]}")
    sys.exit(1)
print(f"ok: {len(local)} files identical; card configs {[c['config_name'] for c in card.data.to_dict()['configs']]}")
