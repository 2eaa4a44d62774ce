"""A task that fails, for a real worker started with ``-I tests.monitoring.failing_tasks``."""

from celery import shared_task


@shared_task(name="tests.monitoring.explode_in_worker")
def explode_in_worker():
    raise ZeroDivisionError("the worker broke")
