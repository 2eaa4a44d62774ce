import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.local")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from core.startup import exit_on_bad_environment  # noqa: E402
from linebot_project.routing import websocket_application  # noqa: E402

exit_on_bad_environment()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin checked first (ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS), then the session cookie.
        "websocket": websocket_application(),
    }
)

from core.memory import get_memory_monitor  # noqa: E402

get_memory_monitor().start()
