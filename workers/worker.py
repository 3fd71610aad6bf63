"""`aduan worker`: an rq worker on Aduan's queues that runs every job in this process's host.

It is a `SimpleWorker` (jobs run in the worker process, no fork per job): Aduan's jobs are short database
transactions, the app and its connection pool are built once, and a crash of the process is a crash of
the job — which the jobs are written to survive (see workers/timers.py). Each job opens and closes
its own session (workers/host.py).

A Redis outage is waited out in this process, and the worker is back within about a second of Redis:
rq's own retries wait up to 60 s between attempts, and an error outside its dequeue loop makes it quit,
so `work` polls Redis and starts a fresh worker as soon as it answers. Timers made due during the outage
are then enqueued by the scheduler and fired at once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.job import Job

from workers.host import Host, install
from workers.queue import connect, queue_names

log = logging.getLogger(__name__)
RECONNECT_POLL_SECONDS = 0.5


class HostWorker(SimpleWorker):
    """Runs each job in `host` (installed as this process's host before the first job)."""

    host: Host
    stopping = False
    # rq waits 1, 2, 4 … up to 60 s between attempts while Redis is unreachable
    max_connection_wait_time = 1.0

    def handle_warm_shutdown_request(self) -> None:
        self.stopping = True
        super().handle_warm_shutdown_request()  # type: ignore[no-untyped-call]

    def execute_job(self, job: Job, queue: Queue) -> Any:
        install(self.host)
        return super().execute_job(job, queue)


def _wait_for_redis(connection: Redis, worker: HostWorker) -> bool:
    """Poll until Redis answers (True) or the worker is asked to stop (False)."""
    while not worker.stopping:
        try:
            if connection.ping():
                return True
        except RedisError:
            pass
        time.sleep(RECONNECT_POLL_SECONDS)
    return False


def work(host: Host, burst: bool = False, name: str | None = None, with_scheduler: bool = True) -> bool:
    """Process jobs of the host's queues (timers first) until stopped, or until empty with `burst`."""
    config = dict(host.config)
    connection = connect(config["REDIS_URL"])
    worked, attempt = False, 0
    while True:
        queues = [Queue(n, connection=connection) for n in queue_names(config)]
        worker_name = name if attempt == 0 or name is None else f"{name}-{attempt}"  # the old one may linger
        worker = HostWorker(queues, connection=connection, name=worker_name)
        worker.host = host
        try:
            worked = bool(worker.work(burst=burst, with_scheduler=with_scheduler)) or worked
        except RedisError as exc:  # rq's teardown could not tell Redis it stopped
            log.warning("worker lost Redis: %s", exc)
        if burst or worker.stopping:
            return worked
        try:
            time.sleep(RECONNECT_POLL_SECONDS)  # never a tight loop, whatever made rq quit
            if not _wait_for_redis(connection, worker):
                return worked
        except StopRequested:
            return worked
        log.info("Redis answers again: starting a fresh worker")
        attempt += 1
