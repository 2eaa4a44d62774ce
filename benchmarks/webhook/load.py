"""Load tools for the webhook benchmark (see run.sh).

    load.py bodies --count N --secret S --out FILE         pre-signed text events, one per line: "<sig>\\t<json>"
    load.py fixed-rate --url U [--bodies FILE] --rate R --seconds S   (without bodies: GET the URL)
    load.py reply-latency --url U --line URL --secret S --rate R --seconds S

``fixed-rate`` is an open-loop generator: requests leave on a fixed schedule whatever the
server does, and latency is counted from the scheduled time, so a stalled server cannot
hide its backlog (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import statistics
import sys
import time
import urllib.request
import uuid

import aiohttp


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def text_event(user_id: str, text: str, reply_token: str) -> dict:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": reply_token,
        "message": {"id": str(uuid.uuid4().int)[:16], "type": "text", "text": text, "quoteToken": "q"},
    }


def signed(secret: str, event: dict) -> tuple[str, bytes]:
    body = json.dumps({"destination": "Ubench", "events": [event]}, separators=(",", ":")).encode()
    return sign(secret, body), body


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cmd_bodies(args) -> None:
    with open(args.out, "w") as out:
        for _ in range(args.count):
            event = text_event("U" + uuid.uuid4().hex, "What is the weather like today?", uuid.uuid4().hex)
            signature, body = signed(args.secret, event)
            out.write(f"{signature}\t{body.decode()}\n")


async def _fire(session, url, signature, body, scheduled, results):
    try:
        if body is None:
            sent = session.get(url)
        else:
            sent = session.post(
                url, data=body, headers={"Content-Type": "application/json", "X-Line-Signature": signature}
            )
        async with sent as response:
            await response.read()
            results.append((time.perf_counter() - scheduled, response.status))
    except (aiohttp.ClientError, TimeoutError) as exc:
        results.append((time.perf_counter() - scheduled, type(exc).__name__))


async def _open_loop(url, requests, rate, connections):
    results: list = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        start = time.perf_counter() + 0.2
        tasks = []
        for k, (signature, body) in enumerate(requests):
            scheduled = start + k / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_fire(session, url, signature, body, scheduled, results)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    # Wall-clock time of the first scheduled send, to compare with the LINE double's timestamps.
    first_send_wall = start + (time.time() - time.perf_counter())
    return results, elapsed, first_send_wall


def _summary(results, elapsed) -> dict:
    latencies = [lat * 1000 for lat, status in results if status == 200]
    errors = sum(1 for _, status in results if status != 200)
    return {
        "sent": len(results),
        "ok": len(latencies),
        "errors": errors,
        "achieved_per_s": round(len(results) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2) if latencies else None,
    }


def _signed_line(line: str) -> tuple[str, bytes]:
    signature, body = line.rstrip("\n").split("\t", 1)
    return signature, body.encode()


def cmd_fixed_rate(args) -> None:
    wanted = int(args.rate * args.seconds)
    requests = [(None, None)] * wanted
    if args.bodies is not None:
        with open(args.bodies) as bodies:
            requests = [_signed_line(line) for _, line in zip(range(wanted), bodies, strict=False)]
    results, elapsed, _ = asyncio.run(_open_loop(args.url, requests, args.rate, args.connections))
    print(json.dumps(_summary(results, elapsed)))


def _control(base: str, method: str, path: str, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        f"{base}/_control/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def slowest_by_second(latencies: list[float], rate: float) -> list[float]:
    """The slowest of each second's events (latencies in the order sent, ``rate`` a second), to tell a slow start
    from a slow run."""
    per = max(int(rate), 1)
    return [round(max(latencies[i : i + per]), 1) for i in range(0, len(latencies), per)]


def cmd_reply_latency(args) -> None:
    """Webhook POST (scheduled time) to the moment the LINE double recorded the bot's reply or push.

    ``--lead-in`` seconds of events go first, at the same rate and in the same open loop, and are not measured:
    the measured events then meet a stack that is already receiving events at that rate, as it would be during
    a spell of that traffic, rather than one that has been idle while this command registered its users.
    """
    lead = int(args.rate * args.lead_in)
    count = int(args.rate * args.seconds)
    users, requests = [], []
    for _ in range(lead + count):
        user_id = "U" + uuid.uuid4().hex
        # A user LINE knows: the bot fetches a new user's profile, and it should find one, as it would on LINE.
        _control(args.line, "POST", "users", {"userId": user_id, "displayName": f"User {len(users)}", "language": "en"})
        token = _control(args.line, "POST", "reply-tokens", {"userId": user_id})["replyToken"]
        requests.append(signed(args.secret, text_event(user_id, "Hello, what can you do?", token)))
        users.append(user_id)
    _control(args.line, "DELETE", "requests")
    results, elapsed, first_send = asyncio.run(_open_loop(args.url, requests, args.rate, args.connections))
    deadline = time.time() + args.wait
    replies: dict[str, float] = {}
    while time.time() < deadline:
        replies = {}
        for entry in _control(args.line, "GET", "requests")["requests"]:
            if entry["endpoint"] in ("replyMessage", "pushMessage") and entry["status"] == 200:
                for target in entry["to"]:
                    replies.setdefault(target, entry["time"])
        if len(replies) >= lead + count:
            break
        time.sleep(0.5)
    latencies = [
        (replies[user] - (first_send + k / args.rate)) * 1000
        for k, user in enumerate(users)
        if k >= lead and user in replies
    ]
    print(
        json.dumps(
            {
                "ack": _summary(results, elapsed),
                "replied": len(latencies),
                "expected": count,
                "reply_p50_ms": round(percentile(latencies, 50), 1),
                "reply_p99_ms": round(percentile(latencies, 99), 1),
                "reply_mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
                "reply_slowest_ms_by_second": slowest_by_second(latencies, args.rate),
            }
        )
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("bodies")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_bodies)
    for name, run in (("fixed-rate", cmd_fixed_rate), ("reply-latency", cmd_reply_latency)):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--rate", type=float, required=True)
        p.add_argument("--seconds", type=float, required=True)
        p.add_argument("--connections", type=int, default=200)
        p.set_defaults(run=run)
        if name == "fixed-rate":
            p.add_argument("--bodies", default=None, help="pre-signed webhooks to POST; without it, GET the URL")
        else:
            p.add_argument("--line", required=True)
            p.add_argument("--secret", required=True)
            p.add_argument("--wait", type=float, default=60)
            p.add_argument("--lead-in", type=float, default=0, help="seconds of unmeasured events sent first")
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
