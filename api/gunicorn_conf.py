"""gunicorn settings of the API processes: `gunicorn --config python:api.gunicorn_conf … api.wsgi:app`.

Prometheus counters of several workers add up only through PROMETHEUS_MULTIPROC_DIR (api/observability.py
creates the folder). Files an earlier run left there would count twice, so the master removes them when it
starts, and it tells prometheus_client when a worker dies. Everything else (bind, workers, logs) stays on
the command line, where docker-compose.yml sets it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def on_starting(server: Any) -> None:
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
