"""Every deadline of design.md, in travelled time: working days, weekends, holidays, and the paused clock.

Deadlines end at 23:59:59 WIB of the N-th working day after the day a clock starts; a reminder fires at
08:00 WIB on the due day. Each test checks the deadline on the task, that nothing fires a second before,
that the timer fires a second after, and that firing again does nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from engine.calendar.days import DayKind, set_day
from engine.cases.tasks import TaskRecord
from tests.engine.cases.test_lifecycle import accept, respond, wib
from tests.engine.conftest import DLH, DLH_HEAD, VERIFIER, Desk

SECOND = timedelta(seconds=1)
Clock = Any  # the `clock` fixture: a time-machine traveller


def fires_exactly_at(desk: Desk, clock: Clock, due: datetime) -> None:
    """Nothing fires at `due` itself (a deadline's last second); one firing a second later; then nothing."""
    clock.move_to(due)
    assert desk.run_due() == 0
    clock.move_to(due + SECOND)
    assert desk.run_due() == 1
    assert desk.run_due() == 0


def tasks_named(desk: Desk, name: str) -> list[TaskRecord]:
    case_id = desk.case.id
    query = sa.select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.name == name)
    return list(desk.session.scalars(query))


def fired_dues(desk: Desk) -> list[str]:
    return [e.data["due_at"] for e in desk.events() if e.type == "timer_fired"]


def at_wib(clock: Clock, y: int, m: int, d: int, hh: int = 10) -> None:
    clock.move_to(wib(y, m, d, hh, 0, 0))


# Verification: 3 working days ------------------------------------------------------------------------


def test_verification_submitted_on_friday_is_due_wednesday_after_the_weekend(desk: Desk, clock: Clock) -> None:
    at_wib(clock, 2026, 12, 4)  # Friday
    desk.submit()
    assert desk.task("verify").due_at == wib(2026, 12, 9)  # Mon, Tue, Wed
    fires_exactly_at(desk, clock, wib(2026, 12, 9, 8, 0, 0))  # the reminder on the due day
    assert [n["template"] for n in desk.events()[-1].data["notifications"]] == ["verify_reminder"]
    assert not desk.case.escalated
    fires_exactly_at(desk, clock, wib(2026, 12, 9))  # the breach at the end of the day
    case = desk.case
    assert (case.escalated, case.escalation_level) == (True, 1)
    assert len(tasks_named(desk, "escalate_verification")) == 1
    assert desk.case.next_timer_at is None  # verify stays open; no further timer on it


def test_verification_over_christmas_skips_collective_leave_the_holiday_and_the_weekend(
    desk: Desk, clock: Clock
) -> None:
    at_wib(clock, 2026, 12, 23)  # Wednesday; Thu 24 is cuti bersama, Fri 25 Christmas
    desk.submit()
    assert desk.task("verify").due_at == wib(2026, 12, 30)  # Mon 28, Tue 29, Wed 30
    fires_exactly_at(desk, clock, wib(2026, 12, 30, 8, 0, 0))
    fires_exactly_at(desk, clock, wib(2026, 12, 30))
    assert desk.case.escalated


def test_a_configured_holiday_and_a_working_saturday_move_the_deadline(desk: Desk, clock: Clock) -> None:
    set_day(desk.session, date(2026, 12, 1), DayKind.HOLIDAY, "Hari jadi Kota Batam")
    set_day(desk.session, date(2026, 12, 5), DayKind.WORKING, "Sabtu pengganti")
    desk.session.commit()
    desk.submit()  # Monday 30 Nov; Tuesday 1 Dec is a regional holiday: Wed 2, Thu 3, Fri 4
    assert desk.task("verify").due_at == wib(2026, 12, 4)
    accept(desk)  # still Monday: Wed 2, Thu 3, Fri 4, Sat 5 (worked), Mon 7
    assert desk.task("respond").due_at == wib(2026, 12, 7)
    fires_exactly_at(desk, clock, wib(2026, 12, 7, 8, 0, 0))
    fires_exactly_at(desk, clock, wib(2026, 12, 7))


# Follow-up: 5 working days, then the escalation ladder ------------------------------------------------


def test_follow_up_reminder_breach_and_second_breach_each_fire_once(desk: Desk, clock: Clock) -> None:
    desk.submit()
    at_wib(clock, 2026, 12, 3)  # accepted on Thursday
    accept(desk)
    assert desk.task("respond").due_at == wib(2026, 12, 10)  # Fri 4, Mon 7, Tue 8, Wed 9, Thu 10
    fires_exactly_at(desk, clock, wib(2026, 12, 10, 8, 0, 0))
    assert desk.events()[-1].data["notifications"][0]["template"] == "respond_reminder"
    fires_exactly_at(desk, clock, wib(2026, 12, 10))
    assert (desk.case.escalated, desk.case.escalation_level) == (True, 1)
    first = desk.task("escalate_agency")
    # the agency supervisor must act before the second level fires: respond_due + 2 HK
    assert (first.role, first.agency, first.due_at) == ("supervisor", "batam.dlh", wib(2026, 12, 14))
    fires_exactly_at(desk, clock, wib(2026, 12, 14))  # respond_due + 2 HK: Fri 11, Mon 14
    assert desk.case.escalation_level == 2
    second = desk.task("escalate_desk")
    assert (second.role, second.agency) == ("supervisor", "batam.diskominfo")
    assert [len(tasks_named(desk, n)) for n in ("escalate_agency", "escalate_desk")] == [1, 1]
    assert [e.data["notifications"][0]["template"] for e in desk.events() if e.type == "timer_fired"] == [
        "respond_reminder",
        "respond_breach",
        "respond_second_breach",
    ]
    assert desk.case.next_timer_at is None


