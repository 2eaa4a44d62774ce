"""A management command starts without the SDKs of LINE and the LLM, which only workers call."""

import subprocess
import sys

from tests.security.production_env import REPO

HEAVY = ("linebot", "openai", "httpx2", "regex")


def loaded_after(*argv: str) -> list[str]:
    """The heavy modules in sys.modules when ``manage.py argv`` has run, in its own process."""
    probe = (
        "import atexit, runpy, sys\n"
        f"atexit.register(lambda: print('LOADED', *sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
        f"sys.argv = ['manage.py', *{argv!r}]\n"
        "runpy.run_path('manage.py', run_name='__main__')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("LOADED")]
    return line.split()[1:]


def test_it_runs_manage_py_check_without_importing_the_line_and_llm_sdks():
    assert loaded_after("check") == []


def test_it_would_see_the_line_sdk_imported_by_a_command_that_uses_it():
    assert loaded_after("shell", "-c", "import core.line.sdk") == ["linebot"]
