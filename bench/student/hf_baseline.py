#!/usr/bin/env python3
"""transformers `generate` on the same checkpoint and shapes as the engine's benchmark: decode
tokens/s at batch 1, 64 and 256 with 2k-token prompts, time to first token of a 2k prompt, and
vLLM's shape (128-token prompts, 1,024 generated) at a few concurrencies. JSON lines on stdout.

usage: hf_baseline.py MODEL_DIR [--batches 1,64,256] [--context 2048] [--gen 128]
                      [--vllm-concurrency 1,64] [--vllm-gen 1024]
"""

import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM


def timed_generate(model, ids, new):
    torch.cuda.synchronize()
    t = time.perf_counter()
    model.generate(ids, max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0, eos_token_id=None)
    torch.cuda.synchronize()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--batches", default="1,64,256")
    p.add_argument("--context", type=int, default=2048)
    p.add_argument("--gen", type=int, default=128)
    p.add_argument("--vllm-concurrency", default="1,64")
    p.add_argument("--vllm-gen", type=int, default=1024)
    a = p.parse_args()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, device_map="cuda").eval()
    g = torch.Generator(device="cpu").manual_seed(0)
    ids = lambda b, n: torch.randint(0, 151000, (b, n), generator=g).cuda()
    with torch.inference_mode():
        timed_generate(model, ids(1, 16), 4)  # warm-up
        one = ids(1, a.context)
        ttft = sorted(timed_generate(model, one, 1) for _ in range(5))
        print(json.dumps({"scenario": "ttft", "engine": "transformers", "context": a.context, "ttft_ms_median": ttft[2] * 1e3}), flush=True)
        for b in [int(x) for x in a.batches.split(",")]:
            try:
                x = ids(b, a.context)
                prefill = timed_generate(model, x, 1)
                total = timed_generate(model, x, a.gen)
                tps = b * (a.gen - 1) / max(total - prefill, 1e-9)
                print(json.dumps({"scenario": "decode", "engine": "transformers", "batch": b, "context": a.context,
                                  "generated": a.gen, "decode_tokens_per_s": tps, "prefill_s": prefill}), flush=True)
            except torch.cuda.OutOfMemoryError:
                print(json.dumps({"scenario": "decode", "engine": "transformers", "batch": b, "context": a.context,
                                  "error": "out of GPU memory"}), flush=True)
            x = None
            torch.cuda.empty_cache()
        for c in [int(x) for x in a.vllm_concurrency.split(",")]:
            secs = timed_generate(model, ids(c, 128), a.vllm_gen)
            print(json.dumps({"scenario": "vllm", "engine": "transformers", "concurrency": c, "prompt": 128,
                              "generated": a.vllm_gen, "output_tokens_per_s": c * a.vllm_gen / secs, "seconds": secs}), flush=True)


if __name__ == "__main__":
    main()
