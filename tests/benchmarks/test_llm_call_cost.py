"""benchmarks/webhook/llm_call_cost.py: the client's CPU per call to the model, by the answer's length."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "webhook" / "llm_call_cost.py"


def _run(*args, env=None):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--calls", "3", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    ).stdout


def test_it_reports_the_cost_of_a_call_for_each_answer_length():
    out = _run("--tokens", "1,25")

    figures = re.search(r"1 tokens ([0-9.]+) ms, 25 tokens ([0-9.]+) ms \[(.+)\]", out)
    assert figures, out
    assert float(figures[1]) > 0 and float(figures[2]) > 0
    assert Path(figures[3]) == ROOT


def test_it_measures_the_checkout_bench_app_dir_names(tmp_path, monkeypatch):
    # A copy of this checkout's code stands in for another one (a worktree of an earlier commit).
    other = tmp_path / "other"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), "HEAD"], check=True)
    try:
        out = _run("--tokens", "1", env={**os.environ, "BENCH_APP_DIR": str(other)})
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=True)

    assert out.strip().endswith(f"[{other.resolve()}]")
