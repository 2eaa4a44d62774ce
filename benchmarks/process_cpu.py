"""CPU time of this process's PostgreSQL backend, and of any process, for benchmarks run by hand in one process."""

from __future__ import annotations

import psutil
from django.db import connection


def backend() -> psutil.Process:
    """The PostgreSQL backend serving this thread's database connection (the server is on this machine)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return psutil.Process(cursor.fetchone()[0])


def cpu(process: psutil.Process) -> float:
    """Seconds of CPU, user and system, the process has spent so far."""
    times = process.cpu_times()
    return times.user + times.system
