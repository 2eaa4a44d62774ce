"""A change made here must reach a separate Python process within 5 seconds, without a restart."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from core import config
from core.config import runtime
from core.config.services import setting_update
from tests.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
WATCHER = Path(__file__).with_name("watch_setting.py")


def _start_watcher(key: str, expected, **env_overrides) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONPATH": str(REPO),
        **env_overrides,
    }
    process = subprocess.Popen(
        [sys.executable, str(WATCHER), key, repr(expected)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    assert line.startswith("ready"), f"watcher did not start: {line!r}"
    return process


def _seconds_until_seen(process: subprocess.Popen, changed_at: float) -> float:
    try:
        out, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    last = out.strip().splitlines()[-1] if out.strip() else ""
    assert last.startswith("seen"), f"the other process never saw the change: {last!r}"
    return float(last.split()[1]) - changed_at


def _change(administrator, value):
    changed_at = time.time()
    setting_update(key="llm.temperature", value=value, actor=administrator, reason="hot reload test")
    return changed_at


def test_it_brings_a_change_to_another_process_within_five_seconds(administrator):
    watcher = _start_watcher("llm.temperature", 1.9)
    time.sleep(1.5)  # the watcher has loaded and cached the old value by now

    latency = _seconds_until_seen(watcher, _change(administrator, 1.9))

    print(f"hot reload through Redis: {latency:.3f}s")
    assert latency < 5.0


def test_it_brings_a_change_to_a_process_without_redis_within_five_seconds(administrator):
    watcher = _start_watcher("llm.temperature", 0.05, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    time.sleep(1.5)

    latency = _seconds_until_seen(watcher, _change(administrator, 0.05))

    print(f"hot reload through database polling: {latency:.3f}s")
    assert latency < 5.0


def test_it_publishes_the_new_version_to_redis_after_commit(administrator):
    from core.redis import get_redis

    version = setting_update(key="features.web_search", value=True, actor=administrator, reason="launch")
    assert int(get_redis().get(runtime.version_key())) == version.id
    assert config.get("features.web_search") is True


def test_it_leaves_no_value_of_a_rolled_back_change_in_the_writing_process(administrator):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        setting_update(key="llm.temperature", value=1.7, actor=administrator, reason="never committed")
        assert config.get("llm.temperature") == 1.7
        raise Abort

    assert config.get("llm.temperature") == 0.7


def test_it_serves_a_committed_change_from_memory_afterwards(administrator, django_assert_num_queries):
    setting_update(key="llm.temperature", value=1.3, actor=administrator, reason="warmer")
    assert config.get("llm.temperature") == 1.3
    with django_assert_num_queries(0):
        assert config.get("llm.temperature") == 1.3
        assert config.get("persona")
