"""The outbox: notifications and webhooks written in the case's transaction, delivered after it commits.

A command's rows commit (or roll back) with the command, so a message is never sent for a change that did
not happen and never lost for one that did. After commit, whoever runs the command hands the new row ids
to a dispatcher (an rq enqueue, or the in-process loop); a relay picks up rows a crash or an outage left
pending. Delivery is at-least-once per row: `attempt` locks the row, and a row is sent, retried with
backoff or dead-lettered; each message carries its row's stable key so a receiver can drop a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.audit.chain import Event
from engine.cases.case import Case
from engine.channels import clients
from engine.db import Base, JSONType, UTCDateTime, case_reference, utcnow
from engine.directory.agencies import in_subtree
from engine.notify import delivery as notify
from engine.notify import webhooks

if TYPE_CHECKING:
    from engine.directory.snapshot import Snapshot

NEW_ROWS = "aduan.outbox.new"  # session.info key: (id, kind) of rows written in the open transaction
BACKOFF = (10, 60, 300, 1800)  # seconds before the 2nd, 3rd, … attempt
MAX_ATTEMPTS = 5


class OutboxKind(StrEnum):
    NOTIFICATION = "notification"
    WEBHOOK = "webhook"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class OutboxMessage(Base):
    """One message to one recipient (a reference, never an address), and where its delivery stands."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(case_reference(), index=True)  # None: about an account
    event_seq: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))
    channel: Mapped[str] = mapped_column(sa.String(16))
    recipient: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def key(self) -> str:
        """Stable across retries: the idempotency key a receiver may deduplicate on."""
        return f"aduan-outbox-{self.id}"


def _row(
    case: Case, event: Event, kind: OutboxKind, channel: str, recipient: str, payload: dict[str, Any]
) -> OutboxMessage:
    return OutboxMessage(
        case_id=case.id, event_seq=event.seq, kind=kind, channel=channel, recipient=recipient, payload=payload,
        next_attempt_at=event.at, created_at=event.at,
    )  # fmt: skip


def _webhook_row(case: Case, event: Event, endpoint_id: int, payload: dict[str, Any]) -> Any:
    recipient = f"{webhooks.ENDPOINT_PREFIX}{endpoint_id}"
    return _row(case, event, OutboxKind.WEBHOOK, notify.ChannelName.WEBHOOK, recipient, payload)


def record(session: Session, case: Case, event: Event, notifications: Sequence[dict[str, Any]]) -> None:
    """Write the outbox rows of one command's event now (flushes)."""
    rows = messages(session, case, event, notifications)
    if rows:
        session.add_all(rows)
        session.flush()
        remember(session, [(r.id, r.kind) for r in rows])


def messages(
    session: Session,
    case: Case,
    event: Event,
    notifications: Sequence[dict[str, Any]],
    config: Snapshot | None = None,
    followed: bool | None = None,
) -> list[OutboxMessage]:
    """The outbox rows of one command's event (not added): the diagram's notifications, the reporter's, webhooks.

    With the command's configuration snapshot, staff and webhook endpoints come from it (no SELECT); with
    `followed` False (the case has no followers, as the command read with the case) none are looked up."""
    requested = [(n["template"], dict(n.get("params") or {})) for n in notifications]
    changes, channel = event.data.get("changes", {}), event.data.get("channel")
    notices = notify.message_notices(event.data, event.actor_role)
    requested += notify.reporter_requests(event.type, changes, notices, channel)
    if followed is not False:
        requested += [(name, {}) for name in notify.follower_templates(event.data)]
    rows = [
        _row(case, event, OutboxKind.NOTIFICATION, channel, who, {"template": template, "params": params})
        for template, params in requested
        for who, channel in notify.recipients(session, case, template, params, config.staff_for if config else None)
    ]
    data = webhooks.payload(case, event)
    if config is not None:
        endpoints = [
            (i, root) for i, root in config.endpoints if in_subtree(case.agency, root) or in_subtree(case.desk, root)
        ]
    else:
        endpoints = [(e.id, e.agency) for e in webhooks.endpoints_for(session, case)]
    rows += [_webhook_row(case, event, i, data) for i, _agency in endpoints]
    own = [i for i, agency in endpoints if agency == case.agency]  # the endpoints of the case's own agency
    external = config.external if config is not None else None
    handover = clients.handover_payload(session, event.data.get("changes", {}), data, external) if own else None
    if handover is not None:  # the external agency's own systems take the case over
        rows += [_webhook_row(case, event, i, handover) for i in own]
    return rows


