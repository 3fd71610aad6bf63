"""`/stats` from a snapshot kept by a background refresh plus the changes since (PostgreSQL).

Computing the figures when asked reads every case in scope: at 1 000 000 cases that is seconds whatever the
query (a binary COPY of just the columns read takes 1.5-2.3 s). So for the two shapes asked most, the whole
figures of everything (auditors, admins) and of every non-confidential case (the public figures), the
answer is assembled from three parts, each small:

* a **snapshot** (`stats_snapshot`, `stats_cell`): every count and sum of every group, with the exact
  medians and, for each median, a window of the values ranked around it. `refresh` builds it in one
  `REPEATABLE READ` transaction whose PostgreSQL snapshot it records, from the same aggregates as the live
  query (`figures._aggregates`), with the time-dependent counts judged at the snapshot's moment `taken_at`;
* the **changes since**: a trigger on `complaint` logs, for every row inserted, updated or deleted, the
  figures' columns as they were before (and the earliest deadline of the case's open tasks) with the
  writing transaction's id (`stats_delta`). The log entries whose transaction the snapshot does not see
  are the changes since; for each such case the earliest entry holds its row as the snapshot counted it.
  Its old contribution is taken out and its current one (read now) put in;
* **the clock**: "overdue" and "follow-up decided" depend on the moment asked. For a case that has not
  changed since the snapshot they change only when a deadline passes between `taken_at` and now: read from
  the open tasks due in that interval and the unfollowed cases due in it (both indexed).

Medians: a change moves a group's median by at most as many ranks as values came or went, so the new median
is read from the window (with the values that came and went) when it falls inside; otherwise, or with no
snapshot yet, the caller computes the figures live. Every figure equals the live query's
(tests/engine/stats/test_rollup.py compares them after random changes).

Other scopes (an officer's subtree, a period, a process owner's jurisdiction) are computed live.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.cases.case import Case, Status
from engine.db import Base, UTCDateTime, utcnow
from engine.stats import figures

log = logging.getLogger(__name__)

SCOPES = ("all", "public")
DIMS = ("status", *figures.GROUPS)
WINDOW = 500
"""Values kept on each side of a median: how many cases of one group may change before its median can no
longer be read from the snapshot (the refresh runs long before that)."""
REFRESH_WORK_MEM = "512MB"

FACTS = (
    "status", "confidential", "agency", "category", "kind", "channel", "created_on", "area", "verified_at",
    "first_follow_up_at", "first_follow_up_due_at", "followup_working_days", "verification_working_days",
    "disposition_count", "rerouted_count", "rating", "escalated",
)  # fmt: skip
"""The case's columns its figures are computed from (the trigger logs them as they were)."""

COUNTS = (
    "cases", "dispositioned", "completed", "followed_up", "on_time", "followup_decided", "verified",
    "dispositions", "rerouted", "rated", "backlog", "overdue", "escalated",
)  # fmt: skip
SUMS = ("followup_sum", "verification_sum", "rating_sum")
METRICS = {"followup": "followup_working_days", "verification": "verification_working_days"}


class StatsSnapshot(Base):
    """One refresh of the figures: the PostgreSQL snapshot it saw and the moment its overdue counts judged."""

    __tablename__ = "stats_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    visible: Mapped[str] = mapped_column(sa.Text)  # pg_snapshot as text: which transactions it saw
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())  # "now" of its time-dependent counts
    window: Mapped[int]
    seconds: Mapped[float]  # how long the refresh took


class StatsCell(Base):
    """The figures of one group of one scope in one snapshot (dim '' = every case of the scope)."""

    __tablename__ = "stats_cell"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("stats_snapshot.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(sa.String(8))
    dim: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str | None] = mapped_column(sa.String(200))
    cases: Mapped[int] = mapped_column(sa.BigInteger)
    dispositioned: Mapped[int] = mapped_column(sa.BigInteger)
    completed: Mapped[int] = mapped_column(sa.BigInteger)
    followed_up: Mapped[int] = mapped_column(sa.BigInteger)
    on_time: Mapped[int] = mapped_column(sa.BigInteger)
    followup_decided: Mapped[int] = mapped_column(sa.BigInteger)
    verified: Mapped[int] = mapped_column(sa.BigInteger)
    dispositions: Mapped[int] = mapped_column(sa.BigInteger)
    rerouted: Mapped[int] = mapped_column(sa.BigInteger)
    rated: Mapped[int] = mapped_column(sa.BigInteger)
    backlog: Mapped[int] = mapped_column(sa.BigInteger)
    overdue: Mapped[int] = mapped_column(sa.BigInteger)
    escalated: Mapped[int] = mapped_column(sa.BigInteger)
    followup_sum: Mapped[float | None]
    verification_sum: Mapped[float | None]
    rating_sum: Mapped[int | None] = mapped_column(sa.BigInteger)
    followup_median: Mapped[float | None]
    verification_median: Mapped[float | None]
    followup_window: Mapped[list[float] | None] = mapped_column(sa.ARRAY(sa.Float).with_variant(sa.JSON, "sqlite"))
    verification_window: Mapped[list[float] | None] = mapped_column(sa.ARRAY(sa.Float).with_variant(sa.JSON, "sqlite"))


