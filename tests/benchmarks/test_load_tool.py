"""benchmarks/webhook/load.py: an open-loop load that GETs a URL or POSTs pre-signed webhooks, and its reply figures."""

import json
import threading
import urllib.request
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


@pytest.fixture
def replying_bot():
    """A bot that answers each webhook with a reply to LINE, the first ``slow_first`` of them after ``delay`` s."""
    from linesim.line.testing import running_line_double

    with running_line_double(spec_checks=True) as line:
        lock, posted, behaviour = threading.Lock(), [], {"slow_first": 0, "delay": 0.0}

        class Bot(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    posted.append(body)
                    slow = len(posted) <= behaviour["slow_first"]
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                threading.Thread(target=reply, args=(body["events"][0]["replyToken"], slow)).start()

            def log_message(self, *args):
                pass

        def reply(token, slow):
            if slow:
                threading.Event().wait(behaviour["delay"])
            request = urllib.request.Request(
                f"{line.base_url}/v2/bot/message/reply",
                data=json.dumps({"replyToken": token, "messages": [{"type": "text", "text": "hi"}]}).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {line.access_token}"},
            )
            urllib.request.urlopen(request, timeout=10).close()

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Bot)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{httpd.server_port}", line, behaviour
        finally:
            httpd.shutdown()
            httpd.server_close()


def test_it_measures_only_the_events_after_the_lead_in(replying_bot, capsys):
    url, line, behaviour = replying_bot
    # The lead-in's five events are answered late; none of the ten measured ones is.
    behaviour.update(slow_first=5, delay=0.5)

    measured = ["--rate", "50", "--seconds", "0.2", "--lead-in", "0.1", "--wait", "10"]
    load.main(["reply-latency", "--url", url, "--line", line.base_url, "--secret", "s", *measured])

    report = json.loads(capsys.readouterr().out)
    assert (report["ack"]["sent"], report["expected"], report["replied"]) == (15, 10, 10)
    assert report["reply_p99_ms"] < 400
