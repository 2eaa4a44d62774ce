import os

# A server started without DJANGO_SETTINGS_MODULE is a deployment: production settings, which
# refuse to start without their variables. manage.py and scripts/run.sh choose local themselves.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.production")

from core.startup import exit_on_bad_environment

# Before Django loads the apps, which stop with a traceback on a missing DJANGO_SECRET_KEY.
exit_on_bad_environment()

import django  # noqa: E402

# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from core.processes import DAPHNE  # noqa: E402
from core.startup import start_process  # noqa: E402
from linebot_project.routing import websocket_application  # noqa: E402

# Before the handler loads the middleware: tracing adds its own (what get_asgi_application does, split).
start_process(DAPHNE)
django_asgi_app = ASGIHandler()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin checked first (ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS), then the session cookie.
        "websocket": websocket_application(),
    }
)
