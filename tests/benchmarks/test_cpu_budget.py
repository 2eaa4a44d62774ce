"""benchmarks/webhook/cpu.py: CPU per request by process group, and the ceiling it implies."""

import json
import os
import signal
import subprocess
import sys

import pytest

from benchmarks.webhook import cpu

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000
  2 threads and 32 connections
  5303 requests in 10.03s, 1.12MB read
Requests/sec:    528.68
"""


def test_it_counts_the_requests_wrk_made():
    assert cpu._requests(WRK_OUTPUT) == 5303


def test_it_counts_the_events_the_load_tool_sent():
    assert cpu._requests('{"sent": 5000, "ok": 5000}\n') == 5000
    assert cpu._requests('progress\n{"ack": {"sent": 1000}, "replied": 998}\n') == 1000


def test_it_charges_the_commands_own_cpu_to_the_load_generator(capsys):
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\nprint('{\"sent\": 100}')"

    result = cpu.measure([sys.executable, "-c", burn], cores=2)

    assert result["requests"] == 100
    # 0.4 s of CPU over 100 requests, plus the interpreter's start-up.
    assert 4.0 <= result["cpu_ms_per_request"]["load generator"] < 10.0
    assert result["ceiling_per_s"] == round(2 * 1000 / result["total_ms"])
    assert json.loads(capsys.readouterr().out.strip()) == {"sent": 100}


def test_it_reports_no_ceiling_when_nothing_was_counted():
    result = cpu.measure([sys.executable, "-c", "pass"], cores=2)

    assert result["requests"] == 0
    assert result["ceiling_per_s"] is None


WRITE_ROWS = """
import uuid, psycopg
table = "wal_probe_" + uuid.uuid4().hex[:12]
with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
    conn.execute(f"CREATE TABLE {table} (body text)")
    for _ in range(50):
        conn.execute(f"INSERT INTO {table} VALUES (%s)", ["x" * 2000])
    conn.execute(f"DROP TABLE {table}")
print('{"sent": 50}')
"""


def test_it_counts_the_write_ahead_log_written_per_request(monkeypatch):
    monkeypatch.setenv("BENCH_DB", "postgres")

    result = cpu.measure([sys.executable, "-c", WRITE_ROWS], cores=2)

    # Each request inserted a 2,000-byte row, under the size PostgreSQL compresses: logged whole.
    assert result["requests"] == 50
    assert result["wal_bytes_per_request"] >= 2000


def test_it_reports_no_write_ahead_log_without_a_database(monkeypatch):
    monkeypatch.delenv("BENCH_DB", raising=False)

    result = cpu.measure([sys.executable, "-c", "print('{\"sent\": 1}')"], cores=2)

    assert "wal_bytes_per_request" not in result


def test_it_does_not_count_the_profiler_as_the_web_tier():
    profiler = ".venv/bin/py-spy record --subprocesses -o var/bench/webhook/pyspy-web-gunicorn-wsgi.txt --pid 42"

    assert cpu._group(profiler) is None
    assert cpu._group(".venv/bin/gunicorn linebot_project.wsgi:application") == "web"


def test_it_tells_the_workers_main_process_from_its_pool_children():
    worker = ".venv/bin/celery -A linebot_project worker --pool=prefork --concurrency=2"
    table = {
        "100": (worker, 50, 1, 5),
        "101": (worker, 300, 100, 30),
        "102": (worker, 280, 100, 28),
        "200": (".venv/bin/gunicorn linebot_project.wsgi:application", 90, 1, 9),
    }
    chosen = {pid: cpu._group(command) for pid, (command, *_) in table.items()}

    assert cpu._worker_mains(chosen, table) == ["100"]


def test_it_gives_the_kernels_part_of_a_processs_cpu():
    web = ".venv/bin/gunicorn linebot_project.wsgi:application"
    before = {"200": (web, 90, 1, 10)}
    after = {"200": (web, 190, 1, 35), "201": (web, 40, 1, 4)}

    assert cpu._spent("200", before, after) == 100 * 1000 / cpu._HZ
    assert cpu._spent("200", before, after, in_kernel=True) == 25 * 1000 / cpu._HZ
    # A process that started in between: all of its life.
    assert cpu._spent("201", before, after, in_kernel=True) == 4 * 1000 / cpu._HZ


SERVER = """
import os, pathlib, signal, sys

def serve(*_):
    zeros = os.open("/dev/zero", os.O_RDONLY)
    for _ in range(20000):
        os.read(zeros, 1 << 20)
    pathlib.Path(sys.argv[1]).write_text("done")

# A master and its one worker, both named like the web tier, as gunicorn runs.
if os.fork() == 0:
    signal.signal(signal.SIGUSR1, serve)
    print(os.getpid(), flush=True)
    while True:
        signal.pause()
os.wait()
"""

LOAD = """
import os, pathlib, signal, sys, time
os.kill(int(sys.argv[1]), signal.SIGUSR1)
while not pathlib.Path(sys.argv[2]).exists():
    time.sleep(0.01)
print('{"sent": 10}')
"""


@pytest.fixture
def measured_server(monkeypatch, tmp_path):
    """cpu.py's result for a load that made a web worker spend about 0.2 s, nearly all of it in the kernel."""
    done = tmp_path / "done"
    # Named like the web tier, started by the benchmark's own process as run.sh starts its servers.
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(done), "gunicorn"], stdout=subprocess.PIPE, text=True)
    worker = int(server.stdout.readline())
    try:
        monkeypatch.setenv("BENCH_ROOT_PID", str(os.getpid()))
        monkeypatch.delenv("BENCH_DB", raising=False)
        yield cpu.measure([sys.executable, "-c", LOAD, str(worker), str(done)], cores=2)
    finally:
        os.kill(worker, signal.SIGKILL)
        server.wait()


def test_it_reports_the_kernels_part_per_request_by_group(measured_server):
    assert measured_server["requests"] == 10
    web = measured_server["cpu_ms_per_request"]["web"]
    web_in_kernel = measured_server["kernel_ms_per_request"]["web"]
    # Reading from /dev/zero is the kernel filling buffers.
    assert 0 < web_in_kernel <= web
    assert web_in_kernel > web * 0.75


def test_it_reports_the_cores_of_each_serving_process_and_not_its_master(measured_server):
    [cores] = measured_server["web_cores_by_process"]

    assert 0 < cores <= 1.0
