"""Service configuration: embedded defaults, overridden by the environment, overridden by `create_app(config)`.

A plain dict shared by the API and the workers (neither needs the other to read it).
"""

from __future__ import annotations

import os
from datetime import timedelta
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
    "SMS_GATEWAY_SECRET": "SMS_GATEWAY_SECRET",
    "WHATSAPP_GATEWAY_URL": "WHATSAPP_GATEWAY_URL",
    "WHATSAPP_GATEWAY_TOKEN": "WHATSAPP_GATEWAY_TOKEN",
    "MAIL_INTAKE_ADDRESS": "MAIL_INTAKE_ADDRESS",
    "MAIL_REPLY_TO": "MAIL_REPLY_TO",
    "PUBLIC_URL": "PUBLIC_URL",
    "WEBHOOK_SECRET": "WEBHOOK_SECRET",
    "ADUAN_NODE_MODULES": "NODE_MODULES_DIR",
    "MAP_TILE_URL": "MAP_TILE_URL",
    "PUBLIC_STATS_TTL": "PUBLIC_STATS_TTL",
    "ADUAN_STATS_REFRESH_INTERVAL": "STATS_REFRESH_INTERVAL",
    "ADUAN_STATS_REFRESH_CHANGES": "STATS_REFRESH_CHANGES",
    "ADUAN_PUBLIC_URL": "PUBLIC_URL",
    "ADUAN_SCRIPT_CHECK_TIMEOUT": "SCRIPT_CHECK_TIMEOUT",
    "ADUAN_SCRIPT_MAX_STEPS": "SCRIPT_MAX_STEPS",
    "METRICS_TOKEN": "METRICS_TOKEN",
    "ADUAN_HSTS_SECONDS": "HSTS_SECONDS",
    "UPLOAD_RATE_LIMIT": "UPLOAD_RATE_LIMIT",
    "WEB_CONCURRENCY": "API_WORKERS",
    "ADUAN_LOGIN_RATE_LIMIT": "LOGIN_RATE_LIMIT",
    "ADUAN_PASSWORD_CHECK_CONCURRENCY": "PASSWORD_CHECK_CONCURRENCY",
    "ADUAN_PASSWORD_CHECK_WAIT_SECONDS": "PASSWORD_CHECK_WAIT_SECONDS",
    "UPLOAD_CASE_RATE_LIMIT": "UPLOAD_CASE_RATE_LIMIT",
    "SESSION_COOKIE_SECURE": "SESSION_COOKIE_SECURE",
    "ADUAN_AUDIT_CHECKPOINT_KEY": "AUDIT_CHECKPOINT_KEY",
    "ADUAN_AUDIT_CHECKPOINT_KEY_FILE": "AUDIT_CHECKPOINT_KEY_FILE",
    "ADUAN_TIMER_BATCH": "TIMER_BATCH",
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
        "PUBLIC_URL": "http://localhost:5000",  # where reporters open /lacak (links in their notifications)
        "DEFAULT_JURISDICTION": None,
        "ATTACHMENTS_DIR": str(Path(instance_path) / "attachments"),
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "INTAKE_RATE_LIMIT": "60/minute",
        # uploads: per client (address), and per complaint whoever sends them
        "UPLOAD_RATE_LIMIT": "30/minute;300/day",
        "UPLOAD_CASE_RATE_LIMIT": "20/hour",
        "HSTS_SECONDS": None,  # e.g. 31536000 behind HTTPS: browsers then refuse plain HTTP for a year
        "LOGIN_RATE_LIMIT": "20/minute",
        "JSON_LOGS": False,
        "LOG_LEVEL": "INFO",
        "RATELIMIT_STORAGE_URI": "memory://",
        # the X-RateLimit-* headers cost a second Redis round trip per limited request; a 429 says enough
        "RATELIMIT_HEADERS_ENABLED": False,
        "TOKEN_LIFETIME_SECONDS": 3600,
        # GET /tasks?since=: tasks younger than this wait for the next poll (a slower commit may land before them)
        "TASK_CURSOR_SETTLE_SECONDS": 2.0,
        # API processes sharing the limits (gunicorn sets WEB_CONCURRENCY, api/gunicorn_conf.py): while Redis
        # is down each counts alone in memory with its share of every limit
        "API_WORKERS": 1,
        # a Redis outage must not stop intake: limits fall back to memory, then to no limit
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # deadlines and deliveries (workers/): queues are "<prefix>.timers", ".notifications", ".webhooks"
        "QUEUE_PREFIX": "aduan",
        "SCHEDULER_INTERVAL": 5.0,
        "SWEEP_BATCH": 500,
        # due cases fired in one transaction (and, with Redis, one job): deadlines fall due together at the end
        # of a working day, and a batch pays one SELECT and one COMMIT for all its cases
        "TIMER_BATCH": 25,
        "TIMER_JOB_STALE_SECONDS": 60,
        "OUTBOX_RELAY_AFTER_SECONDS": 10,
        # housekeeping (workers/housekeeping.py): expired sessions, old idempotency keys
        "HOUSEKEEPING_INTERVAL": 3600,
        "IDEMPOTENCY_KEEP_HOURS": 24,
        "OUTBOX_MAX_ATTEMPTS": 5,
        "OUTBOX_BACKOFF": [10, 60, 300, 1800],
        "SMTP_URL": None,
        "MAIL_FROM": "aduan@localhost",
        "SMS_GATEWAY_URL": None,
        "SMS_GATEWAY_TOKEN": None,
        "SMS_GATEWAY_SECRET": None,  # HMAC secret of inbound gateway callbacks; unset: every callback is refused
        "WHATSAPP_GATEWAY_URL": None,  # unset: WhatsApp goes through SMS_GATEWAY_URL with "channel": "whatsapp"
        "WHATSAPP_GATEWAY_TOKEN": None,
        "MAIL_INTAKE_ADDRESS": None,  # e.g. lapor@batam.go.id: `aduan mail serve` accepts mail for it
        "MAIL_REPLY_TO": None,  # Reply-To of outgoing mail (default MAIL_INTAKE_ADDRESS)
        "MAIL_MAX_BYTES": 25 * 1024 * 1024,
        "WEBHOOK_SECRET": None,
        "DELIVERY_TIMEOUT": 10.0,
        # maps (Leaflet): an XYZ tile server; the pages still work (typed coordinates) when it cannot be reached
        "MAP_TILE_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "PUBLIC_STATS_TTL": 300,  # seconds between recomputations of the city's public figures
        # the figures' snapshot (engine.stats.rollup, PostgreSQL): rebuilt by the scheduler when older than this
        # many seconds (0: never) or when this many case writes were logged since
        "STATS_REFRESH_INTERVAL": 300,
        "STATS_REFRESH_CHANGES": 5000,
        # diagram code (engine.processes.sandbox): an upload's checks run in a child process killed after this many
        # seconds, within this much memory; at run time an evaluation has a step and time budget
        "SCRIPT_CHECK_TIMEOUT": 10.0,
        "SCRIPT_CHECK_MEMORY_MB": 1024,
        "SCRIPT_MAX_STEPS": 1_000_000,
        "SCRIPT_MAX_SECONDS": 2.0,
        # the page session: Lax keeps it off cross-site POSTs; 8 hours, then sign in again; the Secure flag
        # follows SESSION_COOKIE_SECURE when set, else the request (on for HTTPS, see api/web/sessions.py)
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": None,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        # password checks (argon2) running at once on one host; over it a sign-in waits this long, then 429
        "PASSWORD_CHECK_CONCURRENCY": max(1, (os.cpu_count() or 2) // 2),
        "PASSWORD_CHECK_WAIT_SECONDS": 0.1,  # short: a waiting sign-in holds a worker thread
        # /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is not served at all
        "METRICS_TOKEN": None,
    }


