"""Outbound webhooks: integrated agency systems subscribe to the events of the cases in their subtree.

An endpoint belongs to an agency; it receives every audit event of a case whose agency or verifiers' desk
lies in that agency's subtree. The payload carries the case's public read model and never the reporter's
identity or contact (an agency must not learn who filed an anonymous complaint).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.audit.chain import Event
from engine.cases.case import Case
from engine.db import Base, UTCDateTime, utcnow
from engine.directory.agencies import Agency, in_subtree
from engine.errors import InvalidData

ENDPOINT_PREFIX = "endpoint:"


class WebhookEndpoint(Base):
    """An agency system's URL; `secret` (else the app's WEBHOOK_SECRET) signs each delivery (HMAC-SHA256)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency: Mapped[str] = mapped_column(sa.ForeignKey("agency.code"), index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def add_endpoint(session: Session, agency: str, url: str, secret: str | None = None) -> WebhookEndpoint:
    """Subscribe `url` to the events of `agency`'s subtree (flushes; the caller commits)."""
    errors: dict[str, list[str]] = {}
    if session.get(Agency, agency) is None:
        errors["agency"] = [f"no agency {agency!r}"]
    if not url.startswith(("http://", "https://")) or len(url) > 500:
        errors["url"] = ["an http(s) URL of at most 500 characters"]
    if errors:
        raise InvalidData("invalid webhook endpoint", errors)
    endpoint = WebhookEndpoint(agency=agency, url=url, secret=secret)
    session.add(endpoint)
    session.flush()
    return endpoint


def endpoints_for(session: Session, case: Case) -> list[WebhookEndpoint]:
    """Active endpoints of agencies whose subtree holds the case's agency or its desk."""
    rows = session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))).all()
    return [e for e in rows if in_subtree(case.agency, e.agency) or in_subtree(case.desk, e.agency)]


def payload(case: Case, event: Event) -> dict[str, Any]:
    """What an agency system is told about one event (no reporter data)."""
    opened = event.data.get("opened", [])
    return {
        "id": f"{case.tracking_id}:{event.seq}",
        "event": event.type,
        "at": event.at.isoformat(),
        "task": event.task,
        "complaint": {
            "tracking_id": case.tracking_id,
            "status": case.status,
            "kind": case.kind,
            "category": case.category,
            "agency": case.agency,
            "escalated": case.escalated,
            "escalation_level": case.escalation_level,
            "confidential": case.confidential,
        },
        "opened_tasks": [{"name": t["name"], "due_at": t["due_at"]} for t in opened],
    }
