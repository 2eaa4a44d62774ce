import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.local")

app = Celery("linebot_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _check_environment(**kwargs):
    from core.startup import exit_on_bad_environment

    exit_on_bad_environment()


@signals.worker_process_init.connect
def _watch_memory(**kwargs):
    from core.memory import get_memory_monitor

    get_memory_monitor().start()
