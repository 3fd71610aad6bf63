"""The timer sweep: find cases whose `next_timer_at` has passed and fire each in its own transaction."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from api.extensions import db
from engine import lifecycle

log = logging.getLogger(__name__)


def sweep(app: Flask) -> int:
    """One pass over the due cases (the embedded default runs the job functions in-process)."""
    with app.app_context():
        try:
            return lifecycle.run_due(db.session(), settings=app.extensions["aduan.settings"])
        finally:
            db.session.remove()


def start_in_process(app: Flask, interval: float) -> threading.Event:
    """Sweep every `interval` seconds in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                fired = sweep(app)
                if fired:
                    log.info("fired timers of %d case(s)", fired)
            except Exception:
                log.exception("timer sweep failed; retrying next interval")

    threading.Thread(target=loop, name="aduan-timers", daemon=True).start()
    return stop
