"""KPI bookkeeping: the facts `/stats` aggregates, kept on the case row at every save.

The diagram decides the lifecycle; this module only observes what a command did (the status change it
made, the follow-ups it recorded, the tasks it opened) and stamps the moments and working-day durations
the KPIs need, with the calendar in force at that moment. `/stats` is then plain SQL over these columns.
The definitions are in the README's "KPIs" section.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from engine.calendar.working_days import WorkingCalendar
from engine.cases.access import Role
from engine.cases.case import Case, Status
from engine.cases.tasks import TaskRecord

DESK_STATUSES = frozenset({Status.SUBMITTED, Status.NEEDS_INFO})
"""The case is with the verifiers' desk (or waits on the reporter to complete it)."""
AGENCY_STATUSES = frozenset({Status.DISPOSITIONED, Status.IN_PROGRESS, Status.AWAITING_REPORTER})
"""The case is with an agency (or waits on the reporter's verdict on the agency's answer)."""


def record(
    case: Case,
    changes: dict[str, list[Any]],
    follow_ups: Sequence[dict[str, Any]],
    opened: Sequence[TaskRecord],
    now: datetime,
    calendar: WorkingCalendar,
) -> None:
    """Update the case's KPI columns from one command's observed effects (the caller saves the case)."""
    if case.created_on is None:
        submitted = case.created_at or now
        case.created_on, case.status_changed_at = calendar.local_date(submitted), submitted
    if "status" in changes:
        old, new = changes["status"]
        _status_changed(case, old, new, opened, now, calendar)
    if follow_ups and case.first_follow_up_at is None:
        case.first_follow_up_at = now
        if case.dispositioned_at is not None:
            case.followup_working_days = calendar.working_days_between(case.dispositioned_at, now)


def _status_changed(
    case: Case, old: str, new: str, opened: Sequence[TaskRecord], now: datetime, calendar: WorkingCalendar
) -> None:
    """Stamp verification (desk time until the first disposition), dispositions and re-routings."""
    if old == Status.SUBMITTED and case.verified_at is None:
        since = case.status_changed_at or case.created_at
        spent = calendar.working_days_between(since, now) if since else 0.0
        case.verification_working_days = (case.verification_working_days or 0.0) + spent
    if new == Status.DISPOSITIONED and old in DESK_STATUSES:
        _disposed(case, opened, now)
    if old in AGENCY_STATUSES and new in DESK_STATUSES:
        case.rerouted_count = (case.rerouted_count or 0) + 1
        if case.first_follow_up_at is None:
            case.first_follow_up_due_at = None  # the agency answered "not ours": nothing of it is due
    case.status_changed_at = now


def _disposed(case: Case, opened: Sequence[TaskRecord], now: datetime) -> None:
    """A disposition (terdisposisi): the agency's follow-up clock starts, with its task's deadline."""
    case.disposition_count = (case.disposition_count or 0) + 1
    case.verified_at = case.verified_at or now
    case.dispositioned_at = now
    if case.first_follow_up_at is None:
        case.first_follow_up_due_at = agency_deadline(opened)


def agency_deadline(opened: Sequence[TaskRecord]) -> datetime | None:
    """The earliest deadline of the officer tasks a disposition opened (`respond` in the default diagram)."""
    dues = [t.due_at for t in opened if t.role == Role.OFFICER and t.due_at is not None]
    return min(dues) if dues else None
