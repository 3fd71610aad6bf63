"""Notify: telling people and systems what happened.

- `delivery`  templates, audiences and the channels that carry a message (console, SMTP, SMS gateway, webhook)
- `outbox`    notifications and webhooks written in the case's transaction, delivered after commit
- `webhooks`  subscriptions of integrated agency systems
"""
