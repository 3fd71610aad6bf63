"""`/stats` over random cases equals a brute-force recomputation in Python, and PostgreSQL's one-query answer
(`GROUPING SETS`) equals its query-per-grouping answer: every count, rate, mean and median (exact), for every
grouping, under agency-subtree, period and public filters.

The cases are written straight into the tables (not through the workflow), with durations that are
multiples of 1/16 day so that sums, means and medians are exact in binary floating point on both sides;
many durations repeat, so medians fall on ties too.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.tasks import TaskRecord
from engine.db import table
from engine.processes import registry as processes
from engine.stats import figures as stats

NOW = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
AGENCIES = (None, "batam.dlh", "batam.dinkes", "batam.dinkes.puskesmas-sekupang", "batam.dinkesx", "batam.dishub")
STATUSES = ("submitted", "needs_info", "dispositioned", "in_progress", "awaiting_reporter", "closed", "archived")
FINAL = ("closed", "archived")
Row = dict[str, Any]


def _maybe(rng: random.Random, value: Any, chance: float = 0.7) -> Any:
    return value if rng.random() < chance else None


def _duration(rng: random.Random) -> float:
    return rng.randint(0, 40) / 16  # 0 .. 2.5 working days in sixteenths: exact, and often equal


def random_case(rng: random.Random, n: int, version_id: int) -> Row:
    created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 180 * 24 * 60))
    verified = _maybe(rng, created + timedelta(hours=rng.randint(1, 90)))
    due = _maybe(rng, created + timedelta(days=rng.randint(1, 20)), 0.8) if verified else None
    followed = _maybe(rng, created + timedelta(days=rng.randint(1, 25)), 0.6) if verified else None
    return {
        "tracking_id": f"RND-{n:06d}", "reporter_token_hash": "0" * 64, "process_version_id": version_id,
        "serializer_version": "test", "state": b"", "version": 1, "status": rng.choice(STATUSES),
        "kind": rng.choice(("complaint", "aspiration", "information_request")),
        "category": rng.choice((None, "kebersihan", "parkir", "kesehatan")), "agency": rng.choice(AGENCIES),
        "desk": rng.choice(("batam.diskominfo", "karimun.desk")), "title": "t", "body": "b",
        "channel": rng.choice(("web", "sms", "counter")), "anonymous": False, "confidential": rng.random() < 0.2,
        "escalated": rng.random() < 0.1, "escalation_level": 0, "created_at": created, "updated_at": created,
        "created_on": created.date(), "event_seq": 0, "event_hash": "",
        "area": rng.choice((None, "batam.sekupang", "batam.batu-ampar")),
        "verified_at": verified, "dispositioned_at": verified, "first_follow_up_due_at": due,
        "first_follow_up_at": followed, "followup_working_days": _duration(rng) if followed else None,
        "verification_working_days": _maybe(rng, _duration(rng), 0.9),
        "disposition_count": rng.randint(0, 2) if verified else 0, "rerouted_count": rng.randint(0, 1),
        "rating": _maybe(rng, rng.randint(1, 5), 0.4),
    }  # fmt: skip


@pytest.fixture
def cases(session: Session, demo_directory: None) -> list[Row]:
    """300 random cases (seeded), a third of them with a task still open, half of those past due at NOW."""
    version = processes.active_version(session, processes.DEFAULT_KEY)
    assert version is not None
    rng = random.Random(14)
    rows = [random_case(rng, n, version.id) for n in range(300)]
    ids = session.execute(
        sa.insert(table(Case)).returning(table(Case).c.id, sort_by_parameter_order=True), rows
    ).scalars()
    tasks = []
    for case_id, row in zip(ids, rows, strict=True):
        row["id"] = case_id
        if rng.random() < 0.33:
            due = NOW + timedelta(hours=rng.choice((-30, -1, 2, 40)))
            task = {"id": f"t-{case_id}", "case_id": case_id, "name": "respond", "title": "t", "role": "officer"}
            tasks.append({**task, "agency": row["agency"], "due_at": due, "form": "", "state": "ready"})
            row["overdue"] = due < NOW
    session.execute(sa.insert(table(TaskRecord)), tasks)
    session.commit()
    return rows


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def brute_force(rows: list[Row], group: str | None) -> dict[str, Any]:
    """The raw figures of `rows` as the README's "KPIs" define them, computed one case at a time."""

    def aware(value: datetime | None) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)

    followed = [r["followup_working_days"] for r in rows if r["followup_working_days"] is not None]
    verified = [
        r["verification_working_days"] for r in rows if r["verified_at"] and r["verification_working_days"] is not None
    ]
    due = [(aware(r["first_follow_up_at"]), aware(r["first_follow_up_due_at"])) for r in rows]
    ratings = [r["rating"] for r in rows if r["rating"] is not None]
    open_rows = [r for r in rows if r["status"] not in FINAL]
    raw = {
        "cases": len(rows),
        "dispositioned": sum(1 for r in rows if r["verified_at"]),
        "completed": sum(1 for r in rows if r["verified_at"] and r["status"] == "closed"),
        "followed_up": len(followed), "followup_mean": _mean(followed), "followup_median": _median(followed),
        "on_time": sum(1 for f, d in due if f and d and f <= d),
        "followup_decided": sum(1 for f, d in due if d and (f or d < NOW)),
        "verified": len(verified), "verification_mean": _mean(verified), "verification_median": _median(verified),
        "dispositions": sum(r["disposition_count"] for r in rows), "rerouted": sum(r["rerouted_count"] for r in rows),
        "rating_mean": _mean(ratings), "rated": len(ratings), "backlog": len(open_rows),
        "overdue": sum(1 for r in open_rows if r.get("overdue")), "escalated": sum(1 for r in rows if r["escalated"]),
    }  # fmt: skip
    return stats._row(group, {**raw, "key": rows[0].get(group or "") if group else None})


