# First of all: the collector waits until the apps are ready (core.startup, linebot_project.apps).
from core.startup import start_up_begins

start_up_begins()

from linebot_project.celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
