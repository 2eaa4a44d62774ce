"""The verdict of scripts/audit_requirements.py for each kind of pip-audit report."""

import importlib.util
import subprocess
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "audit_requirements", Path(__file__).resolve().parents[2] / "scripts" / "audit_requirements.py"
)
audit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(audit)


@pytest.fixture
def report(monkeypatch):
    def use(deps, **extra):
        monkeypatch.setattr(audit, "run_audit", lambda: {"dependencies": deps, **extra})

    return use


CLEAN = {"name": "django", "version": "5.2.19", "vulns": []}
SKIPPED = {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited: django (5.2.19)"}


def test_it_passes_when_everything_was_audited_clean(report, capsys):
    report([CLEAN])
    assert audit.main() == 0
    assert "1 pinned packages audited, no known vulnerabilities" in capsys.readouterr().out


def test_it_fails_on_a_known_vulnerability(report, capsys):
    report([{"name": "pillow", "version": "9.0.0", "vulns": [{"id": "PYSEC-1", "fix_versions": ["9.0.1"]}]}])
    assert audit.main() == 1
    assert "pillow==9.0.0: PYSEC-1 (fixed in: 9.0.1)" in capsys.readouterr().out


def test_it_fails_when_only_some_packages_could_be_audited(report):
    report([CLEAN, {**SKIPPED, "name": "celery"}])
    assert audit.main() == 1


def test_it_reports_an_unreachable_service_loudly_but_passes_by_default(report, capsys, monkeypatch):
    monkeypatch.delenv("PIP_AUDIT_REQUIRED", raising=False)
    report([SKIPPED])
    assert audit.main() == 0
    assert "pip-audit: NOT AUDITED" in capsys.readouterr().out


def test_it_fails_on_an_unreachable_service_when_the_audit_is_required(report, monkeypatch):
    monkeypatch.setenv("PIP_AUDIT_REQUIRED", "1")
    report([], error="ConnectionError")
    assert audit.main() == 1


def test_it_audits_the_hashed_runtime_locks_line_by_line(monkeypatch):
    calls = []

    def fake_run(args, **kwargs):
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, stdout='{"dependencies": []}', stderr="")

    monkeypatch.setattr(audit.subprocess, "run", fake_run)

    assert audit.run_audit() == {"dependencies": []}
    (args,) = calls
    assert [Path(args[i + 1]).name for i, arg in enumerate(args) if arg == "-r"] == ["base.txt", "prod.txt"]
    assert {"--require-hashes", "--disable-pip"} <= set(args)
    assert "--no-deps" not in args  # redundant with hashes, and pip-audit warns about it
