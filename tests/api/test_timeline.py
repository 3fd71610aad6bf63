"""A case's timeline and history export: events with actor, role, task, data changed, elements passed and
deadlines met or missed; auditors' reads; the chain's first broken link."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from api.extensions import db
from engine.audit import chain as audit
from engine.cases.case import Case
from tests.api.conftest import API, Auth
from tests.conftest import append_only_suspended
from tests.engine.conftest import DLH, VERIFIER, Desk


def wib(m: int, d: int, hh: int = 9) -> datetime:
    return datetime(2026, m, d, hh, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
def case(session: Session, client: FlaskClient) -> Iterator[str]:
    """Submitted Mon 30 Nov; verified Tue 1 Dec (due Thu 3: met); answered Wed 9 Dec (due Tue 8: missed)."""
    with time_machine.travel(wib(11, 30), tick=False) as clock:
        desk = Desk(session)
        desk.submit(category="kebersihan")
        clock.move_to(wib(12, 1))
        desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
        clock.move_to(wib(12, 9))
        desk.do(DLH, "respond", decision="respond", message="Sudah diangkut", final=True)
        clock.move_to(wib(12, 9, 10))
        yield desk.tracking_id


def get(client: FlaskClient, auth: Auth, path: str, user: str | None = "dlh", **query: str) -> Any:
    return client.get(f"{API}{path}", query_string=query, headers=auth(user) if user else {})


def timeline(client: FlaskClient, auth: Auth, tracking_id: str, user: str = "dlh") -> dict[str, Any]:
    answer = get(client, auth, f"/complaints/{tracking_id}/timeline", user)
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[no-any-return]


def test_the_timeline_shows_who_did_what_and_which_deadlines_were_met(
    client: FlaskClient, auth: Auth, case: str
) -> None:
    body = timeline(client, auth, case)
    assert body["chain"] == {"valid": True, "events": 3, "broken": None}
    events = body["entries"]
    assert [(e["seq"], e["type"], e["actor"], e["actor_role"], e["task"]) for e in events] == [
        (1, "submitted", "guest", "reporter", None),
        (2, "task_completed", "verifier", "verifier", "verify"),
        (3, "task_completed", "dlh", "officer", "respond"),
    ]
    verify, respond = events[1], events[2]
    assert verify["deadline"] == "met" and respond["deadline"] == "missed"
    assert verify["changes"]["status"] == ["submitted", "dispositioned"]
    assert verify["data"]["input"] == {"decision": "accept", "agency": "batam.dlh"}
    assert [t["name"] for t in verify["opened"]] == ["respond"]
    assert "verify" in verify["elements"] and "record_follow_up" in respond["elements"]
    assert body["elements"] == [el for e in events for el in e["elements"]]
    assert respond["data"]["follow_ups"][0]["message"] == "Sudah diangkut"
    assert [(t["name"], t["state"], t["deadline"], t["completed_by"]) for t in body["tasks"]] == [
        ("verify", "completed", "met", "verifier"),
        ("respond", "completed", "missed", "dlh"),
    ]
    assert body["tasks"][1]["due_at"] == "2026-12-08T16:59:59+00:00"  # Tue 8 Dec 23:59:59 WIB
    assert body["process"] == {"key": "complaint", "version": 1}
    assert body["migrations"] == []


def test_auditors_see_every_read_of_the_case_including_their_own(client: FlaskClient, auth: Auth, case: str) -> None:
    assert get(client, auth, f"/complaints/{case}", "auditor").status_code == 200
    body = timeline(client, auth, case, "auditor")
    reads = [e for e in body["entries"] if e["kind"] == "read"]
    assert [(r["actor"], r["actor_role"], r["what"]) for r in reads] == [
        ("auditor", "auditor", "complaints.ComplaintItem"),
        ("auditor", "auditor", "timeline.Timeline"),
    ]
    assert body["entries"][-1]["kind"] == "read"  # in time order, after the events
    assert not [e for e in timeline(client, auth, case, "dlh")["entries"] if e["kind"] == "read"]


@pytest.mark.parametrize(("user", "status"), [("dishub", 404), (None, 401)], ids=["other-agency-officer", "anonymous"])
def test_the_timeline_is_for_staff_in_scope(
    client: FlaskClient, auth: Auth, case: str, user: str | None, status: int
) -> None:
    assert get(client, auth, f"/complaints/{case}/timeline", user).status_code == status
    assert get(client, auth, f"/complaints/{case}/history/export", user).status_code == status


def test_history_export_as_json_is_the_verbatim_chain(client: FlaskClient, auth: Auth, case: str) -> None:
    answer = get(client, auth, f"/complaints/{case}/history/export", "auditor", format="json")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{case}-history.json"'
    document = json.loads(answer.data)
    assert (document["tracking_id"], document["exported_by"], document["chain"]) == (
        case,
        "auditor",
        {"valid": True, "broken": None},
    )
    assert [e["seq"] for e in document["events"]] == [1, 2, 3]
    assert document["events"][1]["prev_hash"] == document["events"][0]["hash"]


def test_history_export_as_csv_has_one_row_per_event(client: FlaskClient, auth: Auth, case: str) -> None:
    answer = get(client, auth, f"/complaints/{case}/history/export", "dlh", format="csv")
    assert (answer.status_code, answer.mimetype) == (200, "text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [(r["seq"], r["type"], r["status_from"], r["status_to"]) for r in rows] == [
        ("1", "submitted", "", ""),
        ("2", "task_completed", "submitted", "dispositioned"),
        ("3", "task_completed", "dispositioned", "awaiting_reporter"),
    ]
    assert json.loads(rows[1]["data"])["input"]["agency"] == "batam.dlh"
    assert rows[2]["prev_hash"] == rows[1]["hash"]


def test_a_bad_export_format_is_422(client: FlaskClient, auth: Auth, case: str) -> None:
    answer = get(client, auth, f"/complaints/{case}/history/export", "dlh", format="xlsx")
    assert answer.status_code == 422 and "format" in answer.json["errors"]


def tamper(tracking_id: str) -> None:
    """Change event 2's actor behind the application's back (the triggers are bypassed, as an owner could)."""
    session = db.session()
    case_id = sa.select(Case.id).where(Case.tracking_id == tracking_id).scalar_subquery()
    with append_only_suspended(session):
        session.execute(
            sa.update(audit.Event).where(audit.Event.case_id == case_id, audit.Event.seq == 2).values(actor="x")
        )
    session.commit()


def test_history_and_timeline_report_the_first_broken_link(client: FlaskClient, auth: Auth, case: str) -> None:
    intact = get(client, auth, f"/complaints/{case}/history", "dlh")
    assert intact.headers["X-Chain-Valid"] == "true" and "X-Chain-Broken-Seq" not in intact.headers
    tamper(case)
    broken = get(client, auth, f"/complaints/{case}/history", "dlh")
    assert broken.status_code == 200
    assert (broken.headers["X-Chain-Valid"], broken.headers["X-Chain-Broken-Seq"]) == ("false", "2")
    assert broken.headers["X-Chain-Broken-Reason"] == "hash does not match the event's content"
    chain = timeline(client, auth, case)["chain"]
    assert chain == {
        "valid": False,
        "events": 3,
        "broken": {"seq": 2, "reason": "hash does not match the event's content"},
    }
