"""Websocket routes of every app, and the stack every websocket passes through, for ``asgi.py``."""

from __future__ import annotations

from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from channels.sessions import SessionMiddlewareStack
from django.conf import settings
from django.urls import path

from conversations.consumers import ChatConsumer
from monitoring.dashboards.consumers import DashboardConsumer

websocket_urlpatterns: list = [
    path("ws/dashboards/<slug:name>/", DashboardConsumer.as_asgi()),
    path("ws/conversations/<int:line_user_id>/", ChatConsumer.as_asgi()),
]


class SiteOriginValidator(OriginValidator):
    """Only pages of this site may open a socket: the Origin must be one of ALLOWED_HOSTS (any
    scheme and port, as channels' AllowedHostsOriginValidator) or of CSRF_TRUSTED_ORIGINS (exactly).
    Read on every connection, so that tests and settings changes apply at once."""

    def __init__(self, application):
        super().__init__(application, [])

    def valid_origin(self, parsed_origin):
        hosts = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not hosts:
            hosts = [".localhost", "127.0.0.1", "[::1]"]
        self.allowed_origins = [*hosts, *settings.CSRF_TRUSTED_ORIGINS]
        return super().valid_origin(parsed_origin)


def websocket_application():
    # Only the session cookie is read on the way in: consumers check the session themselves after
    # accepting (accounts.websocket_auth), so no database work holds up a handshake.
    return SiteOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns)))
