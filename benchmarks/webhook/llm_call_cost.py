"""What one call to the model costs the calling thread, by the length of the answer.

The stack benchmark's model double answers in a couple of dozen tokens; a real answer has hundreds, and what the
client pays per token grows with them. This calls ``core.llm.client`` (the process-wide client, as the worker
uses it) against the LLM double in a thread of this process, with scripted answers of each length, and reports
this thread's CPU per call. The double's own work runs in its thread and is not counted.
usage: .venv/bin/python benchmarks/webhook/llm_call_cost.py [--tokens 1,40,300] [--calls 200]
BENCH_APP_DIR=/path/to/another/checkout measures that checkout's code (run it from that checkout for its .venv).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import django

# The checkout measured: BENCH_APP_DIR when pointed at another one (before/after).
sys.path.insert(0, os.path.abspath(os.environ.get("BENCH_APP_DIR") or Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.test")
os.environ.setdefault("LOG_LEVEL", "WARNING")
django.setup()

from django.conf import settings  # noqa: E402

from core.llm.client import get_llm_client  # noqa: E402
from linesim.llm.testing import running_llm_double  # noqa: E402

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
    {"role": "user", "content": "Hello, what can you do?"},
]


def per_call_ms(llm, *, tokens: int, calls: int, warm_up: int = 10) -> float:
    answer = " ".join(["word"] * tokens)
    llm.control.script(*([answer] * (calls + warm_up)))
    client = get_llm_client()
    for _ in range(warm_up):
        client.chat(MESSAGES)
    started = time.thread_time()
    for _ in range(calls):
        result = client.chat(MESSAGES)
    spent = time.thread_time() - started
    assert result.text == answer, "the double did not give the scripted answer"
    llm.control.clear_script()
    llm.control.clear_requests()
    return spent / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", default="1,40,300", help="answer lengths in tokens, comma-separated")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with running_llm_double(latency_ms=0) as llm:
        settings.LLM_PROVIDER = "azure"
        settings.AZURE_OPENAI_ENDPOINT = llm.azure_endpoint
        settings.AZURE_OPENAI_API_KEY = llm.api_key
        settings.AZURE_OPENAI_DEPLOYMENT = "gpt-4o-mini"
        figures = {int(n): per_call_ms(llm, tokens=int(n), calls=args.calls) for n in args.tokens.split(",")}
    print(
        "llm call cost (this thread's CPU per call): "
        + ", ".join(f"{n} tokens {ms:.3f} ms" for n, ms in figures.items())
        + f" [{Path(settings.BASE_DIR).resolve()}]"
    )


if __name__ == "__main__":
    main()
