"""Which kind of process this is: the web server, the ASGI server, a Celery worker or beat.

Entry points say it once (:func:`core.startup.start_process`); metrics, traces and the
errors page label what they record with it.  Anything else (``manage.py`` commands, the
tests) is ``other``.
"""

from __future__ import annotations

WEB, DAPHNE, WORKER, BEAT, OTHER = "web", "daphne", "worker", "beat", "other"
KINDS = (WEB, DAPHNE, WORKER, BEAT, OTHER)

_kind = OTHER


def set_kind(kind: str) -> None:
    global _kind
    if kind not in KINDS:
        raise ValueError(f"unknown process kind {kind!r}; expected one of {', '.join(KINDS)}")
    _kind = kind


def kind() -> str:
    return _kind
