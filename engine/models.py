"""Every persisted concept, imported in one place so the metadata (and migrations) see all tables."""

from engine.audit.chain import Event
from engine.calendar.days import CalendarDay
from engine.cases.case import Case, FollowUp
from engine.cases.tasks import TaskRecord
from engine.channels.clients import ServiceClient
from engine.channels.idempotency import IdempotencyKey
from engine.channels.inbound import ChannelMessage
from engine.channels.open311 import Open311Key
from engine.conversation import Message
from engine.db import Base
from engine.directory.agencies import Agency
from engine.directory.categories import Category
from engine.directory.signin import AccountEvent, LoginThrottle, WebSession
from engine.directory.snapshot import ConfigVersion
from engine.directory.users import User
from engine.notify.outbox import OutboxMessage
from engine.notify.webhooks import WebhookEndpoint
from engine.places import Area, Follower
from engine.processes.incidents import Incident
from engine.processes.registry import ProcessVersion
from engine.stats.rollup import StatsCell, StatsDelta, StatsSnapshot

__all__ = [
    "AccountEvent",
    "Agency",
    "Area",
    "Base",
    "CalendarDay",
    "Case",
    "Category",
    "ChannelMessage",
    "ConfigVersion",
    "Event",
    "FollowUp",
    "Follower",
    "IdempotencyKey",
    "Incident",
    "LoginThrottle",
    "Message",
    "Open311Key",
    "OutboxMessage",
    "ProcessVersion",
    "ServiceClient",
    "StatsCell",
    "StatsDelta",
    "StatsSnapshot",
    "TaskRecord",
    "User",
    "WebSession",
    "WebhookEndpoint",
]
