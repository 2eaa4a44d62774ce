"""What each long-running process does first: check its environment, say what it is, start watching.

``manage.py`` commands run system checks themselves; the ASGI/WSGI servers and
Celery do not, so their entry points call :func:`exit_on_bad_environment`, then
:func:`start_process`.
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


def start_process(kind: str) -> None:
    """Labels this process (web, daphne, worker or beat), sets tracing up and starts the memory monitor.

    The web servers call it before their handler loads the middleware (tracing adds one).
    Safe to call again in a forked child: what did not survive the fork starts anew.
    """
    from core import processes
    from core.memory import get_memory_monitor
    from core.tracing import setup_tracing

    processes.set_kind(kind)
    setup_tracing(process_kind=kind)
    get_memory_monitor().start()


def warm_up_clients() -> None:
    """Imports the LINE and LLM SDKs, which every other process leaves until first use."""
    import openai  # noqa: F401

    from core.line import sdk  # noqa: F401
