"""Queues and dispatch: how due timers and outbox rows reach the job functions.

Two dispatchers run the same job functions. `RqDispatcher` (when `REDIS_URL` is set) enqueues one rq job
per batch of due cases (`TIMER_BATCH`, fired in one transaction) and one per outbox row. A due case is
marked in Redis with the job that carries it (a key per case and deadline), and an outbox row's job id
derives from the row, so that repeated sweeps and concurrent schedulers do not pile up copies while a job
is in flight; `InlineDispatcher` (the embedded default) calls the job functions in the caller's thread.
Either way correctness never rests on deduplication: every job re-checks its rows under a lock.

After a command commits, the ids of its new outbox rows are dispatched at once. A Redis error there is
logged and swallowed: the rows stay pending in the database and the relay sends them later.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session

from engine.notify import outbox
from workers.host import Host, installed, of_session

log = logging.getLogger(__name__)
PREFIX = re.compile(r"[A-Za-z0-9_-]+")
FAMILIES = ("timers", "notifications", "webhooks")  # queue order is priority order
IN_FLIGHT = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.CREATED})
TIMER_RETRY = Retry(max=3, interval=[5, 30, 120])
JOB_TIMEOUT = 120
RESULT_TTL = 600


def queue_names(config: dict[str, Any]) -> list[str]:
    """`<QUEUE_PREFIX>-timers`, `-notifications`, `-webhooks`."""
    prefix = str(config.get("QUEUE_PREFIX") or "aduan")
    if not PREFIX.fullmatch(prefix):
        raise ValueError(f"QUEUE_PREFIX {prefix!r}: letters, digits, '_' and '-' only")
    return [f"{prefix}-{family}" for family in FAMILIES]


def connect(url: str) -> Redis:
    """A Redis connection that fails fast (an outage must not hang a request)."""
    return Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)


def timer_key(queue: str, case_id: int, due: datetime) -> str:
    """The Redis key naming the job that carries (case, due time): a new deadline is a new key, a repeated
    sweep the same one."""
    return f"{queue}-case{case_id}-due{int(due.timestamp())}"


MARK_TTL = 86_400  # a mark outlives any job waiting in a queue; a job that no longer exists marks nothing


def outbox_job_id(queue: str, outbox_id: int) -> str:
    return f"{queue}-outbox{outbox_id}"


def _in_flight(job: Job, stale_after: float) -> bool:
    """Queued, scheduled, or started recently enough that its worker may still be alive."""
    status = job.get_status(refresh=False)  # as fetched
    if status in IN_FLIGHT:
        return True
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat or job.started_at
        return beat is not None and datetime.now(UTC) - beat.replace(tzinfo=UTC) < timedelta(seconds=stale_after)
    return False


def enqueue_once(queue: Queue, func: Callable[..., Any], *args: Any, job_id: str, **options: Any) -> bool:
    """Enqueue `func(*args)` as `job_id` unless that job is already in flight; True when enqueued.

    A finished, failed or stale job of the same id is replaced: the row it was about is still due, so
    its earlier run did not do the work (a crash, a lost race, an error).
    """
    stale_after = float(options.pop("stale_after", 60))
    for _ in range(2):
        try:
            queue.enqueue(func, *args, job_id=job_id, unique=True, result_ttl=RESULT_TTL, **options)
            return True
        except DuplicateJobError:
            try:
                job = Job.fetch(job_id, connection=queue.connection)
            except NoSuchJobError:
                continue
            if _in_flight(job, stale_after):
                return False
            job.delete()
    return False


class Dispatcher(Protocol):
    """Hands due cases or an outbox row to their job function."""

    def timers(self, due: Sequence[tuple[int, datetime]]) -> int: ...

    def outbox(self, outbox_id: int, kind: str) -> bool: ...


class InlineDispatcher:
    """The embedded default: run the job in this thread, now."""

    def timers(self, due: Sequence[tuple[int, datetime]]) -> int:
        """Fire the batch now, in one transaction; how many cases fired."""
        from workers.timers import fire_due_timers

        return fire_due_timers([(case_id, at.isoformat()) for case_id, at in due])

    def outbox(self, outbox_id: int, kind: str) -> bool:
        try:
            _outbox_job(kind)(outbox_id)
        except Exception as exc:  # the row records the failure; the relay retries it when due
            log.warning("outbox %s: %s", outbox_id, exc)
            return False
        return True


class RqDispatcher:
    """Distributed: one rq job per batch of due cases (each case marked with its job) or per outbox row."""

    def __init__(self, config: dict[str, Any], connection: Redis | None = None) -> None:
        self.connection = connection or connect(config["REDIS_URL"])
        names = queue_names(config)
        self.queues = {
            family: Queue(name, connection=self.connection) for family, name in zip(FAMILIES, names, strict=True)
        }
        self.stale_after = float(config.get("TIMER_JOB_STALE_SECONDS", 60))
        backoff = list(config.get("OUTBOX_BACKOFF") or outbox.BACKOFF)
        retries = max(int(config.get("OUTBOX_MAX_ATTEMPTS", outbox.MAX_ATTEMPTS)) - 1, 1)
        self.outbox_retry = Retry(max=retries, interval=backoff)

    def timers(self, due: Sequence[tuple[int, datetime]]) -> int:
        """Enqueue one job for the cases of `due` that no job in flight carries; how many it carries.

        Each case is marked (`timer_key`) with the new job's id where no mark is (`SET NX`), or where the
        job its mark names is finished, failed, gone or stale: its case is still due, so that job did not do
        the work. Two Redis round trips, and one more to look at the jobs of marks already set."""
        from workers.timers import fire_due_timers

        if not due:
            return 0
        queue = self.queues["timers"]
        job_id = f"{queue.name}-timers-{uuid.uuid4().hex}"
        keys = [timer_key(queue.name, case_id, at) for case_id, at in due]
        with self.connection.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(key, job_id, nx=True, ex=MARK_TTL)
                pipe.get(key)
            answers = pipe.execute()
        marks = {key: (bool(answers[2 * i]), answers[2 * i + 1]) for i, key in enumerate(keys)}
        held = {mark.decode() for taken, mark in marks.values() if not taken and mark is not None}
        alive = self._in_flight(held)
        chosen = [(pair, key) for pair, key in zip(due, keys, strict=True) if _carried(marks[key], alive)]
        if not chosen:
            return 0
        carried = [pair for pair, _key in chosen]
        with self.connection.pipeline() as pipe:
            for _pair, key in chosen:
                if not marks[key][0]:
                    pipe.set(key, job_id, ex=MARK_TTL)  # taken over from a job that did not do the work
            job = Queue.prepare_data(
                fire_due_timers, ([(case_id, at.isoformat()) for case_id, at in carried],), job_id=job_id,
                retry=TIMER_RETRY, timeout=JOB_TIMEOUT, result_ttl=RESULT_TTL,
            )  # fmt: skip
            queue.enqueue_many([job], pipeline=pipe)
            pipe.execute()
        return len(carried)

    def timer(self, case_id: int, due: datetime) -> bool:
        """One due case (`timers` of one)."""
        return self.timers([(case_id, due)]) == 1

    def _in_flight(self, job_ids: set[str]) -> set[str]:
        """Those of `job_ids` whose job is queued, scheduled or started recently enough (one round trip)."""
        if not job_ids:
            return set()
        names = sorted(job_ids)
        jobs = Job.fetch_many(names, connection=self.connection)
        found = zip(names, jobs, strict=True)
        return {name for name, job in found if job is not None and _in_flight(job, self.stale_after)}

    def outbox_new(self, rows: list[tuple[int, str]]) -> None:
        """Enqueue the rows a command has just committed, all in one Redis round trip (a pipeline).

        New rows cannot be in flight, so the check of `enqueue_once` is not needed; should a row still be
        handed on twice (the relay meanwhile), `outbox.attempt` sends it once: it locks the row and skips it
        unless pending."""
        by_family: dict[str, list[Any]] = {}
        for outbox_id, kind in rows:
            family = "webhooks" if kind == outbox.OutboxKind.WEBHOOK else "notifications"
            queue = self.queues[family]
            by_family.setdefault(family, []).append(
                Queue.prepare_data(
                    _outbox_job(kind),
                    (outbox_id,),
                    job_id=outbox_job_id(queue.name, outbox_id),
                    retry=self.outbox_retry,
                    timeout=JOB_TIMEOUT,
                    result_ttl=RESULT_TTL,
                )
            )
        with self.connection.pipeline() as pipe:
            for family, jobs in by_family.items():
                self.queues[family].enqueue_many(jobs, pipeline=pipe)
            pipe.execute()

    def outbox(self, outbox_id: int, kind: str) -> bool:
        family = "webhooks" if kind == outbox.OutboxKind.WEBHOOK else "notifications"
        queue = self.queues[family]
        return enqueue_once(
            queue, _outbox_job(kind), outbox_id, job_id=outbox_job_id(queue.name, outbox_id),
            stale_after=self.stale_after, retry=self.outbox_retry, job_timeout=JOB_TIMEOUT,
        )  # fmt: skip


def _carried(mark: tuple[bool, bytes | None], alive: set[str]) -> bool:
    """Whether the new job carries a case: its mark was just set, or names a job not in flight."""
    taken, job_id = mark
    return taken or job_id is None or job_id.decode() not in alive


def _outbox_job(kind: str) -> Callable[[int], Any]:
    from workers.notifications import send_notification
    from workers.webhooks import deliver_webhook

    return deliver_webhook if kind == outbox.OutboxKind.WEBHOOK else send_notification


def dispatcher_for(host: Host) -> Dispatcher:
    """The host's dispatcher: rq when `REDIS_URL` is configured, else inline."""
    found: Dispatcher | None = host.state.get("dispatcher")
    if found is None:
        config = dict(host.config)
        found = RqDispatcher(config) if config.get("REDIS_URL") else InlineDispatcher()
        host.state["dispatcher"] = found
    return found


