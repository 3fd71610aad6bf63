"""Names of diagram elements in the page's language, keyed by element id.

Task names (inbox, task page, case page, audit page) and the labels drawn in the diagram on the audit
page come from this catalogue when it knows the element's id; an element it does not know (a process
owner's new task) keeps the name its diagram gives it, in both languages, so every task has a name.
Diagrams are written in English: in English the diagram's own names are shown as they are.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from api.web.i18n import ROLE

ELEMENT = {
    # lanes
    "lane_reporter": ROLE["reporter"],
    "lane_verifier": ROLE["verifier"],
    "lane_supervisor": ROLE["supervisor"],
    "lane_officer": ROLE["officer"],
    "participant": _l("Complaint lifecycle"),
    # intake
    "start": _l("Complaint submitted"),
    "route": _l("Propose agency"),
    "set_deadlines": _l("Look up deadlines"),
    "register": _l("Register complaint"),
    # verification
    "verification": _l("Verification"),
    "set_verify_due": _l("Set verification deadline"),
    "verify": _l("Verify complaint"),
    "verify_breach": _l("Deadline passed"),
    "verify_reminder": _l("Reminder"),
    "remind_verifier": _l("Remind verifiers"),
    "flag_verify_breach": _l("Flag overdue verification"),
    "escalate_verification": _l("Handle overdue verification"),
    "verification_end": _l("Verified"),
    "verification_decision": _l("Decision?"),
    "archive_rejected": _l("Archive as rejected"),
    "rejected_end": _l("Archived"),
    "request_info": _l("Ask reporter for information"),
    "info_received": _l("Reporter replied"),
    "resubmit": _l("Resubmit for verification"),
    "info_timeout": _l("No reply in time"),
    "archive_incomplete": _l("Archive as incomplete"),
    "incomplete_end": _l("Archived"),
    "reclassify": _l("Look up deadlines for kind"),
    "dispose": _l("Dispose to agency"),
    # follow-up
    "follow_up": _l("Follow-up"),
    "open_follow_up": _l("Open follow-up"),
    "respond": _l("Follow up complaint"),
    "respond_second_breach": _l("Still overdue"),
    "respond_breach": _l("Deadline passed"),
    "respond_reminder": _l("Reminder"),
    "flag_second_breach": _l("Escalate to verifiers’ desk"),  # noqa: RUF001  (the diagram's own name)
    "escalate_desk": _l("Handle overdue agency"),
    "flag_first_breach": _l("Escalate to agency supervisor"),
    "escalate_agency": _l("Handle overdue follow-up"),
    "remind_officer": _l("Remind agency"),
    "follow_up_end": _l("Answered"),
    "response_decision": _l("Decision?"),
    "record_follow_up": _l("Record follow-up"),
    "is_final": _l("Final answer?"),
    "delegate_to_unit": _l("Delegate to unit"),
    "return_to_verifier": _l("Return for re-routing"),
    "interim": _l("Keep in progress"),
    "await_reporter": _l("Wait for reporter"),
    "reply_timeout": _l("No reply in time"),
    "close_no_reply": _l("Close without reply"),
    "no_reply_end": _l("Closed"),
    "reply_received": _l("Reporter replied"),
    "reporter_satisfied": _l("Satisfied?"),
    "close_satisfied": _l("Close as resolved"),
    "satisfied_end": _l("Closed"),
    "reopen": _l("Reopen follow-up"),
    # flows
    "f_accept": _l("accept"),
    "f_reject": _l("reject"),
    "f_need_info": _l("need more information"),
    "f_respond": _l("answer"),
    "f_delegate": _l("delegate"),
    "f_not_authority": _l("not our authority"),
    "f_interim": _l("interim"),
    "f_final": _l("final"),
    "f_satisfied": _l("satisfied"),
    "f_not_satisfied": _l("not satisfied"),
}


def in_english() -> bool:
    return str(get_locale()) == "en"


def element_name(element_id: str | None, fallback: str) -> str:
    """The element's name in the page's language, or `fallback` (its diagram's own name)."""
    known = ELEMENT.get(element_id or "")
    return str(known) if known is not None and not in_english() else fallback


def translate_diagram(xml: str) -> str:
    """The BPMN XML with the `name` of every catalogued element in the page's language (for the viewer)."""
    if in_english():
        return xml
    for element_id, name in ELEMENT.items():
        text = escape(str(name), {'"': "&quot;"}).replace("\\", "\\\\")
        name_after = rf'(<[\w:]+\s[^>]*?\bid="{re.escape(element_id)}"[^>]*?\bname=")[^"]*(")'
        name_before = rf'(<[\w:]+\s[^>]*?\bname=")[^"]*("[^>]*?\bid="{re.escape(element_id)}")'
        for pattern in (name_after, name_before):
            xml = re.sub(pattern, rf"\g<1>{text}\g<2>", xml, count=1)
    return xml
