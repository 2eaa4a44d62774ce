"""A WSGI application that hands chosen paths straight to their view, past Django's middleware.

LINE's webhook is a machine posting JSON many times a second: sessions, authentication, MFA,
CSRF, lockout and the browser rate limits have nothing to do with it, yet under the full stack
they cost more CPU than the view itself. The view keeps what it needs (signature, size limit)
and this route keeps what every request needs: the correlation id, and Django's request signals
(old database connections closed before, connections returned after).

    application = DirectRoutes(WSGIHandler(), {"/line/webhook": line_webhook})
"""

from __future__ import annotations

from collections.abc import Callable

from django.core import signals
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse

from core import correlation, tracing
from core.api import error_body
from core.logging import get_logger

log = get_logger(__name__)

View = Callable[[HttpRequest], HttpResponse]


class DirectRoutes:
    def __init__(self, application: WSGIHandler, routes: dict[str, View]):
        self.application = application
        self.routes = routes
        # With tracing on, a direct route's request gets the span Django's middleware would have given it.
        self.serve_direct = tracing.wsgi_request_span(self._serve)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "") not in self.routes:
            return self.application(environ, start_response)
        return self.serve_direct(environ, start_response)

    def _serve(self, environ, start_response):
        view = self.routes[environ["PATH_INFO"]]
        signals.request_started.send(sender=self.__class__, environ=environ)
        request = WSGIRequest(environ)
        correlation_id = correlation.accept_or_new(request.headers.get(correlation.HEADER))
        request.correlation_id = correlation_id
        correlation.bind(correlation_id)
        tracing.tag_current_span(correlation_id)
        try:
            response = view(request)
        except Exception:
            log.exception("direct_route_failed", path=request.path)
            response = JsonResponse(
                error_body(code="internal_error", message="Something went wrong on our side."), status=500
            )
        finally:
            correlation.clear()
        response[correlation.HEADER] = correlation_id
        # As Django's own handler does: closing the response sends request_finished, which gives the
        # database connection back.
        response._handler_class = self.__class__
        response._resource_closers.append(request.close)
        status = f"{response.status_code} {response.reason_phrase}"
        headers = [*response.items(), *(("Set-Cookie", c.output(header="")) for c in response.cookies.values())]
        start_response(status, headers)
        return response
