"""Languages of the pages: Indonesian first, English on request (`?lang=en`, remembered in a cookie).

Messages are written in English in the code and templates and translated by Flask-Babel's catalogue
(`translations/id/LC_MESSAGES/messages.po`), compiled at start into the instance folder (no binary .mo
is kept in the repository). To refresh the catalogue after changing a text:

    pybabel extract -F api/web/babel.cfg -k _l -o /tmp/messages.pot .
    pybabel update -i /tmp/messages.pot -d api/web/translations -l id --no-fuzzy-matching --width 120
    (then translate the new entries)

`tests/web/test_i18n.py` fails when a text of the pages has no Indonesian translation.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import flask_babel
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Response, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

LOCALES = ("id", "en")
DEFAULT_LOCALE = "id"
COOKIE = "lang"


def compile_catalogues(source: Path, target: Path) -> None:
    """Compile each `<locale>/LC_MESSAGES/messages.po` under `source` to a .mo under `target`, when stale."""
    for po in source.glob("*/LC_MESSAGES/messages.po"):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as text:
            catalog = read_po(text)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)  # several processes may start at once: each replaces the file whole


def select_locale() -> str:
    """`?lang=` first, then the cookie, then Indonesian."""
    for candidate in (request.args.get(COOKIE), request.cookies.get(COOKIE)):
        if candidate in LOCALES:
            return candidate
    return DEFAULT_LOCALE


def remember_locale(response: Response) -> Response:
    """A `?lang=` choice sticks for the following pages."""
    chosen = request.args.get(COOKIE)
    if chosen in LOCALES and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


STATUS = {
    "submitted": _l("Awaiting verification"),
    "needs_info": _l("Waiting for more information"),
    "dispositioned": _l("Sent to the agency"),
    "in_progress": _l("Being followed up"),
    "awaiting_reporter": _l("Answered: waiting for your confirmation"),
    "closed": _l("Closed"),
    "archived": _l("Archived"),
}
KIND = {
    "complaint": _l("Complaint"),
    "aspiration": _l("Aspiration"),
    "information_request": _l("Information request"),
    "complaint_investigation": _l("Complaint needing investigation"),
}
KIND_HELP = {
    "complaint": _l("Something went wrong with a public service and should be fixed."),
    "aspiration": _l("A suggestion or an idea to improve a public service."),
    "information_request": _l("You want information that a government body holds."),
}
CHANNEL = {
    "web": _l("Web form"),
    "app": _l("Mobile app"),
    "sms": _l("SMS"),
    "whatsapp": _l("WhatsApp"),
    "email": _l("E-mail"),
    "kotak_saran": _l("Suggestion box"),
    "loket": _l("Service counter (walk-in)"),
    "telepon": _l("Phone call"),
    "surat": _l("Letter"),
    "open311": _l("Open311 app"),
    "api": _l("Agency system (API)"),
}
ROLE = {
    "reporter": _l("Reporter"),
    "verifier": _l("Verifier"),
    "officer": _l("Agency officer"),
    "supervisor": _l("Supervisor"),
    "process_owner": _l("Process owner"),
    "auditor": _l("Auditor"),
    "admin": _l("Administrator"),
    "system": _l("System"),
}
EVENT = {
    "submitted": _l("Complaint submitted"),
    "task_claimed": _l("Task taken"),
    "task_completed": _l("Task completed"),
    "reporter_replied": _l("Reporter replied"),
    "timer_fired": _l("Deadline reached"),
    "migrated": _l("Moved to another process version"),
}
CLOSE_REASON = {
    "satisfied": _l("the reporter is satisfied"),
    "no_reply": _l("no reply from the reporter"),
    "rejected": _l("rejected at verification"),
    "incomplete": _l("the report was not completed"),
}
DEADLINE = {
    "met": _l("on time"),
    "missed": _l("late"),
    "overdue": _l("overdue"),
    "pending": _l("not yet due"),
    "cancelled": _l("cancelled"),
    "none": _l("no deadline"),
}
# Values of the default diagram's task forms; a value not listed here is shown as it is.
CHOICE = {
    "accept": _l("Accept and send to an agency"),
    "reject": _l("Reject (archive)"),
    "need_info": _l("Ask the reporter for more information"),
    "respond": _l("Answer the reporter"),
    "not_authority": _l("Not our authority (back to the verifiers)"),
    "delegate": _l("Delegate to a unit"),
    "acknowledge": _l("Acknowledge"),
    "reassign": _l("Give the task to someone else"),
    **KIND,
}
# Field labels of the default forms by property name; others show the schema's title.
FIELD = {
    "decision": _l("Decision"),
    "agency": _l("Agency"),
    "category": _l("Category"),
    "kind": _l("Kind"),
    "reason": _l("Reason"),
    "anonymous": _l("Anonymous"),
    "confidential": _l("Confidential"),
    "message": _l("Message"),
    "unit": _l("Unit"),
    "final": _l("Final answer"),
    "action": _l("Action"),
    "note": _l("Note"),
    "assignee": _l("New assignee"),
    "duplicate_of": _l("Duplicate of"),
}
# What each default form is for, by form file stem; other forms show their schema's own description.
FORM_HELP = {
    "verify": _l(
        "The verifier's decision on a new or returned complaint: send it to an agency, archive it, or ask the "
        "reporter for more information."
    ),
    "respond": _l(
        "The agency's follow-up on a complaint sent to it: answer the reporter, return it as not its authority, "
        "or delegate it to a unit."
    ),
    "escalation": _l(
        "A supervisor's action on a task that missed its deadline: acknowledge it, or give the overdue task to "
        "another staff member."
    ),
}
FIELD_HELP = {
    "verify.decision": _l("Send it to the competent agency, archive it, or ask the reporter to complete it."),
    "verify.agency": _l("The agency that must follow up. Required to accept."),
    "verify.category": _l("Leave as it is to keep the reporter's choice."),
    "verify.kind": _l("It sets the completion deadline."),
    "verify.reason": _l("Shown to the reporter. Required to reject or to ask for information."),
    "verify.anonymous": _l("Hide the reporter's identity from agencies and the public."),
    "verify.confidential": _l("Keep the complaint out of every public view."),
    "verify.duplicate_of": _l(
        "The tracking number of the complaint this one repeats. With Reject and the reason 'duplicate', the "
        "complaint is closed as a duplicate and its reporter follows that one."
    ),
    "respond.decision": _l("Answer the reporter, return it as not your authority, or delegate it to a unit."),
    "respond.message": _l("The follow-up shown to the reporter, or why you return or delegate it."),
    "respond.unit": _l("The unit that takes over. Required to delegate."),
    "respond.final": _l("Ask the reporter to confirm; untick for an interim update."),
    "escalation.action": _l("Acknowledge the breach, or give the overdue task to someone else."),
    "escalation.note": _l("Internal note for the case history."),
    "escalation.assignee": _l("Who takes over the overdue task. Required to reassign."),
}


# Indonesia's three zones by their own names (CLDR has no short name for them in English)
ZONES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def zone_name(value: Any) -> str:
    """The short name of the page's time zone at `value`: WIB, WITA, WIT, else CLDR's (e.g. GMT+8)."""
    zone = str(flask_babel.get_timezone())
    return ZONES.get(zone) or flask_babel.format_datetime(value, "zzz")


def label(table: dict[str, Any], value: Any) -> Any:
    """The translated label of `value` in `table`, or the value itself."""
    return table.get(value, value) if isinstance(value, str) else value


LENGTH = re.compile(r"Length must be between (\d+) and (\d+)\.")
PATTERNS = (
    (re.compile(r"^'.*' is a required property$"), _l("Please fill this in.")),
    (re.compile(r"^'.*' is too long$", re.S), _l("Too long.")),
    (re.compile(r"^'.*' (is too short|should be non-empty)$", re.S), _l("Please fill this in.")),
    (re.compile(r"^.* is not one of \[.*\]$", re.S), _l("Choose one of the options.")),
    (re.compile(r"^'.*' is not a '(agency|agency-unit)'$", re.S), _l("Not a known agency or unit.")),
    (re.compile(r"^'.*' is taken$", re.S), _l("This name is taken; choose another.")),
)


def translate_error(message: str) -> str:
    """The validators' usual English messages (marshmallow, JSON Schema) in the page's language."""
    known = {
        "Missing data for required field.": _("Please fill this in."),
        "Not a valid email address.": _("Not a valid e-mail address."),
        "Not a valid date.": _("Not a valid date."),
        "Not a valid integer.": _("Not a valid number."),
        "Must be greater than or equal to 1 and less than or equal to 5.": _("Choose from 1 to 5."),
        "a phone number": _("Not a valid phone number."),
        "must not be in the future": _("The date must not be in the future."),
        "must not be blank": _("Please fill this in."),
        "2-64 lower-case letters, digits, '.', '_' or '-'": _("2 to 64 lower-case letters, digits, '.', '_' or '-'."),
        "8 to 200 characters": _("Between %(low)s and %(high)s characters.", low=8, high=200),
        "an e-mail address": _("Not a valid e-mail address."),
    }
    if message in known:
        return str(known[message])
    if match := LENGTH.fullmatch(message):
        return str(_("Between %(low)s and %(high)s characters.", low=match[1], high=match[2]))
    for pattern, text in PATTERNS:
        if pattern.match(message):
            return str(text)
    return message
