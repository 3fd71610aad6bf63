"""KPIs (`/stats`): SQL aggregates over the case read model, overall and grouped, plus an agency ranking.

Every figure comes from columns `engine.stats.kpi` keeps on the case row (no workflow is deserialized, no event
is scanned): one query per grouping. Durations are in working days; medians are exact (PostgreSQL
`percentile_cont`, SQLite an aggregate function registered on the connection). The definitions are in
the README's "KPIs" section.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session

from engine.cases.access import Actor
from engine.cases.case import Case, Status
from engine.cases.tasks import TaskRecord, TaskStatus
from engine.cases.visibility import EVERYTHING, figures_scope, staff_scope
from engine.directory.agencies import subtree_clause

GROUPS = ("agency", "category", "kind", "channel", "month", "area")
FINAL = (Status.CLOSED.value, Status.ARCHIVED.value)
DIGITS = 4


@dataclass(frozen=True)
class Query:
    """Which cases: those the caller may list, optionally in one agency's subtree, submitted in a period."""

    agency: str | None = None
    start: date | None = None
    end: date | None = None


def where(session: Session, actor: Actor, query: Query, rows: bool = False) -> sa.ColumnElement[bool]:
    """The SQL condition selecting the cases `actor` may count for `query` (dates are local, inclusive).

    With `rows`, the cases whose rows `actor` may see (exports): a process owner counts their jurisdiction's
    cases in figures but sees none of them."""
    return sa.and_(staff_scope(session, actor) if rows else figures_scope(session, actor), _narrowed(query))


def rollup_scope(actor: Actor | None, query: Query) -> str | None:
    """The kept scope whose figures `where(…, actor, query)` (None: `public_where(query)`) asks for: "all"
    for an auditor's or admin's whole figures, "public" for the whole public figures; None for any other."""
    if query != Query():
        return None
    if actor is None:
        return "public"
    return "all" if actor.role in EVERYTHING else None


def public_where(query: Query) -> sa.ColumnElement[bool]:
    """The cases the city's public figures count for `query`: every non-confidential one (Perpres 76/2013).

    Unverified and archived cases count too, as in `/stats`: figures are aggregates and name no case.
    """
    return sa.and_(Case.confidential.is_(False), _narrowed(query))


def _narrowed(query: Query) -> sa.ColumnElement[bool]:
    conditions: list[sa.ColumnElement[bool]] = [sa.true()]
    if query.agency is not None:
        conditions.append(subtree_clause(Case.agency, query.agency))
    if query.start is not None:
        conditions.append(Case.created_on >= query.start)
    if query.end is not None:
        conditions.append(Case.created_on <= query.end)
    return sa.and_(*conditions)


