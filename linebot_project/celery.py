import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.local")

# The task class carries the correlation id into the worker's "Task ... received" line too.
app = Celery("linebot_project", task_cls="core.correlation:CorrelatedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _keep_django_logging(**kwargs):
    """Django set logging up from ``LOGGING`` (JSON, correlation ids, error capture) when Celery loaded it.

    Without a receiver of this signal Celery would replace the root handlers with plain-text ones.
    """


@signals.worker_init.connect
def _start_worker(**kwargs):
    from core.processes import WORKER
    from core.startup import exit_on_bad_environment, start_process

    exit_on_bad_environment()
    start_process(WORKER)


@signals.worker_process_init.connect
def _start_pool_process(**kwargs):
    from core.processes import WORKER
    from core.startup import start_process

    start_process(WORKER)


@signals.beat_init.connect
def _start_beat(**kwargs):
    from core.processes import BEAT
    from core.startup import exit_on_bad_environment, start_process

    exit_on_bad_environment()
    start_process(BEAT)
