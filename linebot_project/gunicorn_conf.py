"""Gunicorn settings every deployment shares: ``gunicorn -c python:linebot_project.gunicorn_conf ...``.

Only hooks live here; workers, threads and the bind address stay on the command line.
"""

from core.startup import start_up_begins, start_up_done
from monitoring import multiprocess

# The master never sets Django up (the application is not preloaded), so nothing else would end the start-up
# that importing this package began: its collector is turned on here. Each worker holds it off again while
# it loads the application (post_fork), until its apps are ready.
start_up_done()


def post_fork(server, worker):
    start_up_begins()


def child_exit(server, worker):
    # The worker's metric files: counters merged into the archive, its live gauges dropped.
    multiprocess.sweep()
