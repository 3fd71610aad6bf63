"""The host a job runs in: configuration, engine settings and database sessions, without the API.

Jobs take ids and reload everything from the database, so all they need is the configuration and a
session. The API's app factory installs a host sharing its connection pool (`aduan serve`, `aduan
worker`); a plain `rq worker` process builds one from the environment on its first job.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine import config as service_config
from engine.settings import Settings

_installed: Host | None = None
_lock = threading.Lock()


class Host:
    """Configuration, engine settings, sessions and the process-wide dispatch state of one service."""

    def __init__(self, config: Mapping[str, Any], settings: Settings, bind: sa.Engine | None = None) -> None:
        self.config = config
        self.settings = settings
        self.engine = bind or sa.create_engine(
            config["SQLALCHEMY_DATABASE_URI"], **config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
        )
        self.sessions = sessionmaker(bind=self.engine, info={"aduan.host": self})
        self.state: dict[str, Any] = {}  # the dispatcher and the wake event, made on first use

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for one job; closed (its transaction rolled back if still open) when the job ends."""
        session = self.sessions()
        try:
            yield session
        finally:
            session.close()


def from_environment() -> Host:
    """A host configured like the API: defaults < environment (DATABASE_URL, REDIS_URL, …)."""
    config = service_config.build(str(Path(os.getcwd()) / "instance"), None)
    return Host(config, service_config.engine_settings(config))


def install(host: Host) -> None:
    """Make `host` the one this process's jobs run in."""
    global _installed
    _installed = host


def installed() -> Host | None:
    """The installed host, if any (never builds one)."""
    return _installed


def current() -> Host:
    """This process's host: the installed one, or one from the environment on first use."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = from_environment()
        return _installed


def of_session(session: Session) -> Host | None:
    """The host a session was made by (None for sessions made elsewhere, e.g. the API's own)."""
    found = session.info.get("aduan.host")
    return found if isinstance(found, Host) else None
