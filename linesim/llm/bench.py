"""Load test of the LLM double: python -m linesim.llm.bench [--url URL] [--seconds 10] [--concurrency 32] [--stream]

Without ``--url`` it starts the double in a child process on a free port, so the
double and the load generator each get their own core.  ``--client sdk`` drives it
through the openai SDK (AzureOpenAI, one thread per connection), the way the bot does;
``--client aiohttp`` (default) measures the double alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager

import aiohttp

API_KEY = "bench-key"
PATH = "/openai/deployments/bench/chat/completions?api-version=2024-10-21"
MESSAGES = [
    {"role": "system", "content": "You are a helpful LINE bot. Answer in en."},
    {"role": "user", "content": "What is the weather like in Tokyo today?"},
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _aiohttp_load(url: str, seconds: float, concurrency: int, stream: bool) -> list[float]:
    body = json.dumps({"messages": MESSAGES, "stream": stream}).encode()
    headers = {"api-key": API_KEY, "Content-Type": "application/json"}
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            while time.monotonic() < deadline:
                started = time.perf_counter()
                async with session.post(url + PATH, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status}")
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def _sdk_load(url: str, seconds: float, concurrency: int, stream: bool) -> list[float]:
    import openai

    client = openai.AzureOpenAI(azure_endpoint=url, api_key=API_KEY, api_version="2024-10-21", max_retries=0)
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def worker():
        while time.monotonic() < deadline:
            started = time.perf_counter()
            if stream:
                for _ in client.chat.completions.create(model="bench", messages=MESSAGES, stream=True):
                    pass
            else:
                client.chat.completions.create(model="bench", messages=MESSAGES)
            latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


@contextmanager
def _double_process():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "linesim.llm", "--port", str(port), "--api-key", API_KEY, "--max-recorded", "100"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/_control/health", timeout=1)  # noqa: S310 - local URL
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m linesim.llm.bench")
    parser.add_argument("--url", help="a running double (started with --api-key bench-key)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--client", choices=("aiohttp", "sdk"), default="aiohttp")
    args = parser.parse_args(argv)

    def run(url):
        if args.client == "aiohttp":
            return asyncio.run(_aiohttp_load(url, args.seconds, args.concurrency, args.stream))
        return _sdk_load(url, args.seconds, args.concurrency, args.stream)

    if args.url:
        latencies = run(args.url)
    else:
        with _double_process() as url:
            latencies = run(url)
    ms = [value * 1000 for value in latencies]
    print(
        f"client={args.client} stream={args.stream} concurrency={args.concurrency} requests={len(ms)} "
        f"rps={len(ms) / args.seconds:.0f} p50={statistics.median(ms):.2f}ms p99={_percentile(ms, 0.99):.2f}ms"
    )


if __name__ == "__main__":
    main()
