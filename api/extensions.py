"""Flask extensions, bound to the engine's metadata so the API and the engine share one schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from engine import models  # noqa: F401  (registers every table)
from engine.db import Base

F = TypeVar("F", bound=Callable[..., Any])
db = SQLAlchemy(metadata=Base.metadata)
MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")
migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
limiter = Limiter(key_func=get_remote_address)


def _complaint_key() -> str:
    return "complaint:" + str((request.view_args or {}).get("tracking_id", ""))


def upload_limits(fn: F) -> F:
    """Uploads to a complaint, by the API or the pages alike: limited per client and per complaint."""
    per_client = limiter.shared_limit(lambda: current_app.config["UPLOAD_RATE_LIMIT"], scope="upload-client")
    per_case = limiter.shared_limit(
        lambda: current_app.config["UPLOAD_CASE_RATE_LIMIT"], scope="upload-complaint", key_func=_complaint_key
    )
    return cast(F, per_client(per_case(fn)))
