#!/usr/bin/env python3
"""Writes a random-initialised Qwen3-8B-shaped checkpoint in bf16 (DeepAnalyze-8B's shape and
YaRN rope scaling), for the student benchmark. Runs on the GPU machine (~20 s there).

usage: make_checkpoint.py OUT_DIR [--no-yarn]
"""

import sys
import time

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    rope = {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0, "original_max_position_embeddings": 32768,
            "attention_factor": 0.8782}
    if "--no-yarn" in sys.argv:
        rope = {"rope_type": "default", "rope_theta": 1000000.0}
    cfg = Qwen3Config(
        vocab_size=151936, hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=131072,
        rms_norm_eps=1e-6, tie_word_embeddings=False, rope_parameters=rope,
        bos_token_id=151643, eos_token_id=151645,
    )
    t = time.time()
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen3ForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(out, safe_serialization=True, max_shard_size="5GB")
    print(f"wrote {out} in {time.time() - t:.1f}s")


if __name__ == "__main__":
    main()
