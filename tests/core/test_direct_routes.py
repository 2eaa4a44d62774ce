"""DirectRoutes: a chosen path reaches its view past the middleware, keeping what every request needs."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.http import HttpResponse, JsonResponse

from conversations.models import WebhookEvent
from conversations.webhook import line_webhook
from core import correlation
from core.direct_routes import DirectRoutes
from tests.conversations.events import body_of, sign, text_event


class Reply:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.status_code = int(status.split()[0])
        self.headers = dict(headers)
        self.body = body

    def json(self):
        return json.loads(self.body)


def call(app, path: str, *, body: bytes = b"", method: str = "POST", headers: dict | None = None) -> Reply:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
        "SERVER_NAME": "testserver",
        "HTTP_HOST": "testserver",
    }
    environ.update({f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()})
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started.update(status=status, headers=response_headers)

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        result.close()  # what a WSGI server does: request_finished goes out here
    return Reply(started["status"], started["headers"], content)


def echo_correlation(request):
    return JsonResponse({"seen": correlation.current(), "on_request": request.correlation_id})


def fails(request):
    raise RuntimeError("the view broke")


@pytest.fixture
def app(django_db_blocker):
    # A request's start and end look at the database connection (close_old_connections): one an earlier test in
    # this process left open is theirs to check, as a server's next request would.
    with django_db_blocker.unblock():
        yield DirectRoutes(
            WSGIHandler(),
            {"/direct/echo": echo_correlation, "/direct/fails": fails, "/line/webhook": line_webhook},
        )


def test_it_keeps_a_well_formed_correlation_id_and_echoes_it(app):
    reply = call(app, "/direct/echo", headers={"X-Request-ID": "abc-123"})

    assert reply.status_code == 200
    assert reply.json() == {"seen": "abc-123", "on_request": "abc-123"}
    assert reply.headers[correlation.HEADER] == "abc-123"


def test_it_replaces_an_unsafe_correlation_id_with_a_fresh_one(app):
    reply = call(app, "/direct/echo", headers={"X-Request-ID": "<script>"})

    fresh = reply.headers[correlation.HEADER]
    assert fresh != "<script>" and len(fresh) == 32
    assert reply.json()["seen"] == fresh


def test_it_leaves_no_correlation_id_bound_after_the_request(app):
    call(app, "/direct/echo", headers={"X-Request-ID": "abc-123"})

    assert correlation.current() is None


def test_it_sends_request_started_and_request_finished(app):
    sent = []

    def started(**kwargs):
        sent.append("started")

    def finished(**kwargs):
        sent.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        call(app, "/direct/echo")
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    assert sent == ["started", "finished"]


def test_it_gives_the_database_connection_back_when_the_response_is_closed(app, transactional_db):
    def uses_the_database(request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return HttpResponse("ok")

    app.routes["/direct/db"] = uses_the_database
    reply = call(app, "/direct/db")

    assert reply.status_code == 200
    assert connection.connection is None  # CONN_MAX_AGE = 0: request_finished closed it


def test_it_answers_a_failing_view_with_a_500_in_the_error_shape(app):
    reply = call(app, "/direct/fails", headers={"X-Request-ID": "abc-123"})

    assert reply.status_code == 500
    assert reply.json()["error"]["code"] == "internal_error"
    assert reply.json()["error"]["correlation_id"] == "abc-123"
    assert reply.headers[correlation.HEADER] == "abc-123"


def test_it_hands_other_paths_to_django(app):
    reply = call(app, "/healthz", method="GET")

    assert reply.status_code == 200
    # Django's middleware ran: the security headers it adds are there.
    assert reply.headers.get("X-Content-Type-Options") == "nosniff"


def test_it_leaves_the_webhook_checking_the_signature(app, transactional_db):
    body = body_of(text_event())

    forged = call(app, "/line/webhook", body=body, headers={"X-Line-Signature": sign(body, "another secret")})

    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "bad_signature"
    assert WebhookEvent.objects.count() == 0


def test_it_stores_a_signed_webhook_post(app, transactional_db, line, llm):
    body = body_of(text_event())

    reply = call(app, "/line/webhook", body=body, headers={"X-Line-Signature": sign(body)})

    assert reply.status_code == 200
    assert WebhookEvent.objects.count() == 1