def wake_event(host: Host) -> threading.Event:
    """Set when new outbox rows wait for the in-process loop (embedded default)."""
    event: threading.Event = host.state.setdefault("wake", threading.Event())
    return event


def _after_commit(session: Session) -> None:
    """Dispatch the rows a command just committed; never raise (the command has already happened)."""
    new = outbox.take_new(session)
    host = of_session(session) or installed()
    if not new or host is None:
        return
    if not host.config.get("REDIS_URL"):
        wake_event(host).set()
        return
    try:
        dispatcher = dispatcher_for(host)
        if isinstance(dispatcher, RqDispatcher):
            dispatcher.outbox_new(new)
            return
        for outbox_id, kind in new:
            dispatcher.outbox(outbox_id, kind)
    except RedisError as exc:
        log.warning("Redis unavailable (%s); %d outbox row(s) left for the relay", exc, len(new))
    except Exception:
        log.exception("dispatch after commit failed; the relay will send the rows")


def _after_rollback(session: Session, previous_transaction: Any) -> None:
    outbox.take_new(session)


def install() -> None:
    """Dispatch outbox rows after every commit (idempotent; called by whoever installs a host)."""
    if not sa.event.contains(Session, "after_commit", _after_commit):
        sa.event.listen(Session, "after_commit", _after_commit)
        sa.event.listen(Session, "after_soft_rollback", _after_rollback)
