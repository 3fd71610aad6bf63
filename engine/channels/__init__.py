"""Channels: every way a complaint and its replies reach a case, each a thin translator into the same
engine commands the API calls (`lifecycle.start_case`, `lifecycle.reporter_reply`); none owns a rule of
the lifecycle.

- `inbound`: the shared translator of a citizen's message (SMS, WhatsApp, e-mail) into a command, the
  idempotent log of inbound messages (`ChannelMessage`) and the answer to the sender;
- `sms`: the SMS / WhatsApp gateway's signed callback (HMAC, replay window, idempotent on the id);
- `mail`: an untrusted e-mail parsed into an inbound message, its attachments, its thread;
- `counters`: which caller may file on which channel; staff typing in a slip, a letter or a call;
- `clients`: service accounts of integrated agency systems (OAuth2 client credentials, agency-scoped
  officers), the hand-over of cases disposed to an `external` agency;
- `idempotency`: `Idempotency-Key` records, so a retried command answers its first result;
- `open311`: Open311 GeoReport v2 (services from categories, requests as complaints, API keys).

Others import from here: `receive`, `Message`, `File`, `Context`, `Result`, `Outcome`, `ChannelMessage`,
and the modules `sms`, `mail`, `counters`, `clients`, `idempotency`, `open311` (by their module path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.faces import lazy

# A lazy face (engine.faces): importing one module of this package never runs the others.
if TYPE_CHECKING:
    from engine.channels import counters, mail, sms
    from engine.channels.inbound import ChannelMessage, Context, File, Message, Outcome, Result, receive

_NAMES: dict[str, str] = {
    "ChannelMessage": "engine.channels.inbound",
    "Context": "engine.channels.inbound",
    "File": "engine.channels.inbound",
    "Message": "engine.channels.inbound",
    "Outcome": "engine.channels.inbound",
    "Result": "engine.channels.inbound",
    "receive": "engine.channels.inbound",
}
_MODULES: dict[str, str] = {
    "counters": "engine.channels.counters",
    "mail": "engine.channels.mail",
    "sms": "engine.channels.sms",
}


__getattr__ = lazy(__name__, _NAMES, _MODULES)


__all__ = [
    "ChannelMessage",
    "Context",
    "File",
    "Message",
    "Outcome",
    "Result",
    "counters",
    "mail",
    "receive",
    "sms",
]