def remember(session: Session, rows: list[tuple[int, str]]) -> None:
    """Note rows written in the open transaction, for `take_new` after commit."""
    session.info.setdefault(NEW_ROWS, []).extend(rows)


def record_for_reporter(session: Session, case: Case, template: str, params: dict[str, Any]) -> bool:
    """One e-mail to the case's reporter outside any command (e.g. their codes, on request); False when
    they gave no e-mail address."""
    email, _phone = notify.reporter_contact(session, case)
    if email:
        _add_email(session, case.id, case.event_seq, notify.REPORTER, template, params)
    return bool(email)


def record_for_user(session: Session, username: str, template: str, params: dict[str, Any]) -> None:
    """One e-mail to a user about their account (not about a case), delivered like every other row."""
    _add_email(session, None, 0, notify.USER_PREFIX + username, template, params)


def _add_email(
    session: Session, case_id: int | None, seq: int, recipient: str, template: str, params: dict[str, Any]
) -> None:
    now = utcnow()
    row = OutboxMessage(
        case_id=case_id, event_seq=seq, kind=OutboxKind.NOTIFICATION, channel=notify.ChannelName.EMAIL,
        recipient=recipient, payload={"template": template, "params": params}, next_attempt_at=now, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    session.info.setdefault(NEW_ROWS, []).append((row.id, row.kind))


def take_new(session: Session) -> list[tuple[int, str]]:
    """(id, kind) of the rows the just-committed transaction wrote (cleared; call after commit or rollback)."""
    return list(session.info.pop(NEW_ROWS, []))


def due(session: Session, before: datetime, limit: int = 500) -> list[tuple[int, str]]:
    """(id, kind) of pending rows whose next attempt is due before `before`, oldest first."""
    query = (
        sa.select(OutboxMessage.id, OutboxMessage.kind)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= before)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    )
    return [(row.id, row.kind) for row in session.execute(query)]


def backoff(attempts: int, schedule: Sequence[int] = BACKOFF) -> timedelta:
    """Delay before the attempt that follows attempt number `attempts` (1-based)."""
    return timedelta(seconds=schedule[min(attempts, len(schedule)) - 1])


Send = Callable[[Session, OutboxMessage], None]  # delivers one row or raises


def attempt(
    session: Session,
    outbox_id: int,
    send: Send,
    max_attempts: int = MAX_ATTEMPTS,
    schedule: Sequence[int] = BACKOFF,
) -> OutboxStatus | None:
    """Try to deliver one pending row under its row lock and record the outcome; commits.

    Returns the row's new status, or None when there was nothing to do (gone, already sent or dead).
    A failure leaves the row pending with `next_attempt_at` pushed back, or dead after `max_attempts`
    or a permanent error.
    """
    row = session.get(OutboxMessage, outbox_id, with_for_update=True, populate_existing=True)
    if row is None or row.status != OutboxStatus.PENDING:
        session.rollback()
        return None
    row.attempts += 1
    now = utcnow()
    try:
        send(session, row)
    except Exception as exc:  # any failure counts, so a poison message ends dead instead of looping
        permanent = isinstance(exc, notify.DeliveryError) and exc.permanent
        row.last_error = (str(exc) if isinstance(exc, notify.DeliveryError) else f"{type(exc).__name__}: {exc}")[:2000]
        dead = permanent or row.attempts >= max_attempts
        row.status = OutboxStatus.DEAD if dead else OutboxStatus.PENDING
        row.next_attempt_at = now + backoff(row.attempts, schedule)
    else:
        row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, None
    status = OutboxStatus(row.status)
    session.commit()
    return status
