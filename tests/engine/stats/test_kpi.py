"""KPI facts kept on the case row at every save: moments, counts and working-day durations.

Working days are fractions of local (WIB) days: 3 hours are 0.125 of a day. Christmas 2026: Thursday 24 Dec
is collective leave (cuti bersama), Friday 25 Dec a public holiday, then the weekend.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from engine.calendar.days import DayKind, set_day
from tests.engine.conftest import DINKES, DISHUB, DLH, VERIFIER, Desk

WIB = timedelta(hours=7)


def wib(m: int, d: int, hh: int = 9, mm: int = 0, y: int = 2026) -> datetime:
    """A Jakarta wall-clock time as an aware UTC datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - WIB


def due(m: int, d: int, y: int = 2026) -> datetime:
    """The end (23:59:59 WIB) of a deadline day."""
    return datetime(y, m, d, 23, 59, 59, tzinfo=UTC) - WIB


def accept(desk: Desk, agency: str = "batam.dlh") -> None:
    desk.do(VERIFIER, "verify", decision="accept", agency=agency)


def test_a_case_answered_across_christmas_counts_working_days_only(desk: Desk, clock: object) -> None:
    clock.move_to(wib(12, 21))  # type: ignore[attr-defined]  # Monday 09:00
    desk.submit(category="kebersihan")
    case = desk.case
    assert (case.created_on, case.status_changed_at, case.verified_at) == (date(2026, 12, 21), wib(12, 21), None)
    clock.move_to(wib(12, 22))  # type: ignore[attr-defined]  # Tuesday 09:00: one working day later
    accept(desk)
    case = desk.case
    assert (case.verified_at, case.dispositioned_at, case.disposition_count) == (wib(12, 22), wib(12, 22), 1)
    assert case.verification_working_days == 1.0
    # 5 HK from Tue 22: Wed 23, Mon 28, Tue 29, Wed 30, Thu 31 (24-27 Dec are days off)
    assert case.first_follow_up_due_at == due(12, 31)
    clock.move_to(wib(12, 28))  # type: ignore[attr-defined]  # Monday 09:00 after Christmas
    desk.do(DLH, "respond", decision="respond", message="Sudah diangkut", final=True)
    case = desk.case
    # Tue 22 09:00-24:00 (0.625) + Wed 23 (1) + Mon 28 00:00-09:00 (0.375)
    assert (case.first_follow_up_at, case.followup_working_days) == (wib(12, 28), 2.0)
    assert (case.rerouted_count, case.status_changed_at) == (0, wib(12, 28))


def test_time_waiting_for_the_reporter_is_not_verification_time(desk: Desk, clock: object) -> None:
    desk.submit()  # Monday 30 Nov 09:00
    clock.move_to(wib(12, 1))  # type: ignore[attr-defined]
    desk.do(VERIFIER, "verify", decision="need_info", reason="Lokasi?")
    assert desk.case.verification_working_days == 1.0
    clock.move_to(wib(12, 4))  # type: ignore[attr-defined]  # Friday: three days with the reporter
    desk.reply(message="Di depan pasar")
    clock.move_to(wib(12, 7))  # type: ignore[attr-defined]  # Monday: Fri 0.625 + Mon 0.375
    accept(desk)
    case = desk.case
    assert (case.verification_working_days, case.verified_at) == (2.0, wib(12, 7))


def test_a_rerouted_case_is_measured_from_its_latest_disposition(desk: Desk, clock: object) -> None:
    desk.submit(category="parkir")
    accept(desk, "batam.dishub")
    first_due = desk.case.first_follow_up_due_at
    clock.move_to(wib(12, 1))  # type: ignore[attr-defined]
    desk.do(DISHUB, "respond", decision="not_authority", message="Wewenang DLH")
    case = desk.case
    assert (case.rerouted_count, case.first_follow_up_due_at, case.verified_at) == (1, None, wib(11, 30))
    clock.move_to(wib(12, 1, 15))  # type: ignore[attr-defined]
    accept(desk, "batam.dlh")
    case = desk.case
    assert (case.disposition_count, case.dispositioned_at, case.verified_at) == (2, wib(12, 1, 15), wib(11, 30))
    assert case.first_follow_up_due_at == due(12, 8) != first_due  # 5 HK from Tue 1 Dec
    assert case.verification_working_days == 0.0  # verified at once; the second verification is not counted
    clock.move_to(wib(12, 2))  # type: ignore[attr-defined]
    desk.do(DLH, "respond", decision="respond", message="Beres", final=True)
    assert desk.case.followup_working_days == 0.75  # Tue 15:00 → Wed 09:00


def test_delegating_to_a_unit_keeps_the_agency_clock_running(desk: Desk, clock: object) -> None:
    desk.submit(category="kesehatan")
    accept(desk, "batam.dinkes")
    clock.move_to(wib(12, 2))  # type: ignore[attr-defined]
    desk.do(DINKES, "respond", decision="delegate", message="Ke Puskesmas", unit="batam.dinkes.puskesmas-sekupang")
    case = desk.case
    assert (case.disposition_count, case.dispositioned_at, case.first_follow_up_due_at) == (1, wib(11, 30), due(12, 7))
    assert case.first_follow_up_at is None  # a delegation is not an answer to the reporter


def test_only_the_first_follow_up_counts(desk: Desk, clock: object) -> None:
    desk.submit()
    accept(desk)
    clock.move_to(wib(12, 1))  # type: ignore[attr-defined]
    desk.do(DLH, "respond", decision="respond", message="Dijadwalkan", final=False)
    clock.move_to(wib(12, 3))  # type: ignore[attr-defined]
    desk.do(DLH, "respond", decision="respond", message="Selesai", final=True)
    case = desk.case
    assert (case.first_follow_up_at, case.followup_working_days) == (wib(12, 1), 1.0)


def test_a_rejected_case_is_never_verified(desk: Desk, clock: object) -> None:
    desk.submit()
    clock.move_to(wib(12, 1, 12))  # type: ignore[attr-defined]
    desk.do(VERIFIER, "verify", decision="reject", reason="Bukan pelayanan publik")
    case = desk.case
    assert (case.verified_at, case.disposition_count, case.verification_working_days) == (None, 0, 1.125)


def test_durations_use_the_calendar_in_force_when_they_become_known(desk: Desk, clock: object) -> None:
    set_day(desk.session, date(2026, 12, 1), DayKind.HOLIDAY, "Hari jadi kota")
    desk.session.commit()
    desk.submit()
    accept(desk)
    clock.move_to(wib(12, 2))  # type: ignore[attr-defined]
    desk.do(DLH, "respond", decision="respond", message="Beres", final=True)
    assert desk.case.followup_working_days == 1.0  # Mon 09:00 → Wed 09:00 with Tuesday a day off
