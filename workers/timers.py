"""Timer jobs: fire one case's due timers (reminders, breaches, escalations, auto-close).

`fire_case_timers` takes a case id, reloads the case and fires under the case lock (`SELECT … FOR UPDATE`
on PostgreSQL, the optimistic `version` everywhere): a case no longer due is left alone, and a second
firer of the same deadline — a duplicate job, a retry after a crash, another scheduler — finds nothing to
do or loses the version race. A crash before commit rolls the whole firing back, so it fires again.
"""

from __future__ import annotations

import logging
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
