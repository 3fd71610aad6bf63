"""The fixed-rate load client of `aduan bench http`: every request sent once, bounded by count and duration.

Counts only (never times): a small threaded HTTP server on 127.0.0.1 records the paths it was asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.fixed_rate import fixed_rate, http_request
from tests.api.live_server import serving_handler


class Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []  # noqa: RUF012  (one server per test, reset by the fixture)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        Recorder.seen.append(self.path)
        status = 201 if self.path.startswith("/ok") else 409
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    Recorder.seen = []
    with serving_handler(Recorder) as port:
        yield port


def test_every_request_is_sent_once_and_its_status_counted(port: int) -> None:
    def request_of(i: int) -> bytes:
        return http_request("POST", f"/ok/{i}" if i % 4 else f"/conflict/{i}", b'{"n": %d}' % i)

    result = fixed_rate(port, request_of, rate=200, requests=20, duration=10)
    assert result.sent == 20
    refused = [f"/conflict/{i}" for i in (0, 4, 8, 12, 16)]
    assert sorted(Recorder.seen) == sorted([f"/ok/{i}" for i in range(20) if i % 4] + refused)
    assert result.statuses == {201: 15, 409: 5}
    assert len(result.latencies_ms) == len(result.service_ms) == 20
    assert result.errors == 0


def test_requests_due_after_the_duration_are_not_sent(port: int) -> None:
    result = fixed_rate(port, lambda i: http_request("POST", f"/ok/{i}"), rate=10, requests=1000, duration=0.25)
    assert result.sent == 3  # due at 0, 0.1 and 0.2 s
    assert sorted(Recorder.seen) == ["/ok/0", "/ok/1", "/ok/2"]


def test_a_refused_connection_is_an_error_not_an_answer() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), Recorder) as closed:
        free = closed.server_address[1]  # nothing listens once the block ends
    result = fixed_rate(free, lambda i: http_request("POST", "/ok"), rate=100, requests=3, duration=1, timeout=2)
    assert result.sent == 3
    assert result.errors == 3
    assert result.statuses == {}