def test_a_late_sweep_fires_reminder_and_breach_together_once(desk: Desk, clock: Clock) -> None:
    desk.submit()
    accept(desk)
    clock.move_to(wib(2026, 12, 9))  # the scheduler was down from before the reminder until after the breach
    assert desk.run_due() == 1
    assert desk.run_due() == 0
    templates = [n["template"] for n in desk.events()[-1].data["notifications"]]
    assert sorted(templates) == ["respond_breach", "respond_reminder"]
    assert len(tasks_named(desk, "escalate_agency")) == 1


def test_acknowledging_the_escalation_does_not_stop_the_second_level(desk: Desk, clock: Clock) -> None:
    desk.submit()
    accept(desk)
    clock.move_to(wib(2026, 12, 7) + SECOND)
    desk.run_due()
    desk.do(DLH_HEAD, "escalate_agency", action="acknowledge", note="Segera ditangani")
    fires_exactly_at(desk, clock, wib(2026, 12, 9))
    assert desk.case.escalation_level == 2


# Completion limits by kind (PermenPANRB 62/2018) -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "due"),
    [
        ("aspiration", wib(2026, 12, 7)),  # 5 HK from Monday 30 Nov
        ("information_request", wib(2026, 12, 7)),  # 5 HK
        ("complaint", wib(2026, 12, 18)),  # 14 HK
        ("complaint_investigation", wib(2027, 3, 1)),  # 60 HK, over Christmas, New Year, Isra' Mi'raj, Imlek
    ],
)
def test_completion_limit_by_kind_binds_after_an_interim_answer(
    desk: Desk, clock: Clock, kind: str, due: datetime
) -> None:
    desk.submit(kind=kind)
    accept(desk)
    respond(desk, final=False, message="Sedang ditangani")
    assert desk.case.status == "in_progress"
    assert desk.task("respond").due_at == due
    fires_exactly_at(desk, clock, due.replace(hour=1, minute=0, second=0))  # the reminder, 08:00 WIB
    fires_exactly_at(desk, clock, due)
    assert desk.case.escalated
    assert len(tasks_named(desk, "escalate_agency")) == 1


def test_the_verifier_reclassifying_the_kind_sets_its_completion_limit(desk: Desk, clock: Clock) -> None:
    desk.submit(kind="complaint")
    accept(desk, kind="complaint_investigation")
    assert desk.case.kind == "complaint_investigation"
    respond(desk, final=False, message="Perlu pemeriksaan lapangan")
    assert desk.task("respond").due_at == wib(2027, 3, 1)


# Waiting on the reporter pauses the clock; a reply or a re-routing computes new deadlines --------------


def test_waiting_on_the_reporter_pauses_the_agency_clock_and_a_reply_restarts_it(desk: Desk, clock: Clock) -> None:
    desk.submit()
    accept(desk)  # respond due Mon 7 Dec
    at_wib(clock, 2026, 12, 1)
    respond(desk)  # final answer on Tuesday: the agency's clock stops
    case = desk.case
    assert case.status == "awaiting_reporter"
    assert case.next_timer_at == wib(2026, 12, 15)  # only the reporter's 10 HK remain
    clock.move_to(wib(2026, 12, 11, 10, 0, 0))  # well past the old follow-up deadline and its escalation
    assert desk.run_due() == 0
    assert not desk.case.escalated
    desk.reply(message="Belum beres", satisfied=False)  # Friday 11 Dec
    assert desk.task("respond").due_at == wib(2026, 12, 18)  # a fresh 5 HK from the reply
    fires_exactly_at(desk, clock, wib(2026, 12, 18, 8, 0, 0))  # reminder
    fires_exactly_at(desk, clock, wib(2026, 12, 18))  # breach of the new deadline
    assert desk.case.escalation_level == 1


def test_needing_information_pauses_verification_and_the_reply_restarts_it(desk: Desk, clock: Clock) -> None:
    desk.submit()  # verify due Thu 3 Dec
    desk.do(VERIFIER, "verify", decision="need_info", reason="Alamat lengkap?")
    assert desk.case.next_timer_at == wib(2026, 12, 14)  # only the reporter's 10 HK
    clock.move_to(wib(2026, 12, 10, 10, 0, 0))  # past the old verification deadline
    assert desk.run_due() == 0
    desk.reply(message="Jl. Ahmad Yani no. 5")
    assert desk.task("verify").due_at == wib(2026, 12, 15)  # Fri 11, Mon 14, Tue 15
    assert not desk.case.escalated
    fires_exactly_at(desk, clock, wib(2026, 12, 15, 8, 0, 0))  # reminder
    fires_exactly_at(desk, clock, wib(2026, 12, 15))
    assert desk.case.escalated


