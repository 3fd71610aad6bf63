"""Exports: one case's history (JSON, CSV) and a period's cases (CSV, streamed in batches).

The JSON history is the verbatim trail (its hashes can be re-checked); CSV cells that a spreadsheet would
run as a formula (=, +, -, @ …) are prefixed with `'`. The period export reads only read-model columns,
shows the reporter's identity only where the caller's audience may see it, and logs auditors' reads.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from engine.audit import chain as audit
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.visibility import reporter_view, staff_audience
from engine.db import UTCDateTime

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HISTORY_COLUMNS = (
    "seq", "at", "type", "actor", "actor_role", "task", "status_from", "status_to", "elements", "changes", "data",
    "prev_hash", "hash",
)  # fmt: skip
CASE_COLUMNS = (
    "tracking_id", "created_at", "created_on", "status", "kind", "category", "agency", "desk", "channel",
    "entered_by", "anonymous", "confidential", "escalated", "escalation_level", "close_reason", "rating", "title",
    "verified_at", "verification_working_days", "dispositioned_at", "disposition_count", "rerouted_count",
    "first_follow_up_due_at", "first_follow_up_at", "followup_working_days", "closed_at",
)  # fmt: skip
REPORTER_COLUMNS = ("reporter_name", "reporter_email", "reporter_phone")
LOADED = (*CASE_COLUMNS, "reporter", "event_seq")


def cell(value: Any) -> str | int | float:
    """A CSV cell: ISO dates, JSON for structures, text that cannot run as a spreadsheet formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]], batch: int = 500) -> Iterator[str]:
    """CSV text in chunks of `batch` rows (the header first), for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow([cell(v) for v in row])
        if n % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def event_record(event: audit.Event) -> dict[str, Any]:
    fields = ("seq", "at", "type", "actor", "actor_role", "task", "data", "prev_hash", "hash")
    return {name: getattr(event, name) for name in fields}


def history_json(case: Case, events: list[audit.Event], exported_by: Actor, now: datetime) -> dict[str, Any]:
    """The whole trail with its chain status: what an auditor files away."""
    broken = audit.check_case(case, events)
    return {
        "tracking_id": case.tracking_id,
        "exported_at": now,
        "exported_by": exported_by.username,
        "chain": {"valid": broken is None, "broken": None if broken is None else vars(broken)},
        "events": [event_record(e) for e in events],
    }


def history_csv(events: list[audit.Event]) -> Iterator[str]:
    """One row per event; the status change in two columns, the rest of the data as JSON."""

    def row(event: audit.Event) -> list[Any]:
        data = dict(event.data)
        changes = data.pop("changes", {})
        elements = data.pop("elements", [])
        status_from, status_to = changes.get("status", (None, None))
        return [
            event.seq, event.at, event.type, event.actor, event.actor_role, event.task, status_from, status_to,
            " ".join(elements), changes, data, event.prev_hash, event.hash,
        ]  # fmt: skip

    return csv_lines(HISTORY_COLUMNS, (row(e) for e in events))


def log_auditor_reads(session: Session, actor: Actor, condition: sa.ColumnElement[bool], now: datetime) -> None:
    """One read-log row per case an auditor exports, in one INSERT … SELECT (the caller commits)."""
    if actor.role != "auditor":
        return
    columns = (
        Case.id,
        sa.literal(now, UTCDateTime()),
        sa.literal(actor.username),
        sa.literal(actor.role),
        sa.literal("export"),
    )
    rows = sa.select(*columns).where(condition)
    table = cast(sa.Table, audit.ReadLog.__table__)
    session.execute(sa.insert(table).from_select(["case_id", "at", "actor", "actor_role", "what"], rows))


def cases_rows(session: Session, actor: Actor, condition: sa.ColumnElement[bool]) -> Iterator[list[Any]]:
    """The matching cases, oldest first, fetched in batches; reporter columns blank where not visible."""
    query = (
        sa.select(Case)
        .options(load_only(*(getattr(Case, name) for name in LOADED)))
        .where(condition)
        .order_by(Case.created_at, Case.id)
        .execution_options(yield_per=1000)
    )
    for case in session.scalars(query):
        audience = staff_audience(session, actor, case)
        reporter = reporter_view(case, audience) if audience is not None else None
        identity = [(reporter or {}).get(key) for key in ("name", "email", "phone")]
        yield [*(getattr(case, name) for name in CASE_COLUMNS), *identity]


def cases_csv(session: Session, actor: Actor, condition: sa.ColumnElement[bool]) -> Iterator[str]:
    """The period's cases as CSV text chunks (stream them)."""
    return csv_lines((*CASE_COLUMNS, *REPORTER_COLUMNS), cases_rows(session, actor, condition))
