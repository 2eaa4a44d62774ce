"""Gunicorn settings every deployment shares: ``gunicorn -c python:linebot_project.gunicorn_conf ...``.

Only hooks live here; workers, threads and the bind address stay on the command line.
"""

from monitoring import multiprocess


def child_exit(server, worker):
    # The worker's metric files: counters merged into the archive, its live gauges dropped.
    multiprocess.sweep()
