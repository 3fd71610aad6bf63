"""Configuration: embedded defaults, overridden by the environment, overridden by `create_app(config)`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.db import normalize_url
from engine.settings import Settings

ENV_KEYS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL": "REDIS_URL",
    "SECRET_KEY": "SECRET_KEY",
    "TIMEZONE": "TIMEZONE",
    "ADUAN_DEFAULT_JURISDICTION": "DEFAULT_JURISDICTION",
    "ATTACHMENTS_DIR": "ATTACHMENTS_DIR",
    "INTAKE_RATE_LIMIT": "INTAKE_RATE_LIMIT",
    "ADUAN_JSON_LOGS": "JSON_LOGS",
    "LOG_LEVEL": "LOG_LEVEL",
    "ADUAN_QUEUE_PREFIX": "QUEUE_PREFIX",
    "SMTP_URL": "SMTP_URL",
    "MAIL_FROM": "MAIL_FROM",
    "SMS_GATEWAY_URL": "SMS_GATEWAY_URL",
    "SMS_GATEWAY_TOKEN": "SMS_GATEWAY_TOKEN",
    "WEBHOOK_SECRET": "WEBHOOK_SECRET",
    "ADUAN_NODE_MODULES": "NODE_MODULES_DIR",
}


def defaults(instance_path: str) -> dict[str, Any]:
    """The embedded default: an SQLite file in the instance folder, timers in-process, no Redis."""
    return {
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(Path(instance_path) / "aduan.sqlite3"),
        # no ping round trip on every checkout: a connection the server dropped fails one statement, and
        # SQLAlchemy then replaces the whole pool (a restart of PostgreSQL costs each worker one failed request)
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, "pool_recycle": 1800},
        "REDIS_URL": None,
        "SECRET_KEY": None,
        "TIMEZONE": "Asia/Jakarta",
        "DEFAULT_JURISDICTION": None,
        "ATTACHMENTS_DIR": str(Path(instance_path) / "attachments"),
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "INTAKE_RATE_LIMIT": "60/minute",
        "LOGIN_RATE_LIMIT": "20/minute",
        "JSON_LOGS": False,
        "LOG_LEVEL": "INFO",
        "RATELIMIT_STORAGE_URI": "memory://",
        # the X-RateLimit-* headers cost a second Redis round trip per limited request; a 429 says enough
        "RATELIMIT_HEADERS_ENABLED": False,
        "TOKEN_LIFETIME_SECONDS": 3600,
        # a Redis outage must not stop intake: limits fall back to memory, then to no limit
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # deadlines and deliveries (workers/): queues are "<prefix>.timers", ".notifications", ".webhooks"
        "QUEUE_PREFIX": "aduan",
        "SCHEDULER_INTERVAL": 5.0,
        "SWEEP_BATCH": 500,
        "TIMER_JOB_STALE_SECONDS": 60,
        "OUTBOX_RELAY_AFTER_SECONDS": 10,
        "OUTBOX_MAX_ATTEMPTS": 5,
        "OUTBOX_BACKOFF": [10, 60, 300, 1800],
        "SMTP_URL": None,
        "MAIL_FROM": "aduan@localhost",
        "SMS_GATEWAY_URL": None,
        "SMS_GATEWAY_TOKEN": None,
        "WEBHOOK_SECRET": None,
        "DELIVERY_TIMEOUT": 10.0,
    }


def from_environment() -> dict[str, Any]:
    return {key: os.environ[env] for env, key in ENV_KEYS.items() if os.environ.get(env)}


def build(instance_path: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    config = {**defaults(instance_path), **from_environment(), **(overrides or {})}
    config["SQLALCHEMY_DATABASE_URI"] = normalize_url(config["SQLALCHEMY_DATABASE_URI"])
    if isinstance(config["JSON_LOGS"], str):
        config["JSON_LOGS"] = config["JSON_LOGS"].strip().lower() in ("1", "true", "yes", "on")
    if config.get("REDIS_URL") and config["RATELIMIT_STORAGE_URI"] == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
    return config


def engine_settings(config: dict[str, Any]) -> Settings:
    """The engine's settings drawn from the app's configuration."""
    return Settings(timezone=config["TIMEZONE"], default_jurisdiction=config.get("DEFAULT_JURISDICTION"))