class StatsDelta(Base):
    """A case row as it was before a write (`existed` false: the write inserted it), logged by a trigger."""

    __tablename__ = "stats_delta"

    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    xid: Mapped[int] = mapped_column(sa.BigInteger)  # the writing transaction (pg_current_xact_id)
    case_id: Mapped[int]
    existed: Mapped[bool]
    status: Mapped[str | None] = mapped_column(sa.String(20))
    confidential: Mapped[bool | None]
    agency: Mapped[str | None] = mapped_column(sa.String(200))
    category: Mapped[str | None] = mapped_column(sa.String(64))
    kind: Mapped[str | None] = mapped_column(sa.String(32))
    channel: Mapped[str | None] = mapped_column(sa.String(32))
    created_on: Mapped[date | None] = mapped_column(sa.Date)
    area: Mapped[str | None] = mapped_column(sa.String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_follow_up_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    followup_working_days: Mapped[float | None]
    verification_working_days: Mapped[float | None]
    disposition_count: Mapped[int | None]
    rerouted_count: Mapped[int | None]
    rating: Mapped[int | None]
    escalated: Mapped[bool | None]
    min_due: Mapped[datetime | None] = mapped_column(UTCDateTime())  # earliest deadline of its open tasks


# ---------------------------------------------------------------------------------------------- refresh


def refresh(bind: sa.Engine, now: datetime | None = None, window: int = WINDOW) -> int | None:
    """Build a new snapshot (one REPEATABLE READ transaction) and drop what no reader needs any more.

    Returns the new snapshot's id, or None when another refresh holds the lock (several schedulers)."""
    began = time.perf_counter()
    connection = bind.connect().execution_options(isolation_level="REPEATABLE READ")
    with connection, Session(connection) as session:
        visible, taken_at = session.execute(sa.select(sa.func.pg_current_snapshot().cast(sa.Text), sa.func.now())).one()
        if not session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(REFRESH_LOCK))):
            return None
        moment = now or taken_at
        previous = newest(session)
        snapshot = StatsSnapshot(visible=visible, taken_at=moment, window=window, seconds=0.0)
        session.add(snapshot)
        session.flush()
        _fill(session, snapshot, moment, window)
        _forget(session, previous)
        snapshot.seconds = time.perf_counter() - began
        session.commit()
        log.info("stats snapshot %d in %.1f s", snapshot.id, snapshot.seconds)
        made = snapshot.id
    _vacuum_log(bind)
    return made


def _vacuum_log(bind: sa.Engine) -> None:
    """Make the dropped log entries' room reusable now (autovacuum would, later, if on): the log stays the
    size of what two refresh intervals write."""
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM stats_delta"))


REFRESH_LOCK = 0x57A75  # pg_try_advisory_xact_lock key: one refresh at a time


def newest(session: Session) -> StatsSnapshot | None:
    """The latest snapshot (readers use it; a refresh builds the next one after it)."""
    return session.execute(sa.select(StatsSnapshot).order_by(StatsSnapshot.id.desc()).limit(1)).scalar()


def _forget(session: Session, previous: StatsSnapshot | None) -> None:
    """Readers use the newest snapshot or, for a moment, the one before: drop older ones, and the log entries
    the one before already saw (the changes since it are still needed by a reader that holds it)."""
    if previous is None:
        return
    session.execute(sa.delete(StatsSnapshot).where(StatsSnapshot.id < previous.id))
    seen = sa.func.pg_visible_in_snapshot(
        sa.cast(sa.cast(StatsDelta.xid, sa.Text), XID8), sa.cast(sa.literal(previous.visible), PG_SNAPSHOT)
    )
    session.execute(sa.delete(StatsDelta).where(seen))


