"""Under gunicorn (`--config python:api.gunicorn_conf`), what gunicorn refuses itself still answers JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'aduan.sqlite3'}", "SECRET_KEY": "x" * 32}
    env.pop("REDIS_URL", None)
    argv = [str(Path(sys.executable).parent / "gunicorn"), "--config", "python:api.gunicorn_conf"]
    argv += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "api.wsgi:app"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def raw(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


def test_an_over_long_request_line_answers_json(server: int) -> None:
    status, headers, body = raw(server, b"GET /api/v1/complaints/" + b"A" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status.startswith("HTTP/1.1 414")
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"code": 414, "status": "URI Too Long", "message": "request line too long"}


def test_a_malformed_request_answers_json(server: int) -> None:
    status, headers, body = raw(server, b"GET /\x01 HTTP/9.9\r\n\r\n")
    assert status.startswith("HTTP/1.1 400")
    assert headers["content-type"] == "application/json" and json.loads(body)["code"] == 400
