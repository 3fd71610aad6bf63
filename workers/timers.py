"""Timer jobs: fire due cases' timers (reminders, breaches, escalations, auto-close).

`fire_due_timers` takes a batch of case ids (what the scheduler hands on: cases whose deadlines fell due
together) and fires them in one transaction (`lifecycle.fire_due`); `fire_case_timers` fires one case.
Either reloads each case and fires under its lock (`SELECT … FOR UPDATE` on PostgreSQL, the optimistic
`version` everywhere): a case no longer due is left alone, and a second firer of the same deadline — a
duplicate job, a retry after a crash, another scheduler — finds nothing to do or loses the version race.
A crash before commit rolls the whole firing back, so it fires again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from engine.cases import lifecycle
from engine.db import utcnow
from engine.errors import Conflict
from engine.processes.incidents import EvaluationFailed
from workers.host import current
from workers.metrics import observe_timer_lateness

log = logging.getLogger(__name__)


def fire_case_timers(case_id: int, due_at: str | None = None) -> bool:
    """Fire the due timers of case `case_id`; False when nothing was due any more (idempotent).

    `due_at` (ISO time) names the deadline the job was enqueued for; it shows in job listings and
    logs, but the case row decides what is due.
    """
    host = current()
    with host.session() as session:
        try:
            fired = lifecycle.fire_timers(session, case_id, settings=host.settings)
        except EvaluationFailed as stuck:  # the incident is open; the next sweep retries the case
            log.warning("case %s: %s", case_id, stuck.message)
            return False
        except Conflict:
            log.info("case %s: timers fired by another worker", case_id)
            return False
    if fired and due_at:  # the `aduan_timer_lateness_seconds` histogram of /metrics
        observe_timer_lateness(dict(host.config), (utcnow() - datetime.fromisoformat(due_at)).total_seconds())
    if fired:
        log.info("case %s: timers due %s fired", case_id, due_at or "now")
    return fired


def fire_due_timers(cases: Sequence[tuple[int, str]]) -> int:
    """Fire the due timers of a batch of (case id, ISO due time) in one transaction; how many cases fired.

    A case of the batch not fired was no longer due, is held by another transaction, or stopped on its
    diagram (its incident is open); the next sweep finds whichever is still due."""
    host = current()
    due_at = dict(cases)
    with host.session() as session:
        fired = lifecycle.fire_due(session, list(due_at), settings=host.settings)
    now = utcnow()
    for case_id in fired:
        observe_timer_lateness(dict(host.config), (now - datetime.fromisoformat(due_at[case_id])).total_seconds())
    if fired:
        log.info("timers of %d case(s) fired: %s", len(fired), ", ".join(map(str, fired)))
    if len(fired) < len(due_at):
        left = len(due_at) - len(fired)
        log.info("%d case(s) of the batch not fired (no longer due, busy, or an open incident)", left)
    return len(fired)
