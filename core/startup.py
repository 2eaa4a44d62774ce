"""Fail fast, in one line per problem, when a process starts with a bad environment.

``manage.py`` commands run system checks themselves; the ASGI/WSGI servers and
Celery do not, so their entry points call :func:`exit_on_bad_environment`.
"""

import sys


def exit_on_bad_environment() -> None:
    from core.checks import environment_errors

    errors = environment_errors()
    if errors:
        for line in errors:
            print(f"configuration error: {line}", file=sys.stderr)
        raise SystemExit(1)