def stats(
    session: Session, condition: sa.ColumnElement[bool], now: datetime, rollup: str | None = None
) -> dict[str, Any]:
    """The whole `/stats` answer for the cases matching `condition`, with overdue judged at `now`.

    `rollup` ("all" or "public", see `rollup_scope`): `condition` selects that scope's cases, whose figures
    PostgreSQL reads from the newest snapshot and the changes since (`engine.stats.rollup`) when it can.
    Otherwise PostgreSQL answers in one query (one scan of the cases, `GROUPING SETS`); SQLite in one query
    per grouping. The figures are the same (tests/engine/stats/test_one_pass.py, test_rollup.py)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if rollup is not None and postgres:
        from engine.stats import rollup as rollups

        kept = rollups.answer(session, rollup, now)
        if kept is not None:
            return kept
    if postgres:
        overall, status_counts, groups = _all_at_once(session, condition, now)
    else:
        overall = figures(session, condition, now)[0]
        status_counts = by_status(session, condition)
        groups = {group: figures(session, condition, now, group) for group in GROUPS}
    overall["counts"]["by_status"] = status_counts
    answer: dict[str, Any] = {**overall}
    for group in GROUPS:
        answer[f"by_{group}"] = groups[group]
    answer["ranking"] = ranking(answer["by_agency"])
    return answer


def for_aggregates(session: Session) -> None:
    """Settings of the current PostgreSQL transaction for one big aggregate query over many cases.

    No JIT: compiling the expressions costs more than it saves here (100-300 ms per query at 1M cases); the
    hash tables of the groupings and the arrays of the medians in memory instead of temporary files (stock
    `work_mem` is 4 MB; at 1M cases `/stats` holds about 150 MB). `SET LOCAL`: both end with the transaction."""
    if session.get_bind().dialect.name == "postgresql":
        settings = sa.select(
            sa.func.set_config("jit", "off", True), sa.func.set_config("work_mem", ANALYTIC_WORK_MEM, True)
        )
        session.execute(settings)


ANALYTIC_WORK_MEM = "128MB"
MEDIANS = {"followup_median": "followup_values", "verification_median": "verification_values"}


def _all_at_once(
    session: Session, condition: sa.ColumnElement[bool], now: datetime
) -> tuple[dict[str, Any], dict[str, int], dict[str, list[dict[str, Any]]]]:
    """Overall figures, status counts and every grouping from one query with `GROUPING SETS` (PostgreSQL).

    One scan of the cases, hashed into every grouping at once. An ordered-set aggregate (`percentile_cont`)
    would force a sort of every case per grouping instead, so each group collects its durations in an array
    and the exact median is `percentile_cont` over that array. `GROUPING(k1, …, kn)` numbers each result
    row's set: bit i (from the left) is 1 when key i is not grouped on in that row's set."""
    for_aggregates(session)
    names = ("status", *GROUPS)
    keys = [Case.status, *(group_key(session, group) for group in GROUPS)]
    everything = (1 << len(keys)) - 1
    values = {"followup_values": Case.followup_working_days, "verification_values": _verified_days()}
    arrays = [sa.func.array_agg(value).filter(value.is_not(None)).label(name) for name, value in values.items()]
    sets = sa.func.grouping_sets(sa.text("()"), *(sa.tuple_(key) for key in keys))
    grouped = (
        sa.select(
            sa.func.grouping(*keys).label("grouping_set"),
            *(key.label(f"key_{name}") for key, name in zip(keys, names, strict=True)),
            *_aggregates(now),
            *arrays,
        )
        .where(condition)
        .group_by(sets)
        .subquery("grouped")
    )
    status_set = everything ^ (1 << (len(keys) - 1))  # no median of a status: not part of the answer
    medians = [
        sa.case((grouped.c.grouping_set != status_set, _median_of(grouped.c[array]))).label(name)
        for name, array in MEDIANS.items()
    ]
    columns = [column for column in grouped.c if column.name not in MEDIANS.values()]
    query = sa.select(*columns, *medians).order_by(
        grouped.c.grouping_set.desc(), *(grouped.c[f"key_{name}"].asc().nulls_first() for name in names)
    )
    overall: dict[str, Any] | None = None
    status_counts = dict.fromkeys((s.value for s in Status), 0)
    groups: dict[str, list[dict[str, Any]]] = {group: [] for group in GROUPS}
    for result in session.execute(query):
        r = result._asdict()
        if r["grouping_set"] == everything:
            overall = _row(None, r)
            continue
        name = names[len(keys) - (everything ^ r["grouping_set"]).bit_length()]
        if name == "status":
            status_counts[r["key_status"]] = int(r["cases"])
        else:
            groups[name].append(_row(name, {**r, "key": r[f"key_{name}"]}))
    assert overall is not None  # the empty grouping set always answers one row, even over no case
    return overall, status_counts, groups


def _median_of(array: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """The exact median of a float array (NULL for an empty or NULL one), as `percentile_cont` computes it."""
    unnested = sa.func.unnest(array).table_valued("value").render_derived(name="durations")
    return sa.select(sa.func.percentile_cont(0.5).within_group(unnested.c.value)).scalar_subquery()


def group_key(session: Session, group: str) -> sa.ColumnElement[Any]:
    """The SQL expression a grouping keys on (`month` is the local month of submission, `YYYY-MM`)."""
    if group == "month":
        # literal SQL, not parameters: GROUP BY and ORDER BY must repeat the very same expression
        if session.get_bind().dialect.name == "postgresql":
            return sa.func.to_char(Case.created_on, sa.literal_column("'YYYY-MM'"))
        return sa.func.substr(Case.created_on, sa.literal_column("1"), sa.literal_column("7"))  # 'YYYY-MM-DD'
    column: sa.ColumnElement[Any] = getattr(Case, group)
    return column


def figures(
    session: Session, condition: sa.ColumnElement[bool], now: datetime, group: str | None = None
) -> list[dict[str, Any]]:
    """One row of KPIs per group (a single row without `group`), in the group key's order; one query."""
    key = group_key(session, group) if group else None
    select = sa.select(*_aggregates(now), *_medians(session)).where(condition)
    if key is not None:
        select = select.add_columns(key.label("key")).group_by(key).order_by(key.asc().nulls_first())
    return [_row(group, row._asdict()) for row in session.execute(select)]


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _verified_days() -> sa.ColumnElement[float]:
    """The verification time of a dispositioned case (before that the column is a running total)."""
    return sa.case((Case.verified_at.is_not(None), Case.verification_working_days))


