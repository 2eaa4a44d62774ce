"""What each long-running process does first: check its environment, say what it is, start watching.

``manage.py`` commands run system checks themselves; the ASGI/WSGI servers and
Celery do not, so their entry points call :func:`exit_on_bad_environment`, then
:func:`start_process`.
"""

import gc
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
    """Imports the LINE and LLM SDKs and builds their clients, which every other process leaves until first use.

    A worker calls it before its pool forks: the children get the clients ready, with no connection
    opened yet (each child opens its own). Building the LLM client's TLS context alone cost each
    child about 60 ms of CPU on its first answer, and again in every replacement child.
    """
    import openai  # noqa: F401

    from core.line import sdk  # noqa: F401
    from core.line.client import get_line_client
    from core.llm.client import get_llm_client
    from core.logging import get_logger

    for name, build in (("line", get_line_client), ("llm", get_llm_client)):
        try:
            build()
        except Exception as exc:  # noqa: BLE001 - a client that cannot be built now says why on first use
            get_logger(__name__).warning("client_warm_up_failed", client=name, error=type(exc).__name__)


def start_up_begins() -> None:
    """Holds Python's cyclic garbage collector off while the process imports its modules and sets Django up.

    Start-up allocates nearly every long-lived object a process will have. The collector, which runs
    by allocation counts, made three full passes over them during ``manage.py check`` and found 166
    objects of garbage: 0.2 s of a 1.5 s start (docs/PERFORMANCE.md). ``linebot_project`` calls this
    when it is first imported, before anything else; :func:`start_up_done` ends it.
    """
    gc.disable()


def start_up_done() -> None:
    """Takes what start-up built out of the collector's sight, and turns the collector on again.

    Frozen objects are never scanned again: a later full collection costs what the process has made
    since, and a child forked afterwards (Celery's prefork pool) does not write to the pages it shares
    with its parent by scanning them, as the gc module's documentation advises. Safe to call again.
    """
    gc.freeze()
    gc.enable()
