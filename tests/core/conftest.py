import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.ports import free_port


class RedisProcess:
    """A private redis-server that a test can kill and start again on the same port."""

    def __init__(self, data_dir: Path | None = None):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        # With a directory every write is on disk before it is acknowledged, so a killed
        # server comes back with its data, as after a network partition.
        self.data_dir = data_dir

    def start(self) -> None:
        persistence = (
            ("--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "always")
            if self.data_dir
            else ("--appendonly", "no")
        )
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis_process():
    server = RedisProcess()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def durable_redis_process(tmp_path):
    server = RedisProcess(data_dir=tmp_path)
    server.start()
    yield server
    server.kill()
