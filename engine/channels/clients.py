"""Integrated agency systems: service accounts that act as officers of one agency's subtree.

A client is created for an agency (`aduan clients create --agency CODE`) and gets an id and a secret,
shown once (only the secret's sha256 is kept: it is 256 random bits, so a slow hash adds nothing). With
them it obtains an OAuth2 client-credentials token; the token's actor is an `officer` of that agency named
`client:<id>`, so every scope rule that holds for officers holds for it. A case disposed to an agency
marked `external` is handed over to that agency's systems as a `handed_over` webhook; its tasks and
deadlines stay in Aduan, so the SLA clock and escalations run exactly as for any other agency.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.cases.access import Actor, Role
from engine.db import Base, UTCDateTime, utcnow
from engine.directory.agencies import Agency
from engine.errors import InvalidData, NotFound

ACTOR_PREFIX = "client:"
HANDED_OVER = "handed_over"


class ServiceClient(Base):
    """An agency system's credentials; it acts as an officer of `agency` and its units."""

    __tablename__ = "service_client"

    client_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    agency: Mapped[str] = mapped_column(sa.ForeignKey("agency.code"), index=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def actor(self) -> Actor:
        return Actor(username=f"{ACTOR_PREFIX}{self.client_id}", role=Role.OFFICER, agency=self.agency)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_client(session: Session, agency: str, name: str = "") -> tuple[ServiceClient, str]:
    """A new client of `agency` and its secret, which is not stored and cannot be shown again (flushes)."""
    if session.get(Agency, agency) is None:
        raise InvalidData("invalid client", {"agency": [f"no agency {agency!r}"]})
    secret = secrets.token_urlsafe(32)
    client = ServiceClient(
        client_id=f"{agency.split('.')[-1][:20]}-{secrets.token_hex(6)}",
        name=name or agency,
        agency=agency,
        secret_hash=_digest(secret),
    )
    session.add(client)
    session.flush()
    return client, secret


def authenticate(session: Session, client_id: str, secret: str) -> ServiceClient | None:
    """The active client with these credentials, or None."""
    client = session.get(ServiceClient, client_id) if len(client_id) <= 40 else None
    expected = client.secret_hash if client is not None else _digest("no such client")
    matches = hmac.compare_digest(expected, _digest(secret))
    return client if client is not None and client.active and matches else None


def revoke(session: Session, client_id: str) -> ServiceClient:
    """Deactivate a client: its tokens stop working at once (flushes; the caller commits)."""
    client = session.get(ServiceClient, client_id) if len(client_id) <= 40 else None
    if client is None:
        raise NotFound(f"no client {client_id!r}")
    client.active = False
    session.flush()
    return client


def actor_of(session: Session, client_id: str) -> Actor | None:
    """The actor of a still-active client (a token outlives nothing that was revoked)."""
    client = session.get(ServiceClient, client_id) if len(client_id) <= 40 else None
    return client.actor if client is not None and client.active else None


def handover_payload(
    session: Session, changes: dict[str, Any], payload: dict[str, Any], external: Collection[str] | None = None
) -> dict[str, Any] | None:
    """The `handed_over` webhook of an event that disposed the case to an external agency, else None.

    `changes` are the event's {column: [old, new]}; `payload` is the event's ordinary webhook payload;
    `external`, the codes of the external agencies when the caller knows them (a configuration snapshot),
    else the agency is read.
    """
    agency_change = changes.get("agency")
    if not agency_change or agency_change[1] is None:
        return None
    if external is not None:
        return _handed_over(payload) if agency_change[1] in external else None
    agency = session.get(Agency, agency_change[1])
    if agency is None or not agency.external:
        return None
    return _handed_over(payload)


def _handed_over(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "id": f"{payload['id']}:{HANDED_OVER}", "event": HANDED_OVER}
