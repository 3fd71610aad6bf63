"""`GET /stats`: KPI figures equal hand-computed values on a crafted set of cases.

Nine cases are driven through the real engine with the clock moved between commands; their durations span
weekends, Christmas 2026 (Thu 24 Dec collective leave, Fri 25 Dec holiday) and New Year. Working time is
counted in fractions of local (WIB) days, so 3 hours = 0.125. `/stats` is asked on Monday 4 Jan 2027 09:00
WIB. Every expected figure below is worked out by hand in the comments.

    case  agency  category    kind         submitted        verification (HK)     first follow-up (HK) status now
    A     dlh     kebersihan  complaint    Mon 21 Dec 09:00 → Tue 22 09:00 = 1.0  → Mon 28 09:00 = 2.0  closed, rated 5
           (Tue 22 0.625 + Wed 23 1 + [24-27 Dec off] + Mon 28 0.375; due Thu 31 → on time)
    B     dishub  parkir      complaint    Fri 18 Dec 15:00 → Mon 21 06:00 = 0.625 → Thu 31 12:00 = 6.25 in_progress
           (Fri 0.375 + Mon 0.25; then Mon 0.75 + Tue, Wed, Mon 28, Tue, Wed = 5 + Thu 0.5; due Wed 30 → late)
    C     dlh     lainnya     aspiration   Mon 30 Nov 09:00, need_info Tue 1 Dec 09:00 (1.0), reply Fri 4 Dec 09:00,
                                           → dishub Mon 7 Dec 09:00 (+ Fri 0.625 + Mon 0.375) = 2.0; dishub says
                                           "not ours" Tue 8 09:00; → dlh Tue 8 15:00; follow-up Wed 9 09:00 = 0.75
                                           (due Tue 15 → on time); silence → closed no_reply     closed, no rating
    D     —       kebersihan  complaint    Tue 22 Dec, rejected Wed 23                                    archived
    E     dlh     kebersihan  complaint    Mon 21 Dec 09:00 → Mon 21 12:00 = 0.125; no follow-up, due Wed 30 → late,
                                           respond overdue                                                dispositioned
    F     dishub  parkir      complaint    Wed 30 Dec 09:00 → Wed 30 12:00 = 0.125; due Fri 8 Jan → not decided yet
    G     —       kebersihan  complaint    Tue 22 Dec 09:00, never verified: verify due Tue 29 → overdue   submitted
    H     dlh     kebersihan  complaint    Wed 2 Dec 09:00 → Wed 2 18:00 = 0.375 → Fri 4 Dec 12:00 = 1.75
                                           (Wed 0.25 + Thu 1 + Fri 0.5; due Wed 9 → on time)            closed, rated 3
    I     —       kesehatan   info request Fri 1 Jan 2027 00:30 WIB (Thu 31 Dec 17:30 UTC): a January case submitted
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.extensions import db
from engine.stats import rollup
from tests.api.conftest import API, Auth
from tests.engine.conftest import DISHUB, DLH, VERIFIER, Desk


def wib(m: int, d: int, hh: int = 9, mm: int = 0, y: int = 2026) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - timedelta(hours=7)


NOW = wib(1, 4, y=2027)  # Monday 4 January 2027, 09:00 WIB


def accept(desk: Desk, agency: str) -> None:
    desk.do(VERIFIER, "verify", decision="accept", agency=agency)


def respond(desk: Desk, actor: Any, final: bool = True) -> None:
    desk.do(actor, "respond", decision="respond", message="Ditindaklanjuti", final=final)


@pytest.fixture
def crafted(session: Session, client: FlaskClient) -> Iterator[dict[str, str]]:
    """Cases A…I of the module docstring; yields {letter: tracking id} with the clock at NOW."""
    ids: dict[str, str] = {}
    with time_machine.travel(wib(11, 30), tick=False) as clock:

        def case(letter: str, at: datetime, **fields: Any) -> Desk:
            clock.move_to(at)
            desk = Desk(session)
            desk.submit(**fields)
            ids[letter] = desk.tracking_id
            return desk

        def at(moment: datetime) -> None:
            clock.move_to(moment)

        # C first and alone: its reply timer is fired while no other case exists
        c = case("C", wib(11, 30), category="lainnya", kind="aspiration")
        at(wib(12, 1))
        c.do(VERIFIER, "verify", decision="need_info", reason="Lokasi?")
        at(wib(12, 4))
        c.reply(message="Jl. Sudirman")
        at(wib(12, 7))
        accept(c, "batam.dishub")
        at(wib(12, 8))
        c.do(DISHUB, "respond", decision="not_authority", message="Wewenang DLH")
        at(wib(12, 8, 15))
        accept(c, "batam.dlh")
        at(wib(12, 9))
        respond(c, DLH)
        at(wib(12, 28))  # the 10 HK reply window ended Wed 23 Dec
        assert c.run_due() == 1 and c.case.close_reason == "no_reply"

        a = case("A", wib(12, 21), category="kebersihan")
        at(wib(12, 22))
        accept(a, "batam.dlh")
        at(wib(12, 28))
        respond(a, DLH)
        at(wib(12, 29))
        a.reply(message="Terima kasih", satisfied=True, rating=5)

        b = case("B", wib(12, 18, 15), category="parkir")
        at(wib(12, 21, 6))
        accept(b, "batam.dishub")
        at(wib(12, 31, 12))
        respond(b, DISHUB, final=False)

        d = case("D", wib(12, 22), category="kebersihan")
        at(wib(12, 23))
        d.do(VERIFIER, "verify", decision="reject", reason="Bukan pelayanan publik")

        e = case("E", wib(12, 21), category="kebersihan")
        at(wib(12, 21, 12))
        accept(e, "batam.dlh")

        f = case("F", wib(12, 30), category="parkir")
        at(wib(12, 30, 12))
        accept(f, "batam.dishub")

        case("G", wib(12, 22), category="kebersihan")

        h = case("H", wib(12, 2), category="kebersihan")
        at(wib(12, 2, 18))
        accept(h, "batam.dlh")
        at(wib(12, 4, 12))
        respond(h, DLH)
        at(wib(12, 7))
        h.reply(message="Oke", satisfied=True, rating=3)

        case("I", wib(1, 1, 0, 30, y=2027), category="kesehatan", kind="information_request")
        at(NOW)
        yield ids


def stats(client: FlaskClient, auth: Auth, user: str = "auditor", **query: str) -> dict[str, Any]:
    answer = client.get(f"{API}/stats", query_string=query, headers=auth(user))
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def figures(row: dict[str, Any]) -> dict[str, Any]:
    """The KPI part of an answer or a group row (without the group key and the by_* lists)."""
    keys = ("followup_speed", "completion_rate", "on_time_followup_rate", "verification_time", "rerouting_rate")
    return {k: row[k] for k in (*keys, "satisfaction")}


def counts(**values: int) -> dict[str, int]:
    names = (
        "total", "dispositioned", "completed", "followed_up", "on_time", "followup_decided", "verified",
        "dispositions", "rerouted", "backlog", "overdue", "escalated",
    )  # fmt: skip
    return {name: values.get(name, 0) for name in names}


# dlh: A, C, E, H. Dispositioned 4, closed A C H → 0.75. Follow-ups 2.0, 0.75, 1.75: mean 1.5, median 1.75.
# On time A C H, late E → 3/4. Verification 1.0, 2.0, 0.125, 0.375: mean 0.875, median (0.375+1.0)/2.
# Dispositions 1+2+1+1 = 5 (C's re-routing counts where the case is now) → 1/5. Ratings 5, 3.
DLH_FIGURES = {
    "followup_speed": {"mean": 1.5, "median": 1.75},
    "completion_rate": 0.75,
    "on_time_followup_rate": 0.75,
    "verification_time": {"mean": 0.875, "median": 0.6875},
    "rerouting_rate": 0.2,
    "satisfaction": {"mean": 4.0, "count": 2},
}
DLH_COUNTS = counts(
    total=4, dispositioned=4, completed=3, followed_up=3, on_time=3, followup_decided=4, verified=4,
    dispositions=5, rerouted=1, backlog=1, overdue=1,
)  # fmt: skip
# dishub: B, F. Nothing closed → 0. B's 6.25 is the only follow-up (late); F is not due yet → 0/1.
# Verification 0.625, 0.125 → mean and median 0.375.
DISHUB_FIGURES = {
    "followup_speed": {"mean": 6.25, "median": 6.25},
    "completion_rate": 0.0,
    "on_time_followup_rate": 0.0,
    "verification_time": {"mean": 0.375, "median": 0.375},
    "rerouting_rate": 0.0,
    "satisfaction": {"mean": None, "count": 0},
}
DISHUB_COUNTS = counts(
    total=2, dispositioned=2, followed_up=1, followup_decided=1, verified=2, dispositions=2, backlog=2
)
NOTHING = {
    "followup_speed": {"mean": None, "median": None},
    "completion_rate": None,
    "on_time_followup_rate": None,
    "verification_time": {"mean": None, "median": None},
    "rerouting_rate": None,
    "satisfaction": {"mean": None, "count": 0},
}
# December (A B D E F G H) = complaints: dispositioned A B E F H, closed A H → 2/5. Follow-ups 2.0, 6.25, 1.75:
# mean 10/3, median 2.0. On time A H, late B E → 2/4. Verification 1.0 .625 .125 .125 .375: mean 2.25/5 = 0.45,
# median 0.375. Backlog B E F G, overdue E G.
DECEMBER_FIGURES = {
    "followup_speed": {"mean": 3.3333, "median": 2.0},
    "completion_rate": 0.4,
    "on_time_followup_rate": 0.5,
    "verification_time": {"mean": 0.45, "median": 0.375},
    "rerouting_rate": 0.0,
    "satisfaction": {"mean": 4.0, "count": 2},
}
# November (C) = aspirations: one disposition of two re-routed.
NOVEMBER_FIGURES = {
    "followup_speed": {"mean": 0.75, "median": 0.75},
    "completion_rate": 1.0,
    "on_time_followup_rate": 1.0,
    "verification_time": {"mean": 2.0, "median": 2.0},
    "rerouting_rate": 0.5,
    "satisfaction": {"mean": None, "count": 0},
}


def test_overall_figures_equal_the_hand_computed_values(client: FlaskClient, auth: Auth, crafted: Any) -> None:
    answer = stats(client, auth)
    # Dispositioned A B C E F H (6); closed A C H → 3/6. Follow-ups 2.0, 6.25, 0.75, 1.75: mean 10.75/4,
    # median (1.75+2.0)/2. On time A C H of decided A B C E H → 3/5. Verification 1.0 .625 2.0 .125 .125 .375:
    # mean 4.25/6, median (.375+.625)/2. Dispositions 7 (C twice), re-routed 1 → 1/7. Ratings 5, 3.
    assert figures(answer) == {
        "followup_speed": {"mean": 2.6875, "median": 1.875},
        "completion_rate": 0.5,
        "on_time_followup_rate": 0.6,
        "verification_time": {"mean": 0.7083, "median": 0.5},
        "rerouting_rate": 0.1429,
        "satisfaction": {"mean": 4.0, "count": 2},
    }
    expected = counts(
        total=9, dispositioned=6, completed=3, followed_up=4, on_time=3, followup_decided=5, verified=6,
        dispositions=7, rerouted=1, backlog=5, overdue=2,
    )  # fmt: skip
    by_status = {
        "submitted": 2, "needs_info": 0, "dispositioned": 2, "in_progress": 1, "awaiting_reporter": 0,
        "closed": 3, "archived": 1,
    }  # fmt: skip
    assert answer["counts"] == {**expected, "by_status": by_status}


def test_figures_by_agency_and_the_ranking(client: FlaskClient, auth: Auth, crafted: Any) -> None:
    answer = stats(client, auth)
    rows = {row["agency"]: row for row in answer["by_agency"]}
    assert list(rows) == [None, "batam.dishub", "batam.dlh"]
    assert (figures(rows["batam.dlh"]), rows["batam.dlh"]["counts"]) == (DLH_FIGURES, DLH_COUNTS)
    assert (figures(rows["batam.dishub"]), rows["batam.dishub"]["counts"]) == (DISHUB_FIGURES, DISHUB_COUNTS)
    # D (archived), G and I (submitted) have no agency yet: G's verification is overdue
    assert figures(rows[None]) == NOTHING
    assert rows[None]["counts"] == counts(total=3, backlog=2, overdue=1)
    # score = mean(on-time rate, completion rate): dlh (0.75 + 0.75) / 2, dishub (0 + 0) / 2
    assert answer["ranking"] == [
        {
            "rank": 1, "agency": "batam.dlh", "score": 0.75, "on_time_followup_rate": 0.75, "completion_rate": 0.75,
            "followup_speed_median": 1.75, "cases": 4,
        },
        {
            "rank": 2, "agency": "batam.dishub", "score": 0.0, "on_time_followup_rate": 0.0, "completion_rate": 0.0,
            "followup_speed_median": 6.25, "cases": 2,
        },
    ]  # fmt: skip


def test_figures_by_month_kind_and_category(client: FlaskClient, auth: Auth, crafted: Any) -> None:
    answer = stats(client, auth)
    months = {row["month"]: row for row in answer["by_month"]}
    assert list(months) == ["2026-11", "2026-12", "2027-01"]  # I is a January case in Jakarta
    assert figures(months["2026-11"]) == NOVEMBER_FIGURES
    assert figures(months["2026-12"]) == DECEMBER_FIGURES
    assert (figures(months["2027-01"]), months["2027-01"]["counts"]["backlog"]) == (NOTHING, 1)
    kinds = {row["kind"]: row for row in answer["by_kind"]}
    assert {k: figures(v) for k, v in kinds.items()} == {
        "aspiration": NOVEMBER_FIGURES,
        "complaint": DECEMBER_FIGURES,
        "information_request": NOTHING,
    }
    categories = {row["category"]: row for row in answer["by_category"]}
    assert figures(categories["parkir"]) == DISHUB_FIGURES
    assert figures(categories["lainnya"]) == NOVEMBER_FIGURES
    # kebersihan = A D E G H: closed A H of dispositioned A E H; follow-ups 2.0, 1.75; on time A H, late E;
    # verification 1.0, 0.125, 0.375
    assert figures(categories["kebersihan"]) == {
        "followup_speed": {"mean": 1.875, "median": 1.875},
        "completion_rate": 0.6667,
        "on_time_followup_rate": 0.6667,
        "verification_time": {"mean": 0.5, "median": 0.375},
        "rerouting_rate": 0.0,
        "satisfaction": {"mean": 4.0, "count": 2},
    }


def test_the_period_is_local_dates_of_submission(client: FlaskClient, auth: Auth, crafted: Any) -> None:
    december = stats(client, auth, **{"from": "2026-12-01", "to": "2026-12-31"})
    assert december["counts"]["total"] == 7  # I was submitted on 31 Dec in UTC, 1 Jan in Jakarta
    assert figures(december) == DECEMBER_FIGURES
    assert stats(client, auth, **{"from": "2027-01-01"})["counts"]["total"] == 1
    assert stats(client, auth, to="2026-11-30")["counts"]["total"] == 1


def test_staff_see_the_figures_of_their_own_scope(client: FlaskClient, auth: Auth, crafted: Any) -> None:
    dlh = stats(client, auth, "dlh")
    assert (figures(dlh), dlh["counts"]["total"]) == (DLH_FIGURES, 4)
    assert [row["agency"] for row in dlh["by_agency"]] == ["batam.dlh"]
    narrowed = stats(client, auth, "auditor", agency="batam.dishub")
    assert (figures(narrowed), narrowed["counts"]["total"]) == (DISHUB_FIGURES, 2)
    assert stats(client, auth, "dishub", agency="batam.dlh")["counts"]["total"] == 0  # not widened by asking
    assert stats(client, auth, "verifier")["counts"]["total"] == 9  # the desk's whole jurisdiction


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "to"),
        ({"agency": "batam.nowhere"}, "agency"),
    ],
    ids=["bad-from", "bad-to", "to-before-from", "unknown-agency"],
)
def test_bad_parameters_are_422_naming_the_field(
    client: FlaskClient, auth: Auth, query: dict[str, str], field: str
) -> None:
    answer = client.get(f"{API}/stats", query_string=query, headers=auth("auditor"))
    assert answer.status_code == 422, answer.json
    assert field in answer.json["errors"]  # type: ignore[index]


def test_stats_are_for_staff_only(client: FlaskClient, auth: Auth) -> None:
    assert client.get(f"{API}/stats").status_code == 401
    answer = client.post(f"{API}/complaints", json={"title": "Lampu mati", "body": "Sudah seminggu."})
    assert answer.status_code == 201
    assert stats(client, auth)["counts"]["total"] == 1


def test_an_empty_period_answers_nulls_not_errors(client: FlaskClient, auth: Auth) -> None:
    answer = stats(client, auth)
    assert figures(answer) == NOTHING
    assert (answer["by_agency"], answer["ranking"], answer["counts"]["total"]) == ([], [], 0)


@pytest.mark.parametrize("days", [0, -10, 3], ids=["now", "ten-days-before", "three-days-after"])
def test_an_auditor_s_figures_from_the_snapshot_equal_the_live_ones(
    client: FlaskClient, auth: Auth, crafted: Any, session: Session, days: int
) -> None:
    """PostgreSQL: the whole figures of an auditor come from the snapshot (`engine.stats.rollup`) once there
    is one, whenever it was taken: deadlines passed between its moment and now are counted from the clock."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the figures' snapshot is PostgreSQL's")
    computed = stats(client, auth)
    assert rollup.refresh(db.engine, now=NOW + timedelta(days=days)) is not None
    assert rollup.answer(db.session(), "all", NOW) is not None
    db.session.remove()
    assert stats(client, auth) == computed
    assert stats(client, auth, "dlh")["counts"]["total"] == 4  # other scopes: still live
