#!/usr/bin/env bash
# `dasynth sample` end to end on the GPU machine: the demo tables crawled, profiled and planned,
# then sampled by a random-weight Qwen3-8B (bench/student/make_checkpoint.py) in the in-process
# engine on CUDA, with the wasm sandbox running every cell. Answers are not expected to be right
# (the weights are random): it measures samples (trajectories) per minute through the whole loop.
#
#   bench/student/sample_demo.sh [MAX_TASKS [N]]          (defaults 48 tasks, 4 samples each)
#
# Needs the parts scripts/pack-sample-demo wrote (bench/student/dist/sample-demo.tar.xz.part-*,
# carried one per call and moved to $STAGE by `bench/student/sample_demo.sh keep`), and python3
# with torch and transformers for the checkpoint. Writes stats and logs into $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
stage="${STAGE:-/tmp/sample-demo}"
mkdir -p "$stage/parts"
if [ "${1:-}" = keep ]; then   # a call that only carries a part: keep it outside the tree
  mv bench/student/dist/sample-demo.tar.xz.part-* "$stage/parts/" && ls -l "$stage/parts"
  exit
fi
max_tasks="${1:-48}"
n="${2:-4}"
out="${OUT:-bench/student/results}"
mkdir -p "$out"
mv bench/student/dist/sample-demo.tar.xz.part-* "$stage/parts/" 2>/dev/null
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:/usr/local/cuda/targets/x86_64-linux/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
wheels=$(python3 -c 'import glob, site; print(":".join(sorted({p.rsplit("/", 1)[0] for s in site.getsitepackages() for p in glob.glob(s + "/nvidia/**/lib/lib*.so*", recursive=True)})))' 2>/dev/null)
[ -n "$wheels" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$wheels"
log="$out/sample-demo.log"
if [ ! -x "$stage/dasynth" ]; then
  cat "$stage"/parts/sample-demo.tar.xz.part-* | xz -dc | tar -x -C "$stage" || exit 1
fi
export DASYNTH_CACHE="$stage/cache"
bin="$stage/dasynth"
ldd "$bin" | grep "not found" | tee -a "$out/env.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$out/env.txt"
ckpt=/tmp/qwen3-8b-random
if [ ! -f "$ckpt/config.json" ]; then
  python3 bench/student/make_checkpoint.py "$ckpt" >>"$log" 2>&1 || exit 1
fi
cp "$stage/tokenizer.json" "$ckpt/tokenizer.json"
run=/tmp/sample-demo-run
t=$SECONDS
"$bin" sandbox run -c 'import pandas; print(pandas.__version__)' 2>>"$log" || exit 1
echo "sandbox ready in $((SECONDS - t)) s (install and snapshot)" | tee -a "$out/env.txt"
"$bin" crawl sources/demo.toml --out "$run" -q 2>>"$log"
"$bin" profile "$run" -q 2>>"$log"
"$bin" tasks "$run" -q 2>>"$log"
t=$SECONDS
/usr/bin/time -v "$bin" sample "$run" --student "$ckpt" --device cuda --n "$n" --max-tasks "$max_tasks" \
  --max-seqs 64 --max-len 4096 --turn-tokens 1024 2>&1 | tee -a "$log" | grep -v "^\s" | tail -20
echo "sample: exit ${PIPESTATUS[0]} after $((SECONDS - t)) s" | tee -a "$out/env.txt"
cp "$run/stats/sample.json" "$out/" 2>/dev/null
python3 - "$run" <<'PY' | tee "$out/sample-demo.json"
import json, sys
s = json.load(open(sys.argv[1] + "/stats/sample.json"))
keep = ["model", "n", "tasks", "samples_run", "samples_per_minute", "sampling_seconds", "by_finish", "input_tokens", "output_tokens", "seconds", "stopped"]
print(json.dumps({k: s[k] for k in keep if k in s}))
PY
# What went through the loop: turns per trajectory, cells the sandbox ran, how turns ended.
python3 - "$run" <<'PY' | tee "$out/trajectories.json"
import collections, glob, json, sys
turns, cells, ends, n = collections.Counter(), 0, collections.Counter(), 0
for path in glob.glob(sys.argv[1] + "/student/trajectories/*.jsonl"):
    for line in open(path):
        t = json.loads(line)
        n += 1
        steps = t.get("turns") or t.get("steps") or []
        turns[len(steps)] += 1
        cells += sum(1 for s in steps if isinstance(s, dict) and (s.get("code") or s.get("cell")))
        ends[str(t.get("finish") or t.get("finish_reason") or t.get("ended"))] += 1
print(json.dumps({"trajectories": n, "turns": dict(sorted(turns.items())), "cells": cells, "finish": dict(ends)}))
PY
head -c 3000 "$(ls "$run"/student/trajectories/*.jsonl | head -1)" >"$out/first-trajectory.txt"
