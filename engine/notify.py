"""Notifications: who is told what (templates and audiences), and the channels that carry a message.

A diagram asks for a notification by template (`notify('respond_breach')`); the command's outbox rows name
recipients by reference only (`reporter`, `user:<username>`), never by address, so no reporter contact is
copied anywhere. Addresses are read when the message is delivered. Channels share one interface
(`Channel.send(message)`): console (the embedded default), SMTP, an SMS gateway over HTTP, and webhooks
(HMAC-signed JSON over HTTP).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.cases import Case
from engine.users import User

log = logging.getLogger(__name__)
REPORTER = "reporter"
USER_PREFIX = "user:"
SIGNATURE_HEADER = "X-Aduan-Signature"
DELIVERY_HEADER = "X-Aduan-Delivery"


class ChannelName(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class Template:
    """A message: its audience (`reporter`, or a staff role at the case's `desk` or `agency`) and its text."""

    audience: str
    subject: str
    body: str
    agency_of: str = "agency"  # which case column names the staff's agency: "desk" or "agency"


TEMPLATES: dict[str, Template] = {
    # staff, asked for by the diagram
    "verify_reminder": Template(
        "verifier", "Pengingat verifikasi {tracking_id}", "Aduan {tracking_id} ({title}) harus diverifikasi hari ini.",
        "desk",
    ),
    "verify_breach": Template(
        "supervisor", "Eskalasi: verifikasi {tracking_id} terlambat",
        "Batas waktu verifikasi aduan {tracking_id} ({title}) telah lewat.", "desk",
    ),
    "respond_reminder": Template(
        "officer", "Pengingat tindak lanjut {tracking_id}",
        "Aduan {tracking_id} ({title}) harus ditindaklanjuti hari ini.",
    ),
    "respond_breach": Template(
        "supervisor", "Eskalasi: tindak lanjut {tracking_id} terlambat",
        "Batas waktu tindak lanjut aduan {tracking_id} ({title}) oleh {agency} telah lewat.",
    ),
    "respond_second_breach": Template(
        "supervisor", "Eskalasi tingkat 2: {tracking_id}",
        "Aduan {tracking_id} ({title}) belum ditindaklanjuti oleh {agency} setelah eskalasi pertama.", "desk",
    ),
    # the reporter, on the case's own events
    "received": Template(REPORTER, "Aduan {tracking_id} diterima", "Aduan Anda tercatat dengan nomor {tracking_id}."),
    "info_requested": Template(
        REPORTER, "Aduan {tracking_id}: mohon lengkapi", "Verifikator meminta informasi tambahan untuk {tracking_id}."
    ),
    "answered": Template(REPORTER, "Aduan {tracking_id} ditindaklanjuti", "Instansi telah menanggapi aduan Anda."),
    "closed": Template(REPORTER, "Aduan {tracking_id} selesai", "Aduan {tracking_id} ditutup."),
    "archived": Template(REPORTER, "Aduan {tracking_id} diarsipkan", "Aduan {tracking_id} diarsipkan."),
}  # fmt: skip

# What the reporter hears about, by audit event type or by the case status a command set.
REPORTER_ON_EVENT = {"submitted": "received"}
REPORTER_ON_STATUS = {
    "needs_info": "info_requested",
    "awaiting_reporter": "answered",
    "closed": "closed",
    "archived": "archived",
}


def reporter_templates(event_type: str, changes: dict[str, Any]) -> list[str]:
    """Templates the reporter is sent after an event with these `changes` ({column: [old, new]})."""
    names = [REPORTER_ON_EVENT[event_type]] if event_type in REPORTER_ON_EVENT else []
    status = changes.get("status")
    if status and status[1] in REPORTER_ON_STATUS:
        names.append(REPORTER_ON_STATUS[status[1]])
    return names


def _parents(code: str) -> list[str]:
    """`code` then its ancestors: batam.dinkes.x → [batam.dinkes.x, batam.dinkes, batam]."""
    parts = code.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def staff_for(session: Session, role: str, agency: str | None) -> list[User]:
    """Active users of `role` at `agency`, or at its nearest ancestor that has any."""
    for code in _parents(agency) if agency else []:
        query = sa.select(User).where(User.role == role, User.agency == code, User.active.is_(True))
        users = list(session.scalars(query.order_by(User.username)))
        if users:
            return users
    return []


def _channel_for(email: str | None, phone: str | None) -> ChannelName | None:
    return ChannelName.EMAIL if email else ChannelName.SMS if phone else None


class Contact(Protocol):
    @property
    def username(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...


StaffLookup = Callable[[str, str | None], Sequence[Contact]]


def reporter_contact(session: Session, case: Case) -> tuple[str | None, str | None]:
    """(email, phone) of the case's reporter: the complaint's own contact, else the registered account's."""
    contact = case.reporter or {}
    email, phone = contact.get("email"), contact.get("phone")
    if not (email or phone) and case.reporter_username:
        user = session.get(User, case.reporter_username)
        if user is not None:
            email, phone = user.email, user.phone
    return email, phone


def recipients(
    session: Session, case: Case, template: str, params: dict[str, Any], staff: StaffLookup | None = None
) -> list[tuple[str, ChannelName]]:
    """(recipient reference, channel) pairs for one notification; the diagram may pass `role=`/`agency=`.

    `staff(role, agency)` answers like `staff_for` (a command passes its configuration snapshot's)."""
    spec = TEMPLATES.get(template)
    if spec is None:
        log.warning("no template %r; notification of %s dropped", template, case.tracking_id)
        return []
    if spec.audience == REPORTER:
        channel = _channel_for(*reporter_contact(session, case))
        return [(REPORTER, channel)] if channel else []
    role = str(params.get("role") or spec.audience)
    agency = params.get("agency") or getattr(case, spec.agency_of)
    found = staff(role, agency) if staff else staff_for(session, role, agency)
    pairs = [(USER_PREFIX + u.username, _channel_for(u.email, u.phone)) for u in found]
    return [(who, channel) for who, channel in pairs if channel]


@dataclass(frozen=True)
class Message:
    """One message to one address. `key` is stable across retries, so receivers can drop duplicates."""

    to: str
    subject: str
    body: str
    key: str
    data: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None


class DeliveryError(Exception):
    """A channel could not deliver; `permanent` errors are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def address_of(session: Session, case: Case, recipient: str, channel: str) -> str:
    """The address of a recipient reference, read now; DeliveryError(permanent) when it is gone."""
    if recipient == REPORTER:
        email, phone = reporter_contact(session, case)
    elif recipient.startswith(USER_PREFIX):
        user = session.get(User, recipient.removeprefix(USER_PREFIX))
        email, phone = (user.email, user.phone) if user is not None and user.active else (None, None)
    else:
        raise DeliveryError(f"unknown recipient {recipient!r}", permanent=True)
    address = email if channel == ChannelName.EMAIL else phone
    if not address:
        raise DeliveryError(f"{recipient} has no {channel} address", permanent=True)
    return address


def render(case: Case, template: str, params: dict[str, Any], to: str, key: str) -> Message:
    """The message of `template` about `case` (never naming the reporter)."""
    spec = TEMPLATES[template]
    values = {"tracking_id": case.tracking_id, "title": case.title, "agency": case.agency or "-", **params}
    return Message(to, spec.subject.format_map(values), spec.body.format_map(values), key)


class Channel(Protocol):
    """Delivers one message or raises DeliveryError."""

    def send(self, message: Message) -> None: ...


class ConsoleChannel:
    """Writes the message to the log (the embedded default for e-mail and SMS)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: Message) -> None:
        log.info("[%s] to %s: %s — %s", self.name, message.to, message.subject, message.body)


class SmtpChannel:
    """E-mail over SMTP: `smtp://user:pass@host:port` (`smtps://` for TLS, `?starttls=1` to upgrade)."""

    def __init__(self, url: str, sender: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "localhost", parts.port
        self.tls = parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true")
        self.user, self.password = unquote(parts.username or ""), unquote(parts.password or "")
        self.sender, self.timeout = sender, timeout

    def send(self, message: Message) -> None:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, message.to, message.subject
        email["Message-ID"] = f"<{message.key}@aduan>"
        email.set_content(message.body)
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        if self.tls:
            return smtplib.SMTP_SSL(self.host, self.port or 465, timeout=self.timeout)
        return smtplib.SMTP(self.host, self.port or 25, timeout=self.timeout)


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC of the body>`, as sent in the X-Aduan-Signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    """POST a JSON body; 2xx is success, 4xx (but 408/429) a permanent failure, anything else retried."""
    request = urllib.request.Request(url, body, method="POST")
    for name, value in {"Content-Type": "application/json", **headers}.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
        raise DeliveryError(f"HTTP {exc.code} from {url}", permanent=permanent) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{url}: {exc}") from exc


class SmsGatewayChannel:
    """SMS through an HTTP gateway: POST `{"to", "text"}` to its URL (with a bearer token if configured)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: Message) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        text = f"{message.subject}. {message.body}"
        post(self.url, json.dumps({"to": message.to, "text": text}).encode(), headers, self.timeout)


class WebhookChannel:
    """JSON to an integrated system's URL, signed with HMAC-SHA256 over the exact body bytes."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def send(self, message: Message) -> None:
        body = json.dumps(message.data).encode()
        headers = {DELIVERY_HEADER: message.key}
        if message.secret:
            headers[SIGNATURE_HEADER] = sign(message.secret, body)
        post(message.to, body, headers, self.timeout)


def channels_from_config(config: dict[str, Any]) -> dict[str, Channel]:
    """Channels by name: SMTP when `SMTP_URL` is set (else the console), the SMS gateway likewise."""
    timeout = float(config.get("DELIVERY_TIMEOUT", 10.0))
    email: Channel = (
        SmtpChannel(config["SMTP_URL"], config.get("MAIL_FROM") or "aduan@localhost", timeout)
        if config.get("SMTP_URL")
        else ConsoleChannel("email")
    )
    sms: Channel = (
        SmsGatewayChannel(config["SMS_GATEWAY_URL"], config.get("SMS_GATEWAY_TOKEN"), timeout)
        if config.get("SMS_GATEWAY_URL")
        else ConsoleChannel("sms")
    )
    return {ChannelName.EMAIL: email, ChannelName.SMS: sms, ChannelName.WEBHOOK: WebhookChannel(timeout)}
