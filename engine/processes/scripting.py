"""The services a diagram may call, and the script engine that offers them.

Diagrams decide; Python records. A script task says `update_case(status='dispositioned', agency=agency)`
and the engine mirrors those facts into the case's read model after the command. Deadlines come from
`working_days(n)` on the working-day calendar. These are the only custom names a diagram may use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine.calendar.working_days import WorkingCalendar
from engine.db import utcnow
from engine.processes import sandbox

CASE_FACTS = frozenset(
    {
        "status",
        "agency",
        "category",
        "kind",
        "anonymous",
        "confidential",
        "escalated",
        "escalation_level",
        "close_reason",
        "rating",
    }
)
STATUSES = frozenset(
    {"submitted", "needs_info", "dispositioned", "in_progress", "awaiting_reporter", "closed", "archived"}
)


@dataclass
class CaseEffects:
    """What a command's engine steps asked for: fact updates, follow-ups and notifications, in order.

    `agency` starts as the case's current agency, so a follow-up is attributed to whoever holds the case.
    """

    agency: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def update_case(self, **facts: Any) -> None:
        unknown = set(facts) - CASE_FACTS
        if unknown:
            raise ValueError(f"update_case: unknown facts {sorted(unknown)}")
        if "status" in facts and facts["status"] not in STATUSES:
            raise ValueError(f"update_case: unknown status {facts['status']!r}")
        self.facts.update(facts)
        self.agency = facts.get("agency", self.agency)

    def add_follow_up(self, message: str) -> None:
        self.follow_ups.append({"at": utcnow().isoformat(), "message": str(message), "agency": self.agency})

    def notify(self, template: str, **params: Any) -> None:
        self.notifications.append({"template": str(template), "params": params, "at": utcnow().isoformat()})


def calendar_functions(
    calendar: WorkingCalendar, clock: Callable[[], datetime] = utcnow
) -> dict[str, Callable[..., Any]]:
    """Deadline helpers on `calendar`; each returns an ISO-8601 string, as timer expressions require.

    `clock` is "now" for them: a migration re-runs a deadline script as of the moment it first ran."""

    def working_days(n: int, start: str | None = None) -> str:
        moment = datetime.fromisoformat(start) if start else clock()
        return calendar.deadline(moment, int(n)).isoformat()

    def add_working_days(iso: str, n: int) -> str:
        return working_days(n, iso)

    def reminder_at(due: str, hour: int = 8) -> str:
        return calendar.start_of_day(datetime.fromisoformat(due), int(hour)).isoformat()

    def now() -> str:
        return clock().isoformat()

    def working_days_since(iso: str) -> int:
        """Whole working days after the local day of `iso`, up to and including today (a paused clock)."""
        return calendar.working_days_in(calendar.local_date(datetime.fromisoformat(iso)), calendar.local_date(clock()))

    return {
        "working_days": working_days,
        "add_working_days": add_working_days,
        "reminder_at": reminder_at,
        "now": now,
        "working_days_since": working_days_since,
    }


def helpers(
    calendar: WorkingCalendar, effects: CaseEffects, clock: Callable[[], datetime] = utcnow
) -> dict[str, Callable[..., Any]]:
    """The documented helpers a diagram may call (bpmn/README.md), bound to one command's effects (and, for
    deadlines, to `clock`)."""
    return {
        **calendar_functions(calendar, clock),
        "update_case": effects.update_case,
        "add_follow_up": effects.add_follow_up,
        "notify": effects.notify,
    }


def script_engine(
    calendar: WorkingCalendar, effects: CaseEffects, clock: Callable[[], datetime] = utcnow
) -> PythonScriptEngine:
    """The restricted script engine (engine.processes.sandbox) bound to one command's effects recorder (and `clock`)."""
    return sandbox.restricted_engine(helpers(calendar, effects, clock))
