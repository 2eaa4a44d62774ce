import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.local")
django.setup(set_prefix=False)

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from core.processes import WEB  # noqa: E402
from core.startup import WSGI_BOOT_ERROR, exit_on_bad_environment, start_process  # noqa: E402

exit_on_bad_environment(exit_code=WSGI_BOOT_ERROR)
# Before the handler loads the middleware: tracing adds its own (what get_wsgi_application does, split).
start_process(WEB)
application = WSGIHandler()
