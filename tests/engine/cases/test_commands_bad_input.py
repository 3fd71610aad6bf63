"""Bad input to each command is a clear error and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from engine.cases import lifecycle
from engine.errors import Conflict, InvalidData, NotFound
from tests.engine.conftest import DISHUB, DLH, VERIFIER, Desk


def snapshot(desk: Desk) -> tuple[Any, ...]:
    case = desk.case
    return (case.version, case.status, case.state, case.event_seq, len(desk.events()), sorted(desk.open_tasks()))


def test_unknown_task_is_not_found(desk: Desk, clock: object) -> None:
    desk.submit()
    before = snapshot(desk)
    with pytest.raises(NotFound):
        lifecycle.complete_task(desk.session, VERIFIER, "00000000-0000-0000-0000-000000000000", {"decision": "accept"})
    with pytest.raises(NotFound):
        lifecycle.complete_task(desk.session, VERIFIER, "x" * 5000, {})
    assert snapshot(desk) == before


def test_another_agency_cannot_see_or_complete_the_task(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    before = snapshot(desk)
    with pytest.raises(NotFound):
        desk.do(DISHUB, "respond", decision="respond", message="bukan urusan kami")
    with pytest.raises(NotFound):
        desk.do(VERIFIER, "respond", decision="respond", message="wrong role")
    assert snapshot(desk) == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "decision"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "accept"}, "agency"),
        ({"decision": "accept", "agency": "batam.nowhere"}, "agency"),
        ({"decision": "reject"}, "reason"),
        ({"decision": "accept", "agency": "batam.dlh", "status": "closed"}, "data"),
        ({"decision": "accept", "agency": "batam.dlh", "anonymous": "yes"}, "anonymous"),
        ({"decision": "need_info", "reason": "x" * 2001}, "reason"),
    ],
)
def test_invalid_verify_data_names_the_field_and_changes_nothing(
    desk: Desk, clock: object, data: dict[str, Any], field: str
) -> None:
    desk.submit()
    before = snapshot(desk)
    with pytest.raises(InvalidData) as error:
        desk.do(VERIFIER, "verify", **data)
    assert field in error.value.errors
    assert snapshot(desk) == before


def test_delegating_outside_the_agency_is_invalid(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    with pytest.raises(InvalidData) as error:
        desk.do(DLH, "respond", decision="delegate", message="ke dishub", unit="batam.dishub")
    assert "unit" in error.value.errors


def test_task_data_must_be_an_object(desk: Desk, clock: object) -> None:
    desk.submit()
    with pytest.raises(InvalidData):
        lifecycle.complete_task(desk.session, VERIFIER, desk.task("verify").id, ["accept"])


def test_a_reply_nothing_waits_for_is_a_conflict(desk: Desk, clock: object) -> None:
    desk.submit()
    before = snapshot(desk)
    with pytest.raises(Conflict, match="not waiting for a reply"):
        desk.reply(message="halo?")
    assert snapshot(desk) == before


@pytest.mark.parametrize(
    ("reply", "field"),
    [
        ({"message": ""}, "message"),
        ({"message": "ok", "rating": 9}, "rating"),
        ({"message": "ok", "satisfied": "yes"}, "satisfied"),
        ({"message": "ok", "status": "closed"}, "status"),
    ],
)
def test_an_invalid_reply_names_the_field(desk: Desk, clock: object, reply: dict[str, Any], field: str) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    desk.do(DLH, "respond", decision="respond", message="Sudah")
    before = snapshot(desk)
    with pytest.raises(InvalidData) as error:
        desk.reply(**reply)
    assert field in error.value.errors
    assert snapshot(desk) == before


def test_completing_a_task_twice_is_a_conflict(desk: Desk, clock: object) -> None:
    desk.submit()
    task_id = desk.task("verify").id
    desk.do(VERIFIER, "verify", decision="reject", reason="spam")
    before = snapshot(desk)
    with pytest.raises(Conflict, match="no longer ready"):
        lifecycle.complete_task(desk.session, VERIFIER, task_id, {"decision": "reject", "reason": "spam"})
    assert snapshot(desk) == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"title": " "}, "title"), ({"kind": "rumor"}, "kind"), ({"agency": "jakarta.x"}, "agency")],
)
def test_an_invalid_submission_stores_nothing(desk: Desk, fields: dict[str, Any], field: str) -> None:
    from engine.cases.case import Case

    with pytest.raises(InvalidData) as error:
        desk.submit(**fields)
    assert field in error.value.errors
    assert desk.session.query(Case).count() == 0
