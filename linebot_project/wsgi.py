import os

# A server started without DJANGO_SETTINGS_MODULE is a deployment: production settings, which
# refuse to start without their variables. manage.py and scripts/run.sh choose local themselves.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.production")

from core.startup import WSGI_BOOT_ERROR, exit_on_bad_environment

# Before Django loads the apps, which stop with a traceback on a missing DJANGO_SECRET_KEY.
exit_on_bad_environment(exit_code=WSGI_BOOT_ERROR)

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