class _PgType(sa.types.UserDefinedType[Any]):
    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **kw: Any) -> str:
        return self.name


XID8, PG_SNAPSHOT = _PgType("xid8"), _PgType("pg_snapshot")


def _fill(session: Session, snapshot: StatsSnapshot, now: datetime, window: int) -> None:
    """Insert the snapshot's cells: every group of both scopes from one hashed `GROUPING SETS` query."""
    session.execute(
        sa.select(sa.func.set_config("jit", "off", True), sa.func.set_config("work_mem", REFRESH_WORK_MEM, True))
    )
    keys = [Case.confidential, *(figures.group_key(session, dim) if dim != "status" else Case.status for dim in DIMS)]
    values = {"followup": Case.followup_working_days, "verification": figures._verified_days()}
    arrays = [sa.func.array_agg(v).filter(v.is_not(None)).label(f"{m}_values") for m, v in values.items()]
    sets = [sa.text("()"), sa.tuple_(keys[0])]
    for key in keys[1:]:
        sets += [sa.tuple_(key), sa.tuple_(keys[0], key)]
    grouped = (
        sa.select(
            sa.func.grouping(*keys).label("grouping_set"),
            *(key.label(f"key_{i}") for i, key in enumerate(keys)),
            *figures._aggregates(now, sums=True),
            *arrays,
        )
        .group_by(sa.func.grouping_sets(*sets))
        .subquery("grouped")
    )
    scope, dim, key = _decode(grouped, len(keys))
    confidential_set = grouped.c.key_0.is_(True) & (grouped.c.grouping_set.op("&")(1 << (len(keys) - 1)) == 0)
    columns: dict[str, sa.ColumnElement[Any]] = {
        "snapshot_id": sa.literal(snapshot.id), "scope": scope, "dim": dim, "key": key,
        **{name: grouped.c[name] for name in (*COUNTS, *SUMS)},
    }  # fmt: skip
    for metric in METRICS:
        columns[f"{metric}_window"] = sa.func.stats_window(grouped.c[f"{metric}_values"], window)
    select = sa.select(*(c.label(n) for n, c in columns.items())).where(~confidential_set)
    session.execute(sa.insert(StatsCell).from_select(list(columns), select))
    medians = {  # from the windows, which hold the middle values already sorted (no second sort of every group)
        StatsCell.followup_median: sa.func.stats_window_median(
            StatsCell.followup_window, StatsCell.followed_up, window
        ),
        StatsCell.verification_median: sa.func.stats_window_median(
            StatsCell.verification_window, StatsCell.verified, window
        ),
    }
    session.execute(sa.update(StatsCell).where(StatsCell.snapshot_id == snapshot.id).values(medians))


def _decode(grouped: sa.Subquery, n: int) -> tuple[Any, Any, Any]:
    """(scope, dim, key) of a row of the grouped query from its `GROUPING(...)` bits: bit i from the left is
    1 when key i is not grouped on; key 0 is `confidential` (grouped on: the public scope's rows)."""
    everything = (1 << n) - 1
    scopes: dict[int, str] = {}
    dims: dict[int, str] = {}
    keys: dict[int, sa.ColumnElement[Any]] = {}
    for with_confidential in (False, True):
        base = everything ^ (1 << (n - 1)) if with_confidential else everything
        scope = "public" if with_confidential else "all"
        scopes[base], dims[base], keys[base] = scope, "", sa.null()
        for i, name in enumerate(DIMS, start=1):
            bits = base ^ (1 << (n - 1 - i))
            scopes[bits], dims[bits], keys[bits] = scope, name, grouped.c[f"key_{i}"]
    gs = grouped.c.grouping_set
    key = sa.case(*((gs == bits, sa.cast(column, sa.String)) for bits, column in keys.items()), else_=sa.null())
    return sa.case(scopes, value=gs), sa.case(dims, value=gs), key


# ---------------------------------------------------------------------------------------------- reading


@dataclass
class Group:
    """The running figures of one group: counts and sums, and per median the snapshot's window and what
    came and went since."""

    cell: int | None = None  # its row in the snapshot (None: a group that came since)
    counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys((*COUNTS, *SUMS), 0))
    median: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(METRICS))
    window: dict[str, tuple[float, float, int] | None] = field(default_factory=lambda: dict.fromkeys(METRICS))
    """Per median: the first and last value of the snapshot's window, and how many values it holds."""
    came: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    went: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})


