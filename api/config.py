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
}


def defaults(instance_path: str) -> dict[str, Any]:
    """The embedded default: an SQLite file in the instance folder, timers in-process, no Redis."""
    return {
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(Path(instance_path) / "aduan.sqlite3"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": None,
        "SECRET_KEY": None,
        "TIMEZONE": "Asia/Jakarta",
        "DEFAULT_JURISDICTION": None,
    }


def from_environment() -> dict[str, Any]:
    return {key: os.environ[env] for env, key in ENV_KEYS.items() if os.environ.get(env)}


def build(instance_path: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    config = {**defaults(instance_path), **from_environment(), **(overrides or {})}
    config["SQLALCHEMY_DATABASE_URI"] = normalize_url(config["SQLALCHEMY_DATABASE_URI"])
    return config


def engine_settings(config: dict[str, Any]) -> Settings:
    """The engine's settings drawn from the app's configuration."""
    return Settings(timezone=config["TIMEZONE"], default_jurisdiction=config.get("DEFAULT_JURISDICTION"))
