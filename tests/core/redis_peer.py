"""Run by the Redis recovery tests as a separate process with its own RedisManager.

usage: python redis_peer.py URL KEY_PREFIX
Reads one JSON command per line on stdin (``["set", "name", "value"]``, ``["incr", "name"]``,
``["delete", "name"]``, ``["get", "name"]``, ``["recover"]``) and answers each with one JSON line.
``recover`` calls Redis until the breaker is closed and nothing is left to write back.
"""

import json
import sys
import time

# Answers go to the real stdout; anything else printed (log lines) goes to stderr.
answers, sys.stdout = sys.stdout, sys.stderr

from core.redis import RedisManager  # noqa: E402

url, prefix = sys.argv[1], sys.argv[2]
manager = RedisManager(url, key_prefix=prefix, fail_max=1, reset_timeout=0.3, socket_timeout=0.3)


def recover() -> str:
    deadline = time.monotonic() + 20
    while manager.using_fallback or manager.fallback.has_dirty:
        if time.monotonic() > deadline:
            return f"still {manager.state}"
        manager.get("peer:probe")
        time.sleep(0.05)
    return manager.state


def run(op: str, *args):
    if op == "recover":
        return recover()
    if op == "state":
        return manager.state
    result = getattr(manager, op)(*args)
    return result.decode() if isinstance(result, bytes) else result


print(json.dumps("ready"), file=answers, flush=True)
for line in sys.stdin:
    print(json.dumps(run(*json.loads(line))), file=answers, flush=True)
