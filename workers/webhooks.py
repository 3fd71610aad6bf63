"""Webhook jobs: POST one outbox row, HMAC-signed, to an integrated agency system."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.notify import delivery as notify
from engine.notify import webhooks
from engine.notify.outbox import OutboxMessage, Send
from workers.notifications import run_attempt


def _send(config: dict[str, Any]) -> Send:
    channel = notify.channels_from_config(config)[notify.ChannelName.WEBHOOK]

    def send(session: Session, row: OutboxMessage) -> None:
        endpoint_id = int(row.recipient.removeprefix(webhooks.ENDPOINT_PREFIX))
        endpoint = session.get(webhooks.WebhookEndpoint, endpoint_id)
        if endpoint is None or not endpoint.active:
            raise notify.DeliveryError(f"webhook endpoint {endpoint_id} is gone", permanent=True)
        secret = endpoint.secret or config.get("WEBHOOK_SECRET")
        if not secret:
            raise notify.DeliveryError("no secret to sign with: set the endpoint's or WEBHOOK_SECRET", permanent=True)
        channel.send(notify.Message(endpoint.url, row.payload["event"], "", row.key, row.payload, secret))

    return send


def deliver_webhook(outbox_id: int) -> str | None:
    """POST webhook row `outbox_id`; retried with backoff, dead-lettered after the last attempt."""
    status = run_attempt(outbox_id, _send)
    return status.value if status else None
