"""The operations dashboard: traffic, latency, errors, queues, LLM and LINE usage, followers, alerts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Sum

from conversations.models import Message, WebhookEvent
from core import config
from core.logging import get_logger
from linebot_project.celery import app as celery_app
from monitoring.dashboards.registry import Field, register_panel
from monitoring.models import Alert
from monitoring.runtime_settings import OTHER, price_key

log = get_logger(__name__)

# Latency percentiles and error counts cover this window; rates a shorter one.
WINDOW = 300.0
RATE_WINDOW = 10.0


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def webhook(ctx) -> dict:
    return {
        "webhook_events_total": int(ctx.total("webhook_events_total")),
        "webhook_events_per_second": _round(ctx.rate("webhook_events_total", RATE_WINDOW)),
        "webhook_ack_p50_ms": _ms(ctx.quantile("webhook_ack_seconds", 0.50, WINDOW)),
        "webhook_ack_p99_ms": _ms(ctx.quantile("webhook_ack_seconds", 0.99, WINDOW)),
        "webhook_reply_p50_ms": _ms(ctx.quantile("webhook_reply_seconds", 0.50, WINDOW)),
        "webhook_reply_p99_ms": _ms(ctx.quantile("webhook_reply_seconds", 0.99, WINDOW)),
    }


# --- errors by kind -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorSource:
    """A counter whose increments are errors; ``label`` names the kind within it."""

    metric: str
    label: str
    kind: str
    where: Callable[[dict[str, str]], bool] | None = None


ERROR_SOURCES: list[ErrorSource] = [
    ErrorSource("webhook_rejected_total", "reason", "webhook"),
    ErrorSource("llm_failures_total", "code", "llm"),
    ErrorSource("line_api_calls_total", "outcome", "line", lambda labels: labels.get("outcome") != "ok"),
    ErrorSource("web_search_requests_total", "outcome", "search", lambda labels: labels.get("outcome") == "failed"),
]


def register_error_source(metric: str, label: str, kind: str, where=None) -> None:
    """Counts ``metric`` (a sample name such as ``tasks_failed_total``) among the errors by kind."""
    source = ErrorSource(metric, label, kind, where)
    if source not in ERROR_SOURCES:
        ERROR_SOURCES.append(source)


def _kind_key(kind: str, value: str) -> str:
    return "errors." + re.sub(r"[^a-z0-9_]+", "_", f"{kind}_{value}".lower()).strip("_")


def errors(ctx) -> dict:
    data: dict[str, float | None] = {}
    for source in ERROR_SOURCES:
        for value, count in ctx.increase_by_label(source.metric, source.label, WINDOW, source.where).items():
            if count > 0:
                key = _kind_key(source.kind, value)
                data[key] = data.get(key, 0) + int(count)
    data["errors_5m_total"] = sum(v for v in data.values() if v)
    return data


# --- LINE API -------------------------------------------------------------------------------------
def _status(prefix: str):
    return lambda labels: labels.get("outcome", "").startswith(prefix)


def line_api(ctx) -> dict:
    is_429 = lambda labels: labels.get("outcome") == "429"  # noqa: E731
    per_second = ctx.rate("line_api_calls_total", 60.0)
    return {
        "line_api_calls_total": int(ctx.total("line_api_calls_total")),
        "line_api_calls_per_minute": None if per_second is None else round(per_second * 60, 1),
        "line_api_429_total": int(ctx.total("line_api_calls_total", is_429)),
        "line_api_5xx_total": int(ctx.total("line_api_calls_total", _status("5"))),
        "line_api_429_5m": int(ctx.increase("line_api_calls_total", WINDOW, is_429)),
        "line_api_5xx_5m": int(ctx.increase("line_api_calls_total", WINDOW, _status("5"))),
    }


# --- Celery ---------------------------------------------------------------------------------------
def _queue_names() -> list[str]:
    return sorted({celery_app.conf.task_default_queue or "celery", settings.CONVERSATION_TASK_QUEUE} - {""})


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue, asked of the broker (a passive declare: RabbitMQ's count, LLEN on Redis)."""
    depths = {}
    with celery_app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
        for name in _queue_names():
            channel = connection.channel()
            try:
                _, count, _ = channel.queue_declare(queue=name, passive=True)
                depths[name] = int(count)
            except Exception:  # noqa: BLE001 - each transport has its own "no such queue" error
                depths[name] = 0
            finally:
                try:
                    channel.close()
                except Exception:  # noqa: BLE001, S110 - the broker may have closed it already
                    pass
    return depths


def worker_count(timeout: float = 1.0) -> int:
    replies = celery_app.control.inspect(timeout=timeout).ping() or {}
    return len(replies)


def celery_queues(ctx) -> dict:
    try:
        depth = sum(queue_depths().values())
    except Exception:
        log.warning("dashboard_queue_depth_unavailable", exc_info=True)
        depth = None
    try:
        workers = worker_count()
    except Exception:
        log.warning("dashboard_worker_count_unavailable", exc_info=True)
        workers = None
    return {"celery_queue_depth": depth, "celery_workers": workers}


