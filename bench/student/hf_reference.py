#!/usr/bin/env python3
"""What transformers computes on the benchmark checkpoint, for the engine's `check` scenario
(`dasynth-student-bench MODEL_DIR --scenarios check --reference FILE`).

Writes FILE (safetensors) with, from transformers in float32 on the checkpoint's weights:
  prompt          [P] i64        a random prompt (batch 1)
  prefill_logits  [P, V] f32     logits at every prompt position
  decode_logits   [64, V] f32    logits of the first 64 decode steps on the greedy path
  greedy          [S] i64        S greedy tokens after the prompt
  margins         [S] f32        top-1 minus top-2 logit at each greedy step
  batch_prompts   [B, L] i64     B prompts of ragged lengths 1..L (padding 0 on the right)
  batch_lens      [B] i64
  batch_greedy    [B, S] i64     S greedy tokens of each, decoded together (left-padded batch)
  batch_margins   [B, S] f32
and prints one JSON line with what bf16 transformers gives on the same path (the yardstick for
the engine's bf16 figures): max |logit diff| against float32 for the prefill and the 64
teacher-forced decode steps, and how many of the S greedy tokens match before the first
divergence.

usage: hf_reference.py MODEL_DIR OUT_FILE [--prompt 32] [--steps 256] [--batch 64] [--max-len 64]
"""

import argparse
import gc
import json
import time

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

DECODE_LOGITS = 64


def load(model_dir, dtype, device):
    if device == "cpu":  # device_map needs accelerate, which the GPU machine has
        return AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).eval()
    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, device_map=device).eval()


def step(m, ids, mask, pos, past):
    out = m(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=past, use_cache=True)
    return out.logits.float(), out.past_key_values


def greedy(m, prompts, steps, device, keep_logits=0, forced=None):
    """Greedy decoding of left-padded `prompts` together. With `forced` ([B, steps] tokens) the
    given tokens are fed instead of the argmax (teacher forcing). Returns tokens [B, steps],
    margins [B, steps], and with `keep_logits` the prefill logits [B, L, V] and the logits after
    feeding tokens 0..keep_logits of row 0 [keep_logits, V]."""
    b, width = len(prompts), max(len(p) for p in prompts)
    ids = torch.zeros((b, width), dtype=torch.long)
    mask = torch.zeros((b, width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p) :] = torch.tensor(p)
        mask[i, width - len(p) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    logits, past = step(m, ids, mask, pos, None)
    prefill = logits
    last = logits[:, -1]
    pos = pos[:, -1:]
    tokens, margins, kept = [], [], []
    for s in range(steps):
        top2 = last.topk(2, dim=-1).values
        margins.append(top2[:, 0] - top2[:, 1])
        tok = last.argmax(-1) if forced is None else forced[:, s].to(device)
        tokens.append(tok)
        if 1 <= s <= keep_logits:
            kept.append(last[0].clone())
        if s + 1 == steps and len(kept) >= keep_logits:
            break
        mask = torch.cat([mask, torch.ones((b, 1), dtype=mask.dtype, device=device)], dim=1)
        pos = pos + 1
        logits, past = step(m, tok[:, None], mask, pos, past)
        last = logits[:, -1]
    kept = torch.stack(kept) if kept else torch.zeros((0, last.shape[-1]))
    prefill = prefill.cpu() if keep_logits else None
    return torch.stack(tokens, 1).cpu(), torch.stack(margins, 1).cpu(), prefill, kept.cpu()


def agree(a, b):
    """Steps before the first difference."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--prompt", type=int, default=32)
    p.add_argument("--steps", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--max-len", type=int, default=64)
    a = p.parse_args()
    if a.steps <= DECODE_LOGITS:
        p.error(f"--steps must exceed {DECODE_LOGITS}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    t0 = time.time()

    m = load(a.model, torch.float32, device)
    vocab = m.config.vocab_size
    top = min(vocab, 151000)
    g = torch.Generator().manual_seed(20261206)
    prompt = torch.randint(0, top, (a.prompt,), generator=g).tolist()
    lens = torch.randint(1, a.max_len + 1, (a.batch,), generator=g).tolist()
    prompts = [torch.randint(0, top, (n,), generator=g).tolist() for n in lens]

    with torch.inference_mode():
        tokens, margins, prefill, decode = greedy(m, [prompt], a.steps, device, keep_logits=DECODE_LOGITS)
        b_tokens, b_margins, _, _ = greedy(m, prompts, a.steps, device)
    del m
    gc.collect()
    torch.cuda.empty_cache() if device == "cuda" else None

    padded = torch.zeros((a.batch, a.max_len), dtype=torch.long)
    for i, q in enumerate(prompts):
        padded[i, : len(q)] = torch.tensor(q)
    save_file(
        {
            "prompt": torch.tensor(prompt, dtype=torch.long),
            "prefill_logits": prefill[0].contiguous(),
            "decode_logits": decode.contiguous(),
            "greedy": tokens[0].contiguous(),
            "margins": margins[0].contiguous(),
            "batch_prompts": padded,
            "batch_lens": torch.tensor(lens, dtype=torch.long),
            "batch_greedy": b_tokens.contiguous(),
            "batch_margins": b_margins.contiguous(),
        },
        a.out,
    )

    # The yardstick: transformers itself in bf16 against its float32 figures.
    m = load(a.model, torch.bfloat16, device)
    with torch.inference_mode():
        _, _, p16, d16 = greedy(m, [prompt], DECODE_LOGITS + 1, device, keep_logits=DECODE_LOGITS, forced=tokens)
        free, _, _, _ = greedy(m, [prompt], a.steps, device)
    print(
        json.dumps(
            {
                "scenario": "reference",
                "engine": "transformers",
                "model": a.model,
                "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
                "torch": torch.__version__,
                "transformers": __import__("transformers").__version__,
                "prompt": a.prompt,
                "steps": a.steps,
                "batch": a.batch,
                "bf16_prefill_max_abs_diff": (p16[0] - prefill[0]).abs().max().item(),
                "bf16_decode_max_abs_diff": (d16 - decode).abs().max().item(),
                "f32_logit_max_abs": prefill[0].abs().max().item(),
                "bf16_greedy_agree_batch1": agree(free[0].tolist(), tokens[0].tolist()),
                "min_margin_batch1": margins[0].min().item(),
                "seconds": time.time() - t0,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