def _aggregates(now: datetime, sums: bool = False) -> list[sa.ColumnElement[Any]]:
    """The SQL aggregates behind every figure (the README's "KPIs" says which case counts where).

    With `sums`, each mean is its sum instead (`<x>_sum`; its count is another figure): the snapshot of
    `engine.stats.rollup` adds changes to it."""
    mean = _sum if sums else _mean
    followed, due = Case.first_follow_up_at, Case.first_follow_up_due_at
    open_case = Case.status.not_in(FINAL)
    overdue_cases = sa.select(TaskRecord.case_id).where(TaskRecord.state == TaskStatus.READY, TaskRecord.due_at < now)
    return [
        sa.func.count().label("cases"),
        sa.func.count(Case.verified_at).label("dispositioned"),
        _count_if(sa.and_(Case.verified_at.is_not(None), Case.status == Status.CLOSED)).label("completed"),
        sa.func.count(Case.followup_working_days).label("followed_up"),
        mean(Case.followup_working_days, "followup"),
        _count_if(sa.and_(followed.is_not(None), due.is_not(None), followed <= due)).label("on_time"),
        _count_if(sa.and_(due.is_not(None), sa.or_(followed.is_not(None), due < now))).label("followup_decided"),
        sa.func.count(_verified_days()).label("verified"),
        mean(_verified_days(), "verification"),
        sa.func.coalesce(sa.func.sum(Case.disposition_count), 0).label("dispositions"),
        sa.func.coalesce(sa.func.sum(Case.rerouted_count), 0).label("rerouted"),
        mean(Case.rating, "rating"),
        sa.func.count(Case.rating).label("rated"),
        _count_if(open_case).label("backlog"),
        _count_if(sa.and_(open_case, Case.id.in_(overdue_cases))).label("overdue"),
        _count_if(Case.escalated.is_(True)).label("escalated"),
    ]


def _mean(value: Any, name: str) -> sa.ColumnElement[Any]:
    return sa.func.avg(value).label(f"{name}_mean")


def _sum(value: Any, name: str) -> sa.ColumnElement[Any]:
    return sa.func.sum(value).label(f"{name}_sum")


class Median:
    """The exact median as an SQLite aggregate (`aduan_median`); PostgreSQL has `percentile_cont`."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


def median(session: Session, value: sa.ColumnElement[Any] | QueryableAttribute[Any]) -> sa.ColumnElement[Any]:
    """An exact median aggregate of `value` (NULLs ignored): the mean of the middle two for an even count."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.percentile_cont(0.5).within_group(value)
    connection: Any = session.connection().connection.dbapi_connection
    connection.create_aggregate("aduan_median", 1, Median)  # per connection; registering again is harmless
    return sa.func.aduan_median(value)


