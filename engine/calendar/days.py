"""Days an admin configures on top of the public calendar: extra days off, extra working days."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.calendar.working_days import WorkingCalendar
from engine.db import Base
from engine.settings import Settings


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    WORKING = "working"


class CalendarDay(Base):
    """One configured day (e.g. a regional holiday, or a Saturday worked in exchange)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))


def set_day(session: Session, day: date, kind: DayKind, name: str) -> CalendarDay:
    """Configure `day` (replacing an earlier setting of the same day); flushes, the caller commits."""
    row = session.get(CalendarDay, day) or CalendarDay(day=day)
    row.kind, row.name = kind.value, name
    session.add(row)
    session.flush()
    return row


def load_calendar(session: Session, settings: Settings) -> WorkingCalendar:
    """The working-day calendar in force: public holidays, collective leave and configured days."""
    rows = session.scalars(sa.select(CalendarDay)).all()
    return WorkingCalendar(
        timezone=settings.timezone,
        extra_holidays={r.day: r.name for r in rows if r.kind == DayKind.HOLIDAY},
        extra_working_days=frozenset(r.day for r in rows if r.kind == DayKind.WORKING),
        include_collective_leave=settings.include_collective_leave,
    )
