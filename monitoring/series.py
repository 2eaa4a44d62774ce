"""The series that alert rules and SLOs read, computed from the merged metrics of every process.

Once a minute (``monitoring.tasks.record_metric_samples``) each series gets one value:

- every counter and gauge sample, summed over its labels (``webhook_events_total``,
  ``host_memory_used_percent``; a gauge such as per-process RSS is summed over processes);
- every counter with its labels spelled out, for rules on one kind
  (``line_api_calls_total{endpoint=push,outcome=429}``);
- the good and total events of each service level indicator (``sli:<indicator>:good|total``),
  running totals like counters;
- what :func:`register_series` adds (the campaign indicator reads the database).

Histogram buckets are not stored one by one: only the ones the indicators need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from monitoring.dashboards.context import Samples

SeriesSource = Callable[[], dict[str, float]]
_SOURCES: dict[str, SeriesSource] = {}

_SKIPPED_SUFFIXES = ("_bucket", "_created")
_LABELLED_SKIPPED = {"pid", "le", "quantile"}


def register_series(name: str, source: SeriesSource) -> None:
    """Adds series computed by ``source()`` (a database count, say) to every sampling."""
    _SOURCES[name] = source


def _bucket(samples: Samples, histogram: str, bound: float) -> float:
    buckets = samples.buckets(histogram)
    return buckets.get(bound, 0.0)


def _labels(labels: dict[str, str]) -> str:
    kept = sorted((k, v) for k, v in labels.items() if k not in _LABELLED_SKIPPED)
    return ",".join(f"{k}={v}" for k, v in kept)


def _calls(samples: Samples, endpoint: str, ok: bool | None = None) -> float:
    def where(labels):
        if labels.get("endpoint") != endpoint:
            return False
        return ok is None or (labels.get("outcome") == "ok") == ok

    return samples.total("line_api_calls_total", where)


def indicators(samples: Samples) -> dict[str, float]:
    """Good and total events of the indicators that come from metrics, as running totals."""
    return {
        "sli:webhook_ack:good": _bucket(samples, "webhook_ack_seconds", 1.0),
        "sli:webhook_ack:total": samples.total("webhook_ack_seconds_count"),
        "sli:reply_latency:good": _bucket(samples, "webhook_reply_seconds", 10.0),
        "sli:reply_latency:total": samples.total("webhook_reply_seconds_count"),
        "sli:push_success:good": _calls(samples, "push", ok=True),
        "sli:push_success:total": _calls(samples, "push"),
        "sli:multicast_success:good": _calls(samples, "multicast", ok=True),
        "sli:multicast_success:total": _calls(samples, "multicast"),
        "sli:dashboard_push_lag:good": _bucket(samples, "dashboard_push_seconds", 0.25),
        "sli:dashboard_push_lag:total": samples.total("dashboard_push_seconds_count"),
    }


def from_families(families: Iterable, *, at: float = 0.0) -> dict[str, float]:
    """Every series' value now, from ``prometheus_client`` metric families."""
    families = list(families)
    samples = Samples.from_families(families, at=at)
    values: dict[str, float] = {}
    for family in families:
        for sample in family.samples:
            if sample.name.endswith(_SKIPPED_SUFFIXES):
                continue
            values[sample.name] = values.get(sample.name, 0.0) + float(sample.value)
            if family.type == "counter" and (labels := _labels(dict(sample.labels))):
                key = f"{sample.name}{{{labels}}}"
                values[key] = values.get(key, 0.0) + float(sample.value)
    values.update(indicators(samples))
    for source in _SOURCES.values():
        values.update(source())
    return values