class Unknown(Exception):
    """A median the snapshot's window cannot tell (too many changes since): compute the figures live."""


def answer(session: Session, scope: str, now: datetime) -> dict[str, Any] | None:
    """The whole `/stats` answer of `scope` ("all" or "public") at `now`, or None to compute it live."""
    snapshot = newest(session)
    if snapshot is None:
        return None
    groups = _cells(session, snapshot, scope)
    if groups is None:
        return None  # dropped by a refresh meanwhile, or a scope with no case when it was taken: live
    for sign, facts, at in _changes(session, snapshot, now):
        if scope == "public" and facts["confidential"]:
            continue
        _apply(groups, sign, facts, at)
    if session.scalar(sa.select(StatsSnapshot.id).where(StatsSnapshot.id == snapshot.id)) is None:
        return None  # two refreshes ended meanwhile: the second may have dropped changes this one needs
    try:
        _medians(session, groups, snapshot.window)
    except Unknown:
        log.info("stats: a median moved out of snapshot %d's window; computed live", snapshot.id)
        return None
    return _assemble(session, groups)


def _cells(session: Session, snapshot: StatsSnapshot, scope: str) -> dict[tuple[str, str | None], Group] | None:
    """The snapshot's groups of `scope`: counts, sums, medians and their windows' ends (not the windows)."""
    columns: list[Any] = [StatsCell.id, StatsCell.dim, StatsCell.key]
    columns += [getattr(StatsCell, name) for name in (*COUNTS, *SUMS)]
    for metric in METRICS:
        window = getattr(StatsCell, f"{metric}_window")
        size = sa.func.coalesce(sa.func.cardinality(window), 0)
        columns += [getattr(StatsCell, f"{metric}_median"), window[1], window[size], size]
    query = sa.select(*columns).where(StatsCell.snapshot_id == snapshot.id, StatsCell.scope == scope)
    groups: dict[tuple[str, str | None], Group] = {}
    for row in session.execute(query):
        cell, dim, key, *rest = row
        group = groups[(dim, key)] = Group(cell=cell)
        group.counts = {name: value or 0 for name, value in zip((*COUNTS, *SUMS), rest, strict=False)}
        ends = rest[len(COUNTS) + len(SUMS) :]
        for i, metric in enumerate(METRICS):
            median, first, last, size = ends[4 * i : 4 * i + 4]
            group.median[metric] = median
            group.window[metric] = (first, last, size) if size else None
    return groups or None


def _changes(
    session: Session, snapshot: StatsSnapshot, now: datetime
) -> Iterable[tuple[int, dict[str, Any], datetime]]:
    """(sign, facts, moment) of every contribution that differs from the snapshot's, read in one statement
    (one view of the database): the cases changed since, as the snapshot counted them (-1) and as they are
    (+1), and the unchanged cases a deadline passed for between the snapshot's moment and `now`."""
    t0 = snapshot.taken_at
    low, high, sign = (t0, now, 1) if now >= t0 else (now, t0, -1)
    statement = sa.text(CHANGES).bindparams(visible=snapshot.visible, low=low, high=high)
    for row in session.execute(statement).mappings():
        facts = dict(row)
        part = facts.pop("part")
        if part == "old":
            yield -1, facts, t0
        elif part == "new":
            yield 1, facts, now
        else:  # a deadline passed: +1 of that figure only (judged at now, minus judged at the snapshot)
            yield sign, {**facts, "only": part}, now


_COLUMNS = ", ".join(FACTS)
_CURRENT = ", ".join(f"c.{name}" for name in FACTS)
_READY_DUE = "SELECT min(t.due_at) FILTER (WHERE t.state = 'ready') FROM task t WHERE t.case_id = c.id"
CHANGES = f"""
WITH changed AS (
    SELECT DISTINCT ON (case_id) *
    FROM stats_delta
    WHERE NOT pg_visible_in_snapshot(xid::text::xid8, CAST(:visible AS pg_snapshot))
    ORDER BY case_id, seq
)
SELECT 'old' AS part, {_COLUMNS}, min_due FROM changed WHERE existed
UNION ALL
SELECT 'new', {_CURRENT}, ({_READY_DUE}) FROM complaint c WHERE c.id IN (SELECT case_id FROM changed)
UNION ALL
SELECT 'overdue', {_CURRENT}, NULL FROM complaint c
WHERE c.status NOT IN ('closed', 'archived') AND c.id NOT IN (SELECT case_id FROM changed)
  AND c.id IN (SELECT case_id FROM task WHERE state = 'ready' AND due_at >= :low AND due_at < :high)
  AND NOT EXISTS (SELECT 1 FROM task t WHERE t.case_id = c.id AND t.state = 'ready' AND t.due_at < :low)
UNION ALL
SELECT 'decided', {_CURRENT}, NULL FROM complaint c
WHERE c.first_follow_up_at IS NULL AND c.first_follow_up_due_at >= :low AND c.first_follow_up_due_at < :high
  AND c.id NOT IN (SELECT case_id FROM changed)
"""


