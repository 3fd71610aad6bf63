"""`aduan worker`: an rq worker on Aduan's queues that runs every job in this process's host.

It is a `SimpleWorker` (jobs run in the worker process, no fork per job): Aduan's jobs are short database
transactions, the app and its connection pool are built once, and a crash of the process is a crash of
the job — which the jobs are written to survive (see workers/timers.py). Each job opens and closes
its own session (workers/host.py).
"""

from __future__ import annotations

from typing import Any

from rq import Queue, SimpleWorker
from rq.job import Job

from workers.host import Host, install
from workers.queue import connect, queue_names


class HostWorker(SimpleWorker):
    """Runs each job in `host` (installed as this process's host before the first job)."""

    host: Host

    def execute_job(self, job: Job, queue: Queue) -> Any:
        install(self.host)
        return super().execute_job(job, queue)


def work(host: Host, burst: bool = False, name: str | None = None, with_scheduler: bool = True) -> bool:
    """Process jobs of the host's queues (timers first) until stopped, or until empty with `burst`."""
    config = dict(host.config)
    connection = connect(config["REDIS_URL"])
    queues = [Queue(n, connection=connection) for n in queue_names(config)]
    worker = HostWorker(queues, connection=connection, name=name)
    worker.host = host
    return bool(worker.work(burst=burst, with_scheduler=with_scheduler))
