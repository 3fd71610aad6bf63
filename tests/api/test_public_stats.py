"""The city's public figures: no sign-in, nothing of confidential complaints or reporters, equal to /stats.

The seed's story is reproduced by a dataset shaped like Batam's: 26 complaints dispositioned in 2023 of
which 25 were completed (96.2 %) with first follow-ups after 1.0 or 2.8 working days (13 each: mean 1.9),
and 10 in May 2024 (nine after 1.0 day, one after 2.0: mean 1.1); confidential complaints of the same
periods, slow and unfinished, must change none of it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.resources.places import PUBLIC_FIGURES
from engine.cases.case import Case, new_tracking_id
from engine.processes.registry import DEFAULT_KEY, active_version
from tests.api.conftest import API, Auth
from tests.engine.conftest import VERIFIER, Desk

EXTRA = ("hotspots", "definitions", "computed_at")


@pytest.fixture(autouse=True)
def no_cache(app: Flask) -> None:
    PUBLIC_FIGURES.items.clear()
    app.config["PUBLIC_STATS_TTL"] = 0


def public(client: FlaskClient, **query: str) -> dict[str, Any]:
    answer = client.get(f"{API}/public/stats", query_string=query)
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def kpi_case(session: Session, created: date, followup: float, closed: bool, confidential: bool = False) -> None:
    """A dispositioned case carrying only the KPI facts /stats reads (its workflow is not needed here)."""
    version = active_version(session, DEFAULT_KEY)
    assert version is not None
    at = datetime(created.year, created.month, created.day, 3, tzinfo=UTC)
    session.add(
        Case(
            tracking_id=new_tracking_id(), reporter_token_hash="x", process_version_id=version.id,
            serializer_version="1", state=b"", status="closed" if closed else "in_progress", desk="batam.diskominfo",
            agency="batam.dlh", category="kebersihan", title="t", body="b", confidential=confidential,
            created_on=created, verified_at=at, dispositioned_at=at, disposition_count=1,
            followup_working_days=followup, reporter={"name": "Rahasia Sekali", "email": "rahasia@example.id"},
        )
    )  # fmt: skip


def test_a_dataset_shaped_like_batam_gives_the_seeds_figures(
    client: FlaskClient, session: Session, demo_directory: None
) -> None:
    for n in range(26):
        kpi_case(session, date(2023, 1 + n % 12, 10), 1.0 if n % 2 else 2.8, closed=n != 0)
    for n in range(10):
        kpi_case(session, date(2024, 5, 2 + n), 2.0 if n == 0 else 1.0, closed=True)
    for year, month in ((2023, 6), (2024, 5)):
        kpi_case(session, date(year, month, 20), 30.0, closed=False, confidential=True)
    session.commit()
    year_2023 = public(client, **{"from": "2023-01-01", "to": "2023-12-31"})
    may_2024 = public(client, **{"from": "2024-05-01", "to": "2024-05-31"})
    assert year_2023["followup_speed"]["mean"] == 1.9
    assert round(year_2023["completion_rate"] * 100, 1) == 96.2
    assert may_2024["followup_speed"]["mean"] == 1.1 and may_2024["completion_rate"] == 1.0
    assert "Rahasia" not in str(year_2023) and "rahasia@" not in str(may_2024)


def test_public_figures_equal_stats_over_the_same_non_confidential_cases(
    client: FlaskClient, auth: Auth, session: Session, demo_directory: None
) -> None:
    for n, category in enumerate(("kebersihan", "parkir", "kesehatan")):
        desk = Desk(session)
        desk.submit(category=category, anonymous=n == 1, reporter={"name": f"Warga {n}", "email": f"w{n}@example.id"})
        if n < 2:
            desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    staff_view = client.get(f"{API}/stats", headers=auth("auditor")).json
    secret = Desk(session)
    secret.submit(title="Rahasia", body="Laporan rahasia tentang pungutan liar.", confidential=True)
    secret.do(VERIFIER, "verify", decision="accept", agency="batam.dishub")
    figures = public(client)
    assert {k: v for k, v in figures.items() if k not in EXTRA} == staff_view
    assert all(row["agency"] != "batam.dishub" for row in figures["by_agency"])
    text = str(figures)
    assert "Warga" not in text and "example.id" not in text and secret.tracking_id not in text
    assert set(figures["definitions"]) >= {"followup_speed", "completion_rate", "on_time_followup_rate"}


def test_public_figures_are_cached_for_a_few_minutes(app: Flask, client: FlaskClient, session: Session,
                                                     demo_directory: None) -> None:  # fmt: skip
    app.config["PUBLIC_STATS_TTL"] = 300
    first = public(client)
    Desk(session).submit(category="parkir")
    assert public(client) == first  # the same answer until the cache expires
    app.config["PUBLIC_STATS_TTL"] = 0
    assert public(client)["counts"]["total"] == first["counts"]["total"] + 1
