"""E-mail in and out of a case: parse an untrusted message, hand it to `inbound`, thread the answers.

`parse(raw)` turns the bytes an MTA delivered into an `inbound.Message`, or raises `InvalidData` for what
cannot be read (too large, no sender); it never trusts the MIME structure: the body is the first text
part (HTML stripped to text when there is no plain part), quoted lines of a reply are dropped, and
attachments are only offered to `engine.cases.attachments`, which checks type, content and size. A reply is
threaded by the tracking id in its subject (`[ADU-XXXX-XXXX]`) or in its In-Reply-To/References, which
carry `<ADU-XXXX-XXXX@…>` because every mail Aduan sends about a case names that thread root
(`engine.notify.delivery.thread_headers`). Automatic mail (bounces, vacation replies, lists) is never
answered: no mail loops.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.cases.attachments import MAX_BYTES, MAX_PER_CASE
from engine.cases.case import Case
from engine.channels import inbound
from engine.errors import InvalidData

MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # an SMTP server should refuse larger mail before this (data_size_limit)
MAX_TEXT = 10_000
REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|balas|tr)\s*:\s*)+", re.IGNORECASE)
QUOTE_HEADER = re.compile(r"^(On .+ wrote:|Pada .+ menulis:|-----\s*Original Message\s*-----)\s*$", re.IGNORECASE)
AUTOMATIC_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})


@dataclass(frozen=True)
class Parsed:
    """The inbound message and whether it was sent by a machine (then it is logged, never answered)."""

    message: inbound.Message
    automatic: bool
    message_id: str


def parse(raw: bytes, received_at: datetime) -> Parsed:
    """The message in `raw` (RFC 5322 bytes); InvalidData when it is too large or has no usable sender."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidData("message too large", {"message": [f"at most {MAX_MESSAGE_BYTES // (1024 * 1024)} MB"]})
    try:
        mail = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(mail, EmailMessage)
        name, sender = _sender(mail)
        subject = REPLY_PREFIX.sub("", _header(mail, "Subject"))[:200]
        references = [_header(mail, "In-Reply-To"), _header(mail, "References")]
        text, files = _body(mail), _files(mail)
    except InvalidData:
        raise
    except Exception as exc:  # malformed MIME can fail anywhere in the parser: refuse the message, not the server
        raise InvalidData("unreadable message", {"message": [type(exc).__name__]}) from exc
    message_id = _header(mail, "Message-ID").strip() or "<sha256-" + hashlib.sha256(raw).hexdigest() + ">"
    message = inbound.Message(
        channel="email", external_id=message_id, sender=sender, text=text, received_at=received_at,
        subject=subject, references=references, files=files, name=name or None,
    )  # fmt: skip
    return Parsed(message, _automatic(mail), message_id)


def _header(mail: EmailMessage, name: str) -> str:
    value = mail.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _sender(mail: EmailMessage) -> tuple[str, str]:
    found = [(n, a) for n, a in getaddresses([_header(mail, "From")]) if "@" in a]
    if not found:
        raise InvalidData("no sender", {"From": ["an e-mail address is required"]})
    name, address = found[0]
    return name.strip()[:200], address.strip()[:200]


def _automatic(mail: EmailMessage) -> bool:
    """Bounces, auto-replies and list mail (RFC 3834 `Auto-Submitted`, `Precedence`)."""
    auto = _header(mail, "Auto-Submitted").lower()
    precedence = _header(mail, "Precedence").lower()
    return (
        (auto not in ("", "no"))
        or precedence in AUTOMATIC_PRECEDENCE
        or mail.get_content_type() == ("multipart/report")
    )


def _body(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        text = html.unescape(re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", text, flags=re.S | re.I))
    return strip_quoted(text)[:MAX_TEXT]


def strip_quoted(text: str) -> str:
    """The new part of a reply: up to the quote header ("On … wrote:"), without `>` lines."""
    kept = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if QUOTE_HEADER.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _files(mail: EmailMessage) -> list[inbound.File]:
    """Attachments (and inline images) up to the per-case limit; oversized parts are skipped here already."""
    files: list[inbound.File] = []
    for part in mail.iter_attachments():
        if len(files) >= MAX_PER_CASE:
            break
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload or len(payload) > MAX_BYTES:
            continue
        name = part.get_filename() or f"lampiran-{len(files) + 1}"
        files.append(inbound.File(name[:200], part.get_content_type(), io.BytesIO(payload)))
    return files


def opening_message_id(session: Session, case: Case) -> str | None:
    """The Message-ID of the citizen's mail that opened `case` (replies thread under it), if it came by mail."""
    query = sa.select(inbound.ChannelMessage.external_id).where(
        inbound.ChannelMessage.case_id == case.id,
        inbound.ChannelMessage.channel == "email",
        inbound.ChannelMessage.outcome == inbound.Outcome.OPENED,
    )
    return session.scalars(query).first()
