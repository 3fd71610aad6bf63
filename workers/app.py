"""The application a job runs in: the current one, or one created once per worker process.

Jobs take ids and reload everything from the database, so all they need is the app's configuration and a
database session. `aduan worker` and the in-process loop already run inside an app context; a plain
`rq worker` process gets one app, built from the environment on its first job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

from api.extensions import db

_process_app: Flask | None = None


def process_app() -> Flask:
    """This process's app, created from the environment on first use."""
    global _process_app
    if _process_app is None:
        from api import create_app

        _process_app = create_app()
    return _process_app


@contextmanager
def job_context() -> Iterator[Flask]:
    """An app context for one job; the job's database session is closed when it ends."""
    if has_app_context():
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            yield app
        finally:
            db.session.remove()
        return
    with process_app().app_context():
        try:
            yield current_app._get_current_object()  # type: ignore[attr-defined]
        finally:
            db.session.remove()
