"""The SMS / WhatsApp gateway's callback: authenticate it, refuse replays, hand the message to `inbound`.

Contract (design.md, `POST /channels/sms`): the body `{id, from, text, received_at[, channel]}` is signed
with `X-Aduan-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under the shared `SMS_GATEWAY_SECRET`.
A bad or missing signature is `Unauthenticated` (401) and nothing is read. A `received_at` further than
`REPLAY_WINDOW` from now is `Conflict` (409): a captured callback cannot be played again later. Within the
window the message `id` makes the callback idempotent: a repeat answers the first reply and changes nothing.
The same gateway carries WhatsApp (`channel: "whatsapp"`): one interface, two provider profiles.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from engine.channels import inbound
from engine.db import utcnow
from engine.errors import Conflict, Unauthenticated
from engine.notify.delivery import sign

REPLAY_WINDOW = timedelta(minutes=5)
CHANNELS = ("sms", "whatsapp")


@dataclass(frozen=True)
class Callback:
    """A gateway callback, parsed (by the API's schema) after its signature was checked."""

    id: str
    sender: str
    text: str
    received_at: datetime
    channel: str = "sms"


def verify(secret: str | None, body: bytes, signature: str | None) -> None:
    """Unauthenticated unless `signature` is the HMAC of the exact `body` under `secret` (none set: refuse all)."""
    if not secret or not signature or not hmac.compare_digest(sign(secret, body), signature.strip()):
        raise Unauthenticated("bad or missing signature")


def check_window(received_at: datetime, now: datetime, window: timedelta = REPLAY_WINDOW) -> None:
    """Conflict when the callback's time is outside the replay window around `now`."""
    if abs(now - received_at) > window:
        raise Conflict("received_at is outside the replay window; a callback is accepted only once, promptly")


def receive(
    session: Session, callback: Callback, context: inbound.Context, now: datetime | None = None
) -> inbound.Result:
    """Act on an authenticated callback (commits); the result's `reply` is the text to send back."""
    check_window(callback.received_at, now or utcnow())
    message = inbound.Message(
        channel=callback.channel, external_id=callback.id, sender=callback.sender, text=callback.text,
        received_at=callback.received_at,
    )  # fmt: skip
    return inbound.receive(session, message, context)
