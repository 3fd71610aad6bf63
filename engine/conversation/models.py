"""The `message` table: one entry of a case's thread, append-only like the audit trail it is part of."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, JSONType, UTCDateTime, case_reference


class MessageAudience(StrEnum):
    """`reporter`: shown to the reporter (and the public where the case is public); `staff`: internal note."""

    REPORTER = "reporter"
    STAFF = "staff"


class Message(Base):
    """One message of a case's thread, written by the command whose audit event (`event_seq`) carries it.

    Never updated or deleted (database triggers refuse it): a correction is another message.
    """

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(case_reference(), index=True)
    event_seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str] = mapped_column(sa.String(64))
    author_role: Mapped[str] = mapped_column(sa.String(32))
    audience: Mapped[str] = mapped_column(sa.String(16))
    body: Mapped[str] = mapped_column(sa.Text)
    attachments: Mapped[list[int]] = mapped_column(JSONType, default=list)
