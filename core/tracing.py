"""OpenTelemetry traces of requests, Celery tasks and SQL, exported over OTLP/HTTP.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then nothing of the SDK is even imported
and no instrumentation is installed.  When it is set, :func:`setup_tracing` (called once per
process by :func:`core.startup.start_process`) installs the Django, Celery and psycopg
instrumentations and exports spans in batches to ``$OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces``.
The SDK's own variables (``OTEL_EXPORTER_OTLP_HEADERS`` for a collector that wants a key,
``OTEL_EXPORTER_OTLP_TIMEOUT``, ...) apply as usual.

Every span carries the request's correlation id as ``correlation.id``, so one id finds the
trace of a user's message as it finds its log lines.
"""

from __future__ import annotations

import threading

from django.conf import settings

from core import correlation

ATTRIBUTE = "correlation.id"
# Probes and scrapes would outnumber real traffic without telling anything.
_EXCLUDED_URLS = "healthz,readyz,metrics"

_lock = threading.Lock()
_provider = None


def enabled() -> bool:
    return _provider is not None


def setup_tracing(*, process_kind: str, exporter=None) -> bool:
    """Sets tracing up for this process (once) and says whether it is on.

    ``exporter`` (any OpenTelemetry ``SpanExporter``) replaces OTLP, and turns tracing on
    without the variable; the tests pass an in-memory one.
    """
    global _provider
    with _lock:
        if _provider is not None:
            return True
        endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT
        if exporter is None and not endpoint:
            return False

        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        provider = TracerProvider(
            resource=Resource.create({"service.name": f"{settings.OTEL_SERVICE_NAME}-{process_kind}"})
        )
        provider.add_span_processor(_correlation_processor())
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
            provider.add_span_processor(BatchSpanProcessor(exporter))
        else:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        _instrumentors(install=True, provider=provider)
        # Only the first provider of a process becomes the global one; the instrumentations
        # are handed theirs, so a process that sets tracing up again still gets its spans.
        trace.set_tracer_provider(provider)
        _provider = provider
        return True


def shutdown_tracing() -> None:
    """Removes the instrumentations and flushes what is pending (the tests' way back to no tracing)."""
    global _provider
    with _lock:
        if _provider is None:
            return
        _instrumentors(install=False)
        _provider.shutdown()
        _provider = None


def wsgi_request_span(application):
    """``application`` in the request span Django's instrumentation gives the requests it sees.

    For routes served past Django's middleware (core.direct_routes); ``application`` itself when
    tracing is off.
    """
    if _provider is None:
        return application
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(application, tracer_provider=_provider)


def tag_current_span(correlation_id: str) -> None:
    """Stamps the current span with a correlation id chosen after it started."""
    if _provider is None:
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(ATTRIBUTE, correlation_id)


def _instrumentors(*, install: bool, provider=None) -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    if not install:
        for instrumentor in (DjangoInstrumentor(), CeleryInstrumentor(), PsycopgInstrumentor()):
            instrumentor.uninstrument()
        return
    # Inserts its middleware first in settings.MIDDLEWARE: call before the WSGI/ASGI handler loads it.
    DjangoInstrumentor().instrument(
        tracer_provider=provider, excluded_urls=_EXCLUDED_URLS, response_hook=_tag_request_span
    )
    CeleryInstrumentor().instrument(tracer_provider=provider)
    PsycopgInstrumentor().instrument(tracer_provider=provider)


def _tag_request_span(span, request, response) -> None:
    # The request's span starts before CorrelationIdMiddleware chose the id.
    correlation_id = getattr(request, "correlation_id", None)
    if correlation_id and span.is_recording():
        span.set_attribute(ATTRIBUTE, correlation_id)


def _correlation_processor():
    from opentelemetry.sdk.trace import SpanProcessor

    class CorrelationIdProcessor(SpanProcessor):
        """Stamps each span with the correlation id bound when it starts."""

        def on_start(self, span, parent_context=None) -> None:
            correlation_id = correlation.current()
            if correlation_id:
                span.set_attribute(ATTRIBUTE, correlation_id)

    return CorrelationIdProcessor()
