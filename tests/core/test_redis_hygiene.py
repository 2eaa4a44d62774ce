"""Tests share one Redis server with other test runs: they only ever touch their own keys."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import redis
from django.conf import settings

from core.redis import get_redis
from tests.redis_keys import delete_own_keys

TESTS = Path(__file__).resolve().parents[1]
SCANS = {"scan_iter", "scan", "keys"}
NEVER = {"flushdb", "flushall"}


def _pattern_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "match":
            return keyword.value
    return call.args[0] if call.args else None


def _is_own_pattern(node: ast.expr) -> bool:
    """``manager.pattern(...)`` or ``manager.key(...)``: built under the run's prefix."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"key", "pattern"}


def redis_key_misuses() -> list[str]:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            where = f"{path.relative_to(TESTS.parent)}:{node.lineno}"
            if node.func.attr in NEVER:
                found.append(f"{where} {node.func.attr}")
            elif node.func.attr in SCANS and (pattern := _pattern_argument(node)) and not _is_own_pattern(pattern):
                found.append(f"{where} {node.func.attr}({ast.unparse(pattern)})")
    return found


def test_it_finds_no_test_that_scans_redis_with_a_raw_pattern_or_flushes_it():
    assert redis_key_misuses() == []


def test_it_catches_a_raw_scan_pattern_and_a_flush(tmp_path, monkeypatch):
    (tmp_path / "test_raw.py").write_text('client.scan_iter(f"{prefix}:conv:*")\nclient.flushdb()\n')
    monkeypatch.setattr(f"{__name__}.TESTS", tmp_path)

    assert [line.split(" ", 1)[1] for line in redis_key_misuses()] == ["scan_iter(f'{prefix}:conv:*')", "flushdb"]


def test_it_deletes_this_runs_keys_and_no_others_in_the_clean_up():
    manager = get_redis()
    client = redis.Redis.from_url(settings.REDIS_URL)
    # Another run whose prefix starts like ours must keep its keys.
    foreign = f"{settings.REDIS_KEY_PREFIX}x-{uuid.uuid4().hex[:6]}:conv:ctx:1"
    ours = manager.key(f"conv:ctx:{uuid.uuid4().hex[:6]}")
    client.set(foreign, "theirs", ex=60)
    client.set(ours, "ours", ex=60)
    try:
        assert delete_own_keys("conv:*") >= 1

        assert client.get(foreign) == b"theirs"
        assert client.exists(ours) == 0
    finally:
        client.delete(foreign)
