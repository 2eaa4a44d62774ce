"""The embedded default's filesystem broker keeps every file it writes under var/."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BROKER_DIR = REPO / "var" / "celery-broker"

DECLARE = """
import django
django.setup()
from kombu import Exchange, Queue
from linebot_project.celery import app
with app.connection_for_write() as connection:
    Queue(NAME, Exchange(NAME), NAME)(connection.default_channel).declare()
"""


def test_it_writes_its_exchange_tables_under_var_not_where_the_process_started(tmp_path):
    name = f"test-{uuid.uuid4().hex}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.local",
    }
    try:
        result = subprocess.run(
            [sys.executable, "-c", DECLARE.replace("NAME", repr(name))],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert result.returncode == 0, result.stderr
        assert list(tmp_path.iterdir()) == []
        assert (BROKER_DIR / "control" / f"{name}.exchange").is_file()
    finally:
        (BROKER_DIR / "control" / f"{name}.exchange").unlink(missing_ok=True)
