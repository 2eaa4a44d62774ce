"""Running a script against the embedded default: the local settings on a SQLite database of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def run_on_embedded_sqlite(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Runs ``script`` with ``python -c`` in a fresh process, as the embedded default would run it."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
