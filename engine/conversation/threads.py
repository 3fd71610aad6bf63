"""Messages of a case's thread: drafted from what a command was given, stored with its audit event.

A command (complete a task, reporter reply, post a message) turns the texts it carries into drafts,
puts them in its audit event's data (`messages`) and stores them as `message` rows pointing at that
event's `seq`, all in its own transaction. Which field of a task form becomes a message, and for whom,
is declared in the form schema itself (`x-aduan-message` on the property), so a process owner's new
task gets a thread entry without a code change:

    "reason": {"type": "string", "x-aduan-message": {"audience": "staff",
                                                     "audience_by": {"decision": {"reject": "reporter"}}}}

`audience` is the default; `audience_by` maps another field's value to the audience it implies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.cases.access import Actor
from engine.cases.attachments import Attachment
from engine.cases.case import Case
from engine.conversation.models import Message, MessageAudience
from engine.db import utcnow
from engine.errors import InvalidData

ANNOTATION = "x-aduan-message"
MAX_BODY = 5000
MAX_ATTACHMENTS = 10


@dataclass(frozen=True)
class Draft:
    """A message a command is about to write."""

    audience: MessageAudience
    body: str
    attachments: tuple[int, ...] = field(default_factory=tuple)

    def entry(self) -> dict[str, Any]:
        """The message as the audit event records it (its author is the event's actor)."""
        return {"audience": self.audience.value, "body": self.body, "attachments": list(self.attachments)}


def _audience_of(rule: Mapping[str, Any], data: Mapping[str, Any]) -> MessageAudience:
    for name, by_value in (rule.get("audience_by") or {}).items():
        value = data.get(name)
        if isinstance(value, str) and value in by_value:
            return MessageAudience(by_value[value])
    return MessageAudience(rule.get("audience", MessageAudience.STAFF))


def from_form(schema: Mapping[str, Any], data: Mapping[str, Any], attachments: Sequence[int] = ()) -> list[Draft]:
    """Drafts for every non-blank text field of validated form `data` that the schema marks as a message.

    The task's `attachments` go with its first message (the follow-up the photos document).
    """
    drafts: list[Draft] = []
    for name, prop in schema.get("properties", {}).items():
        rule = prop.get(ANNOTATION) if isinstance(prop, dict) else None
        text = data.get(name)
        if isinstance(rule, dict) and isinstance(text, str) and text.strip():
            files = tuple(attachments) if not drafts else ()
            drafts.append(Draft(_audience_of(rule, data), text.strip(), files))
    return drafts


def from_reply(reply: Mapping[str, Any]) -> list[Draft]:
    """The reporter's reply text (information asked for, why not satisfied, a closing word), if any."""
    text = reply.get("message")
    if isinstance(text, str) and text.strip():
        return [Draft(MessageAudience.REPORTER, text.strip())]
    return []


def check_attachments(session: Session, case: Case, ids: Any) -> tuple[int, ...]:
    """Attachment ids of files already uploaded to this case, or InvalidData naming `attachments`."""
    if ids is None:
        return ()
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidData("invalid attachments", {"attachments": ["a list of attachment ids"]})
    if len(ids) > MAX_ATTACHMENTS:
        raise InvalidData("too many attachments", {"attachments": [f"at most {MAX_ATTACHMENTS}"]})
    found = set(session.scalars(sa.select(Attachment.id).where(Attachment.case_id == case.id, Attachment.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        errors = {"attachments": [f"no attachment {i} on this complaint" for i in missing]}
        raise InvalidData("unknown attachments", errors)
    return tuple(dict.fromkeys(ids))


def store(session: Session, case: Case, actor: Actor, drafts: Iterable[Draft]) -> list[Message]:
    """Write the drafts as messages of the event the command just appended (`case.event_seq`)."""
    rows = [Message(**values) for values in columns(case, actor, drafts, utcnow())]
    session.add_all(rows)
    return rows


def columns(case: Case, actor: Actor, drafts: Iterable[Draft], now: datetime) -> list[dict[str, Any]]:
    """The column values of `store`'s rows (for a command that writes them with its other children)."""
    return [
        {
            "case_id": case.id, "event_seq": case.event_seq, "at": now, "author": actor.username,
            "author_role": actor.role, "audience": d.audience.value, "body": d.body, "attachments": list(d.attachments),
        }
        for d in drafts
    ]  # fmt: skip


def thread(session: Session, case: Case, audiences: Iterable[MessageAudience]) -> list[Message]:
    """The case's messages meant for `audiences`, oldest first."""
    wanted = [a.value for a in audiences]
    query = sa.select(Message).where(Message.case_id == case.id, Message.audience.in_(wanted))
    return list(session.scalars(query.order_by(Message.id)))


def published_files(session: Session, case: Case) -> set[int]:
    """Attachment ids staff published with a message to the reporter (public where the case is public)."""
    query = sa.select(Message.attachments).where(
        Message.case_id == case.id, Message.audience == MessageAudience.REPORTER, Message.author_role != "reporter"
    )
    return {i for ids in session.scalars(query) for i in ids}


def check_body(body: Any) -> str:
    """A message text: non-blank, at most MAX_BODY characters; InvalidData naming `body` otherwise."""
    if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
        raise InvalidData("invalid message", {"body": [f"a non-blank text of at most {MAX_BODY} characters"]})
    return body.strip()


def event_data(drafts: Sequence[Draft]) -> dict[str, Any]:
    """What the command's audit event records of its messages (nothing when there are none)."""
    return {"messages": [d.entry() for d in drafts]} if drafts else {}
