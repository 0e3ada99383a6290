#!/usr/bin/env bash
# The student benchmark on the GPU machine, from the repository root:
#
#   bench/student/run.sh [check] [engine] [baseline] [quick]    (default: check engine baseline)
#
#   check     transformers' float32 reference on the checkpoint (YaRN on and off), then the
#             engine against it: logits, greedy tokens at batch 1 and 64 (f32), logits in bf16
#   engine    the engine's scenarios in bf16: decode at batch 1/64/256 with 2k contexts, time to
#             first token, the agentic workload, vLLM's shape
#   baseline  transformers `generate` on the same checkpoint and shapes
#   workloads the agentic workload and vLLM's shape only
#   workloads-lite  the agentic workload, vLLM's shape at concurrency 1 and 256
#   profile   the forward pass's parts, timed between device synchronisations (prefill, decode)
#   quick     decode at batch 1 and 64 and the time to first token only (a first look)
#   engine-lite  the engine's scenarios with fewer sizes (about 5 minutes)
#   check-fast   the check with a shorter reference (128 steps, 32 ragged prompts; YaRN on, f32)
#   recheck   the engine's float32 check again against check-fast's reference (run check-fast
#             first in the same call; the environment picks the settings checked)
#   sampling  the sampling kernel against its definition and candle's ops
#   ncu       every kernel's GPU time over a few batch-1 decode steps (Nsight Compute), by name
#   lanes     the decode-attention variants (DASYNTH_STUDENT_ATTN_LANES 32, 16, 8): the float32
#             check (run check-fast first, in the same call) and decode at batch 1/64/256
#             (STUDENT_LANES_BATCHES)
#   attn      decode attention's launch shape (STUDENT_ATTN_VARIANTS, each a list of W<warps a
#             block>,S<most chunks>,M<most chunks merged in the last block, 0: a second kernel>,
#             G<the GEMV's variant: plain, nc, pipe>):
#             decode at STUDENT_ATTN_BATCHES (1) for STUDENT_ATTN_GEN (128) tokens
#   ncu-attn  the decode-attention kernel at batch 128 (STUDENT_NCU_BATCH): throughput,
#             occupancy and warp stall reasons (Nsight Compute sections)
#   sampled   decode at batch 1/64/256 and vLLM's shape at concurrency 1 and 256, sampling at
#             temperature 0.8 and top-p 0.95 (what dasynth sample asks for)
#   ab        decode and time to first token with the engine's fused kernels and CUDA graphs,
#             fused kernels alone, and candle's ops alone (--fused 0; STUDENT_AB_CANDLE=0
#             skips it), same shapes; vLLM's shape at concurrency 1
#
# Needs bench/student/dist/dasynth-student-bench.xz (scripts/build-student-cuda; carry it, it is
# an ignored path) and python3 with torch and transformers. Writes the random Qwen3-8B
# checkpoint once under /tmp (kept while the machine stays up), time-boxes every step, and
# writes JSON lines and logs into $OUT (the device tool's folder) or bench/student/results;
# bench/student/summary.py prints the table at the end. Each part fits the device tool's
# 10-minute limit on an H200 (check ≈ 5 min, engine ≈ 7, baseline ≈ 4, plus the checkpoint).
set -uo pipefail
cd "$(dirname "$0")/../.."
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(check engine baseline)
out="${OUT:-bench/student/results}"
mkdir -p "$out"
ckpt="${STUDENT_CKPT:-/tmp/qwen3-8b-random}"
bin="${STUDENT_BENCH_BIN:-/tmp/dasynth-student-bench}"
dev="${STUDENT_DEVICE:-cuda}"   # STUDENT_DEVICE=cpu with a CPU build and --tiny checkpoint: a dry run
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:/usr/local/cuda/targets/x86_64-linux/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The CUDA 13 libraries the binary links (cuBLAS, cuRAND, cudart): the toolkit's, else those of
# the Python wheels beside torch.
wheels=$(python3 -c 'import glob, site; print(":".join(sorted({p.rsplit("/", 1)[0] for s in site.getsitepackages() for p in glob.glob(s + "/nvidia/**/lib/lib*.so*", recursive=True)})))' 2>/dev/null)
[ -n "$wheels" ] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$wheels"
log="$out/run.log"

