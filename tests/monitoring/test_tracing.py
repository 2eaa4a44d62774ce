"""OpenTelemetry tracing: off and unloaded without an endpoint; on, every span carries the correlation id."""

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from conversations.models import WebhookEvent
from core.tracing import ATTRIBUTE, setup_tracing, shutdown_tracing
from linebot_project.celery import app as celery_app

from .conftest import signed, text_event

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str | None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "linebot_project.settings.test"}
    environment.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    environment.update({name: value for name, value in env.items() if value is not None})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.integration
def test_it_neither_sets_up_nor_loads_tracing_without_an_endpoint():
    # redis-py imports parts of the SDK itself (its optional metrics support); tracing's own parts stay out.
    result = run_python(
        "import sys, linebot_project.wsgi\n"
        "from django.conf import settings\n"
        "from core import tracing\n"
        "loaded = [m for m in sys.modules if m.startswith(('opentelemetry.sdk.trace', 'opentelemetry.exporter',"
        " 'opentelemetry.instrumentation'))]\n"
        "print(tracing.enabled(), loaded, [m for m in settings.MIDDLEWARE if 'opentelemetry' in m])\n"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False [] []"


def test_it_says_tracing_is_off_without_an_endpoint_or_exporter(settings):
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = None

    assert setup_tracing(process_kind="web") is False


@pytest.mark.integration
def test_it_stops_start_up_with_one_line_naming_a_malformed_endpoint():
    result = run_python("import linebot_project.asgi", OTEL_EXPORTER_OTLP_ENDPOINT="otel-collector:4318")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "OTEL" in line] == [
        "configuration error: OTEL_EXPORTER_OTLP_ENDPOINT: (core.E001) "
        "OTEL_EXPORTER_OTLP_ENDPOINT is malformed: expected a http/https URL"
    ]


class Collector(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP receiver: keeps the spans of every export request it is sent."""

    def __init__(self):
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(handler):
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

                body = handler.rfile.read(int(handler.headers["Content-Length"]))
                self.requests.append((handler.path, ExportTraceServiceRequest.FromString(body)))
                handler.send_response(200)
                handler.send_header("Content-Type", "application/x-protobuf")
                handler.end_headers()

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def spans(self):
        for path, request in self.requests:
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        attributes = {a.key: a.value.string_value for a in span.attributes}
                        yield path, resource, span.name, attributes


@pytest.mark.integration
def test_it_exports_a_web_processs_spans_over_otlp_given_an_endpoint():
    collector = Collector()
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    try:
        result = run_python(
            "from wsgiref.util import setup_testing_defaults\n"
            "import linebot_project.wsgi as wsgi\n"
            "environ = {'PATH_INFO': '/line/webhook', 'HTTP_X_REQUEST_ID': 'otlp-check-1'}\n"
            "setup_testing_defaults(environ)\n"
            "response = wsgi.application(environ, lambda status, headers: None)\n"
            # As every WSGI server does: the body is read, then the response closed.
            "b''.join(response)\n"
            "response.close()\n",
            OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.server_address[1]}/",
            OTEL_SERVICE_NAME="linebot-check",
        )
        assert result.returncode == 0, result.stderr
    finally:
        collector.shutdown()

    spans = list(collector.spans())
    assert spans, "nothing was exported"
    assert {path for path, *_ in spans} == {"/v1/traces"}
    served = [(resource, attributes) for _, resource, name, attributes in spans if name.startswith("GET")]
    assert served
    resource, attributes = served[0]
    assert resource["service.name"] == "linebot-check-web"
    assert attributes[ATTRIBUTE] == "otlp-check-1"


@pytest.fixture
def worker():
    """An in-process worker on the in-memory broker: the task really goes through a queue."""
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.task_always_eager = True


@pytest.fixture
def spans():
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    assert setup_tracing(process_kind="web", exporter=exporter)
    # Connections opened before tracing was set up are not traced; a process sets it up before any.
    connection.close()
    yield exporter
    shutdown_tracing()


@pytest.mark.integration
def test_it_gives_a_webhook_request_and_the_task_it_queued_one_correlation_id(
    transactional_db, bot, worker, spans, client
):
    from opentelemetry.trace import SpanKind

    line, _ = bot
    user_id = line.control.add_user(display_name="Traced")["userId"]
    body, signature = signed([text_event(user_id, line.control.issue_reply_token(user_id), "Trace me")])

    response = client.post("/line/webhook", data=body, content_type="application/json", HTTP_X_LINE_SIGNATURE=signature)
    assert response.status_code == 200
    deadline = time.monotonic() + 20
    while not WebhookEvent.objects.filter(status=WebhookEvent.Status.REPLIED).exists():
        assert time.monotonic() < deadline, list(WebhookEvent.objects.values("status", "error"))
        time.sleep(0.1)
    # The task's span ends just after its last write: wait for it rather than for a guessed while.
    while not [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]:
        assert time.monotonic() < deadline, [s.name for s in spans.get_finished_spans()]
        time.sleep(0.05)

    correlation_id = WebhookEvent.objects.get().correlation_id
    assert correlation_id == response["X-Request-ID"]
    finished = spans.get_finished_spans()
    (request,) = [s for s in finished if s.kind == SpanKind.SERVER]
    trace = [s for s in finished if s.context.trace_id == request.context.trace_id]
    kinds = {s.kind for s in trace}
    assert {SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.CLIENT} <= kinds
    task_spans = [s for s in trace if s.kind == SpanKind.CONSUMER]
    assert task_spans[0].name == "run/conversations.tasks.process_webhook_event"
    assert any(s.attributes.get("db.system") == "postgresql" for s in trace if s.start_time > task_spans[0].start_time)
    assert {s.attributes.get(ATTRIBUTE) for s in trace} == {correlation_id}


def test_it_changes_nothing_when_set_up_twice(spans):
    from core import tracing

    provider = tracing._provider

    assert setup_tracing(process_kind="web") is True
    assert tracing._provider is provider
