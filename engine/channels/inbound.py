"""Inbound channel messages (SMS, WhatsApp, e-mail): who sent what, and which engine command it becomes.

`receive(session, message, context)` is the one translator every channel adapter calls. It owns no
lifecycle rule: a message opens a complaint (`lifecycle.start_case`), becomes the reporter's reply on a
case that waits for one (`lifecycle.reporter_reply`), or is answered with how to reach the right case.

- a message naming a tracking id goes to that case, if the sender is its reporter (else: "not found");
- a message while exactly one of the sender's cases waits for the reporter is the reply on it;
- a first message (the sender has no open case), or one that starts with `LAPOR`, opens a complaint;
- anything else is answered with the sender's open tracking ids and the tracking page.

Each message is logged once per (channel, external id) in the same transaction as the command it caused,
so a repeated delivery (a gateway retry, an MTA re-send) changes nothing and answers the first reply.
The log keeps no message text: the case keeps what became part of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.cases import attachments, lifecycle
from engine.cases.access import Actor
from engine.cases.case import TRACKING_PATTERN, Case, Status, email_key, phone_key
from engine.db import Base, UTCDateTime, utcnow
from engine.errors import Conflict, InvalidData
from engine.settings import DEFAULT_SETTINGS, Settings

WAITING = (Status.NEEDS_INFO.value, Status.AWAITING_REPORTER.value)
FINAL = (Status.CLOSED.value, Status.ARCHIVED.value)
MIN_TEXT = 10  # the API's minimum complaint body: shorter first messages get the instructions instead
NEW_KEYWORD = re.compile(r"^\s*(LAPOR|BARU)\b[\s:,.-]*", re.IGNORECASE)
SATISFIED = re.compile(r"^\s*(PUAS|YA|SELESAI|TERIMA KASIH)\b", re.IGNORECASE)
NOT_SATISFIED = re.compile(r"^\s*(TIDAK PUAS|BELUM|TIDAK)\b", re.IGNORECASE)
RATING = re.compile(r"\b([1-5])\b")
TITLE_LENGTH = 80


class Outcome(StrEnum):
    OPENED = "opened"  # a new complaint
    REPLIED = "replied"  # the reporter's reply on a waiting case
    ANSWERED = "answered"  # nothing changed; the sender is told how to reach the case


class ChannelMessage(Base):
    """The log of inbound messages: one row per (channel, external id), the case it reached, the answer."""

    __tablename__ = "channel_message"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    sender: Mapped[str] = mapped_column(sa.String(200), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    outcome: Mapped[str] = mapped_column(sa.String(16))
    reply: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True)
class File:
    """An attachment carried by a message (an e-mail's photo)."""

    filename: str
    content_type: str
    stream: BinaryIO


@dataclass(frozen=True)
class Message:
    """One inbound message, already authenticated by its adapter (signature, MTA)."""

    channel: str  # sms | whatsapp | email
    external_id: str  # the gateway's message id, the e-mail's Message-ID
    sender: str  # the phone number or e-mail address it came from
    text: str
    received_at: datetime
    subject: str = ""  # e-mail only: the title of a new complaint
    references: Sequence[str] = ()  # e-mail headers that may carry a tracking id (In-Reply-To, References)
    files: Sequence[File] = ()
    name: str | None = None  # the sender's display name, when the channel gives one

    @property
    def contact(self) -> str | None:
        """The sender as cases store it (`contact_phone` / `contact_email`)."""
        return email_key(self.sender) if self.channel == "email" else phone_key(self.sender)

    def tracking_ids(self) -> list[str]:
        """Tracking ids named in the subject, the threading headers, then the text (first mention first)."""
        found = TRACKING_PATTERN.findall(" ".join([self.subject, *self.references, self.text]))
        return list(dict.fromkeys(tid.upper() for tid in found))


@dataclass(frozen=True)
class Context:
    """What a channel needs besides the database: engine settings, the public site, the attachment store."""

    settings: Settings = DEFAULT_SETTINGS
    site_url: str = ""
    store: Path | None = None


@dataclass
class Result:
    """What became of a message: the outcome, the case it reached and the text to answer the sender with."""

    outcome: Outcome
    reply: str
    case: Case | None = None
    repeated: bool = False
    refused_files: list[str] = field(default_factory=list)


STATUS_WORDS = {
    "submitted": "menunggu verifikasi",
    "needs_info": "menunggu keterangan Anda",
    "dispositioned": "diteruskan ke instansi",
    "in_progress": "sedang ditindaklanjuti",
    "awaiting_reporter": "menunggu tanggapan Anda",
    "closed": "selesai",
    "archived": "diarsipkan",
}
REPLIES = {
    "opened": "Aduan Anda tercatat dengan nomor {tid}. Kode rahasia: {token}. Lacak di {site}/lacak. "
    "Untuk menjawab pertanyaan petugas, balas pesan ini.",
    "replied": "Balasan Anda untuk aduan {tid} sudah diterima. Status: {status}.",
    "not_waiting": "Aduan {tid} {status}; saat ini tidak ada yang menunggu balasan Anda. "
    "Ikuti perkembangannya di {site}/lacak.",
    "open_cases": "Aduan Anda: {list}. Tidak ada yang menunggu balasan Anda; ikuti di {site}/lacak. "
    "Untuk aduan baru, awali pesan dengan LAPOR.",
    "several_waiting": "Beberapa aduan Anda menunggu balasan: {list}. Kirim ulang dengan menyebut nomor aduan.",
    "received": "Pesan Anda sudah diterima dan sedang diproses.",
    "unknown": "Nomor aduan itu tidak ditemukan untuk pengirim ini. Lacak aduan Anda di {site}/lacak.",
    "too_short": "Untuk melapor, kirim uraian masalah Anda (paling sedikit {min} huruf): apa, di mana, sejak kapan.",
    "refused": "Pesan Anda tidak dapat dicatat saat ini. Silakan kirim lagi, atau lapor di {site}/lapor.",
}


def _text(key: str, context: Context, **values: str) -> str:
    return REPLIES[key].format(site=context.site_url.rstrip("/"), min=str(MIN_TEXT), **values)


def logged(session: Session, channel: str, external_id: str) -> ChannelMessage | None:
    """The log row of an earlier delivery of this message, if any."""
    query = sa.select(ChannelMessage).where(
        ChannelMessage.channel == channel, ChannelMessage.external_id == external_id
    )
    return session.scalars(query).first()


def _repeat(session: Session, row: ChannelMessage) -> Result:
    case = session.get(Case, row.case_id) if row.case_id is not None else None
    # the first delivery records its answer just after its command commits: a repeat in between says so
    return Result(Outcome(row.outcome), row.reply or REPLIES["received"], case, repeated=True)


def _log_row(message: Message) -> ChannelMessage:
    sender = (message.contact or message.sender)[:200]
    return ChannelMessage(
        channel=message.channel, external_id=message.external_id[:200], sender=sender,
        received_at=message.received_at, outcome=Outcome.ANSWERED,
    )  # fmt: skip


def receive(session: Session, message: Message, context: Context) -> Result:
    """Act on one inbound message exactly once (see the module docstring); commits."""
    earlier = logged(session, message.channel, message.external_id)
    if earlier is not None:
        return _repeat(session, earlier)
    row = _log_row(message)
    try:
        session.add(row)
        session.flush()  # a concurrent delivery of the same id waits here, then fails on the unique key
    except IntegrityError:
        session.rollback()
        earlier = logged(session, message.channel, message.external_id)
        assert earlier is not None
        return _repeat(session, earlier)
    try:
        result = _act(session, message, context)  # the command's transaction commits the log row with it
    except (Conflict, InvalidData):  # a lost race, or refused data: rolled back, log row included
        row = _log_row(message)
        session.add(row)
        result = Result(Outcome.ANSWERED, _text("refused", context))
    if result.case is not None and result.outcome != Outcome.ANSWERED:
        result.refused_files = _attach(session, result.case, message, context)
    row.outcome, row.reply = result.outcome, result.reply
    row.case_id = result.case.id if result.case is not None else None
    session.commit()
    return result


def _act(session: Session, message: Message, context: Context) -> Result:
    named = message.tracking_ids()
    if named:
        return _to_named_case(session, message, named, context)
    open_cases = _open_cases(session, message)
    waiting = [case for case in open_cases if case.status in WAITING]
    if len(waiting) == 1 and not NEW_KEYWORD.match(message.text):
        return _reply(session, waiting[0], message, context)
    if len(waiting) > 1:
        listing = ", ".join(c.tracking_id for c in waiting)
        return Result(Outcome.ANSWERED, _text("several_waiting", context, list=listing))
    if open_cases and not NEW_KEYWORD.match(message.text):
        listing = ", ".join(f"{c.tracking_id} ({STATUS_WORDS.get(c.status, c.status)})" for c in open_cases[:5])
        return Result(Outcome.ANSWERED, _text("open_cases", context, list=listing))
    return _open(session, message, context)


def _sender_cases(message: Message) -> sa.Select[Any]:
    column = Case.contact_email if message.channel == "email" else Case.contact_phone
    return sa.select(Case).where(column == message.contact).order_by(Case.created_at.desc(), Case.id.desc())


def _open_cases(session: Session, message: Message) -> list[Case]:
    if message.contact is None:
        return []
    return list(session.scalars(_sender_cases(message).where(Case.status.not_in(FINAL)).limit(50)))


def _to_named_case(session: Session, message: Message, named: list[str], context: Context) -> Result:
    """The first named case that belongs to the sender; an unknown id and another's case look the same."""
    if message.contact is None:
        return Result(Outcome.ANSWERED, _text("unknown", context))
    case: Case | None = session.scalars(_sender_cases(message).where(Case.tracking_id.in_(named))).first()
    if case is None:
        return Result(Outcome.ANSWERED, _text("unknown", context))
    if case.status not in WAITING:
        status = STATUS_WORDS.get(case.status, case.status)
        return Result(Outcome.ANSWERED, _text("not_waiting", context, tid=case.tracking_id, status=status), case)
    return _reply(session, case, message, context)


def reply_payload(case: Case, text: str) -> dict[str, object]:
    """The reply command's input from free text: on an answered case `PUAS 5` / `YA` closes it satisfied
    (with a rating 1..5 when one is given) and `TIDAK PUAS …` reopens it; other text is the message."""
    message = text.strip()[:5000] or "-"
    payload: dict[str, object] = {"message": message}
    if case.status != Status.AWAITING_REPORTER:
        return payload
    if NOT_SATISFIED.match(message):
        payload["satisfied"] = False
    elif SATISFIED.match(message):
        payload["satisfied"] = True
        rating = RATING.search(message)
        if rating:
            payload["rating"] = int(rating.group(1))
    return payload


def _reply(session: Session, case: Case, message: Message, context: Context) -> Result:
    actor = Actor(username=message.channel, role="reporter")
    outcome = lifecycle.reporter_reply(session, case, reply_payload(case, message.text), actor, context.settings)
    status = STATUS_WORDS.get(outcome.case.status, outcome.case.status)
    return Result(Outcome.REPLIED, _text("replied", context, tid=case.tracking_id, status=status), outcome.case)


def _title(message: Message, text: str) -> str:
    first = message.subject.strip() or next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1].rstrip() + "…"


