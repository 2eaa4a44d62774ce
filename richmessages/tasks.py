"""Celery finds tasks in ``<app>.tasks``; the campaign tasks live with the campaigns."""

from richmessages.campaigns.tasks import *  # noqa: F403
