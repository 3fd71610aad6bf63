"""The case's thread: post a message (staff note or message to the reporter; reporter's extra information).

Messages are never edited or deleted: PUT, PATCH and DELETE on a message answer 409.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api import views
from api.auth import current_actor
from api.extensions import db
from api.resources.complaints import visible
from api.schemas.complaints import MessageCreateSchema, MessageSchema
from engine import conversation
from engine.cases import attachments
from engine.cases.access import Actor
from engine.cases.case import Case
from engine.cases.visibility import Audience
from engine.errors import Forbidden, NotFound

blp = Blueprint("messages", __name__, description="The thread of a complaint (messages)")


def writer(tracking_id: str) -> tuple[Case, Audience, Actor]:
    """The case and who writes on it: staff in scope, or its reporter (404 for the public, 403 auditors)."""
    case, audience = visible(tracking_id)
    if audience == Audience.PUBLIC:
        raise NotFound(f"no complaint {tracking_id!r}")
    if audience == Audience.AUDITOR:
        raise Forbidden("auditors and admins only read complaints")
    actor = current_actor()
    if audience == Audience.REPORTER:
        actor = Actor(username=case.reporter_username or "reporter", role="reporter")
    assert actor is not None
    return case, audience, actor


def shown(case: Case, audience: Audience, message_id: int) -> dict[str, Any]:
    """Message `message_id` as the caller may read it; 404 when it is not in their part of the thread."""
    files = {a.id: a for a in attachments.list_for(db.session(), case)}
    for item in views.messages(db.session(), case, audience, files):
        if item["id"] == message_id:
            return item
    raise NotFound(f"no message {message_id}")


@blp.route("/complaints/<tracking:tracking_id>/messages")
class Messages(MethodView):
    @blp.arguments(MessageCreateSchema)
    @blp.response(201, MessageSchema)
    def post(self, body: dict[str, Any], tracking_id: str) -> Any:
        """Add a message without moving the case: staff `audience` reporter or staff (default); a reporter
        (`X-Reporter-Token`) always writes to the reporter."""
        case, audience, actor = writer(tracking_id)
        message = conversation.post_message(
            db.session(), case, actor, body["body"], body.get("audience"), body.get("attachments")
        )
        location = f"/api/v1/complaints/{tracking_id}/messages/{message.id}"
        return shown(case, audience, message.id), 201, {"Location": location}


@blp.route("/complaints/<tracking:tracking_id>/messages/<int:message_id>")
class MessageItem(MethodView):
    @blp.response(200, MessageSchema)
    def get(self, tracking_id: str, message_id: int) -> dict[str, Any]:
        """One message of the thread, as the caller may read it."""
        case, audience = visible(tracking_id)
        return shown(case, audience, message_id)

    @blp.alt_response(409, description="Messages are never edited")
    def put(self, tracking_id: str, message_id: int) -> None:
        """Refused: a message is part of the audit trail; post another one."""
        self._refuse(tracking_id, message_id)

    @blp.alt_response(409, description="Messages are never edited")
    def patch(self, tracking_id: str, message_id: int) -> None:
        """Refused: a message is part of the audit trail; post another one."""
        self._refuse(tracking_id, message_id)

    @blp.alt_response(409, description="Messages are never deleted")
    def delete(self, tracking_id: str, message_id: int) -> None:
        """Refused: a message is part of the audit trail; post another one."""
        self._refuse(tracking_id, message_id)

    def _refuse(self, tracking_id: str, message_id: int) -> None:
        case, audience = visible(tracking_id)
        shown(case, audience, message_id)
        conversation.refuse_change(message_id)
