"""Notification jobs: deliver one outbox row to one reporter or staff member (e-mail, SMS)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from engine.cases.case import Case
from engine.channels import mail
from engine.notify import delivery as notify
from engine.notify import outbox
from engine.notify.outbox import OutboxMessage, OutboxStatus
from workers.host import current


class RetryLater(Exception):
    """The delivery failed and the row stays pending: rq retries the job after its backoff."""


def _send(config: dict[str, Any]) -> outbox.Send:
    chosen = notify.channels_from_config(config)

    def send(session: Session, row: OutboxMessage) -> None:
        case = session.get_one(Case, row.case_id) if row.case_id is not None else None
        to = notify.address_of(session, case, row.recipient, row.channel)
        params = row.payload.get("params", {})
        message = notify.render(case, row.payload["template"], params, to, row.key, config.get("PUBLIC_URL", ""))
        if case is not None and row.channel == notify.ChannelName.EMAIL and row.recipient == notify.REPORTER:
            message = replace(message, in_reply_to=mail.opening_message_id(session, case))  # under their first mail
        chosen[row.channel].send(message)
        if row.payload["template"] in notify.SECRET_TEMPLATES:
            row.payload = {"template": row.payload["template"], "params": {}}  # the secret leaves the database

    return send


def run_attempt(outbox_id: int, send_factory: Callable[[dict[str, Any]], outbox.Send]) -> OutboxStatus | None:
    """One delivery attempt of row `outbox_id` with the app's retry policy; RetryLater if still pending."""
    host = current()
    config = dict(host.config)
    with host.session() as session:
        status = outbox.attempt(
            session, outbox_id, send_factory(config),
            max_attempts=int(config.get("OUTBOX_MAX_ATTEMPTS", outbox.MAX_ATTEMPTS)),
            schedule=config.get("OUTBOX_BACKOFF") or outbox.BACKOFF,
        )  # fmt: skip
    if status == OutboxStatus.PENDING:
        raise RetryLater(f"outbox {outbox_id}: delivery failed, retrying later")
    return status


def send_notification(outbox_id: int) -> str | None:
    """Deliver notification row `outbox_id` (idempotent: a sent or dead row is left alone)."""
    status = run_attempt(outbox_id, _send)
    return status.value if status else None
