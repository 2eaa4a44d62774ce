"""Where the cores went while a load command ran: CPU time per request, by process group.

    cpu.py --cores 2 -- wrk -t2 -c32 -d10s ... URL
    cpu.py --cores 2 -- python load.py reply-latency ...

The machine is shared, so only the benchmark's own processes count: web, worker and doubles
that descend from ``BENCH_ROOT_PID`` (run.sh's shell), the PostgreSQL backends connected to
``BENCH_DB`` (pids from pg_stat_activity, before and after the run), and the redis-server on
``BENCH_REDIS_PORT`` (run.sh starts a private one). Without those variables every process whose
command line matches a group counts, as before. RabbitMQ is one server for everyone: its line
counts all of its CPU.

The command's own output is passed through. The requests are counted from wrk's
"N requests in" line or from load.py's JSON ("sent"). The load generator's CPU is its
own child usage. One more line follows, as JSON: busy cores over the run, CPU ms per
request for each group (and how much of the worker's was its main process, Celery's consumer, rather than
the pool's children), and the ceiling that total puts on this machine
(cores * 1000 / ms per request), the rate nothing on it could beat, and how much of each group's
CPU was the kernel's (system time: sockets, wake-ups, scheduling), and the cores each serving web process
used (a run whose keep-alive connections landed on one worker shows it). With ``BENCH_DB`` it
also gives the PostgreSQL write-ahead log written per request: a count of bytes, not a
time, so it does not swing with the machine's load (the server's whole log, so nothing
else may write to that PostgreSQL meanwhile).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

GROUPS = {
    "web": ("granian", "gunicorn", "uvicorn", "daphne"),
    "worker": ("celery",),
    "relay": ("conversations_relay",),
    "line-double": ("linesim.line",),
    "llm-double": ("linesim.llm",),
    "postgres": ("postgres",),
    "rabbitmq": ("beam.smp",),
    "redis": ("redis-server",),
}
# py-spy's command line names its output file, which names the layout ("pyspy-web-gunicorn-wsgi.txt"):
# under PROFILE=1 its own CPU would count as the web tier's.
_NOT_MEASURED = ("py-spy",)
_HZ = os.sysconf("SC_CLK_TCK")
# pid → (command line, CPU ticks so far, parent pid, of those ticks the kernel's)
Table = dict[str, tuple[str, int, int, int]]


def _processes() -> Table:
    """Every process still alive."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (command, int(fields[11]) + int(fields[12]), int(fields[1]), int(fields[12]))
    return found


def _descends(pid: str, root: str, table: Table) -> bool:
    seen = set()
    while pid in table and pid not in seen:
        if pid == root:
            return True
        seen.add(pid)
        pid = str(table[pid][2])
    return pid == root


def _spent(pid: str, before: Table, after: Table, *, in_kernel: bool = False) -> float:
    """CPU ms the process spent between the two looks (all of its life if it started in between); with
    ``in_kernel``, only its system time."""
    ticks = 3 if in_kernel else 1
    return (after[pid][ticks] - before.get(pid, ("", 0, 0, 0))[ticks]) * 1000 / _HZ


def _worker_mains(chosen: dict[str, str], table: Table) -> list[str]:
    """The worker processes whose parent is not a worker: Celery's main processes, not its pool's children."""
    return [pid for pid, name in chosen.items() if name == "worker" and chosen.get(str(table[pid][2])) != "worker"]


