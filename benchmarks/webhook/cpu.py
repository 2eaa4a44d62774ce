"""Where the cores went while a load command ran: CPU time per request, by process group.

    cpu.py --cores 2 -- wrk -t2 -c32 -d10s ... URL
    cpu.py --cores 2 -- python load.py reply-latency ...

The command's own output is passed through. The requests are counted from wrk's
"N requests in" line or from load.py's JSON ("sent"). The load generator's CPU is its
own child usage. One more line follows, as JSON: busy cores over the run, CPU ms per
request for each group, and the ceiling that total puts on this machine
(cores * 1000 / ms per request), the rate nothing on it could beat.
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
    "line-double": ("linesim.line",),
    "llm-double": ("linesim.llm",),
    "postgres": ("postgres",),
    "rabbitmq": ("beam.smp",),
    "redis": ("redis-server",),
}
_HZ = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[str, tuple[str, int]]:
    """pid → (command line, CPU ticks so far) for every process still alive."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (command, int(fields[11]) + int(fields[12]))
    return found


def _busy_ticks() -> int:
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return user + nice + system + irq + softirq + steal


def _group(command: str) -> str | None:
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
    before, busy_before, started = _processes(), _busy_ticks(), time.monotonic()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    after, busy_after, elapsed = _processes(), _busy_ticks(), time.monotonic() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stdout.write(completed.stdout)
    sys.stderr.write(completed.stderr)

    spent = {name: 0.0 for name in GROUPS}
    for pid, (cmd, ticks) in after.items():
        name = _group(cmd)
        if name:
            spent[name] += (ticks - before.get(pid, (cmd, 0))[1]) * 1000 / _HZ
    spent["load generator"] = 1000 * (
        children_after.ru_utime + children_after.ru_stime - children_before.ru_utime - children_before.ru_stime
    )
    count = _requests(completed.stdout)
    per_request = {name: round(ms / count, 2) for name, ms in spent.items()} if count else {}
    total = sum(per_request.values())
    return {
        "requests": count,
        "busy_cores": round((busy_after - busy_before) / _HZ / elapsed, 2),
        "cpu_ms_per_request": per_request,
        "total_ms": round(total, 2),
        "ceiling_per_s": round(cores * 1000 / total) if total else None,
        "returncode": completed.returncode,
    }


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
