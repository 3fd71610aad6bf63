"""The case is a conversation: a thread of messages between the reporter and the staff of a case.

Every text entered through the lifecycle (a verifier's reason or question, an agency's follow-up or its
reason for returning or delegating a case, every reporter reply) becomes a message in the command's own
transaction and inside its audit event; staff and the reporter may also post without moving the case.
Messages are append-only. Who sees which message is decided in `engine.cases.visibility`.

Others may import: `ANNOTATION` (the form schema keyword), `Message`, `MessageAudience`, `Draft`,
`from_form`, `from_reply`, `event_data`, `store` (`columns`: its rows' values), `thread`, `check_attachments`,
`published_files`, `post_message`, `refuse_change`, `send_codes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.faces import lazy

# A lazy face (engine.faces): importing one module of this package never runs the others.
if TYPE_CHECKING:
    from engine.conversation.commands import post_message, refuse_change, send_codes
    from engine.conversation.models import Message, MessageAudience
    from engine.conversation.threads import (
        ANNOTATION,
        Draft,
        check_attachments,
        columns,
        event_data,
        from_form,
        from_reply,
        published_files,
        store,
        thread,
    )

_NAMES: dict[str, str] = {
    "ANNOTATION": "engine.conversation.threads",
    "Draft": "engine.conversation.threads",
    "Message": "engine.conversation.models",
    "MessageAudience": "engine.conversation.models",
    "check_attachments": "engine.conversation.threads",
    "columns": "engine.conversation.threads",
    "event_data": "engine.conversation.threads",
    "from_form": "engine.conversation.threads",
    "from_reply": "engine.conversation.threads",
    "post_message": "engine.conversation.commands",
    "published_files": "engine.conversation.threads",
    "refuse_change": "engine.conversation.commands",
    "send_codes": "engine.conversation.commands",
    "store": "engine.conversation.threads",
    "thread": "engine.conversation.threads",
}
_MODULES: dict[str, str] = {}


__getattr__ = lazy(__name__, _NAMES, _MODULES)


__all__ = [
    "ANNOTATION",
    "Draft",
    "Message",
    "MessageAudience",
    "check_attachments",
    "columns",
    "event_data",
    "from_form",
    "from_reply",
    "post_message",
    "published_files",
    "refuse_change",
    "send_codes",
    "store",
    "thread",
]
