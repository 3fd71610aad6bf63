"""Hot spots (titik rawan): where complaints cluster in a period, and how that compares with the one before.

Two clusterings, both plain SQL GROUP BYs over indexed read-model columns (no PostGIS, no workflow read):

- `grid`: cases with a point, grouped by area, category and a fixed grid cell of `GRID_DEGREES` (0.005° ≈
  550 m at Batam's latitude): cell = floor((latitude + 90) / 0.005), floor((longitude + 180) / 0.005). A
  cluster's point is the mean of its cases' points in the period.
- `area`: cases with an area (chosen or derived from the point), grouped by area and category; a cluster's
  point is the area's centre (so no case's own point is revealed: the public figures use this one).

`count`, `open` (neither closed nor archived) and `overdue` (open with a task past its deadline at `now`)
are of the period [start, end] (local submission dates, inclusive); `previous_count` is of the period of
equal length just before it. Clusters with no case in the period are left out; the largest come first
(at most `MAX_CLUSTERS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.cases.case import Case, Status
from engine.cases.tasks import TaskRecord, TaskStatus
from engine.errors import InvalidData
from engine.places.areas import DIGITS, Area
from engine.stats.figures import for_aggregates

GRID_DEGREES = 0.005
DEFAULT_DAYS = 30
MAX_CLUSTERS = 1000  # the largest; a map shows no more
FINAL = (Status.CLOSED.value, Status.ARCHIVED.value)


class Clustering(StrEnum):
    GRID = "grid"
    AREA = "area"


@dataclass(frozen=True)
class Period:
    """Local submission dates, both inclusive."""

    start: date
    end: date

    @classmethod
    def around(cls, start: date | None, end: date | None) -> Period:
        """The period asked for; a missing end is today, a missing start makes it `DEFAULT_DAYS` long.

        InvalidData when it would end before it starts."""
        end = end or date.today()
        if start is not None and start > end:
            raise InvalidData("invalid period", {"from": ["must not be after 'to' (today when not given)"]})
        return cls(start or _days_before(end, DEFAULT_DAYS - 1), end)

    @property
    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts (from 1 January 1 at most)."""
        length = (self.end - self.start).days + 1
        return Period(_days_before(self.start, length), _days_before(self.start, 1))


def _days_before(day: date, days: int) -> date:
    """`day` minus `days`, never before the first day a `date` can hold."""
    return date.fromordinal(max(1, day.toordinal() - days))


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.count().filter(condition)  # FILTER (WHERE …): PostgreSQL, SQLite ≥ 3.30


def _cell(session: Session, value: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """floor(value) for a non-negative value (SQLite has no floor() without its math extension)."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.floor(value), sa.Integer)
    return sa.cast(value, sa.Integer)  # truncation is floor for values ≥ 0


def hotspots(
    session: Session,
    condition: sa.ColumnElement[bool],
    period: Period,
    now: datetime,
    clustering: Clustering = Clustering.GRID,
    limit: int = MAX_CLUSTERS,
) -> list[dict[str, Any]]:
    """The clusters of the cases matching `condition` (the caller's scope and filters) in `period`, the
    `limit` largest."""
    current = Case.created_on >= period.start
    open_case = Case.status.not_in(FINAL)
    overdue = sa.select(TaskRecord.case_id).where(TaskRecord.state == TaskStatus.READY, TaskRecord.due_at < now)
    measures = [
        _count_if(current).label("count"),
        _count_if(sa.and_(current, open_case)).label("open"),
        _count_if(sa.and_(current, open_case, Case.id.in_(overdue))).label("overdue"),
        _count_if(sa.not_(current)).label("previous_count"),
    ]
    in_periods = sa.and_(condition, Case.created_on >= period.previous.start, Case.created_on <= period.end)
    query = _grid(session, measures, current) if clustering == Clustering.GRID else _by_area(measures)
    order: tuple[Any, ...] = (sa.desc("count"), "area", "category", "latitude", "longitude")
    query = query.where(in_periods).having(measures[0] > 0).order_by(*order)
    query = query.limit(limit)
    for_aggregates(session)
    return [_cluster(row._asdict()) for row in session.execute(query)]


def _grid(session: Session, measures: list[Any], current: sa.ColumnElement[bool]) -> sa.Select[Any]:
    cell_lat = _cell(session, (Case.latitude + 90) / GRID_DEGREES)
    cell_lon = _cell(session, (Case.longitude + 180) / GRID_DEGREES)
    mean_lat = sa.func.avg(sa.case((current, Case.latitude))).label("latitude")
    mean_lon = sa.func.avg(sa.case((current, Case.longitude))).label("longitude")
    keys = (Case.area, Case.category, cell_lat, cell_lon)
    return (
        sa.select(Case.area, Case.category, mean_lat, mean_lon, *measures)
        .where(Case.latitude.is_not(None), Case.longitude.is_not(None))
        .group_by(*keys)
    )


def _by_area(measures: list[Any]) -> sa.Select[Any]:
    return (
        sa.select(Case.area, Case.category, Area.latitude, Area.longitude, *measures)
        .join(Area, Area.code == Case.area)
        .group_by(Case.area, Case.category, Area.latitude, Area.longitude)
    )


def _cluster(row: dict[str, Any]) -> dict[str, Any]:
    cluster: dict[str, Any] = {name: int(row[name]) for name in ("count", "open", "overdue", "previous_count")}
    cluster.update(
        area=row["area"],
        category=row["category"],
        latitude=round(float(row["latitude"]), DIGITS),
        longitude=round(float(row["longitude"]), DIGITS),
    )
    return cluster
