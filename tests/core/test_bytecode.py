"""scripts/lib/bytecode.sh: the project's bytecode, written ahead of time for processes that may not write it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def compiled_by_the_script(prefix: Path) -> list[str]:
    # Written under a prefix of its own (PYTHONPYCACHEPREFIX), not next to the checkout's sources.
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(prefix)}
    subprocess.run(["bash", "scripts/lib/bytecode.sh", sys.executable], cwd=ROOT, env=env, check=True, timeout=300)
    return [str(path.relative_to(prefix)) for path in prefix.rglob("*.pyc")]


def test_it_compiles_the_projects_modules_and_skips_its_tests_and_hidden_directories(tmp_path):
    compiled = compiled_by_the_script(tmp_path)

    assert any(path.endswith("core/raw_sql.cpython-311.pyc") for path in compiled)
    assert any(path.endswith("conversations/migrations/0001_initial.cpython-311.pyc") for path in compiled)
    assert [path for path in compiled if "/tests/" in path or "/." in path] == []


def test_it_is_written_by_the_image_and_the_scripts():
    # The image's own compileall once excluded every path (its pattern matched the leading "./").
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()

    assert "bash scripts/lib/bytecode.sh python" in dockerfile
    assert "compileall" not in dockerfile
    for script in ("run.sh", "run_tests.sh"):
        assert "bash scripts/lib/bytecode.sh\n" in (ROOT / "scripts" / script).read_text()
