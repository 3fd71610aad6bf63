"""Flask extensions, bound to the engine's metadata so the API and the engine share one schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from limits import parse_many

from engine import models  # noqa: F401  (registers every table)
from engine.db import Base

F = TypeVar("F", bound=Callable[..., Any])
db = SQLAlchemy(metadata=Base.metadata)
MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")
migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)


class AduanLimiter(Limiter):
    """Flask-Limiter, telling whether its shared storage (Redis) is down and it counts in memory instead."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        self._storage_dead = False  # a new app starts on its own, reachable storage

    @property
    def storage_down(self) -> bool:
        return bool(self._storage_dead)


limiter = AduanLimiter(key_func=get_remote_address)


def divided(limits: str, workers: int) -> str:
    """`limits` with every amount divided by `workers` (at least 1 each): "20/minute", 4 → "5 per 1 minute"."""
    items = parse_many(limits)
    return ";".join(f"{max(1, item.amount // workers)} per {item.multiples} {item.GRANULARITY.name}" for item in items)


def budget(key: str) -> Callable[[], str]:
    """The limit configured under `key`; while the shared storage is down, each process counts alone in
    memory, so each gets that budget divided by the number of API processes (`API_WORKERS`), and the
    deployment as a whole still allows no more than configured."""

    def limit() -> str:
        configured = str(current_app.config[key])
        if not limiter.storage_down:
            return configured
        return divided(configured, max(1, int(current_app.config.get("API_WORKERS") or 1)))

    return limit


def _complaint_key() -> str:
    return "complaint:" + str((request.view_args or {}).get("tracking_id", ""))


def upload_limits(fn: F) -> F:
    """Uploads to a complaint, by the API or the pages alike: limited per client and per complaint."""
    per_client = limiter.shared_limit(budget("UPLOAD_RATE_LIMIT"), scope="upload-client")
    per_case = limiter.shared_limit(budget("UPLOAD_CASE_RATE_LIMIT"), scope="upload-complaint", key_func=_complaint_key)
    return cast(F, per_client(per_case(fn)))