def from_environment() -> dict[str, Any]:
    return {key: os.environ[env] for env, key in ENV_KEYS.items() if os.environ.get(env)}


def build(instance_path: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    config = {**defaults(instance_path), **from_environment(), **(overrides or {})}
    config["SQLALCHEMY_DATABASE_URI"] = normalize_url(config["SQLALCHEMY_DATABASE_URI"])
    for flag in ("JSON_LOGS", "SESSION_COOKIE_SECURE"):
        if isinstance(config[flag], str):
            config[flag] = config[flag].strip().lower() in ("1", "true", "yes", "on")
    config["TIMER_BATCH"] = _positive(config["TIMER_BATCH"], "ADUAN_TIMER_BATCH")
    if config.get("REDIS_URL") and config["RATELIMIT_STORAGE_URI"] == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
    if str(config["RATELIMIT_STORAGE_URI"]).startswith("redis"):
        # an outage is noticed in a second, then the limits count in memory (see api.extensions.budget)
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})
    return config


def _positive(value: Any, name: str) -> int:
    """A whole number ≥ 1, else a ValueError naming the setting (not its value)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ValueError(f"{name}: a whole number of at least 1")
    return number


def sandbox_limits(config: dict[str, Any]) -> dict[str, Any]:
    """The knobs of engine.processes.sandbox drawn from the app's configuration."""
    return {
        "isolation_timeout": float(config["SCRIPT_CHECK_TIMEOUT"]),
        "isolation_memory": int(config["SCRIPT_CHECK_MEMORY_MB"]) * 1024 * 1024,
        "max_steps": int(config["SCRIPT_MAX_STEPS"]),
        "max_seconds": float(config["SCRIPT_MAX_SECONDS"]),
    }


def engine_settings(config: dict[str, Any]) -> Settings:
    """The engine's settings drawn from the app's configuration."""
    return Settings(timezone=config["TIMEZONE"], default_jurisdiction=config.get("DEFAULT_JURISDICTION"))