def _open(session: Session, message: Message, context: Context) -> Result:
    text = NEW_KEYWORD.sub("", message.text, count=1).strip()
    if len(text) < MIN_TEXT:
        return Result(Outcome.ANSWERED, _text("too_short", context))
    contact = "email" if message.channel == "email" else "phone"
    reporter = {"name": (message.name or message.sender)[:200], contact: message.sender[:200]}
    submission = lifecycle.Submission(
        title=_title(message, text), body=text[:10_000], channel=message.channel, reporter=reporter
    )
    actor = Actor(username=message.channel, role="reporter")
    outcome = lifecycle.start_case(session, submission, actor, context.settings)
    token = outcome.reporter_token or ""
    return Result(Outcome.OPENED, _text("opened", context, tid=outcome.case.tracking_id, token=token), outcome.case)


def _attach(session: Session, case: Case, message: Message, context: Context) -> list[str]:
    """Store the message's files on the case (engine.cases.attachments checks type, content and size); the names
    of those refused. Each file is its own small transaction: one bad file does not lose the others."""
    if context.store is None:
        return [f.filename for f in message.files]
    refused = []
    actor = Actor(username=message.channel, role="reporter")
    for item in message.files:
        try:
            attachments.add(session, context.store, case, actor, item.filename, item.content_type, item.stream)
            session.commit()
        except InvalidData:
            session.rollback()
            refused.append(item.filename)
    return refused
