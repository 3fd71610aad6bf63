"""Every persisted concept, imported in one place so the metadata (and migrations) see all tables."""

from engine.audit import Event
from engine.calendar_days import CalendarDay
from engine.cases import Case, FollowUp
from engine.categories import Category
from engine.config import ConfigVersion
from engine.db import Base
from engine.directory import Agency
from engine.outbox import OutboxMessage
from engine.processes import ProcessVersion
from engine.tasks import TaskRecord
from engine.users import User
from engine.webhooks import WebhookEndpoint

__all__ = [
    "Agency",
    "Base",
    "CalendarDay",
    "Case",
    "Category",
    "ConfigVersion",
    "Event",
    "FollowUp",
    "OutboxMessage",
    "ProcessVersion",
    "TaskRecord",
    "User",
    "WebhookEndpoint",
]
