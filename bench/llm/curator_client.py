"""Run bespokelabs-curator against an OpenAI-compatible server and print one JSON line.

usage: curator_client.py URL REQUESTS CONCURRENCY

Reports the workload's own CPU time (getrusage around the curator call, so the
multi-second import of curator/litellm is excluded) and wall time.
"""
import json
import os
import resource
import sys
import tempfile
import time

os.environ.setdefault("CURATOR_DISABLE_CACHE", "true")
os.environ.setdefault("TELEMETRY_ENABLED", "false")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("CURATOR_DISABLE_RICH_DISPLAY", "1")
os.environ.setdefault("OPENAI_API_KEY", "sk-bench-not-a-real-key")
# No network: point tiktoken at the cl100k_base file that litellm ships.
import importlib.util  # noqa: E402

_litellm = importlib.util.find_spec("litellm")
if _litellm and _litellm.origin:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", os.path.join(
        os.path.dirname(_litellm.origin), "litellm_core_utils", "tokenizers"))

from bespokelabs import curator  # noqa: E402


class Bench(curator.LLM):
    def prompt(self, row):
        return row["q"]

    def parse(self, row, response):
        return {"q": row["q"], "a": response}


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    url, n, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rows = [{"q": f"Question {i}: what is the mean of column x in table t?"} for i in range(n)]
    llm = Bench(
        model_name="gpt-4o-mini",
        backend="openai",
        generation_params={"max_tokens": 64},
        backend_params={
            "base_url": url,
            "max_concurrent_requests": conc,
            "max_requests_per_minute": 10_000_000,
            "max_tokens_per_minute": 10_000_000_000,
            "max_retries": 1,
            "request_timeout": 60,
        },
    )
    with tempfile.TemporaryDirectory() as wd:
        c0, t0 = cpu(), time.perf_counter()
        out = llm(rows, working_dir=wd)
        elapsed, cpu_s = time.perf_counter() - t0, cpu() - c0
        try:
            ok = len(out.dataset)
        except Exception:  # noqa: BLE001
            ok = len(out)
    print(json.dumps({"requests": n, "ok": ok, "concurrency": conc, "elapsed_s": elapsed,
                      "throughput_rps": ok / elapsed, "workload_cpu_s": cpu_s,
                      "peak_rss_kib": peak_rss_kib()}))


if __name__ == "__main__":
    main()
