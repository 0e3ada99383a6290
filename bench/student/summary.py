#!/usr/bin/env python3
"""Prints the student benchmark's table from the JSON lines that run.sh wrote.

usage: summary.py RESULTS_DIR      (check.jsonl, engine.jsonl, transformers.jsonl, env.txt)
"""

import json
import os
import sys

# Peak HBM bandwidth by the vendors' datasheets, GB/s.
HBM = {"H200": 4800, "H100": 3350}


def lines(path):
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def main() -> None:
    d = sys.argv[1] if len(sys.argv) > 1 else "bench/student/results"
    env = open(os.path.join(d, "env.txt")).read() if os.path.exists(os.path.join(d, "env.txt")) else ""
    gpu = env.splitlines()[0] if env else "?"
    peak = next((v for k, v in HBM.items() if k in gpu), None)
    print(f"GPU: {gpu}")
    for c in lines(os.path.join(d, "check.jsonl")):
        if c.get("scenario") == "reference":
            print(f"transformers bf16 vs f32 ({os.path.basename(c['model'])}): prefill {c['bf16_prefill_max_abs_diff']:.3g}, "
                  f"decode {c['bf16_decode_max_abs_diff']:.3g}, greedy agree {c['bf16_greedy_agree_batch1']}/{c['steps']}, "
                  f"|logit| max {c['f32_logit_max_abs']:.3g}")
        elif c.get("scenario") == "check":
            b1, b = c["batch1"], c["batch"]
            print(f"engine {c['dtype']} [{c.get('kernels', 'candle')}] ({os.path.basename(c['model'])}): max|dlogit| prefill {c['prefill_max_abs_diff']:.3g}, "
                  f"{c['decode_steps']} decode {c['decode_max_abs_diff']:.3g}; greedy batch 1 {b1['identical']}/{b1['of']}, "
                  f"batch {b['sequences']} {b['identical_tokens']}/{b['of']} ({b['sequences_identical']} whole, "
                  f"{len(b['divergences'])} at near ties, {b['unexplained']} unexplained) pass={c['greedy_pass']}")
        elif c.get("scenario") == "sampling":
            ms = ", ".join(f"b={b} {t['kernel_ms']:.3f} vs {t['candle_ms']:.2f} ms" for b, t in c["ms_per_step"].items())
            print(f"sampling kernel (vocab {c['vocab']}): max frequency error {c['max_freq_error']:.2g}, "
                  f"{c['outside_nucleus']} of {c['drawn']} draws outside the nucleus, {c['agree_with_candle']} agree with candle's ops, "
                  f"greedy {c['greedy_agree']}/{c['greedy_rows']}; per step kernel vs candle: {ms}; pass={c['pass']}")
    rows = []
    eng = lines(os.path.join(d, "engine.jsonl"))
    hf = {(r["scenario"], r.get("batch", r.get("concurrency"))): r for r in lines(os.path.join(d, "transformers.jsonl"))}
    for r in eng:
        s = r["scenario"]
        tag = f" [{r['kernels']}]" if r.get("kernels") and r["kernels"] != "fused+graphs" else ""
        if r.get("sampling"):
            tag += f" [t={r['sampling']['temperature']:g} p={r['sampling']['top_p']:g}]"
        sampled = bool(r.get("sampling"))  # transformers' baseline is greedy
        if s == "decode":
            if "skipped" in r:
                rows.append((f"decode b={r['batch']} ctx={r['context']}", "skipped: " + r["skipped"], ""))
                continue
            frac = ""
            if peak:
                steps = r["decode_tokens_per_s"] / r["batch"]
                frac = f" ({100 * steps * r['bytes_per_step'] / (peak * 1e9):.0f}% HBM)"
            base = None if sampled else hf.get(("decode", r["batch"]), {}).get("decode_tokens_per_s")
            rows.append((f"decode tok/s b={r['batch']} ctx={r['context']}{tag}", f"{r['decode_tokens_per_s']:.0f}{frac}",
                         f"{base:.0f}" if base else ""))
        elif s == "ttft":
            base = hf.get(("ttft", None), {}).get("ttft_ms_median")
            rows.append((f"TTFT ms, {r['context']} prompt{tag}", f"{r['ttft_ms_median']:.1f}", f"{base:.1f}" if base else ""))
        elif s == "agentic":
            w, wo = r["with_pauses"], r["without_pauses"]
            rows.append((f"agentic {r['sequences']} seqs x {r['turns']} turns, {r['tool_ms']} ms tools{tag}",
                         f"{w['tokens_per_s']:.0f} vs {wo['tokens_per_s']:.0f} tok/s = {100 * r['throughput_ratio']:.0f}%", ""))
        elif s == "vllm":
            base = None if sampled else hf.get(("vllm", r["concurrency"]), {}).get("output_tokens_per_s")
            rows.append((f"vLLM shape c={r['concurrency']} ({r['prompt']} in, {r['generated']} out){tag}", f"{r['output_tokens_per_s']:.0f}",
                         f"{base:.0f}" if base else ""))
    for (s, k), r in hf.items():
        if not any(x[0].startswith("decode tok/s b=%s " % k) for x in rows) and s == "decode":
            rows.append((f"decode tok/s b={k} (transformers only)", "", f"{r.get('decode_tokens_per_s', 0):.0f} {r.get('error', '')}"))
    if rows:
        w = max(len(x[0]) for x in rows)
        print(f"{'':{w}}  {'dasynth-student':>28}  {'transformers':>12}")
        for a, b, c in rows:
            print(f"{a:{w}}  {b:>28}  {c:>12}")


if __name__ == "__main__":
    main()
