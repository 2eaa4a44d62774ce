"""Fail fast, in one line per problem, when a process starts with a bad environment.

``manage.py`` commands run system checks themselves; the ASGI/WSGI servers and
Celery do not, so their entry points call :func:`exit_on_bad_environment`.
"""

import sys

# A WSGI worker that exits with this code makes gunicorn's master stop ("Worker failed to
# boot") instead of starting the worker again and again.
WSGI_BOOT_ERROR = 3


def exit_on_bad_environment(*, exit_code: int = 1) -> None:
    from core.checks import environment_errors

    errors = environment_errors()
    if errors:
        for line in errors:
            print(f"configuration error: {line}", file=sys.stderr)
        raise SystemExit(exit_code)
