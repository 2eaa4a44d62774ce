import os

from celery import Celery, signals

# The package imports this module first (linebot_project/__init__.py), so this default is every
# entry point's, the WSGI and ASGI applications' too: production, as for a deployment.
# manage.py and scripts/run.sh choose local themselves.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.production")


def _check_environment(**kwargs):
    from core.startup import exit_on_bad_environment

    exit_on_bad_environment()


# Workers and beat import their modules first thing, and Celery's Django fix-up sets Django up
# then; connected before the app (and its fix-up) exists, the check runs ahead of that set-up,
# which would stop with a traceback on a missing DJANGO_SECRET_KEY.
signals.import_modules.connect(_check_environment, weak=False)

# The task class carries the correlation id into the worker's "Task ... received" line too.
app = Celery("linebot_project", task_cls="core.correlation:CorrelatedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _keep_django_logging(**kwargs):
    """Django set logging up from ``LOGGING`` (JSON, correlation ids, error capture) when Celery loaded it.

    Without a receiver of this signal Celery would replace the root handlers with plain-text ones.
    """


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(sender=None, **kwargs):
    """What Django does around a request, around each task (CELERY_DB_REUSE_MAX keeps Celery's closes away)."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # run inside the caller's own request or transaction
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_init.connect
def _start_worker(sender=None, **kwargs):
    from django.conf import settings

    from core.processes import WORKER
    from core.startup import start_process, start_up_done, warm_up_clients
    from core.task_watchdog import watch_worker

    start_process(WORKER)
    # The threads pool enforces no time limit: a watchdog stops the worker when a task outlives its own.
    watch_worker(sender, grace=settings.WORKER_OVERRUN_GRACE_SECONDS)
    # Imported once before the pool forks, the SDKs are the children's for free (each child imported them
    # again: about a second of CPU per child, paid again by every replacement of a worker).
    warm_up_clients()
    # The SDKs' objects are frozen too, before the fork (Django's were at set-up).
    start_up_done()


@signals.worker_process_init.connect
def _start_pool_process(**kwargs):
    from core.processes import WORKER
    from core.startup import start_process

    # The SDKs came with the fork: the worker imported them before its pool started (_start_worker).
    start_process(WORKER)


@signals.beat_init.connect
def _start_beat(**kwargs):
    from core.processes import BEAT
    from core.startup import start_process

    start_process(BEAT)
