"""Who may file a complaint on which channel: the citizen's own channels, and the paper and phone ones staff
type in for a citizen (suggestion box, counter, phone call, letter: *digitalisasi laporan*).

`file(session, submission, actor)` is intake with that rule applied, then `lifecycle.start_case`: a staff
channel needs a signed-in staff member, who is recorded as the one who entered it (`entered_by`, and the
`submitted` event's actor); the adapters' channels (SMS, WhatsApp, e-mail, Open311) are reached only
through their adapters. The citizen of a typed-in complaint is its reporter, or nobody (anonymous).
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from engine.cases import lifecycle
from engine.cases.access import Actor
from engine.errors import Forbidden
from engine.settings import DEFAULT_SETTINGS, Settings

CITIZEN_CHANNELS = ("web", "app", "api")
STAFF_CHANNELS = ("kotak_saran", "loket", "telepon", "surat")
ADAPTER_CHANNELS = ("sms", "whatsapp", "email", "open311")
CHANNELS = (*CITIZEN_CHANNELS, *ADAPTER_CHANNELS, *STAFF_CHANNELS)  # design.md's order
ENTERING_ROLES = frozenset({"verifier", "officer", "supervisor", "admin"})


def check_channel(actor: Actor | None, channel: str) -> None:
    """Forbidden unless `actor` may file on `channel` (callers have validated it is one of CHANNELS)."""
    if channel in STAFF_CHANNELS and (actor is None or actor.role not in ENTERING_ROLES):
        raise Forbidden(f"only staff type in complaints received by {channel}")
    if channel in ADAPTER_CHANNELS:
        raise Forbidden(f"complaints by {channel} arrive through the {channel} channel, not this intake")


def file(
    session: Session,
    submission: lifecycle.Submission,
    actor: Actor | None,
    settings: Settings = DEFAULT_SETTINGS,
) -> lifecycle.Outcome:
    """Start the case of `submission` after `check_channel`; a staff channel records `actor` as its enterer."""
    check_channel(actor, submission.channel)
    if submission.channel in STAFF_CHANNELS and actor is not None:
        submission = replace(submission, entered_by=actor.username, reporter_username=None)
    return lifecycle.start_case(session, submission, actor, settings)
