"""Posting a message without moving the lifecycle: a staff note or a message to the reporter, or the
reporter's extra information while nothing waits for a reply.

Like every command it is one transaction on the case row: bump the case (optimistic `version`, so it
serialises with lifecycle commands), append a `message_posted` audit event carrying the message, store
the message, and write the reporter's notification to the outbox. Nothing is ever edited or deleted.
"""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy.orm import Session

from engine.audit import chain as audit
from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.cases.case import Case, hash_token
from engine.conversation.models import Message, MessageAudience
from engine.conversation.threads import Draft, check_attachments, check_body, store
from engine.db import utcnow
from engine.errors import Conflict, InvalidData
from engine.notify import outbox

POSTED = "message_posted"


def _audience(actor: Actor, audience: Any) -> MessageAudience:
    """A reporter always writes to the reporter thread; staff choose, `staff` (internal) by default."""
    if actor.role == "reporter":
        return MessageAudience.REPORTER
    if audience is None:
        return MessageAudience.STAFF
    if audience not in tuple(MessageAudience):
        raise InvalidData("invalid message", {"audience": ["one of reporter, staff"]})
    return MessageAudience(audience)


def post_message(
    session: Session, case: Case, actor: Actor, body: Any, audience: Any = None, attachments: Any = None
) -> Message:
    """Add one message to the case's thread (a new audit event); returns it, committed."""
    with lifecycle.transaction(session):
        draft = Draft(_audience(actor, audience), check_body(body), check_attachments(session, case, attachments))
        case.updated_at = utcnow()
        event = audit.link(case, POSTED, actor, {"messages": [draft.entry()]})
        session.flush()  # the case row first, as every command writes it (lock order)
        session.add(event)
        (message,) = store(session, case, actor, [draft])
        outbox.record(session, case, event, [])
        session.flush()
    return message


def send_codes(session: Session, case: Case, token: str) -> bool:
    """E-mail the reporter their tracking number and secret code, asked for by the holder of that code;
    False when the complaint has no e-mail address. The caller commits; delivery forgets the code."""
    if not hmac.compare_digest(hash_token(token), case.reporter_token_hash):
        raise InvalidData("wrong secret code", {"token": ["not this complaint's secret code"]})
    return outbox.record_for_reporter(session, case, "secret_code", {"token": token})


def refuse_change(message_id: int) -> None:
    """Messages are part of the audit trail: an edit or a deletion is always refused (HTTP 409)."""
    raise Conflict(f"message {message_id} cannot be changed or deleted; post another message instead")
