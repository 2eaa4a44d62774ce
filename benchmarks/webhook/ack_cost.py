"""What one webhook ack costs the web tier's own thread and its PostgreSQL backend, with nothing else sharing them.

Signed posts of one new event each go through the WSGI application as gunicorn would hand them over (the
direct route, the view, the insert), without a server or a socket: what is left is the ack's own work, which
the stack benchmark (run.sh) measures together with the server's and the kernel's. Reported per ack: CPU of this
thread and of its PostgreSQL backend. Under the outbox (``CONVERSATION_DISPATCH=outbox``) nothing is published.
usage: COST_SCRIPT=ack_cost.py benchmarks/webhook/answer_cost.sh 5000 CONVERSATION_DISPATCH=outbox
       (``COST_ARGS="--profile /tmp/ack.prof"`` writes cProfile statistics of the measured acks)
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import hmac
import io
import os
import sys
import time
import uuid
from pathlib import Path

import django

# The checkout measured: BENCH_APP_DIR when the shell script was pointed at another one (before/after).
sys.path.insert(0, os.environ.get("BENCH_APP_DIR") or str(Path(__file__).resolve().parents[2]))
django.setup()

import orjson  # noqa: E402
from django.conf import settings  # noqa: E402

from benchmarks.process_cpu import backend, cpu  # noqa: E402
from linebot_project.wsgi import application  # noqa: E402


def signed_post(n: int) -> dict:
    """A WSGI environ of LINE's post of one new user's text."""
    body = orjson.dumps(
        {
            "destination": "U" + "0" * 32,
            "events": [
                {
                    "type": "message",
                    "mode": "active",
                    "timestamp": int(time.time() * 1000),
                    "webhookEventId": uuid.uuid4().hex[:26].upper(),
                    "deliveryContext": {"isRedelivery": False},
                    "replyToken": uuid.uuid4().hex,
                    "source": {"type": "user", "userId": f"U{uuid.uuid4().hex}"},
                    "message": {"id": str(n), "type": "text", "quoteToken": "q", "text": "Hello, what can you do?"},
                }
            ],
        }
    )
    digest = hmac.new(settings.LINE_CHANNEL_SECRET.encode(), body, hashlib.sha256).digest()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/line/webhook",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_LINE_SIGNATURE": base64.b64encode(digest).decode(),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1",
    }


def ack(environ: dict) -> None:
    statuses = []
    response = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(response)
    response.close()
    assert statuses[0].startswith("200"), statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile statistics of the measured acks")
    args = parser.parse_args()
    posts = [signed_post(n) for n in range(args.warm_up + args.events)]
    for environ in posts[: args.warm_up]:
        ack(environ)
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    db = backend()
    thread, db_cpu = time.thread_time(), cpu(db)
    if profiler:
        profiler.enable()
    for environ in posts[args.warm_up :]:
        ack(environ)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    thread, db_cpu = time.thread_time() - thread, cpu(db) - db_cpu
    per = 1000 / args.events
    print(f"{args.events} acks: web thread {thread * per:.3f} ms, PostgreSQL backend {db_cpu * per:.3f} ms CPU per ack")


if __name__ == "__main__":
    main()