def contribution(facts: dict[str, Any], at: datetime) -> dict[str, float]:
    """One case's part of every count and sum, judged at `at` (the README's "KPIs"; as `figures._aggregates`)."""
    only = facts.get("only")
    if only == "overdue":
        return {"overdue": 1}
    if only == "decided":
        return {"followup_decided": 1}
    verified, followed, due = facts["verified_at"], facts["first_follow_up_at"], facts["first_follow_up_due_at"]
    followup, verification = facts["followup_working_days"], facts["verification_working_days"]
    verification = verification if verified is not None else None
    is_open = facts["status"] not in figures.FINAL
    return {
        "cases": 1,
        "dispositioned": verified is not None,
        "completed": verified is not None and facts["status"] == Status.CLOSED,
        "followed_up": followup is not None,
        "followup_sum": followup or 0.0,
        "on_time": followed is not None and due is not None and followed <= due,
        "followup_decided": due is not None and (followed is not None or due < at),
        "verified": verification is not None,
        "verification_sum": verification or 0.0,
        "dispositions": facts["disposition_count"] or 0,
        "rerouted": facts["rerouted_count"] or 0,
        "rating_sum": facts["rating"] or 0,
        "rated": facts["rating"] is not None,
        "backlog": is_open,
        "overdue": is_open and facts["min_due"] is not None and facts["min_due"] < at,
        "escalated": facts["escalated"] is True,
    }


