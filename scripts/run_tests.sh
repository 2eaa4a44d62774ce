#!/usr/bin/env bash
# usage: ./scripts/run_tests.sh [all|unit|integration] [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
suite="${1:-all}"; shift || true

source scripts/lib/venv.sh
source scripts/lib/services.sh
# Every set: the tests drive the doubles, and start gunicorn as docker/compose.yml runs it.
ensure_venv requirements/base.txt requirements/doubles.txt requirements/dev.txt requirements/prod.txt
ensure_services || { echo "Services missing: PostgreSQL, Redis and RabbitMQ are required." >&2; exit 1; }
bash scripts/lib/browser.sh

export DJANGO_SETTINGS_MODULE=linebot_project.settings.test
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> bandit (fails on any high-severity finding)"
.venv/bin/bandit -q -r . -x ./.venv,./tests,./var,./benchmarks --severity-level high
echo "==> pip-audit (locked runtime requirements; see docs/SECURITY.md)"
.venv/bin/python scripts/audit_requirements.py

case "$suite" in
  unit) markers=(-m "not integration and not browser") ; cov=() ;;
  integration) markers=(-m "integration or browser") ; cov=() ;;
  all) markers=() ; cov=(--cov --cov-report=term-missing:skip-covered --cov-fail-under=80) ;;
  *) echo "usage: $0 [all|unit|integration]" >&2; exit 2 ;;
esac
echo "==> pytest ($suite)"
.venv/bin/python -m pytest "${markers[@]}" "${cov[@]}" "$@"
