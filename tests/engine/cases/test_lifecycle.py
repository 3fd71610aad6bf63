"""Every path of the default diagram, driven through the engine with the state reloaded between steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from engine.cases.access import Actor
from engine.cases.case import follow_ups
from tests.engine.conftest import DINKES, DISHUB, DLH, DLH_HEAD, PUSKESMAS, VERIFIER, VERIFIER_HEAD, Desk

WIB = timedelta(hours=7)


def wib(y: int, m: int, d: int, hh: int = 23, mm: int = 59, ss: int = 59) -> datetime:
    """A Jakarta wall-clock time as an aware UTC datetime."""
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC) - WIB


def accept(desk: Desk, agency: str = "batam.dlh", **extra: object) -> None:
    desk.do(VERIFIER, "verify", decision="accept", agency=agency, **extra)


def respond(desk: Desk, actor: Actor = DLH, final: bool = True, message: str = "Sampah sudah diangkut.") -> None:
    desk.do(actor, "respond", decision="respond", message=message, final=final)


def test_a_new_complaint_waits_for_verification_within_three_working_days(desk: Desk, clock: object) -> None:
    outcome = desk.submit(category="kebersihan")
    assert outcome.reporter_token and outcome.case.tracking_id.startswith("ADU-")
    case = desk.case
    assert (case.status, case.desk, case.agency) == ("submitted", "batam.diskominfo", None)
    verify = desk.task("verify")
    assert (verify.role, verify.agency, verify.form) == ("verifier", "batam.diskominfo", "verify.schema.json")
    assert verify.due_at == wib(2026, 12, 3)  # Mon + 3 working days, 23:59:59 WIB
    assert case.next_timer_at == wib(2026, 12, 3, 8, 0, 0)  # the reminder on the morning of the deadline


def test_happy_path_accept_respond_satisfied_closes(desk: Desk, clock: object) -> None:
    desk.submit(category="kebersihan")
    accept(desk)
    case = desk.case
    assert (case.status, case.agency) == ("dispositioned", "batam.dlh")
    task = desk.task("respond")
    assert (task.role, task.agency, task.due_at) == ("officer", "batam.dlh", wib(2026, 12, 7))  # 5 HK
    respond(desk)
    assert desk.case.status == "awaiting_reporter"
    assert [f.message for f in follow_ups(desk.session, desk.case)] == ["Sampah sudah diangkut."]
    desk.reply(message="Terima kasih", satisfied=True, rating=5)
    case = desk.case
    assert (case.status, case.close_reason, case.rating) == ("closed", "satisfied", 5)
    assert case.closed_at is not None and case.next_timer_at is None
    assert desk.open_tasks() == {}
    assert [e.type for e in desk.events()] == [
        "submitted",
        "task_completed",
        "task_completed",
        "reporter_replied",
    ]


def test_reject_archives_with_reason(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="reject", reason="Bukan tentang pelayanan publik")
    case = desk.case
    assert (case.status, case.close_reason, case.next_timer_at) == ("archived", "rejected", None)
    assert desk.open_tasks() == {}


def test_need_info_then_reply_returns_to_verification(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="need_info", reason="Lokasi tepatnya di mana?")
    assert desk.case.status == "needs_info"
    assert desk.open_tasks() == {}
    clock.move_to(wib(2026, 12, 2, 10, 0, 0))  # type: ignore[attr-defined]
    desk.reply(message="Di depan pasar Aviari")
    assert desk.case.status == "submitted"
    assert desk.task("verify").due_at == wib(2026, 12, 7)  # a fresh 3-HK clock from Wednesday


def test_need_info_then_silence_archives_as_incomplete(desk: Desk, clock: object) -> None:
    desk.submit()
    desk.do(VERIFIER, "verify", decision="need_info", reason="Lokasi?")
    assert desk.case.next_timer_at == wib(2026, 12, 14)  # 10 HK from Monday 30 Nov
    clock.move_to(wib(2026, 12, 14, 23, 0, 0))  # type: ignore[attr-defined]
    assert desk.run_due() == 0
    assert desk.case.status == "needs_info"
    clock.move_to(wib(2026, 12, 15, 0, 0, 1))  # type: ignore[attr-defined]
    assert desk.run_due() == 1
    case = desk.case
    assert (case.status, case.close_reason) == ("archived", "incomplete")
    assert desk.run_due() == 0  # firing again changes nothing


def test_not_authority_sends_the_case_back_for_rerouting(desk: Desk, clock: object) -> None:
    desk.submit(category="parkir")
    accept(desk, "batam.dishub")
    desk.do(DISHUB, "respond", decision="not_authority", message="Ini wewenang DLH")
    case = desk.case
    assert (case.status, case.agency) == ("submitted", None)
    assert set(desk.open_tasks()) == {"verify"}
    accept(desk, "batam.dlh")
    assert desk.task("respond").agency == "batam.dlh"
    respond(desk)
    assert desk.case.status == "awaiting_reporter"


def test_delegate_hands_the_case_to_a_unit(desk: Desk, clock: object) -> None:
    desk.submit(category="kesehatan")
    accept(desk, "batam.dinkes")
    unit = "batam.dinkes.puskesmas-sekupang"
    desk.do(DINKES, "respond", decision="delegate", message="Ditangani Puskesmas", unit=unit)
    case = desk.case
    assert (case.status, case.agency) == ("dispositioned", "batam.dinkes.puskesmas-sekupang")
    assert desk.task("respond").agency == "batam.dinkes.puskesmas-sekupang"
    respond(desk, PUSKESMAS, message="Jadwal dokter sudah diperbaiki")
    assert desk.case.status == "awaiting_reporter"


def test_not_satisfied_restarts_the_agency_clock_then_satisfied_closes(desk: Desk, clock: object) -> None:
    desk.submit()
    accept(desk)
    respond(desk)
    clock.move_to(wib(2026, 12, 3, 10, 0, 0))  # type: ignore[attr-defined]
    desk.reply(message="Masih menumpuk", satisfied=False)
    assert desk.case.status == "in_progress"
    assert desk.task("respond").due_at == wib(2026, 12, 10)  # 5 HK from Thursday 3 Dec
    respond(desk, message="Sudah dibersihkan lagi")
    desk.reply(message="Sekarang bersih", satisfied=True, rating=4)
    case = desk.case
    assert (case.status, case.rating) == ("closed", 4)
    assert len(follow_ups(desk.session, case)) == 2


def test_reporter_silence_after_the_answer_closes_with_no_reply(desk: Desk, clock: object) -> None:
    desk.submit()
    accept(desk)
    respond(desk)
    assert desk.case.next_timer_at == wib(2026, 12, 14)
    clock.move_to(wib(2026, 12, 15, 1, 0, 0))  # type: ignore[attr-defined]
    assert desk.run_due() == 1
    case = desk.case
    assert (case.status, case.close_reason) == ("closed", "no_reply")


def test_interim_follow_up_keeps_the_case_in_progress_until_the_completion_limit(desk: Desk, clock: object) -> None:
    desk.submit(kind="complaint")
    accept(desk)
    respond(desk, final=False, message="Sedang dijadwalkan")
    assert desk.case.status == "in_progress"
    assert desk.task("respond").due_at == wib(2026, 12, 18)  # 14 HK for a complaint, from disposition


def test_verification_breach_escalates_to_the_desk_supervisor_and_keeps_verify_open(desk: Desk, clock: object) -> None:
    desk.submit()
    clock.move_to(wib(2026, 12, 3, 8, 0, 1))  # type: ignore[attr-defined]
    assert desk.run_due() == 1  # the reminder
    assert desk.events()[-1].data["notifications"][0]["template"] == "verify_reminder"
    assert not desk.case.escalated
    clock.move_to(wib(2026, 12, 4, 0, 0, 0))  # type: ignore[attr-defined]
    assert desk.run_due() == 1
    case = desk.case
    assert (case.escalated, case.escalation_level) == (True, 1)
    tasks = desk.open_tasks()
    assert set(tasks) == {"verify", "escalate_verification"}
    assert (tasks["escalate_verification"].role, tasks["escalate_verification"].agency) == (
        "supervisor",
        "batam.diskominfo",
    )
    desk.do(VERIFIER_HEAD, "escalate_verification", action="acknowledge", note="Segera")
    accept(desk)
    assert set(desk.open_tasks()) == {"respond"}


def test_completing_verify_cancels_a_pending_escalation(desk: Desk, clock: object) -> None:
    desk.submit()
    clock.move_to(wib(2026, 12, 4, 0, 0, 0))  # type: ignore[attr-defined]
    desk.run_due()
    assert "escalate_verification" in desk.open_tasks()
    accept(desk)
    assert set(desk.open_tasks()) == {"respond"}
    assert desk.case.escalated  # the flag stays: the deadline was missed


def test_follow_up_breach_escalates_first_to_the_agency_then_to_the_desk(desk: Desk, clock: object) -> None:
    desk.submit()
    accept(desk)
    clock.move_to(wib(2026, 12, 8, 0, 0, 0))  # type: ignore[attr-defined]  # respond due Mon 7 Dec
    assert desk.run_due() == 1
    case = desk.case
    assert (case.escalated, case.escalation_level) == (True, 1)
    first = desk.task("escalate_agency")
    assert (first.role, first.agency) == ("supervisor", "batam.dlh")
    clock.move_to(wib(2026, 12, 10, 0, 0, 0))  # type: ignore[attr-defined]  # + 2 HK
    assert desk.run_due() == 1
    assert desk.case.escalation_level == 2
    second = desk.task("escalate_desk")
    assert (second.role, second.agency) == ("supervisor", "batam.diskominfo")
    assert "respond" in desk.open_tasks()
    desk.do(DLH_HEAD, "escalate_agency", action="reassign", assignee="dlh", note="Tangani hari ini")
    assert desk.task("respond").assignee == "dlh"
    respond(desk)
    assert desk.open_tasks() == {}
    assert desk.case.status == "awaiting_reporter"


def test_timers_survive_a_restart_with_an_empty_spec_cache(desk: Desk, clock: object) -> None:
    from engine.processes import registry as processes

    desk.submit()
    processes._CACHE = processes.SpecCache()  # as in a new process
    with time_machine.travel(wib(2026, 12, 4, 0, 0, 0), tick=False):
        assert desk.run_due() == 1
    assert desk.case.escalated
