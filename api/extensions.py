"""Flask extensions, bound to the engine's metadata so the API and the engine share one schema."""

from __future__ import annotations

from pathlib import Path

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from engine import models  # noqa: F401  (registers every table)
from engine.db import Base

db = SQLAlchemy(metadata=Base.metadata)
MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")
migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
limiter = Limiter(key_func=get_remote_address)
