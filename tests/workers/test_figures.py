"""The scheduler keeps the figures' snapshot current: a refresh when there is none, when it is older than
STATS_REFRESH_INTERVAL, or when more than STATS_REFRESH_CHANGES case writes were logged; never on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from api import host_of
from api.extensions import db
from engine.db import utcnow
from engine.stats import rollup
from tests.conftest import seeded
from tests.engine.conftest import VERIFIER, Desk
from tests.workers.conftest import make_app
from workers import figures


@pytest.fixture
def app(backend: str) -> Iterator[Flask]:
    app = make_app(backend, STATS_REFRESH_INTERVAL=600)
    with seeded(app):
        yield app


def _snapshots() -> list[int]:
    db.session.remove()
    return list(db.session.scalars(sa.select(rollup.StatsSnapshot.id).order_by(rollup.StatsSnapshot.id)))


def test_a_refresh_when_due_and_only_then(app: Flask) -> None:
    host = host_of(app)
    if db.engine.dialect.name != "postgresql":
        assert figures.refresh_if_due(host) is None and _snapshots() == []
        return
    first = figures.refresh_if_due(host)  # none yet
    assert first is not None and _snapshots() == [first]
    assert figures.refresh_if_due(host) is None  # fresh, nothing logged since
    desk = Desk(db.session())
    desk.submit()
    logged = db.session.scalar(sa.select(sa.func.count()).select_from(rollup.StatsDelta))
    app.config["STATS_REFRESH_CHANGES"] = logged  # the log holds that many entries more than the snapshot saw
    assert figures.refresh_if_due(host) is None
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")  # one more
    second = figures.refresh_if_due(host)
    assert second is not None and _snapshots() == [first, second]
    old = utcnow() - timedelta(seconds=601)
    db.session.execute(sa.update(rollup.StatsSnapshot).values(taken_at=old))
    db.session.commit()
    assert figures.refresh_if_due(host) is not None  # too old


def test_no_refresh_when_turned_off(backend: str) -> None:
    app = make_app(backend, STATS_REFRESH_INTERVAL=0)
    with seeded(app):
        assert figures.refresh_if_due(host_of(app)) is None and _snapshots() == []