def test_rerouting_computes_new_deadlines_and_cancels_the_old_ones(desk: Desk, clock: Clock) -> None:
    desk.submit(category="parkir")
    accept(desk, "batam.dishub")  # respond due Mon 7 Dec
    at_wib(clock, 2026, 12, 4)
    from tests.engine.conftest import DISHUB

    desk.do(DISHUB, "respond", decision="not_authority", message="Wewenang DLH")  # Friday
    assert desk.task("verify").due_at == wib(2026, 12, 9)  # a fresh 3 HK for re-routing
    at_wib(clock, 2026, 12, 8)
    accept(desk, "batam.dlh")  # Tuesday
    assert desk.task("respond").due_at == wib(2026, 12, 15)  # 5 HK from the new disposition
    clock.move_to(wib(2026, 12, 7) + SECOND)  # the old deadline passes: nothing of it is left
    assert desk.run_due() == 0
    fires_exactly_at(desk, clock, wib(2026, 12, 15, 8, 0, 0))
    fires_exactly_at(desk, clock, wib(2026, 12, 15))
    assert desk.task("escalate_agency").agency == "batam.dlh"


def test_delegating_to_a_unit_gives_the_unit_a_fresh_follow_up_deadline(desk: Desk, clock: Clock) -> None:
    desk.submit(category="kesehatan")
    accept(desk, "batam.dinkes")
    at_wib(clock, 2026, 12, 2)
    from tests.engine.conftest import DINKES

    unit = "batam.dinkes.puskesmas-sekupang"
    desk.do(DINKES, "respond", decision="delegate", message="Ke Puskesmas", unit=unit)
    assert desk.task("respond").due_at == wib(2026, 12, 9)  # 5 HK from Wednesday
    fires_exactly_at(desk, clock, wib(2026, 12, 9, 8, 0, 0))
    fires_exactly_at(desk, clock, wib(2026, 12, 9))
    assert desk.task("escalate_agency").agency == unit


def test_the_completion_limit_does_not_count_the_time_spent_waiting_on_the_reporter(desk: Desk, clock: Clock) -> None:
    desk.submit(kind="complaint")
    accept(desk)  # Monday 30 Nov: 14 HK of the agency's time, i.e. Fri 18 Dec if it never pauses
    at_wib(clock, 2026, 12, 1)
    respond(desk)  # final answer on Tuesday: the clock pauses
    at_wib(clock, 2026, 12, 14)
    desk.reply(message="Belum selesai", satisfied=False)  # 9 HK later the clock runs again
    at_wib(clock, 2026, 12, 15)
    respond(desk, final=False, message="Dijadwalkan ulang")
    # 18 Dec + the 9 paused HK: 21, 22, 23, 28, 29, 30, 31 Dec, 4 and 6 Jan (5 Jan is Isra' Mi'raj)
    assert desk.task("respond").due_at == wib(2027, 1, 6)


# The reporter's deadlines: 10 working days ------------------------------------------------------------


def test_no_reply_over_the_year_end_closes_after_ten_working_days(desk: Desk, clock: Clock) -> None:
    at_wib(clock, 2026, 12, 16)
    desk.submit()
    accept(desk)
    at_wib(clock, 2026, 12, 18)
    respond(desk)  # Friday 18 Dec
    # Dec 21, 22, 23, (24, 25 off) 28, 29, 30, 31, (Jan 1 off) 4, (5 Isra' Mi'raj) 6, 7
    assert desk.case.next_timer_at == wib(2027, 1, 7)
    fires_exactly_at(desk, clock, wib(2027, 1, 7))
    case = desk.case
    assert (case.status, case.close_reason) == ("closed", "no_reply")
    assert fired_dues(desk) == [str(wib(2027, 1, 7))]


def test_missing_information_over_a_weekend_archives_after_ten_working_days(desk: Desk, clock: Clock) -> None:
    at_wib(clock, 2026, 12, 4)  # Friday
    desk.submit()
    desk.do(VERIFIER, "verify", decision="need_info", reason="Foto?")
    assert desk.case.next_timer_at == wib(2026, 12, 18)
    fires_exactly_at(desk, clock, wib(2026, 12, 18))
    assert (desk.case.status, desk.case.close_reason) == ("archived", "incomplete")


def test_an_answer_in_time_leaves_no_escalation(desk: Desk, clock: Clock) -> None:
    desk.submit()
    accept(desk)
    clock.move_to(wib(2026, 12, 7, 23, 0, 0))
    respond(desk, DLH)
    clock.move_to(wib(2026, 12, 10))
    assert desk.run_due() == 0
    assert not desk.case.escalated
    assert tasks_named(desk, "escalate_agency") == []