def _medians(session: Session) -> list[sa.ColumnElement[Any]]:
    return [
        median(session, Case.followup_working_days).label("followup_median"),
        median(session, _verified_days()).label("verification_median"),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def _rate(numerator: int, denominator: int) -> float | None:
    return _round(numerator / denominator) if denominator else None


def _row(group: str | None, r: dict[str, Any]) -> dict[str, Any]:
    key = r.get("key")
    row: dict[str, Any] = {group: key} if group else {}
    counts = (
        "cases", "dispositioned", "completed", "followed_up", "on_time", "followup_decided", "verified",
        "dispositions", "rerouted", "backlog", "overdue", "escalated",
    )  # fmt: skip
    row.update(
        followup_speed={"mean": _round(r["followup_mean"]), "median": _round(r["followup_median"])},
        completion_rate=_rate(r["completed"], r["dispositioned"]),
        on_time_followup_rate=_rate(r["on_time"], r["followup_decided"]),
        verification_time={"mean": _round(r["verification_mean"]), "median": _round(r["verification_median"])},
        rerouting_rate=_rate(r["rerouted"], r["dispositions"]),
        satisfaction={"mean": _round(r["rating_mean"]), "count": r["rated"]},
        counts={"total" if name == "cases" else name: int(r[name]) for name in counts},
    )
    return row


def by_status(session: Session, condition: sa.ColumnElement[bool]) -> dict[str, int]:
    """How many cases are in each status (every status present, zero when none)."""
    counts = dict.fromkeys((s.value for s in Status), 0)
    query = sa.select(Case.status, sa.func.count()).where(condition).group_by(Case.status)
    counts.update({status: n for status, n in session.execute(query)})
    return counts


def ranking(by_agency: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Agencies with dispositioned cases, best first: score = mean of the on-time and completion rates.

    Ties on score go to the faster median follow-up; equal (score, median) share a rank (1, 1, 3).
    """
    entries = []
    for row in by_agency:
        rates = [r for r in (row["on_time_followup_rate"], row["completion_rate"]) if r is not None]
        if row["agency"] is None or not rates:
            continue
        median = row["followup_speed"]["median"]
        entries.append(
            {
                "agency": row["agency"],
                "score": _round(sum(rates) / len(rates)),
                "on_time_followup_rate": row["on_time_followup_rate"],
                "completion_rate": row["completion_rate"],
                "followup_speed_median": median,
                "cases": row["counts"]["total"],
            }
        )

    def order(entry: dict[str, Any]) -> tuple[float, bool, float, str]:
        median = entry["followup_speed_median"]
        return (-entry["score"], median is None, median or 0.0, entry["agency"])

    entries.sort(key=order)
    for position, entry in enumerate(entries, start=1):
        previous = entries[position - 2] if position > 1 else None
        same = previous is not None and order(previous)[:3] == order(entry)[:3]
        entry["rank"] = previous["rank"] if same and previous else position
    return entries


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter (triwulan), e.g. `2024Q2` = 1 April to 30 June 2024."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """`YYYYQn` (n 1..4); ValueError otherwise."""
        year, sep, number = text.strip().upper().partition("Q")
        if not (sep and year.isdigit() and len(year) == 4 and number in ("1", "2", "3", "4")):
            raise ValueError("a quarter such as 2024Q2")
        return cls(int(year), int(number))

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        following = Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        return date.fromordinal(following.start.toordinal() - 1)

    @property
    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


LATE_CASES = 25


def quarterly(session: Session, quarter: Quarter, agency: str | None, now: datetime) -> dict[str, Any]:
    """The coordination meeting's figures: `/stats` of every case (confidential ones too: an internal
    document) submitted in `quarter` and in the one before, and the quarter's overdue or escalated cases."""
    figures: dict[str, Any] = {}
    for name, period in (("current", quarter), ("previous", quarter.previous)):
        figures[name] = stats(session, _narrowed(Query(agency, period.start, period.end)), now)
    figures["late_cases"] = late_cases(session, _narrowed(Query(agency, quarter.start, quarter.end)), now)
    return figures


def late_cases(session: Session, condition: sa.ColumnElement[bool], now: datetime) -> list[dict[str, Any]]:
    """Open cases with a task past its deadline at `now`, or escalated: oldest first, at most `LATE_CASES`."""
    overdue = sa.select(TaskRecord.case_id).where(TaskRecord.state == TaskStatus.READY, TaskRecord.due_at < now)
    late = sa.or_(Case.escalated.is_(True), sa.and_(Case.status.not_in(FINAL), Case.id.in_(overdue)))
    columns = (Case.tracking_id, Case.title, Case.agency, Case.status, Case.escalated, Case.created_on)
    query = sa.select(*columns).where(condition, late).order_by(Case.created_on, Case.id).limit(LATE_CASES)
    return [row._asdict() for row in session.execute(query)]