# step SECONDS NAME COMMAND...: runs a step under a time limit, its stderr into the log.
step() {
  local limit=$1 name=$2
  shift 2
  echo "== $name ($(date +%T), limit ${limit}s)" | tee -a "$log" >&2
  local t=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>>"$log"
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - t))s" | tee -a "$log" >&2
  return $rc
}

{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader
  python3 -c 'import sys, torch, transformers; print("python", sys.version.split()[0], "torch", torch.__version__, "transformers", transformers.__version__)'
} 2>&1 | tee -a "$out/env.txt"

if [ ! -f "$ckpt-plain/config.json" ]; then
  step 240 checkpoint python3 bench/student/make_checkpoint.py "$ckpt" >>"$log" || exit 1
fi
if [ ! -x "$bin" ]; then
  xz -dc bench/student/dist/dasynth-student-bench.xz >"$bin" && chmod +x "$bin" || exit 1
fi
ldd "$bin" | grep "not found" | tee -a "$out/env.txt"

for part in "${parts[@]}"; do
  case "$part" in
    check)
      for v in yarn plain; do
        dir=$ckpt; [ $v = plain ] && dir=$ckpt-plain
        step 200 "reference $v" python3 bench/student/hf_reference.py "$dir" "/tmp/reference-$v.safetensors" ${STUDENT_REF_ARGS:-} | tee -a "$out/check.jsonl"
        step 150 "check $v f32" "$bin" "$dir" --device "$dev" --dtype f32 --scenarios check --reference "/tmp/reference-$v.safetensors" | tee -a "$out/check.jsonl"
      done
      step 120 "check yarn bf16" "$bin" "$ckpt" --device "$dev" --dtype bf16 --scenarios check --reference /tmp/reference-yarn.safetensors | tee -a "$out/check.jsonl"
      ;;
    check-fast)
      step 150 "reference yarn (short)" python3 bench/student/hf_reference.py "$ckpt" /tmp/reference-yarn-short.safetensors --steps 128 --batch 32 | tee -a "$out/check.jsonl"
      step 150 "check yarn f32" "$bin" "$ckpt" --device "$dev" --dtype f32 --scenarios check --reference /tmp/reference-yarn-short.safetensors | tee -a "$out/check.jsonl"
      ;;
    recheck)  # the engine's check again against check-fast's reference (after it, other settings in the environment)
      step 150 "check yarn f32 (again)" "$bin" "$ckpt" --device "$dev" --dtype f32 --scenarios check --reference /tmp/reference-yarn-short.safetensors | tee -a "$out/check.jsonl"
      ;;
    sampling)  # the sampling kernel against its definition and candle's ops
      step 90 "sampling kernel" "$bin" "$ckpt" --device "$dev" --scenarios sampling | tee -a "$out/check.jsonl"
      ;;
    ncu)  # GPU time of every kernel of batch-1 decode steps (Nsight Compute; not on gVisor machines)
      ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | tail -1)
      step 200 "ncu b=1" "$ncu" --clock-control none --graph-profiling node --metrics gpu__time_duration.sum --csv --page raw \
        --log-file "$out/ncu-b1.csv" "$bin" "$ckpt" --device "$dev" --scenarios decode --batches 1 --context 2048 --gen 6 >>"$log"
      python3 bench/student/ncu_table.py "$out/ncu-b1.csv" | tee "$out/ncu-b1.txt"
      ;;
    lanes)  # the decode-attention variants, 32 / 16 / 8 lanes a cached position: check (after check-fast) and decode
      for l in 32 16 8; do
        DASYNTH_STUDENT_ATTN_LANES=$l step 150 "check yarn f32 lanes=$l" "$bin" "$ckpt" --device "$dev" --dtype f32 --scenarios check --reference /tmp/reference-yarn-short.safetensors | sed "s/^{/{\"attn_lanes\":$l,/" | tee -a "$out/check.jsonl"
        DASYNTH_STUDENT_ATTN_LANES=$l step 200 "decode lanes=$l" "$bin" "$ckpt" --device "$dev" --scenarios decode --batches "${STUDENT_LANES_BATCHES:-1,64,256}" --context 2048 --gen 64 | sed "s/^{/{\"attn_lanes\":$l,/" | tee -a "$out/engine.jsonl"
      done
      ;;
    attn)  # decode attention's launch shape at small batches: warps a block, chunks, merging in the last block
      for v in ${STUDENT_ATTN_VARIANTS:-W4,S64,M0 W4,S64,M64 W8,S32,M0 W8,S32,M64 W16,S16,M0 W16,S16,M64 W8,S64,M64 W16,S32,M64}; do
        vars=(); for kv in ${v//,/ }; do
          case $kv in
            W*) vars+=("DASYNTH_STUDENT_ATTN_WARPS=${kv#W}") ;; S*) vars+=("DASYNTH_STUDENT_ATTN_SPLITS=${kv#S}") ;;
            M*) vars+=("DASYNTH_STUDENT_ATTN_MERGE_IN_BLOCK=${kv#M}") ;; G*) vars+=("DASYNTH_STUDENT_GEMV=${kv#G}") ;;
          esac
        done
        echo "== decode ($v: ${vars[*]}, $(date +%T))" >>"$log"
        timeout 200 env "${vars[@]}" "$bin" "$ckpt" --device "$dev" --scenarios decode --batches "${STUDENT_ATTN_BATCHES:-1}" --context 2048 --gen "${STUDENT_ATTN_GEN:-128}" 2>>"$log" | sed "s/^{/{\"variant\":\"$v\",/" | tee -a "$out/engine.jsonl"
      done
      ;;
    ncu-attn)  # the decode-attention kernel at a large batch: speed of light, occupancy, stall reasons
      ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | tail -1)
      step 300 "ncu attention b=${STUDENT_NCU_BATCH:-128}" "$ncu" --clock-control none --graph-profiling node \
        --kernel-name regex:attn_partial --launch-skip 36 --launch-count 2 \
        --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section MemoryWorkloadAnalysis \
        "$bin" "$ckpt" --device "$dev" --scenarios decode --batches "${STUDENT_NCU_BATCH:-128}" --context 2048 --gen 4 >"$out/ncu-attn.txt"
      grep -E "attn_partial|Duration|Memory Throughput|DRAM Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit|Warp Cycles Per Issued|Issue Slots Busy|Stall|est. speedup|One or More|Active Warps" "$out/ncu-attn.txt" | head -60
      ;;
    sampled)  # decode and vLLM's shape sampling at temperature 0.8, top-p 0.95 (as dasynth sample does)
      step 120 "engine decode (sampled)" "$bin" "$ckpt" --device "$dev" --temperature 0.8 --top-p 0.95 --scenarios decode --batches 1,64,256 --context 2048 --gen 64 | tee -a "$out/engine.jsonl"
      step 90 "engine vllm (sampled)" "$bin" "$ckpt" --device "$dev" --temperature 0.8 --top-p 0.95 --scenarios vllm --vllm-concurrency 1,256 --vllm-prompt 128 --vllm-gen 1024 | tee -a "$out/engine.jsonl"
      ;;
    ab)
      step 150 "engine decode (fused+graphs)" "$bin" "$ckpt" --device "$dev" --scenarios ttft,decode --batches 1,64,256 --context 2048 --gen 64 | tee -a "$out/engine.jsonl"
      step 60 "engine decode (fused)" "$bin" "$ckpt" --device "$dev" --graphs 0 --scenarios decode --batches 1 --context 2048 --gen 64 | tee -a "$out/engine.jsonl"
      step 60 "engine vllm c=1" "$bin" "$ckpt" --device "$dev" --scenarios vllm --vllm-concurrency 1 --vllm-prompt 128 --vllm-gen 1024 | tee -a "$out/engine.jsonl"
      [ -n "${STUDENT_AB_CANDLE:-1}" ] && [ "${STUDENT_AB_CANDLE:-1}" != 0 ] &&
        step 100 "engine decode (candle)" "$bin" "$ckpt" --device "$dev" --fused 0 --scenarios ttft,decode --batches 1,64 --context 2048 --gen 64 | tee -a "$out/engine.jsonl"
      ;;
    workloads)  # the agentic workload and vLLM's shape (fused kernels and graphs)
      step 90 "engine agentic" "$bin" "$ckpt" --device "$dev" --scenarios agentic --agentic-seqs 256 --turns 5 --turn-tokens 64 --tool-ms 50 | tee -a "$out/engine.jsonl"
      step 150 "engine vllm" "$bin" "$ckpt" --device "$dev" --scenarios vllm --vllm-concurrency 1,64,256,512 --vllm-prompt 128 --vllm-gen 1024 | tee -a "$out/engine.jsonl"
      ;;
    workloads-lite)  # the agentic workload and vLLM's shape at concurrency 1 and 256 only
      step 90 "engine agentic" "$bin" "$ckpt" --device "$dev" --scenarios agentic --agentic-seqs 256 --turns 5 --turn-tokens 64 --tool-ms 50 | tee -a "$out/engine.jsonl"
      step 90 "engine vllm" "$bin" "$ckpt" --device "$dev" --scenarios vllm --vllm-concurrency 1,256 --vllm-prompt 128 --vllm-gen 1024 | tee -a "$out/engine.jsonl"
      ;;
    profile)  # where a step's time goes (DASYNTH_STUDENT_PROFILE: synchronised parts, no graphs)
      for b in 1 64; do
        DASYNTH_STUDENT_PROFILE=1 step 90 "profile b=$b" "$bin" "$ckpt" --device "$dev" --scenarios decode --batches $b --context 2048 --gen 16 | tee -a "$out/profile.jsonl"
      done
      ;;
    quick)
      step 200 "engine quick" "$bin" "$ckpt" --device "$dev" --scenarios ttft,decode --batches 1,64 --context 2048 --gen 64 | tee -a "$out/engine.jsonl"
      ;;
    engine)
      step 150 "engine decode" "$bin" "$ckpt" --device "$dev" --scenarios ttft,decode --batches 1,64,256 --context 2048 --gen 128 | tee -a "$out/engine.jsonl"
      step 80 "engine agentic" "$bin" "$ckpt" --device "$dev" --scenarios agentic --agentic-seqs 256 --turns 5 --turn-tokens 64 --tool-ms 50 | tee -a "$out/engine.jsonl"
      step 170 "engine vllm" "$bin" "$ckpt" --device "$dev" --scenarios vllm --vllm-concurrency 1,64,256,512 --vllm-prompt 128 --vllm-gen 1024 | tee -a "$out/engine.jsonl"
      ;;
    engine-lite)  # the engine part in about 5 minutes, for short device leases
      step 130 "engine decode" "$bin" "$ckpt" --device "$dev" --scenarios ttft,decode --batches 1,64,256 --context 2048 --gen 64 | tee -a "$out/engine.jsonl"
      step 70 "engine agentic" "$bin" "$ckpt" --device "$dev" --scenarios agentic --agentic-seqs 256 --turns 5 --turn-tokens 64 --tool-ms 50 | tee -a "$out/engine.jsonl"
      step 90 "engine vllm" "$bin" "$ckpt" --device "$dev" --scenarios vllm --vllm-concurrency 1,256 --vllm-prompt 128 --vllm-gen 1024 | tee -a "$out/engine.jsonl"
      ;;
    baseline)
      step 360 "transformers" python3 bench/student/hf_baseline.py "$ckpt" ${STUDENT_BASELINE_ARGS:---batches 1,64,256 --context 2048 --gen 128 --vllm-concurrency 1,64} | tee -a "$out/transformers.jsonl"
      ;;
    *) echo "unknown part $part (check, check-fast, recheck, sampling, ncu, ncu-attn, lanes, attn, sampled, ab, workloads, workloads-lite, profile, engine, engine-lite, baseline, quick)" >&2; exit 2 ;;
  esac
done
python3 bench/student/summary.py "$out" | tee "$out/summary.txt"
