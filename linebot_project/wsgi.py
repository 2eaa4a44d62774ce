import os

# A server started without DJANGO_SETTINGS_MODULE is a deployment: production settings, which
# refuse to start without their variables. manage.py and scripts/run.sh choose local themselves.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.production")

from core.startup import WSGI_BOOT_ERROR, exit_on_bad_environment

# Before Django loads the apps, which stop with a traceback on a missing DJANGO_SECRET_KEY.
exit_on_bad_environment(exit_code=WSGI_BOOT_ERROR)

import django  # noqa: E402

django.setup(set_prefix=False)

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from conversations.webhook import line_webhook  # noqa: E402
from core.direct_routes import DirectRoutes  # noqa: E402
from core.processes import WEB  # noqa: E402
from core.startup import start_process  # noqa: E402

# Before the handler loads the middleware: tracing adds its own (what get_wsgi_application does, split).
start_process(WEB)
# LINE's webhook skips the browser middleware (docs/PERFORMANCE.md, "Hot paths").
application = DirectRoutes(WSGIHandler(), {"/line/webhook": line_webhook})
