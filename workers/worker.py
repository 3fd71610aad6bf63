"""`aduan worker`: an rq worker on Aduan's queues that runs every job inside one app per process.

It is a `SimpleWorker` (jobs run in the worker process, no fork per job): Aduan's jobs are short database
transactions, the app and its connection pool are built once, and a crash of the process is a crash of
the job — which the jobs are written to survive (see workers/timers.py).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import Queue, SimpleWorker
from rq.job import Job

from api.extensions import db
from workers.queue import connect, queue_names


class AppWorker(SimpleWorker):
    """Runs each job inside `app`'s context and closes the job's database session afterwards."""

    app: Flask

    def execute_job(self, job: Job, queue: Queue) -> Any:
        with self.app.app_context():
            try:
                return super().execute_job(job, queue)
            finally:
                db.session.remove()


def work(app: Flask, burst: bool = False, name: str | None = None, with_scheduler: bool = True) -> bool:
    """Process jobs of the app's queues (timers first) until stopped, or until empty with `burst`."""
    connection = connect(app.config["REDIS_URL"])
    queues = [Queue(n, connection=connection) for n in queue_names(app.config)]
    worker = AppWorker(queues, connection=connection, name=name)
    worker.app = app
    return bool(worker.work(burst=burst, with_scheduler=with_scheduler))