def expected(rows: list[Row]) -> dict[str, Any]:
    """The whole `/stats` answer, brute force."""
    answer = brute_force(rows, None)
    answer["counts"]["by_status"] = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    for group in stats.GROUPS:

        def key(row: Row, group: str = group) -> str | None:
            return row["created_on"].strftime("%Y-%m") if group == "month" else row[group]

        keys = sorted({key(r) for r in rows}, key=lambda k: (k is not None, k or ""))
        answer[f"by_{group}"] = [brute_force([{**r, group: key(r)} for r in rows if key(r) == k], group) for k in keys]
    answer["ranking"] = stats.ranking(answer["by_agency"])
    return answer


def in_subtree(root: str) -> Callable[[Row], bool]:
    return lambda r: r["agency"] is not None and (r["agency"] == root or r["agency"].startswith(root + "."))


FILTERS: dict[str, tuple[Callable[[Session], sa.ColumnElement[bool]], Callable[[Row], bool]]] = {
    "everything": (lambda s: stats.where(s, Actor("a", "auditor"), stats.Query()), lambda r: True),
    "agency subtree": (
        lambda s: stats.where(s, Actor("a", "auditor"), stats.Query("batam.dinkes")),
        in_subtree("batam.dinkes"),
    ),
    "period and subtree": (
        lambda s: stats.where(s, Actor("a", "auditor"), stats.Query("batam", date(2026, 2, 10), date(2026, 4, 30))),
        lambda r: in_subtree("batam")(r) and date(2026, 2, 10) <= r["created_on"] <= date(2026, 4, 30),
    ),
    "public": (lambda s: stats.public_where(stats.Query()), lambda r: not r["confidential"]),
    "nothing": (lambda s: stats.where(s, Actor("a", "auditor"), stats.Query("nowhere")), lambda r: False),
}


@pytest.mark.parametrize("name", FILTERS)
def test_stats_equal_a_brute_force_recomputation(session: Session, cases: list[Row], name: str) -> None:
    condition, keep = FILTERS[name]
    chosen = [r for r in cases if keep(r)]
    assert stats.stats(session, condition(session), NOW) == expected(chosen)


@pytest.mark.parametrize("name", FILTERS)
def test_the_one_query_answer_equals_one_query_per_grouping(session: Session, cases: list[Row], name: str) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite answers with one query per grouping already")
    condition = FILTERS[name][0](session)
    slow = stats.figures(session, condition, NOW)[0]
    slow["counts"]["by_status"] = stats.by_status(session, condition)
    for group in stats.GROUPS:
        slow[f"by_{group}"] = stats.figures(session, condition, NOW, group)
    slow["ranking"] = stats.ranking(slow["by_agency"])
    assert stats.stats(session, condition, NOW) == slow
