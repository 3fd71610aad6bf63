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

from engine.cases.case import Case
from engine.directory.users import User
from engine.places import followers

log = logging.getLogger(__name__)
REPORTER = "reporter"
ACCOUNT = "account"  # mail about a user's own account, sent without a case
FOLLOWERS = "followers"
USER_PREFIX = "user:"
SIGNATURE_HEADER = "X-Aduan-Signature"
DELIVERY_HEADER = "X-Aduan-Delivery"


class ChannelName(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
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
    "verify_email": Template(
        ACCOUNT, "Aktifkan akun Aduan Anda",
        "Buka tautan ini untuk mengaktifkan akun Aduan Anda (berlaku 2 hari):\n"
        "{public_url}/daftar/konfirmasi?token={token}",
    ),
    "secret_code": Template(
        REPORTER, "Kode aduan {tracking_id}",
        "Nomor pelacakan: {tracking_id}\nKode rahasia: {token}\nSimpan kode ini; jangan berikan kepada siapa pun.",
    ),
    "new_message": Template(
        REPORTER, "Aduan {tracking_id}: pesan baru", "Ada pesan baru untuk aduan {tracking_id} ({title})."
    ),
    # supporters (and reporters of its duplicates), on every public follow-up of the case
    "supported_follow_up": Template(
        FOLLOWERS, "Aduan {tracking_id} yang Anda dukung ditindaklanjuti",
        "Instansi telah menanggapi aduan {tracking_id} ({title}) yang Anda dukung.",
    ),
}  # fmt: skip

# What the reporter hears about, by audit event type or by the case status a command set.
REPORTER_ON_EVENT = {"submitted": "received"}
# Channels that answer their sender themselves (engine.channels): no separate "received" message.
SELF_ANSWERING_CHANNELS = frozenset({"sms", "whatsapp", "email"})
REPORTER_ON_STATUS = {
    "needs_info": "info_requested",
    "awaiting_reporter": "answered",
    "closed": "closed",
    "archived": "archived",
}


# Templates whose params hold a secret: the delivered row forgets them (workers.notifications).
SECRET_TEMPLATES = frozenset({"secret_code", "verify_email"})


def follower_templates(event_data: dict[str, Any]) -> list[str]:
    """Templates the case's followers are sent after an event: its public follow-ups, if any."""
    return ["supported_follow_up"] if event_data.get("follow_ups") else []


def reporter_templates(event_type: str, changes: dict[str, Any], channel: str | None = None) -> list[str]:
    """Templates the reporter is sent after an event with these `changes` ({column: [old, new]}); a case
    that came by a self-answering `channel` was already told its number by that channel."""
    names = [REPORTER_ON_EVENT[event_type]] if event_type in REPORTER_ON_EVENT else []
    if event_type == "submitted" and channel in SELF_ANSWERING_CHANNELS:
        names = []
    status = changes.get("status")
    if status and status[1] in REPORTER_ON_STATUS:
        names.append(REPORTER_ON_STATUS[status[1]])
    return names


def message_notices(event_data: dict[str, Any], actor_role: str) -> list[str]:
    """Texts of an event's thread messages (`data.messages`) the reporter must be told about; never their
    own words sent back to them."""
    if actor_role == REPORTER:
        return []
    return [m["body"] for m in event_data.get("messages", ()) if m.get("audience") == REPORTER]


