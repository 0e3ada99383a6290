#!/usr/bin/env python3
"""Writes a random-initialised Qwen3-8B-shaped checkpoint in bf16 (DeepAnalyze-8B's shape and
YaRN rope scaling), for the student benchmark, and beside it OUT_DIR-plain: the same weights
(linked) with rope scaling off. Runs on the GPU machine (~20 s there plus the disk writes).

usage: make_checkpoint.py OUT_DIR [--tiny]    (--tiny: a 2-layer model of the same vocabulary,
                                               to try the benchmark's scripts on a CPU)
"""

import json
import os
import sys
import time

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1].rstrip("/")
    tiny = "--tiny" in sys.argv
    yarn = {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0, "original_max_position_embeddings": 32768,
            "attention_factor": 0.8782}
    shape = dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36, num_attention_heads=32,
                 num_key_value_heads=8, head_dim=128)
    if tiny:
        shape = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=2, head_dim=32)
    cfg = Qwen3Config(
        vocab_size=151936, max_position_embeddings=131072, rms_norm_eps=1e-6, tie_word_embeddings=False,
        rope_parameters=yarn, bos_token_id=151643, eos_token_id=151645, **shape,
    )
    t = time.time()
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = Qwen3ForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(out, safe_serialization=True, max_shard_size="5GB")

    plain = out + "-plain"
    os.makedirs(plain, exist_ok=True)
    for name in os.listdir(out):
        target = os.path.join(plain, name)
        if name.endswith((".safetensors", ".json")) and name != "config.json" and not os.path.lexists(target):
            os.symlink(os.path.abspath(os.path.join(out, name)), target)
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    config["rope_parameters"] = {"rope_type": "default", "rope_theta": 1000000.0}
    config.pop("rope_scaling", None)
    with open(os.path.join(plain, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {out} and {plain} in {time.time() - t:.1f}s")


if __name__ == "__main__":
    main()
