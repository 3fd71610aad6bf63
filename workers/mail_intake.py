"""`aduan mail serve`: an SMTP (or LMTP) receiver for the intake address, built on aiosmtpd.

The city's mail server (Postfix, Exim) routes mail for `MAIL_INTAKE_ADDRESS` to this process, which hands
each message to the channel adapter (`engine.channels.mail.parse`, then `engine.channels.receive`) in a
worker thread with its own database session, and answers the sender by e-mail: the new complaint's number
and secret code, a reply's receipt, or how to reach the right case. The SMTP conversation says what
happened: 250 accepted (an automatic message, a bounce or an auto-reply is accepted and never answered);
550 for any other recipient; 552 beyond `MAIL_MAX_BYTES` (aiosmtpd refuses it while it is still coming);
554 for a message that cannot be read; 451 when the database is unavailable, so the MTA retries later.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine.channels import Context, mail, receive
from engine.channels.inbound import Result
from engine.db import utcnow
from engine.errors import InvalidData
from engine.notify import delivery as notify
from workers.host import Host

log = logging.getLogger(__name__)
REFUSED_FILES = (
    "Lampiran yang tidak dapat disimpan: {names} (hanya foto JPEG/PNG/WebP, PDF atau MP4, paling besar 10 MB)."
)


def intake_addresses(config: dict[str, Any]) -> set[str]:
    """The addresses this receiver accepts mail for: `MAIL_INTAKE_ADDRESS`, comma-separated, lower-cased."""
    return {a.strip().lower() for a in str(config.get("MAIL_INTAKE_ADDRESS") or "").split(",") if a.strip()}


class IntakeHandler:
    """aiosmtpd handler: accepts mail for the intake addresses and delivers each message to the engine."""

    def __init__(self, host: Host, addresses: Iterable[str]) -> None:
        self.host = host
        self.addresses = {a.lower() for a in addresses}

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.lower() not in self.addresses:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        return await asyncio.get_running_loop().run_in_executor(None, self.deliver, raw, envelope.mail_from or "")

    def deliver(self, raw: bytes, mail_from: str) -> str:
        """Hand one message to the engine and answer its sender; the SMTP reply line."""
        with self.host.session() as session:
            try:
                return self._deliver(session, raw, mail_from)
            except SQLAlchemyError:
                log.exception("intake mail not stored; the sending server will retry")
                session.rollback()
                return "451 4.3.0 temporarily unable to accept the message, try again later"

    def _deliver(self, session: Session, raw: bytes, mail_from: str) -> str:
        try:
            parsed = mail.parse(raw, utcnow())
        except InvalidData as exc:
            log.info("unreadable intake mail refused: %s", exc)
            return f"554 5.6.0 message refused: {exc.message}"
        if parsed.automatic or mail_from in ("", "<>"):  # never answer a machine: no mail loops
            log.info("automatic mail %s ignored", parsed.message_id)
            return "250 2.0.0 automatic message accepted, not answered"
        result = receive(session, parsed.message, self.context())
        if not result.repeated:
            self.answer(parsed, result)
        return f"250 2.0.0 {result.outcome.value}"

    def context(self) -> Context:
        config = self.host.config
        return Context(self.host.settings, str(config.get("PUBLIC_URL") or ""), Path(config["ATTACHMENTS_DIR"]))

    def answer(self, parsed: mail.Parsed, result: Result) -> None:
        """Tell the sender what became of the message, threaded under their mail and the case."""
        body = result.reply
        if result.refused_files:
            body += "\n\n" + REFUSED_FILES.format(names=", ".join(result.refused_files))
        message = notify.Message(
            to=parsed.message.sender, subject=f"Re: {parsed.message.subject or 'Aduan'}", body=body,
            key=f"aduan-answer-{uuid.uuid4().hex}", thread=result.case.tracking_id if result.case else None,
            in_reply_to=parsed.message_id,
        )  # fmt: skip
        try:
            notify.channels_from_config(dict(self.host.config))[notify.ChannelName.EMAIL].send(message)
        except notify.DeliveryError as exc:  # the message itself is stored; only the answer is lost
            log.warning("answer to intake mail %s not sent: %s", parsed.message_id, exc)


class LmtpController(Controller):
    """The same receiver speaking LMTP (RFC 2033), the usual local transport from Postfix."""

    def factory(self) -> LMTP:
        return LMTP(self.handler, **self.SMTP_kwargs)


def start(service: Host, host: str, port: int, lmtp: bool = False) -> Controller:
    """Start the receiver on `host:port` in a background thread (`controller.stop()` ends it)."""
    addresses = intake_addresses(dict(service.config))
    if not addresses:
        raise ValueError("MAIL_INTAKE_ADDRESS is not set: which address should this server accept mail for?")
    kind = LmtpController if lmtp else Controller
    limit = int(service.config.get("MAIL_MAX_BYTES") or mail.MAX_MESSAGE_BYTES)
    controller = kind(IntakeHandler(service, addresses), hostname=host, port=port, data_size_limit=limit)
    controller.start()
    return controller
