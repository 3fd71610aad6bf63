"""Keeps the snapshot of the figures current (`engine.stats.rollup`, PostgreSQL only).

The scheduler's own thread checks every STATS_CHECK_SECONDS (30 s, or the refresh interval if shorter) and
rebuilds the snapshot when it is older than STATS_REFRESH_INTERVAL seconds or when more than
STATS_REFRESH_CHANGES case writes were logged since. A rebuild reads every case (seconds at a million), so it
runs beside the timer sweeps, not in their loop; several schedulers take turns (an advisory lock: the one
that finds it taken skips). `aduan stats refresh` does the same by hand.
"""

from __future__ import annotations

import logging
import threading

from engine.stats import rollup
from workers.host import Host

log = logging.getLogger(__name__)
STATS_CHECK_SECONDS = 30.0


def refresh_if_due(host: Host) -> int | None:
    """Rebuild the snapshot if it is due; returns the new snapshot's id, or None (not due, not PostgreSQL,
    refresh turned off, or another scheduler's refresh running)."""
    every = float(host.config.get("STATS_REFRESH_INTERVAL", 300))
    if host.engine.dialect.name != "postgresql" or every <= 0:
        return None
    with host.session() as session:
        if not rollup.due(session, every, int(host.config.get("STATS_REFRESH_CHANGES", 5000))):
            return None
    return rollup.refresh(host.engine)


def keep_current(host: Host, stop: threading.Event) -> None:
    """Check until `stop` is set (the first check after one period: a starting service answers live)."""
    every = float(host.config.get("STATS_REFRESH_INTERVAL", 300))
    if host.engine.dialect.name != "postgresql" or every <= 0:
        return
    while not stop.wait(min(STATS_CHECK_SECONDS, every)):
        try:
            refresh_if_due(host)
        except Exception:
            log.exception("refreshing the figures' snapshot failed; retrying next check")


def start(host: Host, stop: threading.Event) -> None:
    """`keep_current` in a daemon thread."""
    threading.Thread(target=keep_current, args=(host, stop), name="aduan-figures", daemon=True).start()
