"""scripts/lib/venv.sh stops on a failed pip call and writes no stamp, so the next run installs again.

pip runs with no index and no configuration: the requirement it is asked for cannot be found, and it says so at
once instead of reaching for the network.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

VENV_SH = Path(__file__).resolve().parents[2] / "scripts" / "lib" / "venv.sh"
MISSING = "linebot-no-such-package"


def offline_env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    env.update(PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull, PYTHON=sys.executable)
    return env


def ensure_venv(project: Path, *requirements: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", 'set -euo pipefail; source "$0"; ensure_venv "$@"', str(VENV_SH), *requirements],
        cwd=project,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def project(tmp_path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text(f"{MISSING}==1.0 \\\n    --hash=sha256:{'0' * 64}\n")
    (tmp_path / "requirements" / "extra.txt").write_text(f"{MISSING}-too==2.0 \\\n    --hash=sha256:{'1' * 64}\n")
    return tmp_path


def test_it_exits_non_zero_shows_pips_error_and_writes_no_stamp_on_a_failed_install(project):
    subprocess.run([sys.executable, "-m", "venv", str(project / ".venv")], check=True, timeout=180)

    result = ensure_venv(project, "requirements/base.txt", "requirements/extra.txt")

    assert result.returncode != 0
    assert MISSING in result.stderr  # pip's own words, not swallowed
    assert "installing requirements/base.txt requirements/extra.txt failed" in result.stderr
    assert not list((project / ".venv").glob(".installed*"))


def test_it_removes_a_new_venv_whose_pip_cannot_be_installed(project):
    result = ensure_venv(project, "requirements/base.txt")

    assert result.returncode != 0
    assert "installing pip" in result.stderr
    assert not (project / ".venv").exists()


def test_it_fails_on_a_missing_requirements_file(project):
    result = ensure_venv(project, "requirements/base.txt", "requirements/absent.txt")

    assert result.returncode != 0
    assert "requirements/absent.txt not found" in result.stderr
    assert not (project / ".venv").exists()
