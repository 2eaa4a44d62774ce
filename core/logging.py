"""Structured logging: JSON lines in production, readable lines in development.

Every line carries the correlation id bound by :mod:`core.correlation`.
"""

import logging

import structlog

from core.correlation import add_to_log_line

_SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    add_to_log_line,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def logging_config(*, json: bool, level: str, extra_handlers: dict | None = None) -> dict:
    """The ``LOGGING`` setting; ``extra_handlers`` (dictConfig handler entries) also get every root record."""
    renderer = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        # A line below the logger's level is dropped first, before the time stamp and the rest are built for it.
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handlers = {"console": {"class": "logging.StreamHandler", "formatter": "structured"}, **(extra_handlers or {})}
    final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final.append(structlog.processors.format_exc_info)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [*final, renderer],
                "foreign_pre_chain": _SHARED_PROCESSORS,
            }
        },
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        "loggers": {
            "django.server": {"level": "WARNING"},
            "celery": {"level": level},
        },
    }


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


def silence(logger_name: str) -> None:
    logging.getLogger(logger_name).setLevel(logging.WARNING)
