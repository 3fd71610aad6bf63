"""The scheduler: find due timers and pending outbox rows, hand each to its job function.

A sweep reads the indexed `complaint.next_timer_at` only, in keyset-paged batches, so its cost follows the
number of cases due, not the number open. On PostgreSQL a batch is selected `FOR UPDATE SKIP LOCKED` and
held until its jobs are enqueued, so concurrent schedulers split the due set instead of racing for it.
The relay re-dispatches outbox rows that a crash or a Redis outage left pending.

`aduan scheduler` runs `run` (enqueue to rq, or fire inline when there is no Redis); `aduan serve` runs
the same loop in a daemon thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from engine.cases.case import Case
from engine.db import utcnow
from engine.notify import outbox
from workers import figures, housekeeping
from workers.host import Host
from workers.queue import Dispatcher, InlineDispatcher, dispatcher_for, wake_event

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    """What one pass handed on: due cases, outbox rows."""

    timers: int = 0
    outbox: int = 0


def claim_due(
    session: Session, now: datetime, limit: int, after: tuple[datetime, int] | None = None
) -> list[tuple[int, datetime]]:
    """(id, next_timer_at) of up to `limit` due cases after the keyset `after`, oldest deadline first.

    PostgreSQL locks the rows (`FOR UPDATE SKIP LOCKED`) until the session ends its transaction, and skips
    rows another scheduler holds.
    """
    query = sa.select(Case.id, Case.next_timer_at).where(Case.next_timer_at < now)
    if after is not None:
        at, last_id = after
        query = query.where(sa.or_(Case.next_timer_at > at, sa.and_(Case.next_timer_at == at, Case.id > last_id)))
    query = query.order_by(Case.next_timer_at, Case.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [(row.id, row.next_timer_at) for row in session.execute(query)]


def sweep_timers(host: Host, dispatcher: Dispatcher, now: datetime | None = None) -> int:
    """Hand every case due at `now` to `dispatcher`, `TIMER_BATCH` cases at a time (a job, a transaction);
    returns how many were handed on."""
    now, limit = now or utcnow(), int(host.config.get("SWEEP_BATCH", 500))
    size = max(1, int(host.config.get("TIMER_BATCH", 25)))
    inline = isinstance(dispatcher, InlineDispatcher)
    after, handed = None, 0
    with host.session() as session:
        while True:
            try:
                batch = claim_due(session, now, limit, after)
                if inline:
                    session.rollback()  # each firing is its own transaction, locking its cases
                handed += sum(dispatcher.timers(batch[i : i + size]) for i in range(0, len(batch), size))
            finally:
                session.rollback()  # releases the batch's row locks once its jobs are enqueued
            if len(batch) < limit:
                return handed
            after = (batch[-1][1], batch[-1][0])


def relay_outbox(host: Host, dispatcher: Dispatcher, now: datetime | None = None) -> int:
    """Hand pending outbox rows whose attempt is due to `dispatcher`.

    Under rq a fresh row is left alone for OUTBOX_RELAY_AFTER_SECONDS, the time its after-commit
    enqueue needs; inline, nobody else sends them.
    """
    now = now or utcnow()
    inline = isinstance(dispatcher, InlineDispatcher)
    grace = 0 if inline else float(host.config.get("OUTBOX_RELAY_AFTER_SECONDS", 10))
    with host.session() as session:
        rows = outbox.due(session, now - timedelta(seconds=grace), int(host.config.get("SWEEP_BATCH", 500)))
    return sum(dispatcher.outbox(outbox_id, kind) for outbox_id, kind in rows)


def run_once(host: Host, now: datetime | None = None) -> SweepResult:
    """One pass: due timers, then the outbox relay."""
    dispatcher = dispatcher_for(host)
    return SweepResult(sweep_timers(host, dispatcher, now), relay_outbox(host, dispatcher, now))


def run(host: Host, interval: float, stop: threading.Event) -> None:
    """Sweep every `interval` seconds (sooner when a command leaves outbox rows) until `stop` is set;
    housekeeping on the first pass and every HOUSEKEEPING_INTERVAL seconds after; the figures' snapshot kept
    current beside it (`workers.figures`)."""
    wake = wake_event(host)
    figures.start(host, stop)
    every, last_kept = float(host.config.get("HOUSEKEEPING_INTERVAL", 3600)), float("-inf")
    while not stop.is_set():
        try:
            result = run_once(host)
            if result.timers or result.outbox:
                log.info("handed on %d due case(s), %d outbox row(s)", result.timers, result.outbox)
            if time.monotonic() - last_kept >= every:
                last_kept = time.monotonic()
                housekeeping.prune(host)
        except RedisError as exc:
            log.warning("Redis unavailable (%s); retrying next interval", exc)
        except Exception:
            log.exception("sweep failed; retrying next interval")
        wake.wait(interval)
        wake.clear()


def start_in_process(host: Host, interval: float) -> threading.Event:
    """Run the scheduler loop in a daemon thread (the embedded default); set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run, args=(host, interval, stop), name="aduan-scheduler", daemon=True).start()
    return stop