# --- the language model ---------------------------------------------------------------------------
def _priced_model(model: str, known: list[str]) -> str:
    """The configured model a reported name belongs to ("gpt-4o-mini-2024-07-18" is "gpt-4o-mini")."""
    matches = [name for name in known if model == name or model.startswith(f"{name}-")]
    return max(matches, key=len) if matches else OTHER


def llm_today(ctx) -> dict:
    # Answers to today's webhook events: Message has no index on its time, WebhookEvent has.
    rows = (
        Message.objects.filter(role=Message.Role.ASSISTANT, webhook_event__received_at__gte=ctx.today_start)
        .exclude(model="")
        .values("model")
        .annotate(calls=Count("id"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"))
    )
    known = list(settings.LLM_ALLOWED_MODELS)
    calls = prompt = completion = 0
    cost = 0.0
    for row in rows:
        priced = _priced_model(row["model"], known)
        calls += row["calls"]
        prompt += row["prompt"] or 0
        completion += row["completion"] or 0
        cost += (row["prompt"] or 0) / 1e6 * config.get(price_key(priced, "prompt"))
        cost += (row["completion"] or 0) / 1e6 * config.get(price_key(priced, "completion"))
    return {
        "llm_calls_today": calls,
        "llm_tokens_today": prompt + completion,
        "llm_cost_today_usd": round(cost, 4),
    }


def llm_live(ctx) -> dict:
    return {
        "llm_tokens_total": int(ctx.total("llm_tokens_total")),
        "llm_tokens_per_minute": _round(None if (r := ctx.rate("llm_tokens_total", 60.0)) is None else r * 60, 0),
    }


# --- followers, alerts ----------------------------------------------------------------------------
def followers_today(ctx) -> dict:
    counts = dict(
        WebhookEvent.objects.filter(received_at__gte=ctx.today_start, event_type__in=["follow", "unfollow"])
        .values_list("event_type")
        .annotate(n=Count("id"))
        .values_list("event_type", "n")
    )
    return {"line_follows_today": counts.get("follow", 0), "line_blocks_today": counts.get("unfollow", 0)}


def alerts(ctx) -> dict:
    firing = Alert.objects.filter(state=Alert.State.FIRING)
    return {
        "alerts_open": firing.count(),
        "alerts_open_critical": firing.filter(severity=Alert.Severity.CRITICAL).count(),
        "alerts_unacknowledged": firing.filter(acknowledged_at__isnull=True).count(),
        "alerts_pending": Alert.objects.filter(state=Alert.State.PENDING).count(),
    }


register_panel(
    "operations",
    "webhook",
    webhook,
    title="LINE webhook",
    order=10,
    fields=[
        Field("webhook_events_per_second", "Events per second", "rate", chart=True),
        Field("webhook_events_total", "Events received"),
        Field("webhook_ack_p50_ms", "Ack latency p50", "ms"),
        Field("webhook_ack_p99_ms", "Ack latency p99", "ms", chart=True),
        Field("webhook_reply_p50_ms", "Webhook to reply p50", "ms"),
        Field("webhook_reply_p99_ms", "Webhook to reply p99", "ms", chart=True),
    ],
)
register_panel(
    "operations",
    "errors",
    errors,
    title="Errors in the last 5 minutes",
    order=20,
    fields=[Field("errors_5m_total", "All errors")],
    rows="errors.",
)
register_panel(
    "operations",
    "celery",
    celery_queues,
    title="Task queue",
    order=30,
    every=5,
    fields=[
        Field("celery_queue_depth", "Tasks waiting", chart=True),
        Field("celery_workers", "Workers answering"),
    ],
)
register_panel(
    "operations",
    "line_api",
    line_api,
    title="LINE API",
    order=40,
    fields=[
        Field("line_api_calls_per_minute", "Calls per minute"),
        Field("line_api_calls_total", "Calls"),
        Field("line_api_429_5m", "429 in 5 minutes"),
        Field("line_api_5xx_5m", "5xx in 5 minutes"),
        Field("line_api_429_total", "429 total"),
        Field("line_api_5xx_total", "5xx total"),
    ],
)
register_panel(
    "operations",
    "llm",
    llm_today,
    title="Language model today",
    order=50,
    every=10,
    fields=[
        Field("llm_calls_today", "Calls"),
        Field("llm_tokens_today", "Tokens"),
        Field("llm_cost_today_usd", "Cost", "usd"),
    ],
)
register_panel(
    "operations",
    "llm_live",
    llm_live,
    title="Language model now",
    order=55,
    fields=[
        Field("llm_tokens_per_minute", "Tokens per minute"),
        Field("llm_tokens_total", "Tokens since start"),
    ],
)
register_panel(
    "operations",
    "followers",
    followers_today,
    title="Followers today",
    order=60,
    every=10,
    fields=[Field("line_follows_today", "New followers"), Field("line_blocks_today", "Blocks")],
)
register_panel(
    "operations",
    "alerts",
    alerts,
    title="Alerts",
    order=70,
    every=5,
    fields=[
        Field("alerts_open", "Open (firing)"),
        Field("alerts_open_critical", "Open, critical"),
        Field("alerts_unacknowledged", "Not acknowledged"),
        Field("alerts_pending", "Pending"),
    ],
)