def reporter_requests(
    event_type: str, changes: dict[str, Any], notices: list[str], channel: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(template, params) the reporter is sent after an event: its status templates, each carrying the
    event's messages to the reporter (`notices`); `new_message` when messages came without a status change."""
    names = reporter_templates(event_type, changes, channel) or (["new_message"] if notices else [])
    params = {"message": "\n\n".join(notices)} if notices else {}
    return [(name, dict(params)) for name in names]


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


def _reporter_channel(case: Case, email: str | None, phone: str | None) -> ChannelName | None:
    """A complaint that came by WhatsApp is answered on WhatsApp; otherwise e-mail first, then SMS."""
    if case.channel == ChannelName.WHATSAPP and phone:
        return ChannelName.WHATSAPP
    return _channel_for(email, phone)


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


def follower_contact(session: Session, recipient: str) -> tuple[str | None, str | None]:
    """(email, phone) of a `follower:<id>`: its own contact, its account's, or its duplicate case's reporter."""
    follower = followers.get_follower(session, recipient)
    if follower is None:
        return None, None
    if follower.source_case_id is not None:
        return reporter_contact(session, session.get_one(Case, follower.source_case_id))
    contact = follower.contact or {}
    email, phone = contact.get("email"), contact.get("phone")
    user = session.get(User, follower.username) if follower.username and not (email or phone) else None
    return (user.email, user.phone) if user is not None else (email, phone)


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
        channel = _reporter_channel(case, *reporter_contact(session, case))
        return [(REPORTER, channel)] if channel else []
    if spec.audience == FOLLOWERS:
        pairs = [(f"{followers.PREFIX}{f.id}", _channel_for(*follower_contact(session, f"{followers.PREFIX}{f.id}")))
                 for f in followers.followers_of(session, case)]  # fmt: skip
        return [(who, channel) for who, channel in pairs if channel]
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
    thread: str | None = None  # to the reporter: the case's tracking id, every mail of the case threads under it
    in_reply_to: str | None = None  # the Message-ID of the citizen's mail this answers, if any


class DeliveryError(Exception):
    """A channel could not deliver; `permanent` errors are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def address_of(session: Session, case: Case | None, recipient: str, channel: str) -> str:
    """The address of a recipient reference, read now; DeliveryError(permanent) when it is gone.

    Mail about an account (no case) also reaches an account not yet confirmed: confirming it is its purpose.
    """
    if recipient == REPORTER and case is not None:
        email, phone = reporter_contact(session, case)
    elif recipient.startswith(followers.PREFIX):
        email, phone = follower_contact(session, recipient)
    elif recipient.startswith(USER_PREFIX):
        user = session.get(User, recipient.removeprefix(USER_PREFIX))
        reachable = user is not None and (user.active or case is None)
        email, phone = (user.email, user.phone) if user is not None and reachable else (None, None)
    else:
        raise DeliveryError(f"unknown recipient {recipient!r}", permanent=True)
    address = email if channel == ChannelName.EMAIL else phone  # SMS and WhatsApp: the phone
    if not address:
        raise DeliveryError(f"{recipient} has no {channel} address", permanent=True)
    return address


def render(
    case: Case | None, template: str, params: dict[str, Any], to: str, key: str, public_url: str = ""
) -> Message:
    """The message of `template` about `case` (never naming the reporter), or about an account when
    `case` is None. A reporter's message carries the thread's new text and the tracking page's link
    (`public_url` + `/lacak`)."""
    spec = TEMPLATES[template]
    values = {"public_url": public_url.rstrip("/"), **params}
    if case is not None:
        values |= {"tracking_id": case.tracking_id, "title": case.title, "agency": case.agency or "-"}
    body = spec.body.format_map(values)
    thread = None
    if spec.audience == REPORTER and case is not None:
        thread = case.tracking_id  # the reporter's answers thread back
        if params.get("message"):
            body += "\n\n" + str(params["message"])
        body += f"\n\nNomor pelacakan: {case.tracking_id}\nIkuti aduan Anda di {public_url.rstrip('/')}/lacak"
    return Message(to, spec.subject.format_map(values), body, key, thread=thread)


class Channel(Protocol):
    """Delivers one message or raises DeliveryError."""

    def send(self, message: Message) -> None: ...


class ConsoleChannel:
    """Writes the message to the log (the embedded default for e-mail and SMS)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: Message) -> None:
        log.info("[%s] to %s: %s — %s", self.name, message.to, message.subject, message.body)


def thread_root(tracking_id: str, domain: str) -> str:
    """The Message-ID every mail about a case refers to, so a reply carries the tracking id back."""
    return f"<{tracking_id}@{domain}>"


