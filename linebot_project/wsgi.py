import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.local")
application = get_wsgi_application()

from core.startup import WSGI_BOOT_ERROR, exit_on_bad_environment  # noqa: E402

exit_on_bad_environment(exit_code=WSGI_BOOT_ERROR)