def keys_of(facts: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The groups a case counts in: every case's ('', None), then one per dimension."""
    month = facts["created_on"].strftime("%Y-%m") if facts["created_on"] is not None else None
    return [("", None), *((dim, month if dim == "month" else facts[dim]) for dim in DIMS)]


def _apply(groups: dict[tuple[str, str | None], Group], sign: int, facts: dict[str, Any], at: datetime) -> None:
    parts = contribution(facts, at)
    for key in keys_of(facts):
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group()
        for name, value in parts.items():
            group.counts[name] += sign * value
        if "only" in facts or key[0] == "status":
            continue
        for metric, column in METRICS.items():
            duration = facts[column] if metric == "followup" or facts["verified_at"] is not None else None
            if duration is not None:
                (group.came if sign > 0 else group.went)[metric].append(duration)


def _medians(session: Session, groups: dict[tuple[str, str | None], Group], window: int) -> None:
    """Every group's medians: the snapshot's where nothing came or went, else read from its window."""
    asks: list[tuple[Group, str, list[int], list[float], list[float]]] = []
    for (dim, _key), group in groups.items():
        if dim == "status":
            continue
        for metric in METRICS:
            came, went = _net(group.came[metric], group.went[metric])
            if not came and not went:
                continue
            n = int(group.counts["followed_up" if metric == "followup" else "verified"])
            group.median[metric] = None
            if n == 0:
                continue
            ranks = [(n + 1) // 2] if n % 2 else [n // 2, n // 2 + 1]
            local, came, went = _local(ranks, n - len(came) + len(went), group.window[metric], came, went, window)
            asks.append((group, metric, local, came, went))
    if not asks:
        return
    found = _kth(session, [(g.cell, m, came, went, rank) for g, m, ranks, came, went in asks for rank in ranks])
    position = 0
    for group, metric, ranks, *_ in asks:
        picked = found[position : position + len(ranks)]
        position += len(ranks)
        group.median[metric] = picked[0] if len(picked) == 1 else picked[0] + (picked[1] - picked[0]) * 0.5


def _net(came: list[float], went: list[float]) -> tuple[list[float], list[float]]:
    """What came and what went, less the values that did both (a case changed, its duration did not)."""
    arrived, left = Counter(came), Counter(went)
    return sorted((arrived - left).elements()), sorted((left - arrived).elements())


def _local(
    ranks: list[int],
    before: int,
    ends: tuple[float, float, int] | None,
    came: list[float],
    went: list[float],
    window: int,
) -> tuple[list[int], list[float], list[float]]:
    """The ranks within (window + came - went), and the values that came and went within the window's range.

    Raises Unknown when a rank falls outside the window (more changes than it covers)."""
    if before == 0:  # a group (or a duration) the snapshot did not have: only what came
        return ranks, came, []
    if ends is None:
        raise Unknown()
    first, last, size = ends
    lo = max(1, (before + 1) // 2 - window)  # the rank of the window's first value (as stats_window cuts it)
    below = lo - 1 - sum(1 for v in went if v < first) + sum(1 for v in came if v < first)
    came, went = [v for v in came if first <= v <= last], [v for v in went if first <= v <= last]
    size += len(came) - len(went)
    local = [rank - below for rank in ranks]
    if any(r < 1 or r > size for r in local):
        raise Unknown()
    return local, came, went


def _kth(session: Session, asks: list[tuple[int | None, str, list[float], list[float], int]]) -> list[float]:
    """The k-th smallest of (a cell's window + came - went) for each ask, in one statement (`stats_kth`)."""
    rows = sa.values(
        sa.column("n", sa.Integer), sa.column("cell", sa.Integer), sa.column("metric", sa.String),
        sa.column("came", sa.ARRAY(sa.Float)), sa.column("went", sa.ARRAY(sa.Float)), sa.column("k", sa.Integer),
        name="asks",
    ).data([(i, *ask) for i, ask in enumerate(asks)])  # fmt: skip
    window = sa.case((rows.c.metric == "followup", StatsCell.followup_window), else_=StatsCell.verification_window)
    query = (
        sa.select(rows.c.n, sa.func.stats_kth(window, rows.c.came, rows.c.went, rows.c.k))
        .select_from(rows.outerjoin(StatsCell, StatsCell.id == rows.c.cell))
        .order_by(rows.c.n)
    )
    return [value for _n, value in session.execute(query)]


def _assemble(session: Session, groups: dict[tuple[str, str | None], Group]) -> dict[str, Any]:
    """The `/stats` answer, shaped as `figures.stats` shapes the live one (groups in the database's order)."""
    overall = figures._row(None, _raw(groups[("", None)]))
    overall["counts"]["by_status"] = dict.fromkeys((s.value for s in Status), 0)
    for (dim, key), group in groups.items():
        if dim == "status" and group.counts["cases"] > 0 and key is not None:
            overall["counts"]["by_status"][key] = int(group.counts["cases"])
    answer: dict[str, Any] = {**overall}
    for dim in figures.GROUPS:
        present = [key for (d, key), group in groups.items() if d == dim and group.counts["cases"] > 0]
        answer[f"by_{dim}"] = [
            figures._row(dim, {**_raw(groups[(dim, key)]), "key": key}) for key in _ordered(session, present)
        ]
    answer["ranking"] = figures.ranking(answer["by_agency"])
    return answer


def _raw(group: Group) -> dict[str, Any]:
    c = group.counts

    def mean(total: float, count: float) -> float | None:
        return total / count if count else None

    return {
        **{name: int(c[name]) for name in COUNTS},
        "followup_mean": mean(c["followup_sum"], c["followed_up"]),
        "verification_mean": mean(c["verification_sum"], c["verified"]),
        "rating_mean": mean(c["rating_sum"], c["rated"]),
        "followup_median": group.median.get("followup"),
        "verification_median": group.median.get("verification"),
    }


def _ordered(session: Session, keys: list[str | None]) -> list[str | None]:
    """The keys in the order the live query gives them (the database's collation, empty first)."""
    named = [key for key in keys if key is not None]
    order = sa.text("SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k")
    ordered = [k for (k,) in session.execute(order, {"keys": named})] if named else []
    return ([None] if None in keys else []) + ordered


def due(session: Session, max_age: float, max_changes: int, now: datetime | None = None) -> bool:
    """Whether a refresh is due: no snapshot, the newest older than `max_age` seconds, or more than
    `max_changes` log entries (each one a case to re-read, and a median window to stretch)."""
    snapshot = newest(session)
    if snapshot is None:
        return True
    logged = session.scalar(sa.select(sa.func.count()).select_from(StatsDelta)) or 0
    age = ((now or utcnow()) - snapshot.taken_at).total_seconds()
    return logged > max_changes or age > max_age