def _admin_rows(sql: str, params: list | None = None) -> list[tuple]:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _database_backends(database: str) -> set[str]:
    rows = _admin_rows("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
    return {str(pid) for (pid,) in rows}


def _wal_position() -> int:
    ((position,),) = _admin_rows("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')")
    return int(position)


def _ours(table: Table, backends: set[str]) -> dict[str, str]:
    """pid → group for the processes this run measures."""
    root = os.environ.get("BENCH_ROOT_PID")
    database = os.environ.get("BENCH_DB")
    redis_port = os.environ.get("BENCH_REDIS_PORT")
    chosen = {}
    for pid, (command, _ticks, _parent, _kernel) in table.items():
        name = _group(command)
        if name is None:
            continue
        if name == "postgres" and database:
            ours = pid in backends
        elif name == "redis" and redis_port:
            ours = f":{redis_port}" in command
        elif name not in ("postgres", "redis", "rabbitmq") and root:
            ours = _descends(pid, root, table)
        else:
            ours = True
        if ours:
            chosen[pid] = name
    return chosen


def _busy_ticks() -> int:
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return user + nice + system + irq + softirq + steal


def group_cpu_ms(group: str) -> float:
    """CPU ms the live processes of ``group`` (a key of GROUPS) have used so far, all of their lives."""
    return sum(ticks for command, ticks, *_ in _processes().values() if _group(command) == group) * 1000 / _HZ


def _group(command: str) -> str | None:
    if any(p in command for p in _NOT_MEASURED):
        return None
    for name, patterns in GROUPS.items():
        if any(p in command for p in patterns):
            return name
    return None


def _requests(output: str) -> int:
    wrk = re.search(r"(\d+) requests in", output)
    if wrk:
        return int(wrk.group(1))
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            payload = json.loads(line)
            return int((payload.get("ack") or payload).get("sent", 0))
    return 0


def measure(command: list[str], cores: int) -> dict:
    database = os.environ.get("BENCH_DB")
    backends = _database_backends(database) if database else set()
    wal_before = _wal_position() if database else None
    before, busy_before, started = _processes(), _busy_ticks(), time.monotonic()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    after, busy_after, elapsed = _processes(), _busy_ticks(), time.monotonic() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wal_written = _wal_position() - wal_before if wal_before is not None else None
    sys.stdout.write(completed.stdout)
    sys.stderr.write(completed.stderr)
    if database:
        # A backend that ended before the second look is lost; the pools keep theirs open.
        backends |= _database_backends(database)

    spent = {name: 0.0 for name in GROUPS}
    in_kernel = {name: 0.0 for name in GROUPS}
    chosen = _ours(after, backends)
    for pid, name in chosen.items():
        spent[name] += _spent(pid, before, after)
        in_kernel[name] += _spent(pid, before, after, in_kernel=True)
    spent["load generator"] = 1000 * (
        children_after.ru_utime + children_after.ru_stime - children_before.ru_utime - children_before.ru_stime
    )
    worker_main = sum(_spent(pid, before, after) for pid in _worker_mains(chosen, after))
    count = _requests(completed.stdout)
    per_request = {name: round(ms / count, 2) for name, ms in spent.items()} if count else {}
    total = sum(per_request.values())
    result = {
        "requests": count,
        "busy_cores": round((busy_after - busy_before) / _HZ / elapsed, 2),
        "cpu_ms_per_request": per_request,
        "total_ms": round(total, 2),
        "ceiling_per_s": round(cores * 1000 / total) if total else None,
        "returncode": completed.returncode,
    }
    if count and worker_main:
        # Of the worker's figure, what its main process (Celery's consumer, which feeds the prefork
        # children and acknowledges their tasks) spent rather than the children running the tasks.
        result["worker_main_ms_per_request"] = round(worker_main / count, 2)
    web = [pid for pid, name in chosen.items() if name == "web"]
    # Not the processes that only start the serving ones: gunicorn's master, and run.sh (its layout names the server).
    parents = {str(after[pid][2]) for pid in web}
    serving = [pid for pid in web if pid not in parents]
    if serving:
        # Keep-alive connections stay with the worker that accepted them, and the workers share one listening
        # socket: a run whose connections landed mostly on one worker is capped near one core (its GIL).
        cores = sorted((_spent(pid, before, after) / 1000 / elapsed for pid in serving), reverse=True)
        result["web_cores_by_process"] = [round(c, 2) for c in cores]
    if count:
        # System time: sockets, wake-ups and the scheduler, which no Python profile shows.
        result["kernel_ms_per_request"] = {name: round(ms / count, 2) for name, ms in in_kernel.items() if ms}
    if wal_written is not None and count:
        result["wal_bytes_per_request"] = round(wal_written / count)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to measure is required after --")
    result = measure(command, args.cores)
    print(json.dumps(result))
    raise SystemExit(result["returncode"])


if __name__ == "__main__":
    main()
