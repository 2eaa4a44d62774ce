"""Starts the LLM double: python -m linesim.llm --port 8082 (see --help)."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from linesim.llm.server import build_app
from linesim.llm.state import DEFAULT_API_KEY, Options


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m linesim.llm", description="Azure OpenAI / OpenAI double")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the key clients must send (default: %(default)s)")
    parser.add_argument("--latency-ms", type=float, default=0, help="added before every answer")
    parser.add_argument("--tokens-per-second", type=float, default=0, help="stream rate; 0 streams at once")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws and ids")
    parser.add_argument("--max-recorded", type=int, default=1000, help="requests kept for /_control/requests")
    args = parser.parse_args(argv)
    if args.latency_ms < 0 or args.tokens_per_second < 0 or args.max_recorded < 1:
        parser.error("--latency-ms and --tokens-per-second must be >= 0, --max-recorded >= 1")

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    options = Options(
        api_key=args.api_key,
        latency_ms=args.latency_ms,
        tokens_per_second=args.tokens_per_second,
        seed=args.seed,
        max_recorded=args.max_recorded,
    )
    base = f"http://{args.host}:{args.port}"
    print(f"LLM double on {base}  (Azure endpoint {base}, OpenAI base URL {base}/v1, control {base}/_control/)")
    web.run_app(
        build_app(options),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
        shutdown_timeout=1.0,
        handler_cancellation=True,
    )


if __name__ == "__main__":
    main()