def thread_headers(tracking_id: str, domain: str, in_reply_to: str | None = None) -> dict[str, str]:
    """`In-Reply-To` and `References` of a mail about a case (under the citizen's own first mail, if any)."""
    root = thread_root(tracking_id, domain)
    return {"In-Reply-To": in_reply_to or root, "References": f"{in_reply_to} {root}" if in_reply_to else root}


def compose(message: Message, sender: str, reply_to: str | None = None) -> EmailMessage:
    """The e-mail of `message`: a mail to the reporter about a case (`thread`) names `[ADU-…]` in its subject
    and its thread root in References, and asks for replies at the intake address, so the answer threads back."""
    email = EmailMessage()
    subject = message.subject
    if message.thread and message.thread not in subject:
        subject = f"[{message.thread}] {subject}"
    email["From"], email["To"], email["Subject"] = sender, message.to, subject
    email["Message-ID"] = f"<{message.key}@aduan>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: vacation responders do not answer it
    if message.thread:
        if reply_to:
            email["Reply-To"] = reply_to
        domain = sender.rsplit("@", 1)[-1].strip("<> ") or "aduan"
        for name, value in thread_headers(message.thread, domain, message.in_reply_to).items():
            email[name] = value
    email.set_content(message.body)
    return email


class SmtpChannel:
    """E-mail over SMTP: `smtp://user:pass@host:port` (`smtps://` for TLS, `?starttls=1` to upgrade)."""

    def __init__(self, url: str, sender: str, timeout: float = 10.0, reply_to: str | None = None) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "localhost", parts.port
        self.tls = parts.scheme == "smtps"
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true")
        self.user, self.password = unquote(parts.username or ""), unquote(parts.password or "")
        self.sender, self.timeout, self.reply_to = sender, timeout, reply_to

    def send(self, message: Message) -> None:
        email = compose(message, self.sender, self.reply_to)
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
    """SMS or WhatsApp through an HTTP gateway: POST `{"to", "text"}` to its URL (with a bearer token if
    configured). The provider profile `whatsapp` adds `"channel": "whatsapp"` for gateways that carry both."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0, profile: str = "sms") -> None:
        self.url, self.token, self.timeout, self.profile = url, token, timeout, profile

    def send(self, message: Message) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body: dict[str, str] = {"to": message.to, "text": f"{message.subject}. {message.body}"}
        if self.profile != ChannelName.SMS:
            body["channel"] = self.profile
        post(self.url, json.dumps(body).encode(), headers, self.timeout)


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


def _gateway(config: dict[str, Any], profile: str, timeout: float) -> Channel:
    """The gateway of a provider profile: `<PROFILE>_GATEWAY_URL` / `_TOKEN` (WhatsApp falls back to the SMS
    gateway's URL and token: one gateway carrying both), else the console."""
    prefix = profile.upper()
    url = config.get(f"{prefix}_GATEWAY_URL") or config.get("SMS_GATEWAY_URL")
    token = config.get(f"{prefix}_GATEWAY_TOKEN") or config.get("SMS_GATEWAY_TOKEN")
    return SmsGatewayChannel(url, token, timeout, profile) if url else ConsoleChannel(profile)


def channels_from_config(config: dict[str, Any]) -> dict[str, Channel]:
    """Channels by name: SMTP when `SMTP_URL` is set (else the console), the SMS and WhatsApp gateway likewise."""
    timeout = float(config.get("DELIVERY_TIMEOUT", 10.0))
    sender = config.get("MAIL_FROM") or "aduan@localhost"
    reply_to = config.get("MAIL_REPLY_TO") or config.get("MAIL_INTAKE_ADDRESS")
    smtp_url = config.get("SMTP_URL")
    email: Channel = SmtpChannel(smtp_url, sender, timeout, reply_to) if smtp_url else ConsoleChannel("email")
    return {
        ChannelName.EMAIL: email,
        ChannelName.SMS: _gateway(config, ChannelName.SMS, timeout),
        ChannelName.WHATSAPP: _gateway(config, ChannelName.WHATSAPP, timeout),
        ChannelName.WEBHOOK: WebhookChannel(timeout),
    }
