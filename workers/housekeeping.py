"""Housekeeping: rows kept only for a while are deleted, so that the tables they live in do not grow with
the service's age.

- idempotency keys older than IDEMPOTENCY_KEEP_HOURS (24 h; a retry after that runs as a new request);
- expired sign-in sessions, and the failed-sign-in counts of names quiet for a day with no lock running.

The scheduler runs `prune` every HOUSEKEEPING_INTERVAL seconds (one hour); several schedulers may run it at
once (each DELETE is idempotent). Audit rows (events, account events, read log) are never touched here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.channels import idempotency
from engine.db import utcnow
from engine.directory import signin
from workers.host import Host

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pruned:
    """How many rows one pass deleted."""

    idempotency_keys: int
    sign_in_rows: int

    @property
    def total(self) -> int:
        return self.idempotency_keys + self.sign_in_rows


def prune(host: Host, now: datetime | None = None) -> Pruned:
    """Delete what has outlived its use, in one transaction."""
    now = now or utcnow()
    keep = timedelta(hours=float(host.config.get("IDEMPOTENCY_KEEP_HOURS", 24)))
    with host.session() as session:
        pruned = Pruned(idempotency.prune(session, now, keep), signin.prune(session, now))
        session.commit()
    if pruned.total:
        log.info("housekeeping deleted %d idempotency key(s), %d sign-in row(s)", *vars(pruned).values())
    return pruned
