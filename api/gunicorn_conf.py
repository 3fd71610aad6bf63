"""gunicorn settings of the API processes: `gunicorn --config python:api.gunicorn_conf … api.wsgi:app`.

Prometheus counters of several workers add up only through PROMETHEUS_MULTIPROC_DIR (api/observability.py
creates the folder). Files an earlier run left there would count twice, so the master removes them when it
starts, and it tells prometheus_client when a worker dies. Everything else (bind, workers, logs) stays on
the command line, where docker-compose.yml sets it.

A request gunicorn itself refuses before the app sees it (a request line over `limit_request_line`,
headers too large, a malformed request) is answered in the API's JSON error shape, as the OpenAPI
document promises, instead of gunicorn's HTML page.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from gunicorn import util

# what the client did wrong, in our words: gunicorn's own messages echo the refused input back
MESSAGES = {
    400: "malformed HTTP request",
    414: "request line too long",
    431: "request header fields too large",
    403: "request forbidden",
    501: "transfer coding not supported",
}


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's `util.write_error`, answering `{"code", "status", "message"}` as JSON."""
    body = json.dumps({"code": status_int, "status": reason, "message": MESSAGES.get(status_int, reason)}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = write_json_error  # the workers call it through the module: every refusal answers JSON


def on_starting(server: Any) -> None:
    # the app in each worker divides the rate limits by this while Redis is down (api.extensions.budget)
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        own = f"_{os.getpid()}.db"  # this master's own (empty) files, made when it imported the app
        for stale in Path(folder).glob("*.db"):
            if not stale.name.endswith(own):
                stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
