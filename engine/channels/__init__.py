"""Channels: every way a complaint and its replies reach a case, each a thin translator into the same
engine commands the API calls (`lifecycle.start_case`, `lifecycle.reporter_reply`); none owns a rule of
the lifecycle.

- `inbound`: the shared translator of a citizen's message (SMS, WhatsApp, e-mail) into a command, the
  idempotent log of inbound messages (`ChannelMessage`) and the answer to the sender;
- `sms`: the SMS / WhatsApp gateway's signed callback (HMAC, replay window, idempotent on the id);
- `mail`: an untrusted e-mail parsed into an inbound message, its attachments, its thread;
- `counters`: which caller may file on which channel; staff typing in a slip, a letter or a call.
- (h15b) `clients`, `idempotency`, `open311`: integrated agency systems and Open311 GeoReport v2.

Others import from here: `receive`, `Message`, `File`, `Context`, `Result`, `Outcome`, `ChannelMessage`,
and the modules `sms`, `mail`, `counters`.
"""

from engine.channels import counters, mail, sms
from engine.channels.inbound import ChannelMessage, Context, File, Message, Outcome, Result, receive

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
