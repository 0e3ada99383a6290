#!/usr/bin/env bash
# The student benchmark on the GPU machine, from the repository root:
#
#   bench/student/run.sh [engine|baseline|all]     (default: all; each part fits 10 minutes)
#
# Needs bench/student/dist/dasynth-student-bench.xz (scripts/build-student-cuda, carried as an
# ignored path) and python3 with torch and transformers. Creates the random Qwen3-8B checkpoint
# once under /tmp, runs the engine's scenarios and transformers' baseline on it, and writes
# JSON lines plus a summary into $OUT (the device tool's folder) or bench/student/results.
set -euo pipefail
cd "$(dirname "$0")/../.."
part="${1:-all}"
out="${OUT:-bench/student/results}"
mkdir -p "$out"
ckpt="${STUDENT_CKPT:-/tmp/qwen3-8b-random}"
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:/usr/local/cuda/targets/x86_64-linux/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
if [ ! -f "$ckpt/config.json" ]; then
  python3 bench/student/make_checkpoint.py "$ckpt" 2>&1 | tail -1
fi
if [ "$part" = engine ] || [ "$part" = all ]; then
  bin=/tmp/dasynth-student-bench
  xz -dc bench/student/dist/dasynth-student-bench.xz >"$bin"
  chmod +x "$bin"
  # Each scenario sizes its own KV cache; bf16 on the GPU.
  "$bin" "$ckpt" --device cuda --scenarios ttft,decode --batches 1,64,256 --context 2048 --gen 128 | tee "$out/engine.jsonl"
  "$bin" "$ckpt" --device cuda --scenarios agentic --agentic-seqs 256 --turns 5 --turn-tokens 64 --tool-ms 50 | tee -a "$out/engine.jsonl"
  "$bin" "$ckpt" --device cuda --scenarios vllm --vllm-concurrency 1,16,64,256,512 --vllm-prompt 128 --vllm-gen 1024 | tee -a "$out/engine.jsonl"
fi
if [ "$part" = baseline ] || [ "$part" = all ]; then
  python3 bench/student/hf_baseline.py "$ckpt" --batches 1,64,256 --context 2048 --gen 128 --vllm-concurrency 1,64 | tee "$out/transformers.jsonl"
fi
