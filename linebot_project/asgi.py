import os

# A server started without DJANGO_SETTINGS_MODULE is a deployment: production settings, which
# refuse to start without their variables. manage.py and scripts/run.sh choose local themselves.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.production")

from core.startup import exit_on_bad_environment

# Before Django loads the apps, which stop with a traceback on a missing DJANGO_SECRET_KEY.
exit_on_bad_environment()

from django.core.asgi import get_asgi_application  # noqa: E402

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from linebot_project.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

from core.memory import get_memory_monitor  # noqa: E402

get_memory_monitor().start()
