"""benchmarks/webhook/load.py: an open-loop load that GETs a URL or POSTs pre-signed webhooks, and its reply figures."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.webhook import load


class _Recorder(BaseHTTPRequestHandler):
    seen: list

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.headers.get("X-Line-Signature"), body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (_Recorder,), {"seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", handler.seen
    httpd.shutdown()
    httpd.server_close()


def test_it_gets_the_url_at_the_rate_when_given_no_bodies(server, capsys):
    url, seen = server

    load.main(["fixed-rate", "--url", f"{url}/healthz", "--rate", "50", "--seconds", "0.2"])

    summary = json.loads(capsys.readouterr().out)
    assert (summary["sent"], summary["ok"], summary["errors"]) == (10, 10, 0)
    assert {command for command, _, _ in seen} == {"GET"} and len(seen) == 10


def test_it_posts_each_signed_body_once(server, tmp_path, capsys):
    url, seen = server
    bodies = tmp_path / "bodies.txt"
    load.main(["bodies", "--count", "4", "--secret", "s3cret", "--out", str(bodies)])

    load.main(
        ["fixed-rate", "--url", f"{url}/line/webhook", "--bodies", str(bodies), "--rate", "40", "--seconds", "0.1"]
    )

    assert json.loads(capsys.readouterr().out)["ok"] == 4
    posted = sorted((signature, body) for command, signature, body in seen if command == "POST")
    assert posted == sorted(load._signed_line(line) for line in bodies.read_text().splitlines())
    assert all(load.sign("s3cret", body) == signature for signature, body in posted)


def test_it_gives_the_slowest_reply_of_each_second():
    latencies = [90.0, 250.0, 30.0, 40.0, 35.0, 20.0, 104.9]

    assert load.slowest_by_second(latencies, rate=3) == [250.0, 40.0, 104.9]
